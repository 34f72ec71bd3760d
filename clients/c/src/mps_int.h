/*
 * mps_int.h - internals of libmpstore shared by its source files (mps__
 * prefix, hidden). Not installed.
 */
#ifndef MPS_INT_H
#define MPS_INT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include "mpstore.pb-c.h"
#include "mpstore/mpstore.h"

#define MPS__HIDDEN __attribute__((visibility("hidden")))

/* ---- arena: bump allocation, freed all at once (arena.c) ---- */

typedef struct mps__chunk mps__chunk;
typedef struct mps__arena {
	mps__chunk *head;     /* current chunk; older ones follow via next */
	char       *fixed;    /* caller's first buffer (not freed), or NULL */
	size_t      fixedcap;
	size_t      fixedused;
	size_t      total;    /* bytes handed out since the last reset */
	ProtobufCAllocator pa;  /* protobuf-c allocator drawing from the arena */
} mps__arena;

void  mps__arena_init(mps__arena *a, void *buf, size_t cap);
void  mps__arena_reset(mps__arena *a);  /* keeps one chunk big enough for last use */
void  mps__arena_fini(mps__arena *a);
void *mps__arena_alloc(mps__arena *a, size_t n);   /* 16-aligned, not zeroed */
void *mps__arena_zalloc(mps__arena *a, size_t n);
char *mps__arena_strndup(mps__arena *a, const char *s, size_t n);

/* ---- errors (errors.c) ---- */

/* Set the thread's last error text (printf-style); returns err. */
mps_err mps__fail(mps_err err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void    mps__clear_error(void);
mps_err mps__from_nng(int rv);

/* ---- values (value.c) ---- */

/* Fill pv (already allocated) from v, copying data into a. NULL value ->
 * pv with no oneof set. Returns MPS_ERR_NOMEM / MPS_ERR_INVALID. */
mps_err         mps__pv_fill(mps__arena *a, Mpstore__Value *pv, const mps_value *v);
Mpstore__Value *mps__pv_new(mps__arena *a, const mps_value *v);
/* Borrowed view of pv (NULL -> null). */
void            mps__pv_view(const Mpstore__Value *pv, mps_value *out);
/* Owned copy of pv into *out. */
mps_err         mps__pv_copy(const Mpstore__Value *pv, mps_value *out);
/* Owned array copy (n may be 0: *out NULL). */
mps_err         mps__pv_copy_array(Mpstore__Value *const *pv, size_t n, mps_value **out);
/* Borrowed info view / owned copy. */
void            mps__info_view(const Mpstore__ContainerInfo *ci, mps_info *out);
mps_err         mps__info_copy(const Mpstore__ContainerInfo *ci, mps_info *out);

/* ---- messages (msg.c) ---- */

/* Room kept in front of a packed request for the transport's frame header
 * and SP request id (ipc: 9 + 4 bytes), so a request goes out in one
 * write without being copied. */
#define MPS__MSG_HEAD 16

/* A packed Request: body (len bytes) inside buf, at least MPS__MSG_HEAD
 * bytes after its start. buf is the caller's memory or malloc'd (heap). */
typedef struct mps__msg {
	uint8_t *buf;
	size_t   cap;
	int      heap;
	uint8_t *body;
	size_t   len;
} mps__msg;

/* Start with the caller's memory (may be NULL, 0); fini frees what grew. */
void    mps__msg_init(mps__msg *m, void *mem, size_t cap);
void    mps__msg_fini(mps__msg *m);
/* Pack req into m (its memory is reused; grown when needed). */
mps_err mps__pack(const Mpstore__Request *req, mps__msg *m);

/* A reply body; free with mps__rbuf_free (NULL data: none). */
typedef struct mps__rbuf {
	const uint8_t *data;
	size_t         len;
	void          *mem;
	void         (*free)(void *mem);
} mps__rbuf;
void    mps__rbuf_free(mps__rbuf *r);
/* Decode reply into *resp using allocator a; check the envelope. */
mps_err mps__decode(const mps__rbuf *reply, mps__arena *a, Mpstore__Response **resp);

/* ---- fork registry (fork.c) ---- */

/*
 * Every open handle, watch and mirror registers here. At fork() the
 * prepare callbacks take each object's locks (so no other thread holds
 * one while the process is copied), parent releases them, and child runs
 * in the child, alone, before fork() returns there: it makes the locks
 * usable again and forgets the parent's threads and connections (closing
 * the child's copies of their descriptors, never shutting them down).
 * Callbacks run in registration order, under the registry's lock; they
 * must not register or unregister.
 */
typedef struct mps__forkable {
	struct mps__forkable *prev, *next;
	void (*prepare)(void *arg);
	void (*parent)(void *arg);
	void (*child)(void *arg);
	void *arg;
} mps__forkable;
void mps__fork_register(mps__forkable *f);
void mps__fork_unregister(mps__forkable *f);
/* A condition variable on CLOCK_MONOTONIC (the clock of deadlines). */
void mps__cond_init(pthread_cond_t *cv);
/* Wait on cv until deadline (monotonic ms, < 0: none); ETIMEDOUT after it. */
int  mps__cond_wait_until(pthread_cond_t *cv, pthread_mutex_t *m, int64_t deadline);

/* ---- transports (transport.h: sp_req.c, tp_nng.c) ---- */

typedef struct mps__tp   mps__tp;
typedef struct mps__areq mps__areq;

/* ---- the handle (client.c) ---- */

struct mps_client {
	const mps__tp  *tp;         /* what carries requests */
	void           *tpd;        /* its state */
	uint64_t        client_id;  /* the session; a new one in a forked child */
	atomic_uint_fast64_t next_id;
	int             timeout_ms;
	ProtobufCBinaryData auth;
	int             has_auth;
	int             auth_on_connect; /* the transport authenticates each connection */
	int             greeted;         /* mps__auth_fd applied a hello's answer (at open) */
	char           *client_name;
	char           *tls_ca, *tls_server_name, *tls_cert, *tls_key;

	pthread_mutex_t mtx;        /* keepalive, fork state */
	atomic_int      forked;     /* used in a child for the first time: reset */
	mps__forkable   fk;

	char           *version;
	char           *pub_url;  /* from hello, "pub=URL" */
	char           *url;      /* the URL dialled */
	mps_server_info server;

	/* coalescing of concurrent synchronous calls (coalesce.c) */
	int             coalesce; /* on unless MPSTORE_COALESCE=0 */
	pthread_mutex_t cmtx;
	pthread_cond_t  ccv;
	struct mps__citem *chead, *ctail; /* ops waiting for a request */
	int             cbusy;    /* a coalesced request is in flight */

	/* keepalive */
	pthread_t       ka_thread;
	pthread_cond_t  ka_cv;
	int             ka_running;
	int             ka_stop;
};

/* The daemon's PUB URL from hello, dialable from here; 1 if there is one. */
int mps__hello_pub_url(const mps_client *c, char *out, size_t len);

/* Fill the envelope of req (version, id, client id, auth). In a forked
 * child the handle's first request first gives it a session of its own
 * (new client id, hello, keepalive). MPS_ERR_INVALID for a NULL handle. */
mps_err mps__request_init(mps_client *c, Mpstore__Request *req);
/* The wait for a request whose longest blocking op waits op_timeout_ms
 * (<0: forever): the client timeout, plus the op's and a margin; -1 for
 * no limit. */
int64_t mps__recv_timeout(const mps_client *c, int64_t op_timeout_ms);
/* Synchronous round trip of the packed request m (borrowed) within
 * timeout_ms (< 0: none). On success *reply is the daemon's answer. */
mps_err mps__roundtrip(mps_client *c, mps__msg *m, int64_t timeout_ms, mps__rbuf *reply);
/* MPS_ERR_INVALID with a message when c is NULL (what = the function). */
mps_err mps__null(const char *what);

/* OP_HELLO with this handle's name and pid (client.c). */
void mps__hello_op(const mps_client *c, mps_op *op);
/* Take in a hello's answer (version, lease, PUB address...); its auth
 * nonce into nonce ("" without one). */
mps_err mps__hello_apply(mps_client *c, const Mpstore__Result *res, char *nonce, size_t noncelen);

/* ---- auth (auth.c) ---- */

/* The greeting on a fresh SP connection, before anything else is sent on
 * it (transport hook mps__dialopts.on_connect; arg is the handle):
 * OP_HELLO with our name and pid, then OP_AUTH when the daemon asks for
 * it. MPS_OK, or the failure with a message in why. */
mps_err mps__auth_fd(void *arg, int fd, int ipc, int64_t deadline, char *why, size_t whylen);
/* OP_AUTH with the MAC of the hello's nonce (hex); MPS_OK or why not. */
mps_err mps__authenticate(mps_client *c, const char *nonce_hex);
void    mps__auth_mac(const void *key, size_t keylen, const uint8_t *nonce, uint64_t client_id,
        uint8_t out[32]);

/* ---- ops (op.c) ---- */

/* Build a wire Op from op, allocating from a. */
mps_err mps__op_build(mps__arena *a, const mps_op *op, Mpstore__Op **out);

/* One synchronous op: the typed functions' workhorse. */
typedef struct mps__shared mps__shared;

typedef struct mps__call {
	mps__arena               arena;
	Mpstore__Response       *resp;
	const Mpstore__Result   *res;   /* valid when the call returned MPS_OK */
	mps__shared             *shared; /* a coalesced reply resp points into */
	char                     buf[2048];
} mps__call;

/* Run op; returns the request's or the op's status (res set when the op
 * ran, even if it failed). Always call mps__call_fini afterwards. */
int64_t mps__op_wait(const mps_op *op); /* a blocking op's timeout, else 0 */
mps_err mps__call_op(mps_client *c, const mps_op *op, mps__call *call);
void    mps__call_fini(mps__call *call);

/* coalesce.c: may op share a request with other threads' calls; run the
 * built op o that way (call as for mps__call_op); drop a shared reply. */
int     mps__coalescable(const mps_client *c, const mps_op *op);
mps_err mps__coalesce_call(mps_client *c, Mpstore__Op *o, mps__call *call);
void    mps__shared_release(mps__shared *sh);

/* Shorthands for typed ops: run op and copy one field of its result out
 * (out may be NULL). */
mps_err mps__op_none(mps_client *c, const mps_op *op);
mps_err mps__op_count(mps_client *c, const mps_op *op, int64_t *out);
mps_err mps__op_flag(mps_client *c, const mps_op *op, int *out);
mps_err mps__op_value(mps_client *c, const mps_op *op, mps_value *out);
mps_err mps__op_values(mps_client *c, const mps_op *op, mps_value **out, size_t *n);

/* Result status -> mps_err, recording the message. */
mps_err mps__result_status(const Mpstore__Result *r);

#endif
