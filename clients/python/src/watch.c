/*
 * watch.c - _core.Watcher (mps_watch, pull form) and _core.Mirror
 * (mps_mirror): docs/watch.md has the delivery promise both rest on.
 *
 * Mirror's methods are underscored (_len, _items, ...): mpstore._watch
 * subclasses it with the Python API; m[key] is read here, in C.
 *
 * Both keep a reference to the Client they were opened on (libmpstore
 * needs it to outlive them) and decode values with that Client's ctx.
 * A forked child abandons the ones it inherits (their thread is the
 * parent's). A Watcher is pulled by one thread at a time (a second one gets
 * RuntimeError); Mirror reads take the mirror's own lock only, never the
 * daemon, so they keep the GIL.
 */
#include "core.h"

#include <string.h>

/* ---- Watcher ---- */

typedef struct mpspy_watcher {
	PyObject_HEAD
	mps_watcher  *w;
	mpspy_client *client;
	int           busy;
	unsigned      gen;
} mpspy_watcher;

static int
watcher_init(mpspy_watcher *self, PyObject *args, PyObject *kw)
{
	static char  *kwlist[] = {"client", "what", "pub_url", "from_revision", "flags", NULL};
	mpspy_client *client;
	const char   *what, *pub = NULL;
	unsigned long long from  = 0;
	unsigned int  flags      = 0;
	if (!PyArg_ParseTupleAndKeywords(args, kw, "O!s|zKI", kwlist, &mpspy_ClientType, &client,
	        &what, &pub, &from, &flags))
		return -1;
	if (self->w != NULL || client->c == NULL) {
		mpspy_raise_msg(MPS_ERR_INVALID, "watcher already open, or client closed");
		return -1;
	}
	mps_watch_opts o = {.pub_url = pub, .from_revision = from, .flags = flags};
	mps_watcher   *w = NULL;
	mps_err        e;
	Py_BEGIN_ALLOW_THREADS
	e = mps_watch(client->c, what, &o, &w);
	Py_END_ALLOW_THREADS
	if (e != MPS_OK) {
		mpspy_raise(e);
		return -1;
	}
	self->w   = w;
	self->gen = mpspy_fork_gen;
	Py_INCREF(client);
	Py_XSETREF(self->client, client);
	return 0;
}

static PyObject *
event_tuple(const mps_watch_event *ev, PyObject *ctx)
{
	PyObject *value = NULL, *keys = NULL, *values = NULL, *info = NULL;
	if ((value = mpspy_from_value(&ev->value, ctx, 0)) == NULL)
		goto fail;
	keys = ev->nkeys ? mpspy_from_values(ev->keys, ev->nkeys, ctx, 1) : Py_NewRef(Py_None);
	if (keys == NULL)
		goto fail;
	values = ev->nvalues || ev->values ? mpspy_from_values(ev->values, ev->nvalues, ctx, 0)
	                                   : Py_NewRef(Py_None);
	if (values == NULL)
		goto fail;
	info = ev->has_info ? mpspy_from_info(&ev->info) : Py_NewRef(Py_None);
	if (info == NULL)
		goto fail;
	return Py_BuildValue("(iKsiiLLNNNNnni)", (int) ev->type, (unsigned long long) ev->revision,
	    ev->name ? ev->name : "", (int) ev->kind, (int) ev->change, (long long) ev->index,
	    (long long) ev->count, value, keys, values, info, (Py_ssize_t) ev->resync_index,
	    (Py_ssize_t) ev->resync_count, ev->recovered);
fail:
	Py_XDECREF(value);
	Py_XDECREF(keys);
	Py_XDECREF(values);
	return NULL;
}

static int
watcher_check(mpspy_watcher *self)
{
	if (self->w == NULL) {
		mpspy_raise_msg(MPS_ERR_CLOSED, "the watch is closed");
		return -1;
	}
	if (self->gen != mpspy_fork_gen) {
		mpspy_raise_msg(MPS_ERR_INVALID, "a watch belongs to the process that opened it");
		return -1;
	}
	if (self->busy) {
		PyErr_SetString(PyExc_RuntimeError, "another thread is reading this watch");
		return -1;
	}
	return 0;
}

/* next(timeout_ms) -> event tuple, or None when none came in time. */
static PyObject *
watcher_next(mpspy_watcher *self, PyObject *arg)
{
	int timeout = (int) PyLong_AsLong(arg);
	if ((timeout == -1 && PyErr_Occurred()) || watcher_check(self) < 0)
		return NULL;
	const mps_watch_event *ev = NULL;
	mps_err                e;
	self->busy = 1;
	Py_BEGIN_ALLOW_THREADS
	e = mps_watch_next(self->w, &ev, timeout);
	Py_END_ALLOW_THREADS
	self->busy = 0;
	if (e == MPS_ERR_TIMEOUT)
		Py_RETURN_NONE;
	if (e != MPS_OK)
		return mpspy_raise(e);
	return event_tuple(ev, self->client->ctx);
}

static PyObject *
watcher_revision(mpspy_watcher *self, PyObject *unused)
{
	if (self->w == NULL)
		return mpspy_raise_msg(MPS_ERR_CLOSED, "the watch is closed");
	return PyLong_FromUnsignedLongLong(mps_watch_revision(self->w));
}

static PyObject *
watcher_stats(mpspy_watcher *self, PyObject *unused)
{
	if (self->w == NULL)
		return mpspy_raise_msg(MPS_ERR_CLOSED, "the watch is closed");
	mps_watch_stats s;
	mps_watch_stats_get(self->w, &s);
	return Py_BuildValue("{s:K,s:K,s:K,s:K,s:K,s:K,s:K,s:K,s:K,s:i}", "notifications",
	    (unsigned long long) s.notifications, "heartbeats", (unsigned long long) s.heartbeats,
	    "delivered", (unsigned long long) s.delivered, "gaps", (unsigned long long) s.gaps,
	    "catchups", (unsigned long long) s.catchups, "lost", (unsigned long long) s.lost,
	    "duplicates", (unsigned long long) s.duplicates, "resyncs",
	    (unsigned long long) s.resyncs, "audit_holes", (unsigned long long) s.audit_holes,
	    "last_error", s.last_error);
}

static void
watcher_free_handle(mpspy_watcher *self)
{
	mps_watcher *w = self->w;
	self->w        = NULL;
	if (w != NULL && self->gen == mpspy_fork_gen) {
		Py_BEGIN_ALLOW_THREADS
		mps_unwatch(w);
		Py_END_ALLOW_THREADS
	}
}

static PyObject *
watcher_close(mpspy_watcher *self, PyObject *unused)
{
	if (self->busy) {
		PyErr_SetString(PyExc_RuntimeError, "another thread is reading this watch");
		return NULL;
	}
	watcher_free_handle(self);
	Py_RETURN_NONE;
}

static void
watcher_dealloc(mpspy_watcher *self)
{
	watcher_free_handle(self);
	Py_CLEAR(self->client);
	Py_TYPE(self)->tp_free((PyObject *) self);
}

static PyMethodDef watcher_methods[] = {
	{"next", (PyCFunction) watcher_next, METH_O,
	    "next(timeout_ms) -> event tuple or None (timeout)"},
	{"revision", (PyCFunction) watcher_revision, METH_NOARGS, "delivered up to this revision"},
	{"stats", (PyCFunction) watcher_stats, METH_NOARGS, "the watch's counters"},
	{"close", (PyCFunction) watcher_close, METH_NOARGS, "stop watching"},
	{NULL},
};

PyTypeObject mpspy_WatcherType = {
	PyVarObject_HEAD_INIT(NULL, 0)
	.tp_name      = "mpstore._core.Watcher",
	.tp_basicsize = sizeof(mpspy_watcher),
	.tp_flags     = Py_TPFLAGS_DEFAULT,
	.tp_doc       = "Watcher(client, what, pub_url=None, from_revision=0, flags=0)",
	.tp_new       = PyType_GenericNew,
	.tp_init      = (initproc) watcher_init,
	.tp_dealloc   = (destructor) watcher_dealloc,
	.tp_methods   = watcher_methods,
};

/* ---- Mirror ---- */

typedef struct mpspy_mirror {
	PyObject_HEAD
	mps_mirror   *m;
	mpspy_client *client;
	PyObject     *enc; /* a dict key that is not a plain str -> its stored str */
	unsigned      gen;
} mpspy_mirror;

static int
mirror_init(mpspy_mirror *self, PyObject *args, PyObject *kw)
{
	static char  *kwlist[] = {"client", "name", "pub_url", "timeout_ms", "enc", NULL};
	mpspy_client *client;
	const char   *name, *pub = NULL;
	int           timeout = 0;
	PyObject     *enc     = Py_None;
	if (!PyArg_ParseTupleAndKeywords(args, kw, "O!s|ziO", kwlist, &mpspy_ClientType, &client,
	        &name, &pub, &timeout, &enc))
		return -1;
	if (self->m != NULL || client->c == NULL) {
		mpspy_raise_msg(MPS_ERR_INVALID, "mirror already open, or client closed");
		return -1;
	}
	mps_watch_opts o = {.pub_url = pub};
	mps_mirror    *m = NULL;
	mps_err        e;
	Py_BEGIN_ALLOW_THREADS
	e = mps_mirror_open(client->c, name, &o, timeout, &m);
	Py_END_ALLOW_THREADS
	if (e != MPS_OK) {
		mpspy_raise(e);
		return -1;
	}
	self->m   = m;
	self->gen = mpspy_fork_gen;
	Py_INCREF(client);
	Py_XSETREF(self->client, client);
	if (enc != Py_None) {
		Py_INCREF(enc);
		Py_XSETREF(self->enc, enc);
	}
	return 0;
}

#define MIRROR_OPEN(self)                                                                         \
	do {                                                                                      \
		if ((self)->m == NULL)                                                            \
			return mpspy_raise_msg(MPS_ERR_CLOSED, "the mirror is closed");           \
		if ((self)->gen != mpspy_fork_gen)                                                      \
			return mpspy_raise_msg(MPS_ERR_INVALID,                                   \
			    "a mirror belongs to the process that opened it");                    \
	} while (0)

/* An owned value from the mirror -> Python (freed here). */
static PyObject *
owned(mpspy_mirror *self, mps_err e, mps_value *v)
{
	if (e != MPS_OK)
		return mpspy_raise(e);
	PyObject *o = mpspy_from_value(v, self->client->ctx, 0);
	mps_value_free(v);
	return o;
}

static PyObject *
mirror_revision(mpspy_mirror *self, PyObject *unused)
{
	MIRROR_OPEN(self);
	return PyLong_FromUnsignedLongLong(mps_mirror_revision(self->m));
}

static PyObject *
mirror_kind(mpspy_mirror *self, PyObject *unused)
{
	MIRROR_OPEN(self);
	return PyLong_FromLong((long) mps_mirror_kind(self->m));
}

static PyObject *
mirror_len(mpspy_mirror *self, PyObject *unused)
{
	MIRROR_OPEN(self);
	return PyLong_FromLongLong(mps_mirror_len(self->m));
}

static PyObject *
mirror_get(mpspy_mirror *self, PyObject *arg)
{
	MIRROR_OPEN(self);
	long long i = PyLong_AsLongLong(arg);
	if (i == -1 && PyErr_Occurred())
		return NULL;
	mps_value v = mps_null();
	return owned(self, mps_mirror_get(self->m, i, &v), &v);
}

static PyObject *
mirror_dict_get(mpspy_mirror *self, PyObject *arg)
{
	MIRROR_OPEN(self);
	mpspy_arg k;
	if (mpspy_arg_init(&k, arg, 1) < 0)
		return NULL;
	mps_value v = mps_null();
	mps_err   e = mps_mirror_dict_get(self->m, &k.v, &v);
	mpspy_arg_fini(&k);
	return owned(self, e, &v);
}

static PyObject *
mirror_value(mpspy_mirror *self, PyObject *unused)
{
	MIRROR_OPEN(self);
	mps_value v = mps_null();
	return owned(self, mps_mirror_value(self->m, &v), &v);
}

/* items() -> (keys or None, values, revision), all at one revision. */
static PyObject *
mirror_items(mpspy_mirror *self, PyObject *unused)
{
	MIRROR_OPEN(self);
	mps_value *keys = NULL, *vals = NULL;
	size_t     n    = 0;
	uint64_t   rev  = 0;
	mps_err    e;
	Py_BEGIN_ALLOW_THREADS
	e = mps_mirror_items(self->m, &keys, &vals, &n, &rev);
	Py_END_ALLOW_THREADS
	if (e != MPS_OK)
		return mpspy_raise(e);
	PyObject *pk = keys ? mpspy_from_values(keys, n, self->client->ctx, 1) : Py_NewRef(Py_None);
	PyObject *pv = pk ? mpspy_from_values(vals, n, self->client->ctx, 0) : NULL;
	mps_values_free(keys, keys ? n : 0);
	mps_values_free(vals, n);
	if (pv == NULL) {
		Py_XDECREF(pk);
		return NULL;
	}
	return Py_BuildValue("(NNK)", pk, pv, (unsigned long long) rev);
}

/* wait_revision(rev, timeout_ms) -> True, or False on timeout. */
static PyObject *
mirror_wait_revision(mpspy_mirror *self, PyObject *args)
{
	unsigned long long rev;
	int                timeout;
	if (!PyArg_ParseTuple(args, "Ki", &rev, &timeout))
		return NULL;
	MIRROR_OPEN(self);
	mps_err e;
	Py_BEGIN_ALLOW_THREADS
	e = mps_mirror_wait_revision(self->m, rev, timeout);
	Py_END_ALLOW_THREADS
	if (e == MPS_ERR_TIMEOUT)
		Py_RETURN_FALSE;
	if (e != MPS_OK)
		return mpspy_raise(e);
	Py_RETURN_TRUE;
}

/*
 * m[key]: a dict's entry (key as the proxy stores it: a str without a
 * leading U+001F or a NUL as it is, anything else through enc) or a list's
 * element; KeyError / IndexError as Python's. In C: this is the read that
 * must cost next to nothing.
 */
static PyObject *
mirror_subscript(mpspy_mirror *self, PyObject *key)
{
	MIRROR_OPEN(self);
	mps_kind kind = mps_mirror_kind(self->m);
	if (kind != MPS_KIND_DICT && kind != MPS_KIND_NAMESPACE) {
		long long i = PyLong_AsLongLong(key);
		if (i == -1 && PyErr_Occurred())
			return NULL;
		mps_value v = mps_null();
		mps_err   e = mps_mirror_get(self->m, i, &v);
		if (e == MPS_ERR_INDEX) {
			PyErr_SetString(PyExc_IndexError, "list index out of range");
			return NULL;
		}
		return owned(self, e, &v);
	}
	PyObject *stored = key;
	Py_INCREF(stored);
	if (self->enc != NULL) {
		Py_ssize_t  n;
		const char *s = PyUnicode_CheckExact(key) ? PyUnicode_AsUTF8AndSize(key, &n) : NULL;
		if (s == NULL || (n > 0 && s[0] == 0x1f) || memchr(s, 0, (size_t) n) != NULL) {
			PyErr_Clear();
			Py_SETREF(stored, PyObject_CallOneArg(self->enc, key));
			if (stored == NULL)
				return NULL;
		}
	}
	mpspy_arg k;
	if (mpspy_arg_init(&k, stored, 1) < 0) {
		Py_DECREF(stored);
		return NULL;
	}
	mps_value v = mps_null();
	mps_err   e = mps_mirror_dict_get(self->m, &k.v, &v);
	mpspy_arg_fini(&k);
	Py_DECREF(stored);
	if (e == MPS_ERR_NO_KEY || e == MPS_ERR_WRONG_TYPE) {
		PyErr_SetObject(PyExc_KeyError, key);
		return NULL;
	}
	return owned(self, e, &v);
}

static PyMappingMethods mirror_mapping = {
	.mp_subscript = (binaryfunc) mirror_subscript,
};

static void
mirror_free_handle(mpspy_mirror *self)
{
	mps_mirror *m = self->m;
	self->m       = NULL;
	if (m != NULL && self->gen == mpspy_fork_gen) {
		Py_BEGIN_ALLOW_THREADS
		mps_mirror_close(m);
		Py_END_ALLOW_THREADS
	}
}

static PyObject *
mirror_close(mpspy_mirror *self, PyObject *unused)
{
	mirror_free_handle(self);
	Py_RETURN_NONE;
}

static void
mirror_dealloc(mpspy_mirror *self)
{
	mirror_free_handle(self);
	Py_CLEAR(self->client);
	Py_CLEAR(self->enc);
	Py_TYPE(self)->tp_free((PyObject *) self);
}

static PyMethodDef mirror_methods[] = {
	{"_revision", (PyCFunction) mirror_revision, METH_NOARGS, "revision of the copy"},
	{"_kind", (PyCFunction) mirror_kind, METH_NOARGS, "container kind (0: none yet)"},
	{"_len", (PyCFunction) mirror_len, METH_NOARGS, "element count"},
	{"_get", (PyCFunction) mirror_get, METH_O, "element at an index"},
	{"_dict_get", (PyCFunction) mirror_dict_get, METH_O, "dict entry (raw key)"},
	{"_value", (PyCFunction) mirror_value, METH_NOARGS, "a value container's value"},
	{"_items", (PyCFunction) mirror_items, METH_NOARGS, "(keys or None, values, revision)"},
	{"_wait_revision", (PyCFunction) mirror_wait_revision, METH_VARARGS,
	    "_wait_revision(rev, timeout_ms) -> bool"},
	{"_close", (PyCFunction) mirror_close, METH_NOARGS, "stop mirroring"},
	{NULL},
};

PyTypeObject mpspy_MirrorType = {
	PyVarObject_HEAD_INIT(NULL, 0)
	.tp_name       = "mpstore._core.Mirror",
	.tp_basicsize  = sizeof(mpspy_mirror),
	.tp_flags      = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE,
	.tp_doc        = "Mirror(client, name, pub_url=None, timeout_ms=0, enc=None)",
	.tp_as_mapping = &mirror_mapping,
	.tp_new       = PyType_GenericNew,
	.tp_init      = (initproc) mirror_init,
	.tp_dealloc   = (destructor) mirror_dealloc,
	.tp_methods   = mirror_methods,
};
