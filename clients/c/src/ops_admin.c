/* ops_admin.c - create, delete, ls, info, snapshot, backup, schema, dump, stats. */
#include <stdlib.h>
#include <string.h>

#include "guard.h"
#include "mps_int.h"

mps_err
mps_create(mps_client *c, const char *name, const mps_create_opts *o)
{
	MPS__NEED(c);
	MPS__NEED(o);
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
	MPS__NEED(c);
	mps_create_opts o = {.kind = kind, .elem_type = elem_type};
	return mps_create(c, name, &o);
}

mps_err
mps_delete(mps_client *c, const char *name)
{
	MPS__NEED(c);
	mps_op op = {.code = MPS_OP_DELETE, .name = name};
	return mps__op_none(c, &op);
}

mps_err
mps_ls(mps_client *c, const char *prefix, mps_info **infos, size_t *n)
{
	MPS__NEED(c);
	MPS__NEED(infos);
	MPS__NEED(n);
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
	MPS__NEED(c);
	MPS__NEED(info);
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
	MPS__NEED(c);
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
mps_backup(mps_client *c, const char *name)
{
	MPS__NEED(c);
	MPS__NEED(name);
	mps_op op = {.code = MPS_OP_BACKUP, .value = mps_str(name)};
	return mps__op_none(c, &op);
}

mps_err
mps_register_schema(mps_client *c, const void *data, size_t len, uint32_t flags)
{
	MPS__NEED(c);
	if (len > 0) {
		MPS__NEED(data);
	}
	mps_op op = {.code = MPS_OP_REGISTER_SCHEMA, .data = data, .datalen = len, .flags = flags};
	return mps__op_none(c, &op);
}

mps_err
mps_get_schema(mps_client *c, mps_value *out)
{
	MPS__NEED(c);
	mps_op op = {.code = MPS_OP_GET_SCHEMA};
	return mps__op_value(c, &op, out);
}

/* Append pv[0..n) (owned copies) to the growing array *arr of *len. */
static int
dump_append(mps_value **arr, size_t *len, Mpstore__Value *const *pv, size_t n)
{
	if (n == 0) {
		return 0;
	}
	mps_value *p = realloc(*arr, (*len + n) * sizeof(*p));
	if (p == NULL) {
		return -1;
	}
	*arr = p;
	for (size_t i = 0; i < n; i++) {
		if (mps__pv_copy(pv[i], &p[*len]) != MPS_OK) {
			return -1;
		}
		(*len)++;
	}
	return 0;
}

mps_err
mps_dump_get(mps_client *c, const char *name, mps_dump *d)
{
	MPS__NEED(c);
	MPS__NEED(d);
	mps_op    op = {.code = MPS_OP_DUMP, .name = name};
	mps__call call;
	mps_err   e = mps__call_op(c, &op, &call);
	int       bad = 0;
	memset(d, 0, sizeof(*d));
	if (e == MPS_OK) {
		const Mpstore__Result *r = call.res;
		d->revision              = r->revision;
		d->count                 = r->count;
		d->flag                  = r->flag;
		bad = mps__info_copy(r->info, &d->info) != MPS_OK ||
		    mps__pv_copy(r->value, &d->value) != MPS_OK ||
		    dump_append(&d->keys, &d->nkeys, r->keys, r->n_keys) != 0 ||
		    dump_append(&d->values, &d->nvalues, r->values, r->n_values) != 0;
		/* the state may also come as the changes that rebuild it */
		for (size_t i = 0; i < r->n_changes && !bad; i++) {
			const Mpstore__Change *ch = r->changes[i];
			switch (ch->type) {
			case MPSTORE__CHANGE_TYPE__CH_RESYNC:
				if (ch->value != NULL && ch->value->v_case != MPSTORE__VALUE__V__NOT_SET) {
					mps_value_free(&d->value);
					bad = mps__pv_copy(ch->value, &d->value) != MPS_OK;
				}
				__attribute__((fallthrough)); /* keys and values in chunks */
			case MPSTORE__CHANGE_TYPE__CH_DICT_SET:
				bad = bad || dump_append(&d->keys, &d->nkeys, ch->keys, ch->n_keys) != 0 ||
				    dump_append(&d->values, &d->nvalues, ch->values, ch->n_values) != 0;
				break;
			case MPSTORE__CHANGE_TYPE__CH_LIST_INSERT:
			case MPSTORE__CHANGE_TYPE__CH_QUEUE_PUT:
				bad = dump_append(&d->values, &d->nvalues, ch->values, ch->n_values) != 0;
				break;
			case MPSTORE__CHANGE_TYPE__CH_SET:
			case MPSTORE__CHANGE_TYPE__CH_STATE:
				mps_value_free(&d->value);
				bad = mps__pv_copy(ch->value, &d->value) != MPS_OK;
				break;
			default:
				break;
			}
		}
		if (bad) {
			mps_dump_free(d);
			e = mps__fail(MPS_ERR_NOMEM, "out of memory");
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
	MPS__NEED(c);
	MPS__NEED(lines);
	MPS__NEED(n);
	mps_op op = {.code = MPS_OP_STATS};
	return mps__op_values(c, &op, lines, n);
}
