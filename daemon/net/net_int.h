/*
 * net_int.h - what the files of net/ share: the loop (loop.c), listeners
 * (listen.c), connections and their output queues (conn.c), subscribers
 * (pub.c) and the TLS bridge (tls.c). Not for the rest of the daemon.
 */
#ifndef MPSD_NET_INT_H
#define MPSD_NET_INT_H

#include <pthread.h>

#include "net.h"

typedef struct mpsd_tls mpsd_tls;

/* A notification shared by every subscriber's queue: the ipc frame (type
 * byte, length, topic and payload); tcp peers get it from data + 1. */
struct pubframe {
	int     refs;
	size_t  len; /* ipc frame length */
	uint8_t data[];
};

typedef mpsd_outq outq;

enum { CONN_HANDSHAKE = 0, CONN_OPEN, CONN_CLOSING };

struct mpsd_conn {
	union {
		uv_handle_t h;
		uv_stream_t s;
		uv_pipe_t   pipe;
		uv_tcp_t    tcp;
	} u;
	mpsd_net  *net;
	uint32_t   id;
	int        ipc;       /* ipc framing (type byte) */
	int        sub;       /* a subscriber (PUB listener), else a REQ peer */
	int        state;
	int        refs;      /* 1 while open, +1 per request not yet answered */
	int        reading;   /* uv_read_start is in effect */
	int        over_limit; /* beyond max_clients: one error answer, then closed */
	int        close_when_written;
	int        in_flush;  /* on the loop's flush list */
	int64_t    opened_ms;
	int64_t    full_since_ms; /* subscriber: queue full since (0: not full) */
	/* input */
	uint8_t   *rbuf;
	size_t     rlen, rcap;
	uint64_t   discard;   /* bytes of an oversized request still to skip */
	/* output: queued here, then handed to libuv when the socket is full */
	outq      *qhead, *qtail;
	size_t     qbytes;    /* bytes in qhead.. */
	size_t     inflight;  /* bytes handed to uv_write, not yet written */
	/* bookkeeping */
	mpsd_conn *prev, *next;  /* net->conns */
	mpsd_conn *fnext;        /* net->flush */
	mpsd_conn *dnext;        /* net->dead: closed, hooks.closed not yet run */
	int        announced;    /* hooks.opened was called */
	int        paused;       /* reading stopped: too much output queued */
	char       addr[64];
	pid_t      pid;
};

typedef struct mpsd_listener {
	union {
		uv_handle_t h;
		uv_stream_t s;
		uv_pipe_t   pipe;
		uv_tcp_t    tcp;
	} u;
	mpsd_net   *net;
	const char *url;
	int         ipc, pub, open;
	char        path[108];   /* ipc: the socket file, removed at close */
	dev_t       dev;         /* ... when it is still ours */
	ino_t       ino;
} mpsd_listener;

struct mpsd_net {
	uv_loop_t      loop;
	uv_async_t     async;
	uv_prepare_t   prep;
	uv_check_t     check;
	uv_idle_t      spin;      /* active: the loop polls without sleeping */
	uint64_t       spin_last_ns; /* when the last lone request came */
	uint64_t       spin_seen; /* frames_in at the last look */
	uv_timer_t     tick;      /* handshake deadlines, stuck subscribers */
	mpsd_net_cfg   cfg;
	mpsd_net_hooks hooks;
	mpsd_listener  lsn[MPSD_NET_MAX_LISTEN + 1];
	int            nlsn;
	int            stopping, closing;
	mpsd_conn     *conns;     /* every connection */
	mpsd_conn     *flush;     /* connections with output to write */
	mpsd_conn     *dead;      /* closed connections to report (hooks.closed) */
	uint32_t       next_id;
	size_t         nclients, nsubs;
	/* posts from other threads */
	pthread_mutex_t pmtx;
	mpsd_post     *phead, *ptail;
	mpsd_tls      *tls;
	mpsd_net_stats st;
};

/* conn.c */
void conn_accept(mpsd_listener *l);
void conn_close(mpsd_conn *c);
void conn_unref(mpsd_conn *c);
/* Queue a frame (m or pf, takes it) on c; written before the loop sleeps. */
void conn_queue(mpsd_conn *c, mpsd_msg *m, pubframe *pf, const uint8_t *frame, size_t len);
void conn_flush_all(mpsd_net *n);
size_t conn_queued(const mpsd_conn *c);
void conn_tick(mpsd_net *n, int64_t now);

/* pub.c */
void pubframe_unref(pubframe *pf);

/* listen.c */
int  listen_all(mpsd_net *n, char *err, size_t errlen);
void listen_close_all(mpsd_net *n);

/* tls.c: nng's REP and PUB sockets for tls+tcp:// listeners */
int  tls_open(mpsd_net *n, const char *url, int pub, char *err, size_t errlen);
void tls_reply(mpsd_net *n, mpsd_peer *to, mpsd_msg *m); /* to->conn is NULL */
void tls_release(mpsd_net *n, mpsd_peer *to);
void tls_publish(mpsd_net *n, const char *name, const uint8_t *data, size_t len);
size_t tls_subscribers(const mpsd_net *n);
void tls_close(mpsd_net *n);
int  tls_is_url(const char *url);

int64_t net_now_ms(void);

#endif
