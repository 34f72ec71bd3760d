/*
 * commit.h - the commit thread: group commit of changes to the database,
 * then replies and PUB notifications in revision order; snapshots,
 * backups, and the in-memory history of changes that watchers catch up
 * from. With durability memory or snapshot there is no log to wait for,
 * and changes are published and answered at once.
 */
#ifndef MPSD_COMMIT_H
#define MPSD_COMMIT_H

#include "daemon.h"

/* Open the database, recover the store (before serving), start the thread. */
int  mpsd_commit_start(mpsd_daemon *d, char *err, size_t errlen);
/* Drain, write a final snapshot (when there is a database), close. */
void mpsd_commit_stop(mpsd_daemon *d);

/*
 * Under the store lock: commit x's changes (packed here), then send reply
 * for r (r and reply may be NULL for changes without a requester). Takes
 * reply. Keeps revision order because it runs under the store lock.
 */
void mpsd_commit_submit(mpsd_daemon *d, mpsd_exec *x, mpsd_req *r, nng_msg *reply);

/* Under the store lock: OP_CHANGES from the history into x->res. */
int mpsd_commit_changes(mpsd_daemon *d, mpsd_exec *x);

/* Publish a heartbeat (empty topic, last committed revision). */
void mpsd_commit_heartbeat(mpsd_daemon *d);

/* Bytes the in-memory change history holds (counted against --max-memory:
 * the store's memory hook). Any thread. */
size_t mpsd_commit_history_bytes(mpsd_daemon *d);

/* Stats lines "key=value" into x->res->values. */
void mpsd_commit_stats(mpsd_daemon *d, mpsd_exec *x);

#endif
