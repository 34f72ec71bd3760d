/*
 * sp_conn.h - libmpstore's own SP connections over ipc:// and tcp://
 * (hidden): addresses, dialing with the SP handshake, whole-frame writes,
 * and a frame reader. sp_req.c (REQ0 with a REP0 peer) and sub.c (SUB0
 * with a PUB0 peer) build on them; schema/sp.h has the framing itself.
 *
 * Every socket is non-blocking and close-on-exec; waits are poll() against
 * a deadline in monotonic milliseconds (-1: none). Nothing here locks:
 * callers say which thread may touch what.
 */
#ifndef MPS_SP_CONN_H
#define MPS_SP_CONN_H

#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "mpstore/mpstore.h"

/* Replies and notifications larger than this are refused (the connection
 * is dropped): a broken peer's length prefix cannot make the library
 * allocate without bound. Memory for a body grows as its bytes arrive. */
#define MPS__SP_MAX_FRAME ((uint64_t) 1 << 30)

typedef struct mps__addr {
	int  ipc;        /* 1: ipc:// (a Unix socket path), 0: tcp:// */
	char path[108];  /* ipc: sizeof(sun_path) */
	char host[256];  /* tcp: name or address ([v6] without brackets) */
	char port[16];
	char url[400];   /* as given, for messages */
} mps__addr;

/* 1 when url is ipc:// or tcp:// (carried by this code, not by nng). */
int mps__sp_scheme(const char *url);

/* Parse an ipc:// or tcp://host:port URL; 0, or -1 with a message in err. */
int mps__addr_parse(const char *url, mps__addr *a, char *err, size_t errlen);

/* Monotonic milliseconds; a deadline timeout_ms from now (< 0: -1). */
int64_t mps__now_ms(void);
int64_t mps__deadline(int64_t timeout_ms);
/* Milliseconds left until deadline for poll(): -1 for none, >= 0. */
int     mps__poll_ms(int64_t deadline);

/* Busy polling for a reply: how long a caller waiting for one may poll
 * fd without sleeping ($MPSTORE_BUSY_POLL_US, 0 to 10000; default 30 with
 * 2+ CPUs, 0 with one), read once. mps__sp_spin polls fd for up to us
 * microseconds; 1 as soon as it is readable, 0 when the time ran out. */
int mps__busy_poll_us(void);
int mps__sp_spin(int fd, int us);

/*
 * Connect to a and exchange SP headers as protocol `proto` with a peer
 * that must speak `peer` (TCP_NODELAY on tcp). Returns the socket, or -1
 * with *kind MPS_ERR_CONNECT (nobody there, refused, closed during the
 * handshake), MPS_ERR_PROTOCOL (not an SP peer, or another protocol) or
 * MPS_ERR_TIMEOUT (deadline passed), and a message in err.
 */
int mps__sp_dial(const mps__addr *a, int proto, int peer, int64_t deadline, mps_err *kind,
    char *err, size_t errlen);

/* Wait until fd is ready for ev (POLLIN / POLLOUT) or deadline: 1 ready
 * (or in error: the next read or write says which), 0 timed out. */
int mps__sp_wait(int fd, short ev, int64_t deadline);

/* Write all of iov before deadline: 0, or -1 with errno (ETIMEDOUT,
 * EPIPE, ...). After -1 the stream may end inside a frame: the
 * connection must be dropped. */
int mps__sp_write(int fd, struct iovec *iov, int n, int64_t deadline);

/* A frame reader: bytes read from a connection, cut into message bodies. */
typedef struct mps__rd {
	int      ipc;
	uint64_t max;
	int      inframe;   /* a header was read: body is being filled */
	uint8_t *body;      /* the body being filled (malloc'd) */
	uint64_t bodylen;
	size_t   bodyhave, bodycap;
	size_t   ipos, iend; /* unconsumed bytes of in */
	uint8_t  in[16384];
} mps__rd;

void mps__rd_init(mps__rd *r, int ipc, uint64_t max);
/* A new connection: forget a partial frame. */
void mps__rd_reset(mps__rd *r);
void mps__rd_fini(mps__rd *r);
/* One recv() from fd: 1 bytes came, 0 none yet (EAGAIN), -1 the
 * connection ended (errno set, 0 for an orderly close). */
int  mps__rd_fill(mps__rd *r, int fd);
/* The next whole body from what was read: 1 (*body malloc'd, the
 * caller's; *len bytes), 0 more bytes needed, -1 not a valid frame
 * (*why says what; drop the connection). */
int  mps__rd_next(mps__rd *r, uint8_t **body, size_t *len, const char **why);
/* 1 when a whole frame (or a bad one) is buffered: mps__rd_next answers
 * without reading. */
int  mps__rd_ready(const mps__rd *r);

#endif
