/*
 * A garbage flood: several processes send, for a while
 * (MPSTORE_FLOOD_SECONDS, default 3), SP frames with random bodies, frames
 * that lie about their length, random bytes instead of a handshake, and
 * requests that decode but ask for nonsense. Afterwards a valid client is
 * served, nothing it stored before is lost, and the daemon's memory is back
 * near where it was.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/wait.h>

#include <cmocka.h>

#include "net_util.h"

#define FLOODERS 4

static mpst_daemon d;

static uint64_t rnd(uint64_t *s)
{
	uint64_t x = *s;
	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return *s = x;
}

static void flood(int seconds, uint64_t seed)
{
	long long end = mpst_now_ms() + seconds * 1000LL;
	uint8_t   buf[4096];
	while (mpst_now_ms() < end) {
		int kind = (int)(rnd(&seed) % 4);
		int fd = kind == 0 ? netu_connect(d.url) : netu_open(d.url);
		if (fd < 0)
			continue;
		for (int k = 0; k < 20; k++) {
			size_t n = 1 + rnd(&seed) % (sizeof(buf) - 16);
			for (size_t i = 0; i < n; i++)
				buf[i] = (uint8_t)rnd(&seed);
			if (kind == 0) { /* no handshake, just bytes */
				(void)!send(fd, buf, n, MSG_NOSIGNAL);
				break;
			}
			uint8_t h[9];
			uint64_t claimed = kind == 2 ? n + rnd(&seed) % 100000 : n + 4;
			size_t   hl = netu_hdr(h, 1, claimed);
			if (kind == 3) { /* a request that decodes, of random ops (not
				           * the ones that store: those are not garbage) */
				uint64_t code = rnd(&seed) % 120;
				if (code == MPSTORE__OP_CODE__OP_CREATE ||
				    code == MPSTORE__OP_CODE__OP_REGISTER_SCHEMA ||
				    code == MPSTORE__OP_CODE__OP_MONITOR) /* its ring (4 MiB) would
				        blur the memory check; client_monitor_test bounds it */
					code = MPSTORE__OP_CODE__OP_PING;
				netu_req q;
				netu_req_init(&q, (Mpstore__OpCode)code, "flood");
				q.op.index = (int64_t)rnd(&seed);
				q.op.count = (int64_t)rnd(&seed);
				q.op.timeout_ms = (int64_t)(rnd(&seed) % 3) - 1;
				q.op.kind = (Mpstore__Kind)(rnd(&seed) % 16);
				if (netu_send(fd, 1, (uint32_t)k + 1, &q.rq) != 0)
					break;
				continue;
			}
			buf[0] = 0x80; /* a request id, then garbage */
			if (send(fd, h, hl, MSG_NOSIGNAL) != (ssize_t)hl ||
			    send(fd, buf, n, MSG_NOSIGNAL) < 0)
				break;
		}
		close(fd);
	}
}

static void test_flood(void **state)
{
	(void)state;
	const char *e = getenv("MPSTORE_FLOOD_SECONDS");
	int         seconds = e != NULL && atoi(e) > 0 ? atoi(e) : 3;
	assert_int_equal(mpst_daemon_start(&d, (const char *const[]){"--durability", "log", NULL}), 0);
	int      fd = netu_open(d.url);
	netu_req q;
	netu_req_init(&q, MPSTORE__OP_CODE__OP_CREATE, "keep");
	q.op.kind = MPSTORE__KIND__KIND_LIST;
	Mpstore__Response *r = netu_call(fd, 1, &q);
	assert_non_null(r);
	mpstore__response__free_unpacked(r, NULL);
	for (int i = 0; i < 100; i++) {
		netu_req_init(&q, MPSTORE__OP_CODE__OP_LIST_APPEND, "keep");
		netu_req_int(&q, i);
		r = netu_call(fd, 1, &q);
		assert_non_null(r);
		assert_int_equal(r->results[0]->status, 0);
		mpstore__response__free_unpacked(r, NULL);
	}
	close(fd);
	pid_t warm = fork();
	if (warm == 0) {
		flood(1, 99);
		_exit(0);
	}
	waitpid(warm, NULL, 0);
	mpst_sleep_ms(300);
	long  rss0 = netu_rss_kb(d.pid);
	pid_t kids[FLOODERS];
	for (int i = 0; i < FLOODERS; i++) {
		kids[i] = fork();
		assert_true(kids[i] >= 0);
		if (kids[i] == 0) {
			flood(seconds, 0x9E3779B97F4A7C15ull * (uint64_t)(i + 1));
			_exit(0);
		}
	}
	for (int i = 0; i < FLOODERS; i++) {
		int st;
		assert_int_equal(waitpid(kids[i], &st, 0), kids[i]);
		assert_true(WIFEXITED(st));
	}
	/* served, and nothing stored was lost */
	fd = netu_open(d.url);
	assert_true(fd >= 0);
	netu_req_init(&q, MPSTORE__OP_CODE__OP_LIST_LEN, "keep");
	r = netu_call(fd, 1, &q);
	assert_non_null(r);
	assert_int_equal(r->results[0]->status, 0);
	assert_int_equal(r->results[0]->count, 100);
	mpstore__response__free_unpacked(r, NULL);
	long long bad = netu_stat(d.url, "bad_frames"), reqs = netu_stat(d.url, "requests");
	print_message("after the flood: %lld bad frames, %lld requests decoded\n", bad, reqs);
	assert_true(bad > 0 && reqs > 100);
	long long end = mpst_now_ms() + 30000, clients;
	while ((clients = netu_stat(d.url, "clients")) > 2 && mpst_now_ms() < end)
		mpst_sleep_ms(20);
	assert_true(clients <= 2);
	/* the flood's freed buffers were handed back to the system */
	assert_true(netu_stat(d.url, "heap_trims") > 0);
	long rss1 = netu_rss_kb(d.pid);
	print_message("daemon RSS %ld KiB before, %ld KiB after\n", rss0, rss1);
	assert_true(rss0 > 0 && rss1 > 0);
	if (NETU_RSS_MEANINGFUL)
		assert_true(rss1 < rss0 + 8192);
	close(fd);
	int st = mpst_daemon_stop(&d);
	if (st != 0) {
		char cmd[400];
		snprintf(cmd, sizeof(cmd), "tail -20 %s >&2", d.log);
		(void)!system(cmd);
	}
	assert_int_equal(st, 0); /* a clean stop after all that */
	mpst_daemon_cleanup(&d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_flood),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
