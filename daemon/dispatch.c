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
#include "req.h"
#include "session.h"

#define MPSD_MAX_OPS 100000

/* protobuf-c allocations from the request's arena (freed with it) */
static void *arena_pb_alloc(void *data, size_t size) { return mpsd_arena_alloc(data, size); }
static void  arena_pb_free(void *data, void *p) { (void)data; (void)p; }

static nng_msg *pack_response(mpsd_req *r, const Mpstore__Response *resp)
{
	size_t   n = mpstore__response__get_packed_size(resp);
	nng_msg *m;
	if (nng_msg_alloc(&m, n) != 0)
		return NULL;
	mpstore__response__pack(resp, nng_msg_body(m));
	(void)r;
	return m;
}

static nng_msg *error_reply(uint64_t id, Mpstore__Status st, const char *msg)
{
	Mpstore__Response resp;
	mpstore__response__init(&resp);
	resp.version = MPS_PROTOCOL_VERSION;
	resp.id = id;
	resp.status = st;
	resp.error = (char *)msg;
	return pack_response(NULL, &resp);
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
	return 0;
}

static int is_write_op(mpsd_daemon *d, const Mpstore__Op *op)
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

static int exec_op(mpsd_daemon *d, mpsd_req *r, mpsd_exec *x)
{
	const Mpstore__Op *op = x->op;
	int                w = is_write_op(d, op);
	if (w) {
		r->writes = 1;
		if (d->readonly)
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
			if (op->value == NULL ||
			    op->value->v_case != MPSTORE__VALUE__V_STRING_VALUE ||
			    op->value->string_value[0] == '\0')
				return mpsd_exec_fail(x, MPSTORE__STATUS__ERR_INVALID,
				    "backup needs a destination path as a string value");
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
static int tidy_result(mpsd_daemon *d, Mpstore__Result *res, int rv)
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

static Mpstore__Result *new_result(mpsd_req *r)
{
	Mpstore__Result *res = mpsd_arena_alloc(&r->arena, sizeof(*res));
	if (res != NULL)
		mpstore__result__init(res);
	return res;
}

static void exec_setup(mpsd_daemon *d, mpsd_req *r, const Mpstore__Op *op, Mpstore__Result *res)
{
	r->x.st = d->st;
	r->x.session_id = r->rq->client_id;
	r->x.op = op;
	r->x.res = res;
	r->x.arena = &r->arena;
	r->x.park_owner = r;
}

/* Pack the answer and hand it on: at once, or after the commit. */
static void finish(mpsd_daemon *d, mpsd_req *r)
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
	nng_msg *m = pack_response(r, &resp);
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
		exec_setup(d, r, r->rq->ops[r->next_op], res);
		r->x.w = NULL;
		r->x.expired = 0;
		int rv = tidy_result(d, res, exec_op(d, r, &r->x));
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
	finish(d, r);
	return 0;
}

int mpsd_dispatch_resume(void *owner, mpsd_waiter *w, int expired)
{
	mpsd_req    *r = owner;
	mpsd_daemon *d = r->d;
	Mpstore__Result *res = r->results[r->next_op];
	mpstore__result__init(res);
	exec_setup(d, r, r->rq->ops[r->next_op], res);
	r->x.w = w;
	r->x.expired = expired;
	int rv = tidy_result(d, res, exec_op(d, r, &r->x));
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

/* ---- transactions ---- */

static int cmp_values(const Mpstore__Value *a, const Mpstore__Value *b, int *out)
{
	Mpstore__Value__VCase ca = a ? a->v_case : MPSTORE__VALUE__V__NOT_SET;
	Mpstore__Value__VCase cb = b ? b->v_case : MPSTORE__VALUE__V__NOT_SET;
	int an = ca == MPSTORE__VALUE__V_INT_VALUE || ca == MPSTORE__VALUE__V_DOUBLE_VALUE;
	int bn = cb == MPSTORE__VALUE__V_INT_VALUE || cb == MPSTORE__VALUE__V_DOUBLE_VALUE;
	if (an && bn) {
		if (ca == MPSTORE__VALUE__V_INT_VALUE && cb == MPSTORE__VALUE__V_INT_VALUE) {
			*out = (a->int_value > b->int_value) - (a->int_value < b->int_value);
			return 0;
		}
		double x = ca == MPSTORE__VALUE__V_INT_VALUE ? (double)a->int_value : a->double_value;
		double y = cb == MPSTORE__VALUE__V_INT_VALUE ? (double)b->int_value : b->double_value;
		*out = (x > y) - (x < y);
		return 0;
	}
	if (ca != cb)
		return -1; /* only == / != make sense */
	switch (ca) {
	case MPSTORE__VALUE__V__NOT_SET: *out = 0; return 0;
	case MPSTORE__VALUE__V_BOOL_VALUE: *out = (int)a->bool_value - (int)b->bool_value; return 0;
	case MPSTORE__VALUE__V_STRING_VALUE: {
		int c = strcmp(a->string_value, b->string_value);
		*out = (c > 0) - (c < 0);
		return 0;
	}
	default: {
		const ProtobufCBinaryData *x =
		    ca == MPSTORE__VALUE__V_BYTES_VALUE ? &a->bytes_value : &a->message_value;
		const ProtobufCBinaryData *y =
		    ca == MPSTORE__VALUE__V_BYTES_VALUE ? &b->bytes_value : &b->message_value;
		size_t n = x->len < y->len ? x->len : y->len;
		int    c = n ? memcmp(x->data, y->data, n) : 0;
		if (c == 0)
			c = (x->len > y->len) - (x->len < y->len);
		*out = (c > 0) - (c < 0);
		return 0;
	}
	}
}

/* Evaluate one compare; returns 1 true, 0 false, or a status (>1) with msg. */
static int eval_compare(mpsd_daemon *d, mpsd_req *r, const Mpstore__Compare *cp, char *msg,
    size_t msglen)
{
	mpsd_container *c = cp->name ? mpsd_store_find(d->st, cp->name) : NULL;
	Mpstore__Value  lhs_v;
	const Mpstore__Value *lhs = &lhs_v;
	mpstore__value__init(&lhs_v);
	if (cp->target == MPSTORE__COMPARE_TARGET__TARGET_EXISTS) {
		lhs_v.v_case = MPSTORE__VALUE__V_BOOL_VALUE;
		lhs_v.bool_value = c != NULL;
	} else if (c == NULL) {
		snprintf(msg, msglen, "txn compare: no container named '%s'", cp->name ? cp->name : "");
		return MPSTORE__STATUS__ERR_NOT_FOUND;
	} else if (cp->target == MPSTORE__COMPARE_TARGET__TARGET_REVISION) {
		lhs_v.v_case = MPSTORE__VALUE__V_INT_VALUE;
		lhs_v.int_value = (int64_t)c->revision;
	} else if (cp->target == MPSTORE__COMPARE_TARGET__TARGET_LENGTH) {
		lhs_v.v_case = MPSTORE__VALUE__V_INT_VALUE;
		lhs_v.int_value = c->k->length ? c->k->length(c) : 0;
	} else {
		/* value or dict entry: read it with the kind's own get */
		Mpstore__Op op;
		mpstore__op__init(&op);
		op.name = cp->name;
		if (cp->target == MPSTORE__COMPARE_TARGET__TARGET_VALUE) {
			op.code = MPSTORE__OP_CODE__OP_VALUE_GET;
		} else {
			op.code = MPSTORE__OP_CODE__OP_DICT_GET;
			op.key = cp->key;
			op.flags = MPSTORE__OP_FLAG__FLAG_HAS_DEFAULT; /* missing -> null */
		}
		Mpstore__Result res;
		mpstore__result__init(&res);
		mpsd_exec x;
		memset(&x, 0, sizeof(x));
		x.st = d->st;
		x.op = &op;
		x.res = &res;
		x.arena = &r->arena;
		x.nowait = 1;
		int rv = mpsd_store_exec(d->st, &x);
		if (rv != 0) {
			snprintf(msg, msglen, "txn compare on '%s': %s", cp->name,
			    res.error ? res.error : "failed");
			return rv;
		}
		lhs = res.value;
	}
	int cmp;
	if (cmp_values(lhs, cp->value, &cmp) != 0) {
		if (cp->op == MPSTORE__COMPARE_OP__CMP_EQ)
			return 0;
		if (cp->op == MPSTORE__COMPARE_OP__CMP_NE)
			return 1;
		snprintf(msg, msglen, "txn compare on '%s': values of different types are not ordered",
		    cp->name);
		return MPSTORE__STATUS__ERR_WRONG_TYPE;
	}
	switch (cp->op) {
	case MPSTORE__COMPARE_OP__CMP_EQ: return cmp == 0;
	case MPSTORE__COMPARE_OP__CMP_NE: return cmp != 0;
	case MPSTORE__COMPARE_OP__CMP_LT: return cmp < 0;
	case MPSTORE__COMPARE_OP__CMP_LE: return cmp <= 0;
	case MPSTORE__COMPARE_OP__CMP_GT: return cmp > 0;
	case MPSTORE__COMPARE_OP__CMP_GE: return cmp >= 0;
	default:
		snprintf(msg, msglen, "txn compare: unknown operator %d", (int)cp->op);
		return MPSTORE__STATUS__ERR_INVALID;
	}
}

/* Saved state of a container a txn writes to, to undo a failed txn. */
typedef struct txn_save {
	const char       *name;
	int               existed;
	Mpstore__Change **ch;
	size_t            n;
	uint64_t          rev;
} txn_save;

typedef struct collect_ctx {
	mpsd_arena       *a;
	Mpstore__Change **v;
	size_t            n, cap;
	int               err;
} collect_ctx;

/* Keep a dump record: pack it now (the container will change). */
static int txn_collect(void *arg, const Mpstore__Change *ch)
{
	collect_ctx *cc = arg;
	if (cc->n == cc->cap) {
		size_t            ncap = cc->cap ? cc->cap * 2 : 4;
		Mpstore__Change **nv = mpsd_arena_alloc(cc->a, ncap * sizeof(*nv));
		if (nv == NULL)
			return cc->err = 1;
		if (cc->n)
			memcpy(nv, cc->v, cc->n * sizeof(*nv));
		cc->v = nv;
		cc->cap = ncap;
	}
	size_t   len = mpstore__change__get_packed_size(ch);
	uint8_t *buf = mpsd_arena_alloc(cc->a, len ? len : 1);
	if (buf == NULL)
		return cc->err = 1;
	mpstore__change__pack(ch, buf);
	ProtobufCAllocator al = {arena_pb_alloc, arena_pb_free, cc->a};
	cc->v[cc->n] = mpstore__change__unpack(&al, len, buf);
	if (cc->v[cc->n] == NULL)
		return cc->err = 1;
	cc->n++;
	return 0;
}

/* Put every container the txn wrote back as it was. A container that
 * still has its kind is restored in place, so its parked waiters stay. */
static void txn_rollback(mpsd_daemon *d, txn_save *sv, size_t nsv, uint64_t rev)
{
	char err[256];
	for (size_t i = nsv; i-- > 0;) {
		mpsd_container *c = mpsd_store_find(d->st, sv[i].name);
		int in_place = c != NULL && sv[i].existed && sv[i].n > 0 &&
		               c->k->kind == sv[i].ch[0]->kind;
		if (c != NULL && !in_place) {
			Mpstore__Change del;
			mpstore__change__init(&del);
			del.type = MPSTORE__CHANGE_TYPE__CH_DELETE;
			del.name = (char *)sv[i].name;
			mpsd_store_apply(d->st, &del, err, sizeof(err));
		}
		for (size_t k = 0; sv[i].existed && k < sv[i].n; k++)
			if (mpsd_store_apply(d->st, sv[i].ch[k], err, sizeof(err)) != 0)
				mpsd_log("txn rollback of '%s' failed: %s", sv[i].name, err);
		c = mpsd_store_find(d->st, sv[i].name);
		if (c != NULL)
			c->revision = sv[i].rev;
	}
	mpsd_store_set_revision(d->st, rev);
}

static void run_txn(mpsd_daemon *d, mpsd_req *r)
{
	const Mpstore__Txn *t = r->rq->txn;
	char                msg[400];
	int                 ok = 1;
	for (size_t i = 0; i < t->n_compare; i++) {
		int v = eval_compare(d, r, t->compare[i], msg, sizeof(msg));
		if (v > 1) {
			r->status = (Mpstore__Status)v;
			r->error = mpsd_arena_memdup(&r->arena, msg, strlen(msg));
			finish(d, r);
			return;
		}
		if (!v) {
			ok = 0;
			break;
		}
	}
	r->succeeded = ok;
	Mpstore__Op **ops = ok ? t->success : t->failure;
	size_t        n = ok ? t->n_success : t->n_failure;
	r->results = mpsd_arena_alloc(&r->arena, (n ? n : 1) * sizeof(*r->results));
	txn_save *sv = mpsd_arena_alloc(&r->arena, (n ? n : 1) * sizeof(*sv));
	if (r->results == NULL || sv == NULL) {
		r->status = MPSTORE__STATUS__ERR_LIMIT;
		r->error = "out of memory";
		finish(d, r);
		return;
	}
	size_t   nsv = 0;
	uint64_t rev0 = mpsd_store_revision(d->st);
	r->x.in_txn = 1;
	for (size_t i = 0; i < n; i++) {
		const Mpstore__Op *op = ops[i];
		r->results[i] = new_result(r);
		r->nres = i + 1;
		if (is_write_op(d, op) && op->name != NULL) {
			size_t k = 0;
			while (k < nsv && strcmp(sv[k].name, op->name) != 0)
				k++;
			if (k == nsv) {
				mpsd_container *c = mpsd_store_find(d->st, op->name);
				collect_ctx     cc = {&r->arena, NULL, 0, 0, 0};
				if (c != NULL)
					mpsd_store_dump(d->st, c, 1u << 30, txn_collect, &cc);
				sv[nsv].name = op->name;
				sv[nsv].existed = c != NULL;
				sv[nsv].ch = cc.v;
				sv[nsv].n = cc.n;
				sv[nsv].rev = c != NULL ? c->revision : 0;
				nsv++;
				if (cc.err) {
					r->status = MPSTORE__STATUS__ERR_LIMIT;
					r->error = "out of memory saving txn state";
					txn_rollback(d, sv, nsv, rev0);
					r->x.nchanges = 0;
					finish(d, r);
					return;
				}
			}
		}
		exec_setup(d, r, op, r->results[i]);
		r->x.nowait = 1;
		int rv;
		if (op->code == MPSTORE__OP_CODE__OP_SNAPSHOT || op->code == MPSTORE__OP_CODE__OP_BACKUP ||
		    op->code == MPSTORE__OP_CODE__OP_REGISTER_SCHEMA)
			rv = mpsd_exec_fail(&r->x, MPSTORE__STATUS__ERR_INVALID,
			    "snapshot, backup and schema registration are not allowed in a txn");
		else
			rv = exec_op(d, r, &r->x);
		tidy_result(d, r->results[i], rv);
		if (rv == MPSD_PARK) { /* cannot happen with nowait; be safe */
			mpsd_waiter_free(r->x.w);
			r->x.w = NULL;
			rv = mpsd_exec_fail(&r->x, MPSTORE__STATUS__ERR_INTERNAL, "op parked in a txn");
		}
		if (rv != 0) {
			txn_rollback(d, sv, nsv, rev0);
			r->x.nchanges = 0;
			r->status = (Mpstore__Status)rv;
			r->error = mpsd_arena_printf(&r->arena, "txn op %zu failed, nothing applied: %s",
			    i, r->results[i]->error ? r->results[i]->error : "");
			finish(d, r);
			return;
		}
	}
	finish(d, r);
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
	r->rq = mpstore__request__unpack(&al, nng_msg_len(msg), nng_msg_body(msg));
	nng_msg_free(msg);
	if (r->rq == NULL) {
		nng_msg *m = error_reply(0, MPSTORE__STATUS__ERR_MALFORMED,
		    "request does not decode as an mpstore.Request");
		req_reset(r);
		if (m != NULL)
			mpsd_server_reply(d, r, m);
		else
			mpsd_server_abandon(d, r);
		return;
	}
	Mpstore__Request *rq = r->rq;
	const char *bad = NULL;
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
					return;
				}
				break;
			default: break;
			}
		}
	}
	if (rq->txn != NULL) {
		run_txn(d, r);
	} else {
		r->nres = rq->n_ops;
		r->results = mpsd_arena_alloc(&r->arena, (rq->n_ops ? rq->n_ops : 1) * sizeof(*r->results));
		for (size_t i = 0; r->results != NULL && i < rq->n_ops; i++)
			if ((r->results[i] = new_result(r)) == NULL)
				r->results = NULL;
		if (r->results == NULL) {
			r->nres = 0;
			r->status = MPSTORE__STATUS__ERR_LIMIT;
			r->error = "out of memory";
			finish(d, r);
		} else {
			run_batch(d, r);
		}
	}
	mpsd_store_run_wakeups(d->st, mpsd_dispatch_resume);
	mpsd_store_unlock(d->st);
}
