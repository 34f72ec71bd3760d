/*
 * json_test.c - the JSON parser and message <-> JSON conversion.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "json.h"
#include "mpstore/mpstore.h"
#include "schema.h"

static uint8_t *
slurp(const char *path, size_t *len)
{
	FILE    *f = fopen(path, "rb");
	uint8_t *p;
	long     n;
	assert_non_null(f);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	p = malloc((size_t)n + 1);
	assert_int_equal(fread(p, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	*len = (size_t)n;
	return p;
}

static mpss_registry *
load(void)
{
	mpss_registry *reg;
	size_t         len;
	uint8_t       *set = slurp(SHOP_PB, &len);
	assert_int_equal(mpss_registry_alloc(&reg), 0);
	assert_int_equal(mpss_registry_add_set(reg, set, len, NULL), 0);
	free(set);
	return reg;
}

static void
test_parse(void **state)
{
	mpss_json  *j;
	mpss_error  err;
	const char *t = " {\"a\": [1, -2.5e3, true, false, null], \"s\": \"x\\u00e9\\ud83d\\ude00\\n\", "
	                "\"o\": {}} ";
	(void)state;
	assert_int_equal(mpss_json_parse(t, strlen(t), &j, &err), 0);
	assert_int_equal(j->type, MPSS_JSON_OBJECT);
	assert_int_equal(j->n, 3);
	const mpss_json *a = mpss_json_get(j, "a");
	assert_int_equal(a->n, 5);
	assert_string_equal(a->items[0]->str, "1");
	assert_true(a->items[1]->num == -2500.0);
	assert_int_equal(a->items[2]->type, MPSS_JSON_TRUE);
	assert_int_equal(a->items[4]->type, MPSS_JSON_NULL);
	assert_string_equal(mpss_json_get(j, "s")->str, "x\xc3\xa9\xf0\x9f\x98\x80\n");
	assert_int_equal(mpss_json_get(j, "o")->n, 0);
	mpss_json_free(j);

	static const char *bad[] = {"", "{", "[1,]", "{\"a\" 1}", "01", "1.", "\"\\x\"", "tru",
	                            "[1] 2", "\"\\ud800\"", "{\"a\":1,}", "\"a\tb\""};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (mpss_json_parse(bad[i], strlen(bad[i]), &j, &err) != MPS_ERR_INVALID)
			fail_msg("accepted bad JSON: %s", bad[i]);
		assert_null(j);
	}
	assert_int_equal(mpss_json_parse("[1,", 3, &j, &err), MPS_ERR_INVALID);
	assert_non_null(strstr(err.msg, "line 1 col"));
}

static void
test_to_json(void **state)
{
	mpss_registry *reg = load();
	size_t         len;
	uint8_t       *job = slurp(FIXDIR "/job.bin", &len);
	char          *json;
	mpss_error     err = {{0}};
	(void)state;
	if (mpss_to_json(reg, "shop.Job", job, len, &json, &err) != 0)
		fail_msg("%s", err.msg);
	assert_string_equal(json,
	    "{\"id\":12,\"title\":\"build\",\"priority\":\"LOW\",\"tags\":[\"a\",\"b\"],"
	    "\"counts\":{\"x\":3},\"address\":{\"street\":\"Main\",\"city\":\"Oslo\"},"
	    "\"payload\":\"aGk=\",\"port\":8080,\"steps\":[{\"name\":\"s1\",\"cost\":0.25}],"
	    "\"done\":true}");
	free(json);
	free(job);
	job = slurp(FIXDIR "/scalars.bin", &len);
	if (mpss_to_json(reg, "shop.Scalars", job, len, &json, &err) != 0)
		fail_msg("%s", err.msg);
	assert_string_equal(json,
	    "{\"f_double\":1.5,\"f_float\":-2.25,\"f_int32\":-42,\"f_int64\":-9000000000,"
	    "\"f_uint32\":4000000000,\"f_uint64\":18000000000000000000,\"f_sint32\":-7,"
	    "\"f_sint64\":-9000000000,\"f_fixed32\":123,\"f_fixed64\":456,\"f_sfixed32\":-5,"
	    "\"f_sfixed64\":-6,\"f_bool\":true,\"f_string\":\"h\xc3\xa9llo \\\"q\\\"\","
	    "\"f_bytes\":\"AAH/\",\"r_int32\":[1,-2,3],\"r_double\":[0.5],"
	    "\"m_int\":{\"5\":\"five\"},\"f_enum\":\"HIGH\"}");
	free(json);
	/* invalid bytes are refused, not printed */
	assert_int_equal(mpss_to_json(reg, "shop.Job", (const uint8_t *)"\x1a\x01x", 3, &json, &err),
	                 MPS_ERR_SCHEMA);
	free(job);
	mpss_registry_free(reg);
}

/* JSON -> bytes must equal what protoc --encode made (same field order) */
static void
test_from_json(void **state)
{
	mpss_registry *reg = load();
	size_t         len, n2;
	uint8_t       *want = slurp(FIXDIR "/scalars.bin", &len), *got;
	char          *json, *json2;
	mpss_error     err = {{0}};
	(void)state;
	assert_int_equal(mpss_to_json(reg, "shop.Scalars", want, len, &json, &err), 0);
	if (mpss_from_json(reg, "shop.Scalars", json, strlen(json), &got, &n2, &err) != 0)
		fail_msg("%s", err.msg);
	assert_int_equal(n2, len);
	assert_memory_equal(got, want, len);
	free(got);
	free(json);
	free(want);

	/* json names, strings for numbers, enum numbers, url-safe base64, null */
	const char *in = "{\"fInt64\":\"-5\",\"f_uint64\":\"18446744073709551615\",\"f_enum\":2,"
	                 "\"f_bytes\":\"_-8\",\"f_double\":\"NaN\",\"f_float\":\"-Infinity\","
	                 "\"f_string\":null,\"r_int32\":[],\"m_int\":{\"-3\":\"m\"},\"f_int32\":1e2}";
	assert_int_equal(mpss_from_json(reg, "shop.Scalars", in, strlen(in), &got, &n2, &err), 0);
	assert_int_equal(mpss_validate(reg, "shop.Scalars", got, n2, &err), 0);
	assert_int_equal(mpss_to_json(reg, "shop.Scalars", got, n2, &json2, &err), 0);
	assert_string_equal(json2,
	    "{\"f_double\":\"NaN\",\"f_float\":\"-Infinity\",\"f_int32\":100,\"f_int64\":-5,"
	    "\"f_uint64\":18446744073709551615,\"f_bytes\":\"/+8=\",\"m_int\":{\"-3\":\"m\"},"
	    "\"f_enum\":\"HIGH\"}");
	free(json2);
	free(got);

	/* a nested message with oneof, map, repeated messages */
	in = "{\"id\":1,\"host\":\"h\",\"steps\":[{\"name\":\"a\"},{\"cost\":2}],"
	     "\"address\":{\"city\":\"c\"},\"counts\":{\"k\":7}}";
	assert_int_equal(mpss_from_json(reg, "shop.Job", in, strlen(in), &got, &n2, &err), 0);
	assert_int_equal(mpss_to_json(reg, "shop.Job", got, n2, &json2, &err), 0);
	assert_string_equal(json2, "{\"id\":1,\"counts\":{\"k\":7},\"address\":{\"city\":\"c\"},"
	                           "\"host\":\"h\",\"steps\":[{\"name\":\"a\"},{\"cost\":2}]}");
	free(json2);
	free(got);
	mpss_registry_free(reg);
}

static void
from_json_bad(mpss_registry *reg, const char *type, const char *in, const char *msg)
{
	uint8_t   *got = NULL;
	size_t     n;
	mpss_error err = {{0}};
	int        rv = mpss_from_json(reg, type, in, strlen(in), &got, &n, &err);
	if (rv != MPS_ERR_INVALID || strstr(err.msg, msg) == NULL)
		fail_msg("%s: rv %d, \"%s\", expected \"%s\"", in, rv, err.msg, msg);
}

static void
test_from_json_errors(void **state)
{
	mpss_registry *reg = load();
	(void)state;
	from_json_bad(reg, "shop.Job", "{\"nope\":1}", "no field \"nope\" in shop.Job");
	from_json_bad(reg, "shop.Job", "{\"id\":\"x\"}", "(shop.Job.id, int64): expected an integer");
	from_json_bad(reg, "shop.Job", "{\"id\":1.5}", "expected an integer");
	from_json_bad(reg, "shop.Job", "{\"title\":5}", "at title (shop.Job.title, string): expected a string");
	from_json_bad(reg, "shop.Job", "{\"priority\":\"MEDIUM\"}", "unknown enum value name");
	from_json_bad(reg, "shop.Job", "{\"tags\":\"a\"}", "expected an array");
	from_json_bad(reg, "shop.Job", "{\"steps\":[{\"cost\":\"x\"}]}",
	              "at steps[0].cost (shop.Job.Step.cost, double): expected a number");
	from_json_bad(reg, "shop.Job", "{\"counts\":{\"k\":\"v\"}}", "counts[\"k\"]");
	from_json_bad(reg, "shop.Job", "{\"payload\":\"a\"}", "bad base64");
	from_json_bad(reg, "shop.Job", "[1]", "expected an object");
	from_json_bad(reg, "shop.Job", "{\"id\":", "JSON line 1");
	from_json_bad(reg, "shop.Scalars", "{\"f_int32\":3000000000}", "out of range");
	from_json_bad(reg, "shop.Scalars", "{\"f_uint32\":-1}", "negative");
	from_json_bad(reg, "shop.Scalars", "{\"f_int64\":9223372036854775808}", "out of range");
	from_json_bad(reg, "shop.Scalars", "{\"f_float\":1e39}", "out of range for float");
	from_json_bad(reg, "shop.Scalars", "{\"m_int\":{\"x\":\"y\"}}", "expected an integer");
	mpss_registry_free(reg);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_parse),     cmocka_unit_test(test_to_json),
	    cmocka_unit_test(test_from_json), cmocka_unit_test(test_from_json_errors),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
