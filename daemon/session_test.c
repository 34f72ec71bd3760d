/*
 * session_test.c - the re-send cache of session.c: request id 0 is never
 * kept (two overlapping id-0 writes of one client once leaked the first
 * answer: +965 MB for 1,000 cycles of 1 MB replies), the cache is bounded
 * in bytes per session with the oldest answers dropped first, and the
 * newest answer is always kept.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "session.h"

/* requests are opaque to session.c: any distinct pointers do */
static mpsd_req *req(uintptr_t i) { return (mpsd_req *)(i * 16); }

static void test_id0_never_kept(void **state)
{
	(void)state;
	mpsd_sessions *ss = mpsd_sessions_alloc();
	mpsd_session  *s = mpsd_session_get(ss, 42);
	size_t         len = 1u << 20;
	uint8_t       *ans = calloc(1, len);
	const uint8_t *data;
	size_t         dlen;
	mpsd_req      *pending;
	assert_non_null(s);
	for (int i = 0; i < 1000; i++) {
		/* two writes with id 0 in flight at once, answered in turn */
		assert_int_equal(mpsd_session_seen(s, 0, req(1), &data, &dlen, &pending), MPSD_SEEN_NEW);
		assert_int_equal(mpsd_session_seen(s, 0, req(2), &data, &dlen, &pending), MPSD_SEEN_NEW);
		mpsd_session_answered(s, 0, ans, len, 1);
		mpsd_session_answered(s, 0, ans, len, 1);
		mpsd_session_forget(s, 0);
	}
	assert_int_equal(s->cache_bytes, 0);
	assert_int_equal(mpsd_sessions_cache_bytes(ss), 0);
	/* an id-0 re-send runs again: nothing was recorded */
	assert_int_equal(mpsd_session_seen(s, 0, req(3), &data, &dlen, &pending), MPSD_SEEN_NEW);
	free(ans);
	mpsd_sessions_free(ss); /* ASan: nothing leaked */
}

static void test_resend_answered(void **state)
{
	(void)state;
	mpsd_sessions *ss = mpsd_sessions_alloc();
	mpsd_session  *s = mpsd_session_get(ss, 7);
	const uint8_t *data;
	size_t         dlen;
	mpsd_req      *pending = NULL;
	assert_int_equal(mpsd_session_seen(s, 5, req(1), &data, &dlen, &pending), MPSD_SEEN_NEW);
	/* a re-send while the first still runs waits for its answer */
	assert_int_equal(mpsd_session_seen(s, 5, req(2), &data, &dlen, &pending), MPSD_SEEN_PENDING);
	assert_ptr_equal(pending, req(1));
	mpsd_session_answered(s, 5, "hello", 5, 1);
	assert_int_equal(mpsd_session_seen(s, 5, req(3), &data, &dlen, &pending), MPSD_SEEN_DONE);
	assert_int_equal(dlen, 5);
	assert_memory_equal(data, "hello", 5);
	assert_int_equal(s->cache_bytes, 5);
	/* a read (keep 0) frees its slot */
	assert_int_equal(mpsd_session_seen(s, 6, req(4), &data, &dlen, &pending), MPSD_SEEN_NEW);
	mpsd_session_answered(s, 6, "x", 1, 0);
	assert_int_equal(mpsd_session_seen(s, 6, req(5), &data, &dlen, &pending), MPSD_SEEN_NEW);
	mpsd_session_answered(s, 6, "x", 1, 0);
	assert_int_equal(s->cache_bytes, 5);
	mpsd_sessions_free(ss);
}

static void test_bounded_oldest_first(void **state)
{
	(void)state;
	mpsd_sessions *ss = mpsd_sessions_alloc();
	mpsd_session  *s = mpsd_session_get(ss, 9);
	size_t         len = 1u << 20;
	uint8_t       *ans = calloc(1, len);
	const uint8_t *data;
	size_t         dlen;
	mpsd_req      *pending;
	uint64_t       n = 3 * (MPSD_DEDUPE_BYTES / len);
	for (uint64_t id = 1; id <= n; id++) {
		ans[0] = (uint8_t)id;
		assert_int_equal(mpsd_session_seen(s, id, req(id), &data, &dlen, &pending), MPSD_SEEN_NEW);
		mpsd_session_answered(s, id, ans, len, 1);
		assert_true(s->cache_bytes <= MPSD_DEDUPE_BYTES);
	}
	assert_int_equal(s->cache_bytes, MPSD_DEDUPE_BYTES);
	/* the newest are kept, the oldest were dropped */
	assert_int_equal(mpsd_session_seen(s, n, req(100), &data, &dlen, &pending), MPSD_SEEN_DONE);
	assert_int_equal(data[0], (uint8_t)n);
	uint64_t oldest_kept = n - MPSD_DEDUPE_BYTES / len + 1;
	assert_int_equal(mpsd_session_seen(s, oldest_kept, req(101), &data, &dlen, &pending),
	    MPSD_SEEN_DONE);
	assert_int_equal(data[0], (uint8_t)oldest_kept);
	assert_int_equal(mpsd_session_seen(s, oldest_kept - 1, req(102), &data, &dlen, &pending),
	    MPSD_SEEN_NEW);
	mpsd_session_answered(s, oldest_kept - 1, ans, 0, 0);
	/* an answer larger than the bound is still kept, alone */
	size_t   big = MPSD_DEDUPE_BYTES + len;
	uint8_t *huge = calloc(1, big);
	assert_int_equal(mpsd_session_seen(s, n + 1, req(103), &data, &dlen, &pending), MPSD_SEEN_NEW);
	mpsd_session_answered(s, n + 1, huge, big, 1);
	assert_int_equal(s->cache_bytes, big);
	assert_int_equal(mpsd_session_seen(s, n + 1, req(104), &data, &dlen, &pending), MPSD_SEEN_DONE);
	assert_int_equal(dlen, big);
	assert_int_equal(mpsd_session_seen(s, n, req(105), &data, &dlen, &pending), MPSD_SEEN_NEW);
	mpsd_session_answered(s, n, ans, 0, 0);
	free(huge);
	free(ans);
	mpsd_sessions_free(ss);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_id0_never_kept),
		cmocka_unit_test(test_resend_answered),
		cmocka_unit_test(test_bounded_oldest_first),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
