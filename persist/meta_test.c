/*
 * meta_test.c - meta rows are checked before anything is loaded or
 * deleted (meta.c): a file whose meta is damaged is refused (ERR_SCHEMA, a
 * message naming the row and a sqlite3 command) and not changed; a
 * snapshot deletes only the rows of the snapshot it replaces.
 */
#include "test_util.h"

static char err[1024];

/* A file with a snapshot (rows 1..3 at revision 4) and log rows 5..7. */
static char *make_db(char *dir)
{
	char *path = tu_path(dir, "m.db");
	mpsp *p;
	OK_ERR(mpsp_open(&p, path, MPSP_LOG, err, sizeof(err)));
	for (uint64_t i = 1; i <= 4; i++) {
		mpsp_rec r = tu_rec(i, "a", "x");
		OK_ERR(mpsp_log_append(p, &r, 1, i, NULL, 0, NULL, 0, err, sizeof(err)));
	}
	OK_ERR(mpsp_snapshot_begin(p, 4, 4, err, sizeof(err)));
	mpsp_rec s[3] = {tu_rec(0, "a", "s1"), tu_rec(0, "b", "s2"), tu_rec(0, "c", "s3")};
	OK_ERR(mpsp_snapshot_put(p, s, 3, err, sizeof(err)));
	OK_ERR(mpsp_snapshot_end(p, 1, err, sizeof(err)));
	for (uint64_t i = 5; i <= 7; i++) {
		mpsp_rec r = tu_rec(i, "a", "y");
		OK_ERR(mpsp_log_append(p, &r, 1, i, NULL, 0, NULL, 0, err, sizeof(err)));
	}
	mpsp_close(p);
	return path;
}

static void refused(const char *path, const char *sql, const char *row)
{
	tu_sql(path, sql);
	uint64_t h = tu_checksum(path);
	mpsp    *p = NULL;
	int      rv = mpsp_open(&p, path, MPSP_LOG, err, sizeof(err));
	if (rv != MPSTORE__STATUS__ERR_SCHEMA)
		fail_msg("%s: mpsp_open gave %d (%s), want ERR_SCHEMA", sql, rv, err);
	assert_null(p);
	char q[64];
	snprintf(q, sizeof(q), "'%s'", row);
	if (strstr(err, q) == NULL || strstr(err, "sqlite3 ") == NULL)
		fail_msg("%s: the message does not name %s or give a command: %s", sql, q, err);
	assert_int_equal(tu_checksum(path), h);
}

static void test_damaged_rows(void **state)
{
	static const struct {
		const char *sql, *row;
	} cases[] = {
	    {"UPDATE meta SET value = -1 WHERE key = 'snapshot_rev'", "snapshot_rev"},
	    {"UPDATE meta SET value = 'abc' WHERE key = 'snapshot_rev'", "snapshot_rev"},
	    {"UPDATE meta SET value = 4.5 WHERE key = 'snapshot_rev'", "snapshot_rev"},
	    {"UPDATE meta SET value = x'00' WHERE key = 'token'", "token"},
	    {"UPDATE meta SET value = NULL WHERE key = 'snapshot_token'", "snapshot_token"},
	    {"UPDATE meta SET value = 0 WHERE key = 'snapshot_first'", "snapshot_first"},
	    {"UPDATE meta SET value = 9 WHERE key = 'snapshot_last'", "snapshot_last"},
	    {"UPDATE meta SET value = 3 WHERE key = 'snapshot_first'", "snapshot_first"},
	    {"UPDATE meta SET value = 5 WHERE key = 'log_floor'", "log_floor"},
	    {"UPDATE meta SET value = 6 WHERE key IN ('log_floor', 'snapshot_rev')", "snapshot_rev"},
	    {"UPDATE meta SET value = 3 WHERE key = 'format'", "format"},
	    {"DELETE FROM meta WHERE key = 'log_floor'", "log_floor"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *dir = tu_tmpdir(), *path = make_db(dir);
		refused(path, cases[i].sql, cases[i].row);
		free(path);
		tu_rmdir(dir);
	}
	/* a log row recovery could not place */
	char *dir = tu_tmpdir(), *path = make_db(dir);
	tu_sql(path, "UPDATE log SET rev_lo = 9 WHERE rev_hi = 6");
	mpsp *p = NULL;
	assert_int_equal(mpsp_open(&p, path, MPSP_LOG, err, sizeof(err)), MPSTORE__STATUS__ERR_SCHEMA);
	assert_non_null(strstr(err, "log row seq"));
	free(path);
	tu_rmdir(dir);
}

static void test_good_file_loads(void **state)
{
	char    *dir = tu_tmpdir(), *path = make_db(dir);
	mpsp    *p;
	tu_recs  got = {0};
	uint64_t last, token;
	OK_ERR(mpsp_open(&p, path, MPSP_LOG, err, sizeof(err)));
	OK_ERR(mpsp_recover(p, tu_collect_cb, &got, &last, &token, err, sizeof(err)));
	assert_int_equal(got.n, 3 + 3);
	assert_string_equal(got.s[0], "4 a 2 s1");
	assert_string_equal(got.s[5], "7 a 2 y");
	assert_int_equal(last, 7);
	tu_recs_free(&got);
	mpsp_close(p);
	free(path);
	tu_rmdir(dir);
}

/* A snapshot deletes the rows of the one it replaces, and nothing else:
 * a row it never loaded (here one that appears below the range while it
 * runs) is left alone. */
static void test_snapshot_deletes_only_its_rows(void **state)
{
	char *dir = tu_tmpdir(), *path = make_db(dir);
	mpsp *p;
	OK_ERR(mpsp_open(&p, path, MPSP_LOG, err, sizeof(err)));
	assert_int_equal(sqlite3_exec(mpsp__db(p),
	                     "INSERT INTO snapshot(seq, name, kind, change) VALUES (-5, 'z', 0, x'00')",
	                     NULL, NULL, NULL),
	    SQLITE_OK);
	OK_ERR(mpsp_snapshot_begin(p, 7, 7, err, sizeof(err)));
	mpsp_rec s = tu_rec(0, "a", "new");
	OK_ERR(mpsp_snapshot_put(p, &s, 1, err, sizeof(err)));
	OK_ERR(mpsp_snapshot_end(p, 1, err, sizeof(err)));
	int64_t n;
	OK_ERR(mpsp__query_i64(p, "SELECT count(*) FROM snapshot WHERE seq = -5", 0, 0, &n, err,
	    sizeof(err)));
	assert_int_equal(n, 1); /* never loaded: kept */
	OK_ERR(mpsp__query_i64(p, "SELECT count(*) FROM snapshot WHERE seq BETWEEN 1 AND 3", 0, 0, &n,
	    err, sizeof(err)));
	assert_int_equal(n, 0); /* the replaced snapshot's rows: deleted */
	mpsp_close(p);
	free(path);
	tu_rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_damaged_rows),
		cmocka_unit_test(test_good_file_loads),
		cmocka_unit_test(test_snapshot_deletes_only_its_rows),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
