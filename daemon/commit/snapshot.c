/*
 * snapshot.c - snapshots (dumped under the store lock, written in
 * pieces between log commits, then the log is compacted) and backups, both
 * run by the commit thread.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "commit_int.h"

/* ---- snapshots ---- */

typedef struct snap_buf {
	crec  *v;
	size_t n, cap;
	int    err;
} snap_buf;

static int snap_emit(void *arg, const Mpstore__Change *ch)
{
	snap_buf *b = arg;
	if (b->n == b->cap) {
		size_t ncap = b->cap ? b->cap * 2 : 64;
		crec  *nv = realloc(b->v, ncap * sizeof(*nv));
		if (nv == NULL)
			return b->err = 1;
		b->v = nv;
		b->cap = ncap;
	}
	if (crec_pack(&b->v[b->n], ch) != 0)
		return b->err = 1;
	b->n++;
	return 0;
}

static int snap_visit(void *arg, mpsd_container *c)
{
	snap_buf *b = arg;
	/* the caller holds the store lock */
	return mpsd_store_dump(NULL, c, 10000, snap_emit, b);
}


/* Write a snapshot; log appends of queued jobs go on between pieces. */
int do_snapshot(mpsd_commit *cm, char *err, size_t errlen)
{
	const char *why;
	if (cm->db == NULL) {
		snprintf(err, errlen, "no database (durability memory)");
		return MPSTORE__STATUS__ERR_INVALID;
	}
	if (mpsd_commit_readonly(cm, &why)) {
		/* memory may hold changes whose commit failed (their writers
		 * heard ERR_IO): never make them durable in a snapshot */
		snprintf(err, errlen, "no snapshot: the database is read-only after a failed write: %s",
		    why);
		return MPSTORE__STATUS__ERR_READONLY;
	}
	snap_buf b = {NULL, 0, 0, 0};
	mpsd_store_lock(cm->st);
	uint64_t rev = mpsd_store_revision(cm->st);
	uint64_t token = mpsd_store_token(cm->st);
	/* schemas first: recovery needs them before the containers using them */
	if (mpsd_store_dump_schema(cm->st, snap_emit, &b) != 0)
		b.err = 1;
	mpsd_store_foreach(cm->st, snap_visit, &b);
	mpsd_store_unlock(cm->st);
	int rv = 0;
	if (b.err) {
		snprintf(err, errlen, "out of memory writing the snapshot");
		rv = MPSTORE__STATUS__ERR_LIMIT;
		goto out;
	}
	/* Every change up to rev is queued (jobs are queued under the store
	 * lock): log them before the snapshot opens, since mpsp refuses log
	 * appends at or below an open snapshot's revision. Snapshot requests
	 * among them wait until this snapshot is done (process_jobs). */
	cm->in_snapshot = 1;
	process_jobs(cm, take_jobs(cm));
	if (mpsd_commit_readonly(cm, &why)) {
		snprintf(err, errlen, "no snapshot: the database is read-only after a failed write: %s",
		    why);
		rv = MPSTORE__STATUS__ERR_READONLY;
		goto out;
	}
	if ((rv = mpsp_snapshot_begin(cm->db, rev, token, err, errlen)) != 0)
		goto out;
	for (size_t i = 0; i < b.n && rv == 0; i += MPSP_SNAPSHOT_BATCH_ROWS) {
		size_t    k = b.n - i < MPSP_SNAPSHOT_BATCH_ROWS ? b.n - i : MPSP_SNAPSHOT_BATCH_ROWS;
		mpsp_rec *recs = malloc(k * sizeof(*recs));
		if (recs == NULL) {
			rv = MPSTORE__STATUS__ERR_LIMIT;
			snprintf(err, errlen, "out of memory");
			break;
		}
		for (size_t j = 0; j < k; j++) {
			crec *c = &b.v[i + j];
			recs[j] = (mpsp_rec){rev, c->name, c->kind, c->data, c->len};
		}
		rv = mpsp_snapshot_put(cm->db, recs, k, err, errlen);
		free(recs);
		process_jobs(cm, take_jobs(cm)); /* clients keep committing */
	}
	process_jobs(cm, take_jobs(cm)); /* everything up to rev is logged */
	int rv2 = mpsp_snapshot_end(cm->db, rv == 0, rv == 0 ? err : NULL, errlen);
	cm->in_snapshot = 0;
	if (rv == 0)
		rv = rv2;
	if (rv == 0) {
		cm->snap_rev = rev;
		cm->changes_since_snap = 0;
		__atomic_store_n(&cm->snap_wall, (int64_t)time(NULL), __ATOMIC_RELAXED);
	}
out:
	cm->in_snapshot = 0;
	for (size_t i = 0; i < b.n; i++)
		crec_free(&b.v[i]);
	free(b.v);
	cm->last_snap_ms = mpsd_now_ms();
	if (rv != 0)
		mpsd_log("snapshot failed: %s", err);
	return rv;
}

void do_action(mpsd_commit *cm, mpsd_job *j)
{
	int rv;
	j->rev = mpsd_store_revision(cm->st);
	if (j->action == MPSD_ACT_SNAPSHOT) {
		rv = do_snapshot(cm, j->err, sizeof(j->err));
	} else if (cm->db == NULL) {
		snprintf(j->err, sizeof(j->err), "no database to back up (durability memory)");
		rv = MPSTORE__STATUS__ERR_INVALID;
	} else {
		rv = mpsp_backup_in(cm->db, cm->cfg.backup_dir, j->arg, j->err, sizeof(j->err));
	}
	j->status = rv;
}
