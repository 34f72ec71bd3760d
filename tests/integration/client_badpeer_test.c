/*
 * libmpstore against broken servers (raw sockets in this test), over
 * ipc:// and tcp://: each ends in a clear error (MPS_ERR_CONNECT or
 * MPS_ERR_PROTOCOL with a message saying what was wrong), no crash, and
 * no wait past the handle's timeout (plus a generous allowance for a
 * loaded machine):
 *  - a peer that speaks another SP protocol (SUB0), or no SP at all, or
 *    closes during the handshake, or never answers the hello;
 *  - after a good hello: replies that are garbage (a wrong ipc frame type
 *    or no request id), a frame cut short by a close, a length prefix of
 *    2^40 bytes (refused without allocating it), and a reply that is not a
 *    Response (that call fails alone; the handle goes on).
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "client_test_util.h"
#include "mpstore.pb-c.h"
#include "support.h"

#define TMO 1000 /* the handle's timeout */

enum {
	B_WRONG_PROTO, B_NOT_SP, B_CLOSE, B_SILENT, /* at the handshake or hello */
	B_GARBAGE, B_NO_ID, B_CUT, B_HUGE, B_NOT_RESPONSE
};

static int          lfd = -1, ipc, mode, hellos;
static volatile int srv_stop;

static int read_full(int fd, void *p, size_t n)
{
	for (size_t got = 0; got < n;) {
		ssize_t r = read(fd, (char *)p + got, n - got);
		if (r <= 0)
			return -1;
		got += (size_t)r;
	}
	return 0;
}

static void write_all(int fd, const void *p, size_t n)
{
	if (send(fd, p, n, MSG_NOSIGNAL) != (ssize_t)n) {
		/* the client went: fine */
	}
}

static size_t hdr(uint8_t *out, uint64_t len)
{
	size_t n = 0;
	if (ipc)
		out[n++] = 1;
	for (int i = 7; i >= 0; i--)
		out[n++] = (uint8_t)(len >> (8 * i));
	return n;
}

/* One request frame: its 4-byte id into id; *is_hello when it is a
 * Request whose first op is OP_HELLO. */
static int read_request(int fd, uint8_t id[4], int *is_hello)
{
	uint8_t h[9];
	if (read_full(fd, h, ipc ? 9 : 8) != 0)
		return -1;
	uint64_t len = 0;
	for (int i = ipc; i < (ipc ? 9 : 8); i++)
		len = (len << 8) | h[i];
	if (len < 4 || len > 1 << 20 || read_full(fd, id, 4) != 0)
		return -1;
	uint8_t *body = malloc(len - 4 + 1);
	int      rv   = read_full(fd, body, len - 4);
	*is_hello     = 0;
	if (rv == 0) {
		Mpstore__Request *rq = mpstore__request__unpack(NULL, len - 4, body);
		*is_hello = rq != NULL && rq->n_ops > 0 && rq->ops[0]->code == MPSTORE__OP_CODE__OP_HELLO;
		if (rq != NULL)
			mpstore__request__free_unpacked(rq, NULL);
	}
	free(body);
	return rv;
}

/* A good reply to the hello: id, then a Response with one Result. */
static void hello_reply(int fd, const uint8_t id[4])
{
	Mpstore__Response r   = MPSTORE__RESPONSE__INIT;
	Mpstore__Result   res = MPSTORE__RESULT__INIT, *rp = &res;
	Mpstore__Value    v   = MPSTORE__VALUE__INIT;
	v.v_case              = MPSTORE__VALUE__V_STRING_VALUE;
	v.string_value        = "broken-1";
	res.value             = &v;
	res.count             = 1;
	r.version             = 1;
	r.n_results           = 1;
	r.results             = &rp;
	uint8_t buf[256];
	size_t  blen = mpstore__response__pack(&r, buf);
	uint8_t h[9];
	size_t  hl = hdr(h, blen + 4);
	write_all(fd, h, hl);
	write_all(fd, id, 4);
	write_all(fd, buf, blen);
}

static void serve_conn(int fd)
{
	uint8_t sp[8] = {0, 'S', 'P', 0, 0, 0x31, 0, 0}, theirs[8], id[4];
	switch (mode) {
	case B_WRONG_PROTO: sp[5] = 0x21; write_all(fd, sp, 8); mpst_sleep_ms(TMO * 2); return;
	case B_NOT_SP: write_all(fd, "HTTP/1.1 400 Bad Request\r\n\r\n", 28); mpst_sleep_ms(100); return;
	case B_CLOSE: return;
	default: break;
	}
	write_all(fd, sp, 8);
	if (read_full(fd, theirs, 8) != 0 || theirs[5] != 0x30)
		return;
	if (mode == B_SILENT) {
		char buf[4096];
		while (!srv_stop && (read(fd, buf, sizeof(buf)) != 0)) {
		}
		return;
	}
	int is_hello;
	while (read_request(fd, id, &is_hello) == 0) {
		if (!(id[0] & 0x80))
			return;
		if (is_hello && hellos == 0) { /* the greeting and mps_open's hello */
			hello_reply(fd, id);
			continue;
		}
		hellos++; /* then broken, on this connection and any after it */
		uint8_t h[9];
		size_t  hl;
		switch (mode) {
		case B_GARBAGE:
			if (ipc) {
				write_all(fd, "\x07garbage!garbage!", 17); /* type byte 7 */
			} else {
				hl = hdr(h, 6);
				write_all(fd, h, hl);
				write_all(fd, "\x01\x02\x03\x04\x05\x06", 6); /* id without the high bit */
			}
			break;
		case B_NO_ID:
			hl = hdr(h, 2);
			write_all(fd, h, hl);
			write_all(fd, "\x80\x01", 2); /* shorter than an id */
			break;
		case B_CUT:
			hl = hdr(h, 100);
			write_all(fd, h, hl);
			write_all(fd, id, 4);
			write_all(fd, "0123456789", 10);
			return; /* closed mid-frame */
		case B_HUGE:
			hl = hdr(h, (uint64_t)1 << 40);
			write_all(fd, h, hl);
			write_all(fd, id, 4);
			mpst_sleep_ms(TMO * 2);
			return;
		case B_NOT_RESPONSE:
			hl = hdr(h, 4 + 5);
			write_all(fd, h, hl);
			write_all(fd, id, 4);
			write_all(fd, "\xff\xff\xff\xff\xff", 5); /* not protobuf */
			break;
		}
	}
}

static void *srv_main(void *arg)
{
	(void)arg;
	while (!srv_stop) {
		int fd = accept(lfd, NULL, NULL);
		if (fd < 0)
			continue;
		struct timeval tv = {0, 200000};
		setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		serve_conn(fd);
		close(fd);
	}
	return NULL;
}

static void listen_on(char *url, size_t len, const char *dir)
{
	if (ipc) {
		struct sockaddr_un sa = {.sun_family = AF_UNIX};
		snprintf(url, len, "ipc://%.80s/bad%d.ipc", dir, mode);
		memcpy(sa.sun_path, url + 6, strlen(url + 6));
		lfd = socket(AF_UNIX, SOCK_STREAM, 0);
		CT_TRUE(bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) == 0);
	} else {
		struct sockaddr_in sa = {.sin_family = AF_INET};
		socklen_t          sl = sizeof(sa);
		sa.sin_addr.s_addr    = htonl(INADDR_LOOPBACK);
		lfd                   = socket(AF_INET, SOCK_STREAM, 0);
		CT_TRUE(bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) == 0);
		CT_TRUE(getsockname(lfd, (struct sockaddr *)&sa, &sl) == 0);
		snprintf(url, len, "tcp://127.0.0.1:%u", (unsigned)ntohs(sa.sin_port));
	}
	CT_TRUE(listen(lfd, 8) == 0);
	struct timeval tv = {0, 100000}; /* accept wakes up to see srv_stop */
	setsockopt(lfd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
}

/* 1 when msg contains one of the '|'-separated words of any. */
static int says_any(const char *msg, const char *any)
{
	char buf[200];
	snprintf(buf, sizeof(buf), "%s", any);
	for (char *w = strtok(buf, "|"); w != NULL; w = strtok(NULL, "|"))
		if (strstr(msg, w) != NULL)
			return 1;
	return 0;
}

/* Run scenario m; check the error of open (or of a call after it). */
static void scenario(const char *dir, int m, mps_err want, const char *says)
{
	char      url[200];
	pthread_t th;
	mode     = m;
	srv_stop = 0;
	hellos   = 0;
	listen_on(url, sizeof(url), dir);
	CT_TRUE(pthread_create(&th, NULL, srv_main, NULL) == 0);

	mps_client *c  = NULL;
	long long   t0 = mpst_now_ms();
	mps_err     e  = mps_open(&c, url, TMO);
	if (m >= B_GARBAGE) {
		CT_OK(e); /* the hello was fine */
		t0 = mpst_now_ms();
		mps_value v;
		e = mps_value_get(c, "x", &v);
	}
	long long took = mpst_now_ms() - t0;
	fprintf(stderr, "%s scenario %d: %s (%s) in %lld ms\n", ipc ? "ipc" : "tcp", m,
	    mps_err_name(e), mps_last_error(), took);
	CT_CHECK(e, want);
	CT_TRUE(says_any(mps_last_error(), says));
	CT_TRUE(took < TMO + 5000);
	if (m == B_NOT_RESPONSE) {
		mps_value v;
		CT_CHECK(mps_value_get(c, "x", &v), MPS_ERR_PROTOCOL); /* the handle goes on */
	}
	mps_close(c);
	srv_stop = 1;
	pthread_join(th, NULL);
	close(lfd);
}

int main(void)
{
	char dir[] = "/tmp/mpst-bad.XXXXXX";
	CT_TRUE(mkdtemp(dir) != NULL);
	for (ipc = 1; ipc >= 0; ipc--) {
		scenario(dir, B_WRONG_PROTO, MPS_ERR_PROTOCOL, "SP protocol 0x21 (SUB0)");
		scenario(dir, B_NOT_SP, MPS_ERR_PROTOCOL, "not an SP peer");
		scenario(dir, B_CLOSE, MPS_ERR_CONNECT, "closed the connection");
		scenario(dir, B_SILENT, MPS_ERR_CONNECT, "no answer");
		scenario(dir, B_GARBAGE, MPS_ERR_PROTOCOL, ipc ? "type other than 1" : "request id");
		scenario(dir, B_NO_ID, MPS_ERR_PROTOCOL, "request id");
		/* after the cut the redial may still be going when time is up */
		scenario(dir, B_CUT, MPS_ERR_CONNECT, "closed|no connection");
		scenario(dir, B_HUGE, MPS_ERR_PROTOCOL, "longer than");
		scenario(dir, B_NOT_RESPONSE, MPS_ERR_PROTOCOL, "cannot decode");
	}
	char cmd[300];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	CT_TRUE(system(cmd) == 0);
	printf("ok\n");
	return 0;
}
