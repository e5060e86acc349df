/*
 * test_http_server.c — runs a real net_server on a loopback port (port 0) in
 * a thread with its own libuv loop and talks to it over blocking sockets.
 *
 * The request callback echoes the request back.  Three paths behave
 * differently: "/async" is answered later by a worker thread through a
 * uv_async (as the daemon's workers do), "/hold" is kept until the test asks
 * for it to be answered (or the server is closed), "/large" gets 16 MiB,
 * and everything else is
 * answered at once on the loop thread.  Every test ends by closing the
 * server, running the loop dry and checking uv_loop_close() succeeds; ASan or
 * valgrind then find any leak.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "net/net.h"
#include "util/err.h"

#define T_QUEUE_MAX 16     /* requests waiting for the worker or the test */
#define T_BUF_MAX 65536    /* bytes a test client buffers */
#define T_ECHO_MAX 8192    /* echo body built by the server */
#define T_RECV_TIMEOUT_S 10
#define T_LARGE (16 * 1024 * 1024) /* "/large" answer: more than sockets buffer */

struct t_srv {
	uv_loop_t loop;
	uv_async_t async;
	struct net_server *srv;
	struct net_limits limits;
	pthread_t loop_thread;
	pthread_t worker;
	int port;
	int loop_close_rc;

	pthread_mutex_t mu;
	pthread_cond_t cv;
	/* under mu */
	struct net_req *work[T_QUEUE_MAX];  /* for the worker */
	int nwork;
	struct net_req *done[T_QUEUE_MAX];  /* answered by the worker, to send */
	int ndone;
	struct net_req *held[T_QUEUE_MAX];  /* "/hold" requests */
	int nheld;
	int nrequests;
	int worker_quit;
	int cmd_release;                   /* answer the held requests */
	int cmd_stop;                      /* close the server */
	int cmd_count;                     /* report net_server_connections */
	int count_ready;
	unsigned count;
};

static const char *t_method_name(int m)
{
	switch (m) {
	case NET_GET: return "GET";
	case NET_POST: return "POST";
	case NET_HEAD: return "HEAD";
	default: return "OTHER";
	}
}

/* The echo answer: one line naming every part of the request. */
static void t_echo(struct net_req *req)
{
	char *body = malloc(T_ECHO_MAX);
	int n;

	assert_non_null(body);
	n = snprintf(body, T_ECHO_MAX, "%s %s?%s auth=%s ctype=%s peer=%s body=%.*s",
		     t_method_name(req->method), req->path, req->query,
		     req->authorization ? req->authorization : "-",
		     req->content_type ? req->content_type : "-", req->peer_ip,
		     (int)(req->body_len > 4096 ? 4096 : req->body_len), req->body);
	net_req_respond(req, 200, "text/plain", body, (size_t)n, "X-Echo: 1\r\n");
	free(body);
}

static void t_on_request(void *ctx, struct net_req *req)
{
	struct t_srv *t = ctx;

	pthread_mutex_lock(&t->mu);
	t->nrequests++;
	pthread_cond_broadcast(&t->cv);
	if (strcmp(req->path, "/async") == 0 && t->nwork < T_QUEUE_MAX) {
		t->work[t->nwork++] = req;
		pthread_cond_broadcast(&t->cv);
		req = NULL;
	} else if (strcmp(req->path, "/hold") == 0 && t->nheld < T_QUEUE_MAX) {
		t->held[t->nheld++] = req;
		pthread_cond_broadcast(&t->cv);
		req = NULL;
	}
	pthread_mutex_unlock(&t->mu);
	if (req != NULL && strcmp(req->path, "/large") == 0) {
		char *big = malloc(T_LARGE);

		assert_non_null(big);
		memset(big, 'L', T_LARGE);
		net_req_respond(req, 200, "text/plain", big, T_LARGE, NULL);
		free(big);
		req = NULL;
	}
	if (req != NULL)
		t_echo(req);
}

/* The worker "does the work" off the loop thread, then wakes the loop. */
static void *t_worker_main(void *arg)
{
	struct t_srv *t = arg;
	struct timespec ts = {0, 20 * 1000 * 1000};

	pthread_mutex_lock(&t->mu);
	for (;;) {
		while (t->nwork == 0 && !t->worker_quit)
			pthread_cond_wait(&t->cv, &t->mu);
		if (t->nwork == 0)
			break;
		pthread_mutex_unlock(&t->mu);
		nanosleep(&ts, NULL);
		pthread_mutex_lock(&t->mu);
		while (t->nwork > 0) {
			t->done[t->ndone++] = t->work[0];
			memmove(t->work, t->work + 1, (size_t)(--t->nwork) * sizeof(t->work[0]));
		}
		uv_async_send(&t->async);
	}
	pthread_mutex_unlock(&t->mu);
	return NULL;
}

/* Runs on the loop thread whenever the worker or the test has news. */
static void t_on_async(uv_async_t *a)
{
	struct t_srv *t = a->data;
	struct net_req *done[T_QUEUE_MAX], *held[T_QUEUE_MAX];
	int ndone, nheld = 0, stop;

	pthread_mutex_lock(&t->mu);
	ndone = t->ndone;
	memcpy(done, t->done, sizeof(done));
	t->ndone = 0;
	stop = t->cmd_stop;
	if (t->cmd_release || stop) {
		nheld = t->nheld;
		memcpy(held, t->held, sizeof(held));
		t->nheld = 0;
		t->cmd_release = 0;
	}
	if (t->cmd_count) {
		t->count = net_server_connections(t->srv);
		t->count_ready = 1;
		t->cmd_count = 0;
		pthread_cond_broadcast(&t->cv);
	}
	pthread_mutex_unlock(&t->mu);

	for (int i = 0; i < ndone; i++)
		t_echo(done[i]);
	if (stop) {
		net_server_close(t->srv);
		uv_close((uv_handle_t *)&t->async, NULL);
	}
	/* After a stop these requests are orphans: answering frees them. */
	for (int i = 0; i < nheld; i++)
		t_echo(held[i]);
}

static void *t_loop_main(void *arg)
{
	struct t_srv *t = arg;

	uv_run(&t->loop, UV_RUN_DEFAULT);
	net_server_free(t->srv);
	t->loop_close_rc = uv_loop_close(&t->loop);
	return NULL;
}

static int t_start(void **state, const struct net_limits *limits)
{
	struct t_srv *t = calloc(1, sizeof(*t));
	char err[256];

	assert_non_null(t);
	t->limits = *limits;
	pthread_mutex_init(&t->mu, NULL);
	pthread_cond_init(&t->cv, NULL);
	assert_int_equal(uv_loop_init(&t->loop), 0);
	assert_int_equal(uv_async_init(&t->loop, &t->async, t_on_async), 0);
	t->async.data = t;
	t->srv = net_server_new(&t->loop, &t->limits, t_on_request, t);
	assert_non_null(t->srv);
	if (net_server_listen(t->srv, "127.0.0.1:0", err, sizeof(err)) != 0)
		fail_msg("listen: %s", err);
	t->port = net_server_port(t->srv);
	assert_true(t->port > 0);
	assert_int_equal(pthread_create(&t->worker, NULL, t_worker_main, t), 0);
	assert_int_equal(pthread_create(&t->loop_thread, NULL, t_loop_main, t), 0);
	*state = t;
	return 0;
}

static int t_setup(void **state)
{
	struct net_limits l;

	net_limits_default(&l);
	l.max_header_bytes = 1024;
	l.max_body_bytes = 4096;
	return t_start(state, &l);
}

static int t_setup_timeouts(void **state)
{
	struct net_limits l;

	net_limits_default(&l);
	l.header_timeout_ms = 200;
	l.idle_timeout_ms = 300;
	return t_start(state, &l);
}

static int t_setup_two_conns(void **state)
{
	struct net_limits l;

	net_limits_default(&l);
	l.max_connections = 2;
	return t_start(state, &l);
}

static int t_teardown(void **state)
{
	struct t_srv *t = *state;

	pthread_mutex_lock(&t->mu);
	t->worker_quit = 1;
	pthread_cond_broadcast(&t->cv);
	pthread_mutex_unlock(&t->mu);
	pthread_join(t->worker, NULL);

	pthread_mutex_lock(&t->mu);
	t->cmd_stop = 1;
	pthread_mutex_unlock(&t->mu);
	uv_async_send(&t->async);
	pthread_join(t->loop_thread, NULL);
	assert_int_equal(t->loop_close_rc, 0);
	pthread_cond_destroy(&t->cv);
	pthread_mutex_destroy(&t->mu);
	free(t);
	return 0;
}

/* net_server_connections(), asked on the loop thread. */
static unsigned t_conns(struct t_srv *t)
{
	unsigned n;

	pthread_mutex_lock(&t->mu);
	t->cmd_count = 1;
	t->count_ready = 0;
	uv_async_send(&t->async);
	while (!t->count_ready)
		pthread_cond_wait(&t->cv, &t->mu);
	n = t->count;
	pthread_mutex_unlock(&t->mu);
	return n;
}

/* Polls until the server has want connections; fails after 5 s. */
static void t_wait_conns(struct t_srv *t, unsigned want)
{
	struct timespec ts = {0, 10 * 1000 * 1000};

	for (int i = 0; i < 500; i++) {
		if (t_conns(t) == want)
			return;
		nanosleep(&ts, NULL);
	}
	fail_msg("server has %u connections, want %u", t_conns(t), want);
}

static void t_wait_held(struct t_srv *t, int want)
{
	pthread_mutex_lock(&t->mu);
	while (t->nheld < want)
		pthread_cond_wait(&t->cv, &t->mu);
	pthread_mutex_unlock(&t->mu);
}

static void t_wait_requests(struct t_srv *t, int want)
{
	pthread_mutex_lock(&t->mu);
	while (t->nrequests < want)
		pthread_cond_wait(&t->cv, &t->mu);
	pthread_mutex_unlock(&t->mu);
}

static void t_release_held(struct t_srv *t)
{
	pthread_mutex_lock(&t->mu);
	t->cmd_release = 1;
	pthread_mutex_unlock(&t->mu);
	uv_async_send(&t->async);
}

/* ---- a tiny blocking HTTP client -------------------------------------------- */

struct t_client {
	int fd;
	char buf[T_BUF_MAX + 1]; /* + NUL */
	size_t len;
};

struct t_resp {
	int status;
	int close;          /* Connection: close */
	int has_clen;
	char head[4096];
	char body[T_ECHO_MAX];
	size_t body_len;
};

static double t_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static struct t_client *t_connect(struct t_srv *t)
{
	struct t_client *cl = calloc(1, sizeof(*cl));
	struct sockaddr_in sin;
	struct timeval tv = {T_RECV_TIMEOUT_S, 0};

	assert_non_null(cl);
	cl->fd = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(cl->fd >= 0);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons((uint16_t)t->port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(connect(cl->fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	setsockopt(cl->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	return cl;
}

static void t_close(struct t_client *cl)
{
	close(cl->fd);
	free(cl);
}

static void t_send(struct t_client *cl, const char *s, size_t len)
{
	while (len > 0) {
		ssize_t n = send(cl->fd, s, len, MSG_NOSIGNAL);

		assert_true(n > 0);
		s += n;
		len -= (size_t)n;
	}
}

static void t_sends(struct t_client *cl, const char *s)
{
	t_send(cl, s, strlen(s));
}

/* Reads more bytes; returns what recv returned. */
static ssize_t t_fill(struct t_client *cl)
{
	ssize_t n;

	assert_true(cl->len < T_BUF_MAX);
	n = recv(cl->fd, cl->buf + cl->len, T_BUF_MAX - cl->len, 0);
	if (n > 0)
		cl->len += (size_t)n;
	cl->buf[cl->len] = '\0';
	return n;
}

static void t_consume(struct t_client *cl, size_t n)
{
	memmove(cl->buf, cl->buf + n, cl->len - n);
	cl->len -= n;
	cl->buf[cl->len] = '\0';
}

/* Finds header name in head (a NUL-terminated header block). */
static const char *t_header(const char *head, const char *name)
{
	size_t nl = strlen(name);

	for (const char *line = strstr(head, "\r\n"); line != NULL; line = strstr(line, "\r\n")) {
		line += 2;
		if (strncasecmp(line, name, nl) == 0 && line[nl] == ':')
			return line + nl + 1 + strspn(line + nl + 1, " ");
	}
	return NULL;
}

/* Reads one response.  Returns 0, or -1 if the connection ended first. */
static int t_read_response(struct t_client *cl, struct t_resp *r, int head_request)
{
	char *end;
	const char *v;
	size_t hlen, clen = 0;

	memset(r, 0, sizeof(*r));
	for (;;) {
		if ((end = strstr(cl->buf, "\r\n\r\n")) != NULL)
			break;
		if (t_fill(cl) <= 0)
			return -1;
	}
	hlen = (size_t)(end - cl->buf) + 4;
	assert_true(hlen < sizeof(r->head));
	memcpy(r->head, cl->buf, hlen);
	r->head[hlen] = '\0';
	assert_int_equal(strncmp(r->head, "HTTP/1.1 ", 9), 0);
	r->status = atoi(r->head + 9);
	if ((v = t_header(r->head, "Content-Length")) != NULL) {
		r->has_clen = 1;
		clen = strtoul(v, NULL, 10);
	}
	if ((v = t_header(r->head, "Connection")) != NULL)
		r->close = strncmp(v, "close", 5) == 0;
	t_consume(cl, hlen);
	if (head_request || r->status < 200)
		clen = 0;
	assert_true(clen < sizeof(r->body));
	while (cl->len < clen)
		if (t_fill(cl) <= 0)
			return -1;
	memcpy(r->body, cl->buf, clen);
	r->body[clen] = '\0';
	r->body_len = clen;
	t_consume(cl, clen);
	return 0;
}

/* Expects the peer to close within secs (EOF or reset). */
static void t_expect_eof(struct t_client *cl, double secs)
{
	double start = t_now();
	ssize_t n;

	while ((n = t_fill(cl)) > 0)
		assert_true(t_now() - start < secs);
	assert_true(n == 0 || errno == ECONNRESET);
	assert_true(t_now() - start < secs);
}

static void t_get(struct t_client *cl, const char *path, struct t_resp *r)
{
	char req[512];

	snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: t\r\n\r\n", path);
	t_sends(cl, req);
	assert_int_equal(t_read_response(cl, r, 0), 0);
}

/* ---- tests ----------------------------------------------------------------------- */

static void test_keep_alive_reuse(void **state)
{
	struct t_srv *t = *state;
	struct t_client *cl = t_connect(t);
	struct t_resp r;

	for (int i = 0; i < 5; i++) {
		t_get(cl, "/api/getMe?x=1", &r);
		assert_int_equal(r.status, 200);
		assert_int_equal(r.close, 0);
		assert_string_equal(r.body, "GET /api/getMe?x=1 auth=- ctype=- peer=127.0.0.1 body=");
		assert_non_null(t_header(r.head, "X-Echo"));
		assert_non_null(strstr(r.head, "Content-Type: text/plain\r\n"));
	}
	assert_int_equal(t_conns(t), 1);
	t_close(cl);
	t_wait_conns(t, 0);
}

static void test_post_and_head(void **state)
{
	struct t_srv *t = *state;
	struct t_client *cl = t_connect(t);
	struct t_resp r;

	t_sends(cl, "POST /api/sendMessage HTTP/1.1\r\nAuthorization: Bearer tok\r\n"
		    "Content-Type: application/json\r\nContent-Length: 13\r\n\r\n{\"text\":\"hi\"}");
	assert_int_equal(t_read_response(cl, &r, 0), 0);
	assert_int_equal(r.status, 200);
	assert_string_equal(r.body, "POST /api/sendMessage? auth=Bearer tok ctype=application/json "
				    "peer=127.0.0.1 body={\"text\":\"hi\"}");

	t_sends(cl, "HEAD /x HTTP/1.1\r\n\r\n");
	assert_int_equal(t_read_response(cl, &r, 1), 0);
	assert_int_equal(r.status, 200);
	assert_int_equal(r.has_clen, 1);
	assert_non_null(strstr(r.head, "Content-Length: 44\r\n")); /* as for GET */
	assert_int_equal(r.body_len, 0);
	/* No body followed the HEAD answer: the next response parses cleanly. */
	t_get(cl, "/after-head", &r);
	assert_string_equal(r.body, "GET /after-head? auth=- ctype=- peer=127.0.0.1 body=");
	t_close(cl);
}

static void test_async_answer(void **state)
{
	struct t_srv *t = *state;
	struct t_client *cl = t_connect(t);
	struct t_resp r;

	t_get(cl, "/async?w=1", &r);
	assert_int_equal(r.status, 200);
	assert_string_equal(r.body, "GET /async?w=1 auth=- ctype=- peer=127.0.0.1 body=");
	t_get(cl, "/sync", &r);
	assert_string_equal(r.body, "GET /sync? auth=- ctype=- peer=127.0.0.1 body=");
	t_close(cl);
}

static void test_pipelining_in_order(void **state)
{
	struct t_srv *t = *state;
	struct t_client *cl = t_connect(t);
	struct t_resp r;
	const char *paths[] = {"/one", "/async", "/three", "/async", "/five"};
	char buf[2048];
	size_t n = 0;

	for (int i = 0; i < 5; i++)
		n += (size_t)snprintf(buf + n, sizeof(buf) - n,
				      "POST %s?i=%d HTTP/1.1\r\nContent-Length: 1\r\n\r\n%d", paths[i], i, i);
	t_send(cl, buf, n);
	for (int i = 0; i < 5; i++) {
		char want[256];

		assert_int_equal(t_read_response(cl, &r, 0), 0);
		snprintf(want, sizeof(want), "POST %s?i=%d auth=- ctype=- peer=127.0.0.1 body=%d", paths[i], i, i);
		assert_string_equal(r.body, want);
	}
	t_close(cl);
}

static void test_expect_continue(void **state)
{
	struct t_srv *t = *state;
	struct t_client *cl = t_connect(t);
	struct t_resp r;

	t_sends(cl, "POST /up HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\n");
	assert_int_equal(t_read_response(cl, &r, 0), 0);
	assert_int_equal(r.status, 100);
	t_sends(cl, "data");
	assert_int_equal(t_read_response(cl, &r, 0), 0);
	assert_int_equal(r.status, 200);
	assert_string_equal(r.body, "POST /up? auth=- ctype=- peer=127.0.0.1 body=data");
	t_close(cl);
}

static void t_expect_error(struct t_client *cl, int status, const char *code)
{
	struct t_resp r;
	char want[128];

	assert_int_equal(t_read_response(cl, &r, 0), 0);
	assert_int_equal(r.status, status);
	assert_int_equal(r.close, 1);
	assert_non_null(strstr(r.head, "Content-Type: application/json\r\n"));
	snprintf(want, sizeof(want), "{\"ok\":false,\"error_code\":%d,\"description\":\"%s: ", status, code);
	assert_int_equal(strncmp(r.body, want, strlen(want)), 0);
	t_expect_eof(cl, 5);
}

static void test_body_too_large(void **state)
{
	struct t_srv *t = *state;
	struct t_client *cl = t_connect(t);
	char chunk[1024];

	/* Refused from the header alone, body never sent. */
	t_sends(cl, "POST /big HTTP/1.1\r\nContent-Length: 100000\r\n\r\n");
	t_expect_error(cl, 413, "REQUEST_TOO_LARGE");
	t_close(cl);

	/* The client keeps sending: the answer must still arrive. */
	cl = t_connect(t);
	memset(chunk, 'x', sizeof(chunk));
	t_sends(cl, "POST /big HTTP/1.1\r\nContent-Length: 20000\r\n\r\n");
	for (int i = 0; i < 19; i++)
		t_send(cl, chunk, sizeof(chunk));
	t_expect_error(cl, 413, "REQUEST_TOO_LARGE");
	t_close(cl);

	/* Chunked bodies are cut off as they grow. */
	cl = t_connect(t);
	t_sends(cl, "POST /big HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n");
	for (int i = 0; i < 5; i++) {
		t_sends(cl, "400\r\n");
		t_send(cl, chunk, sizeof(chunk));
		t_sends(cl, "\r\n");
	}
	t_expect_error(cl, 413, "REQUEST_TOO_LARGE");
	t_close(cl);
	t_wait_conns(t, 0);
}

static void test_headers_too_large(void **state)
{
	struct t_srv *t = *state;
	struct t_client *cl = t_connect(t);
	char big[4096];

	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	t_sends(cl, "GET / HTTP/1.1\r\nX-Big: ");
	t_sends(cl, big);
	t_sends(cl, "\r\n\r\n");
	t_expect_error(cl, 431, "HEADERS_TOO_LARGE");
	t_close(cl);
}

static void test_garbage_then_new_connection(void **state)
{
	struct t_srv *t = *state;
	struct t_client *cl = t_connect(t);
	struct t_resp r;

	t_sends(cl, "GARBAGE\r\n\r\n");
	t_expect_error(cl, 400, "BAD_REQUEST");
	t_close(cl);

	/* A good request, then garbage on the same connection. */
	cl = t_connect(t);
	t_get(cl, "/ok", &r);
	assert_int_equal(r.status, 200);
	t_sends(cl, "GET / HTTP/1.1\r\nBad Header: x\r\n\r\n");
	t_expect_error(cl, 400, "BAD_REQUEST");
	t_close(cl);

	cl = t_connect(t);
	t_get(cl, "/still-fine", &r);
	assert_int_equal(r.status, 200);
	t_close(cl);
}

static void test_connection_close_and_http10(void **state)
{
	struct t_srv *t = *state;
	struct t_client *cl = t_connect(t);
	struct t_resp r;

	t_sends(cl, "GET /c HTTP/1.1\r\nConnection: close\r\n\r\n");
	assert_int_equal(t_read_response(cl, &r, 0), 0);
	assert_int_equal(r.status, 200);
	assert_int_equal(r.close, 1);
	t_expect_eof(cl, 5);
	t_close(cl);

	cl = t_connect(t);
	t_sends(cl, "GET /old HTTP/1.0\r\n\r\n");
	assert_int_equal(t_read_response(cl, &r, 0), 0);
	assert_int_equal(r.close, 1);
	t_expect_eof(cl, 5);
	t_close(cl);

	cl = t_connect(t);
	t_sends(cl, "GET /old HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
	assert_int_equal(t_read_response(cl, &r, 0), 0);
	assert_int_equal(r.close, 0);
	t_get(cl, "/again", &r);
	assert_int_equal(r.status, 200);
	t_close(cl);
}

static void test_header_timeout_slowloris(void **state)
{
	struct t_srv *t = *state;
	struct t_client *cl = t_connect(t);
	struct timespec ts = {0, 50 * 1000 * 1000};
	struct timeval tv = {0, 20 * 1000};
	double start = t_now();
	struct t_resp r;

	/* A header line every 50 ms never completes the request. */
	setsockopt(cl->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	t_sends(cl, "GET / HTTP/1.1\r\n");
	for (;;) {
		assert_true(t_now() - start < 5);
		if (send(cl->fd, "X-A: b\r\n", 8, MSG_NOSIGNAL) < 0)
			break;
		nanosleep(&ts, NULL);
		if (t_fill(cl) == 0 || strstr(cl->buf, "\r\n\r\n") != NULL)
			break;
	}
	tv.tv_sec = T_RECV_TIMEOUT_S;
	tv.tv_usec = 0;
	setsockopt(cl->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	assert_int_equal(t_read_response(cl, &r, 0), 0);
	assert_int_equal(r.status, 408);
	assert_non_null(strstr(r.body, "REQUEST_TIMEOUT"));
	t_expect_eof(cl, 5);
	t_close(cl);

	/* A request begun on a kept-alive connection runs the header timer,
	 * not the (longer) idle one. */
	cl = t_connect(t);
	t_get(cl, "/first", &r);
	assert_int_equal(r.status, 200);
	t_sends(cl, "GET /second HTTP/1.1\r\n");
	start = t_now();
	assert_int_equal(t_read_response(cl, &r, 0), 0);
	assert_int_equal(r.status, 408);
	assert_true(t_now() - start < 3);
	t_expect_eof(cl, 5);
	t_close(cl);

	/* Silence after connecting counts too. */
	cl = t_connect(t);
	start = t_now();
	assert_int_equal(t_read_response(cl, &r, 0), 0);
	assert_int_equal(r.status, 408);
	assert_true(t_now() - start < 3);
	t_close(cl);
	t_wait_conns(t, 0);
}

static void test_idle_timeout(void **state)
{
	struct t_srv *t = *state;
	struct t_client *cl = t_connect(t);
	struct t_resp r;
	double start;

	t_get(cl, "/once", &r);
	assert_int_equal(r.status, 200);
	start = t_now();
	t_expect_eof(cl, 5);
	assert_true(t_now() - start >= 0.2);
	assert_int_equal(cl->len, 0); /* closed silently */
	t_close(cl);
	t_wait_conns(t, 0);
}

/* A peer that never reads its answer loses the connection after the idle
 * timeout instead of holding it forever. */
static void test_slow_reader(void **state)
{
	struct t_srv *t = *state;
	struct t_client *cl = calloc(1, sizeof(*cl));
	struct sockaddr_in sin;
	int small = 4096;
	size_t total = 0;
	ssize_t n;

	assert_non_null(cl);
	cl->fd = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(cl->fd >= 0);
	/* A small receive window, fixed before connecting. */
	setsockopt(cl->fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small));
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons((uint16_t)t->port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(connect(cl->fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	t_sends(cl, "GET /large HTTP/1.1\r\n\r\n");
	t_wait_requests(t, 1); /* received... */
	t_wait_conns(t, 0);    /* ...and given up on */
	while ((n = recv(cl->fd, cl->buf, T_BUF_MAX, 0)) > 0)
		total += (size_t)n;
	assert_true(total < T_LARGE);
	t_close(cl);
}

static void test_disconnect_before_response(void **state)
{
	struct t_srv *t = *state;
	struct t_client *cl = t_connect(t);
	struct t_resp r;

	t_sends(cl, "POST /hold HTTP/1.1\r\nContent-Length: 2\r\n\r\nhi");
	t_wait_held(t, 1);
	t_close(cl);
	/* Give the FIN time to arrive, then answer into the void. */
	nanosleep(&(struct timespec){0, 50 * 1000 * 1000}, NULL);
	t_release_held(t);
	t_wait_conns(t, 0);

	cl = t_connect(t);
	t_get(cl, "/alive", &r);
	assert_int_equal(r.status, 200);
	t_close(cl);
}

/* Teardown closes the server with all of these open; the held request is
 * answered after the close and must be freed without a write. */
static void test_close_with_open_connections(void **state)
{
	struct t_srv *t = *state;
	struct t_client *idle = t_connect(t);
	struct t_client *partial = t_connect(t);
	struct t_client *holding = t_connect(t);
	struct t_client *writing = t_connect(t);
	struct t_resp r;

	t_get(idle, "/x", &r);
	t_sends(partial, "POST /p HTTP/1.1\r\nContent-Length: 100\r\n\r\nabc");
	t_sends(holding, "GET /hold HTTP/1.1\r\n\r\nGET /pipelined HTTP/1.1\r\n\r\n");
	t_sends(writing, "GET /async HTTP/1.1\r\n\r\n");
	t_wait_held(t, 1);
	t_wait_conns(t, 4);
	t_teardown(state);
	t_expect_eof(idle, 5);
	t_expect_eof(partial, 5);
	t_expect_eof(holding, 5);
	t_close(idle);
	t_close(partial);
	t_close(holding);
	t_close(writing);
	t_setup(state);
}

static void test_max_connections(void **state)
{
	struct t_srv *t = *state;
	struct t_client *a = t_connect(t);
	struct t_client *b = t_connect(t);
	struct t_client *c;
	struct t_resp r;

	t_get(a, "/a", &r);
	t_get(b, "/b", &r);
	c = t_connect(t);
	t_expect_error(c, 503, "SERVER_BUSY");
	t_close(c);
	t_close(a);
	t_wait_conns(t, 1);
	c = t_connect(t);
	t_get(c, "/c", &r);
	assert_int_equal(r.status, 200);
	t_close(b);
	t_close(c);
}

static void test_listen_addresses(void **state)
{
	uv_loop_t loop;
	struct net_server *srv;
	struct net_limits l;
	char err[256];
	int i;
	const char *bad[] = {"127.0.0.1", "127.0.0.1:", "127.0.0.1:99999", "127.0.0.1:8x",
			     "::1:80", "[::1]80", "localhost:80", "1.2.3.4.5:80"};

	net_limits_default(&l);
	assert_int_equal(uv_loop_init(&loop), 0);
	for (i = 0; i < (int)(sizeof(bad) / sizeof(bad[0])); i++) {
		srv = net_server_new(&loop, &l, NULL, NULL);
		err[0] = '\0';
		assert_int_equal(net_server_listen(srv, bad[i], err, sizeof(err)), PL_INVAL);
		assert_true(strlen(err) > 0);
		net_server_close(srv);
		uv_run(&loop, UV_RUN_DEFAULT);
		net_server_free(srv);
	}
	/* A port already taken. */
	{
		struct net_server *first = net_server_new(&loop, &l, NULL, NULL);
		char addr[64];

		assert_int_equal(net_server_listen(first, "127.0.0.1:0", err, sizeof(err)), 0);
		snprintf(addr, sizeof(addr), "127.0.0.1:%d", net_server_port(first));
		srv = net_server_new(&loop, &l, NULL, NULL);
		assert_int_equal(net_server_listen(srv, addr, err, sizeof(err)), PL_IO);
		assert_non_null(strstr(err, "address already in use"));
		assert_true(net_server_port(srv) < 0);
		/* Once failed, it stays failed. */
		assert_int_equal(net_server_listen(srv, "127.0.0.1:0", err, sizeof(err)), PL_INVAL);
		net_server_close(srv);
		net_server_close(first);
		uv_run(&loop, UV_RUN_DEFAULT);
		net_server_free(srv);
		net_server_free(first);
	}
	srv = net_server_new(&loop, &l, NULL, NULL);
	if (net_server_listen(srv, "[::1]:0", err, sizeof(err)) == 0)
		assert_true(net_server_port(srv) > 0);
	net_server_close(srv);
	uv_run(&loop, UV_RUN_DEFAULT);
	net_server_free(srv);
	assert_int_equal(uv_loop_close(&loop), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_keep_alive_reuse, t_setup, t_teardown),
		cmocka_unit_test_setup_teardown(test_post_and_head, t_setup, t_teardown),
		cmocka_unit_test_setup_teardown(test_async_answer, t_setup, t_teardown),
		cmocka_unit_test_setup_teardown(test_pipelining_in_order, t_setup, t_teardown),
		cmocka_unit_test_setup_teardown(test_expect_continue, t_setup, t_teardown),
		cmocka_unit_test_setup_teardown(test_body_too_large, t_setup, t_teardown),
		cmocka_unit_test_setup_teardown(test_headers_too_large, t_setup, t_teardown),
		cmocka_unit_test_setup_teardown(test_garbage_then_new_connection, t_setup, t_teardown),
		cmocka_unit_test_setup_teardown(test_connection_close_and_http10, t_setup, t_teardown),
		cmocka_unit_test_setup_teardown(test_header_timeout_slowloris, t_setup_timeouts, t_teardown),
		cmocka_unit_test_setup_teardown(test_idle_timeout, t_setup_timeouts, t_teardown),
		cmocka_unit_test_setup_teardown(test_slow_reader, t_setup_timeouts, t_teardown),
		cmocka_unit_test_setup_teardown(test_disconnect_before_response, t_setup, t_teardown),
		cmocka_unit_test_setup_teardown(test_close_with_open_connections, t_setup, t_teardown),
		cmocka_unit_test_setup_teardown(test_max_connections, t_setup_two_conns, t_teardown),
		cmocka_unit_test(test_listen_addresses),
	};

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
