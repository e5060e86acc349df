/*
 * test_safety_priority.c — the moderation queue's order against the real
 * parleyd (docs/policy.md, "Cases, priority and deadlines").
 *
 * Covered: 1,000 spam reports (10 reporters x 100 messages) make 100 cases
 * of 10 merged signals each; a trusted flagger's child-abuse notice sent
 * after them is first in the queue; a user's child-abuse report comes
 * after the flagger's and before the spam; every case carries its deadline
 * and none is overdue yet; paging walks the whole queue in order.
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

#define SPAM_MESSAGES 100
#define REPORTERS 10

static void test_flagger_before_spam(void **state)
{
	struct harness *h = harness_start(NULL);
	struct parley_client *admin, *spammer, *hotline, *reporters[REPORTERS], *victim;
	char ids[SPAM_MESSAGES * 8 + 16], key[80], name[32];
	int64_t group, first_msg = 0, csam_user, prev_prio = INT64_MAX, prev_deadline = 0, seen = 0;
	json_t *res, *cases, *c;
	size_t len = 0, i;

	assert_non_null(h);
	admin = harness_user(h, "chief");
	spammer = harness_user(h, "spammer");
	victim = harness_user(h, "victim");
	hotline = harness_client(h);
	sx_grant_cli(h, "chief", "admin");
	csam_user = harness_user_id(h, "victim");

	res = SX_OK(spammer, "createGroup", "{\"title\":\"Deals\"}");
	group = sx_int(res, "id");
	json_decref(res);
	for (int r = 0; r < REPORTERS; r++) {
		snprintf(name, sizeof name, "reporter%d", r);
		reporters[r] = harness_user(h, name);
		SX_DO(spammer, "addChatMembers", "{\"chat_id\":%lld,\"user_ids\":[%lld]}", (long long)group,
		      (long long)harness_user_id(h, name));
	}
	for (int m = 0; m < SPAM_MESSAGES; m++) {
		res = SX_OK(spammer, "sendMessage", "{\"chat_id\":%lld,\"text\":\"cheap pills %d\"}", (long long)group, m);
		if (!first_msg)
			first_msg = sx_int(res, "message_id");
		json_decref(res);
	}
	len += (size_t)snprintf(ids + len, sizeof ids - len, "[");
	for (int m = 0; m < SPAM_MESSAGES; m++)
		len += (size_t)snprintf(ids + len, sizeof ids - len, "%s%lld", m ? "," : "", (long long)(first_msg + m));
	snprintf(ids + len, sizeof ids - len, "]");

	/* 1,000 earlier spam reports. */
	for (int r = 0; r < REPORTERS; r++) {
		res = SX_OK(reporters[r], "reportContent", "{\"chat_id\":%lld,\"message_ids\":%s,\"category\":\"spam\"}",
			    (long long)group, ids);
		assert_int_equal(json_array_size(json_object_get(res, "reports")), SPAM_MESSAGES);
		json_decref(res);
	}
	res = SX_OK(admin, "getModerationQueue", "{}");
	assert_int_equal(sx_int(res, "open"), SPAM_MESSAGES); /* duplicates merged: one case per message */
	assert_int_equal(sx_int(json_array_get(json_object_get(res, "cases"), 0), "signals"), REPORTERS);
	assert_int_equal(sx_int(json_array_get(json_object_get(res, "cases"), 0), "priority"), 1 + REPORTERS - 1);
	json_decref(res);

	/* Then a user's child-abuse report, then a trusted flagger's notice. */
	SX_DO(reporters[0], "reportContent", "{\"user_id\":%lld,\"category\":\"child_sexual_abuse\"}",
	      (long long)harness_user_id(h, "spammer"));
	res = SX_OK(admin, "registerFlagger", "{\"name\":\"INHOPE member\",\"email\":\"desk@hotline.example\"}");
	snprintf(key, sizeof key, "%s", sx_str(res, "api_key"));
	json_decref(res);
	SX_DO(hotline, "submitNotice",
	      "{\"category\":\"child_sexual_abuse\",\"explanation\":\"Known abuse material shared by this account.\","
	      "\"good_faith\":true,\"user_id\":%lld,\"flagger_key\":\"%s\"}",
	      (long long)csam_user, key);

	res = SX_OK(admin, "getModerationQueue", "{\"limit\":3}");
	assert_int_equal(sx_int(res, "open"), SPAM_MESSAGES + 2);
	assert_int_equal(sx_int(res, "overdue"), 0);
	cases = json_object_get(res, "cases");
	c = json_array_get(cases, 0);
	assert_true(json_is_true(json_object_get(c, "trusted_flagger")));
	assert_string_equal(sx_str(c, "category"), "child_sexual_abuse");
	assert_int_equal(sx_int(json_object_get(json_object_get(c, "target"), "user"), "id"), csam_user);
	assert_true(sx_int(c, "deadline") <= (int64_t)time(NULL) + 3600);
	c = json_array_get(cases, 1);
	assert_false(json_is_true(json_object_get(c, "trusted_flagger")));
	assert_string_equal(sx_str(c, "category"), "child_sexual_abuse");
	assert_string_equal(sx_str(json_array_get(cases, 2), "category"), "spam");
	json_decref(res);

	/* Paging walks the whole queue in order: priority down, then deadline up. */
	for (int64_t off = 0; off < SPAM_MESSAGES + 2; off += 25) {
		res = SX_OK(admin, "getModerationQueue", "{\"limit\":25,\"offset\":%lld}", (long long)off);
		json_array_foreach(json_object_get(res, "cases"), i, c) {
			int64_t p = sx_int(c, "priority"), d = sx_int(c, "deadline");
			assert_true(p < prev_prio || (p == prev_prio && d >= prev_deadline));
			prev_prio = p;
			prev_deadline = d;
			seen++;
		}
		json_decref(res);
	}
	assert_int_equal(seen, SPAM_MESSAGES + 2);
	(void)victim;
	harness_free(h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_flagger_before_spam),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
