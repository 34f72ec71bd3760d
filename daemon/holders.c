/*
 * holders.c - connections and who holds and waits, for operators:
 * OP_CLIENTS (`mpstore clients`) lists every connection and what its
 * sessions hold; OP_HOLDERS (`mpstore holders NAME`) lists who holds a
 * container, oldest grant first, and who waits on it, in line order.
 *
 * The store reports holders by session (each kind's `holders` hook) and
 * waiters with their owner, which is our mpsd_req; the names, pids and
 * connections behind them are resolved here, so the store knows nothing
 * of connections. Every string is copied into the request's arena: the
 * reply may be packed after the records have gone.
 */
#include <stdlib.h>
#include <string.h>

#include "clients.h"
#include "operator.h"
#include "req.h"
#include "session.h"

static char *dupstr(mpsd_exec *x, const char *s)
{
	return mpsd_arena_memdup(x->arena, s, strlen(s));
}

static Mpstore__Party *party_new(mpsd_exec *x)
{
	Mpstore__Party *p = mpsd_exec_alloc(x, sizeof(*p));
	if (p != NULL)
		mpstore__party__init(p);
	return p;
}

/* Who a connection record says its client is. */
static int party_client(mpsd_exec *x, Mpstore__Party *p, const mpsd_client *cl)
{
	p->conn = cl->id;
	p->pid = cl->hello_pid != 0 ? cl->hello_pid : cl->pid;
	p->peer_pid = cl->pid;
	p->name = dupstr(x, cl->name);
	p->addr = dupstr(x, cl->addr);
	return p->name != NULL && p->addr != NULL ? 0 : -1;
}

/* The connection a session is bound to now, or NULL. */
static mpsd_client *session_client(mpsd_daemon *d, uint64_t sid, uint32_t *conn)
{
	mpsd_session *s = sid != 0 ? mpsd_session_find(d->sess, sid) : NULL;
	*conn = s != NULL && s->gone_at == 0 ? s->pipe : 0;
	return *conn != 0 ? mpsd_clients_find(d->clients, *conn) : NULL;
}

/* A growing array of parties in the arena. */
typedef struct plist {
	mpsd_exec       *x;
	Mpstore__Party **v;
	size_t           n, cap;
	int              oom;
} plist;

static Mpstore__Party *plist_add(plist *l)
{
	if (l->n == l->cap) {
		size_t           cap = l->cap ? l->cap * 2 : 8;
		Mpstore__Party **v = mpsd_exec_alloc(l->x, cap * sizeof(*v));
		if (v == NULL) {
			l->oom = 1;
			return NULL;
		}
		if (l->n > 0)
			memcpy(v, l->v, l->n * sizeof(*v));
		l->v = v;
		l->cap = cap;
	}
	Mpstore__Party *p = party_new(l->x);
	if (p == NULL) {
		l->oom = 1;
		return NULL;
	}
	l->v[l->n++] = p;
	return p;
}

/* A holder of c as a party: its session's connection and client. */
typedef struct hold_ctx {
	mpsd_daemon          *d;
	plist                 l;
	const mpsd_container *c;       /* set: name the container (OP_CLIENTS) */
	int64_t               now;
} hold_ctx;

static void hold_cb(void *arg, const mpsd_holder *h)
{
	hold_ctx       *hc = arg;
	Mpstore__Party *p = plist_add(&hc->l);
	uint32_t        conn;
	if (p == NULL)
		return;
	mpsd_client *cl = session_client(hc->d, h->session, &conn);
	if (cl != NULL && party_client(hc->l.x, p, cl) != 0)
		hc->l.oom = 1;
	p->conn = conn;
	p->client_id = h->session;
	p->count = h->count;
	p->token = h->token;
	p->age_ms = h->since_ms > 0 && hc->now > h->since_ms ? hc->now - h->since_ms : 0;
	if (hc->c != NULL) {
		p->kind = hc->c->k->kind;
		if ((p->container = dupstr(hc->l.x, hc->c->name)) == NULL)
			hc->l.oom = 1;
	}
}

static int by_age(const void *a, const void *b)
{
	const Mpstore__Party *x = *(Mpstore__Party *const *)a, *y = *(Mpstore__Party *const *)b;
	return x->age_ms < y->age_ms ? 1 : x->age_ms > y->age_ms ? -1 : 0;
}

/* HOLDERS name -> holders (oldest grant first), waiters (in line order) */
int mpsd_holders_op(mpsd_daemon *d, mpsd_exec *x)
{
	const char     *name = x->op->name;
	mpsd_container *c = name != NULL && name[0] != '\0' ? mpsd_store_find(d->st, name) : NULL;
	if (c == NULL)
		return mpsd_exec_fail(x, MPSTORE__STATUS__ERR_NOT_FOUND, "no container named '%s'",
		    name != NULL ? name : "");
	hold_ctx hc = {d, {x, NULL, 0, 0, 0}, NULL, mpsd_now_ms()};
	if (c->k->holders != NULL)
		c->k->holders(c, hold_cb, &hc);
	if (hc.l.n > 1)
		qsort(hc.l.v, hc.l.n, sizeof(*hc.l.v), by_age);
	plist w = {x, NULL, 0, 0, 0};
	for (mpsd_waiter *wt = mpsd_waiter_first(c); wt != NULL; wt = mpsd_waiter_next(wt)) {
		Mpstore__Party *p = plist_add(&w);
		if (p == NULL)
			break;
		const mpsd_req    *r = mpsd_waiter_owner(wt);
		const Mpstore__Op *op = mpsd_waiter_op(wt);
		if (r != NULL && r->cl != NULL && party_client(x, p, r->cl) != 0)
			w.oom = 1;
		p->client_id = mpsd_waiter_session(wt);
		p->op = op->code;
		p->timeout_ms = op->timeout_ms;
		p->age_ms = hc.now - mpsd_waiter_since(wt);
		int64_t dl = mpsd_waiter_deadline(wt);
		p->remaining_ms = dl == INT64_MAX ? -1 : dl > hc.now ? dl - hc.now : 0;
	}
	if (hc.l.oom || w.oom)
		return mpsd_exec_fail(x, MPSTORE__STATUS__ERR_LIMIT, "out of memory");
	x->res->holders = hc.l.v;
	x->res->n_holders = hc.l.n;
	x->res->waiters = w.v;
	x->res->n_waiters = w.n;
	x->res->info = mpsd_exec_alloc(x, sizeof(*x->res->info));
	if (x->res->info == NULL)
		return mpsd_exec_fail(x, MPSTORE__STATUS__ERR_LIMIT, "out of memory");
	mpsd_store_info(c, x->res->info);
	x->res->info->name = dupstr(x, c->name);
	x->res->info->message_type = dupstr(x, c->message_type);
	return 0;
}

/* ---- OP_CLIENTS ---- */

typedef struct clients_ctx {
	mpsd_daemon *d;
	plist        l;
	int64_t      now;
} clients_ctx;

static void client_cb(void *arg, mpsd_client *cl)
{
	clients_ctx    *cc = arg;
	Mpstore__Party *p = plist_add(&cc->l);
	if (p == NULL || party_client(cc->l.x, p, cl) != 0) {
		cc->l.oom = 1;
		return;
	}
	p->client_id = cl->client_id;
	p->age_ms = cc->now - cl->since_ms;
	p->idle_ms = cc->now - cl->last_ms;
	p->requests = cl->requests;
	p->parked = (int64_t)cl->nparked;
}

static int by_conn(const void *a, const void *b)
{
	const Mpstore__Party *x = *(Mpstore__Party *const *)a, *y = *(Mpstore__Party *const *)b;
	return x->conn < y->conn ? -1 : x->conn > y->conn;
}

static int holds_visit(void *arg, mpsd_container *c)
{
	hold_ctx *hc = arg;
	if (c->k->holders != NULL) {
		hc->c = c;
		c->k->holders(c, hold_cb, hc);
	}
	return hc->l.oom;
}

/* CLIENTS -> clients (by connection id), holders (what their sessions hold) */
int mpsd_clients_op(mpsd_daemon *d, mpsd_exec *x)
{
	clients_ctx cc = {d, {x, NULL, 0, 0, 0}, mpsd_now_ms()};
	mpsd_clients_foreach(d->clients, client_cb, &cc);
	if (cc.l.n > 1)
		qsort(cc.l.v, cc.l.n, sizeof(*cc.l.v), by_conn);
	hold_ctx hc = {d, {x, NULL, 0, 0, 0}, NULL, cc.now};
	if (!cc.l.oom && mpsd_store_foreach(d->st, holds_visit, &hc) != 0)
		hc.l.oom = 1;
	if (cc.l.oom || hc.l.oom)
		return mpsd_exec_fail(x, MPSTORE__STATUS__ERR_LIMIT, "out of memory");
	x->res->clients = cc.l.v;
	x->res->n_clients = cc.l.n;
	x->res->holders = hc.l.v;
	x->res->n_holders = hc.l.n;
	return 0;
}
