/*
 * mirror.c - a local read-only copy of one container, kept current by a
 * watch (initial resync, then every change applied in order, as the
 * daemon's kinds apply them: daemon/k_*.c apply()).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "watch_int.h"

typedef struct dent {
	mps_value k, v;
	int       live;
} dent;

struct mps_mirror {
	mps_watcher      *w;
	pthread_mutex_t mtx;
	pthread_cond_t  cv;
	uint64_t        revision;
	int             ready;
	uint64_t        apply_errors;
	mps_kind        kind;
	mps_elem_type   elem_type;
	/* list, array, queue */
	mps_value *vals;
	size_t     n, cap;
	/* dict, namespace: entries in insertion order, hash of entry indices */
	dent   *ents;
	size_t  nent, entcap, nlive;
	size_t *ht; /* index + 1; 0 = empty slot */
	size_t  htcap;
	/* value */
	mps_value value;
	mps__forkable fk;
};

/* ---- dict ---- */

static uint64_t
key_hash(const mps_value *k)
{
	uint64_t h = 1469598103934665603ull ^ (uint64_t) k->type;
	if (k->type == MPS_STRING || k->type == MPS_BYTES || k->type == MPS_MESSAGE) {
		for (size_t i = 0; i < k->u.s.len; i++) {
			h = (h ^ (uint8_t) k->u.s.ptr[i]) * 1099511628211ull;
		}
	} else {
		h = (h ^ (uint64_t) k->u.i) * 1099511628211ull;
		h ^= h >> 29;
	}
	return h;
}

/* Slot of key (its entry is live), or of the first empty slot. */
static size_t
ht_find(const mps_mirror *m, const mps_value *k, int *found)
{
	size_t mask = m->htcap - 1, i = (size_t) key_hash(k) & mask;
	*found = 0;
	for (;; i = (i + 1) & mask) {
		size_t e = m->ht[i];
		if (e == 0) {
			return i;
		}
		const dent *d = &m->ents[e - 1];
		if (d->live && mps_value_equal(&d->k, k)) {
			*found = 1;
			return i;
		}
	}
}

static void
dict_free(mps_mirror *m)
{
	for (size_t i = 0; i < m->nent; i++) {
		mps_value_free(&m->ents[i].k);
		mps_value_free(&m->ents[i].v);
	}
	free(m->ents);
	free(m->ht);
	m->ents = NULL;
	m->ht   = NULL;
	m->nent = m->entcap = m->nlive = m->htcap = 0;
}

/* Drop dead entries and rebuild the hash with room for `room` more. */
static int
dict_rebuild(mps_mirror *m, size_t room)
{
	size_t k = 0;
	for (size_t i = 0; i < m->nent; i++) {
		if (m->ents[i].live) {
			m->ents[k++] = m->ents[i];
		}
	}
	m->nent = k;
	size_t cap = 16;
	while (cap < 2 * (k + room) + 8) {
		cap *= 2;
	}
	size_t *ht = calloc(cap, sizeof(*ht));
	if (ht == NULL) {
		return -1;
	}
	free(m->ht);
	m->ht    = ht;
	m->htcap = cap;
	for (size_t i = 0; i < k; i++) {
		int    f;
		size_t s = ht_find(m, &m->ents[i].k, &f);
		m->ht[s] = i + 1;
	}
	return 0;
}

static int
dict_set(mps_mirror *m, const mps_value *k, const mps_value *v)
{
	if (m->htcap == 0 || 2 * (m->nent + 1) + 8 > m->htcap) {
		if (dict_rebuild(m, m->nlive + 1) != 0) {
			return -1;
		}
	}
	int    f;
	size_t s = ht_find(m, k, &f);
	if (f) {
		dent     *d = &m->ents[m->ht[s] - 1];
		mps_value nv;
		if (mps_value_dup(&nv, v) != MPS_OK) {
			return -1;
		}
		mps_value_free(&d->v);
		d->v = nv;
		return 0;
	}
	if (m->nent == m->entcap) {
		size_t ncap = m->entcap ? m->entcap * 2 : 16;
		dent  *ne   = realloc(m->ents, ncap * sizeof(*ne));
		if (ne == NULL) {
			return -1;
		}
		m->ents   = ne;
		m->entcap = ncap;
	}
	dent *d = &m->ents[m->nent];
	if (mps_value_dup(&d->k, k) != MPS_OK) {
		return -1;
	}
	if (mps_value_dup(&d->v, v) != MPS_OK) {
		mps_value_free(&d->k);
		return -1;
	}
	d->live  = 1;
	m->ht[s] = ++m->nent;
	m->nlive++;
	return 0;
}

static void
dict_del(mps_mirror *m, const mps_value *k)
{
	if (m->htcap == 0) {
		return;
	}
	int    f;
	size_t s = ht_find(m, k, &f);
	if (!f) {
		return;
	}
	dent *d = &m->ents[m->ht[s] - 1];
	mps_value_free(&d->k);
	mps_value_free(&d->v);
	d->live = 0; /* its slot stays taken (a tombstone) until a rebuild */
	m->nlive--;
	if (m->nent > 2 * m->nlive + 64) {
		dict_rebuild(m, 0);
	}
}

/* ---- list, array, queue ---- */

static void
list_free(mps_mirror *m)
{
	mps_values_free(m->vals, m->n);
	m->vals = NULL;
	m->n = m->cap = 0;
}

static int
list_insert(mps_mirror *m, size_t at, const mps_value *v, size_t n)
{
	if (at > m->n) {
		return -1;
	}
	if (m->n + n > m->cap) {
		size_t ncap = m->cap ? m->cap : 16;
		while (ncap < m->n + n) {
			ncap *= 2;
		}
		mps_value *nv = realloc(m->vals, ncap * sizeof(*nv));
		if (nv == NULL) {
			return -1;
		}
		m->vals = nv;
		m->cap  = ncap;
	}
	if (m->n > at) {
		memmove(m->vals + at + n, m->vals + at, (m->n - at) * sizeof(*m->vals));
	}
	for (size_t i = 0; i < n; i++) {
		if (mps_value_dup(&m->vals[at + i], &v[i]) != MPS_OK) {
			m->vals[at + i] = mps_null();
		}
	}
	m->n += n;
	return 0;
}

static int
list_delete(mps_mirror *m, int64_t at, int64_t n)
{
	if (at < 0 || n < 0 || (uint64_t) at > m->n || (uint64_t) n > m->n - (size_t) at) {
		return -1;
	}
	for (int64_t i = 0; i < n; i++) {
		mps_value_free(&m->vals[at + i]);
	}
	memmove(m->vals + at, m->vals + at + n, (m->n - (size_t) (at + n)) * sizeof(*m->vals));
	m->n -= (size_t) n;
	return 0;
}

static int
list_set(mps_mirror *m, int64_t at, const mps_value *v, size_t n)
{
	if (at < 0 || (uint64_t) at > m->n || n > m->n - (size_t) at) {
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		mps_value nv;
		if (mps_value_dup(&nv, &v[i]) != MPS_OK) {
			return -1;
		}
		mps_value_free(&m->vals[at + (int64_t) i]);
		m->vals[at + (int64_t) i] = nv;
	}
	return 0;
}

static mps_value
zero_of(mps_elem_type t, int64_t count)
{
	switch (t) {
	case MPS_TYPE_INT64: return mps_int(count);
	case MPS_TYPE_DOUBLE: return mps_double(0);
	case MPS_TYPE_BOOL: return mps_bool(0);
	case MPS_TYPE_STRING: return mps_strn("", 0);
	case MPS_TYPE_BYTES: return mps_bytes("", 0);
	case MPS_TYPE_MESSAGE: return mps_message("", 0);
	default: return mps_null();
	}
}

static void
array_zero(mps_mirror *m)
{
	mps_value z = zero_of(m->elem_type, 0);
	for (size_t i = 0; i < m->n; i++) {
		mps_value_free(&m->vals[i]);
		m->vals[i] = z;
	}
}

/* ---- applying events ---- */

static void
state_clear(mps_mirror *m)
{
	list_free(m);
	dict_free(m);
	mps_value_free(&m->value);
	m->kind = MPS_KIND_NONE;
}

static int
is_dict(mps_kind k)
{
	return k == MPS_KIND_DICT || k == MPS_KIND_NAMESPACE;
}

static int
is_seq(mps_kind k)
{
	return k == MPS_KIND_LIST || k == MPS_KIND_ARRAY || k == MPS_KIND_QUEUE;
}

static int
apply_create(mps_mirror *m, const mps_watch_event *ev)
{
	state_clear(m);
	m->kind      = ev->kind;
	m->elem_type = ev->has_info ? ev->info.elem_type : MPS_TYPE_ANY;
	if (m->kind == MPS_KIND_VALUE) {
		if (ev->value.type != MPS_NULL) {
			return mps_value_dup(&m->value, &ev->value) == MPS_OK ? 0 : -1;
		}
		mps_value z = zero_of(m->elem_type, ev->has_info ? ev->info.capacity : 0);
		return mps_value_dup(&m->value, &z) == MPS_OK ? 0 : -1;
	}
	if (m->kind == MPS_KIND_ARRAY && ev->has_info && ev->info.capacity > 0) {
		mps_value z   = zero_of(m->elem_type, 0);
		size_t    len = (size_t) ev->info.capacity;
		for (size_t i = 0; i < len; i++) {
			if (list_insert(m, m->n, &z, 1) != 0) {
				return -1;
			}
		}
	}
	return 0;
}

static int
apply_resync(mps_mirror *m, const mps_watch_event *ev)
{
	state_clear(m);
	if (ev->kind == MPS_KIND_NONE) {
		return 0;
	}
	m->kind      = ev->kind;
	m->elem_type = ev->info.elem_type;
	if (m->kind == MPS_KIND_VALUE) {
		return mps_value_dup(&m->value, &ev->value) == MPS_OK ? 0 : -1;
	}
	if (is_dict(m->kind)) {
		for (size_t i = 0; i < ev->nkeys && i < ev->nvalues; i++) {
			if (dict_set(m, &ev->keys[i], &ev->values[i]) != 0) {
				return -1;
			}
		}
		return 0;
	}
	return list_insert(m, 0, ev->values, ev->nvalues);
}

static int
apply_change(mps_mirror *m, const mps_watch_event *ev)
{
	if (m->kind == MPS_KIND_VALUE) {
		if (ev->change == MPS_CH_SET) {
			mps_value nv;
			if (mps_value_dup(&nv, &ev->value) != MPS_OK) {
				return -1;
			}
			mps_value_free(&m->value);
			m->value = nv;
			return 0;
		}
		if (ev->change == MPS_CH_CLEAR) {
			mps_value_free(&m->value);
			mps_value z = zero_of(m->elem_type, 0);
			return mps_value_dup(&m->value, &z) == MPS_OK ? 0 : -1;
		}
		return -1;
	}
	if (is_dict(m->kind)) {
		switch (ev->change) {
		case MPS_CH_DICT_SET:
			if (ev->nkeys != ev->nvalues) {
				return -1;
			}
			for (size_t i = 0; i < ev->nkeys; i++) {
				if (dict_set(m, &ev->keys[i], &ev->values[i]) != 0) {
					return -1;
				}
			}
			return 0;
		case MPS_CH_DICT_DELETE:
			for (size_t i = 0; i < ev->nkeys; i++) {
				dict_del(m, &ev->keys[i]);
			}
			return 0;
		case MPS_CH_CLEAR: dict_free(m); return 0;
		default: return -1;
		}
	}
	if (m->kind == MPS_KIND_ARRAY) {
		switch (ev->change) {
		case MPS_CH_LIST_SET:
			return ev->nvalues == 0 ? list_set(m, ev->index, &ev->value, 1)
			                        : list_set(m, ev->index, ev->values, ev->nvalues);
		case MPS_CH_LIST_INSERT: return list_set(m, ev->index, ev->values, ev->nvalues);
		case MPS_CH_CLEAR: array_zero(m); return 0;
		default: return -1;
		}
	}
	if (m->kind == MPS_KIND_QUEUE) {
		switch (ev->change) {
		case MPS_CH_QUEUE_PUT: return list_insert(m, m->n, ev->values, ev->nvalues);
		case MPS_CH_QUEUE_GET: return list_delete(m, 0, ev->count);
		case MPS_CH_CLEAR: list_free(m); return 0;
		case MPS_CH_STATE: return 0; /* unfinished-task count: not mirrored */
		default: return -1;
		}
	}
	if (m->kind == MPS_KIND_LIST) {
		switch (ev->change) {
		case MPS_CH_LIST_INSERT:
			if (ev->index < 0) {
				return -1;
			}
			return list_insert(m, (size_t) ev->index, ev->values, ev->nvalues);
		case MPS_CH_LIST_SET: return list_set(m, ev->index, &ev->value, 1);
		case MPS_CH_LIST_DELETE: return list_delete(m, ev->index, ev->count);
		case MPS_CH_CLEAR: list_free(m); return 0;
		default: return -1;
		}
	}
	return m->kind == MPS_KIND_NONE ? -1 : 0; /* sync kinds: nothing kept */
}

static void
mirror_cb(const mps_watch_event *ev, void *arg)
{
	mps_mirror *m  = arg;
	int         rv = 0;
	pthread_mutex_lock(&m->mtx);
	switch (ev->type) {
	case MPS_WATCH_RESYNC:
		if (ev->resync_index == 0 || ev->resync_count <= 1) {
			rv = apply_resync(m, ev);
		}
		m->ready = 1;
		break;
	case MPS_WATCH_CREATED: rv = apply_create(m, ev); break;
	case MPS_WATCH_DELETED: state_clear(m); break;
	case MPS_WATCH_CHANGE: rv = apply_change(m, ev); break;
	default: break;
	}
	if (rv != 0) {
		/* the copy no longer matches: start again from a full state */
		m->apply_errors++;
		mps__watch_request_resync(m->w);
	} else if (ev->revision > m->revision || ev->type == MPS_WATCH_RESYNC) {
		m->revision = ev->revision;
	}
	pthread_cond_broadcast(&m->cv);
	pthread_mutex_unlock(&m->mtx);
}

/* ---- fork: the copy stays readable in a child (as of the fork; the
 * watch that kept it current stays the parent's) ---- */

static void
fk_prepare(void *arg)
{
	pthread_mutex_lock(&((mps_mirror *) arg)->mtx);
}

static void
fk_parent(void *arg)
{
	pthread_mutex_unlock(&((mps_mirror *) arg)->mtx);
}

static void
fk_child(void *arg)
{
	mps_mirror *m = arg;
	pthread_mutex_init(&m->mtx, NULL);
	mps__cond_init(&m->cv);
}

/* ---- API ---- */

static void
deadline_ts(struct timespec *ts, int ms)
{
	clock_gettime(CLOCK_MONOTONIC, ts);
	ts->tv_sec += ms / 1000;
	ts->tv_nsec += (long) (ms % 1000) * 1000000L;
	if (ts->tv_nsec >= 1000000000L) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000L;
	}
}

mps_err
mps_mirror_open(mps_client *c, const char *name, const mps_watch_opts *opts, int timeout_ms,
                mps_mirror **out)
{
	if (out == NULL || c == NULL) {
		return mps__fail(MPS_ERR_INVALID, "mps_mirror_open: NULL handle or result pointer");
	}
	*out = NULL;
	if (name == NULL || name[0] == '\0' || name[strlen(name) - 1] == '*') {
		return mps__fail(MPS_ERR_INVALID, "a mirror copies one container, by its name");
	}
	mps_mirror *m = calloc(1, sizeof(*m));
	if (m == NULL) {
		return mps__fail(MPS_ERR_NOMEM, "out of memory");
	}
	pthread_mutex_init(&m->mtx, NULL);
	mps__cond_init(&m->cv);
	mps_watch_opts o = {
	    .pub_url = opts != NULL ? opts->pub_url : NULL,
	    .flags   = MPS_WATCH_F_RESYNC_FIRST | MPS_WATCH_F_PROGRESS,
	    .cb      = mirror_cb,
	    .cb_arg  = m,
	};
	/* the callback may run before mps_watcher returns: it needs m->w only
	 * to ask for a resync, under the lock taken here */
	pthread_mutex_lock(&m->mtx);
	mps_err e = mps_watch(c, name, &o, &m->w);
	if (e != MPS_OK) {
		pthread_mutex_unlock(&m->mtx);
		mps_mirror_close(m);
		return e;
	}
	struct timespec ts;
	deadline_ts(&ts, timeout_ms > 0 ? timeout_ms : 5000);
	int rv = 0;
	while (!m->ready && rv != ETIMEDOUT) {
		rv = pthread_cond_timedwait(&m->cv, &m->mtx, &ts);
	}
	int ready = m->ready;
	mps_kind kind = m->kind;
	pthread_mutex_unlock(&m->mtx);
	if (!ready) {
		mps_mirror_close(m);
		return mps__fail(MPS_ERR_TIMEOUT, "no initial state of '%s' within %d ms", name,
		    timeout_ms > 0 ? timeout_ms : 5000);
	}
	if (kind != MPS_KIND_NONE && kind != MPS_KIND_VALUE && !is_dict(kind) && !is_seq(kind)) {
		mps_mirror_close(m);
		return mps__fail(MPS_ERR_WRONG_KIND, "'%s' is a %s: a mirror copies lists, arrays, "
		    "dicts, namespaces, queues and values", name, mps_kind_name(kind));
	}
	m->fk = (mps__forkable){NULL, NULL, fk_prepare, fk_parent, fk_child, m};
	mps__fork_register(&m->fk);
	*out = m;
	return MPS_OK;
}

void
mps_mirror_close(mps_mirror *m)
{
	if (m == NULL) {
		return;
	}
	mps__fork_unregister(&m->fk);
	mps_unwatch(m->w);
	state_clear(m);
	pthread_cond_destroy(&m->cv);
	pthread_mutex_destroy(&m->mtx);
	free(m);
}

uint64_t
mps_mirror_revision(mps_mirror *m)
{
	if (m == NULL) {
		mps__fail(MPS_ERR_INVALID, "mps_mirror_revision: the mirror is NULL");
		return 0;
	}
	pthread_mutex_lock(&m->mtx);
	uint64_t r = m->revision;
	pthread_mutex_unlock(&m->mtx);
	return r;
}

mps_kind
mps_mirror_kind(mps_mirror *m)
{
	if (m == NULL) {
		mps__fail(MPS_ERR_INVALID, "mps_mirror_kind: the mirror is NULL");
		return MPS_KIND_NONE;
	}
	pthread_mutex_lock(&m->mtx);
	mps_kind k = m->kind;
	pthread_mutex_unlock(&m->mtx);
	return k;
}

static int64_t
len_locked(const mps_mirror *m)
{
	return m->kind == MPS_KIND_VALUE ? 1 : is_dict(m->kind) ? (int64_t) m->nlive : (int64_t) m->n;
}

int64_t
mps_mirror_len(mps_mirror *m)
{
	if (m == NULL) {
		mps__fail(MPS_ERR_INVALID, "mps_mirror_len: the mirror is NULL");
		return 0;
	}
	pthread_mutex_lock(&m->mtx);
	int64_t n = len_locked(m);
	pthread_mutex_unlock(&m->mtx);
	return n;
}

mps_err
mps_mirror_get(mps_mirror *m, int64_t index, mps_value *out)
{
	if (m == NULL || out == NULL) {
		return mps__fail(MPS_ERR_INVALID, "mps_mirror_get: NULL mirror or result");
	}
	mps_err e = MPS_OK;
	*out      = mps_null();
	pthread_mutex_lock(&m->mtx);
	if (!is_seq(m->kind)) {
		e = mps__fail(MPS_ERR_WRONG_KIND, "the mirror holds a %s", mps_kind_name(m->kind));
	} else {
		int64_t i = index < 0 ? index + (int64_t) m->n : index;
		if (i < 0 || i >= (int64_t) m->n) {
			e = mps__fail(MPS_ERR_INDEX, "index %lld out of range (length %zu)",
			    (long long) index, m->n);
		} else if (mps_value_dup(out, &m->vals[i]) != MPS_OK) {
			e = mps__fail(MPS_ERR_NOMEM, "out of memory");
		}
	}
	pthread_mutex_unlock(&m->mtx);
	return e;
}

mps_err
mps_mirror_dict_get(mps_mirror *m, const mps_value *key, mps_value *out)
{
	if (m == NULL || key == NULL || out == NULL) {
		return mps__fail(MPS_ERR_INVALID, "mps_mirror_dict_get: NULL mirror, key or result");
	}
	mps_err e = MPS_OK;
	*out      = mps_null();
	pthread_mutex_lock(&m->mtx);
	if (!is_dict(m->kind)) {
		e = mps__fail(MPS_ERR_WRONG_KIND, "the mirror holds a %s", mps_kind_name(m->kind));
	} else {
		int    f = 0;
		size_t s = m->htcap ? ht_find(m, key, &f) : 0;
		if (!f) {
			e = mps__fail(MPS_ERR_NO_KEY, "no such key");
		} else if (mps_value_dup(out, &m->ents[m->ht[s] - 1].v) != MPS_OK) {
			e = mps__fail(MPS_ERR_NOMEM, "out of memory");
		}
	}
	pthread_mutex_unlock(&m->mtx);
	return e;
}

mps_err
mps_mirror_value(mps_mirror *m, mps_value *out)
{
	if (m == NULL || out == NULL) {
		return mps__fail(MPS_ERR_INVALID, "mps_mirror_value: NULL mirror or result");
	}
	mps_err e = MPS_OK;
	*out      = mps_null();
	pthread_mutex_lock(&m->mtx);
	if (m->kind != MPS_KIND_VALUE) {
		e = mps__fail(MPS_ERR_WRONG_KIND, "the mirror holds a %s", mps_kind_name(m->kind));
	} else if (mps_value_dup(out, &m->value) != MPS_OK) {
		e = mps__fail(MPS_ERR_NOMEM, "out of memory");
	}
	pthread_mutex_unlock(&m->mtx);
	return e;
}

mps_err
mps_mirror_foreach(mps_mirror *m, int (*fn)(const mps_value *, const mps_value *, void *),
                   void *arg)
{
	if (m == NULL || fn == NULL) {
		return mps__fail(MPS_ERR_INVALID, "mps_mirror_foreach: NULL mirror or function");
	}
	pthread_mutex_lock(&m->mtx);
	if (m->kind == MPS_KIND_VALUE) {
		fn(NULL, &m->value, arg);
	} else if (is_dict(m->kind)) {
		for (size_t i = 0; i < m->nent; i++) {
			if (m->ents[i].live && fn(&m->ents[i].k, &m->ents[i].v, arg) != 0) {
				break;
			}
		}
	} else {
		for (size_t i = 0; i < m->n; i++) {
			if (fn(NULL, &m->vals[i], arg) != 0) {
				break;
			}
		}
	}
	pthread_mutex_unlock(&m->mtx);
	return MPS_OK;
}

mps_err
mps_mirror_items(mps_mirror *m, mps_value **keys, mps_value **values, size_t *n,
                 uint64_t *revision)
{
	if (m == NULL || keys == NULL || values == NULL || n == NULL) {
		return mps__fail(MPS_ERR_INVALID, "mps_mirror_items: NULL mirror or result pointer");
	}
	mps_err e = MPS_OK;
	*keys = *values = NULL;
	*n              = 0;
	pthread_mutex_lock(&m->mtx);
	size_t     len = (size_t) len_locked(m);
	mps_value *k   = is_dict(m->kind) && len ? calloc(len, sizeof(*k)) : NULL;
	mps_value *v   = len ? calloc(len, sizeof(*v)) : NULL;
	if (m->kind == MPS_KIND_NONE) {
		len = 0;
	} else if ((len && v == NULL) || (is_dict(m->kind) && len && k == NULL)) {
		e = mps__fail(MPS_ERR_NOMEM, "out of memory");
	} else if (m->kind == MPS_KIND_VALUE) {
		e = mps_value_dup(&v[0], &m->value);
	} else if (is_dict(m->kind)) {
		size_t j = 0;
		for (size_t i = 0; i < m->nent && e == MPS_OK; i++) {
			if (m->ents[i].live) {
				if (mps_value_dup(&k[j], &m->ents[i].k) != MPS_OK ||
				    mps_value_dup(&v[j], &m->ents[i].v) != MPS_OK) {
					e = MPS_ERR_NOMEM;
				}
				j++;
			}
		}
	} else {
		for (size_t i = 0; i < len && e == MPS_OK; i++) {
			e = mps_value_dup(&v[i], &m->vals[i]);
		}
	}
	if (revision != NULL) {
		*revision = m->revision;
	}
	pthread_mutex_unlock(&m->mtx);
	if (e != MPS_OK) {
		mps_values_free(k, len);
		mps_values_free(v, len);
		return mps__fail(MPS_ERR_NOMEM, "out of memory");
	}
	*keys   = k;
	*values = v;
	*n      = len;
	return MPS_OK;
}

mps_err
mps_mirror_wait_revision(mps_mirror *m, uint64_t rev, int timeout_ms)
{
	if (m == NULL) {
		return mps__fail(MPS_ERR_INVALID, "mps_mirror_wait_revision: the mirror is NULL");
	}
	struct timespec ts;
	int             rv = 0;
	if (timeout_ms >= 0) {
		deadline_ts(&ts, timeout_ms);
	}
	pthread_mutex_lock(&m->mtx);
	while (m->revision < rev && rv != ETIMEDOUT) {
		rv = timeout_ms < 0 ? pthread_cond_wait(&m->cv, &m->mtx)
		                    : pthread_cond_timedwait(&m->cv, &m->mtx, &ts);
	}
	int ok = m->revision >= rev;
	pthread_mutex_unlock(&m->mtx);
	return ok ? MPS_OK : mps__fail(MPS_ERR_TIMEOUT, "mirror not at revision %llu within %d ms",
	                                   (unsigned long long) rev, timeout_ms);
}
