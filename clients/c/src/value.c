/* value.c - mps_value constructors, copies, and conversion to/from the wire. */
#include <stdlib.h>
#include <string.h>

#include "guard.h"
#include "mps_int.h"

mps_value
mps_null(void)
{
	mps_value v = {.type = MPS_NULL};
	return v;
}

mps_value
mps_int(int64_t i)
{
	mps_value v = {.type = MPS_INT, .u.i = i};
	return v;
}

mps_value
mps_double(double d)
{
	mps_value v = {.type = MPS_DOUBLE, .u.d = d};
	return v;
}

mps_value
mps_bool(int b)
{
	mps_value v = {.type = MPS_BOOL, .u.b = b != 0};
	return v;
}

mps_value
mps_strn(const char *s, size_t len)
{
	mps_value v = {.type = MPS_STRING};
	v.u.s.ptr   = s;
	v.u.s.len   = len;
	return v;
}

mps_value
mps_str(const char *s)
{
	return mps_strn(s, s != NULL ? strlen(s) : 0);
}

mps_value
mps_bytes(const void *p, size_t len)
{
	mps_value v = {.type = MPS_BYTES};
	v.u.s.ptr   = p;
	v.u.s.len   = len;
	return v;
}

mps_value
mps_message(const void *p, size_t len)
{
	mps_value v = mps_bytes(p, len);
	v.type      = MPS_MESSAGE;
	return v;
}

static int
has_data(mps_vtype t)
{
	return t == MPS_STRING || t == MPS_BYTES || t == MPS_MESSAGE;
}

mps_err
mps_value_dup(mps_value *dst, const mps_value *src)
{
	MPS__NEED(dst);
	if (src == NULL) {
		*dst = mps_null();
	}
	MPS__NEED(src);
	*dst = *src;
	if (has_data(src->type)) {
		char *p = malloc(src->u.s.len + 1);
		if (p == NULL) {
			*dst = mps_null();
			return MPS_ERR_NOMEM;
		}
		if (src->u.s.len) {
			memcpy(p, src->u.s.ptr, src->u.s.len);
		}
		p[src->u.s.len] = '\0';
		dst->u.s.ptr    = p;
	}
	return MPS_OK;
}

void
mps_value_free(mps_value *v)
{
	if (v == NULL) {
		return;
	}
	if (has_data(v->type)) {
		free((void *) v->u.s.ptr);
	}
	*v = mps_null();
}

void
mps_values_free(mps_value *v, size_t n)
{
	if (v == NULL) {
		return;
	}
	for (size_t i = 0; i < n; i++) {
		mps_value_free(&v[i]);
	}
	free(v);
}

int
mps_value_equal(const mps_value *a, const mps_value *b)
{
	if (a == NULL || b == NULL) {
		return a == b;
	}
	if (a->type != b->type) {
		return 0;
	}
	switch (a->type) {
	case MPS_NULL:
		return 1;
	case MPS_INT:
		return a->u.i == b->u.i;
	case MPS_DOUBLE:
		return a->u.d == b->u.d;
	case MPS_BOOL:
		return !a->u.b == !b->u.b;
	default:
		return a->u.s.len == b->u.s.len &&
		    (a->u.s.len == 0 || memcmp(a->u.s.ptr, b->u.s.ptr, a->u.s.len) == 0);
	}
}

/* ---- wire conversion ---- */

mps_err
mps__pv_fill(mps__arena *a, Mpstore__Value *pv, const mps_value *v)
{
	mpstore__value__init(pv);
	if (v == NULL) {
		return MPS_OK;
	}
	switch (v->type) {
	case MPS_NULL:
		break;
	case MPS_INT:
		pv->v_case    = MPSTORE__VALUE__V_INT_VALUE;
		pv->int_value = v->u.i;
		break;
	case MPS_DOUBLE:
		pv->v_case       = MPSTORE__VALUE__V_DOUBLE_VALUE;
		pv->double_value = v->u.d;
		break;
	case MPS_BOOL:
		pv->v_case     = MPSTORE__VALUE__V_BOOL_VALUE;
		pv->bool_value = v->u.b != 0;
		break;
	case MPS_STRING:
		/* protobuf-c strings are NUL-terminated: copy */
		pv->v_case       = MPSTORE__VALUE__V_STRING_VALUE;
		pv->string_value = mps__arena_strndup(a, v->u.s.ptr, v->u.s.len);
		if (pv->string_value == NULL) {
			return MPS_ERR_NOMEM;
		}
		break;
	case MPS_BYTES:
	case MPS_MESSAGE: {
		ProtobufCBinaryData bd;
		bd.len  = v->u.s.len;
		bd.data = (uint8_t *) mps__arena_strndup(a, v->u.s.ptr, v->u.s.len);
		if (bd.data == NULL) {
			return MPS_ERR_NOMEM;
		}
		if (v->type == MPS_BYTES) {
			pv->v_case      = MPSTORE__VALUE__V_BYTES_VALUE;
			pv->bytes_value = bd;
		} else {
			pv->v_case        = MPSTORE__VALUE__V_MESSAGE_VALUE;
			pv->message_value = bd;
		}
		break;
	}
	default:
		return mps__fail(MPS_ERR_INVALID, "unknown value type %d", (int) v->type);
	}
	return MPS_OK;
}

Mpstore__Value *
mps__pv_new(mps__arena *a, const mps_value *v)
{
	Mpstore__Value *pv = mps__arena_alloc(a, sizeof(*pv));
	if (pv == NULL || mps__pv_fill(a, pv, v) != MPS_OK) {
		return NULL;
	}
	return pv;
}

void
mps__pv_view(const Mpstore__Value *pv, mps_value *out)
{
	*out = mps_null();
	if (pv == NULL) {
		return;
	}
	switch (pv->v_case) {
	case MPSTORE__VALUE__V_INT_VALUE:
		*out = mps_int(pv->int_value);
		break;
	case MPSTORE__VALUE__V_DOUBLE_VALUE:
		*out = mps_double(pv->double_value);
		break;
	case MPSTORE__VALUE__V_BOOL_VALUE:
		*out = mps_bool(pv->bool_value);
		break;
	case MPSTORE__VALUE__V_STRING_VALUE:
		*out = mps_str(pv->string_value != NULL ? pv->string_value : "");
		break;
	case MPSTORE__VALUE__V_BYTES_VALUE:
		*out = mps_bytes(pv->bytes_value.data, pv->bytes_value.len);
		break;
	case MPSTORE__VALUE__V_MESSAGE_VALUE:
		*out = mps_message(pv->message_value.data, pv->message_value.len);
		break;
	default:
		break;
	}
}

mps_err
mps__pv_copy(const Mpstore__Value *pv, mps_value *out)
{
	mps_value view;
	mps__pv_view(pv, &view);
	return mps_value_dup(out, &view);
}

mps_err
mps__pv_copy_array(Mpstore__Value *const *pv, size_t n, mps_value **out)
{
	*out = NULL;
	if (n == 0) {
		return MPS_OK;
	}
	mps_value *v = calloc(n, sizeof(*v));
	if (v == NULL) {
		return MPS_ERR_NOMEM;
	}
	for (size_t i = 0; i < n; i++) {
		if (mps__pv_copy(pv[i], &v[i]) != MPS_OK) {
			mps_values_free(v, i);
			return MPS_ERR_NOMEM;
		}
	}
	*out = v;
	return MPS_OK;
}

void
mps__info_view(const Mpstore__ContainerInfo *ci, mps_info *out)
{
	memset(out, 0, sizeof(*out));
	out->name         = "";
	out->message_type = "";
	if (ci == NULL) {
		return;
	}
	out->name         = ci->name != NULL ? ci->name : "";
	out->kind         = (mps_kind) ci->kind;
	out->elem_type    = (mps_elem_type) ci->elem_type;
	out->key_type     = (mps_key_type) ci->key_type;
	out->message_type = ci->message_type != NULL ? ci->message_type : "";
	out->length       = ci->length;
	out->revision     = ci->revision;
	out->capacity     = ci->capacity;
}

mps_err
mps__info_copy(const Mpstore__ContainerInfo *ci, mps_info *out)
{
	mps__info_view(ci, out);
	char *n = strdup(out->name);
	char *m = strdup(out->message_type);
	if (n == NULL || m == NULL) {
		free(n);
		free(m);
		memset(out, 0, sizeof(*out));
		return MPS_ERR_NOMEM;
	}
	out->name         = n;
	out->message_type = m;
	return MPS_OK;
}

void
mps_info_free(mps_info *info)
{
	if (info == NULL) {
		return;
	}
	free((void *) info->name);
	free((void *) info->message_type);
	memset(info, 0, sizeof(*info));
}

void
mps_infos_free(mps_info *infos, size_t n)
{
	if (infos == NULL) {
		return;
	}
	for (size_t i = 0; i < n; i++) {
		mps_info_free(&infos[i]);
	}
	free(infos);
}

/* ---- names ---- */

static const char *const mps__kind_names[] = {
	"none", "value", "list", "dict", "queue", "lock", "rlock", "semaphore",
	"bounded-semaphore", "event", "condition", "barrier", "array", "namespace",
};

static const char *const mps__type_names[] = {
	"any", "int64", "double", "bool", "string", "bytes", "message",
};

const char *
mps_kind_name(int kind)
{
	if (kind < 0 || kind >= (int) (sizeof(mps__kind_names) / sizeof(mps__kind_names[0]))) {
		return "?";
	}
	return mps__kind_names[kind];
}

const char *
mps_elem_type_name(int type)
{
	if (type < 0 || type >= (int) (sizeof(mps__type_names) / sizeof(mps__type_names[0]))) {
		return "?";
	}
	return mps__type_names[type];
}

int
mps_kind_parse(const char *name)
{
	if (name == NULL) {
		return -1;
	}
	if (strcmp(name, "counter") == 0) {
		return MPS_KIND_VALUE;
	}
	if (strcmp(name, "bounded_semaphore") == 0) {
		return MPS_KIND_BOUNDED_SEMAPHORE;
	}
	for (int i = 1; i < (int) (sizeof(mps__kind_names) / sizeof(mps__kind_names[0])); i++) {
		if (strcmp(name, mps__kind_names[i]) == 0) {
			return i;
		}
	}
	return -1;
}

int
mps_elem_type_parse(const char *name)
{
	if (name == NULL) {
		return -1;
	}
	if (strcmp(name, "int") == 0) {
		return MPS_TYPE_INT64;
	}
	if (strcmp(name, "str") == 0) {
		return MPS_TYPE_STRING;
	}
	for (int i = 0; i < (int) (sizeof(mps__type_names) / sizeof(mps__type_names[0])); i++) {
		if (strcmp(name, mps__type_names[i]) == 0) {
			return i;
		}
	}
	return -1;
}
