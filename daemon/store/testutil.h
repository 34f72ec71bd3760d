/*
 * testutil.h - run ops against a store in unit tests, without transport.
 *
 *   mpsd_store *st = mpsd_store_alloc();
 *   tu_call k;
 *   Mpstore__Op op = tu_op(MPSTORE__OP_CODE__OP_LIST_APPEND, "l");
 *   op.value = tu_int(&k, 5);   (values live in the call's arena)
 *   assert_int_equal(tu_exec(st, &k, &op, 0), 0);   k.res is the result,
 *   k.x.changes / k.x.nchanges the changes. tu_call_fini(&k) when done.
 *
 * A parked call (tu_exec returned MPSD_PARK) must stay alive until it is
 * answered: tu_wake(st) re-runs waiters of changed containers, tu_expire
 * those past a deadline; k.done and k.rv tell the outcome.
 */
#ifndef MPSD_TESTUTIL_H
#define MPSD_TESTUTIL_H

#include <string.h>

#include "store.h"

typedef struct tu_call {
	mpsd_arena      arena;
	Mpstore__Result res;
	mpsd_exec       x;
	Mpstore__Op     op; /* copy of the op, so it outlives the caller's */
	int             rv;
	int             done;
} tu_call;

static inline Mpstore__Op tu_op(Mpstore__OpCode code, const char *name)
{
	Mpstore__Op op;
	mpstore__op__init(&op);
	op.code = code;
	op.name = (char *)name;
	return op;
}

static inline void tu_call_init(tu_call *k)
{
	memset(k, 0, sizeof(*k));
	mpsd_arena_init(&k->arena);
	mpstore__result__init(&k->res);
}

static inline void tu_call_fini(tu_call *k)
{
	if (k->x.w != NULL)
		mpsd_waiter_free(k->x.w);
	mpsd_arena_fini(&k->arena);
	memset(k, 0, sizeof(*k));
}

static inline Mpstore__Value *tu_pbval(tu_call *k, Mpstore__Value__VCase vc)
{
	if (k->arena.head == NULL && k->x.arena == NULL)
		mpsd_arena_init(&k->arena);
	Mpstore__Value *v = mpsd_arena_alloc(&k->arena, sizeof(*v));
	mpstore__value__init(v);
	v->v_case = vc;
	return v;
}
static inline Mpstore__Value *tu_int(tu_call *k, int64_t i)
{
	Mpstore__Value *v = tu_pbval(k, MPSTORE__VALUE__V_INT_VALUE);
	v->int_value = i;
	return v;
}
static inline Mpstore__Value *tu_dbl(tu_call *k, double d)
{
	Mpstore__Value *v = tu_pbval(k, MPSTORE__VALUE__V_DOUBLE_VALUE);
	v->double_value = d;
	return v;
}
static inline Mpstore__Value *tu_str(tu_call *k, const char *s)
{
	Mpstore__Value *v = tu_pbval(k, MPSTORE__VALUE__V_STRING_VALUE);
	v->string_value = mpsd_arena_memdup(&k->arena, s, strlen(s));
	return v;
}

/* Runs op (copied into k). Initialises k first: do not call tu_call_init
 * on a call whose values you built beforehand with tu_int & co; those are
 * kept. Returns 0, a status, or MPSD_PARK. */
static inline int tu_exec(mpsd_store *st, tu_call *k, const Mpstore__Op *op, uint64_t session)
{
	mpstore__result__init(&k->res);
	k->op = *op;
	memset(&k->x, 0, sizeof(k->x));
	k->x.st = st;
	k->x.session_id = session;
	k->x.op = &k->op;
	k->x.res = &k->res;
	k->x.arena = &k->arena;
	k->x.park_owner = k;
	k->done = 0;
	k->rv = mpsd_store_exec(st, &k->x);
	if (k->rv != MPSD_PARK)
		k->done = 1;
	return k->rv;
}

static inline int tu_resume(void *owner, mpsd_waiter *w, int expired)
{
	tu_call *k = owner;
	mpstore__result__init(&k->res);
	k->x.w = w;
	k->x.expired = expired;
	k->rv = mpsd_store_exec(k->x.st, &k->x);
	if (k->rv != MPSD_PARK) {
		mpsd_waiter_free(w);
		k->x.w = NULL;
		k->x.expired = 0;
		k->done = 1;
	}
	return k->rv;
}

static inline void tu_wake(mpsd_store *st) { mpsd_store_run_wakeups(st, tu_resume); }
static inline void tu_expire(mpsd_store *st, int64_t now_ms) { mpsd_store_expire(st, now_ms, tu_resume); }

/* Create a container; returns the status. */
static inline int tu_create(mpsd_store *st, const char *name, Mpstore__Kind kind,
    Mpstore__ElemType et, int64_t count)
{
	tu_call k;
	tu_call_init(&k);
	Mpstore__Op op = tu_op(MPSTORE__OP_CODE__OP_CREATE, name);
	op.kind = kind;
	op.elem_type = et;
	op.count = count;
	int rv = tu_exec(st, &k, &op, 0);
	tu_call_fini(&k);
	return rv;
}

#endif
