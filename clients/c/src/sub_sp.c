/*
 * sub_sp.c - libmpstore's own SP SUB0 socket for ipc:// and tcp:// PUB
 * addresses (sub.h): handshake as SUB0 with a PUB0 peer, read frames,
 * keep those that start with a subscribed topic. A dropped connection is
 * dialled again from recv (backoff 20 ms doubling to 1 s); what PUB sent
 * meanwhile is recovered by the watch's gap recovery (OP_CHANGES).
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "sp.h"
#include "sp_conn.h"
#include "sub.h"

#define SUB_BACKOFF_MIN_MS 20
#define SUB_BACKOFF_MAX_MS 1000
#define SUB_DIAL_MIN_MS    200 /* a dial's own time, even for a poll */

typedef struct subsp {
	mps__sub  base;
	mps__addr addr;
	int       fd;
	int       dial_ms;
	int64_t   retry_at;
	int       backoff_ms;
	uint8_t  *last; /* the message handed out last */
	mps__rd   rd;
} subsp;

static void
drop(subsp *s)
{
	if (s->fd >= 0) {
		close(s->fd);
		s->fd = -1;
		s->base.gen++;
	}
	mps__rd_reset(&s->rd);
}

static void
dial(subsp *s, int64_t deadline)
{
	int64_t now = mps__now_ms();
	if (now < s->retry_at) {
		return;
	}
	/* within the caller's deadline, but long enough to finish a dial */
	int64_t dl = now + s->dial_ms;
	if (deadline >= 0 && deadline < dl) {
		dl = deadline > now + SUB_DIAL_MIN_MS ? deadline : now + SUB_DIAL_MIN_MS;
	}
	mps_err kind;
	char    err[256];
	s->fd = mps__sp_dial(&s->addr, MPS_SP_SUB0, MPS_SP_PUB0, dl, &kind, err, sizeof(err));
	if (s->fd < 0) {
		s->backoff_ms = s->backoff_ms ? s->backoff_ms * 2 : SUB_BACKOFF_MIN_MS;
		if (s->backoff_ms > SUB_BACKOFF_MAX_MS) {
			s->backoff_ms = SUB_BACKOFF_MAX_MS;
		}
		s->retry_at = mps__now_ms() + s->backoff_ms;
		return;
	}
	s->backoff_ms = 0;
	s->base.gen++;
	mps__rd_reset(&s->rd);
}

/* Wait until fd (-1: none) is readable, deadline passes, or intr_fd
 * (-1: none) is readable: 1 for fd, 0 otherwise. */
static int
wait_in(int fd, int intr_fd, int64_t deadline)
{
	if (intr_fd < 0 && fd >= 0) {
		return mps__sp_wait(fd, POLLIN, deadline);
	}
	struct pollfd p[2] = {{.fd = intr_fd, .events = POLLIN}, {.fd = fd, .events = POLLIN}};
	for (;;) {
		int rv = poll(p, fd >= 0 ? 2 : 1, mps__poll_ms(deadline));
		if (rv < 0 && errno == EINTR) {
			continue;
		}
		if (rv <= 0 || p[0].revents != 0) {
			return 0;
		}
		return 1;
	}
}

static int
subsp_recv(mps__sub *b, int64_t deadline, const uint8_t **data, size_t *len)
{
	subsp *s = (subsp *) b;
	free(s->last);
	s->last = NULL;
	for (;;) {
		if (s->fd < 0) {
			dial(s, deadline);
			if (s->fd < 0) {
				/* wait for the next attempt rather than spin (the
				 * caller asks again at once) */
				int64_t until = deadline >= 0 && deadline < s->retry_at ? deadline
				                                                        : s->retry_at;
				if (b->intr_fd >= 0) {
					wait_in(-1, b->intr_fd, until);
					return 0;
				}
				int64_t left = until - mps__now_ms();
				if (left > 0) {
					struct timespec ts = {(time_t) (left / 1000),
					    (long) (left % 1000) * 1000000L};
					nanosleep(&ts, NULL);
				}
				return 0;
			}
		}
		uint8_t    *body;
		size_t      n;
		const char *why;
		int         k;
		while ((k = mps__rd_next(&s->rd, &body, &n, &why)) == 1) {
			if (mps__sub_match(b, body, n)) {
				s->last = body;
				*data   = body;
				*len    = n;
				return 1;
			}
			free(body);
		}
		if (k < 0) {
			drop(s); /* not a PUB stream we can follow: start over */
			s->retry_at = mps__now_ms() + SUB_BACKOFF_MAX_MS;
			continue;
		}
		if (wait_in(s->fd, b->intr_fd, deadline) == 0) {
			return 0;
		}
		if (mps__rd_fill(&s->rd, s->fd) < 0) {
			drop(s);
			s->retry_at = 0;
		}
		if (deadline >= 0 && mps__now_ms() >= deadline && !mps__rd_ready(&s->rd)) {
			return 0;
		}
	}
}

static int
subsp_fd(mps__sub *b)
{
	return ((subsp *) b)->fd;
}

static int
subsp_pending(mps__sub *b)
{
	subsp *s = (subsp *) b;
	return s->fd >= 0 && mps__rd_ready(&s->rd);
}

static int64_t
subsp_wake_at(mps__sub *b)
{
	subsp *s = (subsp *) b;
	return s->fd >= 0 ? -1 : s->retry_at;
}

static void
subsp_close(mps__sub *b)
{
	subsp *s = (subsp *) b;
	if (s->fd >= 0) {
		close(s->fd);
	}
	free(s->last);
	mps__rd_fini(&s->rd);
	mps__sub_topics_fini(b);
	free(s);
}

static void
subsp_fork_child(mps__sub *b)
{
	subsp *s = (subsp *) b;
	drop(s); /* our copy only: the parent's subscription goes on */
	s->retry_at   = 0;
	s->backoff_ms = 0;
}

static const mps__subops subsp_ops = {subsp_recv, subsp_fd, subsp_pending, subsp_wake_at,
    subsp_close, subsp_fork_child};

mps_err
mps__sub_sp_open(const mps__dialopts *o, const uint8_t *const *topics, const size_t *tlen,
    int ntopics, mps__sub **out)
{
	char   err[300];
	subsp *s = calloc(1, sizeof(*s));
	if (s == NULL) {
		return mps__fail(MPS_ERR_NOMEM, "out of memory");
	}
	if (mps__addr_parse(o->url, &s->addr, err, sizeof(err)) != 0) {
		free(s);
		return mps__fail(MPS_ERR_CONNECT, "cannot subscribe: %s", err);
	}
	s->base.ops = &subsp_ops;
	s->fd       = -1;
	if (mps__sub_topics_init(&s->base, topics, tlen, ntopics) != 0) {
		mps__sub_topics_fini(&s->base);
		free(s);
		return mps__fail(MPS_ERR_NOMEM, "out of memory");
	}
	s->dial_ms  = o->timeout_ms > 0 ? o->timeout_ms : 1000;
	mps__rd_init(&s->rd, s->addr.ipc, MPS__SP_MAX_FRAME);
	dial(s, mps__deadline(s->dial_ms)); /* else recv keeps trying; the watch polls meanwhile */
	*out = &s->base;
	return MPS_OK;
}
