/* k_barrier_test.c - barrier: release and indexes, abort/reset/broken, timeouts, death. */
#include "k_sync_test.h"

#define BARRIER MPSTORE__KIND__KIND_BARRIER
#define ANY MPSTORE__ELEM_TYPE__TYPE_ANY

static Mpstore__Result info(mpsd_store *st)
{
	Mpstore__Result r;
	assert_int_equal(ks_do(st, OPC(BARRIER_INFO), "B", 0, 0, &r), 0);
	return r;
}

static void test_barrier_release(void **state)
{
	mpsd_store     *st = mpsd_store_alloc();
	tu_call        *w[2];
	Mpstore__Result r;

	ks_create(st, NULL, "B", BARRIER, ANY, 3);
	tu_call *k = ks_call();
	assert_int_equal(ks_run(st, k, OPC(BARRIER_INFO), "B", 0, 0), 0);
	assert_int_equal(k->res.info->capacity, 3);
	ks_free(k);
	for (int gen = 0; gen < 2; gen++) {
		for (int i = 0; i < 2; i++) {
			w[i] = ks_call();
			assert_int_equal(ks_run(st, w[i], OPC(BARRIER_WAIT), "B", -1, 1 + i), MPSD_PARK);
			assert_int_equal(info(st).count, i + 1);
		}
		tu_wake(st);
		assert_false(w[0]->done || w[1]->done);
		assert_int_equal(ks_do(st, OPC(BARRIER_WAIT), "B", -1, 3, &r), 0);
		assert_int_equal(r.count, 2); /* the last arrival */
		tu_wake(st);
		for (int i = 0; i < 2; i++) {
			assert_true(w[i]->done);
			assert_int_equal(w[i]->rv, 0);
			assert_int_equal(w[i]->res.count, i); /* the first arrival gets 0 */
			ks_free(w[i]);
		}
		assert_int_equal(info(st).count, 0);
		assert_false(info(st).flag);
	}
	/* one party: never waits */
	ks_create(st, NULL, "one", BARRIER, ANY, 1);
	assert_int_equal(ks_do(st, OPC(BARRIER_WAIT), "one", 0, 1, &r), 0);
	assert_int_equal(r.count, 0);
	tu_call    *kc = ks_call();
	Mpstore__Op cr = tu_op(MPSTORE__OP_CODE__OP_CREATE, "zero");
	cr.kind = BARRIER;
	assert_int_equal(tu_exec(st, kc, &cr, 0), ST(ERR_INVALID));
	ks_free(kc);
	mpsd_store_free(st);
}

static void test_barrier_abort_reset(void **state)
{
	mpsd_store *st = mpsd_store_alloc();
	tu_call    *a = ks_call(), *b = ks_call();

	ks_create(st, NULL, "B", BARRIER, ANY, 3);
	assert_int_equal(ks_run(st, a, OPC(BARRIER_WAIT), "B", -1, 1), MPSD_PARK);
	assert_int_equal(ks_do(st, OPC(BARRIER_ABORT), "B", 0, 2, NULL), 0);
	tu_wake(st);
	assert_true(a->done);
	assert_int_equal(a->rv, ST(ERR_BROKEN));
	assert_true(info(st).flag);
	assert_int_equal(info(st).count, 0);
	assert_int_equal(ks_do(st, OPC(BARRIER_WAIT), "B", -1, 1, NULL), ST(ERR_BROKEN));
	assert_int_equal(ks_do(st, OPC(BARRIER_RESET), "B", 0, 2, NULL), 0);
	assert_false(info(st).flag);
	/* reset with a wait in progress: it fails, the barrier stays usable */
	assert_int_equal(ks_run(st, a, OPC(BARRIER_WAIT), "B", -1, 1), MPSD_PARK);
	assert_int_equal(ks_do(st, OPC(BARRIER_RESET), "B", 0, 2, NULL), 0);
	tu_wake(st);
	assert_true(a->done);
	assert_int_equal(a->rv, ST(ERR_BROKEN));
	assert_false(info(st).flag);
	assert_int_equal(ks_run(st, a, OPC(BARRIER_WAIT), "B", -1, 1), MPSD_PARK);
	assert_int_equal(ks_run(st, b, OPC(BARRIER_WAIT), "B", -1, 2), MPSD_PARK);
	assert_int_equal(ks_do(st, OPC(BARRIER_WAIT), "B", -1, 3, NULL), 0);
	tu_wake(st);
	assert_int_equal(a->rv, 0);
	assert_int_equal(b->rv, 0);
	ks_free(a);
	ks_free(b);
	mpsd_store_free(st);
}

/* A wait that times out breaks the barrier for everyone (Python). */
static void test_barrier_timeout(void **state)
{
	mpsd_store *st = mpsd_store_alloc();
	tu_call    *a = ks_call(), *b = ks_call();

	ks_create(st, NULL, "B", BARRIER, ANY, 3);
	assert_int_equal(ks_run(st, a, OPC(BARRIER_WAIT), "B", 100, 1), MPSD_PARK);
	assert_int_equal(ks_run(st, b, OPC(BARRIER_WAIT), "B", -1, 2), MPSD_PARK);
	ks_expire_in(st, 10);
	assert_false(a->done);
	ks_expire_in(st, 1000);
	assert_true(a->done && b->done);
	assert_int_equal(a->rv, ST(ERR_BROKEN));
	assert_int_equal(b->rv, ST(ERR_BROKEN));
	assert_true(info(st).flag);
	assert_int_equal(ks_do(st, OPC(BARRIER_RESET), "B", 0, 2, NULL), 0);
	/* a non-blocking wait that is not the last breaks it at once */
	assert_int_equal(ks_do(st, OPC(BARRIER_WAIT), "B", 0, 1, NULL), ST(ERR_BROKEN));
	assert_true(info(st).flag);
	ks_free(a);
	ks_free(b);
	mpsd_store_free(st);
}

/* A waiting session dies: it no longer counts, indexes stay distinct. */
static void test_barrier_session_gone(void **state)
{
	mpsd_store     *st = mpsd_store_alloc();
	tu_call        *w[3];
	Mpstore__Result r;

	ks_create(st, NULL, "B", BARRIER, ANY, 3);
	for (int i = 0; i < 3; i++) {
		w[i] = ks_call();
		if (i < 2)
			assert_int_equal(ks_run(st, w[i], OPC(BARRIER_WAIT), "B", -1, 1 + i), MPSD_PARK);
	}
	ks_gone(st, 1);
	assert_int_equal(w[0]->done, 2);
	assert_int_equal(info(st).count, 1);
	assert_int_equal(ks_run(st, w[2], OPC(BARRIER_WAIT), "B", -1, 3), MPSD_PARK);
	assert_int_equal(info(st).count, 2);
	assert_int_equal(ks_do(st, OPC(BARRIER_WAIT), "B", -1, 4, &r), 0);
	assert_int_equal(r.count, 2);
	tu_wake(st);
	assert_int_equal(w[1]->res.count, 0);
	assert_int_equal(w[2]->res.count, 1);
	for (int i = 0; i < 3; i++)
		ks_free(w[i]);
	mpsd_store_free(st);
}

static void test_barrier_recovery(void **state)
{
	mpsd_store *st = mpsd_store_alloc(), *st2, *st3;
	ks_log      log = {0};
	tu_call    *a = ks_call(), *k = ks_call();

	ks_create(st, &log, "B", BARRIER, ANY, 2);
	assert_int_equal(ks_run(st, a, OPC(BARRIER_WAIT), "B", -1, 1), MPSD_PARK);
	assert_int_equal(ks_run(st, k, OPC(BARRIER_ABORT), "B", 0, 2), 0);
	ks_log_call(&log, k);
	tu_wake(st);
	ks_log_call(&log, a);
	st2 = mpsd_store_alloc();
	ks_log_replay(&log, st2);
	st3 = ks_dump_copy(st, "B");
	mpsd_store *sts[2] = {st2, st3};
	for (int i = 0; i < 2; i++) {
		assert_int_equal(ks_do(sts[i], OPC(BARRIER_WAIT), "B", 0, 1, NULL), ST(ERR_BROKEN));
		assert_int_equal(mpsd_store_find(sts[i], "B")->capacity, 2);
	}
	ks_free(a);
	ks_free(k);
	ks_log_free(&log);
	mpsd_store_free(st);
	mpsd_store_free(st2);
	mpsd_store_free(st3);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_barrier_release),
		cmocka_unit_test(test_barrier_abort_reset),
		cmocka_unit_test(test_barrier_timeout),
		cmocka_unit_test(test_barrier_session_gone),
		cmocka_unit_test(test_barrier_recovery),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
