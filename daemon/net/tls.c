/*
 * tls.c - tls+tcp:// through nng and its TLS (mbedtls), bridged into the
 * loop: requests arrive on nng's threads (a REP socket with contexts),
 * are posted to the loop and dispatched there like any other; replies go
 * back through the request's context. Pipe events become hooks.opened and
 * hooks.closed on the loop. A tls+tcp:// PUB address gets an nng PUB
 * socket. With tls_client_ca set, peers must present a certificate that
 * CA signed (mutual TLS).
 *
 * This is the slow path (a thread hop each way) and nng 1.5.2's: its
 * close can hang after slow readers left, so closing is given 5 s on a
 * thread of its own and otherwise left to the process exit.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <nng/nng.h>
#include <nng/protocol/pubsub0/pub.h>
#include <nng/protocol/reqrep0/rep.h>
#include <nng/supplemental/tls/tls.h>

#include "net_int.h"

#define TLS_MAX_CONTEXTS 100000

typedef struct tctx {
	struct mpsd_tls *t;
	nng_ctx          ctx;
	nng_aio         *raio, *saio;
	nng_msg         *in;
	mpsd_post        post;
	struct tctx     *next_free, *next_all;
} tctx;

typedef struct pipe_ev {
	mpsd_post post;
	mpsd_net *net;
	uint32_t  id;
	int       add;
	char      addr[64];
} pipe_ev;

struct mpsd_tls {
	mpsd_net       *net;
	nng_socket      rep, pub;
	int             rep_open, pub_open;
	pthread_mutex_t mtx;
	tctx           *free, *all;
	size_t          nall;
	int             pipes, subs; /* atomic */
	int             closing;
};

static void recv_cb(void *arg);

static tctx *tctx_get(struct mpsd_tls *t)
{
	pthread_mutex_lock(&t->mtx);
	tctx *c = t->free;
	if (c != NULL) {
		t->free = c->next_free;
		pthread_mutex_unlock(&t->mtx);
		return c;
	}
	if (t->nall >= TLS_MAX_CONTEXTS) {
		pthread_mutex_unlock(&t->mtx);
		return NULL;
	}
	pthread_mutex_unlock(&t->mtx);
	c = calloc(1, sizeof(*c));
	if (c == NULL)
		return NULL;
	c->t = t;
	if (nng_ctx_open(&c->ctx, t->rep) != 0 || nng_aio_alloc(&c->raio, recv_cb, c) != 0 ||
	    nng_aio_alloc(&c->saio, NULL, NULL) != 0) {
		if (c->raio != NULL)
			nng_aio_free(c->raio);
		free(c);
		return NULL;
	}
	pthread_mutex_lock(&t->mtx);
	c->next_all = t->all;
	t->all = c;
	t->nall++;
	pthread_mutex_unlock(&t->mtx);
	return c;
}

static void tctx_put(struct mpsd_tls *t, tctx *c)
{
	pthread_mutex_lock(&t->mtx);
	c->next_free = t->free;
	t->free = c;
	pthread_mutex_unlock(&t->mtx);
}

static void post_recv(tctx *c)
{
	nng_ctx_recv(c->ctx, c->raio);
}

/* On the loop: hand the request to the daemon. */
static void deliver_cb(void *arg)
{
	tctx     *c = arg;
	mpsd_net *n = c->t->net;
	nng_msg  *m = c->in;
	c->in = NULL;
	if (n->stopping || n->closing) {
		nng_msg_free(m);
		tctx_put(c->t, c);
		return;
	}
	mpsd_peer p;
	memset(&p, 0, sizeof(p));
	p.tls = c;
	p.id = nng_msg_get_pipe(m).id;
	if (p.id == 0)
		p.id = 1;
	n->st.frames_in++;
	n->hooks.request(n->hooks.arg, &p, nng_msg_body(m), nng_msg_len(m), 0);
	nng_msg_free(m);
}

static void recv_cb(void *arg)
{
	tctx            *c = arg;
	struct mpsd_tls *t = c->t;
	int              rv = nng_aio_result(c->raio);
	if (rv != 0) {
		if (rv != NNG_ECLOSED && !t->closing)
			post_recv(c); /* e.g. a message too big: nng dropped it */
		return;
	}
	c->in = nng_aio_get_msg(c->raio);
	nng_aio_set_msg(c->raio, NULL);
	/* somebody else receives while this request is handled */
	tctx *n2 = tctx_get(t);
	if (n2 != NULL)
		post_recv(n2);
	c->post.fn = deliver_cb;
	c->post.arg = c;
	mpsd_net_post(t->net, &c->post);
}

/* The previous reply of c has left (or failed): its context may be reused. */
static void send_settle(tctx *c)
{
	nng_aio_wait(c->saio);
	nng_msg *m = nng_aio_get_msg(c->saio);
	if (m != NULL && nng_aio_result(c->saio) != 0)
		nng_msg_free(m);
	nng_aio_set_msg(c->saio, NULL);
}

void tls_reply(mpsd_net *n, mpsd_peer *to, mpsd_msg *m)
{
	tctx *c = to->tls;
	to->tls = NULL;
	nng_msg *nm = NULL;
	if (m != NULL && !n->closing && nng_msg_alloc(&nm, m->len) == 0) {
		memcpy(nng_msg_body(nm), m->body, m->len);
		send_settle(c);
		nng_aio_set_msg(c->saio, nm);
		nng_ctx_send(c->ctx, c->saio);
		n->st.frames_out++;
	}
	mpsd_msg_free(m);
	tctx_put(c->t, c);
}

void tls_release(mpsd_net *n, mpsd_peer *to)
{
	(void)n;
	tctx *c = to->tls;
	to->tls = NULL;
	tctx_put(c->t, c);
}

/* ---- pipes ---- */

static void pipe_post_cb(void *arg)
{
	pipe_ev  *e = arg;
	mpsd_net *n = e->net;
	if (!n->closing) {
		if (e->add && n->hooks.opened != NULL)
			n->hooks.opened(n->hooks.arg, e->id, e->addr, 0);
		else if (!e->add && n->hooks.closed != NULL)
			n->hooks.closed(n->hooks.arg, e->id);
	}
	free(e);
}

static void pipe_cb(nng_pipe p, nng_pipe_ev ev, void *arg)
{
	struct mpsd_tls *t = arg;
	if (ev == NNG_PIPE_EV_ADD_PRE) {
		if ((size_t)__atomic_add_fetch(&t->pipes, 1, __ATOMIC_RELAXED) > t->net->cfg.max_clients) {
			__atomic_add_fetch(&t->net->st.clients_refused, 1, __ATOMIC_RELAXED);
			nng_pipe_close(p); /* REM_POST follows and counts it down */
		}
		return;
	}
	int add = ev == NNG_PIPE_EV_ADD_POST;
	if (!add)
		__atomic_sub_fetch(&t->pipes, 1, __ATOMIC_RELAXED);
	pipe_ev *e = calloc(1, sizeof(*e));
	if (e == NULL)
		return;
	e->net = t->net;
	e->id = nng_pipe_id(p);
	e->add = add;
	nng_sockaddr sa;
	snprintf(e->addr, sizeof(e->addr), "tls");
	if (add && nng_pipe_get_addr(p, NNG_OPT_REMADDR, &sa) == 0 && sa.s_family == NNG_AF_INET) {
		const uint8_t *ip = (const uint8_t *)&sa.s_in.sa_addr;
		snprintf(e->addr, sizeof(e->addr), "tls:%u.%u.%u.%u:%u", ip[0], ip[1], ip[2], ip[3],
		    (unsigned)ntohs(sa.s_in.sa_port));
	}
	e->post.fn = pipe_post_cb;
	e->post.arg = e;
	mpsd_net_post(t->net, &e->post);
}

static void sub_cb(nng_pipe p, nng_pipe_ev ev, void *arg)
{
	struct mpsd_tls *t = arg;
	(void)p;
	__atomic_add_fetch(&t->subs, ev == NNG_PIPE_EV_ADD_POST ? 1 : -1, __ATOMIC_RELAXED);
}

/* ---- set-up ---- */

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
			char *nb = realloc(buf, cap);
			if (nb == NULL)
				break;
			buf = nb;
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

static int tls_config(mpsd_net *n, nng_tls_config **out, char *err, size_t errlen)
{
	nng_tls_config *cfg = NULL;
	char           *cert = NULL, *key = NULL;
	int             rv = nng_tls_config_alloc(&cfg, NNG_TLS_MODE_SERVER);
	if (rv == 0 && ((cert = slurp(n->cfg.tls_cert)) == NULL || (key = slurp(n->cfg.tls_key)) == NULL)) {
		snprintf(err, errlen, "cannot read %s: %s", cert == NULL ? n->cfg.tls_cert : n->cfg.tls_key,
		    strerror(errno));
		rv = -1;
	}
	if (rv == 0 && (rv = nng_tls_config_own_cert(cfg, cert, key, NULL)) != 0)
		snprintf(err, errlen, "bad TLS certificate or key (%s, %s): %s", n->cfg.tls_cert,
		    n->cfg.tls_key, nng_strerror(rv));
	if (rv == 0 && n->cfg.tls_client_ca != NULL) {
		if ((rv = nng_tls_config_ca_file(cfg, n->cfg.tls_client_ca)) != 0)
			snprintf(err, errlen, "cannot load --tls-client-ca %s: %s", n->cfg.tls_client_ca,
			    nng_strerror(rv));
		else if ((rv = nng_tls_config_auth_mode(cfg, NNG_TLS_AUTH_MODE_REQUIRED)) != 0)
			snprintf(err, errlen, "cannot require client certificates: %s", nng_strerror(rv));
	}
	free(cert);
	free(key);
	if (rv != 0) {
		if (cfg != NULL)
			nng_tls_config_free(cfg);
		return -1;
	}
	*out = cfg;
	return 0;
}

int tls_open(mpsd_net *n, const char *url, int pub, char *err, size_t errlen)
{
	if (n->cfg.tls_cert == NULL) {
		snprintf(err, errlen, "%s needs --tls-cert and --tls-key", url);
		return -1;
	}
	struct mpsd_tls *t = n->tls;
	if (t == NULL) {
		if ((t = calloc(1, sizeof(*t))) == NULL) {
			snprintf(err, errlen, "out of memory");
			return -1;
		}
		t->net = n;
		pthread_mutex_init(&t->mtx, NULL);
		n->tls = t;
	}
	int rv = 0;
	if (pub && !t->pub_open) {
		if ((rv = nng_pub0_open(&t->pub)) == 0) {
			t->pub_open = 1;
			nng_socket_set_int(t->pub, NNG_OPT_SENDBUF, 8192);
			nng_pipe_notify(t->pub, NNG_PIPE_EV_ADD_POST, sub_cb, t);
			nng_pipe_notify(t->pub, NNG_PIPE_EV_REM_POST, sub_cb, t);
		}
	} else if (!pub && !t->rep_open) {
		if ((rv = nng_rep0_open(&t->rep)) == 0) {
			t->rep_open = 1;
			nng_socket_set_size(t->rep, NNG_OPT_RECVMAXSZ, n->cfg.max_msg);
			nng_pipe_notify(t->rep, NNG_PIPE_EV_ADD_PRE, pipe_cb, t);
			nng_pipe_notify(t->rep, NNG_PIPE_EV_ADD_POST, pipe_cb, t);
			nng_pipe_notify(t->rep, NNG_PIPE_EV_REM_POST, pipe_cb, t);
		}
	}
	if (rv != 0) {
		snprintf(err, errlen, "cannot open an nng socket for %s: %s", url, nng_strerror(rv));
		return -1;
	}
	nng_listener    l;
	nng_tls_config *cfg = NULL;
	if ((rv = nng_listener_create(&l, pub ? t->pub : t->rep, url)) != 0) {
		snprintf(err, errlen, "cannot listen on %s: %s", url, nng_strerror(rv));
		return -1;
	}
	if (tls_config(n, &cfg, err, errlen) != 0)
		return -1;
	rv = nng_listener_set_ptr(l, NNG_OPT_TLS_CONFIG, cfg);
	nng_tls_config_free(cfg); /* the listener holds its own reference */
	if (rv == 0)
		rv = nng_listener_start(l, 0);
	if (rv != 0) {
		snprintf(err, errlen, "cannot listen on %s: %s", url,
		    rv == NNG_EADDRINUSE ? "address in use (is another mpstored running?)"
		                         : nng_strerror(rv));
		return -1;
	}
	if (!pub && t->free == NULL && t->nall == 0) {
		int k = n->cfg.tls_contexts > 0 ? n->cfg.tls_contexts : 16;
		for (int i = 0; i < k; i++) {
			tctx *c = tctx_get(t);
			if (c == NULL) {
				snprintf(err, errlen, "cannot open nng contexts");
				return -1;
			}
			post_recv(c);
		}
	}
	return 0;
}

void tls_publish(mpsd_net *n, const char *name, const uint8_t *data, size_t len)
{
	struct mpsd_tls *t = n->tls;
	nng_msg         *m;
	if (t == NULL || !t->pub_open || __atomic_load_n(&t->subs, __ATOMIC_RELAXED) == 0)
		return;
	size_t nl = strlen(name) + 1;
	if (nng_msg_alloc(&m, nl + len) != 0)
		return;
	memcpy(nng_msg_body(m), name, nl);
	memcpy((uint8_t *)nng_msg_body(m) + nl, data, len);
	if (nng_sendmsg(t->pub, m, NNG_FLAG_NONBLOCK) != 0)
		nng_msg_free(m);
}

size_t tls_subscribers(const mpsd_net *n)
{
	const struct mpsd_tls *t = n->tls;
	return t != NULL && t->pub_open ? (size_t)__atomic_load_n(&t->subs, __ATOMIC_RELAXED) : 0;
}

/* ---- close ---- */

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

void tls_close(mpsd_net *n)
{
	struct mpsd_tls *t = n->tls;
	if (t == NULL)
		return;
	t->closing = 1;
	static closer k; /* outlives a stuck close: the process exit takes it */
	k.rep = t->rep;
	k.pub = t->pub;
	k.rep_open = t->rep_open;
	k.pub_open = t->pub_open;
	pthread_mutex_init(&k.mtx, NULL);
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&k.cv, &ca);
	pthread_condattr_destroy(&ca);
	pthread_t th;
	if (pthread_create(&th, NULL, closer_main, &k) != 0) {
		closer_main(&k);
	} else {
		struct timespec ts;
		clock_gettime(CLOCK_MONOTONIC, &ts);
		ts.tv_sec += 5;
		pthread_mutex_lock(&k.mtx);
		while (!k.done && pthread_cond_timedwait(&k.cv, &k.mtx, &ts) == 0)
			;
		int done = k.done;
		pthread_mutex_unlock(&k.mtx);
		if (!done) {
			/* nng 1.5.2 hang: its threads may still use the contexts */
			fprintf(stderr, "mpstored: nng did not close its TLS sockets within 5 s; "
			                "leaving them to the process exit\n");
			pthread_detach(th);
			n->tls = NULL;
			return;
		}
		pthread_join(th, NULL);
	}
	/* nng is quiet now: requests still posted to the loop are dropped
	 * (deliver_cb sees closing), then everything is freed */
	n->tls = NULL;
	mpsd_net_run_posts(n);
	tctx *c = t->all;
	while (c != NULL) {
		tctx *nx = c->next_all;
		nng_aio_stop(c->raio);
		nng_aio_stop(c->saio);
		send_settle(c);
		nng_aio_free(c->raio);
		nng_aio_free(c->saio);
		if (c->in != NULL)
			nng_msg_free(c->in);
		free(c);
		c = nx;
	}
	pthread_mutex_destroy(&t->mtx);
	free(t);
}
