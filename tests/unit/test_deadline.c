/* test_deadline.c — the connections' timeouts on one timer
 * (src/net/deadline.c): heap order under random arming, moving and
 * clearing; firing times and order on a real loop; a callback re-arming
 * itself; the timer stopping when nothing is armed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "net/deadline.h"
#include "util/err.h"

#define T_N 500

struct t_item {
	struct net_deadline dl;
	uint64_t want;      /* uv_now() + ms when armed */
	uint64_t fired_at;
	int fires;
	int seq;            /* 1 + how many fired before it (last firing) */
	int rearm;          /* times the callback arms it again with 0 ms */
};

struct t_ctx {
	struct t_item items[T_N];
	uint64_t last_due;  /* due of the previous firing: never decreases within a pass */
	int order_bad;
	int early;          /* fired before its due time */
	int fired;
};

static unsigned t_rand(unsigned *seed)
{
	*seed = *seed * 1103515245u + 12345u;
	return (*seed >> 16) & 0x7fff;
}

/* Checks the heap property and every entry's position. */
static void t_check_heap(const struct net_deadlines *d)
{
	for (uint32_t i = 0; i < d->n; i++) {
		assert_int_equal(d->heap[i]->pos, i + 1);
		if (i > 0)
			assert_true(d->heap[(i - 1) / 2]->due <= d->heap[i]->due);
	}
}

static void t_on_due(struct net_deadlines *d, struct net_deadline *e)
{
	struct t_ctx *t = d->data;
	struct t_item *it = (struct t_item *)(void *)((char *)e - offsetof(struct t_item, dl));
	uint64_t now = uv_now(d->timer.loop);

	assert_false(net_deadline_armed(e));
	if (now < it->want)
		t->early++;
	if (e->due < t->last_due)
		t->order_bad++;
	t->last_due = e->due;
	it->fires++;
	it->fired_at = now;
	it->seq = ++t->fired;
	if (it->rearm > 0) {
		it->rearm--;
		it->want = now + 1; /* from a callback, 0 ms means the next turn */
		net_deadline_set(d, e, 0);
		assert_true(e->due > now);
		t->last_due = 0;
	}
	t_check_heap(d);
}

/* Random arming, moving and clearing keep the heap in order. */
static void test_heap_order(void **state)
{
	uv_loop_t loop;
	struct net_deadlines d;
	static struct t_ctx t;
	unsigned seed = 7;

	memset(&t, 0, sizeof(t));
	assert_int_equal(uv_loop_init(&loop), 0);
	assert_int_equal(net_deadlines_init(&d, &loop, t_on_due, &t), 0);
	assert_int_equal(net_deadlines_reserve(&d, T_N), 0);
	assert_true(d.cap >= T_N);
	for (int round = 0; round < 20000; round++) {
		struct t_item *it = &t.items[t_rand(&seed) % T_N];

		if (t_rand(&seed) % 4 == 0)
			net_deadline_clear(&d, &it->dl);
		else
			net_deadline_set(&d, &it->dl, t_rand(&seed) % 100000);
		if (round % 97 == 0)
			t_check_heap(&d);
	}
	t_check_heap(&d);
	for (int i = 0; i < T_N; i++)
		net_deadline_clear(&d, &t.items[i].dl);
	assert_int_equal(net_deadlines_count(&d), 0);
	assert_int_equal(d.armed, UINT64_MAX);
	net_deadlines_close(&d);
	uv_run(&loop, UV_RUN_DEFAULT);
	net_deadlines_release(&d);
	assert_int_equal(uv_loop_close(&loop), 0);
}

/* On a loop: each armed deadline fires once, never early, in order of
 * due time; cleared ones never fire; the loop ends when none is left (the
 * timer stops). */
static void test_fire(void **state)
{
	uv_loop_t loop;
	struct net_deadlines d;
	static struct t_ctx t;
	unsigned seed = 42;
	int armed = 0;

	memset(&t, 0, sizeof(t));
	assert_int_equal(uv_loop_init(&loop), 0);
	assert_int_equal(net_deadlines_init(&d, &loop, t_on_due, &t), 0);
	assert_int_equal(net_deadlines_reserve(&d, T_N), 0);
	uv_update_time(&loop);
	for (int i = 0; i < T_N; i++) {
		uint64_t ms = t_rand(&seed) % 60;

		t.items[i].want = uv_now(&loop) + ms;
		net_deadline_set(&d, &t.items[i].dl, ms);
	}
	/* Move some, clear some. */
	for (int i = 0; i < T_N; i += 3) {
		uint64_t ms = t_rand(&seed) % 80;

		t.items[i].want = uv_now(&loop) + ms;
		net_deadline_set(&d, &t.items[i].dl, ms);
	}
	for (int i = 1; i < T_N; i += 5) {
		net_deadline_clear(&d, &t.items[i].dl);
		t.items[i].want = UINT64_MAX;
	}
	t.items[2].rearm = 3;
	for (int i = 0; i < T_N; i++)
		armed += t.items[i].want != UINT64_MAX;
	t_check_heap(&d);
	assert_int_equal(uv_run(&loop, UV_RUN_DEFAULT), 0);
	assert_int_equal(t.early, 0);
	assert_int_equal(t.order_bad, 0);
	assert_int_equal(t.fired, armed + 3);
	for (int i = 0; i < T_N; i++) {
		if (t.items[i].want == UINT64_MAX)
			assert_int_equal(t.items[i].fires, 0);
		else
			assert_int_equal(t.items[i].fires, i == 2 ? 4 : 1);
	}
	assert_int_equal(net_deadlines_count(&d), 0);
	net_deadlines_close(&d);
	uv_run(&loop, UV_RUN_DEFAULT);
	net_deadlines_release(&d);
	assert_int_equal(uv_loop_close(&loop), 0);
}

/* The timer follows the earliest deadline: moving the first one later
 * (or clearing it) lets the next fire at its own time, not earlier. */
static void test_first_moves(void **state)
{
	uv_loop_t loop;
	struct net_deadlines d;
	static struct t_ctx t;
	uint64_t start;

	memset(&t, 0, sizeof(t));
	assert_int_equal(uv_loop_init(&loop), 0);
	assert_int_equal(net_deadlines_init(&d, &loop, t_on_due, &t), 0);
	assert_int_equal(net_deadlines_reserve(&d, 3), 0);
	uv_update_time(&loop);
	start = uv_now(&loop);
	net_deadline_set(&d, &t.items[0].dl, 5);
	net_deadline_set(&d, &t.items[1].dl, 10);
	net_deadline_set(&d, &t.items[2].dl, 30);
	assert_int_equal(d.armed, start + 5);
	net_deadline_set(&d, &t.items[0].dl, 50);
	assert_int_equal(d.armed, start + 10);
	net_deadline_clear(&d, &t.items[1].dl);
	assert_int_equal(d.armed, start + 30);
	t.items[0].want = start + 50;
	t.items[2].want = start + 30;
	assert_int_equal(uv_run(&loop, UV_RUN_DEFAULT), 0);
	assert_int_equal(t.items[1].fires, 0);
	assert_int_equal(t.items[0].fires, 1);
	assert_int_equal(t.items[2].fires, 1);
	assert_true(t.items[2].fired_at >= start + 30);
	assert_true(t.items[0].fired_at >= start + 50);
	assert_true(t.items[2].seq < t.items[0].seq);
	assert_int_equal(t.early, 0);
	net_deadlines_close(&d);
	uv_run(&loop, UV_RUN_DEFAULT);
	net_deadlines_release(&d);
	assert_int_equal(uv_loop_close(&loop), 0);
}

/* Reserving grows the array ahead; it never shrinks under what is armed. */
static void test_reserve(void **state)
{
	uv_loop_t loop;
	struct net_deadlines d;
	static struct t_ctx t;

	memset(&t, 0, sizeof(t));
	assert_int_equal(uv_loop_init(&loop), 0);
	assert_int_equal(net_deadlines_init(&d, &loop, t_on_due, &t), 0);
	assert_int_equal(d.cap, 0);
	assert_int_equal(net_deadlines_reserve(&d, 1), 0);
	assert_true(d.cap >= 1);
	assert_int_equal(net_deadlines_reserve(&d, 1000), 0);
	assert_true(d.cap >= 1000);
	assert_int_equal(net_deadlines_reserve(&d, 10), 0);
	assert_true(d.cap >= 1000);
	for (int i = 0; i < 10; i++)
		net_deadline_set(&d, &t.items[i].dl, 1000000);
	t_check_heap(&d);
	for (int i = 0; i < 10; i++)
		net_deadline_clear(&d, &t.items[i].dl);
	net_deadlines_close(&d);
	uv_run(&loop, UV_RUN_DEFAULT);
	net_deadlines_release(&d);
	assert_int_equal(uv_loop_close(&loop), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_heap_order),
		cmocka_unit_test(test_fire),
		cmocka_unit_test(test_first_moves),
		cmocka_unit_test(test_reserve),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
