/* test_arena.c — the bump allocator (src/util/arena.c): blocks are aligned,
 * distinct and keep what was written into them across chunks; a block too
 * big for a chunk gets its own; a reset keeps the chunks for the next round
 * (no growth over many rounds) but no more than ARENA_KEEP_BYTES; and under
 * AddressSanitizer a block is poisoned after the reset, and the gap after
 * each block always is. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "util/arena.h"

#include "ut_asan.h"
#ifdef T_ASAN
#include <sanitizer/asan_interface.h>
#endif

#define T_BLOCKS 5000

static void test_blocks(void **state)
{
	struct pl_arena a;
	char *p[T_BLOCKS];

	(void)state;
	arena_init(&a);
	assert_null(arena_alloc(&a, 0));
	for (int i = 0; i < T_BLOCKS; i++) {
		size_t n = 1 + (size_t)(i * 37 % 700);
		p[i] = arena_alloc(&a, n);
		assert_non_null(p[i]);
		assert_int_equal((uintptr_t)p[i] % 16, 0);
		memset(p[i], i & 0xff, n);
	}
	for (int i = 0; i < T_BLOCKS; i++) {
		size_t n = 1 + (size_t)(i * 37 % 700);
		for (size_t k = 0; k < n; k++)
			assert_int_equal((unsigned char)p[i][k], i & 0xff);
	}
	assert_true(arena_bytes(&a) >= (size_t)T_BLOCKS * 350);
	arena_release(&a);
	assert_int_equal(arena_bytes(&a), 0);
}

static void test_big_block(void **state)
{
	struct pl_arena a;
	char *small, *big, *q;
	size_t before;

	(void)state;
	arena_init(&a);
	small = arena_alloc(&a, 100);
	assert_non_null(small);
	before = arena_bytes(&a);
	big = arena_alloc(&a, ARENA_CHUNK_BYTES * 2);
	assert_non_null(big);
	memset(big, 7, ARENA_CHUNK_BYTES * 2);
	assert_true(arena_bytes(&a) >= before + ARENA_CHUNK_BYTES * 2);
	/* the chunk being filled goes on after the big one */
	q = arena_alloc(&a, 16);
	assert_true(q > small && q < small + 256);
	arena_reset(&a);
	assert_int_equal(arena_bytes(&a), before); /* the big chunk went */
	arena_release(&a);
}

static void test_reset_reuses(void **state)
{
	struct pl_arena a;
	size_t after_first = 0;

	(void)state;
	arena_init(&a);
	for (int round = 0; round < 50; round++) {
		for (int i = 0; i < 2000; i++)
			assert_non_null(arena_alloc(&a, 600));
		if (round == 0)
			after_first = arena_bytes(&a);
		arena_reset(&a);
		assert_int_equal(arena_bytes(&a), after_first);
	}
	/* more than the arena keeps: the surplus goes at the reset */
	for (size_t i = 0; i < 2 * ARENA_KEEP_BYTES / 1024; i++)
		assert_non_null(arena_alloc(&a, 1000));
	assert_true(arena_bytes(&a) > ARENA_KEEP_BYTES);
	arena_reset(&a);
	assert_true(arena_bytes(&a) <= ARENA_KEEP_BYTES);
	arena_release(&a);
}

static void test_poisoned(void **state)
{
#ifdef T_ASAN
	struct pl_arena a;
	char *p;

	(void)state;
	arena_init(&a);
	p = arena_alloc(&a, 40);
	assert_non_null(p);
	assert_false(__asan_address_is_poisoned(p));
	assert_false(__asan_address_is_poisoned(p + 39));
	assert_true(__asan_address_is_poisoned(p + 40)); /* the gap after it */
	arena_reset(&a);
	assert_true(__asan_address_is_poisoned(p)); /* ended with the reset */
	arena_release(&a);
#else
	skip();
#endif
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_blocks),
		cmocka_unit_test(test_big_block),
		cmocka_unit_test(test_reset_reuses),
		cmocka_unit_test(test_poisoned),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
