/*
 * client.c - _core.Client: one libmpstore handle (one daemon session).
 *
 * The Python package opens one Client per thread and per process (locks
 * belong to a session, and Python's locks to a thread), so a Client is
 * normally used by one thread; it is still safe to share: a call that finds
 * the Client's batch busy allocates its own.
 *
 *   op(code, name, value, index, count, flags, timeout_ms, key, values, keys)
 *       one op now (trailing arguments optional); returns (value, count, flag, revision, token) or raises
 *       _core.Error(code, message)
 *   send(...same...)      one op whose result is not needed: queued while
 *                          batching, else run now
 *   start(...same...)     one op sent now, a _core.Pending to wait on
 *   run(ops, compares=None, else_ops=None, raw=False)
 *       a batch (or, with compares, a transaction); returns
 *       ([result, ...], revision, succeeded), result = (status, error, value,
 *       values, keys, count, flag, revision, token, next, info, containers);
 *       raises only for request-level failures
 *   begin() / flush() / end()   batching: send() queues until flush or end
 *
 * Op tuples for run(): (code, name, value=NOVAL, index=0, count=0, flags=0,
 * timeout_ms=0, key=NOVAL, values=None, keys=None, stop=0, expected=NOVAL,
 * kind=0, elem_type=0, key_type=0, message_type=None). Keys are raw (str or
 * int); values go through the value encoding (convert.c).
 */
#include "core.h"

#include <string.h>

#define MPSPY_AUTOFLUSH 1000 /* queued ops sent at once while batching */

/* ---- building ops ---- */

typedef struct opbuf {
	mps_op     op;
	mpspy_arg  value, key, expected;
	mpspy_arg *vals, *keys;
	mps_value *vv, *kv;
	size_t     nvals, nkeys;
} opbuf;

static void
opbuf_fini(opbuf *o)
{
	mpspy_arg_fini(&o->value);
	mpspy_arg_fini(&o->key);
	mpspy_arg_fini(&o->expected);
	for (size_t i = 0; i < o->nvals; i++)
		mpspy_arg_fini(&o->vals[i]);
	for (size_t i = 0; i < o->nkeys; i++)
		mpspy_arg_fini(&o->keys[i]);
	PyMem_Free(o->vals);
	PyMem_Free(o->keys);
	PyMem_Free(o->vv);
	PyMem_Free(o->kv);
	memset(o, 0, sizeof(*o));
}

static int
set_arg(mpspy_arg *a, mps_value *dst, PyObject *obj, int raw)
{
	if (obj == NULL || obj == mpspy_NOVAL) {
		return 0;
	}
	if (mpspy_arg_init(a, obj, raw) < 0) {
		return -1;
	}
	*dst = a->v;
	return 0;
}

/* A sequence -> arrays of args and values; *n gets the length. */
static int
set_array(PyObject *seq, mpspy_arg **args, mps_value **vals, size_t *n, int raw)
{
	if (seq == NULL || seq == Py_None) {
		return 0;
	}
	PyObject *fast = PySequence_Fast(seq, "values must be a sequence");
	if (fast == NULL) {
		return -1;
	}
	Py_ssize_t len = PySequence_Fast_GET_SIZE(fast);
	*args          = PyMem_Calloc((size_t) len + 1, sizeof(**args));
	*vals          = PyMem_Calloc((size_t) len + 1, sizeof(**vals));
	if (*args == NULL || *vals == NULL) {
		Py_DECREF(fast);
		PyErr_NoMemory();
		return -1;
	}
	for (Py_ssize_t i = 0; i < len; i++) {
		if (mpspy_arg_init(&(*args)[i], PySequence_Fast_GET_ITEM(fast, i), raw) < 0) {
			Py_DECREF(fast);
			return -1;
		}
		(*vals)[i] = (*args)[i].v;
		*n         = (size_t) i + 1;
	}
	Py_DECREF(fast);
	return 0;
}

/* values and keys (sequences or NULL/None) into o's arrays and op. */
static int
opbuf_set_arrays(opbuf *o, PyObject *values, PyObject *keys)
{
	if (set_array(values, &o->vals, &o->vv, &o->nvals, 0) < 0 ||
	    set_array(keys, &o->keys, &o->kv, &o->nkeys, 1) < 0)
		return -1;
	o->op.values  = o->vv;
	o->op.nvalues = o->nvals;
	o->op.keys    = o->kv;
	o->op.nkeys   = o->nkeys;
	return 0;
}

/* The common part of op() and send(): positional fastcall arguments. */
static int
opbuf_from_args(opbuf *o, PyObject *const *args, Py_ssize_t nargs)
{
	memset(o, 0, sizeof(*o));
	if (nargs < 2 || nargs > 10) {
		PyErr_SetString(PyExc_TypeError,
		    "op(code, name, value, index, count, flags, timeout_ms, key, values, keys)");
		return -1;
	}
	o->op.code = (mps_opcode) PyLong_AsLong(args[0]);
	o->op.name = PyUnicode_AsUTF8(args[1]);
	if (PyErr_Occurred()) {
		return -1;
	}
	if (nargs > 2 && args[2] != mpspy_NOVAL) {
		if (set_arg(&o->value, &o->op.value, args[2], 0) < 0)
			return -1;
		o->op.send_null = args[2] == Py_None;
	}
	if (nargs > 3)
		o->op.index = PyLong_AsLongLong(args[3]);
	if (nargs > 4)
		o->op.count = PyLong_AsLongLong(args[4]);
	if (nargs > 5)
		o->op.flags = (uint32_t) PyLong_AsUnsignedLong(args[5]);
	if (nargs > 6)
		o->op.timeout_ms = PyLong_AsLongLong(args[6]);
	if (PyErr_Occurred())
		return -1;
	if (nargs > 7 && set_arg(&o->key, &o->op.key, args[7], 1) < 0)
		return -1;
	return opbuf_set_arrays(o, nargs > 8 ? args[8] : NULL, nargs > 9 ? args[9] : NULL);
}

static int
opbuf_from_tuple(opbuf *o, PyObject *t)
{
	memset(o, 0, sizeof(*o));
	int         code = 0, kind = 0, elem_type = 0, key_type = 0;
	const char *name = NULL, *message_type = NULL;
	PyObject   *value = NULL, *key = NULL, *values = NULL, *keys = NULL, *expected = NULL;
	long long   index = 0, count = 0, timeout_ms = 0, stop = 0;
	unsigned    flags = 0;
	if (!PyTuple_Check(t)) {
		PyErr_SetString(PyExc_TypeError, "an op is a tuple");
		return -1;
	}
	if (!PyArg_ParseTuple(t, "is|OLLILOOOLOiiiz", &code, &name, &value, &index, &count, &flags,
	        &timeout_ms, &key, &values, &keys, &stop, &expected, &kind, &elem_type, &key_type,
	        &message_type)) {
		return -1;
	}
	o->op.code         = (mps_opcode) code;
	o->op.name         = name;
	o->op.index        = index;
	o->op.count        = count;
	o->op.flags        = flags;
	o->op.timeout_ms   = timeout_ms;
	o->op.stop         = stop;
	o->op.kind         = (mps_kind) kind;
	o->op.elem_type    = (mps_elem_type) elem_type;
	o->op.key_type     = (mps_key_type) key_type;
	o->op.message_type = message_type;
	if (set_arg(&o->value, &o->op.value, value, 0) < 0 ||
	    set_arg(&o->key, &o->op.key, key, 1) < 0 ||
	    set_arg(&o->expected, &o->op.expected, expected, 0) < 0) {
		return -1;
	}
	o->op.send_null = value == Py_None;
	return opbuf_set_arrays(o, values, keys);
}

/* ---- the handle ---- */

static int
check_open(mpspy_client *self)
{
	if (self->c == NULL) {
		mpspy_raise_msg(MPS_ERR_CLOSED, "the client is closed");
		return -1;
	}
	if (self->gen != mpspy_fork_gen) {
		/* the package opens a Client per process; an inherited one is the
		 * parent's session */
		mpspy_raise_msg(MPS_ERR_INVALID, "this Client belongs to the process that opened it");
		return -1;
	}
	return 0;
}

/* The Client's batch, or a new one when another thread has it. */
static mps_batch *
take_batch(mpspy_client *self)
{
	mps_batch *b = self->b;
	if (b != NULL) {
		self->b = NULL;
		mps_batch_reset(b);
		return b;
	}
	mps_err e = mps_batch_alloc(self->c, &b);
	if (e != MPS_OK) {
		mpspy_raise(e);
		return NULL;
	}
	return b;
}

static void
give_batch(mpspy_client *self, mps_batch *b)
{
	if (self->b == NULL && self->c != NULL) {
		self->b = b;
	} else {
		mps_batch_free(b);
	}
}

static mps_err
exec_nogil(mps_batch *b)
{
	mps_err e;
	Py_BEGIN_ALLOW_THREADS
	e = mps_batch_exec(b);
	Py_END_ALLOW_THREADS
	return e;
}

/* Send what is queued; raise for the first op that failed (all ran). */
static int
flush_pending(mpspy_client *self)
{
	mps_batch *p = self->pending;
	if (p == NULL || mps_batch_len(p) == 0) {
		return 0;
	}
	self->pending = NULL; /* a re-entrant flush (another thread) finds none */
	mps_err e     = exec_nogil(p);
	int     rc    = 0;
	if (e != MPS_OK) {
		mpspy_raise(e);
		rc = -1;
	}
	for (size_t i = 0; rc == 0 && i < mps_batch_nresults(p); i++) {
		mps_result r;
		if (mps_batch_result(p, i, &r) == MPS_OK && r.status != MPS_OK) {
			char msg[600];
			snprintf(msg, sizeof(msg), "batched op %zu: %s", i,
			    r.error && r.error[0] ? r.error : mps_strerror(r.status));
			mpspy_raise_msg(r.status, msg);
			rc = -1;
		}
	}
	mps_batch_reset(p);
	if (self->pending == NULL) {
		self->pending = p;
	} else {
		mps_batch_free(p);
	}
	return rc;
}

static PyObject *
client_op(mpspy_client *self, PyObject *const *args, Py_ssize_t nargs)
{
	opbuf o;
	if (check_open(self) < 0 || (self->batching && flush_pending(self) < 0)) {
		return NULL;
	}
	if (opbuf_from_args(&o, args, nargs) < 0) {
		opbuf_fini(&o);
		return NULL;
	}
	mps_batch *b = take_batch(self);
	if (b == NULL) {
		opbuf_fini(&o);
		return NULL;
	}
	mps_err e = mps_batch_append(b, &o.op);
	opbuf_fini(&o);
	if (e == MPS_OK) {
		e = exec_nogil(b);
	}
	PyObject  *ret = NULL;
	mps_result r;
	if (e != MPS_OK) {
		mpspy_raise(e);
	} else if ((e = mps_batch_result(b, 0, &r)) != MPS_OK) {
		mpspy_raise_msg(MPS_ERR_PROTOCOL, "no result in the reply");
	} else if (r.status != MPS_OK) {
		mpspy_raise_msg(r.status, r.error && r.error[0] ? r.error : mps_strerror(r.status));
	} else {
		PyObject *v = mpspy_from_value(&r.value, self->ctx, 0);
		if (v != NULL) {
			ret = Py_BuildValue("(NLiKK)", v, (long long) r.count, r.flag,
			    (unsigned long long) r.revision, (unsigned long long) r.token);
		}
	}
	give_batch(self, b);
	return ret;
}

static PyObject *
client_send(mpspy_client *self, PyObject *const *args, Py_ssize_t nargs)
{
	if (!self->batching) {
		PyObject *r = client_op(self, args, nargs);
		if (r == NULL)
			return NULL;
		Py_DECREF(r);
		Py_RETURN_NONE;
	}
	opbuf o;
	if (check_open(self) < 0) {
		return NULL;
	}
	if (self->pending == NULL) {
		mps_err e = mps_batch_alloc(self->c, &self->pending);
		if (e != MPS_OK)
			return mpspy_raise(e);
	}
	if (opbuf_from_args(&o, args, nargs) < 0) {
		opbuf_fini(&o);
		return NULL;
	}
	mps_err e = mps_batch_append(self->pending, &o.op);
	opbuf_fini(&o);
	if (e != MPS_OK) {
		return mpspy_raise(e);
	}
	if (mps_batch_len(self->pending) >= MPSPY_AUTOFLUSH && flush_pending(self) < 0) {
		return NULL;
	}
	Py_RETURN_NONE;
}

static PyObject *
client_start(mpspy_client *self, PyObject *const *args, Py_ssize_t nargs)
{
	opbuf o;
	if (check_open(self) < 0 || (self->batching && flush_pending(self) < 0))
		return NULL;
	if (opbuf_from_args(&o, args, nargs) < 0) {
		opbuf_fini(&o);
		return NULL;
	}
	PyObject *p = mpspy_pending_start(self, &o.op);
	opbuf_fini(&o);
	return p;
}

static PyObject *
result_tuple(mpspy_client *self, const mps_result *r, int raw)
{
	PyObject *value = NULL, *values = NULL, *keys = NULL, *info = NULL, *conts = NULL;
	if ((value = mpspy_from_value(&r->value, self->ctx, raw)) == NULL)
		goto fail;
	if (r->nvalues > 0 || r->values != NULL) {
		if ((values = mpspy_from_values(r->values, r->nvalues, self->ctx, raw)) == NULL)
			goto fail;
	} else {
		values = Py_NewRef(Py_None);
	}
	if (r->nkeys > 0 || r->keys != NULL) {
		if ((keys = mpspy_from_values(r->keys, r->nkeys, self->ctx, 1)) == NULL)
			goto fail;
	} else {
		keys = Py_NewRef(Py_None);
	}
	info = r->has_info ? mpspy_from_info(&r->info) : Py_NewRef(Py_None);
	if (info == NULL)
		goto fail;
	if ((conts = PyList_New((Py_ssize_t) r->ncontainers)) == NULL)
		goto fail;
	for (size_t i = 0; i < r->ncontainers; i++) {
		PyObject *ci = mpspy_from_info(&r->containers[i]);
		if (ci == NULL)
			goto fail;
		PyList_SET_ITEM(conts, (Py_ssize_t) i, ci);
	}
	return Py_BuildValue("(isNNNLiKKLNN)", (int) r->status, r->error ? r->error : "", value,
	    values, keys, (long long) r->count, r->flag, (unsigned long long) r->revision,
	    (unsigned long long) r->token, (long long) r->next, info, conts);
fail:
	Py_XDECREF(value);
	Py_XDECREF(values);
	Py_XDECREF(keys);
	Py_XDECREF(info);
	Py_XDECREF(conts);
	return NULL;
}

/* fn(b, item) for each item of the sequence seq; -1 at the first failure. */
static int
each(mps_batch *b, PyObject *seq, const char *what, int (*fn)(mps_batch *, PyObject *))
{
	PyObject *fast = PySequence_Fast(seq, what);
	if (fast == NULL)
		return -1;
	int rc = 0;
	for (Py_ssize_t i = 0; rc == 0 && i < PySequence_Fast_GET_SIZE(fast); i++)
		rc = fn(b, PySequence_Fast_GET_ITEM(fast, i));
	Py_DECREF(fast);
	return rc;
}

static int
append_op(mps_batch *b, PyObject *t)
{
	opbuf o;
	int   rc = opbuf_from_tuple(&o, t);
	if (rc == 0) {
		mps_err e = mps_batch_append(b, &o.op);
		if (e != MPS_OK) {
			mpspy_raise(e);
			rc = -1;
		}
	}
	opbuf_fini(&o);
	return rc;
}

/* A compare: (name, target, op, key or NOVAL, value). */
static int
add_compare(mps_batch *b, PyObject *t)
{
	const char *name;
	int         target, cmp, rc = -1;
	PyObject   *key, *value;
	mpspy_arg   ka = {0}, va = {0};
	if (!PyArg_ParseTuple(t, "siiOO", &name, &target, &cmp, &key, &value))
		return -1;
	int with_key = key != mpspy_NOVAL;
	if ((!with_key || mpspy_arg_init(&ka, key, 1) == 0) && mpspy_arg_init(&va, value, 0) == 0) {
		mps_err e = mps_txn_compare(b, name, (mps_cmp_target) target, (mps_cmp_op) cmp,
		    with_key ? &ka.v : NULL, &va.v);
		rc = e == MPS_OK ? 0 : (mpspy_raise(e), -1);
	}
	mpspy_arg_fini(&ka);
	mpspy_arg_fini(&va);
	return rc;
}

static PyObject *
client_run(mpspy_client *self, PyObject *args, PyObject *kw)
{
	static char *kwlist[] = {"ops", "compares", "else_ops", "raw", NULL};
	PyObject    *ops, *compares = Py_None, *else_ops = Py_None;
	int          raw = 0;
	if (!PyArg_ParseTupleAndKeywords(args, kw, "O|OOp", kwlist, &ops, &compares, &else_ops, &raw))
		return NULL;
	if (check_open(self) < 0 || (self->batching && flush_pending(self) < 0))
		return NULL;
	mps_batch *b = take_batch(self);
	if (b == NULL)
		return NULL;
	PyObject *ret = NULL, *results = NULL;
	int       txn = compares != Py_None || else_ops != Py_None;
	if ((compares != Py_None && each(b, compares, "compares must be a sequence", add_compare) < 0) ||
	    each(b, ops, "ops must be a sequence", append_op) < 0)
		goto done;
	if (txn) {
		mps_err e = mps_txn_else(b);
		if (e != MPS_OK) {
			mpspy_raise(e);
			goto done;
		}
		if (else_ops != Py_None && each(b, else_ops, "ops must be a sequence", append_op) < 0)
			goto done;
	}
	mps_err e = exec_nogil(b);
	if (e != MPS_OK) {
		mpspy_raise(e);
		goto done;
	}
	size_t n = mps_batch_nresults(b);
	if ((results = PyList_New((Py_ssize_t) n)) == NULL)
		goto done;
	for (size_t i = 0; i < n; i++) {
		mps_result r;
		PyObject  *t;
		if (mps_batch_result(b, i, &r) != MPS_OK || (t = result_tuple(self, &r, raw)) == NULL) {
			if (!PyErr_Occurred())
				mpspy_raise_msg(MPS_ERR_PROTOCOL, "bad result");
			goto done;
		}
		PyList_SET_ITEM(results, (Py_ssize_t) i, t);
	}
	ret = Py_BuildValue("(OKO)", results, (unsigned long long) mps_batch_revision(b),
	    txn ? (mps_txn_succeeded(b) ? Py_True : Py_False) : Py_True);
done:
	Py_XDECREF(results);
	give_batch(self, b);
	return ret;
}

static PyObject *
client_begin(mpspy_client *self, PyObject *unused)
{
	if (check_open(self) < 0)
		return NULL;
	self->batching = 1;
	Py_RETURN_NONE;
}

static PyObject *
client_flush(mpspy_client *self, PyObject *unused)
{
	if (check_open(self) < 0 || flush_pending(self) < 0)
		return NULL;
	Py_RETURN_NONE;
}

static PyObject *
client_end(mpspy_client *self, PyObject *unused)
{
	self->batching = 0;
	if (self->c == NULL)
		Py_RETURN_NONE;
	if (flush_pending(self) < 0)
		return NULL;
	Py_RETURN_NONE;
}

static void
client_free_handle(mpspy_client *self)
{
	mps_batch  *b = self->b, *p = self->pending;
	mps_client *c = self->c;
	self->b = self->pending = NULL;
	self->c                 = NULL;
	self->batching          = 0;
	if (self->gen == mpspy_fork_gen) {
		mps_batch_free(b);
		mps_batch_free(p);
	}
	if (c != NULL) {
		Py_BEGIN_ALLOW_THREADS
		mps_close(c);
		Py_END_ALLOW_THREADS
	}
}

static PyObject *
client_close(mpspy_client *self, PyObject *unused)
{
	client_free_handle(self);
	Py_RETURN_NONE;
}

static PyObject *
client_server(mpspy_client *self, PyObject *unused)
{
	if (check_open(self) < 0)
		return NULL;
	const mps_server_info *s = mps_server(self->c);
	return Py_BuildValue("{s:s,s:L,s:K,s:K,s:K,s:z}", "version", s->version,
	    "protocol_version", (long long) s->protocol_version, "lease_ms",
	    (unsigned long long) s->lease_ms, "revision", (unsigned long long) s->revision,
	    "client_id", (unsigned long long) s->client_id, "pub_url", s->pub_url);
}

static int
client_init(mpspy_client *self, PyObject *args, PyObject *kw)
{
	static char *kwlist[] = {"url", "timeout_ms", "authkey", "ctx", NULL};
	const char  *url      = NULL;
	int          timeout  = 0;
	Py_buffer    key      = {0};
	PyObject    *ctx      = Py_None;
	if (!PyArg_ParseTupleAndKeywords(args, kw, "|ziz*O", kwlist, &url, &timeout, &key, &ctx))
		return -1;
	if (self->c != NULL) {
		PyBuffer_Release(&key);
		PyErr_SetString(PyExc_RuntimeError, "Client already open");
		return -1;
	}
	mps_client *c = NULL;
	mps_err     e;
	Py_BEGIN_ALLOW_THREADS
	if (key.buf != NULL && key.len > 0)
		e = mps_open_auth(&c, url, timeout, key.buf, (size_t) key.len);
	else
		e = mps_open(&c, url, timeout);
	Py_END_ALLOW_THREADS
	PyBuffer_Release(&key);
	if (e != MPS_OK) {
		mpspy_raise(e);
		return -1;
	}
	self->c   = c;
	self->gen = mpspy_fork_gen;
	Py_INCREF(ctx);
	Py_XSETREF(self->ctx, ctx);
	return 0;
}

static void
client_dealloc(mpspy_client *self)
{
	PyObject_GC_UnTrack(self);
	if (self->weakrefs != NULL)
		PyObject_ClearWeakRefs((PyObject *) self);
	client_free_handle(self);
	Py_CLEAR(self->ctx);
	Py_TYPE(self)->tp_free((PyObject *) self);
}

static int
client_traverse(mpspy_client *self, visitproc visit, void *arg)
{
	Py_VISIT(self->ctx);
	return 0;
}

static int
client_clear(mpspy_client *self)
{
	Py_CLEAR(self->ctx);
	return 0;
}

static PyObject *
client_get_ctx(mpspy_client *self, void *unused)
{
	return Py_NewRef(self->ctx ? self->ctx : Py_None);
}

static int
client_set_ctx(mpspy_client *self, PyObject *v, void *unused)
{
	Py_XINCREF(v);
	Py_XSETREF(self->ctx, v);
	return 0;
}

static PyObject *
client_get_batching(mpspy_client *self, void *unused)
{
	return PyBool_FromLong(self->batching);
}

static PyObject *
client_get_closed(mpspy_client *self, void *unused)
{
	return PyBool_FromLong(self->c == NULL);
}

static PyMethodDef client_methods[] = {
	{"op", (PyCFunction) (void (*)(void)) client_op, METH_FASTCALL,
	    "op(code, name, value, index, count, flags, timeout_ms, key, values, keys) -> "
	    "(value, count, flag, revision, token)"},
	{"send", (PyCFunction) (void (*)(void)) client_send, METH_FASTCALL,
	    "like op(), result not needed: queued while batching"},
	{"start", (PyCFunction) (void (*)(void)) client_start, METH_FASTCALL,
	    "like op(), but returns a Pending at once (wait for it with Pending.wait)"},
	{"run", (PyCFunction) (void (*)(void)) client_run, METH_VARARGS | METH_KEYWORDS,
	    "run(ops, compares=None, else_ops=None, raw=False) -> (results, revision, succeeded)"},
	{"begin", (PyCFunction) client_begin, METH_NOARGS, "start queueing send() calls"},
	{"flush", (PyCFunction) client_flush, METH_NOARGS, "send the queued ops"},
	{"end", (PyCFunction) client_end, METH_NOARGS, "flush and stop queueing"},
	{"close", (PyCFunction) client_close, METH_NOARGS, "close the handle (ends the session)"},
	{"server", (PyCFunction) client_server, METH_NOARGS, "what the daemon said in its hello"},
	{NULL},
};

static PyGetSetDef client_getset[] = {
	{"ctx", (getter) client_get_ctx, (setter) client_set_ctx, "passed to the value decoder", NULL},
	{"batching", (getter) client_get_batching, NULL, "between begin() and end()", NULL},
	{"closed", (getter) client_get_closed, NULL, "closed", NULL},
	{NULL},
};

PyTypeObject mpspy_ClientType = {
	PyVarObject_HEAD_INIT(NULL, 0)
	.tp_name           = "mpstore._core.Client",
	.tp_basicsize      = sizeof(mpspy_client),
	.tp_flags          = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE | Py_TPFLAGS_HAVE_GC,
	.tp_doc            = "Client(url=None, timeout_ms=0, authkey=None, ctx=None): one "
	                     "libmpstore handle (a daemon session)",
	.tp_new            = PyType_GenericNew,
	.tp_init           = (initproc) client_init,
	.tp_dealloc        = (destructor) client_dealloc,
	.tp_traverse       = (traverseproc) client_traverse,
	.tp_clear          = (inquiry) client_clear,
	.tp_methods        = client_methods,
	.tp_getset         = client_getset,
	.tp_weaklistoffset = offsetof(mpspy_client, weakrefs),
};
