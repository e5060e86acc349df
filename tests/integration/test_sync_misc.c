/*
 * test_sync_misc.c — the rest of docs/sync.md as users see it, against the
 * real parleyd (harness.h, with PARLEY_LARGE_GROUP_THRESHOLD=10) over
 * wsclient.h.
 *
 * Covered:
 *   - getUpdates long polling: a poll with timeout 5 returns within about a
 *     second once a message is sent, with update_id = pts; an empty poll
 *     with timeout 1 returns [] after about a second; offset confirms
 *     (update_id >= offset), limit pages;
 *   - sendChatAction: the other member's socket gets {"event":"typing",...}
 *     (chat_id as that member sees the chat), the sender's own sockets do
 *     not; in a small group every other member gets it; rapid repeats are
 *     429 FLOOD_WAIT; an unknown action is PARAM_INVALID; typing never
 *     appears in getDifference;
 *   - read receipts: B reads, A's socket gets read_outbox with max_id, B's
 *     gets read_inbox;
 *   - edits and deletes are pushed to both sides, a delete "for me" only to
 *     the one who deleted;
 *   - both members' stored updates of a private chat (sends, a reply, a
 *     forward, an edit, a pin, a delete, text that looks like JSON) are the
 *     same but for the chat, which is the other member; the caller's equals
 *     what sendMessage answered; a message to oneself is stored once;
 *   - a group that grows past the threshold: every member gets chat_large,
 *     new messages come as chat-sequence pushes to every member (also one
 *     who joins later), getChatDifference returns them, getState lists the
 *     chat, the user sequence no longer carries them, a member who was away
 *     catches up with getChatDifference, a member who left gets nothing more;
 *   - revokeSession closes that session's socket with 4401 (and only that
 *     one), as does logOut; logOut called over its own socket is answered
 *     before the socket closes with 4401, and a write sent right behind it
 *     on that socket is refused (UNAUTHORIZED, nothing stored);
 *   - presence: user_status online / offline (with last_seen) pushed to a
 *     contact, only for the first and last device; getUser shows status and
 *     last_seen; setPrivacy nobody hides both, contacts hides them from
 *     strangers.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <sqlite3.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "harness.h"
#include "parley.h"
#include "wsclient.h"

#define MX_THRESHOLD 10          /* PARLEY_LARGE_GROUP_THRESHOLD */
#define MX_CALL_MS 10000
#define MX_QUIET_MS 400          /* how long "nothing more arrives" is watched */
#define MX_LARGE_FIRST 5         /* members of the group before it grows */
#define MX_LARGE_MEMBERS 13      /* users in the large-group test */

static struct harness *mx_h;

/* --- helpers ------------------------------------------------------------ */

#define OK(c, method, params) harness_call_ok((c), (method), (params), __LINE__)
#define FAILS(c, method, params, status, code) harness_call_fails((c), (method), (params), (status), (code), __LINE__)


static int64_t mx_int(json_t *obj, const char *key)
{
	json_t *v = json_object_get(obj, key);

	return json_is_integer(v) ? (int64_t)json_integer_value(v) : -1;
}

static const char *mx_str(json_t *obj, const char *key)
{
	json_t *v = json_object_get(obj, key);

	return json_is_string(v) ? json_string_value(v) : "";
}

static double mx_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void mx_sleep_ms(int ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};

	nanosleep(&ts, NULL);
}

static struct wsc *mx_open(struct parley_client *c, int64_t *session_id)
{
	struct wsc *w = NULL;
	char err[256];

	if (wsc_open(harness_url(mx_h), parley_client_token(c), MX_CALL_MS, &w, NULL, session_id, err, sizeof err) < 0) {
		print_error("WebSocket: %s\n", err);
		fail();
	}
	return w;
}

static int64_t mx_send(struct parley_client *c, int64_t chat, const char *text)
{
	struct parley_error err;
	int64_t id = 0;

	if (parley_send_message(c, chat, text, 0, &id, &err) < 0) {
		print_error("sendMessage(%lld): %s: %s\n", (long long)chat, err.code, err.description);
		fail();
	}
	return id;
}

static int64_t mx_pts(struct parley_client *c)
{
	json_t *st = OK(c, "getState", json_object());
	int64_t pts = mx_int(st, "pts");

	json_decref(st);
	return pts;
}

/* Everything that arrives on w until it has been quiet for quiet_ms (at
 * most MX_CALL_MS in all): a new array. */
static json_t *mx_drain(struct wsc *w, int quiet_ms)
{
	json_t *all = json_array(), *m;
	double end = mx_now() + MX_CALL_MS / 1000.0;

	while (mx_now() < end && wsc_next(w, quiet_ms, &m) == WSC_OK)
		json_array_append_new(all, m);
	return all;
}

/* The first message on w, within MX_CALL_MS, for which match() says yes;
 * the others are dropped.  Fails the test if none comes. */
typedef int (*mx_match_cb)(json_t *m, const void *arg);
static json_t *mx_wait_for(struct wsc *w, mx_match_cb match, const void *arg, const char *what)
{
	double end = mx_now() + MX_CALL_MS / 1000.0;
	json_t *m;

	while (mx_now() < end) {
		int left = (int)((end - mx_now()) * 1000) + 1;
		int rc = wsc_next(w, left, &m);
		if (rc == WSC_TIMEOUT)
			break;
		if (rc < 0) {
			print_error("waiting for %s: %s (%s), close %d\n", what, wsc_strerror(rc), wsc_error(w),
				    wsc_close_code(w));
			fail();
		}
		if (match(m, arg))
			return m;
		json_decref(m);
	}
	print_error("no %s within %d ms\n", what, MX_CALL_MS);
	fail();
	return NULL;
}

/* An update of type (a string) in the user or chat sequence. */
static int mx_is_update(json_t *m, const void *type)
{
	return json_object_get(m, "pts") && strcmp(mx_str(json_object_get(m, "update"), "type"), type) == 0;
}

/* An event (a string) such as "typing". */
static int mx_is_event(json_t *m, const void *event)
{
	return strcmp(mx_str(m, "event"), event) == 0;
}

/* The updates of type in arr (a new array). */
static json_t *mx_filter(json_t *arr, const char *type)
{
	json_t *out = json_array(), *m;
	size_t i;

	json_array_foreach(arr, i, m)
		if (mx_is_update(m, type))
			json_array_append(out, m);
	return out;
}

/* The events named event in arr (a new array). */
static json_t *mx_events(json_t *arr, const char *event)
{
	json_t *out = json_array(), *m;
	size_t i;

	json_array_foreach(arr, i, m)
		if (mx_is_event(m, event))
			json_array_append(out, m);
	return out;
}

/* All user-sequence updates after pts, every page (a new array of rows). */
static json_t *mx_difference(struct parley_client *c, int64_t pts)
{
	json_t *all = json_array();

	for (;;) {
		json_t *res = OK(c, "getDifference", json_pack("{s:I}", "pts", (json_int_t)pts));
		int more = json_is_true(json_object_get(res, "more"));
		json_array_extend(all, json_object_get(res, "updates"));
		pts = mx_int(json_object_get(res, "state"), "pts");
		json_decref(res);
		if (!more)
			return all;
	}
}

static int mx_setup(void **state)
{
	static const char *const env[] = {"PARLEY_LARGE_GROUP_THRESHOLD=10", NULL};

	mx_h = harness_start(env);
	return mx_h ? 0 : -1;
}

static int mx_teardown(void **state)
{
	harness_free(mx_h);
	mx_h = NULL;
	return 0;
}

/* --- getUpdates ------------------------------------------------------------- */

struct mx_poll {
	pthread_t thread;
	struct parley_client *c;
	int64_t offset;
	int timeout;
	json_t *result;
	double returned_at;
	struct parley_error err;
	int rc;
};

static void *mx_poll_main(void *arg)
{
	struct mx_poll *p = arg;
	json_t *params = json_pack("{s:I, s:i}", "offset", (json_int_t)p->offset, "timeout", p->timeout);

	p->rc = parley_call(p->c, "getUpdates", params, &p->result, &p->err);
	p->returned_at = mx_now();
	json_decref(params);
	return NULL;
}

static void test_get_updates(void **state)
{
	struct parley_client *bot = harness_user(mx_h, "mx_poller");
	struct parley_client *friend = harness_user(mx_h, "mx_pfriend");
	int64_t bot_id = harness_user_id(mx_h, "mx_poller"), pts, id;
	struct mx_poll p = {.c = bot};
	double t0, sent_at;
	json_t *res, *u;

	mx_send(friend, bot_id, "hello bot");
	pts = mx_pts(bot);
	assert_int_equal(pts, 1);

	/* Everything from the start; limit pages. */
	res = OK(bot, "getUpdates", json_pack("{s:i}", "offset", 0));
	assert_int_equal(json_array_size(res), 1);
	u = json_array_get(res, 0);
	assert_int_equal(mx_int(u, "update_id"), 1);
	assert_int_equal(mx_int(u, "pts"), 1);
	assert_string_equal(mx_str(json_object_get(u, "update"), "type"), "new_message");
	json_decref(res);

	/* An empty poll waits its timeout and returns []. */
	t0 = mx_now();
	res = OK(bot, "getUpdates", json_pack("{s:I, s:i}", "offset", (json_int_t)(pts + 1), "timeout", 1));
	assert_int_equal(json_array_size(res), 0);
	json_decref(res);
	fprintf(stderr, "test_sync_misc: an empty getUpdates with timeout 1 returned after %.2f s\n", mx_now() - t0);
	assert_true(mx_now() - t0 >= 0.9 && mx_now() - t0 < 3.0);

	/* A poll with timeout 5 returns as soon as a message is sent. */
	p.offset = pts + 1;
	p.timeout = 5;
	t0 = mx_now();
	assert_int_equal(pthread_create(&p.thread, NULL, mx_poll_main, &p), 0);
	mx_sleep_ms(500);
	sent_at = mx_now();
	id = mx_send(friend, bot_id, "wake up");
	pthread_join(p.thread, NULL);
	if (p.rc < 0)
		print_error("getUpdates: %s: %s\n", p.err.code, p.err.description);
	assert_int_equal(p.rc, 0);
	fprintf(stderr, "test_sync_misc: a getUpdates with timeout 5 returned %.2f s after the message was sent\n",
		p.returned_at - sent_at);
	assert_true(p.returned_at - sent_at < 1.0);
	assert_true(p.returned_at - t0 < 4.0);
	assert_int_equal(json_array_size(p.result), 1);
	u = json_array_get(p.result, 0);
	assert_int_equal(mx_int(u, "update_id"), pts + 1);
	assert_int_equal(mx_int(json_object_get(json_object_get(u, "update"), "message"), "message_id"), id);
	json_decref(p.result);

	/* offset confirms: nothing at or after the next id yet... */
	res = OK(bot, "getUpdates", json_pack("{s:I}", "offset", (json_int_t)(pts + 2)));
	assert_int_equal(json_array_size(res), 0);
	json_decref(res);
	/* ...and the earlier ones are not repeated past the offset. */
	mx_send(friend, bot_id, "three");
	mx_send(friend, bot_id, "four");
	res = OK(bot, "getUpdates", json_pack("{s:I, s:i}", "offset", (json_int_t)(pts + 2), "limit", 1));
	assert_int_equal(json_array_size(res), 1);
	assert_int_equal(mx_int(json_array_get(res, 0), "update_id"), pts + 2);
	json_decref(res);
	res = OK(bot, "getUpdates", json_pack("{s:I}", "offset", (json_int_t)(pts + 3)));
	assert_int_equal(json_array_size(res), 1);
	assert_int_equal(mx_int(json_array_get(res, 0), "update_id"), pts + 3);
	assert_string_equal(mx_str(json_object_get(json_object_get(json_array_get(res, 0), "update"), "message"), "text"),
			    "four");
	json_decref(res);
	/* A timeout past 50 is refused. */
	FAILS(bot, "getUpdates", json_pack("{s:i, s:i}", "offset", 0, "timeout", 51), 400, "PARAM_INVALID");
}

/* --- typing ---------------------------------------------------------------- */

static void test_typing(void **state)
{
	struct parley_client *a = harness_user(mx_h, "mx_typer");
	struct parley_client *b = harness_user(mx_h, "mx_reader");
	struct parley_client *c = harness_user(mx_h, "mx_third");
	int64_t a_id = harness_user_id(mx_h, "mx_typer"), b_id = harness_user_id(mx_h, "mx_reader");
	int64_t c_id = harness_user_id(mx_h, "mx_third"), group, b_pts, members[2] = {b_id, c_id};
	struct parley_error err;
	struct wsc *wa, *wb, *wc;
	json_t *m, *got, *typing, *diff, *row;
	int ok = 0, limited = 0;
	size_t i;

	mx_send(b, a_id, "hi"); /* a private chat */
	assert_int_equal(parley_create_group(a, "Typists", members, 2, &group, &err), 0);
	wa = mx_open(a, NULL);
	wb = mx_open(b, NULL);
	wc = mx_open(c, NULL);
	json_decref(mx_drain(wa, MX_QUIET_MS));
	json_decref(mx_drain(wb, MX_QUIET_MS));
	json_decref(mx_drain(wc, MX_QUIET_MS));
	b_pts = mx_pts(b);

	/* Private chat: b sees it, with the chat as b sees it (a's id). */
	m = OK(a, "sendChatAction", json_pack("{s:I, s:s}", "chat_id", (json_int_t)b_id, "action", "typing"));
	assert_true(json_is_true(m));
	json_decref(m);
	m = mx_wait_for(wb, mx_is_event, "typing", "typing event");
	assert_int_equal(mx_int(m, "chat_id"), a_id);
	assert_int_equal(mx_int(m, "user_id"), a_id);
	assert_string_equal(mx_str(m, "action"), "typing");
	assert_null(json_object_get(m, "pts"));
	json_decref(m);

	/* Group: both other members see it, with the group's id; the typer does not. */
	m = OK(a, "sendChatAction", json_pack("{s:I, s:s}", "chat_id", (json_int_t)group, "action", "record_voice"));
	json_decref(m);
	for (int k = 0; k < 2; k++) {
		m = mx_wait_for(k ? wc : wb, mx_is_event, "typing", "group typing event");
		assert_int_equal(mx_int(m, "chat_id"), group);
		assert_int_equal(mx_int(m, "user_id"), a_id);
		assert_string_equal(mx_str(m, "action"), "record_voice");
		json_decref(m);
	}
	got = mx_drain(wa, MX_QUIET_MS);
	typing = mx_events(got, "typing");
	assert_int_equal(json_array_size(typing), 0);
	json_decref(typing);
	json_decref(got);

	/* Rapid repeats are rate-limited. */
	for (int k = 0; k < 6; k++) {
		json_t *params = json_pack("{s:I, s:s}", "chat_id", (json_int_t)b_id, "action", "typing");
		json_t *res = NULL;
		int rc = parley_call(a, "sendChatAction", params, &res, &err);
		json_decref(params);
		json_decref(res);
		if (rc == 0) {
			ok++;
		} else {
			assert_int_equal(err.http_status, 429);
			assert_int_equal(strncmp(err.code, "FLOOD_WAIT_", 11), 0);
			assert_true(err.retry_after >= 1);
			limited++;
		}
	}
	fprintf(stderr, "test_sync_misc: 6 rapid sendChatAction calls: %d accepted, %d refused with 429\n", ok, limited);
	assert_true(limited >= 1);
	/* b got one event per accepted call, no more. */
	got = mx_drain(wb, MX_QUIET_MS);
	typing = mx_events(got, "typing");
	assert_int_equal(json_array_size(typing), ok);
	json_decref(typing);
	json_decref(got);

	/* Bad actions, non-members. */
	FAILS(c, "sendChatAction", json_pack("{s:I, s:s}", "chat_id", (json_int_t)group, "action", "dancing"), 400,
	      "PARAM_INVALID");
	{
		json_t *params = json_pack("{s:I, s:s}", "chat_id", (json_int_t)a_id, "action", "typing");
		json_t *res = NULL;
		struct parley_client *stranger = harness_user(mx_h, "mx_stranger");
		/* A stranger "typing" at a: a private chat that does not exist yet. */
		int rc = parley_call(stranger, "sendChatAction", params, &res, &err);
		json_decref(params);
		json_decref(res);
		if (rc == 0) {
			/* Allowed (the chat is implicit), but then a sees it as from the stranger. */
			m = mx_wait_for(wa, mx_is_event, "typing", "stranger's typing");
			assert_int_equal(mx_int(m, "user_id"), harness_user_id(mx_h, "mx_stranger"));
			json_decref(m);
		}
	}

	/* Never stored: b's log has nothing new. */
	diff = mx_difference(b, b_pts);
	json_array_foreach(diff, i, row)
		assert_string_not_equal(mx_str(json_object_get(row, "update"), "type"), "typing");
	assert_int_equal(json_array_size(diff), 0);
	json_decref(diff);
	assert_int_equal(mx_pts(b), b_pts);
	wsc_free(wa);
	wsc_free(wb);
	wsc_free(wc);
}

/* --- read receipts, edits, deletes ---------------------------------------- */

static void test_reads_edits_deletes(void **state)
{
	struct parley_client *a = harness_user(mx_h, "mx_writer");
	struct parley_client *b = harness_user(mx_h, "mx_peer");
	int64_t a_id = harness_user_id(mx_h, "mx_writer"), b_id = harness_user_id(mx_h, "mx_peer"), m1, m2;
	struct wsc *wa, *wb;
	json_t *m, *u, *got, *dels;

	mx_send(a, b_id, "first contact");
	wa = mx_open(a, NULL);
	wb = mx_open(b, NULL);
	m1 = mx_send(a, b_id, "one");
	m2 = mx_send(a, b_id, "two");
	json_decref(mx_drain(wa, MX_QUIET_MS));
	json_decref(mx_drain(wb, MX_QUIET_MS));

	/* b reads up to m2: a gets read_outbox, b read_inbox. */
	json_decref(OK(b, "readHistory", json_pack("{s:I, s:I}", "chat_id", (json_int_t)a_id, "max_id", (json_int_t)m2)));
	m = mx_wait_for(wa, mx_is_update, "read_outbox", "read_outbox");
	u = json_object_get(m, "update");
	assert_int_equal(mx_int(u, "chat_id"), b_id);
	assert_int_equal(mx_int(u, "max_id"), m2);
	json_decref(m);
	m = mx_wait_for(wb, mx_is_update, "read_inbox", "read_inbox");
	u = json_object_get(m, "update");
	assert_int_equal(mx_int(u, "chat_id"), a_id);
	assert_int_equal(mx_int(u, "max_id"), m2);
	assert_int_equal(mx_int(u, "unread_count"), 0);
	json_decref(m);

	/* a edits m1: both sides get edit_message. */
	json_decref(OK(a, "editMessageText", json_pack("{s:I, s:I, s:s}", "chat_id", (json_int_t)b_id, "message_id",
						      (json_int_t)m1, "text", "one (edited)")));
	for (int k = 0; k < 2; k++) {
		m = mx_wait_for(k ? wb : wa, mx_is_update, "edit_message", "edit_message");
		u = json_object_get(json_object_get(m, "update"), "message");
		assert_int_equal(mx_int(u, "message_id"), m1);
		assert_string_equal(mx_str(u, "text"), "one (edited)");
		assert_true(mx_int(u, "edit_date") > 0);
		assert_int_equal(mx_int(json_object_get(u, "chat"), "id"), k ? a_id : b_id);
		json_decref(m);
	}

	/* a deletes m2 for everyone: both get delete_messages, for_me false. */
	json_decref(OK(a, "deleteMessage", json_pack("{s:I, s:I}", "chat_id", (json_int_t)b_id, "message_id", (json_int_t)m2)));
	for (int k = 0; k < 2; k++) {
		m = mx_wait_for(k ? wb : wa, mx_is_update, "delete_messages", "delete_messages");
		u = json_object_get(m, "update");
		assert_int_equal(mx_int(u, "chat_id"), k ? a_id : b_id);
		assert_int_equal(json_array_size(json_object_get(u, "message_ids")), 1);
		assert_int_equal(json_integer_value(json_array_get(json_object_get(u, "message_ids"), 0)), m2);
		assert_true(json_is_false(json_object_get(u, "for_me")));
		json_decref(m);
	}

	/* b deletes m1 only for himself: only b hears of it. */
	json_decref(OK(b, "deleteMessage", json_pack("{s:I, s:I, s:b}", "chat_id", (json_int_t)a_id, "message_id",
						    (json_int_t)m1, "revoke", 0)));
	m = mx_wait_for(wb, mx_is_update, "delete_messages", "delete_messages for me");
	u = json_object_get(m, "update");
	assert_true(json_is_true(json_object_get(u, "for_me")));
	assert_int_equal(json_integer_value(json_array_get(json_object_get(u, "message_ids"), 0)), m1);
	json_decref(m);
	got = mx_drain(wa, MX_QUIET_MS);
	dels = mx_filter(got, "delete_messages");
	assert_int_equal(json_array_size(dels), 0);
	json_decref(dels);
	json_decref(got);
	wsc_free(wa);
	wsc_free(wb);
}

/* --- both members' views of a private chat ----------------------------------- */

/* The update about message id in rows (a getDifference list), borrowed. */
static json_t *mx_find_msg(json_t *rows, const char *type, int64_t id)
{
	json_t *row;
	size_t i;

	json_array_foreach(rows, i, row) {
		json_t *u = json_object_get(row, "update");
		if (!strcmp(mx_str(u, "type"), type) && mx_int(json_object_get(u, "message"), "message_id") == id)
			return json_object_get(u, "message");
	}
	return NULL;
}

/* The new message with text in rows, borrowed. */
static json_t *mx_find_text(json_t *rows, const char *text)
{
	json_t *row;
	size_t i;

	json_array_foreach(rows, i, row) {
		json_t *m = json_object_get(json_object_get(row, "update"), "message");
		if (!strcmp(mx_str(m, "text"), text))
			return m;
	}
	return NULL;
}

/* The first update of type in rows, borrowed. */
static json_t *mx_find_type(json_t *rows, const char *type)
{
	json_t *row;
	size_t i;

	json_array_foreach(rows, i, row)
		if (!strcmp(mx_str(json_object_get(row, "update"), "type"), type))
			return json_object_get(row, "update");
	return NULL;
}

/* Message id as each member of the private chat of x and y stored it: the
 * same but for the chat, which is the other member. */
static void mx_check_views(json_t *rows_x, int64_t x, const char *x_name, json_t *rows_y, int64_t y,
			   const char *y_name, const char *type, int64_t id)
{
	json_t *mx = json_deep_copy(mx_find_msg(rows_x, type, id)), *my = json_deep_copy(mx_find_msg(rows_y, type, id));

	if (!mx || !my) {
		char *d = json_dumps(rows_x, JSON_COMPACT);
		print_error("no %s of message %lld: %s\n", type, (long long)id, d);
		free(d);
	}
	assert_non_null(mx);
	assert_non_null(my);
	assert_int_equal(mx_int(json_object_get(mx, "chat"), "id"), y);
	assert_string_equal(mx_str(json_object_get(mx, "chat"), "first_name"), y_name);
	assert_string_equal(mx_str(json_object_get(mx, "chat"), "type"), "private");
	assert_int_equal(mx_int(json_object_get(my, "chat"), "id"), x);
	assert_string_equal(mx_str(json_object_get(my, "chat"), "first_name"), x_name);
	json_object_del(mx, "chat");
	json_object_del(my, "chat");
	assert_true(json_equal(mx, my));
	json_decref(mx);
	json_decref(my);
}

/* The updates of x's log that share their payload with one of y's, as the
 * store has them: how many, and how many of those x reads in the second
 * view (a private chat stores one payload for both members). */
static void mx_shared_payloads(int64_t x, int64_t y, int64_t *shared, int64_t *second)
{
	char path[512];
	sqlite3 *db = NULL;
	sqlite3_stmt *q = NULL;

	snprintf(path, sizeof path, "%s/parley.db", harness_data_dir(mx_h));
	assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	sqlite3_busy_timeout(db, 5000);
	assert_int_equal(sqlite3_prepare_v2(db, "SELECT count(*), ifnull(sum(a.view), 0) FROM user_updates a"
					    " JOIN user_updates b ON b.payload_id = a.payload_id"
					    " WHERE a.user_id = ?1 AND b.user_id = ?2", -1, &q, NULL), SQLITE_OK);
	sqlite3_bind_int64(q, 1, x);
	sqlite3_bind_int64(q, 2, y);
	assert_int_equal(sqlite3_step(q), SQLITE_ROW);
	*shared = sqlite3_column_int64(q, 0);
	*second = sqlite3_column_int64(q, 1);
	sqlite3_finalize(q);
	sqlite3_close(db);
}

/* The redaction of message id in rows (the update that replaced its copy). */
static int mx_redacted(json_t *rows, int64_t id)
{
	json_t *row;
	size_t i;

	json_array_foreach(rows, i, row) {
		json_t *u = json_object_get(row, "update");
		if (!strcmp(mx_str(u, "type"), "redacted") && mx_int(u, "message_id") == id)
			return 1;
	}
	return 0;
}

static void test_private_views(void **state)
{
	/* Text that looks like the JSON around it, to trip a careless splice. */
	static const char tricky[] = "\"chat\":{\"id\":1} \\\" \"chat_id\":2 {[\\";
	struct parley_client *lo = harness_user(mx_h, "pv_lower");
	struct parley_client *hi = harness_user(mx_h, "pv_higher");
	int64_t lo_id = harness_user_id(mx_h, "pv_lower"), hi_id = harness_user_id(mx_h, "pv_higher");
	int64_t lo_pts = mx_pts(lo), hi_pts = mx_pts(hi), m1, m2, m3, m4, self;
	json_t *sent, *req, *rows_lo, *rows_hi, *mine, *u;

	assert_true(lo_id < hi_id);
	/* The higher id writes first (its view is rendered first), then the lower. */
	sent = OK(hi, "sendMessage", json_pack("{s:I, s:s}", "chat_id", (json_int_t)lo_id, "text", tricky));
	m1 = mx_int(sent, "message_id");
	m2 = mx_send(lo, hi_id, "a plain answer");
	req = json_pack("{s:I, s:s, s:I}", "chat_id", (json_int_t)hi_id, "text", "a reply", "reply_to_message_id",
			(json_int_t)m1);
	json_decref(OK(lo, "sendMessage", req));
	json_decref(OK(lo, "forwardMessage", json_pack("{s:I, s:I, s:I}", "chat_id", (json_int_t)hi_id, "from_chat_id",
						       (json_int_t)hi_id, "message_id", (json_int_t)m2)));
	m3 = m2 + 2;
	json_decref(OK(hi, "editMessageText", json_pack("{s:I, s:I, s:s}", "chat_id", (json_int_t)lo_id, "message_id",
							(json_int_t)m1, "text", "edited \"chat\":{}")));
	json_decref(OK(lo, "pinChatMessage", json_pack("{s:I, s:I}", "chat_id", (json_int_t)hi_id, "message_id",
						       (json_int_t)m2)));
	self = mx_send(lo, lo_id, "a note to self");
	m4 = mx_send(hi, lo_id, "soon gone");
	json_decref(OK(lo, "deleteMessage", json_pack("{s:I, s:I}", "chat_id", (json_int_t)hi_id, "message_id",
						      (json_int_t)m4)));

	rows_lo = mx_difference(lo, lo_pts);
	rows_hi = mx_difference(hi, hi_pts);
	/* The caller's update carries what sendMessage answered. */
	mine = mx_find_msg(rows_hi, "new_message", m1);
	assert_non_null(mine);
	assert_true(json_equal(mine, sent));
	json_decref(sent);
	assert_string_equal(mx_str(mine, "text"), tricky);
	for (int64_t id = m1; id <= m3 + 1; id++) /* the three sends, the forward and the pin */
		mx_check_views(rows_lo, lo_id, "pv_lower", rows_hi, hi_id, "pv_higher", "new_message", id);
	mx_check_views(rows_lo, lo_id, "pv_lower", rows_hi, hi_id, "pv_higher", "edit_message", m1);
	assert_string_equal(mx_str(mx_find_msg(rows_lo, "edit_message", m1), "text"), "edited \"chat\":{}");
	assert_int_equal(mx_int(mx_find_msg(rows_lo, "new_message", m2 + 1), "reply_to_message_id"), m1);
	assert_int_equal(mx_int(json_object_get(mx_find_msg(rows_hi, "new_message", m3), "forward_origin"), "date") > 0,
			 1);
	/* The pin's chat update: each sees the other, with the pinned message. */
	u = json_object_get(mx_find_type(rows_lo, "chat"), "chat");
	assert_int_equal(mx_int(u, "id"), hi_id);
	assert_string_equal(mx_str(u, "first_name"), "pv_higher");
	assert_int_equal(mx_int(u, "pinned_message_id"), m2);
	u = json_object_get(mx_find_type(rows_hi, "chat"), "chat");
	assert_int_equal(mx_int(u, "id"), lo_id);
	assert_string_equal(mx_str(u, "first_name"), "pv_lower");
	assert_int_equal(mx_int(u, "pinned_message_id"), m2);
	/* The delete names the chat as each sees it. */
	assert_int_equal(mx_int(mx_find_type(rows_lo, "delete_messages"), "chat_id"), hi_id);
	assert_int_equal(mx_int(mx_find_type(rows_hi, "delete_messages"), "chat_id"), lo_id);
	/* Saved messages: one update, the chat is oneself. */
	u = mx_find_text(rows_lo, "a note to self");
	assert_non_null(u);
	assert_int_equal(mx_int(u, "message_id"), self);
	assert_int_equal(mx_int(json_object_get(u, "chat"), "id"), lo_id);
	assert_null(mx_find_text(rows_hi, "a note to self"));
	/* Deleted for everyone: both members' copies are redacted. */
	assert_null(mx_find_text(rows_lo, "soon gone"));
	assert_null(mx_find_text(rows_hi, "soon gone"));
	assert_true(mx_redacted(rows_lo, m4));
	assert_true(mx_redacted(rows_hi, m4));
	json_decref(rows_lo);
	json_decref(rows_hi);
	/* Stored once per update: the three sends, the forward, the edit, the
	 * pin's message and chat update, the doomed message and the delete share
	 * their payload between both logs, and each is read in the second view
	 * by exactly one member. */
	{
		int64_t shared_lo, second_lo, shared_hi, second_hi;

		mx_shared_payloads(lo_id, hi_id, &shared_lo, &second_lo);
		mx_shared_payloads(hi_id, lo_id, &shared_hi, &second_hi);
		assert_true(shared_lo >= 9);
		assert_int_equal(shared_lo, shared_hi);
		assert_int_equal(second_lo + second_hi, shared_lo);
		assert_true(second_lo > 0 && second_hi > 0);
	}
}

/* --- a burst in one private chat --------------------------------------------- */

#define MX_BURST_THREADS 8
#define MX_BURST_SENDS 25

struct mx_burst {
	struct parley_client *c;
	int64_t to;
	int ok;
	pthread_t th;
};

static void *mx_burst_main(void *arg)
{
	struct mx_burst *b = arg;
	struct parley_error err;
	int64_t id;

	for (int i = 0, tries = 0; i < MX_BURST_SENDS && tries < 1000; tries++) {
		if (parley_send_message(b->c, b->to, "burst", 0, &id, &err) == 0) {
			b->ok++;
			i++;
		} else if (!strncmp(err.code, "FLOOD_WAIT", 10)) { /* the per-user burst allowance */
			nanosleep(&(struct timespec){0, 2000000}, NULL);
		} else {
			print_error("burst sendMessage: %s: %s\n", err.code, err.description);
			break;
		}
	}
	return NULL;
}

/* The ids of c's history with chat (all of it), summed; *n gets how many. */
static int64_t mx_history_sum(struct parley_client *c, int64_t chat, int64_t *n, int64_t *max)
{
	struct parley_error err;
	json_t *h = NULL, *m;
	int64_t sum = 0, offset = 0, from;
	size_t k;

	*n = 0;
	*max = 0;
	for (;;) {
		from = offset;
		assert_int_equal(parley_get_history(c, chat, from, 0, 100, &h, &err), 0);
		if (json_array_size(h) == 0)
			break;
		offset = 0;
		json_array_foreach(h, k, m) {
			int64_t id = mx_int(m, "message_id");
			sum += id;
			(*n)++;
			*max = id > *max ? id : *max;
			offset = offset == 0 || id < offset ? id : offset;
		}
		json_decref(h);
		h = NULL;
		assert_true(from == 0 || offset < from); /* older pages only */
	}
	json_decref(h);
	return sum;
}

/* Many messages in flight in one private chat, from both sides: the writer
 * groups them and writes the chat's row once per group.  Every message gets
 * its own id, 1 to N; the dialog names the newest; the row is on disk (a
 * restart continues at N + 1); each member's log has every message. */
static void test_private_burst(void **state)
{
	struct parley_client *lo = harness_user(mx_h, "pb_lower"), *hi = harness_user(mx_h, "pb_higher");
	int64_t lo_id = harness_user_id(mx_h, "pb_lower"), hi_id = harness_user_id(mx_h, "pb_higher");
	int64_t total = MX_BURST_THREADS * MX_BURST_SENDS, n, max, lo_pts = mx_pts(lo), next;
	struct mx_burst b[MX_BURST_THREADS];
	json_t *d, *rows;
	size_t i;
	int seen = 0;

	for (int k = 0; k < MX_BURST_THREADS; k++) {
		b[k] = (struct mx_burst){.c = harness_login(mx_h, k % 2 ? "pb_higher" : "pb_lower"),
					 .to = k % 2 ? lo_id : hi_id};
		assert_non_null(b[k].c);
	}
	for (int k = 0; k < MX_BURST_THREADS; k++)
		assert_int_equal(pthread_create(&b[k].th, NULL, mx_burst_main, &b[k]), 0);
	for (int k = 0; k < MX_BURST_THREADS; k++) {
		pthread_join(b[k].th, NULL);
		assert_int_equal(b[k].ok, MX_BURST_SENDS);
	}
	assert_int_equal(mx_history_sum(lo, hi_id, &n, &max), total * (total + 1) / 2);
	assert_int_equal(n, total);
	assert_int_equal(max, total);
	assert_int_equal(parley_get_dialogs(hi, 100, &d, &(struct parley_error){0}), 0);
	assert_true(json_array_size(d) >= 1);
	assert_int_equal(mx_int(json_object_get(json_array_get(d, 0), "chat"), "id"), lo_id);
	assert_int_equal(mx_int(json_object_get(json_array_get(d, 0), "last_message"), "message_id"), total);
	json_decref(d);
	rows = mx_difference(lo, lo_pts);
	json_array_foreach(rows, i, d)
		seen += !strcmp(mx_str(json_object_get(d, "update"), "type"), "new_message");
	assert_int_equal(seen, total);
	json_decref(rows);
	assert_int_equal(harness_restart(mx_h), 0);
	next = mx_send(lo, hi_id, "after the restart");
	assert_int_equal(next, total + 1);
}

/* --- a group that grows large ----------------------------------------------- */

struct mx_member {
	struct parley_client *c;
	int64_t id;
	struct wsc *w;
};

/* The chat-sequence new_message pushes of chat in arr (a new array). */
static json_t *mx_chat_messages(json_t *arr, int64_t chat)
{
	json_t *out = json_array(), *m;
	size_t i;

	json_array_foreach(arr, i, m)
		if (mx_int(m, "chat_id") == chat && mx_is_update(m, "new_message"))
			json_array_append(out, m);
	return out;
}

/* Lets the sockets of n members settle: waits MX_QUIET_MS once, then drops
 * whatever has arrived. */
static void mx_settle(struct mx_member *mem, int n)
{
	mx_sleep_ms(MX_QUIET_MS);
	for (int k = 0; k < n; k++)
		json_decref(mx_drain(mem[k].w, 20));
}

/* Everything w receives up to and including the chat-sequence push of
 * message msg_id of chat, plus what follows within a moment (a new array);
 * fails the test if that push does not come. */
static json_t *mx_collect_chat_msg(struct wsc *w, int64_t chat, int64_t msg_id)
{
	double end = mx_now() + MX_CALL_MS / 1000.0;
	json_t *all = json_array(), *m, *rest;

	for (;;) {
		int rc = wsc_next(w, (int)((end - mx_now()) * 1000) + 1, &m);
		if (rc < 0) {
			char *s = json_dumps(all, JSON_COMPACT);
			print_error("no chat push of message %lld: %s; received %s\n", (long long)msg_id, wsc_strerror(rc), s);
			free(s);
			fail();
		}
		json_array_append_new(all, m);
		if (mx_int(m, "chat_id") == chat && mx_is_update(m, "new_message") &&
		    mx_int(json_object_get(json_object_get(m, "update"), "message"), "message_id") == msg_id)
			break;
	}
	rest = mx_drain(w, 50);
	json_array_extend(all, rest);
	json_decref(rest);
	return all;
}

/* Member w received the push of msg_id exactly once, at pts if pts >= 0;
 * returns its pts. */
static int64_t mx_expect_chat_msg_once(struct wsc *w, int64_t chat, int64_t msg_id, int64_t pts)
{
	json_t *got = mx_collect_chat_msg(w, chat, msg_id), *sel = mx_chat_messages(got, chat), *m;
	int64_t at = -1;
	size_t i, n = 0;

	json_array_foreach(sel, i, m)
		if (mx_int(json_object_get(json_object_get(m, "update"), "message"), "message_id") == msg_id) {
			n++;
			at = mx_int(m, "pts");
		}
	assert_int_equal(n, 1);
	if (pts >= 0)
		assert_int_equal(at, pts);
	json_decref(sel);
	json_decref(got);
	return at;
}

static void test_group_grows_large(void **state)
{
	struct mx_member mem[MX_LARGE_MEMBERS];
	struct parley_error err;
	int64_t group, ids[MX_LARGE_MEMBERS], large_pts = -1, msg, p1, away_pts, user_pts_after;
	json_t *got, *sel, *res, *m;
	char name[32];
	size_t i;

	for (int k = 0; k < MX_LARGE_MEMBERS; k++) {
		snprintf(name, sizeof name, "mx_big%02d", k);
		mem[k].c = harness_user(mx_h, name);
		mem[k].id = ids[k] = harness_user_id(mx_h, name);
	}
	assert_int_equal(parley_create_group(mem[0].c, "Growing", ids + 1, MX_LARGE_FIRST - 1, &group, &err), 0);
	for (int k = 0; k < MX_LARGE_MEMBERS; k++)
		mem[k].w = mx_open(mem[k].c, NULL);

	/* Small: messages travel in the user sequences. */
	msg = mx_send(mem[1].c, group, "while small");
	for (int k = 0; k < MX_LARGE_FIRST; k++) {
		m = mx_wait_for(mem[k].w, mx_is_update, "new_message", "small-group message");
		assert_null(json_object_get(m, "chat_id"));
		assert_int_equal(mx_int(json_object_get(json_object_get(m, "update"), "message"), "message_id"), msg);
		json_decref(m);
	}

	/* Grow past the threshold in one call: 5 + 6 = 11 members. */
	json_decref(OK(mem[0].c, "addChatMembers", json_pack("{s:I, s:[IIIIII]}", "chat_id", (json_int_t)group, "user_ids",
							      (json_int_t)ids[5], (json_int_t)ids[6], (json_int_t)ids[7],
							      (json_int_t)ids[8], (json_int_t)ids[9], (json_int_t)ids[10])));
	/* Every member, old and new, gets chat_large in their own sequence. */
	for (int k = 0; k < MX_THRESHOLD + 1; k++) {
		json_t *u;
		m = mx_wait_for(mem[k].w, mx_is_update, "chat_large", "chat_large");
		assert_null(json_object_get(m, "chat_id"));
		u = json_object_get(m, "update");
		assert_int_equal(mx_int(u, "chat_id"), group);
		if (large_pts < 0)
			large_pts = mx_int(u, "pts");
		assert_int_equal(mx_int(u, "pts"), large_pts);
		json_decref(m);
	}
	assert_true(large_pts >= 0);
	/* getState lists the chat's sequence. */
	res = OK(mem[3].c, "getState", json_object());
	{
		int found = 0;
		json_array_foreach(json_object_get(res, "chats"), i, m)
			if (mx_int(m, "chat_id") == group) {
				found = 1;
				assert_true(mx_int(m, "pts") >= large_pts);
			}
		assert_true(found);
	}
	json_decref(res);
	mx_settle(mem, MX_LARGE_MEMBERS);

	/* One more joins after the switch. */
	json_decref(OK(mem[0].c, "addChatMembers", json_pack("{s:I, s:[I]}", "chat_id", (json_int_t)group, "user_ids",
							      (json_int_t)ids[11])));
	m = mx_wait_for(mem[11].w, mx_is_update, "chat_member", "chat_member for the late joiner");
	json_decref(m);
	mx_settle(mem, MX_LARGE_MEMBERS);
	user_pts_after = mx_pts(mem[2].c);

	/* Large: a message is one chat-sequence push, to every member. */
	msg = mx_send(mem[4].c, group, "while large");
	p1 = mx_expect_chat_msg_once(mem[0].w, group, msg, -1);
	assert_true(p1 > large_pts);
	for (int k = 1; k < MX_THRESHOLD + 2; k++)
		mx_expect_chat_msg_once(mem[k].w, group, msg, p1);
	/* The outsider (never added) got nothing. */
	got = mx_drain(mem[12].w, 20);
	sel = mx_chat_messages(got, group);
	assert_int_equal(json_array_size(sel), 0);
	json_decref(sel);
	json_decref(got);
	/* Not in the user sequence any more... */
	assert_int_equal(mx_pts(mem[2].c), user_pts_after);
	/* ...but in the chat's. */
	res = OK(mem[2].c, "getChatDifference", json_pack("{s:I, s:I}", "chat_id", (json_int_t)group, "pts",
							  (json_int_t)large_pts));
	{
		json_t *ups = json_object_get(res, "updates"), *last = json_array_get(ups, json_array_size(ups) - 1);
		assert_true(json_array_size(ups) >= 1);
		assert_int_equal(mx_int(last, "pts"), p1);
		assert_int_equal(mx_int(last, "chat_id"), group);
		assert_int_equal(mx_int(json_object_get(json_object_get(last, "update"), "message"), "message_id"), msg);
		assert_int_equal(mx_int(json_object_get(res, "state"), "pts"), p1);
		assert_false(json_is_true(json_object_get(res, "more")));
		json_array_foreach(ups, i, m)
			assert_int_equal(mx_int(m, "pts"), large_pts + 1 + (int64_t)i);
	}
	json_decref(res);

	/* A member away for three messages catches up with getChatDifference... */
	wsc_free(mem[7].w);
	away_pts = p1;
	for (int k = 0; k < 3; k++)
		mx_send(mem[k].c, group, "while 7 was away");
	mem[7].w = mx_open(mem[7].c, NULL);
	res = OK(mem[7].c, "getChatDifference", json_pack("{s:I, s:I}", "chat_id", (json_int_t)group, "pts",
							  (json_int_t)away_pts));
	assert_int_equal(json_array_size(json_object_get(res, "updates")), 3);
	json_array_foreach(json_object_get(res, "updates"), i, m)
		assert_int_equal(mx_int(m, "pts"), away_pts + 1 + (int64_t)i);
	json_decref(res);
	/* ...and, reconnected, follows the chat live again. */
	mx_settle(mem, MX_LARGE_MEMBERS);
	msg = mx_send(mem[0].c, group, "welcome back, 7");
	mx_expect_chat_msg_once(mem[7].w, group, msg, away_pts + 4);

	/* A member who leaves gets nothing more; a message sent over a socket reaches everyone else. */
	json_decref(OK(mem[9].c, "leaveChat", json_pack("{s:I}", "chat_id", (json_int_t)group)));
	mx_settle(mem, MX_LARGE_MEMBERS);
	{
		json_t *reply = NULL;
		assert_int_equal(wsc_call(mem[5].w, "sendMessage", json_pack("{s:I, s:s}", "chat_id", (json_int_t)group,
									     "text", "from a socket"), MX_CALL_MS, &reply), WSC_OK);
		assert_true(json_is_true(json_object_get(reply, "ok")));
		msg = mx_int(json_object_get(reply, "result"), "message_id");
		json_decref(reply);
	}
	for (int k = 0; k < MX_THRESHOLD + 2; k++)
		if (k != 9)
			mx_expect_chat_msg_once(mem[k].w, group, msg, -1);
	got = mx_drain(mem[9].w, 20);
	sel = mx_chat_messages(got, group);
	assert_int_equal(json_array_size(sel), 0);
	json_decref(sel);
	json_decref(got);
	FAILS(mem[9].c, "getChatDifference", json_pack("{s:I, s:i}", "chat_id", (json_int_t)group, "pts", 0), 403,
	      "CHAT_FORBIDDEN");
	for (int k = 0; k < MX_LARGE_MEMBERS; k++)
		wsc_free(mem[k].w);
	/* A private chat has no chat sequence. */
	mx_send(mem[2].c, ids[3], "just us");
	FAILS(mem[2].c, "getChatDifference", json_pack("{s:I, s:i}", "chat_id", (json_int_t)ids[3], "pts", 0), 400,
	      "CHAT_TYPE_INVALID");
}

/* --- sessions ---------------------------------------------------------------- */

static void test_revoke_and_logout_close_sockets(void **state)
{
	struct parley_client *d1 = harness_user(mx_h, "mx_devices");
	struct parley_client *d2 = harness_login(mx_h, "mx_devices");
	struct parley_client *d3 = harness_login(mx_h, "mx_devices");
	struct wsc *w1, *w2, *w3;
	int64_t s1, s2, s3;
	json_t *reply = NULL;
	int code;

	w1 = mx_open(d1, &s1);
	w2 = mx_open(d2, &s2);
	w3 = mx_open(d3, &s3);
	assert_true(s1 != s2 && s2 != s3 && s1 != s3);

	/* Device 2 revokes device 1: its socket closes with 4401, the others stay. */
	json_decref(OK(d2, "revokeSession", json_pack("{s:I}", "session_id", (json_int_t)s1)));
	code = wsc_wait_close(w1, MX_CALL_MS);
	assert_int_equal(code, 4401);
	wsc_free(w1);
	assert_int_equal(wsc_call(w2, "getMe", NULL, MX_CALL_MS, &reply), WSC_OK);
	assert_true(json_is_true(json_object_get(reply, "ok")));
	json_decref(reply);
	/* The revoked token no longer opens a socket. */
	{
		struct wsc *w = NULL;
		char err[256];
		assert_true(wsc_open(harness_url(mx_h), parley_client_token(d1), MX_CALL_MS, &w, NULL, NULL, err,
				     sizeof err) < 0);
	}

	/* Device 3 logs out over HTTP: its socket closes with 4401, device 2 stays. */
	assert_int_equal(parley_logout(d3, NULL), 0);
	code = wsc_wait_close(w3, MX_CALL_MS);
	assert_int_equal(code, 4401);
	wsc_free(w3);
	assert_int_equal(wsc_call(w2, "getMe", NULL, MX_CALL_MS, &reply), WSC_OK);
	assert_true(json_is_true(json_object_get(reply, "ok")));
	json_decref(reply);
	wsc_free(w2);
}

/* logOut called over the socket it ends: like every call, it is answered
 * (docs/sync.md: "Every API method is callable over the socket ... is
 * answered"), and then the socket closes with 4401. */
static void test_logout_over_own_socket(void **state)
{
	struct parley_client *d = harness_user(mx_h, "mx_leaver");
	struct wsc *w = mx_open(d, NULL);
	json_t *reply = NULL;
	int rc, code, ok;

	rc = wsc_call(w, "logOut", NULL, MX_CALL_MS, &reply);
	code = wsc_close_code(w);
	if (rc < 0)
		print_error("logOut over its own socket got no reply: %s, close code %d\n", wsc_strerror(rc), code);
	ok = json_is_true(json_object_get(reply, "ok"));
	json_decref(reply);
	code = wsc_wait_close(w, MX_CALL_MS);
	wsc_free(w);
	assert_int_equal(rc, WSC_OK);
	assert_true(ok);
	assert_int_equal(code, 4401);
}

/* A call sent over a socket right behind the logOut that ends its session,
 * without waiting for the answer, is refused: the session is checked in
 * the writer's order (a WebSocket write goes from the loop straight to the
 * writer, which authenticates it inside its group), so it sees the logOut
 * however the two are grouped.  If it is answered before the socket closes,
 * the answer is 401 UNAUTHORIZED; either way nothing is stored. */
static void test_call_after_logout(void **state)
{
	struct parley_client *d = harness_user(mx_h, "mx_quitter");
	struct parley_client *peer = harness_user(mx_h, "mx_quit_peer");
	int64_t d_id = harness_user_id(mx_h, "mx_quitter"), peer_id = harness_user_id(mx_h, "mx_quit_peer");
	struct wsc *w;
	json_t *reply = NULL, *hist, *m;
	int64_t id_out, id_send;
	size_t i;
	int rc;

	mx_send(peer, d_id, "before");
	w = mx_open(d, NULL);
	id_out = wsc_call_send(w, "logOut", NULL);
	id_send = wsc_call_send(w, "sendMessage", json_pack("{s:I, s:s}", "chat_id", (json_int_t)peer_id, "text",
							     "after logout"));
	assert_true(id_out > 0 && id_send > 0);
	assert_int_equal(wsc_call_wait(w, id_out, MX_CALL_MS, &reply), WSC_OK);
	assert_true(json_is_true(json_object_get(reply, "ok")));
	json_decref(reply);
	reply = NULL;
	rc = wsc_call_wait(w, id_send, MX_CALL_MS, &reply);
	if (rc == WSC_OK) {
		assert_false(json_is_true(json_object_get(reply, "ok")));
		assert_int_equal(mx_int(reply, "error_code"), 401);
		assert_true(strncmp(mx_str(reply, "description"), "UNAUTHORIZED", 12) == 0);
	}
	json_decref(reply);
	assert_int_equal(wsc_wait_close(w, MX_CALL_MS), 4401);
	wsc_free(w);
	hist = OK(peer, "getHistory", json_pack("{s:I}", "chat_id", (json_int_t)d_id));
	json_array_foreach(hist, i, m)
		assert_string_not_equal(mx_str(m, "text"), "after logout");
	assert_int_equal(json_array_size(hist), 1);
	json_decref(hist);
}

/* --- presence ---------------------------------------------------------------- */

/* A user_status event about uid. */
static int mx_is_status_of(json_t *m, const void *uid)
{
	return mx_is_event(m, "user_status") && mx_int(m, "user_id") == *(const int64_t *)uid;
}

/* The user_status events about uid in arr. */
static size_t mx_count_status(json_t *arr, int64_t uid)
{
	json_t *m;
	size_t i, n = 0;

	json_array_foreach(arr, i, m)
		n += mx_is_status_of(m, &uid);
	return n;
}

/* getUser(uid) as c: status, and last_seen (-1 if absent). */
static const char *mx_status(struct parley_client *c, int64_t uid, int64_t *last_seen)
{
	static char buf[32];
	json_t *u = OK(c, "getUser", json_pack("{s:I}", "user_id", (json_int_t)uid));

	snprintf(buf, sizeof buf, "%s", mx_str(u, "status"));
	if (last_seen)
		*last_seen = mx_int(u, "last_seen");
	json_decref(u);
	return buf;
}

static void test_presence(void **state)
{
	struct parley_client *e = harness_user(mx_h, "mx_online");
	struct parley_client *e2 = harness_login(mx_h, "mx_online");
	struct parley_client *f = harness_user(mx_h, "mx_contact");
	struct parley_client *g = harness_user(mx_h, "mx_notcontact");
	int64_t e_id = harness_user_id(mx_h, "mx_online"), f_id = harness_user_id(mx_h, "mx_contact");
	int64_t last_seen = 0, t_before = (int64_t)time(NULL);
	struct wsc *wf, *we, *we2;
	json_t *m, *got;
	double deadline;

	mx_send(e, f_id, "we are contacts now");
	wf = mx_open(f, NULL);
	json_decref(mx_drain(wf, MX_QUIET_MS / 2));
	assert_string_equal(mx_status(f, e_id, &last_seen), "offline");

	/* e comes online: f is told; getUser says online. */
	we = mx_open(e, NULL);
	m = mx_wait_for(wf, mx_is_status_of, &e_id, "user_status online");
	assert_string_equal(mx_str(m, "status"), "online");
	json_decref(m);
	assert_string_equal(mx_status(f, e_id, NULL), "online");
	assert_string_equal(mx_status(g, e_id, NULL), "online"); /* privacy "everybody" by default */
	/* A second device changes nothing; closing one of two changes nothing. */
	we2 = mx_open(e2, NULL);
	wsc_free(we);
	got = mx_drain(wf, MX_QUIET_MS);
	assert_int_equal(mx_count_status(got, e_id), 0);
	json_decref(got);
	assert_string_equal(mx_status(f, e_id, NULL), "online");

	/* The last device goes: offline, with last_seen. */
	wsc_free(we2);
	m = mx_wait_for(wf, mx_is_status_of, &e_id, "user_status offline");
	assert_string_equal(mx_str(m, "status"), "offline");
	assert_true(mx_int(m, "last_seen") >= t_before && mx_int(m, "last_seen") <= (int64_t)time(NULL) + 1);
	json_decref(m);
	deadline = mx_now() + 5;
	do { /* last_seen is written after the fact */
		assert_string_equal(mx_status(f, e_id, &last_seen), "offline");
		if (last_seen < t_before)
			mx_sleep_ms(50);
	} while (last_seen < t_before && mx_now() < deadline);
	assert_true(last_seen >= t_before);

	/* Nobody: no events, status hidden. */
	json_decref(OK(e, "setPrivacy", json_pack("{s:s}", "last_seen", "nobody")));
	assert_string_equal(mx_status(f, e_id, &last_seen), "hidden");
	assert_int_equal(last_seen, -1);
	we = mx_open(e, NULL);
	assert_string_equal(mx_status(f, e_id, NULL), "hidden");
	wsc_free(we);
	got = mx_drain(wf, MX_QUIET_MS);
	assert_int_equal(mx_count_status(got, e_id), 0);
	json_decref(got);

	/* Contacts: f sees, a stranger does not. */
	json_decref(OK(e, "setPrivacy", json_pack("{s:s}", "last_seen", "contacts")));
	assert_string_equal(mx_status(f, e_id, NULL), "offline");
	assert_string_equal(mx_status(g, e_id, &last_seen), "hidden");
	assert_int_equal(last_seen, -1);
	we = mx_open(e, NULL);
	m = mx_wait_for(wf, mx_is_status_of, &e_id, "user_status online (contacts)");
	assert_string_equal(mx_str(m, "status"), "online");
	json_decref(m);
	assert_string_equal(mx_status(f, e_id, NULL), "online");
	assert_string_equal(mx_status(g, e_id, NULL), "hidden");
	FAILS(e, "setPrivacy", json_pack("{s:s}", "last_seen", "friends"), 400, "PARAM_INVALID");
	wsc_free(we);
	wsc_free(wf);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_get_updates),
		cmocka_unit_test(test_typing),
		cmocka_unit_test(test_reads_edits_deletes),
		cmocka_unit_test(test_private_views),
		cmocka_unit_test(test_private_burst),
		cmocka_unit_test(test_group_grows_large),
		cmocka_unit_test(test_revoke_and_logout_close_sockets),
		cmocka_unit_test(test_logout_over_own_socket),
		cmocka_unit_test(test_call_after_logout),
		cmocka_unit_test(test_presence),
	};

	return cmocka_run_group_tests(tests, mx_setup, mx_teardown);
}
