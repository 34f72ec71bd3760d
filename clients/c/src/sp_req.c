/*
 * sp_req.c - libmpstore's own SP REQ0 transport for ipc:// and tcp://
 * (transport.h): one socket per handle, requests framed as
 * [4-byte request id, high bit set][packed Request], replies matched by
 * that id, so any number of requests may be in flight on the connection
 * and the daemon may answer them in any order.
 *
 * No thread of the library's on the request path: a synchronous call
 * writes its frame and reads the socket itself. When several threads
 * wait, one of them, the leader, reads and hands the others their replies
 * (leader/follower): a call parked in the daemon (a queue get) never holds
 * up the others, and when the leader's own reply comes it hands the lead
 * to the next waiter. Asynchronous requests (batch.c) are delivered by a
 * reader thread started with the first of them; it leads while any are in
 * flight and runs their callbacks outside every lock.
 *
 * When the connection drops, the leader reconnects (backoff 10 ms doubling
 * to 1 s, within the waiting requests' deadlines) and re-sends every
 * request still waiting, byte for byte: same SP id, same client_id and
 * Request.id, which the daemon answers with its first answer
 * (docs/protocol.md section 3), as nng's REQ does. A request given up
 * (timed out) leaves the table: its late reply is dropped by id.
 *
 * Locks: mtx guards everything below; wmtx lets one thread write a frame
 * at a time (taken before mtx, never after it). Only the leader reads,
 * dials and closes the socket; writers that fail shut it down (this
 * process's own connection) and leave the rest to the leader.
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <unistd.h>

#include "sp.h"
#include "sp_req_int.h"

/* ---- the table of requests waiting for a reply ---- */

static spreq *
tab_find(mps__sp *sp, uint32_t id)
{
	spreq *r = sp->tab[id % SP_BUCKETS];
	while (r != NULL && r->id != id) {
		r = r->hnext;
	}
	return r;
}

void
mps__spq_tab_add(mps__sp *sp, spreq *r)
{
	uint32_t id;
	do {
		id = 0x80000000u | (sp->next_id++ & 0x7fffffffu);
	} while (tab_find(sp, id) != NULL);
	r->id = id;
	size_t hl = sp->addr.ipc ? 9 : 8;
	mps_sp_put32(r->frame + hl, id);
	r->hnext                  = sp->tab[id % SP_BUCKETS];
	sp->tab[id % SP_BUCKETS] = r;
	spreq *at = r->async ? sp->pend.prev : &sp->pend; /* insert after at */
	r->prev        = at;
	r->next        = at->next;
	at->next->prev = r;
	at->next       = r;
	r->state = RQ_PENDING;
	r->done  = 0;
	r->gen   = 0;
	r->downs = sp->downs;
	r->err   = MPS_OK;
	if (r->async) {
		sp->nasync++;
		if (r->deadline < sp->next_adl) {
			sp->next_adl = r->deadline;
		}
	}
}

void
mps__spq_tab_del(mps__sp *sp, spreq *r)
{
	spreq **pp = &sp->tab[r->id % SP_BUCKETS];
	while (*pp != r) {
		pp = &(*pp)->hnext;
	}
	*pp            = r->hnext;
	r->prev->next = r->next;
	r->next->prev = r->prev;
	r->state       = RQ_IDLE;
	if (r->async) {
		sp->nasync--;
	}
}

/* r has its answer (or failure): wake whoever delivers it. */
void
mps__spq_complete(mps__sp *sp, spreq *r)
{
	r->done = 1;
	if (r->async) {
		r->state = RQ_QUEUED;
		r->dnext = NULL;
		if (sp->dtail != NULL) {
			sp->dtail->dnext = r;
		} else {
			sp->dhead = r;
		}
		sp->dtail = r;
		pthread_cond_signal(&sp->rcv);
	} else {
		pthread_cond_signal(&r->cv);
	}
}

/* The error of a request whose deadline passed: a peer that broke the
 * protocol while r waited; else the reason there is no connection, if
 * there is none; else why it was lost while r waited; else a time-out. */
mps_err
mps__spq_late_err(mps__sp *sp, const spreq *r, char *why, size_t len)
{
	int lost = r->downs != sp->downs && sp->lost_err != MPS_OK;
	if (sp->fd < 0 && sp->down_err != MPS_OK && !(lost && sp->lost_err == MPS_ERR_PROTOCOL)) {
		snprintf(why, len, "no connection to %.150s: %.250s", sp->addr.url, sp->down_why);
		return sp->down_err;
	}
	if (lost) {
		snprintf(why, len, "no reply from %.150s in time; the connection was lost: %.200s",
		    sp->addr.url, sp->lost_why);
		return sp->lost_err;
	}
	snprintf(why, len, "no reply from %.150s in time", sp->addr.url);
	return MPS_ERR_TIMEOUT;
}

/* Wake a thread that may take the lead: the first synchronous waiter,
 * and the reader thread when asynchronous requests wait. */
static void
handoff(mps__sp *sp)
{
	if (sp->leader) {
		return;
	}
	spreq *f = sp->pend.next;
	if (f != &sp->pend && !f->async) {
		pthread_cond_signal(&f->cv);
	}
	if (sp->nasync > 0) {
		pthread_cond_signal(&sp->rcv);
	}
}

/* ---- writing ---- */

static void
wrote(mps__sp *sp, spreq *r)
{
	r->writing = 0;
	if (r->async) {
		pthread_cond_broadcast(&sp->dcv);
	} else {
		pthread_cond_signal(&r->cv);
	}
}

/* Write r on the current connection unless it is on it already. */
void
mps__spq_send_one(mps__sp *sp, spreq *r)
{
	pthread_mutex_lock(&sp->wmtx);
	pthread_mutex_lock(&sp->mtx);
	if (sp->fd < 0 || r->state != RQ_PENDING || r->gen == sp->gen) {
		pthread_mutex_unlock(&sp->mtx);
		pthread_mutex_unlock(&sp->wmtx);
		return;
	}
	int fd     = sp->fd;
	r->gen     = sp->gen;
	r->writing = 1;
	pthread_mutex_unlock(&sp->mtx);
	struct iovec iov = {r->frame, r->flen};
	int          rv  = mps__sp_write(fd, &iov, 1, r->deadline == SP_NONE ? -1 : r->deadline);
	pthread_mutex_lock(&sp->mtx);
	if (rv != 0 && sp->fd == fd) {
		/* part of a frame may be out: this connection is done for; the
		 * leader sees it end, reconnects and re-sends */
		shutdown(fd, SHUT_RDWR);
	}
	wrote(sp, r);
	pthread_mutex_unlock(&sp->mtx);
	pthread_mutex_unlock(&sp->wmtx);
}

/* After a reconnect: write every request not yet on this connection.
 * Called with mtx held; returns with it held. */
static void
resend(mps__sp *sp)
{
	pthread_mutex_unlock(&sp->mtx);
	pthread_mutex_lock(&sp->wmtx);
	pthread_mutex_lock(&sp->mtx);
	for (;;) {
		spreq   *todo[SP_FRAMES];
		int      n = 0, fd = sp->fd;
		unsigned gen = sp->gen;
		for (spreq *r = sp->pend.next; fd >= 0 && r != &sp->pend && n < SP_FRAMES; r = r->next) {
			if (r->gen != gen && !r->writing) {
				r->gen     = gen;
				r->writing = 1;
				todo[n++]  = r;
			}
		}
		if (n == 0) {
			break;
		}
		pthread_mutex_unlock(&sp->mtx);
		int failed = 0;
		for (int i = 0; i < n && !failed; i++) {
			struct iovec iov = {todo[i]->frame, todo[i]->flen};
			failed = mps__sp_write(fd, &iov, 1, todo[i]->deadline == SP_NONE ? -1 : todo[i]->deadline) != 0;
		}
		pthread_mutex_lock(&sp->mtx);
		for (int i = 0; i < n; i++) {
			wrote(sp, todo[i]);
		}
		if (failed) {
			if (sp->fd == fd) {
				shutdown(fd, SHUT_RDWR);
			}
			break;
		}
	}
	pthread_mutex_unlock(&sp->wmtx);
}

/* ---- the leader: reading, dialing ---- */

/* The connection ended (leader only; mtx held, dropped and retaken). */
static void
conn_down(mps__sp *sp, mps_err kind, const char *why)
{
	int fd = sp->fd;
	if (fd < 0) {
		return;
	}
	sp->fd       = -1;
	sp->down_err = kind;
	snprintf(sp->down_why, sizeof(sp->down_why), "%s", why);
	sp->downs++;
	sp->lost_err = kind;
	snprintf(sp->lost_why, sizeof(sp->lost_why), "%s", why);
	sp->retry_at = 0; /* the first attempt at once: a restarted daemon is back soon */
	shutdown(fd, SHUT_RDWR); /* a writer blocked on it returns */
	pthread_mutex_unlock(&sp->mtx);
	pthread_mutex_lock(&sp->wmtx); /* no writer holds the number any more */
	close(fd);
	pthread_mutex_unlock(&sp->wmtx);
	pthread_mutex_lock(&sp->mtx);
	mps__rd_reset(&sp->rd);
}

/* A reply frame: to its request, or dropped when nobody waits for it.
 * -1: not a reply at all. */
static int
dispatch(mps__sp *sp, uint8_t *body, size_t len)
{
	if (len < 4 || !(body[0] & 0x80)) {
		free(body);
		return -1;
	}
	spreq *r = tab_find(sp, mps_sp_get32(body));
	if (r == NULL) {
		free(body); /* the answer to a request given up */
		return 0;
	}
	mps__spq_tab_del(sp, r);
	r->rmem = body;
	r->rlen = len;
	r->err  = MPS_OK;
	mps__spq_complete(sp, r);
	return 0;
}

static void
reconnect(mps__sp *sp, int64_t deadline, pthread_cond_t *mycv)
{
	int64_t now = mps__now_ms();
	if (now < sp->retry_at) {
		int64_t until = sp->retry_at < deadline ? sp->retry_at : deadline;
		mps__cond_wait_until(mycv, &sp->mtx, until);
		return;
	}
	int64_t dl = now + sp->dial_ms;
	if (deadline < dl) {
		dl = deadline;
	}
	mps_err kind = MPS_OK;
	char    why[256];
	pthread_mutex_unlock(&sp->mtx);
	int fd = mps__sp_dial(&sp->addr, MPS_SP_REQ0, MPS_SP_REP0, dl == SP_NONE ? -1 : dl, &kind,
	    why, sizeof(why));
	if (fd >= 0 && sp->on_connect != NULL &&
	    (kind = sp->on_connect(sp->on_connect_arg, fd, sp->addr.ipc, dl == SP_NONE ? -1 : dl,
	         why, sizeof(why))) != MPS_OK) {
		close(fd); /* e.g. the auth handshake: authenticate before re-sending */
		fd = -1;
	}
	pthread_mutex_lock(&sp->mtx);
	if (fd < 0) {
		sp->down_err = kind == MPS_ERR_TIMEOUT ? MPS_ERR_CONNECT : kind;
		snprintf(sp->down_why, sizeof(sp->down_why), "%s", why);
		sp->backoff_ms = sp->backoff_ms ? sp->backoff_ms * 2 : SP_BACKOFF_MIN_MS;
		if (sp->backoff_ms > SP_BACKOFF_MAX_MS) {
			sp->backoff_ms = SP_BACKOFF_MAX_MS;
		}
		sp->retry_at = mps__now_ms() + sp->backoff_ms;
		return;
	}
	if (sp->closing) {
		close(fd);
		return;
	}
	sp->fd         = fd;
	sp->gen++;
	sp->backoff_ms = 0;
	sp->down_err   = MPS_OK;
	mps__rd_reset(&sp->rd);
	resend(sp);
}

/* One step of the leader (mtx held, sp->leader set): dial when there is
 * no connection, else wait for bytes until deadline and hand out the
 * replies they complete. */
void
mps__spq_lead_step(mps__sp *sp, int64_t deadline, pthread_cond_t *mycv)
{
	if (sp->closing) {
		return;
	}
	if (sp->fd < 0) {
		reconnect(sp, deadline, mycv);
		return;
	}
	int fd = sp->fd, st = 1, eno = 0;
	int ready = mps__rd_ready(&sp->rd);
	pthread_mutex_unlock(&sp->mtx);
	if (!ready) {
		/* Busy polling: a reply that comes within a few tens of
		 * microseconds is read without sleeping (and without the wake-up
		 * that costs as much). Adaptive: after a poll the reply outlasted
		 * (a write that waits for the disk, a parked op), only every 16th
		 * wait tries again. Leader only: no lock needed. */
		int us = mps__busy_poll_us(), spun = 0;
		if (us > 0 && (sp->spin_ok || ++sp->spin_skips % 16 == 0)) {
			spun = sp->spin_ok = mps__sp_spin(fd, us);
		}
		if (!spun) {
			st = mps__sp_wait(fd, POLLIN, deadline == SP_NONE ? -1 : deadline);
		}
		if (st > 0) {
			st  = mps__rd_fill(&sp->rd, fd);
			eno = errno;
		}
	}
	uint8_t    *body[SP_FRAMES];
	size_t      len[SP_FRAMES];
	int         n = 0, bad = 0;
	const char *why = NULL;
	while (st > 0 && n < SP_FRAMES) {
		int k = mps__rd_next(&sp->rd, &body[n], &len[n], &why);
		if (k <= 0) {
			bad = k < 0;
			break;
		}
		n++;
	}
	pthread_mutex_lock(&sp->mtx);
	for (int i = 0; i < n; i++) {
		if (bad) {
			free(body[i]);
		} else if (dispatch(sp, body[i], len[i]) != 0) {
			bad = 1;
			why = "a reply without an SP request id";
		}
	}
	if (bad) {
		char msg[200];
		snprintf(msg, sizeof(msg), "the peer sent %s", why);
		conn_down(sp, MPS_ERR_PROTOCOL, msg);
	} else if (st < 0) {
		conn_down(sp, MPS_ERR_CONNECT,
		    eno != 0 ? strerror(eno) : "the connection was closed by the peer");
	}
}

/* ---- synchronous calls ---- */

void
mps__spq_frame_set(mps__sp *sp, spreq *r, mps__msg *m)
{
	uint8_t hdr[MPS_SP_HDR_MAX];
	size_t  hl = mps_sp_hdr(hdr, sp->addr.ipc, (uint64_t) m->len + 4);
	r->frame   = m->body - 4 - hl;
	r->flen    = hl + 4 + m->len;
	memcpy(r->frame, hdr, hl);
}

int64_t
mps__spq_to_deadline(int64_t timeout_ms)
{
	int64_t d = mps__deadline(timeout_ms);
	return d < 0 ? SP_NONE : d;
}

static mps_err
sp_call(void *tpd, mps__msg *m, int64_t timeout_ms, mps__rbuf *reply)
{
	mps__sp *sp = tpd;
	spreq    r;
	memset(&r, 0, offsetof(spreq, why));
	r.why[0]   = '\0';
	r.sp       = sp;
	r.deadline = mps__spq_to_deadline(timeout_ms);
	mps__spq_frame_set(sp, &r, m);
	mps__cond_init(&r.cv);

	pthread_mutex_lock(&sp->mtx);
	if (sp->closing) {
		pthread_mutex_unlock(&sp->mtx);
		pthread_cond_destroy(&r.cv);
		return mps__fail(MPS_ERR_CLOSED, "client is closed");
	}
	mps__spq_tab_add(sp, &r);
	pthread_mutex_unlock(&sp->mtx);
	mps__spq_send_one(sp, &r);

	pthread_mutex_lock(&sp->mtx);
	for (;;) {
		if (r.done || sp->closing || (r.deadline != SP_NONE && mps__now_ms() >= r.deadline)) {
			break;
		}
		if (!sp->leader) {
			sp->leader = 1;
			while (!r.done && !sp->closing &&
			       (r.deadline == SP_NONE || mps__now_ms() < r.deadline)) {
				mps__spq_lead_step(sp, r.deadline, &r.cv);
			}
			sp->leader = 0;
			continue;
		}
		mps__cond_wait_until(&r.cv, &sp->mtx, r.deadline == SP_NONE ? -1 : r.deadline);
	}
	if (r.state == RQ_PENDING) {
		mps__spq_tab_del(sp, &r); /* given up: a late reply is dropped by id */
	}
	while (r.writing) {
		pthread_cond_wait(&r.cv, &sp->mtx);
	}
	handoff(sp);
	mps_err e = MPS_OK;
	if (!r.done) {
		e = sp->closing ? MPS_ERR_CLOSED : mps__spq_late_err(sp, &r, r.why, sizeof(r.why));
	}
	pthread_mutex_unlock(&sp->mtx);
	pthread_cond_destroy(&r.cv);
	if (e != MPS_OK) {
		return mps__fail(e, "%s", e == MPS_ERR_CLOSED ? "client is closed" : r.why);
	}
	reply->mem  = r.rmem;
	reply->free = free;
	reply->data = r.rmem + 4;
	reply->len  = r.rlen - 4;
	return MPS_OK;
}

/* ---- open, close, fork ---- */

static void
sp_free(mps__sp *sp)
{
	mps__rd_fini(&sp->rd);
	pthread_cond_destroy(&sp->rcv);
	pthread_cond_destroy(&sp->dcv);
	pthread_mutex_destroy(&sp->mtx);
	pthread_mutex_destroy(&sp->wmtx);
	free(sp);
}

static mps_err
sp_open(const mps__dialopts *o, void **tpd)
{
	char    err[300];
	mps_err kind = MPS_OK;
	mps__sp *sp  = calloc(1, sizeof(*sp));
	if (sp == NULL) {
		return mps__fail(MPS_ERR_NOMEM, "out of memory");
	}
	if (mps__addr_parse(o->url, &sp->addr, err, sizeof(err)) != 0) {
		free(sp);
		return mps__fail(MPS_ERR_CONNECT, "cannot connect: %s", err);
	}
	pthread_mutex_init(&sp->mtx, NULL);
	pthread_mutex_init(&sp->wmtx, NULL);
	mps__cond_init(&sp->rcv);
	mps__cond_init(&sp->dcv);
	sp->dial_ms    = o->timeout_ms;
	sp->pend.next  = sp->pend.prev = &sp->pend;
	sp->areqs.anext = sp->areqs.aprev = &sp->areqs;
	sp->next_adl   = SP_NONE;
	sp->spin_ok    = 1;
	if (getrandom(&sp->next_id, sizeof(sp->next_id), GRND_NONBLOCK) != (ssize_t) sizeof(sp->next_id)) {
		sp->next_id = (uint32_t) mps__now_ms() ^ (uint32_t) getpid();
	}
	mps__rd_init(&sp->rd, sp->addr.ipc, MPS__SP_MAX_FRAME);
	sp->on_connect     = o->on_connect;
	sp->on_connect_arg = o->on_connect_arg;
	sp->fd = mps__sp_dial(&sp->addr, MPS_SP_REQ0, MPS_SP_REP0, mps__deadline(o->timeout_ms),
	    &kind, err, sizeof(err));
	if (sp->fd >= 0 && sp->on_connect != NULL &&
	    (kind = sp->on_connect(sp->on_connect_arg, sp->fd, sp->addr.ipc,
	         mps__deadline(o->timeout_ms), err, sizeof(err))) != MPS_OK) {
		close(sp->fd);
		sp->fd = -1;
	}
	if (sp->fd < 0) {
		sp_free(sp);
		return mps__fail(kind == MPS_ERR_TIMEOUT ? MPS_ERR_CONNECT : kind, "%s", err);
	}
	sp->gen = 1;
	*tpd    = sp;
	return MPS_OK;
}

static void
sp_close(void *tpd)
{
	mps__sp *sp = tpd;
	pthread_mutex_lock(&sp->mtx);
	sp->closing = 1;
	for (spreq *r = sp->pend.next, *nx; r != &sp->pend; r = nx) {
		nx = r->next;
		if (r->async) {
			mps__spq_tab_del(sp, r);
			r->err = MPS_ERR_CLOSED;
			snprintf(r->why, sizeof(r->why), "client is closed");
			mps__spq_complete(sp, r);
		} else {
			pthread_cond_signal(&r->cv);
		}
	}
	if (sp->fd >= 0) {
		shutdown(sp->fd, SHUT_RDWR); /* ends a leader's wait */
	}
	pthread_cond_broadcast(&sp->rcv);
	int running = sp->rthr_running;
	pthread_mutex_unlock(&sp->mtx);
	if (running) {
		pthread_join(sp->rthr, NULL); /* it delivers the MPS_ERR_CLOSED first */
	}
	pthread_mutex_lock(&sp->wmtx);
	pthread_mutex_lock(&sp->mtx);
	while (sp->leader) { /* cannot be, by mps_close's contract; be safe */
		pthread_mutex_unlock(&sp->mtx);
		pthread_mutex_unlock(&sp->wmtx);
		sched_yield();
		pthread_mutex_lock(&sp->wmtx);
		pthread_mutex_lock(&sp->mtx);
	}
	if (sp->fd >= 0) {
		close(sp->fd);
		sp->fd = -1;
	}
	for (spreq *r = sp->areqs.anext; r != &sp->areqs; r = r->anext) {
		r->sp = NULL; /* the batches' mps_batch_free still frees them */
	}
	pthread_mutex_unlock(&sp->mtx);
	pthread_mutex_unlock(&sp->wmtx);
	sp_free(sp);
}

static void
sp_fork_prepare(void *tpd)
{
	mps__sp *sp = tpd;
	pthread_mutex_lock(&sp->wmtx);
	pthread_mutex_lock(&sp->mtx);
}

static void
sp_fork_parent(void *tpd)
{
	mps__sp *sp = tpd;
	pthread_mutex_unlock(&sp->mtx);
	pthread_mutex_unlock(&sp->wmtx);
}

/* In the child: the connection, its requests and the reader thread are
 * the parent's. Close our copy of the socket (never shut it down: that
 * would cut the parent off) and start with nothing in flight. */
static void
sp_fork_child(void *tpd)
{
	mps__sp *sp = tpd;
	pthread_mutex_init(&sp->mtx, NULL);
	pthread_mutex_init(&sp->wmtx, NULL);
	mps__cond_init(&sp->rcv);
	mps__cond_init(&sp->dcv);
	if (sp->fd >= 0) {
		close(sp->fd);
		sp->fd = -1;
	}
	sp->gen++;
	sp->leader = 0;
	for (spreq *r = sp->pend.next; r != &sp->pend; r = r->next) {
		r->state   = RQ_IDLE;
		r->writing = 0;
	}
	for (spreq *r = sp->dhead; r != NULL; r = r->dnext) {
		r->state = RQ_IDLE;
		free(r->rmem);
		r->rmem = NULL;
	}
	for (spreq *r = sp->areqs.anext; r != &sp->areqs; r = r->anext) {
		r->writing = 0;
	}
	memset(sp->tab, 0, sizeof(sp->tab));
	sp->pend.next = sp->pend.prev = &sp->pend;
	sp->dhead = sp->dtail = sp->delivering = NULL;
	sp->nasync       = 0;
	sp->next_adl     = SP_NONE;
	sp->rthr_running = 0;
	sp->down_err     = MPS_OK;
	sp->retry_at     = 0;
	sp->backoff_ms   = 0;
	mps__rd_reset(&sp->rd);
}

const mps__tp mps__tp_sp = {
    .name         = "sp",
    .open         = sp_open,
    .call         = sp_call,
    .areq_alloc   = mps__spq_areq_alloc,
    .submit       = mps__spq_submit,
    .areq_free    = mps__spq_areq_free,
    .close        = sp_close,
    .fork_prepare = sp_fork_prepare,
    .fork_parent  = sp_fork_parent,
    .fork_child   = sp_fork_child,
    .fork_safe    = 1,
};
