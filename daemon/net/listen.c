/*
 * listen.c - listeners: ipc:// (a Unix socket file) and tcp:// on the
 * loop, tls+tcp:// through the TLS bridge; URL parsing; what a second
 * daemon on a served address finds.
 *
 * An ipc:// socket file that exists is probed with a plain connect(): a
 * live daemon there answers and this one refuses to start, without a byte
 * sent to it (the running daemon sees a connection that closes before its
 * handshake, which it shrugs off); a file nobody answers on is a leftover
 * of a crash and is replaced. TCP binds fail by themselves (no
 * SO_REUSEPORT). The socket file is created owner-only and then given
 * cfg.ipc_mode, and removed at exit when it is still ours.
 */
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "net_int.h"

static void accept_cb(uv_stream_t *s, int status)
{
	mpsd_listener *l = s->data;
	if (status == 0 && !l->net->stopping)
		conn_accept(l);
}

int tls_is_url(const char *url) { return strncmp(url, "tls+tcp://", 10) == 0; }

/* Host and port of tcp://HOST:PORT (HOST may be [v6], * or empty). */
static int split_hostport(const char *hp, char *host, size_t hlen, int *port)
{
	const char *colon = strrchr(hp, ':');
	if (colon == NULL)
		return -1;
	char *end;
	long  p = strtol(colon + 1, &end, 10);
	if (*end != '\0' || end == colon + 1 || p < 0 || p > 65535)
		return -1;
	size_t n = (size_t)(colon - hp);
	if (n >= 2 && hp[0] == '[' && hp[n - 1] == ']') {
		hp++;
		n -= 2;
	}
	if (n >= hlen)
		return -1;
	memcpy(host, hp, n);
	host[n] = '\0';
	if (n == 0 || strcmp(host, "*") == 0)
		snprintf(host, hlen, "0.0.0.0");
	*port = (int)p;
	return 0;
}

int mpsd_net_url_is_local(const char *url)
{
	const char *hp = NULL;
	if (strncmp(url, "ipc://", 6) == 0)
		return 1;
	if (strncmp(url, "tcp://", 6) == 0)
		hp = url + 6;
	else if (tls_is_url(url))
		hp = url + 10;
	char host[256];
	int  port;
	if (hp == NULL || split_hostport(hp, host, sizeof(host), &port) != 0)
		return 0;
	if (strcmp(host, "localhost") == 0 || strcmp(host, "::1") == 0)
		return 1;
	return strncmp(host, "127.", 4) == 0;
}

static int ipc_path(const char *url, char *path, size_t len)
{
	const char *p = url + 6;
	if (p[0] == '\0' || strlen(p) >= len || strlen(p) >= sizeof(((struct sockaddr_un *)0)->sun_path))
		return -1;
	snprintf(path, len, "%s", p);
	return 0;
}

/* 1: a daemon answers on path; 0: nothing there (or a stale file, now
 * removed); -1: the path is something else (err says what). */
static int ipc_probe(const char *path, char *err, size_t errlen)
{
	struct stat st;
	if (lstat(path, &st) != 0)
		return 0;
	if (!S_ISSOCK(st.st_mode)) {
		snprintf(err, errlen, "%s exists and is not a socket", path);
		return -1;
	}
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return 0;
	struct sockaddr_un sa;
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	memcpy(sa.sun_path, path, strlen(path));
	int live = connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 || errno == EAGAIN;
	close(fd);
	if (live)
		return 1;
	unlink(path); /* left by a daemon that died */
	return 0;
}

static int bind_ipc(mpsd_net *n, mpsd_listener *l, char *err, size_t errlen)
{
	if (ipc_path(l->url, l->path, sizeof(l->path)) != 0) {
		snprintf(err, errlen, "cannot listen on %s: invalid ipc path", l->url);
		return -1;
	}
	int live = ipc_probe(l->path, err, errlen);
	if (live < 0)
		return -1;
	if (live) {
		snprintf(err, errlen,
		    "cannot listen on %s: address in use: another mpstored answers there", l->url);
		l->path[0] = '\0'; /* not ours: never removed */
		return -1;
	}
	uv_pipe_init(&n->loop, &l->u.pipe, 0);
	l->u.h.data = l;
	l->open = 1;
	/* owner-only from the first moment, then the mode asked for */
	mode_t old = umask(0177);
	int    rv = uv_pipe_bind(&l->u.pipe, l->path);
	umask(old);
	if (rv != 0) {
		snprintf(err, errlen, "cannot listen on %s: %s", l->url, uv_strerror(rv));
		l->path[0] = '\0';
		return -1;
	}
	struct stat st;
	if (stat(l->path, &st) == 0) {
		l->dev = st.st_dev;
		l->ino = st.st_ino;
	}
	if (chmod(l->path, (mode_t)(n->cfg.ipc_mode & 0777)) != 0) {
		snprintf(err, errlen, "cannot set the mode of %s: %s", l->path, strerror(errno));
		return -1;
	}
	return 0;
}

static int bind_tcp(mpsd_net *n, mpsd_listener *l, char *err, size_t errlen)
{
	char host[256];
	int  port;
	if (split_hostport(l->url + 6, host, sizeof(host), &port) != 0) {
		snprintf(err, errlen, "cannot listen on %s: invalid address (tcp://HOST:PORT)", l->url);
		return -1;
	}
	struct addrinfo hints, *ai = NULL;
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	char ps[8];
	snprintf(ps, sizeof(ps), "%d", port);
	int gr = getaddrinfo(host, ps, &hints, &ai);
	if (gr != 0 || ai == NULL) {
		snprintf(err, errlen, "cannot listen on %s: %s", l->url, gai_strerror(gr));
		return -1;
	}
	uv_tcp_init(&n->loop, &l->u.tcp);
	l->u.h.data = l;
	l->open = 1;
	int rv = uv_tcp_bind(&l->u.tcp, ai->ai_addr, 0);
	freeaddrinfo(ai);
	if (rv == 0)
		rv = uv_listen(&l->u.s, 511, accept_cb);
	if (rv != 0) {
		snprintf(err, errlen, "cannot listen on %s: %s", l->url,
		    rv == UV_EADDRINUSE ? "address in use (is another mpstored running?)"
		                        : uv_strerror(rv));
		return -1;
	}
	return 0;
}

static int listen_one(mpsd_net *n, const char *url, int pub, char *err, size_t errlen)
{
	if (tls_is_url(url))
		return tls_open(n, url, pub, err, errlen);
	mpsd_listener *l = &n->lsn[n->nlsn++];
	l->net = n;
	l->url = url;
	l->pub = pub;
	if (strncmp(url, "ipc://", 6) == 0) {
		l->ipc = 1;
		if (bind_ipc(n, l, err, errlen) != 0)
			return -1;
		int rv = uv_listen(&l->u.s, 511, accept_cb);
		if (rv != 0) {
			snprintf(err, errlen, "cannot listen on %s: %s", url, uv_strerror(rv));
			return -1;
		}
		return 0;
	}
	if (strncmp(url, "tcp://", 6) == 0)
		return bind_tcp(n, l, err, errlen);
	snprintf(err, errlen, "cannot listen on %s: unsupported transport (use ipc://, tcp:// or tls+tcp://)",
	    url);
	return -1;
}

int listen_all(mpsd_net *n, char *err, size_t errlen)
{
	for (int i = 0; i < n->cfg.nlisten; i++)
		if (listen_one(n, n->cfg.listen[i], 0, err, errlen) != 0)
			return -1;
	if (n->cfg.pub_url != NULL && n->cfg.pub_url[0] != '\0' &&
	    listen_one(n, n->cfg.pub_url, 1, err, errlen) != 0)
		return -1;
	return 0;
}

void listen_close_all(mpsd_net *n)
{
	for (int i = 0; i < n->nlsn; i++) {
		mpsd_listener *l = &n->lsn[i];
		if (!l->open)
			continue;
		l->open = 0;
		uv_close(&l->u.h, NULL);
		struct stat st;
		if (l->path[0] != '\0' && stat(l->path, &st) == 0 && st.st_dev == l->dev &&
		    st.st_ino == l->ino)
			unlink(l->path); /* ours still: not a later daemon's */
		l->path[0] = '\0';
	}
}
