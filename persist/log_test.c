/*
 * log_test.c - group-commit append, recovery order, log_read, revision
 * checks, and a full disk.
 */
#include "test_util.h"

#include <time.h>

static char err[512];

static void
test_append_recover_order(void **state)
{
	char *dir = tu_tmpdir(), *path = tu_path(dir, "m.db");
	mpsp *p;
	OK_ERR(mpsp_open(&p, path, MPSP_LOG, err, sizeof(err)));
	mpsp_rec b1[] = { tu_rec(1, "jobs", "create"), tu_rec(2, "jobs", "a1") };
	/* a transaction: two records share revision 3 */
	mpsp_rec b2[] = { tu_rec(3, "jobs", "a2"), tu_rec(3, "d", "set"), tu_rec(4, "zeta", "z") };
	OK_ERR(mpsp_log_append(p, b1, 2, 1, NULL, 0, NULL, 0, err, sizeof(err)));
	OK_ERR(mpsp_log_append(p, b2, 3, 5, NULL, 0, NULL, 0, err, sizeof(err)));
	OK_ERR(mpsp_log_append(p, NULL, 0, 9, NULL, 0, NULL, 0, err, sizeof(err))); /* token only */

	/* out of order: refused, nothing written */
	mpsp_rec bad[] = { tu_rec(5, "x", "ok"), tu_rec(4, "x", "back") };
	assert_int_equal(mpsp_log_append(p, bad, 2, 9, NULL, 0, NULL, 0, err, sizeof(err)), MPSTORE__STATUS__ERR_INVALID);
	assert_non_null(strstr(err, "out of order"));
	mpsp_stats st;
	OK_ERR(mpsp_stats_get(p, &st, err, sizeof(err)));
	assert_int_equal(st.log_rows, 5);
	assert_int_equal(st.last_rev, 4);
	assert_true(st.file_bytes > 0);
	mpsp_close(p);

	tu_recs  got = { 0 };
	uint64_t last, token;
	OK_ERR(mpsp_open(&p, path, MPSP_LOG, err, sizeof(err)));
	OK_ERR(mpsp_recover(p, tu_collect_cb, &got, &last, &token, err, sizeof(err)));
	assert_int_equal(got.n, 5);
	assert_string_equal(got.s[0], "1 jobs 2 create");
	assert_string_equal(got.s[1], "2 jobs 2 a1");
	assert_string_equal(got.s[2], "3 jobs 2 a2");
	assert_string_equal(got.s[3], "3 d 2 set");
	assert_string_equal(got.s[4], "4 zeta 2 z");
	assert_int_equal(last, 4);
	assert_int_equal(token, 9);
	/* appends continue after recovery; revision 4 again is allowed (same txn), 3 is not */
	mpsp_rec r3 = tu_rec(3, "x", "old");
	assert_int_equal(mpsp_log_append(p, &r3, 1, 9, NULL, 0, NULL, 0, err, sizeof(err)), MPSTORE__STATUS__ERR_INVALID);
	mpsp_rec r5 = tu_rec(5, "x", "new");
	OK_ERR(mpsp_log_append(p, &r5, 1, 9, NULL, 0, NULL, 0, err, sizeof(err)));
	mpsp_close(p);
	tu_recs_free(&got);
	free(path);
	tu_rmdir(dir);
}

/* mpsp_wal_sync: syncs the WAL by path (and the directory, once); a WAL
 * removed from under the handle is ERR_IO. */
static void
test_wal_sync(void **state)
{
	char *dir = tu_tmpdir(), *path = tu_path(dir, "m.db"), *wal = tu_path(dir, "m.db-wal");
	mpsp *p;
	OK_ERR(mpsp_open(&p, path, MPSP_LOG, err, sizeof(err)));
	mpsp_rec r1 = tu_rec(1, "a", "one");
	OK_ERR(mpsp_log_append(p, &r1, 1, 0, NULL, 0, NULL, 0, err, sizeof(err)));
	assert_true(tu_exists(wal));
	assert_int_equal(p->dir_synced, 0);
	OK_ERR(mpsp_wal_sync(p, err, sizeof(err)));
	assert_int_equal(p->dir_synced, 1);
	OK_ERR(mpsp_wal_sync(p, err, sizeof(err)));

	assert_int_equal(unlink(wal), 0);
	mpsp_rec r2 = tu_rec(2, "a", "two");
	OK_ERR(mpsp_log_append(p, &r2, 1, 0, NULL, 0, NULL, 0, err, sizeof(err))); /* SQLite does not notice */
	assert_int_equal(mpsp_wal_sync(p, err, sizeof(err)), MPSTORE__STATUS__ERR_IO);
	assert_non_null(strstr(err, "m.db-wal"));
	mpsp_close(p);

	mpsp *m;
	OK_ERR(mpsp_open(&m, ":memory:", MPSP_LOG, err, sizeof(err)));
	OK_ERR(mpsp_wal_sync(m, err, sizeof(err))); /* nothing to sync */
	mpsp_close(m);
	free(wal);
	free(path);
	tu_rmdir(dir);
}

static int
stop_at_two(void *arg, const mpsp_rec *r)
{
	int *n = arg;
	return ++*n == 2 ? MPSTORE__STATUS__ERR_ABORTED : 0;
}

static void
test_log_read(void **state)
{
	char *dir = tu_tmpdir(), *path = tu_path(dir, "m.db");
	mpsp *p;
	char  name[16], data[16];
	OK_ERR(mpsp_open(&p, path, MPSP_LOG, err, sizeof(err)));
	for (uint64_t i = 1; i <= 20; i++) {
		snprintf(name, sizeof(name), "c%llu", (unsigned long long)(i % 3));
		snprintf(data, sizeof(data), "v%llu", (unsigned long long)i);
		mpsp_rec r = tu_rec(i, name, data);
		OK_ERR(mpsp_log_append(p, &r, 1, 0, NULL, 0, NULL, 0, err, sizeof(err)));
	}
	tu_recs got = { 0 };
	OK_ERR(mpsp_log_read(p, 15, tu_collect_cb, &got, err, sizeof(err)));
	assert_int_equal(got.n, 6);
	assert_string_equal(got.s[0], "15 c0 2 v15");
	assert_string_equal(got.s[5], "20 c2 2 v20");
	tu_recs_free(&got);
	OK_ERR(mpsp_log_read(p, 21, tu_collect_cb, &got, err, sizeof(err)));
	assert_int_equal(got.n, 0);
	/* a revision past SQLite's signed integers: nothing, not everything */
	OK_ERR(mpsp_log_read(p, UINT64_MAX, tu_collect_cb, &got, err, sizeof(err)));
	assert_int_equal(got.n, 0);
	OK_ERR(mpsp_log_read(p, (uint64_t)INT64_MAX + 1, tu_collect_cb, &got, err, sizeof(err)));
	assert_int_equal(got.n, 0);
	OK_ERR(mpsp_log_read(p, 0, tu_collect_cb, &got, err, sizeof(err)));
	assert_int_equal(got.n, 20);
	tu_recs_free(&got);
	int n = 0;
	assert_int_equal(mpsp_log_read(p, 1, stop_at_two, &n, err, sizeof(err)), MPSTORE__STATUS__ERR_ABORTED);

	/* snapshot at 10 compacts revisions <= 10 */
	OK_ERR(mpsp_snapshot_begin(p, 10, 0, err, sizeof(err)));
	mpsp_rec s = tu_rec(0, "c0", "state");
	OK_ERR(mpsp_snapshot_put(p, &s, 1, err, sizeof(err)));
	OK_ERR(mpsp_snapshot_end(p, 1, err, sizeof(err)));
	assert_int_equal(mpsp_log_read(p, 10, tu_collect_cb, &got, err, sizeof(err)), MPSTORE__STATUS__ERR_COMPACTED);
	assert_non_null(strstr(err, "compacted"));
	assert_int_equal(mpsp_log_read(p, 3, tu_collect_cb, &got, err, sizeof(err)), MPSTORE__STATUS__ERR_COMPACTED);
	OK_ERR(mpsp_log_read(p, 11, tu_collect_cb, &got, err, sizeof(err)));
	assert_int_equal(got.n, 10);
	tu_recs_free(&got);
	mpsp_close(p);

	/* the floor survives a restart */
	OK_ERR(mpsp_open(&p, path, MPSP_LOG, err, sizeof(err)));
	assert_int_equal(mpsp_log_read(p, 10, tu_collect_cb, &got, err, sizeof(err)), MPSTORE__STATUS__ERR_COMPACTED);
	OK_ERR(mpsp_log_read(p, 11, tu_collect_cb, &got, err, sizeof(err)));
	assert_int_equal(got.n, 10);
	tu_recs_free(&got);
	mpsp_close(p);
	free(path);
	tu_rmdir(dir);
}

static void
test_snapshot_mode_keeps_no_log(void **state)
{
	char *dir = tu_tmpdir(), *path = tu_path(dir, "m.db");
	mpsp *p;
	OK_ERR(mpsp_open(&p, path, MPSP_SNAPSHOT, err, sizeof(err)));
	mpsp_rec r[] = { tu_rec(1, "a", "x"), tu_rec(2, "a", "y") };
	OK_ERR(mpsp_log_append(p, r, 2, 4, NULL, 0, NULL, 0, err, sizeof(err)));
	mpsp_stats st;
	OK_ERR(mpsp_stats_get(p, &st, err, sizeof(err)));
	assert_int_equal(st.log_rows, 0);
	assert_int_equal(st.last_rev, 2);
	tu_recs got = { 0 };
	assert_int_equal(mpsp_log_read(p, 2, tu_collect_cb, &got, err, sizeof(err)), MPSTORE__STATUS__ERR_COMPACTED);
	OK_ERR(mpsp_log_read(p, 3, tu_collect_cb, &got, err, sizeof(err)));
	OK_ERR(mpsp_snapshot_begin(p, 2, 4, err, sizeof(err)));
	mpsp_rec s = tu_rec(0, "a", "state-at-2");
	OK_ERR(mpsp_snapshot_put(p, &s, 1, err, sizeof(err)));
	OK_ERR(mpsp_snapshot_end(p, 1, err, sizeof(err)));
	mpsp_rec r3 = tu_rec(3, "a", "lost");
	OK_ERR(mpsp_log_append(p, &r3, 1, 5, NULL, 0, NULL, 0, err, sizeof(err)));
	mpsp_close(p);

	uint64_t last, token;
	OK_ERR(mpsp_open(&p, path, MPSP_SNAPSHOT, err, sizeof(err)));
	OK_ERR(mpsp_recover(p, tu_collect_cb, &got, &last, &token, err, sizeof(err)));
	assert_int_equal(got.n, 1);
	assert_string_equal(got.s[0], "2 a 2 state-at-2");
	assert_int_equal(last, 2);
	assert_int_equal(token, 4);
	mpsp_close(p);
	tu_recs_free(&got);
	free(path);
	tu_rmdir(dir);
}

static void
test_disk_full(void **state)
{
	char *dir = tu_tmpdir(), *path = tu_path(dir, "full.db");
	mpsp *p;
	OK_ERR(mpsp_open(&p, path, MPSP_LOG, err, sizeof(err)));
	assert_int_equal(sqlite3_exec(mpsp__db(p), "PRAGMA max_page_count = 64", NULL, NULL, NULL), SQLITE_OK);
	static uint8_t blob[8000];
	uint64_t       rev = 0;
	int            rv  = 0;
	while (rv == 0 && rev < 1000) {
		memset(blob, (int)(rev + 1), sizeof(blob));
		mpsp_rec r[2] = { { rev + 1, "big", 2, blob, sizeof(blob) }, { rev + 2, "big", 2, blob, sizeof(blob) } };
		rv = mpsp_log_append(p, r, 2, rev + 2, NULL, 0, NULL, 0, err, sizeof(err));
		if (rv == 0)
			rev += 2;
	}
	assert_int_equal(rv, MPSTORE__STATUS__ERR_IO);
	assert_non_null(strstr(err, "disk full"));
	assert_non_null(strstr(err, path));
	assert_true(rev > 0);
	mpsp_stats st;
	OK_ERR(mpsp_stats_get(p, &st, err, sizeof(err)));
	assert_int_equal(st.last_rev, rev);
	assert_int_equal(st.log_rows, rev);

	/* a snapshot that does not fit fails whole; the old state stays */
	OK_ERR(mpsp_snapshot_begin(p, rev, 0, err, sizeof(err)));
	int prv = 0;
	for (int i = 0; i < 200 && prv == 0; i++) {
		mpsp_rec s = { 0, "big", 2, blob, sizeof(blob) };
		prv = mpsp_snapshot_put(p, &s, 1, err, sizeof(err));
		if (prv == 0 && i % 10 == 9) /* appends commit the pending batch */
			prv = mpsp_log_append(p, NULL, 0, rev + 100 + (uint64_t)i, NULL, 0, NULL, 0, err, sizeof(err));
	}
	assert_int_equal(prv, MPSTORE__STATUS__ERR_IO);
	assert_int_equal(mpsp_snapshot_end(p, 1, err, sizeof(err)), MPSTORE__STATUS__ERR_IO);

	/* room again: writes work, nothing was half-written */
	assert_int_equal(sqlite3_exec(mpsp__db(p), "PRAGMA max_page_count = 1000000", NULL, NULL, NULL), SQLITE_OK);
	mpsp_rec r = { rev + 1, "big", 2, blob, 10 };
	OK_ERR(mpsp_log_append(p, &r, 1, 0, NULL, 0, NULL, 0, err, sizeof(err)));
	mpsp_close(p);

	tu_recs got = { 0 };
	uint64_t last;
	OK_ERR(mpsp_open(&p, path, MPSP_LOG, err, sizeof(err)));
	OK_ERR(mpsp_recover(p, tu_collect_cb, &got, &last, NULL, err, sizeof(err)));
	assert_int_equal(got.n, rev + 1);
	assert_int_equal(last, rev + 1);
	mpsp_stats st2;
	OK_ERR(mpsp_stats_get(p, &st2, err, sizeof(err)));
	assert_int_equal(st2.snapshot_rev, 0);
	assert_int_equal(st2.snapshot_rows, 0);
	mpsp_close(p);
	tu_recs_free(&got);
	free(path);
	tu_rmdir(dir);
}

/* One integer from SQL on the handle's own connection. */
static long long
sql_int(mpsp *p, const char *sql)
{
	sqlite3_stmt *s;
	long long     v = -1;
	assert_int_equal(sqlite3_prepare_v2(mpsp__db(p), sql, -1, &s, NULL), SQLITE_OK);
	if (sqlite3_step(s) == SQLITE_ROW)
		v = sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	return v;
}

/* log_records (the SQL view) as "rev name kind data" strings, like tu_collect_cb. */
static void
view_records(mpsp *p, tu_recs *out)
{
	sqlite3_stmt *s;
	assert_int_equal(sqlite3_prepare_v2(mpsp__db(p), "SELECT rev, name, kind, change FROM log_records",
	                     -1, &s, NULL),
	    SQLITE_OK);
	while (sqlite3_step(s) == SQLITE_ROW) {
		const void *d = sqlite3_column_blob(s, 3);
		mpsp_rec    r = { (uint64_t)sqlite3_column_int64(s, 0), (const char *)sqlite3_column_text(s, 1),
			   sqlite3_column_int(s, 2), d, (size_t)sqlite3_column_bytes(s, 3) };
		tu_collect_cb(out, &r);
	}
	sqlite3_finalize(s);
}

static void
assert_same(const tu_recs *a, const tu_recs *b)
{
	assert_int_equal(a->n, b->n);
	for (size_t i = 0; i < a->n; i++)
		assert_string_equal(a->s[i], b->s[i]);
}

/* One row per append; every field survives: multi-byte varints, long
 * names and data, empty data, any kind; the SQL view decodes the same. */
static void
test_batch_rows(void **state)
{
	char *dir = tu_tmpdir(), *path = tu_path(dir, "m.db");
	mpsp *p;
	OK_ERR(mpsp_open(&p, path, MPSP_LOG, err, sizeof(err)));
	char longname[300], longdata[1000];
	memset(longname, 'n', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	for (size_t i = 0; i < sizeof(longdata) - 1; i++)
		longdata[i] = (char)('a' + i % 26);
	longdata[sizeof(longdata) - 1] = '\0';
	mpsp_rec b1[] = { tu_rec(1, "a", "x"), tu_rec(127, "b", ""), tu_rec(128, longname, "y"),
		tu_rec(128, "c", longdata) };
	b1[1].kind = 0;
	b1[2].kind = 300;
	b1[3].kind = 7;
	mpsp_rec b2[] = { tu_rec(1ull << 35, "big", "rev"), tu_rec((1ull << 62) + 5, "huge", "rev2") };
	OK_ERR(mpsp_log_append(p, b1, 4, 1, NULL, 0, NULL, 0, err, sizeof(err)));
	OK_ERR(mpsp_log_append(p, b2, 2, 2, NULL, 0, NULL, 0, err, sizeof(err)));
	assert_int_equal(sql_int(p, "SELECT count(*) FROM log"), 2);
	assert_int_equal(sql_int(p, "SELECT sum(n) FROM log"), 6);
	assert_int_equal(sql_int(p, "SELECT rev_lo FROM log WHERE seq = 1"), 1);
	assert_int_equal(sql_int(p, "SELECT rev_hi FROM log WHERE seq = 1"), 128);
	assert_int_equal(sql_int(p, "SELECT bytes FROM log WHERE seq = 1"), 1 + 0 + 1 + 999);
	mpsp_stats st;
	OK_ERR(mpsp_stats_get(p, &st, err, sizeof(err)));
	assert_int_equal(st.log_rows, 6);
	assert_int_equal(st.log_batches, 2);
	assert_int_equal(st.log_bytes, 1 + 0 + 1 + 999 + 3 + 4);
	tu_recs view = { 0 };
	view_records(p, &view);
	mpsp_close(p);

	tu_recs got = { 0 };
	OK_ERR(mpsp_open(&p, path, MPSP_LOG, err, sizeof(err)));
	OK_ERR(mpsp_recover(p, tu_collect_cb, &got, NULL, NULL, err, sizeof(err)));
	assert_int_equal(got.n, 6);
	assert_string_equal(got.s[0], "1 a 2 x");
	assert_string_equal(got.s[1], "127 b 0 ");
	assert_int_equal(strlen(got.s[2]), strlen("128  300 y") + strlen(longname));
	assert_non_null(strstr(got.s[3], "128 c 7 abcdefghijklmnopqrstuvwxyzabc"));
	assert_string_equal(got.s[4], "34359738368 big 2 rev");
	assert_string_equal(got.s[5], "4611686018427387909 huge 2 rev2");
	assert_same(&got, &view);
	OK_ERR(mpsp_stats_get(p, &st, err, sizeof(err)));
	assert_int_equal(st.log_rows, 6);
	assert_int_equal(st.log_batches, 2);
	assert_int_equal(st.last_rev, (1ull << 62) + 5);
	mpsp_close(p);
	tu_recs_free(&got);
	tu_recs_free(&view);
	free(path);
	tu_rmdir(dir);
}

/* A snapshot inside a row's revisions keeps the row; readers skip its
 * older records, counters count only the newer ones (also after reopen). */
static void
test_straddling_row(void **state)
{
	char *dir = tu_tmpdir(), *path = tu_path(dir, "m.db");
	mpsp *p;
	char  data[16];
	OK_ERR(mpsp_open(&p, path, MPSP_LOG, err, sizeof(err)));
	for (uint64_t rev = 1; rev <= 30; rev += 10) {
		mpsp_rec r[10];
		char     d[10][24];
		for (int i = 0; i < 10; i++) {
			snprintf(d[i], sizeof(d[i]), "v%llu", (unsigned long long)rev + (unsigned)i);
			r[i] = tu_rec(rev + (uint64_t)i, "c", d[i]);
		}
		OK_ERR(mpsp_log_append(p, r, 10, 0, NULL, 0, NULL, 0, err, sizeof(err)));
	}
	OK_ERR(mpsp_snapshot_begin(p, 15, 0, err, sizeof(err)));
	mpsp_rec s = tu_rec(0, "c", "state-15");
	OK_ERR(mpsp_snapshot_put(p, &s, 1, err, sizeof(err)));
	OK_ERR(mpsp_snapshot_end(p, 1, err, sizeof(err)));
	/* rows 1..10 gone; 11..20 kept (straddles 15); 21..30 kept */
	assert_int_equal(sql_int(p, "SELECT count(*) FROM log"), 2);
	assert_int_equal(sql_int(p, "SELECT min(rev_lo) FROM log"), 11);
	assert_int_equal(sql_int(p, "SELECT log_records FROM containers WHERE name = 'c'"), 15);
	for (int reopen = 0; reopen < 2; reopen++) {
		mpsp_stats st;
		OK_ERR(mpsp_stats_get(p, &st, err, sizeof(err)));
		assert_int_equal(st.log_rows, 15);
		assert_int_equal(st.log_batches, 2);
		assert_int_equal(st.log_bytes, 15 * 3);
		assert_int_equal(st.log_floor, 15);
		tu_recs got = { 0 };
		assert_int_equal(mpsp_log_read(p, 15, tu_collect_cb, &got, err, sizeof(err)),
		    MPSTORE__STATUS__ERR_COMPACTED);
		OK_ERR(mpsp_log_read(p, 16, tu_collect_cb, &got, err, sizeof(err)));
		assert_int_equal(got.n, 15);
		assert_string_equal(got.s[0], "16 c 2 v16");
		tu_recs_free(&got);
		OK_ERR(mpsp_log_read(p, 18, tu_collect_cb, &got, err, sizeof(err)));
		assert_int_equal(got.n, 13);
		assert_string_equal(got.s[0], "18 c 2 v18");
		assert_string_equal(got.s[12], "30 c 2 v30");
		tu_recs_free(&got);
		mpsp_close(p);
		OK_ERR(mpsp_open(&p, path, MPSP_LOG, err, sizeof(err)));
		uint64_t last;
		OK_ERR(mpsp_recover(p, tu_collect_cb, &got, &last, NULL, err, sizeof(err)));
		assert_int_equal(got.n, 1 + 15);
		assert_string_equal(got.s[0], "15 c 2 state-15");
		assert_string_equal(got.s[1], "16 c 2 v16");
		assert_int_equal(last, 30);
		tu_recs_free(&got);
		view_records(p, &got);
		assert_int_equal(got.n, 15);
		tu_recs_free(&got);
	}
	/* the next snapshot past the row removes it */
	snprintf(data, sizeof(data), "state-25");
	OK_ERR(mpsp_snapshot_begin(p, 25, 0, err, sizeof(err)));
	s = tu_rec(0, "c", data);
	OK_ERR(mpsp_snapshot_put(p, &s, 1, err, sizeof(err)));
	OK_ERR(mpsp_snapshot_end(p, 1, err, sizeof(err)));
	assert_int_equal(sql_int(p, "SELECT count(*) FROM log"), 1);
	mpsp_stats st;
	OK_ERR(mpsp_stats_get(p, &st, err, sizeof(err)));
	assert_int_equal(st.log_rows, 5);
	mpsp_close(p);
	free(path);
	tu_rmdir(dir);
}

/* An append whose encoding passes log_row_bytes is split into rows (all in
 * one transaction); a record bigger than the limit gets a row of its own. */
static void
test_split_rows(void **state)
{
	char *dir = tu_tmpdir(), *path = tu_path(dir, "m.db");
	mpsp *p;
	OK_ERR(mpsp_open(&p, path, MPSP_LOG, err, sizeof(err)));
	p->log_row_bytes = 100;
	static char big[500];
	memset(big, 'B', sizeof(big) - 1);
	mpsp_rec r[12];
	char     d[12][40];
	for (int i = 0; i < 12; i++) {
		snprintf(d[i], sizeof(d[i]), "data-%02d-xxxxxxxxxxxxx", i);
		r[i] = tu_rec(1 + (uint64_t)i / 2, "c", i == 5 ? big : d[i]);
	}
	OK_ERR(mpsp_log_append(p, r, 12, 0, NULL, 0, NULL, 0, err, sizeof(err)));
	long long rows = sql_int(p, "SELECT count(*) FROM log");
	assert_true(rows >= 4);
	assert_int_equal(sql_int(p, "SELECT sum(n) FROM log"), 12);
	assert_int_equal(sql_int(p, "SELECT count(*) FROM log WHERE length(recs) > 100"), 1);
	mpsp_stats st;
	OK_ERR(mpsp_stats_get(p, &st, err, sizeof(err)));
	assert_int_equal(st.log_batches, rows);
	assert_int_equal(st.log_rows, 12);
	tu_recs got = { 0 };
	OK_ERR(mpsp_log_read(p, 1, tu_collect_cb, &got, err, sizeof(err)));
	assert_int_equal(got.n, 12);
	for (int i = 0; i < 12; i++) {
		char want[600];
		snprintf(want, sizeof(want), "%d c 2 %s", 1 + i / 2, i == 5 ? big : d[i]);
		assert_string_equal(got.s[i], want);
	}
	tu_recs_free(&got);
	mpsp_close(p);
	free(path);
	tu_rmdir(dir);
}

static int
count_only(void *arg, const mpsp_rec *r)
{
	(*(int *)arg)++;
	assert_non_null(r->name);
	return 0;
}

/* Damaged rows: every truncation, wrong counts, random bytes. Reads give
 * ERR_IO naming the row (or, for damage the format cannot see, records),
 * never a crash or a read outside the blob (run under ASan/valgrind). */
static void
test_corrupt_rows(void **state)
{
	char *dir = tu_tmpdir(), *path = tu_path(dir, "m.db");
	mpsp *p;
	OK_ERR(mpsp_open(&p, path, MPSP_LOG, err, sizeof(err)));
	mpsp_rec r[] = { tu_rec(200, "alpha", "one"), tu_rec(300, "beta", "two-two"),
		tu_rec(70000, "gamma", "three") };
	OK_ERR(mpsp_log_append(p, r, 3, 0, NULL, 0, NULL, 0, err, sizeof(err)));
	long long len = sql_int(p, "SELECT length(recs) FROM log");
	assert_true(len > 20);
	assert_int_equal(sqlite3_exec(mpsp__db(p), "CREATE TEMP TABLE orig AS SELECT * FROM log",
	                     NULL, NULL, NULL),
	    SQLITE_OK);
	char sql[512];
	int  n;
	/* every truncation, from the empty blob on */
	for (long long k = 0; k < len; k++) {
		snprintf(sql, sizeof(sql),
		    "UPDATE log SET recs = (SELECT substr(recs, 1, %lld) FROM orig)", k);
		assert_int_equal(sqlite3_exec(mpsp__db(p), sql, NULL, NULL, NULL), SQLITE_OK);
		n = 0;
		err[0] = '\0';
		assert_int_equal(mpsp_log_read(p, 1, count_only, &n, err, sizeof(err)), MPSTORE__STATUS__ERR_IO);
		assert_int_equal(n, 0); /* nothing of a bad row is handed out */
		assert_non_null(strstr(err, "log row seq 1 of"));
		assert_non_null(strstr(err, "corrupt"));
	}
	/* counts and revisions that do not match the blob */
	static const char *const bad[] = {
		"UPDATE log SET n = 2", "UPDATE log SET n = 4", "UPDATE log SET bytes = 14",
		"UPDATE log SET rev_lo = 199", "UPDATE log SET rev_hi = 70001",
		"UPDATE log SET recs = recs || x'00'", "UPDATE log SET n = 0",
		"UPDATE log SET recs = x'ffffffffffffffffffffff'",
		"UPDATE log SET recs = x'c80100ffffffffffffffffff01'",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(sqlite3_exec(mpsp__db(p), "DELETE FROM log; INSERT INTO log SELECT * FROM orig",
		                     NULL, NULL, NULL),
		    SQLITE_OK);
		assert_int_equal(sqlite3_exec(mpsp__db(p), bad[i], NULL, NULL, NULL), SQLITE_OK);
		n = 0;
		assert_int_equal(mpsp_log_read(p, 1, count_only, &n, err, sizeof(err)), MPSTORE__STATUS__ERR_IO);
		assert_int_equal(n, 0);
		assert_non_null(strstr(err, "log row seq 1"));
	}
	/* random bytes: anything but a crash; errors name the row */
	srand(7);
	for (int t = 0; t < 2000; t++) {
		long long pos = 1 + rand() % len;
		snprintf(sql, sizeof(sql),
		    "DELETE FROM log; INSERT INTO log SELECT * FROM orig;"
		    "UPDATE log SET recs = substr(recs, 1, %lld) || randomblob(%d) || substr(recs, %lld)",
		    pos - 1, 1 + rand() % 3, pos + 1 + rand() % 3);
		assert_int_equal(sqlite3_exec(mpsp__db(p), sql, NULL, NULL, NULL), SQLITE_OK);
		n = 0;
		int rv = mpsp_log_read(p, 1, count_only, &n, err, sizeof(err));
		if (rv != 0) {
			assert_int_equal(rv, MPSTORE__STATUS__ERR_IO);
			assert_non_null(strstr(err, "log row seq 1"));
			assert_int_equal(n, 0);
		} else
			assert_int_equal(n, 3);
	}
	/* recovery reports it too; the view does not crash on it */
	assert_int_equal(sqlite3_exec(mpsp__db(p), "UPDATE log SET n = 9", NULL, NULL, NULL), SQLITE_OK);
	tu_recs got = { 0 };
	view_records(p, &got);
	tu_recs_free(&got);
	mpsp_close(p);
	OK_ERR(mpsp_open(&p, path, MPSP_LOG, err, sizeof(err)));
	assert_int_equal(mpsp_recover(p, tu_collect_cb, &got, NULL, NULL, err, sizeof(err)), MPSTORE__STATUS__ERR_IO);
	assert_non_null(strstr(err, "log row seq 1"));
	assert_non_null(strstr(err, path));
	assert_int_equal(got.n, 0);
	mpsp_close(p);
	free(path);
	tu_rmdir(dir);
}

typedef struct count {
	uint64_t n, bytes;
} count;

static int
count_cb(void *arg, const mpsp_rec *r)
{
	count *c = arg;
	c->n++;
	c->bytes += r->len;
	return 0;
}

static double
now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* 1,000,000 elements as the daemon writes them: a snapshot of 500 chunk
 * records of 2,000 elements (~16 bytes each), plus 100,000 log records. */
static void
test_recovery_speed(void **state)
{
	char *dir = tu_tmpdir(), *path = tu_path(dir, "speed.db");
	mpsp *p;
	OK_ERR(mpsp_open(&p, path, MPSP_LOG, err, sizeof(err)));
	static uint8_t chunk[2000 * 16];
	memset(chunk, 7, sizeof(chunk));
	OK_ERR(mpsp_snapshot_begin(p, 0, 0, err, sizeof(err)));
	for (int i = 0; i < 500; i++) {
		mpsp_rec s = { 0, "big", 2, chunk, sizeof(chunk) };
		OK_ERR(mpsp_snapshot_put(p, &s, 1, err, sizeof(err)));
	}
	OK_ERR(mpsp_snapshot_end(p, 1, err, sizeof(err)));
	double   t0 = now();
	mpsp_rec batch[100];
	uint8_t  small[40];
	memset(small, 3, sizeof(small));
	for (uint64_t rev = 1; rev <= 100000; rev += 100) {
		for (int i = 0; i < 100; i++)
			batch[i] = (mpsp_rec){ rev + (uint64_t)i, "big", 2, small, sizeof(small) };
		OK_ERR(mpsp_log_append(p, batch, 100, 0, NULL, 0, NULL, 0, err, sizeof(err)));
	}
	double t1 = now();
	mpsp_close(p);

	count c = { 0 };
	double t2 = now();
	OK_ERR(mpsp_open(&p, path, MPSP_LOG, err, sizeof(err)));
	OK_ERR(mpsp_recover(p, count_cb, &c, NULL, NULL, err, sizeof(err)));
	double t3 = now();
	mpsp_close(p);
	assert_int_equal(c.n, 500 + 100000);
	print_message("  append 100k records in 1000 batches: %.3f s; open+recover %.1f MB: %.3f s\n",
	    t1 - t0, (double)c.bytes / 1e6, t3 - t2);
	assert_true(t3 - t2 < 5.0);
	free(path);
	tu_rmdir(dir);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_append_recover_order),
		cmocka_unit_test(test_log_read),
		cmocka_unit_test(test_wal_sync),
		cmocka_unit_test(test_snapshot_mode_keeps_no_log),
		cmocka_unit_test(test_disk_full),
		cmocka_unit_test(test_batch_rows),
		cmocka_unit_test(test_straddling_row),
		cmocka_unit_test(test_split_rows),
		cmocka_unit_test(test_corrupt_rows),
		cmocka_unit_test(test_recovery_speed),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
