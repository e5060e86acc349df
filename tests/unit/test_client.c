/*
 * test_client.c — unit tests of libparley (src/lib) that need no Parley
 * server: URL parsing, the config file, and the HTTP transport against a
 * tiny scripted server on a loopback socket in a thread (Content-Length,
 * chunked and close-delimited replies, keep-alive reuse, the reconnect-once
 * rule, timeouts, size caps, malformed replies, the error envelope).
 *
 * Live updates: SHA-1 and base64, the WebSocket frame codec fed by hand
 * (fragments, control frames in between, every protocol error and its close
 * code), the opening handshake against a scripted server, the sync rules
 * (ordering, dedup, gaps, differences, reload, chats followed and left),
 * the state file, and the connection object against a scripted WebSocket
 * server that answers getDifference and getState.
 *
 * Unit tests link build/libparleyd.a, not libparley.a, so the library's
 * sources are compiled into this file.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "lib/api.c"
#include "lib/buf.c"
#include "lib/client.c"
#include "lib/config.c"
#include "lib/conn.c"
#include "lib/error.c"
#include "lib/http.c"
#include "lib/sha1.c"
#include "lib/state.c"
#include "lib/sync.c"
#include "lib/url.c"
#include "lib/ws.c"

/* --- URLs ------------------------------------------------------------- */

static void test_url_parse_good(void **state)
{
	struct parley_url u;

	assert_int_equal(parley_url_parse("http://127.0.0.1:8080", &u, NULL, 0), 0);
	assert_string_equal(u.host, "127.0.0.1");
	assert_string_equal(u.port, "8080");
	assert_string_equal(u.prefix, "");
	assert_int_equal(u.ipv6, 0);

	assert_int_equal(parley_url_parse("HTTP://Example.org", &u, NULL, 0), 0);
	assert_string_equal(u.host, "Example.org");
	assert_string_equal(u.port, "80");

	assert_int_equal(parley_url_parse("http://[::1]:9000/", &u, NULL, 0), 0);
	assert_string_equal(u.host, "::1");
	assert_string_equal(u.port, "9000");
	assert_int_equal(u.ipv6, 1);
	assert_string_equal(u.prefix, "");

	assert_int_equal(parley_url_parse("http://host.local:1/parley/v1//", &u, NULL, 0), 0);
	assert_string_equal(u.prefix, "/parley/v1");
	assert_int_equal(parley_url_parse("http://h:65535", &u, NULL, 0), 0);
	assert_string_equal(u.port, "65535");
}

static void test_url_parse_bad(void **state)
{
	static const char *const bad[] = {
		"", "127.0.0.1:8080", "https://example.org", "ftp://x", "http://", "http://:80",
		"http://host:0", "http://host:65536", "http://host:12a", "http://host:", "http://::1:80",
		"http://[::1", "http://user@host", "http://host/a?b=c", "http://host/#x", "http://ho st",
		"http://host/a b", "http://[::1]x", NULL,
	};
	struct parley_url u;
	char errbuf[256];

	for (const char *const *b = bad; *b; b++) {
		errbuf[0] = '\0';
		if (parley_url_parse(*b, &u, errbuf, sizeof(errbuf)) != PARLEY_EINVAL)
			print_error("accepted: %s\n", *b);
		assert_int_equal(parley_url_parse(*b, &u, errbuf, sizeof(errbuf)), PARLEY_EINVAL);
		assert_non_null(strstr(errbuf, "invalid server URL"));
	}
	assert_null(parley_client_new("https://x", errbuf, sizeof(errbuf)));
	assert_non_null(strstr(errbuf, "https"));
}

/* --- small pieces ------------------------------------------------------ */

static void test_buf_limits(void **state)
{
	struct parley_buf b;
	size_t len;
	char *p;

	parley_buf_init(&b, 8);
	assert_int_equal(parley_buf_adds(&b, "1234"), 0);
	assert_int_equal(parley_buf_addf(&b, "%d", 5678), 0);
	assert_int_equal(parley_buf_add(&b, "9", 1), PARLEY_ETOOBIG);
	assert_int_equal(b.len, 8);
	parley_buf_consume(&b, 3);
	assert_string_equal(b.p, "45678");
	p = parley_buf_detach(&b, &len);
	assert_int_equal(len, 5);
	assert_string_equal(p, "45678");
	free(p);
	assert_null(b.p);
	p = parley_buf_detach(&b, &len); /* empty: still a string */
	assert_string_equal(p, "");
	free(p);
	parley_buf_release(&b);
}

static void test_error_and_token(void **state)
{
	struct parley_client *c = parley_client_new(NULL, NULL, 0);
	char longtok[PARLEY_TOKEN_MAX + 2];

	assert_non_null(c);
	assert_string_equal(parley_client_server(c), PARLEY_DEFAULT_SERVER);
	assert_null(parley_client_token(c));
	assert_int_equal(parley_client_set_token(c, "abc123"), 0);
	assert_string_equal(parley_client_token(c), "abc123");
	assert_int_equal(parley_client_set_token(c, "bad\r\nX-Injected: 1"), PARLEY_EINVAL);
	assert_int_equal(parley_client_set_token(c, "has space"), PARLEY_EINVAL);
	memset(longtok, 'a', sizeof(longtok) - 1);
	longtok[sizeof(longtok) - 1] = '\0';
	assert_int_equal(parley_client_set_token(c, longtok), PARLEY_EINVAL);
	assert_string_equal(parley_client_token(c), "abc123");
	assert_int_equal(parley_client_set_token(c, NULL), 0);
	assert_null(parley_client_token(c));
	parley_client_set_device(c, "a device label that is much longer than sixty-four bytes, é at the end é");
	assert_true(strlen(c->device) <= PARLEY_DEVICE_MAX);
	parley_client_free(c);

	assert_string_equal(parley_strerror(PARLEY_ENETWORK), "network error");
	assert_string_equal(parley_rc_code(PARLEY_ETIMEDOUT), "NETWORK_ERROR");
	assert_string_equal(parley_strerror(12345), "unknown error");
}

/* --- config file -------------------------------------------------------- */

static void test_config_round_trip(void **state)
{
	char dir[] = "/tmp/parley-unit-XXXXXX", path[256], errbuf[256], newpath[300];
	struct parley_config in, out;
	struct stat st;
	FILE *f;

	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/a/b/config", dir);
	assert_int_equal(parley_config_load(path, &out, errbuf, sizeof(errbuf)), 0); /* missing: empty */
	assert_string_equal(out.server, "");
	assert_string_equal(out.token, "");

	memset(&in, 0, sizeof(in));
	snprintf(in.server, sizeof(in.server), "http://[::1]:8080");
	snprintf(in.token, sizeof(in.token), "0123456789abcdef");
	assert_int_equal(parley_config_save(path, &in, errbuf, sizeof(errbuf)), 0);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	snprintf(newpath, sizeof(newpath), "%s.new", path);
	assert_int_not_equal(access(newpath, F_OK), 0);
	assert_int_equal(parley_config_load(path, &out, errbuf, sizeof(errbuf)), 0);
	assert_string_equal(out.server, in.server);
	assert_string_equal(out.token, in.token);

	/* Comments, blanks, spaces and unknown keys. */
	f = fopen(path, "w");
	assert_non_null(f);
	fputs("# hi\n\n  server = http://h:1  \nfuture_key=1\ntoken=t\r\n", f);
	fclose(f);
	assert_int_equal(parley_config_load(path, &out, errbuf, sizeof(errbuf)), 0);
	assert_string_equal(out.server, "http://h:1");
	assert_string_equal(out.token, "t");

	f = fopen(path, "w");
	assert_non_null(f);
	fputs("server http://h:1\n", f);
	fclose(f);
	assert_int_equal(parley_config_load(path, &out, errbuf, sizeof(errbuf)), PARLEY_EINVAL);
	assert_non_null(strstr(errbuf, "line 1"));

	snprintf(in.token, sizeof(in.token), "two\nlines");
	assert_int_equal(parley_config_save(path, &in, errbuf, sizeof(errbuf)), PARLEY_EINVAL);

	setenv("PARLEY_CONFIG", "/x/y", 1);
	assert_int_equal(parley_config_path(path, sizeof(path)), 0);
	assert_string_equal(path, "/x/y");
	unsetenv("PARLEY_CONFIG");
	setenv("XDG_CONFIG_HOME", "/xdg", 1);
	assert_int_equal(parley_config_path(path, sizeof(path)), 0);
	assert_string_equal(path, "/xdg/parley/config");
	unsetenv("XDG_CONFIG_HOME");
	setenv("HOME", "/home/u", 1);
	assert_int_equal(parley_config_path(path, sizeof(path)), 0);
	assert_string_equal(path, "/home/u/.config/parley/config");
	assert_int_equal(parley_config_path(path, 8), PARLEY_EINVAL);

	snprintf(path, sizeof(path), "rm -rf '%s'", dir);
	assert_int_equal(system(path), 0);
}

/* --- a scripted HTTP server ------------------------------------------------ */

#define MOCK_STEPS_MAX 8
#define MOCK_REQ_MAX 65536
#define MOCK_PIECE '\x01' /* in a reply: write what came before, pause, go on */

enum mock_action {
	MOCK_REPLY = 0,   /* write the reply, keep the connection */
	MOCK_REPLY_CLOSE, /* write the reply, then close */
	MOCK_DROP,        /* read the request, close without a reply */
	MOCK_HANG,        /* read the request, never reply (until the test ends) */
};

struct mock_step {
	int action;
	const char *reply;
};

struct mock {
	int lfd;
	int port;
	int stop[2];                  /* a pipe: the test writes to end a hang */
	struct mock_step steps[MOCK_STEPS_MAX];
	int nsteps;
	char requests[MOCK_STEPS_MAX][1024]; /* the head of each request received */
	int accepts;
	pthread_t thread;
};

/* Reads one request (head + Content-Length body) from fd into buf. */
static int mock_read_request(int fd, char *buf, size_t cap)
{
	size_t n = 0;
	char *end = NULL, *cl;
	long body = 0;

	while (!end || n < (size_t)(end - buf) + 4 + (size_t)body) {
		ssize_t r = recv(fd, buf + n, cap - n - 1, 0);

		if (r <= 0)
			return -1;
		n += (size_t)r;
		buf[n] = '\0';
		if (!end && (end = strstr(buf, "\r\n\r\n"))) {
			cl = strstr(buf, "Content-Length: ");
			body = cl && cl < end ? strtol(cl + 16, NULL, 10) : 0;
		}
	}
	return 0;
}

static void mock_write(int fd, const char *reply)
{
	const char *p = reply;

	while (*p) {
		size_t n = strcspn(p, "\x01");

		if (n && send(fd, p, n, MSG_NOSIGNAL) < 0)
			return;
		p += n;
		if (*p == MOCK_PIECE) {
			usleep(20000);
			p++;
		}
	}
}

static void *mock_main(void *arg)
{
	struct mock *m = arg;
	char *req = malloc(MOCK_REQ_MAX);
	int fd = -1;

	for (int i = 0; req && i < m->nsteps; i++) {
		if (fd < 0) {
			fd = accept(m->lfd, NULL, NULL);
			m->accepts++;
		}
		if (fd < 0 || mock_read_request(fd, req, MOCK_REQ_MAX) < 0) {
			if (fd >= 0)
				close(fd);
			fd = -1;
			i--; /* the client gave up on this connection: same step, next one */
			continue;
		}
		snprintf(m->requests[i], sizeof(m->requests[i]), "%s", req);
		if (m->steps[i].action == MOCK_HANG) {
			char ch;
			if (read(m->stop[0], &ch, 1) < 0)
				break;
		}
		if (m->steps[i].action == MOCK_REPLY || m->steps[i].action == MOCK_REPLY_CLOSE)
			mock_write(fd, m->steps[i].reply);
		if (m->steps[i].action != MOCK_REPLY) {
			close(fd);
			fd = -1;
		}
	}
	if (fd >= 0)
		close(fd);
	free(req);
	return NULL;
}

/* Starts a mock server that plays steps (terminated by a NULL reply with
 * action 0... or counted by n). */
static struct mock *mock_start(const struct mock_step *steps, int n)
{
	struct mock *m = calloc(1, sizeof(*m));
	struct sockaddr_in sa;
	socklen_t slen = sizeof(sa);

	assert_non_null(m);
	assert_true(n <= MOCK_STEPS_MAX);
	memcpy(m->steps, steps, (size_t)n * sizeof(*steps));
	m->nsteps = n;
	assert_int_equal(pipe(m->stop), 0);
	m->lfd = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(m->lfd >= 0);
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(m->lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(m->lfd, 8), 0);
	assert_int_equal(getsockname(m->lfd, (struct sockaddr *)&sa, &slen), 0);
	m->port = ntohs(sa.sin_port);
	assert_int_equal(pthread_create(&m->thread, NULL, mock_main, m), 0);
	return m;
}

static void mock_finish(struct mock *m)
{
	if (write(m->stop[1], "x", 1) < 0)
		fail();
	pthread_join(m->thread, NULL);
	close(m->lfd);
	close(m->stop[0]);
	close(m->stop[1]);
	free(m);
}

static struct parley_client *mock_client(const struct mock *m, const char *prefix)
{
	char url[128];
	struct parley_client *c;

	snprintf(url, sizeof(url), "http://127.0.0.1:%d%s", m->port, prefix ? prefix : "");
	c = parley_client_new(url, NULL, 0);
	assert_non_null(c);
	parley_client_set_timeout_ms(c, 5000);
	return c;
}

#define OK_BODY "{\"ok\":true,\"result\":{\"id\":7}}"
#define OK_REPLY "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 29\r\n\r\n" OK_BODY

static void expect_id7(struct parley_client *c)
{
	struct parley_error err;
	json_t *r = NULL;
	int rc = parley_call(c, "getMe", NULL, &r, &err);

	if (rc)
		print_error("call failed: %s: %s\n", err.code, err.description);
	assert_int_equal(rc, 0);
	assert_int_equal(json_integer_value(json_object_get(r, "id")), 7);
	json_decref(r);
}

static void test_http_content_length_keepalive(void **state)
{
	const struct mock_step steps[] = {{MOCK_REPLY, OK_REPLY}, {MOCK_REPLY, "HTTP/1.1 200 OK\r\nContent-Length: 29\r\n\r\n\x01{\"ok\":true,\x01\"result\":{\"id\":7}}"}};
	struct mock *m = mock_start(steps, 2);
	struct parley_client *c = mock_client(m, "/base/");

	parley_client_set_token(c, "tok123");
	expect_id7(c);
	expect_id7(c);
	assert_int_equal(parley_client_connects(c), 1);
	assert_non_null(strstr(m->requests[0], "POST /base/api/getMe HTTP/1.1\r\n"));
	assert_non_null(strstr(m->requests[0], "\r\nHost: 127.0.0.1:"));
	assert_non_null(strstr(m->requests[0], "\r\nAuthorization: Bearer tok123\r\n"));
	assert_non_null(strstr(m->requests[0], "\r\nContent-Type: application/json\r\n"));
	assert_non_null(strstr(m->requests[0], "\r\nContent-Length: 2\r\n\r\n{}"));
	parley_client_free(c);
	mock_finish(m);
}

static void test_http_chunked(void **state)
{
	const struct mock_step steps[] = {
		{MOCK_REPLY, "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
			     "5;ext=1\r\n{\"ok\"\r\n\x01" "1\r\n:\r\n"
			     "16\r\ntrue,\"result\":{\"id\":7}\x01\r\n1\r\n}\r\n0\r\nX-Trailer: yes\r\n\r\n"},
		{MOCK_REPLY, "HTTP/1.1 200 OK\r\ntransfer-encoding: CHUNKED\r\n\r\n1D\r\n" OK_BODY "\r\n0\r\n\r\n"},
	};
	struct mock *m = mock_start(steps, 2);
	struct parley_client *c = mock_client(m, NULL);

	expect_id7(c);
	expect_id7(c);
	assert_int_equal(parley_client_connects(c), 1);
	parley_client_free(c);
	mock_finish(m);
}

static void test_http_close_delimited(void **state)
{
	const struct mock_step steps[] = {
		{MOCK_REPLY_CLOSE, "HTTP/1.0 200 OK\r\n\r\n" OK_BODY},
		{MOCK_REPLY_CLOSE, "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 29\r\n\r\n" OK_BODY},
		{MOCK_REPLY, OK_REPLY},
	};
	struct mock *m = mock_start(steps, 3);
	struct parley_client *c = mock_client(m, NULL);

	expect_id7(c);
	expect_id7(c);
	expect_id7(c);
	assert_int_equal(parley_client_connects(c), 3);
	parley_client_free(c);
	mock_finish(m);
}

/* The server drops a kept-alive connection without replying: sent again. */
static void test_http_reconnect_once(void **state)
{
	const struct mock_step steps[] = {
		{MOCK_REPLY, OK_REPLY}, {MOCK_DROP, NULL}, {MOCK_REPLY, OK_REPLY},
		{MOCK_DROP, NULL}, {MOCK_DROP, NULL},
	};
	struct mock *m = mock_start(steps, 5);
	struct parley_client *c = mock_client(m, NULL);
	struct parley_error err;

	expect_id7(c);
	expect_id7(c); /* dropped on the old connection, answered on a new one */
	assert_int_equal(parley_client_connects(c), 2);
	/* Dropped, then dropped again on the fresh connection: no third try. */
	assert_int_equal(parley_call(c, "getMe", NULL, NULL, &err), PARLEY_ENETWORK);
	assert_string_equal(err.code, "NETWORK_ERROR");
	assert_int_equal(err.http_status, 0);
	assert_int_equal(parley_client_connects(c), 3);
	parley_client_free(c);
	mock_finish(m);
}

static void test_http_timeout(void **state)
{
	const struct mock_step steps[] = {{MOCK_HANG, NULL}};
	struct mock *m = mock_start(steps, 1);
	struct parley_client *c = mock_client(m, NULL);
	struct parley_error err;
	time_t start = time(NULL);

	parley_client_set_timeout_ms(c, 200);
	assert_int_equal(parley_call(c, "getMe", NULL, NULL, &err), PARLEY_ETIMEDOUT);
	assert_string_equal(err.code, "NETWORK_ERROR");
	assert_non_null(strstr(err.description, "200 ms"));
	assert_true(time(NULL) - start < 3);
	parley_client_free(c);
	mock_finish(m);
}

static void test_http_too_large_and_malformed(void **state)
{
	const struct mock_step steps[] = {
		{MOCK_REPLY, "HTTP/1.1 200 OK\r\nContent-Length: 16777217\r\n\r\n"},
		{MOCK_REPLY, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1000001\r\n"},
		{MOCK_REPLY, "HTTP/1.1 2x0 OK\r\nContent-Length: 0\r\n\r\n"},
		{MOCK_REPLY, "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n"},
		{MOCK_REPLY, "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n"},
		{MOCK_REPLY, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n"},
		{MOCK_REPLY_CLOSE, "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nshort"},
		{MOCK_REPLY, "HTTP/1.1 502 Bad Gateway\r\nContent-Length: 11\r\n\r\n<html>\n</a>"},
	};
	static const int want[] = {PARLEY_ETOOBIG, PARLEY_ETOOBIG, PARLEY_EPROTO, PARLEY_EPROTO,
				   PARLEY_EPROTO, PARLEY_EPROTO, PARLEY_ENETWORK, PARLEY_EPROTO};
	struct mock *m = mock_start(steps, 8);
	struct parley_client *c = mock_client(m, NULL);
	struct parley_error err;

	for (int i = 0; i < 8; i++) {
		int rc = parley_call(c, "getMe", NULL, NULL, &err);

		if (rc != want[i])
			print_error("step %d: %d (%s: %s)\n", i, rc, err.code, err.description);
		assert_int_equal(rc, want[i]);
	}
	assert_string_equal(err.code, "HTTP_502");
	assert_int_equal(err.http_status, 502);
	assert_non_null(strstr(err.description, "<html>"));
	parley_client_free(c);
	mock_finish(m);
}

static void test_api_error_envelope(void **state)
{
	const struct mock_step steps[] = {
		{MOCK_REPLY, "HTTP/1.1 429 Too Many Requests\r\nContent-Length: 112\r\n\r\n"
			     "{\"ok\":false,\"error_code\":429,\"description\":\"FLOOD_WAIT_3: too many requests\","
			     "\"parameters\":{\"retry_after\":3}}    "},
		{MOCK_REPLY, "HTTP/1.1 400 Bad Request\r\nContent-Length: 111\r\n\r\n"
			     "{\"ok\":false,\"error_code\":400,\"description\":\"MESSAGE_TOO_LONG: the message text is longer than 4096 characters\"}"},
		{MOCK_REPLY, "HTTP/1.1 500 Oops\r\nContent-Length: 53\r\n\r\n"
			     "{\"ok\":false,\"error_code\":500,\"description\":\"no code\"}"},
		{MOCK_REPLY, "HTTP/1.1 200 OK\r\nContent-Length: 11\r\n\r\n{\"ok\":true}"},
	};
	struct mock *m = mock_start(steps, 4);
	struct parley_client *c = mock_client(m, NULL);
	struct parley_error err;
	json_t *r = NULL;

	assert_int_equal(parley_call(c, "sendMessage", NULL, NULL, &err), PARLEY_EAPI);
	assert_int_equal(err.http_status, 429);
	assert_string_equal(err.code, "FLOOD_WAIT_3");
	assert_string_equal(err.description, "too many requests");
	assert_int_equal(err.retry_after, 3);

	assert_int_equal(parley_call_json(c, "sendMessage", "{\"chat_id\":1}", NULL, &err), PARLEY_EAPI);
	assert_int_equal(err.http_status, 400);
	assert_string_equal(err.code, "MESSAGE_TOO_LONG");
	assert_string_equal(err.description, "the message text is longer than 4096 characters");
	assert_int_equal(err.retry_after, 0);

	assert_int_equal(parley_call(c, "getMe", NULL, NULL, &err), PARLEY_EAPI);
	assert_string_equal(err.code, "HTTP_500");
	assert_string_equal(err.description, "no code");

	assert_int_equal(parley_call(c, "getMe", NULL, &r, &err), 0); /* no result: null */
	assert_true(json_is_null(r));
	json_decref(r);
	assert_int_equal(parley_client_connects(c), 1);

	/* Refused before sending anything. */
	assert_int_equal(parley_call(c, "bad/method", NULL, NULL, &err), PARLEY_EINVAL);
	assert_string_equal(err.code, "INVALID_ARGUMENT");
	assert_int_equal(parley_call_json(c, "getMe", "[1]", NULL, &err), PARLEY_EINVAL);
	assert_int_equal(parley_call_json(c, "getMe", "{", NULL, &err), PARLEY_EINVAL);
	parley_client_free(c);
	mock_finish(m);
}

static void test_connect_refused(void **state)
{
	struct parley_client *c = parley_client_new("http://127.0.0.1:1", NULL, 0);
	struct parley_error err;
	int status = 0;

	assert_non_null(c);
	assert_int_equal(parley_get(c, "/healthz", &status, NULL, NULL, &err), PARLEY_ENETWORK);
	assert_string_equal(err.code, "NETWORK_ERROR");
	assert_non_null(strstr(err.description, "refused"));
	assert_int_equal(parley_get(c, "no-slash", &status, NULL, NULL, &err), PARLEY_EINVAL);
	parley_client_free(c);
}


/* --- SHA-1, base64, UTF-8 ------------------------------------------------------ */

static void hex_of(const unsigned char *d, size_t n, char *out)
{
	for (size_t i = 0; i < n; i++)
		sprintf(out + 2 * i, "%02x", d[i]);
}

static void expect_sha1(const void *data, size_t len, const char *want)
{
	unsigned char d[PARLEY_SHA1_LEN];
	char hex[2 * PARLEY_SHA1_LEN + 1];

	parley_sha1(data, len, d);
	hex_of(d, sizeof(d), hex);
	assert_string_equal(hex, want);
}

static void test_sha1_base64(void **state)
{
	static const char *const b64[][2] = {{"", ""}, {"f", "Zg=="}, {"fo", "Zm8="}, {"foo", "Zm9v"},
					     {"foob", "Zm9vYg=="}, {"foobar", "Zm9vYmFy"}};
	const char *key = "dGhlIHNhbXBsZSBub25jZQ==" PARLEY_WS_GUID;
	unsigned char d[PARLEY_SHA1_LEN];
	char out[64], *million = malloc(1000000);

	expect_sha1("", 0, "da39a3ee5e6b4b0d3255bfef95601890afd80709");
	expect_sha1("abc", 3, "a9993e364706816aba3e25717850c26c9cd0d89d");
	expect_sha1("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", 56,
		    "84983e441c3bd26ebaae4aa1f95129e5e54670f1");
	assert_non_null(million);
	memset(million, 'a', 1000000);
	expect_sha1(million, 1000000, "34aa973cd4c4daa4f61eeb2bdbad27316534016f");
	free(million);
	for (size_t i = 0; i < sizeof(b64) / sizeof(b64[0]); i++) {
		assert_int_equal(parley_base64((const unsigned char *)b64[i][0], strlen(b64[i][0]), out, sizeof(out)),
				 strlen(b64[i][1]));
		assert_string_equal(out, b64[i][1]);
	}
	assert_int_equal(parley_base64((const unsigned char *)"foo", 3, out, 4), 0); /* no room for the NUL */
	/* The example of RFC 6455, section 1.3. */
	parley_sha1(key, strlen(key), d);
	parley_base64(d, sizeof(d), out, sizeof(out));
	assert_string_equal(out, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
}

static void test_utf8_valid(void **state)
{
	static const char *const bad[] = {"\x80", "\xC0\x80", "\xC1\xBF", "\xE0\x80\x80", "\xED\xA0\x80",
					  "\xF4\x90\x80\x80", "\xF5\x80\x80\x80", "\xE2\x82", "a\xFF", NULL};

	assert_true(parley_utf8_valid("", 0));
	assert_true(parley_utf8_valid("h\xC3\xA9llo \xE2\x82\xAC \xF0\x9F\x98\x80", 15));
	assert_true(parley_utf8_valid("a\0b", 3)); /* NUL is UTF-8 */
	assert_true(parley_utf8_valid("\xF4\x8F\xBF\xBF", 4)); /* U+10FFFF */
	for (const char *const *b = bad; *b; b++)
		assert_false(parley_utf8_valid(*b, strlen(*b)));
}

/* --- WebSocket frames ------------------------------------------------------------ */

/* Appends a server frame: first byte b0 (FIN, RSV, opcode), payload p[0..n),
 * masked with mask if not NULL (servers must not). */
static void srv_frame(struct parley_buf *b, int b0, const void *p, size_t n, const unsigned char *mask)
{
	unsigned char h[14];
	size_t hl = 0;

	h[hl++] = (unsigned char)b0;
	if (n < 126) {
		h[hl++] = (unsigned char)n;
	} else if (n <= 0xFFFF) {
		h[hl++] = 126;
		h[hl++] = (unsigned char)(n >> 8);
		h[hl++] = (unsigned char)n;
	} else {
		h[hl++] = 127;
		for (int i = 7; i >= 0; i--)
			h[hl++] = (unsigned char)((uint64_t)n >> (8 * i));
	}
	if (mask) {
		h[1] |= 0x80;
		memcpy(h + hl, mask, 4);
		hl += 4;
	}
	assert_int_equal(parley_buf_add(b, h, hl), 0);
	for (size_t i = 0; i < n; i++) {
		char ch = (char)(((const unsigned char *)p)[i] ^ (mask ? mask[i & 3] : 0));

		assert_int_equal(parley_buf_add(b, &ch, 1), 0);
	}
}

/* Decodes one masked client frame at p (n bytes): its opcode, FIN and
 * unmasked payload (NUL-terminated, cap bytes).  Returns the frame's length,
 * or 0 if p holds no complete masked frame. */
static size_t client_frame(const char *p, size_t n, int *op, int *fin, char *payload, size_t cap, size_t *plen)
{
	const unsigned char *u = (const unsigned char *)p;
	size_t h = 2, len;

	if (n < 2 || !(u[1] & 0x80))
		return 0;
	*op = u[0] & 0x0F;
	*fin = !!(u[0] & 0x80);
	len = u[1] & 0x7F;
	if (len == 126) {
		if (n < 4)
			return 0;
		len = (size_t)u[2] << 8 | u[3];
		h = 4;
	} else if (len == 127) {
		if (n < 10)
			return 0;
		len = 0;
		for (int i = 0; i < 8; i++)
			len = len << 8 | u[2 + i];
		h = 10;
	}
	if (n < h + 4 + len || len + 1 > cap)
		return 0;
	for (size_t i = 0; i < len; i++)
		payload[i] = (char)(u[h + 4 + i] ^ u[h + (i & 3)]);
	payload[len] = '\0';
	*plen = len;
	return h + 4 + len;
}

static void test_ws_frame_out(void **state)
{
	struct parley_buf b;
	char payload[70000], big[70000];
	size_t plen;
	int op, fin;

	parley_buf_init(&b, 1u << 20);
	assert_int_equal(parley_ws_frame(&b, PARLEY_WS_TEXT, "hi", 2), 0);
	assert_int_equal(b.len, 2 + 4 + 2);
	assert_int_equal((unsigned char)b.p[0], 0x81);
	assert_int_equal((unsigned char)b.p[1], 0x82);
	assert_int_equal(client_frame(b.p, b.len, &op, &fin, payload, sizeof(payload), &plen), 8);
	assert_int_equal(op, PARLEY_WS_TEXT);
	assert_string_equal(payload, "hi");
	b.len = 0;
	memset(big, 'x', sizeof(big));
	assert_int_equal(parley_ws_frame(&b, PARLEY_WS_TEXT, big, 126), 0);
	assert_int_equal((unsigned char)b.p[1], 0x80 | 126);
	assert_int_equal(b.len, 4 + 4 + 126);
	b.len = 0;
	assert_int_equal(parley_ws_frame(&b, PARLEY_WS_PING, big, 65536), 0);
	assert_int_equal((unsigned char)b.p[0], 0x89);
	assert_int_equal((unsigned char)b.p[1], 0x80 | 127);
	assert_int_equal(client_frame(b.p, b.len, &op, &fin, payload, sizeof(payload), &plen), 10 + 4 + 65536);
	assert_int_equal(plen, 65536);
	assert_memory_equal(payload, big, 65536);
	parley_buf_release(&b);
	parley_buf_init(&b, 10);
	assert_int_equal(parley_ws_frame(&b, PARLEY_WS_TEXT, big, 10), PARLEY_ETOOBIG);
	parley_buf_release(&b);
}

/* Feeds the bytes of frames into ws->in. */
static void ws_feed(struct parley_ws *ws, const struct parley_buf *frames)
{
	assert_int_equal(parley_buf_add(&ws->in, frames->p, frames->len), 0);
}

static void test_ws_parse_messages(void **state)
{
	struct parley_ws ws;
	struct parley_ws_msg m;
	struct parley_buf f;
	char payload[256], text[300];
	size_t plen;
	int op, fin;

	parley_ws_init(&ws);
	parley_buf_init(&f, 1u << 20);
	/* One frame; two messages in one read; an empty one. */
	srv_frame(&f, 0x81, "hello", 5, NULL);
	srv_frame(&f, 0x81, "second", 6, NULL);
	srv_frame(&f, 0x81, "", 0, NULL);
	ws_feed(&ws, &f);
	assert_int_equal(parley_ws_parse(&ws, &m), PARLEY_WS_MESSAGE);
	assert_int_equal(m.len, 5);
	assert_string_equal(m.data, "hello");
	assert_int_equal(parley_ws_parse(&ws, &m), PARLEY_WS_MESSAGE);
	assert_string_equal(m.data, "second");
	assert_int_equal(parley_ws_parse(&ws, &m), PARLEY_WS_MESSAGE);
	assert_int_equal(m.len, 0);
	assert_string_equal(m.data, "");
	assert_int_equal(parley_ws_parse(&ws, &m), PARLEY_WS_NEED);

	/* Fragments with control frames between them, a character split
	 * across two fragments; the ping is answered with a masked pong. */
	f.len = 0;
	srv_frame(&f, 0x01, "he", 2, NULL);
	srv_frame(&f, 0x89, "p1", 2, NULL);
	srv_frame(&f, 0x00, "llo w\xC3", 6, NULL);
	srv_frame(&f, 0x8A, "unasked pong", 12, NULL);
	srv_frame(&f, 0x80, "\xB6rld", 4, NULL);
	ws_feed(&ws, &f);
	assert_int_equal(parley_ws_parse(&ws, &m), PARLEY_WS_MESSAGE);
	assert_string_equal(m.data, "hello w\xC3\xB6rld");
	assert_int_equal(client_frame(ws.out.p, ws.out.len, &op, &fin, payload, sizeof(payload), &plen), ws.out.len);
	assert_int_equal(op, PARLEY_WS_PONG);
	assert_true(fin);
	assert_string_equal(payload, "p1");
	ws.out.len = 0;

	/* A 300-byte message (16-bit length) fed one byte at a time. */
	memset(text, 'z', sizeof(text));
	f.len = 0;
	srv_frame(&f, 0x81, text, sizeof(text), NULL);
	for (size_t i = 0; i < f.len; i++) {
		assert_int_equal(parley_buf_add(&ws.in, f.p + i, 1), 0);
		assert_int_equal(parley_ws_parse(&ws, &m), i + 1 < f.len ? PARLEY_WS_NEED : PARLEY_WS_MESSAGE);
	}
	assert_int_equal(m.len, sizeof(text));
	assert_memory_equal(m.data, text, sizeof(text));

	/* Exactly the named maximum passes. */
	ws.msg.max = 100;
	f.len = 0;
	srv_frame(&f, 0x01, text, 60, NULL);
	srv_frame(&f, 0x80, text, 40, NULL);
	ws_feed(&ws, &f);
	assert_int_equal(parley_ws_parse(&ws, &m), PARLEY_WS_MESSAGE);
	assert_int_equal(m.len, 100);

	/* The close frame: its code and reason; then an empty one. */
	f.len = 0;
	srv_frame(&f, 0x88, "\x03\xE9going away", 12, NULL);
	ws_feed(&ws, &f);
	assert_int_equal(parley_ws_parse(&ws, &m), PARLEY_WS_CLOSED);
	assert_int_equal(ws.peer_code, 1001);
	assert_string_equal(ws.peer_reason, "going away");
	f.len = 0;
	srv_frame(&f, 0x88, "", 0, NULL);
	ws_feed(&ws, &f);
	assert_int_equal(parley_ws_parse(&ws, &m), PARLEY_WS_CLOSED);
	assert_int_equal(ws.peer_code, 1005);
	parley_buf_release(&f);
	parley_ws_release(&ws);
}

static void test_ws_parse_errors(void **state)
{
	static const unsigned char mask[4] = {1, 2, 3, 4};
	static const struct {
		const char *bytes;
		size_t n;
		int code;
	} cases[] = {
		{"\xC1\x00", 2, 1002},                 /* RSV1 without an extension */
		{"\xA1\x00", 2, 1002},                 /* RSV2 */
		{"\x83\x00", 2, 1002},                 /* opcode 3 */
		{"\x8B\x00", 2, 1002},                 /* opcode 0xB */
		{"\x80\x00", 2, 1002},                 /* a continuation of nothing */
		{"\x01\x00\x81\x00", 4, 1002},         /* a new message inside a fragmented one */
		{"\x09\x00", 2, 1002},                 /* a fragmented ping */
		{"\x89\x7E\x00\x7E", 4, 1002},         /* a 126-byte ping */
		{"\x82\x01x", 3, 1003},                /* binary */
		{"\x81\x02\xC0\x80", 4, 1007},         /* overlong UTF-8 */
		{"\x01\x01\xE2\x80\x01\x82", 6, 1007}, /* a character cut short at the end */
		{"\x88\x01\x03", 3, 1002},             /* a close frame of one byte */
		{"\x88\x02\x03\xED", 4, 1002},         /* close code 1005 on the wire */
		{"\x88\x02\x0B\xB8", 4, 1002},         /* close code 3000 is fine... */
		{"\x88\x02\x03\xE7", 4, 1002},         /* ...999 is not */
		{"\x88\x04\x03\xE8\xC0\x80", 6, 1007}, /* a reason that is not UTF-8 */
		{"\x81\x7F\x80\x00\x00\x00\x00\x00\x00\x00", 10, 1002}, /* a 64-bit length with the top bit */
		{"\x81\x7E\x00\x65", 4, 1009},         /* 101 bytes announced, past the maximum of 100 */
		{"\x01\x32" "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" "\x80\x33", 54, 1009},
	};
	struct parley_ws ws;
	struct parley_ws_msg m;
	struct parley_buf f;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int rc;

		parley_ws_init(&ws);
		ws.msg.max = 100;
		assert_int_equal(parley_buf_add(&ws.in, cases[i].bytes, cases[i].n), 0);
		rc = parley_ws_parse(&ws, &m);
		if (i == 13) { /* 3000 is a valid code */
			assert_int_equal(rc, PARLEY_WS_CLOSED);
			assert_int_equal(ws.peer_code, 3000);
			parley_ws_release(&ws);
			continue;
		}
		if (ws.fail_code != cases[i].code)
			print_error("case %zu: rc %d, close code %d, wanted %d\n", i, rc, ws.fail_code, cases[i].code);
		assert_int_equal(ws.fail_code, cases[i].code);
		assert_int_equal(rc, cases[i].code == 1009 ? PARLEY_ETOOBIG : PARLEY_EPROTO);
		assert_true(parley_ws_parse(&ws, &m) < 0); /* it stays failed */
		parley_ws_release(&ws);
	}
	/* A masked server frame. */
	parley_ws_init(&ws);
	parley_buf_init(&f, 256);
	srv_frame(&f, 0x81, "hi", 2, mask);
	ws_feed(&ws, &f);
	assert_int_equal(parley_ws_parse(&ws, &m), PARLEY_EPROTO);
	assert_int_equal(ws.fail_code, 1002);
	parley_buf_release(&f);
	parley_ws_release(&ws);
}

/* --- a scripted WebSocket server ------------------------------------------------------ */

#define WSM_BUF (1u << 20)

enum wsm_mode {
	WSM_ECHO = 0,     /* 101, a ready event, echo one message, then close 1000 */
	WSM_BAD_ACCEPT,   /* 101 with a wrong Sec-WebSocket-Accept */
	WSM_REFUSE,       /* 401 with a Parley error envelope */
	WSM_SYNC,         /* a tiny Parley: getDifference/getState over a scripted log */
};

struct wsm {
	int lfd, port, mode;
	char request[2048];       /* the head of the last upgrade request */
	int client_close_code;    /* the code of the client's close frame, -1 if none */
	int accepts;
	/* WSM_SYNC */
	int committed;            /* rows 1..committed exist */
	int calls_diff, calls_state;
	pthread_t thread;
};

static void wsm_send(int fd, const struct parley_buf *b)
{
	size_t off = 0;

	while (off < b->len) {
		ssize_t n = send(fd, b->p + off, b->len - off, MSG_NOSIGNAL);

		if (n <= 0)
			return;
		off += (size_t)n;
	}
}

static void wsm_text(int fd, const char *text)
{
	struct parley_buf b;

	parley_buf_init(&b, WSM_BUF);
	srv_frame(&b, 0x81, text, strlen(text), NULL);
	wsm_send(fd, &b);
	parley_buf_release(&b);
}

/* Reads the upgrade request and answers it.  Returns 0 if the connection is
 * now a WebSocket. */
static int wsm_handshake(struct wsm *w, int fd)
{
	char req[2048], both[128], accept[64], reply[512];
	unsigned char d[PARLEY_SHA1_LEN];
	size_t n = 0;
	const char *k;

	req[0] = '\0';
	while (!strstr(req, "\r\n\r\n")) {
		ssize_t r = recv(fd, req + n, sizeof(req) - n - 1, 0);

		if (r <= 0)
			return -1;
		n += (size_t)r;
		req[n] = '\0';
	}
	snprintf(w->request, sizeof(w->request), "%s", req);
	if (w->mode == WSM_REFUSE) {
		static const char body[] = "{\"ok\":false,\"error_code\":401,\"description\":\"UNAUTHORIZED: bad token\"}";

		snprintf(reply, sizeof(reply), "HTTP/1.1 401 Unauthorized\r\nContent-Length: %zu\r\n\r\n%s",
			 sizeof(body) - 1, body);
		(void)!send(fd, reply, strlen(reply), MSG_NOSIGNAL);
		return -1;
	}
	k = strstr(req, "Sec-WebSocket-Key: ");
	if (!k)
		return -1;
	k += 19;
	snprintf(both, sizeof(both), "%.*s%s", (int)strcspn(k, "\r"), k, PARLEY_WS_GUID);
	parley_sha1(both, strlen(both), d);
	parley_base64(d, sizeof(d), accept, sizeof(accept));
	if (w->mode == WSM_BAD_ACCEPT)
		accept[0] = accept[0] == 'A' ? 'B' : 'A';
	snprintf(reply, sizeof(reply),
		 "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
		 "Sec-WebSocket-Accept: %s\r\n\r\n",
		 accept);
	(void)!send(fd, reply, strlen(reply), MSG_NOSIGNAL);
	return 0;
}

/* Reads one client frame into payload.  Returns its opcode or -1. */
static int wsm_read(int fd, struct parley_buf *in, char *payload, size_t cap)
{
	size_t plen, used;
	int op, fin;

	for (;;) {
		used = in->len ? client_frame(in->p, in->len, &op, &fin, payload, cap, &plen) : 0;
		if (used) {
			parley_buf_consume(in, used);
			return op;
		}
		if (parley_buf_reserve(in, 4096) < 0)
			return -1;
		ssize_t r = recv(fd, in->p + in->len, 4096, 0);
		if (r <= 0)
			return -1;
		in->len += (size_t)r;
	}
}

static void wsm_row(struct parley_buf *b, int pts)
{
	parley_buf_addf(b, "{\"pts\":%d,\"update\":{\"type\":\"new_message\",\"message\":{\"message_id\":%d}}}", pts,
			pts);
}

/* Pushes rows in list (ends at 0). */
static void wsm_push(int fd, const int *list)
{
	struct parley_buf b;

	parley_buf_init(&b, WSM_BUF);
	for (; *list; list++) {
		b.len = 0;
		wsm_row(&b, *list);
		wsm_text(fd, b.p);
	}
	parley_buf_release(&b);
}

/* Answers one call of the WSM_SYNC script. */
static void wsm_answer(struct wsm *w, int fd, json_t *call, int connection)
{
	const char *method = json_string_value(json_object_get(call, "method"));
	json_int_t id = json_integer_value(json_object_get(call, "id"));
	json_t *params = json_object_get(call, "params");
	struct parley_buf b;

	parley_buf_init(&b, WSM_BUF);
	if (strcmp(method, "getDifference") == 0) {
		int from = (int)json_integer_value(json_object_get(params, "pts"));
		int limit = (int)json_integer_value(json_object_get(params, "limit")), last = from;

		w->calls_diff++;
		parley_buf_addf(&b, "{\"id\":%lld,\"ok\":true,\"result\":{\"updates\":[", (long long)id);
		for (int p = from + 1; p <= w->committed && p <= from + limit; p++) {
			if (p > from + 1)
				parley_buf_adds(&b, ",");
			wsm_row(&b, p);
			last = p;
		}
		parley_buf_addf(&b, "],\"state\":{\"pts\":%d},\"more\":%s}}", last, last < w->committed ? "true" : "false");
		wsm_text(fd, b.p);
	} else if (strcmp(method, "getState") == 0) {
		w->calls_state++;
		parley_buf_addf(&b, "{\"id\":%lld,\"ok\":true,\"result\":{\"pts\":%d,\"date\":1,\"chats\":[]}}", (long long)id,
				w->committed);
		wsm_text(fd, b.p);
		if (connection == 1 && w->calls_state == 1) {
			/* Live: 4 and 5 in order, 5 again, 7 without 6 (a gap the
			 * client must fill with getDifference), 8, an event. */
			static const int pushes[] = {4, 5, 5, 7, 8, 0};

			w->committed = 10;
			wsm_push(fd, pushes);
			wsm_text(fd, "{\"event\":\"typing\",\"chat_id\":5,\"user_id\":5,\"action\":\"typing\"}");
		}
	} else {
		parley_buf_addf(&b, "{\"id\":%lld,\"ok\":false,\"error_code\":404,\"description\":\"METHOD_NOT_FOUND: no\"}",
				(long long)id);
		wsm_text(fd, b.p);
	}
	parley_buf_release(&b);
}

static void *wsm_main(void *arg)
{
	struct wsm *w = arg;
	char *payload = malloc(WSM_BUF);
	struct parley_buf in;
	int fd, op;

	parley_buf_init(&in, WSM_BUF);
	for (int connection = 1; payload && connection <= (w->mode == WSM_SYNC ? 2 : 1); connection++) {
		if ((fd = accept(w->lfd, NULL, NULL)) < 0)
			break;
		w->accepts++;
		in.len = 0;
		if (wsm_handshake(w, fd) < 0) {
			close(fd);
			continue;
		}
		if (w->mode == WSM_BAD_ACCEPT) {
			close(fd);
			continue;
		}
		wsm_text(fd, "{\"event\":\"ready\",\"user_id\":9,\"session_id\":3}");
		while ((op = wsm_read(fd, &in, payload, WSM_BUF)) >= 0) {
			if (op == PARLEY_WS_CLOSE) {
				w->client_close_code = (unsigned char)payload[0] << 8 | (unsigned char)payload[1];
				break;
			}
			if (w->mode == WSM_ECHO) {
				static const unsigned char close1000[] = {0x88, 0x02, 0x03, 0xE8};

				wsm_text(fd, payload);
				(void)!send(fd, close1000, sizeof(close1000), MSG_NOSIGNAL);
				continue; /* the client answers with its close frame */
			}
			json_t *call = json_loads(payload, 0, NULL);

			if (call)
				wsm_answer(w, fd, call, connection);
			json_decref(call);
			if (connection == 1 && w->calls_diff == 2) {
				/* The difference filled the gap; push what the client
				 * has, then "restart": close 1000. */
				static const int again[] = {9, 10, 0};
				static const unsigned char close1000[] = {0x88, 0x02, 0x03, 0xE8};

				wsm_push(fd, again);
				(void)!send(fd, close1000, sizeof(close1000), MSG_NOSIGNAL);
				w->committed = 11; /* committed while the client is away */
			}
		}
		close(fd);
	}
	parley_buf_release(&in);
	free(payload);
	return NULL;
}

static struct wsm *wsm_start(int mode)
{
	struct wsm *w = calloc(1, sizeof(*w));
	struct sockaddr_in sa;
	socklen_t slen = sizeof(sa);

	assert_non_null(w);
	w->mode = mode;
	w->client_close_code = -1;
	w->committed = 3;
	w->lfd = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(w->lfd >= 0);
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(w->lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(w->lfd, 8), 0);
	assert_int_equal(getsockname(w->lfd, (struct sockaddr *)&sa, &slen), 0);
	w->port = ntohs(sa.sin_port);
	assert_int_equal(pthread_create(&w->thread, NULL, wsm_main, w), 0);
	return w;
}

static void wsm_finish(struct wsm *w)
{
	pthread_join(w->thread, NULL);
	close(w->lfd);
	free(w);
}

static void test_ws_handshake(void **state)
{
	struct wsm *w = wsm_start(WSM_ECHO);
	struct parley_error err;
	struct parley_ws_msg m;
	struct parley_ws ws;
	struct parley_url u;
	char url[128];

	snprintf(url, sizeof(url), "http://127.0.0.1:%d/pre", w->port);
	assert_int_equal(parley_url_parse(url, &u, NULL, 0), 0);
	parley_ws_init(&ws);
	assert_int_equal(parley_ws_connect(&ws, &u, url, "tok42", parley_now_ms() + 5000, &err), 0);
	assert_non_null(strstr(w->request, "GET /pre/api/ws HTTP/1.1\r\n"));
	assert_non_null(strstr(w->request, "\r\nUpgrade: websocket\r\n"));
	assert_non_null(strstr(w->request, "\r\nConnection: Upgrade\r\n"));
	assert_non_null(strstr(w->request, "\r\nSec-WebSocket-Version: 13\r\n"));
	assert_non_null(strstr(w->request, "\r\nAuthorization: Bearer tok42\r\n"));
	assert_int_equal(parley_ws_read(&ws, parley_now_ms() + 5000, &m, &err), 0);
	assert_string_equal(m.data, "{\"event\":\"ready\",\"user_id\":9,\"session_id\":3}");
	assert_int_equal(parley_ws_send_text(&ws, "echo me", 7, parley_now_ms() + 5000, &err), 0);
	assert_int_equal(parley_ws_read(&ws, parley_now_ms() + 5000, &m, &err), 0);
	assert_string_equal(m.data, "echo me");
	/* The server closes with 1000: answered, then the socket is gone. */
	assert_int_equal(parley_ws_read(&ws, parley_now_ms() + 5000, &m, &err), PARLEY_ENETWORK);
	assert_int_equal(ws.peer_code, 1000);
	assert_int_equal(ws.fd, -1);
	parley_ws_release(&ws);
	wsm_finish(w);

	w = wsm_start(WSM_BAD_ACCEPT);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d", w->port);
	assert_int_equal(parley_url_parse(url, &u, NULL, 0), 0);
	parley_ws_init(&ws);
	assert_int_equal(parley_ws_connect(&ws, &u, url, NULL, parley_now_ms() + 5000, &err), PARLEY_EPROTO);
	assert_non_null(strstr(err.description, "Sec-WebSocket-Accept"));
	assert_null(strstr(w->request, "Authorization"));
	parley_ws_release(&ws);
	wsm_finish(w);

	w = wsm_start(WSM_REFUSE);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d", w->port);
	assert_int_equal(parley_url_parse(url, &u, NULL, 0), 0);
	parley_ws_init(&ws);
	assert_int_equal(parley_ws_connect(&ws, &u, url, "x", parley_now_ms() + 5000, &err), PARLEY_EAPI);
	assert_int_equal(err.http_status, 401);
	assert_string_equal(err.code, "UNAUTHORIZED");
	parley_ws_release(&ws);
	wsm_finish(w);
}

/* --- the sync rules ------------------------------------------------------------------- */

/* What the handlers saw, as text: "1 2 -100:5 R0:50 ". */
struct seen {
	char log[4096];
	int n;
};

static void seen_update(void *ctx, const json_t *row)
{
	struct seen *s = ctx;
	json_t *chat = json_object_get(row, "chat_id");
	size_t len = strlen(s->log);

	if (chat)
		snprintf(s->log + len, sizeof(s->log) - len, "%lld:%lld ", (long long)json_integer_value(chat),
			 (long long)json_integer_value(json_object_get(row, "pts")));
	else
		snprintf(s->log + len, sizeof(s->log) - len, "%lld ",
			 (long long)json_integer_value(json_object_get(row, "pts")));
	s->n++;
}

static void seen_reload(void *ctx, int64_t chat_id, int64_t pts)
{
	struct seen *s = ctx;
	size_t len = strlen(s->log);

	snprintf(s->log + len, sizeof(s->log) - len, "R%lld:%lld ", (long long)chat_id, (long long)pts);
}

static struct parley_sync *sync_new(const struct parley_state *start, struct seen *seen)
{
	struct parley_sync *s = malloc(sizeof(*s));

	assert_non_null(s);
	parley_sync_init(s, start);
	s->update = seen_update;
	s->reload = seen_reload;
	s->ctx = seen;
	memset(seen, 0, sizeof(*seen));
	return s;
}

static void sync_free(struct parley_sync *s)
{
	parley_sync_release(s);
	free(s);
}

static json_t *urow(int pts, const char *update)
{
	json_t *r = json_pack("{s:i, s:o}", "pts", pts,
			      "update", update ? json_loads(update, 0, NULL) : json_pack("{s:s}", "type", "new_message"));

	assert_non_null(r);
	return r;
}

static json_t *crow(int chat, int pts)
{
	json_t *r = json_pack("{s:i, s:i, s:{s:s}}", "chat_id", chat, "pts", pts, "update", "type", "new_message");

	assert_non_null(r);
	return r;
}

/* Pushes a row (stolen) and checks the result. */
static void push(struct parley_sync *s, json_t *row, int want)
{
	int rc = parley_sync_push(s, row);

	json_decref(row);
	assert_int_equal(rc, want);
}

/* Applies a difference given as JSON text; returns its result. */
static int diff(struct parley_sync *s, int64_t chat_id, const char *text)
{
	json_t *r = json_loads(text, 0, NULL);
	int rc;

	assert_non_null(r);
	rc = parley_sync_difference(s, chat_id, r);
	json_decref(r);
	return rc;
}

static void state_reply(struct parley_sync *s, const char *text)
{
	json_t *r = json_loads(text, 0, NULL);

	assert_non_null(r);
	assert_int_equal(parley_sync_state_reply(s, r), 0);
	json_decref(r);
}

static void test_sync_order_and_gaps(void **state)
{
	struct parley_state *start = calloc(1, sizeof(*start));
	struct seen seen;
	struct parley_sync *s;

	assert_non_null(start);
	s = sync_new(start, &seen);
	assert_ptr_equal(parley_sync_next_diff(s), &s->user); /* a catch-up is due first */
	assert_int_equal(diff(s, 0, "{\"updates\":[],\"state\":{\"pts\":0},\"more\":false}"), 0);
	assert_null(parley_sync_next_diff(s));
	push(s, urow(1, NULL), PARLEY_SYNC_APPLIED);
	push(s, urow(2, NULL), PARLEY_SYNC_APPLIED);
	push(s, urow(2, NULL), PARLEY_SYNC_DROPPED);
	push(s, urow(1, NULL), PARLEY_SYNC_DROPPED);
	push(s, urow(5, NULL), PARLEY_SYNC_HELD);
	assert_ptr_equal(parley_sync_next_diff(s), &s->user); /* the gap */
	push(s, urow(4, NULL), PARLEY_SYNC_HELD);
	push(s, urow(5, NULL), PARLEY_SYNC_HELD); /* held once */
	assert_int_equal(json_array_size(s->user.held), 2);
	push(s, urow(3, NULL), PARLEY_SYNC_APPLIED); /* and 4 and 5 follow */
	assert_string_equal(seen.log, "1 2 3 4 5 ");
	assert_null(s->user.held);
	assert_null(parley_sync_next_diff(s)); /* the gap closed by itself */

	/* The difference overlaps what was pushed and fills a gap. */
	push(s, urow(8, NULL), PARLEY_SYNC_HELD);
	assert_int_equal(diff(s, 0, "{\"updates\":[{\"pts\":5,\"update\":{}},{\"pts\":6,\"update\":{}}],"
				    "\"state\":{\"pts\":6},\"more\":true}"),
			 1);
	assert_ptr_equal(parley_sync_next_diff(s), &s->user);
	assert_int_equal(diff(s, 0, "{\"updates\":[{\"pts\":7,\"update\":{}},{\"pts\":8,\"update\":{}}],"
				    "\"state\":{\"pts\":8},\"more\":false}"),
			 0);
	assert_string_equal(seen.log, "1 2 3 4 5 6 7 8 ");
	assert_null(parley_sync_next_diff(s));
	assert_int_equal(s->user.pts, 8);

	/* Rows that are not updates. */
	push(s, json_pack("{s:i}", "pts", 9), PARLEY_EPROTO);
	push(s, json_pack("{s:s, s:{}}", "pts", "9", "update"), PARLEY_EPROTO);
	push(s, json_pack("{s:i, s:{}}", "pts", 0, "update"), PARLEY_EPROTO);
	assert_int_equal(diff(s, 0, "{\"updates\":[{\"pts\":9}],\"state\":{\"pts\":9},\"more\":false}"), PARLEY_EPROTO);
	assert_int_equal(diff(s, 0, "{\"updates\":[]}"), PARLEY_EPROTO);
	assert_int_equal(seen.n, 8);
	sync_free(s);
	free(start);
}

static void test_sync_reload_and_server_behind(void **state)
{
	struct parley_state *start = calloc(1, sizeof(*start));
	struct seen seen;
	struct parley_sync *s;

	assert_non_null(start);
	start->pts = 10;
	s = sync_new(start, &seen);
	/* Too old: the server says reload. */
	assert_int_equal(diff(s, 0, "{\"reload\":true,\"state\":{\"pts\":50}}"), 0);
	assert_int_equal(s->user.pts, 50);
	assert_true(s->need_state);
	push(s, urow(51, NULL), PARLEY_SYNC_APPLIED);
	/* The server is behind us (restored from a backup). */
	assert_int_equal(diff(s, 0, "{\"updates\":[],\"state\":{\"pts\":20},\"more\":false}"), 0);
	assert_int_equal(s->user.pts, 20);
	push(s, urow(21, NULL), PARLEY_SYNC_APPLIED);
	/* A log with a hole: the difference says it has nothing at 22. */
	push(s, urow(24, NULL), PARLEY_SYNC_HELD);
	assert_int_equal(diff(s, 0, "{\"updates\":[{\"pts\":23,\"update\":{}}],\"state\":{\"pts\":24},\"more\":false}"),
			 0);
	assert_int_equal(s->user.pts, 24);
	assert_string_equal(seen.log, "R0:50 51 R0:20 21 23 24 ");
	assert_null(parley_sync_next_diff(s));
	sync_free(s);
	free(start);
}

static void test_sync_start_now(void **state)
{
	struct seen seen;
	struct parley_sync *s = sync_new(NULL, &seen);
	struct parley_state *out = malloc(sizeof(*out));

	assert_non_null(out);
	assert_null(parley_sync_next_diff(s)); /* no pts yet: getState first */
	push(s, urow(3, NULL), PARLEY_SYNC_HELD);
	push(s, urow(7, NULL), PARLEY_SYNC_HELD);
	parley_sync_state(s, out);
	assert_int_equal(out->pts, PARLEY_SYNC_UNKNOWN);
	state_reply(s, "{\"pts\":6,\"date\":1,\"chats\":[{\"chat_id\":-40,\"pts\":12}]}");
	assert_string_equal(seen.log, "7 "); /* 3 is in the past */
	push(s, urow(6, NULL), PARLEY_SYNC_DROPPED);
	parley_sync_state(s, out);
	assert_int_equal(out->pts, 7);
	assert_int_equal(out->nchats, 1);
	assert_int_equal(out->chats[0].chat_id, -40);
	assert_int_equal(out->chats[0].pts, 12); /* from now on, not from the start */
	sync_free(s);
	free(out);
}

static void test_sync_chats(void **state)
{
	struct parley_state *st = calloc(1, sizeof(*st));
	struct seen seen;
	struct parley_sync *s;

	assert_non_null(st);
	st->user_id = 9;
	s = sync_new(st, &seen);
	assert_int_equal(diff(s, 0, "{\"updates\":[],\"state\":{\"pts\":0},\"more\":false}"), 0);
	/* From the very start: chats the first getState names start at 0. */
	state_reply(s, "{\"pts\":0,\"chats\":[{\"chat_id\":-7,\"pts\":3}]}");
	assert_int_equal(s->nchats, 1);
	assert_int_equal(s->chats[0].pts, 0);
	assert_int_equal(diff(s, -7, "{\"updates\":[{\"chat_id\":-7,\"pts\":1,\"update\":{}}],\"state\":{\"pts\":1},"
				     "\"more\":false}"),
			 0);
	/* A chat difference must not carry another chat's rows. */
	assert_int_equal(diff(s, -7, "{\"updates\":[{\"chat_id\":-8,\"pts\":2,\"update\":{}}],\"state\":{\"pts\":2},"
				     "\"more\":false}"),
			 PARLEY_EPROTO);
	/* A group turns large: follow its sequence from the given pts. */
	push(s, urow(1, "{\"type\":\"chat_large\",\"chat_id\":-100,\"pts\":4}"), PARLEY_SYNC_APPLIED);
	push(s, crow(-100, 5), PARLEY_SYNC_APPLIED);
	push(s, crow(-100, 5), PARLEY_SYNC_DROPPED);
	push(s, crow(-100, 4), PARLEY_SYNC_DROPPED);
	/* Rows of a chat we have not heard of: held until getState says where
	 * it starts, no later than the first of them. */
	push(s, crow(-200, 3), PARLEY_SYNC_HELD);
	push(s, crow(-300, 1), PARLEY_SYNC_HELD);
	assert_true(s->need_state);
	state_reply(s, "{\"pts\":1,\"chats\":[{\"chat_id\":-7,\"pts\":1},{\"chat_id\":-100,\"pts\":5},"
		       "{\"chat_id\":-200,\"pts\":7}]}");
	assert_false(s->need_state);
	assert_int_equal(s->nchats, 3); /* -300 is not ours: dropped */
	assert_string_equal(seen.log, "-7:1 1 -100:5 -200:3 ");
	assert_ptr_equal(parley_sync_next_diff(s)->chat_id, -100); /* chats still owe their catch-up */
	/* Somebody else leaves: nothing changes.  We leave -100: unfollowed,
	 * and its stray pushes are ignored. */
	push(s, urow(2, "{\"type\":\"chat_member\",\"chat_id\":-100,\"user\":{\"id\":5},\"status\":\"left\"}"),
	     PARLEY_SYNC_APPLIED);
	assert_int_equal(s->nchats, 3);
	push(s, urow(3, "{\"type\":\"chat_member\",\"chat_id\":-100,\"user\":{\"id\":9},\"status\":\"kicked\"}"),
	     PARLEY_SYNC_APPLIED);
	assert_int_equal(s->nchats, 2);
	assert_null(sync_chat(s, -100));
	push(s, crow(-100, 6), PARLEY_SYNC_DROPPED);
	assert_false(s->need_state);
	/* Joining a chat asks getState whether it is large. */
	push(s, urow(4, "{\"type\":\"chat_member\",\"chat_id\":-100,\"user\":{\"id\":9},\"status\":\"member\"}"),
	     PARLEY_SYNC_APPLIED);
	assert_true(s->need_state);
	push(s, crow(-100, 9), PARLEY_SYNC_HELD);
	state_reply(s, "{\"pts\":4,\"chats\":[{\"chat_id\":-7,\"pts\":1},{\"chat_id\":-100,\"pts\":9},"
		       "{\"chat_id\":-200,\"pts\":7}]}");
	assert_int_equal(sync_chat(s, -100)->pts, 9); /* started at 8, then 9 applied */
	parley_sync_state(s, st);
	assert_int_equal(st->user_id, 9);
	assert_int_equal(st->pts, 4);
	assert_int_equal(st->nchats, 3);
	/* A chat that is not ours any more. */
	parley_sync_unfollow(s, -200);
	assert_int_equal(s->nchats, 2);
	assert_string_equal(seen.log, "-7:1 1 -100:5 -200:3 2 3 4 -100:9 ");
	/* getState ahead of the user sequence: its chat list is not used until
	 * the user sequence caught up, so the chat_large on the way decides
	 * where the chat starts, not getState's "now". */
	assert_int_equal(diff(s, 0, "{\"updates\":[],\"state\":{\"pts\":4},\"more\":false}"), 0);
	push(s, urow(5, "{\"type\":\"chat_member\",\"chat_id\":-500,\"user\":{\"id\":9},\"status\":\"member\"}"),
	     PARLEY_SYNC_APPLIED);
	state_reply(s, "{\"pts\":7,\"chats\":[{\"chat_id\":-7,\"pts\":1},{\"chat_id\":-100,\"pts\":9},"
		       "{\"chat_id\":-500,\"pts\":30}]}");
	assert_true(s->need_state);
	assert_null(sync_chat(s, -500));
	assert_ptr_equal(parley_sync_next_diff(s), &s->user);
	assert_int_equal(diff(s, 0, "{\"updates\":[{\"pts\":6,\"update\":{\"type\":\"chat_large\",\"chat_id\":-500,"
				    "\"pts\":12}},{\"pts\":7,\"update\":{}}],\"state\":{\"pts\":7},\"more\":false}"),
			 0);
	state_reply(s, "{\"pts\":7,\"chats\":[{\"chat_id\":-7,\"pts\":1},{\"chat_id\":-100,\"pts\":9},"
		       "{\"chat_id\":-500,\"pts\":30}]}");
	assert_false(s->need_state);
	assert_int_equal(sync_chat(s, -500)->pts, 12);
	/* An answer that stays ahead is taken after a few tries. */
	s->need_state = 1;
	for (int i = 0; i < PARLEY_SYNC_STATE_TRIES; i++) {
		state_reply(s, "{\"pts\":99,\"chats\":[]}");
		assert_true(s->need_state);
	}
	state_reply(s, "{\"pts\":99,\"chats\":[]}");
	assert_false(s->need_state);
	sync_free(s);
	free(st);
}

static void test_sync_held_limit(void **state)
{
	struct parley_state *st = calloc(1, sizeof(*st));
	struct seen seen;
	struct parley_sync *s;

	assert_non_null(st);
	s = sync_new(st, &seen);
	s->user.need_diff = 0;
	for (int p = 3; p < 3 + PARLEY_SYNC_HELD_MAX; p++)
		push(s, urow(p, NULL), PARLEY_SYNC_HELD);
	assert_int_equal(json_array_size(s->user.held), PARLEY_SYNC_HELD_MAX);
	push(s, urow(3 + PARLEY_SYNC_HELD_MAX, NULL), PARLEY_SYNC_HELD); /* one too many: all dropped */
	assert_null(s->user.held);
	assert_true(s->user.need_diff);
	push(s, urow(1, NULL), PARLEY_SYNC_APPLIED);
	assert_int_equal(seen.n, 1);
	sync_free(s);
	free(st);
}

static void test_state_file(void **state)
{
	char dir[] = "/tmp/parley-state-XXXXXX", path[256], errbuf[256], cmd[300];
	struct parley_state *in = calloc(1, sizeof(*in)), *out = calloc(1, sizeof(*out));
	int found = -1;
	FILE *f;

	assert_non_null(in);
	assert_non_null(out);
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/state", dir);
	assert_int_equal(parley_state_load(path, out, &found, errbuf, sizeof(errbuf)), 0);
	assert_int_equal(found, 0);
	assert_int_equal(out->pts, 0);

	in->user_id = 77;
	in->pts = 123456789012LL;
	in->nchats = 2;
	in->chats[0].chat_id = -5;
	in->chats[0].pts = 9;
	in->chats[1].chat_id = -1000001;
	in->chats[1].pts = 0;
	snprintf(in->app, sizeof(in->app), "out=1:2:3 and = more");
	assert_int_equal(parley_state_save(path, in, errbuf, sizeof(errbuf)), 0);
	assert_int_equal(parley_state_load(path, out, &found, errbuf, sizeof(errbuf)), 0);
	assert_int_equal(found, 1);
	assert_int_equal(out->user_id, 77);
	assert_int_equal(out->pts, 123456789012LL);
	assert_int_equal(out->nchats, 2);
	assert_int_equal(out->chats[1].chat_id, -1000001);
	assert_string_equal(out->app, "out=1:2:3 and = more");

	snprintf(in->app, sizeof(in->app), "two\nlines");
	assert_int_equal(parley_state_save(path, in, errbuf, sizeof(errbuf)), PARLEY_EINVAL);

	f = fopen(path, "w");
	assert_non_null(f);
	fputs("version=2\npts=1\n", f);
	fclose(f);
	assert_int_equal(parley_state_load(path, out, &found, errbuf, sizeof(errbuf)), PARLEY_EINVAL);
	assert_non_null(strstr(errbuf, "newer"));
	f = fopen(path, "w");
	assert_non_null(f);
	fputs("version=1\npts=x\n", f);
	fclose(f);
	assert_int_equal(parley_state_load(path, out, &found, errbuf, sizeof(errbuf)), PARLEY_EINVAL);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs("pts=1\n", f);
	fclose(f);
	assert_int_equal(parley_state_load(path, out, &found, errbuf, sizeof(errbuf)), PARLEY_EINVAL);
	assert_int_equal(found, 0);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
	free(in);
	free(out);
}

/* --- the connection against the scripted server ---------------------------------------- */

struct conn_seen {
	struct seen seen;
	int events, batches, ups, downs;
	int64_t last_batch_pts;
};

static void cs_update(void *ctx, const json_t *row)
{
	seen_update(&((struct conn_seen *)ctx)->seen, row);
}

static void cs_event(void *ctx, const json_t *ev)
{
	((struct conn_seen *)ctx)->events++;
}

static void cs_batch(void *ctx, const struct parley_state *st)
{
	struct conn_seen *cs = ctx;

	cs->batches++;
	cs->last_batch_pts = st->pts;
}

static void cs_status(void *ctx, int connected, const struct parley_error *why)
{
	struct conn_seen *cs = ctx;

	if (connected)
		cs->ups++;
	else
		cs->downs++;
}

static void test_conn_scripted(void **state)
{
	const struct parley_conn_handlers h = {cs_update, cs_event, NULL, cs_batch, cs_status};
	struct wsm *w = wsm_start(WSM_SYNC);
	struct parley_state *st = calloc(1, sizeof(*st));
	struct conn_seen cs;
	struct parley_conn *c;
	struct parley_error err;
	json_t *res = NULL;
	char url[64], errbuf[128];
	time_t start = time(NULL);

	assert_non_null(st);
	memset(&cs, 0, sizeof(cs));
	snprintf(url, sizeof(url), "http://127.0.0.1:%d", w->port);
	assert_null(parley_conn_new(url, "bad token", st, errbuf, sizeof(errbuf)));
	assert_null(parley_conn_new(url, NULL, st, errbuf, sizeof(errbuf)));
	c = parley_conn_new(url, "tok", st, errbuf, sizeof(errbuf));
	assert_non_null(c);
	parley_conn_set_handlers(c, &h, &cs);
	parley_conn_set_timeout_ms(c, 5000);
	while (cs.seen.n < 11 && time(NULL) - start < 10)
		assert_int_equal(parley_conn_run(c, 100), 0);
	/* 1-3 from the first difference, 4-5 pushed (5 twice), 6 fetched for
	 * the gap before 7, 9-10 pushed again after the difference, 11 fetched
	 * after the reconnect: each once, in order. */
	assert_string_equal(cs.seen.log, "1 2 3 4 5 6 7 8 9 10 11 ");
	assert_int_equal(cs.events, 1);
	assert_int_equal(parley_conn_connects(c), 2);
	assert_int_equal(cs.ups, 2);
	assert_true(cs.downs >= 1);
	assert_int_equal(cs.last_batch_pts, 11);
	parley_conn_state(c, st);
	assert_int_equal(st->pts, 11);
	assert_int_equal(st->user_id, 9);
	assert_int_equal(w->calls_diff, 3);
	/* A call over the socket; an unknown method is the server's error. */
	while (!parley_conn_synced(c) && time(NULL) - start < 10)
		assert_int_equal(parley_conn_run(c, 50), 0);
	assert_int_equal(parley_conn_call(c, "getState", NULL, &res, &err), 0);
	assert_int_equal(json_integer_value(json_object_get(res, "pts")), 11);
	json_decref(res);
	assert_int_equal(parley_conn_call(c, "noSuchMethod", NULL, &res, &err), PARLEY_EAPI);
	assert_string_equal(err.code, "METHOD_NOT_FOUND");
	assert_null(res);
	parley_conn_stop(c);
	assert_int_equal(parley_conn_run(c, 1000), PARLEY_ECANCELED);
	parley_conn_free(c); /* sends close 1000 */
	wsm_finish(w);
	free(st);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_url_parse_good),
		cmocka_unit_test(test_url_parse_bad),
		cmocka_unit_test(test_buf_limits),
		cmocka_unit_test(test_error_and_token),
		cmocka_unit_test(test_config_round_trip),
		cmocka_unit_test(test_http_content_length_keepalive),
		cmocka_unit_test(test_http_chunked),
		cmocka_unit_test(test_http_close_delimited),
		cmocka_unit_test(test_http_reconnect_once),
		cmocka_unit_test(test_http_timeout),
		cmocka_unit_test(test_http_too_large_and_malformed),
		cmocka_unit_test(test_api_error_envelope),
		cmocka_unit_test(test_connect_refused),
		cmocka_unit_test(test_sha1_base64),
		cmocka_unit_test(test_utf8_valid),
		cmocka_unit_test(test_ws_frame_out),
		cmocka_unit_test(test_ws_parse_messages),
		cmocka_unit_test(test_ws_parse_errors),
		cmocka_unit_test(test_ws_handshake),
		cmocka_unit_test(test_sync_order_and_gaps),
		cmocka_unit_test(test_sync_reload_and_server_behind),
		cmocka_unit_test(test_sync_start_now),
		cmocka_unit_test(test_sync_chats),
		cmocka_unit_test(test_sync_held_limit),
		cmocka_unit_test(test_state_file),
		cmocka_unit_test(test_conn_scripted),
	};

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
