/*
 * commit.c - the commit thread: group commit of queued changes to the
 * database, then replies; opening, recovering and closing the database.
 * (Notifications and history: history.c; snapshots: commit_snapshot.c.)
 *
 * Order: jobs are queued under the store lock, so the queue is in revision
 * order; the commit thread takes every queued job at once, writes their
 * changes in one SQLite transaction, then publishes them and answers.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "commit_int.h"
#include "pack.h"
#include "wire.h"
#include "req.h"
#include "session.h"

/* ---- records ---- */

void crec_free(crec *c)
{
	if (c->blk != NULL) {
		if (__atomic_sub_fetch(&c->blk->refs, 1, __ATOMIC_ACQ_REL) == 0)
			free(c->blk);
	} else {
		free(c->data); /* the name lives in the same block */
	}
	c->data = NULL;
	c->name = NULL;
	c->blk = NULL;
}

/* One change: a block of its own (see crec_pack_all). */
int crec_pack(crec *c, const Mpstore__Change *ch)
{
	Mpstore__Change *one = (Mpstore__Change *)ch;
	return crec_pack_all(c, &one, 1) == 1 ? 0 : -1;
}

/*
 * Pack the n changes of one request into out[0..n-1], all in one block
 * (packed changes, then their names): one malloc per request instead of
 * one per change, which the history ring would free one by one. Returns
 * n, or 0 when out of memory (nothing allocated).
 */
int crec_pack_all(crec *out, Mpstore__Change *const *chs, size_t n)
{
	uint8_t mem[2048];
	mpw_buf b;
	size_t  lens[64], *len = n <= 64 ? lens : malloc(n * sizeof(size_t));
	size_t  names = 0;
	if (n == 0 || len == NULL)
		return 0;
	mpw_init(&b, mem, sizeof(mem));
	for (size_t i = n; i-- > 0;) { /* backwards: change 0 ends up first */
		size_t mark = mpw_len(&b);
		if (mpw_change(&b, chs[i]) != 0)
			break;
		len[i] = mpw_len(&b) - mark;
		names += strlen(chs[i]->name ? chs[i]->name : "") + 1;
	}
	crec_blk *blk = b.oom ? NULL : malloc(sizeof(*blk) + mpw_len(&b) + names);
	if (blk != NULL) {
		size_t total = mpw_len(&b), off = 0, noff = total;
		memcpy(blk->data, mpw_data(&b), total);
		blk->refs = (int)n;
		for (size_t i = 0; i < n; i++) {
			const char *nm = chs[i]->name ? chs[i]->name : "";
			size_t      nl = strlen(nm) + 1;
			memcpy(blk->data + noff, nm, nl);
			out[i] = (crec){chs[i]->revision, chs[i]->kind, (char *)blk->data + noff,
			                blk->data + off, len[i], blk};
			off += len[i];
			noff += nl;
		}
	}
	mpw_fini(&b);
	if (len != lens)
		free(len);
	return blk != NULL ? (int)n : 0;
}

void job_free(job *j)
{
	for (size_t i = 0; i < j->nrec; i++)
		crec_free(&j->recs[i]);
	free(j->recs);
	free(j->arg);
	free(j);
}

/* ---- replies ---- */

nng_msg *status_reply(mpsd_req *r, Mpstore__Status st, const char *msg, uint64_t rev)
{
	Mpstore__Response resp;
	Mpstore__Result   res, *resv[1] = {&res};
	mpstore__response__init(&resp);
	mpstore__result__init(&res);
	resp.version = 1;
	resp.id = r->rq != NULL ? r->rq->id : 0;
	resp.revision = rev;
	res.status = st;
	res.error = (char *)msg;
	res.revision = rev;
	resp.results = resv;
	resp.n_results = 1;
	if (st != 0 && r->action == MPSD_ACT_NONE) {
		resp.status = st;
		resp.error = (char *)msg;
		resp.n_results = 0;
	}
	return mpsd_pack_response(&resp);
}

static void answer_jobs(mpsd_daemon *d, job *list)
{
	int any = 0;
	for (job *j = list; j != NULL; j = j->next)
		any |= j->r != NULL;
	if (!any)
		return;
	mpsd_store_lock(d->st);
	for (job *j = list; j != NULL; j = j->next)
		if (j->r != NULL)
			mpsd_dispatch_committed(d, j->r, j->reply);
	mpsd_store_unlock(d->st);
	for (job *j = list; j != NULL; j = j->next)
		if (j->r != NULL) {
			/* shutting down: mpsd_server_stop closes the REP socket
			 * while this thread may still answer, and nng 1.5.2 panics
			 * on a context send racing the close; the client hears
			 * nothing (an unacknowledged write, as after a crash) */
			if (d->stopping) {
				if (j->reply != NULL)
					nng_msg_free(j->reply);
			} else {
				mpsd_dispatch_send(d, j->r, j->reply);
			}
			j->reply = NULL;
			j->r = NULL;
		}
}

/* Called by the commit thread (a failed write) and the WAL sync thread (a
 * failed sync): the first reason is kept, and published after it is
 * written (readers load `readonly` with acquire, then read the reason). */
void commit_go_readonly(mpsd_daemon *d, const char *why)
{
	static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
	pthread_mutex_lock(&mu);
	if (!__atomic_load_n(&d->readonly, __ATOMIC_ACQUIRE)) {
		snprintf(d->readonly_why, sizeof(d->readonly_why), "%s", why);
		__atomic_store_n(&d->readonly, 1, __ATOMIC_RELEASE);
		mpsd_log("database write or sync failed, refusing writes until restart: %s", why);
	}
	pthread_mutex_unlock(&mu);
}

/* ---- the commit thread ---- */

job *take_jobs(mpsd_commit *cm)
{
	pthread_mutex_lock(&cm->mtx);
	job *l = cm->head;
	cm->head = cm->tail = NULL;
	pthread_mutex_unlock(&cm->mtx);
	return l;
}

/* Put jobs (records already handled) back at the head of the queue. */
static void requeue_front(mpsd_commit *cm, job *first, job *last)
{
	pthread_mutex_lock(&cm->mtx);
	last->next = cm->head;
	cm->head = first;
	if (cm->tail == NULL)
		cm->tail = last;
	pthread_cond_signal(&cm->cond);
	pthread_mutex_unlock(&cm->mtx);
}

void process_jobs(mpsd_daemon *d, job *list)
{
	mpsd_commit *cm = d->commit;
	if (list == NULL)
		return;
	size_t n = 0;
	for (job *j = list; j != NULL; j = j->next)
		n += j->nrec;
	if (n > 0 && cm->db != NULL && cm->threaded) {
		mpsp_rec *recs = malloc(n * sizeof(*recs));
		char      err[512] = "out of memory";
		int       rv = MPSTORE__STATUS__ERR_IO;
		if (recs != NULL) {
			size_t k = 0;
			for (job *j = list; j != NULL; j = j->next)
				for (size_t i = 0; i < j->nrec; i++) {
					crec *c = &j->recs[i];
					recs[k++] = (mpsp_rec){c->rev, c->name, c->kind, c->data, c->len};
				}
			rv = mpsp_log_append(cm->db, recs, n, mpsd_store_token(d->st), err, sizeof(err));
			free(recs);
		}
		if (rv != 0) {
			commit_go_readonly(d, err);
			/* never a false "ok": every writer of this batch hears the error */
			for (job *j = list; j != NULL; j = j->next)
				if (j->r != NULL && j->nrec > 0) {
					nng_msg_free(j->reply);
					j->reply = status_reply(j->r, MPSTORE__STATUS__ERR_IO, err, 0);
				}
			for (job *j = list; j != NULL; j = j->next)
				j->nrec = 0 * (size_t)(j->recs != NULL) + j->nrec; /* keep for free */
			goto answer;
		}
	}
	__atomic_add_fetch(&cm->batches, 1, __ATOMIC_RELEASE);
	cm->committed_changes += n;
	cm->changes_since_snap += (int64_t)n;
	for (job *j = list; j != NULL; j = j->next)
		publish_and_keep(d, j->recs, j->nrec);
answer:;
	/* A snapshot request that arrives while a snapshot is being written
	 * (do_snapshot commits queued jobs between its pieces) waits until that
	 * one is done: snapshots do not nest. Its records, if any, are handled
	 * now; only the action and the reply are put back in the queue. */
	job *deferred = NULL, *dlast = NULL;
	for (job **pp = &list; *pp != NULL;) {
		job *j = *pp;
		if (j->action == MPSD_ACT_SNAPSHOT && j->r != NULL && cm->in_snapshot) {
			*pp = j->next;
			for (size_t i = 0; i < j->nrec; i++)
				crec_free(&j->recs[i]);
			j->nrec = 0;
			j->next = NULL;
			if (dlast != NULL)
				dlast->next = j;
			else
				deferred = j;
			dlast = j;
			continue;
		}
		if (j->action != MPSD_ACT_NONE && j->r != NULL)
			do_action(d, j);
		pp = &j->next;
	}
	if (deferred != NULL)
		requeue_front(cm, deferred, dlast);
	answer_jobs(d, list);
	while (list != NULL) {
		job *n2 = list->next;
		job_free(list);
		list = n2;
	}
}

static int snapshot_due(mpsd_daemon *d)
{
	mpsd_commit *cm = d->commit;
	if (cm->db == NULL || cm->changes_since_snap == 0)
		return 0;
	if (d->cfg.snapshot_changes > 0 && cm->changes_since_snap >= d->cfg.snapshot_changes)
		return 1;
	return d->cfg.snapshot_secs > 0 &&
	       mpsd_now_ms() - cm->last_snap_ms >= d->cfg.snapshot_secs * 1000;
}

static void *commit_main(void *arg)
{
	mpsd_daemon *d = arg;
	mpsd_commit *cm = d->commit;
	for (;;) {
		pthread_mutex_lock(&cm->mtx);
		while (cm->head == NULL && !cm->stop) {
			struct timespec ts;
			clock_gettime(CLOCK_REALTIME, &ts);
			ts.tv_sec += 1;
			cm->waiting = 1;
			pthread_cond_timedwait(&cm->cond, &cm->mtx, &ts);
			cm->waiting = 0;
			if (cm->head == NULL && snapshot_due(d))
				break;
		}
		int stop = cm->stop && cm->head == NULL;
		pthread_mutex_unlock(&cm->mtx);
		process_jobs(d, take_jobs(cm));
		if (snapshot_due(d)) {
			char err[512];
			do_snapshot(d, err, sizeof(err));
		}
		if (stop)
			break;
	}
	return NULL;
}

void mpsd_commit_submit(mpsd_daemon *d, mpsd_exec *x, mpsd_req *r, nng_msg *reply)
{
	mpsd_commit *cm = d->commit;
	job         *j = calloc(1, sizeof(*j));
	if (j == NULL || (x->nchanges && (j->recs = calloc(x->nchanges, sizeof(crec))) == NULL)) {
		free(j);
		mpsd_log("out of memory committing %zu changes", x->nchanges);
		if (r != NULL) {
			nng_msg_free(reply);
			mpsd_dispatch_committed(d, r, NULL);
			mpsd_dispatch_send(d, r, status_reply(r, MPSTORE__STATUS__ERR_LIMIT,
			    "out of memory committing", 0));
		}
		return;
	}
	j->nrec = x->nchanges > 0 ? (size_t)crec_pack_all(j->recs, x->changes, x->nchanges) : 0;
	if (j->nrec < x->nchanges)
		mpsd_log("out of memory packing %zu changes: they are not logged", x->nchanges);
	j->r = r;
	j->reply = reply;
	if (r != NULL && r->action != MPSD_ACT_NONE) {
		j->action = r->action;
		j->arg = r->action_arg ? strdup(r->action_arg) : NULL;
	}
	if ((!cm->threaded && j->action == MPSD_ACT_NONE) || !cm->thr_started) {
		/* nothing to wait for: publish and answer now (store lock held).
		 * Without a commit thread (memory mode) actions are answered here
		 * too: with no database they fail at once, taking no lock. */
		cm->committed_changes += j->nrec;
		cm->changes_since_snap += (int64_t)j->nrec;
		publish_and_keep(d, j->recs, j->nrec);
		if (r != NULL && j->action != MPSD_ACT_NONE)
			do_action(d, j);
		if (r != NULL) {
			mpsd_dispatch_committed(d, r, j->reply);
			mpsd_dispatch_send(d, r, j->reply);
		}
		j->r = NULL;
		j->reply = NULL;
		job_free(j);
		return;
	}
	pthread_mutex_lock(&cm->mtx);
	if (cm->tail != NULL)
		cm->tail->next = j;
	else
		cm->head = j;
	cm->tail = j;
	if (cm->waiting) /* a busy thread takes it with the next batch anyway */
		pthread_cond_signal(&cm->cond);
	pthread_mutex_unlock(&cm->mtx);
}

/* ---- stats ---- */

void mpsd_commit_stats(mpsd_daemon *d, mpsd_exec *x)
{
	mpsd_commit *cm = d->commit;
	char         lines[32][96];
	size_t       n = 0;
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	mpsp_stats ps;
	memset(&ps, 0, sizeof(ps));
	snprintf(lines[n++], 96, "pid=%ld", (long)getpid());
	snprintf(lines[n++], 96, "revision=%llu", (unsigned long long)mpsd_store_revision(d->st));
	snprintf(lines[n++], 96, "containers=%zu", mpsd_store_count(d->st));
	snprintf(lines[n++], 96, "waiters=%zu", mpsd_store_nwaiters(d->st));
	snprintf(lines[n++], 96, "sessions=%zu", mpsd_sessions_count(d->sess));
	snprintf(lines[n++], 96, "durability=%s",
	    mpsp_durability_name((mpsp_durability)d->cfg.durability));
	snprintf(lines[n++], 96, "committed_changes=%llu", (unsigned long long)cm->committed_changes);
	snprintf(lines[n++], 96, "commit_batches=%llu",
	    (unsigned long long)__atomic_load_n(&cm->batches, __ATOMIC_RELAXED));
	snprintf(lines[n++], 96, "wal_syncs=%llu",
	    (unsigned long long)__atomic_load_n(&cm->wal_syncs, __ATOMIC_RELAXED));
	snprintf(lines[n++], 96, "snapshot_revision=%llu", (unsigned long long)cm->snap_rev);
	snprintf(lines[n++], 96, "readonly=%d", __atomic_load_n(&d->readonly, __ATOMIC_ACQUIRE));
	snprintf(lines[n++], 96, "subscribers=%d", mpsd_server_subscribers(d));
	size_t nctx, nsend;
	mpsd_server_contexts(d, &nctx, &nsend);
	snprintf(lines[n++], 96, "contexts=%zu", nctx);
	snprintf(lines[n++], 96, "requests=%llu",
	    (unsigned long long)__atomic_load_n(&d->requests, __ATOMIC_RELAXED));
	snprintf(lines[n++], 96, "contexts_sending=%zu", nsend);
	snprintf(lines[n++], 96, "max_rss_kb=%ld", ru.ru_maxrss);
	/* limits (0: none) and what they count */
	const mpsd_limits *lim = mpsd_store_limits(d->st);
	size_t             hist_bytes = mpsd_commit_history_bytes(d);
	snprintf(lines[n++], 96, "used_memory=%zu", mpsd_store_memory(d->st) + hist_bytes);
	snprintf(lines[n++], 96, "store_memory=%zu", mpsd_store_memory(d->st));
	snprintf(lines[n++], 96, "history_memory=%zu", hist_bytes);
	snprintf(lines[n++], 96, "max_memory=%llu", (unsigned long long)lim->max_memory);
	snprintf(lines[n++], 96, "max_containers=%llu", (unsigned long long)lim->max_containers);
	snprintf(lines[n++], 96, "max_elements=%llu", (unsigned long long)lim->max_elements);
	snprintf(lines[n++], 96, "resend_cache_bytes=%zu", mpsd_sessions_cache_bytes(d->sess));
	x->res->values = mpsd_exec_vals(x, n);
	if (x->res->values == NULL)
		return;
	for (size_t i = 0; i < n; i++) {
		Mpstore__Value *v = mpsd_exec_alloc(x, sizeof(*v));
		if (v == NULL)
			return;
		mpstore__value__init(v);
		v->v_case = MPSTORE__VALUE__V_STRING_VALUE;
		v->string_value = mpsd_arena_memdup(x->arena, lines[i], strlen(lines[i]));
		x->res->values[i] = v;
		x->res->n_values = i + 1;
	}
	x->res->revision = mpsd_store_revision(d->st);
}

/* ---- start / stop ---- */

typedef struct rec_ctx {
	mpsd_daemon *d;
	uint64_t     snap_rev;
	int          log_phase;
	char         err[512];
} rec_ctx;

static int recover_one(void *arg, const mpsp_rec *r)
{
	rec_ctx         *rc = arg;
	Mpstore__Change *ch = mpstore__change__unpack(NULL, r->len, r->data);
	if (ch == NULL) {
		snprintf(rc->err, sizeof(rc->err), "undecodable change at revision %llu",
		    (unsigned long long)r->rev);
		return MPSTORE__STATUS__ERR_IO;
	}
	int rv = mpsd_store_apply(rc->d->st, ch, rc->err, sizeof(rc->err));
	if (rv == 0 && ch->revision > rc->snap_rev) {
		/* log records after the snapshot: watchers may catch up from them */
		crec c;
		if (crec_pack(&c, ch) == 0)
			hist_add(&rc->d->commit->h, &c);
		crec_free(&c);
	}
	mpstore__change__free_unpacked(ch, NULL);
	return rv;
}

static size_t history_bytes_cb(void *arg)
{
	return mpsd_commit_history_bytes(arg);
}

int mpsd_commit_start(mpsd_daemon *d, char *err, size_t errlen)
{
	mpsd_commit *cm = calloc(1, sizeof(*cm));
	if (cm == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	d->commit = cm;
	pthread_mutex_init(&cm->mtx, NULL);
	pthread_cond_init(&cm->cond, NULL);
	pthread_mutex_init(&cm->h.mtx, NULL);
	cm->h.cap = d->cfg.history;
	cm->h.floor = 1;
	if (cm->h.cap > 0 && (cm->h.ring = calloc(cm->h.cap, sizeof(crec))) == NULL) {
		snprintf(err, errlen, "out of memory for the change history");
		return -1;
	}
	cm->last_snap_ms = mpsd_now_ms();
	/* --max-memory counts the history with the containers */
	mpsd_store_set_memory_hook(d->st, history_bytes_cb, d, d->cfg.history > 0);
	if (d->cfg.durability != MPSD_DUR_MEMORY) {
		int rv = mpsp_open(&cm->db, d->cfg.db_path, (mpsp_durability)d->cfg.durability, err, errlen);
		if (rv != 0)
			return -1;
		mpsp_stats ps;
		char       e2[256];
		if (mpsp_stats_get(cm->db, &ps, e2, sizeof(e2)) == 0)
			cm->snap_rev = ps.snapshot_rev;
		rec_ctx  rc = {d, cm->snap_rev, 0, ""};
		uint64_t last = 0, token = 0;
		mpsd_store_lock(d->st);
		rv = mpsp_recover(cm->db, recover_one, &rc, &last, &token, err, errlen);
		if (rv != 0 && rc.err[0] != '\0')
			snprintf(err, errlen, "recovering %s: %s", d->cfg.db_path, rc.err);
		if (last > mpsd_store_revision(d->st))
			mpsd_store_set_revision(d->st, last);
		/* snapshot mode keeps no log: grants after the last snapshot
		 * are unknown, so jump past any that could have been made
		 * (2^32 is more than a daemon grants between two snapshots) */
		if (d->cfg.durability == MPSD_DUR_SNAPSHOT)
			token += 1ull << 32;
		mpsd_store_set_token(d->st, token);
		cm->h.last = mpsd_store_revision(d->st);
		cm->h.floor = cm->h.n ? cm->h.ring[cm->h.head].rev : cm->h.last + 1;
		mpsd_store_unlock(d->st);
		if (rv != 0) {
			/* the store holds a partial state: close without writing,
			 * so that mpsd_commit_stop makes no "final snapshot" of it
			 * (which would compact away the log it failed to read) */
			mpsp_close(cm->db);
			cm->db = NULL;
			return -1;
		}
	} else {
		cm->h.floor = 1;
	}
	cm->threaded = d->cfg.durability == MPSD_DUR_LOG || d->cfg.durability == MPSD_DUR_FSYNC;
	if (cm->db != NULL) {
		if (pthread_create(&cm->thr, NULL, commit_main, d) != 0) {
			snprintf(err, errlen, "cannot start the commit thread");
			return -1;
		}
		cm->thr_started = 1;
	}
	if (walsync_start(d) != 0) {
		snprintf(err, errlen, "cannot start the WAL sync thread");
		return -1;
	}
	return 0;
}

void mpsd_commit_stop(mpsd_daemon *d)
{
	mpsd_commit *cm = d->commit;
	if (cm == NULL)
		return;
	if (cm->thr_started) {
		pthread_mutex_lock(&cm->mtx);
		cm->stop = 1;
		pthread_cond_signal(&cm->cond);
		pthread_mutex_unlock(&cm->mtx);
		pthread_join(cm->thr, NULL);
	}
	walsync_stop(d); /* closing the database syncs it */
	process_jobs(d, take_jobs(cm));
	if (cm->db != NULL && !__atomic_load_n(&d->readonly, __ATOMIC_ACQUIRE)) {
		char err[512];
		cm->changes_since_snap = 1; /* a final snapshot even if idle */
		if (do_snapshot(d, err, sizeof(err)) == 0)
			mpsd_log("final snapshot at revision %llu", (unsigned long long)cm->snap_rev);
	}
	process_jobs(d, take_jobs(cm)); /* snapshot requests deferred by the last one */
	if (mpsd_server_stuck(d)) {
		/* nng's threads may still be dispatching (their close hung):
		 * keep the state they may touch and the database open; make
		 * what is committed durable, since the process ends with _exit */
		char err[512];
		if (cm->db != NULL && mpsp_wal_sync(cm->db, err, sizeof(err)) != 0)
			mpsd_log("%s", err);
		return;
	}
	mpsp_close(cm->db);
	mpsd_store_set_memory_hook(d->st, NULL, NULL, 0);
	for (size_t i = 0; i < cm->h.n; i++)
		crec_free(&cm->h.ring[(cm->h.head + i) % cm->h.cap]);
	free(cm->h.ring);
	free(cm);
	d->commit = NULL;
}
