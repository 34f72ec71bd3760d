/*
 * sp_async.c - asynchronous requests of libmpstore's own REQ0 transport
 * (transport.h: areq_alloc, submit, areq_free; batch.c's
 * mps_batch_submit). Their replies come to the handle's reader thread,
 * started with the first of them: it leads (reads the socket, sp_req.c)
 * while any is in flight, expires those whose time is up, and runs their
 * completions outside every lock, one at a time. A synchronous caller
 * that leads meanwhile hands it the asynchronous replies it reads.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "sp_req_int.h"

/* Fail the async requests whose deadline passed; recompute next_adl. */
static void
expire(mps__sp *sp, int64_t now)
{
	int64_t next = SP_NONE;
	spreq  *r    = sp->pend.next;
	while (r != &sp->pend) {
		spreq *nx = r->next;
		if (r->async) {
			if (r->deadline <= now) {
				mps__spq_tab_del(sp, r);
				r->err = mps__spq_late_err(sp, r, r->why, sizeof(r->why));
				mps__spq_complete(sp, r);
			} else if (r->deadline < next) {
				next = r->deadline;
			}
		}
		r = nx;
	}
	sp->next_adl = next;
}

static void
deliver(mps__sp *sp)
{
	while (sp->dhead != NULL) {
		spreq *r  = sp->dhead;
		sp->dhead = r->dnext;
		if (sp->dhead == NULL) {
			sp->dtail = NULL;
		}
		r->state       = RQ_IDLE;
		sp->delivering = r;
		mps_err   e    = r->err;
		mps__rbuf rb   = {NULL, 0, NULL, NULL};
		if (e == MPS_OK) {
			rb = (mps__rbuf){r->rmem + 4, r->rlen - 4, r->rmem, free};
		}
		r->rmem = NULL;
		pthread_mutex_unlock(&sp->mtx);
		if (e != MPS_OK) {
			mps__fail(e, "%s", r->why);
		} else {
			mps__clear_error();
		}
		r->fn(r->arg, e, e == MPS_OK ? &rb : NULL);
		pthread_mutex_lock(&sp->mtx);
		sp->delivering = NULL;
		pthread_cond_broadcast(&sp->dcv);
	}
}

static void *
reader_main(void *arg)
{
	mps__sp *sp = arg;
	pthread_mutex_lock(&sp->mtx);
	for (;;) {
		if (sp->dhead != NULL) {
			deliver(sp);
			continue;
		}
		if (sp->closing) {
			break;
		}
		int64_t now = mps__now_ms();
		if (sp->nasync > 0 && now >= sp->next_adl) {
			expire(sp, now);
			continue;
		}
		if (sp->nasync > 0 && !sp->leader) {
			sp->leader = 1;
			while (sp->nasync > 0 && sp->dhead == NULL && !sp->closing &&
			       (now = mps__now_ms()) < sp->next_adl) {
				/* at least once a second: a later submit may expire sooner */
				mps__spq_lead_step(sp, sp->next_adl < now + 1000 ? sp->next_adl : now + 1000, &sp->rcv);
			}
			sp->leader = 0;
			spreq *f = sp->pend.next; /* a synchronous waiter may lead now */
			if (f != &sp->pend && !f->async) {
				pthread_cond_signal(&f->cv);
			}
			continue;
		}
		mps__cond_wait_until(&sp->rcv, &sp->mtx,
		    sp->nasync > 0 && sp->next_adl != SP_NONE ? sp->next_adl : -1);
	}
	pthread_mutex_unlock(&sp->mtx);
	return NULL;
}

mps_err
mps__spq_areq_alloc(void *tpd, mps__adone_fn done, void *arg, mps__areq **out)
{
	mps__sp   *sp = tpd;
	mps__areq *a  = calloc(1, sizeof(*a));
	if (a == NULL) {
		return mps__fail(MPS_ERR_NOMEM, "out of memory");
	}
	a->r.sp    = sp;
	a->r.async = 1;
	a->r.fn    = done;
	a->r.arg   = arg;
	pthread_mutex_lock(&sp->mtx);
	a->r.aprev            = &sp->areqs;
	a->r.anext            = sp->areqs.anext;
	sp->areqs.anext->aprev = &a->r;
	sp->areqs.anext        = &a->r;
	pthread_mutex_unlock(&sp->mtx);
	*out = a;
	return MPS_OK;
}

mps_err
mps__spq_submit(mps__areq *a, mps__msg *m, int64_t timeout_ms)
{
	spreq   *r  = &a->r;
	mps__sp *sp = r->sp;
	if (sp == NULL) {
		return mps__fail(MPS_ERR_CLOSED, "client is closed");
	}
	pthread_mutex_lock(&sp->mtx);
	if (sp->closing) {
		pthread_mutex_unlock(&sp->mtx);
		return mps__fail(MPS_ERR_CLOSED, "client is closed");
	}
	if (r->state != RQ_IDLE) {
		pthread_mutex_unlock(&sp->mtx);
		return mps__fail(MPS_ERR_INVALID, "this request is already in flight");
	}
	if (!sp->rthr_running) {
		if (pthread_create(&sp->rthr, NULL, reader_main, sp) != 0) {
			pthread_mutex_unlock(&sp->mtx);
			return mps__fail(MPS_ERR_NOMEM, "cannot start the reader thread");
		}
		sp->rthr_running = 1;
	}
	free(r->rmem);
	r->rmem     = NULL;
	r->deadline = mps__spq_to_deadline(timeout_ms);
	mps__spq_frame_set(sp, r, m);
	mps__spq_tab_add(sp, r);
	pthread_cond_signal(&sp->rcv);
	pthread_mutex_unlock(&sp->mtx);
	mps__spq_send_one(sp, r);
	return MPS_OK;
}

void
mps__spq_areq_free(mps__areq *a)
{
	if (a == NULL) {
		return;
	}
	spreq   *r  = &a->r;
	mps__sp *sp = r->sp;
	if (sp != NULL) {
		pthread_mutex_lock(&sp->mtx);
		for (;;) {
			if (r->state == RQ_PENDING) {
				mps__spq_tab_del(sp, r);
			} else if (r->state == RQ_QUEUED) {
				spreq **pp = &sp->dhead, *last = NULL;
				while (*pp != r) {
					last = *pp;
					pp   = &(*pp)->dnext;
				}
				*pp = r->dnext;
				if (sp->dtail == r) {
					sp->dtail = last;
				}
				r->state = RQ_IDLE;
			}
			if (sp->delivering != r && !r->writing) {
				break;
			}
			pthread_cond_wait(&sp->dcv, &sp->mtx); /* its callback may submit it again */
		}
		r->aprev->anext = r->anext;
		r->anext->aprev = r->aprev;
		pthread_mutex_unlock(&sp->mtx);
	}
	free(r->rmem);
	free(a);
}
