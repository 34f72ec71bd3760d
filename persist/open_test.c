/*
 * open_test.c - create, reopen, and refusing files that are not ours
 * without changing a byte of them; upgrading a version-1 file, only after
 * it passed the checks of its version.
 */
#include "test_util.h"

static char err[512];

static uint64_t
pragma(const char *path, const char *sql)
{
	sqlite3      *db;
	sqlite3_stmt *s;
	uint64_t      v = 0;
	assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &s, NULL), SQLITE_OK);
	if (sqlite3_step(s) == SQLITE_ROW)
		v = (uint64_t)sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	sqlite3_close(db);
	return v;
}

static void
test_create_reopen(void **state)
{
	char *dir = tu_tmpdir(), *path = tu_path(dir, "mpstore.db");
	mpsp *p;
	OK_ERR(mpsp_open(&p, path, MPSP_LOG, err, sizeof(err)));
	mpsp_rec r = tu_rec(1, "jobs", "create");
	OK_ERR(mpsp_log_append(p, &r, 1, 7, NULL, 0, NULL, 0, err, sizeof(err)));
	mpsp_close(p);
	{
		char *wal = tu_path(dir, "mpstore.db-wal");
		assert_false(tu_exists(wal)); /* checkpointed at close */
		free(wal);
	}

	assert_int_equal(pragma(path, "PRAGMA application_id"), MPSP_APPLICATION_ID);
	assert_int_equal(pragma(path, "PRAGMA user_version"), MPSP_FORMAT_VERSION);
	assert_int_equal(pragma(path, "SELECT count(*) FROM log"), 1);
	assert_int_equal(pragma(path, "SELECT count(*) FROM containers"), 1);

	uint64_t last = 0, token = 0;
	tu_recs  got  = { 0 };
	OK_ERR(mpsp_open(&p, path, MPSP_FSYNC, err, sizeof(err)));
	OK_ERR(mpsp_recover(p, tu_collect_cb, &got, &last, &token, err, sizeof(err)));
	assert_int_equal(got.n, 1);
	assert_string_equal(got.s[0], "1 jobs 2 create");
	assert_int_equal(last, 1);
	assert_int_equal(token, 7);
	mpsp_close(p);
	tu_recs_free(&got);
	free(path);
	tu_rmdir(dir);
}

static void
test_wal_mode(void **state)
{
	char *dir = tu_tmpdir(), *path = tu_path(dir, "m.db");
	mpsp *p;
	OK_ERR(mpsp_open(&p, path, MPSP_LOG, err, sizeof(err)));
	sqlite3_stmt *s;
	assert_int_equal(sqlite3_prepare_v2(mpsp__db(p), "PRAGMA journal_mode", -1, &s, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(s), SQLITE_ROW);
	assert_string_equal((const char *)sqlite3_column_text(s, 0), "wal");
	sqlite3_finalize(s);
	assert_int_equal(sqlite3_prepare_v2(mpsp__db(p), "PRAGMA synchronous", -1, &s, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(s), SQLITE_ROW);
	assert_int_equal(sqlite3_column_int(s, 0), 1); /* NORMAL */
	sqlite3_finalize(s);
	mpsp_close(p);
	free(path);
	tu_rmdir(dir);
}

static void
test_empty_file_is_created(void **state)
{
	char *dir = tu_tmpdir(), *path = tu_path(dir, "empty.db");
	tu_write_file(path, "", 0);
	mpsp *p;
	OK_ERR(mpsp_open(&p, path, MPSP_LOG, err, sizeof(err)));
	mpsp_close(p);
	assert_int_equal(pragma(path, "PRAGMA application_id"), MPSP_APPLICATION_ID);
	free(path);
	tu_rmdir(dir);
}

static void
test_memory_modes(void **state)
{
	mpsp    *p;
	tu_recs  got = { 0 };
	uint64_t last = 9;
	mpsp_rec r    = tu_rec(5, "a", "x");
	/* durability memory: nothing opened, everything a no-op */
	OK_ERR(mpsp_open(&p, NULL, MPSP_MEMORY, err, sizeof(err)));
	OK_ERR(mpsp_log_append(p, &r, 1, 3, NULL, 0, NULL, 0, err, sizeof(err)));
	OK_ERR(mpsp_snapshot_begin(p, 5, 3, err, sizeof(err)));
	OK_ERR(mpsp_snapshot_put(p, &r, 1, err, sizeof(err)));
	OK_ERR(mpsp_snapshot_end(p, 1, err, sizeof(err)));
	OK_ERR(mpsp_recover(p, tu_collect_cb, &got, &last, NULL, err, sizeof(err)));
	assert_int_equal(got.n, 0);
	assert_int_equal(mpsp_log_read(p, 1, tu_collect_cb, &got, err, sizeof(err)), MPSTORE__STATUS__ERR_COMPACTED);
	assert_int_equal(mpsp_log_read(p, 6, tu_collect_cb, &got, err, sizeof(err)), 0);
	assert_int_equal(mpsp_backup(p, "/nonexistent/x.db", err, sizeof(err)), MPSTORE__STATUS__ERR_INVALID);
	mpsp_close(p);

	/* ":memory:": a real, private database */
	OK_ERR(mpsp_open(&p, ":memory:", MPSP_LOG, err, sizeof(err)));
	OK_ERR(mpsp_log_append(p, &r, 1, 3, NULL, 0, NULL, 0, err, sizeof(err)));
	OK_ERR(mpsp_log_read(p, 1, tu_collect_cb, &got, err, sizeof(err)));
	assert_int_equal(got.n, 1);
	mpsp_close(p);
	tu_recs_free(&got);

	assert_int_equal(mpsp_open(&p, NULL, MPSP_LOG, err, sizeof(err)), MPSTORE__STATUS__ERR_INVALID);
	assert_null(p);
}

/* Open must fail with `status`, mention `needle`, and leave the file as it was. */
static void
refused(const char *dir, const char *path, int status, const char *needle)
{
	uint64_t before = tu_checksum(path);
	struct stat st0, st1;
	assert_int_equal(stat(path, &st0), 0);
	mpsp *p = (mpsp *)1;
	err[0]  = '\0';
	int rv  = mpsp_open(&p, path, MPSP_LOG, err, sizeof(err));
	if (rv != status)
		fail_msg("open %s: expected %d, got %d: %s", path, status, rv, err);
	assert_null(p);
	if (strstr(err, needle) == NULL || strstr(err, path) == NULL)
		fail_msg("message '%s' lacks '%s' or the path", err, needle);
	assert_int_equal(tu_checksum(path), before);
	assert_int_equal(stat(path, &st1), 0);
	assert_int_equal(st0.st_size, st1.st_size);
	assert_int_equal(st0.st_mtime, st1.st_mtime);
	char wal[4200];
	snprintf(wal, sizeof(wal), "%s-wal", path);
	assert_false(tu_exists(wal));
	snprintf(wal, sizeof(wal), "%s-journal", path);
	assert_false(tu_exists(wal));
	(void)dir;
}

static void
test_text_file(void **state)
{
	char *dir = tu_tmpdir(), *path = tu_path(dir, "notes.txt");
	char  text[300];
	memset(text, 'x', sizeof(text));
	memcpy(text, "my notes, not a database\n", 25);
	tu_write_file(path, text, sizeof(text));
	refused(dir, path, MPSTORE__STATUS__ERR_SCHEMA, "not a SQLite file");
	tu_write_file(path, "short\n", 6);
	refused(dir, path, MPSTORE__STATUS__ERR_SCHEMA, "not a SQLite file");
	free(path);
	tu_rmdir(dir);
}

static void
test_foreign_sqlite(void **state)
{
	char *dir = tu_tmpdir(), *path = tu_path(dir, "other.db");
	tu_sql(path, "PRAGMA application_id = 1234; CREATE TABLE t(x); INSERT INTO t VALUES (1);");
	refused(dir, path, MPSTORE__STATUS__ERR_SCHEMA, "another application");
	free(path);

	path = tu_path(dir, "plain.db");
	tu_sql(path, "CREATE TABLE log(x); INSERT INTO log VALUES (1);");
	refused(dir, path, MPSTORE__STATUS__ERR_SCHEMA, "not an mpstore database (application_id 0");
	free(path);

	/* our application_id, but someone added a table */
	path = tu_path(dir, "ours.db");
	mpsp *p;
	OK_ERR(mpsp_open(&p, path, MPSP_LOG, err, sizeof(err)));
	mpsp_close(p);
	tu_sql(path, "PRAGMA journal_mode = DELETE; CREATE TABLE extra(x);");
	refused(dir, path, MPSTORE__STATUS__ERR_SCHEMA, "foreign table extra");
	free(path);
	tu_rmdir(dir);
}

static void
test_newer_version(void **state)
{
	char *dir = tu_tmpdir(), *path = tu_path(dir, "new.db");
	mpsp *p;
	OK_ERR(mpsp_open(&p, path, MPSP_LOG, err, sizeof(err)));
	mpsp_close(p);
	char sql[100], want[40];
	snprintf(sql, sizeof(sql), "PRAGMA journal_mode = DELETE; PRAGMA user_version = %d;",
	    MPSP_FORMAT_VERSION + 1);
	snprintf(want, sizeof(want), "format version %d", MPSP_FORMAT_VERSION + 1);
	tu_sql(path, sql);
	refused(dir, path, MPSTORE__STATUS__ERR_VERSION, want);
	free(path);
	tu_rmdir(dir);
}

static void
test_read_only(void **state)
{
	char *dir = tu_tmpdir(), *path = tu_path(dir, "ro.db");
	mpsp *p;
	OK_ERR(mpsp_open(&p, path, MPSP_LOG, err, sizeof(err)));
	mpsp_close(p);
	chmod(path, 0444);
	refused(dir, path, MPSTORE__STATUS__ERR_IO, "read-only");
	chmod(path, 0644);

	chmod(dir, 0555);
	refused(dir, path, MPSTORE__STATUS__ERR_IO, "not writable");
	/* a new database in a read-only directory */
	char *np = tu_path(dir, "new.db");
	p        = (mpsp *)1;
	int rv   = mpsp_open(&p, np, MPSP_LOG, err, sizeof(err));
	if (geteuid() != 0) {
		assert_int_equal(rv, MPSTORE__STATUS__ERR_IO);
		assert_non_null(strstr(err, np));
	} else {
		/* root may create files anyway, but the mode bits still stop us */
		assert_int_equal(rv, MPSTORE__STATUS__ERR_IO);
	}
	assert_false(tu_exists(np));
	chmod(dir, 0700);
	free(np);
	free(path);
	tu_rmdir(dir);
}

static void
test_in_use(void **state)
{
	char *dir = tu_tmpdir(), *path = tu_path(dir, "busy.db");
	mpsp *p, *q = (mpsp *)1;
	OK_ERR(mpsp_open(&p, path, MPSP_LOG, err, sizeof(err)));
	assert_int_equal(mpsp_open(&q, path, MPSP_LOG, err, sizeof(err)), MPSTORE__STATUS__ERR_IO);
	assert_non_null(strstr(err, "in use"));
	assert_null(q);
	mpsp_close(p);
	OK_ERR(mpsp_open(&q, path, MPSP_LOG, err, sizeof(err)));
	mpsp_close(q);
	free(path);
	tu_rmdir(dir);
}

static void
test_corrupt(void **state)
{
	char *dir = tu_tmpdir(), *path = tu_path(dir, "bad.db");
	mpsp *p;
	OK_ERR(mpsp_open(&p, path, MPSP_LOG, err, sizeof(err)));
	static uint8_t blob[3000];
	for (uint64_t i = 1; i <= 200; i++) {
		memset(blob, (int)i, sizeof(blob));
		mpsp_rec r = { i, "big", 2, blob, sizeof(blob) };
		OK_ERR(mpsp_log_append(p, &r, 1, 0, NULL, 0, NULL, 0, err, sizeof(err)));
	}
	mpsp_close(p);
	/* scribble over everything after page 1, keep the header */
	int fd = open(path, O_WRONLY);
	assert_true(fd >= 0);
	static uint8_t junk[4096 * 20];
	memset(junk, 0xa5, sizeof(junk));
	assert_int_equal(pwrite(fd, junk, sizeof(junk), 4096), (ssize_t)sizeof(junk));
	close(fd);
	tu_recs got = { 0 };
	int     rv  = mpsp_open(&p, path, MPSP_LOG, err, sizeof(err));
	if (rv == 0) {
		rv = mpsp_recover(p, tu_collect_cb, &got, NULL, NULL, err, sizeof(err));
		mpsp_close(p);
	}
	assert_int_not_equal(rv, 0);
	assert_true(rv == MPSTORE__STATUS__ERR_IO || rv == MPSTORE__STATUS__ERR_SCHEMA);
	assert_non_null(strstr(err, path));
	tu_recs_free(&got);
	free(path);
	tu_rmdir(dir);
}

/* A current file turned into what format version 1 was (no answers
 * table, no answers column in log), holding one log record. */
static char *
make_v1(const char *dir, const char *name)
{
	char *path = tu_path(dir, name);
	mpsp *p;
	OK_ERR(mpsp_open(&p, path, MPSP_LOG, err, sizeof(err)));
	mpsp_rec r = tu_rec(1, "jobs", "create");
	OK_ERR(mpsp_log_append(p, &r, 1, 4, NULL, 0, NULL, 0, err, sizeof(err)));
	mpsp_close(p);
	tu_sql(path, "DROP TABLE answers; ALTER TABLE log DROP COLUMN answers;"
	             " UPDATE meta SET value = 1 WHERE key = 'format'; PRAGMA user_version = 1;");
	return path; /* in WAL mode, as mpstored leaves its files */
}

static void
test_upgrade_v1(void **state)
{
	char      *dir = tu_tmpdir(), *path = make_v1(dir, "v1.db");
	mpsp      *p;
	mpsp_stats st;
	assert_int_equal(pragma(path, "PRAGMA user_version"), 1);
	OK_ERR(mpsp_open(&p, path, MPSP_LOG, err, sizeof(err)));
	OK_ERR(mpsp_stats_get(p, &st, err, sizeof(err)));
	assert_int_equal(st.upgraded_from, 1);
	tu_recs  got = { 0 };
	uint64_t last = 0, token = 0;
	OK_ERR(mpsp_recover(p, tu_collect_cb, &got, &last, &token, err, sizeof(err)));
	assert_int_equal(got.n, 1);
	assert_string_equal(got.s[0], "1 jobs 2 create");
	assert_int_equal(token, 4);
	/* the new column and table work at once: an answer in a log row, one
	 * carried into the table by a snapshot */
	const mpsp_answer a = { 77, 3, (const uint8_t *)"ans", 3 }, b = { 77, 4, (const uint8_t *)"b", 1 };
	mpsp_rec          r = tu_rec(2, "jobs", "more"), r3 = tu_rec(3, "jobs", "again");
	OK_ERR(mpsp_log_append(p, &r, 1, 4, &a, 1, NULL, 0, err, sizeof(err)));
	OK_ERR(mpsp_snapshot_begin(p, 2, 4, err, sizeof(err)));
	OK_ERR(mpsp_snapshot_end(p, 1, err, sizeof(err)));
	OK_ERR(mpsp_log_append(p, &r3, 1, 4, &b, 1, NULL, 0, err, sizeof(err)));
	mpsp_close(p);
	tu_recs_free(&got);

	assert_int_equal(pragma(path, "PRAGMA user_version"), MPSP_FORMAT_VERSION);
	assert_int_equal(pragma(path, "SELECT value FROM meta WHERE key = 'format'"), MPSP_FORMAT_VERSION);
	assert_int_equal(pragma(path, "SELECT count(*) FROM answers WHERE req_id = 3"), 1);
	assert_int_equal(pragma(path, "SELECT count(*) FROM log WHERE answers NOT NULL"), 1);
	/* once upgraded, it stays so */
	OK_ERR(mpsp_open(&p, path, MPSP_LOG, err, sizeof(err)));
	OK_ERR(mpsp_stats_get(p, &st, err, sizeof(err)));
	assert_int_equal(st.upgraded_from, 0);
	mpsp_close(p);
	free(path);
	tu_rmdir(dir);
}

/* A version-1 file that fails a check of its own version is refused
 * before anything is upgraded: not a byte changes. */
static void
test_upgrade_only_after_checks(void **state)
{
	char *dir = tu_tmpdir(), *path = make_v1(dir, "foreign.db");
	tu_sql(path, "CREATE TABLE extra(x);");
	refused(dir, path, MPSTORE__STATUS__ERR_SCHEMA, "foreign table extra");
	free(path);

	/* version 1 had no answers table: one there is foreign */
	path = make_v1(dir, "early.db");
	tu_sql(path, "CREATE TABLE answers(x);");
	refused(dir, path, MPSTORE__STATUS__ERR_SCHEMA, "foreign table answers");
	free(path);

	path = make_v1(dir, "meta.db");
	tu_sql(path, "UPDATE meta SET value = 2 WHERE key = 'format';");
	refused(dir, path, MPSTORE__STATUS__ERR_SCHEMA, "meta row 'format'");
	free(path);

	path = make_v1(dir, "token.db");
	tu_sql(path, "UPDATE meta SET value = -1 WHERE key = 'token';");
	refused(dir, path, MPSTORE__STATUS__ERR_SCHEMA, "meta row 'token'");
	assert_int_equal(pragma(path, "PRAGMA user_version"), 1);
	free(path);

	/* a version-2 file without its answers table is damaged */
	path = tu_path(dir, "v2.db");
	mpsp *p;
	OK_ERR(mpsp_open(&p, path, MPSP_LOG, err, sizeof(err)));
	mpsp_close(p);
	tu_sql(path, "PRAGMA journal_mode = DELETE; DROP TABLE answers;");
	refused(dir, path, MPSTORE__STATUS__ERR_SCHEMA, "table answers is missing");
	free(path);
	tu_rmdir(dir);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_create_reopen),
		cmocka_unit_test(test_wal_mode),
		cmocka_unit_test(test_empty_file_is_created),
		cmocka_unit_test(test_memory_modes),
		cmocka_unit_test(test_text_file),
		cmocka_unit_test(test_foreign_sqlite),
		cmocka_unit_test(test_newer_version),
		cmocka_unit_test(test_read_only),
		cmocka_unit_test(test_in_use),
		cmocka_unit_test(test_corrupt),
		cmocka_unit_test(test_upgrade_v1),
		cmocka_unit_test(test_upgrade_only_after_checks),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
