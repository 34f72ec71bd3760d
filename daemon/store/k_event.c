/*
 * k_event.c - KIND_EVENT, like threading.Event: set wakes every waiter.
 * A wait parked when set runs answers true even if the event was cleared
 * again before the wait was re-run (set marks the waiters), as in Python.
 */
#include <stdio.h>
#include <stdlib.h>

#include "k_sync.h"

#define EVENT_ST(s) MPSTORE__STATUS__##s

#define EVENT_STATE_SIZE 1 /* 0 = clear, 1 = set */

static int *event_flag(const mpsd_container *c)
{
	return c->impl;
}

static int event_change(mpsd_exec *x, mpsd_container *c, int set)
{
	uint8_t b = (uint8_t)set;
	int     rv;

	if (*event_flag(c) == set) {
		x->res->revision = c->revision; /* nothing to record */
		return 0;
	}
	if ((rv = mpsd_sync_emit_state(x, c, &b, 1)) != 0)
		return rv;
	*event_flag(c) = set;
	return 0;
}

/* EVENT_SET */
static int event_op_set(mpsd_exec *x, mpsd_container *c)
{
	int rv;

	if ((rv = event_change(x, c, 1)) != 0)
		return rv;
	for (mpsd_waiter *w = mpsd_waiter_first(c); w != NULL; w = mpsd_waiter_next(w))
		mpsd_waiter_wstate(w)->a = 1;
	mpsd_exec_wake(x, c);
	return 0;
}

/* EVENT_CLEAR */
static int event_op_clear(mpsd_exec *x, mpsd_container *c)
{
	return event_change(x, c, 0);
}

/* EVENT_IS_SET -> flag */
static int event_op_is_set(mpsd_exec *x, mpsd_container *c)
{
	x->res->flag = *event_flag(c);
	return 0;
}

/* EVENT_WAIT timeout_ms -> flag (true: set; false: timed out) */
static int event_op_wait(mpsd_exec *x, mpsd_container *c)
{
	struct mpsd_waiter_state *ws = mpsd_exec_wstate(x);

	if (*event_flag(c) || (ws != NULL && ws->a)) {
		x->res->flag = 1;
		return 0;
	}
	if (mpsd_exec_can_wait(x))
		return mpsd_exec_park(x, c);
	x->res->flag = 0; /* Python's wait() returns False on timeout */
	return 0;
}

static int event_init(mpsd_container *c, const Mpstore__Op *create, char *err, size_t errlen)
{
	if ((c->impl = calloc(1, sizeof(int))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return EVENT_ST(ERR_LIMIT);
	}
	return 0;
}

static void event_fini(mpsd_container *c)
{
	free(c->impl);
	c->impl = NULL;
}

static int64_t event_length(const mpsd_container *c)
{
	return *event_flag(c);
}

static size_t event_memory(const mpsd_container *c)
{
	return sizeof(int);
}

static int event_dump(const mpsd_container *c, size_t chunk, mpsd_emit_fn emit, void *arg)
{
	uint8_t b = (uint8_t)*event_flag(c);

	return mpsd_sync_dump_state(c, &b, 1, emit, arg);
}

static int event_apply(mpsd_container *c, const Mpstore__Change *ch, char *err, size_t errlen)
{
	const uint8_t *b;

	if (ch->type != MPSTORE__CHANGE_TYPE__CH_STATE && ch->type != MPSTORE__CHANGE_TYPE__CH_RESYNC) {
		snprintf(err, errlen, "change type %d does not apply to an event", (int)ch->type);
		return EVENT_ST(ERR_INVALID);
	}
	if ((b = mpsd_sync_state_bytes(c, ch, EVENT_STATE_SIZE, err, errlen)) == NULL)
		return EVENT_ST(ERR_INVALID);
	*event_flag(c) = b[0] != 0;
	return 0;
}

static const mpsd_opdef event_ops[] = {
	{MPSTORE__OP_CODE__OP_EVENT_SET, "set", MPSD_OPF_WRITE, event_op_set},
	{MPSTORE__OP_CODE__OP_EVENT_CLEAR, "clear", MPSD_OPF_WRITE, event_op_clear},
	{MPSTORE__OP_CODE__OP_EVENT_IS_SET, "is_set", 0, event_op_is_set},
	{MPSTORE__OP_CODE__OP_EVENT_WAIT, "wait", MPSD_OPF_BLOCKS, event_op_wait},
	{0, NULL, 0, NULL},
};

const mpsd_kind mpsd_kind_event = {
	.kind     = MPSTORE__KIND__KIND_EVENT,
	.name     = "event",
	.ops      = event_ops,
	.wake_all = 1,
	.init     = event_init,
	.fini     = event_fini,
	.length   = event_length,
	.memory   = event_memory,
	.dump     = event_dump,
	.apply    = event_apply,
};
