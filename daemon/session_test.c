/*
 * session_test.c - the re-send cache of session.c: request id 0 is never
 * kept (two overlapping id-0 writes of one client once leaked the first
 * answer: +965 MB for 1,000 cycles of 1 MB replies), the cache is bounded
 * in bytes per session with the oldest answers dropped first, and the
 * newest answer is always kept; answers restored at start live in an
 * ended session, within the same bound, until it is freed one lease later
 * (reported to the free hook, which prunes them from the database).
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

typedef struct freed_log {
	uint64_t ids[8];
	size_t   n;
} freed_log;

static void freed_cb(void *arg, uint64_t sid)
{
	freed_log *f = arg;
	if (f->n < 8)
		f->ids[f->n++] = sid;
}

static void gone_cb(void *arg, uint64_t sid)
{
	(void)sid;
	++*(int *)arg;
}

static void test_restore_then_free(void **state)
{
	(void)state;
	mpsd_sessions *ss = mpsd_sessions_alloc();
	freed_log      freed = {{0}, 0};
	int            gone = 0;
	const uint8_t *data;
	size_t         dlen;
	mpsd_req      *pending;
	int64_t        t0 = 1000000, lease = 10000;
	mpsd_sessions_on_free(ss, freed_cb, &freed);
	assert_int_equal(mpsd_session_restore(ss, 21, 3, "three", 5, t0), 0);
	assert_int_equal(mpsd_session_restore(ss, 21, 4, "four", 4, t0), 0);
	assert_int_equal(mpsd_session_restore(ss, 22, 1, "one", 3, t0), 0);
	assert_int_equal(mpsd_session_restore(ss, 22, 0, "zero", 4, t0), -1); /* never kept */
	assert_int_equal(mpsd_sessions_count(ss), 2);
	assert_int_equal(mpsd_sessions_cache_bytes(ss), 12);
	mpsd_session *s21 = mpsd_session_find(ss, 21);
	assert_non_null(s21);
	assert_int_equal(s21->gone_at, t0); /* ended: holds nothing, no session_gone */
	/* a re-send after the restart gets the first answer */
	assert_int_equal(mpsd_session_seen(s21, 3, req(1), &data, &dlen, &pending), MPSD_SEEN_DONE);
	assert_int_equal(dlen, 5);
	assert_memory_equal(data, "three", 5);
	/* client 21 comes back: live again, so it is not freed */
	mpsd_session_touch(s21, 7, t0 + 100);
	mpsd_sessions_reap(ss, 0, t0 + lease / 2, lease, gone_cb, &gone);
	assert_int_equal(freed.n, 0);
	/* one lease later the other is freed and reported, never as "gone" */
	mpsd_sessions_reap(ss, 0, t0 + lease + 1, lease, gone_cb, &gone);
	assert_int_equal(freed.n, 1);
	assert_int_equal(freed.ids[0], 22);
	assert_int_equal(gone, 0);
	assert_null(mpsd_session_find(ss, 22));
	assert_non_null(mpsd_session_find(ss, 21));
	/* 21 ends by its lease, then is freed a lease after that */
	mpsd_sessions_reap(ss, 0, t0 + 100 + lease + 1, lease, gone_cb, &gone);
	assert_int_equal(gone, 1);
	mpsd_sessions_reap(ss, 0, t0 + 100 + 2 * lease + 2, lease, gone_cb, &gone);
	assert_int_equal(freed.n, 2);
	assert_int_equal(freed.ids[1], 21);
	assert_int_equal(mpsd_sessions_count(ss), 0);
	mpsd_sessions_free(ss);
}

/* Restored answers keep the byte bound: given oldest first, the newest stay. */
static void test_restore_bounded(void **state)
{
	(void)state;
	mpsd_sessions *ss = mpsd_sessions_alloc();
	size_t         len = 1u << 20;
	uint8_t       *ans = calloc(1, len);
	const uint8_t *data;
	size_t         dlen;
	mpsd_req      *pending;
	uint64_t       n = 2 * (MPSD_DEDUPE_BYTES / len);
	for (uint64_t id = 1; id <= n; id++) {
		ans[0] = (uint8_t)id;
		assert_int_equal(mpsd_session_restore(ss, 5, id, ans, len, 1000), 0);
	}
	mpsd_session *s = mpsd_session_find(ss, 5);
	assert_int_equal(s->cache_bytes, MPSD_DEDUPE_BYTES);
	assert_int_equal(mpsd_session_seen(s, n, req(1), &data, &dlen, &pending), MPSD_SEEN_DONE);
	assert_int_equal(data[0], (uint8_t)n);
	assert_int_equal(mpsd_session_seen(s, 1, req(2), &data, &dlen, &pending), MPSD_SEEN_NEW);
	mpsd_session_forget(s, 1);
	free(ans);
	mpsd_sessions_free(ss); /* exit: no free hook, nothing leaked */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_id0_never_kept),
		cmocka_unit_test(test_resend_answered),
		cmocka_unit_test(test_bounded_oldest_first),
		cmocka_unit_test(test_restore_then_free),
		cmocka_unit_test(test_restore_bounded),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
