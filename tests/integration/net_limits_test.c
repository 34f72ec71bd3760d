/*
 * What one peer can make the daemon hold is bounded, and crossing a bound
 * costs that peer, never the others: a reader that stops reading (closed
 * past --max-client-buffer, or slowed down by TCP when it keeps sending),
 * a subscriber that stops reading (loses messages past
 * --max-subscriber-buffer, dropped after --subscriber-timeout), connections
 * past --max-clients, parked requests past --max-parked(-per-client), and
 * parked requests of a connection that has gone.
 */
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "net_util.h"

static mpst_daemon d;

static void start(const char *const *args)
{
	assert_int_equal(mpst_daemon_start(&d, args), 0);
}

static int teardown(void **state)
{
	(void)state;
	mpst_daemon_cleanup(&d);
	return 0;
}

static Mpstore__Response *op(int fd, netu_req *q)
{
	Mpstore__Response *r = netu_call(fd, 1, q);
	assert_non_null(r);
	return r;
}

static int op_status(int fd, netu_req *q)
{
	Mpstore__Response *r = op(fd, q);
	int st = r->status != 0 ? (int)r->status : (int)r->results[0]->status;
	mpstore__response__free_unpacked(r, NULL);
	return st;
}

static void create(int fd, const char *name, Mpstore__Kind kind)
{
	netu_req q;
	netu_req_init(&q, MPSTORE__OP_CODE__OP_CREATE, name);
	q.op.kind = kind;
	assert_int_equal(op_status(fd, &q), 0);
}

static void ping_ok(int fd)
{
	netu_req q;
	netu_req_init(&q, MPSTORE__OP_CODE__OP_PING, NULL);
	assert_int_equal(op_status(fd, &q), 0);
}

/* Wait (up to 30 s, polling) until stat `key` is at least want. */
static long long wait_stat(const char *key, long long want)
{
	long long v = -1, end = mpst_now_ms() + 30000;
	while ((v = netu_stat(d.url, key)) < want && mpst_now_ms() < end)
		mpst_sleep_ms(20);
	return v;
}

static long long wait_stat_at_most(const char *key, long long want)
{
	long long v = -1, end = mpst_now_ms() + 30000;
	while (((v = netu_stat(d.url, key)) > want || v < 0) && mpst_now_ms() < end)
		mpst_sleep_ms(20);
	return v;
}

#define BIG (2 * 1024 * 1024)

/* A reader that asks for replies and does not read them is closed once
 * what its socket will not take passes --max-client-buffer (here one
 * reply of 2 MiB against a bound of 1 MiB); a reader that reads gets
 * replies under the bound whole; the daemon's memory comes back and
 * others are served throughout. */
static void test_slow_reader_closed(void **state)
{
	(void)state;
	start((const char *const[]){"--durability", "memory", "--max-client-buffer", "1048576", NULL});
	int fd = netu_open(d.url);
	assert_true(fd >= 0);
	/* "big": a list of four 512 KiB strings, read whole as one 2 MiB
	 * slice; "half": one 512 KiB value (OP_VALUE_SET answers with it) */
	static char blob[BIG / 4];
	memset(blob, 'x', sizeof(blob) - 1);
	create(fd, "big", MPSTORE__KIND__KIND_LIST);
	create(fd, "half", MPSTORE__KIND__KIND_VALUE);
	for (int k = 0; k < 5; k++) {
		netu_req q;
		netu_req_init(&q, k < 4 ? MPSTORE__OP_CODE__OP_LIST_APPEND : MPSTORE__OP_CODE__OP_VALUE_SET,
		              k < 4 ? "big" : "half");
		q.v.v_case = MPSTORE__VALUE__V_STRING_VALUE;
		q.v.string_value = blob;
		q.op.value = &q.v;
		assert_int_equal(op_status(fd, &q), 0);
	}
	/* a reader that reads: half a MiB comes whole */
	netu_req g;
	netu_req_init(&g, MPSTORE__OP_CODE__OP_VALUE_GET, "half");
	Mpstore__Response *r = netu_call(fd, 1, &g);
	assert_non_null(r);
	assert_int_equal(strlen(r->results[0]->value->string_value), sizeof(blob) - 1);
	mpstore__response__free_unpacked(r, NULL);
	long rss0 = netu_rss_kb(d.pid);
	for (int round = 0; round < 3; round++) {
		int slow = netu_open(d.url);
		assert_true(slow >= 0);
		netu_req_init(&g, MPSTORE__OP_CODE__OP_LIST_SLICE, "big"); /* from 0: all of it */
		assert_int_equal(netu_send(slow, 1, 1000, &g.rq), 0);     /* never read */
		assert_true(wait_stat("clients_dropped", round + 1) >= round + 1);
		ping_ok(fd); /* served throughout */
		uint8_t b[4096];
		ssize_t n;
		while ((n = recv(slow, b, sizeof(b), 0)) > 0)
			; /* what the socket took before the close, then EOF */
		assert_true(n == 0 || errno == ECONNRESET);
		close(slow);
	}
	/* the bound held: never more than the limit kept after a write */
	long long peak = netu_stat(d.url, "client_buffer_peak");
	assert_true(peak > 0 && peak <= 1048576);
	assert_true(wait_stat_at_most("client_buffer", 0) == 0);
	long rss1 = netu_rss_kb(d.pid);
	assert_true(rss0 > 0 && rss1 > 0);
	if (NETU_RSS_MEANINGFUL)
		assert_true(rss1 < rss0 + 8 * 1024); /* 3 x 2 MiB replies, none kept */
	close(fd);
}

/* A client that keeps sending without reading is slowed down (the daemon
 * stops reading it), not buffered without bound and not dropped; when it
 * reads, every request has its answer. */
static void test_sender_backpressure(void **state)
{
	(void)state;
	start((const char *const[]){"--durability", "memory", "--max-client-buffer", "1048576", NULL});
	int fd = netu_open(d.url);
	int w = netu_open(d.url);
	assert_true(fd >= 0 && w >= 0);
	fcntl(w, F_SETFL, fcntl(w, F_GETFL) | O_NONBLOCK);
	netu_req q;
	netu_req_init(&q, MPSTORE__OP_CODE__OP_PING, NULL);
	uint8_t frame[64];
	size_t  pl = mpstore__request__pack(&q.rq, frame + 13);
	size_t  h = netu_hdr(frame, 1, 4 + pl);
	frame[h] = 0x80;
	frame[h + 1] = frame[h + 2] = 0;
	frame[h + 3] = 1;
	size_t    flen = h + 4 + pl;
	long long sent = 0;
	int       blocked = 0;
	for (int i = 0; i < 2000000 && !blocked; i++) {
		ssize_t k = send(w, frame, flen, MSG_NOSIGNAL);
		if (k == (ssize_t)flen) {
			sent++;
			continue;
		}
		assert_true(k < 0 && (errno == EAGAIN || errno == EWOULDBLOCK));
		blocked = 1; /* the daemon stopped reading us */
	}
	assert_true(blocked);
	long long queued = netu_stat(d.url, "client_buffer");
	assert_true(queued >= 0 && queued <= 1048576);
	assert_int_equal(netu_stat(d.url, "clients_dropped"), 0);
	ping_ok(fd);
	/* read every answer back */
	fcntl(w, F_SETFL, fcntl(w, F_GETFL) & ~O_NONBLOCK);
	for (long long i = 0; i < sent; i++) {
		uint32_t           id;
		Mpstore__Response *r = netu_recv(w, 1, &id);
		assert_non_null(r);
		assert_int_equal(r->status, 0);
		mpstore__response__free_unpacked(r, NULL);
	}
	ping_ok(w);
	close(w);
	close(fd);
}

/* A subscriber that never reads loses messages once its queue is full,
 * and is disconnected when it stays full; writers never wait for it. */
static void test_slow_subscriber(void **state)
{
	(void)state;
	start((const char *const[]){"--durability", "memory", "--max-subscriber-buffer", "65536",
	    "--subscriber-timeout", "1", NULL});
	int sub = netu_connect(d.pub_url);
	assert_true(sub >= 0);
	assert_int_equal(mpst_sp_handshake(sub, 0x21, 0x20), 0); /* SUB0 to PUB0 */
	assert_true(wait_stat("subscribers", 1) >= 1);
	int fd = netu_open(d.url);
	create(fd, "l", MPSTORE__KIND__KIND_LIST);
	static char v[1024];
	memset(v, 'y', sizeof(v) - 1);
	netu_req q;
	netu_req_init(&q, MPSTORE__OP_CODE__OP_LIST_APPEND, "l");
	q.v.v_case = MPSTORE__VALUE__V_STRING_VALUE;
	q.v.string_value = v;
	q.op.value = &q.v;
	for (int i = 0; i < 2000; i++) { /* 2 MB of notifications */
		assert_int_equal(op_status(fd, &q), 0);
		if (i % 200 == 0) {
			long long b = netu_stat(d.url, "subscriber_buffer");
			assert_true(b >= 0 && b <= 65536);
		}
	}
	assert_true(netu_stat(d.url, "pub_dropped") > 0);
	assert_true(wait_stat("subscribers_dropped", 1) == 1);
	assert_int_equal(netu_stat(d.url, "subscribers"), 0);
	close(sub);
	close(fd);
}

/* A connection that is served (retried while the daemon still counts a
 * connection that has just closed, such as the start-up ping's). */
static int open_served(void)
{
	long long end = mpst_now_ms() + 30000;
	while (mpst_now_ms() < end) {
		int      n = netu_open(d.url);
		netu_req q;
		assert_true(n >= 0);
		netu_req_init(&q, MPSTORE__OP_CODE__OP_PING, NULL);
		Mpstore__Response *r = netu_call(n, 1, &q);
		int                ok = r != NULL && r->status == 0;
		if (r != NULL)
			mpstore__response__free_unpacked(r, NULL);
		if (ok)
			return n;
		close(n);
		mpst_sleep_ms(20);
	}
	fail_msg("no connection was served within 30 s");
	return -1;
}

/* Past --max-clients a connection gets one ERR_LIMIT answer and is
 * closed; the others are served, and a slot freed is taken again. */
static void test_max_clients(void **state)
{
	(void)state;
	start((const char *const[]){"--durability", "memory", "--max-clients", "3", NULL});
	int c[3];
	for (int i = 0; i < 3; i++)
		c[i] = open_served(); /* counted before the next comes */
	int extra = netu_open(d.url);
	assert_true(extra >= 0);
	netu_req q;
	netu_req_init(&q, MPSTORE__OP_CODE__OP_PING, NULL);
	Mpstore__Response *r = netu_call(extra, 1, &q);
	assert_non_null(r);
	assert_int_equal(r->status, MPSTORE__STATUS__ERR_LIMIT);
	assert_non_null(strstr(r->error, "--max-clients"));
	mpstore__response__free_unpacked(r, NULL);
	uint8_t b;
	assert_true(recv(extra, &b, 1, 0) <= 0); /* then closed */
	close(extra);
	for (int i = 0; i < 3; i++)
		ping_ok(c[i]);
	close(c[0]);
	close(open_served()); /* the slot is free again once the close is seen */
	close(c[1]);
	close(c[2]);
}

/* A queue get that parks (client_id 0) and whose connection then closes
 * is gone with it: items put later stay in the queue. */
static void test_parked_end_with_connection(void **state)
{
	(void)state;
	start((const char *const[]){"--durability", "memory", NULL});
	int fd = netu_open(d.url);
	create(fd, "q", MPSTORE__KIND__KIND_QUEUE);
	for (int round = 0; round < 20; round++) {
		int p = netu_open(d.url);
		assert_true(p >= 0);
		netu_req g;
		netu_req_init(&g, MPSTORE__OP_CODE__OP_QUEUE_GET, "q");
		g.op.timeout_ms = 600000;
		for (uint32_t i = 0; i < 500; i++)
			assert_int_equal(netu_send(p, 1, i + 1, &g.rq), 0);
		assert_true(wait_stat("parked", 500) >= 500);
		close(p);
		assert_true(wait_stat_at_most("parked", 0) == 0);
	}
	netu_req q;
	netu_req_init(&q, MPSTORE__OP_CODE__OP_QUEUE_PUT, "q");
	for (int i = 0; i < 5; i++) {
		netu_req_int(&q, i);
		assert_int_equal(op_status(fd, &q), 0);
	}
	netu_req_init(&q, MPSTORE__OP_CODE__OP_QUEUE_SIZE, "q");
	Mpstore__Response *r = op(fd, &q);
	assert_int_equal(r->results[0]->count, 5);
	mpstore__response__free_unpacked(r, NULL);
	close(fd);
}

/* --max-parked-per-client and --max-parked answer ERR_LIMIT for the park
 * that crosses them; ops that do not park go on. */
static void test_max_parked(void **state)
{
	(void)state;
	start((const char *const[]){"--durability", "memory", "--max-parked-per-client", "5",
	    "--max-parked", "8", NULL});
	int a = netu_open(d.url), b = netu_open(d.url);
	create(a, "q", MPSTORE__KIND__KIND_QUEUE);
	netu_req g;
	netu_req_init(&g, MPSTORE__OP_CODE__OP_QUEUE_GET, "q");
	g.op.timeout_ms = 600000;
	for (uint32_t i = 0; i < 5; i++)
		assert_int_equal(netu_send(a, 1, i + 1, &g.rq), 0);
	assert_true(wait_stat("parked", 5) == 5);
	Mpstore__Response *r = netu_call(a, 1, &g);
	assert_non_null(r);
	assert_int_equal(r->results[0]->status, MPSTORE__STATUS__ERR_LIMIT);
	assert_non_null(strstr(r->results[0]->error, "--max-parked-per-client"));
	mpstore__response__free_unpacked(r, NULL);
	for (uint32_t i = 0; i < 3; i++)
		assert_int_equal(netu_send(b, 1, i + 1, &g.rq), 0);
	assert_true(wait_stat("parked", 8) == 8);
	r = netu_call(b, 1, &g);
	assert_non_null(r);
	assert_int_equal(r->results[0]->status, MPSTORE__STATUS__ERR_LIMIT);
	assert_non_null(strstr(r->results[0]->error, "--max-parked"));
	mpstore__response__free_unpacked(r, NULL);
	ping_ok(b);
	close(a);
	assert_true(wait_stat_at_most("parked", 3) == 3);
	close(b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_teardown(test_slow_reader_closed, teardown),
	    cmocka_unit_test_teardown(test_sender_backpressure, teardown),
	    cmocka_unit_test_teardown(test_slow_subscriber, teardown),
	    cmocka_unit_test_teardown(test_max_clients, teardown),
	    cmocka_unit_test_teardown(test_parked_end_with_connection, teardown),
	    cmocka_unit_test_teardown(test_max_parked, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
