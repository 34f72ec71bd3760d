/*
 * arena.h - bump allocator for one request's protobuf results and changes.
 * Everything allocated is freed at once by mpsd_arena_reset/fini. Not
 * thread-safe; one arena per request being executed.
 */
#ifndef MPSD_ARENA_H
#define MPSD_ARENA_H

#include <stddef.h>

typedef struct mpsd_arena_blk mpsd_arena_blk;
typedef struct mpsd_arena {
	mpsd_arena_blk *head;
	char           *cur;
	size_t          left;
} mpsd_arena;

void  mpsd_arena_init(mpsd_arena *a);
void  mpsd_arena_fini(mpsd_arena *a);  /* frees every block */
void  mpsd_arena_reset(mpsd_arena *a); /* frees all but the biggest block (<= 32 KiB) */
/* Zeroed, 16-byte aligned memory, or NULL when out of memory. */
void *mpsd_arena_alloc(mpsd_arena *a, size_t n);
void *mpsd_arena_memdup(mpsd_arena *a, const void *p, size_t n); /* adds a NUL */
char *mpsd_arena_printf(mpsd_arena *a, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#endif
