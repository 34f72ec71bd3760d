/*
 * persist_meta_test - damaged `meta` rows (issue 13): a real database,
 * damaged with the sqlite3 command-line tool, must stop mpstored at start
 * with a non-zero exit and one line that names the file and the row and
 * gives the sqlite3 command that repairs it; the file is left byte for
 * byte as it was; after the row is put back (with the command from the
 * message when it suggests the right value), the daemon starts and serves
 * exactly the state it had. Before the fix the daemon served an empty
 * store, its shutdown snapshot deleted the real snapshot rows, or its
 * revision wrapped.
 */
#include "persist_common.h"

static char tmpdir[256];
static char pristine[400];

static int sqlite3_cli(const char *db, const char *sql)
{
	const char *argv[] = {"/usr/bin/sqlite3", db, sql, NULL};
	char        err[512];
	int         st = mpst_run(argv, NULL, 0, err, sizeof(err));
	if (st != 0)
		fprintf(stderr, "sqlite3 %s \"%s\": exit %d: %s\n", db, sql, st, err);
	return st;
}

static void copy_file(const char *from, const char *to)
{
	char cmd[1000];
	snprintf(cmd, sizeof(cmd), "cp '%s' '%s' && rm -f '%s-wal' '%s-shm'", from, to, to, to);
	PT_TRUE(system(cmd) == 0, "%s", cmd);
}

/* A database with a snapshot and log rows after it, of several kinds;
 * *state gets what a client reads from it. */
static void make_db(pt_buf *state)
{
	mpst_daemon d;
	pt_start(&d, (const char *const[]){"--snapshot-interval", "0", NULL});
	mps_client *c = pt_connect(&d);
	PT_OK(mps_create_simple(c, "list", MPS_KIND_LIST, MPS_TYPE_INT64));
	PT_OK(mps_create_simple(c, "dict", MPS_KIND_DICT, MPS_TYPE_STRING));
	PT_OK(mps_create_simple(c, "count", MPS_KIND_VALUE, MPS_TYPE_INT64));
	for (int i = 0; i < 300; i++) {
		mps_value x = mps_int(i);
		PT_OK(mps_list_append(c, "list", &x, NULL));
		if (i % 10 == 0) {
			char k[16], v[32];
			snprintf(k, sizeof(k), "k%d", i);
			snprintf(v, sizeof(v), "value %d", i);
			mps_value key = mps_str(k), val = mps_str(v);
			PT_OK(mps_dict_set(c, "dict", &key, &val));
		}
	}
	PT_OK(mps_snapshot(c, NULL)); /* snapshot rows; the log is compacted */
	for (int i = 0; i < 40; i++) { /* and log rows after the snapshot */
		PT_OK(mps_counter_add(c, "count", 1, NULL));
		mps_value x = mps_int(1000 + i);
		PT_OK(mps_list_append(c, "list", &x, NULL));
	}
	PT_OK(mps_create_simple(c, "late", MPS_KIND_QUEUE, MPS_TYPE_INT64));
	pt_state_text(c, state);
	mps_close(c);
	pt_kill9(&d); /* no final snapshot: the log keeps its rows */
	PT_TRUE(pt_sql_exec(d.db, "PRAGMA wal_checkpoint(TRUNCATE);") == 0);
	copy_file(d.db, pristine);
	pt_done(&d);
	PT_TRUE(pt_sql_int(pristine, "SELECT count(*) FROM snapshot") > 0, "no snapshot rows");
	PT_TRUE(pt_sql_int(pristine, "SELECT count(*) FROM log") > 0, "no log rows");
}

/* The state served from db (a daemon started and stopped on it). */
static void served_state(const char *db, pt_buf *out)
{
	mpst_daemon d;
	pt_start(&d, (const char *const[]){"--db", db, NULL});
	mps_client *c = pt_connect(&d);
	pt_state_text(c, out);
	mps_close(c);
	pt_stop(&d);
	pt_done(&d);
}

/* The value the message suggests in its UPDATE command, or -1. */
static long long suggested(const char *msg, const char *key)
{
	const char *p = strstr(msg, "UPDATE meta SET value = ");
	char        where[64];
	snprintf(where, sizeof(where), "WHERE key = '%s'", key);
	if (p == NULL || strstr(p, where) == NULL)
		return -1;
	char *end;
	long long v = strtoll(p + strlen("UPDATE meta SET value = "), &end, 10);
	return end > p + strlen("UPDATE meta SET value = ") ? v : -1;
}

/*
 * Damage a copy of the pristine file with `damage` (SQL for the sqlite3
 * tool); mpstored must refuse it naming `row` (and `want`); then `repair`
 * (or, when it is NULL, the value the message suggests for `row`) puts it
 * right and the daemon serves the original state.
 */
static void damaged(const char *what, const char *damage, const char *row, const char *want,
    const char *repair, const pt_buf *state)
{
	char db[512];
	snprintf(db, sizeof(db), "%s/%s.db", tmpdir, row);
	copy_file(pristine, db);
	PT_TRUE(sqlite3_cli(db, damage) == 0, "%s: sqlite3 failed", what);
	char err[4096];
	/* the message first, in full: it must name the row and a command */
	int st = pt_run_daemon(tmpdir, db, err, sizeof(err));
	PT_TRUE(st != 0 && st < 128, "%s: mpstored exited with %d on a damaged file", what, st);
	char quoted[80];
	snprintf(quoted, sizeof(quoted), "'%s'", row);
	PT_TRUE(strstr(err, quoted) != NULL, "%s: the message does not name row %s:\n%s", what,
	    quoted, err);
	PT_TRUE(strstr(err, "sqlite3 ") != NULL && strstr(err, db) != NULL,
	    "%s: the message gives no sqlite3 command for the file:\n%s", what, err);
	long long fix = suggested(err, row);
	/* then the checks of every refused file: one line, the file unchanged */
	pt_expect_refused(tmpdir, what, db, want);
	char sql[300];
	if (repair == NULL) {
		PT_TRUE(fix >= 0, "%s: no value suggested for %s:\n%s", what, row, err);
		snprintf(sql, sizeof(sql), "UPDATE meta SET value = %lld WHERE key = '%s'", fix, row);
		repair = sql;
	}
	PT_TRUE(sqlite3_cli(db, repair) == 0, "%s: repair failed", what);
	pt_buf now = {0};
	served_state(db, &now);
	pt_same_text(what, state->s, now.s);
	pt_buf_free(&now);
	printf("ok  %-28s repaired with: %s\n", what, repair);
}

int main(void)
{
	pt_init();
	alarm(240);
	const char *tmp = getenv("TMPDIR");
	snprintf(tmpdir, sizeof(tmpdir), "%s/mpst-meta.XXXXXX", tmp ? tmp : "/tmp");
	PT_TRUE(mkdtemp(tmpdir) != NULL);
	snprintf(pristine, sizeof(pristine), "%s/pristine.db", tmpdir);
	pt_buf state = {0};
	make_db(&state);
	long long rev = pt_sql_int(pristine, "SELECT value FROM meta WHERE key = 'snapshot_rev'");
	long long first = pt_sql_int(pristine, "SELECT value FROM meta WHERE key = 'snapshot_first'");
	long long last = pt_sql_int(pristine, "SELECT value FROM meta WHERE key = 'snapshot_last'");
	long long tok = pt_sql_int(pristine, "SELECT value FROM meta WHERE key = 'token'");
	PT_TRUE(rev > 0 && first > 0 && last >= first, "pristine meta: rev %lld, rows %lld..%lld", rev,
	    first, last);
	char sql[300];

	/* the cases: -1 and text; the suggested value repairs them */
	damaged("snapshot_rev = -1", "UPDATE meta SET value = -1 WHERE key = 'snapshot_rev'",
	    "snapshot_rev", "not a whole number", NULL, &state);
	damaged("snapshot_rev = text", "UPDATE meta SET value = 'oops' WHERE key = 'snapshot_rev'",
	    "snapshot_rev", "'oops'", NULL, &state);
	damaged("snapshot_first = text", "UPDATE meta SET value = 'x' WHERE key = 'snapshot_first'",
	    "snapshot_first", "not a whole number", NULL, &state);
	damaged("snapshot_last = -1", "UPDATE meta SET value = -1 WHERE key = 'snapshot_last'",
	    "snapshot_last", "not a whole number", NULL, &state);
	damaged("log_floor = NULL", "UPDATE meta SET value = NULL WHERE key = 'log_floor'",
	    "log_floor", "NULL", NULL, &state);
	snprintf(sql, sizeof(sql), "UPDATE meta SET value = %lld WHERE key = 'token'", tok);
	damaged("token = -5", "UPDATE meta SET value = -5 WHERE key = 'token'", "token",
	    "not a whole number", sql, &state);
	damaged("format = 3", "UPDATE meta SET value = 3 WHERE key = 'format'", "format", "format",
	    NULL, &state);

	/* pointing past the rows: the snapshot's range names rows that do not
	 * exist (the daemon would load half a snapshot) */
	snprintf(sql, sizeof(sql), "UPDATE meta SET value = %lld WHERE key = 'snapshot_last'", last);
	damaged("snapshot_last past the rows",
	    "UPDATE meta SET value = value + 100000 WHERE key = 'snapshot_last'", "snapshot_last",
	    "exist", sql, &state);
	/* the range moved above the rows: all of them would have been deleted
	 * as an abandoned snapshot */
	snprintf(sql, sizeof(sql),
	    "UPDATE meta SET value = %lld WHERE key = 'snapshot_first'; "
	    "UPDATE meta SET value = %lld WHERE key = 'snapshot_last'", first, last);
	damaged("snapshot range above its rows",
	    "UPDATE meta SET value = value + 500000 WHERE key IN ('snapshot_first', 'snapshot_last')",
	    "snapshot_first", "below it", sql, &state);
	/* the revision pushed past the log: recovery would skip the log rows
	 * and the next snapshot would delete them */
	snprintf(sql, sizeof(sql),
	    "UPDATE meta SET value = %lld WHERE key IN ('snapshot_rev', 'log_floor')", rev);
	damaged("snapshot_rev past the log",
	    "UPDATE meta SET value = 1000000 WHERE key IN ('snapshot_rev', 'log_floor')",
	    "snapshot_rev", "log rows", sql, &state);
	/* only one of the two that must agree */
	snprintf(sql, sizeof(sql), "UPDATE meta SET value = %lld WHERE key = 'log_floor'", rev);
	damaged("log_floor differs", "UPDATE meta SET value = value + 7 WHERE key = 'log_floor'",
	    "log_floor", "differ", sql, &state);
	/* a missing row */
	snprintf(sql, sizeof(sql), "INSERT INTO meta(key, value) VALUES ('snapshot_token', %lld)",
	    pt_sql_int(pristine, "SELECT value FROM meta WHERE key = 'snapshot_token'"));
	damaged("snapshot_token missing", "DELETE FROM meta WHERE key = 'snapshot_token'",
	    "snapshot_token", "missing", sql, &state);
	/* a log row with revisions recovery could not place */
	{
		char db[512], err[4096];
		snprintf(db, sizeof(db), "%s/logrow.db", tmpdir);
		copy_file(pristine, db);
		long long seq = pt_sql_int(db, "SELECT max(seq) FROM log");
		long long hi = pt_sql_int(db, "SELECT rev_hi FROM log WHERE seq = (SELECT max(seq) FROM log)");
		char dmg[200], fix[200];
		snprintf(dmg, sizeof(dmg), "UPDATE log SET rev_hi = -1 WHERE seq = %lld", seq);
		snprintf(fix, sizeof(fix), "UPDATE log SET rev_hi = %lld WHERE seq = %lld", hi, seq);
		PT_TRUE(sqlite3_cli(db, dmg) == 0);
		pt_expect_refused(tmpdir, "log row rev_hi = -1", db, "log row seq");
		PT_TRUE(pt_run_daemon(tmpdir, db, err, sizeof(err)) != 0);
		PT_TRUE(sqlite3_cli(db, fix) == 0);
		pt_buf now = {0};
		served_state(db, &now);
		pt_same_text("log row repaired", state.s, now.s);
		pt_buf_free(&now);
		printf("ok  %-28s repaired with: %s\n", "log row rev_hi = -1", fix);
	}

	/* and the pristine file itself is served as it was */
	pt_buf now = {0};
	served_state(pristine, &now);
	pt_same_text("pristine", state.s, now.s);
	pt_buf_free(&now);
	pt_buf_free(&state);
	char cmd[400];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	if (getenv("MPST_KEEP") == NULL && system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", tmpdir);
	printf("persist_meta_test: all passed\n");
	return 0;
}
