/* op.c - mps_op to wire Op, and one synchronous op (under every typed call). */
#include <stdlib.h>
#include <string.h>

#include "guard.h"
#include "mps_int.h"

static Mpstore__Value **
pv_array(mps__arena *a, const mps_value *v, size_t n)
{
	Mpstore__Value **arr = mps__arena_alloc(a, n * sizeof(*arr));
	Mpstore__Value  *pv  = mps__arena_alloc(a, n * sizeof(*pv));
	if (arr == NULL || pv == NULL) {
		return NULL;
	}
	for (size_t i = 0; i < n; i++) {
		if (mps__pv_fill(a, &pv[i], &v[i]) != MPS_OK) {
			return NULL;
		}
		arr[i] = &pv[i];
	}
	return arr;
}

mps_err
mps__op_build(mps__arena *a, const mps_op *op, Mpstore__Op **out)
{
	Mpstore__Op *o = mps__arena_alloc(a, sizeof(*o));
	if (o == NULL) {
		goto nomem;
	}
	mpstore__op__init(o);
	o->code = (Mpstore__OpCode) op->code;
	if (op->name != NULL &&
	    (o->name = mps__arena_strndup(a, op->name, strlen(op->name))) == NULL) {
		goto nomem;
	}
	if (op->value.type != MPS_NULL || op->send_null) {
		if ((o->value = mps__pv_new(a, &op->value)) == NULL) {
			goto nomem;
		}
	}
	if (op->key.type != MPS_NULL && (o->key = mps__pv_new(a, &op->key)) == NULL) {
		goto nomem;
	}
	if (op->expected.type != MPS_NULL || op->code == MPS_OP_VALUE_CAS) {
		if ((o->expected = mps__pv_new(a, &op->expected)) == NULL) {
			goto nomem;
		}
	}
	o->index      = op->index;
	o->stop       = op->stop;
	o->timeout_ms = op->timeout_ms;
	o->count      = op->count;
	o->flags      = op->flags;
	if (op->nvalues > 0) {
		if ((o->values = pv_array(a, op->values, op->nvalues)) == NULL) {
			goto nomem;
		}
		o->n_values = op->nvalues;
	}
	if (op->nkeys > 0) {
		if ((o->keys = pv_array(a, op->keys, op->nkeys)) == NULL) {
			goto nomem;
		}
		o->n_keys = op->nkeys;
	}
	o->kind      = (Mpstore__Kind) op->kind;
	o->elem_type = (Mpstore__ElemType) op->elem_type;
	o->key_type  = (Mpstore__KeyType) op->key_type;
	if (op->message_type != NULL &&
	    (o->message_type =
	            mps__arena_strndup(a, op->message_type, strlen(op->message_type))) == NULL) {
		goto nomem;
	}
	o->from_revision = op->from_revision;
	if (op->datalen > 0) {
		o->data.data = (uint8_t *) mps__arena_strndup(a, op->data, op->datalen);
		if (o->data.data == NULL) {
			goto nomem;
		}
		o->data.len = op->datalen;
	}
	*out = o;
	return MPS_OK;
nomem:
	return mps__fail(MPS_ERR_NOMEM, "out of memory");
}

mps_err
mps__result_status(const Mpstore__Result *r)
{
	if (r->status == MPSTORE__STATUS__OK) {
		return MPS_OK;
	}
	return mps__fail((mps_err) r->status, "%s",
	    r->error != NULL && r->error[0] ? r->error : mps_strerror((int) r->status));
}

/* The longest wait of a blocking op (0 for the others). */
int64_t
mps__op_wait(const mps_op *op)
{
	switch (op->code) {
	case MPS_OP_QUEUE_PUT:
	case MPS_OP_QUEUE_GET:
	case MPS_OP_QUEUE_JOIN:
	case MPS_OP_LOCK_ACQUIRE:
	case MPS_OP_SEM_ACQUIRE:
	case MPS_OP_EVENT_WAIT:
	case MPS_OP_COND_WAIT:
	case MPS_OP_BARRIER_WAIT:
	case MPS_OP_CHANGES: /* waits for a change when timeout_ms is set */
		return op->timeout_ms;
	default:
		return 0;
	}
}

mps_err
mps__call_op(mps_client *c, const mps_op *op, mps__call *call)
{
	Mpstore__Request req;
	Mpstore__Op     *ops[1];
	mps__msg         msg;
	mps__rbuf        reply;
	uint8_t          mem[1024];
	mps_err          e;

	mps__clear_error();
	mps__arena_init(&call->arena, call->buf, sizeof(call->buf));
	call->resp   = NULL;
	call->res    = NULL;
	call->shared = NULL;
	if (c == NULL) {
		return mps__null("call");
	}
	if (op == NULL) {
		return mps__fail(MPS_ERR_INVALID, "call: the op is NULL");
	}
	if ((e = mps__op_build(&call->arena, op, &ops[0])) != MPS_OK) {
		return e;
	}
	if (mps__coalescable(c, op)) {
		return mps__coalesce_call(c, ops[0], call);
	}
	if ((e = mps__request_init(c, &req)) != MPS_OK) {
		return e;
	}
	req.n_ops = 1;
	req.ops   = ops;
	mps__msg_init(&msg, mem, sizeof(mem));
	if ((e = mps__pack(&req, &msg)) != MPS_OK) {
		mps__msg_fini(&msg);
		return e;
	}
	/* the request is packed: its arena space can hold the reply */
	mps__arena_reset(&call->arena);
	e = mps__roundtrip(c, &msg, mps__recv_timeout(c, mps__op_wait(op)), &reply);
	mps__msg_fini(&msg);
	if (e != MPS_OK) {
		return e;
	}
	e = mps__decode(&reply, &call->arena, &call->resp);
	mps__rbuf_free(&reply);
	if (e != MPS_OK) {
		return e;
	}
	if (call->resp->n_results < 1) {
		return mps__fail(MPS_ERR_PROTOCOL, "reply without a result");
	}
	call->res = call->resp->results[0];
	return mps__result_status(call->res);
}

void
mps__call_fini(mps__call *call)
{
	/* the reply was decoded into the arena, or is shared (coalesced) */
	mps__arena_fini(&call->arena);
	mps__shared_release(call->shared);
	call->shared = NULL;
	call->resp   = NULL;
	call->res    = NULL;
}

mps_err
mps_exec_op(mps_client *c, const mps_op *op)
{
	MPS__NEED(c);
	MPS__NEED(op);
	mps__call call;
	mps_err   e = mps__call_op(c, op, &call);
	mps__call_fini(&call);
	return e;
}

/* ---- shorthands for the typed functions ---- */

mps_err
mps__op_none(mps_client *c, const mps_op *op)
{
	return mps_exec_op(c, op);
}

mps_err
mps__op_count(mps_client *c, const mps_op *op, int64_t *out)
{
	mps__call call;
	mps_err   e = mps__call_op(c, op, &call);
	if (e == MPS_OK && out != NULL) {
		*out = call.res->count;
	}
	mps__call_fini(&call);
	return e;
}

mps_err
mps__op_flag(mps_client *c, const mps_op *op, int *out)
{
	mps__call call;
	mps_err   e = mps__call_op(c, op, &call);
	if (e == MPS_OK && out != NULL) {
		*out = call.res->flag;
	}
	mps__call_fini(&call);
	return e;
}

mps_err
mps__op_value(mps_client *c, const mps_op *op, mps_value *out)
{
	mps__call call;
	mps_err   e = mps__call_op(c, op, &call);
	if (out != NULL) {
		*out = mps_null();
		if (e == MPS_OK && mps__pv_copy(call.res->value, out) != MPS_OK) {
			e = mps__fail(MPS_ERR_NOMEM, "out of memory");
		}
	}
	mps__call_fini(&call);
	return e;
}

mps_err
mps__op_values(mps_client *c, const mps_op *op, mps_value **out, size_t *n)
{
	mps__call call;
	mps_err   e = mps__call_op(c, op, &call);
	*out        = NULL;
	*n          = 0;
	if (e == MPS_OK) {
		if (mps__pv_copy_array(call.res->values, call.res->n_values, out) != MPS_OK) {
			e = mps__fail(MPS_ERR_NOMEM, "out of memory");
		} else {
			*n = call.res->n_values;
		}
	}
	mps__call_fini(&call);
	return e;
}
