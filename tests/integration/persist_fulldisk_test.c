/*
 * persist_fulldisk_test - a full disk: the database lives on a 1 MiB tmpfs
 * (needs mount(2): root; skipped with a note otherwise, exit 77). Appends
 * go on until one fails; then:
 *   - no write is ever acknowledged falsely: the failing one gets ERR_IO,
 *     later ones ERR_IO or ERR_READONLY (stats: readonly=1);
 *   - the daemon keeps serving reads;
 *   - after the disk grows (tmpfs remount) and the daemon restarts, every
 *     acknowledged append is there and the failed ones are not (their
 *     transaction was rolled back), and writes work again.
 */
#include "persist_common.h"

#include <sys/mount.h>

static char mnt[256];
static int  mounted;

static void unmount_it(void)
{
	if (mounted && umount2(mnt, MNT_DETACH) == 0)
		mounted = 0;
	if (mnt[0])
		rmdir(mnt);
}

int main(void)
{
	pt_init();
	alarm(120);
	const char *tmp = getenv("TMPDIR");
	snprintf(mnt, sizeof(mnt), "%s/mpst-full.XXXXXX", tmp ? tmp : "/tmp");
	PT_TRUE(mkdtemp(mnt) != NULL);
	atexit(unmount_it);
	if (mount("tmpfs", mnt, "tmpfs", 0, "size=1m") != 0) {
		printf("SKIP persist_fulldisk_test: cannot mount a small tmpfs (%s); run as root to "
		       "test a full disk\n", strerror(errno));
		return 77;
	}
	mounted = 1;

	char db[400];
	snprintf(db, sizeof(db), "%s/mpstore.db", mnt);
	const char *args[] = {"--db", db, "--snapshot-interval", "0", NULL};
	mpst_daemon d;
	pt_start(&d, args);
	mps_client *c = pt_connect(&d);
	PT_OK(mps_create_simple(c, "l", MPS_KIND_LIST, MPS_TYPE_STRING));
	PT_OK(mps_create_simple(c, "v", MPS_KIND_VALUE, MPS_TYPE_INT64));
	mps_value seven = mps_int(7);
	PT_OK(mps_value_set(c, "v", &seven));

	/* fill the disk */
	static char big[20000];
	int     acked = 0, failed_at = -1;
	mps_err first = MPS_OK;
	char    first_msg[300] = "";
	for (int i = 0; i < 1000; i++) {
		memset(big, 'a' + i % 26, sizeof(big) - 1);
		int k = snprintf(big, 32, "%06d:", i);
		big[k] = '-';
		mps_value x = mps_strn(big, sizeof(big) - 1);
		mps_err   e = mps_list_append(c, "l", &x, NULL);
		if (e != MPS_OK) {
			failed_at = i;
			first = e;
			snprintf(first_msg, sizeof(first_msg), "%s", mps_last_error());
			break;
		}
		acked++;
	}
	PT_TRUE(failed_at >= 0, "1000 appends of 20 KB fit on a 1 MiB file system?");
	PT_TRUE(first == MPS_ERR_IO, "the append that hit the full disk got %s (%s), want ERR_IO",
	    mps_err_name(first), first_msg);
	printf("ok  append %d hit the full disk: %s: %s\n", failed_at, mps_err_name(first), first_msg);

	/* later writes: refused, never a false ok */
	for (int i = 0; i < 5; i++) {
		mps_value x = mps_str("after the failure");
		mps_err   e = mps_list_append(c, "l", &x, NULL);
		PT_TRUE(e == MPS_ERR_READONLY || e == MPS_ERR_IO,
		    "write after a failed commit: %s (%s), want ERR_READONLY", mps_err_name(e),
		    mps_last_error());
		e = mps_counter_add(c, "v", 1, NULL);
		PT_TRUE(e == MPS_ERR_READONLY || e == MPS_ERR_IO, "counter add after the failure: %s",
		    mps_err_name(e));
	}
	PT_TRUE(pt_stat(c, "readonly") == 1, "stats readonly=%lld", pt_stat(c, "readonly"));
	/* reads go on */
	int64_t v, len;
	PT_OK(mps_counter_get(c, "v", &v));
	PT_TRUE(v == 7, "v = %lld", (long long)v);
	PT_OK(mps_list_len(c, "l", &len));
	PT_TRUE(len >= acked, "list length %lld < %d acknowledged", (long long)len, acked);
	mps_value got;
	PT_OK(mps_list_get(c, "l", 0, &got));
	PT_TRUE(got.type == MPS_STRING && strncmp(got.u.s.ptr, "000000:", 7) == 0, "first element");
	mps_value_free(&got);
	mps_info *in = NULL;
	size_t    n = 0;
	PT_OK(mps_ls(c, NULL, &in, &n));
	PT_TRUE(n == 2, "ls gives %zu containers", n);
	mps_infos_free(in, n);
	uint64_t snaprev;
	mps_err  se = mps_snapshot(c, &snaprev);
	PT_TRUE(se != MPS_OK, "a snapshot of a read-only daemon was acknowledged");
	printf("ok  read-only: writes refused, reads served (length %lld, v %lld); snapshot: %s\n",
	    (long long)len, (long long)v, mps_err_name(se));
	mps_close(c);

	/* more room, restart: exactly the acknowledged appends */
	PT_TRUE(mount("tmpfs", mnt, "tmpfs", MS_REMOUNT, "size=16m") == 0, "remount: %s",
	    strerror(errno));
	int st = mpst_daemon_stop(&d);
	PT_TRUE(st == 0, "mpstored exit status %d after SIGTERM while read-only", st);
	pt_restart(&d);
	c = pt_connect(&d);
	PT_OK(mps_list_len(c, "l", &len));
	PT_TRUE(len == acked, "after restart the list has %lld elements, %d were acknowledged",
	    (long long)len, acked);
	for (int i = 0; i < acked; i += acked / 7 + 1) {
		PT_OK(mps_list_get(c, "l", i, &got));
		char want[16];
		snprintf(want, sizeof(want), "%06d:", i);
		PT_TRUE(got.type == MPS_STRING && got.u.s.len == sizeof(big) - 1 &&
		            strncmp(got.u.s.ptr, want, 7) == 0,
		    "element %d after restart", i);
		mps_value_free(&got);
	}
	PT_OK(mps_counter_get(c, "v", &v));
	PT_TRUE(v == 7, "v = %lld after restart (the refused adds must not count)", (long long)v);
	mps_value x = mps_str("room again");
	PT_OK(mps_list_append(c, "l", &x, NULL));
	PT_OK(mps_snapshot(c, NULL));
	mps_close(c);
	pt_stop(&d);
	printf("ok  after more room and a restart: %d acknowledged appends, none of the failed ones; "
	       "writable again\n", acked);

	/* starting on a full disk says so (it once said "cannot read ...: I/O
	 * error"), and changes nothing; with room again everything is there */
	char fill[400];
	snprintf(fill, sizeof(fill), "%s/fill", mnt);
	int ffd = open(fill, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	PT_TRUE(ffd >= 0, "%s: %s", fill, strerror(errno));
	memset(big, 'f', sizeof(big));
	while (write(ffd, big, sizeof(big)) > 0)
		;
	while (write(ffd, big, 1) > 0)
		;
	close(ffd);
	char wal[420];
	snprintf(wal, sizeof(wal), "%s-wal", db);
	PT_TRUE(!pt_exists(wal), "a -wal file is left after a clean stop");
	pt_expect_refused(d.dir, "start on a full disk", db, "disk full");
	PT_TRUE(unlink(fill) == 0);
	pt_restart(&d);
	c = pt_connect(&d);
	PT_OK(mps_list_len(c, "l", &len));
	PT_TRUE(len == acked + 1, "after the full-disk start the list has %lld elements, want %d",
	    (long long)len, acked + 1);
	PT_OK(mps_counter_get(c, "v", &v));
	PT_TRUE(v == 7, "v = %lld after the full-disk start", (long long)v);
	mps_close(c);
	pt_stop(&d);
	pt_done(&d);
	printf("ok  a start on a full disk is refused, naming the full disk; nothing lost\n");
	printf("persist_fulldisk_test: all passed\n");
	return 0;
}
