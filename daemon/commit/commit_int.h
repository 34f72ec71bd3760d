/*
 * commit_int.h - the commit module's state, shared by commit.c (queue,
 * group commit, start/stop), history.c (the changes kept for watchers,
 * OP_CHANGES), snapshot.c (snapshots and backups) and walsync.c. Not for
 * other modules: they use commit.h.
 */
#ifndef MPSD_COMMIT_INT_H
#define MPSD_COMMIT_INT_H

#include <pthread.h>
#include <stdint.h>

#include "commit.h"
#include "log.h"
#include "persist.h"

/* The records of one submission share one block, freed with its last
 * reference (the job's records and the history's copies). */
struct crec_blk {
	int     refs; /* atomic */
	uint8_t data[];
};

typedef struct hist {
	crec    *ring;
	size_t   cap, head, n; /* oldest at head */
	size_t   bytes;        /* packed bytes of the records in the ring */
	uint64_t floor;        /* every change >= floor is in the ring (if n) */
	uint64_t last;         /* last committed revision */
	pthread_mutex_t mtx;
} hist;

struct mpsd_commit {
	mpsd_commit_cfg     cfg;
	mpsd_store         *st;
	mpsd_commit_done_fn done;
	void               *done_arg;
	mpsp               *db;
	int                 threaded; /* log/fsync: replies wait for the thread */
	pthread_t           thr;
	int                 thr_started;
	pthread_mutex_t     mtx;
	pthread_cond_t      cond;
	mpsd_job           *head, *tail;
	int                 stop;
	int                 waiting; /* the thread sleeps on cond */
	int64_t             changes_since_snap;
	int64_t             last_snap_ms;
	uint64_t            snap_rev;
	uint64_t            committed_changes; /* atomic */
	uint64_t            batches;           /* atomic: walsync.c reads it */
	uint64_t            commit_ns;         /* atomic, as the next three (stats) */
	uint64_t            commit_hist[MPSD_HIST_N];
	int64_t             snap_wall;
	int                 in_snapshot; /* do_snapshot runs: snapshot requests wait */
	hist                h;
	/* after a failed write or sync */
	int                 readonly; /* atomic, published after readonly_why */
	char                readonly_why[256];
	pthread_mutex_t     romtx;

	/* log durability: the WAL synced once a second (walsync.c) */
	pthread_t       wthr;
	int             wstarted, wstop;
	pthread_mutex_t wmtx;
	pthread_cond_t  wcond;
	uint64_t        wal_syncs; /* atomic */
	uint64_t        wal_sync_ns; /* atomic */
};

/* commit.c */
void      crec_free(crec *c);
int       crec_pack(crec *c, const Mpstore__Change *ch);
int       crec_pack_all(crec *out, Mpstore__Change *const *chs, size_t n);
mpsd_job *take_jobs(mpsd_commit *cm);
void      process_jobs(mpsd_commit *cm, mpsd_job *list);
void      commit_go_readonly(mpsd_commit *cm, const char *why);
/* history.c: keep committed records (shares their blocks) */
void hist_add_locked(hist *h, const crec *c);
void hist_add(hist *h, const crec *c);
void hist_keep(hist *h, const crec *recs, size_t n);
/* walsync.c */
int  walsync_start(mpsd_commit *cm);
void walsync_stop(mpsd_commit *cm);
/* snapshot.c */
int  do_snapshot(mpsd_commit *cm, char *err, size_t errlen);
void do_action(mpsd_commit *cm, mpsd_job *j);

#endif
