/*
 * req.h - one request being answered. dispatch.c owns it: it is taken from
 * a free list when a request arrives (mpsd_dispatch_request) and returned
 * when it is answered, at once, after the commit of its changes, or when a
 * parked op is woken; meanwhile the loop serves others. peer says where
 * the answer goes (net.h); cl links it to its connection's record, so that
 * a connection that ends takes its parked requests with it.
 */
#ifndef MPSD_REQ_H
#define MPSD_REQ_H

#include "daemon.h"

typedef struct mpsd_client mpsd_client;

struct mpsd_req {
	mpsd_daemon *d;
	mpsd_peer    peer;
	mpsd_client *cl;               /* NULL once the connection is gone */
	mpsd_req    *cl_prev, *cl_next;
	mpsd_req    *next_free;
	int          parked;           /* counted in cl's and d's parked */
	int          waited;           /* was parked (not in the latency metric) */
	int64_t      t0_ns;            /* arrived at (metrics only) */
	int          chg_wait;         /* a waiting OP_CHANGES (changes.c) */
	int64_t      chg_deadline;
	mpsd_req    *cw_prev, *cw_next;
	/* the request */
	Mpstore__Request *rq;
	mpsd_arena        arena;
	Mpstore__Result **results;
	size_t            nres;
	size_t            next_op;
	mpsd_exec         x;
	int               writes;   /* some op may have changed state */
	int               action;   /* MPSD_ACT_* for the commit thread */
	char             *action_arg;
	int               succeeded; /* txn */
	Mpstore__Status   status;    /* request-level */
	const char       *error;
	mpsd_req         *dup;      /* a re-send waiting for this answer */
	mpsd_req         *dup_send; /* taken at commit, answered with it */
};

#endif
