/*
 * txn.c - transactions: evaluate the compares, run one branch with every
 * op unable to wait, and put back every container the branch wrote to if
 * one of its ops fails, so that a txn applies whole or not at all.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dispatch_int.h"
#include "req.h"

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
	} else if (cp->target != MPSTORE__COMPARE_TARGET__TARGET_VALUE &&
	           cp->target != MPSTORE__COMPARE_TARGET__TARGET_DICT_ENTRY) {
		snprintf(msg, msglen, "txn compare on '%s': unknown target %d", cp->name, (int)cp->target);
		return MPSTORE__STATUS__ERR_INVALID;
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

void dispatch_run_txn(mpsd_daemon *d, mpsd_req *r)
{
	const Mpstore__Txn *t = r->rq->txn;
	char                msg[400];
	int                 ok = 1;
	for (size_t i = 0; i < t->n_compare; i++) {
		int v = eval_compare(d, r, t->compare[i], msg, sizeof(msg));
		if (v > 1) {
			r->status = (Mpstore__Status)v;
			r->error = mpsd_arena_memdup(&r->arena, msg, strlen(msg));
			dispatch_finish(d, r);
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
		dispatch_finish(d, r);
		return;
	}
	size_t   nsv = 0;
	uint64_t rev0 = mpsd_store_revision(d->st);
	r->x.in_txn = 1;
	for (size_t i = 0; i < n; i++) {
		const Mpstore__Op *op = ops[i];
		r->results[i] = dispatch_new_result(r);
		r->nres = i + 1;
		if (dispatch_is_write(d, op) && op->name != NULL) {
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
					dispatch_finish(d, r);
					return;
				}
			}
		}
		dispatch_exec_setup(d, r, op, r->results[i]);
		r->x.nowait = 1;
		int rv;
		if (op->code == MPSTORE__OP_CODE__OP_SNAPSHOT || op->code == MPSTORE__OP_CODE__OP_BACKUP ||
		    op->code == MPSTORE__OP_CODE__OP_REGISTER_SCHEMA)
			rv = mpsd_exec_fail(&r->x, MPSTORE__STATUS__ERR_INVALID,
			    "snapshot, backup and schema registration are not allowed in a txn");
		else
			rv = dispatch_exec_op(d, r, &r->x);
		dispatch_tidy(d, r->results[i], rv);
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
			dispatch_finish(d, r);
			return;
		}
	}
	dispatch_finish(d, r);
}

