/* txn.c - `mpstore txn --if COND... --then CMD... --else CMD...`. */
#include <stdlib.h>
#include <string.h>

#include "cli.h"

#define MAXTOK 16

int
cli_split(char *s, char **tok, int max)
{
	int n = 0;
	while (*s) {
		while (*s == ' ' || *s == '\t') {
			s++;
		}
		if (*s == '\0') {
			break;
		}
		if (n == max) {
			return -1;
		}
		if (*s == '"') {
			tok[n++] = s++;
			while (*s && *s != '"') {
				s += (*s == '\\' && s[1]) ? 2 : 1;
			}
			if (*s != '"') {
				return -1;
			}
			s++;
		} else if (*s == '\'') {
			tok[n++] = ++s;
			while (*s && *s != '\'') {
				s++;
			}
			if (*s != '\'') {
				return -1;
			}
			*s++ = '\0';
			continue;
		} else {
			tok[n++] = s;
			while (*s && *s != ' ' && *s != '\t') {
				s++;
			}
		}
		if (*s) {
			*s++ = '\0';
		}
	}
	return n;
}

static int
parse_cmp(const char *s, mps_cmp_op *op)
{
	static const char *const names[] = {"==", "!=", "<", "<=", ">", ">="};
	for (int i = 0; i < 6; i++) {
		if (strcmp(s, names[i]) == 0) {
			*op = (mps_cmp_op) i;
			return 0;
		}
	}
	return -1;
}

static int
add_compare(mps_client *c, mps_batch *b, const char *text)
{
	char  buf[1024];
	char *tok[MAXTOK];
	if (strlen(text) >= sizeof(buf)) {
		return cli_fail(MPS_ERR_INVALID, "--if too long");
	}
	strcpy(buf, text);
	int n = cli_split(buf, tok, MAXTOK);
	if (n < 2) {
		return cli_fail(MPS_ERR_INVALID, "bad --if '%s' (see docs/cli.md)", text);
	}
	mps_err   e;
	mps_value t = mps_bool(1), v, key;
	if (n == 2 && (strcmp(tok[0], "exists") == 0 || strcmp(tok[0], "missing") == 0)) {
		t = mps_bool(tok[0][0] == 'e');
		e = mps_txn_compare(b, tok[1], MPS_TARGET_EXISTS, MPS_CMP_EQ, NULL, &t);
		return e == MPS_OK ? 0 : cli_fail_lib(e);
	}
	int i = 0;
	mps_cmp_target target = MPS_TARGET_VALUE;
	if (strcmp(tok[0], "len") == 0 || strcmp(tok[0], "rev") == 0 || strcmp(tok[0], "value") == 0 ||
	    strcmp(tok[0], "counter") == 0) {
		target = tok[0][0] == 'l' ? MPS_TARGET_LENGTH
		    : tok[0][0] == 'r'    ? MPS_TARGET_REVISION
		                          : MPS_TARGET_VALUE;
		i      = 1;
	}
	mps_cmp_op op;
	if (n != i + 3 || parse_cmp(tok[i + 1], &op) != 0) {
		return cli_fail(MPS_ERR_INVALID, "bad --if '%s' (see docs/cli.md)", text);
	}
	char *name = tok[i];
	char *br   = strchr(name, '[');
	int   havekey = 0;
	if (br != NULL && target == MPS_TARGET_VALUE) {
		size_t l = strlen(br);
		if (l < 3 || br[l - 1] != ']') {
			return cli_fail(MPS_ERR_INVALID, "bad key in --if '%s'", text);
		}
		br[l - 1] = '\0';
		*br       = '\0';
		mps_info info;
		if ((e = mps_info_get(c, name, &info)) != MPS_OK) {
			return cli_fail_lib(e);
		}
		int kt = info.kind == MPS_KIND_DICT ? (int) info.key_type : MPS_KEY_STRING;
		mps_info_free(&info);
		if (cli_parse_key(br + 1, kt, &key) != 0) {
			return cli_fail(MPS_ERR_INVALID, "bad key in --if '%s'", text);
		}
		target  = MPS_TARGET_DICT_ENTRY;
		havekey = 1;
	}
	int rv = cli_parse_value(tok[i + 2], &v);
	if (rv != 0) {
		if (havekey) {
			mps_value_free(&key);
		}
		return rv;
	}
	e = mps_txn_compare(b, name, target, op, havekey ? &key : NULL, &v);
	mps_value_free(&v);
	if (havekey) {
		mps_value_free(&key);
	}
	return e == MPS_OK ? 0 : cli_fail_lib(e);
}

static int
add_op(mps_client *c, const cli_opts *o, mps_batch *b, const char *text, mps_op *ops, int *nops)
{
	char  buf[1024];
	char *tok[MAXTOK];
	if (strlen(text) >= sizeof(buf)) {
		return cli_fail(MPS_ERR_INVALID, "command too long");
	}
	strcpy(buf, text);
	int n = cli_split(buf, tok, MAXTOK);
	if (n < 1) {
		return cli_fail(MPS_ERR_INVALID, "bad command '%s' (see docs/cli.md)", text);
	}
	cli_opstore s = {0};
	mps_info    info;
	int rv = cli_build_op(c, o, n, tok, &ops[*nops], &s, &info);
	if (rv == 0) {
		mps_err e = mps_batch_append(b, &ops[*nops]); /* copies everything */
		if (e != MPS_OK) {
			rv = cli_fail_lib(e);
		}
		ops[*nops].name = NULL; /* pointed into buf */
		(*nops)++;
	}
	mps_info_free(&info);
	cli_opstore_fini(&s);
	return rv;
}

int
cli_txn(mps_client *c, const cli_opts *o)
{
	mps_batch *b;
	mps_err    e;
	int        rv = 0;
	mps_op     then_ops[32], else_ops[32];
	int        nthen = 0, nelse = 0;

	if (o->nifs == 0 && o->nthens == 0 && o->nelses == 0) {
		return cli_fail(MPS_ERR_INVALID,
		    "usage: mpstore txn [--if COND]... [--then CMD]... [--else CMD]...");
	}
	if ((e = mps_batch_alloc(c, &b)) != MPS_OK) {
		return cli_fail_lib(e);
	}
	for (int i = 0; i < o->nifs && rv == 0; i++) {
		rv = add_compare(c, b, o->ifs[i]);
	}
	/* no --if: a txn without compares always runs its --then ops */
	for (int i = 0; i < o->nthens && rv == 0; i++) {
		rv = add_op(c, o, b, o->thens[i], then_ops, &nthen);
	}
	if (rv == 0) {
		mps_txn_else(b);
	}
	for (int i = 0; i < o->nelses && rv == 0; i++) {
		rv = add_op(c, o, b, o->elses[i], else_ops, &nelse);
	}
	if (rv == 0 && (e = mps_batch_exec(b)) != MPS_OK) {
		rv = cli_fail_lib(e);
	}
	if (rv == 0) {
		int     ok  = mps_txn_succeeded(b);
		mps_op *ops = ok ? then_ops : else_ops;
		int     nop = ok ? nthen : nelse;
		/* an op of the branch failed: the txn applied nothing */
		for (size_t i = 0; i < mps_batch_nresults(b); i++) {
			mps_result r;
			mps_batch_result(b, i, &r);
			if (r.status != MPS_OK) {
				rv = cli_fail_result(r.status, r.error);
				break;
			}
		}
		if (rv == 0) {
			printf("{\"succeeded\": %s, \"revision\": %llu, \"results\": [", ok ? "true" : "false",
			    (unsigned long long) mps_batch_revision(b));
			for (int i = 0; i < nop && (size_t) i < mps_batch_nresults(b); i++) {
				mps_result r;
				mps_batch_result(b, (size_t) i, &r);
				if (i) {
					fputs(", ", stdout);
				}
				cli_print_result(stdout, &ops[i], &r, 1);
			}
			printf("]}\n");
		}
	}
	mps_batch_free(b);
	return rv;
}
