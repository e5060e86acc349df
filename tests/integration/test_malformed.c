/*
 * test_malformed.c — Parley's "protocol.tcl": malformed and hostile input
 * against the real parleyd (tests/integration/harness.h starts it), over raw
 * sockets and over libparley.
 *
 * Covered: bodies that are not JSON objects (JSON_INVALID), parameters of the
 * wrong type (PARAM_INVALID) or missing (PARAM_MISSING), invalid UTF-8
 * (TEXT_INVALID_UTF8), text length at and past 4096 characters, empty text,
 * bodies past max_body_bytes (413), headers past max_header_bytes (431),
 * unknown methods (404), wrong Content-Type (415), missing, bad and revoked
 * tokens (401), bytes that are not HTTP (400 and close), slow clients (408
 * and close), clients that vanish mid-request, and pipelined requests
 * (answered in order).
 *
 * After every case the server must still answer /healthz and a normal
 * sendMessage on a new connection, and the private chat the test keeps
 * writing to must still hold every message that was acknowledged, once, with
 * its text (mal_check_alive).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
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

#define MAL_MAX_BODY 20000          /* PARLEY_MAX_BODY_BYTES for this file */
#define MAL_MAX_HEADER 16384        /* parleyd's default max_header_bytes */
#define MAL_HEADER_TIMEOUT_MS 300   /* PARLEY_HEADER_TIMEOUT_MS for this file */
#define MAL_REPLY_TIMEOUT_MS 5000   /* longest wait for one raw reply */
#define MAL_CLOSE_TIMEOUT_MS 4000   /* longest wait for the server to close */
#define MAL_RAW_BUF 262144          /* raw bytes buffered per connection */
#define MAL_RAW_HEAD 8192           /* status line + headers of a raw reply */
#define MAL_SENT_MAX 256            /* acknowledged messages the test tracks */
#define MAL_MAYBE_MAX 64            /* texts that may or may not be stored */
#define MAL_TEXT_CHARS 4096         /* parleyd's message limit, characters */

/* One acknowledged message in the alice -> bob private chat. */
struct mal_sent {
	int64_t id;
	char *text;   /* owned */
};

struct mal_fx {
	struct harness *h;
	struct parley_client *alice;   /* harness-owned */
	struct parley_client *bob;
	int64_t alice_id, bob_id;
	char token[PARLEY_TOKEN_MAX + 1]; /* alice's */
	struct mal_sent sent[MAL_SENT_MAX];
	size_t nsent;
	char *maybe[MAL_MAYBE_MAX];    /* owned: sent, but the sender saw no answer */
	size_t nmaybe;
	int probes;
};

/* A raw connection with what has been read and not yet consumed. */
struct mal_raw {
	int fd;
	size_t len;
	char buf[MAL_RAW_BUF];
};

/* One reply read off a raw connection. */
struct mal_reply {
	int status;
	char head[MAL_RAW_HEAD];  /* status line and headers, NUL-terminated */
	char *body;               /* malloc'd, NUL-terminated; mal_reply_release */
	size_t body_len;
};

/* --- time and small helpers ---------------------------------------------- */

static int64_t mal_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void mal_sleep_ms(int ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* Returns a malloc'd string of n copies of the UTF-8 character ch. */
static char *mal_repeat(const char *ch, size_t n)
{
	size_t k = strlen(ch);
	char *s = malloc(k * n + 1);

	assert_non_null(s);
	for (size_t i = 0; i < n; i++)
		memcpy(s + i * k, ch, k);
	s[k * n] = '\0';
	return s;
}

/* --- raw sockets ------------------------------------------------------------ */

/* The port of the harness's "http://127.0.0.1:PORT". */
static int mal_port(const struct harness *h)
{
	const char *colon = strrchr(harness_url(h), ':');

	assert_non_null(colon);
	return atoi(colon + 1);
}

/* Opens a raw connection to the daemon; the caller frees it (mal_raw_free). */
static struct mal_raw *mal_raw_open(const struct harness *h)
{
	struct mal_raw *r = calloc(1, sizeof(*r));
	struct sockaddr_in sa;
	int one = 1;

	assert_non_null(r);
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons((uint16_t)mal_port(h));
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	r->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(r->fd >= 0);
	assert_int_equal(connect(r->fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	setsockopt(r->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	return r;
}

static void mal_raw_free(struct mal_raw *r)
{
	if (!r)
		return;
	if (r->fd >= 0)
		close(r->fd);
	free(r);
}

/* Closes with a reset (SO_LINGER 0) instead of a FIN, then frees r. */
static void mal_raw_reset(struct mal_raw *r)
{
	struct linger lg = {1, 0};

	setsockopt(r->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	mal_raw_free(r);
}

/* Sends all n bytes or fails the test. */
static void mal_raw_send(struct mal_raw *r, const void *p, size_t n)
{
	const char *s = p;

	while (n > 0) {
		ssize_t k = send(r->fd, s, n, MSG_NOSIGNAL);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0) {
			print_error("raw send: %s\n", strerror(errno));
			fail();
		}
		s += k;
		n -= (size_t)k;
	}
}

/* Sends what it can; returns -1 once the peer is gone (no test failure). */
static int mal_raw_try_send(struct mal_raw *r, const void *p, size_t n)
{
	const char *s = p;

	while (n > 0) {
		ssize_t k = send(r->fd, s, n, MSG_NOSIGNAL);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			return -1;
		s += k;
		n -= (size_t)k;
	}
	return 0;
}

/* Reads more bytes into r until deadline.  Returns bytes read, 0 on EOF or
 * a reset, -1 on timeout. */
static ssize_t mal_raw_fill(struct mal_raw *r, int64_t deadline)
{
	for (;;) {
		int64_t left = deadline - mal_now_ms();
		struct pollfd pfd = {r->fd, POLLIN, 0};
		ssize_t k;
		int prc;

		if (left <= 0)
			return -1;
		prc = poll(&pfd, 1, (int)left);
		if (prc < 0 && errno == EINTR)
			continue;
		if (prc == 0)
			return -1;
		assert_true(r->len < sizeof(r->buf));
		k = recv(r->fd, r->buf + r->len, sizeof(r->buf) - r->len, 0);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			return 0;
		r->len += (size_t)k;
		return k;
	}
}

static void mal_reply_release(struct mal_reply *rep)
{
	free(rep->body);
	rep->body = NULL;
}

/* Value of header name in rep (case-insensitive) copied into out; 0 if it is
 * there, -1 if not. */
static int mal_reply_header(const struct mal_reply *rep, const char *name, char *out, size_t len)
{
	size_t n = strlen(name);

	for (const char *l = strstr(rep->head, "\r\n"); l && l[2]; l = strstr(l + 2, "\r\n")) {
		const char *p = l + 2;
		if (strncasecmp(p, name, n) == 0 && p[n] == ':') {
			size_t k;
			p += n + 1;
			while (*p == ' ')
				p++;
			k = strcspn(p, "\r\n");
			if (k >= len)
				k = len - 1;
			memcpy(out, p, k);
			out[k] = '\0';
			return 0;
		}
	}
	return -1;
}

/* The "\r\n\r\n" that ends a header block in buf, or NULL. */
static char *mal_find_blank_line(char *buf, size_t len)
{
	for (size_t i = 0; i + 4 <= len; i++)
		if (memcmp(buf + i, "\r\n\r\n", 4) == 0)
			return buf + i;
	return NULL;
}

/* Reads the next complete reply (skipping 100 Continue) from r within
 * timeout_ms.  Returns 0, or -1 if the connection ended or time ran out
 * first. */
static int mal_raw_reply(struct mal_raw *r, struct mal_reply *rep, int timeout_ms)
{
	int64_t deadline = mal_now_ms() + timeout_ms;
	char clen[32];

	memset(rep, 0, sizeof(*rep));
	for (;;) {
		char *end = mal_find_blank_line(r->buf, r->len);
		size_t hlen, blen;

		if (!end) {
			if (mal_raw_fill(r, deadline) <= 0)
				return -1;
			continue;
		}
		hlen = (size_t)(end - r->buf) + 4;
		assert_true(hlen < sizeof(rep->head));
		memcpy(rep->head, r->buf, hlen);
		rep->head[hlen] = '\0';
		assert_int_equal(sscanf(rep->head, "HTTP/1.1 %d", &rep->status), 1);
		if (rep->status == 100) {
			memmove(r->buf, r->buf + hlen, r->len - hlen);
			r->len -= hlen;
			continue;
		}
		assert_int_equal(mal_reply_header(rep, "Content-Length", clen, sizeof(clen)), 0);
		blen = (size_t)strtoul(clen, NULL, 10);
		while (r->len < hlen + blen)
			if (mal_raw_fill(r, deadline) <= 0)
				return -1;
		rep->body = malloc(blen + 1);
		assert_non_null(rep->body);
		memcpy(rep->body, r->buf + hlen, blen);
		rep->body[blen] = '\0';
		rep->body_len = blen;
		memmove(r->buf, r->buf + hlen + blen, r->len - hlen - blen);
		r->len -= hlen + blen;
		return 0;
	}
}

/* 1 if the server ends the connection (EOF or reset) within timeout_ms with
 * no further bytes, 0 otherwise. */
static int mal_raw_closed(struct mal_raw *r, int timeout_ms)
{
	int64_t deadline = mal_now_ms() + timeout_ms;
	ssize_t k;

	if (r->len)
		return 0;
	k = mal_raw_fill(r, deadline);
	return k == 0;
}

/* Writes an HTTP/1.1 request into out (cap bytes) and returns its length.
 * ctype, token and extra ("Name: value\r\n" lines) may be NULL; body may be
 * NULL for none. */
static size_t mal_req(char *out, size_t cap, const char *method, const char *path, const char *ctype,
		      const char *token, const char *body, size_t len, const char *extra)
{
	int n = snprintf(out, cap, "%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\n%s%s%s%s%s%sContent-Length: %zu\r\n\r\n",
			 method, path, ctype ? "Content-Type: " : "", ctype ? ctype : "", ctype ? "\r\n" : "",
			 token ? "Authorization: Bearer " : "", token ? token : "", token ? "\r\n" : "", len);

	assert_true(n > 0 && (size_t)n < cap);
	if (extra) {
		/* Put the extra lines before the blank line. */
		size_t el = strlen(extra);
		assert_true((size_t)n + el < cap);
		memmove(out + n - 2 + el, out + n - 2, 2);
		memcpy(out + n - 2, extra, el);
		n += (int)el;
	}
	assert_true((size_t)n + len <= cap);
	if (len)
		memcpy(out + n, body, len);
	return (size_t)n + len;
}

/* Opens a connection, sends one request and reads its reply into rep;
 * returns the connection (the caller frees it). */
static struct mal_raw *mal_raw_call(const struct harness *h, const char *method, const char *path,
				    const char *ctype, const char *token, const char *body, size_t len,
				    struct mal_reply *rep)
{
	size_t cap = len + 4096;
	char *req = malloc(cap);
	struct mal_raw *r = mal_raw_open(h);
	size_t n;

	assert_non_null(req);
	n = mal_req(req, cap, method, path, ctype, token, body, len, NULL);
	mal_raw_send(r, req, n);
	free(req);
	if (mal_raw_reply(r, rep, MAL_REPLY_TIMEOUT_MS) < 0) {
		print_error("no reply to %s %s\n", method, path);
		fail();
	}
	return r;
}

/* --- checking replies --------------------------------------------------------- */

/* Fails the test, naming line, unless body is the error envelope with
 * error_code status and a description starting with "CODE:" (code may end
 * in '_' to match a prefix such as "FLOOD_WAIT_"). */
static void mal_expect_body(int got_status, const char *body, int status, const char *code, int line)
{
	json_error_t jerr;
	json_t *doc = json_loads(body ? body : "", 0, &jerr);
	const char *desc = json_string_value(json_object_get(doc, "description"));
	size_t n = strlen(code);
	int ok = doc && json_is_false(json_object_get(doc, "ok")) && got_status == status &&
		 json_integer_value(json_object_get(doc, "error_code")) == status && desc &&
		 strncmp(desc, code, n) == 0 && (code[n - 1] == '_' || desc[n] == ':');

	json_decref(doc);
	if (!ok) {
		print_error("line %d: expected %d %s, got %d %s\n", line, status, code, got_status, body ? body : "");
		fail();
	}
}
#define EXPECT_BODY(st, body, status, code) mal_expect_body((st), (body), (status), (code), __LINE__)

/* Fails unless a libparley call failed with this API error. */
static void mal_expect_err(int rc, const struct parley_error *err, int status, const char *code, int line)
{
	if (rc != PARLEY_EAPI || err->http_status != status || strcmp(err->code, code) != 0) {
		print_error("line %d: expected %d %s, got rc %d: %d %s (%s)\n", line, status, code, rc,
			    err->http_status, err->code, err->description);
		fail();
	}
}
#define EXPECT_ERR(rc, err, status, code) mal_expect_err((rc), (err), (status), (code), __LINE__)

/* POSTs body to /api/method through libparley as application/json with
 * alice's token and checks the error reply. */
static void mal_lib_post(struct mal_fx *fx, const char *method, const char *body, size_t len, int status,
			 const char *code, int line)
{
	struct parley_client *c = parley_client_new(harness_url(fx->h), NULL, 0);
	struct parley_error err;
	char path[128], *reply = NULL;
	int got = 0, rc;

	assert_non_null(c);
	assert_int_equal(parley_client_set_token(c, fx->token), 0);
	snprintf(path, sizeof(path), "/api/%s", method);
	rc = parley_request(c, "POST", path, "application/json", body, len, &got, &reply, NULL, &err);
	if (rc < 0) {
		print_error("line %d: %s: %s %s\n", line, method, err.code, err.description);
		fail();
	}
	mal_expect_body(got, reply, status, code, line);
	free(reply);
	parley_client_free(c);
}
#define LIB_POST(fx, m, body, len, status, code) mal_lib_post((fx), (m), (body), (len), (status), (code), __LINE__)

/* The same body over a raw socket, with alice's token. */
static void mal_raw_post(struct mal_fx *fx, const char *method, const char *ctype, const char *body, size_t len,
			 int status, const char *code, int line)
{
	struct mal_reply rep;
	char path[128];
	struct mal_raw *r;

	snprintf(path, sizeof(path), "/api/%s", method);
	r = mal_raw_call(fx->h, "POST", path, ctype, fx->token, body, len, &rep);
	mal_expect_body(rep.status, rep.body, status, code, line);
	mal_reply_release(&rep);
	mal_raw_free(r);
}
#define RAW_POST(fx, m, body, len, status, code) \
	mal_raw_post((fx), (m), "application/json", (body), (len), (status), (code), __LINE__)

/* Both ways. */
#define BOTH(fx, m, body, len, status, code)                \
	do {                                                 \
		LIB_POST(fx, m, body, len, status, code);    \
		RAW_POST(fx, m, body, len, status, code);    \
	} while (0)

/* --- the conversation that must survive ----------------------------------------- */

static void mal_record(struct mal_fx *fx, int64_t id, const char *text)
{
	assert_true(fx->nsent < MAL_SENT_MAX);
	fx->sent[fx->nsent].id = id;
	fx->sent[fx->nsent].text = strdup(text);
	assert_non_null(fx->sent[fx->nsent].text);
	fx->nsent++;
}

static void mal_maybe(struct mal_fx *fx, const char *text)
{
	assert_true(fx->nmaybe < MAL_MAYBE_MAX);
	fx->maybe[fx->nmaybe] = strdup(text);
	assert_non_null(fx->maybe[fx->nmaybe]);
	fx->nmaybe++;
}

/* Sends text from alice to bob over fx->alice and records it. */
static int64_t mal_send(struct mal_fx *fx, const char *text)
{
	struct parley_error err;
	int64_t id = 0;

	if (parley_send_message(fx->alice, fx->bob_id, text, 0, &id, &err) < 0) {
		print_error("sendMessage: %d %s: %s\n", err.http_status, err.code, err.description);
		fail();
	}
	mal_record(fx, id, text);
	return id;
}

/* The server answers /healthz and a sendMessage on new connections, and the
 * chat holds every acknowledged message once with its text; any other text
 * message in it is one whose sender vanished before the answer. */
static void mal_check_alive(struct mal_fx *fx)
{
	struct parley_client *c = parley_client_new(harness_url(fx->h), NULL, 0);
	struct parley_error err;
	char text[64];
	int64_t id = 0, offset = 0, last = 0;
	char used[MAL_MAYBE_MAX] = {0};
	size_t seen = 0;
	int rc;

	assert_non_null(c);
	parley_client_set_timeout_ms(c, 10000);
	rc = parley_health(c, &err);
	if (rc < 0) {
		print_error("/healthz: %s %s\n", err.code, err.description);
		fail();
	}
	assert_int_equal(parley_client_connects(c), 1);
	assert_int_equal(parley_client_set_token(c, fx->token), 0);
	snprintf(text, sizeof(text), "alive probe %d", ++fx->probes);
	rc = parley_send_message(c, fx->bob_id, text, 0, &id, &err);
	if (rc < 0) {
		print_error("probe sendMessage: %d %s: %s\n", err.http_status, err.code, err.description);
		fail();
	}
	mal_record(fx, id, text);

	/* Bob's view of the whole chat, oldest first. */
	for (;;) {
		json_t *page = NULL, *m;
		size_t i;

		rc = parley_get_history(fx->bob, fx->alice_id, offset, 1, 100, &page, &err);
		if (rc < 0) {
			print_error("getHistory: %s %s\n", err.code, err.description);
			fail();
		}
		if (json_array_size(page) == 0) {
			json_decref(page);
			break;
		}
		json_array_foreach(page, i, m) {
			int64_t mid = json_integer_value(json_object_get(m, "message_id"));
			const char *t = json_string_value(json_object_get(m, "text"));
			size_t k;
			int known = 0;

			assert_true(mid > last); /* ascending, so no id twice */
			last = offset = mid;
			assert_non_null(t);
			for (k = 0; k < fx->nsent; k++)
				if (fx->sent[k].id == mid) {
					if (strcmp(fx->sent[k].text, t) != 0) {
						print_error("message %lld changed: \"%.60s\"\n", (long long)mid, t);
						fail();
					}
					known = 1;
					seen++;
				}
			for (k = 0; !known && k < fx->nmaybe; k++)
				if (!used[k] && strcmp(fx->maybe[k], t) == 0) {
					used[k] = 1; /* each may be stored at most once */
					known = 1;
				}
			if (!known) {
				print_error("unexpected message %lld \"%.60s\" in the history\n", (long long)mid, t);
				fail();
			}
		}
		json_decref(page);
	}
	if (seen != fx->nsent) {
		print_error("history holds %zu of the %zu acknowledged messages\n", seen, fx->nsent);
		fail();
	}
	parley_client_free(c);
}

/* --- setup ---------------------------------------------------------------------- */

static int mal_setup(void **state)
{
	static const char *const env[] = {
		"PARLEY_MAX_BODY_BYTES=20000",
		"PARLEY_HEADER_TIMEOUT_MS=300",
		NULL,
	};
	struct mal_fx *fx = calloc(1, sizeof(*fx));

	if (!fx || !(fx->h = harness_start(env)))
		return -1;
	fx->alice = harness_user(fx->h, "mal_alice");
	fx->bob = harness_user(fx->h, "mal_bob01");
	fx->alice_id = harness_user_id(fx->h, "mal_alice");
	fx->bob_id = harness_user_id(fx->h, "mal_bob01");
	snprintf(fx->token, sizeof(fx->token), "%s", parley_client_token(fx->alice));
	*state = fx;
	mal_send(fx, "hello before anything odd happens");
	return 0;
}

static int mal_teardown(void **state)
{
	struct mal_fx *fx = *state;

	if (!fx)
		return 0;
	harness_free(fx->h);
	for (size_t i = 0; i < fx->nsent; i++)
		free(fx->sent[i].text);
	for (size_t i = 0; i < fx->nmaybe; i++)
		free(fx->maybe[i]);
	free(fx);
	return 0;
}

/* --- bodies ------------------------------------------------------------------------ */

static void test_json_invalid(void **state)
{
	struct mal_fx *fx = *state;
	static const char *const bad[] = {
		"{bad",
		"{\"chat_id\": 1, \"text\": \"unterminated",
		"{\"chat_id\": 1,}",
		"{'chat_id': 1}",
		"}{",
		"{\"chat_id\": 1, \"chat_id\": 2, \"text\": \"duplicate keys\"}",
		"{\"chat_id\": 1} trailing",
		"{\"chat_id\": 99999999999999999999999, \"text\": \"overflow\"}",
		"{\"text\": \"nul \\u0000 escaped\", \"chat_id\": 1}",
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		BOTH(fx, "sendMessage", bad[i], strlen(bad[i]), 400, "JSON_INVALID");
	mal_check_alive(fx);
}

static void test_json_not_object(void **state)
{
	struct mal_fx *fx = *state;
	static const char *const bad[] = {"[1, 2]", "[]", "[{\"chat_id\": 1, \"text\": \"x\"}]", "null", "42",
					  "\"a string\"", "true"};
	char *deep = mal_repeat("[", 10000);
	struct parley_error err;
	int rc;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		BOTH(fx, "sendMessage", bad[i], strlen(bad[i]), 400, "JSON_INVALID");
	/* Nesting far past any sane depth: an error, not a stack overflow. */
	BOTH(fx, "sendMessage", deep, strlen(deep), 400, "JSON_INVALID");
	free(deep);
	/* libparley refuses to send a non-object itself. */
	rc = parley_call_json(fx->alice, "getMe", "[1]", NULL, &err);
	assert_int_equal(rc, PARLEY_EINVAL);
	mal_check_alive(fx);
}

static void test_param_invalid(void **state)
{
	struct mal_fx *fx = *state;
	char buf[256];
	struct {
		const char *fmt;
	} cases[] = {
		{"{\"chat_id\": %lld, \"text\": 12345}"},
		{"{\"chat_id\": %lld, \"text\": [\"a\"]}"},
		{"{\"chat_id\": %lld, \"text\": {\"a\": 1}}"},
		{"{\"chat_id\": %lld, \"text\": true}"},
		{"{\"chat_id\": true, \"text\": \"hi\", \"x\": %lld}"},
		{"{\"chat_id\": 2.5, \"text\": \"hi\", \"x\": %lld}"},
		{"{\"chat_id\": [1], \"text\": \"hi\", \"x\": %lld}"},
		{"{\"chat_id\": \"12abc\", \"text\": \"hi\", \"x\": %lld}"},
		{"{\"chat_id\": 0, \"text\": \"hi\", \"x\": %lld}"},
		{"{\"chat_id\": %lld, \"text\": \"hi\", \"reply_to_message_id\": -5}"},
		{"{\"chat_id\": %lld, \"text\": \"hi\", \"reply_parameters\": 7}"},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(buf, sizeof(buf), cases[i].fmt, (long long)fx->bob_id);
		BOTH(fx, "sendMessage", buf, strlen(buf), 400, "PARAM_INVALID");
	}
	snprintf(buf, sizeof(buf), "{\"chat_id\": %lld, \"limit\": \"many\"}", (long long)fx->bob_id);
	BOTH(fx, "getHistory", buf, strlen(buf), 400, "PARAM_INVALID");
	snprintf(buf, sizeof(buf), "{\"chat_id\": %lld, \"limit\": 101}", (long long)fx->bob_id);
	BOTH(fx, "getHistory", buf, strlen(buf), 400, "PARAM_INVALID");
	mal_check_alive(fx);
}

static void test_param_missing(void **state)
{
	struct mal_fx *fx = *state;
	char buf[128];
	struct parley_error err;
	int rc;

	snprintf(buf, sizeof(buf), "{\"chat_id\": %lld}", (long long)fx->bob_id);
	BOTH(fx, "sendMessage", buf, strlen(buf), 400, "PARAM_MISSING");
	BOTH(fx, "sendMessage", "{\"text\": \"to nobody\"}", strlen("{\"text\": \"to nobody\"}"), 400,
	     "PARAM_MISSING");
	BOTH(fx, "sendMessage", "{}", 2, 400, "PARAM_MISSING");
	/* No body at all counts as {}. */
	BOTH(fx, "sendMessage", "", 0, 400, "PARAM_MISSING");
	/* null is as good as missing. */
	snprintf(buf, sizeof(buf), "{\"chat_id\": %lld, \"text\": null}", (long long)fx->bob_id);
	BOTH(fx, "sendMessage", buf, strlen(buf), 400, "PARAM_MISSING");
	rc = parley_call_json(fx->alice, "login", "{\"username\": \"mal_alice\"}", NULL, &err);
	EXPECT_ERR(rc, &err, 400, "PARAM_MISSING");
	mal_check_alive(fx);
}

static void test_invalid_utf8(void **state)
{
	struct mal_fx *fx = *state;
	static const char *const bad[] = {
		"\xff\xfe",            /* never valid */
		"ok \xc3",             /* truncated sequence */
		"\xc0\xaf",            /* overlong '/' */
		"\xe0\x80\xaf",        /* overlong, three bytes */
		"\xed\xa0\x80",        /* a UTF-16 surrogate */
		"\xf4\x90\x80\x80",    /* above U+10FFFF */
		"\x80 lone continuation",
	};
	char buf[256];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int n = snprintf(buf, sizeof(buf), "{\"chat_id\": %lld, \"text\": \"%s\"}", (long long)fx->bob_id,
				 bad[i]);
		BOTH(fx, "sendMessage", buf, (size_t)n, 400, "TEXT_INVALID_UTF8");
	}
	/* In a key, too. */
	BOTH(fx, "getMe", "{\"\xff\": 1}", strlen("{\"\xff\": 1}"), 400, "TEXT_INVALID_UTF8");
	mal_check_alive(fx);
}

static void test_text_length(void **state)
{
	struct mal_fx *fx = *state;
	struct parley_error err;
	static const char *const chars[] = {"a", "\xc3\xa9" /* é */, "\xe2\x82\xac" /* € */,
					    "\xf0\x9f\x98\x80" /* 😀 */};
	int64_t id;
	int rc;

	for (size_t i = 0; i < sizeof(chars) / sizeof(chars[0]); i++) {
		char *too_long = mal_repeat(chars[i], MAL_TEXT_CHARS + 1);
		char *max = mal_repeat(chars[i], MAL_TEXT_CHARS);

		id = 0;
		rc = parley_send_message(fx->alice, fx->bob_id, too_long, 0, &id, &err);
		EXPECT_ERR(rc, &err, 400, "MESSAGE_TOO_LONG");
		rc = parley_send_message(fx->alice, fx->bob_id, max, 0, &id, &err);
		if (rc < 0) {
			print_error("4096 x U+%s: %d %s: %s\n", chars[i], err.http_status, err.code, err.description);
			fail();
		}
		mal_record(fx, id, max); /* mal_check_alive compares the stored text */
		free(too_long);
		free(max);
	}
	mal_check_alive(fx);
}

static void test_text_empty(void **state)
{
	struct mal_fx *fx = *state;
	static const char *const empty[] = {"", " ", "   ", "\n", "\t \r\n  \t"};
	struct parley_error err;
	int rc;

	for (size_t i = 0; i < sizeof(empty) / sizeof(empty[0]); i++) {
		rc = parley_send_message(fx->alice, fx->bob_id, empty[i], 0, NULL, &err);
		EXPECT_ERR(rc, &err, 400, "MESSAGE_EMPTY");
	}
	mal_check_alive(fx);
}

/* --- HTTP limits ------------------------------------------------------------------------ */

static void test_body_too_large(void **state)
{
	struct mal_fx *fx = *state;
	struct mal_reply rep;
	struct mal_raw *r;
	char head[512];
	char *big = mal_repeat("x", MAL_MAX_BODY + 1000);
	char *text = mal_repeat("y", MAL_MAX_BODY);
	struct parley_error err;
	int n, rc;

	/* A Content-Length past the limit is refused before any body byte. */
	r = mal_raw_open(fx->h);
	n = snprintf(head, sizeof(head),
		     "POST /api/sendMessage HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
		     "Authorization: Bearer %s\r\nContent-Length: %d\r\n\r\n",
		     fx->token, MAL_MAX_BODY + 1);
	mal_raw_send(r, head, (size_t)n);
	assert_int_equal(mal_raw_reply(r, &rep, MAL_REPLY_TIMEOUT_MS), 0);
	EXPECT_BODY(rep.status, rep.body, 413, "REQUEST_TOO_LARGE");
	mal_reply_release(&rep);
	assert_true(mal_raw_closed(r, MAL_CLOSE_TIMEOUT_MS));
	mal_raw_free(r);

	/* The same with the body actually sent: the answer is not lost. */
	r = mal_raw_open(fx->h);
	n = snprintf(head, sizeof(head),
		     "POST /api/sendMessage HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
		     "Content-Length: %zu\r\n\r\n",
		     strlen(big));
	mal_raw_send(r, head, (size_t)n);
	(void)mal_raw_try_send(r, big, strlen(big));
	assert_int_equal(mal_raw_reply(r, &rep, MAL_REPLY_TIMEOUT_MS), 0);
	EXPECT_BODY(rep.status, rep.body, 413, "REQUEST_TOO_LARGE");
	mal_reply_release(&rep);
	mal_raw_free(r);

	/* A chunked body growing past the limit. */
	r = mal_raw_open(fx->h);
	n = snprintf(head, sizeof(head),
		     "POST /api/sendMessage HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
		     "Transfer-Encoding: chunked\r\n\r\n");
	mal_raw_send(r, head, (size_t)n);
	for (int i = 0; i < 30; i++) {
		n = snprintf(head, sizeof(head), "3e8\r\n");
		if (mal_raw_try_send(r, head, (size_t)n) < 0 || mal_raw_try_send(r, big, 1000) < 0 ||
		    mal_raw_try_send(r, "\r\n", 2) < 0)
			break;
	}
	assert_int_equal(mal_raw_reply(r, &rep, MAL_REPLY_TIMEOUT_MS), 0);
	EXPECT_BODY(rep.status, rep.body, 413, "REQUEST_TOO_LARGE");
	mal_reply_release(&rep);
	mal_raw_free(r);

	/* Through libparley: a text that makes the body too large. */
	rc = parley_send_message(fx->alice, fx->bob_id, text, 0, NULL, &err);
	EXPECT_ERR(rc, &err, 413, "REQUEST_TOO_LARGE");
	free(big);
	free(text);
	mal_check_alive(fx);
}

static void test_headers_too_large(void **state)
{
	struct mal_fx *fx = *state;
	struct mal_reply rep;
	struct mal_raw *r;
	size_t pad = MAL_MAX_HEADER + 4096, n = 0;
	char *req = malloc(pad + 1024);

	/* One huge header. */
	assert_non_null(req);
	n += (size_t)sprintf(req, "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Padding: ");
	memset(req + n, 'p', pad);
	n += pad;
	n += (size_t)sprintf(req + n, "\r\n\r\n");
	r = mal_raw_open(fx->h);
	(void)mal_raw_try_send(r, req, n);
	assert_int_equal(mal_raw_reply(r, &rep, MAL_REPLY_TIMEOUT_MS), 0);
	EXPECT_BODY(rep.status, rep.body, 431, "HEADERS_TOO_LARGE");
	mal_reply_release(&rep);
	assert_true(mal_raw_closed(r, MAL_CLOSE_TIMEOUT_MS));
	mal_raw_free(r);

	/* Many small headers. */
	n = (size_t)sprintf(req, "GET /healthz HTTP/1.1\r\nHost: x\r\n");
	for (int i = 0; n + 64 < pad; i++)
		n += (size_t)sprintf(req + n, "X-H%d: %d\r\n", i, i);
	n += (size_t)sprintf(req + n, "\r\n");
	r = mal_raw_open(fx->h);
	(void)mal_raw_try_send(r, req, n);
	assert_int_equal(mal_raw_reply(r, &rep, MAL_REPLY_TIMEOUT_MS), 0);
	EXPECT_BODY(rep.status, rep.body, 431, "HEADERS_TOO_LARGE");
	mal_reply_release(&rep);
	mal_raw_free(r);

	/* A request target that long. */
	n = (size_t)sprintf(req, "GET /");
	memset(req + n, 'u', pad);
	n += pad;
	n += (size_t)sprintf(req + n, " HTTP/1.1\r\nHost: x\r\n\r\n");
	r = mal_raw_open(fx->h);
	(void)mal_raw_try_send(r, req, n);
	assert_int_equal(mal_raw_reply(r, &rep, MAL_REPLY_TIMEOUT_MS), 0);
	EXPECT_BODY(rep.status, rep.body, 431, "HEADERS_TOO_LARGE");
	mal_reply_release(&rep);
	mal_raw_free(r);
	free(req);
	mal_check_alive(fx);
}

static void test_unknown_method(void **state)
{
	struct mal_fx *fx = *state;
	/* The first three are names libparley accepts; the rest go raw only. */
	static const char *const names[] = {"noSuchMethod", "sendmessage", "SENDMESSAGE", "sendMessage/", "",
					    "sendMessage%00", "../healthz"};
	struct parley_error err;
	struct mal_reply rep;
	struct mal_raw *r;
	char path[128];
	int rc;

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (i < 3) {
			rc = parley_call_json(fx->alice, names[i], "{}", NULL, &err);
			EXPECT_ERR(rc, &err, 404, "METHOD_NOT_FOUND");
		}
		snprintf(path, sizeof(path), "/api/%s", names[i]);
		r = mal_raw_call(fx->h, "POST", path, "application/json", fx->token, "{}", 2, &rep);
		EXPECT_BODY(rep.status, rep.body, 404, "METHOD_NOT_FOUND");
		mal_reply_release(&rep);
		mal_raw_free(r);
	}
	/* Outside /api/: NOT_FOUND; a method with the wrong verb: 405. */
	r = mal_raw_call(fx->h, "GET", "/nope", NULL, NULL, NULL, 0, &rep);
	EXPECT_BODY(rep.status, rep.body, 404, "NOT_FOUND");
	mal_reply_release(&rep);
	mal_raw_free(r);
	r = mal_raw_call(fx->h, "DELETE", "/api/getMe", NULL, fx->token, NULL, 0, &rep);
	EXPECT_BODY(rep.status, rep.body, 405, "HTTP_METHOD_INVALID");
	mal_reply_release(&rep);
	mal_raw_free(r);
	mal_check_alive(fx);
}

static void test_content_type(void **state)
{
	struct mal_fx *fx = *state;
	static const char *const types[] = {"text/plain", "application/x-www-form-urlencoded", "multipart/form-data",
					    "application/xml", "json"};
	struct parley_client *c = parley_client_new(harness_url(fx->h), NULL, 0);
	struct parley_error err;
	char body[128], *reply = NULL;
	int n, status = 0;

	assert_non_null(c);
	assert_int_equal(parley_client_set_token(c, fx->token), 0);
	n = snprintf(body, sizeof(body), "{\"chat_id\": %lld, \"text\": \"wrong type\"}", (long long)fx->bob_id);
	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		mal_raw_post(fx, "sendMessage", types[i], body, (size_t)n, 415, "CONTENT_TYPE_INVALID", __LINE__);
		assert_int_equal(parley_request(c, "POST", "/api/sendMessage", types[i], body, (size_t)n, &status,
						&reply, NULL, &err),
				 0);
		EXPECT_BODY(status, reply, 415, "CONTENT_TYPE_INVALID");
		free(reply);
		reply = NULL;
	}
	/* Parameters are JSON: application/json with a charset is fine. */
	mal_raw_post(fx, "getMe", "application/json; charset=utf-8", "{", 1, 400, "JSON_INVALID", __LINE__);
	parley_client_free(c);
	mal_check_alive(fx);
}

/* --- authorization ------------------------------------------------------------------------ */

static void mal_expect_401(struct mal_fx *fx, const char *auth_header, int line)
{
	struct mal_reply rep;
	struct mal_raw *r = mal_raw_open(fx->h);
	char req[1024];
	int n = snprintf(req, sizeof(req),
			 "POST /api/getMe HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n%s%s"
			 "Content-Length: 2\r\n\r\n{}",
			 auth_header ? auth_header : "", auth_header ? "\r\n" : "");

	assert_true(n > 0 && (size_t)n < sizeof(req));
	mal_raw_send(r, req, (size_t)n);
	assert_int_equal(mal_raw_reply(r, &rep, MAL_REPLY_TIMEOUT_MS), 0);
	mal_expect_body(rep.status, rep.body, 401, "UNAUTHORIZED", line);
	mal_reply_release(&rep);
	mal_raw_free(r);
}

/* A call with token fails 401, over libparley. */
static void mal_token_401(struct mal_fx *fx, const char *token, int line)
{
	struct parley_client *c = parley_client_new(harness_url(fx->h), NULL, 0);
	struct parley_error err;
	int rc;

	assert_non_null(c);
	if (token)
		assert_int_equal(parley_client_set_token(c, token), 0);
	rc = parley_get_me(c, NULL, &err);
	mal_expect_err(rc, &err, 401, "UNAUTHORIZED", line);
	rc = parley_send_message(c, fx->bob_id, "with a bad token", 0, NULL, &err);
	mal_expect_err(rc, &err, 401, "UNAUTHORIZED", line);
	parley_client_free(c);
}

static void test_unauthorized(void **state)
{
	struct mal_fx *fx = *state;
	struct parley_client *b, *d;
	struct parley_error err;
	char pw[128], tok_b[PARLEY_TOKEN_MAX + 1], tok_d[PARLEY_TOKEN_MAX + 1], wrong[PARLEY_TOKEN_MAX + 1];
	char hdr[600];
	int64_t sid_b = 0;
	json_t *params;
	int rc;

	/* No token, malformed headers, tokens that were never issued. */
	mal_token_401(fx, NULL, __LINE__);
	mal_token_401(fx, "0000000000000000000000000000000000000000000000000000000000000000", __LINE__);
	mal_token_401(fx, "not-a-token", __LINE__);
	snprintf(wrong, sizeof(wrong), "%s", fx->token);
	wrong[0] = wrong[0] == 'a' ? 'b' : 'a';
	mal_token_401(fx, wrong, __LINE__);
	mal_expect_401(fx, NULL, __LINE__);
	mal_expect_401(fx, "Authorization: Bearer", __LINE__);
	mal_expect_401(fx, "Authorization: Bearer ", __LINE__);
	snprintf(hdr, sizeof(hdr), "Authorization: Basic %s", fx->token);
	mal_expect_401(fx, hdr, __LINE__);
	snprintf(hdr, sizeof(hdr), "Authorization: %s", fx->token);
	mal_expect_401(fx, hdr, __LINE__);
	snprintf(hdr, sizeof(hdr), "Authorization: Bearer %s%s", fx->token, fx->token);
	mal_expect_401(fx, hdr, __LINE__);

	/* A session revoked from another one stops working at once. */
	b = harness_client(fx->h);
	rc = parley_login(b, "mal_alice", harness_password("mal_alice", pw, sizeof(pw)), NULL, &sid_b, &err);
	assert_int_equal(rc, 0);
	snprintf(tok_b, sizeof(tok_b), "%s", parley_client_token(b));
	assert_int_equal(parley_get_me(b, NULL, &err), 0);
	params = json_pack("{s:I}", "session_id", (json_int_t)sid_b);
	assert_int_equal(parley_call(fx->alice, "revokeSession", params, NULL, &err), 0);
	json_decref(params);
	rc = parley_get_me(b, NULL, &err);
	EXPECT_ERR(rc, &err, 401, "UNAUTHORIZED");
	mal_token_401(fx, tok_b, __LINE__);

	/* So does one that logged out. */
	d = harness_login(fx->h, "mal_alice");
	snprintf(tok_d, sizeof(tok_d), "%s", parley_client_token(d));
	assert_int_equal(parley_logout(d, &err), 0);
	mal_token_401(fx, tok_d, __LINE__);
	snprintf(hdr, sizeof(hdr), "Authorization: Bearer %s", tok_d);
	mal_expect_401(fx, hdr, __LINE__);

	/* The original session is untouched. */
	assert_int_equal(parley_get_me(fx->alice, NULL, &err), 0);
	mal_check_alive(fx);
}

/* --- not HTTP, slow and vanishing clients -------------------------------------------------- */

static void mal_expect_400_close(struct mal_fx *fx, const void *bytes, size_t n, int line)
{
	struct mal_reply rep;
	struct mal_raw *r = mal_raw_open(fx->h);

	(void)mal_raw_try_send(r, bytes, n);
	if (mal_raw_reply(r, &rep, MAL_REPLY_TIMEOUT_MS) < 0) {
		print_error("line %d: no reply to garbage\n", line);
		fail();
	}
	mal_expect_body(rep.status, rep.body, 400, "BAD_REQUEST", line);
	mal_reply_release(&rep);
	if (!mal_raw_closed(r, MAL_CLOSE_TIMEOUT_MS)) {
		print_error("line %d: the connection stayed open after garbage\n", line);
		fail();
	}
	mal_raw_free(r);
}
#define EXPECT_400_CLOSE(fx, s) mal_expect_400_close((fx), (s), sizeof(s) - 1, __LINE__)

static void test_garbage(void **state)
{
	struct mal_fx *fx = *state;
	unsigned char junk[4096];
	unsigned seed = 12345;

	EXPECT_400_CLOSE(fx, "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03 a TLS hello");
	EXPECT_400_CLOSE(fx, "hello there\r\n\r\n");
	EXPECT_400_CLOSE(fx, "GET\r\n\r\n");
	EXPECT_400_CLOSE(fx, "GET /healthz HTTP/9.9\r\nHost: x\r\n\r\n");
	EXPECT_400_CLOSE(fx, "GET /healthz HTTP/2.0\r\nHost: x\r\n\r\n");
	EXPECT_400_CLOSE(fx, "GET healthz HTTP/1.1\r\nHost: x\r\n\r\n");
	EXPECT_400_CLOSE(fx, "GET /healthz HTTP/1.1\r\nBad Header Line\r\n\r\n");
	EXPECT_400_CLOSE(fx, "POST /api/getMe HTTP/1.1\r\nContent-Length: -1\r\n\r\n");
	EXPECT_400_CLOSE(fx, "POST /api/getMe HTTP/1.1\r\nContent-Length: abc\r\n\r\n");
	EXPECT_400_CLOSE(fx, "POST /api/getMe HTTP/1.1\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\n{}");
	EXPECT_400_CLOSE(fx, "POST /api/getMe HTTP/1.1\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n"
			     "0\r\n\r\n");
	EXPECT_400_CLOSE(fx, "POST /api/getMe HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n");
	EXPECT_400_CLOSE(fx, "POST /api/getMe HTTP/1.1\r\nAuthorization: Bearer a\r\nAuthorization: Bearer b\r\n"
			     "Content-Length: 0\r\n\r\n");
	EXPECT_400_CLOSE(fx, "\r\n\r\n\r\n\r\n\x01\x02\x03");
	/* Random bytes (not starting with a letter, so never a method). */
	for (size_t i = 0; i < sizeof(junk); i++) {
		seed = seed * 1103515245u + 12345u;
		junk[i] = (unsigned char)(seed >> 16);
	}
	junk[0] = 0x01;
	mal_expect_400_close(fx, junk, sizeof(junk), __LINE__);
	mal_check_alive(fx);
}

/* Waits for a 408 on r and then the close; returns ms until the 408. */
static int64_t mal_expect_408(struct mal_raw *r, int64_t started, const char *trickle)
{
	struct mal_reply rep;
	int64_t deadline = started + MAL_REPLY_TIMEOUT_MS;
	int got = -1;

	/* Trickle a byte every 50 ms: bytes must not buy more time. */
	while (got < 0 && mal_now_ms() < deadline) {
		if (trickle && mal_raw_try_send(r, trickle, 1) < 0)
			trickle = NULL;
		got = mal_raw_reply(r, &rep, 50);
	}
	assert_int_equal(got, 0);
	EXPECT_BODY(rep.status, rep.body, 408, "REQUEST_TIMEOUT");
	mal_reply_release(&rep);
	assert_true(mal_raw_closed(r, MAL_CLOSE_TIMEOUT_MS));
	return mal_now_ms() - started;
}

static void test_slowloris(void **state)
{
	struct mal_fx *fx = *state;
	static const char partial[] = "POST /api/sendMessage HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n";
	struct mal_raw *r[4];
	int64_t t0, took;
	char head[512];
	int n;

	/* Partial headers, then one header byte every 50 ms. */
	t0 = mal_now_ms();
	r[0] = mal_raw_open(fx->h);
	mal_raw_send(r[0], partial, sizeof(partial) - 1);
	took = mal_expect_408(r[0], t0, "X");
	assert_true(took >= MAL_HEADER_TIMEOUT_MS - 50);
	assert_true(took < MAL_HEADER_TIMEOUT_MS + 3000);

	/* A connection that says nothing at all. */
	t0 = mal_now_ms();
	r[1] = mal_raw_open(fx->h);
	took = mal_expect_408(r[1], t0, NULL);
	assert_true(took >= MAL_HEADER_TIMEOUT_MS - 50);

	/* Complete headers, but the body never finishes. */
	t0 = mal_now_ms();
	r[2] = mal_raw_open(fx->h);
	n = snprintf(head, sizeof(head),
		     "POST /api/sendMessage HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
		     "Authorization: Bearer %s\r\nContent-Length: 1000\r\n\r\n{\"chat_id\":",
		     fx->token);
	mal_raw_send(r[2], head, (size_t)n);
	took = mal_expect_408(r[2], t0, " ");
	assert_true(took >= MAL_HEADER_TIMEOUT_MS - 50);

	/* A kept-alive connection that finished a request is not cut at 300 ms. */
	r[3] = mal_raw_open(fx->h);
	n = snprintf(head, sizeof(head), "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
	mal_raw_send(r[3], head, (size_t)n);
	{
		struct mal_reply rep;
		assert_int_equal(mal_raw_reply(r[3], &rep, MAL_REPLY_TIMEOUT_MS), 0);
		assert_int_equal(rep.status, 200);
		mal_reply_release(&rep);
		mal_sleep_ms(3 * MAL_HEADER_TIMEOUT_MS);
		mal_raw_send(r[3], head, (size_t)n);
		assert_int_equal(mal_raw_reply(r[3], &rep, MAL_REPLY_TIMEOUT_MS), 0);
		assert_int_equal(rep.status, 200);
		mal_reply_release(&rep);
	}
	for (int i = 0; i < 4; i++)
		mal_raw_free(r[i]);
	mal_check_alive(fx);
}

/* parley_connections_open from /metrics. */
static long mal_connections_open(struct mal_fx *fx)
{
	struct parley_client *c = parley_client_new(harness_url(fx->h), NULL, 0);
	char *body = NULL, *p;
	int status = 0;
	long v = -1;

	assert_non_null(c);
	assert_int_equal(parley_get(c, "/metrics", &status, &body, NULL, NULL), 0);
	assert_int_equal(status, 200);
	p = strstr(body, "\nparley_connections_open ");
	if (p)
		v = strtol(p + strlen("\nparley_connections_open "), NULL, 10);
	free(body);
	parley_client_free(c);
	return v;
}

static void test_disconnect_mid_request(void **state)
{
	struct mal_fx *fx = *state;
	char req[1024], body[256];
	struct mal_raw *r;
	size_t n;
	int64_t deadline;
	long open, base = mal_connections_open(fx);
	int len;

	/* Gone during the headers, after the headers, during the body; by FIN
	 * and by reset; many at once. */
	for (int round = 0; round < 20; round++) {
		snprintf(body, sizeof(body), "{\"chat_id\": %lld, \"text\": \"never complete %d\"}",
			 (long long)fx->bob_id, round);
		n = mal_req(req, sizeof(req), "POST", "/api/sendMessage", "application/json", fx->token, body,
			    strlen(body), NULL);
		r = mal_raw_open(fx->h);
		switch (round % 4) {
		case 0: mal_raw_send(r, req, 20); break;
		case 1: mal_raw_send(r, req, (size_t)(strstr(req, "\r\n\r\n") - req) + 4); break;
		case 2: mal_raw_send(r, req, n - 10); break;
		case 3: mal_raw_send(r, req, n - 1); break;
		}
		if (round % 2)
			mal_raw_reset(r);
		else
			mal_raw_free(r);
	}

	/* Gone right after a complete request, before its answer: the message
	 * may or may not be stored, but at most once. */
	for (int round = 0; round < 4; round++) {
		len = snprintf(body, sizeof(body), "vanished sender %d", round);
		mal_maybe(fx, body);
		len = snprintf(body, sizeof(body), "{\"chat_id\": %lld, \"text\": \"vanished sender %d\"}",
			       (long long)fx->bob_id, round);
		n = mal_req(req, sizeof(req), "POST", "/api/sendMessage", "application/json", fx->token, body,
			    (size_t)len, NULL);
		r = mal_raw_open(fx->h);
		mal_raw_send(r, req, n);
		if (round % 2)
			mal_raw_reset(r);
		else
			mal_raw_free(r);
	}

	/* Through libparley: a deadline so short the call gives up mid-way. */
	{
		struct parley_client *c = parley_client_new(harness_url(fx->h), NULL, 0);
		char *text = mal_repeat("z", 15000);
		struct parley_error err;

		assert_non_null(c);
		assert_int_equal(parley_client_set_token(c, fx->token), 0);
		parley_client_set_timeout_ms(c, 1);
		for (int i = 0; i < 5; i++) {
			int rc = parley_send_message(c, fx->bob_id, text, 0, NULL, &err);
			if (rc == 0)
				print_message("(a 1 ms deadline was enough; fine)\n");
		}
		mal_maybe(fx, text);
		mal_maybe(fx, text);
		mal_maybe(fx, text);
		mal_maybe(fx, text);
		mal_maybe(fx, text);
		free(text);
		parley_client_free(c);
	}

	/* Every one of those connections is closed by the server in the end. */
	deadline = mal_now_ms() + 5000;
	while ((open = mal_connections_open(fx)) > base && mal_now_ms() < deadline)
		mal_sleep_ms(50);
	if (open > base) {
		print_error("%ld connections open after the clients vanished; %ld before\n", open, base);
		fail();
	}
	mal_check_alive(fx);
}

static void test_pipelined(void **state)
{
	struct mal_fx *fx = *state;
	enum { NREQ = 8 };
	char *buf = malloc(65536), body[256];
	struct mal_reply rep[NREQ];
	struct mal_raw *r;
	int64_t last_id = 0, ids[NREQ] = {0};
	size_t n = 0;
	int len;

	/* sendMessage x3, a bad body, getMe, sendMessage, unknown method,
	 * sendMessage with Connection: close. */
	assert_non_null(buf);
	for (int i = 0; i < NREQ; i++) {
		const char *method = "sendMessage", *extra = NULL;
		len = snprintf(body, sizeof(body), "{\"chat_id\": %lld, \"text\": \"pipelined %d\"}",
			       (long long)fx->bob_id, i);
		if (i == 3)
			len = snprintf(body, sizeof(body), "{not json");
		if (i == 4) {
			method = "getMe";
			len = snprintf(body, sizeof(body), "{}");
		}
		if (i == 6)
			method = "noSuchMethod";
		if (i == NREQ - 1)
			extra = "Connection: close\r\n";
		{
			char path[64];
			snprintf(path, sizeof(path), "/api/%s", method);
			n += mal_req(buf + n, 65536 - n, "POST", path, "application/json", fx->token, body, (size_t)len,
				     extra);
		}
	}
	r = mal_raw_open(fx->h);
	mal_raw_send(r, buf, n);
	for (int i = 0; i < NREQ; i++) {
		json_t *doc;
		if (mal_raw_reply(r, &rep[i], MAL_REPLY_TIMEOUT_MS) < 0) {
			print_error("no reply to pipelined request %d\n", i);
			fail();
		}
		if (i == 3) {
			EXPECT_BODY(rep[i].status, rep[i].body, 400, "JSON_INVALID");
		} else if (i == 6) {
			EXPECT_BODY(rep[i].status, rep[i].body, 404, "METHOD_NOT_FOUND");
		} else if (i == 4) {
			assert_int_equal(rep[i].status, 200);
			doc = json_loads(rep[i].body, 0, NULL);
			assert_int_equal(json_integer_value(json_object_get(json_object_get(doc, "result"), "id")),
					 fx->alice_id);
			json_decref(doc);
		} else {
			char want[64];
			json_t *res;
			assert_int_equal(rep[i].status, 200);
			doc = json_loads(rep[i].body, 0, NULL);
			res = json_object_get(doc, "result");
			snprintf(want, sizeof(want), "pipelined %d", i);
			assert_string_equal(json_string_value(json_object_get(res, "text")), want);
			ids[i] = json_integer_value(json_object_get(res, "message_id"));
			assert_true(ids[i] > last_id); /* answered in order, stored in order */
			last_id = ids[i];
			mal_record(fx, ids[i], want);
			json_decref(doc);
		}
		mal_reply_release(&rep[i]);
	}
	/* The last asked to close. */
	assert_true(mal_raw_closed(r, MAL_CLOSE_TIMEOUT_MS));
	mal_raw_free(r);

	/* Pipelined requests after a malformed one are not answered. */
	n = mal_req(buf, 65536, "GET", "/healthz", NULL, NULL, NULL, 0, NULL);
	memcpy(buf + n, "BROKEN\x01\r\n\r\n", 11);
	n += 11;
	n += mal_req(buf + n, 65536 - n, "GET", "/healthz", NULL, NULL, NULL, 0, NULL);
	r = mal_raw_open(fx->h);
	mal_raw_send(r, buf, n);
	assert_int_equal(mal_raw_reply(r, &rep[0], MAL_REPLY_TIMEOUT_MS), 0);
	assert_int_equal(rep[0].status, 200);
	mal_reply_release(&rep[0]);
	assert_int_equal(mal_raw_reply(r, &rep[0], MAL_REPLY_TIMEOUT_MS), 0);
	EXPECT_BODY(rep[0].status, rep[0].body, 400, "BAD_REQUEST");
	mal_reply_release(&rep[0]);
	assert_true(mal_raw_closed(r, MAL_CLOSE_TIMEOUT_MS));
	mal_raw_free(r);

	/* A long pipeline of sends, in one write. */
	n = 0;
	for (int i = 0; i < 50; i++) {
		len = snprintf(body, sizeof(body), "{\"chat_id\": %lld, \"text\": \"burst %d\"}", (long long)fx->bob_id,
			       i);
		n += mal_req(buf + n, 65536 - n, "POST", "/api/sendMessage", "application/json", fx->token, body,
			     (size_t)len, NULL);
	}
	r = mal_raw_open(fx->h);
	mal_raw_send(r, buf, n);
	last_id = 0;
	for (int i = 0; i < 50; i++) {
		json_t *doc, *res;
		char want[64];
		int64_t id;
		assert_int_equal(mal_raw_reply(r, &rep[0], MAL_REPLY_TIMEOUT_MS), 0);
		assert_int_equal(rep[0].status, 200);
		doc = json_loads(rep[0].body, 0, NULL);
		res = json_object_get(doc, "result");
		snprintf(want, sizeof(want), "burst %d", i);
		assert_string_equal(json_string_value(json_object_get(res, "text")), want);
		id = json_integer_value(json_object_get(res, "message_id"));
		assert_true(id > last_id);
		last_id = id;
		mal_record(fx, id, want);
		json_decref(doc);
		mal_reply_release(&rep[0]);
	}
	mal_raw_free(r);

	/* A pipeline longer than the server reads at once (64 KiB). */
	{
		static const char hz[] = "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n";
		enum { NHZ = 2500 };
		char *many = malloc(NHZ * (sizeof(hz) - 1));

		assert_non_null(many);
		for (int i = 0; i < NHZ; i++)
			memcpy(many + (size_t)i * (sizeof(hz) - 1), hz, sizeof(hz) - 1);
		r = mal_raw_open(fx->h);
		mal_raw_send(r, many, NHZ * (sizeof(hz) - 1));
		for (int i = 0; i < NHZ; i++) {
			if (mal_raw_reply(r, &rep[0], MAL_REPLY_TIMEOUT_MS) < 0) {
				print_error("pipelined /healthz %d of %d got no reply\n", i, NHZ);
				fail();
			}
			assert_int_equal(rep[0].status, 200);
			mal_reply_release(&rep[0]);
		}
		mal_raw_free(r);
		free(many);
	}
	free(buf);
	mal_check_alive(fx);
}

/* Prints the end of the daemon's log (the harness keeps it next to data/). */
static void mal_print_log(const struct harness *h)
{
	char path[4200], buf[4097];
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), "%.4000s/../parleyd.log", harness_data_dir(h));
	if (!(f = fopen(path, "r")))
		return;
	if (fseek(f, 0, SEEK_END) == 0 && ftell(f) > 4096)
		fseek(f, -4096, SEEK_END);
	else
		fseek(f, 0, SEEK_SET);
	n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = '\0';
	fclose(f);
	print_error("---- parleyd log ----\n%s\n---- end ----\n", buf);
}

/* Last: SIGTERM must end the daemon cleanly, exit status 0 (a sanitizer
 * report, a leak or a crash during the abuse above would show here). */
static void test_clean_stop(void **state)
{
	struct mal_fx *fx = *state;
	int status;

	mal_check_alive(fx);
	status = harness_stop(fx->h);
	if (status != 0) {
		mal_print_log(fx->h);
		print_error("parleyd exited with %d\n", status);
		fail();
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_json_invalid),
		cmocka_unit_test(test_json_not_object),
		cmocka_unit_test(test_param_invalid),
		cmocka_unit_test(test_param_missing),
		cmocka_unit_test(test_invalid_utf8),
		cmocka_unit_test(test_text_length),
		cmocka_unit_test(test_text_empty),
		cmocka_unit_test(test_body_too_large),
		cmocka_unit_test(test_headers_too_large),
		cmocka_unit_test(test_unknown_method),
		cmocka_unit_test(test_content_type),
		cmocka_unit_test(test_unauthorized),
		cmocka_unit_test(test_garbage),
		cmocka_unit_test(test_slowloris),
		cmocka_unit_test(test_disconnect_mid_request),
		cmocka_unit_test(test_pipelined),
		cmocka_unit_test(test_clean_stop),
	};

	return cmocka_run_group_tests(tests, mal_setup, mal_teardown);
}
