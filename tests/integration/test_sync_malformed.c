/*
 * test_sync_malformed.c — malformed and hostile input on the WebSocket
 * (docs/sync.md, "The WebSocket"; RFC 6455), against the real parleyd
 * (harness.h) with PARLEY_WS_MAX_MESSAGE_BYTES=4096, over wsclient.h.
 *
 * Frames, each on a fresh authenticated socket, with the close code the
 * server must send:
 *   unmasked frame 1002; reserved opcode (data 0x3, control 0xB) 1002; RSV
 *   bit set 1002; continuation without a start 1002; fragmented ping 1002;
 *   ping longer than 125 bytes 1002; a second HTTP upgrade request sent over
 *   the open socket 1002; binary message 1003; invalid UTF-8 (bad byte,
 *   overlong form, surrogate, split over fragments) 1007; a frame announcing
 *   more than 4096 bytes 1009, and fragments adding up to more 1009, while
 *   a message of exactly 4096 bytes is served.
 * Calls:
 *   a call before authentication gets {"ok":false,"error_code":401} with its
 *   id, then close 4401; a bad token on the upgrade (header or ?token=) or
 *   in an auth call gets 401 and 4401; the auth call answers user_id and
 *   session_id and a second one is refused; invalid JSON, a JSON array, and
 *   params that are not an object are JSON_INVALID with the connection kept;
 *   a missing method is PARAM_MISSING; an unknown method is 404
 *   METHOD_NOT_FOUND; string ids come back as they were sent; the exact
 *   answer, byte for byte, to frames the envelope reader reads and to frames
 *   it declines to jansson (test_call_answers_exact).
 * Protocol: a ping is answered by a pong; a client close is answered with the
 *   same code; handshakes without Upgrade, without a valid key or with
 *   version 8 are refused (400, 400, 426).
 * After every case a watcher socket that stayed connected the whole time
 * still receives the next update, at the next pts, and /healthz answers 200.
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
#include "wsclient.h"

#define MF_MAX_MESSAGE 4096      /* PARLEY_WS_MAX_MESSAGE_BYTES */
#define MF_CALL_MS 10000
#define MF_CLOSE_MS 10000

static struct harness *mf_h;
static struct parley_client *mf_alice, *mf_bob, *mf_health;
static int64_t mf_alice_id, mf_bob_id;
static struct wsc *mf_watch;    /* bob's socket, open the whole run */
static int64_t mf_watch_pts;    /* bob's last pts seen on it */
static int mf_checks;

/* --- helpers ------------------------------------------------------------ */

static int64_t mf_int(json_t *obj, const char *key)
{
	json_t *v = json_object_get(obj, key);

	return json_is_integer(v) ? (int64_t)json_integer_value(v) : -1;
}

static const char *mf_str(json_t *obj, const char *key)
{
	json_t *v = json_object_get(obj, key);

	return json_is_string(v) ? json_string_value(v) : "";
}

/* alice's socket, authenticated by the upgrade request, ready. */
static struct wsc *mf_open(void)
{
	struct wsc *w = NULL;
	char err[256];

	if (wsc_open(harness_url(mf_h), parley_client_token(mf_alice), MF_CALL_MS, &w, NULL, NULL, err, sizeof err) < 0) {
		print_error("WebSocket: %s\n", err);
		fail();
	}
	return w;
}

/* A socket without any token. */
static struct wsc *mf_open_anon(void)
{
	struct wsc *w = NULL;
	char err[256];

	if (wsc_connect(harness_url(mf_h), NULL, &w, NULL, err, sizeof err) < 0) {
		print_error("WebSocket: %s\n", err);
		fail();
	}
	return w;
}

/* Waits for the server to end w and checks the close code; frees w. */
#define EXPECT_CLOSE(w, code) mf_expect_close((w), (code), __LINE__)
static void mf_expect_close(struct wsc *w, int code, int line)
{
	int got = wsc_wait_close(w, MF_CLOSE_MS);

	if (got != code)
		print_error("line %d: close code %d (%s), expected %d; %s\n", line, got, wsc_close_reason(w), code,
			    wsc_error(w));
	assert_int_equal(got, code);
	wsc_free(w);
}

/* The server still serves: the watcher gets the next update at the next pts,
 * and /healthz is 200. */
static void mf_check_alive(void)
{
	struct parley_error err;
	char text[64];
	int64_t id = 0;
	int status = 0;
	char *body = NULL;
	json_t *m;

	snprintf(text, sizeof text, "still here %d", ++mf_checks);
	assert_int_equal(parley_send_message(mf_alice, mf_bob_id, text, 0, &id, &err), 0);
	for (;;) {
		int rc = wsc_next(mf_watch, MF_CALL_MS, &m);
		if (rc < 0) {
			print_error("watcher: %s (%s)\n", wsc_strerror(rc), wsc_error(mf_watch));
			fail();
		}
		if (json_object_get(m, "pts"))
			break;
		json_decref(m); /* alice's user_status and such */
	}
	assert_int_equal(mf_int(m, "pts"), mf_watch_pts + 1);
	assert_int_equal(mf_int(json_object_get(json_object_get(m, "update"), "message"), "message_id"), id);
	assert_string_equal(mf_str(json_object_get(json_object_get(m, "update"), "message"), "text"), text);
	mf_watch_pts++;
	json_decref(m);
	assert_int_equal(parley_get(mf_health, "/healthz", &status, &body, NULL, &err), 0);
	assert_int_equal(status, 200);
	free(body);
}

/* Sends a call as raw text and returns the reply envelope (the first
 * message with an "ok" member). */
static json_t *mf_raw_call(struct wsc *w, const char *text)
{
	json_t *m;

	assert_int_equal(wsc_send_text(w, text), WSC_OK);
	for (;;) {
		int rc = wsc_next(w, MF_CALL_MS, &m);
		if (rc < 0) {
			print_error("no reply to %.60s: %s (%s), close %d\n", text, wsc_strerror(rc), wsc_error(w),
				    wsc_close_code(w));
			fail();
		}
		if (json_object_get(m, "ok"))
			return m;
		json_decref(m);
	}
}

/* Checks an error envelope: ok false, the status, the code's name. */
static void mf_expect_error(json_t *reply, int status, const char *code)
{
	const char *d = mf_str(reply, "description");

	if (!json_is_false(json_object_get(reply, "ok")) || mf_int(reply, "error_code") != status ||
	    strncmp(d, code, strlen(code)) != 0 || d[strlen(code)] != ':') {
		char *s = json_dumps(reply, JSON_COMPACT);
		print_error("reply %s, expected %d %s\n", s, status, code);
		free(s);
		fail();
	}
}

/* The connection still answers a normal call. */
static void mf_expect_served(struct wsc *w)
{
	json_t *reply = NULL;

	assert_int_equal(wsc_call(w, "getMe", NULL, MF_CALL_MS, &reply), WSC_OK);
	assert_true(json_is_true(json_object_get(reply, "ok")));
	assert_int_equal(mf_int(json_object_get(reply, "result"), "id"), mf_alice_id);
	json_decref(reply);
}

static int mf_setup(void **state)
{
	static const char *const env[] = {"PARLEY_WS_MAX_MESSAGE_BYTES=4096", NULL};
	char err[256];
	struct parley_error perr;

	if (!(mf_h = harness_start(env)))
		return -1;
	mf_alice = harness_user(mf_h, "mf_alice");
	mf_bob = harness_user(mf_h, "mf_bob");
	mf_health = harness_client(mf_h);
	mf_alice_id = harness_user_id(mf_h, "mf_alice");
	mf_bob_id = harness_user_id(mf_h, "mf_bob");
	if (parley_send_message(mf_bob, mf_alice_id, "hello", 0, NULL, &perr) < 0)
		return -1;
	if (wsc_open(harness_url(mf_h), parley_client_token(mf_bob), MF_CALL_MS, &mf_watch, NULL, NULL, err,
		     sizeof err) < 0) {
		fprintf(stderr, "watcher: %s\n", err);
		return -1;
	}
	mf_watch_pts = 1; /* bob's "hello" */
	return 0;
}

static int mf_teardown(void **state)
{
	wsc_free(mf_watch);
	mf_watch = NULL;
	harness_free(mf_h);
	mf_h = NULL;
	return 0;
}

/* --- frames --------------------------------------------------------------- */

static void test_unmasked_frame(void **state)
{
	struct wsc *w = mf_open();

	assert_int_equal(wsc_send_frame(w, 1, 0, WSC_OP_TEXT, 0, "{\"id\":1,\"method\":\"getMe\"}", 26), WSC_OK);
	EXPECT_CLOSE(w, 1002);
	mf_check_alive();
}

static void test_reserved_opcodes_and_bits(void **state)
{
	struct wsc *w = mf_open();

	assert_int_equal(wsc_send_frame(w, 1, 0, 0x3, 1, "xyz", 3), WSC_OK);
	EXPECT_CLOSE(w, 1002);
	w = mf_open();
	assert_int_equal(wsc_send_frame(w, 1, 0, 0xB, 1, "", 0), WSC_OK);
	EXPECT_CLOSE(w, 1002);
	w = mf_open();
	assert_int_equal(wsc_send_frame(w, 1, 4, WSC_OP_TEXT, 1, "{}", 2), WSC_OK); /* RSV1: no extension agreed */
	EXPECT_CLOSE(w, 1002);
	mf_check_alive();
}

static void test_bad_fragmentation_and_control(void **state)
{
	char big[126];
	struct wsc *w = mf_open();

	assert_int_equal(wsc_send_frame(w, 1, 0, WSC_OP_CONT, 1, "{}", 2), WSC_OK);
	EXPECT_CLOSE(w, 1002);
	w = mf_open();
	assert_int_equal(wsc_send_frame(w, 0, 0, WSC_OP_PING, 1, "a", 1), WSC_OK);
	EXPECT_CLOSE(w, 1002);
	w = mf_open();
	memset(big, 'p', sizeof big);
	assert_int_equal(wsc_send_frame(w, 1, 0, WSC_OP_PING, 1, big, sizeof big), WSC_OK);
	EXPECT_CLOSE(w, 1002);
	/* A new text message while a fragmented one is open. */
	w = mf_open();
	assert_int_equal(wsc_send_frame(w, 0, 0, WSC_OP_TEXT, 1, "{\"id\":", 6), WSC_OK);
	assert_int_equal(wsc_send_frame(w, 1, 0, WSC_OP_TEXT, 1, "{}", 2), WSC_OK);
	EXPECT_CLOSE(w, 1002);
	mf_check_alive();
}

static void test_second_upgrade_on_open_socket(void **state)
{
	static const char req[] = "GET /api/ws HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
				  "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
				  "Sec-WebSocket-Version: 13\r\n\r\n";
	struct wsc *w = mf_open();

	assert_int_equal(wsc_send_raw(w, req, sizeof req - 1), WSC_OK);
	EXPECT_CLOSE(w, 1002);
	mf_check_alive();
}

static void test_binary_message(void **state)
{
	struct wsc *w = mf_open();

	assert_int_equal(wsc_send_frame(w, 1, 0, WSC_OP_BINARY, 1, "\x01\x02", 2), WSC_OK);
	EXPECT_CLOSE(w, 1003);
	mf_check_alive();
}

static void test_invalid_utf8(void **state)
{
	static const char *const bad[] = {
		"{\"id\":1,\"method\":\"getMe\",\"x\":\"\xff\"}",
		"{\"id\":1,\"method\":\"getMe\",\"x\":\"\xc0\xaf\"}",      /* overlong '/' */
		"{\"id\":1,\"method\":\"getMe\",\"x\":\"\xed\xa0\x80\"}",  /* a surrogate */
		"{\"id\":1,\"method\":\"getMe\",\"x\":\"\xf4\x90\x80\x80\"}", /* past U+10FFFF */
	};
	struct wsc *w;

	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		w = mf_open();
		assert_int_equal(wsc_send_text(w, bad[i]), WSC_OK);
		EXPECT_CLOSE(w, 1007);
	}
	/* Split over fragments: each fragment is a fine prefix, the whole is not. */
	w = mf_open();
	assert_int_equal(wsc_send_frame(w, 0, 0, WSC_OP_TEXT, 1, "{\"x\":\"\xe2\x82", 8), WSC_OK);
	assert_int_equal(wsc_send_frame(w, 1, 0, WSC_OP_CONT, 1, "A\"}", 3), WSC_OK);
	EXPECT_CLOSE(w, 1007);
	/* ...while a character split correctly over fragments is fine. */
	w = mf_open();
	assert_int_equal(wsc_call_send(w, "getMe", NULL) > 0, 1);
	{
		static const char part1[] = "{\"id\":\"euro\",\"method\":\"getMe\",\"x\":\"\xe2\x82";
		static const char part2[] = "\xac\"}";
		json_t *reply = NULL;
		assert_int_equal(wsc_send_frame(w, 0, 0, WSC_OP_TEXT, 1, part1, sizeof part1 - 1), WSC_OK);
		assert_int_equal(wsc_send_frame(w, 1, 0, WSC_OP_CONT, 1, part2, sizeof part2 - 1), WSC_OK);
		for (int k = 0; k < 2; k++) {
			assert_int_equal(wsc_next(w, MF_CALL_MS, &reply), WSC_OK);
			assert_true(json_is_true(json_object_get(reply, "ok")));
			json_decref(reply);
		}
	}
	wsc_free(w);
	mf_check_alive();
}

/* A call padded to exactly len bytes. */
static char *mf_padded_call(size_t len)
{
	static const char head[] = "{\"id\":\"pad\",\"method\":\"getMe\",\"params\":{},\"pad\":\"";
	char *s = malloc(len + 1);

	assert_non_null(s);
	assert_true(len > sizeof head + 2);
	memcpy(s, head, sizeof head - 1);
	memset(s + sizeof head - 1, 'p', len - (sizeof head - 1) - 2);
	memcpy(s + len - 2, "\"}", 3);
	assert_int_equal(strlen(s), len);
	return s;
}

static void test_oversized_messages(void **state)
{
	struct wsc *w = mf_open();
	char *s = mf_padded_call(MF_MAX_MESSAGE);
	json_t *reply;

	/* Exactly the limit: served. */
	reply = mf_raw_call(w, s);
	assert_true(json_is_true(json_object_get(reply, "ok")));
	assert_string_equal(mf_str(reply, "id"), "pad");
	json_decref(reply);
	free(s);
	/* One byte more: 1009. */
	s = mf_padded_call(MF_MAX_MESSAGE + 1);
	assert_int_equal(wsc_send_text(w, s), WSC_OK);
	free(s);
	EXPECT_CLOSE(w, 1009);
	/* A header announcing a megabyte, refused before its payload arrives. */
	w = mf_open();
	assert_int_equal(wsc_send_frame_claiming(w, WSC_OP_TEXT, 1u << 20, "{\"id\":1", 7), WSC_OK);
	EXPECT_CLOSE(w, 1009);
	/* Fragments each under the limit, together over it. */
	w = mf_open();
	s = malloc(2000);
	assert_non_null(s);
	memset(s, ' ', 2000);
	assert_int_equal(wsc_send_frame(w, 0, 0, WSC_OP_TEXT, 1, s, 2000), WSC_OK);
	assert_int_equal(wsc_send_frame(w, 0, 0, WSC_OP_CONT, 1, s, 2000), WSC_OK);
	(void)wsc_send_frame(w, 1, 0, WSC_OP_CONT, 1, s, 2000); /* the server may be gone already */
	free(s);
	EXPECT_CLOSE(w, 1009);
	mf_check_alive();
}

/* --- authentication ------------------------------------------------------ */

static void test_call_before_auth(void **state)
{
	struct wsc *w = mf_open_anon();
	json_t *reply = mf_raw_call(w, "{\"id\":41,\"method\":\"getMe\",\"params\":{}}");

	mf_expect_error(reply, 401, "UNAUTHORIZED");
	assert_int_equal(mf_int(reply, "id"), 41);
	json_decref(reply);
	EXPECT_CLOSE(w, 4401);
	mf_check_alive();
}

static void test_bad_tokens(void **state)
{
	struct wsc_opts o = {.token = "00000000000000000000000000000000"};
	struct wsc *w = NULL;
	json_t *m;
	char err[256];

	/* On the upgrade request: 101, then the 401 and 4401. */
	assert_int_equal(wsc_connect(harness_url(mf_h), &o, &w, NULL, err, sizeof err), WSC_OK);
	assert_int_equal(wsc_next(w, MF_CALL_MS, &m), WSC_OK);
	mf_expect_error(m, 401, "UNAUTHORIZED");
	json_decref(m);
	EXPECT_CLOSE(w, 4401);
	/* In the URL. */
	o = (struct wsc_opts){.path = "/api/ws?token=0123456789abcdef0123456789abcdef"};
	assert_int_equal(wsc_connect(harness_url(mf_h), &o, &w, NULL, err, sizeof err), WSC_OK);
	assert_int_equal(wsc_next(w, MF_CALL_MS, &m), WSC_OK);
	mf_expect_error(m, 401, "UNAUTHORIZED");
	json_decref(m);
	EXPECT_CLOSE(w, 4401);
	/* In an auth call. */
	w = mf_open_anon();
	m = mf_raw_call(w, "{\"id\":7,\"method\":\"auth\",\"params\":{\"token\":\"not-a-token\"}}");
	mf_expect_error(m, 401, "UNAUTHORIZED");
	assert_int_equal(mf_int(m, "id"), 7);
	json_decref(m);
	EXPECT_CLOSE(w, 4401);
	/* An auth call without a token: refused, and still nothing else allowed. */
	w = mf_open_anon();
	m = mf_raw_call(w, "{\"id\":8,\"method\":\"auth\",\"params\":{}}");
	assert_true(json_is_false(json_object_get(m, "ok")));
	assert_int_equal(mf_int(m, "error_code"), 400);
	json_decref(m);
	m = mf_raw_call(w, "{\"id\":9,\"method\":\"getMe\"}");
	mf_expect_error(m, 401, "UNAUTHORIZED");
	json_decref(m);
	EXPECT_CLOSE(w, 4401);
	mf_check_alive();
}

static void test_auth_call(void **state)
{
	struct wsc *w = mf_open_anon();
	char call[512];
	json_t *reply;
	int64_t sid;

	snprintf(call, sizeof call, "{\"id\":1,\"method\":\"auth\",\"params\":{\"token\":\"%s\"}}",
		 parley_client_token(mf_alice));
	reply = mf_raw_call(w, call);
	assert_true(json_is_true(json_object_get(reply, "ok")));
	assert_int_equal(mf_int(reply, "id"), 1);
	assert_int_equal(mf_int(json_object_get(reply, "result"), "user_id"), mf_alice_id);
	sid = mf_int(json_object_get(reply, "result"), "session_id");
	assert_true(sid > 0);
	json_decref(reply);
	/* Once is enough. */
	reply = mf_raw_call(w, call);
	mf_expect_error(reply, 400, "BAD_REQUEST");
	json_decref(reply);
	mf_expect_served(w);
	/* Pushes flow to a socket authenticated this way. */
	{
		struct parley_error err;
		int64_t id = 0;
		json_t *m;
		assert_int_equal(parley_send_message(mf_bob, mf_alice_id, "to the auth-call socket", 0, &id, &err), 0);
		for (;;) {
			assert_int_equal(wsc_next(w, MF_CALL_MS, &m), WSC_OK);
			if (json_object_get(m, "pts"))
				break;
			json_decref(m);
		}
		assert_int_equal(mf_int(json_object_get(json_object_get(m, "update"), "message"), "message_id"), id);
		json_decref(m);
		/* The watcher (bob) sees his own message too. */
		assert_int_equal(wsc_next(mf_watch, MF_CALL_MS, &m), WSC_OK);
		while (!json_object_get(m, "pts")) {
			json_decref(m);
			assert_int_equal(wsc_next(mf_watch, MF_CALL_MS, &m), WSC_OK);
		}
		assert_int_equal(mf_int(m, "pts"), ++mf_watch_pts);
		json_decref(m);
	}
	wsc_free(w);
	mf_check_alive();
}

/* --- calls ---------------------------------------------------------------- */

static void test_bad_calls_keep_connection(void **state)
{
	struct wsc *w = mf_open();
	json_t *reply;

	reply = mf_raw_call(w, "{\"id\":1,\"method\":");
	mf_expect_error(reply, 400, "JSON_INVALID");
	json_decref(reply);
	mf_expect_served(w);
	reply = mf_raw_call(w, "[1,2,3]");
	mf_expect_error(reply, 400, "JSON_INVALID");
	json_decref(reply);
	reply = mf_raw_call(w, "\"just a string\"");
	mf_expect_error(reply, 400, "JSON_INVALID");
	json_decref(reply);
	reply = mf_raw_call(w, "{\"id\":3,\"method\":\"getMe\",\"params\":5}");
	mf_expect_error(reply, 400, "JSON_INVALID");
	assert_int_equal(mf_int(reply, "id"), 3);
	json_decref(reply);
	reply = mf_raw_call(w, "{\"id\":4,\"params\":{}}");
	mf_expect_error(reply, 400, "PARAM_MISSING");
	assert_int_equal(mf_int(reply, "id"), 4);
	json_decref(reply);
	reply = mf_raw_call(w, "{\"id\":5,\"method\":\"noSuchMethod\",\"params\":{}}");
	mf_expect_error(reply, 404, "METHOD_NOT_FOUND");
	assert_int_equal(mf_int(reply, "id"), 5);
	json_decref(reply);
	reply = mf_raw_call(w, "{\"id\":6,\"method\":\"sendMessage\",\"params\":{\"chat_id\":\"x\",\"text\":1}}");
	mf_expect_error(reply, 400, "PARAM_INVALID");
	json_decref(reply);
	/* Duplicate keys are refused as on HTTP. */
	reply = mf_raw_call(w, "{\"id\":7,\"id\":8,\"method\":\"getMe\"}");
	mf_expect_error(reply, 400, "JSON_INVALID");
	json_decref(reply);
	/* The id comes back as it was sent. */
	reply = mf_raw_call(w, "{\"id\":\"abc\",\"method\":\"getMe\"}");
	assert_true(json_is_true(json_object_get(reply, "ok")));
	assert_string_equal(mf_str(reply, "id"), "abc");
	json_decref(reply);
	mf_expect_served(w);
	wsc_free(w);
	mf_check_alive();
}

/* The exact answer to each call frame, byte for byte, as the server gave it
 * before the envelope reader (src/api/envelope.h) took the usual frame
 * without jansson: frames the reader reads (errors of parameters, ids of
 * every scalar kind, escapes, whitespace), and frames it declines to
 * jansson (a lone or misordered surrogate, \u0000, a raw control
 * character, duplicate keys in params and at the top, integers out of
 * range, leading zeros, reals, ids with escapes, objects and arrays,
 * params null, trailing bytes or commas, nested params). */
static const struct {
	const char *frame, *reply;
} mf_exact[] = {
	{"{\"id\":1,\"method\":\"sendMessage\",\"params\":{\"chat_id\":\"x\",\"text\":\"hi\"}}",
	 "{\"id\":1,\"ok\":false,\"error_code\":400,\"description\":\"PARAM_INVALID: chat_id must be a non-zero integer or \\\"@username\\\"\"}"},
	{"{\"id\":2,\"method\":\"sendMessage\",\"params\":{\"text\":\"x\"}}",
	 "{\"id\":2,\"ok\":false,\"error_code\":400,\"description\":\"PARAM_MISSING: chat_id is required\"}"},
	{"{\"id\":3,\"method\":\"sendMessage\",\"params\":{\"chat_id\":1,\"text\":5}}",
	 "{\"id\":3,\"ok\":false,\"error_code\":400,\"description\":\"PARAM_INVALID: text must be a string\"}"},
	{"{\"id\":4,\"method\":\"sendMessage\",\"params\":{\"chat_id\":0,\"text\":\"\\u00e9\\ud83d\\ude00\"}}",
	 "{\"id\":4,\"ok\":false,\"error_code\":400,\"description\":\"PARAM_INVALID: chat_id must be a non-zero integer or \\\"@username\\\"\"}"},
	{"{\"id\":5,\"method\":\"sendMessage\",\"params\":{\"chat_id\":1,\"text\":\"\\ud800\"}}",
	 "{\"id\":null,\"ok\":false,\"error_code\":400,\"description\":\"JSON_INVALID: a call is a JSON object {id, method, params}\"}"},
	{"{\"id\":6,\"method\":\"sendMessage\",\"params\":{\"chat_id\":1,\"text\":\"\\udc00x\"}}",
	 "{\"id\":null,\"ok\":false,\"error_code\":400,\"description\":\"JSON_INVALID: a call is a JSON object {id, method, params}\"}"},
	{"{\"id\":7,\"method\":\"sendMessage\",\"params\":{\"chat_id\":1,\"text\":\"\\u0000\"}}",
	 "{\"id\":null,\"ok\":false,\"error_code\":400,\"description\":\"JSON_INVALID: a call is a JSON object {id, method, params}\"}"},
	{"{\"id\":8,\"method\":\"sendMessage\",\"params\":{\"chat_id\":1,\"text\":\"a\tb\"}}",
	 "{\"id\":null,\"ok\":false,\"error_code\":400,\"description\":\"JSON_INVALID: a call is a JSON object {id, method, params}\"}"},
	{"{\"id\":9,\"method\":\"sendMessage\",\"params\":{\"chat_id\":1,\"chat_id\":2,\"text\":\"x\"}}",
	 "{\"id\":null,\"ok\":false,\"error_code\":400,\"description\":\"JSON_INVALID: a call is a JSON object {id, method, params}\"}"},
	{"{\"id\":10,\"method\":\"sendMessage\",\"params\":{\"chat_id\":1,\"text\":\"x\"},\"id\":11}",
	 "{\"id\":null,\"ok\":false,\"error_code\":400,\"description\":\"JSON_INVALID: a call is a JSON object {id, method, params}\"}"},
	{"{\"id\":9223372036854775808,\"method\":\"getMe\"}",
	 "{\"id\":null,\"ok\":false,\"error_code\":400,\"description\":\"JSON_INVALID: a call is a JSON object {id, method, params}\"}"},
	{"{\"id\":-9223372036854775808,\"method\":\"sendMessage\",\"params\":{}}",
	 "{\"id\":-9223372036854775808,\"ok\":false,\"error_code\":400,\"description\":\"PARAM_MISSING: chat_id is required\"}"},
	{"{\"id\":-0,\"method\":\"sendMessage\",\"params\":{}}",
	 "{\"id\":0,\"ok\":false,\"error_code\":400,\"description\":\"PARAM_MISSING: chat_id is required\"}"},
	{"{\"id\":01,\"method\":\"getMe\"}",
	 "{\"id\":null,\"ok\":false,\"error_code\":400,\"description\":\"JSON_INVALID: a call is a JSON object {id, method, params}\"}"},
	{"{\"id\":1.5,\"method\":\"sendMessage\",\"params\":{}}",
	 "{\"id\":1.5,\"ok\":false,\"error_code\":400,\"description\":\"PARAM_MISSING: chat_id is required\"}"},
	{"{\"id\":1e2,\"method\":\"sendMessage\",\"params\":{}}",
	 "{\"id\":100.0,\"ok\":false,\"error_code\":400,\"description\":\"PARAM_MISSING: chat_id is required\"}"},
	{"{\"id\":\"a\\u0041\\n\",\"method\":\"sendMessage\",\"params\":{}}",
	 "{\"id\":\"aA\\n\",\"ok\":false,\"error_code\":400,\"description\":\"PARAM_MISSING: chat_id is required\"}"},
	{"{\"id\":\"\xc3""\xa9""/x\",\"method\":\"sendMessage\",\"params\":{}}",
	 "{\"id\":\"\xc3""\xa9""/x\",\"ok\":false,\"error_code\":400,\"description\":\"PARAM_MISSING: chat_id is required\"}"},
	{"{\"id\":true,\"method\":\"sendMessage\",\"params\":{}}",
	 "{\"id\":true,\"ok\":false,\"error_code\":400,\"description\":\"PARAM_MISSING: chat_id is required\"}"},
	{"{\"id\":null,\"method\":\"sendMessage\",\"params\":{}}",
	 "{\"id\":null,\"ok\":false,\"error_code\":400,\"description\":\"PARAM_MISSING: chat_id is required\"}"},
	{"{\"id\":{\"a\":1},\"method\":\"noSuchMethod\"}",
	 "{\"id\":{\"a\": 1},\"ok\":false,\"error_code\":404,\"description\":\"METHOD_NOT_FOUND: no such API method\"}"},
	{"{\"id\":[1,2],\"method\":\"sendMessage\",\"params\":{}}",
	 "{\"id\":[1,2],\"ok\":false,\"error_code\":400,\"description\":\"PARAM_MISSING: chat_id is required\"}"},
	{"{\"id\":12,\"method\":\"getMe\",\"params\":null}",
	 "{\"id\":12,\"ok\":false,\"error_code\":400,\"description\":\"JSON_INVALID: the parameters must be a JSON object\"}"},
	{"{\"id\":13,\"method\":5}",
	 "{\"id\":13,\"ok\":false,\"error_code\":400,\"description\":\"PARAM_MISSING: method is required\"}"},
	{"{}",
	 "{\"id\":null,\"ok\":false,\"error_code\":400,\"description\":\"PARAM_MISSING: method is required\"}"},
	{"{\"id\":14,\"method\":\"getMe\"} x",
	 "{\"id\":null,\"ok\":false,\"error_code\":400,\"description\":\"JSON_INVALID: a call is a JSON object {id, method, params}\"}"},
	{"{\"id\":15,\"method\":\"getMe\",}",
	 "{\"id\":null,\"ok\":false,\"error_code\":400,\"description\":\"JSON_INVALID: a call is a JSON object {id, method, params}\"}"},
	{" {\"id\":16 ,\"method\" : \"sendMessage\",\"params\":{ \"chat_id\" : \"@\", \"text\":\"x\"} } ",
	 "{\"id\":16,\"ok\":false,\"error_code\":400,\"description\":\"PARAM_INVALID: chat_id: \\\"@username\\\" has 5-32 characters\"}"},
	{"{\"id\":17,\"method\":\"sendMessage\",\"params\":{\"chat_id\":1,\"text\":\"x\",\"reply_parameters\":5}}",
	 "{\"id\":17,\"ok\":false,\"error_code\":400,\"description\":\"PARAM_INVALID: reply_parameters must be an object\"}"},
	{"{\"id\":18,\"method\":\"sendMessage\",\"params\":{\"chat_id\":\"1x\",\"text\":\"x\",\"reply_parameters\":{\"message_id\":1}}}",
	 "{\"id\":18,\"ok\":false,\"error_code\":400,\"description\":\"PARAM_INVALID: chat_id must be a non-zero integer or \\\"@username\\\"\"}"},
	{"{\"id\":19,\"method\":\"sendMessage\",\"params\":{\"chat_id\":1,\"text\":\"\",\"x\":[1]}}",
	 "{\"id\":19,\"ok\":false,\"error_code\":400,\"description\":\"MESSAGE_EMPTY: text needs at least 1 characters\"}"},
	{"{\"id\":20,\"method\":\"send\\u004dessage\",\"params\":{\"chat_id\":1,\"text\":\"\"}}",
	 "{\"id\":20,\"ok\":false,\"error_code\":400,\"description\":\"MESSAGE_EMPTY: text needs at least 1 characters\"}"},
	{"{\"id\":21,\"method\":\"sendMessage\",\"params\":{\"chat_id\":99999999999999999999,\"text\":\"x\"}}",
	 "{\"id\":null,\"ok\":false,\"error_code\":400,\"description\":\"JSON_INVALID: a call is a JSON object {id, method, params}\"}"},
	{"{\"id\":22,\"method\":\"sendMessage\",\"params\":{\"chat_id\":1,\"text\":\"x\",\"reply_to_message_id\":\"abc\"}}",
	 "{\"id\":22,\"ok\":false,\"error_code\":400,\"description\":\"PARAM_INVALID: reply_to_message_id must be an integer\"}"},
};

static void test_call_answers_exact(void **state)
{
	struct wsc *w = mf_open();
	char call[512], *text = NULL, expect[160];
	size_t len;
	int64_t sid;
	json_t *reply;

	for (size_t i = 0; i < sizeof mf_exact / sizeof mf_exact[0]; i++) {
		assert_int_equal(wsc_send_text(w, mf_exact[i].frame), WSC_OK);
		for (;;) {
			assert_int_equal(wsc_recv_text(w, MF_CALL_MS, &text, &len), WSC_OK);
			if (len > 6 && !memcmp(text, "{\"id\":", 6))
				break;
			free(text); /* a push */
		}
		if (len != strlen(mf_exact[i].reply) || memcmp(text, mf_exact[i].reply, len)) {
			print_error("frame %s\n  got      %.*s\n  expected %s\n", mf_exact[i].frame, (int)len, text,
				    mf_exact[i].reply);
			fail();
		}
		free(text);
	}
	mf_expect_served(w);
	wsc_free(w);
	/* The auth call's answer with a string id, and a refused second one. */
	w = mf_open_anon();
	snprintf(call, sizeof call, "{\"id\":\"s\\u0031\",\"method\":\"auth\",\"params\":{\"token\":\"%s\"}}",
		 parley_client_token(mf_alice));
	reply = mf_raw_call(w, call);
	sid = mf_int(json_object_get(reply, "result"), "session_id");
	json_decref(reply);
	snprintf(call, sizeof call, "{\"id\":\"s2\",\"method\":\"auth\",\"params\":{\"token\":\"%s\"}}",
		 parley_client_token(mf_alice));
	assert_int_equal(wsc_send_text(w, call), WSC_OK);
	assert_int_equal(wsc_recv_text(w, MF_CALL_MS, &text, &len), WSC_OK);
	snprintf(expect, sizeof expect, "{\"id\":\"s2\",\"ok\":false,\"error_code\":400,\"description\":\"BAD_REQUEST: already authenticated\"}");
	assert_int_equal(len, strlen(expect));
	assert_memory_equal(text, expect, len);
	free(text);
	assert_true(sid > 0);
	wsc_free(w);
	w = mf_open_anon();
	snprintf(call, sizeof call, "{\"id\":\"t\",\"method\":\"auth\",\"params\":{\"token\":\"%s\"}}",
		 parley_client_token(mf_alice));
	assert_int_equal(wsc_send_text(w, call), WSC_OK);
	assert_int_equal(wsc_recv_text(w, MF_CALL_MS, &text, &len), WSC_OK);
	snprintf(expect, sizeof expect, "{\"id\":\"t\",\"ok\":true,\"result\":{\"user_id\":%lld,\"session_id\":",
		 (long long)mf_alice_id);
	assert_true(len > strlen(expect));
	assert_memory_equal(text, expect, strlen(expect));
	free(text);
	wsc_free(w);
	mf_check_alive();
}

/* --- protocol ------------------------------------------------------------- */

static void test_ping_and_close(void **state)
{
	struct wsc *w = mf_open();
	unsigned long pongs = wsc_pongs(w);

	assert_int_equal(wsc_send_frame(w, 1, 0, WSC_OP_PING, 1, "are you there", 13), WSC_OK);
	mf_expect_served(w); /* reads past the pong */
	assert_int_equal(wsc_pongs(w), pongs + 1);
	/* A ping between the fragments of a message is allowed. */
	{
		static const char p1[] = "{\"id\":\"frag\",";
		static const char p2[] = "\"method\":\"getMe\"}";
		json_t *reply;
		assert_int_equal(wsc_send_frame(w, 0, 0, WSC_OP_TEXT, 1, p1, sizeof p1 - 1), WSC_OK);
		assert_int_equal(wsc_send_frame(w, 1, 0, WSC_OP_PING, 1, "x", 1), WSC_OK);
		assert_int_equal(wsc_send_frame(w, 1, 0, WSC_OP_CONT, 1, p2, sizeof p2 - 1), WSC_OK);
		assert_int_equal(wsc_next(w, MF_CALL_MS, &reply), WSC_OK);
		assert_string_equal(mf_str(reply, "id"), "frag");
		assert_true(json_is_true(json_object_get(reply, "ok")));
		json_decref(reply);
		assert_int_equal(wsc_pongs(w), pongs + 2);
	}
	assert_int_equal(wsc_send_close(w, 1000), WSC_OK);
	EXPECT_CLOSE(w, 1000);
	w = mf_open();
	assert_int_equal(wsc_send_close(w, 4000), WSC_OK);
	EXPECT_CLOSE(w, 4000);
	mf_check_alive();
}

static void test_bad_handshakes(void **state)
{
	char req[512], err[256];
	struct wsc_opts o = {.request = req};
	struct wsc *w = NULL;
	int status = 0;
	const char *host = harness_url(mf_h) + strlen("http://");

	snprintf(req, sizeof req, "GET /api/ws HTTP/1.1\r\nHost: %s\r\n\r\n", host);
	assert_int_equal(wsc_connect(harness_url(mf_h), &o, &w, &status, err, sizeof err), WSC_EHANDSHAKE);
	assert_int_equal(status, 400);
	snprintf(req, sizeof req,
		 "GET /api/ws HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
		 "Sec-WebSocket-Version: 13\r\n\r\n", host);
	assert_int_equal(wsc_connect(harness_url(mf_h), &o, &w, &status, err, sizeof err), WSC_EHANDSHAKE);
	assert_int_equal(status, 400);
	snprintf(req, sizeof req,
		 "GET /api/ws HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
		 "Sec-WebSocket-Key: short\r\nSec-WebSocket-Version: 13\r\n\r\n", host);
	assert_int_equal(wsc_connect(harness_url(mf_h), &o, &w, &status, err, sizeof err), WSC_EHANDSHAKE);
	assert_int_equal(status, 400);
	snprintf(req, sizeof req,
		 "GET /api/ws HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
		 "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 8\r\n\r\n", host);
	assert_int_equal(wsc_connect(harness_url(mf_h), &o, &w, &status, err, sizeof err), WSC_EHANDSHAKE);
	assert_int_equal(status, 426);
	mf_check_alive();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_unmasked_frame),
		cmocka_unit_test(test_reserved_opcodes_and_bits),
		cmocka_unit_test(test_bad_fragmentation_and_control),
		cmocka_unit_test(test_second_upgrade_on_open_socket),
		cmocka_unit_test(test_binary_message),
		cmocka_unit_test(test_invalid_utf8),
		cmocka_unit_test(test_oversized_messages),
		cmocka_unit_test(test_call_before_auth),
		cmocka_unit_test(test_bad_tokens),
		cmocka_unit_test(test_auth_call),
		cmocka_unit_test(test_bad_calls_keep_connection),
		cmocka_unit_test(test_call_answers_exact),
		cmocka_unit_test(test_ping_and_close),
		cmocka_unit_test(test_bad_handshakes),
	};

	return cmocka_run_group_tests(tests, mf_setup, mf_teardown);
}
