/* sync_kinds_test.c - the sync kinds against a real daemon:
 *  - timeouts: every blocking op with a 300 ms timeout answers its timeout
 *    (ERR_TIMEOUT, or flag false where docs/sync.md says so) after about
 *    300 ms; the non-blocking forms (timeout 0) never block; a timed wait
 *    satisfied before its deadline returns at once;
 *  - wrong use: release of a lock one does not own, a plain lock taken
 *    twice, bounded semaphore over-release, barrier after abort, condition
 *    wait/notify without the lock, task_done too often: clear errors;
 *  - events and conditions between processes;
 *  - arrays and namespaces (typed, fixed length; attributes of any type). */
#include "sync_common.h"

#define TMO 300
#define TLO 280
#define THI 1500
#define NOWAIT_MAX 250 /* well under TMO: a form that waited would take >= TMO */

/* ---- timeouts and non-blocking forms ---- */

static void
check_msg(mps_err e, mps_err want, const char *what)
{
	ST_TRUE(e == want, "%s: %s (%s), want %s", what, mps_err_name(e), mps_last_error(),
	    mps_err_name(want));
	if (want != MPS_OK)
		ST_TRUE(mps_last_error()[0] != '\0', "%s: %s without a message", what,
		    mps_err_name(e));
}

static void *
release_later(void *arg)
{
	mps_client *b = arg;
	mpst_sleep_ms(100);
	if (mps_lock_release(b, "t.lock") != MPS_OK) {
		fprintf(stderr, "release later: %s\n", mps_last_error());
		abort();
	}
	return NULL;
}

static void
scenario_timeouts(void)
{
	mps_client *a = sync_open(), *b = sync_open(); /* two sessions */
	sync_create(a, "t.q", MPS_KIND_QUEUE, MPS_TYPE_ANY, 1);
	sync_create(a, "t.lock", MPS_KIND_LOCK, MPS_TYPE_ANY, 0);
	sync_create(a, "t.rlock", MPS_KIND_RLOCK, MPS_TYPE_ANY, 0);
	sync_create(a, "t.sem", MPS_KIND_SEMAPHORE, MPS_TYPE_ANY, 0);
	sync_create(a, "t.ev", MPS_KIND_EVENT, MPS_TYPE_ANY, 0);
	sync_create(a, "t.cond", MPS_KIND_CONDITION, MPS_TYPE_ANY, 0);
	sync_create(a, "t.bar", MPS_KIND_BARRIER, MPS_TYPE_ANY, 2);
	sync_create(a, "t.jq", MPS_KIND_QUEUE, MPS_TYPE_ANY, 0);

	mps_value v;
	long long t0, ms;
	int       flag;
	int64_t   cnt;
	uint64_t  tok;

	/* queue get on an empty queue */
	t0 = mpst_now_ms();
	check_msg(mps_queue_get(a, "t.q", TMO, &v), MPS_ERR_TIMEOUT, "get 300 ms");
	ms = mpst_now_ms() - t0;
	ST_WITHIN(ms, TLO, THI);
	t0 = mpst_now_ms();
	check_msg(mps_queue_get(a, "t.q", 0, &v), MPS_ERR_EMPTY, "get nowait");
	ms = mpst_now_ms() - t0;
	ST_WITHIN(ms, 0, NOWAIT_MAX);

	/* queue put on a full queue (maxsize 1) */
	mps_value one = mps_int(1);
	CT_OK(mps_queue_put(a, "t.q", &one, 0, NULL));
	t0 = mpst_now_ms();
	check_msg(mps_queue_put(a, "t.q", &one, TMO, NULL), MPS_ERR_TIMEOUT, "put 300 ms");
	ms = mpst_now_ms() - t0;
	ST_WITHIN(ms, TLO, THI);
	t0 = mpst_now_ms();
	check_msg(mps_queue_put(a, "t.q", &one, 0, NULL), MPS_ERR_FULL, "put nowait");
	ms = mpst_now_ms() - t0;
	ST_WITHIN(ms, 0, NOWAIT_MAX);
	int yes;
	CT_OK(mps_queue_full(a, "t.q", &yes));
	ST_TRUE(yes, "full");

	/* queue join with an unfinished task */
	CT_OK(mps_queue_put(a, "t.jq", &one, 0, NULL));
	t0 = mpst_now_ms();
	check_msg(mps_queue_join(a, "t.jq", TMO), MPS_ERR_TIMEOUT, "join 300 ms");
	ms = mpst_now_ms() - t0;
	ST_WITHIN(ms, TLO, THI);
	t0 = mpst_now_ms();
	check_msg(mps_queue_join(a, "t.jq", 0), MPS_ERR_TIMEOUT, "join nowait");
	ms = mpst_now_ms() - t0;
	ST_WITHIN(ms, 0, NOWAIT_MAX);

	/* lock and rlock held by another session */
	CT_OK(mps_lock_acquire(a, "t.lock", 0, &tok));
	CT_OK(mps_rlock_acquire(a, "t.rlock", 0, NULL, NULL));
	t0 = mpst_now_ms();
	check_msg(mps_lock_acquire(b, "t.lock", TMO, NULL), MPS_ERR_TIMEOUT, "lock 300 ms");
	ms = mpst_now_ms() - t0;
	ST_WITHIN(ms, TLO, THI);
	t0 = mpst_now_ms();
	check_msg(mps_rlock_acquire(b, "t.rlock", TMO, NULL, NULL), MPS_ERR_TIMEOUT, "rlock 300 ms");
	ms = mpst_now_ms() - t0;
	ST_WITHIN(ms, TLO, THI);
	t0 = mpst_now_ms();
	check_msg(mps_lock_acquire(b, "t.lock", 0, NULL), MPS_ERR_TIMEOUT, "lock nowait");
	ms = mpst_now_ms() - t0;
	ST_WITHIN(ms, 0, NOWAIT_MAX);
	/* the raw op with timeout 0 answers OK with flag false (docs/sync.md) */
	{
		mps_batch *bt;
		mps_result res;
		CT_OK(mps_batch_alloc(b, &bt));
		mps_op op = {.code = MPS_OP_LOCK_ACQUIRE, .name = "t.lock", .timeout_ms = 0};
		CT_OK(mps_batch_append(bt, &op));
		t0 = mpst_now_ms();
		CT_OK(mps_batch_exec(bt));
		ms = mpst_now_ms() - t0;
		ST_WITHIN(ms, 0, NOWAIT_MAX);
		CT_OK(mps_batch_result(bt, 0, &res));
		ST_TRUE(res.status == MPS_OK && !res.flag, "raw acquire nowait: %s flag %d",
		    mps_err_name(res.status), res.flag);
		mps_batch_free(bt);
	}

	/* semaphore at 0 */
	t0 = mpst_now_ms();
	check_msg(mps_sem_acquire(b, "t.sem", TMO, NULL), MPS_ERR_TIMEOUT, "sem 300 ms");
	ms = mpst_now_ms() - t0;
	ST_WITHIN(ms, TLO, THI);
	t0 = mpst_now_ms();
	check_msg(mps_sem_acquire(b, "t.sem", 0, NULL), MPS_ERR_TIMEOUT, "sem nowait");
	ms = mpst_now_ms() - t0;
	ST_WITHIN(ms, 0, NOWAIT_MAX);

	/* event not set: OK with flag false */
	t0 = mpst_now_ms();
	flag = -1;
	CT_OK(mps_event_wait(a, "t.ev", TMO, &flag));
	ms = mpst_now_ms() - t0;
	ST_TRUE(flag == 0, "event wait flag %d", flag);
	ST_WITHIN(ms, TLO, THI);
	t0 = mpst_now_ms();
	CT_OK(mps_event_wait(a, "t.ev", 0, &flag));
	ms = mpst_now_ms() - t0;
	ST_TRUE(flag == 0, "event nowait flag %d", flag);
	ST_WITHIN(ms, 0, NOWAIT_MAX);

	/* condition wait without a notify: flag false, lock held again */
	CT_OK(mps_cond_acquire(a, "t.cond", 0, &tok));
	t0 = mpst_now_ms();
	flag = -1;
	CT_OK(mps_cond_wait(a, "t.cond", TMO, &flag));
	ms = mpst_now_ms() - t0;
	ST_TRUE(flag == 0, "cond wait flag %d", flag);
	ST_WITHIN(ms, TLO, THI);
	int      locked;
	uint64_t tok2;
	CT_OK(mps_lock_locked(b, "t.cond", &locked, &tok2));
	ST_TRUE(locked && tok2 > tok, "cond lock after wait: locked %d token %llu (was %llu)", locked,
	    (unsigned long long)tok2, (unsigned long long)tok);
	t0 = mpst_now_ms();
	CT_OK(mps_cond_wait(a, "t.cond", 0, &flag));
	ms = mpst_now_ms() - t0;
	ST_TRUE(flag == 0, "cond nowait flag %d", flag);
	ST_WITHIN(ms, 0, NOWAIT_MAX);
	CT_OK(mps_cond_release(a, "t.cond"));

	/* barrier of 2 with one arrival: broken at the deadline */
	t0 = mpst_now_ms();
	check_msg(mps_barrier_wait(a, "t.bar", TMO, &cnt), MPS_ERR_BROKEN, "barrier 300 ms");
	ms = mpst_now_ms() - t0;
	ST_WITHIN(ms, TLO, THI);
	int broken;
	CT_OK(mps_barrier_info(a, "t.bar", NULL, NULL, &broken));
	ST_TRUE(broken, "barrier not broken after a timeout");
	CT_OK(mps_barrier_reset(a, "t.bar"));
	t0 = mpst_now_ms();
	check_msg(mps_barrier_wait(a, "t.bar", 0, &cnt), MPS_ERR_BROKEN, "barrier nowait");
	ms = mpst_now_ms() - t0;
	ST_WITHIN(ms, 0, NOWAIT_MAX);
	CT_OK(mps_barrier_reset(a, "t.bar"));

	/* a timed wait satisfied early returns early: b releases the lock 100 ms
	 * into a's 3 s acquire (a thread of this process; b is another session) */
	CT_OK(mps_lock_release(a, "t.lock"));
	CT_OK(mps_lock_acquire(b, "t.lock", 0, NULL));
	pthread_t th;
	CT_TRUE(pthread_create(&th, NULL, release_later, b) == 0);
	t0 = mpst_now_ms();
	CT_OK(mps_lock_acquire(a, "t.lock", 3000, &tok));
	ms = mpst_now_ms() - t0;
	pthread_join(th, NULL);
	ST_WITHIN(ms, 80, 1000);
	CT_OK(mps_lock_release(a, "t.lock"));

	mps_close(a);
	mps_close(b);
}

/* ---- wrong use ---- */

static void *
abort_later(void *arg)
{
	mps_client *c = arg;
	mpst_sleep_ms(150);
	if (mps_barrier_abort(c, "w.bar") != MPS_OK)
		abort();
	return NULL;
}

static void
scenario_wrong_use(void)
{
	mps_client *a = sync_open(), *b = sync_open();
	sync_create(a, "w.lock", MPS_KIND_LOCK, MPS_TYPE_ANY, 0);
	sync_create(a, "w.rlock", MPS_KIND_RLOCK, MPS_TYPE_ANY, 0);
	sync_create(a, "w.bsem", MPS_KIND_BOUNDED_SEMAPHORE, MPS_TYPE_ANY, 2);
	sync_create(a, "w.sem", MPS_KIND_SEMAPHORE, MPS_TYPE_ANY, 2);
	sync_create(a, "w.bar", MPS_KIND_BARRIER, MPS_TYPE_ANY, 3);
	sync_create(a, "w.cond", MPS_KIND_CONDITION, MPS_TYPE_ANY, 0);
	sync_create(a, "w.q", MPS_KIND_QUEUE, MPS_TYPE_INT64, 0);
	int64_t val;

	/* release of a free lock, of a lock held by another session */
	check_msg(mps_lock_release(a, "w.lock"), MPS_ERR_NOT_OWNER, "release free lock");
	CT_OK(mps_lock_acquire(a, "w.lock", 0, NULL));
	check_msg(mps_lock_release(b, "w.lock"), MPS_ERR_NOT_OWNER, "release another's lock");
	/* a plain lock taken again by its holder: an error, not a deadlock */
	check_msg(mps_lock_acquire(a, "w.lock", 1000, NULL), MPS_ERR_INVALID, "lock twice");
	int locked;
	CT_OK(mps_lock_locked(b, "w.lock", &locked, NULL));
	ST_TRUE(locked, "lock freed by a wrong release");
	CT_OK(mps_lock_release(a, "w.lock"));
	/* rlock: released more times than acquired */
	CT_OK(mps_rlock_acquire(a, "w.rlock", 0, NULL, NULL));
	check_msg(mps_lock_release(b, "w.rlock"), MPS_ERR_NOT_OWNER, "release another's rlock");
	CT_OK(mps_lock_release(a, "w.rlock"));
	check_msg(mps_lock_release(a, "w.rlock"), MPS_ERR_NOT_OWNER, "rlock over-release");

	/* bounded semaphore: over-release refused and changes nothing */
	check_msg(mps_sem_release(a, "w.bsem", &val), MPS_ERR_INVALID, "bounded over-release");
	ST_TRUE(strstr(mps_last_error(), "too many") != NULL, "message: %s", mps_last_error());
	CT_OK(mps_sem_value(a, "w.bsem", &val));
	ST_TRUE(val == 2, "bounded value %lld", (long long)val);
	CT_OK(mps_sem_acquire(a, "w.bsem", 0, &val));
	ST_TRUE(val == 1, "value after acquire %lld", (long long)val);
	CT_OK(mps_sem_release(b, "w.bsem", &val)); /* any session may release */
	ST_TRUE(val == 2, "value after release %lld", (long long)val);
	check_msg(mps_sem_release(a, "w.bsem", &val), MPS_ERR_INVALID, "bounded over-release 2");
	/* the plain semaphore may go past its initial value */
	CT_OK(mps_sem_release(a, "w.sem", &val));
	ST_TRUE(val == 3, "semaphore value %lld", (long long)val);

	/* barrier: abort breaks waits in progress and later ones until a reset */
	pthread_t th;
	int64_t   idx;
	CT_TRUE(pthread_create(&th, NULL, abort_later, b) == 0);
	long long t0 = mpst_now_ms();
	check_msg(mps_barrier_wait(a, "w.bar", 5000, &idx), MPS_ERR_BROKEN, "wait during abort");
	long long ms = mpst_now_ms() - t0;
	pthread_join(th, NULL);
	ST_WITHIN(ms, 100, 1500);
	check_msg(mps_barrier_wait(a, "w.bar", 1000, &idx), MPS_ERR_BROKEN, "wait after abort");
	check_msg(mps_barrier_wait(b, "w.bar", 0, &idx), MPS_ERR_BROKEN, "nowait after abort");
	int broken;
	CT_OK(mps_barrier_info(a, "w.bar", NULL, NULL, &broken));
	ST_TRUE(broken, "not broken");
	CT_OK(mps_barrier_reset(a, "w.bar"));
	CT_OK(mps_barrier_info(a, "w.bar", NULL, NULL, &broken));
	ST_TRUE(!broken, "broken after reset");

	/* condition without its lock */
	int flag;
	check_msg(mps_cond_wait(a, "w.cond", 100, &flag), MPS_ERR_NOT_OWNER, "cond wait unlocked");
	check_msg(mps_cond_notify(a, "w.cond", 1, NULL), MPS_ERR_NOT_OWNER, "notify unlocked");
	CT_OK(mps_cond_acquire(b, "w.cond", 0, NULL));
	check_msg(mps_cond_notify_all(a, "w.cond", NULL), MPS_ERR_NOT_OWNER, "notify, b holds it");
	CT_OK(mps_cond_release(b, "w.cond"));

	/* queue: task_done too often; wrong type */
	check_msg(mps_queue_task_done(a, "w.q"), MPS_ERR_INVALID, "task_done");
	mps_value s = mps_str("text");
	check_msg(mps_queue_put(a, "w.q", &s, 0, NULL), MPS_ERR_WRONG_TYPE, "put wrong type");
	/* wrong kind */
	check_msg(mps_lock_acquire(a, "w.q", 0, NULL), MPS_ERR_WRONG_KIND, "acquire a queue");
	check_msg(mps_queue_get(a, "w.nosuch", 0, NULL), MPS_ERR_NOT_FOUND, "get missing");

	mps_close(a);
	mps_close(b);
}

/* ---- events and conditions between processes ---- */

static int
ev_worker(int id, mps_client *c, void *arg)
{
	(void)arg;
	long long t0   = mpst_now_ms();
	int       flag = -1;
	mps_err   e    = mps_event_wait(c, "e.ev", 10000, &flag);
	long long t1   = mpst_now_ms();
	if (e != MPS_OK) {
		fprintf(stderr, "event worker %d: %s %s\n", id, mps_err_name(e), mps_last_error());
		return 1;
	}
	sync_report(id, 1, flag, t0, t1);
	return 0;
}

static void
scenario_event(void)
{
	sync_workers w;
	sync_spawn(&w, 4, ev_worker, NULL, 1);
	mps_client *c = sync_open();
	sync_create(c, "e.ev", MPS_KIND_EVENT, MPS_TYPE_ANY, 0);
	sync_go_all(&w);
	/* all four parked, then set */
	long long n = sync_stat_wait(c, "waiters", 4, 5000);
	ST_TRUE(n == 4, "waiters %lld", n);
	mpst_sleep_ms(100);
	long long tset = mpst_now_ms();
	CT_OK(mps_event_set(c, "e.ev"));
	CT_OK(mps_event_clear(c, "e.ev")); /* waiters parked at the set still see true */
	sync_rec r;
	for (int i = 0; i < 4; i++) {
		ST_TRUE(sync_recv(&w, &r, 10000) == 0, "event: %d reports", i);
		ST_TRUE(r.a == 1, "worker %lld: flag %lld", (long long)r.id, (long long)r.a);
		ST_TRUE(r.c >= tset && r.c - tset < 1000, "worker %lld woke %lld ms after the set",
		    (long long)r.id, r.c - tset);
	}
	sync_wait_all(&w);
	int is_set;
	CT_OK(mps_event_is_set(c, "e.ev", &is_set));
	ST_TRUE(!is_set, "set after clear");
	mps_close(c);
}

/* Condition: consumers wait (wait_for-style loop) until "c.ns".items > 0,
 * take one item under the condition's lock; the producer adds items one by
 * one with notify, then the rest with notify_all. */
#define CV_WORKERS 4

static int
cv_worker(int id, mps_client *c, void *arg)
{
	(void)arg;
	uint64_t tok;
	mps_err  e = mps_cond_acquire(c, "c.cv", 10000, &tok);
	if (e != MPS_OK)
		goto fail;
	for (;;) {
		mps_value items;
		e = mps_ns_get(c, "c.ns", "items", &items);
		if (e != MPS_OK || items.type != MPS_INT)
			goto fail;
		if (items.u.i > 0) {
			mps_value less = mps_int(items.u.i - 1);
			e              = mps_ns_set(c, "c.ns", "items", &less);
			if (e != MPS_OK)
				goto fail;
			break;
		}
		int notified;
		e = mps_cond_wait(c, "c.cv", 10000, &notified);
		if (e != MPS_OK)
			goto fail;
		if (!notified) {
			fprintf(stderr, "cv worker %d: not notified in 10 s\n", id);
			return 1;
		}
	}
	uint64_t held;
	int      locked;
	e = mps_lock_locked(c, "c.cv", &locked, &held);
	if (e != MPS_OK || !locked)
		goto fail;
	sync_report(id, 1, (int64_t)held, 0, 0);
	e = mps_cond_release(c, "c.cv");
	if (e != MPS_OK)
		goto fail;
	return 0;
fail:
	fprintf(stderr, "cv worker %d: %s %s\n", id, mps_err_name(e), mps_last_error());
	return 1;
}

static void
scenario_condition(void)
{
	sync_workers w;
	sync_spawn(&w, CV_WORKERS, cv_worker, NULL, 1);
	mps_client *c = sync_open();
	sync_create(c, "c.cv", MPS_KIND_CONDITION, MPS_TYPE_ANY, 0);
	sync_create(c, "c.ns", MPS_KIND_NAMESPACE, MPS_TYPE_ANY, 0);
	mps_value zero = mps_int(0);
	CT_OK(mps_ns_set(c, "c.ns", "items", &zero));
	sync_go_all(&w);
	long long n = sync_stat_wait(c, "waiters", CV_WORKERS, 5000);
	ST_TRUE(n == CV_WORKERS, "cond waiters %lld", n);
	/* one item, one notify: exactly one consumer proceeds */
	int64_t woken;
	CT_OK(mps_cond_acquire(c, "c.cv", 5000, NULL));
	mps_value one = mps_int(1);
	CT_OK(mps_ns_set(c, "c.ns", "items", &one));
	CT_OK(mps_cond_notify(c, "c.cv", 1, &woken));
	ST_TRUE(woken == 1, "notify woke %lld", (long long)woken);
	CT_OK(mps_cond_release(c, "c.cv"));
	sync_rec r;
	ST_TRUE(sync_recv(&w, &r, 5000) == 0, "first consumer");
	uint64_t tokens[CV_WORKERS];
	tokens[0] = (uint64_t)r.a;
	/* the others are still waiting */
	n = sync_stat_wait(c, "waiters", CV_WORKERS - 1, 5000);
	ST_TRUE(n == CV_WORKERS - 1, "waiters after one notify %lld", n);
	/* the rest at once */
	CT_OK(mps_cond_acquire(c, "c.cv", 5000, NULL));
	mps_value rest = mps_int(CV_WORKERS - 1);
	CT_OK(mps_ns_set(c, "c.ns", "items", &rest));
	CT_OK(mps_cond_notify_all(c, "c.cv", &woken));
	ST_TRUE(woken == CV_WORKERS - 1, "notify_all woke %lld", (long long)woken);
	CT_OK(mps_cond_release(c, "c.cv"));
	for (int i = 1; i < CV_WORKERS; i++) {
		ST_TRUE(sync_recv(&w, &r, 10000) == 0, "consumer %d", i);
		tokens[i] = (uint64_t)r.a;
		for (int k = 0; k < i; k++)
			ST_TRUE(tokens[k] != tokens[i], "token %llu granted twice",
			    (unsigned long long)tokens[i]);
	}
	sync_wait_all(&w);
	mps_value left;
	CT_OK(mps_ns_get(c, "c.ns", "items", &left));
	ST_TRUE(left.type == MPS_INT && left.u.i == 0, "items left %lld", (long long)left.u.i);
	mps_close(c);
}

/* ---- array and namespace ---- */

static void
scenario_array_namespace(void)
{
	mps_client *c = sync_open();
	sync_create(c, "a.arr", MPS_KIND_ARRAY, MPS_TYPE_INT64, 5);
	int64_t len;
	CT_OK(mps_array_len(c, "a.arr", &len));
	ST_TRUE(len == 5, "len %lld", (long long)len);
	mps_value *vals;
	size_t     n;
	CT_OK(mps_array_slice(c, "a.arr", 0, 0, 0, &vals, &n));
	ST_TRUE(n == 5, "slice n %zu", n);
	for (size_t i = 0; i < n; i++)
		ST_TRUE(vals[i].type == MPS_INT && vals[i].u.i == 0, "a[%zu] not 0", i);
	mps_values_free(vals, n);
	for (int i = 0; i < 5; i++) {
		mps_value v = mps_int(i * 10);
		CT_OK(mps_array_set(c, "a.arr", i, &v));
	}
	CT_OK(mps_array_slice(c, "a.arr", 1, 3, 1, &vals, &n));
	ST_TRUE(n == 2 && vals[0].u.i == 10 && vals[1].u.i == 20, "slice [1:3]");
	mps_values_free(vals, n);
	mps_value v;
	CT_OK(mps_array_get(c, "a.arr", -1, &v));
	ST_TRUE(v.type == MPS_INT && v.u.i == 40, "a[-1] = %lld", (long long)v.u.i);
	mps_value s = mps_str("x");
	check_msg(mps_array_set(c, "a.arr", 0, &s), MPS_ERR_WRONG_TYPE, "array wrong type");
	check_msg(mps_array_set(c, "a.arr", 5, &v), MPS_ERR_INDEX, "array index 5");
	mps_value extra = mps_int(1);
	check_msg(mps_list_append(c, "a.arr", &extra, NULL), MPS_ERR_WRONG_KIND, "append to array");
	CT_OK(mps_array_len(c, "a.arr", &len));
	ST_TRUE(len == 5, "len after errors %lld", (long long)len);

	sync_create(c, "a.ns", MPS_KIND_NAMESPACE, MPS_TYPE_ANY, 0);
	mps_value x = mps_int(1), y = mps_str("two"), z = mps_double(3.5);
	CT_OK(mps_ns_set(c, "a.ns", "x", &x));
	CT_OK(mps_ns_set(c, "a.ns", "y", &y));
	CT_OK(mps_ns_set(c, "a.ns", "z", &z));
	CT_OK(mps_ns_get(c, "a.ns", "y", &v));
	ST_TRUE(v.type == MPS_STRING && strcmp(v.u.s.ptr, "two") == 0, "ns.y");
	mps_value_free(&v);
	CT_OK(mps_ns_del(c, "a.ns", "x"));
	check_msg(mps_ns_get(c, "a.ns", "x", &v), MPS_ERR_NO_KEY, "ns.x after del");
	mps_value *keys;
	CT_OK(mps_ns_items(c, "a.ns", &keys, &vals, &n));
	ST_TRUE(n == 2, "ns items %zu", n);
	mps_values_free(keys, n);
	mps_values_free(vals, n);
	mps_close(c);
}

int
main(void)
{
	sync_start(NULL);
	int fails = 0;
	int reps  = sync_soak() ? 10 : 1;
	for (int i = 0; i < reps; i++) {
		fails += sync_scenario("timeouts and non-blocking forms", scenario_timeouts, 60);
		fails += sync_scenario("wrong use: clear errors", scenario_wrong_use, 60);
		fails += sync_scenario("event between processes", scenario_event, 60);
		fails += sync_scenario("condition between processes", scenario_condition, 60);
		fails += sync_scenario("array and namespace", scenario_array_namespace, 60);
	}
	mpst_daemon_cleanup(&sync_d);
	return fails == 0 ? 0 : 1;
}
