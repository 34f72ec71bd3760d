/* k_event_test.c - event: set/clear/is_set, waits and their timeouts, recovery. */
#include "k_sync_test.h"

#define EVENT MPSTORE__KIND__KIND_EVENT
#define ANY MPSTORE__ELEM_TYPE__TYPE_ANY

static int is_set(mpsd_store *st)
{
	Mpstore__Result r;
	assert_int_equal(ks_do(st, OPC(EVENT_IS_SET), "E", 0, 0, &r), 0);
	return r.flag;
}

static void test_event_basic(void **state)
{
	mpsd_store     *st = mpsd_store_alloc();
	Mpstore__Result r;

	ks_create(st, NULL, "E", EVENT, ANY, 0);
	assert_false(is_set(st));
	assert_int_equal(ks_do(st, OPC(EVENT_WAIT), "E", 0, 1, &r), 0); /* never parks */
	assert_false(r.flag);
	assert_int_equal(ks_do(st, OPC(EVENT_SET), "E", 0, 1, NULL), 0);
	assert_true(is_set(st));
	assert_int_equal(ks_do(st, OPC(EVENT_SET), "E", 0, 1, NULL), 0);
	assert_int_equal(ks_do(st, OPC(EVENT_WAIT), "E", -1, 1, &r), 0);
	assert_true(r.flag);
	assert_int_equal(ks_do(st, OPC(EVENT_CLEAR), "E", 0, 1, NULL), 0);
	assert_false(is_set(st));
	mpsd_store_free(st);
}

/* set wakes every waiter; one cleared again before they run still says
 * true (Python); a timed-out wait says false. */
static void test_event_wait(void **state)
{
	mpsd_store *st = mpsd_store_alloc();
	tu_call    *w[3], *t = ks_call(), *late = ks_call();

	ks_create(st, NULL, "E", EVENT, ANY, 0);
	for (int i = 0; i < 3; i++) {
		w[i] = ks_call();
		assert_int_equal(ks_run(st, w[i], OPC(EVENT_WAIT), "E", -1, 1 + i), MPSD_PARK);
	}
	assert_int_equal(ks_run(st, t, OPC(EVENT_WAIT), "E", 100, 9), MPSD_PARK);
	ks_expire_in(st, 1000);
	assert_true(t->done);
	assert_int_equal(t->rv, 0);
	assert_false(t->res.flag);
	assert_int_equal(ks_do(st, OPC(EVENT_SET), "E", 0, 1, NULL), 0);
	assert_int_equal(ks_do(st, OPC(EVENT_CLEAR), "E", 0, 1, NULL), 0);
	tu_wake(st);
	for (int i = 0; i < 3; i++) {
		assert_true(w[i]->done);
		assert_int_equal(w[i]->rv, 0);
		assert_true(w[i]->res.flag);
		ks_free(w[i]);
	}
	/* a wait that arrives after the clear waits again */
	assert_int_equal(ks_run(st, late, OPC(EVENT_WAIT), "E", -1, 1), MPSD_PARK);
	tu_wake(st);
	assert_false(late->done);
	assert_int_equal(mpsd_store_nwaiters(st), 1);
	ks_free(late);
	ks_free(t);
	mpsd_store_free(st);
}

static void test_event_recovery(void **state)
{
	mpsd_store *st = mpsd_store_alloc(), *st2, *st3;
	ks_log      log = {0};
	tu_call    *k = ks_call();

	ks_create(st, &log, "E", EVENT, ANY, 0);
	assert_int_equal(ks_run(st, k, OPC(EVENT_SET), "E", 0, 1), 0);
	ks_log_call(&log, k);
	st2 = mpsd_store_alloc();
	ks_log_replay(&log, st2);
	assert_true(is_set(st2));
	st3 = ks_dump_copy(st, "E");
	assert_true(is_set(st3));
	ks_free(k);
	ks_log_free(&log);
	mpsd_store_free(st);
	mpsd_store_free(st2);
	mpsd_store_free(st3);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_event_basic),
		cmocka_unit_test(test_event_wait),
		cmocka_unit_test(test_event_recovery),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
