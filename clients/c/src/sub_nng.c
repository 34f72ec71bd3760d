/*
 * sub_nng.c - nng's SUB socket, for tls+tcp:// PUB addresses (sub.h).
 * nng filters the topics itself (they are set as its subscriptions too)
 * and redials on its own. Not usable in a forked child (nng_dial.h).
 */
#include <stdlib.h>

#include "nng_dial.h"
#include "sp_conn.h"
#include "sub.h"

#include <nng/protocol/pubsub0/sub.h>

typedef struct subn {
	mps__sub   base;
	nng_socket sock;
	nng_aio   *aio;
	nng_msg   *last;
	int        subscribed;
	int        forked;
} subn;

/* nng's own subscriptions, from the topics: before dialing, so that
 * nothing published after the connection is dropped for want of them. */
static int
subscribe(subn *s)
{
	for (int i = 0; i < s->base.ntopics; i++) {
		int rv = nng_socket_set(s->sock, NNG_OPT_SUB_SUBSCRIBE, s->base.topics[i],
		    s->base.tlen[i]);
		if (rv != 0) {
			return rv;
		}
	}
	return 0;
}

static int
subn_recv(mps__sub *b, int64_t deadline, const uint8_t **data, size_t *len)
{
	subn *s = (subn *) b;
	if (s->forked) {
		return -1;
	}
	if (s->last != NULL) {
		nng_msg_free(s->last);
		s->last = NULL;
	}
	int      left = mps__poll_ms(deadline);
	nng_msg *m    = NULL;
	int      rv;
	if (left == 0) {
		rv = nng_recvmsg(s->sock, &m, NNG_FLAG_NONBLOCK);
	} else {
		nng_aio_set_timeout(s->aio, left < 0 ? NNG_DURATION_INFINITE : (nng_duration) left);
		nng_recv_aio(s->sock, s->aio);
		nng_aio_wait(s->aio);
		rv = nng_aio_result(s->aio);
		if (rv == 0) {
			m = nng_aio_get_msg(s->aio);
			nng_aio_set_msg(s->aio, NULL);
		}
	}
	if (rv == NNG_ECLOSED) {
		return -1;
	}
	if (rv != 0) {
		return 0;
	}
	s->last = m;
	*data   = nng_msg_body(m);
	*len    = nng_msg_len(m);
	return 1;
}

static int
subn_fd(mps__sub *b)
{
	subn *s = (subn *) b;
	int   fd;
	return !s->forked && nng_socket_get_int(s->sock, NNG_OPT_RECVFD, &fd) == 0 ? fd : -1;
}

static int
subn_pending(mps__sub *b)
{
	(void) b; /* nng's queue shows on its receive descriptor */
	return 0;
}

static int64_t
subn_wake_at(mps__sub *b)
{
	(void) b; /* nng dials in the background */
	return -1;
}

static void
subn_close(mps__sub *b)
{
	subn *s = (subn *) b;
	if (!s->forked) {
		nng_aio_stop(s->aio);
		nng_close(s->sock);
		nng_aio_free(s->aio);
		if (s->last != NULL) {
			nng_msg_free(s->last);
		}
	}
	mps__sub_topics_fini(b);
	free(s);
}

static void
subn_fork_child(mps__sub *b)
{
	((subn *) b)->forked = 1;
}

static const mps__subops subn_ops = {subn_recv, subn_fd, subn_pending, subn_wake_at,
    subn_close, subn_fork_child};

mps_err
mps__sub_nng_open(const mps__dialopts *o, const uint8_t *const *topics, const size_t *tlen,
    int ntopics, mps__sub **out)
{
	char    err[512];
	mps_err e = mps__nng_enter();
	if (e != MPS_OK) {
		return e;
	}
	subn *s = calloc(1, sizeof(*s));
	if (s == NULL) {
		return mps__fail(MPS_ERR_NOMEM, "out of memory");
	}
	s->base.ops = &subn_ops;
	int rv      = nng_sub0_open(&s->sock);
	if (rv != 0) {
		free(s);
		return mps__from_nng(rv);
	}
	nng_socket_set_int(s->sock, NNG_OPT_RECVBUF, 8192);
	nng_socket_set_ms(s->sock, NNG_OPT_RECONNMINT, 20);
	nng_socket_set_ms(s->sock, NNG_OPT_RECONNMAXT, 1000);
	nng_socket_set_size(s->sock, NNG_OPT_RECVMAXSZ, 0);
	if (mps__sub_topics_init(&s->base, topics, tlen, ntopics) != 0) {
		rv = NNG_ENOMEM;
	} else if ((rv = subscribe(s)) == 0) {
		rv = nng_aio_alloc(&s->aio, NULL, NULL);
	}
	if (rv != 0) {
		nng_close(s->sock);
		mps__sub_topics_fini(&s->base);
		free(s);
		return mps__from_nng(rv);
	}
	/* connected when this returns if the daemon is there; else nng keeps
	 * dialing in the background and the watch polls meanwhile */
	rv = mps__nng_dial(s->sock, o, 0, err, sizeof(err));
	if (rv != 0 && rv != NNG_ENOMEM) {
		rv = mps__nng_dial(s->sock, o, NNG_FLAG_NONBLOCK, err, sizeof(err));
	}
	if (rv != 0) {
		nng_aio_free(s->aio);
		nng_close(s->sock);
		mps__sub_topics_fini(&s->base);
		free(s);
		return mps__fail(rv == NNG_ENOMEM ? MPS_ERR_NOMEM : MPS_ERR_CONNECT,
		    "cannot subscribe: %s", err);
	}
	*out = &s->base;
	return MPS_OK;
}
