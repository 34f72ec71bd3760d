/* k_sem_test.c - semaphore and bounded semaphore: units, waiting, holder death. */
#include "k_sync.h"
#include "k_sync_test.h"

#define SEM MPSTORE__KIND__KIND_SEMAPHORE
#define BSEM MPSTORE__KIND__KIND_BOUNDED_SEMAPHORE
#define ANY MPSTORE__ELEM_TYPE__TYPE_ANY

static int64_t sem_value(mpsd_store *st, const char *name)
{
	Mpstore__Result r;
	assert_int_equal(ks_do(st, OPC(SEM_VALUE), name, 0, 0, &r), 0);
	return r.count;
}

static void test_sem_basic(void **state)
{
	mpsd_store     *st = mpsd_store_alloc();
	Mpstore__Result r;
	uint64_t        t;

	ks_create(st, NULL, "S", SEM, ANY, 2);
	assert_int_equal(sem_value(st, "S"), 2);
	assert_int_equal(ks_do(st, OPC(SEM_ACQUIRE), "S", -1, 1, &r), 0);
	assert_true(r.flag);
	assert_int_equal(r.count, 1);
	t = r.token;
	assert_int_equal(ks_do(st, OPC(SEM_ACQUIRE), "S", 0, 1, &r), 0);
	assert_true(r.flag);
	assert_int_equal(r.count, 0);
	assert_true(r.token > t);
	assert_int_equal(ks_do(st, OPC(SEM_ACQUIRE), "S", 0, 2, &r), 0);
	assert_false(r.flag);
	assert_int_equal(ks_do(st, OPC(SEM_ACQUIRE), "S", 0, 0, NULL), ST(ERR_INVALID));
	/* a plain semaphore may be released past its initial value, by anyone */
	assert_int_equal(ks_do(st, OPC(SEM_RELEASE), "S", 0, 3, &r), 0);
	assert_int_equal(r.count, 1);
	mpsd_store_free(st);
}

static void test_sem_release_n(void **state)
{
	mpsd_store *st = mpsd_store_alloc();
	tu_call    *k = ks_call();

	ks_create(st, NULL, "S", SEM, ANY, 0);
	assert_int_equal(ks_runc(st, k, OPC(SEM_RELEASE), "S", 3, 0), 0);
	assert_int_equal(k->res.count, 3);
	assert_int_equal(ks_runc(st, k, OPC(SEM_RELEASE), "S", -2, 0), ST(ERR_INVALID));
	assert_int_equal(sem_value(st, "S"), 3);
	ks_free(k);
	mpsd_store_free(st);
}

static void test_bounded_over_release(void **state)
{
	mpsd_store *st = mpsd_store_alloc();
	tu_call    *k = ks_call();

	ks_create(st, NULL, "B", BSEM, ANY, 1);
	assert_int_equal(ks_run(st, k, OPC(SEM_RELEASE), "B", 0, 1), ST(ERR_INVALID));
	assert_non_null(strstr(k->res.error, "semaphore released too many times"));
	assert_int_equal(ks_do(st, OPC(SEM_ACQUIRE), "B", 0, 1, NULL), 0);
	assert_int_equal(sem_value(st, "B"), 0);
	assert_int_equal(ks_do(st, OPC(SEM_RELEASE), "B", 0, 1, NULL), 0);
	assert_int_equal(ks_do(st, OPC(SEM_RELEASE), "B", 0, 1, NULL), ST(ERR_INVALID));
	assert_int_equal(sem_value(st, "B"), 1);
	/* bad initial value */
	tu_call    *kc = ks_call();
	Mpstore__Op cr = tu_op(MPSTORE__OP_CODE__OP_CREATE, "bad");
	cr.kind = BSEM;
	cr.count = -1;
	assert_int_equal(tu_exec(st, kc, &cr, 0), ST(ERR_INVALID));
	ks_free(kc);
	ks_free(k);
	mpsd_store_free(st);
}

/* Waiters in arrival order; a release of n units serves n of them; a
 * timeout fails with ERR_TIMEOUT. */
static void test_sem_waiting(void **state)
{
	mpsd_store *st = mpsd_store_alloc();
	tu_call    *w[4], *t = ks_call(), *k = ks_call();

	ks_create(st, NULL, "S", SEM, ANY, 0);
	for (int i = 0; i < 4; i++) {
		w[i] = ks_call();
		assert_int_equal(ks_run(st, w[i], OPC(SEM_ACQUIRE), "S", -1, 10 + i), MPSD_PARK);
	}
	assert_int_equal(ks_run(st, t, OPC(SEM_ACQUIRE), "S", 100, 20), MPSD_PARK);
	ks_expire_in(st, 1000);
	assert_true(t->done);
	assert_int_equal(t->rv, ST(ERR_TIMEOUT));
	assert_int_equal(ks_runc(st, k, OPC(SEM_RELEASE), "S", 2, 1), 0);
	tu_wake(st);
	assert_true(w[0]->done && w[1]->done);
	assert_false(w[2]->done || w[3]->done);
	assert_true(w[1]->res.token > w[0]->res.token);
	assert_int_equal(sem_value(st, "S"), 0);
	assert_int_equal(ks_runc(st, k, OPC(SEM_RELEASE), "S", 1, 1), 0);
	tu_wake(st);
	assert_true(w[2]->done);
	assert_false(w[3]->done);
	for (int i = 0; i < 4; i++)
		ks_free(w[i]);
	ks_free(t);
	ks_free(k);
	mpsd_store_free(st);
}

/* A dead session's units come back and wake the waiters. */
static void test_sem_holder_death(void **state)
{
	mpsd_store *st = mpsd_store_alloc();
	tu_call    *a = ks_call(), *b = ks_call(), *c = ks_call();

	ks_create(st, NULL, "S", BSEM, ANY, 3);
	assert_int_equal(ks_do(st, OPC(SEM_ACQUIRE), "S", -1, 1, NULL), 0);
	assert_int_equal(ks_do(st, OPC(SEM_ACQUIRE), "S", -1, 1, NULL), 0);
	assert_int_equal(ks_do(st, OPC(SEM_ACQUIRE), "S", -1, 2, NULL), 0);
	assert_int_equal(ks_run(st, a, OPC(SEM_ACQUIRE), "S", -1, 3), MPSD_PARK);
	assert_int_equal(ks_run(st, b, OPC(SEM_ACQUIRE), "S", -1, 4), MPSD_PARK);
	assert_int_equal(ks_run(st, c, OPC(SEM_ACQUIRE), "S", -1, 5), MPSD_PARK);
	ks_gone(st, 1); /* holds 2 */
	assert_true(a->done && b->done);
	assert_int_equal(a->rv, 0);
	assert_false(c->done);
	assert_int_equal(sem_value(st, "S"), 0);
	/* session 2 releases a unit it holds, then dies holding none */
	assert_int_equal(ks_do(st, OPC(SEM_RELEASE), "S", 0, 2, NULL), 0);
	tu_wake(st);
	assert_true(c->done);
	ks_gone(st, 2);
	assert_int_equal(sem_value(st, "S"), 0);
	/* session 3 holds 1; session 6 (holding none) releases for it: the
	 * bounded semaphore never goes past its initial value */
	ks_gone(st, 4);
	ks_gone(st, 5);
	assert_int_equal(sem_value(st, "S"), 2);
	assert_int_equal(ks_do(st, OPC(SEM_RELEASE), "S", 0, 6, NULL), 0);
	assert_int_equal(sem_value(st, "S"), 3);
	ks_gone(st, 3);
	assert_int_equal(sem_value(st, "S"), 3);
	ks_free(a);
	ks_free(b);
	ks_free(c);
	mpsd_store_free(st);
}

/* Operators see each holding session's units and latest token (OP_HOLDERS). */
static void test_sem_holders(void **state)
{
	mpsd_store     *st = mpsd_store_alloc();
	Mpstore__Result r;
	ks_holders      h;

	ks_create(st, NULL, "S", SEM, ANY, 3);
	assert_int_equal(ks_holders_of(st, "S", &h), 0);
	assert_int_equal(ks_do(st, OPC(SEM_ACQUIRE), "S", -1, 1, NULL), 0);
	assert_int_equal(ks_do(st, OPC(SEM_ACQUIRE), "S", -1, 2, NULL), 0);
	assert_int_equal(ks_do(st, OPC(SEM_ACQUIRE), "S", -1, 1, &r), 0);
	assert_int_equal(ks_holders_of(st, "S", &h), 2);
	int one = h.h[0].session == 1 ? 0 : 1;
	assert_int_equal(h.h[one].session, 1);
	assert_int_equal(h.h[one].count, 2);
	assert_int_equal(h.h[one].token, r.token);
	assert_true(h.h[one].since_ms > 0 && h.h[one].since_ms <= mpsd_now_ms());
	assert_int_equal(h.h[1 - one].session, 2);
	assert_int_equal(h.h[1 - one].count, 1);
	ks_gone(st, 1);
	assert_int_equal(ks_holders_of(st, "S", &h), 1);
	assert_int_equal(h.h[0].session, 2);
	mpsd_store_free(st);
}

/* After recovery the units held by sessions are free again. */
static void test_sem_recovery(void **state)
{
	mpsd_store *st = mpsd_store_alloc(), *st2, *st3;
	ks_log      log = {0};

	ks_create(st, &log, "S", SEM, ANY, 5);
	for (int i = 0; i < 3; i++) {
		tu_call *k = ks_call();
		assert_int_equal(ks_run(st, k, OPC(SEM_ACQUIRE), "S", 0, 1 + i), 0);
		ks_log_call(&log, k);
		ks_free(k);
	}
	tu_call *k = ks_call();
	assert_int_equal(ks_runc(st, k, OPC(SEM_RELEASE), "S", 4, 9), 0); /* value 2 + 4 */
	ks_log_call(&log, k);
	ks_free(k);
	assert_int_equal(sem_value(st, "S"), 6);
	st2 = mpsd_store_alloc();
	ks_log_replay(&log, st2);
	assert_int_equal(sem_value(st2, "S"), 9);
	/* a dump applied by the same run keeps who holds what */
	st3 = ks_dump_copy(st, "S");
	assert_int_equal(sem_value(st3, "S"), 6);
	assert_int_equal(mpsd_store_find(st3, "S")->capacity, 5);
	ks_gone(st3, 2);
	assert_int_equal(sem_value(st3, "S"), 7);
	mpsd_store_free(st3);
	/* ... one made before a restart gives every held unit back */
	ks_log dl = {0};
	ks_dump(st, "S", &dl);
	mpsd_sync_new_run(); /* the daemon restarts */
	st3 = ks_log_copy(&dl);
	ks_log_free(&dl);
	assert_int_equal(sem_value(st3, "S"), 9);
	ks_log_free(&log);
	mpsd_store_free(st);
	mpsd_store_free(st2);
	mpsd_store_free(st3);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sem_basic),
		cmocka_unit_test(test_sem_release_n),
		cmocka_unit_test(test_bounded_over_release),
		cmocka_unit_test(test_sem_waiting),
		cmocka_unit_test(test_sem_holder_death),
		cmocka_unit_test(test_sem_recovery),
		cmocka_unit_test(test_sem_holders),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
