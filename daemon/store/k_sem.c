/*
 * k_sem.c - KIND_SEMAPHORE and KIND_BOUNDED_SEMAPHORE. The create count is
 * the initial value. Acquired units are counted per session, so a dead
 * session's units come back; any session may release (as in Python), and
 * a release first pays back the releaser's own units.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "k_sync.h"

#define SEM_ST(s) MPSTORE__STATUS__##s

#define SEM_STATE_SIZE 16 /* CH_STATE: value i64, units held by sessions i64 */
#define SEM_DUMP_SIZE  24 /* CH_RESYNC: the same, run id u64, then the holders */

typedef struct sem_holder {
	uint64_t sid;
	int64_t  n;
	uint64_t token;    /* of its latest unit */
	int64_t  since_ms; /* holding since (mpsd_now_ms; in memory only) */
} sem_holder;

typedef struct sem {
	int64_t     value; /* units available */
	int64_t     held;  /* sum of h[].n */
	sem_holder *h;     /* sessions holding units, unordered */
	size_t      nh, caph;
} sem;

static sem *sem_of(const mpsd_container *c)
{
	return c->impl;
}

static int sem_bounded(const mpsd_container *c)
{
	return c->k->kind == MPSTORE__KIND__KIND_BOUNDED_SEMAPHORE;
}

static sem_holder *sem_find(sem *s, uint64_t sid)
{
	for (size_t i = 0; i < s->nh; i++)
		if (s->h[i].sid == sid)
			return &s->h[i];
	return NULL;
}

/* The holder entry of sid, added (n = 0) if missing; NULL when out of memory. */
static sem_holder *sem_holder_get(sem *s, uint64_t sid)
{
	sem_holder *h = sem_find(s, sid);

	if (h != NULL)
		return h;
	if (s->nh == s->caph) {
		size_t      n  = s->caph ? s->caph * 2 : 4;
		sem_holder *nv = realloc(s->h, n * sizeof(*nv));
		if (nv == NULL)
			return NULL;
		s->h    = nv;
		s->caph = n;
	}
	h           = &s->h[s->nh++];
	h->sid      = sid;
	h->n        = 0;
	h->token    = 0;
	h->since_ms = mpsd_now_ms();
	return h;
}

static void sem_holder_drop(sem *s, sem_holder *h)
{
	*h = s->h[--s->nh];
}

static int sem_emit(mpsd_exec *x, mpsd_container *c, int64_t value, int64_t held)
{
	uint8_t b[SEM_STATE_SIZE];

	mpsd_sync_put64(b, (uint64_t)value);
	mpsd_sync_put64(b + 8, (uint64_t)held);
	return mpsd_sync_emit_state(x, c, b, sizeof(b));
}

/* SEM_ACQUIRE timeout_ms -> flag (granted), token, count (value after) */
static int sem_op_acquire(mpsd_exec *x, mpsd_container *c)
{
	sem        *s = sem_of(c);
	sem_holder *h;
	int         rv;

	if ((rv = mpsd_sync_need_session(x, "acquiring")) != 0)
		return rv;
	if (s->value > 0) {
		if ((h = sem_holder_get(s, x->session_id)) == NULL)
			return mpsd_exec_fail(x, SEM_ST(ERR_LIMIT), "out of memory");
		if ((rv = sem_emit(x, c, s->value - 1, s->held + 1)) != 0) {
			if (h->n == 0)
				sem_holder_drop(s, h);
			return rv;
		}
		s->value--;
		s->held++;
		h->n++;
		mpsd_exec_hold(x, c);
		x->res->flag  = 1;
		x->res->token = h->token = mpsd_exec_token(x);
		x->res->count = s->value;
		return 0;
	}
	if (mpsd_exec_can_wait(x))
		return mpsd_exec_park(x, c);
	if (x->expired)
		return mpsd_exec_fail(x, SEM_ST(ERR_TIMEOUT), "%s '%s' not acquired within %lld ms",
		    c->k->name, c->name, (long long)x->op->timeout_ms);
	x->res->flag = 0;
	return 0;
}

/* SEM_RELEASE [count = n units, 0 means 1] -> count (value after) */
static int sem_op_release(mpsd_exec *x, mpsd_container *c)
{
	sem        *s = sem_of(c);
	int64_t     n = x->op->count == 0 ? 1 : x->op->count, nv, mine;
	sem_holder *h;
	int         rv;

	if (n < 0)
		return mpsd_exec_fail(x, SEM_ST(ERR_INVALID), "release count must be >= 1, got %lld",
		    (long long)n);
	if (__builtin_add_overflow(s->value, n, &nv))
		return mpsd_exec_fail(x, SEM_ST(ERR_INVALID), "semaphore value would overflow");
	if (sem_bounded(c) && nv > c->capacity)
		return mpsd_exec_fail(x, SEM_ST(ERR_INVALID),
		    "semaphore released too many times ('%s' has initial value %lld)", c->name,
		    (long long)c->capacity);
	h    = x->session_id != 0 ? sem_find(s, x->session_id) : NULL;
	mine = h == NULL ? 0 : (h->n < n ? h->n : n);
	if ((rv = sem_emit(x, c, nv, s->held - mine)) != 0)
		return rv;
	s->value = nv;
	s->held -= mine;
	if (h != NULL && (h->n -= mine) == 0)
		sem_holder_drop(s, h);
	x->res->count = s->value;
	return 0;
}

/* SEM_VALUE -> count */
static int sem_op_value(mpsd_exec *x, mpsd_container *c)
{
	x->res->count = sem_of(c)->value;
	return 0;
}

static int sem_init(mpsd_container *c, const Mpstore__Op *create, char *err, size_t errlen)
{
	sem *s;

	if (create->count < 0) {
		snprintf(err, errlen, "semaphore initial value must be >= 0, got %lld",
		    (long long)create->count);
		return SEM_ST(ERR_INVALID);
	}
	if ((s = calloc(1, sizeof(*s))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return SEM_ST(ERR_LIMIT);
	}
	s->value = create->count;
	c->impl  = s;
	return 0;
}

static void sem_fini(mpsd_container *c)
{
	sem *s = sem_of(c);

	if (s != NULL)
		free(s->h);
	free(s);
	c->impl = NULL;
}

static int64_t sem_length(const mpsd_container *c)
{
	return sem_of(c)->value;
}

static size_t sem_memory(const mpsd_container *c)
{
	return sizeof(sem) + sem_of(c)->caph * sizeof(sem_holder);
}

/* CH_RESYNC: value, held, run id, then (session, units) per holder. */
static int sem_dump(const mpsd_container *c, size_t chunk, mpsd_emit_fn emit, void *arg)
{
	const sem *s = sem_of(c);
	size_t     n = SEM_DUMP_SIZE + 16 * s->nh;
	uint8_t   *b = malloc(n);
	int        rv;

	if (b == NULL)
		return SEM_ST(ERR_LIMIT);
	mpsd_sync_put64(b, (uint64_t)s->value);
	mpsd_sync_put64(b + 8, (uint64_t)s->held);
	mpsd_sync_put64(b + 16, mpsd_sync_run_id());
	for (size_t i = 0; i < s->nh; i++) {
		mpsd_sync_put64(b + SEM_DUMP_SIZE + 16 * i, s->h[i].sid);
		mpsd_sync_put64(b + SEM_DUMP_SIZE + 16 * i + 8, (uint64_t)s->h[i].n);
	}
	rv = mpsd_sync_dump_state(c, b, n, emit, arg);
	free(b);
	return rv;
}

/* Units a session gives back: all it holds, but never past a bounded
 * semaphore's initial value (another session may have released for it). */
static int64_t sem_returnable(const mpsd_container *c, int64_t value, int64_t units)
{
	if (sem_bounded(c) && value + units > c->capacity)
		units = c->capacity > value ? c->capacity - value : 0;
	return units;
}

/* Restore the holders of a dump made by this run (a txn rollback);
 * 0, or -1 when the record does not add up. */
static int sem_apply_holders(sem *s, const uint8_t *b, size_t n)
{
	size_t  nh = (n - SEM_DUMP_SIZE) / 16;
	int64_t sum = 0;

	s->nh = 0;
	for (size_t i = 0; i < nh; i++) {
		uint64_t    sid = mpsd_sync_get64(b + SEM_DUMP_SIZE + 16 * i);
		int64_t     u   = (int64_t)mpsd_sync_get64(b + SEM_DUMP_SIZE + 16 * i + 8);
		sem_holder *h;
		if (sid == 0 || u <= 0 || u > s->held - sum || (h = sem_holder_get(s, sid)) == NULL)
			return -1;
		h->n += u;
		sum += u;
	}
	return sum == s->held ? 0 : -1;
}

/* Units held by sessions come back, unless the record is a dump made by
 * this run (see k_sync.h), which restores its holders. */
static int sem_apply(mpsd_container *c, const Mpstore__Change *ch, char *err, size_t errlen)
{
	sem                  *s = sem_of(c);
	const Mpstore__Value *v = ch->value;
	const uint8_t        *b;
	size_t                n;
	int64_t               value, held;
	int                   resync = ch->type == MPSTORE__CHANGE_TYPE__CH_RESYNC;

	if (ch->type != MPSTORE__CHANGE_TYPE__CH_STATE && !resync) {
		snprintf(err, errlen, "change type %d does not apply to a %s", (int)ch->type, c->k->name);
		return SEM_ST(ERR_INVALID);
	}
	if (v == NULL || v->v_case != MPSTORE__VALUE__V_BYTES_VALUE ||
	    (resync ? v->bytes_value.len < SEM_DUMP_SIZE || (v->bytes_value.len - SEM_DUMP_SIZE) % 16 != 0
	            : v->bytes_value.len != SEM_STATE_SIZE))
		goto bad;
	b     = v->bytes_value.data;
	n     = v->bytes_value.len;
	value = (int64_t)mpsd_sync_get64(b);
	held  = (int64_t)mpsd_sync_get64(b + 8);
	if (value < 0 || held < 0 || value > INT64_MAX - held)
		goto bad;
	s->value = value;
	s->held  = held;
	if (resync && mpsd_sync_get64(b + 16) == mpsd_sync_run_id()) {
		if (sem_apply_holders(s, b, n) != 0) {
			s->nh   = 0;
			s->held = 0;
			goto bad;
		}
		return 0;
	}
	s->value = value + sem_returnable(c, value, held);
	s->held  = 0;
	s->nh    = 0;
	return 0;
bad:
	snprintf(err, errlen, "bad %s state record for '%s'", c->k->name, c->name);
	return SEM_ST(ERR_INVALID);
}

static void sem_session_gone(mpsd_exec *x, mpsd_container *c, uint64_t sid)
{
	sem        *s = sem_of(c);
	sem_holder *h = sem_find(s, sid);
	int64_t     give;

	if (h == NULL)
		return;
	give = sem_returnable(c, s->value, h->n);
	/* returned even if the record cannot be made: units must not leak */
	sem_emit(x, c, s->value + give, s->held - h->n);
	s->value += give;
	s->held -= h->n;
	sem_holder_drop(s, h);
}

static void sem_holders(const mpsd_container *c, mpsd_holder_fn fn, void *arg)
{
	const sem *s = sem_of(c);

	for (size_t i = 0; i < s->nh; i++) {
		mpsd_holder h = {s->h[i].sid, s->h[i].n, s->h[i].token, s->h[i].since_ms};
		fn(arg, &h);
	}
}

static const mpsd_opdef sem_ops[] = {
	{MPSTORE__OP_CODE__OP_SEM_ACQUIRE, "acquire", MPSD_OPF_WRITE | MPSD_OPF_BLOCKS, sem_op_acquire},
	{MPSTORE__OP_CODE__OP_SEM_RELEASE, "release", MPSD_OPF_WRITE, sem_op_release},
	{MPSTORE__OP_CODE__OP_SEM_VALUE, "value", 0, sem_op_value},
	{0, NULL, 0, NULL},
};

const mpsd_kind mpsd_kind_semaphore = {
	.kind         = MPSTORE__KIND__KIND_SEMAPHORE,
	.name         = "semaphore",
	.ops          = sem_ops,
	.wake_all     = 0,
	.init         = sem_init,
	.fini         = sem_fini,
	.length       = sem_length,
	.memory       = sem_memory,
	.dump         = sem_dump,
	.apply        = sem_apply,
	.session_gone = sem_session_gone,
	.holders      = sem_holders,
};

const mpsd_kind mpsd_kind_bounded_semaphore = {
	.kind         = MPSTORE__KIND__KIND_BOUNDED_SEMAPHORE,
	.name         = "bounded_semaphore",
	.ops          = sem_ops,
	.wake_all     = 0,
	.init         = sem_init,
	.fini         = sem_fini,
	.length       = sem_length,
	.memory       = sem_memory,
	.dump         = sem_dump,
	.apply        = sem_apply,
	.session_gone = sem_session_gone,
	.holders      = sem_holders,
};
