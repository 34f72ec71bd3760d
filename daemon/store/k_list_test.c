/* k_list_test.c - KIND_LIST ops, errors, replay and dump. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <cmocka.h>

#include "val_testutil.h"

#define OP(c) MPSTORE__OP_CODE__OP_LIST_##c
#define ST(s) MPSTORE__STATUS__##s

static void mk(const char *name, Mpstore__ElemType et)
{
	assert_int_equal(vt_create(name, MPSTORE__KIND__KIND_LIST, et, 0, 0, NULL), 0);
}

/* Run a one-int-value op (append, insert, set, remove, index). */
static int run_int(Mpstore__OpCode code, const char *name, int64_t index, int64_t v, int64_t *count)
{
	tu_call k;
	tu_call_init(&k);
	Mpstore__Op op = tu_op(code, name);
	op.index       = index;
	op.value       = tu_int(&k, v);
	int rv         = vt_run(&k, &op);
	if (count != NULL)
		*count = k.res.count;
	tu_call_fini(&k);
	return rv;
}

static int append(const char *name, int64_t v)
{
	return run_int(OP(APPEND), name, 0, v, NULL);
}

static int64_t len(const char *name)
{
	tu_call k;
	tu_call_init(&k);
	Mpstore__Op op = tu_op(OP(LEN), name);
	assert_int_equal(vt_run(&k, &op), 0);
	int64_t n = k.res.count;
	tu_call_fini(&k);
	return n;
}

static int get(const char *name, int64_t index, int64_t *v)
{
	tu_call k;
	tu_call_init(&k);
	Mpstore__Op op = tu_op(OP(GET), name);
	op.index       = index;
	int rv         = vt_run(&k, &op);
	if (rv == 0) {
		assert_int_equal(k.res.value->v_case, MPSTORE__VALUE__V_INT_VALUE);
		*v = k.res.value->int_value;
	}
	tu_call_fini(&k);
	return rv;
}

static int pop(const char *name, int has_index, int64_t index, int64_t *v)
{
	tu_call k;
	tu_call_init(&k);
	Mpstore__Op op = tu_op(OP(POP), name);
	op.index       = index;
	op.flags       = has_index ? MPSTORE__OP_FLAG__FLAG_HAS_INDEX : 0;
	int rv         = vt_run(&k, &op);
	if (rv == 0 && v != NULL)
		*v = k.res.value->int_value;
	tu_call_fini(&k);
	return rv;
}

/* The list's slice [start:stop] (stop < INT64_MAX: given) equals want. */
static void slice_is(const char *name, int64_t start, int64_t stop, const int64_t *want, size_t n)
{
	tu_call k;
	tu_call_init(&k);
	Mpstore__Op op = tu_op(OP(SLICE), name);
	op.index       = start;
	op.stop        = stop;
	op.flags       = stop != INT64_MAX ? MPSTORE__OP_FLAG__FLAG_HAS_STOP : 0;
	assert_int_equal(vt_run(&k, &op), 0);
	assert_int_equal(k.res.n_values, n);
	for (size_t i = 0; i < n; i++)
		assert_int_equal(k.res.values[i]->int_value, want[i]);
	tu_call_fini(&k);
}

#define ALL(name, ...)                                                                  \
	do {                                                                            \
		const int64_t w_[] = { __VA_ARGS__ };                                   \
		slice_is(name, 0, INT64_MAX, w_, sizeof(w_) / sizeof(w_[0]));           \
	} while (0)

static void test_append_get_len(void **state)
{
	int64_t v, n;

	mk("l", MPSTORE__ELEM_TYPE__TYPE_INT64);
	assert_int_equal(len("l"), 0);
	for (int i = 0; i < 5; i++) {
		assert_int_equal(run_int(OP(APPEND), "l", 0, i * 10, &n), 0);
		assert_int_equal(n, i + 1);
	}
	assert_int_equal(get("l", 0, &v), 0);
	assert_int_equal(v, 0);
	assert_int_equal(get("l", -1, &v), 0);
	assert_int_equal(v, 40);
	assert_int_equal(get("l", -5, &v), 0);
	assert_int_equal(v, 0);
	assert_int_equal(get("l", 5, &v), ST(ERR_INDEX));
	assert_int_equal(get("l", -6, &v), ST(ERR_INDEX));
	vt_same("l");
}

static void test_extend_and_bad_element(void **state)
{
	tu_call k;

	mk("l", MPSTORE__ELEM_TYPE__TYPE_INT64);
	append("l", 1);
	tu_call_init(&k);
	Mpstore__Op op = tu_op(OP(EXTEND), "l");
	op.n_values    = 3;
	op.values      = vt_vals(&k, 3);
	op.values[0]   = tu_int(&k, 2);
	op.values[1]   = tu_str(&k, "three");
	op.values[2]   = tu_int(&k, 4);
	assert_int_equal(vt_run(&k, &op), ST(ERR_WRONG_TYPE));
	assert_non_null(strstr(k.res.error, "int64"));
	ALL("l", 1);
	op.values[1] = tu_int(&k, 3);
	assert_int_equal(vt_run(&k, &op), 0);
	assert_int_equal(k.res.count, 4);
	op.n_values = 0;
	assert_int_equal(vt_run(&k, &op), 0);
	tu_call_fini(&k);
	ALL("l", 1, 2, 3, 4);
	vt_same("l");
}

static void test_insert_clamps(void **state)
{
	mk("l", MPSTORE__ELEM_TYPE__TYPE_INT64);
	append("l", 1);
	append("l", 2);
	assert_int_equal(run_int(OP(INSERT), "l", -100, 0, NULL), 0);
	assert_int_equal(run_int(OP(INSERT), "l", 100, 9, NULL), 0);
	assert_int_equal(run_int(OP(INSERT), "l", -1, 8, NULL), 0);
	assert_int_equal(run_int(OP(INSERT), "l", 2, 5, NULL), 0);
	ALL("l", 0, 1, 5, 2, 8, 9);
	vt_same("l");
}

static void test_slice(void **state)
{
	mk("l", MPSTORE__ELEM_TYPE__TYPE_INT64);
	for (int i = 0; i < 6; i++)
		append("l", i);
	const int64_t a[] = { 1, 2 }, b[] = { 4, 5 }, c[] = { 0, 1, 2, 3, 4 }, d[] = { 3, 4, 5 };
	slice_is("l", 1, 3, a, 2);
	slice_is("l", -2, INT64_MAX, b, 2);
	slice_is("l", -100, -1, c, 5);
	slice_is("l", 3, 100, d, 3);
	slice_is("l", 4, 2, NULL, 0);
	slice_is("l", 10, INT64_MAX, NULL, 0);
	vt_same("l");
}

static void test_set(void **state)
{
	tu_call k;

	mk("l", MPSTORE__ELEM_TYPE__TYPE_INT64);
	append("l", 1);
	append("l", 2);
	assert_int_equal(run_int(OP(SET), "l", -1, 20, NULL), 0);
	assert_int_equal(run_int(OP(SET), "l", 0, 10, NULL), 0);
	assert_int_equal(run_int(OP(SET), "l", 2, 30, NULL), ST(ERR_INDEX));
	assert_int_equal(run_int(OP(SET), "l", -3, 30, NULL), ST(ERR_INDEX));
	tu_call_init(&k);
	Mpstore__Op op = tu_op(OP(SET), "l");
	op.value       = tu_dbl(&k, 1.5);
	assert_int_equal(vt_run(&k, &op), ST(ERR_WRONG_TYPE));
	op.value = NULL;
	assert_int_equal(vt_run(&k, &op), ST(ERR_WRONG_TYPE));
	tu_call_fini(&k);
	ALL("l", 10, 20);
	vt_same("l");
}

static void test_pop(void **state)
{
	int64_t v;

	mk("l", MPSTORE__ELEM_TYPE__TYPE_INT64);
	assert_int_equal(pop("l", 0, 0, NULL), ST(ERR_EMPTY));
	for (int i = 0; i < 5; i++)
		append("l", i);
	assert_int_equal(pop("l", 0, 0, &v), 0);
	assert_int_equal(v, 4);
	assert_int_equal(pop("l", 1, 0, &v), 0);
	assert_int_equal(v, 0);
	assert_int_equal(pop("l", 1, -2, &v), 0);
	assert_int_equal(v, 2);
	assert_int_equal(pop("l", 1, 2, NULL), ST(ERR_INDEX));
	assert_int_equal(pop("l", 1, -3, NULL), ST(ERR_INDEX));
	ALL("l", 1, 3);
	vt_same("l");
	assert_int_equal(pop("l", 0, 0, NULL), 0);
	assert_int_equal(pop("l", 0, 0, NULL), 0);
	assert_int_equal(pop("l", 0, 0, NULL), ST(ERR_EMPTY));
	vt_same("l");
}

static void test_remove_index(void **state)
{
	tu_call k;
	int64_t n;

	mk("l", MPSTORE__ELEM_TYPE__TYPE_ANY);
	append("l", 7);
	append("l", 8);
	append("l", 7);
	assert_int_equal(run_int(OP(INDEX), "l", 0, 8, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(run_int(OP(INDEX), "l", 0, 9, NULL), ST(ERR_INVALID));
	/* 7.0 == 7, like Python */
	tu_call_init(&k);
	Mpstore__Op op = tu_op(OP(REMOVE), "l");
	op.value       = tu_dbl(&k, 7.0);
	assert_int_equal(vt_run(&k, &op), 0);
	op.value = tu_str(&k, "7");
	assert_int_equal(vt_run(&k, &op), ST(ERR_INVALID));
	assert_string_equal(k.res.error, "list.remove(x): x not in list");
	tu_call_fini(&k);
	ALL("l", 8, 7);
	assert_int_equal(run_int(OP(REMOVE), "l", 0, 7, NULL), 0);
	ALL("l", 8);
	vt_same("l");
}

static void test_any_values_and_clear(void **state)
{
	tu_call         k;
	mpsd_container *c;
	const char     *longs = "a string well over thirteen bytes long";

	mk("l", MPSTORE__ELEM_TYPE__TYPE_ANY);
	tu_call_init(&k);
	Mpstore__Op op = tu_op(OP(EXTEND), "l");
	op.n_values    = 6;
	op.values      = vt_vals(&k, 6);
	op.values[0]   = tu_str(&k, "short");
	op.values[1]   = tu_str(&k, longs);
	op.values[2]   = vt_null(&k);
	op.values[3]   = vt_bool(&k, 1);
	op.values[4]   = vt_bytes(&k, "\0\1\2", 3);
	op.values[5]   = tu_dbl(&k, -2.5);
	assert_int_equal(vt_run(&k, &op), 0);
	tu_call_fini(&k);
	c = mpsd_store_find(vt_st, "l");
	assert_true(c->k->memory(c) >= 6 * sizeof(mpsd_val) + strlen(longs));
	tu_call_init(&k);
	op = tu_op(OP(SLICE), "l");
	assert_int_equal(vt_run(&k, &op), 0);
	assert_int_equal(k.res.n_values, 6);
	assert_string_equal(k.res.values[1]->string_value, longs);
	assert_int_equal(k.res.values[2]->v_case, MPSTORE__VALUE__V__NOT_SET);
	assert_int_equal(k.res.values[4]->bytes_value.len, 3);
	assert_int_equal(k.res.values[4]->bytes_value.data[2], 2);
	tu_call_fini(&k);
	vt_same("l");
	tu_call_init(&k);
	op = tu_op(OP(CLEAR), "l");
	assert_int_equal(vt_run(&k, &op), 0);
	tu_call_fini(&k);
	assert_int_equal(len("l"), 0);
	assert_true(c->k->memory(c) < 100);
	vt_same("l");
}

static void test_wrong_kind(void **state)
{
	tu_call k;

	mk("l", MPSTORE__ELEM_TYPE__TYPE_INT64);
	tu_call_init(&k);
	Mpstore__Op op = tu_op(MPSTORE__OP_CODE__OP_DICT_GET, "l");
	op.key         = tu_str(&k, "x");
	assert_int_equal(vt_run(&k, &op), ST(ERR_WRONG_KIND));
	tu_call_fini(&k);
}

/* CPU time of this process: what the list's own work costs, which a
 * loaded machine does not inflate the way it inflates wall time. */
static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double) ts.tv_sec + ts.tv_nsec / 1e9;
}

/* A deque: 200k appends and pops at both ends stay O(1) each. */
static void test_large_both_ends(void **state)
{
	const int       n = 200000;
	int64_t         v;
	double          t0 = now_s();
	mpsd_container *c;

	mk("l", MPSTORE__ELEM_TYPE__TYPE_INT64);
	for (int i = 0; i < n; i++) {
		assert_int_equal(run_int(OP(INSERT), "l", 0, -i - 1, NULL), 0);
		assert_int_equal(append("l", i), 0);
	}
	assert_int_equal(len("l"), 2 * n);
	assert_int_equal(get("l", 0, &v), 0);
	assert_int_equal(v, -n);
	assert_int_equal(get("l", n, &v), 0);
	assert_int_equal(v, 0);
	assert_int_equal(run_int(OP(INSERT), "l", n, 42, NULL), 0); /* the middle: O(n) once */
	assert_int_equal(pop("l", 1, n, &v), 0);
	assert_int_equal(v, 42);
	vt_same("l");
	for (int i = 0; i < n - 1; i++) {
		assert_int_equal(pop("l", 1, 0, &v), 0);
		assert_int_equal(v, -n + i);
		assert_int_equal(pop("l", 0, 0, &v), 0);
		assert_int_equal(v, n - 1 - i);
	}
	ALL("l", -1, 0);
	c = mpsd_store_find(vt_st, "l");
	assert_true(c->k->memory(c) < 4096); /* the buffer shrank */
	vt_same("l");
	assert_true(now_s() - t0 < 10.0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_append_get_len, vt_setup, vt_teardown),
		cmocka_unit_test_setup_teardown(test_extend_and_bad_element, vt_setup, vt_teardown),
		cmocka_unit_test_setup_teardown(test_insert_clamps, vt_setup, vt_teardown),
		cmocka_unit_test_setup_teardown(test_slice, vt_setup, vt_teardown),
		cmocka_unit_test_setup_teardown(test_set, vt_setup, vt_teardown),
		cmocka_unit_test_setup_teardown(test_pop, vt_setup, vt_teardown),
		cmocka_unit_test_setup_teardown(test_remove_index, vt_setup, vt_teardown),
		cmocka_unit_test_setup_teardown(test_any_values_and_clear, vt_setup, vt_teardown),
		cmocka_unit_test_setup_teardown(test_wrong_kind, vt_setup, vt_teardown),
		cmocka_unit_test_setup_teardown(test_large_both_ends, vt_setup, vt_teardown),
	};
	return cmocka_run_group_tests_name("daemon/k_list", tests, NULL, NULL);
}
