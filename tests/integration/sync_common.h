/* sync_common.h - shared scaffolding of the sync_*_test.c integration tests
 * (issue 6: blocking queues, locks, semaphores, events, conditions,
 * barriers, transactions) against a real mpstored.
 *
 * nng 1.5.2 aborts in a forked child of a process that has used it, so:
 *  - main() never opens a client; every scenario runs in a forked "runner"
 *    process (alarm-bounded), which reports success by its exit status;
 *  - a runner forks its workers (sync_spawn) BEFORE it opens its own client;
 *    each worker waits on its own "go" pipe, then opens its own client, runs
 *    its function and exits with its status;
 *  - workers report fixed-size records on one shared pipe (atomic writes,
 *    < PIPE_BUF); the runner reads them with sync_recv / sync_collect.
 * Times are CLOCK_MONOTONIC milliseconds (mpst_now_ms), comparable across
 * processes of this host.
 */
#ifndef SYNC_COMMON_H
#define SYNC_COMMON_H

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/select.h>
#include <sys/wait.h>
#include <unistd.h>

#include "client_test_util.h"
#include "support.h"

static mpst_daemon sync_d;      /* the daemon of the test */
static int         sync_in_runner;

/* ---- checks that also say why (mps_last_error) ---- */

#define ST_TRUE(cond, ...)                                                                 \
	do {                                                                               \
		if (!(cond)) {                                                             \
			fprintf(stderr, "%s:%d: failed: %s: ", __FILE__, __LINE__, #cond); \
			fprintf(stderr, __VA_ARGS__);                                      \
			fprintf(stderr, "\n");                                             \
			ct_die();                                                          \
		}                                                                          \
	} while (0)

/* elapsed ms in [lo, hi] */
#define ST_WITHIN(ms, lo, hi)                                                                  \
	ST_TRUE((ms) >= (lo) && (ms) <= (hi), "%s = %lld ms, want [%d, %d]", #ms, (long long)(ms), \
	    (int)(lo), (int)(hi))

/* ---- records from workers ---- */

typedef struct sync_rec {
	int64_t id;  /* worker id */
	int64_t tag; /* what the record says (test-defined) */
	int64_t a, b, c;
} sync_rec;

static int sync_res_w = -1; /* in a worker: the write end of the report pipe */

static __attribute__((unused)) void
sync_report(int64_t id, int64_t tag, int64_t a, int64_t b, int64_t c)
{
	sync_rec r = {id, tag, a, b, c};
	ssize_t  n;
	do {
		n = write(sync_res_w, &r, sizeof(r));
	} while (n < 0 && errno == EINTR);
	if (n != (ssize_t)sizeof(r)) {
		perror("sync_report");
		_exit(3);
	}
}

/* ---- workers ---- */

#define SYNC_MAX_WORKERS 32

typedef int (*sync_worker_fn)(int id, mps_client *c, void *arg);

typedef struct sync_workers {
	int   n;
	pid_t pid[SYNC_MAX_WORKERS];
	int   go_w[SYNC_MAX_WORKERS]; /* write ends of the go pipes */
	int   res_r;                  /* read end of the report pipe */
	int   done[SYNC_MAX_WORKERS];
} sync_workers;

/* Fork n workers running fn(id, own client, arg) once told to go. Must be
 * called before the calling process uses nng. open_client 0: fn gets NULL
 * (it opens clients itself, or does not need one). */
static __attribute__((unused)) void
sync_spawn(sync_workers *w, int n, sync_worker_fn fn, void *arg, int open_client)
{
	int res[2];
	CT_TRUE(n <= SYNC_MAX_WORKERS);
	CT_TRUE(pipe(res) == 0);
	memset(w, 0, sizeof(*w));
	w->n = n;
	for (int i = 0; i < n; i++) {
		int go[2];
		CT_TRUE(pipe(go) == 0);
		fflush(NULL);
		pid_t pid = fork();
		CT_TRUE(pid >= 0);
		if (pid == 0) {
			ct_on_fail = NULL;
			close(res[0]);
			close(go[1]);
			for (int k = 0; k < i; k++)
				close(w->go_w[k]);
			sync_res_w = res[1];
			char    b;
			ssize_t r;
			do {
				r = read(go[0], &b, 1);
			} while (r < 0 && errno == EINTR);
			if (r != 1)
				_exit(0); /* runner gone or not needed */
			mps_client *c = NULL;
			if (open_client && mps_open(&c, sync_d.url, 5000) != MPS_OK) {
				fprintf(stderr, "worker %d: open: %s\n", i, mps_last_error());
				_exit(2);
			}
			int rv = fn(i, c, arg);
			mps_close(c);
			_exit(rv);
		}
		close(go[0]);
		w->pid[i]  = pid;
		w->go_w[i] = go[1];
	}
	close(res[1]);
	w->res_r = res[0];
}

static __attribute__((unused)) void
sync_go(sync_workers *w, int i)
{
	char b = 'g';
	CT_TRUE(write(w->go_w[i], &b, 1) == 1);
	close(w->go_w[i]);
	w->go_w[i] = -1;
}

static __attribute__((unused)) void
sync_go_all(sync_workers *w)
{
	for (int i = 0; i < w->n; i++)
		if (w->go_w[i] >= 0)
			sync_go(w, i);
}

/* Next record, waiting up to ms; 0 on success, -1 at EOF/timeout. */
static __attribute__((unused)) int
sync_recv(sync_workers *w, sync_rec *r, int ms)
{
	long long end = mpst_now_ms() + ms;
	size_t    got = 0;
	while (got < sizeof(*r)) {
		long long left = end - mpst_now_ms();
		if (left <= 0)
			return -1;
		fd_set fds;
		FD_ZERO(&fds);
		FD_SET(w->res_r, &fds);
		struct timeval tv = {(time_t)(left / 1000), (suseconds_t)(left % 1000) * 1000};
		int            s  = select(w->res_r + 1, &fds, NULL, NULL, &tv);
		if (s < 0 && errno == EINTR)
			continue;
		if (s <= 0)
			return -1;
		ssize_t n = read(w->res_r, (char *)r + got, sizeof(*r) - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		got += (size_t)n;
	}
	return 0;
}

/* Wait for worker i to exit; its exit status (128+sig if killed). */
static __attribute__((unused)) int
sync_wait_one(sync_workers *w, int i)
{
	int st;
	if (w->done[i])
		return 0;
	while (waitpid(w->pid[i], &st, 0) < 0)
		if (errno != EINTR)
			return -1;
	w->done[i] = 1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* Wait for every worker (not yet waited for); check they exited 0. */
static __attribute__((unused)) void
sync_wait_all(sync_workers *w)
{
	for (int i = 0; i < w->n; i++) {
		if (w->go_w[i] >= 0) { /* never told to go: let it leave */
			close(w->go_w[i]);
			w->go_w[i] = -1;
		}
		if (w->done[i])
			continue;
		int rv = sync_wait_one(w, i);
		ST_TRUE(rv == 0, "worker %d exited with %d", i, rv);
	}
	close(w->res_r);
}

/* Kill and reap every worker still running (on failure paths). */
static __attribute__((unused)) void
sync_kill_all(sync_workers *w)
{
	for (int i = 0; i < w->n; i++)
		if (!w->done[i]) {
			kill(w->pid[i], SIGKILL);
			sync_wait_one(w, i);
		}
}

/* ---- scenarios ---- */

static __attribute__((unused)) void
sync_runner_fail(void)
{
	/* a runner's failure: its workers are killed by the process group */
	kill(0, SIGKILL);
}

static __attribute__((unused)) mps_client *
sync_open(void)
{
	mps_client *c = NULL;
	CT_OK(mps_open(&c, sync_d.url, 5000));
	return c;
}

/* Run fn in a forked runner (its own process group, so that a failure
 * kills its workers too), bounded by secs. Returns 0 when it passed. */
static __attribute__((unused)) int
sync_scenario(const char *name, void (*fn)(void), int secs)
{
	fprintf(stderr, "[ RUN  ] %s\n", name);
	long long t0 = mpst_now_ms();
	fflush(NULL);
	pid_t pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		setpgid(0, 0);
		sync_in_runner = 1;
		ct_on_fail     = sync_runner_fail;
		alarm((unsigned)secs);
		signal(SIGALRM, SIG_DFL);
		fn();
		fflush(NULL);
		_exit(0);
	}
	setpgid(pid, pid);
	int st;
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {
	}
	kill(-pid, SIGKILL); /* leftovers of the runner */
	int ok = WIFEXITED(st) && WEXITSTATUS(st) == 0;
	if (ok) {
		fprintf(stderr, "[  OK  ] %s (%lld ms)\n", name, mpst_now_ms() - t0);
	} else {
		fprintf(stderr, "[ FAIL ] %s (%s %d after %lld ms)\n", name,
		    WIFEXITED(st) ? "exit" : "signal", WIFEXITED(st) ? WEXITSTATUS(st) : WTERMSIG(st),
		    mpst_now_ms() - t0);
	}
	return ok ? 0 : 1;
}

static __attribute__((unused)) int
sync_soak(void)
{
	const char *s = getenv("MPSTORE_SOAK");
	return s != NULL && *s != '\0' && strcmp(s, "0") != 0;
}

/* Create a container (deleting any old one first). */
static __attribute__((unused)) void
sync_create(mps_client *c, const char *name, mps_kind kind, mps_elem_type type, int64_t count)
{
	mps_create_opts o = {.kind = kind, .elem_type = type, .count = count};
	(void)mps_delete(c, name);
	CT_OK(mps_create(c, name, &o));
}

/* The daemon's "key=value" statistic, -1 when missing. */
static __attribute__((unused)) long long
sync_stat(mps_client *c, const char *key)
{
	mps_value *lines;
	size_t     n;
	long long  v = -1;
	size_t     kl = strlen(key);
	CT_OK(mps_stats(c, &lines, &n));
	for (size_t i = 0; i < n; i++)
		if (lines[i].type == MPS_STRING && strncmp(lines[i].u.s.ptr, key, kl) == 0 &&
		    lines[i].u.s.ptr[kl] == '=')
			v = atoll(lines[i].u.s.ptr + kl + 1);
	mps_values_free(lines, n);
	return v;
}

/* Wait until the statistic equals want (up to ms); the last value seen. */
static __attribute__((unused)) long long
sync_stat_wait(mps_client *c, const char *key, long long want, int ms)
{
	long long end = mpst_now_ms() + ms, v;
	while ((v = sync_stat(c, key)) != want && mpst_now_ms() < end)
		mpst_sleep_ms(2);
	return v;
}

static __attribute__((unused)) void
sync_stop_daemon(void)
{
	if (!sync_in_runner)
		mpst_daemon_cleanup(&sync_d);
}

/* Start the test's daemon with extra args; exits on failure. */
static __attribute__((unused)) void
sync_start(const char *const *extra)
{
	signal(SIGPIPE, SIG_IGN);
	ct_on_fail = sync_stop_daemon;
	if (mpst_daemon_start(&sync_d, extra) != 0) {
		fprintf(stderr, "cannot start mpstored (see %s)\n", sync_d.log);
		exit(1);
	}
}

#endif
