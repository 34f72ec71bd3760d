/* arena.c - bump allocation for building requests and decoding replies. */
#include <stdlib.h>
#include <string.h>

#include "mps_int.h"

struct mps__chunk {
	mps__chunk *next;
	size_t      cap;
	size_t      used;
	_Alignas(16) char data[];
};

#define MPS__ALIGN(n) (((n) + 15u) & ~(size_t) 15u)

static void *
arena_pa_alloc(void *ad, size_t n)
{
	return mps__arena_alloc(ad, n);
}

static void
arena_pa_free(void *ad, void *p)
{
	(void) ad;
	(void) p; /* freed with the arena */
}

void
mps__arena_init(mps__arena *a, void *buf, size_t cap)
{
	memset(a, 0, sizeof(*a));
	if (buf != NULL) {
		/* align the caller's buffer start */
		uintptr_t p   = (uintptr_t) buf;
		uintptr_t al  = (p + 15u) & ~(uintptr_t) 15u;
		a->fixed      = (char *) al;
		a->fixedcap   = cap > (al - p) ? cap - (al - p) : 0;
	}
	a->pa.alloc           = arena_pa_alloc;
	a->pa.free            = arena_pa_free;
	a->pa.allocator_data  = a;
}

static void
arena_free_chunks(mps__chunk *ch)
{
	while (ch != NULL) {
		mps__chunk *n = ch->next;
		free(ch);
		ch = n;
	}
}

void
mps__arena_reset(mps__arena *a)
{
	/* Several chunks: replace them with one that fits the whole last use,
	 * so that a reused batch stops allocating after warm-up. */
	if (a->head != NULL && a->head->next != NULL) {
		size_t need = a->total;
		arena_free_chunks(a->head);
		a->head = NULL;
		mps__chunk *ch = malloc(sizeof(*ch) + need);
		if (ch != NULL) {
			ch->next = NULL;
			ch->cap  = need;
			ch->used = 0;
			a->head  = ch;
		}
	} else if (a->head != NULL) {
		a->head->used = 0;
	}
	a->fixedused = 0;
	a->total     = 0;
}

void
mps__arena_fini(mps__arena *a)
{
	arena_free_chunks(a->head);
	a->head = NULL;
}

void *
mps__arena_alloc(mps__arena *a, size_t n)
{
	n = MPS__ALIGN(n ? n : 1);
	a->total += n;
	if (a->fixed != NULL && a->fixedcap - a->fixedused >= n) {
		void *p = a->fixed + a->fixedused;
		a->fixedused += n;
		return p;
	}
	mps__chunk *ch = a->head;
	if (ch == NULL || ch->cap - ch->used < n) {
		size_t cap = ch != NULL ? ch->cap * 2 : 4096;
		if (cap < n) {
			cap = n;
		}
		mps__chunk *nc = malloc(sizeof(*nc) + cap);
		if (nc == NULL) {
			return NULL;
		}
		nc->next = ch;
		nc->cap  = cap;
		nc->used = 0;
		a->head  = nc;
		ch       = nc;
	}
	void *p = ch->data + ch->used;
	ch->used += n;
	return p;
}

void *
mps__arena_zalloc(mps__arena *a, size_t n)
{
	void *p = mps__arena_alloc(a, n);
	if (p != NULL) {
		memset(p, 0, n);
	}
	return p;
}

char *
mps__arena_strndup(mps__arena *a, const char *s, size_t n)
{
	char *p = mps__arena_alloc(a, n + 1);
	if (p != NULL) {
		if (n) {
			memcpy(p, s, n);
		}
		p[n] = '\0';
	}
	return p;
}
