/*
 * json.h - a compact JSON parser (RFC 8259) producing a tree, part of
 * mpstore_schema; the CLI may use it too.
 *
 * mpss_json_parse parses `len` bytes of text (need not be NUL-terminated)
 * into *out, which the caller frees with mpss_json_free (accepts NULL).
 * Strings are unescaped to UTF-8 and NUL-terminated (str, len; may contain
 * NUL bytes from \u0000); numbers keep their literal text in str (for exact
 * 64-bit integers) and their value in num. Objects keep member order and
 * duplicate keys. Nesting deeper than 256 is refused.
 * Returns 0, or MPS_ERR_INVALID with "line L col C: problem" in err, or
 * MPS_ERR_NOMEM.
 */
#ifndef MPSS_JSON_H
#define MPSS_JSON_H

#include <stddef.h>

#include "schema.h"

typedef enum mpss_json_type {
	MPSS_JSON_NULL,
	MPSS_JSON_FALSE,
	MPSS_JSON_TRUE,
	MPSS_JSON_NUMBER,
	MPSS_JSON_STRING,
	MPSS_JSON_ARRAY,
	MPSS_JSON_OBJECT,
} mpss_json_type;

typedef struct mpss_json {
	mpss_json_type     type;
	char              *str;   /* STRING: value; NUMBER: literal text */
	size_t             len;   /* of str */
	double             num;   /* NUMBER */
	size_t             n;     /* ARRAY/OBJECT: number of items */
	struct mpss_json **items; /* ARRAY elements, OBJECT member values */
	char             **keys;  /* OBJECT member names (NUL-terminated) */
} mpss_json;

int  mpss_json_parse(const char *text, size_t len, mpss_json **out, mpss_error *err);
void mpss_json_free(mpss_json *j);

/* Member `key` of an object (the last one if repeated), or NULL. */
const mpss_json *mpss_json_get(const mpss_json *obj, const char *key);

#endif
