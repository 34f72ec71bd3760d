/*
 * store.h - the registry of containers, the global revision, and running
 * ops against them. The store knows nothing of the transport or SQLite: dispatch.c
 * drives it from the transport, persistence plugs in through mpsd_persist.
 *
 * Locking: one store lock (mpsd_store_lock) serialises every op, like
 * Redis's single thread; all functions below except alloc/free/lock expect
 * it to be held.
 */
#ifndef MPSD_STORE_H
#define MPSD_STORE_H

#include "exec.h"

mpsd_store *mpsd_store_alloc(void);
void        mpsd_store_free(mpsd_store *st); /* frees every container */
void        mpsd_store_lock(mpsd_store *st);
void        mpsd_store_unlock(mpsd_store *st);

mpsd_container *mpsd_store_find(mpsd_store *st, const char *name);
uint64_t        mpsd_store_revision(const mpsd_store *st);
void            mpsd_store_set_revision(mpsd_store *st, uint64_t rev); /* recovery */
uint64_t        mpsd_store_next_revision(mpsd_store *st);
uint64_t        mpsd_store_next_token(mpsd_store *st);
void            mpsd_store_set_token(mpsd_store *st, uint64_t token);  /* recovery */
size_t          mpsd_store_count(const mpsd_store *st);

/* Iterate containers in name order (ls, snapshot). Return non-zero to stop. */
int mpsd_store_foreach(mpsd_store *st, int (*fn)(void *arg, mpsd_container *c), void *arg);

/*
 * Run one op: finds the container, checks the op applies to its kind,
 * and calls the handler (or the built-in admin ops). x must be set up
 * (st, op, res, arena, session_id). Returns 0, a status, or MPSD_PARK.
 */
int mpsd_store_exec(mpsd_store *st, mpsd_exec *x);

/* Whether the op may change state (read-only mode, dedupe). */
int mpsd_store_op_writes(mpsd_store *st, const Mpstore__Op *op);
uint64_t mpsd_store_token(const mpsd_store *st);

/* Fill info (strings point into c: copy before unlocking). */
void mpsd_store_info(const mpsd_container *c, Mpstore__ContainerInfo *info);

/* Approximate heap bytes of c (its kind's estimate, its name and waiters;
 * the whole store's count is mpsd_store_memory, kept as ops run). */
size_t mpsd_store_container_memory(const mpsd_container *c);

/* Apply one committed change (recovery). Creates/deletes containers for
 * CH_CREATE/CH_DELETE/CH_RESYNC; hands CH_SCHEMA (no container name) to
 * the schema hooks' apply. Returns a status and a message in err. */
int mpsd_store_apply(mpsd_store *st, const Mpstore__Change *ch, char *err, size_t errlen);

/* Dump one container as change records (see mpsd_kind.dump), info set. */
int mpsd_store_dump(mpsd_store *st, mpsd_container *c, size_t chunk, mpsd_emit_fn emit, void *arg);

/*
 * Resource limits (limits.c), each 0 for none. They apply to ops run with
 * mpsd_store_exec, never to recovery (mpsd_store_apply): what is stored
 * always loads. Past a limit the op fails with ERR_LIMIT and a message
 * naming the limit and its mpstored flag; reads, deletes, pops and clears
 * always go on.
 *  - max_memory: bytes the containers (mpsd_store_memory) and the memory
 *    hook (the change history) may hold together. Ops that may add data
 *    (MPSD_OPF_GROWS, creates) are refused when that total plus the op's
 *    payload would pass it.
 *  - max_containers: creates of new containers past it are refused.
 *  - max_elements: per container (list, dict, namespace, queue, array).
 */
typedef struct mpsd_limits {
	uint64_t max_memory;
	uint64_t max_containers;
	uint64_t max_elements;
} mpsd_limits;
void               mpsd_store_set_limits(mpsd_store *st, const mpsd_limits *l); /* copied */
const mpsd_limits *mpsd_store_limits(const mpsd_store *st);
/* Default for max_memory: half of the RAM (or cgroup memory.max) available. */
uint64_t mpsd_default_max_memory(void);
/* Bytes the containers hold, by the kinds' own estimates (memory()) plus
 * each container's struct and names. */
size_t mpsd_store_memory(const mpsd_store *st);
/* Memory outside the store counted against max_memory: fn(arg) is called
 * under the store lock and must not take it. NULL fn: none. keeps_copy:
 * that memory also gets a copy of each change (the history does), so a
 * write is counted at twice its payload. */
void   mpsd_store_set_memory_hook(mpsd_store *st, size_t (*fn)(void *arg), void *arg,
       int keeps_copy);
size_t mpsd_store_memory_extra(const mpsd_store *st);
/* Recount every container: 0 when the running count is exact, else -1
 * (tests and fuzz targets). */
int mpsd_store_memory_check(mpsd_store *st);

/* Schema hook: validates message elements (set by schema.c; NULL = none
 * loaded, and every TYPE_MESSAGE value is refused). Returns 0 or a status
 * with a message naming the type and the problem. */
typedef int (*mpsd_msg_check_fn)(void *arg, const char *type, const uint8_t *data, size_t len,
    char *err, size_t errlen);
void mpsd_store_set_msg_check(mpsd_store *st, mpsd_msg_check_fn fn, void *arg);
int  mpsd_store_msg_check(mpsd_store *st, const char *type, const uint8_t *data, size_t len,
     char *err, size_t errlen);

/*
 * Schema hooks (set by schema.c; all NULL without schema support). Called
 * with the store lock held.
 *  - check_type: OP_CREATE of a TYPE_MESSAGE container; 0 when `type` is a
 *    known message type, else a status (ERR_SCHEMA) with a message. Not
 *    called by recovery (mpsd_store_apply), so stored data always loads.
 *  - apply: mpsd_store_apply of a CH_SCHEMA change (recovery): merge the
 *    FileDescriptorSet `set` into the registry.
 *  - dump: the whole registry as one FileDescriptorSet (*set malloc'ed,
 *    freed by the caller; *len 0 and *set NULL when empty), for snapshots.
 */
typedef struct mpsd_schema_hooks {
	int (*check_type)(void *arg, const char *type, char *err, size_t errlen);
	int (*apply)(void *arg, const uint8_t *set, size_t len, char *err, size_t errlen);
	int (*dump)(void *arg, uint8_t **set, size_t *len);
} mpsd_schema_hooks;
/* hooks is copied; NULL removes them. */
void mpsd_store_set_schema_hooks(mpsd_store *st, const mpsd_schema_hooks *hooks, void *arg);

/*
 * Emit the registry as one CH_SCHEMA change (name "", revision 0,
 * value.bytes_value = the FileDescriptorSet) when a schema is registered;
 * nothing otherwise. Snapshots write it first, so recovery loads schemas
 * before the containers whose elements use them. Returns 0, ENOMEM, or
 * what emit returned.
 */
int mpsd_store_dump_schema(mpsd_store *st, mpsd_emit_fn emit, void *arg);

/* Create a container directly (recovery, schema-declared containers). */
int mpsd_store_create(mpsd_store *st, const Mpstore__Op *create, mpsd_container **out, char *err,
    size_t errlen);

/*
 * Parked ops (waiters). A resume function re-runs a waiter's op (with
 * x->w = w, x->expired as given) and returns MPSD_PARK if it still waits;
 * otherwise it answers the request and calls mpsd_waiter_free(w).
 */
typedef int (*mpsd_resume_fn)(void *owner, mpsd_waiter *w, int expired);

/* Re-run the waiters of every container changed since the last call, in
 * arrival order (stopping at the first that parks again unless the kind
 * wakes all), and of deleted containers (they then fail ERR_NOT_FOUND). */
void mpsd_store_run_wakeups(mpsd_store *st, mpsd_resume_fn fn);
/* Re-run, with expired set, every waiter whose deadline is <= now_ms. */
void    mpsd_store_expire(mpsd_store *st, int64_t now_ms, mpsd_resume_fn fn);
int64_t mpsd_store_next_deadline(const mpsd_store *st); /* INT64_MAX: none */
size_t  mpsd_store_nwaiters(const mpsd_store *st);
void   *mpsd_waiter_owner(mpsd_waiter *w);
int64_t mpsd_waiter_since(const mpsd_waiter *w);    /* parked at (mpsd_now_ms) */
int64_t mpsd_waiter_deadline(const mpsd_waiter *w); /* INT64_MAX: none */
mpsd_container *mpsd_waiter_container(mpsd_waiter *w); /* NULL once deleted */
void    mpsd_waiter_free(mpsd_waiter *w);
/* Take a parked op away (its request's connection is gone): the waiter is
 * freed, never answered, and the ops behind it get their turn. */
void    mpsd_store_unpark(mpsd_store *st, mpsd_waiter *w);

/* A session ended: its waiters are removed (drop is called with each
 * owner, which must free the request without answering), then every
 * container's kind releases what the session held, with changes recorded
 * through x (an exec with no op). */
void mpsd_store_session_gone(mpsd_store *st, mpsd_exec *x, uint64_t session_id,
    void (*drop)(void *owner));

#endif
