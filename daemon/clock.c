/*
 * clock.c - the daemon's timers on the loop: the deadline of the earliest
 * parked op (one timer, re-armed after each request that may have parked
 * or woken something), and a 200 ms tick for session leases and the PUB
 * heartbeat.
 */
#include <stdint.h>

#include "daemon.h"
#include "operator.h"
#include "session.h"

#define TICK_MS      200
#define HEARTBEAT_MS 500

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
