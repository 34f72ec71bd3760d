/*
 * history.c - what watchers catch up from: the last --history committed
 * changes in memory (the SQLite log behind them), and OP_CHANGES. The
 * ring shares the records' blocks with the jobs they came from, so the
 * loop can still publish a job's records after the ring has let go.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commit_int.h"

/* ---- history ---- */

/* What a kept record costs (its data and name share its request's block). */
static size_t crec_bytes(const crec *c)
{
	return sizeof(*c) + c->len + strlen(c->name) + 1;
}

size_t mpsd_commit_history_bytes(mpsd_commit *cm)
{
	return cm != NULL ? __atomic_load_n(&cm->h.bytes, __ATOMIC_RELAXED) : 0;
}

/* The caller holds h->mtx. */
void hist_add_locked(hist *h, const crec *c)
{
	if (h->cap > 0) {
		if (h->n == h->cap) {
			crec    *old = &h->ring[h->head];
			uint64_t gone = old->rev;
			__atomic_store_n(&h->bytes, h->bytes - crec_bytes(old), __ATOMIC_RELAXED);
			crec_free(old);
			h->head = (h->head + 1) % h->cap;
			h->n--;
			/* a txn's records share a revision: once one of them is
			 * gone, that revision is no longer whole in the ring */
			h->floor = h->n == 0 || h->ring[h->head].rev == gone ? gone + 1
			                                                      : h->ring[h->head].rev;
		}
		h->ring[(h->head + h->n) % h->cap] = *c;
		__atomic_add_fetch(&c->blk->refs, 1, __ATOMIC_RELAXED);
		h->n++;
		__atomic_store_n(&h->bytes, h->bytes + crec_bytes(c), __ATOMIC_RELAXED);
	}
	if (c->rev > h->last)
		h->last = c->rev;
}

void hist_add(hist *h, const crec *c)
{
	pthread_mutex_lock(&h->mtx);
	hist_add_locked(h, c);
	pthread_mutex_unlock(&h->mtx);
}

/* All of a job's records at once: OP_CHANGES must never see a revision
 * (h.last) whose txn records are only partly added. */
void hist_keep(hist *h, const crec *recs, size_t n)
{
	if (n == 0)
		return;
	pthread_mutex_lock(&h->mtx);
	for (size_t i = 0; i < n; i++)
		hist_add_locked(h, &recs[i]);
	pthread_mutex_unlock(&h->mtx);
}

/* ---- watch history: OP_CHANGES ---- */

static void *arena_pb_alloc(void *data, size_t size) { return mpsd_arena_alloc(data, size); }
static void  arena_pb_free(void *data, void *p) { (void)data; (void)p; }

static int name_matches(const char *want, size_t wlen, int prefix, const char *name)
{
	if (prefix)
		return strncmp(name, want, wlen) == 0;
	return strcmp(name, want) == 0;
}

typedef struct chg_ctx {
	mpsd_exec  *x;
	const char *want;
	size_t      wlen;
	int         prefix;
	size_t      n, cap, bytes;
	uint64_t    last, upto;
	int         full, err;
} chg_ctx;

#define CHANGES_MAX_N     10000
#define CHANGES_MAX_BYTES (4u << 20)

static int chg_add(chg_ctx *cc, uint64_t rev, const char *name, const uint8_t *data, size_t len)
{
	if (cc->n >= CHANGES_MAX_N || cc->bytes >= CHANGES_MAX_BYTES) {
		/* stop at a revision boundary so a txn is never split */
		if (rev != cc->last) {
			cc->full = 1;
			return 1;
		}
	}
	if (rev > cc->upto)
		return 1; /* committed, not yet published: after the reply's revision */
	cc->last = rev;
	if (!name_matches(cc->want, cc->wlen, cc->prefix, name))
		return 0;
	Mpstore__Result *res = cc->x->res;
	if (cc->n == cc->cap) {
		size_t            ncap = cc->cap ? cc->cap * 2 : 16;
		Mpstore__Change **nv = mpsd_exec_alloc(cc->x, ncap * sizeof(*nv));
		if (nv == NULL)
			return cc->err = 1;
		if (cc->n)
			memcpy(nv, res->changes, cc->n * sizeof(*nv));
		res->changes = nv;
		cc->cap = ncap;
	}
	ProtobufCAllocator al = {arena_pb_alloc, arena_pb_free, cc->x->arena};
	Mpstore__Change   *ch = mpstore__change__unpack(&al, len, data);
	if (ch == NULL)
		return cc->err = 1;
	res->changes[cc->n++] = ch;
	res->n_changes = cc->n;
	cc->bytes += len;
	return 0;
}

static int chg_from_log(void *arg, const mpsp_rec *r)
{
	return chg_add(arg, r->rev, r->name, r->data, r->len);
}

int mpsd_commit_changes(mpsd_commit *cm, mpsd_exec *x)
{
	const Mpstore__Op *op = x->op;
	chg_ctx cc = {x, op->name ? op->name : "", 0, 0, 0, 0, 0, 0, 0, 0, 0};
	cc.wlen = strlen(cc.want);
	cc.prefix = (op->flags & MPSTORE__OP_FLAG__FLAG_PREFIX) != 0;
	if (cc.wlen > 0 && cc.want[cc.wlen - 1] == '*') {
		cc.prefix = 1;
		cc.wlen--;
	}
	if (cc.wlen == 0)
		cc.prefix = 1; /* "" is everything */
	uint64_t from = op->from_revision ? op->from_revision : 1;
	hist    *h = &cm->h;
	pthread_mutex_lock(&h->mtx);
	uint64_t last = h->last;
	cc.upto = last;
	x->res->revision = last;
	x->res->next = -1;
	if (from > last) {
		pthread_mutex_unlock(&h->mtx);
		return 0;
	}
	if (h->n == 0 || from < h->floor) {
		pthread_mutex_unlock(&h->mtx);
		char err[256];
		int  rv = MPSTORE__STATUS__ERR_COMPACTED;
		if (cm->db != NULL) {
			rv = mpsp_log_read(cm->db, from, chg_from_log, &cc, err, sizeof(err));
			if (rv == 1)
				rv = cc.err ? MPSTORE__STATUS__ERR_LIMIT : 0;
		}
		if (rv == MPSTORE__STATUS__ERR_COMPACTED || (rv == 0 && cc.last == 0 && from <= last))
			return mpsd_exec_fail(x, MPSTORE__STATUS__ERR_COMPACTED,
			    "changes from revision %llu are no longer kept; take a fresh state (dump)",
			    (unsigned long long)from);
		if (rv != 0)
			return mpsd_exec_fail(x, (Mpstore__Status)rv, "reading the change log: %s", err);
		if (cc.full)
			x->res->next = (int64_t)cc.last + 1;
		return 0;
	}
	/* binary search for the first revision >= from */
	size_t lo = 0, hi = h->n;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (h->ring[(h->head + mid) % h->cap].rev < from)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (size_t i = lo; i < h->n; i++) {
		crec *c = &h->ring[(h->head + i) % h->cap];
		if (chg_add(&cc, c->rev, c->name, c->data, c->len) != 0)
			break;
	}
	pthread_mutex_unlock(&h->mtx);
	if (cc.err)
		return mpsd_exec_fail(x, MPSTORE__STATUS__ERR_LIMIT, "out of memory reading changes");
	if (cc.full)
		x->res->next = (int64_t)cc.last + 1; /* ask again from here */
	return 0;
}
