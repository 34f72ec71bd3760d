/* main.c - mpstore: the command-line client of mpstored (docs/cli.md). */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli.h"

static const char usage_text[] =
    "usage: mpstore [--url URL] [--timeout S] COMMAND [ARGS]\n"
    "\n"
    "  ls [PREFIX]                      list containers\n"
    "  create NAME KIND [TYPE] [--maxsize N|--parties N|--value N|--length N]\n"
    "                                   [--key-type string|int64]\n"
    "  info NAME                        container info as JSON\n"
    "  get NAME [KEY|INDEX]             print a value (whole container without key)\n"
    "  set NAME [KEY|INDEX] VALUE       set a value\n"
    "  append NAME VALUE...             append to a list\n"
    "  pop NAME [INDEX|KEY]             remove and print an element\n"
    "  del NAME [KEY|INDEX]             delete a key, or the container\n"
    "  incr NAME [DELTA]                add to a counter, print the new value\n"
    "  len NAME | keys NAME | contains NAME KEY | clear NAME\n"
    "  put QUEUE VALUE                  put into a queue (get QUEUE takes)\n"
    "  set-event E | clear-event E      set / clear an event\n"
    "  wait E|B                         wait for an event or at a barrier\n"
    "  notify C [N]                     notify N (default 1) waiters of a condition\n"
    "  with-lock L -- COMMAND...        run COMMAND holding lock L\n"
    "  txn [--if COND]... [--then CMD]... [--else CMD]...\n"
    "  snapshot | backup FILE | stats\n"
    "  watch NAME|PREFIX* [--from REV] [--count N] [--pub URL]\n"
    "                                   print changes as JSON lines (docs/watch.md)\n"
    "  register-schema FILE.pb [--declared]  register a descriptor set (protoc\n"
    "                                   --include_imports -o); --declared also\n"
    "                                   creates the containers it declares\n"
    "\n"
    "VALUEs are JSON (42, 1.5, \"text\", true, null); a word that is not JSON is a string.\n"
    "Elements of containers typed with a protobuf message are JSON objects with\n"
    "the message's field names, in and out.\n"
    "URL defaults to $MPSTORE_URL, then " MPS_DEFAULT_URL ". tls+tcp:// URLs need\n"
    "$MPSTORE_TLS_CA (and may use $MPSTORE_TLS_SERVER_NAME, $MPSTORE_TLS_CERT,\n"
    "$MPSTORE_TLS_KEY). See docs/cli.md.\n";

static int
need_args(int argc, int min, int max, const char *u)
{
	if (argc < min || (max >= 0 && argc > max)) {
		return cli_fail(MPS_ERR_INVALID, "usage: mpstore %s", u);
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
	if ((rv = need_args(argc, 1, 2, "ls [PREFIX]")) != 0) {
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

static int
cmd_create(mps_client *c, const cli_opts *o, int argc, char **argv)
{
	int rv;
	if ((rv = need_args(argc, 3, 4, "create NAME KIND [TYPE] [options]")) != 0) {
		return rv;
	}
	mps_create_opts co = {0};
	int             kind = mps_kind_parse(argv[2]);
	if (kind <= 0) {
		return cli_fail(MPS_ERR_INVALID, "unknown kind: %s", argv[2]);
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
	co.key_type = (mps_key_type) o->key_type;
	if (o->have_count) {
		co.count = o->count;
	}
	mps_err e = mps_create(c, argv[1], &co);
	return e == MPS_OK ? 0 : cli_fail_lib(e);
}

static int
cmd_info(mps_client *c, int argc, char **argv)
{
	int rv;
	if ((rv = need_args(argc, 2, 2, "info NAME")) != 0) {
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
		if (r.status != MPS_OK) {
			rv = cli_fail(r.status, "%s", r.error[0] ? r.error : mps_strerror(r.status));
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
	if ((rv = need_args(argc, 2, 2, set ? "set-event EVENT" : "clear-event EVENT")) != 0) {
		return rv;
	}
	mps_err e = set ? mps_event_set(c, argv[1]) : mps_event_clear(c, argv[1]);
	return e == MPS_OK ? 0 : cli_fail_lib(e);
}

static int
cmd_wait(mps_client *c, const cli_opts *o, int argc, char **argv)
{
	int rv;
	if ((rv = need_args(argc, 2, 2, "wait EVENT|BARRIER [--timeout S]")) != 0) {
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
		if ((e = mps_barrier_wait(c, argv[1], cli_timeout_ms(o), &idx)) != MPS_OK) {
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
	if ((rv = need_args(argc, 2, 3, "notify CONDITION [N|all]")) != 0) {
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
cmd_with_lock(mps_client *c, const cli_opts *o, int argc, char **argv)
{
	if (argc < 3) {
		return cli_fail(MPS_ERR_INVALID, "usage: mpstore with-lock LOCK [--timeout S] -- COMMAND...");
	}
	char   *name = argv[1];
	int     i    = 2;
	if (strcmp(argv[i], "--") == 0) {
		i++;
	}
	if (i >= argc) {
		return cli_fail(MPS_ERR_INVALID, "with-lock: no COMMAND");
	}
	mps_info info;
	mps_err  e = mps_info_get(c, name, &info);
	if (e == MPS_ERR_NOT_FOUND) {
		/* like flock(1) creating its file: a missing lock is made (create
		 * is idempotent, so racing scripts agree on one lock) */
		e = mps_create_simple(c, name, MPS_KIND_LOCK, MPS_TYPE_ANY);
		if (e == MPS_OK || e == MPS_ERR_EXISTS) {
			e = mps_info_get(c, name, &info);
		}
	}
	if (e != MPS_OK) {
		return cli_fail_lib(e);
	}
	mps_kind k = info.kind;
	mps_info_free(&info);
	int sem = k == MPS_KIND_SEMAPHORE || k == MPS_KIND_BOUNDED_SEMAPHORE;
	if (sem) {
		e = mps_sem_acquire(c, name, cli_timeout_ms(o), NULL);
	} else {
		e = mps_lock_acquire(c, name, cli_timeout_ms(o), NULL);
	}
	if (e != MPS_OK) {
		return cli_fail_lib(e);
	}
	fflush(NULL);
	pid_t pid = fork();
	if (pid == 0) {
		/* child: only exec (the handle stays the parent's) */
		execvp(argv[i], &argv[i]);
		fprintf(stderr, "mpstore: ERR_INVALID: cannot run %s: %s\n", argv[i], strerror(errno));
		_exit(127);
	}
	int status = 0, rv;
	if (pid < 0) {
		rv = cli_fail(MPS_ERR_INTERNAL, "fork: %s", strerror(errno));
	} else {
		/* the keepalive thread keeps the lease while the command runs */
		signal(SIGINT, SIG_IGN);
		while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
		}
		rv = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
	}
	e = sem ? mps_sem_release(c, name, NULL) : mps_lock_release(c, name);
	if (e != MPS_OK) {
		int r2 = cli_fail_lib(e);
		return rv != 0 ? rv : r2;
	}
	return rv;
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
		if ((rv = need_args(argc, 2, 2, "backup FILE")) != 0) {
			return rv;
		}
		/* the daemon writes the file: make a relative path absolute */
		char path[4096];
		if (argv[1][0] != '/' && getcwd(path, sizeof(path)) != NULL &&
		    strlen(path) + strlen(argv[1]) + 2 < sizeof(path)) {
			strcat(path, "/");
			strcat(path, argv[1]);
		} else {
			snprintf(path, sizeof(path), "%s", argv[1]);
		}
		e = mps_backup(c, path);
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
	if ((rv = need_args(argc, 2, 2, "register-schema FILE.pb [--declared]")) != 0) {
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
	mps_err e = mps_register_schema(c, buf, n, o->declared ? MPS_FLAG_CREATE_DECLARED : 0);
	free(buf);
	return e == MPS_OK ? 0 : cli_fail_lib(e);
}

/* Take the options out of argv (up to a "--"), leaving the positional words. */
static int
parse_opts(int *argcp, char **argv, cli_opts *o)
{
	int argc = *argcp, out = 1, i;
	for (i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (strcmp(a, "--") == 0 || (out == 1 && strcmp(a, "watch") == 0)) {
			break; /* watch parses its own options */
		}
		const char *val = NULL;
#define OPT(nm) (strcmp(a, nm) == 0 && (i + 1 < argc ? (val = argv[++i], 1) : (val = NULL, 1)))
		if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
			fputs(usage_text, stdout);
			exit(0);
		} else if (strcmp(a, "--version") == 0) {
			printf("mpstore %s\n", MPS_VERSION_STRING);
			exit(0);
		} else if (OPT("--url")) {
			o->url = val;
		} else if (OPT("--timeout")) {
			char *end;
			if (val == NULL || (o->timeout_s = strtod(val, &end), *end != '\0') ||
			    o->timeout_s < 0) {
				return cli_fail(MPS_ERR_INVALID, "--timeout wants seconds (>= 0)");
			}
		} else if (OPT("--maxsize") || OPT("--parties") || OPT("--value") || OPT("--length")) {
			if (val == NULL || cli_parse_int(val, &o->count) != 0) {
				return cli_fail(MPS_ERR_INVALID, "%s wants an integer", a);
			}
			o->have_count = 1;
		} else if (strcmp(a, "--declared") == 0) {
			o->declared = 1;
		} else if (OPT("--key-type")) {
			if (val != NULL && (strcmp(val, "string") == 0 || strcmp(val, "str") == 0)) {
				o->key_type = MPS_KEY_STRING;
			} else if (val != NULL && (strcmp(val, "int64") == 0 || strcmp(val, "int") == 0)) {
				o->key_type = MPS_KEY_INT64;
			} else {
				return cli_fail(MPS_ERR_INVALID, "--key-type wants string or int64");
			}
		} else if (OPT("--if") || OPT("--then") || OPT("--else")) {
			const char **arr = a[2] == 'i' ? o->ifs : a[2] == 't' ? o->thens : o->elses;
			int         *cnt = a[2] == 'i' ? &o->nifs : a[2] == 't' ? &o->nthens : &o->nelses;
			if (val == NULL || *cnt == 32) {
				return cli_fail(MPS_ERR_INVALID, "%s wants one argument (at most 32)", a);
			}
			arr[(*cnt)++] = val;
		} else if (a[0] == '-' && a[1] == '-' && a[2] != '\0') {
			return cli_fail(MPS_ERR_INVALID, "unknown option %s", a);
		} else {
			argv[out++] = argv[i];
		}
#undef OPT
	}
	for (; i < argc; i++) {
		argv[out++] = argv[i];
	}
	argv[out] = NULL;
	*argcp    = out;
	return 0;
}

int
main(int argc, char **argv)
{
	cli_opts o = {.timeout_s = -1};
	int      rv;

	if ((rv = parse_opts(&argc, argv, &o)) != 0) {
		return rv;
	}
	if (argc < 2) {
		fputs(usage_text, stderr);
		return CLI_EXIT_USAGE;
	}
	argc--;
	argv++;
	const char *cmd = argv[0];
	static const char *const known[] = {"ls", "create", "info", "get", "set", "append", "pop",
		"del", "incr", "len", "keys", "contains", "clear", "put", "set-event", "clear-event",
		"wait", "notify", "with-lock", "txn", "snapshot", "backup", "stats", "watch", "register-schema",
		NULL};
	int ok = 0;
	for (int i = 0; known[i] != NULL; i++) {
		ok |= strcmp(cmd, known[i]) == 0;
	}
	if (!ok) {
		return cli_fail(MPS_ERR_INVALID, "unknown command: %s (see mpstore --help)", cmd);
	}

	mps_client *c;
	mps_err e = mps_open(&c, o.url, 5000);
	if (e != MPS_OK) {
		return cli_fail_lib(e);
	}
	if (strcmp(cmd, "watch") == 0) {
		rv = cli_watch(c, argc, argv);
	} else if (strcmp(cmd, "ls") == 0) {
		rv = cmd_ls(c, argc, argv);
	} else if (strcmp(cmd, "create") == 0) {
		rv = cmd_create(c, &o, argc, argv);
	} else if (strcmp(cmd, "info") == 0) {
		rv = cmd_info(c, argc, argv);
	} else if (strcmp(cmd, "set-event") == 0 || strcmp(cmd, "clear-event") == 0) {
		rv = cmd_event(c, argc, argv, cmd[0] == 's');
	} else if (strcmp(cmd, "wait") == 0) {
		rv = cmd_wait(c, &o, argc, argv);
	} else if (strcmp(cmd, "notify") == 0) {
		rv = cmd_notify(c, &o, argc, argv);
	} else if (strcmp(cmd, "with-lock") == 0) {
		rv = cmd_with_lock(c, &o, argc, argv);
	} else if (strcmp(cmd, "register-schema") == 0) {
		rv = cmd_register(c, &o, argc, argv);
	} else if (strcmp(cmd, "txn") == 0) {
		rv = argc == 1 ? cli_txn(c, &o)
		               : cli_fail(MPS_ERR_INVALID, "txn takes only --if/--then/--else");
	} else if (strcmp(cmd, "snapshot") == 0 || strcmp(cmd, "backup") == 0 ||
	    strcmp(cmd, "stats") == 0) {
		rv = cmd_admin(c, argc, argv);
	} else {
		rv = cmd_data(c, &o, argc, argv);
	}
	fflush(stdout);
	mps_close(c);
	return rv;
}
