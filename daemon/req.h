/*
 * req.h - one REP context and the request it is answering. server.c owns
 * the transport fields, dispatch.c the request fields. A req is answered
 * at once, or later (after the commit of its changes, or when a parked op
 * is woken); meanwhile other reqs keep receiving.
 */
#ifndef MPSD_REQ_H
#define MPSD_REQ_H

#include "daemon.h"

struct mpsd_req {
	/* transport (server.c) */
	mpsd_daemon *d;
	nng_ctx      ctx;
	nng_aio     *raio, *saio;
	mpsd_req    *next_free, *next_all;
	int          receiving;
	uint32_t     pipe;
	/* request (dispatch.c) */
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

enum { MPSD_ACT_NONE = 0, MPSD_ACT_SNAPSHOT = 1, MPSD_ACT_BACKUP = 2 };

#endif
