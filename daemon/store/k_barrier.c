/*
 * k_barrier.c - KIND_BARRIER, like threading.Barrier(parties): the last
 * of `parties` waits releases them all. Arrival indexes run from 0 (the
 * first arrival) to parties-1 (the last), assigned at release so they stay
 * distinct when a waiting session dies. A timeout, abort or reset breaks
 * the waits in progress (ERR_BROKEN); abort leaves the barrier broken until
 * reset. Arrivals are not recorded as changes: waits never outlive the
 * daemon, so recovery only needs the generation and the broken flag.
 */
#include <stdio.h>
#include <stdlib.h>

#include "k_sync.h"

#define BAR_ST(s) MPSTORE__STATUS__##s

#define BAR_STATE_SIZE 24 /* waiting i64, generation i64, broken i64 */

/* waiter state a: outcome of a parked wait; b: its index once released */
enum { BAR_WAITING = 1, BAR_RELEASED = 2, BAR_BROKEN = 3 };

typedef struct barrier {
	int64_t count;      /* parked waits of this generation */
	int64_t generation; /* releases and resets so far */
	int64_t broken;
} barrier;

static barrier *bar_of(const mpsd_container *c)
{
	return c->impl;
}

static int bar_emit(mpsd_exec *x, mpsd_container *c)
{
	uint8_t b[BAR_STATE_SIZE];

	mpsd_sync_put64(b, (uint64_t)bar_of(c)->count);
	mpsd_sync_put64(b + 8, (uint64_t)bar_of(c)->generation);
	mpsd_sync_put64(b + 16, (uint64_t)bar_of(c)->broken);
	return mpsd_sync_emit_state(x, c, b, sizeof(b));
}

static int bar_is_waiting(mpsd_waiter *w)
{
	return mpsd_waiter_op(w)->code == MPSTORE__OP_CODE__OP_BARRIER_WAIT &&
	       mpsd_waiter_wstate(w)->a == BAR_WAITING;
}

/* Give every parked wait of this generation its outcome (and index). */
static void bar_settle(mpsd_container *c, int outcome)
{
	int64_t i = 0;

	for (mpsd_waiter *w = mpsd_waiter_first(c); w != NULL; w = mpsd_waiter_next(w)) {
		if (!bar_is_waiting(w))
			continue;
		mpsd_waiter_wstate(w)->a = outcome;
		mpsd_waiter_wstate(w)->b = i++;
	}
	bar_of(c)->count = 0;
}

/* Break the waits in progress; abort (or a timeout) leaves it broken. */
static int bar_break(mpsd_exec *x, mpsd_container *c, int stay_broken)
{
	bar_settle(c, BAR_BROKEN);
	bar_of(c)->broken = stay_broken;
	if (!stay_broken)
		bar_of(c)->generation++;
	/* the waits are answered even if the record cannot be made */
	bar_emit(x, c);
	mpsd_exec_wake(x, c);
	return 0;
}

static int bar_broken_err(mpsd_exec *x, const mpsd_container *c)
{
	return mpsd_exec_fail(x, BAR_ST(ERR_BROKEN), "barrier '%s' is broken", c->name);
}

/* An arrival: the last one releases, the others park. */
static int bar_arrive(mpsd_exec *x, mpsd_container *c)
{
	barrier *b = bar_of(c);
	int64_t  index = b->count;
	int      rv;

	if (b->broken)
		return bar_broken_err(x, c);
	if (index + 1 >= c->capacity) {
		b->generation++;
		b->count = 0;
		if ((rv = bar_emit(x, c)) != 0) {
			b->generation--;
			b->count = index;
			return rv;
		}
		bar_settle(c, BAR_RELEASED);
		x->res->count = index;
		return 0;
	}
	if (x->in_txn)
		return mpsd_exec_fail(x, BAR_ST(ERR_TIMEOUT),
		    "barrier '%s': only the last party's wait can be part of a txn", c->name);
	if (!mpsd_exec_can_wait(x)) {
		/* Python: a wait that times out, even at once, breaks the barrier */
		bar_break(x, c, 1);
		return mpsd_exec_fail(x, BAR_ST(ERR_BROKEN), "barrier '%s' broken: %lld of %lld parties "
		    "arrived and this wait could not wait", c->name, (long long)index + 1,
		    (long long)c->capacity);
	}
	if ((rv = mpsd_exec_park(x, c)) != MPSD_PARK)
		return rv;
	mpsd_exec_wstate(x)->a = BAR_WAITING;
	b->count++;
	mpsd_exec_hold(x, c);
	return MPSD_PARK;
}

/* BARRIER_WAIT timeout_ms -> count (arrival index) */
static int bar_op_wait(mpsd_exec *x, mpsd_container *c)
{
	struct mpsd_waiter_state *ws = mpsd_exec_wstate(x);

	if (ws == NULL)
		return bar_arrive(x, c);
	switch (ws->a) {
	case BAR_RELEASED:
		x->res->count = ws->b;
		return 0;
	case BAR_WAITING:
		if (!x->expired)
			return MPSD_PARK;
		ws->a = BAR_BROKEN;
		bar_break(x, c, 1);
		return mpsd_exec_fail(x, BAR_ST(ERR_BROKEN), "barrier '%s' broken: wait timed out after %lld ms",
		    c->name, (long long)x->op->timeout_ms);
	default:
		return mpsd_exec_fail(x, BAR_ST(ERR_BROKEN),
		    "barrier '%s' was broken (aborted, reset or timed out) during this wait", c->name);
	}
}

/* BARRIER_ABORT: waits in progress and later ones fail until a reset */
static int bar_op_abort(mpsd_exec *x, mpsd_container *c)
{
	return bar_break(x, c, 1);
}

/* BARRIER_RESET: waits in progress fail; the barrier is usable again */
static int bar_op_reset(mpsd_exec *x, mpsd_container *c)
{
	return bar_break(x, c, 0);
}

/* BARRIER_INFO -> info (capacity = parties), count (waiting), flag (broken) */
static int bar_op_info(mpsd_exec *x, mpsd_container *c)
{
	if ((x->res->info = mpsd_sync_info(x, c)) == NULL)
		return mpsd_exec_fail(x, BAR_ST(ERR_LIMIT), "out of memory");
	x->res->count = bar_of(c)->count;
	x->res->flag  = bar_of(c)->broken != 0;
	return 0;
}

static int bar_init(mpsd_container *c, const Mpstore__Op *create, char *err, size_t errlen)
{
	if (create->count < 1) {
		snprintf(err, errlen, "a barrier needs parties >= 1, got %lld", (long long)create->count);
		return BAR_ST(ERR_INVALID);
	}
	if ((c->impl = calloc(1, sizeof(barrier))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return BAR_ST(ERR_LIMIT);
	}
	return 0;
}

static void bar_fini(mpsd_container *c)
{
	free(c->impl);
	c->impl = NULL;
}

static int64_t bar_length(const mpsd_container *c)
{
	return bar_of(c)->count;
}

static size_t bar_memory(const mpsd_container *c)
{
	return sizeof(barrier);
}

static int bar_dump(const mpsd_container *c, size_t chunk, mpsd_emit_fn emit, void *arg)
{
	uint8_t b[BAR_STATE_SIZE];

	mpsd_sync_put64(b, (uint64_t)bar_of(c)->count);
	mpsd_sync_put64(b + 8, (uint64_t)bar_of(c)->generation);
	mpsd_sync_put64(b + 16, (uint64_t)bar_of(c)->broken);
	return mpsd_sync_dump_state(c, b, sizeof(b), emit, arg);
}

/* Recovery: no wait survives a restart, so nobody is waiting. */
static int bar_apply(mpsd_container *c, const Mpstore__Change *ch, char *err, size_t errlen)
{
	const uint8_t *b;

	if (ch->type != MPSTORE__CHANGE_TYPE__CH_STATE && ch->type != MPSTORE__CHANGE_TYPE__CH_RESYNC) {
		snprintf(err, errlen, "change type %d does not apply to a barrier", (int)ch->type);
		return BAR_ST(ERR_INVALID);
	}
	if ((b = mpsd_sync_state_bytes(c, ch, BAR_STATE_SIZE, err, errlen)) == NULL)
		return BAR_ST(ERR_INVALID);
	bar_of(c)->count      = 0;
	bar_of(c)->generation = (int64_t)mpsd_sync_get64(b + 8);
	bar_of(c)->broken     = mpsd_sync_get64(b + 16) != 0;
	return 0;
}

/* The store has already dropped the session's waits: count those left. */
static void bar_session_gone(mpsd_exec *x, mpsd_container *c, uint64_t sid)
{
	int64_t n = 0;

	for (mpsd_waiter *w = mpsd_waiter_first(c); w != NULL; w = mpsd_waiter_next(w))
		n += bar_is_waiting(w);
	bar_of(c)->count = n;
}

static const mpsd_opdef bar_ops[] = {
	{MPSTORE__OP_CODE__OP_BARRIER_WAIT, "wait", MPSD_OPF_WRITE | MPSD_OPF_BLOCKS, bar_op_wait},
	{MPSTORE__OP_CODE__OP_BARRIER_ABORT, "abort", MPSD_OPF_WRITE, bar_op_abort},
	{MPSTORE__OP_CODE__OP_BARRIER_RESET, "reset", MPSD_OPF_WRITE, bar_op_reset},
	{MPSTORE__OP_CODE__OP_BARRIER_INFO, "info", 0, bar_op_info},
	{0, NULL, 0, NULL},
};

const mpsd_kind mpsd_kind_barrier = {
	.kind         = MPSTORE__KIND__KIND_BARRIER,
	.name         = "barrier",
	.ops          = bar_ops,
	.wake_all     = 1,
	.init         = bar_init,
	.fini         = bar_fini,
	.length       = bar_length,
	.memory       = bar_memory,
	.dump         = bar_dump,
	.apply        = bar_apply,
	.session_gone = bar_session_gone,
};
