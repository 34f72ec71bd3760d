/*
 * dispatch.c - one request from bytes to answer: decode, session and
 * re-send check, run the batch or the txn under the store lock, park ops
 * that must wait, and hand changes and the packed reply to the commit
 * thread (or reply at once when nothing changed).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commit.h"
#include "mpstore/mpstore.h"
#include "persist.h"
#include "dispatch_int.h"
#include "pack.h"
#include "wire.h"
#include "req.h"
#include "session.h"

#define MPSD_MAX_OPS 100000


static nng_msg *error_reply(uint64_t id, Mpstore__Status st, const char *msg)
{
	Mpstore__Response resp;
	mpstore__response__init(&resp);
	resp.version = MPS_PROTOCOL_VERSION;
	resp.id = id;
	resp.status = st;
	resp.error = (char *)msg;
	return mpsd_pack_response(&resp);
}

static void req_reset(mpsd_req *r)
{
	if (r->rq != NULL) {
		/* unpacked into the arena: nothing to free separately */
		r->rq = NULL;
	}
	mpsd_arena_reset(&r->arena);
	r->results = NULL;
	r->nres = r->next_op = 0;
	memset(&r->x, 0, sizeof(r->x));
	r->writes = r->action = r->succeeded = 0;
	r->action_arg = NULL;
	r->status = MPSTORE__STATUS__OK;
	r->error = NULL;
	r->dup = NULL;
}

/* Answer r (and a re-send waiting on it), recording the answer for re-sends. */
static void answer(mpsd_daemon *d, mpsd_req *r, nng_msg *m)
{
	if (r->rq != NULL && r->rq->client_id != 0) {
		mpsd_session *s = mpsd_session_find(d->sess, r->rq->client_id);
		if (s != NULL)
			mpsd_session_answered(s, r->rq->id, m ? nng_msg_body(m) : NULL,
			    m ? nng_msg_len(m) : 0, r->writes && m != NULL);
	}
	mpsd_req *dup = r->dup;
	r->dup = NULL;
	if (dup != NULL && m != NULL) {
		nng_msg *c;
		if (nng_msg_dup(&c, m) == 0)
			mpsd_server_reply(d, dup, c);
		else
			mpsd_server_abandon(d, dup);
	} else if (dup != NULL) {
		mpsd_server_abandon(d, dup);
	}
	req_reset(r);
	if (m != NULL)
		mpsd_server_reply(d, r, m);
	else
		mpsd_server_abandon(d, r);
}

void mpsd_dispatch_committed(mpsd_daemon *d, mpsd_req *r, nng_msg *m)
{
	if (r->rq != NULL && r->rq->client_id != 0) {
		mpsd_session *s = mpsd_session_find(d->sess, r->rq->client_id);
		if (s != NULL)
			mpsd_session_answered(s, r->rq->id, m ? nng_msg_body(m) : NULL,
			    m ? nng_msg_len(m) : 0, m != NULL);
	}
	r->dup_send = r->dup;
	r->dup = NULL;
}

void mpsd_dispatch_send(mpsd_daemon *d, mpsd_req *r, nng_msg *m)
{
	mpsd_req *dup = r->dup_send;
	r->dup_send = NULL;
	if (dup != NULL) {
		nng_msg *c;
		if (m != NULL && nng_msg_dup(&c, m) == 0)
			mpsd_server_reply(d, dup, c);
		else
			mpsd_server_abandon(d, dup);
	}
	req_reset(r);
	if (m != NULL)
		mpsd_server_reply(d, r, m);
	else
		mpsd_server_abandon(d, r);
}

/* ---- daemon-level ops (those the store core does not know) ---- */

static int op_hello(mpsd_daemon *d, mpsd_exec *x)
{
	Mpstore__Value *v = mpsd_exec_alloc(x, sizeof(*v));
	if (v == NULL)
		return mpsd_exec_fail(x, MPSTORE__STATUS__ERR_LIMIT, "out of memory");
	mpstore__value__init(v);
	v->v_case = MPSTORE__VALUE__V_STRING_VALUE;
	v->string_value = (char *)"mpstored " MPS_VERSION_STRING;
	x->res->value = v;
	x->res->count = MPS_PROTOCOL_VERSION;
	x->res->token = (uint64_t)d->cfg.lease_ms;
	x->res->revision = mpsd_store_revision(d->st);
	/* "key=value" facts for clients: where notifications are published */
	if (d->cfg.pub_url != NULL && d->cfg.pub_url[0] != '\0') {
		Mpstore__Value *pv = mpsd_exec_alloc(x, sizeof(*pv));
		x->res->values = mpsd_exec_vals(x, 1);
		if (pv == NULL || x->res->values == NULL)
			return mpsd_exec_fail(x, MPSTORE__STATUS__ERR_LIMIT, "out of memory");
		mpstore__value__init(pv);
		pv->v_case = MPSTORE__VALUE__V_STRING_VALUE;
		pv->string_value = mpsd_arena_printf(x->arena, "pub=%s", d->cfg.pub_url);
		x->res->values[0] = pv;
		x->res->n_values = 1;
	}
	return 0;
}

int dispatch_is_write(mpsd_daemon *d, const Mpstore__Op *op)
{
	switch (op->code) {
	case MPSTORE__OP_CODE__OP_REGISTER_SCHEMA: return 1;
	case MPSTORE__OP_CODE__OP_HELLO:
	case MPSTORE__OP_CODE__OP_PING:
	case MPSTORE__OP_CODE__OP_SNAPSHOT:
	case MPSTORE__OP_CODE__OP_BACKUP:
	case MPSTORE__OP_CODE__OP_GET_SCHEMA:
	case MPSTORE__OP_CODE__OP_CHANGES:
	case MPSTORE__OP_CODE__OP_STATS: return 0;
	default: return mpsd_store_op_writes(d->st, op);
	}
}

/* Schema ops are provided by schema.c when it is linked in. */
int mpsd_schema_op(mpsd_daemon *d, mpsd_exec *x) __attribute__((weak));

int dispatch_exec_op(mpsd_daemon *d, mpsd_req *r, mpsd_exec *x)
{
	const Mpstore__Op *op = x->op;
	int                w = dispatch_is_write(d, op);
	if (w) {
		r->writes = 1;
		if (__atomic_load_n(&d->readonly, __ATOMIC_ACQUIRE))
			return mpsd_exec_fail(x, MPSTORE__STATUS__ERR_READONLY,
			    "the daemon refuses writes: %s", d->readonly_why);
	}
	switch (op->code) {
	case MPSTORE__OP_CODE__OP_HELLO: return op_hello(d, x);
	case MPSTORE__OP_CODE__OP_PING:
		x->res->revision = mpsd_store_revision(d->st);
		return 0;
	case MPSTORE__OP_CODE__OP_SNAPSHOT:
	case MPSTORE__OP_CODE__OP_BACKUP:
		if (r == NULL || r->rq->n_ops != 1)
			return mpsd_exec_fail(x, MPSTORE__STATUS__ERR_INVALID,
			    "snapshot and backup must be the only op of their request");
		if (op->code == MPSTORE__OP_CODE__OP_BACKUP) {
			char err[400];
			if (d->cfg.backup_dir == NULL)
				return mpsd_exec_fail(x, MPSTORE__STATUS__ERR_INVALID,
				    "backups are off: start mpstored with --backup-dir DIR");
			if (op->value == NULL || op->value->v_case != MPSTORE__VALUE__V_STRING_VALUE)
				return mpsd_exec_fail(x, MPSTORE__STATUS__ERR_INVALID,
				    "backup needs a file name as a string value");
			if (mpsp_backup_name_check(op->value->string_value, err, sizeof(err)) != 0)
				return mpsd_exec_fail(x, MPSTORE__STATUS__ERR_INVALID, "%s", err);
			r->action = MPSD_ACT_BACKUP;
			r->action_arg = op->value->string_value;
		} else {
			r->action = MPSD_ACT_SNAPSHOT;
		}
		x->res->revision = mpsd_store_revision(d->st);
		return 0;
	case MPSTORE__OP_CODE__OP_CHANGES: return mpsd_commit_changes(d, x);
	case MPSTORE__OP_CODE__OP_STATS: mpsd_commit_stats(d, x); return 0;
	case MPSTORE__OP_CODE__OP_REGISTER_SCHEMA:
	case MPSTORE__OP_CODE__OP_GET_SCHEMA:
		if (mpsd_schema_op == NULL)
			return mpsd_exec_fail(x, MPSTORE__STATUS__ERR_UNKNOWN_OP,
			    "this daemon was built without schema support");
		return mpsd_schema_op(d, x);
	case MPSTORE__OP_CODE__OP_NONE:
		return mpsd_exec_fail(x, MPSTORE__STATUS__ERR_UNKNOWN_OP, "op code 0 (none)");
	default: break;
	}
	if (op->code > MPSTORE__OP_CODE__OP_BARRIER_INFO ||
	    protobuf_c_enum_descriptor_get_value(&mpstore__op_code__descriptor, (int)op->code) == NULL)
		return mpsd_exec_fail(x, MPSTORE__STATUS__ERR_UNKNOWN_OP, "unknown op code %d",
		    (int)op->code);
	return mpsd_store_exec(d->st, x);
}

/* A failed op's result says only what failed; every result carries a
 * revision (its change's, or the current one). */
int dispatch_tidy(mpsd_daemon *d, Mpstore__Result *res, int rv)
{
	if (rv > 0) {
		char *err = res->error;
		mpstore__result__init(res);
		res->status = (Mpstore__Status)rv;
		res->error = err;
	}
	if (rv != MPSD_PARK && res->revision == 0)
		res->revision = mpsd_store_revision(d->st);
	return rv;
}

Mpstore__Result *dispatch_new_result(mpsd_req *r)
{
	Mpstore__Result *res = mpsd_arena_alloc(&r->arena, sizeof(*res));
	if (res != NULL)
		mpstore__result__init(res);
	return res;
}

void dispatch_exec_setup(mpsd_daemon *d, mpsd_req *r, const Mpstore__Op *op, Mpstore__Result *res)
{
	r->x.st = d->st;
	r->x.session_id = r->rq->client_id;
	r->x.op = op;
	r->x.res = res;
	r->x.arena = &r->arena;
	r->x.park_owner = r;
}

/* Pack the answer and hand it on: at once, or after the commit. */
void dispatch_finish(mpsd_daemon *d, mpsd_req *r)
{
	Mpstore__Response resp;
	mpstore__response__init(&resp);
	resp.version = MPS_PROTOCOL_VERSION;
	resp.id = r->rq->id;
	resp.status = r->status;
	resp.error = (char *)r->error;
	resp.revision = mpsd_store_revision(d->st);
	resp.results = r->results;
	resp.n_results = r->nres;
	resp.succeeded = r->succeeded;
	nng_msg *m = mpsd_pack_response(&resp);
	if (m == NULL) {
		mpsd_log("out of memory packing a reply");
		answer(d, r, NULL);
		return;
	}
	if (r->x.nchanges > 0 || r->action != MPSD_ACT_NONE) {
		/* answered by the commit thread once the changes are durable */
		mpsd_commit_submit(d, &r->x, r, m);
		return;
	}
	answer(d, r, m);
}

/* Run ops from r->next_op; returns MPSD_PARK if one parked. */
static int run_batch(mpsd_daemon *d, mpsd_req *r)
{
	for (; r->next_op < r->nres; r->next_op++) {
		Mpstore__Result *res = r->results[r->next_op];
		dispatch_exec_setup(d, r, r->rq->ops[r->next_op], res);
		r->x.w = NULL;
		r->x.expired = 0;
		int rv = dispatch_tidy(d, res, dispatch_exec_op(d, r, &r->x));
		if (rv == MPSD_PARK) {
			/* what the batch changed so far commits without waiting */
			if (r->x.nchanges > 0) {
				mpsd_commit_submit(d, &r->x, NULL, NULL);
				r->x.nchanges = 0;
				r->x.changes = NULL;
				r->x.cap = 0;
			}
			mpsd_server_wake_clock(d);
			return MPSD_PARK;
		}
	}
	dispatch_finish(d, r);
	return 0;
}

int mpsd_dispatch_resume(void *owner, mpsd_waiter *w, int expired)
{
	mpsd_req    *r = owner;
	mpsd_daemon *d = r->d;
	Mpstore__Result *res = r->results[r->next_op];
	mpstore__result__init(res);
	dispatch_exec_setup(d, r, r->rq->ops[r->next_op], res);
	r->x.w = w;
	r->x.expired = expired;
	int rv = dispatch_tidy(d, res, dispatch_exec_op(d, r, &r->x));
	if (rv == MPSD_PARK)
		return MPSD_PARK;
	mpsd_waiter_free(w);
	r->x.w = NULL;
	r->x.expired = 0;
	r->next_op++;
	run_batch(d, r);
	return rv;
}

void mpsd_dispatch_drop(void *owner)
{
	mpsd_req *r = owner;
	r->x.w = NULL; /* the store frees the waiter */
	if (r->rq != NULL && r->rq->client_id != 0) {
		mpsd_session *s = mpsd_session_find(r->d->sess, r->rq->client_id);
		if (s != NULL)
			mpsd_session_forget(s, r->rq->id);
	}
	if (r->dup != NULL)
		mpsd_server_abandon(r->d, r->dup);
	req_reset(r);
	mpsd_server_abandon(r->d, r);
}

void mpsd_dispatch_session_gone(mpsd_daemon *d, uint64_t sid)
{
	mpsd_arena      a;
	Mpstore__Result res;
	mpsd_exec       x;
	mpsd_arena_init(&a);
	mpstore__result__init(&res);
	memset(&x, 0, sizeof(x));
	x.st = d->st;
	x.session_id = sid;
	x.res = &res;
	x.arena = &a;
	mpsd_store_session_gone(d->st, &x, sid, mpsd_dispatch_drop);
	if (x.nchanges > 0)
		mpsd_commit_submit(d, &x, NULL, NULL);
	mpsd_store_run_wakeups(d->st, mpsd_dispatch_resume);
	mpsd_arena_fini(&a);
}

/* ---- entry ---- */

/* Constant-time comparison of the request's key with ours. */
static int auth_ok(const mpsd_daemon *d, const Mpstore__Request *rq)
{
	if (rq->auth.len != d->cfg.auth_len)
		return 0;
	unsigned char diff = 0;
	for (size_t i = 0; i < rq->auth.len; i++)
		diff |= rq->auth.data[i] ^ d->cfg.auth_key[i];
	return diff == 0;
}

void mpsd_dispatch(mpsd_daemon *d, mpsd_req *r, nng_msg *msg)
{
	req_reset(r);
	r->pipe = nng_msg_get_pipe(msg).id;
	ProtobufCAllocator al = {arena_pb_alloc, arena_pb_free, &r->arena};
	const char *why = NULL;
	r->rq = mpw_request_decode(&al, nng_msg_len(msg), nng_msg_body(msg), &why);
	nng_msg_free(msg);
	if (r->rq == NULL) {
		char msgbuf[200];
		snprintf(msgbuf, sizeof(msgbuf), "request does not decode as an mpstore.Request: %s", why);
		nng_msg *m = error_reply(0, MPSTORE__STATUS__ERR_MALFORMED, msgbuf);
		req_reset(r);
		if (m != NULL)
			mpsd_server_reply(d, r, m);
		else
			mpsd_server_abandon(d, r);
		return;
	}
	Mpstore__Request *rq = r->rq;
	const char *bad = NULL;
	__atomic_add_fetch(&d->requests, 1, __ATOMIC_RELAXED);
	Mpstore__Status badst = MPSTORE__STATUS__ERR_INVALID;
	if (d->cfg.auth_len > 0 && !auth_ok(d, rq)) {
		bad = "authentication required: this daemon needs the auth key";
		badst = MPSTORE__STATUS__ERR_AUTH;
	} else if (rq->version > MPS_PROTOCOL_VERSION || rq->version == 0) {
		bad = "protocol version not supported (this daemon speaks version 1)";
		badst = MPSTORE__STATUS__ERR_VERSION;
	} else if (rq->n_ops > MPSD_MAX_OPS) {
		bad = "too many ops in one request";
		badst = MPSTORE__STATUS__ERR_TOO_BIG;
	} else if (rq->txn != NULL && rq->n_ops > 0) {
		bad = "a request carries ops or a txn, not both";
	}
	if (bad != NULL) {
		nng_msg *m = error_reply(rq->id, badst, bad);
		req_reset(r);
		if (m != NULL)
			mpsd_server_reply(d, r, m);
		else
			mpsd_server_abandon(d, r);
		return;
	}
	mpsd_server_hold();
	mpsd_store_lock(d->st);
	if (rq->client_id != 0) {
		mpsd_session *s = mpsd_session_get(d->sess, rq->client_id);
		if (s != NULL) {
			mpsd_session_touch(s, r->pipe, mpsd_now_ms());
			const uint8_t *data = NULL;
			size_t         len = 0;
			mpsd_req      *pending = NULL;
			switch (mpsd_session_seen(s, rq->id, r, &data, &len, &pending)) {
			case MPSD_SEEN_DONE: {
				nng_msg *m;
				int      ok = nng_msg_alloc(&m, len) == 0;
				if (ok)
					memcpy(nng_msg_body(m), data, len);
				mpsd_store_unlock(d->st);
				mpsd_server_flush(d);
				req_reset(r);
				if (ok)
					mpsd_server_reply(d, r, m);
				else
					mpsd_server_abandon(d, r);
				return;
			}
			case MPSD_SEEN_PENDING:
				if (pending != r) {
					/* answered with the first; an older re-send's
					 * connection is gone, so it is let go */
					if (pending->dup != NULL)
						mpsd_server_abandon(d, pending->dup);
					pending->dup = r;
					mpsd_store_unlock(d->st);
					mpsd_server_flush(d);
					return;
				}
				break;
			default: break;
			}
		}
	}
	if (rq->txn != NULL) {
		dispatch_run_txn(d, r);
	} else {
		r->nres = rq->n_ops;
		r->results = mpsd_arena_alloc(&r->arena, (rq->n_ops ? rq->n_ops : 1) * sizeof(*r->results));
		for (size_t i = 0; r->results != NULL && i < rq->n_ops; i++)
			if ((r->results[i] = dispatch_new_result(r)) == NULL)
				r->results = NULL;
		if (r->results == NULL) {
			r->nres = 0;
			r->status = MPSTORE__STATUS__ERR_LIMIT;
			r->error = "out of memory";
			dispatch_finish(d, r);
		} else {
			run_batch(d, r);
		}
	}
	mpsd_store_run_wakeups(d->st, mpsd_dispatch_resume);
	mpsd_store_unlock(d->st);
	mpsd_server_flush(d);
}
