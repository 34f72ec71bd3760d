/*
 * operator.h - what operators see of the running daemon (docs/operations.md):
 * OP_STATS by sections (stats.c), connections and who holds and waits
 * (holders.c: OP_CLIENTS, OP_HOLDERS), every request as it arrives
 * (monitor.c: OP_MONITOR), and Prometheus metrics over HTTP (metrics.c,
 * served by net/http.c). All on the loop thread; the request ops run under
 * the store lock like any op.
 *
 * Cost when unused: the monitor exists (d->mon) only while a connection
 * monitors, metrics (d->metrics) only with --metrics; the request path
 * tests those pointers and does nothing more.
 */
#ifndef MPSD_OPERATOR_H
#define MPSD_OPERATOR_H

#include "daemon.h"

/* ---- holders.c ---- */
/* OP_CLIENTS: every connection (clients) and what its sessions hold (holders). */
int mpsd_clients_op(mpsd_daemon *d, mpsd_exec *x);
/* OP_HOLDERS name: who holds the container (oldest first), who waits (in order). */
int mpsd_holders_op(mpsd_daemon *d, mpsd_exec *x);

/* ---- monitor.c ---- */
#define MPSD_MONITORS_MAX      16    /* connections monitoring at once */
#define MPSD_MONITOR_LINES     10000 /* lines kept for them (and at most ... */
#define MPSD_MONITOR_BYTES     (4u << 20) /* ... these bytes) */
#define MPSD_MONITOR_LINE_MAX  1024  /* bytes of one line */
#define MPSD_MONITOR_IDLE_MS   30000 /* a monitor that asks nothing this long is forgotten */
/* OP_MONITOR from r (its connection becomes a monitor); may park r. */
int  mpsd_monitor_op(mpsd_daemon *d, mpsd_req *r, mpsd_exec *x);
/* A decoded request arrived (called only while d->mon != NULL). */
void mpsd_monitor_record(mpsd_daemon *d, const mpsd_req *r);
/* A parked OP_MONITOR goes away unanswered (its connection closed). */
void mpsd_monitor_drop(mpsd_daemon *d, mpsd_req *r);
/* A connection closed: it monitors no more. */
void mpsd_monitor_conn_gone(mpsd_daemon *d, uint32_t conn);
/* At the loop's top level: answer parked monitors that have new lines. */
void mpsd_monitor_pending(mpsd_daemon *d);
/* The 200 ms tick: deadlines; forget monitors that stopped asking. */
void mpsd_monitor_tick(mpsd_daemon *d, int64_t now);
/* Shutdown: answer nothing more, free everything. */
void mpsd_monitor_stop(mpsd_daemon *d);
/* Lines recorded, lines kept now, monitors (stats). */
void mpsd_monitor_stats(const mpsd_daemon *d, uint64_t *lines, size_t *kept, size_t *monitors);

/* ---- metrics.c ---- */
/* Serve d->cfg.metrics_url (when set); 0 or -1 with a message in err. */
int     mpsd_metrics_start(mpsd_daemon *d, char *err, size_t errlen);
void    mpsd_metrics_stop(mpsd_daemon *d); /* close the listener (shutdown) */
void    mpsd_metrics_free(mpsd_daemon *d); /* once the loop has ended */
/* Monotonic nanoseconds, for request latency. */
int64_t mpsd_metrics_now(void);
/* r is answered (answered: a reply was sent): count its ops by op and
 * status, and its latency. Called only while d->metrics != NULL. */
void    mpsd_metrics_done(mpsd_daemon *d, const mpsd_req *r, int answered);

/* ---- stats.c ---- */
/* The daemon's pid, start time, and the size of its files (info, metrics). */
long    mpsd_stats_rss_kb(void);

#endif
