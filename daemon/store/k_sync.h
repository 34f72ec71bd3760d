/*
 * k_sync.h - what the synchronisation kinds share (k_lock.c, k_cond.c,
 * k_sem.c, k_event.c, k_barrier.c, k_queue.c): the packed CH_STATE
 * records (layouts in docs/sync.md) and the lock that lock, rlock and
 * condition have in common. All calls under the store lock.
 */
#ifndef MPSD_K_SYNC_H
#define MPSD_K_SYNC_H

#include <stddef.h>
#include <stdint.h>

#include "exec.h"

/* State of a lock, an rlock, or a condition's lock. owner 0 = free. */
typedef struct mpsd_lockst {
	uint64_t owner; /* session id of the holder */
	int64_t  depth; /* rlock recursion depth (1 for a held plain lock) */
	uint64_t token; /* fencing token of the current grant */
	int64_t  since_ms; /* granted at (mpsd_now_ms; in memory only, not packed) */
} mpsd_lockst;

#define MPSD_LOCKST_SIZE 24 /* owner u64, depth i64, token u64; little-endian */
#define MPSD_LOCKST_DUMP 32 /* the same and the run id u64 (CH_RESYNC) */

/*
 * The run id: a random number chosen when the daemon process starts. A
 * dump (CH_RESYNC) of a kind whose holders are sessions carries it; when
 * such a dump is applied by the same run (a txn rollback) the holders are
 * restored, when applied by another run (recovery after a restart, when
 * every session is gone) they are released. CH_STATE records are applied
 * only by recovery, so they always release. mpsd_sync_new_run draws a new
 * id: as if the daemon had restarted (for tests).
 */
uint64_t mpsd_sync_run_id(void);
void     mpsd_sync_new_run(void);

/* Little-endian 64-bit fields of packed states. */
static inline void mpsd_sync_put64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static inline uint64_t mpsd_sync_get64(const uint8_t *p)
{
	uint64_t v = 0;
	for (int i = 0; i < 8; i++)
		v |= (uint64_t)p[i] << (8 * i);
	return v;
}

/*
 * Record a CH_STATE change on c whose value.bytes_value is a copy of the
 * n bytes at b. Returns 0 or fails x with ERR_LIMIT (out of memory).
 */
int mpsd_sync_emit_state(mpsd_exec *x, mpsd_container *c, const uint8_t *b, size_t n);

/* Emit c's whole state as one CH_RESYNC carrying the n bytes at b (a dump). */
int mpsd_sync_dump_state(const mpsd_container *c, const uint8_t *b, size_t n, mpsd_emit_fn emit,
    void *arg);

/*
 * The packed state of a CH_STATE or CH_RESYNC record, which must be
 * exactly n bytes; NULL (err written) when it is missing or of another
 * size.
 */
const uint8_t *mpsd_sync_state_bytes(const mpsd_container *c, const Mpstore__Change *ch, size_t n,
    char *err, size_t errlen);

/* Fail x with ERR_INVALID unless it has a session (holds are per session). */
int mpsd_sync_need_session(mpsd_exec *x, const char *what);

/* Info result (capacity, length, ...) of c, copied into x's arena. */
Mpstore__ContainerInfo *mpsd_sync_info(mpsd_exec *x, const mpsd_container *c);

/*
 * The lock ops, on a container whose impl starts with a mpsd_lockst:
 * re-entrant for KIND_RLOCK and KIND_CONDITION. Handlers as in container.h.
 */
int mpsd_lock_op_acquire(mpsd_exec *x, mpsd_container *c);
int mpsd_lock_op_release(mpsd_exec *x, mpsd_container *c);
int mpsd_lock_op_locked(mpsd_exec *x, mpsd_container *c);

/* Grant l to x's session with depth (new token), record CH_STATE and the
 * hold, and fill the result (flag, token, count). Returns 0 or a status. */
int mpsd_lock_grant(mpsd_exec *x, mpsd_container *c, mpsd_lockst *l, int64_t depth);
/* Record l as a CH_STATE change of c. */
int mpsd_lock_emit(mpsd_exec *x, mpsd_container *c, const mpsd_lockst *l);

/* Shared kind hooks for lock-shaped containers. */
int     mpsd_lock_init(mpsd_container *c, const Mpstore__Op *create, char *err, size_t errlen);
void    mpsd_lock_fini(mpsd_container *c);
int64_t mpsd_lock_length(const mpsd_container *c);
size_t  mpsd_lock_memory(const mpsd_container *c);
int     mpsd_lock_dump(const mpsd_container *c, size_t chunk, mpsd_emit_fn emit, void *arg);
int     mpsd_lock_apply(mpsd_container *c, const Mpstore__Change *ch, char *err, size_t errlen);
void    mpsd_lock_session_gone(mpsd_exec *x, mpsd_container *c, uint64_t session_id);
void    mpsd_lock_holders(const mpsd_container *c, mpsd_holder_fn fn, void *arg);

#endif
