/*
 * session.h - client sessions: one per client_id, bound to the connection
 * (transport connection id) it last used, with a lease renewed by every request, and a
 * cache of recent answers so that a re-sent mutation is answered, not
 * applied twice. The answers of committed writes are also kept in the
 * database (commit/); at start they come back here (mpsd_session_restore)
 * and they are pruned there when the session is freed (the free hook). All
 * calls under the store lock.
 */
#ifndef MPSD_SESSION_H
#define MPSD_SESSION_H

#include <stddef.h>
#include <stdint.h>

#include "daemon.h"

#define MPSD_DEDUPE_SLOTS 1024
/* Bytes of kept answers per session: past it the oldest answers are
 * dropped (the newest is always kept, however large). docs/protocol.md,
 * section 3. */
#define MPSD_DEDUPE_BYTES (8u << 20)

typedef struct mpsd_dedupe {
	uint64_t  id;      /* request id, 0 = empty */
	uint8_t  *data;    /* packed answer, NULL while pending */
	size_t    len;
	uint64_t  seq;     /* answer order, to drop the oldest first */
	mpsd_req *pending; /* the request being answered */
} mpsd_dedupe;

typedef struct mpsd_session {
	uint64_t             id;
	uint32_t             pipe;
	int64_t              last_seen;
	int64_t              gone_at;  /* ended (what it held released) at; 0 = live */
	struct mpsd_session *next; /* hash chain */
	size_t               cache_bytes; /* sum of the kept answers' len */
	uint64_t             answers;     /* answers kept so far (seq) */
	mpsd_dedupe          slots[MPSD_DEDUPE_SLOTS];
} mpsd_session;

mpsd_sessions *mpsd_sessions_alloc(void);
void           mpsd_sessions_free(mpsd_sessions *ss);
size_t         mpsd_sessions_count(const mpsd_sessions *ss);

/* The session for id, created if missing (NULL only when out of memory). */
mpsd_session *mpsd_session_get(mpsd_sessions *ss, uint64_t id);
mpsd_session *mpsd_session_find(mpsd_sessions *ss, uint64_t id); /* NULL if none */
void          mpsd_session_touch(mpsd_session *s, uint32_t pipe, int64_t now_ms);

/* fn(arg, sid) is called for every session mpsd_sessions_reap frees
 * (never for those mpsd_sessions_free drops at exit). */
void mpsd_sessions_on_free(mpsd_sessions *ss, void (*fn)(void *arg, uint64_t sid), void *arg);

/*
 * At start, before serving: an answer a previous run kept (the database).
 * The session sid is created ended at now_ms, holding nothing, so it lives
 * one lease (answering re-sends; a request makes it live again) and is
 * then freed. The answer goes to its slot like a fresh one, within
 * MPSD_DEDUPE_BYTES (give a session's answers oldest first). -1 when out
 * of memory (the answer is not kept).
 */
int mpsd_session_restore(mpsd_sessions *ss, uint64_t sid, uint64_t reqid, const void *data,
    size_t len, int64_t now_ms);

/* Bytes of answers kept for re-sends, all sessions (stats). */
size_t         mpsd_sessions_cache_bytes(const mpsd_sessions *ss);

/* Dedupe (request id 0 is never recorded: always MPSD_SEEN_NEW):
 * MPSD_SEEN_NEW (not seen; now recorded as pending with r),
 * MPSD_SEEN_DONE (data and len: the first answer), MPSD_SEEN_PENDING
 * (pending: the request still being answered). */
enum { MPSD_SEEN_NEW = 0, MPSD_SEEN_DONE, MPSD_SEEN_PENDING };
int  mpsd_session_seen(mpsd_session *s, uint64_t reqid, mpsd_req *r, const uint8_t **data,
     size_t *len, mpsd_req **pending);
/* The answer to reqid: kept (copied) when keep, else the slot is freed.
 * Past MPSD_DEDUPE_BYTES the oldest kept answers are dropped. */
void mpsd_session_answered(mpsd_session *s, uint64_t reqid, const void *data, size_t len, int keep);
/* The request of reqid was abandoned (dead client): forget it. */
void mpsd_session_forget(mpsd_session *s, uint64_t reqid);

/*
 * End and report (fn) every live session bound to pipe, or whose lease
 * ended before now minus lease_ms (pipe 0: lease check only). An ended
 * session keeps its answer cache for another lease, so that a mutation
 * re-sent over a new connection is answered, not applied again; a request
 * for it in that time makes it live again (holding nothing). Sessions
 * ended longer ago are freed (and reported to the free hook).
 */
void mpsd_sessions_reap(mpsd_sessions *ss, uint32_t pipe, int64_t now_ms, int64_t lease_ms,
    void (*fn)(void *arg, uint64_t sid), void *arg);

#endif
