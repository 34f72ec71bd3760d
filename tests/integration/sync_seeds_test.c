/* sync_seeds_test.c - the seeds' multiprocessing programs (seed 004),
 * rewritten for mpstore, each with separate processes and their own
 * clients:
 *  - queue relay: a queue holds 0; 10 processes each get one value and put
 *    their id (every value received exactly once; the last id remains);
 *  - producers/consumers: 5 producers put 200 values each, 5 consumers get
 *    until a stop value: every value received exactly once;
 *  - "say hi": 10 processes take an rlock in turn (re-entering it once) and
 *    decrement array element 0 from 10 to 0: final 0, each saw a distinct
 *    value, fencing tokens grow in grant order;
 *  - a barrier of 8 processes, two rounds: distinct arrival indexes, and
 *    nobody passes before the last one arrived. */
#include "sync_common.h"

/* ---- queue relay (seed 004, In [4]) ---- */

static int
relay_worker(int id, mps_client *c, void *arg)
{
	(void)arg;
	mps_value v;
	mps_err   e = mps_queue_get(c, "seed.q", 10000, &v);
	if (e != MPS_OK || v.type != MPS_INT) {
		fprintf(stderr, "relay %d: get: %s %s\n", id, mps_err_name(e), mps_last_error());
		return 1;
	}
	sync_report(id, 1, v.u.i, 0, 0);
	mps_value me = mps_int(id + 100);
	e            = mps_queue_put(c, "seed.q", &me, 10000, NULL);
	if (e != MPS_OK) {
		fprintf(stderr, "relay %d: put: %s %s\n", id, mps_err_name(e), mps_last_error());
		return 1;
	}
	return 0;
}

static void
scenario_relay(void)
{
	sync_workers w;
	sync_spawn(&w, 10, relay_worker, NULL, 1);
	mps_client *c = sync_open();
	sync_create(c, "seed.q", MPS_KIND_QUEUE, MPS_TYPE_INT64, 20);
	mps_value zero = mps_int(0);
	CT_OK(mps_queue_put(c, "seed.q", &zero, 0, NULL));
	sync_go_all(&w);
	int      seen[110] = {0};
	sync_rec r;
	for (int i = 0; i < 10; i++) {
		ST_TRUE(sync_recv(&w, &r, 20000) == 0, "relay: only %d of 10 reports", i);
		ST_TRUE(r.a == 0 || (r.a >= 100 && r.a < 110), "relay: got %lld", (long long)r.a);
		ST_TRUE(!seen[r.a], "relay: value %lld received twice", (long long)r.a);
		ST_TRUE(r.a != r.id + 100, "relay: %lld got its own value", (long long)r.id);
		seen[r.a] = 1;
	}
	sync_wait_all(&w);
	/* 0 and nine ids were received; the tenth id is left in the queue */
	mps_value last;
	CT_OK(mps_queue_get(c, "seed.q", 0, &last));
	ST_TRUE(last.type == MPS_INT && last.u.i >= 100 && last.u.i < 110 && !seen[last.u.i],
	    "relay: left %lld", (long long)last.u.i);
	ST_TRUE(seen[0], "relay: nobody got 0");
	CT_CHECK(mps_queue_get(c, "seed.q", 0, &last), MPS_ERR_EMPTY);
	mps_close(c);
}

/* ---- producers / consumers ---- */

#define PC_PRODUCERS 5
#define PC_CONSUMERS 5
#define PC_EACH 200
#define PC_STOP (-1)

static int
pc_worker(int id, mps_client *c, void *arg)
{
	(void)arg;
	if (id < PC_PRODUCERS) {
		for (int i = 0; i < PC_EACH; i++) {
			mps_value v = mps_int(id * PC_EACH + i);
			mps_err   e = mps_queue_put(c, "pc.q", &v, 10000, NULL); /* bounded: may block */
			if (e != MPS_OK) {
				fprintf(stderr, "producer %d: %s %s\n", id, mps_err_name(e), mps_last_error());
				return 1;
			}
		}
		sync_report(id, 2, 0, 0, 0); /* done producing */
		return 0;
	}
	int64_t n = 0;
	for (;;) {
		mps_value v;
		mps_err   e = mps_queue_get(c, "pc.q", 10000, &v);
		if (e != MPS_OK || v.type != MPS_INT) {
			fprintf(stderr, "consumer %d: %s %s\n", id, mps_err_name(e), mps_last_error());
			return 1;
		}
		if (v.u.i == PC_STOP)
			break;
		sync_report(id, 1, v.u.i, 0, 0);
		n++;
		if (n % 50 == 0)
			(void)mps_queue_task_done(c, "pc.q");
	}
	return 0;
}

static void
scenario_producers_consumers(void)
{
	sync_workers w;
	sync_spawn(&w, PC_PRODUCERS + PC_CONSUMERS, pc_worker, NULL, 1);
	mps_client *c = sync_open();
	sync_create(c, "pc.q", MPS_KIND_QUEUE, MPS_TYPE_INT64, 16); /* small: puts block */
	sync_go_all(&w);
	static int seen[PC_PRODUCERS * PC_EACH];
	int        got = 0, producers_done = 0;
	sync_rec   r;
	while (got < PC_PRODUCERS * PC_EACH || producers_done < PC_PRODUCERS) {
		ST_TRUE(sync_recv(&w, &r, 20000) == 0, "pc: stalled at %d values, %d producers done",
		    got, producers_done);
		if (r.tag == 2) {
			if (++producers_done == PC_PRODUCERS) {
				for (int i = 0; i < PC_CONSUMERS; i++) {
					mps_value stop = mps_int(PC_STOP);
					CT_OK(mps_queue_put(c, "pc.q", &stop, 10000, NULL));
				}
			}
			continue;
		}
		ST_TRUE(r.a >= 0 && r.a < PC_PRODUCERS * PC_EACH, "pc: value %lld", (long long)r.a);
		ST_TRUE(!seen[r.a], "pc: value %lld received twice", (long long)r.a);
		seen[r.a] = 1;
		got++;
	}
	sync_wait_all(&w);
	int64_t size;
	CT_OK(mps_queue_size(c, "pc.q", &size));
	ST_TRUE(size == 0, "pc: %lld left", (long long)size);
	mps_close(c);
}

/* ---- "say hi": rlock + array (seed 004, In [5]) ---- */

static int
hi_worker(int id, mps_client *c, void *arg)
{
	(void)arg;
	uint64_t  tok, tok2;
	int64_t   depth;
	mps_value v;
	mps_err   e = mps_rlock_acquire(c, "hi.lock", 20000, &tok, &depth);
	if (e != MPS_OK || depth != 1) {
		fprintf(stderr, "hi %d: acquire: %s %s depth %lld\n", id, mps_err_name(e),
		    mps_last_error(), (long long)depth);
		return 1;
	}
	/* re-entering is the same grant: same token, one deeper */
	e = mps_rlock_acquire(c, "hi.lock", 0, &tok2, &depth);
	if (e != MPS_OK || depth != 2 || tok2 != tok) {
		fprintf(stderr, "hi %d: re-enter: %s depth %lld tokens %llu %llu\n", id,
		    mps_err_name(e), (long long)depth, (unsigned long long)tok,
		    (unsigned long long)tok2);
		return 1;
	}
	if (mps_array_get(c, "hi.arr", 0, &v) != MPS_OK || v.type != MPS_INT)
		return 1;
	mps_value nv = mps_int(v.u.i - 1);
	mpst_sleep_ms(5); /* a window for a lost update, were the lock not held */
	if (mps_array_set(c, "hi.arr", 0, &nv) != MPS_OK)
		return 1;
	sync_report(id, 1, nv.u.i, (int64_t)tok, 0); /* say hi */
	if (mps_lock_release(c, "hi.lock") != MPS_OK || mps_lock_release(c, "hi.lock") != MPS_OK) {
		fprintf(stderr, "hi %d: release: %s\n", id, mps_last_error());
		return 1;
	}
	return 0;
}

static void
scenario_say_hi(void)
{
	sync_workers w;
	sync_spawn(&w, 10, hi_worker, NULL, 1);
	mps_client *c = sync_open();
	sync_create(c, "hi.arr", MPS_KIND_ARRAY, MPS_TYPE_INT64, 1);
	sync_create(c, "hi.lock", MPS_KIND_RLOCK, MPS_TYPE_ANY, 0);
	mps_value ten = mps_int(10);
	CT_OK(mps_array_set(c, "hi.arr", 0, &ten));
	sync_go_all(&w);
	uint64_t tok_of[10] = {0};
	int      seen[10]   = {0};
	sync_rec r;
	for (int i = 0; i < 10; i++) {
		ST_TRUE(sync_recv(&w, &r, 30000) == 0, "say hi: only %d of 10", i);
		ST_TRUE(r.a >= 0 && r.a < 10 && !seen[r.a], "say hi: value %lld (twice?)", (long long)r.a);
		seen[r.a]   = 1;
		tok_of[r.a] = (uint64_t)r.b;
	}
	sync_wait_all(&w);
	/* values 9, 8, ..., 0 were seen in grant order: tokens grow along it */
	for (int v = 8; v >= 0; v--)
		ST_TRUE(tok_of[v] > tok_of[v + 1], "tokens: value %d token %llu, value %d token %llu", v,
		    (unsigned long long)tok_of[v], v + 1, (unsigned long long)tok_of[v + 1]);
	mps_value fin;
	CT_OK(mps_array_get(c, "hi.arr", 0, &fin));
	ST_TRUE(fin.type == MPS_INT && fin.u.i == 0, "final %lld", (long long)fin.u.i);
	int      locked;
	uint64_t t;
	CT_OK(mps_lock_locked(c, "hi.lock", &locked, &t));
	ST_TRUE(!locked, "rlock still held");
	mps_close(c);
}

/* ---- barrier of N processes ---- */

#define BAR_N 8
#define BAR_ROUNDS 2

static int
bar_worker(int id, mps_client *c, void *arg)
{
	(void)arg;
	for (int round = 0; round < BAR_ROUNDS; round++) {
		mpst_sleep_ms(id * 15); /* arrivals spread over ~100 ms */
		long long in = mpst_now_ms();
		int64_t   idx;
		mps_err   e = mps_barrier_wait(c, "bar", 20000, &idx);
		long long out = mpst_now_ms();
		if (e != MPS_OK) {
			fprintf(stderr, "barrier %d: %s %s\n", id, mps_err_name(e), mps_last_error());
			return 1;
		}
		sync_report(id, round, idx, in, out);
	}
	return 0;
}

static void
scenario_barrier(void)
{
	sync_workers w;
	sync_spawn(&w, BAR_N, bar_worker, NULL, 1);
	mps_client *c = sync_open();
	sync_create(c, "bar", MPS_KIND_BARRIER, MPS_TYPE_ANY, BAR_N);
	sync_go_all(&w);
	int       seen[BAR_ROUNDS][BAR_N];
	long long last_in[BAR_ROUNDS], first_out[BAR_ROUNDS];
	memset(seen, 0, sizeof(seen));
	for (int k = 0; k < BAR_ROUNDS; k++) {
		last_in[k]   = 0;
		first_out[k] = 1LL << 62;
	}
	sync_rec r;
	for (int i = 0; i < BAR_N * BAR_ROUNDS; i++) {
		ST_TRUE(sync_recv(&w, &r, 30000) == 0, "barrier: only %d reports", i);
		ST_TRUE(r.a >= 0 && r.a < BAR_N && !seen[r.tag][r.a], "barrier round %lld: index %lld",
		    (long long)r.tag, (long long)r.a);
		seen[r.tag][r.a] = 1;
		if (r.b > last_in[r.tag])
			last_in[r.tag] = r.b;
		if (r.c < first_out[r.tag])
			first_out[r.tag] = r.c;
	}
	sync_wait_all(&w);
	for (int k = 0; k < BAR_ROUNDS; k++)
		ST_TRUE(first_out[k] >= last_in[k], "round %d: someone passed at %lld before the last "
		    "arrival at %lld", k, first_out[k], last_in[k]);
	int64_t parties, waiting;
	int     broken;
	CT_OK(mps_barrier_info(c, "bar", &parties, &waiting, &broken));
	ST_TRUE(parties == BAR_N && waiting == 0 && !broken, "info %lld %lld %d", (long long)parties,
	    (long long)waiting, broken);
	mps_close(c);
}

int
main(void)
{
	sync_start(NULL);
	int fails = 0;
	int reps  = sync_soak() ? 20 : 1;
	for (int i = 0; i < reps; i++) {
		fails += sync_scenario("queue relay among 10 processes", scenario_relay, 60);
		fails += sync_scenario("5 producers, 5 consumers", scenario_producers_consumers, 60);
		fails += sync_scenario("say hi: rlock + array, 10 processes", scenario_say_hi, 60);
		fails += sync_scenario("barrier of 8 processes", scenario_barrier, 60);
	}
	mpst_daemon_cleanup(&sync_d);
	return fails == 0 ? 0 : 1;
}
