/* client.c - the handle: options, transport choice, hello, keepalive, and
 * what a forked child does with a handle its parent opened. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "sp_conn.h"
#include "transport.h"
#include "wire.h"

#define MPS__DEFAULT_TIMEOUT_MS 5000
/* Extra wait beyond a blocking op's own timeout, for the daemon's answer. */
#define MPS__MARGIN_MS 2000

mps_err
mps__null(const char *what)
{
	return mps__fail(MPS_ERR_INVALID, "%s: the handle is NULL", what);
}

static uint64_t
random_id(const void *salt)
{
	uint64_t id = 0;
	while (id == 0) {
		if (getrandom(&id, sizeof(id), 0) != (ssize_t) sizeof(id)) {
			/* no entropy source: fall back on time and pid */
			struct timespec ts;
			clock_gettime(CLOCK_REALTIME, &ts);
			id = ((uint64_t) ts.tv_nsec << 32) ^ (uint64_t) ts.tv_sec ^
			     ((uint64_t) getpid() << 16) ^ (uint64_t) (uintptr_t) salt;
		}
	}
	return id;
}

static mps_err after_fork(mps_client *c);

mps_err
mps__request_init(mps_client *c, Mpstore__Request *req)
{
	if (c == NULL) {
		return mps__null("request");
	}
	if (atomic_load_explicit(&c->forked, memory_order_acquire)) {
		mps_err e = after_fork(c);
		if (e != MPS_OK) {
			return e;
		}
	}
	mpstore__request__init(req);
	req->version   = MPS_PROTOCOL_VERSION;
	req->id        = atomic_fetch_add(&c->next_id, 1);
	req->client_id = c->client_id;
	return MPS_OK;
}

int64_t
mps__recv_timeout(const mps_client *c, int64_t op_timeout_ms)
{
	if (op_timeout_ms < 0) {
		return -1;
	}
	int64_t t = (int64_t) c->timeout_ms;
	if (op_timeout_ms > 0) {
		if (op_timeout_ms > INT64_MAX / 2) {
			return -1;
		}
		t += op_timeout_ms + MPS__MARGIN_MS;
	}
	return t;
}

mps_err
mps__roundtrip(mps_client *c, mps__msg *m, int64_t timeout_ms, mps__rbuf *reply)
{
	return c->tp->call(c->tpd, m, timeout_ms, reply);
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
		int64_t until = mps__now_ms() + (int64_t) period;
		int     rv    = 0;
		while (!c->ka_stop && rv != ETIMEDOUT) {
			rv = mps__cond_wait_until(&c->ka_cv, &c->mtx, until);
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

static mps_err
keepalive_start(mps_client *c)
{
	if (c->server.lease_ms == 0) {
		return MPS_OK;
	}
	pthread_mutex_lock(&c->mtx);
	c->ka_stop = 0;
	int rv     = pthread_create(&c->ka_thread, NULL, keepalive_main, c);
	c->ka_running = rv == 0;
	pthread_mutex_unlock(&c->mtx);
	return rv == 0 ? MPS_OK : mps__fail(MPS_ERR_NOMEM, "cannot start the keepalive thread");
}

/* ---- hello ---- */

/* Who we are, for `mpstore clients` and monitor: the name given at open
 * (mps_open_opts.client_name or $MPSTORE_CLIENT_NAME), else the program's
 * name; and the pid (a forked child says its own). */
void
mps__hello_op(const mps_client *c, mps_op *op)
{
	extern char *program_invocation_short_name; /* glibc's */
	memset(op, 0, sizeof(*op));
	op->code  = MPS_OP_HELLO;
	op->count = (int64_t) getpid();
	op->name  = c->client_name != NULL && c->client_name[0] != '\0'
	                ? c->client_name
	                : program_invocation_short_name;
}

/* What a hello's answer tells: the daemon's version, protocol, lease,
 * revision, PUB address; its auth nonce (hex, "" without) into nonce. */
mps_err
mps__hello_apply(mps_client *c, const Mpstore__Result *res, char *nonce, size_t noncelen)
{
	mps_value v;
	mps__pv_view(res->value, &v);
	if (c->version == NULL) {
		c->version = v.type == MPS_STRING ? strndup(v.u.s.ptr, v.u.s.len) : strdup("");
		if (c->version == NULL) {
			return mps__fail(MPS_ERR_NOMEM, "out of memory");
		}
	}
	c->server.version          = c->version;
	c->server.protocol_version = res->count;
	c->server.lease_ms         = res->token;
	c->server.revision         = res->revision;
	nonce[0]                   = '\0';
	for (size_t i = 0; i < res->n_values; i++) {
		const Mpstore__Value *pv = res->values[i];
		if (pv->v_case != MPSTORE__VALUE__V_STRING_VALUE) {
			continue;
		}
		if (strncmp(pv->string_value, "pub=", 4) == 0 && c->pub_url == NULL) {
			if ((c->pub_url = strdup(pv->string_value + 4)) == NULL) {
				return mps__fail(MPS_ERR_NOMEM, "out of memory");
			}
			c->server.pub_url = c->pub_url;
		}
		if (strncmp(pv->string_value, "nonce=", 6) == 0) {
			snprintf(nonce, noncelen, "%s", pv->string_value + 6);
		}
	}
	return MPS_OK;
}

static mps_err
hello(mps_client *c)
{
	mps_op    op;
	mps__hello_op(c, &op);
	mps__call call;
	char      nonce[80] = "";
	mps_err   e = mps__call_op(c, &op, &call);
	if (e == MPS_OK) {
		e = mps__hello_apply(c, call.res, nonce, sizeof(nonce));
	}
	mps__call_fini(&call);
	if (e == MPS_OK && nonce[0] != '\0' && !c->auth_on_connect) {
		if (!c->has_auth)
			return mps__fail(MPS_ERR_AUTH, "the daemon needs an auth key "
			                 "($MPSTORE_AUTH_KEY or mps_open_auth)");
		e = mps__authenticate(c, nonce); /* nng's transport: once, here */
	}
	return e;
}

/* ---- fork ---- */

static void
fk_prepare(void *arg)
{
	mps_client *c = arg;
	pthread_mutex_lock(&c->mtx);
	pthread_mutex_lock(&c->cmtx);
	c->tp->fork_prepare(c->tpd);
}

static void
fk_parent(void *arg)
{
	mps_client *c = arg;
	c->tp->fork_parent(c->tpd);
	pthread_mutex_unlock(&c->cmtx);
	pthread_mutex_unlock(&c->mtx);
}

/* In the child: the keepalive thread and every call in flight stayed in
 * the parent. The handle gets its own session at its first request here
 * (after_fork). */
static void
fk_child(void *arg)
{
	mps_client *c = arg;
	pthread_mutex_init(&c->mtx, NULL);
	pthread_mutex_init(&c->cmtx, NULL);
	pthread_cond_init(&c->ccv, NULL);
	mps__cond_init(&c->ka_cv);
	c->ka_running = 0;
	c->ka_stop    = 0;
	c->chead = c->ctail = NULL;
	c->cbusy = 0;
	c->tp->fork_child(c->tpd);
	atomic_store(&c->forked, 1);
}

/* First use in a forked child: a session of its own (the parent's locks
 * and leases stay the parent's), then hello and a keepalive. */
static mps_err
after_fork(mps_client *c)
{
	pthread_mutex_lock(&c->mtx);
	if (!atomic_load(&c->forked)) {
		pthread_mutex_unlock(&c->mtx); /* another thread of the child did it */
		return MPS_OK;
	}
	if (!c->tp->fork_safe) {
		pthread_mutex_unlock(&c->mtx);
		return mps__fail(MPS_ERR_INVALID,
		    "a %s handle cannot be used in a forked child (nng is not fork-safe): open "
		    "one in the child instead, after fork, with an ipc:// or tcp:// address",
		    c->url);
	}
	c->client_id        = random_id(c);
	c->server.client_id = c->client_id;
	atomic_store(&c->forked, 0);
	pthread_mutex_unlock(&c->mtx);
	char saved[512];
	snprintf(saved, sizeof(saved), "%s", mps_last_error());
	if (!c->auth_on_connect) {
		(void) hello(c); /* failures show in the caller's own request */
	} /* else the SP transport's greeting on the child's new connection */
	(void) keepalive_start(c);
	mps__fail(MPS_OK, "%s", saved);
	return MPS_OK;
}

/* ---- open / close ---- */

static const char *
env(const char *name)
{
	const char *v = getenv(name);
	return v != NULL && v[0] != '\0' ? v : NULL;
}

static int
dup_opt(char **dst, const char *src)
{
	if (src == NULL || src[0] == '\0') {
		return 0;
	}
	*dst = strdup(src);
	return *dst == NULL ? -1 : 0;
}

static void
client_free(mps_client *c)
{
	pthread_cond_destroy(&c->ka_cv);
	pthread_mutex_destroy(&c->mtx);
	pthread_mutex_destroy(&c->cmtx);
	pthread_cond_destroy(&c->ccv);
	free(c->auth.data);
	free(c->version);
	free(c->pub_url);
	free(c->url);
	free(c->client_name);
	free(c->tls_ca);
	free(c->tls_server_name);
	free(c->tls_cert);
	free(c->tls_key);
	free(c);
}

mps_err
mps_open_with(mps_client **out, const mps_open_opts *o)
{
	mps_client *c;
	mps_err     e;

	mps__clear_error();
	if (out == NULL || o == NULL) {
		return mps__fail(MPS_ERR_INVALID, "mps_open_with: out and options must not be NULL");
	}
	*out            = NULL;
	const char *url = o->url;
	if (url == NULL || url[0] == '\0') {
		url = env("MPSTORE_URL");
		if (url == NULL) {
			url = MPS_DEFAULT_URL;
		}
	}
	const mps__tp *tp = mps__sp_scheme(url)                ? &mps__tp_sp
	                    : strncmp(url, "tls+tcp://", 10) == 0 ? &mps__tp_nng
	                                                          : NULL;
	if (tp == NULL) {
		return mps__fail(MPS_ERR_CONNECT,
		    "cannot connect to %s: unsupported transport (use ipc://, tcp:// or tls+tcp://)",
		    url);
	}
	if (o->client_name != NULL) {
		/* what the daemon would refuse, refused here with a clear word */
		const uint8_t *nm = (const uint8_t *) o->client_name;
		size_t         nl = strlen(o->client_name);
		for (size_t i = 0; i < nl; i++) {
			if (nm[i] < 0x20 || nm[i] == 0x7f) {
				return mps__fail(MPS_ERR_INVALID, "a client name has no control characters "
				                 "(byte %zu is one)", i);
			}
		}
		if (!mpw_utf8_valid(nm, nl)) {
			return mps__fail(MPS_ERR_INVALID, "a client name is UTF-8 text");
		}
	}
	if ((c = calloc(1, sizeof(*c))) == NULL) {
		return mps__fail(MPS_ERR_NOMEM, "out of memory");
	}
	c->tp         = tp;
	c->timeout_ms = o->timeout_ms > 0 ? o->timeout_ms : MPS__DEFAULT_TIMEOUT_MS;
	atomic_init(&c->next_id, 1);
	atomic_init(&c->forked, 0);
	pthread_mutex_init(&c->mtx, NULL);
	pthread_mutex_init(&c->cmtx, NULL);
	pthread_cond_init(&c->ccv, NULL);
	mps__cond_init(&c->ka_cv);
	const char *co      = getenv("MPSTORE_COALESCE");
	c->coalesce         = co == NULL || strcmp(co, "0") != 0;
	c->client_id        = random_id(c);
	c->server.client_id = c->client_id;
	if ((c->url = strdup(url)) == NULL || dup_opt(&c->client_name, o->client_name) != 0 ||
	    dup_opt(&c->tls_ca, o->tls_ca_file) != 0 ||
	    dup_opt(&c->tls_server_name, o->tls_server_name) != 0 ||
	    dup_opt(&c->tls_cert, o->tls_cert_file) != 0 ||
	    dup_opt(&c->tls_key, o->tls_key_file) != 0) {
		client_free(c);
		return mps__fail(MPS_ERR_NOMEM, "out of memory");
	}
	if (o->auth_key != NULL && o->auth_key_len > 0) {
		if ((c->auth.data = malloc(o->auth_key_len)) == NULL) {
			client_free(c);
			return mps__fail(MPS_ERR_NOMEM, "out of memory");
		}
		memcpy(c->auth.data, o->auth_key, o->auth_key_len);
		c->auth.len = o->auth_key_len;
		c->has_auth = 1;
	}
	mps__dialopts d = {c->url, c->timeout_ms, c->tls_ca, c->tls_server_name, c->tls_cert,
	    c->tls_key, NULL, NULL};
	if (tp == &mps__tp_sp) {
		/* every connection, the first and each after a reconnect or a
		 * fork, says who we are and authenticates (with a key) before
		 * anything is sent or re-sent on it */
		d.on_connect     = mps__auth_fd;
		d.on_connect_arg = c;
		c->auth_on_connect = 1;
	}
	if ((e = tp->open(&d, &c->tpd)) != MPS_OK) {
		client_free(c);
		return e;
	}
	c->fk = (mps__forkable){NULL, NULL, fk_prepare, fk_parent, fk_child, c};
	mps__fork_register(&c->fk);
	/* the SP transport's greeting on the first connection was the hello */
	if ((!c->greeted && (e = hello(c)) != MPS_OK) || (e = keepalive_start(c)) != MPS_OK) {
		char msg[512];
		if (e == MPS_ERR_TIMEOUT) {
			snprintf(msg, sizeof(msg), "no answer from %s within %d ms", url, c->timeout_ms);
			e = MPS_ERR_CONNECT;
		} else {
			snprintf(msg, sizeof(msg), "%s", mps_last_error());
		}
		mps_close(c);
		return mps__fail(e, "%s", msg);
	}
	mps__clear_error();
	*out = c;
	return MPS_OK;
}

/* What mps_open and mps_open_auth take from the environment. */
static void
env_opts(mps_open_opts *o)
{
	o->tls_ca_file     = env("MPSTORE_TLS_CA");
	o->tls_server_name = env("MPSTORE_TLS_SERVER_NAME");
	o->tls_cert_file   = env("MPSTORE_TLS_CERT");
	o->tls_key_file    = env("MPSTORE_TLS_KEY");
	o->client_name     = env("MPSTORE_CLIENT_NAME");
}

mps_err
mps_open_auth(mps_client **out, const char *url, int timeout_ms, const void *key, size_t keylen)
{
	mps_open_opts o = {.url = url, .timeout_ms = timeout_ms, .auth_key = key,
	    .auth_key_len = keylen};
	env_opts(&o);
	return mps_open_with(out, &o);
}

mps_err
mps_open(mps_client **out, const char *url, int timeout_ms)
{
	mps_open_opts o = {.url = url, .timeout_ms = timeout_ms};
	env_opts(&o);
	/* like $MPSTORE_URL, the key may come from the environment */
	o.auth_key = env("MPSTORE_AUTH_KEY");
	o.auth_key_len = o.auth_key != NULL ? strlen(o.auth_key) : 0;
	return mps_open_with(out, &o);
}

void
mps_close(mps_client *c)
{
	if (c == NULL) {
		return;
	}
	mps__fork_unregister(&c->fk);
	pthread_mutex_lock(&c->mtx);
	c->ka_stop = 1;
	pthread_cond_broadcast(&c->ka_cv);
	int running = c->ka_running;
	pthread_mutex_unlock(&c->mtx);
	if (running) {
		pthread_join(c->ka_thread, NULL);
	}
	if (c->tpd != NULL) {
		c->tp->close(c->tpd); /* in a forked child: only our copies go */
	}
	client_free(c);
}

const mps_server_info *
mps_server(const mps_client *c)
{
	if (c == NULL) {
		mps__null("mps_server");
		return NULL;
	}
	return &c->server;
}

const char *
mps_client_name(const mps_client *c)
{
	if (c == NULL) {
		mps__null("mps_client_name");
		return NULL;
	}
	return c->client_name;
}

mps_err
mps_ping(mps_client *c)
{
	if (c == NULL) {
		return mps__null("mps_ping");
	}
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
	if ((strncmp(pub, "tcp", 3) != 0 && strncmp(pub, "tls+tcp", 7) != 0) || port == NULL) {
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
