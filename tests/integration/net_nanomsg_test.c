/*
 * nanomsg (libnanomsg, not nng's compatibility layer: this test links no
 * nng) as a client of the daemon's own transport: REQ over ipc:// and
 * tcp://, and SUB receiving notifications.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <nanomsg/nn.h>
#include <nanomsg/pubsub.h>
#include <nanomsg/reqrep.h>

#include "net_util.h"

static mpst_daemon d;
static char        tcp_url[64];

static int setup(void **state)
{
	(void)state;
	static char l2[64];
	snprintf(tcp_url, sizeof(tcp_url), "tcp://127.0.0.1:%d", netu_free_port());
	snprintf(l2, sizeof(l2), "%s", tcp_url);
	return mpst_daemon_start(&d, (const char *const[]){"--durability", "memory", "--listen", l2,
	                                 NULL});
}

static int teardown(void **state)
{
	(void)state;
	mpst_daemon_cleanup(&d);
	return 0;
}

static int nn_req(const char *url)
{
	int s = nn_socket(AF_SP, NN_REQ);
	assert_true(s >= 0);
	int tmo = 10000;
	nn_setsockopt(s, NN_SOL_SOCKET, NN_RCVTIMEO, &tmo, sizeof(tmo));
	assert_true(nn_connect(s, url) >= 0);
	return s;
}

static Mpstore__Response *nn_call(int s, netu_req *q)
{
	uint8_t buf[256];
	size_t  n = mpstore__request__pack(&q->rq, buf);
	assert_int_equal(nn_send(s, buf, n, 0), (int)n);
	void *rb = NULL;
	int   rl = nn_recv(s, &rb, NN_MSG, 0);
	assert_true(rl > 0);
	Mpstore__Response *r = mpstore__response__unpack(NULL, (size_t)rl, rb);
	nn_freemsg(rb);
	assert_non_null(r);
	return r;
}

static void test_req(void **state)
{
	(void)state;
	const char *urls[] = {d.url, tcp_url};
	for (int u = 0; u < 2; u++) {
		int      s = nn_req(urls[u]);
		char     name[16];
		netu_req q;
		snprintf(name, sizeof(name), "nn%d", u);
		netu_req_init(&q, MPSTORE__OP_CODE__OP_CREATE, name);
		q.op.kind = MPSTORE__KIND__KIND_VALUE;
		q.op.elem_type = MPSTORE__ELEM_TYPE__TYPE_INT64;
		Mpstore__Response *r = nn_call(s, &q);
		assert_int_equal(r->results[0]->status, 0);
		mpstore__response__free_unpacked(r, NULL);
		for (int i = 1; i <= 50; i++) {
			netu_req_init(&q, MPSTORE__OP_CODE__OP_VALUE_ADD, name);
			netu_req_int(&q, 2);
			r = nn_call(s, &q);
			assert_int_equal(r->results[0]->status, 0);
			assert_int_equal(r->results[0]->value->int_value, 2 * i);
			mpstore__response__free_unpacked(r, NULL);
		}
		nn_close(s);
	}
}

static void test_sub(void **state)
{
	(void)state;
	int ns = nn_socket(AF_SP, NN_SUB);
	assert_true(ns >= 0);
	assert_true(nn_setsockopt(ns, NN_SUB, NN_SUB_SUBSCRIBE, "sub\0", 4) >= 0);
	int tmo = 10000;
	nn_setsockopt(ns, NN_SOL_SOCKET, NN_RCVTIMEO, &tmo, sizeof(tmo));
	assert_true(nn_connect(ns, d.pub_url) >= 0);
	long long end = mpst_now_ms() + 20000;
	while (netu_stat(d.url, "subscribers") < 1 && mpst_now_ms() < end)
		mpst_sleep_ms(20);
	assert_true(netu_stat(d.url, "subscribers") >= 1);
	int      s = nn_req(d.url);
	netu_req q;
	netu_req_init(&q, MPSTORE__OP_CODE__OP_CREATE, "sub");
	q.op.kind = MPSTORE__KIND__KIND_LIST;
	mpstore__response__free_unpacked(nn_call(s, &q), NULL);
	netu_req_init(&q, MPSTORE__OP_CODE__OP_LIST_APPEND, "sub");
	netu_req_int(&q, 7);
	mpstore__response__free_unpacked(nn_call(s, &q), NULL);
	for (int i = 0; i < 2; i++) { /* the create and the append */
		void *b = NULL;
		int   n = nn_recv(ns, &b, NN_MSG, 0);
		assert_true(n > 5);
		assert_memory_equal(b, "sub\0", 4);
		assert_int_equal(((uint8_t *)b)[4], 0x0a);
		nn_freemsg(b);
	}
	nn_close(s);
	nn_close(ns);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_req),
	    cmocka_unit_test(test_sub),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
