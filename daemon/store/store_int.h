/*
 * store_int.h - the store's private state, shared by store.c and exec.c
 * only. Kinds and the transport use store.h / exec.h.
 */
#ifndef MPSD_STORE_INT_H
#define MPSD_STORE_INT_H

#include <pthread.h>

#include "store.h"

struct mpsd_waiter {
	mpsd_waiter             *prev, *next; /* in the container's list */
	mpsd_container          *c;           /* NULL once the container is deleted */
	mpsd_store              *st;
	const Mpstore__Op       *op;
	uint64_t                 session;
	int64_t                  deadline;    /* monotonic ms; INT64_MAX = none */
	int64_t                  since_ms;    /* parked at (monotonic ms) */
	size_t                   heap_idx;    /* position in st->heap, SIZE_MAX if not */
	struct mpsd_waiter_state ws;
	void                    *owner;
	int                      orphan_queued;
	mpsd_waiter             *orphan_next;
};

/* a deleted slot of the name table */
#define TOMB ((mpsd_container *)(uintptr_t)1)

typedef struct store_slot {
	mpsd_container *c;
	uint64_t        hash;
} store_slot;

struct mpsd_store {
	pthread_mutex_t mtx;
	uint64_t        revision;
	uint64_t        token;
	/* open-addressing table of containers by name */
	store_slot *slots;
	size_t      nslots, count, tombs;
	mpsd_container *last; /* the last one found: a batch's ops mostly name one */
	/* deadline min-heap of waiters */
	mpsd_waiter **heap;
	size_t        nheap, capheap;
	size_t        nwaiters;
	/* containers whose waiters must be retried */
	mpsd_container **wakeq;
	size_t           nwake, capwake;
	/* waiters of deleted containers, to be answered */
	mpsd_waiter *orphans;
	mpsd_msg_check_fn msg_check;
	void             *msg_check_arg;
	mpsd_schema_hooks schema;
	void             *schema_arg;
	/* limits and the memory accounting (limits.c) */
	mpsd_limits limits;
	size_t      mem; /* sum of the containers' c->mem */
	size_t    (*extra_mem)(void *arg);
	void       *extra_mem_arg;
	int         extra_keeps_copy;
};

void store_wake_push(mpsd_store *st, mpsd_container *c);
/* store.c */
void                    store_delete(mpsd_store *st, mpsd_container *c);
Mpstore__ContainerInfo *store_info_copy(mpsd_exec *x, const mpsd_container *c);
/* store_admin.c: ops on containers as a whole */
int store_op_create(mpsd_exec *x);
int store_op_delete(mpsd_exec *x, mpsd_container *c);
int store_op_ls(mpsd_exec *x);
int store_op_dump(mpsd_exec *x, mpsd_container *c);
void store_heap_remove(mpsd_store *st, mpsd_waiter *w);
int  store_heap_push(mpsd_store *st, mpsd_waiter *w);
/* limits.c: count a new container, recount one after a change, uncount a
 * deleted one; checks before an op (0, or x failed with ERR_LIMIT) */
void store_account_new(mpsd_store *st, mpsd_container *c);
void store_account(mpsd_store *st, mpsd_container *c);
void store_account_gone(mpsd_store *st, mpsd_container *c);
int  store_check_memory(mpsd_exec *x);
int  store_check_create(mpsd_exec *x);

#endif
