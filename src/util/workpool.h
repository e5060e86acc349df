/*
 * workpool.h — parleyd's own pool of worker threads, in place of libuv's
 * (uv_queue_work) for the API's read phases.
 *
 * A job is queued from any thread and run on a worker.  Its run callback
 * either finishes it — the job then goes on a completion list, and the loop
 * thread calls its done callback — or hands it on to someone else (the API
 * hands a call that writes straight to the group-commit writer, which
 * answers it on the loop after the commit) and the pool forgets it.  So a
 * write costs one hand-off fewer than with uv_queue_work, which always comes
 * back to the loop first.
 *
 * Wake-ups are the cost this module is about (the server may have one core
 * for all its threads, and every hand-off is then a context switch):
 *   - Completions come back through one uv_async, sent only when the list
 *     was empty: the loop drains every completion there is per wake-up.
 *   - A worker runs queued jobs until the queue is empty before it sleeps.
 *   - submit wakes a sleeping worker only while the jobs queued outnumber
 *     the workers awake (running a job, or woken and not yet running), and
 *     only while fewer than max_awake are awake: more workers than cores
 *     only take turns on them.  A job marked slow (password hashing) does
 *     not count against max_awake while it runs, so it does not hold up
 *     short jobs queued behind it.
 *   - Workers are signalled after the lock is released: signalled under
 *     it, a worker on the same core runs at once only to wait for the lock
 *     (two switches instead of one).
 *
 * Thread safety: workpool_submit from any thread; start, stop and free on
 * the loop thread.  The pool does not own jobs: each is the caller's until
 * its done callback runs (or until its run callback hands it on).
 */
#ifndef PL_UTIL_WORKPOOL_H
#define PL_UTIL_WORKPOOL_H

#include <stddef.h>
#include <uv.h>

/* What a run callback returns when it handed the job on: the pool forgets
 * it and calls no done callback. */
#define WORKPOOL_HANDED_OFF 1

struct workpool_job;

/* Worker thread.  Returns 0 (the done callback runs next, on the loop
 * thread) or WORKPOOL_HANDED_OFF (the job is someone else's now; the pool
 * must not touch it again). */
typedef int (*workpool_run_cb)(struct workpool_job *j);
/* Loop thread, after run returned 0.  May free j or submit it again. */
typedef void (*workpool_done_cb)(struct workpool_job *j);

/* Embedded in the caller's request object; the caller owns it. */
struct workpool_job {
	struct workpool_job *next;   /* the pool's, while queued or completed */
	workpool_run_cb run;
	workpool_done_cb done;
	int slow;                    /* may run long (password hashing): see above */
};

struct workpool_stats {
	unsigned long long jobs;        /* run */
	unsigned long long handed_off;  /* of which handed on by their run callback */
	unsigned long long signals;     /* sleeping workers woken by submit */
	unsigned long long drains;      /* loop wake-ups that delivered completions */
};

struct workpool;

/* Starts threads workers (>= 1) on loop.  max_awake bounds the workers
 * running ordinary jobs at once (0 or more than threads: threads).  NULL on
 * failure.  Loop thread. */
struct workpool *workpool_start(uv_loop_t *loop, size_t threads, size_t max_awake);
/* Queues j with its run and done set.  Any thread.  Returns 0, or
 * PL_CLOSED once the pool is stopping (j was not queued). */
int workpool_submit(struct workpool *p, struct workpool_job *j);
/* Runs every job still queued, joins the workers, calls the done callbacks
 * of all that completed (submit refuses new jobs from then on), and closes
 * the async handle: the loop must run once more before workpool_free().
 * Loop thread, not from a done callback. */
void workpool_stop(struct workpool *p);
void workpool_free(struct workpool *p);
/* Counters (approximate while running). */
void workpool_stats(struct workpool *p, struct workpool_stats *out);

#endif
