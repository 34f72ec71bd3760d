/*
 * mpstore-bench - load generator for mpstored, in the spirit of
 * redis-benchmark. See usage() and docs/performance.md.
 *
 * Model: CLIENTS logical clients each keep PIPELINE ops in flight until
 * REQUESTS ops (in total, per test) are done.
 *  - default: all clients in this process, on one libmpstore handle (one
 *    connection, requests told apart by their SP request ids), driven by
 *    mps_batch_submit callbacks, as redis-benchmark's single event loop
 *    drives its clients. --threads T spreads the clients over T threads,
 *    each with its own handle.
 *  - --sync: each client is an OS thread making blocking calls
 *    (mps_batch_exec; --calls: mps_exec_op) on one shared handle.
 *  - --procs: each client is a forked process with its own handle (forked
 *    before this process opens any, so every child's handle is new).
 * -P N: --pmode batch (default) sends N ops in one request, as
 * redis-benchmark -P does; --pmode async keeps N one-op requests in flight.
 * A txn is one request, so txn always pipelines as async.
 *
 * Latency is per op, from submit to reply (for a batch: the batch's round
 * trip, counted for each op in it). rps = ops / (last reply - first submit).
 */
#include "mpsb.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

/* ---- options ---- */

const char *o_url;
int         o_clients = 50;
long        o_requests = 100000;
int         o_pipeline = 1;
int         o_pmode = PMODE_BATCH;
int         o_run = RUN_ASYNC;
int         o_threads = 1;
int         o_csv;
int         o_quiet;
int         o_size = 3;   /* element size, bytes (redis-benchmark -d default) */
long        o_keyspace;   /* dict keys; 0 = 1000 or --prefill */
long        o_prefill;    /* elements put in each container before a test */
long        o_memory;     /* --memory N */
long        o_pid;        /* daemon pid for --memory */
int         o_keep;       /* keep containers after the run */
int         o_calls;      /* --calls: --sync clients make plain calls */
int         o_timeout = 10000;
const char *o_prefix = "bench";
char        o_tests[512] = "incr,append,dset,dget,qput,qget,txn";

/* ---- setup over the control handle ---- */

static mps_client *g_ctl;      /* the control handle of this process */
static mps_client **g_handles; /* --threads handles */

static void
die_mps(const char *what, mps_err rv)
{
	fprintf(stderr, "mpstore-bench: %s: %s (%s)\n", what, mps_strerror(rv), mps_last_error());
	exit(1);
}

/* Fill the current container with n elements using batches. */
static void
prefill(const test_def *t, long n)
{
	mps_batch *b;
	mps_err    rv = mps_batch_alloc(g_ctl, &b);
	if (rv != MPS_OK)
		die_mps("mps_batch_alloc", rv);
	char key[32];
	for (long i = 0; i < n;) {
		mps_batch_reset(b);
		for (int k = 0; k < 1000 && i < n; k++, i++) {
			mps_op op = {.name = g_cname, .value = mps_strn(g_payload, (size_t) o_size)};
			switch (t->kind) {
			case MPS_KIND_LIST:
				op.code = MPS_OP_LIST_APPEND;
				break;
			case MPS_KIND_QUEUE:
				op.code = MPS_OP_QUEUE_PUT;
				break;
			case MPS_KIND_DICT:
				op.code = MPS_OP_DICT_SET;
				snprintf(key, sizeof(key), "key:%ld", i);
				op.key = mps_str(key);
				break;
			default:
				mps_batch_free(b);
				return;
			}
			if ((rv = mps_batch_append(b, &op)) != MPS_OK)
				die_mps("prefill append", rv);
		}
		if ((rv = mps_batch_exec(b)) != MPS_OK)
			die_mps("prefill", rv);
		size_t nr = mps_batch_nresults(b);
		for (size_t r = 0; r < nr; r++) {
			mps_result res;
			if (mps_batch_result(b, r, &res) == MPS_OK && res.status != MPS_OK)
				die_mps("prefill op", res.status);
		}
	}
	mps_batch_free(b);
}

static void
setup_test(const test_def *t)
{
	mps_err rv;
	if (t->suffix == NULL) {
		g_cname[0] = '\0';
		return;
	}
	snprintf(g_cname, sizeof(g_cname), "%s:%s", o_prefix, t->suffix);
	rv = mps_delete(g_ctl, g_cname);
	if (rv != MPS_OK && rv != MPS_ERR_NOT_FOUND)
		die_mps("delete", rv);
	if ((rv = mps_create_simple(g_ctl, g_cname, t->kind, t->type)) != MPS_OK)
		die_mps("create", rv);
	if (t->kind == MPS_KIND_VALUE) {
		mps_value zero = mps_int(0);
		if ((rv = mps_value_set(g_ctl, g_cname, &zero)) != MPS_OK)
			die_mps("set", rv);
	}
	long fill = o_prefill;
	if ((t->id == T_DGET || t->id == T_MDGET) && fill < g_keyspace)
		fill = g_keyspace;
	if (t->id == T_LGET && fill < 1)
		fill = 1;
	if (t->id == T_QGET)
		fill += o_requests;
	if (fill > 0)
		prefill(t, fill);
}

/* Checks the counts the run should have produced; prints a warning. */
static int
verify_test(const test_def *t, uint64_t ops_ok)
{
	int64_t v = -1;
	mps_err rv = MPS_OK;
	long    want = -1;
	switch (t->id) {
	case T_INCR:
	case T_TXN:
		rv = mps_counter_get(g_ctl, g_cname, &v);
		want = (long) ops_ok;
		break;
	case T_APPEND:
		rv = mps_list_len(g_ctl, g_cname, &v);
		want = o_prefill + (long) ops_ok;
		break;
	case T_QPUT:
		rv = mps_queue_size(g_ctl, g_cname, &v);
		want = o_prefill + (long) ops_ok;
		break;
	case T_QGET:
		rv = mps_queue_size(g_ctl, g_cname, &v);
		want = o_prefill + o_requests - (long) ops_ok;
		break;
	default:
		return 0;
	}
	if (rv != MPS_OK) {
		fprintf(stderr, "mpstore-bench: %s: verify: %s\n", t->name, mps_strerror(rv));
		return -1;
	}
	if (v != want) {
		fprintf(stderr, "mpstore-bench: %s: count is %" PRId64 ", expected %ld\n", t->name, v,
		        want);
		return -1;
	}
	return 0;
}

/* ---- --memory ---- */

static long
daemon_pid(void)
{
	if (o_pid > 0)
		return o_pid;
	mps_value *lines = NULL;
	size_t     n = 0;
	long       pid = -1;
	if (mps_stats(g_ctl, &lines, &n) != MPS_OK)
		return -1;
	for (size_t i = 0; i < n; i++)
		if (lines[i].type == MPS_STRING && strncmp(lines[i].u.s.ptr, "pid=", 4) == 0)
			pid = atol(lines[i].u.s.ptr + 4);
	mps_values_free(lines, n);
	return pid;
}

static long
rss_kb(long pid)
{
	char path[64], line[256];
	snprintf(path, sizeof(path), "/proc/%ld/status", pid);
	FILE *f = fopen(path, "r");
	long  kb = -1;
	if (f == NULL)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (strncmp(line, "VmRSS:", 6) == 0)
			kb = atol(line + 6);
	fclose(f);
	return kb;
}

static int
run_memory(void)
{
	long pid = daemon_pid();
	if (pid <= 0) {
		fprintf(stderr, "mpstore-bench: --memory: daemon pid unknown (use --pid)\n");
		return 1;
	}
	const test_def *t = find_test("dset");
	snprintf(g_cname, sizeof(g_cname), "%s:mem", o_prefix);
	mps_err rv = mps_delete(g_ctl, g_cname);
	if (rv != MPS_OK && rv != MPS_ERR_NOT_FOUND)
		die_mps("delete", rv);
	if ((rv = mps_create_simple(g_ctl, g_cname, MPS_KIND_DICT, MPS_TYPE_STRING)) != MPS_OK)
		die_mps("create", rv);
	long before = rss_kb(pid);
	if (before < 0) {
		fprintf(stderr, "mpstore-bench: --memory: cannot read /proc/%ld/status\n", pid);
		return 1;
	}
	uint64_t t0 = mpsb_now_ns();
	prefill(t, o_memory);
	uint64_t el = mpsb_now_ns() - t0;
	long after = rss_kb(pid);
	double per = (double) (after - before) * 1024.0 / (double) o_memory;
	if (o_csv) {
		printf("\"memory_elements\",\"memory_rss_before_kb\",\"memory_rss_after_kb\","
		       "\"bytes_per_element\",\"fill_rps\"\n");
		printf("\"%ld\",\"%ld\",\"%ld\",\"%.1f\",\"%.2f\"\n", o_memory, before, after, per,
		       (double) o_memory * 1e9 / (double) el);
	} else {
		printf("memory: %ld dict entries (key \"key:N\", %d-byte string values) in %s\n"
		       "  daemon %ld RSS %ld kB -> %ld kB: %.1f bytes per element; filled at %.0f/s\n",
		       o_memory, o_size, g_cname, pid, before, after, per,
		       (double) o_memory * 1e9 / (double) el);
	}
	if (!o_keep)
		mps_delete(g_ctl, g_cname);
	return 0;
}

/* ---- main ---- */

static void
usage(int code)
{
	fprintf(code ? stderr : stdout,
	        "usage: mpstore-bench [--url URL] [-c CLIENTS] [-n REQUESTS] [-P PIPELINE]\n"
	        "                     [-t TESTS] [--csv] [--procs | --sync [--calls] | --threads T]\n"
	        "                     [-d SIZE] [-r KEYSPACE] [--prefill N] [--memory N [--pid PID]]\n"
	        "  --url URL        daemon address (default $MPSTORE_URL, then %s)\n"
	        "  -c CLIENTS       concurrent clients (default 50)\n"
	        "  -n REQUESTS      ops per test, all clients together (default 100000; 10k, 1m ok)\n"
	        "  -P PIPELINE      ops in flight per client (default 1)\n"
	        "  --pmode MODE     batch: -P ops in one request (default, like redis -P);\n"
	        "                   async: -P one-op requests in flight\n"
	        "  -t TESTS         comma list of ping,incr,vget,append,lget,dset,dget,qput,qget,txn,\n"
	        "                   mdget (dget from a local mirror: each client a thread or\n"
	        "                   process with its own mps_mirror; no requests)\n"
	        "                   (default incr,append,dset,dget,qput,qget,txn; 'all' for all)\n"
	        "  --csv            redis-benchmark --csv output\n"
	        "  -q               quiet: one line per test\n"
	        "  --procs          each client a forked process with its own handle\n"
	        "  --sync           each client a thread making blocking calls on one handle\n"
	        "  --calls          with --sync: one mps_exec_op call per op (what the typed\n"
	        "                   calls do; concurrent calls share requests), not batches\n"
	        "  --threads T      spread async clients over T threads, a handle each (default 1)\n"
	        "  -d SIZE          element size in bytes (default 3)\n"
	        "  -r KEYSPACE      dict keys used by dset/dget (default 1000, or --prefill)\n"
	        "  --prefill N      put N elements in each container before its test (scaling)\n"
	        "  --memory N       fill a dict with N small strings, report daemon RSS delta\n"
	        "  --pid PID        the daemon's pid for --memory (default: from OP_STATS)\n"
	        "  --prefix P       container names P:counter, P:list, ... (default bench)\n"
	        "  --keep           keep the containers after the run\n"
	        "  --timeout MS     client timeout (default 10000)\n"
	        "Containers are deleted and re-created before each test; after a run\n"
	        "P:counter holds the incr count and P:list the appended elements (--keep).\n",
	        MPS_DEFAULT_URL);
	exit(code);
}

int
main(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;
#define NEED()                                                                                     \
	do {                                                                                       \
		if (v == NULL) {                                                                   \
			fprintf(stderr, "mpstore-bench: %s needs a value\n", a);                   \
			usage(2);                                                                  \
		}                                                                                  \
		i++;                                                                               \
	} while (0)
#define NUM(dst)                                                                                   \
	do {                                                                                       \
		NEED();                                                                            \
		long long x_ = mpsb_parse_count(v);                                                \
		if (x_ < 0) {                                                                      \
			fprintf(stderr, "mpstore-bench: %s: bad number %s\n", a, v);               \
			usage(2);                                                                  \
		}                                                                                  \
		dst = x_;                                                                          \
	} while (0)
		if (!strcmp(a, "-h") || !strcmp(a, "--help"))
			usage(0);
		else if (!strcmp(a, "--url") || !strcmp(a, "-u")) {
			NEED();
			o_url = v;
		} else if (!strcmp(a, "-c"))
			NUM(o_clients);
		else if (!strcmp(a, "-n"))
			NUM(o_requests);
		else if (!strcmp(a, "-P"))
			NUM(o_pipeline);
		else if (!strcmp(a, "--pmode")) {
			NEED();
			if (!strcmp(v, "batch"))
				o_pmode = PMODE_BATCH;
			else if (!strcmp(v, "async"))
				o_pmode = PMODE_ASYNC;
			else
				usage(2);
		} else if (!strcmp(a, "-t")) {
			NEED();
			snprintf(o_tests, sizeof(o_tests), "%s", v);
		} else if (!strcmp(a, "--csv"))
			o_csv = 1;
		else if (!strcmp(a, "-q"))
			o_quiet = 1;
		else if (!strcmp(a, "--procs"))
			o_run = RUN_PROCS;
		else if (!strcmp(a, "--sync"))
			o_run = o_run == RUN_PROCS ? RUN_PROCS : RUN_SYNC;
		else if (!strcmp(a, "--calls")) {
			o_calls = 1; /* implies --sync */
			o_run = o_run == RUN_PROCS ? RUN_PROCS : RUN_SYNC;
		}
		else if (!strcmp(a, "--threads"))
			NUM(o_threads);
		else if (!strcmp(a, "-d"))
			NUM(o_size);
		else if (!strcmp(a, "-r"))
			NUM(o_keyspace);
		else if (!strcmp(a, "--prefill"))
			NUM(o_prefill);
		else if (!strcmp(a, "--memory"))
			NUM(o_memory);
		else if (!strcmp(a, "--pid"))
			NUM(o_pid);
		else if (!strcmp(a, "--prefix")) {
			NEED();
			o_prefix = v;
		} else if (!strcmp(a, "--keep"))
			o_keep = 1;
		else if (!strcmp(a, "--timeout"))
			NUM(o_timeout);
		else {
			fprintf(stderr, "mpstore-bench: unknown option %s\n", a);
			usage(2);
		}
	}
	if (o_clients < 1 || o_requests < 1 || o_pipeline < 1 || o_threads < 1)
		usage(2);
	if (o_threads > o_clients)
		o_threads = o_clients;
	signal(SIGPIPE, SIG_IGN);

	/* tests, validated before anything starts */
	const test_def *tests[64];
	int             ntests = 0;
	if (!strcmp(o_tests, "all")) {
		for (size_t i = 0; i < NTESTS; i++)
			tests[ntests++] = &TESTS[i];
	} else {
		char *save = NULL;
		for (char *s = strtok_r(o_tests, ",", &save); s && ntests < 64;
		     s = strtok_r(NULL, ",", &save)) {
			const test_def *t = find_test(s);
			if (t == NULL) {
				fprintf(stderr, "mpstore-bench: unknown test %s\n", s);
				usage(2);
			}
			tests[ntests++] = t;
		}
	}
	g_payload = malloc((size_t) o_size + 1);
	memset(g_payload, 'x', (size_t) o_size);
	g_payload[o_size] = '\0';
	g_keyspace = o_keyspace > 0 ? o_keyspace : (o_prefill > 0 ? o_prefill : 1000);

	if (o_run == RUN_PROCS && o_memory == 0)
		procs_start(); /* before this process's first mps_open */

	mps_err rv = mps_open(&g_ctl, o_url, o_timeout);
	if (rv != MPS_OK)
		die_mps("mps_open", rv);
	if (o_memory > 0) {
		rv = run_memory();
		mps_close(g_ctl);
		return rv;
	}
	if (o_run == RUN_ASYNC && o_threads > 1) {
		g_handles = calloc((size_t) o_threads, sizeof(*g_handles));
		for (int i = 0; i < o_threads; i++)
			if ((rv = mps_open(&g_handles[i], o_url, o_timeout)) != MPS_OK)
				die_mps("mps_open", rv);
	}

	long *ops = calloc((size_t) o_clients, sizeof(long));
	for (int i = 0; i < o_clients; i++)
		ops[i] = o_requests / o_clients + (i < o_requests % o_clients);

	if (o_csv)
		printf("%s\n", MPSB_CSV_HEADER);
	int failed = 0;
	for (int ti = 0; ti < ntests; ti++) {
		const test_def *t = tests[ti];
		setup_test(t);
		shared_res res;
		res_init(&res);
		if (o_run == RUN_PROCS) {
			procs_run(t, ops, &res);
		} else if (o_run == RUN_SYNC || t->id == T_MDGET) {
			run_sync(g_ctl, t, o_clients, ops, &res);
		} else if (o_threads <= 1) {
			run_async(g_ctl, t, o_clients, ops, 1, &res);
		} else {
			athread *th = calloc((size_t) o_threads, sizeof(*th));
			int      first = 0;
			for (int i = 0; i < o_threads; i++) {
				int n = o_clients / o_threads + (i < o_clients % o_threads);
				th[i] = (athread){.t = t, .c = g_handles[i], .nclients = n,
				                  .ops = ops + first, .seed = (uint64_t) i + 1};
				res_init(&th[i].res);
				first += n;
				pthread_create(&th[i].tid, NULL, athread_main, &th[i]);
			}
			for (int i = 0; i < o_threads; i++) {
				pthread_join(th[i].tid, NULL);
				res_merge(&res, &th[i].res);
			}
			free(th);
		}
		uint64_t el = res.t_end > res.t_start ? res.t_end - res.t_start : 1;
		if (o_quiet && !o_csv)
			printf("%s: %.2f requests per second, p50=%.3f msec\n", t->name,
			       (double) res.ops * 1e9 / (double) el,
			       (double) mpsb_hist_pct(&res.hist, 50) / 1e6);
		else
			mpsb_report(stdout, o_csv, t->name, res.ops, el, &res.hist);
		if (res.errors) {
			fprintf(stderr, "mpstore-bench: %s: %" PRIu64 " failed ops, first: %s\n", t->name,
			        res.errors, res.errmsg);
			failed = 1;
		} else if (verify_test(t, res.ops) != 0) {
			failed = 1;
		}
		if (!o_keep && t->suffix && (ti + 1 == ntests || tests[ti + 1]->suffix == NULL ||
		                             strcmp(tests[ti + 1]->suffix, t->suffix) != 0))
			mps_delete(g_ctl, g_cname);
	}
	if (o_run == RUN_PROCS)
		procs_stop();
	for (int i = 0; g_handles && i < o_threads; i++)
		mps_close(g_handles[i]);
	mps_close(g_ctl);
	free(ops);
	free(g_payload);
	return failed;
}
