/*
 * meta.c - read the meta table and check that it agrees with itself and
 * with the snapshot and log tables, before anything is loaded or deleted.
 *
 * A damaged meta row once made the daemon serve an empty store without a
 * word (a snapshot_* value read as 0 from text), delete the real snapshot
 * rows with its next snapshot, or wrap its revision (-1 read as 2^64 - 1).
 * Now any row that is missing, not a whole number >= 0, or inconsistent
 * with the others stops mpsp_open with ERR_SCHEMA and a message that names
 * the row, what is wrong, a value the rest of the file suggests and the
 * sqlite3 command that sets it (docs/persistence.md, "Damaged meta
 * rows"). Nothing is written before these checks pass.
 */
#include <stdio.h>
#include <string.h>

#include "persist_int.h"

#define E_SCHEMA MPSTORE__STATUS__ERR_SCHEMA

enum { M_FORMAT, M_TOKEN, M_SNAP_REV, M_SNAP_TOKEN, M_SNAP_FIRST, M_SNAP_LAST, M_LOG_FLOOR, M_N };

static const char *const meta_keys[M_N] = {"format", "token", "snapshot_rev", "snapshot_token",
    "snapshot_first", "snapshot_last", "log_floor"};

typedef struct meta_row {
	int      found;
	int      ok;       /* an integer >= 0 */
	int64_t  v;
	char     text[48]; /* the stored value, for messages */
} meta_row;

static const char *path_of(const mpsp *p)
{
	return p->path != NULL ? p->path : "(memory)";
}

static int read_rows(mpsp *p, meta_row m[M_N], char *err, size_t errlen)
{
	sqlite3_stmt *s;
	int rc = sqlite3_prepare_v2(p->db, "SELECT key, value FROM meta", -1, &s, NULL);
	if (rc != SQLITE_OK)
		return mpsp__sqlfail(p, p->db, rc, err, errlen, "cannot read meta of");
	memset(m, 0, M_N * sizeof(*m));
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		const char *k = (const char *)sqlite3_column_text(s, 0);
		for (int i = 0; k != NULL && i < M_N; i++) {
			if (strcmp(k, meta_keys[i]) != 0)
				continue;
			const char *t = (const char *)sqlite3_column_text(s, 1);
			m[i].found = 1;
			m[i].v = sqlite3_column_int64(s, 1);
			m[i].ok = sqlite3_column_type(s, 1) == SQLITE_INTEGER && m[i].v >= 0;
			if (sqlite3_column_type(s, 1) == SQLITE_NULL)
				snprintf(m[i].text, sizeof(m[i].text), "NULL");
			else if (sqlite3_column_type(s, 1) == SQLITE_INTEGER)
				snprintf(m[i].text, sizeof(m[i].text), "%lld", (long long)m[i].v);
			else
				snprintf(m[i].text, sizeof(m[i].text), "'%.40s'", t != NULL ? t : "");
		}
	}
	sqlite3_finalize(s);
	if (rc != SQLITE_DONE)
		return mpsp__sqlfail(p, p->db, rc, err, errlen, "cannot read meta of");
	return 0;
}

/*
 * The value the rest of the file suggests for row i (-1: none): the
 * snapshot's revision and the log floor are equal after every snapshot;
 * the snapshot's rows are its range; a token may only grow, so a jump past
 * any grant is safe.
 */
static int64_t suggest(mpsp *p, const meta_row m[M_N], int i)
{
	int64_t v = -1, n = 0;
	switch (i) {
	case M_FORMAT: return p->format;
	case M_SNAP_REV: return m[M_LOG_FLOOR].ok ? m[M_LOG_FLOOR].v : -1;
	case M_LOG_FLOOR: return m[M_SNAP_REV].ok ? m[M_SNAP_REV].v : -1;
	case M_TOKEN:
	case M_SNAP_TOKEN: {
		const meta_row *o = &m[i == M_TOKEN ? M_SNAP_TOKEN : M_TOKEN];
		int64_t         jump = (int64_t)1 << 32;
		return o->ok && o->v <= INT64_MAX - jump ? o->v + jump : -1;
	}
	case M_SNAP_FIRST:
		if (mpsp__query_i64(p, "SELECT count(*) FROM snapshot", 0, 0, &n, NULL, 0) != 0)
			return -1;
		if (n == 0) /* no rows: an empty range after snapshot_last */
			return m[M_SNAP_LAST].ok && m[M_SNAP_LAST].v < INT64_MAX ? m[M_SNAP_LAST].v + 1 : 1;
		return mpsp__query_i64(p, "SELECT min(seq) FROM snapshot", 0, 0, &v, NULL, 0) == 0 ? v : -1;
	case M_SNAP_LAST:
		if (mpsp__query_i64(p, "SELECT count(*) FROM snapshot", 0, 0, &n, NULL, 0) != 0)
			return -1;
		if (n == 0)
			return m[M_SNAP_FIRST].ok ? m[M_SNAP_FIRST].v - 1 : 0;
		return mpsp__query_i64(p, "SELECT max(seq) FROM snapshot", 0, 0, &v, NULL, 0) == 0 ? v : -1;
	default: return -1;
	}
}

/* The message for a bad row i: what is wrong, and how to put it right. */
static int bad_row(mpsp *p, const meta_row m[M_N], int i, const char *why, char *err,
    size_t errlen)
{
	int64_t s = suggest(p, m, i);
	char    fix[600];
	if (s >= 0)
		snprintf(fix, sizeof(fix),
		    "If you know the right value, set it with: sqlite3 %s \"UPDATE meta SET value = %lld "
		    "WHERE key = '%s'\" (%lld is what the rest of the file suggests; check it first, "
		    "docs/persistence.md, \"Damaged meta rows\"), ",
		    path_of(p), (long long)s, meta_keys[i], (long long)s);
	else
		snprintf(fix, sizeof(fix),
		    "If you know the right value, set it with: sqlite3 %s \"UPDATE meta SET value = N "
		    "WHERE key = '%s'\" (docs/persistence.md, \"Damaged meta rows\"), ",
		    path_of(p), meta_keys[i]);
	return mpsp__fail(err, errlen, E_SCHEMA,
	    "%s is damaged: meta row '%s' %s. mpstored changed nothing in the file and will not "
	    "start on it. %sor start from a backup (one made with `mpstore backup NAME`)",
	    path_of(p), meta_keys[i], why, fix);
}

/* The snapshot's range: complete, nothing below it. */
static int check_snapshot(mpsp *p, const meta_row m[M_N], char *err, size_t errlen)
{
	int64_t first = m[M_SNAP_FIRST].v, last = m[M_SNAP_LAST].v, n = 0;
	char    why[300];
	int     rv;
	if (first < 1) {
		snprintf(why, sizeof(why), "is 0; snapshot row numbers start at 1");
		return bad_row(p, m, M_SNAP_FIRST, why, err, errlen);
	}
	if (last < first - 1) {
		snprintf(why, sizeof(why), "is %lld, below snapshot_first - 1 (%lld)", (long long)last,
		    (long long)(first - 1));
		return bad_row(p, m, M_SNAP_LAST, why, err, errlen);
	}
	/* no row lies below the range: every snapshot deletes the rows of the
	 * one before it */
	if ((rv = mpsp__query_i64(p, "SELECT count(*) FROM snapshot WHERE seq < ?1", first, 0, &n,
	         err, errlen)) != 0)
		return rv;
	if (n > 0) {
		snprintf(why, sizeof(why),
		    "is %lld, but %lld snapshot rows lie below it (no snapshot leaves any)",
		    (long long)first, (long long)n);
		return bad_row(p, m, M_SNAP_FIRST, why, err, errlen);
	}
	/* every row of the range exists (rows above it are an interrupted
	 * snapshot's, which open.c removes) */
	if ((rv = mpsp__query_i64(p, "SELECT count(*) FROM snapshot WHERE seq BETWEEN ?1 AND ?2",
	         first, last, &n, err, errlen)) != 0)
		return rv;
	if (n != last - first + 1) {
		snprintf(why, sizeof(why),
		    "is %lld: from snapshot_first (%lld) that names %lld snapshot rows, but only %lld of "
		    "them exist",
		    (long long)last, (long long)first, (long long)(last - first + 1), (long long)n);
		return bad_row(p, m, M_SNAP_LAST, why, err, errlen);
	}
	return 0;
}

/* The log continues the snapshot: nothing compacted without a snapshot,
 * nothing kept that recovery would skip, no row it could not place. */
static int check_log(mpsp *p, const meta_row m[M_N], char *err, size_t errlen)
{
	int64_t rev = m[M_SNAP_REV].v, n = 0, lo = 0, hi = 0;
	int     rv;
	if (m[M_LOG_FLOOR].v != rev) {
		mpsp__query_i64(p, "SELECT min(rev_lo) FROM log", 0, 0, &lo, NULL, 0);
		return mpsp__fail(err, errlen, E_SCHEMA,
		    "%s is damaged: meta rows 'snapshot_rev' (%lld) and 'log_floor' (%lld) differ, but "
		    "every snapshot sets both to its revision (the log's lowest revision is %lld: the "
		    "snapshot's is below it). mpstored changed nothing in the file and will not start "
		    "on it. Set the wrong one to the other's value: sqlite3 %s \"UPDATE meta SET value = "
		    "%lld WHERE key = 'log_floor'\" or sqlite3 %s \"UPDATE meta SET value = %lld WHERE "
		    "key = 'snapshot_rev'\" (docs/persistence.md, \"Damaged meta rows\"), or start from "
		    "a backup",
		    path_of(p), (long long)rev, (long long)m[M_LOG_FLOOR].v, (long long)lo, path_of(p),
		    (long long)rev, path_of(p), (long long)m[M_LOG_FLOOR].v);
	}
	if ((rv = mpsp__query_i64(p,
	         "SELECT seq FROM log WHERE typeof(rev_lo) != 'integer' OR typeof(rev_hi) != 'integer'"
	         " OR rev_lo < 0 OR rev_hi < rev_lo ORDER BY seq LIMIT 1",
	         0, 0, &n, err, errlen)) != 0)
		return rv;
	if (n > 0)
		return mpsp__fail(err, errlen, E_SCHEMA,
		    "%s is damaged: log row seq %lld has impossible revisions (rev_lo, rev_hi); "
		    "mpstored changed nothing in the file and will not start on it. See it with: "
		    "sqlite3 %s \"SELECT seq, rev_lo, rev_hi, n FROM log WHERE seq = %lld\"; its "
		    "records give the right values (view log_records, docs/persistence.md), or start "
		    "from a backup",
		    path_of(p), (long long)n, path_of(p), (long long)n);
	if ((rv = mpsp__query_i64(p, "SELECT count(*) FROM log WHERE rev_hi <= ?1", rev, 0, &n, err,
	         errlen)) != 0 ||
	    (rv = mpsp__query_i64(p, "SELECT max(rev_hi) FROM log WHERE rev_hi <= ?1", rev, 0, &hi,
	         err, errlen)) != 0)
		return rv;
	if (n == 0)
		return 0;
	mpsp__query_i64(p, "SELECT min(rev_lo) FROM log", 0, 0, &lo, NULL, 0);
	return mpsp__fail(err, errlen, E_SCHEMA,
	    "%s is damaged: meta row 'snapshot_rev' is %lld, but %lld log rows end at or below it "
	    "(up to revision %lld): a snapshot removes those, so recovery would skip their changes. "
	    "mpstored changed nothing in the file and will not start on it. Set snapshot_rev and "
	    "log_floor back to the snapshot's revision, normally the log's first revision minus one: "
	    "sqlite3 %s \"UPDATE meta SET value = %lld WHERE key IN ('snapshot_rev', 'log_floor')\" "
	    "(docs/persistence.md, \"Damaged meta rows\"), or start from a backup",
	    path_of(p), (long long)rev, (long long)n, (long long)hi, path_of(p),
	    (long long)(lo > 0 ? lo - 1 : 0));
}

int mpsp__meta_load(mpsp *p, char *err, size_t errlen)
{
	meta_row m[M_N];
	char     why[300];
	int      rv;
	if ((rv = read_rows(p, m, err, errlen)) != 0)
		return rv;
	for (int i = 0; i < M_N; i++) {
		if (!m[i].found)
			return mpsp__fail(err, errlen, E_SCHEMA,
			    "%s is damaged: meta key '%s' is missing. mpstored changed nothing in the file; "
			    "start from a backup, or add the row with sqlite3 %s \"INSERT INTO meta(key, "
			    "value) VALUES ('%s', N)\" (docs/persistence.md, \"Damaged meta rows\")",
			    path_of(p), meta_keys[i], path_of(p), meta_keys[i]);
		if (!m[i].ok) {
			snprintf(why, sizeof(why), "holds %s, not a whole number >= 0", m[i].text);
			return bad_row(p, m, i, why, err, errlen);
		}
	}
	if (m[M_FORMAT].v != p->format) {
		snprintf(why, sizeof(why), "holds %lld, but the file's user_version is %d",
		    (long long)m[M_FORMAT].v, p->format);
		return bad_row(p, m, M_FORMAT, why, err, errlen);
	}
	if ((rv = check_snapshot(p, m, err, errlen)) != 0 || (rv = check_log(p, m, err, errlen)) != 0)
		return rv;
	p->token = (uint64_t)m[M_TOKEN].v;
	p->snap_rev = (uint64_t)m[M_SNAP_REV].v;
	p->snap_token = (uint64_t)m[M_SNAP_TOKEN].v;
	p->snap_first = (uint64_t)m[M_SNAP_FIRST].v;
	p->snap_last = (uint64_t)m[M_SNAP_LAST].v;
	p->log_floor = (uint64_t)m[M_LOG_FLOOR].v;
	return 0;
}
