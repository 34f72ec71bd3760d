/* sync_edge_test.c - edge cases of holder death and parking:
 *  - a put parked on a full queue by a process killed while parked is
 *    forgotten: it never adds its value;
 *  - a barrier party that dies while waiting no longer counts; the indexes
 *    given at the release stay distinct;
 *  - a bounded semaphore's units given back by a dead holder never take it
 *    past its initial value;
 *  - a condition waiter that dies is not counted by notify;
 *  - deleting a container answers its parked waiters (ERR_NOT_FOUND);
 *  - queue join returns once other processes called task_done for every
 *    item. */
#include "sync_common.h"

enum { T_READY = 1, T_DONE };

static void
noop_cb(mps_batch *b, mps_err err, void *arg)
{
	(void)b;
	(void)err;
	(void)arg;
}

/* Park one op asynchronously, report T_READY, then wait to be killed. */
static int
park_and_die(int id, mps_client *c, void *arg)
{
	const mps_op *op = arg;
	mps_batch    *b;
	if (op->code == MPS_OP_COND_WAIT && mps_cond_acquire(c, op->name, 5000, NULL) != MPS_OK)
		return 1;
	if (op->code == MPS_OP_SEM_ACQUIRE) { /* take 2 units, then hang */
		if (mps_sem_acquire(c, op->name, 5000, NULL) != MPS_OK ||
		    mps_sem_acquire(c, op->name, 5000, NULL) != MPS_OK)
			return 1;
		sync_report(id, T_READY, 0, 0, 0);
		for (;;)
			pause();
	}
	if (mps_batch_alloc(c, &b) != MPS_OK || mps_batch_append(b, op) != MPS_OK ||
	    mps_batch_submit(b, noop_cb, NULL) != MPS_OK)
		return 1;
	sync_report(id, T_READY, 0, 0, 0);
	for (;;)
		pause();
}

static void
kill_worker(sync_workers *w, int i)
{
	kill(w->pid[i], SIGKILL);
	ST_TRUE(sync_wait_one(w, i) == 128 + SIGKILL, "worker %d exit", i);
}

static void
scenario_dead_put(void)
{
	static const mps_op put = {.code = MPS_OP_QUEUE_PUT, .name = "e.q", .value = {.type = MPS_INT,
	    .u.i = 666}, .timeout_ms = 30000};
	sync_workers w;
	sync_spawn(&w, 1, park_and_die, (void *)&put, 1);
	mps_client *c = sync_open();
	sync_create(c, "e.q", MPS_KIND_QUEUE, MPS_TYPE_INT64, 1);
	mps_value one = mps_int(1), two = mps_int(2), v;
	CT_OK(mps_queue_put(c, "e.q", &one, 0, NULL));
	sync_rec r;
	sync_go(&w, 0);
	ST_TRUE(sync_recv(&w, &r, 10000) == 0, "ready");
	ST_TRUE(sync_stat_wait(c, "waiters", 1, 5000) == 1, "put parked");
	kill_worker(&w, 0);
	ST_TRUE(sync_stat_wait(c, "waiters", 0, 5000) == 0, "dead put not forgotten");
	CT_OK(mps_queue_get(c, "e.q", 0, &v));
	ST_TRUE(v.u.i == 1, "first item %lld", (long long)v.u.i);
	CT_OK(mps_queue_put(c, "e.q", &two, 0, NULL));
	CT_OK(mps_queue_get(c, "e.q", 0, &v));
	ST_TRUE(v.u.i == 2, "the dead process's put was applied: got %lld", (long long)v.u.i);
	CT_CHECK(mps_queue_get(c, "e.q", 0, &v), MPS_ERR_EMPTY);
	sync_wait_all(&w);
	mps_close(c);
}

static int
bar_party(int id, mps_client *c, void *arg)
{
	(void)arg;
	int64_t idx;
	mps_err e = mps_barrier_wait(c, "e.bar", 10000, &idx);
	if (e != MPS_OK) {
		fprintf(stderr, "party %d: %s %s\n", id, mps_err_name(e), mps_last_error());
		return 1;
	}
	sync_report(id, T_DONE, idx, 0, 0);
	return 0;
}

static void
scenario_dead_party(void)
{
	static const mps_op bw = {.code = MPS_OP_BARRIER_WAIT, .name = "e.bar", .timeout_ms = 30000};
	sync_workers ghost, w;
	sync_spawn(&ghost, 1, park_and_die, (void *)&bw, 1);
	sync_spawn(&w, 3, bar_party, NULL, 1);
	mps_client *c = sync_open();
	sync_create(c, "e.bar", MPS_KIND_BARRIER, MPS_TYPE_ANY, 3);
	sync_rec r;
	sync_go(&ghost, 0);
	ST_TRUE(sync_recv(&ghost, &r, 10000) == 0, "ghost ready");
	ST_TRUE(sync_stat_wait(c, "waiters", 1, 5000) == 1, "ghost parked");
	sync_go(&w, 0);
	ST_TRUE(sync_stat_wait(c, "waiters", 2, 5000) == 2, "party 0 parked");
	kill_worker(&ghost, 0);
	ST_TRUE(sync_stat_wait(c, "waiters", 1, 5000) == 1, "ghost's wait not forgotten");
	int64_t waiting;
	int     broken;
	CT_OK(mps_barrier_info(c, "e.bar", NULL, &waiting, &broken));
	ST_TRUE(waiting == 1 && !broken, "after the death: waiting %lld broken %d",
	    (long long)waiting, broken);
	/* one more arrival: 2 of 3, not released */
	sync_go(&w, 1);
	ST_TRUE(sync_stat_wait(c, "waiters", 2, 5000) == 2, "party 1 parked");
	ST_TRUE(sync_recv(&w, &r, 300) != 0, "released with 2 of 3 parties (the dead one counted)");
	sync_go(&w, 2);
	int seen[3] = {0};
	for (int i = 0; i < 3; i++) {
		ST_TRUE(sync_recv(&w, &r, 10000) == 0, "party reports %d", i);
		ST_TRUE(r.a >= 0 && r.a < 3 && !seen[r.a], "index %lld", (long long)r.a);
		seen[r.a] = 1;
	}
	sync_wait_all(&w);
	sync_wait_all(&ghost);
	mps_close(c);
}

static void
scenario_dead_sem_bounded(void)
{
	static const mps_op sa = {.code = MPS_OP_SEM_ACQUIRE, .name = "e.bsem"};
	sync_workers w;
	sync_spawn(&w, 1, park_and_die, (void *)&sa, 1);
	mps_client *c = sync_open();
	sync_create(c, "e.bsem", MPS_KIND_BOUNDED_SEMAPHORE, MPS_TYPE_ANY, 3);
	sync_rec r;
	sync_go(&w, 0);
	ST_TRUE(sync_recv(&w, &r, 10000) == 0, "holder ready");
	int64_t v;
	CT_OK(mps_sem_value(c, "e.bsem", &v));
	ST_TRUE(v == 1, "value %lld", (long long)v);
	/* another session releases the holder's 2 units (allowed: any session) */
	CT_OK(mps_sem_release(c, "e.bsem", &v));
	CT_OK(mps_sem_release(c, "e.bsem", &v));
	ST_TRUE(v == 3, "value %lld", (long long)v);
	kill_worker(&w, 0);
	mpst_sleep_ms(300);
	CT_OK(mps_sem_value(c, "e.bsem", &v));
	ST_TRUE(v == 3, "dead holder's units took the value to %lld (> 3)", (long long)v);
	CT_CHECK(mps_sem_release(c, "e.bsem", &v), MPS_ERR_INVALID);
	sync_wait_all(&w);
	mps_close(c);
}

static void
scenario_dead_cond_waiter(void)
{
	static const mps_op cw = {.code = MPS_OP_COND_WAIT, .name = "e.cv", .timeout_ms = 30000};
	sync_workers w;
	sync_spawn(&w, 1, park_and_die, (void *)&cw, 1);
	mps_client *c = sync_open();
	sync_create(c, "e.cv", MPS_KIND_CONDITION, MPS_TYPE_ANY, 0);
	sync_rec r;
	sync_go(&w, 0);
	ST_TRUE(sync_recv(&w, &r, 10000) == 0, "waiter ready");
	ST_TRUE(sync_stat_wait(c, "waiters", 1, 5000) == 1, "cond wait parked");
	kill_worker(&w, 0);
	ST_TRUE(sync_stat_wait(c, "waiters", 0, 5000) == 0, "dead cond waiter not forgotten");
	int64_t woken;
	CT_OK(mps_cond_acquire(c, "e.cv", 2000, NULL)); /* its lock was given back */
	CT_OK(mps_cond_notify_all(c, "e.cv", &woken));
	ST_TRUE(woken == 0, "notify_all woke %lld (a dead waiter)", (long long)woken);
	CT_OK(mps_cond_release(c, "e.cv"));
	sync_wait_all(&w);
	mps_close(c);
}

static void *
get_thread(void *arg)
{
	mps_client *c = arg;
	mps_value   v;
	return (void *)(intptr_t)mps_queue_get(c, "e.del", 10000, &v);
}

static void
scenario_delete_with_waiters(void)
{
	mps_client *c = sync_open(), *g = sync_open();
	sync_create(c, "e.del", MPS_KIND_QUEUE, MPS_TYPE_ANY, 0);
	pthread_t th;
	CT_TRUE(pthread_create(&th, NULL, get_thread, g) == 0);
	ST_TRUE(sync_stat_wait(c, "waiters", 1, 5000) == 1, "get parked");
	long long t0 = mpst_now_ms();
	CT_OK(mps_delete(c, "e.del"));
	void *rv;
	pthread_join(th, &rv);
	long long ms = mpst_now_ms() - t0;
	ST_TRUE((mps_err)(intptr_t)rv == MPS_ERR_NOT_FOUND, "parked get on a deleted queue: %s",
	    mps_err_name((int)(intptr_t)rv));
	ST_WITHIN(ms, 0, 1000);
	mps_close(g);
	mps_close(c);
}

static int
tasker(int id, mps_client *c, void *arg)
{
	(void)arg;
	for (int i = 0; i < 10; i++) {
		mps_value v;
		mps_err   e = mps_queue_get(c, "e.jq", 10000, &v);
		if (e == MPS_OK) {
			mpst_sleep_ms(5);
			e = mps_queue_task_done(c, "e.jq");
		}
		if (e != MPS_OK) {
			fprintf(stderr, "tasker %d: %s %s\n", id, mps_err_name(e), mps_last_error());
			return 1;
		}
	}
	return 0;
}

static void
scenario_join(void)
{
	sync_workers w;
	sync_spawn(&w, 3, tasker, NULL, 1);
	mps_client *c = sync_open();
	sync_create(c, "e.jq", MPS_KIND_QUEUE, MPS_TYPE_INT64, 0);
	for (int i = 0; i < 30; i++) {
		mps_value v = mps_int(i);
		CT_OK(mps_queue_put(c, "e.jq", &v, 0, NULL));
	}
	sync_go_all(&w);
	CT_OK(mps_queue_join(c, "e.jq", 20000));
	int64_t n;
	CT_OK(mps_queue_size(c, "e.jq", &n));
	ST_TRUE(n == 0, "size after join %lld", (long long)n);
	sync_wait_all(&w);
	CT_CHECK(mps_queue_task_done(c, "e.jq"), MPS_ERR_INVALID);
	mps_close(c);
}

int
main(void)
{
	sync_start(NULL);
	int fails = 0;
	int reps  = sync_soak() ? 5 : 1;
	for (int i = 0; i < reps; i++) {
		fails += sync_scenario("a dead process's parked put is forgotten", scenario_dead_put, 60);
		fails += sync_scenario("a dead barrier party no longer counts", scenario_dead_party, 60);
		fails += sync_scenario("bounded semaphore: a dead holder's units never overflow",
		    scenario_dead_sem_bounded, 60);
		fails += sync_scenario("a dead condition waiter is not notified",
		    scenario_dead_cond_waiter, 60);
		fails += sync_scenario("delete answers parked waiters", scenario_delete_with_waiters, 60);
		fails += sync_scenario("queue join across processes", scenario_join, 60);
	}
	mpst_daemon_cleanup(&sync_d);
	return fails == 0 ? 0 : 1;
}
