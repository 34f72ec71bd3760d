/* session.c - client sessions, leases and the answer cache for re-sends. */
#include "session.h"

#include <stdlib.h>
#include <string.h>

struct mpsd_sessions {
	mpsd_session **buckets;
	size_t         nbuckets, count;
	void         (*on_free)(void *arg, uint64_t sid);
	void          *on_free_arg;
};

mpsd_sessions *mpsd_sessions_alloc(void)
{
	mpsd_sessions *ss = calloc(1, sizeof(*ss));
	if (ss == NULL)
		return NULL;
	ss->nbuckets = 256;
	ss->buckets = calloc(ss->nbuckets, sizeof(*ss->buckets));
	if (ss->buckets == NULL) {
		free(ss);
		return NULL;
	}
	return ss;
}

/* Drop a kept answer (a re-send of it will run again). */
static void slot_clear(mpsd_session *s, mpsd_dedupe *d)
{
	if (d->data != NULL)
		s->cache_bytes -= d->len;
	free(d->data);
	d->data = NULL;
	d->len = 0;
}

static void session_free(mpsd_session *s)
{
	for (size_t i = 0; i < MPSD_DEDUPE_SLOTS; i++)
		free(s->slots[i].data);
	free(s);
}

void mpsd_sessions_free(mpsd_sessions *ss)
{
	if (ss == NULL)
		return;
	for (size_t i = 0; i < ss->nbuckets; i++) {
		mpsd_session *s = ss->buckets[i];
		while (s != NULL) {
			mpsd_session *n = s->next;
			session_free(s);
			s = n;
		}
	}
	free(ss->buckets);
	free(ss);
}

size_t mpsd_sessions_count(const mpsd_sessions *ss) { return ss->count; }

void mpsd_sessions_on_free(mpsd_sessions *ss, void (*fn)(void *arg, uint64_t sid), void *arg)
{
	ss->on_free = fn;
	ss->on_free_arg = arg;
}

size_t mpsd_sessions_cache_bytes(const mpsd_sessions *ss)
{
	size_t n = 0;
	for (size_t i = 0; i < ss->nbuckets; i++)
		for (const mpsd_session *s = ss->buckets[i]; s != NULL; s = s->next)
			n += s->cache_bytes;
	return n;
}

static size_t bucket(const mpsd_sessions *ss, uint64_t id)
{
	return (size_t)((id * 0x9E3779B97F4A7C15ull) >> 32) & (ss->nbuckets - 1);
}

static void grow(mpsd_sessions *ss)
{
	size_t         n = ss->nbuckets * 2;
	mpsd_session **b = calloc(n, sizeof(*b));
	if (b == NULL)
		return;
	size_t old = ss->nbuckets;
	mpsd_session **ob = ss->buckets;
	ss->buckets = b;
	ss->nbuckets = n;
	for (size_t i = 0; i < old; i++) {
		mpsd_session *s = ob[i];
		while (s != NULL) {
			mpsd_session *nx = s->next;
			size_t        k = bucket(ss, s->id);
			s->next = b[k];
			b[k] = s;
			s = nx;
		}
	}
	free(ob);
}

mpsd_session *mpsd_session_find(mpsd_sessions *ss, uint64_t id)
{
	for (mpsd_session *s = ss->buckets[bucket(ss, id)]; s != NULL; s = s->next)
		if (s->id == id)
			return s;
	return NULL;
}

mpsd_session *mpsd_session_get(mpsd_sessions *ss, uint64_t id)
{
	size_t k = bucket(ss, id);
	for (mpsd_session *s = ss->buckets[k]; s != NULL; s = s->next)
		if (s->id == id)
			return s;
	mpsd_session *s = calloc(1, sizeof(*s));
	if (s == NULL)
		return NULL;
	s->id = id;
	s->next = ss->buckets[k];
	ss->buckets[k] = s;
	if (++ss->count > ss->nbuckets * 2)
		grow(ss);
	return s;
}

void mpsd_session_touch(mpsd_session *s, uint32_t pipe, int64_t now_ms)
{
	s->pipe = pipe;
	s->last_seen = now_ms;
	s->gone_at = 0;
}

int mpsd_session_seen(mpsd_session *s, uint64_t reqid, mpsd_req *r, const uint8_t **data,
    size_t *len, mpsd_req **pending)
{
	if (reqid == 0)
		return MPSD_SEEN_NEW; /* "no re-send recognition": nothing kept */
	mpsd_dedupe *d = &s->slots[reqid % MPSD_DEDUPE_SLOTS];
	if (d->id == reqid) {
		if (d->data != NULL) {
			*data = d->data;
			*len = d->len;
			return MPSD_SEEN_DONE;
		}
		if (d->pending != NULL) {
			*pending = d->pending;
			return MPSD_SEEN_PENDING;
		}
	}
	/* a newer id takes the slot; the older answer is forgotten */
	slot_clear(s, d);
	d->id = reqid;
	d->pending = r;
	return MPSD_SEEN_NEW;
}

/* Drop the oldest kept answers, but never `keep`, until the session is
 * within its bound. */
static void cache_trim(mpsd_session *s, const mpsd_dedupe *keep)
{
	while (s->cache_bytes > MPSD_DEDUPE_BYTES) {
		mpsd_dedupe *old = NULL;
		for (size_t i = 0; i < MPSD_DEDUPE_SLOTS; i++) {
			mpsd_dedupe *d = &s->slots[i];
			if (d->data != NULL && d != keep && (old == NULL || d->seq < old->seq))
				old = d;
		}
		if (old == NULL)
			return;
		slot_clear(s, old);
		old->id = 0;
	}
}

void mpsd_session_answered(mpsd_session *s, uint64_t reqid, const void *data, size_t len, int keep)
{
	mpsd_dedupe *d = &s->slots[reqid % MPSD_DEDUPE_SLOTS];
	if (reqid == 0 || d->id != reqid)
		return;
	d->pending = NULL;
	slot_clear(s, d); /* an answer given twice replaces the first */
	if (keep && (d->data = malloc(len ? len : 1)) != NULL) {
		if (len > 0) /* a restored empty answer comes as NULL */
			memcpy(d->data, data, len);
		d->len = len;
		d->seq = ++s->answers;
		s->cache_bytes += len;
		cache_trim(s, d);
	} else {
		d->id = 0;
	}
}

int mpsd_session_restore(mpsd_sessions *ss, uint64_t sid, uint64_t reqid, const void *data,
    size_t len, int64_t now_ms)
{
	mpsd_session *s = mpsd_session_get(ss, sid);
	if (s == NULL || reqid == 0)
		return -1;
	if (s->gone_at == 0)
		s->gone_at = now_ms; /* ended: freed one lease from now */
	mpsd_dedupe *d = &s->slots[reqid % MPSD_DEDUPE_SLOTS];
	slot_clear(s, d);
	d->id = reqid;
	mpsd_session_answered(s, reqid, data, len, 1);
	return d->id == reqid ? 0 : -1;
}

void mpsd_session_forget(mpsd_session *s, uint64_t reqid)
{
	mpsd_dedupe *d = &s->slots[reqid % MPSD_DEDUPE_SLOTS];
	if (reqid != 0 && d->id == reqid && d->data == NULL) {
		d->pending = NULL;
		d->id = 0;
	}
}

void mpsd_sessions_reap(mpsd_sessions *ss, uint32_t pipe, int64_t now_ms, int64_t lease_ms,
    void (*fn)(void *arg, uint64_t sid), void *arg)
{
	int64_t keep = lease_ms > 0 ? lease_ms : 10000;
	for (size_t i = 0; i < ss->nbuckets; i++) {
		mpsd_session **pp = &ss->buckets[i];
		while (*pp != NULL) {
			mpsd_session *s = *pp;
			if (s->gone_at != 0) {
				if (pipe == 0 && now_ms - s->gone_at > keep) {
					*pp = s->next; /* its re-sends are long over */
					ss->count--;
					if (ss->on_free != NULL)
						ss->on_free(ss->on_free_arg, s->id);
					session_free(s);
					continue;
				}
				pp = &s->next;
				continue;
			}
			int dead = (pipe != 0 && s->pipe == pipe) ||
			    (pipe == 0 && lease_ms > 0 && now_ms - s->last_seen > lease_ms);
			if (dead) {
				s->gone_at = now_ms;
				s->pipe = 0;
				fn(arg, s->id);
			}
			pp = &s->next;
		}
	}
}
