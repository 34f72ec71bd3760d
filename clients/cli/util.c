/* util.c - errors, values and JSON output of the CLI. */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cli.h"

static int
exit_status(mps_err err)
{
	if (err == MPS_ERR_TIMEOUT) {
		return CLI_EXIT_TIMEOUT;
	}
	return CLI_EXIT_ERROR;
}

int
cli_fail(mps_err err, const char *fmt, ...)
{
	const char *name = mps_err_name(err);
	if (strncmp(name, "MPS_", 4) == 0) {
		name += 4;
	}
	fprintf(stderr, "mpstore: %s: ", name);
	va_list ap;
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return err == MPS_ERR_INVALID ? CLI_EXIT_USAGE : exit_status(err);
}

int
cli_fail_result(mps_err err, const char *msg)
{
	int rv = cli_fail(err, "%s", msg != NULL && msg[0] ? msg : mps_strerror(err));
	/* an ERR_INVALID from the daemon is not a usage error of the CLI */
	return rv == CLI_EXIT_USAGE ? CLI_EXIT_ERROR : rv;
}

int
cli_fail_lib(mps_err err)
{
	return cli_fail_result(err, mps_last_error());
}

/* A hint for a word that is almost a JSON literal (True, NULL, None). */
static const char *
literal_hint(const char *arg)
{
	static const char *const lits[][2] = {{"true", "true"}, {"false", "false"}, {"null", "null"},
		{"none", "null"}, {"nil", "null"}};
	for (size_t i = 0; i < sizeof(lits) / sizeof(lits[0]); i++) {
		if (strcasecmp(arg, lits[i][0]) == 0 && strcmp(arg, lits[i][1]) != 0) {
			return lits[i][1];
		}
	}
	return NULL;
}

/* An integer literal (JSON grammar, no fraction or exponent)? */
static int
is_int_literal(const char *s)
{
	s += *s == '-';
	if (!isdigit((unsigned char) *s)) {
		return 0;
	}
	while (isdigit((unsigned char) *s)) {
		s++;
	}
	return *s == '\0';
}

int
cli_parse_value(const char *arg, mps_value *out)
{
	const char *s = arg;
	while (isspace((unsigned char) *s)) {
		s++;
	}
	*out = mps_null();
	if (mps_value_from_json(arg, out) == MPS_OK) {
		if (out->type == MPS_DOUBLE && is_int_literal(s)) {
			mps_value_free(out);
			return cli_fail(MPS_ERR_INVALID,
			    "%s is beyond int64 (the store's integers are 64-bit signed, "
			    "-9223372036854775808 to 9223372036854775807): store it as a string "
			    "('\"%s\"') or as a double (%s.0)",
			    s, s, s);
		}
		return 0;
	}
	const char *lit = literal_hint(s);
	if (lit != NULL) {
		return cli_fail(MPS_ERR_INVALID,
		    "%s is not JSON: did you mean %s? (to store the word as a string, quote it: "
		    "'\"%s\"')",
		    s, lit, s);
	}
	if (*s == '{' || *s == '[') {
		if (strstr(s, "\"$bytes\"") != NULL || strstr(s, "\"$message\"") != NULL) {
			return cli_fail(MPS_ERR_INVALID,
			    "bad %s: {\"$bytes\": \"<base64>\"} (or \"$message\") wants one base64 string", s);
		}
		mps_value str = mps_str(s);
		char     *q   = mps_value_to_json(&str);
		int       rv  = cli_fail(MPS_ERR_INVALID,
		    "a JSON %s is not one value: the store's values are scalars (int64, double, "
		    "bool, string, bytes) or protobuf messages. Use %s, a container typed with a "
		    "message type, or store the text as a JSON string: '%s'",
		    *s == '{' ? "object" : "array",
		    *s == '{' ? "a dict (create NAME dict; set NAME KEY VALUE)"
		              : "a list (append NAME V1 V2 ...)",
		    q != NULL ? q : "...");
		free(q);
		return rv;
	}
	if (*s == '"') {
		return cli_fail(MPS_ERR_INVALID,
		    "%s is not a valid JSON string (unterminated, or a bad escape)", s);
	}
	/* numbers as C or Python write them but JSON does not: +5, .5, 5., 0x1f */
	char  *end;
	double d = strtod(s, &end);
	if (end != s && *end == '\0') {
		mps_value v   = mps_double(d);
		char     *txt = NULL;
		if (d == (double) (int64_t) d && fabs(d) < 9.2e18 && strpbrk(s, ".eEnNiI") == NULL) {
			v = mps_int((int64_t) d);
		}
		txt    = mps_value_to_json(&v);
		int rv = cli_fail(MPS_ERR_INVALID,
		    "%s is not a JSON number: did you mean %s? (to store it as a string, quote it: "
		    "'\"%s\"')",
		    s, txt != NULL ? txt : "?", s);
		free(txt);
		return rv;
	}
	mps_value str = mps_str(arg);
	if (mps_value_dup(out, &str) != MPS_OK) {
		return cli_fail(MPS_ERR_NOMEM, "out of memory");
	}
	return 0;
}

int
cli_parse_int(const char *arg, int64_t *out)
{
	char *end;
	errno        = 0;
	long long ll = strtoll(arg, &end, 10);
	if (errno != 0 || end == arg || *end != '\0') {
		return -1;
	}
	*out = ll;
	return 0;
}

int
cli_parse_key(const char *arg, int kt, mps_value *out)
{
	if (kt == MPS_KEY_INT64) {
		int64_t i;
		if (cli_parse_int(arg, &i) != 0) {
			return -1;
		}
		*out = mps_int(i);
		return 0;
	}
	mps_value s = mps_str(arg);
	return mps_value_dup(out, &s) == MPS_OK ? 0 : -1;
}

/* s with Python's json.dumps spacing (", " and ": " outside strings), as
 * every other JSON the CLI prints has it. */
static void
put_spaced(FILE *f, const char *s)
{
	int in = 0;
	for (; *s; s++) {
		fputc(*s, f);
		if (in) {
			if (*s == '\\' && s[1]) {
				fputc(*++s, f);
			} else if (*s == '"') {
				in = 0;
			}
		} else if (*s == '"') {
			in = 1;
		} else if ((*s == ',' || *s == ':') && s[1] != ' ') {
			fputc(' ', f);
		}
	}
}

void
cli_print_value(FILE *f, const mps_value *v)
{
	char *s = cli_typed_json(v);
	if (s == NULL) {
		s = mps_value_to_json(v);
	}
	put_spaced(f, s != NULL ? s : "null");
	free(s);
}

void
cli_print_array(FILE *f, const mps_value *v, size_t n)
{
	fputc('[', f);
	for (size_t i = 0; i < n; i++) {
		if (i) {
			fputs(", ", f);
		}
		cli_print_value(f, &v[i]);
	}
	fputc(']', f);
}

void
cli_print_object(FILE *f, const mps_value *k, const mps_value *v, size_t n)
{
	fputc('{', f);
	for (size_t i = 0; i < n; i++) {
		if (i) {
			fputs(", ", f);
		}
		if (k[i].type == MPS_STRING) {
			cli_print_value(f, &k[i]);
		} else {
			/* JSON keys are strings: 42 -> "42" */
			fputc('"', f);
			char *s = mps_value_to_json(&k[i]);
			fputs(s != NULL ? s : "", f);
			free(s);
			fputc('"', f);
		}
		fputs(": ", f);
		cli_print_value(f, &v[i]);
	}
	fputc('}', f);
}

int64_t
cli_timeout_ms(const cli_opts *o)
{
	if (o->timeout_s < 0) {
		return -1;
	}
	return (int64_t) (o->timeout_s * 1000.0 + 0.5);
}
