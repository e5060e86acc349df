/*
 * test_limits.c — rate limits and account rules of the real parleyd
 * (tests/integration/harness.h starts one daemon per setting under test).
 *
 * Covered: register + login per IP address, login attempts per username
 * (also for names that do not exist), the per-user message flood limit
 * (the refused message is not stored; waiting retry_after is enough), the
 * per-session request rate (another session is unaffected).  Every 429 says
 * FLOOD_WAIT_N in its description, N in parameters.retry_after and in a
 * Retry-After header, N >= 1.  A wrong password and an unknown user get the
 * very same reply; usernames are 5-32 of a-z, 0-9 and _, unique without
 * regard to case; passwords have at least 8 characters.  Past
 * max_connections a new connection gets 503 SERVER_BUSY and is closed.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"
#include "parley.h"

#define LIM_REPLY_MAX 65536       /* raw reply bytes read */
#define LIM_REPLY_TIMEOUT_MS 10000
#define LIM_RETRY_MAX 120         /* no limit here asks for a longer wait */
/* A password of 8 characters in 16 bytes: "éééééééé". */
#define LIM_EIGHT_E_ACUTE "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"

/* --- libparley helpers ------------------------------------------------------ */

#define OK(c, method, params) harness_call_ok((c), (method), (params), __LINE__)
#define FAILS(c, method, params, status, code) lim_call_fails((c), (method), (params), (status), (code), __LINE__)

/* Calls method with params (stolen); fails the test unless the server
 * answers status and code (a code ending in '_' matches as a prefix, for
 * FLOOD_WAIT_).  Returns err.retry_after. */
static int lim_call_fails(struct parley_client *c, const char *method, json_t *params, int status, const char *code,
			  int line)
{
	struct parley_error err;
	json_t *res = NULL;
	size_t n = strlen(code);
	int rc;

	assert_non_null(params);
	rc = parley_call(c, method, params, &res, &err);
	json_decref(params);
	json_decref(res);
	if (rc != PARLEY_EAPI || err.http_status != status ||
	    (code[n - 1] == '_' ? strncmp(err.code, code, n) : strcmp(err.code, code)) != 0) {
		print_error("line %d: %s: got rc %d, %d %s (%s); expected %d %s\n", line, method, rc, err.http_status,
			    err.code, err.description, status, code);
		fail();
	}
	if (status == 429) {
		/* FLOOD_WAIT_N with N = retry_after >= 1. */
		assert_true(err.retry_after >= 1 && err.retry_after <= LIM_RETRY_MAX);
		assert_int_equal(atoi(err.code + strlen("FLOOD_WAIT_")), err.retry_after);
	}
	return err.retry_after;
}

static json_t *lim_login_params(const char *user, const char *pw)
{
	return json_pack("{s:s, s:s}", "username", user, "password", pw);
}

static void lim_sleep_s(int s)
{
	struct timespec ts = {s, 50000000L}; /* and 50 ms to be safe */

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* --- raw HTTP, for the Retry-After header ------------------------------------ */

struct lim_raw_reply {
	int status;
	char text[LIM_REPLY_MAX]; /* the whole reply, NUL-terminated */
	const char *body;         /* into text */
};

/* POSTs body to /api/method with "Connection: close" and reads the reply to
 * the end.  token may be NULL. */
static void lim_raw_post(const struct harness *h, const char *method, const char *token, const char *body,
			 struct lim_raw_reply *rep)
{
	const char *colon = strrchr(harness_url(h), ':');
	struct sockaddr_in sa;
	char req[4096];
	size_t got = 0;
	int fd, n;

	memset(rep, 0, sizeof(*rep));
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons((uint16_t)atoi(colon + 1));
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(fd >= 0);
	assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	n = snprintf(req, sizeof(req),
		     "POST /api/%s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
		     "Content-Type: application/json\r\n%s%s%sContent-Length: %zu\r\n\r\n%s",
		     method, token ? "Authorization: Bearer " : "", token ? token : "", token ? "\r\n" : "",
		     strlen(body), body);
	assert_true(n > 0 && (size_t)n < sizeof(req));
	assert_int_equal(send(fd, req, (size_t)n, MSG_NOSIGNAL), n);
	for (;;) {
		struct pollfd pfd = {fd, POLLIN, 0};
		ssize_t k;
		assert_int_equal(poll(&pfd, 1, LIM_REPLY_TIMEOUT_MS), 1);
		k = recv(fd, rep->text + got, sizeof(rep->text) - 1 - got, 0);
		if (k <= 0)
			break;
		got += (size_t)k;
	}
	close(fd);
	rep->text[got] = '\0';
	assert_int_equal(sscanf(rep->text, "HTTP/1.1 %d", &rep->status), 1);
	rep->body = strstr(rep->text, "\r\n\r\n");
	assert_non_null(rep->body);
	rep->body += 4;
}

/* The value of header name in rep as an integer, or -1 if it is absent. */
static int lim_raw_header_int(const struct lim_raw_reply *rep, const char *name)
{
	size_t n = strlen(name);

	for (const char *l = strstr(rep->text, "\r\n"); l && l + 2 < rep->body; l = strstr(l + 2, "\r\n"))
		if (strncasecmp(l + 2, name, n) == 0 && l[2 + n] == ':')
			return atoi(l + 3 + n);
	return -1;
}

/* Fails unless rep is a 429 whose description, parameters.retry_after and
 * Retry-After header all say the same N >= 1.  Returns N. */
static int lim_expect_flood(const struct lim_raw_reply *rep, int line)
{
	json_t *doc = json_loads(rep->body, 0, NULL);
	const char *desc = json_string_value(json_object_get(doc, "description"));
	json_t *retry = json_object_get(json_object_get(doc, "parameters"), "retry_after");
	int header = lim_raw_header_int(rep, "Retry-After"), n = -1;

	if (rep->status != 429 || !desc || sscanf(desc, "FLOOD_WAIT_%d:", &n) != 1 || !json_is_integer(retry) ||
	    json_integer_value(retry) != n || header != n || n < 1 || n > LIM_RETRY_MAX ||
	    json_integer_value(json_object_get(doc, "error_code")) != 429 ||
	    !json_is_false(json_object_get(doc, "ok"))) {
		print_error("line %d: expected a consistent 429 FLOOD_WAIT_N, got:\n%s\n", line, rep->text);
		fail();
	}
	json_decref(doc);
	return n;
}

/* Starts a daemon for one test; lim_teardown frees it even if the test fails. */
static struct harness *lim_start(void **state, const char *const *env)
{
	struct harness *h = harness_start(env);

	assert_non_null(h);
	*state = h;
	return h;
}

static int lim_teardown(void **state)
{
	harness_free(*state);
	*state = NULL;
	return 0;
}

/* --- register + login per IP ---------------------------------------------------- */

static void test_auth_per_ip(void **state)
{
	static const char *const env[] = {"PARLEY_RATE_AUTH_IP_PER_MIN=5", NULL};
	struct harness *h = lim_start(state, env);
	struct parley_client *alice, *c;
	struct lim_raw_reply rep;
	char pw[128];
	json_t *me;

	/* Five calls of either kind, successful or not, are allowed. */
	harness_password("lim_alice", pw, sizeof(pw));
	alice = harness_user(h, "lim_alice");                                                  /* 1 */
	(void)harness_user(h, "lim_bob01");                                                    /* 2 */
	c = harness_client(h);
	json_decref(OK(c, "login", lim_login_params("lim_alice", pw)));                         /* 3 */
	FAILS(c, "login", lim_login_params("lim_alice", "wrong password"), 400, "CREDENTIALS_INVALID"); /* 4 */
	FAILS(c, "register", lim_login_params("no", "long enough"), 400, "USERNAME_INVALID");  /* 5 */

	/* The sixth within the minute is refused, whichever method. */
	lim_raw_post(h, "register", NULL, "{\"username\":\"lim_carol\",\"password\":\"long enough\"}", &rep);
	lim_expect_flood(&rep, __LINE__);
	FAILS(c, "login", lim_login_params("lim_alice", harness_password("lim_alice", pw, sizeof(pw))), 429,
	      "FLOOD_WAIT_");
	FAILS(c, "register", lim_login_params("lim_dave1", "long enough"), 429, "FLOOD_WAIT_");
	lim_raw_post(h, "login", NULL, "{\"username\":\"lim_bob01\",\"password\":\"whatever1\"}", &rep);
	lim_expect_flood(&rep, __LINE__);

	/* Logged-in work is not affected, and the refused sign-ups made nothing. */
	me = OK(alice, "getMe", json_object());
	json_decref(me);
	json_decref(OK(alice, "sendMessage",
		       json_pack("{s:I, s:s}", "chat_id", (json_int_t)harness_user_id(h, "lim_bob01"), "text", "hi")));
	FAILS(alice, "getUser", json_pack("{s:s}", "username", "lim_carol"), 400, "USER_NOT_FOUND");
	FAILS(alice, "getUser", json_pack("{s:s}", "username", "lim_dave1"), 400, "USER_NOT_FOUND");
}

/* --- login per account ---------------------------------------------------------- */

static void test_login_per_account(void **state)
{
	static const char *const env[] = {"PARLEY_RATE_LOGIN_ACCOUNT_PER_MIN=3", "PARLEY_RATE_AUTH_IP_PER_MIN=1000",
					  NULL};
	struct harness *h = lim_start(state, env);
	struct parley_client *c;
	struct lim_raw_reply rep;
	char pw[128], pwb[128], body[256];

	(void)harness_user(h, "lim_alice");
	(void)harness_user(h, "lim_bob01");
	harness_password("lim_alice", pw, sizeof(pw));
	harness_password("lim_bob01", pwb, sizeof(pwb));
	c = harness_client(h);

	/* Three attempts on one name, right or wrong; the fourth is refused even
	 * with the right password, and in any letter case. */
	FAILS(c, "login", lim_login_params("lim_alice", "wrong password"), 400, "CREDENTIALS_INVALID");
	json_decref(OK(c, "login", lim_login_params("lim_alice", pw)));
	FAILS(c, "login", lim_login_params("LIM_Alice", "wrong again"), 400, "CREDENTIALS_INVALID");
	FAILS(c, "login", lim_login_params("lim_alice", pw), 429, "FLOOD_WAIT_");
	FAILS(c, "login", lim_login_params("LIM_ALICE", pw), 429, "FLOOD_WAIT_");
	snprintf(body, sizeof(body), "{\"username\":\"lim_alice\",\"password\":\"%s\"}", pw);
	lim_raw_post(h, "login", NULL, body, &rep);
	lim_expect_flood(&rep, __LINE__);

	/* Another name is fine. */
	json_decref(OK(c, "login", lim_login_params("lim_bob01", pwb)));

	/* A name nobody has is limited the same way (no enumeration). */
	for (int i = 0; i < 3; i++)
		FAILS(c, "login", lim_login_params("lim_nobody", "some password"), 400, "CREDENTIALS_INVALID");
	FAILS(c, "login", lim_login_params("lim_nobody", "some password"), 429, "FLOOD_WAIT_");

	/* Registering is not a login attempt. */
	(void)harness_user(h, "lim_carol");
}

/* --- message flood ----------------------------------------------------------------- */

static size_t lim_count_texts(struct parley_client *c, int64_t chat, const char *prefix)
{
	struct parley_error err;
	json_t *page = NULL, *m;
	size_t i, n = 0;

	assert_int_equal(parley_get_history(c, chat, 0, 0, 100, &page, &err), 0);
	json_array_foreach(page, i, m) {
		const char *t = json_string_value(json_object_get(m, "text"));
		if (t && strncmp(t, prefix, strlen(prefix)) == 0)
			n++;
	}
	json_decref(page);
	return n;
}

static void test_message_flood(void **state)
{
	static const char *const env[] = {"PARLEY_RATE_MESSAGES_PER_SEC=2", "PARLEY_RATE_MESSAGES_BURST=5", NULL};
	struct harness *h = lim_start(state, env);
	struct parley_client *alice, *bob, *alice2;
	struct lim_raw_reply rep;
	struct parley_error err;
	int64_t alice_id, bob_id, group, id;
	char text[64], body[256];
	int wait;

	alice = harness_user(h, "lim_alice");
	bob = harness_user(h, "lim_bob01");
	alice_id = harness_user_id(h, "lim_alice");
	bob_id = harness_user_id(h, "lim_bob01");
	/* Service messages (the group's creation) do not count. */
	assert_int_equal(parley_create_group(alice, "flood", &bob_id, 1, &group, &err), 0);

	/* The burst of five goes through at once. */
	for (int i = 0; i < 5; i++) {
		snprintf(text, sizeof(text), "flood %d", i);
		if (parley_send_message(alice, bob_id, text, 0, NULL, &err) < 0) {
			print_error("burst message %d: %d %s\n", i, err.http_status, err.code);
			fail();
		}
	}
	/* The sixth does not, nor does it come through another session or chat. */
	wait = FAILS(alice, "sendMessage", json_pack("{s:I, s:s}", "chat_id", (json_int_t)bob_id, "text", "flood 5"),
		     429, "FLOOD_WAIT_");
	alice2 = harness_login(h, "lim_alice");
	FAILS(alice2, "sendMessage", json_pack("{s:I, s:s}", "chat_id", (json_int_t)group, "text", "flood 6"), 429,
	      "FLOOD_WAIT_");
	snprintf(body, sizeof(body), "{\"chat_id\":%lld,\"text\":\"flood 7\"}", (long long)bob_id);
	lim_raw_post(h, "sendMessage", parley_client_token(alice), body, &rep);
	lim_expect_flood(&rep, __LINE__);
	/* Other users are not held back. */
	assert_int_equal(parley_send_message(bob, alice_id, "bob is not flooding", 0, NULL, &err), 0);

	/* None of the refused messages was stored. */
	assert_int_equal(lim_count_texts(bob, alice_id, "flood "), 5);
	assert_int_equal(lim_count_texts(bob, group, "flood "), 0);

	/* Waiting as long as asked is enough. */
	assert_true(wait >= 1 && wait <= 5);
	lim_sleep_s(wait);
	assert_int_equal(parley_send_message(alice, bob_id, "flood after waiting", 0, &id, &err), 0);
	assert_int_equal(lim_count_texts(bob, alice_id, "flood "), 6);
}

/* --- per-session request rate ---------------------------------------------------------- */

static void test_session_rate(void **state)
{
	static const char *const env[] = {"PARLEY_RATE_REQUESTS_PER_SEC=5", NULL};
	struct harness *h = lim_start(state, env);
	struct parley_client *alice, *alice2;
	struct lim_raw_reply rep;
	struct parley_error err;
	int limited_at = -1, wait = 0;

	alice = harness_user(h, "lim_alice");
	/* A burst of twice the rate passes; soon after, calls are refused. */
	for (int i = 0; i < 10; i++)
		json_decref(OK(alice, "getMe", json_object()));
	for (int i = 10; i < 40 && limited_at < 0; i++) {
		int rc = parley_get_me(alice, NULL, &err);
		if (rc < 0) {
			assert_int_equal(err.http_status, 429);
			assert_true(strncmp(err.code, "FLOOD_WAIT_", 11) == 0);
			assert_true(err.retry_after >= 1);
			wait = err.retry_after;
			limited_at = i;
		}
	}
	if (limited_at < 0) {
		print_error("40 calls at once were all answered with rate_requests_per_sec=5\n");
		fail();
	}
	/* Writes count too, and the reply carries Retry-After. */
	lim_raw_post(h, "getMe", parley_client_token(alice), "{}", &rep);
	lim_expect_flood(&rep, __LINE__);
	FAILS(alice, "updateProfile", json_pack("{s:s}", "bio", "limited"), 429, "FLOOD_WAIT_");

	/* The limit is per session: another session of the same user is fine. */
	alice2 = harness_login(h, "lim_alice");
	json_decref(OK(alice2, "getMe", json_object()));

	/* And the first one works again after the wait. */
	assert_true(wait <= 5);
	lim_sleep_s(wait);
	json_decref(OK(alice, "getMe", json_object()));
}

/* --- connections ----------------------------------------------------------------------- */

/* A raw connection that has been served one GET /healthz; -1 if the server
 * answered something else (the status goes to *status) and closed it. */
static int lim_conn_open(const struct harness *h, int *status)
{
	static const char req[] = "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
	const char *colon = strrchr(harness_url(h), ':');
	struct sockaddr_in sa;
	struct pollfd pfd;
	char buf[1024];
	ssize_t k;
	int fd;

	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons((uint16_t)atoi(colon + 1));
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(fd >= 0);
	assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	(void)send(fd, req, sizeof(req) - 1, MSG_NOSIGNAL);
	pfd.fd = fd;
	pfd.events = POLLIN;
	assert_int_equal(poll(&pfd, 1, LIM_REPLY_TIMEOUT_MS), 1);
	k = recv(fd, buf, sizeof(buf) - 1, 0);
	assert_true(k > 0);
	buf[k] = '\0';
	assert_int_equal(sscanf(buf, "HTTP/1.1 %d", status), 1);
	if (*status == 200)
		return fd;
	assert_non_null(strstr(buf, "SERVER_BUSY"));
	close(fd);
	return -1;
}

static void test_max_connections(void **state)
{
	static const char *const env[] = {"PARLEY_MAX_CONNECTIONS=5", NULL};
	struct harness *h = lim_start(state, env);
	struct timespec pause = {0, 20000000};
	int fds[5], status = 0, fd, tries = 0;

	/* The harness's start-up check has just closed its connection; give
	 * the daemon a moment to see that. */
	for (int i = 0; i < 5; i++) {
		while ((fds[i] = lim_conn_open(h, &status)) < 0 && ++tries < 100)
			nanosleep(&pause, NULL);
		assert_true(fds[i] >= 0);
	}
	/* The sixth is answered 503 SERVER_BUSY and closed, again and again. */
	for (int i = 0; i < 3; i++) {
		assert_int_equal(lim_conn_open(h, &status), -1);
		assert_int_equal(status, 503);
	}
	/* A place frees up when one closes. */
	close(fds[0]);
	tries = 0;
	while ((fd = lim_conn_open(h, &status)) < 0 && ++tries < 100)
		nanosleep(&pause, NULL);
	assert_true(fd >= 0);
	close(fd);
	for (int i = 1; i < 5; i++)
		close(fds[i]);
}

/* --- credentials and account rules ---------------------------------------------------- */

/* The raw reply to login, for byte-for-byte comparison. */
static char *lim_login_reply(struct parley_client *c, const char *user, const char *pw, int *status)
{
	json_t *params = lim_login_params(user, pw);
	char *body = json_dumps(params, JSON_COMPACT), *reply = NULL;
	struct parley_error err;

	assert_non_null(body);
	assert_int_equal(parley_request(c, "POST", "/api/login", "application/json", body, strlen(body), status, &reply,
					NULL, &err),
			 0);
	free(body);
	json_decref(params);
	return reply;
}

static void test_credentials_invalid(void **state)
{
	struct harness *h = lim_start(state, NULL);
	struct parley_client *c;
	char *wrong, *unknown, *bad_name, *empty_pw;
	int s1 = 0, s2 = 0, s3 = 0, s4 = 0;

	(void)harness_user(h, "lim_alice");
	c = harness_client(h);
	wrong = lim_login_reply(c, "lim_alice", "not the password", &s1);
	unknown = lim_login_reply(c, "lim_nobody", "not the password", &s2);
	bad_name = lim_login_reply(c, "x!", "not the password", &s3);
	empty_pw = lim_login_reply(c, "lim_alice", "", &s4);
	assert_int_equal(s1, 400);
	assert_true(strncmp(strstr(wrong, "\"description\":\"") + 15, "CREDENTIALS_INVALID:", 20) == 0);
	/* Nothing tells an unknown user from a wrong password. */
	assert_int_equal(s2, s1);
	assert_string_equal(unknown, wrong);
	assert_int_equal(s3, s1);
	assert_string_equal(bad_name, wrong);
	assert_int_equal(s4, 400);
	free(wrong);
	free(unknown);
	free(bad_name);
	free(empty_pw);
}

static void test_username_rules(void **state)
{
	struct harness *h = lim_start(state, NULL);
	struct parley_client *c, *alice;
	static const char *const invalid[] = {
		"abcd",                                  /* too short */
		"abcdefghijabcdefghijabcdefghijabc",     /* 33: too long */
		"",
		"bad-name", "bad name", "bad.name", "name!", "@lim_name", "lim_\xc3\xa9mile", "lim_name\t",
	};
	char pw[128];
	json_t *r;

	c = harness_client(h);
	for (size_t i = 0; i < sizeof(invalid) / sizeof(invalid[0]); i++)
		FAILS(c, "register", lim_login_params(invalid[i], "long enough"), 400, "USERNAME_INVALID");

	/* Edges: 5 and 32 characters, digits and underscores. */
	json_decref(OK(c, "register", lim_login_params("a_1_z", "long enough")));
	json_decref(OK(c, "register", lim_login_params("abcdefghijabcdefghijabcdefghij_9", "long enough")));

	/* Unique without regard to case; stored in lower case. */
	alice = harness_user(h, "lim_alice");
	FAILS(c, "register", lim_login_params("LIM_ALICE", "long enough"), 400, "USERNAME_OCCUPIED");
	FAILS(c, "register", lim_login_params("Lim_Alice", "long enough"), 400, "USERNAME_OCCUPIED");
	r = OK(c, "register", lim_login_params("Lim_Carol", "long enough"));
	assert_string_equal(json_string_value(json_object_get(json_object_get(r, "user"), "username")), "lim_carol");
	json_decref(r);
	FAILS(c, "register", lim_login_params("lim_carol", "long enough"), 400, "USERNAME_OCCUPIED");
	json_decref(OK(c, "login", lim_login_params("LIM_CAROL", "long enough")));
	json_decref(OK(c, "login", lim_login_params("LIM_alice", harness_password("lim_alice", pw, sizeof(pw)))));

	/* Passwords: at least 8 characters (not bytes), at most 256. */
	FAILS(c, "register", lim_login_params("lim_short", "short12"), 400, "PASSWORD_TOO_SHORT");
	FAILS(c, "register", lim_login_params("lim_short", ""), 400, "PASSWORD_TOO_SHORT");
	FAILS(c, "register", lim_login_params("lim_short", "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"), 400,
	      "PASSWORD_TOO_SHORT");
	{
		char *long_pw = malloc(258);
		assert_non_null(long_pw);
		memset(long_pw, 'p', 257);
		long_pw[257] = '\0';
		FAILS(c, "register", lim_login_params("lim_short", long_pw), 400, "PARAM_INVALID");
		long_pw[256] = '\0';
		json_decref(OK(c, "register", lim_login_params("lim_long1", long_pw)));
		free(long_pw);
	}
	json_decref(OK(c, "register", lim_login_params("lim_exact", "12345678")));
	json_decref(OK(c, "register", lim_login_params("lim_utf81", LIM_EIGHT_E_ACUTE)));
	json_decref(OK(c, "login", lim_login_params("lim_utf81", LIM_EIGHT_E_ACUTE)));

	/* None of the refused registrations made an account. */
	FAILS(alice, "getUser", json_pack("{s:s}", "username", "lim_short"), 400, "USER_NOT_FOUND");
	FAILS(alice, "getUser", json_pack("{s:s}", "username", "abcd"), 400, "USER_NOT_FOUND");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_auth_per_ip, lim_teardown),
		cmocka_unit_test_teardown(test_login_per_account, lim_teardown),
		cmocka_unit_test_teardown(test_message_flood, lim_teardown),
		cmocka_unit_test_teardown(test_session_rate, lim_teardown),
		cmocka_unit_test_teardown(test_max_connections, lim_teardown),
		cmocka_unit_test_teardown(test_credentials_invalid, lim_teardown),
		cmocka_unit_test_teardown(test_username_rules, lim_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
