/*
 * core.h - mpstore._core, the C half of the Python package: a thin layer
 * over libmpstore's public API (mpstore/mpstore.h) and nothing else.
 *
 *   module.c   the module: constants, the Error exception, the codec hooks
 *   convert.c  Python objects <-> mps_value (the value encoding, docs/python.md)
 *   client.c   Client: one mps_client (one daemon session), ops and batches
 *   pending.c  Pending: one op in flight, waited for in slices (Ctrl-C)
 *   watch.c    Watcher and Mirror over mps_watch / mps_mirror
 *
 * Ownership: a Client owns its mps_client and closes it when it is freed
 * (also in a forked child, where libmpstore decides what closing an
 * inherited handle means; the batches, watches and mirrors a child
 * inherits are abandoned, never freed: they belong to the parent's
 * threads and connection). Watchers and Mirrors keep a reference to the
 * Client they were opened on, so it outlives them. Everything that may wait
 * on the daemon runs without the GIL.
 */
#ifndef MPSPY_CORE_H
#define MPSPY_CORE_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <mpstore/mpstore.h>

/* Encoded values (not a store scalar) are bytes beginning with these 4. */
#define MPSPY_MAGIC "\x00MPS"
#define MPSPY_MAGIC_LEN 4

/* ---- module.c ---- */

/* _core.Error(code, message): every failure reported by libmpstore. */
extern PyObject *mpspy_Error;
/* The "no value" marker (_core.NOVAL): the op's field is left unset. */
extern PyObject *mpspy_NOVAL;
/* Bumped in a forked child (pthread_atfork): an object made under another
 * generation was inherited from the parent (getpid() is a system call,
 * too slow for every mirror read). */
extern volatile unsigned mpspy_fork_gen;

/* Raise _core.Error for err with the thread's mps_last_error() text. */
PyObject *mpspy_raise(mps_err err);
/* Raise _core.Error for err with msg. */
PyObject *mpspy_raise_msg(mps_err err, const char *msg);

/* ---- convert.c ---- */

/*
 * A value converted for the library. The mps_value may point into objects
 * `keep` holds (a str's UTF-8 buffer, an encoded bytes object): release with
 * mpspy_arg_fini once the library has copied or used it.
 */
typedef struct mpspy_arg {
	mps_value v;
	PyObject *keep;
} mpspy_arg;

/* obj -> a.v; raw: only None/bool/int/float/str/bytes, as they are (keys);
 * otherwise the value encoding (the Python encoder for the rest). -1 with
 * an exception set on failure. */
int  mpspy_arg_init(mpspy_arg *a, PyObject *obj, int raw);
void mpspy_arg_fini(mpspy_arg *a);

/* mps_value -> a new Python object; ctx goes to the decoder of encoded
 * values (raw: bytes stay bytes). NULL with an exception on failure. */
PyObject *mpspy_from_value(const mps_value *v, PyObject *ctx, int raw);
/* An array of values -> a new list. */
PyObject *mpspy_from_values(const mps_value *v, size_t n, PyObject *ctx, int raw);
/* mps_info -> (name, kind, elem_type, key_type, message_type, length,
 * revision, capacity). */
PyObject *mpspy_from_info(const mps_info *info);

/* Set by module.c from _core.set_codec(encode, decode). */
extern PyObject *mpspy_encoder;
extern PyObject *mpspy_decoder;

/* ---- client.c ---- */

typedef struct mpspy_client {
	PyObject_HEAD
	mps_client *c;
	mps_batch  *b;        /* for synchronous calls; NULL while in use */
	mps_batch  *pending;  /* queued ops while batching */
	int         batching; /* begin() .. end() */
	PyObject   *ctx;      /* handed to the decoder */
	PyObject   *weakrefs;
	unsigned    gen;      /* mpspy_fork_gen when it was opened */
} mpspy_client;

extern PyTypeObject mpspy_ClientType;

/* ---- pending.c ---- */

extern PyTypeObject mpspy_PendingType;
/* Submit op on client; a new _core.Pending, or NULL with an exception. */
PyObject *mpspy_pending_start(mpspy_client *client, const mps_op *op);

/* ---- watch.c ---- */

extern PyTypeObject mpspy_WatcherType;
extern PyTypeObject mpspy_MirrorType;

#endif
