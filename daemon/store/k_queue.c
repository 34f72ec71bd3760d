/*
 * k_queue.c - KIND_QUEUE, like multiprocessing.JoinableQueue(maxsize): a
 * FIFO ring buffer (O(1) at both ends) of typed values, with put/get that
 * wait while full/empty and a count of unfinished tasks for task_done and
 * join. The create count is maxsize (0: unbounded).
 *
 * Waiting gets, puts and joins share the container's one line of waiters,
 * so the kind wakes them all on a change (a join at the head must not hold
 * back the gets behind it); they are re-run in arrival order, so parked
 * gets are served first come, first served.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "k_sync.h"

#define QUEUE_ST(s) MPSTORE__STATUS__##s

#define QUEUE_STATE_SIZE 8 /* unfinished tasks, i64 */
#define QUEUE_MIN_CAP    8

typedef struct queue {
	mpsd_val *buf;        /* ring of cap slots, cap a power of two (or 0) */
	size_t    cap, head, len;
	size_t    heap;       /* heap bytes owned by the items */
	int64_t   unfinished; /* puts not yet matched by task_done */
} queue;

static queue *queue_of(const mpsd_container *c)
{
	return c->impl;
}

static mpsd_val *queue_at(const queue *q, size_t i)
{
	return &q->buf[(q->head + i) & (q->cap - 1)];
}

static int queue_nomem(mpsd_exec *x)
{
	return mpsd_exec_fail(x, QUEUE_ST(ERR_LIMIT), "out of memory");
}

/* Move the items to a ring of ncap (>= len) slots. */
static int queue_resize(queue *q, size_t ncap)
{
	mpsd_val *nb = malloc(ncap * sizeof(*nb));

	if (nb == NULL)
		return -1;
	for (size_t i = 0; i < q->len; i++)
		nb[i] = *queue_at(q, i);
	free(q->buf);
	q->buf  = nb;
	q->cap  = ncap;
	q->head = 0;
	return 0;
}

/* Room for n more items. */
static int queue_reserve(queue *q, size_t n)
{
	size_t ncap = q->cap ? q->cap : QUEUE_MIN_CAP;

	while (ncap < q->len + n)
		ncap *= 2;
	return ncap == q->cap ? 0 : queue_resize(q, ncap);
}

/* Append v (taken); room must have been reserved. */
static void queue_push(queue *q, const mpsd_val *v)
{
	*queue_at(q, q->len) = *v;
	q->len++;
	q->heap += mpsd_val_heap(v);
}

static void queue_pop(queue *q)
{
	mpsd_val *v = queue_at(q, 0);

	q->heap -= mpsd_val_heap(v);
	mpsd_val_fini(v);
	q->head = (q->head + 1) & (q->cap - 1);
	q->len--;
	/* give memory back after a burst; a failed shrink just keeps it */
	if (q->cap > 64 && q->len < q->cap / 4)
		queue_resize(q, q->cap / 2);
}

static void queue_clear(queue *q)
{
	while (q->len > 0)
		queue_pop(q);
}

static int queue_full(const mpsd_container *c)
{
	return c->capacity > 0 && (int64_t)queue_of(c)->len >= c->capacity;
}

static int queue_timeout(mpsd_exec *x, const mpsd_container *c, const char *what)
{
	return mpsd_exec_fail(x, QUEUE_ST(ERR_TIMEOUT), "%s on queue '%s' timed out after %lld ms", what,
	    c->name, (long long)x->op->timeout_ms);
}

static int queue_emit_state(mpsd_exec *x, mpsd_container *c, int64_t unfinished)
{
	uint8_t b[QUEUE_STATE_SIZE];

	mpsd_sync_put64(b, (uint64_t)unfinished);
	return mpsd_sync_emit_state(x, c, b, sizeof(b));
}

/* QUEUE_PUT value timeout_ms -> count (qsize) */
static int queue_op_put(mpsd_exec *x, mpsd_container *c)
{
	queue           *q = queue_of(c);
	Mpstore__Value **vals;
	Mpstore__Change *ch;
	mpsd_val         v;
	int              rv;

	if ((rv = mpsd_exec_check_value(x, c, x->op->value)) != 0)
		return rv;
	if (queue_full(c)) {
		if (mpsd_exec_can_wait(x))
			return mpsd_exec_park(x, c);
		if (x->expired)
			return queue_timeout(x, c, "put");
		return mpsd_exec_fail(x, QUEUE_ST(ERR_FULL), "queue '%s' is full (maxsize %lld)", c->name,
		    (long long)c->capacity);
	}
	if ((rv = mpsd_exec_check_room(x, c, q->len, 1)) != 0)
		return rv;
	if (queue_reserve(q, 1) != 0 || (vals = mpsd_exec_vals(x, 1)) == NULL ||
	    (vals[0] = mpsd_exec_pbval(x, x->op->value)) == NULL)
		return queue_nomem(x);
	if (mpsd_val_from_pb(&v, x->op->value) != 0)
		return queue_nomem(x);
	if ((ch = mpsd_exec_change(x, c, MPSTORE__CHANGE_TYPE__CH_QUEUE_PUT)) == NULL) {
		mpsd_val_fini(&v);
		return queue_nomem(x);
	}
	ch->n_values = 1;
	ch->values   = vals;
	queue_push(q, &v);
	q->unfinished++;
	x->res->count = (int64_t)q->len;
	return 0;
}

/* QUEUE_GET timeout_ms -> value */
static int queue_op_get(mpsd_exec *x, mpsd_container *c)
{
	queue           *q = queue_of(c);
	Mpstore__Change *ch;

	if (q->len == 0) {
		if (mpsd_exec_can_wait(x))
			return mpsd_exec_park(x, c);
		if (x->expired)
			return queue_timeout(x, c, "get");
		return mpsd_exec_fail(x, QUEUE_ST(ERR_EMPTY), "queue '%s' is empty", c->name);
	}
	if ((x->res->value = mpsd_exec_val(x, queue_at(q, 0))) == NULL ||
	    (ch = mpsd_exec_change(x, c, MPSTORE__CHANGE_TYPE__CH_QUEUE_GET)) == NULL)
		return queue_nomem(x);
	ch->count = 1;
	queue_pop(q);
	return 0;
}

/* QUEUE_SIZE -> count */
static int queue_op_size(mpsd_exec *x, mpsd_container *c)
{
	x->res->count = (int64_t)queue_of(c)->len;
	return 0;
}

/* QUEUE_EMPTY -> flag */
static int queue_op_empty(mpsd_exec *x, mpsd_container *c)
{
	x->res->flag = queue_of(c)->len == 0;
	return 0;
}

/* QUEUE_FULL -> flag */
static int queue_op_full(mpsd_exec *x, mpsd_container *c)
{
	x->res->flag = queue_full(c);
	return 0;
}

/* QUEUE_TASK_DONE -> count (unfinished tasks left) */
static int queue_op_task_done(mpsd_exec *x, mpsd_container *c)
{
	queue *q = queue_of(c);
	int    rv;

	if (q->unfinished <= 0)
		return mpsd_exec_fail(x, QUEUE_ST(ERR_INVALID), "task_done() called too many times");
	if ((rv = queue_emit_state(x, c, q->unfinished - 1)) != 0)
		return rv;
	x->res->count = --q->unfinished;
	return 0;
}

/* QUEUE_JOIN timeout_ms: until every put got its task_done -> count (unfinished) */
static int queue_op_join(mpsd_exec *x, mpsd_container *c)
{
	queue *q = queue_of(c);

	x->res->count = q->unfinished;
	if (q->unfinished == 0)
		return 0;
	if (mpsd_exec_can_wait(x))
		return mpsd_exec_park(x, c);
	if (x->expired)
		return queue_timeout(x, c, "join");
	return mpsd_exec_fail(x, QUEUE_ST(ERR_TIMEOUT), "queue '%s' has %lld unfinished tasks", c->name,
	    (long long)q->unfinished);
}

static int queue_init(mpsd_container *c, const Mpstore__Op *create, char *err, size_t errlen)
{
	if (create->count < 0) {
		snprintf(err, errlen, "queue maxsize must be >= 0 (0: unbounded), got %lld",
		    (long long)create->count);
		return QUEUE_ST(ERR_INVALID);
	}
	if ((c->impl = calloc(1, sizeof(queue))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return QUEUE_ST(ERR_LIMIT);
	}
	return 0;
}

static void queue_fini(mpsd_container *c)
{
	queue *q = queue_of(c);

	if (q != NULL) {
		for (size_t i = 0; i < q->len; i++)
			mpsd_val_fini(queue_at(q, i));
		free(q->buf);
	}
	free(q);
	c->impl = NULL;
}

static int64_t queue_length(const mpsd_container *c)
{
	return (int64_t)queue_of(c)->len;
}

static size_t queue_memory(const mpsd_container *c)
{
	const queue *q = queue_of(c);

	return sizeof(*q) + q->cap * sizeof(mpsd_val) + q->heap;
}

/* Emit items [*pos, *pos + n) as one change of the given type. */
static int queue_emit(const mpsd_container *c, Mpstore__ChangeType type, size_t *pos, size_t n,
    const uint8_t *state, mpsd_emit_fn emit, void *arg)
{
	const queue    *q  = queue_of(c);
	Mpstore__Change ch = MPSTORE__CHANGE__INIT;
	Mpstore__Value  sv = MPSTORE__VALUE__INIT;
	Mpstore__Value *pv = calloc(n ? n : 1, sizeof(*pv));
	Mpstore__Value **pp = calloc(n ? n : 1, sizeof(*pp));
	int             rv;

	if (pv == NULL || pp == NULL) {
		free(pv);
		free(pp);
		return QUEUE_ST(ERR_LIMIT);
	}
	for (size_t i = 0; i < n; i++) {
		mpsd_val_to_pb(queue_at(q, *pos + i), &pv[i]);
		pp[i] = &pv[i];
	}
	*pos += n;
	ch.revision = c->revision;
	ch.name     = c->name;
	ch.kind     = c->k->kind;
	ch.type     = type;
	ch.n_values = n;
	ch.values   = pp;
	if (state != NULL) {
		sv.v_case           = MPSTORE__VALUE__V_BYTES_VALUE;
		sv.bytes_value.data = (uint8_t *)state;
		sv.bytes_value.len  = QUEUE_STATE_SIZE;
		ch.value            = &sv;
	}
	rv = emit(arg, &ch);
	free(pv);
	free(pp);
	return rv;
}

/* CH_RESYNC (first items, unfinished count), CH_QUEUE_PUT (the rest), then
 * a CH_STATE restoring the unfinished count the puts have raised. */
static int queue_dump(const mpsd_container *c, size_t chunk, mpsd_emit_fn emit, void *arg)
{
	const queue *q = queue_of(c);
	uint8_t      st[QUEUE_STATE_SIZE];
	size_t       pos = 0;
	int          rv;

	if (chunk == 0)
		chunk = q->len > 0 ? q->len : 1;
	mpsd_sync_put64(st, (uint64_t)q->unfinished);
	rv = queue_emit(c, MPSTORE__CHANGE_TYPE__CH_RESYNC, &pos, q->len < chunk ? q->len : chunk, st,
	    emit, arg);
	if (rv != 0 || pos == q->len)
		return rv;
	while (rv == 0 && pos < q->len)
		rv = queue_emit(c, MPSTORE__CHANGE_TYPE__CH_QUEUE_PUT, &pos,
		    q->len - pos < chunk ? q->len - pos : chunk, NULL, emit, arg);
	if (rv == 0)
		rv = queue_emit(c, MPSTORE__CHANGE_TYPE__CH_STATE, &pos, 0, st, emit, arg);
	return rv;
}

static int queue_apply_put(queue *q, const Mpstore__Change *ch, char *err, size_t errlen)
{
	mpsd_val v;

	if (queue_reserve(q, ch->n_values) != 0)
		goto nomem;
	for (size_t i = 0; i < ch->n_values; i++) {
		if (mpsd_val_from_pb(&v, ch->values[i]) != 0)
			goto nomem;
		queue_push(q, &v);
	}
	return 0;
nomem:
	snprintf(err, errlen, "out of memory");
	return QUEUE_ST(ERR_LIMIT);
}

static int queue_apply(mpsd_container *c, const Mpstore__Change *ch, char *err, size_t errlen)
{
	queue         *q = queue_of(c);
	const uint8_t *b = NULL;
	int            rv;

	switch (ch->type) {
	case MPSTORE__CHANGE_TYPE__CH_RESYNC:
	case MPSTORE__CHANGE_TYPE__CH_STATE:
		if ((b = mpsd_sync_state_bytes(c, ch, QUEUE_STATE_SIZE, err, errlen)) == NULL)
			return QUEUE_ST(ERR_INVALID);
		if (ch->type == MPSTORE__CHANGE_TYPE__CH_RESYNC) {
			queue_clear(q);
			if ((rv = queue_apply_put(q, ch, err, errlen)) != 0)
				return rv;
		}
		q->unfinished = (int64_t)mpsd_sync_get64(b);
		return 0;
	case MPSTORE__CHANGE_TYPE__CH_QUEUE_PUT:
		if ((rv = queue_apply_put(q, ch, err, errlen)) != 0)
			return rv;
		q->unfinished += (int64_t)ch->n_values;
		return 0;
	case MPSTORE__CHANGE_TYPE__CH_QUEUE_GET:
		if (ch->count < 0 || (uint64_t)ch->count > q->len) {
			snprintf(err, errlen, "queue '%s': get of %lld items from %zu", c->name,
			    (long long)ch->count, q->len);
			return QUEUE_ST(ERR_INVALID);
		}
		for (int64_t i = 0; i < ch->count; i++)
			queue_pop(q);
		return 0;
	case MPSTORE__CHANGE_TYPE__CH_CLEAR:
		queue_clear(q);
		return 0;
	default:
		snprintf(err, errlen, "change type %d does not apply to a queue", (int)ch->type);
		return QUEUE_ST(ERR_INVALID);
	}
}

static const mpsd_opdef queue_ops[] = {
	{MPSTORE__OP_CODE__OP_QUEUE_PUT, "put", MPSD_OPF_WRITE | MPSD_OPF_BLOCKS | MPSD_OPF_GROWS, queue_op_put},
	{MPSTORE__OP_CODE__OP_QUEUE_GET, "get", MPSD_OPF_WRITE | MPSD_OPF_BLOCKS, queue_op_get},
	{MPSTORE__OP_CODE__OP_QUEUE_SIZE, "size", 0, queue_op_size},
	{MPSTORE__OP_CODE__OP_QUEUE_EMPTY, "empty", 0, queue_op_empty},
	{MPSTORE__OP_CODE__OP_QUEUE_FULL, "full", 0, queue_op_full},
	{MPSTORE__OP_CODE__OP_QUEUE_TASK_DONE, "task_done", MPSD_OPF_WRITE, queue_op_task_done},
	{MPSTORE__OP_CODE__OP_QUEUE_JOIN, "join", MPSD_OPF_BLOCKS, queue_op_join},
	{0, NULL, 0, NULL},
};

const mpsd_kind mpsd_kind_queue = {
	.kind     = MPSTORE__KIND__KIND_QUEUE,
	.name     = "queue",
	.ops      = queue_ops,
	.wake_all = 1,
	.init     = queue_init,
	.fini     = queue_fini,
	.length   = queue_length,
	.memory   = queue_memory,
	.dump     = queue_dump,
	.apply    = queue_apply,
};
