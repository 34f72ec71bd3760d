/* sync_txn_test.c - transactions (etcd-style: compares, then-ops,
 * else-ops, one revision, all or nothing) against a real daemon:
 *  - 8 processes x 50 check-and-set increments of a counter, each one txn
 *    round trip (compare value == v, set v+1, else get the current value),
 *    retried on failure: no update is lost (final 400);
 *  - a failed guard applies none of the then-ops, and the else-ops are
 *    applied;
 *  - a txn whose second op fails (pop of an empty list) applies nothing:
 *    the first op's change is rolled back, the revision does not move;
 *    likewise a lock acquired by the first op is not held afterwards;
 *  - blocking ops never wait inside a txn. */
#include "sync_common.h"

#define CAS_PROCS 8
#define CAS_EACH 50

static int
cas_worker(int id, mps_client *c, void *arg)
{
	(void)arg;
	mps_batch *b;
	int64_t    v, retries = 0;
	if (mps_counter_get(c, "x.n", &v) != MPS_OK || mps_batch_alloc(c, &b) != MPS_OK)
		return 1;
	for (int i = 0; i < CAS_EACH;) {
		mps_batch_reset(b);
		mps_value cur = mps_int(v);
		mps_op    set = {.code = MPS_OP_VALUE_SET, .name = "x.n", .value = mps_int(v + 1)};
		mps_op    get = {.code = MPS_OP_VALUE_GET, .name = "x.n"};
		if (mps_txn_compare(b, "x.n", MPS_TARGET_VALUE, MPS_CMP_EQ, NULL, &cur) != MPS_OK ||
		    mps_batch_append(b, &set) != MPS_OK || mps_txn_else(b) != MPS_OK ||
		    mps_batch_append(b, &get) != MPS_OK)
			return 1;
		mps_err e = mps_batch_exec(b);
		if (e != MPS_OK) {
			fprintf(stderr, "cas %d: %s %s\n", id, mps_err_name(e), mps_last_error());
			return 1;
		}
		if (mps_txn_succeeded(b)) {
			v++;
			i++;
			continue;
		}
		/* lost the race: the else branch says the current value */
		mps_result r;
		if (mps_batch_result(b, 0, &r) != MPS_OK || r.status != MPS_OK ||
		    r.value.type != MPS_INT) {
			fprintf(stderr, "cas %d: else result\n", id);
			return 1;
		}
		if (r.value.u.i < v) {
			fprintf(stderr, "cas %d: value went back from %lld to %lld\n", id, (long long)v,
			    (long long)r.value.u.i);
			return 1;
		}
		v = r.value.u.i;
		retries++;
	}
	mps_batch_free(b);
	sync_report(id, 1, retries, 0, 0);
	return 0;
}

static void
scenario_cas(void)
{
	sync_workers w;
	sync_spawn(&w, CAS_PROCS, cas_worker, NULL, 1);
	mps_client *c = sync_open();
	sync_create(c, "x.n", MPS_KIND_VALUE, MPS_TYPE_INT64, 0);
	sync_go_all(&w);
	int64_t  retries = 0;
	sync_rec r;
	for (int i = 0; i < CAS_PROCS; i++) {
		ST_TRUE(sync_recv(&w, &r, 30000) == 0, "cas: %d reports", i);
		retries += r.a;
	}
	sync_wait_all(&w);
	int64_t v;
	CT_OK(mps_counter_get(c, "x.n", &v));
	ST_TRUE(v == CAS_PROCS * CAS_EACH, "final %lld, want %d", (long long)v, CAS_PROCS * CAS_EACH);
	fprintf(stderr, "         %d increments, %lld retries\n", CAS_PROCS * CAS_EACH,
	    (long long)retries);
	mps_close(c);
}

static uint64_t
rev_of(mps_client *c, const char *name)
{
	mps_info in;
	CT_OK(mps_info_get(c, name, &in));
	uint64_t r = in.revision;
	mps_info_free(&in);
	return r;
}

static void
scenario_guard_and_rollback(void)
{
	mps_client *c = sync_open(), *o = sync_open();
	sync_create(c, "g.x", MPS_KIND_VALUE, MPS_TYPE_INT64, 0);
	sync_create(c, "g.y", MPS_KIND_VALUE, MPS_TYPE_INT64, 0);
	sync_create(c, "g.l", MPS_KIND_LIST, MPS_TYPE_INT64, 0);
	sync_create(c, "g.empty", MPS_KIND_LIST, MPS_TYPE_INT64, 0);
	sync_create(c, "g.d", MPS_KIND_DICT, MPS_TYPE_ANY, 0);
	sync_create(c, "g.q", MPS_KIND_QUEUE, MPS_TYPE_ANY, 0);
	sync_create(c, "g.lock", MPS_KIND_LOCK, MPS_TYPE_ANY, 0);
	mps_value five = mps_int(5);
	CT_OK(mps_value_set(c, "g.x", &five));

	mps_batch *b;
	mps_result r;
	CT_OK(mps_batch_alloc(c, &b));

	/* failed guard: then-ops not applied, else-ops applied */
	uint64_t  rev0 = mps_batch_revision(b);
	mps_value bad = mps_int(999), one = mps_int(1), two = mps_int(2);
	CT_OK(mps_txn_compare(b, "g.x", MPS_TARGET_VALUE, MPS_CMP_EQ, NULL, &bad));
	mps_op then1 = {.code = MPS_OP_VALUE_SET, .name = "g.y", .value = one};
	mps_op then2 = {.code = MPS_OP_LIST_APPEND, .name = "g.l", .value = one};
	mps_op else1 = {.code = MPS_OP_LIST_APPEND, .name = "g.l", .value = two};
	mps_op else2 = {.code = MPS_OP_VALUE_GET, .name = "g.x"};
	CT_OK(mps_batch_append(b, &then1));
	CT_OK(mps_batch_append(b, &then2));
	CT_OK(mps_txn_else(b));
	CT_OK(mps_batch_append(b, &else1));
	CT_OK(mps_batch_append(b, &else2));
	CT_OK(mps_batch_exec(b));
	(void)rev0;
	ST_TRUE(!mps_txn_succeeded(b), "guard 999 held");
	ST_TRUE(mps_batch_nresults(b) == 2, "results %zu", mps_batch_nresults(b));
	CT_OK(mps_batch_result(b, 1, &r));
	ST_TRUE(r.status == MPS_OK && r.value.type == MPS_INT && r.value.u.i == 5, "else get");
	int64_t y, len;
	CT_OK(mps_counter_get(c, "g.y", &y));
	ST_TRUE(y == 0, "then-op applied: y = %lld", (long long)y);
	mps_value *vals;
	size_t     n;
	CT_OK(mps_list_slice(c, "g.l", 0, 0, 0, &vals, &n));
	ST_TRUE(n == 1 && vals[0].u.i == 2, "list after else: n %zu", n);
	mps_values_free(vals, n);

	/* several compares, all holding: then-ops applied with one revision */
	mps_batch_reset(b);
	mps_value key = mps_str("k"), missing = mps_null(), len1 = mps_int(1), yes = mps_bool(1);
	CT_OK(mps_txn_compare(b, "g.x", MPS_TARGET_VALUE, MPS_CMP_GE, NULL, &five));
	CT_OK(mps_txn_compare(b, "g.d", MPS_TARGET_DICT_ENTRY, MPS_CMP_EQ, &key, &missing));
	CT_OK(mps_txn_compare(b, "g.l", MPS_TARGET_LENGTH, MPS_CMP_EQ, NULL, &len1));
	CT_OK(mps_txn_compare(b, "g.lock", MPS_TARGET_EXISTS, MPS_CMP_EQ, NULL, &yes));
	mps_op s1 = {.code = MPS_OP_VALUE_ADD, .name = "g.x", .value = one};
	mps_op s2 = {.code = MPS_OP_DICT_SET, .name = "g.d", .key = key, .value = two};
	mps_op s3 = {.code = MPS_OP_LIST_APPEND, .name = "g.l", .value = one};
	CT_OK(mps_batch_append(b, &s1));
	CT_OK(mps_batch_append(b, &s2));
	CT_OK(mps_batch_append(b, &s3));
	CT_OK(mps_batch_exec(b));
	ST_TRUE(mps_txn_succeeded(b), "all compares should hold");
	uint64_t trev = mps_batch_revision(b);
	ST_TRUE(rev_of(c, "g.x") == trev && rev_of(c, "g.d") == trev && rev_of(c, "g.l") == trev,
	    "one revision: %llu %llu %llu, txn %llu", (unsigned long long)rev_of(c, "g.x"),
	    (unsigned long long)rev_of(c, "g.d"), (unsigned long long)rev_of(c, "g.l"),
	    (unsigned long long)trev);
	/* a revision compare: the container's revision is trev */
	mps_batch_reset(b);
	mps_value rv = mps_int((int64_t)trev);
	CT_OK(mps_txn_compare(b, "g.l", MPS_TARGET_REVISION, MPS_CMP_EQ, NULL, &rv));
	mps_op gl = {.code = MPS_OP_LIST_LEN, .name = "g.l"};
	CT_OK(mps_batch_append(b, &gl));
	CT_OK(mps_batch_exec(b));
	ST_TRUE(mps_txn_succeeded(b), "revision compare");

	/* second op fails: nothing applied, first op rolled back */
	mps_batch_reset(b);
	uint64_t  rx = rev_of(c, "g.x"), rl = rev_of(c, "g.l");
	mps_value seven = mps_int(7);
	mps_op    f1 = {.code = MPS_OP_VALUE_SET, .name = "g.x", .value = seven};
	mps_op    f2 = {.code = MPS_OP_LIST_POP, .name = "g.empty"};
	mps_op    f3 = {.code = MPS_OP_LIST_APPEND, .name = "g.l", .value = seven};
	CT_OK(mps_txn_compare(b, "g.x", MPS_TARGET_VALUE, MPS_CMP_EQ, NULL, &(mps_value){.type = MPS_INT, .u.i = 6}));
	CT_OK(mps_batch_append(b, &f1));
	CT_OK(mps_batch_append(b, &f2));
	CT_OK(mps_batch_append(b, &f3));
	mps_err e = mps_batch_exec(b);
	ST_TRUE(e != MPS_OK, "a txn with a failing op succeeded");
	ST_TRUE(mps_last_error()[0] != '\0', "no message");
	int64_t x;
	CT_OK(mps_counter_get(c, "g.x", &x));
	ST_TRUE(x == 6, "first op not rolled back: x = %lld", (long long)x);
	CT_OK(mps_list_len(c, "g.l", &len));
	ST_TRUE(len == 2, "third op applied: len %lld", (long long)len);
	ST_TRUE(rev_of(c, "g.x") == rx && rev_of(c, "g.l") == rl, "revisions moved");

	/* a lock taken by the first op of a failing txn is not held */
	mps_batch_reset(b);
	mps_op k1 = {.code = MPS_OP_LOCK_ACQUIRE, .name = "g.lock", .timeout_ms = 0};
	CT_OK(mps_batch_append(b, &k1));
	CT_OK(mps_batch_append(b, &f2));
	CT_OK(mps_txn_compare(b, "g.lock", MPS_TARGET_EXISTS, MPS_CMP_EQ, NULL, &yes));
	e = mps_batch_exec(b);
	ST_TRUE(e != MPS_OK, "lock txn succeeded");
	int locked;
	CT_OK(mps_lock_locked(o, "g.lock", &locked, NULL));
	ST_TRUE(!locked, "lock held after a rolled-back txn");
	CT_OK(mps_lock_acquire(o, "g.lock", 0, NULL));
	CT_OK(mps_lock_release(o, "g.lock"));

	/* blocking ops never wait in a txn */
	mps_batch_reset(b);
	mps_op qg = {.code = MPS_OP_QUEUE_GET, .name = "g.q", .timeout_ms = 5000};
	CT_OK(mps_txn_compare(b, "g.q", MPS_TARGET_EXISTS, MPS_CMP_EQ, NULL, &yes));
	CT_OK(mps_batch_append(b, &qg));
	long long t0 = mpst_now_ms();
	e            = mps_batch_exec(b);
	long long ms = mpst_now_ms() - t0;
	ST_TRUE(e == MPS_ERR_EMPTY, "queue get in a txn: %s", mps_err_name(e));
	ST_WITHIN(ms, 0, 1000); /* a get that waited would take its 5 s */

	mps_batch_free(b);
	mps_close(o);
	mps_close(c);
}

int
main(void)
{
	sync_start(NULL);
	int fails = 0;
	int reps  = sync_soak() ? 10 : 1;
	for (int i = 0; i < reps; i++) {
		fails += sync_scenario("8 x 50 check-and-set increments by txn", scenario_cas, 60);
		fails += sync_scenario("failed guard, else branch, rollback", scenario_guard_and_rollback,
		    60);
	}
	mpst_daemon_cleanup(&sync_d);
	return fails == 0 ? 0 : 1;
}
