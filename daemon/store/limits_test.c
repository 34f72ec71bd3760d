/*
 * limits_test.c - --max-containers, --max-elements and --max-memory in the
 * store core: the op that crosses a limit fails with ERR_LIMIT naming the
 * flag, nothing of it is stored, reads, deletes, pops and clears go on,
 * other containers are served, recovery (apply) is never limited, and the
 * memory count stays exact.
 */
#include <stdio.h>
#include <string.h>

#include "k_sync_test.h"

#define INT64  MPSTORE__ELEM_TYPE__TYPE_INT64
#define STRING MPSTORE__ELEM_TYPE__TYPE_STRING
#define ANY    MPSTORE__ELEM_TYPE__TYPE_ANY

static mpsd_store *limited(uint64_t mem, uint64_t containers, uint64_t elements)
{
	mpsd_store *st = mpsd_store_alloc();
	mpsd_limits l = {mem, containers, elements};
	mpsd_store_set_limits(st, &l);
	return st;
}

/* Run op; on failure check the message names flag. */
static int run(mpsd_store *st, Mpstore__Op *op, tu_call *k, const char *flag)
{
	int rv = tu_exec(st, k, op, 1);
	if (rv != 0 && flag != NULL) {
		assert_non_null(k->res.error);
		if (strstr(k->res.error, flag) == NULL)
			fail_msg("error '%s' does not name %s", k->res.error, flag);
	}
	return rv;
}

static int append(mpsd_store *st, const char *name, int64_t v)
{
	tu_call     k;
	Mpstore__Op op = tu_op(OPC(LIST_APPEND), name);
	tu_call_init(&k);
	op.value = tu_int(&k, v);
	int rv = run(st, &op, &k, "--max-elements");
	tu_call_fini(&k);
	return rv;
}

static int64_t len_of(mpsd_store *st, const char *name)
{
	mpsd_container *c = mpsd_store_find(st, name);
	assert_non_null(c);
	return c->k->length(c);
}

static void test_max_containers(void **state)
{
	(void)state;
	mpsd_store *st = limited(0, 3, 0);
	assert_int_equal(tu_create(st, "a", MPSTORE__KIND__KIND_LIST, INT64, 0), 0);
	assert_int_equal(tu_create(st, "b", MPSTORE__KIND__KIND_DICT, ANY, 0), 0);
	assert_int_equal(tu_create(st, "c", MPSTORE__KIND__KIND_LOCK, ANY, 0), 0);
	tu_call     k;
	Mpstore__Op op = tu_op(OPC(CREATE), "d");
	op.kind = MPSTORE__KIND__KIND_LIST;
	tu_call_init(&k);
	assert_int_equal(run(st, &op, &k, "--max-containers"), ST(ERR_LIMIT));
	tu_call_fini(&k);
	assert_null(mpsd_store_find(st, "d"));
	assert_int_equal(mpsd_store_count(st), 3);
	/* an existing one is still "created" (idempotent), others still work */
	op.name = "a";
	op.elem_type = INT64;
	tu_call_init(&k);
	assert_int_equal(run(st, &op, &k, NULL), 0);
	assert_false(k.res.flag);
	tu_call_fini(&k);
	assert_int_equal(append(st, "a", 1), 0);
	/* a delete makes room */
	assert_int_equal(ks_do(st, OPC(DELETE), "c", 0, 1, NULL), 0);
	op.name = "d";
	tu_call_init(&k);
	assert_int_equal(run(st, &op, &k, NULL), 0);
	tu_call_fini(&k);
	assert_int_equal(mpsd_store_memory_check(st), 0);
	mpsd_store_free(st);
}

static void test_max_elements(void **state)
{
	(void)state;
	mpsd_store *st = limited(0, 0, 4);
	tu_call     k;
	assert_int_equal(tu_create(st, "l", MPSTORE__KIND__KIND_LIST, INT64, 0), 0);
	assert_int_equal(tu_create(st, "other", MPSTORE__KIND__KIND_LIST, INT64, 0), 0);
	for (int i = 0; i < 4; i++)
		assert_int_equal(append(st, "l", i), 0);
	assert_int_equal(append(st, "l", 4), ST(ERR_LIMIT));
	/* insert and extend too, and nothing of a refused extend is stored */
	Mpstore__Op op = tu_op(OPC(LIST_INSERT), "l");
	tu_call_init(&k);
	op.value = tu_int(&k, 9);
	assert_int_equal(run(st, &op, &k, "--max-elements"), ST(ERR_LIMIT));
	tu_call_fini(&k);
	assert_int_equal(ks_do(st, OPC(LIST_POP), "l", 0, 1, NULL), 0);
	op = tu_op(OPC(LIST_EXTEND), "l");
	tu_call_init(&k);
	Mpstore__Value *two[2] = {tu_int(&k, 7), tu_int(&k, 8)};
	op.values = two;
	op.n_values = 2;
	assert_int_equal(run(st, &op, &k, "--max-elements"), ST(ERR_LIMIT));
	tu_call_fini(&k);
	assert_int_equal(len_of(st, "l"), 3);
	/* reads and other containers go on; a set in place is no new element */
	Mpstore__Result r;
	assert_int_equal(ks_do(st, OPC(LIST_LEN), "l", 0, 1, &r), 0);
	assert_int_equal(r.count, 3);
	op = tu_op(OPC(LIST_SET), "l");
	tu_call_init(&k);
	op.value = tu_int(&k, 100);
	assert_int_equal(run(st, &op, &k, NULL), 0);
	tu_call_fini(&k);
	assert_int_equal(append(st, "other", 1), 0);

	/* dict: a new key past the limit is refused, an existing one is set */
	assert_int_equal(tu_create(st, "d", MPSTORE__KIND__KIND_DICT, ANY, 0), 0);
	static const char *const keys[] = {"a", "b", "c", "d", "e"};
	for (int i = 0; i < 5; i++) {
		op = tu_op(OPC(DICT_SET), "d");
		tu_call_init(&k);
		op.key = tu_str(&k, keys[i]);
		op.value = tu_int(&k, i);
		assert_int_equal(run(st, &op, &k, "--max-elements"), i < 4 ? 0 : ST(ERR_LIMIT));
		tu_call_fini(&k);
	}
	op = tu_op(OPC(DICT_SET), "d");
	tu_call_init(&k);
	op.key = tu_str(&k, "a");
	op.value = tu_int(&k, 42);
	assert_int_equal(run(st, &op, &k, NULL), 0);
	tu_call_fini(&k);
	op = tu_op(OPC(DICT_SETDEFAULT), "d");
	tu_call_init(&k);
	op.key = tu_str(&k, "z");
	op.value = tu_int(&k, 0);
	assert_int_equal(run(st, &op, &k, "--max-elements"), ST(ERR_LIMIT));
	tu_call_fini(&k);
	op = tu_op(OPC(DICT_UPDATE), "d");
	tu_call_init(&k);
	Mpstore__Value *uk[2] = {tu_str(&k, "a"), tu_str(&k, "y")};
	Mpstore__Value *uv[2] = {tu_int(&k, 1), tu_int(&k, 2)};
	op.keys = uk;
	op.values = uv;
	op.n_keys = op.n_values = 2;
	assert_int_equal(run(st, &op, &k, "--max-elements"), ST(ERR_LIMIT));
	tu_call_fini(&k);
	assert_int_equal(len_of(st, "d"), 4);
	op = tu_op(OPC(DICT_POP), "d");
	tu_call_init(&k);
	op.key = tu_str(&k, "b");
	assert_int_equal(run(st, &op, &k, NULL), 0);
	tu_call_fini(&k);
	op = tu_op(OPC(DICT_UPDATE), "d");
	tu_call_init(&k);
	Mpstore__Value *uk2[2] = {tu_str(&k, "a"), tu_str(&k, "y")};
	Mpstore__Value *uv2[2] = {tu_int(&k, 1), tu_int(&k, 2)};
	op.keys = uk2;
	op.values = uv2;
	op.n_keys = op.n_values = 2;
	assert_int_equal(run(st, &op, &k, NULL), 0);
	tu_call_fini(&k);
	assert_int_equal(len_of(st, "d"), 4);

	/* namespace attributes */
	assert_int_equal(tu_create(st, "ns", MPSTORE__KIND__KIND_NAMESPACE, ANY, 0), 0);
	for (int i = 0; i < 5; i++) {
		op = tu_op(OPC(DICT_SET), "ns");
		tu_call_init(&k);
		op.key = tu_str(&k, keys[i]);
		op.value = tu_int(&k, i);
		assert_int_equal(run(st, &op, &k, "--max-elements"), i < 4 ? 0 : ST(ERR_LIMIT));
		tu_call_fini(&k);
	}

	/* queue: an unbounded queue is bounded by the limit; gets go on */
	assert_int_equal(tu_create(st, "q", MPSTORE__KIND__KIND_QUEUE, INT64, 0), 0);
	for (int i = 0; i < 5; i++) {
		op = tu_op(OPC(QUEUE_PUT), "q");
		tu_call_init(&k);
		op.value = tu_int(&k, i);
		op.timeout_ms = -1;
		assert_int_equal(run(st, &op, &k, "--max-elements"), i < 4 ? 0 : ST(ERR_LIMIT));
		tu_call_fini(&k);
	}
	assert_int_equal(ks_do(st, OPC(QUEUE_GET), "q", 0, 1, &r), 0);
	assert_int_equal(len_of(st, "q"), 3);

	/* array: its length is its element count, checked at create */
	op = tu_op(OPC(CREATE), "arr");
	op.kind = MPSTORE__KIND__KIND_ARRAY;
	op.elem_type = INT64;
	op.count = 5;
	tu_call_init(&k);
	assert_int_equal(run(st, &op, &k, "--max-elements"), ST(ERR_LIMIT));
	tu_call_fini(&k);
	op.count = 4;
	tu_call_init(&k);
	assert_int_equal(run(st, &op, &k, NULL), 0);
	tu_call_fini(&k);

	/* recovery is not limited: a log of 6 appends loads whole */
	ks_log log = {0};
	mpsd_store *big = mpsd_store_alloc();
	ks_create(big, &log, "l", MPSTORE__KIND__KIND_LIST, INT64, 0);
	for (int i = 0; i < 6; i++) {
		tu_call    *kk = ks_call();
		Mpstore__Op a = tu_op(OPC(LIST_APPEND), "l");
		a.value = tu_int(kk, i);
		assert_int_equal(tu_exec(big, kk, &a, 1), 0);
		ks_log_call(&log, kk);
		ks_free(kk);
	}
	mpsd_store *rec = limited(1, 1, 4);
	ks_log_replay(&log, rec);
	assert_int_equal(len_of(rec, "l"), 6);
	assert_int_equal(mpsd_store_memory_check(rec), 0);
	ks_log_free(&log);
	mpsd_store_free(big);
	mpsd_store_free(rec);
	assert_int_equal(mpsd_store_memory_check(st), 0);
	mpsd_store_free(st);
}

static size_t fake_history;
static size_t history_cb(void *arg)
{
	(void)arg;
	return fake_history;
}

static void test_max_memory(void **state)
{
	(void)state;
	mpsd_store *st = limited(64 * 1024, 0, 0);
	tu_call     k;
	char        chunk[1000];
	memset(chunk, 'x', sizeof(chunk) - 1);
	chunk[sizeof(chunk) - 1] = '\0';
	mpsd_store_set_memory_hook(st, history_cb, NULL, 0);
	fake_history = 0;
	assert_int_equal(tu_create(st, "l", MPSTORE__KIND__KIND_LIST, STRING, 0), 0);
	assert_int_equal(tu_create(st, "v", MPSTORE__KIND__KIND_VALUE, INT64, 0), 0);
	assert_int_equal(tu_create(st, "lock", MPSTORE__KIND__KIND_LOCK, ANY, 0), 0);
	int n = 0, rv;
	for (;; n++) {
		Mpstore__Op op = tu_op(OPC(LIST_APPEND), "l");
		tu_call_init(&k);
		op.value = tu_str(&k, chunk);
		rv = run(st, &op, &k, "--max-memory");
		tu_call_fini(&k);
		if (rv != 0)
			break;
		assert_true(n < 1000);
	}
	assert_int_equal(rv, ST(ERR_LIMIT));
	/* never past the limit, and close to it */
	assert_true(mpsd_store_memory(st) <= 64 * 1024);
	assert_true(mpsd_store_memory(st) > 60 * 1024);
	assert_int_equal(len_of(st, "l"), n);
	/* with no room left (the history took the rest) writes that add data
	 * are refused everywhere: creates, value sets */
	fake_history = 64 * 1024 - mpsd_store_memory(st);
	Mpstore__Op op = tu_op(OPC(CREATE), "new");
	op.kind = MPSTORE__KIND__KIND_LIST;
	tu_call_init(&k);
	assert_int_equal(run(st, &op, &k, "--max-memory"), ST(ERR_LIMIT));
	tu_call_fini(&k);
	op = tu_op(OPC(VALUE_SET), "v");
	tu_call_init(&k);
	op.value = tu_int(&k, 3);
	assert_int_equal(run(st, &op, &k, "--max-memory"), ST(ERR_LIMIT));
	tu_call_fini(&k);
	fake_history = 0;
	/* reads, sync ops and removals go on */
	Mpstore__Result r;
	assert_int_equal(ks_do(st, OPC(LIST_LEN), "l", 0, 1, &r), 0);
	assert_int_equal(ks_do(st, OPC(LOCK_ACQUIRE), "lock", 0, 1, &r), 0);
	assert_true(r.flag);
	assert_int_equal(ks_do(st, OPC(LOCK_RELEASE), "lock", 0, 1, &r), 0);
	size_t before = mpsd_store_memory(st);
	assert_int_equal(ks_do(st, OPC(LIST_POP), "l", 0, 1, NULL), 0);
	assert_true(mpsd_store_memory(st) < before);
	/* the history counts too: with it grown, the room is gone again */
	op = tu_op(OPC(LIST_APPEND), "l");
	tu_call_init(&k);
	op.value = tu_str(&k, chunk);
	fake_history = 8 * 1024;
	assert_int_equal(run(st, &op, &k, "--max-memory"), ST(ERR_LIMIT));
	fake_history = 0;
	rv = run(st, &op, &k, NULL);
	if (rv != 0)
		fail_msg("%s (memory %zu)", k.res.error, mpsd_store_memory(st));
	tu_call_fini(&k);
	/* a clear and a delete free everything */
	assert_int_equal(ks_do(st, OPC(LIST_CLEAR), "l", 0, 1, NULL), 0);
	assert_int_equal(ks_do(st, OPC(DELETE), "l", 0, 1, NULL), 0);
	assert_true(mpsd_store_memory(st) < 2048);
	op = tu_op(OPC(CREATE), "new");
	op.kind = MPSTORE__KIND__KIND_LIST;
	tu_call_init(&k);
	assert_int_equal(run(st, &op, &k, NULL), 0);
	tu_call_fini(&k);
	assert_int_equal(mpsd_store_memory_check(st), 0);
	mpsd_store_free(st);
}

/* The running count matches a recount through every kind's life. */
static void test_memory_count(void **state)
{
	(void)state;
	mpsd_store *st = mpsd_store_alloc();
	assert_int_equal(mpsd_store_memory(st), 0);
	assert_int_equal(tu_create(st, "d", MPSTORE__KIND__KIND_DICT, STRING, 0), 0);
	assert_int_equal(tu_create(st, "s", MPSTORE__KIND__KIND_SEMAPHORE, ANY, 5), 0);
	for (int i = 0; i < 200; i++) {
		tu_call     k;
		char        key[32], val[64];
		Mpstore__Op op = tu_op(OPC(DICT_SET), "d");
		tu_call_init(&k);
		snprintf(key, sizeof(key), "key %d", i);
		snprintf(val, sizeof(val), "a value long enough for the heap %d", i);
		op.key = tu_str(&k, key);
		op.value = tu_str(&k, val);
		assert_int_equal(tu_exec(st, &k, &op, 1), 0);
		tu_call_fini(&k);
		tu_call_init(&k);
		assert_int_equal(ks_run(st, &k, OPC(SEM_ACQUIRE), "s", 0, 10 + i % 7), 0);
		tu_call_fini(&k);
		assert_int_equal(mpsd_store_memory_check(st), 0);
		if (i % 5 == 4)
			for (uint64_t sid = 10; sid < 17; sid++)
				ks_gone(st, sid);
	}
	assert_int_equal(mpsd_store_memory_check(st), 0);
	size_t full = mpsd_store_memory(st);
	assert_true(full > 200 * 40);
	assert_int_equal(ks_do(st, OPC(DICT_CLEAR), "d", 0, 1, NULL), 0);
	assert_true(mpsd_store_memory(st) < full / 4);
	assert_int_equal(ks_do(st, OPC(DELETE), "d", 0, 1, NULL), 0);
	assert_int_equal(ks_do(st, OPC(DELETE), "s", 0, 1, NULL), 0);
	assert_int_equal(mpsd_store_memory(st), 0);
	mpsd_store_free(st);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_max_containers),
		cmocka_unit_test(test_max_elements),
		cmocka_unit_test(test_max_memory),
		cmocka_unit_test(test_memory_count),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
