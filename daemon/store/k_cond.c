/*
 * k_cond.c - KIND_CONDITION: a condition variable with its own re-entrant
 * lock (OP_LOCK_* from k_lock.c, like Python's default Condition(RLock)).
 * The waits are the parked requests themselves; notify marks the oldest
 * ones in their waiter state. A notified (or timed-out) wait re-acquires
 * the lock, at its former depth, before it is answered.
 */
#include <stdint.h>

#include "k_sync.h"

#define COND_ST(s) MPSTORE__STATUS__##s

/* waiter state a: the phase of a wait; b: the rlock depth to restore */
enum { COND_WAITING = 1, COND_NOTIFIED = 2, COND_TIMEDOUT = 3 };

static int cond_not_owner(mpsd_exec *x, const mpsd_container *c, const char *what)
{
	return mpsd_exec_fail(x, COND_ST(ERR_NOT_OWNER), "cannot %s on condition '%s' without holding its lock",
	    what, c->name);
}

static int cond_held(mpsd_exec *x, const mpsd_lockst *l)
{
	return l->owner != 0 && l->owner == x->session_id;
}

/* First run of a wait: release the lock entirely and park. */
static int cond_wait_begin(mpsd_exec *x, mpsd_container *c, mpsd_lockst *l)
{
	struct mpsd_waiter_state *ws;
	mpsd_lockst               nl = {0, 0, l->token, 0};
	int64_t                   depth = l->depth;
	int                       rv;

	if (!cond_held(x, l))
		return cond_not_owner(x, c, "wait");
	if (!mpsd_exec_can_wait(x)) {
		/* timeout 0: release and re-acquire at once, i.e. nothing happens */
		x->res->flag  = 0;
		x->res->token = l->token;
		x->res->count = l->depth;
		return 0;
	}
	if ((rv = mpsd_exec_park(x, c)) != MPSD_PARK)
		return rv;
	ws    = mpsd_exec_wstate(x);
	ws->a = COND_WAITING;
	ws->b = depth;
	/* released even without its record: the lock must not stay held */
	mpsd_lock_emit(x, c, &nl);
	*l = nl;
	mpsd_exec_hold(x, c);
	return MPSD_PARK;
}

/* COND_WAIT timeout_ms (lock held) -> flag (notified), token (new grant), count (depth) */
static int cond_op_wait(mpsd_exec *x, mpsd_container *c)
{
	mpsd_lockst              *l  = c->impl;
	struct mpsd_waiter_state *ws = mpsd_exec_wstate(x);
	int                       rv;

	if (ws == NULL)
		return cond_wait_begin(x, c, l);
	if (ws->a == COND_WAITING) {
		if (!x->expired)
			return MPSD_PARK;
		ws->a = COND_TIMEDOUT;
	}
	/* notified or timed out: answer once the lock is ours again */
	if (l->owner == 0)
		rv = mpsd_lock_grant(x, c, l, ws->b);
	else if (l->owner == x->session_id) /* the session took it meanwhile */
		rv = mpsd_lock_grant(x, c, l, l->depth + ws->b);
	else
		return mpsd_exec_park(x, c);
	if (rv == 0)
		x->res->flag = ws->a == COND_NOTIFIED;
	return rv;
}

/* Mark up to n of the oldest waits notified; result count = how many. */
static int cond_notify(mpsd_exec *x, mpsd_container *c, int64_t n)
{
	int64_t k = 0;

	if (!cond_held(x, c->impl))
		return cond_not_owner(x, c, "notify");
	for (mpsd_waiter *w = mpsd_waiter_first(c); w != NULL && k < n; w = mpsd_waiter_next(w)) {
		struct mpsd_waiter_state *ws = mpsd_waiter_wstate(w);
		if (mpsd_waiter_op(w)->code != MPSTORE__OP_CODE__OP_COND_WAIT || ws->a != COND_WAITING)
			continue;
		ws->a = COND_NOTIFIED;
		k++;
	}
	if (k > 0)
		mpsd_exec_wake(x, c);
	x->res->count = k;
	return 0;
}

/* COND_NOTIFY count (n, 0 means 1) -> count (notified) */
static int cond_op_notify(mpsd_exec *x, mpsd_container *c)
{
	int64_t n = x->op->count;

	if (n < 0)
		return mpsd_exec_fail(x, COND_ST(ERR_INVALID), "notify count must be >= 0, got %lld",
		    (long long)n);
	return cond_notify(x, c, n == 0 ? 1 : n);
}

/* COND_NOTIFY_ALL -> count (notified) */
static int cond_op_notify_all(mpsd_exec *x, mpsd_container *c)
{
	return cond_notify(x, c, INT64_MAX);
}

static const mpsd_opdef cond_ops[] = {
	{MPSTORE__OP_CODE__OP_LOCK_ACQUIRE, "acquire", MPSD_OPF_WRITE | MPSD_OPF_BLOCKS, mpsd_lock_op_acquire},
	{MPSTORE__OP_CODE__OP_LOCK_RELEASE, "release", MPSD_OPF_WRITE, mpsd_lock_op_release},
	{MPSTORE__OP_CODE__OP_LOCK_LOCKED, "locked", 0, mpsd_lock_op_locked},
	{MPSTORE__OP_CODE__OP_COND_WAIT, "wait", MPSD_OPF_WRITE | MPSD_OPF_BLOCKS, cond_op_wait},
	{MPSTORE__OP_CODE__OP_COND_NOTIFY, "notify", MPSD_OPF_WRITE, cond_op_notify},
	{MPSTORE__OP_CODE__OP_COND_NOTIFY_ALL, "notify_all", MPSD_OPF_WRITE, cond_op_notify_all},
	{0, NULL, 0, NULL},
};

/* Waits in several phases share one line: every change wakes them all. */
const mpsd_kind mpsd_kind_condition = {
	.kind         = MPSTORE__KIND__KIND_CONDITION,
	.name         = "condition",
	.ops          = cond_ops,
	.wake_all     = 1,
	.init         = mpsd_lock_init,
	.fini         = mpsd_lock_fini,
	.length       = mpsd_lock_length,
	.memory       = mpsd_lock_memory,
	.dump         = mpsd_lock_dump,
	.apply        = mpsd_lock_apply,
	.session_gone = mpsd_lock_session_gone,
	.holders      = mpsd_lock_holders,
};
