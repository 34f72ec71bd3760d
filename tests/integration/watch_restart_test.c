/* watch_restart_test.c - watching across daemon restarts (log durability):
 * a watcher open while the daemon is killed and started again gets every
 * change, in order, without a resync (the SQLite log has them); a new
 * watcher from an old revision after a kill -9 gets them from the log;
 * after a clean stop (whose final snapshot compacts the log) a watch from
 * an old revision starts with a resync, then the changes after it. */
#include <signal.h>
#include <string.h>

#include "watch_util.h"

static mpst_daemon d;

static void
stop_daemon(void)
{
	mpst_daemon_cleanup(&d);
}

static uint64_t
append_n(mps_client *c, int from, int n)
{
	uint64_t rev = 0;
	for (int i = from; i < from + n; i++) {
		rev = wt_exec(c, &(mps_op){.code = MPS_OP_LIST_APPEND, .name = "r.list", .value = mps_int(i)});
	}
	return rev;
}

/* The appends of values lo..hi-1 in order, after an optional resync. */
static void
check_appends(const wt_log *l, int lo, int hi, int allow_resync)
{
	size_t i = 0;
	if (allow_resync && l->n > 0 && l->v[0].type == MPS_WATCH_RESYNC) {
		i = 1;
	}
	int want = lo;
	for (; i < l->n; i++) {
		const wt_ev *e = &l->v[i];
		if (e->type == MPS_WATCH_CREATED) {
			continue;
		}
		if (e->type != MPS_WATCH_CHANGE || e->change != MPS_CH_LIST_INSERT || e->ival != want) {
			fprintf(stderr, "event %zu: type %d %s value %lld, want append of %d\n", i, e->type,
			    mps_change_type_name(e->change), (long long) e->ival, want);
			ct_die();
		}
		want++;
	}
	if (want != hi) {
		fprintf(stderr, "appends up to %d, want %d\n", want, hi);
		ct_die();
	}
}

int
main(void)
{
	CT_TRUE(mpst_daemon_start(&d, NULL) == 0);
	ct_on_fail = stop_daemon;
	mps_client *c;
	CT_OK(mps_open(&c, d.url, 5000));
	CT_OK(mps_create_simple(c, "r.list", MPS_KIND_LIST, MPS_TYPE_INT64));
	uint64_t r0 = mps_server(c)->revision;

	/* a watcher that lives through the restarts */
	wt_log         llive;
	wt_log_init(&llive);
	mps_client    *cw;
	CT_OK(mps_open(&cw, d.url, 2000));
	mps_watch_opts olive = {.pub_url = d.pub_url, .cb = wt_log_cb, .cb_arg = &llive};
	mps_watcher   *wlive;
	CT_OK(mps_watch(cw, "r.*", &olive, &wlive));

	append_n(c, 0, 100);
	mps_close(c);
	CT_TRUE(mpst_daemon_kill(&d, SIGKILL) >= 0);
	mpst_sleep_ms(300);
	CT_TRUE(mpst_daemon_restart(&d) == 0);
	CT_OK(mps_open(&c, d.url, 5000));
	uint64_t last = append_n(c, 100, 50);

	/* from an old revision, after kill -9: from the log, no resync */
	mps_watch_opts o = {.pub_url = d.pub_url, .from_revision = r0 + 1};
	mps_watcher   *w;
	wt_log         l1;
	wt_log_init(&l1);
	CT_OK(mps_watch(c, "r.list", &o, &w));
	wt_pull(w, &l1, last, 200, 15000);
	mps_unwatch(w);
	check_appends(&l1, 0, 150, 0);
	CT_TRUE(l1.v[0].recovered);

	/* the live watcher caught up by itself */
	for (long long end = mpst_now_ms() + 15000;
	     mps_watch_revision(wlive) < last && mpst_now_ms() < end;) {
		mpst_sleep_ms(20);
	}
	mpst_sleep_ms(100);
	pthread_mutex_lock(&llive.mtx);
	check_appends(&llive, 0, 150, 0);
	pthread_mutex_unlock(&llive.mtx);

	/* clean stop: the final snapshot compacts the log */
	mps_close(c);
	CT_TRUE(mpst_daemon_stop(&d) == 0);
	CT_TRUE(mpst_daemon_restart(&d) == 0);
	CT_OK(mps_open(&c, d.url, 5000));
	wt_log l2;
	wt_log_init(&l2);
	CT_OK(mps_watch(c, "r.list", &o, &w));
	last = append_n(c, 150, 10);
	wt_pull(w, &l2, last, 200, 15000);
	mps_watch_stats st;
	mps_watch_stats_get(w, &st);
	mps_unwatch(w);
	CT_TRUE(l2.n > 0 && l2.v[0].type == MPS_WATCH_RESYNC && st.resyncs == 1);
	/* the resync holds 150 or more elements (appends may precede it) */
	int from = (int) l2.v[0].nvalues;
	CT_TRUE(from >= 150 && from <= 160);
	check_appends(&l2, from, 160, 1);

	for (long long end = mpst_now_ms() + 15000;
	     mps_watch_revision(wlive) < last && mpst_now_ms() < end;) {
		mpst_sleep_ms(20);
	}
	mpst_sleep_ms(100);
	mps_unwatch(wlive);
	check_appends(&llive, 0, 160, 0);
	mps_close(cw);
	mps_close(c);
	ct_on_fail = NULL;
	CT_TRUE(mpst_daemon_stop(&d) == 0);
	mpst_daemon_cleanup(&d);
	printf("watch_restart_test: ok\n");
	return 0;
}
