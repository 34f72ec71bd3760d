/*
 * echo_bench - a bare nng REQ/REP echo: the transport ceiling under
 * mpstore-bench.
 *
 *   echo_bench --server URL                 serve until SIGTERM/SIGINT
 *   echo_bench [--url URL] [-c N] [-n N] [-P OPS] [-d BYTES] [-m MODES] [--csv]
 *
 * Without --url a server is forked (before any nng call, since nng is not
 * fork-safe) on a fresh ipc:// address and stopped at the end.
 *
 * Client modes (-m, comma list; test names in the report):
 *   seq      one client, one request at a time, ctx + aio (the cheapest way;
 *            send aio without callback, resend timer off): echo_seq
 *   seqblk   one client, blocking nng_sendmsg/nng_recvmsg: echo_seq_blocking
 *   ctx      one REQ socket, N contexts driven by aio callbacks, one request
 *            in flight per context (how libmpstore should drive nng): echo_ctx
 *   threads  N threads, each its own REQ socket, blocking send/recv (the
 *            naive pattern): echo_threads
 * With -P OPS each message carries OPS payloads of -d bytes and counts as OPS
 * operations (what a batched/pipelined protocol can do): names get "_pOPS".
 *
 * The server is the pattern NNG-PERFORMANCE.md measured best: a cooked REP
 * socket with 64 contexts, each driven by an aio callback that replies on a
 * second aio without callback and posts the next receive at once.
 */
#include "bench_util.h"

#include <nng/nng.h>
#include <nng/protocol/reqrep0/rep.h>
#include <nng/protocol/reqrep0/req.h>
#include <nng/supplemental/util/platform.h>

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define SERVER_CTXS 64

static void
die_nng(const char *what, int rv)
{
	fprintf(stderr, "echo_bench: %s: %s\n", what, nng_strerror(rv));
	exit(1);
}

/* ---- server ---- */

typedef struct srv_slot {
	nng_ctx ctx;
	nng_aio *rx;
	nng_aio *tx;
} srv_slot;

static void
srv_rx_cb(void *arg)
{
	srv_slot *s = arg;
	int rv = nng_aio_result(s->rx);
	if (rv == NNG_ECLOSED)
		return;
	if (rv == 0) {
		/* the previous reply on this context must be done before reuse */
		nng_aio_wait(s->tx);
		if (nng_aio_result(s->tx) != 0 && nng_aio_get_msg(s->tx) != NULL) {
			nng_msg_free(nng_aio_get_msg(s->tx));
		}
		nng_aio_set_msg(s->tx, nng_aio_get_msg(s->rx));
		nng_ctx_send(s->ctx, s->tx);
	}
	nng_ctx_recv(s->ctx, s->rx);
}

static volatile sig_atomic_t srv_stop;
static void
srv_sig(int sig)
{
	(void) sig;
	srv_stop = 1;
}

static int
run_server(const char *url, int ready_fd)
{
	nng_socket sock;
	int rv;
	if ((rv = nng_rep0_open(&sock)) != 0)
		die_nng("nng_rep0_open", rv);
	nng_socket_set_size(sock, NNG_OPT_RECVMAXSZ, 0);
	if ((rv = nng_listen(sock, url, NULL, 0)) != 0)
		die_nng("nng_listen", rv);
	static srv_slot slots[SERVER_CTXS];
	for (int i = 0; i < SERVER_CTXS; i++) {
		srv_slot *s = &slots[i];
		if ((rv = nng_ctx_open(&s->ctx, sock)) != 0 ||
		    (rv = nng_aio_alloc(&s->rx, srv_rx_cb, s)) != 0 ||
		    (rv = nng_aio_alloc(&s->tx, NULL, NULL)) != 0)
			die_nng("server setup", rv);
		nng_ctx_recv(s->ctx, s->rx);
	}
	signal(SIGTERM, srv_sig);
	signal(SIGINT, srv_sig);
	if (ready_fd >= 0) {
		(void) !write(ready_fd, "R", 1);
		close(ready_fd);
	}
	while (!srv_stop)
		nng_msleep(50);
	nng_close(sock);
	return 0;
}

/* ---- client common ---- */

static const char *g_url;
static int g_size = 64;   /* bytes per op */
static int g_pipe = 1;    /* ops per message */
static int g_csv;

static nng_socket
client_socket(void)
{
	nng_socket s;
	int rv;
	if ((rv = nng_req0_open(&s)) != 0)
		die_nng("nng_req0_open", rv);
	/* our own timeout instead of the 60 s resend timer (NNG-PERFORMANCE.md) */
	nng_socket_set_ms(s, NNG_OPT_REQ_RESENDTIME, NNG_DURATION_INFINITE);
	nng_socket_set_size(s, NNG_OPT_RECVMAXSZ, 0);
	for (int tries = 0;; tries++) {
		rv = nng_dial(s, g_url, NULL, 0);
		if (rv == 0)
			break;
		if (tries > 100)
			die_nng("nng_dial", rv);
		nng_msleep(20);
	}
	return s;
}

static nng_msg *
make_msg(void)
{
	nng_msg *m;
	int rv;
	if ((rv = nng_msg_alloc(&m, (size_t) g_size * (size_t) g_pipe)) != 0)
		die_nng("nng_msg_alloc", rv);
	memset(nng_msg_body(m), 'x', nng_msg_len(m));
	return m;
}

/* ---- seq: ctx + aio, one at a time ---- */

static void
mode_seq(long n, mpsb_hist *h, uint64_t *elapsed)
{
	nng_socket s = client_socket();
	nng_ctx ctx;
	nng_aio *tx, *rx;
	int rv;
	if ((rv = nng_ctx_open(&ctx, s)) != 0 || (rv = nng_aio_alloc(&tx, NULL, NULL)) != 0 ||
	    (rv = nng_aio_alloc(&rx, NULL, NULL)) != 0)
		die_nng("seq setup", rv);
	nng_msg *m = make_msg();
	uint64_t t0 = mpsb_now_ns();
	for (long i = 0; i < n; i++) {
		uint64_t a = mpsb_now_ns();
		nng_aio_set_msg(tx, m);
		nng_ctx_send(ctx, tx);
		nng_ctx_recv(ctx, rx);
		nng_aio_wait(rx);
		if ((rv = nng_aio_result(rx)) != 0)
			die_nng("seq recv", rv);
		nng_aio_wait(tx);
		m = nng_aio_get_msg(rx);
		uint64_t lat = mpsb_now_ns() - a;
		for (int k = 0; k < g_pipe; k++)
			mpsb_hist_add(h, lat);
	}
	*elapsed = mpsb_now_ns() - t0;
	nng_msg_free(m);
	nng_aio_free(tx);
	nng_aio_free(rx);
	nng_close(s);
}

/* ---- seqblk: blocking send/recv ---- */

static void
mode_seqblk(long n, mpsb_hist *h, uint64_t *elapsed)
{
	nng_socket s = client_socket();
	nng_msg *m = make_msg();
	int rv;
	uint64_t t0 = mpsb_now_ns();
	for (long i = 0; i < n; i++) {
		uint64_t a = mpsb_now_ns();
		if ((rv = nng_sendmsg(s, m, 0)) != 0)
			die_nng("sendmsg", rv);
		if ((rv = nng_recvmsg(s, &m, 0)) != 0)
			die_nng("recvmsg", rv);
		uint64_t lat = mpsb_now_ns() - a;
		for (int k = 0; k < g_pipe; k++)
			mpsb_hist_add(h, lat);
	}
	*elapsed = mpsb_now_ns() - t0;
	nng_msg_free(m);
	nng_close(s);
}

/* ---- ctx: one socket, N contexts, aio callbacks ---- */

typedef struct cli_slot {
	nng_ctx ctx;
	nng_aio *tx;
	nng_aio *rx;
	nng_msg *msg;
	uint64_t sent_at;
	mpsb_hist hist;
	struct cli_run *run;
} cli_slot;

typedef struct cli_run {
	atomic_long to_send; /* messages not yet started */
	int active;          /* slots still running */
	pthread_mutex_t mu;
	pthread_cond_t cv;
} cli_run;

static void
slot_finish(cli_slot *s)
{
	pthread_mutex_lock(&s->run->mu);
	if (--s->run->active == 0)
		pthread_cond_signal(&s->run->cv);
	pthread_mutex_unlock(&s->run->mu);
}

static void
slot_send(cli_slot *s)
{
	s->sent_at = mpsb_now_ns();
	nng_aio_set_msg(s->tx, s->msg);
	s->msg = NULL;
	nng_ctx_send(s->ctx, s->tx);
	nng_ctx_recv(s->ctx, s->rx);
}

static void
cli_rx_cb(void *arg)
{
	cli_slot *s = arg;
	int rv = nng_aio_result(s->rx);
	if (rv != 0) {
		fprintf(stderr, "echo_bench: ctx recv: %s\n", nng_strerror(rv));
		slot_finish(s);
		return;
	}
	uint64_t lat = mpsb_now_ns() - s->sent_at;
	for (int k = 0; k < g_pipe; k++)
		mpsb_hist_add(&s->hist, lat);
	nng_aio_wait(s->tx);
	s->msg = nng_aio_get_msg(s->rx);
	if (atomic_fetch_sub(&s->run->to_send, 1) > 0)
		slot_send(s);
	else
		slot_finish(s);
}

static void
mode_ctx(int clients, long n, mpsb_hist *h, uint64_t *elapsed)
{
	nng_socket s = client_socket();
	cli_run run;
	int rv;
	atomic_init(&run.to_send, n);
	run.active = clients;
	pthread_mutex_init(&run.mu, NULL);
	pthread_cond_init(&run.cv, NULL);
	cli_slot *slots = calloc((size_t) clients, sizeof(*slots));
	if (slots == NULL) {
		perror("calloc");
		exit(1);
	}
	for (int i = 0; i < clients; i++) {
		cli_slot *c = &slots[i];
		c->run = &run;
		mpsb_hist_init(&c->hist);
		if ((rv = nng_ctx_open(&c->ctx, s)) != 0 ||
		    (rv = nng_aio_alloc(&c->tx, NULL, NULL)) != 0 ||
		    (rv = nng_aio_alloc(&c->rx, cli_rx_cb, c)) != 0)
			die_nng("ctx setup", rv);
		c->msg = make_msg();
	}
	uint64_t t0 = mpsb_now_ns();
	pthread_mutex_lock(&run.mu);
	for (int i = 0; i < clients; i++) {
		if (atomic_fetch_sub(&run.to_send, 1) > 0)
			slot_send(&slots[i]);
		else
			run.active--;
	}
	while (run.active > 0)
		pthread_cond_wait(&run.cv, &run.mu);
	pthread_mutex_unlock(&run.mu);
	*elapsed = mpsb_now_ns() - t0;
	for (int i = 0; i < clients; i++) {
		mpsb_hist_merge(h, &slots[i].hist);
		nng_aio_free(slots[i].rx);
		nng_aio_free(slots[i].tx);
		nng_ctx_close(slots[i].ctx);
		nng_msg_free(slots[i].msg);
	}
	nng_close(s);
	free(slots);
}

/* ---- threads: N threads, own socket each, blocking ---- */

typedef struct thr_arg {
	pthread_t tid;
	long n;
	mpsb_hist hist;
	pthread_barrier_t *bar;
} thr_arg;

static void *
thr_main(void *p)
{
	thr_arg *a = p;
	nng_socket s = client_socket();
	nng_msg *m = make_msg();
	int rv;
	pthread_barrier_wait(a->bar);
	for (long i = 0; i < a->n; i++) {
		uint64_t t = mpsb_now_ns();
		if ((rv = nng_sendmsg(s, m, 0)) != 0 || (rv = nng_recvmsg(s, &m, 0)) != 0)
			die_nng("thread send/recv", rv);
		uint64_t lat = mpsb_now_ns() - t;
		for (int k = 0; k < g_pipe; k++)
			mpsb_hist_add(&a->hist, lat);
	}
	nng_msg_free(m);
	nng_close(s);
	return NULL;
}

static void
mode_threads(int clients, long n, mpsb_hist *h, uint64_t *elapsed)
{
	thr_arg *a = calloc((size_t) clients, sizeof(*a));
	pthread_barrier_t bar;
	pthread_barrier_init(&bar, NULL, (unsigned) clients + 1);
	for (int i = 0; i < clients; i++) {
		a[i].n = n / clients + (i < n % clients);
		a[i].bar = &bar;
		mpsb_hist_init(&a[i].hist);
		pthread_create(&a[i].tid, NULL, thr_main, &a[i]);
	}
	pthread_barrier_wait(&bar);
	uint64_t t0 = mpsb_now_ns();
	for (int i = 0; i < clients; i++)
		pthread_join(a[i].tid, NULL);
	*elapsed = mpsb_now_ns() - t0;
	for (int i = 0; i < clients; i++)
		mpsb_hist_merge(h, &a[i].hist);
	pthread_barrier_destroy(&bar);
	free(a);
}

static void
usage(void)
{
	fprintf(stderr,
	        "usage: echo_bench --server URL\n"
	        "       echo_bench [--url URL] [-c CLIENTS] [-n REQUESTS] [-P OPS_PER_MSG]\n"
	        "                  [-d BYTES] [-m seq,seqblk,ctx,threads] [--csv]\n"
	        "  -n counts operations (messages x OPS_PER_MSG); default -c 50 -n 100000\n"
	        "  -d 64 -P 1 -m seq,ctx,threads\n");
	exit(2);
}

int
main(int argc, char **argv)
{
	const char *server_url = NULL;
	int clients = 50;
	long n = 100000;
	char modes[256] = "seq,ctx,threads";
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		const char *v = (i + 1 < argc) ? argv[i + 1] : NULL;
#define NEED_ARG()                                                                                 \
	do {                                                                                       \
		if (v == NULL)                                                                     \
			usage();                                                                   \
		i++;                                                                               \
	} while (0)
		if (!strcmp(a, "--server")) {
			NEED_ARG();
			server_url = v;
		} else if (!strcmp(a, "--url")) {
			NEED_ARG();
			g_url = v;
		} else if (!strcmp(a, "-c")) {
			NEED_ARG();
			clients = atoi(v);
		} else if (!strcmp(a, "-n")) {
			NEED_ARG();
			n = (long) mpsb_parse_count(v);
		} else if (!strcmp(a, "-P")) {
			NEED_ARG();
			g_pipe = atoi(v);
		} else if (!strcmp(a, "-d")) {
			NEED_ARG();
			g_size = atoi(v);
		} else if (!strcmp(a, "-m") || !strcmp(a, "-t")) {
			NEED_ARG();
			snprintf(modes, sizeof(modes), "%s", v);
		} else if (!strcmp(a, "--csv")) {
			g_csv = 1;
		} else {
			usage();
		}
	}
	if (server_url)
		return run_server(server_url, -1);
	if (clients < 1 || n < 1 || g_pipe < 1 || g_size < 0)
		usage();

	pid_t child = -1;
	char urlbuf[128];
	if (g_url == NULL) {
		int fds[2];
		snprintf(urlbuf, sizeof(urlbuf), "ipc:///tmp/echo_bench.%d.ipc", (int) getpid());
		g_url = urlbuf;
		if (pipe(fds) != 0) {
			perror("pipe");
			return 1;
		}
		child = fork(); /* before any nng call in this process */
		if (child < 0) {
			perror("fork");
			return 1;
		}
		if (child == 0) {
			close(fds[0]);
			_exit(run_server(g_url, fds[1]));
		}
		close(fds[1]);
		char c;
		if (read(fds[0], &c, 1) != 1) {
			fprintf(stderr, "echo_bench: server failed to start\n");
			return 1;
		}
		close(fds[0]);
	}

	if (g_csv)
		printf("%s\n", MPSB_CSV_HEADER);
	long msgs = (n + g_pipe - 1) / g_pipe;
	char *save = NULL;
	for (char *m = strtok_r(modes, ",", &save); m; m = strtok_r(NULL, ",", &save)) {
		mpsb_hist h;
		uint64_t el = 0;
		char name[64];
		const char *base;
		mpsb_hist_init(&h);
		if (!strcmp(m, "seq")) {
			base = "echo_seq";
			mode_seq(msgs, &h, &el);
		} else if (!strcmp(m, "seqblk")) {
			base = "echo_seq_blocking";
			mode_seqblk(msgs, &h, &el);
		} else if (!strcmp(m, "ctx")) {
			base = "echo_ctx";
			mode_ctx(clients, msgs, &h, &el);
		} else if (!strcmp(m, "threads")) {
			base = "echo_threads";
			mode_threads(clients, msgs, &h, &el);
		} else {
			fprintf(stderr, "echo_bench: unknown mode %s\n", m);
			continue;
		}
		if (g_pipe > 1)
			snprintf(name, sizeof(name), "%s_p%d", base, g_pipe);
		else
			snprintf(name, sizeof(name), "%s", base);
		mpsb_report(stdout, g_csv, name, h.count, el, &h);
	}
	if (child > 0) {
		kill(child, SIGTERM);
		waitpid(child, NULL, 0);
	}
	return 0;
}
