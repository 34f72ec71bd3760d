/*
 * persist_snapshot_test - snapshots and compaction.
 *
 * 1. --durability snapshot --snapshot-interval 1: write, wait for the
 *    periodic snapshot (stats: snapshot_revision), write more, kill -9,
 *    restart: the state is exactly the snapshot's (the later writes are
 *    gone, as docs/durability.md says), the log table stays empty, and the
 *    revision restarts from the snapshot's. A graceful stop keeps
 *    everything (final snapshot).
 * 2. --durability log: writer threads append and increment continuously
 *    while mps_snapshot() is called several times (also two at once, and
 *    with > 2,000 snapshot rows so that commits interleave with the
 *    snapshot's pieces); every snapshot compacts the log (no log row at or
 *    below its revision), nothing is lost after kill -9 + restart, and the
 *    log is empty after the final snapshot of a graceful stop.
 * 3. kill -9 while a snapshot (4,000 containers, 70,000-280,000 list
 *    elements) is being written:
 *    the previous snapshot plus the log give everything back, and the
 *    abandoned snapshot's rows are removed at the next open.
 */
#include "persist_common.h"

#include <pthread.h>

/* ---- 1. snapshot mode ---- */

static void list_ints(mps_client *c, const char *name, pt_buf *b)
{
	mps_value *v = NULL;
	size_t     n = 0;
	PT_OK(mps_list_slice(c, name, 0, 0, 0, &v, &n));
	for (size_t i = 0; i < n; i++)
		pt_buf_value(b, &v[i]), pt_buf_add(b, ",");
	mps_values_free(v, n);
}

static char *small_state(mps_client *c)
{
	pt_buf    b = {0};
	mps_info *in = NULL;
	size_t    n = 0;
	PT_OK(mps_ls(c, NULL, &in, &n));
	for (size_t i = 0; i < n; i++)
		pt_buf_add(&b, "%s:%s:%lld:%llu;", in[i].name, mps_kind_name(in[i].kind),
		    (long long)in[i].length, (unsigned long long)in[i].revision);
	mps_infos_free(in, n);
	int64_t v;
	PT_OK(mps_counter_get(c, "n", &v));
	pt_buf_add(&b, "\nn=%lld\nl=", (long long)v);
	list_ints(c, "l", &b);
	return b.s;
}

static void write_some(mps_client *c, int from, int to)
{
	for (int i = from; i < to; i++) {
		mps_value x = mps_int(i);
		PT_OK(mps_list_append(c, "l", &x, NULL));
		PT_OK(mps_counter_add(c, "n", 1, NULL));
	}
}

/* Wait until the periodic snapshot covers revision `rev`; its revision. */
static long long wait_snapshot(mps_client *c, uint64_t rev, int ms)
{
	long long end = mpst_now_ms() + ms, s;
	while ((s = pt_stat(c, "snapshot_revision")) < (long long)rev) {
		PT_TRUE(mpst_now_ms() < end, "no snapshot covering revision %llu within %d ms "
		    "(snapshot_revision %lld)", (unsigned long long)rev, ms, s);
		mpst_sleep_ms(20);
	}
	return s;
}

static void test_snapshot_mode(void)
{
	const char *args[] = {"--durability", "snapshot", "--snapshot-interval", "1", NULL};
	mpst_daemon d;
	long long   t0 = mpst_now_ms();
	pt_start(&d, args);
	mps_client *c = pt_connect(&d);
	PT_OK(mps_create_simple(c, "l", MPS_KIND_LIST, MPS_TYPE_INT64));
	PT_OK(mps_create_simple(c, "n", MPS_KIND_VALUE, MPS_TYPE_INT64));
	char    *s1 = NULL;
	uint64_t rev1 = 0;
	for (int attempt = 0;; attempt++) {
		PT_TRUE(attempt < 3, "the periodic snapshot kept racing with the test's writes");
		write_some(c, attempt * 1000, attempt * 1000 + 100);
		mps_close(c);
		rev1 = pt_revision(&d);
		c = pt_connect(&d);
		long long srev = wait_snapshot(c, rev1, 5000);
		PT_TRUE((uint64_t)srev == rev1, "snapshot revision %lld, state at %llu", srev,
		    (unsigned long long)rev1);
		free(s1);
		s1 = small_state(c);
		/* well within the next second: more writes, then kill -9 */
		write_some(c, attempt * 1000 + 100, attempt * 1000 + 150);
		PT_OK(mps_create_simple(c, "late", MPS_KIND_DICT, MPS_TYPE_ANY));
		uint64_t rev2 = pt_revision(&d);
		PT_TRUE(rev2 > rev1, "revision grew");
		long long srev2 = pt_stat(c, "snapshot_revision");
		long long log_rows = pt_sql_int(d.db, "SELECT coalesce(sum(n), 0) FROM log");
		PT_TRUE(log_rows == 0, "snapshot mode wrote %lld log rows", log_rows);
		pt_kill9(&d);
		mps_close(c);
		if (srev2 == srev)
			break;
		/* a snapshot slipped in between: start again from it */
		pt_restart(&d);
		c = pt_connect(&d);
	}
	pt_restart(&d);
	c = pt_connect(&d);
	char *s2 = small_state(c);
	pt_same_text("snapshot mode after kill -9", s1, s2);
	PT_TRUE(mps_server(c)->revision == rev1, "revision after restart %llu, snapshot's %llu",
	    (unsigned long long)mps_server(c)->revision, (unsigned long long)rev1);
	mps_info info;
	PT_ERR(mps_info_get(c, "late", &info), MPS_ERR_NOT_FOUND);
	/* graceful stop keeps everything, even right after writes */
	write_some(c, 5000, 5040);
	free(s1);
	s1 = small_state(c);
	mps_close(c);
	pt_stop(&d);
	pt_restart(&d);
	c = pt_connect(&d);
	free(s2);
	s2 = small_state(c);
	pt_same_text("snapshot mode after a graceful stop", s1, s2);
	mps_close(c);
	pt_stop(&d);
	pt_done(&d);
	free(s1);
	free(s2);
	printf("ok  snapshot mode: state after kill -9 = last snapshot (%lld ms)\n",
	    mpst_now_ms() - t0);
}

/* ---- 2. snapshots while clients write ---- */

#define NWRITERS 4

typedef struct writer {
	mps_client *c;
	int         id;
	volatile int *stop;
	long long   acked_appends, acked_incs;
	long long   attempted_incs;
	int         failed;
	char        err[200];
} writer;

static void *writer_main(void *arg)
{
	writer *w = arg;
	for (long long i = 0; !*w->stop; i++) {
		mps_value x = mps_int(w->id * 100000000LL + i);
		mps_err   e = mps_list_append(w->c, "l", &x, NULL);
		if (e != MPS_OK) {
			w->failed = 1;
			snprintf(w->err, sizeof(w->err), "append: %s (%s)", mps_err_name(e),
			    mps_last_error());
			break;
		}
		w->acked_appends++;
		w->attempted_incs++;
		if ((e = mps_counter_add(w->c, "n", 1, NULL)) != MPS_OK) {
			w->failed = 1;
			snprintf(w->err, sizeof(w->err), "add: %s (%s)", mps_err_name(e),
			    mps_last_error());
			break;
		}
		w->acked_incs++;
	}
	return NULL;
}

typedef struct snapper {
	mps_client *c;
	mps_err     e;
	uint64_t    rev;
	char        err[200];
} snapper;

static void *snapper_main(void *arg)
{
	snapper *s = arg;
	s->e = mps_snapshot(s->c, &s->rev);
	snprintf(s->err, sizeof(s->err), "%s", mps_last_error());
	return NULL;
}

static void test_compaction_while_writing(void)
{
	const char *args[] = {"--durability", "log", "--snapshot-interval", "0", NULL};
	mpst_daemon d;
	long long   t0 = mpst_now_ms();
	pt_start(&d, args);
	mps_client *c = pt_connect(&d);
	PT_OK(mps_create_simple(c, "l", MPS_KIND_LIST, MPS_TYPE_INT64));
	PT_OK(mps_create_simple(c, "n", MPS_KIND_VALUE, MPS_TYPE_INT64));
	/* 2,500 more containers: the snapshot has > 2,000 rows, so it is put
	 * in several pieces with group commits in between */
	mps_batch *b;
	PT_OK(mps_batch_alloc(c, &b));
	char nm[32];
	for (int i = 0; i < 2500; i++) {
		snprintf(nm, sizeof(nm), "c.%04d", i);
		mps_op op = {.code = MPS_OP_CREATE, .name = nm, .kind = MPS_KIND_VALUE,
		    .elem_type = MPS_TYPE_INT64};
		PT_OK(mps_batch_append(b, &op));
		op = (mps_op){.code = MPS_OP_VALUE_SET, .name = nm, .value = mps_int(i)};
		PT_OK(mps_batch_append(b, &op));
		if (mps_batch_len(b) >= 500) {
			PT_OK(mps_batch_exec(b));
			for (size_t k = 0; k < mps_batch_nresults(b); k++) {
				mps_result r;
				PT_OK(mps_batch_result(b, k, &r));
				PT_TRUE(r.status == MPS_OK, "batch op %zu: %s", k, r.error);
			}
			mps_batch_reset(b);
		}
	}
	mps_batch_free(b);

	volatile int stop = 0;
	writer       w[NWRITERS];
	pthread_t    th[NWRITERS];
	for (int i = 0; i < NWRITERS; i++) {
		memset(&w[i], 0, sizeof(w[i]));
		w[i].c = pt_connect(&d);
		w[i].id = i + 1;
		w[i].stop = &stop;
		PT_TRUE(pthread_create(&th[i], NULL, writer_main, &w[i]) == 0);
	}
	long long max_log = 0, snaps = 0;
	for (int k = 0; k < 6; k++) {
		mpst_sleep_ms(120);
		long long before = pt_sql_int(d.db, "SELECT coalesce(sum(n), 0) FROM log");
		if (before > max_log)
			max_log = before;
		uint64_t srev = 0;
		if (k == 3) {
			/* two snapshots asked at once */
			snapper   s[2];
			pthread_t st[2];
			for (int j = 0; j < 2; j++) {
				memset(&s[j], 0, sizeof(s[j]));
				s[j].c = j == 0 ? c : pt_connect(&d);
				PT_TRUE(pthread_create(&st[j], NULL, snapper_main, &s[j]) == 0);
			}
			for (int j = 0; j < 2; j++) {
				pthread_join(st[j], NULL);
				PT_TRUE(s[j].e == MPS_OK, "concurrent snapshot %d: %s (%s)", j,
				    mps_err_name(s[j].e), s[j].err);
				if (s[j].rev > srev)
					srev = s[j].rev;
			}
			mps_close(s[1].c);
			snaps += 2;
		} else {
			PT_OK(mps_snapshot(c, &srev));
			snaps++;
		}
		char sql[200];
		snprintf(sql, sizeof(sql), "SELECT count(*) FROM log WHERE rev_hi <= %llu",
		    (unsigned long long)srev);
		long long covered = pt_sql_int(d.db, sql);
		PT_TRUE(covered == 0, "snapshot at revision %llu left %lld log rows it covers",
		    (unsigned long long)srev, covered);
		long long floor = pt_sql_int(d.db, "SELECT value FROM meta WHERE key = 'snapshot_rev'");
		PT_TRUE(floor >= (long long)srev, "meta.snapshot_rev %lld < %llu", floor,
		    (unsigned long long)srev);
		for (int i = 0; i < NWRITERS; i++)
			PT_TRUE(!w[i].failed, "writer %d failed during snapshots: %s", i, w[i].err);
	}
	stop = 1;
	long long appends = 0, incs = 0, attempted = 0;
	for (int i = 0; i < NWRITERS; i++) {
		pthread_join(th[i], NULL);
		PT_TRUE(!w[i].failed, "writer %d: %s", i, w[i].err);
		appends += w[i].acked_appends;
		incs += w[i].acked_incs;
		attempted += w[i].attempted_incs;
		mps_close(w[i].c);
	}
	long long log_end = pt_sql_int(d.db, "SELECT coalesce(sum(n), 0) FROM log");
	PT_TRUE(max_log > 0, "the log grew between snapshots");
	/* crash now: recovery is the last snapshot plus the log after it */
	mps_close(c);
	pt_kill9(&d);
	pt_restart(&d);
	c = pt_connect(&d);
	int64_t len, n;
	PT_OK(mps_list_len(c, "l", &len));
	PT_OK(mps_counter_get(c, "n", &n));
	PT_TRUE(len == appends, "list has %lld elements, %lld appends were acknowledged",
	    (long long)len, appends);
	PT_TRUE(n >= incs && n <= attempted, "counter %lld, acknowledged %lld, attempted %lld",
	    (long long)n, incs, attempted);
	/* each writer's values are all there, in its order */
	mps_value *v = NULL;
	size_t     nv = 0;
	PT_OK(mps_list_slice(c, "l", 0, 0, 0, &v, &nv));
	long long next[NWRITERS + 1] = {0};
	for (size_t i = 0; i < nv; i++) {
		PT_TRUE(v[i].type == MPS_INT, "element type");
		int       id = (int)(v[i].u.i / 100000000LL);
		long long seq = v[i].u.i % 100000000LL;
		PT_TRUE(id >= 1 && id <= NWRITERS && seq == next[id],
		    "element %zu is %lld: writer %d's next should be %lld", i, (long long)v[i].u.i, id,
		    id >= 1 && id <= NWRITERS ? next[id] : -1);
		next[id]++;
	}
	mps_values_free(v, nv);
	mps_info info;
	PT_OK(mps_info_get(c, "c.2499", &info));
	mps_info_free(&info);
	int64_t last;
	PT_OK(mps_counter_get(c, "c.2499", &last));
	PT_TRUE(last == 2499, "c.2499 = %lld", (long long)last);
	mps_close(c);
	pt_stop(&d);
	long long log_final = pt_sql_int(d.db, "SELECT coalesce(sum(n), 0) FROM log");
	long long snap_rows = pt_sql_int(d.db, "SELECT count(*) FROM snapshot_current");
	PT_TRUE(log_final == 0, "log has %lld rows after the final snapshot", log_final);
	PT_TRUE(snap_rows > 2000, "snapshot has %lld rows", snap_rows);
	pt_done(&d);
	printf("ok  %lld snapshots while %d writers wrote %lld appends + %lld increments; "
	       "log peaked at %lld rows, %lld at the end, 0 after the final snapshot (%lld ms)\n",
	    snaps, NWRITERS, appends, incs, max_log, log_end, mpst_now_ms() - t0);
}

/* ---- 3. kill -9 in the middle of a snapshot ---- */

static void *snap_thread(void *arg)
{
	snapper *s = arg;
	s->e = mps_snapshot(s->c, &s->rev); /* fails: the daemon dies */
	return NULL;
}

static void test_kill_during_snapshot(void)
{
	const char *args[] = {"--durability", "log", "--snapshot-interval", "0", NULL};
	mpst_daemon d;
	long long   t0 = mpst_now_ms();
	pt_start(&d, args);
	mps_client *c = pt_connect(&d);
	PT_OK(mps_create_simple(c, "l", MPS_KIND_LIST, MPS_TYPE_INT64));
	PT_OK(mps_create_simple(c, "n", MPS_KIND_VALUE, MPS_TYPE_INT64));
	/* 4,000 small containers: the snapshot has > 2,000 rows, so its first
	 * rows are committed before it becomes current */
	mps_batch *b;
	PT_OK(mps_batch_alloc(c, &b));
	for (int i = 0; i < 4000; i++) {
		char nm[32];
		snprintf(nm, sizeof(nm), "k.%04d", i);
		mps_op op = {.code = MPS_OP_CREATE, .name = nm, .kind = MPS_KIND_VALUE,
		    .elem_type = MPS_TYPE_INT64};
		PT_OK(mps_batch_append(b, &op));
		if (mps_batch_len(b) == 1000) {
			PT_OK(mps_batch_exec(b));
			mps_batch_reset(b);
		}
	}
	mps_batch_free(b);
	enum { CHUNK = 10000, TOTAL = 300000 };
	mps_value *v = calloc(CHUNK, sizeof(*v));
	PT_TRUE(v != NULL);
	long long next = 0;
	for (int k = 0; k < TOTAL / CHUNK; k++) {
		for (int i = 0; i < CHUNK; i++)
			v[i] = mps_int(next++);
		PT_OK(mps_list_extend(c, "l", v, CHUNK, NULL));
	}
	/* how long a whole snapshot takes here; kill at fractions of it */
	long long ts = mpst_now_ms();
	PT_OK(mps_snapshot(c, NULL));
	long long full_ms = mpst_now_ms() - ts;
	int       killed_mid = 0, with_rows = 0;
	for (int round = 0; round < 4; round++) {
		for (int i = 0; i < 1000; i++)
			v[i] = mps_int(next++);
		PT_OK(mps_list_extend(c, "l", v, 1000, NULL)); /* in the log only */
		PT_OK(mps_counter_add(c, "n", 1, NULL));
		long long expect = next;
		snapper   s = {.c = c};
		pthread_t th;
		PT_TRUE(pthread_create(&th, NULL, snap_thread, &s) == 0);
		mpst_sleep_ms((int)(full_ms * (round + 1) / 5));
		pt_kill9(&d);
		pthread_join(th, NULL);
		killed_mid += s.e != MPS_OK;
		mps_close(c);
		/* rows the interrupted snapshot had committed (not current) */
		long long pending = pt_sql_int(d.db,
		    "SELECT count(*) FROM snapshot WHERE seq > (SELECT value FROM meta WHERE key = "
		    "'snapshot_last')");
		with_rows += pending > 0;
		pt_restart(&d);
		c = pt_connect(&d);
		int64_t len, n;
		PT_OK(mps_list_len(c, "l", &len));
		PT_OK(mps_counter_get(c, "n", &n));
		PT_TRUE(len == expect && n == round + 1,
		    "after kill -9 during a snapshot: %lld elements (want %lld), n = %lld (want %d)",
		    (long long)len, expect, (long long)n, round + 1);
		mps_value last, first;
		PT_OK(mps_list_get(c, "l", -1, &last));
		PT_OK(mps_list_get(c, "l", 0, &first));
		PT_TRUE(last.type == MPS_INT && last.u.i == expect - 1 && first.u.i == 0, "ends");
		long long orphans = pt_sql_int(d.db,
		    "SELECT count(*) FROM snapshot WHERE seq > (SELECT value FROM meta WHERE key = "
		    "'snapshot_last')");
		PT_TRUE(orphans == 0, "%lld rows of an abandoned snapshot left after restart", orphans);
	}
	free(v);
	mps_close(c);
	pt_stop(&d);
	pt_done(&d);
	printf("ok  kill -9 during snapshots (a snapshot takes %lld ms; %d of 4 cut off, %d with "
	       "rows already written): %lld elements intact (%lld ms)\n", full_ms, killed_mid,
	    with_rows, next, mpst_now_ms() - t0);
}

int main(void)
{
	pt_init();
	alarm(120);
	test_snapshot_mode();
	test_compaction_while_writing();
	test_kill_during_snapshot();
	printf("persist_snapshot_test: all passed\n");
	return 0;
}
