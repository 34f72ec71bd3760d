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
	MPSP_ST_COUNT
};

struct mpsp {
	mpsp_durability d;
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
