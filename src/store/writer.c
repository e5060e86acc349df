/* writer.c — the group-commit writer thread, the checkpointer thread next
 * to it, and the read-handle pool (the contract is writer.h). */
#include <stdlib.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/prctl.h>
#include <time.h>

#include "store/writer.h"

const double store_writer_bounds[STORE_WRITER_BUCKETS] = {
	0.0001, 0.00025, 0.0005, 0.001, 0.002, 0.003, 0.005, 0.0075, 0.01, 0.015, 0.025, 0.05, 0.1, 0.25,
};

/* Counts one duration of ns nanoseconds into h. */
static void hist_add(struct store_writer_hist *h, uint64_t ns)
{
	double sec = (double)ns / 1e9;
	int b = 0;

	while (b < STORE_WRITER_BUCKETS && sec > store_writer_bounds[b])
		b++;
	h->buckets[b]++;
	h->sum += sec;
	h->count++;
}

/* The checkpointer: its own thread and handle, woken by the writer. */
struct ckpt {
	struct store *s;          /* NULL: no checkpointer (SQLite checkpoints in commits) */
	int64_t pages, hard;      /* wake-up threshold and hard bound, in WAL pages */
	int64_t step;             /* WAL growth between two wake-ups of one cycle */
	int64_t next_at;          /* WAL size of the next wake-up; writer thread only */
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int64_t wal;              /* the latest report past the threshold, 0 when taken; guarded by mu */
	/* Set (under mu) once a checkpoint found the WAL past the hard bound and
	 * copied what it could: the writer restarts the WAL between two groups
	 * and clears it.  Read by the writer after every group without mu. */
	atomic_int restart;
	int stopping;             /* guarded by mu */
	unsigned long long runs, restarts, failures; /* guarded by mu */
	struct store_writer_hist restart_hist;       /* guarded by mu */
};

struct store_writer {
	struct ckpt ck;
	struct store *s;
	size_t batch_max;
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct store_job *head, *tail;  /* queued, guarded by mu */
	size_t queued;
	struct store_job *done_head, *done_tail; /* committed, guarded by mu */
	struct pl_arena *arenas_done;    /* the arenas of the groups in done_head..., guarded by mu */
	struct pl_arena *arenas_free;    /* reset, for the next groups; guarded by mu */
	size_t arenas_nfree;
	int stopping;
	int sleeping;                    /* the writer waits on cv and no submit signalled it yet; guarded by mu */
	uv_async_t async;
	struct store_writer_stats stats; /* guarded by mu */
	int marked_left;                 /* groups still to run marked after a rerun; writer thread only */
	uint64_t index_retry_at;         /* after a failed index batch, none before this; writer thread only */
};

/* When the queued search-index updates are due (uv_hrtime ns), 0 if none
 * wait.  Writer thread. */
static uint64_t index_due(struct store_writer *w)
{
	size_t n;
	uint64_t since;

	store_index_pending(w->s, &n, &since);
	if (n == 0)
		return 0;
	if (n < STORE_WRITER_INDEX_BATCH)
		since += (uint64_t)STORE_WRITER_INDEX_AGE_MS * 1000000u;
	return since > w->index_retry_at ? since : w->index_retry_at;
}

/* Writer thread, between two groups: applies the queued search-index
 * updates in a transaction of their own if force or they are due. */
static void index_flush(struct store_writer *w, int force)
{
	uint64_t due = index_due(w);
	uint64_t t0, t1;
	int rc;

	if (!due || (!force && due > uv_hrtime()))
		return;
	t0 = uv_hrtime();
	rc = store_index_flush(w->s);
	t1 = uv_hrtime();
	pthread_mutex_lock(&w->mu);
	hist_add(&w->stats.index, t1 - t0);
	w->stats.index_flushes++;
	w->stats.index_failures += rc < 0;
	pthread_mutex_unlock(&w->mu);
	/* A failure (the updates stay queued) is tried again a bound later,
	 * not at once: the writer must not spin on a store that fails. */
	w->index_retry_at = rc < 0 ? t1 + (uint64_t)STORE_WRITER_INDEX_AGE_MS * 1000000u : 0;
}

/* Takes up to batch_max queued jobs as a list; NULL when stopping and
 * empty (*stop set), or, with due (uv_hrtime ns) not 0, when none came
 * before it. */
static struct store_job *take_batch(struct store_writer *w, uint64_t due, int *stop)
{
	struct store_job *first, *last;
	size_t n = 1;

	pthread_mutex_lock(&w->mu);
	while (!w->head && !w->stopping) {
		w->sleeping = 1;
		if (!due) {
			pthread_cond_wait(&w->cv, &w->mu);
			continue;
		}
		if (due <= uv_hrtime())
			break;
		struct timespec ts = {.tv_sec = (time_t)(due / 1000000000u), .tv_nsec = (long)(due % 1000000000u)};
		(void)pthread_cond_timedwait(&w->cv, &w->mu, &ts); /* cv runs on CLOCK_MONOTONIC */
	}
	w->sleeping = 0;
	*stop = !w->head && w->stopping;
	first = last = w->head;
	if (first) {
		while (last->next && n < w->batch_max) {
			last = last->next;
			n++;
		}
		w->head = last->next;
		if (!w->head)
			w->tail = NULL;
		last->next = NULL;
		w->queued -= n;
	}
	pthread_mutex_unlock(&w->mu);
	return first;
}

/* Opens the group's transaction, waiting out a reader's checkpoint. */
static int group_begin(struct store *s)
{
	int rc = store_begin(s);

	for (int tries = 0; rc == PL_BUSY && tries < 50; tries++)
		rc = store_begin(s);
	return rc;
}

/* Ends the group's transaction: commits it if rc is 0, else (or if the
 * commit fails) rolls it back.  Returns 0 or the error; *commit_ns is how
 * long the commit took (its WAL writes and fsync), 0 if none ran. */
static int group_end(struct store *s, int rc, uint64_t *commit_ns)
{
	uint64_t t0 = uv_hrtime();

	*commit_ns = 0;
	if (rc == 0 && (rc = store_commit(s)) == 0) {
		*commit_ns = uv_hrtime() - t0;
		return 0;
	}
	(void)store_rollback(s);
	return rc;
}

/* Runs the group with a savepoint per job: one that fails is undone alone. */
static int run_marked(struct store *s, struct store_job *batch, uint64_t *commit_ns)
{
	int rc;

	if ((rc = group_begin(s)) < 0)
		return rc;
	for (struct store_job *j = batch; j && rc == 0; j = j->next) {
		if ((rc = store_mark(s)) < 0)
			break;
		j->run_rc = j->run(j, s);
		rc = j->run_rc < 0 ? store_undo(s) : store_release(s);
	}
	return group_end(s, rc, commit_ns);
}

/* Runs the group without savepoints.  Returns 0 when committed, PL_AGAIN
 * when a job failed after it changed something (or the store can only roll
 * back): the group was rolled back and *ran is the last job that ran; or
 * another negative pl_err when the group could not begin or commit. */
static int run_bare(struct store *s, struct store_job *batch, struct store_job **ran, uint64_t *commit_ns)
{
	uint64_t before, after;
	int rc;

	if ((rc = group_begin(s)) < 0)
		return rc;
	rc = store_changes(s, &before);
	for (struct store_job *j = batch; j && rc == 0; j = j->next) {
		*ran = j;
		j->run_rc = j->run(j, s);
		if (store_changes(s, &after) < 0 || (j->run_rc < 0 && after != before))
			rc = PL_AGAIN;
		before = after;
	}
	return group_end(s, rc, commit_ns);
}

/* Runs and commits one group (writer.h): without savepoints if every job can
 * run twice and no rerun happened in the last STORE_WRITER_RERUN_HOLD
 * groups, else, or if one failed after a change, with one per job.  *marked
 * says which way it committed or failed: 0 bare, 1 marked at once, 2 marked
 * after a bare run was rolled back. */
static int run_batch(struct store_writer *w, struct store_job *batch, int *marked, uint64_t *commit_ns)
{
	struct store_job *ran = NULL;
	int rc;

	*marked = w->marked_left > 0;
	w->marked_left -= *marked;
	for (struct store_job *j = batch; j && !*marked; j = j->next)
		*marked = j->reset == NULL;
	if (!*marked) {
		if ((rc = run_bare(w->s, batch, &ran, commit_ns)) != PL_AGAIN)
			return rc;
		for (struct store_job *j = batch; j; j = j->next) {
			j->reset(j);
			if (j == ran)
				break;
		}
		*marked = 2;
		w->marked_left = STORE_WRITER_RERUN_HOLD;
	}
	return run_marked(w->s, batch, commit_ns);
}

/* Writer thread: hands the WAL's size after a commit to the checkpointer,
 * waking it at the threshold, then each time the WAL grew by step more
 * while it has not started over (a checkpoint that finished between two
 * commits lets the next commit start it over; one after every commit cost
 * two fsyncs each and doubled the paced 1:1 p50).  Reports while it runs
 * are coalesced. */
static void ckpt_note(struct ckpt *c, int64_t wal)
{
	if (!c->s)
		return;
	if (wal < c->pages) {
		c->next_at = c->pages; /* the WAL started over: a new cycle */
		return;
	}
	if (wal < c->next_at)
		return;
	/* The next wake a step on, but not past the hard bound: at the bound
	 * the WAL is restarted however long the step. */
	c->next_at = wal < c->hard && wal + c->step > c->hard ? c->hard : wal + c->step;
	pthread_mutex_lock(&c->mu);
	c->wal = wal;
	pthread_mutex_unlock(&c->mu);
	pthread_cond_signal(&c->cv); /* after the unlock, as store_writer_submit does */
}

/* The next report to act on, or 0 once stopping.  None is taken while
 * the writer has a restart to do (it would wait for this one). */
static int64_t ckpt_wait(struct ckpt *c)
{
	int64_t wal;

	pthread_mutex_lock(&c->mu);
	while ((!c->wal || atomic_load(&c->restart)) && !c->stopping)
		pthread_cond_wait(&c->cv, &c->mu);
	wal = c->stopping ? 0 : c->wal;
	c->wal = 0;
	pthread_mutex_unlock(&c->mu);
	return wal;
}

static void *ckpt_main(void *arg)
{
	struct ckpt *c = arg;
	int64_t wal;

	(void)prctl(PR_SET_NAME, "parley-ckpt"); /* what top -H and perf show */
	while ((wal = ckpt_wait(c)) > 0) {
		int rc = store_checkpoint(c->s, STORE_CKPT_PASSIVE, NULL, NULL);

		pthread_mutex_lock(&c->mu);
		c->runs++;
		c->failures += rc < 0;
		if (wal >= c->hard)
			atomic_store(&c->restart, 1);
		pthread_mutex_unlock(&c->mu);
	}
	return NULL;
}

/* Writer thread, between two groups (it holds no transaction): restarts
 * the WAL the checkpointer asked for.  Run here and not on the
 * checkpointer's thread, a RESTART never waits for the write lock — on its
 * own thread it waited behind a writer that takes the lock again as soon as
 * it commits, up to the busy timeout, and then held the writer while it
 * copied a WAL that had grown meanwhile — and what is left to copy is what
 * was committed since the checkpointer's PASSIVE copy just before. */
static void ckpt_restart(struct ckpt *c, struct store *w)
{
	uint64_t t0 = uv_hrtime();
	int rc = store_checkpoint(w, STORE_CKPT_RESTART, NULL, NULL);
	uint64_t t1 = uv_hrtime();

	pthread_mutex_lock(&c->mu);
	hist_add(&c->restart_hist, t1 - t0);
	c->runs++;
	c->restarts++;
	c->failures += rc < 0;
	atomic_store(&c->restart, 0);
	pthread_cond_signal(&c->cv);
	pthread_mutex_unlock(&c->mu);
}

/* Turns off the writer handle's own checkpoints and starts the thread.
 * Returns 0 or a negative pl_err; on failure nothing is left running. */
static int ckpt_start(struct ckpt *c, struct store *w, struct store *s, int64_t pages)
{
	int rc;

	c->pages = pages;
	c->hard = pages * STORE_CKPT_HARD_FACTOR;
	c->step = pages * STORE_CKPT_STEP_FACTOR;
	c->next_at = pages;
	pthread_mutex_init(&c->mu, NULL);
	pthread_cond_init(&c->cv, NULL);
	if ((rc = store_checkpoint_manual(w)) < 0)
		return rc;
	c->s = s;
	if (pthread_create(&c->thread, NULL, ckpt_main, c) != 0) {
		c->s = NULL;
		return PL_NOMEM;
	}
	return 0;
}

static void ckpt_stop(struct ckpt *c)
{
	if (!c->s)
		return;
	pthread_mutex_lock(&c->mu);
	c->stopping = 1;
	pthread_cond_signal(&c->cv);
	pthread_mutex_unlock(&c->mu);
	pthread_join(c->thread, NULL);
	c->s = NULL;
}

/* Writer thread: an arena for the next group, one the loop gave back or a
 * new one; NULL when memory is short (the group's jobs then malloc). */
static struct pl_arena *arena_take(struct store_writer *w)
{
	struct pl_arena *a;

	pthread_mutex_lock(&w->mu);
	if ((a = w->arenas_free)) {
		w->arenas_free = a->next;
		w->arenas_nfree--;
	}
	pthread_mutex_unlock(&w->mu);
	if (!a && (a = malloc(sizeof *a)))
		arena_init(a);
	return a;
}

/* Frees a list of arenas linked by next. */
static void arenas_free(struct pl_arena *a)
{
	while (a) {
		struct pl_arena *next = a->next;
		arena_release(a);
		free(a);
		a = next;
	}
}

static void *writer_main(void *arg)
{
	struct store_writer *w = arg;
	struct store_job *batch;
	int stop = 0;

	(void)prctl(PR_SET_NAME, "parley-writer");
	while (!stop) {
		if (!(batch = take_batch(w, index_due(w), &stop))) {
			index_flush(w, 1); /* idle past the bound, or stopping */
			continue;
		}
		int marked;
		uint64_t commit_ns, t0 = uv_hrtime();
		struct pl_arena *arena = arena_take(w);
		for (struct store_job *j = batch; j; j = j->next)
			j->arena = arena;
		int rc = run_batch(w, batch, &marked, &commit_ns);
		uint64_t t1 = uv_hrtime();
		int64_t wal = 0;
		size_t n = 0;
		struct store_job *last = batch;
		for (struct store_job *j = batch; j; j = j->next) {
			j->commit_rc = rc;
			j->committed_ns = t1;
			last = j;
			n++;
		}
		if (w->ck.s && rc == 0)
			(void)store_wal_pages(w->s, &wal);
		pthread_mutex_lock(&w->mu);
		if (wal)
			w->stats.wal_pages = wal;
		if (w->done_tail)
			w->done_tail->next = batch;
		else
			w->done_head = batch;
		w->done_tail = last;
		if (arena) {
			arena->next = w->arenas_done;
			w->arenas_done = arena;
		}
		hist_add(&w->stats.group, t1 - t0);
		if (commit_ns)
			hist_add(&w->stats.commit, commit_ns);
		for (struct store_job *j = batch; j; j = j->next)
			hist_add(&w->stats.job, t1 - j->submitted_ns);
		w->stats.jobs += n;
		if (rc < 0)
			w->stats.failed++;
		else
			w->stats.commits++;
		w->stats.reruns += marked == 2;
		w->stats.marked += marked != 0;
		pthread_mutex_unlock(&w->mu);
		uv_async_send(&w->async);
		ckpt_note(&w->ck, wal); /* after the hand-back: answers first */
		if (w->ck.s && atomic_load_explicit(&w->ck.restart, memory_order_relaxed))
			ckpt_restart(&w->ck, w->s);
		index_flush(w, 0);
	}
	return NULL;
}

/* Loop thread: hands committed jobs back to their owners, then their
 * groups' arenas back to the writer, reset (the surplus freed). */
static void on_async(uv_async_t *a)
{
	struct store_writer *w = a->data;
	struct store_job *j;
	struct pl_arena *ar, *extra = NULL;
	uint64_t now = uv_hrtime();

	pthread_mutex_lock(&w->mu);
	j = w->done_head;
	w->done_head = w->done_tail = NULL;
	ar = w->arenas_done;
	w->arenas_done = NULL;
	for (struct store_job *k = j; k; k = k->next)
		hist_add(&w->stats.handback, now - k->committed_ns);
	pthread_mutex_unlock(&w->mu);
	while (j) {
		struct store_job *next = j->next;
		j->next = NULL;
		j->done(j, j->commit_rc);
		j = next;
	}
	if (!ar)
		return;
	for (struct pl_arena *k = ar; k; k = k->next)
		arena_reset(k);
	pthread_mutex_lock(&w->mu);
	while (ar) {
		struct pl_arena *next = ar->next;
		if (w->arenas_nfree < STORE_WRITER_ARENAS_KEEP) {
			ar->next = w->arenas_free;
			w->arenas_free = ar;
			w->arenas_nfree++;
		} else {
			ar->next = extra;
			extra = ar;
		}
		ar = next;
	}
	pthread_mutex_unlock(&w->mu);
	arenas_free(extra);
}

struct store_writer *store_writer_start(uv_loop_t *loop, struct store *s, size_t batch_max, struct store *ckpt,
					int64_t ckpt_pages)
{
	struct store_writer *w = calloc(1, sizeof *w);

	if (!w)
		return NULL;
	w->s = s;
	w->batch_max = batch_max ? batch_max : 1;
	pthread_mutex_init(&w->mu, NULL);
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC); /* uv_hrtime's clock, for take_batch's deadline */
	pthread_cond_init(&w->cv, &ca);
	pthread_condattr_destroy(&ca);
	if (store_index_defer(s, 1) < 0)
		goto fail;
	if (ckpt && ckpt_pages > 0 && ckpt_start(&w->ck, s, ckpt, ckpt_pages) < 0)
		goto fail;
	if (uv_async_init(loop, &w->async, on_async) < 0)
		goto fail;
	w->async.data = w;
	if (pthread_create(&w->thread, NULL, writer_main, w) != 0) {
		uv_close((uv_handle_t *)&w->async, NULL);
		goto fail;
	}
	return w;
fail:
	(void)store_index_defer(s, 0);
	ckpt_stop(&w->ck);
	store_writer_free(w);
	return NULL;
}

/* Signals the writer only if it sleeps and no submit signalled it since
 * (a busy writer takes what was queued when its group ends), and after the
 * lock is released: signalled under it, a writer on the same core would
 * run at once only to wait for the lock (two switches instead of one). */
int store_writer_submit(struct store_writer *w, struct store_job *j)
{
	int rc = 0, wake = 0;

	j->next = NULL;
	j->submitted_ns = uv_hrtime();
	pthread_mutex_lock(&w->mu);
	if (w->stopping) {
		rc = PL_CLOSED;
	} else {
		if (w->tail)
			w->tail->next = j;
		else
			w->head = j;
		w->tail = j;
		w->queued++;
		wake = w->sleeping;
		w->sleeping = 0;
	}
	pthread_mutex_unlock(&w->mu);
	if (wake)
		pthread_cond_signal(&w->cv);
	return rc;
}

void store_writer_stop(struct store_writer *w)
{
	pthread_mutex_lock(&w->mu);
	w->stopping = 1;
	pthread_cond_signal(&w->cv);
	pthread_mutex_unlock(&w->mu);
	pthread_join(w->thread, NULL); /* its last act applied the search-index queue */
	(void)store_index_defer(w->s, 0);
	ckpt_stop(&w->ck); /* after the writer: its last commits may have woken it */
	on_async(&w->async); /* deliver what the last batches committed */
	uv_close((uv_handle_t *)&w->async, NULL);
}

void store_writer_free(struct store_writer *w)
{
	if (!w)
		return;
	if (w->ck.pages) {
		pthread_mutex_destroy(&w->ck.mu);
		pthread_cond_destroy(&w->ck.cv);
	}
	arenas_free(w->arenas_done);
	arenas_free(w->arenas_free);
	pthread_mutex_destroy(&w->mu);
	pthread_cond_destroy(&w->cv);
	free(w);
}

void store_writer_stats(struct store_writer *w, struct store_writer_stats *out)
{
	pthread_mutex_lock(&w->mu);
	*out = w->stats;
	pthread_mutex_unlock(&w->mu);
	if (!w->ck.pages)
		return;
	pthread_mutex_lock(&w->ck.mu);
	out->checkpoints = w->ck.runs;
	out->checkpoint_restarts = w->ck.restarts;
	out->checkpoint_failures = w->ck.failures;
	out->restart = w->ck.restart_hist;
	pthread_mutex_unlock(&w->ck.mu);
}

size_t store_writer_queued(struct store_writer *w)
{
	size_t n;

	pthread_mutex_lock(&w->mu);
	n = w->queued;
	pthread_mutex_unlock(&w->mu);
	return n;
}

int store_pool_init(struct store_pool *p, const char *dir, size_t n, char *err, size_t errlen)
{
	memset(p, 0, sizeof *p);
	p->all = calloc(n, sizeof *p->all);
	p->idle = calloc(n, sizeof *p->idle);
	if (!p->all || !p->idle) {
		free(p->all);
		free(p->idle);
		return PL_NOMEM;
	}
	pthread_mutex_init(&p->mu, NULL);
	pthread_cond_init(&p->cv, NULL);
	for (size_t i = 0; i < n; i++) {
		p->all[i] = store_sqlite_open(dir, STORE_READONLY, err, errlen);
		if (!p->all[i]) {
			store_pool_release(p);
			return PL_IO;
		}
		p->idle[p->nidle++] = p->all[i];
		p->n++;
	}
	return 0;
}

void store_pool_release(struct store_pool *p)
{
	if (!p->all)
		return;
	for (size_t i = 0; i < p->n; i++)
		store_close(p->all[i]);
	free(p->all);
	free(p->idle);
	pthread_mutex_destroy(&p->mu);
	pthread_cond_destroy(&p->cv);
	memset(p, 0, sizeof *p);
}

struct store *store_pool_get(struct store_pool *p)
{
	struct store *s;

	pthread_mutex_lock(&p->mu);
	while (!p->nidle)
		pthread_cond_wait(&p->cv, &p->mu);
	s = p->idle[--p->nidle];
	pthread_mutex_unlock(&p->mu);
	return s;
}

void store_pool_put(struct store_pool *p, struct store *s)
{
	pthread_mutex_lock(&p->mu);
	p->idle[p->nidle++] = s;
	pthread_cond_signal(&p->cv);
	pthread_mutex_unlock(&p->mu);
}
