/* client_monitor_test.c - OP_MONITOR (`mpstore monitor`) against a real
 * mpstored: every request shows as a line (who sent it, its ops, never a
 * MAC), a monitor's own polls do not; a poll waits for the next request
 * and is answered when it comes; a monitor that falls behind is told how
 * many lines it lost and the ring stays bounded; at most 16 monitors; and
 * once the last monitor has gone the daemon keeps nothing. */
#include <pthread.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "client_test_util.h"
#include "support.h"

static mpst_daemon d;

static mps_client *
open_named(const char *url, const char *name)
{
	mps_client *c;
	setenv("MPSTORE_CLIENT_NAME", name, 1);
	CT_OK(mps_open(&c, url, 5000));
	unsetenv("MPSTORE_CLIENT_NAME");
	return c;
}

static long long
stat_num(mps_client *c, const char *key)
{
	mps_stat *s;
	size_t    n;
	long long v = -1;
	CT_OK(mps_daemon_info(c, NULL, &s, &n, NULL, NULL));
	for (size_t i = 0; i < n; i++) {
		if (strcmp(s[i].key, key) == 0) {
			v = atoll(s[i].value);
		}
	}
	free(s);
	return v;
}

/* Poll until a line containing want has come (or a minute passed); every
 * line seen is checked against never (may be NULL). */
static int
poll_for(mps_client *mon, uint64_t *cursor, const char *want, const char *never)
{
	for (long long t0 = mpst_now_ms(); mpst_now_ms() - t0 < 60000;) {
		mps_value *lines;
		size_t     n;
		CT_OK(mps_monitor(mon, cursor, 1000, &lines, &n, NULL));
		int found = 0;
		for (size_t i = 0; i < n; i++) {
			const char *l = lines[i].u.s.ptr;
			CT_TRUE(lines[i].type == MPS_STRING);
			if (never != NULL && strstr(l, never) != NULL) {
				fprintf(stderr, "unexpected line: %s\n", l);
				CT_TRUE(!"a line that must not show");
			}
			found |= strstr(l, want) != NULL;
		}
		mps_values_free(lines, n);
		if (found) {
			return 1;
		}
	}
	return 0;
}

static void
test_lines(void)
{
	mps_client *mon = open_named(d.url, "watcher"), *w = open_named(d.url, "writer");
	uint64_t    cursor = 0;
	mps_value  *lines;
	size_t      n;
	/* the first call starts monitoring from now */
	CT_OK(mps_monitor(mon, &cursor, 0, &lines, &n, NULL));
	CT_TRUE(n == 0 && cursor > 0);
	CT_TRUE(stat_num(w, "monitors") == 1);
	CT_OK(mps_create_simple(w, "m.jobs", MPS_KIND_LIST, MPS_TYPE_INT64));
	mps_value seven = mps_int(7), k = mps_str("mode"), v = mps_str("fast \"q\"");
	CT_OK(mps_list_append(w, "m.jobs", &seven, NULL));
	CT_OK(mps_create_simple(w, "m.cfg", MPS_KIND_DICT, MPS_TYPE_ANY));
	CT_OK(mps_dict_set(w, "m.cfg", &k, &v));
	/* in order, with the sender's connection, name and pid */
	char who[64];
	snprintf(who, sizeof(who), " writer %ld] ", (long) getpid());
	uint64_t before = cursor;
	CT_OK(mps_monitor(mon, &cursor, 1000, &lines, &n, NULL));
	CT_TRUE(n >= 4 && cursor == before + n);
	int at_append = -1, at_set = -1;
	for (size_t i = 0; i < n; i++) {
		const char *l = lines[i].u.s.ptr;
		CT_TRUE(strstr(l, "monitor") == NULL); /* the monitor's own polls do not show */
		double t = atof(l);
		CT_TRUE(t > (double) time(NULL) - 600 && t < (double) time(NULL) + 600);
		if (strstr(l, "list_append \"m.jobs\" 7") != NULL) {
			CT_TRUE(strstr(l, who) != NULL);
			at_append = (int) i;
		}
		if (strstr(l, "dict_set \"m.cfg\" \"mode\" \"fast \\\"q\\\"\"") != NULL) {
			at_set = (int) i;
		}
	}
	CT_TRUE(at_append >= 0 && at_set > at_append);
	mps_values_free(lines, n);
	mps_close(w);
	mps_close(mon);
}

typedef struct poller {
	mps_client  *mon;
	uint64_t     cursor;
	volatile int stop;
	mps_err      e;
} poller;

/* Polls that may wait five minutes each: only a wake-up ends them in time. */
static void *
poll_main(void *arg)
{
	poller *p = arg;
	while (!p->stop && p->e == MPS_OK) {
		mps_value *lines;
		size_t     n;
		if ((p->e = mps_monitor(p->mon, &p->cursor, 300000, &lines, &n, NULL)) == MPS_OK) {
			mps_values_free(lines, n);
		}
	}
	return NULL;
}

/* A poll waits in the daemon (parked), and the next request answers it:
 * told by state (the daemon's parked count) and by the test's own time
 * limit, not by how long anything took. */
static void
test_long_poll(void)
{
	mps_client *w = open_named(d.url, "writer");
	poller      p = {NULL, 0, 0, MPS_OK};
	mps_value  *lines;
	size_t      n;
	setenv("MPSTORE_CLIENT_NAME", "watcher", 1);
	CT_OK(mps_open(&p.mon, d.url, 600000)); /* allows polls of 300 s */
	unsetenv("MPSTORE_CLIENT_NAME");
	CT_OK(mps_monitor(p.mon, &p.cursor, 0, &lines, &n, NULL));
	pthread_t t;
	CT_TRUE(pthread_create(&t, NULL, poll_main, &p) == 0);
	for (long long t0 = mpst_now_ms(); stat_num(w, "parked") < 1; mpst_sleep_ms(5)) {
		CT_TRUE(mpst_now_ms() - t0 < 60000);
	}
	p.stop = 1;
	CT_OK(mps_ping(w)); /* in case it parked again before seeing stop */
	pthread_join(t, NULL); /* a broken wake-up hangs here past the test's limit */
	CT_OK(p.e);
	mps_close(p.mon);
	mps_close(w);
}

static void
test_lost_lines(void)
{
	mps_client *mon = open_named(d.url, "watcher"), *w = open_named(d.url, "writer");
	uint64_t    cursor = 0, lost = 0;
	mps_value  *lines;
	size_t      n;
	CT_OK(mps_monitor(mon, &cursor, 0, &lines, &n, NULL));
	/* more requests than the daemon keeps lines, while the monitor sleeps */
	mps_batch *b;
	CT_OK(mps_batch_alloc(w, &b));
	mps_op ping = {.code = MPS_OP_PING};
	for (int i = 0; i < 12000; i++) {
		mps_batch_reset(b);
		CT_OK(mps_batch_append(b, &ping));
		CT_OK(mps_batch_exec(b));
	}
	mps_batch_free(b);
	CT_TRUE(stat_num(w, "monitor_lines") <= 10000);
	uint64_t before = cursor;
	CT_OK(mps_monitor(mon, &cursor, 0, &lines, &n, &lost));
	CT_TRUE(lost >= 2000 && n > 0 && cursor == before + lost + n);
	CT_TRUE(strstr(lines[0].u.s.ptr, "ping") != NULL);
	mps_values_free(lines, n);
	/* then it goes on from there */
	CT_OK(mps_monitor(mon, &cursor, 0, &lines, &n, &lost));
	CT_TRUE(lost == 0);
	mps_values_free(lines, n);
	mps_close(mon);
	/* the last monitor gone, nothing is kept or counted */
	for (long long t0 = mpst_now_ms(); stat_num(w, "monitors") != 0; mpst_sleep_ms(20)) {
		CT_TRUE(mpst_now_ms() - t0 < 60000);
	}
	CT_TRUE(stat_num(w, "monitor_lines") == 0);
	mps_close(w);
}

/* Not in a txn: the txn fails, nothing monitors. */
static void
test_not_in_txn(void)
{
	mps_client *c = open_named(d.url, "txn");
	mps_batch  *b;
	mps_value   yes = mps_bool(1);
	CT_OK(mps_batch_alloc(c, &b));
	CT_OK(mps_txn_compare(b, "nothing", MPS_TARGET_EXISTS, MPS_CMP_NE, NULL, &yes));
	mps_op op = {.code = MPS_OP_MONITOR};
	CT_OK(mps_batch_append(b, &op));
	CT_CHECK(mps_batch_exec(b), MPS_ERR_INVALID);
	mps_batch_free(b);
	CT_TRUE(stat_num(c, "monitors") == 0);
	mps_close(c);
}

static void
test_limit(void)
{
	mps_client *m[17];
	uint64_t    cursor;
	mps_value  *lines;
	size_t      n;
	for (int i = 0; i < 17; i++) {
		m[i]   = open_named(d.url, "many");
		cursor = 0;
		CT_CHECK(mps_monitor(m[i], &cursor, 0, &lines, &n, NULL),
		    i < 16 ? MPS_OK : MPS_ERR_LIMIT);
	}
	for (int i = 0; i < 17; i++) {
		mps_close(m[i]);
	}
}

/* With a key, OP_AUTH shows as an op, never its MAC. */
static void
test_auth_hidden(void)
{
	mpst_daemon da;
	char        keyfile[400];
	snprintf(keyfile, sizeof(keyfile), "/tmp/mpst_monkey.%d", (int) getpid());
	FILE *f = fopen(keyfile, "w");
	CT_TRUE(f != NULL);
	fputs("sesame\n", f);
	fclose(f);
	const char *args[] = {"--auth-key-file", keyfile, "--pub", "", NULL};
	CT_TRUE(mpst_daemon_start(&da, args) == 0);
	mps_client *mon, *w;
	CT_OK(mps_open_auth(&mon, da.url, 5000, "sesame", 6));
	uint64_t   cursor = 0;
	mps_value *lines;
	size_t     n;
	CT_OK(mps_monitor(mon, &cursor, 0, &lines, &n, NULL));
	CT_OK(mps_open_auth(&w, da.url, 5000, "sesame", 6));
	CT_TRUE(poll_for(mon, &cursor, "auth <mac>", NULL));
	mps_close(w);
	mps_close(mon);
	mpst_daemon_cleanup(&da);
	unlink(keyfile);
}

static void
stop_daemon(void)
{
	mpst_daemon_cleanup(&d);
}

int
main(void)
{
	ct_on_fail = stop_daemon;
	if (mpst_daemon_start(&d, NULL) != 0) {
		fprintf(stderr, "cannot start mpstored (see %s)\n", d.log);
		return 1;
	}
	static const ct_test tests[] = {
		{"lines", test_lines},
		{"long_poll", test_long_poll},
		{"lost_lines", test_lost_lines},
		{"not_in_txn", test_not_in_txn},
		{"limit", test_limit},
		{"auth_hidden", test_auth_hidden},
		{NULL, NULL},
	};
	ct_run(tests);
	mpst_daemon_cleanup(&d);
	return 0;
}
