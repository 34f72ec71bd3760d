/*
 * container.h - a named, typed container and the interface every container
 * kind implements (one file per kind: k_value.c, k_list.c, k_dict.c, ...).
 *
 * The store owns containers; kinds own their `impl`. Every function here is
 * called with the store lock held. Nothing here knows about nng or SQLite.
 */
#ifndef MPSD_CONTAINER_H
#define MPSD_CONTAINER_H

#include <stddef.h>
#include <stdint.h>

#include "mpstore.pb-c.h"

typedef struct mpsd_exec      mpsd_exec;
typedef struct mpsd_container mpsd_container;
typedef struct mpsd_session   mpsd_session;
typedef struct mpsd_waiter    mpsd_waiter;
typedef struct mpsd_kind      mpsd_kind;

/*
 * An op handler. Returns 0 (MPSTORE__STATUS__OK) with x->res filled, a
 * positive status after mpsd_exec_fail, or MPSD_PARK after mpsd_exec_park
 * (the op must wait; it is run again when the container changes or its
 * deadline passes). A handler that fails must leave the container as it
 * was: validate everything first, then mutate.
 */
typedef int (*mpsd_op_fn)(mpsd_exec *x, mpsd_container *c);

#define MPSD_OPF_WRITE  1u /* may emit changes (refused when read-only) */
#define MPSD_OPF_BLOCKS 2u /* may park */
#define MPSD_OPF_GROWS  4u /* may add data: refused past --max-memory (limits.c) */

typedef struct mpsd_opdef {
	Mpstore__OpCode code; /* 0 ends a table */
	const char     *name; /* for errors and stats: "append" */
	uint32_t        flags;
	mpsd_op_fn      fn;
} mpsd_opdef;

/* Called for each change of a dump; the change points into the container
 * and is valid only during the call. Non-zero stops the dump. */
typedef int (*mpsd_emit_fn)(void *arg, const Mpstore__Change *ch);

/* One holder of a container, for operators (OP_HOLDERS, OP_CLIENTS): the
 * session, what it holds (lock depth or semaphore units), the fencing
 * token of its grant and since when (mpsd_now_ms). */
typedef struct mpsd_holder {
	uint64_t session;
	int64_t  count;
	uint64_t token;
	int64_t  since_ms;
} mpsd_holder;
typedef void (*mpsd_holder_fn)(void *arg, const mpsd_holder *h);

struct mpsd_kind {
	Mpstore__Kind     kind;
	const char       *name;  /* "list", as on the CLI */
	const mpsd_opdef *ops;   /* this kind's ops, ended by a zero row */
	/* wake every waiter on a change (events, barriers, conditions), or
	 * stop at the first that parks again (FIFO queues, locks) */
	int wake_all;

	/* Set up c->impl from a create op (count = maxsize, parties, initial
	 * value, array length as the kind needs). Returns a status; on failure
	 * writes a message to err. */
	int (*init)(mpsd_container *c, const Mpstore__Op *create, char *err, size_t errlen);
	void (*fini)(mpsd_container *c);
	int64_t (*length)(const mpsd_container *c);
	size_t (*memory)(const mpsd_container *c); /* approx. heap bytes */

	/*
	 * The whole state as change records: first one CH_RESYNC carrying at
	 * most `chunk` elements (its `info` is filled in by the caller), then
	 * CH_LIST_INSERT / CH_DICT_SET / CH_QUEUE_PUT records of at most
	 * `chunk` elements each. Applying them in order to a fresh container
	 * gives the same state. Used for snapshots and OP_DUMP.
	 */
	int (*dump)(const mpsd_container *c, size_t chunk, mpsd_emit_fn emit, void *arg);

	/* Apply one committed change record (recovery from snapshot and log).
	 * Returns a status; err explains a failure. */
	int (*apply)(mpsd_container *c, const Mpstore__Change *ch, char *err, size_t errlen);

	/* The session died or its lease expired: release what it holds
	 * (emitting changes through x) so waiters can proceed. May be NULL. */
	void (*session_gone)(mpsd_exec *x, mpsd_container *c, uint64_t session_id);

	/* Report every session that holds something in c (fn once each, in
	 * no particular order). NULL for kinds nothing is held in. */
	void (*holders)(const mpsd_container *c, mpsd_holder_fn fn, void *arg);
};

struct mpsd_container {
	char                *name;
	const mpsd_kind     *k;
	Mpstore__ElemType    elem_type;
	Mpstore__KeyType     key_type;
	char                *message_type; /* "" unless TYPE_MESSAGE */
	int64_t              capacity;     /* from create: maxsize, parties, ... */
	uint64_t             revision;     /* revision of the last change */
	void                *impl;
	/* waiters parked on this container, in arrival order (dispatch.c) */
	mpsd_waiter         *wait_head, *wait_tail;
	uint32_t             nwaiters;
	int                  wake_pending;
	size_t               mem; /* bytes last counted for it (limits.c) */
};

/* Python index for a sequence of len elements: negative counts from the
 * end; -1 when out of range (lists, arrays). */
static inline int64_t mpsd_index_norm(int64_t i, size_t len)
{
	if (i < 0)
		i += (int64_t)len;
	return i < 0 || i >= (int64_t)len ? -1 : i;
}

/* Python slice bound: negative from the end, clamped to [0, len]. */
static inline size_t mpsd_index_clamp(int64_t i, size_t len)
{
	if (i < 0 && (i += (int64_t)len) < 0)
		i = 0;
	return i > (int64_t)len ? len : (size_t)i;
}

/* Kinds, one per file. */
extern const mpsd_kind mpsd_kind_value;
extern const mpsd_kind mpsd_kind_list;
extern const mpsd_kind mpsd_kind_dict;
extern const mpsd_kind mpsd_kind_queue;
extern const mpsd_kind mpsd_kind_lock;
extern const mpsd_kind mpsd_kind_rlock;
extern const mpsd_kind mpsd_kind_semaphore;
extern const mpsd_kind mpsd_kind_bounded_semaphore;
extern const mpsd_kind mpsd_kind_event;
extern const mpsd_kind mpsd_kind_condition;
extern const mpsd_kind mpsd_kind_barrier;
extern const mpsd_kind mpsd_kind_array;
extern const mpsd_kind mpsd_kind_namespace;

/* The kind for a wire kind, or NULL if not (yet) implemented. */
const mpsd_kind *mpsd_kind_find(Mpstore__Kind kind);
const char      *mpsd_kind_name(Mpstore__Kind kind);
const char      *mpsd_elem_type_name(Mpstore__ElemType t);

#endif
