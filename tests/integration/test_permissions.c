/*
 * test_permissions.c — roles and permissions in groups and channels, as
 * users see them through libparley against the real parleyd
 * (tests/integration/harness.h).
 *
 * Covered: a non-member neither reads (CHAT_FORBIDDEN) nor posts
 * (CHAT_WRITE_FORBIDDEN) in a private group; channel subscribers read but
 * do not post; a removed member loses access and cannot rejoin by link
 * (USER_BANNED_IN_CHAT) until unbanned; can_send_messages false stops
 * members but not admins; only the creator promotes; admins delete others'
 * messages, members cannot (MESSAGE_DELETE_FORBIDDEN); after leaveChat no
 * access.
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

static struct harness *perm_h;

/* Calls method with params (stolen); fails the test, naming the line,
 * unless the server answers ok.  Returns the result (caller releases). */
#define OK(c, method, params) harness_call_ok((c), (method), (params), __LINE__)
/* As OK, but the server must answer with this HTTP status and code. */
#define FAILS(c, method, params, status, code) harness_call_fails((c), (method), (params), (status), (code), __LINE__)
/* OK for methods whose result is just True. */
#define TRUE_OK(c, method, params) json_decref(OK((c), (method), (params)))


static int64_t perm_int(json_t *obj, const char *key)
{
	json_t *v = json_object_get(obj, key);

	assert_true(json_is_integer(v));
	return (int64_t)json_integer_value(v);
}

static json_t *perm_chat(int64_t chat_id)
{
	return json_pack("{s:I}", "chat_id", (json_int_t)chat_id);
}

static json_t *perm_chat_user(int64_t chat_id, int64_t user_id)
{
	return json_pack("{s:I, s:I}", "chat_id", (json_int_t)chat_id, "user_id", (json_int_t)user_id);
}

static json_t *perm_msg(int64_t chat_id, const char *text)
{
	return json_pack("{s:I, s:s}", "chat_id", (json_int_t)chat_id, "text", text);
}

static int64_t perm_send(struct parley_client *c, int64_t chat_id, const char *text)
{
	json_t *m = OK(c, "sendMessage", perm_msg(chat_id, text));
	int64_t id = perm_int(m, "message_id");

	json_decref(m);
	return id;
}

/* Does c's latest page of chat_id hold a message with this text? */
static int perm_sees(struct parley_client *c, int64_t chat_id, const char *text)
{
	json_t *msgs = OK(c, "getHistory", json_pack("{s:I, s:i}", "chat_id", (json_int_t)chat_id, "limit", 100));
	json_t *m;
	size_t i;
	int found = 0;

	json_array_foreach(msgs, i, m) {
		json_t *t = json_object_get(m, "text");
		if (json_is_string(t) && strcmp(json_string_value(t), text) == 0)
			found = 1;
	}
	json_decref(msgs);
	return found;
}

/* c's status in chat_id as the given viewer reads it via getChatMember. */
static void perm_status_is(struct parley_client *viewer, int64_t chat_id, int64_t uid, const char *status)
{
	json_t *m = OK(viewer, "getChatMember", perm_chat_user(chat_id, uid));

	assert_string_equal(json_string_value(json_object_get(m, "status")), status);
	assert_int_equal(perm_int(json_object_get(m, "user"), "id"), uid);
	json_decref(m);
}

/* Creates a group titled title by owner with the given members. */
static int64_t perm_group(struct parley_client *owner, const char *title, const int64_t *uids, size_t n)
{
	struct parley_error err;
	int64_t id = 0;

	if (parley_create_group(owner, title, uids, n, &id, &err) < 0) {
		print_error("createGroup: %s: %s\n", err.code, err.description);
		fail();
	}
	assert_true(id < 0);
	return id;
}

static int perm_setup(void **state)
{
	perm_h = harness_start(NULL);
	return perm_h ? 0 : -1;
}

static int perm_teardown(void **state)
{
	harness_free(perm_h);
	perm_h = NULL;
	return 0;
}

static void test_non_member_private_group(void **state)
{
	struct parley_client *owner = harness_user(perm_h, "pnm_owner");
	struct parley_client *mem = harness_user(perm_h, "pnm_member");
	struct parley_client *out = harness_user(perm_h, "pnm_outsider");
	int64_t mid = harness_user_id(perm_h, "pnm_member");
	int64_t g = perm_group(owner, "Private club", &mid, 1);

	perm_send(owner, g, "members only");
	assert_true(perm_sees(mem, g, "members only"));
	perm_send(mem, g, "hi from a member");

	FAILS(out, "getHistory", perm_chat(g), 403, "CHAT_FORBIDDEN");
	FAILS(out, "sendMessage", perm_msg(g, "let me in"), 403, "CHAT_WRITE_FORBIDDEN");
	FAILS(out, "searchMessages", json_pack("{s:s, s:I}", "query", "members", "chat_id", (json_int_t)g), 403,
	      "CHAT_FORBIDDEN");
	FAILS(out, "readHistory", perm_chat(g), 403, "CHAT_FORBIDDEN");
	FAILS(out, "forwardMessage", json_pack("{s:I, s:I, s:I}", "chat_id", (json_int_t)mid, "from_chat_id",
					       (json_int_t)g, "message_id", (json_int_t)1),
	      403, "CHAT_FORBIDDEN");
	/* A private group is not joined by id, and not listed to outsiders. */
	FAILS(out, "joinChat", perm_chat(g), 403, "CHAT_FORBIDDEN");
	FAILS(out, "addChatMembers", json_pack("{s:I, s:[I]}", "chat_id", (json_int_t)g, "user_ids",
					       (json_int_t)harness_user_id(perm_h, "pnm_outsider")),
	      403, "CHAT_FORBIDDEN");
	assert_true(perm_sees(mem, g, "members only"));
	assert_true(perm_sees(owner, g, "hi from a member"));
}

static void test_channel_subscriber_cannot_post(void **state)
{
	struct parley_client *owner = harness_user(perm_h, "pch_owner");
	struct parley_client *sub = harness_user(perm_h, "pch_sub");
	struct parley_error err;
	int64_t ch = 0;
	json_t *chat;

	assert_int_equal(parley_create_channel(owner, "Announcements", "pch_news", &ch, &err), 0);
	chat = OK(sub, "joinChat", json_pack("{s:s}", "chat_id", "@pch_news"));
	assert_int_equal(perm_int(chat, "id"), ch);
	assert_string_equal(json_string_value(json_object_get(chat, "my_status")), "member");
	json_decref(chat);

	perm_send(owner, ch, "first post");
	assert_true(perm_sees(sub, ch, "first post"));
	FAILS(sub, "sendMessage", perm_msg(ch, "can I post?"), 403, "CHAT_WRITE_FORBIDDEN");
	FAILS(sub, "sendMessage", json_pack("{s:s, s:s}", "chat_id", "@pch_news", "text", "by name?"), 403,
	      "CHAT_WRITE_FORBIDDEN");
	/* Subscribers cannot edit the channel's posts or delete them for all. */
	FAILS(sub, "editMessageText", json_pack("{s:I, s:I, s:s}", "chat_id", (json_int_t)ch, "message_id",
						 (json_int_t)2, "text", "defaced"),
	      403, "MESSAGE_EDIT_FORBIDDEN");
	FAILS(sub, "deleteMessage", json_pack("{s:I, s:I}", "chat_id", (json_int_t)ch, "message_id", (json_int_t)2),
	      403, "MESSAGE_DELETE_FORBIDDEN");
	FAILS(sub, "setChatTitle", json_pack("{s:I, s:s}", "chat_id", (json_int_t)ch, "title", "Mine"), 403,
	      "CHAT_ADMIN_REQUIRED");
	FAILS(sub, "pinChatMessage", json_pack("{s:I, s:I}", "chat_id", (json_int_t)ch, "message_id", (json_int_t)2),
	      403, "CHAT_ADMIN_REQUIRED");
	assert_false(perm_sees(owner, ch, "can I post?"));
	assert_true(perm_sees(sub, ch, "first post"));

	/* A subscriber removed from a public channel can neither read it nor
	 * join it again by name until unbanned. */
	{
		struct parley_client *gone = harness_user(perm_h, "pch_gone");
		int64_t gid = harness_user_id(perm_h, "pch_gone");
		json_t *n;
		json_decref(OK(gone, "joinChat", json_pack("{s:s}", "chat_id", "@pch_news")));
		TRUE_OK(owner, "banChatMember", perm_chat_user(ch, gid));
		n = OK(owner, "getChatMemberCount", perm_chat(ch));
		assert_int_equal(json_integer_value(n), 2);
		json_decref(n);
		FAILS(gone, "getHistory", perm_chat(ch), 403, "USER_BANNED_IN_CHAT");
		FAILS(gone, "joinChat", json_pack("{s:s}", "chat_id", "@pch_news"), 403, "USER_BANNED_IN_CHAT");
		TRUE_OK(owner, "unbanChatMember", perm_chat_user(ch, gid));
		assert_true(perm_sees(gone, ch, "first post")); /* public again: readable */
		json_decref(OK(gone, "joinChat", json_pack("{s:s}", "chat_id", "@pch_news")));
	}

	/* Promoted to admin, the subscriber posts. */
	TRUE_OK(owner, "promoteChatMember", perm_chat_user(ch, harness_user_id(perm_h, "pch_sub")));
	perm_send(sub, ch, "now an admin");
	assert_true(perm_sees(owner, ch, "now an admin"));
}

static void test_ban_and_unban(void **state)
{
	struct parley_client *owner = harness_user(perm_h, "pban_owner");
	struct parley_client *bad = harness_user(perm_h, "pban_troll");
	struct parley_client *ok = harness_user(perm_h, "pban_nice");
	int64_t ids[2] = {harness_user_id(perm_h, "pban_troll"), harness_user_id(perm_h, "pban_nice")};
	int64_t g = perm_group(owner, "Moderated", ids, 2);
	json_t *link_res, *res;
	char link[600];

	link_res = OK(owner, "exportChatInviteLink", perm_chat(g));
	assert_true(json_is_string(link_res));
	snprintf(link, sizeof link, "%s", json_string_value(link_res));
	json_decref(link_res);

	perm_send(bad, g, "spam spam spam");
	perm_status_is(ok, g, ids[0], "member");

	/* Members cannot remove each other; admins can. */
	FAILS(ok, "banChatMember", perm_chat_user(g, ids[0]), 403, "CHAT_ADMIN_REQUIRED");
	TRUE_OK(owner, "banChatMember", perm_chat_user(g, ids[0]));
	perm_status_is(owner, g, ids[0], "kicked");
	res = OK(owner, "getChatMemberCount", perm_chat(g));
	assert_int_equal(json_integer_value(res), 2);
	json_decref(res);

	/* Removed: no reading, no posting, no rejoining by link or by adding. */
	FAILS(bad, "getHistory", perm_chat(g), 403, "USER_BANNED_IN_CHAT");
	FAILS(bad, "sendMessage", perm_msg(g, "I am back"), 403, "CHAT_WRITE_FORBIDDEN");
	FAILS(bad, "joinChat", json_pack("{s:s}", "invite_link", link), 403, "USER_BANNED_IN_CHAT");
	FAILS(ok, "addChatMembers", json_pack("{s:I, s:[I]}", "chat_id", (json_int_t)g, "user_ids", (json_int_t)ids[0]),
	      403, "USER_BANNED_IN_CHAT");
	/* The others see who was removed. */
	{
		json_t *msgs = OK(ok, "getHistory", json_pack("{s:I, s:i}", "chat_id", (json_int_t)g, "limit", 1));
		json_t *left = json_object_get(json_array_get(msgs, 0), "left_chat_member");
		assert_non_null(left);
		assert_int_equal(perm_int(left, "id"), ids[0]);
		json_decref(msgs);
	}
	perm_send(owner, g, "after the ban");
	assert_true(perm_sees(ok, g, "after the ban"));
	perm_status_is(owner, g, ids[0], "kicked");

	/* Only admins unban; unbanning lets them rejoin but does not add them. */
	FAILS(ok, "unbanChatMember", perm_chat_user(g, ids[0]), 403, "CHAT_ADMIN_REQUIRED");
	TRUE_OK(owner, "unbanChatMember", perm_chat_user(g, ids[0]));
	perm_status_is(owner, g, ids[0], "left");
	FAILS(bad, "getHistory", perm_chat(g), 403, "CHAT_FORBIDDEN");
	res = OK(bad, "joinChat", json_pack("{s:s}", "invite_link", link));
	assert_int_equal(perm_int(res, "id"), g);
	assert_string_equal(json_string_value(json_object_get(res, "my_status")), "member");
	json_decref(res);
	perm_status_is(owner, g, ids[0], "member");
	perm_send(owner, g, "welcome back");
	assert_true(perm_sees(bad, g, "welcome back"));
	perm_send(bad, g, "sorry");
	assert_true(perm_sees(ok, g, "sorry"));
	res = OK(ok, "getChatMemberCount", perm_chat(g));
	assert_int_equal(json_integer_value(res), 3);
	json_decref(res);

	/* Only the creator removes an admin. */
	TRUE_OK(owner, "promoteChatMember", perm_chat_user(g, ids[1]));
	TRUE_OK(owner, "promoteChatMember", perm_chat_user(g, ids[0]));
	FAILS(ok, "banChatMember", perm_chat_user(g, ids[0]), 403, "CHAT_CREATOR_REQUIRED");
	FAILS(ok, "banChatMember", perm_chat_user(g, harness_user_id(perm_h, "pban_owner")), 403,
	      "CHAT_CREATOR_REQUIRED");
}

static void test_send_permission(void **state)
{
	struct parley_client *owner = harness_user(perm_h, "psend_owner");
	struct parley_client *adm = harness_user(perm_h, "psend_admin");
	struct parley_client *mem = harness_user(perm_h, "psend_member");
	int64_t ids[2] = {harness_user_id(perm_h, "psend_admin"), harness_user_id(perm_h, "psend_member")};
	int64_t g = perm_group(owner, "Quiet room", ids, 2);
	json_t *chat, *perms;

	TRUE_OK(owner, "promoteChatMember", perm_chat_user(g, ids[0]));
	perm_send(mem, g, "members may talk");

	FAILS(mem, "setChatPermissions", json_pack("{s:I, s:{s:b}}", "chat_id", (json_int_t)g, "permissions",
						    "can_send_messages", 0),
	      403, "CHAT_ADMIN_REQUIRED");
	TRUE_OK(adm, "setChatPermissions", json_pack("{s:I, s:{s:b}}", "chat_id", (json_int_t)g, "permissions",
						      "can_send_messages", 0));
	chat = OK(mem, "getChat", perm_chat(g));
	perms = json_object_get(chat, "permissions");
	assert_true(json_is_false(json_object_get(perms, "can_send_messages")));
	assert_true(json_is_true(json_object_get(perms, "can_invite_users"))); /* untouched */
	json_decref(chat);

	FAILS(mem, "sendMessage", perm_msg(g, "still talking?"), 403, "CHAT_WRITE_FORBIDDEN");
	perm_send(adm, g, "admins still talk");
	perm_send(owner, g, "so does the owner");
	assert_true(perm_sees(mem, g, "admins still talk"));
	assert_true(perm_sees(mem, g, "so does the owner"));
	assert_false(perm_sees(owner, g, "still talking?"));

	/* A demoted admin is a plain member again, and silenced. */
	TRUE_OK(owner, "promoteChatMember", json_pack("{s:I, s:I, s:b}", "chat_id", (json_int_t)g, "user_id",
						       (json_int_t)ids[0], "is_admin", 0));
	perm_status_is(mem, g, ids[0], "member");
	FAILS(adm, "sendMessage", perm_msg(g, "demoted"), 403, "CHAT_WRITE_FORBIDDEN");

	TRUE_OK(owner, "setChatPermissions", json_pack("{s:I, s:{s:b}}", "chat_id", (json_int_t)g, "permissions",
							"can_send_messages", 1));
	perm_send(mem, g, "talking again");
	perm_send(adm, g, "me too");
	assert_true(perm_sees(owner, g, "talking again"));
}

static void test_promote_only_by_creator(void **state)
{
	struct parley_client *owner = harness_user(perm_h, "pprom_owner");
	struct parley_client *adm = harness_user(perm_h, "pprom_admin");
	struct parley_client *mem = harness_user(perm_h, "pprom_member");
	struct parley_client *out = harness_user(perm_h, "pprom_outside");
	int64_t oid = harness_user_id(perm_h, "pprom_owner");
	int64_t ids[2] = {harness_user_id(perm_h, "pprom_admin"), harness_user_id(perm_h, "pprom_member")};
	int64_t g = perm_group(owner, "Hierarchy", ids, 2);
	json_t *admins, *a;
	size_t i;
	int seen_owner = 0, seen_admin = 0;

	FAILS(mem, "promoteChatMember", perm_chat_user(g, ids[1]), 403, "CHAT_CREATOR_REQUIRED");
	TRUE_OK(owner, "promoteChatMember", perm_chat_user(g, ids[0]));
	perm_status_is(mem, g, ids[0], "administrator");
	perm_status_is(mem, g, oid, "creator");
	/* An admin cannot make more admins, nor demote the creator. */
	FAILS(adm, "promoteChatMember", perm_chat_user(g, ids[1]), 403, "CHAT_CREATOR_REQUIRED");
	FAILS(adm, "promoteChatMember", json_pack("{s:I, s:I, s:b}", "chat_id", (json_int_t)g, "user_id",
						   (json_int_t)oid, "is_admin", 0),
	      403, "CHAT_CREATOR_REQUIRED");
	perm_status_is(mem, g, ids[1], "member");
	/* Not a member: cannot be promoted. */
	FAILS(owner, "promoteChatMember", perm_chat_user(g, harness_user_id(perm_h, "pprom_outside")), 400,
	      "USER_NOT_PARTICIPANT");
	FAILS(out, "promoteChatMember", perm_chat_user(g, ids[1]), 403, "CHAT_FORBIDDEN");

	admins = OK(mem, "getChatAdministrators", perm_chat(g));
	assert_int_equal(json_array_size(admins), 2);
	json_array_foreach(admins, i, a) {
		int64_t uid = perm_int(json_object_get(a, "user"), "id");
		const char *st = json_string_value(json_object_get(a, "status"));
		if (uid == oid && strcmp(st, "creator") == 0)
			seen_owner = 1;
		if (uid == ids[0] && strcmp(st, "administrator") == 0)
			seen_admin = 1;
	}
	assert_true(seen_owner && seen_admin);
	json_decref(admins);
	/* Roles do not change the head count. */
	admins = OK(mem, "getChatMemberCount", perm_chat(g));
	assert_int_equal(json_integer_value(admins), 3);
	json_decref(admins);

	/* The new admin can do admin things. */
	TRUE_OK(adm, "setChatTitle", json_pack("{s:I, s:s}", "chat_id", (json_int_t)g, "title", "Renamed"));
	FAILS(mem, "setChatTitle", json_pack("{s:I, s:s}", "chat_id", (json_int_t)g, "title", "Mine"), 403,
	      "CHAT_ADMIN_REQUIRED");
}

static void test_delete_others_messages(void **state)
{
	struct parley_client *owner = harness_user(perm_h, "pdel_owner");
	struct parley_client *adm = harness_user(perm_h, "pdel_admin");
	struct parley_client *m1 = harness_user(perm_h, "pdel_m1");
	struct parley_client *m2 = harness_user(perm_h, "pdel_m2");
	int64_t ids[3] = {harness_user_id(perm_h, "pdel_admin"), harness_user_id(perm_h, "pdel_m1"),
			  harness_user_id(perm_h, "pdel_m2")};
	int64_t g = perm_group(owner, "Cleanup", ids, 3);
	int64_t a, b, c;

	TRUE_OK(owner, "promoteChatMember", perm_chat_user(g, ids[0]));
	a = perm_send(m1, g, "m1 says rude things");
	b = perm_send(m2, g, "m2 says nice things");
	c = perm_send(m1, g, "m1 regrets");

	/* A member cannot delete another's message for everyone, even in a batch. */
	FAILS(m2, "deleteMessage", json_pack("{s:I, s:I}", "chat_id", (json_int_t)g, "message_id", (json_int_t)a), 403,
	      "MESSAGE_DELETE_FORBIDDEN");
	FAILS(m2, "deleteMessages", json_pack("{s:I, s:[I,I]}", "chat_id", (json_int_t)g, "message_ids",
					      (json_int_t)b, (json_int_t)a),
	      403, "MESSAGE_DELETE_FORBIDDEN");
	assert_true(perm_sees(m1, g, "m2 says nice things")); /* all or none */
	assert_true(perm_sees(owner, g, "m1 says rude things"));

	/* The admin can; everyone stops seeing it. */
	TRUE_OK(adm, "deleteMessage", json_pack("{s:I, s:I}", "chat_id", (json_int_t)g, "message_id", (json_int_t)a));
	assert_false(perm_sees(owner, g, "m1 says rude things"));
	assert_false(perm_sees(m1, g, "m1 says rude things"));
	assert_false(perm_sees(m2, g, "m1 says rude things"));
	/* The sender deletes their own; the creator deletes anyone's. */
	TRUE_OK(m1, "deleteMessage", json_pack("{s:I, s:I}", "chat_id", (json_int_t)g, "message_id", (json_int_t)c));
	assert_false(perm_sees(m2, g, "m1 regrets"));
	TRUE_OK(owner, "deleteMessage", json_pack("{s:I, s:I}", "chat_id", (json_int_t)g, "message_id", (json_int_t)b));
	assert_false(perm_sees(m1, g, "m2 says nice things"));
	FAILS(adm, "deleteMessage", json_pack("{s:I, s:I}", "chat_id", (json_int_t)g, "message_id", (json_int_t)b), 400,
	      "MESSAGE_NOT_FOUND");
}

static void test_leave_chat(void **state)
{
	struct parley_client *owner = harness_user(perm_h, "pleave_owner");
	struct parley_client *mem = harness_user(perm_h, "pleave_member");
	int64_t mid = harness_user_id(perm_h, "pleave_member");
	int64_t g = perm_group(owner, "Temporary", &mid, 1);
	json_t *res;

	perm_send(owner, g, "before leaving");
	assert_true(perm_sees(mem, g, "before leaving"));
	TRUE_OK(mem, "leaveChat", perm_chat(g));
	perm_status_is(owner, g, mid, "left");
	perm_send(owner, g, "after leaving");

	FAILS(mem, "getHistory", perm_chat(g), 403, "CHAT_FORBIDDEN");
	FAILS(mem, "sendMessage", perm_msg(g, "one more thing"), 403, "CHAT_WRITE_FORBIDDEN");
	FAILS(mem, "leaveChat", perm_chat(g), 400, "USER_NOT_PARTICIPANT");
	res = OK(owner, "getChatMemberCount", perm_chat(g));
	assert_int_equal(json_integer_value(res), 1);
	json_decref(res);

	/* The creator leaving a channel cannot read it any more either. */
	{
		struct parley_error err;
		int64_t ch = 0;
		assert_int_equal(parley_create_channel(owner, "Secret channel", NULL, &ch, &err), 0);
		perm_send(owner, ch, "private post");
		TRUE_OK(owner, "leaveChat", perm_chat(ch));
		FAILS(owner, "getHistory", perm_chat(ch), 403, "CHAT_FORBIDDEN");
		FAILS(owner, "sendMessage", perm_msg(ch, "still mine?"), 403, "CHAT_WRITE_FORBIDDEN");
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_non_member_private_group),
		cmocka_unit_test(test_channel_subscriber_cannot_post),
		cmocka_unit_test(test_ban_and_unban),
		cmocka_unit_test(test_send_permission),
		cmocka_unit_test(test_promote_only_by_creator),
		cmocka_unit_test(test_delete_others_messages),
		cmocka_unit_test(test_leave_chat),
	};

	return cmocka_run_group_tests(tests, perm_setup, perm_teardown);
}
