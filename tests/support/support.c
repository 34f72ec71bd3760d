/* support.c - daemon start/stop and program runs for tests. */
#include "support.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

long long mpst_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void mpst_sleep_ms(int ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

const char *mpst_mpstored_path(void)
{
	const char *p = getenv("MPSTORED");
	return p != NULL ? p : MPSTORED_PATH;
}

const char *mpst_cli_path(void)
{
	const char *p = getenv("MPSTORE_CLI");
	return p != NULL ? p : MPSTORE_CLI_PATH;
}

/*
 * Ready when a ping gets an answer (`mpstored --ping URL`, in its own
 * process: nng does not survive fork(), so the test process stays free of
 * nng for the workers it forks later; and a bare connect-and-close would
 * not do, nng 1.5.2's listeners choke on peers that leave before the
 * handshake).
 */
static int ping_ok(const char *url)
{
	const char *argv[] = {mpst_mpstored_path(), "--ping", url, NULL};
	return mpst_run(argv, NULL, 0, NULL, 0) == 0;
}

int mpst_daemon_wait_ready(mpst_daemon *d, int ms)
{
	long long end = mpst_now_ms() + ms;
	while (mpst_now_ms() < end) {
		int st;
		if (d->pid > 0 && waitpid(d->pid, &st, WNOHANG) == d->pid) {
			d->pid = -1;
			return -1;
		}
		if (ping_ok(d->url))
			return 0;
		mpst_sleep_ms(20);
	}
	return -1;
}

static int spawn(mpst_daemon *d)
{
	const char *argv[48];
	int         n = 0;
	argv[n++] = mpst_mpstored_path();
	argv[n++] = "--listen";
	argv[n++] = d->url;
	if (!d->default_pub) {
		argv[n++] = "--pub";
		argv[n++] = d->pub_url;
	}
	argv[n++] = "--db";
	argv[n++] = d->db;
	for (int i = 0; d->extra != NULL && d->extra[i] != NULL && n < 46; i++)
		argv[n++] = d->extra[i];
	argv[n] = NULL;
	unlink(d->url + 6); /* a killed daemon leaves its socket file */
	unlink(d->pub_url + 6);
	pid_t pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		int fd = open(d->log, O_WRONLY | O_CREAT | O_APPEND, 0644);
		if (fd >= 0) {
			dup2(fd, 2);
			dup2(fd, 1);
			close(fd);
		}
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	d->pid = pid;
	return mpst_daemon_wait_ready(d, 10000);
}

static int prepare(mpst_daemon *d, const char *const *extra_args)
{
	memset(d, 0, sizeof(*d));
	const char *tmp = getenv("TMPDIR");
	snprintf(d->dir, sizeof(d->dir), "%s/mpst.XXXXXX", tmp != NULL ? tmp : "/tmp");
	if (mkdtemp(d->dir) == NULL)
		return -1;
	snprintf(d->url, sizeof(d->url), "ipc://%s/rep.ipc", d->dir);
	snprintf(d->pub_url, sizeof(d->pub_url), "ipc://%s/pub.ipc", d->dir);
	snprintf(d->db, sizeof(d->db), "%s/mpstore.db", d->dir);
	snprintf(d->log, sizeof(d->log), "%s/mpstored.log", d->dir);
	int i = 0;
	for (; extra_args != NULL && extra_args[i] != NULL && i < 31; i++)
		d->extra_copy[i] = extra_args[i];
	d->extra_copy[i] = NULL;
	d->extra = d->extra_copy;
	return 0;
}

int mpst_daemon_start(mpst_daemon *d, const char *const *extra_args)
{
	return prepare(d, extra_args) == 0 ? spawn(d) : -1;
}

int mpst_daemon_start_default_pub(mpst_daemon *d, const char *const *extra_args)
{
	if (prepare(d, extra_args) != 0)
		return -1;
	d->default_pub = 1;
	snprintf(d->pub_url, sizeof(d->pub_url), "ipc://%s/rep-pub.ipc", d->dir);
	return spawn(d);
}

int mpst_daemon_restart(mpst_daemon *d)
{
	if (d->pid > 0)
		mpst_daemon_stop(d);
	return spawn(d);
}

static int wait_exit(pid_t pid, int ms)
{
	long long end = mpst_now_ms() + ms;
	int       st;
	for (;;) {
		pid_t r = waitpid(pid, &st, WNOHANG);
		if (r == pid)
			return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
		if (r < 0)
			return -1;
		if (mpst_now_ms() >= end)
			return -2;
		mpst_sleep_ms(5);
	}
}

int mpst_daemon_kill(mpst_daemon *d, int sig)
{
	if (d->pid <= 0)
		return -1;
	kill(d->pid, sig);
	int rv = wait_exit(d->pid, 10000);
	if (rv == -2) {
		kill(d->pid, SIGKILL);
		rv = wait_exit(d->pid, 10000);
	}
	d->pid = -1;
	return rv;
}

int mpst_daemon_stop(mpst_daemon *d)
{
	return mpst_daemon_kill(d, SIGTERM);
}

void mpst_daemon_cleanup(mpst_daemon *d)
{
	if (d->pid > 0)
		mpst_daemon_kill(d, SIGKILL);
	if (d->dir[0] != '\0' && getenv("MPST_KEEP") == NULL) {
		char cmd[400];
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", d->dir);
		if (system(cmd) != 0)
			fprintf(stderr, "could not remove %s\n", d->dir);
	}
	d->dir[0] = '\0';
}

/* Append what fd has to buf; returns 0 at end of file. */
static int drain(int fd, char *buf, size_t len, size_t *used)
{
	char    tmp[4096];
	ssize_t n = read(fd, tmp, sizeof(tmp));
	if (n < 0)
		return errno == EINTR || errno == EAGAIN;
	if (n == 0)
		return 0;
	if (buf != NULL && *used + 1 < len) {
		size_t k = (size_t)n;
		if (k > len - 1 - *used)
			k = len - 1 - *used;
		memcpy(buf + *used, tmp, k);
		*used += k;
		buf[*used] = '\0';
	}
	return 1;
}

int mpst_run(const char *const argv[], char *out, size_t outlen, char *err, size_t errlen)
{
	return mpst_run_ms(argv, out, outlen, err, errlen, 60000);
}

int mpst_run_ms(const char *const argv[], char *out, size_t outlen, char *err, size_t errlen,
    int limit_ms)
{
	int po[2], pe[2];
	if (out != NULL && outlen)
		out[0] = '\0';
	if (err != NULL && errlen)
		err[0] = '\0';
	if (pipe(po) != 0 || pipe(pe) != 0)
		return -1;
	pid_t pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		int nul = open("/dev/null", O_RDONLY);
		dup2(nul, 0);
		dup2(po[1], 1);
		dup2(pe[1], 2);
		close(po[0]);
		close(pe[0]);
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	close(po[1]);
	close(pe[1]);
	size_t    uo = 0, ue = 0;
	int       open_fds = 2;
	long long end = mpst_now_ms() + limit_ms;
	struct pollfd p[2] = {{po[0], POLLIN, 0}, {pe[0], POLLIN, 0}};
	while (open_fds > 0 && mpst_now_ms() < end) {
		if (poll(p, 2, 100) <= 0)
			continue;
		for (int i = 0; i < 2; i++) {
			if (p[i].fd < 0 || p[i].revents == 0)
				continue;
			if (!drain(p[i].fd, i == 0 ? out : err, i == 0 ? outlen : errlen,
			        i == 0 ? &uo : &ue)) {
				close(p[i].fd);
				p[i].fd = -1;
				open_fds--;
			}
		}
	}
	for (int i = 0; i < 2; i++)
		if (p[i].fd >= 0)
			close(p[i].fd);
	int rv = wait_exit(pid, mpst_now_ms() < end ? 60000 : 0);
	if (rv == -2) {
		kill(pid, SIGKILL);
		rv = wait_exit(pid, 5000);
	}
	return rv;
}

int mpst_ipc_connect(const char *ipc_url)
{
	struct sockaddr_un sa;
	if (strncmp(ipc_url, "ipc://", 6) != 0 || strlen(ipc_url + 6) >= sizeof(sa.sun_path))
		return -1;
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	strcpy(sa.sun_path, ipc_url + 6);
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);
	if (fd < 0)
		return -1;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		close(fd);
		return -1;
	}
	struct timeval tv = {5, 0};
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	return fd;
}

int mpst_sp_handshake(int fd, int proto, int peer)
{
	/* \0 S P \0, 16-bit protocol number, two reserved bytes */
	uint8_t hs[8] = {0, 'S', 'P', 0, (uint8_t)(proto >> 8), (uint8_t)proto, 0, 0};
	uint8_t got[8];
	if (send(fd, hs, sizeof(hs), MSG_NOSIGNAL) != (ssize_t)sizeof(hs) ||
	    recv(fd, got, sizeof(got), MSG_WAITALL) != (ssize_t)sizeof(got))
		return -1;
	return got[1] == 'S' && got[2] == 'P' && ((got[4] << 8) | got[5]) == peer ? 0 : -1;
}
