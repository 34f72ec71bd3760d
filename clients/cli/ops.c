/* ops.c - data commands as ops (shared by single commands and `txn`), and
 * printing their results. */
#include <string.h>

#include "cli.h"

void
cli_opstore_fini(cli_opstore *s)
{
	for (size_t i = 0; i < s->n; i++) {
		mps_value_free(&s->vals[i]);
	}
	s->n = 0;
}

/* The value argument arg, kept in s: JSON (a JSON object for a container
 * of messages). Returns 0 or an exit status after printing the error. */
static int
store_value(cli_opstore *s, const mps_info *info, const char *arg, mps_value **out)
{
	if (s->n == sizeof(s->vals) / sizeof(s->vals[0])) {
		return cli_fail(MPS_ERR_INVALID, "too many values");
	}
	mps_value *v = &s->vals[s->n];
	if (info->elem_type == MPS_TYPE_MESSAGE) {
		int rv = cli_typed_parse(info, arg, v);
		if (rv != 0) {
			return rv;
		}
	} else {
		int rv = cli_parse_value(arg, v);
		if (rv != 0) {
			return rv;
		}
	}
	s->n++;
	*out = v;
	return 0;
}

static int
is_listish(mps_kind k)
{
	return k == MPS_KIND_LIST || k == MPS_KIND_ARRAY;
}

static int
is_dictish(mps_kind k)
{
	return k == MPS_KIND_DICT || k == MPS_KIND_NAMESPACE;
}

static int
wrong_kind(const char *cmd, const mps_info *info)
{
	return cli_fail(MPS_ERR_WRONG_KIND, "%s does not apply to %s, a %s", cmd, info->name,
	    mps_kind_name(info->kind));
}

static int
usage(const char *cmd, const char *args)
{
	return cli_fail(MPS_ERR_INVALID, "usage: mpstore %s %s", cmd, args);
}

/* The key or index argument for a list-like or dict-like container. */
static int
set_key(const mps_info *info, const char *arg, mps_op *op, cli_opstore *s)
{
	if (is_listish(info->kind)) {
		if (cli_parse_int(arg, &op->index) != 0) {
			return cli_fail(MPS_ERR_INVALID, "index must be an integer: %s", arg);
		}
		return 0;
	}
	if (s->n == sizeof(s->vals) / sizeof(s->vals[0])) {
		return cli_fail(MPS_ERR_INVALID, "too many values");
	}
	mps_value *k = &s->vals[s->n];
	if (cli_parse_key(arg, info->kind == MPS_KIND_DICT ? (int) info->key_type : MPS_KEY_STRING,
	        k) != 0) {
		return cli_fail(MPS_ERR_INVALID, "key must be an integer for %s: %s", info->name, arg);
	}
	s->n++;
	op->key = *k;
	return 0;
}

int
cli_build_op(mps_client *c, const cli_opts *o, int argc, char **argv, mps_op *op,
    cli_opstore *s, mps_info *info)
{
	const char *cmd = argv[0];
	mps_err     e;
	int         rv;

	memset(op, 0, sizeof(*op));
	memset(info, 0, sizeof(*info));
	if (argc < 2) {
		return usage(cmd, "NAME ...");
	}
	op->name = argv[1];
	if ((e = mps_info_get(c, argv[1], info)) != MPS_OK) {
		return cli_fail_lib(e);
	}
	cli_typed_note(c, info);
	mps_kind k = info->kind;

	if (strcmp(cmd, "get") == 0) {
		if (argc > 3) {
			return usage(cmd, "NAME [KEY|INDEX]");
		}
		if (k == MPS_KIND_VALUE) {
			op->code = MPS_OP_VALUE_GET;
		} else if (is_listish(k)) {
			op->code = argc == 3 ? MPS_OP_LIST_GET : MPS_OP_LIST_SLICE;
		} else if (is_dictish(k)) {
			op->code = argc == 3 ? MPS_OP_DICT_GET : MPS_OP_DICT_ITEMS;
		} else if (k == MPS_KIND_QUEUE) {
			op->code       = MPS_OP_QUEUE_GET;
			op->timeout_ms = cli_timeout_ms(o);
		} else if (k == MPS_KIND_EVENT) {
			op->code = MPS_OP_EVENT_IS_SET;
		} else if (k == MPS_KIND_LOCK || k == MPS_KIND_RLOCK || k == MPS_KIND_CONDITION) {
			op->code = MPS_OP_LOCK_LOCKED;
		} else if (k == MPS_KIND_SEMAPHORE || k == MPS_KIND_BOUNDED_SEMAPHORE) {
			op->code = MPS_OP_SEM_VALUE;
		} else if (k == MPS_KIND_BARRIER) {
			op->code = MPS_OP_BARRIER_INFO;
		} else {
			return wrong_kind(cmd, info);
		}
		if (argc == 3 && (is_listish(k) || is_dictish(k))) {
			return set_key(info, argv[2], op, s);
		}
		if (argc == 3) {
			return usage(cmd, "NAME (no key for this kind)");
		}
		return 0;
	}
	if (strcmp(cmd, "set") == 0) {
		if (k == MPS_KIND_VALUE && argc == 3) {
			op->code = MPS_OP_VALUE_SET;
		} else if ((is_listish(k) || is_dictish(k)) && argc == 4) {
			op->code = is_listish(k) ? MPS_OP_LIST_SET : MPS_OP_DICT_SET;
			if ((rv = set_key(info, argv[2], op, s)) != 0) {
				return rv;
			}
		} else if (k == MPS_KIND_VALUE || is_listish(k) || is_dictish(k)) {
			return usage(cmd, "NAME [KEY|INDEX] VALUE");
		} else {
			return wrong_kind(cmd, info);
		}
		mps_value *v;
		if ((rv = store_value(s, info, argv[argc - 1], &v)) != 0) {
			return rv;
		}
		op->value     = *v;
		op->send_null = 1;
		return 0;
	}
	if (strcmp(cmd, "append") == 0 || strcmp(cmd, "put") == 0) {
		int put = cmd[0] == 'p';
		if (put ? k != MPS_KIND_QUEUE : k != MPS_KIND_LIST) {
			return wrong_kind(cmd, info);
		}
		if (argc < 3 || (put && argc != 3)) {
			return usage(cmd, put ? "QUEUE VALUE" : "NAME VALUE...");
		}
		if (argc - 2 > 64) {
			return cli_fail(MPS_ERR_INVALID, "at most 64 values at once");
		}
		size_t first = s->n;
		for (int i = 2; i < argc; i++) {
			mps_value *v;
			if ((rv = store_value(s, info, argv[i], &v)) != 0) {
				return rv;
			}
		}
		if (put) {
			op->code       = MPS_OP_QUEUE_PUT;
			op->timeout_ms = cli_timeout_ms(o);
			op->value      = s->vals[first];
			op->send_null  = 1;
		} else if (argc == 3) {
			op->code      = MPS_OP_LIST_APPEND;
			op->value     = s->vals[first];
			op->send_null = 1;
		} else {
			op->code    = MPS_OP_LIST_EXTEND;
			op->values  = &s->vals[first];
			op->nvalues = (size_t) (argc - 2);
		}
		return 0;
	}
	if (strcmp(cmd, "pop") == 0) {
		if (is_listish(k) && argc <= 3) {
			op->code = MPS_OP_LIST_POP;
			if (argc == 3) {
				op->flags = MPS_FLAG_HAS_INDEX;
				return set_key(info, argv[2], op, s);
			}
			return 0;
		}
		if (is_dictish(k) && argc == 3) {
			op->code = MPS_OP_DICT_POP;
			return set_key(info, argv[2], op, s);
		}
		if (k == MPS_KIND_QUEUE && argc == 2) {
			op->code       = MPS_OP_QUEUE_GET;
			op->timeout_ms = cli_timeout_ms(o);
			return 0;
		}
		return is_listish(k) || is_dictish(k) ? usage(cmd, "NAME [INDEX|KEY]")
		                                      : wrong_kind(cmd, info);
	}
	if (strcmp(cmd, "del") == 0) {
		/* `del NAME` (the container) is handled by the caller */
		if (argc != 3) {
			return usage(cmd, "NAME [KEY|INDEX]");
		}
		if (is_dictish(k)) {
			op->code = MPS_OP_DICT_DEL;
		} else if (k == MPS_KIND_LIST) {
			op->code  = MPS_OP_LIST_POP;
			op->flags = MPS_FLAG_HAS_INDEX;
		} else {
			return wrong_kind(cmd, info);
		}
		return set_key(info, argv[2], op, s);
	}
	if (strcmp(cmd, "incr") == 0) {
		if (k != MPS_KIND_VALUE) {
			return wrong_kind(cmd, info);
		}
		if (argc > 3) {
			return usage(cmd, "NAME [DELTA]");
		}
		op->code = MPS_OP_VALUE_ADD;
		if (argc == 3) {
			mps_value *v;
			if ((rv = store_value(s, info, argv[2], &v)) != 0) {
				return rv;
			}
			if (v->type != MPS_INT && v->type != MPS_DOUBLE) {
				return cli_fail(MPS_ERR_INVALID, "DELTA must be a number: %s", argv[2]);
			}
			op->value = *v;
		} else {
			op->value = mps_int(1);
		}
		return 0;
	}
	if (strcmp(cmd, "len") == 0) {
		if (argc != 2) {
			return usage(cmd, "NAME");
		}
		if (is_listish(k)) {
			op->code = MPS_OP_LIST_LEN;
		} else if (is_dictish(k)) {
			op->code = MPS_OP_DICT_LEN;
		} else if (k == MPS_KIND_QUEUE) {
			op->code = MPS_OP_QUEUE_SIZE;
		} else {
			return wrong_kind(cmd, info);
		}
		return 0;
	}
	if (strcmp(cmd, "keys") == 0) {
		if (!is_dictish(k)) {
			return wrong_kind(cmd, info);
		}
		op->code = MPS_OP_DICT_KEYS;
		return 0;
	}
	if (strcmp(cmd, "contains") == 0) {
		if (!is_dictish(k) || argc != 3) {
			return is_dictish(k) ? usage(cmd, "NAME KEY") : wrong_kind(cmd, info);
		}
		op->code = MPS_OP_DICT_CONTAINS;
		return set_key(info, argv[2], op, s);
	}
	if (strcmp(cmd, "clear") == 0) {
		if (is_dictish(k)) {
			op->code = MPS_OP_DICT_CLEAR;
		} else if (k == MPS_KIND_LIST) {
			op->code = MPS_OP_LIST_CLEAR;
		} else {
			return wrong_kind(cmd, info);
		}
		return 0;
	}
	return cli_fail(MPS_ERR_INVALID, "unknown command: %s (see mpstore --help)", cmd);
}

int
cli_print_result(FILE *f, const mps_op *op, const mps_result *r, int force)
{
	cli_typed_use(op->name);
	switch (op->code) {
	case MPS_OP_VALUE_GET:
	case MPS_OP_VALUE_ADD:
	case MPS_OP_LIST_GET:
	case MPS_OP_LIST_POP:
	case MPS_OP_DICT_GET:
	case MPS_OP_DICT_POP:
	case MPS_OP_DICT_SETDEFAULT:
	case MPS_OP_QUEUE_GET:
		cli_print_value(f, &r->value);
		return 1;
	case MPS_OP_LIST_LEN:
	case MPS_OP_DICT_LEN:
	case MPS_OP_QUEUE_SIZE:
	case MPS_OP_SEM_VALUE:
		fprintf(f, "%lld", (long long) r->count);
		return 1;
	case MPS_OP_LIST_SLICE:
		cli_print_array(f, r->values, r->nvalues);
		return 1;
	case MPS_OP_DICT_KEYS:
		cli_print_array(f, r->keys, r->nkeys);
		return 1;
	case MPS_OP_DICT_VALUES:
		cli_print_array(f, r->values, r->nvalues);
		return 1;
	case MPS_OP_DICT_ITEMS:
		cli_print_object(f, r->keys, r->values, r->nkeys < r->nvalues ? r->nkeys : r->nvalues);
		return 1;
	case MPS_OP_DICT_CONTAINS:
	case MPS_OP_EVENT_IS_SET:
		fputs(r->flag ? "true" : "false", f);
		return 1;
	case MPS_OP_LOCK_LOCKED:
		fprintf(f, "{\"locked\": %s, \"token\": %llu}", r->flag ? "true" : "false",
		    (unsigned long long) r->token);
		return 1;
	case MPS_OP_BARRIER_INFO:
		fprintf(f, "{\"parties\": %lld, \"waiting\": %lld, \"broken\": %s}",
		    (long long) (r->has_info ? r->info.capacity : 0), (long long) r->count,
		    r->flag ? "true" : "false");
		return 1;
	default:
		if (force) {
			fputs("null", f);
			return 1;
		}
		return 0;
	}
}
