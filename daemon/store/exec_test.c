/*
 * exec_test.c - deadlines and client-supplied numbers: a timeout of
 * 2^63 - 1 ms (or any huge one) parks without overflowing its deadline
 * (UBSan halts the test on a signed overflow; a wrapped deadline would
 * expire at once), and every op of every kind takes extreme numbers in
 * every numeric field without undefined behaviour, answering OK or a clear
 * error, with the memory accounting exact afterwards.
 */
#include <stdio.h>

#include "k_sync_test.h"

#define INT64 MPSTORE__ELEM_TYPE__TYPE_INT64
#define ANY   MPSTORE__ELEM_TYPE__TYPE_ANY

static void test_deadline_after(void **state)
{
	(void)state;
	assert_int_equal(mpsd_deadline_after(1000, 5), 1005);
	assert_int_equal(mpsd_deadline_after(1000, 0), 1000);
	assert_true(mpsd_deadline_after(1000, INT64_MAX) == INT64_MAX);
	assert_true(mpsd_deadline_after(1000, INT64_MAX - 999) == INT64_MAX);
	assert_true(mpsd_deadline_after(1000, INT64_MAX - 1000) == INT64_MAX);
	assert_true(mpsd_deadline_after(1000, INT64_MAX - 1001) == INT64_MAX - 1);
	assert_true(mpsd_deadline_after(INT64_MAX - 1, 2) == INT64_MAX);
	assert_true(mpsd_deadline_after(1000, -1) == INT64_MAX);
	assert_true(mpsd_deadline_after(1000, INT64_MIN) == INT64_MAX);
}

/* Each blocking op, parked with a huge timeout, is still parked after the
 * clock ran (expire at now and a minute later), then completes normally. */
static void test_huge_timeouts_park(void **state)
{
	(void)state;
	static const int64_t timeouts[] = {INT64_MAX, INT64_MAX - 1, (int64_t)1 << 62,
	    INT64_MAX / 1000, 4102444800000LL /* 2100-01-01 as epoch ms */};
	for (size_t t = 0; t < sizeof(timeouts) / sizeof(timeouts[0]); t++) {
		mpsd_store *st = mpsd_store_alloc();
		assert_int_equal(tu_create(st, "q", MPSTORE__KIND__KIND_QUEUE, INT64, 0), 0);
		assert_int_equal(tu_create(st, "l", MPSTORE__KIND__KIND_LOCK, ANY, 0), 0);
		assert_int_equal(tu_create(st, "s", MPSTORE__KIND__KIND_SEMAPHORE, ANY, 0), 0);
		assert_int_equal(tu_create(st, "e", MPSTORE__KIND__KIND_EVENT, ANY, 0), 0);
		assert_int_equal(tu_create(st, "b", MPSTORE__KIND__KIND_BARRIER, ANY, 2), 0);
		/* the lock is held by session 1; the others wait as session 2 */
		assert_int_equal(ks_do(st, OPC(LOCK_ACQUIRE), "l", 0, 1, NULL), 0);
		struct {
			Mpstore__OpCode code;
			const char     *name;
			tu_call        *k;
		} w[] = {{OPC(QUEUE_GET), "q", NULL}, {OPC(LOCK_ACQUIRE), "l", NULL},
		    {OPC(SEM_ACQUIRE), "s", NULL}, {OPC(EVENT_WAIT), "e", NULL},
		    {OPC(BARRIER_WAIT), "b", NULL}};
		size_t nw = sizeof(w) / sizeof(w[0]);
		for (size_t i = 0; i < nw; i++) {
			w[i].k = ks_call();
			assert_int_equal(ks_run(st, w[i].k, w[i].code, w[i].name, timeouts[t], 2), MPSD_PARK);
		}
		int64_t now = mpsd_now_ms();
		assert_true(mpsd_store_next_deadline(st) > now + 3600 * 1000);
		tu_expire(st, now);
		tu_expire(st, now + 60000);
		for (size_t i = 0; i < nw; i++)
			if (w[i].k->done)
				fail_msg("timeout %lld: %s answered at once (status %d): the deadline wrapped",
				    (long long)timeouts[t], w[i].name, w[i].k->rv);
		/* and they complete as usual */
		tu_call *k = ks_call();
		Mpstore__Op put = tu_op(OPC(QUEUE_PUT), "q");
		put.value = tu_int(k, 7);
		assert_int_equal(tu_exec(st, k, &put, 1), 0);
		ks_free(k);
		assert_int_equal(ks_do(st, OPC(LOCK_RELEASE), "l", 0, 1, NULL), 0);
		k = ks_call();
		assert_int_equal(ks_runc(st, k, OPC(SEM_RELEASE), "s", 1, 1), 0);
		ks_free(k);
		assert_int_equal(ks_do(st, OPC(EVENT_SET), "e", 0, 1, NULL), 0);
		k = ks_call();
		assert_int_equal(ks_run(st, k, OPC(BARRIER_WAIT), "b", 0, 3), 0);
		ks_free(k);
		tu_wake(st);
		for (size_t i = 0; i < nw; i++) {
			assert_true(w[i].k->done);
			assert_int_equal(w[i].k->rv, 0);
		}
		assert_int_equal(w[0].k->res.value->int_value, 7);
		assert_int_equal(w[3].k->res.flag, 1);
		for (size_t i = 0; i < nw; i++)
			ks_free(w[i].k);
		assert_int_equal(mpsd_store_nwaiters(st), 0);
		mpsd_store_free(st);
	}
}

/* Negative timeouts wait for ever, whatever their size. */
static void test_negative_timeouts(void **state)
{
	(void)state;
	mpsd_store *st = mpsd_store_alloc();
	assert_int_equal(tu_create(st, "q", MPSTORE__KIND__KIND_QUEUE, INT64, 0), 0);
	tu_call *k1 = ks_call(), *k2 = ks_call();
	assert_int_equal(ks_run(st, k1, OPC(QUEUE_GET), "q", -1, 2), MPSD_PARK);
	assert_int_equal(ks_run(st, k2, OPC(QUEUE_GET), "q", INT64_MIN, 2), MPSD_PARK);
	assert_true(mpsd_store_next_deadline(st) == INT64_MAX);
	tu_expire(st, INT64_MAX - 1);
	assert_false(k1->done);
	assert_false(k2->done);
	ks_free(k1);
	ks_free(k2);
	mpsd_store_free(st);
}

static const int64_t extremes[] = {INT64_MIN, INT64_MIN + 1, -4294967296LL, -2, -1, 0, 1, 2,
    INT32_MAX, 4294967295LL, 4294967296LL, (int64_t)1 << 53, INT64_MAX - 1, INT64_MAX};
#define NEXT (sizeof(extremes) / sizeof(extremes[0]))

static const Mpstore__OpCode all_ops[] = {OPC(CREATE), OPC(DELETE), OPC(LIST_CONTAINERS),
    OPC(INFO), OPC(DUMP), OPC(VALUE_GET), OPC(VALUE_SET), OPC(VALUE_ADD), OPC(VALUE_CAS),
    OPC(LIST_APPEND), OPC(LIST_EXTEND), OPC(LIST_INSERT), OPC(LIST_GET), OPC(LIST_SLICE),
    OPC(LIST_SET), OPC(LIST_POP), OPC(LIST_REMOVE), OPC(LIST_INDEX), OPC(LIST_LEN),
    OPC(LIST_CLEAR), OPC(DICT_SET), OPC(DICT_GET), OPC(DICT_DEL), OPC(DICT_CONTAINS),
    OPC(DICT_LEN), OPC(DICT_KEYS), OPC(DICT_VALUES), OPC(DICT_ITEMS), OPC(DICT_UPDATE),
    OPC(DICT_SETDEFAULT), OPC(DICT_POP), OPC(DICT_CLEAR), OPC(QUEUE_PUT), OPC(QUEUE_GET),
    OPC(QUEUE_SIZE), OPC(QUEUE_EMPTY), OPC(QUEUE_FULL), OPC(QUEUE_TASK_DONE), OPC(QUEUE_JOIN),
    OPC(LOCK_ACQUIRE), OPC(LOCK_RELEASE), OPC(LOCK_LOCKED), OPC(SEM_ACQUIRE), OPC(SEM_RELEASE),
    OPC(SEM_VALUE), OPC(EVENT_SET), OPC(EVENT_CLEAR), OPC(EVENT_IS_SET), OPC(EVENT_WAIT),
    OPC(COND_WAIT), OPC(COND_NOTIFY), OPC(COND_NOTIFY_ALL), OPC(BARRIER_WAIT),
    OPC(BARRIER_ABORT), OPC(BARRIER_RESET), OPC(BARRIER_INFO)};

/* One container of each kind, small, with some content. */
static void fill(mpsd_store *st)
{
	static const struct {
		const char       *name;
		Mpstore__Kind     kind;
		Mpstore__ElemType et;
		int64_t           count;
	} cs[] = {{"value", MPSTORE__KIND__KIND_VALUE, INT64, 5},
	    {"any", MPSTORE__KIND__KIND_VALUE, ANY, 0}, {"list", MPSTORE__KIND__KIND_LIST, INT64, 0},
	    {"dict", MPSTORE__KIND__KIND_DICT, ANY, 0}, {"queue", MPSTORE__KIND__KIND_QUEUE, INT64, 3},
	    {"lock", MPSTORE__KIND__KIND_LOCK, ANY, 0}, {"rlock", MPSTORE__KIND__KIND_RLOCK, ANY, 0},
	    {"sem", MPSTORE__KIND__KIND_SEMAPHORE, ANY, 2},
	    {"bsem", MPSTORE__KIND__KIND_BOUNDED_SEMAPHORE, ANY, 2},
	    {"event", MPSTORE__KIND__KIND_EVENT, ANY, 0},
	    {"cond", MPSTORE__KIND__KIND_CONDITION, ANY, 0},
	    {"barrier", MPSTORE__KIND__KIND_BARRIER, ANY, 3},
	    {"array", MPSTORE__KIND__KIND_ARRAY, INT64, 4},
	    {"ns", MPSTORE__KIND__KIND_NAMESPACE, ANY, 0}};
	for (size_t i = 0; i < sizeof(cs) / sizeof(cs[0]); i++)
		assert_int_equal(tu_create(st, cs[i].name, cs[i].kind, cs[i].et, cs[i].count), 0);
	for (int i = 0; i < 5; i++) {
		tu_call     k;
		Mpstore__Op op = tu_op(OPC(LIST_APPEND), "list");
		tu_call_init(&k);
		op.value = tu_int(&k, i);
		assert_int_equal(tu_exec(st, &k, &op, 1), 0);
		tu_call_fini(&k);
		tu_call_init(&k);
		op = tu_op(OPC(DICT_SET), "dict");
		op.key = tu_str(&k, i % 2 ? "odd" : "even");
		op.value = tu_int(&k, i);
		assert_int_equal(tu_exec(st, &k, &op, 1), 0);
		tu_call_fini(&k);
	}
}

/* Run op with every extreme in field f (0 index, 1 stop, 2 count, 3
 * timeout, 4 from_revision, 5 flags, 6 kind, 7 elem_type, 8 key_type) on
 * every container, as a session that may hold things. */
static void try_op(mpsd_store *st, Mpstore__OpCode code, const char *name, int f)
{
	for (size_t e = 0; e < NEXT; e++) {
		tu_call     k;
		Mpstore__Op op = tu_op(code, name);
		int64_t     v = extremes[e];
		tu_call_init(&k);
		op.value = tu_int(&k, v);
		op.expected = tu_int(&k, v);
		op.key = tu_str(&k, "even");
		Mpstore__Value *vals[2] = {tu_int(&k, 1), tu_int(&k, 2)};
		Mpstore__Value *keys[2] = {tu_str(&k, "a"), tu_str(&k, "b")};
		op.values = vals;
		op.n_values = 2;
		op.keys = keys;
		op.n_keys = 2;
		op.timeout_ms = 0;
		switch (f) {
		case 0: op.index = v; break;
		case 1: op.stop = v; op.flags = MPSTORE__OP_FLAG__FLAG_HAS_STOP; break;
		case 2: op.count = v; break;
		case 3: op.timeout_ms = v; break;
		case 4: op.from_revision = (uint64_t)v; break;
		case 5: op.flags = (uint32_t)v; op.index = v; break;
		case 6: op.kind = (Mpstore__Kind)v; op.count = 2; break;
		case 7: op.elem_type = (Mpstore__ElemType)v; op.count = 2; break;
		default: op.key_type = (Mpstore__KeyType)v; break;
		}
		char nm[64];
		if (code == OPC(CREATE)) {
			/* a fresh name per try, so that creates really run */
			snprintf(nm, sizeof(nm), "new.%d.%zu", f, e);
			op.name = nm;
		}
		uint64_t sid = 1 + e % 3;
		int      rv = tu_exec(st, &k, &op, sid);
		if (rv == MPSD_PARK) {
			tu_expire(st, INT64_MAX - 1); /* nothing may have overflowed */
			if (!k.done)
				ks_gone(st, sid); /* a wait for ever: its session ends */
			assert_true(k.done);
		} else if (rv != 0) {
			if (rv < 0 || rv > MPSTORE__STATUS__ERR_ABORTED)
				fail_msg("op %d on %s, field %d = %lld: status %d", (int)code, name, f,
				    (long long)v, rv);
			if (k.res.error == NULL || k.res.error[0] == '\0')
				fail_msg("op %d on %s, field %d = %lld: status %d without a message",
				    (int)code, name, f, (long long)v, rv);
		}
		tu_call_fini(&k);
		tu_wake(st);
		if (mpsd_store_memory_check(st) != 0)
			fail_msg("op %d on %s, field %d = %lld: memory count is off", (int)code, name, f,
			    (long long)v);
	}
}

static void test_extreme_numbers(void **state)
{
	(void)state;
	static const char *const names[] = {"value", "any", "list", "dict", "queue", "lock", "rlock",
	    "sem", "bsem", "event", "cond", "barrier", "array", "ns", "missing"};
	mpsd_store *st = mpsd_store_alloc();
	fill(st);
	for (size_t o = 0; o < sizeof(all_ops) / sizeof(all_ops[0]); o++)
		for (size_t n = 0; n < sizeof(names) / sizeof(names[0]); n++)
			for (int f = 0; f < 9; f++) {
				if (all_ops[o] == OPC(DELETE))
					continue; /* below, once the rest is done */
				try_op(st, all_ops[o], names[n], f);
			}
	for (uint64_t sid = 1; sid <= 3; sid++)
		ks_gone(st, sid);
	assert_int_equal(mpsd_store_memory_check(st), 0);
	mpsd_store_free(st);
}

/* Extreme numbers with the kinds' sizes where they matter. */
static void test_range_errors(void **state)
{
	(void)state;
	mpsd_store *st = mpsd_store_alloc();
	tu_call     k;
	fill(st);
	/* semaphore release past INT64_MAX: refused, value unchanged */
	tu_call_init(&k);
	assert_int_equal(ks_runc(st, &k, OPC(SEM_RELEASE), "sem", INT64_MAX, 1), ST(ERR_INVALID));
	tu_call_fini(&k);
	tu_call_init(&k);
	assert_int_equal(ks_runc(st, &k, OPC(SEM_RELEASE), "sem", -1, 1), ST(ERR_INVALID));
	tu_call_fini(&k);
	Mpstore__Result r;
	assert_int_equal(ks_do(st, OPC(SEM_VALUE), "sem", 0, 1, &r), 0);
	assert_int_equal(r.count, 2);
	/* an array of 2^63 - 1 elements, a barrier of no parties, a queue of
	 * negative size, an unknown kind or type: ERR_INVALID */
	Mpstore__Op op = tu_op(OPC(CREATE), "bad");
	struct {
		Mpstore__Kind     kind;
		Mpstore__ElemType et;
		int64_t           count;
	} bad[] = {{MPSTORE__KIND__KIND_ARRAY, INT64, INT64_MAX}, {MPSTORE__KIND__KIND_ARRAY, INT64, 0},
	    {MPSTORE__KIND__KIND_BARRIER, ANY, 0}, {MPSTORE__KIND__KIND_BARRIER, ANY, INT64_MIN},
	    {MPSTORE__KIND__KIND_QUEUE, ANY, -1}, {MPSTORE__KIND__KIND_SEMAPHORE, ANY, INT64_MIN},
	    {(Mpstore__Kind)1000, ANY, 0}, {(Mpstore__Kind)-1, ANY, 0},
	    {MPSTORE__KIND__KIND_LIST, (Mpstore__ElemType)-1, 0},
	    {MPSTORE__KIND__KIND_LIST, (Mpstore__ElemType)99, 0}};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		tu_call_init(&k);
		op.kind = bad[i].kind;
		op.elem_type = bad[i].et;
		op.count = bad[i].count;
		assert_int_equal(tu_exec(st, &k, &op, 1), ST(ERR_INVALID));
		assert_non_null(k.res.error);
		tu_call_fini(&k);
	}
	assert_null(mpsd_store_find(st, "bad"));
	/* dict paging: negative cursor or page size */
	tu_call_init(&k);
	op = tu_op(OPC(DICT_KEYS), "dict");
	op.index = -1;
	assert_int_equal(tu_exec(st, &k, &op, 1), ST(ERR_INVALID));
	tu_call_fini(&k);
	tu_call_init(&k);
	op.index = INT64_MAX;
	assert_int_equal(tu_exec(st, &k, &op, 1), 0);
	assert_int_equal(k.res.n_keys, 0);
	assert_int_equal(k.res.next, -1);
	tu_call_fini(&k);
	/* list index INT64_MIN: out of range, not a wrap to a valid index */
	tu_call_init(&k);
	op = tu_op(OPC(LIST_GET), "list");
	op.index = INT64_MIN;
	assert_int_equal(tu_exec(st, &k, &op, 1), ST(ERR_INDEX));
	tu_call_fini(&k);
	/* counter add past INT64_MAX */
	tu_call_init(&k);
	op = tu_op(OPC(VALUE_ADD), "value");
	op.value = tu_int(&k, INT64_MAX);
	assert_int_equal(tu_exec(st, &k, &op, 1), ST(ERR_INVALID));
	tu_call_fini(&k);
	mpsd_store_free(st);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_deadline_after),
		cmocka_unit_test(test_huge_timeouts_park),
		cmocka_unit_test(test_negative_timeouts),
		cmocka_unit_test(test_extreme_numbers),
		cmocka_unit_test(test_range_errors),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
