/*
 * jsonconv.c - message bytes <-> JSON text, driven by the descriptors
 * (proto3 JSON mapping, proto field names; see schema.h).
 */
#include <errno.h>
#include <float.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "schema_int.h"

static const char *ft_names[] = {"?", "double", "float", "int64", "uint64", "int32", "fixed64",
                                 "fixed32", "bool", "string", "group", "message", "bytes",
                                 "uint32", "enum", "sfixed32", "sfixed64", "sint32", "sint64"};

/* ---- bytes -> JSON ------------------------------------------------------ */

typedef struct field_it {
	const uint8_t *p;
	size_t         len, off;
	int32_t        num;
	int            wt;
	uint64_t       v;    /* varint */
	const uint8_t *data; /* fixed, length-delimited payload, group body */
	size_t         dlen;
} field_it;

/* next field; false at the end (data was validated: malformed data just ends) */
static bool
it_next(field_it *it)
{
	uint64_t key, n;
	size_t   k;
	while (it->off < it->len) {
		if ((k = mpss__varint(it->p + it->off, it->len - it->off, &key)) == 0)
			return false;
		it->off += k;
		it->num = (int32_t)(key >> 3);
		it->wt = (int)(key & 7);
		const uint8_t *q = it->p + it->off;
		size_t         rest = it->len - it->off;
		switch (it->wt) {
		case WT_VARINT:
			if ((k = mpss__varint(q, rest, &it->v)) == 0)
				return false;
			it->off += k;
			return true;
		case WT_I64: case WT_I32:
			it->dlen = it->wt == WT_I64 ? 8 : 4;
			if (rest < it->dlen)
				return false;
			it->data = q;
			it->off += it->dlen;
			return true;
		case WT_LEN:
			if ((k = mpss__varint(q, rest, &n)) == 0 || n > rest - k)
				return false;
			it->data = q + k;
			it->dlen = (size_t)n;
			it->off += k + (size_t)n;
			return true;
		case WT_SGROUP: {
			/* find the matching end-group by walking nested fields */
			field_it sub = {.p = q, .len = rest};
			int      depth = 1;
			while (depth > 0) {
				size_t before = sub.off;
				uint64_t skey;
				if ((k = mpss__varint(q + sub.off, rest - sub.off, &skey)) == 0)
					return false;
				if ((skey & 7) == WT_EGROUP) {
					sub.off += k;
					if (--depth == 0) {
						it->data = q;
						it->dlen = before;
						break;
					}
					continue;
				}
				if ((skey & 7) == WT_SGROUP) {
					sub.off += k;
					depth++;
					continue;
				}
				if (!it_next(&sub))
					return false;
			}
			it->off += sub.off;
			return true;
		}
		default:
			return false;
		}
	}
	return false;
}

static void
json_str(mpss_buf *b, const uint8_t *s, size_t n)
{
	mpss__buf_put(b, "\"", 1);
	for (size_t i = 0; i < n; i++) {
		uint8_t c = s[i];
		switch (c) {
		case '"': mpss__buf_put(b, "\\\"", 2); break;
		case '\\': mpss__buf_put(b, "\\\\", 2); break;
		case '\n': mpss__buf_put(b, "\\n", 2); break;
		case '\r': mpss__buf_put(b, "\\r", 2); break;
		case '\t': mpss__buf_put(b, "\\t", 2); break;
		default:
			if (c < 0x20)
				mpss__buf_printf(b, "\\u%04x", c);
			else
				mpss__buf_put(b, &c, 1);
		}
	}
	mpss__buf_put(b, "\"", 1);
}

static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static void
json_b64(mpss_buf *b, const uint8_t *s, size_t n)
{
	mpss__buf_put(b, "\"", 1);
	for (size_t i = 0; i < n; i += 3) {
		uint32_t v = (uint32_t)s[i] << 16;
		char     o[4];
		if (i + 1 < n) v |= (uint32_t)s[i + 1] << 8;
		if (i + 2 < n) v |= s[i + 2];
		o[0] = b64[v >> 18];
		o[1] = b64[(v >> 12) & 63];
		o[2] = i + 1 < n ? b64[(v >> 6) & 63] : '=';
		o[3] = i + 2 < n ? b64[v & 63] : '=';
		mpss__buf_put(b, o, 4);
	}
	mpss__buf_put(b, "\"", 1);
}

static uint32_t le32(const uint8_t *p) { return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24; }
static uint64_t le64(const uint8_t *p) { return (uint64_t)le32(p) | (uint64_t)le32(p + 4) << 32; }

static void
json_double(mpss_buf *b, double d, bool is_float)
{
	if (isnan(d))
		mpss__buf_puts(b, "\"NaN\"");
	else if (isinf(d))
		mpss__buf_puts(b, d > 0 ? "\"Infinity\"" : "\"-Infinity\"");
	else
		mpss__buf_printf(b, is_float ? "%.9g" : "%.17g", d);
}

static const char *
enum_name(const mpss_enum *e, int32_t v)
{
	for (size_t i = 0; e != NULL && i < e->d->n_value; i++)
		if (e->d->value[i]->number == v)
			return e->d->value[i]->name;
	return NULL;
}

static void msg_json(mpss_buf *b, const mpss_msg *m, const uint8_t *p, size_t len, int depth);

/* one scalar from a varint or fixed value */
static void
scalar_json(mpss_buf *b, const mpss_field *f, uint64_t v, const uint8_t *fx, bool as_key)
{
	const char *q = as_key ? "\"" : "";
	const char *en;
	switch (f->type) {
	case FT_INT32: mpss__buf_printf(b, "%s%" PRId32 "%s", q, (int32_t)v, q); break;
	case FT_INT64: mpss__buf_printf(b, "%s%" PRId64 "%s", q, (int64_t)v, q); break;
	case FT_UINT32: mpss__buf_printf(b, "%s%" PRIu32 "%s", q, (uint32_t)v, q); break;
	case FT_UINT64: mpss__buf_printf(b, "%s%" PRIu64 "%s", q, v, q); break;
	case FT_SINT32: mpss__buf_printf(b, "%s%" PRId32 "%s", q, (int32_t)((uint32_t)v >> 1) ^ -(int32_t)(v & 1), q); break;
	case FT_SINT64: mpss__buf_printf(b, "%s%" PRId64 "%s", q, (int64_t)(v >> 1) ^ -(int64_t)(v & 1), q); break;
	case FT_BOOL: mpss__buf_printf(b, "%s%s%s", q, v ? "true" : "false", q); break;
	case FT_ENUM:
		if ((en = enum_name(f->en, (int32_t)v)) != NULL)
			json_str(b, (const uint8_t *)en, strlen(en));
		else
			mpss__buf_printf(b, "%" PRId32, (int32_t)v);
		break;
	case FT_FIXED32: mpss__buf_printf(b, "%s%" PRIu32 "%s", q, le32(fx), q); break;
	case FT_SFIXED32: mpss__buf_printf(b, "%s%" PRId32 "%s", q, (int32_t)le32(fx), q); break;
	case FT_FIXED64: mpss__buf_printf(b, "%s%" PRIu64 "%s", q, le64(fx), q); break;
	case FT_SFIXED64: mpss__buf_printf(b, "%s%" PRId64 "%s", q, (int64_t)le64(fx), q); break;
	case FT_FLOAT: {
		uint32_t u = le32(fx);
		float    fl;
		memcpy(&fl, &u, 4);
		json_double(b, fl, true);
		break;
	}
	case FT_DOUBLE: {
		uint64_t u = le64(fx);
		double   d;
		memcpy(&d, &u, 8);
		json_double(b, d, false);
		break;
	}
	}
}

/* one element of field f at the iterator (not packed) */
static void
value_json(mpss_buf *b, const mpss_field *f, const field_it *it, int depth)
{
	switch (f->type) {
	case FT_STRING: json_str(b, it->data, it->dlen); break;
	case FT_BYTES: json_b64(b, it->data, it->dlen); break;
	case FT_MESSAGE: case FT_GROUP: msg_json(b, f->msg, it->data, it->dlen, depth + 1); break;
	default: scalar_json(b, f, it->v, it->data, false);
	}
}

static void
packed_json(mpss_buf *b, const mpss_field *f, const uint8_t *p, size_t len, bool *first)
{
	int    wt = mpss__expected_wt(f->type);
	size_t off = 0;
	while (off < len) {
		uint64_t v = 0;
		size_t   k = wt == WT_I32 ? 4 : wt == WT_I64 ? 8 : mpss__varint(p + off, len - off, &v);
		if (k == 0 || k > len - off)
			return;
		if (!*first)
			mpss__buf_put(b, ",", 1);
		*first = false;
		scalar_json(b, f, v, p + off, false);
		off += k;
	}
}

static void
map_entry_json(mpss_buf *b, const mpss_field *f, const uint8_t *p, size_t len, int depth)
{
	const mpss_field *kf = mpss__field_by_number(f->msg, 1);
	const mpss_field *vf = mpss__field_by_number(f->msg, 2);
	field_it          it = {.p = p, .len = len}, key = {0}, val = {0};
	bool              has_key = false, has_val = false;
	uint8_t           zero[8] = {0};
	while (it_next(&it)) {
		if (it.num == 1 && it.wt == mpss__expected_wt(kf->type)) {
			key = it;
			has_key = true;
		} else if (it.num == 2 && it.wt == mpss__expected_wt(vf->type)) {
			val = it;
			has_val = true;
		}
	}
	if (!has_key) {
		key.data = zero;
		key.dlen = kf->type == FT_STRING ? 0 : 8;
	}
	if (kf->type == FT_STRING)
		json_str(b, key.data, key.dlen);
	else
		scalar_json(b, kf, key.v, key.data, true);
	mpss__buf_put(b, ":", 1);
	if (!has_val) {
		val.data = zero;
		val.dlen = 0;
		if (vf->type == FT_FLOAT || vf->type == FT_DOUBLE || vf->type == FT_FIXED32 ||
		    vf->type == FT_FIXED64 || vf->type == FT_SFIXED32 || vf->type == FT_SFIXED64)
			val.dlen = 8;
	}
	value_json(b, vf, &val, depth);
}

static void
msg_json(mpss_buf *b, const mpss_msg *m, const uint8_t *p, size_t len, int depth)
{
	bool first_field = true;
	mpss__buf_put(b, "{", 1);
	for (size_t i = 0; i < m->n_fields && depth <= MPSS_MAX_DEPTH; i++) {
		const mpss_field *f = &m->fields[i];
		field_it          it = {.p = p, .len = len}, last = {0};
		bool              seen = false, first = true;
		bool              rep = f->label == LBL_REPEATED;
		bool              is_map = rep && f->msg != NULL && f->msg->map_entry;
		while (it_next(&it)) {
			if (it.num != f->number)
				continue;
			if (!rep) {
				last = it;
				seen = true;
				continue;
			}
			if (!seen) {
				mpss__buf_puts(b, first_field ? "\"" : ",\"");
				mpss__buf_puts(b, f->name);
				mpss__buf_puts(b, is_map ? "\":{" : "\":[");
				first_field = false;
				seen = true;
			}
			if (it.wt == WT_LEN && mpss__expected_wt(f->type) != WT_LEN) {
				packed_json(b, f, it.data, it.dlen, &first);
				continue;
			}
			if (!first)
				mpss__buf_put(b, ",", 1);
			first = false;
			if (is_map)
				map_entry_json(b, f, it.data, it.dlen, depth + 1);
			else
				value_json(b, f, &it, depth);
		}
		if (rep && seen)
			mpss__buf_put(b, is_map ? "}" : "]", 1);
		if (!rep && seen) {
			mpss__buf_puts(b, first_field ? "\"" : ",\"");
			mpss__buf_puts(b, f->name);
			mpss__buf_puts(b, "\":");
			first_field = false;
			value_json(b, f, &last, depth);
		}
	}
	mpss__buf_put(b, "}", 1);
}

int
mpss_to_json(const mpss_registry *reg, const char *type, const uint8_t *data, size_t len,
             char **json, mpss_error *err)
{
	const mpss_msg *m = mpss_registry_find(reg, type);
	mpss_buf        b = {0};
	int             rv;
	if (m == NULL)
		return mpss__fail(err, MPS_ERR_NOT_FOUND, "unknown message type %s", type);
	if ((rv = mpss_validate_msg(m, data, len, err)) != 0)
		return rv;
	msg_json(&b, m, data, len, 0);
	if (b.oom) {
		free(b.p);
		return mpss__fail(err, MPS_ERR_NOMEM, "out of memory");
	}
	*json = (char *)b.p;
	return 0;
}

/* ---- JSON -> bytes ------------------------------------------------------ */

typedef struct jctx {
	mpss_error *err;
	char        path[256];
} jctx;

static int
jerr(jctx *c, const mpss_msg *m, const mpss_field *f, const char *what)
{
	if (f != NULL)
		return mpss__fail(c->err, MPS_ERR_INVALID, "at %s (%s.%s, %s): %s",
		                  c->path[0] ? c->path : "top", m->full, f->name,
		                  f->type == FT_MESSAGE ? f->msg->full
		                  : f->type == FT_ENUM  ? f->en->full
		                                        : ft_names[f->type],
		                  what);
	return mpss__fail(c->err, MPS_ERR_INVALID, "at %s (%s): %s", c->path[0] ? c->path : "top",
	                  m->full, what);
}

static int json_msg(jctx *c, const mpss_msg *m, const mpss_json *j, mpss_buf *out, int depth);

static bool
is_int_literal(const char *s)
{
	if (*s == '-')
		s++;
	if (!*s)
		return false;
	for (; *s; s++)
		if (*s < '0' || *s > '9')
			return false;
	return true;
}

/* integer from a JSON number or string; ranges checked by the caller */
static const char *
json_integer(const mpss_json *j, bool is_unsigned, int64_t *i, uint64_t *u)
{
	const char *s;
	if (j->type != MPSS_JSON_NUMBER && j->type != MPSS_JSON_STRING)
		return "expected an integer";
	s = j->str;
	if (is_int_literal(s)) {
		char *end;
		errno = 0;
		if (is_unsigned) {
			if (*s == '-')
				return "negative value for an unsigned field";
			*u = strtoull(s, &end, 10);
		} else {
			*i = strtoll(s, &end, 10);
		}
		if (errno == ERANGE)
			return "value out of range";
		return NULL;
	}
	/* 1e3, 5.0: allowed when integral */
	{
		char  *end;
		double d = strtod(s, &end);
		if (*end != 0 || end == s || d != floor(d) || !isfinite(d))
			return "expected an integer";
		if (is_unsigned) {
			if (d < 0) return "negative value for an unsigned field";
			if (d >= 18446744073709551616.0) return "value out of range";
			*u = (uint64_t)d;
		} else {
			if (d < -9223372036854775808.0 || d >= 9223372036854775808.0)
				return "value out of range";
			*i = (int64_t)d;
		}
	}
	return NULL;
}

static void
put_le(mpss_buf *b, uint64_t v, int n)
{
	uint8_t t[8];
	for (int i = 0; i < n; i++)
		t[i] = (uint8_t)(v >> (8 * i));
	mpss__buf_put(b, t, (size_t)n);
}

static int
b64_val(int c)
{
	if (c >= 'A' && c <= 'Z') return c - 'A';
	if (c >= 'a' && c <= 'z') return c - 'a' + 26;
	if (c >= '0' && c <= '9') return c - '0' + 52;
	if (c == '+' || c == '-') return 62;
	if (c == '/' || c == '_') return 63;
	return -1;
}

static bool
b64_decode(mpss_buf *out, const char *s, size_t n)
{
	uint32_t acc = 0;
	int      bits = 0;
	while (n > 0 && s[n - 1] == '=')
		n--;
	for (size_t i = 0; i < n; i++) {
		int v = b64_val((unsigned char)s[i]);
		if (v < 0)
			return false;
		acc = (acc << 6) | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			uint8_t byte = (uint8_t)(acc >> (bits - 8));
			bits -= 8;
			mpss__buf_put(out, &byte, 1);
		}
	}
	return bits < 6; /* one leftover sextet cannot be */
}

/* the value (no tag) of one non-repeated element of field f */
static int
json_value(jctx *c, const mpss_msg *m, const mpss_field *f, const mpss_json *j, mpss_buf *out,
           int depth)
{
	int64_t     i = 0;
	uint64_t    u = 0;
	const char *e = NULL;
	switch (f->type) {
	case FT_INT32: case FT_SINT32: case FT_SFIXED32: case FT_INT64: case FT_SINT64:
	case FT_SFIXED64:
		if ((e = json_integer(j, false, &i, &u)) != NULL)
			return jerr(c, m, f, e);
		if ((f->type == FT_INT32 || f->type == FT_SINT32 || f->type == FT_SFIXED32) &&
		    (i < INT32_MIN || i > INT32_MAX))
			return jerr(c, m, f, "value out of range");
		if (f->type == FT_INT32 || f->type == FT_INT64)
			mpss__buf_varint(out, (uint64_t)i);
		else if (f->type == FT_SINT32 || f->type == FT_SINT64)
			mpss__buf_varint(out, ((uint64_t)i << 1) ^ (uint64_t)(i >> 63));
		else
			put_le(out, (uint64_t)i, f->type == FT_SFIXED32 ? 4 : 8);
		return 0;
	case FT_UINT32: case FT_FIXED32: case FT_UINT64: case FT_FIXED64:
		if ((e = json_integer(j, true, &i, &u)) != NULL)
			return jerr(c, m, f, e);
		if ((f->type == FT_UINT32 || f->type == FT_FIXED32) && u > UINT32_MAX)
			return jerr(c, m, f, "value out of range");
		if (f->type == FT_UINT32 || f->type == FT_UINT64)
			mpss__buf_varint(out, u);
		else
			put_le(out, u, f->type == FT_FIXED32 ? 4 : 8);
		return 0;
	case FT_BOOL:
		if (j->type == MPSS_JSON_TRUE || (j->type == MPSS_JSON_STRING && strcmp(j->str, "true") == 0))
			mpss__buf_varint(out, 1);
		else if (j->type == MPSS_JSON_FALSE || (j->type == MPSS_JSON_STRING && strcmp(j->str, "false") == 0))
			mpss__buf_varint(out, 0);
		else
			return jerr(c, m, f, "expected true or false");
		return 0;
	case FT_FLOAT: case FT_DOUBLE: {
		double d;
		if (j->type == MPSS_JSON_NUMBER) {
			d = j->num;
		} else if (j->type == MPSS_JSON_STRING) {
			char *end;
			if (strcmp(j->str, "NaN") == 0) d = NAN;
			else if (strcmp(j->str, "Infinity") == 0) d = INFINITY;
			else if (strcmp(j->str, "-Infinity") == 0) d = -INFINITY;
			else {
				d = strtod(j->str, &end);
				if (end == j->str || *end != 0)
					return jerr(c, m, f, "expected a number");
			}
		} else {
			return jerr(c, m, f, "expected a number");
		}
		if (f->type == FT_FLOAT) {
			float    fl = (float)d;
			uint32_t w;
			if (isfinite(d) && (d > FLT_MAX || d < -FLT_MAX))
				return jerr(c, m, f, "value out of range for float");
			memcpy(&w, &fl, 4);
			put_le(out, w, 4);
		} else {
			uint64_t w;
			if (j->type == MPSS_JSON_NUMBER && !isfinite(d))
				return jerr(c, m, f, "value out of range for double");
			memcpy(&w, &d, 8);
			put_le(out, w, 8);
		}
		return 0;
	}
	case FT_ENUM:
		if (j->type == MPSS_JSON_STRING) {
			for (size_t k = 0; k < f->en->d->n_value; k++)
				if (strcmp(f->en->d->value[k]->name, j->str) == 0) {
					mpss__buf_varint(out, (uint64_t)(int64_t)f->en->d->value[k]->number);
					return 0;
				}
			return jerr(c, m, f, "unknown enum value name");
		}
		if ((e = json_integer(j, false, &i, &u)) != NULL)
			return jerr(c, m, f, "expected an enum value name or number");
		if (i < INT32_MIN || i > INT32_MAX)
			return jerr(c, m, f, "value out of range");
		mpss__buf_varint(out, (uint64_t)i);
		return 0;
	case FT_STRING:
		if (j->type != MPSS_JSON_STRING)
			return jerr(c, m, f, "expected a string");
		mpss__buf_varint(out, j->len);
		mpss__buf_put(out, j->str, j->len);
		return 0;
	case FT_BYTES: {
		mpss_buf tmp = {0};
		if (j->type != MPSS_JSON_STRING)
			return jerr(c, m, f, "expected a base64 string");
		if (!b64_decode(&tmp, j->str, j->len)) {
			free(tmp.p);
			return jerr(c, m, f, "bad base64");
		}
		mpss__buf_varint(out, tmp.len);
		mpss__buf_put(out, tmp.p, tmp.len);
		free(tmp.p);
		return tmp.oom ? MPS_ERR_NOMEM : 0;
	}
	case FT_MESSAGE: {
		mpss_buf tmp = {0};
		int      rv = json_msg(c, f->msg, j, &tmp, depth + 1);
		if (rv == 0) {
			mpss__buf_varint(out, tmp.len);
			mpss__buf_put(out, tmp.p, tmp.len);
		}
		free(tmp.p);
		return rv;
	}
	case FT_GROUP: {
		int rv = json_msg(c, f->msg, j, out, depth + 1);
		mpss__buf_varint(out, ((uint64_t)f->number << 3) | WT_EGROUP);
		return rv;
	}
	}
	return jerr(c, m, f, "unsupported field type");
}

static void
tag(mpss_buf *b, const mpss_field *f, int wt)
{
	mpss__buf_varint(b, ((uint64_t)f->number << 3) | (unsigned)wt);
}

static int
json_map(jctx *c, const mpss_msg *m, const mpss_field *f, const mpss_json *j, mpss_buf *out,
         int depth)
{
	const mpss_field *kf = mpss__field_by_number(f->msg, 1);
	const mpss_field *vf = mpss__field_by_number(f->msg, 2);
	size_t            plen = strlen(c->path);
	if (j->type != MPSS_JSON_OBJECT)
		return jerr(c, m, f, "expected an object (map)");
	for (size_t i = 0; i < j->n; i++) {
		mpss_json key = {.type = MPSS_JSON_STRING, .str = j->keys[i], .len = strlen(j->keys[i])};
		mpss_buf  e = {0};
		int       rv;
		snprintf(c->path + plen, sizeof(c->path) - plen, "[\"%s\"]", j->keys[i]);
		tag(&e, kf, mpss__expected_wt(kf->type));
		rv = json_value(c, f->msg, kf, &key, &e, depth + 1);
		if (rv == 0 && j->items[i]->type != MPSS_JSON_NULL) {
			tag(&e, vf, mpss__expected_wt(vf->type));
			rv = json_value(c, f->msg, vf, j->items[i], &e, depth + 1);
		}
		if (rv == 0) {
			tag(out, f, WT_LEN);
			mpss__buf_varint(out, e.len);
			mpss__buf_put(out, e.p, e.len);
		}
		free(e.p);
		if (rv != 0)
			return rv;
	}
	c->path[plen] = 0;
	return 0;
}

static int
json_field(jctx *c, const mpss_msg *m, const mpss_field *f, const mpss_json *j, mpss_buf *out,
           int depth)
{
	size_t plen = strlen(c->path);
	int    rv = 0;
	if (f->label != LBL_REPEATED) {
		tag(out, f, mpss__expected_wt(f->type));
		return json_value(c, m, f, j, out, depth);
	}
	if (f->msg != NULL && f->msg->map_entry)
		return json_map(c, m, f, j, out, depth);
	if (j->type != MPSS_JSON_ARRAY)
		return jerr(c, m, f, "expected an array");
	if (f->packed) {
		mpss_buf tmp = {0};
		for (size_t i = 0; i < j->n && rv == 0; i++) {
			snprintf(c->path + plen, sizeof(c->path) - plen, "[%zu]", i);
			rv = json_value(c, m, f, j->items[i], &tmp, depth);
		}
		if (rv == 0 && j->n > 0) {
			tag(out, f, WT_LEN);
			mpss__buf_varint(out, tmp.len);
			mpss__buf_put(out, tmp.p, tmp.len);
		}
		free(tmp.p);
	} else {
		for (size_t i = 0; i < j->n && rv == 0; i++) {
			snprintf(c->path + plen, sizeof(c->path) - plen, "[%zu]", i);
			if (j->items[i]->type == MPSS_JSON_NULL) {
				rv = jerr(c, m, f, "null in an array");
				break;
			}
			tag(out, f, mpss__expected_wt(f->type));
			rv = json_value(c, m, f, j->items[i], out, depth);
		}
	}
	if (rv == 0)
		c->path[plen] = 0;
	return rv;
}

static int
json_msg(jctx *c, const mpss_msg *m, const mpss_json *j, mpss_buf *out, int depth)
{
	size_t plen = strlen(c->path);
	if (depth > MPSS_MAX_DEPTH)
		return jerr(c, m, NULL, "nested too deeply");
	if (j->type != MPSS_JSON_OBJECT)
		return jerr(c, m, NULL, "expected an object");
	for (size_t i = 0; i < j->n; i++) {
		const mpss_field *f = mpss__field_by_name(m, j->keys[i]);
		int               rv;
		snprintf(c->path + plen, sizeof(c->path) - plen, "%s%s", plen ? "." : "", j->keys[i]);
		if (f == NULL) {
			char what[300];
			snprintf(what, sizeof(what), "no field \"%s\" in %s", j->keys[i], m->full);
			return jerr(c, m, NULL, what);
		}
		if (j->items[i]->type == MPSS_JSON_NULL)
			continue;
		if ((rv = json_field(c, m, f, j->items[i], out, depth)) != 0)
			return rv;
	}
	c->path[plen] = 0;
	return 0;
}

int
mpss_from_json(const mpss_registry *reg, const char *type, const char *json, size_t json_len,
               uint8_t **out, size_t *len, mpss_error *err)
{
	const mpss_msg *m = mpss_registry_find(reg, type);
	mpss_json      *j;
	mpss_buf        b = {0};
	jctx            c = {.err = err};
	int             rv;
	if (m == NULL)
		return mpss__fail(err, MPS_ERR_NOT_FOUND, "unknown message type %s", type);
	if ((rv = mpss_json_parse(json, json_len, &j, err)) != 0)
		return rv;
	mpss__buf_put(&b, "", 0);
	rv = json_msg(&c, m, j, &b, 0);
	mpss_json_free(j);
	if (rv == 0 && b.oom)
		rv = mpss__fail(err, MPS_ERR_NOMEM, "out of memory");
	if (rv != 0) {
		free(b.p);
		return rv;
	}
	*out = b.p;
	*len = b.len;
	return 0;
}
