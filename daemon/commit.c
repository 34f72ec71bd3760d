/*
 * commit.c - group commit, replies after commit, PUB notifications,
 * snapshots, backups and the history of recent changes.
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

#include "commit.h"
#include "persist.h"
#include "req.h"
#include "session.h"

typedef struct crec {
	uint64_t rev;
	int      kind;
	char    *name;
	uint8_t *data;
	size_t   len;
} crec;

typedef struct job {
	struct job *next;
	mpsd_req   *r;
	nng_msg    *reply;
	crec       *recs;
	size_t      nrec;
	int         action;
	char       *arg;
} job;

typedef struct hist {
	crec  *ring;
	size_t cap, head, n; /* oldest at head */
	uint64_t floor;      /* every change >= floor is in the ring (if n) */
	uint64_t last;       /* last committed revision */
	pthread_mutex_t mtx;
} hist;

struct mpsd_commit {
	mpsp           *db;
	int             threaded; /* log/fsync: replies wait for the thread */
	pthread_t       thr;
	int             thr_started;
	pthread_mutex_t mtx;
	pthread_cond_t  cond;
	job            *head, *tail;
	int             stop;
	int64_t         changes_since_snap;
	int64_t         last_snap_ms;
	uint64_t        snap_rev;
	uint64_t        committed_changes;
	uint64_t        batches;
	int             in_snapshot; /* do_snapshot runs: snapshot requests wait */
	hist            h;
};

/* ---- records ---- */

static void crec_free(crec *c)
{
	free(c->data); /* the name lives in the same block */
	c->data = NULL;
	c->name = NULL;
}

/* One allocation holds the packed change and, after it, its name. */
static int crec_pack(crec *c, const Mpstore__Change *ch)
{
	const char *name = ch->name ? ch->name : "";
	size_t      nl = strlen(name);
	c->rev = ch->revision;
	c->kind = ch->kind;
	c->len = mpstore__change__get_packed_size(ch);
	c->data = malloc(c->len + nl + 1);
	if (c->data == NULL) {
		c->name = NULL;
		return -1;
	}
	mpstore__change__pack(ch, c->data);
	c->name = (char *)c->data + c->len;
	memcpy(c->name, name, nl + 1);
	return 0;
}

static void job_free(job *j)
{
	for (size_t i = 0; i < j->nrec; i++)
		crec_free(&j->recs[i]);
	free(j->recs);
	free(j->arg);
	free(j);
}

/* ---- history ---- */

/* The caller holds h->mtx. */
static void hist_add_locked(hist *h, crec *c)
{
	if (h->cap > 0) {
		if (h->n == h->cap) {
			crec    *old = &h->ring[h->head];
			uint64_t gone = old->rev;
			crec_free(old);
			h->head = (h->head + 1) % h->cap;
			h->n--;
			/* a txn's records share a revision: once one of them is
			 * gone, that revision is no longer whole in the ring */
			h->floor = h->n == 0 || h->ring[h->head].rev == gone ? gone + 1
			                                                      : h->ring[h->head].rev;
		}
		h->ring[(h->head + h->n) % h->cap] = *c; /* takes the data */
		h->n++;
		c->name = NULL;
		c->data = NULL;
	}
	if (c->rev > h->last)
		h->last = c->rev;
}

static void hist_add(hist *h, crec *c)
{
	pthread_mutex_lock(&h->mtx);
	hist_add_locked(h, c);
	pthread_mutex_unlock(&h->mtx);
}

/* ---- publishing ---- */

static size_t varint(uint8_t *p, uint64_t v)
{
	size_t n = 0;
	while (v >= 0x80) {
		p[n++] = (uint8_t)(v | 0x80);
		v >>= 7;
	}
	p[n++] = (uint8_t)v;
	return n;
}

/* One Notification per run of changes to one container. */
static void publish_run(mpsd_daemon *d, crec *recs, size_t n)
{
	size_t total = 0;
	for (size_t i = 0; i < n; i++)
		total += 1 + 10 + recs[i].len;
	uint8_t *buf = malloc(total ? total : 1);
	if (buf == NULL)
		return;
	size_t off = 0;
	for (size_t i = 0; i < n; i++) {
		buf[off++] = 0x0a; /* field 1, length-delimited */
		off += varint(buf + off, recs[i].len);
		memcpy(buf + off, recs[i].data, recs[i].len);
		off += recs[i].len;
	}
	mpsd_server_publish(d, recs[0].name, buf, off);
	free(buf);
}

static void publish_and_keep(mpsd_daemon *d, crec *recs, size_t n)
{
	size_t start = 0;
	for (size_t i = 1; i <= n; i++)
		if (i == n || strcmp(recs[i].name, recs[start].name) != 0) {
			/* a schema registration (CH_SCHEMA) has no container: the
			 * empty topic is the heartbeat's, so it is not published */
			if (recs[start].name[0] != '\0')
				publish_run(d, recs + start, i - start);
			start = i;
		}
	/* all of a job's records at once: OP_CHANGES must never see a
	 * revision (h.last) whose txn records are only partly added */
	pthread_mutex_lock(&d->commit->h.mtx);
	for (size_t i = 0; i < n; i++)
		hist_add_locked(&d->commit->h, &recs[i]);
	pthread_mutex_unlock(&d->commit->h.mtx);
}

/* ---- replies ---- */

static nng_msg *status_reply(mpsd_req *r, Mpstore__Status st, const char *msg, uint64_t rev)
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
	nng_msg *m;
	size_t   len = mpstore__response__get_packed_size(&resp);
	if (nng_msg_alloc(&m, len) != 0)
		return NULL;
	mpstore__response__pack(&resp, nng_msg_body(m));
	return m;
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

static void go_readonly(mpsd_daemon *d, const char *why)
{
	if (!d->readonly) {
		snprintf(d->readonly_why, sizeof(d->readonly_why), "%s", why);
		d->readonly = 1;
		mpsd_log("database write failed, refusing writes until restart: %s", why);
	}
}

/* ---- snapshots ---- */

typedef struct snap_buf {
	crec  *v;
	size_t n, cap;
	int    err;
} snap_buf;

static int snap_emit(void *arg, const Mpstore__Change *ch)
{
	snap_buf *b = arg;
	if (b->n == b->cap) {
		size_t ncap = b->cap ? b->cap * 2 : 64;
		crec  *nv = realloc(b->v, ncap * sizeof(*nv));
		if (nv == NULL)
			return b->err = 1;
		b->v = nv;
		b->cap = ncap;
	}
	if (crec_pack(&b->v[b->n], ch) != 0)
		return b->err = 1;
	b->n++;
	return 0;
}

static int snap_visit(void *arg, mpsd_container *c)
{
	snap_buf *b = arg;
	/* the caller holds the store lock */
	return mpsd_store_dump(NULL, c, 10000, snap_emit, b);
}

static void process_jobs(mpsd_daemon *d, job *list);
static job *take_jobs(mpsd_commit *cm);

/* Write a snapshot; log appends of queued jobs go on between pieces. */
static int do_snapshot(mpsd_daemon *d, char *err, size_t errlen)
{
	mpsd_commit *cm = d->commit;
	if (cm->db == NULL) {
		snprintf(err, errlen, "no database (durability memory)");
		return MPSTORE__STATUS__ERR_INVALID;
	}
	if (d->readonly) {
		/* memory may hold changes whose commit failed (their writers
		 * heard ERR_IO): never make them durable in a snapshot */
		snprintf(err, errlen, "no snapshot: the database is read-only after a failed write: %s",
		    d->readonly_why);
		return MPSTORE__STATUS__ERR_READONLY;
	}
	snap_buf b = {NULL, 0, 0, 0};
	mpsd_store_lock(d->st);
	uint64_t rev = mpsd_store_revision(d->st);
	uint64_t token = mpsd_store_token(d->st);
	/* schemas first: recovery needs them before the containers using them */
	if (mpsd_store_dump_schema(d->st, snap_emit, &b) != 0)
		b.err = 1;
	mpsd_store_foreach(d->st, snap_visit, &b);
	mpsd_store_unlock(d->st);
	int rv = 0;
	if (b.err) {
		snprintf(err, errlen, "out of memory writing the snapshot");
		rv = MPSTORE__STATUS__ERR_LIMIT;
		goto out;
	}
	/* Every change up to rev is queued (jobs are queued under the store
	 * lock): log them before the snapshot opens, since mpsp refuses log
	 * appends at or below an open snapshot's revision. Snapshot requests
	 * among them wait until this snapshot is done (process_jobs). */
	cm->in_snapshot = 1;
	process_jobs(d, take_jobs(cm));
	if (d->readonly) {
		snprintf(err, errlen, "no snapshot: the database is read-only after a failed write: %s",
		    d->readonly_why);
		rv = MPSTORE__STATUS__ERR_READONLY;
		goto out;
	}
	if ((rv = mpsp_snapshot_begin(cm->db, rev, token, err, errlen)) != 0)
		goto out;
	for (size_t i = 0; i < b.n && rv == 0; i += MPSP_SNAPSHOT_BATCH_ROWS) {
		size_t    k = b.n - i < MPSP_SNAPSHOT_BATCH_ROWS ? b.n - i : MPSP_SNAPSHOT_BATCH_ROWS;
		mpsp_rec *recs = malloc(k * sizeof(*recs));
		if (recs == NULL) {
			rv = MPSTORE__STATUS__ERR_LIMIT;
			snprintf(err, errlen, "out of memory");
			break;
		}
		for (size_t j = 0; j < k; j++) {
			crec *c = &b.v[i + j];
			recs[j] = (mpsp_rec){rev, c->name, c->kind, c->data, c->len};
		}
		rv = mpsp_snapshot_put(cm->db, recs, k, err, errlen);
		free(recs);
		process_jobs(d, take_jobs(cm)); /* clients keep committing */
	}
	process_jobs(d, take_jobs(cm)); /* everything up to rev is logged */
	int rv2 = mpsp_snapshot_end(cm->db, rv == 0, rv == 0 ? err : NULL, errlen);
	cm->in_snapshot = 0;
	if (rv == 0)
		rv = rv2;
	if (rv == 0) {
		cm->snap_rev = rev;
		cm->changes_since_snap = 0;
	}
out:
	cm->in_snapshot = 0;
	for (size_t i = 0; i < b.n; i++)
		crec_free(&b.v[i]);
	free(b.v);
	cm->last_snap_ms = mpsd_now_ms();
	if (rv != 0)
		mpsd_log("snapshot failed: %s", err);
	return rv;
}

static void do_action(mpsd_daemon *d, job *j)
{
	char err[512] = "";
	int  rv;
	uint64_t rev = mpsd_store_revision(d->st);
	if (j->action == MPSD_ACT_SNAPSHOT) {
		rv = do_snapshot(d, err, sizeof(err));
	} else if (d->commit->db == NULL) {
		snprintf(err, sizeof(err), "no database to back up (durability memory)");
		rv = MPSTORE__STATUS__ERR_INVALID;
	} else {
		rv = mpsp_backup(d->commit->db, j->arg, err, sizeof(err));
	}
	nng_msg *m = status_reply(j->r, (Mpstore__Status)rv, rv ? err : NULL, rev);
	nng_msg_free(j->reply);
	j->reply = m;
}

/* ---- the commit thread ---- */

static job *take_jobs(mpsd_commit *cm)
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

static void process_jobs(mpsd_daemon *d, job *list)
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
			go_readonly(d, err);
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
	cm->batches++;
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
			pthread_cond_timedwait(&cm->cond, &cm->mtx, &ts);
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
	for (size_t i = 0; i < x->nchanges; i++)
		if (crec_pack(&j->recs[j->nrec], x->changes[i]) == 0)
			j->nrec++;
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
	pthread_cond_signal(&cm->cond);
	pthread_mutex_unlock(&cm->mtx);
}

/* ---- watch history: OP_CHANGES ---- */

static void *arena_pb_alloc(void *data, size_t size) { return mpsd_arena_alloc(data, size); }
static void  arena_pb_free(void *data, void *p) { (void)data; (void)p; }

static int name_matches(const char *want, size_t wlen, int prefix, const char *name)
{
	if (prefix)
		return strncmp(name, want, wlen) == 0;
	return strcmp(name, want) == 0;
}

typedef struct chg_ctx {
	mpsd_exec  *x;
	const char *want;
	size_t      wlen;
	int         prefix;
	size_t      n, cap, bytes;
	uint64_t    last;
	int         full, err;
} chg_ctx;

#define CHANGES_MAX_N     10000
#define CHANGES_MAX_BYTES (4u << 20)

static int chg_add(chg_ctx *cc, uint64_t rev, const char *name, const uint8_t *data, size_t len)
{
	if (cc->n >= CHANGES_MAX_N || cc->bytes >= CHANGES_MAX_BYTES) {
		/* stop at a revision boundary so a txn is never split */
		if (rev != cc->last) {
			cc->full = 1;
			return 1;
		}
	}
	cc->last = rev;
	if (!name_matches(cc->want, cc->wlen, cc->prefix, name))
		return 0;
	Mpstore__Result *res = cc->x->res;
	if (cc->n == cc->cap) {
		size_t            ncap = cc->cap ? cc->cap * 2 : 16;
		Mpstore__Change **nv = mpsd_exec_alloc(cc->x, ncap * sizeof(*nv));
		if (nv == NULL)
			return cc->err = 1;
		if (cc->n)
			memcpy(nv, res->changes, cc->n * sizeof(*nv));
		res->changes = nv;
		cc->cap = ncap;
	}
	ProtobufCAllocator al = {arena_pb_alloc, arena_pb_free, cc->x->arena};
	Mpstore__Change   *ch = mpstore__change__unpack(&al, len, data);
	if (ch == NULL)
		return cc->err = 1;
	res->changes[cc->n++] = ch;
	res->n_changes = cc->n;
	cc->bytes += len;
	return 0;
}

static int chg_from_log(void *arg, const mpsp_rec *r)
{
	return chg_add(arg, r->rev, r->name, r->data, r->len);
}

int mpsd_commit_changes(mpsd_daemon *d, mpsd_exec *x)
{
	mpsd_commit       *cm = d->commit;
	const Mpstore__Op *op = x->op;
	chg_ctx cc = {x, op->name ? op->name : "", 0, 0, 0, 0, 0, 0, 0, 0};
	cc.wlen = strlen(cc.want);
	cc.prefix = (op->flags & MPSTORE__OP_FLAG__FLAG_PREFIX) != 0;
	if (cc.wlen > 0 && cc.want[cc.wlen - 1] == '*') {
		cc.prefix = 1;
		cc.wlen--;
	}
	if (cc.wlen == 0)
		cc.prefix = 1; /* "" is everything */
	uint64_t from = op->from_revision ? op->from_revision : 1;
	hist    *h = &cm->h;
	pthread_mutex_lock(&h->mtx);
	uint64_t last = h->last;
	x->res->revision = last;
	x->res->next = -1;
	if (from > last) {
		pthread_mutex_unlock(&h->mtx);
		return 0;
	}
	if (h->n == 0 || from < h->floor) {
		pthread_mutex_unlock(&h->mtx);
		char err[256];
		int  rv = MPSTORE__STATUS__ERR_COMPACTED;
		if (cm->db != NULL) {
			rv = mpsp_log_read(cm->db, from, chg_from_log, &cc, err, sizeof(err));
			if (rv == 1)
				rv = cc.err ? MPSTORE__STATUS__ERR_LIMIT : 0;
		}
		if (rv == MPSTORE__STATUS__ERR_COMPACTED || (rv == 0 && cc.last == 0 && from <= last))
			return mpsd_exec_fail(x, MPSTORE__STATUS__ERR_COMPACTED,
			    "changes from revision %llu are no longer kept; take a fresh state (dump)",
			    (unsigned long long)from);
		if (rv != 0)
			return mpsd_exec_fail(x, (Mpstore__Status)rv, "reading the change log: %s", err);
		if (cc.full)
			x->res->next = (int64_t)cc.last + 1;
		return 0;
	}
	/* binary search for the first revision >= from */
	size_t lo = 0, hi = h->n;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (h->ring[(h->head + mid) % h->cap].rev < from)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (size_t i = lo; i < h->n; i++) {
		crec *c = &h->ring[(h->head + i) % h->cap];
		if (chg_add(&cc, c->rev, c->name, c->data, c->len) != 0)
			break;
	}
	pthread_mutex_unlock(&h->mtx);
	if (cc.err)
		return mpsd_exec_fail(x, MPSTORE__STATUS__ERR_LIMIT, "out of memory reading changes");
	if (cc.full)
		x->res->next = (int64_t)cc.last + 1; /* ask again from here */
	return 0;
}

void mpsd_commit_heartbeat(mpsd_daemon *d)
{
	mpsd_commit *cm = d->commit;
	pthread_mutex_lock(&cm->h.mtx);
	uint64_t last = cm->h.last;
	pthread_mutex_unlock(&cm->h.mtx);
	uint8_t buf[16];
	size_t  n = 0;
	buf[n++] = 0x10; /* field 2, varint */
	n += varint(buf + n, last);
	mpsd_server_publish(d, "", buf, n);
}

/* ---- stats ---- */

void mpsd_commit_stats(mpsd_daemon *d, mpsd_exec *x)
{
	mpsd_commit *cm = d->commit;
	char         lines[16][96];
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
	snprintf(lines[n++], 96, "commit_batches=%llu", (unsigned long long)cm->batches);
	snprintf(lines[n++], 96, "snapshot_revision=%llu", (unsigned long long)cm->snap_rev);
	snprintf(lines[n++], 96, "readonly=%d", d->readonly);
	snprintf(lines[n++], 96, "subscribers=%d", mpsd_server_subscribers(d));
	snprintf(lines[n++], 96, "max_rss_kb=%ld", ru.ru_maxrss);
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
	process_jobs(d, take_jobs(cm));
	if (cm->db != NULL && !d->readonly) {
		char err[512];
		cm->changes_since_snap = 1; /* a final snapshot even if idle */
		if (do_snapshot(d, err, sizeof(err)) == 0)
			mpsd_log("final snapshot at revision %llu", (unsigned long long)cm->snap_rev);
	}
	process_jobs(d, take_jobs(cm)); /* snapshot requests deferred by the last one */
	mpsp_close(cm->db);
	for (size_t i = 0; i < cm->h.n; i++)
		crec_free(&cm->h.ring[(cm->h.head + i) % cm->h.cap]);
	free(cm->h.ring);
	free(cm);
	d->commit = NULL;
}
