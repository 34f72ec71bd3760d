/*
 * module.c - the mpstore._core module: types, the Error exception, the
 * NOVAL marker, the codec hooks and libmpstore's constants (op codes,
 * kinds, types, flags, change types, error codes), so the Python code
 * never repeats a number from mpstore.h.
 */
#include "core.h"

#include <pthread.h>

PyObject         *mpspy_Error;
volatile unsigned mpspy_fork_gen;

static void
atfork_child(void)
{
	mpspy_fork_gen++;
}
PyObject *mpspy_NOVAL;

PyObject *
mpspy_raise_msg(mps_err err, const char *msg)
{
	PyObject *args = Py_BuildValue("(is)", (int) err, msg && msg[0] ? msg : mps_strerror(err));
	if (args != NULL) {
		PyErr_SetObject(mpspy_Error, args);
		Py_DECREF(args);
	}
	return NULL;
}

PyObject *
mpspy_raise(mps_err err)
{
	return mpspy_raise_msg(err, mps_last_error());
}

static PyObject *
mod_set_codec(PyObject *mod, PyObject *args)
{
	PyObject *enc, *dec;
	if (!PyArg_ParseTuple(args, "OO", &enc, &dec))
		return NULL;
	if (!PyCallable_Check(enc) || !PyCallable_Check(dec)) {
		PyErr_SetString(PyExc_TypeError, "set_codec(encode, decode) takes callables");
		return NULL;
	}
	Py_INCREF(enc);
	Py_INCREF(dec);
	Py_XSETREF(mpspy_encoder, enc);
	Py_XSETREF(mpspy_decoder, dec);
	Py_RETURN_NONE;
}

static PyObject *
mod_strerror(PyObject *mod, PyObject *arg)
{
	long code = PyLong_AsLong(arg);
	if (code == -1 && PyErr_Occurred())
		return NULL;
	return PyUnicode_FromString(mps_strerror((int) code));
}

static PyObject *
mod_err_name(PyObject *mod, PyObject *arg)
{
	long code = PyLong_AsLong(arg);
	if (code == -1 && PyErr_Occurred())
		return NULL;
	return PyUnicode_FromString(mps_err_name((int) code));
}

static PyObject *
mod_change_name(PyObject *mod, PyObject *arg)
{
	long t = PyLong_AsLong(arg);
	if (t == -1 && PyErr_Occurred())
		return NULL;
	return PyUnicode_FromString(mps_change_type_name((int) t));
}

static PyObject *
mod_kind_name(PyObject *mod, PyObject *arg)
{
	long t = PyLong_AsLong(arg);
	if (t == -1 && PyErr_Occurred())
		return NULL;
	return PyUnicode_FromString(mps_kind_name((int) t));
}

static PyMethodDef mod_methods[] = {
	{"set_codec", mod_set_codec, METH_VARARGS,
	    "set_codec(encode, decode): encode(obj) -> bytes or (bytes,) for a message; "
	    "decode(data, ctx) -> obj for bytes beginning with MAGIC"},
	{"strerror", mod_strerror, METH_O, "mps_strerror"},
	{"err_name", mod_err_name, METH_O, "mps_err_name"},
	{"change_name", mod_change_name, METH_O, "mps_change_type_name"},
	{"kind_name", mod_kind_name, METH_O, "mps_kind_name"},
	{NULL},
};

static struct PyModuleDef mod_def = {
	PyModuleDef_HEAD_INIT,
	.m_name    = "mpstore._core",
	.m_doc     = "libmpstore for Python (the C half of the mpstore package)",
	.m_size    = -1,
	.m_methods = mod_methods,
};

#define C(name) {#name, MPS_##name}
static const struct {
	const char *name;
	long        value;
} constants[] = {
	/* op codes */
	C(OP_HELLO), C(OP_PING), C(OP_CREATE), C(OP_DELETE), C(OP_LIST_CONTAINERS), C(OP_INFO),
	C(OP_DUMP), C(OP_STATS), C(OP_VALUE_GET), C(OP_VALUE_SET), C(OP_VALUE_ADD),
	C(OP_VALUE_CAS), C(OP_LIST_APPEND), C(OP_LIST_EXTEND), C(OP_LIST_INSERT), C(OP_LIST_GET),
	C(OP_LIST_SLICE), C(OP_LIST_SET), C(OP_LIST_POP), C(OP_LIST_REMOVE), C(OP_LIST_INDEX),
	C(OP_LIST_LEN), C(OP_LIST_CLEAR), C(OP_DICT_SET), C(OP_DICT_GET), C(OP_DICT_DEL),
	C(OP_DICT_CONTAINS), C(OP_DICT_LEN), C(OP_DICT_KEYS), C(OP_DICT_VALUES), C(OP_DICT_ITEMS),
	C(OP_DICT_UPDATE), C(OP_DICT_SETDEFAULT), C(OP_DICT_POP), C(OP_DICT_CLEAR),
	C(OP_QUEUE_PUT), C(OP_QUEUE_GET), C(OP_QUEUE_SIZE), C(OP_QUEUE_EMPTY), C(OP_QUEUE_FULL),
	C(OP_QUEUE_TASK_DONE), C(OP_QUEUE_JOIN), C(OP_LOCK_ACQUIRE), C(OP_LOCK_RELEASE),
	C(OP_LOCK_LOCKED), C(OP_SEM_ACQUIRE), C(OP_SEM_RELEASE), C(OP_SEM_VALUE), C(OP_EVENT_SET),
	C(OP_EVENT_CLEAR), C(OP_EVENT_IS_SET), C(OP_EVENT_WAIT), C(OP_COND_WAIT),
	C(OP_COND_NOTIFY), C(OP_COND_NOTIFY_ALL), C(OP_BARRIER_WAIT), C(OP_BARRIER_ABORT),
	C(OP_BARRIER_RESET), C(OP_BARRIER_INFO),
	/* op flags */
	C(FLAG_HAS_STOP), C(FLAG_HAS_INDEX), C(FLAG_HAS_DEFAULT), C(FLAG_PREFIX),
	/* kinds, element and key types */
	C(KIND_NONE), C(KIND_VALUE), C(KIND_LIST), C(KIND_DICT), C(KIND_QUEUE), C(KIND_LOCK),
	C(KIND_RLOCK), C(KIND_SEMAPHORE), C(KIND_BOUNDED_SEMAPHORE), C(KIND_EVENT),
	C(KIND_CONDITION), C(KIND_BARRIER), C(KIND_ARRAY), C(KIND_NAMESPACE), C(TYPE_ANY),
	C(TYPE_INT64), C(TYPE_DOUBLE), C(TYPE_BOOL), C(TYPE_STRING), C(TYPE_BYTES),
	C(TYPE_MESSAGE), C(KEY_STRING), C(KEY_INT64),
	/* transactions */
	C(TARGET_VALUE), C(TARGET_REVISION), C(TARGET_LENGTH), C(TARGET_DICT_ENTRY),
	C(TARGET_EXISTS), C(CMP_EQ), C(CMP_NE), C(CMP_LT), C(CMP_LE), C(CMP_GT), C(CMP_GE),
	/* watching */
	C(CH_CREATE), C(CH_DELETE), C(CH_CLEAR), C(CH_SET), C(CH_LIST_INSERT), C(CH_LIST_SET),
	C(CH_LIST_DELETE), C(CH_DICT_SET), C(CH_DICT_DELETE), C(CH_QUEUE_PUT), C(CH_QUEUE_GET),
	C(CH_STATE), C(CH_RESYNC), C(WATCH_CHANGE), C(WATCH_CREATED), C(WATCH_DELETED),
	C(WATCH_RESYNC), C(WATCH_PROGRESS), C(WATCH_F_RESYNC_FIRST), C(WATCH_F_PROGRESS),
	C(WATCH_F_NO_AUDIT),
};
#undef C

PyMODINIT_FUNC
PyInit__core(void)
{
	PyObject *m = PyModule_Create(&mod_def);
	if (m == NULL)
		return NULL;
	static int atfork_done;
	if (!atfork_done && pthread_atfork(NULL, NULL, atfork_child) == 0)
		atfork_done = 1;
	if (PyType_Ready(&mpspy_ClientType) < 0 || PyType_Ready(&mpspy_WatcherType) < 0 ||
	    PyType_Ready(&mpspy_MirrorType) < 0 || PyType_Ready(&mpspy_PendingType) < 0)
		goto fail;
	if (PyModule_AddObjectRef(m, "Client", (PyObject *) &mpspy_ClientType) < 0 ||
	    PyModule_AddObjectRef(m, "Watcher", (PyObject *) &mpspy_WatcherType) < 0 ||
	    PyModule_AddObjectRef(m, "Mirror", (PyObject *) &mpspy_MirrorType) < 0)
		goto fail;
	if (mpspy_Error == NULL) {
		mpspy_Error = PyErr_NewExceptionWithDoc("mpstore._core.Error",
		    "Error(code, message): a failure reported by libmpstore", NULL, NULL);
		if (mpspy_Error == NULL)
			goto fail;
	}
	if (PyModule_AddObjectRef(m, "Error", mpspy_Error) < 0)
		goto fail;
	if (mpspy_NOVAL == NULL) {
		/* any unique object will do; a named one reads well in tracebacks */
		mpspy_NOVAL = PyObject_CallNoArgs((PyObject *) &PyBaseObject_Type);
		if (mpspy_NOVAL == NULL)
			goto fail;
	}
	if (PyModule_AddObjectRef(m, "NOVAL", mpspy_NOVAL) < 0)
		goto fail;
	PyObject *magic = PyBytes_FromStringAndSize(MPSPY_MAGIC, MPSPY_MAGIC_LEN);
	int       rc    = magic ? PyModule_AddObjectRef(m, "MAGIC", magic) : -1;
	Py_XDECREF(magic);
	if (rc < 0)
		goto fail;
	for (size_t i = 0; i < sizeof(constants) / sizeof(constants[0]); i++) {
		if (PyModule_AddIntConstant(m, constants[i].name, constants[i].value) < 0)
			goto fail;
	}
#define ERRCONST(name, code, msg)                                                                 \
	if (PyModule_AddIntConstant(m, #name, code) < 0)                                           \
		goto fail;
	MPS_ERRORS(ERRCONST)
#undef ERRCONST
	if (PyModule_AddStringConstant(m, "LIB_VERSION", MPS_VERSION_STRING) < 0)
		goto fail;
	return m;
fail:
	Py_DECREF(m);
	return NULL;
}
