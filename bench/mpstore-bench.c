/*
 * mpstore-bench - load generator for mpstored, in the spirit of
 * redis-benchmark. See usage() and docs/performance.md.
 *
 * Model: CLIENTS logical clients each keep PIPELINE ops in flight until
 * REQUESTS ops (in total, per test) are done.
 *  - default: all clients in this process, on one libmpstore handle (one nng
 *    REQ socket, a context per request), driven by mps_batch_submit
 *    callbacks: the pattern NNG-PERFORMANCE.md found cheapest, and what
 *    redis-benchmark's single event loop does. --threads T spreads the
 *    clients over T threads, each with its own handle.
 *  - --sync: each client is an OS thread making blocking calls
 *    (mps_batch_exec) on one shared handle.
 *  - --procs: each client is a forked process with its own handle (forked
 *    before this process opens any: nng is not fork-safe).
 * -P N: --pmode batch (default) sends N ops in one request, as
 * redis-benchmark -P does; --pmode async keeps N one-op requests in flight.
 * A txn is one request, so txn always pipelines as async.
 *
 * Latency is per op, from submit to reply (for a batch: the batch's round
 * trip, counted for each op in it). rps = ops / (last reply - first submit).
 */
#include "bench_util.h"

#include <mpstore/mpstore.h>

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

enum { PMODE_BATCH, PMODE_ASYNC };
enum { RUN_ASYNC, RUN_SYNC, RUN_PROCS };

static const char *o_url;
static int         o_clients = 50;
static long        o_requests = 100000;
static int         o_pipeline = 1;
static int         o_pmode = PMODE_BATCH;
static int         o_run = RUN_ASYNC;
static int         o_threads = 1;
static int         o_csv;
static int         o_quiet;
static int         o_size = 3;   /* element size, bytes (redis-benchmark -d default) */
static long        o_keyspace;   /* dict keys; 0 = 1000 or --prefill */
static long        o_prefill;    /* elements put in each container before a test */
static long        o_memory;     /* --memory N */
static long        o_pid;        /* daemon pid for --memory */
static int         o_keep;       /* keep containers after the run */
static int         o_calls;      /* --calls: --sync clients make plain calls */
static int         o_timeout = 10000;
static const char *o_prefix = "bench";
static char        o_tests[512] = "incr,append,dset,dget,qput,qget,txn";

/* ---- tests ---- */

typedef enum {
	T_PING, T_INCR, T_VGET, T_APPEND, T_LGET, T_DSET, T_DGET, T_QPUT, T_QGET, T_TXN, T_MDGET
} test_id;

typedef struct test_def {
	const char *name;
	test_id     id;
	const char *suffix; /* container: PREFIX:suffix */
	mps_kind    kind;
	mps_elem_type type;
} test_def;

static const test_def TESTS[] = {
	{"ping", T_PING, NULL, MPS_KIND_NONE, MPS_TYPE_ANY},
	{"incr", T_INCR, "counter", MPS_KIND_VALUE, MPS_TYPE_INT64},
	{"vget", T_VGET, "counter", MPS_KIND_VALUE, MPS_TYPE_INT64},
	{"append", T_APPEND, "list", MPS_KIND_LIST, MPS_TYPE_STRING},
	{"lget", T_LGET, "list", MPS_KIND_LIST, MPS_TYPE_STRING},
	{"dset", T_DSET, "dict", MPS_KIND_DICT, MPS_TYPE_STRING},
	{"dget", T_DGET, "dict", MPS_KIND_DICT, MPS_TYPE_STRING},
	{"qput", T_QPUT, "queue", MPS_KIND_QUEUE, MPS_TYPE_STRING},
	{"qget", T_QGET, "queue", MPS_KIND_QUEUE, MPS_TYPE_STRING},
	{"txn", T_TXN, "txn", MPS_KIND_VALUE, MPS_TYPE_INT64},
	/* dget from a local mirror (mps_mirror): reads that never ask the daemon */
	{"mdget", T_MDGET, "dict", MPS_KIND_DICT, MPS_TYPE_STRING},
};
#define NTESTS (sizeof(TESTS) / sizeof(TESTS[0]))

static const test_def *
find_test(const char *name)
{
	for (size_t i = 0; i < NTESTS; i++)
		if (strcmp(TESTS[i].name, name) == 0)
			return &TESTS[i];
	return NULL;
}

/* ---- shared run state ---- */

static char  *g_payload;
static char   g_cname[256]; /* the current test's container */
static long   g_keyspace;

/* Written by workers (threads or forked children: it is MAP_SHARED). */
typedef struct shared_res {
	mpsb_hist   hist;
	uint64_t    t_start; /* first submit */
	uint64_t    t_end;   /* last reply */
	uint64_t    ops;
	uint64_t    errors;
	int         first_err;
	char        errmsg[160];
} shared_res;

static void
res_init(shared_res *r)
{
	memset(r, 0, sizeof(*r));
	mpsb_hist_init(&r->hist);
	r->t_start = UINT64_MAX;
}

static void
res_merge(shared_res *dst, const shared_res *src)
{
	mpsb_hist_merge(&dst->hist, &src->hist);
	if (src->t_start < dst->t_start)
		dst->t_start = src->t_start;
	if (src->t_end > dst->t_end)
		dst->t_end = src->t_end;
	dst->ops += src->ops;
	dst->errors += src->errors;
	if (dst->first_err == 0 && src->first_err != 0) {
		dst->first_err = src->first_err;
		memcpy(dst->errmsg, src->errmsg, sizeof(dst->errmsg));
	}
}

static void
res_error(shared_res *r, int err, const char *msg)
{
	r->errors++;
	if (r->first_err == 0) {
		r->first_err = err;
		snprintf(r->errmsg, sizeof(r->errmsg), "%s%s%s", mps_err_name(err),
		         msg && *msg ? ": " : "", msg ? msg : "");
	}
}

static uint64_t
rng_next(uint64_t *s)
{
	uint64_t x = *s;
	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return *s = x;
}

/* One op of test t (not txn, not mdget); key is its buffer for dict keys. */
static mps_op
make_op(const test_def *t, uint64_t *rng, char key[32])
{
	mps_op op = {.name = g_cname};
	switch (t->id) {
	case T_PING:
		op.code = MPS_OP_PING;
		op.name = NULL;
		break;
	case T_INCR:
		op.code = MPS_OP_VALUE_ADD;
		op.value = mps_int(1);
		break;
	case T_VGET:
		op.code = MPS_OP_VALUE_GET;
		break;
	case T_APPEND:
		op.code = MPS_OP_LIST_APPEND;
		op.value = mps_strn(g_payload, (size_t) o_size);
		break;
	case T_LGET:
		op.code = MPS_OP_LIST_GET;
		op.index = -1;
		break;
	case T_DSET:
	case T_DGET:
		snprintf(key, 32, "key:%" PRIu64, rng_next(rng) % (uint64_t) g_keyspace);
		op.code = t->id == T_DSET ? MPS_OP_DICT_SET : MPS_OP_DICT_GET;
		op.key = mps_str(key);
		if (t->id == T_DSET)
			op.value = mps_strn(g_payload, (size_t) o_size);
		break;
	case T_QPUT:
		op.code = MPS_OP_QUEUE_PUT;
		op.value = mps_strn(g_payload, (size_t) o_size);
		op.timeout_ms = 0;
		break;
	case T_QGET:
		op.code = MPS_OP_QUEUE_GET;
		op.timeout_ms = 0;
		break;
	case T_TXN:
	case T_MDGET: /* not single ops: see fill_request and mthread_main */
		break;
	}
	return op;
}

/* Append the op(s) of one request of test t to b: nops ops (1 for txn). */
static mps_err
fill_request(mps_batch *b, const test_def *t, int nops, uint64_t *rng)
{
	char    key[32];
	mps_err rv;
	if (t->id == T_TXN) {
		mps_value zero = mps_int(0);
		if ((rv = mps_txn_compare(b, g_cname, MPS_TARGET_VALUE, MPS_CMP_GE, NULL, &zero)) != 0)
			return rv;
		mps_op op = {.code = MPS_OP_VALUE_ADD, .name = g_cname, .value = mps_int(1)};
		return mps_batch_append(b, &op);
	}
	for (int k = 0; k < nops; k++) {
		mps_op op = make_op(t, rng, key);
		if ((rv = mps_batch_append(b, &op)) != 0)
			return rv;
	}
	return MPS_OK;
}

/* Count per-op failures of a completed request into r. */
static void
check_reply(mps_batch *b, const test_def *t, mps_err err, shared_res *r)
{
	if (err != MPS_OK) {
		res_error(r, err, mps_last_error());
		return;
	}
	size_t n = mps_batch_nresults(b);
	for (size_t i = 0; i < n; i++) {
		mps_result res;
		if (mps_batch_result(b, i, &res) == MPS_OK && res.status != MPS_OK)
			res_error(r, res.status, res.error);
	}
	if (t->id == T_TXN && !mps_txn_succeeded(b))
		res_error(r, MPS_ERR_ABORTED, "txn compare failed");
}

/* ---- async driver: clients on one handle, callbacks ---- */

typedef struct aclient {
	atomic_long remaining; /* ops not yet submitted */
} aclient;

typedef struct aslot {
	mps_batch      *b;
	aclient        *cl;
	const test_def *t;
	uint64_t        sent_at;
	int             nops;
	int             per_req;
	uint64_t        rng;
	shared_res      res;
	struct arun    *run;
} aslot;

typedef struct arun {
	pthread_mutex_t mu;
	pthread_cond_t  cv;
	int             active;
} arun;

static void aslot_cb(mps_batch *b, mps_err err, void *arg);

/* Take the next request's ops from the client's budget and submit; 0 when
 * the budget is spent (or the submit failed). */
static int
aslot_next(aslot *s)
{
	long want = s->per_req;
	long left = atomic_fetch_sub(&s->cl->remaining, want);
	if (left <= 0)
		return 0;
	s->nops = (int) (left < want ? left : want);
	mps_batch_reset(s->b);
	mps_err rv = fill_request(s->b, s->t, s->nops, &s->rng);
	if (rv == MPS_OK) {
		s->sent_at = mpsb_now_ns();
		if (s->res.t_start == UINT64_MAX)
			s->res.t_start = s->sent_at;
		rv = mps_batch_submit(s->b, aslot_cb, s);
	}
	if (rv != MPS_OK) {
		res_error(&s->res, rv, mps_last_error());
		return 0;
	}
	return 1;
}

static void
aslot_done(aslot *s)
{
	pthread_mutex_lock(&s->run->mu);
	if (--s->run->active == 0)
		pthread_cond_broadcast(&s->run->cv);
	pthread_mutex_unlock(&s->run->mu);
}

static void
aslot_cb(mps_batch *b, mps_err err, void *arg)
{
	aslot   *s = arg;
	uint64_t now = mpsb_now_ns();
	uint64_t lat = now - s->sent_at;
	for (int k = 0; k < s->nops; k++)
		mpsb_hist_add(&s->res.hist, lat);
	s->res.ops += (uint64_t) s->nops;
	s->res.t_end = now;
	check_reply(b, s->t, err, &s->res);
	/* a client-side failure (transport, timeout, closed): stop this slot
	 * rather than wait out a timeout for every remaining op (our ops never
	 * wait in the daemon, so a request-level timeout is the transport's) */
	if (err >= MPS_ERR_CONNECT || err == MPS_ERR_TIMEOUT || !aslot_next(s))
		aslot_done(s);
}

/* Run nclients clients with budgets ops[i] on handle c; results into *out. */
static void
run_async(mps_client *c, const test_def *t, int nclients, const long *ops, uint64_t seed,
          shared_res *out)
{
	int per_req, slots_per;
	if (o_pmode == PMODE_ASYNC || t->id == T_TXN) {
		per_req = 1;
		slots_per = o_pipeline;
	} else {
		per_req = o_pipeline;
		slots_per = 1;
	}
	int     nslots = nclients * slots_per;
	aclient *cls = calloc((size_t) nclients, sizeof(*cls));
	aslot  *slots = calloc((size_t) nslots, sizeof(*slots));
	arun    run;
	if (cls == NULL || slots == NULL) {
		perror("calloc");
		exit(1);
	}
	pthread_mutex_init(&run.mu, NULL);
	pthread_cond_init(&run.cv, NULL);
	run.active = 0;
	for (int i = 0; i < nclients; i++)
		atomic_init(&cls[i].remaining, ops[i]);
	for (int i = 0; i < nslots; i++) {
		aslot *s = &slots[i];
		s->cl = &cls[i / slots_per];
		s->t = t;
		s->per_req = per_req;
		s->rng = seed * 2654435761u + (uint64_t) i * 0x9E3779B97F4A7C15ull + 1;
		s->run = &run;
		res_init(&s->res);
		mps_err rv = mps_batch_alloc(c, &s->b);
		if (rv != MPS_OK) {
			fprintf(stderr, "mpstore-bench: mps_batch_alloc: %s\n", mps_strerror(rv));
			exit(1);
		}
	}
	pthread_mutex_lock(&run.mu);
	for (int i = 0; i < nslots; i++) {
		run.active++;
		pthread_mutex_unlock(&run.mu);
		int started = aslot_next(&slots[i]);
		pthread_mutex_lock(&run.mu);
		if (!started)
			run.active--;
	}
	while (run.active > 0)
		pthread_cond_wait(&run.cv, &run.mu);
	pthread_mutex_unlock(&run.mu);
	for (int i = 0; i < nslots; i++) {
		res_merge(out, &slots[i].res);
		mps_batch_free(slots[i].b);
	}
	pthread_mutex_destroy(&run.mu);
	pthread_cond_destroy(&run.cv);
	free(slots);
	free(cls);
}

/* ---- sync driver: one blocking thread per client, shared handle ---- */

typedef struct sthread {
	pthread_t       tid;
	mps_client     *c;
	const test_def *t;
	long            ops;
	uint64_t        rng;
	shared_res      res;
	pthread_barrier_t *bar;
} sthread;

static void *
sthread_main(void *p)
{
	sthread  *st = p;
	mps_batch *b;
	mps_err   rv = mps_batch_alloc(st->c, &b);
	if (rv != MPS_OK) {
		res_error(&st->res, rv, mps_last_error());
		pthread_barrier_wait(st->bar);
		return NULL;
	}
	int per_req = st->t->id == T_TXN ? 1 : o_pipeline;
	pthread_barrier_wait(st->bar);
	st->res.t_start = mpsb_now_ns();
	if (o_calls && st->t->id != T_TXN) {
		/* one blocking call per op (mps_exec_op, as the typed calls do):
		 * concurrent calls on the handle share requests */
		char key[32];
		for (long done = 0; done < st->ops; done++) {
			mps_op   op = make_op(st->t, &st->rng, key);
			uint64_t t0 = mpsb_now_ns();
			rv = mps_exec_op(st->c, &op);
			uint64_t now = mpsb_now_ns();
			mpsb_hist_add(&st->res.hist, now - t0);
			st->res.ops++;
			st->res.t_end = now;
			if (rv != MPS_OK)
				res_error(&st->res, rv, mps_last_error());
			if (rv >= MPS_ERR_CONNECT || rv == MPS_ERR_TIMEOUT)
				break;
		}
		mps_batch_free(b);
		return NULL;
	}
	for (long done = 0; done < st->ops;) {
		int nops = (int) (st->ops - done < per_req ? st->ops - done : per_req);
		mps_batch_reset(b);
		if ((rv = fill_request(b, st->t, nops, &st->rng)) != MPS_OK) {
			res_error(&st->res, rv, mps_last_error());
			break;
		}
		uint64_t t0 = mpsb_now_ns();
		rv = mps_batch_exec(b);
		uint64_t now = mpsb_now_ns();
		for (int k = 0; k < nops; k++)
			mpsb_hist_add(&st->res.hist, now - t0);
		st->res.ops += (uint64_t) nops;
		st->res.t_end = now;
		check_reply(b, st->t, rv, &st->res);
		if (rv >= MPS_ERR_CONNECT || rv == MPS_ERR_TIMEOUT)
			break;
		done += nops;
	}
	mps_batch_free(b);
	return NULL;
}

/* ---- mdget: each client a thread reading its own mirror of the dict (run
 * by run_sync, in place of sthread_main) ---- */

static void *
mthread_main(void *p)
{
	sthread    *mt = p;
	mps_mirror *m = NULL;
	mps_err     rv = mps_mirror_open(mt->c, g_cname, NULL, o_timeout, &m);
	if (rv == MPS_OK && mps_mirror_len(m) < g_keyspace)
		rv = MPS_ERR_NOT_FOUND; /* the initial state must hold every key */
	if (rv != MPS_OK)
		res_error(&mt->res, rv, mps_last_error());
	pthread_barrier_wait(mt->bar);
	if (rv != MPS_OK) {
		mps_mirror_close(m);
		return NULL;
	}
	char key[32];
	mt->res.t_start = mpsb_now_ns();
	for (long i = 0; i < mt->ops; i++) {
		snprintf(key, sizeof(key), "key:%" PRIu64, rng_next(&mt->rng) % (uint64_t) g_keyspace);
		mps_value k = mps_str(key), v;
		uint64_t  t0 = mpsb_now_ns();
		rv = mps_mirror_dict_get(m, &k, &v);
		uint64_t now = mpsb_now_ns();
		mpsb_hist_add(&mt->res.hist, now - t0);
		mt->res.ops++;
		mt->res.t_end = now;
		if (rv != MPS_OK)
			res_error(&mt->res, rv, "mirror get");
		else if (v.type != MPS_STRING || v.u.s.len != (size_t) o_size)
			res_error(&mt->res, MPS_ERR_WRONG_TYPE, "mirror get: not the value set");
		else
			mps_value_free(&v);
	}
	mps_mirror_close(m);
	return NULL;
}

static void
run_sync(mps_client *c, const test_def *t, int nclients, const long *ops, shared_res *out)
{
	sthread *th = calloc((size_t) nclients, sizeof(*th));
	pthread_barrier_t bar;
	pthread_barrier_init(&bar, NULL, (unsigned) nclients);
	for (int i = 0; i < nclients; i++) {
		th[i].c = c;
		th[i].t = t;
		th[i].ops = ops[i];
		th[i].rng = (uint64_t) i * 0x9E3779B97F4A7C15ull + 12345;
		th[i].bar = &bar;
		res_init(&th[i].res);
		/* mdget: a thread reading its own mirror instead of requests */
		if (pthread_create(&th[i].tid, NULL, t->id == T_MDGET ? mthread_main : sthread_main,
		                   &th[i]) != 0) {
			perror("pthread_create");
			exit(1);
		}
	}
	for (int i = 0; i < nclients; i++) {
		pthread_join(th[i].tid, NULL);
		res_merge(out, &th[i].res);
	}
	pthread_barrier_destroy(&bar);
	free(th);
}

/* ---- threads: --threads T, each its own handle running async clients ---- */

typedef struct athread {
	pthread_t       tid;
	const test_def *t;
	mps_client     *c;
	int             nclients;
	const long     *ops;
	uint64_t        seed;
	shared_res      res;
} athread;

static void *
athread_main(void *p)
{
	athread *a = p;
	run_async(a->c, a->t, a->nclients, a->ops, a->seed, &a->res);
	return NULL;
}

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

/* ---- --procs: children forked before any mps_open ---- */

typedef struct child {
	pid_t pid;
	int   cmd;  /* parent -> child: test index byte, 0xff = exit */
	int   done; /* child -> parent: one byte per finished test */
} child;

static shared_res *g_shres; /* MAP_SHARED, one per child */
static child      *g_children;

static void
child_main(int idx, int cmd_fd, int done_fd)
{
	mps_client *c;
	mps_err     rv = mps_open(&c, o_url, o_timeout);
	if (rv != MPS_OK) {
		fprintf(stderr, "mpstore-bench: child %d: mps_open: %s\n", idx, mps_strerror(rv));
		_exit(1);
	}
	unsigned char m[2 + sizeof(long) + sizeof(g_cname)];
	for (;;) {
		/* command: test index, then ops (long), then the container name */
		ssize_t got = read(cmd_fd, m, sizeof(m));
		if (got < 2 || m[0] == 0xff)
			break;
		const test_def *t = &TESTS[m[0]];
		long ops;
		memcpy(&ops, m + 1, sizeof(ops));
		memcpy(g_cname, m + 1 + sizeof(ops), sizeof(g_cname));
		g_cname[sizeof(g_cname) - 1] = '\0';
		shared_res *r = &g_shres[idx];
		res_init(r);
		if (o_run == RUN_SYNC || t->id == T_MDGET)
			run_sync(c, t, 1, &ops, r);
		else
			run_async(c, t, 1, &ops, (uint64_t) idx + 7, r);
		(void) !write(done_fd, "d", 1);
	}
	mps_close(c);
	_exit(0);
}

static void
procs_start(void)
{
	g_shres = mmap(NULL, sizeof(shared_res) * (size_t) o_clients, PROT_READ | PROT_WRITE,
	               MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	g_children = calloc((size_t) o_clients, sizeof(*g_children));
	if (g_shres == MAP_FAILED || g_children == NULL) {
		perror("mmap");
		exit(1);
	}
	fflush(stdout);
	for (int i = 0; i < o_clients; i++) {
		int a[2], b[2];
		if (pipe(a) != 0 || pipe(b) != 0) {
			perror("pipe");
			exit(1);
		}
		pid_t pid = fork();
		if (pid < 0) {
			perror("fork");
			exit(1);
		}
		if (pid == 0) {
			close(a[1]);
			close(b[0]);
			for (int j = 0; j < i; j++) {
				close(g_children[j].cmd);
				close(g_children[j].done);
			}
			child_main(i, a[0], b[1]);
		}
		close(a[0]);
		close(b[1]);
		g_children[i] = (child){pid, a[1], b[0]};
	}
}

static void
procs_run(const test_def *t, const long *ops, shared_res *out)
{
	unsigned char m[2 + sizeof(long) + sizeof(g_cname)];
	memset(m, 0, sizeof(m));
	m[0] = (unsigned char) (t - TESTS);
	memcpy(m + 1 + sizeof(long), g_cname, sizeof(g_cname));
	for (int i = 0; i < o_clients; i++) {
		memcpy(m + 1, &ops[i], sizeof(long));
		if (write(g_children[i].cmd, m, sizeof(m)) != (ssize_t) sizeof(m)) {
			perror("write to child");
			exit(1);
		}
	}
	for (int i = 0; i < o_clients; i++) {
		char c;
		if (read(g_children[i].done, &c, 1) != 1) {
			fprintf(stderr, "mpstore-bench: child %d died\n", i);
			exit(1);
		}
		res_merge(out, &g_shres[i]);
	}
}

static void
procs_stop(void)
{
	unsigned char m[2 + sizeof(long) + sizeof(g_cname)];
	memset(m, 0xff, sizeof(m));
	for (int i = 0; i < o_clients; i++) {
		(void) !write(g_children[i].cmd, m, sizeof(m));
		close(g_children[i].cmd);
	}
	for (int i = 0; i < o_clients; i++) {
		waitpid(g_children[i].pid, NULL, 0);
		close(g_children[i].done);
	}
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
