/*
 * coalesce.c - synchronous calls made at the same time on one handle share
 * requests ("natural batching"). A caller queues its op; if no request of
 * the handle's coalescer is in flight it sends at once, alone (no added
 * latency); otherwise it waits, and when the request in flight returns,
 * the first waiter sends everything queued meanwhile as one batch and
 * hands each caller its own result. Only ops that never wait in the daemon
 * and carry small values take part (a parked op would hold up the batch's
 * reply); a batch is applied in order, each op with its own result, as
 * concurrent calls would be. MPSTORE_COALESCE=0 turns it off.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mps_int.h"

#define COAL_MAX_OPS   128          /* ops per shared request */
#define COAL_MAX_VALUE 4096         /* bytes in one value for an op to take part */

struct mps__shared {
	int                refs; /* callers still reading resp (atomic) */
	mps__arena         arena;
	Mpstore__Response *resp;
};

typedef struct mps__citem {
	Mpstore__Op        *op;
	mps_err             err;        /* request-level failure */
	char                errmsg[256];
	mps__shared        *sh;
	size_t              idx;
	int                 done, lead;
	struct mps__citem *next;
} mps__citem;

static int
small(const mps_value *v)
{
	return v->type != MPS_STRING && v->type != MPS_BYTES && v->type != MPS_MESSAGE
	           ? 1
	           : v->u.s.len <= COAL_MAX_VALUE;
}

int
mps__coalescable(const mps_client *c, const mps_op *op)
{
	if (!c->coalesce || op->nvalues > 0 || op->nkeys > 0 || op->datalen > 0 ||
	    !small(&op->value) || !small(&op->key) || !small(&op->expected)) {
		return 0;
	}
	switch (op->code) {
	case MPS_OP_QUEUE_PUT:
	case MPS_OP_QUEUE_GET:
		return op->timeout_ms == 0; /* never waits */
	case MPS_OP_PING:
	case MPS_OP_INFO:
	case MPS_OP_VALUE_GET:
	case MPS_OP_VALUE_SET:
	case MPS_OP_VALUE_ADD:
	case MPS_OP_VALUE_CAS:
	case MPS_OP_LIST_APPEND:
	case MPS_OP_LIST_INSERT:
	case MPS_OP_LIST_GET:
	case MPS_OP_LIST_SET:
	case MPS_OP_LIST_POP:
	case MPS_OP_LIST_REMOVE:
	case MPS_OP_LIST_INDEX:
	case MPS_OP_LIST_LEN:
	case MPS_OP_DICT_SET:
	case MPS_OP_DICT_GET:
	case MPS_OP_DICT_DEL:
	case MPS_OP_DICT_CONTAINS:
	case MPS_OP_DICT_LEN:
	case MPS_OP_DICT_SETDEFAULT:
	case MPS_OP_DICT_POP:
	case MPS_OP_QUEUE_SIZE:
	case MPS_OP_QUEUE_EMPTY:
	case MPS_OP_QUEUE_FULL:
	case MPS_OP_EVENT_IS_SET:
	case MPS_OP_LOCK_LOCKED:
	case MPS_OP_SEM_VALUE: return 1;
	default: return 0;
	}
}

void
mps__shared_release(mps__shared *sh)
{
	if (sh != NULL && __atomic_sub_fetch(&sh->refs, 1, __ATOMIC_ACQ_REL) == 0) {
		mps__arena_fini(&sh->arena);
		free(sh);
	}
}

/* Send the n queued ops as one request; fill in each item. The caller
 * holds no lock: the items' owners are waiting. */
static void
send_batch(mps_client *c, mps__citem **items, size_t n)
{
	Mpstore__Request req;
	Mpstore__Op     *ops[COAL_MAX_OPS];
	mps__msg         msg;
	mps__rbuf        reply;
	uint8_t          mem[2048];
	mps__shared     *sh = NULL;
	mps_err          e;

	mps__clear_error();
	for (size_t i = 0; i < n; i++) {
		ops[i] = items[i]->op;
	}
	mps__msg_init(&msg, mem, sizeof(mem));
	if ((e = mps__request_init(c, &req)) == MPS_OK) {
		req.n_ops = n;
		req.ops   = ops;
		e         = mps__pack(&req, &msg);
	}
	if (e == MPS_OK && (e = mps__roundtrip(c, &msg, mps__recv_timeout(c, 0), &reply)) == MPS_OK) {
		if ((sh = calloc(1, sizeof(*sh))) == NULL) {
			e = mps__fail(MPS_ERR_NOMEM, "out of memory");
		} else {
			mps__arena_init(&sh->arena, NULL, 0);
			e = mps__decode(&reply, &sh->arena, &sh->resp);
			if (e == MPS_OK && sh->resp->n_results != n) {
				e = mps__fail(MPS_ERR_PROTOCOL, "reply with %zu results for %zu ops",
				    sh->resp->n_results, n);
			}
		}
		mps__rbuf_free(&reply);
	}
	mps__msg_fini(&msg);
	if (e != MPS_OK) {
		if (sh != NULL) {
			mps__arena_fini(&sh->arena);
			free(sh);
			sh = NULL;
		}
		for (size_t i = 0; i < n; i++) {
			items[i]->err = e;
			snprintf(items[i]->errmsg, sizeof(items[i]->errmsg), "%s", mps_last_error());
		}
		return;
	}
	sh->refs = (int) n;
	for (size_t i = 0; i < n; i++) {
		items[i]->sh  = sh;
		items[i]->idx = i;
	}
}

mps_err
mps__coalesce_call(mps_client *c, Mpstore__Op *op, mps__call *call)
{
	mps__citem it;
	memset(&it, 0, sizeof(it));
	it.op = op;

	pthread_mutex_lock(&c->cmtx);
	if (c->ctail != NULL) {
		c->ctail->next = &it;
	} else {
		c->chead = &it;
	}
	c->ctail = &it;
	if (c->cbusy) {
		while (!it.done && !it.lead) {
			pthread_cond_wait(&c->ccv, &c->cmtx);
		}
	} else {
		c->cbusy = 1;
		it.lead  = 1;
	}
	if (!it.done) {
		/* lead: send what is queued (this op first), then pass the lead on */
		mps__citem *batch[COAL_MAX_OPS];
		size_t      n = 0;
		while (c->chead != NULL && n < COAL_MAX_OPS) {
			batch[n++] = c->chead;
			c->chead   = c->chead->next;
		}
		if (c->chead == NULL) {
			c->ctail = NULL;
		}
		pthread_mutex_unlock(&c->cmtx);
		send_batch(c, batch, n);
		pthread_mutex_lock(&c->cmtx);
		for (size_t i = 0; i < n; i++) {
			batch[i]->done = 1;
		}
		if (c->chead != NULL) {
			c->chead->lead = 1; /* the next one sends what queued meanwhile */
		} else {
			c->cbusy = 0;
		}
		pthread_cond_broadcast(&c->ccv);
	}
	pthread_mutex_unlock(&c->cmtx);

	if (it.err != MPS_OK) {
		return mps__fail(it.err, "%s", it.errmsg[0] ? it.errmsg : mps_strerror(it.err));
	}
	call->shared = it.sh;
	call->resp   = it.sh->resp;
	call->res    = it.sh->resp->results[it.idx];
	return mps__result_status(call->res);
}
