/*
 * test_safety_suspend.c — suspending accounts against the real parleyd
 * (docs/policy.md, "Decisions and actions", DSA Art. 23).
 *
 * Covered: a suspension without an earlier warning is refused
 * (WARNING_REQUIRED); after a warning it is allowed; the suspended user
 * cannot log in and is told why and until when; their session answers
 * ACCOUNT_SUSPENDED except getStatement and appealDecision; their open
 * WebSocket is closed; a reversal after appeal lets them in again;
 * manifestly illegal content is suspended at once and "permanently".
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
#include "wsclient.h"

static int64_t report_user(struct parley_client *reporter, int64_t uid, const char *category)
{
	json_t *res = SX_OK(reporter, "reportContent", "{\"user_id\":%lld,\"category\":\"%s\",\"text\":\"abusive\"}",
			    (long long)uid, category);
	int64_t case_id = sx_int(json_array_get(json_object_get(res, "reports"), 0), "case_id");

	json_decref(res);
	return case_id;
}

static void expect_login_refused(struct harness *h, const char *name, const char *contains)
{
	struct parley_client *c = harness_client(h);
	struct parley_error err;
	char pw[64];
	int rc = parley_login(c, name, harness_password(name, pw, sizeof pw), NULL, NULL, &err);

	if (rc != PARLEY_EAPI || err.http_status != 403 || strcmp(err.code, "ACCOUNT_SUSPENDED") ||
	    !strstr(err.description, contains)) {
		print_error("login %s: rc %d, %d %s: %s; expected 403 ACCOUNT_SUSPENDED with \"%s\"\n", name, rc,
			    err.http_status, err.code, err.description, contains);
		fail();
	}
}

static void test_suspension(void **state)
{
	struct harness *h = harness_start(NULL);
	struct parley_client *chief, *senior, *troll, *victim;
	struct wsc *w;
	json_t *res;
	int64_t troll_id, case_id, statement, appeal;
	char desc[512], err[256];
	char year[8];
	time_t now = time(NULL);
	struct tm tm;

	assert_non_null(h);
	chief = harness_user(h, "chief");
	senior = harness_user(h, "senior");
	troll = harness_user(h, "trolly");
	victim = harness_user(h, "victim");
	troll_id = harness_user_id(h, "trolly");
	sx_grant_cli(h, "chief", "admin");
	SX_DO(chief, "grantRole", "{\"username\":\"senior\",\"role\":\"senior_moderator\"}");

	/* Art. 23: no suspension before a warning... */
	case_id = report_user(victim, troll_id, "hate");
	SX_FAILS(chief, "decideCase", 400, "WARNING_REQUIRED",
		 "{\"case_id\":%lld,\"action\":\"suspend_user\",\"duration_days\":7,\"ground\":\"terms\","
		 "\"terms_clause\":\"Terms 3: no harassment\",\"facts\":\"Insults.\"}",
		 (long long)case_id);
	SX_DO(chief, "decideCase",
	      "{\"case_id\":%lld,\"action\":\"warn_user\",\"ground\":\"terms\",\"terms_clause\":\"Terms 3: no harassment\","
	      "\"facts\":\"Insults.\"}",
	      (long long)case_id);
	res = SX_OK(chief, "getCase", "{\"case_id\":%lld}", (long long)case_id);
	assert_int_equal(sx_int(res, "warnings"), 1);
	json_decref(res);

	/* ... then it is allowed.  The troll is online: the socket closes. */
	assert_int_equal(wsc_open(harness_url(h), parley_client_token(troll), 5000, &w, NULL, NULL, err, sizeof err), 0);
	case_id = report_user(victim, troll_id, "hate");
	res = SX_OK(chief, "decideCase",
		    "{\"case_id\":%lld,\"action\":\"suspend_user\",\"duration_days\":7,\"ground\":\"terms\","
		    "\"terms_clause\":\"Terms 3: no harassment\",\"facts\":\"Insults after a warning.\"}",
		    (long long)case_id);
	statement = sx_int(json_object_get(res, "statement"), "statement_id");
	assert_false(json_is_true(json_object_get(json_object_get(res, "statement"), "permanent")));
	json_decref(res);
	assert_int_equal(wsc_wait_close(w, 5000), 4401); /* the session ended */
	wsc_free(w);

	/* Cannot log in, and is told why and until when. */
	now += 7 * 86400;
	gmtime_r(&now, &tm);
	strftime(year, sizeof year, "%Y-", &tm);
	expect_login_refused(h, "trolly", "until ");
	expect_login_refused(h, "trolly", year);
	expect_login_refused(h, "trolly", "harassment");
	/* The session answers ACCOUNT_SUSPENDED, the same way. */
	sx_fails_at(__LINE__, troll, "getMe", 403, "ACCOUNT_SUSPENDED", desc, sizeof desc, "{}");
	assert_non_null(strstr(desc, "until "));
	SX_FAILS(troll, "sendMessage", 403, "ACCOUNT_SUSPENDED", "{\"chat_id\":%lld,\"text\":\"hi\"}",
		 (long long)harness_user_id(h, "victim"));
	assert_true(wsc_open(harness_url(h), parley_client_token(troll), 5000, &w, NULL, NULL, err, sizeof err) < 0);
	wsc_free(w);
	/* ... but reading the statement and appealing still work. */
	res = SX_OK(troll, "getStatement", "{\"statement_id\":%lld}", (long long)statement);
	assert_string_equal(sx_str(res, "action"), "suspend_user");
	assert_true(sx_int(res, "end_date") > (int64_t)time(NULL) + 6 * 86400);
	json_decref(res);
	res = SX_OK(troll, "appealDecision", "{\"statement_id\":%lld,\"text\":\"I apologise.\"}", (long long)statement);
	appeal = sx_int(res, "appeal_id");
	json_decref(res);

	/* A reversal lifts the suspension. */
	SX_DO(senior, "decideAppeal", "{\"appeal_id\":%lld,\"outcome\":\"reverse\",\"text\":\"Disproportionate.\"}",
	      (long long)appeal);
	SX_DO(troll, "getMe", "{}");
	json_decref(SX_OK(harness_login(h, "trolly"), "getMe", "{}"));

	/* Manifestly illegal: at once, and permanently. */
	case_id = report_user(victim, troll_id, "child_sexual_abuse");
	res = SX_OK(chief, "decideCase",
		    "{\"case_id\":%lld,\"action\":\"suspend_user\",\"manifestly_illegal\":true,\"ground\":\"illegal\","
		    "\"legal_provision\":\"Directive 2011/93/EU\",\"facts\":\"Shared abuse material.\"}",
		    (long long)case_id);
	assert_true(json_is_true(json_object_get(json_object_get(res, "statement"), "permanent")));
	json_decref(res);
	expect_login_refused(h, "trolly", "permanently");
	sx_audit_ok(h);
	harness_free(h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_suspension),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
