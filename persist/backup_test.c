/*
 * backup_test.c - online backup gives an openable copy with the same
 * content, never overwrites, and works while a snapshot is in progress.
 */
#include "test_util.h"

static char err[512];

static void
fill(mpsp *p)
{
	char data[32];
	for (uint64_t i = 1; i <= 100; i++) {
		snprintf(data, sizeof(data), "v%llu", (unsigned long long)i);
		mpsp_rec r = tu_rec(i, i % 2 ? "odd" : "even", data);
		OK_ERR(mpsp_log_append(p, &r, 1, i, NULL, 0, NULL, 0, err, sizeof(err)));
	}
	OK_ERR(mpsp_snapshot_begin(p, 50, 50, err, sizeof(err)));
	mpsp_rec s[] = { tu_rec(0, "even", "E50"), tu_rec(0, "odd", "O49") };
	OK_ERR(mpsp_snapshot_put(p, s, 2, err, sizeof(err)));
	OK_ERR(mpsp_snapshot_end(p, 1, err, sizeof(err)));
}

static void
same_content(mpsp *a, const char *copy)
{
	tu_recs  x = { 0 }, y = { 0 };
	uint64_t la, lb, ta, tb;
	mpsp    *b;
	OK_ERR(mpsp_recover(a, tu_collect_cb, &x, &la, &ta, err, sizeof(err)));
	OK_ERR(mpsp_open(&b, copy, MPSP_LOG, err, sizeof(err)));
	OK_ERR(mpsp_recover(b, tu_collect_cb, &y, &lb, &tb, err, sizeof(err)));
	assert_int_equal(x.n, y.n);
	for (size_t i = 0; i < x.n; i++)
		assert_string_equal(x.s[i], y.s[i]);
	assert_int_equal(la, lb);
	assert_int_equal(ta, tb);
	mpsp_close(b);
	tu_recs_free(&x);
	tu_recs_free(&y);
}

static void
test_backup_file(void **state)
{
	char *dir = tu_tmpdir(), *path = tu_path(dir, "m.db"), *copy = tu_path(dir, "copy.db");
	mpsp *p;
	OK_ERR(mpsp_open(&p, path, MPSP_LOG, err, sizeof(err)));
	fill(p);
	/* while a snapshot is half written */
	OK_ERR(mpsp_snapshot_begin(p, 100, 100, err, sizeof(err)));
	mpsp_rec s = tu_rec(0, "even", "half");
	OK_ERR(mpsp_snapshot_put(p, &s, 1, err, sizeof(err)));
	OK_ERR(mpsp_backup(p, copy, err, sizeof(err)));
	same_content(p, copy);

	uint64_t sum = tu_checksum(copy);
	assert_int_equal(mpsp_backup(p, copy, err, sizeof(err)), MPSTORE__STATUS__ERR_EXISTS);
	assert_int_equal(tu_checksum(copy), sum);
	char *nodir = tu_path(dir, "missing/dir/x.db");
	assert_int_equal(mpsp_backup(p, nodir, err, sizeof(err)), MPSTORE__STATUS__ERR_IO);
	OK_ERR(mpsp_snapshot_end(p, 1, err, sizeof(err)));
	mpsp_close(p);
	free(nodir);
	free(copy);
	free(path);
	tu_rmdir(dir);
}

/* OP_BACKUP's names: a file name in the backup directory, never a path. */
static void
test_backup_in_dir(void **state)
{
	char *dir = tu_tmpdir(), *path = tu_path(dir, "m.db"), *bdir = tu_path(dir, "backups");
	mpsp *p;
	assert_int_equal(mkdir(bdir, 0700), 0);
	OK_ERR(mpsp_open(&p, path, MPSP_LOG, err, sizeof(err)));
	fill(p);
	static const char *const bad[] = {"", "..", ".", ".x", "../m2.db", "a/b", "/tmp/x.db",
	    "x/", NULL};
	for (int i = 0; bad[i] != NULL; i++) {
		assert_int_equal(mpsp_backup_name_check(bad[i], err, sizeof(err)),
		    MPSTORE__STATUS__ERR_INVALID);
		assert_int_equal(mpsp_backup_in(p, bdir, bad[i], err, sizeof(err)),
		    MPSTORE__STATUS__ERR_INVALID);
	}
	char long_name[300];
	memset(long_name, 'n', sizeof(long_name) - 1);
	long_name[sizeof(long_name) - 1] = '\0';
	assert_int_equal(mpsp_backup_name_check(long_name, err, sizeof(err)),
	    MPSTORE__STATUS__ERR_INVALID);
	char *escaped = tu_path(dir, "m2.db");
	assert_false(tu_exists(escaped));
	OK_ERR(mpsp_backup_name_check("nightly-2026.db", err, sizeof(err)));
	OK_ERR(mpsp_backup_in(p, bdir, "nightly-2026.db", err, sizeof(err)));
	char *copy = tu_path(bdir, "nightly-2026.db");
	same_content(p, copy);
	assert_int_equal(mpsp_backup_in(p, bdir, "nightly-2026.db", err, sizeof(err)),
	    MPSTORE__STATUS__ERR_EXISTS);
	assert_int_equal(mpsp_backup_in(p, NULL, "x.db", err, sizeof(err)),
	    MPSTORE__STATUS__ERR_INVALID);
	mpsp_close(p);
	free(copy);
	free(escaped);
	free(bdir);
	free(path);
	tu_rmdir(dir);
}

static void
test_backup_memory_db(void **state)
{
	char *dir = tu_tmpdir(), *copy = tu_path(dir, "copy.db");
	mpsp *p;
	OK_ERR(mpsp_open(&p, ":memory:", MPSP_LOG, err, sizeof(err)));
	fill(p);
	OK_ERR(mpsp_backup(p, copy, err, sizeof(err)));
	same_content(p, copy);
	mpsp_close(p);
	free(copy);
	tu_rmdir(dir);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_backup_file),
		cmocka_unit_test(test_backup_in_dir),
		cmocka_unit_test(test_backup_memory_db),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
