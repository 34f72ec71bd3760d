/* sync.c - the commands that take and give back locks, semaphore units,
 * queue tasks and barriers: with-lock and acquire (for a command, or held
 * by a holder process in the background), release (by fencing token, or
 * semaphore units), task-done, join, reset, abort.
 *
 * Each mpstore run is its own session, and the daemon releases what a
 * session holds when it ends; so a lock that must outlive one `mpstore`
 * is held by a holder process: `mpstore acquire L` re-executes itself in
 * the background with $MPSTORE__HOLD set ("FD SHELLPID"), reports the
 * token through FD, and holds the lock until it is released by token
 * (OP_LOCK_RELEASE_TOKEN), the shell that ran acquire exits, or it gets
 * SIGTERM. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"

static int
is_lock(mps_kind k)
{
	return k == MPS_KIND_LOCK || k == MPS_KIND_RLOCK || k == MPS_KIND_CONDITION;
}

static int
is_sem(mps_kind k)
{
	return k == MPS_KIND_SEMAPHORE || k == MPS_KIND_BOUNDED_SEMAPHORE;
}

/* The kind of name; a missing one is created as a lock when create is set
 * (as flock(1) creates its file; create is idempotent, so racing scripts
 * agree on one lock). 0 or an exit status. */
static int
kind_of(mps_client *c, const char *name, int create, mps_kind *k)
{
	mps_info info;
	mps_err  e = mps_info_get(c, name, &info);
	if (e == MPS_ERR_NOT_FOUND && create) {
		e = mps_create_simple(c, name, MPS_KIND_LOCK, MPS_TYPE_ANY);
		if (e == MPS_OK || e == MPS_ERR_EXISTS) {
			e = mps_info_get(c, name, &info);
		}
	}
	if (e != MPS_OK) {
		return cli_fail_lib(e);
	}
	*k = info.kind;
	mps_info_free(&info);
	return 0;
}

/* Acquire name (a lock, rlock, condition's lock, or a semaphore unit). */
static mps_err
take(mps_client *c, const char *name, mps_kind k, int64_t timeout_ms, uint64_t *token)
{
	if (is_sem(k)) {
		return mps_sem_acquire(c, name, timeout_ms, NULL);
	}
	return mps_rlock_acquire(c, name, timeout_ms, token, NULL);
}

static mps_err
give(mps_client *c, const char *name, mps_kind k)
{
	return is_sem(k) ? mps_sem_release(c, name, NULL) : mps_lock_release(c, name);
}

/* with-lock LOCK [--timeout S] -- COMMAND... (also acquire LOCK -- COMMAND) */
static int
run_holding(mps_client *c, const cli_opts *o, int argc, char **argv)
{
	char *name = argv[1];
	int   i    = 2;
	if (i < argc && strcmp(argv[i], "--") == 0) {
		i++;
	}
	if (i >= argc) {
		return cli_fail(MPS_ERR_INVALID, "usage: mpstore %s LOCK [--timeout S] -- COMMAND...",
		    argv[0]);
	}
	mps_kind k;
	int      rv = kind_of(c, name, 1, &k);
	if (rv != 0) {
		return rv;
	}
	if (!is_lock(k) && !is_sem(k)) {
		return cli_fail(MPS_ERR_WRONG_KIND, "%s is a %s, not a lock or semaphore", name,
		    mps_kind_name(k));
	}
	mps_err e = take(c, name, k, cli_timeout_ms(o), NULL);
	if (e != MPS_OK) {
		return cli_fail_lib(e);
	}
	fflush(NULL);
	pid_t pid = fork();
	if (pid == 0) {
		/* child: only exec (the library's threads did not come along) */
		execvp(argv[i], &argv[i]);
		fprintf(stderr, "mpstore: ERR_INVALID: cannot run %s: %s\n", argv[i], strerror(errno));
		_exit(127);
	}
	int status = 0;
	if (pid < 0) {
		rv = cli_fail(MPS_ERR_INTERNAL, "fork: %s", strerror(errno));
	} else {
		/* the keepalive thread keeps the lease while the command runs */
		void (*old)(int) = signal(SIGINT, SIG_IGN);
		while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
		}
		signal(SIGINT, old);
		rv = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
	}
	if ((e = give(c, name, k)) != MPS_OK) {
		int r2 = cli_fail_lib(e);
		return rv != 0 ? rv : r2;
	}
	return rv;
}

/* ---- the background holder ---- */

static volatile sig_atomic_t hold_stop;

static void
hold_stop_cb(int sig)
{
	(void) sig;
	hold_stop = 1;
}

/* In the holder process (re-executed with $MPSTORE__HOLD = "FD SHELLPID"):
 * take the lock, report "OK TOKEN" or "E CODE MESSAGE" on FD, then hold
 * until released by token, the shell is gone, or SIGTERM/SIGINT/SIGHUP. */
static int
hold(mps_client *c, const cli_opts *o, const char *name, const char *spec)
{
	int   fd    = atoi(spec);
	pid_t shell = (pid_t) atol(strchr(spec, ' ') ? strchr(spec, ' ') + 1 : "0");
	struct sigaction sa = {.sa_handler = hold_stop_cb};
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	uint64_t token = 0;
	mps_err  e     = mps_rlock_acquire(c, name, cli_timeout_ms(o), &token, NULL);
	char     line[600];
	int      n = e == MPS_OK ? snprintf(line, sizeof(line), "OK %llu\n", (unsigned long long) token)
	                         : snprintf(line, sizeof(line), "E %d %s\n", (int) e, mps_last_error());
	/* the acquire that asked is gone (interrupted): give the lock back */
	int told = write(fd, line, (size_t) n) == n;
	close(fd);
	if (e != MPS_OK) {
		return 1;
	}
	for (int tick = 0; told && !hold_stop; tick++) {
		struct timespec ts = {0, 200 * 1000 * 1000};
		nanosleep(&ts, NULL);
		if (shell > 1 && kill(shell, 0) != 0 && errno == ESRCH) {
			break;
		}
		if (tick % 5 == 4) {
			int      locked = 0;
			uint64_t now    = 0;
			if (mps_lock_locked(c, name, &locked, &now) != MPS_OK || !locked || now != token) {
				return 0; /* released by token, deleted, or the daemon is gone */
			}
		}
	}
	mps_lock_release_token(c, name, token);
	return 0;
}

/* acquire LOCK without a command, in a one-shot run: start the holder and
 * print the token it reports. */
static int
hold_in_background(const cli_opts *o, const char *name)
{
	int fds[2];
	if (pipe(fds) != 0) {
		return cli_fail(MPS_ERR_INTERNAL, "pipe: %s", strerror(errno));
	}
	char spec[64], tmo[64];
	snprintf(spec, sizeof(spec), "%d %ld", fds[1], (long) getppid());
	snprintf(tmo, sizeof(tmo), "%.3f", o->timeout_s);
	const char *av[10];
	int         n = 0;
	av[n++]       = "mpstore";
	if (o->url != NULL) {
		av[n++] = "--url";
		av[n++] = o->url;
	}
	if (o->timeout_s >= 0) {
		av[n++] = "--timeout";
		av[n++] = tmo;
	}
	av[n++] = "acquire";
	av[n++] = name;
	av[n]   = NULL;
	fflush(NULL);
	pid_t pid = fork();
	if (pid == 0) {
		/* its own session, no terminal, our stdout closed (so that
		 * `tok=$(mpstore acquire L)` returns) */
		close(fds[0]);
		setsid();
		int dn = open("/dev/null", O_RDWR);
		if (dn >= 0) {
			dup2(dn, 0);
			dup2(dn, 1);
			dup2(dn, 2);
		}
		setenv("MPSTORE__HOLD", spec, 1);
		execv("/proc/self/exe", (char *const *) av);
		_exit(127);
	}
	close(fds[1]);
	if (pid < 0) {
		close(fds[0]);
		return cli_fail(MPS_ERR_INTERNAL, "fork: %s", strerror(errno));
	}
	char    line[600];
	size_t  len = 0;
	ssize_t r;
	while (len + 1 < sizeof(line) && (r = read(fds[0], line + len, sizeof(line) - 1 - len)) != 0) {
		if (r < 0 && errno == EINTR) {
			continue;
		}
		if (r < 0) {
			break;
		}
		len += (size_t) r;
		if (memchr(line, '\n', len) != NULL) {
			break;
		}
	}
	close(fds[0]);
	line[len] = '\0';
	if (strncmp(line, "OK ", 3) == 0) {
		printf("%s", line + 3);
		return 0;
	}
	if (line[0] == 'E' && line[1] == ' ') {
		char *msg = strchr(line + 2, ' ');
		line[strcspn(line, "\n")] = '\0';
		return cli_fail((mps_err) atoi(line + 2), "%s", msg != NULL ? msg + 1 : "");
	}
	int status;
	waitpid(pid, &status, 0);
	return cli_fail(MPS_ERR_INTERNAL, "the holder process ended without taking %s", name);
}

static int
cmd_acquire(mps_client *c, const cli_opts *o, int argc, char **argv)
{
	if (argc < 2) {
		return cli_fail(MPS_ERR_INVALID, "usage: mpstore acquire LOCK [--timeout S] [-- COMMAND...]");
	}
	if (argc > 2) {
		return run_holding(c, o, argc, argv);
	}
	const char *spec = getenv("MPSTORE__HOLD");
	if (spec != NULL) {
		unsetenv("MPSTORE__HOLD");
		return hold(c, o, argv[1], spec);
	}
	mps_kind k;
	int      rv = kind_of(c, argv[1], 1, &k);
	if (rv != 0) {
		return rv;
	}
	if (!is_lock(k) && !is_sem(k)) {
		return cli_fail(MPS_ERR_WRONG_KIND, "%s is a %s, not a lock or semaphore", argv[1],
		    mps_kind_name(k));
	}
	if (o->interactive) {
		/* one session for every line: held until release or quit */
		uint64_t token = 0;
		mps_err  e     = take(c, argv[1], k, cli_timeout_ms(o), &token);
		if (e != MPS_OK) {
			return cli_fail_lib(e);
		}
		if (!is_sem(k)) {
			printf("%llu\n", (unsigned long long) token);
		}
		return 0;
	}
	if (k == MPS_KIND_LOCK || k == MPS_KIND_RLOCK) {
		return hold_in_background(o, argv[1]);
	}
	return cli_fail(MPS_ERR_INVALID,
	    "%s is a %s: what an mpstore run takes of it is given back when the run ends "
	    "(each run is its own session). Use `mpstore acquire %s -- COMMAND` (or with-lock), "
	    "or the interactive mode (mpstore with no command), where acquire and release share "
	    "one session",
	    argv[1], mps_kind_name(k), argv[1]);
}

static int
cmd_release(mps_client *c, const cli_opts *o, int argc, char **argv)
{
	if (argc < 2 || argc > 3) {
		return cli_fail(MPS_ERR_INVALID, "usage: mpstore release LOCK --token T | SEMAPHORE [N]");
	}
	mps_kind k;
	int      rv = kind_of(c, argv[1], 0, &k);
	mps_err  e;
	if (rv != 0) {
		return rv;
	}
	if (is_sem(k)) {
		int64_t n = 1;
		if (o->given & CLI_O_TOKEN) {
			return cli_fail(MPS_ERR_INVALID, "semaphore units have no token: mpstore release %s [N]",
			    argv[1]);
		}
		if (argc == 3 && (cli_parse_int(argv[2], &n) != 0 || n < 1)) {
			return cli_fail(MPS_ERR_INVALID, "N must be an integer >= 1: %s", argv[2]);
		}
		mps_op     op = {.code = MPS_OP_SEM_RELEASE, .name = argv[1], .count = n};
		mps_batch *b  = NULL;
		mps_result r  = {0};
		if ((e = mps_batch_alloc(c, &b)) == MPS_OK && (e = mps_batch_append(b, &op)) == MPS_OK &&
		    (e = mps_batch_exec(b)) == MPS_OK && (e = mps_batch_result(b, 0, &r)) == MPS_OK &&
		    r.status != MPS_OK) {
			rv = cli_fail_result(r.status, r.error);
		} else if (e != MPS_OK) {
			rv = cli_fail_lib(e);
		} else {
			printf("%lld\n", (long long) r.count);
		}
		mps_batch_free(b);
		return rv;
	}
	if (!is_lock(k)) {
		return cli_fail(MPS_ERR_WRONG_KIND, "%s is a %s, not a lock or semaphore", argv[1],
		    mps_kind_name(k));
	}
	if (argc != 2) {
		return cli_fail(MPS_ERR_INVALID, "usage: mpstore release LOCK --token T");
	}
	if (o->given & CLI_O_TOKEN) {
		e = mps_lock_release_token(c, argv[1], o->token);
	} else if (o->interactive) {
		e = mps_lock_release(c, argv[1]);
	} else {
		return cli_fail(MPS_ERR_INVALID,
		    "release of a lock from the command line needs its fencing token: mpstore release "
		    "%s --token T (acquire printed it; `mpstore get %s` shows the holder's)",
		    argv[1], argv[1]);
	}
	return e == MPS_OK ? 0 : cli_fail_lib(e);
}

/* task-done QUEUE [N]: N task_done ops in one txn; prints what is left */
static int
cmd_task_done(mps_client *c, int argc, char **argv)
{
	int64_t n = 1;
	if (argc < 2 || argc > 3) {
		return cli_fail(MPS_ERR_INVALID, "usage: mpstore task-done QUEUE [N]");
	}
	if (argc == 3 && (cli_parse_int(argv[2], &n) != 0 || n < 1 || n > 100000)) {
		return cli_fail(MPS_ERR_INVALID, "N must be an integer from 1 to 100000: %s", argv[2]);
	}
	mps_op     op = {.code = MPS_OP_QUEUE_TASK_DONE, .name = argv[1]};
	mps_batch *b  = NULL;
	mps_err    e  = mps_batch_alloc(c, &b);
	for (int64_t i = 0; i < n && e == MPS_OK; i++) {
		e = mps_batch_append(b, &op);
	}
	/* as a txn without compares: all N or none */
	if (e == MPS_OK && (e = mps_txn_else(b)) == MPS_OK) {
		e = mps_batch_exec(b);
	}
	int rv = 0;
	if (e != MPS_OK) {
		rv = cli_fail_lib(e);
	} else {
		mps_result r = {0};
		int64_t    left = 0;
		for (size_t i = 0; i < mps_batch_nresults(b); i++) {
			mps_batch_result(b, i, &r);
			if (r.status != MPS_OK) {
				rv = cli_fail_result(r.status, r.error);
				break;
			}
			left = r.count;
		}
		if (rv == 0) {
			printf("%lld\n", (long long) left);
		}
	}
	mps_batch_free(b);
	return rv;
}

int
cli_sync_cmd(mps_client *c, const cli_opts *o, int argc, char **argv)
{
	const char *cmd = argv[0];
	mps_err     e;
	if (strcmp(cmd, "with-lock") == 0) {
		if (argc < 3) {
			return cli_fail(MPS_ERR_INVALID, "usage: mpstore with-lock LOCK [--timeout S] -- COMMAND...");
		}
		return run_holding(c, o, argc, argv);
	}
	if (strcmp(cmd, "acquire") == 0) {
		return cmd_acquire(c, o, argc, argv);
	}
	if (strcmp(cmd, "release") == 0) {
		return cmd_release(c, o, argc, argv);
	}
	if (strcmp(cmd, "task-done") == 0) {
		return cmd_task_done(c, argc, argv);
	}
	if (argc != 2) {
		const cli_cmd *def = cli_cmd_find(cmd);
		return cli_fail(MPS_ERR_INVALID, "usage: mpstore %s %s", cmd, def->args);
	}
	if (strcmp(cmd, "join") == 0) {
		e = mps_queue_join(c, argv[1], cli_timeout_ms(o));
	} else if (strcmp(cmd, "reset") == 0) {
		e = mps_barrier_reset(c, argv[1]);
	} else {
		e = mps_barrier_abort(c, argv[1]);
	}
	return e == MPS_OK ? 0 : cli_fail_lib(e);
}
