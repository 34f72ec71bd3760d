/*
 * persist_backup_test - online backups while clients write.
 *
 * Writer threads append to a list without pause; meanwhile a backup is
 * taken with mps_backup and another with the CLI (`mpstore backup NAME`),
 * each into the daemon's --backup-dir. Each copy passes PRAGMA
 * integrity_check, is an mpstore database, and a fresh daemon started on
 * it (--db copy) serves a consistent state: every writer's elements form a
 * gap-free prefix, at least as long as what was acknowledged before the
 * backup began. Backing up onto an existing file is refused (ERR_EXISTS)
 * and the file is left alone; a path instead of a name ("../x", "a/b",
 * "/tmp/x", ".hidden", "..") is refused (ERR_INVALID) and nothing is
 * written anywhere; without --backup-dir every backup is refused (the op
 * once wrote a database copy at any path a client named); in memory mode
 * there is nothing to back up.
 */
#include "persist_common.h"

#include <pthread.h>

#define NWRITERS 3
#define SEQ      100000000LL

typedef struct writer {
	mps_client  *c;
	int          id;
	volatile int stop;
	volatile long long acked;
	char         err[200];
} writer;

static void *writer_main(void *arg)
{
	writer *w = arg;
	for (long long i = 0; !w->stop; i++) {
		mps_value x = mps_int(w->id * SEQ + i);
		mps_err   e = mps_list_append(w->c, "l", &x, NULL);
		if (e != MPS_OK) {
			snprintf(w->err, sizeof(w->err), "%s (%s)", mps_err_name(e), mps_last_error());
			break;
		}
		w->acked = i + 1;
	}
	return NULL;
}

static void sql_text(const char *db, const char *sql, char *out, size_t len)
{
	sqlite3      *h = NULL;
	sqlite3_stmt *s = NULL;
	out[0] = '\0';
	PT_TRUE(sqlite3_open_v2(db, &h, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK, "open %s", db);
	if (sqlite3_prepare_v2(h, sql, -1, &s, NULL) == SQLITE_OK && sqlite3_step(s) == SQLITE_ROW)
		snprintf(out, len, "%s", (const char *)sqlite3_column_text(s, 0));
	else
		snprintf(out, len, "error: %s", sqlite3_errmsg(h));
	sqlite3_finalize(s);
	sqlite3_close(h);
}

/* Start a daemon on the copy and check it. */
static void check_copy(const char *what, const char *copy, const long long *acked_before)
{
	char txt[256];
	sql_text(copy, "PRAGMA integrity_check", txt, sizeof(txt));
	PT_TRUE(strcmp(txt, "ok") == 0, "%s: integrity_check: %s", what, txt);
	PT_TRUE(pt_sql_int(copy, "PRAGMA application_id") == 0x4d505354LL, "%s: application_id",
	    what);
	mpst_daemon d;
	const char *args[] = {"--db", copy, NULL};
	pt_start(&d, args);
	mps_client *c = pt_connect(&d);
	mps_value  *v = NULL;
	size_t      n = 0;
	PT_OK(mps_list_slice(c, "l", 0, 0, 0, &v, &n));
	long long next[NWRITERS + 1] = {0};
	for (size_t i = 0; i < n; i++) {
		PT_TRUE(v[i].type == MPS_INT, "%s: element type", what);
		int       id = (int)(v[i].u.i / SEQ);
		long long seq = v[i].u.i % SEQ;
		PT_TRUE(id >= 0 && id <= NWRITERS && seq == next[id],
		    "%s: element %zu is %lld, not writer %d's next (%lld): the copy is not consistent",
		    what, i, (long long)v[i].u.i, id, id >= 0 && id <= NWRITERS ? next[id] : -1);
		next[id]++;
	}
	mps_values_free(v, n);
	PT_TRUE(next[0] == 10000, "%s: the bulk part has %lld of 10000", what, next[0]);
	for (int k = 1; k <= NWRITERS; k++)
		PT_TRUE(next[k] >= acked_before[k - 1],
		    "%s: writer %d has %lld elements in the copy, %lld were acknowledged before the "
		    "backup", what, k, next[k], acked_before[k - 1]);
	mps_info info;
	PT_OK(mps_info_get(c, "meta", &info));
	mps_info_free(&info);
	/* the copy is a working database: it takes writes */
	mps_value x = mps_int(-1);
	PT_OK(mps_list_append(c, "l", &x, NULL));
	mps_close(c);
	pt_stop(&d);
	pt_done(&d);
	printf("ok  %s: %zu elements, consistent, daemon starts on it\n", what, n);
}

int main(void)
{
	pt_init();
	alarm(120);
	mpst_daemon d;
	char        bdir[300];
	const char *tmp = getenv("TMPDIR");
	snprintf(bdir, sizeof(bdir), "%s/mpst-backups.XXXXXX", tmp ? tmp : "/tmp");
	PT_TRUE(mkdtemp(bdir) != NULL);
	const char *args[] = {"--durability", "log", "--backup-dir", bdir, NULL};
	pt_start(&d, args);
	mps_client *c = pt_connect(&d);
	PT_OK(mps_create_simple(c, "l", MPS_KIND_LIST, MPS_TYPE_INT64));
	PT_OK(mps_create_simple(c, "meta", MPS_KIND_DICT, MPS_TYPE_ANY));
	/* some bulk first, so that the copy takes a moment */
	mps_value *bulk = calloc(10000, sizeof(*bulk));
	PT_TRUE(bulk != NULL);
	for (int i = 0; i < 10000; i++)
		bulk[i] = mps_int(i); /* "writer" 0 */
	PT_OK(mps_list_extend(c, "l", bulk, 10000, NULL));
	free(bulk);

	writer    w[NWRITERS];
	pthread_t th[NWRITERS];
	for (int i = 0; i < NWRITERS; i++) {
		memset(&w[i], 0, sizeof(w[i]));
		w[i].c = pt_connect(&d);
		w[i].id = i + 1;
		PT_TRUE(pthread_create(&th[i], NULL, writer_main, &w[i]) == 0);
	}
	mpst_sleep_ms(150);

	/* backup 1: the API */
	char copy1[400], copy2[400];
	snprintf(copy1, sizeof(copy1), "%s/copy1.db", bdir);
	snprintf(copy2, sizeof(copy2), "%s/copy2.db", bdir);
	long long before1[NWRITERS], before2[NWRITERS];
	for (int i = 0; i < NWRITERS; i++)
		before1[i] = w[i].acked;
	PT_OK(mps_backup(c, "copy1.db"));
	mpst_sleep_ms(100);

	/* backup 2: the CLI */
	for (int i = 0; i < NWRITERS; i++)
		before2[i] = w[i].acked;
	const char *argv[] = {mpst_cli_path(), "--url", d.url, "backup", "copy2.db", NULL};
	char out[1024], err[1024];
	int  st = mpst_run(argv, out, sizeof(out), err, sizeof(err));
	PT_TRUE(st == 0, "mpstore backup: exit %d, stdout %s, stderr %s", st, out, err);
	mpst_sleep_ms(50);

	/* onto an existing file: refused, file untouched */
	long long sz0, sz1;
	uint64_t  h0 = pt_file_hash(copy1, &sz0);
	PT_ERR(mps_backup(c, "copy1.db"), MPS_ERR_EXISTS);
	uint64_t h1 = pt_file_hash(copy1, &sz1);
	PT_TRUE(h0 == h1 && sz0 == sz1, "a refused backup changed the existing file");
	/* nor over a symbolic link in the directory (it is an existing file) */
	char link[400], target[400];
	snprintf(link, sizeof(link), "%s/link.db", bdir);
	snprintf(target, sizeof(target), "%s/target.db", d.dir);
	PT_TRUE(symlink(target, link) == 0);
	PT_ERR(mps_backup(c, "link.db"), MPS_ERR_EXISTS);
	PT_TRUE(!pt_exists(target), "a backup followed a symbolic link");

	/* names, not paths: refused, nothing written anywhere */
	static const char *const bad[] = {"../escape.db", "sub/x.db", "/tmp/abs.db", ".hidden",
	    "..", ".", ""};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		mps_err e = mps_backup(c, bad[i]);
		PT_TRUE(e == MPS_ERR_INVALID, "backup '%s': %s (%s), want ERR_INVALID", bad[i],
		    mps_err_name(e), mps_last_error());
	}
	char esc[400];
	snprintf(esc, sizeof(esc), "%s/../escape.db", bdir);
	PT_TRUE(!pt_exists(esc) && !pt_exists("/tmp/abs.db"), "a refused backup wrote a file");
	const char *cargv[] = {mpst_cli_path(), "--url", d.url, "backup", "../cli-escape.db", NULL};
	st = mpst_run(cargv, out, sizeof(out), err, sizeof(err));
	PT_TRUE(st != 0 && strstr(err, "file name") != NULL,
	    "mpstore backup ../x: exit %d, stderr %s", st, err);
	printf("ok  paths, hidden names and existing files refused: %s", err);

	long long total = 0;
	for (int i = 0; i < NWRITERS; i++) {
		w[i].stop = 1;
		pthread_join(th[i], NULL);
		PT_TRUE(w[i].err[0] == '\0', "writer %d failed during the backups: %s", i, w[i].err);
		total += w[i].acked;
		mps_close(w[i].c);
	}
	mps_close(c);
	pt_stop(&d);
	printf("ok  2 backups while %d writers appended %lld elements\n", NWRITERS, total);

	check_copy("mps_backup copy", copy1, before1);
	check_copy("mpstore backup copy", copy2, before2);
	pt_done(&d);

	/* no --backup-dir: every backup is refused, naming the flag */
	pt_start(&d, NULL);
	c = pt_connect(&d);
	mps_err e = mps_backup(c, "copy.db");
	PT_TRUE(e == MPS_ERR_INVALID && strstr(mps_last_error(), "--backup-dir") != NULL,
	    "backup without --backup-dir: %s (%s)", mps_err_name(e), mps_last_error());
	snprintf(copy1, sizeof(copy1), "%s/copy.db", d.dir);
	PT_TRUE(!pt_exists(copy1) && !pt_exists("copy.db"), "a backup without --backup-dir wrote");
	mps_close(c);
	pt_stop(&d);
	pt_done(&d);
	printf("ok  without --backup-dir backups are refused\n");
	/* a --backup-dir that is not a directory: the daemon does not start */
	const char *nargv[] = {mpst_mpstored_path(), "--backup-dir", copy2, "--db", ":memory:", NULL};
	st = mpst_run(nargv, out, sizeof(out), err, sizeof(err));
	PT_TRUE(st == 2 && strstr(err, "--backup-dir") != NULL,
	    "--backup-dir on a file: exit %d, stderr %s", st, err);

	/* memory mode: nothing to back up */
	const char *margs[] = {"--durability", "memory", "--backup-dir", bdir, NULL};
	pt_start(&d, margs);
	c = pt_connect(&d);
	snprintf(copy1, sizeof(copy1), "%s/copy.db", d.dir);
	PT_ERR(mps_backup(c, "copy.db"), MPS_ERR_INVALID);
	PT_TRUE(!pt_exists(copy1), "memory mode made a backup file");
	mps_close(c);
	pt_stop(&d);
	pt_done(&d);
	printf("ok  memory mode: backup refused (%s)\n", "ERR_INVALID");
	char cmd[400];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", bdir);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", bdir);
	printf("persist_backup_test: all passed\n");
	return 0;
}
