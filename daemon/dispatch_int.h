/*
 * dispatch_int.h - what dispatch.c shares with txn.c. All under the store
 * lock.
 */
#ifndef MPSD_DISPATCH_INT_H
#define MPSD_DISPATCH_INT_H

#include "daemon.h"

/* protobuf-c allocations from a request's arena (freed with it) */
static inline void *arena_pb_alloc(void *data, size_t size) { return mpsd_arena_alloc(data, size); }
static inline void  arena_pb_free(void *data, void *p) { (void)data; (void)p; }

/* Whether op may change state (also daemon-level ops). */
int dispatch_is_write(mpsd_daemon *d, const Mpstore__Op *op);
/* Run one op (daemon-level ops, then the store); 0, a status or MPSD_PARK. */
int dispatch_exec_op(mpsd_daemon *d, mpsd_req *r, mpsd_exec *x);
/* Point r->x at op and res. */
void dispatch_exec_setup(mpsd_daemon *d, mpsd_req *r, const Mpstore__Op *op, Mpstore__Result *res);
/* A failed op's result keeps only status and error; every result gets a revision. */
int dispatch_tidy(mpsd_daemon *d, Mpstore__Result *res, int rv);
Mpstore__Result *dispatch_new_result(mpsd_req *r);
/* Run r's current op again (a parked daemon-level op: OP_CHANGES,
 * OP_MONITOR); MPSD_PARK while it still waits, else its status (then call
 * dispatch_resumed). */
int dispatch_rerun(mpsd_daemon *d, mpsd_req *r, int expired);
/* A parked op of r completed (its result is in): go on with the batch. */
void dispatch_resumed(mpsd_daemon *d, mpsd_req *r);
/* Pack r's answer and send it now, or after its changes commit. */
void dispatch_finish(mpsd_daemon *d, mpsd_req *r);
/* Run r's txn (txn.c). */
void dispatch_run_txn(mpsd_daemon *d, mpsd_req *r);

#endif
