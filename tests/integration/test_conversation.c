/*
 * test_conversation.c — a private conversation as two users and a bystander
 * see it, through libparley against the real parleyd (tests/integration/
 * harness.h starts it).
 *
 * Covered: a message from A reaches B's history and dialogs with one unread;
 * B's reply carries reply_to_message; readHistory clears the unread count;
 * paging getHistory with offset_id "older" and "newer" over 120+ messages
 * returns each message exactly once and in order; a third user addressing A
 * or B (or guessing chat ids) sees nothing of the A-B conversation; Saved
 * Messages and bad chat ids; getDialogs order and paging.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"
#include "parley.h"

#define CONV_BULK 120        /* messages sent for the paging test */
#define CONV_SEEN_MAX 512    /* message ids the paging test tracks */
#define CONV_DIALOGS 13      /* chats of the dialog paging test */

static struct harness *conv_h;

/* Calls method with params (stolen) and fails the test, naming line, unless
 * the server answers ok.  Returns the result; the caller releases it. */
#define OK(c, method, params) harness_call_ok((c), (method), (params), __LINE__)
/* Calls method with params (stolen) and fails the test unless the server
 * answers with exactly this HTTP status and error code. */
#define FAILS(c, method, params, status, code) harness_call_fails((c), (method), (params), (status), (code), __LINE__)


static int64_t conv_int(json_t *obj, const char *key)
{
	json_t *v = json_object_get(obj, key);

	assert_true(json_is_integer(v));
	return (int64_t)json_integer_value(v);
}

static const char *conv_text(json_t *msg)
{
	json_t *t = json_object_get(msg, "text");

	return json_is_string(t) ? json_string_value(t) : "";
}

/* The page of chat_id's history that c sees (a new reference). */
static json_t *conv_history(struct parley_client *c, int64_t chat_id, int64_t offset, int newer, int limit)
{
	struct parley_error err;
	json_t *msgs = NULL;
	int rc = parley_get_history(c, chat_id, offset, newer, limit, &msgs, &err);

	if (rc < 0) {
		print_error("getHistory(%lld): %s: %s\n", (long long)chat_id, err.code, err.description);
		fail();
	}
	assert_true(json_is_array(msgs));
	return msgs;
}

/* The dialog of c whose chat id is chat_id, as a new reference, or NULL. */
static json_t *conv_dialog(struct parley_client *c, int64_t chat_id)
{
	struct parley_error err;
	json_t *dialogs = NULL, *d, *found = NULL;
	size_t i;

	if (parley_get_dialogs(c, 100, &dialogs, &err) < 0) {
		print_error("getDialogs: %s: %s\n", err.code, err.description);
		fail();
	}
	json_array_foreach(dialogs, i, d) {
		if (conv_int(json_object_get(d, "chat"), "id") == chat_id) {
			found = json_incref(d);
			break;
		}
	}
	json_decref(dialogs);
	return found;
}

static int64_t conv_send(struct parley_client *c, int64_t chat_id, const char *text, int64_t reply_to)
{
	struct parley_error err;
	int64_t id = 0;

	if (parley_send_message(c, chat_id, text, reply_to, &id, &err) < 0) {
		print_error("sendMessage(%lld, \"%s\"): %s: %s\n", (long long)chat_id, text, err.code,
			    err.description);
		fail();
	}
	assert_true(id > 0);
	return id;
}

static int conv_setup(void **state)
{
	conv_h = harness_start(NULL);
	return conv_h ? 0 : -1;
}

static int conv_teardown(void **state)
{
	harness_free(conv_h);
	conv_h = NULL;
	return 0;
}

/* A writes to B; B sees it, with one unread; B answers with a reply; reading
 * clears the unread count on B's side only. */
static void test_message_reply_and_read(void **state)
{
	struct parley_client *a = harness_user(conv_h, "conv_alice");
	struct parley_client *b = harness_user(conv_h, "conv_bob");
	int64_t aid = harness_user_id(conv_h, "conv_alice"), bid = harness_user_id(conv_h, "conv_bob");
	json_t *msgs, *m, *d, *res, *reply;
	int64_t first, answer;

	first = conv_send(a, bid, "Hello Bob, lunch at noon?", 0);

	/* B names the conversation by A's id. */
	msgs = conv_history(b, aid, 0, 0, 0);
	assert_int_equal(json_array_size(msgs), 1);
	m = json_array_get(msgs, 0);
	assert_int_equal(conv_int(m, "message_id"), first);
	assert_string_equal(conv_text(m), "Hello Bob, lunch at noon?");
	assert_int_equal(conv_int(json_object_get(m, "from"), "id"), aid);
	assert_int_equal(conv_int(json_object_get(m, "chat"), "id"), aid);
	assert_string_equal(json_string_value(json_object_get(json_object_get(m, "chat"), "type")), "private");
	json_decref(msgs);

	/* A sees the same message under B's id. */
	msgs = conv_history(a, bid, 0, 0, 0);
	assert_int_equal(json_array_size(msgs), 1);
	assert_int_equal(conv_int(json_array_get(msgs, 0), "message_id"), first);
	assert_int_equal(conv_int(json_object_get(json_array_get(msgs, 0), "chat"), "id"), bid);
	json_decref(msgs);

	d = conv_dialog(b, aid);
	assert_non_null(d);
	assert_int_equal(conv_int(d, "unread_count"), 1);
	assert_string_equal(conv_text(json_object_get(d, "last_message")), "Hello Bob, lunch at noon?");
	json_decref(d);
	d = conv_dialog(a, bid);
	assert_non_null(d);
	assert_int_equal(conv_int(d, "unread_count"), 0); /* one's own messages are not unread */
	json_decref(d);

	/* B answers with a reply; A sees what it answers. */
	answer = conv_send(b, aid, "Sure, see you there", first);
	assert_true(answer > first);
	msgs = conv_history(a, bid, 0, 0, 0);
	assert_int_equal(json_array_size(msgs), 2);
	m = json_array_get(msgs, 0); /* newest first */
	assert_int_equal(conv_int(m, "message_id"), answer);
	assert_int_equal(conv_int(json_object_get(m, "from"), "id"), bid);
	reply = json_object_get(m, "reply_to_message");
	assert_non_null(reply);
	assert_int_equal(conv_int(reply, "message_id"), first);
	assert_string_equal(conv_text(reply), "Hello Bob, lunch at noon?");
	assert_null(json_object_get(json_array_get(msgs, 1), "reply_to_message"));
	json_decref(msgs);

	/* A reply to a message that does not exist is refused. */
	FAILS(b, "sendMessage", json_pack("{s:I, s:s, s:I}", "chat_id", (json_int_t)aid, "text", "x",
					   "reply_to_message_id", (json_int_t)(answer + 1000)),
	      400, "MESSAGE_NOT_FOUND");

	/* A has B's answer unread; B still has A's first message unread. */
	d = conv_dialog(a, bid);
	assert_int_equal(conv_int(d, "unread_count"), 1);
	json_decref(d);
	d = conv_dialog(b, aid);
	assert_int_equal(conv_int(d, "unread_count"), 1);
	json_decref(d);

	res = OK(b, "readHistory", json_pack("{s:I}", "chat_id", (json_int_t)aid));
	assert_int_equal(conv_int(res, "unread_count"), 0);
	assert_true(conv_int(res, "read_inbox_max_id") >= first);
	json_decref(res);
	d = conv_dialog(b, aid);
	assert_int_equal(conv_int(d, "unread_count"), 0);
	json_decref(d);
	/* Reading on B's side does not read for A. */
	d = conv_dialog(a, bid);
	assert_int_equal(conv_int(d, "unread_count"), 1);
	assert_true(conv_int(d, "read_outbox_max_id") >= first); /* A can see B read it */
	json_decref(d);
	assert_int_equal(parley_read_history(a, bid, 0, NULL), 0);
	d = conv_dialog(a, bid);
	assert_int_equal(conv_int(d, "unread_count"), 0);
	json_decref(d);

	/* Two new messages: two unread; reading up to the first leaves one. */
	first = conv_send(a, bid, "one more", 0);
	conv_send(a, bid, "and another", 0);
	d = conv_dialog(b, aid);
	assert_int_equal(conv_int(d, "unread_count"), 2);
	json_decref(d);
	res = OK(b, "readHistory", json_pack("{s:I, s:I}", "chat_id", (json_int_t)aid, "max_id", (json_int_t)first));
	assert_int_equal(conv_int(res, "unread_count"), 1);
	assert_int_equal(conv_int(res, "read_inbox_max_id"), first);
	json_decref(res);
	/* The read position never moves back. */
	res = OK(b, "readHistory", json_pack("{s:I, s:I}", "chat_id", (json_int_t)aid, "max_id", (json_int_t)1));
	assert_int_equal(conv_int(res, "read_inbox_max_id"), first);
	assert_int_equal(conv_int(res, "unread_count"), 1);
	json_decref(res);
}

/* Records the ids of one page into seen[], checking their order against
 * *prev (strictly decreasing for "older", increasing for "newer"). */
static void conv_take_page(json_t *page, int newer, int64_t *prev, int *seen, int64_t max_id)
{
	size_t i;
	json_t *m;

	json_array_foreach(page, i, m) {
		int64_t id = conv_int(m, "message_id");
		assert_true(id > 0 && id <= max_id && id < CONV_SEEN_MAX);
		if (*prev)
			assert_true(newer ? id > *prev : id < *prev);
		*prev = id;
		seen[id]++;
	}
}

/* 120 messages, paged in both directions with page sizes that do not divide
 * the count, by both sides: each message exactly once, in order. */
static void test_history_paging(void **state)
{
	struct parley_client *a = harness_user(conv_h, "conv_pager_a");
	struct parley_client *b = harness_user(conv_h, "conv_pager_b");
	int64_t aid = harness_user_id(conv_h, "conv_pager_a"), bid = harness_user_id(conv_h, "conv_pager_b");
	static const int limits[] = {7, 50, 100, 1};
	int64_t ids[CONV_BULK + 1];
	char text[64];

	for (int i = 0; i < CONV_BULK; i++) {
		snprintf(text, sizeof text, "bulk message %03d", i);
		ids[i] = conv_send(i % 3 ? a : b, i % 3 ? bid : aid, text, 0);
		if (i)
			assert_true(ids[i] > ids[i - 1]);
	}
	for (size_t l = 0; l < sizeof limits / sizeof limits[0]; l++) {
		for (int newer = 0; newer <= 1; newer++) {
			struct parley_client *c = (l + newer) % 2 ? a : b;
			int64_t peer = c == a ? bid : aid;
			int seen[CONV_SEEN_MAX] = {0};
			int64_t offset = 0, prev = 0;
			int pages = 0;

			for (;;) {
				json_t *page = conv_history(c, peer, offset, newer, limits[l]);
				size_t n = json_array_size(page);

				assert_true(n <= (size_t)limits[l]);
				if (n == 0) {
					json_decref(page);
					break;
				}
				conv_take_page(page, newer, &prev, seen, ids[CONV_BULK - 1]);
				offset = conv_int(json_array_get(page, n - 1), "message_id");
				json_decref(page);
				assert_true(++pages <= CONV_BULK + 1);
			}
			for (int i = 0; i < CONV_BULK; i++)
				assert_int_equal(seen[ids[i]], 1);
			for (int id = 0; id < CONV_SEEN_MAX; id++)
				assert_true(seen[id] <= 1);
			assert_int_equal(pages, (CONV_BULK + limits[l] - 1) / limits[l]);
		}
	}

	/* Texts come back with the right ids, from the middle of the chat. */
	{
		json_t *page = conv_history(b, aid, ids[60], 1, 3);
		assert_int_equal(json_array_size(page), 3);
		for (int i = 0; i < 3; i++) {
			snprintf(text, sizeof text, "bulk message %03d", 61 + i);
			assert_int_equal(conv_int(json_array_get(page, (size_t)i), "message_id"), ids[61 + i]);
			assert_string_equal(conv_text(json_array_get(page, (size_t)i)), text);
		}
		json_decref(page);
		page = conv_history(a, bid, ids[60], 0, 3);
		assert_int_equal(json_array_size(page), 3);
		for (int i = 0; i < 3; i++)
			assert_int_equal(conv_int(json_array_get(page, (size_t)i), "message_id"), ids[59 - i]);
		json_decref(page);
	}
	/* An unknown direction is refused, not read as a default. */
	FAILS(a, "getHistory", json_pack("{s:I, s:s}", "chat_id", (json_int_t)bid, "direction", "upper"), 400,
	      "PARAM_INVALID");
}

/* Does any message in msgs carry one of the A-B texts? */
static int conv_leaks(json_t *msgs)
{
	size_t i;
	json_t *m;

	json_array_foreach(msgs, i, m) {
		if (strstr(conv_text(m), "secret"))
			return 1;
	}
	return 0;
}

/* C can only address C's own private chats: asking for A's id gives C's
 * (empty) chat with A, never A's chat with B. */
static void test_bystander_sees_nothing(void **state)
{
	struct parley_client *a = harness_user(conv_h, "conv_priv_a");
	struct parley_client *b = harness_user(conv_h, "conv_priv_b");
	struct parley_client *c = harness_user(conv_h, "conv_priv_c");
	int64_t aid = harness_user_id(conv_h, "conv_priv_a"), bid = harness_user_id(conv_h, "conv_priv_b");
	int64_t cid = harness_user_id(conv_h, "conv_priv_c");
	json_t *msgs, *dialogs;
	struct parley_error err;

	conv_send(a, bid, "the secret plan", 0);
	conv_send(b, aid, "keep the secret", 0);

	msgs = conv_history(c, aid, 0, 0, 0);
	assert_int_equal(json_array_size(msgs), 0);
	json_decref(msgs);
	msgs = conv_history(c, bid, 0, 1, 0);
	assert_int_equal(json_array_size(msgs), 0);
	json_decref(msgs);

	/* Private chats have no negative id to guess: none of the small
	 * negative ids shows the conversation. */
	for (int64_t id = -1; id >= -40; id--) {
		json_t *res = NULL;
		json_t *params = json_pack("{s:I}", "chat_id", (json_int_t)id);
		int rc = parley_call(c, "getHistory", params, &res, &err);

		json_decref(params);
		if (rc == 0) {
			assert_false(conv_leaks(res));
			json_decref(res);
		} else {
			assert_int_equal(rc, PARLEY_EAPI);
		}
	}
	/* C's own chat with A works, and holds only what C and A wrote. */
	conv_send(c, aid, "hi A, it is C", 0);
	msgs = conv_history(c, aid, 0, 0, 0);
	assert_int_equal(json_array_size(msgs), 1);
	assert_false(conv_leaks(msgs));
	json_decref(msgs);
	msgs = conv_history(a, cid, 0, 0, 0);
	assert_int_equal(json_array_size(msgs), 1);
	assert_string_equal(conv_text(json_array_get(msgs, 0)), "hi A, it is C");
	json_decref(msgs);

	/* Nothing of A-B in C's dialogs either. */
	assert_int_equal(parley_get_dialogs(c, 100, &dialogs, &err), 0);
	assert_int_equal(json_array_size(dialogs), 1);
	assert_int_equal(conv_int(json_object_get(json_array_get(dialogs, 0), "chat"), "id"), aid);
	assert_false(strstr(conv_text(json_object_get(json_array_get(dialogs, 0), "last_message")), "secret"));
	json_decref(dialogs);

	/* C cannot reply to, edit or mark read A-B's messages from C's chat with A:
	 * the ids name messages of C's own chat only. */
	FAILS(c, "sendMessage", json_pack("{s:I, s:s, s:I}", "chat_id", (json_int_t)aid, "text", "x",
					   "reply_to_message_id", (json_int_t)2),
	      400, "MESSAGE_NOT_FOUND");
	FAILS(c, "editMessageText", json_pack("{s:I, s:I, s:s}", "chat_id", (json_int_t)aid, "message_id",
					       (json_int_t)2, "text", "hacked"),
	      400, "MESSAGE_NOT_FOUND");
	msgs = conv_history(b, aid, 0, 0, 0);
	assert_int_equal(json_array_size(msgs), 2);
	assert_true(conv_leaks(msgs));
	json_decref(msgs);

	/* Without a session nobody reads anything. */
	{
		struct parley_client *anon = harness_client(conv_h);
		FAILS(anon, "getHistory", json_pack("{s:I}", "chat_id", (json_int_t)aid), 401, "UNAUTHORIZED");
	}
}

/* Writing to oneself is a chat of its own (Saved Messages); page sizes are
 * bounded; unknown users have no chat. */
static void test_saved_messages_and_bounds(void **state)
{
	struct parley_client *a = harness_user(conv_h, "conv_self");
	int64_t aid = harness_user_id(conv_h, "conv_self");
	int64_t id = conv_send(a, aid, "note to self", 0);
	json_t *msgs, *d;

	msgs = conv_history(a, aid, 0, 0, 0);
	assert_int_equal(json_array_size(msgs), 1);
	assert_int_equal(conv_int(json_array_get(msgs, 0), "message_id"), id);
	assert_int_equal(conv_int(json_object_get(json_array_get(msgs, 0), "chat"), "id"), aid);
	json_decref(msgs);
	d = conv_dialog(a, aid);
	assert_non_null(d);
	assert_int_equal(conv_int(d, "unread_count"), 0);
	json_decref(d);

	FAILS(a, "getHistory", json_pack("{s:I, s:i}", "chat_id", (json_int_t)aid, "limit", 0), 400, "PARAM_INVALID");
	FAILS(a, "getHistory", json_pack("{s:I, s:i}", "chat_id", (json_int_t)aid, "limit", 101), 400,
	      "PARAM_INVALID");
	FAILS(a, "getHistory", json_pack("{s:I}", "chat_id", (json_int_t)987654321), 400, "CHAT_NOT_FOUND");
	FAILS(a, "sendMessage", json_pack("{s:I, s:s}", "chat_id", (json_int_t)987654321, "text", "hello?"), 400,
	      "CHAT_NOT_FOUND");
	FAILS(a, "getChat", json_pack("{s:I}", "chat_id", (json_int_t)987654321), 400, "CHAT_NOT_FOUND");
	FAILS(a, "getHistory", json_pack("{s:I}", "chat_id", (json_int_t)0), 400, "PARAM_INVALID");
	FAILS(a, "getHistory", json_pack("{s:s}", "chat_id", "@nobody_by_that_name"), 400, "CHAT_NOT_FOUND");
	FAILS(a, "sendMessage", json_pack("{s:I, s:s}", "chat_id", (json_int_t)aid, "text", " \n\t "), 400,
	      "MESSAGE_EMPTY");
}

/* getDialogs: most recent first, moving a chat to the top when it gets a
 * message; paging with offset_date/offset_chat_id gives each chat once. */
static void test_dialog_order_and_paging(void **state)
{
	struct parley_client *me = harness_user(conv_h, "conv_dlg_me");
	int64_t mid = harness_user_id(conv_h, "conv_dlg_me");
	int64_t peers[CONV_DIALOGS];
	int seen[CONV_DIALOGS] = {0};
	struct parley_error err;
	json_t *dialogs = NULL, *last = NULL;
	char name[32];
	int total = 0, pages = 0;

	for (int i = 0; i < CONV_DIALOGS; i++) {
		struct parley_client *p;
		snprintf(name, sizeof name, "conv_dlg_peer%02d", i);
		p = harness_user(conv_h, name);
		peers[i] = harness_user_id(conv_h, name);
		conv_send(i % 2 ? me : p, i % 2 ? peers[i] : mid, "hi", 0);
	}
	/* The first peer writes again: their chat comes first.  Dates have
	 * whole seconds and the server orders chats of one second by chat, not
	 * by their last message, so this waits for the next second first. */
	for (time_t t0 = time(NULL); time(NULL) == t0;)
		usleep(20 * 1000);
	snprintf(name, sizeof name, "conv_dlg_peer%02d", 0);
	conv_send(harness_login(conv_h, name), mid, "me again", 0);
	assert_int_equal(parley_get_dialogs(me, 3, &dialogs, &err), 0);
	assert_int_equal(json_array_size(dialogs), 3);
	assert_int_equal(conv_int(json_object_get(json_array_get(dialogs, 0), "chat"), "id"), peers[0]);
	assert_string_equal(conv_text(json_object_get(json_array_get(dialogs, 0), "last_message")), "me again");
	assert_int_equal(conv_int(json_array_get(dialogs, 0), "unread_count"), 2);
	json_decref(dialogs);

	for (;;) {
		json_t *params = json_pack("{s:i}", "limit", 4), *page, *d;
		size_t i;
		int64_t prev_date = INT64_MAX;

		if (last) {
			json_object_set_new(params, "offset_date",
					    json_integer(conv_int(json_object_get(last, "last_message"), "date")));
			json_object_set_new(params, "offset_chat_id",
					    json_integer(conv_int(json_object_get(last, "chat"), "id")));
			prev_date = conv_int(json_object_get(last, "last_message"), "date");
			json_decref(last);
			last = NULL;
		}
		page = OK(me, "getDialogs", params);
		if (json_array_size(page) == 0) {
			json_decref(page);
			break;
		}
		json_array_foreach(page, i, d) {
			int64_t id = conv_int(json_object_get(d, "chat"), "id");
			int64_t date = conv_int(json_object_get(d, "last_message"), "date");
			int k;
			for (k = 0; k < CONV_DIALOGS && peers[k] != id; k++)
				;
			assert_true(k < CONV_DIALOGS);
			assert_true(date <= prev_date);
			prev_date = date;
			seen[k]++;
			total++;
		}
		last = json_incref(json_array_get(page, json_array_size(page) - 1));
		json_decref(page);
		assert_true(++pages <= CONV_DIALOGS);
	}
	for (int i = 0; i < CONV_DIALOGS; i++)
		assert_int_equal(seen[i], 1);
	assert_int_equal(total, CONV_DIALOGS);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_message_reply_and_read),
		cmocka_unit_test(test_history_paging),
		cmocka_unit_test(test_bystander_sees_nothing),
		cmocka_unit_test(test_saved_messages_and_bounds),
		cmocka_unit_test(test_dialog_order_and_paging),
	};

	return cmocka_run_group_tests(tests, conv_setup, conv_teardown);
}
