/*
 * test_sync_channel.c — one channel post, 10,000 subscribers: delivered live
 * to every connected one, stored once (docs/sync.md: a channel's changes go
 * to one chat log, fan-out on read), against the real parleyd (harness.h)
 * over wsclient.h, with the store read directly through SQLite.
 *
 * Setup: SYNC_CHAN_SUBSCRIBERS users register and join "@name" from
 * SYNC_CHAN_THREADS threads (as test_channel.c does); SYNC_CHAN_CONNECTED of
 * them, spread over the range, connect over WebSocket (from threads) and wait
 * for "ready".  Then the owner posts once, and:
 *   - every connected subscriber receives it exactly once, as a
 *     chat-sequence update {"chat_id":-C,"pts":P,"update":{"type":
 *     "new_message",...}}, all with the same pts and the same bytes, and
 *     nothing else;
 *   - getState names the chat at P for a subscriber; getChatDifference
 *     from P - 1 returns the post; a subscriber that was not connected sees
 *     it the same way, and its user sequence did not move;
 *   - the store (parley.db opened read-only): the messages table has the
 *     post once, the channel's chat log (chat_updates) has exactly one row
 *     for it at P, its body is in update_payloads once, and no per-user
 *     update row (user_updates) refers to it — the number of user_updates
 *     rows is the same before and after the post.
 * Times go to stderr.  PARLEY_TEST_SYNC_CHANNEL_SUBSCRIBERS (at least
 * SYNC_CHAN_CONNECTED) runs it smaller.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "harness.h"
#include "parley.h"
#include "wsclient.h"

#define SYNC_CHAN_SUBSCRIBERS 10000
#define SYNC_CHAN_ENV "PARLEY_TEST_SYNC_CHANNEL_SUBSCRIBERS"
#define SYNC_CHAN_THREADS 8          /* registering threads */
#define SYNC_CHAN_CONNECTED 500      /* subscribers on a WebSocket */
#define SYNC_CHAN_WS_THREADS 10      /* threads connecting and reading them */
#define SYNC_CHAN_CALL_MS 20000
#define SYNC_CHAN_QUIET_MS 300
#define SYNC_CHAN_NAME "sync_big_channel"

struct sc_sub {
	int64_t id;
	char token[PARLEY_TOKEN_MAX + 1];
	struct wsc *w;               /* for connected ones */
	json_t *got;                 /* what that socket received after the post */
};

static struct harness *sc_h;
static struct sc_sub *sc_subs;
static int sc_n;
static int64_t sc_chan, sc_owner_id;
static struct parley_client *sc_owner;

/* --- helpers ------------------------------------------------------------ */

#define OK(c, method, params) harness_call_ok((c), (method), (params), __LINE__)

static int64_t sc_int(json_t *obj, const char *key)
{
	json_t *v = json_object_get(obj, key);

	return json_is_integer(v) ? (int64_t)json_integer_value(v) : -1;
}

static double sc_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* The index of the k-th connected subscriber: spread over the range. */
static int sc_connected(int k)
{
	return (int)((int64_t)k * sc_n / SYNC_CHAN_CONNECTED);
}

/* One integer from the store, via a read-only connection. */
static int64_t sc_sql_int(sqlite3 *db, const char *sql, int64_t a, int64_t b)
{
	sqlite3_stmt *st = NULL;
	int64_t v = -1;

	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) {
		print_error("%s: %s\n", sql, sqlite3_errmsg(db));
		fail();
	}
	sqlite3_bind_int64(st, 1, a);
	sqlite3_bind_int64(st, 2, b);
	if (sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	else
		print_error("%s: %s\n", sql, sqlite3_errmsg(db));
	sqlite3_finalize(st);
	return v;
}

static sqlite3 *sc_db_open(void)
{
	char path[4200];
	sqlite3 *db = NULL;

	snprintf(path, sizeof path, "%s/parley.db", harness_data_dir(sc_h));
	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
		print_error("open %s: %s\n", path, db ? sqlite3_errmsg(db) : "no memory");
		fail();
	}
	sqlite3_busy_timeout(db, 5000);
	return db;
}

/* --- threads ------------------------------------------------------------ */

struct sc_worker {
	pthread_t thread;
	struct parley_client *c;
	int first, step;
	int done;
	char failed[700];
};

static void *sc_register_main(void *arg)
{
	struct sc_worker *w = arg;
	struct parley_error err;
	char name[32], pw[80];

	for (int i = w->first; i < sc_n; i += w->step) {
		json_t *params, *res = NULL;
		int rc;

		snprintf(name, sizeof name, "scsub_%05d", i);
		if (parley_register(w->c, name, harness_password(name, pw, sizeof pw), NULL, &sc_subs[i].id, &err) < 0) {
			snprintf(w->failed, sizeof w->failed, "register %d: %s: %s", i, err.code, err.description);
			break;
		}
		snprintf(sc_subs[i].token, sizeof sc_subs[i].token, "%s", parley_client_token(w->c));
		params = json_pack("{s:s}", "chat_id", "@" SYNC_CHAN_NAME);
		rc = parley_call(w->c, "joinChat", params, &res, &err);
		json_decref(params);
		json_decref(res);
		if (rc < 0) {
			snprintf(w->failed, sizeof w->failed, "joinChat %d: %s: %s", i, err.code, err.description);
			break;
		}
		w->done++;
	}
	return NULL;
}

/* Connects connected subscribers first, first + step, ... */
static void *sc_connect_main(void *arg)
{
	struct sc_worker *w = arg;
	char err[256];

	for (int k = w->first; k < SYNC_CHAN_CONNECTED; k += w->step) {
		struct sc_sub *s = &sc_subs[sc_connected(k)];
		int64_t uid = 0;
		if (wsc_open(harness_url(sc_h), s->token, SYNC_CHAN_CALL_MS, &s->w, &uid, NULL, err, sizeof err) < 0) {
			snprintf(w->failed, sizeof w->failed, "subscriber %d: %s", sc_connected(k), err);
			break;
		}
		if (uid != s->id) {
			snprintf(w->failed, sizeof w->failed, "subscriber %d: ready for user %lld", sc_connected(k),
				 (long long)uid);
			break;
		}
		w->done++;
	}
	return NULL;
}

/* Reads each of its sockets until the post arrives, then a moment more. */
static int64_t sc_post;
static double sc_last_arrival;
static pthread_mutex_t sc_mu = PTHREAD_MUTEX_INITIALIZER;

static void *sc_read_main(void *arg)
{
	struct sc_worker *w = arg;

	for (int k = w->first; k < SYNC_CHAN_CONNECTED && !w->failed[0]; k += w->step) {
		struct sc_sub *s = &sc_subs[sc_connected(k)];
		double end = sc_now() + SYNC_CHAN_CALL_MS / 1000.0;
		json_t *m;
		int seen = 0;

		s->got = json_array();
		while (!seen) {
			int rc = wsc_next(s->w, (int)((end - sc_now()) * 1000) + 1, &m);
			if (rc < 0) {
				snprintf(w->failed, sizeof w->failed, "subscriber %d: no post: %s (%s)", sc_connected(k),
					 wsc_strerror(rc), wsc_error(s->w));
				break;
			}
			json_array_append_new(s->got, m);
			seen = sc_int(json_object_get(json_object_get(m, "update"), "message"), "message_id") == sc_post;
		}
		if (seen) {
			pthread_mutex_lock(&sc_mu);
			if (sc_now() > sc_last_arrival)
				sc_last_arrival = sc_now();
			pthread_mutex_unlock(&sc_mu);
		}
		w->done++;
	}
	/* Then whatever else comes (there should be nothing). */
	for (int k = w->first; k < SYNC_CHAN_CONNECTED && !w->failed[0]; k += w->step) {
		struct sc_sub *s = &sc_subs[sc_connected(k)];
		json_t *m;
		while (wsc_next(s->w, k == w->first ? SYNC_CHAN_QUIET_MS : 1, &m) == WSC_OK)
			json_array_append_new(s->got, m);
	}
	return NULL;
}

/* Runs fn on SYNC_CHAN_WS_THREADS threads; fails the test on any failure. */
static int sc_parallel(void *(*fn)(void *), const char *what)
{
	struct sc_worker w[SYNC_CHAN_WS_THREADS];
	int total = 0;

	for (int t = 0; t < SYNC_CHAN_WS_THREADS; t++) {
		w[t] = (struct sc_worker){.first = t, .step = SYNC_CHAN_WS_THREADS};
		assert_int_equal(pthread_create(&w[t].thread, NULL, fn, &w[t]), 0);
	}
	for (int t = 0; t < SYNC_CHAN_WS_THREADS; t++)
		pthread_join(w[t].thread, NULL);
	for (int t = 0; t < SYNC_CHAN_WS_THREADS; t++) {
		if (w[t].failed[0])
			print_error("%s, thread %d: %s\n", what, t, w[t].failed);
		assert_string_equal(w[t].failed, "");
		total += w[t].done;
	}
	return total;
}

/* --- setup ---------------------------------------------------------------- */

static int sc_setup(void **state)
{
	struct sc_worker w[SYNC_CHAN_THREADS];
	struct parley_error err;
	const char *env = getenv(SYNC_CHAN_ENV);
	double t0;
	int total = 0;

	sc_n = env && atoi(env) >= SYNC_CHAN_CONNECTED ? atoi(env) : SYNC_CHAN_SUBSCRIBERS;
	if (!(sc_h = harness_start(NULL)) || !(sc_subs = calloc((size_t)sc_n, sizeof *sc_subs)))
		return -1;
	sc_owner = harness_user(sc_h, "sync_chan_owner");
	sc_owner_id = harness_user_id(sc_h, "sync_chan_owner");
	if (parley_create_channel(sc_owner, "Sync news", SYNC_CHAN_NAME, &sc_chan, &err) < 0) {
		fprintf(stderr, "createChannel: %s: %s\n", err.code, err.description);
		return -1;
	}
	t0 = sc_now();
	for (int k = 0; k < SYNC_CHAN_THREADS; k++) {
		w[k] = (struct sc_worker){.c = harness_client(sc_h), .first = k, .step = SYNC_CHAN_THREADS};
		if (pthread_create(&w[k].thread, NULL, sc_register_main, &w[k]) != 0)
			return -1;
	}
	for (int k = 0; k < SYNC_CHAN_THREADS; k++)
		pthread_join(w[k].thread, NULL);
	for (int k = 0; k < SYNC_CHAN_THREADS; k++) {
		if (w[k].failed[0])
			fprintf(stderr, "thread %d: %s\n", k, w[k].failed);
		total += w[k].done;
	}
	fprintf(stderr, "test_sync_channel: %d users registered and joined @%s in %.1f s\n", total, SYNC_CHAN_NAME,
		sc_now() - t0);
	return total == sc_n ? 0 : -1;
}

static int sc_teardown(void **state)
{
	for (int i = 0; sc_subs && i < sc_n; i++) {
		wsc_free(sc_subs[i].w);
		json_decref(sc_subs[i].got);
	}
	harness_free(sc_h);
	sc_h = NULL;
	free(sc_subs);
	sc_subs = NULL;
	return 0;
}

/* --- the test ------------------------------------------------------------- */

static void test_post_reaches_all_stored_once(void **state)
{
	struct parley_client *c = harness_client(sc_h);
	struct parley_error err;
	int64_t user_rows_before, user_pts_before, pts = -1, internal = -sc_chan;
	json_t *first = NULL, *res, *m;
	sqlite3 *db;
	double t0, sent_at;
	int n;

	/* 500 subscribers connect. */
	t0 = sc_now();
	n = sc_parallel(sc_connect_main, "connect");
	assert_int_equal(n, SYNC_CHAN_CONNECTED);
	fprintf(stderr, "test_sync_channel: %d subscribers connected over WebSocket and ready in %.1f s\n", n,
		sc_now() - t0);

	db = sc_db_open();
	user_rows_before = sc_sql_int(db, "SELECT count(*) FROM user_updates", 0, 0);
	assert_true(user_rows_before >= 0);
	assert_int_equal(parley_client_set_token(c, sc_subs[1].token), 0); /* a subscriber who is not connected */
	assert_true(sc_connected(1) != 1);
	res = OK(c, "getState", json_object());
	user_pts_before = sc_int(res, "pts");
	json_decref(res);

	/* The post. */
	sent_at = sc_now();
	assert_int_equal(parley_send_message(sc_owner, sc_chan, "One post for ten thousand", 0, &sc_post, &err), 0);
	assert_true(sc_post > 0);
	n = sc_parallel(sc_read_main, "read");
	assert_int_equal(n, SYNC_CHAN_CONNECTED);
	fprintf(stderr, "test_sync_channel: the post reached all %d connected subscribers %.3f s after it was sent\n",
		SYNC_CHAN_CONNECTED, sc_last_arrival - sent_at);

	/* Each socket: exactly the post, once, as a chat-sequence update, all alike. */
	for (int k = 0; k < SYNC_CHAN_CONNECTED; k++) {
		struct sc_sub *s = &sc_subs[sc_connected(k)];
		if (json_array_size(s->got) != 1) {
			char *d = json_dumps(s->got, JSON_COMPACT);
			print_error("subscriber %d received %s\n", sc_connected(k), d);
			free(d);
		}
		assert_int_equal(json_array_size(s->got), 1);
		m = json_array_get(s->got, 0);
		assert_int_equal(sc_int(m, "chat_id"), sc_chan);
		if (!first) {
			first = m;
			pts = sc_int(m, "pts");
			assert_true(pts > 0);
			assert_string_equal(json_string_value(json_object_get(json_object_get(m, "update"), "type")),
					    "new_message");
		}
		assert_true(json_equal(m, first));
	}

	/* What a subscriber asks for later says the same. */
	res = OK(c, "getState", json_object());
	assert_int_equal(sc_int(res, "pts"), user_pts_before); /* the user sequence did not move */
	{
		json_t *chats = json_object_get(res, "chats");
		assert_int_equal(json_array_size(chats), 1);
		assert_int_equal(sc_int(json_array_get(chats, 0), "chat_id"), sc_chan);
		assert_int_equal(sc_int(json_array_get(chats, 0), "pts"), pts);
	}
	json_decref(res);
	res = OK(c, "getChatDifference", json_pack("{s:I, s:I}", "chat_id", (json_int_t)sc_chan, "pts", (json_int_t)(pts - 1)));
	assert_int_equal(json_array_size(json_object_get(res, "updates")), 1);
	assert_true(json_equal(json_array_get(json_object_get(res, "updates"), 0), first));
	json_decref(res);

	/* The store wrote the post once. */
	assert_int_equal(sc_sql_int(db, "SELECT count(*) FROM messages WHERE chat_id = ?1 AND id = ?2", internal, sc_post), 1);
	assert_int_equal(sc_sql_int(db,
				    "SELECT count(*) FROM chat_updates u JOIN update_payloads p ON p.id = u.payload_id "
				    "WHERE u.chat_id = ?1 AND json_extract(CAST(p.body AS TEXT), '$.type') = 'new_message' "
				    "AND json_extract(CAST(p.body AS TEXT), '$.message.message_id') = ?2",
				    internal, sc_post), 1);
	assert_int_equal(sc_sql_int(db, "SELECT pts FROM chat_updates u JOIN update_payloads p ON p.id = u.payload_id "
					"WHERE u.chat_id = ?1 AND json_extract(CAST(p.body AS TEXT), '$.message.message_id') = ?2",
				    internal, sc_post), pts);
	assert_int_equal(sc_sql_int(db, "SELECT count(*) FROM update_payloads p "
					"WHERE json_extract(CAST(p.body AS TEXT), '$.message.chat.id') = ?1 "
					"AND json_extract(CAST(p.body AS TEXT), '$.message.message_id') = ?2",
				    sc_chan, sc_post), 1);
	assert_int_equal(sc_sql_int(db, "SELECT count(*) FROM user_updates u JOIN update_payloads p ON p.id = u.payload_id "
					"WHERE json_extract(CAST(p.body AS TEXT), '$.message.chat.id') = ?1 "
					"AND json_extract(CAST(p.body AS TEXT), '$.message.message_id') = ?2",
				    sc_chan, sc_post), 0);
	assert_int_equal(sc_sql_int(db, "SELECT count(*) FROM user_updates", 0, 0), user_rows_before);
	assert_int_equal(sc_sql_int(db, "SELECT pts FROM chats WHERE id = ?1", internal, 0), pts);
	sqlite3_close(db);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_post_reaches_all_stored_once),
	};

	return cmocka_run_group_tests(tests, sc_setup, sc_teardown);
}
