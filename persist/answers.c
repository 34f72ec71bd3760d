/*
 * answers.c - the answers of committed writes, kept in the transaction of
 * their records so that a request re-sent after a crash is answered, not
 * applied again (docs/protocol.md section 3; docs/persistence.md, "answers").
 *
 * Where they live. A group commit's answers go into the `answers` column
 * of its log row, encoded as
 *   per answer: varint client_id, varint req_id, varint length, the bytes
 * so they cost no page of their own: the row is written anyway. (A table
 * keyed by client and slot, written per commit, dirtied one page per
 * client in the group and made the daemon 20-30% slower with 50 clients.)
 * When a snapshot compacts log rows away, the answers among them that are
 * still current, the newest of their client and slot
 * (slot = req_id % MPSP_ANSWER_SLOTS), are carried into the table
 *   answers(client_id, slot, req_id, data) PRIMARY KEY (client_id, slot)
 * in the snapshot's transaction. A prune deletes the client's table rows
 * at once; its answers still in log rows are skipped by the next carry
 * (p->pruned remembers the client until those rows are gone) and die with
 * the rows. After a clean stop (whose final snapshot compacts the whole
 * log) the table holds exactly the answers kept.
 *
 * Ids are stored as SQLite's signed 64-bit integers with the bits of the
 * uint64_t.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "persist_int.h"

#define E_INVALID  MPSTORE__STATUS__ERR_INVALID
#define E_IO       MPSTORE__STATUS__ERR_IO
#define E_INTERNAL MPSTORE__STATUS__ERR_INTERNAL

static const char *path_of(const mpsp *p)
{
	return p->path != NULL ? p->path : "(memory)";
}

int mpsp__answers_check(const mpsp_answer *ans, size_t nans, char *err, size_t errlen)
{
	for (size_t i = 0; i < nans; i++)
		if (ans[i].client_id == 0 || ans[i].req_id == 0 ||
		    (ans[i].data == NULL && ans[i].len > 0))
			return mpsp__fail(err, errlen, E_INVALID,
			    "log append: answer %zu has no client id, request id or data", i);
	return 0;
}

/* ---- the answers column of a log row ---- */

int mpsp__answers_encode(mpsp *p, const mpsp_answer *ans, size_t nans, const uint8_t **blob,
    size_t *len, char *err, size_t errlen)
{
	size_t size = 0;
	for (size_t i = 0; i < nans; i++)
		size += mpsp__varint_len(ans[i].client_id) + mpsp__varint_len(ans[i].req_id) +
		    mpsp__varint_len(ans[i].len) + ans[i].len;
	*blob = NULL;
	*len = size;
	if (nans == 0)
		return 0;
	int rv = mpsp__buf_reserve(&p->ans_enc, &p->ans_cap, size, "answers", err, errlen);
	if (rv != 0)
		return rv;
	uint8_t *b = p->ans_enc;
	for (size_t i = 0; i < nans; i++) {
		b = mpsp__varint_put(b, ans[i].client_id);
		b = mpsp__varint_put(b, ans[i].req_id);
		b = mpsp__varint_put(b, ans[i].len);
		if (ans[i].len > 0)
			memcpy(b, ans[i].data, ans[i].len);
		b += ans[i].len;
	}
	*blob = p->ans_enc;
	return 0;
}

/* The next answer at *bp, or what is wrong with it. */
static const char *answer_next(const uint8_t **bp, const uint8_t *end, mpsp_answer *a)
{
	uint64_t len;
	if (mpsp__varint_get(bp, end, &a->client_id) != 0 || mpsp__varint_get(bp, end, &a->req_id) != 0)
		return "bad id";
	if (a->client_id == 0 || a->req_id == 0)
		return "an id is 0";
	if (mpsp__varint_get(bp, end, &len) != 0 || len > (uint64_t)(end - *bp))
		return "bad length";
	a->data = *bp;
	a->len = (size_t)len;
	*bp += len;
	return NULL;
}

/* ---- prunes ---- */

int mpsp__answers_prune(mpsp *p, const uint64_t *prune, size_t nprune, char *err, size_t errlen)
{
	sqlite3_stmt *s = p->st[MPSP_ST_ANSWER_PRUNE];
	for (size_t i = 0; i < nprune; i++) {
		sqlite3_bind_int64(s, 1, (sqlite3_int64)prune[i]);
		int rc = sqlite3_step(s);
		sqlite3_reset(s);
		if (rc != SQLITE_DONE)
			return mpsp__sqlfail(p, p->db, rc, err, errlen, "cannot delete answers in");
	}
	return 0;
}

void mpsp__answers_pruned(mpsp *p, const uint64_t *prune, size_t nprune, uint64_t log_seq)
{
	if (log_seq == 0)
		return; /* no log row holds answers of anyone */
	for (size_t i = 0; i < nprune; i++) {
		if (p->npruned == p->pruned_cap) {
			size_t cap = p->pruned_cap ? p->pruned_cap * 2 : 64;
			void  *n = realloc(p->pruned, cap * sizeof(*p->pruned));
			if (n == NULL)
				return; /* their answers may be carried: kept a little longer */
			p->pruned = n;
			p->pruned_cap = cap;
		}
		p->pruned[p->npruned++] = (struct mpsp_pruned){prune[i], log_seq};
	}
}

static int pruned_cmp(const void *a, const void *b);

/* Sort p->pruned by client (for pruned_since). */
static void pruned_sort(mpsp *p)
{
	if (p->npruned > 1) /* qsort's base may not be NULL, even for 0 */
		qsort(p->pruned, p->npruned, sizeof(*p->pruned), pruned_cmp);
}

static int pruned_cmp(const void *a, const void *b)
{
	const struct mpsp_pruned *x = a, *y = b;
	if (x->client != y->client)
		return x->client < y->client ? -1 : 1;
	return x->seq < y->seq ? 1 : x->seq > y->seq ? -1 : 0; /* latest first */
}

/* Was client pruned after log row seq was written? (p->pruned sorted) */
static int pruned_since(const mpsp *p, uint64_t client, uint64_t seq)
{
	size_t lo = 0, hi = p->npruned;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (p->pruned[mid].client < client)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < p->npruned && p->pruned[lo].client == client && p->pruned[lo].seq >= seq;
}

void mpsp__answers_compacted(mpsp *p)
{
	int64_t first = 0, last = 0;
	if (mpsp__query_i64(p, "SELECT coalesce(min(seq), 0) FROM log", 0, 0, &first, NULL, 0) != 0 ||
	    mpsp__query_i64(p, "SELECT coalesce(max(seq), 0) FROM log", 0, 0, &last, NULL, 0) != 0)
		return;
	/* an emptied log numbers its rows from 1 again */
	p->last_log_seq = (uint64_t)last;
	size_t k = 0;
	for (size_t i = 0; i < p->npruned; i++)
		if (first > 0 && p->pruned[i].seq >= (uint64_t)first)
			p->pruned[k++] = p->pruned[i]; /* a remaining row may hold its answers */
	p->npruned = k;
}

/* ---- the answers table ---- */

static int put_one(mpsp *p, const mpsp_answer *a, char *err, size_t errlen)
{
	sqlite3_stmt *s = p->st[MPSP_ST_ANSWER_PUT];
	sqlite3_bind_int64(s, 1, (sqlite3_int64)a->client_id);
	sqlite3_bind_int64(s, 2, (sqlite3_int64)(a->req_id % MPSP_ANSWER_SLOTS));
	sqlite3_bind_int64(s, 3, (sqlite3_int64)a->req_id);
	/* a zero-length blob, not NULL (the column is NOT NULL) */
	sqlite3_bind_blob64(s, 4, a->len > 0 ? (const void *)a->data : (const void *)"", a->len,
	    SQLITE_STATIC);
	int rc = sqlite3_step(s);
	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
	if (rc != SQLITE_DONE)
		return mpsp__sqlfail(p, p->db, rc, err, errlen, "cannot keep an answer in");
	return 0;
}

int mpsp__answers_put(mpsp *p, const mpsp_answer *ans, size_t nans, char *err, size_t errlen)
{
	int rv = 0;
	for (size_t i = 0; i < nans && rv == 0; i++)
		rv = put_one(p, &ans[i], err, errlen);
	return rv;
}

/* (client, slot) pairs met by one carry: an open-addressing set. */
typedef struct seen_set {
	struct seen_key {
		uint64_t client;
		uint64_t slot1; /* slot + 1; 0: empty */
	}     *k;
	size_t cap, n;
} seen_set;

static size_t seen_hash(uint64_t client, uint64_t slot, size_t cap)
{
	return (size_t)(((client ^ (slot * 0x9E3779B97F4A7C15ull)) * 0xff51afd7ed558ccdull) >> 17) &
	    (cap - 1);
}

/* 1 when (client, slot) was met before, else adds it: 0; -1 out of memory. */
static int seen_add(seen_set *s, uint64_t client, uint64_t slot)
{
	if ((s->n + 1) * 2 > s->cap) {
		size_t           cap = s->cap ? s->cap * 2 : 1024;
		struct seen_key *k = calloc(cap, sizeof(*k));
		if (k == NULL)
			return -1;
		for (size_t i = 0; i < s->cap; i++)
			if (s->k[i].slot1 != 0) {
				size_t h = seen_hash(s->k[i].client, s->k[i].slot1 - 1, cap);
				while (k[h].slot1 != 0)
					h = (h + 1) & (cap - 1);
				k[h] = s->k[i];
			}
		free(s->k);
		s->k = k;
		s->cap = cap;
	}
	size_t h = seen_hash(client, slot, s->cap);
	for (; s->k[h].slot1 != 0; h = (h + 1) & (s->cap - 1))
		if (s->k[h].client == client && s->k[h].slot1 == slot + 1)
			return 1;
	s->k[h] = (struct seen_key){client, slot + 1};
	s->n++;
	return 0;
}

/* The answers of one log row, decoded (pointers into the row). A damaged
 * row gives what is wrong. */
typedef struct ans_vec {
	mpsp_answer *a;
	size_t       n, cap;
} ans_vec;

static const char *row_answers(const uint8_t *b, size_t len, ans_vec *v)
{
	v->n = 0;
	if (b == NULL || len == 0)
		return NULL; /* SQLite gives an empty blob as NULL */
	const uint8_t *end = b + len;
	while (b < end) {
		if (v->n == v->cap) {
			size_t       cap = v->cap ? v->cap * 2 : 64;
			mpsp_answer *a = realloc(v->a, cap * sizeof(*a));
			if (a == NULL)
				return "out of memory";
			v->a = a;
			v->cap = cap;
		}
		const char *why = answer_next(&b, end, &v->a[v->n]);
		if (why != NULL)
			return why;
		v->n++;
	}
	return NULL;
}

int mpsp__answers_carry(mpsp *p, uint64_t rev, char *err, size_t errlen)
{
	sqlite3_stmt *s = NULL;
	seen_set      seen = {NULL, 0, 0};
	ans_vec       v = {NULL, 0, 0};
	int           rv = 0, rc;
	pruned_sort(p);
	/* newest first: the first answer met for a slot is its current one */
	rc = sqlite3_prepare_v2(p->db,
	    "SELECT seq, answers FROM log WHERE rev_hi <= ?1 AND answers IS NOT NULL ORDER BY seq DESC",
	    -1, &s, NULL);
	if (rc != SQLITE_OK)
		return mpsp__sqlfail(p, p->db, rc, err, errlen, "cannot read the answers of");
	sqlite3_bind_int64(s, 1, (sqlite3_int64)rev);
	while (rv == 0 && (rc = sqlite3_step(s)) == SQLITE_ROW) {
		uint64_t seq = (uint64_t)sqlite3_column_int64(s, 0);
		/* a damaged column (the disk's doing: we wrote it) loses only its
		 * answers; it must not stop compaction for ever */
		if (row_answers(sqlite3_column_blob(s, 1), (size_t)sqlite3_column_bytes(s, 1), &v) != NULL)
			continue;
		for (size_t i = v.n; rv == 0 && i-- > 0;) {
			const mpsp_answer *a = &v.a[i];
			int                met = seen_add(&seen, a->client_id, a->req_id % MPSP_ANSWER_SLOTS);
			if (met < 0)
				rv = mpsp__fail(err, errlen, E_INTERNAL, "out of memory carrying answers");
			else if (!met && !pruned_since(p, a->client_id, seq))
				rv = put_one(p, a, err, errlen);
		}
	}
	if (rv == 0 && rc != SQLITE_DONE)
		rv = mpsp__sqlfail(p, p->db, rc, err, errlen, "cannot read the answers of");
	sqlite3_finalize(s);
	free(seen.k);
	free(v.a);
	return rv;
}

void mpsp__answers_free(mpsp *p)
{
	free(p->ans_enc);
	free(p->pruned);
	p->ans_enc = NULL;
	p->pruned = NULL;
	p->ans_cap = p->npruned = p->pruned_cap = 0;
}

/* ---- reading them back (start) ---- */

/* Why the current answers row is not an answer (NULL: it is one). */
static const char *bad_answer(sqlite3_stmt *s, mpsp_answer *a)
{
	for (int c = 0; c < 3; c++)
		if (sqlite3_column_type(s, c) != SQLITE_INTEGER)
			return "an id or the slot is not an integer";
	if (sqlite3_column_type(s, 3) != SQLITE_BLOB)
		return "data is not a blob";
	uint64_t slot = (uint64_t)sqlite3_column_int64(s, 1);
	a->client_id = (uint64_t)sqlite3_column_int64(s, 0);
	a->req_id = (uint64_t)sqlite3_column_int64(s, 2);
	a->data = sqlite3_column_blob(s, 3);
	a->len = (size_t)sqlite3_column_bytes(s, 3);
	if (a->client_id == 0 || a->req_id == 0)
		return "client_id or req_id is 0";
	if (slot != a->req_id % MPSP_ANSWER_SLOTS)
		return "slot is not req_id % 1024";
	return NULL;
}

static int read_table(mpsp *p, mpsp_answer_cb fn, void *arg, char *err, size_t errlen)
{
	sqlite3_stmt *s;
	int           rv = 0, rc = sqlite3_prepare_v2(p->db,
	              "SELECT client_id, slot, req_id, data FROM answers ORDER BY client_id, req_id", -1,
	              &s, NULL);
	if (rc != SQLITE_OK)
		return mpsp__sqlfail(p, p->db, rc, err, errlen, "cannot read the answers of");
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		mpsp_answer a = {0, 0, NULL, 0};
		const char *why = bad_answer(s, &a);
		if (why != NULL) {
			long long c = sqlite3_column_int64(s, 0), k = sqlite3_column_int64(s, 1);
			rv = mpsp__fail(err, errlen, E_IO,
			    "%s is damaged: answers row (client_id %lld, slot %lld) is not an answer: %s; "
			    "mpstored will not start on it. Remove the row with: sqlite3 %s \"DELETE FROM "
			    "answers WHERE client_id = %lld AND slot = %lld\" (a re-send of that request "
			    "would then be applied again; docs/persistence.md), or start from a backup",
			    path_of(p), c, k, why, path_of(p), c, k);
			break;
		}
		if ((rv = fn(arg, &a)) != 0)
			break;
	}
	if (rv == 0 && rc != SQLITE_DONE)
		rv = mpsp__sqlfail(p, p->db, rc, err, errlen, "cannot read the answers of");
	sqlite3_finalize(s);
	return rv;
}

static int read_log(mpsp *p, mpsp_answer_cb fn, void *arg, char *err, size_t errlen)
{
	sqlite3_stmt *s;
	ans_vec       v = {NULL, 0, 0};
	int           rv = 0, rc = sqlite3_prepare_v2(p->db,
	              "SELECT seq, answers FROM log WHERE answers IS NOT NULL ORDER BY seq", -1, &s, NULL);
	if (rc != SQLITE_OK)
		return mpsp__sqlfail(p, p->db, rc, err, errlen, "cannot read the answers of");
	while (rv == 0 && (rc = sqlite3_step(s)) == SQLITE_ROW) {
		long long   seq = sqlite3_column_int64(s, 0);
		const char *why = sqlite3_column_type(s, 1) != SQLITE_BLOB
		                      ? "not a blob"
		                      : row_answers(sqlite3_column_blob(s, 1),
		                            (size_t)sqlite3_column_bytes(s, 1), &v);
		if (why != NULL) {
			rv = mpsp__fail(err, errlen, E_IO,
			    "%s is damaged: the answers of log row seq %lld are corrupt (%s); mpstored will "
			    "not start on it. Remove them with: sqlite3 %s \"UPDATE log SET answers = NULL "
			    "WHERE seq = %lld\" (re-sends of those requests would then be applied again; "
			    "docs/persistence.md), or start from a backup",
			    path_of(p), seq, why, path_of(p), seq);
			break;
		}
		for (size_t i = 0; rv == 0 && i < v.n; i++)
			if (!pruned_since(p, v.a[i].client_id, (uint64_t)seq))
				rv = fn(arg, &v.a[i]);
	}
	if (rv == 0 && rc != SQLITE_DONE)
		rv = mpsp__sqlfail(p, p->db, rc, err, errlen, "cannot read the answers of");
	sqlite3_finalize(s);
	free(v.a);
	return rv;
}

int mpsp_answers_read(mpsp *p, mpsp_answer_cb fn, void *arg, char *err, size_t errlen)
{
	int rv = 0;
	pthread_mutex_lock(&p->mu);
	if (p->db != NULL) {
		/* the table's answers are older than any in the log */
		pruned_sort(p);
		if ((rv = read_table(p, fn, arg, err, errlen)) == 0)
			rv = read_log(p, fn, arg, err, errlen);
	}
	pthread_mutex_unlock(&p->mu);
	return rv;
}
