/*
 * open.c - open, create, check and close an mpstore database.
 *
 * An existing file is judged from its first 100 bytes (the SQLite header:
 * magic, user_version at offset 60, application_id at 68) read with plain
 * read(2) before SQLite ever opens it, so a file that is not ours is never
 * written, not even by a pragma or a journal rollback.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "persist_int.h"

#define STR_(x) #x
#define STR(x)  STR_(x)

/* Format 2: the answers of committed writes (answers.c): in the log row
 * of their group commit (log.answers, a column version 1 did not have)
 * and, once a snapshot compacted that row away, in this table. */
#define ANSWERS_SQL \
	"CREATE TABLE answers(client_id INTEGER NOT NULL, slot INTEGER NOT NULL," \
	" req_id INTEGER NOT NULL, data BLOB NOT NULL, PRIMARY KEY(client_id, slot)) WITHOUT ROWID;"

#define E_IO      MPSTORE__STATUS__ERR_IO
#define E_SCHEMA  MPSTORE__STATUS__ERR_SCHEMA
#define E_VERSION MPSTORE__STATUS__ERR_VERSION

/* log_records (below). LR_V: the varint value read so far including byte
 * b; LR_POS: the position of the next byte (a length skips the name or data
 * after it); LR_R: this step reloads the window (win: 256 bytes of recs from
 * wpos) as fewer than 10 bytes are left in it; LR_FIELD: the name or data
 * after a length, from the window when it holds it. */
#define LR_V     "(w.acc + (w.b % 128) * w.mul)"
#define LR_POS   "(CASE WHEN w.b >= 128 OR w.f < 2 THEN w.pos + 1 ELSE w.pos + 1 + " LR_V " END)"
#define LR_R     "(w.pos + 10 > w.wpos + length(w.win) AND w.wpos + length(w.win) <= length(l.recs))"
#define LR_FIELD "(CASE WHEN w.pos - w.wpos + 1 + " LR_V " <= length(w.win)" \
	" THEN substr(w.win, w.pos - w.wpos + 2, " LR_V ") ELSE substr(l.recs, w.pos + 1, " LR_V ") END)"

/*
 * The log holds one row per group commit; `recs` packs its records
 * (docs/persistence.md, "Log rows"). log_records unpacks them in SQL for
 * people with the sqlite3 shell: a recursive walk, one step per varint byte
 * (b: the byte at pos, found in k's table of all 256 byte values; f: the
 * field being read, 0 rev, 1 kind, 2 name length, 3 data length; a step that
 * reads a length also takes the name or the data after it, and a non-NULL
 * change ends a record). Bytes are read from a small window, not from the
 * whole blob each step, and ORDER BY 1 walks one row at a time (its pages
 * stay in cache). The daemon never uses the views.
 */
static const char schema_sql[] =
    "CREATE TABLE meta(key TEXT PRIMARY KEY, value);"
    "CREATE TABLE log(seq INTEGER PRIMARY KEY, rev_lo INTEGER NOT NULL, rev_hi INTEGER NOT NULL,"
    " n INTEGER NOT NULL, bytes INTEGER NOT NULL, recs BLOB NOT NULL, answers BLOB);"
    "CREATE INDEX log_rev_hi ON log(rev_hi);"
    "CREATE TABLE snapshot(seq INTEGER PRIMARY KEY, name TEXT NOT NULL,"
    " kind INTEGER NOT NULL DEFAULT 0, change BLOB NOT NULL);"
    ANSWERS_SQL
    "CREATE VIEW snapshot_current AS SELECT seq, name, kind, change FROM snapshot"
    " WHERE seq BETWEEN (SELECT value FROM meta WHERE key = 'snapshot_first')"
    " AND (SELECT value FROM meta WHERE key = 'snapshot_last');"
    "CREATE VIEW log_records AS WITH RECURSIVE"
    " k(t) AS (SELECT x'"
    "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f"
    "404142434445464748494a4b4c4d4e4f505152535455565758595a5b5c5d5e5f606162636465666768696a6b6c6d6e6f707172737475767778797a7b7c7d7e7f"
    "808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9fa0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7b8b9babbbcbdbebf"
    "c0c1c2c3c4c5c6c7c8c9cacbcccdcecfd0d1d2d3d4d5d6d7d8d9dadbdcdddedfe0e1e2e3e4e5e6e7e8e9eaebecedeeeff0f1f2f3f4f5f6f7f8f9fafbfcfdfeff"
    "'),"
    " w(seq, pos, wpos, win, b, f, acc, mul, rev, kind, name, change) AS ("
    "  SELECT seq, 1, 1, substr(recs, 1, 256), instr(k.t, substr(recs, 1, 1)) - 1, 0, 0, 1, 0, 0,"
    "   NULL, NULL FROM log, k"
    "  UNION ALL SELECT w.seq,"
    "   CASE WHEN " LR_R " THEN w.pos ELSE " LR_POS " END,"
    "   CASE WHEN " LR_R " THEN w.pos ELSE w.wpos END,"
    "   CASE WHEN " LR_R " THEN substr(l.recs, w.pos, 256) ELSE w.win END,"
    "   CASE WHEN " LR_R " THEN instr(k.t, substr(l.recs, w.pos, 1)) - 1"
    "    ELSE instr(k.t, substr(w.win, " LR_POS " - w.wpos + 1, 1)) - 1 END,"
    "   CASE WHEN " LR_R " OR w.b >= 128 THEN w.f ELSE (w.f + 1) % 4 END,"
    "   CASE WHEN " LR_R " THEN w.acc WHEN w.b >= 128 THEN " LR_V " ELSE 0 END,"
    "   CASE WHEN " LR_R " THEN w.mul WHEN w.b >= 128 THEN w.mul * 128 ELSE 1 END,"
    "   CASE WHEN NOT " LR_R " AND w.b < 128 AND w.f = 0 THEN " LR_V " ELSE w.rev END,"
    "   CASE WHEN NOT " LR_R " AND w.b < 128 AND w.f = 1 THEN " LR_V " ELSE w.kind END,"
    "   CASE WHEN NOT " LR_R " AND w.b < 128 AND w.f = 2 THEN CAST(" LR_FIELD " AS TEXT)"
    "    ELSE w.name END,"
    "   CASE WHEN NOT " LR_R " AND w.b < 128 AND w.f = 3 THEN " LR_FIELD " END"
    "  FROM w JOIN log l ON l.seq = w.seq, k WHERE w.pos <= length(l.recs) ORDER BY 1)"
    " SELECT seq, rev, name, kind, change FROM w WHERE change NOT NULL"
    "  AND rev > (SELECT value FROM meta WHERE key = 'log_floor') ORDER BY seq, pos;"
    "CREATE VIEW containers AS SELECT name, max(kind) AS kind,"
    " sum(snapshot_records) AS snapshot_records, sum(snapshot_bytes) AS snapshot_bytes,"
    " sum(log_records) AS log_records, sum(log_bytes) AS log_bytes, max(last_rev) AS last_rev"
    " FROM (SELECT name, kind, count(*) AS snapshot_records,"
    "  sum(length(change)) AS snapshot_bytes, 0 AS log_records, 0 AS log_bytes,"
    "  (SELECT value FROM meta WHERE key = 'snapshot_rev') AS last_rev"
    "  FROM snapshot_current GROUP BY name"
    " UNION ALL SELECT name, kind, 0, 0, count(*), sum(length(change)), max(rev)"
    "  FROM log_records GROUP BY name)"
    " GROUP BY name ORDER BY name;"
    "INSERT INTO meta(key, value) VALUES ('format', " STR(MPSP_FORMAT_VERSION) "), ('token', 0),"
    " ('snapshot_rev', 0),"
    " ('snapshot_token', 0), ('snapshot_first', 1), ('snapshot_last', 0), ('log_floor', 0);";

/* Objects an mpstore database has, and nothing else (sqlite_* excluded),
 * with the format version that added each: a file of an older version has
 * none of the newer ones. */
static const struct {
	const char *name;
	int         since;
} our_objects[] = { { "table meta", 1 }, { "table log", 1 }, { "table snapshot", 1 },
	{ "index log_rev_hi", 1 }, { "view snapshot_current", 1 }, { "view log_records", 1 },
	{ "view containers", 1 }, { "table answers", 2 } };
#define N_OBJECTS (sizeof(our_objects) / sizeof(our_objects[0]))

static const char *const stmt_sql[MPSP_ST_COUNT] = {
	[MPSP_ST_BEGIN] = "BEGIN IMMEDIATE",
	[MPSP_ST_COMMIT] = "COMMIT",
	[MPSP_ST_ROLLBACK] = "ROLLBACK",
	[MPSP_ST_LOG_INSERT] = "INSERT INTO log(rev_lo, rev_hi, n, bytes, recs, answers)"
	                       " VALUES (?, ?, ?, ?, ?, ?)",
	[MPSP_ST_META_SET] = "UPDATE meta SET value = ?2 WHERE key = ?1",
	[MPSP_ST_SNAP_INSERT] = "INSERT INTO snapshot(seq, name, kind, change) VALUES (?, ?, ?, ?)",
	[MPSP_ST_ANSWER_PUT] = "INSERT OR REPLACE INTO answers(client_id, slot, req_id, data)"
	                       " VALUES (?1, ?2, ?3, ?4)",
	[MPSP_ST_ANSWER_PRUNE] = "DELETE FROM answers WHERE client_id = ?1",
};

static uint32_t
be32(const unsigned char *b)
{
	return ((uint32_t)b[0] << 24) | ((uint32_t)b[1] << 16) | ((uint32_t)b[2] << 8) | b[3];
}

static void
dir_of(const char *path, char *buf, size_t len)
{
	const char *slash = strrchr(path, '/');
	if (slash == NULL)
		snprintf(buf, len, ".");
	else if (slash == path)
		snprintf(buf, len, "/");
	else
		snprintf(buf, len, "%.*s", (int)(slash - path), path);
}

static int
writable(const char *path, const struct stat *st)
{
	/* Honour the mode bits even for root: a file someone made read-only
	 * is not ours to write. */
	return access(path, W_OK) == 0 && (st->st_mode & (S_IWUSR | S_IWGRP | S_IWOTH)) != 0;
}

/* Checks on an existing, non-empty file, before SQLite sees it. */
static int
check_header(int fd, const char *path, char *err, size_t errlen)
{
	unsigned char h[100];
	ssize_t       n = pread(fd, h, sizeof(h), 0);
	if (n < 0)
		return mpsp__fail(err, errlen, E_IO, "cannot read %s: %s", path, strerror(errno));
	if (n < (ssize_t)sizeof(h) || memcmp(h, "SQLite format 3", 16) != 0)
		return mpsp__fail(err, errlen, E_SCHEMA,
		    "%s is not an mpstore database (not a SQLite file); refusing to touch it", path);
	uint32_t app = be32(h + 68), ver = be32(h + 60);
	if (app == 0)
		return mpsp__fail(err, errlen, E_SCHEMA,
		    "%s is a SQLite database but not an mpstore database (application_id 0, "
		    "mpstore uses 0x%08x 'MPST'); refusing to touch it",
		    path, MPSP_APPLICATION_ID);
	if (app != MPSP_APPLICATION_ID)
		return mpsp__fail(err, errlen, E_SCHEMA,
		    "%s is a SQLite database of another application (application_id 0x%08x, "
		    "mpstore uses 0x%08x 'MPST'); refusing to touch it",
		    path, app, MPSP_APPLICATION_ID);
	if (ver > MPSP_FORMAT_VERSION)
		return mpsp__fail(err, errlen, E_VERSION,
		    "%s has format version %u, newer than this mpstored supports (%d); "
		    "use a newer mpstored",
		    path, ver, MPSP_FORMAT_VERSION);
	if (ver < 1)
		return mpsp__fail(err, errlen, E_SCHEMA,
		    "%s has mpstore's application_id but no format version (user_version 0); "
		    "refusing to touch it",
		    path);
	return 0;
}

static int
prepare_all(mpsp *p, char *err, size_t errlen)
{
	for (int i = 0; i < MPSP_ST_COUNT; i++) {
		int rc = sqlite3_prepare_v3(p->db, stmt_sql[i], -1, SQLITE_PREPARE_PERSISTENT, &p->st[i], NULL);
		if (rc != SQLITE_OK)
			return mpsp__fail(err, errlen, E_SCHEMA, "%s does not have mpstore's tables: %s",
			    p->path != NULL ? p->path : "(memory)", sqlite3_errmsg(p->db));
	}
	return 0;
}

/* One-row integer query; *v = 0 when NULL. */
static int
query_u64(mpsp *p, const char *sql, uint64_t *v, char *err, size_t errlen)
{
	int64_t i;
	int     rv = mpsp__query_i64(p, sql, 0, 0, &i, err, errlen);
	if (rv == 0)
		*v = (uint64_t)i;
	return rv;
}

/* Verify the objects (through the WAL: the header read may be stale)
 * against the file's own format version, which goes to p->format. */
static int
check_schema(mpsp *p, char *err, size_t errlen)
{
	uint64_t app = 0, ver = 0;
	int      rv;
	if ((rv = query_u64(p, "PRAGMA application_id", &app, err, errlen)) != 0 ||
	    (rv = query_u64(p, "PRAGMA user_version", &ver, err, errlen)) != 0)
		return rv;
	if (app != MPSP_APPLICATION_ID)
		return mpsp__fail(err, errlen, E_SCHEMA, "%s is not an mpstore database (application_id 0x%08x)",
		    p->path, (unsigned)app);
	if (ver > MPSP_FORMAT_VERSION || ver < MPSP_FORMAT_OLDEST)
		return mpsp__fail(err, errlen, ver > MPSP_FORMAT_VERSION ? E_VERSION : E_SCHEMA,
		    "%s has format version %u; this mpstored supports %d to %d", p->path, (unsigned)ver,
		    MPSP_FORMAT_OLDEST, MPSP_FORMAT_VERSION);
	p->format = (int)ver;

	sqlite3_stmt *s;
	int           rc = sqlite3_prepare_v2(p->db,
	              "SELECT type || ' ' || name FROM sqlite_schema WHERE name NOT LIKE 'sqlite\\_%' ESCAPE '\\'",
	              -1, &s, NULL);
	if (rc != SQLITE_OK)
		return mpsp__sqlfail(p, p->db, rc, err, errlen, "cannot read the schema of");
	unsigned seen = 0;
	rv            = 0;
	while (rv == 0 && (rc = sqlite3_step(s)) == SQLITE_ROW) {
		const char *o = (const char *)sqlite3_column_text(s, 0);
		size_t      i;
		for (i = 0; i < N_OBJECTS && (strcmp(o, our_objects[i].name) != 0 ||
		                                 our_objects[i].since > p->format); i++)
			;
		if (i == N_OBJECTS)
			rv = mpsp__fail(err, errlen, E_SCHEMA,
			    "%s is not an mpstore database: it has a foreign %s; refusing to touch it",
			    p->path, o);
		else
			seen |= 1u << i;
	}
	sqlite3_finalize(s);
	if (rv != 0)
		return rv;
	if (rc != SQLITE_DONE)
		return mpsp__sqlfail(p, p->db, rc, err, errlen, "cannot read the schema of");
	for (size_t i = 0; i < N_OBJECTS; i++)
		if (our_objects[i].since <= p->format && !(seen & (1u << i)))
			return mpsp__fail(err, errlen, E_SCHEMA, "%s is damaged: %s is missing", p->path,
			    our_objects[i].name);
	return 0;
}

/*
 * A file of an older format, which passed every check of its own version
 * (objects, meta rows), becomes the current format in one transaction:
 * what was added since, the meta 'format' row and user_version. An
 * older mpstored refuses the result (a newer version); a crash or failure
 * before COMMIT leaves the file as it was.
 */
static int
upgrade(mpsp *p, char *err, size_t errlen)
{
	if (p->format == MPSP_FORMAT_VERSION)
		return 0;
	/* 1 -> 2: the answers column of log rows, and the answers table
	 * (adding a column rewrites no row) */
	char sql[512];
	snprintf(sql, sizeof(sql),
	    "BEGIN IMMEDIATE; ALTER TABLE log ADD COLUMN answers BLOB; %s"
	    " UPDATE meta SET value = %d WHERE key = 'format'; PRAGMA user_version = %d; COMMIT;",
	    ANSWERS_SQL, MPSP_FORMAT_VERSION, MPSP_FORMAT_VERSION);
	int rc = sqlite3_exec(p->db, sql, NULL, NULL, NULL);
	if (rc != SQLITE_OK) {
		char why[400];
		mpsp__sqlfail(p, p->db, rc, why, sizeof(why), "cannot write");
		sqlite3_exec(p->db, "ROLLBACK", NULL, NULL, NULL);
		return mpsp__fail(err, errlen, mpsp__status_of(rc),
		    "cannot upgrade %s from format version %d to %d (nothing was changed): %s", p->path,
		    p->format, MPSP_FORMAT_VERSION, why);
	}
	p->upgraded_from = p->format;
	return check_schema(p, err, errlen);
}

static int
create_schema(mpsp *p, char *err, size_t errlen)
{
	char sql[sizeof(schema_sql) + 256];
	snprintf(sql, sizeof(sql),
	    "PRAGMA auto_vacuum = INCREMENTAL; BEGIN; %s"
	    "INSERT INTO meta(key, value) VALUES ('created', %lld);"
	    "PRAGMA application_id = %u; PRAGMA user_version = %d; COMMIT;",
	    schema_sql, (long long)time(NULL), MPSP_APPLICATION_ID, MPSP_FORMAT_VERSION);
	int rc = sqlite3_exec(p->db, sql, NULL, NULL, NULL);
	if (rc != SQLITE_OK) {
		int rv = mpsp__sqlfail(p, p->db, rc, err, errlen, "cannot create");
		sqlite3_exec(p->db, "ROLLBACK", NULL, NULL, NULL);
		return rv;
	}
	p->format = MPSP_FORMAT_VERSION;
	return 0;
}

static int
load_meta(mpsp *p, char *err, size_t errlen)
{
	int rv = mpsp__meta_load(p, err, errlen);
	if (rv != 0)
		return rv;

	uint64_t maxrev = 0;
	if ((rv = mpsp__log_totals(p, p->log_floor, err, errlen)) != 0 ||
	    (rv = query_u64(p, "SELECT max(rev_hi) FROM log", &maxrev, err, errlen)) != 0)
		return rv;
	p->last_rev = maxrev > p->snap_rev ? maxrev : p->snap_rev;
	if ((rv = query_u64(p, "SELECT max(seq) FROM log", &p->last_log_seq, err, errlen)) != 0)
		return rv;
	if (p->snap_token > p->token)
		p->token = p->snap_token;

	char sql[160];
	snprintf(sql, sizeof(sql), "SELECT count(*) FROM snapshot WHERE seq > %llu",
	    (unsigned long long)p->snap_last);
	uint64_t orphans = 0;
	if ((rv = query_u64(p, sql, &orphans, err, errlen)) != 0)
		return rv;
	if (orphans > 0) {
		/* rows of a snapshot abandoned by a crash (meta.c made sure none
		 * lies below the current snapshot's range) */
		snprintf(sql, sizeof(sql), "DELETE FROM snapshot WHERE seq > %llu",
		    (unsigned long long)p->snap_last);
		if ((rv = mpsp__exec(p, sql, err, errlen)) != 0)
			return rv;
	}
	if ((rv = query_u64(p, "SELECT count(*) FROM snapshot", &p->snap_rows, err, errlen)) != 0 ||
	    (rv = query_u64(p, "SELECT coalesce(sum(length(change)), 0) FROM snapshot", &p->snap_bytes, err, errlen)) != 0)
		return rv;
	return 0;
}

int
mpsp__reload(mpsp *p, char *err, size_t errlen)
{
	pthread_mutex_lock(&p->mu);
	int rv = p->db != NULL ? load_meta(p, err, errlen) : 0;
	pthread_mutex_unlock(&p->mu);
	return rv;
}

static int
set_pragmas(mpsp *p, char *err, size_t errlen)
{
	char sql[256];
	int  rv;
	if (!p->memdb) {
		/* journal_mode answers with the mode; check it really is WAL */
		sqlite3_stmt *s;
		int           rc = sqlite3_prepare_v2(p->db, "PRAGMA journal_mode = WAL", -1, &s, NULL);
		if (rc == SQLITE_OK)
			rc = sqlite3_step(s);
		int wal = rc == SQLITE_ROW &&
		    strcmp((const char *)sqlite3_column_text(s, 0), "wal") == 0;
		sqlite3_finalize(s);
		if (!wal)
			return mpsp__sqlfail(p, p->db, rc == SQLITE_ROW ? SQLITE_ERROR : rc, err, errlen,
			    "cannot switch to WAL mode:");
	}
	snprintf(sql, sizeof(sql),
	    "PRAGMA synchronous = %s; PRAGMA journal_size_limit = 67108864;"
	    "PRAGMA cache_size = -16384; PRAGMA temp_store = MEMORY; PRAGMA foreign_keys = OFF;",
	    p->d == MPSP_LOG ? "NORMAL" : "FULL");
	if ((rv = mpsp__exec(p, sql, err, errlen)) != 0)
		return rv;
	sqlite3_busy_timeout(p->db, 5000);
	return 0;
}

static void
close_db(mpsp *p)
{
	for (int i = 0; i < MPSP_ST_COUNT; i++) {
		sqlite3_finalize(p->st[i]);
		p->st[i] = NULL;
	}
	sqlite3_finalize(p->rd_floor);
	sqlite3_finalize(p->rd_log);
	p->rd_floor = p->rd_log = NULL;
	if (p->rdb != NULL)
		sqlite3_close(p->rdb);
	p->rdb = NULL;
	if (p->db != NULL)
		sqlite3_close(p->db);
	p->db = NULL;
	/* after SQLite closed its descriptors: closing ours drops POSIX locks */
	if (p->lockfd >= 0)
		close(p->lockfd);
	p->lockfd = -1;
}

static void
free_handle(mpsp *p)
{
	close_db(p);
	pthread_mutex_destroy(&p->mu);
	pthread_mutex_destroy(&p->rmu);
	free(p->path);
	free(p->enc);
	mpsp__answers_free(p);
	free(p);
}

static int
open_file(mpsp *p, char *err, size_t errlen, int *created)
{
	const char *path = p->path;
	char        dir[4096];
	struct stat st;
	int         isnew = 0;

	dir_of(path, dir, sizeof(dir));
	p->lockfd = open(path, O_RDONLY | O_CLOEXEC);
	if (p->lockfd < 0 && errno == ENOENT) {
		p->lockfd = open(path, O_RDONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
		if (p->lockfd < 0)
			return mpsp__fail(err, errlen, E_IO, "cannot create database %s: %s", path,
			    strerror(errno));
		*created = 1;
	}
	if (p->lockfd < 0)
		return mpsp__fail(err, errlen, E_IO, "cannot open database %s: %s", path, strerror(errno));
	if (fstat(p->lockfd, &st) != 0)
		return mpsp__fail(err, errlen, E_IO, "cannot stat %s: %s", path, strerror(errno));
	if (!S_ISREG(st.st_mode))
		return mpsp__fail(err, errlen, E_IO, "%s is not a regular file", path);
	if (st.st_size == 0)
		isnew = 1;
	else {
		int rv = check_header(p->lockfd, path, err, errlen);
		if (rv != 0)
			return rv;
	}
	if (!writable(path, &st))
		return mpsp__fail(err, errlen, E_IO, "database %s is read-only", path);
	struct stat dst;
	if (stat(dir, &dst) != 0 || !writable(dir, &dst) || access(dir, X_OK) != 0)
		return mpsp__fail(err, errlen, E_IO,
		    "directory %s is not writable (SQLite creates %s-wal and %s-shm beside the database)",
		    dir, path, path);
	if (flock(p->lockfd, LOCK_EX | LOCK_NB) != 0)
		return mpsp__fail(err, errlen, E_IO,
		    errno == EWOULDBLOCK ? "database %s is in use by another mpstored"
		                         : "cannot lock database %s",
		    path);

	int rc = sqlite3_open_v2(path, &p->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL);
	if (rc != SQLITE_OK)
		return mpsp__sqlfail(p, p->db, rc, err, errlen, "cannot open");
	sqlite3_extended_result_codes(p->db, 1);
	if (isnew)
		return create_schema(p, err, errlen);
	return check_schema(p, err, errlen);
}

int
mpsp_open(mpsp **out, const char *path, mpsp_durability d, char *err, size_t errlen)
{
	int  rv, created = 0;
	mpsp *p;

	*out = NULL;
	if (d != MPSP_MEMORY && d != MPSP_LOG && d != MPSP_FSYNC && d != MPSP_SNAPSHOT)
		return mpsp__fail(err, errlen, MPSTORE__STATUS__ERR_INVALID, "unknown durability %d", (int)d);
	if (d != MPSP_MEMORY && (path == NULL || path[0] == '\0'))
		return mpsp__fail(err, errlen, MPSTORE__STATUS__ERR_INVALID, "no database path given");
	if ((p = calloc(1, sizeof(*p))) == NULL)
		return mpsp__fail(err, errlen, MPSTORE__STATUS__ERR_INTERNAL, "out of memory");
	p->d      = d;
	p->lockfd = -1;
	pthread_mutex_init(&p->mu, NULL);
	pthread_mutex_init(&p->rmu, NULL);
	p->snap_first    = 1;
	p->log_row_bytes = MPSP_LOG_ROW_BYTES;
	if (d == MPSP_MEMORY) {
		*out = p;
		return 0;
	}
	if ((p->path = strdup(path)) == NULL) {
		rv = mpsp__fail(err, errlen, MPSTORE__STATUS__ERR_INTERNAL, "out of memory");
		goto fail;
	}
	if (strcmp(path, ":memory:") == 0) {
		p->memdb = 1;
		int rc   = sqlite3_open_v2(":memory:", &p->db,
		      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
		if (rc != SQLITE_OK) {
			rv = mpsp__sqlfail(p, p->db, rc, err, errlen, "cannot open");
			goto fail;
		}
		sqlite3_extended_result_codes(p->db, 1);
		rv = create_schema(p, err, errlen);
	} else {
		rv = open_file(p, err, errlen, &created);
	}
	/* the statements need the current format's tables: after the upgrade */
	if (rv != 0 || (rv = set_pragmas(p, err, errlen)) != 0 || (rv = load_meta(p, err, errlen)) != 0 ||
	    (rv = upgrade(p, err, errlen)) != 0 || (rv = prepare_all(p, err, errlen)) != 0)
		goto fail;
	*out = p;
	return 0;
fail:
	close_db(p);
	if (created)
		unlink(path);
	free_handle(p);
	return rv;
}

void
mpsp_close(mpsp *p)
{
	if (p == NULL)
		return;
	if (p->snap_open)
		mpsp_snapshot_end(p, 0, NULL, 0);
	free_handle(p);
}
