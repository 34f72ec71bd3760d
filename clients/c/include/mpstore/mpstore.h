/*
 * mpstore.h - the public API of libmpstore, the C client of mpstored.
 *
 * Everything libmpstore exports is declared here; nothing else is public.
 * (The client API below the error list is filled in by clients/c.)
 */
#ifndef MPSTORE_H
#define MPSTORE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define MPS_VERSION_MAJOR 0
#define MPS_VERSION_MINOR 1
#define MPS_VERSION_PATCH 0
#define MPS_VERSION_STRING "0.1.0"
/* Wire protocol version spoken (Request.version). */
#define MPS_PROTOCOL_VERSION 1

#if defined(MPS_BUILDING) && defined(__GNUC__)
#define MPS_API __attribute__((visibility("default")))
#else
#define MPS_API
#endif

/*
 * The error list, written once. Codes are stable and equal to the Status
 * enum of schema/mpstore.proto (codes from 100 are the client library's own).
 * X(NAME, code, "message")
 */
#define MPS_ERRORS(X)                                                                   \
	X(OK, 0, "success")                                                             \
	X(ERR_MALFORMED, 1, "malformed request")                                        \
	X(ERR_UNKNOWN_OP, 2, "unknown operation")                                       \
	X(ERR_NOT_FOUND, 3, "no such container")                                        \
	X(ERR_WRONG_KIND, 4, "operation does not apply to this kind of container")     \
	X(ERR_WRONG_TYPE, 5, "value of the wrong type")                                 \
	X(ERR_INDEX, 6, "index out of range")                                           \
	X(ERR_NO_KEY, 7, "no such key")                                                 \
	X(ERR_EXISTS, 8, "container exists with another kind or type")                  \
	X(ERR_EMPTY, 9, "container is empty")                                           \
	X(ERR_FULL, 10, "queue is full")                                                \
	X(ERR_TIMEOUT, 11, "timed out")                                                 \
	X(ERR_INVALID, 12, "invalid argument")                                          \
	X(ERR_TOO_BIG, 13, "message or value too big")                                  \
	X(ERR_VERSION, 14, "protocol or format version not supported")                  \
	X(ERR_NOT_OWNER, 15, "not the owner")                                           \
	X(ERR_BROKEN, 16, "barrier is broken")                                          \
	X(ERR_IO, 17, "database input/output error")                                    \
	X(ERR_COMPACTED, 18, "changes no longer kept")                                  \
	X(ERR_SCHEMA, 19, "schema error")                                               \
	X(ERR_AUTH, 20, "authentication required or failed")                            \
	X(ERR_LIMIT, 21, "resource limit reached")                                      \
	X(ERR_READONLY, 22, "daemon is read-only")                                      \
	X(ERR_SHUTDOWN, 23, "daemon is shutting down")                                  \
	X(ERR_INTERNAL, 24, "internal error in the daemon")                             \
	X(ERR_ABORTED, 25, "not applied: an earlier operation failed")                  \
	X(ERR_CONNECT, 100, "cannot connect to the daemon")                             \
	X(ERR_CLOSED, 101, "client is closed")                                          \
	X(ERR_NOMEM, 102, "out of memory")                                              \
	X(ERR_PROTOCOL, 103, "undecodable reply from the daemon")                       \
	X(ERR_TRANSPORT, 104, "transport error")

typedef enum mps_err {
#define MPS_ERR_ENUM_(name, code, msg) MPS_##name = code,
	MPS_ERRORS(MPS_ERR_ENUM_)
#undef MPS_ERR_ENUM_
} mps_err;

/* A constant description of err ("unknown error" for unknown codes). */
MPS_API const char *mps_strerror(int err);
/* The constant name of err ("MPS_ERR_NOT_FOUND"), "MPS_ERR_UNKNOWN" if unknown. */
MPS_API const char *mps_err_name(int err);

/*
 * The most recent daemon error text seen by the calling thread (the Result's
 * or Response's `error`, or a description of a client-side failure), "" when
 * none. Thread-local; valid until the thread's next libmpstore call.
 */
MPS_API const char *mps_last_error(void);

/* ------------------------------------------------------------------------ */
/* Kinds, element types, values                                              */
/* ------------------------------------------------------------------------ */

/* Container kinds (= Kind of the proto). A counter is an MPS_KIND_VALUE of
 * MPS_TYPE_INT64. */
typedef enum mps_kind {
	MPS_KIND_NONE = 0,
	MPS_KIND_VALUE = 1,
	MPS_KIND_LIST = 2,
	MPS_KIND_DICT = 3,
	MPS_KIND_QUEUE = 4,
	MPS_KIND_LOCK = 5,
	MPS_KIND_RLOCK = 6,
	MPS_KIND_SEMAPHORE = 7,
	MPS_KIND_BOUNDED_SEMAPHORE = 8,
	MPS_KIND_EVENT = 9,
	MPS_KIND_CONDITION = 10,
	MPS_KIND_BARRIER = 11,
	MPS_KIND_ARRAY = 12,
	MPS_KIND_NAMESPACE = 13
} mps_kind;

/* Element types (= ElemType of the proto). */
typedef enum mps_elem_type {
	MPS_TYPE_ANY = 0,
	MPS_TYPE_INT64 = 1,
	MPS_TYPE_DOUBLE = 2,
	MPS_TYPE_BOOL = 3,
	MPS_TYPE_STRING = 4,
	MPS_TYPE_BYTES = 5,
	MPS_TYPE_MESSAGE = 6
} mps_elem_type;

/* Dict key types (= KeyType of the proto). */
typedef enum mps_key_type { MPS_KEY_STRING = 0, MPS_KEY_INT64 = 1 } mps_key_type;

/* Lower-case names ("list", "bounded-semaphore", "int64", ...); "?" when
 * unknown. Constant strings. */
MPS_API const char *mps_kind_name(int kind);
MPS_API const char *mps_elem_type_name(int type);
/* Parse a name as printed by the functions above (also "counter" -> VALUE,
 * "bounded_semaphore"); -1 when unknown. */
MPS_API int mps_kind_parse(const char *name);
MPS_API int mps_elem_type_parse(const char *name);

/* The type a value holds. */
typedef enum mps_vtype {
	MPS_NULL = 0,
	MPS_INT = 1,
	MPS_DOUBLE = 2,
	MPS_BOOL = 3,
	MPS_STRING = 4,
	MPS_BYTES = 5,
	MPS_MESSAGE = 6 /* protobuf encoding of the container's message type */
} mps_vtype;

/*
 * A value. For STRING, BYTES and MESSAGE, u.s points at len bytes (strings
 * are UTF-8; a string the library returns is also NUL-terminated).
 *
 * Ownership: a value passed IN to the library is only read during the call
 * (the caller keeps owning it). A value the library returns through an
 * `mps_value *out` is OWNED by the caller, who releases it with
 * mps_value_free (and arrays with mps_values_free). Values inside an
 * mps_result are BORROWED from the batch (see below) and must not be freed.
 */
typedef struct mps_value {
	mps_vtype type;
	union {
		int64_t i;
		double  d;
		int     b;
		struct {
			const char *ptr;
			size_t      len;
		} s;
	} u;
} mps_value;

/* Value constructors (nothing is copied: mps_str keeps the pointer). */
MPS_API mps_value mps_null(void);
MPS_API mps_value mps_int(int64_t i);
MPS_API mps_value mps_double(double d);
MPS_API mps_value mps_bool(int b);
MPS_API mps_value mps_str(const char *s);                /* NUL-terminated */
MPS_API mps_value mps_strn(const char *s, size_t len);
MPS_API mps_value mps_bytes(const void *p, size_t len);
MPS_API mps_value mps_message(const void *p, size_t len);

/* Deep copy of src into *dst (caller frees with mps_value_free). */
MPS_API mps_err mps_value_dup(mps_value *dst, const mps_value *src);
/* Free what v owns (its string buffer) and set it to null. NULL is fine. */
MPS_API void mps_value_free(mps_value *v);
/* mps_value_free on v[0..n-1], then free(v). NULL is fine. */
MPS_API void mps_values_free(mps_value *v, size_t n);
/* 1 when a and b are equal (same type and contents; 1 and 1.0 differ). */
MPS_API int mps_value_equal(const mps_value *a, const mps_value *b);

/*
 * JSON. mps_value_to_json returns a malloc'd, NUL-terminated JSON text of v
 * (caller frees with free()): null, true, 42, 1.5, "text". Bytes print as
 * {"$bytes":"<base64>"}, messages as {"$message":"<base64>"}; doubles print
 * as Python's repr and json.dumps print them (shortest round-trip digits,
 * 1000.0, 0.0001, 1e+16, 1.5e-05), so they read back as doubles. NULL when
 * out of memory or v is NULL.
 *
 * mps_value_from_json parses one JSON scalar (or one of the two objects
 * above) into *out (owned by the caller). Returns MPS_ERR_INVALID when text
 * is not such a JSON document. Integers that fit int64 become MPS_INT,
 * other numbers MPS_DOUBLE.
 */
MPS_API char   *mps_value_to_json(const mps_value *v);
MPS_API mps_err mps_value_from_json(const char *text, mps_value *out);

/* ------------------------------------------------------------------------ */
/* Connection                                                                 */
/* ------------------------------------------------------------------------ */

/* Where mps_open connects when url is NULL and $MPSTORE_URL is unset. */
#define MPS_DEFAULT_URL "ipc:///tmp/mpstore.ipc"

typedef struct mps_client mps_client;

/*
 * Connect to the daemon at url (NULL: $MPSTORE_URL, then MPS_DEFAULT_URL)
 * and greet it (OP_HELLO). timeout_ms (> 0) bounds the connection and every
 * later non-blocking request (<= 0: 5000 ms). On success *out is a new
 * handle to release with mps_close. mps_open is mps_open_with with options
 * from the environment: $MPSTORE_AUTH_KEY (the auth key, as mps_open_auth
 * would send it; see docs/security.md), $MPSTORE_TLS_CA,
 * $MPSTORE_TLS_SERVER_NAME, $MPSTORE_TLS_CERT, $MPSTORE_TLS_KEY and
 * $MPSTORE_CLIENT_NAME (see mps_open_opts).
 *
 * On failure *out is NULL: check the result. Every op function refuses a
 * NULL handle (and NULL for a pointer it needs) with MPS_ERR_INVALID and a
 * message naming the call, instead of crashing.
 *
 * Transport. For ipc:// (a Unix socket path) and tcp://host:port (IPv4 or
 * IPv6, TCP_NODELAY) the library speaks nng's SP protocol itself (REQ0
 * with a REP0 peer, docs/protocol.md section 16) on one socket per
 * handle, and refuses a peer that is not an SP REP0 socket
 * (MPS_ERR_PROTOCOL). A synchronous call is one write and one read by the
 * calling thread: no thread of the library's is on the request path.
 * Requests carry a 32-bit id and replies are matched by it, so many
 * requests may be in flight on the connection and the daemon may answer
 * them in any order. tls+tcp:// goes through nng's REQ socket and TLS
 * (mps_open_opts' TLS fields).
 *
 * Each handle has a random 64-bit client id (the daemon's session: locks
 * and semaphore units the handle takes belong to it) and a keepalive thread
 * that pings the daemon every lease/3 while the handle is open, so that
 * what the session holds is released only when the process dies or
 * closes.
 *
 * Timeouts: a request waits for its answer the handle's timeout_ms, plus,
 * for a blocking op (queue get/put/join, lock, semaphore, event, condition
 * and barrier waits), the op's own timeout_ms and a 2 s margin; a blocking
 * op with a negative timeout waits for ever. A request given up is
 * forgotten: its late answer is dropped. MPS_ERR_TIMEOUT when the daemon
 * did not answer in time, MPS_ERR_CONNECT (or MPS_ERR_PROTOCOL) when there
 * was no usable connection to it all that time.
 *
 * Reconnecting: when the connection drops (the daemon restarted, was
 * killed, or the network failed) the library reconnects (at once, then
 * with a backoff from 10 ms to 1 s, within the waiting requests' time) and
 * sends every request still waiting again, byte for byte, as nng's REQ
 * does: the daemon answers a repeated write with its first answer instead
 * of applying it twice (docs/protocol.md section 3). The session, and what
 * it held, ended with the old connection.
 *
 * Thread-safety: a handle may be used by any number of threads at once.
 * They share its one connection: one waiting thread reads and hands the
 * others their replies, so a blocked call (queue get, lock acquire) does
 * not hold up other threads' calls. Asynchronous batches
 * (mps_batch_submit) are completed by a reader thread the handle starts
 * with the first of them.
 *
 * Coalescing: single-op calls made by several threads at the same time on
 * one handle share requests. A call with nothing in flight goes out at once,
 * alone; calls made while one is in flight go out together in the next
 * request, each with its own result (a batch: applied in order, not
 * atomically). Only calls that never wait in the daemon and carry values of
 * at most 4 KiB take part: value, list and dict ops, queue put/get with
 * timeout 0, ping, info and the sync kinds' state reads. With 50 threads
 * this carries about 10 calls per request and nearly doubles throughput
 * (docs/performance.md). MPSTORE_COALESCE=0 in the environment at
 * mps_open turns it off for that handle.
 *
 * fork(): an ipc:// or tcp:// handle may be used in a child process: at
 * its first request there it opens the child's own connection and session
 * (a new client id, hello, its own keepalive thread), and never touches
 * the parent's connection (the child closes its copy of the socket, never
 * shuts it down). The parent's handle keeps working. Locks, semaphore
 * units and sessions are per process: a lock the child takes is the
 * child's, released when it releases it or exits. What was in flight at
 * the fork stays the parent's (an inherited batch in flight is idle in the
 * child; its callback never runs there). Watches: see mps_watch. A
 * tls+tcp:// handle is NOT fork-safe (nng aborts in a child of a process
 * that used it): in a child its calls fail with MPS_ERR_INVALID, and no new
 * tls+tcp:// handle can be opened there; mps_close only frees the child's
 * copy.
 *
 * Errors: MPS_ERR_CONNECT (bad URL, daemon unreachable within timeout, TLS
 * refused), MPS_ERR_PROTOCOL (not an mpstore daemon), MPS_ERR_VERSION,
 * MPS_ERR_AUTH, MPS_ERR_NOMEM.
 */
MPS_API mps_err mps_open(mps_client **out, const char *url, int timeout_ms);

/*
 * Close the handle: stops the keepalive, aborts asynchronous requests in
 * flight (their callbacks get MPS_ERR_CLOSED, on the handle's reader
 * thread), closes the connection and frees it. No other thread may be
 * inside a synchronous call on c. The daemon releases the session's
 * grants as the connection closes. c may be NULL. No call may use c after
 * this returns; batches bound to c must still be freed with
 * mps_batch_free. In a forked child that never used c, this frees the
 * child's copy only.
 */
MPS_API void mps_close(mps_client *c);

/* What the daemon said in reply to OP_HELLO. Strings owned by the handle.
 * mps_server(NULL) is NULL. */
typedef struct mps_server_info {
	const char *version;          /* daemon version string */
	int64_t     protocol_version; /* protocol version of the daemon */
	uint64_t    lease_ms;         /* session lease (0: no lease) */
	uint64_t    revision;         /* global revision at hello */
	uint64_t    client_id;        /* this handle's random client id */
	const char *pub_url;          /* where it publishes changes; NULL: nowhere */
} mps_server_info;
MPS_API const mps_server_info *mps_server(const mps_client *c);

/* mps_open with an auth key sent with every request (copied); the other
 * options come from the environment as for mps_open. */
MPS_API mps_err mps_open_auth(mps_client **out, const char *url, int timeout_ms,
                              const void *key, size_t keylen);

/* Options of mps_open_with; zero-initialise, then set what applies.
 * Everything is copied: the caller may free it once the call returns. */
typedef struct mps_open_opts {
	const char *url;          /* NULL: $MPSTORE_URL, then MPS_DEFAULT_URL */
	int         timeout_ms;   /* <= 0: 5000 (see mps_open) */
	const void *auth_key;     /* NULL: none; sent with every request */
	size_t      auth_key_len;
	/* A name for this client (mps_client_name), sent in OP_HELLO: the
	 * daemon shows it in `mpstore clients` and monitor. NULL:
	 * $MPSTORE_CLIENT_NAME, else the program's name. */
	const char *client_name;
	/* tls+tcp:// only (ignored otherwise). The server's certificate is
	 * always verified: tls_ca_file is the PEM file of the CA(s) to trust
	 * (without one every server is refused). tls_server_name is the name
	 * its certificate must carry; NULL: the URL's host when it is a name
	 * (with an IP address, only the chain is checked). tls_cert_file
	 * and tls_key_file are this client's PEM certificate and key for a
	 * daemon that requires client certificates (key NULL: in the
	 * certificate's file). */
	const char *tls_ca_file;
	const char *tls_server_name;
	const char *tls_cert_file;
	const char *tls_key_file;
} mps_open_opts;

/* Connect with explicit options (nothing is read from the environment but
 * $MPSTORE_URL when o->url is NULL); otherwise as mps_open. Errors as
 * mps_open, MPS_ERR_INVALID when out or o is NULL. */
MPS_API mps_err mps_open_with(mps_client **out, const mps_open_opts *o);

/* The client name given at open (mps_open_opts.client_name or
 * $MPSTORE_CLIENT_NAME), NULL when none. Owned by the handle. */
MPS_API const char *mps_client_name(const mps_client *c);

/* Round trip with OP_PING (renews the lease). */
MPS_API mps_err mps_ping(mps_client *c);

/* ------------------------------------------------------------------------ */
/* Generic ops, batches, asynchronous requests and transactions               */
/* ------------------------------------------------------------------------ */

/* Op codes (= OpCode of the proto). */
typedef enum mps_opcode {
	MPS_OP_NONE = 0,
	MPS_OP_HELLO = 1,
	MPS_OP_PING = 2,
	MPS_OP_CREATE = 3,
	MPS_OP_DELETE = 4,
	MPS_OP_LIST_CONTAINERS = 5,
	MPS_OP_INFO = 6,
	MPS_OP_SNAPSHOT = 7,
	MPS_OP_BACKUP = 8,
	MPS_OP_REGISTER_SCHEMA = 9,
	MPS_OP_GET_SCHEMA = 10,
	MPS_OP_CHANGES = 11,
	MPS_OP_DUMP = 12,
	MPS_OP_STATS = 13,
	MPS_OP_AUTH = 14,
	MPS_OP_CLIENTS = 15,
	MPS_OP_HOLDERS = 16,
	MPS_OP_MONITOR = 17,
	MPS_OP_VALUE_GET = 20,
	MPS_OP_VALUE_SET = 21,
	MPS_OP_VALUE_ADD = 22,
	MPS_OP_VALUE_CAS = 23,
	MPS_OP_LIST_APPEND = 30,
	MPS_OP_LIST_EXTEND = 31,
	MPS_OP_LIST_INSERT = 32,
	MPS_OP_LIST_GET = 33,
	MPS_OP_LIST_SLICE = 34,
	MPS_OP_LIST_SET = 35,
	MPS_OP_LIST_POP = 36,
	MPS_OP_LIST_REMOVE = 37,
	MPS_OP_LIST_INDEX = 38,
	MPS_OP_LIST_LEN = 39,
	MPS_OP_LIST_CLEAR = 40,
	MPS_OP_DICT_SET = 50,
	MPS_OP_DICT_GET = 51,
	MPS_OP_DICT_DEL = 52,
	MPS_OP_DICT_CONTAINS = 53,
	MPS_OP_DICT_LEN = 54,
	MPS_OP_DICT_KEYS = 55,
	MPS_OP_DICT_VALUES = 56,
	MPS_OP_DICT_ITEMS = 57,
	MPS_OP_DICT_UPDATE = 58,
	MPS_OP_DICT_SETDEFAULT = 59,
	MPS_OP_DICT_POP = 60,
	MPS_OP_DICT_CLEAR = 61,
	MPS_OP_QUEUE_PUT = 70,
	MPS_OP_QUEUE_GET = 71,
	MPS_OP_QUEUE_SIZE = 72,
	MPS_OP_QUEUE_EMPTY = 73,
	MPS_OP_QUEUE_FULL = 74,
	MPS_OP_QUEUE_TASK_DONE = 75,
	MPS_OP_QUEUE_JOIN = 76,
	MPS_OP_LOCK_ACQUIRE = 80,
	MPS_OP_LOCK_RELEASE = 81,
	MPS_OP_LOCK_LOCKED = 82,
	MPS_OP_LOCK_RELEASE_TOKEN = 83,
	MPS_OP_SEM_ACQUIRE = 90,
	MPS_OP_SEM_RELEASE = 91,
	MPS_OP_SEM_VALUE = 92,
	MPS_OP_EVENT_SET = 100,
	MPS_OP_EVENT_CLEAR = 101,
	MPS_OP_EVENT_IS_SET = 102,
	MPS_OP_EVENT_WAIT = 103,
	MPS_OP_COND_WAIT = 110,
	MPS_OP_COND_NOTIFY = 111,
	MPS_OP_COND_NOTIFY_ALL = 112,
	MPS_OP_BARRIER_WAIT = 120,
	MPS_OP_BARRIER_ABORT = 121,
	MPS_OP_BARRIER_RESET = 122,
	MPS_OP_BARRIER_INFO = 123
} mps_opcode;

/* Op flags (= OpFlag of the proto). */
#define MPS_FLAG_HAS_STOP 1u
#define MPS_FLAG_HAS_INDEX 2u
#define MPS_FLAG_HAS_DEFAULT 4u
#define MPS_FLAG_PREFIX 8u
#define MPS_FLAG_CREATE_DECLARED 16u
#define MPS_FLAG_CONTAINERS 32u

/*
 * One operation, as the wire's Op: fields an op does not use are ignored
 * (docs/protocol.md says which each op reads). Zero-initialise and set what
 * is needed, e.g. (mps_op){.code = MPS_OP_VALUE_ADD, .name = "hits",
 * .value = mps_int(1)}. A value whose type is MPS_NULL and whose field the
 * op reads is sent as null; `has_value`-style presence is implied: value,
 * key and expected are sent when their type is not MPS_NULL or when
 * send_null is set.
 * Everything is only read during the call that takes the op.
 */
typedef struct mps_op {
	mps_opcode       code;
	const char      *name;
	mps_value        value;
	mps_value        key;
	mps_value        expected;
	int64_t          index;
	int64_t          stop;
	int64_t          timeout_ms; /* blocking ops: <0 forever, 0 no wait, >0 ms */
	int64_t          count;
	uint32_t         flags;      /* MPS_FLAG_* */
	int              send_null;  /* send value as an explicit null */
	const mps_value *values;
	size_t           nvalues;
	const mps_value *keys;
	size_t           nkeys;
	/* create */
	mps_kind         kind;
	mps_elem_type    elem_type;
	mps_key_type     key_type;
	const char      *message_type;
	/* changes */
	uint64_t         from_revision;
	/* register schema */
	const void      *data;
	size_t           datalen;
} mps_op;

/* Container information (OP_INFO, OP_LIST_CONTAINERS, OP_DUMP). */
typedef struct mps_info {
	const char   *name;
	mps_kind      kind;
	mps_elem_type elem_type;
	mps_key_type  key_type;
	const char   *message_type; /* "" unless elem_type is MPS_TYPE_MESSAGE */
	int64_t       length;
	uint64_t      revision;
	int64_t       capacity;     /* maxsize, parties, initial, array length */
} mps_info;

/*
 * The result of one op, as the wire's Result. Every pointer in it is
 * BORROWED from the batch that produced it and is valid until that batch is
 * reset, executed again or freed.
 */
typedef struct mps_result {
	mps_err          status;
	const char      *error;   /* "" when status is MPS_OK */
	mps_value        value;
	const mps_value *values;
	size_t           nvalues;
	const mps_value *keys;
	size_t           nkeys;
	int64_t          count;
	int              flag;
	uint64_t         revision;
	uint64_t         token;
	int64_t          next;    /* paging cursor, -1 when done */
	const mps_info  *containers;
	size_t           ncontainers;
	int              has_info;
	mps_info         info;
} mps_result;

/*
 * A batch: ops sent in ONE request and applied by the daemon in order, each
 * with its own result (not atomic as a whole; see transactions). A batch is
 * bound to one client, owns its request buffer and its decoded reply, and
 * is reused: mps_batch_reset clears its ops and results but keeps its
 * memory, so a loop of append/exec/reset allocates little after warm-up.
 * Every mps_batch_* function refuses a NULL batch (MPS_ERR_INVALID, or 0 /
 * nothing for those that return no error).
 *
 * A batch is not thread-safe; use one per thread or per request in flight.
 * Ops appended are copied into the batch (strings and bytes too), so the
 * caller's op and values may be released after append returns.
 */
typedef struct mps_batch mps_batch;

MPS_API mps_err mps_batch_alloc(mps_client *c, mps_batch **out);
/* Frees the batch; waits for (and cancels) a request of it in flight. NULL ok. */
MPS_API void    mps_batch_free(mps_batch *b);
MPS_API void    mps_batch_reset(mps_batch *b);
MPS_API mps_err mps_batch_append(mps_batch *b, const mps_op *op);
MPS_API size_t  mps_batch_len(const mps_batch *b);

/*
 * Send the batch and wait for the reply, on the calling thread like any
 * synchronous call. Returns MPS_OK when the daemon answered (each op's own
 * status is in its result; see mps_batch_result), or the request-level
 * failure (transport, timeout, malformed, auth ...). The wait allows the
 * client timeout, plus the timeouts of its blocking ops and a margin.
 */
MPS_API mps_err mps_batch_exec(mps_batch *b);

/*
 * Asynchronous: send the batch and return at once; cb(b, err, arg) (cb may
 * be NULL: then wait with mps_batch_wait) is called exactly once when the
 * reply arrives or the request fails (err as mps_batch_exec would
 * return), on the handle's reader thread (for a tls+tcp:// handle, on one
 * of nng's threads), one callback at a time, and must not block for long:
 * other batches' callbacks wait. The reader thread is started by the
 * handle's first mps_batch_submit and ends with mps_close. Until cb is
 * called the batch must not be touched (except mps_batch_free from
 * another thread, which cancels). Inside cb the batch may be read, reset,
 * refilled and submitted again (the usual pipelining loop), and
 * synchronous calls may be made, but not mps_batch_free of this batch.
 * Any number of batches of one client may be in flight at once. Returns
 * an error (and does not call cb) if the request could not be started.
 */
typedef void (*mps_batch_cb)(mps_batch *b, mps_err err, void *arg);
MPS_API mps_err mps_batch_submit(mps_batch *b, mps_batch_cb cb, void *arg);

/* Block until a batch submitted with mps_batch_submit has completed (its
 * callback has returned). Returns at once when nothing is in flight. */
MPS_API void mps_batch_wait(mps_batch *b);

/* Number of results of the last reply, and result i (0-based) of it.
 * MPS_ERR_INDEX when i is out of range. */
MPS_API size_t  mps_batch_nresults(const mps_batch *b);
MPS_API mps_err mps_batch_result(mps_batch *b, size_t i, mps_result *out);
/* Global revision after the last reply; txn: whether the compares held. */
MPS_API uint64_t mps_batch_revision(const mps_batch *b);

/*
 * Transactions (etcd-style) are batches in transaction mode: every compare
 * is evaluated; if all hold, the ops appended before mps_txn_else are
 * applied, otherwise those appended after it, all atomically with one
 * revision (blocking ops never wait in a txn). mps_batch_exec or
 * mps_batch_submit sends it; mps_txn_succeeded says which branch ran, and
 * the results are those of that branch's ops.
 */
typedef enum mps_cmp_target {
	MPS_TARGET_VALUE = 0,      /* a value container's value */
	MPS_TARGET_REVISION = 1,   /* a container's revision */
	MPS_TARGET_LENGTH = 2,     /* a container's length */
	MPS_TARGET_DICT_ENTRY = 3, /* dict[key]; missing compares as null */
	MPS_TARGET_EXISTS = 4      /* container exists (bool) */
} mps_cmp_target;
typedef enum mps_cmp_op {
	MPS_CMP_EQ = 0, MPS_CMP_NE = 1, MPS_CMP_LT = 2,
	MPS_CMP_LE = 3, MPS_CMP_GT = 4, MPS_CMP_GE = 5
} mps_cmp_op;

/* Turn b into a transaction (if not yet) and add a compare. key only for
 * MPS_TARGET_DICT_ENTRY (NULL otherwise). Copied. */
MPS_API mps_err mps_txn_compare(mps_batch *b, const char *name, mps_cmp_target target,
                                mps_cmp_op op, const mps_value *key, const mps_value *value);
/* Turn b into a transaction (if not yet); ops appended from now go to the
 * failure branch. */
MPS_API mps_err mps_txn_else(mps_batch *b);
/* After exec: 1 when the compares held (success ops applied), else 0. */
MPS_API int     mps_txn_succeeded(const mps_batch *b);

/*
 * One op, synchronously; returns the op's status (or the request's
 * failure). For its result, use a one-op batch or the typed functions.
 */
MPS_API mps_err mps_exec_op(mps_client *c, const mps_op *op);

/* ------------------------------------------------------------------------ */
/* Administration                                                             */
/* ------------------------------------------------------------------------ */

/* Options of mps_create; zero-initialise, then set what applies. */
typedef struct mps_create_opts {
	mps_kind      kind;
	mps_elem_type elem_type;    /* MPS_TYPE_ANY by default */
	mps_key_type  key_type;     /* dicts */
	const char   *message_type; /* with MPS_TYPE_MESSAGE: full type name */
	int64_t       count;        /* queue maxsize (0 = unbounded), barrier
	                               parties, semaphore initial value, array
	                               length */
} mps_create_opts;

/* Create a container; idempotent when kind and types match the existing
 * one, MPS_ERR_EXISTS when they do not. */
MPS_API mps_err mps_create(mps_client *c, const char *name, const mps_create_opts *opts);
/* Shorthand: mps_create with just kind and element type. */
MPS_API mps_err mps_create_simple(mps_client *c, const char *name, mps_kind kind,
                                  mps_elem_type elem_type);
MPS_API mps_err mps_delete(mps_client *c, const char *name);

/*
 * Containers whose names begin with prefix (NULL or "" for all). On success
 * *infos is a caller-owned array of *n entries (strings included), freed
 * with mps_infos_free.
 */
MPS_API mps_err mps_ls(mps_client *c, const char *prefix, mps_info **infos, size_t *n);
/* One container's info; free with mps_info_free. */
MPS_API mps_err mps_info_get(mps_client *c, const char *name, mps_info *info);
MPS_API void    mps_info_free(mps_info *info);
MPS_API void    mps_infos_free(mps_info *infos, size_t n);

/* Snapshot now (and compact the log); *revision (may be NULL) gets its revision. */
MPS_API mps_err mps_snapshot(mps_client *c, uint64_t *revision);
/* Online backup of the database to a new file `name` in the daemon's
 * --backup-dir (a file name, not a path: no '/', not starting with '.').
 * MPS_ERR_INVALID when the daemon has no --backup-dir or the name is not a
 * file name; MPS_ERR_EXISTS when the file exists (never overwritten). */
MPS_API mps_err mps_backup(mps_client *c, const char *name);
/* Register a FileDescriptorSet; flags MPS_FLAG_CREATE_DECLARED creates the
 * containers it declares. */
MPS_API mps_err mps_register_schema(mps_client *c, const void *data, size_t len, uint32_t flags);
/* All registered schema files as one FileDescriptorSet (caller-owned bytes). */
MPS_API mps_err mps_get_schema(mps_client *c, mps_value *out);

/*
 * The full state of a container, atomically: info, keys (dicts, namespaces)
 * and values, at *revision. Caller frees with mps_dump_free.
 */
typedef struct mps_dump {
	mps_info   info;
	uint64_t   revision;
	mps_value  value;   /* value containers */
	mps_value *keys;
	size_t     nkeys;
	mps_value *values;
	size_t     nvalues;
	int64_t    count;   /* kind-specific (sync kinds) */
	int        flag;
} mps_dump;
MPS_API mps_err mps_dump_get(mps_client *c, const char *name, mps_dump *out);
MPS_API void    mps_dump_free(mps_dump *d);

/* Daemon statistics as "key=value" strings (caller frees with mps_values_free). */
MPS_API mps_err mps_stats(mps_client *c, mps_value **lines, size_t *n);

/* ------------------------------------------------------------------------ */
/* Operators: what the daemon is doing (docs/operations.md)                   */
/* ------------------------------------------------------------------------ */

/*
 * One line of OP_STATS by sections (`mpstore info`): its section
 * ("server", "clients", "memory", "persistence", "watch", "limits"), key
 * and value. mps_daemon_info gives the lines of one section (NULL or "":
 * all); with mem non-NULL also every container's memory, largest first.
 * Each array is one allocation (strings inside): free it with free().
 * MPS_ERR_INVALID for an unknown section.
 */
typedef struct mps_stat {
	const char *section, *key, *value;
} mps_stat;
typedef struct mps_memory {
	const char *name;
	mps_kind    kind;
	int64_t     bytes; /* approximate */
} mps_memory;
MPS_API mps_err mps_daemon_info(mps_client *c, const char *section, mps_stat **stats, size_t *n,
                                mps_memory **mem, size_t *nmem);

/*
 * A connection, or a session holding or waiting on a container (the
 * protocol's Party). Strings are never NULL ("" when unknown). Fields a
 * use does not set are 0.
 */
typedef struct mps_party {
	uint32_t    conn;         /* connection id (mpstore clients' id); 0: none now */
	uint64_t    client_id;    /* the session */
	const char *name;         /* what the client said in its hello */
	int64_t     pid;          /* its pid (hello, else the ipc peer's); 0 unknown */
	int64_t     peer_pid;     /* the ipc peer's pid from the socket */
	const char *addr;         /* peer address */
	int64_t     age_ms;       /* connected / holding / waiting for this long */
	int64_t     idle_ms;      /* connection: since its last request */
	uint64_t    requests;     /* connection: requests so far */
	int64_t     parked;       /* connection: requests waiting in blocking ops */
	uint64_t    token;        /* holder: fencing token */
	int64_t     count;        /* holder: lock depth or semaphore units */
	int64_t     timeout_ms;   /* waiter: its op's timeout (< 0 for ever) */
	int64_t     remaining_ms; /* waiter: until its deadline, -1 none */
	mps_opcode  op;           /* waiter: the op that waits */
	const char *container;    /* mps_clients' holds: the container held */
	mps_kind    kind;         /* ... and its kind */
} mps_party;

/* Every connection (by id) and what their sessions hold (holds: each with
 * conn, container, kind, count, token, age_ms). Arrays are one allocation
 * each (free()); holds may be NULL when not wanted. */
MPS_API mps_err mps_clients(mps_client *c, mps_party **clients, size_t *n, mps_party **holds,
                            size_t *nholds);
/* Who holds name (oldest grant first) and who waits on it (in line
 * order). Arrays are one allocation each (free()). */
MPS_API mps_err mps_holders(mps_client *c, const char *name, mps_party **holders, size_t *nh,
                            mps_party **waiters, size_t *nw);

/*
 * Follow every request the daemon receives (`mpstore monitor`): lines
 * from *cursor on (0: from now), waiting up to timeout_ms (at most half
 * the handle's timeout) for the first. *lines (mps_values_free) holds
 * them as strings; *cursor moves past them; *lost (may be NULL) counts
 * lines the daemon no longer had (the caller fell behind). This
 * connection counts as a monitor while it keeps asking.
 */
MPS_API mps_err mps_monitor(mps_client *c, uint64_t *cursor, int64_t timeout_ms, mps_value **lines,
                            size_t *n, uint64_t *lost);

/* ------------------------------------------------------------------------ */
/* Value / counter                                                            */
/* ------------------------------------------------------------------------ */

MPS_API mps_err mps_value_get(mps_client *c, const char *name, mps_value *out);
MPS_API mps_err mps_value_set(mps_client *c, const char *name, const mps_value *v);
/* Atomic add of delta (int or double); *out (may be NULL) gets the new value. */
MPS_API mps_err mps_value_add(mps_client *c, const char *name, const mps_value *delta,
                              mps_value *out);
/* Compare-and-set: *swapped (may be NULL) says whether the value was
 * expected and is now v; *current (may be NULL) gets the value after. */
MPS_API mps_err mps_value_cas(mps_client *c, const char *name, const mps_value *expected,
                              const mps_value *v, int *swapped, mps_value *current);
/* Convenience for int64 counters: add delta, new value in *newval (may be NULL). */
MPS_API mps_err mps_counter_add(mps_client *c, const char *name, int64_t delta, int64_t *newval);
MPS_API mps_err mps_counter_get(mps_client *c, const char *name, int64_t *val);
MPS_API mps_err mps_value_add_double(mps_client *c, const char *name, double delta,
                                     double *newval);

/* ------------------------------------------------------------------------ */
/* List (get/set/slice/len also serve arrays: mps_array_* below)              */
/* ------------------------------------------------------------------------ */

/* *len (may be NULL) gets the new length. */
MPS_API mps_err mps_list_append(mps_client *c, const char *name, const mps_value *v, int64_t *len);
MPS_API mps_err mps_list_extend(mps_client *c, const char *name, const mps_value *v, size_t n,
                                int64_t *len);
/* Python insert: index clamps to the list. */
MPS_API mps_err mps_list_insert(mps_client *c, const char *name, int64_t index, const mps_value *v);
/* Negative index counts from the end. */
MPS_API mps_err mps_list_get(mps_client *c, const char *name, int64_t index, mps_value *out);
/* Elements [start, stop) (Python slice; stop ignored when has_stop is 0);
 * caller frees *vals with mps_values_free. */
MPS_API mps_err mps_list_slice(mps_client *c, const char *name, int64_t start, int64_t stop,
                               int has_stop, mps_value **vals, size_t *n);
MPS_API mps_err mps_list_set(mps_client *c, const char *name, int64_t index, const mps_value *v);
/* Pop the last element (out may be NULL). MPS_ERR_EMPTY when empty. */
MPS_API mps_err mps_list_pop(mps_client *c, const char *name, mps_value *out);
MPS_API mps_err mps_list_pop_index(mps_client *c, const char *name, int64_t index, mps_value *out);
/* Remove the first element equal to v (MPS_ERR_NO_KEY-like error when none:
 * whatever the daemon says, typically MPS_ERR_INVALID). */
MPS_API mps_err mps_list_remove(mps_client *c, const char *name, const mps_value *v);
MPS_API mps_err mps_list_index(mps_client *c, const char *name, const mps_value *v, int64_t *index);
MPS_API mps_err mps_list_len(mps_client *c, const char *name, int64_t *len);
MPS_API mps_err mps_list_clear(mps_client *c, const char *name);

/* Array: fixed length, typed; elements 0..length-1. */
MPS_API mps_err mps_array_get(mps_client *c, const char *name, int64_t index, mps_value *out);
MPS_API mps_err mps_array_set(mps_client *c, const char *name, int64_t index, const mps_value *v);
MPS_API mps_err mps_array_slice(mps_client *c, const char *name, int64_t start, int64_t stop,
                                int has_stop, mps_value **vals, size_t *n);
MPS_API mps_err mps_array_len(mps_client *c, const char *name, int64_t *len);

/* ------------------------------------------------------------------------ */
/* Dict (keys are mps_value: MPS_STRING or MPS_INT, as the dict's key type)   */
/* ------------------------------------------------------------------------ */

MPS_API mps_err mps_dict_set(mps_client *c, const char *name, const mps_value *key,
                             const mps_value *v);
/* MPS_ERR_NO_KEY when missing. */
MPS_API mps_err mps_dict_get(mps_client *c, const char *name, const mps_value *key, mps_value *out);
/* *out gets a copy of dflt when the key is missing. */
MPS_API mps_err mps_dict_get_default(mps_client *c, const char *name, const mps_value *key,
                                     const mps_value *dflt, mps_value *out);
MPS_API mps_err mps_dict_del(mps_client *c, const char *name, const mps_value *key);
MPS_API mps_err mps_dict_contains(mps_client *c, const char *name, const mps_value *key, int *yes);
MPS_API mps_err mps_dict_len(mps_client *c, const char *name, int64_t *len);
/*
 * Paged listing in insertion order: start at cursor 0, ask for page entries
 * (0 = all); *next gets the next cursor, -1 when done. keys/vals (either may
 * be NULL to skip) are caller-owned arrays of *n entries (mps_values_free).
 * what: MPS_OP_DICT_KEYS, MPS_OP_DICT_VALUES or MPS_OP_DICT_ITEMS.
 */
MPS_API mps_err mps_dict_page(mps_client *c, const char *name, mps_opcode what, int64_t cursor,
                              int64_t page, mps_value **keys, mps_value **vals, size_t *n,
                              int64_t *next);
/* All keys / values / items, fetching every page (not atomic across pages
 * for big dicts; use mps_dump_get for a consistent copy). */
MPS_API mps_err mps_dict_keys(mps_client *c, const char *name, mps_value **keys, size_t *n);
MPS_API mps_err mps_dict_values(mps_client *c, const char *name, mps_value **vals, size_t *n);
MPS_API mps_err mps_dict_items(mps_client *c, const char *name, mps_value **keys,
                               mps_value **vals, size_t *n);
/* Set n pairs keys[i] = vals[i] atomically. */
MPS_API mps_err mps_dict_update(mps_client *c, const char *name, const mps_value *keys,
                                const mps_value *vals, size_t n);
/* *out (may be NULL) gets the existing or inserted value. */
MPS_API mps_err mps_dict_setdefault(mps_client *c, const char *name, const mps_value *key,
                                    const mps_value *dflt, mps_value *out);
/* Remove and return; dflt NULL: MPS_ERR_NO_KEY when missing. */
MPS_API mps_err mps_dict_pop(mps_client *c, const char *name, const mps_value *key,
                             const mps_value *dflt, mps_value *out);
MPS_API mps_err mps_dict_clear(mps_client *c, const char *name);

/* Namespace: dict ops with string attribute names. */
MPS_API mps_err mps_ns_set(mps_client *c, const char *name, const char *attr, const mps_value *v);
MPS_API mps_err mps_ns_get(mps_client *c, const char *name, const char *attr, mps_value *out);
MPS_API mps_err mps_ns_del(mps_client *c, const char *name, const char *attr);
MPS_API mps_err mps_ns_items(mps_client *c, const char *name, mps_value **keys,
                             mps_value **vals, size_t *n);

/* ------------------------------------------------------------------------ */
/* Blocking kinds. timeout_ms: < 0 wait forever, 0 never wait, > 0 ms.        */
/* A wait that expires returns MPS_ERR_TIMEOUT (MPS_ERR_EMPTY / MPS_ERR_FULL  */
/* for a queue with timeout 0).                                               */
/* ------------------------------------------------------------------------ */

/* Queue. *qsize (may be NULL) gets the size after the put. */
MPS_API mps_err mps_queue_put(mps_client *c, const char *name, const mps_value *v,
                              int64_t timeout_ms, int64_t *qsize);
MPS_API mps_err mps_queue_get(mps_client *c, const char *name, int64_t timeout_ms, mps_value *out);
MPS_API mps_err mps_queue_size(mps_client *c, const char *name, int64_t *size);
MPS_API mps_err mps_queue_empty(mps_client *c, const char *name, int *yes);
MPS_API mps_err mps_queue_full(mps_client *c, const char *name, int *yes);
MPS_API mps_err mps_queue_task_done(mps_client *c, const char *name);
MPS_API mps_err mps_queue_join(mps_client *c, const char *name, int64_t timeout_ms);

/* Lock / rlock / a condition's lock. *token (may be NULL) gets the fencing
 * token of the grant (grows with every grant); *depth the rlock depth.
 * Not granted within timeout_ms (also with timeout 0): MPS_ERR_TIMEOUT. */
MPS_API mps_err mps_lock_acquire(mps_client *c, const char *name, int64_t timeout_ms,
                                 uint64_t *token);
MPS_API mps_err mps_rlock_acquire(mps_client *c, const char *name, int64_t timeout_ms,
                                  uint64_t *token, int64_t *depth);
/* MPS_ERR_NOT_OWNER when this handle's session does not hold it. */
MPS_API mps_err mps_lock_release(mps_client *c, const char *name);
/* Release the grant of lock/rlock `name` whose fencing token is `token`
 * (all its depth), whichever session holds it: for a holder that lives in
 * another process (`mpstore acquire` / `mpstore release --token`) or an
 * operator breaking a stuck lock. MPS_ERR_NOT_OWNER when the lock is free
 * or held under another token (a later grant is never released by an old
 * token). */
MPS_API mps_err mps_lock_release_token(mps_client *c, const char *name, uint64_t token);
MPS_API mps_err mps_lock_locked(mps_client *c, const char *name, int *locked, uint64_t *token);

/* Semaphore / bounded semaphore. *value (may be NULL) gets the value after.
 * No unit within timeout_ms (also with timeout 0): MPS_ERR_TIMEOUT. */
MPS_API mps_err mps_sem_acquire(mps_client *c, const char *name, int64_t timeout_ms,
                                int64_t *value);
MPS_API mps_err mps_sem_release(mps_client *c, const char *name, int64_t *value);
MPS_API mps_err mps_sem_value(mps_client *c, const char *name, int64_t *value);

/* Event. mps_event_wait: *is_set (may be NULL) 1 when set, 0 when the
 * timeout passed (MPS_OK in both cases). */
MPS_API mps_err mps_event_set(mps_client *c, const char *name);
MPS_API mps_err mps_event_clear(mps_client *c, const char *name);
MPS_API mps_err mps_event_is_set(mps_client *c, const char *name, int *is_set);
MPS_API mps_err mps_event_wait(mps_client *c, const char *name, int64_t timeout_ms, int *is_set);

/* Condition: acquire/release its lock with mps_cond_acquire/mps_cond_release
 * (= the lock ops); wait releases it, waits for a notify, and re-acquires
 * it; *notified 0 when the timeout passed. notify wakes up to n (*woken). */
MPS_API mps_err mps_cond_acquire(mps_client *c, const char *name, int64_t timeout_ms,
                                 uint64_t *token);
MPS_API mps_err mps_cond_release(mps_client *c, const char *name);
MPS_API mps_err mps_cond_wait(mps_client *c, const char *name, int64_t timeout_ms, int *notified);
MPS_API mps_err mps_cond_notify(mps_client *c, const char *name, int64_t n, int64_t *woken);
MPS_API mps_err mps_cond_notify_all(mps_client *c, const char *name, int64_t *woken);

/* Barrier: wait -> arrival index (0 .. parties-1); MPS_ERR_BROKEN after an
 * abort, reset or timeout of a party. */
MPS_API mps_err mps_barrier_wait(mps_client *c, const char *name, int64_t timeout_ms,
                                 int64_t *index);
MPS_API mps_err mps_barrier_abort(mps_client *c, const char *name);
MPS_API mps_err mps_barrier_reset(mps_client *c, const char *name);
MPS_API mps_err mps_barrier_info(mps_client *c, const char *name, int64_t *parties,
                                 int64_t *n_waiting, int *broken);

/* ------------------------------------------------------------------------ */
/* Watching (clients/c/src/watch.c, mirror.c; docs/watch.md)                 */
/* ------------------------------------------------------------------------ */

/* Where a watch subscribes when mps_watch_opts.pub_url is NULL and
 * $MPSTORE_PUB_URL is unset (the daemon's default --pub). */
#define MPS_DEFAULT_PUB_URL "ipc:///tmp/mpstore-pub.ipc"

/* Change record types (= ChangeType of the proto). */
typedef enum mps_change_type {
	MPS_CH_NONE = 0,
	MPS_CH_CREATE = 1,      /* info */
	MPS_CH_DELETE = 2,
	MPS_CH_CLEAR = 3,
	MPS_CH_SET = 4,         /* value container: value is the new value */
	MPS_CH_LIST_INSERT = 5, /* values inserted before index (arrays: overwrite from index) */
	MPS_CH_LIST_SET = 6,    /* index, value (arrays: or index + values, a run) */
	MPS_CH_LIST_DELETE = 7, /* count elements removed from index */
	MPS_CH_DICT_SET = 8,    /* keys[i] = values[i] */
	MPS_CH_DICT_DELETE = 9, /* keys removed */
	MPS_CH_QUEUE_PUT = 10,  /* values appended */
	MPS_CH_QUEUE_GET = 11,  /* count items taken from the head */
	MPS_CH_STATE = 12,      /* sync kinds: value (bytes) is the state (docs/sync.md) */
	MPS_CH_RESYNC = 13      /* full state (resync events) */
} mps_change_type;

/* Lower-case name of a change type ("list_insert", "dict_set", ...); "?"
 * when unknown. Constant string. */
MPS_API const char *mps_change_type_name(int type);

typedef enum mps_watch_event_type {
	MPS_WATCH_CHANGE = 1,  /* one change to a container (change != CREATE/DELETE) */
	MPS_WATCH_CREATED = 2, /* a container was created (change = MPS_CH_CREATE, info) */
	MPS_WATCH_DELETED = 3, /* a container was deleted (change = MPS_CH_DELETE) */
	MPS_WATCH_RESYNC = 4,  /* full state of one container at `revision`; see below */
	MPS_WATCH_PROGRESS = 5 /* only with MPS_WATCH_F_PROGRESS: every change up to
	                          `revision` has been delivered */
} mps_watch_event_type;

/*
 * One event. Every pointer in it is BORROWED from the watch: valid during
 * the callback, or until the next mps_watch_next / mps_unwatch.
 *
 * Changes (CHANGE, CREATED, DELETED) carry the daemon's change record:
 * revision (global; the changes of one transaction share it), container
 * name and kind, the change type and its fields (index, count, value, keys,
 * values, info) exactly as docs/watch.md lists them per type.
 *
 * A RESYNC tells the watcher to drop what it knows and take this state
 * instead: the watch could not prove that it saw every change (the
 * daemon's history no longer had the missed ones, the daemon went back in
 * time, or a loss was found after the fact), or the watch was opened with
 * MPS_WATCH_F_RESYNC_FIRST. A resync covers every container the watch
 * matches, all at one `revision`: resync_count events (resync_index 0 ..
 * resync_count-1), one per existing container, with has_info/info, the
 * full contents in values (lists, arrays, queues), keys + values (dicts,
 * namespaces) or value (value containers; the state bytes of sync kinds and
 * of a queue's unfinished count); count = number of elements. When no
 * container matches, the resync is ONE event with kind MPS_KIND_NONE,
 * resync_count 0 and name = the watched name or prefix. Changes that
 * follow have revisions > the resync's revision.
 */
typedef struct mps_watch_event {
	mps_watch_event_type type;
	uint64_t             revision;
	const char          *name;
	mps_kind             kind;
	mps_change_type      change;
	int64_t              index;
	int64_t              count;
	mps_value            value;
	const mps_value     *keys;
	size_t               nkeys;
	const mps_value     *values;
	size_t               nvalues;
	int                  has_info;
	mps_info             info;
	size_t               resync_index;
	size_t               resync_count;
	int                  recovered; /* 1: fetched with OP_CHANGES, not from PUB */
} mps_watch_event;

/* The callback form. Called on the watch's own thread, one event at a
 * time, in order. It may block (events wait; nothing is lost: see
 * docs/watch.md) and may call libmpstore on other handles or on the
 * watch's client, but must not call mps_unwatch on its own watch. */
typedef void (*mps_watch_cb)(const mps_watch_event *ev, void *arg);

#define MPS_WATCH_F_RESYNC_FIRST 1u /* start with a resync (full state), then changes */
#define MPS_WATCH_F_PROGRESS 2u     /* deliver MPS_WATCH_PROGRESS events */
#define MPS_WATCH_F_NO_AUDIT 4u     /* skip the twice-a-second audit (docs/watch.md) */

/* Options of mps_watch; zero-initialise, then set what applies. */
typedef struct mps_watch_opts {
	/* The daemon's PUB address (mpstored --pub). NULL: $MPSTORE_PUB_URL,
	 * then the address the daemon reported (mps_server()->pub_url). When
	 * none is known (the daemon publishes nothing: --pub '', or an auth
	 * key is set) the watch pulls: OP_CHANGES that wait for the next
	 * change, on the handle's own (authenticated) connection; then
	 * mps_watch_fd wakes its user every 200 ms to ask. */
	const char  *pub_url;
	/* First revision wanted: changes with revision >= from_revision are
	 * delivered (a resync first when the daemon no longer has them).
	 * 0 = "now": changes committed after mps_watch returns. */
	uint64_t     from_revision;
	uint32_t     flags;   /* MPS_WATCH_F_* */
	mps_watch_cb cb;      /* NULL: pull events with mps_watch_next */
	void        *cb_arg;
} mps_watch_opts;

typedef struct mps_watcher mps_watcher;

/*
 * Watch `what`: a container name, a name prefix ending in '*' ("jobs.*"),
 * or "" (or "*") for every container. The watch opens its own SUB socket to
 * the daemon's PUB address and uses c (which must outlive the watch) for
 * the requests that recover missed changes (OP_CHANGES) and full states
 * (OP_DUMP). For ipc:// and tcp:// PUB addresses the library speaks SP SUB0
 * itself (filtering topics as nng's SUB does), so a process that watches
 * runs no nng and may fork; tls+tcp:// goes through nng's SUB, with c's TLS
 * options. A dropped subscription is dialled again (backoff 20 ms to 1 s);
 * what was published meanwhile is recovered like any other loss. Delivery guarantee (docs/watch.md): every committed change of
 * a matching container with revision >= the start is delivered exactly
 * once, in revision order, or a RESYNC says to take a fresh state, after
 * which the same holds again from the resync's revision.
 *
 * With opts->cb set, events go to the callback on a library thread that
 * mps_watch starts; otherwise the caller pulls them with mps_watch_next.
 * opts may be NULL (now, pull, default PUB address). On success *out is a
 * handle to release with mps_unwatch.
 *
 * fork(): a watch belongs to the process that opened it. In a forked
 * child, a pull watch that no other thread was reading at the fork keeps
 * working: its next mps_watch_next there subscribes anew on a connection of
 * the child's own (the parent's is never touched) and recovers what it
 * missed, through c's own child session. A callback watch, a mirror, or a
 * pull watch another thread was reading stays the parent's: in the child
 * it delivers nothing (mps_watch_next: MPS_ERR_INVALID; a mirror's copy
 * stays readable as it was at the fork), and mps_unwatch /
 * mps_mirror_close only release the child's copy. A tls+tcp:// watch does
 * not work in a child.
 *
 * Errors: MPS_ERR_INVALID (bad name, NULL c or out), MPS_ERR_CONNECT (bad
 * PUB URL), MPS_ERR_NOMEM, and the errors of the first request to the
 * daemon.
 */
MPS_API mps_err mps_watch(mps_client *c, const char *what, const mps_watch_opts *opts,
                          mps_watcher **out);

/*
 * Pull form: wait up to timeout_ms (< 0 forever, 0 not at all) for the next
 * event; *ev points at it (borrowed, valid until the next call or
 * mps_unwatch). MPS_ERR_TIMEOUT when none arrived in time. Not for watches
 * with a callback (MPS_ERR_INVALID). One thread at a time. While the
 * daemon is unreachable it keeps trying (MPS_ERR_TIMEOUT meanwhile; the
 * reason is in mps_watch_stats' last_error).
 */
MPS_API mps_err mps_watch_next(mps_watcher *w, const mps_watch_event **ev, int timeout_ms);

/* A file descriptor for poll/epoll in the pull form: readable whenever
 * mps_watch_next(w, &ev, 0) has something to do: a PUB message waiting
 * on the socket, events or a message already queued, or time-based work
 * (dialling a lost subscription again, retrying a failed catch-up, the
 * gap check after a silence). It is an epoll descriptor over the SUB
 * socket and a timer, made at the first call and kept across reconnects
 * (the same number every call; in a forked child it refers to the child's
 * own set). Call mps_watch_next with timeout 0 until it returns
 * MPS_ERR_TIMEOUT, then poll (no poll timeout needed). Owned by the
 * watch. -1 on error (NULL w, a callback watch). */
MPS_API int mps_watch_fd(mps_watcher *w);

/* Revision up to which every matching change has been delivered (or
 * resynced). Any thread. */
MPS_API uint64_t mps_watch_revision(mps_watcher *w);

/* Counters, for tests and monitoring (any thread). */
typedef struct mps_watch_stats {
	uint64_t notifications; /* PUB messages with changes received */
	uint64_t heartbeats;    /* heartbeats received */
	uint64_t delivered;     /* events delivered (all types) */
	uint64_t gaps;          /* PUB revision gaps that needed a check */
	uint64_t catchups;      /* OP_CHANGES requests made */
	uint64_t lost;          /* changes PUB/SUB dropped that OP_CHANGES recovered */
	uint64_t duplicates;    /* PUB changes skipped: already delivered */
	uint64_t resyncs;       /* resyncs delivered */
	uint64_t audit_holes;   /* audits that found an unnoticed loss (-> resync) */
	int      last_error;    /* last failed request to the daemon (MPS_OK: none) */
} mps_watch_stats;
MPS_API void mps_watch_stats_get(mps_watcher *w, mps_watch_stats *st);

/* Stop and free the watch: joins its thread (a running callback finishes
 * first), closes its SUB socket and descriptors. Not from the watch's own
 * callback. NULL ok. */
MPS_API void mps_unwatch(mps_watcher *w);

/* ---- mirror: a local read-only copy kept current by a watch ---- */

/*
 * Keep a local copy of the list, array, dict, namespace, queue or value
 * (counter) `name`: an initial full state, then every change applied in
 * order on a library thread. Reads take the mirror's lock and never ask
 * the daemon; everything a read returns is consistent at
 * mps_mirror_revision. opts: pub_url is used (from_revision, flags and cb
 * are ignored). Waits up to timeout_ms (<= 0: 5000) for the initial state.
 * A container that does not exist yet mirrors as kind MPS_KIND_NONE with
 * no elements until it is created. MPS_ERR_WRONG_KIND for other kinds.
 */
typedef struct mps_mirror mps_mirror;
MPS_API mps_err mps_mirror_open(mps_client *c, const char *name, const mps_watch_opts *opts,
                                int timeout_ms, mps_mirror **out);
MPS_API void    mps_mirror_close(mps_mirror *m); /* NULL ok */

/* Revision the copy is consistent at, its kind (MPS_KIND_NONE while the
 * container does not exist) and element count (1 for a value). */
MPS_API uint64_t mps_mirror_revision(mps_mirror *m);
MPS_API mps_kind mps_mirror_kind(mps_mirror *m);
MPS_API int64_t  mps_mirror_len(mps_mirror *m);
/* Element index (negative from the end) of a list/array/queue: an owned
 * copy in *out. MPS_ERR_INDEX, MPS_ERR_WRONG_KIND. */
MPS_API mps_err mps_mirror_get(mps_mirror *m, int64_t index, mps_value *out);
/* dict/namespace entry (owned copy). MPS_ERR_NO_KEY. */
MPS_API mps_err mps_mirror_dict_get(mps_mirror *m, const mps_value *key, mps_value *out);
/* value container's value (owned copy). */
MPS_API mps_err mps_mirror_value(mps_mirror *m, mps_value *out);
/* Everything at once, at one revision: owned arrays (mps_values_free);
 * keys only for dicts/namespaces (else NULL), value containers give one
 * value. *revision (may be NULL) gets the revision. */
MPS_API mps_err mps_mirror_items(mps_mirror *m, mps_value **keys, mps_value **values, size_t *n,
                                 uint64_t *revision);
/* Iterate under the lock (fn must not call the mirror; return non-zero to
 * stop). key is NULL except for dicts/namespaces. Borrowed values. */
MPS_API mps_err mps_mirror_foreach(mps_mirror *m,
                                   int (*fn)(const mps_value *key, const mps_value *v, void *arg),
                                   void *arg);
/* Wait until the copy is at revision >= rev (e.g. the revision of one's own
 * write: its result's revision). MPS_ERR_TIMEOUT after timeout_ms (< 0
 * forever). */
MPS_API mps_err mps_mirror_wait_revision(mps_mirror *m, uint64_t rev, int timeout_ms);

#ifdef __cplusplus
}
#endif
#endif
