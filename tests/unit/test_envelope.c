/* test_envelope.c — the WebSocket envelope reader (src/api/envelope.c)
 * against jansson: on a corpus of valid calls and of every kind of
 * malformed frame, and on every truncation and one-byte change of a few
 * calls, the reader either declines (jansson answers, as before) or reads
 * exactly what jansson reads, down to the decoded parameters and error
 * replies of every method (fuzz/envelope_diff.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "../../fuzz/envelope_diff.h"

/* Checks a frame; returns 1 (read) or 0 (declined), fails on a mismatch. */
static int check_n(const char *text, size_t len)
{
	char why[512] = "", *copy = malloc(len ? len : 1);
	int rc;

	assert_non_null(copy);
	memcpy(copy, text, len); /* exactly len bytes: no NUL to lean on */
	rc = envdiff_check(copy, len, why, sizeof why);
	free(copy);
	if (rc < 0)
		fail_msg("frame %.*s: %s", (int)len, text, why);
	return rc;
}

static int check(const char *text)
{
	return check_n(text, strlen(text));
}

/* Frames the reader must take itself (the fast path is not vacuous). */
static const char *const taken[] = {
	"{\"id\":1,\"method\":\"sendMessage\",\"params\":{\"chat_id\":5,\"text\":\"hi\"}}",
	"{\"id\":0,\"method\":\"auth\",\"params\":{\"token\":\"abcdef0123\"}}",
	" \t\r\n{ \"id\" : 7 , \"method\" : \"sendMessage\" , \"params\" : { \"chat_id\" : \"-12\" , \"text\" : \"x\" } } \n",
	"{\"method\":\"sendMessage\",\"params\":{\"chat_id\":\"@alice_b\",\"text\":\"caf\xc3\xa9 \xf0\x9f\x98\x80\"}}",
	"{\"id\":\"abc\",\"method\":\"getMe\"}",
	"{\"id\":\"\xc3\xa9\x7f/x\",\"method\":\"getMe\",\"params\":{}}",
	"{\"id\":null,\"method\":\"getMe\"}",
	"{\"id\":true,\"method\":\"getMe\"}",
	"{\"id\":false,\"method\":\"nope\"}",
	"{\"id\":-0,\"method\":\"getMe\"}",
	"{\"id\":9223372036854775807,\"method\":\"getMe\"}",
	"{\"id\":-9223372036854775808,\"method\":\"getMe\"}",
	"{\"method\":\"sendMessage\",\"params\":{\"chat_id\":9223372036854775807,\"text\":\"t\"}}",
	"{\"method\":\"sendMessage\",\"params\":{\"chat_id\":-9223372036854775808,\"text\":\"t\"}}",
	"{\"method\":\"sendMessage\",\"params\":{\"chat_id\":0,\"text\":\"t\"}}",
	"{\"method\":\"sendMessage\",\"params\":{\"chat_id\":1,\"text\":\"\"}}",
	"{\"method\":\"sendMessage\",\"params\":{\"chat_id\":1,\"text\":null}}",
	"{\"method\":\"sendMessage\",\"params\":{\"chat_id\":1,\"text\":5}}",
	"{\"method\":\"sendMessage\",\"params\":{\"chat_id\":true,\"text\":\"x\"}}",
	"{\"method\":\"sendMessage\",\"params\":{\"chat_id\":\"\",\"text\":\"x\"}}",
	"{\"method\":\"sendMessage\",\"params\":{\"chat_id\":\"@\",\"text\":\"x\"}}",
	"{\"method\":\"sendMessage\",\"params\":{\"chat_id\":\" 12\",\"text\":\"x\"}}",
	"{\"method\":\"sendMessage\",\"params\":{\"chat_id\":\"99999999999999999999\",\"text\":\"x\"}}",
	"{\"method\":\"sendMessage\",\"params\":{\"chat_id\":1,\"text\":\"a\\\"b\\\\c\\/d\\b\\f\\n\\r\\t\"}}",
	"{\"method\":\"sendMessage\",\"params\":{\"chat_id\":1,\"text\":\"\\u0041\\u00e9\\u20AC\\ud83d\\ude00\\uFFFF\"}}",
	"{\"method\":\"sendMessage\",\"params\":{\"chat_id\":1,\"text\":\"x\",\"reply_to_message_id\":\"7\"}}",
	"{\"method\":\"sendMessage\",\"params\":{\"chat_id\":1,\"text\":\"x\",\"unknown\":false,\"other\":null}}",
	"{\"method\":\"getHistory\",\"params\":{\"chat_id\":1,\"limit\":101}}",
	"{\"method\":\"getHistory\",\"params\":{\"chat_id\":1,\"limit\":\"0x10\"}}",
	"{\"method\":\"createGroup\",\"params\":{\"title\":\"t\",\"user_ids\":5}}",
	"{\"method\":\"editChatReplyMarkup\",\"params\":{\"reply_markup\":\"x\"}}",
	"{\"method\":5}",
	"{\"method\":null,\"id\":3}",
	"{\"id\":3}",
	"{}",
	"{\"params\":{}}",
	"{\"x\":1,\"y\":\"z\",\"method\":\"getMe\"}",
	"{\"method\":\"send\\u004dessage\",\"params\":{\"chat_id\":1,\"text\":\"x\"}}",
	"{\"method\":\"auth\",\"params\":{\"token\":5}}",
	"{\"method\":\"auth\",\"params\":{\"tok\\u0065n\":\"t\"}}",
	"{\"method\":\"auth\"}",
	"{\"method\":\"register\",\"params\":{\"username\":\"bob\",\"password\":\"secret12\"}}",
	"{\"method\":\"setTyping\",\"params\":{\"chat_id\":1,\"typing\":\"true\"}}",
	"{\"method\":\"setTyping\",\"params\":{\"chat_id\":1,\"typing\":1}}",
	"{\"method\":\"setTyping\",\"params\":{\"chat_id\":1,\"typing\":2}}",
	NULL,
};

/* Frames jansson must answer (the reader declines them). */
static const char *const declined[] = {
	"",
	"   ",
	"[]",
	"[1]",
	"1",
	"\"x\"",
	"null",
	"{",
	"{\"id\":1,}",
	"{\"id\":1 \"method\":\"x\"}",
	"{\"id\"1}",
	"{id:1}",
	"{'id':1}",
	"{\"id\":1}x",
	"{\"id\":1}{}",
	"\xef\xbb\xbf{\"id\":1}",
	"{\"id\":01}",
	"{\"id\":1.0}",
	"{\"id\":1e3}",
	"{\"id\":-}",
	"{\"id\":+1}",
	"{\"id\":9223372036854775808}",
	"{\"id\":-9223372036854775809}",
	"{\"id\":99999999999999999999999}",
	"{\"id\":[1]}",
	"{\"id\":{\"a\":1}}",
	"{\"id\":\"a\\nb\"}",
	"{\"id\":\"a\\u0041\"}",
	"{\"id\":tru}",
	"{\"id\":truex}",
	"{\"id\":NULL}",
	"{\"id\":1,\"id\":2}",
	"{\"id\":1,\"i\\u0064\":2}",
	"{\"method\":\"a\",\"method\":\"a\"}",
	"{\"x\":1,\"x\":1}",
	"{\"params\":{\"a\":1,\"a\":1}}",
	"{\"params\":{\"a\":1,\"\\u0061\":2}}",
	"{\"params\":null,\"method\":\"getMe\"}",
	"{\"params\":[],\"method\":\"getMe\"}",
	"{\"params\":5,\"method\":\"getMe\"}",
	"{\"params\":\"x\",\"method\":\"auth\"}",
	"{\"params\":{\"reply_markup\":{\"inline_keyboard\":[]}},\"method\":\"sendMessage\"}",
	"{\"params\":{\"user_ids\":[1,2]},\"method\":\"createGroup\"}",
	"{\"params\":{\"a\":1.5},\"method\":\"getMe\"}",
	"{\"params\":{\"a\":1},\"extra\":[1],\"method\":\"getMe\"}",
	"{\"params\":{\"a\":1},\"extra\":{},\"method\":\"getMe\"}",
	"{\"method\":\"sendMessage\",\"params\":{\"chat_id\":1,\"text\":\"a\x01\"}}",
	"{\"method\":\"sendMessage\",\"params\":{\"chat_id\":1,\"text\":\"a\tb\"}}",
	"{\"method\":\"sendMessage\",\"params\":{\"chat_id\":1,\"text\":\"\\u0000\"}}",
	"{\"method\":\"sendMessage\",\"params\":{\"chat_id\":1,\"text\":\"\\ud800\"}}",
	"{\"method\":\"sendMessage\",\"params\":{\"chat_id\":1,\"text\":\"\\ud800x\"}}",
	"{\"method\":\"sendMessage\",\"params\":{\"chat_id\":1,\"text\":\"\\ud800\\u0041\"}}",
	"{\"method\":\"sendMessage\",\"params\":{\"chat_id\":1,\"text\":\"\\udc00\"}}",
	"{\"method\":\"sendMessage\",\"params\":{\"chat_id\":1,\"text\":\"\\ude00\\ud83d\"}}",
	"{\"method\":\"sendMessage\",\"params\":{\"chat_id\":1,\"text\":\"\\u12\"}}",
	"{\"method\":\"sendMessage\",\"params\":{\"chat_id\":1,\"text\":\"\\u12G4\"}}",
	"{\"method\":\"sendMessage\",\"params\":{\"chat_id\":1,\"text\":\"\\x\"}}",
	"{\"method\":\"sendMessage\",\"params\":{\"chat_id\":1,\"text\":\"\\'\"}}",
	"{\"method\":\"sendMessage\",\"params\":{\"chat_id\":1,\"text\":\"\xc3\"}}",
	"{\"method\":\"sendMessage\",\"params\":{\"chat_id\":1,\"text\":\"\xc0\xaf\"}}",
	"{\"method\":\"sendMessage\",\"params\":{\"chat_id\":1,\"text\":\"\xed\xa0\x80\"}}",
	"{\"method\":\"sendMessage\",\"params\":{\"chat_id\":1,\"text\":\"\xf4\x90\x80\x80\"}}",
	"{\"method\":\"sendMessage\",\"params\":{\"chat_id\":1,\"text\":\"\xff\"}}",
	"{\"method\":\"sendMessage\",\"params\":{\"chat_id\":1,\"text\":\"\x80\"}}",
	"{\"method\":\"sendMessage\",\"params\":{\"chat_id\":1,\"text\":\"unterminated}}",
	"{\"method\":\"sendMessage\"\xc3\xa9}",
	("{\"method\":\"x\",\"params\":{\"a\":1,\"b\":2,\"c\":3,\"d\":4,\"e\":5,\"f\":6,\"g\":7,\"h\":8,\"i\":9,\"j\":10,"
	 "\"k\":11,\"l\":12,\"m\":13,\"n\":14,\"o\":15,\"p\":16,\"q\":17}}"),
	NULL,
};

static void test_taken(void **st)
{
	for (int i = 0; taken[i]; i++)
		if (check(taken[i]) != 1)
			fail_msg("declined: %s", taken[i]);
}

static void test_declined(void **st)
{
	for (int i = 0; declined[i]; i++)
		if (check(declined[i]) != 0)
			fail_msg("taken: %s", declined[i]);
}

/* NUL bytes inside a frame (a text frame may carry them). */
static void test_nul_bytes(void **st)
{
	static const char a[] = "{\"id\":1,\"method\":\"getMe\"}\0";
	static const char b[] = "{\"id\":1,\"method\":\"get\0Me\"}";
	static const char c[] = "{\"id\":1,\0\"method\":\"getMe\"}";

	assert_int_equal(check_n(a, sizeof a - 1), 0);
	assert_int_equal(check_n(b, sizeof b - 1), 0);
	assert_int_equal(check_n(c, sizeof c - 1), 0);
}

/* Every prefix, every one-byte change to an interesting byte, every
 * one-byte insertion and deletion of a few calls: none may disagree. */
static void test_mutations(void **st)
{
	static const char *const base[] = {
		("{\"id\":12,\"method\":\"sendMessage\",\"params\":{\"chat_id\":\"-5\",\"text\":\"h\\u00e9\\ud83d\\ude00\","
		 "\"reply_to_message_id\":7}}"),
		"{\"id\":\"q\xc3\xa9\",\"method\":\"setTyping\",\"params\":{\"chat_id\":\"@bob_x\",\"typing\":true,\"n\":null}}",
		"{\"method\":\"auth\",\"params\":{\"token\":\"ab\\/c\"},\"id\":-1}",
	};
	static const char bytes[] = "\"\\{}[],:0-9e.+ \ttnfu\x01\x7f\x80\xc3\xa9\xed\xff/a";
	char buf[512];
	int taken_n = 0;

	for (size_t k = 0; k < sizeof base / sizeof base[0]; k++) {
		size_t len = strlen(base[k]);
		for (size_t i = 0; i <= len; i++)
			taken_n += check_n(base[k], i);
		for (size_t i = 0; i < len; i++) {
			for (size_t b = 0; b < sizeof bytes - 1; b++) {
				memcpy(buf, base[k], len);
				buf[i] = bytes[b];
				taken_n += check_n(buf, len);
				memcpy(buf, base[k], i);
				buf[i] = bytes[b];
				memcpy(buf + i + 1, base[k] + i, len - i);
				taken_n += check_n(buf, len + 1);
			}
			memcpy(buf, base[k], i);
			memcpy(buf + i, base[k] + i + 1, len - i - 1);
			taken_n += check_n(buf, len - 1);
		}
	}
	assert_true(taken_n > 100);
}

static void test_id_json(void **st)
{
	struct envelope e;
	char ib[ENVELOPE_ID_BUF];
	size_t n;
	const char *s;

	assert_int_equal(envelope_parse(&e, "{\"id\":-9223372036854775808}", 27), 0);
	s = envelope_id_json(&e.id, ib, &n);
	assert_int_equal(n, 20);
	assert_memory_equal(s, "-9223372036854775808", 20);
	envelope_release(&e);
	envelope_release(&e);
	assert_int_equal(envelope_parse(&e, "{}", 2), 0);
	s = envelope_id_json(&e.id, ib, &n);
	assert_int_equal(e.id.kind, ENVELOPE_ABSENT);
	assert_memory_equal(s, "null", 4);
	envelope_release(&e);
}

/* envelope_move gives the same envelope as a copy of the whole struct,
 * into memory full of garbage, and leaves the source nothing to free. */
static void test_move(void **st)
{
	static const char f[] = "{\"id\":\"a1\",\"method\":\"sendMessage\",\"params\":{\"chat_id\":42,\"text\":\"hi\"}}";
	struct envelope e, to;
	char ib[ENVELOPE_ID_BUF];
	const struct envelope_value *v;
	size_t n;

	assert_int_equal(envelope_parse(&e, f, sizeof f - 1), 0);
	memset(&to, 0x5a, sizeof to);
	envelope_move(&to, &e);
	assert_null(e.arena);
	envelope_release(&e);
	assert_int_equal(to.n, 2);
	assert_int_equal(to.has_params, 1);
	assert_string_equal(to.method.s, "sendMessage");
	assert_memory_equal(envelope_id_json(&to.id, ib, &n), "\"a1\"", 4);
	assert_non_null(v = envelope_param(&to, "chat_id"));
	assert_int_equal(v->i, 42);
	assert_non_null(v = envelope_param(&to, "text"));
	assert_string_equal(v->s, "hi");
	assert_null(envelope_param(&to, "reply_to_message_id"));
	envelope_release(&to);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_move),
		cmocka_unit_test(test_taken),
		cmocka_unit_test(test_declined),
		cmocka_unit_test(test_nul_bytes),
		cmocka_unit_test(test_mutations),
		cmocka_unit_test(test_id_json),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
