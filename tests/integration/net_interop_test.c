/*
 * The daemon's own transport against the SP implementations clients use:
 * nng REQ one request at a time and with 64 contexts in flight on one
 * socket (answered in any order), nng SUB, and a peer written from the
 * framing alone, over ipc:// and tcp://. (nanomsg: net_nanomsg_test.c,
 * which must not link nng: libnng carries nanomsg's nn_* names too.)
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <nng/nng.h>
#include <nng/protocol/pubsub0/sub.h>
#include <nng/protocol/reqrep0/req.h>

#include "net_util.h"

static mpst_daemon d;
static char        tcp_url[64];

static int setup(void **state)
{
	(void)state;
	snprintf(tcp_url, sizeof(tcp_url), "tcp://127.0.0.1:%d", netu_free_port());
	static char l2[64];
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

static size_t pack(netu_req *q, uint8_t *buf)
{
	return mpstore__request__pack(&q->rq, buf);
}

static Mpstore__Response *nng_call(nng_socket s, netu_req *q)
{
	uint8_t buf[512];
	size_t  n = pack(q, buf);
	assert_int_equal(nng_send(s, buf, n, 0), 0);
	void  *rb;
	size_t rl;
	assert_int_equal(nng_recv(s, &rb, &rl, NNG_FLAG_ALLOC), 0);
	Mpstore__Response *r = mpstore__response__unpack(NULL, rl, rb);
	nng_free(rb, rl);
	assert_non_null(r);
	return r;
}

static void create(nng_socket s, const char *name, Mpstore__Kind kind)
{
	netu_req q;
	netu_req_init(&q, MPSTORE__OP_CODE__OP_CREATE, name);
	q.op.kind = kind;
	if (kind == MPSTORE__KIND__KIND_VALUE)
		q.op.elem_type = MPSTORE__ELEM_TYPE__TYPE_INT64;
	Mpstore__Response *r = nng_call(s, &q);
	mpstore__response__free_unpacked(r, NULL);
}

static int64_t value_of(nng_socket s, const char *name)
{
	netu_req q;
	netu_req_init(&q, MPSTORE__OP_CODE__OP_VALUE_GET, name);
	Mpstore__Response *r = nng_call(s, &q);
	assert_int_equal(r->n_results, 1);
	assert_int_equal(r->results[0]->status, 0);
	int64_t v = r->results[0]->value->int_value;
	mpstore__response__free_unpacked(r, NULL);
	return v;
}

static nng_socket nng_req(const char *url)
{
	nng_socket s;
	assert_int_equal(nng_req0_open(&s), 0);
	nng_socket_set_ms(s, NNG_OPT_RECVTIMEO, 10000);
	nng_socket_set_ms(s, NNG_OPT_REQ_RESENDTIME, NNG_DURATION_INFINITE);
	assert_int_equal(nng_dial(s, url, NULL, 0), 0);
	return s;
}

/* nng REQ, one request at a time, on both transports. */
static void test_nng_req_sequential(void **state)
{
	(void)state;
	const char *urls[] = {d.url, tcp_url};
	for (int u = 0; u < 2; u++) {
		nng_socket s = nng_req(urls[u]);
		char       name[16];
		snprintf(name, sizeof(name), "seq%d", u);
		create(s, name, MPSTORE__KIND__KIND_VALUE);
		for (int i = 0; i < 200; i++) {
			netu_req q;
			netu_req_init(&q, MPSTORE__OP_CODE__OP_VALUE_ADD, name);
			netu_req_int(&q, 1);
			Mpstore__Response *r = nng_call(s, &q);
			assert_int_equal(r->status, 0);
			assert_int_equal(r->results[0]->value->int_value, i + 1);
			mpstore__response__free_unpacked(r, NULL);
		}
		assert_int_equal(value_of(s, name), 200);
		nng_close(s);
	}
}

typedef struct slot {
	nng_ctx  ctx;
	nng_aio *aio;
	int      step; /* 0: sending, 1: receiving */
	int      left, done, failed;
	int64_t  last;
} slot;

#define NCTX   64
#define ROUNDS 50

static void ctx_send(slot *sl)
{
	netu_req q;
	uint8_t  buf[128];
	netu_req_init(&q, MPSTORE__OP_CODE__OP_VALUE_ADD, "ctx");
	netu_req_int(&q, 1);
	nng_msg *m;
	size_t   n = pack(&q, buf);
	if (nng_msg_alloc(&m, n) != 0) {
		sl->failed = 1;
		return;
	}
	memcpy(nng_msg_body(m), buf, n);
	nng_aio_set_msg(sl->aio, m);
	sl->step = 0;
	nng_ctx_send(sl->ctx, sl->aio);
}

static void ctx_cb(void *arg)
{
	slot *sl = arg;
	if (nng_aio_result(sl->aio) != 0) {
		if (sl->step == 0)
			nng_msg_free(nng_aio_get_msg(sl->aio));
		sl->failed = 1;
		__atomic_store_n(&sl->done, 1, __ATOMIC_RELEASE);
		return;
	}
	if (sl->step == 0) {
		sl->step = 1;
		nng_ctx_recv(sl->ctx, sl->aio);
		return;
	}
	nng_msg           *m = nng_aio_get_msg(sl->aio);
	Mpstore__Response *r = mpstore__response__unpack(NULL, nng_msg_len(m), nng_msg_body(m));
	nng_msg_free(m);
	if (r == NULL || r->status != 0 || r->n_results != 1 || r->results[0]->status != 0)
		sl->failed = 1;
	if (r != NULL)
		mpstore__response__free_unpacked(r, NULL);
	if (--sl->left > 0 && !sl->failed)
		ctx_send(sl);
	else
		__atomic_store_n(&sl->done, 1, __ATOMIC_RELEASE);
}

static int parked_done;
static void parked_cb(void *arg)
{
	(void)arg;
	__atomic_store_n(&parked_done, 1, __ATOMIC_RELEASE);
}

/* One nng REQ socket, 64 contexts in flight, plus one request that parks
 * (answered after later ones: out of order). */
static void test_nng_req_contexts(void **state)
{
	(void)state;
	nng_socket s = nng_req(d.url);
	create(s, "ctx", MPSTORE__KIND__KIND_VALUE);
	create(s, "oq", MPSTORE__KIND__KIND_QUEUE);
	/* a context whose request waits for an item */
	nng_ctx  pc;
	nng_aio *pa;
	assert_int_equal(nng_ctx_open(&pc, s), 0);
	assert_int_equal(nng_aio_alloc(&pa, parked_cb, NULL), 0);
	netu_req q;
	uint8_t  buf[128];
	netu_req_init(&q, MPSTORE__OP_CODE__OP_QUEUE_GET, "oq");
	q.op.timeout_ms = 30000;
	size_t   n = pack(&q, buf);
	nng_msg *m;
	assert_int_equal(nng_msg_alloc(&m, n), 0);
	memcpy(nng_msg_body(m), buf, n);
	nng_aio_set_msg(pa, m);
	nng_ctx_send(pc, pa);
	nng_aio_wait(pa);
	assert_int_equal(nng_aio_result(pa), 0);
	__atomic_store_n(&parked_done, 0, __ATOMIC_RELEASE);
	nng_aio_set_timeout(pa, 30000);
	nng_ctx_recv(pc, pa);

	static slot sl[NCTX];
	for (int i = 0; i < NCTX; i++) {
		memset(&sl[i], 0, sizeof(sl[i]));
		sl[i].left = ROUNDS;
		assert_int_equal(nng_ctx_open(&sl[i].ctx, s), 0);
		assert_int_equal(nng_aio_alloc(&sl[i].aio, ctx_cb, &sl[i]), 0);
		nng_aio_set_timeout(sl[i].aio, 30000);
	}
	for (int i = 0; i < NCTX; i++)
		ctx_send(&sl[i]);
	for (int i = 0; i < NCTX; i++) {
		while (!__atomic_load_n(&sl[i].done, __ATOMIC_ACQUIRE))
			mpst_sleep_ms(5);
		assert_false(sl[i].failed);
	}
	/* all 64 x 50 answered while the parked one still waits */
	assert_int_equal(__atomic_load_n(&parked_done, __ATOMIC_ACQUIRE), 0);
	nng_socket s2 = nng_req(d.url);
	netu_req_init(&q, MPSTORE__OP_CODE__OP_QUEUE_PUT, "oq");
	netu_req_int(&q, 42);
	Mpstore__Response *r = nng_call(s2, &q);
	assert_int_equal(r->results[0]->status, 0);
	mpstore__response__free_unpacked(r, NULL);
	nng_aio_wait(pa);
	assert_int_equal(nng_aio_result(pa), 0);
	m = nng_aio_get_msg(pa);
	r = mpstore__response__unpack(NULL, nng_msg_len(m), nng_msg_body(m));
	nng_msg_free(m);
	assert_non_null(r);
	assert_int_equal(r->results[0]->value->int_value, 42);
	mpstore__response__free_unpacked(r, NULL);
	assert_int_equal(value_of(s2, "ctx"), NCTX * ROUNDS);
	for (int i = 0; i < NCTX; i++) {
		nng_aio_free(sl[i].aio);
		nng_ctx_close(sl[i].ctx);
	}
	nng_aio_free(pa);
	nng_ctx_close(pc);
	nng_close(s2);
	nng_close(s);
}

/* The Change in a Notification (topic "name\0", then field 1). */
static void check_note(const uint8_t *b, size_t n, const char *topic)
{
	size_t tl = strlen(topic) + 1;
	assert_true(n > tl);
	assert_memory_equal(b, topic, tl);
	assert_int_equal(b[tl], 0x0a); /* field 1, length-delimited */
}

/* nng SUB gets every change of what it subscribed to. */
static void test_subscribers(void **state)
{
	(void)state;
	nng_socket sub;
	assert_int_equal(nng_sub0_open(&sub), 0);
	assert_int_equal(nng_socket_set(sub, NNG_OPT_SUB_SUBSCRIBE, "note\0", 5), 0);
	nng_socket_set_ms(sub, NNG_OPT_RECVTIMEO, 10000);
	assert_int_equal(nng_dial(sub, d.pub_url, NULL, 0), 0);
	/* wait until it is connected: the daemon counts its subscribers */
	long long end = mpst_now_ms() + 20000;
	while (netu_stat(d.url, "subscribers") < 1 && mpst_now_ms() < end)
		mpst_sleep_ms(20);
	assert_true(netu_stat(d.url, "subscribers") >= 1);
	nng_socket s = nng_req(d.url);
	create(s, "note", MPSTORE__KIND__KIND_VALUE);
	for (int i = 0; i < 5; i++) {
		netu_req q;
		netu_req_init(&q, MPSTORE__OP_CODE__OP_VALUE_ADD, "note");
		netu_req_int(&q, 1);
		mpstore__response__free_unpacked(nng_call(s, &q), NULL);
	}
	for (int i = 0; i < 6; i++) { /* the create and five adds */
		void  *b;
		size_t n;
		assert_int_equal(nng_recv(sub, &b, &n, NNG_FLAG_ALLOC), 0);
		check_note(b, n, "note");
		nng_free(b, n);
	}
	nng_close(sub);
	nng_close(s);
}

/* A peer written from the framing alone: tcp (no type byte) and ipc, and
 * a backtrace of two hops (a device in between) sent back whole. */
static void test_raw_peers(void **state)
{
	(void)state;
	const char *urls[] = {d.url, tcp_url};
	for (int u = 0; u < 2; u++) {
		int fd = netu_open(urls[u]);
		assert_true(fd >= 0);
		int      ipc = netu_is_ipc(urls[u]);
		netu_req q;
		netu_req_init(&q, MPSTORE__OP_CODE__OP_PING, NULL);
		Mpstore__Response *r = netu_call(fd, ipc, &q);
		assert_non_null(r);
		assert_int_equal(r->status, 0);
		mpstore__response__free_unpacked(r, NULL);
		/* [hop 5][id 0x80000009][Request] */
		uint8_t body[64] = {0, 0, 0, 5, 0x80, 0, 0, 9};
		size_t  pl = mpstore__request__pack(&q.rq, body + 8);
		uint8_t h[9];
		size_t  hl = netu_hdr(h, ipc, 8 + pl);
		assert_int_equal(netu_write_all(fd, h, hl), 0);
		assert_int_equal(netu_write_all(fd, body, 8 + pl), 0);
		uint8_t rh[9];
		assert_int_equal(netu_read_all(fd, rh, hl), 0);
		uint64_t n = 0;
		for (size_t i = hl - 8; i < hl; i++)
			n = (n << 8) | rh[i];
		assert_true(n > 8 && n < 256);
		uint8_t rb[256];
		assert_int_equal(netu_read_all(fd, rb, n), 0);
		assert_memory_equal(rb, body, 8); /* the backtrace, both hops */
		r = mpstore__response__unpack(NULL, n - 8, rb + 8);
		assert_non_null(r);
		assert_int_equal(r->status, 0);
		mpstore__response__free_unpacked(r, NULL);
		close(fd);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_nng_req_sequential),
	    cmocka_unit_test(test_nng_req_contexts),
	    cmocka_unit_test(test_subscribers),
	    cmocka_unit_test(test_raw_peers),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
