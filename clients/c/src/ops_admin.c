/* ops_admin.c - create, delete, ls, info, snapshot, backup, schema, dump, stats. */
#include <stdlib.h>
#include <string.h>

#include "mps_int.h"

mps_err
mps_create(mps_client *c, const char *name, const mps_create_opts *o)
{
	mps_op op = {.code = MPS_OP_CREATE, .name = name};
	op.kind         = o->kind;
	op.elem_type    = o->elem_type;
	op.key_type     = o->key_type;
	op.message_type = o->message_type;
	op.count        = o->count;
	return mps__op_none(c, &op);
}

mps_err
mps_create_simple(mps_client *c, const char *name, mps_kind kind, mps_elem_type elem_type)
{
	mps_create_opts o = {.kind = kind, .elem_type = elem_type};
	return mps_create(c, name, &o);
}

mps_err
mps_delete(mps_client *c, const char *name)
{
	mps_op op = {.code = MPS_OP_DELETE, .name = name};
	return mps__op_none(c, &op);
}

mps_err
mps_ls(mps_client *c, const char *prefix, mps_info **infos, size_t *n)
{
	mps_op    op = {.code = MPS_OP_LIST_CONTAINERS, .name = prefix != NULL ? prefix : "",
	       .flags = MPS_FLAG_PREFIX};
	mps__call call;
	mps_err   e = mps__call_op(c, &op, &call);
	*infos      = NULL;
	*n          = 0;
	if (e == MPS_OK && call.res->n_containers > 0) {
		size_t    k  = call.res->n_containers;
		mps_info *ci = calloc(k, sizeof(*ci));
		if (ci == NULL) {
			e = mps__fail(MPS_ERR_NOMEM, "out of memory");
		} else {
			for (size_t i = 0; i < k; i++) {
				if (mps__info_copy(call.res->containers[i], &ci[i]) != MPS_OK) {
					mps_infos_free(ci, i);
					ci = NULL;
					e  = mps__fail(MPS_ERR_NOMEM, "out of memory");
					break;
				}
			}
			if (ci != NULL) {
				*infos = ci;
				*n     = k;
			}
		}
	}
	mps__call_fini(&call);
	return e;
}

mps_err
mps_info_get(mps_client *c, const char *name, mps_info *info)
{
	mps_op    op = {.code = MPS_OP_INFO, .name = name};
	mps__call call;
	mps_err   e = mps__call_op(c, &op, &call);
	memset(info, 0, sizeof(*info));
	if (e == MPS_OK && mps__info_copy(call.res->info, info) != MPS_OK) {
		e = mps__fail(MPS_ERR_NOMEM, "out of memory");
	}
	mps__call_fini(&call);
	return e;
}

mps_err
mps_snapshot(mps_client *c, uint64_t *revision)
{
	mps_op    op = {.code = MPS_OP_SNAPSHOT};
	mps__call call;
	mps_err   e = mps__call_op(c, &op, &call);
	if (e == MPS_OK && revision != NULL) {
		*revision = call.res->revision;
	}
	mps__call_fini(&call);
	return e;
}

mps_err
mps_backup(mps_client *c, const char *path)
{
	mps_op op = {.code = MPS_OP_BACKUP, .value = mps_str(path)};
	return mps__op_none(c, &op);
}

mps_err
mps_register_schema(mps_client *c, const void *data, size_t len, uint32_t flags)
{
	mps_op op = {.code = MPS_OP_REGISTER_SCHEMA, .data = data, .datalen = len, .flags = flags};
	return mps__op_none(c, &op);
}

mps_err
mps_get_schema(mps_client *c, mps_value *out)
{
	mps_op op = {.code = MPS_OP_GET_SCHEMA};
	return mps__op_value(c, &op, out);
}

mps_err
mps_dump_get(mps_client *c, const char *name, mps_dump *d)
{
	mps_op    op = {.code = MPS_OP_DUMP, .name = name};
	mps__call call;
	mps_err   e = mps__call_op(c, &op, &call);
	memset(d, 0, sizeof(*d));
	if (e == MPS_OK) {
		const Mpstore__Result *r = call.res;
		d->revision              = r->revision;
		d->count                 = r->count;
		d->flag                  = r->flag;
		if (mps__info_copy(r->info, &d->info) != MPS_OK ||
		    mps__pv_copy(r->value, &d->value) != MPS_OK ||
		    mps__pv_copy_array(r->keys, r->n_keys, &d->keys) != MPS_OK ||
		    mps__pv_copy_array(r->values, r->n_values, &d->values) != MPS_OK) {
			mps_dump_free(d);
			e = mps__fail(MPS_ERR_NOMEM, "out of memory");
		} else {
			d->nkeys   = r->n_keys;
			d->nvalues = r->n_values;
		}
	}
	mps__call_fini(&call);
	return e;
}

void
mps_dump_free(mps_dump *d)
{
	if (d == NULL) {
		return;
	}
	mps_info_free(&d->info);
	mps_value_free(&d->value);
	mps_values_free(d->keys, d->nkeys);
	mps_values_free(d->values, d->nvalues);
	memset(d, 0, sizeof(*d));
}

mps_err
mps_stats(mps_client *c, mps_value **lines, size_t *n)
{
	mps_op op = {.code = MPS_OP_STATS};
	return mps__op_values(c, &op, lines, n);
}
