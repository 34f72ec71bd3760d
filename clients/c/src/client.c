/* client.c - the handle: socket, contexts for synchronous calls, hello,
 * keepalive. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>
#include <time.h>

#include "mps_int.h"
#include "wire.h"

#include <nng/protocol/reqrep0/req.h>

#define MPS__DEFAULT_TIMEOUT_MS 5000
/* Extra wait beyond a blocking op's own timeout, for the daemon's answer. */
#define MPS__MARGIN_MS 2000

/* An idle context for synchronous calls: a REQ context and two aios
 * without callbacks (send, receive). */
struct mps__slot {
	mps__slot *next;
	nng_ctx    ctx;
	nng_aio   *send;
	nng_aio   *recv;
};

static void
slot_free(mps__slot *s)
{
	if (s == NULL) {
		return;
	}
	nng_aio_free(s->send);
	nng_aio_free(s->recv);
	nng_ctx_close(s->ctx);
	free(s);
}

static mps_err
slot_get(mps_client *c, mps__slot **out)
{
	pthread_mutex_lock(&c->mtx);
	if (c->closed) {
		pthread_mutex_unlock(&c->mtx);
		return mps__fail(MPS_ERR_CLOSED, "client is closed");
	}
	mps__slot *s = c->slots;
	if (s != NULL) {
		c->slots = s->next;
	}
	pthread_mutex_unlock(&c->mtx);
	if (s != NULL) {
		*out = s;
		return MPS_OK;
	}
	s = calloc(1, sizeof(*s));
	if (s == NULL) {
		return mps__fail(MPS_ERR_NOMEM, "out of memory");
	}
	int rv;
	if ((rv = nng_ctx_open(&s->ctx, c->sock)) != 0) {
		free(s);
		return mps__from_nng(rv);
	}
	if ((rv = nng_aio_alloc(&s->send, NULL, NULL)) != 0 ||
	    (rv = nng_aio_alloc(&s->recv, NULL, NULL)) != 0) {
		slot_free(s);
		return mps__from_nng(rv);
	}
	*out = s;
	return MPS_OK;
}

static void
slot_put(mps_client *c, mps__slot *s)
{
	pthread_mutex_lock(&c->mtx);
	s->next  = c->slots;
	c->slots = s;
	pthread_mutex_unlock(&c->mtx);
}

void
mps__request_init(mps_client *c, Mpstore__Request *req)
{
	mpstore__request__init(req);
	req->version   = MPS_PROTOCOL_VERSION;
	req->id        = atomic_fetch_add(&c->next_id, 1);
	req->client_id = c->client_id;
}

mps_err
mps__pack(const Mpstore__Request *req, nng_msg **msg)
{
	/* the hand-written encoder (wire.h); small requests stay on the stack */
	uint8_t mem[1024];
	mpw_buf buf;
	int     rv;
	mpw_init(&buf, mem, sizeof(mem));
	if (mpw_request(&buf, req) != 0) {
		mpw_fini(&buf);
		return mps__fail(MPS_ERR_NOMEM, "out of memory encoding a request");
	}
	size_t n = mpw_len(&buf);
	if (*msg != NULL) {
		nng_msg_header_clear(*msg);
		rv = nng_msg_realloc(*msg, n);
	} else {
		rv = nng_msg_alloc(msg, n);
	}
	if (rv == 0) {
		memcpy(nng_msg_body(*msg), mpw_data(&buf), n);
	}
	mpw_fini(&buf);
	return rv == 0 ? MPS_OK : mps__from_nng(rv);
}

nng_duration
mps__recv_timeout(const mps_client *c, int64_t op_timeout_ms)
{
	if (op_timeout_ms < 0) {
		return NNG_DURATION_INFINITE;
	}
	int64_t t = (int64_t) c->timeout_ms;
	if (op_timeout_ms > 0) {
		t += op_timeout_ms + MPS__MARGIN_MS;
	}
	if (t > INT32_MAX) {
		return NNG_DURATION_INFINITE;
	}
	return (nng_duration) t;
}

mps_err
mps__roundtrip(mps_client *c, nng_msg *req, nng_duration timeout, nng_msg **reply)
{
	mps__slot *s = NULL;
	mps_err    e = slot_get(c, &s);
	if (e != MPS_OK) {
		nng_msg_free(req);
		return e;
	}
	/* Post the receive right after the send: the REQ context holds the
	 * request from nng_ctx_send on, and the receive completes with the
	 * reply (or our timeout, which also cancels the request). */
	nng_aio_set_msg(s->send, req);
	nng_ctx_send(s->ctx, s->send);
	nng_aio_set_timeout(s->recv, timeout);
	nng_ctx_recv(s->ctx, s->recv);
	nng_aio_wait(s->recv);
	int rv = nng_aio_result(s->recv);
	if (rv != 0) {
		/* the send may still be pending (not connected): cancel it */
		nng_aio_cancel(s->send);
	}
	nng_aio_wait(s->send);
	if (nng_aio_result(s->send) != 0) {
		nng_msg *m = nng_aio_get_msg(s->send);
		if (m != NULL) {
			nng_msg_free(m);
		}
		nng_aio_set_msg(s->send, NULL);
		if (rv == 0) {
			rv = nng_aio_result(s->send);
		}
	}
	if (rv != 0) {
		if (rv == NNG_ECLOSED) {
			slot_free(s);
		} else {
			slot_put(c, s);
		}
		return mps__from_nng(rv);
	}
	*reply = nng_aio_get_msg(s->recv);
	nng_aio_set_msg(s->recv, NULL);
	slot_put(c, s);
	return MPS_OK;
}

mps_err
mps__decode(nng_msg *reply, mps__arena *a, Mpstore__Response **resp)
{
	Mpstore__Response *r =
	    mpw_response_unpack(&a->pa, nng_msg_len(reply), nng_msg_body(reply));
	if (r == NULL) {
		return mps__fail(MPS_ERR_PROTOCOL, "cannot decode the daemon's reply (%zu bytes)",
		    nng_msg_len(reply));
	}
	*resp = r;
	if (r->status != MPSTORE__STATUS__OK) {
		return mps__fail((mps_err) r->status, "%s",
		    r->error != NULL && r->error[0] ? r->error : mps_strerror((int) r->status));
	}
	return MPS_OK;
}

/* ---- keepalive ---- */

static void *
keepalive_main(void *arg)
{
	mps_client *c      = arg;
	uint64_t    period = c->server.lease_ms / 3;
	if (period < 10) {
		period = 10;
	}
	pthread_mutex_lock(&c->mtx);
	while (!c->ka_stop) {
		struct timespec ts;
		clock_gettime(CLOCK_MONOTONIC, &ts);
		ts.tv_sec += (time_t) (period / 1000);
		ts.tv_nsec += (long) (period % 1000) * 1000000L;
		if (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
		int rv = 0;
		while (!c->ka_stop && rv != ETIMEDOUT) {
			rv = pthread_cond_timedwait(&c->ka_cv, &c->mtx, &ts);
		}
		if (c->ka_stop) {
			break;
		}
		pthread_mutex_unlock(&c->mtx);
		(void) mps_ping(c); /* failures: the next ping tries again */
		pthread_mutex_lock(&c->mtx);
	}
	pthread_mutex_unlock(&c->mtx);
	return NULL;
}

/* ---- fork ---- */

/* nng 1.5.2 panics ("nng is not fork-reentrant safe") when a forked child
 * of a process that used it calls into it again; refuse politely instead. */
static pthread_once_t mps__fork_once = PTHREAD_ONCE_INIT;
static volatile int   mps__forked;

static void
mps__atfork_child(void)
{
	mps__forked = 1;
}

static void
mps__fork_init(void)
{
	pthread_atfork(NULL, NULL, mps__atfork_child);
}

/* ---- open / close ---- */

static mps_err
hello(mps_client *c)
{
	/* who we are, for `mpstore clients` and monitor: $MPSTORE_CLIENT_NAME,
	 * else the program's name; and the pid (a forked child says its own) */
	extern char *program_invocation_short_name; /* glibc's, <errno.h> with _GNU_SOURCE */
	const char  *name = getenv("MPSTORE_CLIENT_NAME");
	mps_op       op = {.code = MPS_OP_HELLO, .count = (int64_t) getpid(),
	          .name = name != NULL && name[0] != '\0' ? name : program_invocation_short_name};
	mps__call call;
	char      nonce[80] = "";
	mps_err   e = mps__call_op(c, &op, &call);
	if (e == MPS_OK) {
		mps_value v;
		mps__pv_view(call.res->value, &v);
		c->version = v.type == MPS_STRING ? strndup(v.u.s.ptr, v.u.s.len) : strdup("");
		if (c->version == NULL) {
			e = mps__fail(MPS_ERR_NOMEM, "out of memory");
		}
		c->server.version          = c->version != NULL ? c->version : "";
		c->server.protocol_version = call.res->count;
		c->server.lease_ms         = call.res->token;
		c->server.revision         = call.res->revision;
		for (size_t i = 0; e == MPS_OK && i < call.res->n_values; i++) {
			const Mpstore__Value *pv = call.res->values[i];
			if (pv->v_case == MPSTORE__VALUE__V_STRING_VALUE &&
			    strncmp(pv->string_value, "pub=", 4) == 0 && c->pub_url == NULL) {
				c->pub_url = strdup(pv->string_value + 4);
				c->server.pub_url = c->pub_url;
			}
			if (pv->v_case == MPSTORE__VALUE__V_STRING_VALUE &&
			    strncmp(pv->string_value, "nonce=", 6) == 0)
				snprintf(nonce, sizeof(nonce), "%s", pv->string_value + 6);
		}
	}
	mps__call_fini(&call);
	if (e == MPS_OK && nonce[0] != '\0') {
		if (!c->has_auth)
			return mps__fail(MPS_ERR_AUTH, "the daemon needs an auth key "
			                 "($MPSTORE_AUTH_KEY or mps_open_auth)");
		e = mps__authenticate(c, nonce);
	}
	return e;
}

mps_err
mps_open_auth(mps_client **out, const char *url, int timeout_ms, const void *key, size_t keylen)
{
	mps_client *c;
	int         rv;
	mps_err     e;

	mps__clear_error();
	*out = NULL;
	if (mps__forked) {
		return mps__fail(MPS_ERR_INVALID,
		    "libmpstore cannot be used in a child forked after the parent used it "
		    "(nng is not fork-safe): fork before the first mps_open, or exec");
	}
	pthread_once(&mps__fork_once, mps__fork_init);
	if (url == NULL || url[0] == '\0') {
		url = getenv("MPSTORE_URL");
		if (url == NULL || url[0] == '\0') {
			url = MPS_DEFAULT_URL;
		}
	}
	if ((c = calloc(1, sizeof(*c))) == NULL) {
		return mps__fail(MPS_ERR_NOMEM, "out of memory");
	}
	c->timeout_ms = timeout_ms > 0 ? timeout_ms : MPS__DEFAULT_TIMEOUT_MS;
	if ((c->url = strdup(url)) == NULL) {
		free(c);
		return mps__fail(MPS_ERR_NOMEM, "out of memory");
	}
	atomic_init(&c->next_id, 1);
	pthread_mutex_init(&c->mtx, NULL);
	pthread_mutex_init(&c->cmtx, NULL);
	pthread_cond_init(&c->ccv, NULL);
	const char *co = getenv("MPSTORE_COALESCE");
	c->coalesce    = co == NULL || strcmp(co, "0") != 0;
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&c->ka_cv, &ca);
	pthread_condattr_destroy(&ca);

	while (c->client_id == 0) {
		if (getrandom(&c->client_id, sizeof(c->client_id), 0) != (ssize_t) sizeof(c->client_id)) {
			/* no entropy source: fall back on time and pid */
			struct timespec ts;
			clock_gettime(CLOCK_REALTIME, &ts);
			c->client_id = ((uint64_t) ts.tv_nsec << 32) ^ (uint64_t) ts.tv_sec ^
			    ((uint64_t) getpid() << 16) ^ (uint64_t) (uintptr_t) c;
		}
	}
	c->server.client_id = c->client_id;
	if (key != NULL && keylen > 0) {
		c->auth.data = malloc(keylen);
		if (c->auth.data == NULL) {
			e = mps__fail(MPS_ERR_NOMEM, "out of memory");
			goto fail_nosock;
		}
		memcpy(c->auth.data, key, keylen);
		c->auth.len  = keylen;
		c->has_auth  = 1;
	}

	if ((rv = nng_req0_open(&c->sock)) != 0) {
		e = mps__from_nng(rv);
		goto fail_nosock;
	}
	/* Our own timeouts; no resend timer waking nng's timer thread (the
	 * daemon dedupes what nng re-sends after a reconnect anyway). */
	nng_socket_set_ms(c->sock, NNG_OPT_REQ_RESENDTIME, NNG_DURATION_INFINITE);
	nng_socket_set_ms(c->sock, NNG_OPT_RECONNMINT, 20);
	nng_socket_set_ms(c->sock, NNG_OPT_RECONNMAXT, 1000);
	nng_socket_set_size(c->sock, NNG_OPT_RECVMAXSZ, 0); /* trust our daemon's replies */
	if ((rv = nng_dial(c->sock, url, NULL, 0)) != 0) {
		e = mps__fail(rv == NNG_ENOMEM ? MPS_ERR_NOMEM : MPS_ERR_CONNECT,
		    "cannot connect to %s: %s", url, nng_strerror(rv));
		goto fail;
	}
	if ((e = hello(c)) != MPS_OK) {
		if (e == MPS_ERR_TIMEOUT) {
			e = mps__fail(MPS_ERR_CONNECT, "no answer from %s within %d ms", url,
			    c->timeout_ms);
		}
		goto fail;
	}
	if (c->server.lease_ms > 0) {
		if (pthread_create(&c->ka_thread, NULL, keepalive_main, c) != 0) {
			e = mps__fail(MPS_ERR_NOMEM, "cannot start the keepalive thread");
			goto fail;
		}
		c->ka_running = 1;
	}
	mps__clear_error();
	*out = c;
	return MPS_OK;

fail:
	nng_close(c->sock);
fail_nosock:
	{
		char msg[512];
		snprintf(msg, sizeof(msg), "%s", mps_last_error());
		c->closed = 1;
		mps_close(c);
		mps__fail(e, "%s", msg);
	}
	return e;
}

mps_err
mps_open(mps_client **out, const char *url, int timeout_ms)
{
	/* like $MPSTORE_URL, the key may come from the environment */
	const char *key = getenv("MPSTORE_AUTH_KEY");
	if (key != NULL && key[0] != '\0')
		return mps_open_auth(out, url, timeout_ms, key, strlen(key));
	return mps_open_auth(out, url, timeout_ms, NULL, 0);
}

void
mps_close(mps_client *c)
{
	if (c == NULL || mps__forked) {
		/* in a forked child nng must not be touched: the parent's handle
		 * is abandoned (its memory is the child's copy) */
		return;
	}
	pthread_mutex_lock(&c->mtx);
	int was_closed = c->closed;
	c->closed      = 1;
	c->ka_stop     = 1;
	pthread_cond_broadcast(&c->ka_cv);
	pthread_mutex_unlock(&c->mtx);
	if (c->ka_running) {
		pthread_join(c->ka_thread, NULL);
	}
	if (!was_closed) {
		nng_close(c->sock); /* aborts everything in flight */
	}
	while (c->slots != NULL) {
		mps__slot *s = c->slots;
		c->slots     = s->next;
		slot_free(s);
	}
	pthread_cond_destroy(&c->ka_cv);
	pthread_mutex_destroy(&c->mtx);
	pthread_mutex_destroy(&c->cmtx);
	pthread_cond_destroy(&c->ccv);
	free(c->auth.data);
	free(c->version);
	free(c->pub_url);
	free(c->url);
	free(c);
}

const mps_server_info *
mps_server(const mps_client *c)
{
	return &c->server;
}

mps_err
mps_ping(mps_client *c)
{
	mps_op    op = {.code = MPS_OP_PING};
	mps__call call;
	mps_err   e = mps__call_op(c, &op, &call);
	mps__call_fini(&call);
	return e;
}

/* The PUB URL the daemon gave in its hello, fit to dial from here: a
 * wildcard TCP host (0.0.0.0, "*", [::] or none) takes the host of the URL
 * this client dialled. 1 when there is one. */
int
mps__hello_pub_url(const mps_client *c, char *out, size_t len)
{
	const char *pub = c->pub_url;
	if (pub == NULL || pub[0] == '\0') {
		return 0;
	}
	const char *hp = strstr(pub, "://");
	const char *port = hp != NULL ? strrchr(hp + 3, ':') : NULL;
	if (strncmp(pub, "tcp", 3) != 0 || port == NULL) {
		snprintf(out, len, "%s", pub);
		return 1;
	}
	size_t hl = (size_t)(port - (hp + 3));
	int    wild = hl == 0 || (hl == 1 && hp[3] == '*') ||
	           (hl == 7 && strncmp(hp + 3, "0.0.0.0", 7) == 0) ||
	           (hl == 4 && strncmp(hp + 3, "[::]", 4) == 0);
	const char *rq = c->url != NULL ? strstr(c->url, "://") : NULL;
	const char *rport = rq != NULL ? strrchr(rq + 3, ':') : NULL;
	if (!wild || rport == NULL) {
		snprintf(out, len, "%s", pub);
		return 1;
	}
	snprintf(out, len, "%.*s%.*s%s", (int)(hp + 3 - pub), pub, (int)(rport - (rq + 3)), rq + 3,
	    port);
	return 1;
}
