/* ops_list.c - list and array ops. */
#include "guard.h"
#include "mps_int.h"

mps_err
mps_list_append(mps_client *c, const char *name, const mps_value *v, int64_t *len)
{
	MPS__NEED(c);
	MPS__NEED(v);
	mps_op op = {.code = MPS_OP_LIST_APPEND, .name = name, .value = *v, .send_null = 1};
	return mps__op_count(c, &op, len);
}

mps_err
mps_list_extend(mps_client *c, const char *name, const mps_value *v, size_t n, int64_t *len)
{
	MPS__NEED(c);
	if (n > 0) {
		MPS__NEED(v);
	}
	mps_op op = {.code = MPS_OP_LIST_EXTEND, .name = name, .values = v, .nvalues = n};
	return mps__op_count(c, &op, len);
}

mps_err
mps_list_insert(mps_client *c, const char *name, int64_t index, const mps_value *v)
{
	MPS__NEED(c);
	MPS__NEED(v);
	mps_op op = {.code = MPS_OP_LIST_INSERT, .name = name, .index = index, .value = *v,
	    .send_null = 1};
	return mps__op_none(c, &op);
}

mps_err
mps_list_get(mps_client *c, const char *name, int64_t index, mps_value *out)
{
	MPS__NEED(c);
	mps_op op = {.code = MPS_OP_LIST_GET, .name = name, .index = index};
	return mps__op_value(c, &op, out);
}

mps_err
mps_list_slice(mps_client *c, const char *name, int64_t start, int64_t stop, int has_stop,
    mps_value **vals, size_t *n)
{
	MPS__NEED(c);
	MPS__NEED(vals);
	MPS__NEED(n);
	mps_op op = {.code = MPS_OP_LIST_SLICE, .name = name, .index = start, .stop = stop,
	    .flags = has_stop ? MPS_FLAG_HAS_STOP : 0};
	return mps__op_values(c, &op, vals, n);
}

mps_err
mps_list_set(mps_client *c, const char *name, int64_t index, const mps_value *v)
{
	MPS__NEED(c);
	MPS__NEED(v);
	mps_op op = {.code = MPS_OP_LIST_SET, .name = name, .index = index, .value = *v,
	    .send_null = 1};
	return mps__op_none(c, &op);
}

mps_err
mps_list_pop(mps_client *c, const char *name, mps_value *out)
{
	MPS__NEED(c);
	mps_op op = {.code = MPS_OP_LIST_POP, .name = name};
	return mps__op_value(c, &op, out);
}

mps_err
mps_list_pop_index(mps_client *c, const char *name, int64_t index, mps_value *out)
{
	MPS__NEED(c);
	mps_op op = {.code = MPS_OP_LIST_POP, .name = name, .index = index,
	    .flags = MPS_FLAG_HAS_INDEX};
	return mps__op_value(c, &op, out);
}

mps_err
mps_list_remove(mps_client *c, const char *name, const mps_value *v)
{
	MPS__NEED(c);
	MPS__NEED(v);
	mps_op op = {.code = MPS_OP_LIST_REMOVE, .name = name, .value = *v, .send_null = 1};
	return mps__op_none(c, &op);
}

mps_err
mps_list_index(mps_client *c, const char *name, const mps_value *v, int64_t *index)
{
	MPS__NEED(c);
	MPS__NEED(v);
	mps_op op = {.code = MPS_OP_LIST_INDEX, .name = name, .value = *v, .send_null = 1};
	return mps__op_count(c, &op, index);
}

mps_err
mps_list_len(mps_client *c, const char *name, int64_t *len)
{
	MPS__NEED(c);
	mps_op op = {.code = MPS_OP_LIST_LEN, .name = name};
	return mps__op_count(c, &op, len);
}

mps_err
mps_list_clear(mps_client *c, const char *name)
{
	MPS__NEED(c);
	mps_op op = {.code = MPS_OP_LIST_CLEAR, .name = name};
	return mps__op_none(c, &op);
}

mps_err
mps_array_get(mps_client *c, const char *name, int64_t index, mps_value *out)
{
	MPS__NEED(c);
	return mps_list_get(c, name, index, out);
}

mps_err
mps_array_set(mps_client *c, const char *name, int64_t index, const mps_value *v)
{
	MPS__NEED(c);
	return mps_list_set(c, name, index, v);
}

mps_err
mps_array_slice(mps_client *c, const char *name, int64_t start, int64_t stop, int has_stop,
    mps_value **vals, size_t *n)
{
	MPS__NEED(c);
	return mps_list_slice(c, name, start, stop, has_stop, vals, n);
}

mps_err
mps_array_len(mps_client *c, const char *name, int64_t *len)
{
	MPS__NEED(c);
	return mps_list_len(c, name, len);
}
