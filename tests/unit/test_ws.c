/*
 * test_ws.c — the WebSocket server (src/net/ws.c over http.c): a real
 * net_server on a loopback port in a thread with its own libuv loop, and a
 * tiny hand-written client over blocking sockets that masks its frames.
 *
 * The server accepts upgrades on "/ws"; the query sets the connection's
 * slot and limits: id=N (slot), msg=, pend= (bytes), ping=, pong= (ms).
 * Text messages are echoed, except commands starting with '!' (see
 * t_on_message).  Other paths are answered 404 with net_req_respond, also
 * upgrade requests.  The socket-free receive side (struct ws_parser) and
 * net_sha1 are tested directly too.  Every server test ends by closing the
 * server, running the loop dry, checking uv_loop_close() and that no
 * struct ws_frame is left alive.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <malloc.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
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
#include "net/ws.h"
#include "net/ws_int.h"
#include "util/err.h"

#define T_SLOTS 512              /* server-side connections the test tracks */
#define T_CLIENT_BUF (1 << 20)   /* bytes a test client buffers */
#define T_RECV_TIMEOUT_S 10
#define T_RFC_KEY "dGhlIHNhbXBsZSBub25jZQ=="
#define T_RFC_ACCEPT "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="

#include "ut_asan.h"

/* ---- the server ------------------------------------------------------------------ */

struct t_slot {
	struct ws_conn *c;           /* loop thread only */
	int used;                    /* under mu from here on */
	int closed;
	int code;
	unsigned nmsgs;
};

struct t_srv {
	uv_loop_t loop;
	uv_async_t async;
	struct net_server *srv;
	pthread_t loop_thread;
	int port;
	int loop_close_rc;
	int stopped;
	struct ws_frame *shared;     /* loop thread: "!shared" keeps one reference */

	pthread_mutex_t mu;
	pthread_cond_t cv;
	/* under mu */
	struct t_slot slots[T_SLOTS];
	int cmd_stop;
	char last_upgrade[64];       /* req->upgrade of the last non-/ws request */
	unsigned bursts_refused;     /* sends that returned PL_TOOBIG */
};

static long t_query_num(const char *query, const char *name, long def)
{
	size_t n = strlen(name);

	for (const char *p = query; p != NULL && *p != '\0';) {
		if (strncmp(p, name, n) == 0 && p[n] == '=')
			return strtol(p + n + 1, NULL, 10);
		p = strchr(p, '&');
		if (p != NULL)
			p++;
	}
	return def;
}

static struct t_slot *t_slot_of(struct ws_conn *c)
{
	return ws_conn_data(c);
}

static void t_reply(struct ws_conn *c, const char *fmt, ...)
{
	char buf[256];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	ws_conn_send_text(c, buf, (size_t)n);
}

/* Sends f to every open connection (loop thread). */
static void t_fan_out(struct t_srv *t, struct ws_frame *f)
{
	for (int i = 0; i < T_SLOTS; i++) {
		struct ws_conn *c = t->slots[i].c;

		if (c != NULL && ws_conn_send_frame(c, f) == PL_TOOBIG) {
			pthread_mutex_lock(&t->mu);
			t->bursts_refused++;
			pthread_mutex_unlock(&t->mu);
		}
	}
}

/* Commands:
 *   !close CODE REASON   ws_conn_close
 *   !burst N SIZE        N frames of SIZE bytes ("<seq>:" then 'x's) to every connection
 *   !shared SIZE         one frame to every connection, kept for !refs
 *   !refs                answers "refs=<count of the shared frame>"
 *   !unshare             drops the kept reference, answers "unshared"
 *   !big N               N bytes to this connection only
 *   !info                answers "peer=<ip> pending=<n> data=<ok|bad>"
 *   !mine N SIZE [THEN]  N frames of SIZE bytes ("<seq>:" then 'x's) to this connection
 *                        only, then in the same loop iteration THEN: "close" (ws_conn_close
 *                        1000), "big B" (B bytes: past pend= a 4408) or "shutdown"
 *                        (net_server_close), while the frames still wait for the flush
 *   anything else        echoed */
static void t_on_message(void *ctx, struct ws_conn *c, const char *text, size_t len)
{
	struct t_srv *t = ctx;
	struct t_slot *s = t_slot_of(c);
	unsigned n, size;
	int code;
	char *buf;

	pthread_mutex_lock(&t->mu);
	s->nmsgs++;
	pthread_mutex_unlock(&t->mu);
	if (strncmp(text, "!close ", 7) == 0) {
		code = atoi(text + 7);
		ws_conn_close(c, code, strchr(text + 7, ' ') ? strchr(text + 7, ' ') + 1 : NULL);
	} else if (sscanf(text, "!burst %u %u", &n, &size) == 2) {
		buf = malloc(size + 1);
		for (unsigned i = 0; buf != NULL && i < n; i++) {
			struct ws_frame *f;
			int k = snprintf(buf, size + 1, "%u:", i);

			memset(buf + k, 'x', size - (unsigned)k);
			f = ws_frame_new(buf, size);
			t_fan_out(t, f);
			ws_frame_unref(f);
		}
		free(buf);
	} else if (sscanf(text, "!mine %u %u", &n, &size) == 2) {
		const char *then = strchr(text + 6, ' ');
		unsigned big;

		then = then != NULL ? strchr(then + 1, ' ') : NULL;
		buf = malloc(size + 1);
		for (unsigned i = 0; buf != NULL && i < n; i++) {
			int k = snprintf(buf, size + 1, "%u:", i);

			memset(buf + k, 'x', size - (unsigned)k);
			ws_conn_send_text(c, buf, size);
		}
		free(buf);
		if (then == NULL)
			return;
		if (strcmp(then + 1, "close") == 0) {
			ws_conn_close(c, 1000, "done");
		} else if (sscanf(then + 1, "big %u", &big) == 1) {
			buf = calloc(1, big);
			if (ws_conn_send_text(c, buf, big) == PL_TOOBIG) {
				pthread_mutex_lock(&t->mu);
				t->bursts_refused++;
				pthread_mutex_unlock(&t->mu);
			}
			free(buf);
		} else if (strcmp(then + 1, "shutdown") == 0) {
			net_server_close(t->srv);
		}
	} else if (sscanf(text, "!shared %u", &size) == 1) {
		buf = malloc(size);
		for (unsigned i = 0; i < size; i++)
			buf[i] = (char)('a' + i % 26);
		t->shared = ws_frame_new(buf, size);
		free(buf);
		t_fan_out(t, t->shared);
	} else if (strcmp(text, "!refs") == 0) {
		t_reply(c, "refs=%u", t->shared ? ws_frame_refs(t->shared) : 0);
	} else if (strcmp(text, "!unshare") == 0) {
		ws_frame_unref(t->shared);
		t->shared = NULL;
		t_reply(c, "unshared");
	} else if (sscanf(text, "!big %u", &size) == 1) {
		buf = calloc(1, size);
		if (ws_conn_send_text(c, buf, size) == PL_TOOBIG) {
			pthread_mutex_lock(&t->mu);
			t->bursts_refused++;
			pthread_mutex_unlock(&t->mu);
		}
		free(buf);
	} else if (strcmp(text, "!info") == 0) {
		char ip[NET_PEER_IP_MAX];

		t_reply(c, "peer=%s pending=%zu data=%s", ws_conn_peer_ip(c, ip, sizeof(ip)), ws_conn_pending(c),
			t_slot_of(c) == s ? "ok" : "bad");
	} else {
		ws_conn_send_text(c, text, len);
	}
}

static void t_on_close(void *ctx, struct ws_conn *c, int code)
{
	struct t_srv *t = ctx;
	struct t_slot *s = t_slot_of(c);

	s->c = NULL;
	pthread_mutex_lock(&t->mu);
	s->closed = 1;
	s->code = code;
	pthread_cond_broadcast(&t->cv);
	pthread_mutex_unlock(&t->mu);
}

static const struct ws_callbacks t_callbacks = {t_on_message, t_on_close};

static void t_on_request(void *ctx, struct net_req *req)
{
	struct t_srv *t = ctx;
	struct ws_limits lim;
	struct ws_conn *c;
	struct t_slot *s = NULL;
	int close_now;
	long id;

	if (strcmp(req->path, "/ws") != 0) {
		pthread_mutex_lock(&t->mu);
		snprintf(t->last_upgrade, sizeof(t->last_upgrade), "%s", req->upgrade ? req->upgrade : "-");
		pthread_mutex_unlock(&t->mu);
		net_req_respond(req, 404, "text/plain", "no", 2, NULL);
		return;
	}
	ws_limits_default(&lim);
	lim.max_message_bytes = (size_t)t_query_num(req->query, "msg", (long)lim.max_message_bytes);
	lim.max_pending_bytes = (size_t)t_query_num(req->query, "pend", (long)lim.max_pending_bytes);
	lim.ping_interval_ms = (unsigned)t_query_num(req->query, "ping", (long)lim.ping_interval_ms);
	lim.pong_timeout_ms = (unsigned)t_query_num(req->query, "pong", (long)lim.pong_timeout_ms);
	id = t_query_num(req->query, "id", -1);
	close_now = t_query_num(req->query, "closenow", 0) != 0;
	pthread_mutex_lock(&t->mu);
	if (id < 0)
		for (id = 0; id < T_SLOTS && t->slots[id].used; id++)
			;
	if (id < T_SLOTS) {
		s = &t->slots[id];
		memset(s, 0, sizeof(*s));
		s->used = 1;
	}
	pthread_mutex_unlock(&t->mu);
	c = net_req_accept_ws(req, &lim, &t_callbacks, t);
	if (s == NULL)
		return;
	if (c == NULL) {
		pthread_mutex_lock(&t->mu);
		s->used = 0;
		pthread_mutex_unlock(&t->mu);
		return;
	}
	s->c = c;
	ws_conn_set_data(c, s);
	if (close_now)
		ws_conn_close(c, 4401, "now");
}

static void t_on_async(uv_async_t *a)
{
	struct t_srv *t = a->data;
	int stop;

	pthread_mutex_lock(&t->mu);
	stop = t->cmd_stop;
	pthread_mutex_unlock(&t->mu);
	if (stop) {
		ws_frame_unref(t->shared);
		t->shared = NULL;
		net_server_close(t->srv);
		uv_close((uv_handle_t *)&t->async, NULL);
	}
}

static void *t_loop_main(void *arg)
{
	struct t_srv *t = arg;

	uv_run(&t->loop, UV_RUN_DEFAULT);
	net_server_free(t->srv);
	t->loop_close_rc = uv_loop_close(&t->loop);
	return NULL;
}

static int t_setup(void **state)
{
	struct t_srv *t = calloc(1, sizeof(*t));
	struct net_limits l;
	char err[256];

	assert_non_null(t);
	net_limits_default(&l);
	pthread_mutex_init(&t->mu, NULL);
	pthread_cond_init(&t->cv, NULL);
	assert_int_equal(uv_loop_init(&t->loop), 0);
	assert_int_equal(uv_async_init(&t->loop, &t->async, t_on_async), 0);
	t->async.data = t;
	t->srv = net_server_new(&t->loop, &l, t_on_request, t);
	assert_non_null(t->srv);
	if (net_server_listen(t->srv, "127.0.0.1:0", err, sizeof(err)) != 0)
		fail_msg("listen: %s", err);
	t->port = net_server_port(t->srv);
	assert_true(t->port > 0);
	assert_int_equal(pthread_create(&t->loop_thread, NULL, t_loop_main, t), 0);
	*state = t;
	return 0;
}

/* Closes the server and runs its loop dry. */
static void t_stop(struct t_srv *t)
{
	if (t->stopped)
		return;
	t->stopped = 1;
	pthread_mutex_lock(&t->mu);
	t->cmd_stop = 1;
	pthread_mutex_unlock(&t->mu);
	uv_async_send(&t->async);
	pthread_join(t->loop_thread, NULL);
	assert_int_equal(t->loop_close_rc, 0);
}

static int t_teardown(void **state)
{
	struct t_srv *t = *state;

	t_stop(t);
	/* Every connection was told on_close, and every frame is gone. */
	for (int i = 0; i < T_SLOTS; i++)
		if (t->slots[i].used)
			assert_int_equal(t->slots[i].closed, 1);
	assert_int_equal(ws_frames_live(), 0);
	pthread_cond_destroy(&t->cv);
	pthread_mutex_destroy(&t->mu);
	free(t);
	return 0;
}

/* Waits (at most 10 s) for slot id's on_close and returns its code. */
static int t_wait_close(struct t_srv *t, int id)
{
	struct timespec ts;
	int code = -1;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += 10;
	pthread_mutex_lock(&t->mu);
	while (!t->slots[id].closed)
		if (pthread_cond_timedwait(&t->cv, &t->mu, &ts) != 0)
			break;
	if (t->slots[id].closed)
		code = t->slots[id].code;
	pthread_mutex_unlock(&t->mu);
	if (code < 0)
		fail_msg("slot %d was not closed", id);
	return code;
}

static int t_is_closed(struct t_srv *t, int id)
{
	int closed;

	pthread_mutex_lock(&t->mu);
	closed = t->slots[id].closed;
	pthread_mutex_unlock(&t->mu);
	return closed;
}

/* ---- a tiny blocking WebSocket client ------------------------------------------------ */

struct t_client {
	int fd;
	char *buf;                   /* T_CLIENT_BUF + 1 */
	size_t len;
};

struct t_frame {
	int fin;
	int opcode;
	int masked;
	char *data;                  /* malloc'd, NUL-terminated */
	size_t len;
};

static double t_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void t_sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

	nanosleep(&ts, NULL);
}

static struct t_client *t_client_new(void)
{
	struct t_client *cl = calloc(1, sizeof(*cl));

	assert_non_null(cl);
	cl->buf = malloc(T_CLIENT_BUF + 1);
	assert_non_null(cl->buf);
	return cl;
}

/* Connects cl to the server; rcvbuf > 0 sets SO_RCVBUF first. */
static void t_client_connect(struct t_client *cl, struct t_srv *t, int rcvbuf)
{
	struct sockaddr_in sin;
	struct timeval tv = {T_RECV_TIMEOUT_S, 0};
	int one = 1;

	cl->fd = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(cl->fd >= 0);
	if (rcvbuf > 0)
		setsockopt(cl->fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons((uint16_t)t->port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(connect(cl->fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	setsockopt(cl->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(cl->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

/* A TCP connection to the server; rcvbuf > 0 sets SO_RCVBUF first. */
static struct t_client *t_connect_raw(struct t_srv *t, int rcvbuf)
{
	struct t_client *cl = t_client_new();

	t_client_connect(cl, t, rcvbuf);
	return cl;
}

static void t_close(struct t_client *cl)
{
	close(cl->fd);
	free(cl->buf);
	free(cl);
}

static void t_send(struct t_client *cl, const void *data, size_t len)
{
	const char *s = data;

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

	assert_true(cl->len < T_CLIENT_BUF);
	n = recv(cl->fd, cl->buf + cl->len, T_CLIENT_BUF - cl->len, 0);
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

/* Reads an HTTP response head; returns its status and copies the head. */
static int t_read_head(struct t_client *cl, char *head, size_t cap)
{
	char *end;
	size_t hlen;

	while ((end = strstr(cl->buf, "\r\n\r\n")) == NULL)
		if (t_fill(cl) <= 0)
			return -1;
	hlen = (size_t)(end - cl->buf) + 4;
	assert_true(hlen < cap);
	memcpy(head, cl->buf, hlen);
	head[hlen] = '\0';
	t_consume(cl, hlen);
	assert_int_equal(strncmp(head, "HTTP/1.1 ", 9), 0);
	return atoi(head + 9);
}

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

static void t_handshake_req(char *buf, size_t cap, const char *query)
{
	snprintf(buf, cap,
		 "GET /ws%s%s HTTP/1.1\r\nHost: t\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
		 "Sec-WebSocket-Key: " T_RFC_KEY "\r\nSec-WebSocket-Version: 13\r\n\r\n",
		 query[0] ? "?" : "", query);
}

/* Completes the handshake on /ws?query over cl. */
static void t_ws_handshake(struct t_client *cl, const char *query)
{
	char req[512], head[1024];

	t_handshake_req(req, sizeof(req), query);
	t_sends(cl, req);
	assert_int_equal(t_read_head(cl, head, sizeof(head)), 101);
}

/* Connects and completes the handshake on /ws?query. */
static struct t_client *t_ws_connect_buf(struct t_srv *t, const char *query, int rcvbuf)
{
	struct t_client *cl = t_connect_raw(t, rcvbuf);

	t_ws_handshake(cl, query);
	return cl;
}

static struct t_client *t_ws_connect(struct t_srv *t, const char *query)
{
	return t_ws_connect_buf(t, query, 0);
}

/* Encodes a client frame (masked unless told otherwise) into out; returns
 * its length.  len_form forces the length encoding (0 minimal, 1 16-bit,
 * 2 64-bit). */
static size_t t_frame_encode(unsigned char *out, int b0, const void *payload, size_t len,
			     int masked, int len_form)
{
	const unsigned char *p = payload;
	unsigned char mask[4] = {0x12, 0x34, 0x56, (unsigned char)rand()};
	size_t n = 0;

	out[n++] = (unsigned char)b0;
	if (len_form == 0 && len < 126) {
		out[n++] = (unsigned char)((masked ? 0x80 : 0) | len);
	} else if (len_form <= 1 && len <= 0xFFFF) {
		out[n++] = (unsigned char)((masked ? 0x80 : 0) | 126);
		out[n++] = (unsigned char)(len >> 8);
		out[n++] = (unsigned char)len;
	} else {
		out[n++] = (unsigned char)((masked ? 0x80 : 0) | 127);
		for (int i = 0; i < 8; i++)
			out[n++] = (unsigned char)((uint64_t)len >> (56 - 8 * i));
	}
	if (masked) {
		memcpy(out + n, mask, 4);
		n += 4;
	}
	for (size_t i = 0; i < len; i++)
		out[n + i] = masked ? p[i] ^ mask[i % 4] : p[i];
	return n + len;
}

/* Sends one frame: b0 is FIN|RSV|opcode. */
static void t_ws_send_b0(struct t_client *cl, int b0, const void *payload, size_t len, int masked)
{
	unsigned char *buf = malloc(len + 14);

	assert_non_null(buf);
	t_send(cl, buf, t_frame_encode(buf, b0, payload, len, masked, 0));
	free(buf);
}

static void t_ws_send(struct t_client *cl, int opcode, int fin, const void *payload, size_t len)
{
	t_ws_send_b0(cl, (fin ? 0x80 : 0) | opcode, payload, len, 1);
}

static void t_ws_text(struct t_client *cl, const char *s)
{
	t_ws_send(cl, 1, 1, s, strlen(s));
}

static void t_ws_close_frame(struct t_client *cl, int code, const char *reason)
{
	char buf[128] = {0};
	size_t n = 0;

	if (code > 0) {
		buf[0] = (char)(code >> 8);
		buf[1] = (char)code;
		n = 2;
		if (reason != NULL) {
			memcpy(buf + 2, reason, strlen(reason));
			n += strlen(reason);
		}
	}
	t_ws_send(cl, 8, 1, buf, n);
}

/* Reads one frame.  Returns 0, or -1 if the connection ended first. */
static int t_ws_read(struct t_client *cl, struct t_frame *fr)
{
	size_t need = 2, hlen, plen;
	const unsigned char *b;

	memset(fr, 0, sizeof(*fr));
	for (;;) {
		b = (const unsigned char *)cl->buf;
		if (cl->len >= 2) {
			unsigned l7 = b[1] & 0x7F;

			need = 2 + (l7 == 126 ? 2 : l7 == 127 ? 8 : 0) + ((b[1] & 0x80) ? 4 : 0);
			if (cl->len >= need) {
				hlen = need;
				plen = l7;
				if (l7 == 126)
					plen = (size_t)b[2] << 8 | b[3];
				if (l7 == 127)
					for (int i = 0; i < 8; i++)
						plen = plen << 8 | b[2 + i];
				need = hlen + plen;
				assert_true(need <= T_CLIENT_BUF);
				if (cl->len >= need)
					break;
			}
		}
		if (t_fill(cl) <= 0)
			return -1;
	}
	fr->fin = b[0] >> 7;
	fr->opcode = b[0] & 0x0F;
	fr->masked = b[1] >> 7;
	fr->len = plen;
	fr->data = malloc(plen + 1);
	assert_non_null(fr->data);
	memcpy(fr->data, cl->buf + hlen, plen);
	fr->data[plen] = '\0';
	t_consume(cl, need);
	return 0;
}

static void t_frame_free(struct t_frame *fr)
{
	free(fr->data);
	fr->data = NULL;
}

/* Expects a text frame equal to want. */
static void t_expect_text(struct t_client *cl, const char *want, size_t len)
{
	struct t_frame fr;

	assert_int_equal(t_ws_read(cl, &fr), 0);
	assert_int_equal(fr.opcode, 1);
	assert_int_equal(fr.fin, 1);
	assert_int_equal(fr.masked, 0);
	assert_int_equal(fr.len, len);
	assert_memory_equal(fr.data, want, len);
	t_frame_free(&fr);
}

/* Expects the peer to close within secs (EOF or reset). */
static void t_expect_eof(struct t_client *cl, double secs)
{
	double start = t_now();
	ssize_t n;

	cl->len = 0;
	while ((n = t_fill(cl)) > 0) {
		cl->len = 0;
		assert_true(t_now() - start < secs);
	}
	assert_true(n == 0 || errno == ECONNRESET);
	assert_true(t_now() - start < secs);
}

/* Expects a close frame with code (0: none), then the end of the connection. */
static void t_expect_close(struct t_client *cl, int code)
{
	struct t_frame fr;

	assert_int_equal(t_ws_read(cl, &fr), 0);
	assert_int_equal(fr.opcode, 8);
	assert_int_equal(fr.masked, 0);
	if (code == 0) {
		assert_int_equal(fr.len, 0);
	} else {
		assert_true(fr.len >= 2);
		assert_int_equal(((unsigned char)fr.data[0] << 8) | (unsigned char)fr.data[1], code);
	}
	t_frame_free(&fr);
	t_expect_eof(cl, 5);
}

/* Connects to /ws?id=ID, sends raw bytes, expects a close with code, and
 * the server's on_close with the same code. */
static void t_expect_fail(struct t_srv *t, int id, const void *bytes, size_t len, int code)
{
	char q[32];
	struct t_client *cl;

	snprintf(q, sizeof(q), "id=%d", id);
	cl = t_ws_connect(t, q);
	t_send(cl, bytes, len);
	t_expect_close(cl, code);
	t_close(cl); /* the peer goes away: the server need not wait out its close handshake */
	assert_int_equal(t_wait_close(t, id), code);
}

static void t_expect_fail_frame(struct t_srv *t, int id, int b0, const void *payload, size_t len,
				int code)
{
	unsigned char buf[512];

	t_expect_fail(t, id, buf, t_frame_encode(buf, b0, payload, len, 1, 0), code);
}

/* ---- tests: the pieces -------------------------------------------------------------- */

static void t_hex(const unsigned char *d, size_t n, char *out)
{
	for (size_t i = 0; i < n; i++)
		sprintf(out + 2 * i, "%02x", d[i]);
}

static void test_sha1_vectors(void **state)
{
	static const char *in[] = {"", "abc",
				   "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"};
	static const char *want[] = {"da39a3ee5e6b4b0d3255bfef95601890afd80709",
				     "a9993e364706816aba3e25717850c26c9cd0d89d",
				     "84983e441c3bd26ebaae4aa1f95129e5e54670f1"};
	unsigned char d[NET_SHA1_LEN];
	char hex[2 * NET_SHA1_LEN + 1];
	char *million = malloc(1000000);

	for (size_t i = 0; i < 3; i++) {
		net_sha1(in[i], strlen(in[i]), d);
		t_hex(d, sizeof(d), hex);
		assert_string_equal(hex, want[i]);
	}
	assert_non_null(million);
	memset(million, 'a', 1000000);
	net_sha1(million, 1000000, d);
	t_hex(d, sizeof(d), hex);
	assert_string_equal(hex, "34aa973cd4c4daa4f61eeb2bdbad27316534016f");
	free(million);
}

/* A socket-free parser that records what it yields. */
struct t_parser {
	struct ws_parser p;
	char msgs[4096];
	size_t msgs_len;
	unsigned nmsgs;
	unsigned char out[4096];
	size_t out_len;
};

static void t_parser_message(struct ws_parser *p, const char *text, size_t len)
{
	struct t_parser *tp = (struct t_parser *)(void *)p;

	if (len < sizeof(tp->msgs) - tp->msgs_len) {
		memcpy(tp->msgs + tp->msgs_len, text, len);
		tp->msgs_len += len;
	}
	tp->nmsgs++;
}

static int t_parser_output(struct ws_parser *p, const char *data, size_t len)
{
	struct t_parser *tp = (struct t_parser *)(void *)p;

	assert_true(len <= sizeof(tp->out) - tp->out_len);
	memcpy(tp->out + tp->out_len, data, len);
	tp->out_len += len;
	return 0;
}

static const struct ws_parser_ops t_parser_ops = {t_parser_message, t_parser_output};

/* The wslay context lives only while something is half-read. */
static void test_parser_context_freed_at_rest(void **state)
{
	struct t_parser tp;
	unsigned char fr[64];
	size_t n = t_frame_encode(fr, 0x81, "hello", 5, 1, 0);

	memset(&tp, 0, sizeof(tp));
	ws_parser_init(&tp.p, &t_parser_ops, 1024);
	assert_null(tp.p.wslay);
	assert_int_equal(ws_parser_feed(&tp.p, NULL, (const char *)fr, n), 0);
	assert_int_equal(tp.nmsgs, 1);
	assert_null(tp.p.wslay);
	/* Half a header, then the rest. */
	assert_int_equal(ws_parser_feed(&tp.p, NULL, (const char *)fr, 1), 0);
	assert_non_null(tp.p.wslay);
	assert_int_equal(ws_parser_feed(&tp.p, NULL, (const char *)fr + 1, n - 1), 0);
	assert_int_equal(tp.nmsgs, 2);
	assert_null(tp.p.wslay);
	/* The first fragment of a message keeps it. */
	n = t_frame_encode(fr, 0x01, "ab", 2, 1, 0);
	assert_int_equal(ws_parser_feed(&tp.p, NULL, (const char *)fr, n), 0);
	assert_non_null(tp.p.wslay);
	n = t_frame_encode(fr, 0x80, "cd", 2, 1, 0);
	assert_int_equal(ws_parser_feed(&tp.p, NULL, (const char *)fr, n), 0);
	assert_null(tp.p.wslay);
	assert_int_equal(tp.nmsgs, 3);
	assert_memory_equal(tp.msgs, "hellohelloabcd", 14);
	assert_int_equal(tp.out_len, 0);
	ws_parser_release(&tp.p);
}

/* Clears what tp recorded (not its parser). */
static void t_parser_forget(struct t_parser *tp)
{
	tp->msgs_len = 0;
	tp->nmsgs = 0;
	tp->out_len = 0;
}

/* Feeds in[0..n) to a fresh parser (limit max) whole, then byte by byte,
 * into *whole and *bytes: the fast path (whole frames, no wslay context)
 * and wslay's path must give the same messages, output, state and code. */
static void t_fast_same(const unsigned char *in, size_t n, size_t max, struct t_parser *whole,
			struct t_parser *bytes)
{
	memset(whole, 0, sizeof(*whole));
	memset(bytes, 0, sizeof(*bytes));
	ws_parser_init(&whole->p, &t_parser_ops, max);
	ws_parser_init(&bytes->p, &t_parser_ops, max);
	(void)ws_parser_feed(&whole->p, NULL, (const char *)in, n);
	for (size_t i = 0; i < n; i++)
		(void)ws_parser_feed(&bytes->p, NULL, (const char *)in + i, 1);
	assert_int_equal(whole->nmsgs, bytes->nmsgs);
	assert_int_equal(whole->msgs_len, bytes->msgs_len);
	assert_memory_equal(whole->msgs, bytes->msgs, whole->msgs_len);
	assert_int_equal(whole->out_len, bytes->out_len);
	assert_memory_equal(whole->out, bytes->out, whole->out_len);
	assert_int_equal(whole->p.state, bytes->p.state);
	assert_int_equal(whole->p.code, bytes->p.code);
	ws_parser_release(&whole->p);
	ws_parser_release(&bytes->p);
}

/* Whole text frames are read without wslay (ws_parser_fast): several in
 * one read, with a 16-bit length, empty, followed by a partial frame, a
 * ping or a close; and what the fast path leaves to wslay — invalid UTF-8,
 * a non-minimal length, a message past the limit, an unmasked or
 * fragmented frame, an RSV bit — ends as it does when fed byte by byte. */
static void test_parser_fast_path(void **state)
{
	struct t_parser w, b;
	unsigned char in[4096];
	char big[300];
	size_t n;

	memset(big, 'x', sizeof(big));
	/* Three messages, one read: no context taken. */
	n = t_frame_encode(in, 0x81, "one", 3, 1, 0);
	n += t_frame_encode(in + n, 0x81, big, sizeof(big), 1, 0);
	n += t_frame_encode(in + n, 0x81, "", 0, 1, 0);
	memset(&w, 0, sizeof(w));
	ws_parser_init(&w.p, &t_parser_ops, 1024);
	assert_int_equal(ws_parser_feed(&w.p, NULL, (const char *)in, n), 0);
	assert_int_equal(w.nmsgs, 3);
	assert_int_equal(w.msgs_len, 3 + sizeof(big));
	assert_null(w.p.wslay);
	/* ... and one more cut short: wslay holds the rest. */
	n = t_frame_encode(in, 0x81, "two", 3, 1, 0);
	n += t_frame_encode(in + n, 0x81, "three", 5, 1, 0);
	assert_int_equal(ws_parser_feed(&w.p, NULL, (const char *)in, n - 2), 0);
	assert_int_equal(w.nmsgs, 4);
	assert_non_null(w.p.wslay);
	assert_int_equal(ws_parser_feed(&w.p, NULL, (const char *)in + n - 2, 2), 0);
	assert_int_equal(w.nmsgs, 5);
	assert_null(w.p.wslay);
	ws_parser_release(&w.p);

	/* The same answers whole and byte by byte. */
	n = t_frame_encode(in, 0x81, "a", 1, 1, 0);
	n += t_frame_encode(in + n, 0x89, "pi", 2, 1, 0);
	n += t_frame_encode(in + n, 0x81, "b", 1, 1, 0);
	n += t_frame_encode(in + n, 0x88, "\x03\xe8", 2, 1, 0);
	n += t_frame_encode(in + n, 0x81, "after close", 11, 1, 0);
	t_fast_same(in, n, 1024, &w, &b);
	assert_int_equal(w.nmsgs, 2);
	n = t_frame_encode(in, 0x81, "ok", 2, 1, 0);
	n += t_frame_encode(in + n, 0x81, "\xc3\x28", 2, 1, 0); /* invalid UTF-8: 1007 */
	t_fast_same(in, n, 1024, &w, &b);
	assert_int_equal(w.p.code, 1007);
	n = t_frame_encode(in, 0x81, "ok", 2, 1, 0);
	n += t_frame_encode(in + n, 0x81, "short", 5, 1, 1); /* 16-bit length for 5 bytes: 1002 */
	t_fast_same(in, n, 1024, &w, &b);
	assert_int_equal(w.p.code, 1002);
	n = t_frame_encode(in, 0x81, big, 125, 1, 0);
	n += t_frame_encode(in + n, 0x81, big, 126, 1, 0); /* past a limit of 125: 1009 */
	t_fast_same(in, n, 125, &w, &b);
	assert_int_equal(w.nmsgs, 1);
	assert_int_equal(w.p.code, 1009);
	n = t_frame_encode(in, 0x81, big, 200, 1, 1);
	n += t_frame_encode(in + n, 0x81, "unmasked", 8, 0, 0);
	t_fast_same(in, n, 1024, &w, &b);
	assert_int_equal(w.p.code, 1002);
	n = t_frame_encode(in, 0x01, "frag", 4, 1, 0);
	n += t_frame_encode(in + n, 0x80, "ment", 4, 1, 0);
	n += t_frame_encode(in + n, 0x81, "whole", 5, 1, 0);
	n += t_frame_encode(in + n, 0xC1, "rsv1", 4, 1, 0);
	t_fast_same(in, n, 1024, &w, &b);
	assert_int_equal(w.nmsgs, 2);
	assert_int_equal(w.p.code, 1002);
}

/* Two parsers share a pool and are fed in turn, every frame cut at every
 * byte boundary: each message and pong reaches its own parser only (the
 * wslay callbacks find their parser through the pooled pair), a context
 * that saw or sent a close is not given back, and the pool never holds
 * more than WS_PARSER_POOL_MAX. */
static void test_parser_pool_shared(void **state)
{
	struct ws_parser_pool pool;
	struct t_parser a, b, many[WS_PARSER_POOL_MAX + 6];
	unsigned char fa[64], fb[64], pa[64];
	size_t na = t_frame_encode(fa, 0x81, "alpha message", 13, 1, 0);
	size_t nb = t_frame_encode(fb, 0x81, "bravo", 5, 1, 0);
	size_t np = t_frame_encode(pa, 0x89, "pA", 2, 1, 0);
	unsigned before;

	ws_parser_pool_init(&pool);
	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	ws_parser_init(&a.p, &t_parser_ops, 1024);
	ws_parser_init(&b.p, &t_parser_ops, 1024);
	for (size_t cut = 0; cut <= na; cut++) {
		size_t cb = cut < nb ? cut : nb;

		t_parser_forget(&a);
		t_parser_forget(&b);
		assert_int_equal(ws_parser_feed(&a.p, &pool, (const char *)fa, cut), 0);
		assert_int_equal(ws_parser_feed(&b.p, &pool, (const char *)fb, cb), 0);
		/* Two half-read parsers hold two different contexts. */
		if (cut > 0 && cut < na && cb > 0 && cb < nb)
			assert_ptr_not_equal(a.p.wslay, b.p.wslay);
		assert_int_equal(ws_parser_feed(&a.p, &pool, (const char *)fa + cut, na - cut), 0);
		assert_int_equal(ws_parser_feed(&b.p, &pool, (const char *)fb + cb, nb - cb), 0);
		assert_int_equal(a.nmsgs, 1);
		assert_int_equal(a.msgs_len, 13);
		assert_memory_equal(a.msgs, "alpha message", 13);
		assert_int_equal(b.nmsgs, 1);
		assert_int_equal(b.msgs_len, 5);
		assert_memory_equal(b.msgs, "bravo", 5);
		assert_int_equal(a.out_len + b.out_len, 0);
		/* Both at rest: their contexts are spares now (a frame fed
		 * whole takes none: ws_parser_fast; from cut 1 on, a took one). */
		assert_null(a.p.wslay);
		assert_null(b.p.wslay);
		assert_true((cut == 0 || pool.count >= 1) && pool.count <= 2);
	}
	/* A ping to a, cut everywhere, between messages to b: the pong is a's. */
	for (size_t cut = 0; cut <= np; cut++) {
		t_parser_forget(&a);
		t_parser_forget(&b);
		assert_int_equal(ws_parser_feed(&a.p, &pool, (const char *)pa, cut), 0);
		assert_int_equal(ws_parser_feed(&b.p, &pool, (const char *)fb, nb), 0);
		assert_int_equal(ws_parser_feed(&a.p, &pool, (const char *)pa + cut, np - cut), 0);
		assert_int_equal(a.nmsgs, 0);
		assert_int_equal(a.out_len, 4);
		assert_memory_equal(a.out, "\x8a\x02pA", 4);
		assert_int_equal(b.nmsgs, 1);
		assert_int_equal(b.out_len, 0);
		assert_null(a.p.wslay);
		assert_null(b.p.wslay);
	}
	/* A close to b: answered, and b's context (taken from the pool) is
	 * freed, not given back. */
	t_parser_forget(&a);
	t_parser_forget(&b);
	before = pool.count;
	assert_true(before >= 1);
	nb = t_frame_encode(fb, 0x88, "\x03\xe8", 2, 1, 0);
	assert_int_equal(ws_parser_feed(&b.p, &pool, (const char *)fb, nb), PL_CLOSED);
	assert_int_equal(b.p.state, WS_PARSER_DONE);
	assert_int_equal(b.p.code, 1000);
	assert_int_equal(b.out_len, 4);
	assert_null(b.p.wslay);
	assert_int_equal(pool.count, before - 1);
	/* a goes on with a spare, unaffected. */
	assert_int_equal(ws_parser_feed(&a.p, &pool, (const char *)fa, na), 0);
	assert_int_equal(a.nmsgs, 1);
	assert_int_equal(pool.count, before - 1);
	/* A close we sent: that context is not given back either. */
	assert_int_equal(ws_parser_close(&a.p, 1000, NULL, 0), 0);
	assert_int_equal(ws_parser_feed(&a.p, &pool, (const char *)fa, na), 0);
	assert_non_null(a.p.wslay);
	assert_int_equal(pool.count, before - 1);
	ws_parser_release(&a.p);
	ws_parser_release(&b.p);
	assert_int_equal(pool.count, before - 1);
	/* More parsers half-read at once than the pool keeps: once they are
	 * all at rest, the pool holds WS_PARSER_POOL_MAX and the rest were
	 * freed. */
	for (size_t i = 0; i < sizeof(many) / sizeof(many[0]); i++) {
		memset(&many[i], 0, sizeof(many[i]));
		ws_parser_init(&many[i].p, &t_parser_ops, 1024);
		assert_int_equal(ws_parser_feed(&many[i].p, &pool, (const char *)fa, 3), 0);
		assert_non_null(many[i].p.wslay);
	}
	assert_int_equal(pool.count, 0);
	for (size_t i = 0; i < sizeof(many) / sizeof(many[0]); i++) {
		assert_int_equal(ws_parser_feed(&many[i].p, &pool, (const char *)fa + 3, na - 3), 0);
		assert_int_equal(many[i].nmsgs, 1);
		assert_null(many[i].p.wslay);
		assert_true(pool.count <= WS_PARSER_POOL_MAX);
		ws_parser_release(&many[i].p);
	}
	assert_int_equal(pool.count, WS_PARSER_POOL_MAX);
	ws_parser_pool_release(&pool);
	assert_int_equal(pool.count, 0);
	assert_null(pool.spare);
}

/* wslay checks a close reason's UTF-8 chunk by chunk as if each chunk
 * began with the code: a close frame cut inside a character must still be
 * answered, not refused with 1007. */
static void test_parser_split_close_reason(void **state)
{
	static const char payload[] = "\x03\xe8" "d\xc3\xa9j\xc3\xa0 vu";
	struct t_parser tp;
	unsigned char fr[64];
	size_t n = t_frame_encode(fr, 0x88, payload, sizeof(payload) - 1, 1, 0);

	for (size_t cut = 1; cut < n; cut++) {
		memset(&tp, 0, sizeof(tp));
		ws_parser_init(&tp.p, &t_parser_ops, 1024);
		ws_parser_feed(&tp.p, NULL, (const char *)fr, cut);
		assert_int_equal(ws_parser_feed(&tp.p, NULL, (const char *)fr + cut, n - cut), PL_CLOSED);
		assert_int_equal(tp.p.state, WS_PARSER_DONE);
		assert_int_equal(tp.p.code, 1000);
		/* The answer echoes code and reason. */
		assert_int_equal(tp.out_len, 2 + sizeof(payload) - 1);
		assert_int_equal(tp.out[0], 0x88);
		assert_memory_equal(tp.out + 2, payload, sizeof(payload) - 1);
		ws_parser_release(&tp.p);
	}
}

static void test_frame_encoding(void **state)
{
	static const size_t lens[] = {0, 1, 125, 126, 65535, 65536, 70000};
	char *payload = malloc(70000);
	size_t blen;
	const unsigned char *b;

	assert_non_null(payload);
	memset(payload, 'p', 70000);
	for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		struct ws_frame *f = ws_frame_new(payload, lens[i]);
		size_t hlen = lens[i] < 126 ? 2 : lens[i] <= 65535 ? 4 : 10;

		assert_non_null(f);
		b = (const unsigned char *)ws_frame_bytes(f, &blen);
		assert_int_equal(blen, hlen + lens[i]);
		assert_int_equal(b[0], 0x81);
		assert_int_equal(b[1] & 0x80, 0);
		if (hlen == 4)
			assert_int_equal((size_t)b[2] << 8 | b[3], lens[i]);
		if (hlen == 10)
			assert_int_equal((size_t)b[6] << 24 | (size_t)b[7] << 16 | (size_t)b[8] << 8 | b[9],
					 lens[i]);
		assert_int_equal(ws_frame_refs(f), 1);
		ws_frame_ref(f);
		assert_int_equal(ws_frame_refs(f), 2);
		ws_frame_unref(f);
		ws_frame_unref(f);
	}
	ws_frame_unref(NULL);
	assert_int_equal(ws_frames_live(), 0);
	free(payload);
}

/* A frame of three pieces (a pushed update: head, body, tail) is byte for
 * byte the frame of the pieces joined, across the header's three sizes and
 * with empty pieces. */
static void test_frame_three_pieces(void **state)
{
	static const size_t lens[] = {0, 1, 124, 125, 126, 65535, 65536, 70000};
	char *payload = malloc(70000);

	assert_non_null(payload);
	for (size_t i = 0; i < 70000; i++)
		payload[i] = (char)('a' + i % 26);
	for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		size_t n = lens[i], cuts[][2] = {{0, 0}, {0, n}, {n, n}, {n / 3, 2 * n / 3}, {1 < n ? 1 : n, n}};

		for (size_t k = 0; k < sizeof(cuts) / sizeof(cuts[0]); k++) {
			size_t a = cuts[k][0], b = cuts[k][1], l1, l3;
			struct ws_frame *one = ws_frame_new(payload, n);
			struct ws_frame *three = ws_frame_new3(payload, a, payload + a, b - a, payload + b, n - b);
			const char *p1, *p3;

			assert_non_null(one);
			assert_non_null(three);
			p1 = ws_frame_bytes(one, &l1);
			p3 = ws_frame_bytes(three, &l3);
			assert_int_equal(l1, l3);
			assert_memory_equal(p1, p3, l1);
			ws_frame_unref(one);
			ws_frame_unref(three);
		}
	}
	assert_int_equal(ws_frames_live(), 0);
	free(payload);
}

/* ---- tests: the server ---------------------------------------------------------------- */

static void test_handshake_rfc_key(void **state)
{
	struct t_srv *t = *state;
	struct t_client *cl = t_connect_raw(t, 0);
	char req[512], head[1024];

	t_handshake_req(req, sizeof(req), "id=1");
	t_sends(cl, req);
	assert_int_equal(t_read_head(cl, head, sizeof(head)), 101);
	assert_string_equal(strtok(strstr(head, "Sec-WebSocket-Accept: ") + 22, "\r"), T_RFC_ACCEPT);
	assert_non_null(strstr(head, "\r\nUpgrade: websocket\r\n"));
	assert_non_null(strstr(head, "\r\nConnection: Upgrade\r\n"));
	/* The connection speaks WebSocket now. */
	t_ws_text(cl, "!info");
	t_expect_text(cl, "peer=127.0.0.1 pending=0 data=ok", 32);
	t_ws_close_frame(cl, 1000, "bye");
	t_expect_close(cl, 1000);
	assert_int_equal(t_wait_close(t, 1), 1000);
	t_close(cl);
}

static void test_echo(void **state)
{
	struct t_srv *t = *state;
	struct t_client *cl = t_ws_connect(t, "id=1");
	static const size_t lens[] = {0, 1, 125, 126, 65535, 65536, 200000};
	char *big = malloc(200000);

	assert_non_null(big);
	for (size_t i = 0; i < 200000; i++)
		big[i] = (char)('A' + i % 26);
	t_ws_text(cl, "hello");
	t_expect_text(cl, "hello", 5);
	for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		t_ws_send(cl, 1, 1, big, lens[i]);
		t_expect_text(cl, big, lens[i]);
	}
	/* Non-ASCII and NUL: a message with NUL arrives with its true length. */
	t_ws_text(cl, "h\xc3\xa9llo \xe2\x82\xac \xf0\x9f\x98\x80");
	t_expect_text(cl, "h\xc3\xa9llo \xe2\x82\xac \xf0\x9f\x98\x80", 15);
	t_ws_send(cl, 1, 1, "a\0b", 3);
	t_expect_text(cl, "a\0b", 3);
	/* A frame sent a byte at a time. */
	{
		unsigned char fr[64];
		size_t n = t_frame_encode(fr, 0x81, "slowly", 6, 1, 0);

		for (size_t k = 0; k < n; k++) {
			t_send(cl, fr + k, 1);
			t_sleep_ms(2);
		}
		t_expect_text(cl, "slowly", 6);
	}
	free(big);
	t_close(cl);
	assert_int_equal(t_wait_close(t, 1), 1006);
}

static void test_fragmented(void **state)
{
	struct t_srv *t = *state;
	struct t_client *cl = t_ws_connect(t, "id=1");
	struct t_frame fr;

	t_ws_send(cl, 1, 0, "Hel", 3);
	t_ws_send(cl, 9, 1, "mid", 3); /* a control frame between fragments */
	t_ws_send(cl, 0, 0, "lo", 2);
	t_ws_send(cl, 0, 0, "", 0);
	t_ws_send(cl, 0, 1, ", world", 7);
	assert_int_equal(t_ws_read(cl, &fr), 0);
	assert_int_equal(fr.opcode, 0xA);
	assert_string_equal(fr.data, "mid");
	t_frame_free(&fr);
	t_expect_text(cl, "Hello, world", 12);
	/* A character cut between fragments. */
	t_ws_send(cl, 1, 0, "\xe2\x82", 2);
	t_ws_send(cl, 0, 1, "\xac", 1);
	t_expect_text(cl, "\xe2\x82\xac", 3);
	t_close(cl);
	assert_int_equal(t_wait_close(t, 1), 1006);
}

static void test_ping_pong(void **state)
{
	struct t_srv *t = *state;
	struct t_client *cl = t_ws_connect(t, "id=1");
	struct t_frame fr;

	t_ws_send(cl, 9, 1, "are you there", 13);
	assert_int_equal(t_ws_read(cl, &fr), 0);
	assert_int_equal(fr.opcode, 0xA);
	assert_int_equal(fr.fin, 1);
	assert_string_equal(fr.data, "are you there");
	t_frame_free(&fr);
	t_ws_send(cl, 9, 1, "", 0);
	assert_int_equal(t_ws_read(cl, &fr), 0);
	assert_int_equal(fr.opcode, 0xA);
	assert_int_equal(fr.len, 0);
	t_frame_free(&fr);
	/* An unsolicited pong is ignored. */
	t_ws_send(cl, 0xA, 1, "x", 1);
	t_ws_text(cl, "still here");
	t_expect_text(cl, "still here", 10);
	t_close(cl);
	assert_int_equal(t_wait_close(t, 1), 1006);
}

static void test_close_handshake(void **state)
{
	struct t_srv *t = *state;
	struct t_client *cl = t_ws_connect(t, "id=1");
	struct t_frame fr;

	/* The peer closes: answered with its code and reason, then TCP closed. */
	t_ws_close_frame(cl, 4000, "going");
	assert_int_equal(t_ws_read(cl, &fr), 0);
	assert_int_equal(fr.opcode, 8);
	assert_memory_equal(fr.data, "\x0f\xa0going", 7);
	t_frame_free(&fr);
	t_expect_eof(cl, 5);
	assert_int_equal(t_wait_close(t, 1), 4000);
	t_close(cl);

	/* A close without a code. */
	cl = t_ws_connect(t, "id=2");
	t_ws_close_frame(cl, 0, NULL);
	t_expect_close(cl, 0);
	assert_int_equal(t_wait_close(t, 2), 1005);
	t_close(cl);

	/* The server closes: the peer answers, the server ends TCP. */
	cl = t_ws_connect(t, "id=3");
	t_ws_text(cl, "!close 4401 not authenticated");
	assert_int_equal(t_ws_read(cl, &fr), 0);
	assert_int_equal(fr.opcode, 8);
	assert_memory_equal(fr.data, "\x11\x31not authenticated", 19);
	t_frame_free(&fr);
	/* Messages after the server's close are dropped, not echoed. */
	t_ws_text(cl, "late");
	assert_false(t_is_closed(t, 3));
	t_ws_close_frame(cl, 4401, NULL);
	t_expect_eof(cl, 5);
	assert_int_equal(t_wait_close(t, 3), 4401);
	t_close(cl);

	/* A code a server may not send becomes 1000. */
	cl = t_ws_connect(t, "id=4");
	t_ws_text(cl, "!close 1005 x");
	assert_int_equal(t_ws_read(cl, &fr), 0);
	assert_int_equal(fr.opcode, 8);
	assert_memory_equal(fr.data, "\x03\xe8x", 3);
	t_frame_free(&fr);
	t_ws_close_frame(cl, 1000, NULL);
	t_expect_eof(cl, 5);
	assert_int_equal(t_wait_close(t, 4), 1000);
	t_close(cl);
}

static void test_unmasked_frame(void **state)
{
	unsigned char buf[64];

	t_expect_fail(*state, 1, buf, t_frame_encode(buf, 0x81, "hi", 2, 0, 0), 1002);
}

static void test_protocol_errors(void **state)
{
	struct t_srv *t = *state;
	char long_ping[126];
	unsigned char buf[512];
	size_t n;

	memset(long_ping, 'p', sizeof(long_ping));
	t_expect_fail_frame(t, 1, 0x83, "x", 1, 1002);         /* reserved opcode 3 */
	t_expect_fail_frame(t, 2, 0x8B, "", 0, 1002);          /* reserved control opcode */
	t_expect_fail_frame(t, 3, 0xC1, "x", 1, 1002);         /* RSV1 */
	t_expect_fail_frame(t, 4, 0x91, "x", 1, 1002);         /* RSV3 */
	t_expect_fail_frame(t, 5, 0x09, "x", 1, 1002);         /* fragmented ping */
	t_expect_fail_frame(t, 6, 0x89, long_ping, 126, 1002); /* ping > 125 bytes */
	t_expect_fail_frame(t, 7, 0x80, "x", 1, 1002);         /* continuation first */
	t_expect_fail_frame(t, 8, 0x88, "\x03", 1, 1002);      /* one-byte close payload */
	t_expect_fail_frame(t, 9, 0x88, "\x03\xed", 2, 1002);  /* close code 1005 */
	/* A new message inside a fragmented one. */
	n = t_frame_encode(buf, 0x01, "a", 1, 1, 0);
	n += t_frame_encode(buf + n, 0x81, "b", 1, 1, 0);
	t_expect_fail(t, 10, buf, n, 1002);
	/* Non-minimal length encodings. */
	t_expect_fail(t, 11, buf, t_frame_encode(buf, 0x81, "short", 5, 1, 1), 1002);
	t_expect_fail(t, 12, buf, t_frame_encode(buf, 0x81, long_ping, 126, 1, 2), 1002);
}

static void test_binary_refused(void **state)
{
	t_expect_fail_frame(*state, 1, 0x82, "\x00\x01", 2, 1003);
}

static void test_invalid_utf8(void **state)
{
	struct t_srv *t = *state;
	unsigned char buf[64];
	size_t n;

	t_expect_fail_frame(t, 1, 0x81, "\xff", 1, 1007);
	t_expect_fail_frame(t, 2, 0x81, "\xc0\x80", 2, 1007);          /* overlong NUL */
	t_expect_fail_frame(t, 3, 0x81, "\xed\xa0\x80", 3, 1007);      /* surrogate */
	t_expect_fail_frame(t, 4, 0x81, "\xf4\x90\x80\x80", 4, 1007);  /* > U+10FFFF */
	t_expect_fail_frame(t, 5, 0x81, "ab\xe2\x82", 4, 1007);        /* cut short */
	/* Invalid across fragments. */
	n = t_frame_encode(buf, 0x01, "\xe2\x82", 2, 1, 0);
	n += t_frame_encode(buf + n, 0x80, "(", 1, 1, 0);
	t_expect_fail(t, 6, buf, n, 1007);
	/* A close reason that is not UTF-8. */
	t_expect_fail_frame(t, 7, 0x88, "\x03\xe8\xff", 3, 1007);
}

static void test_message_too_big(void **state)
{
	struct t_srv *t = *state;
	struct t_client *cl;
	unsigned char hdr[16];
	char *chunk = calloc(1, 600);

	assert_non_null(chunk);
	/* Refused as soon as the header announces it: no payload is sent. */
	cl = t_ws_connect(t, "id=1&msg=1024");
	hdr[0] = 0x81;
	hdr[1] = 0x80 | 127;
	for (int i = 0; i < 8; i++)
		hdr[2 + i] = (unsigned char)((uint64_t)(1 << 30) >> (56 - 8 * i));
	memset(hdr + 10, 0x5a, 4);
	t_send(cl, hdr, 14);
	t_expect_close(cl, 1009);
	assert_int_equal(t_wait_close(t, 1), 1009);
	t_close(cl);

	/* Exactly the limit passes; fragments adding up past it do not. */
	cl = t_ws_connect(t, "id=2&msg=1024");
	memset(chunk, 'm', 600);
	t_ws_send(cl, 1, 0, chunk, 600);
	t_ws_send(cl, 0, 1, chunk, 424);
	{
		char want[1024];

		memset(want, 'm', sizeof(want));
		t_expect_text(cl, want, sizeof(want));
	}
	t_ws_send(cl, 1, 0, chunk, 600);
	t_ws_send(cl, 0, 1, chunk, 425);
	t_expect_close(cl, 1009);
	assert_int_equal(t_wait_close(t, 2), 1009);
	t_close(cl);
	free(chunk);
}

/* After the handshake the bytes are frames only: an HTTP request is
 * garbage ('G' = 0x47 sets RSV bits). */
static void test_second_upgrade_is_garbage(void **state)
{
	struct t_srv *t = *state;
	struct t_client *cl = t_ws_connect(t, "id=1");
	char req[512];

	t_handshake_req(req, sizeof(req), "id=2");
	t_sends(cl, req);
	t_expect_close(cl, 1002);
	assert_int_equal(t_wait_close(t, 1), 1002);
	t_close(cl);
}

/* Frames sent together with the handshake are read after the 101. */
static void test_frames_with_handshake(void **state)
{
	struct t_srv *t = *state;
	struct t_client *cl = t_connect_raw(t, 0);
	char req[1024], head[1024];
	size_t n;

	t_handshake_req(req, sizeof(req), "id=1");
	n = strlen(req);
	n += t_frame_encode((unsigned char *)req + n, 0x81, "early", 5, 1, 0);
	n += t_frame_encode((unsigned char *)req + n, 0x81, "bird", 4, 1, 0);
	t_send(cl, req, n);
	assert_int_equal(t_read_head(cl, head, sizeof(head)), 101);
	t_expect_text(cl, "early", 5);
	t_expect_text(cl, "bird", 4);
	t_close(cl);
	assert_int_equal(t_wait_close(t, 1), 1006);
}

/* The application may close a connection as soon as it has accepted it,
 * before the frames that came with the handshake are read. */
static void test_close_right_after_accept(void **state)
{
	struct t_srv *t = *state;
	struct t_client *cl = t_connect_raw(t, 0);
	char req[1024], head[1024];
	struct t_frame fr;
	double start;
	size_t n;

	t_handshake_req(req, sizeof(req), "id=1&closenow=1");
	n = strlen(req);
	n += t_frame_encode((unsigned char *)req + n, 0x81, "dropped", 7, 1, 0);
	t_send(cl, req, n);
	assert_int_equal(t_read_head(cl, head, sizeof(head)), 101);
	assert_int_equal(t_ws_read(cl, &fr), 0);
	assert_int_equal(fr.opcode, 8);
	assert_memory_equal(fr.data, "\x11\x31now", 5);
	t_frame_free(&fr);
	start = t_now();
	t_ws_close_frame(cl, 4401, NULL);
	t_expect_eof(cl, 2);
	assert_true(t_now() - start < 2);
	assert_int_equal(t_wait_close(t, 1), 4401);
	t_close(cl);
}

/* Sends req and expects status and a closed connection. */
static void t_expect_refused(struct t_srv *t, const char *req, int status)
{
	struct t_client *cl = t_connect_raw(t, 0);
	char head[1024];

	t_sends(cl, req);
	assert_int_equal(t_read_head(cl, head, sizeof(head)), status);
	assert_non_null(strstr(head, "Connection: close"));
	if (status == 426)
		assert_string_equal(strtok((char *)t_header(head, "Sec-WebSocket-Version"), "\r"), "13");
	t_expect_eof(cl, 5);
	t_close(cl);
}

static void test_bad_handshakes(void **state)
{
	struct t_srv *t = *state;

#define T_REQ(method, ver, up, conn, key, wsver)                                                   \
	method " /ws HTTP/" ver "\r\nHost: t\r\n" up conn key wsver "\r\n"
#define T_UP "Upgrade: websocket\r\n"
#define T_CONN "Connection: keep-alive, Upgrade\r\n"
#define T_KEY "Sec-WebSocket-Key: " T_RFC_KEY "\r\n"
#define T_VER "Sec-WebSocket-Version: 13\r\n"
	t_expect_refused(t, T_REQ("GET", "1.1", T_UP, T_CONN, "", T_VER), 400);
	t_expect_refused(t, T_REQ("GET", "1.1", T_UP, T_CONN, "Sec-WebSocket-Key: c2hvcnQ=\r\n", T_VER), 400);
	t_expect_refused(t, T_REQ("GET", "1.1", T_UP, T_CONN, "Sec-WebSocket-Key: !!!!!!!!!!!!!!!!!!!!!!!!\r\n", T_VER), 400);
	t_expect_refused(t, T_REQ("GET", "1.1", T_UP, T_CONN, T_KEY T_KEY, T_VER), 400);
	t_expect_refused(t, T_REQ("GET", "1.1", T_UP, "Connection: keep-alive\r\n", T_KEY, T_VER), 400);
	t_expect_refused(t, T_REQ("GET", "1.1", "Upgrade: h2c\r\n", T_CONN, T_KEY, T_VER), 400);
	t_expect_refused(t, T_REQ("GET", "1.1", "", "", T_KEY, T_VER), 400);
	t_expect_refused(t, T_REQ("POST", "1.1", T_UP, T_CONN, T_KEY, T_VER "Content-Length: 0\r\n"), 400);
	t_expect_refused(t, T_REQ("GET", "1.0", T_UP, T_CONN, T_KEY, T_VER), 400);
	t_expect_refused(t, T_REQ("GET", "1.1", T_UP, T_CONN, T_KEY, "Sec-WebSocket-Version: 8\r\n"), 426);
	t_expect_refused(t, T_REQ("GET", "1.1", T_UP, T_CONN, T_KEY, ""), 426);
	/* Case and lists do not matter where RFC 6455 says so. */
	{
		struct t_client *cl = t_connect_raw(t, 0);
		char head[1024];

		t_sends(cl, "GET /ws?id=1 HTTP/1.1\r\nHost: t\r\nupgrade: WebSocket\r\n"
			    "connection: keep-alive\r\nConnection: UPGRADE\r\n" T_KEY T_VER "\r\n");
		assert_int_equal(t_read_head(cl, head, sizeof(head)), 101);
		t_close(cl);
		assert_int_equal(t_wait_close(t, 1), 1006);
	}
	/* An upgrade request elsewhere is the application's: it answered 404. */
	t_expect_refused(t, "GET /other HTTP/1.1\r\nHost: t\r\n" T_UP T_CONN T_KEY T_VER "\r\n", 404);
	pthread_mutex_lock(&t->mu);
	assert_string_equal(t->last_upgrade, "websocket");
	pthread_mutex_unlock(&t->mu);
#undef T_REQ
#undef T_UP
#undef T_CONN
#undef T_KEY
#undef T_VER
}

/* A client that never reads is cut off with 4408 once its pending output
 * passes the bound, while a reading client receives every frame. */
static void test_slow_client_cut_off(void **state)
{
	struct t_srv *t = *state;
	enum { BURST = 64, SIZE = 4096, PEND = 256 * 1024, MAX_BURSTS = 400 };
	struct t_client *slow = t_ws_connect_buf(t, "id=1&pend=262144", 4096);
	struct t_client *fast = t_ws_connect(t, "id=2");
	char *want = malloc(SIZE);
	size_t slow_bytes = 0;
	unsigned bursts = 0;
	ssize_t n;

	assert_non_null(want);
	while (!t_is_closed(t, 1)) {
		assert_true(bursts < MAX_BURSTS);
		t_ws_text(fast, "!burst 64 4096");
		for (unsigned i = 0; i < BURST; i++) {
			int k = snprintf(want, SIZE, "%u:", i);

			memset(want + k, 'x', SIZE - (size_t)k);
			t_expect_text(fast, want, SIZE);
		}
		bursts++;
	}
	assert_int_equal(t_wait_close(t, 1), 4408);
	/* The fast one goes on. */
	t_ws_text(fast, "after");
	t_expect_text(fast, "after", 5);
	assert_false(t_is_closed(t, 2));
	/* The slow one finds the frames that made it into socket buffers, then
	 * the end: far less than was sent to everyone. */
	slow->len = 0;
	while ((n = t_fill(slow)) > 0) {
		slow_bytes += (size_t)n;
		slow->len = 0;
	}
	print_message("slow client: cut off after %u bursts (%zu bytes sent to each), "
		      "read %zu bytes before the end\n", bursts, (size_t)bursts * BURST * (SIZE + 4),
		      slow_bytes);
	assert_true(slow_bytes < (size_t)bursts * BURST * (SIZE + 4));
	assert_true(slow_bytes > 0);
	free(want);
	t_close(slow);
	t_close(fast);
	assert_int_equal(t_wait_close(t, 2), 1006);
}

/* A frame larger than the bound on an idle connection: refused, and the
 * close frame gets out since nothing else waits. */
static void test_too_big_for_pending(void **state)
{
	struct t_srv *t = *state;
	struct t_client *cl = t_ws_connect(t, "id=1&pend=1000");

	t_ws_text(cl, "!big 5000");
	t_expect_close(cl, 4408);
	assert_int_equal(t_wait_close(t, 1), 4408);
	pthread_mutex_lock(&t->mu);
	assert_int_equal(t->bursts_refused, 1);
	pthread_mutex_unlock(&t->mu);
	t_close(cl);
}

/* Expects n frames "<seq>:xx.." of size bytes, seq 0..n-1, in order. */
static void t_expect_mine(struct t_client *cl, unsigned n, unsigned size)
{
	char *want = malloc(size + 1);

	assert_non_null(want);
	for (unsigned i = 0; i < n; i++) {
		int k = snprintf(want, size + 1, "%u:", i);

		memset(want + k, 'x', size - (unsigned)k);
		t_expect_text(cl, want, size);
	}
	free(want);
}

/* Output is written once per loop iteration: a burst to one socket (more
 * frames than one write carries, more than the ring holds inline) arrives
 * whole and in order, with the pongs wslay queues before and after it in
 * their places, and a close sent behind frames that still wait comes after
 * them. */
static void test_burst_in_order(void **state)
{
	struct t_srv *t = *state;
	enum { N = 300, SIZE = 40 };
	struct t_client *cl = t_ws_connect(t, "id=1");
	unsigned char buf[256];
	size_t len = 0;
	struct t_frame fr;

	/* ping "a", the burst, ping "b": one TCP write, one read. */
	len += t_frame_encode(buf + len, 0x89, "a", 1, 1, 0);
	len += t_frame_encode(buf + len, 0x81, "!mine 300 40", 12, 1, 0);
	len += t_frame_encode(buf + len, 0x89, "b", 1, 1, 0);
	t_send(cl, buf, len);
	assert_int_equal(t_ws_read(cl, &fr), 0);
	assert_int_equal(fr.opcode, 0xA);
	assert_string_equal(fr.data, "a");
	t_frame_free(&fr);
	t_expect_mine(cl, N, SIZE);
	assert_int_equal(t_ws_read(cl, &fr), 0);
	assert_int_equal(fr.opcode, 0xA);
	assert_string_equal(fr.data, "b");
	t_frame_free(&fr);
	/* Twice more: the connection's output is made anew each time. */
	t_ws_text(cl, "!mine 3 10");
	t_expect_mine(cl, 3, 10);
	t_ws_text(cl, "!mine 70 10 close");
	t_expect_mine(cl, 70, 10);
	assert_int_equal(t_ws_read(cl, &fr), 0);
	assert_int_equal(fr.opcode, 8);
	assert_int_equal(((unsigned char)fr.data[0] << 8) | (unsigned char)fr.data[1], 1000);
	t_frame_free(&fr);
	t_ws_close_frame(cl, 1000, NULL);
	t_expect_eof(cl, 5);
	assert_int_equal(t_wait_close(t, 1), 1000);
	t_close(cl);
}

/* A connection that dies while frames wait for the flush: past
 * max_pending (with a few frames queued the 4408 close goes out behind
 * them; with more than one write carries it is dropped), the peer gone,
 * the server shutting down.  The frames are freed (teardown checks that
 * none is alive; ASan that nothing is touched after free). */
static void test_closed_while_queued(void **state)
{
	struct t_srv *t = *state;
	struct t_client *a = t_ws_connect(t, "id=1&pend=2000");
	struct t_client *b = t_ws_connect(t, "id=2&pend=2000");
	struct t_client *c = t_ws_connect(t, "id=3");
	struct t_client *d = t_ws_connect(t, "id=4");

	t_ws_text(a, "!mine 10 100 big 5000");
	t_expect_mine(a, 10, 100);
	t_expect_close(a, 4408);
	assert_int_equal(t_wait_close(t, 1), 4408);
	t_ws_text(b, "!mine 100 10 big 5000");
	t_expect_eof(b, 5);
	assert_int_equal(t_wait_close(t, 2), 4408);
	pthread_mutex_lock(&t->mu);
	assert_int_equal(t->bursts_refused, 2);
	pthread_mutex_unlock(&t->mu);
	/* The message and the end in one read, mostly: the frames are queued
	 * when the connection dies. */
	t_ws_text(c, "!mine 50 100");
	shutdown(c->fd, SHUT_WR);
	assert_int_equal(t_wait_close(t, 3), 1006);
	t_ws_text(d, "!mine 20 100 shutdown");
	t_expect_mine(d, 20, 100);
	t_expect_close(d, 1000);
	assert_int_equal(t_wait_close(t, 4), 1000);
	t_stop(t);
	t_close(a);
	t_close(b);
	t_close(c);
	t_close(d);
}

/* One frame, fifty connections, identical bytes, no copies left over. */
static void test_shared_frame_fan_out(void **state)
{
	struct t_srv *t = *state;
	enum { N = 50, SIZE = 1000 };
	struct t_client *cl[N];
	struct t_frame fr;
	char q[32], want[SIZE], reply[32];
	int refs = -1;

	for (int i = 0; i < SIZE; i++)
		want[i] = (char)('a' + i % 26);
	for (int i = 0; i < N; i++) {
		snprintf(q, sizeof(q), "id=%d", 10 + i);
		cl[i] = t_ws_connect(t, q);
	}
	t_ws_text(cl[0], "!shared 1000");
	for (int i = 0; i < N; i++) {
		assert_int_equal(t_ws_read(cl[i], &fr), 0);
		assert_int_equal(fr.opcode, 1);
		assert_int_equal(fr.len, SIZE);
		assert_memory_equal(fr.data, want, SIZE);
		t_frame_free(&fr);
	}
	/* Only the test server's own reference is left once the writes are
	 * done (their callbacks may lag the bytes a little). */
	for (int tries = 0; tries < 100 && refs != 1; tries++) {
		t_ws_text(cl[0], "!refs");
		assert_int_equal(t_ws_read(cl[0], &fr), 0);
		assert_int_equal(sscanf(fr.data, "refs=%d", &refs), 1);
		t_frame_free(&fr);
		if (refs != 1)
			t_sleep_ms(10);
	}
	assert_int_equal(refs, 1);
	t_ws_text(cl[0], "!unshare");
	assert_int_equal(t_ws_read(cl[0], &fr), 0);
	snprintf(reply, sizeof(reply), "%s", fr.data);
	assert_string_equal(reply, "unshared");
	t_frame_free(&fr);
	for (int i = 0; i < N; i++)
		t_close(cl[i]);
	for (int i = 0; i < N; i++)
		assert_int_equal(t_wait_close(t, 10 + i), 1006);
	assert_int_equal(ws_frames_live(), 0);
}

/* Idle connections are pinged; one that answers stays, one that is silent
 * for pong_timeout is dropped without a closing handshake. */
static void test_ping_idle(void **state)
{
	struct t_srv *t = *state;
	struct t_client *cl = t_ws_connect(t, "id=1&ping=100&pong=400");
	struct t_frame fr;
	double start = t_now();

	for (int i = 0; i < 3; i++) {
		assert_int_equal(t_ws_read(cl, &fr), 0);
		assert_int_equal(fr.opcode, 9);
		t_frame_free(&fr);
		t_ws_send(cl, 0xA, 1, "", 0);
	}
	assert_true(t_now() - start >= 0.25);
	assert_false(t_is_closed(t, 1));
	/* Now silent: one more ping, then the end. */
	assert_int_equal(t_ws_read(cl, &fr), 0);
	assert_int_equal(fr.opcode, 9);
	t_frame_free(&fr);
	start = t_now();
	assert_int_equal(t_ws_read(cl, &fr), -1);
	assert_true(t_now() - start < 2);
	assert_int_equal(t_wait_close(t, 1), 1006);
	t_close(cl);
}

/* Shutting the server down tells every WebSocket 1000. */
static void test_server_shutdown(void **state)
{
	struct t_srv *t = *state;
	struct t_client *a = t_ws_connect(t, "id=1");
	struct t_client *b = t_ws_connect(t, "id=2");

	t_ws_text(a, "x");
	t_expect_text(a, "x", 1);
	t_ws_text(b, "y");
	t_expect_text(b, "y", 1);
	t_stop(t);
	t_expect_close(a, 1000);
	t_expect_close(b, 1000);
	assert_int_equal(t->slots[1].code, 1000);
	assert_int_equal(t->slots[2].code, 1000);
	t_close(a);
	t_close(b);
}

/* Heap bytes per idle WebSocket, measured with mallinfo2 over 200
 * connections (meaningless under ASan, which has its own allocator). */
static void test_memory_figures(void **state)
{
	struct t_srv *t = *state;
	enum { N = 200 };
	struct t_client *cl[2 * N];
	size_t before = 0, after;
	char q[32];

	/* The clients' own memory is taken before measuring. */
	for (int i = 0; i < 2 * N; i++)
		cl[i] = t_client_new();
	for (int i = 0; i < 2 * N; i++) {
		if (i == N) {
			t_sleep_ms(50);
			before = mallinfo2().uordblks;
		}
		snprintf(q, sizeof(q), "id=%d", i);
		t_client_connect(cl[i], t, 0);
		t_ws_handshake(cl[i], q);
		t_ws_text(cl[i], "hi");
		t_expect_text(cl[i], "hi", 2);
	}
	/* Let the last write callbacks run. */
	t_sleep_ms(50);
	after = mallinfo2().uordblks;
	print_message("sizeof(struct ws_conn) %zu, sizeof(struct net_conn) %zu (uv_tcp_t %zu, "
		      "uv_timer_t %zu), uv_write_t %zu; heap per idle WebSocket: %zu bytes\n",
		      ws_conn_size(), net_conn_size(), sizeof(uv_tcp_t), sizeof(uv_timer_t),
		      sizeof(uv_write_t), (after - before) / N);
#ifndef T_ASAN
	assert_true((after - before) / N < 1024);
#endif
	for (int i = 0; i < 2 * N; i++)
		t_close(cl[i]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sha1_vectors),
		cmocka_unit_test(test_parser_context_freed_at_rest),
		cmocka_unit_test(test_parser_split_close_reason),
		cmocka_unit_test(test_parser_pool_shared),
		cmocka_unit_test(test_parser_fast_path),
		cmocka_unit_test(test_frame_encoding),
		cmocka_unit_test(test_frame_three_pieces),
		cmocka_unit_test_setup_teardown(test_handshake_rfc_key, t_setup, t_teardown),
		cmocka_unit_test_setup_teardown(test_echo, t_setup, t_teardown),
		cmocka_unit_test_setup_teardown(test_fragmented, t_setup, t_teardown),
		cmocka_unit_test_setup_teardown(test_ping_pong, t_setup, t_teardown),
		cmocka_unit_test_setup_teardown(test_close_handshake, t_setup, t_teardown),
		cmocka_unit_test_setup_teardown(test_unmasked_frame, t_setup, t_teardown),
		cmocka_unit_test_setup_teardown(test_protocol_errors, t_setup, t_teardown),
		cmocka_unit_test_setup_teardown(test_binary_refused, t_setup, t_teardown),
		cmocka_unit_test_setup_teardown(test_invalid_utf8, t_setup, t_teardown),
		cmocka_unit_test_setup_teardown(test_message_too_big, t_setup, t_teardown),
		cmocka_unit_test_setup_teardown(test_second_upgrade_is_garbage, t_setup, t_teardown),
		cmocka_unit_test_setup_teardown(test_frames_with_handshake, t_setup, t_teardown),
		cmocka_unit_test_setup_teardown(test_close_right_after_accept, t_setup, t_teardown),
		cmocka_unit_test_setup_teardown(test_bad_handshakes, t_setup, t_teardown),
		cmocka_unit_test_setup_teardown(test_slow_client_cut_off, t_setup, t_teardown),
		cmocka_unit_test_setup_teardown(test_too_big_for_pending, t_setup, t_teardown),
		cmocka_unit_test_setup_teardown(test_shared_frame_fan_out, t_setup, t_teardown),
		cmocka_unit_test_setup_teardown(test_burst_in_order, t_setup, t_teardown),
		cmocka_unit_test_setup_teardown(test_closed_while_queued, t_setup, t_teardown),
		cmocka_unit_test_setup_teardown(test_ping_idle, t_setup, t_teardown),
		cmocka_unit_test_setup_teardown(test_server_shutdown, t_setup, t_teardown),
		cmocka_unit_test_setup_teardown(test_memory_figures, t_setup, t_teardown),
	};

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
