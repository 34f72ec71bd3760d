/*
 * clock.c - the daemon's timers on the loop: the deadline of the earliest
 * parked op (one timer, re-armed after each request that may have parked
 * or woken something), and a 200 ms tick for session leases, the PUB
 * heartbeat and giving freed memory back to the system.
 */
#include <malloc.h>
#include <stdint.h>

#include "daemon.h"
#include "operator.h"
#include "session.h"

#define TICK_MS      200
#define HEARTBEAT_MS 500
#define TRIM_BYTES   (16u << 20) /* freed since the last trim: trim again */
#define TRIM_MS      1000        /* at most this often */

static void deadline_cb(uv_timer_t *t)
{
	mpsd_daemon *d = t->data;
	d->deadline_at = INT64_MAX;
	mpsd_store_lock(d->st);
	mpsd_store_expire(d->st, mpsd_now_ms(), mpsd_dispatch_resume);
	mpsd_store_unlock(d->st);
	mpsd_dispatch_rearm(d);
}

void mpsd_dispatch_rearm(mpsd_daemon *d)
{
	if (d->chg_pending)
		mpsd_changes_run(d, mpsd_now_ms());
	if (d->mon != NULL)
		mpsd_monitor_pending(d);
	int64_t next = mpsd_store_next_deadline(d->st);
	if (next == d->deadline_at)
		return;
	if (next == INT64_MAX) {
		uv_timer_stop(&d->deadline);
		d->deadline_at = INT64_MAX;
		return;
	}
	int64_t now = mpsd_now_ms();
	uv_update_time(mpsd_net_loop(d->net));
	uv_timer_start(&d->deadline, deadline_cb, next > now ? (uint64_t)(next - now) : 0, 0);
	d->deadline_at = next;
}

static void session_gone_cb(void *arg, uint64_t sid)
{
	mpsd_daemon *d = arg;
	if (d->cfg.verbose)
		mpsd_log("session %016llx ended (lease)", (unsigned long long)sid);
	mpsd_dispatch_session_gone(d, sid);
}

/* glibc keeps what is freed in its heap, and a flood of short
 * connections (each with its read buffer) or a big delete leaves the heap
 * resident though free: once 16 MiB of connection buffers or container
 * data has gone since the last time, at most once a second, hand the free
 * pages back (malloc_trim releases whole free pages anywhere in the heap,
 * not only at its top). Costs a walk over the free chunks only. */
static void trim_tick(mpsd_daemon *d, int64_t now)
{
	static uint64_t freed_at;
	static size_t   store_at;
	static int64_t  next;
	uint64_t        freed = mpsd_net_buffers_freed(d->net);
	mpsd_store_lock(d->st);
	size_t store = mpsd_store_memory(d->st); /* a counter: no walk */
	mpsd_store_unlock(d->st);
	if (store > store_at)
		store_at = store; /* the high mark since the last trim */
	if (now < next || (freed - freed_at < TRIM_BYTES && store_at - store < TRIM_BYTES))
		return;
	malloc_trim(0);
	d->heap_trims++;
	freed_at = freed;
	store_at = store;
	next = now + TRIM_MS;
}

static void tick_cb(uv_timer_t *t)
{
	mpsd_daemon   *d = t->data;
	static int64_t next_beat;
	int64_t        now = mpsd_now_ms();
	mpsd_store_lock(d->st);
	mpsd_sessions_reap(d->sess, 0, now, d->cfg.lease_ms, session_gone_cb, d);
	mpsd_store_unlock(d->st);
	mpsd_changes_run(d, now); /* deadlines of waiting OP_CHANGES */
	mpsd_monitor_tick(d, now);
	mpsd_dispatch_rearm(d);
	trim_tick(d, now);
	if (now >= next_beat) {
		next_beat = now + HEARTBEAT_MS;
		mpsd_notify_heartbeat(d);
	}
}

void mpsd_clock_start(mpsd_daemon *d)
{
	uv_loop_t *loop = mpsd_net_loop(d->net);
	uv_timer_init(loop, &d->deadline);
	uv_timer_init(loop, &d->lease);
	d->deadline.data = d->lease.data = d;
	d->deadline_at = INT64_MAX;
	uv_timer_start(&d->lease, tick_cb, TICK_MS, TICK_MS);
}

void mpsd_clock_stop(mpsd_daemon *d)
{
	uv_close((uv_handle_t *)&d->deadline, NULL);
	uv_close((uv_handle_t *)&d->lease, NULL);
}
