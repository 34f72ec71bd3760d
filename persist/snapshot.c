/*
 * snapshot.c - snapshots written in pieces, and compaction.
 *
 * New rows get sequence numbers above the current snapshot's range
 * [snapshot_first, snapshot_last] (meta), so they are invisible until
 * mpsp_snapshot_end moves the range in one transaction. Rows outside the
 * range are leftovers of an abandoned snapshot and are deleted.
 */
#include <stdio.h>

#include "persist_int.h"

#define E_INVALID MPSTORE__STATUS__ERR_INVALID
#define E_IO      MPSTORE__STATUS__ERR_IO

static int
delete_orphans(mpsp *p, char *err, size_t errlen)
{
	char sql[96];
	snprintf(sql, sizeof(sql), "DELETE FROM snapshot WHERE seq > %llu",
	    (unsigned long long)p->snap_last);
	return mpsp__exec(p, sql, err, errlen);
}

int
mpsp_snapshot_begin(mpsp *p, uint64_t rev, uint64_t token, char *err, size_t errlen)
{
	int rv = 0;
	pthread_mutex_lock(&p->mu);
	if (p->db == NULL)
		goto out;
	if (p->snap_open) {
		rv = mpsp__fail(err, errlen, E_INVALID, "snapshot: one is already in progress");
		goto out;
	}
	if (rev < p->snap_rev) {
		rv = mpsp__fail(err, errlen, E_INVALID,
		    "snapshot: revision %llu is older than the current snapshot's (%llu)",
		    (unsigned long long)rev, (unsigned long long)p->snap_rev);
		goto out;
	}
	if (!p->in_txn) {
		if ((rv = mpsp__begin(p, err, errlen)) != 0)
			goto out;
		p->in_txn = 1;
	}
	if ((rv = delete_orphans(p, err, errlen)) != 0) {
		mpsp__rollback(p);
		goto out;
	}
	p->snap_open   = 1;
	p->snap_failed = 0;
	p->new_rev     = rev;
	p->new_token   = token;
	p->new_first = p->next_seq = p->snap_last + 1;
	p->new_rows = p->new_bytes = 0;
out:
	pthread_mutex_unlock(&p->mu);
	return rv;
}

int
mpsp_snapshot_put(mpsp *p, const mpsp_rec *recs, size_t n, char *err, size_t errlen)
{
	int rv = 0;
	pthread_mutex_lock(&p->mu);
	if (p->db == NULL)
		goto out;
	if (!p->snap_open) {
		rv = mpsp__fail(err, errlen, E_INVALID, "snapshot: put without begin");
		goto out;
	}
	if (p->snap_failed) {
		rv = mpsp__fail(err, errlen, E_IO, "snapshot: abandoned after an earlier write failed");
		goto out;
	}
	if (!p->in_txn) {
		if ((rv = mpsp__begin(p, err, errlen)) != 0) {
			p->snap_failed = 1;
			goto out;
		}
		p->in_txn = 1;
	}
	sqlite3_stmt *s = p->st[MPSP_ST_SNAP_INSERT];
	for (size_t i = 0; i < n; i++) {
		if (recs[i].name == NULL || (recs[i].data == NULL && recs[i].len > 0)) {
			rv = mpsp__fail(err, errlen, E_INVALID, "snapshot: record %zu has no name or data", i);
			break;
		}
		sqlite3_bind_int64(s, 1, (sqlite3_int64)p->next_seq);
		sqlite3_bind_text(s, 2, recs[i].name, -1, SQLITE_STATIC);
		sqlite3_bind_int(s, 3, recs[i].kind);
		sqlite3_bind_blob64(s, 4, recs[i].len > 0 ? recs[i].data : (const void *)"", recs[i].len,
		    SQLITE_STATIC);
		int rc = sqlite3_step(s);
		sqlite3_reset(s);
		if (rc != SQLITE_DONE) {
			rv = mpsp__sqlfail(p, p->db, rc, err, errlen, "cannot write the snapshot to");
			break;
		}
		p->next_seq++;
		p->new_rows++;
		p->new_bytes += recs[i].len;
		p->batch_rows++;
		p->batch_bytes += recs[i].len;
	}
	sqlite3_clear_bindings(s);
	if (rv != 0) {
		mpsp__rollback(p);
		p->snap_failed = 1;
		goto out;
	}
	if (p->batch_rows >= MPSP_SNAPSHOT_BATCH_ROWS || p->batch_bytes >= MPSP_SNAPSHOT_BATCH_BYTES)
		rv = mpsp__flush_batch(p, err, errlen);
out:
	pthread_mutex_unlock(&p->mu);
	return rv;
}

static uint64_t
pragma_u64(mpsp *p, const char *sql)
{
	sqlite3_stmt *s;
	uint64_t      v = 0;
	if (sqlite3_prepare_v2(p->db, sql, -1, &s, NULL) == SQLITE_OK && sqlite3_step(s) == SQLITE_ROW)
		v = (uint64_t)sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	return v;
}

static int
commit_snapshot(mpsp *p, char *err, size_t errlen)
{
	int      rv;
	uint64_t last  = p->next_seq - 1;
	uint64_t floor = p->new_rev > p->log_floor ? p->new_rev : p->log_floor;
	uint64_t token = p->new_token > p->token ? p->new_token : p->token;
	char     sql[96];

	if (!p->in_txn) {
		if ((rv = mpsp__begin(p, err, errlen)) != 0)
			return rv;
		p->in_txn = 1;
	}
	/* exactly the rows of the snapshot this one replaces (loaded at open or
	 * written here): rows this process never read are never deleted */
	snprintf(sql, sizeof(sql), "DELETE FROM snapshot WHERE seq BETWEEN %llu AND %llu",
	    (unsigned long long)p->snap_first, (unsigned long long)p->snap_last);
	if ((rv = mpsp__meta_set(p, "snapshot_rev", p->new_rev, err, errlen)) != 0 ||
	    (rv = mpsp__meta_set(p, "snapshot_token", p->new_token, err, errlen)) != 0 ||
	    (rv = mpsp__meta_set(p, "snapshot_first", p->new_first, err, errlen)) != 0 ||
	    (rv = mpsp__meta_set(p, "snapshot_last", last, err, errlen)) != 0 ||
	    (rv = mpsp__meta_set(p, "log_floor", floor, err, errlen)) != 0 ||
	    (rv = mpsp__meta_set(p, "token", token, err, errlen)) != 0 ||
	    (rv = mpsp__exec(p, sql, err, errlen)) != 0)
		goto fail;
	/* rows wholly at or below the snapshot; a row straddling it stays and
	 * readers skip its older records. The answers they hold that are still
	 * current go to the answers table first. */
	snprintf(sql, sizeof(sql), "DELETE FROM log WHERE rev_hi <= %llu", (unsigned long long)p->new_rev);
	if ((rv = mpsp__answers_carry(p, p->new_rev, err, errlen)) != 0 ||
	    (rv = mpsp__exec(p, sql, err, errlen)) != 0)
		goto fail;
	uint64_t gone = (uint64_t)sqlite3_changes64(p->db);
	if ((rv = mpsp__commit(p, err, errlen)) != 0)
		goto fail;
	p->in_txn = 0;
	p->batch_rows = p->batch_bytes = 0;

	p->snap_rev   = p->new_rev;
	p->snap_token = p->new_token;
	p->snap_first = p->new_first;
	p->snap_last  = last;
	p->snap_rows  = p->new_rows;
	p->snap_bytes = p->new_bytes;
	p->log_floor  = floor;
	p->token      = token;
	if (p->new_rev > p->last_rev)
		p->last_rev = p->new_rev;
	mpsp__answers_compacted(p);
	/* counters only: the snapshot is committed whatever happens here */
	if (gone > 0 || p->log_rows > 0)
		mpsp__log_totals(p, floor, NULL, 0);

	/* Give space back when most of the file is free (a big log was just
	 * compacted); a snapshot's worth of free pages is kept for the next. */
	if (!p->memdb) {
		uint64_t pages = pragma_u64(p, "PRAGMA page_count");
		uint64_t free_ = pragma_u64(p, "PRAGMA freelist_count");
		if (free_ > 256 && free_ * 2 > pages)
			sqlite3_exec(p->db, "PRAGMA incremental_vacuum", NULL, NULL, NULL);
		sqlite3_wal_checkpoint_v2(p->db, NULL, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
	}
	return 0;
fail:
	mpsp__rollback(p);
	return rv;
}

int
mpsp_snapshot_end(mpsp *p, int commit, char *err, size_t errlen)
{
	int rv = 0;
	pthread_mutex_lock(&p->mu);
	if (p->db == NULL)
		goto out;
	if (!p->snap_open) {
		rv = mpsp__fail(err, errlen, E_INVALID, "snapshot: end without begin");
		goto out;
	}
	if (commit && !p->snap_failed) {
		rv = commit_snapshot(p, err, errlen);
		p->snap_open = 0;
		if (rv == 0)
			goto out;
		commit = 0; /* clean up below, keep rv */
	}
	if (commit && p->snap_failed)
		rv = mpsp__fail(err, errlen, E_IO,
		    "snapshot: not committed, an earlier write failed; the previous snapshot stays current");
	p->snap_open = 0;
	if (p->in_txn) {
		p->in_txn = 0;
		sqlite3_step(p->st[MPSP_ST_ROLLBACK]);
		sqlite3_reset(p->st[MPSP_ST_ROLLBACK]);
		p->batch_rows = p->batch_bytes = 0;
	}
	/* committed batches of the abandoned snapshot; best effort, open cleans up */
	delete_orphans(p, NULL, 0);
out:
	pthread_mutex_unlock(&p->mu);
	return rv;
}
