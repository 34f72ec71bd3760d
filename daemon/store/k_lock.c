/*
 * k_lock.c - KIND_LOCK and KIND_RLOCK, owned by a session (the client's
 * connection): only the owner releases, and the owner's death releases. A
 * grant carries a fencing token. KIND_CONDITION reuses these ops for its
 * own re-entrant lock (k_cond.c). Also the helpers every sync kind shares
 * (k_sync.h). State layouts: docs/sync.md.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "k_sync.h"
#include "store.h"

#define LOCK_ST(s) MPSTORE__STATUS__##s

/* ---- helpers shared by the sync kinds ---- */

static uint64_t sync_run; /* written under the store lock */

void mpsd_sync_new_run(void)
{
	struct timespec ts;
	uint64_t        z;

	clock_gettime(CLOCK_REALTIME, &ts);
	z = sync_run ^ ((uint64_t)ts.tv_sec << 30) ^ (uint64_t)ts.tv_nsec ^ ((uint64_t)getpid() << 40) ^
	    (uint64_t)(uintptr_t)&ts;
	/* splitmix64 finaliser, so that close inputs give far-apart ids */
	z += 0x9e3779b97f4a7c15ull;
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	z ^= z >> 31;
	sync_run = z != 0 && z != sync_run ? z : sync_run + 1;
}

uint64_t mpsd_sync_run_id(void)
{
	if (sync_run == 0)
		mpsd_sync_new_run();
	return sync_run;
}

int mpsd_sync_emit_state(mpsd_exec *x, mpsd_container *c, const uint8_t *b, size_t n)
{
	Mpstore__Value  *v = mpsd_exec_alloc(x, sizeof(*v));
	uint8_t         *d = mpsd_exec_alloc(x, n ? n : 1);
	Mpstore__Change *ch;

	if (v == NULL || d == NULL || (ch = mpsd_exec_change(x, c, MPSTORE__CHANGE_TYPE__CH_STATE)) == NULL)
		return mpsd_exec_fail(x, LOCK_ST(ERR_LIMIT), "out of memory");
	memcpy(d, b, n);
	mpstore__value__init(v);
	v->v_case          = MPSTORE__VALUE__V_BYTES_VALUE;
	v->bytes_value.data = d;
	v->bytes_value.len  = n;
	ch->value          = v;
	return 0;
}

int mpsd_sync_dump_state(const mpsd_container *c, const uint8_t *b, size_t n, mpsd_emit_fn emit,
    void *arg)
{
	Mpstore__Change ch = MPSTORE__CHANGE__INIT;
	Mpstore__Value  v  = MPSTORE__VALUE__INIT;

	v.v_case           = MPSTORE__VALUE__V_BYTES_VALUE;
	v.bytes_value.data = (uint8_t *)b;
	v.bytes_value.len  = n;
	ch.revision        = c->revision;
	ch.name            = c->name;
	ch.kind            = c->k->kind;
	ch.type            = MPSTORE__CHANGE_TYPE__CH_RESYNC;
	ch.value           = &v;
	return emit(arg, &ch);
}

const uint8_t *mpsd_sync_state_bytes(const mpsd_container *c, const Mpstore__Change *ch, size_t n,
    char *err, size_t errlen)
{
	const Mpstore__Value *v = ch->value;

	if (v == NULL || v->v_case != MPSTORE__VALUE__V_BYTES_VALUE || v->bytes_value.len != n) {
		snprintf(err, errlen, "%s state record of '%s' is not %zu bytes", c->k->name, c->name, n);
		return NULL;
	}
	return v->bytes_value.data;
}

int mpsd_sync_need_session(mpsd_exec *x, const char *what)
{
	if (x->session_id == 0)
		return mpsd_exec_fail(x, LOCK_ST(ERR_INVALID), "%s needs a session (client_id)", what);
	return 0;
}

Mpstore__ContainerInfo *mpsd_sync_info(mpsd_exec *x, const mpsd_container *c)
{
	Mpstore__ContainerInfo *i = mpsd_exec_alloc(x, sizeof(*i));

	if (i == NULL)
		return NULL;
	mpsd_store_info(c, i);
	i->name         = mpsd_arena_memdup(x->arena, c->name, strlen(c->name));
	i->message_type = mpsd_arena_memdup(x->arena, c->message_type, strlen(c->message_type));
	return i->name != NULL && i->message_type != NULL ? i : NULL;
}

/* ---- the lock ---- */

static mpsd_lockst *lock_st(const mpsd_container *c)
{
	return c->impl; /* a condition's impl starts with its lock too */
}

static int lock_reentrant(const mpsd_container *c)
{
	return c->k->kind != MPSTORE__KIND__KIND_LOCK;
}

static void lock_pack(const mpsd_lockst *l, uint8_t b[MPSD_LOCKST_SIZE])
{
	mpsd_sync_put64(b, l->owner);
	mpsd_sync_put64(b + 8, (uint64_t)l->depth);
	mpsd_sync_put64(b + 16, l->token);
}

int mpsd_lock_emit(mpsd_exec *x, mpsd_container *c, const mpsd_lockst *l)
{
	uint8_t b[MPSD_LOCKST_SIZE];

	lock_pack(l, b);
	return mpsd_sync_emit_state(x, c, b, sizeof(b));
}

int mpsd_lock_grant(mpsd_exec *x, mpsd_container *c, mpsd_lockst *l, int64_t depth)
{
	mpsd_lockst nl = {x->session_id, depth, mpsd_exec_token(x), mpsd_now_ms()};
	int         rv;

	if ((rv = mpsd_lock_emit(x, c, &nl)) != 0)
		return rv;
	*l = nl;
	mpsd_exec_hold(x, c);
	x->res->flag  = 1;
	x->res->token = nl.token;
	x->res->count = nl.depth;
	return 0;
}

/* LOCK_ACQUIRE timeout_ms -> flag (granted), token (fencing), count (depth) */
int mpsd_lock_op_acquire(mpsd_exec *x, mpsd_container *c)
{
	mpsd_lockst *l = lock_st(c);
	mpsd_lockst  nl;
	int          rv;

	if ((rv = mpsd_sync_need_session(x, "acquiring")) != 0)
		return rv;
	if (l->owner == x->session_id) {
		if (!lock_reentrant(c))
			return mpsd_exec_fail(x, LOCK_ST(ERR_INVALID),
			    "lock '%s' already held by this session (use an rlock)", c->name);
		/* re-entry: same grant, same token */
		if (l->depth == INT64_MAX)
			return mpsd_exec_fail(x, LOCK_ST(ERR_LIMIT), "%s '%s' is held %lld times already",
			    c->k->name, c->name, (long long)l->depth);
		nl = *l;
		nl.depth++;
		if ((rv = mpsd_lock_emit(x, c, &nl)) != 0)
			return rv;
		*l            = nl;
		x->res->flag  = 1;
		x->res->token = l->token;
		x->res->count = l->depth;
		return 0;
	}
	if (l->owner == 0)
		return mpsd_lock_grant(x, c, l, 1);
	if (mpsd_exec_can_wait(x))
		return mpsd_exec_park(x, c);
	if (x->expired)
		return mpsd_exec_fail(x, LOCK_ST(ERR_TIMEOUT), "%s '%s' not acquired within %lld ms",
		    c->k->name, c->name, (long long)x->op->timeout_ms);
	x->res->flag = 0; /* timeout 0: Python's acquire(blocking=False) -> False */
	return 0;
}

/* LOCK_RELEASE -> count (remaining depth) */
int mpsd_lock_op_release(mpsd_exec *x, mpsd_container *c)
{
	mpsd_lockst *l = lock_st(c);
	mpsd_lockst  nl;
	int          rv;

	if (l->owner == 0)
		return mpsd_exec_fail(x, LOCK_ST(ERR_NOT_OWNER), "release of unlocked %s '%s'",
		    c->k->name, c->name);
	if (l->owner != x->session_id)
		return mpsd_exec_fail(x, LOCK_ST(ERR_NOT_OWNER),
		    "%s '%s' is held by another session; only its owner may release it", c->k->name,
		    c->name);
	nl = *l;
	if (--nl.depth == 0)
		nl.owner = 0;
	if ((rv = mpsd_lock_emit(x, c, &nl)) != 0)
		return rv;
	*l            = nl;
	x->res->count = nl.depth;
	return 0;
}

/* LOCK_RELEASE_TOKEN count = fencing token: releases that grant entirely,
 * whichever session holds it (a CLI holder in another process, an operator
 * breaking a stuck lock). An old token never releases a later grant. */
static int lock_op_release_token(mpsd_exec *x, mpsd_container *c)
{
	mpsd_lockst *l  = lock_st(c);
	mpsd_lockst  nl = {0, 0, l->token, 0};
	int          rv;

	if (l->owner == 0 || x->op->count <= 0 || (uint64_t)x->op->count != l->token)
		return mpsd_exec_fail(x, LOCK_ST(ERR_NOT_OWNER),
		    "%s '%s' is not held under token %lld (%s)", c->k->name, c->name,
		    (long long)x->op->count, l->owner == 0 ? "it is free" : "a different grant holds it");
	if ((rv = mpsd_lock_emit(x, c, &nl)) != 0)
		return rv;
	*l            = nl;
	x->res->count = 0;
	return 0;
}

/* LOCK_LOCKED -> flag, token (the holder's), count (depth) */
int mpsd_lock_op_locked(mpsd_exec *x, mpsd_container *c)
{
	const mpsd_lockst *l = lock_st(c);

	x->res->flag  = l->owner != 0;
	x->res->token = l->owner != 0 ? l->token : 0;
	x->res->count = l->depth;
	return 0;
}

int mpsd_lock_init(mpsd_container *c, const Mpstore__Op *create, char *err, size_t errlen)
{
	if ((c->impl = calloc(1, sizeof(mpsd_lockst))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return LOCK_ST(ERR_LIMIT);
	}
	return 0;
}

void mpsd_lock_fini(mpsd_container *c)
{
	free(c->impl);
	c->impl = NULL;
}

int64_t mpsd_lock_length(const mpsd_container *c)
{
	return lock_st(c)->depth;
}

size_t mpsd_lock_memory(const mpsd_container *c)
{
	return sizeof(mpsd_lockst);
}

int mpsd_lock_dump(const mpsd_container *c, size_t chunk, mpsd_emit_fn emit, void *arg)
{
	uint8_t b[MPSD_LOCKST_DUMP];

	lock_pack(lock_st(c), b);
	mpsd_sync_put64(b + MPSD_LOCKST_SIZE, mpsd_sync_run_id());
	return mpsd_sync_dump_state(c, b, sizeof(b), emit, arg);
}

/* The holder is restored only from a dump of this run (see k_sync.h):
 * after a restart every session is gone, so the lock is free. */
int mpsd_lock_apply(mpsd_container *c, const Mpstore__Change *ch, char *err, size_t errlen)
{
	const uint8_t *b;
	mpsd_lockst   *l = lock_st(c);
	int            resync = ch->type == MPSTORE__CHANGE_TYPE__CH_RESYNC;

	if (ch->type != MPSTORE__CHANGE_TYPE__CH_STATE && !resync) {
		snprintf(err, errlen, "change type %d does not apply to a %s", (int)ch->type, c->k->name);
		return LOCK_ST(ERR_INVALID);
	}
	b = mpsd_sync_state_bytes(c, ch, resync ? MPSD_LOCKST_DUMP : MPSD_LOCKST_SIZE, err, errlen);
	if (b == NULL)
		return LOCK_ST(ERR_INVALID);
	l->token = mpsd_sync_get64(b + 16);
	if (resync && mpsd_sync_get64(b + MPSD_LOCKST_SIZE) == mpsd_sync_run_id() &&
	    mpsd_sync_get64(b) != 0 && (int64_t)mpsd_sync_get64(b + 8) > 0) {
		if (l->owner != mpsd_sync_get64(b))
			l->since_ms = mpsd_now_ms(); /* a rollback gave it back: since is unknown */
		l->owner = mpsd_sync_get64(b);
		l->depth = (int64_t)mpsd_sync_get64(b + 8);
	} else {
		l->owner = 0;
		l->depth = 0;
	}
	return 0;
}

void mpsd_lock_session_gone(mpsd_exec *x, mpsd_container *c, uint64_t sid)
{
	mpsd_lockst *l  = lock_st(c);
	mpsd_lockst  nl = {0, 0, l->token, 0};

	if (l->owner != sid)
		return;
	/* released even if the record cannot be made: holders must not leak */
	mpsd_lock_emit(x, c, &nl);
	*l = nl;
}

void mpsd_lock_holders(const mpsd_container *c, mpsd_holder_fn fn, void *arg)
{
	const mpsd_lockst *l = lock_st(c);
	mpsd_holder        h = {l->owner, l->depth, l->token, l->since_ms};

	if (l->owner != 0)
		fn(arg, &h);
}

static const mpsd_opdef lock_ops[] = {
	{MPSTORE__OP_CODE__OP_LOCK_ACQUIRE, "acquire", MPSD_OPF_WRITE | MPSD_OPF_BLOCKS, mpsd_lock_op_acquire},
	{MPSTORE__OP_CODE__OP_LOCK_RELEASE, "release", MPSD_OPF_WRITE, mpsd_lock_op_release},
	{MPSTORE__OP_CODE__OP_LOCK_LOCKED, "locked", 0, mpsd_lock_op_locked},
	{MPSTORE__OP_CODE__OP_LOCK_RELEASE_TOKEN, "release_token", MPSD_OPF_WRITE,
	    lock_op_release_token},
	{0, NULL, 0, NULL},
};

const mpsd_kind mpsd_kind_lock = {
	.kind         = MPSTORE__KIND__KIND_LOCK,
	.name         = "lock",
	.ops          = lock_ops,
	.wake_all     = 0,
	.init         = mpsd_lock_init,
	.fini         = mpsd_lock_fini,
	.length       = mpsd_lock_length,
	.memory       = mpsd_lock_memory,
	.dump         = mpsd_lock_dump,
	.apply        = mpsd_lock_apply,
	.session_gone = mpsd_lock_session_gone,
	.holders      = mpsd_lock_holders,
};

const mpsd_kind mpsd_kind_rlock = {
	.kind         = MPSTORE__KIND__KIND_RLOCK,
	.name         = "rlock",
	.ops          = lock_ops,
	.wake_all     = 0,
	.init         = mpsd_lock_init,
	.fini         = mpsd_lock_fini,
	.length       = mpsd_lock_length,
	.memory       = mpsd_lock_memory,
	.dump         = mpsd_lock_dump,
	.apply        = mpsd_lock_apply,
	.session_gone = mpsd_lock_session_gone,
	.holders      = mpsd_lock_holders,
};
