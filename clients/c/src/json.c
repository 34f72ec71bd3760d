/* json.c - one value to and from JSON text (the CLI's format). */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "guard.h"
#include "mps_int.h"

typedef struct jbuf {
	char  *p;
	size_t len, cap;
	int    oom;
} jbuf;

static void
jb_put(jbuf *b, const char *s, size_t n)
{
	if (b->oom) {
		return;
	}
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap * 2 : 64;
		while (cap < b->len + n + 1) {
			cap *= 2;
		}
		char *np = realloc(b->p, cap);
		if (np == NULL) {
			b->oom = 1;
			return;
		}
		b->p   = np;
		b->cap = cap;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

static void
jb_str(jbuf *b, const char *s, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	jb_put(b, "\"", 1);
	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char) s[i];
		char          esc[7];
		switch (ch) {
		case '"':
			jb_put(b, "\\\"", 2);
			break;
		case '\\':
			jb_put(b, "\\\\", 2);
			break;
		case '\n':
			jb_put(b, "\\n", 2);
			break;
		case '\r':
			jb_put(b, "\\r", 2);
			break;
		case '\t':
			jb_put(b, "\\t", 2);
			break;
		default:
			if (ch < 0x20) {
				esc[0] = '\\';
				esc[1] = 'u';
				esc[2] = '0';
				esc[3] = '0';
				esc[4] = hex[ch >> 4];
				esc[5] = hex[ch & 15];
				jb_put(b, esc, 6);
			} else {
				jb_put(b, (const char *) &s[i], 1);
			}
		}
	}
	jb_put(b, "\"", 1);
}

static void
jb_base64(jbuf *b, const unsigned char *p, size_t n)
{
	static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	for (size_t i = 0; i < n; i += 3) {
		unsigned v = (unsigned) p[i] << 16;
		if (i + 1 < n) {
			v |= (unsigned) p[i + 1] << 8;
		}
		if (i + 2 < n) {
			v |= p[i + 2];
		}
		char o[4] = {tab[(v >> 18) & 63], tab[(v >> 12) & 63],
		    i + 1 < n ? tab[(v >> 6) & 63] : '=', i + 2 < n ? tab[v & 63] : '='};
		jb_put(b, o, 4);
	}
}

/* d as Python's repr (and json.dumps) print it: the shortest digits that
 * read back equal, positional with ".0" when the exponent is in [-4, 16)
 * (1e3 -> 1000.0, 0.0001), else scientific (1e+16, 1.5e-05). */
static void
fmt_double(char *out, size_t len, double d)
{
	char t[64];
	int  prec;
	for (prec = 1; prec < 17; prec++) {
		snprintf(t, sizeof(t), "%.*e", prec - 1, d);
		if (strtod(t, NULL) == d) {
			break;
		}
	}
	snprintf(t, sizeof(t), "%.*e", prec - 1, d);
	int exp = atoi(strchr(t, 'e') + 1);
	if (exp < -4 || exp >= 16) {
		snprintf(out, len, "%s", t);
		return;
	}
	snprintf(out, len, "%.*f", prec - 1 - exp > 0 ? prec - 1 - exp : 0, d);
	if (strchr(out, '.') == NULL) {
		strncat(out, ".0", len - strlen(out) - 1);
	}
}

char *
mps_value_to_json(const mps_value *v)
{
	jbuf b = {0};
	char num[64];
	if (v == NULL) {
		mps__null_arg(__func__, "v");
		return NULL;
	}
	switch (v->type) {
	case MPS_NULL:
		jb_put(&b, "null", 4);
		break;
	case MPS_INT:
		snprintf(num, sizeof(num), "%lld", (long long) v->u.i);
		jb_put(&b, num, strlen(num));
		break;
	case MPS_DOUBLE:
		if (isnan(v->u.d) || isinf(v->u.d)) {
			/* JSON has no NaN/Infinity; print them as Python's json does */
			const char *s = isnan(v->u.d) ? "NaN" : v->u.d > 0 ? "Infinity" : "-Infinity";
			jb_put(&b, s, strlen(s));
			break;
		}
		fmt_double(num, sizeof(num), v->u.d);
		jb_put(&b, num, strlen(num));
		break;
	case MPS_BOOL:
		jb_put(&b, v->u.b ? "true" : "false", v->u.b ? 4 : 5);
		break;
	case MPS_STRING:
		jb_str(&b, v->u.s.ptr, v->u.s.len);
		break;
	case MPS_BYTES:
	case MPS_MESSAGE:
		jb_put(&b, v->type == MPS_BYTES ? "{\"$bytes\":\"" : "{\"$message\":\"",
		    v->type == MPS_BYTES ? 11 : 13);
		jb_base64(&b, (const unsigned char *) v->u.s.ptr, v->u.s.len);
		jb_put(&b, "\"}", 2);
		break;
	default:
		jb_put(&b, "null", 4);
		break;
	}
	if (b.oom) {
		free(b.p);
		return NULL;
	}
	return b.p;
}

/* ---- parsing ---- */

static const char *
skip_ws(const char *s)
{
	while (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r') {
		s++;
	}
	return s;
}

static int
hexval(char c)
{
	if (c >= '0' && c <= '9') {
		return c - '0';
	}
	if (c >= 'a' && c <= 'f') {
		return c - 'a' + 10;
	}
	if (c >= 'A' && c <= 'F') {
		return c - 'A' + 10;
	}
	return -1;
}

static void
put_utf8(jbuf *b, unsigned cp)
{
	char o[4];
	if (cp < 0x80) {
		o[0] = (char) cp;
		jb_put(b, o, 1);
	} else if (cp < 0x800) {
		o[0] = (char) (0xC0 | (cp >> 6));
		o[1] = (char) (0x80 | (cp & 63));
		jb_put(b, o, 2);
	} else if (cp < 0x10000) {
		o[0] = (char) (0xE0 | (cp >> 12));
		o[1] = (char) (0x80 | ((cp >> 6) & 63));
		o[2] = (char) (0x80 | (cp & 63));
		jb_put(b, o, 3);
	} else {
		o[0] = (char) (0xF0 | (cp >> 18));
		o[1] = (char) (0x80 | ((cp >> 12) & 63));
		o[2] = (char) (0x80 | ((cp >> 6) & 63));
		o[3] = (char) (0x80 | (cp & 63));
		jb_put(b, o, 4);
	}
}

static int
read_u4(const char *s, unsigned *out)
{
	unsigned v = 0;
	for (int i = 0; i < 4; i++) {
		int h = hexval(s[i]);
		if (h < 0) {
			return -1;
		}
		v = v * 16 + (unsigned) h;
	}
	*out = v;
	return 0;
}

/* Parse a JSON string at s (pointing at '"'); *end after the closing quote. */
static int
parse_string(const char *s, const char **end, jbuf *b)
{
	s++;
	jb_put(b, "", 0);
	while (*s != '"') {
		if (*s == '\0' || (unsigned char) *s < 0x20) {
			return -1;
		}
		if (*s != '\\') {
			jb_put(b, s, 1);
			s++;
			continue;
		}
		s++;
		switch (*s) {
		case '"':
		case '\\':
		case '/':
			jb_put(b, s, 1);
			break;
		case 'b':
			jb_put(b, "\b", 1);
			break;
		case 'f':
			jb_put(b, "\f", 1);
			break;
		case 'n':
			jb_put(b, "\n", 1);
			break;
		case 'r':
			jb_put(b, "\r", 1);
			break;
		case 't':
			jb_put(b, "\t", 1);
			break;
		case 'u': {
			unsigned cp;
			if (read_u4(s + 1, &cp) != 0) {
				return -1;
			}
			s += 4;
			if (cp >= 0xD800 && cp < 0xDC00 && s[1] == '\\' && s[2] == 'u') {
				unsigned lo;
				if (read_u4(s + 3, &lo) == 0 && lo >= 0xDC00 && lo < 0xE000) {
					cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
					s += 6;
				}
			}
			put_utf8(b, cp);
			break;
		}
		default:
			return -1;
		}
		s++;
	}
	*end = s + 1;
	return b->oom ? -1 : 0;
}

static int
b64val(char c)
{
	if (c >= 'A' && c <= 'Z') {
		return c - 'A';
	}
	if (c >= 'a' && c <= 'z') {
		return c - 'a' + 26;
	}
	if (c >= '0' && c <= '9') {
		return c - '0' + 52;
	}
	if (c == '+' || c == '-') {
		return 62;
	}
	if (c == '/' || c == '_') {
		return 63;
	}
	return -1;
}

static int
decode_base64(const char *s, size_t n, jbuf *out)
{
	unsigned acc  = 0;
	int      bits = 0;
	jb_put(out, "", 0);
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '=') {
			break;
		}
		int v = b64val(s[i]);
		if (v < 0) {
			return -1;
		}
		acc = (acc << 6) | (unsigned) v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			char ch = (char) ((acc >> bits) & 0xFF);
			jb_put(out, &ch, 1);
		}
	}
	return out->oom ? -1 : 0;
}

mps_err
mps_value_from_json(const char *text, mps_value *out)
{
	MPS__NEED(out);
	*out = mps_null();
	MPS__NEED(text);
	const char *s = skip_ws(text);
	const char *end;
	*out = mps_null();

	if (strncmp(s, "null", 4) == 0) {
		end = s + 4;
	} else if (strncmp(s, "true", 4) == 0) {
		*out = mps_bool(1);
		end  = s + 4;
	} else if (strncmp(s, "false", 5) == 0) {
		*out = mps_bool(0);
		end  = s + 5;
	} else if (*s == '"') {
		jbuf b = {0};
		if (parse_string(s, &end, &b) != 0) {
			free(b.p);
			return MPS_ERR_INVALID;
		}
		*out = mps_strn(b.p, b.len);
	} else if (*s == '{') {
		/* {"$bytes":"b64"} or {"$message":"b64"} */
		jbuf key = {0}, val = {0}, raw = {0};
		const char *p = skip_ws(s + 1);
		int ok = *p == '"' && parse_string(p, &p, &key) == 0;
		p      = skip_ws(p);
		ok     = ok && *p == ':';
		if (ok) {
			p  = skip_ws(p + 1);
			ok = *p == '"' && parse_string(p, &p, &val) == 0;
		}
		p  = skip_ws(p);
		ok = ok && *p == '}';
		int isbytes = ok && strcmp(key.p, "$bytes") == 0;
		int ismsg   = ok && strcmp(key.p, "$message") == 0;
		ok          = (isbytes || ismsg) && decode_base64(val.p, val.len, &raw) == 0;
		free(key.p);
		free(val.p);
		if (!ok) {
			free(raw.p);
			return MPS_ERR_INVALID;
		}
		*out = isbytes ? mps_bytes(raw.p, raw.len) : mps_message(raw.p, raw.len);
		end  = p + 1;
	} else if (*s == '-' || (*s >= '0' && *s <= '9') || strncmp(s, "NaN", 3) == 0 ||
	    strncmp(s, "Infinity", 8) == 0) {
		/* JSON number grammar, then strtoll / strtod */
		const char *p = s;
		int         isfloat = 0;
		if (strncmp(s, "NaN", 3) == 0) {
			*out = mps_double(NAN);
			end  = s + 3;
			goto tail;
		}
		if (*p == '-') {
			p++;
		}
		if (strncmp(p, "Infinity", 8) == 0) {
			*out = mps_double(*s == '-' ? -INFINITY : INFINITY);
			end  = p + 8;
			goto tail;
		}
		if (*p == '0') {
			p++;
		} else if (*p >= '1' && *p <= '9') {
			while (*p >= '0' && *p <= '9') {
				p++;
			}
		} else {
			return MPS_ERR_INVALID;
		}
		if (*p == '.') {
			isfloat = 1;
			p++;
			if (!(*p >= '0' && *p <= '9')) {
				return MPS_ERR_INVALID;
			}
			while (*p >= '0' && *p <= '9') {
				p++;
			}
		}
		if (*p == 'e' || *p == 'E') {
			isfloat = 1;
			p++;
			if (*p == '+' || *p == '-') {
				p++;
			}
			if (!(*p >= '0' && *p <= '9')) {
				return MPS_ERR_INVALID;
			}
			while (*p >= '0' && *p <= '9') {
				p++;
			}
		}
		end = p;
		if (!isfloat) {
			errno          = 0;
			long long ll   = strtoll(s, NULL, 10);
			if (errno == ERANGE) {
				isfloat = 1;
			} else {
				*out = mps_int(ll);
			}
		}
		if (isfloat) {
			*out = mps_double(strtod(s, NULL));
		}
	} else {
		return MPS_ERR_INVALID;
	}
tail:
	end = skip_ws(end);
	if (*end != '\0') {
		mps_value_free(out);
		return MPS_ERR_INVALID;
	}
	return MPS_OK;
}
