/*
 * support.h - start, stop and kill a real mpstored for tests, each on its
 * own temporary directory and ipc address (tests run in parallel), and run
 * programs capturing their output.
 */
#ifndef MPST_SUPPORT_H
#define MPST_SUPPORT_H

#include <stddef.h>
#include <sys/types.h>

typedef struct mpst_daemon {
	pid_t pid;
	char  dir[256];     /* temporary directory, removed by cleanup */
	char  url[300];     /* ipc://DIR/rep.ipc */
	char  pub_url[300]; /* ipc://DIR/pub.ipc */
	char  db[300];      /* DIR/mpstore.db */
	char  log[300];     /* DIR/mpstored.log: the daemon's stderr */
	const char *const *extra;
	const char *extra_copy[32];
	int         default_pub; /* started without --pub */
} mpst_daemon;

const char *mpst_mpstored_path(void); /* $MPSTORED or the build's */
const char *mpst_cli_path(void);      /* $MPSTORE_CLI or the build's */

/* Make the directory and start the daemon with --listen url --pub pub_url
 * --db db and extra_args (NULL-terminated, or NULL); waits until it
 * answers (up to 10 s). Returns 0 or -1 (the log tells why). */
int mpst_daemon_start(mpst_daemon *d, const char *const *extra_args);
/* The same without --pub: the daemon derives its PUB address from its
 * --listen address; pub_url is what it should derive (ipc://DIR/rep-pub.ipc). */
int mpst_daemon_start_default_pub(mpst_daemon *d, const char *const *extra_args);
/* Start again with the same directory, addresses, db and extra args. */
int mpst_daemon_restart(mpst_daemon *d);
/* SIGTERM and wait (up to 10 s, then SIGKILL); returns the exit status
 * (0..255), 128+signal if killed, -1 if not running. */
int mpst_daemon_stop(mpst_daemon *d);
/* Send sig and wait for the process to end. */
int mpst_daemon_kill(mpst_daemon *d, int sig);
/* Stop if running, remove the directory. */
void mpst_daemon_cleanup(mpst_daemon *d);
/* Wait until the daemon accepts requests (ipc socket up), up to ms. */
int mpst_daemon_wait_ready(mpst_daemon *d, int ms);

/* Run argv (argv[0] a path), capture stdout/stderr (NUL-terminated,
 * truncated to the buffers; NULL to discard), return the exit status or
 * 128+signal. Stdin is /dev/null. Times out after 60 s (kills it). */
int mpst_run(const char *const argv[], char *out, size_t outlen, char *err, size_t errlen);
/* Same with a limit of limit_ms (mpst_run: 60 s) for the whole run. */
int mpst_run_ms(const char *const argv[], char *out, size_t outlen, char *err, size_t errlen,
    int limit_ms);

/* A plain Unix socket connected to the path of an ipc:// URL, with 5 s
 * send and receive timeouts: a peer that speaks SP by hand (what nng would
 * not let a test do). -1 on failure. */
int mpst_ipc_connect(const char *ipc_url);
/* The SP handshake on fd as protocol proto (0x30: REQ0); 0 when the peer
 * answered as its peer protocol (0x31: REP0), else -1. */
int mpst_sp_handshake(int fd, int proto, int peer);

/* Milliseconds of a monotonic clock, and sleep. */
long long mpst_now_ms(void);
void      mpst_sleep_ms(int ms);

#endif
