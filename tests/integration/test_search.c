/*
 * test_search.c — full-text search as users see it, through libparley
 * against the real parleyd (tests/integration/harness.h).
 *
 * Covered: searchMessages in one chat and across all of the caller's chats;
 * nothing from chats the caller is not in (never joined, left, removed, or
 * a public channel they only look at); every word must match; characters
 * that are search syntax elsewhere ('"', '*', '(', AND, NEAR, ...) are
 * taken literally and never make an error; a query of only punctuation is
 * QUERY_EMPTY; deleted messages (for everyone, or only for me) are not
 * found, and edits are searched by their new text; paging with the
 * offset_* cursors returns each hit once.  A new message is searchable
 * once the writer applied its index batch, at most STORE_WRITER_INDEX_AGE_MS
 * (100 ms) after it was sent: a search after sends waits SRCH_SETTLE_MS
 * first (edits and deletes are indexed at their commit).  Also: a message
 * sent just before parleyd is killed with SIGKILL is found after restart.
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

#include "harness.h"
#include "parley.h"

#define SRCH_PAGED 23   /* hits spread over chats for the paging test */
#define SRCH_SETTLE_MS 400 /* a few times the index's age bound (STORE_WRITER_INDEX_AGE_MS) */

static struct harness *srch_h;
static int srch_dirty; /* messages were sent since the last search */

/* Waits out the search index's freshness bound after sends. */
static void srch_settle(void)
{
	struct timespec ts = {.tv_sec = 0, .tv_nsec = SRCH_SETTLE_MS * 1000000L};

	if (!srch_dirty)
		return;
	nanosleep(&ts, NULL);
	srch_dirty = 0;
}

/* Calls method with params (stolen); fails the test, naming the line,
 * unless the server answers ok.  Returns the result (caller releases). */
#define OK(c, method, params) harness_call_ok((c), (method), (params), __LINE__)
/* As OK, but the server must answer with this HTTP status and code. */
#define FAILS(c, method, params, status, code) harness_call_fails((c), (method), (params), (status), (code), __LINE__)
#define TRUE_OK(c, method, params) json_decref(OK((c), (method), (params)))
/* searchMessages for query, in chat_id (0: all chats); the hits' count. */
#define COUNT(c, query, chat_id) srch_count((c), (query), (chat_id), __LINE__)


static int64_t srch_int(json_t *obj, const char *key)
{
	json_t *v = json_object_get(obj, key);

	assert_true(json_is_integer(v));
	return (int64_t)json_integer_value(v);
}

static json_t *srch_params(const char *query, int64_t chat_id)
{
	json_t *p = json_pack("{s:s, s:i}", "query", query, "limit", 100);

	if (p && chat_id)
		json_object_set_new(p, "chat_id", json_integer(chat_id));
	return p;
}

static json_t *srch(struct parley_client *c, const char *query, int64_t chat_id, int line)
{
	srch_settle();
	json_t *res = harness_call_ok(c, "searchMessages", srch_params(query, chat_id), line);

	assert_true(json_is_array(res));
	return res;
}

static size_t srch_count(struct parley_client *c, const char *query, int64_t chat_id, int line)
{
	json_t *res = srch(c, query, chat_id, line);
	size_t n = json_array_size(res);

	json_decref(res);
	return n;
}

/* Does a search result list hold a message with exactly this text? */
static int srch_has(json_t *res, const char *text)
{
	size_t i;
	json_t *m;

	json_array_foreach(res, i, m) {
		json_t *t = json_object_get(m, "text");
		if (json_is_string(t) && strcmp(json_string_value(t), text) == 0)
			return 1;
	}
	return 0;
}

static int64_t srch_send(struct parley_client *c, int64_t chat_id, const char *text)
{
	struct parley_error err;
	int64_t id = 0;

	if (parley_send_message(c, chat_id, text, 0, &id, &err) < 0) {
		print_error("sendMessage(%s): %s: %s\n", text, err.code, err.description);
		fail();
	}
	srch_dirty = 1;
	return id;
}

static int64_t srch_group(struct parley_client *owner, const char *title, const int64_t *uids, size_t n)
{
	struct parley_error err;
	int64_t id = 0;

	if (parley_create_group(owner, title, uids, n, &id, &err) < 0) {
		print_error("createGroup: %s: %s\n", err.code, err.description);
		fail();
	}
	return id;
}

static int srch_setup(void **state)
{
	srch_h = harness_start(NULL);
	return srch_h ? 0 : -1;
}

static int srch_teardown(void **state)
{
	harness_free(srch_h);
	srch_h = NULL;
	return 0;
}

static void test_scope(void **state)
{
	struct parley_client *a = harness_user(srch_h, "srch_alice");
	struct parley_client *b = harness_user(srch_h, "srch_bob");
	struct parley_client *c = harness_user(srch_h, "srch_carol");
	int64_t aid = harness_user_id(srch_h, "srch_alice"), bid = harness_user_id(srch_h, "srch_bob");
	int64_t cid = harness_user_id(srch_h, "srch_carol");
	int64_t ab[1] = {bid}, g, bc, ch = 0;
	struct parley_error err;
	json_t *res, *m;
	size_t i;

	g = srch_group(a, "Zoo trip", ab, 1);
	bc = srch_group(b, "Bob and Carol only", &cid, 1);
	srch_send(a, bid, "zebra apple in the AB chat");
	srch_send(b, cid, "zebra cherry in the BC chat");
	srch_send(c, aid, "zebra banana in the AC chat");
	srch_send(b, g, "zebra grape in the group");
	srch_send(c, bc, "zebra lemon in the BC group");
	assert_int_equal(parley_create_channel(c, "Zebra facts", "srch_zebras", &ch, &err), 0);
	srch_send(c, ch, "zebra stripes are unique");

	/* All of A's chats: AB, AC and the group; not B-C's chat, B-C's group
	 * or the public channel A never joined. */
	res = srch(a, "zebra", 0, __LINE__);
	assert_int_equal(json_array_size(res), 3);
	assert_true(srch_has(res, "zebra apple in the AB chat"));
	assert_true(srch_has(res, "zebra banana in the AC chat"));
	assert_true(srch_has(res, "zebra grape in the group"));
	/* Newest first (by date, which has whole seconds); each hit names its
	 * chat as A sees it. */
	json_array_foreach(res, i, m) {
		int64_t chat = srch_int(json_object_get(m, "chat"), "id");
		assert_true(chat == bid || chat == cid || chat == g);
		if (i)
			assert_true(srch_int(m, "date") <= srch_int(json_array_get(res, i - 1), "date"));
	}
	json_decref(res);

	/* One chat. */
	res = srch(a, "zebra", bid, __LINE__);
	assert_int_equal(json_array_size(res), 1);
	assert_true(srch_has(res, "zebra apple in the AB chat"));
	assert_int_equal(srch_int(json_object_get(json_array_get(res, 0), "chat"), "id"), bid);
	json_decref(res);
	assert_int_equal(COUNT(a, "zebra", g), 1);
	assert_int_equal(COUNT(a, "zebra", cid), 1);
	assert_int_equal(COUNT(b, "zebra", 0), 4);
	assert_int_equal(COUNT(c, "zebra", 0), 4); /* BC, AC, BC group, own channel */

	/* Every word must match; case does not matter. */
	assert_int_equal(COUNT(a, "zebra apple", 0), 1);
	assert_int_equal(COUNT(a, "ZEBRA Apple", 0), 1);
	assert_int_equal(COUNT(a, "zebra cherry", 0), 0);
	assert_int_equal(COUNT(a, "zebra unicorn", 0), 0);

	/* Not a member: refused by chat id, silent across chats. */
	FAILS(a, "searchMessages", json_pack("{s:s, s:I}", "query", "zebra", "chat_id", (json_int_t)bc), 403,
	      "CHAT_FORBIDDEN");
	assert_int_equal(COUNT(a, "lemon", 0), 0);
	assert_int_equal(COUNT(a, "cherry", 0), 0);
	/* A public channel can be searched by name, but is not one of A's chats. */
	assert_int_equal(COUNT(a, "stripes", ch), 1);
	assert_int_equal(COUNT(a, "stripes", 0), 0);
	json_decref(OK(a, "joinChat", json_pack("{s:s}", "chat_id", "@srch_zebras")));
	assert_int_equal(COUNT(a, "stripes", 0), 1);
	TRUE_OK(a, "leaveChat", json_pack("{s:I}", "chat_id", (json_int_t)ch));
	assert_int_equal(COUNT(a, "stripes", 0), 0);

	/* Leaving or being removed from a group ends its search results. */
	assert_int_equal(COUNT(b, "grape", 0), 1);
	TRUE_OK(b, "leaveChat", json_pack("{s:I}", "chat_id", (json_int_t)g));
	assert_int_equal(COUNT(b, "grape", 0), 0);
	FAILS(b, "searchMessages", json_pack("{s:s, s:I}", "query", "grape", "chat_id", (json_int_t)g), 403,
	      "CHAT_FORBIDDEN");
	assert_int_equal(COUNT(c, "lemon", 0), 1);
	TRUE_OK(b, "banChatMember", json_pack("{s:I, s:I}", "chat_id", (json_int_t)bc, "user_id", (json_int_t)cid));
	assert_int_equal(COUNT(c, "lemon", 0), 0);
	FAILS(c, "searchMessages", json_pack("{s:s, s:I}", "query", "lemon", "chat_id", (json_int_t)bc), 403,
	      "USER_BANNED_IN_CHAT");
}

static void test_special_characters(void **state)
{
	struct parley_client *a = harness_user(srch_h, "srch_sp_a");
	int64_t bid = (harness_user(srch_h, "srch_sp_b"), harness_user_id(srch_h, "srch_sp_b"));
	static const char *const odd[] = {
		"\"", "\"\"", "zebra\"", "\"zebra", "*", "zebra*", "(", "zebra (", ")", "((zebra", "AND", "OR", "NOT",
		"NEAR", "NEAR(", "NEAR(zebra okapi)", "zebra AND", "AND zebra", "zebra OR okapi", "NOT zebra",
		"zebra NOT okapi", "-zebra", "+zebra", "^zebra", "body:zebra", "chat:c1", "c1", "zebra:", "{zebra}",
		"zebra ; DROP TABLE messages", "'", "''", "zebra'", "\\", "zebra \\\"", "%", "_", "zebra%",
		"\xc3\xa9t\xc3\xa9", "\xe2\x80\x9czebra\xe2\x80\x9d", "z\"e\"b\"r\"a",
	};
	static const char *const punct[] = {"\"", "*", "(", ")", "\"*()", "- + ^ :", "!!!", ";", "''", ".", " * "};
	json_t *res;

	srch_send(a, bid, "zebra and okapi near the river (not a joke) \"quoted\" star* caret^ colon: c1");
	srch_send(a, bid, "the NEAR future AND beyond");
	srch_send(a, bid, "\xc3\xa9t\xc3\xa9 at the zoo");

	srch_settle();
	for (size_t i = 0; i < sizeof odd / sizeof odd[0]; i++) {
		struct parley_error err;
		json_t *params = srch_params(odd[i], 0);
		int rc = parley_call(a, "searchMessages", params, &res, &err);

		json_decref(params);
		if (rc != 0 && !(rc == PARLEY_EAPI && strcmp(err.code, "QUERY_EMPTY") == 0)) {
			print_error("query [%s]: %d %s: %s\n", odd[i], err.http_status, err.code, err.description);
			fail();
		}
		json_decref(res);
	}
	for (size_t i = 0; i < sizeof punct / sizeof punct[0]; i++)
		FAILS(a, "searchMessages", srch_params(punct[i], 0), 400, "QUERY_EMPTY");
	FAILS(a, "searchMessages", srch_params("", 0), 400, "QUERY_EMPTY");

	/* Operators are plain words: AND finds the messages that say "and". */
	assert_int_equal(COUNT(a, "AND", 0), 2);
	assert_int_equal(COUNT(a, "NEAR", 0), 2);
	assert_int_equal(COUNT(a, "near future", 0), 1);
	assert_int_equal(COUNT(a, "NOT", 0), 1);
	assert_int_equal(COUNT(a, "zebra OR unicorn", 0), 0); /* "or" is a word, not "either" */
	assert_int_equal(COUNT(a, "NEAR(zebra okapi)", 0), 0);
	assert_int_equal(COUNT(a, "(not", 0), 1);
	assert_int_equal(COUNT(a, "\"quoted\"", 0), 1);
	assert_int_equal(COUNT(a, "zebra*", 0), 1);
	assert_int_equal(COUNT(a, "c1", 0), 1);
	assert_int_equal(COUNT(a, "chat:c1", 0), 0);
	assert_int_equal(COUNT(a, "\xc3\xa9t\xc3\xa9", 0), 1);
	assert_int_equal(COUNT(a, "ete", 0), 1); /* accents are folded */
}

static void test_deleted_and_edited(void **state)
{
	struct parley_client *a = harness_user(srch_h, "srch_del_a");
	struct parley_client *b = harness_user(srch_h, "srch_del_b");
	int64_t aid = harness_user_id(srch_h, "srch_del_a"), bid = harness_user_id(srch_h, "srch_del_b");
	int64_t gone = srch_send(a, bid, "ephemeral walrus");
	int64_t mine = srch_send(b, aid, "hidden narwhal");
	int64_t ed = srch_send(a, bid, "original platypus");

	assert_int_equal(COUNT(b, "walrus", 0), 1);
	TRUE_OK(a, "deleteMessage", json_pack("{s:I, s:I}", "chat_id", (json_int_t)bid, "message_id", (json_int_t)gone));
	assert_int_equal(COUNT(a, "walrus", 0), 0);
	assert_int_equal(COUNT(b, "walrus", 0), 0);
	assert_int_equal(COUNT(b, "walrus", aid), 0);

	/* Deleted only for A: A does not find it, B still does. */
	TRUE_OK(a, "deleteMessage", json_pack("{s:I, s:I, s:b}", "chat_id", (json_int_t)bid, "message_id",
					      (json_int_t)mine, "revoke", 0));
	assert_int_equal(COUNT(a, "narwhal", 0), 0);
	assert_int_equal(COUNT(a, "narwhal", bid), 0);
	assert_int_equal(COUNT(b, "narwhal", 0), 1);

	/* An edit is found by its new words only. */
	json_decref(OK(a, "editMessageText", json_pack("{s:I, s:I, s:s}", "chat_id", (json_int_t)bid, "message_id",
						       (json_int_t)ed, "text", "edited echidna")));
	assert_int_equal(COUNT(b, "platypus", 0), 0);
	assert_int_equal(COUNT(b, "echidna", 0), 1);
	json_decref(OK(a, "editMessageText", json_pack("{s:I, s:I, s:s}", "chat_id", (json_int_t)bid, "message_id",
						       (json_int_t)ed, "text", "final platypus")));
	assert_int_equal(COUNT(b, "echidna", 0), 0);
	assert_int_equal(COUNT(b, "platypus", 0), 1);
	TRUE_OK(b, "deleteMessage", json_pack("{s:I, s:I}", "chat_id", (json_int_t)aid, "message_id", (json_int_t)ed));
	assert_int_equal(COUNT(a, "platypus", 0), 0);

	/* Service messages are not text: a group's title is not a hit. */
	{
		int64_t g = srch_group(a, "Capybara lovers", &bid, 1);
		assert_int_equal(COUNT(b, "capybara", 0), 0);
		srch_send(b, g, "capybara");
		assert_int_equal(COUNT(b, "capybara", 0), 1);
	}
}

static void test_paging(void **state)
{
	struct parley_client *a = harness_user(srch_h, "srch_page_a");
	struct parley_client *b = harness_user(srch_h, "srch_page_b");
	struct parley_client *c = harness_user(srch_h, "srch_page_c");
	int64_t bid = harness_user_id(srch_h, "srch_page_b"), cid = harness_user_id(srch_h, "srch_page_c");
	int64_t aid = harness_user_id(srch_h, "srch_page_a");
	int64_t ids[2] = {bid, cid}, g = srch_group(a, "Paging", ids, 2);
	/* Who writes where: all of it in A's three chats (A-B, A-C, group). */
	struct parley_client *from[5] = {a, b, c, a, b};
	int64_t to[5] = {bid, aid, aid, g, g};
	int seen[SRCH_PAGED] = {0};
	json_t *last = NULL;
	char text[64];
	int total = 0, pages = 0;

	for (int i = 0; i < SRCH_PAGED; i++) {
		snprintf(text, sizeof text, "quokka number %d", i);
		srch_send(from[i % 5], to[i % 5], text);
	}
	srch_settle();
	for (;;) {
		json_t *params = json_pack("{s:s, s:i}", "query", "quokka", "limit", 4), *res, *m;
		size_t i;

		if (last) {
			json_object_set_new(params, "offset_date", json_integer(srch_int(last, "date")));
			json_object_set_new(params, "offset_chat_id",
					    json_integer(srch_int(json_object_get(last, "chat"), "id")));
			json_object_set_new(params, "offset_message_id", json_integer(srch_int(last, "message_id")));
			json_decref(last);
			last = NULL;
		}
		res = OK(a, "searchMessages", params);
		if (json_array_size(res) == 0) {
			json_decref(res);
			break;
		}
		assert_true(json_array_size(res) <= 4);
		json_array_foreach(res, i, m) {
			int k = -1;
			assert_int_equal(sscanf(json_string_value(json_object_get(m, "text")), "quokka number %d", &k), 1);
			assert_true(k >= 0 && k < SRCH_PAGED);
			seen[k]++;
			total++;
		}
		last = json_incref(json_array_get(res, json_array_size(res) - 1));
		json_decref(res);
		assert_true(++pages <= SRCH_PAGED);
	}
	for (int i = 0; i < SRCH_PAGED; i++)
		assert_int_equal(seen[i], 1);
	assert_int_equal(total, SRCH_PAGED);
}

/* Messages sent just before a crash, likely before their index batch ran
 * (SRCH_CRASH_SENT in well under STORE_WRITER_INDEX_AGE_MS), are indexed
 * when parleyd starts again; one deleted and one edited meanwhile are not
 * found by their old text, and the recovered rows can still be edited
 * (a contentless index entry is removed by its exact text). */
#define SRCH_CRASH_SENT 20
static void test_crash_indexed(void **state)
{
	struct parley_client *a = harness_user(srch_h, "srch_crash_a");
	int64_t bid = (harness_user(srch_h, "srch_crash_b"), harness_user_id(srch_h, "srch_crash_b"));
	int64_t gone, ed, first = 0;
	char text[64];

	for (int i = 0; i < SRCH_CRASH_SENT; i++) {
		snprintf(text, sizeof text, "wombat number %d", i);
		int64_t id = srch_send(a, bid, text);
		if (i == 0)
			first = id;
	}
	gone = srch_send(a, bid, "dingo to be deleted");
	ed = srch_send(a, bid, "bilby before the edit");
	TRUE_OK(a, "deleteMessage", json_pack("{s:I, s:I}", "chat_id", (json_int_t)bid, "message_id", (json_int_t)gone));
	json_decref(OK(a, "editMessageText", json_pack("{s:I, s:I, s:s}", "chat_id", (json_int_t)bid, "message_id",
							(json_int_t)ed, "text", "bandicoot after the edit")));
	for (int i = 0; i < 3; i++) {
		snprintf(text, sizeof text, "wombat late %d", i);
		srch_send(a, bid, text);
	}
	harness_kill9(srch_h);
	assert_int_equal(harness_restart(srch_h), 0);
	srch_dirty = 0; /* recovery runs at start-up, before parleyd serves */
	assert_int_equal(COUNT(a, "wombat", 0), SRCH_CRASH_SENT + 3);
	assert_int_equal(COUNT(a, "dingo", 0), 0);
	assert_int_equal(COUNT(a, "bilby", 0), 0);
	assert_int_equal(COUNT(a, "bandicoot", 0), 1);
	json_decref(OK(a, "editMessageText", json_pack("{s:I, s:I, s:s}", "chat_id", (json_int_t)bid, "message_id",
							(json_int_t)first, "text", "quoll instead")));
	assert_int_equal(COUNT(a, "wombat", 0), SRCH_CRASH_SENT + 2);
	assert_int_equal(COUNT(a, "quoll", 0), 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_scope),
		cmocka_unit_test(test_special_characters),
		cmocka_unit_test(test_deleted_and_edited),
		cmocka_unit_test(test_paging),
		cmocka_unit_test(test_crash_indexed), /* last: it kills parleyd */
	};

	return cmocka_run_group_tests(tests, srch_setup, srch_teardown);
}
