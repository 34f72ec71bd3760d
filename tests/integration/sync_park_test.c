/* sync_park_test.c - 1,000 parked getters on one queue.
 *
 * A "ghost" process parks 50 gets and is killed with SIGKILL: its parked
 * requests are forgotten (they take no item later). Then 4 getter processes
 * park 250 asynchronous gets each (mps_batch_submit), one after another:
 * each get is submitted once the previous one is seen parked (the daemon's
 * "waiters" statistic), so that their order of arrival is known: get i of
 * process p is the (p*250+i)-th. While they are parked, another process's
 * 100 counter adds must complete within a second; then a putter process
 * puts 0..999: getter number k must receive exactly the value k (FIFO),
 * and nothing is left over. MPSTORE_SOAK=1 repeats it. */
#include "sync_common.h"

#define GETTERS 4
#define PER_GETTER 250
#define TOTAL (GETTERS * PER_GETTER)
#define GHOST_GETS 50

enum { W_GHOST = GETTERS, W_OTHER, W_PUTTER, W_COUNT };
enum { T_PARKED = 1, T_DONE, T_OTHER, T_PUT };

static void
noop_cb(mps_batch *b, mps_err err, void *arg)
{
	(void)b;
	(void)err;
	(void)arg;
}

/* Submit n gets one by one, each once the previous one is parked (the
 * daemon's waiter count reaches base+i+1). */
static int
park_gets(mps_client *c, mps_batch **bs, int n, long long base)
{
	for (int i = 0; i < n; i++) {
		if (mps_batch_alloc(c, &bs[i]) != MPS_OK)
			return -1;
		mps_op op = {.code = MPS_OP_QUEUE_GET, .name = "p.q", .timeout_ms = 60000};
		if (mps_batch_append(bs[i], &op) != MPS_OK ||
		    mps_batch_submit(bs[i], noop_cb, NULL) != MPS_OK) {
			fprintf(stderr, "submit %d: %s\n", i, mps_last_error());
			return -1;
		}
		long long w = sync_stat_wait(c, "waiters", base + i + 1, 10000);
		if (w != base + i + 1) {
			fprintf(stderr, "get %d not parked: waiters %lld, want %lld\n", i, w, base + i + 1);
			return -1;
		}
	}
	return 0;
}

static int
worker(int id, mps_client *c, void *arg)
{
	(void)arg;
	if (id < GETTERS) {
		static mps_batch *bs[PER_GETTER];
		if (park_gets(c, bs, PER_GETTER, (long long)id * PER_GETTER) != 0)
			return 1;
		sync_report(id, T_PARKED, 0, 0, 0);
		int64_t bad = 0, got = 0;
		for (int i = 0; i < PER_GETTER; i++) {
			mps_batch_wait(bs[i]);
			mps_result r;
			if (mps_batch_result(bs[i], 0, &r) != MPS_OK || r.status != MPS_OK ||
			    r.value.type != MPS_INT) {
				fprintf(stderr, "getter %d get %d: %s %s\n", id, i,
				    mps_err_name(r.status), r.error);
				bad++;
				continue;
			}
			got++;
			if (r.value.u.i != (int64_t)id * PER_GETTER + i) {
				if (bad < 5)
					fprintf(stderr, "getter %d get %d: got %lld, want %d\n", id, i,
					    (long long)r.value.u.i, id * PER_GETTER + i);
				bad++;
			}
			mps_batch_free(bs[i]);
		}
		sync_report(id, T_DONE, got, bad, 0);
		return 0;
	}
	if (id == W_GHOST) {
		static mps_batch *bs[GHOST_GETS];
		if (park_gets(c, bs, GHOST_GETS, 0) != 0)
			return 1;
		sync_report(id, T_PARKED, 0, 0, 0);
		for (;;)
			pause(); /* killed */
	}
	if (id == W_OTHER) {
		/* another client keeps being served while 1,000 gets are parked */
		long long t0 = mpst_now_ms();
		for (int i = 0; i < 100; i++)
			if (mps_counter_add(c, "p.other", 1, NULL) != MPS_OK)
				return 1;
		long long t1 = mpst_now_ms();
		int64_t   qs = -1;
		if (mps_queue_size(c, "p.q", &qs) != MPS_OK)
			return 1;
		sync_report(id, T_OTHER, t1 - t0, qs, 0);
		return 0;
	}
	/* putter: 0..999 in order, 100 puts per request */
	mps_batch *b;
	if (mps_batch_alloc(c, &b) != MPS_OK)
		return 1;
	long long t0 = mpst_now_ms();
	for (int k = 0; k < TOTAL; k += 100) {
		mps_batch_reset(b);
		for (int j = 0; j < 100; j++) {
			mps_op op = {.code = MPS_OP_QUEUE_PUT, .name = "p.q", .value = mps_int(k + j),
			    .timeout_ms = 0};
			if (mps_batch_append(b, &op) != MPS_OK)
				return 1;
		}
		if (mps_batch_exec(b) != MPS_OK)
			return 1;
		for (int j = 0; j < 100; j++) {
			mps_result r;
			if (mps_batch_result(b, (size_t)j, &r) != MPS_OK || r.status != MPS_OK) {
				fprintf(stderr, "put %d: %s %s\n", k + j, mps_err_name(r.status), r.error);
				return 1;
			}
		}
	}
	sync_report(id, T_PUT, mpst_now_ms() - t0, 0, 0);
	mps_batch_free(b);
	return 0;
}

static void
scenario_park(void)
{
	sync_workers w;
	sync_spawn(&w, W_COUNT, worker, NULL, 1);
	mps_client *c = sync_open();
	sync_create(c, "p.q", MPS_KIND_QUEUE, MPS_TYPE_INT64, 0);
	sync_create(c, "p.other", MPS_KIND_VALUE, MPS_TYPE_INT64, 0);
	ST_TRUE(sync_stat(c, "waiters") == 0, "waiters at start");
	sync_rec r;

	/* the ghost parks 50 gets and dies: they are forgotten */
	sync_go(&w, W_GHOST);
	ST_TRUE(sync_recv(&w, &r, 20000) == 0 && r.tag == T_PARKED, "ghost parked");
	kill(w.pid[W_GHOST], SIGKILL);
	ST_TRUE(sync_wait_one(&w, W_GHOST) == 128 + SIGKILL, "ghost exit");
	long long n = sync_stat_wait(c, "waiters", 0, 5000);
	ST_TRUE(n == 0, "ghost's waiters not forgotten: %lld", n);

	/* 4 x 250 parked gets, in a known order */
	long long t0 = mpst_now_ms();
	for (int p = 0; p < GETTERS; p++) {
		sync_go(&w, p);
		ST_TRUE(sync_recv(&w, &r, 30000) == 0 && r.tag == T_PARKED && r.id == p,
		    "getter %d parked", p);
	}
	long long t_park = mpst_now_ms() - t0;
	ST_TRUE(sync_stat(c, "waiters") == TOTAL, "waiters %lld", sync_stat(c, "waiters"));

	/* another client is served meanwhile */
	sync_go(&w, W_OTHER);
	ST_TRUE(sync_recv(&w, &r, 20000) == 0 && r.tag == T_OTHER, "other client");
	ST_TRUE(r.a < 1000, "100 adds took %lld ms with %d parked gets", (long long)r.a, TOTAL);
	ST_TRUE(r.b == 0, "queue size %lld", (long long)r.b);
	long long other_ms = r.a;
	/* and this one too */
	t0 = mpst_now_ms();
	for (int i = 0; i < 100; i++)
		CT_OK(mps_counter_add(c, "p.other", 1, NULL));
	long long my_ms = mpst_now_ms() - t0;
	ST_TRUE(my_ms < 1000, "100 adds took %lld ms", my_ms);
	int64_t v;
	CT_OK(mps_counter_get(c, "p.other", &v));
	ST_TRUE(v == 200, "counter %lld", (long long)v);

	/* the puts: every getter gets exactly one item, in arrival order */
	sync_go(&w, W_PUTTER);
	int done = 0, put_done = 0;
	long long put_ms = 0;
	while (done < GETTERS || !put_done) {
		ST_TRUE(sync_recv(&w, &r, 30000) == 0, "stalled: %d getters done, put %d", done,
		    put_done);
		if (r.tag == T_PUT) {
			put_done = 1;
			put_ms   = r.a;
			continue;
		}
		ST_TRUE(r.tag == T_DONE, "tag %lld", (long long)r.tag);
		ST_TRUE(r.a == PER_GETTER && r.b == 0, "getter %lld: %lld items, %lld wrong",
		    (long long)r.id, (long long)r.a, (long long)r.b);
		done++;
	}
	sync_wait_all(&w);
	int64_t size;
	CT_OK(mps_queue_size(c, "p.q", &size));
	ST_TRUE(size == 0, "left in the queue: %lld", (long long)size);
	ST_TRUE(sync_stat(c, "waiters") == 0, "waiters at the end %lld", sync_stat(c, "waiters"));
	fprintf(stderr, "         parking %d gets: %lld ms; 100 adds meanwhile: %lld ms (other "
	    "process), %lld ms (runner); 1000 puts: %lld ms\n", TOTAL, t_park, other_ms, my_ms,
	    put_ms);
	mps_close(c);
}

int
main(void)
{
	sync_start(NULL);
	int fails = 0;
	int reps  = sync_soak() ? 10 : 1;
	for (int i = 0; i < reps; i++)
		fails += sync_scenario("1000 parked getters, FIFO, others served", scenario_park, 90);
	mpst_daemon_cleanup(&sync_d);
	return fails == 0 ? 0 : 1;
}
