/* ops_dict.c - dict and namespace ops. */
#include <stdlib.h>
#include <string.h>

#include "guard.h"
#include "mps_int.h"

mps_err
mps_dict_set(mps_client *c, const char *name, const mps_value *key, const mps_value *v)
{
	MPS__NEED(c);
	MPS__NEED(key);
	MPS__NEED(v);
	mps_op op = {.code = MPS_OP_DICT_SET, .name = name, .key = *key, .value = *v,
	    .send_null = 1};
	return mps__op_none(c, &op);
}

mps_err
mps_dict_get(mps_client *c, const char *name, const mps_value *key, mps_value *out)
{
	MPS__NEED(c);
	MPS__NEED(key);
	mps_op op = {.code = MPS_OP_DICT_GET, .name = name, .key = *key};
	return mps__op_value(c, &op, out);
}

mps_err
mps_dict_get_default(mps_client *c, const char *name, const mps_value *key,
    const mps_value *dflt, mps_value *out)
{
	MPS__NEED(c);
	MPS__NEED(key);
	MPS__NEED(dflt);
	mps_op op = {.code = MPS_OP_DICT_GET, .name = name, .key = *key, .value = *dflt,
	    .send_null = 1, .flags = MPS_FLAG_HAS_DEFAULT};
	return mps__op_value(c, &op, out);
}

mps_err
mps_dict_del(mps_client *c, const char *name, const mps_value *key)
{
	MPS__NEED(c);
	MPS__NEED(key);
	mps_op op = {.code = MPS_OP_DICT_DEL, .name = name, .key = *key};
	return mps__op_none(c, &op);
}

mps_err
mps_dict_contains(mps_client *c, const char *name, const mps_value *key, int *yes)
{
	MPS__NEED(c);
	MPS__NEED(key);
	mps_op op = {.code = MPS_OP_DICT_CONTAINS, .name = name, .key = *key};
	return mps__op_flag(c, &op, yes);
}

mps_err
mps_dict_len(mps_client *c, const char *name, int64_t *len)
{
	MPS__NEED(c);
	mps_op op = {.code = MPS_OP_DICT_LEN, .name = name};
	return mps__op_count(c, &op, len);
}

mps_err
mps_dict_page(mps_client *c, const char *name, mps_opcode what, int64_t cursor, int64_t page,
    mps_value **keys, mps_value **vals, size_t *n, int64_t *next)
{
	MPS__NEED(c);
	MPS__NEED(n);
	mps_op    op = {.code = what, .name = name, .index = cursor, .count = page};
	mps__call call;
	mps_err   e = mps__call_op(c, &op, &call);
	if (keys != NULL) {
		*keys = NULL;
	}
	if (vals != NULL) {
		*vals = NULL;
	}
	*n = 0;
	if (e == MPS_OK) {
		const Mpstore__Result *r = call.res;
		size_t cnt = what == MPS_OP_DICT_VALUES ? r->n_values : r->n_keys;
		if (keys != NULL && what != MPS_OP_DICT_VALUES &&
		    mps__pv_copy_array(r->keys, r->n_keys, keys) != MPS_OK) {
			e = MPS_ERR_NOMEM;
		}
		if (e == MPS_OK && vals != NULL && what != MPS_OP_DICT_KEYS &&
		    mps__pv_copy_array(r->values, r->n_values, vals) != MPS_OK) {
			e = MPS_ERR_NOMEM;
		}
		if (e != MPS_OK) {
			if (keys != NULL) {
				mps_values_free(*keys, r->n_keys);
				*keys = NULL;
			}
			e = mps__fail(MPS_ERR_NOMEM, "out of memory");
		} else {
			*n = cnt;
			if (next != NULL) {
				*next = r->next;
			}
		}
	}
	mps__call_fini(&call);
	return e;
}

/* Append src[0..n) to the growing array *dst of *dn entries (src's
 * contents move; src itself is freed). */
static int
grow_append(mps_value **dst, size_t dn, mps_value *src, size_t n)
{
	if (n == 0) {
		free(src);
		return 0;
	}
	mps_value *p = realloc(*dst, (dn + n) * sizeof(*p));
	if (p == NULL) {
		return -1;
	}
	memcpy(p + dn, src, n * sizeof(*p));
	free(src);
	*dst = p;
	return 0;
}

static mps_err
dict_all(mps_client *c, const char *name, mps_opcode what, mps_value **keys, mps_value **vals,
    size_t *n)
{
	mps_value *ak = NULL, *av = NULL;
	size_t     an = 0;
	int64_t    cursor = 0;
	mps_err    e      = MPS_OK;
	for (;;) {
		mps_value *k = NULL, *v = NULL;
		size_t     pn   = 0;
		int64_t    next = -1;
		e = mps_dict_page(c, name, what, cursor, 0, keys != NULL ? &k : NULL,
		    vals != NULL ? &v : NULL, &pn, &next);
		if (e != MPS_OK) {
			break;
		}
		if ((keys != NULL && grow_append(&ak, an, k, k ? pn : 0) != 0) ||
		    (vals != NULL && grow_append(&av, an, v, v ? pn : 0) != 0)) {
			e = mps__fail(MPS_ERR_NOMEM, "out of memory");
			break;
		}
		an += pn;
		if (next < 0 || next == cursor || pn == 0) {
			break;
		}
		cursor = next;
	}
	if (e != MPS_OK) {
		mps_values_free(ak, keys != NULL ? an : 0);
		mps_values_free(av, vals != NULL ? an : 0);
		*n = 0;
		return e;
	}
	if (keys != NULL) {
		*keys = ak;
	}
	if (vals != NULL) {
		*vals = av;
	}
	*n = an;
	return MPS_OK;
}

mps_err
mps_dict_keys(mps_client *c, const char *name, mps_value **keys, size_t *n)
{
	MPS__NEED(c);
	MPS__NEED(keys);
	MPS__NEED(n);
	return dict_all(c, name, MPS_OP_DICT_KEYS, keys, NULL, n);
}

mps_err
mps_dict_values(mps_client *c, const char *name, mps_value **vals, size_t *n)
{
	MPS__NEED(c);
	MPS__NEED(vals);
	MPS__NEED(n);
	return dict_all(c, name, MPS_OP_DICT_VALUES, NULL, vals, n);
}

mps_err
mps_dict_items(mps_client *c, const char *name, mps_value **keys, mps_value **vals, size_t *n)
{
	MPS__NEED(c);
	MPS__NEED(keys);
	MPS__NEED(vals);
	MPS__NEED(n);
	return dict_all(c, name, MPS_OP_DICT_ITEMS, keys, vals, n);
}

mps_err
mps_dict_update(mps_client *c, const char *name, const mps_value *keys, const mps_value *vals,
    size_t n)
{
	MPS__NEED(c);
	if (n > 0) {
		MPS__NEED(keys);
		MPS__NEED(vals);
	}
	mps_op op = {.code = MPS_OP_DICT_UPDATE, .name = name, .keys = keys, .nkeys = n,
	    .values = vals, .nvalues = n};
	return mps__op_none(c, &op);
}

mps_err
mps_dict_setdefault(mps_client *c, const char *name, const mps_value *key, const mps_value *dflt,
    mps_value *out)
{
	MPS__NEED(c);
	MPS__NEED(key);
	MPS__NEED(dflt);
	mps_op op = {.code = MPS_OP_DICT_SETDEFAULT, .name = name, .key = *key, .value = *dflt,
	    .send_null = 1};
	return mps__op_value(c, &op, out);
}

mps_err
mps_dict_pop(mps_client *c, const char *name, const mps_value *key, const mps_value *dflt,
    mps_value *out)
{
	MPS__NEED(c);
	MPS__NEED(key);
	mps_op op = {.code = MPS_OP_DICT_POP, .name = name, .key = *key};
	if (dflt != NULL) {
		op.value     = *dflt;
		op.send_null = 1;
		op.flags     = MPS_FLAG_HAS_DEFAULT;
	}
	return mps__op_value(c, &op, out);
}

mps_err
mps_dict_clear(mps_client *c, const char *name)
{
	MPS__NEED(c);
	mps_op op = {.code = MPS_OP_DICT_CLEAR, .name = name};
	return mps__op_none(c, &op);
}

mps_err
mps_ns_set(mps_client *c, const char *name, const char *attr, const mps_value *v)
{
	MPS__NEED(c);
	MPS__NEED(attr);
	MPS__NEED(v);
	mps_value k = mps_str(attr);
	return mps_dict_set(c, name, &k, v);
}

mps_err
mps_ns_get(mps_client *c, const char *name, const char *attr, mps_value *out)
{
	MPS__NEED(c);
	MPS__NEED(attr);
	mps_value k = mps_str(attr);
	return mps_dict_get(c, name, &k, out);
}

mps_err
mps_ns_del(mps_client *c, const char *name, const char *attr)
{
	MPS__NEED(c);
	MPS__NEED(attr);
	mps_value k = mps_str(attr);
	return mps_dict_del(c, name, &k);
}

mps_err
mps_ns_items(mps_client *c, const char *name, mps_value **keys, mps_value **vals, size_t *n)
{
	MPS__NEED(c);
	MPS__NEED(keys);
	MPS__NEED(vals);
	MPS__NEED(n);
	return mps_dict_items(c, name, keys, vals, n);
}
