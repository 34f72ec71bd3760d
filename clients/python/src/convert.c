/*
 * convert.c - Python objects to and from mps_value.
 *
 * The store's scalars carry Python's scalars as they are: None, bool, int
 * (in int64), float, str (without NUL: the wire's strings end at one) and
 * bytes, so other languages read them natively.
 * Everything else (big ints, tuples, lists, dicts, proxies, any picklable
 * object) goes through the Python encoder (mpstore._codec), which returns
 * bytes beginning with MPSPY_MAGIC; bytes that happen to begin with it are
 * escaped by the encoder too, so a stored value decodes unambiguously.
 * docs/python.md, "Values", is the specification.
 */
#include "core.h"

#include <string.h>

PyObject *mpspy_encoder;
PyObject *mpspy_decoder;

static int
has_magic(const char *p, size_t n)
{
	return n >= MPSPY_MAGIC_LEN && memcmp(p, MPSPY_MAGIC, MPSPY_MAGIC_LEN) == 0;
}

/* The Python encoder's answer: bytes (a bytes value) or (bytes,) (a
 * protobuf message for a message-typed container). */
static int
from_encoder(mpspy_arg *a, PyObject *obj)
{
	if (mpspy_encoder == NULL) {
		PyErr_Format(PyExc_TypeError, "cannot store a %.200s (no encoder)",
		    Py_TYPE(obj)->tp_name);
		return -1;
	}
	PyObject *enc = PyObject_CallOneArg(mpspy_encoder, obj);
	if (enc == NULL) {
		return -1;
	}
	int message = 0;
	if (PyTuple_CheckExact(enc) && PyTuple_GET_SIZE(enc) == 1) {
		PyObject *inner = PyTuple_GET_ITEM(enc, 0);
		Py_INCREF(inner);
		Py_DECREF(enc);
		enc     = inner;
		message = 1;
	}
	if (!PyBytes_Check(enc)) {
		PyErr_SetString(PyExc_TypeError, "the value encoder must return bytes");
		Py_DECREF(enc);
		return -1;
	}
	a->keep = enc;
	a->v    = message ? mps_message(PyBytes_AS_STRING(enc), (size_t) PyBytes_GET_SIZE(enc))
	                  : mps_bytes(PyBytes_AS_STRING(enc), (size_t) PyBytes_GET_SIZE(enc));
	return 0;
}

int
mpspy_arg_init(mpspy_arg *a, PyObject *obj, int raw)
{
	a->keep = NULL;
	a->v    = mps_null();
	if (obj == Py_None) {
		return 0;
	}
	if (PyBool_Check(obj)) {
		a->v = mps_bool(obj == Py_True);
		return 0;
	}
	if (PyLong_CheckExact(obj) || (raw && PyLong_Check(obj))) {
		int       overflow;
		long long i = PyLong_AsLongLongAndOverflow(obj, &overflow);
		if (i == -1 && PyErr_Occurred()) {
			return -1;
		}
		if (!overflow) {
			a->v = mps_int(i);
			return 0;
		}
		if (raw) {
			PyErr_SetString(PyExc_OverflowError, "key does not fit in 64 bits");
			return -1;
		}
		return from_encoder(a, obj);
	}
	if (PyFloat_CheckExact(obj) || (raw && PyFloat_Check(obj))) {
		a->v = mps_double(PyFloat_AS_DOUBLE(obj));
		return 0;
	}
	if (PyUnicode_CheckExact(obj) || (raw && PyUnicode_Check(obj))) {
		Py_ssize_t  n;
		const char *s = PyUnicode_AsUTF8AndSize(obj, &n);
		if (s != NULL && memchr(s, 0, (size_t) n) != NULL) {
			/* protobuf-c's strings end at a NUL: such a str is pickled */
			if (raw) {
				PyErr_SetString(PyExc_ValueError, "a raw key cannot contain NUL");
				return -1;
			}
			return from_encoder(a, obj);
		}
		if (s != NULL) {
			Py_INCREF(obj); /* s lives in obj */
			a->keep = obj;
			a->v    = mps_strn(s, (size_t) n);
			return 0;
		}
		if (raw) {
			return -1;
		}
		PyErr_Clear(); /* lone surrogates: not UTF-8, so pickled */
		return from_encoder(a, obj);
	}
	if (PyBytes_CheckExact(obj) || (raw && PyBytes_Check(obj))) {
		const char *p = PyBytes_AS_STRING(obj);
		size_t      n = (size_t) PyBytes_GET_SIZE(obj);
		if (raw || !has_magic(p, n)) {
			Py_INCREF(obj);
			a->keep = obj;
			a->v    = mps_bytes(p, n);
			return 0;
		}
		return from_encoder(a, obj);
	}
	if (raw) {
		PyErr_Format(PyExc_TypeError, "unsupported key type %.200s", Py_TYPE(obj)->tp_name);
		return -1;
	}
	return from_encoder(a, obj);
}

void
mpspy_arg_fini(mpspy_arg *a)
{
	Py_CLEAR(a->keep);
	a->v = mps_null();
}

PyObject *
mpspy_from_value(const mps_value *v, PyObject *ctx, int raw)
{
	switch (v->type) {
	case MPS_NULL:
		Py_RETURN_NONE;
	case MPS_INT:
		return PyLong_FromLongLong(v->u.i);
	case MPS_DOUBLE:
		return PyFloat_FromDouble(v->u.d);
	case MPS_BOOL:
		return PyBool_FromLong(v->u.b);
	case MPS_STRING:
		return PyUnicode_DecodeUTF8(v->u.s.ptr, (Py_ssize_t) v->u.s.len, "surrogateescape");
	case MPS_BYTES: {
		PyObject *b = PyBytes_FromStringAndSize(v->u.s.ptr, (Py_ssize_t) v->u.s.len);
		if (b == NULL || raw || mpspy_decoder == NULL || !has_magic(v->u.s.ptr, v->u.s.len)) {
			return b;
		}
		PyObject *r = PyObject_CallFunctionObjArgs(mpspy_decoder, b, ctx ? ctx : Py_None, NULL);
		Py_DECREF(b);
		return r;
	}
	case MPS_MESSAGE:
		/* the proxy of a message-typed container parses it */
		return PyBytes_FromStringAndSize(v->u.s.ptr, (Py_ssize_t) v->u.s.len);
	}
	PyErr_Format(PyExc_ValueError, "unknown value type %d", (int) v->type);
	return NULL;
}

PyObject *
mpspy_from_values(const mps_value *v, size_t n, PyObject *ctx, int raw)
{
	PyObject *l = PyList_New((Py_ssize_t) n);
	if (l == NULL) {
		return NULL;
	}
	for (size_t i = 0; i < n; i++) {
		PyObject *o = mpspy_from_value(&v[i], ctx, raw);
		if (o == NULL) {
			Py_DECREF(l);
			return NULL;
		}
		PyList_SET_ITEM(l, (Py_ssize_t) i, o);
	}
	return l;
}

PyObject *
mpspy_from_info(const mps_info *info)
{
	return Py_BuildValue("(siiisLKL)", info->name ? info->name : "", (int) info->kind,
	    (int) info->elem_type, (int) info->key_type,
	    info->message_type ? info->message_type : "", (long long) info->length,
	    (unsigned long long) info->revision, (long long) info->capacity);
}
