/* ops_sync.c - queue, lock, rlock, semaphore, event, condition, barrier. */
#include "guard.h"
#include "mps_int.h"

/* ---- queue ---- */

mps_err
mps_queue_put(mps_client *c, const char *name, const mps_value *v, int64_t timeout_ms,
    int64_t *qsize)
{
	MPS__NEED(c);
	MPS__NEED(v);
	mps_op op = {.code = MPS_OP_QUEUE_PUT, .name = name, .value = *v, .send_null = 1,
	    .timeout_ms = timeout_ms};
	return mps__op_count(c, &op, qsize);
}

mps_err
mps_queue_get(mps_client *c, const char *name, int64_t timeout_ms, mps_value *out)
{
	MPS__NEED(c);
	mps_op op = {.code = MPS_OP_QUEUE_GET, .name = name, .timeout_ms = timeout_ms};
	return mps__op_value(c, &op, out);
}

mps_err
mps_queue_size(mps_client *c, const char *name, int64_t *size)
{
	MPS__NEED(c);
	mps_op op = {.code = MPS_OP_QUEUE_SIZE, .name = name};
	return mps__op_count(c, &op, size);
}

mps_err
mps_queue_empty(mps_client *c, const char *name, int *yes)
{
	MPS__NEED(c);
	mps_op op = {.code = MPS_OP_QUEUE_EMPTY, .name = name};
	return mps__op_flag(c, &op, yes);
}

mps_err
mps_queue_full(mps_client *c, const char *name, int *yes)
{
	MPS__NEED(c);
	mps_op op = {.code = MPS_OP_QUEUE_FULL, .name = name};
	return mps__op_flag(c, &op, yes);
}

mps_err
mps_queue_task_done(mps_client *c, const char *name)
{
	MPS__NEED(c);
	mps_op op = {.code = MPS_OP_QUEUE_TASK_DONE, .name = name};
	return mps__op_none(c, &op);
}

mps_err
mps_queue_join(mps_client *c, const char *name, int64_t timeout_ms)
{
	MPS__NEED(c);
	mps_op op = {.code = MPS_OP_QUEUE_JOIN, .name = name, .timeout_ms = timeout_ms};
	return mps__op_none(c, &op);
}

/* ---- lock, rlock, condition's lock ---- */

mps_err
mps_rlock_acquire(mps_client *c, const char *name, int64_t timeout_ms, uint64_t *token,
    int64_t *depth)
{
	MPS__NEED(c);
	mps_op    op = {.code = MPS_OP_LOCK_ACQUIRE, .name = name, .timeout_ms = timeout_ms};
	mps__call call;
	mps_err   e = mps__call_op(c, &op, &call);
	if (e == MPS_OK && !call.res->flag) {
		/* timeout 0 on a held lock: the daemon answers "not granted" */
		e = mps__fail(MPS_ERR_TIMEOUT, "'%s' is held by another session", name);
	}
	if (e == MPS_OK) {
		if (token != NULL) {
			*token = call.res->token;
		}
		if (depth != NULL) {
			*depth = call.res->count;
		}
	}
	mps__call_fini(&call);
	return e;
}

mps_err
mps_lock_acquire(mps_client *c, const char *name, int64_t timeout_ms, uint64_t *token)
{
	MPS__NEED(c);
	return mps_rlock_acquire(c, name, timeout_ms, token, NULL);
}

mps_err
mps_lock_release(mps_client *c, const char *name)
{
	MPS__NEED(c);
	mps_op op = {.code = MPS_OP_LOCK_RELEASE, .name = name};
	return mps__op_none(c, &op);
}

mps_err
mps_lock_release_token(mps_client *c, const char *name, uint64_t token)
{
	MPS__NEED(c);
	if (token == 0 || token > (uint64_t) INT64_MAX) {
		return mps__fail(MPS_ERR_INVALID, "%s: no such fencing token: %llu", __func__,
		    (unsigned long long) token);
	}
	mps_op op = {.code = MPS_OP_LOCK_RELEASE_TOKEN, .name = name, .count = (int64_t) token};
	return mps__op_none(c, &op);
}

mps_err
mps_lock_locked(mps_client *c, const char *name, int *locked, uint64_t *token)
{
	MPS__NEED(c);
	mps_op    op = {.code = MPS_OP_LOCK_LOCKED, .name = name};
	mps__call call;
	mps_err   e = mps__call_op(c, &op, &call);
	if (e == MPS_OK) {
		if (locked != NULL) {
			*locked = call.res->flag;
		}
		if (token != NULL) {
			*token = call.res->token;
		}
	}
	mps__call_fini(&call);
	return e;
}

mps_err
mps_cond_acquire(mps_client *c, const char *name, int64_t timeout_ms, uint64_t *token)
{
	MPS__NEED(c);
	return mps_rlock_acquire(c, name, timeout_ms, token, NULL);
}

mps_err
mps_cond_release(mps_client *c, const char *name)
{
	MPS__NEED(c);
	return mps_lock_release(c, name);
}

/* ---- semaphore ---- */

mps_err
mps_sem_acquire(mps_client *c, const char *name, int64_t timeout_ms, int64_t *value)
{
	MPS__NEED(c);
	mps_op    op = {.code = MPS_OP_SEM_ACQUIRE, .name = name, .timeout_ms = timeout_ms};
	mps__call call;
	mps_err   e = mps__call_op(c, &op, &call);
	if (e == MPS_OK && !call.res->flag) {
		e = mps__fail(MPS_ERR_TIMEOUT, "semaphore '%s' has no unit free", name);
	}
	if (e == MPS_OK && value != NULL) {
		*value = call.res->count;
	}
	mps__call_fini(&call);
	return e;
}

mps_err
mps_sem_release(mps_client *c, const char *name, int64_t *value)
{
	MPS__NEED(c);
	mps_op op = {.code = MPS_OP_SEM_RELEASE, .name = name};
	return mps__op_count(c, &op, value);
}

mps_err
mps_sem_value(mps_client *c, const char *name, int64_t *value)
{
	MPS__NEED(c);
	mps_op op = {.code = MPS_OP_SEM_VALUE, .name = name};
	return mps__op_count(c, &op, value);
}

/* ---- event ---- */

mps_err
mps_event_set(mps_client *c, const char *name)
{
	MPS__NEED(c);
	mps_op op = {.code = MPS_OP_EVENT_SET, .name = name};
	return mps__op_none(c, &op);
}

mps_err
mps_event_clear(mps_client *c, const char *name)
{
	MPS__NEED(c);
	mps_op op = {.code = MPS_OP_EVENT_CLEAR, .name = name};
	return mps__op_none(c, &op);
}

mps_err
mps_event_is_set(mps_client *c, const char *name, int *is_set)
{
	MPS__NEED(c);
	mps_op op = {.code = MPS_OP_EVENT_IS_SET, .name = name};
	return mps__op_flag(c, &op, is_set);
}

mps_err
mps_event_wait(mps_client *c, const char *name, int64_t timeout_ms, int *is_set)
{
	MPS__NEED(c);
	mps_op op = {.code = MPS_OP_EVENT_WAIT, .name = name, .timeout_ms = timeout_ms};
	return mps__op_flag(c, &op, is_set);
}

/* ---- condition ---- */

mps_err
mps_cond_wait(mps_client *c, const char *name, int64_t timeout_ms, int *notified)
{
	MPS__NEED(c);
	mps_op op = {.code = MPS_OP_COND_WAIT, .name = name, .timeout_ms = timeout_ms};
	return mps__op_flag(c, &op, notified);
}

mps_err
mps_cond_notify(mps_client *c, const char *name, int64_t n, int64_t *woken)
{
	MPS__NEED(c);
	mps_op op = {.code = MPS_OP_COND_NOTIFY, .name = name, .count = n};
	return mps__op_count(c, &op, woken);
}

mps_err
mps_cond_notify_all(mps_client *c, const char *name, int64_t *woken)
{
	MPS__NEED(c);
	mps_op op = {.code = MPS_OP_COND_NOTIFY_ALL, .name = name};
	return mps__op_count(c, &op, woken);
}

/* ---- barrier ---- */

mps_err
mps_barrier_wait(mps_client *c, const char *name, int64_t timeout_ms, int64_t *index)
{
	MPS__NEED(c);
	mps_op op = {.code = MPS_OP_BARRIER_WAIT, .name = name, .timeout_ms = timeout_ms};
	return mps__op_count(c, &op, index);
}

mps_err
mps_barrier_abort(mps_client *c, const char *name)
{
	MPS__NEED(c);
	mps_op op = {.code = MPS_OP_BARRIER_ABORT, .name = name};
	return mps__op_none(c, &op);
}

mps_err
mps_barrier_reset(mps_client *c, const char *name)
{
	MPS__NEED(c);
	mps_op op = {.code = MPS_OP_BARRIER_RESET, .name = name};
	return mps__op_none(c, &op);
}

mps_err
mps_barrier_info(mps_client *c, const char *name, int64_t *parties, int64_t *n_waiting,
    int *broken)
{
	MPS__NEED(c);
	mps_op    op = {.code = MPS_OP_BARRIER_INFO, .name = name};
	mps__call call;
	mps_err   e = mps__call_op(c, &op, &call);
	if (e == MPS_OK) {
		if (parties != NULL) {
			*parties = call.res->info != NULL ? call.res->info->capacity : 0;
		}
		if (n_waiting != NULL) {
			*n_waiting = call.res->count;
		}
		if (broken != NULL) {
			*broken = call.res->flag;
		}
	}
	mps__call_fini(&call);
	return e;
}
