/*
 * sub.h - a watch's subscription to the daemon's PUB socket (hidden).
 * Two kinds behind one interface: libmpstore's own SP SUB0 for ipc:// and
 * tcp:// (sub_sp.c: fork-safe, no nng in the process), and nng's SUB for
 * tls+tcp:// (sub_nng.c). Both keep a message when it starts with one of
 * the subscribed topics, exactly as nng's SUB filters, and reconnect on
 * their own when the connection drops. One thread at a time.
 */
#ifndef MPS_SUB_H
#define MPS_SUB_H

#include "transport.h"

typedef struct mps__sub mps__sub;

typedef struct mps__subops {
	int  (*recv)(mps__sub *s, int64_t deadline, const uint8_t **data, size_t *len);
	int  (*fd)(mps__sub *s);
	int  (*pending)(mps__sub *s);
	int64_t (*wake_at)(mps__sub *s);
	void (*close)(mps__sub *s);
	void (*fork_child)(mps__sub *s);
} mps__subops;

struct mps__sub {
	const mps__subops *ops;
	unsigned           gen;     /* +1 whenever fd() changes */
	const uint8_t    **topics;  /* subscribed prefixes */
	size_t            *tlen;
	int                ntopics;
	int                intr_fd; /* -1, or readable: recv returns 0 at once (stop) */
};

/* Subscribe to o->url with the given prefixes (copied). Connected when
 * this returns if the daemon is there; otherwise it keeps trying in the
 * background of recv. MPS_ERR_CONNECT for a bad URL. */
mps_err mps__sub_open(const mps__dialopts *o, const uint8_t *const *topics, const size_t *tlen,
    int ntopics, mps__sub **out);

/* The next message kept by the filter, waiting until deadline (monotonic
 * ms, -1: none): 1 with *data, *len valid until the next call, 0 none in
 * time (or not connected), -1 not usable any more (closed, or nng in a
 * forked child). */
static inline int
mps__sub_recv(mps__sub *s, int64_t deadline, const uint8_t **data, size_t *len)
{
	return s->ops->recv(s, deadline, data, len);
}
/* A descriptor that is readable when a message may be waiting; -1 while
 * not connected. Changes with s->gen. */
static inline int mps__sub_fd(mps__sub *s) { return s->ops->fd(s); }
/* 1 when a message is already buffered: recv answers without waiting. */
static inline int mps__sub_pending(mps__sub *s) { return s->ops->pending(s); }
/* When recv should be called even though fd() is not readable (the time
 * of the next dial while not connected), monotonic ms; -1: never. */
static inline int64_t mps__sub_wake_at(mps__sub *s) { return s->ops->wake_at(s); }
static inline void mps__sub_close(mps__sub *s)
{
	if (s != NULL)
		s->ops->close(s);
}
/* In a forked child: drop the parent's connection (our copy is closed,
 * never shut down); an own SUB reconnects at its next recv. */
static inline void mps__sub_fork_child(mps__sub *s) { s->ops->fork_child(s); }

/* For the implementations: keep the topics; 1 when msg passes the filter. */
int  mps__sub_topics_init(mps__sub *s, const uint8_t *const *topics, const size_t *tlen, int n);
void mps__sub_topics_fini(mps__sub *s);
int  mps__sub_match(const mps__sub *s, const uint8_t *msg, size_t len);
mps_err mps__sub_sp_open(const mps__dialopts *o, const uint8_t *const *topics,
    const size_t *tlen, int ntopics, mps__sub **out);
mps_err mps__sub_nng_open(const mps__dialopts *o, const uint8_t *const *topics,
    const size_t *tlen, int ntopics, mps__sub **out);

#endif
