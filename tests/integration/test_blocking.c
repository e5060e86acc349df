/*
 * test_blocking.c — blocking users, as both sides see it, through libparley
 * against the real parleyd (tests/integration/harness.h).
 *
 * Covered: after blockUser the blocked user's sendMessage (and
 * forwardMessage) gets 403 USER_BLOCKED, and they cannot add the blocker to
 * a group, neither in createGroup nor in addChatMembers (USER_BLOCKED) — and
 * a refused createGroup leaves no half-made group behind; other users are
 * unaffected; getBlockedUsers lists the blocked; unblockUser restores
 * everything.  A first message refused by a block leaves no private chat
 * behind (the writer made the chat before the check refused: it rolls its
 * group back and runs it again, a savepoint per request), while messages
 * sent at the same time by others are kept, once each.
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "harness.h"
#include "parley.h"

static struct harness *blk_h;

/* Calls method with params (stolen); fails the test, naming the line,
 * unless the server answers ok.  Returns the result (caller releases). */
#define OK(c, method, params) harness_call_ok((c), (method), (params), __LINE__)
/* As OK, but the server must answer with this HTTP status and code. */
#define FAILS(c, method, params, status, code) harness_call_fails((c), (method), (params), (status), (code), __LINE__)
#define TRUE_OK(c, method, params) json_decref(OK((c), (method), (params)))


static int64_t blk_int(json_t *obj, const char *key)
{
	json_t *v = json_object_get(obj, key);

	assert_true(json_is_integer(v));
	return (int64_t)json_integer_value(v);
}

static json_t *blk_user(int64_t uid)
{
	return json_pack("{s:I}", "user_id", (json_int_t)uid);
}

static json_t *blk_msg(int64_t chat_id, const char *text)
{
	return json_pack("{s:I, s:s}", "chat_id", (json_int_t)chat_id, "text", text);
}

static int64_t blk_send(struct parley_client *c, int64_t chat_id, const char *text)
{
	json_t *m = OK(c, "sendMessage", blk_msg(chat_id, text));
	int64_t id = blk_int(m, "message_id");

	json_decref(m);
	return id;
}

/* Does c's history with chat_id show text? */
static int blk_sees(struct parley_client *c, int64_t chat_id, const char *text)
{
	struct parley_error err;
	json_t *msgs = NULL, *m;
	size_t i;
	int found = 0;

	if (parley_get_history(c, chat_id, 0, 0, 100, &msgs, &err) < 0) {
		print_error("getHistory: %s: %s\n", err.code, err.description);
		fail();
	}
	json_array_foreach(msgs, i, m) {
		json_t *t = json_object_get(m, "text");
		if (json_is_string(t) && strcmp(json_string_value(t), text) == 0)
			found = 1;
	}
	json_decref(msgs);
	return found;
}

/* How many of c's dialogs are groups titled title. */
static int blk_groups_titled(struct parley_client *c, const char *title)
{
	struct parley_error err;
	json_t *dialogs = NULL, *d;
	size_t i;
	int n = 0;

	assert_int_equal(parley_get_dialogs(c, 100, &dialogs, &err), 0);
	json_array_foreach(dialogs, i, d) {
		json_t *t = json_object_get(json_object_get(d, "chat"), "title");
		if (json_is_string(t) && strcmp(json_string_value(t), title) == 0)
			n++;
	}
	json_decref(dialogs);
	return n;
}

/* The ids getBlockedUsers gives c, in out (at most max); returns the count. */
static size_t blk_blocked(struct parley_client *c, int64_t *out, size_t max)
{
	json_t *list = OK(c, "getBlockedUsers", json_object()), *u;
	size_t i, n = json_array_size(list);

	assert_true(json_is_array(list));
	assert_true(n <= max);
	json_array_foreach(list, i, u) {
		out[i] = blk_int(u, "id");
		assert_non_null(json_object_get(u, "username"));
		assert_null(json_object_get(u, "pw_hash")); /* nothing private leaks */
	}
	json_decref(list);
	return n;
}

static int blk_setup(void **state)
{
	blk_h = harness_start(NULL);
	return blk_h ? 0 : -1;
}

static int blk_teardown(void **state)
{
	harness_free(blk_h);
	blk_h = NULL;
	return 0;
}

static void test_block_messages(void **state)
{
	struct parley_client *a = harness_user(blk_h, "blk_alice");
	struct parley_client *b = harness_user(blk_h, "blk_bob");
	struct parley_client *c = harness_user(blk_h, "blk_carol");
	int64_t aid = harness_user_id(blk_h, "blk_alice"), bid = harness_user_id(blk_h, "blk_bob");
	int64_t cid = harness_user_id(blk_h, "blk_carol");
	int64_t ids[4], hello, cmsg;

	hello = blk_send(b, aid, "hello before the block");
	cmsg = blk_send(c, bid, "something to forward");
	assert_int_equal(blk_blocked(a, ids, 4), 0);

	TRUE_OK(a, "blockUser", blk_user(bid));
	TRUE_OK(a, "blockUser", blk_user(bid)); /* twice is fine */
	assert_int_equal(blk_blocked(a, ids, 4), 1);
	assert_int_equal(ids[0], bid);
	assert_int_equal(blk_blocked(b, ids, 4), 0); /* not symmetric in the list */

	FAILS(b, "sendMessage", blk_msg(aid, "are you there?"), 403, "USER_BLOCKED");
	FAILS(b, "sendMessage", json_pack("{s:s, s:s}", "chat_id", "@blk_alice", "text", "by name?"), 403,
	      "USER_BLOCKED");
	FAILS(b, "forwardMessage", json_pack("{s:I, s:I, s:I}", "chat_id", (json_int_t)aid, "from_chat_id",
					     (json_int_t)cid, "message_id", (json_int_t)cmsg),
	      403, "USER_BLOCKED");
	assert_false(blk_sees(a, bid, "are you there?"));
	/* What was said before the block stays. */
	assert_true(blk_sees(a, bid, "hello before the block"));
	assert_true(blk_sees(b, aid, "hello before the block"));
	(void)hello;

	/* Others still reach A, and B still reaches others. */
	blk_send(c, aid, "carol is not blocked");
	assert_true(blk_sees(a, cid, "carol is not blocked"));
	blk_send(b, cid, "bob talks to carol");
	assert_true(blk_sees(c, bid, "bob talks to carol"));

	/* Blocking an unknown user is an error; a second block lists both. */
	FAILS(a, "blockUser", blk_user(999999), 400, "USER_NOT_FOUND");
	TRUE_OK(a, "blockUser", blk_user(cid));
	assert_int_equal(blk_blocked(a, ids, 4), 2);
	assert_true((ids[0] == bid && ids[1] == cid) || (ids[0] == cid && ids[1] == bid));

	TRUE_OK(a, "unblockUser", blk_user(bid));
	assert_int_equal(blk_blocked(a, ids, 4), 1);
	assert_int_equal(ids[0], cid);
	blk_send(b, aid, "thanks for unblocking");
	assert_true(blk_sees(a, bid, "thanks for unblocking"));
	TRUE_OK(a, "unblockUser", blk_user(cid));
	assert_int_equal(blk_blocked(a, ids, 4), 0);
	TRUE_OK(a, "unblockUser", blk_user(cid)); /* twice is fine */
}

static void test_block_group_invites(void **state)
{
	struct parley_client *a = harness_user(blk_h, "blk_g_alice");
	struct parley_client *b = harness_user(blk_h, "blk_g_bob");
	struct parley_client *c = harness_user(blk_h, "blk_g_carol");
	int64_t aid = harness_user_id(blk_h, "blk_g_alice"), bid = harness_user_id(blk_h, "blk_g_bob");
	int64_t cid = harness_user_id(blk_h, "blk_g_carol");
	int64_t both[2] = {cid, aid}, g = 0, cg = 0;
	struct parley_error err;
	json_t *m;

	TRUE_OK(a, "blockUser", blk_user(bid));

	/* B cannot put A in a new group; the refusal leaves no group. */
	assert_int_equal(parley_create_group(b, "Surprise party", both, 2, &g, &err), PARLEY_EAPI);
	assert_int_equal(err.http_status, 403);
	assert_string_equal(err.code, "USER_BLOCKED");
	assert_int_equal(blk_groups_titled(b, "Surprise party"), 0);
	assert_int_equal(blk_groups_titled(c, "Surprise party"), 0);
	assert_int_equal(blk_groups_titled(a, "Surprise party"), 0);

	/* Nor add A to an existing one. */
	assert_int_equal(parley_create_group(b, "Book club", &cid, 1, &g, &err), 0);
	FAILS(b, "addChatMembers", json_pack("{s:I, s:[I]}", "chat_id", (json_int_t)g, "user_ids", (json_int_t)aid), 403,
	      "USER_BLOCKED");
	m = OK(c, "getChatMember", json_pack("{s:I, s:I}", "chat_id", (json_int_t)g, "user_id", (json_int_t)aid));
	assert_string_equal(json_string_value(json_object_get(m, "status")), "left");
	json_decref(m);
	assert_int_equal(blk_groups_titled(a, "Book club"), 0);

	/* C (not blocked) may add A, and then A and B share the group: a block
	 * stops private messages and invitations, not group talk. */
	assert_int_equal(parley_create_group(c, "Neighbours", NULL, 0, &cg, &err), 0);
	TRUE_OK(c, "addChatMembers", json_pack("{s:I, s:[I,I]}", "chat_id", (json_int_t)cg, "user_ids", (json_int_t)aid,
						(json_int_t)bid));
	blk_send(b, cg, "hi neighbours");
	assert_true(blk_sees(a, cg, "hi neighbours"));

	/* Unblocked, B can invite A. */
	TRUE_OK(a, "unblockUser", blk_user(bid));
	TRUE_OK(b, "addChatMembers", json_pack("{s:I, s:[I]}", "chat_id", (json_int_t)g, "user_ids", (json_int_t)aid));
	m = OK(c, "getChatMember", json_pack("{s:I, s:I}", "chat_id", (json_int_t)g, "user_id", (json_int_t)aid));
	assert_string_equal(json_string_value(json_object_get(m, "status")), "member");
	json_decref(m);
	assert_int_equal(parley_create_group(b, "Surprise party", both, 2, &g, &err), 0);
	assert_int_equal(blk_groups_titled(a, "Surprise party"), 1);
	blk_send(b, g, "surprise!");
	assert_true(blk_sees(a, g, "surprise!"));
}

/* Private chats between a and b in the daemon's database (read beside it). */
static int blk_private_chats(int64_t a, int64_t b)
{
	char path[512];
	sqlite3 *db;
	sqlite3_stmt *q;
	int n;

	snprintf(path, sizeof(path), "%s/parley.db", harness_data_dir(blk_h));
	assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, "SELECT count(*) FROM chats WHERE type = 1 AND user_lo = ?1 AND user_hi = ?2",
					    -1, &q, NULL), SQLITE_OK);
	sqlite3_bind_int64(q, 1, a < b ? a : b);
	sqlite3_bind_int64(q, 2, a < b ? b : a);
	assert_int_equal(sqlite3_step(q), SQLITE_ROW);
	n = sqlite3_column_int(q, 0);
	sqlite3_finalize(q);
	sqlite3_close(db);
	return n;
}

#define BLK_NEIGHBOURS 4
#define BLK_SENDS 10

struct blk_sender {
	pthread_t th;
	struct parley_client *c;
	int64_t to;
	int ok;
};

static void *blk_sender_main(void *arg)
{
	struct blk_sender *n = arg;

	for (int i = 0; i < BLK_SENDS; i++) {
		struct parley_error err;
		json_t *p = blk_msg(n->to, "a neighbour's message"), *r = NULL;

		n->ok += parley_call(n->c, "sendMessage", p, &r, &err) == 0;
		json_decref(p);
		json_decref(r);
	}
	return NULL;
}

/* The writer's rerun count (GET /metrics parley_writer_reruns_total). */
static double blk_reruns(struct parley_client *c)
{
	static const char name[] = "parley_writer_reruns_total ";
	struct parley_error err;
	char *body = NULL;
	const char *l;
	int status = 0;
	double v = -1;

	assert_int_equal(parley_get(c, "/metrics", &status, &body, NULL, &err), 0);
	assert_int_equal(status, 200);
	for (l = body; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL)
		if (!strncmp(l, name, sizeof(name) - 1)) {
			v = strtod(l + sizeof(name) - 1, NULL);
			break;
		}
	free(body);
	assert_true(v >= 0);
	return v;
}

static void test_block_no_trace(void **state)
{
	struct parley_client *d = harness_user(blk_h, "blk_t_dave");
	struct parley_client *e = harness_user(blk_h, "blk_t_erin");
	int64_t did = harness_user_id(blk_h, "blk_t_dave"), eid = harness_user_id(blk_h, "blk_t_erin");
	struct blk_sender nb[BLK_NEIGHBOURS];
	struct parley_error err;
	char name[32];
	json_t *h = NULL, *m;
	int64_t sum = 0;
	double reruns;
	size_t k;

	for (int i = 0; i < BLK_NEIGHBOURS; i++) {
		snprintf(name, sizeof(name), "blk_t_n%d", i);
		nb[i] = (struct blk_sender){.c = harness_user(blk_h, name), .to = did};
	}
	TRUE_OK(d, "blockUser", blk_user(eid));
	assert_int_equal(blk_private_chats(did, eid), 0);
	reruns = blk_reruns(d);
	/* E's first messages to D while D's neighbours write to D. */
	for (int i = 0; i < BLK_NEIGHBOURS; i++)
		assert_int_equal(pthread_create(&nb[i].th, NULL, blk_sender_main, &nb[i]), 0);
	for (int i = 0; i < BLK_SENDS; i++)
		FAILS(e, "sendMessage", blk_msg(did, "hello stranger"), 403, "USER_BLOCKED");
	for (int i = 0; i < BLK_NEIGHBOURS; i++) {
		pthread_join(nb[i].th, NULL);
		assert_int_equal(nb[i].ok, BLK_SENDS);
		snprintf(name, sizeof(name), "blk_t_n%d", i);
		/* Kept once each: ids 1 to BLK_SENDS. */
		assert_int_equal(parley_get_history(d, harness_user_id(blk_h, name), 0, 0, 100, &h, &err), 0);
		assert_int_equal(json_array_size(h), BLK_SENDS);
		json_array_foreach(h, k, m)
			sum += blk_int(m, "message_id");
		json_decref(h);
	}
	assert_int_equal(sum, BLK_NEIGHBOURS * BLK_SENDS * (BLK_SENDS + 1) / 2);
	assert_int_equal(blk_private_chats(did, eid), 0);
	/* Refused before the chat was made: no call failed after a change, so
	 * the writer never rolled a group back to run it again. */
	assert_true(blk_reruns(d) == reruns);
	assert_false(blk_sees(d, eid, "hello stranger"));

	TRUE_OK(d, "unblockUser", blk_user(eid));
	blk_send(e, did, "hello again");
	assert_int_equal(blk_private_chats(did, eid), 1);
	assert_true(blk_sees(d, eid, "hello again"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_block_messages),
		cmocka_unit_test(test_block_group_invites),
		cmocka_unit_test(test_block_no_trace),
	};

	return cmocka_run_group_tests(tests, blk_setup, blk_teardown);
}
