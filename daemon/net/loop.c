/*
 * loop.c - the loop itself: creation, the wake-up other threads use
 * (mpsd_net_post), writing queued output before the loop sleeps, the
 * one-second tick, stop and close, stats.
 *
 * Output is written before the loop sleeps, not when a reply is made: a
 * reply is queued on its connection, and the prepare and check handles
 * (which libuv runs right before and right after it polls) write every
 * connection's queue with one writev each. A pipelining client whose
 * requests arrived in one read gets their replies in one write (redis's
 * handleClientsWithPendingWrites).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "net_int.h"

int64_t net_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- messages ---- */

mpsd_msg *mpsd_msg_alloc(size_t len)
{
	mpsd_msg *m = malloc(sizeof(*m) + (len ? len : 1));
	if (m == NULL)
		return NULL;
	m->len = len;
	return m;
}

void mpsd_msg_free(mpsd_msg *m) { free(m); }

mpsd_msg *mpsd_msg_dup(const mpsd_msg *m)
{
	mpsd_msg *c = mpsd_msg_alloc(m->len);
	if (c != NULL)
		memcpy(c->body, m->body, m->len);
	return c;
}

/* ---- posts from other threads ---- */

void mpsd_net_post(mpsd_net *n, mpsd_post *node)
{
	node->next = NULL;
	pthread_mutex_lock(&n->pmtx);
	int was_empty = n->phead == NULL;
	if (n->ptail != NULL)
		n->ptail->next = node;
	else
		n->phead = node;
	n->ptail = node;
	pthread_mutex_unlock(&n->pmtx);
	if (was_empty) /* a wake-up is already on its way otherwise */
		uv_async_send(&n->async);
}

void mpsd_net_run_posts(mpsd_net *n)
{
	for (;;) {
		pthread_mutex_lock(&n->pmtx);
		mpsd_post *p = n->phead;
		n->phead = n->ptail = NULL;
		pthread_mutex_unlock(&n->pmtx);
		if (p == NULL)
			break;
		while (p != NULL) {
			mpsd_post *next = p->next; /* fn may free p */
			p->fn(p->arg);
			p = next;
		}
	}
}

static void async_cb(uv_async_t *a)
{
	mpsd_net_run_posts(a->data);
}

/* Busy polling (--busy-poll-us): a client that sends one request at a
 * time waits for each reply, so each request finds the loop asleep and
 * pays for waking it (and for the client's own wake-up). After an
 * iteration that handled one request, the loop keeps polling (epoll_wait
 * with a zero timeout, through an active idle handle) for up to busy_poll_us,
 * so the client's next request is read at once. An iteration with more
 * than one request (several clients, or pipelining) stops it: sleeping
 * gathers more requests per wake-up there. Decided before each poll. */
static void spin_cb(uv_idle_t *h)
{
	(void)h; /* its being active is what counts */
}

static void spin_decide(mpsd_net *n)
{
	uint64_t got = n->st.frames_in - n->spin_seen;
	n->spin_seen = n->st.frames_in;
	if (n->cfg.busy_poll_us <= 0)
		return;
	int      on = uv_is_active((uv_handle_t *)&n->spin);
	uint64_t now = uv_hrtime();
	if (got == 1) {
		n->spin_last_ns = now;
		if (on)
			n->st.busy_poll_hits++;
		else {
			uv_idle_start(&n->spin, spin_cb);
			n->st.busy_polls++;
		}
	} else if (on && (got > 1 ||
	                     now - n->spin_last_ns > (uint64_t)n->cfg.busy_poll_us * 1000)) {
		uv_idle_stop(&n->spin);
	}
}

static void flush_cb(uv_handle_t *h)
{
	conn_flush_all(h->data);
}

static void prep_cb(uv_prepare_t *p)
{
	flush_cb((uv_handle_t *)p);
	spin_decide(p->data);
}
static void check_cb(uv_check_t *c) { flush_cb((uv_handle_t *)c); }

static void tick_cb(uv_timer_t *t)
{
	conn_tick(t->data, net_now_ms());
}

/* ---- life ---- */

int mpsd_net_open(mpsd_net **out, const mpsd_net_cfg *cfg, const mpsd_net_hooks *hooks,
    char *err, size_t errlen)
{
	mpsd_net *n = calloc(1, sizeof(*n));
	*out = NULL;
	if (n == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	n->cfg = *cfg;
	n->hooks = *hooks;
	n->st.clients_max = cfg->max_clients;
	n->next_id = 1;
	pthread_mutex_init(&n->pmtx, NULL);
	int rv = uv_loop_init(&n->loop);
	if (rv != 0) {
		snprintf(err, errlen, "cannot start the event loop: %s", uv_strerror(rv));
		pthread_mutex_destroy(&n->pmtx);
		free(n);
		return -1;
	}
	n->loop.data = n;
	uv_async_init(&n->loop, &n->async, async_cb);
	uv_prepare_init(&n->loop, &n->prep);
	uv_check_init(&n->loop, &n->check);
	uv_timer_init(&n->loop, &n->tick);
	uv_idle_init(&n->loop, &n->spin);
	n->spin.data = n;
	n->async.data = n->prep.data = n->check.data = n->tick.data = n;
	uv_prepare_start(&n->prep, prep_cb);
	uv_check_start(&n->check, check_cb);
	uv_timer_start(&n->tick, tick_cb, 1000, 1000);
	uv_unref((uv_handle_t *)&n->tick); /* the tick alone keeps nothing alive */
	if (listen_all(n, err, errlen) != 0) {
		mpsd_net_close(n);
		mpsd_net_free(n);
		return -1;
	}
	*out = n;
	return 0;
}

uv_loop_t *mpsd_net_loop(mpsd_net *n) { return &n->loop; }

void mpsd_net_run(mpsd_net *n)
{
	uv_run(&n->loop, UV_RUN_DEFAULT);
}

void mpsd_net_stop(mpsd_net *n)
{
	n->stopping = 1;
	listen_close_all(n);
	for (mpsd_conn *c = n->conns; c != NULL; c = c->next)
		if (c->reading) {
			uv_read_stop(&c->u.s);
			c->reading = 0;
		}
}

void mpsd_net_close(mpsd_net *n)
{
	if (n == NULL || n->closing)
		return;
	n->stopping = n->closing = 1;
	tls_close(n);
	listen_close_all(n);
	conn_flush_all(n); /* the last replies, if the sockets take them now */
	while (n->conns != NULL)
		conn_close(n->conns);
	conn_flush_all(n); /* hooks.closed of what just closed */
	uv_close((uv_handle_t *)&n->async, NULL);
	uv_close((uv_handle_t *)&n->prep, NULL);
	uv_close((uv_handle_t *)&n->check, NULL);
	uv_close((uv_handle_t *)&n->spin, NULL);
	uv_close((uv_handle_t *)&n->tick, NULL);
	/* the closes finish in the loop (mpsd_net_run returns once every
	 * handle, the daemon's included, is closed) or in mpsd_net_free */
}

void mpsd_net_free(mpsd_net *n)
{
	if (n == NULL)
		return;
	uv_run(&n->loop, UV_RUN_DEFAULT); /* closes still under way */
	if (uv_loop_close(&n->loop) != 0)
		return; /* a handle is still open: leave it to the process exit */
	pthread_mutex_destroy(&n->pmtx);
	free(n);
}

size_t mpsd_net_subscribers(const mpsd_net *n)
{
	return n->nsubs + tls_subscribers(n);
}

uint64_t mpsd_net_buffers_freed(const mpsd_net *n) { return n->st.buffers_freed; }

void mpsd_net_stats_get(const mpsd_net *n, mpsd_net_stats *st)
{
	*st = n->st;
	st->clients = n->nclients;
	st->subscribers = mpsd_net_subscribers(n);
	st->client_buffer = st->subscriber_buffer = 0;
	st->client_buffer_max = st->subscriber_buffer_max = 0;
	for (const mpsd_conn *c = n->conns; c != NULL; c = c->next) {
		size_t q = conn_queued(c);
		size_t *sum = c->sub ? &st->subscriber_buffer : &st->client_buffer;
		size_t *max = c->sub ? &st->subscriber_buffer_max : &st->client_buffer_max;
		*sum += q;
		if (q > *max)
			*max = q;
	}
}

void mpsd_net_foreach_client(mpsd_net *n,
    void (*fn)(void *arg, uint32_t id, const char *addr, pid_t pid, size_t queued), void *arg)
{
	for (mpsd_conn *c = n->conns; c != NULL; c = c->next)
		if (!c->sub && c->state != CONN_CLOSING)
			fn(arg, c->id, c->addr, c->pid, conn_queued(c));
}
