/*
 * json.c - a compact recursive-descent JSON parser.
 */
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "schema_int.h"

typedef struct jp {
	const char *s, *end, *start;
	mpss_error *err;
	int         rv;
} jp;

static void *
jfail(jp *p, const char *what)
{
	if (p->rv == 0) {
		int line = 1, col = 1;
		for (const char *c = p->start; c < p->s && c < p->end; c++, col++)
			if (*c == '\n') {
				line++;
				col = 0;
			}
		p->rv = mpss__fail(p->err, MPS_ERR_INVALID, "JSON line %d col %d: %s", line, col, what);
	}
	return NULL;
}

static void *
joom(jp *p)
{
	if (p->rv == 0)
		p->rv = mpss__fail(p->err, MPS_ERR_NOMEM, "out of memory");
	return NULL;
}

static void
ws(jp *p)
{
	while (p->s < p->end && (*p->s == ' ' || *p->s == '\t' || *p->s == '\n' || *p->s == '\r'))
		p->s++;
}

static int
hex4(const char *s)
{
	int v = 0;
	for (int i = 0; i < 4; i++) {
		char c = s[i];
		v <<= 4;
		if (c >= '0' && c <= '9') v |= c - '0';
		else if (c >= 'a' && c <= 'f') v |= c - 'a' + 10;
		else if (c >= 'A' && c <= 'F') v |= c - 'A' + 10;
		else return -1;
	}
	return v;
}

static void
put_utf8(mpss_buf *b, unsigned cp)
{
	uint8_t t[4];
	size_t  n;
	if (cp < 0x80) { t[0] = (uint8_t)cp; n = 1; }
	else if (cp < 0x800) { t[0] = (uint8_t)(0xc0 | cp >> 6); t[1] = (uint8_t)(0x80 | (cp & 0x3f)); n = 2; }
	else if (cp < 0x10000) { t[0] = (uint8_t)(0xe0 | cp >> 12); t[1] = (uint8_t)(0x80 | ((cp >> 6) & 0x3f)); t[2] = (uint8_t)(0x80 | (cp & 0x3f)); n = 3; }
	else { t[0] = (uint8_t)(0xf0 | cp >> 18); t[1] = (uint8_t)(0x80 | ((cp >> 12) & 0x3f)); t[2] = (uint8_t)(0x80 | ((cp >> 6) & 0x3f)); t[3] = (uint8_t)(0x80 | (cp & 0x3f)); n = 4; }
	mpss__buf_put(b, t, n);
}

/* at the opening quote; returns malloc'ed string */
static char *
jstring(jp *p, size_t *len)
{
	mpss_buf b = {0};
	p->s++;
	mpss__buf_put(&b, "", 0);
	for (;;) {
		const char *run = p->s;
		while (p->s < p->end && *p->s != '"' && *p->s != '\\' && (unsigned char)*p->s >= 0x20)
			p->s++;
		mpss__buf_put(&b, run, (size_t)(p->s - run));
		if (p->s >= p->end) {
			free(b.p);
			return jfail(p, "unterminated string");
		}
		if (*p->s == '"') {
			p->s++;
			break;
		}
		if (*p->s != '\\') {
			free(b.p);
			return jfail(p, "control character in string");
		}
		if (p->end - p->s < 2) {
			free(b.p);
			return jfail(p, "unterminated string");
		}
		char c = p->s[1];
		p->s += 2;
		switch (c) {
		case '"': case '\\': case '/': mpss__buf_put(&b, &c, 1); break;
		case 'b': mpss__buf_put(&b, "\b", 1); break;
		case 'f': mpss__buf_put(&b, "\f", 1); break;
		case 'n': mpss__buf_put(&b, "\n", 1); break;
		case 'r': mpss__buf_put(&b, "\r", 1); break;
		case 't': mpss__buf_put(&b, "\t", 1); break;
		case 'u': {
			int cp = p->end - p->s >= 4 ? hex4(p->s) : -1;
			if (cp < 0) {
				free(b.p);
				return jfail(p, "bad \\u escape");
			}
			p->s += 4;
			if (cp >= 0xd800 && cp <= 0xdbff) {
				int lo = p->end - p->s >= 6 && p->s[0] == '\\' && p->s[1] == 'u'
				             ? hex4(p->s + 2) : -1;
				if (lo < 0xdc00 || lo > 0xdfff) {
					free(b.p);
					return jfail(p, "unpaired surrogate in \\u escape");
				}
				p->s += 6;
				cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
			} else if (cp >= 0xdc00 && cp <= 0xdfff) {
				free(b.p);
				return jfail(p, "unpaired surrogate in \\u escape");
			}
			put_utf8(&b, (unsigned)cp);
			break;
		}
		default:
			free(b.p);
			return jfail(p, "bad escape in string");
		}
	}
	if (b.oom) {
		free(b.p);
		return joom(p);
	}
	if (!mpss__utf8_ok(b.p, b.len)) {
		free(b.p);
		return jfail(p, "string is not valid UTF-8");
	}
	*len = b.len;
	return (char *)b.p;
}

static mpss_json *jvalue(jp *p, int depth);

static bool
jpush(jp *p, mpss_json *j, mpss_json *item, char *key, size_t *cap)
{
	if (j->n == *cap) {
		size_t      c = *cap ? *cap * 2 : 4;
		mpss_json **it = realloc(j->items, c * sizeof(*it));
		if (it == NULL)
			return joom(p), false;
		j->items = it;
		if (j->type == MPSS_JSON_OBJECT) {
			char **k = realloc(j->keys, c * sizeof(*k));
			if (k == NULL)
				return joom(p), false;
			j->keys = k;
		}
		*cap = c;
	}
	j->items[j->n] = item;
	if (j->type == MPSS_JSON_OBJECT)
		j->keys[j->n] = key;
	j->n++;
	return true;
}

static mpss_json *
jvalue(jp *p, int depth)
{
	mpss_json *j;
	size_t     cap = 0;
	ws(p);
	if (p->s >= p->end)
		return jfail(p, "unexpected end of text");
	if (depth > 256)
		return jfail(p, "nested too deeply");
	if ((j = calloc(1, sizeof(*j))) == NULL)
		return joom(p);
	switch (*p->s) {
	case '{':
	case '[': {
		char close = *p->s == '{' ? '}' : ']';
		j->type = close == '}' ? MPSS_JSON_OBJECT : MPSS_JSON_ARRAY;
		p->s++;
		ws(p);
		if (p->s < p->end && *p->s == close) {
			p->s++;
			return j;
		}
		for (;;) {
			char      *key = NULL;
			size_t     klen;
			mpss_json *item;
			ws(p);
			if (j->type == MPSS_JSON_OBJECT) {
				if (p->s >= p->end || *p->s != '"') {
					jfail(p, "expected a member name");
					goto bad;
				}
				if ((key = jstring(p, &klen)) == NULL)
					goto bad;
				ws(p);
				if (p->s >= p->end || *p->s != ':') {
					free(key);
					jfail(p, "expected ':'");
					goto bad;
				}
				p->s++;
			}
			if ((item = jvalue(p, depth + 1)) == NULL) {
				free(key);
				goto bad;
			}
			if (!jpush(p, j, item, key, &cap)) {
				free(key);
				mpss_json_free(item);
				goto bad;
			}
			ws(p);
			if (p->s < p->end && *p->s == ',') {
				p->s++;
				continue;
			}
			if (p->s < p->end && *p->s == close) {
				p->s++;
				return j;
			}
			jfail(p, close == '}' ? "expected ',' or '}'" : "expected ',' or ']'");
			goto bad;
		}
	}
	case '"':
		j->type = MPSS_JSON_STRING;
		if ((j->str = jstring(p, &j->len)) == NULL)
			goto bad;
		return j;
	case 't': case 'f': case 'n': {
		static const struct { const char *w; mpss_json_type t; } lit[] = {
		    {"true", MPSS_JSON_TRUE}, {"false", MPSS_JSON_FALSE}, {"null", MPSS_JSON_NULL}};
		for (int i = 0; i < 3; i++) {
			size_t n = strlen(lit[i].w);
			if ((size_t)(p->end - p->s) >= n && memcmp(p->s, lit[i].w, n) == 0) {
				p->s += n;
				j->type = lit[i].t;
				return j;
			}
		}
		jfail(p, "unknown literal");
		goto bad;
	}
	default: {
		const char *b = p->s;
		if (p->s < p->end && *p->s == '-')
			p->s++;
		if (p->s >= p->end || *p->s < '0' || *p->s > '9') {
			jfail(p, "unexpected character");
			goto bad;
		}
		if (*p->s == '0')
			p->s++;
		else
			while (p->s < p->end && *p->s >= '0' && *p->s <= '9')
				p->s++;
		if (p->s < p->end && *p->s == '.') {
			p->s++;
			if (p->s >= p->end || *p->s < '0' || *p->s > '9') {
				jfail(p, "bad number");
				goto bad;
			}
			while (p->s < p->end && *p->s >= '0' && *p->s <= '9')
				p->s++;
		}
		if (p->s < p->end && (*p->s == 'e' || *p->s == 'E')) {
			p->s++;
			if (p->s < p->end && (*p->s == '+' || *p->s == '-'))
				p->s++;
			if (p->s >= p->end || *p->s < '0' || *p->s > '9') {
				jfail(p, "bad number");
				goto bad;
			}
			while (p->s < p->end && *p->s >= '0' && *p->s <= '9')
				p->s++;
		}
		j->type = MPSS_JSON_NUMBER;
		j->len = (size_t)(p->s - b);
		if ((j->str = malloc(j->len + 1)) == NULL) {
			joom(p);
			goto bad;
		}
		memcpy(j->str, b, j->len);
		j->str[j->len] = 0;
		j->num = strtod(j->str, NULL);
		return j;
	}
	}
bad:
	mpss_json_free(j);
	return NULL;
}

int
mpss_json_parse(const char *text, size_t len, mpss_json **out, mpss_error *err)
{
	jp         p = {.s = text, .end = text + len, .start = text, .err = err};
	mpss_json *j = jvalue(&p, 0);
	if (j != NULL) {
		ws(&p);
		if (p.s != p.end) {
			jfail(&p, "text after the JSON value");
			mpss_json_free(j);
			j = NULL;
		}
	}
	*out = j;
	return j ? 0 : p.rv;
}

void
mpss_json_free(mpss_json *j)
{
	if (j == NULL)
		return;
	for (size_t i = 0; i < j->n; i++) {
		mpss_json_free(j->items[i]);
		if (j->keys)
			free(j->keys[i]);
	}
	free(j->items);
	free(j->keys);
	free(j->str);
	free(j);
}

const mpss_json *
mpss_json_get(const mpss_json *obj, const char *key)
{
	const mpss_json *r = NULL;
	if (obj == NULL || obj->type != MPSS_JSON_OBJECT)
		return NULL;
	for (size_t i = 0; i < obj->n; i++)
		if (strcmp(obj->keys[i], key) == 0)
			r = obj->items[i];
	return r;
}
