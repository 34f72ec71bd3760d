/*
 * A client that sends requests with big replies and never reads them. The
 * daemon's replies queue behind the full connection (their REP contexts
 * wait on the daemon's `sending` list), other clients are served
 * meanwhile, and when the reader leaves its contexts are reused: rounds of
 * such clients do not make the daemon allocate contexts without bound.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <sys/socket.h>
#include <unistd.h>

#include <nng/nng.h>
#include <nng/protocol/reqrep0/req.h>

#include "mpstore.pb-c.h"
#include "support.h"

#define BIG     (256 * 1024) /* one reply: more than a socket buffer holds */
#define NCTX    48           /* requests per slow reader */
#define ROUNDS  5

static mpst_daemon d;

static nng_socket open_req(void)
{
	nng_socket s;
	assert_int_equal(nng_req0_open(&s), 0);
	nng_socket_set_ms(s, NNG_OPT_RECVTIMEO, 5000);
	nng_socket_set_ms(s, NNG_OPT_SENDTIMEO, 5000);
	nng_socket_set_ms(s, NNG_OPT_REQ_RESENDTIME, NNG_DURATION_INFINITE);
	assert_int_equal(nng_dial(s, d.url, NULL, 0), 0);
	return s;
}

/* One request of n ops; the decoded response (free it) */
static Mpstore__Response *call(nng_socket s, Mpstore__Op **ops, size_t n)
{
	Mpstore__Request rq = MPSTORE__REQUEST__INIT;
	rq.version = 1;
	rq.id = 1;
	rq.ops = ops;
	rq.n_ops = n;
	size_t   len = mpstore__request__get_packed_size(&rq);
	uint8_t *buf = malloc(len);
	assert_non_null(buf);
	mpstore__request__pack(&rq, buf);
	assert_int_equal(nng_send(s, buf, len, 0), 0);
	free(buf);
	void  *rbuf;
	size_t rlen;
	assert_int_equal(nng_recv(s, &rbuf, &rlen, NNG_FLAG_ALLOC), 0);
	Mpstore__Response *r = mpstore__response__unpack(NULL, rlen, rbuf);
	nng_free(rbuf, rlen);
	assert_non_null(r);
	assert_int_equal(r->status, 0);
	return r;
}

/* The daemon's "contexts=" and "contexts_sending=" stats. */
static void contexts(nng_socket s, long *all, long *sending)
{
	Mpstore__Op  st = MPSTORE__OP__INIT;
	Mpstore__Op *ops[] = {&st};
	st.code = MPSTORE__OP_CODE__OP_STATS;
	Mpstore__Response *r = call(s, ops, 1);
	*all = *sending = -1;
	for (size_t i = 0; i < r->results[0]->n_values; i++) {
		const char *l = r->results[0]->values[i]->string_value;
		if (strncmp(l, "contexts=", 9) == 0)
			*all = atol(l + 9);
		else if (strncmp(l, "contexts_sending=", 17) == 0)
			*sending = atol(l + 17);
	}
	mpstore__response__free_unpacked(r, NULL);
	assert_true(*all > 0 && *sending >= 0);
}

/* A bytes value "big" of BIG bytes. */
static void make_big(nng_socket s)
{
	static uint8_t data[BIG];
	memset(data, 'b', sizeof(data));
	Mpstore__Op    create = MPSTORE__OP__INIT, set = MPSTORE__OP__INIT;
	Mpstore__Value v = MPSTORE__VALUE__INIT;
	create.code = MPSTORE__OP_CODE__OP_CREATE;
	create.name = "big";
	create.kind = MPSTORE__KIND__KIND_VALUE;
	create.elem_type = MPSTORE__ELEM_TYPE__TYPE_BYTES;
	v.v_case = MPSTORE__VALUE__V_BYTES_VALUE;
	v.bytes_value.data = data;
	v.bytes_value.len = sizeof(data);
	set.code = MPSTORE__OP_CODE__OP_VALUE_SET;
	set.name = "big";
	set.value = &v;
	Mpstore__Op       *ops[] = {&create, &set};
	Mpstore__Response *r = call(s, ops, 2);
	assert_int_equal(r->results[0]->status, 0);
	assert_int_equal(r->results[1]->status, 0);
	mpstore__response__free_unpacked(r, NULL);
}

/*
 * The slow reader speaks SP over IPC by hand: nng's REQ socket would read
 * the replies off the connection even when the application never asks for
 * them. A REQ handshake, then frames: type 1, 64-bit big-endian length, a
 * 32-bit request id with the top bit set, the Request.
 */
static int raw_req(void)
{
	int fd = mpst_ipc_connect(d.url);
	assert_true(fd >= 0);
	assert_int_equal(mpst_sp_handshake(fd, 0x30, 0x31), 0); /* REQ0 to REP0 */
	return fd;
}

static void raw_send(int fd, uint32_t id, const uint8_t *body, size_t n)
{
	uint8_t  f[13 + 64];
	uint64_t len = 4 + n;
	assert_true(n <= 64);
	f[0] = 1;
	for (int i = 0; i < 8; i++)
		f[1 + i] = (uint8_t)(len >> (56 - 8 * i));
	id |= 0x80000000u;
	for (int i = 0; i < 4; i++)
		f[9 + i] = (uint8_t)(id >> (24 - 8 * i));
	memcpy(f + 13, body, n);
	assert_int_equal(send(fd, f, 13 + n, MSG_NOSIGNAL), (ssize_t)(13 + n));
}

/* A quick request on its own connection, answered within 2 s. */
static void served(nng_socket ctl)
{
	Mpstore__Op  p = MPSTORE__OP__INIT;
	Mpstore__Op *ops[] = {&p};
	p.code = MPSTORE__OP_CODE__OP_PING;
	long long          t0 = mpst_now_ms();
	Mpstore__Response *r = call(ctl, ops, 1);
	mpstore__response__free_unpacked(r, NULL);
	assert_true(mpst_now_ms() - t0 < 2000);
}

static void test_slow_reader_contexts_reused(void **state)
{
	(void)state;
	nng_socket ctl = open_req();
	make_big(ctl);
	long base, sending;
	contexts(ctl, &base, &sending);

	Mpstore__Op get = MPSTORE__OP__INIT;
	get.code = MPSTORE__OP_CODE__OP_VALUE_GET;
	get.name = "big";
	Mpstore__Op     *ops[] = {&get};
	Mpstore__Request rq = MPSTORE__REQUEST__INIT;
	rq.version = 1;
	rq.ops = ops;
	rq.n_ops = 1;
	uint8_t buf[64];

	long most_sending = 0;
	for (int round = 0; round < ROUNDS; round++) {
		int slow = raw_req();
		for (int i = 0; i < NCTX; i++) {
			rq.id = (uint64_t)(round * NCTX + i + 1);
			size_t n = mpstore__request__pack(&rq, buf);
			raw_send(slow, (uint32_t)rq.id, buf, n); /* and never a read */
		}
		/* the daemon answered into a connection nobody reads: replies
		 * queue, and other clients are still served */
		long all;
		for (int t = 0; t < 50; t++) {
			contexts(ctl, &all, &sending);
			if (sending >= NCTX / 2)
				break;
			mpst_sleep_ms(20);
		}
		if (sending > most_sending)
			most_sending = sending;
		served(ctl);
		close(slow); /* the reader leaves: its queued replies are dropped */
		/* ... once the daemon has seen the connection go */
		for (int t = 0; t < 250; t++) {
			contexts(ctl, &all, &sending);
			if (sending == 0)
				break;
			mpst_sleep_ms(20);
		}
		assert_int_equal(sending, 0);
	}
	/* replies really queued (else this test shows nothing) */
	assert_true(most_sending >= NCTX / 2);
	/* ... and the contexts came back: one slow reader's worth, not ROUNDS */
	long all = 0;
	for (int t = 0; t < 100; t++) {
		served(ctl); /* takes a context, which collects the finished ones */
		contexts(ctl, &all, &sending);
		if (sending == 0)
			break;
		mpst_sleep_ms(20);
	}
	printf("contexts: %ld at the start, %ld after %d slow readers of %d requests "
	       "(at most %ld queued replies)\n",
	    base, all, ROUNDS, NCTX, most_sending);
	assert_int_equal(sending, 0);
	assert_true(all <= base + NCTX + 16);
	nng_close(ctl);
}

static int setup(void **state)
{
	(void)state;
	return mpst_daemon_start(&d, (const char *const[]){"--durability", "memory", NULL});
}

static int teardown(void **state)
{
	(void)state;
	assert_int_equal(mpst_daemon_stop(&d), 0);
	mpst_daemon_cleanup(&d);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_slow_reader_contexts_reused),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
