/*
 * persist_recovery_bench [N] - not a test: how long mpstored takes to come
 * back with N (default 1,000,000) list elements, for docs/performance.md.
 *   1. N appends (batches of 1,000 OP_LIST_APPEND through the batch API:
 *      one change record each), --snapshot-interval 0, kill -9: restart
 *      replays N log records;
 *   2. graceful stop (final snapshot), restart: loads the snapshot;
 *   3. the default snapshot interval (60 s / 100,000 changes), kill -9:
 *      snapshot + the log after it.
 * Restart time = spawn until a client's hello is answered.
 */
#include "persist_common.h"

static mps_client *fill(const mpst_daemon *d, long n, double *secs)
{
	mps_client *c = pt_connect(d);
	PT_OK(mps_create_simple(c, "big", MPS_KIND_LIST, MPS_TYPE_INT64));
	mps_batch *b;
	PT_OK(mps_batch_alloc(c, &b));
	long long t0 = mpst_now_ms();
	for (long i = 0; i < n;) {
		mps_batch_reset(b);
		for (int k = 0; k < 1000 && i < n; k++, i++) {
			mps_op op = {.code = MPS_OP_LIST_APPEND, .name = "big", .value = mps_int(i)};
			PT_OK(mps_batch_append(b, &op));
		}
		PT_OK(mps_batch_exec(b));
		mps_result r;
		PT_OK(mps_batch_result(b, mps_batch_nresults(b) - 1, &r));
		PT_TRUE(r.status == MPS_OK, "append: %s", r.error);
	}
	*secs = (mpst_now_ms() - t0) / 1000.0;
	mps_batch_free(b);
	return c;
}

static double timed_restart(mpst_daemon *d, long n)
{
	long long t0 = mpst_now_ms();
	if (mpst_daemon_restart(d) != 0)
		PT_FAIL("restart failed (log %s)", d->log);
	mps_client *c = pt_connect_ms(d, 600000);
	double      s = (mpst_now_ms() - t0) / 1000.0;
	int64_t     len;
	PT_OK(mps_list_len(c, "big", &len));
	PT_TRUE(len == n, "recovered %lld of %ld", (long long)len, n);
	mps_close(c);
	return s;
}

int main(int argc, char **argv)
{
	pt_init();
	long n = argc > 1 ? atol(argv[1]) : 1000000;
	mpst_daemon d;
	double      fill_s;

	const char *a1[] = {"--snapshot-interval", "0", NULL};
	pt_start(&d, a1);
	mps_client *c = fill(&d, n, &fill_s);
	mps_close(c);
	long long log_rows = pt_sql_int(d.db, "SELECT coalesce(sum(n), 0) FROM log");
	pt_kill9(&d);
	printf("appended %ld elements in %.2f s (%.0f appends/s, batches of 1000, log mode)\n", n,
	    fill_s, n / fill_s);
	double r1 = timed_restart(&d, n);
	printf("restart after kill -9, log only (%lld log records): %.3f s\n", log_rows, r1);
	pt_stop(&d);
	long long db_bytes = pt_file_size(d.db);
	double    r2 = timed_restart(&d, n);
	printf("restart after a graceful stop (snapshot only, db %.1f MB): %.3f s\n",
	    db_bytes / 1e6, r2);
	pt_stop(&d);
	pt_done(&d);

	pt_start(&d, NULL); /* default --snapshot-interval 60:100000 */
	c = fill(&d, n, &fill_s);
	mps_close(c);
	log_rows = pt_sql_int(d.db, "SELECT coalesce(sum(n), 0) FROM log");
	pt_kill9(&d);
	double r3 = timed_restart(&d, n);
	printf("default snapshot interval: appended in %.2f s; restart after kill -9 (snapshot + "
	       "%lld log records): %.3f s\n", fill_s, log_rows, r3);
	pt_stop(&d);
	pt_done(&d);
	return 0;
}
