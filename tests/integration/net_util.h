/*
 * net_util.h - SP by hand for the transport tests: a raw socket to an
 * ipc:// or tcp:// URL, the handshake, one request frame out and one reply
 * frame in, written from the framing alone (docs/protocol.md section 16)
 * with protobuf-c for the payload. What no SP library lets a test do:
 * stop half-way, send garbage, never read.
 */
#ifndef NET_UTIL_H
#define NET_UTIL_H

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "mpstore.pb-c.h"
#include "support.h"

/* A connected socket (5 s send/receive timeouts), -1 on failure. */
static inline int netu_connect(const char *url)
{
	if (strncmp(url, "ipc://", 6) == 0)
		return mpst_ipc_connect(url);
	int port = 0;
	if (sscanf(url, "tcp://127.0.0.1:%d", &port) != 1)
		return -1;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	struct sockaddr_in sa;
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons((uint16_t)port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		close(fd);
		return -1;
	}
	struct timeval tv = {5, 0};
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	int one = 1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	return fd;
}

static inline int netu_is_ipc(const char *url) { return strncmp(url, "ipc://", 6) == 0; }

/* A free TCP port on 127.0.0.1 (bound, read, released: good enough for tests). */
static inline int netu_free_port(void)
{
	int                fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in sa;
	socklen_t          len = sizeof(sa);
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
	    getsockname(fd, (struct sockaddr *)&sa, &len) != 0) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	close(fd);
	return ntohs(sa.sin_port);
}

static inline size_t netu_hdr(uint8_t *h, int ipc, uint64_t len)
{
	size_t n = 0;
	if (ipc)
		h[n++] = 1;
	for (int i = 7; i >= 0; i--)
		h[n++] = (uint8_t)(len >> (8 * i));
	return n;
}

static inline int netu_write_all(int fd, const void *p, size_t n)
{
	const uint8_t *b = p;
	while (n > 0) {
		ssize_t w = send(fd, b, n, MSG_NOSIGNAL);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		b += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Send rq as request id (high bit set here) in one frame. 0 or -1. */
static inline int netu_send(int fd, int ipc, uint32_t id, const Mpstore__Request *rq)
{
	size_t   plen = mpstore__request__get_packed_size(rq);
	uint8_t *buf = malloc(9 + 4 + plen);
	if (buf == NULL)
		return -1;
	size_t h = netu_hdr(buf, ipc, 4 + plen);
	id |= 0x80000000u;
	buf[h] = (uint8_t)(id >> 24);
	buf[h + 1] = (uint8_t)(id >> 16);
	buf[h + 2] = (uint8_t)(id >> 8);
	buf[h + 3] = (uint8_t)id;
	mpstore__request__pack(rq, buf + h + 4);
	int rv = netu_write_all(fd, buf, h + 4 + plen);
	free(buf);
	return rv;
}

static inline int netu_read_all(int fd, void *p, size_t n)
{
	uint8_t *b = p;
	while (n > 0) {
		ssize_t r = recv(fd, b, n, 0);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		b += r;
		n -= (size_t)r;
	}
	return 0;
}

/* One reply frame: its request id (high bit cleared) and the decoded
 * Response (free with mpstore__response__free_unpacked); NULL on EOF,
 * timeout or a bad frame. */
static inline Mpstore__Response *netu_recv(int fd, int ipc, uint32_t *id)
{
	uint8_t h[9];
	size_t  hl = ipc ? 9 : 8;
	if (netu_read_all(fd, h, hl) != 0 || (ipc && h[0] != 1))
		return NULL;
	uint64_t n = 0;
	for (size_t i = hl - 8; i < hl; i++)
		n = (n << 8) | h[i];
	if (n < 4 || n > (64u << 20))
		return NULL;
	uint8_t *b = malloc(n);
	if (b == NULL || netu_read_all(fd, b, n) != 0) {
		free(b);
		return NULL;
	}
	if (id != NULL)
		*id = (((uint32_t)b[0] << 24) | ((uint32_t)b[1] << 16) | ((uint32_t)b[2] << 8) | b[3]) &
		      0x7fffffffu;
	Mpstore__Response *r = mpstore__response__unpack(NULL, n - 4, b + 4);
	free(b);
	return r;
}

/* A request of one op (code, name; value: an int64 when has_int). */
typedef struct netu_req {
	Mpstore__Request rq;
	Mpstore__Op      op;
	Mpstore__Op     *ops[1];
	Mpstore__Value   v;
} netu_req;

static inline void netu_req_init(netu_req *q, Mpstore__OpCode code, const char *name)
{
	mpstore__request__init(&q->rq);
	mpstore__op__init(&q->op);
	mpstore__value__init(&q->v);
	q->rq.version = 1;
	q->op.code = code;
	q->op.name = (char *)name;
	q->ops[0] = &q->op;
	q->rq.ops = q->ops;
	q->rq.n_ops = 1;
}

static inline void netu_req_int(netu_req *q, int64_t v)
{
	q->v.v_case = MPSTORE__VALUE__V_INT_VALUE;
	q->v.int_value = v;
	q->op.value = &q->v;
}

/* Send q and read its reply; the Response, or NULL. */
static inline Mpstore__Response *netu_call(int fd, int ipc, netu_req *q)
{
	static uint32_t next = 1;
	uint32_t        id = next++, got = 0;
	if (netu_send(fd, ipc, id, &q->rq) != 0)
		return NULL;
	Mpstore__Response *r = netu_recv(fd, ipc, &got);
	if (r != NULL && got != id) {
		mpstore__response__free_unpacked(r, NULL);
		return NULL;
	}
	return r;
}

/* A connection with the handshake done, -1 on failure. */
static inline int netu_open(const char *url)
{
	int fd = netu_connect(url);
	if (fd >= 0 && mpst_sp_handshake(fd, 0x30, 0x31) != 0) {
		close(fd);
		fd = -1;
	}
	return fd;
}

/* The daemon's OP_STATS line `key=` as a number (-1: missing or failed). */
static inline long long netu_stat(const char *url, const char *key)
{
	int fd = netu_open(url);
	if (fd < 0)
		return -1;
	netu_req q;
	netu_req_init(&q, MPSTORE__OP_CODE__OP_STATS, NULL);
	Mpstore__Response *r = netu_call(fd, netu_is_ipc(url), &q);
	close(fd);
	long long v = -1;
	size_t    kl = strlen(key);
	for (size_t i = 0; r != NULL && r->n_results == 1 && i < r->results[0]->n_values; i++) {
		const char *l = r->results[0]->values[i]->string_value;
		if (strncmp(l, key, kl) == 0 && l[kl] == '=')
			v = atoll(l + kl + 1);
	}
	if (r != NULL)
		mpstore__response__free_unpacked(r, NULL);
	return v;
}

/* Whether RSS says anything about leaks: not under AddressSanitizer, whose
 * quarantine keeps freed memory (its leak check at exit stands in). */
#if defined(__SANITIZE_ADDRESS__)
#define NETU_RSS_MEANINGFUL 0
#else
#define NETU_RSS_MEANINGFUL 1
#endif

/* The resident set of pid in KiB (from /proc), -1 if unknown. */
static inline long netu_rss_kb(pid_t pid)
{
	char path[64], line[256];
	snprintf(path, sizeof(path), "/proc/%ld/status", (long)pid);
	FILE *f = fopen(path, "r");
	long  kb = -1;
	while (f != NULL && fgets(line, sizeof(line), f) != NULL)
		if (strncmp(line, "VmRSS:", 6) == 0)
			kb = atol(line + 6);
	if (f != NULL)
		fclose(f);
	return kb;
}

#endif
