/*
 * Hostile bytes on a raw nng REQ socket: random and truncated messages
 * get error replies, and the daemon keeps serving valid requests.
 */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <stdio.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include <nng/nng.h>
#include <nng/protocol/reqrep0/req.h>

#include "mpstore.pb-c.h"
#include "support.h"

static mpst_daemon d;

static int setup(void **state)
{
	(void)state;
	return mpst_daemon_start(&d, (const char *const[]){"--durability", "memory", NULL});
}

static int teardown(void **state)
{
	(void)state;
	assert_int_equal(mpst_daemon_stop(&d), 0); /* a clean exit, no crash */
	mpst_daemon_cleanup(&d);
	return 0;
}

static nng_socket open_req(void)
{
	nng_socket s;
	assert_int_equal(nng_req0_open(&s), 0);
	nng_socket_set_ms(s, NNG_OPT_RECVTIMEO, 5000);
	nng_socket_set_ms(s, NNG_OPT_SENDTIMEO, 5000);
	assert_int_equal(nng_dial(s, d.url, NULL, 0), 0);
	return s;
}

/* Send raw bytes, return the decoded response (caller frees) or NULL. */
static Mpstore__Response *roundtrip(nng_socket s, const void *buf, size_t len)
{
	assert_int_equal(nng_send(s, (void *)buf, len, 0), 0);
	void  *rbuf;
	size_t rlen;
	assert_int_equal(nng_recv(s, &rbuf, &rlen, NNG_FLAG_ALLOC), 0);
	Mpstore__Response *r = mpstore__response__unpack(NULL, rlen, rbuf);
	nng_free(rbuf, rlen);
	return r;
}

static size_t pack_request(const Mpstore__Request *rq, uint8_t *buf)
{
	return mpstore__request__pack(rq, buf);
}

/* A valid request: create a counter and add 1; returns the new value. */
static int64_t valid_add(nng_socket s)
{
	Mpstore__Op create = MPSTORE__OP__INIT, add = MPSTORE__OP__INIT;
	create.code = MPSTORE__OP_CODE__OP_CREATE;
	create.name = "c";
	create.kind = MPSTORE__KIND__KIND_VALUE;
	create.elem_type = MPSTORE__ELEM_TYPE__TYPE_INT64;
	Mpstore__Value one = MPSTORE__VALUE__INIT;
	one.v_case = MPSTORE__VALUE__V_INT_VALUE;
	one.int_value = 1;
	add.code = MPSTORE__OP_CODE__OP_VALUE_ADD;
	add.name = "c";
	add.value = &one;
	Mpstore__Op     *ops[] = {&create, &add};
	Mpstore__Request rq = MPSTORE__REQUEST__INIT;
	rq.version = 1;
	rq.id = 1;
	rq.ops = ops;
	rq.n_ops = 2;
	uint8_t buf[256];
	size_t  n = pack_request(&rq, buf);
	Mpstore__Response *r = roundtrip(s, buf, n);
	assert_non_null(r);
	assert_int_equal(r->status, 0);
	assert_int_equal(r->n_results, 2);
	assert_int_equal(r->results[1]->status, 0);
	int64_t v = r->results[1]->value->int_value;
	mpstore__response__free_unpacked(r, NULL);
	return v;
}

static void test_random_bytes(void **state)
{
	(void)state;
	nng_socket s = open_req();
	srand(12345);
	int64_t before = valid_add(s);
	int     errors = 0;
	for (int i = 0; i < 300; i++) {
		uint8_t buf[512];
		size_t  n = 1 + (size_t)(rand() % (int)sizeof(buf));
		for (size_t k = 0; k < n; k++)
			buf[k] = (uint8_t)rand();
		Mpstore__Response *r = roundtrip(s, buf, n);
		assert_non_null(r); /* always a decodable answer */
		if (r->status != 0 || (r->n_results > 0 && r->results[0]->status != 0))
			errors++;
		mpstore__response__free_unpacked(r, NULL);
	}
	assert_true(errors > 250); /* garbage is refused, not applied */
	assert_int_equal(valid_add(s), before + 1);
	nng_close(s);
}

static void test_truncated(void **state)
{
	(void)state;
	nng_socket s = open_req();
	Mpstore__Value v = MPSTORE__VALUE__INIT;
	v.v_case = MPSTORE__VALUE__V_STRING_VALUE;
	v.string_value = "a string that will be cut short";
	Mpstore__Op op = MPSTORE__OP__INIT;
	op.code = MPSTORE__OP_CODE__OP_LIST_APPEND;
	op.name = "list";
	op.value = &v;
	Mpstore__Op     *ops[] = {&op};
	Mpstore__Request rq = MPSTORE__REQUEST__INIT;
	rq.version = 1;
	rq.id = 9;
	rq.ops = ops;
	rq.n_ops = 1;
	uint8_t buf[256];
	size_t  n = pack_request(&rq, buf);
	int     malformed = 0;
	for (size_t cut = 1; cut < n; cut++) {
		Mpstore__Response *r = roundtrip(s, buf, cut);
		assert_non_null(r);
		if (r->status == MPSTORE__STATUS__ERR_MALFORMED) {
			malformed++;
			assert_non_null(r->error);
			assert_true(strlen(r->error) > 0);
		}
		mpstore__response__free_unpacked(r, NULL);
	}
	assert_true(malformed > 0);
	valid_add(s);
	nng_close(s);
}

static void test_bad_version_and_op(void **state)
{
	(void)state;
	nng_socket       s = open_req();
	Mpstore__Op      op = MPSTORE__OP__INIT;
	Mpstore__Op     *ops[] = {&op};
	Mpstore__Request rq = MPSTORE__REQUEST__INIT;
	rq.version = 99;
	rq.id = 3;
	rq.ops = ops;
	rq.n_ops = 1;
	op.code = MPSTORE__OP_CODE__OP_PING;
	uint8_t buf[256];
	size_t  n = pack_request(&rq, buf);
	Mpstore__Response *r = roundtrip(s, buf, n);
	assert_non_null(r);
	assert_int_equal(r->status, MPSTORE__STATUS__ERR_VERSION);
	assert_int_equal(r->id, 3);
	mpstore__response__free_unpacked(r, NULL);

	rq.version = 1;
	op.code = (Mpstore__OpCode)999; /* unknown op */
	n = pack_request(&rq, buf);
	r = roundtrip(s, buf, n);
	assert_non_null(r);
	assert_int_equal(r->n_results, 1);
	assert_int_equal(r->results[0]->status, MPSTORE__STATUS__ERR_UNKNOWN_OP);
	mpstore__response__free_unpacked(r, NULL);

	/* wrong kind, missing container, wrong element type: each its own code */
	valid_add(s);
	Mpstore__Value sv = MPSTORE__VALUE__INIT;
	sv.v_case = MPSTORE__VALUE__V_STRING_VALUE;
	sv.string_value = "x";
	op.code = MPSTORE__OP_CODE__OP_LIST_APPEND;
	op.name = "c";
	op.value = &sv;
	n = pack_request(&rq, buf);
	r = roundtrip(s, buf, n);
	assert_int_equal(r->results[0]->status, MPSTORE__STATUS__ERR_WRONG_KIND);
	mpstore__response__free_unpacked(r, NULL);
	op.code = MPSTORE__OP_CODE__OP_VALUE_ADD;
	op.name = "missing";
	n = pack_request(&rq, buf);
	r = roundtrip(s, buf, n);
	assert_int_equal(r->results[0]->status, MPSTORE__STATUS__ERR_NOT_FOUND);
	mpstore__response__free_unpacked(r, NULL);
	op.code = MPSTORE__OP_CODE__OP_VALUE_SET;
	op.name = "c";
	n = pack_request(&rq, buf);
	r = roundtrip(s, buf, n);
	assert_int_equal(r->results[0]->status, MPSTORE__STATUS__ERR_WRONG_TYPE);
	assert_non_null(strstr(r->results[0]->error, "int64"));
	mpstore__response__free_unpacked(r, NULL);
	nng_close(s);
}

/*
 * A message over the size limit, from a peer that speaks SP over IPC by
 * hand (a REQ handshake, then a frame whose header announces 20 MiB). The
 * daemon answers ERR_TOO_BIG as soon as the request id is in, skips the
 * body as it arrives without buffering it, and the connection serves on.
 * A length past any sane limit (2^40) gets the connection dropped.
 */
static void send_frame_hdr(int fd, uint64_t n)
{
	uint8_t fh[9] = {1}; /* IPC: type 1, 64-bit big-endian length */
	for (int i = 0; i < 8; i++)
		fh[1 + i] = (uint8_t)(n >> (56 - 8 * i));
	assert_int_equal(send(fd, fh, sizeof(fh), MSG_NOSIGNAL), (ssize_t)sizeof(fh));
}

/* Read one reply frame on fd: its request id and decoded Response. */
static Mpstore__Response *read_reply(int fd, uint32_t *id)
{
	uint8_t fh[9];
	assert_int_equal(recv(fd, fh, sizeof(fh), MSG_WAITALL), (ssize_t)sizeof(fh));
	assert_int_equal(fh[0], 1);
	uint64_t n = 0;
	for (int i = 1; i < 9; i++)
		n = (n << 8) | fh[i];
	assert_true(n >= 4 && n < 4096);
	uint8_t buf[4096];
	assert_int_equal(recv(fd, buf, n, MSG_WAITALL), (ssize_t)n);
	*id = ((uint32_t)buf[0] << 24) | ((uint32_t)buf[1] << 16) | ((uint32_t)buf[2] << 8) | buf[3];
	Mpstore__Response *r = mpstore__response__unpack(NULL, n - 4, buf + 4);
	assert_non_null(r);
	return r;
}

static void test_huge_message(void **state)
{
	(void)state;
	int fd = mpst_ipc_connect(d.url);
	assert_true(fd >= 0);
	assert_int_equal(mpst_sp_handshake(fd, 0x30, 0x31), 0); /* REQ0 to REP0 */
	uint64_t n = 20u << 20; /* the default limit is 16 MiB */
	send_frame_hdr(fd, n);
	static uint8_t body[64 << 10] = {0x80, 0, 0, 7}; /* request id, then zeros */
	assert_int_equal(send(fd, body, sizeof(body), MSG_NOSIGNAL), (ssize_t)sizeof(body));
	uint32_t           id;
	Mpstore__Response *r = read_reply(fd, &id);
	assert_int_equal(id, 0x80000007u);
	assert_int_equal(r->status, MPSTORE__STATUS__ERR_TOO_BIG);
	assert_non_null(strstr(r->error, "--max-message"));
	mpstore__response__free_unpacked(r, NULL);
	/* the rest of the body is skipped, then the connection serves on */
	for (uint64_t sent = sizeof(body); sent < n;) {
		size_t k = n - sent < sizeof(body) ? (size_t)(n - sent) : sizeof(body);
		memset(body, 0, k);
		assert_int_equal(send(fd, body, k, MSG_NOSIGNAL), (ssize_t)k);
		sent += k;
	}
	Mpstore__Op      op = MPSTORE__OP__INIT;
	Mpstore__Op     *ops[] = {&op};
	Mpstore__Request rq = MPSTORE__REQUEST__INIT;
	op.code = MPSTORE__OP_CODE__OP_PING;
	rq.version = 1;
	rq.ops = ops;
	rq.n_ops = 1;
	uint8_t ping[64] = {0x80, 0, 0, 8};
	size_t  pl = mpstore__request__pack(&rq, ping + 4);
	send_frame_hdr(fd, pl + 4);
	assert_int_equal(send(fd, ping, pl + 4, MSG_NOSIGNAL), (ssize_t)(pl + 4));
	r = read_reply(fd, &id);
	assert_int_equal(id, 0x80000008u);
	assert_int_equal(r->status, 0);
	mpstore__response__free_unpacked(r, NULL);
	/* an absurd length: hung up on, never a reply */
	send_frame_hdr(fd, 1ull << 40);
	uint8_t b;
	ssize_t rr = read(fd, &b, 1);
	assert_true(rr == 0 || (rr < 0 && errno == ECONNRESET)); /* not a timeout */
	close(fd);
	nng_socket s2 = open_req();
	valid_add(s2);
	nng_close(s2);
}

/* A mutation re-sent (same client_id and id) over a new connection, as
 * nng does after a connection drops, is answered, not applied again. */
static void test_resend_applied_once(void **state)
{
	(void)state;
	nng_socket s = open_req();
	valid_add(s); /* creates "c" */
	Mpstore__Value one = MPSTORE__VALUE__INIT;
	one.v_case = MPSTORE__VALUE__V_INT_VALUE;
	one.int_value = 1;
	Mpstore__Op add = MPSTORE__OP__INIT;
	add.code = MPSTORE__OP_CODE__OP_VALUE_ADD;
	add.name = "c";
	add.value = &one;
	Mpstore__Op     *ops[] = {&add};
	Mpstore__Request rq = MPSTORE__REQUEST__INIT;
	rq.version = 1;
	rq.client_id = 0x5eed5eedULL;
	rq.id = 41;
	rq.ops = ops;
	rq.n_ops = 1;
	uint8_t buf[128];
	size_t  n = pack_request(&rq, buf);
	Mpstore__Response *r1 = roundtrip(s, buf, n);
	assert_int_equal(r1->results[0]->status, 0);
	int64_t v1 = r1->results[0]->value->int_value;
	nng_close(s); /* the connection drops; the session ends */
	mpst_sleep_ms(100);
	nng_socket s2 = open_req();
	Mpstore__Response *r2 = roundtrip(s2, buf, n); /* the re-send */
	assert_int_equal(r2->results[0]->status, 0);
	assert_int_equal(r2->results[0]->value->int_value, v1);
	assert_int_equal(r2->results[0]->revision, r1->results[0]->revision);
	rq.id = 42; /* a new request is applied */
	n = pack_request(&rq, buf);
	Mpstore__Response *r3 = roundtrip(s2, buf, n);
	assert_int_equal(r3->results[0]->value->int_value, v1 + 1);
	mpstore__response__free_unpacked(r1, NULL);
	mpstore__response__free_unpacked(r2, NULL);
	mpstore__response__free_unpacked(r3, NULL);
	nng_close(s2);
}

/* Hello reports versions, the lease and where changes are published. */
static void test_hello(void **state)
{
	(void)state;
	nng_socket       s = open_req();
	Mpstore__Op      op = MPSTORE__OP__INIT;
	Mpstore__Op     *ops[] = {&op};
	Mpstore__Request rq = MPSTORE__REQUEST__INIT;
	op.code = MPSTORE__OP_CODE__OP_HELLO;
	rq.version = 1;
	rq.id = 5;
	rq.ops = ops;
	rq.n_ops = 1;
	uint8_t buf[64];
	size_t  n = pack_request(&rq, buf);
	Mpstore__Response *r = roundtrip(s, buf, n);
	assert_int_equal(r->n_results, 1);
	Mpstore__Result *res = r->results[0];
	assert_int_equal(res->status, 0);
	assert_int_equal(res->count, 1);
	assert_true(res->token > 0); /* lease */
	assert_non_null(strstr(res->value->string_value, "mpstored"));
	char want[400];
	snprintf(want, sizeof(want), "pub=%s", d.pub_url);
	int found = 0;
	for (size_t i = 0; i < res->n_values; i++)
		found |= strcmp(res->values[i]->string_value, want) == 0;
	assert_true(found);
	mpstore__response__free_unpacked(r, NULL);
	nng_close(s);
}

/* Ops that cannot be in a txn are refused, and nothing of it applies. */
static void test_txn_refuses_admin_ops(void **state)
{
	(void)state;
	nng_socket s = open_req();
	int64_t    before = valid_add(s);
	Mpstore__Value one = MPSTORE__VALUE__INIT;
	one.v_case = MPSTORE__VALUE__V_INT_VALUE;
	one.int_value = 1;
	Mpstore__Op add = MPSTORE__OP__INIT, snap = MPSTORE__OP__INIT;
	add.code = MPSTORE__OP_CODE__OP_VALUE_ADD;
	add.name = "c";
	add.value = &one;
	snap.code = MPSTORE__OP_CODE__OP_SNAPSHOT;
	Mpstore__Op *ops[] = {&add, &snap};
	Mpstore__Txn txn = MPSTORE__TXN__INIT;
	txn.success = ops;
	txn.n_success = 2;
	Mpstore__Request rq = MPSTORE__REQUEST__INIT;
	rq.version = 1;
	rq.id = 77;
	rq.txn = &txn;
	uint8_t buf[256];
	size_t  n = pack_request(&rq, buf);
	Mpstore__Response *r = roundtrip(s, buf, n);
	assert_non_null(r);
	assert_int_equal(r->status, MPSTORE__STATUS__ERR_INVALID);
	mpstore__response__free_unpacked(r, NULL);
	assert_int_equal(valid_add(s), before + 1); /* the txn's add was rolled back */
	nng_close(s);
}

/* test_aborted_handshake gets a daemon of its own: nng 1.5.2 leaks the
 * connections its bug #1518 leaves stuck when the listener is reopened,
 * which is not ours to report (leak checks stay on for the others). */
static mpst_daemon d_main;

static int setup_own(void **state)
{
	(void)state;
	d_main = d;
	const char *asan = getenv("ASAN_OPTIONS");
	char        saved[512];
	snprintf(saved, sizeof(saved), "%s", asan != NULL ? asan : "");
	setenv("ASAN_OPTIONS", "detect_leaks=0", 1);
	int rv = mpst_daemon_start(&d, (const char *const[]){"--durability", "memory", NULL});
	if (asan != NULL)
		setenv("ASAN_OPTIONS", saved, 1);
	else
		unsetenv("ASAN_OPTIONS");
	return rv;
}

static int teardown_own(void **state)
{
	(void)state;
	int rv = mpst_daemon_stop(&d);
	mpst_daemon_cleanup(&d);
	d = d_main;
	return rv == 0 ? 0 : -1;
}

/* A peer that connects and leaves before the handshake must not cut
 * later clients off (nng 1.5.2 bug #1518: the daemon's watchdog restarts
 * the listener). */
static void test_aborted_handshake(void **state)
{
	(void)state;
	for (int i = 0; i < 3; i++) {
		int fd = mpst_ipc_connect(d.url);
		assert_true(fd >= 0);
		close(fd);
	}
	nng_socket s = open_req();
	nng_socket_set_ms(s, NNG_OPT_RECVTIMEO, 15000);
	long long t0 = mpst_now_ms();
	valid_add(s);
	printf("served again after %lld ms\n", mpst_now_ms() - t0);
	nng_close(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_random_bytes),
	    cmocka_unit_test(test_truncated),
	    cmocka_unit_test(test_bad_version_and_op),
	    cmocka_unit_test(test_huge_message),
	    cmocka_unit_test(test_hello),
	    cmocka_unit_test(test_resend_applied_once),
	    cmocka_unit_test(test_txn_refuses_admin_ops),
	    cmocka_unit_test_setup_teardown(test_aborted_handshake, setup_own, teardown_own),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
