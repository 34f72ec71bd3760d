/* ops_value.c - value / counter ops. */
#include "guard.h"
#include "mps_int.h"

mps_err
mps_value_get(mps_client *c, const char *name, mps_value *out)
{
	MPS__NEED(c);
	mps_op op = {.code = MPS_OP_VALUE_GET, .name = name};
	return mps__op_value(c, &op, out);
}

mps_err
mps_value_set(mps_client *c, const char *name, const mps_value *v)
{
	MPS__NEED(c);
	MPS__NEED(v);
	mps_op op = {.code = MPS_OP_VALUE_SET, .name = name, .value = *v, .send_null = 1};
	return mps__op_none(c, &op);
}

mps_err
mps_value_add(mps_client *c, const char *name, const mps_value *delta, mps_value *out)
{
	MPS__NEED(c);
	MPS__NEED(delta);
	mps_op op = {.code = MPS_OP_VALUE_ADD, .name = name, .value = *delta, .send_null = 1};
	return mps__op_value(c, &op, out);
}

mps_err
mps_value_cas(mps_client *c, const char *name, const mps_value *expected, const mps_value *v,
    int *swapped, mps_value *current)
{
	MPS__NEED(c);
	MPS__NEED(expected);
	MPS__NEED(v);
	mps_op op = {.code = MPS_OP_VALUE_CAS, .name = name, .value = *v, .expected = *expected,
	    .send_null = 1};
	mps__call call;
	mps_err   e = mps__call_op(c, &op, &call);
	if (current != NULL) {
		*current = mps_null();
	}
	if (e == MPS_OK) {
		if (swapped != NULL) {
			*swapped = call.res->flag;
		}
		if (current != NULL && mps__pv_copy(call.res->value, current) != MPS_OK) {
			e = mps__fail(MPS_ERR_NOMEM, "out of memory");
		}
	}
	mps__call_fini(&call);
	return e;
}

mps_err
mps_counter_add(mps_client *c, const char *name, int64_t delta, int64_t *newval)
{
	MPS__NEED(c);
	mps_op    op = {.code = MPS_OP_VALUE_ADD, .name = name, .value = mps_int(delta)};
	mps__call call;
	mps_err   e = mps__call_op(c, &op, &call);
	if (e == MPS_OK && newval != NULL) {
		mps_value v;
		mps__pv_view(call.res->value, &v);
		*newval = v.type == MPS_INT ? v.u.i : v.type == MPS_DOUBLE ? (int64_t) v.u.d : 0;
	}
	mps__call_fini(&call);
	return e;
}

mps_err
mps_counter_get(mps_client *c, const char *name, int64_t *val)
{
	MPS__NEED(c);
	MPS__NEED(val);
	mps_op    op = {.code = MPS_OP_VALUE_GET, .name = name};
	mps__call call;
	mps_err   e = mps__call_op(c, &op, &call);
	if (e == MPS_OK) {
		mps_value v;
		mps__pv_view(call.res->value, &v);
		if (v.type == MPS_INT) {
			*val = v.u.i;
		} else if (v.type == MPS_NULL) {
			*val = 0;
		} else {
			e = mps__fail(MPS_ERR_WRONG_TYPE, "%s does not hold an int64", name);
		}
	}
	mps__call_fini(&call);
	return e;
}

mps_err
mps_value_add_double(mps_client *c, const char *name, double delta, double *newval)
{
	MPS__NEED(c);
	mps_op    op = {.code = MPS_OP_VALUE_ADD, .name = name, .value = mps_double(delta)};
	mps__call call;
	mps_err   e = mps__call_op(c, &op, &call);
	if (e == MPS_OK && newval != NULL) {
		mps_value v;
		mps__pv_view(call.res->value, &v);
		*newval = v.type == MPS_DOUBLE ? v.u.d : v.type == MPS_INT ? (double) v.u.i : 0.0;
	}
	mps__call_fini(&call);
	return e;
}
