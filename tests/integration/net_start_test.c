/*
 * Starting and stopping the daemon's transport: a second daemon on a
 * served address is refused without disturbing the first (and leaves no
 * file behind), a stale socket file is replaced, ipc sockets are
 * owner-only unless --ipc-mode widens them, protected mode, broken peers,
 * one wake-up per request, and SIGTERM with parked requests.
 */
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <cmocka.h>

#include "net_util.h"

static mpst_daemon d;

static int teardown(void **state)
{
	(void)state;
	mpst_daemon_cleanup(&d);
	return 0;
}

static char out[8192], err[8192];

static int run(const char *const argv[])
{
	out[0] = err[0] = '\0';
	return mpst_run(argv, out, sizeof(out), err, sizeof(err));
}

static int call_status(int fd, int ipc, netu_req *q)
{
	Mpstore__Response *r = netu_call(fd, ipc, q);
	if (r == NULL)
		return -1;
	int st = r->status != 0 ? (int)r->status : (int)r->results[0]->status;
	mpstore__response__free_unpacked(r, NULL);
	return st;
}

typedef struct pinger {
	const char *url;
	volatile int stop;
	long ok, failed;
} pinger;

/* A client making requests until told to stop; counts failures. */
static void *pinger_main(void *arg)
{
	pinger *p = arg;
	int     fd = netu_open(p->url);
	int     ipc = netu_is_ipc(p->url);
	while (!p->stop) {
		netu_req q;
		netu_req_init(&q, MPSTORE__OP_CODE__OP_PING, NULL);
		if (fd >= 0 && call_status(fd, ipc, &q) == 0)
			p->ok++;
		else
			p->failed++;
	}
	if (fd >= 0)
		close(fd);
	return NULL;
}

/* A second daemon on the same address (ipc and tcp) exits with a clear
 * message while the first answers every request of a concurrent client,
 * and creates no database file. */
static void test_second_daemon_refused(void **state)
{
	(void)state;
	int  port = netu_free_port();
	char tcp[64];
	snprintf(tcp, sizeof(tcp), "tcp://127.0.0.1:%d", port);
	assert_int_equal(mpst_daemon_start(&d, (const char *const[]){"--listen", tcp, NULL}), 0);
	pinger    p1 = {d.url, 0, 0, 0}, p2 = {tcp, 0, 0, 0};
	pthread_t t1, t2;
	pthread_create(&t1, NULL, pinger_main, &p1);
	pthread_create(&t2, NULL, pinger_main, &p2);
	char db2[400], pub2[400];
	snprintf(db2, sizeof(db2), "%s/second.db", d.dir);
	snprintf(pub2, sizeof(pub2), "ipc://%s/pub2.ipc", d.dir);
	for (int i = 0; i < 5; i++) {
		int rv = run((const char *const[]){mpst_mpstored_path(), "--listen", d.url, "--pub", pub2,
		    "--db", db2, NULL});
		assert_int_equal(rv, 1);
		assert_non_null(strstr(err, "another mpstored"));
		rv = run((const char *const[]){mpst_mpstored_path(), "--listen", tcp, "--pub", "",
		    "--db", db2, NULL});
		assert_int_equal(rv, 1);
		assert_non_null(strstr(err, "address in use"));
	}
	struct stat st;
	assert_int_not_equal(stat(db2, &st), 0); /* no stray database */
	assert_int_not_equal(stat(pub2 + 6, &st), 0); /* nor socket file */
	p1.stop = p2.stop = 1;
	pthread_join(t1, NULL);
	pthread_join(t2, NULL);
	assert_int_equal(p1.failed, 0);
	assert_int_equal(p2.failed, 0);
	assert_true(p1.ok > 0 && p2.ok > 0);
}

/* A socket file left by a daemon that was killed is replaced. */
static void test_stale_socket_replaced(void **state)
{
	(void)state;
	assert_int_equal(mpst_daemon_start(&d, (const char *const[]){"--durability", "memory", NULL}), 0);
	assert_int_equal(mpst_daemon_kill(&d, SIGKILL), 128 + SIGKILL);
	struct stat st;
	assert_int_equal(stat(d.url + 6, &st), 0); /* left behind */
	/* restart without the support library's own clean-up */
	char log[400];
	snprintf(log, sizeof(log), "%s/second.log", d.dir);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		FILE *lf = freopen(d.log, "a", stderr);
		(void)lf;
		execl(mpst_mpstored_path(), mpst_mpstored_path(), "--listen", d.url, "--pub", d.pub_url,
		    "--durability", "memory", (char *)NULL);
		_exit(127);
	}
	d.pid = pid;
	assert_int_equal(mpst_daemon_wait_ready(&d, 10000), 0);
}

/* ipc sockets are owner-only by default; --ipc-mode widens them. */
static void test_ipc_mode(void **state)
{
	(void)state;
	struct stat st;
	assert_int_equal(mpst_daemon_start(&d, (const char *const[]){"--durability", "memory", NULL}), 0);
	assert_int_equal(stat(d.url + 6, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(stat(d.pub_url + 6, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	mpst_daemon_cleanup(&d);
	assert_int_equal(mpst_daemon_start(&d, (const char *const[]){"--durability", "memory",
	    "--ipc-mode", "0660", NULL}), 0);
	assert_int_equal(stat(d.url + 6, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0660);
	assert_int_equal(mpst_daemon_stop(&d), 0);
	assert_int_not_equal(stat(d.url + 6, &st), 0); /* removed at exit */
	assert_int_equal(run((const char *const[]){mpst_mpstored_path(), "--ipc-mode", "0044", NULL}), 2);
}

/* Protected mode: a listener other machines can reach, without a key,
 * needs --no-auth, and then the log warns. */
static void test_protected_mode(void **state)
{
	(void)state;
	char url[64];
	snprintf(url, sizeof(url), "tcp://0.0.0.0:%d", netu_free_port());
	int rv = run((const char *const[]){mpst_mpstored_path(), "--listen", url, "--pub", "",
	    "--durability", "memory", NULL});
	assert_int_equal(rv, 2);
	assert_non_null(strstr(err, "--no-auth"));
	assert_non_null(strstr(err, url));
	assert_int_equal(mpst_daemon_start(&d, (const char *const[]){"--durability", "memory",
	    "--listen", url, "--no-auth", NULL}), 0);
	assert_int_equal(mpst_daemon_stop(&d), 0);
	FILE *f = fopen(d.log, "r");
	assert_non_null(f);
	size_t n = fread(out, 1, sizeof(out) - 1, f);
	out[n] = '\0';
	fclose(f);
	assert_non_null(strstr(out, "WARNING"));
}

/* Broken peers: a wrong protocol in the handshake, garbage, a frame cut
 * off, a peer gone mid-handshake: closed, counted, the daemon serves on. */
static void test_bad_peers(void **state)
{
	(void)state;
	assert_int_equal(mpst_daemon_start(&d, (const char *const[]){"--durability", "memory", NULL}), 0);
	uint8_t b;
	/* PAIR0 (0x10) cannot talk to REP0 */
	int fd = netu_connect(d.url);
	assert_true(fd >= 0);
	(void)mpst_sp_handshake(fd, 0x10, 0x31);
	assert_true(recv(fd, &b, 1, 0) <= 0);
	close(fd);
	/* not SP at all */
	fd = netu_connect(d.url);
	assert_int_equal(netu_write_all(fd, "GET / HTTP/1.0\r\n\r\n", 18), 0);
	while (recv(fd, &b, 1, 0) > 0)
		; /* our handshake, then the close */
	close(fd);
	/* an ipc frame of another type */
	fd = netu_open(d.url);
	assert_int_equal(netu_write_all(fd, "\x02\0\0\0\0\0\0\0\x04\x80\0\0\1", 13), 0);
	assert_true(recv(fd, &b, 1, 0) <= 0);
	close(fd);
	/* half a frame, then gone; and gone mid-handshake */
	fd = netu_open(d.url);
	assert_int_equal(netu_write_all(fd, "\x01\0\0\0\0\0\0\0\x40\x80\0", 11), 0);
	close(fd);
	fd = netu_connect(d.url);
	assert_int_equal(netu_write_all(fd, "\0SP", 3), 0);
	close(fd);
	assert_true(netu_stat(d.url, "bad_frames") >= 3);
	fd = netu_open(d.url);
	netu_req q;
	netu_req_init(&q, MPSTORE__OP_CODE__OP_PING, NULL);
	assert_int_equal(call_status(fd, 1, &q), 0);
	close(fd);
}

/* A request costs the daemon one wake-up: with one client asking one
 * thing at a time, it blocks (a voluntary context switch) about once per
 * request, where nng took 7 to 12. Load adds involuntary switches only. */
static void test_one_wakeup_per_request(void **state)
{
	(void)state;
	assert_int_equal(mpst_daemon_start(&d, (const char *const[]){"--durability", "memory", NULL}), 0);
	int fd = netu_open(d.url);
	assert_true(fd >= 0);
	netu_req q;
	netu_req_init(&q, MPSTORE__OP_CODE__OP_PING, NULL);
	assert_int_equal(call_status(fd, 1, &q), 0);
	long long v0 = netu_stat(d.url, "ctx_switches_voluntary");
	const int n = 3000;
	for (int i = 0; i < n; i++)
		assert_int_equal(call_status(fd, 1, &q), 0);
	long long v1 = netu_stat(d.url, "ctx_switches_voluntary");
	assert_true(v0 >= 0 && v1 >= v0);
	double per = (double)(v1 - v0) / n;
	print_message("daemon voluntary context switches per request: %.2f\n", per);
	assert_true(per <= 2.0);
	close(fd);
}

/* n pings, one at a time, on one connection. */
static void ping_n(int fd, int n)
{
	netu_req q;
	netu_req_init(&q, MPSTORE__OP_CODE__OP_PING, NULL);
	for (int i = 0; i < n; i++)
		assert_int_equal(call_status(fd, 1, &q), 0);
}

/* Busy polling (--busy-poll-us): after a lone request the loop polls
 * instead of sleeping, and a client's next request that comes meanwhile
 * counts as a hit. With the longest window (10 ms) nearly every next
 * request of a one-at-a-time client comes within it, even on a loaded
 * machine; with 0 the loop never polls. */
static void test_busy_poll(void **state)
{
	(void)state;
	assert_int_equal(mpst_daemon_start(&d, (const char *const[]){"--durability", "memory",
	    "--busy-poll-us", "10000", NULL}), 0);
	int fd = netu_open(d.url);
	assert_true(fd >= 0);
	const int n = 2000;
	ping_n(fd, n);
	assert_int_equal(netu_stat(d.url, "busy_poll_us"), 10000);
	long long polls = netu_stat(d.url, "busy_polls");
	long long hits = netu_stat(d.url, "busy_poll_hits");
	print_message("busy polls %lld, requests that came while polling %lld of %d\n", polls,
	    hits, n);
	assert_true(polls >= 1);
	assert_true(hits >= n / 2);
	close(fd);
	mpst_daemon_cleanup(&d);

	assert_int_equal(mpst_daemon_start(&d, (const char *const[]){"--durability", "memory",
	    "--busy-poll-us", "0", NULL}), 0);
	fd = netu_open(d.url);
	assert_true(fd >= 0);
	ping_n(fd, n);
	assert_int_equal(netu_stat(d.url, "busy_poll_us"), 0);
	assert_int_equal(netu_stat(d.url, "busy_polls"), 0);
	assert_int_equal(netu_stat(d.url, "busy_poll_hits"), 0);
	close(fd);
}

typedef struct acker {
	int       fd;
	long long acked;
} acker;

/* Read replies until the connection closes; count the successes. */
static void *acker_main(void *arg)
{
	acker *a = arg;
	for (;;) {
		uint32_t           id;
		Mpstore__Response *r = netu_recv(a->fd, 1, &id);
		if (r == NULL)
			break;
		if (r->status == 0 && r->n_results == 1 && r->results[0]->status == 0)
			a->acked++;
		mpstore__response__free_unpacked(r, NULL);
	}
	return NULL;
}

/* SIGTERM with clients connected and requests parked: the daemon stops
 * long before the parked ops' deadlines, and every acknowledged write is
 * there after a restart. */
static void test_sigterm_keeps_acknowledged(void **state)
{
	(void)state;
	assert_int_equal(mpst_daemon_start(&d, NULL), 0);
	int fd = netu_open(d.url);
	netu_req q;
	netu_req_init(&q, MPSTORE__OP_CODE__OP_CREATE, "n");
	q.op.kind = MPSTORE__KIND__KIND_VALUE;
	q.op.elem_type = MPSTORE__ELEM_TYPE__TYPE_INT64;
	assert_int_equal(call_status(fd, 1, &q), 0);
	netu_req_init(&q, MPSTORE__OP_CODE__OP_CREATE, "q");
	q.op.kind = MPSTORE__KIND__KIND_QUEUE;
	assert_int_equal(call_status(fd, 1, &q), 0);
	int parker = netu_open(d.url);
	netu_req g;
	netu_req_init(&g, MPSTORE__OP_CODE__OP_QUEUE_GET, "q");
	g.op.timeout_ms = 600000;
	for (uint32_t i = 0; i < 10; i++)
		assert_int_equal(netu_send(parker, 1, i + 1, &g.rq), 0);
	long long end = mpst_now_ms() + 30000;
	while (netu_stat(d.url, "parked") < 10 && mpst_now_ms() < end)
		mpst_sleep_ms(20);
	/* pipelined adds, the signal in the middle of them: whatever was
	 * acknowledged must survive */
	acker     ak = {fd, 0};
	pthread_t rt;
	pthread_create(&rt, NULL, acker_main, &ak);
	netu_req_init(&q, MPSTORE__OP_CODE__OP_VALUE_ADD, "n");
	netu_req_int(&q, 1);
	for (uint32_t i = 0; i < 20000; i++) {
		if (i == 5000)
			kill(d.pid, SIGTERM);
		if (netu_send(fd, 1, 100 + i, &q.rq) != 0)
			break; /* closed by the stop */
	}
	pthread_join(rt, NULL);
	long long acked = ak.acked;
	long long t0 = mpst_now_ms();
	int       st;
	while (waitpid(d.pid, &st, WNOHANG) == 0 && mpst_now_ms() - t0 < 60000)
		mpst_sleep_ms(10);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0); /* not the 600 s deadline */
	d.pid = -1;
	close(fd);
	close(parker);
	assert_int_equal(mpst_daemon_restart(&d), 0);
	fd = netu_open(d.url);
	netu_req_init(&q, MPSTORE__OP_CODE__OP_VALUE_GET, "n");
	Mpstore__Response *r = netu_call(fd, 1, &q);
	assert_non_null(r);
	print_message("acknowledged %lld of 20000 before the stop; value %lld\n", acked,
	    (long long)r->results[0]->value->int_value);
	assert_true(r->results[0]->value->int_value >= acked);
	mpstore__response__free_unpacked(r, NULL);
	close(fd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_teardown(test_second_daemon_refused, teardown),
	    cmocka_unit_test_teardown(test_stale_socket_replaced, teardown),
	    cmocka_unit_test_teardown(test_ipc_mode, teardown),
	    cmocka_unit_test_teardown(test_protected_mode, teardown),
	    cmocka_unit_test_teardown(test_bad_peers, teardown),
	    cmocka_unit_test_teardown(test_one_wakeup_per_request, teardown),
	    cmocka_unit_test_teardown(test_busy_poll, teardown),
	    cmocka_unit_test_teardown(test_sigterm_keeps_acknowledged, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
