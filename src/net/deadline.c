/*
 * deadline.c — the connections' timeouts on one timer: a binary min-heap of
 * struct net_deadline pointers, each knowing its own position so that it
 * can be moved or taken out in O(log n) (see deadline.h).
 */
#include "net/deadline.h"

#include <stdlib.h>

#include "util/err.h"

/* First size of the heap array. */
#define NET_DEADLINES_MIN 64

static void net_deadlines_on_timer(uv_timer_t *t);

int net_deadlines_init(struct net_deadlines *d, uv_loop_t *loop, net_deadline_cb cb, void *data)
{
	d->heap = NULL;
	d->n = d->cap = 0;
	d->armed = UINT64_MAX;
	d->running = 0;
	d->cb = cb;
	d->data = data;
	if (uv_timer_init(loop, &d->timer) < 0)
		return PL_IO;
	d->timer.data = d;
	return 0;
}

int net_deadlines_reserve(struct net_deadlines *d, size_t n)
{
	struct net_deadline **h;
	size_t cap = d->cap ? d->cap : NET_DEADLINES_MIN;

	if (n <= d->cap)
		return 0;
	while (cap < n)
		cap *= 2;
	if (cap > UINT32_MAX || (h = realloc(d->heap, cap * sizeof(*h))) == NULL)
		return PL_NOMEM;
	d->heap = h;
	d->cap = (uint32_t)cap;
	return 0;
}

/* Puts e at index i and tells it where it is. */
static void net_heap_put(struct net_deadlines *d, uint32_t i, struct net_deadline *e)
{
	d->heap[i] = e;
	e->pos = i + 1;
}

/* Moves the entry at i towards the root while it is due before its parent. */
static void net_heap_up(struct net_deadlines *d, uint32_t i)
{
	struct net_deadline *e = d->heap[i];

	while (i > 0) {
		uint32_t parent = (i - 1) / 2;

		if (d->heap[parent]->due <= e->due)
			break;
		net_heap_put(d, i, d->heap[parent]);
		i = parent;
	}
	net_heap_put(d, i, e);
}

/* Moves the entry at i towards the leaves while a child is due before it. */
static void net_heap_down(struct net_deadlines *d, uint32_t i)
{
	struct net_deadline *e = d->heap[i];

	for (;;) {
		uint32_t child = 2 * i + 1;

		if (child >= d->n)
			break;
		if (child + 1 < d->n && d->heap[child + 1]->due < d->heap[child]->due)
			child++;
		if (e->due <= d->heap[child]->due)
			break;
		net_heap_put(d, i, d->heap[child]);
		i = child;
	}
	net_heap_put(d, i, e);
}

/* Takes e (armed) off the heap. */
static void net_heap_remove(struct net_deadlines *d, struct net_deadline *e)
{
	uint32_t i = e->pos - 1;
	struct net_deadline *last = d->heap[--d->n];

	e->pos = 0;
	if (last == e)
		return;
	net_heap_put(d, i, last);
	if (i > 0 && d->heap[(i - 1) / 2]->due > last->due)
		net_heap_up(d, i);
	else
		net_heap_down(d, i);
}

/* Sets the timer for the earliest deadline (unless the callback is running:
 * it does this once at its end). */
static void net_deadlines_arm(struct net_deadlines *d)
{
	uint64_t now, due;

	if (d->running)
		return;
	if (d->n == 0) {
		if (d->armed != UINT64_MAX)
			uv_timer_stop(&d->timer);
		d->armed = UINT64_MAX;
		return;
	}
	due = d->heap[0]->due;
	if (due == d->armed)
		return;
	now = uv_now(d->timer.loop);
	d->armed = due;
	uv_timer_start(&d->timer, net_deadlines_on_timer, due > now ? due - now : 0, 0);
}

void net_deadline_set(struct net_deadlines *d, struct net_deadline *e, uint64_t ms)
{
	uint64_t now = uv_now(d->timer.loop);
	uint64_t due = ms > UINT64_MAX - now ? UINT64_MAX - 1 : now + ms;

	/* Set from the callback, a deadline due now waits for the next turn
	 * of the loop, so that a callback re-arming itself cannot spin. */
	if (d->running && due <= now)
		due = now + 1;
	if (e->pos != 0) {
		uint64_t old = e->due;

		e->due = due;
		if (due < old)
			net_heap_up(d, e->pos - 1);
		else
			net_heap_down(d, e->pos - 1);
	} else {
		/* Room was reserved: d->n < d->cap (an internal invariant). */
		e->due = due;
		net_heap_put(d, d->n++, e);
		net_heap_up(d, d->n - 1);
	}
	net_deadlines_arm(d);
}

void net_deadline_clear(struct net_deadlines *d, struct net_deadline *e)
{
	if (e->pos == 0)
		return;
	net_heap_remove(d, e);
	net_deadlines_arm(d);
}

static void net_deadlines_on_timer(uv_timer_t *t)
{
	struct net_deadlines *d = t->data;
	uint64_t now = uv_now(t->loop);

	d->armed = UINT64_MAX;
	d->running = 1;
	while (d->n > 0 && d->heap[0]->due <= now) {
		struct net_deadline *e = d->heap[0];

		net_heap_remove(d, e);
		d->cb(d, e);
	}
	d->running = 0;
	net_deadlines_arm(d);
}

void net_deadlines_close(struct net_deadlines *d)
{
	uv_timer_stop(&d->timer);
	d->armed = UINT64_MAX;
	if (!uv_is_closing((uv_handle_t *)&d->timer))
		uv_close((uv_handle_t *)&d->timer, NULL);
}

void net_deadlines_release(struct net_deadlines *d)
{
	free(d->heap);
	d->heap = NULL;
	d->n = d->cap = 0;
}
