/*
 * mps_int.h - internals of libmpstore shared by its source files (mps__
 * prefix, hidden). Not installed.
 */
#ifndef MPS_INT_H
#define MPS_INT_H

#include <pthread.h>
#include <stdatomic.h>

#include <nng/nng.h>

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

/* ---- transport and client (client.c) ---- */

typedef struct mps__slot mps__slot;

struct mps_client {
	nng_socket      sock;
	uint64_t        client_id;
	atomic_uint_fast64_t next_id;
	int             timeout_ms;
	ProtobufCBinaryData auth;
	int             has_auth;

	pthread_mutex_t mtx;
	mps__slot      *slots;       /* idle contexts for synchronous calls */
	int             closed;

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

/* Fill the envelope of req (version, id, client id, auth). */
void    mps__request_init(mps_client *c, Mpstore__Request *req);
/* Pack req into *msg (reused when non-NULL, else allocated). */
mps_err mps__pack(const Mpstore__Request *req, nng_msg **msg);
/* The receive timeout for a request whose longest blocking op waits
 * op_timeout_ms (<0: forever). */
nng_duration mps__recv_timeout(const mps_client *c, int64_t op_timeout_ms);
/* Synchronous round trip on a pooled context. On success *reply is the
 * daemon's message (caller frees). req is consumed on success AND failure. */
mps_err mps__roundtrip(mps_client *c, nng_msg *req, nng_duration timeout, nng_msg **reply);
/* Decode reply into *resp using allocator a; check the envelope. */
mps_err mps__decode(nng_msg *reply, mps__arena *a, Mpstore__Response **resp);

/* ---- auth (auth.c) ---- */

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
