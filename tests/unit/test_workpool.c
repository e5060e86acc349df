/* test_workpool.c — the API's worker pool (src/util/workpool.c): every job
 * runs once and completes once on the loop thread, in whatever order; jobs
 * handed off get no done callback; jobs from other threads; a slow job does
 * not hold up short ones when only one worker may be awake; stop with jobs
 * still queued runs and completes them all, then refuses new ones. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "util/err.h"
#include "util/workpool.h"

#define T_JOBS 20000

struct t_job {
	struct workpool_job pj;
	struct t_ctx *ctx;
	int id;
	int hand_off;       /* run hands it on instead of completing */
	atomic_int runs;
	int dones;
};

struct t_ctx {
	struct workpool *pool;
	atomic_int ran;
	atomic_int handed;
	int done;               /* loop thread only */
	int want;               /* dones at which to stop (0: never) */
	int resubmit;           /* done callbacks submit the job once more */
	atomic_int gate;        /* slow jobs wait until it is 1 */
	atomic_int fast_done;   /* a short job ran while the slow one waited */
	pthread_t self;         /* the loop thread */
	int off_thread;         /* a done callback ran on another thread */
	uv_loop_t *loop;        /* stopped once want is reached */
};

static struct t_job *t_of(struct workpool_job *pj)
{
	return (struct t_job *)(void *)((char *)pj - offsetof(struct t_job, pj));
}

static int t_run(struct workpool_job *pj)
{
	struct t_job *j = t_of(pj);

	atomic_fetch_add(&j->runs, 1);
	atomic_fetch_add(&j->ctx->ran, 1);
	if (j->hand_off) {
		atomic_fetch_add(&j->ctx->handed, 1);
		return WORKPOOL_HANDED_OFF;
	}
	return 0;
}

static void t_done(struct workpool_job *pj)
{
	struct t_job *j = t_of(pj);
	struct t_ctx *c = j->ctx;

	if (!pthread_equal(pthread_self(), c->self))
		c->off_thread = 1;
	j->dones++;
	c->done++;
	if (c->resubmit && j->dones == 1) {
		assert_int_equal(workpool_submit(c->pool, &j->pj), 0);
		return;
	}
	if (c->want && c->done == c->want)
		uv_stop(c->loop); /* the pool's handle keeps the loop alive */
}

static void t_init(struct t_ctx *c, uv_loop_t *loop)
{
	memset(c, 0, sizeof *c);
	c->self = pthread_self();
	c->loop = loop;
}

static struct t_job *t_jobs(struct t_ctx *c, int n)
{
	struct t_job *v = calloc((size_t)n, sizeof *v);

	assert_non_null(v);
	for (int i = 0; i < n; i++) {
		v[i].ctx = c;
		v[i].id = i;
		v[i].pj.run = t_run;
		v[i].pj.done = t_done;
	}
	return v;
}

/* Every job runs once and its done callback runs once, on the loop thread;
 * those handed off have none.  Done callbacks may submit again. */
static void test_all_complete(void **state)
{
	uv_loop_t loop;
	static struct t_ctx c;
	struct t_job *jobs;
	struct workpool_stats st;
	int handed = 0;

	assert_int_equal(uv_loop_init(&loop), 0);
	t_init(&c, &loop);
	jobs = t_jobs(&c, T_JOBS);
	for (int i = 0; i < T_JOBS; i++)
		if ((jobs[i].hand_off = i % 7 == 3))
			handed++;
	c.resubmit = 1;
	c.want = 2 * (T_JOBS - handed);
	assert_non_null(c.pool = workpool_start(&loop, 4, 0));
	for (int i = 0; i < T_JOBS; i++)
		assert_int_equal(workpool_submit(c.pool, &jobs[i].pj), 0);
	assert_int_equal(uv_run(&loop, UV_RUN_DEFAULT), 1); /* stopped: the pool's handle is open */
	workpool_stats(c.pool, &st);
	for (int i = 0; i < T_JOBS; i++) {
		assert_int_equal(atomic_load(&jobs[i].runs), jobs[i].hand_off ? 1 : 2);
		assert_int_equal(jobs[i].dones, jobs[i].hand_off ? 0 : 2);
	}
	assert_int_equal(c.off_thread, 0);
	assert_int_equal(atomic_load(&c.handed), handed);
	assert_int_equal(st.jobs, (unsigned long long)(2 * T_JOBS - handed));
	assert_int_equal(st.handed_off, (unsigned long long)handed);
	assert_true(st.signals <= st.jobs);
	assert_true(st.drains >= 1 && st.drains <= st.jobs);
	workpool_stop(c.pool);
	assert_int_equal(workpool_submit(c.pool, &jobs[0].pj), PL_CLOSED);
	assert_int_equal(uv_run(&loop, UV_RUN_DEFAULT), 0);
	workpool_free(c.pool);
	free(jobs);
	assert_int_equal(uv_loop_close(&loop), 0);
}

struct t_submitter {
	struct t_ctx *c;
	struct t_job *jobs;
	int from, to;
};

static void *t_submit_main(void *arg)
{
	struct t_submitter *s = arg;

	for (int i = s->from; i < s->to; i++)
		if (workpool_submit(s->c->pool, &s->jobs[i].pj) != 0)
			abort();
	return NULL;
}

/* Jobs queued from other threads (as a worker hands a call on) complete on
 * the loop thread all the same. */
static void test_other_threads(void **state)
{
	uv_loop_t loop;
	static struct t_ctx c;
	struct t_job *jobs;
	pthread_t th[3];
	struct t_submitter sub[3];

	assert_int_equal(uv_loop_init(&loop), 0);
	t_init(&c, &loop);
	jobs = t_jobs(&c, T_JOBS);
	c.want = T_JOBS;
	assert_non_null(c.pool = workpool_start(&loop, 2, 1));
	for (int i = 0; i < 3; i++) {
		sub[i] = (struct t_submitter){&c, jobs, i * T_JOBS / 3, (i + 1) * T_JOBS / 3};
		assert_int_equal(pthread_create(&th[i], NULL, t_submit_main, &sub[i]), 0);
	}
	uv_run(&loop, UV_RUN_DEFAULT);
	for (int i = 0; i < 3; i++)
		pthread_join(th[i], NULL);
	for (int i = 0; i < T_JOBS; i++)
		assert_int_equal(jobs[i].dones, 1);
	assert_int_equal(c.off_thread, 0);
	workpool_stop(c.pool);
	assert_int_equal(uv_run(&loop, UV_RUN_DEFAULT), 0);
	workpool_free(c.pool);
	free(jobs);
	assert_int_equal(uv_loop_close(&loop), 0);
}

static int t_run_slow(struct workpool_job *pj)
{
	struct t_job *j = t_of(pj);

	/* Waits until a short job submitted after it has run (or 10 s). */
	for (int i = 0; i < 10000 && !atomic_load(&j->ctx->fast_done); i++) {
		struct timespec ts = {0, 1000000};
		nanosleep(&ts, NULL);
	}
	return t_run(pj);
}

static int t_run_fast(struct workpool_job *pj)
{
	struct t_job *j = t_of(pj);

	atomic_store(&j->ctx->fast_done, 1);
	return t_run(pj);
}

/* With one worker allowed awake, a slow job (password hashing) does not
 * count: a short job queued behind it is run by another worker. */
static void test_slow_does_not_block(void **state)
{
	uv_loop_t loop;
	static struct t_ctx c;
	struct t_job *jobs;

	assert_int_equal(uv_loop_init(&loop), 0);
	t_init(&c, &loop);
	jobs = t_jobs(&c, 2);
	c.want = 2;
	jobs[0].pj.run = t_run_slow;
	jobs[0].pj.slow = 1;
	jobs[1].pj.run = t_run_fast;
	assert_non_null(c.pool = workpool_start(&loop, 2, 1));
	assert_int_equal(workpool_submit(c.pool, &jobs[0].pj), 0);
	assert_int_equal(workpool_submit(c.pool, &jobs[1].pj), 0);
	uv_run(&loop, UV_RUN_DEFAULT);
	assert_int_equal(atomic_load(&c.fast_done), 1);
	assert_int_equal(jobs[0].dones, 1);
	assert_int_equal(jobs[1].dones, 1);
	workpool_stop(c.pool);
	assert_int_equal(uv_run(&loop, UV_RUN_DEFAULT), 0);
	workpool_free(c.pool);
	free(jobs);
	assert_int_equal(uv_loop_close(&loop), 0);
}

static int t_run_gated(struct workpool_job *pj)
{
	struct t_job *j = t_of(pj);

	while (!atomic_load(&j->ctx->gate)) {
		struct timespec ts = {0, 100000};
		nanosleep(&ts, NULL);
	}
	return t_run(pj);
}

/* Stop with jobs still queued (the one worker held by the first): every one
 * of them runs and completes inside workpool_stop; then submit refuses. */
static void test_stop_with_queued(void **state)
{
	uv_loop_t loop;
	static struct t_ctx c;
	struct t_job *jobs;
	struct workpool_job extra = {0};
	int n = 200, handed = 0;

	assert_int_equal(uv_loop_init(&loop), 0);
	t_init(&c, &loop);
	jobs = t_jobs(&c, n);
	for (int i = 0; i < n; i++) {
		jobs[i].pj.run = t_run_gated;
		if ((jobs[i].hand_off = i % 5 == 1))
			handed++;
	}
	assert_non_null(c.pool = workpool_start(&loop, 1, 0));
	for (int i = 0; i < n; i++)
		assert_int_equal(workpool_submit(c.pool, &jobs[i].pj), 0);
	atomic_store(&c.gate, 1);
	workpool_stop(c.pool); /* no uv_run before: nothing completed was delivered yet */
	assert_int_equal(atomic_load(&c.ran), n);
	assert_int_equal(c.done, n - handed);
	for (int i = 0; i < n; i++)
		assert_int_equal(jobs[i].dones, jobs[i].hand_off ? 0 : 1);
	extra.run = t_run;
	extra.done = t_done;
	assert_int_equal(workpool_submit(c.pool, &extra), PL_CLOSED);
	assert_int_equal(uv_run(&loop, UV_RUN_DEFAULT), 0);
	workpool_free(c.pool);
	free(jobs);
	assert_int_equal(uv_loop_close(&loop), 0);
}

/* Stop of an idle pool, and of one that never ran a job. */
static void test_stop_idle(void **state)
{
	uv_loop_t loop;
	struct workpool *p;

	assert_int_equal(uv_loop_init(&loop), 0);
	assert_non_null(p = workpool_start(&loop, 8, 2));
	workpool_stop(p);
	assert_int_equal(uv_run(&loop, UV_RUN_DEFAULT), 0);
	workpool_free(p);
	workpool_free(NULL);
	assert_int_equal(uv_loop_close(&loop), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_all_complete),
		cmocka_unit_test(test_other_threads),
		cmocka_unit_test(test_slow_does_not_block),
		cmocka_unit_test(test_stop_with_queued),
		cmocka_unit_test(test_stop_idle),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
