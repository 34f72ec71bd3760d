/*
 * dispatch.c - one request from bytes to answer, on the loop thread:
 * decode, session and re-send check, run the batch or the txn under the
 * store lock, park ops that must wait, and hand changes and the packed
 * reply to the commit module (or reply at once when nothing changed).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth.h"
#include "clients.h"
#include "persist.h"
#include "dispatch_int.h"
#include "mpstore/mpstore.h"
#include "operator.h"
#include "pack.h"
#include "req.h"
#include "session.h"
#include "wire.h"

#define MPSD_MAX_OPS   100000
#define FREE_REQS_KEPT 4096

/* ---- requests ---- */

static mpsd_req *req_get(mpsd_daemon *d)
{
	mpsd_req *r = d->free_reqs;
	if (r != NULL) {
		d->free_reqs = r->next_free;
		d->nfree_reqs--;
		return r;
	}
	if ((r = calloc(1, sizeof(*r))) == NULL)
		return NULL;
	r->d = d;
	mpsd_arena_init(&r->arena);
	return r;
}

static void req_reset(mpsd_req *r)
{
	r->rq = NULL; /* unpacked into the arena: nothing to free separately */
	mpsd_arena_reset(&r->arena);
	r->results = NULL;
	r->nres = r->next_op = 0;
	memset(&r->x, 0, sizeof(r->x));
	r->writes = r->action = r->succeeded = r->waited = 0;
	r->t0_ns = 0;
	r->action_arg = NULL;
	r->status = MPSTORE__STATUS__OK;
	r->error = NULL;
	r->dup = r->dup_send = NULL;
}

/* Answer r with m (NULL: no answer) and recycle it. */
static void reply_req(mpsd_daemon *d, mpsd_req *r, mpsd_msg *m)
{
	if (d->metrics != NULL)
		mpsd_metrics_done(d, r, m != NULL);
	mpsd_net_reply(d->net, &r->peer, m);
	mpsd_clients_untrack(r);
	req_reset(r);
	if (d->nfree_reqs < FREE_REQS_KEPT) {
		r->next_free = d->free_reqs;
		d->free_reqs = r;
		d->nfree_reqs++;
	} else {
		mpsd_arena_fini(&r->arena);
		free(r);
	}
}

void mpsd_req_free_all(mpsd_daemon *d)
{
	while (d->free_reqs != NULL) {
		mpsd_req *r = d->free_reqs;
		d->free_reqs = r->next_free;
		mpsd_arena_fini(&r->arena);
		free(r);
	}
	d->nfree_reqs = 0;
}

static void set_parked(mpsd_daemon *d, mpsd_req *r, int on)
{
	if (r->parked == on)
		return;
	r->parked = on;
	mpsd_clients_set_parked(r, on);
	if (on) {
		d->parked++;
		r->waited = 1;
	} else {
		d->parked--;
	}
}

/* Answer r (and a re-send waiting on it), recording the answer for re-sends. */
static void answer(mpsd_daemon *d, mpsd_req *r, mpsd_msg *m)
{
	if (r->rq != NULL && r->rq->client_id != 0) {
		mpsd_session *s = mpsd_session_find(d->sess, r->rq->client_id);
		if (s != NULL)
			mpsd_session_answered(s, r->rq->id, m ? m->body : NULL, m ? m->len : 0,
			    r->writes && m != NULL);
	}
	mpsd_req *dup = r->dup;
	r->dup = NULL;
	if (dup != NULL)
		reply_req(d, dup, m != NULL ? mpsd_msg_dup(m) : NULL);
	reply_req(d, r, m);
}

static mpsd_msg *status_reply(mpsd_req *r, int st, const char *msg, uint64_t rev)
{
	Mpstore__Response resp;
	Mpstore__Result   res, *resv[1] = {&res};
	mpstore__response__init(&resp);
	mpstore__result__init(&res);
	resp.version = MPS_PROTOCOL_VERSION;
	resp.id = r->rq != NULL ? r->rq->id : 0;
	resp.revision = rev;
	res.status = (Mpstore__Status)st;
	res.error = (char *)msg;
	res.revision = rev;
	resp.results = resv;
	resp.n_results = 1;
	if (st != 0 && r->action == MPSD_ACT_NONE) {
		resp.status = (Mpstore__Status)st;
		resp.error = (char *)msg;
		resp.n_results = 0;
	}
	return mpsd_pack_response(&resp);
}

void mpsd_dispatch_job_done(mpsd_daemon *d, mpsd_job *j)
{
	mpsd_req *r = j->owner;
	mpsd_msg *m = j->reply;
	j->owner = j->reply = NULL;
	if (j->status != 0 && j->action == MPSD_ACT_NONE)
		r->status = (Mpstore__Status)j->status; /* as the reply says (metrics) */
	if (j->status != 0 || j->action != MPSD_ACT_NONE) {
		/* a failed commit never says "ok"; an action says how it went */
		mpsd_msg_free(m);
		m = status_reply(r, j->status, j->status ? j->err : NULL, j->rev);
	}
	answer(d, r, m);
}

/* ---- daemon-level ops (those the store core does not know) ---- */

/* HELLO [name = client name, count = its pid] -> version, lease, facts */
static int op_hello(mpsd_daemon *d, mpsd_req *r, mpsd_exec *x)
{
	const char *name = x->op->name != NULL ? x->op->name : "";
	char        err[160];
	if ((name[0] != '\0' || x->op->count != 0) &&
	    mpsd_clients_hello(r != NULL ? r->cl : NULL, name, x->op->count, err, sizeof(err)) != 0)
		return mpsd_exec_fail(x, MPSTORE__STATUS__ERR_INVALID, "%s", err);
	Mpstore__Value *v = mpsd_exec_alloc(x, sizeof(*v));
	if (v == NULL)
		return mpsd_exec_fail(x, MPSTORE__STATUS__ERR_LIMIT, "out of memory");
	mpstore__value__init(v);
	v->v_case = MPSTORE__VALUE__V_STRING_VALUE;
	v->string_value = (char *)"mpstored " MPS_VERSION_STRING;
	x->res->value = v;
	x->res->count = MPS_PROTOCOL_VERSION;
	x->res->token = (uint64_t)d->cfg.lease_ms;
	x->res->revision = mpsd_store_revision(d->st);
	/* "key=value" facts for clients: where notifications are published,
	 * and the connection's challenge when a key is set */
	char        facts[2][160];
	size_t      nf = 0;
	const char *pub = d->cfg.net.pub_url;
	if (pub != NULL && pub[0] != '\0')
		snprintf(facts[nf++], sizeof(facts[0]), "pub=%s", pub);
	if (r != NULL && mpsd_auth_facts(d, r, facts[nf], sizeof(facts[0])))
		nf++;
	if (nf == 0)
		return 0;
	if ((x->res->values = mpsd_exec_vals(x, nf)) == NULL)
		return mpsd_exec_fail(x, MPSTORE__STATUS__ERR_LIMIT, "out of memory");
	for (size_t i = 0; i < nf; i++) {
		Mpstore__Value *pv = mpsd_exec_alloc(x, sizeof(*pv));
		if (pv == NULL)
			return mpsd_exec_fail(x, MPSTORE__STATUS__ERR_LIMIT, "out of memory");
		mpstore__value__init(pv);
		pv->v_case = MPSTORE__VALUE__V_STRING_VALUE;
		pv->string_value = mpsd_arena_printf(x->arena, "%s", facts[i]);
		x->res->values[i] = pv;
	}
	x->res->n_values = nf;
	return 0;
}

int dispatch_is_write(mpsd_daemon *d, const Mpstore__Op *op)
{
	switch (op->code) {
	case MPSTORE__OP_CODE__OP_REGISTER_SCHEMA: return 1;
	case MPSTORE__OP_CODE__OP_HELLO:
	case MPSTORE__OP_CODE__OP_AUTH:
	case MPSTORE__OP_CODE__OP_PING:
	case MPSTORE__OP_CODE__OP_SNAPSHOT:
	case MPSTORE__OP_CODE__OP_BACKUP:
	case MPSTORE__OP_CODE__OP_GET_SCHEMA:
	case MPSTORE__OP_CODE__OP_CHANGES:
	case MPSTORE__OP_CODE__OP_STATS:
	case MPSTORE__OP_CODE__OP_CLIENTS:
	case MPSTORE__OP_CODE__OP_HOLDERS:
	case MPSTORE__OP_CODE__OP_MONITOR: return 0;
	default: return mpsd_store_op_writes(d->st, op);
	}
}

/* Schema ops are provided by schema.c when it is linked in. */
int mpsd_schema_op(mpsd_daemon *d, mpsd_exec *x) __attribute__((weak));

int dispatch_exec_op(mpsd_daemon *d, mpsd_req *r, mpsd_exec *x)
{
	const Mpstore__Op *op = x->op;
	const char        *why;
	if (dispatch_is_write(d, op)) {
		r->writes = 1;
		if (mpsd_commit_readonly(d->commit, &why))
			return mpsd_exec_fail(x, MPSTORE__STATUS__ERR_READONLY,
			    "the daemon refuses writes: %s", why);
	}
	switch (op->code) {
	case MPSTORE__OP_CODE__OP_HELLO: return op_hello(d, r, x);
	case MPSTORE__OP_CODE__OP_AUTH:
		if (r == NULL)
			return mpsd_exec_fail(x, MPSTORE__STATUS__ERR_INVALID, "OP_AUTH is not for a txn");
		return mpsd_auth_op(d, r, x);
	case MPSTORE__OP_CODE__OP_PING:
		x->res->revision = mpsd_store_revision(d->st);
		return 0;
	case MPSTORE__OP_CODE__OP_SNAPSHOT:
	case MPSTORE__OP_CODE__OP_BACKUP:
		if (r == NULL || r->rq->n_ops != 1)
			return mpsd_exec_fail(x, MPSTORE__STATUS__ERR_INVALID,
			    "snapshot and backup must be the only op of their request");
		if (op->code == MPSTORE__OP_CODE__OP_BACKUP) {
			char err[400];
			if (d->cfg.commit.backup_dir == NULL)
				return mpsd_exec_fail(x, MPSTORE__STATUS__ERR_INVALID,
				    "backups are off: start mpstored with --backup-dir DIR");
			if (op->value == NULL || op->value->v_case != MPSTORE__VALUE__V_STRING_VALUE)
				return mpsd_exec_fail(x, MPSTORE__STATUS__ERR_INVALID,
				    "backup needs a file name as a string value");
			if (mpsp_backup_name_check(op->value->string_value, err, sizeof(err)) != 0)
				return mpsd_exec_fail(x, MPSTORE__STATUS__ERR_INVALID, "%s", err);
			r->action = MPSD_ACT_BACKUP;
			r->action_arg = op->value->string_value;
		} else {
			r->action = MPSD_ACT_SNAPSHOT;
		}
		x->res->revision = mpsd_store_revision(d->st);
		return 0;
	case MPSTORE__OP_CODE__OP_CHANGES: return mpsd_changes_op(d, r, x);
	case MPSTORE__OP_CODE__OP_STATS: return mpsd_stats(d, x);
	case MPSTORE__OP_CODE__OP_CLIENTS: return mpsd_clients_op(d, x);
	case MPSTORE__OP_CODE__OP_HOLDERS: return mpsd_holders_op(d, x);
	case MPSTORE__OP_CODE__OP_MONITOR: return mpsd_monitor_op(d, r, x);
	case MPSTORE__OP_CODE__OP_REGISTER_SCHEMA:
	case MPSTORE__OP_CODE__OP_GET_SCHEMA:
		if (mpsd_schema_op == NULL)
			return mpsd_exec_fail(x, MPSTORE__STATUS__ERR_UNKNOWN_OP,
			    "this daemon was built without schema support");
		return mpsd_schema_op(d, x);
	case MPSTORE__OP_CODE__OP_NONE:
		return mpsd_exec_fail(x, MPSTORE__STATUS__ERR_UNKNOWN_OP, "op code 0 (none)");
	default: break;
	}
	if (op->code > MPSTORE__OP_CODE__OP_BARRIER_INFO ||
	    protobuf_c_enum_descriptor_get_value(&mpstore__op_code__descriptor, (int)op->code) == NULL)
		return mpsd_exec_fail(x, MPSTORE__STATUS__ERR_UNKNOWN_OP, "unknown op code %d",
		    (int)op->code);
	return mpsd_store_exec(d->st, x);
}

/* A failed op's result says only what failed; every result carries a
 * revision (its change's, or the current one). */
int dispatch_tidy(mpsd_daemon *d, Mpstore__Result *res, int rv)
{
	if (rv > 0) {
		char *err = res->error;
		mpstore__result__init(res);
		res->status = (Mpstore__Status)rv;
		res->error = err;
	}
	if (rv != MPSD_PARK && res->revision == 0)
		res->revision = mpsd_store_revision(d->st);
	return rv;
}

Mpstore__Result *dispatch_new_result(mpsd_req *r)
{
	Mpstore__Result *res = mpsd_arena_alloc(&r->arena, sizeof(*res));
	if (res != NULL)
		mpstore__result__init(res);
	return res;
}

/* Why a new park of r would be refused (NULL: it may park). */
static const char *park_refusal(mpsd_daemon *d, mpsd_req *r)
{
	if (r->parked)
		return NULL;
	if (d->cfg.max_parked > 0 && d->parked >= d->cfg.max_parked)
		return d->park_msg_all;
	if (d->cfg.max_parked_per_client > 0 && mpsd_clients_parked(r) >= d->cfg.max_parked_per_client)
		return d->park_msg_one;
	return NULL;
}

void dispatch_exec_setup(mpsd_daemon *d, mpsd_req *r, const Mpstore__Op *op, Mpstore__Result *res)
{
	r->x.st = d->st;
	r->x.session_id = r->rq->client_id;
	r->x.op = op;
	r->x.res = res;
	r->x.arena = &r->arena;
	r->x.park_owner = r;
	r->x.park_refused = park_refusal(d, r);
}

/* Pack the answer and hand it on: at once, or after the commit. */
void dispatch_finish(mpsd_daemon *d, mpsd_req *r)
{
	Mpstore__Response resp;
	mpstore__response__init(&resp);
	resp.version = MPS_PROTOCOL_VERSION;
	resp.id = r->rq->id;
	resp.status = r->status;
	resp.error = (char *)r->error;
	resp.revision = mpsd_store_revision(d->st);
	resp.results = r->results;
	resp.n_results = r->nres;
	resp.succeeded = r->succeeded;
	mpsd_msg *m = mpsd_pack_response(&resp);
	if (m == NULL) {
		mpsd_log("out of memory packing a reply");
		answer(d, r, NULL);
		return;
	}
	if (r->x.nchanges > 0 || r->action != MPSD_ACT_NONE) {
		/* answered once the changes are durable (notify.c); a write's
		 * answer is kept with them, for a re-send after a crash */
		mpsd_commit_answer a = {r->rq->client_id, r->rq->id, m->body, m->len};
		mpsd_commit_submit(d->commit, &r->x, r, m, r->action, r->action_arg,
		    r->writes ? &a : NULL);
		return;
	}
	answer(d, r, m);
}

/* Run ops from r->next_op; returns MPSD_PARK if one parked. */
static int run_batch(mpsd_daemon *d, mpsd_req *r)
{
	for (; r->next_op < r->nres; r->next_op++) {
		Mpstore__Result *res = r->results[r->next_op];
		dispatch_exec_setup(d, r, r->rq->ops[r->next_op], res);
		r->x.w = NULL;
		r->x.expired = 0;
		int rv = dispatch_tidy(d, res, dispatch_exec_op(d, r, &r->x));
		if (rv == MPSD_PARK) {
			set_parked(d, r, 1);
			/* what the batch changed so far commits without waiting */
			if (r->x.nchanges > 0) {
				mpsd_commit_submit(d->commit, &r->x, NULL, NULL, MPSD_ACT_NONE, NULL, NULL);
				r->x.nchanges = 0;
				r->x.changes = NULL;
				r->x.cap = 0;
			}
			return MPSD_PARK;
		}
	}
	dispatch_finish(d, r);
	return 0;
}

int mpsd_dispatch_resume(void *owner, mpsd_waiter *w, int expired)
{
	mpsd_req    *r = owner;
	mpsd_daemon *d = r->d;
	Mpstore__Result *res = r->results[r->next_op];
	mpstore__result__init(res);
	dispatch_exec_setup(d, r, r->rq->ops[r->next_op], res);
	r->x.w = w;
	r->x.expired = expired;
	int rv = dispatch_tidy(d, res, dispatch_exec_op(d, r, &r->x));
	if (rv == MPSD_PARK)
		return MPSD_PARK;
	mpsd_waiter_free(w);
	dispatch_resumed(d, r);
	return rv;
}

int dispatch_rerun(mpsd_daemon *d, mpsd_req *r, int expired)
{
	Mpstore__Result *res = r->results[r->next_op];
	mpstore__result__init(res);
	dispatch_exec_setup(d, r, r->rq->ops[r->next_op], res);
	r->x.expired = expired;
	return dispatch_tidy(d, res, dispatch_exec_op(d, r, &r->x));
}

void dispatch_resumed(mpsd_daemon *d, mpsd_req *r)
{
	set_parked(d, r, 0);
	r->x.w = NULL;
	r->x.expired = 0;
	r->next_op++;
	run_batch(d, r);
}

static void run_request(mpsd_daemon *d, mpsd_req *r);

void mpsd_dispatch_drop(void *owner)
{
	mpsd_req    *r = owner;
	mpsd_daemon *d = r->d;
	r->x.w = NULL; /* the store frees the waiter */
	mpsd_changes_drop(d, r);
	if (d->mon != NULL)
		mpsd_monitor_drop(d, r);
	set_parked(d, r, 0);
	if (r->rq != NULL && r->rq->client_id != 0) {
		mpsd_session *s = mpsd_session_find(d->sess, r->rq->client_id);
		if (s != NULL)
			mpsd_session_forget(s, r->rq->id);
	}
	mpsd_req *dup = r->dup;
	r->dup = NULL;
	reply_req(d, r, NULL);
	/* a re-send of it, on a connection still open, now goes its own way */
	if (dup != NULL) {
		if (mpsd_net_peer_alive(&dup->peer) && !d->stopping)
			run_request(d, dup);
		else
			reply_req(d, dup, NULL);
	}
}

static void session_gone_cb(void *arg, uint64_t sid)
{
	mpsd_daemon *d = arg;
	if (d->cfg.verbose)
		mpsd_log("session %016llx ended", (unsigned long long)sid);
	mpsd_dispatch_session_gone(d, sid);
}

void mpsd_dispatch_session_gone(mpsd_daemon *d, uint64_t sid)
{
	mpsd_arena      a;
	Mpstore__Result res;
	mpsd_exec       x;
	mpsd_arena_init(&a);
	mpstore__result__init(&res);
	memset(&x, 0, sizeof(x));
	x.st = d->st;
	x.session_id = sid;
	x.res = &res;
	x.arena = &a;
	mpsd_store_session_gone(d->st, &x, sid, mpsd_dispatch_drop);
	if (x.nchanges > 0)
		mpsd_commit_submit(d->commit, &x, NULL, NULL, MPSD_ACT_NONE, NULL, NULL);
	mpsd_store_run_wakeups(d->st, mpsd_dispatch_resume);
	mpsd_arena_fini(&a);
}

/* A connection ended: its parked requests go with it, whatever their
 * client_id (never answered), then the sessions bound to it. The store is
 * locked. */
void mpsd_dispatch_conn_gone(mpsd_daemon *d, uint32_t id, mpsd_req *parked)
{
	while (parked != NULL) {
		mpsd_req *r = parked;
		parked = r->next_free; /* the list clients.c made */
		r->next_free = NULL;
		mpsd_waiter *w = r->x.w;
		if (w != NULL)
			mpsd_store_unpark(d->st, w);
		mpsd_dispatch_drop(r);
	}
	if (d->stopping)
		return; /* what sessions hold is released by the next start's leases */
	mpsd_sessions_reap(d->sess, id, mpsd_now_ms(), 0, session_gone_cb, d);
	mpsd_store_run_wakeups(d->st, mpsd_dispatch_resume);
}

/* ---- entry ---- */

/* Sessions, re-sends, then the ops; the store is locked. */
static void run_request(mpsd_daemon *d, mpsd_req *r)
{
	Mpstore__Request *rq = r->rq;
	if (rq->client_id != 0) {
		mpsd_session *s = mpsd_session_get(d->sess, rq->client_id);
		if (s != NULL) {
			mpsd_session_touch(s, r->peer.id, mpsd_now_ms());
			const uint8_t *data = NULL;
			size_t         len = 0;
			mpsd_req      *pending = NULL;
			switch (mpsd_session_seen(s, rq->id, r, &data, &len, &pending)) {
			case MPSD_SEEN_DONE: {
				mpsd_msg *m = mpsd_msg_alloc(len);
				if (m != NULL)
					memcpy(m->body, data, len);
				reply_req(d, r, m);
				return;
			}
			case MPSD_SEEN_PENDING:
				if (pending != r) {
					/* answered with the first; an older re-send's
					 * connection is gone, so it is let go */
					if (pending->dup != NULL)
						reply_req(d, pending->dup, NULL);
					pending->dup = r;
					return;
				}
				break;
			default: break;
			}
		}
	}
	if (rq->txn != NULL) {
		dispatch_run_txn(d, r);
		return;
	}
	r->nres = rq->n_ops;
	r->results = mpsd_arena_alloc(&r->arena, (rq->n_ops ? rq->n_ops : 1) * sizeof(*r->results));
	for (size_t i = 0; r->results != NULL && i < rq->n_ops; i++)
		if ((r->results[i] = dispatch_new_result(r)) == NULL)
			r->results = NULL;
	if (r->results == NULL) {
		r->nres = 0;
		r->status = MPSTORE__STATUS__ERR_LIMIT;
		r->error = "out of memory";
		dispatch_finish(d, r);
		return;
	}
	run_batch(d, r);
}

static void refuse(mpsd_daemon *d, mpsd_req *r, uint64_t id, Mpstore__Status st, const char *msg)
{
	r->status = st;
	reply_req(d, r, mpsd_pack_error(id, st, msg));
}

void mpsd_dispatch_request(void *arg, const mpsd_peer *from, const uint8_t *body, size_t len,
    int flags)
{
	mpsd_daemon *d = arg;
	mpsd_peer    peer = *from;
	mpsd_req    *r = d->stopping ? NULL : req_get(d);
	if (r == NULL) {
		mpsd_net_release(d->net, &peer); /* out of memory, or stopping */
		return;
	}
	r->peer = peer;
	if (d->metrics != NULL)
		r->t0_ns = mpsd_metrics_now();
	mpsd_clients_track(d, r);
	char msg[256];
	if (flags & MPSD_NET_OVER_LIMIT) {
		snprintf(msg, sizeof(msg), "the daemon serves at most %zu connections (--max-clients)",
		    d->cfg.net.max_clients);
		refuse(d, r, 0, MPSTORE__STATUS__ERR_LIMIT, msg);
		return;
	}
	if (flags & MPSD_NET_TOO_BIG) {
		snprintf(msg, sizeof(msg), "a request of %zu bytes is larger than --max-message %zu",
		    len, d->cfg.net.max_msg);
		refuse(d, r, 0, MPSTORE__STATUS__ERR_TOO_BIG, msg);
		return;
	}
	ProtobufCAllocator al = {arena_pb_alloc, arena_pb_free, &r->arena};
	const char        *why = NULL;
	Mpstore__Request  *rq = mpw_request_decode(&al, len, body, &why);
	if (rq == NULL) {
		snprintf(msg, sizeof(msg), "request does not decode as an mpstore.Request: %s", why);
		refuse(d, r, 0, MPSTORE__STATUS__ERR_MALFORMED, msg);
		return;
	}
	r->rq = rq;
	d->requests++;
	if (len > d->largest_request)
		d->largest_request = len;
	if (d->mon != NULL)
		mpsd_monitor_record(d, r);
	if (r->cl != NULL) {
		r->cl->requests++;
		r->cl->last_ms = mpsd_now_ms();
		if (rq->client_id != 0)
			r->cl->client_id = rq->client_id;
	}
	const char *unauth = mpsd_auth_check(d, r);
	if (unauth != NULL) {
		refuse(d, r, rq->id, MPSTORE__STATUS__ERR_AUTH, unauth);
	} else if (rq->version > MPS_PROTOCOL_VERSION || rq->version == 0) {
		refuse(d, r, rq->id, MPSTORE__STATUS__ERR_VERSION,
		    "protocol version not supported (this daemon speaks version 1)");
	} else if (rq->n_ops > MPSD_MAX_OPS) {
		refuse(d, r, rq->id, MPSTORE__STATUS__ERR_TOO_BIG, "too many ops in one request");
	} else if (rq->txn != NULL && rq->n_ops > 0) {
		refuse(d, r, rq->id, MPSTORE__STATUS__ERR_INVALID, "a request carries ops or a txn, not both");
	} else {
		mpsd_store_lock(d->st);
		run_request(d, r);
		mpsd_store_run_wakeups(d->st, mpsd_dispatch_resume);
		mpsd_store_unlock(d->st);
		mpsd_dispatch_rearm(d);
	}
}
