/*
 * compat.c - may data stored under an old version of a message type be
 * read under a new one? A structural comparison of two descriptors by field
 * number, recursive on message fields (pairs already being compared are
 * assumed compatible, which ends recursion on recursive types).
 */
#include <stdlib.h>
#include <string.h>

#include "schema_int.h"

typedef struct pair {
	const mpss_msg *a, *b;
} pair;

typedef struct cctx {
	mpss_error *err;
	pair        seen[1024];
	size_t      n_seen;
} cctx;

/* wire-compatible families; 0 = only itself */
static int
family(int t)
{
	switch (t) {
	case FT_INT32: case FT_INT64: case FT_UINT32: case FT_UINT64: case FT_BOOL: case FT_ENUM:
		return 1;
	case FT_SINT32: case FT_SINT64: return 2;
	case FT_FIXED32: case FT_SFIXED32: return 3;
	case FT_FIXED64: case FT_SFIXED64: return 4;
	case FT_STRING: case FT_BYTES: case FT_MESSAGE: return 5;
	default: return 0;
	}
}

static const char *
type_name(const mpss_field *f)
{
	static const char *n[] = {"?", "double", "float", "int64", "uint64", "int32",
	                          "fixed64", "fixed32", "bool", "string", "group", "message",
	                          "bytes", "uint32", "enum", "sfixed32", "sfixed64", "sint32",
	                          "sint64"};
	if (f->type == FT_MESSAGE || f->type == FT_GROUP)
		return f->msg->full;
	if (f->type == FT_ENUM)
		return f->en->full;
	return f->type > 0 && f->type <= FT_SINT64 ? n[f->type] : "?";
}

static int compat_msg(cctx *c, const mpss_msg *a, const mpss_msg *b);

static int
compat_field(cctx *c, const mpss_msg *a, const mpss_field *fa, const mpss_msg *b,
             const mpss_field *fb)
{
	bool ra = fa->label == LBL_REPEATED, rb = fb->label == LBL_REPEATED;
	if (ra != rb)
		return mpss__fail(c->err, MPS_ERR_SCHEMA,
		                  "incompatible change of %s.%s (field %d): %s -> %s", a->full,
		                  fa->name, (int)fa->number, ra ? "repeated" : "singular",
		                  rb ? "repeated" : "singular");
	if (fb->label == LBL_REQUIRED && fa->label != LBL_REQUIRED)
		return mpss__fail(c->err, MPS_ERR_SCHEMA,
		                  "incompatible change of %s.%s (field %d): made required", a->full,
		                  fa->name, (int)fa->number);
	if (fa->type == fb->type && fa->type != FT_MESSAGE && fa->type != FT_GROUP)
		return 0;
	if (fa->type == FT_GROUP || fb->type == FT_GROUP) {
		if (fa->type == fb->type)
			return compat_msg(c, fa->msg, fb->msg);
		goto bad;
	}
	if (family(fa->type) == 0 || family(fa->type) != family(fb->type))
		goto bad;
	if (fa->type == FT_MESSAGE && fb->type == FT_MESSAGE)
		return compat_msg(c, fa->msg, fb->msg);
	/* bytes may hold anything: not necessarily UTF-8, nor a valid message */
	if (fa->type == FT_BYTES && fb->type == FT_STRING && b->proto3)
		goto bad;
	if (fa->type == FT_BYTES && fb->type == FT_MESSAGE)
		goto bad;
	if (fa->type == FT_STRING && fb->type == FT_MESSAGE)
		goto bad;
	return 0;
bad:
	return mpss__fail(c->err, MPS_ERR_SCHEMA,
	                  "incompatible change of %s.%s (field %d): type %s -> %s", a->full,
	                  fa->name, (int)fa->number, type_name(fa), type_name(fb));
}

static int
compat_msg(cctx *c, const mpss_msg *a, const mpss_msg *b)
{
	int rv;
	for (size_t i = 0; i < c->n_seen; i++)
		if (c->seen[i].a == a && c->seen[i].b == b)
			return 0;
	if (c->n_seen == sizeof(c->seen) / sizeof(c->seen[0]))
		return mpss__fail(c->err, MPS_ERR_SCHEMA, "%s: too many nested types to compare", a->full);
	c->seen[c->n_seen].a = a;
	c->seen[c->n_seen].b = b;
	c->n_seen++;
	for (size_t i = 0; i < b->n_fields; i++) {
		const mpss_field *fb = &b->fields[i];
		const mpss_field *fa = mpss__field_by_number(a, fb->number);
		if (fa == NULL) {
			if (fb->label == LBL_REQUIRED)
				return mpss__fail(c->err, MPS_ERR_SCHEMA,
				                  "incompatible change of %s: new required field %s "
				                  "(field %d) is missing from stored data",
				                  a->full, fb->name, (int)fb->number);
			continue;
		}
		if ((rv = compat_field(c, a, fa, b, fb)) != 0)
			return rv;
	}
	return 0;
}

int
mpss_compat_check(const mpss_registry *old_reg, const mpss_registry *new_reg,
                  const char *type, mpss_error *err)
{
	cctx            c = {.err = err};
	const mpss_msg *a = mpss_registry_find(old_reg, type);
	const mpss_msg *b = mpss_registry_find(new_reg, type);
	if (a == NULL)
		return mpss__fail(err, MPS_ERR_NOT_FOUND, "unknown message type %s", type);
	if (b == NULL)
		return mpss__fail(err, MPS_ERR_SCHEMA,
		                  "incompatible change: type %s is used by containers but no "
		                  "longer defined",
		                  a->full);
	return compat_msg(&c, a, b);
}
