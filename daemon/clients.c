/*
 * clients.c - a record per request connection (ipc, tcp or a TLS pipe),
 * made when the transport accepts it and ended when it closes: the
 * connection's unanswered requests, how many of them are parked, and what
 * `mpstore clients` shows. A connection that ends takes its parked
 * requests with it, whatever their client_id (dispatch.c), so a peer that
 * parks and leaves holds nothing.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "clients.h"
#include "operator.h"
#include "req.h"

struct mpsd_clients {
	mpsd_client **b;
	size_t        nb, n;
};

mpsd_clients *mpsd_clients_alloc(void)
{
	mpsd_clients *cs = calloc(1, sizeof(*cs));
	if (cs == NULL)
		return NULL;
	cs->nb = 256;
	if ((cs->b = calloc(cs->nb, sizeof(*cs->b))) == NULL) {
		free(cs);
		return NULL;
	}
	return cs;
}

void mpsd_clients_free(mpsd_clients *cs)
{
	if (cs == NULL)
		return;
	for (size_t i = 0; i < cs->nb; i++)
		while (cs->b[i] != NULL) {
			mpsd_client *c = cs->b[i];
			cs->b[i] = c->hnext;
			for (mpsd_req *r = c->reqs; r != NULL; r = r->cl_next)
				r->cl = NULL;
			free(c);
		}
	free(cs->b);
	free(cs);
}

size_t mpsd_clients_count(const mpsd_clients *cs) { return cs->n; }

static size_t slot(const mpsd_clients *cs, uint32_t id)
{
	return (size_t)((id * 0x9E3779B1u) >> 8) & (cs->nb - 1);
}

static void grow(mpsd_clients *cs)
{
	size_t        nb = cs->nb * 2;
	mpsd_client **b = calloc(nb, sizeof(*b));
	if (b == NULL)
		return;
	mpsd_client **old = cs->b;
	size_t        onb = cs->nb;
	cs->b = b;
	cs->nb = nb;
	for (size_t i = 0; i < onb; i++)
		while (old[i] != NULL) {
			mpsd_client *c = old[i];
			old[i] = c->hnext;
			size_t k = slot(cs, c->id);
			c->hnext = b[k];
			b[k] = c;
		}
	free(old);
}

mpsd_client *mpsd_clients_find(mpsd_clients *cs, uint32_t id)
{
	for (mpsd_client *c = cs->b[slot(cs, id)]; c != NULL; c = c->hnext)
		if (c->id == id)
			return c;
	return NULL;
}

void mpsd_clients_opened(void *arg, uint32_t id, const char *addr, pid_t pid)
{
	mpsd_daemon *d = arg;
	mpsd_clients *cs = d->clients;
	mpsd_client  *c = calloc(1, sizeof(*c));
	if (c == NULL)
		return; /* requests of it are served, untracked */
	c->id = id;
	snprintf(c->addr, sizeof(c->addr), "%s", addr);
	c->pid = pid;
	c->since_ms = c->last_ms = mpsd_now_ms();
	if (getrandom(c->nonce, sizeof(c->nonce), 0) != (ssize_t)sizeof(c->nonce)) {
		free(c); /* without a nonce it could never authenticate: refuse it */
		return;
	}
	size_t k = slot(cs, id);
	c->hnext = cs->b[k];
	cs->b[k] = c;
	if (++cs->n > cs->nb)
		grow(cs);
	if (d->cfg.verbose)
		mpsd_log("connection %08x from %s", id, addr);
}

void mpsd_clients_closed(void *arg, uint32_t id)
{
	mpsd_daemon  *d = arg;
	mpsd_clients *cs = d->clients;
	mpsd_client **pp = &cs->b[slot(cs, id)];
	while (*pp != NULL && (*pp)->id != id)
		pp = &(*pp)->hnext;
	mpsd_client *c = *pp;
	if (c != NULL) {
		*pp = c->hnext;
		cs->n--;
	}
	/* parked requests are dropped; the others are answered into the void
	 * when their commit returns */
	mpsd_req *parked = NULL;
	if (c != NULL) {
		mpsd_req *r = c->reqs;
		while (r != NULL) {
			mpsd_req *next = r->cl_next;
			r->cl = NULL;
			r->cl_prev = r->cl_next = NULL;
			if (r->parked) {
				r->next_free = parked;
				parked = r;
			}
			r = next;
		}
		c->reqs = NULL;
	}
	if (d->cfg.verbose)
		mpsd_log("connection %08x closed", id);
	mpsd_store_lock(d->st);
	mpsd_dispatch_conn_gone(d, id, parked);
	mpsd_store_unlock(d->st);
	if (d->mon != NULL)
		mpsd_monitor_conn_gone(d, id);
	mpsd_dispatch_rearm(d);
	free(c);
}

void mpsd_clients_track(mpsd_daemon *d, mpsd_req *r)
{
	mpsd_client *c = mpsd_clients_find(d->clients, r->peer.id);
	r->cl = c;
	r->cl_prev = NULL;
	r->cl_next = NULL;
	if (c == NULL)
		return;
	r->cl_next = c->reqs;
	if (c->reqs != NULL)
		c->reqs->cl_prev = r;
	c->reqs = r;
}

void mpsd_clients_untrack(mpsd_req *r)
{
	mpsd_client *c = r->cl;
	if (c == NULL)
		return;
	if (r->cl_prev != NULL)
		r->cl_prev->cl_next = r->cl_next;
	else
		c->reqs = r->cl_next;
	if (r->cl_next != NULL)
		r->cl_next->cl_prev = r->cl_prev;
	r->cl = NULL;
	r->cl_prev = r->cl_next = NULL;
}

size_t mpsd_clients_parked(const mpsd_req *r)
{
	return r->cl != NULL ? r->cl->nparked : 0;
}

void mpsd_clients_set_parked(mpsd_req *r, int on)
{
	if (r->cl == NULL)
		return;
	if (on)
		r->cl->nparked++;
	else if (r->cl->nparked > 0)
		r->cl->nparked--;
}

/* Length of the UTF-8 character at s (1 to 4), 0 when invalid (overlong
 * forms, surrogates, past U+10FFFF, truncated). */
static size_t utf8_char(const unsigned char *s)
{
	unsigned c = s[0];
	size_t   n;
	uint32_t cp;
	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf) {
		n = 2;
		cp = c & 0x1f;
	} else if (c >= 0xe0 && c <= 0xef) {
		n = 3;
		cp = c & 0x0f;
	} else if (c >= 0xf0 && c <= 0xf4) {
		n = 4;
		cp = c & 0x07;
	} else {
		return 0;
	}
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	if ((n == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
	    (n == 4 && (cp < 0x10000 || cp > 0x10ffff)))
		return 0;
	return n;
}

int mpsd_clients_hello(mpsd_client *c, const char *name, int64_t pid, char *err, size_t errlen)
{
	size_t keep = 0;
	for (const unsigned char *p = (const unsigned char *)name; *p != '\0';) {
		size_t n = utf8_char(p);
		if (n == 0 || *p < 0x20 || *p == 0x7f) {
			snprintf(err, errlen, "a client name is UTF-8 text without control characters "
			                      "(byte %zu is not)", (size_t)(p - (const unsigned char *)name));
			return MPSTORE__STATUS__ERR_INVALID;
		}
		if ((size_t)(p - (const unsigned char *)name) + n <= MPSD_CLIENT_NAME_MAX)
			keep = (size_t)(p - (const unsigned char *)name) + n;
		p += n;
	}
	if (pid < 0 || pid > INT32_MAX) {
		snprintf(err, errlen, "a client pid is 0 (none) or a process id, not %lld", (long long)pid);
		return MPSTORE__STATUS__ERR_INVALID;
	}
	if (c != NULL) {
		memcpy(c->name, name, keep);
		c->name[keep] = '\0';
		c->hello_pid = pid;
	}
	return 0;
}

void mpsd_clients_foreach(mpsd_clients *cs, void (*fn)(void *arg, mpsd_client *c), void *arg)
{
	for (size_t i = 0; i < cs->nb; i++)
		for (mpsd_client *c = cs->b[i]; c != NULL; c = c->hnext)
			fn(arg, c);
}
