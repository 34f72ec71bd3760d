/*
 * net.h - mpstored's transport: one libuv loop thread that accepts ipc://
 * and tcp:// connections, speaks SP REQ/REP v0 and PUB/SUB v0 on them (the
 * bytes nng and nanomsg speak: schema/sp.h), hands each request to the
 * daemon and writes each reply straight back; tls+tcp:// goes through nng
 * and its TLS (tls.c), bridged into the same loop, so the daemon sees every
 * request on the loop thread whatever carried it.
 *
 * It knows nothing of protobuf, the store or SQLite: the daemon plugs in
 * through mpsd_net_hooks and answers through mpsd_net_reply.
 *
 * Threads: every function here runs on the loop thread, except
 * mpsd_net_post (any thread) and mpsd_net_open (before the loop runs).
 */
#ifndef MPSD_NET_H
#define MPSD_NET_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <uv.h>

#include "sp.h"

#define MPSD_NET_MAX_LISTEN 8

typedef struct mpsd_net  mpsd_net;
typedef struct mpsd_conn mpsd_conn;

/*
 * A message to send: the SP header is written into `room`, right before the
 * body, so that a frame goes out in one piece. Allocated by mpsd_msg_alloc;
 * whoever holds it frees it with mpsd_msg_free, or hands it to
 * mpsd_net_reply, which takes it.
 */
#define MPSD_MSG_ROOM (MPS_SP_HDR_MAX + MPS_SP_BT_MAX + 3)
typedef struct mpsd_msg mpsd_msg;
typedef struct pubframe pubframe;
/* A queued write (the transport's; a reply carries its own). */
typedef struct mpsd_outq {
	struct mpsd_outq *next;
	mpsd_msg         *m;       /* a reply, or */
	pubframe         *pf;      /* a notification shared by subscribers */
	size_t            off, len; /* bytes written, frame length */
} mpsd_outq;
struct mpsd_msg {
	mpsd_outq q;
	size_t    len; /* body length */
	uint8_t   room[MPSD_MSG_ROOM];
	uint8_t   body[];
};

mpsd_msg *mpsd_msg_alloc(size_t len); /* NULL when out of memory */
void      mpsd_msg_free(mpsd_msg *m); /* NULL ok */
mpsd_msg *mpsd_msg_dup(const mpsd_msg *m);

/*
 * Where a request came from, and where its reply goes. The net fills it in
 * before hooks.request; the daemon copies it into its request and later
 * passes it to exactly one of mpsd_net_reply or mpsd_net_release (the peer
 * holds a reference on its connection until then).
 */
typedef struct mpsd_peer {
	mpsd_conn *conn; /* a connection of the loop, or NULL */
	void      *tls;  /* or the TLS bridge's context (tls.c) */
	uint32_t   id;   /* the connection's id (sessions bind to it); never 0 */
	uint8_t    btlen;
	uint8_t    bt[MPS_SP_BT_MAX]; /* the SP backtrace to send back */
} mpsd_peer;

/* hooks.request flags */
enum {
	MPSD_NET_TOO_BIG = 1,    /* the body was longer than max_msg: not read (len = its size) */
	MPSD_NET_OVER_LIMIT = 2, /* a connection beyond max_clients: answer with an error;
	                          * it is closed once the answer is written */
};

typedef struct mpsd_net_hooks {
	/* A request (body without the backtrace). body is valid during the call. */
	void (*request)(void *arg, const mpsd_peer *from, const uint8_t *body, size_t len,
	    int flags);
	/* A request connection (ipc, tcp or a TLS pipe) was accepted / has ended. */
	void (*opened)(void *arg, uint32_t id, const char *addr, pid_t pid);
	void (*closed)(void *arg, uint32_t id);
	void *arg;
} mpsd_net_hooks;

typedef struct mpsd_net_cfg {
	const char *listen[MPSD_NET_MAX_LISTEN];
	int         nlisten;
	const char *pub_url;            /* NULL or "": no notifications */
	size_t      max_msg;            /* largest request body */
	size_t      max_clients;        /* request connections at once */
	size_t      max_client_buffer;  /* replies queued on one connection before it is closed */
	size_t      max_subscribers;
	size_t      max_subscriber_buffer; /* notifications queued for one subscriber */
	int64_t     subscriber_timeout_ms; /* a subscriber full this long is dropped */
	int         ipc_mode;           /* permissions of ipc sockets (e.g. 0600) */
	const char *tls_cert, *tls_key; /* PEM files for tls+tcp:// */
	const char *tls_client_ca;      /* require client certificates signed by this CA */
	int         tls_contexts;       /* nng REP contexts receiving at once */
	int         busy_poll_us;       /* after a lone request, poll this long before sleeping */
} mpsd_net_cfg;

/*
 * Create the loop and bind every listener (before the database is opened,
 * so that a second daemon on a served address fails without touching
 * anything). An ipc:// path that a live daemon answers on is refused; a
 * stale socket file is replaced. Nothing is accepted until mpsd_net_run.
 * Returns 0, or -1 with a message in err (nothing left behind).
 */
int  mpsd_net_open(mpsd_net **out, const mpsd_net_cfg *cfg, const mpsd_net_hooks *hooks,
     char *err, size_t errlen);
/* Run the loop until mpsd_net_stop. */
void mpsd_net_run(mpsd_net *n);
/* Stop accepting and reading (requests that arrive are dropped, as after a
 * crash); mpsd_net_run returns once mpsd_net_close has closed everything. */
void mpsd_net_stop(mpsd_net *n);
/* Best effort: write what is queued, close every connection and listener,
 * remove our ipc socket files, let the loop end; then free. */
void mpsd_net_close(mpsd_net *n);
void mpsd_net_free(mpsd_net *n);

uv_loop_t *mpsd_net_loop(mpsd_net *n);

/* Answer a request: takes m (NULL: nothing to send) and the peer's
 * reference. A reply to a connection that has gone is dropped. */
void mpsd_net_reply(mpsd_net *n, mpsd_peer *to, mpsd_msg *m);
/* Forget a request without answering. */
void mpsd_net_release(mpsd_net *n, mpsd_peer *to);
/* Whether the peer's connection is still open. */
int  mpsd_net_peer_alive(const mpsd_peer *p);

/* Publish topic "name\0" + payload to every subscriber (never blocks; a
 * subscriber whose queue is full loses the message: docs/watch.md). */
void   mpsd_net_publish(mpsd_net *n, const char *name, const uint8_t *data, size_t len);
size_t mpsd_net_subscribers(const mpsd_net *n);

/*
 * Run fn(arg) on the loop thread, soon; callable from any thread. node is
 * the caller's (for instance inside the work it hands over) and must stay
 * valid until fn runs. Posts are run in order; several posts between two
 * loop iterations cost one wake-up.
 */
typedef struct mpsd_post {
	struct mpsd_post *next;
	void (*fn)(void *arg);
	void *arg;
} mpsd_post;
void mpsd_net_post(mpsd_net *n, mpsd_post *node);
/* Run the posts waiting now (the shutdown path, with the loop stopped). */
void mpsd_net_run_posts(mpsd_net *n);

typedef struct mpsd_net_stats {
	size_t   clients;          /* request connections now */
	size_t   clients_max;
	uint64_t clients_total;    /* accepted since start */
	uint64_t clients_refused;  /* over max_clients */
	uint64_t clients_dropped;  /* closed for a full reply buffer */
	uint64_t bad_frames;       /* connections closed for bad framing */
	size_t   client_buffer;    /* bytes queued to clients now */
	size_t   client_buffer_peak; /* largest queue of one connection seen */
	size_t   subscribers;
	size_t   subscriber_buffer; /* bytes queued to subscribers now */
	size_t   client_buffer_max, subscriber_buffer_max; /* the most one connection has queued now */
	uint64_t pub_messages;
	uint64_t pub_dropped;      /* messages a full subscriber lost */
	uint64_t subscribers_dropped; /* closed for staying full */
	uint64_t frames_in, frames_out;
	uint64_t buffers_freed;    /* bytes of connections' read buffers given back */
	uint64_t busy_polls;       /* times the loop kept polling instead of sleeping */
	uint64_t busy_poll_hits;   /* requests that came while it polled */
} mpsd_net_stats;
void mpsd_net_stats_get(const mpsd_net *n, mpsd_net_stats *st);
/* stats' buffers_freed alone (no walk over the connections) */
uint64_t mpsd_net_buffers_freed(const mpsd_net *n);

/*
 * Describe the connections (for `mpstore clients`): fn is called for each
 * request connection with its id, peer address, peer pid (ipc; 0 when
 * unknown), age in ms and bytes queued to it.
 */
void mpsd_net_foreach_client(mpsd_net *n,
    void (*fn)(void *arg, uint32_t id, const char *addr, pid_t pid, size_t queued), void *arg);

/* 1 when every listener address is loopback or ipc:// (protected mode). */
int mpsd_net_url_is_local(const char *url);

#endif
