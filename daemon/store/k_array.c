/*
 * k_array.c - KIND_ARRAY, like multiprocessing.Array('i', 10): a fixed
 * number of int64, double or bool elements, zero-filled at creation and
 * stored unboxed (8 or 1 bytes each). Its change records reuse the list
 * ones: CH_LIST_SET (index + value, or index + values for a run), and a
 * dump's CH_LIST_INSERT chunks overwrite from their index (the length
 * never changes).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "exec.h"

#define ARRAY_ST(s)  MPSTORE__STATUS__##s
#define ARRAY_MAXLEN ((int64_t) 16 << 20)

typedef struct array_impl {
	Mpstore__ElemType type;
	size_t            len;
	size_t            esize;
	void             *data;
} array_impl;

static array_impl *array_of(const mpsd_container *c)
{
	return c->impl;
}

static int array_nomem(mpsd_exec *x)
{
	return mpsd_exec_fail(x, ARRAY_ST(ERR_LIMIT), "out of memory");
}

/* Element i as a wire value (no allocation). */
static void array_get_pb(const array_impl *a, size_t i, Mpstore__Value *pv)
{
	mpstore__value__init(pv);
	switch (a->type) {
	case MPSTORE__ELEM_TYPE__TYPE_INT64:
		pv->v_case    = MPSTORE__VALUE__V_INT_VALUE;
		pv->int_value = ((const int64_t *) a->data)[i];
		break;
	case MPSTORE__ELEM_TYPE__TYPE_DOUBLE:
		pv->v_case       = MPSTORE__VALUE__V_DOUBLE_VALUE;
		pv->double_value = ((const double *) a->data)[i];
		break;
	default:
		pv->v_case     = MPSTORE__VALUE__V_BOOL_VALUE;
		pv->bool_value = ((const uint8_t *) a->data)[i] != 0;
		break;
	}
}

/* Store a wire value of the array's type (checked) at i. */
static void array_set_pb(array_impl *a, size_t i, const Mpstore__Value *pv)
{
	switch (a->type) {
	case MPSTORE__ELEM_TYPE__TYPE_INT64:
		((int64_t *) a->data)[i] = pv->int_value;
		break;
	case MPSTORE__ELEM_TYPE__TYPE_DOUBLE:
		((double *) a->data)[i] = pv->double_value;
		break;
	default:
		((uint8_t *) a->data)[i] = pv->bool_value != 0;
		break;
	}
}

/* Whether pv fits the array (for recovery, where no exec is at hand). */
static int array_fits(const array_impl *a, const Mpstore__Value *pv)
{
	Mpstore__Value__VCase want = a->type == MPSTORE__ELEM_TYPE__TYPE_INT64    ? MPSTORE__VALUE__V_INT_VALUE
	                             : a->type == MPSTORE__ELEM_TYPE__TYPE_DOUBLE ? MPSTORE__VALUE__V_DOUBLE_VALUE
	                                                                         : MPSTORE__VALUE__V_BOOL_VALUE;
	return pv != NULL && pv->v_case == want;
}


/* create: elem_type int64, double or bool; count = length */
static int array_init(mpsd_container *c, const Mpstore__Op *create, char *err, size_t errlen)
{
	array_impl *a;

	if (c->elem_type != MPSTORE__ELEM_TYPE__TYPE_INT64 && c->elem_type != MPSTORE__ELEM_TYPE__TYPE_DOUBLE &&
	    c->elem_type != MPSTORE__ELEM_TYPE__TYPE_BOOL) {
		snprintf(err, errlen, "an array holds int64, double or bool elements, not %s",
		    mpsd_elem_type_name(c->elem_type));
		return ARRAY_ST(ERR_INVALID);
	}
	if (create->count <= 0 || create->count > ARRAY_MAXLEN) {
		snprintf(err, errlen, "array length (count) must be 1 to %lld, not %lld", (long long) ARRAY_MAXLEN,
		    (long long) create->count);
		return ARRAY_ST(ERR_INVALID);
	}
	if ((a = calloc(1, sizeof(*a))) == NULL)
		goto nomem;
	a->type  = c->elem_type;
	a->len   = (size_t) create->count;
	a->esize = c->elem_type == MPSTORE__ELEM_TYPE__TYPE_BOOL ? 1 : 8;
	if ((a->data = calloc(a->len, a->esize)) == NULL) {
		free(a);
		goto nomem;
	}
	c->impl     = a;
	c->capacity = create->count;
	return 0;
nomem:
	snprintf(err, errlen, "out of memory");
	return ARRAY_ST(ERR_LIMIT);
}

static void array_fini(mpsd_container *c)
{
	if (c->impl != NULL)
		free(array_of(c)->data);
	free(c->impl);
	c->impl = NULL;
}

static int64_t array_length(const mpsd_container *c)
{
	return (int64_t) array_of(c)->len;
}

static size_t array_memory(const mpsd_container *c)
{
	return sizeof(array_impl) + array_of(c)->len * array_of(c)->esize;
}

/* LIST_GET index (negative from the end) -> value */
static int array_op_get(mpsd_exec *x, mpsd_container *c)
{
	array_impl    *a = array_of(c);
	int64_t        i = mpsd_index_norm(x->op->index, a->len);
	Mpstore__Value pv;

	if (i < 0)
		return mpsd_exec_fail(x, ARRAY_ST(ERR_INDEX), "array index %lld out of range (length %zu)",
		    (long long) x->op->index, a->len);
	array_get_pb(a, (size_t) i, &pv);
	if ((x->res->value = mpsd_exec_pbval(x, &pv)) == NULL)
		return array_nomem(x);
	return 0;
}

/* LIST_SLICE index (start) [stop with FLAG_HAS_STOP] -> values */
static int array_op_slice(mpsd_exec *x, mpsd_container *c)
{
	array_impl      *a     = array_of(c);
	size_t           start = mpsd_index_clamp(x->op->index, a->len);
	size_t           stop  = x->op->flags & MPSTORE__OP_FLAG__FLAG_HAS_STOP ? mpsd_index_clamp(x->op->stop, a->len) : a->len;
	size_t           n     = stop > start ? stop - start : 0;
	Mpstore__Value **out, pv;

	if (n == 0)
		return 0;
	if ((out = mpsd_exec_vals(x, n)) == NULL)
		return array_nomem(x);
	for (size_t i = 0; i < n; i++) {
		array_get_pb(a, start + i, &pv);
		if ((out[i] = mpsd_exec_pbval(x, &pv)) == NULL)
			return array_nomem(x);
	}
	x->res->n_values = n;
	x->res->values   = out;
	return 0;
}

/* LIST_SET index value, or index values (overwrites a run; never resizes) */
static int array_op_set(mpsd_exec *x, mpsd_container *c)
{
	array_impl            *a   = array_of(c);
	const Mpstore__Op     *op  = x->op;
	int                    run = op->n_values > 0;
	size_t                 n   = run ? op->n_values : 1;
	Mpstore__Value *const *pv  = run ? op->values : (Mpstore__Value *const *) &op->value;
	int64_t                i   = mpsd_index_norm(op->index, a->len);
	Mpstore__Value       **cv  = NULL;
	Mpstore__Change       *ch;
	int                    rv;

	if (i < 0 || n > a->len - (size_t) i)
		return mpsd_exec_fail(x, ARRAY_ST(ERR_INDEX),
		    "array assignment of %zu element(s) at index %lld out of range (length %zu)", n,
		    (long long) op->index, a->len);
	for (size_t j = 0; j < n; j++)
		if ((rv = mpsd_exec_check_value(x, c, pv[j])) != 0)
			return rv;
	if ((cv = mpsd_exec_vals(x, n)) == NULL)
		return array_nomem(x);
	for (size_t j = 0; j < n; j++)
		if ((cv[j] = mpsd_exec_pbval(x, pv[j])) == NULL)
			return array_nomem(x);
	if ((ch = mpsd_exec_change(x, c, MPSTORE__CHANGE_TYPE__CH_LIST_SET)) == NULL)
		return array_nomem(x);
	ch->index = i;
	if (run) {
		ch->n_values = n;
		ch->values   = cv;
	} else {
		ch->value = cv[0];
	}
	for (size_t j = 0; j < n; j++)
		array_set_pb(a, (size_t) i + j, pv[j]);
	return 0;
}

/* LIST_LEN -> count */
static int array_op_len(mpsd_exec *x, mpsd_container *c)
{
	x->res->count = (int64_t) array_of(c)->len;
	return 0;
}

static int array_dump(const mpsd_container *c, size_t chunk, mpsd_emit_fn emit, void *arg)
{
	const array_impl *a   = array_of(c);
	size_t            pos = 0, n;
	Mpstore__Change   ch  = MPSTORE__CHANGE__INIT;
	Mpstore__Value   *pv;
	Mpstore__Value  **pp;
	int               rv = 0;

	if (chunk == 0 || chunk > a->len)
		chunk = a->len;
	pv = calloc(chunk, sizeof(*pv));
	pp = calloc(chunk, sizeof(*pp));
	if (pv == NULL || pp == NULL)
		rv = ARRAY_ST(ERR_LIMIT);
	ch.revision = c->revision;
	ch.name     = c->name;
	ch.kind     = c->k->kind;
	ch.type     = MPSTORE__CHANGE_TYPE__CH_RESYNC;
	while (rv == 0 && pos < a->len) {
		for (n = 0; n < chunk && pos + n < a->len; n++) {
			array_get_pb(a, pos + n, &pv[n]);
			pp[n] = &pv[n];
		}
		ch.index    = (int64_t) pos;
		ch.n_values = n;
		ch.values   = pp;
		rv          = emit(arg, &ch);
		pos += n;
		ch.type = MPSTORE__CHANGE_TYPE__CH_LIST_INSERT;
	}
	free(pv);
	free(pp);
	return rv;
}

/* Overwrite from ch->index with ch->values, or ch->value when there are none. */
static int array_apply_run(array_impl *a, const Mpstore__Change *ch, int single, char *err, size_t errlen)
{
	size_t                 n  = single ? 1 : ch->n_values;
	Mpstore__Value *const *pv = single ? (Mpstore__Value *const *) &ch->value : ch->values;

	if (ch->index < 0 || (size_t) ch->index > a->len || n > a->len - (size_t) ch->index) {
		snprintf(err, errlen, "array change of %zu element(s) at index %lld out of range (length %zu)", n,
		    (long long) ch->index, a->len);
		return ARRAY_ST(ERR_INVALID);
	}
	for (size_t j = 0; j < n; j++)
		if (!array_fits(a, pv[j])) {
			snprintf(err, errlen, "array change with a value of the wrong type");
			return ARRAY_ST(ERR_WRONG_TYPE);
		}
	for (size_t j = 0; j < n; j++)
		array_set_pb(a, (size_t) ch->index + j, pv[j]);
	return 0;
}

static int array_apply(mpsd_container *c, const Mpstore__Change *ch, char *err, size_t errlen)
{
	array_impl *a = array_of(c);

	switch (ch->type) {
	case MPSTORE__CHANGE_TYPE__CH_RESYNC:
		memset(a->data, 0, a->len * a->esize);
		return array_apply_run(a, ch, 0, err, errlen);
	case MPSTORE__CHANGE_TYPE__CH_LIST_INSERT:
		return array_apply_run(a, ch, 0, err, errlen);
	case MPSTORE__CHANGE_TYPE__CH_LIST_SET:
		return array_apply_run(a, ch, ch->n_values == 0, err, errlen);
	case MPSTORE__CHANGE_TYPE__CH_CLEAR:
		memset(a->data, 0, a->len * a->esize);
		return 0;
	default:
		snprintf(err, errlen, "change type %d does not apply to an array", (int) ch->type);
		return ARRAY_ST(ERR_INVALID);
	}
}

static const mpsd_opdef array_ops[] = {
	{ MPSTORE__OP_CODE__OP_LIST_GET, "get", 0, array_op_get },
	{ MPSTORE__OP_CODE__OP_LIST_SLICE, "slice", 0, array_op_slice },
	{ MPSTORE__OP_CODE__OP_LIST_SET, "set", MPSD_OPF_WRITE, array_op_set },
	{ MPSTORE__OP_CODE__OP_LIST_LEN, "len", 0, array_op_len },
	{ 0, NULL, 0, NULL },
};

const mpsd_kind mpsd_kind_array = {
	.kind   = MPSTORE__KIND__KIND_ARRAY,
	.name   = "array",
	.ops    = array_ops,
	.init   = array_init,
	.fini   = array_fini,
	.length = array_length,
	.memory = array_memory,
	.dump   = array_dump,
	.apply  = array_apply,
};
