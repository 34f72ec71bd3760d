/*
 * snapshot_test.c - snapshots in pieces interleaved with appends,
 * compaction, abandoned snapshots (explicit and by a crash).
 */
#include "test_util.h"

#include <sys/wait.h>

static char err[512];

static void
append(mpsp *p, uint64_t rev, const char *name, const char *data)
{
	mpsp_rec r = tu_rec(rev, name, data);
	OK_ERR(mpsp_log_append(p, &r, 1, rev, NULL, 0, NULL, 0, err, sizeof(err)));
}

static void
test_pieces_interleaved(void **state)
{
	char *dir = tu_tmpdir(), *path = tu_path(dir, "m.db");
	mpsp *p;
	char  data[32];
	OK_ERR(mpsp_open(&p, path, MPSP_LOG, err, sizeof(err)));
	for (uint64_t i = 1; i <= 10; i++) {
		snprintf(data, sizeof(data), "v%llu", (unsigned long long)i);
		append(p, i, "a", data);
	}
	mpsp_stats st;
	OK_ERR(mpsp_stats_get(p, &st, err, sizeof(err)));
	assert_int_equal(st.log_rows, 10);

	/* the daemon dumped the store at revision 10; puts go between appends */
	OK_ERR(mpsp_snapshot_begin(p, 10, 10, err, sizeof(err)));
	mpsp_rec s1 = tu_rec(0, "a", "state-a");
	OK_ERR(mpsp_snapshot_put(p, &s1, 1, err, sizeof(err)));
	append(p, 11, "a", "v11");
	/* more than one batch of rows */
	for (int i = 0; i < MPSP_SNAPSHOT_BATCH_ROWS + 500; i++) {
		snprintf(data, sizeof(data), "b%05d", i);
		mpsp_rec s = tu_rec(0, "b", data);
		OK_ERR(mpsp_snapshot_put(p, &s, 1, err, sizeof(err)));
		if (i == 1000)
			append(p, 12, "b", "v12");
	}
	append(p, 13, "a", "v13");
	/* a revision not above the snapshot's is refused while it is open */
	mpsp_rec old = tu_rec(10, "a", "x");
	assert_int_equal(mpsp_log_append(p, &old, 1, 0, NULL, 0, NULL, 0, err, sizeof(err)), MPSTORE__STATUS__ERR_INVALID);
	assert_int_equal(mpsp_snapshot_begin(p, 13, 0, err, sizeof(err)), MPSTORE__STATUS__ERR_INVALID);

	/* not visible before end */
	tu_recs got = { 0 };
	OK_ERR(mpsp_stats_get(p, &st, err, sizeof(err)));
	assert_int_equal(st.snapshot_rev, 0);
	assert_int_equal(st.log_rows, 13);
	OK_ERR(mpsp_snapshot_end(p, 1, err, sizeof(err)));
	OK_ERR(mpsp_stats_get(p, &st, err, sizeof(err)));
	assert_int_equal(st.snapshot_rev, 10);
	assert_int_equal(st.snapshot_rows, 1 + MPSP_SNAPSHOT_BATCH_ROWS + 500);
	assert_int_equal(st.log_rows, 3); /* compaction: 11, 12, 13 remain */
	assert_int_equal(st.log_floor, 10);
	mpsp_close(p);

	uint64_t last, token;
	OK_ERR(mpsp_open(&p, path, MPSP_LOG, err, sizeof(err)));
	OK_ERR(mpsp_recover(p, tu_collect_cb, &got, &last, &token, err, sizeof(err)));
	assert_int_equal(got.n, 1 + MPSP_SNAPSHOT_BATCH_ROWS + 500 + 3);
	assert_string_equal(got.s[0], "10 a 2 state-a");
	assert_string_equal(got.s[1], "10 b 2 b00000");
	assert_string_equal(got.s[MPSP_SNAPSHOT_BATCH_ROWS + 500], "10 b 2 b02499");
	assert_string_equal(got.s[got.n - 3], "11 a 2 v11");
	assert_string_equal(got.s[got.n - 2], "12 b 2 v12");
	assert_string_equal(got.s[got.n - 1], "13 a 2 v13");
	assert_int_equal(last, 13);
	assert_int_equal(token, 13);
	tu_recs_free(&got);

	/* a second snapshot replaces the first (old rows are deleted) */
	OK_ERR(mpsp_snapshot_begin(p, 13, 13, err, sizeof(err)));
	mpsp_rec s2 = tu_rec(0, "a", "state-a-13");
	OK_ERR(mpsp_snapshot_put(p, &s2, 1, err, sizeof(err)));
	OK_ERR(mpsp_snapshot_end(p, 1, err, sizeof(err)));
	OK_ERR(mpsp_stats_get(p, &st, err, sizeof(err)));
	assert_int_equal(st.snapshot_rows, 1);
	assert_int_equal(st.log_rows, 0);
	sqlite3_stmt *q;
	assert_int_equal(sqlite3_prepare_v2(mpsp__db(p), "SELECT count(*) FROM snapshot", -1, &q, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(q), SQLITE_ROW);
	assert_int_equal(sqlite3_column_int(q, 0), 1);
	sqlite3_finalize(q);
	OK_ERR(mpsp_recover(p, tu_collect_cb, &got, &last, NULL, err, sizeof(err)));
	assert_int_equal(got.n, 1);
	assert_string_equal(got.s[0], "13 a 2 state-a-13");
	assert_int_equal(last, 13);
	tu_recs_free(&got);
	mpsp_close(p);
	free(path);
	tu_rmdir(dir);
}

static void
test_compaction_shrinks(void **state)
{
	char *dir = tu_tmpdir(), *path = tu_path(dir, "m.db");
	mpsp *p;
	static uint8_t blob[1000];
	OK_ERR(mpsp_open(&p, path, MPSP_FSYNC, err, sizeof(err)));
	for (uint64_t i = 1; i <= 5000; i += 50) {
		mpsp_rec r[50];
		for (int k = 0; k < 50; k++)
			r[k] = (mpsp_rec){ i + (uint64_t)k, "l", 2, blob, sizeof(blob) };
		OK_ERR(mpsp_log_append(p, r, 50, 0, NULL, 0, NULL, 0, err, sizeof(err)));
	}
	mpsp_stats before, after;
	OK_ERR(mpsp_stats_get(p, &before, err, sizeof(err)));
	assert_int_equal(before.log_rows, 5000);
	assert_int_equal(before.log_bytes, 5000 * sizeof(blob));
	OK_ERR(mpsp_snapshot_begin(p, 4990, 0, err, sizeof(err)));
	mpsp_rec s = { 0, "l", 2, blob, sizeof(blob) };
	OK_ERR(mpsp_snapshot_put(p, &s, 1, err, sizeof(err)));
	OK_ERR(mpsp_snapshot_end(p, 1, err, sizeof(err)));
	OK_ERR(mpsp_stats_get(p, &after, err, sizeof(err)));
	assert_int_equal(after.log_rows, 10);
	assert_int_equal(after.log_bytes, 10 * sizeof(blob));
	mpsp_close(p);
	struct stat st;
	assert_int_equal(stat(path, &st), 0);
	print_message("  file before %llu bytes (+wal %llu), after close %llu bytes\n",
	    (unsigned long long)before.file_bytes, (unsigned long long)before.wal_bytes,
	    (unsigned long long)st.st_size);
	assert_true((uint64_t)st.st_size < (before.file_bytes + before.wal_bytes) / 2);
	free(path);
	tu_rmdir(dir);
}

static void
test_abandoned(void **state)
{
	char *dir = tu_tmpdir(), *path = tu_path(dir, "m.db");
	mpsp *p;
	char  data[16];
	OK_ERR(mpsp_open(&p, path, MPSP_LOG, err, sizeof(err)));
	append(p, 1, "a", "v1");
	OK_ERR(mpsp_snapshot_begin(p, 1, 1, err, sizeof(err)));
	mpsp_rec s = tu_rec(0, "a", "good");
	OK_ERR(mpsp_snapshot_put(p, &s, 1, err, sizeof(err)));
	OK_ERR(mpsp_snapshot_end(p, 1, err, sizeof(err)));
	append(p, 2, "a", "v2");

	/* explicit abort */
	assert_int_equal(mpsp_snapshot_put(p, &s, 1, err, sizeof(err)), MPSTORE__STATUS__ERR_INVALID);
	assert_int_equal(mpsp_snapshot_end(p, 1, err, sizeof(err)), MPSTORE__STATUS__ERR_INVALID);
	OK_ERR(mpsp_snapshot_begin(p, 2, 2, err, sizeof(err)));
	for (int i = 0; i < MPSP_SNAPSHOT_BATCH_ROWS * 2; i++) {
		mpsp_rec b = tu_rec(0, "a", "bad");
		OK_ERR(mpsp_snapshot_put(p, &b, 1, err, sizeof(err)));
	}
	OK_ERR(mpsp_snapshot_end(p, 0, err, sizeof(err)));
	mpsp_close(p);

	/* a crash in the middle of a snapshot: committed batches are orphans */
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		mpsp *c;
		if (mpsp_open(&c, path, MPSP_LOG, err, sizeof(err)) != 0)
			_exit(2);
		if (mpsp_snapshot_begin(c, 2, 2, err, sizeof(err)) != 0)
			_exit(3);
		for (int i = 0; i < MPSP_SNAPSHOT_BATCH_ROWS * 3; i++) {
			snprintf(data, sizeof(data), "orphan%d", i);
			mpsp_rec b = tu_rec(0, "a", data);
			if (mpsp_snapshot_put(c, &b, 1, err, sizeof(err)) != 0)
				_exit(4);
		}
		mpsp_rec r = tu_rec(3, "a", "v3");
		if (mpsp_log_append(c, &r, 1, 3, NULL, 0, NULL, 0, err, sizeof(err)) != 0)
			_exit(5);
		_exit(0); /* no close: like kill -9 */
	}
	int status;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);

	tu_recs  got = { 0 };
	uint64_t last;
	OK_ERR(mpsp_open(&p, path, MPSP_LOG, err, sizeof(err)));
	OK_ERR(mpsp_recover(p, tu_collect_cb, &got, &last, NULL, err, sizeof(err)));
	assert_int_equal(got.n, 3);
	assert_string_equal(got.s[0], "1 a 2 good");
	assert_string_equal(got.s[1], "2 a 2 v2");
	assert_string_equal(got.s[2], "3 a 2 v3"); /* acknowledged before the "crash" */
	assert_int_equal(last, 3);
	mpsp_stats st;
	OK_ERR(mpsp_stats_get(p, &st, err, sizeof(err)));
	assert_int_equal(st.snapshot_rows, 1); /* orphans deleted at open */
	tu_recs_free(&got);
	mpsp_close(p);
	free(path);
	tu_rmdir(dir);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pieces_interleaved),
		cmocka_unit_test(test_compaction_shrinks),
		cmocka_unit_test(test_abandoned),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
