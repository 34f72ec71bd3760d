/*
 * k_dict_table.c - the compact ordered hash table behind dicts and
 * namespaces (see dict_table.h). Named k_* so daemon/CMakeLists.txt's
 * source glob picks it up.
 */
#include "dict_table.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define DICT_EMPTY   0u
#define DICT_DUMMY   1u
#define DICT_MINIDX  8u

static mpsd_val *dict_kp(const mpsd_dtab *t, uint32_t pos)
{
	return &t->ent[2 * (size_t) pos];
}

static int dict_is_live(const mpsd_dtab *t, uint32_t pos)
{
	return dict_kp(t, pos)->type != MPSD_V_NULL;
}

static uint32_t dict_usable(uint32_t mask)
{
	return mask == 0 ? 0 : (uint32_t) (((uint64_t) mask + 1) * 2 / 3);
}

void mpsd_dtab_init(mpsd_dtab *t)
{
	memset(t, 0, sizeof(*t));
}

void mpsd_dtab_fini(mpsd_dtab *t)
{
	for (uint32_t i = 0; i < 2 * t->nent; i++)
		mpsd_val_fini(&t->ent[i]);
	free(t->ent);
	free(t->idx);
	mpsd_dtab_init(t);
}

/*
 * The slot holding key (*found = 1), or else the slot where it would go:
 * the first deleted slot on its probe path, or the empty slot ending it.
 */
static uint32_t dict_slot(const mpsd_dtab *t, const mpsd_val *key, uint64_t h, int *found)
{
	uint32_t i = (uint32_t) h & t->mask, dummy = UINT32_MAX, ix;

	for (;; i = (i + 1) & t->mask) {
		ix = t->idx[i];
		if (ix == DICT_EMPTY)
			break;
		if (ix == DICT_DUMMY) {
			if (dummy == UINT32_MAX)
				dummy = i;
		} else if (mpsd_val_equal(dict_kp(t, ix - 2), key)) {
			*found = 1;
			return i;
		}
	}
	*found = 0;
	return dummy != UINT32_MAX ? dummy : i;
}

int64_t mpsd_dtab_find(const mpsd_dtab *t, const mpsd_val *key)
{
	int      found;
	uint32_t s;

	if (t->live == 0)
		return -1;
	s = dict_slot(t, key, mpsd_val_hash(key), &found);
	return found ? (int64_t) t->idx[s] - 2 : -1;
}

const mpsd_val *mpsd_dtab_key(const mpsd_dtab *t, int64_t pos)
{
	return dict_kp(t, (uint32_t) pos);
}

const mpsd_val *mpsd_dtab_value(const mpsd_dtab *t, int64_t pos)
{
	return dict_kp(t, (uint32_t) pos) + 1;
}

int64_t mpsd_dtab_next(const mpsd_dtab *t, int64_t pos)
{
	if (pos < 0)
		pos = 0;
	for (; pos < (int64_t) t->nent; pos++)
		if (dict_is_live(t, (uint32_t) pos))
			return pos;
	return -1;
}

/* Index slot count for n entries: load at most 1/2 after a rebuild. */
static uint32_t dict_idx_size(uint32_t n)
{
	uint32_t sz = DICT_MINIDX;
	while (sz < 2 * (uint64_t) n)
		sz *= 2;
	return sz;
}

/* Fill a fresh index from the live entries (positions 0..nent-1). */
static void dict_index(mpsd_dtab *t, uint32_t *idx, uint32_t size)
{
	memset(idx, 0, (size_t) size * sizeof(*idx));
	free(t->idx);
	t->idx  = idx;
	t->mask = size - 1;
	t->fill = 0;
	for (uint32_t p = 0; p < t->nent; p++) {
		uint32_t i;
		if (!dict_is_live(t, p))
			continue;
		for (i = (uint32_t) mpsd_val_hash(dict_kp(t, p)) & t->mask; t->idx[i] != DICT_EMPTY;
		     i = (i + 1) & t->mask)
			;
		t->idx[i] = p + 2;
		t->fill++;
	}
}

/* Squeeze deleted entries out of the entries array (positions change). */
static void dict_compact(mpsd_dtab *t)
{
	uint32_t w = 0;

	for (uint32_t p = 0; p < t->nent; p++) {
		if (!dict_is_live(t, p))
			continue;
		if (w != p)
			memcpy(dict_kp(t, w), dict_kp(t, p), 2 * sizeof(mpsd_val));
		w++;
	}
	for (uint32_t p = w; p < t->nent; p++) {
		mpsd_val_null(dict_kp(t, p));
		mpsd_val_null(dict_kp(t, p) + 1);
	}
	t->nent = w;
}

static int dict_grow_entries(mpsd_dtab *t, uint64_t need)
{
	uint64_t  cap = t->cap;
	mpsd_val *e;

	while (cap < need)
		cap = cap + cap / 2 + 4;
	if (cap > MPSD_DTAB_MAX)
		cap = MPSD_DTAB_MAX;
	if (cap < need)
		return E2BIG;
	e = realloc(t->ent, (size_t) cap * 2 * sizeof(mpsd_val));
	if (e == NULL)
		return ENOMEM;
	t->ent = e;
	t->cap = (uint32_t) cap;
	return 0;
}

int mpsd_dtab_reserve(mpsd_dtab *t, size_t n)
{
	uint32_t dead = t->nent - t->live;
	int      compact, rv;
	uint32_t *idx, size;

	if (n == 0 && t->idx != NULL)
		return 0;
	if ((uint64_t) t->live + n > MPSD_DTAB_MAX)
		return E2BIG;
	/* out of positions with a quarter of them dead: compact, not grow */
	compact = (uint64_t) t->nent + n > t->cap && dead > 0 && dead >= t->nent / 4;
	if (!compact && (uint64_t) t->nent + n > t->cap &&
	    (rv = dict_grow_entries(t, (uint64_t) t->nent + n)) != 0)
		return rv;
	if (compact && (uint64_t) t->live + n > t->cap &&
	    (rv = dict_grow_entries(t, (uint64_t) t->live + n)) != 0)
		return rv;
	if (!compact && t->idx != NULL && (uint64_t) t->fill + n <= dict_usable(t->mask))
		return 0;
	size = dict_idx_size((uint32_t) (t->live + n));
	if ((idx = malloc((size_t) size * sizeof(*idx))) == NULL)
		return ENOMEM;
	if (compact)
		dict_compact(t);
	dict_index(t, idx, size);
	return 0;
}

int mpsd_dtab_put(mpsd_dtab *t, mpsd_val *key, mpsd_val *value, int *inserted)
{
	int       found, rv;
	uint32_t  s;
	uint64_t  h = mpsd_val_hash(key);
	mpsd_val *kv;

	if (t->idx != NULL) {
		s = dict_slot(t, key, h, &found);
		if (found) {
			kv = dict_kp(t, t->idx[s] - 2);
			t->heap -= mpsd_val_heap(kv + 1);
			mpsd_val_fini(kv + 1);
			kv[1] = *value;
			t->heap += mpsd_val_heap(value);
			mpsd_val_fini(key);
			mpsd_val_null(value);
			if (inserted != NULL)
				*inserted = 0;
			return 0;
		}
	}
	if ((rv = mpsd_dtab_reserve(t, 1)) != 0)
		return rv;
	s = dict_slot(t, key, h, &found); /* the index may have been rebuilt */
	if (t->idx[s] == DICT_EMPTY)
		t->fill++;
	t->idx[s] = t->nent + 2;
	kv        = dict_kp(t, t->nent++);
	kv[0]     = *key;
	kv[1]     = *value;
	t->heap += mpsd_val_heap(key) + mpsd_val_heap(value);
	t->live++;
	mpsd_val_null(key);
	mpsd_val_null(value);
	if (inserted != NULL)
		*inserted = 1;
	return 0;
}

int mpsd_dtab_del(mpsd_dtab *t, const mpsd_val *key, mpsd_val *value)
{
	int       found;
	uint32_t  s, pos;
	mpsd_val *kv;

	if (t->live == 0)
		return 0;
	s = dict_slot(t, key, mpsd_val_hash(key), &found);
	if (!found)
		return 0;
	pos       = t->idx[s] - 2;
	t->idx[s] = DICT_DUMMY;
	kv        = dict_kp(t, pos);
	t->heap -= mpsd_val_heap(kv) + mpsd_val_heap(kv + 1);
	mpsd_val_fini(kv);
	if (value != NULL) {
		*value = kv[1];
		mpsd_val_null(kv + 1);
	} else {
		mpsd_val_fini(kv + 1);
	}
	t->live--;
	/* trailing deleted positions are free again (LIFO use stays compact) */
	while (t->nent > 0 && !dict_is_live(t, t->nent - 1))
		t->nent--;
	if (t->live == 0)
		mpsd_dtab_fini(t);
	return 1;
}

size_t mpsd_dtab_memory(const mpsd_dtab *t)
{
	size_t idx = t->idx != NULL ? ((size_t) t->mask + 1) * sizeof(uint32_t) : 0;
	return (size_t) t->cap * 2 * sizeof(mpsd_val) + idx + t->heap;
}
