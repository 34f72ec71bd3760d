/* sp_conn_test.c - the frame reader and address parsing of sp_conn.c, over
 * a socketpair: frames split at every byte, several in one read, empty
 * ones, bodies bigger than the read buffer (read straight into them),
 * and bad frames (ipc type byte, lengths over the limit: refused before
 * anything that size is allocated). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "sp.h"
#include "sp_conn.h"

static int sv[2];

static int setup(void **state)
{
	(void)state;
	return socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv);
}

static int teardown(void **state)
{
	(void)state;
	close(sv[0]);
	close(sv[1]);
	return 0;
}

static void put(const void *p, size_t n)
{
	assert_int_equal(write(sv[0], p, n), (ssize_t)n);
}

static void put_frame(int ipc, const void *body, size_t n)
{
	uint8_t h[MPS_SP_HDR_MAX];
	put(h, mps_sp_hdr(h, ipc, n));
	if (n > 0)
		put(body, n);
}

/* Fill until a frame is whole; return it (the caller frees). */
static uint8_t *next(mps__rd *r, size_t *len)
{
	uint8_t    *body;
	const char *why;
	int         k;
	while ((k = mps__rd_next(r, &body, len, &why)) == 0)
		assert_int_equal(mps__rd_fill(r, sv[1]), 1);
	assert_int_equal(k, 1);
	return body;
}

static void test_split_and_batched(void **state)
{
	(void)state;
	for (int ipc = 0; ipc <= 1; ipc++) {
		mps__rd r;
		mps__rd_init(&r, ipc, 1 << 20);
		/* one frame a byte at a time */
		uint8_t h[MPS_SP_HDR_MAX];
		size_t  hl = mps_sp_hdr(h, ipc, 5);
		for (size_t i = 0; i < hl; i++) {
			put(h + i, 1);
			assert_int_equal(mps__rd_fill(&r, sv[1]), 1);
			assert_false(mps__rd_ready(&r));
		}
		for (int i = 0; i < 5; i++) {
			put("hello" + i, 1);
			assert_int_equal(mps__rd_fill(&r, sv[1]), 1);
			assert_int_equal(mps__rd_ready(&r), i == 4);
		}
		size_t   n;
		uint8_t *b = next(&r, &n);
		assert_int_equal(n, 5);
		assert_memory_equal(b, "hello", 5);
		free(b);
		/* three in one read, one of them empty */
		put_frame(ipc, "a", 1);
		put_frame(ipc, "", 0);
		put_frame(ipc, "ccc", 3);
		b = next(&r, &n);
		assert_int_equal(n, 1);
		free(b);
		assert_true(mps__rd_ready(&r));
		b = next(&r, &n);
		assert_int_equal(n, 0);
		free(b);
		b = next(&r, &n);
		assert_int_equal(n, 3);
		assert_memory_equal(b, "ccc", 3);
		free(b);
		assert_false(mps__rd_ready(&r));
		assert_int_equal(mps__rd_fill(&r, sv[1]), 0); /* nothing more: EAGAIN */
		mps__rd_fini(&r);
	}
}

static void test_big_body(void **state)
{
	(void)state;
	mps__rd r;
	mps__rd_init(&r, 0, 1 << 24);
	size_t   big = 300000; /* many reads, straight into the body */
	uint8_t *src = malloc(big);
	for (size_t i = 0; i < big; i++)
		src[i] = (uint8_t)(i * 7);
	uint8_t h[MPS_SP_HDR_MAX];
	put(h, mps_sp_hdr(h, 0, big));
	size_t      off = 0, n = 0;
	uint8_t    *body = NULL;
	const char *why;
	int         k = 0;
	while (k == 0) {
		ssize_t w = off < big ? write(sv[0], src + off, big - off) : 0;
		if (w > 0)
			off += (size_t)w;
		while ((k = mps__rd_next(&r, &body, &n, &why)) == 0 && mps__rd_fill(&r, sv[1]) == 1) {
		}
	}
	assert_int_equal(k, 1);
	assert_int_equal(n, big);
	assert_memory_equal(body, src, big);
	free(body);
	free(src);
	mps__rd_fini(&r);
}

static void test_bad_frames(void **state)
{
	(void)state;
	mps__rd     r;
	uint8_t    *body;
	size_t      n;
	const char *why = NULL;
	/* ipc: a message type other than 1 */
	mps__rd_init(&r, 1, 1 << 20);
	put("\x07garbage!", 9);
	assert_int_equal(mps__rd_fill(&r, sv[1]), 1);
	assert_true(mps__rd_ready(&r)); /* an answer without reading: an error */
	assert_int_equal(mps__rd_next(&r, &body, &n, &why), -1);
	assert_non_null(strstr(why, "type"));
	mps__rd_fini(&r);
	/* a length over the limit (2^40 here): refused from the header */
	mps__rd_init(&r, 0, 1 << 20);
	uint8_t h[MPS_SP_HDR_MAX];
	put(h, mps_sp_hdr(h, 0, (uint64_t)1 << 40));
	assert_int_equal(mps__rd_fill(&r, sv[1]), 1);
	assert_int_equal(mps__rd_next(&r, &body, &n, &why), -1);
	assert_non_null(strstr(why, "longer"));
	mps__rd_fini(&r);
	/* the peer closes mid-frame: the read ends */
	mps__rd_init(&r, 0, 1 << 20);
	put(h, mps_sp_hdr(h, 0, 100));
	put("0123456789", 10);
	close(sv[0]);
	sv[0] = -1;
	assert_int_equal(mps__rd_fill(&r, sv[1]), 1);
	assert_int_equal(mps__rd_next(&r, &body, &n, &why), 0);
	assert_int_equal(mps__rd_fill(&r, sv[1]), -1);
	mps__rd_fini(&r);
}

/* mps__sp_spin: 0 after polling for the time given when nothing comes
 * (it never returns early without data), 1 as soon as a byte is there;
 * $MPSTORE_BUSY_POLL_US sets the budget (read once per process). */
static void test_busy_poll(void **state)
{
	(void)state;
	int64_t t0 = mps__now_ms();
	assert_int_equal(mps__sp_spin(sv[0], 20000), 0);
	assert_true(mps__now_ms() - t0 >= 19); /* 20 ms in whole ms, rounded down */
	assert_int_equal(write(sv[1], "x", 1), 1);
	assert_int_equal(mps__sp_spin(sv[0], 10000000), 1); /* not 10 s: at once */
	setenv("MPSTORE_BUSY_POLL_US", "7", 1);
	assert_int_equal(mps__busy_poll_us(), 7);
	setenv("MPSTORE_BUSY_POLL_US", "0", 1);
	assert_int_equal(mps__busy_poll_us(), 7); /* read once */
}

static void test_addr(void **state)
{
	(void)state;
	mps__addr a;
	char      err[300];
	assert_int_equal(mps__addr_parse("ipc:///tmp/x.ipc", &a, err, sizeof(err)), 0);
	assert_true(a.ipc && strcmp(a.path, "/tmp/x.ipc") == 0);
	assert_int_equal(mps__addr_parse("tcp://127.0.0.1:7000", &a, err, sizeof(err)), 0);
	assert_true(!a.ipc && strcmp(a.host, "127.0.0.1") == 0 && strcmp(a.port, "7000") == 0);
	assert_int_equal(mps__addr_parse("tcp://[::1]:7000", &a, err, sizeof(err)), 0);
	assert_string_equal(a.host, "::1");
	assert_int_equal(mps__addr_parse("tcp://host", &a, err, sizeof(err)), -1);
	assert_int_equal(mps__addr_parse("tcp://:7000", &a, err, sizeof(err)), -1);
	assert_int_equal(mps__addr_parse("tcp://*:7000", &a, err, sizeof(err)), -1);
	assert_int_equal(mps__addr_parse("tcp://h:70x", &a, err, sizeof(err)), -1);
	assert_int_equal(mps__addr_parse("ipc://", &a, err, sizeof(err)), -1);
	assert_int_equal(mps__addr_parse("ws://h:1", &a, err, sizeof(err)), -1);
	assert_true(mps__sp_scheme("ipc://x") && mps__sp_scheme("tcp://h:1"));
	assert_false(mps__sp_scheme("tls+tcp://h:1"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_split_and_batched, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_big_body, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_bad_frames, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_busy_poll, setup, teardown),
	    cmocka_unit_test(test_addr),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
