/*
 * val_testutil.h - helpers for the container kinds' unit tests (on top of
 * testutil.h): every op runs against a store and its changes are replayed
 * into a mirror store, as recovery would; vt_same then checks that the
 * two hold the same state, and that a dump applied to a fresh store does
 * too. An op that fails must record no change.
 *
 * Include after <cmocka.h>. Tests use the globals vt_st and vt_mir, set up
 * by vt_setup / vt_teardown.
 */
#ifndef MPSD_VAL_TESTUTIL_H
#define MPSD_VAL_TESTUTIL_H

#include <stdlib.h>
#include <string.h>

#include "testutil.h"

static mpsd_store *vt_st, *vt_mir;

static int vt_setup(void **state)
{
	(void) state;
	vt_st  = mpsd_store_alloc();
	vt_mir = mpsd_store_alloc();
	return vt_st == NULL || vt_mir == NULL;
}

static int vt_teardown(void **state)
{
	(void) state;
	mpsd_store_free(vt_st);
	mpsd_store_free(vt_mir);
	vt_st = vt_mir = NULL;
	return 0;
}

static inline Mpstore__Value *vt_bool(tu_call *k, int b)
{
	Mpstore__Value *v = tu_pbval(k, MPSTORE__VALUE__V_BOOL_VALUE);
	v->bool_value     = b;
	return v;
}

static inline Mpstore__Value *vt_bytes(tu_call *k, const void *p, size_t n)
{
	Mpstore__Value *v   = tu_pbval(k, MPSTORE__VALUE__V_BYTES_VALUE);
	v->bytes_value.data = mpsd_arena_memdup(&k->arena, p, n);
	v->bytes_value.len  = n;
	return v;
}

static inline Mpstore__Value *vt_null(tu_call *k)
{
	return tu_pbval(k, MPSTORE__VALUE__V__NOT_SET);
}

static inline Mpstore__Value **vt_vals(tu_call *k, size_t n)
{
	return mpsd_arena_alloc(&k->arena, (n ? n : 1) * sizeof(Mpstore__Value *));
}

/* Replay k's changes into the mirror. */
static void vt_replay(tu_call *k)
{
	char err[256];

	for (size_t i = 0; i < k->x.nchanges; i++) {
		int rv = mpsd_store_apply(vt_mir, k->x.changes[i], err, sizeof(err));
		if (rv != 0)
			fail_msg("replay of change %zu failed: %d %s", i, rv, err);
	}
}

/* Run op (k initialised by the caller, values built in k) and mirror it.
 * Returns the status; a failed op must have recorded no change. */
static int vt_run(tu_call *k, const Mpstore__Op *op)
{
	int rv = tu_exec(vt_st, k, op, 0);

	if (rv == 0)
		vt_replay(k);
	else
		assert_int_equal(k->x.nchanges, 0);
	return rv;
}

/* Create a container in both stores. */
static int vt_create(const char *name, Mpstore__Kind kind, Mpstore__ElemType et, Mpstore__KeyType kt,
    int64_t count, Mpstore__Value *(*initial)(tu_call *))
{
	tu_call k;
	int     rv;

	tu_call_init(&k);
	Mpstore__Op op = tu_op(MPSTORE__OP_CODE__OP_CREATE, name);
	op.kind        = kind;
	op.elem_type   = et;
	op.key_type    = kt;
	op.count       = count;
	if (initial != NULL)
		op.value = initial(&k);
	rv = vt_run(&k, &op);
	tu_call_fini(&k);
	return rv;
}

typedef struct vt_buf {
	uint8_t *p;
	size_t   n, cap;
	int      nch;
} vt_buf;

static int vt_pack_cb(void *arg, const Mpstore__Change *ch)
{
	vt_buf *b  = arg;
	size_t  sz = mpstore__change__get_packed_size(ch);

	while (b->n + sz + 8 > b->cap) {
		b->cap = b->cap ? b->cap * 2 : 4096;
		b->p   = realloc(b->p, b->cap);
		assert_non_null(b->p);
	}
	memcpy(b->p + b->n, &sz, sizeof(sz));
	b->n += sizeof(sz);
	b->n += mpstore__change__pack(ch, b->p + b->n);
	b->nch++;
	return 0;
}

static void vt_dump(mpsd_store *st, const char *name, size_t chunk, vt_buf *b)
{
	mpsd_container *c = mpsd_store_find(st, name);

	assert_non_null(c);
	memset(b, 0, sizeof(*b));
	assert_int_equal(mpsd_store_dump(st, c, chunk, vt_pack_cb, b), 0);
}

static int vt_apply_cb(void *arg, const Mpstore__Change *ch)
{
	char err[256];
	int  rv = mpsd_store_apply(arg, ch, err, sizeof(err));

	if (rv != 0)
		fail_msg("apply of dumped change failed: %d %s", rv, err);
	return rv;
}

/* The mirror and a store rebuilt from a dump equal the store. */
static void vt_same(const char *name)
{
	vt_buf      a, b, d;
	mpsd_store *fresh = mpsd_store_alloc();

	vt_dump(vt_st, name, 3, &a);
	vt_dump(vt_mir, name, 3, &b);
	assert_int_equal(a.n, b.n);
	assert_memory_equal(a.p, b.p, a.n);
	assert_int_equal(mpsd_store_dump(vt_st, mpsd_store_find(vt_st, name), 3, vt_apply_cb, fresh), 0);
	vt_dump(fresh, name, 3, &d);
	assert_int_equal(a.n, d.n);
	assert_memory_equal(a.p, d.p, a.n);
	free(a.p);
	free(b.p);
	free(d.p);
	mpsd_store_free(fresh);
}

#endif
