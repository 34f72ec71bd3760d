/*
 * pending.c - _core.Pending: one op sent asynchronously (mps_batch_submit),
 * waited for in slices so that the Python thread can run signal handlers
 * (Ctrl-C) while the daemon keeps the op parked. Used for waits that cannot
 * be cut into shorter waits (a barrier wait that timed out would break the
 * barrier).
 *
 *   p = client.start(code, name, value, index, count, flags, timeout_ms, key)
 *   p.wait(ms) -> None (not answered yet) or (value, count, flag, revision,
 *                 token); raises _core.Error as Client.op does
 *
 * The Pending owns its batch; freeing it while the op is in flight cancels
 * the client side only (libmpstore's mps_batch_free): whoever abandons a
 * parked op must make the daemon answer it first (e.g. abort the barrier).
 */
#include "core.h"

#include <errno.h>
#include <pthread.h>
#include <time.h>

typedef struct mpspy_pending {
	PyObject_HEAD
	mpspy_client   *client;
	mps_batch      *b;
	pthread_mutex_t mtx;
	pthread_cond_t  cv;
	int             done, inited;
	mps_err         err;
	unsigned        gen;
} mpspy_pending;

static void
pending_cb(mps_batch *b, mps_err err, void *arg)
{
	mpspy_pending *p = arg;
	pthread_mutex_lock(&p->mtx);
	p->err  = err;
	p->done = 1;
	pthread_cond_broadcast(&p->cv);
	pthread_mutex_unlock(&p->mtx);
}

/* Client.start(...): see the header; called from client.c. */
PyObject *
mpspy_pending_start(mpspy_client *client, const mps_op *op)
{
	mpspy_pending *p = PyObject_New(mpspy_pending, &mpspy_PendingType);
	if (p == NULL)
		return NULL;
	p->client = NULL;
	p->b      = NULL;
	p->done   = 0;
	p->err    = MPS_OK;
	p->gen    = mpspy_fork_gen;
	pthread_mutex_init(&p->mtx, NULL);
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&p->cv, &ca);
	pthread_condattr_destroy(&ca);
	p->inited = 1;
	Py_INCREF(client);
	p->client = client;
	mps_err e = mps_batch_alloc(client->c, &p->b);
	if (e == MPS_OK)
		e = mps_batch_append(p->b, op);
	if (e == MPS_OK)
		e = mps_batch_submit(p->b, pending_cb, p);
	if (e != MPS_OK) {
		Py_DECREF(p);
		return mpspy_raise(e);
	}
	return (PyObject *) p;
}

static PyObject *
pending_wait(mpspy_pending *self, PyObject *arg)
{
	long ms = PyLong_AsLong(arg);
	if (ms == -1 && PyErr_Occurred())
		return NULL;
	if (self->b == NULL || self->gen != mpspy_fork_gen)
		return mpspy_raise_msg(MPS_ERR_CLOSED, "nothing pending");
	int done;
	Py_BEGIN_ALLOW_THREADS
	pthread_mutex_lock(&self->mtx);
	if (!self->done && ms != 0) {
		struct timespec ts;
		clock_gettime(CLOCK_MONOTONIC, &ts);
		long long ns = (long long) ts.tv_nsec + (ms < 0 ? 0 : ms % 1000) * 1000000LL;
		ts.tv_sec += (ms < 0 ? 3600 : ms / 1000) + ns / 1000000000LL;
		ts.tv_nsec = (long) (ns % 1000000000LL);
		while (!self->done && pthread_cond_timedwait(&self->cv, &self->mtx, &ts) != ETIMEDOUT)
			;
	}
	done = self->done;
	pthread_mutex_unlock(&self->mtx);
	Py_END_ALLOW_THREADS
	if (!done)
		Py_RETURN_NONE;
	mps_batch_wait(self->b); /* the callback has returned */
	if (self->err != MPS_OK)
		return mpspy_raise_msg(self->err, mps_strerror(self->err));
	mps_result r;
	if (mps_batch_result(self->b, 0, &r) != MPS_OK)
		return mpspy_raise_msg(MPS_ERR_PROTOCOL, "no result in the reply");
	if (r.status != MPS_OK)
		return mpspy_raise_msg(r.status, r.error && r.error[0] ? r.error : mps_strerror(r.status));
	PyObject *v = mpspy_from_value(&r.value, self->client->ctx, 0);
	if (v == NULL)
		return NULL;
	return Py_BuildValue("(NLiKK)", v, (long long) r.count, r.flag,
	    (unsigned long long) r.revision, (unsigned long long) r.token);
}

static void
pending_dealloc(mpspy_pending *self)
{
	if (self->b != NULL && self->gen == mpspy_fork_gen) {
		mps_batch *b = self->b;
		Py_BEGIN_ALLOW_THREADS
		mps_batch_free(b); /* cancels an op still in flight, waits for its callback */
		Py_END_ALLOW_THREADS
	}
	if (self->inited) {
		pthread_cond_destroy(&self->cv);
		pthread_mutex_destroy(&self->mtx);
	}
	Py_XDECREF(self->client);
	PyObject_Free(self);
}

static PyMethodDef pending_methods[] = {
	{"wait", (PyCFunction) pending_wait, METH_O,
	    "wait(ms) -> None if not answered within ms (< 0: an hour), else the result"},
	{NULL},
};

PyTypeObject mpspy_PendingType = {
	PyVarObject_HEAD_INIT(NULL, 0)
	.tp_name      = "mpstore._core.Pending",
	.tp_basicsize = sizeof(mpspy_pending),
	.tp_flags     = Py_TPFLAGS_DEFAULT,
	.tp_doc       = "an op in flight (Client.start)",
	.tp_dealloc   = (destructor) pending_dealloc,
	.tp_methods   = pending_methods,
};
