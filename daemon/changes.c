/*
 * changes.c - OP_CHANGES that waits: with timeout_ms != 0 and nothing
 * after from_revision yet, the request parks until a commit brings a
 * change it matches, or its deadline passes (then it is answered with no
 * changes). This is how a watcher follows the store over its own
 * authenticated connection when PUB is off (a key is set): the
 * notification channel cannot check keys, a request connection can.
 *
 * The waiters are a list of their own (they wait for the whole store, not
 * a container); committed groups set `pending` (notify.c) and the waiters
 * are re-run at the loop's top level, never from inside another request.
 * Deadlines are checked on the 200 ms tick (clock.c).
 */
#include <stdint.h>

#include "dispatch_int.h"
#include "req.h"

static void unlink_waiter(mpsd_daemon *d, mpsd_req *r)
{
	if (r->cw_prev != NULL)
		r->cw_prev->cw_next = r->cw_next;
	else if (d->chg_waiters == r)
		d->chg_waiters = r->cw_next;
	if (r->cw_next != NULL)
		r->cw_next->cw_prev = r->cw_prev;
	r->cw_prev = r->cw_next = NULL;
	r->chg_wait = 0;
}

int mpsd_changes_op(mpsd_daemon *d, mpsd_req *r, mpsd_exec *x)
{
	int rv = mpsd_commit_changes(d->commit, x);
	if (rv != 0 || x->res->n_changes > 0 || x->op->timeout_ms == 0 || r == NULL || x->in_txn ||
	    x->expired || r->rq->n_ops != 1)
		return rv;
	if (!r->chg_wait) {
		if (x->park_refused != NULL)
			return mpsd_exec_fail(x, MPSTORE__STATUS__ERR_LIMIT, "%s", x->park_refused);
		int64_t now = mpsd_now_ms(), t = x->op->timeout_ms;
		r->chg_deadline = t < 0 || t > INT64_MAX - now ? INT64_MAX : now + t;
		r->chg_wait = 1;
		r->cw_prev = NULL;
		r->cw_next = d->chg_waiters;
		if (d->chg_waiters != NULL)
			d->chg_waiters->cw_prev = r;
		d->chg_waiters = r;
	}
	return MPSD_PARK;
}

void mpsd_changes_drop(mpsd_daemon *d, mpsd_req *r)
{
	if (r->chg_wait)
		unlink_waiter(d, r);
}

/* Run r's OP_CHANGES again; answer it unless it still waits. */
static void retry(mpsd_daemon *d, mpsd_req *r, int expired)
{
	if (dispatch_rerun(d, r, expired) == MPSD_PARK)
		return;
	unlink_waiter(d, r);
	dispatch_resumed(d, r);
}

void mpsd_changes_run(mpsd_daemon *d, int64_t now)
{
	int pending = d->chg_pending;
	d->chg_pending = 0;
	if (d->chg_waiters == NULL)
		return;
	mpsd_store_lock(d->st);
	mpsd_req *r = d->chg_waiters;
	while (r != NULL) {
		mpsd_req *next = r->cw_next; /* r may be answered and recycled */
		int       expired = now >= r->chg_deadline;
		if (pending || expired)
			retry(d, r, expired);
		r = next;
	}
	mpsd_store_run_wakeups(d->st, mpsd_dispatch_resume);
	mpsd_store_unlock(d->st);
}
