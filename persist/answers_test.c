/*
 * answers_test.c - the answers kept with a group commit: in the log row of
 * their records (written and rolled back with them), carried into the
 * answers table when a snapshot compacts the row (the newest of each
 * client and slot only, none of a pruned client), pruned per client
 * before the call's own answers are kept, read back in the order they were
 * kept after a reopen, nothing kept in snapshot and memory modes, damaged
 * rows refused with the command that removes them.
 */
#include "test_util.h"

static char err[512];

#define BIG_CLIENT 0xfedcba9876543210ull /* above INT64_MAX: stored as its bits */

/* Collected answers as "client req data" strings. */
static int collect_cb(void *arg, const mpsp_answer *a)
{
	tu_recs *c = arg;
	if (c->n == c->cap) {
		c->cap = c->cap ? c->cap * 2 : 64;
		c->s = realloc(c->s, c->cap * sizeof(*c->s));
	}
	char *s = malloc(a->len + 64);
	int   k = sprintf(s, "%llx %llu ", (unsigned long long)a->client_id,
	      (unsigned long long)a->req_id);
	if (a->len > 0)
		memcpy(s + k, a->data, a->len);
	s[k + a->len] = '\0';
	c->s[c->n++] = s;
	return 0;
}

static mpsp_answer ans(uint64_t client, uint64_t req, const char *data)
{
	mpsp_answer a = { client, req, (const uint8_t *)data, strlen(data) };
	return a;
}

static void read_all(mpsp *p, tu_recs *got)
{
	tu_recs_free(got);
	OK_ERR(mpsp_answers_read(p, collect_cb, got, err, sizeof(err)));
}

/* A test's database: a scratch directory, the file, the handle, and the
 * answers read last. */
typedef struct fx {
	char   *dir, *path;
	mpsp   *p;
	tu_recs got;
} fx;

static void fx_open(fx *f, mpsp_durability d)
{
	memset(f, 0, sizeof(*f));
	f->dir = tu_tmpdir();
	f->path = tu_path(f->dir, "a.db");
	OK_ERR(mpsp_open(&f->p, f->path, d, err, sizeof(err)));
}

static void fx_done(fx *f)
{
	mpsp_close(f->p);
	tu_recs_free(&f->got);
	free(f->path);
	tu_rmdir(f->dir);
}

static int64_t count(mpsp *p, const char *sql)
{
	int64_t n = -1;
	OK_ERR(mpsp__query_i64(p, sql, 0, 0, &n, err, sizeof(err)));
	return n;
}

static void snapshot_at(mpsp *p, uint64_t rev)
{
	OK_ERR(mpsp_snapshot_begin(p, rev, 0, err, sizeof(err)));
	OK_ERR(mpsp_snapshot_end(p, 1, err, sizeof(err)));
}

static void test_keep_reopen_carry(void **state)
{
	fx          f;
	mpsp_rec    r1 = tu_rec(1, "c", "one"), r2 = tu_rec(2, "c", "two");
	mpsp_answer a1[] = { ans(0x11, 5, "five"), ans(BIG_CLIENT, 7, "seven"), ans(0x11, 6, "") };
	fx_open(&f, MPSP_LOG);
	mpsp *p = f.p;
	OK_ERR(mpsp_log_append(p, &r1, 1, 0, a1, 3, NULL, 0, err, sizeof(err)));
	/* in the log row of their records, no row of their own */
	assert_int_equal(count(p, "SELECT count(*) FROM log WHERE answers NOT NULL"), 1);
	assert_int_equal(count(p, "SELECT count(*) FROM answers"), 0);
	mpsp_close(p);

	OK_ERR(mpsp_open(&p, f.path, MPSP_FSYNC, err, sizeof(err)));
	read_all(p, &f.got);
	assert_int_equal(f.got.n, 3); /* in the order kept */
	assert_string_equal(f.got.s[0], "11 5 five");
	assert_string_equal(f.got.s[1], "fedcba9876543210 7 seven");
	assert_string_equal(f.got.s[2], "11 6 ");
	/* id 5 + 1024 takes id 5's slot: read in order, the newer comes later */
	mpsp_answer a2 = ans(0x11, 5 + MPSP_ANSWER_SLOTS, "newer");
	OK_ERR(mpsp_log_append(p, &r2, 1, 0, &a2, 1, NULL, 0, err, sizeof(err)));
	read_all(p, &f.got);
	assert_int_equal(f.got.n, 4);
	assert_string_equal(f.got.s[3], "11 1029 newer");
	/* a snapshot compacts the rows: the current answers go to the table */
	snapshot_at(p, 2);
	assert_int_equal(count(p, "SELECT count(*) FROM log"), 0);
	assert_int_equal(count(p, "SELECT count(*) FROM answers"), 3);
	assert_int_equal(count(p, "SELECT req_id FROM answers WHERE client_id = 17 AND slot = 5"), 1029);
	read_all(p, &f.got);
	assert_int_equal(f.got.n, 3);
	mpsp_close(p);
	OK_ERR(mpsp_open(&p, f.path, MPSP_LOG, err, sizeof(err)));
	read_all(p, &f.got);
	assert_int_equal(f.got.n, 3); /* by client, then id */
	assert_string_equal(f.got.s[0], "fedcba9876543210 7 seven");
	assert_string_equal(f.got.s[1], "11 6 ");
	assert_string_equal(f.got.s[2], "11 1029 newer");
	f.p = p;
	fx_done(&f);
}

static void test_prune(void **state)
{
	fx          f;
	mpsp_rec    r1 = tu_rec(1, "c", "x"), r2 = tu_rec(2, "c", "y"), r3 = tu_rec(3, "c", "z");
	mpsp_answer a[] = { ans(1, 1, "a"), ans(1, 2, "b"), ans(2, 1, "c"), ans(BIG_CLIENT, 1, "d") };
	fx_open(&f, MPSP_LOG);
	mpsp *p = f.p;
	OK_ERR(mpsp_log_append(p, &r1, 1, 0, a, 4, NULL, 0, err, sizeof(err)));
	/* no records: a prune alone */
	uint64_t gone[] = { 1, BIG_CLIENT, 99 };
	OK_ERR(mpsp_log_append(p, NULL, 0, 0, NULL, 0, gone, 3, err, sizeof(err)));
	read_all(p, &f.got);
	assert_int_equal(f.got.n, 1);
	assert_string_equal(f.got.s[0], "2 1 c");
	/* prune first, then keep: client 2 came back within the same call */
	mpsp_answer back = ans(2, 3, "again");
	uint64_t    two = 2;
	OK_ERR(mpsp_log_append(p, &r2, 1, 0, &back, 1, &two, 1, err, sizeof(err)));
	read_all(p, &f.got);
	assert_int_equal(f.got.n, 1);
	assert_string_equal(f.got.s[0], "2 3 again");
	/* the pruned answers are not carried */
	snapshot_at(p, 2);
	assert_int_equal(count(p, "SELECT count(*) FROM answers"), 1);
	assert_int_equal(count(p, "SELECT req_id FROM answers"), 3);
	/* a prune deletes what was carried, and what a later row holds */
	mpsp_answer more = ans(2, 4, "four");
	OK_ERR(mpsp_log_append(p, &r3, 1, 0, &more, 1, NULL, 0, err, sizeof(err)));
	OK_ERR(mpsp_log_append(p, NULL, 0, 0, NULL, 0, &two, 1, err, sizeof(err)));
	assert_int_equal(count(p, "SELECT count(*) FROM answers"), 0);
	read_all(p, &f.got);
	assert_int_equal(f.got.n, 0);
	snapshot_at(p, 3);
	assert_int_equal(count(p, "SELECT count(*) FROM answers"), 0);
	f.p = p;
	fx_done(&f);
}

/* A row that straddles a snapshot stays whole, with its answers; a prune
 * still holds for them when the next snapshot compacts it. */
static void test_straddle(void **state)
{
	fx          f;
	mpsp_rec    r[] = { tu_rec(5, "c", "x"), tu_rec(6, "d", "y") };
	mpsp_answer a[] = { ans(3, 1, "a"), ans(4, 1, "b") };
	uint64_t    three = 3;
	fx_open(&f, MPSP_LOG);
	mpsp *p = f.p;
	OK_ERR(mpsp_log_append(p, r, 2, 0, a, 2, NULL, 0, err, sizeof(err)));
	snapshot_at(p, 5);
	assert_int_equal(count(p, "SELECT count(*) FROM log"), 1);
	assert_int_equal(count(p, "SELECT count(*) FROM answers"), 0);
	OK_ERR(mpsp_log_append(p, NULL, 0, 0, NULL, 0, &three, 1, err, sizeof(err)));
	read_all(p, &f.got);
	assert_int_equal(f.got.n, 1);
	assert_string_equal(f.got.s[0], "4 1 b");
	snapshot_at(p, 6);
	assert_int_equal(count(p, "SELECT count(*) FROM log"), 0);
	assert_int_equal(count(p, "SELECT count(*) FROM answers"), 1);
	assert_int_equal(count(p, "SELECT client_id FROM answers"), 4);
	f.p = p;
	fx_done(&f);
}

/* A failed commit keeps neither the records nor their answers, and its
 * prunes do not happen. */
static void test_all_or_nothing(void **state)
{
	fx          f;
	mpsp_rec    r2 = tu_rec(2, "c", "y");
	mpsp_answer a1 = ans(5, 1, "kept"), a2 = ans(6, 2, "lost"), bad = ans(0, 3, "no client");
	uint64_t    five = 5;
	fx_open(&f, MPSP_LOG);
	mpsp *p = f.p;
	OK_ERR(mpsp_log_append(p, NULL, 0, 0, &a1, 1, NULL, 0, err, sizeof(err))); /* to the table */
	assert_int_equal(count(p, "SELECT count(*) FROM answers"), 1);
	/* the log row cannot be written (a temporary trigger: not in the file) */
	assert_int_equal(sqlite3_exec(mpsp__db(p),
	                     "CREATE TEMP TRIGGER no_log BEFORE INSERT ON log"
	                     " BEGIN SELECT RAISE(ABORT, 'refused by the test'); END",
	                     NULL, NULL, NULL),
	    SQLITE_OK);
	assert_int_not_equal(mpsp_log_append(p, &r2, 1, 0, &a2, 1, &five, 1, err, sizeof(err)), 0);
	assert_non_null(strstr(err, "refused by the test"));
	assert_int_equal(sqlite3_exec(mpsp__db(p), "DROP TRIGGER temp.no_log", NULL, NULL, NULL),
	    SQLITE_OK);
	read_all(p, &f.got);
	assert_int_equal(f.got.n, 1); /* neither the prune nor the new answer */
	assert_string_equal(f.got.s[0], "5 1 kept");
	/* ids 0 are refused before anything is written */
	assert_int_equal(mpsp_log_append(p, &r2, 1, 0, &bad, 1, NULL, 0, err, sizeof(err)),
	    MPSTORE__STATUS__ERR_INVALID);
	bad = ans(5, 0, "no id");
	assert_int_equal(mpsp_log_append(p, &r2, 1, 0, &bad, 1, NULL, 0, err, sizeof(err)),
	    MPSTORE__STATUS__ERR_INVALID);
	assert_int_equal(count(p, "SELECT count(*) FROM log"), 0);
	read_all(p, &f.got);
	assert_int_equal(f.got.n, 1);
	f.p = p;
	fx_done(&f);
}

static void test_modes_keep_nothing(void **state)
{
	fx          f;
	mpsp_rec    r = tu_rec(1, "c", "x");
	mpsp_answer a = ans(3, 1, "x");
	fx_open(&f, MPSP_SNAPSHOT);
	mpsp *p = f.p;
	OK_ERR(mpsp_log_append(p, &r, 1, 0, &a, 1, NULL, 0, err, sizeof(err)));
	OK_ERR(mpsp_log_append(p, NULL, 0, 0, &a, 1, NULL, 0, err, sizeof(err)));
	read_all(p, &f.got);
	assert_int_equal(f.got.n, 0);
	mpsp_close(p);
	OK_ERR(mpsp_open(&p, NULL, MPSP_MEMORY, err, sizeof(err)));
	OK_ERR(mpsp_log_append(p, &r, 1, 0, &a, 1, NULL, 0, err, sizeof(err)));
	read_all(p, &f.got);
	assert_int_equal(f.got.n, 0);
	f.p = p;
	fx_done(&f);
}

static void test_damaged(void **state)
{
	fx          f;
	fx_open(&f, MPSP_LOG);
	mpsp *p = f.p;
	const char *bad[] = {
		"INSERT INTO answers VALUES (9, 4, 5, x'00')",       /* slot is not 5 % 1024 */
		"INSERT INTO answers VALUES (9, 5, 5, 'text')",      /* data not a blob */
		"INSERT INTO answers VALUES (0, 5, 5, x'00')",       /* no client */
		"INSERT INTO answers VALUES (9, 5, 'five', x'00')",  /* not an integer */
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(sqlite3_exec(mpsp__db(p), "DELETE FROM answers", NULL, NULL, NULL), SQLITE_OK);
		assert_int_equal(sqlite3_exec(mpsp__db(p), bad[i], NULL, NULL, NULL), SQLITE_OK);
		assert_int_equal(mpsp_answers_read(p, collect_cb, &f.got, err, sizeof(err)),
		    MPSTORE__STATUS__ERR_IO);
		assert_int_equal(f.got.n, 0);
		assert_non_null(strstr(err, f.path));
		assert_non_null(strstr(err, "DELETE FROM answers WHERE client_id ="));
	}
	assert_int_equal(sqlite3_exec(mpsp__db(p), "DELETE FROM answers", NULL, NULL, NULL), SQLITE_OK);
	/* a log row's answers cut short: refused at start, skipped by a snapshot */
	mpsp_rec    r = tu_rec(1, "c", "x");
	mpsp_answer a = ans(3, 1, "the answer");
	OK_ERR(mpsp_log_append(p, &r, 1, 0, &a, 1, NULL, 0, err, sizeof(err)));
	assert_int_equal(sqlite3_exec(mpsp__db(p), "UPDATE log SET answers = substr(answers, 1, 5)",
	                     NULL, NULL, NULL),
	    SQLITE_OK);
	assert_int_equal(mpsp_answers_read(p, collect_cb, &f.got, err, sizeof(err)), MPSTORE__STATUS__ERR_IO);
	assert_non_null(strstr(err, "UPDATE log SET answers = NULL WHERE seq = 1"));
	snapshot_at(p, 1);
	assert_int_equal(count(p, "SELECT count(*) FROM log"), 0);
	read_all(p, &f.got);
	assert_int_equal(f.got.n, 0);
	f.p = p;
	fx_done(&f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_keep_reopen_carry),
		cmocka_unit_test(test_prune),
		cmocka_unit_test(test_straddle),
		cmocka_unit_test(test_all_or_nothing),
		cmocka_unit_test(test_modes_keep_nothing),
		cmocka_unit_test(test_damaged),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
