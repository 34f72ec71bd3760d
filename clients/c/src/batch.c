/* batch.c - batches, asynchronous (pipelined) requests, transactions.
 *
 * mps_batch_exec is a synchronous round trip on the calling thread, like
 * every other call. mps_batch_submit hands the request to the transport
 * as an asynchronous one (transport.h: one mps__areq per batch, made at
 * its first submit); its completion decodes the reply into the batch's
 * reply arena and calls the user's callback on the transport's thread.
 * The request buffer is kept, so the steady state of a pipelining loop
 * allocates little. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "transport.h"

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

	mps__msg    msg;    /* the request; its buffer is reused */
	mps__areq  *ar;     /* asynchronous requests (first submit on) */
	const mps__tp *tp;  /* ar's transport (valid after mps_close(c)) */

	mps_batch_cb    cb;
	void           *arg;
	mps_err         err;
	pthread_mutex_t mtx;
	pthread_cond_t  cv;
	int             inflight;
	int             incb;   /* the user's callback is running */
	pid_t           pid;    /* the process that submitted what is in flight */
};

static void batch_done(void *arg, mps_err e, mps__rbuf *reply);

mps_err
mps_batch_alloc(mps_client *c, mps_batch **out)
{
	if (out != NULL) {
		*out = NULL;
	}
	if (c == NULL || out == NULL) {
		return mps__fail(MPS_ERR_INVALID, "mps_batch_alloc: NULL handle or result pointer");
	}
	mps_batch *b = calloc(1, sizeof(*b));
	if (b == NULL) {
		return mps__fail(MPS_ERR_NOMEM, "out of memory");
	}
	b->c = c;
	mps__arena_init(&b->build, NULL, 0);
	mps__arena_init(&b->reply, NULL, 0);
	mps__msg_init(&b->msg, NULL, 0);
	pthread_mutex_init(&b->mtx, NULL);
	pthread_cond_init(&b->cv, NULL);
	*out = b;
	return MPS_OK;
}

/* A batch in flight when its process forked is the parent's in the child:
 * nobody will complete it there (and its lock may have been held). */
static void
batch_forked(mps_batch *b)
{
	if (b->pid != 0 && b->pid != getpid()) {
		pthread_mutex_init(&b->mtx, NULL);
		pthread_cond_init(&b->cv, NULL);
		b->inflight = 0;
		b->incb     = 0;
		b->pid      = 0;
	}
}

void
mps_batch_free(mps_batch *b)
{
	if (b == NULL) {
		return;
	}
	batch_forked(b);
	if (b->ar != NULL) {
		b->tp->areq_free(b->ar); /* cancels; waits for a running callback */
	}
	mps__msg_fini(&b->msg);
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
	if (b == NULL) {
		mps__fail(MPS_ERR_INVALID, "mps_batch_reset: the batch is NULL");
		return;
	}
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

mps_err
mps_batch_append(mps_batch *b, const mps_op *op)
{
	if (b == NULL || op == NULL) {
		return mps__fail(MPS_ERR_INVALID, "mps_batch_append: NULL batch or op");
	}
	Mpstore__Op *o;
	mps_err      e = mps__op_build(&b->build, op, &o);
	if (e != MPS_OK) {
		return e;
	}
	if (oplist_push(b->in_else ? &b->fail : &b->ops, o) != 0) {
		return mps__fail(MPS_ERR_NOMEM, "out of memory");
	}
	int64_t t = mps__op_wait(op);
	if (!b->txn && b->wait >= 0) {
		b->wait = t < 0 ? -1 : b->wait + t; /* ops of a batch wait one after another */
	}
	return MPS_OK;
}

size_t
mps_batch_len(const mps_batch *b)
{
	if (b == NULL) {
		mps__fail(MPS_ERR_INVALID, "mps_batch_len: the batch is NULL");
		return 0;
	}
	return b->ops.n + b->fail.n;
}

mps_err
mps_txn_compare(mps_batch *b, const char *name, mps_cmp_target target, mps_cmp_op op,
    const mps_value *key, const mps_value *value)
{
	if (b == NULL || name == NULL) {
		return mps__fail(MPS_ERR_INVALID, "mps_txn_compare: NULL batch or name");
	}
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
	if (b == NULL) {
		return mps__fail(MPS_ERR_INVALID, "mps_txn_else: the batch is NULL");
	}
	b->txn     = 1;
	b->in_else = 1;
	return MPS_OK;
}

int
mps_txn_succeeded(const mps_batch *b)
{
	if (b == NULL) {
		mps__fail(MPS_ERR_INVALID, "mps_txn_succeeded: the batch is NULL");
		return 0;
	}
	return b->resp != NULL && b->resp->succeeded;
}

/* ---- sending ---- */

/* Pack the batch's request into b->msg; the previous reply goes. */
static mps_err
batch_pack(mps_batch *b)
{
	Mpstore__Request req;
	Mpstore__Txn     txn;
	mps_err          e;

	mps__clear_error();
	if ((e = mps__request_init(b->c, &req)) != MPS_OK) {
		return e;
	}
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
	return MPS_OK;
}

static int64_t
batch_timeout(const mps_batch *b)
{
	return mps__recv_timeout(b->c, b->txn ? 0 : b->wait);
}

/* Completion of a submitted batch, on the transport's thread. */
static void
batch_done(void *arg, mps_err e, mps__rbuf *reply)
{
	mps_batch *b = arg;
	if (e == MPS_OK) {
		e = mps__decode(reply, &b->reply, &b->resp);
		mps__rbuf_free(reply);
	}
	b->err          = e;
	mps_batch_cb cb = b->cb;
	void        *cbarg = b->arg;
	/* the callback may submit b again: mark it idle first */
	pthread_mutex_lock(&b->mtx);
	b->inflight = 0;
	b->incb     = 1;
	pthread_mutex_unlock(&b->mtx);
	if (cb != NULL) {
		cb(b, e, cbarg);
	}
	pthread_mutex_lock(&b->mtx);
	b->incb = 0;
	pthread_cond_broadcast(&b->cv);
	pthread_mutex_unlock(&b->mtx);
}

mps_err
mps_batch_submit(mps_batch *b, mps_batch_cb cb, void *arg)
{
	if (b == NULL) {
		return mps__fail(MPS_ERR_INVALID, "mps_batch_submit: the batch is NULL");
	}
	batch_forked(b);
	mps_err e;
	if (b->ar == NULL) {
		if ((e = b->c->tp->areq_alloc(b->c->tpd, batch_done, b, &b->ar)) != MPS_OK) {
			return e;
		}
		b->tp = b->c->tp;
	}
	if ((e = batch_pack(b)) != MPS_OK) {
		return e;
	}
	b->cb  = cb;
	b->arg = arg;
	pthread_mutex_lock(&b->mtx);
	b->inflight = 1;
	b->pid      = getpid();
	pthread_mutex_unlock(&b->mtx);
	if ((e = b->tp->submit(b->ar, &b->msg, batch_timeout(b))) != MPS_OK) {
		pthread_mutex_lock(&b->mtx);
		b->inflight = 0;
		pthread_cond_broadcast(&b->cv);
		pthread_mutex_unlock(&b->mtx);
	}
	return e;
}

void
mps_batch_wait(mps_batch *b)
{
	if (b == NULL) {
		mps__fail(MPS_ERR_INVALID, "mps_batch_wait: the batch is NULL");
		return;
	}
	batch_forked(b);
	pthread_mutex_lock(&b->mtx);
	while (b->inflight || b->incb) {
		pthread_cond_wait(&b->cv, &b->mtx);
	}
	pthread_mutex_unlock(&b->mtx);
}

mps_err
mps_batch_exec(mps_batch *b)
{
	if (b == NULL) {
		return mps__fail(MPS_ERR_INVALID, "mps_batch_exec: the batch is NULL");
	}
	batch_forked(b);
	mps_batch_wait(b); /* one request of a batch at a time */
	mps__rbuf reply;
	mps_err   e = batch_pack(b);
	if (e == MPS_OK && (e = mps__roundtrip(b->c, &b->msg, batch_timeout(b), &reply)) == MPS_OK) {
		e = mps__decode(&reply, &b->reply, &b->resp);
		mps__rbuf_free(&reply);
	}
	b->err = e;
	return e;
}

/* ---- results ---- */

size_t
mps_batch_nresults(const mps_batch *b)
{
	if (b == NULL) {
		mps__fail(MPS_ERR_INVALID, "mps_batch_nresults: the batch is NULL");
		return 0;
	}
	return b->resp != NULL ? b->resp->n_results : 0;
}

uint64_t
mps_batch_revision(const mps_batch *b)
{
	if (b == NULL) {
		mps__fail(MPS_ERR_INVALID, "mps_batch_revision: the batch is NULL");
		return 0;
	}
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
	if (b == NULL || out == NULL) {
		return mps__fail(MPS_ERR_INVALID, "mps_batch_result: NULL batch or result");
	}
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
