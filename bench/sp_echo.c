/*
 * sp_echo - the transport of mpstored alone: an SP REQ/REP echo served by
 * daemon/net (the libuv loop mpstored runs) or by a bare epoll loop
 * written for the comparison, and a client speaking SP on plain sockets
 * (no nng). echo_bench measures the same against nng.
 *
 *   sp_echo --server uv|epoll URL        serve until SIGTERM/SIGINT
 *   sp_echo --url URL [-c N] [-P N] [-n N] [-d BYTES] [--name NAME] [--csv]
 *
 * Client: N threads, each its own connection, with -P requests in flight
 * on it (default 1: one write and one read per request; more: a window,
 * as a REQ socket with contexts or libmpstore's asynchronous batches
 * keep); the report is the round trips per second of all of them. URL is
 * ipc://PATH or tcp://127.0.0.1:PORT.
 */
#define _GNU_SOURCE /* accept4 */
#include "bench_util.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "net.h"
#include "sp.h"

static int parse_url(const char *url, struct sockaddr_storage *ss, socklen_t *len, int *ipc)
{
	memset(ss, 0, sizeof(*ss));
	if (strncmp(url, "ipc://", 6) == 0) {
		struct sockaddr_un *su = (struct sockaddr_un *)ss;
		su->sun_family = AF_UNIX;
		snprintf(su->sun_path, sizeof(su->sun_path), "%s", url + 6);
		*len = sizeof(*su);
		*ipc = 1;
		return 0;
	}
	int port;
	if (sscanf(url, "tcp://127.0.0.1:%d", &port) != 1)
		return -1;
	struct sockaddr_in *si = (struct sockaddr_in *)ss;
	si->sin_family = AF_INET;
	si->sin_port = htons((uint16_t)port);
	si->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	*len = sizeof(*si);
	*ipc = 0;
	return 0;
}

/* ---- server on daemon/net ---- */

static mpsd_net   *g_net;
static uv_signal_t g_sigint, g_sigterm;

static void uv_request(void *arg, const mpsd_peer *from, const uint8_t *body, size_t len, int flags)
{
	(void)arg;
	mpsd_peer p = *from;
	mpsd_msg *m = body != NULL && !flags ? mpsd_msg_alloc(len) : NULL;
	if (m != NULL)
		memcpy(m->body, body, len);
	mpsd_net_reply(g_net, &p, m);
}

static void uv_stop_cb(uv_signal_t *s, int sig)
{
	(void)s;
	(void)sig;
	uv_close((uv_handle_t *)&g_sigint, NULL);
	uv_close((uv_handle_t *)&g_sigterm, NULL);
	mpsd_net_stop(g_net);
	mpsd_net_close(g_net);
}

static int serve_uv(const char *url)
{
	mpsd_net_cfg cfg;
	memset(&cfg, 0, sizeof(cfg));
	cfg.listen[0] = url;
	cfg.nlisten = 1;
	cfg.max_msg = 16u << 20;
	cfg.max_clients = 10000;
	cfg.max_client_buffer = 64u << 20;
	cfg.ipc_mode = 0600;
	mpsd_net_hooks hooks = {uv_request, NULL, NULL, NULL};
	char           err[256];
	if (mpsd_net_open(&g_net, &cfg, &hooks, err, sizeof(err)) != 0) {
		fprintf(stderr, "sp_echo: %s\n", err);
		return 1;
	}
	uv_signal_init(mpsd_net_loop(g_net), &g_sigint);
	uv_signal_init(mpsd_net_loop(g_net), &g_sigterm);
	uv_signal_start(&g_sigint, uv_stop_cb, SIGINT);
	uv_signal_start(&g_sigterm, uv_stop_cb, SIGTERM);
	mpsd_net_run(g_net);
	mpsd_net_free(g_net);
	return 0;
}

/* ---- server on bare epoll ---- */

typedef struct econn {
	int      fd, ipc, shook;
	uint8_t *buf;
	size_t   len, cap;
} econn;

static volatile sig_atomic_t e_stop;
static void e_sig(int s)
{
	(void)s;
	e_stop = 1;
}

static int write_all(int fd, const uint8_t *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && errno == EAGAIN) {
			struct timespec ts = {0, 100000};
			nanosleep(&ts, NULL); /* a bench peer always reads: good enough */
			continue;
		}
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Echo every whole frame in c's buffer; -1 to close. */
static int e_frames(econn *c)
{
	size_t pos = 0;
	if (!c->shook) {
		if (c->len < 8)
			return 0;
		if (mps_sp_handshake_parse(c->buf) != MPS_SP_REQ0)
			return -1;
		pos = 8;
		c->shook = 1;
	}
	for (;;) {
		size_t   hl;
		uint64_t bl;
		int      r = mps_sp_frame(c->buf + pos, c->len - pos, c->ipc, 16u << 20, &hl, &bl);
		if (r < 0)
			return -1;
		if (r == 0 || c->len - pos - hl < bl)
			break;
		/* the echo is the frame itself: header, backtrace and body */
		if (write_all(c->fd, c->buf + pos, hl + (size_t)bl) != 0)
			return -1;
		pos += hl + (size_t)bl;
	}
	memmove(c->buf, c->buf + pos, c->len - pos);
	c->len -= pos;
	return 0;
}

static int serve_epoll(const char *url)
{
	struct sockaddr_storage ss;
	socklen_t               sl;
	int                     ipc;
	if (parse_url(url, &ss, &sl, &ipc) != 0) {
		fprintf(stderr, "sp_echo: bad url %s\n", url);
		return 1;
	}
	if (ipc)
		unlink(((struct sockaddr_un *)&ss)->sun_path);
	int one = 1, lfd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK, 0);
	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(lfd, (struct sockaddr *)&ss, sl) != 0 || listen(lfd, 511) != 0) {
		perror("sp_echo: bind");
		return 1;
	}
	int                ep = epoll_create1(0);
	struct epoll_event ev = {.events = EPOLLIN, .data.ptr = NULL};
	epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev);
	signal(SIGTERM, e_sig);
	signal(SIGINT, e_sig);
	uint8_t hs[8];
	mps_sp_handshake(hs, MPS_SP_REP0);
	while (!e_stop) {
		struct epoll_event evs[64];
		int                n = epoll_wait(ep, evs, 64, 200);
		for (int i = 0; i < n; i++) {
			econn *c = evs[i].data.ptr;
			if (c == NULL) {
				int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK);
				if (fd < 0)
					continue;
				if (!ipc)
					setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
				c = calloc(1, sizeof(*c));
				c->fd = fd;
				c->ipc = ipc;
				c->cap = 65536;
				c->buf = malloc(c->cap);
				write_all(fd, hs, 8);
				struct epoll_event ce = {.events = EPOLLIN, .data.ptr = c};
				epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ce);
				continue;
			}
			if (c->cap - c->len < 65536) {
				c->cap *= 2;
				c->buf = realloc(c->buf, c->cap);
			}
			ssize_t r = read(c->fd, c->buf + c->len, c->cap - c->len);
			if (r > 0) {
				c->len += (size_t)r;
				if (e_frames(c) == 0)
					continue;
			} else if (r < 0 && errno == EAGAIN) {
				continue;
			}
			epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
			close(c->fd);
			free(c->buf);
			free(c);
		}
	}
	if (ipc)
		unlink(((struct sockaddr_un *)&ss)->sun_path);
	return 0;
}

/* ---- client ---- */

static const char *g_url;
static int         g_size = 64;
static long        g_per;
static int         g_window = 1;

typedef struct worker {
	pthread_t t;
	mpsb_hist h;
	int       err;
} worker;

static int read_all(int fd, uint8_t *p, size_t n)
{
	while (n > 0) {
		ssize_t r = read(fd, p, n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		p += r;
		n -= (size_t)r;
	}
	return 0;
}

static void *client_main(void *arg)
{
	worker                 *w = arg;
	struct sockaddr_storage ss;
	socklen_t               sl;
	int                     ipc, one = 1;
	if (parse_url(g_url, &ss, &sl, &ipc) != 0) {
		w->err = 1;
		return NULL;
	}
	int fd = socket(ss.ss_family, SOCK_STREAM, 0);
	for (int tries = 0; connect(fd, (struct sockaddr *)&ss, sl) != 0; tries++) {
		if (tries > 200) {
			w->err = 1;
			return NULL;
		}
		usleep(10000);
	}
	if (!ipc)
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	uint8_t hs[8], peer[8];
	mps_sp_handshake(hs, MPS_SP_REQ0);
	if (write_all(fd, hs, 8) != 0 || read_all(fd, peer, 8) != 0 ||
	    mps_sp_handshake_parse(peer) != MPS_SP_REP0) {
		w->err = 1;
		return NULL;
	}
	size_t   flen = (size_t)(ipc ? 9 : 8) + 4 + (size_t)g_size;
	uint8_t *out = calloc(1, flen), *in = malloc(flen);
	size_t   hl = mps_sp_hdr(out, ipc, 4 + (size_t)g_size);
	memset(out + hl + 4, 'x', (size_t)g_size);
	uint64_t *sent_at = calloc((size_t)g_window, sizeof(*sent_at));
	long      sent = 0, got = 0;
	while (got < g_per) {
		/* fill the window, then take one reply */
		while (sent < g_per && sent - got < g_window) {
			mps_sp_put32(out + hl, 0x80000000u | (uint32_t)(sent & 0x7fffffff));
			sent_at[sent % g_window] = mpsb_now_ns();
			if (write_all(fd, out, flen) != 0) {
				w->err = 1;
				goto done;
			}
			sent++;
		}
		if (read_all(fd, in, flen) != 0) {
			w->err = 1;
			break;
		}
		uint32_t id = mps_sp_get32(in + hl) & 0x7fffffffu;
		mpsb_hist_add(&w->h, mpsb_now_ns() - sent_at[id % (uint32_t)g_window]);
		got++;
	}
done:
	free(sent_at);
	close(fd);
	free(out);
	free(in);
	return NULL;
}

int main(int argc, char **argv)
{
	long        clients = 1, total = 100000;
	int         csv = 0;
	const char *name = "sp_echo";
	if (argc == 4 && strcmp(argv[1], "--server") == 0) {
		if (strcmp(argv[2], "uv") == 0)
			return serve_uv(argv[3]);
		if (strcmp(argv[2], "epoll") == 0)
			return serve_epoll(argv[3]);
		fprintf(stderr, "sp_echo: --server uv|epoll URL\n");
		return 2;
	}
	for (int i = 1; i < argc; i++) {
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (strcmp(argv[i], "--url") == 0 && v) {
			g_url = v;
			i++;
		} else if (strcmp(argv[i], "-c") == 0 && v) {
			clients = atol(v);
			i++;
		} else if (strcmp(argv[i], "-P") == 0 && v) {
			g_window = atoi(v);
			i++;
		} else if (strcmp(argv[i], "-n") == 0 && v) {
			total = (long)mpsb_parse_count(v);
			i++;
		} else if (strcmp(argv[i], "-d") == 0 && v) {
			g_size = atoi(v);
			i++;
		} else if (strcmp(argv[i], "--name") == 0 && v) {
			name = v;
			i++;
		} else if (strcmp(argv[i], "--csv") == 0) {
			csv = 1;
		} else {
			fprintf(stderr, "usage: sp_echo --server uv|epoll URL | --url URL [-c N] [-P N] "
			                "[-n N] [-d BYTES] [--name NAME] [--csv]\n");
			return 2;
		}
	}
	if (g_url == NULL || clients < 1 || total < clients || g_size < 0 || g_window < 1) {
		fprintf(stderr, "sp_echo: --url URL needed (and -c >= 1, -n >= -c)\n");
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	g_per = total / clients;
	worker *w = calloc((size_t)clients, sizeof(*w));
	uint64_t t0 = mpsb_now_ns();
	for (long i = 0; i < clients; i++) {
		mpsb_hist_init(&w[i].h);
		pthread_create(&w[i].t, NULL, client_main, &w[i]);
	}
	mpsb_hist h;
	mpsb_hist_init(&h);
	int err = 0;
	for (long i = 0; i < clients; i++) {
		pthread_join(w[i].t, NULL);
		mpsb_hist_merge(&h, &w[i].h);
		err |= w[i].err;
	}
	uint64_t el = mpsb_now_ns() - t0;
	if (csv)
		printf("%s\n", MPSB_CSV_HEADER);
	mpsb_report(stdout, csv, name, h.count, el, &h);
	free(w);
	if (err)
		fprintf(stderr, "sp_echo: a client failed\n");
	return err;
}
