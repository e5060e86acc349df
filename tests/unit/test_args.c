/* test_args.c — unit tests for parameter decoding (src/api/args.c), UTF-8
 * validation, rate limiting, the settings table and the reply envelope. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "api/api.h"
#include "util/config.h"
#include "util/ratelimit.h"
#include "util/utf8.h"

static int decode(const char *method, const char *body, struct api_call *c)
{
	memset(c, 0, sizeof *c);
	return api_args_decode(c, api_method_find(method), body, strlen(body));
}

static void test_send_message_ok(void **st)
{
	struct api_call c;

	assert_int_equal(decode("sendMessage", "{\"chat_id\":-5,\"text\":\"hi\",\"reply_to_message_id\":\"7\"}", &c), 0);
	assert_true(c.v[0].present);
	assert_int_equal(c.v[0].i, -5);
	assert_string_equal(c.v[1].s, "hi");
	assert_int_equal(c.v[2].i, 7);
	api_call_release(&c);
}

static void test_chat_username(void **st)
{
	struct api_call c;

	assert_int_equal(decode("getChat", "{\"chat_id\":\"@news_room\"}", &c), 0);
	assert_string_equal(c.v[0].s, "news_room");
	api_call_release(&c);
	assert_int_not_equal(decode("getChat", "{\"chat_id\":0}", &c), 0);
	assert_int_equal(c.code, PLC_PARAM_INVALID);
	api_call_release(&c);
}

static void test_missing_and_types(void **st)
{
	struct api_call c;

	assert_int_not_equal(decode("sendMessage", "{\"text\":\"hi\"}", &c), 0);
	assert_int_equal(c.code, PLC_PARAM_MISSING);
	assert_non_null(strstr(c.detail, "chat_id"));
	api_call_release(&c);
	assert_int_not_equal(decode("sendMessage", "{\"chat_id\":1,\"text\":5}", &c), 0);
	assert_int_equal(c.code, PLC_PARAM_INVALID);
	api_call_release(&c);
	assert_int_not_equal(decode("sendMessage", "{\"chat_id\":true,\"text\":\"x\"}", &c), 0);
	assert_int_equal(c.code, PLC_PARAM_INVALID);
	api_call_release(&c);
	assert_int_not_equal(decode("getHistory", "{\"chat_id\":1,\"limit\":101}", &c), 0);
	assert_int_equal(c.code, PLC_PARAM_INVALID);
	api_call_release(&c);
	assert_int_equal(decode("getHistory", "{\"chat_id\":1,\"limit\":null}", &c), 0);
	assert_false(c.v[3].present);
	api_call_release(&c);
}

static void test_bad_json(void **st)
{
	struct api_call c;

	assert_int_not_equal(decode("getMe", "{\"a\":", &c), 0);
	assert_int_equal(c.code, PLC_JSON_INVALID);
	api_call_release(&c);
	assert_int_not_equal(decode("getMe", "[1,2]", &c), 0);
	assert_int_equal(c.code, PLC_JSON_INVALID);
	api_call_release(&c);
	assert_int_not_equal(decode("getMe", "{\"a\":1,\"a\":2}", &c), 0);
	assert_int_equal(c.code, PLC_JSON_INVALID);
	api_call_release(&c);
	assert_int_not_equal(decode("sendMessage", "{\"chat_id\":1,\"text\":\"\xff\xfe\"}", &c), 0);
	assert_int_equal(c.code, PLC_TEXT_INVALID_UTF8);
	api_call_release(&c);
	assert_int_equal(decode("getMe", "  ", &c), 0);
	api_call_release(&c);
}

static void test_too_long_text(void **st)
{
	struct api_call c;
	size_t n = 4097;
	char *body = malloc(n + 64);
	size_t len = (size_t)sprintf(body, "{\"chat_id\":1,\"text\":\"");

	memset(body + len, 'a', n);
	strcpy(body + len + n, "\"}");
	assert_int_not_equal(decode("sendMessage", body, &c), 0);
	assert_int_equal(c.code, PLC_MESSAGE_TOO_LONG);
	api_call_release(&c);
	/* 4096 characters of 4 bytes each are fine */
	free(body);
	body = malloc(4096 * 4 + 64);
	len = (size_t)sprintf(body, "{\"chat_id\":1,\"text\":\"");
	for (int i = 0; i < 4096; i++, len += 4)
		memcpy(body + len, "\xf0\x9f\x98\x80", 4);
	strcpy(body + len, "\"}");
	assert_int_equal(decode("sendMessage", body, &c), 0);
	api_call_release(&c);
	free(body);
}

static void test_arrays(void **st)
{
	struct api_call c;

	assert_int_equal(decode("deleteMessages", "{\"chat_id\":-1,\"message_ids\":[1,2,3]}", &c), 0);
	assert_int_equal(c.v[1].n, 3);
	assert_int_equal(c.v[1].arr[2], 3);
	api_call_release(&c);
	assert_int_not_equal(decode("deleteMessages", "{\"chat_id\":-1,\"message_ids\":[]}", &c), 0);
	assert_int_equal(c.code, PLC_PARAM_INVALID);
	api_call_release(&c);
	assert_int_not_equal(decode("deleteMessages", "{\"chat_id\":-1,\"message_ids\":[1,-2]}", &c), 0);
	assert_int_equal(c.code, PLC_PARAM_INVALID);
	api_call_release(&c);
}

static void test_utf8(void **st)
{
	assert_int_equal(utf8_count("abc", 3), 3);
	assert_int_equal(utf8_count("\xc3\xa9", 2), 1);
	assert_int_equal(utf8_count("\xc0\xaf", 2), -1);         /* overlong */
	assert_int_equal(utf8_count("\xed\xa0\x80", 3), -1);     /* surrogate */
	assert_int_equal(utf8_count("\xf4\x90\x80\x80", 4), -1); /* > U+10FFFF */
	assert_int_equal(utf8_count("\xe2\x82", 2), -1);         /* truncated */
	assert_int_equal(utf8_count("a\0b", 3), -1);             /* NUL */

	/* The 8-bytes-a-step ASCII path: whatever sits at any place of a long
	 * text, in or out of a step, is seen. */
	char t[41];
	for (size_t at = 0; at < sizeof t; at++) {
		memset(t, 'x', sizeof t);
		assert_int_equal(utf8_count(t, sizeof t), 41);
		assert_int_equal(utf8_count(t, at), (long)at);
		t[at] = '\0';
		assert_int_equal(utf8_count(t, sizeof t), -1);
		t[at] = (char)0x80; /* a continuation byte alone */
		assert_int_equal(utf8_count(t, sizeof t), -1);
		t[at] = 0x7f;
		assert_int_equal(utf8_count(t, sizeof t), 41);
		if (at + 1 < sizeof t) {
			memcpy(t + at, "\xc3\xa9", 2);
			assert_int_equal(utf8_count(t, sizeof t), 40);
			assert_int_equal(utf8_count(t, at + 1), -1); /* cut inside it */
		}
	}
}

static void test_ratelimit(void **st)
{
	struct rl_table *t = rl_table_new(4);

	assert_non_null(t);
	for (int i = 0; i < 3; i++)
		assert_int_equal(rl_take(t, "a", 1.0, 3.0, 100.0), 0);
	assert_int_equal(rl_take(t, "a", 1.0, 3.0, 100.0), 1);
	assert_int_equal(rl_take(t, "a", 1.0, 3.0, 101.0), 0); /* refilled one */
	for (int i = 0; i < 20; i++) {                          /* more keys than max: no crash, still limits */
		char k[8];
		snprintf(k, sizeof k, "k%d", i);
		rl_take(t, k, 1.0, 1.0, 102.0);
	}
	rl_table_free(t);
}

static void test_config(void **st)
{
	struct pl_config c;
	char err[256];

	pl_config_defaults(&c);
	assert_string_equal(c.listen, "127.0.0.1:8080");
	assert_int_equal(c.max_body_bytes, 1048576);
	assert_int_equal(pl_config_set(&c, "max_body_bytes", "2048", err, sizeof err), 0);
	assert_int_equal(c.max_body_bytes, 2048);
	assert_int_equal(pl_config_set(&c, "max_body_bytes", "12x", err, sizeof err), -1);
	assert_int_equal(pl_config_set(&c, "nope", "1", err, sizeof err), -1);
	assert_non_null(strstr(err, "nope"));
	setenv("PARLEY_READER_THREADS", "7", 1);
	assert_int_equal(pl_config_load_env(&c, err, sizeof err), 0);
	assert_int_equal(c.reader_threads, 7);
	unsetenv("PARLEY_READER_THREADS");
}

static void test_error_envelope(void **st)
{
	char *s = api_error_json(PLC_FLOOD_WAIT, "slow down", 30);

	assert_non_null(strstr(s, "\"error_code\":429"));
	assert_non_null(strstr(s, "FLOOD_WAIT_30: slow down"));
	assert_non_null(strstr(s, "\"retry_after\":30"));
	free(s);
	s = api_error_json(PLC_MESSAGE_TOO_LONG, NULL, 0);
	assert_non_null(strstr(s, "\"description\":\"MESSAGE_TOO_LONG: "));
	free(s);
}

/* The server's method index answers as the table walk does: every name,
 * and names that are not methods (a prefix, a longer name, another case,
 * the empty name). */
static void test_method_index(void **state)
{
	static const char *const unknown[] = {"", "s", "send", "sendMessages", "SendMessage", "getme", "nosuch"};
	struct api_method_index ix;

	api_method_index_init(&ix);
	for (size_t i = 0; i < api_methods_count; i++) {
		assert_ptr_equal(api_method_index_find(&ix, api_methods[i].name), &api_methods[i]);
		assert_ptr_equal(api_method_find(api_methods[i].name), &api_methods[i]);
	}
	for (size_t i = 0; i < sizeof unknown / sizeof unknown[0]; i++) {
		assert_null(api_method_index_find(&ix, unknown[i]));
		assert_null(api_method_find(unknown[i]));
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_send_message_ok), cmocka_unit_test(test_chat_username),
		cmocka_unit_test(test_missing_and_types), cmocka_unit_test(test_bad_json),
		cmocka_unit_test(test_too_long_text), cmocka_unit_test(test_arrays),
		cmocka_unit_test(test_utf8), cmocka_unit_test(test_ratelimit),
		cmocka_unit_test(test_config), cmocka_unit_test(test_error_envelope),
		cmocka_unit_test(test_method_index),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
