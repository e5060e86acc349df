/*
 * test_read_path.c — the read path's replies against the real parleyd
 * (docs/performance.md, "History page" and "Catch-up").
 *
 * History pages are written as text and catch-up replies are spliced from
 * the stored update bodies; neither may change what a client receives.
 * Covered: a history page shows a user's new display name after
 * updateProfile (the per-call cache of users never outlives its call); the
 * exact text shape of getDifference ({"pts","update"} rows, "state",
 * "more"), getUpdates (rows with "update_id") and getChatDifference (rows
 * with "chat_id"), each the compact JSON jansson would write for it; and
 * the same with a territorial restriction in force, where the withheld
 * message's body is filtered for a viewer in that territory and the others
 * are passed through untouched.
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
#include "safety_util.h"

#define NOTICE "not available in your country"

struct fx {
	struct harness *h;
	struct parley_client *alice, *bobby;
};

static int setup(void **state)
{
	struct fx *fx = calloc(1, sizeof *fx);

	assert_non_null(fx);
	assert_non_null(fx->h = harness_start(NULL));
	fx->alice = harness_user(fx->h, "alice");
	fx->bobby = harness_user(fx->h, "bobby");
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

/* The raw reply text of a call (malloc'd; caller frees).  Fails the test
 * unless it answered 200. */
static char *raw_call(struct parley_client *c, const char *method, const char *fmt, ...)
{
	char path[128], params[1024], *body = NULL;
	va_list ap;
	size_t len = 0;
	int status = 0;

	va_start(ap, fmt);
	vsnprintf(params, sizeof params, fmt, ap);
	va_end(ap);
	snprintf(path, sizeof path, "/api/%s", method);
	assert_int_equal(parley_request(c, "POST", path, "application/json", params, strlen(params), &status, &body,
					&len, NULL),
			 0);
	if (status != 200)
		print_error("%s answered %d: %s\n", method, status, body ? body : "");
	assert_int_equal(status, 200);
	assert_non_null(body);
	return body;
}

/* The text is exactly what jansson writes for what it parses to: compact,
 * no spaces, keys in the order given.  Returns the parsed reply. */
static json_t *canonical(const char *text)
{
	json_t *j = json_loads(text, 0, NULL);
	char *again;

	assert_non_null(j);
	again = json_dumps(j, JSON_COMPACT);
	assert_non_null(again);
	assert_string_equal(again, text);
	free(again);
	return j;
}

/* Every row of updates is {"pts":P,"update":{...}[,"<extra>":V]} with its
 * keys in that order, pts ascending. */
static void check_rows(const char *text, json_t *updates, const char *extra, int64_t extra_value)
{
	json_t *row;
	size_t i;
	int64_t last = 0;
	char want[96];

	assert_true(json_array_size(updates) > 0);
	json_array_foreach(updates, i, row) {
		const char *k1 = json_object_iter_key(json_object_iter(row));
		int64_t pts = sx_int(row, "pts");

		assert_string_equal(k1, "pts");
		assert_true(json_is_object(json_object_get(row, "update")));
		assert_true(pts > last);
		last = pts;
		snprintf(want, sizeof want, "{\"pts\":%lld,\"update\":{", (long long)pts);
		assert_non_null(strstr(text, want));
		if (extra) {
			assert_int_equal(json_object_size(row), 3);
			assert_int_equal(sx_int(row, extra), extra_value ? extra_value : pts);
			snprintf(want, sizeof want, "},\"%s\":%lld}", extra, (long long)(extra_value ? extra_value : pts));
			assert_non_null(strstr(text, want));
		} else {
			assert_int_equal(json_object_size(row), 2);
		}
	}
}

static int64_t post(struct parley_client *c, int64_t chat, const char *text)
{
	json_t *res = SX_OK(c, "sendMessage", "{\"chat_id\":%lld,\"text\":\"%s\"}", (long long)chat, text);
	int64_t id = sx_int(res, "message_id");

	json_decref(res);
	return id;
}

/* Every message bobby sent in the page names him as name (from), and the
 * private chat as alice sees it names him too. */
static void expect_bobby_named(struct fx *fx, const char *name)
{
	int64_t bob = harness_user_id(fx->h, "bobby");
	json_t *page = SX_OK(fx->alice, "getHistory", "{\"chat_id\":%lld}", (long long)bob), *m;
	size_t i, n = 0;

	json_array_foreach(page, i, m) {
		json_t *from = json_object_get(m, "from");
		assert_string_equal(sx_str(json_object_get(m, "chat"), "first_name"), name);
		if (sx_int(from, "id") == bob) {
			assert_string_equal(sx_str(from, "first_name"), name);
			n++;
		}
		if (json_object_get(m, "reply_to_message"))
			assert_string_equal(sx_str(json_object_get(json_object_get(m, "reply_to_message"), "chat"),
						   "first_name"), name);
	}
	assert_true(n >= 2);
	json_decref(page);
}

static void test_history_shows_new_name(void **state)
{
	struct fx *fx = *state;
	int64_t alice = harness_user_id(fx->h, "alice"), bob = harness_user_id(fx->h, "bobby"), first;
	json_t *res;

	first = post(fx->bobby, alice, "hello alice");
	json_decref(SX_OK(fx->alice, "sendMessage", "{\"chat_id\":%lld,\"text\":\"hi\",\"reply_to_message_id\":%lld}",
			  (long long)bob, (long long)first));
	post(fx->bobby, alice, "how are you?");
	expect_bobby_named(fx, "bobby");
	res = SX_OK(fx->bobby, "updateProfile", "{\"display_name\":\"Bob \\\"the\\\" Builder \\u00e9\"}");
	assert_string_equal(sx_str(res, "first_name"), "Bob \"the\" Builder \xc3\xa9");
	json_decref(res);
	expect_bobby_named(fx, "Bob \"the\" Builder \xc3\xa9");
	/* The same in his own write call's reply, rendered after the change. */
	res = SX_OK(fx->bobby, "sendMessage", "{\"chat_id\":%lld,\"text\":\"renamed\"}", (long long)alice);
	assert_string_equal(sx_str(json_object_get(res, "from"), "first_name"), "Bob \"the\" Builder \xc3\xa9");
	json_decref(res);
}

static void test_catch_up_shapes(void **state)
{
	struct fx *fx = *state;
	int64_t alice = harness_user_id(fx->h, "alice"), chan;
	json_t *res, *j;
	char *text, tail[96];

	for (int i = 0; i < 5; i++)
		post(fx->bobby, alice, i % 2 ? "line\\nbreak \\\"quoted\\\" \\u00e9 \\ud83d\\ude00" : "plain");
	res = SX_OK(fx->bobby, "createChannel", "{\"title\":\"Shapes\",\"username\":\"shapes_chan\"}");
	chan = sx_int(res, "id");
	json_decref(res);
	SX_DO(fx->alice, "joinChat", "{\"chat_id\":\"@shapes_chan\"}");
	post(fx->bobby, chan, "post one");
	post(fx->bobby, chan, "post two");

	/* getDifference: everything, then a page of 2 that says there is more. */
	text = raw_call(fx->alice, "getDifference", "{\"pts\":0}");
	assert_memory_equal(text, "{\"ok\":true,\"result\":{\"updates\":[{\"pts\":1,\"update\":{", 51);
	j = canonical(text);
	check_rows(text, json_object_get(json_object_get(j, "result"), "updates"), NULL, 0);
	snprintf(tail, sizeof tail, "}],\"state\":{\"pts\":%lld},\"more\":false}}",
		 (long long)sx_int(json_object_get(json_object_get(j, "result"), "state"), "pts"));
	assert_string_equal(text + strlen(text) - strlen(tail), tail);
	json_decref(j);
	free(text);
	text = raw_call(fx->alice, "getDifference", "{\"pts\":1,\"limit\":2}");
	j = canonical(text);
	check_rows(text, json_object_get(json_object_get(j, "result"), "updates"), NULL, 0);
	assert_non_null(strstr(text, "}],\"state\":{\"pts\":3},\"more\":true}}"));
	json_decref(j);
	free(text);
	/* Nothing new: an empty array, not a missing one. */
	text = raw_call(fx->alice, "getDifference", "{\"pts\":1000000}");
	assert_non_null(strstr(text, "{\"ok\":true,\"result\":{\"updates\":[],\"state\":{\"pts\":"));
	json_decref(canonical(text));
	free(text);

	/* getUpdates: a bare array of rows with update_id. */
	text = raw_call(fx->alice, "getUpdates", "{\"offset\":2,\"limit\":3}");
	assert_memory_equal(text, "{\"ok\":true,\"result\":[{\"pts\":2,\"update\":{", 40);
	j = canonical(text);
	assert_int_equal(json_array_size(json_object_get(j, "result")), 3);
	check_rows(text, json_object_get(j, "result"), "update_id", 0);
	json_decref(j);
	free(text);
	text = raw_call(fx->alice, "getUpdates", "{\"offset\":1000000}");
	assert_string_equal(text, "{\"ok\":true,\"result\":[]}");
	free(text);

	/* getChatDifference: rows with the chat's id. */
	text = raw_call(fx->alice, "getChatDifference", "{\"chat_id\":%lld,\"pts\":0}", (long long)chan);
	j = canonical(text);
	check_rows(text, json_object_get(json_object_get(j, "result"), "updates"), "chat_id", chan);
	assert_non_null(strstr(text, "post two"));
	json_decref(j);
	free(text);
}

/* Reports (as reporter) and restricts message msg of chat in territories
 * (chief decides). */
static void restrict_in(struct parley_client *chief, struct parley_client *reporter, int64_t chat, int64_t msg,
			const char *territories)
{
	json_t *res = SX_OK(reporter, "reportContent", "{\"chat_id\":%lld,\"message_ids\":[%lld],\"category\":\"hate\"}",
			    (long long)chat, (long long)msg);
	int64_t case_id = sx_int(json_array_get(json_object_get(res, "reports"), 0), "case_id");

	json_decref(res);
	SX_DO(chief, "decideCase",
	      "{\"case_id\":%lld,\"action\":\"restrict\",\"territories\":\"%s\",\"ground\":\"illegal\","
	      "\"legal_provision\":\"national law\",\"facts\":\"Unlawful there.\"}",
	      (long long)case_id, territories);
}

/* With a restriction in force: the same shapes; only the withheld
 * message's body differs, and only for a viewer in the territory. */
static void test_catch_up_shapes_restricted(void **state)
{
	struct fx *fx = *state;
	struct parley_client *chief = harness_user(fx->h, "chief"), *dana = harness_user(fx->h, "dana_de");
	int64_t chan, bad, alice = harness_user_id(fx->h, "alice");
	char out[1024], *text_de, *text_other, *dm;
	json_t *res, *j;

	assert_int_equal(harness_stop(fx->h), 0);
	assert_int_equal(sx_cli(fx->h, out, sizeof out, "admin grant-role chief admin"), 0);
	assert_int_equal(harness_restart(fx->h), 0);
	SX_DO(dana, "updateProfile", "{\"country\":\"DE\"}");
	res = SX_OK(fx->bobby, "createChannel", "{\"title\":\"Restricted\",\"username\":\"restr_chan\"}");
	chan = sx_int(res, "id");
	json_decref(res);
	SX_DO(dana, "joinChat", "{\"chat_id\":\"@restr_chan\"}");
	SX_DO(fx->alice, "joinChat", "{\"chat_id\":\"@restr_chan\"}");
	post(fx->bobby, chan, "fine everywhere");
	bad = post(fx->bobby, chan, "unlawful in DE");
	post(fx->bobby, chan, "also fine");
	post(fx->bobby, alice, "a private word");
	restrict_in(chief, dana, chan, bad, "DE");

	text_de = raw_call(dana, "getChatDifference", "{\"chat_id\":%lld,\"pts\":0}", (long long)chan);
	j = canonical(text_de);
	check_rows(text_de, json_object_get(json_object_get(j, "result"), "updates"), "chat_id", chan);
	json_decref(j);
	assert_non_null(strstr(text_de, NOTICE));
	assert_null(strstr(text_de, "unlawful in DE"));
	assert_non_null(strstr(text_de, "fine everywhere"));
	assert_non_null(strstr(text_de, "also fine"));
	text_other = raw_call(fx->alice, "getChatDifference", "{\"chat_id\":%lld,\"pts\":0}", (long long)chan);
	j = canonical(text_other);
	check_rows(text_other, json_object_get(json_object_get(j, "result"), "updates"), "chat_id", chan);
	json_decref(j);
	assert_null(strstr(text_other, NOTICE));
	assert_non_null(strstr(text_other, "unlawful in DE"));
	/* Outside the withheld message the two replies are the same text. */
	assert_memory_equal(text_de, text_other, (size_t)(strstr(text_other, "unlawful in DE") - text_other) - 200);

	/* The private chat's updates, with a restriction in force elsewhere. */
	dm = raw_call(fx->alice, "getDifference", "{\"pts\":0}");
	j = canonical(dm);
	check_rows(dm, json_object_get(json_object_get(j, "result"), "updates"), NULL, 0);
	assert_non_null(strstr(dm, "a private word"));
	json_decref(j);
	free(dm);
	dm = raw_call(fx->alice, "getUpdates", "{\"offset\":1}");
	j = canonical(dm);
	check_rows(dm, json_object_get(j, "result"), "update_id", 0);
	json_decref(j);
	free(dm);
	free(text_de);
	free(text_other);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_history_shows_new_name, setup, teardown),
		cmocka_unit_test_setup_teardown(test_catch_up_shapes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_catch_up_shapes_restricted, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
