/*
 * watch_int.h - the watch engine's state, shared by its files (hidden):
 *   watch.c         open/close, PUB messages, the engine (w_fill), the API
 *   watch_events.c  event batches: building the events handed out
 *   watch_sync.c    requests to the daemon: catch-up pages (OP_CHANGES)
 *                   and resyncs (OP_LIST_CONTAINERS + OP_DUMP)
 *   watch_fd.c      mps_watch_fd: an epoll descriptor over the SUB
 *                   socket and a timer for the engine's own work
 * and mirror.c (mps__watch_request_resync). docs/watch.md explains the
 * scheme.
 *
 * State: every matching change with revision <= done has been delivered;
 * cur >= done is the revision of the last change delivered; pub_count
 * counts the changes delivered from PUB in (done, cur], which the next
 * OP_CHANGES reply must confirm (the audit). Everything but st and done
 * belongs to the thread running the engine (the callback thread, or the
 * caller of mps_watch_next: one at a time).
 */
#ifndef MPS_WATCH_INT_H
#define MPS_WATCH_INT_H

#include "mps_int.h"
#include "sub.h"

#define W_RECV_SLICE_MS  100  /* longest blocking receive: stop/liveness checks */
#define W_SILENCE_MS     2000 /* no PUB message for this long: poll OP_CHANGES */
#define W_POLL_MS        1000 /* ... at most this often */
#define W_PULL_WAIT_MS   10000 /* pull form: longest wait of one OP_CHANGES */
#define W_PULL_FD_MS     200   /* pull form: how often mps_watch_fd wakes its user */
#define W_BACKOFF_MIN_MS 20
#define W_BACKOFF_MAX_MS 1000
#define W_RESYNC_TRIES   20

/* Events handed out together: they point into a decoded message or reply
 * that lives until the event after the batch's last one is taken. */
typedef struct wbatch {
	struct wbatch   *next;
	mps__arena       a;     /* decoded PUB message, event arrays */
	int              has_call;
	mps__call        call;  /* decoded reply of a request */
	mps_watch_event *ev;
	size_t           n, cap, pos;
} wbatch;

struct mps_watcher {
	mps_client *c;
	char       *what;  /* for OP_CHANGES / OP_LIST_CONTAINERS: name, or prefix + '*' */
	char       *match; /* exact name or prefix */
	size_t      mlen;
	int         prefix;
	uint32_t    flags;
	mps__sub   *sub;   /* NULL: the daemon publishes nothing (a key is set):
	                    * changes come from OP_CHANGES that wait (pull) */
	int64_t     pull_wait_ms; /* the wait of the next such OP_CHANGES */

	uint64_t done, cur, hbmax, pub_count, progress;
	/* a catch-up in pages (OP_CHANGES from sync_from) */
	int      syncing, sync_checked;
	uint64_t sync_from, sync_audit_to, sync_trigger, sync_seen, sync_skip_le;
	int      need_resync;
	int64_t  last_msg_ms, last_sync_ms, retry_at_ms;
	int      backoff_ms;

	wbatch *head, *tail, *shown;

	pthread_mutex_t smtx; /* st, done for other threads */
	mps_watch_stats st;

	mps_watch_cb cb;
	void        *cb_arg;
	pthread_t    thr;
	int          thr_running;
	int          intr_fd;     /* eventfd that ends the thread's receive at mps_unwatch */
	int          orphan;   /* a callback watch in a forked child: its thread stayed */
	atomic_int   stop;
	atomic_int   in_engine; /* a thread is inside mps_watch_next */

	/* mps_watch_fd (watch_fd.c), made at its first call */
	int          epfd, tfd;
	int64_t      tfd_at;   /* when tfd is armed to fire (-1: unset) */
	unsigned     ep_gen;   /* sub->gen of the SUB descriptor in epfd */
	int          ep_stale; /* epfd is the parent's (forked child) */

	mps__forkable fk;
};

#define STAT_ADD(w, field, k)                                                 \
	do {                                                                  \
		pthread_mutex_lock(&(w)->smtx);                               \
		(w)->st.field += (k);                                         \
		pthread_mutex_unlock(&(w)->smtx);                             \
	} while (0)

/* watch_events.c */
wbatch          *mps__wb_new(void);
void             mps__wb_free(wbatch *b);
void             mps__wb_free_all(wbatch *b);
mps_watch_event *mps__wb_add(wbatch *b);
void             mps__wb_push(mps_watcher *w, wbatch *b); /* frees it when empty */
const mps_value *mps__wb_views(wbatch *b, Mpstore__Value *const *pv, size_t n);
int              mps__ev_change(wbatch *b, const Mpstore__Change *ch, int recovered);
void             mps__ev_progress(mps_watcher *w, wbatch *b);
int              mps__ev_resync(wbatch *b, const Mpstore__Result *res, size_t idx, size_t count);

/* watch_sync.c */
void    mps__w_set_done(mps_watcher *w, uint64_t done);
void    mps__w_start_sync(mps_watcher *w, uint64_t trigger);
mps_err mps__w_sync_page(mps_watcher *w);
mps_err mps__w_resync(mps_watcher *w);

/* watch_fd.c */
int  mps__wfd_get(mps_watcher *w);
/* After the engine ran (pull form): the SUB descriptor in the epoll set,
 * the timer armed for when mps_watch_next(w, &ev, 0) next has work of its
 * own (now, if events are queued). */
void mps__wfd_update(mps_watcher *w);
void mps__wfd_close(mps_watcher *w);
/* In a forked child: forget the parent's descriptors (close our copies). */
void mps__wfd_fork_child(mps_watcher *w);

/* From the watch's own callback: deliver a fresh resync next (used when a
 * change does not apply to a local copy). */
void mps__watch_request_resync(mps_watcher *w);

#endif
