/*
 * test_safety_flow.c — each kind of signal end to end against the real
 * parleyd: signal, case, decision, action, statement of reasons, appeal and
 * its decision, and the audit log of every step (docs/policy.md).
 *
 * Covered:
 *   - a user's report about a group message: chat admins see it without the
 *     reporter; moderators see it with the reporter-supplied plaintext
 *     marked; the message is removed (gone from history and search for
 *     everyone), the statement reaches the sender from @parley_safety, the
 *     reporter is told; the sender appeals, the deciding moderator may not
 *     decide it, another senior reverses it and the message is back for
 *     everyone; the chat admin's own delete shows in getCase;
 *   - an anonymous Art. 16 notice: required fields, the reference, the
 *     dismissal seen with getNotice, the notifier's appeal by reference, the
 *     reversal putting the case back in the queue, the new decision;
 *   - a trusted flagger registered by the admin API: its key (parameter and
 *     Authorization header), priority and deadline, ban_chat answering
 *     CHAT_BANNED to everyone, the DSA export, accuracy before and after a
 *     reversal, the per-IP limit for others;
 *   - the audit chain verifies and holds an entry for every step.
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
#include "safety_util.h"

struct fx {
	struct harness *h;
	struct parley_client *chief, *mod, *alice, *bob, *carol;
};

static int setup(void **state)
{
	static const char *const env[] = {"PARLEY_RATE_NOTICES_IP_PER_HOUR=6", NULL};
	struct fx *fx = calloc(1, sizeof *fx);

	assert_non_null(fx);
	assert_non_null(fx->h = harness_start(env));
	fx->chief = harness_user(fx->h, "chief");
	fx->mod = harness_user(fx->h, "moder");
	fx->alice = harness_user(fx->h, "alice");
	fx->bob = harness_user(fx->h, "bobby");
	fx->carol = harness_user(fx->h, "carol");
	/* The first admin by the operator's command line; the rest by the API. */
	sx_grant_cli(fx->h, "chief", "admin");
	SX_DO(fx->chief, "grantRole", "{\"username\":\"moder\",\"role\":\"senior_moderator\"}");
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	struct fx *fx = *state;

	harness_free(fx->h);
	free(fx);
	return 0;
}

/* Does the caller's history of chat hold a message with this text? */
static int history_has(struct parley_client *c, int64_t chat, const char *text)
{
	json_t *res = SX_OK(c, "getHistory", "{\"chat_id\":%lld}", (long long)chat), *m;
	size_t i;
	int found = 0;

	json_array_foreach(res, i, m) {
		const char *t = json_string_value(json_object_get(m, "text"));
		if (t && !strcmp(t, text))
			found = 1;
	}
	json_decref(res);
	return found;
}

/* The newest message the system account sent the caller (its private chat). */
static json_t *last_from_system(struct parley_client *c)
{
	json_t *res = SX_OK(c, "getHistory", "{\"chat_id\":\"@parley_safety\",\"limit\":1}");
	json_t *m = json_incref(json_array_get(res, 0));

	json_decref(res);
	assert_non_null(m);
	assert_string_equal(sx_str(json_object_get(m, "from"), "username"), "parley_safety");
	return m;
}

static json_t *queue_find(struct parley_client *mod, int64_t case_id)
{
	json_t *q = SX_OK(mod, "getModerationQueue", "{\"limit\":100}"), *c, *found = NULL;
	size_t i;

	json_array_foreach(json_object_get(q, "cases"), i, c)
		if (sx_int(c, "case_id") == case_id)
			found = json_incref(c);
	json_decref(q);
	return found;
}

static void test_report_flow(void **state)
{
	struct fx *fx = *state;
	int64_t bob = harness_user_id(fx->h, "bobby"), carol = harness_user_id(fx->h, "carol");
	json_t *res, *c, *st, *m, *sig;
	int64_t chat, msg, case_id, statement, appeal;
	char out[SX_OUT_MAX];

	res = SX_OK(fx->alice, "createGroup", "{\"title\":\"Coins\",\"user_ids\":[%lld,%lld]}", (long long)bob,
		    (long long)carol);
	chat = sx_int(res, "id");
	json_decref(res);
	res = SX_OK(fx->alice, "sendMessage", "{\"chat_id\":%lld,\"text\":\"invest now in scamcoin\"}", (long long)chat);
	msg = sx_int(res, "message_id");
	json_decref(res);
	SX_DO(fx->alice, "sendMessage", "{\"chat_id\":%lld,\"text\":\"spam two\"}", (long long)chat);

	/* The report: bob can read the message; a stranger cannot report it. */
	SX_FAILS(fx->mod, "reportContent", 403, "CHAT_FORBIDDEN",
		 "{\"chat_id\":%lld,\"message_ids\":[%lld],\"category\":\"scams_fraud\"}", (long long)chat, (long long)msg);
	SX_FAILS(fx->bob, "reportContent", 400, "CATEGORY_INVALID",
		 "{\"chat_id\":%lld,\"message_ids\":[%lld],\"category\":\"rude\"}", (long long)chat, (long long)msg);
	SX_FAILS(fx->bob, "reportContent", 400, "TARGET_INVALID", "{\"category\":\"spam\"}");
	res = SX_OK(fx->bob, "reportContent",
		    "{\"chat_id\":%lld,\"message_ids\":[%lld],\"category\":\"scams_fraud\",\"text\":\"a fake coin\","
		    "\"reporter_plaintext\":\"invest now in scamcoin\"}",
		    (long long)chat, (long long)msg);
	case_id = sx_int(json_array_get(json_object_get(res, "reports"), 0), "case_id");
	json_decref(res);
	/* A duplicate joins the same case. */
	res = SX_OK(fx->carol, "reportContent", "{\"chat_id\":%lld,\"message_ids\":[%lld],\"category\":\"spam\"}",
		    (long long)chat, (long long)msg);
	assert_int_equal(sx_int(json_array_get(json_object_get(res, "reports"), 0), "case_id"), case_id);
	json_decref(res);

	/* The chat's admins see the reports, not who sent them; members do not. */
	res = SX_OK(fx->alice, "getChatReports", "{\"chat_id\":%lld}", (long long)chat);
	assert_int_equal(json_array_size(res), 2);
	assert_int_equal(sx_int(json_array_get(res, 1), "message_id"), msg);
	assert_string_equal(sx_str(json_array_get(res, 1), "text"), "a fake coin");
	assert_null(json_object_get(json_array_get(res, 1), "reporter"));
	json_decref(res);
	SX_FAILS(fx->bob, "getChatReports", 403, "CHAT_ADMIN_REQUIRED", "{\"chat_id\":%lld}", (long long)chat);

	/* The chat admin deletes the other message herself: moderators will see it. */
	SX_DO(fx->bob, "sendMessage", "{\"chat_id\":%lld,\"text\":\"rude reply\"}", (long long)chat);
	SX_DO(fx->alice, "deleteMessage", "{\"chat_id\":%lld,\"message_id\":%lld}", (long long)chat, (long long)msg + 2);

	/* The queue and the case. */
	c = queue_find(fx->mod, case_id);
	assert_non_null(c);
	assert_int_equal(sx_int(c, "signals"), 2);
	assert_int_equal(sx_int(c, "priority"), 15 + 1); /* scams_fraud + one duplicate */
	assert_string_equal(sx_str(c, "excerpt"), "invest now in scamcoin");
	assert_false(json_is_true(json_object_get(c, "overdue")));
	json_decref(c);
	res = SX_OK(fx->mod, "getCase", "{\"case_id\":%lld}", (long long)case_id);
	assert_string_equal(sx_str(json_object_get(json_object_get(res, "content"), "message"), "text"),
			    "invest now in scamcoin");
	/* Around it: the two service messages, "spam two", and the reply its admin deleted. */
	assert_int_equal(json_array_size(json_object_get(json_object_get(res, "content"), "context")), 4);
	sig = json_array_get(json_object_get(res, "signals"), 1); /* oldest last: bob's */
	assert_int_equal(sx_int(json_object_get(sig, "reporter"), "id"), bob);
	assert_true(json_is_true(json_object_get(json_object_get(sig, "reporter_supplied_plaintext"), "reporter_supplied")));
	assert_int_equal(json_array_size(json_object_get(res, "chat_admin_actions")), 1);
	assert_string_equal(sx_str(json_array_get(json_object_get(res, "chat_admin_actions"), 0), "action"), "delete_message");
	assert_true(json_is_true(json_object_get(res, "reports_visible_to_chat_admins")));
	json_decref(res);

	/* The decision: the message leaves everyone's view and search. */
	SX_FAILS(fx->mod, "decideCase", 400, "GROUND_INVALID",
		 "{\"case_id\":%lld,\"action\":\"remove_message\",\"facts\":\"x\",\"ground\":\"terms\"}", (long long)case_id);
	SX_FAILS(fx->mod, "decideCase", 400, "ACTION_INVALID",
		 "{\"case_id\":%lld,\"action\":\"obliterate\",\"facts\":\"x\"}", (long long)case_id);
	res = SX_OK(fx->mod, "decideCase",
		    "{\"case_id\":%lld,\"action\":\"remove_message\",\"facts\":\"Advertises a fake investment.\","
		    "\"ground\":\"terms\",\"terms_clause\":\"Terms 4.2: no fraud\"}",
		    (long long)case_id);
	st = json_object_get(res, "statement");
	statement = sx_int(st, "statement_id");
	assert_string_equal(sx_str(st, "action"), "remove_message");
	assert_string_equal(sx_str(st, "source"), "report");
	assert_non_null(strstr(sx_str(st, "text"), "How to appeal"));
	assert_string_equal(sx_str(json_object_get(res, "case"), "status"), "decided");
	json_decref(res);
	SX_FAILS(fx->mod, "decideCase", 400, "CASE_DECIDED", "{\"case_id\":%lld,\"action\":\"dismiss\",\"facts\":\"x\"}",
		 (long long)case_id);
	assert_false(history_has(fx->carol, chat, "invest now in scamcoin"));
	assert_false(history_has(fx->alice, chat, "invest now in scamcoin"));
	res = SX_OK(fx->carol, "searchMessages", "{\"query\":\"scamcoin\"}");
	assert_int_equal(json_array_size(res), 0);
	json_decref(res);
	SX_FAILS(fx->alice, "editMessageText", 400, "MESSAGE_NOT_FOUND",
		 "{\"chat_id\":%lld,\"message_id\":%lld,\"text\":\"changed\"}", (long long)chat, (long long)msg);

	/* The statement: to the sender from @parley_safety; readable by her and the reporter, not by others. */
	m = last_from_system(fx->alice);
	assert_int_equal(sx_int(m, "statement_id"), statement);
	assert_non_null(strstr(sx_str(m, "text"), "Terms 4.2: no fraud"));
	json_decref(m);
	m = last_from_system(fx->bob);
	assert_non_null(strstr(sx_str(m, "text"), "Your report"));
	json_decref(m);
	res = SX_OK(fx->alice, "getStatement", "{\"statement_id\":%lld}", (long long)statement);
	assert_null(json_object_get(res, "decided_by"));
	json_decref(res);
	SX_DO(fx->bob, "getStatement", "{\"statement_id\":%lld}", (long long)statement);
	SX_FAILS(fx->chief, "getStatement", 400, "STATEMENT_NOT_FOUND", "{\"statement_id\":%lld}", (long long)statement + 100);

	/* The appeal: the sender only; decided by another senior moderator. */
	SX_FAILS(fx->carol, "appealDecision", 403, "APPEAL_FORBIDDEN", "{\"statement_id\":%lld,\"text\":\"no\"}",
		 (long long)statement);
	res = SX_OK(fx->alice, "appealDecision", "{\"statement_id\":%lld,\"text\":\"It was satire.\"}",
		    (long long)statement);
	appeal = sx_int(res, "appeal_id");
	assert_string_equal(sx_str(res, "status"), "open");
	json_decref(res);
	SX_FAILS(fx->alice, "appealDecision", 400, "APPEAL_EXISTS", "{\"statement_id\":%lld,\"text\":\"again\"}",
		 (long long)statement);
	res = SX_OK(fx->mod, "getAppeals", "{}");
	assert_int_equal(json_array_size(res), 1);
	assert_false(json_is_true(json_object_get(json_array_get(res, 0), "can_decide")));
	json_decref(res);
	SX_FAILS(fx->mod, "decideAppeal", 403, "APPEAL_SAME_MODERATOR",
		 "{\"appeal_id\":%lld,\"outcome\":\"reverse\",\"text\":\"ok\"}", (long long)appeal);
	res = SX_OK(fx->chief, "decideAppeal",
		    "{\"appeal_id\":%lld,\"outcome\":\"reverse\",\"text\":\"Satire of scams, not a scam.\"}",
		    (long long)appeal);
	assert_string_equal(sx_str(res, "status"), "reversed");
	json_decref(res);

	/* The reversal restores the message for everyone, and says so. */
	assert_true(history_has(fx->carol, chat, "invest now in scamcoin"));
	assert_true(history_has(fx->bob, chat, "invest now in scamcoin"));
	res = SX_OK(fx->carol, "searchMessages", "{\"query\":\"scamcoin\"}");
	assert_int_equal(json_array_size(res), 1);
	json_decref(res);
	m = last_from_system(fx->alice);
	assert_non_null(strstr(sx_str(m, "text"), "reversed"));
	json_decref(m);
	res = SX_OK(fx->alice, "getStatement", "{\"statement_id\":%lld}", (long long)statement);
	assert_true(sx_int(res, "reversed_by") > statement);
	json_decref(res);

	/* Audit: every step is there, and the chain verifies. */
	sx_audit_ok(fx->h);
	sx_audit_tail(fx->h, 40, out, sizeof out);
	assert_non_null(strstr(out, "\"signal.report\""));
	assert_non_null(strstr(out, "\"case.open\""));
	assert_non_null(strstr(out, "\"case.merge\""));
	assert_non_null(strstr(out, "\"chat_admin.delete\""));
	assert_non_null(strstr(out, "\"decision\""));
	assert_non_null(strstr(out, "\"action.remove_message\""));
	assert_non_null(strstr(out, "\"statement\""));
	assert_non_null(strstr(out, "\"appeal.file\""));
	assert_non_null(strstr(out, "\"appeal.decide\""));
	assert_non_null(strstr(out, "\"action.reverse\""));
	assert_non_null(strstr(out, "\"role.grant\""));
}

static void test_notice_flow(void **state)
{
	struct fx *fx = *state;
	struct parley_client *anon = harness_client(fx->h);
	json_t *res, *c;
	int64_t chan, msg, case_id, statement;
	char ref[64], out[SX_OUT_MAX];

	res = SX_OK(fx->alice, "createChannel", "{\"title\":\"Daily\",\"username\":\"dailynews\"}");
	chan = sx_int(res, "id");
	json_decref(res);
	res = SX_OK(fx->alice, "sendMessage", "{\"chat_id\":%lld,\"text\":\"they are vermin\"}", (long long)chan);
	msg = sx_int(res, "message_id");
	json_decref(res);

	/* Art. 16: the required parts of a notice. */
	SX_FAILS(anon, "submitNotice", 400, "GOOD_FAITH_REQUIRED",
		 "{\"category\":\"hate\",\"explanation\":\"x\",\"good_faith\":false,\"chat_id\":\"@dailynews\","
		 "\"message_ids\":[%lld],\"name\":\"N\",\"email\":\"n@example.org\"}", (long long)msg);
	SX_FAILS(anon, "submitNotice", 400, "NOTIFIER_REQUIRED",
		 "{\"category\":\"hate\",\"explanation\":\"x\",\"good_faith\":true,\"chat_id\":\"@dailynews\","
		 "\"message_ids\":[%lld]}", (long long)msg);
	SX_FAILS(anon, "submitNotice", 400, "TARGET_INVALID",
		 "{\"category\":\"hate\",\"explanation\":\"x\",\"good_faith\":true,\"name\":\"N\",\"email\":\"n@x.org\"}");
	SX_FAILS(anon, "submitNotice", 400, "MESSAGE_NOT_FOUND",
		 "{\"category\":\"hate\",\"explanation\":\"x\",\"good_faith\":true,\"chat_id\":\"@dailynews\","
		 "\"message_ids\":[999],\"name\":\"N\",\"email\":\"n@x.org\"}");
	res = SX_OK(anon, "submitNotice",
		    "{\"category\":\"hate\",\"explanation\":\"Incitement to hatred against a group (Sec. 130 StGB).\","
		    "\"good_faith\":true,\"chat_id\":\"@dailynews\",\"message_ids\":[%lld],\"location\":"
		    "\"http://example/dailynews/%lld\",\"name\":\"Nora Notifier\",\"email\":\"nora@example.org\"}",
		    (long long)msg, (long long)msg);
	snprintf(ref, sizeof ref, "%s", sx_str(res, "reference"));
	assert_int_equal(strlen(ref), 32);
	assert_false(json_is_true(json_object_get(res, "trusted_flagger")));
	json_decref(res);
	res = SX_OK(anon, "getNotice", "{\"reference\":\"%s\"}", ref);
	assert_string_equal(sx_str(res, "status"), "open");
	assert_string_equal(sx_str(res, "kind"), "notice");
	json_decref(res);
	SX_FAILS(anon, "getNotice", 404, "NOTICE_NOT_FOUND", "{\"reference\":\"00000000000000000000000000000000\"}");

	/* The moderator sees the notifier and dismisses. */
	res = SX_OK(fx->mod, "getModerationQueue", "{}");
	c = json_array_get(json_object_get(res, "cases"), 0);
	case_id = sx_int(c, "case_id");
	assert_int_equal(sx_int(c, "priority"), 20 + 20); /* notice + hate */
	json_decref(res);
	res = SX_OK(fx->mod, "getCase", "{\"case_id\":%lld}", (long long)case_id);
	c = json_array_get(json_object_get(res, "signals"), 0);
	assert_string_equal(sx_str(c, "kind"), "notice");
	assert_string_equal(sx_str(json_object_get(c, "notifier"), "email"), "nora@example.org");
	assert_string_equal(sx_str(c, "location"), "http://example/dailynews/2");
	json_decref(res);
	res = SX_OK(fx->mod, "decideCase",
		    "{\"case_id\":%lld,\"action\":\"dismiss\",\"facts\":\"Quoted in a news report, not endorsed.\"}",
		    (long long)case_id);
	statement = sx_int(json_object_get(res, "statement"), "statement_id");
	json_decref(res);
	res = SX_OK(anon, "getNotice", "{\"reference\":\"%s\"}", ref);
	assert_string_equal(sx_str(res, "status"), "dismissed");
	assert_string_equal(sx_str(json_object_get(res, "decision"), "action"), "dismiss");
	assert_non_null(strstr(sx_str(json_object_get(res, "decision"), "facts"), "news report"));
	json_decref(res);
	/* A dismissal is not the author's statement; nothing was done to her. */
	SX_FAILS(fx->alice, "getStatement", 400, "STATEMENT_NOT_FOUND", "{\"statement_id\":%lld}", (long long)statement);
	SX_FAILS(fx->alice, "appealDecision", 403, "APPEAL_FORBIDDEN", "{\"statement_id\":%lld,\"text\":\"x\"}",
		 (long long)statement);

	/* The notifier appeals with the reference, and wins: back in the queue. */
	SX_FAILS(anon, "appealDecision", 403, "APPEAL_FORBIDDEN",
		 "{\"statement_id\":%lld,\"text\":\"x\",\"reference\":\"00000000000000000000000000000000\"}",
		 (long long)statement);
	SX_FAILS(anon, "appealDecision", 401, "UNAUTHORIZED", "{\"statement_id\":%lld,\"text\":\"x\"}", (long long)statement);
	res = SX_OK(anon, "appealDecision",
		    "{\"statement_id\":%lld,\"text\":\"It is the channel's own words.\",\"reference\":\"%s\"}",
		    (long long)statement, ref);
	SX_DO(fx->chief, "decideAppeal", "{\"appeal_id\":%lld,\"outcome\":\"reverse\",\"text\":\"Right, not a quote.\"}",
	      (long long)sx_int(res, "appeal_id"));
	json_decref(res);
	c = queue_find(fx->mod, case_id);
	assert_non_null(c);
	json_decref(c);
	res = SX_OK(anon, "getNotice", "{\"reference\":\"%s\"}", ref);
	assert_string_equal(sx_str(res, "status"), "open");
	json_decref(res);
	SX_DO(fx->mod, "decideCase",
	      "{\"case_id\":%lld,\"action\":\"remove_message\",\"facts\":\"Dehumanising speech.\",\"ground\":\"illegal\","
	      "\"legal_provision\":\"Sec. 130 StGB\"}",
	      (long long)case_id);
	res = SX_OK(anon, "getNotice", "{\"reference\":\"%s\"}", ref);
	assert_string_equal(sx_str(res, "status"), "action_taken");
	assert_string_equal(sx_str(json_object_get(res, "decision"), "legal_provision"), "Sec. 130 StGB");
	json_decref(res);
	assert_false(history_has(fx->bob, chan, "they are vermin"));

	sx_audit_ok(fx->h);
	sx_audit_tail(fx->h, 40, out, sizeof out);
	assert_non_null(strstr(out, "\"signal.notice\""));
	assert_non_null(strstr(out, "\"action.dismiss\""));
}

static void test_flagger_flow(void **state)
{
	struct fx *fx = *state;
	struct parley_client *anon = harness_client(fx->h), *hotline = harness_client(fx->h);
	int64_t bob = harness_user_id(fx->h, "bobby");
	json_t *res, *f, *row;
	int64_t chan, case_id, statement, submitted;
	char key[80], req[2048], reply[8192], body[512], out[4096];
	int status;

	/* Registered through the admin API (and the command line lists it). */
	SX_FAILS(fx->mod, "registerFlagger", 403, "ROLE_REQUIRED", "{\"name\":\"x\",\"email\":\"x@x.org\"}");
	res = SX_OK(fx->chief, "registerFlagger", "{\"name\":\"Hotline e.V.\",\"email\":\"reports@hotline.example\"}");
	snprintf(key, sizeof key, "%s", sx_str(res, "api_key"));
	assert_int_equal(strncmp(key, "pfk_", 4), 0);
	json_decref(res);
	assert_int_equal(sx_cli(fx->h, out, sizeof out, "admin list-flaggers"), 0);
	assert_non_null(strstr(out, "Hotline e.V."));
	assert_null(strstr(out, key)); /* the key is not stored, let alone shown again */

	res = SX_OK(fx->alice, "createChannel", "{\"title\":\"Front\",\"username\":\"frontline\"}");
	chan = sx_int(res, "id");
	json_decref(res);
	SX_DO(fx->bob, "joinChat", "{\"chat_id\":\"@frontline\"}");
	SX_DO(fx->alice, "sendMessage", "{\"chat_id\":%lld,\"text\":\"join the attack\"}", (long long)chan);

	SX_FAILS(hotline, "submitNotice", 401, "FLAGGER_KEY_INVALID",
		 "{\"category\":\"terrorist_content\",\"explanation\":\"x\",\"good_faith\":true,\"chat_id\":%lld,"
		 "\"flagger_key\":\"pfk_nope\"}", (long long)chan);
	submitted = (int64_t)time(NULL);
	res = SX_OK(hotline, "submitNotice",
		    "{\"category\":\"terrorist_content\",\"explanation\":\"Recruitment for a listed organisation.\","
		    "\"good_faith\":true,\"chat_id\":%lld,\"flagger_key\":\"%s\"}",
		    (long long)chan, key);
	assert_true(json_is_true(json_object_get(res, "trusted_flagger")));
	/* The 1-hour SLA for terrorist content from a trusted flagger. */
	assert_true(sx_int(res, "deadline") >= submitted + 3600 - 5 && sx_int(res, "deadline") <= submitted + 3600 + 5);
	json_decref(res);

	/* The same with the key in the Authorization header. */
	snprintf(body, sizeof body,
		 "{\"category\":\"terrorist_content\",\"explanation\":\"Same channel, second post.\",\"good_faith\":true,"
		 "\"chat_id\":%lld}", (long long)chan);
	snprintf(req, sizeof req,
		 "POST /api/submitNotice HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
		 "Authorization: Flagger %s\r\nContent-Length: %zu\r\nConnection: close\r\n\r\n%s",
		 key, strlen(body), body);
	status = sx_raw(fx->h, req, reply, sizeof reply);
	assert_int_equal(status, 200);
	assert_non_null(strstr(reply, "\"trusted_flagger\":true"));

	/* Merged into one case at the top of the queue. */
	res = SX_OK(fx->mod, "getModerationQueue", "{}");
	row = json_array_get(json_object_get(res, "cases"), 0);
	case_id = sx_int(row, "case_id");
	assert_true(json_is_true(json_object_get(row, "trusted_flagger")));
	assert_int_equal(sx_int(row, "signals"), 2);
	assert_int_equal(sx_int(row, "priority"), 100 + 50 + 1);
	json_decref(res);
	res = SX_OK(fx->chief, "getFlaggers", "{}");
	f = json_array_get(res, 0);
	assert_int_equal(sx_int(f, "notices"), 2);
	assert_true(json_is_null(json_object_get(f, "accuracy")));
	json_decref(res);

	/* Ban: the channel answers CHAT_BANNED to everyone, its creator included. */
	res = SX_OK(fx->mod, "decideCase",
		    "{\"case_id\":%lld,\"action\":\"ban_chat\",\"facts\":\"Recruits for a terrorist organisation.\","
		    "\"ground\":\"illegal\",\"legal_provision\":\"Regulation (EU) 2021/784\",\"category\":\"terrorist_content\"}",
		    (long long)case_id);
	statement = sx_int(json_object_get(res, "statement"), "statement_id");
	json_decref(res);
	SX_FAILS(fx->alice, "getHistory", 403, "CHAT_BANNED", "{\"chat_id\":%lld}", (long long)chan);
	SX_FAILS(fx->bob, "getChat", 403, "CHAT_BANNED", "{\"chat_id\":\"@frontline\"}");
	SX_FAILS(fx->alice, "sendMessage", 403, "CHAT_BANNED", "{\"chat_id\":%lld,\"text\":\"hello?\"}", (long long)chan);
	res = SX_OK(fx->chief, "getFlaggers", "{}");
	f = json_array_get(res, 0);
	assert_int_equal(sx_int(f, "upheld"), 2);
	assert_true(json_real_value(json_object_get(f, "accuracy")) > 0.99);
	json_decref(res);

	/* The DSA Transparency Database export. */
	res = SX_OK(fx->mod, "exportStatements", "{\"from\":0,\"to\":%lld}", (long long)time(NULL) + 10);
	row = NULL;
	{
		size_t i;
		json_t *s;
		json_array_foreach(json_object_get(res, "statements"), i, s)
			if (sx_int(s, "statement_id") == statement)
				row = s;
	}
	assert_non_null(row);
	assert_string_equal(sx_str(row, "source_type"), "SOURCE_TRUSTED_FLAGGER");
	assert_string_equal(sx_str(row, "source_identity"), "Hotline e.V.");
	assert_string_equal(sx_str(row, "decision_ground"), "DECISION_GROUND_ILLEGAL_CONTENT");
	assert_string_equal(sx_str(row, "illegal_content_legal_ground"), "Regulation (EU) 2021/784");
	assert_string_equal(sx_str(row, "category"), "STATEMENT_CATEGORY_RISK_FOR_PUBLIC_SECURITY");
	assert_string_equal(json_string_value(json_array_get(json_object_get(row, "category_specification"), 0)),
			    "KEYWORD_TERRORIST_CONTENT");
	assert_string_equal(json_string_value(json_array_get(json_object_get(row, "decision_visibility"), 0)),
			    "DECISION_VISIBILITY_CONTENT_DISABLED");
	assert_string_equal(sx_str(row, "content_type_other"), "group or channel");
	assert_string_equal(sx_str(row, "automated_detection"), "No");
	assert_string_equal(sx_str(row, "automated_decision"), "AUTOMATED_DECISION_NOT_AUTOMATED");
	assert_string_equal(sx_str(row, "platform_name"), "Parley");
	assert_int_equal(json_array_size(json_object_get(row, "territorial_scope")), 30);
	assert_non_null(strstr(sx_str(row, "puid"), "parley-statement-"));
	json_decref(res);
	SX_FAILS(fx->bob, "exportStatements", 403, "ROLE_REQUIRED", "{\"from\":0,\"to\":1}");

	/* The creator appeals; the ban is lifted, the flagger's accuracy follows. */
	res = SX_OK(fx->alice, "appealDecision", "{\"statement_id\":%lld,\"text\":\"A history channel.\"}",
		    (long long)statement);
	SX_DO(fx->chief, "decideAppeal", "{\"appeal_id\":%lld,\"outcome\":\"reverse\",\"text\":\"Historical material.\"}",
	      (long long)sx_int(res, "appeal_id"));
	json_decref(res);
	assert_true(history_has(fx->bob, chan, "join the attack"));
	res = SX_OK(fx->chief, "getFlaggers", "{}");
	f = json_array_get(res, 0);
	assert_int_equal(sx_int(f, "upheld"), 0);
	assert_int_equal(sx_int(f, "dismissed"), 2);
	json_decref(res);

	/* Others are limited per IP (6 per hour in this test); flaggers are not. */
	for (int i = 0; i < 6; i++)
		SX_DO(anon, "submitNotice",
		      "{\"category\":\"child_sexual_abuse\",\"explanation\":\"x\",\"good_faith\":true,\"user_id\":%lld}",
		      (long long)bob);
	SX_FAILS(anon, "submitNotice", 429, "FLOOD_WAIT_", "{\"category\":\"spam\",\"explanation\":\"x\",\"good_faith\":true,"
		 "\"user_id\":%lld,\"name\":\"a\",\"email\":\"a@b.c\"}", (long long)bob);
	SX_DO(hotline, "submitNotice",
	      "{\"category\":\"spam\",\"explanation\":\"x\",\"good_faith\":true,\"user_id\":%lld,\"flagger_key\":\"%s\"}",
	      (long long)bob, key);
	sx_audit_ok(fx->h);
	sx_audit_tail(fx->h, 60, out, sizeof out);
	assert_non_null(strstr(out, "\"flagger.register\""));
	assert_non_null(strstr(out, "\"signal.flagger_notice\""));
	assert_non_null(strstr(out, "\"action.ban_chat\""));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_report_flow, setup, teardown),
		cmocka_unit_test_setup_teardown(test_notice_flow, setup, teardown),
		cmocka_unit_test_setup_teardown(test_flagger_flow, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
