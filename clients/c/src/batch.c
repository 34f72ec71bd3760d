/* batch.c - batches, asynchronous (pipelined) requests, transactions.
 *
 * A batch owns one REQ context with a send aio (no callback) and a receive
 * aio whose callback decodes the reply into the batch's reply arena and
 * calls the user's callback; its request message is reused from the last
 * reply, so the steady state of a pipelining loop allocates nothing. */
#include <stdlib.h>
#include <string.h>

#include "mps_int.h"

typedef struct oplist {
	Mpstore__Op **v;
	size_t        n, cap;
} oplist;

struct mps_batch {
	mps_client *c;
	mps__arena  build;  /* ops of the request being built */
	mps__arena  reply;  /* the decoded reply and result views */
	oplist      ops;    /* batch ops, or txn success ops */
	oplist      fail;   /* txn failure ops */
	Mpstore__Compare **cmp;
	size_t      ncmp, capcmp;
	int         txn;
	int         in_else;
	int64_t     wait;   /* longest op timeout (<0: forever) */

	Mpstore__Response *resp;
	mps_value        **conv;  /* per result: converted values/keys (lazy) */

	nng_msg    *msg;    /* reused request buffer */
	int         have_ctx;
	nng_ctx     ctx;
	nng_aio    *send;
	nng_aio    *recv;

	mps_batch_cb    cb;
	void           *arg;
	mps_err         err;
	pthread_mutex_t mtx;
	pthread_cond_t  cv;
	int             inflight;
	int             incb;   /* the user's callback is running */
};

static void batch_recv_cb(void *arg);

mps_err
mps_batch_alloc(mps_client *c, mps_batch **out)
{
	mps_batch *b = calloc(1, sizeof(*b));
	int        rv;
	if (b == NULL) {
		return mps__fail(MPS_ERR_NOMEM, "out of memory");
	}
	b->c = c;
	mps__arena_init(&b->build, NULL, 0);
	mps__arena_init(&b->reply, NULL, 0);
	pthread_mutex_init(&b->mtx, NULL);
	pthread_cond_init(&b->cv, NULL);
	if ((rv = nng_aio_alloc(&b->send, NULL, NULL)) != 0 ||
	    (rv = nng_aio_alloc(&b->recv, batch_recv_cb, b)) != 0) {
		mps_batch_free(b);
		return mps__from_nng(rv);
	}
	*out = b;
	return MPS_OK;
}

void
mps_batch_free(mps_batch *b)
{
	if (b == NULL) {
		return;
	}
	if (b->recv != NULL) {
		nng_aio_stop(b->recv); /* cancels, waits for the callback */
	}
	if (b->send != NULL) {
		nng_aio_stop(b->send);
		nng_msg *m = nng_aio_get_msg(b->send);
		if (m != NULL && nng_aio_result(b->send) != 0) {
			nng_msg_free(m);
		}
	}
	nng_aio_free(b->recv);
	nng_aio_free(b->send);
	if (b->have_ctx) {
		nng_ctx_close(b->ctx);
	}
	if (b->msg != NULL) {
		nng_msg_free(b->msg);
	}
	mps__arena_fini(&b->build);
	mps__arena_fini(&b->reply);
	free(b->ops.v);
	free(b->fail.v);
	free(b->cmp);
	pthread_cond_destroy(&b->cv);
	pthread_mutex_destroy(&b->mtx);
	free(b);
}

void
mps_batch_reset(mps_batch *b)
{
	mps__arena_reset(&b->build);
	mps__arena_reset(&b->reply);
	b->ops.n   = 0;
	b->fail.n  = 0;
	b->ncmp    = 0;
	b->txn     = 0;
	b->in_else = 0;
	b->wait    = 0;
	b->resp    = NULL;
	b->conv    = NULL;
}

static int
oplist_push(oplist *l, Mpstore__Op *o)
{
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 16;
		void  *p   = realloc(l->v, cap * sizeof(*l->v));
		if (p == NULL) {
			return -1;
		}
		l->v   = p;
		l->cap = cap;
	}
	l->v[l->n++] = o;
	return 0;
}

static int
op_blocks(mps_opcode code)
{
	switch (code) {
	case MPS_OP_QUEUE_PUT:
	case MPS_OP_QUEUE_GET:
	case MPS_OP_QUEUE_JOIN:
	case MPS_OP_LOCK_ACQUIRE:
	case MPS_OP_SEM_ACQUIRE:
	case MPS_OP_EVENT_WAIT:
	case MPS_OP_COND_WAIT:
	case MPS_OP_BARRIER_WAIT:
		return 1;
	default:
		return 0;
	}
}

mps_err
mps_batch_append(mps_batch *b, const mps_op *op)
{
	Mpstore__Op *o;
	mps_err      e = mps__op_build(&b->build, op, &o);
	if (e != MPS_OK) {
		return e;
	}
	if (oplist_push(b->in_else ? &b->fail : &b->ops, o) != 0) {
		return mps__fail(MPS_ERR_NOMEM, "out of memory");
	}
	if (op_blocks(op->code) && !b->txn && b->wait >= 0) {
		if (op->timeout_ms < 0) {
			b->wait = -1;
		} else {
			b->wait += op->timeout_ms; /* ops of a batch wait one after another */
		}
	}
	return MPS_OK;
}

size_t
mps_batch_len(const mps_batch *b)
{
	return b->ops.n + b->fail.n;
}

mps_err
mps_txn_compare(mps_batch *b, const char *name, mps_cmp_target target, mps_cmp_op op,
    const mps_value *key, const mps_value *value)
{
	Mpstore__Compare *c = mps__arena_alloc(&b->build, sizeof(*c));
	if (c == NULL) {
		return mps__fail(MPS_ERR_NOMEM, "out of memory");
	}
	mpstore__compare__init(c);
	c->name   = mps__arena_strndup(&b->build, name, strlen(name));
	c->target = (Mpstore__CompareTarget) target;
	c->op     = (Mpstore__CompareOp) op;
	if (c->name == NULL || (key != NULL && (c->key = mps__pv_new(&b->build, key)) == NULL) ||
	    (c->value = mps__pv_new(&b->build, value)) == NULL) {
		return mps__fail(MPS_ERR_NOMEM, "out of memory");
	}
	if (b->ncmp == b->capcmp) {
		size_t cap = b->capcmp ? b->capcmp * 2 : 4;
		void  *p   = realloc(b->cmp, cap * sizeof(*b->cmp));
		if (p == NULL) {
			return mps__fail(MPS_ERR_NOMEM, "out of memory");
		}
		b->cmp    = p;
		b->capcmp = cap;
	}
	b->cmp[b->ncmp++] = c;
	b->txn            = 1;
	return MPS_OK;
}

mps_err
mps_txn_else(mps_batch *b)
{
	b->txn     = 1;
	b->in_else = 1;
	return MPS_OK;
}

int
mps_txn_succeeded(const mps_batch *b)
{
	return b->resp != NULL && b->resp->succeeded;
}

/* ---- sending ---- */

static mps_err
batch_start(mps_batch *b)
{
	Mpstore__Request req;
	Mpstore__Txn     txn;
	mps_err          e;
	int              rv;

	mps__clear_error();
	if (!b->have_ctx) {
		if ((rv = nng_ctx_open(&b->ctx, b->c->sock)) != 0) {
			return mps__from_nng(rv);
		}
		b->have_ctx = 1;
	}
	mps__request_init(b->c, &req);
	if (b->txn) {
		mpstore__txn__init(&txn);
		txn.n_compare = b->ncmp;
		txn.compare   = b->cmp;
		txn.n_success = b->ops.n;
		txn.success   = b->ops.v;
		txn.n_failure = b->fail.n;
		txn.failure   = b->fail.v;
		req.txn       = &txn;
	} else {
		req.n_ops = b->ops.n;
		req.ops   = b->ops.v;
	}
	if ((e = mps__pack(&req, &b->msg)) != MPS_OK) {
		return e;
	}
	/* the previous reply goes: its views are no longer valid */
	mps__arena_reset(&b->reply);
	b->resp = NULL;
	b->conv = NULL;
	b->err  = MPS_OK;

	pthread_mutex_lock(&b->mtx);
	b->inflight = 1;
	pthread_mutex_unlock(&b->mtx);

	nng_aio_set_msg(b->send, b->msg);
	b->msg = NULL;
	nng_duration tmo = mps__recv_timeout(b->c, b->txn ? 0 : b->wait);
	nng_aio_set_timeout(b->send, tmo);
	nng_ctx_send(b->ctx, b->send);
	nng_aio_set_timeout(b->recv, tmo);
	nng_ctx_recv(b->ctx, b->recv);
	return MPS_OK;
}

static void
batch_recv_cb(void *arg)
{
	mps_batch *b  = arg;
	int        rv = nng_aio_result(b->recv);
	mps_err    e  = MPS_OK;

	/* the send has its own timeout (set with the receive's): cancelling it
	 * here crashed nng 1.5.2 when the receive had timed out */
	nng_aio_wait(b->send);
	if (nng_aio_result(b->send) != 0) {
		/* not sent: the message is still ours; keep it for reuse */
		nng_msg *m = nng_aio_get_msg(b->send);
		nng_aio_set_msg(b->send, NULL);
		if (m != NULL) {
			if (b->msg == NULL) {
				b->msg = m;
			} else {
				nng_msg_free(m);
			}
		}
	}
	if (rv != 0) {
		e = mps__from_nng(rv);
	} else {
		nng_msg *reply = nng_aio_get_msg(b->recv);
		nng_aio_set_msg(b->recv, NULL);
		e = mps__decode(reply, &b->reply, &b->resp);
		/* keep the reply's buffer as the next request's */
		if (b->msg == NULL) {
			b->msg = reply;
		} else {
			nng_msg_free(reply);
		}
	}
	b->err = e;
	mps_batch_cb cb = b->cb;
	void        *cbarg = b->arg;
	if (cb != NULL) {
		/* the callback may submit b again; mark idle first */
		pthread_mutex_lock(&b->mtx);
		b->inflight = 0;
		b->incb     = 1;
		pthread_mutex_unlock(&b->mtx);
		cb(b, e, cbarg);
		pthread_mutex_lock(&b->mtx);
		b->incb = 0;
		pthread_cond_broadcast(&b->cv);
		pthread_mutex_unlock(&b->mtx);
	} else {
		pthread_mutex_lock(&b->mtx);
		b->inflight = 0;
		pthread_cond_broadcast(&b->cv);
		pthread_mutex_unlock(&b->mtx);
	}
}

mps_err
mps_batch_submit(mps_batch *b, mps_batch_cb cb, void *arg)
{
	b->cb  = cb;
	b->arg = arg;
	return batch_start(b);
}

void
mps_batch_wait(mps_batch *b)
{
	pthread_mutex_lock(&b->mtx);
	while (b->inflight || b->incb) {
		pthread_cond_wait(&b->cv, &b->mtx);
	}
	pthread_mutex_unlock(&b->mtx);
}

mps_err
mps_batch_exec(mps_batch *b)
{
	b->cb  = NULL;
	b->arg = NULL;
	mps_err e = batch_start(b);
	if (e != MPS_OK) {
		return e;
	}
	mps_batch_wait(b);
	if (b->err != MPS_OK && b->resp != NULL && b->resp->error != NULL) {
		/* the decode's message was recorded on nng's thread: repeat it here */
		return mps__fail(b->err, "%s", b->resp->error[0] ? b->resp->error
		                                                 : mps_strerror(b->err));
	}
	if (b->err != MPS_OK) {
		return mps__fail(b->err, "%s", mps_strerror(b->err));
	}
	return MPS_OK;
}

/* ---- results ---- */

size_t
mps_batch_nresults(const mps_batch *b)
{
	return b->resp != NULL ? b->resp->n_results : 0;
}

uint64_t
mps_batch_revision(const mps_batch *b)
{
	return b->resp != NULL ? b->resp->revision : 0;
}

static mps_value *
conv_array(mps__arena *a, Mpstore__Value **pv, size_t n)
{
	if (n == 0) {
		return NULL;
	}
	mps_value *v = mps__arena_alloc(a, n * sizeof(*v));
	if (v != NULL) {
		for (size_t i = 0; i < n; i++) {
			mps__pv_view(pv[i], &v[i]);
		}
	}
	return v;
}

mps_err
mps_batch_result(mps_batch *b, size_t i, mps_result *out)
{
	memset(out, 0, sizeof(*out));
	if (b->resp == NULL || i >= b->resp->n_results) {
		return MPS_ERR_INDEX;
	}
	const Mpstore__Result *r = b->resp->results[i];
	out->status   = (mps_err) r->status;
	out->error    = r->error != NULL ? r->error : "";
	mps__pv_view(r->value, &out->value);
	out->count    = r->count;
	out->flag     = r->flag;
	out->revision = r->revision;
	out->token    = r->token;
	out->next     = r->next;
	if (r->n_values > 0) {
		out->values  = conv_array(&b->reply, r->values, r->n_values);
		out->nvalues = out->values != NULL ? r->n_values : 0;
	}
	if (r->n_keys > 0) {
		out->keys  = conv_array(&b->reply, r->keys, r->n_keys);
		out->nkeys = out->keys != NULL ? r->n_keys : 0;
	}
	if (r->n_containers > 0) {
		mps_info *ci = mps__arena_alloc(&b->reply, r->n_containers * sizeof(*ci));
		if (ci != NULL) {
			for (size_t k = 0; k < r->n_containers; k++) {
				mps__info_view(r->containers[k], &ci[k]);
			}
			out->containers  = ci;
			out->ncontainers = r->n_containers;
		}
	}
	if (r->info != NULL) {
		out->has_info = 1;
		mps__info_view(r->info, &out->info);
	}
	return MPS_OK;
}
