/*
 * writer.h — group commit and the pool of read handles.
 *
 * The writer is one thread that owns the writer store handle.  Jobs submitted
 * from any thread queue up; the writer takes up to batch_max of them, runs
 * them inside one transaction, commits once — one fsync for the whole group —
 * and only then hands every job back to the loop thread through a uv_async.
 * So a request that writes is answered only after its commit, and the loop
 * thread never touches the disk.
 *
 * A job that fails leaves no trace while its neighbours commit.  The jobs run
 * without a savepoint each (a savepoint copies every page a job touches into
 * SQLite's statement journal first: 9% of the writer's instructions), and the
 * writer reads store_changes() around each: a job that failed having changed
 * nothing needs no undo.  If one failed after it changed something (or the
 * store says only rollback may follow), the writer rolls the group back,
 * calls reset on every job that ran, and runs the whole group again the old
 * way, each job inside its own savepoint (store_mark), undone alone if it
 * fails.  So run may run twice, and must then behave as if it ran once: a
 * job whose reset is NULL cannot, and its group runs the old way at once.
 * After a rerun the next STORE_WRITER_RERUN_HOLD groups also run the old way:
 * a rerun costs up to a second run of the group (a savepoint per job ~10%
 * more), so requests that keep failing after a change (a blocked user's
 * first message, sent again and again, makes a private chat first) cost the
 * writer at most ~1.2x instead of 2x.
 *
 * Checkpoints run next to the writer, on a thread of their own with a
 * read-write handle of their own, so no commit waits for one (SQLite's
 * default runs them inside a commit, copying up to 1,000 pages into the
 * database file and fsyncing it while every job queued behind waits).  The
 * writer's handle stops checkpointing by itself; after each commit the
 * writer reads the WAL's size and, at ckpt_pages, wakes the checkpointer
 * (then again each time the WAL grew by ckpt_pages x STORE_CKPT_STEP_FACTOR
 * until it starts over), which runs a PASSIVE checkpoint: it copies what no
 * reader still needs and takes no lock the writer waits for.  The WAL
 * starts over at the first commit after a checkpoint that copied all of it
 * (and with no reader inside it) — which under a steady write load seldom
 * happens, since no copy finishes between two commits.  So when it reaches
 * ckpt_pages x STORE_CKPT_HARD_FACTOR, the checkpointer, after its PASSIVE
 * copy, asks the writer to restart the WAL, and the writer does it between
 * two groups: a RESTART checkpoint on its own handle, which copies what was
 * committed since, fsyncs the database and waits (at most 250 ms, store's
 * SQ_CKPT_WAIT_MS) for readers to leave the WAL.  Run there, it never waits
 * for the write lock (on the checkpointer's thread it waited behind a
 * writer that takes the lock again at once, while the WAL grew).  Calls
 * queued meanwhile wait for it, as every commit did for SQLite's own
 * checkpoint, but once per hard
 * bound instead of once per ckpt_pages.  Durability is unchanged: the
 * checkpointer's handle has the writer's synchronous setting and fsyncs
 * the database file after each copy, as SQLite's own checkpoint does.
 *
 * Search-index updates of new messages are not applied at their commit:
 * each commit would write its own small FTS5 segment (~114,000
 * instructions, a third of a lone sendMessage's commit).  The writer's
 * handle defers them (store_index_defer) and the writer applies them in a
 * transaction of their own between two groups once STORE_WRITER_INDEX_BATCH
 * wait or the oldest has waited STORE_WRITER_INDEX_AGE_MS — also when idle,
 * waking for it — and when stopping.  A search sees a message at most that
 * long after its commit.  A crash loses nothing: at open, migrate indexes
 * what was committed after the last batch (docs/store.md).
 *
 * The pool holds read-only handles for reader threads; reads on them never
 * wait behind the writer (SQLite WAL).
 */
#ifndef PL_STORE_WRITER_H
#define PL_STORE_WRITER_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "store/store.h"
#include "util/arena.h"

/* WAL pages after a commit that wake the checkpointer (SQLite's own
 * threshold; the setting checkpoint_pages, docs/operations.md). */
#define STORE_CKPT_PAGES_DEFAULT 1000
/* The WAL at ckpt_pages x this: RESTART instead of PASSIVE (16,000 pages,
 * 62.5 MiB with 4 KiB pages, by default: about SQLite's journal_size_limit
 * in store_sqlite.c, the size the WAL file is cut back to). */
#define STORE_CKPT_HARD_FACTOR 16
/* Until the WAL starts over, the checkpointer is woken again each time it
 * grew by ckpt_pages x this (4,000 pages by default: ~14 groups of 512 1:1
 * messages, ~200 small commits; the first run is still at ckpt_pages).
 * Each run copies once every page changed since the last one, and a leaf
 * clustered by chat or user is changed by many groups before it fills: one
 * run every 4,000 pages instead of every 500 copied 0.36 pages per 1:1
 * message instead of 0.63 (docs/store.md, "Checkpoints").  The WAL's size
 * is bounded by STORE_CKPT_HARD_FACTOR, not by this. */
#define STORE_CKPT_STEP_FACTOR 4
/* Search-index updates of new messages applied together once this many
 * wait, or once the oldest waited STORE_WRITER_INDEX_AGE_MS (above).  The
 * age bounds how stale a search can be (docs/api.md, searchMessages); the
 * count only caps a batch's size — FTS5's pending terms (~330 bytes a
 * 100-byte message, ~1.4 MiB at the cap) and the writer's hold for it.
 * Each batch is one FTS5 segment plus the merges it sets off, so the fewer
 * the cheaper: under load the age decides (~3,000 messages a batch at
 * 30,000 per second, where batches of one 512-message group cost ~2,400
 * instructions a message more on a fresh store and ~3,500 more on a
 * 200,000-message index: docs/store.md, "Deferred indexing"). */
#define STORE_WRITER_INDEX_BATCH 4096
#define STORE_WRITER_INDEX_AGE_MS 100
/* Arenas kept for the next groups once the loop is done with them (one per
 * group; under load one or two groups wait for the loop at a time). */
#define STORE_WRITER_ARENAS_KEEP 4
/* Groups run with a savepoint per job after one had to run again. */
#define STORE_WRITER_RERUN_HOLD 16
/* Buckets of the writer's time histograms (store_writer_stats): upper
 * bounds in store_writer_bounds, one more bucket past the last (+Inf). */
#define STORE_WRITER_BUCKETS 14

/* Upper bounds of the histogram buckets, in seconds, ascending. */
extern const double store_writer_bounds[STORE_WRITER_BUCKETS];

/* A histogram of durations: counts per bucket (not cumulative), their sum
 * in seconds and their number. */
struct store_writer_hist {
	unsigned long long buckets[STORE_WRITER_BUCKETS + 1];
	double sum;
	unsigned long long count;
};

struct store_job;

/* Runs on the writer thread inside the group transaction.  A negative return
 * undoes this job's changes only. */
typedef int (*store_job_run_cb)(struct store_job *j, struct store *s);
/* Runs on the writer thread after the group was rolled back, before run runs
 * again: drops what run left in the job (results, events to publish), so
 * that the second run starts from what the first one found.  Whatever run
 * does outside the store must not happen twice either. */
typedef void (*store_job_reset_cb)(struct store_job *j);
/* Runs on the loop thread after the group was committed (commit_rc 0) or
 * failed to commit (commit_rc < 0: nothing of the job was kept). */
typedef void (*store_job_done_cb)(struct store_job *j, int commit_rc);

/* Embedded in the caller's request object; the caller owns it. */
struct store_job {
	struct store_job *next;
	store_job_run_cb run;
	store_job_done_cb done;
	store_job_reset_cb reset; /* NULL: run must not run twice */
	/* The group's arena, set by the writer before run (borrowed): what run
	 * takes from it is for the loop to read in done, and all of it goes at
	 * once after done returned for every job of the group — run must not
	 * free a block of it, and nothing may keep one past its own done
	 * (copy what must live longer).  A rerun (reset, run again) does not
	 * reset it: what the first run took stays taken, unused. */
	struct pl_arena *arena;
	int run_rc;           /* what run returned */
	int commit_rc;        /* what the group's commit returned */
	uint64_t submitted_ns; /* uv_hrtime() at store_writer_submit (the job histogram) */
	uint64_t committed_ns; /* uv_hrtime() when its group's commit returned (the handback one) */
};

struct store_writer_stats {
	unsigned long long commits;   /* transactions committed */
	unsigned long long jobs;      /* jobs run */
	unsigned long long failed;    /* commits that failed */
	unsigned long long reruns;    /* groups rolled back and run again, a savepoint per job */
	unsigned long long marked;    /* groups run with a savepoint per job (reruns included:
				       * a job without reset, a rerun, or held after one) */
	long long wal_pages;          /* WAL size after the last commit (0 without a checkpointer) */
	unsigned long long checkpoints;        /* run by the checkpointer, all modes */
	unsigned long long checkpoint_restarts; /* of which RESTART: the WAL was past the hard bound */
	unsigned long long checkpoint_failures; /* of which returned an error (PL_BUSY mostly) */
	unsigned long long index_flushes;       /* search-index batches applied (tried) */
	unsigned long long index_failures;      /* of which failed (the updates stay queued) */
	/* How long the writer held the calls queued behind it: a group from
	 * being taken to its commit (or rollback) returning; a RESTART
	 * checkpoint run between two groups; a job from store_writer_submit
	 * to its group's commit returning (its wait in the queue included);
	 * and a job from that commit to the loop thread taking it back (the
	 * loop's lag: it finishes what it is doing first); a search-index
	 * batch run between two groups; a group's COMMIT alone (its WAL
	 * writes and fsync: the disk's share of a group's hold). */
	struct store_writer_hist group, restart, job, handback, index, commit;
};

struct store_writer;

/* Starts the writer thread on store s (which it uses exclusively until
 * stopped; the caller still owns and closes it).  With ckpt, another
 * read-write handle on the same database (used likewise by the
 * checkpointer thread until stopped, owned by the caller), and ckpt_pages
 * > 0, checkpoints run on that thread as above; with ckpt NULL, SQLite
 * runs them inside the writer's commits.  s defers its search indexing
 * (store_index_defer) while the writer runs; stop applies what is queued
 * and turns that off.  NULL on failure. */
struct store_writer *store_writer_start(uv_loop_t *loop, struct store *s, size_t batch_max, struct store *ckpt,
					int64_t ckpt_pages);
/* Queues j.  Any thread.  Wakes the writer only if it sleeps and no other
 * submit woke it yet (a busy writer takes what queued when its group
 * ends), signalling after the queue's lock is released.  Returns PL_CLOSED
 * once the writer is stopping. */
int store_writer_submit(struct store_writer *w, struct store_job *j);
/* Finishes queued jobs, joins the thread, then stops and joins the
 * checkpointer (a checkpoint it is running finishes first; the last
 * connection to close checkpoints what is left, as SQLite does), and closes
 * the async handle; the loop must run once more before store_writer_free().
 * Loop thread. */
void store_writer_stop(struct store_writer *w);
void store_writer_free(struct store_writer *w);
/* Counters (approximate while running). */
void store_writer_stats(struct store_writer *w, struct store_writer_stats *out);
/* Jobs waiting for the writer now. */
size_t store_writer_queued(struct store_writer *w);

struct store_pool {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct store **all;
	struct store **idle;
	size_t n, nidle;
};

/* Opens n read-only handles on dir.  Returns 0 or a negative pl_err. */
int store_pool_init(struct store_pool *p, const char *dir, size_t n, char *err, size_t errlen);
void store_pool_release(struct store_pool *p);
/* Borrows a handle, waiting if all are in use; give it back with _put. */
struct store *store_pool_get(struct store_pool *p);
void store_pool_put(struct store_pool *p, struct store *s);

#endif
