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
	OK_ERR(mpsp_log_append(p, b1, 2, 1, err, sizeof(err)));
	OK_ERR(mpsp_log_append(p, b2, 3, 5, err, sizeof(err)));
	OK_ERR(mpsp_log_append(p, NULL, 0, 9, err, sizeof(err))); /* token only */

	/* out of order: refused, nothing written */
	mpsp_rec bad[] = { tu_rec(5, "x", "ok"), tu_rec(4, "x", "back") };
	assert_int_equal(mpsp_log_append(p, bad, 2, 9, err, sizeof(err)), MPSTORE__STATUS__ERR_INVALID);
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
	assert_int_equal(mpsp_log_append(p, &r3, 1, 9, err, sizeof(err)), MPSTORE__STATUS__ERR_INVALID);
	mpsp_rec r5 = tu_rec(5, "x", "new");
	OK_ERR(mpsp_log_append(p, &r5, 1, 9, err, sizeof(err)));
	mpsp_close(p);
	tu_recs_free(&got);
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
		OK_ERR(mpsp_log_append(p, &r, 1, 0, err, sizeof(err)));
	}
	tu_recs got = { 0 };
	OK_ERR(mpsp_log_read(p, 15, tu_collect_cb, &got, err, sizeof(err)));
	assert_int_equal(got.n, 6);
	assert_string_equal(got.s[0], "15 c0 2 v15");
	assert_string_equal(got.s[5], "20 c2 2 v20");
	tu_recs_free(&got);
	OK_ERR(mpsp_log_read(p, 21, tu_collect_cb, &got, err, sizeof(err)));
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
	OK_ERR(mpsp_log_append(p, r, 2, 4, err, sizeof(err)));
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
	OK_ERR(mpsp_log_append(p, &r3, 1, 5, err, sizeof(err)));
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
		rv = mpsp_log_append(p, r, 2, rev + 2, err, sizeof(err));
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
			prv = mpsp_log_append(p, NULL, 0, rev + 100 + (uint64_t)i, err, sizeof(err));
	}
	assert_int_equal(prv, MPSTORE__STATUS__ERR_IO);
	assert_int_equal(mpsp_snapshot_end(p, 1, err, sizeof(err)), MPSTORE__STATUS__ERR_IO);

	/* room again: writes work, nothing was half-written */
	assert_int_equal(sqlite3_exec(mpsp__db(p), "PRAGMA max_page_count = 1000000", NULL, NULL, NULL), SQLITE_OK);
	mpsp_rec r = { rev + 1, "big", 2, blob, 10 };
	OK_ERR(mpsp_log_append(p, &r, 1, 0, err, sizeof(err)));
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
		OK_ERR(mpsp_log_append(p, batch, 100, 0, err, sizeof(err)));
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
		cmocka_unit_test(test_snapshot_mode_keeps_no_log),
		cmocka_unit_test(test_disk_full),
		cmocka_unit_test(test_recovery_speed),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
