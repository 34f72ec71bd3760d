/*
 * dict_table.h - a compact, insertion-ordered hash table of mpsd_val keys
 * and values, as in CPython 3.6+: an entries array of {key, value} pairs in
 * insertion order plus an open-addressing index of uint32 positions into it.
 * No hash is stored (keys are short strings or int64s; rehashing them when
 * the index is rebuilt is cheap), so an entry costs 32 bytes plus ~6-8
 * bytes of index.
 *
 * Positions (0 .. mpsd_dtab_end) identify entries and serve as paging
 * cursors; they stay stable until an insertion compacts deleted entries
 * away. A deleted entry has a null key. Keys must never be null.
 *
 * The table owns every key and value stored in it. Not thread-safe (the
 * store lock protects it).
 */
#ifndef MPSD_DICT_TABLE_H
#define MPSD_DICT_TABLE_H

#include <stddef.h>
#include <stdint.h>

#include "val.h"

#define MPSD_DTAB_MAX (1u << 30) /* entries, deleted included */

typedef struct mpsd_dtab {
	mpsd_val *ent;  /* 2 * cap values: key, value, key, value, ... */
	uint32_t *idx;  /* mask + 1 slots: 0 empty, 1 deleted, else position + 2 */
	uint32_t  nent; /* positions used, deleted entries included */
	uint32_t  cap;  /* positions allocated */
	uint32_t  live; /* entries present */
	uint32_t  fill; /* index slots not empty */
	uint32_t  mask;
	size_t    heap; /* heap bytes owned by keys and values */
} mpsd_dtab;

void mpsd_dtab_init(mpsd_dtab *t);
void mpsd_dtab_fini(mpsd_dtab *t); /* frees everything; t is empty after */

/* Position of key, or -1. */
int64_t mpsd_dtab_find(const mpsd_dtab *t, const mpsd_val *key);

/* Entry at a position returned by find or next (pointers into the table,
 * valid until the next change). */
const mpsd_val *mpsd_dtab_key(const mpsd_dtab *t, int64_t pos);
const mpsd_val *mpsd_dtab_value(const mpsd_dtab *t, int64_t pos);

/* First live position >= pos, or -1. Iterate with
 * for (p = next(t, 0); p >= 0; p = next(t, p + 1)). */
int64_t mpsd_dtab_next(const mpsd_dtab *t, int64_t pos);

/* Make sure n more insertions cannot fail. Returns 0 or ENOMEM (or E2BIG
 * past MPSD_DTAB_MAX), with the table unchanged. */
int mpsd_dtab_reserve(mpsd_dtab *t, size_t n);

/*
 * Set key to value, taking both: on success the table owns them (a key
 * already present keeps its old key and position, and the passed key is
 * freed). *inserted tells whether the key was new (may be NULL). Returns 0
 * or ENOMEM/E2BIG, and then the caller still owns key and value.
 */
int mpsd_dtab_put(mpsd_dtab *t, mpsd_val *key, mpsd_val *value, int *inserted);

/* Remove key. Returns 1 if it was present; its value is moved to *value
 * (the caller finis it) when value is non-NULL, else freed. */
int mpsd_dtab_del(mpsd_dtab *t, const mpsd_val *key, mpsd_val *value);

static inline uint32_t mpsd_dtab_len(const mpsd_dtab *t)
{
	return t->live;
}

/* One past the last position in use (for paging). */
static inline int64_t mpsd_dtab_end(const mpsd_dtab *t)
{
	return t->nent;
}

/* Bytes used: the table's arrays plus the heap data of keys and values. */
size_t mpsd_dtab_memory(const mpsd_dtab *t);

#endif
