/*
 * daemon.h - the running daemon: its configuration and the state that
 * main.c, dispatch (dispatch.c, txn.c), the per-connection records
 * (clients.c), notifications (notify.c), stats (stats.c) and sessions
 * share. It sits between the transport (net/), which hands it requests,
 * and the store (store/) and group commit (commit/), which it drives.
 * Everything here runs on the loop thread unless it says otherwise.
 */
#ifndef MPSD_DAEMON_H
#define MPSD_DAEMON_H

#include <pthread.h>
#include <stdint.h>

#include "commit.h"
#include "log.h"
#include "net.h"
#include "store.h"

typedef struct mpsd_client  mpsd_client;
typedef struct mpsd_clients mpsd_clients;

typedef struct mpsd_config {
	mpsd_net_cfg    net;
	mpsd_commit_cfg commit;
	int64_t         lease_ms;
	const char     *schemas[16];      /* descriptor set files (--schema) */
	int             nschemas;
	int             verbose;
	uint8_t         auth_key[256];    /* every request must carry it (len > 0) */
	size_t          auth_len;
	size_t          max_parked;       /* parked requests in all */
	size_t          max_parked_per_client;
	int             no_auth;          /* serve non-loopback addresses without a key */
	int             pub_no_auth;      /* publish although a key is set */
	mpsd_limits     limits;           /* --max-memory, --max-containers, --max-elements */
	const char     *metrics_url;      /* --metrics http://HOST:PORT/PATH, NULL: off */
	int             metrics_public;   /* ... on a non-loopback host */
} mpsd_config;

typedef struct mpsd_sessions mpsd_sessions;
typedef struct mpsd_req      mpsd_req;
typedef struct mpsd_monitor  mpsd_monitor;
typedef struct mpsd_metrics  mpsd_metrics;

typedef struct mpsd_daemon {
	mpsd_config    cfg;
	mpsd_store    *st;
	mpsd_net      *net;
	mpsd_commit   *commit;
	mpsd_sessions *sess;
	mpsd_clients  *clients;
	void          *schema;   /* schema registry (schema.c), may be NULL */
	uint64_t       requests; /* decoded requests so far (OP_STATS) */
	size_t         largest_request; /* bytes of the largest request body so far */
	uint64_t       heap_trims;      /* freed memory handed back (clock.c) */
	mpsd_monitor  *mon;      /* while a connection monitors (operator.h) */
	mpsd_metrics  *metrics;  /* with --metrics (operator.h) */
	size_t         parked;   /* requests parked now */
	int64_t        started_ms;
	/* timers of the loop */
	uv_timer_t     deadline; /* the earliest parked op's deadline */
	int64_t        deadline_at;
	uv_timer_t     lease;    /* session leases, heartbeats */
	uv_signal_t    sigint, sigterm;
	int            stopping;
	/* groups the commit thread hands back (notify.c) */
	pthread_mutex_t done_mtx;
	mpsd_job       *done_head, *done_tail;
	mpsd_post       done_post;
	mpsd_req       *chg_waiters; /* waiting OP_CHANGES (changes.c) */
	int             chg_pending; /* a group was committed since they last ran */
	mpsd_req       *free_reqs;
	size_t          nfree_reqs;
	char            park_msg_all[128], park_msg_one[128]; /* ERR_LIMIT texts */
	pthread_t       loop_thread;
} mpsd_daemon;

/* ---- dispatch.c ---- */
/* net hook: a request arrived. */
void mpsd_dispatch_request(void *arg, const mpsd_peer *from, const uint8_t *body, size_t len,
    int flags);
/* commit hook target (on the loop): answer a committed job's request. */
void mpsd_dispatch_job_done(mpsd_daemon *d, mpsd_job *j);
/* Re-run a parked op (store resume callback). */
int  mpsd_dispatch_resume(void *owner, mpsd_waiter *w, int expired);
/* Drop a parked request of a dead session or connection (no reply). */
void mpsd_dispatch_drop(void *owner);
/* Run session_gone for sid and commit what it changed (store locked). */
void mpsd_dispatch_session_gone(mpsd_daemon *d, uint64_t sid);
/* Connection id ended: drop the parked requests (a list through
 * next_free), end its sessions (store locked). */
void mpsd_dispatch_conn_gone(mpsd_daemon *d, uint32_t id, mpsd_req *parked);
void mpsd_req_free_all(mpsd_daemon *d);

/* ---- clock.c: the loop's timers ---- */
/* After a request was handled: keep the deadline timer on the earliest
 * parked op. */
void mpsd_dispatch_rearm(mpsd_daemon *d);
void mpsd_clock_start(mpsd_daemon *d); /* deadlines, leases, heartbeats */
void mpsd_clock_stop(mpsd_daemon *d);

/* ---- changes.c: OP_CHANGES that waits for changes ---- */
int  mpsd_changes_op(mpsd_daemon *d, mpsd_req *r, mpsd_exec *x);
/* Re-run the waiters: all after a commit (chg_pending), else those past
 * their deadline. At the loop's top level. */
void mpsd_changes_run(mpsd_daemon *d, int64_t now);
void mpsd_changes_drop(mpsd_daemon *d, mpsd_req *r);

/* ---- notify.c ---- */
/* commit hook (any thread): a committed group; handed to the loop. */
void mpsd_notify_done(void *arg, mpsd_job *list);
/* Publish and answer the groups handed back so far (loop thread). */
void mpsd_notify_drain(void *arg);
void mpsd_notify_heartbeat(mpsd_daemon *d);

/* ---- resend.c ---- */
/* At start, after the commit module recovered and before serving: the
 * answers the previous run kept go back into sessions, and freed sessions
 * prune theirs. 0, or -1 with err set. */
int mpsd_resend_start(mpsd_daemon *d, char *err, size_t errlen);

/* ---- stats.c ---- */
int  mpsd_stats(mpsd_daemon *d, mpsd_exec *x);

#endif
