/*
 * watch.c - change notifications over PUB/SUB that never lose a change
 * silently (docs/watch.md explains the scheme; watch_int.h the files).
 *
 * One engine serves both forms: w_fill() makes progress (receive a PUB
 * message, fetch a page of missed changes, or take a resync) until events
 * are queued; mps_watch_next() hands them out, the callback thread loops
 * over it. Events point into a wbatch (a decoded message and the arrays
 * built for it) that lives until the event after its last one is taken.
 *
 * The subscription (sub.h) is libmpstore's own SP SUB socket for ipc://
 * and tcp:// PUB addresses, so a process that watches runs no nng and may
 * fork; nng's SUB only for tls+tcp://. A daemon that publishes nothing
 * (its hello names no PUB address: with an auth key PUB is off) is
 * followed by pulling: OP_CHANGES that wait for the next change, on the
 * handle's own authenticated connection, through the catch-up path.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "sp_conn.h"
#include "watch_int.h"

static void
sleep_ms(int64_t ms)
{
	if (ms <= 0) {
		return;
	}
	struct timespec ts = {(time_t) (ms / 1000), (long) (ms % 1000) * 1000000L};
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
	}
}

const char *
mps_change_type_name(int type)
{
	static const char *const names[] = {"none", "create", "delete", "clear", "set",
		"list_insert", "list_set", "list_delete", "dict_set", "dict_delete", "queue_put",
		"queue_get", "state", "resync"};
	return type >= 0 && type < (int) (sizeof(names) / sizeof(names[0])) ? names[type] : "?";
}

static void
w_failed(mps_watcher *w, mps_err e)
{
	pthread_mutex_lock(&w->smtx);
	w->st.last_error = (int) e;
	pthread_mutex_unlock(&w->smtx);
	w->backoff_ms  = w->backoff_ms ? w->backoff_ms * 2 : W_BACKOFF_MIN_MS;
	if (w->backoff_ms > W_BACKOFF_MAX_MS) {
		w->backoff_ms = W_BACKOFF_MAX_MS;
	}
	w->retry_at_ms = mps__now_ms() + w->backoff_ms;
}

static void
w_succeeded(mps_watcher *w)
{
	w->backoff_ms = 0;
	w->retry_at_ms = 0;
}

/* ---- PUB messages ---- */

static int
topic_matches(const mps_watcher *w, const char *t)
{
	return w->prefix ? strncmp(t, w->match, w->mlen) == 0 : strcmp(t, w->match) == 0;
}

static void
on_heartbeat(mps_watcher *w, const uint8_t *p, size_t len)
{
	mps__arena           a;
	char                 buf[256];
	mps__arena_init(&a, buf, sizeof(buf));
	Mpstore__Notification *n = mpstore__notification__unpack(&a.pa, len, p);
	if (n == NULL) {
		mps__arena_fini(&a);
		return;
	}
	uint64_t r = n->revision;
	mps__arena_fini(&a);
	STAT_ADD(w, heartbeats, 1);
	/* Heartbeats come from one thread, in order: one lower than an earlier
	 * one means the daemon went back in time (restarted without its
	 * data), and what we delivered is not its history any more. (Not
	 * compared with notifications: a heartbeat may read the revision just
	 * before a commit and be sent just after its notifications.) */
	if (r < w->hbmax) {
		w->hbmax       = r;
		w->syncing     = 0;
		w->need_resync = 1;
		return;
	}
	w->hbmax = r;
	if (r > w->done && (w->cur < r || !(w->flags & MPS_WATCH_F_NO_AUDIT))) {
		/* trailing notifications may have been dropped, and the audit
		 * checks what PUB delivered since the last catch-up */
		mps__w_start_sync(w, r + 1);
	}
}

static void
on_message(mps_watcher *w, const uint8_t *msg, size_t len)
{
	const char *body = (const char *) msg;
	const char *nul  = memchr(body, '\0', len);
	if (nul == NULL) {
		return; /* not ours */
	}
	const uint8_t *p  = (const uint8_t *) nul + 1;
	size_t         pl = len - (size_t) (p - (const uint8_t *) body);
	w->last_msg_ms    = mps__now_ms();
	if (nul == body) {
		on_heartbeat(w, p, pl);
		return;
	}
	if (!topic_matches(w, body) || w->need_resync || w->syncing) {
		return; /* a catch-up in progress covers it */
	}
	wbatch *b = mps__wb_new();
	if (b == NULL) {
		mps__w_start_sync(w, 0);
		return;
	}
	Mpstore__Notification *n = mpstore__notification__unpack(&b->a.pa, pl, p);
	if (n == NULL) {
		mps__wb_free(b);
		mps__w_start_sync(w, 0);
		return;
	}
	STAT_ADD(w, notifications, 1);
	uint64_t dups = 0;
	for (size_t i = 0; i < n->n_changes; i++) {
		const Mpstore__Change *ch = n->changes[i];
		uint64_t               r  = ch->revision;
		if (r <= w->done) {
			dups++;
			continue;
		}
		if (r != w->cur && r != w->cur + 1) {
			/* revisions are global: the ones between may be other
			 * containers' or lost ones of ours; the daemon knows */
			STAT_ADD(w, gaps, 1);
			mps__w_start_sync(w, r);
			break;
		}
		if (mps__ev_change(b, ch, 0) != 0) {
			mps__w_start_sync(w, 0);
			break;
		}
		w->cur = r;
		w->pub_count++;
	}
	if (dups) {
		STAT_ADD(w, duplicates, dups);
	}
	mps__wb_push(w, b);
}

/* ---- the engine ---- */

/* Make progress until an event is queued; MPS_ERR_TIMEOUT at deadline
 * (< 0: none), MPS_ERR_CLOSED when stopped or the subscription is gone. */
static mps_err
w_fill(mps_watcher *w, int64_t deadline)
{
	for (int first = 1; w->head == NULL; first = 0) {
		if (atomic_load(&w->stop)) {
			return MPS_ERR_CLOSED;
		}
		int64_t now = mps__now_ms();
		if (deadline >= 0 && now >= deadline && (!first || w->retry_at_ms > now)) {
			return MPS_ERR_TIMEOUT;
		}
		if (w->retry_at_ms > now) {
			int64_t t = w->retry_at_ms - now;
			if (deadline >= 0 && deadline - now < t) {
				t = deadline - now;
			}
			sleep_ms(t < 50 ? t : 50);
			continue;
		}
		if (w->need_resync || w->syncing) {
			mps_err e = w->need_resync ? mps__w_resync(w) : mps__w_sync_page(w);
			if (e != MPS_OK) {
				w_failed(w, e);
			} else {
				w_succeeded(w);
			}
			continue;
		}
		if (w->sub == NULL) {
			/* pull: one OP_CHANGES that waits for what comes after done */
			int64_t wait = W_PULL_WAIT_MS;
			if (deadline >= 0) {
				wait = deadline - now < W_PULL_WAIT_MS ? deadline - now : W_PULL_WAIT_MS;
			}
			w->pull_wait_ms = wait > 0 ? wait : 0;
			mps__w_start_sync(w, 0);
			mps_err e = mps__w_sync_page(w);
			w->pull_wait_ms = 0;
			if (e != MPS_OK) {
				w_failed(w, e);
			} else {
				w_succeeded(w);
			}
			if (w->head == NULL && deadline >= 0 && mps__now_ms() >= deadline) {
				return MPS_ERR_TIMEOUT;
			}
			continue;
		}
		if (now - w->last_msg_ms > W_SILENCE_MS && now - w->last_sync_ms > W_POLL_MS) {
			mps__w_start_sync(w, 0); /* no heartbeat: PUB unreachable? ask */
			continue;
		}
		int64_t until = now + W_RECV_SLICE_MS;
		if (deadline >= 0 && deadline < until) {
			until = deadline;
		}
		const uint8_t *msg;
		size_t         len;
		int            rv = mps__sub_recv(w->sub, until, &msg, &len);
		if (rv > 0) {
			on_message(w, msg, len);
		} else if (rv < 0) {
			return MPS_ERR_CLOSED;
		} else if (deadline >= 0 && mps__now_ms() >= deadline && w->head == NULL) {
			return MPS_ERR_TIMEOUT;
		}
	}
	return MPS_OK;
}

static mps_err
w_next(mps_watcher *w, const mps_watch_event **ev, int timeout_ms)
{
	mps__wb_free(w->shown);
	w->shown  = NULL;
	mps_err e = w_fill(w, timeout_ms < 0 ? -1 : mps__now_ms() + timeout_ms);
	if (e != MPS_OK) {
		return e;
	}
	wbatch *b = w->head;
	*ev       = &b->ev[b->pos++];
	if (b->pos == b->n) {
		w->head = b->next;
		if (w->head == NULL) {
			w->tail = NULL;
		}
		w->shown = b;
	}
	STAT_ADD(w, delivered, 1);
	return MPS_OK;
}

static void *
watch_main(void *arg)
{
	mps_watcher *w = arg;
	while (!atomic_load(&w->stop)) {
		const mps_watch_event *ev;
		if (w_next(w, &ev, 500) == MPS_OK) {
			w->cb(ev, w->cb_arg);
		}
	}
	return NULL;
}

/* ---- fork ---- */

static void
fk_prepare(void *arg)
{
	pthread_mutex_lock(&((mps_watcher *) arg)->smtx);
}

static void
fk_parent(void *arg)
{
	pthread_mutex_unlock(&((mps_watcher *) arg)->smtx);
}

/* In the child: a watch belongs to the process that opened it. A pull
 * watch nobody was reading at the fork goes on here on a subscription of
 * its own (dialled at its next mps_watch_next; gap recovery covers the
 * rest); one whose engine was running in another thread (callback
 * watches, mirrors) stays the parent's: frozen here, its memory possibly
 * mid-change. Either way only our copies of its descriptors are closed. */
static void
fk_child(void *arg)
{
	mps_watcher *w = arg;
	pthread_mutex_init(&w->smtx, NULL);
	if (w->cb != NULL || atomic_load(&w->in_engine)) {
		w->orphan      = 1;
		w->thr_running = 0;
	}
	if (w->sub != NULL) {
		mps__sub_fork_child(w->sub);
	}
	mps__wfd_fork_child(w);
}

/* ---- open / close ---- */

mps_err
mps_watch(mps_client *c, const char *what, const mps_watch_opts *opts, mps_watcher **out)
{
	mps_watch_opts o = {0};
	mps_err        e;
	mps__clear_error();
	if (out == NULL) {
		return mps__fail(MPS_ERR_INVALID, "mps_watch: out is NULL");
	}
	*out = NULL;
	if (opts != NULL) {
		o = *opts;
	}
	if (c == NULL || what == NULL) {
		return mps__fail(MPS_ERR_INVALID, "mps_watch needs a client and a name");
	}
	mps_watcher *w = calloc(1, sizeof(*w));
	if (w == NULL) {
		return mps__fail(MPS_ERR_NOMEM, "out of memory");
	}
	w->intr_fd = -1;
	pthread_mutex_init(&w->smtx, NULL);
	atomic_init(&w->stop, 0);
	atomic_init(&w->in_engine, 0);
	w->c      = c;
	w->flags  = o.flags;
	w->cb     = o.cb;
	w->cb_arg = o.cb_arg;
	w->epfd   = -1;
	w->tfd    = -1;
	size_t n  = strlen(what);
	w->prefix = n == 0 || what[n - 1] == '*';
	w->mlen   = w->prefix && n > 0 ? n - 1 : n;
	w->match  = strndup(what, w->mlen);
	w->what   = malloc(w->mlen + 2);
	if (w->match == NULL || w->what == NULL) {
		e = mps__fail(MPS_ERR_NOMEM, "out of memory");
		goto fail;
	}
	snprintf(w->what, w->mlen + 2, "%s%s", w->match, w->prefix ? "*" : "");
	if (memchr(w->match, '*', w->mlen) != NULL) {
		e = mps__fail(MPS_ERR_INVALID, "'*' may only end a watched prefix: '%s'", what);
		goto fail;
	}
	char        hello_url[512];
	const char *url = o.pub_url;
	if (url == NULL || url[0] == '\0') {
		url = getenv("MPSTORE_PUB_URL");
	}
	if ((url == NULL || url[0] == '\0') && mps__hello_pub_url(c, hello_url, sizeof(hello_url))) {
		url = hello_url; /* where the daemon says it publishes */
	}
	/* SUB topics are prefixes of the whole message: "name\0" is one
	 * container, "prefix" all under it, "" everything; the 1-byte "\0"
	 * is exactly the heartbeats (empty name). */
	const uint8_t *topics[2] = {(const uint8_t *) w->match, (const uint8_t *) ""};
	size_t         tlen[2]   = {w->prefix ? w->mlen : w->mlen + 1, 1};
	mps__dialopts  d = {url, c->timeout_ms, c->tls_ca, c->tls_server_name, c->tls_cert,
	    c->tls_key, NULL, NULL};
	if (url != NULL && url[0] != '\0' &&
	    (e = mps__sub_open(&d, topics, tlen, w->mlen > 0 ? 2 : 1, &w->sub)) != MPS_OK) {
		goto fail;
	}
	/* the last committed revision: "now", and proof the daemon answers */
	{
		mps__call call;
		mps_op    op = {.code = MPS_OP_CHANGES, .name = w->what, .from_revision = UINT64_MAX};
		e            = mps__call_op(c, &op, &call);
		uint64_t rev = e == MPS_OK ? call.res->revision : 0;
		mps__call_fini(&call);
		if (e != MPS_OK) {
			goto fail;
		}
		if (o.from_revision == 0) {
			w->done = w->cur = rev;
		} else {
			w->done = w->cur = o.from_revision - 1;
			mps__w_start_sync(w, 0);
		}
		w->progress = w->done;
	}
	if (o.flags & MPS_WATCH_F_RESYNC_FIRST) {
		w->syncing     = 0;
		w->need_resync = 1;
	}
	w->last_msg_ms = mps__now_ms();
	w->fk          = (mps__forkable){NULL, NULL, fk_prepare, fk_parent, fk_child, w};
	mps__fork_register(&w->fk);
	if (w->cb != NULL) {
		if (w->sub != NULL) {
			/* mps_unwatch ends a receive at once, not at its slice's end */
			w->intr_fd       = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
			w->sub->intr_fd  = w->intr_fd;
		}
		if (pthread_create(&w->thr, NULL, watch_main, w) != 0) {
			e = mps__fail(MPS_ERR_NOMEM, "cannot start the watch thread");
			goto fail;
		}
		w->thr_running = 1;
	}
	*out = w;
	return MPS_OK;
fail:
	mps_unwatch(w);
	return e;
}

mps_err
mps_watch_next(mps_watcher *w, const mps_watch_event **ev, int timeout_ms)
{
	if (w == NULL || ev == NULL) {
		return mps__fail(MPS_ERR_INVALID, "mps_watch_next: NULL watch or event pointer");
	}
	*ev = NULL;
	if (w->cb != NULL) {
		return mps__fail(MPS_ERR_INVALID, "this watch delivers to its callback");
	}
	if (w->orphan) {
		return mps__fail(MPS_ERR_INVALID,
		    "this watch was being read by another thread when the process forked: it "
		    "stays the parent's (mps_unwatch it here)");
	}
	atomic_store(&w->in_engine, 1);
	mps_err e = w_next(w, ev, timeout_ms);
	mps__wfd_update(w);
	atomic_store(&w->in_engine, 0);
	if (e == MPS_ERR_CLOSED && !atomic_load(&w->stop)) {
		return mps__fail(e, "the subscription cannot be used here (a tls+tcp:// watch in "
		                    "a forked child?)");
	}
	return e == MPS_OK ? MPS_OK : mps__fail(e, "%s", mps_strerror(e));
}

int
mps_watch_fd(mps_watcher *w)
{
	if (w == NULL) {
		mps__fail(MPS_ERR_INVALID, "mps_watch_fd: the watch is NULL");
		return -1;
	}
	if (w->cb != NULL || w->orphan) {
		mps__fail(MPS_ERR_INVALID, "mps_watch_fd: not a pull watch of this process");
		return -1;
	}
	return mps__wfd_get(w);
}

uint64_t
mps_watch_revision(mps_watcher *w)
{
	if (w == NULL) {
		mps__fail(MPS_ERR_INVALID, "mps_watch_revision: the watch is NULL");
		return 0;
	}
	pthread_mutex_lock(&w->smtx);
	uint64_t r = w->done;
	pthread_mutex_unlock(&w->smtx);
	return r;
}

void
mps_watch_stats_get(mps_watcher *w, mps_watch_stats *st)
{
	if (w == NULL || st == NULL) {
		mps__fail(MPS_ERR_INVALID, "mps_watch_stats_get: NULL watch or stats");
		if (st != NULL) {
			memset(st, 0, sizeof(*st));
		}
		return;
	}
	pthread_mutex_lock(&w->smtx);
	*st = w->st;
	pthread_mutex_unlock(&w->smtx);
}

void
mps__watch_request_resync(mps_watcher *w)
{
	w->syncing     = 0;
	w->need_resync = 1;
}

void
mps_unwatch(mps_watcher *w)
{
	if (w == NULL) {
		return;
	}
	mps__fork_unregister(&w->fk);
	atomic_store(&w->stop, 1);
	if (w->thr_running) {
		if (w->intr_fd >= 0) {
			uint64_t one = 1;
			ssize_t  rv  = write(w->intr_fd, &one, sizeof(one));
			(void) rv; /* if not, its receive ends within W_RECV_SLICE_MS */
		}
		pthread_join(w->thr, NULL);
		w->thr_running = 0;
	}
	if (w->intr_fd >= 0) {
		close(w->intr_fd);
		w->intr_fd = -1;
	}
	mps__wfd_close(w);
	if (w->orphan) {
		free(w); /* the rest may be mid-change: left to the process's end */
		return;
	}
	mps__sub_close(w->sub);
	mps__wb_free_all(w->head);
	mps__wb_free(w->shown);
	pthread_mutex_destroy(&w->smtx);
	free(w->match);
	free(w->what);
	free(w);
}
