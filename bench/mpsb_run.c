/*
 * mpsb_run.c - mpstore-bench's tests and the drivers that run a test's
 * clients: async on one handle (callbacks), blocking threads (--sync),
 * mirrors (mdget), --threads, --procs (see mpstore-bench.c).
 */
#include "mpsb.h"

#include <inttypes.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

/* ---- tests ---- */


const test_def TESTS[] = {
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
const size_t NTESTS = sizeof(TESTS) / sizeof(TESTS[0]);

const test_def *
find_test(const char *name)
{
	for (size_t i = 0; i < NTESTS; i++)
		if (strcmp(TESTS[i].name, name) == 0)
			return &TESTS[i];
	return NULL;
}

/* ---- shared run state ---- */

char *g_payload;
char  g_cname[256]; /* the current test's container */
long  g_keyspace;


void
res_init(shared_res *r)
{
	memset(r, 0, sizeof(*r));
	mpsb_hist_init(&r->hist);
	r->t_start = UINT64_MAX;
}

void
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
void
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

void
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


void *
athread_main(void *p)
{
	athread *a = p;
	run_async(a->c, a->t, a->nclients, a->ops, a->seed, &a->res);
	return NULL;
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

void
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

void
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

void
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

