/*
 * test_writer.c — unit tests of the group-commit writer (src/store/writer.c)
 * over a real SQLite store in a temporary folder, with fake jobs.
 *
 * Each fake job adds 1 to a counter of its own (a safety_meta row) and may
 * fail before or after that change.  A gate job holds the writer until every
 * job of the test is queued, so they run as one group.  The tests check what
 * was committed (a counter at 1: kept once; absent: undone), how often each
 * job ran and was reset, and which way the writer ran the group (its stats).
 * test_index_batched sends real messages: their search-index updates are
 * applied in batches after the commit, and at stop.  Every job copies its
 * key into its group's arena when it runs and reads it back in done: the
 * jobs of a group share one arena, and it is not reset before their done.
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "store/store.h"
#include "store/writer.h"

enum { T_OK = 0, T_FAIL_BEFORE = 1, T_FAIL_AFTER = 2 };

struct t_job {
	struct store_job j;  /* first: the writer hands this back */
	const char *key;     /* the counter it adds 1 to */
	int how;             /* T_OK, T_FAIL_BEFORE (changes nothing), T_FAIL_AFTER (after its change) */
	int runs, resets, dones;
	int64_t seen;        /* the counter before its change, at its last run */
	int commit_rc;
	struct pl_arena *arena; /* its group's, seen at its last run */
	char *copy;          /* its key, copied into that arena */
	int copy_ok;         /* done found the copy intact */
};

struct t_env {
	char dir[64];
	struct store *s;
	uv_loop_t loop;
	struct store_writer *w;
	pthread_mutex_t mu;
	pthread_cond_t cv;
};

/* A gate job: holds the writer, once it runs, until the test opens it. */
struct t_gate {
	struct store_job j; /* first */
	struct t_env *env;
	int in, open;       /* guarded by env->mu */
	int dones, commit_rc;
};

static int t_run(struct store_job *j, struct store *s)
{
	struct t_job *t = (struct t_job *)j;
	int64_t v = 0;
	int rc;

	t->runs++;
	t->arena = j->arena;
	if (!j->arena || !(t->copy = arena_alloc(j->arena, strlen(t->key) + 1)))
		return PL_NOMEM;
	memcpy(t->copy, t->key, strlen(t->key) + 1);
	if (t->how == T_FAIL_BEFORE)
		return PL_DENIED;
	rc = store_safety_meta_get(s, t->key, &v);
	if (rc < 0 && rc != PL_NOTFOUND)
		return rc;
	t->seen = rc == PL_NOTFOUND ? 0 : v;
	if ((rc = store_safety_meta_set(s, t->key, t->seen + 1)) < 0)
		return rc;
	return t->how == T_FAIL_AFTER ? PL_DENIED : 0;
}

static void t_reset(struct store_job *j)
{
	((struct t_job *)j)->resets++;
}

static void t_done(struct store_job *j, int commit_rc)
{
	struct t_job *t = (struct t_job *)j;

	t->dones++;
	t->commit_rc = commit_rc;
	t->copy_ok = t->copy && strcmp(t->copy, t->key) == 0;
}

static int t_gate_run(struct store_job *j, struct store *s)
{
	struct t_gate *g = (struct t_gate *)j;

	pthread_mutex_lock(&g->env->mu);
	g->in = 1;
	pthread_cond_broadcast(&g->env->cv);
	while (!g->open)
		pthread_cond_wait(&g->env->cv, &g->env->mu);
	pthread_mutex_unlock(&g->env->mu);
	return 0;
}

static void t_gate_reset(struct store_job *j)
{
}

static void t_gate_done(struct store_job *j, int commit_rc)
{
	struct t_gate *g = (struct t_gate *)j;

	g->dones++;
	g->commit_rc = commit_rc;
}

static void t_gate_init(struct t_gate *g, struct t_env *env)
{
	memset(g, 0, sizeof *g);
	g->j.run = t_gate_run;
	g->j.done = t_gate_done;
	g->j.reset = t_gate_reset;
	g->env = env;
	g->commit_rc = -1;
}

/* Waits until g holds the writer. */
static void t_gate_wait(struct t_gate *g)
{
	pthread_mutex_lock(&g->env->mu);
	while (!g->in)
		pthread_cond_wait(&g->env->cv, &g->env->mu);
	pthread_mutex_unlock(&g->env->mu);
}

static void t_gate_open(struct t_gate *g)
{
	pthread_mutex_lock(&g->env->mu);
	g->open = 1;
	pthread_cond_broadcast(&g->env->cv);
	pthread_mutex_unlock(&g->env->mu);
}

static void t_job_init(struct t_job *t, const char *key, int how, int resettable)
{
	memset(t, 0, sizeof *t);
	t->j.run = t_run;
	t->j.done = t_done;
	t->j.reset = resettable ? t_reset : NULL;
	t->key = key;
	t->how = how;
}

static int t_setup(void **state)
{
	struct t_env *env = calloc(1, sizeof *env);
	char err[256];

	assert_non_null(env);
	snprintf(env->dir, sizeof env->dir, "/tmp/parley-writer-XXXXXX");
	assert_non_null(mkdtemp(env->dir));
	env->s = store_sqlite_open(env->dir, STORE_SYNC_NORMAL, err, sizeof err);
	assert_non_null(env->s);
	assert_int_equal(store_migrate(env->s), 0);
	assert_int_equal(uv_loop_init(&env->loop), 0);
	pthread_mutex_init(&env->mu, NULL);
	pthread_cond_init(&env->cv, NULL);
	env->w = store_writer_start(&env->loop, env->s, 64, NULL, 0);
	assert_non_null(env->w);
	*state = env;
	return 0;
}

static int t_teardown(void **state)
{
	struct t_env *env = *state;
	char cmd[128];

	if (env->w) {
		store_writer_stop(env->w);
		uv_run(&env->loop, UV_RUN_DEFAULT);
		store_writer_free(env->w);
	}
	assert_int_equal(uv_loop_close(&env->loop), 0);
	store_close(env->s);
	pthread_mutex_destroy(&env->mu);
	pthread_cond_destroy(&env->cv);
	snprintf(cmd, sizeof cmd, "rm -rf %s", env->dir);
	assert_int_equal(system(cmd), 0);
	free(env);
	return 0;
}

/* Stops the writer (delivering every job's done), reads its stats and frees it. */
static void t_stop(struct t_env *env, struct store_writer_stats *stats)
{
	store_writer_stop(env->w);
	store_writer_stats(env->w, stats);
	uv_run(&env->loop, UV_RUN_DEFAULT);
	store_writer_free(env->w);
	env->w = NULL;
}

/* Checks that each of v[0..n) was handed back once, committed, with the
 * outcome it was made for. */
static void t_check_done(struct t_job *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		assert_int_equal(v[i].dones, 1);
		assert_int_equal(v[i].commit_rc, 0);
		assert_int_equal(v[i].j.run_rc < 0, v[i].how != T_OK);
	}
}

/* Runs jobs v[0..n) as one group: queued behind a gate while it holds the
 * writer, which then stops and is freed. */
static void t_run_group(struct t_env *env, struct t_job *v, size_t n, struct store_writer_stats *stats)
{
	struct t_gate g;

	t_gate_init(&g, env);
	assert_int_equal(store_writer_submit(env->w, &g.j), 0);
	t_gate_wait(&g);
	for (size_t i = 0; i < n; i++)
		assert_int_equal(store_writer_submit(env->w, &v[i].j), 0);
	t_gate_open(&g);
	t_stop(env, stats);
	assert_int_equal(g.dones, 1);
	assert_int_equal(g.commit_rc, 0);
	assert_int_equal(stats->commits, 2); /* the gate's group, then v's */
	assert_int_equal(stats->failed, 0);
	t_check_done(v, n);
}

/* The counter key as committed: its value, or 0 when absent. */
static int64_t t_counter(struct t_env *env, const char *key)
{
	int64_t v = 0;
	int rc = store_safety_meta_get(env->s, key, &v);

	if (rc == PL_NOTFOUND)
		return 0;
	assert_int_equal(rc, 0);
	return v;
}

static void test_all_succeed(void **state)
{
	struct t_env *env = *state;
	struct store_writer_stats st;
	struct t_job v[3];

	t_job_init(&v[0], "a", T_OK, 1);
	t_job_init(&v[1], "b", T_OK, 1);
	t_job_init(&v[2], "c", T_OK, 1);
	t_run_group(env, v, 3, &st);
	assert_int_equal(st.marked, 0);
	assert_int_equal(st.reruns, 0);
	for (int i = 0; i < 3; i++) {
		assert_int_equal(v[i].runs, 1);
		assert_int_equal(v[i].resets, 0);
		assert_int_equal(t_counter(env, v[i].key), 1);
		assert_true(v[i].copy_ok); /* the group's arena outlived its done */
		assert_ptr_equal(v[i].arena, v[0].arena);
	}
	assert_non_null(v[0].arena);
}

/* A job that fails having changed nothing needs no undo: no rerun. */
static void test_fail_without_change(void **state)
{
	struct t_env *env = *state;
	struct store_writer_stats st;
	struct t_job v[3];

	t_job_init(&v[0], "a", T_OK, 1);
	t_job_init(&v[1], "b", T_FAIL_BEFORE, 1);
	t_job_init(&v[2], "c", T_OK, 1);
	t_run_group(env, v, 3, &st);
	assert_int_equal(st.marked, 0);
	assert_int_equal(st.reruns, 0);
	for (int i = 0; i < 3; i++) {
		assert_int_equal(v[i].runs, 1);
		assert_int_equal(v[i].resets, 0);
	}
	assert_int_equal(t_counter(env, "a"), 1);
	assert_int_equal(t_counter(env, "b"), 0);
	assert_int_equal(t_counter(env, "c"), 1);
}

/* A job that fails after its change: the group is rolled back, the jobs that
 * ran are reset, and the group runs again with a savepoint per job.  The
 * good ones are committed once, the failed one's change is gone. */
static void test_fail_after_change(void **state)
{
	struct t_env *env = *state;
	struct store_writer_stats st;
	struct t_job v[4];

	t_job_init(&v[0], "a", T_OK, 1);
	t_job_init(&v[1], "b", T_OK, 1);
	t_job_init(&v[2], "x", T_FAIL_AFTER, 1);
	t_job_init(&v[3], "c", T_OK, 1);
	t_run_group(env, v, 4, &st);
	assert_int_equal(st.marked, 1);
	assert_int_equal(st.reruns, 1);
	for (int i = 0; i < 3; i++) { /* ran, were rolled back, ran again */
		assert_int_equal(v[i].runs, 2);
		assert_int_equal(v[i].resets, 1);
		assert_int_equal(v[i].seen, 0); /* the second run did not see the first's change */
	}
	assert_int_equal(v[3].runs, 1); /* after the failure: ran once, never reset */
	assert_int_equal(v[3].resets, 0);
	assert_int_equal(t_counter(env, "a"), 1);
	assert_int_equal(t_counter(env, "b"), 1);
	assert_int_equal(t_counter(env, "x"), 0);
	assert_int_equal(t_counter(env, "c"), 1);
}

/* Two jobs on one counter, the second failing after its change: the first's
 * change is kept once, the second's undone. */
static void test_fail_after_change_same_row(void **state)
{
	struct t_env *env = *state;
	struct store_writer_stats st;
	struct t_job v[3];

	t_job_init(&v[0], "k", T_OK, 1);
	t_job_init(&v[1], "k", T_FAIL_AFTER, 1);
	t_job_init(&v[2], "k", T_OK, 1);
	t_run_group(env, v, 3, &st);
	assert_int_equal(st.reruns, 1);
	assert_int_equal(v[1].seen, 1);
	assert_int_equal(v[2].seen, 1);
	assert_int_equal(t_counter(env, "k"), 2);
}

/* A job without reset cannot run twice: its group runs with a savepoint per
 * job from the start, each job once. */
static void test_job_without_reset(void **state)
{
	struct t_env *env = *state;
	struct store_writer_stats st;
	struct t_job v[4];

	t_job_init(&v[0], "a", T_OK, 1);
	t_job_init(&v[1], "n", T_OK, 0);
	t_job_init(&v[2], "x", T_FAIL_AFTER, 1);
	t_job_init(&v[3], "y", T_FAIL_BEFORE, 1);
	t_run_group(env, v, 4, &st);
	assert_int_equal(st.marked, 1);
	assert_int_equal(st.reruns, 0);
	for (int i = 0; i < 4; i++) {
		assert_int_equal(v[i].runs, 1);
		assert_int_equal(v[i].resets, 0);
	}
	assert_int_equal(t_counter(env, "a"), 1);
	assert_int_equal(t_counter(env, "n"), 1);
	assert_int_equal(t_counter(env, "x"), 0);
	assert_int_equal(t_counter(env, "y"), 0);
}

/* After a rerun the next groups run marked for a while (writer.h): jobs
 * that keep failing after a change cost the writer little more than a
 * savepoint each. */
static void test_rerun_holds(void **state)
{
	struct t_env *env = *state;
	struct store_writer_stats st;
	struct t_gate g0, g1;
	struct t_job a[2], b[2];

	t_job_init(&a[0], "a", T_OK, 1);
	t_job_init(&a[1], "x", T_FAIL_AFTER, 1);
	t_job_init(&b[0], "b", T_OK, 1);
	t_job_init(&b[1], "y", T_FAIL_BEFORE, 1);
	t_gate_init(&g0, env);
	t_gate_init(&g1, env);
	/* Group 1: g0.  Group 2: a, then g1, which holds it (in its rerun)
	 * until group 3, b, is queued. */
	assert_int_equal(store_writer_submit(env->w, &g0.j), 0);
	t_gate_wait(&g0);
	assert_int_equal(store_writer_submit(env->w, &a[0].j), 0);
	assert_int_equal(store_writer_submit(env->w, &a[1].j), 0);
	assert_int_equal(store_writer_submit(env->w, &g1.j), 0);
	t_gate_open(&g0);
	t_gate_wait(&g1);
	assert_int_equal(store_writer_submit(env->w, &b[0].j), 0);
	assert_int_equal(store_writer_submit(env->w, &b[1].j), 0);
	t_gate_open(&g1);
	t_stop(env, &st);
	assert_int_equal(st.commits, 3);
	assert_int_equal(st.group.count, st.commits + st.failed);
	assert_int_equal(st.job.count, st.jobs);
	assert_int_equal(st.handback.count, st.jobs);
	assert_int_equal(st.reruns, 1);
	assert_int_equal(st.marked, 2); /* the rerun, and b's group after it */
	t_check_done(a, 2);
	t_check_done(b, 2);
	assert_int_equal(a[0].runs, 2);
	assert_int_equal(b[0].runs, 1);
	assert_int_equal(b[1].runs, 1);
	assert_int_equal(t_counter(env, "a"), 1);
	assert_int_equal(t_counter(env, "x"), 0);
	assert_int_equal(t_counter(env, "b"), 1);
}

/* A writer that never pauses, one job per commit, with a checkpointer at
 * 8 pages (hard bound 128): the writer restarts the WAL itself between two
 * groups when the checkpointer asks, so the WAL stays near the bound.  (A
 * RESTART on the checkpointer's thread waited for the write lock, which a
 * busy writer takes again at once, while the WAL grew past the bound.)
 * How far past the bound it gets is timing: the writer goes on committing
 * while the checkpointer's PASSIVE copy runs, and asks for the restart only
 * after it.  On a quiet machine that was under 2 x 128 pages; next to other
 * work the WAL was at up to 929 pages at the end (60 runs), and the old
 * bound of 2 x 128 failed 4-9 runs in 30.  Without restarts it ends at
 * ~3,100 pages (one per commit): N / 2 tells the two apart. */
static void test_wal_bounded(void **state)
{
	enum { N = 3000, KEYS = 8 };
	struct t_env *env = *state;
	struct store_writer_stats st;
	static const char *keys[KEYS] = {"k0", "k1", "k2", "k3", "k4", "k5", "k6", "k7"};
	struct t_job *v = calloc(N, sizeof *v);
	char err[256];
	struct store *ck = store_sqlite_open(env->dir, STORE_SYNC_NORMAL, err, sizeof err);
	struct t_gate g;

	assert_non_null(v);
	assert_non_null(ck);
	store_writer_stop(env->w);
	uv_run(&env->loop, UV_RUN_DEFAULT);
	store_writer_free(env->w);
	env->w = store_writer_start(&env->loop, env->s, 1, ck, 8);
	assert_non_null(env->w);
	t_gate_init(&g, env);
	assert_int_equal(store_writer_submit(env->w, &g.j), 0);
	t_gate_wait(&g);
	for (int i = 0; i < N; i++) {
		t_job_init(&v[i], keys[i % KEYS], T_OK, 1);
		assert_int_equal(store_writer_submit(env->w, &v[i].j), 0);
	}
	t_gate_open(&g);
	t_stop(env, &st);
	assert_int_equal(st.commits, N + 1);
	t_check_done(v, N);
	assert_int_equal(t_counter(env, "k0"), N / KEYS);
	assert_true(st.checkpoint_restarts > 0);
	assert_true(st.wal_pages <= N / 2);
	assert_int_equal(st.restart.count, st.checkpoint_restarts);
	store_close(ck);
	free(v);
}

/* A job that sends text as user into chat. */
struct t_msg_job {
	struct store_job j; /* first */
	int64_t chat, user;
	const char *text;
	int dones, commit_rc;
};

static int t_msg_run(struct store_job *j, struct store *s)
{
	struct t_msg_job *t = (struct t_msg_job *)j;
	struct store_message m = {.chat_id = t->chat, .sender_id = t->user, .date = 1000};

	m.text = (char *)t->text;
	return store_message_put(s, &m);
}

static void t_msg_done(struct store_job *j, int commit_rc)
{
	struct t_msg_job *t = (struct t_msg_job *)j;

	t->dones++;
	t->commit_rc = commit_rc;
}

static int t_count_hit(void *ctx, const struct store_message *m)
{
	(*(int *)ctx)++;
	return 0;
}

/* Hits for query that user r sees. */
static int t_hits(struct store *r, int64_t user, const char *query)
{
	int n = 0;

	assert_int_equal(store_message_search(r, user, 0, query, 0, 0, 0, 100, t_count_hit, &n), 0);
	return n;
}

/* Sends text through the writer and waits until it is handed back. */
static void t_send(struct t_env *env, struct t_msg_job *t, int64_t chat, int64_t user, const char *text)
{
	memset(t, 0, sizeof *t);
	t->j.run = t_msg_run;
	t->j.done = t_msg_done;
	t->chat = chat;
	t->user = user;
	t->text = text;
	assert_int_equal(store_writer_submit(env->w, &t->j), 0);
	while (!t->dones)
		uv_run(&env->loop, UV_RUN_ONCE);
	assert_int_equal(t->commit_rc, 0);
	assert_int_equal(t->j.run_rc, 0);
}

/* New messages' index updates wait for a batch of their own: a reader
 * finds a message within the age bound (here: a generous 2 s), and stop
 * applies what is left. */
static void test_index_batched(void **state)
{
	struct t_env *env = *state;
	struct store_writer_stats stats;
	struct store_user u = {0};
	struct store_chat c = {.type = STORE_CHAT_GROUP, .creator_id = 0, .created_at = 1};
	struct store_member mb = {.role = STORE_ROLE_CREATOR, .joined_at = 1};
	struct t_msg_job one, two;
	struct store *r;
	char err[256];
	int found = 0;

	t_stop(env, &stats);
	snprintf(u.username, sizeof u.username, "alice");
	snprintf(u.pw_hash, sizeof u.pw_hash, "$argon2id$v=19$fake");
	u.created_at = 1;
	assert_int_equal(store_user_create(env->s, &u), 0);
	c.creator_id = u.id;
	snprintf(c.title, sizeof c.title, "g");
	assert_int_equal(store_chat_create(env->s, &c), 0);
	mb.chat_id = c.id;
	mb.user_id = u.id;
	assert_int_equal(store_member_put(env->s, &mb), 0);
	assert_non_null(env->w = store_writer_start(&env->loop, env->s, 64, NULL, 0));
	assert_non_null(r = store_sqlite_open(env->dir, STORE_READONLY, err, sizeof err));

	t_send(env, &one, c.id, u.id, "wombat one");
	for (int i = 0; i < 200 && !found; i++) {
		struct timespec ts = {.tv_sec = 0, .tv_nsec = 10 * 1000000L};

		if (!(found = t_hits(r, u.id, "wombat")))
			nanosleep(&ts, NULL);
	}
	assert_int_equal(found, 1);
	t_send(env, &two, c.id, u.id, "wombat two");
	t_stop(env, &stats);
	assert_int_equal(t_hits(r, u.id, "wombat"), 2);
	assert_true(stats.index_flushes >= 2);
	assert_int_equal(stats.index_failures, 0);
	assert_int_equal(stats.index.count, stats.index_flushes);
	store_close(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_all_succeed, t_setup, t_teardown),
		cmocka_unit_test_setup_teardown(test_fail_without_change, t_setup, t_teardown),
		cmocka_unit_test_setup_teardown(test_fail_after_change, t_setup, t_teardown),
		cmocka_unit_test_setup_teardown(test_fail_after_change_same_row, t_setup, t_teardown),
		cmocka_unit_test_setup_teardown(test_job_without_reset, t_setup, t_teardown),
		cmocka_unit_test_setup_teardown(test_rerun_holds, t_setup, t_teardown),
		cmocka_unit_test_setup_teardown(test_wal_bounded, t_setup, t_teardown),
		cmocka_unit_test_setup_teardown(test_index_batched, t_setup, t_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
