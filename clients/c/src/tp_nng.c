/*
 * tp_nng.c - the nng transport of a handle (transport.h), for tls+tcp://:
 * one nng REQ socket; a synchronous call takes an idle context (a REQ
 * context and two aios without callbacks) from the handle's pool, an
 * asynchronous request owns a context whose receive callback completes
 * it on one of nng's threads. nng re-sends a request whose connection
 * dropped (resend timer off: our own timeouts). Not fork-safe: after
 * fork() the child's copy refuses every call (nng_dial.h).
 */
#include <stdlib.h>
#include <string.h>

#include "nng_dial.h"

#include <nng/protocol/reqrep0/req.h>

typedef struct slot slot;
struct slot {
	slot    *next;
	nng_ctx  ctx;
	nng_aio *send;
	nng_aio *recv;
};

typedef struct tpn {
	nng_socket      sock;
	pthread_mutex_t mtx;
	slot           *slots; /* idle contexts for synchronous calls */
	int             forked;
} tpn;

struct mps__areq {
	tpn          *t;
	int           have_ctx;
	nng_ctx       ctx;
	nng_aio      *send, *recv;
	nng_msg      *msg; /* reused request buffer */
	mps__adone_fn fn;
	void         *arg;
};

static mps_err
forked_err(void)
{
	return mps__fail(MPS_ERR_INVALID,
	    "a tls+tcp:// handle cannot be used in a forked child (nng is not fork-safe): "
	    "open handles after fork, or exec");
}

static void
slot_free(slot *s)
{
	if (s != NULL) {
		nng_aio_free(s->send);
		nng_aio_free(s->recv);
		nng_ctx_close(s->ctx);
		free(s);
	}
}

static mps_err
slot_get(tpn *t, slot **out)
{
	pthread_mutex_lock(&t->mtx);
	slot *s = t->slots;
	if (s != NULL) {
		t->slots = s->next;
	}
	pthread_mutex_unlock(&t->mtx);
	if (s != NULL) {
		*out = s;
		return MPS_OK;
	}
	if ((s = calloc(1, sizeof(*s))) == NULL) {
		return mps__fail(MPS_ERR_NOMEM, "out of memory");
	}
	int rv;
	if ((rv = nng_ctx_open(&s->ctx, t->sock)) != 0) {
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
slot_put(tpn *t, slot *s)
{
	pthread_mutex_lock(&t->mtx);
	s->next  = t->slots;
	t->slots = s;
	pthread_mutex_unlock(&t->mtx);
}

/* The body of m in an nng message (reused when *msg is set). */
static int
to_nng(const mps__msg *m, nng_msg **msg)
{
	int rv;
	if (*msg != NULL) {
		nng_msg_header_clear(*msg);
		rv = nng_msg_realloc(*msg, m->len);
	} else {
		rv = nng_msg_alloc(msg, m->len);
	}
	if (rv == 0) {
		memcpy(nng_msg_body(*msg), m->body, m->len);
	}
	return rv;
}

static void
free_nng_msg(void *m)
{
	nng_msg_free(m);
}

static void
to_rbuf(nng_msg *m, mps__rbuf *r)
{
	r->data = nng_msg_body(m);
	r->len  = nng_msg_len(m);
	r->mem  = m;
	r->free = free_nng_msg;
}

static nng_duration
dur(int64_t ms)
{
	return ms < 0 || ms > INT32_MAX ? NNG_DURATION_INFINITE : (nng_duration) ms;
}

static mps_err
tpn_call(void *tpd, mps__msg *m, int64_t timeout_ms, mps__rbuf *reply)
{
	tpn     *t = tpd;
	slot    *s = NULL;
	nng_msg *req = NULL;
	if (t->forked) {
		return forked_err();
	}
	mps_err e = slot_get(t, &s);
	if (e != MPS_OK) {
		return e;
	}
	int rv = to_nng(m, &req);
	if (rv != 0) {
		slot_put(t, s);
		return mps__from_nng(rv);
	}
	/* post the receive right after the send: the context holds the
	 * request from nng_ctx_send on, and the receive completes with the
	 * reply, or our timeout (which also cancels the request) */
	nng_aio_set_msg(s->send, req);
	nng_ctx_send(s->ctx, s->send);
	nng_aio_set_timeout(s->recv, dur(timeout_ms));
	nng_ctx_recv(s->ctx, s->recv);
	nng_aio_wait(s->recv);
	rv = nng_aio_result(s->recv);
	if (rv != 0) {
		nng_aio_cancel(s->send); /* may still be pending: not connected */
	}
	nng_aio_wait(s->send);
	if (nng_aio_result(s->send) != 0) {
		nng_msg *x = nng_aio_get_msg(s->send);
		if (x != NULL) {
			nng_msg_free(x);
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
			slot_put(t, s);
		}
		return mps__from_nng(rv);
	}
	to_rbuf(nng_aio_get_msg(s->recv), reply);
	nng_aio_set_msg(s->recv, NULL);
	slot_put(t, s);
	return MPS_OK;
}

/* ---- asynchronous ---- */

static void
areq_recv_cb(void *arg)
{
	mps__areq *a  = arg;
	int        rv = nng_aio_result(a->recv);
	/* the send has its own timeout (set with the receive's): cancelling
	 * it here crashed nng 1.5.2 when the receive had timed out */
	nng_aio_wait(a->send);
	if (nng_aio_result(a->send) != 0) {
		nng_msg *m = nng_aio_get_msg(a->send); /* not sent: still ours */
		nng_aio_set_msg(a->send, NULL);
		if (m != NULL && a->msg == NULL) {
			a->msg = m;
		} else if (m != NULL) {
			nng_msg_free(m);
		}
	}
	if (rv != 0) {
		a->fn(a->arg, mps__from_nng(rv), NULL);
		return;
	}
	mps__rbuf rb;
	to_rbuf(nng_aio_get_msg(a->recv), &rb);
	nng_aio_set_msg(a->recv, NULL);
	mps__clear_error();
	a->fn(a->arg, MPS_OK, &rb);
}

static mps_err
tpn_areq_alloc(void *tpd, mps__adone_fn done, void *arg, mps__areq **out)
{
	tpn       *t = tpd;
	mps__areq *a = calloc(1, sizeof(*a));
	int        rv;
	if (a == NULL) {
		return mps__fail(MPS_ERR_NOMEM, "out of memory");
	}
	if (t->forked) {
		free(a);
		return forked_err();
	}
	a->t   = t;
	a->fn  = done;
	a->arg = arg;
	if ((rv = nng_ctx_open(&a->ctx, t->sock)) != 0 ||
	    (rv = nng_aio_alloc(&a->send, NULL, NULL)) != 0 ||
	    (rv = nng_aio_alloc(&a->recv, areq_recv_cb, a)) != 0) {
		if (a->send != NULL) {
			nng_aio_free(a->send);
			nng_ctx_close(a->ctx);
		}
		free(a);
		return mps__from_nng(rv);
	}
	a->have_ctx = 1;
	*out        = a;
	return MPS_OK;
}

static mps_err
tpn_submit(mps__areq *a, mps__msg *m, int64_t timeout_ms)
{
	if (mps__nng_in_child()) {
		return forked_err();
	}
	nng_msg *msg = a->msg;
	a->msg       = NULL;
	int rv       = to_nng(m, &msg);
	if (rv != 0) {
		if (msg != NULL) {
			nng_msg_free(msg);
		}
		return mps__from_nng(rv);
	}
	nng_aio_set_msg(a->send, msg);
	nng_aio_set_timeout(a->send, dur(timeout_ms));
	nng_ctx_send(a->ctx, a->send);
	nng_aio_set_timeout(a->recv, dur(timeout_ms));
	nng_ctx_recv(a->ctx, a->recv);
	return MPS_OK;
}

static void
tpn_areq_free(mps__areq *a)
{
	if (a == NULL) {
		return;
	}
	if (!mps__nng_in_child()) { /* in a forked child nng must not be touched */
		nng_aio_stop(a->recv); /* cancels, waits for the callback */
		nng_aio_stop(a->send);
		nng_msg *m = nng_aio_get_msg(a->send);
		if (m != NULL && nng_aio_result(a->send) != 0) {
			nng_msg_free(m);
		}
		nng_aio_free(a->recv);
		nng_aio_free(a->send);
		nng_ctx_close(a->ctx);
		if (a->msg != NULL) {
			nng_msg_free(a->msg);
		}
	}
	free(a);
}

/* ---- open, close, fork ---- */

static mps_err
tpn_open(const mps__dialopts *o, void **tpd)
{
	char    err[512];
	mps_err e = mps__nng_enter();
	if (e != MPS_OK) {
		return e;
	}
	tpn *t = calloc(1, sizeof(*t));
	if (t == NULL) {
		return mps__fail(MPS_ERR_NOMEM, "out of memory");
	}
	int rv = nng_req0_open(&t->sock);
	if (rv != 0) {
		free(t);
		return mps__from_nng(rv);
	}
	/* our own timeouts; no resend timer waking nng's timer thread (the
	 * daemon dedupes what nng re-sends after a reconnect anyway) */
	nng_socket_set_ms(t->sock, NNG_OPT_REQ_RESENDTIME, NNG_DURATION_INFINITE);
	nng_socket_set_ms(t->sock, NNG_OPT_RECONNMINT, 20);
	nng_socket_set_ms(t->sock, NNG_OPT_RECONNMAXT, 1000);
	nng_socket_set_size(t->sock, NNG_OPT_RECVMAXSZ, 0); /* trust our daemon's replies */
	if ((rv = mps__nng_dial(t->sock, o, 0, err, sizeof(err))) != 0) {
		nng_close(t->sock);
		free(t);
		return mps__fail(rv == NNG_ENOMEM ? MPS_ERR_NOMEM : MPS_ERR_CONNECT, "%s", err);
	}
	pthread_mutex_init(&t->mtx, NULL);
	*tpd = t;
	return MPS_OK;
}

static void
tpn_close(void *tpd)
{
	tpn *t = tpd;
	if (!t->forked) {
		nng_close(t->sock); /* aborts everything in flight */
		while (t->slots != NULL) {
			slot *s  = t->slots;
			t->slots = s->next;
			slot_free(s);
		}
	}
	pthread_mutex_destroy(&t->mtx);
	free(t);
}

static void
tpn_fork_prepare(void *tpd)
{
	pthread_mutex_lock(&((tpn *) tpd)->mtx);
}

static void
tpn_fork_parent(void *tpd)
{
	pthread_mutex_unlock(&((tpn *) tpd)->mtx);
}

static void
tpn_fork_child(void *tpd)
{
	tpn *t = tpd;
	pthread_mutex_init(&t->mtx, NULL);
	t->forked = 1;
	t->slots  = NULL; /* the parent's nng objects: leave them be */
}

const mps__tp mps__tp_nng = {
    .name         = "nng",
    .open         = tpn_open,
    .call         = tpn_call,
    .areq_alloc   = tpn_areq_alloc,
    .submit       = tpn_submit,
    .areq_free    = tpn_areq_free,
    .close        = tpn_close,
    .fork_prepare = tpn_fork_prepare,
    .fork_parent  = tpn_fork_parent,
    .fork_child   = tpn_fork_child,
    .fork_safe    = 0,
};
