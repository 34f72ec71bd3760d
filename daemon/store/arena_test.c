/* arena_test.c - the request arena: zeroed aligned memory, growth, and a
 * reset that keeps one block big enough for the next request like it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "arena.h"

static void test_alloc_zeroed_aligned(void **state)
{
	(void)state;
	mpsd_arena a;
	mpsd_arena_init(&a);
	for (size_t n = 0; n < 5000; n += 37) {
		unsigned char *p = mpsd_arena_alloc(&a, n);
		assert_non_null(p);
		assert_int_equal((uintptr_t)p % 16, 0);
		for (size_t i = 0; i < n; i++)
			assert_int_equal(p[i], 0);
		memset(p, 0xab, n); /* the next allocation must not overlap */
	}
	char *s = mpsd_arena_memdup(&a, "abc", 3);
	assert_string_equal(s, "abc");
	assert_string_equal(mpsd_arena_printf(&a, "%d-%s", 7, "x"), "7-x");
	mpsd_arena_fini(&a);
}

/* After a big request, a reset keeps the biggest block: the same request
 * again takes no new block (the head stays the same). */
static void test_reset_keeps_biggest(void **state)
{
	(void)state;
	mpsd_arena a;
	mpsd_arena_init(&a);
	for (int i = 0; i < 25; i++)
		assert_non_null(mpsd_arena_alloc(&a, 1000)); /* 4, 8 and 16 KiB blocks */
	mpsd_arena_reset(&a);
	mpsd_arena_blk *kept = a.head;
	assert_non_null(kept);
	assert_true(a.left >= 16 * 1024); /* the biggest, not the first 4 KiB */
	for (int round = 0; round < 3; round++) {
		for (int i = 0; i < 15; i++)
			assert_non_null(mpsd_arena_alloc(&a, 1000));
		assert_ptr_equal(a.head, kept);
		mpsd_arena_reset(&a);
	}
	/* one huge allocation is not kept past a reset */
	assert_non_null(mpsd_arena_alloc(&a, 1u << 20));
	mpsd_arena_reset(&a);
	assert_true(a.left <= 32 * 1024);
	mpsd_arena_fini(&a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_alloc_zeroed_aligned),
	    cmocka_unit_test(test_reset_keeps_biggest),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
