/* util.c - errors, values and JSON output of the CLI. */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

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
cli_fail_lib(mps_err err)
{
	const char *m = mps_last_error();
	int         rv = cli_fail(err, "%s", m && m[0] ? m : mps_strerror(err));
	/* an ERR_INVALID from the daemon is not a usage error of the CLI */
	return rv == CLI_EXIT_USAGE ? CLI_EXIT_ERROR : rv;
}

void
cli_parse_value(const char *arg, mps_value *out)
{
	if (mps_value_from_json(arg, out) != MPS_OK) {
		mps_value s = mps_str(arg);
		if (mps_value_dup(out, &s) != MPS_OK) {
			*out = mps_null();
		}
	}
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

void
cli_print_value(FILE *f, const mps_value *v)
{
	char *s = cli_typed_json(v);
	if (s == NULL) {
		s = mps_value_to_json(v);
	}
	fputs(s != NULL ? s : "null", f);
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
