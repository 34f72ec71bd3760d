/*
 * metrics.c - `mpstored --metrics http://HOST:PORT/PATH`: the daemon's
 * counters in the Prometheus text exposition format (version 0.0.4),
 * served by net/http.c from the loop itself (docs/operations.md lists
 * every metric).
 *
 * Counting costs the request path one clock read at arrival and, when the
 * answer goes, a few plain increments (the loop thread is the only
 * writer); without --metrics nothing is counted (d->metrics is NULL). The
 * rest is read when a scrape comes: the stats the daemon keeps anyway.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "http.h"
#include "mpstore/mpstore.h"
#include "operator.h"
#include "persist.h"
#include "req.h"
#include "session.h"

#define MET_OPS    128 /* op codes counted one by one; higher ones as op 0 */
#define MET_STATUS 32  /* statuses likewise */

struct mpsd_metrics {
	mpsd_http *http;
	uint64_t   ops[MET_OPS][MET_STATUS]; /* answered ops by code and status */
	uint64_t   requests[MET_STATUS];     /* answered requests by request-level status */
	uint64_t   unanswered;               /* dropped: their connection went */
	uint64_t   lat[MPSD_HIST_N];         /* latency of requests that did not wait */
	uint64_t   lat_ns;
	uint64_t   scrapes;
};

int64_t mpsd_metrics_now(void) { return mpsd_hist_now_ns(); }

static void count_ops(mpsd_metrics *m, Mpstore__Op *const *ops, size_t nops,
    Mpstore__Result *const *res, size_t nres)
{
	for (size_t i = 0; i < nops && i < nres; i++) {
		unsigned code = (unsigned)ops[i]->code, st = (unsigned)res[i]->status;
		m->ops[code < MET_OPS ? code : 0][st < MET_STATUS ? st : MET_STATUS - 1]++;
	}
}

void mpsd_metrics_done(mpsd_daemon *d, const mpsd_req *r, int answered)
{
	mpsd_metrics *m = d->metrics;
	if (!answered) {
		m->unanswered++;
		return;
	}
	unsigned st = (unsigned)r->status;
	m->requests[st < MET_STATUS ? st : MET_STATUS - 1]++;
	const Mpstore__Request *rq = r->rq;
	if (rq != NULL && r->results != NULL) {
		if (rq->txn != NULL)
			count_ops(m, r->succeeded ? rq->txn->success : rq->txn->failure,
			    r->succeeded ? rq->txn->n_success : rq->txn->n_failure, r->results, r->nres);
		else
			count_ops(m, rq->ops, rq->n_ops, r->results, r->nres);
	}
	if (!r->waited && r->t0_ns != 0) {
		int64_t ns = mpsd_hist_now_ns() - r->t0_ns;
		m->lat[mpsd_hist_bucket(ns)]++;
		m->lat_ns += (uint64_t)ns;
	}
}

/* ---- the page ---- */

typedef struct page {
	char  *b;
	size_t n, cap;
	int    oom;
} page;

static void pf(page *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void pf(page *p, const char *fmt, ...)
{
	for (int tries = 0; tries < 2 && !p->oom; tries++) {
		va_list ap;
		va_start(ap, fmt);
		int k = vsnprintf(p->b + p->n, p->cap - p->n, fmt, ap);
		va_end(ap);
		if (k < 0) {
			p->oom = 1;
			return;
		}
		if ((size_t)k < p->cap - p->n) {
			p->n += (size_t)k;
			return;
		}
		size_t cap = (p->cap + (size_t)k) * 2;
		char  *nb = realloc(p->b, cap);
		if (nb == NULL) {
			p->oom = 1;
			return;
		}
		p->b = nb;
		p->cap = cap;
	}
}

static void family(page *p, const char *name, const char *type, const char *help)
{
	pf(p, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void one(page *p, const char *name, const char *type, const char *help, double v)
{
	family(p, name, type, help);
	pf(p, "%s %.15g\n", name, v);
}

/* "OP_LIST_APPEND" -> "list_append"; NULL for codes without a name. */
static const char *op_label(unsigned code, char *buf, size_t len)
{
	const ProtobufCEnumValue *ev =
	    protobuf_c_enum_descriptor_get_value(&mpstore__op_code__descriptor, (int)code);
	if (ev == NULL)
		return NULL;
	size_t i = 0;
	for (const char *s = ev->name + 3; *s != '\0' && i + 1 < len; s++)
		buf[i++] = *s >= 'A' && *s <= 'Z' ? (char)(*s - 'A' + 'a') : *s;
	buf[i] = '\0';
	return buf;
}

static const char *status_label(unsigned st)
{
	const ProtobufCEnumValue *ev =
	    protobuf_c_enum_descriptor_get_value(&mpstore__status__descriptor, (int)st);
	return ev != NULL ? ev->name : "OTHER";
}

/* A histogram from per-bucket counts (made cumulative here). */
static void histogram(page *p, const char *name, const char *help, const uint64_t *b, uint64_t ns)
{
	uint64_t cum = 0;
	family(p, name, "histogram", help);
	for (int i = 0; i < MPSD_HIST_N; i++) {
		cum += b[i];
		if (i < MPSD_HIST_N - 1)
			pf(p, "%s_bucket{le=\"%g\"} %llu\n", name, (double)mpsd_hist_bound_ns(i) / 1e9,
			    (unsigned long long)cum);
		else
			pf(p, "%s_bucket{le=\"+Inf\"} %llu\n", name, (unsigned long long)cum);
	}
	pf(p, "%s_sum %.9f\n%s_count %llu\n", name, (double)ns / 1e9, name, (unsigned long long)cum);
}

static void requests(page *p, mpsd_daemon *d, const mpsd_metrics *m)
{
	char buf[64];
	one(p, "mpstore_requests_received_total", "counter", "Requests decoded since start.",
	    (double)d->requests);
	family(p, "mpstore_requests_total", "counter",
	    "Requests answered, by request-level status (OK: executed; each op has its own status).");
	for (unsigned s = 0; s < MET_STATUS; s++)
		if (m->requests[s] != 0 || s == 0)
			pf(p, "mpstore_requests_total{status=\"%s\"} %llu\n", status_label(s),
			    (unsigned long long)m->requests[s]);
	one(p, "mpstore_requests_unanswered_total", "counter",
	    "Requests dropped unanswered because their connection closed.", (double)m->unanswered);
	family(p, "mpstore_ops_total", "counter", "Ops answered, by op and status.");
	for (unsigned o = 0; o < MET_OPS; o++)
		for (unsigned s = 0; s < MET_STATUS; s++)
			if (m->ops[o][s] != 0) {
				const char *op = op_label(o, buf, sizeof(buf));
				pf(p, "mpstore_ops_total{op=\"%s\",status=\"%s\"} %llu\n", op ? op : "unknown",
				    status_label(s), (unsigned long long)m->ops[o][s]);
			}
	histogram(p, "mpstore_request_duration_seconds",
	    "Time from a request's arrival to its answer, for requests that did not wait in a "
	    "blocking op (commit included).",
	    m->lat, m->lat_ns);
}

static void state(page *p, mpsd_daemon *d)
{
	mpsd_net_stats    ns;
	mpsd_commit_stats cs;
	struct rusage     ru;
	uint64_t          mlines;
	size_t            mkept, monitors;
	const char       *why;
	mpsd_net_stats_get(d->net, &ns);
	mpsd_commit_stats_get(d->commit, &cs);
	mpsd_monitor_stats(d, &mlines, &mkept, &monitors);
	getrusage(RUSAGE_SELF, &ru);
	mpsd_store_lock(d->st);
	size_t   store_bytes = mpsd_store_memory(d->st), containers = mpsd_store_count(d->st);
	size_t   waiters = mpsd_store_nwaiters(d->st);
	uint64_t rev = mpsd_store_revision(d->st);
	mpsd_store_unlock(d->st);

	family(p, "mpstore_info", "gauge", "The daemon's version and durability (value 1).");
	pf(p, "mpstore_info{version=\"%s\",durability=\"%s\"} 1\n", MPS_VERSION_STRING,
	    mpsp_durability_name((mpsp_durability)d->cfg.commit.durability));
	one(p, "mpstore_uptime_seconds", "gauge", "Seconds since the daemon started.",
	    (double)(mpsd_now_ms() - d->started_ms) / 1000);
	one(p, "mpstore_readonly", "gauge", "1 after a failed commit or sync: writes are refused.",
	    mpsd_commit_readonly(d->commit, &why));
	one(p, "mpstore_revision", "gauge", "The store's revision.", (double)rev);
	one(p, "mpstore_containers", "gauge", "Containers.", (double)containers);
	one(p, "mpstore_connections", "gauge", "Request connections open.", (double)ns.clients);
	one(p, "mpstore_connections_total", "counter", "Request connections accepted.",
	    (double)ns.clients_total);
	one(p, "mpstore_connections_refused_total", "counter", "Connections refused past --max-clients.",
	    (double)ns.clients_refused);
	one(p, "mpstore_connections_dropped_total", "counter",
	    "Connections closed for a full reply buffer.", (double)ns.clients_dropped);
	one(p, "mpstore_sessions", "gauge", "Client sessions.", (double)mpsd_sessions_count(d->sess));
	one(p, "mpstore_parked_requests", "gauge", "Requests waiting in blocking ops.",
	    (double)d->parked);
	one(p, "mpstore_waiters", "gauge", "Ops waiting on containers.", (double)waiters);
	one(p, "mpstore_monitors", "gauge", "Connections running mpstore monitor.", (double)monitors);
	one(p, "mpstore_resident_memory_bytes", "gauge", "Resident memory of the daemon.",
	    (double)mpsd_stats_rss_kb() * 1024);
	one(p, "mpstore_store_bytes", "gauge", "Memory the containers take (estimate).",
	    (double)store_bytes);
	one(p, "mpstore_client_buffer_bytes", "gauge", "Reply bytes queued to clients.",
	    (double)ns.client_buffer);
	one(p, "mpstore_cpu_seconds_total", "counter", "CPU time, user and system.",
	    (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
	        (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6);
	one(p, "mpstore_committed_changes_total", "counter", "Change records committed.",
	    (double)cs.committed_changes);
	one(p, "mpstore_commit_batches_total", "counter", "Commit batches (group commits).",
	    (double)cs.batches);
	histogram(p, "mpstore_commit_duration_seconds",
	    "Time to write one batch to the log (with its fsync in fsync mode).", cs.commit_hist,
	    cs.commit_ns);
	one(p, "mpstore_wal_syncs_total", "counter", "WAL syncs (log mode).", (double)cs.wal_syncs);
	one(p, "mpstore_wal_sync_seconds_total", "counter", "Time spent in WAL syncs.",
	    (double)cs.wal_sync_ns / 1e9);
	one(p, "mpstore_snapshot_revision", "gauge", "Revision of the last snapshot.",
	    (double)cs.snapshot_rev);
	one(p, "mpstore_history_changes", "gauge", "Changes kept in memory for watchers.",
	    (double)cs.history_changes);
	one(p, "mpstore_history_bytes", "gauge", "Bytes of the changes kept for watchers.",
	    (double)cs.history_bytes);
	one(p, "mpstore_subscribers", "gauge", "Notification subscribers.", (double)ns.subscribers);
	one(p, "mpstore_subscriber_buffer_bytes", "gauge", "Notification bytes queued to subscribers.",
	    (double)ns.subscriber_buffer);
	one(p, "mpstore_notifications_total", "counter", "Notification messages published.",
	    (double)ns.pub_messages);
	one(p, "mpstore_notifications_dropped_total", "counter",
	    "Notifications a full subscriber lost.", (double)ns.pub_dropped);
	one(p, "mpstore_subscribers_dropped_total", "counter", "Subscribers closed for staying full.",
	    (double)ns.subscribers_dropped);
}

static char *render(void *arg, size_t *len)
{
	mpsd_daemon  *d = arg;
	mpsd_metrics *m = d->metrics;
	page          p = {malloc(16384), 0, 16384, 0};
	if (p.b == NULL)
		return NULL;
	m->scrapes++;
	requests(&p, d, m);
	state(&p, d);
	one(&p, "mpstore_scrapes_total", "counter", "Scrapes of this page.", (double)m->scrapes);
	if (p.oom) {
		free(p.b);
		return NULL;
	}
	*len = p.n;
	return p.b;
}

int mpsd_metrics_start(mpsd_daemon *d, char *err, size_t errlen)
{
	const char *url = d->cfg.metrics_url;
	char        host[256], path[256], tcp[300];
	int         port;
	if (url == NULL)
		return 0;
	if (mpsd_http_parse_url(url, host, sizeof(host), &port, path, sizeof(path)) != 0) {
		snprintf(err, errlen, "--metrics %s: not an http://HOST:PORT/PATH address", url);
		return -1;
	}
	snprintf(tcp, sizeof(tcp), strchr(host, ':') ? "tcp://[%s]:%d" : "tcp://%s:%d", host, port);
	if (!mpsd_net_url_is_local(tcp) && !d->cfg.metrics_public) {
		snprintf(err, errlen,
		    "--metrics %s can be reached from other machines: serve it on a loopback address "
		    "(127.0.0.1, ::1), or pass --metrics-public to serve it anyway", url);
		return -1;
	}
	if ((d->metrics = calloc(1, sizeof(*d->metrics))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	if (mpsd_http_open(&d->metrics->http, mpsd_net_loop(d->net), url,
	        "text/plain; version=0.0.4; charset=utf-8", render, d, err, errlen) != 0) {
		free(d->metrics);
		d->metrics = NULL;
		return -1;
	}
	mpsd_log("metrics on %s", url);
	return 0;
}

void mpsd_metrics_stop(mpsd_daemon *d)
{
	if (d->metrics != NULL) {
		mpsd_http_close(d->metrics->http);
		d->metrics->http = NULL;
	}
}

void mpsd_metrics_free(mpsd_daemon *d)
{
	free(d->metrics);
	d->metrics = NULL;
}
