/*
 * commit.c - the commit thread: group commit of queued changes to the
 * database, then the whole group handed back (cm->done); opening,
 * recovering and closing the database. (History and OP_CHANGES:
 * history.c; snapshots and backups: snapshot.c; the WAL sync: walsync.c.)
 *
 * Order: jobs are queued under the store lock, so the queue is in revision
 * order; the commit thread takes every queued job at once, writes their
 * changes in one SQLite transaction, keeps them in the history, and hands
 * the group back with one call.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "commit_int.h"
#include "wire.h"

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

void mpsd_commit_jobs_free(mpsd_job *list)
{
	while (list != NULL) {
		mpsd_job *next = list->next;
		for (size_t i = 0; i < list->nrec; i++)
			crec_free(&list->recs[i]);
		free(list->recs);
		free(list->arg);
		free(list->prune);
		free(list);
		list = next;
	}
}

/* Called by the commit thread (a failed write) and the WAL sync thread (a
 * failed sync): the first reason is kept, and published after it is
 * written (readers load `readonly` with acquire, then read the reason). */
void commit_go_readonly(mpsd_commit *cm, const char *why)
{
	pthread_mutex_lock(&cm->romtx);
	if (!__atomic_load_n(&cm->readonly, __ATOMIC_ACQUIRE)) {
		snprintf(cm->readonly_why, sizeof(cm->readonly_why), "%s", why);
		__atomic_store_n(&cm->readonly, 1, __ATOMIC_RELEASE);
		mpsd_log("database write or sync failed, refusing writes until restart: %s", why);
	}
	pthread_mutex_unlock(&cm->romtx);
}

int mpsd_commit_readonly(const mpsd_commit *cm, const char **why)
{
	if (!__atomic_load_n(&cm->readonly, __ATOMIC_ACQUIRE))
		return 0;
	if (why != NULL)
		*why = cm->readonly_why;
	return 1;
}

/* ---- the commit thread ---- */

mpsd_job *take_jobs(mpsd_commit *cm)
{
	pthread_mutex_lock(&cm->mtx);
	mpsd_job *l = cm->head;
	cm->head = cm->tail = NULL;
	pthread_mutex_unlock(&cm->mtx);
	return l;
}

/* Put jobs (records already handled) back at the head of the queue. */
static void requeue_front(mpsd_commit *cm, mpsd_job *first, mpsd_job *last)
{
	pthread_mutex_lock(&cm->mtx);
	last->next = cm->head;
	cm->head = first;
	if (cm->tail == NULL)
		cm->tail = last;
	pthread_cond_signal(&cm->cond);
	pthread_mutex_unlock(&cm->mtx);
}

/*
 * The answers of the group's writers, in job order, and the clients to
 * prune. mpsp_log_append prunes before it keeps, so an answer queued
 * before a prune of its client is left out here (the prune would have
 * deleted it), and one queued after it (the client came back) stays.
 */
static size_t group_answers(const mpsd_job *list, mpsp_answer *ans, uint64_t *prune,
    size_t *nprune)
{
	size_t na = 0, np = 0;
	for (const mpsd_job *j = list; j != NULL; j = j->next) {
		for (size_t i = 0; i < j->nprune; i++) {
			size_t k = 0;
			for (size_t a = 0; a < na; a++)
				if (ans[a].client_id != j->prune[i])
					ans[k++] = ans[a];
			na = k;
			prune[np++] = j->prune[i];
		}
		if (j->answer.client_id != 0 && j->nrec > 0)
			ans[na++] = (mpsp_answer){j->answer.client_id, j->answer.req_id, j->answer.data,
			    j->answer.len};
	}
	*nprune = np;
	return na;
}

/* Write the group's records, with its answers and prunes, in one
 * transaction; 0, or the failure in every writer's job. */
static void write_group(mpsd_commit *cm, mpsd_job *list, size_t n)
{
	size_t na = 0, np = 0;
	for (mpsd_job *j = list; j != NULL; j = j->next) {
		na += j->answer.client_id != 0;
		np += j->nprune;
	}
	mpsp_rec    *recs = malloc((n ? n : 1) * sizeof(*recs));
	mpsp_answer *ans = malloc((na ? na : 1) * sizeof(*ans));
	uint64_t    *prune = malloc((np ? np : 1) * sizeof(*prune));
	char         err[256] = "out of memory";
	int          rv = MPSTORE__STATUS__ERR_IO;
	if (recs != NULL && ans != NULL && prune != NULL) {
		size_t k = 0;
		for (mpsd_job *j = list; j != NULL; j = j->next)
			for (size_t i = 0; i < j->nrec; i++) {
				crec *c = &j->recs[i];
				recs[k++] = (mpsp_rec){c->rev, c->name, c->kind, c->data, c->len};
			}
		na = group_answers(list, ans, prune, &np);
		int64_t t0 = mpsd_hist_now_ns();
		rv = mpsp_log_append(cm->db, recs, n, mpsd_store_token(cm->st), ans, na, prune, np, err,
		    sizeof(err));
		int64_t ns = mpsd_hist_now_ns() - t0;
		__atomic_add_fetch(&cm->commit_ns, (uint64_t)ns, __ATOMIC_RELAXED);
		__atomic_add_fetch(&cm->commit_hist[mpsd_hist_bucket(ns)], 1, __ATOMIC_RELAXED);
	}
	free(recs);
	free(ans);
	free(prune);
	if (rv == 0)
		return;
	commit_go_readonly(cm, err);
	/* never a false "ok": every writer of this batch hears the error, and
	 * nothing of it is published */
	for (mpsd_job *j = list; j != NULL; j = j->next)
		if (j->nrec > 0) {
			j->status = MPSTORE__STATUS__ERR_IO;
			snprintf(j->err, sizeof(j->err), "%s", err);
			for (size_t i = 0; i < j->nrec; i++)
				crec_free(&j->recs[i]);
			j->nrec = 0;
		}
}

void process_jobs(mpsd_commit *cm, mpsd_job *list)
{
	if (list == NULL)
		return;
	size_t n = 0, np = 0;
	for (mpsd_job *j = list; j != NULL; j = j->next) {
		n += j->nrec;
		np += j->nprune;
	}
	if ((n > 0 || np > 0) && cm->db != NULL && cm->threaded)
		write_group(cm, list, n);
	__atomic_add_fetch(&cm->batches, 1, __ATOMIC_RELEASE);
	size_t kept = 0;
	for (mpsd_job *j = list; j != NULL; j = j->next) {
		hist_keep(&cm->h, j->recs, j->nrec);
		kept += j->nrec;
	}
	__atomic_add_fetch(&cm->committed_changes, kept, __ATOMIC_RELAXED);
	cm->changes_since_snap += (int64_t)kept;
	/* A snapshot request that arrives while a snapshot is being written
	 * (do_snapshot commits queued jobs between its pieces) waits until that
	 * one is done: snapshots do not nest. Its records, if any, are handled
	 * now; only the action and the reply are put back in the queue. */
	mpsd_job *deferred = NULL, *dlast = NULL;
	for (mpsd_job **pp = &list; *pp != NULL;) {
		mpsd_job *j = *pp;
		if (j->action == MPSD_ACT_SNAPSHOT && cm->in_snapshot) {
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
		if (j->action != MPSD_ACT_NONE)
			do_action(cm, j);
		pp = &j->next;
	}
	if (deferred != NULL)
		requeue_front(cm, deferred, dlast);
	if (list != NULL)
		cm->done(cm->done_arg, list);
}

static int snapshot_due(mpsd_commit *cm)
{
	if (cm->db == NULL || cm->changes_since_snap == 0)
		return 0;
	if (cm->cfg.snapshot_changes > 0 && cm->changes_since_snap >= cm->cfg.snapshot_changes)
		return 1;
	return cm->cfg.snapshot_secs > 0 &&
	       mpsd_now_ms() - cm->last_snap_ms >= cm->cfg.snapshot_secs * 1000;
}

static void *commit_main(void *arg)
{
	mpsd_commit *cm = arg;
	for (;;) {
		pthread_mutex_lock(&cm->mtx);
		while (cm->head == NULL && !cm->stop) {
			struct timespec ts;
			clock_gettime(CLOCK_MONOTONIC, &ts);
			ts.tv_sec += 1;
			cm->waiting = 1;
			pthread_cond_timedwait(&cm->cond, &cm->mtx, &ts);
			cm->waiting = 0;
			if (cm->head == NULL && snapshot_due(cm))
				break;
		}
		int stop = cm->stop && cm->head == NULL;
		pthread_mutex_unlock(&cm->mtx);
		process_jobs(cm, take_jobs(cm));
		if (snapshot_due(cm)) {
			char err[512];
			do_snapshot(cm, err, sizeof(err));
		}
		if (stop)
			break;
	}
	return NULL;
}

/* Queue j for the commit thread (store lock held: revision order). */
static void enqueue(mpsd_commit *cm, mpsd_job *j)
{
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

void mpsd_commit_submit(mpsd_commit *cm, mpsd_exec *x, void *owner, void *reply, int action,
    const char *arg, const mpsd_commit_answer *answer)
{
	mpsd_job *j = calloc(1, sizeof(*j));
	if (j == NULL) {
		/* the change is in memory already: without a job it could be
		 * neither logged nor answered; stopping here keeps the log and
		 * the acknowledged state the same (kill -9 semantics) */
		mpsd_log("out of memory committing %zu changes: stopping", x->nchanges);
		abort();
	}
	if (x->nchanges > 0)
		j->recs = calloc(x->nchanges, sizeof(crec)); /* NULL: reported below */
	size_t want = x->nchanges;
	j->nrec = want > 0 && j->recs != NULL ? (size_t)crec_pack_all(j->recs, x->changes, want) : 0;
	if (j->nrec < want || (want > 0 && j->recs == NULL)) {
		mpsd_log("out of memory packing %zu changes: they are not logged", want);
		j->status = MPSTORE__STATUS__ERR_LIMIT;
		snprintf(j->err, sizeof(j->err), "out of memory: the change is applied but not logged");
	}
	j->owner = owner;
	j->reply = reply;
	j->action = action;
	j->arg = arg != NULL ? strdup(arg) : NULL;
	if (answer != NULL && answer->client_id != 0 && answer->req_id != 0)
		j->answer = *answer;
	if ((!cm->threaded && action == MPSD_ACT_NONE) || !cm->thr_started) {
		/* nothing to wait for: hand back now (store lock held). Without a
		 * commit thread (memory mode) actions are done here too: with no
		 * database they fail at once, taking no lock. */
		process_jobs(cm, j);
		return;
	}
	enqueue(cm, j);
}

void mpsd_commit_prune(mpsd_commit *cm, const uint64_t *client_ids, size_t n)
{
	if (n == 0 || !cm->threaded || !cm->thr_started)
		return; /* nothing was kept */
	mpsd_job *j = calloc(1, sizeof(*j));
	if (j == NULL || (j->prune = malloc(n * sizeof(uint64_t))) == NULL) {
		free(j);
		return;
	}
	memcpy(j->prune, client_ids, n * sizeof(uint64_t));
	j->nprune = n;
	enqueue(cm, j);
}

typedef struct answers_ctx {
	mpsd_commit_answer_fn fn;
	void                 *arg;
} answers_ctx;

static int answer_one(void *arg, const mpsp_answer *a)
{
	answers_ctx             *c = arg;
	const mpsd_commit_answer ca = {a->client_id, a->req_id, a->data, a->len};
	c->fn(c->arg, &ca);
	return 0;
}

int mpsd_commit_answers(mpsd_commit *cm, mpsd_commit_answer_fn fn, void *arg, char *err,
    size_t errlen)
{
	answers_ctx c = {fn, arg};
	if (cm->db == NULL || !cm->threaded)
		return 0; /* snapshot mode keeps none (rows of a log-mode run wait for one) */
	return mpsp_answers_read(cm->db, answer_one, &c, err, errlen) == 0 ? 0 : -1;
}

uint64_t mpsd_commit_last(mpsd_commit *cm)
{
	pthread_mutex_lock(&cm->h.mtx);
	uint64_t last = cm->h.last;
	pthread_mutex_unlock(&cm->h.mtx);
	return last;
}

void mpsd_commit_stats_get(mpsd_commit *cm, mpsd_commit_stats *st)
{
	st->committed_changes = __atomic_load_n(&cm->committed_changes, __ATOMIC_RELAXED);
	st->batches = __atomic_load_n(&cm->batches, __ATOMIC_RELAXED);
	st->wal_syncs = __atomic_load_n(&cm->wal_syncs, __ATOMIC_RELAXED);
	st->commit_ns = __atomic_load_n(&cm->commit_ns, __ATOMIC_RELAXED);
	for (int i = 0; i < MPSD_HIST_N; i++)
		st->commit_hist[i] = __atomic_load_n(&cm->commit_hist[i], __ATOMIC_RELAXED);
	st->wal_sync_ns = __atomic_load_n(&cm->wal_sync_ns, __ATOMIC_RELAXED);
	st->snapshot_time = __atomic_load_n(&cm->snap_wall, __ATOMIC_RELAXED);
	st->snapshot_rev = cm->snap_rev;
	st->has_db = cm->db != NULL;
	pthread_mutex_lock(&cm->h.mtx);
	st->history_changes = cm->h.n;
	st->history_bytes = cm->h.bytes;
	pthread_mutex_unlock(&cm->h.mtx);
}

/* ---- start / stop ---- */

typedef struct rec_ctx {
	mpsd_commit *cm;
	uint64_t     snap_rev;
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
	int rv = mpsd_store_apply(rc->cm->st, ch, rc->err, sizeof(rc->err));
	if (rv == 0 && ch->revision > rc->snap_rev) {
		/* log records after the snapshot: watchers may catch up from them */
		crec c;
		if (crec_pack(&c, ch) == 0) {
			hist_add(&rc->cm->h, &c);
			crec_free(&c);
		}
	}
	mpstore__change__free_unpacked(ch, NULL);
	return rv;
}

static size_t history_bytes_cb(void *arg)
{
	return mpsd_commit_history_bytes(arg);
}

static int recover(mpsd_commit *cm, char *err, size_t errlen)
{
	mpsp_stats ps;
	char       e2[256];
	if (mpsp_stats_get(cm->db, &ps, e2, sizeof(e2)) == 0) {
		cm->snap_rev = ps.snapshot_rev;
		if (ps.upgraded_from != 0)
			mpsd_log("upgraded %s from format version %d to %d (answers kept for re-sends "
			         "after a restart)", cm->cfg.db_path, ps.upgraded_from, MPSP_FORMAT_VERSION);
	}
	rec_ctx  rc = {cm, cm->snap_rev, ""};
	uint64_t last = 0, token = 0;
	mpsd_store_lock(cm->st);
	int rv = mpsp_recover(cm->db, recover_one, &rc, &last, &token, err, errlen);
	if (rv != 0 && rc.err[0] != '\0')
		snprintf(err, errlen, "recovering %s: %s", cm->cfg.db_path, rc.err);
	if (last > mpsd_store_revision(cm->st))
		mpsd_store_set_revision(cm->st, last);
	/* snapshot mode keeps no log: grants after the last snapshot are
	 * unknown, so jump past any that could have been made (2^32 is more
	 * than a daemon grants between two snapshots) */
	if (cm->cfg.durability == MPSD_DUR_SNAPSHOT)
		token += 1ull << 32;
	mpsd_store_set_token(cm->st, token);
	cm->h.last = mpsd_store_revision(cm->st);
	cm->h.floor = cm->h.n ? cm->h.ring[cm->h.head].rev : cm->h.last + 1;
	mpsd_store_unlock(cm->st);
	if (rv != 0) {
		/* the store holds a partial state: close without writing, so
		 * that mpsd_commit_stop makes no "final snapshot" of it (which
		 * would compact away the log it failed to read) */
		mpsp_close(cm->db);
		cm->db = NULL;
		return -1;
	}
	return 0;
}

int mpsd_commit_start(mpsd_commit **out, mpsd_store *st, const mpsd_commit_cfg *cfg,
    mpsd_commit_done_fn done, void *arg, char *err, size_t errlen)
{
	mpsd_commit *cm = calloc(1, sizeof(*cm));
	*out = cm;
	if (cm == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	cm->cfg = *cfg;
	cm->st = st;
	cm->done = done;
	cm->done_arg = arg;
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_mutex_init(&cm->mtx, NULL);
	pthread_cond_init(&cm->cond, &ca);
	pthread_condattr_destroy(&ca);
	pthread_mutex_init(&cm->h.mtx, NULL);
	pthread_mutex_init(&cm->romtx, NULL);
	cm->h.cap = cfg->history;
	cm->h.floor = 1;
	if (cm->h.cap > 0 && (cm->h.ring = calloc(cm->h.cap, sizeof(crec))) == NULL) {
		snprintf(err, errlen, "out of memory for the change history");
		return -1;
	}
	cm->last_snap_ms = mpsd_now_ms();
	/* --max-memory counts the history with the containers */
	mpsd_store_set_memory_hook(st, history_bytes_cb, cm, cfg->history > 0);
	if (cfg->durability != MPSD_DUR_MEMORY) {
		if (mpsp_open(&cm->db, cfg->db_path, (mpsp_durability)cfg->durability, err, errlen) != 0)
			return -1;
		if (recover(cm, err, errlen) != 0)
			return -1;
	}
	cm->threaded = cfg->durability == MPSD_DUR_LOG || cfg->durability == MPSD_DUR_FSYNC;
	if (cm->db != NULL) {
		if (pthread_create(&cm->thr, NULL, commit_main, cm) != 0) {
			snprintf(err, errlen, "cannot start the commit thread");
			return -1;
		}
		cm->thr_started = 1;
	}
	if (walsync_start(cm) != 0) {
		snprintf(err, errlen, "cannot start the WAL sync thread");
		return -1;
	}
	return 0;
}

void mpsd_commit_stop(mpsd_commit *cm)
{
	if (cm == NULL)
		return;
	if (cm->thr_started) {
		pthread_mutex_lock(&cm->mtx);
		cm->stop = 1;
		pthread_cond_signal(&cm->cond);
		pthread_mutex_unlock(&cm->mtx);
		pthread_join(cm->thr, NULL);
		cm->thr_started = 0;
	}
	walsync_stop(cm); /* closing the database syncs it */
	process_jobs(cm, take_jobs(cm));
	if (cm->db != NULL && !mpsd_commit_readonly(cm, NULL)) {
		char err[512];
		cm->changes_since_snap = 1; /* a final snapshot even if idle */
		if (do_snapshot(cm, err, sizeof(err)) == 0)
			mpsd_log("final snapshot at revision %llu", (unsigned long long)cm->snap_rev);
	}
	process_jobs(cm, take_jobs(cm)); /* snapshot requests deferred by the last one */
	mpsp_close(cm->db);
	cm->db = NULL;
}

void mpsd_commit_free(mpsd_commit *cm)
{
	if (cm == NULL)
		return;
	mpsd_store_set_memory_hook(cm->st, NULL, NULL, 0);
	for (size_t i = 0; i < cm->h.n; i++)
		crec_free(&cm->h.ring[(cm->h.head + i) % cm->h.cap]);
	free(cm->h.ring);
	pthread_mutex_destroy(&cm->mtx);
	pthread_cond_destroy(&cm->cond);
	pthread_mutex_destroy(&cm->h.mtx);
	pthread_mutex_destroy(&cm->romtx);
	free(cm);
}
