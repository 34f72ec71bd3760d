/*
 * watch.c - change notifications over PUB/SUB that never lose a change
 * silently (docs/watch.md explains the scheme).
 *
 * One engine serves both forms: w_fill() makes progress (receive a PUB
 * message, fetch a page of missed changes, or take a resync) until events
 * are queued; mps_watch_next() hands them out, the callback thread loops
 * over it. Events point into a wbatch (a decoded message and the arrays
 * built for it) that lives until the event after its last one is taken.
 *
 * State: every matching change with revision <= done has been delivered;
 * cur >= done is the revision of the last change delivered; pub_count
 * counts the changes delivered from PUB in (done, cur], which the next
 * OP_CHANGES reply must confirm (the audit).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "watch_int.h"

#include <nng/protocol/pubsub0/sub.h>

#define W_RECV_SLICE_MS   100  /* longest blocking receive: stop/liveness checks */
#define W_SILENCE_MS      2000 /* no PUB message for this long: poll OP_CHANGES */
#define W_POLL_MS         1000 /* ... at most this often */
#define W_BACKOFF_MIN_MS  20
#define W_BACKOFF_MAX_MS  1000
#define W_RESYNC_TRIES    20

typedef struct wbatch {
	struct wbatch   *next;
	mps__arena       a;     /* decoded PUB message, event arrays */
	int              has_call;
	mps__call        call;  /* decoded reply of a request */
	mps_watch_event *ev;
	size_t           n, cap, pos;
} wbatch;

struct mps_watcher {
	mps_client *c;
	char       *what;  /* for OP_CHANGES / OP_LIST_CONTAINERS: name, or prefix + '*' */
	char       *match; /* exact name or prefix */
	size_t      mlen;
	int         prefix;
	uint32_t    flags;
	nng_socket  sub;
	nng_aio    *aio;

	uint64_t done, cur, hbmax, pub_count, progress;
	/* a catch-up in pages (OP_CHANGES from sync_from) */
	int      syncing, sync_checked;
	uint64_t sync_from, sync_audit_to, sync_trigger, sync_seen, sync_skip_le;
	int      need_resync;
	int64_t  last_msg_ms, last_sync_ms, retry_at_ms;
	int      backoff_ms;

	wbatch *head, *tail, *shown;

	pthread_mutex_t smtx; /* st, done for other threads */
	mps_watch_stats st;

	mps_watch_cb cb;
	void        *cb_arg;
	pthread_t    thr;
	int          thr_running;
	atomic_int   stop;
};

static int64_t
now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
sleep_ms(int64_t ms)
{
	if (ms <= 0) {
		return;
	}
	struct timespec ts = {(time_t) (ms / 1000), (long) (ms % 1000) * 1000000L};
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
	}
}

#define STAT_ADD(w, field, k)                                                 \
	do {                                                                  \
		pthread_mutex_lock(&(w)->smtx);                               \
		(w)->st.field += (k);                                         \
		pthread_mutex_unlock(&(w)->smtx);                             \
	} while (0)

const char *
mps_change_type_name(int type)
{
	static const char *const names[] = {"none", "create", "delete", "clear", "set",
		"list_insert", "list_set", "list_delete", "dict_set", "dict_delete", "queue_put",
		"queue_get", "state", "resync"};
	return type >= 0 && type < (int) (sizeof(names) / sizeof(names[0])) ? names[type] : "?";
}

/* ---- event batches ---- */

static wbatch *
batch_new(void)
{
	wbatch *b = calloc(1, sizeof(*b));
	if (b != NULL) {
		mps__arena_init(&b->a, NULL, 0);
	}
	return b;
}

static void
batch_free(wbatch *b)
{
	if (b == NULL) {
		return;
	}
	mps__arena_fini(&b->a);
	if (b->has_call) {
		mps__call_fini(&b->call);
	}
	free(b->ev);
	free(b);
}

static mps_watch_event *
batch_add(wbatch *b)
{
	if (b->n == b->cap) {
		size_t           ncap = b->cap ? b->cap * 2 : 8;
		mps_watch_event *nv   = realloc(b->ev, ncap * sizeof(*nv));
		if (nv == NULL) {
			return NULL;
		}
		b->ev  = nv;
		b->cap = ncap;
	}
	mps_watch_event *ev = &b->ev[b->n++];
	memset(ev, 0, sizeof(*ev));
	return ev;
}

/* Queue b (or free it when it holds no event). */
static void
batch_push(mps_watcher *w, wbatch *b)
{
	if (b->n == 0) {
		batch_free(b);
		return;
	}
	if (w->tail != NULL) {
		w->tail->next = b;
	} else {
		w->head = b;
	}
	w->tail = b;
}

static void
batches_free(wbatch *b)
{
	while (b != NULL) {
		wbatch *n = b->next;
		batch_free(b);
		b = n;
	}
}

/* Borrowed views of n protobuf values, in the batch's arena. */
static const mps_value *
views(wbatch *b, Mpstore__Value *const *pv, size_t n)
{
	if (n == 0) {
		return NULL;
	}
	mps_value *v = mps__arena_alloc(&b->a, n * sizeof(*v));
	for (size_t i = 0; v != NULL && i < n; i++) {
		mps__pv_view(pv[i], &v[i]);
	}
	return v;
}

static int
ev_change(wbatch *b, const Mpstore__Change *ch, int recovered)
{
	mps_watch_event *ev = batch_add(b);
	if (ev == NULL) {
		return -1;
	}
	ev->type = ch->type == MPSTORE__CHANGE_TYPE__CH_CREATE   ? MPS_WATCH_CREATED
	         : ch->type == MPSTORE__CHANGE_TYPE__CH_DELETE ? MPS_WATCH_DELETED
	                                                        : MPS_WATCH_CHANGE;
	ev->revision = ch->revision;
	ev->name     = ch->name != NULL ? ch->name : "";
	ev->kind     = (mps_kind) ch->kind;
	ev->change   = (mps_change_type) ch->type;
	ev->index    = ch->index;
	ev->count    = ch->count;
	mps__pv_view(ch->value, &ev->value);
	ev->keys    = views(b, ch->keys, ch->n_keys);
	ev->nkeys   = ev->keys != NULL ? ch->n_keys : 0;
	ev->values  = views(b, ch->values, ch->n_values);
	ev->nvalues = ev->values != NULL ? ch->n_values : 0;
	if (ch->info != NULL) {
		ev->has_info = 1;
		mps__info_view(ch->info, &ev->info);
	}
	ev->recovered = recovered;
	if ((ch->n_keys && ev->keys == NULL) || (ch->n_values && ev->values == NULL)) {
		return -1;
	}
	return 0;
}

static void
ev_progress(mps_watcher *w, wbatch *b)
{
	if (!(w->flags & MPS_WATCH_F_PROGRESS) || w->done <= w->progress) {
		return;
	}
	mps_watch_event *ev = batch_add(b);
	if (ev != NULL) {
		ev->type     = MPS_WATCH_PROGRESS;
		ev->revision = w->done;
		ev->name     = w->match;
		w->progress  = w->done;
	}
}

/* ---- requests ---- */

/* Several ops in one request; the reply is decoded into call (whose
 * arena then owns it). */
static mps_err
w_request(mps_watcher *w, const mps_op *ops, size_t n, mps__call *call)
{
	Mpstore__Request req;
	nng_msg         *msg = NULL, *reply = NULL;
	mps_err          e;

	mps__arena_init(&call->arena, call->buf, sizeof(call->buf));
	call->resp       = NULL;
	call->res        = NULL;
	Mpstore__Op **pv = mps__arena_alloc(&call->arena, (n ? n : 1) * sizeof(*pv));
	if (pv == NULL) {
		return mps__fail(MPS_ERR_NOMEM, "out of memory");
	}
	for (size_t i = 0; i < n; i++) {
		if ((e = mps__op_build(&call->arena, &ops[i], &pv[i])) != MPS_OK) {
			return e;
		}
	}
	mps__request_init(w->c, &req);
	req.n_ops = n;
	req.ops   = pv;
	if ((e = mps__pack(&req, &msg)) != MPS_OK) {
		return e;
	}
	mps__arena_reset(&call->arena);
	if ((e = mps__roundtrip(w->c, msg, mps__recv_timeout(w->c, 0), &reply)) != MPS_OK) {
		return e;
	}
	e = mps__decode(reply, &call->arena, &call->resp);
	nng_msg_free(reply);
	if (e == MPS_OK && call->resp->n_results != n) {
		e = mps__fail(MPS_ERR_PROTOCOL, "reply with %zu results for %zu ops",
		    call->resp->n_results, n);
	}
	if (e == MPS_OK) {
		call->res = call->resp->results[0];
	}
	return e;
}

static void
w_failed(mps_watcher *w, mps_err e)
{
	pthread_mutex_lock(&w->smtx);
	w->st.last_error = (int) e;
	pthread_mutex_unlock(&w->smtx);
	w->backoff_ms  = w->backoff_ms ? w->backoff_ms * 2 : W_BACKOFF_MIN_MS;
	if (w->backoff_ms > W_BACKOFF_MAX_MS) {
		w->backoff_ms = W_BACKOFF_MAX_MS;
	}
	w->retry_at_ms = now_ms() + w->backoff_ms;
}

static void
w_succeeded(mps_watcher *w)
{
	w->backoff_ms = 0;
	w->retry_at_ms = 0;
}

static void
set_done(mps_watcher *w, uint64_t done)
{
	pthread_mutex_lock(&w->smtx);
	w->done = done;
	pthread_mutex_unlock(&w->smtx);
}

/* ---- catch-up: OP_CHANGES from done+1, page by page ---- */

static void
start_sync(mps_watcher *w, uint64_t trigger)
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

static mps_err
w_sync_page(mps_watcher *w)
{
	mps_op  op = {.code = MPS_OP_CHANGES, .name = w->what, .from_revision = w->sync_from};
	wbatch *b  = batch_new();
	if (b == NULL) {
		return mps__fail(MPS_ERR_NOMEM, "out of memory");
	}
	b->has_call = 1;
	STAT_ADD(w, catchups, 1);
	w->last_sync_ms = now_ms();
	mps_err e = w_request(w, &op, 1, &b->call);
	if (e == MPS_OK) {
		e = mps__result_status(b->call.res);
	}
	if (e == MPS_ERR_COMPACTED) {
		batch_free(b);
		w->syncing     = 0;
		w->need_resync = 1;
		return MPS_OK;
	}
	if (e != MPS_OK) {
		batch_free(b);
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
			batch_free(b);
			return MPS_OK;
		}
		if (ev_change(b, ch, 1) != 0) {
			batch_free(b);
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
			batch_free(b);
			return MPS_OK;
		}
		uint64_t done = res->revision > w->done ? res->revision : w->done;
		if (w->cur > done) {
			done = w->cur; /* resync states may be ahead of the commit */
		}
		set_done(w, done);
		w->cur       = done;
		w->pub_count = 0;
		w->syncing   = 0;
		ev_progress(w, b);
	}
	batch_push(w, b);
	return MPS_OK;
}

/* ---- resync: the full state of every matching container at one revision ---- */

/* Merge a container's dump records into one RESYNC event. */
static int
ev_resync(wbatch *b, const Mpstore__Result *res, size_t idx, size_t count)
{
	mps_watch_event *ev = batch_add(b);
	if (ev == NULL) {
		return -1;
	}
	size_t nk = 0, nv = 0;
	for (size_t i = 0; i < res->n_changes; i++) {
		nk += res->changes[i]->n_keys;
		nv += res->changes[i]->n_values;
	}
	mps_value *k = nk ? mps__arena_alloc(&b->a, nk * sizeof(*k)) : NULL;
	mps_value *v = nv ? mps__arena_alloc(&b->a, nv * sizeof(*v)) : NULL;
	if ((nk && k == NULL) || (nv && v == NULL)) {
		return -1;
	}
	nk = nv = 0;
	ev->value = mps_null();
	for (size_t i = 0; i < res->n_changes; i++) {
		const Mpstore__Change *ch = res->changes[i];
		for (size_t j = 0; j < ch->n_keys; j++) {
			mps__pv_view(ch->keys[j], &k[nk++]);
		}
		for (size_t j = 0; j < ch->n_values; j++) {
			mps__pv_view(ch->values[j], &v[nv++]);
		}
		if (ch->value != NULL && ch->value->v_case != MPSTORE__VALUE__V__NOT_SET) {
			mps__pv_view(ch->value, &ev->value);
		}
	}
	ev->type     = MPS_WATCH_RESYNC;
	ev->change   = MPS_CH_RESYNC;
	ev->has_info = res->info != NULL;
	mps__info_view(res->info, &ev->info);
	ev->name         = ev->info.name;
	ev->kind         = ev->info.kind;
	ev->keys         = k;
	ev->nkeys        = nk;
	ev->values       = v;
	ev->nvalues      = nv;
	ev->count        = ev->kind == MPS_KIND_VALUE ? 1 : (int64_t) nv;
	ev->resync_index = idx;
	ev->resync_count = count;
	return 0;
}

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

static mps_err
w_resync(mps_watcher *w)
{
	wbatch *b = batch_new();
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
		if (ev_resync(b, r, idx++, count) != 0) {
			e = mps__fail(MPS_ERR_NOMEM, "out of memory");
			goto out;
		}
	}
	if (count == 0) {
		mps_watch_event *ev = batch_add(b);
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
	set_done(w, rev);
	w->cur         = rev;
	w->pub_count   = 0;
	w->syncing     = 0;
	w->need_resync = 0;
	w->progress    = rev;
	STAT_ADD(w, resyncs, 1);
	batch_push(w, b);
	b = NULL;
out:
	if (w->prefix) {
		for (size_t i = 0; i < nnames; i++) {
			free((char *) names[i]);
		}
	}
	free(names);
	free(ops);
	batch_free(b);
	return e;
}

/* ---- PUB messages ---- */

static int
topic_matches(const mps_watcher *w, const char *t)
{
	return w->prefix ? strncmp(t, w->match, w->mlen) == 0 : strcmp(t, w->match) == 0;
}

static void
on_heartbeat(mps_watcher *w, const uint8_t *p, size_t len)
{
	mps__arena           a;
	char                 buf[256];
	mps__arena_init(&a, buf, sizeof(buf));
	Mpstore__Notification *n = mpstore__notification__unpack(&a.pa, len, p);
	if (n == NULL) {
		mps__arena_fini(&a);
		return;
	}
	uint64_t r = n->revision;
	mps__arena_fini(&a);
	STAT_ADD(w, heartbeats, 1);
	/* Heartbeats come from one thread, in order: one lower than an earlier
	 * one means the daemon went back in time (restarted without its
	 * data), and what we delivered is not its history any more. (Not
	 * compared with notifications: a heartbeat may read the revision just
	 * before a commit and be sent just after its notifications.) */
	if (r < w->hbmax) {
		w->hbmax       = r;
		w->syncing     = 0;
		w->need_resync = 1;
		return;
	}
	w->hbmax = r;
	if (r > w->done && (w->cur < r || !(w->flags & MPS_WATCH_F_NO_AUDIT))) {
		/* trailing notifications may have been dropped, and the audit
		 * checks what PUB delivered since the last catch-up */
		start_sync(w, r + 1);
	}
}

static void
on_message(mps_watcher *w, nng_msg *m)
{
	const char *body = nng_msg_body(m);
	size_t      len  = nng_msg_len(m);
	const char *nul  = memchr(body, '\0', len);
	if (nul == NULL) {
		return; /* not ours */
	}
	const uint8_t *p  = (const uint8_t *) nul + 1;
	size_t         pl = len - (size_t) (p - (const uint8_t *) body);
	w->last_msg_ms    = now_ms();
	if (nul == body) {
		on_heartbeat(w, p, pl);
		return;
	}
	if (!topic_matches(w, body) || w->need_resync || w->syncing) {
		return; /* a catch-up in progress covers it */
	}
	wbatch *b = batch_new();
	if (b == NULL) {
		start_sync(w, 0);
		return;
	}
	Mpstore__Notification *n = mpstore__notification__unpack(&b->a.pa, pl, p);
	if (n == NULL) {
		batch_free(b);
		start_sync(w, 0);
		return;
	}
	STAT_ADD(w, notifications, 1);
	uint64_t dups = 0;
	for (size_t i = 0; i < n->n_changes; i++) {
		const Mpstore__Change *ch = n->changes[i];
		uint64_t               r  = ch->revision;
		if (r <= w->done) {
			dups++;
			continue;
		}
		if (r != w->cur && r != w->cur + 1) {
			/* revisions are global: the ones between may be other
			 * containers' or lost ones of ours; the daemon knows */
			STAT_ADD(w, gaps, 1);
			start_sync(w, r);
			break;
		}
		if (ev_change(b, ch, 0) != 0) {
			start_sync(w, 0);
			break;
		}
		w->cur = r;
		w->pub_count++;
	}
	if (dups) {
		STAT_ADD(w, duplicates, dups);
	}
	batch_push(w, b);
}

/* ---- the engine ---- */

/* Make progress until an event is queued; MPS_ERR_TIMEOUT at deadline
 * (< 0: none), MPS_ERR_CLOSED when stopped. */
static mps_err
w_fill(mps_watcher *w, int64_t deadline)
{
	for (int first = 1; w->head == NULL; first = 0) {
		if (atomic_load(&w->stop)) {
			return MPS_ERR_CLOSED;
		}
		int64_t now = now_ms();
		if (deadline >= 0 && now >= deadline && (!first || w->retry_at_ms > now)) {
			return MPS_ERR_TIMEOUT;
		}
		if (w->retry_at_ms > now) {
			int64_t t = w->retry_at_ms - now;
			if (deadline >= 0 && deadline - now < t) {
				t = deadline - now;
			}
			sleep_ms(t < 50 ? t : 50);
			continue;
		}
		if (w->need_resync || w->syncing) {
			mps_err e = w->need_resync ? w_resync(w) : w_sync_page(w);
			if (e != MPS_OK) {
				w_failed(w, e);
			} else {
				w_succeeded(w);
			}
			continue;
		}
		if (now - w->last_msg_ms > W_SILENCE_MS && now - w->last_sync_ms > W_POLL_MS) {
			start_sync(w, 0); /* no heartbeat: PUB unreachable? ask */
			continue;
		}
		int64_t slice = W_RECV_SLICE_MS;
		if (deadline >= 0 && deadline - now < slice) {
			slice = deadline - now;
		}
		nng_msg *m  = NULL;
		int      rv;
		if (slice <= 0) {
			rv = nng_recvmsg(w->sub, &m, NNG_FLAG_NONBLOCK);
		} else {
			nng_aio_set_timeout(w->aio, (nng_duration) slice);
			nng_recv_aio(w->sub, w->aio);
			nng_aio_wait(w->aio);
			rv = nng_aio_result(w->aio);
			if (rv == 0) {
				m = nng_aio_get_msg(w->aio);
				nng_aio_set_msg(w->aio, NULL);
			}
		}
		if (rv == 0) {
			on_message(w, m);
			nng_msg_free(m);
		} else if (rv == NNG_ECLOSED) {
			return MPS_ERR_CLOSED;
		} else if (deadline >= 0 && now_ms() >= deadline && w->head == NULL) {
			return MPS_ERR_TIMEOUT;
		}
	}
	return MPS_OK;
}

static mps_err
w_next(mps_watcher *w, const mps_watch_event **ev, int timeout_ms)
{
	batch_free(w->shown);
	w->shown = NULL;
	mps_err e = w_fill(w, timeout_ms < 0 ? -1 : now_ms() + timeout_ms);
	if (e != MPS_OK) {
		return e;
	}
	wbatch *b = w->head;
	*ev       = &b->ev[b->pos++];
	if (b->pos == b->n) {
		w->head = b->next;
		if (w->head == NULL) {
			w->tail = NULL;
		}
		w->shown = b;
	}
	STAT_ADD(w, delivered, 1);
	return MPS_OK;
}

static void *
watch_main(void *arg)
{
	mps_watcher *w = arg;
	while (!atomic_load(&w->stop)) {
		const mps_watch_event *ev;
		if (w_next(w, &ev, 500) == MPS_OK) {
			w->cb(ev, w->cb_arg);
		}
	}
	return NULL;
}

/* ---- open / close ---- */

static mps_err
sub_open(mps_watcher *w, const char *url)
{
	int rv;
	if ((rv = nng_sub0_open(&w->sub)) != 0) {
		return mps__from_nng(rv);
	}
	nng_socket_set_int(w->sub, NNG_OPT_RECVBUF, 8192);
	nng_socket_set_ms(w->sub, NNG_OPT_RECONNMINT, 20);
	nng_socket_set_ms(w->sub, NNG_OPT_RECONNMAXT, 1000);
	nng_socket_set_size(w->sub, NNG_OPT_RECVMAXSZ, 0);
	/* nng's SUB matches topics as prefixes: "name\0" is one container,
	 * "prefix" all under it, "" everything; the 1-byte "\0" is exactly
	 * the heartbeats (empty name). */
	if (w->prefix) {
		rv = nng_socket_set(w->sub, NNG_OPT_SUB_SUBSCRIBE, w->match, w->mlen);
	} else {
		rv = nng_socket_set(w->sub, NNG_OPT_SUB_SUBSCRIBE, w->match, w->mlen + 1);
	}
	if (rv == 0 && w->mlen > 0) {
		rv = nng_socket_set(w->sub, NNG_OPT_SUB_SUBSCRIBE, "", 1);
	}
	if (rv == 0) {
		rv = nng_aio_alloc(&w->aio, NULL, NULL);
	}
	if (rv != 0) {
		return mps__from_nng(rv);
	}
	/* connected when this returns, if the daemon is there; else nng keeps
	 * dialing in the background and the watch polls meanwhile */
	rv = nng_dial(w->sub, url, NULL, 0);
	if (rv != 0 && rv != NNG_ENOMEM) {
		rv = nng_dial(w->sub, url, NULL, NNG_FLAG_NONBLOCK);
	}
	if (rv != 0) {
		return mps__fail(rv == NNG_ENOMEM ? MPS_ERR_NOMEM : MPS_ERR_CONNECT,
		    "cannot subscribe to %s: %s", url, nng_strerror(rv));
	}
	return MPS_OK;
}

mps_err
mps_watch(mps_client *c, const char *what, const mps_watch_opts *opts, mps_watcher **out)
{
	mps_watch_opts o = {0};
	mps_err        e;
	mps__clear_error();
	*out = NULL;
	if (opts != NULL) {
		o = *opts;
	}
	if (c == NULL || what == NULL) {
		return mps__fail(MPS_ERR_INVALID, "mps_watcher needs a client and a name");
	}
	mps_watcher *w = calloc(1, sizeof(*w));
	if (w == NULL) {
		return mps__fail(MPS_ERR_NOMEM, "out of memory");
	}
	pthread_mutex_init(&w->smtx, NULL);
	atomic_init(&w->stop, 0);
	w->c      = c;
	w->flags  = o.flags;
	w->cb     = o.cb;
	w->cb_arg = o.cb_arg;
	size_t n  = strlen(what);
	w->prefix = n == 0 || what[n - 1] == '*';
	w->mlen   = w->prefix && n > 0 ? n - 1 : n;
	w->match  = strndup(what, w->mlen);
	w->what   = malloc(w->mlen + 2);
	if (w->match == NULL || w->what == NULL) {
		e = mps__fail(MPS_ERR_NOMEM, "out of memory");
		goto fail;
	}
	snprintf(w->what, w->mlen + 2, "%s%s", w->match, w->prefix ? "*" : "");
	if (memchr(w->match, '*', w->mlen) != NULL) {
		e = mps__fail(MPS_ERR_INVALID, "'*' may only end a watched prefix: '%s'", what);
		goto fail;
	}
	char        hello_url[512];
	const char *url = o.pub_url;
	if (url == NULL || url[0] == '\0') {
		url = getenv("MPSTORE_PUB_URL");
	}
	if ((url == NULL || url[0] == '\0') && mps__hello_pub_url(c, hello_url, sizeof(hello_url))) {
		url = hello_url; /* where the daemon says it publishes */
	}
	if (url == NULL || url[0] == '\0') {
		url = MPS_DEFAULT_PUB_URL;
	}
	if ((e = sub_open(w, url)) != MPS_OK) {
		goto fail;
	}
	/* the last committed revision: "now", and proof the daemon answers */
	{
		mps__call call;
		mps_op    op = {.code = MPS_OP_CHANGES, .name = w->what, .from_revision = UINT64_MAX};
		e            = mps__call_op(c, &op, &call);
		uint64_t rev = e == MPS_OK ? call.res->revision : 0;
		mps__call_fini(&call);
		if (e != MPS_OK) {
			goto fail;
		}
		if (o.from_revision == 0) {
			w->done = w->cur = rev;
		} else {
			w->done = w->cur = o.from_revision - 1;
			start_sync(w, 0);
		}
		w->progress = w->done;
	}
	if (o.flags & MPS_WATCH_F_RESYNC_FIRST) {
		w->syncing     = 0;
		w->need_resync = 1;
	}
	w->last_msg_ms = now_ms();
	if (w->cb != NULL) {
		if (pthread_create(&w->thr, NULL, watch_main, w) != 0) {
			e = mps__fail(MPS_ERR_NOMEM, "cannot start the watch thread");
			goto fail;
		}
		w->thr_running = 1;
	}
	*out = w;
	return MPS_OK;
fail:
	mps_unwatch(w);
	return e;
}

mps_err
mps_watch_next(mps_watcher *w, const mps_watch_event **ev, int timeout_ms)
{
	*ev = NULL;
	if (w->cb != NULL) {
		return mps__fail(MPS_ERR_INVALID, "this watch delivers to its callback");
	}
	mps_err e = w_next(w, ev, timeout_ms);
	return e == MPS_OK ? MPS_OK : mps__fail(e, "%s", mps_strerror(e));
}

int
mps_watch_fd(mps_watcher *w)
{
	int fd;
	return nng_socket_get_int(w->sub, NNG_OPT_RECVFD, &fd) == 0 ? fd : -1;
}

uint64_t
mps_watch_revision(mps_watcher *w)
{
	pthread_mutex_lock(&w->smtx);
	uint64_t r = w->done;
	pthread_mutex_unlock(&w->smtx);
	return r;
}

void
mps_watch_stats_get(mps_watcher *w, mps_watch_stats *st)
{
	pthread_mutex_lock(&w->smtx);
	*st = w->st;
	pthread_mutex_unlock(&w->smtx);
}

void
mps__watch_request_resync(mps_watcher *w)
{
	w->syncing     = 0;
	w->need_resync = 1;
}

void
mps_unwatch(mps_watcher *w)
{
	if (w == NULL) {
		return;
	}
	atomic_store(&w->stop, 1);
	if (w->thr_running) {
		/* a receive posted after this cancel ends within W_RECV_SLICE_MS */
		nng_aio_cancel(w->aio);
		pthread_join(w->thr, NULL);
		w->thr_running = 0;
	}
	if (w->aio != NULL) {
		nng_aio_stop(w->aio);
	}
	nng_close(w->sub); /* a socket never opened has id 0: harmless */
	nng_aio_free(w->aio);
	batches_free(w->head);
	batch_free(w->shown);
	pthread_mutex_destroy(&w->smtx);
	free(w->match);
	free(w->what);
	free(w);
}
