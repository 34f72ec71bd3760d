/* main.c - mpstore: the command-line client of mpstored (docs/cli.md).
 * Options, the dispatch of one command (a run, or a line of the
 * interactive mode, repl.c), and the container and data commands; the
 * command table and help are in help.c, the lock/queue/barrier commands in
 * sync.c. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

/* argc within [min, max] (max < 0: no limit), else the command's usage */
static int
need_args(int argc, int min, int max, const char *cmd)
{
	if (argc < min || (max >= 0 && argc > max)) {
		const cli_cmd *c = cli_cmd_find(cmd);
		return cli_fail(MPS_ERR_INVALID, "usage: mpstore %s %s", cmd, c != NULL ? c->args : "");
	}
	return 0;
}

static void
print_info_json(const mps_info *i)
{
	printf("{\"name\": ");
	mps_value n = mps_str(i->name);
	cli_print_value(stdout, &n);
	printf(", \"kind\": \"%s\", \"type\": ", mps_kind_name(i->kind));
	mps_value t = mps_str(i->elem_type == MPS_TYPE_MESSAGE && i->message_type[0]
	        ? i->message_type
	        : mps_elem_type_name(i->elem_type));
	cli_print_value(stdout, &t);
	if (i->kind == MPS_KIND_DICT) {
		printf(", \"key_type\": \"%s\"", i->key_type == MPS_KEY_INT64 ? "int64" : "string");
	}
	printf(", \"length\": %lld, \"revision\": %llu, \"capacity\": %lld}\n", (long long) i->length,
	    (unsigned long long) i->revision, (long long) i->capacity);
}

static int
cmd_ls(mps_client *c, int argc, char **argv)
{
	mps_info *infos;
	size_t    n;
	int       rv;
	if ((rv = need_args(argc, 1, 2, "ls")) != 0) {
		return rv;
	}
	mps_err e = mps_ls(c, argc == 2 ? argv[1] : "", &infos, &n);
	if (e != MPS_OK) {
		return cli_fail_lib(e);
	}
	for (size_t i = 0; i < n; i++) {
		const mps_info *f = &infos[i];
		printf("%s\t%s\t%s\t%lld\t%llu\n", f->name, mps_kind_name(f->kind),
		    f->elem_type == MPS_TYPE_MESSAGE && f->message_type[0] ? f->message_type
		                                                          : mps_elem_type_name(f->elem_type),
		    (long long) f->length, (unsigned long long) f->revision);
	}
	mps_infos_free(infos, n);
	return 0;
}

/* The size option each kind takes, for messages. */
static const char *
size_option(mps_kind k, int int64)
{
	switch (k) {
	case MPS_KIND_QUEUE: return "--maxsize N";
	case MPS_KIND_BARRIER: return "--parties N";
	case MPS_KIND_SEMAPHORE:
	case MPS_KIND_BOUNDED_SEMAPHORE: return "--value N";
	case MPS_KIND_ARRAY: return "--length N";
	case MPS_KIND_VALUE: return int64 ? "--value N" : NULL;
	default: return NULL;
	}
}

static int
cmd_create(mps_client *c, const cli_opts *o, int argc, char **argv)
{
	int rv;
	if ((rv = need_args(argc, 3, 4, "create")) != 0) {
		return rv;
	}
	mps_create_opts co = {0};
	int             kind = mps_kind_parse(argv[2]);
	if (kind <= 0) {
		return cli_unknown("kind", argv[2], cli_kind_words);
	}
	co.kind = (mps_kind) kind;
	if (strcmp(argv[2], "counter") == 0) {
		co.elem_type = MPS_TYPE_INT64;
	}
	if (argc == 4) {
		int t = mps_elem_type_parse(argv[3]);
		if (t < 0 || t == MPS_TYPE_MESSAGE) {
			/* any other word names a protobuf message type */
			co.elem_type    = MPS_TYPE_MESSAGE;
			co.message_type = argv[3];
		} else {
			co.elem_type = (mps_elem_type) t;
		}
	}
	/* the size options, each for its kind */
	static const struct {
		unsigned    bit;
		const char *name;
	} sizes[] = {{CLI_O_MAXSIZE, "--maxsize"}, {CLI_O_PARTIES, "--parties"},
		{CLI_O_VALUE, "--value"}, {CLI_O_LENGTH, "--length"}};
	const char *want = size_option(co.kind, co.elem_type == MPS_TYPE_INT64);
	int         have = 0;
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		if (!(o->given & sizes[i].bit)) {
			continue;
		}
		if (want == NULL || strncmp(want, sizes[i].name, strlen(sizes[i].name)) != 0) {
			return cli_fail(MPS_ERR_INVALID, "%s does not apply to a %s%s%s", sizes[i].name,
			    argv[2], want ? "; it takes " : " (it has no size)", want ? want : "");
		}
		have = 1;
	}
	if ((o->given & CLI_O_KEYTYPE) && co.kind != MPS_KIND_DICT) {
		return cli_fail(MPS_ERR_INVALID, "--key-type applies to dicts only");
	}
	if (co.kind == MPS_KIND_SEMAPHORE || co.kind == MPS_KIND_BOUNDED_SEMAPHORE) {
		co.count = 1; /* Python's Semaphore() and BoundedSemaphore() start at 1 */
	}
	if (co.kind == MPS_KIND_BARRIER && !have) {
		return cli_fail(MPS_ERR_INVALID,
		    "a barrier needs --parties N (how many must wait before all go on)");
	}
	if (co.kind == MPS_KIND_ARRAY && (!have || argc != 4 || co.elem_type == MPS_TYPE_MESSAGE ||
	                                     co.elem_type == MPS_TYPE_ANY)) {
		return cli_fail(MPS_ERR_INVALID,
		    "an array needs a TYPE (int64, double or bool) and --length N: "
		    "mpstore create %s array int64 --length 10", argv[1]);
	}
	co.key_type = (mps_key_type) o->key_type;
	if (have) {
		co.count = o->count;
	}
	mps_err e = mps_create(c, argv[1], &co);
	if (e == MPS_ERR_SCHEMA && co.message_type != NULL && strchr(co.message_type, '.') == NULL) {
		const char *s = cli_suggest(co.message_type, cli_type_words);
		if (s != NULL) {
			return cli_fail(MPS_ERR_INVALID,
			    "unknown type %s: did you mean %s? (types: any, int64, double, bool, string, "
			    "bytes, or a registered protobuf message type)",
			    co.message_type, s);
		}
	}
	return e == MPS_OK ? 0 : cli_fail_lib(e);
}

static int
cmd_info(mps_client *c, int argc, char **argv)
{
	int rv;
	if ((rv = need_args(argc, 2, 2, "info")) != 0) {
		return rv;
	}
	mps_info info;
	mps_err  e = mps_info_get(c, argv[1], &info);
	if (e != MPS_OK) {
		return cli_fail_lib(e);
	}
	print_info_json(&info);
	mps_info_free(&info);
	return 0;
}

/* get, set, append, pop, del KEY, incr, len, keys, put, contains, clear */
static int
cmd_data(mps_client *c, const cli_opts *o, int argc, char **argv)
{
	if (strcmp(argv[0], "del") == 0 && argc == 2) {
		mps_err e = mps_delete(c, argv[1]);
		return e == MPS_OK ? 0 : cli_fail_lib(e);
	}
	mps_op      op;
	cli_opstore s = {0};
	mps_info    info;
	int         rv = cli_build_op(c, o, argc, argv, &op, &s, &info);
	if (rv != 0) {
		goto out;
	}
	if (op.code == MPS_OP_DICT_ITEMS) {
		/* the whole dict, every page */
		mps_value *k, *v;
		size_t     n;
		mps_err    e = mps_dict_items(c, op.name, &k, &v, &n);
		if (e != MPS_OK) {
			rv = cli_fail_lib(e);
			goto out;
		}
		cli_typed_use(op.name);
		cli_print_object(stdout, k, v, n);
		putchar('\n');
		mps_values_free(k, n);
		mps_values_free(v, n);
		goto out;
	}
	mps_batch *b = NULL;
	mps_err    e = mps_batch_alloc(c, &b);
	if (e == MPS_OK && (e = mps_batch_append(b, &op)) == MPS_OK) {
		e = mps_batch_exec(b);
	}
	if (e == MPS_OK) {
		mps_result r;
		mps_batch_result(b, 0, &r);
		if (r.status == MPS_ERR_INDEX && strcmp(argv[0], "del") == 0) {
			rv = cli_fail(r.status, "%s has no index %s (length %lld)", op.name, argv[2],
			    (long long) info.length);
		} else if (r.status != MPS_OK) {
			rv = cli_fail_result(r.status, r.error);
		} else if (op.code == MPS_OP_EVENT_IS_SET || op.code == MPS_OP_DICT_CONTAINS) {
			cli_print_result(stdout, &op, &r, 0);
			putchar('\n');
		} else if (strcmp(argv[0], "del") == 0) {
			/* del INDEX pops quietly */
		} else if (cli_print_result(stdout, &op, &r, 0)) {
			putchar('\n');
		}
	} else {
		rv = cli_fail_lib(e);
	}
	mps_batch_free(b);
out:
	mps_info_free(&info);
	cli_opstore_fini(&s);
	return rv;
}

static int
cmd_event(mps_client *c, int argc, char **argv, int set)
{
	int rv;
	if ((rv = need_args(argc, 2, 2, argv[0])) != 0) {
		return rv;
	}
	mps_err e = set ? mps_event_set(c, argv[1]) : mps_event_clear(c, argv[1]);
	return e == MPS_OK ? 0 : cli_fail_lib(e);
}

static int
cmd_wait(mps_client *c, const cli_opts *o, int argc, char **argv)
{
	int rv;
	if ((rv = need_args(argc, 2, 2, "wait")) != 0) {
		return rv;
	}
	mps_info info;
	mps_err  e = mps_info_get(c, argv[1], &info);
	if (e != MPS_OK) {
		return cli_fail_lib(e);
	}
	mps_kind k = info.kind;
	mps_info_free(&info);
	if (k == MPS_KIND_EVENT) {
		int set = 0;
		if ((e = mps_event_wait(c, argv[1], cli_timeout_ms(o), &set)) != MPS_OK) {
			return cli_fail_lib(e);
		}
		if (!set) {
			return cli_fail(MPS_ERR_TIMEOUT, "%s was not set within %gs", argv[1], o->timeout_s);
		}
		return 0;
	}
	if (k == MPS_KIND_BARRIER) {
		int64_t idx;
		if ((e = mps_barrier_wait(c, argv[1], cli_timeout_ms(o), &idx)) == MPS_ERR_BROKEN) {
			return cli_fail(e, "%s (`mpstore reset %s` makes it usable again)", mps_last_error(),
			    argv[1]);
		}
		if (e != MPS_OK) {
			return cli_fail_lib(e);
		}
		printf("%lld\n", (long long) idx);
		return 0;
	}
	return cli_fail(MPS_ERR_WRONG_KIND, "wait applies to events and barriers; %s is a %s",
	    argv[1], mps_kind_name(k));
}

static int
cmd_notify(mps_client *c, const cli_opts *o, int argc, char **argv)
{
	int     rv;
	int64_t n = 1, woken = 0;
	if ((rv = need_args(argc, 2, 3, "notify")) != 0) {
		return rv;
	}
	int all = argc == 3 && strcmp(argv[2], "all") == 0;
	if (argc == 3 && !all && cli_parse_int(argv[2], &n) != 0) {
		return cli_fail(MPS_ERR_INVALID, "N must be an integer or 'all': %s", argv[2]);
	}
	/* like Python, notify needs the condition's lock: hold it around */
	mps_err e = mps_cond_acquire(c, argv[1], cli_timeout_ms(o), NULL);
	if (e != MPS_OK) {
		return cli_fail_lib(e);
	}
	e = all ? mps_cond_notify_all(c, argv[1], &woken) : mps_cond_notify(c, argv[1], n, &woken);
	mps_err e2 = mps_cond_release(c, argv[1]);
	if (e == MPS_OK) {
		e = e2;
	}
	if (e != MPS_OK) {
		return cli_fail_lib(e);
	}
	printf("%lld\n", (long long) woken);
	return 0;
}

static int
cmd_admin(mps_client *c, int argc, char **argv)
{
	mps_err e;
	int     rv;
	if (strcmp(argv[0], "snapshot") == 0) {
		uint64_t rev;
		if ((rv = need_args(argc, 1, 1, "snapshot")) != 0) {
			return rv;
		}
		if ((e = mps_snapshot(c, &rev)) != MPS_OK) {
			return cli_fail_lib(e);
		}
		printf("%llu\n", (unsigned long long) rev);
		return 0;
	}
	if (strcmp(argv[0], "backup") == 0) {
		if ((rv = need_args(argc, 2, 2, "backup")) != 0) {
			return rv;
		}
		/* a file name: the daemon creates it in its --backup-dir */
		e = mps_backup(c, argv[1]);
		return e == MPS_OK ? 0 : cli_fail_lib(e);
	}
	/* stats */
	mps_value *lines;
	size_t     n;
	if ((rv = need_args(argc, 1, 1, "stats")) != 0) {
		return rv;
	}
	if ((e = mps_stats(c, &lines, &n)) != MPS_OK) {
		return cli_fail_lib(e);
	}
	for (size_t i = 0; i < n; i++) {
		if (lines[i].type == MPS_STRING) {
			printf("%s\n", lines[i].u.s.ptr);
		}
	}
	mps_values_free(lines, n);
	return 0;
}

static int
cmd_register(mps_client *c, const cli_opts *o, int argc, char **argv)
{
	int rv;
	if ((rv = need_args(argc, 2, 2, "register-schema")) != 0) {
		return rv;
	}
	FILE *f = fopen(argv[1], "rb");
	if (f == NULL) {
		return cli_fail(MPS_ERR_INVALID, "cannot read %s: %s", argv[1], strerror(errno));
	}
	size_t   cap = 65536, n = 0, k;
	uint8_t *buf = malloc(cap);
	while (buf != NULL && (k = fread(buf + n, 1, cap - n, f)) > 0) {
		n += k;
		if (n == cap) {
			uint8_t *nb = realloc(buf, cap *= 2);
			if (nb == NULL) {
				free(buf);
			}
			buf = nb;
		}
	}
	fclose(f);
	if (buf == NULL) {
		return cli_fail(MPS_ERR_NOMEM, "out of memory reading %s", argv[1]);
	}
	mps_err e = mps_register_schema(c, buf, n, (o->given & CLI_O_DECLARED) ? MPS_FLAG_CREATE_DECLARED : 0);
	free(buf);
	return e == MPS_OK ? 0 : cli_fail_lib(e);
}

/* Every option: its name, its CLI_O_ bit (0: global), whether it takes a
 * value. */
static const struct {
	const char *name;
	unsigned    bit;
	int         arg;
} opt_defs[] = {
	{"--url", 0, 1}, {"--timeout", CLI_O_TIMEOUT, 1}, {"--maxsize", CLI_O_MAXSIZE, 1},
	{"--parties", CLI_O_PARTIES, 1}, {"--value", CLI_O_VALUE, 1}, {"--length", CLI_O_LENGTH, 1},
	{"--key-type", CLI_O_KEYTYPE, 1}, {"--declared", CLI_O_DECLARED, 0}, {"--if", CLI_O_TXN, 1},
	{"--then", CLI_O_TXN, 1}, {"--else", CLI_O_TXN, 1}, {"--token", CLI_O_TOKEN, 1},
	{"--from", CLI_O_FROM, 1}, {"--count", CLI_O_COUNT, 1}, {"--pub", CLI_O_PUB, 1},
	{"--containers", CLI_O_CONTAINERS, 0},
	{"--help", 0, 0}, {"--version", 0, 0},
};
#define NOPTS (sizeof(opt_defs) / sizeof(opt_defs[0]))

static int
set_opt(cli_opts *o, const char *a, const char *val)
{
	if (strcmp(a, "--url") == 0) {
		o->url = val;
	} else if (strcmp(a, "--timeout") == 0) {
		char *end;
		if ((o->timeout_s = strtod(val, &end), *end != '\0') || end == val || o->timeout_s < 0) {
			return cli_fail(MPS_ERR_INVALID, "--timeout wants seconds (>= 0): %s", val);
		}
	} else if (strcmp(a, "--key-type") == 0) {
		if (strcmp(val, "string") == 0 || strcmp(val, "str") == 0) {
			o->key_type = MPS_KEY_STRING;
		} else if (strcmp(val, "int64") == 0 || strcmp(val, "int") == 0) {
			o->key_type = MPS_KEY_INT64;
		} else {
			return cli_fail(MPS_ERR_INVALID, "--key-type wants string or int64: %s", val);
		}
	} else if (strcmp(a, "--if") == 0 || strcmp(a, "--then") == 0 || strcmp(a, "--else") == 0) {
		const char **arr = a[2] == 'i' ? o->ifs : a[2] == 't' ? o->thens : o->elses;
		int         *cnt = a[2] == 'i' ? &o->nifs : a[2] == 't' ? &o->nthens : &o->nelses;
		if (*cnt == 32) {
			return cli_fail(MPS_ERR_INVALID, "at most 32 %s", a);
		}
		arr[(*cnt)++] = val;
	} else if (strcmp(a, "--pub") == 0) {
		o->pub = val;
	} else if (strcmp(a, "--token") == 0) {
		int64_t t;
		if (cli_parse_int(val, &t) != 0 || t <= 0) {
			return cli_fail(MPS_ERR_INVALID, "--token wants a fencing token (> 0): %s", val);
		}
		o->token = (uint64_t) t;
	} else {
		/* the integer options */
		int64_t v;
		if (cli_parse_int(val, &v) != 0 || (v < 0 && strcmp(a, "--value") != 0)) {
			return cli_fail(MPS_ERR_INVALID, "%s wants an integer >= 0: %s", a, val);
		}
		if (strcmp(a, "--from") == 0) {
			o->from = v;
		} else if (strcmp(a, "--count") == 0) {
			o->wcount = v;
		} else {
			if (o->given & (CLI_O_MAXSIZE | CLI_O_PARTIES | CLI_O_VALUE | CLI_O_LENGTH)) {
				return cli_fail(MPS_ERR_INVALID, "one of --maxsize, --parties, --value, --length");
			}
			o->count = v;
		}
	}
	return 0;
}

int
cli_parse_opts(int *argcp, char **argv, cli_opts *o)
{
	int argc = *argcp, out = 1, i;
	for (i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (strcmp(a, "--") == 0) {
			break;
		}
		if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
			o->help = 1;
			continue;
		}
		if (strcmp(a, "--version") == 0) {
			printf("mpstore %s\n", MPS_VERSION_STRING);
			exit(0);
		}
		if (a[0] != '-' || a[1] != '-' || a[2] == '\0') {
			argv[out++] = argv[i]; /* a word (negative numbers included) */
			continue;
		}
		size_t k;
		for (k = 0; k < NOPTS && strcmp(a, opt_defs[k].name) != 0; k++) {
		}
		if (k == NOPTS) {
			const char *names[NOPTS + 1];
			for (size_t j = 0; j < NOPTS; j++) {
				names[j] = opt_defs[j].name;
			}
			names[NOPTS] = NULL;
			return cli_unknown("option", a, names);
		}
		if (opt_defs[k].arg && i + 1 >= argc) {
			return cli_fail(MPS_ERR_INVALID, "%s wants a value", a);
		}
		if (opt_defs[k].arg) {
			int rv = set_opt(o, a, argv[++i]);
			if (rv != 0) {
				return rv;
			}
		}
		o->given |= opt_defs[k].bit;
	}
	for (; i < argc; i++) {
		argv[out++] = argv[i];
	}
	argv[out] = NULL;
	*argcp    = out;
	return 0;
}

int
cli_run(mps_client *c, cli_opts *o, int argc, char **argv)
{
	const char    *cmd = argv[0];
	const cli_cmd *def = cli_cmd_find(cmd);
	if (def == NULL) {
		return cli_unknown("command", cmd, NULL);
	}
	if (o->help) {
		return cli_help(stdout, cmd);
	}
	if (strcmp(cmd, "help") == 0) {
		int rv = need_args(argc, 1, 2, "help");
		return rv != 0 ? rv : cli_help(stdout, argc == 2 ? argv[1] : NULL);
	}
	unsigned bad = o->given & ~def->opts & ~CLI_O_TIMEOUT;
	for (size_t k = 0; bad != 0 && k < NOPTS; k++) {
		if (bad & opt_defs[k].bit) {
			return cli_fail(MPS_ERR_INVALID, "%s does not take %s (usage: mpstore %s %s)", cmd,
			    opt_defs[k].name, cmd, def->args);
		}
	}
	if (strcmp(cmd, "watch") == 0) {
		return cli_watch(c, o, argc, argv);
	} else if (strcmp(cmd, "ls") == 0) {
		return cmd_ls(c, argc, argv);
	} else if (strcmp(cmd, "create") == 0) {
		return cmd_create(c, o, argc, argv);
	} else if (strcmp(cmd, "info") == 0) {
		if (argc == 1 || (argc == 2 && cli_is_section(argv[1]))) {
			return cli_info_daemon(c, o, argc == 2 ? argv[1] : NULL);
		}
		if (o->given & CLI_O_CONTAINERS) {
			return cli_fail(MPS_ERR_INVALID, "--containers goes with `mpstore info [memory]`, "
			                                 "not with a container's info");
		}
		return cmd_info(c, argc, argv);
	} else if (strcmp(cmd, "clients") == 0) {
		return cli_clients(c, argc);
	} else if (strcmp(cmd, "holders") == 0) {
		return cli_holders(c, argc, argv);
	} else if (strcmp(cmd, "monitor") == 0) {
		return cli_monitor(c, o, argc);
	} else if (strcmp(cmd, "set-event") == 0 || strcmp(cmd, "clear-event") == 0) {
		return cmd_event(c, argc, argv, cmd[0] == 's');
	} else if (strcmp(cmd, "wait") == 0) {
		return cmd_wait(c, o, argc, argv);
	} else if (strcmp(cmd, "notify") == 0) {
		return cmd_notify(c, o, argc, argv);
	} else if (strcmp(cmd, "register-schema") == 0) {
		return cmd_register(c, o, argc, argv);
	} else if (strcmp(cmd, "txn") == 0) {
		return argc == 1 ? cli_txn(c, o)
		                 : cli_fail(MPS_ERR_INVALID, "txn takes only --if/--then/--else");
	} else if (strcmp(cmd, "snapshot") == 0 || strcmp(cmd, "backup") == 0 ||
	    strcmp(cmd, "stats") == 0) {
		return cmd_admin(c, argc, argv);
	} else if (strcmp(cmd, "with-lock") == 0 || strcmp(cmd, "acquire") == 0 ||
	    strcmp(cmd, "release") == 0 || strcmp(cmd, "task-done") == 0 ||
	    strcmp(cmd, "join") == 0 || strcmp(cmd, "reset") == 0 || strcmp(cmd, "abort") == 0) {
		return cli_sync_cmd(c, o, argc, argv);
	}
	return cmd_data(c, o, argc, argv);
}

int
main(int argc, char **argv)
{
	cli_opts o = {.timeout_s = -1, .wcount = -1};
	int      rv;

	if ((rv = cli_parse_opts(&argc, argv, &o)) != 0) {
		return rv;
	}
	if (argc < 2) {
		if (o.help) {
			cli_help_global(stdout);
			return 0;
		}
		if (!isatty(STDIN_FILENO) || !isatty(STDOUT_FILENO)) {
			cli_help_global(stderr);
			return CLI_EXIT_USAGE;
		}
	} else if (cli_cmd_find(argv[1]) == NULL) {
		return cli_unknown("command", argv[1], NULL);
	} else if (o.help || strcmp(argv[1], "help") == 0) {
		return cli_run(NULL, &o, argc - 1, argv + 1);
	}

	mps_client *c;
	mps_err     e = mps_open(&c, o.url, 5000);
	if (e != MPS_OK) {
		return cli_fail_lib(e);
	}
	rv = argc < 2 ? cli_repl(c, o.url) : cli_run(c, &o, argc - 1, argv + 1);
	fflush(stdout);
	mps_close(c);
	return rv;
}
