/*
 * test_edits.c — editing, deleting, forwarding and pinning as the other side
 * of a chat sees it, through libparley against the real parleyd
 * (tests/integration/harness.h).
 *
 * Covered: an edit sets edit_date and the new text shows in the other
 * user's history; MESSAGE_NOT_MODIFIED; only the sender edits
 * (MESSAGE_EDIT_FORBIDDEN); delete for everyone removes a message from both
 * histories, revoke false only from the caller's; forwardMessage keeps
 * forward_origin (user and channel origins, and through a second forward);
 * pin and unpin show in getChat's pinned_message for both sides and for
 * group members.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "parley.h"

static struct harness *ed_h;

/* Calls method with params (stolen); fails the test, naming the line,
 * unless the server answers ok.  Returns the result (caller releases). */
#define OK(c, method, params) harness_call_ok((c), (method), (params), __LINE__)
/* As OK, but the server must answer with this HTTP status and code. */
#define FAILS(c, method, params, status, code) harness_call_fails((c), (method), (params), (status), (code), __LINE__)
#define TRUE_OK(c, method, params) json_decref(OK((c), (method), (params)))


static int64_t ed_int(json_t *obj, const char *key)
{
	json_t *v = json_object_get(obj, key);

	assert_true(json_is_integer(v));
	return (int64_t)json_integer_value(v);
}

static json_t *ed_chat(int64_t chat_id)
{
	return json_pack("{s:I}", "chat_id", (json_int_t)chat_id);
}

static json_t *ed_chat_msg(int64_t chat_id, int64_t msg_id)
{
	return json_pack("{s:I, s:I}", "chat_id", (json_int_t)chat_id, "message_id", (json_int_t)msg_id);
}

static json_t *ed_edit(int64_t chat_id, int64_t msg_id, const char *text)
{
	return json_pack("{s:I, s:I, s:s}", "chat_id", (json_int_t)chat_id, "message_id", (json_int_t)msg_id, "text",
			 text);
}

static int64_t ed_send(struct parley_client *c, int64_t chat_id, const char *text)
{
	struct parley_error err;
	int64_t id = 0;

	if (parley_send_message(c, chat_id, text, 0, &id, &err) < 0) {
		print_error("sendMessage(%s): %s: %s\n", text, err.code, err.description);
		fail();
	}
	return id;
}

/* The message msg_id of chat_id as c's history shows it (a new reference),
 * or NULL when c's history does not have it. */
static json_t *ed_find(struct parley_client *c, int64_t chat_id, int64_t msg_id)
{
	struct parley_error err;
	json_t *msgs = NULL, *m, *found = NULL;
	size_t i;

	if (parley_get_history(c, chat_id, 0, 0, 100, &msgs, &err) < 0) {
		print_error("getHistory: %s: %s\n", err.code, err.description);
		fail();
	}
	json_array_foreach(msgs, i, m) {
		if (ed_int(m, "message_id") == msg_id)
			found = json_incref(m);
	}
	json_decref(msgs);
	return found;
}

static const char *ed_text(json_t *m)
{
	json_t *t = json_object_get(m, "text");

	return json_is_string(t) ? json_string_value(t) : "";
}

/* The pinned message id getChat shows c for chat_id, or 0 for none. */
static int64_t ed_pinned(struct parley_client *c, int64_t chat_id)
{
	json_t *chat = OK(c, "getChat", ed_chat(chat_id));
	json_t *p = json_object_get(chat, "pinned_message");
	int64_t id = p ? ed_int(p, "message_id") : 0;

	json_decref(chat);
	return id;
}

static int ed_setup(void **state)
{
	ed_h = harness_start(NULL);
	return ed_h ? 0 : -1;
}

static int ed_teardown(void **state)
{
	harness_free(ed_h);
	ed_h = NULL;
	return 0;
}

static void test_edit_seen_by_other(void **state)
{
	struct parley_client *a = harness_user(ed_h, "ed_alice");
	struct parley_client *b = harness_user(ed_h, "ed_bob");
	int64_t aid = harness_user_id(ed_h, "ed_alice"), bid = harness_user_id(ed_h, "ed_bob");
	int64_t id = ed_send(a, bid, "meet at 5");
	json_t *m;

	m = ed_find(b, aid, id);
	assert_non_null(m);
	assert_null(json_object_get(m, "edit_date"));
	json_decref(m);

	m = OK(a, "editMessageText", ed_edit(bid, id, "meet at 6 instead"));
	assert_int_equal(ed_int(m, "message_id"), id);
	assert_string_equal(ed_text(m), "meet at 6 instead");
	assert_true(ed_int(m, "edit_date") >= ed_int(m, "date"));
	json_decref(m);

	m = ed_find(b, aid, id);
	assert_non_null(m);
	assert_string_equal(ed_text(m), "meet at 6 instead");
	assert_true(ed_int(m, "edit_date") > 0);
	assert_int_equal(ed_int(json_object_get(m, "from"), "id"), aid);
	json_decref(m);

	/* Same text again: not modified.  Bad texts are refused. */
	FAILS(a, "editMessageText", ed_edit(bid, id, "meet at 6 instead"), 400, "MESSAGE_NOT_MODIFIED");
	FAILS(a, "editMessageText", ed_edit(bid, id, "   "), 400, "MESSAGE_EMPTY");
	FAILS(a, "editMessageText", ed_edit(bid, id + 50, "nothing here"), 400, "MESSAGE_NOT_FOUND");

	/* Only the sender edits, on either side of a private chat. */
	FAILS(b, "editMessageText", ed_edit(aid, id, "meet never"), 403, "MESSAGE_EDIT_FORBIDDEN");
	m = ed_find(a, bid, id);
	assert_string_equal(ed_text(m), "meet at 6 instead");
	json_decref(m);

	/* In a group too, and admins do not edit others' messages either. */
	{
		struct parley_error err;
		int64_t g = 0, gm;
		assert_int_equal(parley_create_group(a, "Edits", &bid, 1, &g, &err), 0);
		gm = ed_send(b, g, "group typo teh");
		FAILS(a, "editMessageText", ed_edit(g, gm, "group typo the"), 403, "MESSAGE_EDIT_FORBIDDEN");
		m = OK(b, "editMessageText", ed_edit(g, gm, "group typo fixed"));
		json_decref(m);
		m = ed_find(a, g, gm);
		assert_string_equal(ed_text(m), "group typo fixed");
		assert_true(ed_int(m, "edit_date") > 0);
		json_decref(m);
		/* Service messages (the group's creation) are nobody's to edit. */
		FAILS(a, "editMessageText", ed_edit(g, 1, "rewritten history"), 403, "MESSAGE_EDIT_FORBIDDEN");
	}
}

static void test_delete_for_everyone_and_for_me(void **state)
{
	struct parley_client *a = harness_user(ed_h, "ed_del_a");
	struct parley_client *b = harness_user(ed_h, "ed_del_b");
	int64_t aid = harness_user_id(ed_h, "ed_del_a"), bid = harness_user_id(ed_h, "ed_del_b");
	int64_t keep = ed_send(a, bid, "keep this");
	int64_t gone = ed_send(a, bid, "oops, wrong chat");
	int64_t mine = ed_send(b, aid, "hide this from me only");
	int64_t theirs = ed_send(b, aid, "B regrets this");
	json_t *m;

	/* Delete for everyone (the default): gone from both histories. */
	TRUE_OK(a, "deleteMessage", ed_chat_msg(bid, gone));
	assert_null(ed_find(a, bid, gone));
	assert_null(ed_find(b, aid, gone));
	FAILS(a, "deleteMessage", ed_chat_msg(bid, gone), 400, "MESSAGE_NOT_FOUND");
	FAILS(a, "editMessageText", ed_edit(bid, gone, "revived"), 400, "MESSAGE_NOT_FOUND");
	FAILS(b, "sendMessage", json_pack("{s:I, s:s, s:I}", "chat_id", (json_int_t)aid, "text", "re: that",
					   "reply_to_message_id", (json_int_t)gone),
	      400, "MESSAGE_NOT_FOUND");

	/* revoke false: only for the caller. */
	TRUE_OK(a, "deleteMessage", json_pack("{s:I, s:I, s:b}", "chat_id", (json_int_t)bid, "message_id",
					      (json_int_t)mine, "revoke", 0));
	assert_null(ed_find(a, bid, mine));
	m = ed_find(b, aid, mine);
	assert_non_null(m);
	assert_string_equal(ed_text(m), "hide this from me only");
	json_decref(m);

	/* Either side of a private chat deletes for everyone. */
	TRUE_OK(a, "deleteMessage", ed_chat_msg(bid, theirs));
	assert_null(ed_find(b, aid, theirs));
	assert_null(ed_find(a, bid, theirs));

	m = ed_find(b, aid, keep);
	assert_non_null(m);
	json_decref(m);
	m = ed_find(a, bid, keep);
	assert_non_null(m);
	json_decref(m);

	/* The dialog's last message is what is left, not a deleted one. */
	{
		struct parley_error err;
		json_t *dialogs = NULL, *d;
		size_t i;
		int found = 0;
		assert_int_equal(parley_get_dialogs(b, 100, &dialogs, &err), 0);
		json_array_foreach(dialogs, i, d) {
			if (ed_int(json_object_get(d, "chat"), "id") != aid)
				continue;
			found = 1;
			assert_int_equal(ed_int(json_object_get(d, "last_message"), "message_id"), mine);
			assert_int_equal(ed_int(d, "unread_count"), 1); /* "keep this" */
		}
		assert_true(found);
		json_decref(dialogs);
	}

	/* deleteMessages: all or none. */
	{
		int64_t x = ed_send(a, bid, "batch one"), y = ed_send(a, bid, "batch two");
		FAILS(a, "deleteMessages", json_pack("{s:I, s:[I,I,I]}", "chat_id", (json_int_t)bid, "message_ids",
						     (json_int_t)x, (json_int_t)y, (json_int_t)(y + 100)),
		      400, "MESSAGE_NOT_FOUND");
		m = ed_find(b, aid, x);
		assert_non_null(m);
		json_decref(m);
		TRUE_OK(a, "deleteMessages", json_pack("{s:I, s:[I,I]}", "chat_id", (json_int_t)bid, "message_ids",
						       (json_int_t)x, (json_int_t)y));
		assert_null(ed_find(b, aid, x));
		assert_null(ed_find(b, aid, y));
	}
}

static void test_forward_keeps_origin(void **state)
{
	struct parley_client *a = harness_user(ed_h, "ed_fwd_a");
	struct parley_client *b = harness_user(ed_h, "ed_fwd_b");
	struct parley_client *c = harness_user(ed_h, "ed_fwd_c");
	int64_t aid = harness_user_id(ed_h, "ed_fwd_a"), bid = harness_user_id(ed_h, "ed_fwd_b");
	int64_t cid = harness_user_id(ed_h, "ed_fwd_c");
	int64_t orig = ed_send(b, aid, "a quote worth sharing"), fwd, fwd2, ch = 0, post, fwd3;
	json_t *m, *origin;
	struct parley_error err;

	/* A forwards B's message to C. */
	m = OK(a, "forwardMessage", json_pack("{s:I, s:I, s:I}", "chat_id", (json_int_t)cid, "from_chat_id",
					      (json_int_t)bid, "message_id", (json_int_t)orig));
	fwd = ed_int(m, "message_id");
	json_decref(m);

	m = ed_find(c, aid, fwd);
	assert_non_null(m);
	assert_string_equal(ed_text(m), "a quote worth sharing");
	assert_int_equal(ed_int(json_object_get(m, "from"), "id"), aid);
	origin = json_object_get(m, "forward_origin");
	assert_non_null(origin);
	assert_string_equal(json_string_value(json_object_get(origin, "type")), "user");
	assert_int_equal(ed_int(json_object_get(origin, "sender_user"), "id"), bid);
	assert_true(ed_int(origin, "date") > 0);
	json_decref(m);

	/* C forwards the forward back to B: the first origin is kept. */
	m = OK(c, "forwardMessage", json_pack("{s:I, s:I, s:I}", "chat_id", (json_int_t)bid, "from_chat_id",
					      (json_int_t)aid, "message_id", (json_int_t)fwd));
	fwd2 = ed_int(m, "message_id");
	json_decref(m);
	m = ed_find(b, cid, fwd2);
	assert_non_null(m);
	origin = json_object_get(m, "forward_origin");
	assert_string_equal(json_string_value(json_object_get(origin, "type")), "user");
	assert_int_equal(ed_int(json_object_get(origin, "sender_user"), "id"), bid);
	json_decref(m);

	/* Channel posts are forwarded with the channel as origin. */
	assert_int_equal(parley_create_channel(a, "Quotes", "ed_quotes", &ch, &err), 0);
	post = ed_send(a, ch, "quote of the day");
	m = OK(b, "forwardMessage", json_pack("{s:I, s:s, s:I}", "chat_id", (json_int_t)cid, "from_chat_id",
					      "@ed_quotes", "message_id", (json_int_t)post));
	fwd3 = ed_int(m, "message_id");
	json_decref(m);
	m = ed_find(c, bid, fwd3);
	assert_non_null(m);
	assert_string_equal(ed_text(m), "quote of the day");
	origin = json_object_get(m, "forward_origin");
	assert_string_equal(json_string_value(json_object_get(origin, "type")), "channel");
	assert_int_equal(ed_int(json_object_get(origin, "chat"), "id"), ch);
	assert_int_equal(ed_int(origin, "message_id"), post);
	json_decref(m);

	/* An ordinary message has no origin; missing messages do not forward. */
	m = ed_find(b, aid, orig);
	assert_null(json_object_get(m, "forward_origin"));
	json_decref(m);
	FAILS(a, "forwardMessage", json_pack("{s:I, s:I, s:I}", "chat_id", (json_int_t)cid, "from_chat_id",
					     (json_int_t)bid, "message_id", (json_int_t)(orig + 99)),
	      400, "MESSAGE_NOT_FOUND");
	/* Editing the original does not change the forwarded copy. */
	json_decref(OK(b, "editMessageText", ed_edit(aid, orig, "a quote, edited")));
	m = ed_find(c, aid, fwd);
	assert_string_equal(ed_text(m), "a quote worth sharing");
	json_decref(m);
}

static void test_pin_unpin(void **state)
{
	struct parley_client *a = harness_user(ed_h, "ed_pin_a");
	struct parley_client *b = harness_user(ed_h, "ed_pin_b");
	struct parley_client *c = harness_user(ed_h, "ed_pin_c");
	int64_t aid = harness_user_id(ed_h, "ed_pin_a"), bid = harness_user_id(ed_h, "ed_pin_b");
	int64_t cid = harness_user_id(ed_h, "ed_pin_c");
	int64_t m1 = ed_send(a, bid, "the address is 1 Main St"), m2 = ed_send(b, aid, "the code is 1234");
	int64_t g = 0, gm, gm2;
	struct parley_error err;
	json_t *chat, *p;

	assert_int_equal(ed_pinned(a, bid), 0);
	TRUE_OK(a, "pinChatMessage", ed_chat_msg(bid, m1));
	assert_int_equal(ed_pinned(a, bid), m1);
	assert_int_equal(ed_pinned(b, aid), m1);
	chat = OK(b, "getChat", ed_chat(aid));
	p = json_object_get(chat, "pinned_message");
	assert_string_equal(ed_text(p), "the address is 1 Main St");
	json_decref(chat);

	/* The other side pins another message; it replaces the first. */
	TRUE_OK(b, "pinChatMessage", ed_chat_msg(aid, m2));
	assert_int_equal(ed_pinned(a, bid), m2);
	/* Unpinning a message that is not the pinned one changes nothing. */
	TRUE_OK(a, "unpinChatMessage", ed_chat_msg(bid, m1));
	assert_int_equal(ed_pinned(b, aid), m2);
	TRUE_OK(a, "unpinChatMessage", ed_chat_msg(bid, m2));
	assert_int_equal(ed_pinned(a, bid), 0);
	assert_int_equal(ed_pinned(b, aid), 0);
	FAILS(a, "pinChatMessage", ed_chat_msg(bid, m2 + 40), 400, "MESSAGE_NOT_FOUND");

	/* Deleting the pinned message unpins it. */
	TRUE_OK(a, "pinChatMessage", ed_chat_msg(bid, m1));
	TRUE_OK(a, "deleteMessage", ed_chat_msg(bid, m1));
	assert_int_equal(ed_pinned(b, aid), 0);

	/* Groups: members see the pin; by default only admins pin. */
	{
		int64_t ids[2] = {bid, cid};
		assert_int_equal(parley_create_group(a, "Pins", ids, 2, &g, &err), 0);
	}
	gm = ed_send(b, g, "rules: be nice");
	gm2 = ed_send(c, g, "pin me please");
	FAILS(c, "pinChatMessage", ed_chat_msg(g, gm2), 403, "CHAT_ADMIN_REQUIRED");
	TRUE_OK(a, "pinChatMessage", ed_chat_msg(g, gm));
	assert_int_equal(ed_pinned(b, g), gm);
	assert_int_equal(ed_pinned(c, g), gm);
	/* The pin shows in the history as a service message naming it. */
	{
		json_t *msgs = NULL, *last;
		assert_int_equal(parley_get_history(c, g, 0, 0, 1, &msgs, &err), 0);
		last = json_array_get(msgs, 0);
		assert_non_null(json_object_get(last, "pinned_message"));
		assert_int_equal(ed_int(json_object_get(last, "pinned_message"), "message_id"), gm);
		json_decref(msgs);
	}
	FAILS(c, "unpinChatMessage", ed_chat(g), 403, "CHAT_ADMIN_REQUIRED");
	TRUE_OK(a, "unpinChatMessage", ed_chat(g));
	assert_int_equal(ed_pinned(c, g), 0);
	/* With can_pin_messages, members pin too. */
	TRUE_OK(a, "setChatPermissions", json_pack("{s:I, s:{s:b}}", "chat_id", (json_int_t)g, "permissions",
						    "can_pin_messages", 1));
	TRUE_OK(c, "pinChatMessage", ed_chat_msg(g, gm2));
	assert_int_equal(ed_pinned(b, g), gm2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_edit_seen_by_other),
		cmocka_unit_test(test_delete_for_everyone_and_for_me),
		cmocka_unit_test(test_forward_keeps_origin),
		cmocka_unit_test(test_pin_unpin),
	};

	return cmocka_run_group_tests(tests, ed_setup, ed_teardown);
}
