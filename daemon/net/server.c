/*
 * server.c - the nng transport: one REP socket (several listeners) served
 * by REP contexts with aio callbacks, one PUB socket, pipe events that end
 * sessions, and the clock thread for deadlines and leases.
 *
 * A context that must wait (commit, parked op) keeps its request; another
 * context takes its place receiving, so waiting requests never take
 * capacity from others (NNG-PERFORMANCE.md: cooked REP, work done in the
 * callback, reply on an aio without callback).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <nng/nng.h>
#include <nng/protocol/pubsub0/pub.h>
#include <nng/protocol/pubsub0/sub.h>
#include <nng/protocol/reqrep0/req.h>
#include <nng/protocol/reqrep0/rep.h>
#include <nng/supplemental/tls/tls.h>

#include "commit.h"
#include "req.h"
#include "session.h"

#define MPSD_MAX_CONTEXTS 200000

struct mpsd_server {
	nng_socket      rep, pub;
	int             rep_open, pub_open;
	pthread_mutex_t mtx;     /* free list and counters */
	mpsd_req       *free;
	mpsd_req       *sending; /* replies queued behind a busy connection */
	mpsd_req       *all;
	size_t          nall;
	/* clock thread */
	pthread_t       clock;
	pthread_mutex_t cmtx;
	pthread_cond_t  ccond;
	int             clock_run, clock_kick;
	/* listener watchdog (nng 1.5.2 bug #1518, see watchdog_main) */
	struct lsn {
		nng_listener l;
		nng_socket   sock;
		const char  *url;
		int          is_pub;
		int          fails;
	} lsn[MPSD_MAX_LISTEN + 1];
	int             nlsn;
	int             nsubs; /* connected subscribers (atomic) */
	pthread_rwlock_t slk;  /* send lock: see send_begin */
	pthread_t       wd;
	int             wd_run;
	int             wd_done; /* the watchdog thread has returned */
	int             wd_started;
	int             stuck;     /* nng_close did not return: see close_sockets */
	pthread_mutex_t wmtx;
	pthread_cond_t  wcond;
};

void mpsd_log(const char *fmt, ...)
{
	char      ts[32];
	time_t    now = time(NULL);
	struct tm tm;
	localtime_r(&now, &tm);
	strftime(ts, sizeof(ts), "%Y-%m-%d %H:%M:%S", &tm);
	va_list ap;
	va_start(ap, fmt);
	fprintf(stderr, "%s mpstored: ", ts);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

static void recv_cb(void *arg);

/*
 * Replies go out on an aio without a callback: a callback would cost a
 * thread hop per reply (NNG-PERFORMANCE.md). A reply handed straight to
 * the connection is finished when nng_ctx_send returns; one queued
 * behind an earlier reply on a busy connection finishes later, so its
 * req waits on the `sending` list until its aio has let go of the message
 * (nng clears it just before finishing the aio, hence the short wait).
 */
static int send_done(mpsd_req *r)
{
	if (nng_aio_get_msg(r->saio) != NULL && nng_aio_result(r->saio) == 0)
		return 0; /* still queued */
	nng_aio_wait(r->saio);
	nng_msg *m = nng_aio_get_msg(r->saio);
	if (m != NULL) { /* failed: the message is still ours */
		nng_aio_set_msg(r->saio, NULL);
		nng_msg_free(m);
	}
	return 1;
}

/* Move the reqs whose replies have gone from `sending` to `free`.
 * Called with s->mtx held. */
static void reap_sending(mpsd_server *s)
{
	mpsd_req **pp = &s->sending;
	while (*pp != NULL) {
		mpsd_req *r = *pp;
		if (send_done(r)) {
			*pp = r->next_free;
			r->next_free = s->free;
			s->free = r;
		} else {
			pp = &r->next_free;
		}
	}
}

static mpsd_req *req_new(mpsd_daemon *d)
{
	mpsd_server *s = d->srv;
	mpsd_req    *r = NULL;
	pthread_mutex_lock(&s->mtx);
	if (s->free == NULL && s->sending != NULL)
		reap_sending(s);
	if (s->free != NULL) {
		r = s->free;
		s->free = r->next_free;
		pthread_mutex_unlock(&s->mtx);
		return r;
	}
	if (s->nall >= MPSD_MAX_CONTEXTS) {
		pthread_mutex_unlock(&s->mtx);
		return NULL;
	}
	pthread_mutex_unlock(&s->mtx);
	r = calloc(1, sizeof(*r));
	if (r == NULL)
		return NULL;
	r->d = d;
	mpsd_arena_init(&r->arena);
	if (nng_ctx_open(&r->ctx, s->rep) != 0 || nng_aio_alloc(&r->raio, recv_cb, r) != 0 ||
	    nng_aio_alloc(&r->saio, NULL, NULL) != 0) {
		if (r->raio)
			nng_aio_free(r->raio);
		free(r);
		return NULL;
	}
	pthread_mutex_lock(&s->mtx);
	r->next_all = s->all;
	s->all = r;
	s->nall++;
	pthread_mutex_unlock(&s->mtx);
	return r;
}

static void post_recv(mpsd_req *r)
{
	r->receiving = 1;
	nng_ctx_recv(r->ctx, r->raio);
}

static void recv_cb(void *arg)
{
	mpsd_req    *r = arg;
	mpsd_daemon *d = r->d;
	int          rv = nng_aio_result(r->raio);
	if (rv != 0) {
		if (rv == NNG_ECLOSED || d->stopping)
			return;
		post_recv(r); /* e.g. a message too big: nng dropped it */
		return;
	}
	r->receiving = 0;
	nng_msg *m = nng_aio_get_msg(r->raio);
	nng_aio_set_msg(r->raio, NULL);
	if (d->stopping) {
		/* shutting down: unanswered, as after a crash (the client's
		 * re-send after a restart is answered once, by its session);
		 * after a stuck close the commit state may already be gone */
		nng_msg_free(m);
		return;
	}
	/* somebody else receives while this request is handled */
	mpsd_req *n = req_new(d);
	if (n != NULL)
		post_recv(n);
	else
		mpsd_log("out of contexts: %d in use", MPSD_MAX_CONTEXTS);
	mpsd_dispatch(d, r, m);
}

/*
 * Sends take the send lock shared; mpsd_server_stop takes it exclusively
 * to set `stopping` before it closes the sockets: nng 1.5.2 panics when a
 * send races the close of its socket. After that, replies and
 * notifications are dropped (the clients hear nothing, as after a crash).
 */
static int send_begin(mpsd_daemon *d)
{
	pthread_rwlock_rdlock(&d->srv->slk);
	if (!d->stopping)
		return 1;
	pthread_rwlock_unlock(&d->srv->slk);
	return 0;
}

static void send_end(mpsd_daemon *d)
{
	pthread_rwlock_unlock(&d->srv->slk);
}

/*
 * Replies decided under the store lock are queued in the thread's outbox
 * and sent once the lock is released (mpsd_server_flush): a send is a
 * system call, and making it under the lock made every other nng thread
 * wait for it.
 */
typedef struct outbox {
	mpsd_req **r;
	nng_msg  **m;
	size_t     n, cap;
	int        on;
} outbox;

static _Thread_local outbox tl_out;

void mpsd_server_hold(void)
{
	tl_out.on = 1;
}

static void reply_now(mpsd_daemon *d, mpsd_req *r, nng_msg *msg);

void mpsd_server_flush(mpsd_daemon *d)
{
	tl_out.on = 0;
	for (size_t i = 0; i < tl_out.n; i++)
		reply_now(d, tl_out.r[i], tl_out.m[i]);
	tl_out.n = 0;
	if (tl_out.cap > 256) { /* a burst: give the memory back */
		free(tl_out.r);
		free(tl_out.m);
		tl_out.r = NULL;
		tl_out.m = NULL;
		tl_out.cap = 0;
	}
}

void mpsd_server_reply(mpsd_daemon *d, mpsd_req *r, nng_msg *msg)
{
	if (tl_out.on) {
		if (tl_out.n == tl_out.cap) {
			size_t     ncap = tl_out.cap ? tl_out.cap * 2 : 32;
			mpsd_req **nr = realloc(tl_out.r, ncap * sizeof(*nr));
			if (nr != NULL)
				tl_out.r = nr;
			nng_msg **nm = nr != NULL ? realloc(tl_out.m, ncap * sizeof(*nm)) : NULL;
			if (nm != NULL) {
				tl_out.m = nm;
				tl_out.cap = ncap;
			}
		}
		if (tl_out.n < tl_out.cap) {
			tl_out.r[tl_out.n] = r;
			tl_out.m[tl_out.n++] = msg;
			return;
		}
	}
	reply_now(d, r, msg); /* out of memory for the queue: send at once */
}

static void reply_now(mpsd_daemon *d, mpsd_req *r, nng_msg *msg)
{
	if (!send_begin(d)) {
		nng_msg_free(msg);
		return;
	}
	/* the context is reused only once the send is done (send_done):
	 * nothing here ever waits */
	nng_aio_set_msg(r->saio, msg);
	nng_ctx_send(r->ctx, r->saio);
	send_end(d);
	mpsd_server *s = d->srv;
	pthread_mutex_lock(&s->mtx);
	if (send_done(r)) {
		r->next_free = s->free;
		s->free = r;
	} else {
		r->next_free = s->sending;
		s->sending = r;
	}
	pthread_mutex_unlock(&s->mtx);
}

void mpsd_server_abandon(mpsd_daemon *d, mpsd_req *r)
{
	mpsd_server *s = d->srv;
	if (d->stopping)
		return;
	pthread_mutex_lock(&s->mtx);
	r->next_free = s->free;
	s->free = r;
	pthread_mutex_unlock(&s->mtx);
}

mpsd_req *mpsd_server_req_of(void *worker) { return worker; }

void mpsd_server_contexts(mpsd_daemon *d, size_t *all, size_t *sending)
{
	mpsd_server *s = d->srv;
	*all = *sending = 0;
	if (s == NULL)
		return;
	pthread_mutex_lock(&s->mtx);
	reap_sending(s); /* count only the replies still queued */
	*all = s->nall;
	for (mpsd_req *r = s->sending; r != NULL; r = r->next_free)
		(*sending)++;
	pthread_mutex_unlock(&s->mtx);
}

int mpsd_server_subscribers(mpsd_daemon *d)
{
	mpsd_server *s = d->srv;
	return s != NULL && s->pub_open ? __atomic_load_n(&s->nsubs, __ATOMIC_RELAXED) : 0;
}

void mpsd_server_publish_msg(mpsd_daemon *d, nng_msg *m)
{
	mpsd_server *s = d->srv;
	if (s == NULL || !s->pub_open || !send_begin(d)) {
		nng_msg_free(m);
		return;
	}
	if (nng_sendmsg(s->pub, m, NNG_FLAG_NONBLOCK) != 0)
		nng_msg_free(m);
	send_end(d);
}

static void pub_pipe_cb(nng_pipe p, nng_pipe_ev ev, void *arg)
{
	mpsd_server *s = arg;
	(void)p;
	__atomic_add_fetch(&s->nsubs, ev == NNG_PIPE_EV_ADD_POST ? 1 : -1, __ATOMIC_RELAXED);
}

void mpsd_server_publish(mpsd_daemon *d, const char *name, const uint8_t *data, size_t len)
{
	mpsd_server *s = d->srv;
	if (s == NULL || !s->pub_open)
		return;
	nng_msg *m;
	size_t   n = strlen(name) + 1;
	if (nng_msg_alloc(&m, n + len) != 0)
		return;
	memcpy(nng_msg_body(m), name, n);
	memcpy((char *)nng_msg_body(m) + n, data, len);
	mpsd_server_publish_msg(d, m);
}

/* ---- sessions end with their connection ---- */

static void session_gone_cb(void *arg, uint64_t sid)
{
	mpsd_daemon *d = arg;
	if (d->cfg.verbose)
		mpsd_log("session %016llx ended", (unsigned long long)sid);
	mpsd_dispatch_session_gone(d, sid);
}

static void pipe_cb(nng_pipe p, nng_pipe_ev ev, void *arg)
{
	mpsd_daemon *d = arg;
	if (ev != NNG_PIPE_EV_REM_POST || d->stopping)
		return;
	mpsd_server_hold();
	mpsd_store_lock(d->st);
	mpsd_sessions_reap(d->sess, nng_pipe_id(p), mpsd_now_ms(), 0, session_gone_cb, d);
	mpsd_store_unlock(d->st);
	mpsd_server_flush(d);
}

/* ---- clock: deadlines of parked ops and session leases ---- */

static void *clock_main(void *arg)
{
	mpsd_daemon *d = arg;
	mpsd_server *s = d->srv;
	int64_t      next_lease = 0, next_beat = 0;
	pthread_mutex_lock(&s->cmtx);
	while (s->clock_run) {
		pthread_mutex_unlock(&s->cmtx);
		mpsd_server_hold();
		mpsd_store_lock(d->st);
		int64_t now = mpsd_now_ms();
		mpsd_store_expire(d->st, now, mpsd_dispatch_resume);
		if (now >= next_lease) {
			mpsd_sessions_reap(d->sess, 0, now, d->cfg.lease_ms, session_gone_cb, d);
			next_lease = now + 200;
		}
		if (now >= next_beat) {
			mpsd_commit_heartbeat(d);
			next_beat = now + 500;
		}
		int64_t next = mpsd_store_next_deadline(d->st);
		mpsd_store_unlock(d->st);
		mpsd_server_flush(d);
		if (next > next_lease)
			next = next_lease;
		pthread_mutex_lock(&s->cmtx);
		if (!s->clock_kick && s->clock_run) {
			int64_t         wait = next - mpsd_now_ms();
			struct timespec ts;
			clock_gettime(CLOCK_MONOTONIC, &ts);
			if (wait < 0)
				wait = 0;
			ts.tv_sec += wait / 1000;
			ts.tv_nsec += (wait % 1000) * 1000000L;
			if (ts.tv_nsec >= 1000000000L) {
				ts.tv_sec++;
				ts.tv_nsec -= 1000000000L;
			}
			pthread_cond_timedwait(&s->ccond, &s->cmtx, &ts);
		}
		s->clock_kick = 0;
	}
	pthread_mutex_unlock(&s->cmtx);
	return NULL;
}

void mpsd_server_wake_clock(mpsd_daemon *d)
{
	mpsd_server *s = d->srv;
	if (s == NULL)
		return;
	pthread_mutex_lock(&s->cmtx);
	s->clock_kick = 1;
	pthread_cond_signal(&s->ccond);
	pthread_mutex_unlock(&s->cmtx);
}

/* ---- listener watchdog ----
 *
 * nng 1.5.2 (Debian 12) has a bug (nng issue #1518, fixed after 1.5.2): a
 * peer that connects and closes before the SP handshake completes makes
 * the listener stop accepting for good. A port scanner or a client killed
 * while connecting would cut every later client off. So every second the
 * daemon dials each of its own listeners; when two probes in a row get no
 * connection, the listener is closed and opened again (its connections
 * are dropped; clients reconnect and re-send by themselves).
 */

static int listen_one(mpsd_daemon *d, nng_socket sock, const char *url, char *err, size_t errlen);

/* The URL a local client dials to reach a listener on url. */
static void dial_url(const char *url, char *out, size_t len)
{
	const char *p = strstr(url, "://");
	snprintf(out, len, "%s", url);
	if (p == NULL || strncmp(url, "tcp", 3) != 0)
		return;
	const char *host = p + 3;
	const char *port = strrchr(host, ':');
	if (port == NULL)
		return;
	size_t hl = (size_t)(port - host);
	if (hl == 0 || (hl == 1 && host[0] == '*') || (hl == 7 && strncmp(host, "0.0.0.0", 7) == 0))
		snprintf(out, len, "%.*s127.0.0.1%s", (int)(host - url), url, port);
	else if (hl == 4 && strncmp(host, "[::]", 4) == 0)
		snprintf(out, len, "%.*s[::1]%s", (int)(host - url), url, port);
}

/* A new connection to url gets an answer: a ping reply from the REP
 * socket, a heartbeat from the PUB socket. 1: alive, 0: stuck. */
static int probe_once(const char *url, int is_pub)
{
	char       durl[300];
	nng_socket ps;
	int        rv;
	dial_url(url, durl, sizeof(durl));
	if ((is_pub ? nng_sub0_open(&ps) : nng_req0_open(&ps)) != 0)
		return 1; /* cannot judge: count as alive */
	nng_socket_set_ms(ps, NNG_OPT_RECVTIMEO, 1000);
	nng_socket_set_ms(ps, NNG_OPT_SENDTIMEO, 1000);
	nng_socket_set_ms(ps, NNG_OPT_RECONNMINT, 50);
	if (is_pub)
		nng_socket_set(ps, NNG_OPT_SUB_SUBSCRIBE, "", 1);
	if ((rv = nng_dial(ps, durl, NULL, NNG_FLAG_NONBLOCK)) != 0) {
		nng_close(ps);
		return 1;
	}
	if (!is_pub) {
		/* Request{version: 1, id: 1, ops: [{code: OP_PING}]} */
		static const uint8_t ping[] = {0x08, 0x01, 0x10, 0x01, 0x22, 0x02, 0x08, 0x02};
		if (nng_send(ps, (void *)ping, sizeof(ping), 0) != 0) {
			nng_close(ps);
			return 0;
		}
	}
	nng_msg *m = NULL;
	rv = nng_recvmsg(ps, &m, 0);
	if (m != NULL)
		nng_msg_free(m);
	nng_close(ps);
	return rv == 0;
}

static void *watchdog_main(void *arg)
{
	mpsd_daemon *d = arg;
	mpsd_server *s = d->srv;
	for (;;) {
		pthread_mutex_lock(&s->wmtx);
		struct timespec ts;
		clock_gettime(CLOCK_MONOTONIC, &ts);
		ts.tv_sec += 1;
		while (s->wd_run && pthread_cond_timedwait(&s->wcond, &s->wmtx, &ts) == 0)
			;
		int run = s->wd_run;
		pthread_mutex_unlock(&s->wmtx);
		if (!run)
			break;
		for (int i = 0; i < s->nlsn; i++) {
			struct lsn *l = &s->lsn[i];
			if (strncmp(l->url, "tls+", 4) == 0 || l->is_pub)
				continue; /* TLS: a probe would need the daemon's CA. PUB:
				           * closing a probing SUB socket can hang in nng
				           * 1.5.2; a stuck PUB listener costs watchers only
				           * latency (they catch up with OP_CHANGES) */
			if (probe_once(l->url, l->is_pub)) {
				l->fails = 0;
				continue;
			}
			if (++l->fails < 2)
				continue;
			char err[300] = "";
			mpsd_log("listener %s stopped accepting connections (nng 1.5.2 bug #1518); "
			         "restarting it", l->url);
			nng_listener_close(l->l);
			if (listen_one(d, l->sock, l->url, err, sizeof(err)) != 0)
				mpsd_log("restarting listener %s failed: %s", l->url, err);
			l->fails = 0;
		}
	}
	pthread_mutex_lock(&s->wmtx);
	s->wd_done = 1;
	pthread_cond_broadcast(&s->wcond);
	pthread_mutex_unlock(&s->wmtx);
	return NULL;
}

/* ---- start / stop ---- */

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "rb");
	if (f == NULL)
		return NULL;
	char  *buf = NULL;
	size_t len = 0, cap = 0;
	for (;;) {
		if (len + 4096 + 1 > cap) {
			cap = cap ? cap * 2 : 8192;
			char *n = realloc(buf, cap);
			if (n == NULL)
				break;
			buf = n;
		}
		size_t k = fread(buf + len, 1, cap - len - 1, f);
		len += k;
		if (k == 0)
			break;
	}
	fclose(f);
	if (buf != NULL)
		buf[len] = '\0';
	return buf;
}

/* Load a PEM certificate and key into a server TLS config. */
static int load_cert(nng_tls_config *tls, const char *cert, const char *key, char *err,
    size_t errlen)
{
	char *c = slurp(cert), *k = slurp(key);
	int   rv = -1;
	if (c == NULL || k == NULL)
		snprintf(err, errlen, "cannot read %s: %s", c == NULL ? cert : key, strerror(errno));
	else if ((rv = nng_tls_config_own_cert(tls, c, k, NULL)) != 0)
		snprintf(err, errlen, "bad TLS certificate or key (%s, %s): %s", cert, key,
		    nng_strerror(rv));
	free(c);
	free(k);
	return rv;
}

static int listen_one(mpsd_daemon *d, nng_socket sock, const char *url, char *err, size_t errlen)
{
	nng_listener l;
	int          rv = nng_listener_create(&l, sock, url);
	if (rv == 0 && strncmp(url, "tls+", 4) == 0) {
		nng_tls_config *tls = NULL;
		if (d->cfg.tls_cert == NULL) {
			snprintf(err, errlen, "%s needs --tls-cert and --tls-key", url);
			return -1;
		}
		rv = nng_tls_config_alloc(&tls, NNG_TLS_MODE_SERVER);
		if (rv == 0)
			rv = load_cert(tls, d->cfg.tls_cert, d->cfg.tls_key, err, errlen);
		if (rv == 0)
			rv = nng_listener_set_ptr(l, NNG_OPT_TLS_CONFIG, tls);
		if (tls != NULL)
			nng_tls_config_free(tls); /* the listener holds its own reference */
		if (rv != 0) {
			if (err[0] == '\0')
				snprintf(err, errlen, "TLS set-up for %s failed: %s", url, nng_strerror(rv));
			return -1;
		}
	}
	if (rv == 0)
		rv = nng_listener_start(l, 0);
	if (rv == 0) {
		mpsd_server *s = d->srv;
		for (int i = 0; i < s->nlsn; i++)
			if (s->lsn[i].url == url) { /* a restart by the watchdog */
				s->lsn[i].l = l;
				return 0;
			}
		if (s->nlsn < MPSD_MAX_LISTEN + 1)
			s->lsn[s->nlsn++] = (struct lsn){l, sock, url, sock.id == s->pub.id && s->pub_open, 0};
		return 0;
	}
	const char *why = nng_strerror(rv);
	if (rv == NNG_EADDRINUSE)
		why = "address in use (is another mpstored running?)";
	else if (rv == NNG_EADDRINVAL || rv == NNG_EINVAL)
		why = "invalid address";
	else if (rv == NNG_ENOTSUP)
		why = "unsupported transport (use ipc://, tcp:// or tls+tcp://)";
	snprintf(err, errlen, "cannot listen on %s: %s", url, why);
	return -1;
}

int mpsd_server_start(mpsd_daemon *d, char *err, size_t errlen)
{
	mpsd_server *s = calloc(1, sizeof(*s));
	if (s == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	d->srv = s;
	pthread_mutex_init(&s->mtx, NULL);
	pthread_rwlock_init(&s->slk, NULL);
	pthread_mutex_init(&s->cmtx, NULL);
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&s->ccond, &ca);
	pthread_cond_init(&s->wcond, &ca);
	pthread_condattr_destroy(&ca);
	pthread_mutex_init(&s->wmtx, NULL);
	int rv;
	if ((rv = nng_rep0_open(&s->rep)) != 0) {
		snprintf(err, errlen, "cannot open REP socket: %s", nng_strerror(rv));
		return -1;
	}
	s->rep_open = 1;
	nng_socket_set_size(s->rep, NNG_OPT_RECVMAXSZ, d->cfg.max_msg);
	nng_pipe_notify(s->rep, NNG_PIPE_EV_REM_POST, pipe_cb, d);
	for (int i = 0; i < d->cfg.nlisten; i++)
		if (listen_one(d, s->rep, d->cfg.listen[i], err, errlen) != 0)
			return -1;
	if (d->cfg.pub_url != NULL && d->cfg.pub_url[0] != '\0') {
		if ((rv = nng_pub0_open(&s->pub)) != 0) {
			snprintf(err, errlen, "cannot open PUB socket: %s", nng_strerror(rv));
			return -1;
		}
		s->pub_open = 1;
		nng_socket_set_int(s->pub, NNG_OPT_SENDBUF, 8192);
		nng_pipe_notify(s->pub, NNG_PIPE_EV_ADD_POST, pub_pipe_cb, s);
		nng_pipe_notify(s->pub, NNG_PIPE_EV_REM_POST, pub_pipe_cb, s);
		if (listen_one(d, s->pub, d->cfg.pub_url, err, errlen) != 0)
			return -1;
	}
	s->wd_run = 1;
	s->wd_started = 1;
	if (pthread_create(&s->wd, NULL, watchdog_main, d) != 0) {
		s->wd_started = 0;
		s->wd_run = 0;
		snprintf(err, errlen, "cannot start the listener watchdog");
		return -1;
	}
	s->clock_run = 1;
	if (pthread_create(&s->clock, NULL, clock_main, d) != 0) {
		s->clock_run = 0;
		snprintf(err, errlen, "cannot start the clock thread");
		return -1;
	}
	for (int i = 0; i < d->cfg.contexts; i++) {
		mpsd_req *r = req_new(d);
		if (r == NULL) {
			snprintf(err, errlen, "cannot open REP contexts");
			return -1;
		}
		post_recv(r);
	}
	return 0;
}

/*
 * nng 1.5.2 can hang in nng_close of the REP socket (seen, rarely, right
 * after clients left whose replies had queued). The rest of the shutdown
 * (the final snapshot) must not wait for it: the sockets are closed on a
 * thread of their own, given 5 s, and otherwise left to the process exit.
 */
typedef struct closer {
	nng_socket      rep, pub;
	int             rep_open, pub_open, done;
	pthread_mutex_t mtx;
	pthread_cond_t  cv;
} closer;

static void *closer_main(void *arg)
{
	closer *k = arg;
	if (k->rep_open)
		nng_close(k->rep);
	if (k->pub_open)
		nng_close(k->pub);
	pthread_mutex_lock(&k->mtx);
	k->done = 1;
	pthread_cond_signal(&k->cv);
	pthread_mutex_unlock(&k->mtx);
	return NULL;
}

/* 0 when both sockets are closed; -1 when nng is stuck closing them. */
static int close_sockets(mpsd_server *s)
{
	closer *k = calloc(1, sizeof(*k));
	if (k == NULL) { /* no memory for a helper: close here and hope */
		if (s->rep_open)
			nng_close(s->rep);
		if (s->pub_open)
			nng_close(s->pub);
		return 0;
	}
	k->rep = s->rep;
	k->pub = s->pub;
	k->rep_open = s->rep_open;
	k->pub_open = s->pub_open;
	pthread_mutex_init(&k->mtx, NULL);
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&k->cv, &ca);
	pthread_condattr_destroy(&ca);
	pthread_t t;
	int       started = pthread_create(&t, NULL, closer_main, k) == 0;
	if (!started)
		closer_main(k); /* no thread: close here */
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	ts.tv_sec += 5;
	pthread_mutex_lock(&k->mtx);
	while (!k->done && pthread_cond_timedwait(&k->cv, &k->mtx, &ts) == 0)
		;
	int done = k->done;
	pthread_mutex_unlock(&k->mtx);
	if (!done) {
		pthread_detach(t); /* k stays with it */
		return -1;
	}
	if (started)
		pthread_join(t, NULL);
	pthread_mutex_destroy(&k->mtx);
	pthread_cond_destroy(&k->cv);
	free(k);
	return 0;
}

int mpsd_server_stuck(mpsd_daemon *d) { return d->srv != NULL && d->srv->stuck; }

void mpsd_server_stop(mpsd_daemon *d)
{
	mpsd_server *s = d->srv;
	if (s == NULL)
		return;
	pthread_rwlock_wrlock(&s->slk);
	d->stopping = 1;
	pthread_rwlock_unlock(&s->slk);
	if (s->wd_run) {
		/* a probe blocked inside nng must not hold up the shutdown: wait
		 * for the watchdog a little, then leave it to the process exit */
		pthread_mutex_lock(&s->wmtx);
		s->wd_run = 0;
		pthread_cond_broadcast(&s->wcond);
		struct timespec ts;
		clock_gettime(CLOCK_MONOTONIC, &ts);
		ts.tv_sec += 3;
		while (!s->wd_done && pthread_cond_timedwait(&s->wcond, &s->wmtx, &ts) == 0)
			;
		int done = s->wd_done;
		pthread_mutex_unlock(&s->wmtx);
		if (done)
			pthread_join(s->wd, NULL);
		else
			pthread_detach(s->wd);
	}
	if (s->clock_run) {
		pthread_mutex_lock(&s->cmtx);
		s->clock_run = 0;
		pthread_cond_signal(&s->ccond);
		pthread_mutex_unlock(&s->cmtx);
		pthread_join(s->clock, NULL);
	}
	if (close_sockets(s) != 0) {
		mpsd_log("nng did not close its sockets within 5 s (an nng 1.5.2 hang); "
		         "leaving them to the process exit");
		s->stuck = 1;
		return; /* its threads may still use the contexts: nothing is freed */
	}
	for (mpsd_req *r = s->all; r != NULL; r = r->next_all) {
		nng_aio_stop(r->raio);
		nng_aio_stop(r->saio);
	}
}

void mpsd_server_free(mpsd_daemon *d)
{
	mpsd_server *s = d->srv;
	if (s == NULL)
		return;
	pthread_mutex_lock(&s->wmtx);
	int wd_alive = s->wd_started && !s->wd_done;
	pthread_mutex_unlock(&s->wmtx);
	if (wd_alive || s->stuck)
		return; /* the watchdog or nng may still wake up in here: left to exit */
	mpsd_req *r = s->all;
	while (r != NULL) {
		mpsd_req *n = r->next_all;
		nng_aio_free(r->raio);
		nng_aio_free(r->saio);
		mpsd_arena_fini(&r->arena);
		free(r);
		r = n;
	}
	pthread_mutex_destroy(&s->mtx);
	pthread_rwlock_destroy(&s->slk);
	free(s);
	d->srv = NULL;
}
