/*
 * log.c - the change log: group-commit append, replay for recovery, and
 * history reads for watchers.
 */
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

int
mpsp_log_append(mpsp *p, const mpsp_rec *recs, size_t n, uint64_t token, char *err, size_t errlen)
{
	int rv = 0;
	pthread_mutex_lock(&p->mu);
	if ((rv = check_revs(p, recs, n, err, errlen)) != 0)
		goto out;
	if (p->db == NULL || p->d == MPSP_SNAPSHOT) {
		/* nothing kept: remember where we are for log_read and stats */
		if (n > 0)
			p->last_rev = recs[n - 1].rev;
		if (token > p->token)
			p->token = token;
		goto out;
	}
	if (n == 0 && token <= p->token && !p->in_txn)
		goto out;

	if (!p->in_txn && (rv = mpsp__begin(p, err, errlen)) != 0)
		goto out;
	sqlite3_stmt *s     = p->st[MPSP_ST_LOG_INSERT];
	uint64_t      bytes = 0;
	for (size_t i = 0; i < n; i++) {
		sqlite3_bind_int64(s, 1, (sqlite3_int64)recs[i].rev);
		sqlite3_bind_text(s, 2, recs[i].name, -1, SQLITE_STATIC);
		sqlite3_bind_int(s, 3, recs[i].kind);
		sqlite3_bind_blob64(s, 4, recs[i].len > 0 ? recs[i].data : (const void *)"", recs[i].len,
		    SQLITE_STATIC);
		int rc = sqlite3_step(s);
		sqlite3_reset(s);
		if (rc != SQLITE_DONE) {
			rv = mpsp__sqlfail(p, p->db, rc, err, errlen, "cannot append to the log of");
			goto fail;
		}
		bytes += recs[i].len;
	}
	/* clear bindings: they point into the caller's buffers */
	sqlite3_clear_bindings(s);
	if (token > p->token && (rv = mpsp__meta_set(p, "token", token, err, errlen)) != 0)
		goto fail;
	if ((rv = mpsp__commit(p, err, errlen)) != 0)
		goto fail;
	p->in_txn = 0;
	p->batch_rows = p->batch_bytes = 0;
	p->log_rows += n;
	p->log_bytes += bytes;
	if (n > 0)
		p->last_rev = recs[n - 1].rev;
	if (token > p->token)
		p->token = token;
	goto out;
fail:
	sqlite3_clear_bindings(s);
	mpsp__rollback(p);
out:
	pthread_mutex_unlock(&p->mu);
	return rv;
}

/* Walk a prepared SELECT rev, name, kind, change. */
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
	rc = sqlite3_prepare_v2(p->db,
	    "SELECT rev, name, kind, change FROM log WHERE rev > ?1 ORDER BY rev, seq", -1, &s, NULL);
	if (rc != SQLITE_OK) {
		rv = mpsp__sqlfail(p, p->db, rc, err, errlen, "cannot read the log of");
		goto done;
	}
	sqlite3_bind_int64(s, 1, (sqlite3_int64)p->snap_rev);
	rv = walk(p, p->db, s, fn, arg, err, errlen);
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
		rc = sqlite3_prepare_v3(p->rdb,
		    "SELECT rev, name, kind, change FROM log WHERE rev >= ?1 ORDER BY rev, seq", -1,
		    SQLITE_PREPARE_PERSISTENT, &p->rd_log, NULL);
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
		else if (sqlite3_prepare_v2(p->db,
		             "SELECT rev, name, kind, change FROM log WHERE rev >= ?1 ORDER BY rev, seq",
		             -1, &s, NULL) != SQLITE_OK)
			rv = mpsp__sqlfail(p, p->db, sqlite3_errcode(p->db), err, errlen, "cannot read");
		else {
			sqlite3_bind_int64(s, 1, (sqlite3_int64)from_rev);
			rv = walk(p, p->db, s, fn, arg, err, errlen);
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
		rv = walk(p, p->rdb, p->rd_log, fn, arg, err, errlen);
	}
	sqlite3_exec(p->rdb, "COMMIT", NULL, NULL, NULL);
out:
	pthread_mutex_unlock(&p->rmu);
	return rv;
}
