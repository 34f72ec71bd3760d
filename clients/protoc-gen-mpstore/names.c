/*
 * names.c - C identifiers for generated code, following protoc-c so that
 * our names line up with the *.pb-c.h types they use.
 */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gen.h"

static void *
xrealloc(void *p, size_t n)
{
	if ((p = realloc(p, n)) == NULL) {
		fprintf(stderr, "protoc-gen-mpstore: out of memory\n");
		exit(1);
	}
	return p;
}

void
mpsg_printf(mpsg_out *o, const char *fmt, ...)
{
	va_list ap;
	int     n;
	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (o->len + (size_t)n + 1 > o->cap) {
		o->cap = (o->len + (size_t)n + 1) * 2;
		o->p = xrealloc(o->p, o->cap);
	}
	va_start(ap, fmt);
	vsnprintf(o->p + o->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	o->len += (size_t)n;
}

char *
mpsg_strdup_printf(const char *fmt, ...)
{
	va_list ap;
	int     n;
	char   *s;
	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	s = xrealloc(NULL, (size_t)n + 1);
	va_start(ap, fmt);
	vsnprintf(s, (size_t)n + 1, fmt, ap);
	va_end(ap);
	return s;
}

/* protoc-c ToCamel: capitalise the first letter and each letter after '_' */
static void
to_camel(mpsg_out *o, const char *s, size_t n)
{
	bool up = true;
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '_') {
			up = true;
			continue;
		}
		mpsg_printf(o, "%c", up ? toupper((unsigned char)s[i]) : s[i]);
		up = false;
	}
}

/* protoc-c CamelToLower: '_' before an upper letter that follows a lower one */
static void
camel_to_lower(mpsg_out *o, const char *s, size_t n)
{
	bool was_lower = false;
	for (size_t i = 0; i < n; i++) {
		bool is_upper = isupper((unsigned char)s[i]);
		if (is_upper && was_lower)
			mpsg_printf(o, "_");
		mpsg_printf(o, "%c", tolower((unsigned char)s[i]));
		was_lower = islower((unsigned char)s[i]) != 0;
	}
}

static char *
convert(const char *full, void (*f)(mpsg_out *, const char *, size_t))
{
	mpsg_out    o = {0};
	const char *s = full[0] == '.' ? full + 1 : full;
	mpsg_printf(&o, "%s", "");
	while (*s) {
		const char *dot = strchr(s, '.');
		size_t      n = dot ? (size_t)(dot - s) : strlen(s);
		f(&o, s, n);
		s += n;
		if (*s == '.') {
			mpsg_printf(&o, "__");
			s++;
		}
	}
	return o.p;
}

char *mpsg_c_type(const char *full) { return convert(full, to_camel); }
char *mpsg_c_lower(const char *full) { return convert(full, camel_to_lower); }

char *
mpsg_file_base(const char *proto)
{
	size_t n = strlen(proto);
	if (n > 6 && strcmp(proto + n - 6, ".proto") == 0)
		n -= 6;
	return mpsg_strdup_printf("%.*s", (int)n, proto);
}

char *
mpsg_ident(const char *s, bool upper)
{
	char *r = mpsg_strdup_printf("%s", s);
	for (char *p = r; *p; p++) {
		if (!isalnum((unsigned char)*p))
			*p = '_';
		else
			*p = (char)(upper ? toupper((unsigned char)*p) : tolower((unsigned char)*p));
	}
	return r;
}

const char *
mpsg_in_type(const mpsg_cont *k)
{
	static char buf[300];
	switch (k->c->elem_type) {
	case MPSG_E_INT64: return "int64_t ";
	case MPSG_E_DOUBLE: return "double ";
	case MPSG_E_BOOL: return "int ";
	case MPSG_E_STRING: return "const char *";
	case MPSG_E_BYTES: return "ProtobufCBinaryData ";
	case MPSG_E_MESSAGE:
		snprintf(buf, sizeof(buf), "const %s *", k->msg_type);
		return buf;
	default: return "const mps_value *";
	}
}

const char *
mpsg_out_type(const mpsg_cont *k)
{
	static char buf[320];
	snprintf(buf, sizeof(buf), "%s*", mpsg_elem_c(k));
	return buf;
}

const char *
mpsg_elem_c(const mpsg_cont *k)
{
	static char buf[300];
	switch (k->c->elem_type) {
	case MPSG_E_INT64: return "int64_t ";
	case MPSG_E_DOUBLE: return "double ";
	case MPSG_E_BOOL: return "int ";
	case MPSG_E_STRING: return "char *";
	case MPSG_E_BYTES: return "ProtobufCBinaryData ";
	case MPSG_E_MESSAGE:
		snprintf(buf, sizeof(buf), "%s *", k->msg_type);
		return buf;
	default: return "mps_value ";
	}
}

const char *mpsg_key_in(const mpsg_cont *k) { return k->c->key_type == 1 ? "int64_t " : "const char *"; }
const char *mpsg_key_c(const mpsg_cont *k) { return k->c->key_type == 1 ? "int64_t " : "char *"; }
