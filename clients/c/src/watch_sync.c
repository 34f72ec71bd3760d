/* watch_sync.c - what a watch asks the daemon (watch_int.h): catch-up
 * pages of missed changes (OP_CHANGES from done + 1, audited against what
 * PUB delivered) and resyncs (OP_LIST_CONTAINERS and OP_DUMP in one
 * request, at one revision). */
#include <stdlib.h>
#include <string.h>

#include "sp_conn.h"
#include "watch_int.h"

/* ---- requests ---- */

/* Several ops in one request; the reply is decoded into call (whose
 * arena then owns it). */
static mps_err
w_request(mps_watcher *w, const mps_op *ops, size_t n, mps__call *call)
{
	Mpstore__Request req;
	mps__msg         msg;
	mps__rbuf        reply;
	mps_err          e;

	mps__arena_init(&call->arena, call->buf, sizeof(call->buf));
	call->resp       = NULL;
	call->res        = NULL;
	call->shared     = NULL;
	Mpstore__Op **pv = mps__arena_alloc(&call->arena, (n ? n : 1) * sizeof(*pv));
	if (pv == NULL) {
		return mps__fail(MPS_ERR_NOMEM, "out of memory");
	}
	for (size_t i = 0; i < n; i++) {
		if ((e = mps__op_build(&call->arena, &ops[i], &pv[i])) != MPS_OK) {
			return e;
		}
	}
	if ((e = mps__request_init(w->c, &req)) != MPS_OK) {
		return e;
	}
	req.n_ops = n;
	req.ops   = pv;
	mps__msg_init(&msg, NULL, 0);
	if ((e = mps__pack(&req, &msg)) == MPS_OK) {
		mps__arena_reset(&call->arena);
		e = mps__roundtrip(w->c, &msg, mps__recv_timeout(w->c, 0), &reply);
	}
	mps__msg_fini(&msg);
	if (e != MPS_OK) {
		return e;
	}
	e = mps__decode(&reply, &call->arena, &call->resp);
	mps__rbuf_free(&reply);
	if (e == MPS_OK && call->resp->n_results != n) {
		e = mps__fail(MPS_ERR_PROTOCOL, "reply with %zu results for %zu ops",
		    call->resp->n_results, n);
	}
	if (e == MPS_OK) {
		call->res = call->resp->results[0];
	}
	return e;
}

void
mps__w_set_done(mps_watcher *w, uint64_t done)
{
	pthread_mutex_lock(&w->smtx);
	w->done = done;
	pthread_mutex_unlock(&w->smtx);
}

/* ---- catch-up: OP_CHANGES from done+1, page by page ---- */

void
mps__w_start_sync(mps_watcher *w, uint64_t trigger)
{
	if (w->syncing || w->need_resync) {
		return;
	}
	w->syncing       = 1;
	w->sync_checked  = 0;
	w->sync_from     = w->done + 1;
	w->sync_audit_to = w->cur;
	w->sync_trigger  = trigger;
	w->sync_seen     = 0;
	w->sync_skip_le  = w->done;
}

/* The changes in (done, cur] that PUB delivered must be exactly those the
 * daemon lists; otherwise a loss slipped past the revision checks (a
 * transaction's notifications, one per container, share a revision). */
static int
audit_fails(mps_watcher *w)
{
	w->sync_checked = 1;
	if (w->sync_seen == w->pub_count) {
		return 0;
	}
	STAT_ADD(w, audit_holes, 1);
	w->syncing     = 0;
	w->need_resync = 1;
	return 1;
}

mps_err
mps__w_sync_page(mps_watcher *w)
{
	mps_op  op = {.code = MPS_OP_CHANGES, .name = w->what, .from_revision = w->sync_from,
	     .timeout_ms = w->pull_wait_ms};
	wbatch *b  = mps__wb_new();
	if (b == NULL) {
		return mps__fail(MPS_ERR_NOMEM, "out of memory");
	}
	b->has_call = 1;
	STAT_ADD(w, catchups, 1);
	w->last_sync_ms = mps__now_ms();
	mps_err e = w_request(w, &op, 1, &b->call);
	if (e == MPS_OK) {
		e = mps__result_status(b->call.res);
	}
	if (e == MPS_ERR_COMPACTED) {
		mps__wb_free(b);
		w->syncing     = 0;
		w->need_resync = 1;
		return MPS_OK;
	}
	if (e != MPS_OK) {
		mps__wb_free(b);
		return e;
	}
	const Mpstore__Result *res = b->call.res;
	uint64_t               page_max = w->sync_skip_le, lost = 0;
	for (size_t i = 0; i < res->n_changes; i++) {
		const Mpstore__Change *ch = res->changes[i];
		uint64_t               r  = ch->revision;
		if (r <= w->sync_skip_le) {
			continue; /* repeated by the daemon's paging */
		}
		if (r > page_max) {
			page_max = r;
		}
		if (r <= w->sync_audit_to) {
			w->sync_seen++;
			continue;
		}
		if (!w->sync_checked && audit_fails(w)) {
			mps__wb_free(b);
			return MPS_OK;
		}
		if (mps__ev_change(b, ch, 1) != 0) {
			mps__wb_free(b);
			return mps__fail(MPS_ERR_NOMEM, "out of memory");
		}
		if (w->sync_trigger != 0 && r < w->sync_trigger) {
			lost++;
		}
		if (r > w->cur) {
			w->cur = r;
		}
	}
	if (lost) {
		STAT_ADD(w, lost, lost);
	}
	if (res->next >= 0) {
		w->sync_skip_le = page_max;
		w->sync_from    = (uint64_t) res->next > page_max + 1 ? (uint64_t) res->next : page_max + 1;
	} else {
		if (!w->sync_checked && audit_fails(w)) {
			mps__wb_free(b);
			return MPS_OK;
		}
		uint64_t done = res->revision > w->done ? res->revision : w->done;
		if (w->cur > done) {
			done = w->cur; /* resync states may be ahead of the commit */
		}
		mps__w_set_done(w, done);
		w->cur       = done;
		w->pub_count = 0;
		w->syncing   = 0;
		mps__ev_progress(w, b);
	}
	mps__wb_push(w, b);
	return MPS_OK;
}

/* ---- resync: the full state of every matching container at one revision ---- */

static int
name_in(const char *name, Mpstore__ContainerInfo *const *ci, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (strcmp(ci[i]->name, name) == 0) {
			return 1;
		}
	}
	return 0;
}

mps_err
mps__w_resync(mps_watcher *w)
{
	wbatch *b = mps__wb_new();
	if (b == NULL) {
		return mps__fail(MPS_ERR_NOMEM, "out of memory");
	}
	b->has_call = 1;
	const char **names = NULL;
	size_t       nnames = 0;
	mps_op      *ops    = NULL;
	mps_err      e      = MPS_OK;
	int          ok     = 0;
	if (!w->prefix) {
		names  = malloc(sizeof(*names));
		if (names == NULL) {
			e = mps__fail(MPS_ERR_NOMEM, "out of memory");
			goto out;
		}
		names[0] = w->match;
		nnames   = 1;
	}
	/* Prefix: ls and the dumps in one request run under the daemon's lock
	 * at one revision; retry until the ls lists no container left out. */
	for (int t = 0; t < W_RESYNC_TRIES && !ok; t++) {
		size_t lsop = w->prefix ? 1 : 0;
		free(ops);
		ops = calloc(nnames + lsop, sizeof(*ops));
		if (ops == NULL) {
			e = mps__fail(MPS_ERR_NOMEM, "out of memory");
			goto out;
		}
		if (lsop) {
			ops[0] = (mps_op){.code = MPS_OP_LIST_CONTAINERS, .name = w->what};
		}
		for (size_t i = 0; i < nnames; i++) {
			ops[lsop + i] = (mps_op){.code = MPS_OP_DUMP, .name = names[i]};
		}
		if (t > 0) {
			mps__call_fini(&b->call);
		}
		if ((e = w_request(w, ops, nnames + lsop, &b->call)) != MPS_OK) {
			goto out;
		}
		if (!lsop) {
			ok = 1;
			break;
		}
		const Mpstore__Result *ls = b->call.resp->results[0];
		if ((e = mps__result_status(ls)) != MPS_OK) {
			goto out;
		}
		ok = 1;
		for (size_t i = 0; i < ls->n_containers && ok; i++) {
			size_t j = 0;
			while (j < nnames && strcmp(names[j], ls->containers[i]->name) != 0) {
				j++;
			}
			ok = j < nnames &&
			    b->call.resp->results[lsop + j]->status == MPSTORE__STATUS__OK;
		}
		if (!ok) {
			/* dump what the ls lists (names live in this reply: keep it) */
			const char **nn = malloc((ls->n_containers + 1) * sizeof(*nn));
			if (nn == NULL) {
				e = mps__fail(MPS_ERR_NOMEM, "out of memory");
				goto out;
			}
			/* copy names out of the reply, which the next try replaces */
			for (size_t i = 0; i < ls->n_containers; i++) {
				nn[i] = strdup(ls->containers[i]->name);
				if (nn[i] == NULL) {
					for (size_t k = 0; k < i; k++) {
						free((char *) nn[k]);
					}
					free(nn);
					e = mps__fail(MPS_ERR_NOMEM, "out of memory");
					goto out;
				}
			}
			for (size_t i = 0; w->prefix && i < nnames; i++) {
				free((char *) names[i]);
			}
			free(names);
			names  = nn;
			nnames = ls->n_containers;
		}
	}
	if (!ok) {
		e = mps__fail(MPS_ERR_TIMEOUT, "containers under '%s' kept changing during a resync",
		    w->match);
		goto out;
	}
	const Mpstore__Response *resp = b->call.resp;
	uint64_t                 rev  = resp->revision;
	size_t                   lsop = w->prefix ? 1 : 0, count = 0;
	for (size_t i = 0; i < nnames; i++) {
		const Mpstore__Result *r = resp->results[lsop + i];
		if (r->status == MPSTORE__STATUS__OK &&
		    (!lsop || name_in(names[i], resp->results[0]->containers,
		                  resp->results[0]->n_containers))) {
			count++;
		} else if (r->status != MPSTORE__STATUS__OK && r->status != MPSTORE__STATUS__ERR_NOT_FOUND) {
			e = mps__result_status(r);
			goto out;
		}
	}
	size_t idx = 0;
	for (size_t i = 0; i < nnames; i++) {
		const Mpstore__Result *r = resp->results[lsop + i];
		if (r->status != MPSTORE__STATUS__OK ||
		    (lsop && !name_in(names[i], resp->results[0]->containers,
		                 resp->results[0]->n_containers))) {
			continue;
		}
		if (mps__ev_resync(b, r, idx++, count) != 0) {
			e = mps__fail(MPS_ERR_NOMEM, "out of memory");
			goto out;
		}
	}
	if (count == 0) {
		mps_watch_event *ev = mps__wb_add(b);
		if (ev == NULL) {
			e = mps__fail(MPS_ERR_NOMEM, "out of memory");
			goto out;
		}
		ev->type   = MPS_WATCH_RESYNC;
		ev->change = MPS_CH_RESYNC;
		ev->name   = w->match;
		ev->kind   = MPS_KIND_NONE;
		mps__info_view(NULL, &ev->info);
	}
	for (size_t i = 0; i < b->n; i++) {
		b->ev[i].revision = rev;
	}
	mps__w_set_done(w, rev);
	w->cur         = rev;
	w->pub_count   = 0;
	w->syncing     = 0;
	w->need_resync = 0;
	w->progress    = rev;
	STAT_ADD(w, resyncs, 1);
	mps__wb_push(w, b);
	b = NULL;
out:
	if (w->prefix) {
		for (size_t i = 0; i < nnames; i++) {
			free((char *) names[i]);
		}
	}
	free(names);
	free(ops);
	mps__wb_free(b);
	return e;
}
