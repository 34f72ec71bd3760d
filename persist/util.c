/*
 * util.c - error mapping and small statement helpers shared by mpsp files.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "persist_int.h"

int
mpsp__fail(char *err, size_t errlen, int status, const char *fmt, ...)
{
	if (err != NULL && errlen > 0) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return status;
}

int
mpsp__status_of(int rc)
{
	switch (rc & 0xff) {
	case SQLITE_OK:
	case SQLITE_DONE:
	case SQLITE_ROW:
		return MPSTORE__STATUS__OK;
	case SQLITE_CONSTRAINT:
	case SQLITE_MISUSE:
	case SQLITE_RANGE:
	case SQLITE_ERROR:
		return MPSTORE__STATUS__ERR_INTERNAL;
	case SQLITE_NOTADB:
		return MPSTORE__STATUS__ERR_SCHEMA;
	default: /* FULL, IOERR, CORRUPT, READONLY, CANTOPEN, BUSY, NOMEM, ... */
		return MPSTORE__STATUS__ERR_IO;
	}
}

int
mpsp__sqlfail(mpsp *p, sqlite3 *db, int rc, char *err, size_t errlen, const char *what)
{
	const char *why;
	switch (rc & 0xff) {
	case SQLITE_FULL: why = "disk full (no space left on the device)"; break;
	case SQLITE_CORRUPT: why = "database file is corrupt"; break;
	case SQLITE_NOTADB: why = "not a database"; break;
	case SQLITE_READONLY: why = "read-only"; break;
	case SQLITE_IOERR:
		/* SQLite says "disk I/O error" for a write that found no room
		 * (creating -shm or -wal at start on a full disk); the errno says
		 * what it was */
		why = db != NULL && (sqlite3_system_errno(db) == ENOSPC || sqlite3_system_errno(db) == EDQUOT)
		          ? "disk full (no space left on the device: SQLite needs room beside the file "
		            "for its -wal and -shm; free some and start again)"
		          : "I/O error";
		break;
	case SQLITE_BUSY:
	case SQLITE_LOCKED: why = "database is busy"; break;
	default: why = "SQLite error"; break;
	}
	return mpsp__fail(err, errlen, mpsp__status_of(rc), "%s %s: %s (%s, code %d)", what,
	    p != NULL && p->path != NULL ? p->path : "(memory)", why,
	    db != NULL ? sqlite3_errmsg(db) : sqlite3_errstr(rc), rc);
}

int
mpsp__query_i64(mpsp *p, const char *sql, int64_t a, int64_t b, int64_t *out, char *err,
    size_t errlen)
{
	sqlite3_stmt *s;
	int           rc = sqlite3_prepare_v2(p->db, sql, -1, &s, NULL);
	if (rc != SQLITE_OK)
		return mpsp__sqlfail(p, p->db, rc, err, errlen, "cannot read");
	if (sqlite3_bind_parameter_count(s) >= 1)
		sqlite3_bind_int64(s, 1, a);
	if (sqlite3_bind_parameter_count(s) >= 2)
		sqlite3_bind_int64(s, 2, b);
	*out = 0;
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW)
		*out = sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return mpsp__sqlfail(p, p->db, rc, err, errlen, "cannot read");
	return 0;
}

int
mpsp__exec(mpsp *p, const char *sql, char *err, size_t errlen)
{
	int rc = sqlite3_exec(p->db, sql, NULL, NULL, NULL);
	if (rc != SQLITE_OK)
		return mpsp__sqlfail(p, p->db, rc, err, errlen, "cannot write");
	return 0;
}

static int
step_reset(mpsp *p, sqlite3_stmt *s, char *err, size_t errlen, const char *what)
{
	int rc = sqlite3_step(s);
	sqlite3_reset(s);
	if (rc != SQLITE_DONE && rc != SQLITE_ROW)
		return mpsp__sqlfail(p, p->db, rc, err, errlen, what);
	return 0;
}

int
mpsp__meta_set(mpsp *p, const char *key, uint64_t v, char *err, size_t errlen)
{
	sqlite3_stmt *s = p->st[MPSP_ST_META_SET];
	sqlite3_bind_text(s, 1, key, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 2, (sqlite3_int64)v);
	return step_reset(p, s, err, errlen, "cannot write meta to");
}

int
mpsp__begin(mpsp *p, char *err, size_t errlen)
{
	return step_reset(p, p->st[MPSP_ST_BEGIN], err, errlen, "cannot begin a transaction on");
}

int
mpsp__commit(mpsp *p, char *err, size_t errlen)
{
	return step_reset(p, p->st[MPSP_ST_COMMIT], err, errlen, "cannot commit to");
}

void
mpsp__rollback(mpsp *p)
{
	/* A failed write may already have rolled back (SQLITE_FULL can). */
	if (!sqlite3_get_autocommit(p->db)) {
		sqlite3_step(p->st[MPSP_ST_ROLLBACK]);
		sqlite3_reset(p->st[MPSP_ST_ROLLBACK]);
	}
	if (p->in_txn) {
		p->in_txn = 0;
		if (p->snap_open)
			p->snap_failed = 1;
	}
}

int
mpsp__flush_batch(mpsp *p, char *err, size_t errlen)
{
	int rv;
	if (!p->in_txn)
		return 0;
	if ((rv = mpsp__commit(p, err, errlen)) != 0) {
		mpsp__rollback(p);
		return rv;
	}
	p->in_txn = 0;
	p->batch_rows = p->batch_bytes = 0;
	return 0;
}

int
mpsp__buf_reserve(uint8_t **buf, size_t *cap, size_t size, const char *what, char *err,
    size_t errlen)
{
	if (size <= *cap)
		return 0;
	size_t   ncap = size < 4096 ? 4096 : size + size / 4;
	uint8_t *b    = malloc(ncap);
	if (b == NULL)
		return mpsp__fail(err, errlen, MPSTORE__STATUS__ERR_INTERNAL,
		    "out of memory encoding %zu bytes of %s", size, what);
	free(*buf);
	*buf = b;
	*cap = ncap;
	return 0;
}

void
mpsp__buf_trim(uint8_t **buf, size_t *cap)
{
	if (*cap > (1u << 20)) {
		free(*buf);
		*buf = NULL;
		*cap = 0;
	}
}

size_t
mpsp__varint_len(uint64_t v)
{
	size_t n = 1;
	while (v >= 0x80) {
		v >>= 7;
		n++;
	}
	return n;
}

uint8_t *
mpsp__varint_put(uint8_t *b, uint64_t v)
{
	while (v >= 0x80) {
		*b++ = (uint8_t)(v | 0x80);
		v >>= 7;
	}
	*b++ = (uint8_t)v;
	return b;
}

int
mpsp__varint_get(const uint8_t **bp, const uint8_t *end, uint64_t *v)
{
	const uint8_t *b = *bp;
	uint64_t       x = 0;
	for (unsigned shift = 0; shift < 64; shift += 7) {
		if (b == end)
			return -1;
		uint8_t c = *b++;
		if (shift == 63 && (c & 0xfe) != 0)
			return -1;
		x |= (uint64_t)(c & 0x7f) << shift;
		if (!(c & 0x80)) {
			*v  = x;
			*bp = b;
			return 0;
		}
	}
	return -1;
}

sqlite3 *
mpsp__db(mpsp *p)
{
	return p->db;
}

const char *
mpsp_durability_name(mpsp_durability d)
{
	switch (d) {
	case MPSP_MEMORY: return "memory";
	case MPSP_LOG: return "log";
	case MPSP_FSYNC: return "fsync";
	case MPSP_SNAPSHOT: return "snapshot";
	}
	return "unknown";
}

int
mpsp_durability_parse(const char *s, mpsp_durability *d)
{
	static const mpsp_durability all[] = { MPSP_MEMORY, MPSP_LOG, MPSP_FSYNC, MPSP_SNAPSHOT };
	for (size_t i = 0; s != NULL && i < sizeof(all) / sizeof(all[0]); i++) {
		if (strcmp(s, mpsp_durability_name(all[i])) == 0) {
			*d = all[i];
			return 0;
		}
	}
	return MPSTORE__STATUS__ERR_INVALID;
}
