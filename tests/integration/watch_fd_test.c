/*
 * mps_watch_fd (watch_fd.c): readable whenever mps_watch_next(w, &ev, 0)
 * has an event to give.
 *  - a batch of three appends arrives as one PUB message: after the first
 *    event the socket is drained, yet the descriptor stays readable until
 *    the third has been taken (events queued in the library count);
 *  - a change made elsewhere makes it readable (poll with a timeout), and
 *    next(…, 0) then gives the change;
 *  - the daemon restarts: the descriptor keeps its number, and wakes its
 *    user (the library redials the SUB socket when the descriptor's timer
 *    says so, then the new socket is in the set) for the changes after
 *    the restart, which are delivered. The test waits on the descriptor
 *    alone: it never calls mps_watch_next unless it is readable.
 */
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client_test_util.h"
#include "support.h"

static mpst_daemon d;

static void stop_daemon(void) { mpst_daemon_cleanup(&d); }

static int readable(int fd, int ms)
{
	struct pollfd p = {fd, POLLIN, 0};
	return poll(&p, 1, ms) == 1 && (p.revents & POLLIN);
}

/* Poll the descriptor (only: no poll timeout is needed) and pull until
 * the list's last value is v. */
static void wait_change(mps_watcher *w, int fd, int64_t v)
{
	long long until = mpst_now_ms() + 30000;
	for (;;) {
		CT_TRUE(mpst_now_ms() < until);
		if (!readable(fd, 1000))
			continue;
		const mps_watch_event *ev;
		mps_err                e;
		while ((e = mps_watch_next(w, &ev, 0)) == MPS_OK) {
			/* the change, or a resync holding it (after a restart the
			 * daemon may no longer have the history to catch up from) */
			if ((ev->type == MPS_WATCH_CHANGE || ev->type == MPS_WATCH_RESYNC) &&
			    ev->nvalues > 0 &&
			    ev->values[ev->nvalues - 1].u.i == v)
				return;
		}
		CT_CHECK(e, MPS_ERR_TIMEOUT);
	}
}

int main(void)
{
	ct_on_fail = stop_daemon;
	CT_TRUE(mpst_daemon_start(&d, (const char *const[]){"--durability", "log", NULL}) == 0);
	mps_client *c, *other;
	CT_OK(mps_open(&c, d.url, 30000));
	CT_OK(mps_open(&other, d.url, 30000));
	CT_OK(mps_create_simple(c, "wf.l", MPS_KIND_LIST, MPS_TYPE_INT64));
	mps_watcher *w;
	CT_OK(mps_watch(c, "wf.l", NULL, &w));
	int fd = mps_watch_fd(w);
	CT_TRUE(fd >= 0 && mps_watch_fd(w) == fd);

	/* three changes in one message */
	mps_batch *b;
	CT_OK(mps_batch_alloc(other, &b));
	for (int i = 1; i <= 3; i++) {
		mps_op op = {.code = MPS_OP_LIST_APPEND, .name = "wf.l", .value = mps_int(i)};
		CT_OK(mps_batch_append(b, &op));
	}
	CT_OK(mps_batch_exec(b));
	mps_batch_free(b);
	long long until = mpst_now_ms() + 30000;
	int       next  = 1;
	while (next <= 3) {
		CT_TRUE(mpst_now_ms() < until);
		CT_TRUE(readable(fd, 1000) || next == 1); /* queued events keep it readable */
		const mps_watch_event *ev;
		mps_err                e = mps_watch_next(w, &ev, 0);
		if (e == MPS_ERR_TIMEOUT) {
			CT_TRUE(next == 1); /* only before the message came (heartbeats) */
			continue;
		}
		CT_OK(e);
		CT_TRUE(ev->type == MPS_WATCH_CHANGE && ev->nvalues == 1 && ev->values[0].u.i == next);
		next++;
		if (next <= 3)
			CT_TRUE(readable(fd, 0)); /* the socket is drained: the eventfd says so */
	}

	/* a change elsewhere wakes the descriptor */
	mps_value v = mps_int(42);
	CT_OK(mps_list_append(other, "wf.l", &v, NULL));
	wait_change(w, fd, 42);

	/* the daemon restarts: same descriptor, a new SUB socket inside */
	CT_TRUE(mpst_daemon_stop(&d) == 0);
	CT_TRUE(mpst_daemon_restart(&d) == 0);
	v = mps_int(43);
	CT_OK(mps_list_append(other, "wf.l", &v, NULL));
	CT_TRUE(mps_watch_fd(w) == fd);
	wait_change(w, fd, 43);

	mps_unwatch(w);
	mps_close(other);
	mps_close(c);
	CT_TRUE(mpst_daemon_stop(&d) == 0);
	mpst_daemon_cleanup(&d);
	printf("ok\n");
	return 0;
}
