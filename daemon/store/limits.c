/*
 * limits.c - the store's resource limits (--max-memory, --max-containers,
 * --max-elements) and its own accounting of the memory containers hold.
 *
 * Accounting: every container carries the bytes it was last counted at
 * (c->mem: the kind's memory() estimate plus the container's own struct and
 * names); st->mem is their sum. The count is refreshed after every op that
 * ran on a container, every applied change (recovery, txn rollback) and
 * every session release, so it is exact with respect to the kinds'
 * estimates at all times (mpsd_store_memory_check recomputes it, for
 * tests and the fuzz targets).
 *
 * Policy, as Redis's maxmemory with noeviction: an op that may add data
 * (MPSD_OPF_GROWS, and creating a container) is refused with ERR_LIMIT when
 * the store's memory plus the history's plus the op's own payload (twice:
 * the history keeps its change record too) would pass max_memory; everything else (reads, deletes, pops, clears, gets,
 * sync ops) goes on, so a full store can always be emptied. Limits never
 * apply to recovery: what is stored always loads.
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "store_int.h"

void mpsd_store_set_limits(mpsd_store *st, const mpsd_limits *l)
{
	st->limits = *l;
}

const mpsd_limits *mpsd_store_limits(const mpsd_store *st)
{
	return &st->limits;
}

void mpsd_store_set_memory_hook(mpsd_store *st, size_t (*fn)(void *arg), void *arg,
    int keeps_copy)
{
	st->extra_mem = fn;
	st->extra_mem_arg = arg;
	st->extra_keeps_copy = fn != NULL && keeps_copy;
}

size_t mpsd_store_memory(const mpsd_store *st)
{
	return st->mem;
}

size_t mpsd_store_memory_extra(const mpsd_store *st)
{
	return st->extra_mem != NULL ? st->extra_mem(st->extra_mem_arg) : 0;
}

/* What a container costs besides its kind's data. */
static size_t base_bytes(const mpsd_container *c)
{
	return sizeof(*c) + strlen(c->name) + 1 + strlen(c->message_type) + 1;
}

static size_t kind_bytes(const mpsd_container *c)
{
	return c->k->memory != NULL ? c->k->memory(c) : 0;
}

void store_account_new(mpsd_store *st, mpsd_container *c)
{
	c->mem = base_bytes(c) + kind_bytes(c);
	st->mem += c->mem;
}

void store_account(mpsd_store *st, mpsd_container *c)
{
	size_t now = base_bytes(c) + kind_bytes(c);
	st->mem = st->mem - c->mem + now;
	c->mem = now;
}

void store_account_gone(mpsd_store *st, mpsd_container *c)
{
	st->mem -= c->mem;
	c->mem = 0;
}

typedef struct sum_ctx {
	size_t sum;
	int    stale;
} sum_ctx;

static int sum_visit(void *arg, mpsd_container *c)
{
	sum_ctx *s = arg;
	size_t   now = base_bytes(c) + kind_bytes(c);
	if (now != c->mem)
		s->stale = 1;
	s->sum += now;
	return 0;
}

int mpsd_store_memory_check(mpsd_store *st)
{
	sum_ctx s = {0, 0};
	mpsd_store_foreach(st, sum_visit, &s);
	return s.stale || s.sum != st->mem ? -1 : 0;
}

/* Bytes an op brings into the store, roughly: its values and keys. */
static size_t value_bytes(const Mpstore__Value *v)
{
	size_t n = sizeof(mpsd_val);
	if (v == NULL)
		return n;
	switch (v->v_case) {
	case MPSTORE__VALUE__V_STRING_VALUE:
		return n + (v->string_value != NULL ? strlen(v->string_value) : 0);
	case MPSTORE__VALUE__V_BYTES_VALUE: return n + v->bytes_value.len;
	case MPSTORE__VALUE__V_MESSAGE_VALUE: return n + v->message_value.len;
	default: return n;
	}
}

static size_t op_payload(const Mpstore__Op *op)
{
	size_t n = value_bytes(op->value) + (op->key != NULL ? value_bytes(op->key) : 0);
	for (size_t i = 0; i < op->n_values; i++)
		n += value_bytes(op->values[i]);
	for (size_t i = 0; i < op->n_keys; i++)
		n += value_bytes(op->keys[i]);
	if (op->code == MPSTORE__OP_CODE__OP_CREATE)
		n += sizeof(mpsd_container) + (op->name != NULL ? strlen(op->name) : 0);
	return n;
}

int store_check_memory(mpsd_exec *x)
{
	uint64_t max = x->st->limits.max_memory;
	if (max == 0)
		return 0;
	size_t used = x->st->mem + mpsd_store_memory_extra(x->st);
	size_t add = op_payload(x->op);
	if (x->st->extra_keeps_copy)
		add *= 2; /* the history will keep the change too */
	if (used <= max && add <= max - used)
		return 0;
	return mpsd_exec_fail(x, MPSTORE__STATUS__ERR_LIMIT,
	    "memory limit reached: the store holds %zu bytes (containers %zu, history %zu) and this write "
	    "brings about %zu more; the limit is %llu (--max-memory). Reads, deletes, pops and "
	    "clears still work: free some data, or restart with a higher --max-memory",
	    used, x->st->mem, used - x->st->mem, add, (unsigned long long)max);
}

int store_check_create(mpsd_exec *x)
{
	const mpsd_limits *l = &x->st->limits;
	if (l->max_containers > 0 && x->st->count >= l->max_containers)
		return mpsd_exec_fail(x, MPSTORE__STATUS__ERR_LIMIT,
		    "the store holds %zu containers, the limit (--max-containers) is %llu: delete "
		    "some, or restart with a higher --max-containers",
		    x->st->count, (unsigned long long)l->max_containers);
	/* an array has all its elements from the start */
	if (x->op->kind == MPSTORE__KIND__KIND_ARRAY && l->max_elements > 0 && x->op->count > 0 &&
	    (uint64_t)x->op->count > l->max_elements)
		return mpsd_exec_fail(x, MPSTORE__STATUS__ERR_LIMIT,
		    "an array of %lld elements is more than a container may hold (--max-elements %llu)",
		    (long long)x->op->count, (unsigned long long)l->max_elements);
	return store_check_memory(x);
}

int mpsd_exec_check_room(mpsd_exec *x, const mpsd_container *c, uint64_t len, uint64_t add)
{
	uint64_t max = x->st->limits.max_elements;
	if (max == 0 || (len <= max && add <= max - len))
		return 0;
	return mpsd_exec_fail(x, MPSTORE__STATUS__ERR_LIMIT,
	    "%s '%s' holds %llu elements; %llu more would pass the limit of %llu per container "
	    "(--max-elements)",
	    c->k->name, c->name, (unsigned long long)len, (unsigned long long)add,
	    (unsigned long long)max);
}

uint64_t mpsd_default_max_memory(void)
{
	/* half of the RAM this process may use: the machine's, or its cgroup's
	 * when that is less. Half, because the process needs room besides what
	 * the accounting counts (allocator slack, replies being sent). */
	long     pages = sysconf(_SC_PHYS_PAGES), psize = sysconf(_SC_PAGESIZE);
	uint64_t ram = pages > 0 && psize > 0 ? (uint64_t)pages * (uint64_t)psize : 0;
	FILE    *f = fopen("/sys/fs/cgroup/memory.max", "r");
	if (f != NULL) {
		unsigned long long cg;
		if (fscanf(f, "%llu", &cg) == 1 && cg > 0 && (ram == 0 || cg < ram))
			ram = cg;
		fclose(f);
	}
	return ram / 2;
}
