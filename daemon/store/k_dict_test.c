/* k_dict_test.c - KIND_DICT and KIND_NAMESPACE ops, errors, order, paging,
 * replay and dump, and a million-entry table. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <cmocka.h>

#include "dict_table.h"
#include "val_testutil.h"

#define OP(c) MPSTORE__OP_CODE__OP_DICT_##c
#define ST(s) MPSTORE__STATUS__##s

/* A key spec: "#42" is the int64 key 42, anything else a string key. */
static Mpstore__Value *key(tu_call *k, const char *spec)
{
	if (spec[0] == '#')
		return tu_int(k, strtoll(spec + 1, NULL, 10));
	return tu_str(k, spec);
}

static void mk(const char *name, Mpstore__ElemType et, Mpstore__KeyType kt)
{
	assert_int_equal(vt_create(name, MPSTORE__KIND__KIND_DICT, et, kt, 0, NULL), 0);
}

static int dset(const char *name, const char *ks, int64_t v)
{
	tu_call k;
	tu_call_init(&k);
	Mpstore__Op op = tu_op(OP(SET), name);
	op.key         = key(&k, ks);
	op.value       = tu_int(&k, v);
	int rv         = vt_run(&k, &op);
	tu_call_fini(&k);
	return rv;
}

/* get, del, contains, pop, setdefault: key (+ value/default when has_v) */
static int dop(Mpstore__OpCode code, const char *name, const char *ks, int has_v, int64_t v, int64_t *out)
{
	tu_call k;
	tu_call_init(&k);
	Mpstore__Op op = tu_op(code, name);
	op.key         = key(&k, ks);
	if (has_v) {
		op.value = tu_int(&k, v);
		op.flags = MPSTORE__OP_FLAG__FLAG_HAS_DEFAULT;
	}
	int rv = vt_run(&k, &op);
	if (rv == 0 && out != NULL)
		*out = code == OP(CONTAINS) ? k.res.flag : k.res.value->int_value;
	if (rv == 0 && code == OP(SETDEFAULT) && !has_v)
		assert_int_equal(k.res.value->v_case, MPSTORE__VALUE__V__NOT_SET);
	tu_call_fini(&k);
	return rv;
}

static int64_t dlen(const char *name)
{
	tu_call k;
	tu_call_init(&k);
	Mpstore__Op op = tu_op(OP(LEN), name);
	assert_int_equal(vt_run(&k, &op), 0);
	int64_t n = k.res.count;
	tu_call_fini(&k);
	return n;
}

/* All keys, paged by `page`, joined as "a,b,c" (int keys as #n). */
static void keys_are(const char *name, int64_t page, const char *want)
{
	char    got[4096] = "";
	int64_t cursor = 0;
	int     pages  = 0;

	do {
		tu_call k;
		tu_call_init(&k);
		Mpstore__Op op = tu_op(OP(ITEMS), name);
		op.index       = cursor;
		op.count       = page;
		assert_int_equal(vt_run(&k, &op), 0);
		assert_int_equal(k.res.n_keys, k.res.n_values);
		if (page > 0)
			assert_true((int64_t) k.res.n_keys <= page);
		for (size_t i = 0; i < k.res.n_keys; i++) {
			size_t l = strlen(got);
			if (k.res.keys[i]->v_case == MPSTORE__VALUE__V_INT_VALUE)
				snprintf(got + l, sizeof(got) - l, "%s#%lld", l ? "," : "",
				    (long long) k.res.keys[i]->int_value);
			else
				snprintf(got + l, sizeof(got) - l, "%s%s", l ? "," : "", k.res.keys[i]->string_value);
		}
		cursor = k.res.next;
		tu_call_fini(&k);
		assert_true(++pages < 1000);
	} while (cursor >= 0);
	assert_string_equal(got, want);
}

static void test_set_get_contains(void **state)
{
	tu_call k;
	int64_t v;

	mk("d", MPSTORE__ELEM_TYPE__TYPE_INT64, MPSTORE__KEY_TYPE__KEY_STRING);
	assert_int_equal(dset("d", "a", 1), 0);
	assert_int_equal(dset("d", "b", 2), 0);
	assert_int_equal(dset("d", "a", 10), 0);
	assert_int_equal(dlen("d"), 2);
	assert_int_equal(dop(OP(GET), "d", "a", 0, 0, &v), 0);
	assert_int_equal(v, 10);
	assert_int_equal(dop(OP(CONTAINS), "d", "b", 0, 0, &v), 0);
	assert_int_equal(v, 1);
	assert_int_equal(dop(OP(CONTAINS), "d", "zz", 0, 0, &v), 0);
	assert_int_equal(v, 0);
	assert_int_equal(dop(OP(GET), "d", "zz", 1, 99, &v), 0);
	assert_int_equal(v, 99);
	tu_call_init(&k);
	Mpstore__Op op = tu_op(OP(GET), "d");
	op.key         = tu_str(&k, "missing");
	assert_int_equal(vt_run(&k, &op), ST(ERR_NO_KEY));
	assert_non_null(strstr(k.res.error, "'missing'"));
	/* wrong key type, wrong value type, null key: nothing changes */
	op       = tu_op(OP(SET), "d");
	op.key   = tu_int(&k, 1);
	op.value = tu_int(&k, 1);
	assert_int_equal(vt_run(&k, &op), ST(ERR_WRONG_TYPE));
	op.key   = tu_str(&k, "c");
	op.value = tu_str(&k, "one");
	assert_int_equal(vt_run(&k, &op), ST(ERR_WRONG_TYPE));
	op.key   = NULL;
	op.value = tu_int(&k, 1);
	assert_int_equal(vt_run(&k, &op), ST(ERR_WRONG_TYPE));
	tu_call_fini(&k);
	assert_int_equal(dlen("d"), 2);
	keys_are("d", 0, "a,b");
	vt_same("d");
}

static void test_int_keys(void **state)
{
	int64_t v;

	mk("d", MPSTORE__ELEM_TYPE__TYPE_ANY, MPSTORE__KEY_TYPE__KEY_INT64);
	assert_int_equal(dset("d", "#-5", 1), 0);
	assert_int_equal(dset("d", "#7", 2), 0);
	assert_int_equal(dset("d", "x", 2), ST(ERR_WRONG_TYPE));
	assert_int_equal(dop(OP(GET), "d", "#-5", 0, 0, &v), 0);
	assert_int_equal(v, 1);
	assert_int_equal(dop(OP(DEL), "d", "#8", 0, 0, NULL), ST(ERR_NO_KEY));
	keys_are("d", 1, "#-5,#7");
	vt_same("d");
}

static void test_order_after_deletes(void **state)
{
	mk("d", MPSTORE__ELEM_TYPE__TYPE_INT64, MPSTORE__KEY_TYPE__KEY_STRING);
	dset("d", "a", 1);
	dset("d", "b", 2);
	dset("d", "c", 3);
	dset("d", "d", 4);
	assert_int_equal(dop(OP(DEL), "d", "b", 0, 0, NULL), 0);
	assert_int_equal(dop(OP(DEL), "d", "b", 0, 0, NULL), ST(ERR_NO_KEY));
	keys_are("d", 0, "a,c,d");
	dset("d", "b", 5);
	dset("d", "a", 6); /* an update keeps its place */
	keys_are("d", 0, "a,c,d,b");
	keys_are("d", 1, "a,c,d,b");
	keys_are("d", 3, "a,c,d,b");
	assert_int_equal(dop(OP(DEL), "d", "d", 0, 0, NULL), 0);
	keys_are("d", 2, "a,c,b");
	vt_same("d");
}

static void test_paging(void **state)
{
	tu_call k;
	char    ks[16];

	mk("d", MPSTORE__ELEM_TYPE__TYPE_INT64, MPSTORE__KEY_TYPE__KEY_STRING);
	for (int i = 0; i < 10; i++) {
		snprintf(ks, sizeof(ks), "k%d", i);
		dset("d", ks, i);
	}
	for (int i = 0; i < 10; i += 3) {
		snprintf(ks, sizeof(ks), "k%d", i);
		dop(OP(DEL), "d", ks, 0, 0, NULL);
	}
	keys_are("d", 0, "k1,k2,k4,k5,k7,k8");
	keys_are("d", 4, "k1,k2,k4,k5,k7,k8");
	keys_are("d", 100, "k1,k2,k4,k5,k7,k8");
	tu_call_init(&k);
	Mpstore__Op op = tu_op(OP(VALUES), "d");
	op.count       = 2;
	assert_int_equal(vt_run(&k, &op), 0);
	assert_int_equal(k.res.n_values, 2);
	assert_int_equal(k.res.n_keys, 0);
	assert_int_equal(k.res.values[1]->int_value, 2);
	assert_true(k.res.next > 0);
	op.index = k.res.next;
	op.code  = OP(KEYS);
	assert_int_equal(vt_run(&k, &op), 0);
	assert_int_equal(k.res.n_keys, 2);
	assert_int_equal(k.res.n_values, 0);
	assert_string_equal(k.res.keys[0]->string_value, "k4");
	op.index = 1000; /* past the end: empty, done */
	assert_int_equal(vt_run(&k, &op), 0);
	assert_int_equal(k.res.n_keys, 0);
	assert_int_equal(k.res.next, -1);
	op.index = -1;
	assert_int_equal(vt_run(&k, &op), ST(ERR_INVALID));
	tu_call_fini(&k);
	vt_same("d");
}

static void test_update(void **state)
{
	tu_call k;
	int64_t v;

	mk("d", MPSTORE__ELEM_TYPE__TYPE_INT64, MPSTORE__KEY_TYPE__KEY_STRING);
	dset("d", "a", 1);
	tu_call_init(&k);
	Mpstore__Op op = tu_op(OP(UPDATE), "d");
	op.n_keys      = 3;
	op.keys        = vt_vals(&k, 3);
	op.n_values    = 2;
	op.values      = vt_vals(&k, 3);
	op.keys[0]     = tu_str(&k, "b");
	op.keys[1]     = tu_str(&k, "a");
	op.keys[2]     = tu_str(&k, "b");
	op.values[0]   = tu_int(&k, 2);
	op.values[1]   = tu_int(&k, 3);
	assert_int_equal(vt_run(&k, &op), ST(ERR_INVALID));
	op.n_values  = 3;
	op.values[2] = tu_str(&k, "bad");
	assert_int_equal(vt_run(&k, &op), ST(ERR_WRONG_TYPE));
	keys_are("d", 0, "a");
	op.values[2] = tu_int(&k, 4);
	assert_int_equal(vt_run(&k, &op), 0);
	assert_int_equal(k.res.count, 2);
	tu_call_fini(&k);
	keys_are("d", 0, "a,b");
	assert_int_equal(dop(OP(GET), "d", "b", 0, 0, &v), 0);
	assert_int_equal(v, 4); /* the last duplicate wins */
	assert_int_equal(dop(OP(GET), "d", "a", 0, 0, &v), 0);
	assert_int_equal(v, 3);
	vt_same("d");
}

static void test_setdefault_pop_clear(void **state)
{
	tu_call k;
	int64_t v;

	mk("d", MPSTORE__ELEM_TYPE__TYPE_ANY, MPSTORE__KEY_TYPE__KEY_STRING);
	dset("d", "a", 1);
	tu_call_init(&k);
	Mpstore__Op op = tu_op(OP(SETDEFAULT), "d");
	op.key         = tu_str(&k, "a");
	op.value       = tu_int(&k, 50);
	assert_int_equal(vt_run(&k, &op), 0);
	assert_int_equal(k.res.value->int_value, 1);
	assert_int_equal(k.x.nchanges, 0);
	op.key = tu_str(&k, "b");
	assert_int_equal(vt_run(&k, &op), 0);
	assert_int_equal(k.res.value->int_value, 50);
	assert_int_equal(k.x.nchanges, 1);
	tu_call_fini(&k);
	assert_int_equal(dop(OP(SETDEFAULT), "d", "n", 0, 0, NULL), 0); /* None */
	assert_int_equal(dop(OP(POP), "d", "a", 0, 0, &v), 0);
	assert_int_equal(v, 1);
	assert_int_equal(dop(OP(POP), "d", "a", 0, 0, NULL), ST(ERR_NO_KEY));
	assert_int_equal(dop(OP(POP), "d", "a", 1, 7, &v), 0);
	assert_int_equal(v, 7);
	keys_are("d", 0, "b,n");
	vt_same("d");
	tu_call_init(&k);
	op = tu_op(OP(CLEAR), "d");
	assert_int_equal(vt_run(&k, &op), 0);
	tu_call_fini(&k);
	assert_int_equal(dlen("d"), 0);
	keys_are("d", 0, "");
	vt_same("d");
	dset("d", "z", 1);
	keys_are("d", 0, "z");
	vt_same("d");
}

static void test_long_keys_and_values(void **state)
{
	tu_call     k;
	const char *lk = "a key that is much longer than thirteen bytes";

	mk("d", MPSTORE__ELEM_TYPE__TYPE_STRING, MPSTORE__KEY_TYPE__KEY_STRING);
	tu_call_init(&k);
	Mpstore__Op op = tu_op(OP(SET), "d");
	op.key         = tu_str(&k, lk);
	op.value       = tu_str(&k, "and a value that is longer than thirteen bytes as well");
	assert_int_equal(vt_run(&k, &op), 0);
	op       = tu_op(OP(GET), "d");
	op.key   = tu_str(&k, lk);
	assert_int_equal(vt_run(&k, &op), 0);
	assert_string_equal(k.res.value->string_value, "and a value that is longer than thirteen bytes as well");
	tu_call_fini(&k);
	vt_same("d");
}

static void test_namespace(void **state)
{
	tu_call k;
	int64_t v;

	assert_int_equal(vt_create("ns", MPSTORE__KIND__KIND_NAMESPACE, MPSTORE__ELEM_TYPE__TYPE_ANY,
	                     MPSTORE__KEY_TYPE__KEY_STRING, 0, NULL),
	    0);
	assert_int_equal(dset("ns", "x", 1), 0);
	assert_int_equal(dset("ns", "#1", 1), ST(ERR_WRONG_TYPE));
	assert_int_equal(dop(OP(GET), "ns", "x", 0, 0, &v), 0);
	assert_int_equal(v, 1);
	tu_call_init(&k);
	Mpstore__Op op = tu_op(OP(GET), "ns");
	op.key         = tu_str(&k, "y");
	assert_int_equal(vt_run(&k, &op), ST(ERR_NO_KEY));
	assert_non_null(strstr(k.res.error, "attribute 'y'"));
	op = tu_op(OP(UPDATE), "ns"); /* not a namespace op */
	assert_int_equal(vt_run(&k, &op), ST(ERR_WRONG_KIND));
	tu_call_fini(&k);
	keys_are("ns", 0, "x");
	vt_same("ns");
}

/* Insert/delete churn at a constant size: deleted slots are reclaimed. */
static void test_churn(void **state)
{
	char            ks[32];
	mpsd_container *c;
	size_t          mem0;

	mk("d", MPSTORE__ELEM_TYPE__TYPE_INT64, MPSTORE__KEY_TYPE__KEY_STRING);
	for (int i = 0; i < 1000; i++) {
		snprintf(ks, sizeof(ks), "k%d", i);
		dset("d", ks, i);
	}
	c    = mpsd_store_find(vt_st, "d");
	mem0 = c->k->memory(c);
	for (int i = 1000; i < 100000; i++) {
		snprintf(ks, sizeof(ks), "k%d", i);
		assert_int_equal(dset("d", ks, i), 0);
		snprintf(ks, sizeof(ks), "k%d", i - 1000);
		assert_int_equal(dop(OP(DEL), "d", ks, 0, 0, NULL), 0);
	}
	assert_int_equal(dlen("d"), 1000);
	assert_true(c->k->memory(c) <= 2 * mem0);
	vt_same("d");
}

/* A million entries: set, get, memory per entry, deletes. */
static void test_million(void **state)
{
	mpsd_dtab t;
	mpsd_val  kk, vv;
	char      ks[32];
	const int n = 1000000;

	mpsd_dtab_init(&t);
	for (int i = 0; i < n; i++) {
		snprintf(ks, sizeof(ks), "key:%d", i);
		assert_int_equal(mpsd_val_blob(&kk, MPSD_V_STR, ks, strlen(ks)), 0);
		mpsd_val_int(&vv, i);
		assert_int_equal(mpsd_dtab_put(&t, &kk, &vv, NULL), 0);
	}
	assert_int_equal(mpsd_dtab_len(&t), n);
	printf("dict: %.1f bytes per entry at %d entries\n", (double) mpsd_dtab_memory(&t) / n, n);
	assert_true(mpsd_dtab_memory(&t) / n <= 56);
	for (int i = 0; i < n; i += 2) {
		snprintf(ks, sizeof(ks), "key:%d", i);
		mpsd_val_blob(&kk, MPSD_V_STR, ks, strlen(ks));
		assert_int_equal(mpsd_dtab_del(&t, &kk, NULL), 1);
		mpsd_val_fini(&kk);
	}
	for (int i = 0; i < n; i++) {
		snprintf(ks, sizeof(ks), "key:%d", i);
		mpsd_val_blob(&kk, MPSD_V_STR, ks, strlen(ks));
		int64_t pos = mpsd_dtab_find(&t, &kk);
		if (i % 2)
			assert_int_equal(mpsd_val_get_int(mpsd_dtab_value(&t, pos)), i);
		else
			assert_int_equal(pos, -1);
		mpsd_val_fini(&kk);
	}
	mpsd_dtab_fini(&t);
}

/* The same through the store: 1M sets and gets as ops. */
static void test_million_ops(void **state)
{
	char      ks[32];
	int64_t   v;
	const int n = 1000000;

	assert_int_equal(
	    vt_create("big", MPSTORE__KIND__KIND_DICT, MPSTORE__ELEM_TYPE__TYPE_INT64, MPSTORE__KEY_TYPE__KEY_INT64, 0, NULL),
	    0);
	for (int i = 0; i < n; i++) {
		snprintf(ks, sizeof(ks), "#%d", i * 7);
		assert_int_equal(dset("big", ks, i), 0);
	}
	for (int i = 0; i < n; i += 997) {
		snprintf(ks, sizeof(ks), "#%d", i * 7);
		assert_int_equal(dop(OP(GET), "big", ks, 0, 0, &v), 0);
		assert_int_equal(v, i);
	}
	assert_int_equal(dlen("big"), n);
	assert_int_equal(dop(OP(GET), "big", "#1", 0, 0, &v), ST(ERR_NO_KEY));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_set_get_contains, vt_setup, vt_teardown),
		cmocka_unit_test_setup_teardown(test_int_keys, vt_setup, vt_teardown),
		cmocka_unit_test_setup_teardown(test_order_after_deletes, vt_setup, vt_teardown),
		cmocka_unit_test_setup_teardown(test_paging, vt_setup, vt_teardown),
		cmocka_unit_test_setup_teardown(test_update, vt_setup, vt_teardown),
		cmocka_unit_test_setup_teardown(test_setdefault_pop_clear, vt_setup, vt_teardown),
		cmocka_unit_test_setup_teardown(test_long_keys_and_values, vt_setup, vt_teardown),
		cmocka_unit_test_setup_teardown(test_namespace, vt_setup, vt_teardown),
		cmocka_unit_test_setup_teardown(test_churn, vt_setup, vt_teardown),
		cmocka_unit_test(test_million),
		cmocka_unit_test_setup_teardown(test_million_ops, vt_setup, vt_teardown),
	};
	return cmocka_run_group_tests_name("daemon/k_dict", tests, NULL, NULL);
}
