/*
 * transport.h - what carries a handle's requests (hidden), as a table of
 * functions (nng's transports do the same). Two implementations:
 *   mps__tp_sp  (sp_req.c): SP REQ0 spoken by the library itself on one
 *               socket per handle, for ipc:// and tcp://; fork-safe;
 *   mps__tp_nng (tp_nng.c): an nng REQ socket with contexts, for
 *               tls+tcp://; not usable in a forked child.
 * client.c picks one by URL; op.c, coalesce.c, batch.c and watch*.c reach
 * them through mps__roundtrip and the asynchronous calls below.
 */
#ifndef MPS_TRANSPORT_H
#define MPS_TRANSPORT_H

#include "mps_int.h"

/* What a transport needs to connect. */
typedef struct mps__dialopts {
	const char *url;
	int         timeout_ms;      /* bounds the first connection */
	const char *tls_ca_file;     /* tls+tcp:// only */
	const char *tls_server_name;
	const char *tls_cert_file;
	const char *tls_key_file;
	/* SP transport: run on every new connection before anything else is
	 * sent on it (the auth handshake; NULL: none). A failure counts as a
	 * failed connection attempt. */
	mps_err (*on_connect)(void *arg, int fd, int ipc, int64_t deadline, char *why, size_t len);
	void *on_connect_arg;
} mps__dialopts;

/* Completion of an asynchronous request, called exactly once per submit
 * on a library thread, without the transport's locks: e is MPS_OK and
 * *reply the answer (the callee's to free), or the failure (reply NULL,
 * the thread's mps_last_error says why). It may submit the request again. */
typedef void (*mps__adone_fn)(void *arg, mps_err e, mps__rbuf *reply);

struct mps__tp {
	const char *name;
	/* Connect; on success *tpd is the transport's state for c. Errors
	 * carry a message (mps__fail). */
	mps_err (*open)(const mps__dialopts *o, void **tpd);
	/* One request: m is written as it is (borrowed for the call), the
	 * answer waited for up to timeout_ms (< 0: none). The calling thread
	 * does the work when it can (no thread hop). */
	mps_err (*call)(void *tpd, mps__msg *m, int64_t timeout_ms, mps__rbuf *reply);
	/* Asynchronous requests: one mps__areq per request in flight at a
	 * time, reusable. submit borrows m until done is called. areq_free
	 * cancels: when it returns, done is not running and will not run. */
	mps_err (*areq_alloc)(void *tpd, mps__adone_fn done, void *arg, mps__areq **out);
	mps_err (*submit)(mps__areq *r, mps__msg *m, int64_t timeout_ms);
	void    (*areq_free)(mps__areq *r);
	/* Abort what is in flight (asynchronous requests complete with
	 * MPS_ERR_CLOSED), stop threads, disconnect, free. areqs still
	 * allocated stay valid for areq_free. */
	void    (*close)(void *tpd);
	/* fork(): see mps__forkable. After child the state holds no
	 * connection, no request and no thread of the parent's. */
	void    (*fork_prepare)(void *tpd);
	void    (*fork_parent)(void *tpd);
	void    (*fork_child)(void *tpd);
	/* 0 when a forked child may go on using this transport. */
	int     fork_safe;
};

extern const mps__tp mps__tp_sp;
extern const mps__tp mps__tp_nng;

#endif
