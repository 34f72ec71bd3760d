/*
 * validate.c - checks that bytes are a well-formed encoding of a message
 * type, by walking the wire format against the descriptors.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "schema_int.h"

typedef struct vctx {
	mpss_error *err;
	char        path[256]; /* "Order.items[2]." prefix of nested errors */
} vctx;

static int
vfail(vctx *v, const mpss_msg *m, const mpss_field *f, int32_t num, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

static int
vfail(vctx *v, const mpss_msg *m, const mpss_field *f, int32_t num, const char *fmt, ...)
{
	char    what[200];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	if (f != NULL)
		return mpss__fail(v->err, MPS_ERR_SCHEMA, "%s%s.%s (field %d): %s", v->path, m->full,
		                  f->name, (int)num, what);
	if (num > 0)
		return mpss__fail(v->err, MPS_ERR_SCHEMA, "%s%s (unknown field %d): %s", v->path,
		                  m->full, (int)num, what);
	return mpss__fail(v->err, MPS_ERR_SCHEMA, "%s%s: %s", v->path, m->full, what);
}

/* Skips one value of wire type wt at p; returns bytes consumed or 0. */
static size_t
skip_value(const uint8_t *p, size_t len, int wt, int32_t num, int depth)
{
	uint64_t v;
	size_t   k;
	switch (wt) {
	case WT_VARINT:
		return mpss__varint(p, len, &v);
	case WT_I64:
		return len >= 8 ? 8 : 0;
	case WT_I32:
		return len >= 4 ? 4 : 0;
	case WT_LEN:
		if ((k = mpss__varint(p, len, &v)) == 0 || v > len - k)
			return 0;
		return k + (size_t)v;
	case WT_SGROUP: {
		size_t off = 0;
		if (depth > MPSS_MAX_DEPTH)
			return 0;
		while (off < len) {
			uint64_t key;
			size_t   n = mpss__varint(p + off, len - off, &key);
			if (n == 0 || (key >> 3) == 0 || (key >> 3) > 0x1fffffff)
				return 0;
			off += n;
			if ((key & 7) == WT_EGROUP)
				return (int32_t)(key >> 3) == num ? off : 0;
			n = skip_value(p + off, len - off, (int)(key & 7), (int32_t)(key >> 3), depth + 1);
			if (n == 0)
				return 0;
			off += n;
		}
		return 0;
	}
	default:
		return 0;
	}
}

static int walk(vctx *v, const mpss_msg *m, const uint8_t *p, size_t len, int depth,
                bool group, int32_t group_num, size_t *used);

static int
check_packed(vctx *v, const mpss_msg *m, const mpss_field *f, const uint8_t *p, size_t len)
{
	int    wt = mpss__expected_wt(f->type);
	size_t off = 0;
	if (wt == WT_I32 || wt == WT_I64) {
		size_t w = wt == WT_I32 ? 4 : 8;
		if (len % w != 0)
			return vfail(v, m, f, f->number, "packed length %zu is not a multiple of %zu",
			             len, w);
		return 0;
	}
	while (off < len) {
		uint64_t x;
		size_t   n = mpss__varint(p + off, len - off, &x);
		if (n == 0)
			return vfail(v, m, f, f->number, "truncated varint in packed array");
		off += n;
	}
	return 0;
}

static int
check_field(vctx *v, const mpss_msg *m, const mpss_field *f, int wt, const uint8_t *p,
            size_t len, size_t *used, int depth, size_t index)
{
	int      want = mpss__expected_wt(f->type);
	uint64_t n;
	size_t   k;

	if (wt == WT_LEN && want != WT_LEN && f->label == LBL_REPEATED) {
		if ((k = mpss__varint(p, len, &n)) == 0 || n > len - k)
			return vfail(v, m, f, f->number, "truncated");
		*used = k + (size_t)n;
		return check_packed(v, m, f, p + k, (size_t)n);
	}
	if (wt != want)
		return vfail(v, m, f, f->number, "expected %s, got %s", mpss__wt_name(want),
		             mpss__wt_name(wt));
	if (want == WT_SGROUP) {
		size_t plen = strlen(v->path);
		int    rv;
		snprintf(v->path + plen, sizeof(v->path) - plen, "%s.%s: ", m->full, f->name);
		rv = walk(v, f->msg, p, len, depth + 1, true, f->number, used);
		v->path[plen] = 0;
		return rv;
	}
	if (want != WT_LEN) {
		if ((*used = skip_value(p, len, wt, f->number, depth)) == 0)
			return vfail(v, m, f, f->number, "truncated %s", mpss__wt_name(wt));
		return 0;
	}
	if ((k = mpss__varint(p, len, &n)) == 0 || n > len - k)
		return vfail(v, m, f, f->number, "truncated (length %s)",
		             k == 0 ? "unreadable" : "beyond the end");
	*used = k + (size_t)n;
	p += k;
	if (f->type == FT_STRING && m->proto3 && !mpss__utf8_ok(p, (size_t)n))
		return vfail(v, m, f, f->number, "string is not valid UTF-8");
	if (f->type == FT_MESSAGE) {
		size_t plen = strlen(v->path), dummy;
		int    rv;
		if (f->label == LBL_REPEATED)
			snprintf(v->path + plen, sizeof(v->path) - plen, "%s.%s[%zu]: ", m->full,
			         f->name, index);
		else
			snprintf(v->path + plen, sizeof(v->path) - plen, "%s.%s: ", m->full, f->name);
		rv = walk(v, f->msg, p, (size_t)n, depth + 1, false, 0, &dummy);
		v->path[plen] = 0;
		return rv;
	}
	return 0;
}

static int
walk(vctx *v, const mpss_msg *m, const uint8_t *p, size_t len, int depth, bool group,
     int32_t group_num, size_t *used)
{
	size_t  off = 0;
	size_t *counts = NULL;
	int     rv = 0;

	if (depth > MPSS_MAX_DEPTH)
		return vfail(v, m, NULL, 0, "nested deeper than %d", MPSS_MAX_DEPTH);
	if (m->n_fields > 0 && (counts = calloc(m->n_fields, sizeof(*counts))) == NULL)
		return mpss__fail(v->err, MPS_ERR_NOMEM, "out of memory");
	while (off < len) {
		uint64_t key;
		size_t   k = mpss__varint(p + off, len - off, &key), n = 0;
		int32_t  num;
		int      wt;
		if (k == 0) {
			rv = vfail(v, m, NULL, 0, "truncated field key at offset %zu", off);
			goto out;
		}
		num = (int32_t)(key >> 3);
		wt = (int)(key & 7);
		if ((key >> 3) == 0 || (key >> 3) > 0x1fffffff) {
			rv = vfail(v, m, NULL, 0, "invalid field number %llu at offset %zu",
			           (unsigned long long)(key >> 3), off);
			goto out;
		}
		off += k;
		if (wt == WT_EGROUP) {
			if (group && num == group_num) {
				*used = off;
				goto done;
			}
			rv = vfail(v, m, NULL, num, "unexpected end-group");
			goto out;
		}
		if (wt > 5) {
			rv = vfail(v, m, NULL, num, "invalid wire type %d", wt);
			goto out;
		}
		const mpss_field *f = mpss__field_by_number(m, num);
		if (f == NULL) {
			if ((n = skip_value(p + off, len - off, wt, num, depth)) == 0) {
				rv = vfail(v, m, NULL, num, "truncated or malformed %s",
				           mpss__wt_name(wt));
				goto out;
			}
		} else {
			size_t idx = (size_t)(f - m->fields);
			rv = check_field(v, m, f, wt, p + off, len - off, &n, depth, counts[idx]);
			if (rv != 0)
				goto out;
			counts[idx]++;
		}
		off += n;
	}
	if (group) {
		rv = vfail(v, m, NULL, 0, "group not terminated");
		goto out;
	}
	*used = off;
done:
	if (m->n_required > 0)
		for (size_t i = 0; i < m->n_fields; i++)
			if (m->fields[i].label == LBL_REQUIRED && counts[i] == 0) {
				rv = vfail(v, m, &m->fields[i], m->fields[i].number,
				           "required field missing");
				goto out;
			}
out:
	free(counts);
	return rv;
}

int
mpss_validate_msg(const mpss_msg *m, const uint8_t *data, size_t len, mpss_error *err)
{
	vctx   v = {.err = err};
	size_t used;
	if (data == NULL && len > 0)
		return mpss__fail(err, MPS_ERR_SCHEMA, "no data");
	return walk(&v, m, data, len, 0, false, 0, &used);
}

int
mpss_validate(const mpss_registry *reg, const char *type, const uint8_t *data, size_t len,
              mpss_error *err)
{
	const mpss_msg *m = mpss_registry_find(reg, type);
	if (m == NULL)
		return mpss__fail(err, MPS_ERR_NOT_FOUND, "unknown message type %s",
		                  type ? type : "(null)");
	return mpss_validate_msg(m, data, len, err);
}
