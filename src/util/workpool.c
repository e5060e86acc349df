/* workpool.c — worker threads with a coalescing completion list (the
 * contract and the wake-up rules are in workpool.h). */
#include <pthread.h>
#include <stdlib.h>
#include <sys/prctl.h>

#include "util/err.h"
#include "util/workpool.h"

struct workpool {
	uv_loop_t *loop;
	uv_async_t async;
	pthread_mutex_t mu;
	pthread_cond_t cv;                      /* sleeping workers wait here */
	pthread_t *threads;
	size_t started;                         /* threads to join */
	size_t max_awake;
	/* Guarded by mu: */
	size_t nthreads;                        /* workers, counted before they start */
	struct workpool_job *head, *tail;       /* queued */
	size_t queued;
	struct workpool_job *done_head, *done_tail; /* run, done callback not yet called */
	size_t sleeping;                        /* workers inside the wait */
	size_t wakes;                           /* of those, signalled and not yet up */
	size_t slow;                            /* workers running a slow job */
	int stopping;
	struct workpool_stats stats;
};

/* Workers that will look at the queue again before they sleep, not counting
 * those on a slow job.  Under mu. */
static size_t awake(const struct workpool *p)
{
	return p->nthreads - p->sleeping + p->wakes - p->slow;
}

/* Counts the sleeping workers the queue needs woken (workpool.h) as woken;
 * the caller signals that many after unlocking — signalled under the lock,
 * a worker on the same core would run at once only to wait for the lock.
 * Under mu. */
static int wakes_needed(struct workpool *p)
{
	int n = 0;

	for (;;) {
		size_t a = awake(p);
		if (!(p->sleeping > p->wakes && p->queued > a && a < p->max_awake))
			return n;
		p->wakes++;
		p->stats.signals++;
		n++;
	}
}

static void wake(struct workpool *p, int n)
{
	while (n-- > 0)
		pthread_cond_signal(&p->cv);
}

static void *worker_main(void *arg)
{
	struct workpool *p = arg;

	(void)prctl(PR_SET_NAME, "parley-worker"); /* what top -H and perf show */
	pthread_mutex_lock(&p->mu);
	for (;;) {
		struct workpool_job *j = p->head;
		int slow, rc, send = 0, n = 0;

		if (!j) {
			if (p->stopping)
				break;
			p->sleeping++;
			while (!p->wakes && !p->stopping)
				pthread_cond_wait(&p->cv, &p->mu);
			if (p->wakes)
				p->wakes--;
			p->sleeping--;
			continue;
		}
		p->head = j->next;
		if (!p->head)
			p->tail = NULL;
		p->queued--;
		/* j may be gone once run returns (handed on): read it first. */
		slow = j->slow;
		if (slow) {
			p->slow++;
			n = wakes_needed(p);
		}
		pthread_mutex_unlock(&p->mu);
		wake(p, n);
		j->next = NULL;
		rc = j->run(j);
		pthread_mutex_lock(&p->mu);
		if (slow)
			p->slow--;
		p->stats.jobs++;
		if (rc == WORKPOOL_HANDED_OFF) {
			p->stats.handed_off++;
		} else {
			send = !p->done_head; /* otherwise a send is already on its way */
			if (p->done_tail)
				p->done_tail->next = j;
			else
				p->done_head = j;
			p->done_tail = j;
		}
		if (send) {
			pthread_mutex_unlock(&p->mu);
			uv_async_send(&p->async);
			pthread_mutex_lock(&p->mu);
		}
	}
	pthread_mutex_unlock(&p->mu);
	return NULL;
}

/* Loop thread: calls the done callbacks of every job completed so far. */
static void on_async(uv_async_t *a)
{
	struct workpool *p = a->data;
	struct workpool_job *j;

	pthread_mutex_lock(&p->mu);
	j = p->done_head;
	p->done_head = p->done_tail = NULL;
	if (j)
		p->stats.drains++;
	pthread_mutex_unlock(&p->mu);
	while (j) {
		struct workpool_job *next = j->next;
		j->next = NULL;
		j->done(j);
		j = next;
	}
}

static void free_on_close(uv_handle_t *h)
{
	workpool_free(h->data);
}

/* Stops the workers and closes the async handle with close_cb. */
static void stop(struct workpool *p, uv_close_cb close_cb)
{
	pthread_mutex_lock(&p->mu);
	p->stopping = 1;
	pthread_cond_broadcast(&p->cv);
	pthread_mutex_unlock(&p->mu);
	for (size_t i = 0; i < p->started; i++)
		pthread_join(p->threads[i], NULL);
	on_async(&p->async);
	uv_close((uv_handle_t *)&p->async, close_cb);
}

struct workpool *workpool_start(uv_loop_t *loop, size_t threads, size_t max_awake)
{
	struct workpool *p = calloc(1, sizeof *p);

	if (!p)
		return NULL;
	if (threads < 1)
		threads = 1;
	p->loop = loop;
	p->max_awake = max_awake && max_awake < threads ? max_awake : threads;
	/* A worker not yet started looks at the queue before it first sleeps:
	 * it counts as awake from the start. */
	p->nthreads = threads;
	pthread_mutex_init(&p->mu, NULL);
	pthread_cond_init(&p->cv, NULL);
	if (!(p->threads = calloc(threads, sizeof *p->threads)) || uv_async_init(loop, &p->async, on_async) < 0)
		goto fail;
	p->async.data = p;
	for (; p->started < threads; p->started++)
		if (pthread_create(&p->threads[p->started], NULL, worker_main, p) != 0)
			break;
	if (p->started < threads) {
		stop(p, free_on_close); /* nothing was queued yet */
		return NULL;
	}
	return p;
fail:
	workpool_free(p);
	return NULL;
}

int workpool_submit(struct workpool *p, struct workpool_job *j)
{
	int rc = 0, n = 0;

	j->next = NULL;
	pthread_mutex_lock(&p->mu);
	if (p->stopping) {
		rc = PL_CLOSED;
	} else {
		if (p->tail)
			p->tail->next = j;
		else
			p->head = j;
		p->tail = j;
		p->queued++;
		n = wakes_needed(p);
	}
	pthread_mutex_unlock(&p->mu);
	wake(p, n);
	return rc;
}

void workpool_stop(struct workpool *p)
{
	stop(p, NULL);
}

void workpool_free(struct workpool *p)
{
	if (!p)
		return;
	pthread_mutex_destroy(&p->mu);
	pthread_cond_destroy(&p->cv);
	free(p->threads);
	free(p);
}

void workpool_stats(struct workpool *p, struct workpool_stats *out)
{
	pthread_mutex_lock(&p->mu);
	*out = p->stats;
	pthread_mutex_unlock(&p->mu);
}
