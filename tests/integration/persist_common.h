/*
 * persist_common.h - helpers shared by the persistence integration tests
 * (tests/integration/persist_*_test.c): checks that print a clear message,
 * stop every daemon and child the test started before aborting, clients
 * that retry while a daemon restarts, stats, file checksums and direct
 * SQLite reads of a (stopped or running) daemon's database.
 */
#ifndef PERSIST_COMMON_H
#define PERSIST_COMMON_H

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <sqlite3.h>

#include "mpstore/mpstore.h"
#include "support.h"

/* ---- processes to clean up on failure ---- */

#define PT_MAX_DAEMONS 8
#define PT_MAX_KIDS    32
static mpst_daemon *pt_daemons[PT_MAX_DAEMONS];
static pid_t        pt_kids[PT_MAX_KIDS];
static pid_t        pt_main_pid;

static inline void pt_track_daemon(mpst_daemon *d)
{
	for (int i = 0; i < PT_MAX_DAEMONS; i++)
		if (pt_daemons[i] == NULL || pt_daemons[i] == d) {
			pt_daemons[i] = d;
			return;
		}
}

static inline void pt_untrack_daemon(mpst_daemon *d)
{
	for (int i = 0; i < PT_MAX_DAEMONS; i++)
		if (pt_daemons[i] == d)
			pt_daemons[i] = NULL;
}

static inline void pt_track_kid(pid_t pid)
{
	for (int i = 0; i < PT_MAX_KIDS; i++)
		if (pt_kids[i] <= 0) {
			pt_kids[i] = pid;
			return;
		}
}

static inline void pt_untrack_kid(pid_t pid)
{
	for (int i = 0; i < PT_MAX_KIDS; i++)
		if (pt_kids[i] == pid)
			pt_kids[i] = 0;
}

/* Kill (by pid) what this process started; keep the daemon's log. */
static inline void pt_cleanup_all(void)
{
	if (getpid() != pt_main_pid)
		return;
	for (int i = 0; i < PT_MAX_KIDS; i++)
		if (pt_kids[i] > 0) {
			kill(pt_kids[i], SIGKILL);
			waitpid(pt_kids[i], NULL, 0);
			pt_kids[i] = 0;
		}
	for (int i = 0; i < PT_MAX_DAEMONS; i++)
		if (pt_daemons[i] != NULL) {
			mpst_daemon *d = pt_daemons[i];
			pt_daemons[i] = NULL;
			if (d->pid > 0)
				mpst_daemon_kill(d, SIGKILL);
			if (d->dir[0]) {
				char cmd[700];
				fprintf(stderr, "---- daemon log %s (last lines) ----\n", d->log);
				snprintf(cmd, sizeof(cmd), "tail -n 30 '%s' 1>&2", d->log);
				if (system(cmd) != 0)
					fprintf(stderr, "(no log)\n");
				mpst_daemon_cleanup(d);
			}
		}
}

static inline void pt_fail(const char *file, int line, const char *fmt, ...)
    __attribute__((noreturn, format(printf, 3, 4)));
static inline void pt_fail(const char *file, int line, const char *fmt, ...)
{
	va_list ap;
	fprintf(stderr, "%s:%d: FAILED: ", file, line);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n");
	if (getpid() != pt_main_pid)
		_exit(3); /* a child: the parent reports */
	pt_cleanup_all();
	exit(1);
}

#define PT_FAIL(...) pt_fail(__FILE__, __LINE__, __VA_ARGS__)
#define PT_TRUE(cond, ...)                                                            \
	do {                                                                          \
		if (!(cond))                                                          \
			PT_FAIL("(" #cond ") " __VA_ARGS__);                           \
	} while (0)
#define PT_OK(expr)                                                                   \
	do {                                                                          \
		mps_err pt_e_ = (expr);                                               \
		if (pt_e_ != MPS_OK)                                                  \
			PT_FAIL("%s = %s (%s)", #expr, mps_err_name(pt_e_),            \
			    mps_last_error());                                        \
	} while (0)
#define PT_ERR(expr, want)                                                            \
	do {                                                                          \
		mps_err pt_e_ = (expr);                                               \
		if (pt_e_ != (want))                                                  \
			PT_FAIL("%s = %s (%s), want %s", #expr, mps_err_name(pt_e_),   \
			    mps_last_error(), mps_err_name(want));                    \
	} while (0)

static inline void pt_on_signal(int sig)
{
	(void)sig;
	pt_cleanup_all();
	_exit(2);
}

/* Call first in main. */
static inline void pt_init(void)
{
	pt_main_pid = getpid();
	signal(SIGINT, pt_on_signal);
	signal(SIGTERM, pt_on_signal);
	signal(SIGALRM, pt_on_signal);
	signal(SIGPIPE, SIG_IGN);
	setvbuf(stdout, NULL, _IOLBF, 0);
}

static inline int pt_soak(void)
{
	const char *s = getenv("MPSTORE_SOAK");
	return s != NULL && s[0] != '\0' && strcmp(s, "0") != 0;
}

/* ---- daemons and clients ---- */

static inline void pt_start(mpst_daemon *d, const char *const *extra)
{
	int rv = mpst_daemon_start(d, extra);
	pt_track_daemon(d);
	if (rv != 0)
		PT_FAIL("mpstored did not start (log %s)", d->log);
}

static inline void pt_restart(mpst_daemon *d)
{
	if (mpst_daemon_restart(d) != 0)
		PT_FAIL("mpstored did not restart (log %s)", d->log);
}

/* SIGTERM; the daemon must exit 0 (it wrote its final snapshot). */
static inline void pt_stop(mpst_daemon *d)
{
	int st = mpst_daemon_stop(d);
	if (st != 0)
		PT_FAIL("mpstored exited with %d on SIGTERM (log %s)", st, d->log);
}

static inline void pt_kill9(mpst_daemon *d)
{
	int st = mpst_daemon_kill(d, SIGKILL);
	if (st != 128 + SIGKILL)
		PT_FAIL("mpstored: kill -9 gave status %d", st);
}

static inline void pt_done(mpst_daemon *d)
{
	pt_untrack_daemon(d);
	mpst_daemon_cleanup(d);
}

/* Connect, retrying for up to ms (the daemon may be starting). */
static inline mps_client *pt_connect_ms(const mpst_daemon *d, int ms)
{
	long long   end = mpst_now_ms() + ms;
	mps_client *c = NULL;
	mps_err     e;
	do {
		if ((e = mps_open(&c, d->url, 3000)) == MPS_OK)
			return c;
		mpst_sleep_ms(20);
	} while (mpst_now_ms() < end);
	PT_FAIL("cannot connect to %s: %s (%s)", d->url, mps_err_name(e), mps_last_error());
}

static inline mps_client *pt_connect(const mpst_daemon *d)
{
	return pt_connect_ms(d, 10000);
}

/* A "key=value" line of the stats op, as an unsigned number (-1: missing). */
static inline long long pt_stat(mps_client *c, const char *key)
{
	mps_value *lines = NULL;
	size_t     n = 0;
	long long  v = -1;
	size_t     kl = strlen(key);
	PT_OK(mps_stats(c, &lines, &n));
	for (size_t i = 0; i < n; i++)
		if (lines[i].type == MPS_STRING && lines[i].u.s.len > kl &&
		    strncmp(lines[i].u.s.ptr, key, kl) == 0 && lines[i].u.s.ptr[kl] == '=')
			v = strtoll(lines[i].u.s.ptr + kl + 1, NULL, 10);
	mps_values_free(lines, n);
	return v;
}

/* The global revision (hello on a fresh connection). */
static inline uint64_t pt_revision(const mpst_daemon *d)
{
	mps_client *c = pt_connect(d);
	uint64_t    rev = mps_server(c)->revision;
	mps_close(c);
	return rev;
}

/* ---- files ---- */

/* FNV-1a of the whole file and its size (st_size); 0 hash if unreadable. */
static inline uint64_t pt_file_hash(const char *path, long long *size)
{
	uint64_t h = 1469598103934665603ull;
	int      fd = open(path, O_RDONLY);
	*size = -1;
	if (fd < 0)
		return 0;
	unsigned char buf[65536];
	ssize_t       n;
	long long     total = 0;
	while ((n = read(fd, buf, sizeof(buf))) > 0) {
		for (ssize_t i = 0; i < n; i++) {
			h ^= buf[i];
			h *= 1099511628211ull;
		}
		total += n;
	}
	close(fd);
	*size = total;
	return h;
}

static inline int pt_exists(const char *path)
{
	struct stat sb;
	return stat(path, &sb) == 0;
}

static inline long long pt_file_size(const char *path)
{
	struct stat sb;
	return stat(path, &sb) == 0 ? (long long)sb.st_size : -1;
}

/* One integer from a read-only SQL query on a database file (-1: error). */
static inline long long pt_sql_int(const char *db, const char *sql)
{
	sqlite3      *h = NULL;
	sqlite3_stmt *s = NULL;
	long long     v = -1;
	if (sqlite3_open_v2(db, &h, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
		fprintf(stderr, "sqlite3_open_v2(%s): %s\n", db, h ? sqlite3_errmsg(h) : "?");
		sqlite3_close(h);
		return -1;
	}
	sqlite3_busy_timeout(h, 5000);
	if (sqlite3_prepare_v2(h, sql, -1, &s, NULL) == SQLITE_OK && sqlite3_step(s) == SQLITE_ROW)
		v = sqlite3_column_int64(s, 0);
	else
		fprintf(stderr, "%s: %s: %s\n", db, sql, sqlite3_errmsg(h));
	sqlite3_finalize(s);
	sqlite3_close(h);
	return v;
}

/* Run SQL (read-write) on a file that no daemon uses; 0 or -1. */
static inline int pt_sql_exec(const char *db, const char *sql)
{
	sqlite3 *h = NULL;
	char    *msg = NULL;
	int      rv = -1;
	if (sqlite3_open(db, &h) == SQLITE_OK && sqlite3_exec(h, sql, NULL, NULL, &msg) == SQLITE_OK)
		rv = 0;
	else
		fprintf(stderr, "%s: %s: %s\n", db, sql, msg ? msg : (h ? sqlite3_errmsg(h) : "?"));
	sqlite3_free(msg);
	sqlite3_close(h);
	return rv;
}

static inline int pt_write_file(const char *path, const void *data, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0)
		return -1;
	ssize_t n = write(fd, data, len);
	close(fd);
	return n == (ssize_t)len ? 0 : -1;
}

/* ---- a daemon that must refuse to start ---- */

/* Run mpstored on db (an ipc address in dir) expecting it to exit within
 * 5 s; returns the exit status, stderr in err. A daemon that keeps running
 * (it accepted db) is killed and the test fails. */
static inline int pt_run_daemon(const char *dir, const char *db, char *err, size_t errlen)
{
	char       url[400], errfile[400];
	static int n;
	snprintf(url, sizeof(url), "ipc://%s/bad%d.ipc", dir, n);
	snprintf(errfile, sizeof(errfile), "%s/stderr%d.txt", dir, n++);
	pid_t pid = fork();
	PT_TRUE(pid >= 0);
	if (pid == 0) {
		int fd = open(errfile, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		if (fd >= 0) {
			dup2(fd, 2);
			dup2(fd, 1);
			close(fd);
		}
		execl(mpst_mpstored_path(), "mpstored", "--listen", url, "--pub", "", "--db", db,
		    (char *)NULL);
		_exit(127);
	}
	pt_track_kid(pid);
	long long end = mpst_now_ms() + 5000;
	int       st = 0, done = 0;
	while (mpst_now_ms() < end)
		if (waitpid(pid, &st, WNOHANG) == pid) {
			done = 1;
			break;
		} else {
			mpst_sleep_ms(10);
		}
	if (!done) {
		kill(pid, SIGKILL);
		waitpid(pid, &st, 0);
	}
	pt_untrack_kid(pid);
	err[0] = '\0';
	int fd = open(errfile, O_RDONLY);
	if (fd >= 0) {
		ssize_t k = read(fd, err, errlen - 1);
		err[k > 0 ? k : 0] = '\0';
		close(fd);
	}
	if (!done)
		PT_FAIL("mpstored accepted %s and kept running (stderr: %s)", db, err);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* mpstored refuses db: non-zero exit, one stderr line with `want` and the
 * file name, the file unchanged. */
static inline void pt_expect_refused(const char *dir, const char *what, const char *db,
    const char *want)
{
	long long   size0, size1;
	uint64_t    h0 = pt_file_hash(db, &size0);
	struct stat sb0, sb1;
	PT_TRUE(stat(db, &sb0) == 0);
	char err[4096];
	int  st = pt_run_daemon(dir, db, err, sizeof(err));
	uint64_t h1 = pt_file_hash(db, &size1);
	PT_TRUE(stat(db, &sb1) == 0);
	PT_TRUE(st != 0 && st < 128, "%s: mpstored exited with %d (want a non-zero exit)", what, st);
	size_t lines = 0;
	for (const char *p = err; *p; p++)
		lines += *p == '\n';
	PT_TRUE(lines == 1, "%s: stderr has %zu lines, want one:\n%s", what, lines, err);
	PT_TRUE(strstr(err, want) != NULL, "%s: stderr does not say '%s':\n%s", what, want, err);
	const char *base = strrchr(db, '/') ? strrchr(db, '/') + 1 : db;
	PT_TRUE(strstr(err, base) != NULL, "%s: stderr does not name the file %s:\n%s", what, base,
	    err);
	PT_TRUE(h0 == h1 && size0 == size1, "%s: the file changed (%lld -> %lld bytes)", what,
	    size0, size1);
	PT_TRUE((sb0.st_mode & 07777) == (sb1.st_mode & 07777), "%s: the file mode changed", what);
	char *nl = strchr(err, '\n');
	if (nl)
		*nl = '\0';
	printf("ok  %-28s exit %d: %s\n", what, st, err);
}

/* ---- values ---- */

/* JSON of v appended to a growing string (for state comparisons). */
typedef struct pt_buf {
	char  *s;
	size_t n, cap;
} pt_buf;

static inline void pt_buf_add(pt_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static inline void pt_buf_add(pt_buf *b, const char *fmt, ...)
{
	va_list ap;
	for (;;) {
		size_t room = b->cap - b->n;
		va_start(ap, fmt);
		int k = vsnprintf(b->s ? b->s + b->n : NULL, room, fmt, ap);
		va_end(ap);
		if (k < 0)
			PT_FAIL("vsnprintf");
		if ((size_t)k < room) {
			b->n += (size_t)k;
			return;
		}
		size_t ncap = (b->cap ? b->cap * 2 : 4096) + (size_t)k;
		char  *ns = realloc(b->s, ncap);
		if (ns == NULL)
			PT_FAIL("out of memory");
		b->s = ns;
		b->cap = ncap;
	}
}

static inline void pt_buf_value(pt_buf *b, const mps_value *v)
{
	char *j = mps_value_to_json(v);
	if (j == NULL)
		PT_FAIL("mps_value_to_json");
	pt_buf_add(b, "%s", j);
	free(j);
}

static inline void pt_buf_free(pt_buf *b)
{
	free(b->s);
	memset(b, 0, sizeof(*b));
}

/* Print the first difference of two state texts. */
static inline void pt_same_text(const char *what, const char *a, const char *b)
{
	if (strcmp(a, b) == 0)
		return;
	size_t i = 0;
	while (a[i] && a[i] == b[i])
		i++;
	size_t from = i > 200 ? i - 200 : 0;
	fprintf(stderr, "%s differs at byte %zu:\n--- before: ...%.400s\n--- after:  ...%.400s\n",
	    what, i, a + from, b + from);
	PT_FAIL("%s: state changed", what);
}

/* The whole state as text (every container, in name order, and its dump)
 * for before/after comparisons. */
static inline void pt_state_text(mps_client *c, pt_buf *b)
{
	mps_info *in = NULL;
	size_t    n = 0;
	PT_OK(mps_ls(c, NULL, &in, &n));
	for (size_t i = 0; i < n; i++) {
		pt_buf_add(b, "%s %d len %lld:", in[i].name, (int)in[i].kind, (long long)in[i].length);
		mps_dump d;
		PT_OK(mps_dump_get(c, in[i].name, &d));
		for (size_t k = 0; k < d.nvalues; k++) {
			pt_buf_add(b, " ");
			if (d.keys != NULL && k < d.nkeys) {
				pt_buf_value(b, &d.keys[k]);
				pt_buf_add(b, "=");
			}
			pt_buf_value(b, &d.values[k]);
		}
		if (d.nvalues == 0 && in[i].kind == MPS_KIND_VALUE)
			pt_buf_value(b, &d.value);
		pt_buf_add(b, " count %lld flag %d\n", (long long)d.count, d.flag);
		mps_dump_free(&d);
	}
	mps_infos_free(in, n);
}

#endif
