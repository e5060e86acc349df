/*
 * test_http_stream.c — streamed request bodies and file answers of the HTTP
 * server (src/net/http.c, net.h): a real net_server on a loopback port in a
 * thread with its own libuv loop, talked to over blocking sockets.
 *
 * The head callback streams every POST to a path starting with "/up".  The
 * application (all on the loop thread) then:
 *   /up          starts the body (limit from ?max=N, default 64 MiB), sums it
 *                and answers "len=N sum=S" in on_end;
 *   /up/pause    the same, but pauses after each piece and resumes from a
 *                timer 20 ms later, counting pieces that arrive while paused;
 *   /up/deny     answers 401 at once without reading the body;
 *   /up/cut      answers 200 "cut" after the first piece;
 * Other requests are buffered as before; "GET /file?off=A&len=B" answers
 * with bytes of the test's scratch file through net_req_respond_file().
 * Every test ends by closing the server and checking uv_loop_close().
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "net/net.h"
#include "util/err.h"

#define T_RECV_TIMEOUT_S 10
#define T_FILE_SIZE (3 * 1024 * 1024 + 123)

struct t_up {
	struct net_req *req;
	uint64_t len, sum;
	int pausing;
	int paused;
	int cut;
	unsigned while_paused;
	uv_timer_t timer;
	int timer_used;
};

struct t_srv {
	uv_loop_t loop;
	uv_async_t async;
	struct net_server *srv;
	struct net_limits limits;
	pthread_t thread;
	int port;
	int loop_close_rc;
	char path[64];              /* the scratch file */
	pthread_mutex_t mu;
	/* under mu */
	int stop;
	int ends;                   /* on_end calls */
	int last_end_rc;
	unsigned while_paused;
};

static struct t_srv *t_cur;

static void t_up_free_cb(uv_handle_t *h)
{
	free(h->data);
}

static void t_up_free(struct t_up *u)
{
	if (u->timer_used) {
		uv_timer_stop(&u->timer);
		u->timer.data = u;
		uv_close((uv_handle_t *)&u->timer, t_up_free_cb);
	} else {
		free(u);
	}
}

static void t_on_resume(uv_timer_t *t)
{
	struct t_up *u = t->data;

	u->paused = 0;
	net_req_body_resume(u->req);
}

static void t_on_data(void *ctx, struct net_req *req, const char *data, size_t len)
{
	struct t_up *u = ctx;

	if (u->paused)
		u->while_paused++;
	for (size_t i = 0; i < len; i++)
		u->sum = u->sum * 31 + (unsigned char)data[i];
	u->len += len;
	if (u->cut) {
		/* Answered before the end: no more callbacks come for u. */
		net_req_respond(req, 200, "text/plain", "cut", 3, NULL);
		t_up_free(u);
		return;
	}
	if (u->pausing && !u->paused) {
		u->paused = 1;
		net_req_body_pause(req);
		uv_timer_start(&u->timer, t_on_resume, 20, 0);
	}
}

static void t_on_end(void *ctx, struct net_req *req, int rc)
{
	struct t_up *u = ctx;
	char body[128];
	int n;

	pthread_mutex_lock(&t_cur->mu);
	t_cur->ends++;
	t_cur->last_end_rc = rc;
	t_cur->while_paused += u->while_paused;
	pthread_mutex_unlock(&t_cur->mu);
	if (u->req != NULL) {
		if (rc == 0) {
			n = snprintf(body, sizeof(body), "len=%llu sum=%llu", (unsigned long long)u->len,
				     (unsigned long long)u->sum);
			net_req_respond(req, 200, "text/plain", body, (size_t)n, NULL);
		} else {
			net_req_respond(req, rc == PL_TOOBIG ? 413 : 400, "text/plain", "end", 3, NULL);
		}
	}
	t_up_free(u);
}

static const struct net_body_cb t_body_cb = {t_on_data, t_on_end};

static int t_on_head(void *ctx, const struct net_req *req)
{
	return req->method == NET_POST && strncmp(req->path, "/up", 3) == 0 ? NET_BODY_STREAM : NET_BODY_BUFFER;
}

static void t_serve_file(struct t_srv *t, struct net_req *req)
{
	unsigned long long off = 0, len = 0;
	uv_fs_t fs;
	uv_file fd;

	sscanf(req->query, "off=%llu&len=%llu", &off, &len);
	/* A test server: opening on the loop thread is fine here. */
	fd = uv_fs_open(NULL, &fs, t->path, O_RDONLY, 0, NULL);
	uv_fs_req_cleanup(&fs);
	assert_true(fd >= 0);
	net_req_respond_file(req, 200, "application/octet-stream", fd, off, len, "X-File: 1\r\n");
}

static void t_on_request(void *ctx, struct net_req *req)
{
	struct t_srv *t = ctx;
	struct t_up *u;
	unsigned long long max = 64ull << 20;
	int rc;

	if (strcmp(req->path, "/file") == 0) {
		t_serve_file(t, req);
		return;
	}
	if (!req->streaming) {
		char body[256];
		int n = snprintf(body, sizeof(body), "buffered %s len=%zu", req->path, req->body_len);

		net_req_respond(req, 200, "text/plain", body, (size_t)n, NULL);
		return;
	}
	if (strcmp(req->path, "/up/deny") == 0) {
		net_req_respond(req, 401, "text/plain", "denied", 6, NULL);
		return;
	}
	u = calloc(1, sizeof(*u));
	assert_non_null(u);
	u->req = req;
	u->pausing = strcmp(req->path, "/up/pause") == 0;
	u->cut = strcmp(req->path, "/up/cut") == 0;
	if (u->pausing) {
		uv_timer_init(&t->loop, &u->timer);
		u->timer.data = u;
		u->timer_used = 1;
	}
	sscanf(req->query, "max=%llu", &max);
	rc = net_req_body_start(req, max, &t_body_cb, u);
	if (rc < 0) {
		net_req_respond(req, rc == PL_TOOBIG ? 413 : 500, "text/plain", "early", 5, NULL);
		t_up_free(u);
	}
}

static void t_on_async(uv_async_t *a)
{
	struct t_srv *t = a->data;
	int stop;

	pthread_mutex_lock(&t->mu);
	stop = t->stop;
	pthread_mutex_unlock(&t->mu);
	if (stop) {
		net_server_close(t->srv);
		uv_close((uv_handle_t *)&t->async, NULL);
	}
}

static void *t_loop_main(void *arg)
{
	struct t_srv *t = arg;

	uv_run(&t->loop, UV_RUN_DEFAULT);
	t->loop_close_rc = uv_loop_close(&t->loop);
	return NULL;
}

static int t_setup_limits(void **state, unsigned idle_ms)
{
	struct t_srv *t = calloc(1, sizeof(*t));
	char err[256];
	int fd;

	assert_non_null(t);
	t_cur = t;
	pthread_mutex_init(&t->mu, NULL);
	snprintf(t->path, sizeof(t->path), "/tmp/test_http_stream.XXXXXX");
	fd = mkstemp(t->path);
	assert_true(fd >= 0);
	{
		char *buf = malloc(T_FILE_SIZE);
		assert_non_null(buf);
		for (size_t i = 0; i < T_FILE_SIZE; i++)
			buf[i] = (char)(i * 7 + (i >> 13));
		assert_int_equal(write(fd, buf, T_FILE_SIZE), T_FILE_SIZE);
		free(buf);
	}
	close(fd);
	assert_int_equal(uv_loop_init(&t->loop), 0);
	net_limits_default(&t->limits);
	t->limits.idle_timeout_ms = idle_ms;
	t->limits.max_body_bytes = 4096;
	t->srv = net_server_new(&t->loop, &t->limits, t_on_request, t);
	assert_non_null(t->srv);
	net_server_set_head_cb(t->srv, t_on_head);
	assert_int_equal(net_server_listen(t->srv, "127.0.0.1:0", err, sizeof(err)), 0);
	t->port = net_server_port(t->srv);
	uv_async_init(&t->loop, &t->async, t_on_async);
	t->async.data = t;
	assert_int_equal(pthread_create(&t->thread, NULL, t_loop_main, t), 0);
	*state = t;
	return 0;
}

static int t_setup(void **state)
{
	return t_setup_limits(state, 5000);
}

static int t_setup_short(void **state)
{
	return t_setup_limits(state, 300);
}

static int t_teardown(void **state)
{
	struct t_srv *t = *state;

	pthread_mutex_lock(&t->mu);
	t->stop = 1;
	pthread_mutex_unlock(&t->mu);
	uv_async_send(&t->async);
	pthread_join(t->thread, NULL);
	assert_int_equal(t->loop_close_rc, 0);
	net_server_free(t->srv);
	unlink(t->path);
	pthread_mutex_destroy(&t->mu);
	free(t);
	t_cur = NULL;
	return 0;
}

/* Waits up to 5 s for the count of on_end calls to reach n; returns it
 * with the last rc (never asserts while holding the mutex: a failed
 * assertion leaves by longjmp). */
static int t_wait_ends(struct t_srv *t, int n, int *last_rc, unsigned *while_paused)
{
	int ends = 0;

	for (int i = 0; i < 500; i++) {
		pthread_mutex_lock(&t->mu);
		ends = t->ends;
		if (last_rc)
			*last_rc = t->last_end_rc;
		if (while_paused)
			*while_paused = t->while_paused;
		pthread_mutex_unlock(&t->mu);
		if (ends >= n)
			break;
		usleep(10000);
	}
	return ends;
}

/* ---- a blocking client ---------------------------------------------------- */

static int t_connect(struct t_srv *t)
{
	struct sockaddr_in sa;
	struct timeval tv = {T_RECV_TIMEOUT_S, 0};
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	assert_true(fd >= 0);
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons((uint16_t)t->port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	return fd;
}

static int t_send(int fd, const void *p, size_t n)
{
	const char *c = p;

	while (n > 0) {
		ssize_t k = send(fd, c, n, MSG_NOSIGNAL);

		if (k <= 0)
			return -1;
		c += k;
		n -= (size_t)k;
	}
	return 0;
}

static void t_sends(int fd, const char *s)
{
	assert_int_equal(t_send(fd, s, strlen(s)), 0);
}

/* One response: status, headers in head (cap bytes) and the body into *body
 * (malloc'd, NUL-terminated) by Content-Length.  Returns the status, or -1
 * when the connection ends first (*body then holds what came). */
static int t_read_response(int fd, char *head, size_t cap, char **body, size_t *blen)
{
	size_t n = 0, want = 0, got = 0;
	char *end, *cl;
	int status = -1;

	*body = NULL;
	*blen = 0;
	while (n + 1 < cap) {
		ssize_t k = recv(fd, head + n, 1, 0);

		if (k <= 0)
			return -1;
		n++;
		head[n] = '\0';
		if (n >= 4 && memcmp(head + n - 4, "\r\n\r\n", 4) == 0)
			break;
	}
	sscanf(head, "HTTP/1.1 %d", &status);
	if (status == 100) /* interim: read the real one */
		return t_read_response(fd, head, cap, body, blen);
	if ((cl = strstr(head, "Content-Length:")) != NULL)
		want = strtoull(cl + 15, &end, 10);
	*body = malloc(want + 1);
	assert_non_null(*body);
	if (strstr(head, "HEAD-ONLY") == NULL)
		while (got < want) {
			ssize_t k = recv(fd, *body + got, want - got, 0);

			if (k <= 0)
				break;
			got += (size_t)k;
		}
	(*body)[got] = '\0';
	*blen = got;
	return got == want ? status : -1;
}

static int t_closed(int fd)
{
	char c;

	return recv(fd, &c, 1, 0) == 0;
}

static uint64_t t_sum(const char *p, size_t n)
{
	uint64_t s = 0;

	for (size_t i = 0; i < n; i++)
		s = s * 31 + (unsigned char)p[i];
	return s;
}

static char *t_pattern(size_t n)
{
	char *p = malloc(n);

	assert_non_null(p);
	for (size_t i = 0; i < n; i++)
		p[i] = (char)(i % 251);
	return p;
}

/* ---- tests ------------------------------------------------------------------ */

static void test_stream_content_length(void **state)
{
	struct t_srv *t = *state;
	size_t n = 5 * 1024 * 1024 + 17, blen;
	char *data = t_pattern(n), head[1024], want[128], *body;
	int fd = t_connect(t);

	snprintf(head, sizeof(head), "POST /up HTTP/1.1\r\nHost: x\r\nContent-Length: %zu\r\n\r\n", n);
	t_sends(fd, head);
	assert_int_equal(t_send(fd, data, n), 0);
	assert_int_equal(t_read_response(fd, head, sizeof(head), &body, &blen), 200);
	snprintf(want, sizeof(want), "len=%zu sum=%llu", n, (unsigned long long)t_sum(data, n));
	assert_string_equal(body, want);
	free(body);
	/* Keep-alive: a buffered request follows on the same connection. */
	t_sends(fd, "POST /json HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}");
	assert_int_equal(t_read_response(fd, head, sizeof(head), &body, &blen), 200);
	assert_string_equal(body, "buffered /json len=2");
	free(body);
	free(data);
	close(fd);
}

static void test_stream_chunked_and_pipelined(void **state)
{
	struct t_srv *t = *state;
	char head[1024], *body;
	size_t blen;
	int fd = t_connect(t);

	/* Body bytes and the next request arrive in one segment with the head. */
	t_sends(fd, "POST /up HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
		    "5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n"
		    "GET /next HTTP/1.1\r\nHost: x\r\n\r\n");
	assert_int_equal(t_read_response(fd, head, sizeof(head), &body, &blen), 200);
	{
		char want[128];
		snprintf(want, sizeof(want), "len=11 sum=%llu", (unsigned long long)t_sum("hello world", 11));
		assert_string_equal(body, want);
	}
	free(body);
	assert_int_equal(t_read_response(fd, head, sizeof(head), &body, &blen), 200);
	assert_string_equal(body, "buffered /next len=0");
	free(body);
	close(fd);
}

static void test_stream_pause_resume(void **state)
{
	struct t_srv *t = *state;
	size_t n = 2 * 1024 * 1024, blen;
	char *data = t_pattern(n), head[1024], want[128], *body;
	int fd = t_connect(t);

	snprintf(head, sizeof(head), "POST /up/pause HTTP/1.1\r\nHost: x\r\nContent-Length: %zu\r\n\r\n", n);
	t_sends(fd, head);
	assert_int_equal(t_send(fd, data, n), 0);
	assert_int_equal(t_read_response(fd, head, sizeof(head), &body, &blen), 200);
	snprintf(want, sizeof(want), "len=%zu sum=%llu", n, (unsigned long long)t_sum(data, n));
	assert_string_equal(body, want);
	free(body);
	/* Pausing stops reading: nothing beyond the piece being delivered. */
	{
		unsigned wp = 1;

		assert_int_equal(t_wait_ends(t, 1, NULL, &wp), 1);
		assert_int_equal(wp, 0);
	}
	free(data);
	close(fd);
}

static void test_stream_expect_continue_and_deny(void **state)
{
	struct t_srv *t = *state;
	char head[1024], *body;
	size_t blen;
	int fd = t_connect(t);

	/* Denied at once: no 100 Continue, the answer, then the close. */
	t_sends(fd, "POST /up/deny HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000\r\nExpect: 100-continue\r\n\r\n");
	assert_int_equal(t_read_response(fd, head, sizeof(head), &body, &blen), 401);
	assert_non_null(strstr(head, "Connection: close"));
	assert_null(strstr(head, "100 Continue"));
	free(body);
	assert_true(t_closed(fd));
	close(fd);

	/* Accepted: 100 Continue comes when the body is started. */
	fd = t_connect(t);
	t_sends(fd, "POST /up HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nExpect: 100-continue\r\n\r\n");
	{
		char line[32] = "";
		size_t k = 0;

		while (k < 25 && recv(fd, line + k, 1, 0) == 1)
			k++;
		line[k] = '\0';
		assert_string_equal(line, "HTTP/1.1 100 Continue\r\n\r\n");
	}
	t_sends(fd, "abc");
	assert_int_equal(t_read_response(fd, head, sizeof(head), &body, &blen), 200);
	free(body);
	close(fd);
}

static void test_stream_answer_midway(void **state)
{
	struct t_srv *t = *state;
	size_t n = 4 * 1024 * 1024, blen;
	char *data = t_pattern(n), head[1024], *body;
	int fd = t_connect(t);

	snprintf(head, sizeof(head), "POST /up/cut HTTP/1.1\r\nHost: x\r\nContent-Length: %zu\r\n\r\n", n);
	t_sends(fd, head);
	(void)t_send(fd, data, 200000); /* the server answers after the first piece */
	assert_int_equal(t_read_response(fd, head, sizeof(head), &body, &blen), 200);
	assert_string_equal(body, "cut");
	assert_non_null(strstr(head, "Connection: close"));
	free(body);
	(void)t_send(fd, data, n - 200000); /* discarded (or refused: the server closes) */
	assert_true(t_closed(fd));
	close(fd);
	free(data);
	assert_int_equal(t_wait_ends(t, 0, NULL, NULL), 0); /* answered before the end: no on_end */
}

static void test_stream_too_big(void **state)
{
	struct t_srv *t = *state;
	char head[1024], *body;
	size_t blen;
	int fd = t_connect(t);

	/* Announced too big: net_req_body_start refuses, nothing is read. */
	t_sends(fd, "POST /up?max=1000 HTTP/1.1\r\nHost: x\r\nContent-Length: 5000\r\n\r\n");
	assert_int_equal(t_read_response(fd, head, sizeof(head), &body, &blen), 413);
	assert_string_equal(body, "early");
	free(body);
	assert_true(t_closed(fd));
	close(fd);

	/* Chunked past the limit: on_end(PL_TOOBIG), the application answers. */
	fd = t_connect(t);
	t_sends(fd, "POST /up?max=10 HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
		    "8\r\n12345678\r\n8\r\n12345678\r\n");
	assert_int_equal(t_read_response(fd, head, sizeof(head), &body, &blen), 413);
	assert_string_equal(body, "end");
	free(body);
	assert_true(t_closed(fd));
	close(fd);
	{
		int rc = 0;

		assert_int_equal(t_wait_ends(t, 1, &rc, NULL), 1);
		assert_int_equal(rc, PL_TOOBIG);
	}
}

static void test_stream_stall_and_disconnect(void **state)
{
	struct t_srv *t = *state;
	char head[1024], *body;
	size_t blen;
	int fd = t_connect(t), rc = 0;

	/* A body that stops coming: 408 from the server, on_end(PL_CLOSED). */
	t_sends(fd, "POST /up HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n0123456789");
	assert_int_equal(t_read_response(fd, head, sizeof(head), &body, &blen), 408);
	free(body);
	close(fd);
	assert_int_equal(t_wait_ends(t, 1, &rc, NULL), 1);
	assert_int_equal(rc, PL_CLOSED);

	/* A client that goes away midway: on_end(PL_CLOSED). */
	fd = t_connect(t);
	t_sends(fd, "POST /up HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n0123456789");
	usleep(50000);
	close(fd);
	assert_int_equal(t_wait_ends(t, 2, &rc, NULL), 2);
	assert_int_equal(rc, PL_CLOSED);
}

static void test_buffered_limit_still_applies(void **state)
{
	struct t_srv *t = *state;
	char head[1024], *body;
	size_t blen;
	int fd = t_connect(t);

	/* Not streamed: max_body_bytes (4096) holds, decided at the head. */
	t_sends(fd, "POST /json HTTP/1.1\r\nHost: x\r\nContent-Length: 5000\r\n\r\n");
	assert_int_equal(t_read_response(fd, head, sizeof(head), &body, &blen), 413);
	free(body);
	close(fd);
}

static void test_file_answers(void **state)
{
	struct t_srv *t = *state;
	char head[1024], req[256], *body, *want = malloc(T_FILE_SIZE);
	size_t blen;
	int fd = t_connect(t);

	assert_non_null(want);
	for (size_t i = 0; i < T_FILE_SIZE; i++)
		want[i] = (char)(i * 7 + (i >> 13));
	/* The whole file, then a middle range, on one connection. */
	snprintf(req, sizeof(req), "GET /file?off=0&len=%d HTTP/1.1\r\nHost: x\r\n\r\n", T_FILE_SIZE);
	t_sends(fd, req);
	assert_int_equal(t_read_response(fd, head, sizeof(head), &body, &blen), 200);
	assert_int_equal(blen, T_FILE_SIZE);
	assert_memory_equal(body, want, T_FILE_SIZE);
	assert_non_null(strstr(head, "X-File: 1"));
	free(body);
	t_sends(fd, "GET /file?off=1000000&len=300001 HTTP/1.1\r\nHost: x\r\n\r\n");
	assert_int_equal(t_read_response(fd, head, sizeof(head), &body, &blen), 200);
	assert_int_equal(blen, 300001);
	assert_memory_equal(body, want + 1000000, 300001);
	free(body);
	/* HEAD: the length a GET would get, no body. */
	t_sends(fd, "HEAD /file?off=0&len=77 HTTP/1.1\r\nHost: x\r\n\r\n");
	{
		size_t n = 0;
		while (n + 1 < sizeof(head) && recv(fd, head + n, 1, 0) == 1) {
			n++;
			head[n] = '\0';
			if (n >= 4 && memcmp(head + n - 4, "\r\n\r\n", 4) == 0)
				break;
		}
		assert_non_null(strstr(head, "Content-Length: 77"));
	}
	t_sends(fd, "GET /file?off=0&len=5 HTTP/1.1\r\nHost: x\r\n\r\n");
	assert_int_equal(t_read_response(fd, head, sizeof(head), &body, &blen), 200);
	assert_memory_equal(body, want, 5);
	free(body);
	/* Asked for more than the file has: cut short by a close. */
	snprintf(req, sizeof(req), "GET /file?off=%d&len=1000 HTTP/1.1\r\nHost: x\r\n\r\n", T_FILE_SIZE - 10);
	t_sends(fd, req);
	assert_int_equal(t_read_response(fd, head, sizeof(head), &body, &blen), -1);
	assert_int_equal(blen, 10);
	free(body);
	close(fd);
	free(want);
}

static void test_file_answer_peer_gone(void **state)
{
	struct t_srv *t = *state;
	char req[256], buf[1000];
	int fd = t_connect(t);

	/* The reader stops early: the server must free everything. */
	snprintf(req, sizeof(req), "GET /file?off=0&len=%d HTTP/1.1\r\nHost: x\r\n\r\n", T_FILE_SIZE);
	t_sends(fd, req);
	assert_true(recv(fd, buf, sizeof(buf), 0) > 0);
	close(fd);
	usleep(100000);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_stream_content_length, t_setup, t_teardown),
		cmocka_unit_test_setup_teardown(test_stream_chunked_and_pipelined, t_setup, t_teardown),
		cmocka_unit_test_setup_teardown(test_stream_pause_resume, t_setup, t_teardown),
		cmocka_unit_test_setup_teardown(test_stream_expect_continue_and_deny, t_setup, t_teardown),
		cmocka_unit_test_setup_teardown(test_stream_answer_midway, t_setup, t_teardown),
		cmocka_unit_test_setup_teardown(test_stream_too_big, t_setup, t_teardown),
		cmocka_unit_test_setup_teardown(test_stream_stall_and_disconnect, t_setup_short, t_teardown),
		cmocka_unit_test_setup_teardown(test_buffered_limit_still_applies, t_setup, t_teardown),
		cmocka_unit_test_setup_teardown(test_file_answers, t_setup, t_teardown),
		cmocka_unit_test_setup_teardown(test_file_answer_peer_gone, t_setup, t_teardown),
	};

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
