/* waiters.c - parked ops: the deadline heap, wake-ups after changes,
 * expiry, and what a dead session leaves behind. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "store_int.h"

static void heap_set(mpsd_store *st, size_t i, mpsd_waiter *w)
{
	st->heap[i] = w;
	w->heap_idx = i;
}

static void heap_up(mpsd_store *st, size_t i)
{
	mpsd_waiter *w = st->heap[i];
	while (i > 0) {
		size_t p = (i - 1) / 2;
		if (st->heap[p]->deadline <= w->deadline)
			break;
		heap_set(st, i, st->heap[p]);
		i = p;
	}
	heap_set(st, i, w);
}

static void heap_down(mpsd_store *st, size_t i)
{
	mpsd_waiter *w = st->heap[i];
	for (;;) {
		size_t l = 2 * i + 1, m = i;
		if (l >= st->nheap)
			break;
		m = l;
		if (l + 1 < st->nheap && st->heap[l + 1]->deadline < st->heap[l]->deadline)
			m = l + 1;
		if (st->heap[m]->deadline >= w->deadline)
			break;
		heap_set(st, i, st->heap[m]);
		i = m;
	}
	heap_set(st, i, w);
}

int store_heap_push(mpsd_store *st, mpsd_waiter *w)
{
	if (st->nheap == st->capheap) {
		size_t        n = st->capheap ? st->capheap * 2 : 64;
		mpsd_waiter **h = realloc(st->heap, n * sizeof(*h));
		if (h == NULL)
			return ENOMEM;
		st->heap = h;
		st->capheap = n;
	}
	st->heap[st->nheap] = w;
	w->heap_idx = st->nheap++;
	heap_up(st, w->heap_idx);
	return 0;
}

void store_heap_remove(mpsd_store *st, mpsd_waiter *w)
{
	size_t i = w->heap_idx;
	w->heap_idx = SIZE_MAX;
	st->nheap--;
	if (i == st->nheap)
		return;
	heap_set(st, i, st->heap[st->nheap]);
	heap_up(st, i);
	heap_down(st, st->heap[i]->heap_idx);
}

int64_t mpsd_store_next_deadline(const mpsd_store *st)
{
	return st->nheap ? st->heap[0]->deadline : INT64_MAX;
}

void store_wake_push(mpsd_store *st, mpsd_container *c)
{
	if (c->wake_pending || c->wait_head == NULL)
		return;
	if (st->nwake == st->capwake) {
		size_t           n = st->capwake ? st->capwake * 2 : 16;
		mpsd_container **q = realloc(st->wakeq, n * sizeof(*q));
		if (q == NULL)
			return; /* waiters still get their deadline */
		st->wakeq = q;
		st->capwake = n;
	}
	c->wake_pending = 1;
	st->wakeq[st->nwake++] = c;
}

static void run_orphans(mpsd_store *st, mpsd_resume_fn fn)
{
	while (st->orphans != NULL) {
		mpsd_waiter *w = st->orphans;
		st->orphans = w->orphan_next;
		w->orphan_queued = 0;
		fn(w->owner, w, 0);
	}
}

void mpsd_store_run_wakeups(mpsd_store *st, mpsd_resume_fn fn)
{
	run_orphans(st, fn);
	/* bounded: every round either answers a waiter or stops at a re-park */
	for (size_t round = 0; st->nwake > 0 && round < 1000000; round++) {
		mpsd_container *c = st->wakeq[0];
		memmove(st->wakeq, st->wakeq + 1, (st->nwake - 1) * sizeof(*st->wakeq));
		st->nwake--;
		c->wake_pending = 0;
		mpsd_waiter *w = c->wait_head;
		while (w != NULL) {
			mpsd_waiter *next = w->next;
			int          rv = fn(w->owner, w, 0);
			if (st->orphans != NULL) { /* the container went away */
				run_orphans(st, fn);
				break;
			}
			if (rv == MPSD_PARK && !c->k->wake_all)
				break;
			w = next;
		}
		run_orphans(st, fn);
	}
}

void mpsd_store_expire(mpsd_store *st, int64_t now_ms, mpsd_resume_fn fn)
{
	while (st->nheap > 0 && st->heap[0]->deadline <= now_ms) {
		mpsd_waiter *w = st->heap[0];
		store_heap_remove(st, w);
		w->deadline = INT64_MAX;
		fn(w->owner, w, 1);
	}
	mpsd_store_run_wakeups(st, fn);
}

typedef struct gone_ctx {
	mpsd_exec *x;
	uint64_t   sid;
} gone_ctx;

static int gone_visit(void *arg, mpsd_container *c)
{
	gone_ctx *g = arg;
	if (c->k->session_gone != NULL) {
		c->k->session_gone(g->x, c, g->sid);
		store_account(g->x->st, c);
	}
	return 0;
}

void mpsd_store_session_gone(mpsd_store *st, mpsd_exec *x, uint64_t sid, void (*drop)(void *owner))
{
	if (sid == 0)
		return;
	/* waiters of the session: forgotten, never answered */
	for (size_t i = 0; i < st->nslots; i++) {
		mpsd_container *c = st->slots[i].c;
		if (c == NULL || c == TOMB)
			continue;
		mpsd_waiter *w = c->wait_head;
		while (w != NULL) {
			mpsd_waiter *n = w->next;
			if (w->session == sid) {
				void *owner = w->owner;
				mpsd_waiter_free(w);
				if (drop != NULL)
					drop(owner);
				store_wake_push(st, c); /* e.g. a queue slot it was blocking */
			}
			w = n;
		}
	}
	gone_ctx g = {x, sid};
	mpsd_store_foreach(st, gone_visit, &g);
}

void mpsd_store_unpark(mpsd_store *st, mpsd_waiter *w)
{
	if (w->orphan_queued) {
		for (mpsd_waiter **pp = &st->orphans; *pp != NULL; pp = &(*pp)->orphan_next)
			if (*pp == w) {
				*pp = w->orphan_next;
				break;
			}
		w->orphan_queued = 0;
	}
	mpsd_container *c = w->c;
	mpsd_waiter_free(w);
	if (c != NULL)
		store_wake_push(st, c); /* e.g. a queue slot it was holding up */
}
