/*
 * k_sync_test.h - helpers for the sync kinds' unit tests (k_*_test.c):
 * calls on the heap (parked ones must stay put), sessions dying, deadlines
 * passing, and a change log replayed into a fresh store (recovery).
 */
#ifndef MPSD_K_SYNC_TEST_H
#define MPSD_K_SYNC_TEST_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include "testutil.h"

#define ST(s) MPSTORE__STATUS__##s
#define OPC(s) MPSTORE__OP_CODE__OP_##s

static inline tu_call *ks_call(void)
{
	tu_call *k = malloc(sizeof(*k));
	assert_non_null(k);
	tu_call_init(k);
	return k;
}

static inline void ks_free(tu_call *k)
{
	tu_call_fini(k);
	free(k);
}

/* Run code on name with a timeout (ms; -1 for ever) as session sid. */
static inline int ks_run(mpsd_store *st, tu_call *k, Mpstore__OpCode code, const char *name,
    int64_t timeout, uint64_t sid)
{
	Mpstore__Op op = tu_op(code, name);
	op.timeout_ms = timeout;
	return tu_exec(st, k, &op, sid);
}

/* Same with a count. */
static inline int ks_runc(mpsd_store *st, tu_call *k, Mpstore__OpCode code, const char *name,
    int64_t count, uint64_t sid)
{
	Mpstore__Op op = tu_op(code, name);
	op.count = count;
	return tu_exec(st, k, &op, sid);
}

/* One-shot op: returns the status; result fields through *res if non-NULL. */
static inline int ks_do(mpsd_store *st, Mpstore__OpCode code, const char *name, int64_t timeout,
    uint64_t sid, Mpstore__Result *res)
{
	tu_call *k = ks_call();
	int      rv = ks_run(st, k, code, name, timeout, sid);
	assert_int_not_equal(rv, MPSD_PARK);
	if (res != NULL) {
		*res = k->res;
		res->error = NULL;
		res->value = NULL;
		res->info = NULL;
		res->changes = NULL;
		res->n_changes = 0;
	}
	ks_free(k);
	return rv;
}

static inline void ks_drop_cb(void *owner)
{
	tu_call *k = owner;
	k->x.w = NULL;
	k->done = 2; /* forgotten, never answered */
}

/* The session died: drop its waiters, release its holds, run wake-ups. */
static inline void ks_gone(mpsd_store *st, uint64_t sid)
{
	mpsd_arena      a;
	Mpstore__Result r;
	mpsd_exec       x;
	memset(&x, 0, sizeof(x));
	mpsd_arena_init(&a);
	mpstore__result__init(&r);
	x.st = st;
	x.arena = &a;
	x.res = &r;
	mpsd_store_session_gone(st, &x, sid, ks_drop_cb);
	tu_wake(st);
	mpsd_arena_fini(&a);
}

/* Every deadline up to ms from now passes. */
static inline void ks_expire_in(mpsd_store *st, int64_t ms)
{
	tu_expire(st, mpsd_now_ms() + ms);
}

/* ---- change log and replay ---- */

typedef struct ks_log {
	uint8_t **buf;
	size_t   *len;
	uint64_t *rev;
	size_t    n, cap;
} ks_log;

static inline void ks_log_add(ks_log *l, const Mpstore__Change *ch)
{
	if (l->n == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 64;
		l->buf = realloc(l->buf, l->cap * sizeof(*l->buf));
		l->len = realloc(l->len, l->cap * sizeof(*l->len));
		l->rev = realloc(l->rev, l->cap * sizeof(*l->rev));
		assert_true(l->buf && l->len && l->rev);
	}
	l->len[l->n] = mpstore__change__get_packed_size(ch);
	l->buf[l->n] = malloc(l->len[l->n] + 1);
	assert_non_null(l->buf[l->n]);
	mpstore__change__pack(ch, l->buf[l->n]);
	l->rev[l->n] = ch->revision;
	l->n++;
}

/* Log the changes of a finished call. */
static inline void ks_log_call(ks_log *l, const tu_call *k)
{
	for (size_t i = 0; i < k->x.nchanges; i++)
		ks_log_add(l, k->x.changes[i]);
}

static inline int ks_log_emit_cb(void *arg, const Mpstore__Change *ch)
{
	ks_log_add(arg, ch);
	return 0;
}

static inline void ks_log_free(ks_log *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->buf[i]);
	free(l->buf);
	free(l->len);
	free(l->rev);
	memset(l, 0, sizeof(*l));
}

/* Apply the log, in revision order (a stable sort), to st. */
static inline void ks_log_replay(ks_log *l, mpsd_store *st)
{
	for (size_t i = 1; i < l->n; i++)
		for (size_t j = i; j > 0 && l->rev[j - 1] > l->rev[j]; j--) {
			uint8_t *b = l->buf[j]; l->buf[j] = l->buf[j - 1]; l->buf[j - 1] = b;
			size_t   n = l->len[j]; l->len[j] = l->len[j - 1]; l->len[j - 1] = n;
			uint64_t r = l->rev[j]; l->rev[j] = l->rev[j - 1]; l->rev[j - 1] = r;
		}
	for (size_t i = 0; i < l->n; i++) {
		char             err[400] = "";
		Mpstore__Change *ch = mpstore__change__unpack(NULL, l->len[i], l->buf[i]);
		assert_non_null(ch);
		int rv = mpsd_store_apply(st, ch, err, sizeof(err));
		if (rv != 0)
			fail_msg("apply of change %zu (type %d): %s", i, (int)ch->type, err);
		mpstore__change__free_unpacked(ch, NULL);
	}
}

/* Create name (kind, count), logging the CH_CREATE when l is non-NULL. */
static inline void ks_create(mpsd_store *st, ks_log *l, const char *name, Mpstore__Kind kind,
    Mpstore__ElemType et, int64_t count)
{
	tu_call    *k = ks_call();
	Mpstore__Op op = tu_op(MPSTORE__OP_CODE__OP_CREATE, name);
	op.kind = kind;
	op.elem_type = et;
	op.count = count;
	assert_int_equal(tu_exec(st, k, &op, 0), 0);
	if (l != NULL)
		ks_log_call(l, k);
	ks_free(k);
}

/* Dump name from st into l. */
static inline void ks_dump(mpsd_store *st, const char *name, ks_log *l)
{
	assert_int_equal(mpsd_store_dump(st, mpsd_store_find(st, name), 2, ks_log_emit_cb, l), 0);
}

/* Apply l's records to a fresh store (returned). */
static inline mpsd_store *ks_log_copy(ks_log *l)
{
	mpsd_store *st2 = mpsd_store_alloc();
	assert_non_null(st2);
	ks_log_replay(l, st2);
	return st2;
}

/* Dump name from st and apply the records to a fresh store (returned). */
static inline mpsd_store *ks_dump_copy(mpsd_store *st, const char *name)
{
	ks_log      l = {0};
	mpsd_store *st2 = mpsd_store_alloc();
	assert_non_null(st2);
	assert_int_equal(mpsd_store_dump(st, mpsd_store_find(st, name), 2, ks_log_emit_cb, &l), 0);
	ks_log_replay(&l, st2);
	ks_log_free(&l);
	return st2;
}

/* What a kind's holders hook reports for name (at most 8 holders). */
typedef struct ks_holders {
	mpsd_holder h[8];
	int         n;
} ks_holders;

static inline void ks_holder_cb(void *arg, const mpsd_holder *h)
{
	ks_holders *l = arg;
	if (l->n < 8)
		l->h[l->n++] = *h;
}

static inline int ks_holders_of(mpsd_store *st, const char *name, ks_holders *l)
{
	mpsd_container *c = mpsd_store_find(st, name);
	assert_non_null(c);
	assert_non_null(c->k->holders);
	l->n = 0;
	c->k->holders(c, ks_holder_cb, l);
	return l->n;
}

#endif
