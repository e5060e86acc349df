/*
 * deadline.h — every timeout of the HTTP server's connections on one
 * uv_timer_t (inside src/net; http.c is its user, tests/unit/test_deadline.c
 * checks it).
 *
 * A uv_timer_t is 152 bytes; a connection that holds one for each of its
 * timeouts (header, keep-alive, send, linger, a WebSocket's ping and close
 * waits) pays that for its whole life.  Here a connection embeds a struct
 * net_deadline (16 bytes) and the server keeps all of them in one binary
 * min-heap ordered by due time (an array of pointers, 8 bytes a connection),
 * with a single libuv timer set to the earliest.  Deadlines keep libuv's
 * millisecond resolution, so short test timeouts behave as before.
 *
 * Room in the heap is reserved ahead (net_deadlines_reserve) when a
 * connection is created, so arming a deadline never allocates and never
 * fails.  Everything runs on the loop thread.
 *
 * Ownership: struct net_deadlines is embedded by its user, set up with
 * net_deadlines_init, its timer closed with net_deadlines_close (the loop
 * must then run before the struct is freed) and its array freed with
 * net_deadlines_release.  A struct net_deadline belongs to whoever embeds
 * it and must be cleared (net_deadline_clear) before its memory goes.
 */
#ifndef PL_NET_DEADLINE_H
#define PL_NET_DEADLINE_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

/* One timeout; zero-initialised it is not armed. */
struct net_deadline {
	uint64_t due;       /* uv_now() value at which it fires */
	uint32_t pos;       /* 1 + its index in the heap; 0 when not armed */
};

struct net_deadlines;

/* Called for each deadline that is due, after it was taken off the heap
 * (so it may be armed again from the callback).  The callback may arm and
 * clear any deadline. */
typedef void (*net_deadline_cb)(struct net_deadlines *d, struct net_deadline *e);

struct net_deadlines {
	uv_timer_t timer;
	struct net_deadline **heap; /* heap[0] is due first */
	uint32_t n, cap;
	uint64_t armed;             /* due time the timer is set for; UINT64_MAX: stopped */
	int running;                /* inside the timer's callback */
	net_deadline_cb cb;
	void *data;                 /* free for the user */
};

/* Sets d up on loop; cb gets the due deadlines.  Returns 0 or PL_IO. */
int net_deadlines_init(struct net_deadlines *d, uv_loop_t *loop, net_deadline_cb cb, void *data);

/* Makes sure n deadlines can be armed at once without allocating.  Returns
 * 0 or PL_NOMEM (nothing changed then). */
int net_deadlines_reserve(struct net_deadlines *d, size_t n);

/* Arms e to fire ms milliseconds from uv_now() (re-arms it if it was
 * armed).  0 fires on the next turn of the loop.  The room must have been
 * reserved. */
void net_deadline_set(struct net_deadlines *d, struct net_deadline *e, uint64_t ms);

/* Disarms e (nothing happens if it is not armed). */
void net_deadline_clear(struct net_deadlines *d, struct net_deadline *e);

/* 1 if e is armed. */
static inline int net_deadline_armed(const struct net_deadline *e)
{
	return e->pos != 0;
}

/* Deadlines armed now. */
static inline size_t net_deadlines_count(const struct net_deadlines *d)
{
	return d->n;
}

/* Stops and closes the timer (uv_close); run the loop before freeing d. */
void net_deadlines_close(struct net_deadlines *d);

/* Frees the heap array.  No deadline may be armed any more. */
void net_deadlines_release(struct net_deadlines *d);

#endif
