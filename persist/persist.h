/*
 * persist.h - mpstore's SQLite layer (library mpsp, static).
 *
 * mpsp keeps opaque, packed Mpstore__Change records in one SQLite file: a
 * change log (one row per group commit holding its records, in revision
 * order) and a snapshot (the whole store as records, written in pieces),
 * and the answers of committed writes, kept with them so that a re-sent
 * request is answered, not applied again, after a crash. It knows nothing
 * of nng nor of container kinds: it never decodes a record or an answer. docs/persistence.md
 * specifies the file format, docs/durability.md what each mode keeps.
 *
 * Status codes: every function returning int returns 0 (MPSTORE__STATUS__OK)
 * or a positive MPSTORE__STATUS__* value from mpstore.pb-c.h, and, when
 * `err` is not NULL, writes a NUL-terminated message of at most errlen
 * bytes naming the file and the problem. SQLite failures are mapped by
 * meaning: disk full, I/O errors, corruption, read-only media -> ERR_IO.
 * After ERR_IO from a write the store is unchanged (the transaction was
 * rolled back); the daemon is expected to turn read-only.
 *
 * Threads: open, recover and close are called alone (start/stop).
 * log_append, snapshot_begin/put/end and stats are called from ONE thread
 * (the daemon's commit thread). mpsp_log_read and mpsp_backup may be called
 * from any thread, concurrently with the commit thread: on a file they use
 * their own read connection (WAL readers do not block the writer), and so
 * may mpsp_wal_sync (it uses no connection). Every
 * call on one handle is serialised by internal mutexes, so misuse is slow,
 * never unsafe.
 */
#ifndef MPSP_PERSIST_H
#define MPSP_PERSIST_H

#include <stddef.h>
#include <stdint.h>

/* PRAGMA application_id of an mpstore database: 'MPST'. */
#define MPSP_APPLICATION_ID 0x4d505354u
/* PRAGMA user_version: the on-disk format version this code reads and
 * writes. Bumped on any change to tables, columns or meta keys that an older
 * mpstored could misread (docs/persistence.md). 2 added the answers table;
 * a version-1 file is upgraded at open, in one transaction. */
#define MPSP_FORMAT_VERSION 2
/* The oldest format mpsp_open still reads (and upgrades). */
#define MPSP_FORMAT_OLDEST 1

/* Answers kept per client: one per slot, slot = req_id % this (the
 * daemon's re-send cache has the same slots). */
#define MPSP_ANSWER_SLOTS 1024

/* Snapshot records are committed in transactions of at most this many rows
 * (or MPSP_SNAPSHOT_BATCH_BYTES), so log appends interleave quickly. */
#define MPSP_SNAPSHOT_BATCH_ROWS  2000
#define MPSP_SNAPSHOT_BATCH_BYTES (16u << 20)

typedef struct mpsp mpsp;

typedef enum mpsp_durability {
	MPSP_MEMORY,   /* nothing is written; the path is not opened */
	MPSP_LOG,      /* WAL, synchronous=NORMAL: survives kill -9 */
	MPSP_FSYNC,    /* WAL, synchronous=FULL: survives power loss */
	MPSP_SNAPSHOT, /* snapshots only; mpsp_log_append keeps nothing */
} mpsp_durability;

/*
 * One record. All pointers are borrowed: mpsp copies what it keeps before
 * the call returns; records handed to a callback are valid only during the
 * callback.
 */
typedef struct mpsp_rec {
	uint64_t       rev;  /* revision of the change (snapshot: the snapshot's) */
	const char    *name; /* container name, NUL-terminated */
	int            kind; /* Mpstore__Kind, stored for inspection only (0 = unknown) */
	const uint8_t *data; /* packed Mpstore__Change */
	size_t         len;
} mpsp_rec;

/*
 * The answer of a committed write (docs/protocol.md section 3): the packed
 * Response a re-send of request req_id from client_id must get again.
 * client_id and req_id are not 0. data is borrowed, as for mpsp_rec.
 */
typedef struct mpsp_answer {
	uint64_t       client_id;
	uint64_t       req_id;
	const uint8_t *data;
	size_t         len;
} mpsp_answer;

/* Answer callback: return 0 to go on; any other value stops the walk and
 * is returned by mpsp_answers_read. */
typedef int (*mpsp_answer_cb)(void *arg, const mpsp_answer *a);

/* Record callback: return 0 to go on; any other value stops the walk and
 * is returned by the walking function (use a status code). */
typedef int (*mpsp_rec_cb)(void *arg, const mpsp_rec *r);

typedef struct mpsp_stats {
	mpsp_durability durability;
	uint64_t        last_rev;       /* highest revision stored (or appended) */
	uint64_t        token;          /* highest fencing token stored */
	uint64_t        log_rows;       /* records in the log (above log_floor) */
	uint64_t        log_bytes;      /* sum of their record sizes */
	uint64_t        log_floor;      /* revisions <= this were compacted away */
	uint64_t        snapshot_rev;   /* revision of the current snapshot (0: none) */
	uint64_t        snapshot_rows;
	uint64_t        snapshot_bytes;
	uint64_t        file_bytes;     /* database file size (0 in memory) */
	uint64_t        wal_bytes;      /* -wal file size */
	uint64_t        log_batches;    /* rows of the log table: one per append (group commit) */
	int             upgraded_from;  /* the file's format version when mpsp_open upgraded
	                                 * it (0: it was current or new) */
} mpsp_stats;

/*
 * Open (or create) the database at `path` and check it is ours.
 * - d == MPSP_MEMORY: nothing is opened or written (path may be NULL);
 *   every other call succeeds and keeps nothing.
 * - path ":memory:": a private in-memory SQLite database; everything works
 *   (log, snapshots, log_read, backup) and is lost at close.
 * - a missing or empty (0 bytes) file is created with the current format.
 * - an existing file is inspected first with plain reads: not SQLite,
 *   another application_id, a newer user_version, foreign or missing
 *   tables, a read-only file or directory, or a file locked by another
 *   mpsp are refused (ERR_SCHEMA, ERR_VERSION, ERR_IO) WITHOUT writing to
 *   it. The file stays flock()ed while open.
 * - a file of an older format (MPSP_FORMAT_OLDEST and up) that passes every
 *   check of its own version (tables, meta rows) is then upgraded to the
 *   current one in one transaction (mpsp_stats.upgraded_from says so); a
 *   failed upgrade changes nothing (ERR_IO).
 * On success *out is a handle the caller frees with mpsp_close; on failure
 * *out is NULL. A failed mpsp_open leaves nothing to free.
 */
int mpsp_open(mpsp **out, const char *path, mpsp_durability d, char *err, size_t errlen);

/* Abort an unfinished snapshot, close connections, release the lock, free
 * p. NULL is accepted. Committed data is never lost by closing. */
void mpsp_close(mpsp *p);

/*
 * Feed the stored state to fn: the current snapshot's records in the order
 * they were put (r->rev = snapshot revision), then the log records with a
 * revision above the snapshot's, in revision (then append) order. Sets
 * *last_rev to the highest stored revision and *token to the highest stored
 * fencing token (either pointer may be NULL). Call once after mpsp_open,
 * before any append. Returns fn's non-zero value if it stopped the walk,
 * or ERR_IO (e.g. corruption found while reading).
 */
int mpsp_recover(mpsp *p, mpsp_rec_cb fn, void *arg, uint64_t *last_rev, uint64_t *token,
    char *err, size_t errlen);

/*
 * Append n records (a group commit) in ONE transaction, with `token` (the
 * daemon's fencing-token counter) saved so tokens keep growing after a
 * restart. Revisions must not decrease (within the batch and across calls)
 * and must be above the current snapshot's: else ERR_INVALID and nothing is
 * written. Several records may share a revision (a transaction's changes).
 *
 * In the same transaction: first the clients in prune[0..nprune) lose
 * their answers (their sessions ended), then the nans answers are kept:
 * in the answers column of the call's (first) log row, or, without
 * records, in the answers table. An answer of a client and slot
 * (req_id % MPSP_ANSWER_SLOTS) replaces the one kept before; a snapshot
 * that compacts log rows away carries their current answers into the
 * answers table (docs/persistence.md). A pruned client's answers that
 * must go are therefore not passed in the same call. An answer with
 * client_id or req_id 0: ERR_INVALID, nothing written. Either array may
 * be NULL when its count is 0.
 *
 * Durable on return as the mode promises. MPSP_SNAPSHOT and MPSP_MEMORY:
 * writes nothing (no records, no answers), remembers the revision and
 * token, returns 0. A pending snapshot batch (mpsp_snapshot_put) is
 * committed with it.
 */
int mpsp_log_append(mpsp *p, const mpsp_rec *recs, size_t n, uint64_t token,
    const mpsp_answer *ans, size_t nans, const uint64_t *prune, size_t nprune, char *err,
    size_t errlen);

/*
 * Hand the kept answers to fn, oldest first: the answers table's (by
 * client, then request id), then those of the log rows in their order; a
 * later answer of a client and slot replaces an earlier one (apply them in
 * order). Answers of clients pruned by this process are left out; after a
 * restart those still in log rows (not yet compacted) come back: a prune
 * is durable for the table only. For the daemon's start, after
 * mpsp_recover. Returns fn's non-zero value if it stopped the walk;
 * ERR_IO for a table row that is not an answer (ids 0, a slot that is not
 * req_id % MPSP_ANSWER_SLOTS, data that is not a blob) or a log row whose
 * answers do not decode, with the sqlite3 command that removes them. 0
 * with no calls when nothing is kept (MPSP_MEMORY).
 */
int mpsp_answers_read(mpsp *p, mpsp_answer_cb fn, void *arg, char *err, size_t errlen);

/*
 * fdatasync the write-ahead log: every transaction committed before the
 * call survives power loss once it returns 0. For `log` mode, whose
 * commits do not sync (the daemon calls it once a second after commits).
 * The WAL is opened by path: a WAL removed from under the handle is ERR_IO.
 * The first successful call also syncs the database's directory. 0 without
 * a file (MPSP_MEMORY, ":memory:"). Any thread, without the handle's locks.
 */
int mpsp_wal_sync(mpsp *p, char *err, size_t errlen);

/*
 * Call fn for every log record with revision >= from_rev, in order (the
 * history a watcher missed). Returns ERR_COMPACTED when some of those
 * revisions are no longer in the log (from_rev <= the log floor; or the
 * mode keeps no log and from_rev <= the last appended revision); 0 with no
 * calls when from_rev is above the last revision. Any thread.
 */
int mpsp_log_read(mpsp *p, uint64_t from_rev, mpsp_rec_cb fn, void *arg, char *err,
    size_t errlen);

/*
 * Snapshot in pieces. begin(rev, token): the records that follow describe
 * the whole store at revision `rev` (>= the current snapshot's). put: any
 * number of calls, interleaved with mpsp_log_append; rows are committed in
 * batches of MPSP_SNAPSHOT_BATCH_ROWS but stay invisible until end.
 * end(commit=1): one transaction makes the new snapshot current, deletes the
 * previous snapshot's rows and the log records with revision <= rev
 * (compaction), and raises the log floor to rev. end(commit=0), a failure
 * of any put, or mpsp_close abandon the new rows (they are also removed at
 * the next open after a crash). begin while a snapshot is open, put/end
 * without begin: ERR_INVALID. After a failed put, end(1) returns ERR_IO and
 * the old snapshot stays current. MPSP_MEMORY: no-ops.
 */
int mpsp_snapshot_begin(mpsp *p, uint64_t rev, uint64_t token, char *err, size_t errlen);
int mpsp_snapshot_put(mpsp *p, const mpsp_rec *recs, size_t n, char *err, size_t errlen);
int mpsp_snapshot_end(mpsp *p, int commit, char *err, size_t errlen);

/*
 * Online backup (sqlite3_backup) of the committed state to a new file
 * `dest`, which must not exist (ERR_EXISTS). The copy is a complete mpstore
 * database, openable with mpsp_open. On a file it reads through its own
 * connection in one pass, so the commit thread is not blocked; any thread.
 * On failure dest is removed. MPSP_MEMORY: ERR_INVALID (nothing to copy).
 */
int mpsp_backup(mpsp *p, const char *dest, char *err, size_t errlen);

/*
 * OP_BACKUP's rules for a backup's name: a file name, not a path: 1 to 255
 * bytes, no '/', not starting with '.' (so neither "." nor ".." nor a
 * hidden file). 0, or ERR_INVALID with a message saying which rule.
 */
int mpsp_backup_name_check(const char *name, char *err, size_t errlen);
/* mpsp_backup to dir/name, name checked as above; never over an existing
 * file (ERR_EXISTS). */
int mpsp_backup_in(mpsp *p, const char *dir, const char *name, char *err, size_t errlen);

/* Counters for tests and `mpstore stats`. Commit thread. */
int mpsp_stats_get(mpsp *p, mpsp_stats *st, char *err, size_t errlen);

/* "memory", "log", "fsync", "snapshot" (constant strings). */
const char *mpsp_durability_name(mpsp_durability d);
/* Parse one of the names above; 0 on success, ERR_INVALID otherwise. */
int mpsp_durability_parse(const char *s, mpsp_durability *d);

#endif
