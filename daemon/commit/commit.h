/*
 * commit.h - group commit: the changes of many requests written to the
 * database in one SQLite transaction by a thread of its own, then handed
 * back, a whole group at once, to whoever answers and publishes them (the
 * daemon's loop); snapshots, backups, the WAL sync, and the in-memory
 * history of changes that watchers catch up from (OP_CHANGES).
 *
 * With durability memory or snapshot there is no log to wait for: a
 * submission is handed back at once, from inside mpsd_commit_submit.
 *
 * It knows nothing of the transport or of requests: a job carries the
 * submitter's opaque owner and reply, which come back untouched, and the
 * bytes of its answer, which are kept in the transaction of its changes
 * (log and fsync durability) so that a re-send after a crash gets them.
 */
#ifndef MPSD_COMMIT_H
#define MPSD_COMMIT_H

#include <stddef.h>
#include <stdint.h>

#include "hist.h"
#include "store.h"

typedef enum mpsd_durability {
	MPSD_DUR_MEMORY = 0,
	MPSD_DUR_LOG,
	MPSD_DUR_FSYNC,
	MPSD_DUR_SNAPSHOT,
} mpsd_durability;

typedef struct mpsd_commit mpsd_commit;

typedef struct mpsd_commit_cfg {
	const char     *db_path;
	mpsd_durability durability;
	int64_t         snapshot_secs;    /* 0: no timed snapshots */
	int64_t         snapshot_changes; /* 0: no count-triggered snapshots */
	size_t          history;          /* changes kept in memory for watchers */
	const char     *backup_dir;       /* OP_BACKUP writes only here (NULL: refused) */
} mpsd_commit_cfg;

/* One packed change; the records of one submission share a block. */
typedef struct crec_blk crec_blk;
typedef struct crec {
	uint64_t  rev;
	int       kind;
	char     *name;
	uint8_t  *data;
	size_t    len;
	crec_blk *blk;
} crec;

enum { MPSD_ACT_NONE = 0, MPSD_ACT_SNAPSHOT = 1, MPSD_ACT_BACKUP = 2 };

/*
 * The answer to keep with a submission's changes: the packed reply a
 * re-send of (client_id, req_id) must get (both not 0). data is borrowed
 * from the submitter, who keeps it alive until the job is handed back (it
 * lies in the job's reply).
 */
typedef struct mpsd_commit_answer {
	uint64_t       client_id;
	uint64_t       req_id;
	const uint8_t *data;
	size_t         len;
} mpsd_commit_answer;

/*
 * A submission, handed back once its changes are durable (or failed).
 * status is 0, or ERR_IO when the commit failed (the reply must not say
 * "ok"), or an action's outcome; err says why and rev is an action's
 * revision.
 */
typedef struct mpsd_job {
	struct mpsd_job *next;
	void            *owner;  /* the submitter's request (NULL: none) */
	void            *reply;  /* the submitter's packed reply */
	crec            *recs;
	size_t           nrec;
	int              action;
	char            *arg;
	mpsd_commit_answer answer; /* client_id 0: none */
	uint64_t        *prune;    /* client ids whose kept answers go (mpsd_commit_prune) */
	size_t           nprune;
	int              status;
	uint64_t         rev;
	char             err[256];
} mpsd_job;

/*
 * done(arg, list): a group of jobs, in revision order, is durable. Called
 * from the commit thread (log, fsync, actions) or from inside
 * mpsd_commit_submit (memory, snapshot). The callee owns the list and frees
 * it with mpsd_commit_jobs_free once it has published and answered them.
 */
typedef void (*mpsd_commit_done_fn)(void *arg, mpsd_job *list);

/* Open the database, recover the store st (before serving), start the
 * threads. On failure *out may still be set: mpsd_commit_stop and
 * mpsd_commit_free it. */
int mpsd_commit_start(mpsd_commit **out, mpsd_store *st, const mpsd_commit_cfg *cfg,
    mpsd_commit_done_fn done, void *arg, char *err, size_t errlen);
/* Drain (every job is handed back), write a final snapshot when there is
 * a database and nothing failed, close the database. */
void mpsd_commit_stop(mpsd_commit *cm);
void mpsd_commit_free(mpsd_commit *cm);
void mpsd_commit_jobs_free(mpsd_job *list);

/*
 * Under the store lock (keeps revision order): commit x's changes (packed
 * here), with owner and reply to hand back (both may be NULL for changes
 * without a requester), an action (MPSD_ACT_*, arg copied), and the answer
 * to keep with the changes (NULL: none; copied, its data borrowed). With
 * log or fsync durability the answer is written in the transaction of the
 * changes, or not at all (a failed commit); other modes keep none.
 */
void mpsd_commit_submit(mpsd_commit *cm, mpsd_exec *x, void *owner, void *reply, int action,
    const char *arg, const mpsd_commit_answer *answer);

/*
 * Under the store lock: the answers kept for these client ids go, in the
 * transaction of the next group commit, after every answer submitted
 * before (a freed session's re-sends are long over). Does nothing without
 * a log (memory, snapshot) or when out of memory (rows stay until the
 * next prune of the client).
 */
void mpsd_commit_prune(mpsd_commit *cm, const uint64_t *client_ids, size_t n);

/*
 * Before serving, after mpsd_commit_start: fn gets every answer kept by
 * the previous runs (log and fsync durability only; none otherwise), per
 * client in request id order. Returns 0, or -1 with err set (a damaged
 * answers row).
 */
typedef void (*mpsd_commit_answer_fn)(void *arg, const mpsd_commit_answer *a);
int mpsd_commit_answers(mpsd_commit *cm, mpsd_commit_answer_fn fn, void *arg, char *err,
    size_t errlen);

/* Under the store lock: OP_CHANGES from the history (or the log) into x->res. */
int mpsd_commit_changes(mpsd_commit *cm, mpsd_exec *x);
/* The last committed revision (heartbeats). */
uint64_t mpsd_commit_last(mpsd_commit *cm);
/* Bytes the in-memory change history holds (counted against --max-memory
 * through the store's memory hook). Any thread. */
size_t mpsd_commit_history_bytes(mpsd_commit *cm);

/* After a failed write or sync, writes are refused: 1 and the reason. */
int mpsd_commit_readonly(const mpsd_commit *cm, const char **why);

typedef struct mpsd_commit_stats {
	uint64_t committed_changes;
	uint64_t batches;
	uint64_t wal_syncs;
	uint64_t snapshot_rev;
	size_t   history_changes;
	size_t   history_bytes;
	int      has_db;
	/* for operators (docs/operations.md) */
	uint64_t commit_ns;                 /* time spent writing batches to the log */
	uint64_t commit_hist[MPSD_HIST_N];  /* batches written, by how long they took */
	uint64_t wal_sync_ns;               /* time spent in WAL syncs (log mode) */
	int64_t  snapshot_time;             /* wall clock (s) of the last snapshot written, 0: none yet */
} mpsd_commit_stats;
void mpsd_commit_stats_get(mpsd_commit *cm, mpsd_commit_stats *st);

#endif
