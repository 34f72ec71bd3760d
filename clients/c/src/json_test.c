/* json_test.c - values to and from JSON, value helpers, wire conversion. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "mps_int.h"

static void
roundtrip(const mps_value *v, const char *want)
{
	char *s = mps_value_to_json(v);
	assert_non_null(s);
	assert_string_equal(s, want);
	mps_value back;
	assert_int_equal(mps_value_from_json(s, &back), MPS_OK);
	assert_true(mps_value_equal(v, &back));
	mps_value_free(&back);
	free(s);
}

static void
test_scalars(void **state)
{
	(void) state;
	mps_value v = mps_null();
	roundtrip(&v, "null");
	v = mps_int(42);
	roundtrip(&v, "42");
	v = mps_int(-9223372036854775807LL - 1);
	roundtrip(&v, "-9223372036854775808");
	v = mps_double(1.5);
	roundtrip(&v, "1.5");
	v = mps_double(2.0);
	roundtrip(&v, "2.0");
	v = mps_double(0.1);
	roundtrip(&v, "0.1");
	v = mps_double(1e300);
	roundtrip(&v, "1e+300");
	/* as Python's repr and json.dumps print doubles */
	v = mps_double(1e3);
	roundtrip(&v, "1000.0");
	v = mps_double(1e15);
	roundtrip(&v, "1000000000000000.0");
	v = mps_double(1e16);
	roundtrip(&v, "1e+16");
	v = mps_double(0.0001);
	roundtrip(&v, "0.0001");
	v = mps_double(1.5e-5);
	roundtrip(&v, "1.5e-05");
	v = mps_double(-0.0);
	roundtrip(&v, "-0.0");
	v = mps_double(12345678901234567890.0);
	roundtrip(&v, "1.2345678901234567e+19");
	v = mps_double(123.456);
	roundtrip(&v, "123.456");
	v = mps_bool(1);
	roundtrip(&v, "true");
	v = mps_bool(0);
	roundtrip(&v, "false");
	v = mps_str("text");
	roundtrip(&v, "\"text\"");
	v = mps_str("a\"b\\c\n\x01");
	roundtrip(&v, "\"a\\\"b\\\\c\\n\\u0001\"");
	v = mps_str("");
	roundtrip(&v, "\"\"");
	v = mps_bytes("\x00\xff\x10", 3);
	roundtrip(&v, "{\"$bytes\":\"AP8Q\"}");
	v = mps_message("ab", 2);
	roundtrip(&v, "{\"$message\":\"YWI=\"}");
}

static void
test_parse(void **state)
{
	(void) state;
	mps_value v;
	assert_int_equal(mps_value_from_json("  7 ", &v), MPS_OK);
	assert_int_equal(v.type, MPS_INT);
	assert_int_equal(v.u.i, 7);
	assert_int_equal(mps_value_from_json("1e2", &v), MPS_OK);
	assert_int_equal(v.type, MPS_DOUBLE);
	assert_true(v.u.d == 100.0);
	assert_int_equal(mps_value_from_json("99999999999999999999", &v), MPS_OK);
	assert_int_equal(v.type, MPS_DOUBLE);
	assert_int_equal(mps_value_from_json("\"\\u00e9\\ud83d\\ude00\"", &v), MPS_OK);
	assert_int_equal(v.type, MPS_STRING);
	assert_string_equal(v.u.s.ptr, "\xc3\xa9\xf0\x9f\x98\x80");
	mps_value_free(&v);
	assert_int_equal(mps_value_from_json("NaN", &v), MPS_OK);
	assert_true(isnan(v.u.d));

	const char *bad[] = {"", "hello", "01", "1.", "-", "\"open", "tru", "[1]", "{}",
		"1 2", "{\"$bytes\":\"!!\"}", "\"a\tb\"", "+1", ".5"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(mps_value_from_json(bad[i], &v), MPS_ERR_INVALID);
		assert_int_equal(v.type, MPS_NULL);
	}
}

static void
test_value_helpers(void **state)
{
	(void) state;
	mps_value a = mps_str("abc"), b, c = mps_strn("abcd", 3);
	assert_int_equal(mps_value_dup(&b, &a), MPS_OK);
	assert_true(b.u.s.ptr != a.u.s.ptr);
	assert_true(mps_value_equal(&a, &b));
	assert_true(mps_value_equal(&a, &c));
	mps_value_free(&b);
	assert_int_equal(b.type, MPS_NULL);
	mps_value_free(NULL);
	mps_values_free(NULL, 3);
	mps_value i1 = mps_int(1), d1 = mps_double(1.0);
	assert_false(mps_value_equal(&i1, &d1));

	assert_string_equal(mps_kind_name(MPS_KIND_BOUNDED_SEMAPHORE), "bounded-semaphore");
	assert_string_equal(mps_kind_name(99), "?");
	assert_int_equal(mps_kind_parse("counter"), MPS_KIND_VALUE);
	assert_int_equal(mps_kind_parse("namespace"), MPS_KIND_NAMESPACE);
	assert_int_equal(mps_kind_parse("nope"), -1);
	assert_int_equal(mps_elem_type_parse("int64"), MPS_TYPE_INT64);
	assert_int_equal(mps_elem_type_parse("bytes"), MPS_TYPE_BYTES);
	assert_string_equal(mps_elem_type_name(MPS_TYPE_DOUBLE), "double");
}

static void
test_wire(void **state)
{
	(void) state;
	char       buf[64];
	mps__arena a;
	mps__arena_init(&a, buf, sizeof(buf));
	mps_value in[] = {mps_null(), mps_int(-3), mps_double(2.5), mps_bool(1),
		mps_strn("xyz!", 3), mps_bytes("\0\1", 2), mps_message("m", 1)};
	for (size_t i = 0; i < sizeof(in) / sizeof(in[0]); i++) {
		Mpstore__Value *pv = mps__pv_new(&a, &in[i]);
		assert_non_null(pv);
		/* through the wire and back */
		size_t   n   = mpstore__value__get_packed_size(pv);
		uint8_t *enc = malloc(n + 1);
		mpstore__value__pack(pv, enc);
		Mpstore__Value *dec = mpstore__value__unpack(&a.pa, n, enc);
		assert_non_null(dec);
		mps_value view, copy;
		mps__pv_view(dec, &view);
		assert_true(mps_value_equal(&view, &in[i]));
		assert_int_equal(mps__pv_copy(dec, &copy), MPS_OK);
		assert_true(mps_value_equal(&copy, &in[i]));
		mps_value_free(&copy);
		free(enc);
	}
	/* grows past the first buffer into chunks, and reset keeps one */
	for (int i = 0; i < 1000; i++) {
		assert_non_null(mps__arena_alloc(&a, 100));
	}
	mps__arena_reset(&a);
	assert_non_null(mps__arena_zalloc(&a, 50000));
	mps__arena_fini(&a);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_scalars),
		cmocka_unit_test(test_parse),
		cmocka_unit_test(test_value_helpers),
		cmocka_unit_test(test_wire),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
