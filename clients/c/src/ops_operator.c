/* ops_operator.c - what operators ask the daemon (docs/operations.md):
 * stats by sections and memory per container (OP_STATS), connections and
 * holders (OP_CLIENTS, OP_HOLDERS), and following requests (OP_MONITOR).
 * Each array returned is one allocation holding its strings: free(). */
#include <stdlib.h>
#include <string.h>

#include "guard.h"
#include "mps_int.h"

static const char *
nz(const char *s)
{
	return s != NULL ? s : "";
}

/* Copy s to *at (moving it on); the copy's address. */
static const char *
put(char **at, const char *s)
{
	size_t n = strlen(nz(s)) + 1;
	char  *d = *at;
	memcpy(d, nz(s), n);
	*at += n;
	return d;
}

static mps_err
stats_copy(const Mpstore__Result *r, mps_stat **out, size_t *n)
{
	size_t bytes = 0, k = r->n_values;
	for (size_t i = 0; i < k; i++) {
		const Mpstore__Value *s = i < r->n_keys ? r->keys[i] : NULL;
		bytes += strlen(nz(r->values[i]->string_value)) + 2 +
		    (s != NULL ? strlen(nz(s->string_value)) : 0);
	}
	mps_stat *v = malloc(k * sizeof(*v) + bytes + 1);
	if (v == NULL) {
		return mps__fail(MPS_ERR_NOMEM, "out of memory");
	}
	char *at = (char *) (v + k);
	for (size_t i = 0; i < k; i++) {
		const Mpstore__Value *s  = i < r->n_keys ? r->keys[i] : NULL;
		const char           *ln = nz(r->values[i]->string_value);
		const char           *eq = strchr(ln, '=');
		size_t                kl = eq != NULL ? (size_t) (eq - ln) : strlen(ln);
		v[i].section = put(&at, s != NULL ? s->string_value : "");
		v[i].key     = at;
		memcpy(at, ln, kl);
		at[kl] = '\0';
		at += kl + 1;
		v[i].value = put(&at, eq != NULL ? eq + 1 : "");
	}
	*out = v;
	*n   = k;
	return MPS_OK;
}

static mps_err
memory_copy(const Mpstore__Result *r, mps_memory **out, size_t *n)
{
	size_t bytes = 0, k = r->n_containers;
	for (size_t i = 0; i < k; i++) {
		bytes += strlen(nz(r->containers[i]->name)) + 1;
	}
	mps_memory *v = malloc(k * sizeof(*v) + bytes + 1);
	if (v == NULL) {
		return mps__fail(MPS_ERR_NOMEM, "out of memory");
	}
	char *at = (char *) (v + k);
	for (size_t i = 0; i < k; i++) {
		v[i].name  = put(&at, r->containers[i]->name);
		v[i].kind  = (mps_kind) r->containers[i]->kind;
		v[i].bytes = r->containers[i]->memory;
	}
	*out = v;
	*n   = k;
	return MPS_OK;
}

mps_err
mps_daemon_info(mps_client *c, const char *section, mps_stat **stats, size_t *n, mps_memory **mem,
    size_t *nmem)
{
	MPS__NEED(c);
	MPS__NEED(stats);
	MPS__NEED(n);
	mps_op op = {.code = MPS_OP_STATS, .name = section != NULL ? section : "",
	    .flags = mem != NULL ? MPS_FLAG_CONTAINERS : 0};
	mps__call call;
	*stats = NULL;
	*n     = 0;
	if (mem != NULL) {
		MPS__NEED(nmem);
		*mem  = NULL;
		*nmem = 0;
	}
	mps_err e = mps__call_op(c, &op, &call);
	if (e == MPS_OK) {
		e = stats_copy(call.res, stats, n);
	}
	if (e == MPS_OK && mem != NULL && (e = memory_copy(call.res, mem, nmem)) != MPS_OK) {
		free(*stats);
		*stats = NULL;
		*n     = 0;
	}
	mps__call_fini(&call);
	return e;
}

static mps_err
parties_copy(Mpstore__Party *const *p, size_t k, mps_party **out, size_t *n)
{
	size_t bytes = 0;
	*out         = NULL;
	*n           = 0;
	for (size_t i = 0; i < k; i++) {
		bytes += strlen(nz(p[i]->name)) + strlen(nz(p[i]->addr)) + strlen(nz(p[i]->container)) + 3;
	}
	mps_party *v = malloc(k * sizeof(*v) + bytes + 1);
	if (v == NULL) {
		return mps__fail(MPS_ERR_NOMEM, "out of memory");
	}
	char *at = (char *) (v + k);
	for (size_t i = 0; i < k; i++) {
		const Mpstore__Party *s = p[i];
		v[i] = (mps_party){.conn = s->conn, .client_id = s->client_id, .pid = s->pid,
		    .peer_pid = s->peer_pid, .age_ms = s->age_ms, .idle_ms = s->idle_ms,
		    .requests = s->requests, .parked = s->parked, .token = s->token, .count = s->count,
		    .timeout_ms = s->timeout_ms, .remaining_ms = s->remaining_ms,
		    .op = (mps_opcode) s->op, .kind = (mps_kind) s->kind};
		v[i].name      = put(&at, s->name);
		v[i].addr      = put(&at, s->addr);
		v[i].container = put(&at, s->container);
	}
	*out = v;
	*n   = k;
	return MPS_OK;
}

/* Run op and copy its result's two lists of parties out (b may be NULL). */
static mps_err
parties_call(mps_client *c, const mps_op *op, int first_clients, mps_party **a, size_t *na,
    mps_party **b, size_t *nb)
{
	mps__call call;
	*a  = NULL;
	*na = 0;
	if (b != NULL) {
		*b  = NULL;
		*nb = 0;
	}
	mps_err e = mps__call_op(c, op, &call);
	if (e == MPS_OK) {
		const Mpstore__Result *r = call.res;
		e = first_clients ? parties_copy(r->clients, r->n_clients, a, na)
		                  : parties_copy(r->holders, r->n_holders, a, na);
		if (e == MPS_OK && b != NULL) {
			e = first_clients ? parties_copy(r->holders, r->n_holders, b, nb)
			                  : parties_copy(r->waiters, r->n_waiters, b, nb);
			if (e != MPS_OK) {
				free(*a);
				*a  = NULL;
				*na = 0;
			}
		}
	}
	mps__call_fini(&call);
	return e;
}

mps_err
mps_clients(mps_client *c, mps_party **clients, size_t *n, mps_party **holds, size_t *nholds)
{
	MPS__NEED(c);
	MPS__NEED(clients);
	MPS__NEED(n);
	if (holds != NULL) {
		MPS__NEED(nholds);
	}
	mps_op op = {.code = MPS_OP_CLIENTS};
	return parties_call(c, &op, 1, clients, n, holds, nholds);
}

mps_err
mps_holders(mps_client *c, const char *name, mps_party **holders, size_t *nh, mps_party **waiters,
    size_t *nw)
{
	MPS__NEED(c);
	MPS__NEED(name);
	MPS__NEED(holders);
	MPS__NEED(nh);
	MPS__NEED(waiters);
	MPS__NEED(nw);
	mps_op op = {.code = MPS_OP_HOLDERS, .name = name};
	return parties_call(c, &op, 0, holders, nh, waiters, nw);
}

mps_err
mps_monitor(mps_client *c, uint64_t *cursor, int64_t timeout_ms, mps_value **lines, size_t *n,
    uint64_t *lost)
{
	MPS__NEED(c);
	MPS__NEED(cursor);
	MPS__NEED(lines);
	MPS__NEED(n);
	/* the wait must end well within the handle's own timeout for replies */
	int64_t max = c->timeout_ms > 0 ? c->timeout_ms / 2 : 1000;
	mps_op  op  = {.code = MPS_OP_MONITOR, .from_revision = *cursor,
	      .timeout_ms = timeout_ms < 0 || timeout_ms > max ? max : timeout_ms};
	mps__call call;
	*lines  = NULL;
	*n      = 0;
	mps_err e = mps__call_op(c, &op, &call);
	if (e == MPS_OK) {
		const Mpstore__Result *r = call.res;
		if (r->n_values > 0 &&
		    (e = mps__pv_copy_array(r->values, r->n_values, lines)) == MPS_OK) {
			*n = r->n_values;
		}
		if (e == MPS_OK) {
			*cursor = r->next > 0 ? (uint64_t) r->next : *cursor;
			if (lost != NULL) {
				*lost = r->count > 0 ? (uint64_t) r->count : 0;
			}
		}
	}
	mps__call_fini(&call);
	return e;
}
