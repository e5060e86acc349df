/*
 * test_client.c — unit tests of libparley (src/lib) that need no Parley
 * server: URL parsing, the config file, and the HTTP transport against a
 * tiny scripted server on a loopback socket in a thread (Content-Length,
 * chunked and close-delimited replies, keep-alive reuse, the reconnect-once
 * rule, timeouts, size caps, malformed replies, the error envelope).
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
#include "lib/error.c"
#include "lib/http.c"
#include "lib/url.c"

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
	};

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
