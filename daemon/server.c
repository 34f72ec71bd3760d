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
#include <nng/protocol/reqrep0/rep.h>

#include "req.h"
#include "session.h"

#define MPSD_MAX_CONTEXTS 200000

struct mpsd_server {
	nng_socket      rep, pub;
	int             rep_open, pub_open;
	pthread_mutex_t mtx;     /* free list and counters */
	mpsd_req       *free;
	mpsd_req       *all;
	size_t          nall;
	/* clock thread */
	pthread_t       clock;
	pthread_mutex_t cmtx;
	pthread_cond_t  ccond;
	int             clock_run, clock_kick;
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

static mpsd_req *req_new(mpsd_daemon *d)
{
	mpsd_server *s = d->srv;
	mpsd_req    *r = NULL;
	pthread_mutex_lock(&s->mtx);
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
	/* somebody else receives while this request is handled */
	mpsd_req *n = req_new(d);
	if (n != NULL)
		post_recv(n);
	else
		mpsd_log("out of contexts: %d in use", MPSD_MAX_CONTEXTS);
	mpsd_dispatch(d, r, m);
}

void mpsd_server_reply(mpsd_daemon *d, mpsd_req *r, nng_msg *msg)
{
	nng_aio_wait(r->saio); /* the previous reply of this context */
	nng_aio_set_msg(r->saio, msg);
	nng_ctx_send(r->ctx, r->saio);
	mpsd_server_abandon(d, r);
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
	if (nng_sendmsg(s->pub, m, NNG_FLAG_NONBLOCK) != 0)
		nng_msg_free(m);
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
	mpsd_store_lock(d->st);
	mpsd_sessions_reap(d->sess, nng_pipe_id(p), mpsd_now_ms(), 0, session_gone_cb, d);
	mpsd_store_unlock(d->st);
}

/* ---- clock: deadlines of parked ops and session leases ---- */

static void *clock_main(void *arg)
{
	mpsd_daemon *d = arg;
	mpsd_server *s = d->srv;
	int64_t      next_lease = 0;
	pthread_mutex_lock(&s->cmtx);
	while (s->clock_run) {
		pthread_mutex_unlock(&s->cmtx);
		mpsd_store_lock(d->st);
		int64_t now = mpsd_now_ms();
		mpsd_store_expire(d->st, now, mpsd_dispatch_resume);
		if (now >= next_lease) {
			mpsd_sessions_reap(d->sess, 0, now, d->cfg.lease_ms, session_gone_cb, d);
			next_lease = now + 200;
		}
		int64_t next = mpsd_store_next_deadline(d->st);
		mpsd_store_unlock(d->st);
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

/* ---- start / stop ---- */

static int listen_one(nng_socket sock, const char *url, char *err, size_t errlen)
{
	int rv = nng_listen(sock, url, NULL, 0);
	if (rv == 0)
		return 0;
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
	pthread_mutex_init(&s->cmtx, NULL);
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&s->ccond, &ca);
	pthread_condattr_destroy(&ca);
	int rv;
	if ((rv = nng_rep0_open(&s->rep)) != 0) {
		snprintf(err, errlen, "cannot open REP socket: %s", nng_strerror(rv));
		return -1;
	}
	s->rep_open = 1;
	nng_socket_set_size(s->rep, NNG_OPT_RECVMAXSZ, d->cfg.max_msg);
	nng_pipe_notify(s->rep, NNG_PIPE_EV_REM_POST, pipe_cb, d);
	for (int i = 0; i < d->cfg.nlisten; i++)
		if (listen_one(s->rep, d->cfg.listen[i], err, errlen) != 0)
			return -1;
	if (d->cfg.pub_url != NULL && d->cfg.pub_url[0] != '\0') {
		if ((rv = nng_pub0_open(&s->pub)) != 0) {
			snprintf(err, errlen, "cannot open PUB socket: %s", nng_strerror(rv));
			return -1;
		}
		s->pub_open = 1;
		nng_socket_set_int(s->pub, NNG_OPT_SENDBUF, 8192);
		if (listen_one(s->pub, d->cfg.pub_url, err, errlen) != 0)
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

void mpsd_server_stop(mpsd_daemon *d)
{
	mpsd_server *s = d->srv;
	if (s == NULL)
		return;
	d->stopping = 1;
	if (s->clock_run) {
		pthread_mutex_lock(&s->cmtx);
		s->clock_run = 0;
		pthread_cond_signal(&s->ccond);
		pthread_mutex_unlock(&s->cmtx);
		pthread_join(s->clock, NULL);
	}
	if (s->rep_open)
		nng_close(s->rep);
	if (s->pub_open)
		nng_close(s->pub);
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
	free(s);
	d->srv = NULL;
}
