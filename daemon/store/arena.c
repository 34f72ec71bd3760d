/* arena.c - bump allocator for one request's results and changes. */
#include "arena.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ARENA_BLOCK 4096u
#define ARENA_KEEP  (32u * 1024u) /* the biggest block a reset may keep: a
                                    * 16-op request fits; --contexts of them stay */

struct mpsd_arena_blk {
	mpsd_arena_blk *next;
	size_t          size;
	/* data follows, 16-byte aligned */
	_Alignas(16) char data[];
};

void mpsd_arena_init(mpsd_arena *a)
{
	memset(a, 0, sizeof(*a));
}

void mpsd_arena_fini(mpsd_arena *a)
{
	mpsd_arena_blk *b = a->head;
	while (b != NULL) {
		mpsd_arena_blk *n = b->next;
		free(b);
		b = n;
	}
	memset(a, 0, sizeof(*a));
}

void mpsd_arena_reset(mpsd_arena *a)
{
	mpsd_arena_blk *b = a->head;
	if (b == NULL)
		return;
	/* keep the biggest block (up to ARENA_KEEP): a request like the last
	 * one then fits without a malloc */
	mpsd_arena_blk *keep = NULL;
	for (mpsd_arena_blk *k = b; k != NULL; k = k->next)
		if (k->size <= ARENA_KEEP && (keep == NULL || k->size > keep->size))
			keep = k;
	while (b != NULL) {
		mpsd_arena_blk *n = b->next;
		if (b != keep)
			free(b);
		b = n;
	}
	a->head = keep;
	if (keep != NULL) {
		keep->next = NULL;
		a->cur = keep->data;
		a->left = keep->size;
	} else {
		a->cur = NULL;
		a->left = 0;
	}
}

void *mpsd_arena_alloc(mpsd_arena *a, size_t n)
{
	n = (n + 15u) & ~(size_t)15u;
	if (n == 0)
		n = 16;
	if (n > a->left) {
		/* blocks double (a big batch needs few), up to ARENA_KEEP */
		size_t sz = a->head != NULL && a->head->size < ARENA_KEEP ? 2 * a->head->size : ARENA_BLOCK;
		if (sz < n)
			sz = n;
		mpsd_arena_blk *b = malloc(sizeof(*b) + sz);
		if (b == NULL)
			return NULL;
		b->size = sz;
		b->next = a->head;
		a->head = b;
		a->cur = b->data;
		a->left = sz;
	}
	void *p = a->cur;
	a->cur += n;
	a->left -= n;
	memset(p, 0, n);
	return p;
}

void *mpsd_arena_memdup(mpsd_arena *a, const void *p, size_t n)
{
	char *d = mpsd_arena_alloc(a, n + 1);
	if (d != NULL && n > 0)
		memcpy(d, p, n);
	return d;
}

char *mpsd_arena_printf(mpsd_arena *a, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char buf[512];
	int  n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (n < 0)
		n = 0;
	if ((size_t)n >= sizeof(buf))
		n = sizeof(buf) - 1;
	return mpsd_arena_memdup(a, buf, (size_t)n);
}
