/*
 * test_sync_catchup.c — a device that was away catches up with
 * getDifference and then continues live (docs/sync.md, "What a client must
 * do"), against the real parleyd (harness.h) over wsclient.h.
 *
 * Covered:
 *   - alice's device 1 disconnects; bob sends her 500 messages; it
 *     reconnects and, after "ready", pages getDifference with limit 100 over
 *     its socket: five pages, `more` true on the first four and false on the
 *     last, state.pts the last pts of each page, exactly those 500
 *     new_message updates in order (pts +1 each, the acknowledged ids and
 *     texts, no duplicate), nothing pushed meanwhile; then live delivery
 *     continues on the socket at the next pts.  Her device 2 stayed
 *     connected the whole time and received the same 500 updates live,
 *     encoded identically.
 *   - the same while bob keeps sending during the catch-up: the device
 *     follows the client rules (apply pts == stored + 1, drop pts <= stored,
 *     fill a gap with getDifference) and ends with every message exactly
 *     once and a gap-free sequence equal to the server's.
 *   - a client whose pts is ahead of the server (state restored from
 *     elsewhere) gets no updates and the server's pts, and continues from
 *     it; getDifference(0, limit 1) pages from the start; limits outside
 *     1..1000 are PARAM_INVALID.
 *   - catching up over the socket after CU_LONG_AWAY messages of 4000
 *     three-byte characters with getDifference's default limit: one reply
 *     of them all (about 4.9 MB) would be more than the default
 *     ws_max_pending_bytes (4 MiB) and cost the connection (4408); every
 *     reply must arrive, and the pages add up to exactly those updates.
 *   - `reload`: the server is stopped, the oldest CU_PRUNED rows of alice's
 *     log are deleted from parley.db as the retention pruning would (the
 *     real thing needs updates_retention_days, at least a day), and it is
 *     started again: a state older than what is kept gets {"reload": true,
 *     "state": {"pts": P}} and no updates; the state just before the oldest
 *     kept row still gets the updates from there.
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

#define CU_AWAY 500          /* messages sent while the device is away */
#define CU_PAGE 100          /* getDifference limit */
#define CU_LIVE_EXTRA 200    /* messages sent during the second catch-up */
#define CU_CALL_MS 10000
#define CU_WAIT_MS 20000     /* longest wait for pushes */
#define CU_QUIET_MS 300
#define CU_TEXT_MAX 48
#define CU_LONG_AWAY 400     /* long messages for the big catch-up */
#define CU_LONG_CHARS 4000   /* characters each, three bytes each: 12 KB */
#define CU_PRUNED 300        /* log rows "pruned" for the reload test */

static struct harness *cu_h;
static struct parley_client *cu_alice, *cu_alice2, *cu_bob;
static int64_t cu_alice_id, cu_bob_id;

/* --- helpers ------------------------------------------------------------ */

#define OK(c, method, params) harness_call_ok((c), (method), (params), __LINE__)
#define WS_OK(w, method, params) cu_ws_ok((w), (method), (params), __LINE__)

/* A call over the socket that must succeed; returns its result (new ref). */
static json_t *cu_ws_ok(struct wsc *w, const char *method, json_t *params, int line)
{
	json_t *reply = NULL, *res;
	int rc = wsc_call(w, method, params, CU_CALL_MS, &reply);

	if (rc < 0) {
		print_error("line %d: %s over the socket: %s (%s)\n", line, method, wsc_strerror(rc), wsc_error(w));
		fail();
	}
	if (!json_is_true(json_object_get(reply, "ok"))) {
		char *s = json_dumps(reply, JSON_COMPACT);
		print_error("line %d: %s answered %s\n", line, method, s);
		free(s);
		fail();
	}
	res = json_incref(json_object_get(reply, "result"));
	json_decref(reply);
	return res;
}

static int64_t cu_int(json_t *obj, const char *key)
{
	json_t *v = json_object_get(obj, key);

	return json_is_integer(v) ? (int64_t)json_integer_value(v) : -1;
}

static const char *cu_str(json_t *obj, const char *key)
{
	json_t *v = json_object_get(obj, key);

	return json_is_string(v) ? json_string_value(v) : "";
}

static struct wsc *cu_open(struct parley_client *c)
{
	struct wsc *w = NULL;
	char err[256];

	if (wsc_open(harness_url(cu_h), parley_client_token(c), CU_CALL_MS, &w, NULL, NULL, err, sizeof err) < 0) {
		print_error("WebSocket: %s\n", err);
		fail();
	}
	return w;
}

static int64_t cu_send(struct parley_client *c, int64_t chat, const char *text)
{
	struct parley_error err;
	int64_t id = 0;

	if (parley_send_message(c, chat, text, 0, &id, &err) < 0) {
		print_error("sendMessage: %s: %s\n", err.code, err.description);
		fail();
	}
	return id;
}

static int64_t cu_server_pts(struct parley_client *c)
{
	json_t *st = OK(c, "getState", json_object());
	int64_t pts = cu_int(st, "pts");

	json_decref(st);
	return pts;
}

/* The next pushed update on w within CU_WAIT_MS, skipping ephemeral events
 * (user_status of the peer and such); fails the test if none comes. */
static json_t *cu_next_update(struct wsc *w)
{
	json_t *m;
	int rc;

	for (;;) {
		if ((rc = wsc_next(w, CU_WAIT_MS, &m)) < 0) {
			print_error("no update pushed: %s (%s)\n", wsc_strerror(rc), wsc_error(w));
			fail();
		}
		if (json_object_get(m, "pts"))
			return m;
		json_decref(m);
	}
}

/* Asserts that no update arrives on w within CU_QUIET_MS. */
static void cu_quiet(struct wsc *w)
{
	json_t *m;

	while (wsc_next(w, CU_QUIET_MS, &m) == WSC_OK) {
		if (json_object_get(m, "pts")) {
			char *s = json_dumps(m, JSON_COMPACT);
			print_error("unexpected update: %s\n", s);
			free(s);
			fail();
		}
		json_decref(m);
	}
}

static int cu_setup(void **state)
{
	static const char *const env[] = {"PARLEY_RATE_MESSAGES_BURST=1000000", NULL};

	if (!(cu_h = harness_start(env)))
		return -1;
	cu_alice = harness_user(cu_h, "cu_alice");
	cu_alice2 = harness_login(cu_h, "cu_alice");
	cu_bob = harness_user(cu_h, "cu_bob");
	cu_alice_id = harness_user_id(cu_h, "cu_alice");
	cu_bob_id = harness_user_id(cu_h, "cu_bob");
	return 0;
}

static int cu_teardown(void **state)
{
	harness_free(cu_h);
	cu_h = NULL;
	return 0;
}

/* --- tests ------------------------------------------------------------- */

static void test_catchup_500(void **state)
{
	struct wsc *w1 = cu_open(cu_alice), *w2 = cu_open(cu_alice2);
	int64_t ids[CU_AWAY], stored, id, pts;
	json_t *m, *live[CU_AWAY];
	char text[CU_TEXT_MAX];
	int n = 0, pages = 0;

	/* Both devices online: one message reaches both. */
	stored = cu_server_pts(cu_alice);
	id = cu_send(cu_bob, cu_alice_id, "before the trip");
	for (int k = 0; k < 2; k++) {
		m = cu_next_update(k ? w2 : w1);
		assert_int_equal(cu_int(m, "pts"), stored + 1);
		assert_int_equal(cu_int(json_object_get(json_object_get(m, "update"), "message"), "message_id"), id);
		json_decref(m);
	}
	stored++;

	/* Device 1 goes away; 500 messages arrive; device 2 sees them live. */
	wsc_free(w1);
	for (int i = 0; i < CU_AWAY; i++) {
		snprintf(text, sizeof text, "while away %d", i);
		ids[i] = cu_send(cu_bob, cu_alice_id, text);
		if (i)
			assert_true(ids[i] > ids[i - 1]);
	}
	for (int i = 0; i < CU_AWAY; i++) {
		live[i] = cu_next_update(w2);
		assert_int_equal(cu_int(live[i], "pts"), stored + 1 + i);
	}

	/* Device 1 comes back and catches up in pages of 100. */
	w1 = cu_open(cu_alice);
	pts = stored;
	for (;;) {
		json_t *res = WS_OK(w1, "getDifference", json_pack("{s:I, s:i}", "pts", (json_int_t)pts, "limit", CU_PAGE));
		json_t *ups = json_object_get(res, "updates"), *row;
		int more = json_is_true(json_object_get(res, "more"));
		size_t i;

		assert_false(json_is_true(json_object_get(res, "reload")));
		assert_true(json_is_array(ups));
		assert_int_equal(json_array_size(ups), CU_PAGE);
		json_array_foreach(ups, i, row) {
			json_t *u = json_object_get(row, "update"), *msg = json_object_get(u, "message");
			assert_true(n < CU_AWAY);
			assert_int_equal(cu_int(row, "pts"), stored + 1 + n);
			assert_null(json_object_get(row, "chat_id"));
			assert_string_equal(cu_str(u, "type"), "new_message");
			assert_int_equal(cu_int(msg, "message_id"), ids[n]);
			snprintf(text, sizeof text, "while away %d", n);
			assert_string_equal(cu_str(msg, "text"), text);
			assert_int_equal(cu_int(json_object_get(msg, "from"), "id"), cu_bob_id);
			assert_int_equal(cu_int(json_object_get(msg, "chat"), "id"), cu_bob_id);
			/* The same encoding as the live push to the other device. */
			assert_true(json_equal(u, json_object_get(live[n], "update")));
			n++;
		}
		pts = cu_int(json_object_get(res, "state"), "pts");
		assert_int_equal(pts, stored + n);
		pages++;
		json_decref(res);
		assert_int_equal(more, n < CU_AWAY);
		if (!more)
			break;
	}
	assert_int_equal(n, CU_AWAY);
	assert_int_equal(pages, CU_AWAY / CU_PAGE);
	for (int i = 0; i < CU_AWAY; i++)
		json_decref(live[i]);
	/* Nothing was pushed while it caught up: nothing happened. */
	cu_quiet(w1);

	/* Live again, on both devices, at the next pts. */
	id = cu_send(cu_bob, cu_alice_id, "welcome back");
	for (int k = 0; k < 2; k++) {
		m = cu_next_update(k ? w2 : w1);
		assert_int_equal(cu_int(m, "pts"), pts + 1);
		assert_int_equal(cu_int(json_object_get(json_object_get(m, "update"), "message"), "message_id"), id);
		json_decref(m);
	}
	/* Alice's own reply from device 2 is pushed to device 1 and to device 2 itself. */
	id = cu_send(cu_alice2, cu_bob_id, "thanks");
	for (int k = 0; k < 2; k++) {
		m = cu_next_update(k ? w2 : w1);
		assert_int_equal(cu_int(m, "pts"), pts + 2);
		assert_int_equal(cu_int(json_object_get(json_object_get(m, "update"), "message"), "message_id"), id);
		json_decref(m);
	}
	assert_int_equal(cu_server_pts(cu_alice), pts + 2);
	cu_quiet(w1);
	cu_quiet(w2);
	wsc_free(w1);
	wsc_free(w2);
}

/* Sends CU_LIVE_EXTRA messages from bob while alice catches up. */
struct cu_sender {
	struct parley_client *c;
	int64_t ids[CU_LIVE_EXTRA];
	int n;
	char failed[700];
};

static void *cu_sender_main(void *arg)
{
	struct cu_sender *s = arg;
	struct parley_error err;
	char text[CU_TEXT_MAX];

	for (int i = 0; i < CU_LIVE_EXTRA; i++) {
		snprintf(text, sizeof text, "during catch-up %d", i);
		if (parley_send_message(s->c, cu_alice_id, text, 0, &s->ids[i], &err) < 0) {
			snprintf(s->failed, sizeof s->failed, "send %d: %s: %s", i, err.code, err.description);
			break;
		}
		s->n++;
	}
	return NULL;
}

/* Applies one update to the client state: 1 applied, 0 dropped (already
 * applied), -1 a gap. */
static int cu_apply(json_t *row, int64_t *stored, int64_t *applied_ids, int *napplied, int cap)
{
	int64_t pts = cu_int(row, "pts");

	if (pts <= *stored)
		return 0;
	if (pts > *stored + 1)
		return -1;
	assert_true(*napplied < cap);
	assert_string_equal(cu_str(json_object_get(row, "update"), "type"), "new_message");
	applied_ids[(*napplied)++] =
		cu_int(json_object_get(json_object_get(row, "update"), "message"), "message_id");
	*stored = pts;
	return 1;
}

static void test_catchup_while_sending(void **state)
{
	struct parley_client *sc = harness_login(cu_h, "cu_bob");
	struct wsc *w = cu_open(cu_alice);
	struct cu_sender snd = {.c = sc};
	int64_t away_ids[CU_AWAY], stored, *applied;
	int napplied = 0, dropped = 0, gaps = 0, cap = CU_AWAY + CU_LIVE_EXTRA + 16;
	pthread_t t;
	char text[CU_TEXT_MAX];
	json_t *m;

	stored = cu_server_pts(cu_alice);
	wsc_free(w);
	for (int i = 0; i < CU_AWAY; i++) {
		snprintf(text, sizeof text, "second trip %d", i);
		away_ids[i] = cu_send(cu_bob, cu_alice_id, text);
	}
	assert_non_null(applied = calloc((size_t)cap, sizeof *applied));

	/* Bob keeps writing while alice reconnects and catches up. */
	assert_int_equal(pthread_create(&t, NULL, cu_sender_main, &snd), 0);
	w = cu_open(cu_alice);
	for (int caught_up = 0; !caught_up;) {
		json_t *res = WS_OK(w, "getDifference", json_pack("{s:I, s:i}", "pts", (json_int_t)stored, "limit", CU_PAGE));
		json_t *row;
		size_t i;
		json_array_foreach(json_object_get(res, "updates"), i, row)
			assert_int_equal(cu_apply(row, &stored, applied, &napplied, cap), 1);
		assert_int_equal(cu_int(json_object_get(res, "state"), "pts"), stored);
		caught_up = !json_is_true(json_object_get(res, "more"));
		json_decref(res);
	}
	/* Then the pushes (some queued while catching up). */
	while (napplied < CU_AWAY + CU_LIVE_EXTRA) {
		int rc = wsc_next(w, CU_WAIT_MS, &m);
		if (rc < 0) {
			print_error("after %d updates: %s (%s)\n", napplied, wsc_strerror(rc), wsc_error(w));
			fail();
		}
		if (!json_object_get(m, "pts")) {
			json_decref(m);
			continue;
		}
		rc = cu_apply(m, &stored, applied, &napplied, cap);
		if (rc == 0)
			dropped++;
		if (rc < 0) { /* a gap: fetch what is missing, then look at this one again */
			json_t *res = WS_OK(w, "getDifference", json_pack("{s:I, s:i}", "pts", (json_int_t)stored, "limit", CU_PAGE));
			json_t *row;
			size_t i;
			gaps++;
			json_array_foreach(json_object_get(res, "updates"), i, row)
				assert_int_equal(cu_apply(row, &stored, applied, &napplied, cap), 1);
			json_decref(res);
			wsc_unget(w, m);
			continue;
		}
		json_decref(m);
	}
	pthread_join(t, NULL);
	if (snd.failed[0])
		print_error("%s\n", snd.failed);
	assert_int_equal(snd.n, CU_LIVE_EXTRA);
	fprintf(stderr, "test_sync_catchup: caught up %d updates while %d more were sent; %d pushes were already "
		"applied, %d gaps filled\n", CU_AWAY, CU_LIVE_EXTRA, dropped, gaps);

	/* Every message exactly once, in send order; nothing more. */
	assert_int_equal(napplied, CU_AWAY + CU_LIVE_EXTRA);
	for (int i = 0; i < CU_AWAY; i++)
		assert_int_equal(applied[i], away_ids[i]);
	for (int i = 0; i < CU_LIVE_EXTRA; i++)
		assert_int_equal(applied[CU_AWAY + i], snd.ids[i]);
	assert_int_equal(cu_server_pts(cu_alice), stored);
	while (wsc_next(w, CU_QUIET_MS, &m) == WSC_OK) {
		if (json_object_get(m, "pts"))
			assert_true(cu_int(m, "pts") <= stored); /* at most a late copy of an applied one */
		json_decref(m);
	}
	free(applied);
	wsc_free(w);
}

static void test_pts_ahead_and_paging(void **state)
{
	struct parley_error err;
	int64_t server = cu_server_pts(cu_alice), id;
	json_t *res, *params;
	struct wsc *w;
	int rc;

	assert_true(server > CU_AWAY);
	/* A client ahead of the server: no updates, the server's state. */
	res = OK(cu_alice, "getDifference", json_pack("{s:I}", "pts", (json_int_t)(server + 1000)));
	assert_false(json_is_true(json_object_get(res, "reload")));
	assert_int_equal(json_array_size(json_object_get(res, "updates")), 0);
	assert_int_equal(cu_int(json_object_get(res, "state"), "pts"), server);
	assert_false(json_is_true(json_object_get(res, "more")));
	json_decref(res);
	/* ...and it continues from the server's pts. */
	w = cu_open(cu_alice);
	id = cu_send(cu_bob, cu_alice_id, "after the clock went wrong");
	res = cu_next_update(w);
	assert_int_equal(cu_int(res, "pts"), server + 1);
	assert_int_equal(cu_int(json_object_get(json_object_get(res, "update"), "message"), "message_id"), id);
	json_decref(res);
	wsc_free(w);

	/* From the very start, one at a time. */
	res = OK(cu_alice, "getDifference", json_pack("{s:i, s:i}", "pts", 0, "limit", 1));
	assert_int_equal(json_array_size(json_object_get(res, "updates")), 1);
	assert_int_equal(cu_int(json_array_get(json_object_get(res, "updates"), 0), "pts"), 1);
	assert_int_equal(cu_int(json_object_get(res, "state"), "pts"), 1);
	assert_true(json_is_true(json_object_get(res, "more")));
	json_decref(res);
	/* The default page is the maximum, 1000. */
	res = OK(cu_alice, "getDifference", json_pack("{s:i}", "pts", 0));
	assert_int_equal(json_array_size(json_object_get(res, "updates")), server + 1 < 1000 ? server + 1 : 1000);
	assert_int_equal(cu_int(json_object_get(res, "state"), "pts"), server + 1 < 1000 ? server + 1 : 1000);
	assert_int_equal(json_is_true(json_object_get(res, "more")), server + 1 > 1000);
	json_decref(res);

	/* Limits outside 1..1000. */
	for (int k = 0; k < 3; k++) {
		params = json_pack("{s:i, s:i}", "pts", 0, "limit", k == 0 ? 0 : k == 1 ? 1001 : -5);
		rc = parley_call(cu_alice, "getDifference", params, &res, &err);
		json_decref(params);
		assert_int_equal(rc, PARLEY_EAPI);
		assert_int_equal(err.http_status, 400);
		assert_string_equal(err.code, "PARAM_INVALID");
	}
	params = json_pack("{s:i}", "pts", -1);
	rc = parley_call(cu_alice, "getDifference", params, &res, &err);
	json_decref(params);
	assert_int_equal(rc, PARLEY_EAPI);
	assert_int_equal(err.http_status, 400);
}

static void test_catchup_long_messages(void **state)
{
	struct wsc *w = cu_open(cu_alice);
	int64_t stored = cu_server_pts(cu_alice), pts;
	char *text = malloc(CU_LONG_CHARS * 3 + 1);
	int n = 0, pages = 0;

	assert_non_null(text);
	for (int i = 0; i < CU_LONG_CHARS; i++)
		memcpy(text + 3 * i, "\xe2\x82\xac", 3);
	text[CU_LONG_CHARS * 3] = '\0';
	wsc_free(w);
	for (int i = 0; i < CU_LONG_AWAY; i++)
		cu_send(cu_bob, cu_alice_id, text);
	free(text);

	/* Over the socket, as docs/sync.md's client does it: default limit,
	 * until `more` is false.  Every reply must arrive. */
	w = cu_open(cu_alice);
	pts = stored;
	for (int more = 1; more;) {
		json_t *reply = NULL, *res, *row;
		size_t i;
		int rc = wsc_call(w, "getDifference", json_pack("{s:I}", "pts", (json_int_t)pts), CU_WAIT_MS, &reply);

		if (rc < 0) {
			print_error("getDifference(%lld) over the socket, the client reading at once: %s, close code %d\n",
				    (long long)pts, wsc_strerror(rc), wsc_close_code(w));
			wsc_free(w);
			fail();
		}
		assert_true(json_is_true(json_object_get(reply, "ok")));
		res = json_object_get(reply, "result");
		assert_true(json_array_size(json_object_get(res, "updates")) > 0);
		json_array_foreach(json_object_get(res, "updates"), i, row) {
			assert_int_equal(cu_int(row, "pts"), pts + 1);
			pts++;
			n++;
		}
		assert_int_equal(cu_int(json_object_get(res, "state"), "pts"), pts);
		more = json_is_true(json_object_get(res, "more"));
		pages++;
		json_decref(reply);
	}
	fprintf(stderr, "test_sync_catchup: %d updates of 12 KB caught up over the socket in %d replies\n", n, pages);
	assert_int_equal(n, CU_LONG_AWAY);
	assert_int_equal(pts, cu_server_pts(cu_alice));
	wsc_free(w);
}

static void test_reload_after_pruning(void **state)
{
	char path[4200], *errmsg = NULL, sql[160];
	int64_t server = cu_server_pts(cu_alice);
	sqlite3 *db = NULL;
	json_t *res, *ups;

	assert_true(server > CU_PRUNED + 10);
	assert_int_equal(harness_stop(cu_h), 0);
	snprintf(path, sizeof path, "%s/parley.db", harness_data_dir(cu_h));
	assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
	snprintf(sql, sizeof sql, "DELETE FROM user_updates WHERE user_id = %lld AND pts <= %d", (long long)cu_alice_id,
		 CU_PRUNED);
	if (sqlite3_exec(db, sql, NULL, NULL, &errmsg) != SQLITE_OK) {
		print_error("%s: %s\n", sql, errmsg);
		sqlite3_free(errmsg);
		sqlite3_close(db);
		fail();
	}
	assert_int_equal(sqlite3_changes(db), CU_PRUNED);
	sqlite3_close(db);
	assert_int_equal(harness_restart(cu_h), 0);

	/* Older than what is kept: reload, with the current state. */
	for (int k = 0; k < 3; k++) {
		int64_t from = k == 0 ? 0 : k == 1 ? 10 : CU_PRUNED - 1;
		res = OK(cu_alice, "getDifference", json_pack("{s:I}", "pts", (json_int_t)from));
		assert_true(json_is_true(json_object_get(res, "reload")));
		assert_int_equal(cu_int(json_object_get(res, "state"), "pts"), server);
		assert_null(json_object_get(res, "updates"));
		json_decref(res);
	}
	/* From the oldest kept row on: the updates. */
	res = OK(cu_alice, "getDifference", json_pack("{s:i, s:i}", "pts", CU_PRUNED, "limit", 5));
	assert_false(json_is_true(json_object_get(res, "reload")));
	ups = json_object_get(res, "updates");
	assert_int_equal(json_array_size(ups), 5);
	assert_int_equal(cu_int(json_array_get(ups, 0), "pts"), CU_PRUNED + 1);
	assert_true(json_is_true(json_object_get(res, "more")));
	json_decref(res);
	/* Over the socket too. */
	{
		struct wsc *w = cu_open(cu_alice);
		res = WS_OK(w, "getDifference", json_pack("{s:i}", "pts", 1));
		assert_true(json_is_true(json_object_get(res, "reload")));
		assert_int_equal(cu_int(json_object_get(res, "state"), "pts"), server);
		json_decref(res);
		wsc_free(w);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_catchup_500),
		cmocka_unit_test(test_catchup_while_sending),
		cmocka_unit_test(test_pts_ahead_and_paging),
		cmocka_unit_test(test_catchup_long_messages),
		cmocka_unit_test(test_reload_after_pruning),
	};

	return cmocka_run_group_tests(tests, cu_setup, cu_teardown);
}
