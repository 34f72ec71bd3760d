/*
 * k_list.c - KIND_LIST: a Python list shared by processes, kept as a ring
 * buffer of mpsd_val (a deque): O(1) amortised at both ends, O(n) in the
 * middle, where the shorter side is moved.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "exec.h"

#define LIST_ST(s)   MPSTORE__STATUS__##s
#define LIST_MINCAP  8u
#define LIST_MAXLEN  ((size_t) 1 << 30)

typedef struct list_impl {
	mpsd_val *buf;
	size_t    cap; /* a power of two, or 0 */
	size_t    head;
	size_t    len;
	size_t    heap; /* heap bytes owned by the elements */
} list_impl;

static list_impl *list_of(const mpsd_container *c)
{
	return c->impl;
}

static mpsd_val *list_at(const list_impl *l, size_t i)
{
	return &l->buf[(l->head + i) & (l->cap - 1)];
}

static int list_nomem(mpsd_exec *x)
{
	return mpsd_exec_fail(x, LIST_ST(ERR_LIMIT), "out of memory");
}

/* Move to a buffer of ncap slots (>= len), unwrapping the ring. */
static int list_resize(list_impl *l, size_t ncap)
{
	mpsd_val *nb = malloc(ncap * sizeof(*nb));

	if (nb == NULL)
		return -1;
	for (size_t i = 0; i < l->len; i++)
		nb[i] = *list_at(l, i);
	free(l->buf);
	l->buf  = nb;
	l->cap  = ncap;
	l->head = 0;
	return 0;
}

/* Room for n more elements; returns 0, or a status (x failed). */
static int list_reserve(mpsd_exec *x, const mpsd_container *c, list_impl *l, size_t n)
{
	size_t ncap = l->cap ? l->cap : LIST_MINCAP;
	int    rv;

	if (n > LIST_MAXLEN - l->len)
		return mpsd_exec_fail(x, LIST_ST(ERR_LIMIT), "a list holds at most %zu elements", LIST_MAXLEN);
	if ((rv = mpsd_exec_check_room(x, c, l->len, n)) != 0)
		return rv;
	while (ncap < l->len + n)
		ncap *= 2;
	if (ncap != l->cap && list_resize(l, ncap) != 0)
		return list_nomem(x);
	return 0;
}

/* Give back memory once three quarters are unused. */
static void list_shrink(list_impl *l)
{
	if (l->len == 0) {
		free(l->buf);
		l->buf = NULL;
		l->cap = l->head = 0;
	} else if (l->cap > LIST_MINCAP && l->len < l->cap / 4) {
		(void) list_resize(l, l->cap / 2); /* keeping the big buffer is fine too */
	}
}

/* Open k uninitialised slots at position i (room reserved). */
static void list_open(list_impl *l, size_t i, size_t k)
{
	if (i < l->len - i) {
		l->head = (l->head - k) & (l->cap - 1);
		for (size_t j = 0; j < i; j++)
			*list_at(l, j) = *list_at(l, j + k);
	} else {
		for (size_t j = l->len; j-- > i;)
			*list_at(l, j + k) = *list_at(l, j);
	}
	l->len += k;
}

/* Close k slots at position i (their values already released or moved). */
static void list_close(list_impl *l, size_t i, size_t k)
{
	if (i < l->len - i - k) {
		for (size_t j = i; j-- > 0;)
			*list_at(l, j + k) = *list_at(l, j);
		l->head = (l->head + k) & (l->cap - 1);
	} else {
		for (size_t j = i; j + k < l->len; j++)
			*list_at(l, j) = *list_at(l, j + k);
	}
	l->len -= k;
	list_shrink(l);
}

/* Store vals (taken) at position i, room reserved. */
static void list_put(list_impl *l, size_t i, mpsd_val *vals, size_t n)
{
	list_open(l, i, n);
	for (size_t j = 0; j < n; j++) {
		*list_at(l, i + j) = vals[j];
		l->heap += mpsd_val_heap(&vals[j]);
	}
}

static void list_drop(list_impl *l, size_t i, size_t k)
{
	for (size_t j = 0; j < k; j++) {
		l->heap -= mpsd_val_heap(list_at(l, i + j));
		mpsd_val_fini(list_at(l, i + j));
	}
	list_close(l, i, k);
}

static void list_clear(list_impl *l)
{
	for (size_t j = 0; j < l->len; j++)
		mpsd_val_fini(list_at(l, j));
	free(l->buf);
	memset(l, 0, sizeof(*l));
}


static void list_free_vals(mpsd_val *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		mpsd_val_fini(&v[i]);
	free(v);
}

/*
 * Insert the op's values (pv[0..n)) at position `at` (clamped already):
 * check each, copy them for the store and for a CH_LIST_INSERT change,
 * then store them. Nothing changes on failure.
 */
static int list_insert(mpsd_exec *x, mpsd_container *c, size_t at, Mpstore__Value *const *pv, size_t n)
{
	list_impl        *l = list_of(c);
	mpsd_val         *v;
	Mpstore__Value  **cv;
	Mpstore__Change  *ch;
	size_t            i;
	int               rv;

	for (i = 0; i < n; i++)
		if ((rv = mpsd_exec_check_value(x, c, pv[i])) != 0)
			return rv;
	if (n == 0)
		return 0;
	if ((v = calloc(n, sizeof(*v))) == NULL)
		return list_nomem(x);
	for (i = 0; i < n; i++)
		if (mpsd_val_from_pb(&v[i], pv[i]) != 0)
			break;
	rv = i < n ? list_nomem(x) : list_reserve(x, c, l, n);
	if (rv == 0 && (cv = mpsd_exec_vals(x, n)) == NULL)
		rv = list_nomem(x);
	for (i = 0; rv == 0 && i < n; i++)
		if ((cv[i] = mpsd_exec_pbval(x, pv[i])) == NULL)
			rv = list_nomem(x);
	if (rv == 0 && (ch = mpsd_exec_change(x, c, MPSTORE__CHANGE_TYPE__CH_LIST_INSERT)) == NULL)
		rv = list_nomem(x);
	if (rv != 0) {
		list_free_vals(v, n);
		return rv;
	}
	ch->index    = (int64_t) at;
	ch->n_values = n;
	ch->values   = cv;
	list_put(l, at, v, n);
	free(v);
	return 0;
}

/* LIST_APPEND value -> count (new length) */
static int list_op_append(mpsd_exec *x, mpsd_container *c)
{
	Mpstore__Value *pv = x->op->value;
	int             rv = list_insert(x, c, list_of(c)->len, &pv, 1);

	x->res->count = (int64_t) list_of(c)->len;
	return rv;
}

/* LIST_EXTEND values -> count (new length) */
static int list_op_extend(mpsd_exec *x, mpsd_container *c)
{
	int rv = list_insert(x, c, list_of(c)->len, x->op->values, x->op->n_values);

	x->res->count = (int64_t) list_of(c)->len;
	return rv;
}

/* LIST_INSERT index value (index clamped like Python's) -> count */
static int list_op_insert(mpsd_exec *x, mpsd_container *c)
{
	Mpstore__Value *pv = x->op->value;
	int             rv = list_insert(x, c, mpsd_index_clamp(x->op->index, list_of(c)->len), &pv, 1);

	x->res->count = (int64_t) list_of(c)->len;
	return rv;
}

/* LIST_GET index (negative from the end) -> value */
static int list_op_get(mpsd_exec *x, mpsd_container *c)
{
	int64_t i = mpsd_index_norm(x->op->index, list_of(c)->len);

	if (i < 0)
		return mpsd_exec_fail(x, LIST_ST(ERR_INDEX), "list index %lld out of range (length %zu)",
		    (long long) x->op->index, list_of(c)->len);
	if ((x->res->value = mpsd_exec_val(x, list_at(list_of(c), (size_t) i))) == NULL)
		return list_nomem(x);
	return 0;
}

/* LIST_SLICE index (start) [stop with FLAG_HAS_STOP] -> values */
static int list_op_slice(mpsd_exec *x, mpsd_container *c)
{
	list_impl       *l     = list_of(c);
	size_t           start = mpsd_index_clamp(x->op->index, l->len);
	size_t           stop  = x->op->flags & MPSTORE__OP_FLAG__FLAG_HAS_STOP ? mpsd_index_clamp(x->op->stop, l->len) : l->len;
	size_t           n     = stop > start ? stop - start : 0;
	Mpstore__Value **out;

	if (n == 0)
		return 0;
	if ((out = mpsd_exec_vals(x, n)) == NULL)
		return list_nomem(x);
	for (size_t i = 0; i < n; i++)
		if ((out[i] = mpsd_exec_val(x, list_at(l, start + i))) == NULL)
			return list_nomem(x);
	x->res->n_values = n;
	x->res->values   = out;
	return 0;
}

/* LIST_SET index value */
static int list_op_set(mpsd_exec *x, mpsd_container *c)
{
	list_impl       *l = list_of(c);
	int64_t          i = mpsd_index_norm(x->op->index, l->len);
	mpsd_val         nv, *slot;
	Mpstore__Change *ch;
	Mpstore__Value  *cv;
	int              rv;

	if (i < 0)
		return mpsd_exec_fail(x, LIST_ST(ERR_INDEX), "list assignment index %lld out of range (length %zu)",
		    (long long) x->op->index, l->len);
	if ((rv = mpsd_exec_check_value(x, c, x->op->value)) != 0)
		return rv;
	if (mpsd_val_from_pb(&nv, x->op->value) != 0)
		return list_nomem(x);
	if ((cv = mpsd_exec_pbval(x, x->op->value)) == NULL ||
	    (ch = mpsd_exec_change(x, c, MPSTORE__CHANGE_TYPE__CH_LIST_SET)) == NULL) {
		mpsd_val_fini(&nv);
		return list_nomem(x);
	}
	ch->index = i;
	ch->value = cv;
	slot      = list_at(l, (size_t) i);
	l->heap  += mpsd_val_heap(&nv) - mpsd_val_heap(slot);
	mpsd_val_fini(slot);
	*slot = nv;
	return 0;
}

/* Remove the element at i (in range), recording CH_LIST_DELETE. */
static int list_delete_at(mpsd_exec *x, mpsd_container *c, size_t i)
{
	Mpstore__Change *ch = mpsd_exec_change(x, c, MPSTORE__CHANGE_TYPE__CH_LIST_DELETE);

	if (ch == NULL)
		return list_nomem(x);
	ch->index = (int64_t) i;
	ch->count = 1;
	list_drop(list_of(c), i, 1);
	return 0;
}

/* LIST_POP [index with FLAG_HAS_INDEX, else the last] -> value */
static int list_op_pop(mpsd_exec *x, mpsd_container *c)
{
	list_impl *l = list_of(c);
	int64_t    i;

	if (l->len == 0)
		return mpsd_exec_fail(x, LIST_ST(ERR_EMPTY), "pop from empty list");
	i = x->op->flags & MPSTORE__OP_FLAG__FLAG_HAS_INDEX ? mpsd_index_norm(x->op->index, l->len) : (int64_t) l->len - 1;
	if (i < 0)
		return mpsd_exec_fail(x, LIST_ST(ERR_INDEX), "pop index %lld out of range (length %zu)",
		    (long long) x->op->index, l->len);
	if ((x->res->value = mpsd_exec_val(x, list_at(l, (size_t) i))) == NULL)
		return list_nomem(x);
	return list_delete_at(x, c, (size_t) i);
}

/* Position of the first element equal to op->value, or -1 (x failed). */
static int64_t list_find(mpsd_exec *x, const mpsd_container *c, const char *what)
{
	list_impl *l = list_of(c);
	mpsd_val   v;
	int64_t    found = -1;

	if (mpsd_val_from_pb(&v, x->op->value) != 0) {
		list_nomem(x);
		return -1;
	}
	for (size_t i = 0; i < l->len && found < 0; i++)
		if (mpsd_val_equal(list_at(l, i), &v))
			found = (int64_t) i;
	mpsd_val_fini(&v);
	if (found < 0)
		mpsd_exec_fail(x, LIST_ST(ERR_INVALID), "list.%s(x): x not in list", what);
	return found;
}

/* LIST_REMOVE value: the first equal element */
static int list_op_remove(mpsd_exec *x, mpsd_container *c)
{
	int64_t i = list_find(x, c, "remove");

	return i < 0 ? (int) x->res->status : list_delete_at(x, c, (size_t) i);
}

/* LIST_INDEX value -> count (index of the first equal element) */
static int list_op_index(mpsd_exec *x, mpsd_container *c)
{
	int64_t i = list_find(x, c, "index");

	if (i < 0)
		return (int) x->res->status;
	x->res->count = i;
	return 0;
}

/* LIST_LEN -> count */
static int list_op_len(mpsd_exec *x, mpsd_container *c)
{
	x->res->count = (int64_t) list_of(c)->len;
	return 0;
}

/* LIST_CLEAR */
static int list_op_clear(mpsd_exec *x, mpsd_container *c)
{
	if (mpsd_exec_change(x, c, MPSTORE__CHANGE_TYPE__CH_CLEAR) == NULL)
		return list_nomem(x);
	list_clear(list_of(c));
	return 0;
}

static int list_init(mpsd_container *c, const Mpstore__Op *create, char *err, size_t errlen)
{
	if ((c->impl = calloc(1, sizeof(list_impl))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return LIST_ST(ERR_LIMIT);
	}
	return 0;
}

static void list_fini(mpsd_container *c)
{
	if (c->impl != NULL)
		list_clear(list_of(c));
	free(c->impl);
	c->impl = NULL;
}

static int64_t list_length(const mpsd_container *c)
{
	return (int64_t) list_of(c)->len;
}

static size_t list_memory(const mpsd_container *c)
{
	const list_impl *l = list_of(c);

	return sizeof(*l) + l->cap * sizeof(mpsd_val) + l->heap;
}

static int list_dump(const mpsd_container *c, size_t chunk, mpsd_emit_fn emit, void *arg)
{
	const list_impl *l   = list_of(c);
	size_t           pos = 0, n;
	Mpstore__Change  ch  = MPSTORE__CHANGE__INIT;
	Mpstore__Value  *pv;
	Mpstore__Value **pp;
	int              rv = 0;

	if (chunk == 0 || chunk > l->len)
		chunk = l->len > 0 ? l->len : 1;
	pv = calloc(chunk, sizeof(*pv));
	pp = calloc(chunk, sizeof(*pp));
	if (pv == NULL || pp == NULL)
		rv = LIST_ST(ERR_LIMIT);
	ch.revision = c->revision;
	ch.name     = c->name;
	ch.kind     = c->k->kind;
	ch.type     = MPSTORE__CHANGE_TYPE__CH_RESYNC;
	while (rv == 0) {
		for (n = 0; n < chunk && pos + n < l->len; n++) {
			mpsd_val_to_pb(list_at(l, pos + n), &pv[n]);
			pp[n] = &pv[n];
		}
		ch.index    = (int64_t) pos;
		ch.n_values = n;
		ch.values   = pp;
		rv          = emit(arg, &ch);
		pos += n;
		if (pos >= l->len)
			break;
		ch.type = MPSTORE__CHANGE_TYPE__CH_LIST_INSERT;
	}
	free(pv);
	free(pp);
	return rv;
}

static int list_apply_fail(char *err, size_t errlen, const char *msg, const Mpstore__Change *ch)
{
	snprintf(err, errlen, "list change: %s (index %lld, count %lld)", msg, (long long) ch->index,
	    (long long) ch->count);
	return LIST_ST(ERR_INVALID);
}

/* CH_LIST_INSERT values at index (RESYNC: after emptying the list). */
static int list_apply_insert(list_impl *l, const Mpstore__Change *ch, size_t at, char *err, size_t errlen)
{
	mpsd_val *v = calloc(ch->n_values ? ch->n_values : 1, sizeof(*v));
	size_t    i, ncap = l->cap ? l->cap : (ch->n_values ? LIST_MINCAP : 0);

	if (v == NULL)
		return list_apply_fail(err, errlen, "out of memory", ch);
	for (i = 0; i < ch->n_values; i++)
		if (mpsd_val_from_pb(&v[i], ch->values[i]) != 0)
			break;
	while (ncap < l->len + ch->n_values)
		ncap *= 2;
	if (i < ch->n_values || (ncap > l->cap && list_resize(l, ncap) != 0)) {
		list_free_vals(v, ch->n_values);
		return list_apply_fail(err, errlen, "out of memory", ch);
	}
	if (ch->n_values > 0)
		list_put(l, at, v, ch->n_values);
	free(v);
	return 0;
}

static int list_apply(mpsd_container *c, const Mpstore__Change *ch, char *err, size_t errlen)
{
	list_impl *l = list_of(c);
	mpsd_val   nv;

	switch (ch->type) {
	case MPSTORE__CHANGE_TYPE__CH_RESYNC:
		list_clear(l);
		return list_apply_insert(l, ch, 0, err, errlen);
	case MPSTORE__CHANGE_TYPE__CH_LIST_INSERT:
		if (ch->index < 0 || ch->index > (int64_t) l->len)
			return list_apply_fail(err, errlen, "index out of range", ch);
		return list_apply_insert(l, ch, (size_t) ch->index, err, errlen);
	case MPSTORE__CHANGE_TYPE__CH_LIST_SET:
		if (ch->index < 0 || ch->index >= (int64_t) l->len)
			return list_apply_fail(err, errlen, "index out of range", ch);
		if (mpsd_val_from_pb(&nv, ch->value) != 0)
			return list_apply_fail(err, errlen, "out of memory", ch);
		l->heap += mpsd_val_heap(&nv) - mpsd_val_heap(list_at(l, (size_t) ch->index));
		mpsd_val_fini(list_at(l, (size_t) ch->index));
		*list_at(l, (size_t) ch->index) = nv;
		return 0;
	case MPSTORE__CHANGE_TYPE__CH_LIST_DELETE:
		if (ch->index < 0 || ch->count < 0 || ch->index > (int64_t) l->len ||
		    ch->count > (int64_t) l->len - ch->index)
			return list_apply_fail(err, errlen, "range out of bounds", ch);
		if (ch->count > 0)
			list_drop(l, (size_t) ch->index, (size_t) ch->count);
		return 0;
	case MPSTORE__CHANGE_TYPE__CH_CLEAR:
		list_clear(l);
		return 0;
	default:
		return list_apply_fail(err, errlen, "change type does not apply to a list", ch);
	}
}

static const mpsd_opdef list_ops[] = {
	{ MPSTORE__OP_CODE__OP_LIST_APPEND, "append", MPSD_OPF_WRITE | MPSD_OPF_GROWS, list_op_append },
	{ MPSTORE__OP_CODE__OP_LIST_EXTEND, "extend", MPSD_OPF_WRITE | MPSD_OPF_GROWS, list_op_extend },
	{ MPSTORE__OP_CODE__OP_LIST_INSERT, "insert", MPSD_OPF_WRITE | MPSD_OPF_GROWS, list_op_insert },
	{ MPSTORE__OP_CODE__OP_LIST_GET, "get", 0, list_op_get },
	{ MPSTORE__OP_CODE__OP_LIST_SLICE, "slice", 0, list_op_slice },
	{ MPSTORE__OP_CODE__OP_LIST_SET, "set", MPSD_OPF_WRITE | MPSD_OPF_GROWS, list_op_set },
	{ MPSTORE__OP_CODE__OP_LIST_POP, "pop", MPSD_OPF_WRITE, list_op_pop },
	{ MPSTORE__OP_CODE__OP_LIST_REMOVE, "remove", MPSD_OPF_WRITE, list_op_remove },
	{ MPSTORE__OP_CODE__OP_LIST_INDEX, "index", 0, list_op_index },
	{ MPSTORE__OP_CODE__OP_LIST_LEN, "len", 0, list_op_len },
	{ MPSTORE__OP_CODE__OP_LIST_CLEAR, "clear", MPSD_OPF_WRITE, list_op_clear },
	{ 0, NULL, 0, NULL },
};

const mpsd_kind mpsd_kind_list = {
	.kind   = MPSTORE__KIND__KIND_LIST,
	.name   = "list",
	.ops    = list_ops,
	.init   = list_init,
	.fini   = list_fini,
	.length = list_length,
	.memory = list_memory,
	.dump   = list_dump,
	.apply  = list_apply,
};
