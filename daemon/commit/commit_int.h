/*
 * commit_int.h - the commit thread's state, shared by commit.c (queue,
 * group commit, replies, start/stop), history.c (the changes kept for
 * watchers, OP_CHANGES, heartbeats) and commit_snapshot.c (snapshots and
 * backups). Not for other modules: they use commit.h.
 */
#ifndef MPSD_COMMIT_INT_H
#define MPSD_COMMIT_INT_H

#include <stdint.h>

#include "commit.h"
#include "persist.h"

/* The records of one request share one block, freed with its last record. */
typedef struct crec_blk {
	int      refs; /* records still using the block (atomic) */
	uint8_t  data[];
} crec_blk;

typedef struct crec {
	uint64_t  rev;
	int       kind;
	char     *name;
	uint8_t  *data;
	size_t    len;
	crec_blk *blk; /* data and name are in blk, else data is one malloc'd block */
} crec;

typedef struct job {
	struct job *next;
	mpsd_req   *r;
	nng_msg    *reply;
	crec       *recs;
	size_t      nrec;
	int         action;
	char       *arg;
} job;

typedef struct hist {
	crec  *ring;
	size_t cap, head, n; /* oldest at head */
	uint64_t floor;      /* every change >= floor is in the ring (if n) */
	uint64_t last;       /* last committed revision */
	size_t   bytes;      /* held by the records in the ring (atomic reads) */
	pthread_mutex_t mtx;
} hist;

struct mpsd_commit {
	mpsp           *db;
	int             threaded; /* log/fsync: replies wait for the thread */
	pthread_t       thr;
	int             thr_started;
	pthread_mutex_t mtx;
	pthread_cond_t  cond;
	job            *head, *tail;
	int             stop;
	int             waiting; /* the thread sleeps on cond */
	int64_t         changes_since_snap;
	int64_t         last_snap_ms;
	uint64_t        snap_rev;
	uint64_t        committed_changes;
	uint64_t        batches; /* atomic: commit_walsync.c reads it */
	int             in_snapshot; /* do_snapshot runs: snapshot requests wait */
	hist            h;

	/* log durability: the WAL synced once a second (commit_walsync.c) */
	pthread_t       wthr;
	int             wstarted, wstop;
	pthread_mutex_t wmtx;
	pthread_cond_t  wcond;
	uint64_t        wal_syncs; /* atomic */
};

/* commit.c */
void     crec_free(crec *c);
int      crec_pack(crec *c, const Mpstore__Change *ch);
int      crec_pack_all(crec *out, Mpstore__Change *const *chs, size_t n);
void     job_free(job *j);
job     *take_jobs(mpsd_commit *cm);
void     process_jobs(mpsd_daemon *d, job *list);
nng_msg *status_reply(mpsd_req *r, Mpstore__Status st, const char *msg, uint64_t rev);
/* history.c: keep committed records (takes their data) and publish them */
void hist_add_locked(hist *h, crec *c);
void hist_add(hist *h, crec *c);
void publish_and_keep(mpsd_daemon *d, crec *recs, size_t n);
void     commit_go_readonly(mpsd_daemon *d, const char *why);
/* commit_walsync.c */
int      walsync_start(mpsd_daemon *d);
void     walsync_stop(mpsd_daemon *d);
/* commit_snapshot.c */
int  do_snapshot(mpsd_daemon *d, char *err, size_t errlen);
void do_action(mpsd_daemon *d, job *j);

static inline size_t varint(uint8_t *p, uint64_t v)
{
	size_t n = 0;
	while (v >= 0x80) {
		p[n++] = (uint8_t)(v | 0x80);
		v >>= 7;
	}
	p[n++] = (uint8_t)v;
	return n;
}

#endif
