/*
 * k_value.c - KIND_VALUE: one shared value, like multiprocessing.Value. A
 * counter is a value of TYPE_INT64; OP_VALUE_ADD makes `v += n` one atomic
 * op. Every change is a CH_SET with the new value, so replay is idempotent.
 */
#include <stdio.h>
#include <stdlib.h>

#include "exec.h"

#define VALUE_ST(s) MPSTORE__STATUS__##s

static mpsd_val *value_cur(const mpsd_container *c)
{
	return c->impl;
}

static int value_nomem(mpsd_exec *x)
{
	return mpsd_exec_fail(x, VALUE_ST(ERR_LIMIT), "out of memory");
}

/* The wire case an element type takes; NOT_SET for TYPE_ANY. */
static Mpstore__Value__VCase value_case(Mpstore__ElemType t)
{
	switch (t) {
	case MPSTORE__ELEM_TYPE__TYPE_INT64: return MPSTORE__VALUE__V_INT_VALUE;
	case MPSTORE__ELEM_TYPE__TYPE_DOUBLE: return MPSTORE__VALUE__V_DOUBLE_VALUE;
	case MPSTORE__ELEM_TYPE__TYPE_BOOL: return MPSTORE__VALUE__V_BOOL_VALUE;
	case MPSTORE__ELEM_TYPE__TYPE_STRING: return MPSTORE__VALUE__V_STRING_VALUE;
	case MPSTORE__ELEM_TYPE__TYPE_BYTES: return MPSTORE__VALUE__V_BYTES_VALUE;
	case MPSTORE__ELEM_TYPE__TYPE_MESSAGE: return MPSTORE__VALUE__V_MESSAGE_VALUE;
	default: return MPSTORE__VALUE__V__NOT_SET;
	}
}

/* Zero of the element type: 0, 0.0, false, "", empty bytes or message, null. */
static void value_zero(mpsd_val *v, Mpstore__ElemType t, int64_t count)
{
	switch (t) {
	case MPSTORE__ELEM_TYPE__TYPE_INT64: mpsd_val_int(v, count); break;
	case MPSTORE__ELEM_TYPE__TYPE_DOUBLE: mpsd_val_double(v, 0); break;
	case MPSTORE__ELEM_TYPE__TYPE_BOOL: mpsd_val_bool(v, 0); break;
	case MPSTORE__ELEM_TYPE__TYPE_STRING: mpsd_val_blob(v, MPSD_V_STR, "", 0); break;
	case MPSTORE__ELEM_TYPE__TYPE_BYTES: mpsd_val_blob(v, MPSD_V_BYTES, "", 0); break;
	case MPSTORE__ELEM_TYPE__TYPE_MESSAGE: mpsd_val_blob(v, MPSD_V_MSG, "", 0); break;
	default: mpsd_val_null(v); break;
	}
}

/* create: value (initial; for TYPE_INT64 count when value is unset) */
static int value_init(mpsd_container *c, const Mpstore__Op *create, char *err, size_t errlen)
{
	const Mpstore__Value *iv = create->value;
	Mpstore__Value__VCase want = value_case(c->elem_type);
	mpsd_val             *v;

	if (iv != NULL && iv->v_case == MPSTORE__VALUE__V__NOT_SET)
		iv = NULL;
	if (iv != NULL && (want != MPSTORE__VALUE__V__NOT_SET ? iv->v_case != want
	                                                      : iv->v_case == MPSTORE__VALUE__V_MESSAGE_VALUE)) {
		snprintf(err, errlen, "initial value of the wrong type for a value of %s",
		    mpsd_elem_type_name(c->elem_type));
		return VALUE_ST(ERR_WRONG_TYPE);
	}
	if ((v = malloc(sizeof(*v))) == NULL)
		goto nomem;
	if (iv == NULL)
		value_zero(v, c->elem_type, create->count);
	else if (mpsd_val_from_pb(v, iv) != 0)
		goto nomem;
	c->impl = v;
	return 0;
nomem:
	free(v);
	snprintf(err, errlen, "out of memory");
	return VALUE_ST(ERR_LIMIT);
}

static void value_fini(mpsd_container *c)
{
	if (c->impl != NULL)
		mpsd_val_fini(value_cur(c));
	free(c->impl);
	c->impl = NULL;
}

static int64_t value_length(const mpsd_container *c)
{
	return 1;
}

static size_t value_memory(const mpsd_container *c)
{
	return sizeof(mpsd_val) + mpsd_val_heap(value_cur(c));
}

/* Replace the value with nv (taken) and record CH_SET; res->value = new. */
static int value_replace(mpsd_exec *x, mpsd_container *c, mpsd_val *nv)
{
	Mpstore__Change *ch;
	Mpstore__Value  *pv = mpsd_exec_val(x, nv);

	if (pv == NULL || (ch = mpsd_exec_change(x, c, MPSTORE__CHANGE_TYPE__CH_SET)) == NULL) {
		mpsd_val_fini(nv);
		return value_nomem(x);
	}
	ch->value = pv;
	mpsd_val_fini(value_cur(c));
	*value_cur(c) = *nv;
	x->res->value = pv;
	return 0;
}

/* VALUE_GET -> value */
static int value_op_get(mpsd_exec *x, mpsd_container *c)
{
	if ((x->res->value = mpsd_exec_val(x, value_cur(c))) == NULL)
		return value_nomem(x);
	return 0;
}

/* VALUE_SET value -> value */
static int value_op_set(mpsd_exec *x, mpsd_container *c)
{
	mpsd_val nv;
	int      rv;

	if ((rv = mpsd_exec_check_value(x, c, x->op->value)) != 0)
		return rv;
	if (mpsd_val_from_pb(&nv, x->op->value) != 0)
		return value_nomem(x);
	return value_replace(x, c, &nv);
}

/* cur + delta into *nv, or a status (x failed). */
static int value_sum(mpsd_exec *x, const mpsd_container *c, const mpsd_val *cur,
    const Mpstore__Value *d, mpsd_val *nv)
{
	Mpstore__Value__VCase dc = d == NULL ? MPSTORE__VALUE__V__NOT_SET : d->v_case;
	int64_t               i;

	if (dc != MPSTORE__VALUE__V_INT_VALUE && dc != MPSTORE__VALUE__V_DOUBLE_VALUE)
		return mpsd_exec_fail(x, VALUE_ST(ERR_WRONG_TYPE), "add needs an int64 or double increment");
	if (cur->type != MPSD_V_NULL && cur->type != MPSD_V_INT && cur->type != MPSD_V_DOUBLE)
		return mpsd_exec_fail(x, VALUE_ST(ERR_WRONG_TYPE), "cannot add to a %s value",
		    mpsd_vtype_name((mpsd_vtype) cur->type));
	if (c->elem_type == MPSTORE__ELEM_TYPE__TYPE_INT64 && dc != MPSTORE__VALUE__V_INT_VALUE)
		return mpsd_exec_fail(x, VALUE_ST(ERR_WRONG_TYPE), "an int64 value needs an int64 increment");
	if (cur->type == MPSD_V_DOUBLE || dc == MPSTORE__VALUE__V_DOUBLE_VALUE) {
		double a = mpsd_val_get_double(cur);
		double b = dc == MPSTORE__VALUE__V_DOUBLE_VALUE ? d->double_value : (double) d->int_value;
		mpsd_val_double(nv, a + b);
		return 0;
	}
	if (__builtin_add_overflow(mpsd_val_get_int(cur), d->int_value, &i))
		return mpsd_exec_fail(x, VALUE_ST(ERR_INVALID), "increment would overflow");
	mpsd_val_int(nv, i);
	return 0;
}

/* VALUE_ADD value (int64 or double delta) -> value (new); null counts as 0 */
static int value_op_add(mpsd_exec *x, mpsd_container *c)
{
	mpsd_val nv;
	int      rv;

	if ((rv = value_sum(x, c, value_cur(c), x->op->value, &nv)) != 0)
		return rv;
	return value_replace(x, c, &nv);
}

/* VALUE_CAS expected value -> flag (swapped), value (current after) */
static int value_op_cas(mpsd_exec *x, mpsd_container *c)
{
	mpsd_val exp, nv;
	int      rv, eq;

	if ((rv = mpsd_exec_check_value(x, c, x->op->value)) != 0)
		return rv;
	if (mpsd_val_from_pb(&exp, x->op->expected) != 0)
		return value_nomem(x);
	eq = mpsd_val_equal(&exp, value_cur(c));
	mpsd_val_fini(&exp);
	if (!eq)
		return value_op_get(x, c);
	if (mpsd_val_from_pb(&nv, x->op->value) != 0)
		return value_nomem(x);
	if ((rv = value_replace(x, c, &nv)) == 0)
		x->res->flag = 1;
	return rv;
}

static int value_dump(const mpsd_container *c, size_t chunk, mpsd_emit_fn emit, void *arg)
{
	Mpstore__Change ch = MPSTORE__CHANGE__INIT;
	Mpstore__Value  pv;

	mpsd_val_to_pb(value_cur(c), &pv);
	ch.revision = c->revision;
	ch.name     = c->name;
	ch.kind     = c->k->kind;
	ch.type     = MPSTORE__CHANGE_TYPE__CH_RESYNC;
	ch.value    = &pv;
	return emit(arg, &ch);
}

static int value_apply(mpsd_container *c, const Mpstore__Change *ch, char *err, size_t errlen)
{
	mpsd_val nv;

	switch (ch->type) {
	case MPSTORE__CHANGE_TYPE__CH_SET:
	case MPSTORE__CHANGE_TYPE__CH_RESYNC:
		if (mpsd_val_from_pb(&nv, ch->value) != 0) {
			snprintf(err, errlen, "out of memory");
			return VALUE_ST(ERR_LIMIT);
		}
		break;
	case MPSTORE__CHANGE_TYPE__CH_CLEAR:
		value_zero(&nv, c->elem_type, 0);
		break;
	default:
		snprintf(err, errlen, "change type %d does not apply to a value", (int) ch->type);
		return VALUE_ST(ERR_INVALID);
	}
	mpsd_val_fini(value_cur(c));
	*value_cur(c) = nv;
	return 0;
}

static const mpsd_opdef value_ops[] = {
	{ MPSTORE__OP_CODE__OP_VALUE_GET, "get", 0, value_op_get },
	{ MPSTORE__OP_CODE__OP_VALUE_SET, "set", MPSD_OPF_WRITE | MPSD_OPF_GROWS, value_op_set },
	{ MPSTORE__OP_CODE__OP_VALUE_ADD, "add", MPSD_OPF_WRITE | MPSD_OPF_GROWS, value_op_add },
	{ MPSTORE__OP_CODE__OP_VALUE_CAS, "cas", MPSD_OPF_WRITE | MPSD_OPF_GROWS, value_op_cas },
	{ 0, NULL, 0, NULL },
};

const mpsd_kind mpsd_kind_value = {
	.kind   = MPSTORE__KIND__KIND_VALUE,
	.name   = "value",
	.ops    = value_ops,
	.init   = value_init,
	.fini   = value_fini,
	.length = value_length,
	.memory = value_memory,
	.dump   = value_dump,
	.apply  = value_apply,
};
