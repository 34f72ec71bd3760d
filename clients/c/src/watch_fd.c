/*
 * watch_fd.c - mps_watch_fd for the pull form (watch_int.h): an epoll
 * descriptor holding the SUB socket (readable when PUB bytes wait) and a
 * timerfd for the library's own work, armed at the time mps_watch_next
 * next has something to do without the socket: at once when events or a
 * message are queued, else at the next redial of a lost subscription, the
 * retry of a failed catch-up, or the gap check after a silence. So the
 * descriptor alone wakes its user for everything. Made at the first
 * mps_watch_fd call; the socket changes on a reconnect, the descriptor the
 * user polls does not.
 */
#include <fcntl.h>
#include <stdint.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "sp_conn.h"
#include "watch_int.h"

static void
ep_add(int epfd, int fd)
{
	struct epoll_event ev = {.events = EPOLLIN, .data.fd = fd};
	if (epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) != 0) {
		epoll_ctl(epfd, EPOLL_CTL_MOD, fd, &ev);
	}
}

/* A fresh epoll set and timer; in a forked child the new set takes the
 * number of the inherited one (which is the parent's: never touched). */
static int
ep_make(mps_watcher *w)
{
	int ep = epoll_create1(EPOLL_CLOEXEC);
	int tf = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (ep < 0 || tf < 0) {
		if (ep >= 0) {
			close(ep);
		}
		if (tf >= 0) {
			close(tf);
		}
		return -1;
	}
	if (w->ep_stale && w->epfd >= 0) {
		dup2(ep, w->epfd); /* atomically drops our copy of the parent's */
		fcntl(w->epfd, F_SETFD, FD_CLOEXEC);
		close(ep);
		ep = w->epfd;
	}
	w->epfd     = ep;
	w->tfd      = tf;
	w->tfd_at   = -1;
	w->ep_stale = 0;
	w->ep_gen   = w->sub != NULL ? w->sub->gen - 1 : 0; /* the SUB socket goes in at the update */
	ep_add(w->epfd, w->tfd);
	return 0;
}

int
mps__wfd_get(mps_watcher *w)
{
	if ((w->epfd < 0 || w->ep_stale) && ep_make(w) != 0) {
		mps__fail(MPS_ERR_NOMEM, "mps_watch_fd: cannot make the descriptor");
		return -1;
	}
	mps__wfd_update(w);
	return w->epfd;
}

static int64_t
min64(int64_t a, int64_t b)
{
	return a < b ? a : b;
}

void
mps__wfd_update(mps_watcher *w)
{
	if (w->epfd < 0 || (w->ep_stale && ep_make(w) != 0)) {
		return;
	}
	int64_t now = mps__now_ms(), at = INT64_MAX;
	if (w->sub == NULL) {
		/* pull: nothing to watch but time; w_fill asks the daemon */
		at = w->head != NULL ? now : now + W_PULL_FD_MS;
		goto arm;
	}
	if (w->ep_gen != w->sub->gen) {
		int fd = mps__sub_fd(w->sub);
		if (fd >= 0) {
			ep_add(w->epfd, fd);
		}
		w->ep_gen = w->sub->gen;
	}
	/* when w_fill next has work of its own (see its loop) */
	if (w->head != NULL || mps__sub_pending(w->sub)) {
		at = now;
	}
	if (w->need_resync || w->syncing) {
		at = min64(at, w->retry_at_ms);
	}
	int64_t dial = mps__sub_wake_at(w->sub);
	if (dial >= 0) {
		at = min64(at, dial);
	}
	int64_t quiet = w->last_msg_ms + W_SILENCE_MS, poll = w->last_sync_ms + W_POLL_MS;
	at = min64(at, (quiet > poll ? quiet : poll) + 1);
arm:
	if (at < now) {
		at = now; /* an absolute time past fires at once */
	}
	if (at != w->tfd_at) {
		/* re-arming also clears an expiry not yet read */
		struct itimerspec its = {{0, 0}, {(time_t) (at / 1000), (long) (at % 1000) * 1000000L}};
		if (its.it_value.tv_sec == 0 && its.it_value.tv_nsec == 0) {
			its.it_value.tv_nsec = 1; /* zero would disarm it */
		}
		timerfd_settime(w->tfd, TFD_TIMER_ABSTIME, &its, NULL);
		w->tfd_at = at;
	}
}

void
mps__wfd_close(mps_watcher *w)
{
	if (w->epfd >= 0) {
		close(w->epfd);
	}
	if (w->tfd >= 0) {
		close(w->tfd);
	}
	w->epfd = w->tfd = -1;
}

void
mps__wfd_fork_child(mps_watcher *w)
{
	/* the timer is shared with the parent: never set it here; the epoll
	 * number stays open until ep_make replaces it (the user may poll that
	 * number) */
	if (w->tfd >= 0) {
		close(w->tfd);
		w->tfd = -1;
	}
	w->ep_stale = w->epfd >= 0;
}
