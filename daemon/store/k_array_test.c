/* k_array_test.c - KIND_ARRAY: fixed length, typed, slice assignment. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "val_testutil.h"

#define OP(c) MPSTORE__OP_CODE__OP_LIST_##c
#define ST(s) MPSTORE__STATUS__##s
#define KA    MPSTORE__KIND__KIND_ARRAY

static void test_create(void **state)
{
	assert_int_equal(vt_create("a", KA, MPSTORE__ELEM_TYPE__TYPE_INT64, 0, 10, NULL), 0);
	assert_int_equal(vt_create("s", KA, MPSTORE__ELEM_TYPE__TYPE_STRING, 0, 10, NULL), ST(ERR_INVALID));
	assert_int_equal(vt_create("z", KA, MPSTORE__ELEM_TYPE__TYPE_INT64, 0, 0, NULL), ST(ERR_INVALID));
	assert_int_equal(vt_create("h", KA, MPSTORE__ELEM_TYPE__TYPE_BOOL, 0, (int64_t) 1 << 40, NULL),
	    ST(ERR_INVALID));
	mpsd_container *c = mpsd_store_find(vt_st, "a");
	assert_int_equal(c->k->length(c), 10);
	assert_int_equal(c->capacity, 10);
	vt_same("a");
}

static void test_get_set_slice(void **state)
{
	tu_call k;

	assert_int_equal(vt_create("a", KA, MPSTORE__ELEM_TYPE__TYPE_INT64, 0, 5, NULL), 0);
	tu_call_init(&k);
	Mpstore__Op op = tu_op(OP(GET), "a");
	op.index       = -1;
	assert_int_equal(vt_run(&k, &op), 0);
	assert_int_equal(k.res.value->int_value, 0);
	op.index = 5;
	assert_int_equal(vt_run(&k, &op), ST(ERR_INDEX));
	op       = tu_op(OP(SET), "a");
	op.index = -2;
	op.value = tu_int(&k, 7);
	assert_int_equal(vt_run(&k, &op), 0);
	op.value = tu_dbl(&k, 7.5);
	assert_int_equal(vt_run(&k, &op), ST(ERR_WRONG_TYPE));
	op.index = 9;
	op.value = tu_int(&k, 1);
	assert_int_equal(vt_run(&k, &op), ST(ERR_INDEX));
	/* a run at 1: [0, 1, 2, 7, 0] */
	op           = tu_op(OP(SET), "a");
	op.index     = 1;
	op.n_values  = 2;
	op.values    = vt_vals(&k, 2);
	op.values[0] = tu_int(&k, 1);
	op.values[1] = tu_int(&k, 2);
	assert_int_equal(vt_run(&k, &op), 0);
	op.index = 4; /* does not fit */
	assert_int_equal(vt_run(&k, &op), ST(ERR_INDEX));
	op.index     = 0;
	op.values[1] = tu_str(&k, "x"); /* nothing is written */
	assert_int_equal(vt_run(&k, &op), ST(ERR_WRONG_TYPE));
	op       = tu_op(OP(SLICE), "a");
	op.index = 0;
	assert_int_equal(vt_run(&k, &op), 0);
	assert_int_equal(k.res.n_values, 5);
	const int64_t want[] = { 0, 1, 2, 7, 0 };
	for (int i = 0; i < 5; i++)
		assert_int_equal(k.res.values[i]->int_value, want[i]);
	op.index = -3;
	op.stop  = -1;
	op.flags = MPSTORE__OP_FLAG__FLAG_HAS_STOP;
	assert_int_equal(vt_run(&k, &op), 0);
	assert_int_equal(k.res.n_values, 2);
	assert_int_equal(k.res.values[1]->int_value, 7);
	op = tu_op(OP(LEN), "a");
	assert_int_equal(vt_run(&k, &op), 0);
	assert_int_equal(k.res.count, 5);
	op       = tu_op(OP(APPEND), "a");
	op.value = tu_int(&k, 1);
	assert_int_equal(vt_run(&k, &op), ST(ERR_WRONG_KIND));
	tu_call_fini(&k);
	vt_same("a");
}

static void test_double_bool(void **state)
{
	tu_call k;

	assert_int_equal(vt_create("d", KA, MPSTORE__ELEM_TYPE__TYPE_DOUBLE, 0, 4, NULL), 0);
	assert_int_equal(vt_create("b", KA, MPSTORE__ELEM_TYPE__TYPE_BOOL, 0, 7, NULL), 0);
	tu_call_init(&k);
	Mpstore__Op op = tu_op(OP(SET), "d");
	op.index       = 3;
	op.value       = tu_dbl(&k, -0.25);
	assert_int_equal(vt_run(&k, &op), 0);
	op       = tu_op(OP(SET), "b");
	op.index = 6;
	op.value = vt_bool(&k, 1);
	assert_int_equal(vt_run(&k, &op), 0);
	op       = tu_op(OP(GET), "d");
	op.index = 3;
	assert_int_equal(vt_run(&k, &op), 0);
	assert_true(k.res.value->double_value == -0.25);
	op       = tu_op(OP(GET), "b");
	op.index = 6;
	assert_int_equal(vt_run(&k, &op), 0);
	assert_true(k.res.value->bool_value);
	tu_call_fini(&k);
	vt_same("d");
	vt_same("b");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_create, vt_setup, vt_teardown),
		cmocka_unit_test_setup_teardown(test_get_set_slice, vt_setup, vt_teardown),
		cmocka_unit_test_setup_teardown(test_double_bool, vt_setup, vt_teardown),
	};
	return cmocka_run_group_tests_name("daemon/k_array", tests, NULL, NULL);
}
