/* watch_events.c - the events a watch hands out (watch_int.h): batches of
 * them, built from change records and dumps, pointing into the decoded
 * message or reply they came from. */
#include <stdlib.h>
#include <string.h>

#include "watch_int.h"

wbatch *
mps__wb_new(void)
{
	wbatch *b = calloc(1, sizeof(*b));
	if (b != NULL) {
		mps__arena_init(&b->a, NULL, 0);
	}
	return b;
}

void
mps__wb_free(wbatch *b)
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

mps_watch_event *
mps__wb_add(wbatch *b)
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
void
mps__wb_push(mps_watcher *w, wbatch *b)
{
	if (b->n == 0) {
		mps__wb_free(b);
		return;
	}
	if (w->tail != NULL) {
		w->tail->next = b;
	} else {
		w->head = b;
	}
	w->tail = b;
}

void
mps__wb_free_all(wbatch *b)
{
	while (b != NULL) {
		wbatch *n = b->next;
		mps__wb_free(b);
		b = n;
	}
}

/* Borrowed views of n protobuf values, in the batch's arena. */
const mps_value *
mps__wb_views(wbatch *b, Mpstore__Value *const *pv, size_t n)
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

int
mps__ev_change(wbatch *b, const Mpstore__Change *ch, int recovered)
{
	mps_watch_event *ev = mps__wb_add(b);
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
	ev->keys    = mps__wb_views(b, ch->keys, ch->n_keys);
	ev->nkeys   = ev->keys != NULL ? ch->n_keys : 0;
	ev->values  = mps__wb_views(b, ch->values, ch->n_values);
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

void
mps__ev_progress(mps_watcher *w, wbatch *b)
{
	if (!(w->flags & MPS_WATCH_F_PROGRESS) || w->done <= w->progress) {
		return;
	}
	mps_watch_event *ev = mps__wb_add(b);
	if (ev != NULL) {
		ev->type     = MPS_WATCH_PROGRESS;
		ev->revision = w->done;
		ev->name     = w->match;
		w->progress  = w->done;
	}
}

/* Merge a container's dump records into one RESYNC event. */
int
mps__ev_resync(wbatch *b, const Mpstore__Result *res, size_t idx, size_t count)
{
	mps_watch_event *ev = mps__wb_add(b);
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
