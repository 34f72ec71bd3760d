/*
 * conn.c - one connection of the loop: the SP handshake, reading frames
 * and handing requests to the daemon, the output queue and its bounds,
 * closing.
 *
 * Memory a peer can make us hold is bounded: the input buffer grows only
 * as bytes arrive (a length prefix alone reserves nothing) up to one
 * frame of at most max_msg; a request longer than that is skipped as it
 * arrives and answered with an error; replies queue up to
 * max_client_buffer beyond what the socket takes, past which the
 * connection is closed (so one reply larger than the bound plus the
 * socket's buffer closes it too, as Redis's hard output limit does); and
 * reading stops while a connection's replies are not being read, so a
 * client that sends without reading is slowed down by TCP, not buffered.
 *
 * A connection's memory is freed when its handle has closed and no
 * request of it is still unanswered (refs).
 */
#define _GNU_SOURCE /* struct ucred */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "net_int.h"

#define READ_CHUNK     (64u << 10)
#define HANDSHAKE_MS   10000          /* a peer gets this long to say hello */
#define HUGE_FRAME     (1ull << 31)   /* longer: not skipped, the connection is dropped */
#define MAX_IOV        64

/* Reading pauses at this much queued output, and resumes below half. */
static size_t pause_at(const mpsd_net *n)
{
	size_t p = n->cfg.max_client_buffer / 4;
	return p < (256u << 10) ? (256u << 10) : p;
}

size_t conn_queued(const mpsd_conn *c) { return c->qbytes + c->inflight; }

static void close_cb(uv_handle_t *h)
{
	conn_unref(h->data);
}

void conn_unref(mpsd_conn *c)
{
	if (--c->refs > 0)
		return;
	c->net->st.buffers_freed += c->rcap + sizeof(*c);
	free(c->rbuf);
	free(c);
}

static void outq_free(outq *q)
{
	if (q->m != NULL) {
		mpsd_msg_free(q->m); /* q is inside it */
		return;
	}
	pubframe_unref(q->pf);
	free(q);
}

static void unlink_conn(mpsd_conn *c)
{
	mpsd_net *n = c->net;
	if (c->prev != NULL)
		c->prev->next = c->next;
	else if (n->conns == c)
		n->conns = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	c->prev = c->next = NULL;
}

void conn_close(mpsd_conn *c)
{
	if (c->state == CONN_CLOSING)
		return;
	mpsd_net *n = c->net;
	c->state = CONN_CLOSING;
	if (c->reading)
		uv_read_stop(&c->u.s);
	c->reading = 0;
	while (c->qhead != NULL) {
		outq *q = c->qhead;
		c->qhead = q->next;
		outq_free(q);
	}
	c->qtail = NULL;
	c->qbytes = 0;
	if (c->sub)
		n->nsubs--;
	else if (!c->over_limit)
		n->nclients--;
	unlink_conn(c);
	if (c->announced) {
		/* told to the daemon from the loop's top level, never from inside
		 * one of its calls (a reply that overflows a buffer closes) */
		c->refs++;
		c->dnext = n->dead;
		n->dead = c;
	}
	uv_close(&c->u.h, close_cb);
}

static void bad_frame(mpsd_conn *c)
{
	c->net->st.bad_frames++;
	conn_close(c);
}

/* ---- output ---- */

static int write_out(mpsd_conn *c);

void conn_queue(mpsd_conn *c, mpsd_msg *m, pubframe *pf, const uint8_t *frame, size_t len)
{
	mpsd_net *n = c->net;
	outq     *q = m != NULL ? &m->q : malloc(sizeof(*q));
	if (q == NULL || c->state == CONN_CLOSING) {
		if (m != NULL)
			mpsd_msg_free(m);
		else
			free(q);
		if (pf != NULL)
			pubframe_unref(pf);
		if (q == NULL && c->state != CONN_CLOSING)
			conn_close(c); /* a lost notification: the watcher sees the gap */
		return;
	}
	q->next = NULL;
	q->m = m;
	q->pf = pf;
	q->off = (size_t)(frame - (m != NULL ? m->room : pf->data));
	q->len = q->off + len;
	if (c->qtail != NULL)
		c->qtail->next = q;
	else
		c->qhead = q;
	c->qtail = q;
	c->qbytes += len;
	if (!c->sub && conn_queued(c) > n->cfg.max_client_buffer) {
		/* past the bound: what the socket takes now does not count;
		 * what it will not take is not being read, and goes */
		if (write_out(c) != 0)
			return;
		if (conn_queued(c) > n->cfg.max_client_buffer) {
			n->st.clients_dropped++;
			conn_close(c); /* give the memory back */
			return;
		}
	}
	size_t queued = conn_queued(c);
	if (!c->sub && queued > n->st.client_buffer_peak)
		n->st.client_buffer_peak = queued;
	if (!c->in_flush) {
		c->in_flush = 1;
		c->refs++;
		c->fnext = n->flush;
		n->flush = c;
	}
}

static const uint8_t *q_base(const outq *q)
{
	return q->m != NULL ? q->m->room : q->pf->data;
}

typedef struct wreq {
	uv_write_t req;
	mpsd_conn *c;
	outq      *items;
	size_t     bytes;
} wreq;

static void maybe_resume(mpsd_conn *c);

static void write_cb(uv_write_t *req, int status)
{
	wreq      *w = (wreq *)req;
	mpsd_conn *c = w->c;
	while (w->items != NULL) {
		outq *q = w->items;
		w->items = q->next;
		outq_free(q);
	}
	c->inflight -= w->bytes;
	free(w);
	if (status < 0 && status != UV_ECANCELED)
		conn_close(c);
	else if (c->state != CONN_CLOSING)
		maybe_resume(c);
	conn_unref(c);
}

/* Hand everything queued to libuv, which writes it as the socket drains. */
static void write_later(mpsd_conn *c)
{
	size_t k = 0, bytes = 0;
	for (outq *q = c->qhead; q != NULL; q = q->next)
		k++;
	wreq     *w = malloc(sizeof(*w));
	uv_buf_t *bufs = malloc(k * sizeof(*bufs));
	if (w == NULL || bufs == NULL) {
		free(w);
		free(bufs);
		conn_close(c);
		return;
	}
	k = 0;
	for (outq *q = c->qhead; q != NULL; q = q->next) {
		bufs[k++] = uv_buf_init((char *)q_base(q) + q->off, (unsigned)(q->len - q->off));
		bytes += q->len - q->off;
	}
	w->c = c;
	w->items = c->qhead;
	w->bytes = bytes;
	c->qhead = c->qtail = NULL;
	c->qbytes = 0;
	int rv = uv_write(&w->req, &c->u.s, bufs, (unsigned)k, write_cb);
	free(bufs); /* libuv keeps its own copy of the array */
	if (rv != 0) {
		c->qhead = w->items; /* conn_close frees them */
		free(w);
		conn_close(c);
		return;
	}
	c->inflight += bytes;
	c->refs++;
}

/* Write c's queue: straight away while the socket takes it (one writev per
 * up to MAX_IOV frames), the rest through libuv. 0, or -1 when c closed. */
static int write_out(mpsd_conn *c)
{
	while (c->qhead != NULL && c->inflight == 0) {
		uv_buf_t bufs[MAX_IOV];
		unsigned nb = 0;
		size_t   want = 0;
		for (outq *q = c->qhead; q != NULL && nb < MAX_IOV; q = q->next) {
			bufs[nb++] = uv_buf_init((char *)q_base(q) + q->off, (unsigned)(q->len - q->off));
			want += q->len - q->off;
		}
		int w = uv_try_write(&c->u.s, bufs, nb);
		if (w == UV_EAGAIN)
			break;
		if (w < 0) {
			conn_close(c);
			return -1;
		}
		size_t done = (size_t)w;
		c->qbytes -= done;
		while (done > 0) {
			outq  *q = c->qhead;
			size_t left = q->len - q->off;
			if (done < left) {
				q->off += done;
				break;
			}
			done -= left;
			c->qhead = q->next;
			if (c->qhead == NULL)
				c->qtail = NULL;
			outq_free(q);
		}
		if ((size_t)w < want)
			break; /* the socket is full */
	}
	if (c->qhead != NULL)
		write_later(c);
	return c->state == CONN_CLOSING ? -1 : 0;
}

static void conn_write(mpsd_conn *c)
{
	if (write_out(c) != 0)
		return;
	if (c->close_when_written && c->qhead == NULL && c->inflight == 0) {
		conn_close(c);
		return;
	}
	maybe_resume(c);
}

void conn_flush_all(mpsd_net *n)
{
	while (n->flush != NULL) {
		mpsd_conn *c = n->flush;
		n->flush = c->fnext;
		c->in_flush = 0;
		if (c->state != CONN_CLOSING)
			conn_write(c);
		conn_unref(c);
	}
	while (n->dead != NULL) {
		mpsd_conn *c = n->dead;
		n->dead = c->dnext;
		if (n->hooks.closed != NULL)
			n->hooks.closed(n->hooks.arg, c->id);
		conn_unref(c);
	}
}

/* ---- input ---- */

static void alloc_cb(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
	mpsd_conn *c = h->data;
	(void)suggested;
	if (c->rcap - c->rlen < READ_CHUNK) {
		/* grows with what arrives (doubling), never ahead of it */
		size_t ncap = c->rcap ? c->rcap * 2 : READ_CHUNK;
		while (ncap - c->rlen < READ_CHUNK)
			ncap *= 2;
		uint8_t *nb = realloc(c->rbuf, ncap);
		if (nb == NULL) {
			*buf = uv_buf_init(NULL, 0); /* read_cb gets UV_ENOBUFS */
			return;
		}
		c->rbuf = nb;
		c->rcap = ncap;
	}
	*buf = uv_buf_init((char *)c->rbuf + c->rlen, (unsigned)(c->rcap - c->rlen));
}

static void deliver(mpsd_conn *c, const uint8_t *body, size_t btlen, uint64_t len, int flags)
{
	mpsd_net *n = c->net;
	mpsd_peer p;
	p.conn = c;
	p.tls = NULL;
	p.id = c->id;
	p.btlen = (uint8_t)btlen;
	memcpy(p.bt, body, btlen);
	c->refs++;
	n->st.frames_in++;
	if (c->over_limit) {
		flags |= MPSD_NET_OVER_LIMIT;
		/* one answer saying why, then the connection goes */
		c->close_when_written = 1;
		if (c->reading)
			uv_read_stop(&c->u.s);
		c->reading = 0;
	}
	if (flags & MPSD_NET_TOO_BIG)
		n->hooks.request(n->hooks.arg, &p, NULL, (size_t)len, flags);
	else
		n->hooks.request(n->hooks.arg, &p, body + btlen, (size_t)(len - btlen), flags);
}

/* Take what can be taken from the read buffer; returns 0, or -1 when the
 * connection was closed. */
static int take_frames(mpsd_conn *c)
{
	mpsd_net *n = c->net;
	size_t    pos = 0;
	if (c->discard > 0) {
		size_t take = c->rlen < c->discard ? c->rlen : (size_t)c->discard;
		pos += take;
		c->discard -= take;
	}
	if (c->state == CONN_HANDSHAKE && c->rlen - pos >= MPS_SP_HANDSHAKE_LEN) {
		int proto = mps_sp_handshake_parse(c->rbuf + pos);
		if (proto != (c->sub ? MPS_SP_SUB0 : MPS_SP_REQ0)) {
			bad_frame(c); /* not SP, or a peer that cannot talk to us */
			return -1;
		}
		pos += MPS_SP_HANDSHAKE_LEN;
		c->state = CONN_OPEN;
	}
	while (c->state == CONN_OPEN && c->reading && pos < c->rlen) {
		if (c->sub) { /* SUB peers send nothing we use */
			pos = c->rlen;
			break;
		}
		const uint8_t *p = c->rbuf + pos;
		size_t         avail = c->rlen - pos, hl;
		uint64_t       bl;
		int            r = mps_sp_frame(p, avail, c->ipc, UINT64_MAX, &hl, &bl);
		if (r == 0)
			break;
		if (r < 0 || bl > HUGE_FRAME) {
			bad_frame(c);
			return -1;
		}
		avail -= hl;
		if (bl > n->cfg.max_msg) {
			/* skip it as it arrives; answer once the request id is in */
			size_t need = bl < MPS_SP_BT_MAX ? (size_t)bl : MPS_SP_BT_MAX;
			if (avail < need)
				break;
			size_t bt = mps_sp_backtrace(p + hl, need);
			if (bt > 0)
				deliver(c, p + hl, bt, bl, MPSD_NET_TOO_BIG);
			size_t take = avail < bl ? avail : (size_t)bl;
			pos += hl + take;
			c->discard = bl - take;
			break;
		}
		if (avail < bl)
			break;
		size_t bt = mps_sp_backtrace(p + hl, (size_t)bl);
		if (bt > 0)
			deliver(c, p + hl, bt, bl, 0);
		else
			n->st.bad_frames++; /* no request id: nng drops these too */
		pos += hl + (size_t)bl;
		if (c->state == CONN_CLOSING)
			return -1;
	}
	if (c->state == CONN_CLOSING)
		return -1;
	if (pos > 0) {
		memmove(c->rbuf, c->rbuf + pos, c->rlen - pos);
		c->rlen -= pos;
	}
	if (c->rlen == 0 && c->rcap > 4 * READ_CHUNK) { /* a big frame is done */
		c->net->st.buffers_freed += c->rcap;
		free(c->rbuf);
		c->rbuf = NULL;
		c->rcap = 0;
	}
	return 0;
}

static void read_cb(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
	mpsd_conn *c = s->data;
	(void)buf;
	if (nread < 0) {
		conn_close(c); /* EOF, reset, or no memory for the buffer */
		return;
	}
	c->rlen += (size_t)nread;
	if (c->net->stopping) {
		c->rlen = 0; /* shutting down: dropped, as after a crash */
		return;
	}
	if (take_frames(c) != 0)
		return;
	if (c->reading && !c->sub && conn_queued(c) > pause_at(c->net)) {
		uv_read_stop(&c->u.s);
		c->reading = 0;
		c->paused = 1;
	}
}

static void maybe_resume(mpsd_conn *c)
{
	if (c->sub && c->full_since_ms != 0 &&
	    conn_queued(c) < c->net->cfg.max_subscriber_buffer / 2)
		c->full_since_ms = 0;
	if (!c->paused || c->net->stopping || conn_queued(c) > pause_at(c->net) / 2)
		return;
	c->paused = 0;
	if (uv_read_start(&c->u.s, alloc_cb, read_cb) == 0) {
		c->reading = 1;
		take_frames(c); /* frames that came in one read with the last */
	}
}

/* ---- accept ---- */

static void peer_info(mpsd_conn *c)
{
	if (c->ipc) {
		uv_os_fd_t fd;
		struct ucred uc;
		socklen_t    ul = sizeof(uc);
		snprintf(c->addr, sizeof(c->addr), "unix");
		if (uv_fileno(&c->u.h, &fd) == 0 &&
		    getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &uc, &ul) == 0) {
			c->pid = uc.pid;
			snprintf(c->addr, sizeof(c->addr), "unix:pid=%ld", (long)uc.pid);
		}
		return;
	}
	struct sockaddr_storage ss;
	int                     len = sizeof(ss);
	char                    ip[48] = "?";
	int                     port = 0;
	if (uv_tcp_getpeername(&c->u.tcp, (struct sockaddr *)&ss, &len) == 0) {
		if (ss.ss_family == AF_INET6) {
			uv_ip6_name((struct sockaddr_in6 *)&ss, ip, sizeof(ip));
			port = ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
			snprintf(c->addr, sizeof(c->addr), "[%s]:%d", ip, port);
			return;
		}
		uv_ip4_name((struct sockaddr_in *)&ss, ip, sizeof(ip));
		port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
	}
	snprintf(c->addr, sizeof(c->addr), "%s:%d", ip, port);
}

static void free_cb(uv_handle_t *h) { free(h->data); }

void conn_accept(mpsd_listener *l)
{
	mpsd_net  *n = l->net;
	mpsd_conn *c = calloc(1, sizeof(*c));
	if (c == NULL)
		return; /* the peer stays in the backlog until memory returns */
	int rv = l->ipc ? uv_pipe_init(&n->loop, &c->u.pipe, 0) : uv_tcp_init(&n->loop, &c->u.tcp);
	if (rv != 0) {
		free(c);
		return;
	}
	c->u.h.data = c;
	if (uv_accept(&l->u.s, &c->u.s) != 0 || n->stopping) {
		uv_close(&c->u.h, free_cb);
		return;
	}
	c->net = n;
	c->ipc = l->ipc;
	c->sub = l->pub;
	c->refs = 1; /* the handle; released by close_cb */
	c->state = CONN_HANDSHAKE;
	c->opened_ms = net_now_ms();
	c->id = 0x80000000u | (n->next_id++ & 0x7fffffffu);
	if (c->id == 0x80000000u)
		c->id = 0x80000000u | (n->next_id++ & 0x7fffffffu);
	if (!l->ipc)
		uv_tcp_nodelay(&c->u.tcp, 1);
	peer_info(c);
	c->next = n->conns;
	if (n->conns != NULL)
		n->conns->prev = c;
	n->conns = c;
	if (c->sub) {
		n->nsubs++;
		if (n->nsubs > n->cfg.max_subscribers) {
			n->st.clients_refused++;
			conn_close(c);
			return;
		}
	} else if (n->nclients >= n->cfg.max_clients) {
		c->over_limit = 1; /* gets one error answer (deliver) */
		n->st.clients_refused++;
	} else {
		n->nclients++;
		n->st.clients_total++;
		if (n->hooks.opened != NULL)
			n->hooks.opened(n->hooks.arg, c->id, c->addr, c->pid);
		c->announced = 1;
	}
	/* our half of the handshake goes out at once, as nng's does */
	mpsd_msg *hs = mpsd_msg_alloc(0);
	if (hs == NULL) {
		conn_close(c);
		return;
	}
	mps_sp_handshake(hs->room, c->sub ? MPS_SP_PUB0 : MPS_SP_REP0);
	conn_queue(c, hs, NULL, hs->room, MPS_SP_HANDSHAKE_LEN);
	if (c->state == CONN_CLOSING)
		return;
	if (uv_read_start(&c->u.s, alloc_cb, read_cb) != 0) {
		conn_close(c);
		return;
	}
	c->reading = 1;
}

/* Once a second: peers that never finished the handshake, subscribers that
 * stayed full. */
void conn_tick(mpsd_net *n, int64_t now)
{
	mpsd_conn *c = n->conns;
	while (c != NULL) {
		mpsd_conn *next = c->next;
		if (c->state == CONN_HANDSHAKE && now - c->opened_ms > HANDSHAKE_MS) {
			conn_close(c);
		} else if (c->sub && c->full_since_ms != 0 && now - c->full_since_ms > n->cfg.subscriber_timeout_ms) {
			n->st.subscribers_dropped++;
			conn_close(c);
		}
		c = next;
	}
	conn_flush_all(n);
}

/* ---- replies ---- */

void mpsd_net_reply(mpsd_net *n, mpsd_peer *to, mpsd_msg *m)
{
	mpsd_conn *c = to->conn;
	if (c == NULL) {
		if (to->tls != NULL)
			tls_reply(n, to, m);
		else if (m != NULL)
			mpsd_msg_free(m);
		return;
	}
	to->conn = NULL;
	if (m != NULL && c->state != CONN_CLOSING) {
		uint8_t *f = m->body - to->btlen;
		memcpy(f, to->bt, to->btlen);
		uint8_t hdr[MPS_SP_HDR_MAX];
		size_t  hl = mps_sp_hdr(hdr, c->ipc, to->btlen + m->len);
		f -= hl;
		memcpy(f, hdr, hl);
		n->st.frames_out++;
		conn_queue(c, m, NULL, f, hl + to->btlen + m->len);
	} else if (m != NULL) {
		mpsd_msg_free(m);
	}
	conn_unref(c);
}

void mpsd_net_release(mpsd_net *n, mpsd_peer *to)
{
	if (to->conn != NULL) {
		mpsd_conn *c = to->conn;
		to->conn = NULL;
		conn_unref(c);
	} else if (to->tls != NULL) {
		tls_release(n, to);
	}
}

int mpsd_net_peer_alive(const mpsd_peer *p)
{
	return p->conn != NULL ? p->conn->state != CONN_CLOSING : p->tls != NULL;
}
