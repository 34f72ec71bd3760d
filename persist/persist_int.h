/*
 * persist_int.h - internals of mpsp shared by its .c files and unit tests.
 */
#ifndef MPSP_PERSIST_INT_H
#define MPSP_PERSIST_INT_H

#include <pthread.h>
#include <sqlite3.h>
#include <stdarg.h>

#include "mpstore.pb-c.h"
#include "persist.h"

/* Cached statements on the main connection. */
enum {
	MPSP_ST_BEGIN,
	MPSP_ST_COMMIT,
	MPSP_ST_ROLLBACK,
	MPSP_ST_LOG_INSERT,
	MPSP_ST_META_SET,
	MPSP_ST_SNAP_INSERT,
	MPSP_ST_ANSWER_PUT,
	MPSP_ST_ANSWER_PRUNE,
	MPSP_ST_COUNT
};

struct mpsp {
	mpsp_durability d;
	int             format;        /* the file's format version (user_version) */
	int             upgraded_from; /* its version before mpsp_open upgraded it, or 0 */
	char           *path;   /* NULL for MPSP_MEMORY */
	int             memdb;  /* ":memory:" */
	int             lockfd; /* flock()ed database file, -1 if none */
	int             dir_synced; /* mpsp_wal_sync synced the directory (atomic) */
	sqlite3        *db;     /* main (commit thread) connection */
	sqlite3_stmt   *st[MPSP_ST_COUNT];
	pthread_mutex_t mu;     /* db, st, the fields below */

	sqlite3        *rdb;    /* log_read connection (files only), lazily opened */
	sqlite3_stmt   *rd_floor, *rd_log;
	pthread_mutex_t rmu;

	uint64_t last_rev, token;
	uint64_t log_rows, log_bytes, log_batches, log_floor;

	/* log_append's row encoding buffer (kept between calls while small) */
	uint8_t *enc;
	size_t   enc_cap;
	/* answers.c: the answers of one append, encoded for their log row */
	uint8_t *ans_enc;
	size_t   ans_cap;
	uint64_t last_log_seq; /* the highest log row seq (committed) */
	/* clients pruned since the log rows that may hold their answers were
	 * written: snapshots must not carry those answers into the answers
	 * table (client, and the last log row seq at the prune) */
	struct mpsp_pruned {
		uint64_t client, seq;
	}       *pruned;
	size_t   npruned, pruned_cap;
	size_t   log_row_bytes; /* start a new log row above this (MPSP_LOG_ROW_BYTES; tests lower it) */
	uint64_t snap_rev, snap_token, snap_first, snap_last, snap_rows, snap_bytes;

	/* snapshot in progress */
	int      snap_open, snap_failed;
	int      in_txn; /* a snapshot batch transaction is open on db */
	uint64_t new_rev, new_token, new_first, next_seq, new_rows, new_bytes;
	uint64_t batch_rows, batch_bytes;
};

/* err helpers: write a message (NULL err is fine) and return status. */
int mpsp__fail(char *err, size_t errlen, int status, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* Map a SQLite result on db to a status and message "<what> <path>: <sqlite msg>". */
int mpsp__sqlfail(mpsp *p, sqlite3 *db, int rc, char *err, size_t errlen, const char *what);
int mpsp__status_of(int rc);

int mpsp__exec(mpsp *p, const char *sql, char *err, size_t errlen);
/* A one-row integer query with up to two integer parameters (?1, ?2);
 * *out = 0 when it is NULL or there is no row. */
int mpsp__query_i64(mpsp *p, const char *sql, int64_t a, int64_t b, int64_t *out, char *err,
    size_t errlen);
/* Read meta into p (token, snap_*, log_floor) after checking every row and
 * its agreement with the snapshot and log tables (meta.c); writes nothing.
 * ERR_SCHEMA with a message naming the row and the way to repair it. */
int mpsp__meta_load(mpsp *p, char *err, size_t errlen);
int mpsp__meta_set(mpsp *p, const char *key, uint64_t v, char *err, size_t errlen);
int mpsp__begin(mpsp *p, char *err, size_t errlen);
int mpsp__commit(mpsp *p, char *err, size_t errlen);
void mpsp__rollback(mpsp *p);
/* Commit an open snapshot batch (so others see a quiet connection). */
int mpsp__flush_batch(mpsp *p, char *err, size_t errlen);

/* An encoding buffer: make *buf hold size bytes (0, or ERR_INTERNAL
 * naming what; nothing changes then); free it when it grew past 1 MiB
 * (buffers are kept between calls while small). */
int  mpsp__buf_reserve(uint8_t **buf, size_t *cap, size_t size, const char *what, char *err,
     size_t errlen);
void mpsp__buf_trim(uint8_t **buf, size_t *cap);

/* Unsigned LEB128 varints (log rows, answers): size, write (returns the
 * end), read (0, or -1 past end or beyond 64 bits). */
size_t   mpsp__varint_len(uint64_t v);
uint8_t *mpsp__varint_put(uint8_t *b, uint64_t v);
int      mpsp__varint_get(const uint8_t **bp, const uint8_t *end, uint64_t *v);

/* answers.c. ERR_INVALID unless every answer has a client id, a request
 * id, and its data (before anything is written). */
int mpsp__answers_check(const mpsp_answer *ans, size_t nans, char *err, size_t errlen);
/* Encode ans for the answers column of a log row into p->ans_enc (*blob;
 * NULL when nans is 0). */
int mpsp__answers_encode(mpsp *p, const mpsp_answer *ans, size_t nans, const uint8_t **blob,
    size_t *len, char *err, size_t errlen);
/* In an open transaction: delete the answers table's rows of the pruned
 * clients; mpsp__answers_pruned records them once it committed. */
int  mpsp__answers_prune(mpsp *p, const uint64_t *prune, size_t nprune, char *err, size_t errlen);
void mpsp__answers_pruned(mpsp *p, const uint64_t *prune, size_t nprune, uint64_t log_seq);
/* In an open transaction: keep ans in the answers table (an append
 * without records). */
int mpsp__answers_put(mpsp *p, const mpsp_answer *ans, size_t nans, char *err, size_t errlen);
/* In the snapshot's transaction, before log rows with rev_hi <= rev are
 * deleted: their answers that are still current (the newest of their
 * client and slot among those rows, the client not pruned since) go to
 * the answers table. After it committed, mpsp__answers_compacted forgets
 * the prunes no remaining log row can hold answers of. */
int  mpsp__answers_carry(mpsp *p, uint64_t rev, char *err, size_t errlen);
void mpsp__answers_compacted(mpsp *p);
void mpsp__answers_free(mpsp *p);

/* A log row holds the records of one mpsp_log_append call, or of a part of
 * it when their encoding exceeds this many bytes (docs/persistence.md). */
#define MPSP_LOG_ROW_BYTES (16u << 20)

/* Recompute log_rows, log_bytes, log_batches from the log table, counting
 * only records with a revision above `floor` (a row may straddle it). */
int mpsp__log_totals(mpsp *p, uint64_t floor, char *err, size_t errlen);

/* Test access (the library is static). */
sqlite3 *mpsp__db(mpsp *p);
/* Check and read meta again, as mpsp_open does, after a test or a fuzz
 * target wrote the tables through mpsp__db. */
int mpsp__reload(mpsp *p, char *err, size_t errlen);

#endif
