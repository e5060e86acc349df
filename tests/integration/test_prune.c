/*
 * test_prune.c — retention pruning of the update logs (docs/store.md,
 * "Pruning"; docs/operations.md, prune_interval_seconds and
 * prune_step_rows) against the real parleyd (harness.h), with a tick of
 * PR_TICK_S and steps of PR_STEP rows, so that a drain takes many steps.
 *
 * Covered:
 *   - nothing old: bob sends alice PR_MESSAGES private messages (two log
 *     rows each and their payloads); ticks come and go (the pruning steps
 *     counter rises) and every row and payload stays.
 *   - a backlog: the server is stopped and the rows of the first PR_OLD
 *     messages (their payloads and every log row referring to one; each row
 *     keeps its payload's date) are moved PR_AGE_DAYS back, past the 7 days
 *     of retention, directly in parley.db; started again, the server drains
 *     them in steps while alice keeps sending bob messages (each answered);
 *     the test polls parley.db until nothing old is left (a deadline, not a
 *     fixed sleep).  Then: every old row and payload is gone and
 *     parley_prune_rows_total counted exactly them; every newer row and
 *     payload is still there; every log is contiguous from its lowest kept
 *     pts; alice's log starts right after the last old message;
 *     getDifference from a pts before that answers {"reload": true,
 *     "state": {"pts": P}} and no updates, and from just before the oldest
 *     kept pts returns the kept updates in order (the messages sent after
 *     the old ones, then those sent during the drain).
 *   - a shutdown during a drain: everything is made old, the server is
 *     started and stopped (SIGTERM) as soon as parley_prune_rows_total
 *     shows a step; it exits 0 (under `make asan`, nothing leaked) with
 *     the logs contiguous and the rest left; started again, it drains the
 *     rest, counting exactly what was left, and still answers.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"
#include "parley.h"

#define PR_MESSAGES 3000     /* bob to alice before pruning */
#define PR_OLD 2000          /* of which the first this many are made old */
#define PR_AGE_DAYS 30       /* how far back: past the default retention (7 days) */
#define PR_TICK_S "1"        /* prune_interval_seconds */
#define PR_STEP 100          /* prune_step_rows, */
#define PR_STEP_S "100"      /* as the setting is written */
#define PR_DEADLINE_MS 60000 /* the longest wait for a drain, or for ticks */
#define PR_POLL_MS 20
#define PR_DURING_MAX 2000   /* messages alice sends while the drain runs */
#define PR_TEXT_MAX 48
#define PR_PAGE 1000         /* getDifference's largest page */

static struct harness *pr_h;
static struct parley_client *pr_alice, *pr_bob;
static int64_t pr_alice_id, pr_bob_id;
static int64_t pr_ids[PR_MESSAGES];  /* bob's messages, as sent */
static int64_t pr_alice_pts_old;     /* alice's pts after the last old message */

/* --- helpers ------------------------------------------------------------ */

#define OK(c, method, params) harness_call_ok((c), (method), (params), __LINE__)

static int64_t pr_int(json_t *obj, const char *key)
{
	json_t *v = json_object_get(obj, key);

	return json_is_integer(v) ? (int64_t)json_integer_value(v) : -1;
}

static int64_t pr_send(struct parley_client *c, int64_t chat, const char *text)
{
	struct parley_error err;
	int64_t id = 0;

	if (parley_send_message(c, chat, text, 0, &id, &err) < 0) {
		print_error("sendMessage: %s: %s\n", err.code, err.description);
		fail();
	}
	return id;
}

static int64_t pr_server_pts(struct parley_client *c)
{
	json_t *st = OK(c, "getState", json_object());
	int64_t pts = pr_int(st, "pts");

	json_decref(st);
	return pts;
}

/* A counter from GET /metrics (0 if absent). */
static double pr_metric(const char *name)
{
	struct parley_error err;
	char *body = NULL;
	int status = 0;
	size_t n = strlen(name);
	double v = 0;

	if (parley_get(pr_alice, "/metrics", &status, &body, NULL, &err) < 0) {
		print_error("GET /metrics: %s %s\n", err.code, err.description);
		fail();
	}
	assert_int_equal(status, 200);
	for (const char *l = body; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL)
		if (strncmp(l, name, n) == 0 && l[n] == ' ')
			v = strtod(l + n + 1, NULL);
	free(body);
	return v;
}

static double pr_ms_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static sqlite3 *pr_db_open(int flags)
{
	char path[4200];
	sqlite3 *db = NULL;

	snprintf(path, sizeof path, "%s/parley.db", harness_data_dir(pr_h));
	if (sqlite3_open_v2(path, &db, flags, NULL) != SQLITE_OK) {
		print_error("%s: %s\n", path, sqlite3_errmsg(db));
		sqlite3_close(db);
		fail();
	}
	sqlite3_busy_timeout(db, 5000);
	return db;
}

/* The one integer sql answers (its first column of its first row). */
static int64_t pr_db_int(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *q = NULL;
	int64_t v = -1;

	if (sqlite3_prepare_v2(db, sql, -1, &q, NULL) != SQLITE_OK) {
		print_error("%s: %s\n", sql, sqlite3_errmsg(db));
		fail();
	}
	if (sqlite3_step(q) == SQLITE_ROW)
		v = sqlite3_column_int64(q, 0);
	else
		print_error("%s: %s\n", sql, sqlite3_errmsg(db));
	sqlite3_finalize(q);
	return v;
}

static void pr_db_exec(sqlite3 *db, const char *sql)
{
	char *errmsg = NULL;

	if (sqlite3_exec(db, sql, NULL, NULL, &errmsg) != SQLITE_OK) {
		print_error("%s: %s\n", sql, errmsg);
		sqlite3_free(errmsg);
		fail();
	}
}

/* Rows and payloads dated before cutoff. */
static int64_t pr_db_old(sqlite3 *db, int64_t cutoff)
{
	char sql[400];

	snprintf(sql, sizeof sql,
		 "SELECT (SELECT count(*) FROM user_updates WHERE date < %lld)"
		 " + (SELECT count(*) FROM chat_updates WHERE date < %lld)"
		 " + (SELECT count(*) FROM update_payloads WHERE date < %lld)",
		 (long long)cutoff, (long long)cutoff, (long long)cutoff);
	return pr_db_int(db, sql);
}

/* Every log in table (user_updates, chat_updates) keyed by col: count(*)
 * equals max - min + 1, and no row refers to a missing payload. */
static void pr_db_contiguous(sqlite3 *db, const char *table, const char *col)
{
	char sql[400];

	snprintf(sql, sizeof sql,
		 "SELECT count(*) FROM (SELECT %s FROM %s GROUP BY %s HAVING count(*) != max(pts) - min(pts) + 1)",
		 col, table, col);
	assert_int_equal(pr_db_int(db, sql), 0);
	snprintf(sql, sizeof sql,
		 "SELECT count(*) FROM %s WHERE payload_id NOT IN (SELECT id FROM update_payloads)", table);
	assert_int_equal(pr_db_int(db, sql), 0);
}

static int64_t pr_db_total(sqlite3 *db)
{
	return pr_db_int(db, "SELECT (SELECT count(*) FROM user_updates) + (SELECT count(*) FROM chat_updates)"
			     " + (SELECT count(*) FROM update_payloads)");
}

static int pr_setup(void **state)
{
	static const char *const env[] = {"PARLEY_RATE_MESSAGES_BURST=1000000",
					  "PARLEY_PRUNE_INTERVAL_SECONDS=" PR_TICK_S,
					  "PARLEY_PRUNE_STEP_ROWS=" PR_STEP_S, NULL};

	if (!(pr_h = harness_start(env)))
		return -1;
	pr_alice = harness_user(pr_h, "pr_alice");
	pr_bob = harness_user(pr_h, "pr_bob");
	pr_alice_id = harness_user_id(pr_h, "pr_alice");
	pr_bob_id = harness_user_id(pr_h, "pr_bob");
	return 0;
}

static int pr_teardown(void **state)
{
	harness_free(pr_h);
	pr_h = NULL;
	return 0;
}

/* --- tests ------------------------------------------------------------- */

/* Nothing old: ticks run (steps counted) and every row stays. */
static void test_prune_nothing_old(void **state)
{
	char text[PR_TEXT_MAX];
	double steps, t0;
	int64_t before, after;
	sqlite3 *db;

	for (int i = 0; i < PR_MESSAGES; i++) {
		snprintf(text, sizeof text, "message %d", i);
		pr_ids[i] = pr_send(pr_bob, pr_alice_id, text);
		if (i == PR_OLD - 1)
			pr_alice_pts_old = pr_server_pts(pr_alice);
	}
	assert_true(pr_alice_pts_old >= PR_OLD);
	db = pr_db_open(SQLITE_OPEN_READONLY);
	before = pr_db_total(db);
	assert_true(before >= 3 * PR_MESSAGES);
	/* Two more ticks, each a step that finds nothing old. */
	steps = pr_metric("parley_prune_steps_total");
	t0 = pr_ms_now();
	while (pr_metric("parley_prune_steps_total") < steps + 2) {
		assert_true(pr_ms_now() - t0 < PR_DEADLINE_MS);
		usleep(PR_POLL_MS * 1000);
	}
	after = pr_db_total(db);
	assert_int_equal(after, before);
	assert_int_equal((int64_t)pr_metric("parley_prune_rows_total"), 0);
	assert_int_equal((int64_t)pr_metric("parley_prune_failures_total"), 0);
	sqlite3_close(db);
	fprintf(stderr, "test_prune: nothing old: %lld rows and payloads kept over %.0f steps\n", (long long)after,
		pr_metric("parley_prune_steps_total"));
}

/* A backlog of PR_OLD messages' rows, drained in steps while alice sends. */
static void test_prune_drains_backlog(void **state)
{
	int64_t cutoff = (int64_t)time(NULL) - 7 * 86400, old_date = (int64_t)time(NULL) - PR_AGE_DAYS * 86400;
	int64_t bound, old, kept_rows, kept_payloads, max_payload, server, pts, during[PR_DURING_MAX + 1];
	double t0, drain_ms;
	int nduring = 0, n = 0;
	char sql[400], text[PR_TEXT_MAX];
	json_t *res, *ups, *row;
	sqlite3 *db;
	size_t i;

	assert_true(pr_alice_pts_old > 0); /* test_prune_nothing_old sent them */
	assert_int_equal(harness_stop(pr_h), 0);

	/* The payload of alice's row for the last old message bounds the old
	 * ones: payload ids grow in commit order, so it and every lower one
	 * are from then or before, and so are the rows referring to them. */
	db = pr_db_open(SQLITE_OPEN_READWRITE);
	snprintf(sql, sizeof sql, "SELECT payload_id FROM user_updates WHERE user_id = %lld AND pts = %lld",
		 (long long)pr_alice_id, (long long)pr_alice_pts_old);
	assert_true((bound = pr_db_int(db, sql)) > 0);
	max_payload = pr_db_int(db, "SELECT max(id) FROM update_payloads");
	assert_true(max_payload > bound);
	pr_db_exec(db, "BEGIN");
	snprintf(sql, sizeof sql, "UPDATE update_payloads SET date = %lld WHERE id <= %lld", (long long)old_date,
		 (long long)bound);
	pr_db_exec(db, sql);
	snprintf(sql, sizeof sql, "UPDATE user_updates SET date = %lld WHERE payload_id <= %lld", (long long)old_date,
		 (long long)bound);
	pr_db_exec(db, sql);
	snprintf(sql, sizeof sql, "UPDATE chat_updates SET date = %lld WHERE payload_id <= %lld", (long long)old_date,
		 (long long)bound);
	pr_db_exec(db, sql);
	pr_db_exec(db, "COMMIT");
	old = pr_db_old(db, cutoff);
	assert_true(old >= 3 * PR_OLD); /* alice's row, bob's row and the payload of each */
	snprintf(sql, sizeof sql, "SELECT (SELECT count(*) FROM user_updates WHERE payload_id > %lld)"
		 " + (SELECT count(*) FROM chat_updates WHERE payload_id > %lld)", (long long)bound, (long long)bound);
	kept_rows = pr_db_int(db, sql);
	snprintf(sql, sizeof sql, "SELECT count(*) FROM update_payloads WHERE id > %lld", (long long)bound);
	kept_payloads = pr_db_int(db, sql);
	assert_true(kept_rows >= 2 * (PR_MESSAGES - PR_OLD));
	assert_true(kept_payloads >= PR_MESSAGES - PR_OLD);
	sqlite3_close(db);

	/* Started again: the first tick (PR_TICK_S) starts a drain of about
	 * old / PR_STEP steps; alice keeps sending meanwhile. */
	assert_int_equal(harness_restart(pr_h), 0);
	t0 = pr_ms_now();
	db = pr_db_open(SQLITE_OPEN_READONLY);
	while (pr_db_old(db, cutoff) > 0) {
		assert_true(pr_ms_now() - t0 < PR_DEADLINE_MS);
		if (nduring < PR_DURING_MAX) {
			snprintf(text, sizeof text, "during the drain %d", nduring);
			during[nduring] = pr_send(pr_alice, pr_bob_id, text);
			nduring++;
		} else {
			usleep(PR_POLL_MS * 1000);
		}
	}
	drain_ms = pr_ms_now() - t0;
	/* And after it. */
	during[nduring] = pr_send(pr_alice, pr_bob_id, "after the drain");
	nduring++;

	/* Every old row and payload is gone, counted; every newer one is there. */
	assert_int_equal(pr_db_old(db, cutoff), 0);
	snprintf(sql, sizeof sql, "SELECT (SELECT count(*) FROM user_updates WHERE payload_id <= %lld)"
		 " + (SELECT count(*) FROM chat_updates WHERE payload_id <= %lld)"
		 " + (SELECT count(*) FROM update_payloads WHERE id <= %lld)",
		 (long long)bound, (long long)bound, (long long)bound);
	assert_int_equal(pr_db_int(db, sql), 0);
	snprintf(sql, sizeof sql, "SELECT (SELECT count(*) FROM user_updates WHERE payload_id > %lld AND payload_id <= %lld)"
		 " + (SELECT count(*) FROM chat_updates WHERE payload_id > %lld AND payload_id <= %lld)",
		 (long long)bound, (long long)max_payload, (long long)bound, (long long)max_payload);
	assert_int_equal(pr_db_int(db, sql), kept_rows);
	snprintf(sql, sizeof sql, "SELECT count(*) FROM update_payloads WHERE id > %lld AND id <= %lld",
		 (long long)bound, (long long)max_payload);
	assert_int_equal(pr_db_int(db, sql), kept_payloads);
	pr_db_contiguous(db, "user_updates", "user_id");
	pr_db_contiguous(db, "chat_updates", "chat_id");
	snprintf(sql, sizeof sql, "SELECT min(pts) FROM user_updates WHERE user_id = %lld", (long long)pr_alice_id);
	assert_int_equal(pr_db_int(db, sql), pr_alice_pts_old + 1);
	sqlite3_close(db);
	/* The drain's deletions are counted exactly (the store counts rows
	 * and payloads alike; the counters start at 0 with the process), and
	 * took many steps. */
	assert_int_equal((int64_t)pr_metric("parley_prune_rows_total"), old);
	assert_true(pr_metric("parley_prune_steps_total") >= (double)old / PR_STEP);
	assert_int_equal((int64_t)pr_metric("parley_prune_failures_total"), 0);
	fprintf(stderr, "test_prune: %lld old rows and payloads drained in %.0f steps of at most %d within %.0f ms of "
		"the restart; %d messages sent meanwhile\n", (long long)old,
		pr_metric("parley_prune_steps_total"), PR_STEP, drain_ms, nduring - 1);

	/* What a client sees: a state from before what is kept is told to reload. */
	server = pr_server_pts(pr_alice);
	for (int k = 0; k < 3; k++) {
		int64_t from = k == 0 ? 0 : k == 1 ? PR_OLD / 2 : pr_alice_pts_old - 1;

		res = OK(pr_alice, "getDifference", json_pack("{s:I}", "pts", (json_int_t)from));
		assert_true(json_is_true(json_object_get(res, "reload")));
		assert_int_equal(pr_int(json_object_get(res, "state"), "pts"), server);
		assert_null(json_object_get(res, "updates"));
		json_decref(res);
	}
	/* From just before the oldest kept pts: the kept updates, in order —
	 * bob's newer messages, then alice's own sent during and after the drain. */
	pts = pr_alice_pts_old;
	for (int more = 1; more;) {
		res = OK(pr_alice, "getDifference", json_pack("{s:I, s:i}", "pts", (json_int_t)pts, "limit", PR_PAGE));
		assert_false(json_is_true(json_object_get(res, "reload")));
		ups = json_object_get(res, "updates");
		assert_true(json_array_size(ups) > 0);
		json_array_foreach(ups, i, row) {
			json_t *msg = json_object_get(json_object_get(row, "update"), "message");

			assert_int_equal(pr_int(row, "pts"), pts + 1);
			assert_true(n < PR_MESSAGES - PR_OLD + nduring);
			if (n < PR_MESSAGES - PR_OLD) {
				assert_int_equal(pr_int(msg, "message_id"), pr_ids[PR_OLD + n]);
				assert_int_equal(pr_int(json_object_get(msg, "from"), "id"), pr_bob_id);
			} else {
				assert_int_equal(pr_int(msg, "message_id"), during[n - (PR_MESSAGES - PR_OLD)]);
				assert_int_equal(pr_int(json_object_get(msg, "from"), "id"), pr_alice_id);
			}
			pts++;
			n++;
		}
		assert_int_equal(pr_int(json_object_get(res, "state"), "pts"), pts);
		more = json_is_true(json_object_get(res, "more"));
		json_decref(res);
	}
	assert_int_equal(n, PR_MESSAGES - PR_OLD + nduring);
	assert_int_equal(pts, server);
}

/* A drain cut short by a shutdown: the server stops cleanly (exit 0; under
 * ASan, nothing leaked) after the step in progress, and the next start goes
 * on where the last committed step stopped. */
static void test_prune_stop_during_drain(void **state)
{
	int64_t cutoff = (int64_t)time(NULL) - 7 * 86400, old_date = (int64_t)time(NULL) - PR_AGE_DAYS * 86400;
	int64_t old, total, left, first;
	double t0;
	char sql[200];
	sqlite3 *db;

	/* Everything there is becomes old. */
	assert_int_equal(harness_stop(pr_h), 0);
	db = pr_db_open(SQLITE_OPEN_READWRITE);
	pr_db_exec(db, "BEGIN");
	snprintf(sql, sizeof sql, "UPDATE update_payloads SET date = %lld", (long long)old_date);
	pr_db_exec(db, sql);
	snprintf(sql, sizeof sql, "UPDATE user_updates SET date = %lld", (long long)old_date);
	pr_db_exec(db, sql);
	snprintf(sql, sizeof sql, "UPDATE chat_updates SET date = %lld", (long long)old_date);
	pr_db_exec(db, sql);
	pr_db_exec(db, "COMMIT");
	old = pr_db_old(db, cutoff);
	total = pr_db_total(db);
	assert_int_equal(old, total);
	assert_true(old > 10 * PR_STEP); /* a drain of many steps */
	sqlite3_close(db);

	/* Stopped as soon as the drain deleted something. */
	assert_int_equal(harness_restart(pr_h), 0);
	t0 = pr_ms_now();
	while ((first = (int64_t)pr_metric("parley_prune_rows_total")) == 0) {
		assert_true(pr_ms_now() - t0 < PR_DEADLINE_MS);
		usleep(1000);
	}
	assert_int_equal(harness_stop(pr_h), 0);
	db = pr_db_open(SQLITE_OPEN_READONLY);
	left = pr_db_old(db, cutoff);
	assert_true(left < old);
	pr_db_contiguous(db, "user_updates", "user_id");
	pr_db_contiguous(db, "chat_updates", "chat_id");
	sqlite3_close(db);
	fprintf(stderr, "test_prune: stopped during a drain with %lld of %lld old rows and payloads left\n",
		(long long)left, (long long)old);
	if (left == 0)
		fprintf(stderr, "test_prune: (the drain finished before the stop: nothing cut short)\n");

	/* Started again: the rest goes, and nothing else is counted. */
	assert_int_equal(harness_restart(pr_h), 0);
	t0 = pr_ms_now();
	db = pr_db_open(SQLITE_OPEN_READONLY);
	while (pr_db_old(db, cutoff) > 0) {
		assert_true(pr_ms_now() - t0 < PR_DEADLINE_MS);
		usleep(PR_POLL_MS * 1000);
	}
	assert_int_equal(pr_db_total(db), 0);
	sqlite3_close(db);
	assert_int_equal((int64_t)pr_metric("parley_prune_rows_total"), left);
	/* The logs are empty but their counters go on: alice is told to reload. */
	{
		json_t *res = OK(pr_alice, "getDifference", json_pack("{s:i}", "pts", 1));

		assert_true(json_is_true(json_object_get(res, "reload")));
		json_decref(res);
	}
	pr_send(pr_bob, pr_alice_id, "after everything was pruned");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_prune_nothing_old),
		cmocka_unit_test(test_prune_drains_backlog),
		cmocka_unit_test(test_prune_stop_during_drain),
	};

	return cmocka_run_group_tests(tests, pr_setup, pr_teardown);
}
