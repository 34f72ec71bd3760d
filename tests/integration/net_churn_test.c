/*
 * Connection churn: several processes connect and close as fast as they
 * can for a while (MPSTORE_CHURN_SECONDS, default 3), some leaving
 * mid-handshake, some after half a frame, some after a request they never
 * read, while another client makes requests. nng 1.5.2's listener stopped
 * under this (its bug #1518); the daemon's own must not: 0 failed
 * requests, and its memory back near where it was.
 */
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/wait.h>

#include <cmocka.h>

#include "net_util.h"

#define CHURNERS 4

static mpst_daemon d;

typedef struct pinger {
	volatile int stop;
	long         ok, failed;
} pinger;

static void *pinger_main(void *arg)
{
	pinger *p = arg;
	int     fd = netu_open(d.url);
	while (!p->stop) {
		netu_req q;
		netu_req_init(&q, MPSTORE__OP_CODE__OP_VALUE_ADD, "n");
		netu_req_int(&q, 1);
		Mpstore__Response *r = fd >= 0 ? netu_call(fd, 1, &q) : NULL;
		if (r != NULL && r->status == 0 && r->results[0]->status == 0)
			p->ok++;
		else
			p->failed++;
		if (r != NULL)
			mpstore__response__free_unpacked(r, NULL);
	}
	if (fd >= 0)
		close(fd);
	return NULL;
}

/* One churning process: connect, misbehave in one of four ways, close. */
static void churn(int seconds, int kind0)
{
	long long end = mpst_now_ms() + seconds * 1000LL;
	netu_req  q;
	netu_req_init(&q, MPSTORE__OP_CODE__OP_PING, NULL);
	for (int i = kind0; mpst_now_ms() < end; i++) {
		int fd = netu_connect(d.url);
		if (fd < 0)
			continue;
		switch (i % 4) {
		case 0: /* gone before the handshake */
			break;
		case 1: /* half a handshake */
			(void)!send(fd, "\0SP\0", 4, MSG_NOSIGNAL);
			break;
		case 2: /* handshake, half a frame */
			if (mpst_sp_handshake(fd, 0x30, 0x31) == 0)
				(void)!send(fd, "\x01\0\0\0\0\0\0\0\x20\x80\0", 11, MSG_NOSIGNAL);
			break;
		default: /* a request whose answer nobody reads */
			if (mpst_sp_handshake(fd, 0x30, 0x31) == 0)
				netu_send(fd, 1, 1, &q.rq);
			break;
		}
		close(fd);
	}
}

static void test_churn(void **state)
{
	(void)state;
	const char *e = getenv("MPSTORE_CHURN_SECONDS");
	int         seconds = e != NULL && atoi(e) > 0 ? atoi(e) : 3;
	assert_int_equal(mpst_daemon_start(&d, (const char *const[]){"--durability", "memory", NULL}), 0);
	int      fd = netu_open(d.url);
	netu_req q;
	netu_req_init(&q, MPSTORE__OP_CODE__OP_CREATE, "n");
	q.op.kind = MPSTORE__KIND__KIND_VALUE;
	q.op.elem_type = MPSTORE__ELEM_TYPE__TYPE_INT64;
	Mpstore__Response *r = netu_call(fd, 1, &q);
	assert_non_null(r);
	mpstore__response__free_unpacked(r, NULL);
	/* a first round so that the allocator has its arenas: the baseline */
	pid_t warm = fork();
	if (warm == 0) {
		churn(1, 0);
		_exit(0);
	}
	waitpid(warm, NULL, 0);
	mpst_sleep_ms(200);
	long rss0 = netu_rss_kb(d.pid);
	pinger    p = {0, 0, 0};
	pthread_t t;
	pthread_create(&t, NULL, pinger_main, &p);
	pid_t kids[CHURNERS];
	for (int i = 0; i < CHURNERS; i++) {
		kids[i] = fork();
		assert_true(kids[i] >= 0);
		if (kids[i] == 0) {
			churn(seconds, i);
			_exit(0);
		}
	}
	for (int i = 0; i < CHURNERS; i++) {
		int st;
		assert_int_equal(waitpid(kids[i], &st, 0), kids[i]);
		assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	}
	p.stop = 1;
	pthread_join(t, NULL);
	print_message("%ld requests during the churn, %ld failed; %lld connections accepted\n", p.ok,
	    p.failed, netu_stat(d.url, "clients_total"));
	assert_int_equal(p.failed, 0);
	assert_true(p.ok > 0);
	/* every add arrived once */
	netu_req_init(&q, MPSTORE__OP_CODE__OP_VALUE_GET, "n");
	r = netu_call(fd, 1, &q);
	assert_non_null(r);
	assert_int_equal(r->results[0]->value->int_value, p.ok);
	mpstore__response__free_unpacked(r, NULL);
	/* the churned connections are all gone, and their memory with them */
	long long end = mpst_now_ms() + 30000, clients;
	while ((clients = netu_stat(d.url, "clients")) > 2 && mpst_now_ms() < end)
		mpst_sleep_ms(20);
	assert_true(clients >= 1 && clients <= 2); /* fd, and the stat's own */
	long rss1 = netu_rss_kb(d.pid);
	print_message("daemon RSS %ld KiB before, %ld KiB after\n", rss0, rss1);
	assert_true(rss0 > 0 && rss1 > 0);
	if (NETU_RSS_MEANINGFUL)
		assert_true(rss1 < rss0 + 4096);
	close(fd);
	mpst_daemon_cleanup(&d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_churn),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
