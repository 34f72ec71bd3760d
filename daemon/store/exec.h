/*
 * exec.h - what an op handler may do: read its op, fill its result, record
 * the changes it makes, park until the container changes, and hold
 * resources for its session. Implemented in exec.c; used by every kind.
 *
 * Memory: everything a handler puts into x->res or into a change must be
 * allocated from x->arena (mpsd_exec_alloc, mpsd_exec_val, ...) or be
 * constant; never point into the container, whose data may change before
 * the reply is packed.
 */
#ifndef MPSD_EXEC_H
#define MPSD_EXEC_H

#include "arena.h"
#include "container.h"
#include "val.h"

#define MPSD_PARK (-1)

typedef struct mpsd_store mpsd_store;

struct mpsd_exec {
	mpsd_store        *st;
	uint64_t           session_id; /* client_id of the request; 0 = none */
	const Mpstore__Op *op;
	Mpstore__Result   *res;     /* initialised, status OK */
	mpsd_arena        *arena;
	mpsd_waiter       *w;       /* non-NULL when run again after parking */
	int                nowait;  /* in a txn, or timeout 0: never park */
	int                expired; /* run again because the deadline passed */
	int                in_txn;  /* all changes of the txn share one revision */
	uint64_t           txn_rev; /* that revision, once the first change is made */
	void              *park_owner; /* the dispatcher's request, stored in waiters */
	const char        *park_refused; /* set: a new park fails ERR_LIMIT with this text */
	/* changes recorded by this op, in order (owned by the arena) */
	Mpstore__Change  **changes;
	size_t             nchanges, cap;
};

/* Per-waiter state a kind may keep between runs of a parked op. */
struct mpsd_waiter_state {
	int64_t a, b;
};

/* Allocation from the request's arena (zeroed). NULL only when out of memory. */
void            *mpsd_exec_alloc(mpsd_exec *x, size_t n);
Mpstore__Value  *mpsd_exec_val(mpsd_exec *x, const mpsd_val *v);   /* deep copy */
Mpstore__Value  *mpsd_exec_pbval(mpsd_exec *x, const Mpstore__Value *v); /* deep copy; NULL -> null value */
Mpstore__Value  *mpsd_exec_int(mpsd_exec *x, int64_t i);
Mpstore__Value **mpsd_exec_vals(mpsd_exec *x, size_t n);           /* array of n pointers */

/* Set x->res's status and message; returns the status for `return`. */
int mpsd_exec_fail(mpsd_exec *x, Mpstore__Status st, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/*
 * Check a value (element) or key against the container's types. Returns 0,
 * or fails x with ERR_WRONG_TYPE / ERR_SCHEMA naming what was expected.
 * A NULL value is null, which only TYPE_ANY accepts.
 */
int mpsd_exec_check_value(mpsd_exec *x, const mpsd_container *c, const Mpstore__Value *v);
int mpsd_exec_check_key(mpsd_exec *x, const mpsd_container *c, const Mpstore__Value *k);

/*
 * Record a change to c: assigns the next global revision (or the txn's),
 * sets c->revision and x->res->revision, marks c's waiters for a retry, and
 * returns a zeroed change (revision, name, kind, type set) for the handler
 * to fill with arena copies. NULL when out of memory.
 */
Mpstore__Change *mpsd_exec_change(mpsd_exec *x, mpsd_container *c, Mpstore__ChangeType type);

/*
 * Whether the op may wait (false in a txn or with timeout_ms == 0).
 * mpsd_exec_park parks the request on c (deadline from op->timeout_ms)
 * and returns MPSD_PARK; the handler is run again, with x->w set, after a
 * change to c or, with x->expired set, at the deadline. A handler run with
 * x->expired must not park again unless it has to reacquire something.
 */
int mpsd_exec_can_wait(const mpsd_exec *x);
int mpsd_exec_park(mpsd_exec *x, mpsd_container *c);
struct mpsd_waiter_state *mpsd_exec_wstate(mpsd_exec *x); /* NULL when not parked */

/* Iterate the waiters parked on c (for notify, barrier release). */
mpsd_waiter              *mpsd_waiter_first(mpsd_container *c);
mpsd_waiter              *mpsd_waiter_next(mpsd_waiter *w);
const Mpstore__Op        *mpsd_waiter_op(mpsd_waiter *w);
uint64_t                  mpsd_waiter_session(mpsd_waiter *w);
struct mpsd_waiter_state *mpsd_waiter_wstate(mpsd_waiter *w);
/* Ask for c's waiters to be run again after this op (no change needed). */
void mpsd_exec_wake(mpsd_exec *x, mpsd_container *c);

/* --max-elements: 0 when a container of c's kind holding len elements may
 * take add more, else fails x with ERR_LIMIT naming the limit. */
int mpsd_exec_check_room(mpsd_exec *x, const mpsd_container *c, uint64_t len, uint64_t add);

/* Record that x's session holds something in c, so that c->k->session_gone
 * runs for it when the session dies. Idempotent. */
void mpsd_exec_hold(mpsd_exec *x, mpsd_container *c);

/* Next fencing token (grows with every grant, survives restarts). */
uint64_t mpsd_exec_token(mpsd_exec *x);

/* Monotonic milliseconds. */
int64_t mpsd_now_ms(void);
/* now_ms + ms without overflow: INT64_MAX ("no deadline") when the sum
 * would pass it or ms < 0. Every deadline made from a client's number goes
 * through this. */
int64_t mpsd_deadline_after(int64_t now_ms, int64_t ms);

#endif
