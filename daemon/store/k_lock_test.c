/* k_lock_test.c - lock and rlock: ownership, waiting, fencing, holder death. */
#include "k_sync.h"
#include "k_sync_test.h"

#define LOCK MPSTORE__KIND__KIND_LOCK
#define RLOCK MPSTORE__KIND__KIND_RLOCK
#define ANY MPSTORE__ELEM_TYPE__TYPE_ANY

static void test_lock_basic(void **state)
{
	mpsd_store     *st = mpsd_store_alloc();
	Mpstore__Result r;
	uint64_t        t1;

	ks_create(st, NULL, "L", LOCK, ANY, 0);
	assert_int_equal(ks_do(st, OPC(LOCK_LOCKED), "L", 0, 1, &r), 0);
	assert_false(r.flag);
	assert_int_equal(ks_do(st, OPC(LOCK_ACQUIRE), "L", -1, 1, &r), 0);
	assert_true(r.flag);
	assert_int_equal(r.count, 1);
	t1 = r.token;
	assert_true(t1 > 0);
	assert_int_equal(ks_do(st, OPC(LOCK_LOCKED), "L", 0, 2, &r), 0);
	assert_true(r.flag);
	assert_int_equal(r.token, t1);
	/* Python would deadlock here */
	assert_int_equal(ks_do(st, OPC(LOCK_ACQUIRE), "L", -1, 1, NULL), ST(ERR_INVALID));
	/* non-blocking acquire of a held lock: OK, flag false, never parks */
	assert_int_equal(ks_do(st, OPC(LOCK_ACQUIRE), "L", 0, 2, &r), 0);
	assert_false(r.flag);
	assert_int_equal(ks_do(st, OPC(LOCK_RELEASE), "L", 0, 2, NULL), ST(ERR_NOT_OWNER));
	assert_int_equal(ks_do(st, OPC(LOCK_RELEASE), "L", 0, 0, NULL), ST(ERR_NOT_OWNER));
	assert_int_equal(ks_do(st, OPC(LOCK_RELEASE), "L", 0, 1, &r), 0);
	assert_int_equal(r.count, 0);
	assert_int_equal(ks_do(st, OPC(LOCK_RELEASE), "L", 0, 1, NULL), ST(ERR_NOT_OWNER));
	assert_int_equal(ks_do(st, OPC(LOCK_ACQUIRE), "L", -1, 0, NULL), ST(ERR_INVALID));
	assert_int_equal(ks_do(st, OPC(LOCK_ACQUIRE), "L", 0, 2, &r), 0);
	assert_true(r.flag);
	assert_true(r.token > t1);
	assert_int_equal(ks_do(st, OPC(SEM_ACQUIRE), "L", 0, 2, NULL), ST(ERR_WRONG_KIND));
	assert_int_equal(mpsd_store_nwaiters(st), 0);
	mpsd_store_free(st);
}

/* Waiters are granted in arrival order, each with a larger token. */
static void test_lock_fifo_tokens(void **state)
{
	mpsd_store     *st = mpsd_store_alloc();
	Mpstore__Result r;
	tu_call        *w[5];
	uint64_t        last;

	ks_create(st, NULL, "L", LOCK, ANY, 0);
	assert_int_equal(ks_do(st, OPC(LOCK_ACQUIRE), "L", -1, 100, &r), 0);
	last = r.token;
	for (int i = 0; i < 5; i++) {
		w[i] = ks_call();
		assert_int_equal(ks_run(st, w[i], OPC(LOCK_ACQUIRE), "L", -1, 1 + i), MPSD_PARK);
	}
	assert_int_equal(mpsd_store_nwaiters(st), 5);
	tu_wake(st); /* nothing changed: all still wait */
	for (int i = 0; i < 5; i++)
		assert_false(w[i]->done);
	assert_int_equal(ks_do(st, OPC(LOCK_RELEASE), "L", 0, 100, NULL), 0);
	for (int i = 0; i < 5; i++) {
		tu_wake(st);
		assert_true(w[i]->done);
		assert_int_equal(w[i]->rv, 0);
		assert_true(w[i]->res.flag);
		assert_true(w[i]->res.token > last);
		last = w[i]->res.token;
		for (int j = i + 1; j < 5; j++)
			assert_false(w[j]->done);
		assert_int_equal(ks_do(st, OPC(LOCK_LOCKED), "L", 0, 0, &r), 0);
		assert_int_equal(r.token, last);
		assert_int_equal(ks_do(st, OPC(LOCK_RELEASE), "L", 0, 1 + i, NULL), 0);
	}
	tu_wake(st);
	for (int i = 0; i < 5; i++)
		ks_free(w[i]);
	assert_int_equal(mpsd_store_nwaiters(st), 0);
	mpsd_store_free(st);
}

static void test_lock_timeout(void **state)
{
	mpsd_store *st = mpsd_store_alloc();
	tu_call    *a = ks_call(), *b = ks_call();

	ks_create(st, NULL, "L", LOCK, ANY, 0);
	assert_int_equal(ks_do(st, OPC(LOCK_ACQUIRE), "L", -1, 1, NULL), 0);
	assert_int_equal(ks_run(st, a, OPC(LOCK_ACQUIRE), "L", 100, 2), MPSD_PARK);
	assert_int_equal(ks_run(st, b, OPC(LOCK_ACQUIRE), "L", 100000, 3), MPSD_PARK);
	ks_expire_in(st, 10);
	assert_false(a->done);
	ks_expire_in(st, 1000);
	assert_true(a->done);
	assert_int_equal(a->rv, ST(ERR_TIMEOUT));
	assert_false(b->done);
	/* the remaining waiter still gets the lock */
	assert_int_equal(ks_do(st, OPC(LOCK_RELEASE), "L", 0, 1, NULL), 0);
	tu_wake(st);
	assert_true(b->done);
	assert_int_equal(b->rv, 0);
	assert_true(b->res.flag);
	ks_free(a);
	ks_free(b);
	mpsd_store_free(st);
}

/* The holder's session dies: the lock is released and the next waiter
 * gets it; a dead waiter is forgotten. */
static void test_lock_holder_death(void **state)
{
	mpsd_store     *st = mpsd_store_alloc();
	tu_call        *a = ks_call(), *b = ks_call(), *c = ks_call();
	Mpstore__Result r;
	uint64_t        t1;

	ks_create(st, NULL, "L", RLOCK, ANY, 0);
	assert_int_equal(ks_do(st, OPC(LOCK_ACQUIRE), "L", -1, 1, &r), 0);
	assert_int_equal(ks_do(st, OPC(LOCK_ACQUIRE), "L", -1, 1, &r), 0);
	assert_int_equal(r.count, 2);
	t1 = r.token;
	assert_int_equal(ks_run(st, a, OPC(LOCK_ACQUIRE), "L", -1, 2), MPSD_PARK);
	assert_int_equal(ks_run(st, b, OPC(LOCK_ACQUIRE), "L", -1, 3), MPSD_PARK);
	assert_int_equal(ks_run(st, c, OPC(LOCK_ACQUIRE), "L", -1, 4), MPSD_PARK);
	ks_gone(st, 2); /* a waiter dies: forgotten */
	assert_int_equal(a->done, 2);
	assert_false(b->done);
	ks_gone(st, 1); /* the holder dies, depth 2 */
	assert_true(b->done);
	assert_int_equal(b->rv, 0);
	assert_int_equal(b->res.count, 1);
	assert_true(b->res.token > t1);
	assert_false(c->done);
	ks_gone(st, 3);
	assert_true(c->done);
	assert_true(c->res.token > b->res.token);
	ks_gone(st, 99); /* holds nothing */
	assert_int_equal(ks_do(st, OPC(LOCK_LOCKED), "L", 0, 0, &r), 0);
	assert_true(r.flag);
	assert_int_equal(r.token, c->res.token);
	ks_free(a);
	ks_free(b);
	ks_free(c);
	mpsd_store_free(st);
}

static void test_rlock_depth(void **state)
{
	mpsd_store     *st = mpsd_store_alloc();
	Mpstore__Result r;
	uint64_t        t;

	ks_create(st, NULL, "R", RLOCK, ANY, 0);
	assert_int_equal(ks_do(st, OPC(LOCK_ACQUIRE), "R", -1, 1, &r), 0);
	t = r.token;
	for (int i = 2; i <= 3; i++) {
		assert_int_equal(ks_do(st, OPC(LOCK_ACQUIRE), "R", 0, 1, &r), 0);
		assert_true(r.flag);
		assert_int_equal(r.count, i);
		assert_int_equal(r.token, t); /* re-entry is the same grant */
	}
	assert_int_equal(ks_do(st, OPC(LOCK_LOCKED), "R", 0, 2, &r), 0);
	assert_int_equal(r.count, 3);
	assert_int_equal(ks_do(st, OPC(LOCK_ACQUIRE), "R", 0, 2, &r), 0);
	assert_false(r.flag);
	assert_int_equal(ks_do(st, OPC(LOCK_RELEASE), "R", 0, 2, NULL), ST(ERR_NOT_OWNER));
	for (int i = 2; i >= 0; i--) {
		assert_int_equal(ks_do(st, OPC(LOCK_RELEASE), "R", 0, 1, &r), 0);
		assert_int_equal(r.count, i);
	}
	assert_int_equal(ks_do(st, OPC(LOCK_RELEASE), "R", 0, 1, NULL), ST(ERR_NOT_OWNER));
	assert_int_equal(ks_do(st, OPC(LOCK_ACQUIRE), "R", 0, 2, &r), 0);
	assert_true(r.flag);
	assert_int_equal(r.count, 1);
	assert_true(r.token > t);
	mpsd_store_free(st);
}

/* Operators see who holds (session, depth, token, since when) and who
 * waits, since when and until when (OP_HOLDERS). */
static void test_lock_holders(void **state)
{
	mpsd_store     *st = mpsd_store_alloc();
	Mpstore__Result r;
	ks_holders      h;
	tu_call        *w = ks_call();

	for (int kind = 0; kind < 2; kind++) {
		const char *name = kind ? "C" : "R";
		ks_create(st, NULL, name, kind ? MPSTORE__KIND__KIND_CONDITION : RLOCK, ANY, 0);
		assert_int_equal(ks_holders_of(st, name, &h), 0);
		int64_t before = mpsd_now_ms();
		assert_int_equal(ks_do(st, OPC(LOCK_ACQUIRE), name, -1, 7, &r), 0);
		int64_t after = mpsd_now_ms();
		assert_int_equal(ks_do(st, OPC(LOCK_ACQUIRE), name, -1, 7, NULL), 0);
		assert_int_equal(ks_holders_of(st, name, &h), 1);
		assert_int_equal(h.h[0].session, 7);
		assert_int_equal(h.h[0].count, 2);
		assert_int_equal(h.h[0].token, r.token);
		assert_true(h.h[0].since_ms >= before && h.h[0].since_ms <= after);
		/* a waiter: its op, since when, and its deadline */
		before = mpsd_now_ms();
		assert_int_equal(ks_run(st, w, OPC(LOCK_ACQUIRE), name, 5000, 8), MPSD_PARK);
		after = mpsd_now_ms();
		mpsd_waiter *wt = mpsd_waiter_first(mpsd_store_find(st, name));
		assert_non_null(wt);
		assert_int_equal(mpsd_waiter_session(wt), 8);
		assert_true(mpsd_waiter_since(wt) >= before && mpsd_waiter_since(wt) <= after);
		assert_int_equal(mpsd_waiter_deadline(wt), mpsd_waiter_since(wt) + 5000);
		assert_null(mpsd_waiter_next(wt));
		ks_gone(st, 7); /* the waiter gets it */
		assert_true(w->done);
		assert_int_equal(ks_holders_of(st, name, &h), 1);
		assert_int_equal(h.h[0].session, 8);
		assert_int_equal(h.h[0].count, 1);
		assert_true(h.h[0].token > r.token);
		ks_gone(st, 8);
		assert_int_equal(ks_holders_of(st, name, &h), 0);
		ks_free(w);
		w = ks_call();
	}
	ks_free(w);
	mpsd_store_free(st);
}

/* Recovery (log replay or snapshot): the state decodes, and the lock is
 * free because no session survives a restart. */
static void test_lock_recovery(void **state)
{
	mpsd_store     *st = mpsd_store_alloc(), *st2, *st3;
	ks_log          log = {0};
	Mpstore__Result r;

	ks_create(st, &log, "R", RLOCK, ANY, 0);
	for (int i = 0; i < 2; i++) {
		tu_call *k = ks_call();
		assert_int_equal(ks_run(st, k, OPC(LOCK_ACQUIRE), "R", -1, 7), 0);
		ks_log_call(&log, k);
		ks_free(k);
	}
	st2 = mpsd_store_alloc();
	ks_log_replay(&log, st2);
	assert_int_equal(ks_do(st2, OPC(LOCK_LOCKED), "R", 0, 0, &r), 0);
	assert_false(r.flag);
	assert_int_equal(ks_do(st2, OPC(LOCK_ACQUIRE), "R", 0, 8, &r), 0);
	assert_true(r.flag);
	/* a dump applied by the same run (txn rollback) keeps the holder */
	st3 = ks_dump_copy(st, "R");
	assert_int_equal(ks_do(st3, OPC(LOCK_LOCKED), "R", 0, 0, &r), 0);
	assert_true(r.flag);
	assert_int_equal(r.count, 2);
	assert_int_equal(mpsd_store_find(st3, "R")->k->kind, RLOCK);
	assert_int_equal(ks_do(st3, OPC(LOCK_RELEASE), "R", 0, 7, &r), 0);
	assert_int_equal(r.count, 1);
	ks_gone(st3, 7);
	assert_int_equal(ks_do(st3, OPC(LOCK_LOCKED), "R", 0, 0, &r), 0);
	assert_false(r.flag);
	mpsd_store_free(st3);
	/* ... one made before a restart does not */
	ks_log dl = {0};
	ks_dump(st, "R", &dl);
	mpsd_sync_new_run(); /* the daemon restarts */
	st3 = ks_log_copy(&dl);
	ks_log_free(&dl);
	assert_int_equal(ks_do(st3, OPC(LOCK_LOCKED), "R", 0, 0, &r), 0);
	assert_false(r.flag);
	ks_log_free(&log);
	mpsd_store_free(st);
	mpsd_store_free(st2);
	mpsd_store_free(st3);
}

/* Release by fencing token from another session (or none): only the grant
 * with that token, all its depth; the next waiter is granted. */
static void test_lock_release_token(void **state)
{
	mpsd_store     *st = mpsd_store_alloc();
	Mpstore__Result r;
	tu_call        *w = ks_call(), *k = ks_call();
	uint64_t        t1;

	ks_create(st, NULL, "R", RLOCK, ANY, 0);
	assert_int_equal(ks_runc(st, k, OPC(LOCK_RELEASE_TOKEN), "R", 1, 9), ST(ERR_NOT_OWNER));
	ks_free(k);
	assert_int_equal(ks_do(st, OPC(LOCK_ACQUIRE), "R", -1, 1, &r), 0);
	t1 = r.token;
	assert_int_equal(ks_do(st, OPC(LOCK_ACQUIRE), "R", -1, 1, &r), 0);
	assert_int_equal(r.count, 2);
	assert_int_equal(ks_run(st, w, OPC(LOCK_ACQUIRE), "R", -1, 2), MPSD_PARK);
	/* a wrong token, and no token, release nothing */
	k = ks_call();
	assert_int_equal(ks_runc(st, k, OPC(LOCK_RELEASE_TOKEN), "R", (int64_t)t1 + 1, 3),
	    ST(ERR_NOT_OWNER));
	ks_free(k);
	k = ks_call();
	assert_int_equal(ks_runc(st, k, OPC(LOCK_RELEASE_TOKEN), "R", 0, 3), ST(ERR_NOT_OWNER));
	ks_free(k);
	/* the right token, from a session that does not hold it (even none) */
	k = ks_call();
	assert_int_equal(ks_runc(st, k, OPC(LOCK_RELEASE_TOKEN), "R", (int64_t)t1, 0), 0);
	ks_free(k);
	tu_wake(st);
	/* the waiter got it, under a new token the old one cannot release */
	assert_true(w->done);
	assert_true(w->res.flag);
	assert_true(w->res.token > t1);
	k = ks_call();
	assert_int_equal(ks_runc(st, k, OPC(LOCK_RELEASE_TOKEN), "R", (int64_t)t1, 3), ST(ERR_NOT_OWNER));
	ks_free(k);
	assert_int_equal(ks_do(st, OPC(LOCK_LOCKED), "R", 0, 3, &r), 0);
	assert_true(r.flag);
	assert_int_equal(r.count, 1);
	/* the former holder no longer holds it */
	assert_int_equal(ks_do(st, OPC(LOCK_RELEASE), "R", 0, 1, NULL), ST(ERR_NOT_OWNER));
	ks_free(w);
	/* not for semaphores */
	ks_create(st, NULL, "S", MPSTORE__KIND__KIND_SEMAPHORE, ANY, 1);
	k = ks_call();
	assert_int_equal(ks_runc(st, k, OPC(LOCK_RELEASE_TOKEN), "S", 1, 1), ST(ERR_WRONG_KIND));
	ks_free(k);
	mpsd_store_free(st);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lock_basic),
		cmocka_unit_test(test_lock_release_token),
		cmocka_unit_test(test_lock_fifo_tokens),
		cmocka_unit_test(test_lock_timeout),
		cmocka_unit_test(test_lock_holder_death),
		cmocka_unit_test(test_rlock_depth),
		cmocka_unit_test(test_lock_holders),
		cmocka_unit_test(test_lock_recovery),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
