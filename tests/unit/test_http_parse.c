/*
 * test_http_parse.c — unit tests of the HTTP request assembler
 * (src/net/http_parse.c): no sockets, bytes in, requests out.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "net/http_parse.h"
#include "net/net.h"
#include "util/err.h"

#define T_MAX_REQS 8
#define T_HDR_MAX 1024
#define T_BODY_MAX 4096

/* What one feeding run produced. */
struct t_run {
	struct net_parsed_req reqs[T_MAX_REQS];
	int nreqs;
	int rc;      /* last non-zero return: PL_AGAIN or an error */
	int status;  /* status of an error */
};

/* Feeds s to a fresh parser step bytes at a time (step 0: all at once) and
 * drains every request after each step. */
static void t_feed(struct t_run *r, const char *s, size_t len, size_t step, size_t hmax, size_t bmax)
{
	struct net_parser p;
	size_t off = 0, n;
	int rc = PL_AGAIN;

	memset(r, 0, sizeof(*r));
	net_parser_init(&p, hmax, bmax);
	if (step == 0)
		step = len;
	while (off < len) {
		n = len - off < step ? len - off : step;
		rc = net_parser_next(&p, s + off, n, &r->reqs[r->nreqs], &r->status);
		off += n;
		while (rc == 0) {
			assert_true(r->nreqs < T_MAX_REQS - 1);
			r->nreqs++;
			rc = net_parser_next(&p, NULL, 0, &r->reqs[r->nreqs], &r->status);
		}
		if (rc != PL_AGAIN)
			break;
	}
	r->rc = rc;
	net_parser_release(&p);
}

static void t_run_release(struct t_run *r)
{
	for (int i = 0; i < T_MAX_REQS; i++)
		net_parsed_req_release(&r->reqs[i]);
}

static void t_feed_str(struct t_run *r, const char *s, size_t step)
{
	t_feed(r, s, strlen(s), step, T_HDR_MAX, T_BODY_MAX);
}

static void test_simple_get(void **state)
{
	struct t_run r;

	t_feed_str(&r, "GET /api/getMe?a=1&b=%20 HTTP/1.1\r\nHost: x\r\n"
		       "Authorization: Bearer abc  \r\n\r\n", 0);
	assert_int_equal(r.rc, PL_AGAIN);
	assert_int_equal(r.nreqs, 1);
	assert_int_equal(r.reqs[0].method, NET_GET);
	assert_string_equal(r.reqs[0].path, "/api/getMe");
	assert_string_equal(r.reqs[0].query, "a=1&b=%20");
	assert_string_equal(r.reqs[0].authorization, "Bearer abc");
	assert_null(r.reqs[0].content_type);
	assert_string_equal(r.reqs[0].body, "");
	assert_int_equal(r.reqs[0].body_len, 0);
	assert_int_equal(r.reqs[0].keep_alive, 1);
	t_run_release(&r);
}

static void test_path_not_decoded(void **state)
{
	struct t_run r;

	t_feed_str(&r, "HEAD /a%2Fb/c%00?#frag HTTP/1.1\r\n\r\n", 0);
	assert_int_equal(r.nreqs, 1);
	assert_int_equal(r.reqs[0].method, NET_HEAD);
	assert_string_equal(r.reqs[0].path, "/a%2Fb/c%00");
	assert_string_equal(r.reqs[0].query, "");
	t_run_release(&r);

	t_feed_str(&r, "DELETE /x HTTP/1.1\r\n\r\n", 0);
	assert_int_equal(r.nreqs, 1);
	assert_int_equal(r.reqs[0].method, NET_OTHER);
	t_run_release(&r);
}

static const char t_post[] = "POST /api/sendMessage HTTP/1.1\r\n"
			     "Host: localhost\r\n"
			     "content-TYPE: application/json\r\n"
			     "Content-Length: 28\r\n"
			     "\r\n"
			     "{\"chat_id\":1,\"text\":\"hi\\u0\"}";

static void t_check_post(const struct net_parsed_req *q)
{
	assert_int_equal(q->method, NET_POST);
	assert_string_equal(q->path, "/api/sendMessage");
	assert_string_equal(q->content_type, "application/json");
	assert_int_equal(q->body_len, 28);
	assert_memory_equal(q->body, "{\"chat_id\":1,\"text\":\"hi\\u0\"}", 28);
	assert_int_equal(q->body[28], '\0');
}

static void test_post_body(void **state)
{
	struct t_run r;

	t_feed_str(&r, t_post, 0);
	assert_int_equal(r.rc, PL_AGAIN);
	assert_int_equal(r.nreqs, 1);
	t_check_post(&r.reqs[0]);
	t_run_release(&r);
}

static void test_body_with_nul(void **state)
{
	static const char s[] = "POST / HTTP/1.1\r\nContent-Length: 3\r\n\r\na\0b";
	struct t_run r;

	t_feed(&r, s, sizeof(s) - 1, 0, T_HDR_MAX, T_BODY_MAX);
	assert_int_equal(r.nreqs, 1);
	assert_int_equal(r.reqs[0].body_len, 3);
	assert_memory_equal(r.reqs[0].body, "a\0b", 3);
	t_run_release(&r);
}

/* Content-Length: 0 reserves an empty body, which must still read "". */
static void test_empty_body(void **state)
{
	struct t_run r;

	t_feed_str(&r, "POST /e HTTP/1.1\r\nContent-Length: 0\r\n\r\n", 0);
	assert_int_equal(r.nreqs, 1);
	assert_int_equal(r.reqs[0].body_len, 0);
	assert_string_equal(r.reqs[0].body, "");
	t_run_release(&r);
}

static void test_pipelined(void **state)
{
	char buf[1024];
	struct t_run r;

	snprintf(buf, sizeof(buf), "%sGET /second?q HTTP/1.1\r\n\r\nGET /thi", t_post);
	t_feed_str(&r, buf, 0);
	assert_int_equal(r.rc, PL_AGAIN);
	assert_int_equal(r.nreqs, 2);
	t_check_post(&r.reqs[0]);
	assert_string_equal(r.reqs[1].path, "/second");
	assert_string_equal(r.reqs[1].query, "q");
	t_run_release(&r);
}

/* Bytes fed while earlier ones are still kept queue up behind them. */
static void test_feed_while_held(void **state)
{
	struct net_parser p;
	struct net_parsed_req q;
	int status;

	net_parser_init(&p, T_HDR_MAX, T_BODY_MAX);
	assert_int_equal(net_parser_next(&p, "GET /1 HTTP/1.1\r\n\r\nGET /2 HT", 28, &q, &status), 0);
	assert_string_equal(q.path, "/1");
	net_parsed_req_release(&q);
	assert_int_equal(net_parser_started(&p), 1);
	assert_int_equal(net_parser_next(&p, "TP/1.1\r\n\r\n", 10, &q, &status), 0);
	assert_string_equal(q.path, "/2");
	net_parsed_req_release(&q);
	assert_int_equal(net_parser_next(&p, NULL, 0, &q, &status), PL_AGAIN);
	assert_int_equal(net_parser_started(&p), 0);
	net_parser_release(&p);
}

static void test_byte_by_byte(void **state)
{
	char buf[1024];
	struct t_run r;

	snprintf(buf, sizeof(buf), "%s\r\nGET /b HTTP/1.1\r\nAuthorization: x\r\n\r\n%s", t_post, t_post);
	for (size_t step = 1; step <= 7; step++) {
		t_feed_str(&r, buf, step);
		assert_int_equal(r.rc, PL_AGAIN);
		assert_int_equal(r.nreqs, 3);
		t_check_post(&r.reqs[0]);
		assert_string_equal(r.reqs[1].path, "/b");
		assert_string_equal(r.reqs[1].authorization, "x");
		t_check_post(&r.reqs[2]);
		t_run_release(&r);
	}
}

static void test_chunked(void **state)
{
	static const char s[] = "POST /up HTTP/1.1\r\n"
				"Transfer-Encoding: chunked\r\n"
				"\r\n"
				"5;ext=1\r\nhello\r\n"
				"7\r\n, world\r\n"
				"0\r\n"
				"X-Trailer: yes\r\n"
				"\r\n"
				"GET /next HTTP/1.1\r\n\r\n";
	struct t_run r;

	for (size_t step = 0; step <= 3; step++) {
		t_feed_str(&r, s, step);
		assert_int_equal(r.rc, PL_AGAIN);
		assert_int_equal(r.nreqs, 2);
		assert_int_equal(r.reqs[0].body_len, 12);
		assert_string_equal(r.reqs[0].body, "hello, world");
		assert_string_equal(r.reqs[1].path, "/next");
		t_run_release(&r);
	}
}

static void test_headers_too_large(void **state)
{
	char buf[2048];
	struct t_run r;
	size_t n;

	/* Exactly at the limit passes; one byte more is 431. */
	n = (size_t)snprintf(buf, sizeof(buf), "GET / HTTP/1.1\r\nX-Pad: ");
	memset(buf + n, 'a', T_HDR_MAX - n - 4);
	memcpy(buf + T_HDR_MAX - 4, "\r\n\r\n", 5);
	assert_int_equal(strlen(buf), T_HDR_MAX);
	t_feed_str(&r, buf, 0);
	assert_int_equal(r.rc, PL_AGAIN);
	assert_int_equal(r.nreqs, 1);
	t_run_release(&r);

	memset(buf + n, 'a', T_HDR_MAX - n - 3);
	memcpy(buf + T_HDR_MAX - 3, "\r\n\r\n", 5);
	for (size_t step = 0; step <= 100; step += 50) {
		t_feed_str(&r, buf, step);
		assert_int_equal(r.rc, PL_TOOBIG);
		assert_int_equal(r.status, 431);
		assert_int_equal(r.nreqs, 0);
		t_run_release(&r);
	}

	/* So does the trailer section of a chunked body, on its own. */
	n = (size_t)snprintf(buf, sizeof(buf), "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
				"1\r\nx\r\n0\r\nX-Trailer: ");
	memset(buf + n, 't', 1100);
	strcpy(buf + n + 1100, "\r\n\r\n");
	for (size_t step = 0; step <= 7; step += 7) {
		t_feed_str(&r, buf, step);
		assert_int_equal(r.rc, PL_TOOBIG);
		assert_int_equal(r.status, 431);
		t_run_release(&r);
	}

	/* A long request line counts too. */
	n = (size_t)snprintf(buf, sizeof(buf), "GET /");
	memset(buf + n, 'p', 1500);
	strcpy(buf + n + 1500, " HTTP/1.1\r\n\r\n");
	t_feed_str(&r, buf, 0);
	assert_int_equal(r.status, 431);
	t_run_release(&r);
}

static void test_body_too_large(void **state)
{
	struct net_parser p;
	struct net_parsed_req q;
	int status;
	const char *h = "POST / HTTP/1.1\r\nContent-Length: 4097\r\n\r\n";

	/* Decided from the header alone, before any body byte. */
	net_parser_init(&p, T_HDR_MAX, T_BODY_MAX);
	assert_int_equal(net_parser_next(&p, h, strlen(h), &q, &status), PL_TOOBIG);
	assert_int_equal(status, 413);
	/* A dead parser stays dead. */
	assert_int_equal(net_parser_next(&p, "GET / HTTP/1.1\r\n\r\n", 18, &q, &status), PL_TOOBIG);
	assert_int_equal(status, 413);
	net_parser_release(&p);

	struct t_run r;

	t_feed_str(&r, "POST / HTTP/1.1\r\nContent-Length: 99999999999999999999\r\n\r\n", 0);
	assert_int_equal(r.rc, PL_INVAL); /* overflowing number: malformed */
	assert_int_equal(r.status, 400);
	t_run_release(&r);
}

static void test_chunked_too_large(void **state)
{
	char buf[8192];
	struct t_run r;
	size_t n;

	/* A chunk announcing more than the limit. */
	t_feed_str(&r, "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n2000\r\nab", 0);
	assert_int_equal(r.status, 413);
	t_run_release(&r);

	/* Many small chunks adding up past it. */
	n = (size_t)snprintf(buf, sizeof(buf), "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n");
	while (n + 20 < sizeof(buf))
		n += (size_t)snprintf(buf + n, sizeof(buf) - n, "8\r\n01234567\r\n");
	t_feed_str(&r, buf, 0);
	assert_int_equal(r.rc, PL_TOOBIG);
	assert_int_equal(r.status, 413);
	assert_int_equal(r.nreqs, 0);
	t_run_release(&r);
}

static void t_expect_400(const char *s)
{
	struct t_run r;

	t_feed_str(&r, s, 0);
	assert_int_equal(r.rc, PL_INVAL);
	assert_int_equal(r.status, 400);
	assert_int_equal(r.nreqs, 0);
	t_run_release(&r);
	t_feed_str(&r, s, 1);
	assert_int_equal(r.rc, PL_INVAL);
	assert_int_equal(r.status, 400);
	t_run_release(&r);
}

static void test_malformed(void **state)
{
	t_expect_400("GARBAGE\r\n\r\n");
	t_expect_400("GET noslash HTTP/1.1\r\n\r\n");
	t_expect_400("GET http://example.com/abs HTTP/1.1\r\n\r\n");
	t_expect_400("OPTIONS * HTTP/1.1\r\n\r\n");
	t_expect_400("CONNECT example.com:443 HTTP/1.1\r\n\r\n");
	t_expect_400("GET / HTTP/2.0\r\n\r\n");
	t_expect_400("GET / HTTP/1.1\r\nBad Header: x\r\n\r\n");
	t_expect_400("GET / HTTP/1.1\r\nX: a\001b\r\n\r\n");
	t_expect_400("POST / HTTP/1.1\r\nContent-Length: 1x\r\n\r\n");
	t_expect_400("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n");
	t_expect_400("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n");
}

static void test_duplicates(void **state)
{
	t_expect_400("POST / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\nx");
	t_expect_400("GET / HTTP/1.1\r\nAuthorization: a\r\nauthorization: a\r\n\r\n");
	t_expect_400("GET / HTTP/1.1\r\nContent-Type: a\r\nCONTENT-TYPE: b\r\n\r\n");
}

static void t_expect_keep_alive(const char *s, int want)
{
	struct t_run r;

	t_feed_str(&r, s, 0);
	assert_int_equal(r.nreqs, 1);
	assert_int_equal(r.reqs[0].keep_alive, want);
	t_run_release(&r);
}

static void test_keep_alive_flags(void **state)
{
	t_expect_keep_alive("GET / HTTP/1.1\r\n\r\n", 1);
	t_expect_keep_alive("GET / HTTP/1.1\r\nConnection: close\r\n\r\n", 0);
	t_expect_keep_alive("GET / HTTP/1.0\r\n\r\n", 0);
	t_expect_keep_alive("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", 1);
	t_expect_keep_alive("GET / HTTP/1.1\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n", 0);
}

/* Nothing may follow a request that ends the connection. */
static void test_after_close(void **state)
{
	struct t_run r;

	t_feed_str(&r, "GET /a HTTP/1.1\r\nConnection: close\r\n\r\nGET /b HTTP/1.1\r\n\r\n", 0);
	assert_int_equal(r.nreqs, 1);
	assert_int_equal(r.reqs[0].keep_alive, 0);
	assert_int_equal(r.status, 400);
	t_run_release(&r);
}

static void test_expect_continue(void **state)
{
	struct net_parser p;
	struct net_parsed_req q;
	int status;
	const char *h = "POST /x HTTP/1.1\r\nExpect: 100-Continue\r\nContent-Length: 2\r\n\r\n";

	net_parser_init(&p, T_HDR_MAX, T_BODY_MAX);
	assert_int_equal(net_parser_next(&p, h, strlen(h), &q, &status), PL_AGAIN);
	assert_int_equal(net_parser_started(&p), 1);
	assert_int_equal(net_parser_take_continue(&p), 1);
	assert_int_equal(net_parser_take_continue(&p), 0);
	assert_int_equal(net_parser_next(&p, "ok", 2, &q, &status), 0);
	assert_string_equal(q.body, "ok");
	net_parsed_req_release(&q);
	/* No body, no 100. */
	h = "GET /x HTTP/1.1\r\nExpect: 100-continue\r\n\r\n";
	assert_int_equal(net_parser_next(&p, h, strlen(h), &q, &status), 0);
	assert_int_equal(net_parser_take_continue(&p), 0);
	net_parsed_req_release(&q);
	net_parser_release(&p);
}

/* Releasing a parser in the middle of a request frees what it gathered. */
static void test_release_midway(void **state)
{
	struct net_parser p;
	struct net_parsed_req q;
	int status;
	const char *h = "POST /x HTTP/1.1\r\nAuthorization: t\r\nContent-Type: a\r\nContent-Length: 10\r\n\r\nabc";

	net_parser_init(&p, T_HDR_MAX, T_BODY_MAX);
	assert_int_equal(net_parser_next(&p, h, strlen(h), &q, &status), PL_AGAIN);
	net_parser_release(&p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_simple_get),
		cmocka_unit_test(test_path_not_decoded),
		cmocka_unit_test(test_post_body),
		cmocka_unit_test(test_body_with_nul),
		cmocka_unit_test(test_empty_body),
		cmocka_unit_test(test_pipelined),
		cmocka_unit_test(test_feed_while_held),
		cmocka_unit_test(test_byte_by_byte),
		cmocka_unit_test(test_chunked),
		cmocka_unit_test(test_headers_too_large),
		cmocka_unit_test(test_body_too_large),
		cmocka_unit_test(test_chunked_too_large),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_duplicates),
		cmocka_unit_test(test_keep_alive_flags),
		cmocka_unit_test(test_after_close),
		cmocka_unit_test(test_expect_continue),
		cmocka_unit_test(test_release_midway),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
