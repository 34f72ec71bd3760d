/*
 * persist_badfile_test - files mpstored must refuse at start: it exits
 * non-zero with one clear line on stderr naming the file and the problem,
 * and leaves the file's bytes exactly as they were.
 *   text file, another application's SQLite database, our database with a
 *   newer format version, with a foreign table, with a missing table, with
 *   corrupt pages, a read-only file, and a file in use by another mpstored.
 * And the accepted cases: a missing file and an empty (0-byte) file.
 */
#include "persist_common.h"

static char tmpdir[256];

static void expect_refused(const char *what, const char *db, const char *want)
{
	pt_expect_refused(tmpdir, what, db, want);
}

/* A real mpstore database with some data (made by a daemon, stopped). */
static void make_db(const char *path)
{
	mpst_daemon d;
	pt_start(&d, NULL);
	mps_client *c = pt_connect(&d);
	PT_OK(mps_create_simple(c, "l", MPS_KIND_LIST, MPS_TYPE_STRING));
	mps_value *v = calloc(2000, sizeof(*v));
	char     (*s)[64] = calloc(2000, 64);
	PT_TRUE(v && s);
	for (int k = 0; k < 10; k++) {
		for (int i = 0; i < 2000; i++) {
			snprintf(s[i], 64, "element %d of batch %d, padded to take some room", i, k);
			v[i] = mps_str(s[i]);
		}
		PT_OK(mps_list_extend(c, "l", v, 2000, NULL));
	}
	free(v);
	free(s);
	for (int i = 0; i < 50; i++) {
		char nm[32];
		snprintf(nm, sizeof(nm), "c%d", i);
		PT_OK(mps_create_simple(c, nm, MPS_KIND_VALUE, MPS_TYPE_INT64));
	}
	mps_close(c);
	pt_stop(&d);
	char cmd[800];
	snprintf(cmd, sizeof(cmd), "cp '%s' '%s'", d.db, path);
	PT_TRUE(system(cmd) == 0, "%s", cmd);
	pt_done(&d);
}

static void accepted(const char *what, const char *db)
{
	mpst_daemon d;
	const char *args[] = {"--db", db, NULL}; /* the last --db wins */
	pt_start(&d, args);
	mps_client *c = pt_connect(&d);
	PT_OK(mps_create_simple(c, "x", MPS_KIND_VALUE, MPS_TYPE_INT64));
	mps_close(c);
	pt_stop(&d);
	PT_TRUE(pt_sql_int(db, "PRAGMA application_id") == (long long)0x4d505354,
	    "%s: application_id not set", what);
	PT_TRUE(pt_sql_int(db, "PRAGMA user_version") == 2, "%s: user_version", what);
	pt_done(&d);
	printf("ok  %-28s created as an mpstore database\n", what);
}

int main(void)
{
	pt_init();
	alarm(120);
	const char *tmp = getenv("TMPDIR");
	snprintf(tmpdir, sizeof(tmpdir), "%s/mpst-bad.XXXXXX", tmp ? tmp : "/tmp");
	PT_TRUE(mkdtemp(tmpdir) != NULL);
	char p[512];

	/* a text file */
	snprintf(p, sizeof(p), "%s/notes.txt", tmpdir);
	const char text[] = "these are my notes, not a database\nsecond line\n";
	PT_TRUE(pt_write_file(p, text, strlen(text)) == 0);
	expect_refused("text file", p, "not an mpstore database");

	/* a text file that is long enough to hold a SQLite header */
	snprintf(p, sizeof(p), "%s/long.txt", tmpdir);
	char big[8192];
	memset(big, 'x', sizeof(big));
	PT_TRUE(pt_write_file(p, big, sizeof(big)) == 0);
	expect_refused("8 KiB of text", p, "not an mpstore database");

	/* another application's SQLite database */
	snprintf(p, sizeof(p), "%s/other.db", tmpdir);
	PT_TRUE(pt_sql_exec(p, "CREATE TABLE foo(a, b); INSERT INTO foo VALUES (1, 'two');") == 0);
	expect_refused("another application's db", p, "not an mpstore database");

	/* another application's database in WAL mode with application_id set */
	snprintf(p, sizeof(p), "%s/other2.db", tmpdir);
	PT_TRUE(pt_sql_exec(p, "PRAGMA application_id = 1234; CREATE TABLE log(x);") == 0);
	expect_refused("db with another app id", p, "another application");

	/* ours, from a newer mpstored */
	snprintf(p, sizeof(p), "%s/newer.db", tmpdir);
	make_db(p);
	PT_TRUE(pt_sql_exec(p, "PRAGMA user_version = 99;") == 0);
	expect_refused("newer format version", p, "newer");

	/* ours with a foreign table, and with a missing table */
	snprintf(p, sizeof(p), "%s/foreign.db", tmpdir);
	make_db(p);
	PT_TRUE(pt_sql_exec(p, "CREATE TABLE extra(x);") == 0);
	expect_refused("foreign table", p, "extra");
	snprintf(p, sizeof(p), "%s/missing.db", tmpdir);
	make_db(p);
	PT_TRUE(pt_sql_exec(p, "DROP VIEW containers; DROP VIEW snapshot_current; DROP TABLE log;") == 0);
	expect_refused("missing table", p, "log");

	/* ours, corrupt: bytes overwritten in the middle. VACUUM first: the
	 * compacted log leaves free pages, and junk in a free page is not
	 * corruption anyone can see (or needs to) */
	snprintf(p, sizeof(p), "%s/corrupt.db", tmpdir);
	make_db(p);
	PT_TRUE(pt_sql_exec(p, "VACUUM;") == 0);
	PT_TRUE(pt_sql_int(p, "PRAGMA freelist_count") == 0, "free pages after VACUUM");
	long long sz = pt_file_size(p);
	PT_TRUE(sz > 64 * 1024, "test db is only %lld bytes", sz);
	int fd = open(p, O_WRONLY);
	PT_TRUE(fd >= 0);
	char junk[16384];
	for (size_t i = 0; i < sizeof(junk); i++)
		junk[i] = (char)(i * 131 + 7);
	PT_TRUE(pwrite(fd, junk, sizeof(junk), (sz / 2) & ~4095LL) == (ssize_t)sizeof(junk));
	close(fd);
	expect_refused("corrupt pages", p, "corrupt");

	/* ours, with a log record SQLite reads fine but that is not a change:
	 * recovery stops there, and the daemon must not write a "final
	 * snapshot" of the half-recovered store over the file */
	{
		mpst_daemon d;
		pt_start(&d, NULL);
		mps_client *c = pt_connect(&d);
		PT_OK(mps_create_simple(c, "l", MPS_KIND_LIST, MPS_TYPE_INT64));
		for (int i = 0; i < 20; i++) {
			mps_value x = mps_int(i);
			PT_OK(mps_list_append(c, "l", &x, NULL));
		}
		mps_close(c);
		pt_kill9(&d);
		snprintf(p, sizeof(p), "%s/badrecord.db", tmpdir);
		PT_TRUE(pt_sql_exec(d.db, "PRAGMA wal_checkpoint(TRUNCATE);") == 0);
		char cmd[1200];
		snprintf(cmd, sizeof(cmd), "cp '%s' '%s'", d.db, p);
		PT_TRUE(system(cmd) == 0, "%s", cmd);
		pt_done(&d);
		/* a well-formed log row (docs/persistence.md) of one record: rev
		 * (one varint byte below 128), kind 0, name "l", 7 bytes of junk */
		PT_TRUE(pt_sql_int(p, "SELECT rev_lo FROM log ORDER BY seq LIMIT 1 OFFSET 10") < 128);
		PT_TRUE(pt_sql_exec(p, "UPDATE log SET rev_hi = rev_lo, n = 1, bytes = 7,"
		                       " recs = CAST(CAST(char(rev_lo) AS BLOB) || x'0001' || CAST('l' AS BLOB)"
		                       " || x'07ffffffffff0102' AS BLOB) WHERE seq = "
		                       "(SELECT seq FROM log ORDER BY seq LIMIT 1 OFFSET 10);") == 0);
		expect_refused("undecodable log record", p, "undecodable");
	}

	/* ours, read-only (0444; the daemon must not write even as root) */
	snprintf(p, sizeof(p), "%s/readonly.db", tmpdir);
	make_db(p);
	PT_TRUE(chmod(p, 0444) == 0);
	expect_refused("read-only file", p, "read-only");
	chmod(p, 0644);

	/* ours, in use by another daemon */
	{
		mpst_daemon d;
		pt_start(&d, NULL);
		mps_client *c = pt_connect(&d);
		PT_OK(mps_create_simple(c, "x", MPS_KIND_LIST, MPS_TYPE_INT64));
		mps_close(c);
		/* the file changes under its daemon, so compare nothing but the
		 * refusal; then the first daemon still serves */
		char err[4096];
		int  st = pt_run_daemon(tmpdir, d.db, err, sizeof(err));
		PT_TRUE(st != 0 && strstr(err, "in use") != NULL,
		    "a second daemon on the same file: exit %d, stderr: %s", st, err);
		c = pt_connect(&d);
		int64_t len;
		PT_OK(mps_list_len(c, "x", &len));
		mps_close(c);
		pt_stop(&d);
		pt_done(&d);
		char *nl = strchr(err, '\n');
		if (nl)
			*nl = '\0';
		printf("ok  %-28s exit %d: %s\n", "in use by another mpstored", st, err);
	}

	/* accepted: a missing file, an empty file */
	snprintf(p, sizeof(p), "%s/new.db", tmpdir);
	accepted("missing file", p);
	snprintf(p, sizeof(p), "%s/empty.db", tmpdir);
	PT_TRUE(pt_write_file(p, "", 0) == 0);
	accepted("empty file", p);

	char cmd[400];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	if (getenv("MPST_KEEP") == NULL && system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", tmpdir);
	printf("persist_badfile_test: all passed\n");
	return 0;
}
