/*
 * resend.c - answers that outlive the daemon. With log or fsync durability
 * the answer of every committed write is kept in the database with its
 * changes (commit/); at start the answers the previous run kept go back
 * into sessions, ended as of the start, so that a client re-sending what
 * it sent before a crash is answered, not applied again, for one lease
 * (docs/protocol.md section 3). When a session is freed, one lease after
 * it ended, its kept answers are pruned in the next group commit.
 */
#include "daemon.h"
#include "session.h"

/* A freed session's re-sends are long over. */
static void freed_cb(void *arg, uint64_t sid)
{
	mpsd_daemon *d = arg;
	mpsd_commit_prune(d->commit, &sid, 1);
}

typedef struct restore_ctx {
	mpsd_daemon *d;
	int64_t      now;
	size_t       n, lost;
} restore_ctx;

static void restore_cb(void *arg, const mpsd_commit_answer *a)
{
	restore_ctx *c = arg;
	if (mpsd_session_restore(c->d->sess, a->client_id, a->req_id, a->data, a->len, c->now) == 0)
		c->n++;
	else
		c->lost++;
}

int mpsd_resend_start(mpsd_daemon *d, char *err, size_t errlen)
{
	restore_ctx c = {d, mpsd_now_ms(), 0, 0};
	mpsd_sessions_on_free(d->sess, freed_cb, d);
	mpsd_store_lock(d->st);
	int rv = mpsd_commit_answers(d->commit, restore_cb, &c, err, errlen);
	mpsd_store_unlock(d->st);
	if (rv != 0)
		return -1;
	if (c.n > 0 || c.lost > 0)
		mpsd_log("%zu answers of %zu sessions kept for re-sends for one lease (%zu bytes in "
		         "memory%s)",
		    c.n, mpsd_sessions_count(d->sess), mpsd_sessions_cache_bytes(d->sess),
		    c.lost > 0 ? "; out of memory for some" : "");
	return 0;
}
