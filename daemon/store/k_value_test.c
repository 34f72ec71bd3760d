/* k_value_test.c - KIND_VALUE: counters, typed values, add, cas, replay. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "val_testutil.h"

#define OP(c) MPSTORE__OP_CODE__OP_VALUE_##c
#define ST(s) MPSTORE__STATUS__##s
#define KV    MPSTORE__KIND__KIND_VALUE

static Mpstore__Value *init_str(tu_call *k)
{
	return tu_str(k, "hello");
}

static Mpstore__Value *init_dbl(tu_call *k)
{
	return tu_dbl(k, 1.5);
}

/* Run op with value v (may be NULL); result value into *out. */
static int run(Mpstore__OpCode code, const char *name, Mpstore__Value *(*mk)(tu_call *, int64_t), int64_t v,
    Mpstore__Value *out)
{
	tu_call k;
	tu_call_init(&k);
	Mpstore__Op op = tu_op(code, name);
	if (mk != NULL)
		op.value = mk(&k, v);
	int rv = vt_run(&k, &op);
	if (rv == 0 && out != NULL) {
		*out = *k.res.value;
		assert_true(out->v_case != MPSTORE__VALUE__V_STRING_VALUE); /* points into k */
	}
	tu_call_fini(&k);
	return rv;
}

static Mpstore__Value *ival(tu_call *k, int64_t v)
{
	return tu_int(k, v);
}

static Mpstore__Value *dval(tu_call *k, int64_t v)
{
	return tu_dbl(k, (double) v / 2);
}

static Mpstore__Value *sval(tu_call *k, int64_t v)
{
	return tu_str(k, v ? "yes" : "no");
}

static void test_counter(void **state)
{
	Mpstore__Value r;

	assert_int_equal(vt_create("n", KV, MPSTORE__ELEM_TYPE__TYPE_INT64, 0, 5, NULL), 0);
	assert_int_equal(run(OP(GET), "n", NULL, 0, &r), 0);
	assert_int_equal(r.int_value, 5); /* count is the initial value */
	assert_int_equal(run(OP(ADD), "n", ival, 3, &r), 0);
	assert_int_equal(r.int_value, 8);
	assert_int_equal(run(OP(ADD), "n", ival, -10, &r), 0);
	assert_int_equal(r.int_value, -2);
	assert_int_equal(run(OP(ADD), "n", dval, 1, NULL), ST(ERR_WRONG_TYPE));
	assert_int_equal(run(OP(ADD), "n", sval, 1, NULL), ST(ERR_WRONG_TYPE));
	assert_int_equal(run(OP(ADD), "n", NULL, 0, NULL), ST(ERR_WRONG_TYPE));
	assert_int_equal(run(OP(SET), "n", ival, INT64_MAX - 1, NULL), 0);
	assert_int_equal(run(OP(ADD), "n", ival, 1, &r), 0);
	assert_int_equal(r.int_value, INT64_MAX);
	assert_int_equal(run(OP(ADD), "n", ival, 1, NULL), ST(ERR_INVALID));
	assert_int_equal(run(OP(SET), "n", ival, INT64_MIN, NULL), 0);
	assert_int_equal(run(OP(ADD), "n", ival, -1, NULL), ST(ERR_INVALID));
	assert_int_equal(run(OP(GET), "n", NULL, 0, &r), 0);
	assert_int_equal(r.int_value, INT64_MIN);
	assert_int_equal(run(OP(SET), "n", sval, 1, NULL), ST(ERR_WRONG_TYPE));
	vt_same("n");
}

static void test_double_and_any(void **state)
{
	Mpstore__Value r;

	assert_int_equal(vt_create("d", KV, MPSTORE__ELEM_TYPE__TYPE_DOUBLE, 0, 0, init_dbl), 0);
	assert_int_equal(run(OP(ADD), "d", ival, 2, &r), 0);
	assert_int_equal(r.v_case, MPSTORE__VALUE__V_DOUBLE_VALUE);
	assert_true(r.double_value == 3.5);
	assert_int_equal(run(OP(ADD), "d", dval, 1, &r), 0);
	assert_true(r.double_value == 4.0);
	vt_same("d");

	assert_int_equal(vt_create("a", KV, MPSTORE__ELEM_TYPE__TYPE_ANY, 0, 0, NULL), 0);
	assert_int_equal(run(OP(GET), "a", NULL, 0, &r), 0);
	assert_int_equal(r.v_case, MPSTORE__VALUE__V__NOT_SET);
	assert_int_equal(run(OP(ADD), "a", ival, 4, &r), 0); /* null counts as 0 */
	assert_int_equal(r.int_value, 4);
	assert_int_equal(run(OP(ADD), "a", dval, 1, &r), 0); /* int + float = float */
	assert_int_equal(r.v_case, MPSTORE__VALUE__V_DOUBLE_VALUE);
	assert_true(r.double_value == 4.5);
	assert_int_equal(run(OP(SET), "a", sval, 1, NULL), 0);
	assert_int_equal(run(OP(ADD), "a", ival, 1, NULL), ST(ERR_WRONG_TYPE));
	assert_int_equal(run(OP(SET), "a", NULL, 0, NULL), 0); /* back to null */
	assert_int_equal(run(OP(GET), "a", NULL, 0, &r), 0);
	assert_int_equal(r.v_case, MPSTORE__VALUE__V__NOT_SET);
	vt_same("a");
}

static void test_defaults_and_initial(void **state)
{
	tu_call k;

	assert_int_equal(vt_create("s", KV, MPSTORE__ELEM_TYPE__TYPE_STRING, 0, 0, NULL), 0);
	assert_int_equal(vt_create("s2", KV, MPSTORE__ELEM_TYPE__TYPE_STRING, 0, 0, init_str), 0);
	assert_int_equal(vt_create("b", KV, MPSTORE__ELEM_TYPE__TYPE_BOOL, 0, 0, NULL), 0);
	assert_int_equal(vt_create("bad", KV, MPSTORE__ELEM_TYPE__TYPE_INT64, 0, 0, init_str), ST(ERR_WRONG_TYPE));
	tu_call_init(&k);
	Mpstore__Op op = tu_op(OP(GET), "s");
	assert_int_equal(vt_run(&k, &op), 0);
	assert_string_equal(k.res.value->string_value, "");
	op = tu_op(OP(GET), "s2");
	assert_int_equal(vt_run(&k, &op), 0);
	assert_string_equal(k.res.value->string_value, "hello");
	op = tu_op(OP(GET), "b");
	assert_int_equal(vt_run(&k, &op), 0);
	assert_int_equal(k.res.value->v_case, MPSTORE__VALUE__V_BOOL_VALUE);
	assert_false(k.res.value->bool_value);
	op       = tu_op(OP(SET), "s2");
	op.value = tu_str(&k, "a longer string that lives on the heap");
	assert_int_equal(vt_run(&k, &op), 0);
	assert_string_equal(k.res.value->string_value, "a longer string that lives on the heap");
	tu_call_fini(&k);
	vt_same("s");
	vt_same("s2");
	vt_same("b");
}

static void test_cas(void **state)
{
	tu_call k;

	assert_int_equal(vt_create("n", KV, MPSTORE__ELEM_TYPE__TYPE_INT64, 0, 1, NULL), 0);
	tu_call_init(&k);
	Mpstore__Op op = tu_op(OP(CAS), "n");
	op.expected    = tu_int(&k, 2);
	op.value       = tu_int(&k, 10);
	assert_int_equal(vt_run(&k, &op), 0);
	assert_false(k.res.flag);
	assert_int_equal(k.res.value->int_value, 1);
	assert_int_equal(k.x.nchanges, 0);
	op.expected = tu_dbl(&k, 1.0); /* 1.0 == 1 */
	assert_int_equal(vt_run(&k, &op), 0);
	assert_true(k.res.flag);
	assert_int_equal(k.res.value->int_value, 10);
	op.expected = tu_int(&k, 10);
	op.value    = tu_str(&k, "x");
	assert_int_equal(vt_run(&k, &op), ST(ERR_WRONG_TYPE));
	tu_call_fini(&k);
	vt_same("n");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_counter, vt_setup, vt_teardown),
		cmocka_unit_test_setup_teardown(test_double_and_any, vt_setup, vt_teardown),
		cmocka_unit_test_setup_teardown(test_defaults_and_initial, vt_setup, vt_teardown),
		cmocka_unit_test_setup_teardown(test_cas, vt_setup, vt_teardown),
	};
	return cmocka_run_group_tests_name("daemon/k_value", tests, NULL, NULL);
}
