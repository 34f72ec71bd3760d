/*
 * util.c - small helpers of mpstore_schema: errors, wire varints, UTF-8,
 * extension options kept by protobuf-c as unknown fields, a growable buffer.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "schema_int.h"

int
mpss__fail(mpss_error *err, int code, const char *fmt, ...)
{
	if (err != NULL) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
		va_end(ap);
	}
	return code;
}

size_t
mpss__varint(const uint8_t *p, size_t len, uint64_t *v)
{
	uint64_t r = 0;
	for (size_t i = 0; i < len && i < 10; i++) {
		r |= (uint64_t)(p[i] & 0x7f) << (7 * i);
		if ((p[i] & 0x80) == 0) {
			*v = r;
			return i + 1;
		}
	}
	return 0;
}

const char *
mpss__wt_name(int wt)
{
	static const char *n[] = {"varint", "fixed64", "length-delimited",
	                          "start-group", "end-group", "fixed32"};
	return wt >= 0 && wt <= 5 ? n[wt] : "invalid wire type";
}

int
mpss__expected_wt(int type)
{
	switch (type) {
	case FT_DOUBLE: case FT_FIXED64: case FT_SFIXED64: return WT_I64;
	case FT_FLOAT: case FT_FIXED32: case FT_SFIXED32: return WT_I32;
	case FT_STRING: case FT_BYTES: case FT_MESSAGE: return WT_LEN;
	case FT_GROUP: return WT_SGROUP;
	default: return WT_VARINT;
	}
}

bool
mpss__utf8_ok(const uint8_t *s, size_t len)
{
	size_t i = 0;
	while (i < len) {
		uint8_t c = s[i];
		size_t  n;
		uint32_t cp;
		if (c < 0x80) { i++; continue; }
		if ((c & 0xe0) == 0xc0) { n = 1; cp = c & 0x1f; }
		else if ((c & 0xf0) == 0xe0) { n = 2; cp = c & 0x0f; }
		else if ((c & 0xf8) == 0xf0) { n = 3; cp = c & 0x07; }
		else return false;
		if (len - i - 1 < n) return false;
		for (size_t k = 1; k <= n; k++) {
			if ((s[i + k] & 0xc0) != 0x80) return false;
			cp = (cp << 6) | (s[i + k] & 0x3f);
		}
		/* overlong forms, surrogates, beyond U+10FFFF */
		if ((n == 1 && cp < 0x80) || (n == 2 && cp < 0x800) ||
		    (n == 3 && cp < 0x10000) || cp > 0x10ffff ||
		    (cp >= 0xd800 && cp <= 0xdfff))
			return false;
		i += n + 1;
	}
	return true;
}

static const ProtobufCMessageUnknownField *
opt_find(const ProtobufCMessage *opts, uint32_t tag)
{
	const ProtobufCMessageUnknownField *found = NULL;
	if (opts == NULL)
		return NULL;
	/* last occurrence wins, as for any singular field */
	for (unsigned i = 0; i < opts->n_unknown_fields; i++)
		if (opts->unknown_fields[i].tag == tag)
			found = &opts->unknown_fields[i];
	return found;
}

bool
mpss__opt_varint(const ProtobufCMessage *opts, uint32_t tag, uint64_t *v)
{
	const ProtobufCMessageUnknownField *u = opt_find(opts, tag);
	if (u == NULL || u->wire_type != PROTOBUF_C_WIRE_TYPE_VARINT)
		return false;
	return mpss__varint(u->data, u->len, v) != 0;
}

bool
mpss__opt_string(const ProtobufCMessage *opts, uint32_t tag, const uint8_t **s, size_t *len)
{
	const ProtobufCMessageUnknownField *u = opt_find(opts, tag);
	uint64_t n;
	size_t   k;
	if (u == NULL || u->wire_type != PROTOBUF_C_WIRE_TYPE_LENGTH_PREFIXED)
		return false;
	/* protobuf-c keeps the length prefix in the unknown field's data */
	k = mpss__varint(u->data, u->len, &n);
	if (k == 0 || n != u->len - k)
		return false;
	*s = u->data + k;
	*len = (size_t)n;
	return true;
}

void
mpss__buf_put(mpss_buf *b, const void *d, size_t n)
{
	if (b->oom)
		return;
	if (b->len + n + 1 > b->cap) {
		size_t   cap = b->cap ? b->cap : 64;
		uint8_t *p;
		while (cap < b->len + n + 1)
			cap *= 2;
		if ((p = realloc(b->p, cap)) == NULL) {
			b->oom = true;
			return;
		}
		b->p = p;
		b->cap = cap;
	}
	if (n > 0)
		memcpy(b->p + b->len, d, n);
	b->len += n;
	b->p[b->len] = 0;
}

void
mpss__buf_puts(mpss_buf *b, const char *s)
{
	mpss__buf_put(b, s, strlen(s));
}

void
mpss__buf_printf(mpss_buf *b, const char *fmt, ...)
{
	char    tmp[128];
	va_list ap;
	int     n;
	va_start(ap, fmt);
	n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	if (n >= 0 && (size_t)n < sizeof(tmp))
		mpss__buf_put(b, tmp, (size_t)n);
	else
		b->oom = true;
}

void
mpss__buf_varint(mpss_buf *b, uint64_t v)
{
	uint8_t t[10];
	size_t  n = 0;
	do {
		t[n] = (uint8_t)(v & 0x7f);
		v >>= 7;
		if (v)
			t[n] |= 0x80;
		n++;
	} while (v);
	mpss__buf_put(b, t, n);
}
