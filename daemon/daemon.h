/*
 * daemon.h - the running daemon: configuration and the parts that the
 * transport (server.c), request dispatch (dispatch.c), sessions
 * (session.c), the commit thread (commit.c) and main.c share. The store
 * core (store.h) knows none of this.
 */
#ifndef MPSD_DAEMON_H
#define MPSD_DAEMON_H

#include <pthread.h>
#include <stdint.h>

#include <nng/nng.h>

#include "store.h"

#define MPSD_MAX_LISTEN 8

typedef enum mpsd_durability {
	MPSD_DUR_MEMORY = 0,
	MPSD_DUR_LOG,
	MPSD_DUR_FSYNC,
	MPSD_DUR_SNAPSHOT,
} mpsd_durability;

typedef struct mpsd_config {
	const char     *listen[MPSD_MAX_LISTEN];
	int             nlisten;
	const char     *pub_url;
	const char     *db_path;
	mpsd_durability durability;
	int64_t         snapshot_secs;    /* 0 = no timed snapshots */
	int64_t         snapshot_changes; /* 0 = no count-triggered snapshots */
	int64_t         lease_ms;
	size_t          max_msg;          /* bytes; larger requests are refused by nng */
	size_t          history;          /* changes kept in memory for watchers */
	int             contexts;         /* REP contexts receiving at once */
	const char     *schemas[16];      /* descriptor set files (--schema) */
	int             nschemas;
	int             verbose;
	uint8_t         auth_key[256];    /* every request must carry it (len > 0) */
	size_t          auth_len;
	const char     *tls_cert;         /* PEM certificate chain + key for tls+tcp:// */
	const char     *tls_key;
	mpsd_limits     limits;           /* --max-memory, --max-containers, --max-elements */
	const char     *backup_dir;       /* OP_BACKUP writes only here; NULL: refused */
} mpsd_config;

typedef struct mpsd_server  mpsd_server;
typedef struct mpsd_commit  mpsd_commit;
typedef struct mpsd_sessions mpsd_sessions;
typedef struct mpsd_req     mpsd_req;

typedef struct mpsd_daemon {
	mpsd_config    cfg;
	mpsd_store    *st;
	mpsd_server   *srv;
	mpsd_commit   *commit;
	mpsd_sessions *sess;
	void          *schema; /* schema registry (schema.c), may be NULL */
	int            readonly; /* set after a failed commit */
	uint64_t       requests; /* decoded requests so far (atomic; OP_STATS) */
	char           readonly_why[256];
	volatile int   stopping;
} mpsd_daemon;

/* Logging to stderr with a timestamp. */
void mpsd_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* ---- dispatch.c ---- */
/* A request arrived on a worker: decode, run, reply or defer. */
void mpsd_dispatch(mpsd_daemon *d, mpsd_req *r, nng_msg *msg);
/* Under the store lock, after r's changes committed: record the answer m
 * for re-sends (NULL: none). Then, without the lock, mpsd_dispatch_send
 * answers r and any re-send of it (takes m; NULL abandons). */
void mpsd_dispatch_committed(mpsd_daemon *d, mpsd_req *r, nng_msg *m);
void mpsd_dispatch_send(mpsd_daemon *d, mpsd_req *r, nng_msg *m);
/* Re-run a parked op (store resume callback). */
int  mpsd_dispatch_resume(void *owner, mpsd_waiter *w, int expired);
/* Drop a parked request of a dead session (no reply). */
void mpsd_dispatch_drop(void *owner);
/* Run session_gone for sid and commit what it changed (store locked). */
void mpsd_dispatch_session_gone(mpsd_daemon *d, uint64_t sid);

/* ---- server.c: nng transport ---- */
int  mpsd_server_start(mpsd_daemon *d, char *err, size_t errlen);
/* Stop receiving and close the sockets; replies after this are dropped. */
void mpsd_server_stop(mpsd_daemon *d);
/* Free the contexts (after the commit thread stopped). */
void mpsd_server_free(mpsd_daemon *d);
/* Send a reply for r (takes msg) and recycle r's worker. */
void mpsd_server_reply(mpsd_daemon *d, mpsd_req *r, nng_msg *msg);
/* Replies made by this thread between hold and flush are queued and sent
 * by flush: hold before taking the store lock, flush after releasing it. */
void mpsd_server_hold(void);
void mpsd_server_flush(mpsd_daemon *d);
/* Forget r without replying (its client is gone). */
void mpsd_server_abandon(mpsd_daemon *d, mpsd_req *r);
/* Publish one message (topic "name\0" + payload). Never blocks. */
void mpsd_server_publish(mpsd_daemon *d, const char *name, const uint8_t *data, size_t len);
/* Publish a ready message (topic included); takes m. */
void mpsd_server_publish_msg(mpsd_daemon *d, nng_msg *m);
/* Connected subscribers (0: publishing can be skipped). */
int mpsd_server_subscribers(mpsd_daemon *d);
/* REP contexts allocated, and those whose reply waits behind a busy connection */
void mpsd_server_contexts(mpsd_daemon *d, size_t *all, size_t *sending);
/* nng did not finish closing the sockets at stop: exit without nng's cleanup */
int mpsd_server_stuck(mpsd_daemon *d);
/* The request state a worker carries (dispatch.c owns its fields). */
mpsd_req *mpsd_server_req_of(void *worker);
void      mpsd_server_wake_clock(mpsd_daemon *d);

#endif
