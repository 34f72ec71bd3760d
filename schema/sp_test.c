/* sp_test.c - the SP framing helpers (sp.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "sp.h"

static void test_handshake(void **state)
{
	(void)state;
	uint8_t h[8];
	mps_sp_handshake(h, MPS_SP_REP0);
	static const uint8_t want[8] = {0, 'S', 'P', 0, 0, 0x31, 0, 0};
	assert_memory_equal(h, want, 8);
	assert_int_equal(mps_sp_handshake_parse(h), MPS_SP_REP0);
	h[1] = 'X';
	assert_int_equal(mps_sp_handshake_parse(h), -1);
	mps_sp_handshake(h, MPS_SP_SUB0);
	h[7] = 1; /* reserved bytes must be zero */
	assert_int_equal(mps_sp_handshake_parse(h), -1);
}

static void test_frames(void **state)
{
	(void)state;
	uint8_t  b[16];
	size_t   hl;
	uint64_t bl;
	for (int ipc = 0; ipc <= 1; ipc++) {
		size_t n = mps_sp_hdr(b, ipc, 0x0102030405ull);
		assert_int_equal(n, ipc ? 9u : 8u);
		for (size_t k = 0; k < n; k++) /* a partial header asks for more */
			assert_int_equal(mps_sp_frame(b, k, ipc, UINT64_MAX, &hl, &bl), 0);
		assert_int_equal(mps_sp_frame(b, n, ipc, UINT64_MAX, &hl, &bl), 1);
		assert_int_equal(hl, n);
		assert_true(bl == 0x0102030405ull);
		/* longer than allowed */
		assert_int_equal(mps_sp_frame(b, n, ipc, 0x0102030404ull, &hl, &bl), -1);
	}
	b[0] = 2; /* ipc: only user messages (type 1) */
	assert_int_equal(mps_sp_frame(b, 1, 1, UINT64_MAX, &hl, &bl), -1);
}

static void test_backtrace(void **state)
{
	(void)state;
	uint8_t body[80];
	memset(body, 0, sizeof(body));
	mps_sp_put32(body, 0x80000007u);
	assert_int_equal(mps_sp_backtrace(body, 10), 4);
	assert_int_equal(mps_sp_get32(body), 0x80000007u);
	assert_int_equal(mps_sp_backtrace(body, 3), 0); /* truncated */
	mps_sp_put32(body, 5); /* a device's hop, then the id */
	mps_sp_put32(body + 4, 0x80000001u);
	assert_int_equal(mps_sp_backtrace(body, 8), 8);
	memset(body, 0, sizeof(body)); /* no id within the hop limit */
	assert_int_equal(mps_sp_backtrace(body, sizeof(body)), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_handshake),
	    cmocka_unit_test(test_frames),
	    cmocka_unit_test(test_backtrace),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
