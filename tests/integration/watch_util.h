/* watch_util.h - helpers of the watch tests: run one op and get its
 * revision, record events, compare what a watcher saw with what was done. */
#ifndef WATCH_UTIL_H
#define WATCH_UTIL_H

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client_test_util.h"
#include "support.h"

/* One op through a one-op batch; returns the result's revision. */
static inline uint64_t
wt_exec(mps_client *c, const mps_op *op)
{
	mps_batch *b;
	mps_result r;
	CT_OK(mps_batch_alloc(c, &b));
	CT_OK(mps_batch_append(b, op));
	CT_OK(mps_batch_exec(b));
	CT_OK(mps_batch_result(b, 0, &r));
	if (r.status != MPS_OK) {
		fprintf(stderr, "op %d on %s: %s: %s\n", (int) op->code, op->name ? op->name : "",
		    mps_err_name(r.status), r.error);
		ct_die();
	}
	uint64_t rev = r.revision;
	mps_batch_free(b);
	return rev;
}

typedef struct wt_ev {
	int      type;
	uint64_t rev;
	char     name[64];
	int      change;
	int64_t  index, count;
	int64_t  ival;       /* value / values[0] / keys... when an int */
	size_t   nvalues, nkeys;
	size_t   resync_count;
	int      recovered;
} wt_ev;

typedef struct wt_log {
	pthread_mutex_t mtx;
	wt_ev          *v;
	size_t          n, cap;
} wt_log;

static inline void
wt_log_init(wt_log *l)
{
	memset(l, 0, sizeof(*l));
	pthread_mutex_init(&l->mtx, NULL);
}

static inline void
wt_log_add(wt_log *l, const mps_watch_event *ev)
{
	pthread_mutex_lock(&l->mtx);
	if (l->n == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 256;
		l->v   = realloc(l->v, l->cap * sizeof(*l->v));
		CT_TRUE(l->v != NULL);
	}
	wt_ev *e = &l->v[l->n];
	memset(e, 0, sizeof(*e));
	e->type   = ev->type;
	e->rev    = ev->revision;
	snprintf(e->name, sizeof(e->name), "%s", ev->name);
	e->change = ev->change;
	e->index  = ev->index;
	e->count  = ev->count;
	const mps_value *v = ev->nvalues ? &ev->values[0] : &ev->value;
	e->ival           = v->type == MPS_INT ? v->u.i : 0;
	e->nvalues        = ev->nvalues;
	e->nkeys          = ev->nkeys;
	e->resync_count   = ev->resync_count;
	e->recovered      = ev->recovered;
	l->n++;
	pthread_mutex_unlock(&l->mtx);
}

static inline void
wt_log_cb(const mps_watch_event *ev, void *arg)
{
	if (ev->type != MPS_WATCH_PROGRESS) {
		wt_log_add(arg, ev);
	}
}

/* Pull events of w into l until one at revision >= until has come and
 * then quiet_ms pass without any, or deadline_ms in all. */
static inline void
wt_pull(mps_watcher *w, wt_log *l, uint64_t until, int quiet_ms, int deadline_ms)
{
	long long end = mpst_now_ms() + deadline_ms, last = mpst_now_ms();
	int       reached = 0;
	while (mpst_now_ms() < end) {
		const mps_watch_event *ev;
		mps_err e = mps_watch_next(w, &ev, 50);
		if (e == MPS_OK) {
			if (ev->type != MPS_WATCH_PROGRESS) {
				wt_log_add(l, ev);
			}
			last = mpst_now_ms();
			if (ev->revision >= until) {
				reached = 1;
			}
			continue;
		}
		CT_CHECK(e, MPS_ERR_TIMEOUT);
		if (reached && mpst_now_ms() - last >= quiet_ms) {
			break;
		}
	}
	CT_TRUE(reached);
}

#endif
