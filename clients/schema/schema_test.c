/*
 * schema_test.c - registry, validation, compatibility, declared containers.
 * Fixtures are built by protoc at build time (see CMakeLists.txt).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

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
load(const char *path)
{
	mpss_registry *reg;
	mpss_error     err = {{0}};
	size_t         len;
	uint8_t       *set = slurp(path, &len);
	assert_int_equal(mpss_registry_alloc(&reg), 0);
	if (mpss_registry_add_set(reg, set, len, &err) != 0)
		fail_msg("add_set: %s", err.msg);
	free(set);
	return reg;
}

static void
test_registry(void **state)
{
	mpss_registry *reg = load(SHOP_PB);
	uint8_t       *out, bad[] = {0x0a, 0x05, 0x01};
	size_t         len;
	mpss_error     err;
	(void)state;
	assert_int_equal(mpss_registry_n_files(reg), 3); /* descriptor, options, shop */
	assert_non_null(mpss_registry_find(reg, "shop.Job"));
	assert_non_null(mpss_registry_find(reg, ".shop.Job"));
	assert_non_null(mpss_registry_find(reg, "shop.Job.Step"));
	assert_string_equal(mpss_msg_name(mpss_registry_find(reg, ".shop.Job")), "shop.Job");
	assert_null(mpss_registry_find(reg, "shop.Nope"));
	/* merging the same set again replaces the files: same content */
	assert_int_equal(mpss_registry_serialize(reg, &out, &len), 0);
	assert_int_equal(mpss_registry_add_set(reg, out, len, &err), 0);
	assert_int_equal(mpss_registry_n_files(reg), 3);
	free(out);
	/* garbage is refused, registry unchanged */
	assert_int_equal(mpss_registry_add_set(reg, bad, sizeof(bad), &err), MPS_ERR_SCHEMA);
	assert_non_null(strstr(err.msg, "FileDescriptorSet"));
	assert_non_null(mpss_registry_find(reg, "shop.Job"));
	mpss_registry_free(reg);
}

static void
test_unresolved(void **state)
{
	/* shop.proto alone (no imports) does not resolve its options import;
	 * a file referring to a missing message type is refused */
	mpss_registry *reg = load(FIXDIR "/inv_v1.pb");
	mpss_error     err;
	/* FileDescriptorSet{ file{ name:"x.proto" package:"x" message_type{ name:"A"
	 *   field{ name:"b" number:1 label:OPTIONAL type:MESSAGE type_name:".x.Missing" }}}} */
	static const uint8_t set[] = {
	    0x0a, 0x28, 0x0a, 0x07, 0x78, 0x2e, 0x70, 0x72, 0x6f, 0x74, 0x6f, 0x12, 0x01, 0x78,
	    0x22, 0x1a, 0x0a, 0x01, 0x41, 0x12, 0x15, 0x0a, 0x01, 0x62, 0x18, 0x01, 0x20, 0x01,
	    0x28, 0x0b, 0x32, 0x0a, 0x2e, 0x78, 0x2e, 0x4d, 0x69, 0x73, 0x73, 0x69, 0x6e, 0x67};
	(void)state;
	assert_int_equal(mpss_registry_add_set(reg, set, sizeof(set), &err), MPS_ERR_SCHEMA);
	assert_non_null(strstr(err.msg, ".x.Missing"));
	assert_int_equal(mpss_registry_n_files(reg), 1);
	mpss_registry_free(reg);
}

static void
test_validate_ok(void **state)
{
	mpss_registry *reg = load(SHOP_PB);
	mpss_error     err = {{0}};
	size_t         len;
	uint8_t       *job = slurp(FIXDIR "/job.bin", &len);
	uint8_t       *sc;
	(void)state;
	if (mpss_validate(reg, "shop.Job", job, len, &err) != 0)
		fail_msg("%s", err.msg);
	free(job);
	sc = slurp(FIXDIR "/scalars.bin", &len);
	if (mpss_validate(reg, ".shop.Scalars", sc, len, &err) != 0)
		fail_msg("%s", err.msg);
	free(sc);
	assert_int_equal(mpss_validate(reg, "shop.Job", NULL, 0, &err), 0); /* empty = defaults */
	assert_int_equal(mpss_validate(reg, "shop.Nope", NULL, 0, &err), MPS_ERR_NOT_FOUND);
	mpss_registry_free(reg);
}

static void
expect_bad(mpss_registry *reg, const char *type, const uint8_t *p, size_t n, const char *msg)
{
	mpss_error err = {{0}};
	int        rv = mpss_validate(reg, type, p, n, &err);
	if (rv != MPS_ERR_SCHEMA || strstr(err.msg, msg) == NULL)
		fail_msg("rv %d, message \"%s\", expected \"%s\"", rv, err.msg, msg);
}

static void
test_validate_bad(void **state)
{
	mpss_registry *reg = load(SHOP_PB);
	(void)state;
	/* priority (3, enum) sent as length-delimited */
	static const uint8_t wt[] = {0x1a, 0x01, 'x'};
	expect_bad(reg, "shop.Job", wt, sizeof(wt),
	           "shop.Job.priority (field 3): expected varint, got length-delimited");
	/* title (2, string) with invalid UTF-8 */
	static const uint8_t utf[] = {0x12, 0x02, 0xc3, 0x28};
	expect_bad(reg, "shop.Job", utf, sizeof(utf), "shop.Job.title (field 2): string is not valid UTF-8");
	/* truncated length */
	static const uint8_t tr[] = {0x12, 0x05, 'a'};
	expect_bad(reg, "shop.Job", tr, sizeof(tr), "shop.Job.title (field 2): truncated");
	/* truncated varint */
	static const uint8_t tv[] = {0x08, 0x80};
	expect_bad(reg, "shop.Job", tv, sizeof(tv), "shop.Job.id (field 1): truncated varint");
	/* nested: address (6) . city (2) as varint */
	static const uint8_t nest[] = {0x32, 0x02, 0x10, 0x01};
	expect_bad(reg, "shop.Job", nest, sizeof(nest),
	           "shop.Job.address: shop.Address.city (field 2): expected length-delimited, got varint");
	/* map entry: counts (5) value (2, int64) as fixed32 */
	static const uint8_t map[] = {0x2a, 0x08, 0x0a, 0x01, 'k', 0x15, 1, 2, 3, 4};
	expect_bad(reg, "shop.Job", map, sizeof(map), "value (field 2): expected varint, got fixed32");
	/* repeated message: steps[1].cost (double) as varint */
	static const uint8_t rep[] = {0x52, 0x00, 0x52, 0x02, 0x10, 0x01};
	expect_bad(reg, "shop.Job", rep, sizeof(rep),
	           "shop.Job.steps[1]: shop.Job.Step.cost (field 2): expected fixed64, got varint");
	/* packed repeated int32 with a bad varint inside; packed fixed with a bad length */
	static const uint8_t pk[] = {0x82, 0x01, 0x02, 0x01, 0x80};
	expect_bad(reg, "shop.Scalars", pk, sizeof(pk), "r_int32 (field 16): truncated varint in packed");
	static const uint8_t pd[] = {0x8a, 0x01, 0x03, 1, 2, 3};
	expect_bad(reg, "shop.Scalars", pd, sizeof(pd), "not a multiple of 8");
	/* unknown field: fine when well-formed, refused when truncated */
	static const uint8_t unk[] = {0xf8, 0x06, 0x05, 0xfa, 0x06, 0x01, 'z'};
	assert_int_equal(mpss_validate(reg, "shop.Job", unk, sizeof(unk), NULL), 0);
	static const uint8_t unkbad[] = {0xfa, 0x06, 0x09, 'z'};
	expect_bad(reg, "shop.Job", unkbad, sizeof(unkbad), "(unknown field 111)");
	/* wire type 7, field number 0 */
	static const uint8_t w7[] = {0x0f};
	expect_bad(reg, "shop.Job", w7, sizeof(w7), "invalid wire type 7");
	static const uint8_t f0[] = {0x00, 0x01};
	expect_bad(reg, "shop.Job", f0, sizeof(f0), "invalid field number 0");
	/* a Scalars encoding read as Job: f_double (1, fixed64) clashes with id (varint) */
	{
		size_t   len;
		uint8_t *sc = slurp(FIXDIR "/scalars.bin", &len);
		expect_bad(reg, "shop.Job", sc, len, "shop.Job.id (field 1): expected varint, got fixed64");
		free(sc);
	}
	mpss_registry_free(reg);
}

static void
test_deep(void **state)
{
	mpss_registry *reg = load(SHOP_PB);
	/* Job.address nested 100 times is impossible (Address has no message
	 * field), so nest unknown groups instead: start-group x 100 */
	uint8_t    buf[200];
	mpss_error err;
	(void)state;
	for (int i = 0; i < 100; i++)
		buf[i] = (13 << 3) | 3; /* field 13 (unknown), start group */
	assert_int_equal(mpss_validate(reg, "shop.Job", buf, 100, &err), MPS_ERR_SCHEMA);
	mpss_registry_free(reg);
}

static void
test_containers(void **state)
{
	mpss_registry  *reg = load(SHOP_PB);
	mpss_container *c;
	size_t          n;
	mpss_error      err;
	(void)state;
	if (mpss_containers(reg, NULL, &c, &n, &err) != 0)
		fail_msg("%s", err.msg);
	assert_int_equal(n, 10);
	assert_string_equal(c[0].name, "shop.jobs");
	assert_int_equal(c[0].kind, 2);
	assert_int_equal(c[0].elem_type, 6);
	assert_string_equal(c[0].message_type, "shop.Job");
	assert_string_equal(c[0].store, "shop.Shop");
	assert_string_equal(c[0].field, "jobs");
	assert_string_equal(c[0].file, "shop.proto");
	assert_string_equal(c[1].name, "shop.by_id");
	assert_int_equal(c[1].kind, 3);
	assert_int_equal(c[1].key_type, 0);
	assert_string_equal(c[1].message_type, "shop.Job");
	assert_int_equal(c[2].kind, 1); /* done: counter */
	assert_int_equal(c[2].elem_type, 1);
	assert_int_equal(c[3].elem_type, 2); /* load: double */
	assert_int_equal(c[4].kind, 2);      /* ids: list of int64 */
	assert_int_equal(c[4].elem_type, 1);
	assert_null(c[4].message_type);
	assert_int_equal(c[5].kind, 4); /* todo: queue */
	assert_int_equal(c[5].maxsize, 100);
	assert_string_equal(c[6].name, "shop.sample_table");
	assert_int_equal(c[6].key_type, 1);
	assert_string_equal(c[6].message_type, "shop.Scalars");
	assert_int_equal(c[7].kind, 1);
	assert_string_equal(c[7].message_type, "shop.Address");
	assert_int_equal(c[8].elem_type, 4);
	assert_int_equal(c[9].kind, 9); /* event */
	assert_int_equal(c[9].elem_type, 0);
	mpss_containers_free(c, n);
	assert_int_equal(mpss_containers(reg, "other.proto", &c, &n, &err), 0);
	assert_int_equal(n, 0);
	mpss_containers_free(c, n);
	assert_string_equal(mpss_kind_name(4), "queue");
	assert_string_equal(mpss_elem_name(6), "message");
	mpss_registry_free(reg);
}

static void
test_compat(void **state)
{
	mpss_registry *v1 = load(FIXDIR "/inv_v1.pb");
	mpss_registry *ok = load(FIXDIR "/inv_v2ok.pb");
	mpss_registry *bad = load(FIXDIR "/inv_v2bad.pb");
	mpss_registry *shop = load(SHOP_PB);
	mpss_error     err = {{0}};
	const char    *used[] = {"inv.Item"};
	uint8_t       *set;
	size_t         len;
	(void)state;
	if (mpss_compat_check(v1, ok, "inv.Item", &err) != 0)
		fail_msg("%s", err.msg);
	assert_int_equal(mpss_compat_check(v1, bad, "inv.Item", &err), MPS_ERR_SCHEMA);
	assert_non_null(strstr(err.msg, "inv.Part.qty (field 2): type int32 -> string"));
	assert_int_equal(mpss_compat_check(v1, shop, "inv.Item", &err), MPS_ERR_SCHEMA);
	assert_non_null(strstr(err.msg, "no longer defined"));
	/* v2 -> v1: string -> bytes was fine, bytes -> string (proto3) is not */
	assert_int_equal(mpss_compat_check(ok, v1, "inv.Item", &err), MPS_ERR_SCHEMA);
	assert_non_null(strstr(err.msg, "bytes -> string"));
	/* checked merge: refused with the used type, accepted without */
	set = slurp(FIXDIR "/inv_v2bad.pb", &len);
	assert_int_equal(mpss_registry_add_set_checked(v1, set, len, used, 1, &err), MPS_ERR_SCHEMA);
	assert_non_null(strstr(err.msg, "int32 -> string"));
	assert_string_equal(mpss_msg_name(mpss_registry_find(v1, "inv.Part")), "inv.Part");
	assert_int_equal(mpss_registry_add_set_checked(v1, set, len, NULL, 0, &err), 0);
	free(set);
	set = slurp(FIXDIR "/inv_v2ok.pb", &len);
	assert_int_equal(mpss_registry_add_set_checked(ok, set, len, used, 1, &err), 0);
	free(set);
	mpss_registry_free(v1);
	mpss_registry_free(ok);
	mpss_registry_free(bad);
	mpss_registry_free(shop);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_registry),   cmocka_unit_test(test_unresolved),
	    cmocka_unit_test(test_validate_ok), cmocka_unit_test(test_validate_bad),
	    cmocka_unit_test(test_deep),       cmocka_unit_test(test_containers),
	    cmocka_unit_test(test_compat),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
