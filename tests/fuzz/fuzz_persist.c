/*
 * fuzz_persist.c - libFuzzer target: the persistence loader. A database
 * (SQLite in memory) is built from the input: meta values, snapshot rows
 * and log rows; then mpsp checks meta (meta.c) and recovers it, and each
 * record is decoded and applied to a store the way the daemon's recovery
 * does (commit.c: protobuf-c's unpack, mpsd_store_apply).
 *
 * When that load succeeds, the recovered store is written back as a
 * snapshot, the file is checked and loaded again into a second store, and
 * the two must dump the same (what a daemon loads, snapshots and loads
 * again must not change). The log is also read as watchers read it, and
 * the answers kept for re-sends as the daemon's start reads them: those
 * the snapshot carried from the log rows into the answers table must be
 * exactly the current ones (the last of each client and slot).
 * A violation calls abort(); ASan and UBSan watch the rest. One database
 * serves every input (emptied first): making its schema costs more than
 * the rest of a run.
 *
 * Input: byte 0 is a mode: bit 0, meta values come from the input (seven
 * zigzag varints: format, token, snapshot_rev, snapshot_token,
 * snapshot_first, snapshot_last, log_floor), else they are made consistent
 * (two varints: the snapshot's revision and the token); bit 1, log rows
 * carry their own header (four zigzag varints: rev_lo, rev_hi, n, bytes),
 * else it is derived from their records; bit 2, log rows carry answers.
 * Then rows, each a tag byte, a varint length and that many bytes: an
 * even tag is a snapshot row (a length byte, the name, then the packed
 * Change), an odd tag a log row's recs (docs/persistence.md: varint rev,
 * kind, name length, name, data length, data; repeated); with bit 2, a
 * varint length of the recs comes first and the bytes after them are the
 * row's answers column (varint client id, request id, length, answer;
 * repeated).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "persist_int.h"
#include "store.h"
#include "wire.h"

static void check(int ok, const char *what)
{
	if (!ok) {
		fprintf(stderr, "fuzz_persist: %s\n", what);
		abort();
	}
}

typedef struct in {
	const uint8_t *p, *end;
} in;

static uint64_t get_varint(in *r)
{
	uint64_t v = 0;
	for (int s = 0; s < 64 && r->p < r->end; s += 7) {
		uint8_t c = *r->p++;
		v |= (uint64_t)(c & 0x7f) << s;
		if (!(c & 0x80))
			break;
	}
	return v;
}

static int64_t get_zigzag(in *r)
{
	uint64_t v = get_varint(r);
	return (int64_t)(v >> 1) ^ -(int64_t)(v & 1);
}

/* The records at the start of recs that parse whole: their count, byte
 * size, data bytes and first and last revision. */
static void derive(const uint8_t *recs, size_t len, int64_t h[4], size_t *used)
{
	in       r = {recs, recs + len};
	uint64_t n = 0, bytes = 0, lo = 0, hi = 0;
	*used = 0;
	while (r.p < r.end) {
		uint64_t rev = get_varint(&r);
		get_varint(&r); /* kind */
		uint64_t nl = get_varint(&r);
		if (nl > (uint64_t)(r.end - r.p))
			break;
		r.p += nl;
		uint64_t dl = get_varint(&r);
		if (dl > (uint64_t)(r.end - r.p) || r.p > r.end)
			break;
		r.p += dl;
		if (n++ == 0)
			lo = rev;
		hi = rev;
		bytes += dl;
		*used = (size_t)(r.p - recs);
	}
	h[0] = (int64_t)lo;
	h[1] = (int64_t)hi;
	h[2] = (int64_t)n;
	h[3] = (int64_t)bytes;
}

/* Statements of the harness, prepared once (SQL parsing would otherwise
 * take most of the time). */
enum { Q_SNAP, Q_LOG, Q_META, Q_N };
static sqlite3_stmt *q[Q_N];

static void prepare(sqlite3 *db)
{
	static const char *const text[Q_N] = {
	    "INSERT INTO snapshot(seq, kind, name, change) VALUES (?, ?, ?, ?)",
	    "INSERT INTO log(rev_lo, rev_hi, n, bytes, recs, answers) VALUES (?, ?, ?, ?, ?, ?)",
	    "UPDATE meta SET value = ?2 WHERE key = ?1"};
	for (int i = 0; i < Q_N; i++)
		check(q[i] != NULL || sqlite3_prepare_v3(db, text[i], -1, SQLITE_PREPARE_PERSISTENT, &q[i],
		                          NULL) == SQLITE_OK,
		    "a harness statement");
}

static void run(sqlite3_stmt *s, const int64_t *ints, int nints, const void *blob, size_t blen,
    const char *text, size_t tlen, const void *blob2, size_t blen2)
{
	int i = 1;
	for (; i <= nints; i++)
		sqlite3_bind_int64(s, i, ints[i - 1]);
	if (text != NULL)
		sqlite3_bind_text(s, i++, text, (int)tlen, SQLITE_TRANSIENT);
	if (blob != NULL)
		sqlite3_bind_blob(s, i++, blen ? blob : "", (int)blen, SQLITE_TRANSIENT);
	if (blob2 != NULL)
		sqlite3_bind_blob(s, i, blen2 ? blob2 : "", (int)blen2, SQLITE_TRANSIENT);
	sqlite3_step(s); /* constraint failures (duplicate seq ...) are fine */
	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
}

static void build(mpsp *p, const uint8_t *data, size_t size)
{
	sqlite3 *db = mpsp__db(p);
	in       r = {data + 1, data + size};
	int      raw_meta = data[0] & 1, raw_log = data[0] & 2, answers = data[0] & 4;
	int64_t  meta[7];
	static const char *const keys[7] = {"format", "token", "snapshot_rev", "snapshot_token",
	    "snapshot_first", "snapshot_last", "log_floor"};
	if (raw_meta) {
		for (int i = 0; i < 7; i++)
			meta[i] = get_zigzag(&r);
	} else {
		meta[2] = meta[6] = (int64_t)(get_varint(&r) & 0xffffffff);
		meta[1] = meta[3] = (int64_t)(get_varint(&r) & 0xffffffff);
		meta[0] = MPSP_FORMAT_VERSION;
		meta[4] = 1;
	}
	int64_t seq = 0;
	prepare(db);
	if (!sqlite3_get_autocommit(db))
		sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
	sqlite3_exec(db, "BEGIN; DELETE FROM log; DELETE FROM snapshot; DELETE FROM answers", NULL,
	    NULL, NULL);
	while (r.p < r.end) {
		uint8_t  tag = *r.p++;
		uint64_t len = get_varint(&r);
		if (len > (uint64_t)(r.end - r.p))
			len = (uint64_t)(r.end - r.p);
		in row = {r.p, r.p + len};
		r.p += len;
		if (tag % 2 == 0) {
			size_t nl = row.p < row.end ? *row.p++ : 0;
			if (nl > (size_t)(row.end - row.p))
				nl = (size_t)(row.end - row.p);
			int64_t v[2] = {++seq, tag >> 1};
			run(q[Q_SNAP], v, 2, row.p + nl, (size_t)(row.end - row.p - nl), (const char *)row.p,
			    nl, NULL, 0);
		} else {
			int64_t        h[4];
			size_t         used;
			const uint8_t *ans = NULL;
			size_t         alen = 0;
			if (answers) {
				uint64_t rl = get_varint(&row);
				if (rl > (uint64_t)(row.end - row.p))
					rl = (uint64_t)(row.end - row.p);
				ans = row.p + rl;
				alen = (size_t)(row.end - ans);
				row.end = ans;
			}
			if (raw_log) {
				for (int i = 0; i < 4; i++)
					h[i] = get_zigzag(&row);
				used = (size_t)(row.end - row.p);
			} else {
				derive(row.p, (size_t)(row.end - row.p), h, &used);
			}
			run(q[Q_LOG], h, 4, row.p, used, NULL, 0, ans, alen);
		}
	}
	if (!raw_meta)
		meta[5] = seq;
	for (int i = 0; i < 7; i++) {
		sqlite3_bind_text(q[Q_META], 1, keys[i], -1, SQLITE_STATIC);
		sqlite3_bind_int64(q[Q_META], 2, meta[i]);
		sqlite3_step(q[Q_META]);
		sqlite3_reset(q[Q_META]);
	}
	sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
}

/* The daemon's recovery of one record (commit.c, recover_one). */
static int apply_cb(void *arg, const mpsp_rec *r)
{
	char             err[512];
	Mpstore__Change *ch = mpstore__change__unpack(NULL, r->len, r->data);
	if (ch == NULL)
		return MPSTORE__STATUS__ERR_IO;
	int rv = mpsd_store_apply(arg, ch, err, sizeof(err));
	mpstore__change__free_unpacked(ch, NULL);
	return rv;
}

static int load(mpsp *p, mpsd_store *st, uint64_t *last)
{
	char     err[1024];
	uint64_t token;
	int      rv = mpsp__reload(p, err, sizeof(err));
	if (rv == 0)
		rv = mpsp_recover(p, apply_cb, st, last, &token, err, sizeof(err));
	if (rv == 0 && *last > mpsd_store_revision(st))
		mpsd_store_set_revision(st, *last);
	return rv;
}

/* A dump as bytes, for comparing two stores. */
typedef struct bytes {
	uint8_t *b;
	size_t   n, cap;
	mpsp    *p;   /* when set, records also go into a snapshot */
	int      err;
} bytes;

static int collect(void *arg, const Mpstore__Change *ch)
{
	bytes  *o = arg;
	mpw_buf w;
	mpw_init(&w, NULL, 0);
	if (mpw_change(&w, ch) != 0) {
		mpw_fini(&w);
		return o->err = 1;
	}
	size_t k = mpw_len(&w);
	if (o->n + k > o->cap) {
		o->cap = (o->n + k) * 2;
		o->b = realloc(o->b, o->cap);
		check(o->b != NULL, "out of memory");
	}
	memcpy(o->b + o->n, mpw_data(&w), k);
	o->n += k;
	if (o->p != NULL) {
		mpsp_rec rec = {0, ch->name != NULL ? ch->name : "", (int)ch->kind, mpw_data(&w), k};
		if (mpsp_snapshot_put(o->p, &rec, 1, NULL, 0) != 0)
			o->err = 1;
	}
	mpw_fini(&w);
	return 0;
}

static int dump_one(void *arg, mpsd_container *c)
{
	return mpsd_store_dump(NULL, c, 7, collect, arg);
}

static void *pb_alloc(void *d, size_t n) { return mpsd_arena_alloc(d, n); }
static void  pb_free(void *d, void *p) { (void)d; (void)p; }

static int log_cb(void *arg, const mpsp_rec *r)
{
	mpsd_arena         a;
	ProtobufCAllocator al = {pb_alloc, pb_free, &a};
	(void)arg;
	mpsd_arena_init(&a);
	mpw_change_unpack(&al, r->len, r->data); /* watchers decode with wire.c */
	mpsd_arena_fini(&a);
	return 0;
}

/* The answers as the daemon's start takes them: the last of each client
 * and slot (copies). */
typedef struct ans_set {
	struct ans_one {
		uint64_t client, req;
		uint8_t *data;
		size_t   len;
	}     *a;
	size_t n, cap;
} ans_set;

static int ans_cb(void *arg, const mpsp_answer *x)
{
	ans_set        *s = arg;
	struct ans_one *o = NULL;
	for (size_t i = 0; i < s->n && o == NULL; i++)
		if (s->a[i].client == x->client_id && s->a[i].req % 1024 == x->req_id % 1024)
			o = &s->a[i];
	if (o == NULL) {
		if (s->n == s->cap) {
			s->cap = s->cap ? s->cap * 2 : 16;
			s->a = realloc(s->a, s->cap * sizeof(*s->a));
			check(s->a != NULL, "out of memory");
		}
		o = &s->a[s->n++];
		o->data = NULL;
	}
	free(o->data);
	o->client = x->client_id;
	o->req = x->req_id;
	o->len = x->len;
	o->data = malloc(x->len ? x->len : 1);
	check(o->data != NULL, "out of memory");
	if (x->len > 0)
		memcpy(o->data, x->data, x->len);
	return 0;
}

static void ans_free(ans_set *s)
{
	for (size_t i = 0; i < s->n; i++)
		free(s->a[i].data);
	free(s->a);
	memset(s, 0, sizeof(*s));
}

static int ans_same(const ans_set *a, const ans_set *b)
{
	if (a->n != b->n)
		return 0;
	for (size_t i = 0; i < a->n; i++) {
		size_t k = 0;
		while (k < b->n && (b->a[k].client != a->a[i].client || b->a[k].req != a->a[i].req))
			k++;
		if (k == b->n || b->a[k].len != a->a[i].len ||
		    (a->a[i].len > 0 && memcmp(b->a[k].data, a->a[i].data, a->a[i].len) != 0))
			return 0;
	}
	return 1;
}

/* One database for every input (its schema is made once); each input
 * empties it first. */
static mpsp *db_handle(void)
{
	static mpsp *p;
	char         err[1024];
	if (p == NULL)
		check(mpsp_open(&p, ":memory:", MPSP_LOG, err, sizeof(err)) == 0, "cannot open");
	return p;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char        err[1024];
	mpsp       *p = db_handle();
	mpsd_store *st = mpsd_store_alloc(), *st2 = mpsd_store_alloc();
	uint64_t    last = 0, last2 = 0;
	check(st != NULL && st2 != NULL, "out of memory");
	if (size < 1)
		goto out;
	build(p, data, size);
	if (load(p, st, &last) != 0)
		goto out;
	check(mpsd_store_memory_check(st) == 0, "the memory count is off after recovery");
	/* watchers read the log */
	mpsp_log_read(p, 1, log_cb, NULL, err, sizeof(err));
	mpsp_log_read(p, last, log_cb, NULL, err, sizeof(err));
	/* the answers, read before the snapshot compacts their rows */
	ans_set a1 = {NULL, 0, 0}, a2 = {NULL, 0, 0};
	int     ans_ok = mpsp_answers_read(p, ans_cb, &a1, err, sizeof(err)) == 0;
	/* the loaded store, written as a snapshot, loads the same */
	uint64_t rev = mpsd_store_revision(st);
	bytes    d1 = {NULL, 0, 0, p, 0}, d2 = {NULL, 0, 0, NULL, 0};
	if (mpsp_snapshot_begin(p, rev, 0, err, sizeof(err)) == 0) {
		mpsd_store_foreach(st, dump_one, &d1);
		int rv = mpsp_snapshot_end(p, !d1.err, err, sizeof(err));
		if (rv == 0 && !d1.err) {
			rv = load(p, st2, &last2);
			if (rv != 0)
				fprintf(stderr, "reload after a snapshot: %s\n", err);
			check(rv == 0, "a file that loaded does not load after its own snapshot");
			mpsd_store_foreach(st2, dump_one, &d2);
			check(d1.n == d2.n && (d1.n == 0 || memcmp(d1.b, d2.b, d1.n) == 0),
			    "a store loaded from its own snapshot differs");
			/* every row was compacted: the answers are in the table */
			check(mpsp_answers_read(p, ans_cb, &a2, err, sizeof(err)) == 0,
			    "the answers carried by a snapshot do not read");
			check(!ans_ok || ans_same(&a1, &a2), "a snapshot changed the answers kept");
		}
	}
	ans_free(&a1);
	ans_free(&a2);
	free(d1.b);
	free(d2.b);
out:
	mpsd_store_free(st);
	mpsd_store_free(st2);
	return 0;
}
