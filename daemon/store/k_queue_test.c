/* k_queue_test.c - queue: put/get/waiting/FIFO fairness, task_done/join, dump/apply. */
#include <stdio.h>

#include "k_sync_test.h"

#define QUEUE MPSTORE__KIND__KIND_QUEUE
#define INT64 MPSTORE__ELEM_TYPE__TYPE_INT64
#define STRING MPSTORE__ELEM_TYPE__TYPE_STRING

static int q_put(mpsd_store *st, ks_log *l, const char *q, int64_t v, int64_t timeout, tu_call **out)
{
	tu_call    *k = ks_call();
	Mpstore__Op op = tu_op(OPC(QUEUE_PUT), q);
	op.value = tu_int(k, v);
	op.timeout_ms = timeout;
	int rv = tu_exec(st, k, &op, 1);
	if (out != NULL) {
		*out = k;
		return rv;
	}
	assert_int_not_equal(rv, MPSD_PARK);
	if (l != NULL)
		ks_log_call(l, k);
	ks_free(k);
	return rv;
}

/* Get with timeout 0; returns the status, the value through *v. */
static int q_get(mpsd_store *st, ks_log *l, const char *q, int64_t *v)
{
	tu_call *k = ks_call();
	int      rv = ks_run(st, k, OPC(QUEUE_GET), q, 0, 1);
	if (rv == 0) {
		assert_non_null(k->res.value);
		if (v != NULL)
			*v = k->res.value->int_value;
	}
	if (l != NULL)
		ks_log_call(l, k);
	ks_free(k);
	return rv;
}

static int64_t q_count(mpsd_store *st, Mpstore__OpCode code, const char *q)
{
	Mpstore__Result r;
	assert_int_equal(ks_do(st, code, q, 0, 1, &r), 0);
	return code == OPC(QUEUE_SIZE) ? r.count : r.flag;
}

static void test_queue_basic(void **state)
{
	mpsd_store *st = mpsd_store_alloc();
	tu_call    *k;
	int64_t     v;

	ks_create(st, NULL, "Q", QUEUE, INT64, 2);
	assert_true(q_count(st, OPC(QUEUE_EMPTY), "Q"));
	assert_false(q_count(st, OPC(QUEUE_FULL), "Q"));
	assert_int_equal(q_put(st, NULL, "Q", 10, 0, NULL), 0);
	assert_int_equal(q_put(st, NULL, "Q", 20, -1, NULL), 0);
	assert_true(q_count(st, OPC(QUEUE_FULL), "Q"));
	assert_int_equal(q_count(st, OPC(QUEUE_SIZE), "Q"), 2);
	assert_int_equal(q_put(st, NULL, "Q", 30, 0, NULL), ST(ERR_FULL));
	/* wrong element type */
	k = ks_call();
	Mpstore__Op op = tu_op(OPC(QUEUE_PUT), "Q");
	op.value = tu_str(k, "x");
	assert_int_equal(tu_exec(st, k, &op, 1), ST(ERR_WRONG_TYPE));
	ks_free(k);
	assert_int_equal(q_get(st, NULL, "Q", &v), 0);
	assert_int_equal(v, 10);
	assert_int_equal(q_get(st, NULL, "Q", &v), 0);
	assert_int_equal(v, 20);
	assert_int_equal(q_get(st, NULL, "Q", &v), ST(ERR_EMPTY));
	assert_true(q_count(st, OPC(QUEUE_EMPTY), "Q"));
	assert_int_equal(mpsd_store_nwaiters(st), 0);
	/* a bad maxsize */
	tu_call    *kc = ks_call();
	Mpstore__Op cr = tu_op(MPSTORE__OP_CODE__OP_CREATE, "bad");
	cr.kind = QUEUE;
	cr.count = -1;
	assert_int_equal(tu_exec(st, kc, &cr, 0), ST(ERR_INVALID));
	ks_free(kc);
	mpsd_store_free(st);
}

static void test_queue_task_done_join(void **state)
{
	mpsd_store     *st = mpsd_store_alloc();
	tu_call        *j = ks_call(), *jt = ks_call();
	Mpstore__Result r;

	ks_create(st, NULL, "Q", QUEUE, INT64, 0);
	assert_int_equal(ks_do(st, OPC(QUEUE_JOIN), "Q", -1, 1, NULL), 0); /* nothing to wait for */
	assert_int_equal(ks_do(st, OPC(QUEUE_TASK_DONE), "Q", 0, 1, NULL), ST(ERR_INVALID));
	assert_int_equal(q_put(st, NULL, "Q", 1, 0, NULL), 0);
	assert_int_equal(q_put(st, NULL, "Q", 2, 0, NULL), 0);
	assert_int_equal(ks_do(st, OPC(QUEUE_JOIN), "Q", 0, 1, &r), ST(ERR_TIMEOUT));
	assert_int_equal(ks_run(st, j, OPC(QUEUE_JOIN), "Q", -1, 2), MPSD_PARK);
	assert_int_equal(ks_run(st, jt, OPC(QUEUE_JOIN), "Q", 50, 3), MPSD_PARK);
	ks_expire_in(st, 1000);
	assert_true(jt->done);
	assert_int_equal(jt->rv, ST(ERR_TIMEOUT));
	assert_int_equal(q_get(st, NULL, "Q", NULL), 0);
	assert_int_equal(ks_do(st, OPC(QUEUE_TASK_DONE), "Q", 0, 1, &r), 0);
	assert_int_equal(r.count, 1);
	tu_wake(st);
	assert_false(j->done);
	assert_int_equal(ks_do(st, OPC(QUEUE_TASK_DONE), "Q", 0, 1, &r), 0);
	assert_int_equal(r.count, 0);
	tu_wake(st);
	assert_true(j->done);
	assert_int_equal(j->rv, 0);
	tu_call *k = ks_call();
	assert_int_equal(ks_run(st, k, OPC(QUEUE_TASK_DONE), "Q", 0, 1), ST(ERR_INVALID));
	assert_string_equal(k->res.error, "task_done() called too many times");
	ks_free(k);
	ks_free(j);
	ks_free(jt);
	mpsd_store_free(st);
}

/* 1,000 parked getters (behind a parked join), then 1,000 puts: each
 * getter gets exactly one item, in order of arrival, and other ops are
 * served meanwhile. */
static void run_many_getters(int wake_each)
{
	enum { N = 1000 };
	mpsd_store *st = mpsd_store_alloc();
	tu_call    *g[N], *j = ks_call();

	ks_create(st, NULL, "Q", QUEUE, INT64, 0);
	assert_int_equal(q_put(st, NULL, "Q", -1, 0, NULL), 0);
	assert_int_equal(q_get(st, NULL, "Q", NULL), 0);
	assert_int_equal(ks_run(st, j, OPC(QUEUE_JOIN), "Q", -1, 5000), MPSD_PARK);
	for (int i = 0; i < N; i++) {
		g[i] = ks_call();
		assert_int_equal(ks_run(st, g[i], OPC(QUEUE_GET), "Q", -1, 1000 + i), MPSD_PARK);
	}
	assert_int_equal(mpsd_store_nwaiters(st), N + 1);
	for (int i = 0; i < N; i++) {
		assert_int_equal(q_put(st, NULL, "Q", i, 0, NULL), 0);
		if (wake_each) {
			tu_wake(st);
			assert_true(g[i]->done);
			if (i + 1 < N)
				assert_false(g[i + 1]->done);
			assert_int_equal(q_count(st, OPC(QUEUE_SIZE), "Q"), 0);
		}
	}
	tu_wake(st);
	for (int i = 0; i < N; i++) {
		assert_true(g[i]->done);
		assert_int_equal(g[i]->rv, 0);
		assert_int_equal(g[i]->res.value->int_value, i);
		ks_free(g[i]);
	}
	assert_int_equal(q_count(st, OPC(QUEUE_SIZE), "Q"), 0);
	assert_false(j->done);
	for (int i = 0; i <= N; i++)
		assert_int_equal(ks_do(st, OPC(QUEUE_TASK_DONE), "Q", 0, 1, NULL), 0);
	tu_wake(st);
	assert_true(j->done);
	assert_int_equal(mpsd_store_nwaiters(st), 0);
	ks_free(j);
	mpsd_store_free(st);
}

static void test_queue_many_getters_fifo(void **state)
{
	run_many_getters(1);
	run_many_getters(0);
}

static void test_queue_blocking_put(void **state)
{
	mpsd_store *st = mpsd_store_alloc();
	tu_call    *p[3];
	int64_t     v;

	ks_create(st, NULL, "Q", QUEUE, INT64, 1);
	assert_int_equal(q_put(st, NULL, "Q", 0, 0, NULL), 0);
	assert_int_equal(q_put(st, NULL, "Q", 1, -1, &p[0]), MPSD_PARK);
	assert_int_equal(q_put(st, NULL, "Q", 2, -1, &p[1]), MPSD_PARK);
	assert_int_equal(q_put(st, NULL, "Q", 9, 100, &p[2]), MPSD_PARK);
	ks_expire_in(st, 1000);
	assert_true(p[2]->done);
	assert_int_equal(p[2]->rv, ST(ERR_TIMEOUT));
	for (int i = 0; i < 3; i++) {
		assert_int_equal(q_get(st, NULL, "Q", &v), 0);
		assert_int_equal(v, i);
		tu_wake(st);
		if (i < 2) {
			assert_true(p[i]->done);
			assert_int_equal(p[i]->rv, 0);
			assert_int_equal(p[i]->res.count, 1);
		}
	}
	assert_int_equal(q_get(st, NULL, "Q", &v), ST(ERR_EMPTY));
	for (int i = 0; i < 3; i++)
		ks_free(p[i]);
	mpsd_store_free(st);
}

static void test_queue_get_timeout(void **state)
{
	mpsd_store *st = mpsd_store_alloc();
	tu_call    *a = ks_call(), *b = ks_call();

	ks_create(st, NULL, "Q", QUEUE, INT64, 0);
	assert_int_equal(ks_run(st, a, OPC(QUEUE_GET), "Q", 100, 1), MPSD_PARK);
	assert_int_equal(ks_run(st, b, OPC(QUEUE_GET), "Q", 100000, 2), MPSD_PARK);
	ks_expire_in(st, 1000);
	assert_true(a->done);
	assert_int_equal(a->rv, ST(ERR_TIMEOUT));
	assert_false(b->done);
	ks_gone(st, 2); /* a client that disconnects while blocked is forgotten */
	assert_int_equal(b->done, 2);
	assert_int_equal(q_put(st, NULL, "Q", 5, 0, NULL), 0);
	tu_wake(st);
	assert_int_equal(q_count(st, OPC(QUEUE_SIZE), "Q"), 1);
	ks_free(a);
	ks_free(b);
	mpsd_store_free(st);
}

/* The ring wraps and grows and shrinks; order is kept. */
static void test_queue_ring(void **state)
{
	mpsd_store *st = mpsd_store_alloc();
	int64_t     next_in = 0, next_out = 0, v;

	ks_create(st, NULL, "Q", QUEUE, INT64, 0);
	for (int round = 0; round < 50; round++) {
		int puts = (round * 37) % 300 + 1, gets = (round * 53) % 300 + 1;
		for (int i = 0; i < puts; i++)
			assert_int_equal(q_put(st, NULL, "Q", next_in++, 0, NULL), 0);
		for (int i = 0; i < gets && next_out < next_in; i++) {
			assert_int_equal(q_get(st, NULL, "Q", &v), 0);
			assert_int_equal(v, next_out++);
		}
		assert_int_equal(q_count(st, OPC(QUEUE_SIZE), "Q"), next_in - next_out);
	}
	while (next_out < next_in) {
		assert_int_equal(q_get(st, NULL, "Q", &v), 0);
		assert_int_equal(v, next_out++);
	}
	mpsd_container *c = mpsd_store_find(st, "Q");
	assert_true(c->k->memory(c) < 4096);
	mpsd_store_free(st);
}

/* The items and the unfinished count survive a log replay and a dump. */
static void test_queue_dump_apply(void **state)
{
	mpsd_store     *st = mpsd_store_alloc(), *st2, *st3;
	ks_log          log = {0};
	const char     *items[] = {"a", "a string longer than thirteen bytes", "c", "d", "e"};
	Mpstore__Result r;

	ks_create(st, &log, "S", QUEUE, STRING, 0);
	for (int i = 0; i < 6; i++) {
		tu_call    *k = ks_call();
		Mpstore__Op op = tu_op(OPC(QUEUE_PUT), "S");
		op.value = tu_str(k, i < 5 ? items[i] : "gone");
		assert_int_equal(tu_exec(st, k, &op, 1), 0);
		ks_log_call(&log, k);
		ks_free(k);
	}
	{
		tu_call *k = ks_call();
		assert_int_equal(ks_run(st, k, OPC(QUEUE_GET), "S", 0, 1), 0); /* drop "a" */
		ks_log_call(&log, k);
		ks_free(k);
		k = ks_call();
		assert_int_equal(ks_run(st, k, OPC(QUEUE_TASK_DONE), "S", 0, 1), 0);
		ks_log_call(&log, k);
		ks_free(k);
	}
	/* state now: 5 items ("a string...", "c", "d", "e", "gone"), unfinished 5 */
	st2 = mpsd_store_alloc();
	ks_log_replay(&log, st2);
	st3 = ks_dump_copy(st, "S"); /* chunks of 2: resync + puts + state */
	mpsd_store *sts[2] = {st2, st3};
	for (int s = 0; s < 2; s++) {
		assert_int_equal(ks_do(sts[s], OPC(QUEUE_SIZE), "S", 0, 1, &r), 0);
		assert_int_equal(r.count, 5);
		assert_int_equal(ks_do(sts[s], OPC(QUEUE_JOIN), "S", 0, 1, &r), ST(ERR_TIMEOUT));
		assert_int_equal(r.count, 5);
		for (int i = 0; i < 5; i++) {
			tu_call *k = ks_call();
			assert_int_equal(ks_run(sts[s], k, OPC(QUEUE_GET), "S", 0, 1), 0);
			assert_string_equal(k->res.value->string_value, i < 4 ? items[i + 1] : "gone");
			ks_free(k);
		}
		assert_int_equal(mpsd_store_find(sts[s], "S")->elem_type, STRING);
	}
	ks_log_free(&log);
	mpsd_store_free(st);
	mpsd_store_free(st2);
	mpsd_store_free(st3);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_queue_basic),
		cmocka_unit_test(test_queue_task_done_join),
		cmocka_unit_test(test_queue_many_getters_fifo),
		cmocka_unit_test(test_queue_blocking_put),
		cmocka_unit_test(test_queue_get_timeout),
		cmocka_unit_test(test_queue_ring),
		cmocka_unit_test(test_queue_dump_apply),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
