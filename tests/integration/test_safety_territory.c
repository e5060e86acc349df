/*
 * test_safety_territory.c — territorial restriction against the real
 * parleyd (docs/policy.md, "Territorial restriction").
 *
 * Every client connects from 127.0.0.1; the operator's IP-to-country table
 * (parleyd admin load-geoip) puts 127.0.0.0/8 in FR.  dana's account says
 * DE (updateProfile country), which wins over her IP; fritz's says nothing,
 * so he is in FR.  Covered: a message restricted in DE shows dana a notice
 * with restriction_reason instead of its text and shows fritz the text; one
 * restricted in FR the other way round; the same in search, in the updates
 * they fetch (getChatDifference) and in the updates pushed to their
 * WebSockets; a whole channel restricted in DE (getChat, history, dialogs'
 * last message, a new post pushed live); a reversal after appeal lifts it.
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

#define TERR_WAIT_MS 5000
#define NOTICE "not available in your country"

struct fx {
	struct harness *h;
	struct parley_client *chief, *sam, *alice, *dana, *fritz;
	struct wsc *wdana, *wfritz;
};

static int setup(void **state)
{
	struct fx *fx = calloc(1, sizeof *fx);
	char path[4200], out[1024];
	FILE *f;
	int64_t uid;

	assert_non_null(fx);
	assert_non_null(fx->h = harness_start(NULL));
	fx->chief = harness_user(fx->h, "chief");
	fx->sam = harness_user(fx->h, "samuel");
	fx->alice = harness_user(fx->h, "alice");
	fx->dana = harness_user(fx->h, "dana_de");
	fx->fritz = harness_user(fx->h, "fritz");
	snprintf(path, sizeof path, "%s/geoip.csv", harness_tmp_dir(fx->h));
	assert_non_null(f = fopen(path, "w"));
	fprintf(f, "start_ip,end_ip,country\n# loopback, for the test\n10.0.0.0,10.255.255.255,DE\n127.0.0.0,127.255.255.255,FR\n");
	fclose(f);
	assert_int_equal(harness_stop(fx->h), 0);
	assert_int_equal(sx_cli(fx->h, out, sizeof out, "admin load-geoip '%s'", path), 0);
	assert_non_null(strstr(out, "2 ranges"));
	assert_int_equal(sx_cli(fx->h, out, sizeof out, "admin grant-role chief admin"), 0);
	assert_int_equal(harness_restart(fx->h), 0);
	SX_DO(fx->chief, "grantRole", "{\"username\":\"samuel\",\"role\":\"senior_moderator\"}");
	json_decref(SX_OK(fx->dana, "updateProfile", "{\"country\":\"de\"}"));
	SX_FAILS(fx->fritz, "updateProfile", 400, "PARAM_INVALID", "{\"country\":\"D1\"}");
	assert_int_equal(wsc_open(harness_url(fx->h), parley_client_token(fx->dana), TERR_WAIT_MS, &fx->wdana, &uid, NULL,
				  out, sizeof out), 0);
	assert_int_equal(wsc_open(harness_url(fx->h), parley_client_token(fx->fritz), TERR_WAIT_MS, &fx->wfritz, &uid,
				  NULL, out, sizeof out), 0);
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	struct fx *fx = *state;

	wsc_free(fx->wdana);
	wsc_free(fx->wfritz);
	harness_free(fx->h);
	free(fx);
	return 0;
}

/* The text the caller's history shows for message id of chat (NULL: absent),
 * and whether it carries a restriction_reason. */
static char *shown(struct parley_client *c, int64_t chat, int64_t id, int *withheld)
{
	json_t *res = SX_OK(c, "getHistory", "{\"chat_id\":%lld}", (long long)chat), *m;
	char *text = NULL;
	size_t i;

	*withheld = 0;
	json_array_foreach(res, i, m) {
		if (sx_int(m, "message_id") != id)
			continue;
		text = strdup(sx_str(m, "text"));
		*withheld = json_array_size(json_object_get(m, "restriction_reason")) == 1;
	}
	json_decref(res);
	return text;
}

static void expect_shown(struct parley_client *c, int64_t chat, int64_t id, const char *text, int line)
{
	int withheld;
	char *t = shown(c, chat, id, &withheld);

	if (!t || (text ? strcmp(t, text) != 0 || withheld : !strstr(t, NOTICE) || !withheld)) {
		print_error("line %d: message %lld shows \"%s\" (withheld %d); expected %s\n", line, (long long)id,
			    t ? t : "(none)", withheld, text ? text : "the notice");
		free(t);
		fail();
	}
	free(t);
}
#define SHOWS(c, chat, id, text) expect_shown((c), (chat), (id), (text), __LINE__)
#define WITHHELD(c, chat, id) expect_shown((c), (chat), (id), NULL, __LINE__)

static int64_t post(struct parley_client *c, int64_t chat, const char *text)
{
	json_t *res = SX_OK(c, "sendMessage", "{\"chat_id\":%lld,\"text\":\"%s\"}", (long long)chat, text);
	int64_t id = sx_int(res, "message_id");

	json_decref(res);
	return id;
}

/* Reports (as reporter) and decides "restrict" in territories; returns the statement. */
static int64_t restrict_in(struct fx *fx, struct parley_client *reporter, int64_t chat, int64_t msg,
			   const char *territories)
{
	json_t *res;
	int64_t case_id, statement;

	if (msg)
		res = SX_OK(reporter, "reportContent", "{\"chat_id\":%lld,\"message_ids\":[%lld],\"category\":\"hate\"}",
			    (long long)chat, (long long)msg);
	else
		res = SX_OK(reporter, "reportContent", "{\"chat_id\":%lld,\"category\":\"hate\"}", (long long)chat);
	case_id = sx_int(json_array_get(json_object_get(res, "reports"), 0), "case_id");
	json_decref(res);
	res = SX_OK(fx->chief, "decideCase",
		    "{\"case_id\":%lld,\"action\":\"restrict\",\"territories\":\"%s\",\"ground\":\"illegal\","
		    "\"legal_provision\":\"national law of %s\",\"facts\":\"Unlawful there.\"}",
		    (long long)case_id, territories, territories);
	statement = sx_int(json_object_get(res, "statement"), "statement_id");
	assert_string_equal(json_string_value(json_array_get(json_object_get(json_object_get(res, "statement"),
									      "territorial_scope"), 0)),
			    territories);
	json_decref(res);
	return statement;
}

/* Waits for a pushed update of type about message id; returns its message object (caller decrefs). */
static json_t *pushed(struct wsc *w, const char *type, int64_t id)
{
	int64_t end = (int64_t)time(NULL) + TERR_WAIT_MS / 1000 + 1;
	json_t *m;

	while ((int64_t)time(NULL) <= end) {
		json_t *u, *msg;
		if (wsc_next(w, 500, &m) != WSC_OK)
			continue;
		u = json_object_get(m, "update");
		msg = json_object_get(u, "message");
		if (u && !strcmp(json_string_value(json_object_get(u, "type")) ? json_string_value(json_object_get(u, "type"))
									       : "", type) &&
		    json_integer_value(json_object_get(msg, "message_id")) == id) {
			json_incref(msg);
			json_decref(m);
			return msg;
		}
		json_decref(m);
	}
	print_error("no %s push for message %lld\n", type, (long long)id);
	fail();
	return NULL;
}

static void test_message_restriction(void **state)
{
	struct fx *fx = *state;
	json_t *res, *m, *u;
	int64_t chan, m1, m2, m3, st1;
	size_t i;
	int saw_new = 0, saw_edit = 0;

	res = SX_OK(fx->alice, "createChannel", "{\"title\":\"World\",\"username\":\"worldnews\"}");
	chan = sx_int(res, "id");
	json_decref(res);
	json_decref(SX_OK(fx->dana, "joinChat", "{\"chat_id\":\"@worldnews\"}"));
	json_decref(SX_OK(fx->fritz, "joinChat", "{\"chat_id\":\"@worldnews\"}"));
	m1 = post(fx->alice, chan, "banned words in DE");
	m2 = post(fx->alice, chan, "banned words in FR");
	m3 = post(fx->alice, chan, "harmless words");

	st1 = restrict_in(fx, fx->dana, chan, m1, "DE");
	restrict_in(fx, fx->fritz, chan, m2, "FR");

	/* History: dana (account DE) and fritz (IP table: FR) each miss one. */
	WITHHELD(fx->dana, chan, m1);
	SHOWS(fx->dana, chan, m2, "banned words in FR"); /* her account wins over her IP */
	SHOWS(fx->dana, chan, m3, "harmless words");
	SHOWS(fx->fritz, chan, m1, "banned words in DE");
	WITHHELD(fx->fritz, chan, m2);
	res = SX_OK(fx->dana, "getHistory", "{\"chat_id\":%lld}", (long long)chan);
	json_array_foreach(res, i, m)
		if (sx_int(m, "message_id") == m1) {
			json_t *r = json_array_get(json_object_get(m, "restriction_reason"), 0);
			assert_string_equal(sx_str(r, "reason"), "territorial");
			assert_string_equal(sx_str(r, "territories"), "DE");
			assert_int_equal(sx_int(r, "statement_id"), st1);
			assert_non_null(strstr(sx_str(m, "text"), "(DE)"));
		}
	json_decref(res);

	/* Search finds it (the words match) but shows the notice, once
	 * indexed: within the index's age bound (docs/api.md). */
	nanosleep(&(struct timespec){.tv_sec = 0, .tv_nsec = 400 * 1000000L}, NULL);
	res = SX_OK(fx->dana, "searchMessages", "{\"query\":\"banned words\",\"chat_id\":%lld}", (long long)chan);
	assert_int_equal(json_array_size(res), 2);
	json_array_foreach(res, i, m)
		if (sx_int(m, "message_id") == m1)
			assert_non_null(strstr(sx_str(m, "text"), NOTICE));
		else
			assert_string_equal(sx_str(m, "text"), "banned words in FR");
	json_decref(res);

	/* Fetched updates: the stored ones are the same for all, filtered per viewer. */
	res = SX_OK(fx->dana, "getChatDifference", "{\"chat_id\":%lld,\"pts\":0}", (long long)chan);
	json_array_foreach(json_object_get(res, "updates"), i, u) {
		json_t *um = json_object_get(json_object_get(u, "update"), "message");
		const char *type = json_string_value(json_object_get(json_object_get(u, "update"), "type"));
		if (json_integer_value(json_object_get(um, "message_id")) != m1)
			continue;
		assert_non_null(strstr(sx_str(um, "text"), NOTICE));
		saw_new |= !strcmp(type, "new_message");
		saw_edit |= !strcmp(type, "edit_message"); /* the restriction re-renders it */
	}
	assert_true(saw_new && saw_edit);
	json_decref(res);
	res = SX_OK(fx->fritz, "getChatDifference", "{\"chat_id\":%lld,\"pts\":0}", (long long)chan);
	json_array_foreach(json_object_get(res, "updates"), i, u) {
		json_t *um = json_object_get(json_object_get(u, "update"), "message");
		if (json_integer_value(json_object_get(um, "message_id")) == m1)
			assert_string_equal(sx_str(um, "text"), "banned words in DE");
	}
	json_decref(res);

	/* Pushed live: the restriction's edit, chosen per connection. */
	m = pushed(fx->wdana, "edit_message", m1);
	assert_non_null(strstr(sx_str(m, "text"), NOTICE));
	json_decref(m);
	m = pushed(fx->wfritz, "edit_message", m1);
	assert_string_equal(sx_str(m, "text"), "banned words in DE");
	json_decref(m);

	/* Moderators see the content wherever they are. */
	res = SX_OK(fx->chief, "getModerationQueue", "{}");
	assert_int_equal(sx_int(res, "open"), 0);
	json_decref(res);

	/* The author appeals; another senior lifts the restriction. */
	res = SX_OK(fx->alice, "appealDecision", "{\"statement_id\":%lld,\"text\":\"Lawful reporting.\"}", (long long)st1);
	SX_FAILS(fx->chief, "decideAppeal", 403, "APPEAL_SAME_MODERATOR",
		 "{\"appeal_id\":%lld,\"outcome\":\"reverse\",\"text\":\"x\"}", (long long)sx_int(res, "appeal_id"));
	SX_DO(fx->sam, "decideAppeal", "{\"appeal_id\":%lld,\"outcome\":\"reverse\",\"text\":\"Lawful reporting.\"}",
	      (long long)sx_int(res, "appeal_id"));
	json_decref(res);
	SHOWS(fx->dana, chan, m1, "banned words in DE");
	m = pushed(fx->wdana, "edit_message", m1);
	assert_string_equal(sx_str(m, "text"), "banned words in DE");
	json_decref(m);
	sx_audit_ok(fx->h);
}

static void test_chat_restriction(void **state)
{
	struct fx *fx = *state;
	json_t *res, *d, *m;
	int64_t chan, m1, m2;
	size_t i;
	int found = 0;

	res = SX_OK(fx->alice, "createChannel", "{\"title\":\"Local\",\"username\":\"localnews\"}");
	chan = sx_int(res, "id");
	json_decref(res);
	json_decref(SX_OK(fx->dana, "joinChat", "{\"chat_id\":\"@localnews\"}"));
	json_decref(SX_OK(fx->fritz, "joinChat", "{\"chat_id\":\"@localnews\"}"));
	m1 = post(fx->alice, chan, "first local item");
	restrict_in(fx, fx->dana, chan, 0, "DE");

	res = SX_OK(fx->dana, "getChat", "{\"chat_id\":\"@localnews\"}");
	assert_int_equal(json_array_size(json_object_get(res, "restriction_reason")), 1);
	json_decref(res);
	res = SX_OK(fx->fritz, "getChat", "{\"chat_id\":\"@localnews\"}");
	assert_null(json_object_get(res, "restriction_reason"));
	json_decref(res);
	WITHHELD(fx->dana, chan, m1);
	SHOWS(fx->fritz, chan, m1, "first local item");

	/* A new post: pushed withheld to dana, as is to fritz; the dialog's last message too. */
	m2 = post(fx->alice, chan, "second local item");
	m = pushed(fx->wdana, "new_message", m2);
	assert_non_null(strstr(sx_str(m, "text"), NOTICE));
	json_decref(m);
	m = pushed(fx->wfritz, "new_message", m2);
	assert_string_equal(sx_str(m, "text"), "second local item");
	json_decref(m);
	res = SX_OK(fx->dana, "getDialogs", "{}");
	json_array_foreach(res, i, d) {
		if (sx_int(json_object_get(d, "chat"), "id") != chan)
			continue;
		found = 1;
		assert_int_equal(sx_int(json_object_get(d, "last_message"), "message_id"), m2);
		assert_non_null(strstr(sx_str(json_object_get(d, "last_message"), "text"), NOTICE));
		assert_int_equal(json_array_size(json_object_get(json_object_get(d, "chat"), "restriction_reason")), 1);
	}
	assert_true(found);
	json_decref(res);
	/* Moderators see it as it is. */
	res = SX_OK(fx->chief, "getStatement", "{\"statement_id\":1}");
	assert_string_equal(sx_str(res, "action"), "restrict");
	json_decref(res);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_message_restriction, setup, teardown),
		cmocka_unit_test_setup_teardown(test_chat_restriction, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
