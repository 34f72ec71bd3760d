/* k_cond_test.c - condition: its lock, wait/notify(n)/notify_all, re-acquire, death. */
#include "k_sync.h"
#include "k_sync_test.h"

#define COND MPSTORE__KIND__KIND_CONDITION
#define ANY MPSTORE__ELEM_TYPE__TYPE_ANY

static void acquire(mpsd_store *st, uint64_t sid)
{
	Mpstore__Result r;
	assert_int_equal(ks_do(st, OPC(LOCK_ACQUIRE), "C", 0, sid, &r), 0);
	assert_true(r.flag);
}

static void release(mpsd_store *st, uint64_t sid)
{
	assert_int_equal(ks_do(st, OPC(LOCK_RELEASE), "C", 0, sid, NULL), 0);
}

static int locked(mpsd_store *st)
{
	Mpstore__Result r;
	assert_int_equal(ks_do(st, OPC(LOCK_LOCKED), "C", 0, 0, &r), 0);
	return r.flag;
}

/* acquire, then wait (parked) as sid */
static tu_call *waiter(mpsd_store *st, uint64_t sid, int64_t timeout)
{
	tu_call *k = ks_call();
	acquire(st, sid);
	assert_int_equal(ks_run(st, k, OPC(COND_WAIT), "C", timeout, sid), MPSD_PARK);
	return k;
}

static void test_cond_not_owner(void **state)
{
	mpsd_store     *st = mpsd_store_alloc();
	Mpstore__Result r;

	ks_create(st, NULL, "C", COND, ANY, 0);
	assert_int_equal(ks_do(st, OPC(COND_WAIT), "C", -1, 1, NULL), ST(ERR_NOT_OWNER));
	assert_int_equal(ks_do(st, OPC(COND_NOTIFY), "C", 0, 1, NULL), ST(ERR_NOT_OWNER));
	assert_int_equal(ks_do(st, OPC(COND_NOTIFY_ALL), "C", 0, 1, NULL), ST(ERR_NOT_OWNER));
	acquire(st, 2);
	assert_int_equal(ks_do(st, OPC(COND_WAIT), "C", -1, 1, NULL), ST(ERR_NOT_OWNER));
	assert_int_equal(ks_do(st, OPC(COND_NOTIFY), "C", 0, 1, NULL), ST(ERR_NOT_OWNER));
	assert_int_equal(ks_do(st, OPC(LOCK_RELEASE), "C", 0, 1, NULL), ST(ERR_NOT_OWNER));
	/* a wait that cannot wait keeps the lock and says false */
	assert_int_equal(ks_do(st, OPC(COND_WAIT), "C", 0, 2, &r), 0);
	assert_false(r.flag);
	assert_true(locked(st));
	/* re-entrant, like Python's default Condition(RLock) */
	assert_int_equal(ks_do(st, OPC(LOCK_ACQUIRE), "C", 0, 2, &r), 0);
	assert_int_equal(r.count, 2);
	assert_int_equal(ks_do(st, OPC(COND_NOTIFY), "C", 0, 2, &r), 0);
	assert_int_equal(r.count, 0);
	mpsd_store_free(st);
}

static void test_cond_wait_notify(void **state)
{
	mpsd_store     *st = mpsd_store_alloc();
	tu_call        *w;
	Mpstore__Result r;
	uint64_t        t0;

	ks_create(st, NULL, "C", COND, ANY, 0);
	assert_int_equal(ks_do(st, OPC(LOCK_ACQUIRE), "C", 0, 1, &r), 0);
	assert_int_equal(ks_do(st, OPC(LOCK_ACQUIRE), "C", 0, 1, &r), 0); /* depth 2 */
	t0 = r.token;
	w = ks_call();
	assert_int_equal(ks_run(st, w, OPC(COND_WAIT), "C", -1, 1), MPSD_PARK);
	assert_false(locked(st)); /* released entirely while waiting */
	acquire(st, 2);
	tu_wake(st);
	assert_false(w->done);
	assert_int_equal(ks_do(st, OPC(COND_NOTIFY), "C", 0, 2, &r), 0);
	assert_int_equal(r.count, 1);
	tu_wake(st);
	assert_false(w->done); /* notified, but the lock is held */
	release(st, 2);
	tu_wake(st);
	assert_true(w->done);
	assert_int_equal(w->rv, 0);
	assert_true(w->res.flag);
	assert_int_equal(w->res.count, 2); /* depth restored */
	assert_true(w->res.token > t0);
	release(st, 1);
	assert_true(locked(st));
	release(st, 1);
	assert_false(locked(st));
	ks_free(w);
	mpsd_store_free(st);
}

/* notify(n) takes the n oldest waits; notify_all the rest. */
static void test_cond_notify_n(void **state)
{
	mpsd_store     *st = mpsd_store_alloc();
	tu_call        *w[4];
	Mpstore__Result r;
	tu_call        *k = ks_call();

	ks_create(st, NULL, "C", COND, ANY, 0);
	for (int i = 0; i < 4; i++)
		w[i] = waiter(st, 1 + i, -1);
	acquire(st, 9);
	assert_int_equal(ks_runc(st, k, OPC(COND_NOTIFY), "C", 2, 9), 0);
	assert_int_equal(k->res.count, 2);
	assert_int_equal(ks_runc(st, k, OPC(COND_NOTIFY), "C", -1, 9), ST(ERR_INVALID));
	release(st, 9);
	tu_wake(st);
	assert_true(w[0]->done);
	assert_false(w[1]->done || w[2]->done || w[3]->done);
	release(st, 1);
	tu_wake(st);
	assert_true(w[1]->done);
	assert_false(w[2]->done || w[3]->done);
	release(st, 2);
	tu_wake(st);
	assert_false(w[2]->done || w[3]->done); /* not notified */
	acquire(st, 9);
	assert_int_equal(ks_do(st, OPC(COND_NOTIFY_ALL), "C", 0, 9, &r), 0);
	assert_int_equal(r.count, 2);
	assert_int_equal(ks_do(st, OPC(COND_NOTIFY_ALL), "C", 0, 9, &r), 0);
	assert_int_equal(r.count, 0);
	release(st, 9);
	tu_wake(st);
	assert_true(w[2]->done);
	assert_true(w[2]->res.flag);
	release(st, 3);
	tu_wake(st);
	assert_true(w[3]->done);
	release(st, 4);
	assert_false(locked(st));
	for (int i = 0; i < 4; i++)
		ks_free(w[i]);
	ks_free(k);
	mpsd_store_free(st);
}

/* A timed-out wait answers false, but only once it has the lock back. */
static void test_cond_timeout(void **state)
{
	mpsd_store *st = mpsd_store_alloc();
	tu_call    *w;

	ks_create(st, NULL, "C", COND, ANY, 0);
	w = waiter(st, 1, 100);
	acquire(st, 2);
	ks_expire_in(st, 1000);
	assert_false(w->done);
	release(st, 2);
	tu_wake(st);
	assert_true(w->done);
	assert_int_equal(w->rv, 0);
	assert_false(w->res.flag);
	assert_true(locked(st));
	release(st, 1);
	ks_free(w);
	mpsd_store_free(st);
}

/* The holder dies: its lock is released and a notified wait re-acquires;
 * a dead waiter is forgotten. */
static void test_cond_session_gone(void **state)
{
	mpsd_store     *st = mpsd_store_alloc();
	tu_call        *a, *b;
	Mpstore__Result r;

	ks_create(st, NULL, "C", COND, ANY, 0);
	a = waiter(st, 1, -1);
	b = waiter(st, 2, -1);
	ks_gone(st, 1);
	assert_int_equal(a->done, 2);
	acquire(st, 3);
	assert_int_equal(ks_do(st, OPC(COND_NOTIFY), "C", 0, 3, &r), 0);
	assert_int_equal(r.count, 1); /* only b is left */
	ks_gone(st, 3);
	assert_true(b->done);
	assert_true(b->res.flag);
	assert_true(locked(st));
	ks_gone(st, 2);
	assert_false(locked(st));
	ks_free(a);
	ks_free(b);
	mpsd_store_free(st);
}

static void test_cond_recovery(void **state)
{
	mpsd_store     *st = mpsd_store_alloc(), *st2, *st3;
	ks_log          log = {0};
	tu_call        *k = ks_call();
	Mpstore__Result r;

	ks_create(st, &log, "C", COND, ANY, 0);
	assert_int_equal(ks_run(st, k, OPC(LOCK_ACQUIRE), "C", 0, 1), 0);
	ks_log_call(&log, k);
	st2 = mpsd_store_alloc();
	ks_log_replay(&log, st2);
	assert_false(locked(st2));
	st3 = ks_dump_copy(st, "C");
	assert_true(locked(st3)); /* same run: still held */
	mpsd_store_free(st3);
	ks_log dl = {0};
	ks_dump(st, "C", &dl);
	mpsd_sync_new_run(); /* the daemon restarts */
	st3 = ks_log_copy(&dl);
	ks_log_free(&dl);
	assert_false(locked(st3));
	assert_int_equal(ks_do(st3, OPC(LOCK_ACQUIRE), "C", 0, 2, &r), 0);
	assert_true(r.flag);
	ks_free(k);
	ks_log_free(&log);
	mpsd_store_free(st);
	mpsd_store_free(st2);
	mpsd_store_free(st3);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cond_not_owner),
		cmocka_unit_test(test_cond_wait_notify),
		cmocka_unit_test(test_cond_notify_n),
		cmocka_unit_test(test_cond_timeout),
		cmocka_unit_test(test_cond_session_gone),
		cmocka_unit_test(test_cond_recovery),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
