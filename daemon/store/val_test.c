/* val_test.c - the 16-byte value: inline/heap strings, equality, hash,
 * protobuf conversion. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "val.h"

static void test_size_and_inline(void **state)
{
	mpsd_val    v, w;
	size_t      n;
	const char *p;

	assert_int_equal(sizeof(mpsd_val), 16);
	assert_int_equal(mpsd_val_blob(&v, MPSD_V_STR, "thirteen byte", 13), 0);
	assert_int_equal(mpsd_val_heap(&v), 0);
	p = mpsd_val_data(&v, &n);
	assert_int_equal(n, 13);
	assert_string_equal(p, "thirteen byte");
	assert_int_equal(mpsd_val_blob(&w, MPSD_V_STR, "fourteen bytes", 14), 0);
	assert_int_equal(mpsd_val_heap(&w), 15);
	assert_string_equal(mpsd_val_data(&w, &n), "fourteen bytes");
	assert_int_equal(n, 14);
	mpsd_val_fini(&v);
	mpsd_val_fini(&w);
	assert_int_equal(w.type, MPSD_V_NULL);
	assert_int_equal(mpsd_val_blob(&v, MPSD_V_BYTES, "a\0b", 3), 0);
	p = mpsd_val_data(&v, &n);
	assert_int_equal(n, 3);
	assert_memory_equal(p, "a\0b", 3);
	mpsd_val_fini(&v);
	mpsd_val_fini(&v); /* fini twice is harmless */
}

static void test_dup(void **state)
{
	mpsd_val    a, b;
	const char *s = "a string long enough to live on the heap";

	assert_int_equal(mpsd_val_blob(&a, MPSD_V_STR, s, strlen(s)), 0);
	assert_int_equal(mpsd_val_dup(&b, &a), 0);
	assert_ptr_not_equal(mpsd_val_data(&a, NULL), mpsd_val_data(&b, NULL));
	assert_true(mpsd_val_equal(&a, &b));
	mpsd_val_fini(&a);
	assert_string_equal(mpsd_val_data(&b, NULL), s);
	mpsd_val_fini(&b);
	mpsd_val_int(&a, -7);
	assert_int_equal(mpsd_val_dup(&b, &a), 0);
	assert_int_equal(mpsd_val_get_int(&b), -7);
}

static void test_equal(void **state)
{
	mpsd_val i1, d1, d15, big, bigd, s1, b1, n1, n2, t;

	mpsd_val_int(&i1, 1);
	mpsd_val_double(&d1, 1.0);
	mpsd_val_double(&d15, 1.5);
	mpsd_val_int(&big, ((int64_t) 1 << 53) + 1);
	mpsd_val_double(&bigd, (double) ((int64_t) 1 << 53));
	mpsd_val_blob(&s1, MPSD_V_STR, "1", 1);
	mpsd_val_blob(&b1, MPSD_V_BYTES, "1", 1);
	mpsd_val_null(&n1);
	mpsd_val_null(&n2);
	mpsd_val_bool(&t, 1);
	assert_true(mpsd_val_equal(&i1, &d1));
	assert_true(mpsd_val_equal(&d1, &i1));
	assert_int_equal(mpsd_val_hash(&i1), mpsd_val_hash(&d1));
	assert_false(mpsd_val_equal(&i1, &d15));
	assert_false(mpsd_val_equal(&big, &bigd)); /* exact, like Python */
	assert_false(mpsd_val_equal(&s1, &b1));
	assert_false(mpsd_val_equal(&s1, &i1));
	assert_false(mpsd_val_equal(&t, &i1));
	assert_true(mpsd_val_equal(&n1, &n2));
	assert_false(mpsd_val_equal(&n1, &i1));
}

static void test_hash(void **state)
{
	mpsd_val a, b;
	const char *l1 = "a long string that is on the heap", *l2 = "a long string that is on the heaq";

	mpsd_val_blob(&a, MPSD_V_STR, l1, strlen(l1));
	mpsd_val_blob(&b, MPSD_V_STR, l1, strlen(l1));
	assert_int_equal(mpsd_val_hash(&a), mpsd_val_hash(&b));
	mpsd_val_fini(&b);
	mpsd_val_blob(&b, MPSD_V_STR, l2, strlen(l2));
	assert_int_not_equal(mpsd_val_hash(&a), mpsd_val_hash(&b));
	assert_false(mpsd_val_equal(&a, &b));
	mpsd_val_fini(&a);
	mpsd_val_fini(&b);
	mpsd_val_int(&a, 1);
	mpsd_val_int(&b, 2);
	assert_int_not_equal(mpsd_val_hash(&a), mpsd_val_hash(&b));
	mpsd_val_double(&a, 0.0);
	mpsd_val_double(&b, -0.0);
	assert_true(mpsd_val_equal(&a, &b));
	assert_int_equal(mpsd_val_hash(&a), mpsd_val_hash(&b));
}

static void test_pb(void **state)
{
	Mpstore__Value pv = MPSTORE__VALUE__INIT, out;
	mpsd_val       v;
	const char    *s = "a string long enough to live on the heap";

	assert_int_equal(mpsd_val_from_pb(&v, NULL), 0);
	assert_int_equal(v.type, MPSD_V_NULL);
	mpsd_val_to_pb(&v, &out);
	assert_int_equal(out.v_case, MPSTORE__VALUE__V__NOT_SET);

	pv.v_case       = MPSTORE__VALUE__V_STRING_VALUE;
	pv.string_value = (char *) s;
	assert_int_equal(mpsd_val_from_pb(&v, &pv), 0);
	assert_int_equal(v.type, MPSD_V_STR);
	mpsd_val_to_pb(&v, &out);
	assert_int_equal(out.v_case, MPSTORE__VALUE__V_STRING_VALUE);
	assert_string_equal(out.string_value, s);
	mpsd_val_fini(&v);

	pv.v_case             = MPSTORE__VALUE__V_MESSAGE_VALUE;
	pv.message_value.data = (uint8_t *) "\x08\x01";
	pv.message_value.len  = 2;
	assert_int_equal(mpsd_val_from_pb(&v, &pv), 0);
	assert_int_equal(v.type, MPSD_V_MSG);
	mpsd_val_to_pb(&v, &out);
	assert_int_equal(out.v_case, MPSTORE__VALUE__V_MESSAGE_VALUE);
	assert_int_equal(out.message_value.len, 2);
	assert_memory_equal(out.message_value.data, "\x08\x01", 2);

	pv.v_case       = MPSTORE__VALUE__V_DOUBLE_VALUE;
	pv.double_value = 2.5;
	assert_int_equal(mpsd_val_from_pb(&v, &pv), 0);
	mpsd_val_to_pb(&v, &out);
	assert_true(out.double_value == 2.5);

	pv.v_case     = MPSTORE__VALUE__V_BOOL_VALUE;
	pv.bool_value = 1;
	assert_int_equal(mpsd_val_from_pb(&v, &pv), 0);
	mpsd_val_to_pb(&v, &out);
	assert_int_equal(out.v_case, MPSTORE__VALUE__V_BOOL_VALUE);
	assert_true(out.bool_value);

	pv.v_case    = MPSTORE__VALUE__V_INT_VALUE;
	pv.int_value = INT64_MIN;
	assert_int_equal(mpsd_val_from_pb(&v, &pv), 0);
	mpsd_val_to_pb(&v, &out);
	assert_int_equal(out.int_value, INT64_MIN);
}

static void test_names(void **state)
{
	assert_string_equal(mpsd_vtype_name(MPSD_V_INT), "int64");
	assert_string_equal(mpsd_vtype_name(MPSD_V_STR), "string");
	assert_string_equal(mpsd_vtype_name(MPSD_V_NULL), "null");
	assert_string_equal(mpsd_vtype_name((mpsd_vtype) 99), "unknown");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_size_and_inline),
		cmocka_unit_test(test_dup),
		cmocka_unit_test(test_equal),
		cmocka_unit_test(test_hash),
		cmocka_unit_test(test_pb),
		cmocka_unit_test(test_names),
	};
	return cmocka_run_group_tests_name("daemon/val", tests, NULL, NULL);
}
