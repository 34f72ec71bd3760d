/*
 * persist_walsync_test - `--durability log` syncs the write-ahead log about
 * once a second after commits (Redis's appendfsync everysec), and only then:
 *   - after writes, the daemon's wal_syncs count grows within ~2 s;
 *   - an idle daemon does not sync;
 *   - a WAL removed from under the daemon (its changes would be lost on
 *     power loss) is noticed at the next sync: the daemon turns read-only
 *     and refuses writes, as after any failed write;
 *   - `memory` mode never syncs.
 */
#include "persist_common.h"

/* Wait until stat `key` is at least `want` (up to ms); its value. */
static long long wait_stat(mps_client *c, const char *key, long long want, int ms)
{
	long long end = mpst_now_ms() + ms, v;
	while ((v = pt_stat(c, key)) < want && mpst_now_ms() < end)
		mpst_sleep_ms(50);
	return v;
}

/* Wait until wal_syncs stays the same for steady_ms (up to ms): every
 * commit made so far is synced and no sync is due. Its value. */
static long long wait_steady(mps_client *c, int steady_ms, int ms)
{
	long long end = mpst_now_ms() + ms, v = pt_stat(c, "wal_syncs"), since = mpst_now_ms();
	while (mpst_now_ms() < end) {
		mpst_sleep_ms(100);
		long long w = pt_stat(c, "wal_syncs");
		if (w != v) {
			v = w;
			since = mpst_now_ms();
		} else if (mpst_now_ms() - since >= steady_ms) {
			return v;
		}
	}
	PT_FAIL("wal_syncs never settled (last %lld)", v);
}

static void syncs_follow_writes(void)
{
	const char *args[] = {"--durability", "log", "--snapshot-interval", "0", NULL};
	mpst_daemon d;
	pt_start(&d, args);
	mps_client *c = pt_connect(&d);
	PT_TRUE(pt_stat(c, "wal_syncs") == 0, "no sync before any write");
	PT_OK(mps_create_simple(c, "n", MPS_KIND_VALUE, MPS_TYPE_INT64));
	mps_value one = mps_int(1);
	PT_OK(mps_value_add(c, "n", &one, NULL));
	long long s1 = wait_stat(c, "wal_syncs", 1, 3000);
	PT_TRUE(s1 >= 1, "a sync within 3 s of a write (wal_syncs=%lld)", s1);
	/* the two commits above may take two syncs: let them settle */
	s1 = wait_steady(c, 1500, 6000);
	/* idle: the count stays (the stats op itself writes nothing) */
	mpst_sleep_ms(2500);
	long long s2 = pt_stat(c, "wal_syncs");
	PT_TRUE(s2 == s1, "no syncs while idle (%lld -> %lld)", s1, s2);
	/* more writes over ~2.5 s: about one sync a second, not one per write */
	long long end = mpst_now_ms() + 2500;
	int       writes = 0;
	while (mpst_now_ms() < end) {
		PT_OK(mps_value_add(c, "n", &one, NULL));
		writes++;
		mpst_sleep_ms(5);
	}
	long long s3 = wait_stat(c, "wal_syncs", s2 + 2, 3000);
	PT_TRUE(s3 >= s2 + 2 && s3 <= s2 + 6, "about one sync a second (%lld -> %lld after %d writes)",
	    s2, s3, writes);

	/* the WAL goes away: the next sync fails and the daemon stops acking */
	wait_steady(c, 1500, 6000); /* no sync due: the write below comes first */
	char wal[400];
	snprintf(wal, sizeof(wal), "%s-wal", d.db);
	PT_TRUE(unlink(wal) == 0, "unlink %s: %s", wal, strerror(errno));
	PT_OK(mps_value_add(c, "n", &one, NULL)); /* committed before the sync notices */
	long long ro = wait_stat(c, "readonly", 1, 4000);
	PT_TRUE(ro == 1, "read-only after the failed sync (readonly=%lld)", ro);
	mps_err e = mps_value_add(c, "n", &one, NULL);
	PT_TRUE(e == MPS_ERR_READONLY, "writes refused: %s", mps_err_name(e));
	char *log = NULL;
	FILE *f = fopen(d.log, "r");
	PT_TRUE(f != NULL);
	size_t cap = 0;
	ssize_t n = getdelim(&log, &cap, '\0', f);
	fclose(f);
	PT_TRUE(n > 0 && strstr(log, "write-ahead log") != NULL, "the log says why");
	free(log);
	mps_close(c);
	pt_stop(&d);
	pt_done(&d);
}

static void memory_never_syncs(void)
{
	const char *args[] = {"--durability", "memory", NULL};
	mpst_daemon d;
	pt_start(&d, args);
	mps_client *c = pt_connect(&d);
	PT_OK(mps_create_simple(c, "n", MPS_KIND_VALUE, MPS_TYPE_INT64));
	mps_value one = mps_int(1);
	PT_OK(mps_value_add(c, "n", &one, NULL));
	mpst_sleep_ms(1500);
	PT_TRUE(pt_stat(c, "wal_syncs") == 0, "memory mode: no syncs");
	mps_close(c);
	pt_stop(&d);
	pt_done(&d);
}

int main(void)
{
	pt_init();
	alarm(120);
	syncs_follow_writes();
	printf("ok  log mode: the WAL synced about once a second after writes, never while idle\n");
	memory_never_syncs();
	printf("ok  memory mode: no syncs\n");
	printf("persist_walsync_test: all passed\n");
	return 0;
}
