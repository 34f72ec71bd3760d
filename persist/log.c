/*
 * log.c - the change log: group-commit append, replay for recovery, and
 * history reads for watchers.
 */
#include <stdlib.h>
#include <string.h>

#include "persist_int.h"

#define E_INVALID   MPSTORE__STATUS__ERR_INVALID
#define E_COMPACTED MPSTORE__STATUS__ERR_COMPACTED

static int
check_revs(mpsp *p, const mpsp_rec *recs, size_t n, char *err, size_t errlen)
{
	uint64_t prev = p->last_rev;
	for (size_t i = 0; i < n; i++) {
		if (recs[i].rev < prev || recs[i].rev <= p->snap_rev ||
		    (p->snap_open && recs[i].rev <= p->new_rev))
			return mpsp__fail(err, errlen, E_INVALID,
			    "log append: revision %llu out of order (last %llu, snapshot %llu)",
			    (unsigned long long)recs[i].rev, (unsigned long long)prev,
			    (unsigned long long)(p->snap_open ? p->new_rev : p->snap_rev));
		if (recs[i].name == NULL || (recs[i].data == NULL && recs[i].len > 0))
			return mpsp__fail(err, errlen, E_INVALID, "log append: record %zu has no name or data", i);
		prev = recs[i].rev;
	}
	return 0;
}

/*
 * Log rows. One mpsp_log_append call stores its records in one row (more
 * only when their encoding passes p->log_row_bytes):
 *   log(seq, rev_lo, rev_hi, n, bytes, recs)
 * rev_lo/rev_hi: the first and last record's revision; n: records; bytes:
 * sum of their data lengths; recs: per record, in order,
 *   varint rev, varint kind, varint name length, name, varint data length, data
 * (varint: unsigned LEB128 as in protobuf, at most 10 bytes). Rows never
 * overlap in revision (revisions do not decrease), so rows with rev_hi >= R,
 * in seq order, hold every record with revision >= R; only the first of them
 * may also hold older records (it straddles R), which readers skip.
 */

static size_t
rec_size(const mpsp_rec *r, size_t namelen)
{
	return mpsp__varint_len(r->rev) + mpsp__varint_len((uint64_t)(uint32_t)r->kind) +
	    mpsp__varint_len(namelen) + namelen + mpsp__varint_len(r->len) + r->len;
}

/* One decoded record of a row; name is not NUL-terminated. */
typedef struct lrec {
	uint64_t       rev, kind, nlen, dlen;
	const uint8_t *name, *data;
} lrec;

/* Next record at *bp, or a description of what is wrong with it. */
static const char *
lrec_get(const uint8_t **bp, const uint8_t *end, lrec *r)
{
	if (mpsp__varint_get(bp, end, &r->rev) != 0)
		return "bad revision";
	if (mpsp__varint_get(bp, end, &r->kind) != 0 || r->kind > UINT32_MAX)
		return "bad kind";
	if (mpsp__varint_get(bp, end, &r->nlen) != 0)
		return "bad name length";
	if (r->nlen > (uint64_t)(end - *bp))
		return "name runs past the end of the row";
	r->name = *bp;
	*bp += r->nlen;
	if (mpsp__varint_get(bp, end, &r->dlen) != 0)
		return "bad data length";
	if (r->dlen > (uint64_t)(end - *bp))
		return "data run past the end of the row";
	r->data = *bp;
	*bp += r->dlen;
	return NULL;
}

/* A log row as read by SELECT seq, rev_lo, rev_hi, n, bytes, recs. */
typedef struct lrow {
	sqlite3_int64  seq;
	uint64_t       lo, hi, n, bytes;
	const uint8_t *b;
	size_t         len;
} lrow;

static void
lrow_read(sqlite3_stmt *s, lrow *w)
{
	w->seq   = sqlite3_column_int64(s, 0);
	w->lo    = (uint64_t)sqlite3_column_int64(s, 1);
	w->hi    = (uint64_t)sqlite3_column_int64(s, 2);
	w->n     = (uint64_t)sqlite3_column_int64(s, 3);
	w->bytes = (uint64_t)sqlite3_column_int64(s, 4);
	w->b     = sqlite3_column_blob(s, 5);
	w->len   = (size_t)sqlite3_column_bytes(s, 5);
}

/* Check a whole row before anything of it is handed out. */
static int
lrow_check(mpsp *p, const lrow *w, char *err, size_t errlen)
{
	/* an empty blob comes back as NULL: no arithmetic on it */
	const uint8_t *b = w->b, *end = w->b != NULL ? w->b + w->len : NULL;
	const char    *why = NULL;
	uint64_t       i, prev = w->lo, bytes = 0;
	lrec           r;
	if (w->n == 0 || w->b == NULL) {
		why = "no records";
		i   = 0;
		goto bad;
	}
	for (i = 0; i < w->n; i++) {
		if ((why = lrec_get(&b, end, &r)) != NULL)
			goto bad;
		if (r.rev < prev || r.rev > w->hi || (i == 0 && r.rev != w->lo) ||
		    (i == w->n - 1 && r.rev != w->hi)) {
			why = "revision out of order or outside rev_lo..rev_hi";
			goto bad;
		}
		prev = r.rev;
		bytes += r.dlen;
	}
	if (b != end) {
		why = "bytes after the last record";
		goto bad;
	}
	if (bytes != w->bytes) {
		why = "data sizes do not add up to the bytes column";
		goto bad;
	}
	return 0;
bad:
	return mpsp__fail(err, errlen, MPSTORE__STATUS__ERR_IO,
	    "log row seq %lld of %s is corrupt: record %llu of %llu: %s (%zu bytes, offset %zu)",
	    (long long)w->seq, p->path != NULL ? p->path : "(memory)", (unsigned long long)i + (i < w->n),
	    (unsigned long long)w->n, why, w->len, b != NULL ? (size_t)(b - w->b) : 0);
}

/* Growable buffer for a record's NUL-terminated name. */
typedef struct namebuf {
	char  *s;
	size_t cap;
} namebuf;

/* Hand the (checked) row's records with rev >= min_rev to fn. */
static int
lrow_walk(mpsp *p, const lrow *w, uint64_t min_rev, namebuf *nb, mpsp_rec_cb fn, void *arg,
    char *err, size_t errlen)
{
	const uint8_t *b = w->b, *end = w->b + w->len;
	lrec           r;
	for (uint64_t i = 0; i < w->n; i++) {
		if (lrec_get(&b, end, &r) != NULL) /* not after lrow_check */
			return mpsp__fail(err, errlen, MPSTORE__STATUS__ERR_IO,
			    "log row seq %lld of %s is corrupt", (long long)w->seq,
			    p->path != NULL ? p->path : "(memory)");
		if (r.rev < min_rev)
			continue;
		if (r.nlen + 1 > nb->cap) {
			size_t cap = r.nlen + 64;
			char  *s   = realloc(nb->s, cap);
			if (s == NULL)
				return mpsp__fail(err, errlen, MPSTORE__STATUS__ERR_INTERNAL,
				    "out of memory reading the log of %s", p->path != NULL ? p->path : "(memory)");
			nb->s   = s;
			nb->cap = cap;
		}
		memcpy(nb->s, r.name, r.nlen);
		nb->s[r.nlen] = '\0';
		mpsp_rec rec  = { r.rev, nb->s, (int)(uint32_t)r.kind, r.data, r.dlen };
		int      rv   = fn(arg, &rec);
		if (rv != 0)
			return rv;
	}
	return 0;
}

/* Walk a prepared SELECT seq, rev_lo, rev_hi, n, bytes, recs (in seq
 * order): fn gets the records with revision >= min_rev. */
static int
walk_log(mpsp *p, sqlite3 *db, sqlite3_stmt *s, uint64_t min_rev, mpsp_rec_cb fn, void *arg,
    char *err, size_t errlen)
{
	int     rc, rv = 0;
	namebuf nb = { NULL, 0 };
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		lrow w;
		lrow_read(s, &w);
		if ((rv = lrow_check(p, &w, err, errlen)) != 0)
			break;
		if ((rv = lrow_walk(p, &w, min_rev, &nb, fn, arg, err, errlen)) != 0)
			break;
	}
	if (rv == 0 && rc != SQLITE_DONE)
		rv = mpsp__sqlfail(p, db, rc, err, errlen, "cannot read");
	sqlite3_reset(s);
	free(nb.s);
	return rv;
}

typedef struct below {
	uint64_t floor, n, bytes;
} below;

static int
count_below(void *arg, const mpsp_rec *r)
{
	below *c = arg;
	if (r->rev <= c->floor) {
		c->n++;
		c->bytes += r->len;
	}
	return 0;
}

int
mpsp__log_totals(mpsp *p, uint64_t floor, char *err, size_t errlen)
{
	sqlite3_stmt *s;
	int           rc = sqlite3_prepare_v2(p->db,
	              "SELECT count(*), coalesce(sum(n), 0), coalesce(sum(bytes), 0) FROM log", -1, &s, NULL);
	if (rc == SQLITE_OK && (rc = sqlite3_step(s)) == SQLITE_ROW) {
		p->log_batches = (uint64_t)sqlite3_column_int64(s, 0);
		p->log_rows    = (uint64_t)sqlite3_column_int64(s, 1);
		p->log_bytes   = (uint64_t)sqlite3_column_int64(s, 2);
		rc             = SQLITE_DONE;
	}
	sqlite3_finalize(s);
	if (rc != SQLITE_DONE)
		return mpsp__sqlfail(p, p->db, rc, err, errlen, "cannot read the log of");

	/* The first row above the floor may straddle it (rows do not overlap,
	 * so no other can) and still hold records <= floor. A corrupt one is
	 * counted whole: recovery reports it. */
	below c = { floor, 0, 0 };
	rc      = sqlite3_prepare_v2(p->db,
	         "SELECT seq, rev_lo, rev_hi, n, bytes, recs FROM log WHERE rev_hi > ?1"
	         " ORDER BY rev_hi, seq LIMIT 1", -1, &s, NULL);
	if (rc != SQLITE_OK)
		return mpsp__sqlfail(p, p->db, rc, err, errlen, "cannot read the log of");
	sqlite3_bind_int64(s, 1, (sqlite3_int64)floor);
	namebuf nb = { NULL, 0 };
	if ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		lrow w;
		lrow_read(s, &w);
		if (w.lo <= floor && lrow_check(p, &w, NULL, 0) == 0 &&
		    lrow_walk(p, &w, 0, &nb, count_below, &c, NULL, 0) != 0)
			c.n = c.bytes = 0;
		rc = SQLITE_DONE;
	}
	free(nb.s);
	sqlite3_finalize(s);
	if (rc != SQLITE_DONE)
		return mpsp__sqlfail(p, p->db, rc, err, errlen, "cannot read the log of");
	p->log_rows  = c.n > p->log_rows ? 0 : p->log_rows - c.n;
	p->log_bytes = c.bytes > p->log_bytes ? 0 : p->log_bytes - c.bytes;
	return 0;
}

/* Encode recs[from..to) (size bytes, from rec_size) into p->enc. */
static int
encode_row(mpsp *p, const mpsp_rec *recs, size_t from, size_t to, size_t size, char *err,
    size_t errlen)
{
	int rv = mpsp__buf_reserve(&p->enc, &p->enc_cap, size, "log records", err, errlen);
	if (rv != 0)
		return rv;
	uint8_t *b = p->enc;
	for (size_t i = from; i < to; i++) {
		size_t nl = strlen(recs[i].name);
		b         = mpsp__varint_put(b, recs[i].rev);
		b         = mpsp__varint_put(b, (uint64_t)(uint32_t)recs[i].kind);
		b         = mpsp__varint_put(b, nl);
		memcpy(b, recs[i].name, nl);
		b += nl;
		b = mpsp__varint_put(b, recs[i].len);
		if (recs[i].len > 0)
			memcpy(b, recs[i].data, recs[i].len);
		b += recs[i].len;
	}
	return 0;
}

/* Insert recs[from..to) as one row, with the answers column ans (NULL:
 * none); *seq gets the row's. */
static int
insert_row(mpsp *p, const mpsp_rec *recs, size_t from, size_t to, size_t size, uint64_t bytes,
    const uint8_t *ans, size_t anslen, uint64_t *seq, char *err, size_t errlen)
{
	int rv;
	if ((rv = encode_row(p, recs, from, to, size, err, errlen)) != 0)
		return rv;
	sqlite3_stmt *s = p->st[MPSP_ST_LOG_INSERT];
	sqlite3_bind_int64(s, 1, (sqlite3_int64)recs[from].rev);
	sqlite3_bind_int64(s, 2, (sqlite3_int64)recs[to - 1].rev);
	sqlite3_bind_int64(s, 3, (sqlite3_int64)(to - from));
	sqlite3_bind_int64(s, 4, (sqlite3_int64)bytes);
	sqlite3_bind_blob64(s, 5, p->enc, size, SQLITE_STATIC);
	if (ans != NULL)
		sqlite3_bind_blob64(s, 6, ans, anslen, SQLITE_STATIC);
	int rc = sqlite3_step(s);
	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
	if (rc != SQLITE_DONE)
		return mpsp__sqlfail(p, p->db, rc, err, errlen, "cannot append to the log of");
	*seq = (uint64_t)sqlite3_last_insert_rowid(p->db);
	return 0;
}

int
mpsp_log_append(mpsp *p, const mpsp_rec *recs, size_t n, uint64_t token, const mpsp_answer *ans,
    size_t nans, const uint64_t *prune, size_t nprune, char *err, size_t errlen)
{
	int rv = 0;
	pthread_mutex_lock(&p->mu);
	if ((rv = check_revs(p, recs, n, err, errlen)) != 0 ||
	    (rv = mpsp__answers_check(ans, nans, err, errlen)) != 0)
		goto out;
	if (p->db == NULL || p->d == MPSP_SNAPSHOT) {
		/* nothing kept: remember where we are for log_read and stats */
		if (n > 0)
			p->last_rev = recs[n - 1].rev;
		if (token > p->token)
			p->token = token;
		goto out;
	}
	if (n == 0 && token <= p->token && nans == 0 && nprune == 0 && !p->in_txn)
		goto out;

	if (!p->in_txn && (rv = mpsp__begin(p, err, errlen)) != 0)
		goto out;
	/* prunes first, then the answers, which commit (or roll back) with
	 * the records they answer: in the first row's answers column, or in
	 * the answers table when there are no records (answers.c) */
	const uint8_t *ablob = NULL;
	size_t         alen = 0;
	uint64_t       seq = p->last_log_seq, prune_seq = p->last_log_seq;
	if ((rv = mpsp__answers_prune(p, prune, nprune, err, errlen)) != 0 ||
	    (n == 0 && (rv = mpsp__answers_put(p, ans, nans, err, errlen)) != 0) ||
	    (n > 0 && (rv = mpsp__answers_encode(p, ans, nans, &ablob, &alen, err, errlen)) != 0))
		goto fail;
	/* one row for the batch; a new row only when the encoding passes
	 * log_row_bytes (a record is never split) */
	uint64_t bytes = 0, rows = 0, row_bytes = 0;
	size_t   from = 0, size = 0;
	for (size_t i = 0; i < n; i++) {
		size_t rs = rec_size(&recs[i], strlen(recs[i].name));
		if (i > from && size + rs > p->log_row_bytes) {
			if ((rv = insert_row(p, recs, from, i, size, row_bytes, ablob, alen, &seq, err,
			         errlen)) != 0)
				goto fail;
			ablob = NULL;
			rows++;
			from = i;
			size = row_bytes = 0;
		}
		size += rs;
		row_bytes += recs[i].len;
		bytes += recs[i].len;
	}
	if (n > 0) {
		if ((rv = insert_row(p, recs, from, n, size, row_bytes, ablob, alen, &seq, err, errlen)) != 0)
			goto fail;
		rows++;
	}
	if (token > p->token && (rv = mpsp__meta_set(p, "token", token, err, errlen)) != 0)
		goto fail;
	if ((rv = mpsp__commit(p, err, errlen)) != 0)
		goto fail;
	p->in_txn = 0;
	p->batch_rows = p->batch_bytes = 0;
	p->last_log_seq = seq;
	mpsp__answers_pruned(p, prune, nprune, prune_seq);
	p->log_rows += n;
	p->log_bytes += bytes;
	p->log_batches += rows;
	if (n > 0)
		p->last_rev = recs[n - 1].rev;
	if (token > p->token)
		p->token = token;
	goto out;
fail:
	mpsp__rollback(p);
out:
	mpsp__buf_trim(&p->enc, &p->enc_cap);
	mpsp__buf_trim(&p->ans_enc, &p->ans_cap);
	pthread_mutex_unlock(&p->mu);
	return rv;
}

/* The log rows that may hold records with revision >= ?1, in order (index
 * log_rev_hi; rev_hi grows with seq, so this is seq order). */
#define LOG_SELECT \
	"SELECT seq, rev_lo, rev_hi, n, bytes, recs FROM log WHERE rev_hi >= ?1 ORDER BY rev_hi, seq"

/* Walk a prepared SELECT rev, name, kind, change (the snapshot). */
static int
walk(mpsp *p, sqlite3 *db, sqlite3_stmt *s, mpsp_rec_cb fn, void *arg,
    char *err, size_t errlen)
{
	int rc, rv = 0;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		mpsp_rec r;
		r.rev  = (uint64_t)sqlite3_column_int64(s, 0);
		r.name = (const char *)sqlite3_column_text(s, 1);
		r.kind = sqlite3_column_int(s, 2);
		r.data = sqlite3_column_blob(s, 3);
		r.len  = (size_t)sqlite3_column_bytes(s, 3);
		if (r.name == NULL)
			r.name = "";
		if ((rv = fn(arg, &r)) != 0)
			break;
	}
	if (rv == 0 && rc != SQLITE_DONE)
		rv = mpsp__sqlfail(p, db, rc, err, errlen, "cannot read");
	sqlite3_reset(s);
	return rv;
}

int
mpsp_recover(mpsp *p, mpsp_rec_cb fn, void *arg, uint64_t *last_rev, uint64_t *token, char *err,
    size_t errlen)
{
	sqlite3_stmt *s  = NULL;
	int           rv = 0, rc;

	pthread_mutex_lock(&p->mu);
	if (p->db == NULL)
		goto done;
	rc = sqlite3_prepare_v2(p->db,
	    "SELECT ?3, name, kind, change FROM snapshot WHERE seq BETWEEN ?1 AND ?2 ORDER BY seq", -1,
	    &s, NULL);
	if (rc != SQLITE_OK) {
		rv = mpsp__sqlfail(p, p->db, rc, err, errlen, "cannot read the snapshot of");
		goto done;
	}
	sqlite3_bind_int64(s, 1, (sqlite3_int64)p->snap_first);
	sqlite3_bind_int64(s, 2, (sqlite3_int64)p->snap_last);
	sqlite3_bind_int64(s, 3, (sqlite3_int64)p->snap_rev);
	if ((rv = walk(p, p->db, s, fn, arg, err, errlen)) != 0)
		goto done;
	sqlite3_finalize(s);
	rc = sqlite3_prepare_v2(p->db, LOG_SELECT, -1, &s, NULL);
	if (rc != SQLITE_OK) {
		rv = mpsp__sqlfail(p, p->db, rc, err, errlen, "cannot read the log of");
		goto done;
	}
	/* records above the snapshot; the first row may straddle it */
	sqlite3_bind_int64(s, 1, (sqlite3_int64)(p->snap_rev + 1));
	rv = walk_log(p, p->db, s, p->snap_rev + 1, fn, arg, err, errlen);
done:
	sqlite3_finalize(s);
	if (rv == 0) {
		if (last_rev != NULL)
			*last_rev = p->last_rev;
		if (token != NULL)
			*token = p->token;
	}
	pthread_mutex_unlock(&p->mu);
	return rv;
}

/* The reader connection for log_read on a file (lazily opened). */
static int
reader_open(mpsp *p, char *err, size_t errlen)
{
	int rc;
	if (p->rdb != NULL)
		return 0;
	rc = sqlite3_open_v2(p->path, &p->rdb, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, NULL);
	if (rc == SQLITE_OK) {
		sqlite3_busy_timeout(p->rdb, 5000);
		rc = sqlite3_prepare_v3(p->rdb, "SELECT value FROM meta WHERE key = 'log_floor'", -1,
		    SQLITE_PREPARE_PERSISTENT, &p->rd_floor, NULL);
	}
	if (rc == SQLITE_OK)
		rc = sqlite3_prepare_v3(p->rdb, LOG_SELECT, -1, SQLITE_PREPARE_PERSISTENT, &p->rd_log, NULL);
	if (rc != SQLITE_OK) {
		int rv = mpsp__sqlfail(p, p->rdb, rc, err, errlen, "cannot open a reader on");
		sqlite3_finalize(p->rd_floor);
		sqlite3_finalize(p->rd_log);
		p->rd_floor = p->rd_log = NULL;
		sqlite3_close(p->rdb);
		p->rdb = NULL;
		return rv;
	}
	return 0;
}

int
mpsp_log_read(mpsp *p, uint64_t from_rev, mpsp_rec_cb fn, void *arg, char *err, size_t errlen)
{
	int      rv = 0;
	uint64_t last, floor;

	if (from_rev == 0)
		from_rev = 1;
	if (from_rev > (uint64_t)INT64_MAX)
		return 0; /* above any stored revision (SQLite's integers are signed) */
	pthread_mutex_lock(&p->mu);
	last  = p->last_rev;
	floor = p->log_floor;
	if (p->db == NULL || p->d == MPSP_SNAPSHOT) {
		pthread_mutex_unlock(&p->mu);
		if (from_rev > last)
			return 0;
		return mpsp__fail(err, errlen, E_COMPACTED,
		    "changes from revision %llu are not kept (durability %s keeps no log)",
		    (unsigned long long)from_rev, mpsp_durability_name(p->d));
	}
	if (p->memdb) {
		/* one connection only: read under the commit lock */
		sqlite3_stmt *s = NULL;
		if (from_rev <= floor)
			rv = mpsp__fail(err, errlen, E_COMPACTED,
			    "changes from revision %llu were compacted (log starts after %llu)",
			    (unsigned long long)from_rev, (unsigned long long)floor);
		else if (sqlite3_prepare_v2(p->db, LOG_SELECT, -1, &s, NULL) != SQLITE_OK)
			rv = mpsp__sqlfail(p, p->db, sqlite3_errcode(p->db), err, errlen, "cannot read");
		else {
			sqlite3_bind_int64(s, 1, (sqlite3_int64)from_rev);
			rv = walk_log(p, p->db, s, from_rev, fn, arg, err, errlen);
		}
		sqlite3_finalize(s);
		pthread_mutex_unlock(&p->mu);
		return rv;
	}
	pthread_mutex_unlock(&p->mu);

	pthread_mutex_lock(&p->rmu);
	if ((rv = reader_open(p, err, errlen)) != 0)
		goto out;
	/* floor and rows from one read transaction: compaction can't slip between */
	int rc = sqlite3_exec(p->rdb, "BEGIN", NULL, NULL, NULL);
	if (rc != SQLITE_OK) {
		rv = mpsp__sqlfail(p, p->rdb, rc, err, errlen, "cannot read");
		goto out;
	}
	rc = sqlite3_step(p->rd_floor);
	if (rc == SQLITE_ROW)
		floor = (uint64_t)sqlite3_column_int64(p->rd_floor, 0);
	sqlite3_reset(p->rd_floor);
	if (rc != SQLITE_ROW)
		rv = mpsp__sqlfail(p, p->rdb, rc == SQLITE_DONE ? SQLITE_CORRUPT : rc, err, errlen,
		    "cannot read the log floor of");
	else if (from_rev <= floor)
		rv = mpsp__fail(err, errlen, E_COMPACTED,
		    "changes from revision %llu were compacted (log starts after %llu)",
		    (unsigned long long)from_rev, (unsigned long long)floor);
	else {
		sqlite3_bind_int64(p->rd_log, 1, (sqlite3_int64)from_rev);
		rv = walk_log(p, p->rdb, p->rd_log, from_rev, fn, arg, err, errlen);
	}
	sqlite3_exec(p->rdb, "COMMIT", NULL, NULL, NULL);
out:
	pthread_mutex_unlock(&p->rmu);
	return rv;
}
