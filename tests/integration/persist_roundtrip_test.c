/*
 * persist_roundtrip_test - every container kind and element type comes back
 * equal after a restart, and the global revision continues:
 *   1. graceful stop (SIGTERM: final snapshot), restart, compare; restart
 *      once more (recovered from a snapshot of a recovered store), compare;
 *   2. kill -9 after a snapshot plus more changes (snapshot + log replay);
 *   3. kill -9 with no snapshot at all (log replay only).
 * State is compared as a canonical text built with the typed read ops
 * (ls + value/list/dict/namespace/array/sync reads); queues are compared by
 * draining them after the restart. Held locks and semaphore units are
 * released by a restart (their sessions are gone) and fencing tokens keep
 * growing: checked separately.
 */
#include "persist_common.h"

#include <math.h>

#define BIG_LIST 30000 /* > the snapshot's 10,000-element chunks */
#define BIG_DICT 12000

static const char *const names_sorted_hint = "containers are compared sorted by name";

/* ---- filling ---- */

static void create(mps_client *c, const char *name, mps_kind k, mps_elem_type t, mps_key_type kt,
    int64_t count)
{
	mps_create_opts o = {.kind = k, .elem_type = t, .key_type = kt, .count = count};
	PT_OK(mps_create(c, name, &o));
}

static uint64_t held_lock_token;

static void fill_part1(mps_client *c)
{
	/* values of every scalar type, and a counter */
	create(c, "v.int", MPS_KIND_VALUE, MPS_TYPE_INT64, 0, 0);
	create(c, "v.dbl", MPS_KIND_VALUE, MPS_TYPE_DOUBLE, 0, 0);
	create(c, "v.bool", MPS_KIND_VALUE, MPS_TYPE_BOOL, 0, 0);
	create(c, "v.str", MPS_KIND_VALUE, MPS_TYPE_STRING, 0, 0);
	create(c, "v.bytes", MPS_KIND_VALUE, MPS_TYPE_BYTES, 0, 0);
	create(c, "v.any", MPS_KIND_VALUE, MPS_TYPE_ANY, 0, 0);
	create(c, "v.unset", MPS_KIND_VALUE, MPS_TYPE_ANY, 0, 0);
	create(c, "counter", MPS_KIND_VALUE, MPS_TYPE_INT64, 0, 0);
	mps_value v = mps_int(INT64_MIN);
	PT_OK(mps_value_set(c, "v.int", &v));
	v = mps_double(-2.5e-300);
	PT_OK(mps_value_set(c, "v.dbl", &v));
	v = mps_bool(1);
	PT_OK(mps_value_set(c, "v.bool", &v));
	v = mps_str("h\xc3\xa9llo, w\xc3\xb6rld \xe2\x9c\x93");
	PT_OK(mps_value_set(c, "v.str", &v));
	static const unsigned char raw[] = {0, 1, 2, 0xff, 0, 0x80, 'x'};
	v = mps_bytes(raw, sizeof(raw));
	PT_OK(mps_value_set(c, "v.bytes", &v));
	v = mps_str("any string");
	PT_OK(mps_value_set(c, "v.any", &v));
	for (int i = 0; i < 25; i++)
		PT_OK(mps_counter_add(c, "counter", 4, NULL));

	/* lists: typed, any (mixed), and a big one in extends */
	create(c, "l.int", MPS_KIND_LIST, MPS_TYPE_INT64, 0, 0);
	create(c, "l.str", MPS_KIND_LIST, MPS_TYPE_STRING, 0, 0);
	create(c, "l.any", MPS_KIND_LIST, MPS_TYPE_ANY, 0, 0);
	create(c, "l.bytes", MPS_KIND_LIST, MPS_TYPE_BYTES, 0, 0);
	create(c, "l.dbl", MPS_KIND_LIST, MPS_TYPE_DOUBLE, 0, 0);
	create(c, "l.bool", MPS_KIND_LIST, MPS_TYPE_BOOL, 0, 0);
	create(c, "l.big", MPS_KIND_LIST, MPS_TYPE_INT64, 0, 0);
	create(c, "l.empty", MPS_KIND_LIST, MPS_TYPE_ANY, 0, 0);
	for (int i = 0; i < 50; i++) {
		mps_value x = mps_int((int64_t)i * 1000003 - 7);
		PT_OK(mps_list_append(c, "l.int", &x, NULL));
		char s[32];
		snprintf(s, sizeof(s), "s%03d", i);
		x = mps_str(s);
		PT_OK(mps_list_append(c, "l.str", &x, NULL));
		x = mps_double(i / 3.0);
		PT_OK(mps_list_append(c, "l.dbl", &x, NULL));
		x = mps_bool(i % 3 == 0);
		PT_OK(mps_list_append(c, "l.bool", &x, NULL));
		unsigned char b[3] = {(unsigned char)i, 0, (unsigned char)(255 - i)};
		x = mps_bytes(b, (size_t)(i % 4));
		PT_OK(mps_list_append(c, "l.bytes", &x, NULL));
	}
	mps_value mixed[] = {mps_int(INT64_MAX), mps_double(1e300), mps_bool(0), mps_str(""),
	    mps_bytes("\0\0", 2), mps_str("\xe6\x97\xa5\xe6\x9c\xac"), mps_int(-1), mps_double(-0.5)};
	PT_OK(mps_list_extend(c, "l.any", mixed, sizeof(mixed) / sizeof(mixed[0]), NULL));
	mps_value *big = calloc(5000, sizeof(*big));
	PT_TRUE(big != NULL);
	for (int k = 0; k < BIG_LIST / 5000; k++) {
		for (int i = 0; i < 5000; i++)
			big[i] = mps_int((int64_t)(k * 5000 + i) * 3);
		PT_OK(mps_list_extend(c, "l.big", big, 5000, NULL));
	}

	/* dicts with string and int64 keys, and a big one */
	create(c, "d.str", MPS_KIND_DICT, MPS_TYPE_ANY, MPS_KEY_STRING, 0);
	create(c, "d.int", MPS_KIND_DICT, MPS_TYPE_STRING, MPS_KEY_INT64, 0);
	create(c, "d.big", MPS_KIND_DICT, MPS_TYPE_INT64, MPS_KEY_STRING, 0);
	for (int i = 0; i < 40; i++) {
		char ks[32];
		snprintf(ks, sizeof(ks), "key-%d", (i * 7) % 40);
		mps_value k = mps_str(ks);
		mps_value x = i % 2 ? mps_int(i) : mps_str(ks);
		PT_OK(mps_dict_set(c, "d.str", &k, &x));
		k = mps_int((int64_t)i * -977);
		x = mps_str(ks);
		PT_OK(mps_dict_set(c, "d.int", &k, &x));
	}
	mps_value *keys = calloc(BIG_DICT, sizeof(*keys));
	mps_value *vals = calloc(BIG_DICT, sizeof(*vals));
	char     (*kbuf)[16] = calloc(BIG_DICT, 16);
	PT_TRUE(keys != NULL && vals != NULL && kbuf != NULL);
	for (int i = 0; i < BIG_DICT; i++) {
		snprintf(kbuf[i], 16, "k%07d", (i * 7919) % BIG_DICT);
		keys[i] = mps_str(kbuf[i]);
		vals[i] = mps_int(i);
	}
	for (int i = 0; i < BIG_DICT; i += 4000)
		PT_OK(mps_dict_update(c, "d.big", keys + i, vals + i, 4000));
	free(keys);
	free(vals);
	free(kbuf);

	/* arrays */
	create(c, "a.int", MPS_KIND_ARRAY, MPS_TYPE_INT64, 0, 16);
	create(c, "a.dbl", MPS_KIND_ARRAY, MPS_TYPE_DOUBLE, 0, 5);
	for (int i = 0; i < 16; i += 3) {
		mps_value x = mps_int(i * i - 50);
		PT_OK(mps_array_set(c, "a.int", i, &x));
	}
	mps_value x = mps_double(6.02e23);
	PT_OK(mps_array_set(c, "a.dbl", 4, &x));

	/* namespace */
	create(c, "ns", MPS_KIND_NAMESPACE, MPS_TYPE_ANY, 0, 0);
	x = mps_str("worker");
	PT_OK(mps_ns_set(c, "ns", "role", &x));
	x = mps_int(8);
	PT_OK(mps_ns_set(c, "ns", "threads", &x));
	x = mps_double(0.25);
	PT_OK(mps_ns_set(c, "ns", "ratio", &x));

	/* queues: one bounded, items taken from the head too */
	create(c, "q.any", MPS_KIND_QUEUE, MPS_TYPE_ANY, 0, 0);
	create(c, "q.str", MPS_KIND_QUEUE, MPS_TYPE_STRING, 0, 100);
	for (int i = 0; i < 10; i++) {
		x = mps_int(i);
		PT_OK(mps_queue_put(c, "q.any", &x, 0, NULL));
		char s[16];
		snprintf(s, sizeof(s), "job%d", i);
		x = mps_str(s);
		PT_OK(mps_queue_put(c, "q.str", &x, 0, NULL));
	}
	mps_value got;
	PT_OK(mps_queue_get(c, "q.any", 0, &got));
	PT_TRUE(got.type == MPS_INT && got.u.i == 0);
	mps_value_free(&got);

	/* sync kinds */
	create(c, "lock", MPS_KIND_LOCK, 0, 0, 0);
	create(c, "lock.held", MPS_KIND_LOCK, 0, 0, 0);
	create(c, "rlock", MPS_KIND_RLOCK, 0, 0, 0);
	create(c, "cond", MPS_KIND_CONDITION, 0, 0, 0);
	create(c, "sem", MPS_KIND_SEMAPHORE, 0, 0, 3);
	create(c, "sem.held", MPS_KIND_SEMAPHORE, 0, 0, 3);
	create(c, "bsem", MPS_KIND_BOUNDED_SEMAPHORE, 0, 0, 2);
	create(c, "ev.set", MPS_KIND_EVENT, 0, 0, 0);
	create(c, "ev.clear", MPS_KIND_EVENT, 0, 0, 0);
	create(c, "barrier", MPS_KIND_BARRIER, 0, 0, 3);
	create(c, "barrier.broken", MPS_KIND_BARRIER, 0, 0, 2);
	for (int i = 0; i < 3; i++) {
		PT_OK(mps_lock_acquire(c, "lock", 1000, NULL));
		PT_OK(mps_lock_release(c, "lock"));
	}
	PT_OK(mps_rlock_acquire(c, "rlock", 1000, NULL, NULL));
	PT_OK(mps_lock_release(c, "rlock"));
	PT_OK(mps_cond_acquire(c, "cond", 1000, NULL));
	PT_OK(mps_cond_release(c, "cond"));
	/* nothing held at the end: acquire, release, and one extra release */
	PT_OK(mps_sem_acquire(c, "sem", 0, NULL));
	PT_OK(mps_sem_release(c, "sem", NULL));
	PT_OK(mps_sem_release(c, "sem", NULL));
	PT_OK(mps_event_set(c, "ev.set"));
	PT_OK(mps_event_set(c, "ev.clear"));
	PT_OK(mps_event_clear(c, "ev.clear"));
	PT_OK(mps_barrier_abort(c, "barrier.broken"));

	/* a deleted container, and one re-created with another kind */
	create(c, "gone", MPS_KIND_LIST, MPS_TYPE_INT64, 0, 0);
	x = mps_int(1);
	PT_OK(mps_list_append(c, "gone", &x, NULL));
	PT_OK(mps_delete(c, "gone"));
	create(c, "again", MPS_KIND_LIST, MPS_TYPE_INT64, 0, 0);
	PT_OK(mps_list_append(c, "again", &x, NULL));
	PT_OK(mps_delete(c, "again"));
	create(c, "again", MPS_KIND_DICT, MPS_TYPE_INT64, MPS_KEY_INT64, 0);
	PT_OK(mps_dict_set(c, "again", &x, &x));
}

/* Changes on top of part 1 (after a snapshot: they come back from the log). */
static void fill_part2(mps_client *c)
{
	mps_value x = mps_int(INT64_MAX - 1);
	PT_OK(mps_value_set(c, "v.int", &x));
	x = mps_int(42);
	PT_OK(mps_value_set(c, "v.any", &x)); /* any: a string became an int */
	PT_OK(mps_counter_add(c, "counter", -1, NULL));
	x = mps_int(-5);
	PT_OK(mps_list_insert(c, "l.int", 0, &x));
	PT_OK(mps_list_insert(c, "l.int", 10, &x));
	PT_OK(mps_list_set(c, "l.int", -1, &x));
	PT_OK(mps_list_pop(c, "l.str", NULL));
	PT_OK(mps_list_pop_index(c, "l.str", 3, NULL));
	x = mps_str("s010");
	PT_OK(mps_list_remove(c, "l.str", &x));
	PT_OK(mps_list_pop_index(c, "l.big", 12345, NULL));
	x = mps_int(-1);
	PT_OK(mps_list_set(c, "l.big", 29000, &x));
	PT_OK(mps_list_clear(c, "l.bool"));
	x = mps_str("key-3");
	PT_OK(mps_dict_del(c, "d.str", &x));
	mps_value k = mps_str("new key");
	x = mps_bytes("b\0b", 3);
	PT_OK(mps_dict_set(c, "d.str", &k, &x));
	k = mps_str("key-0"); /* overwrite keeps insertion position */
	x = mps_double(7.5);
	PT_OK(mps_dict_set(c, "d.str", &k, &x));
	k = mps_str("k0000017");
	PT_OK(mps_dict_pop(c, "d.big", &k, NULL, NULL));
	x = mps_int(-9);
	PT_OK(mps_array_set(c, "a.int", 15, &x));
	PT_OK(mps_ns_del(c, "ns", "ratio"));
	x = mps_bool(1);
	PT_OK(mps_ns_set(c, "ns", "ready", &x));
	for (int i = 10; i < 15; i++) {
		x = mps_int(i);
		PT_OK(mps_queue_put(c, "q.any", &x, 0, NULL));
	}
	mps_value got;
	PT_OK(mps_queue_get(c, "q.any", 0, &got));
	PT_TRUE(got.type == MPS_INT && got.u.i == 1, "queue head");
	mps_value_free(&got);
	PT_OK(mps_queue_get(c, "q.str", 0, &got));
	mps_value_free(&got);
	PT_OK(mps_lock_acquire(c, "lock.held", 1000, &held_lock_token));
	PT_OK(mps_sem_acquire(c, "sem.held", 0, NULL));
	PT_OK(mps_sem_acquire(c, "sem.held", 0, NULL));
	PT_OK(mps_sem_acquire(c, "bsem", 0, NULL));
	PT_OK(mps_lock_acquire(c, "lock", 1000, NULL));
	PT_OK(mps_lock_release(c, "lock"));
}

/* ---- reading the state back ---- */

static int cmp_info(const void *a, const void *b)
{
	return strcmp(((const mps_info *)a)->name, ((const mps_info *)b)->name);
}

static void add_values(pt_buf *b, const mps_value *v, size_t n)
{
	pt_buf_add(b, "[");
	for (size_t i = 0; i < n; i++) {
		if (i)
			pt_buf_add(b, ",");
		pt_buf_value(b, &v[i]);
	}
	pt_buf_add(b, "]");
}

/* Canonical text of everything but queue contents and held sync state. */
static char *state_text(mps_client *c)
{
	pt_buf    b = {0};
	mps_info *in = NULL;
	size_t    n = 0;
	PT_OK(mps_ls(c, NULL, &in, &n));
	qsort(in, n, sizeof(*in), cmp_info);
	for (size_t i = 0; i < n; i++) {
		const mps_info *f = &in[i];
		const char     *nm = f->name;
		int held = strcmp(nm, "lock.held") == 0 || strcmp(nm, "sem.held") == 0 ||
		           strcmp(nm, "bsem") == 0;
		pt_buf_add(&b, "%s kind=%s type=%s key=%d msg=%s cap=%lld", nm,
		    mps_kind_name(f->kind), mps_elem_type_name(f->elem_type), (int)f->key_type,
		    f->message_type ? f->message_type : "", (long long)f->capacity);
		/* what a session holds is released when it closes (new revisions) */
		if (!held)
			pt_buf_add(&b, " rev=%llu len=%lld", (unsigned long long)f->revision,
			    (long long)f->length);
		pt_buf_add(&b, ": ");
		mps_value  v, *vals = NULL, *keys = NULL;
		size_t     nv = 0;
		int64_t    i64;
		int        flag, broken;
		uint64_t   tok;
		int64_t    parties, waiting;
		switch (f->kind) {
		case MPS_KIND_VALUE:
			PT_OK(mps_value_get(c, nm, &v));
			pt_buf_value(&b, &v);
			mps_value_free(&v);
			break;
		case MPS_KIND_LIST:
			PT_OK(mps_list_slice(c, nm, 0, 0, 0, &vals, &nv));
			PT_TRUE((int64_t)nv == f->length, "%s: slice gave %zu of %lld", nm, nv,
			    (long long)f->length);
			add_values(&b, vals, nv);
			mps_values_free(vals, nv);
			break;
		case MPS_KIND_ARRAY:
			PT_OK(mps_array_slice(c, nm, 0, 0, 0, &vals, &nv));
			add_values(&b, vals, nv);
			mps_values_free(vals, nv);
			break;
		case MPS_KIND_DICT:
			PT_OK(mps_dict_items(c, nm, &keys, &vals, &nv));
			PT_TRUE((int64_t)nv == f->length, "%s: items gave %zu of %lld", nm, nv,
			    (long long)f->length);
			add_values(&b, keys, nv);
			add_values(&b, vals, nv);
			mps_values_free(keys, nv);
			mps_values_free(vals, nv);
			break;
		case MPS_KIND_NAMESPACE:
			PT_OK(mps_ns_items(c, nm, &keys, &vals, &nv));
			add_values(&b, keys, nv);
			add_values(&b, vals, nv);
			mps_values_free(keys, nv);
			mps_values_free(vals, nv);
			break;
		case MPS_KIND_QUEUE:
			PT_OK(mps_queue_size(c, nm, &i64));
			pt_buf_add(&b, "size=%lld", (long long)i64);
			break;
		case MPS_KIND_LOCK:
		case MPS_KIND_RLOCK:
		case MPS_KIND_CONDITION:
			if (!held) {
				PT_OK(mps_lock_locked(c, nm, &flag, &tok));
				pt_buf_add(&b, "locked=%d", flag);
			}
			break;
		case MPS_KIND_SEMAPHORE:
		case MPS_KIND_BOUNDED_SEMAPHORE:
			if (!held) {
				PT_OK(mps_sem_value(c, nm, &i64));
				pt_buf_add(&b, "value=%lld", (long long)i64);
			}
			break;
		case MPS_KIND_EVENT:
			PT_OK(mps_event_is_set(c, nm, &flag));
			pt_buf_add(&b, "set=%d", flag);
			break;
		case MPS_KIND_BARRIER:
			PT_OK(mps_barrier_info(c, nm, &parties, &waiting, &broken));
			pt_buf_add(&b, "parties=%lld waiting=%lld broken=%d", (long long)parties,
			    (long long)waiting, broken);
			break;
		default:
			PT_FAIL("%s: unexpected kind %d", nm, (int)f->kind);
		}
		pt_buf_add(&b, "\n");
	}
	mps_infos_free(in, n);
	return b.s;
}

/* Every kind the daemon supports is in the state (skip-proof). */
static void check_kinds_present(const char *text)
{
	static const char *const kinds[] = {"value", "list", "dict", "queue", "lock", "rlock",
	    "semaphore", "bounded-semaphore", "event", "condition", "barrier", "array",
	    "namespace"};
	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		char pat[64];
		snprintf(pat, sizeof(pat), "kind=%s ", kinds[i]);
		if (strstr(text, pat) == NULL) {
			/* the client may spell it with an underscore */
			char alt[64];
			snprintf(alt, sizeof(alt), "%s", pat);
			for (char *p = alt; *p; p++)
				if (*p == '-')
					*p = '_';
			PT_TRUE(strstr(text, alt) != NULL, "kind %s missing from the state", kinds[i]);
		}
	}
	PT_TRUE(strstr(text, "\ngone ") == NULL, "deleted container came back");
	PT_TRUE(strstr(text, "again kind=dict") != NULL, "re-created container has the old kind");
}

/* After a restart: held locks and units were released, tokens grew;
 * queue contents are in order. */
static void check_after_restart(mps_client *c)
{
	int      locked;
	uint64_t tok;
	PT_OK(mps_lock_locked(c, "lock.held", &locked, &tok));
	PT_TRUE(locked == 0, "a lock held by a dead session is free after a restart");
	uint64_t t2 = 0;
	PT_OK(mps_lock_acquire(c, "lock.held", 1000, &t2));
	PT_TRUE(t2 > held_lock_token, "fencing token %llu after restart, must be > %llu",
	    (unsigned long long)t2, (unsigned long long)held_lock_token);
	PT_OK(mps_lock_release(c, "lock.held"));
	int64_t v;
	PT_OK(mps_sem_value(c, "sem.held", &v));
	PT_TRUE(v == 3, "sem.held value %lld after restart, want 3 (held units returned)",
	    (long long)v);
	PT_OK(mps_sem_value(c, "bsem", &v));
	PT_TRUE(v == 2, "bsem value %lld after restart, want 2", (long long)v);
}

static void check_queues(mps_client *c)
{
	int64_t n;
	PT_OK(mps_queue_size(c, "q.any", &n));
	PT_TRUE(n == 13, "q.any size %lld, want 13", (long long)n);
	for (int i = 2; i < 15; i++) {
		mps_value got;
		PT_OK(mps_queue_get(c, "q.any", 0, &got));
		PT_TRUE(got.type == MPS_INT && got.u.i == i, "q.any item %d: type %d value %lld", i,
		    (int)got.type, (long long)got.u.i);
		mps_value_free(&got);
	}
	PT_OK(mps_queue_size(c, "q.str", &n));
	PT_TRUE(n == 9, "q.str size %lld, want 9", (long long)n);
	for (int i = 1; i < 10; i++) {
		mps_value got;
		char      want[16];
		snprintf(want, sizeof(want), "job%d", i);
		PT_OK(mps_queue_get(c, "q.str", 0, &got));
		PT_TRUE(got.type == MPS_STRING && strcmp(got.u.s.ptr, want) == 0,
		    "q.str item %d is not %s", i, want);
		mps_value_free(&got);
	}
	/* bounded queue keeps its bound */
	mps_info info;
	PT_OK(mps_info_get(c, "q.str", &info));
	PT_TRUE(info.capacity == 100, "q.str maxsize %lld after restart", (long long)info.capacity);
	mps_info_free(&info);
}

/* A new mutation gets a revision above every revision before the restart. */
static void check_revision_continues(const mpst_daemon *d, uint64_t before)
{
	uint64_t now = pt_revision(d);
	PT_TRUE(now == before, "revision after restart %llu, before %llu", (unsigned long long)now,
	    (unsigned long long)before);
	mps_client *c = pt_connect(d);
	PT_OK(mps_counter_add(c, "counter", 1, NULL));
	mps_info info;
	PT_OK(mps_info_get(c, "counter", &info));
	PT_TRUE(info.revision > before, "new change has revision %llu, not above %llu",
	    (unsigned long long)info.revision, (unsigned long long)before);
	mps_info_free(&info);
	PT_TRUE(pt_revision(d) > before, "global revision did not grow");
	mps_close(c);
}

typedef enum { VIA_SIGTERM, VIA_KILL_AFTER_SNAPSHOT, VIA_KILL_LOG_ONLY } how;

static void run(how h, const char *dur)
{
	static const char *const hname[] = {"graceful stop", "kill -9 after snapshot + log",
	    "kill -9, log only"};
	const char *args[] = {"--durability", dur, "--snapshot-interval", "0", NULL};
	mpst_daemon d;
	long long   t0 = mpst_now_ms();
	pt_start(&d, args);
	mps_client *c = pt_connect(&d);
	fill_part1(c);
	if (h == VIA_KILL_AFTER_SNAPSHOT) {
		uint64_t srev = 0;
		PT_OK(mps_snapshot(c, &srev));
		PT_TRUE(srev > 0, "snapshot revision");
	}
	fill_part2(c);
	char    *before = state_text(c);
	uint64_t rev = mps_server(c)->revision;
	mps_close(c);
	rev = pt_revision(&d);
	check_kinds_present(before);
	long long log_rows_before = -1;
	if (h == VIA_SIGTERM) {
		pt_stop(&d);
		log_rows_before = pt_sql_int(d.db, "SELECT coalesce(sum(n), 0) FROM log");
		PT_TRUE(log_rows_before == 0, "log has %lld rows after the final snapshot",
		    log_rows_before);
	} else {
		pt_kill9(&d);
		long long lr = pt_sql_int(d.db, "SELECT coalesce(sum(n), 0) FROM log");
		PT_TRUE(lr > 0, "the log holds the changes after the last snapshot (%lld rows)", lr);
	}
	pt_restart(&d);
	c = pt_connect(&d);
	char *after = state_text(c);
	pt_same_text(hname[h], before, after);
	check_after_restart(c);
	mps_close(c);
	if (h == VIA_SIGTERM) {
		/* once more: a snapshot written by a recovered daemon */
		rev = pt_revision(&d);
		c = pt_connect(&d);
		free(before);
		before = state_text(c);
		mps_close(c);
		pt_stop(&d);
		pt_restart(&d);
		c = pt_connect(&d);
		free(after);
		after = state_text(c);
		mps_close(c);
		pt_same_text("second graceful restart", before, after);
	}
	c = pt_connect(&d);
	check_queues(c);
	mps_close(c);
	rev = pt_revision(&d);
	check_revision_continues(&d, rev);
	free(before);
	free(after);
	pt_stop(&d);
	pt_done(&d);
	printf("ok  round trip, %s (--durability %s): %lld ms\n", hname[h], dur,
	    mpst_now_ms() - t0);
}

int main(void)
{
	pt_init();
	alarm(120);
	(void)names_sorted_hint;
	run(VIA_SIGTERM, "log");
	run(VIA_KILL_AFTER_SNAPSHOT, "log");
	run(VIA_KILL_LOG_ONLY, "fsync");
	printf("persist_roundtrip_test: all passed\n");
	return 0;
}
