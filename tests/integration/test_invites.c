/*
 * test_invites.c — invite links and public chats, as users see them through
 * libparley against the real parleyd (tests/integration/harness.h).
 *
 * Covered: joining by a valid link works and the joiner reads new messages;
 * a link past its expire_date is refused (INVITE_HASH_EXPIRED); a
 * member_limit 2 link refuses the third joiner (INVITE_USAGE_LIMIT);
 * revoked links are refused; unknown or malformed links answer
 * INVITE_HASH_INVALID; exportChatInviteLink revokes the previous primary
 * link; a public channel is joined by "@name"; joins racing for the last
 * seats of a limited link and admins racing to export leave exactly the
 * limit joined and exactly one live primary link.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"
#include "parley.h"

#define INV_EXPIRE_AHEAD_S 2   /* how far ahead the expiring link's expire_date is */
#define INV_LINK_MAX 600
#define INV_RACERS 8           /* users joining (or exporting) at the same moment */
#define INV_RACE_LIMIT 3       /* member_limit of the raced link */
#define INV_EXPORTS 5          /* exports per racing admin */

static struct harness *inv_h;

/* Calls method with params (stolen); fails the test, naming the line,
 * unless the server answers ok.  Returns the result (caller releases). */
#define OK(c, method, params) harness_call_ok((c), (method), (params), __LINE__)
/* As OK, but the server must answer with this HTTP status and code. */
#define FAILS(c, method, params, status, code) harness_call_fails((c), (method), (params), (status), (code), __LINE__)
#define TRUE_OK(c, method, params) json_decref(OK((c), (method), (params)))


static int64_t inv_int(json_t *obj, const char *key)
{
	json_t *v = json_object_get(obj, key);

	assert_true(json_is_integer(v));
	return (int64_t)json_integer_value(v);
}

static json_t *inv_chat(int64_t chat_id)
{
	return json_pack("{s:I}", "chat_id", (json_int_t)chat_id);
}

static json_t *inv_link(const char *link)
{
	return json_pack("{s:s}", "invite_link", link);
}

static int64_t inv_group(struct parley_client *owner, const char *title)
{
	struct parley_error err;
	int64_t id = 0;

	if (parley_create_group(owner, title, NULL, 0, &id, &err) < 0) {
		print_error("createGroup: %s: %s\n", err.code, err.description);
		fail();
	}
	return id;
}

/* Copies the invite_link of a ChatInviteLink into out and releases it. */
static void inv_take_link(json_t *link, char *out)
{
	json_t *v = json_object_get(link, "invite_link");

	assert_true(json_is_string(v));
	assert_true(strlen(json_string_value(v)) < INV_LINK_MAX);
	strcpy(out, json_string_value(v));
	json_decref(link);
}

/* Joins by link and checks the reply names chat_id with status member. */
static void inv_join_ok(struct parley_client *c, const char *link, int64_t chat_id)
{
	json_t *chat = OK(c, "joinChat", inv_link(link));

	assert_int_equal(inv_int(chat, "id"), chat_id);
	assert_string_equal(json_string_value(json_object_get(chat, "my_status")), "member");
	json_decref(chat);
}

static int64_t inv_send(struct parley_client *c, int64_t chat_id, const char *text)
{
	struct parley_error err;
	int64_t id = 0;

	if (parley_send_message(c, chat_id, text, 0, &id, &err) < 0) {
		print_error("sendMessage: %s: %s\n", err.code, err.description);
		fail();
	}
	return id;
}

/* Does c's latest history page of chat_id show text? */
static int inv_sees(struct parley_client *c, int64_t chat_id, const char *text)
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

static int64_t inv_member_count(struct parley_client *c, int64_t chat_id)
{
	json_t *n = OK(c, "getChatMemberCount", inv_chat(chat_id));
	int64_t v;

	assert_true(json_is_integer(n));
	v = (int64_t)json_integer_value(n);
	json_decref(n);
	return v;
}

static int inv_setup(void **state)
{
	inv_h = harness_start(NULL);
	return inv_h ? 0 : -1;
}

static int inv_teardown(void **state)
{
	harness_free(inv_h);
	inv_h = NULL;
	return 0;
}

static void test_join_by_link(void **state)
{
	struct parley_client *owner = harness_user(inv_h, "inv_owner");
	struct parley_client *joiner = harness_user(inv_h, "inv_joiner");
	int64_t g = inv_group(owner, "Book club");
	char link[INV_LINK_MAX];
	json_t *l;

	inv_send(owner, g, "welcome to the club");
	FAILS(joiner, "getHistory", inv_chat(g), 403, "CHAT_FORBIDDEN");

	l = OK(owner, "createChatInviteLink", json_pack("{s:I, s:s}", "chat_id", (json_int_t)g, "name", "for friends"));
	assert_string_equal(json_string_value(json_object_get(l, "name")), "for friends");
	assert_true(json_is_false(json_object_get(l, "is_revoked")));
	assert_true(json_is_false(json_object_get(l, "is_primary")));
	assert_int_equal(inv_int(json_object_get(l, "creator"), "id"), harness_user_id(inv_h, "inv_owner"));
	inv_take_link(l, link);

	inv_join_ok(joiner, link, g);
	assert_int_equal(inv_member_count(owner, g), 2);
	inv_send(owner, g, "glad you joined");
	assert_true(inv_sees(joiner, g, "glad you joined"));
	inv_send(joiner, g, "thanks");
	assert_true(inv_sees(owner, g, "thanks"));
	/* The join shows in the chat as a service message naming the joiner. */
	{
		struct parley_error err;
		json_t *msgs = NULL, *m;
		size_t i;
		int joined = 0;
		assert_int_equal(parley_get_history(owner, g, 0, 0, 100, &msgs, &err), 0);
		json_array_foreach(msgs, i, m) {
			json_t *who = json_object_get(m, "new_chat_members");
			if (json_is_array(who) && json_array_size(who) == 1 &&
			    inv_int(json_array_get(who, 0), "id") == harness_user_id(inv_h, "inv_joiner"))
				joined++;
		}
		assert_int_equal(joined, 1);
		json_decref(msgs);
	}

	/* Joining twice is refused and does not count. */
	FAILS(joiner, "joinChat", inv_link(link), 400, "USER_ALREADY_PARTICIPANT");
	assert_int_equal(inv_member_count(owner, g), 2);
	/* The link works in its other spellings too: "+CODE" and "CODE". */
	{
		struct parley_client *third = harness_user(inv_h, "inv_third");
		const char *code = strrchr(link, '+');
		assert_non_null(code);
		inv_join_ok(third, code, g);
		TRUE_OK(third, "leaveChat", inv_chat(g));
		inv_join_ok(third, code + 1, g);
	}
	/* Only admins list links; usage counts the joins. */
	FAILS(joiner, "getChatInviteLinks", inv_chat(g), 403, "CHAT_ADMIN_REQUIRED");
	l = OK(owner, "getChatInviteLinks", inv_chat(g));
	assert_int_equal(json_array_size(l), 1);
	assert_int_equal(inv_int(json_array_get(l, 0), "usage"), 3);
	json_decref(l);
}

static void test_expired_link(void **state)
{
	struct parley_client *owner = harness_user(inv_h, "inv_exp_owner");
	struct parley_client *early = harness_user(inv_h, "inv_exp_early");
	struct parley_client *late = harness_user(inv_h, "inv_exp_late");
	int64_t g = inv_group(owner, "Limited time");
	int64_t expire = (int64_t)time(NULL) + INV_EXPIRE_AHEAD_S;
	char link[INV_LINK_MAX];
	json_t *l;

	/* An expire_date in the past is refused outright. */
	FAILS(owner, "createChatInviteLink", json_pack("{s:I, s:I}", "chat_id", (json_int_t)g, "expire_date",
							(json_int_t)(expire - 100)),
	      400, "PARAM_INVALID");

	l = OK(owner, "createChatInviteLink", json_pack("{s:I, s:I}", "chat_id", (json_int_t)g, "expire_date",
							 (json_int_t)expire));
	assert_int_equal(inv_int(l, "expire_date"), expire);
	inv_take_link(l, link);
	inv_join_ok(early, link, g);

	while ((int64_t)time(NULL) <= expire)
		usleep(100 * 1000);
	FAILS(late, "joinChat", inv_link(link), 400, "INVITE_HASH_EXPIRED");
	FAILS(late, "getHistory", inv_chat(g), 403, "CHAT_FORBIDDEN");
	assert_int_equal(inv_member_count(owner, g), 2);
	/* Those who joined in time stay. */
	inv_send(owner, g, "still here?");
	assert_true(inv_sees(early, g, "still here?"));
}

static void test_member_limit(void **state)
{
	struct parley_client *owner = harness_user(inv_h, "inv_lim_owner");
	struct parley_client *u[3] = {harness_user(inv_h, "inv_lim_one"), harness_user(inv_h, "inv_lim_two"),
				      harness_user(inv_h, "inv_lim_three")};
	int64_t g = inv_group(owner, "Two seats");
	char link[INV_LINK_MAX];
	json_t *l;

	FAILS(owner, "createChatInviteLink", json_pack("{s:I, s:i}", "chat_id", (json_int_t)g, "member_limit", 0), 400,
	      "PARAM_INVALID");
	l = OK(owner, "createChatInviteLink", json_pack("{s:I, s:i}", "chat_id", (json_int_t)g, "member_limit", 2));
	assert_int_equal(inv_int(l, "member_limit"), 2);
	assert_int_equal(inv_int(l, "usage"), 0);
	inv_take_link(l, link);

	inv_join_ok(u[0], link, g);
	/* A refused re-join by a member does not use a seat. */
	FAILS(u[0], "joinChat", inv_link(link), 400, "USER_ALREADY_PARTICIPANT");
	inv_join_ok(u[1], link, g);
	FAILS(u[2], "joinChat", inv_link(link), 400, "INVITE_USAGE_LIMIT");
	FAILS(u[2], "getHistory", inv_chat(g), 403, "CHAT_FORBIDDEN");
	assert_int_equal(inv_member_count(owner, g), 3);

	l = OK(owner, "getChatInviteLinks", inv_chat(g));
	assert_int_equal(json_array_size(l), 1);
	assert_int_equal(inv_int(json_array_get(l, 0), "usage"), 2);
	json_decref(l);

	/* A member who leaves does not free a seat on the link. */
	TRUE_OK(u[1], "leaveChat", inv_chat(g));
	FAILS(u[2], "joinChat", inv_link(link), 400, "INVITE_USAGE_LIMIT");
}

static void test_revoked_and_unknown_links(void **state)
{
	struct parley_client *owner = harness_user(inv_h, "inv_rev_owner");
	struct parley_client *member = harness_user(inv_h, "inv_rev_member");
	struct parley_client *u = harness_user(inv_h, "inv_rev_user");
	int64_t g = inv_group(owner, "Closed doors"), other = inv_group(u, "Elsewhere");
	char link[INV_LINK_MAX], unknown[INV_LINK_MAX + 32], mine[INV_LINK_MAX];
	json_t *l;

	inv_take_link(OK(owner, "createChatInviteLink", inv_chat(g)), link);
	inv_join_ok(member, link, g);

	/* A plain member may not revoke the owner's link. */
	FAILS(member, "revokeChatInviteLink", json_pack("{s:I, s:s}", "chat_id", (json_int_t)g, "invite_link", link),
	      403, "CHAT_ADMIN_REQUIRED");
	/* A link is revoked through its own chat only. */
	FAILS(u, "revokeChatInviteLink", json_pack("{s:I, s:s}", "chat_id", (json_int_t)other, "invite_link", link),
	      400, "INVITE_HASH_INVALID");
	l = OK(owner, "revokeChatInviteLink", json_pack("{s:I, s:s}", "chat_id", (json_int_t)g, "invite_link", link));
	assert_true(json_is_true(json_object_get(l, "is_revoked")));
	json_decref(l);
	FAILS(u, "joinChat", inv_link(link), 400, "INVITE_HASH_EXPIRED");
	FAILS(u, "getHistory", inv_chat(g), 403, "CHAT_FORBIDDEN");

	/* Links that never existed, and things that are not links. */
	snprintf(unknown, sizeof unknown, "%.*s+AAAAAAAAAAAAAAAA", (int)(strrchr(link, '+') - link), link);
	FAILS(u, "joinChat", inv_link(unknown), 400, "INVITE_HASH_INVALID");
	FAILS(u, "joinChat", inv_link("ZZZZZZZZZZZZZZZZ"), 400, "INVITE_HASH_INVALID");
	FAILS(u, "joinChat", inv_link("not a link at all!"), 400, "INVITE_HASH_INVALID");
	FAILS(u, "joinChat", inv_link("https://example.org/+"), 400, "INVITE_HASH_INVALID");
	FAILS(u, "joinChat", inv_link("'; DROP TABLE links; --"), 400, "INVITE_HASH_INVALID");
	FAILS(u, "revokeChatInviteLink", json_pack("{s:I, s:s}", "chat_id", (json_int_t)g, "invite_link", unknown), 403,
	      "CHAT_FORBIDDEN");
	FAILS(owner, "revokeChatInviteLink", json_pack("{s:I, s:s}", "chat_id", (json_int_t)g, "invite_link", unknown),
	      400, "INVITE_HASH_INVALID");

	/* A member of a group that allows inviting makes links of their own
	 * and may revoke those. */
	inv_take_link(OK(member, "createChatInviteLink", inv_chat(g)), mine);
	l = OK(member, "revokeChatInviteLink", json_pack("{s:I, s:s}", "chat_id", (json_int_t)g, "invite_link", mine));
	json_decref(l);
	FAILS(u, "joinChat", inv_link(mine), 400, "INVITE_HASH_EXPIRED");
	assert_int_equal(inv_member_count(owner, g), 2);
}

static void test_export_revokes_previous_primary(void **state)
{
	struct parley_client *owner = harness_user(inv_h, "inv_exp_pr_owner");
	struct parley_client *member = harness_user(inv_h, "inv_exp_pr_member");
	struct parley_client *u1 = harness_user(inv_h, "inv_exp_pr_u1");
	struct parley_client *u2 = harness_user(inv_h, "inv_exp_pr_u2");
	int64_t mid = harness_user_id(inv_h, "inv_exp_pr_member"), g = 0;
	char first[INV_LINK_MAX], second[INV_LINK_MAX], extra[INV_LINK_MAX];
	struct parley_error err;
	json_t *res, *links, *l;
	size_t i;
	int primaries = 0;

	assert_int_equal(parley_create_group(owner, "Primary links", &mid, 1, &g, &err), 0);
	inv_take_link(OK(owner, "createChatInviteLink", inv_chat(g)), extra);
	res = OK(owner, "exportChatInviteLink", inv_chat(g));
	assert_true(json_is_string(res));
	strcpy(first, json_string_value(res));
	json_decref(res);
	res = OK(owner, "exportChatInviteLink", inv_chat(g));
	strcpy(second, json_string_value(res));
	json_decref(res);
	assert_string_not_equal(first, second);

	FAILS(u1, "joinChat", inv_link(first), 400, "INVITE_HASH_EXPIRED");
	inv_join_ok(u1, second, g);
	/* Extra links are not primary and survive the export. */
	inv_join_ok(u2, extra, g);

	/* Plain members do not export (replace) the primary link. */
	FAILS(member, "exportChatInviteLink", inv_chat(g), 403, "CHAT_ADMIN_REQUIRED");

	links = OK(owner, "getChatInviteLinks", inv_chat(g));
	json_array_foreach(links, i, l) {
		const char *s = json_string_value(json_object_get(l, "invite_link"));
		if (json_is_true(json_object_get(l, "is_primary")) && json_is_false(json_object_get(l, "is_revoked"))) {
			primaries++;
			assert_string_equal(s, second);
		}
		if (strcmp(s, first) == 0)
			assert_true(json_is_true(json_object_get(l, "is_revoked")));
	}
	assert_int_equal(primaries, 1);
	json_decref(links);
	assert_int_equal(inv_member_count(owner, g), 4);
}

/* One racing client: calls method with params (borrowed) once everyone is
 * at the gate, and keeps the outcome.  No cmocka calls off the main thread. */
struct inv_racer {
	struct parley_client *c;
	const char *method;
	json_t *params;
	int times;
	pthread_barrier_t *gate;
	int ok;
	char last[INV_LINK_MAX]; /* exportChatInviteLink: the last link made */
	char code[64];           /* the first failure's code */
};

static void *inv_race_main(void *arg)
{
	struct inv_racer *r = arg;

	pthread_barrier_wait(r->gate);
	for (int i = 0; i < r->times; i++) {
		struct parley_error err;
		json_t *res = NULL;

		if (parley_call(r->c, r->method, r->params, &res, &err) == 0) {
			r->ok++;
			if (json_is_string(res) && strlen(json_string_value(res)) < INV_LINK_MAX)
				strcpy(r->last, json_string_value(res));
		} else if (!r->code[0]) {
			snprintf(r->code, sizeof r->code, "%s", err.code);
		}
		json_decref(res);
	}
	return NULL;
}

/* Runs n racers to the end. */
static void inv_race(struct inv_racer *r, int n)
{
	pthread_t t[INV_RACERS];
	pthread_barrier_t gate;

	assert_true(n <= INV_RACERS);
	assert_int_equal(pthread_barrier_init(&gate, NULL, (unsigned)n), 0);
	for (int i = 0; i < n; i++) {
		r[i].gate = &gate;
		assert_int_equal(pthread_create(&t[i], NULL, inv_race_main, &r[i]), 0);
	}
	for (int i = 0; i < n; i++)
		pthread_join(t[i], NULL);
	pthread_barrier_destroy(&gate);
}

static void test_race_for_last_seats(void **state)
{
	struct parley_client *owner = harness_user(inv_h, "inv_race_owner");
	struct inv_racer r[INV_RACERS];
	int64_t g = inv_group(owner, "Few seats");
	char link[INV_LINK_MAX], name[32];
	json_t *params, *l;
	int joined = 0;

	inv_take_link(OK(owner, "createChatInviteLink", json_pack("{s:I, s:i}", "chat_id", (json_int_t)g,
								   "member_limit", INV_RACE_LIMIT)),
		      link);
	params = inv_link(link);
	for (int i = 0; i < INV_RACERS; i++) {
		snprintf(name, sizeof name, "inv_racer_%d", i);
		r[i] = (struct inv_racer){.c = harness_user(inv_h, name), .method = "joinChat", .params = params,
					  .times = 1};
	}
	inv_race(r, INV_RACERS);
	json_decref(params);
	for (int i = 0; i < INV_RACERS; i++) {
		if (r[i].ok)
			joined++;
		else
			assert_string_equal(r[i].code, "INVITE_USAGE_LIMIT");
	}
	assert_int_equal(joined, INV_RACE_LIMIT);
	assert_int_equal(inv_member_count(owner, g), 1 + INV_RACE_LIMIT);
	l = OK(owner, "getChatInviteLinks", inv_chat(g));
	assert_int_equal(inv_int(json_array_get(l, 0), "usage"), INV_RACE_LIMIT);
	json_decref(l);
}

static void test_race_to_export(void **state)
{
	struct parley_client *owner = harness_user(inv_h, "inv_exprace_owner");
	struct parley_client *joiner = harness_user(inv_h, "inv_exprace_joiner");
	struct inv_racer r[INV_RACERS];
	int64_t g = 0, ids[INV_RACERS - 1];
	char name[32];
	struct parley_error err;
	char live_link[INV_LINK_MAX] = "";
	json_t *params, *links, *l;
	size_t i;
	int live = 0, made = 0, handed_out = 0;

	for (int k = 0; k < INV_RACERS - 1; k++) {
		snprintf(name, sizeof name, "inv_exprace_adm%d", k);
		harness_user(inv_h, name);
		ids[k] = harness_user_id(inv_h, name);
	}
	assert_int_equal(parley_create_group(owner, "Many admins", ids, INV_RACERS - 1, &g, &err), 0);
	for (int k = 0; k < INV_RACERS - 1; k++)
		TRUE_OK(owner, "promoteChatMember", json_pack("{s:I, s:I}", "chat_id", (json_int_t)g, "user_id",
							       (json_int_t)ids[k]));
	params = inv_chat(g);
	for (int k = 0; k < INV_RACERS; k++) {
		snprintf(name, sizeof name, "inv_exprace_adm%d", k - 1);
		r[k] = (struct inv_racer){.c = k ? harness_login(inv_h, name) : owner, .method = "exportChatInviteLink",
					  .params = params, .times = INV_EXPORTS};
	}
	inv_race(r, INV_RACERS);
	json_decref(params);
	for (int k = 0; k < INV_RACERS; k++) {
		if (r[k].ok != INV_EXPORTS)
			print_error("exporter %d: %d of %d, %s\n", k, r[k].ok, INV_EXPORTS, r[k].code);
		assert_int_equal(r[k].ok, INV_EXPORTS);
	}

	/* Exactly one primary link is live, and it is one that was handed out. */
	links = OK(owner, "getChatInviteLinks", inv_chat(g));
	json_array_foreach(links, i, l) {
		if (!json_is_true(json_object_get(l, "is_primary")))
			continue;
		made++;
		if (json_is_false(json_object_get(l, "is_revoked"))) {
			live++;
			snprintf(live_link, sizeof live_link, "%s", json_string_value(json_object_get(l, "invite_link")));
		}
	}
	json_decref(links);
	assert_int_equal(made, INV_RACERS * INV_EXPORTS);
	assert_int_equal(live, 1);
	inv_join_ok(joiner, live_link, g);
	/* Of the links each admin got last, only the live one admits anyone. */
	for (int k = 0; k < INV_RACERS; k++) {
		if (strcmp(r[k].last, live_link) == 0) {
			handed_out = 1;
			continue;
		}
		snprintf(name, sizeof name, "inv_exprace_late%d", k);
		FAILS(harness_user(inv_h, name), "joinChat", inv_link(r[k].last), 400, "INVITE_HASH_EXPIRED");
	}
	assert_true(handed_out);
}

static void test_public_channel_by_name(void **state)
{
	struct parley_client *owner = harness_user(inv_h, "inv_pub_owner");
	struct parley_client *fan = harness_user(inv_h, "inv_pub_fan");
	struct parley_client *late = harness_user(inv_h, "inv_pub_late");
	struct parley_error err;
	int64_t ch = 0;
	json_t *chat;

	assert_int_equal(parley_create_channel(owner, "Daily news", "inv_daily", &ch, &err), 0);
	assert_true(ch < 0);
	inv_send(owner, ch, "issue one");

	/* Anyone may look at a public channel before joining. */
	chat = OK(fan, "getChat", json_pack("{s:s}", "chat_id", "@inv_daily"));
	assert_int_equal(inv_int(chat, "id"), ch);
	assert_string_equal(json_string_value(json_object_get(chat, "username")), "inv_daily");
	assert_string_equal(json_string_value(json_object_get(chat, "type")), "channel");
	assert_string_equal(json_string_value(json_object_get(chat, "my_status")), "left");
	json_decref(chat);

	chat = OK(fan, "joinChat", json_pack("{s:s}", "chat_id", "@inv_daily"));
	assert_int_equal(inv_int(chat, "id"), ch);
	assert_string_equal(json_string_value(json_object_get(chat, "my_status")), "member");
	json_decref(chat);
	FAILS(fan, "joinChat", json_pack("{s:s}", "chat_id", "@inv_daily"), 400, "USER_ALREADY_PARTICIPANT");
	/* Names are case-insensitive; the numeric id works too. */
	chat = OK(late, "joinChat", json_pack("{s:s}", "chat_id", "@Inv_Daily"));
	json_decref(chat);
	TRUE_OK(late, "leaveChat", inv_chat(ch));
	chat = OK(late, "joinChat", inv_chat(ch));
	json_decref(chat);
	assert_int_equal(inv_member_count(owner, ch), 3);

	inv_send(owner, ch, "issue two");
	assert_true(inv_sees(fan, ch, "issue two"));
	assert_true(inv_sees(fan, ch, "issue one"));

	/* The new subscriber has the channel in their dialogs. */
	{
		json_t *dialogs = NULL, *d;
		size_t i;
		int found = 0;
		assert_int_equal(parley_get_dialogs(fan, 100, &dialogs, &err), 0);
		json_array_foreach(dialogs, i, d) {
			if (inv_int(json_object_get(d, "chat"), "id") == ch)
				found = 1;
		}
		assert_true(found);
		json_decref(dialogs);
	}

	FAILS(fan, "joinChat", json_pack("{s:s}", "chat_id", "@inv_no_such_chan"), 400, "CHAT_NOT_FOUND");
	FAILS(fan, "joinChat", json_pack("{}"), 400, "PARAM_MISSING");
	/* A private channel is not joined by id. */
	{
		int64_t priv = 0;
		assert_int_equal(parley_create_channel(owner, "Insiders", NULL, &priv, &err), 0);
		FAILS(fan, "joinChat", inv_chat(priv), 403, "CHAT_FORBIDDEN");
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_join_by_link),
		cmocka_unit_test(test_expired_link),
		cmocka_unit_test(test_member_limit),
		cmocka_unit_test(test_revoked_and_unknown_links),
		cmocka_unit_test(test_export_revokes_previous_primary),
		cmocka_unit_test(test_public_channel_by_name),
		cmocka_unit_test(test_race_for_last_seats),
		cmocka_unit_test(test_race_to_export),
	};

	return cmocka_run_group_tests(tests, inv_setup, inv_teardown);
}
