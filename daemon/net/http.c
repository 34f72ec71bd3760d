/*
 * http.c - the responder of http.h: accept, read one request (request
 * line and headers, at most MPSD_HTTP_REQUEST_MAX bytes), answer, close.
 *
 * What a peer can make it hold is bounded: MPSD_HTTP_CONNS connections
 * (more are closed as they are accepted), one fixed buffer each, and
 * MPSD_HTTP_DEADLINE_MS to send its request and take the answer; a peer
 * that sends more than a request or stops reading is closed. A request
 * body is never read: the answer goes out when the headers end.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http.h"

typedef struct hconn {
	uv_tcp_t      tcp;
	uv_timer_t    timer;
	uv_write_t    wr;
	mpsd_http    *h;
	struct hconn *prev, *next;
	int           handles; /* open libuv handles: freed at 0 */
	int           closing, answered;
	char         *out;     /* the answer being written */
	size_t        n;
	char          buf[MPSD_HTTP_REQUEST_MAX];
} hconn;

struct mpsd_http {
	uv_tcp_t            lsn;
	uv_loop_t          *loop;
	char                path[256];
	const char         *ctype;
	mpsd_http_render_fn render;
	void               *arg;
	hconn              *conns;
	size_t              nconns;
	int                 handles; /* the listener, and connections not yet freed */
	int                 closing;
};

static void http_unref(mpsd_http *h)
{
	if (--h->handles == 0 && h->closing)
		free(h);
}

static void conn_closed_cb(uv_handle_t *hd)
{
	hconn *c = hd->data;
	if (--c->handles > 0)
		return;
	mpsd_http *h = c->h;
	free(c->out);
	free(c);
	http_unref(h);
}

static void conn_close(hconn *c)
{
	if (c->closing)
		return;
	c->closing = 1;
	mpsd_http *h = c->h;
	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		h->conns = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	h->nconns--;
	uv_timer_stop(&c->timer);
	uv_close((uv_handle_t *)&c->timer, conn_closed_cb);
	uv_close((uv_handle_t *)&c->tcp, conn_closed_cb);
}

static void deadline_cb(uv_timer_t *t)
{
	conn_close(t->data);
}

static void written_cb(uv_write_t *wr, int status)
{
	(void)status;
	conn_close(wr->data); /* HTTP/1.0 style: the answer ends with the connection */
}

static void answer(hconn *c, int code, const char *reason, const char *ctype, char *body,
    size_t blen, int head)
{
	char   hdr[512];
	int    hn = snprintf(hdr, sizeof(hdr),
	       "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n%s"
	       "Connection: close\r\n\r\n",
	       code, reason, ctype, blen, code == 405 ? "Allow: GET, HEAD\r\n" : "");
	size_t total = (size_t)hn + (head ? 0 : blen);
	c->answered = 1;
	uv_read_stop((uv_stream_t *)&c->tcp);
	if ((c->out = malloc(total)) == NULL) {
		free(body);
		conn_close(c);
		return;
	}
	memcpy(c->out, hdr, (size_t)hn);
	if (!head && blen > 0)
		memcpy(c->out + hn, body, blen);
	free(body);
	uv_buf_t b = uv_buf_init(c->out, (unsigned)total);
	c->wr.data = c;
	if (uv_write(&c->wr, (uv_stream_t *)&c->tcp, &b, 1, written_cb) != 0)
		conn_close(c);
}

static void answer_text(hconn *c, int code, const char *reason)
{
	char  *body = malloc(64);
	size_t n = body != NULL ? (size_t)snprintf(body, 64, "%d %s\n", code, reason) : 0;
	answer(c, code, reason, "text/plain; charset=utf-8", body, n, 0);
}

/* The request line and headers are in: answer it. */
static void respond(hconn *c, size_t end)
{
	char *line = c->buf, *eol = memchr(c->buf, '\n', end);
	*eol = '\0';
	if (eol > line && eol[-1] == '\r')
		eol[-1] = '\0';
	/* METHOD SP TARGET SP HTTP/1.x */
	char *sp1 = strchr(line, ' '), *sp2 = sp1 != NULL ? strchr(sp1 + 1, ' ') : NULL;
	if (sp1 == NULL || sp2 == NULL || strncmp(sp2 + 1, "HTTP/1.", 7) != 0) {
		answer_text(c, 400, "Bad Request");
		return;
	}
	*sp1 = *sp2 = '\0';
	char *target = sp1 + 1, *q = strchr(target, '?');
	if (q != NULL)
		*q = '\0';
	int head = strcmp(line, "HEAD") == 0;
	if (!head && strcmp(line, "GET") != 0) {
		answer_text(c, 405, "Method Not Allowed");
		return;
	}
	if (strcmp(target, c->h->path) != 0) {
		answer_text(c, 404, "Not Found");
		return;
	}
	size_t len = 0;
	char  *body = c->h->render(c->h->arg, &len);
	if (body == NULL) {
		answer_text(c, 503, "Service Unavailable");
		return;
	}
	answer(c, 200, "OK", c->h->ctype, body, len, head);
}

static void alloc_cb(uv_handle_t *hd, size_t want, uv_buf_t *b)
{
	hconn *c = hd->data;
	(void)want;
	*b = uv_buf_init(c->buf + c->n, (unsigned)(sizeof(c->buf) - c->n));
}

static void read_cb(uv_stream_t *s, ssize_t nread, const uv_buf_t *b)
{
	hconn *c = s->data;
	(void)b;
	if (nread < 0) {
		conn_close(c);
		return;
	}
	if (c->answered || nread == 0)
		return;
	size_t from = c->n > 3 ? c->n - 3 : 0;
	c->n += (size_t)nread;
	for (size_t i = from; i < c->n; i++) {
		/* the headers end at an empty line: CRLF CRLF, or bare LFs */
		if (c->buf[i] == '\n' &&
		    ((i >= 1 && c->buf[i - 1] == '\n') ||
		     (i >= 3 && memcmp(c->buf + i - 3, "\r\n\r\n", 4) == 0))) {
			respond(c, i + 1);
			return;
		}
	}
	if (c->n == sizeof(c->buf))
		answer_text(c, 431, "Request Header Fields Too Large");
}

static void accept_cb(uv_stream_t *s, int status)
{
	mpsd_http *h = s->data;
	if (status != 0 || h->closing)
		return;
	hconn *c = calloc(1, sizeof(*c));
	if (c == NULL)
		return;
	c->h = h;
	uv_tcp_init(h->loop, &c->tcp);
	uv_timer_init(h->loop, &c->timer);
	c->tcp.data = c->timer.data = c;
	c->handles = 2;
	h->handles++;
	c->next = h->conns;
	if (h->conns != NULL)
		h->conns->prev = c;
	h->conns = c;
	h->nconns++;
	if (uv_accept(s, (uv_stream_t *)&c->tcp) != 0 || h->nconns > MPSD_HTTP_CONNS) {
		conn_close(c);
		return;
	}
	uv_timer_start(&c->timer, deadline_cb, MPSD_HTTP_DEADLINE_MS, 0);
	if (uv_read_start((uv_stream_t *)&c->tcp, alloc_cb, read_cb) != 0)
		conn_close(c);
}

int mpsd_http_parse_url(const char *url, char *host, size_t hlen, int *port, char *path,
    size_t plen)
{
	if (strncmp(url, "http://", 7) != 0)
		return -1;
	const char *hp = url + 7, *slash = strchr(hp, '/');
	size_t      n = slash != NULL ? (size_t)(slash - hp) : strlen(hp), hn;
	const char *colon = NULL;
	if (hp[0] == '[') { /* [v6]:PORT */
		const char *rb = memchr(hp, ']', n);
		if (rb == NULL || rb + 1 >= hp + n || rb[1] != ':')
			return -1;
		colon = rb + 1;
		hn = (size_t)(rb - hp) - 1;
		hp++;
	} else {
		for (size_t i = 0; i < n; i++)
			if (hp[i] == ':')
				colon = hp + i;
		if (colon == NULL)
			return -1;
		hn = (size_t)(colon - hp);
	}
	char *end;
	long  p = strtol(colon + 1, &end, 10);
	if (end != url + 7 + n || end == colon + 1 || p < 1 || p > 65535)
		return -1;
	if (hn == 0 || hn >= hlen)
		return -1;
	memcpy(host, hp, hn);
	host[hn] = '\0';
	*port = (int)p;
	if (snprintf(path, plen, "%s", slash != NULL && slash[1] != '\0' ? slash : "/metrics") >=
	    (int)plen)
		return -1;
	return 0;
}

int mpsd_http_open(mpsd_http **out, uv_loop_t *loop, const char *url, const char *ctype,
    mpsd_http_render_fn render, void *arg, char *err, size_t errlen)
{
	char host[256];
	int  port;
	*out = NULL;
	mpsd_http *h = calloc(1, sizeof(*h));
	if (h == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	if (mpsd_http_parse_url(url, host, sizeof(host), &port, h->path, sizeof(h->path)) != 0) {
		snprintf(err, errlen, "%s: not an http://HOST:PORT/PATH address", url);
		free(h);
		return -1;
	}
	struct sockaddr_storage sa;
	if (uv_ip4_addr(host, port, (struct sockaddr_in *)&sa) != 0 &&
	    uv_ip6_addr(host, port, (struct sockaddr_in6 *)&sa) != 0) {
		if (strcmp(host, "localhost") != 0 ||
		    uv_ip4_addr("127.0.0.1", port, (struct sockaddr_in *)&sa) != 0) {
			snprintf(err, errlen, "%s: the host must be an IP address (or localhost)", url);
			free(h);
			return -1;
		}
	}
	h->loop = loop;
	h->ctype = ctype;
	h->render = render;
	h->arg = arg;
	uv_tcp_init(loop, &h->lsn);
	h->lsn.data = h;
	h->handles = 1;
	int rv = uv_tcp_bind(&h->lsn, (const struct sockaddr *)&sa, 0);
	if (rv == 0)
		rv = uv_listen((uv_stream_t *)&h->lsn, 64, accept_cb);
	if (rv != 0) {
		snprintf(err, errlen, "cannot serve metrics on %s: %s", url, uv_strerror(rv));
		mpsd_http_close(h);
		return -1;
	}
	*out = h;
	return 0;
}

static void lsn_closed_cb(uv_handle_t *hd)
{
	http_unref(hd->data);
}

void mpsd_http_close(mpsd_http *h)
{
	if (h == NULL || h->closing)
		return;
	h->closing = 1;
	while (h->conns != NULL)
		conn_close(h->conns);
	uv_close((uv_handle_t *)&h->lsn, lsn_closed_cb);
}
