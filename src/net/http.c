/*
 * http.c — Parley's HTTP/1.1 server on libuv (the contract is net.h).
 *
 * One struct net_conn per accepted socket holds a request assembler
 * (http_parse.h), a deadline and the request the application is answering.  A
 * connection serves one request at a time: when a request is complete the
 * server stops reading, hands it to the application and, once the response
 * has been written, parses whatever pipelined bytes were kept and reads on.
 *
 * Lifetimes.  A connection is freed only in the close callback of its one
 * handle (the socket), never inside one of its own callbacks.
 * A request handed to the application (struct net_pending) outlives its
 * connection if need be: closing the connection just clears the request's
 * pointer to it, and net_req_respond() then frees the request without
 * writing.  Every write owns its bytes (struct net_write) and frees them in
 * its callback.
 *
 * Closing.  After a response that ends the connection (Connection: close,
 * HTTP/1.0, an error the server made itself) the server shuts down its
 * sending side and goes on reading and discarding for at most NET_LINGER_MS
 * before it closes the socket, so that the kernel does not reset the
 * connection — and destroy the response — because of request bytes the
 * server never read (nginx's lingering close).
 *
 * Timers.  Each connection has one timeout (struct net_deadline; all of them
 * share the server's one uv_timer_t, deadline.h), in one of these modes: the header
 * timer (header_timeout_ms, then 408) runs from the accept, or from the first
 * byte of a later request, to the end of the request; the idle timer
 * (idle_timeout_ms, then a silent close) while a kept-alive connection waits
 * for the next one; the send timer (idle_timeout_ms again) while a response
 * is being written, so that a peer that never reads cannot hold the
 * connection; the linger timer (NET_LINGER_MS) while lingering.  No timer
 * runs while the application holds a request.  A limit of 0 ms disables its
 * timer.  A closing connection has none.
 *
 * Connections over max_connections are accepted, told 503 and closed; they do
 * not count in net_server_connections().
 *
 * WebSockets.  An upgrade request reaches the application like any other
 * (req->upgrade set).  net_req_accept_ws() checks the handshake, writes the
 * 101 and hands the connection to ws.c: the request assembler is freed, and
 * the connection's HTTP state makes room (a union) for the struct ws_conn
 * that every byte read goes to from then on (ws_int.h says what each side
 * calls); the timeout runs in NET_TIMER_WS mode for it, and http.c only
 * keeps the socket, lingers when ws.c is done, and frees everything after
 * the socket is closed.  Bytes the client sent after its handshake, before
 * the 101, are handed over too: they are frames.  The memory an idle
 * WebSocket keeps is this one struct net_conn (408 bytes on x86-64: the
 * uv_tcp_t is 248 of them) plus its 8-byte slot in the deadline heap; the
 * limits and callbacks it was accepted with are one struct ws_conf shared
 * by every connection given the same.  The server also holds the
 * WebSockets' output flush (struct ws_flush, ws_int.h): ws.c writes what
 * each socket was sent during a loop iteration at the end of it; and up to
 * WS_PARSER_POOL_MAX spare wslay contexts (struct ws_parser_pool,
 * ws_int.h), which ws.c takes for a read and gives back once the
 * connection's parser is at rest again.
 *
 * Streamed bodies.  With a head callback the parser stops at each head
 * (http_parse.h) and the application picks buffering or streaming.  A
 * streamed request is dispatched at once with reading stopped; once the
 * application starts the body, every piece the parser yields goes to its
 * on_data, the body timer (idle_timeout_ms) runs while reading, and the
 * parser's end of message becomes on_end(0).  An answer given before the end
 * makes the connection discard the rest and close after the answer.  A
 * connection that dies while a body is being read tells the application
 * with on_end(PL_CLOSED), after detaching the request, so that its answer is
 * a plain free.
 *
 * Streamed answers.  net_req_respond_file() writes the head, then reads the
 * file NET_FILE_CHUNK at a time with uv_fs_read (thread pool), with one read
 * and at most NET_FILE_WRITES writes in flight; the send timer runs as for
 * any answer.  The reader (struct net_fsend) lives apart from the
 * connection, since a read in flight cannot be cancelled: closing the
 * connection only detaches it, and whoever finishes last closes the file.
 *
 * The process must ignore SIGPIPE: libuv writes to sockets with write(2).
 */
#include "net/net.h"

#include <limits.h>
#include <netinet/in.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include <sodium.h>

#include "core/codes.h"
#include "net/deadline.h"
#include "net/http_parse.h"
#include "net/ws_int.h"
#include "util/err.h"

/* Most bytes read from a socket at once (the assembler keeps up to this many
 * pipelined bytes, see http_parse.h). */
#define NET_READ_BUF_SIZE NET_PARSE_HELD_MAX
#define NET_BACKLOG 1024
/* Longest time to read and discard after a final response, in ms. */
#define NET_LINGER_MS 2000
/* Rejected connections being sent their 503 at once; past it they are
 * closed without a word. */
#define NET_REJECTING_MAX 256
/* Longest "ADDR:PORT" accepted by net_server_listen. */
#define NET_ADDR_MAX 128
/* Room for the status line and fixed headers, less Content-Type's value
 * (the longest is about 140 bytes). */
#define NET_HEAD_FIXED_MAX 192
/* Size of an error body the server makes itself. */
#define NET_ERRBODY_MAX 256
/* RFC 6455 4.2.2: the GUID appended to Sec-WebSocket-Key before hashing. */
#define NET_WS_GUID "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
/* A Sec-WebSocket-Key: 16 bytes in base64 (24 characters with padding). */
#define NET_WS_KEY_BYTES 16
#define NET_WS_KEY_LEN 24
/* Sec-WebSocket-Accept: a SHA-1 digest in base64 (28 characters). */
#define NET_WS_ACCEPT_LEN 28
/* The only WebSocket version there is (RFC 6455). */
#define NET_WS_VERSION "13"
/* Pieces of a file answer being written at once (see net_req_respond_file). */
#define NET_FILE_WRITES 2

#define NET_CONTAINER_OF(ptr, type, member) ((type *)(void *)((char *)(ptr) - offsetof(type, member)))

enum net_timer_mode {
	NET_TIMER_NONE = 0,
	NET_TIMER_HEADER,   /* a request must be complete by then: 408 */
	NET_TIMER_IDLE,     /* keep-alive connection with nothing to do: close */
	NET_TIMER_SEND,     /* a response the peer does not read: close */
	NET_TIMER_LINGER,   /* final response sent: stop discarding, close */
	NET_TIMER_WS,       /* a WebSocket's: ws_conn_on_timer() */
	NET_TIMER_BODY,     /* a streamed body makes no progress: 408 */
};

/* What to do once a write has completed. */
enum net_after {
	NET_AFTER_NOTHING = 0, /* an interim "100 Continue" */
	NET_AFTER_NEXT,        /* a response: go on with the next request */
	NET_AFTER_CLOSE,       /* the final response: shut down and close */
	NET_AFTER_MORE,        /* a piece of a file answer: send the next */
};

/* Where a streamed request body stands. */
enum net_body_state {
	NET_BODY_IDLE = 0,     /* not started by the application */
	NET_BODY_READING,      /* pieces go to on_data */
	NET_BODY_DONE,         /* on_end(0) was called */
	NET_BODY_FAILED,       /* on_end(rc < 0) was called */
};

enum net_listener_state { NET_LISTENER_NONE = 0, NET_LISTENER_OPEN, NET_LISTENER_CLOSED };

struct net_pending;
struct net_fsend;

/* One accepted socket, in one allocation for its whole life: an HTTP
 * connection, or the WebSocket it became (the union).  Owned by the
 * server's list; freed by net_on_handle_closed() once the socket is closed.
 * Kept small, since a WebSocket holds one for its whole life: no timer of
 * its own (a deadline on the server's one timer, deadline.h), the peer's
 * address in binary, the WebSocket's limits and callbacks shared. */
struct net_conn {
	uv_tcp_t tcp;
	struct net_server *srv;
	struct net_conn *prev;
	struct net_conn *next;
	struct net_deadline deadline; /* the one timeout, in timer_mode */
	uv_shutdown_t *shutdown;  /* while lingering */
	union {
		struct {
			struct net_parser *parser; /* the request assembler */
			struct net_pending *req;  /* being answered by the application, or NULL */
			struct net_fsend *fsend;  /* a file answer being sent, or NULL */
		} http;                   /* while is_ws is 0 */
		struct ws_conn ws;        /* once is_ws is 1 */
	} u;
	unsigned char peer[16];   /* the peer's address (network order), 4 or 16 bytes */
	unsigned char peer_family; /* AF_INET, AF_INET6, or 0: unknown */
	unsigned char timer_mode; /* enum net_timer_mode */
	unsigned char is_ws;      /* a WebSocket: u.ws is in use */
	unsigned char reading;
	unsigned char closing;    /* uv_close was called */
	unsigned char lingering;  /* final response written: discard input */
	unsigned char rejected;   /* over max_connections: only gets a 503 */
	unsigned char discard;    /* answered before its body was read: ignore input */
};

/* A request handed to the application.  Freed by net_req_respond(). */
struct net_pending {
	struct net_req pub;        /* what the application sees */
	struct net_conn *conn;     /* NULL once the connection is gone */
	uv_loop_t *loop;
	struct net_parsed_req msg; /* owns the strings pub points to */
	/* a streamed body */
	int body_state;            /* enum net_body_state */
	int paused;
	uint64_t body_max, body_got;
	struct net_body_cb bcb;
	void *bctx;
};

/* A file answer being sent.  Freed when the file is closed. */
struct net_fsend {
	uv_fs_t fs;                /* the read or close in flight */
	uv_loop_t *loop;
	struct net_conn *conn;     /* NULL once the connection is gone */
	uv_file fd;
	uint64_t off, left;        /* where the next read starts; bytes not read yet */
	int after;                 /* what the last piece's write does */
	int reading;               /* fs holds a read in flight */
	int closing;               /* fs holds the close */
	unsigned writes;           /* pieces being written */
	struct net_write *piece;   /* the buffer of the read in flight */
};

/* One write in flight; owns the bytes, freed in net_on_write(). */
struct net_write {
	uv_write_t req;
	struct net_conn *conn;
	int after;                 /* enum net_after */
	size_t len;
	char data[];
};

struct net_server {
	uv_loop_t *loop;
	struct net_limits limits;
	net_request_cb cb;
	net_head_cb head_cb;
	void *ctx;
	uv_tcp_t listener;
	int listener_state;        /* enum net_listener_state */
	/* Takes a connection that could not get a struct net_conn, so that
	 * libuv keeps accepting (it stops until uv_accept is called). */
	uv_tcp_t spare;
	int spare_busy;
	int drop_waiting;          /* a connection waits for the spare */
	int closing;
	unsigned nconns;           /* connections being served */
	unsigned nrejecting;       /* connections being sent a 503 */
	struct net_conn *conns;
	struct net_deadlines deadlines; /* every connection's timeout, on one timer */
	struct ws_conf *ws_confs;  /* what the WebSockets were accepted with, shared */
	struct ws_flush ws_flush;  /* the WebSockets' output, written once per loop iteration */
	struct ws_parser_pool ws_pool; /* the WebSockets' spare wslay contexts */
	char readbuf[NET_READ_BUF_SIZE]; /* every read lands here, then is parsed */
};

/* The stable codes of the errors the server makes itself, from the one table
 * in core/codes.h. */
struct net_code_row {
	const char *name;
	int status;
	const char *message;
};

static const struct net_code_row net_codes[] = {
#define NET_CODE_ROW(name, status, msg) {#name, status, msg},
	PL_CODES(NET_CODE_ROW)
#undef NET_CODE_ROW
};

static void net_conn_close(struct net_conn *c);
static void net_conn_process(struct net_conn *c, const char *data, size_t len);
static void net_conn_timer(struct net_conn *c, int mode, unsigned ms);
static void net_conn_fail(struct net_conn *c, int status);
static void net_fsend_next(struct net_fsend *f);
static void net_fsend_close(struct net_fsend *f);

void net_limits_default(struct net_limits *l)
{
	l->max_connections = 10000;
	l->max_header_bytes = 16384;
	l->max_body_bytes = 1048576;
	l->header_timeout_ms = 10000;
	l->idle_timeout_ms = 60000;
}

/* ---- writing ------------------------------------------------------------- */

static const char *net_reason(int status)
{
	const char *r = http_status_str((enum http_status)status);

	return r[0] == '<' ? "Unknown" : r;
}

static void net_on_write(uv_write_t *wr, int status);

/* Queues w (filled in up to w->len) on c's socket; w is freed by
 * net_on_write(), or here on failure.  A response (not a "100 Continue")
 * starts the send timer.  Returns 0 or a negative pl_err (the caller closes
 * c). */
static int net_write_start(struct net_conn *c, struct net_write *w)
{
	uv_buf_t b;

	if (w->len > UINT_MAX) {
		free(w);
		return PL_TOOBIG;
	}
	b = uv_buf_init(w->data, (unsigned)w->len);
	if (uv_write(&w->req, (uv_stream_t *)&c->tcp, &b, 1, net_on_write) < 0) {
		free(w);
		return PL_IO;
	}
	/* A peer that does not read its answers must not hold the connection. */
	if (w->after != NET_AFTER_NOTHING)
		net_conn_timer(c, NET_TIMER_SEND, c->srv->limits.idle_timeout_ms);
	return 0;
}

/* Queues len bytes of data (copied) on c; after says what happens once they
 * are written.  Returns 0 or a negative pl_err (the caller closes c). */
static int net_conn_write(struct net_conn *c, const char *data, size_t len, int after)
{
	struct net_write *w;

	if ((w = malloc(sizeof(*w) + len)) == NULL)
		return PL_NOMEM;
	w->conn = c;
	w->after = after;
	w->len = len;
	memcpy(w->data, data, len);
	return net_write_start(c, w);
}

/* Formats the status line and fixed headers into dst (cap bytes) as
 * snprintf does; returns the full length or -1. */
static int net_response_head(char *dst, size_t cap, int status, const char *ctype,
			     const char *clen, int after)
{
	return snprintf(dst, cap, "HTTP/1.1 %d %s\r\nContent-Type: %s\r\n%sConnection: %s\r\n",
			status, net_reason(status), ctype, clen,
			after == NET_AFTER_CLOSE ? "close" : "keep-alive");
}

/* Queues one write holding the head (Content-Length: clen where it is
 * allowed, then the extra header lines) and len bytes of body.  w->after is
 * after; the Connection header follows final_after (the answer's last
 * write).  Returns 0 or a negative pl_err (the caller closes c). */
static int net_conn_send_parts(struct net_conn *c, int status, const char *ctype, uint64_t clen_value,
			       const char *body, size_t len, const char *extra, int after, int final_after)
{
	struct net_write *w;
	char clen[48] = "";
	size_t extra_len = extra ? strlen(extra) : 0;
	size_t head_cap, at;
	int extra_crlf, hlen;

	if (status < 100 || status > 599)
		status = 500;
	if (ctype == NULL)
		ctype = "application/json";
	/* HEAD is told the length a GET would get; a 304 names none (it would
	 * have to be the length of the representation, not of this empty body). */
	if (status >= 200 && status != 204 && status != 304)
		snprintf(clen, sizeof(clen), "Content-Length: %llu\r\n", (unsigned long long)clen_value);
	/* extra_headers are complete lines; mend a missing final CRLF. */
	extra_crlf = extra_len > 0 && (extra_len < 2 || memcmp(extra + extra_len - 2, "\r\n", 2) != 0);
	head_cap = NET_HEAD_FIXED_MAX + strlen(ctype);
	if (len > UINT_MAX || extra_len > UINT_MAX || head_cap > UINT_MAX)
		return PL_TOOBIG;
	if ((w = malloc(sizeof(*w) + head_cap + extra_len + 4 + len)) == NULL)
		return PL_NOMEM;
	w->conn = c;
	w->after = after;
	hlen = net_response_head(w->data, head_cap, status, ctype, clen, final_after);
	if (hlen < 0 || (size_t)hlen >= head_cap) {
		free(w);
		return PL_ERR;
	}
	at = (size_t)hlen;
	memcpy(w->data + at, extra ? extra : "", extra_len);
	at += extra_len;
	memcpy(w->data + at, "\r\n\r\n", extra_crlf ? 4 : 2);
	at += extra_crlf ? 4 : 2;
	if (len > 0)
		memcpy(w->data + at, body, len);
	w->len = at + len;
	return net_write_start(c, w);
}

/* Builds the whole response in one buffer and queues it.  The body is left
 * out for HEAD (head_only), 1xx, 204 and 304; Content-Length is left out
 * where it is forbidden (1xx, 204).  A NULL ctype means application/json.
 * Returns 0 or a negative pl_err (the caller closes c). */
static int net_conn_send(struct net_conn *c, int status, const char *ctype, const char *body,
			 size_t len, const char *extra, int head_only, int after)
{
	int no_body;

	if (status < 100 || status > 599)
		status = 500;
	if (body == NULL)
		len = 0;
	no_body = head_only || status < 200 || status == 204 || status == 304;
	return net_conn_send_parts(c, status, ctype, len, body, no_body ? 0 : len, extra, after, after);
}

/* Queues the head of an answer whose len body bytes follow in other writes
 * (Content-Length: len, except where it is forbidden).  Returns 0 or a
 * negative pl_err (the caller closes c). */
static int net_conn_send_head(struct net_conn *c, int status, const char *ctype, uint64_t len,
			      const char *extra, int after, int final_after)
{
	return net_conn_send_parts(c, status, ctype, len, NULL, 0, extra, after, final_after);
}

/* The code of an error the server makes itself. */
static int net_status_code(int status)
{
	switch (status) {
	case 400: return PLC_BAD_REQUEST;
	case 408: return PLC_REQUEST_TIMEOUT;
	case 413: return PLC_REQUEST_TOO_LARGE;
	case 431: return PLC_HEADERS_TOO_LARGE;
	case 503: return PLC_SERVER_BUSY;
	default: return PLC_INTERNAL;
	}
}

/* ---- timers and reading ---------------------------------------------------- */

/* Runs the connection's one timeout in mode for ms (0: never fires).  A
 * closing connection has none: its memory goes in its close callback. */
static void net_conn_timer(struct net_conn *c, int mode, unsigned ms)
{
	c->timer_mode = mode;
	if (mode != NET_TIMER_NONE && ms > 0 && !c->closing)
		net_deadline_set(&c->srv->deadlines, &c->deadline, ms);
	else
		net_deadline_clear(&c->srv->deadlines, &c->deadline);
}

static void net_on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
	struct net_conn *c = h->data;

	*buf = uv_buf_init(c->srv->readbuf, sizeof(c->srv->readbuf));
}

static void net_on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf);

static int net_conn_read(struct net_conn *c, int on)
{
	int rc = 0;

	if (on && !c->reading)
		rc = uv_read_start((uv_stream_t *)&c->tcp, net_on_alloc, net_on_read);
	else if (!on && c->reading)
		rc = uv_read_stop((uv_stream_t *)&c->tcp);
	if (rc == 0)
		c->reading = on;
	return rc < 0 ? PL_IO : 0;
}

/* ---- closing --------------------------------------------------------------- */

static void net_ws_conf_put(struct net_server *srv, const struct ws_conf *conf);

static void net_on_handle_closed(uv_handle_t *h)
{
	struct net_conn *c = h->data;
	struct net_server *srv = c->srv;

	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		srv->conns = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	if (c->rejected)
		srv->nrejecting--;
	else
		srv->nconns--;
	if (c->is_ws) {
		ws_conn_on_closed(&c->u.ws);
		net_ws_conf_put(srv, c->u.ws.conf);
	} else if (c->u.http.parser != NULL) {
		net_parser_release(c->u.http.parser);
		free(c->u.http.parser);
	}
	free(c);
}

/* Closes c now.  A request the application holds becomes an orphan.  c is
 * freed later, in net_on_handle_closed(). */
static void net_conn_close(struct net_conn *c)
{
	if (c->closing)
		return;
	c->closing = 1;
	net_deadline_clear(&c->srv->deadlines, &c->deadline);
	uv_close((uv_handle_t *)&c->tcp, net_on_handle_closed);
	if (c->is_ws) {
		ws_conn_on_net_close(&c->u.ws);
		return;
	}
	if (c->u.http.fsend != NULL) {
		struct net_fsend *f = c->u.http.fsend;

		c->u.http.fsend = NULL;
		f->conn = NULL;
		if (!f->reading)
			net_fsend_close(f);
	}
	if (c->u.http.req != NULL) {
		struct net_pending *r = c->u.http.req;

		r->conn = NULL;
		c->u.http.req = NULL;
		/* Last: the application's on_end may answer, which frees r. */
		if (r->body_state == NET_BODY_READING) {
			r->body_state = NET_BODY_FAILED;
			r->bcb.on_end(r->bctx, &r->pub, PL_CLOSED);
		}
	}
}

/* libuv calls this before the socket's close callback, even when the
 * socket is closed first (status UV_ECANCELED). */
static void net_on_shutdown(uv_shutdown_t *sr, int status)
{
	struct net_conn *c = sr->data;

	free(sr);
	c->shutdown = NULL;
	if (!c->closing && status < 0)
		net_conn_close(c);
}

/* The final response is out: send FIN, then read and discard until the peer
 * closes too or NET_LINGER_MS pass. */
static void net_conn_linger(struct net_conn *c)
{
	c->lingering = 1;
	if ((c->shutdown = malloc(sizeof(*c->shutdown))) == NULL)
		goto fail;
	c->shutdown->data = c;
	if (uv_shutdown(c->shutdown, (uv_stream_t *)&c->tcp, net_on_shutdown) < 0) {
		free(c->shutdown);
		c->shutdown = NULL;
		goto fail;
	}
	if (net_conn_read(c, 1) < 0)
		goto fail;
	net_conn_timer(c, NET_TIMER_LINGER, NET_LINGER_MS);
	return;
fail:
	net_conn_close(c);
}

/* Answers with an error the server makes itself, with the code of row but
 * HTTP status status and extra headers (may be NULL), and ends the
 * connection. */
static void net_conn_fail_with(struct net_conn *c, const struct net_code_row *row, int status,
			       const char *extra)
{
	char body[NET_ERRBODY_MAX];
	int n;

	net_conn_timer(c, NET_TIMER_NONE, 0);
	if (net_conn_read(c, 0) < 0)
		goto fail;
	n = snprintf(body, sizeof(body), "{\"ok\":false,\"error_code\":%d,\"description\":\"%s: %s\"}",
		     status, row->name, row->message);
	if (n < 0 || (size_t)n >= sizeof(body))
		goto fail;
	if (net_conn_send(c, status, "application/json", body, (size_t)n, extra, 0,
			  NET_AFTER_CLOSE) < 0)
		goto fail;
	return;
fail:
	net_conn_close(c);
}

/* Answers with an error the server makes itself and ends the connection. */
static void net_conn_fail(struct net_conn *c, int status)
{
	const struct net_code_row *row = &net_codes[net_status_code(status)];

	net_conn_fail_with(c, row, row->status, NULL);
}

/* Fails the connection with status; a request whose body was being read
 * is detached first and told (on_end(PL_CLOSED)), so that its answer is
 * dropped rather than sent after the error. */
static void net_conn_body_abort(struct net_conn *c, int status)
{
	struct net_pending *r = c->u.http.req;

	if (r == NULL || r->body_state != NET_BODY_READING) {
		net_conn_fail(c, status);
		return;
	}
	c->u.http.req = NULL;
	r->conn = NULL;
	r->body_state = NET_BODY_FAILED;
	net_conn_fail(c, status);
	r->bcb.on_end(r->bctx, &r->pub, PL_CLOSED);
}

/* A connection's timeout is due (the server's timer, deadline.h). */
static void net_on_deadline(struct net_deadlines *d, struct net_deadline *e)
{
	struct net_conn *c = NET_CONTAINER_OF(e, struct net_conn, deadline);

	if (c->timer_mode == NET_TIMER_HEADER)
		net_conn_fail(c, 408);
	else if (c->timer_mode == NET_TIMER_BODY)
		net_conn_body_abort(c, 408);
	else if (c->timer_mode == NET_TIMER_WS)
		ws_conn_on_timer(&c->u.ws);
	else
		net_conn_close(c);
}

static void net_on_write(uv_write_t *wr, int status)
{
	struct net_write *w = NET_CONTAINER_OF(wr, struct net_write, req);
	struct net_conn *c = w->conn;
	int after = w->after;

	free(w);
	if (c->closing)
		return;
	if (after == NET_AFTER_MORE && c->u.http.fsend != NULL)
		c->u.http.fsend->writes--;
	if (status < 0)
		net_conn_close(c);
	else if (after == NET_AFTER_MORE)
		net_fsend_next(c->u.http.fsend);
	else if (after == NET_AFTER_CLOSE)
		net_conn_linger(c);
	else if (after == NET_AFTER_NEXT) {
		net_conn_timer(c, NET_TIMER_NONE, 0);
		net_conn_process(c, NULL, 0);
	}
}

/* ---- requests -------------------------------------------------------------- */

/* Writes c's peer address as text into buf ("" if unknown). */
/* Writes the dotted-quad form of an IPv4 address (a.b.c.d, at most 16
 * bytes with the NUL) without snprintf: the peer address is formatted for
 * every request and every WebSocket call.  Returns the length. */
static size_t net_ipv4_format(const unsigned char *a, char *out)
{
	char *o = out;

	for (int i = 0; i < 4; i++) {
		unsigned v = a[i];
		if (i)
			*o++ = '.';
		if (v >= 100)
			*o++ = (char)('0' + v / 100);
		if (v >= 10)
			*o++ = (char)('0' + v / 10 % 10);
		*o++ = (char)('0' + v % 10);
	}
	*o = '\0';
	return (size_t)(o - out);
}

static void net_conn_peer_format(const struct net_conn *c, char *buf, size_t len)
{
	if (len == 0)
		return;
	buf[0] = '\0';
	if (c->peer_family == AF_INET && len >= 16)
		(void)net_ipv4_format((const unsigned char *)c->peer, buf);
	else if (c->peer_family != 0 && uv_inet_ntop(c->peer_family, c->peer, buf, len) < 0)
		buf[0] = '\0';
}

static void net_pending_free(struct net_pending *r)
{
	net_parsed_req_release(&r->msg);
	free(r);
}

static void net_conn_head(struct net_conn *c);

/* The parser's body callback: a piece of a streamed body. */
static void net_conn_on_body(void *ctx, const char *data, size_t len)
{
	struct net_conn *c = ctx;
	struct net_pending *r = c->u.http.req;

	if (r == NULL || c->discard || r->body_state != NET_BODY_READING || len == 0)
		return;
	if (len > r->body_max - r->body_got) {
		r->body_state = NET_BODY_FAILED;
		r->bcb.on_end(r->bctx, &r->pub, PL_TOOBIG);
		return;
	}
	r->body_got += len;
	r->bcb.on_data(r->bctx, &r->pub, data, len);
}

/* A streamed body is complete. */
static void net_conn_body_end(struct net_conn *c, struct net_pending *r, int keep_alive)
{
	r->msg.keep_alive = keep_alive;
	r->body_state = NET_BODY_DONE;
	net_conn_timer(c, NET_TIMER_NONE, 0);
	if (net_conn_read(c, 0) < 0) {
		net_conn_close(c); /* tells the application */
		return;
	}
	r->bcb.on_end(r->bctx, &r->pub, 0);
}

/* Hands a complete request (or the head of a streamed one) to the
 * application; reading and the timer rest until it is answered or its body
 * started.  Takes msg's contents. */
static void net_conn_dispatch(struct net_conn *c, struct net_parsed_req *msg, int streaming)
{
	struct net_pending *r;

	net_conn_timer(c, NET_TIMER_NONE, 0);
	if (net_conn_read(c, 0) < 0 || (r = calloc(1, sizeof(*r))) == NULL) {
		net_parsed_req_release(msg);
		net_conn_fail(c, 500);
		return;
	}
	r->msg = *msg;
	r->conn = c;
	r->loop = c->srv->loop;
	r->pub.method = msg->method;
	r->pub.path = msg->path;
	r->pub.query = msg->query;
	r->pub.authorization = msg->authorization;
	r->pub.content_type = msg->content_type;
	r->pub.upgrade = msg->upgrade;
	r->pub.connection = msg->connection;
	r->pub.sec_websocket_key = msg->ws_key;
	r->pub.sec_websocket_version = msg->ws_version;
	r->pub.range = msg->range;
	r->pub.if_range = msg->if_range;
	r->pub.if_none_match = msg->if_none_match;
	r->pub.content_length = msg->content_length;
	r->pub.streaming = streaming;
	r->pub.body = msg->body;
	r->pub.body_len = msg->body_len;
	net_conn_peer_format(c, r->pub.peer_ip, sizeof(r->pub.peer_ip));
	r->pub.start_ns = uv_hrtime();
	c->u.http.req = r;
	c->srv->cb(c->srv->ctx, &r->pub);
}

/* The parser stopped at a head: ask the application how to read the body.
 * A streamed request is dispatched now; a buffered one parses on. */
static void net_conn_head(struct net_conn *c)
{
	const struct net_parsed_req *h = net_parser_head(c->u.http.parser);
	struct net_parsed_req msg;
	struct net_req view;
	int mode = NET_BODY_BUFFER, status;

	if (h == NULL) {
		net_conn_fail(c, 500);
		return;
	}
	if (c->srv->head_cb != NULL) {
		memset(&view, 0, sizeof(view));
		view.method = h->method;
		view.path = h->path;
		view.query = h->query;
		view.authorization = h->authorization;
		view.content_type = h->content_type;
		view.upgrade = h->upgrade;
		view.connection = h->connection;
		view.sec_websocket_key = h->ws_key;
		view.sec_websocket_version = h->ws_version;
		view.range = h->range;
		view.if_range = h->if_range;
		view.if_none_match = h->if_none_match;
		view.content_length = h->content_length;
		view.body = "";
		net_conn_peer_format(c, view.peer_ip, sizeof(view.peer_ip));
		mode = c->srv->head_cb(c->srv->ctx, &view);
	}
	if (mode == NET_BODY_STREAM) {
		if (net_parser_stream(c->u.http.parser, UINT64_MAX, net_conn_on_body, c, &msg, &status) < 0) {
			net_conn_fail(c, status);
			return;
		}
		net_conn_dispatch(c, &msg, 1);
		return;
	}
	if (net_parser_buffer(c->u.http.parser, &status) < 0) {
		net_conn_fail(c, status);
		return;
	}
	net_conn_process(c, NULL, 0);
}

/* Parses data (may be NULL/0) after any kept bytes: dispatches a complete
 * request, answers a bad one, or waits for more with the right timer. */
static void net_conn_process(struct net_conn *c, const char *data, size_t len)
{
	static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";
	struct net_parsed_req msg;
	int status, rc;

	struct net_pending *r;

	if (c->discard)
		return;
	rc = net_parser_next(c->u.http.parser, data, len, &msg, &status);
	/* A streamed body's callbacks may have answered or closed meanwhile. */
	if (c->closing || c->discard)
		return;
	r = c->u.http.req;
	if (rc == 0) {
		net_conn_dispatch(c, &msg, 0);
		return;
	}
	if (rc == NET_PARSE_HEAD) {
		net_conn_head(c);
		return;
	}
	if (rc == NET_PARSE_END) {
		if (r != NULL && r->body_state == NET_BODY_READING)
			net_conn_body_end(c, r, msg.keep_alive);
		return;
	}
	if (rc != PL_AGAIN) {
		net_conn_body_abort(c, status);
		return;
	}
	if (r != NULL) {
		/* A streamed body: read on unless paused or over. */
		int on = r->body_state == NET_BODY_READING && !r->paused;

		net_conn_timer(c, on ? NET_TIMER_BODY : NET_TIMER_NONE, c->srv->limits.idle_timeout_ms);
		if (net_conn_read(c, on) < 0)
			goto fail;
		return;
	}
	if (net_parser_take_continue(c->u.http.parser) &&
	    net_conn_write(c, cont, sizeof(cont) - 1, NET_AFTER_NOTHING) < 0)
		goto fail;
	/* The header timer runs from a request's first byte (or the accept) to
	 * its end; the idle timer while a kept-alive connection waits. */
	if (net_parser_started(c->u.http.parser)) {
		if (c->timer_mode != NET_TIMER_HEADER)
			net_conn_timer(c, NET_TIMER_HEADER, c->srv->limits.header_timeout_ms);
	} else if (c->timer_mode == NET_TIMER_NONE) {
		net_conn_timer(c, NET_TIMER_IDLE, c->srv->limits.idle_timeout_ms);
	}
	if (net_conn_read(c, 1) < 0)
		goto fail;
	return;
fail:
	net_conn_close(c);
}

static void net_on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
	struct net_conn *c = s->data;

	if (c->closing)
		return;
	if (c->is_ws && !c->lingering) {
		ws_conn_on_read(&c->u.ws, buf->base, nread);
		return;
	}
	if (nread < 0) {
		/* EOF or error: whatever was half-read is dropped. */
		net_conn_close(c);
		return;
	}
	if (nread == 0 || c->lingering)
		return;
	net_conn_process(c, buf->base, (size_t)nread);
}

void net_req_respond(struct net_req *req, int status, const char *content_type,
		     const char *body, size_t len, const char *extra_headers)
{
	struct net_pending *r = NET_CONTAINER_OF(req, struct net_pending, pub);
	struct net_conn *c = r->conn;
	int after;

	if (c == NULL)
		goto out;
	c->u.http.req = NULL;
	after = r->msg.keep_alive && !c->srv->closing ? NET_AFTER_NEXT : NET_AFTER_CLOSE;
	/* Answered before its body was read: the rest of it is not ours to
	 * parse; discard it and close after the answer. */
	if (r->pub.streaming && r->body_state != NET_BODY_DONE) {
		after = NET_AFTER_CLOSE;
		c->discard = 1;
		r->body_state = NET_BODY_FAILED;
		net_conn_timer(c, NET_TIMER_NONE, 0);
		(void)net_conn_read(c, 0);
	}
	/* body may point into the request (an echo): free r only afterwards. */
	if (net_conn_send(c, status, content_type, body, len, extra_headers,
			  r->pub.method == NET_HEAD, after) < 0)
		net_conn_close(c);
out:
	net_pending_free(r);
}

int net_req_body_start(struct net_req *req, uint64_t max_bytes, const struct net_body_cb *cb, void *ctx)
{
	static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";
	struct net_pending *r = NET_CONTAINER_OF(req, struct net_pending, pub);
	struct net_conn *c = r->conn;

	if (!req->streaming || r->body_state != NET_BODY_IDLE || cb == NULL || cb->on_data == NULL ||
	    cb->on_end == NULL)
		return PL_INVAL;
	if (c == NULL)
		return PL_CLOSED;
	if (req->content_length > 0 && (uint64_t)req->content_length > max_bytes)
		return PL_TOOBIG;
	r->bcb = *cb;
	r->bctx = ctx;
	r->body_max = max_bytes;
	r->body_got = 0;
	r->body_state = NET_BODY_READING;
	if (net_parser_take_continue(c->u.http.parser) &&
	    net_conn_write(c, cont, sizeof(cont) - 1, NET_AFTER_NOTHING) < 0) {
		net_conn_close(c); /* on_end(PL_CLOSED) */
		return 0;
	}
	/* Bytes that came with the head first; then read on. */
	net_conn_process(c, NULL, 0);
	return 0;
}

void net_req_body_pause(struct net_req *req)
{
	struct net_pending *r = NET_CONTAINER_OF(req, struct net_pending, pub);
	struct net_conn *c = r->conn;

	if (r->paused)
		return;
	r->paused = 1;
	if (c != NULL && c->u.http.req == r && r->body_state == NET_BODY_READING) {
		net_conn_timer(c, NET_TIMER_NONE, 0);
		if (net_conn_read(c, 0) < 0)
			net_conn_close(c);
	}
}

void net_req_body_resume(struct net_req *req)
{
	struct net_pending *r = NET_CONTAINER_OF(req, struct net_pending, pub);
	struct net_conn *c = r->conn;

	if (!r->paused)
		return;
	r->paused = 0;
	/* Never parses here (this may run inside on_data): the parser holds no
	 * body bytes, so reading on is all there is to do. */
	if (c != NULL && c->u.http.req == r && r->body_state == NET_BODY_READING) {
		net_conn_timer(c, NET_TIMER_BODY, c->srv->limits.idle_timeout_ms);
		if (net_conn_read(c, 1) < 0)
			net_conn_close(c);
	}
}

/* ---- file answers -------------------------------------------------------------- */

static void net_on_file_closed(uv_fs_t *fs)
{
	uv_fs_req_cleanup(fs);
	free(fs);
}

/* Closes fd on the thread pool (a close is disk work); synchronously only
 * when there is no memory for the request. */
static void net_file_close(uv_loop_t *loop, uv_file fd)
{
	uv_fs_t *fs = malloc(sizeof(*fs));

	if (fs == NULL || uv_fs_close(loop, fs, fd, net_on_file_closed) < 0) {
		free(fs);
		(void)close(fd);
	}
}

static void net_on_fsend_closed(uv_fs_t *fs)
{
	struct net_fsend *f = NET_CONTAINER_OF(fs, struct net_fsend, fs);

	uv_fs_req_cleanup(fs);
	free(f->piece);
	free(f);
}

/* Closes the file on the pool and frees f afterwards.  Nothing may be in
 * flight on f->fs. */
static void net_fsend_close(struct net_fsend *f)
{
	if (f->closing)
		return;
	f->closing = 1;
	if (f->conn != NULL) {
		f->conn->u.http.fsend = NULL;
		f->conn = NULL;
	}
	if (uv_fs_close(f->loop, &f->fs, f->fd, net_on_fsend_closed) < 0) {
		(void)close(f->fd);
		free(f->piece);
		free(f);
	}
}

static void net_on_fsend_read(uv_fs_t *fs)
{
	struct net_fsend *f = NET_CONTAINER_OF(fs, struct net_fsend, fs);
	struct net_conn *c = f->conn;
	struct net_write *w = f->piece;
	ssize_t n = fs->result;

	uv_fs_req_cleanup(fs);
	f->reading = 0;
	f->piece = NULL;
	if (c == NULL || n <= 0) {
		/* The connection is gone, or the file ended early or failed: an
		 * answer cut short must not look complete. */
		free(w);
		if (c != NULL)
			net_conn_close(c); /* detaches f */
		net_fsend_close(f);
		return;
	}
	if ((uint64_t)n > f->left)
		n = (ssize_t)f->left;
	f->off += (uint64_t)n;
	f->left -= (uint64_t)n;
	w->len = (size_t)n;
	w->after = f->left == 0 ? f->after : NET_AFTER_MORE;
	if (w->after == NET_AFTER_MORE)
		f->writes++;
	if (f->left == 0)
		net_fsend_close(f); /* the last piece: the file is done with */
	if (net_write_start(c, w) < 0) {
		net_conn_close(c);
		return;
	}
	if (f->left > 0)
		net_fsend_next(f);
}

/* Reads the next piece if nothing is being read and few are being written. */
static void net_fsend_next(struct net_fsend *f)
{
	uv_buf_t b;
	size_t want;

	if (f == NULL || f->reading || f->closing || f->left == 0 || f->writes >= NET_FILE_WRITES)
		return;
	want = f->left < NET_FILE_CHUNK ? (size_t)f->left : NET_FILE_CHUNK;
	if ((f->piece = malloc(sizeof(*f->piece) + want)) == NULL)
		goto fail;
	f->piece->conn = f->conn;
	b = uv_buf_init(f->piece->data, (unsigned)want);
	if (uv_fs_read(f->loop, &f->fs, f->fd, &b, 1, (int64_t)f->off, net_on_fsend_read) < 0)
		goto fail;
	f->reading = 1;
	return;
fail:
	free(f->piece);
	f->piece = NULL;
	net_conn_close(f->conn); /* detaches f and closes the file */
}

void net_req_respond_file(struct net_req *req, int status, const char *content_type, uv_file fd,
			  uint64_t off, uint64_t len, const char *extra_headers)
{
	struct net_pending *r = NET_CONTAINER_OF(req, struct net_pending, pub);
	struct net_conn *c = r->conn;
	struct net_fsend *f = NULL;
	int after, head_only = r->pub.method == NET_HEAD;

	if (c == NULL || c->u.http.fsend != NULL || (f = calloc(1, sizeof(*f))) == NULL) {
		net_file_close(r->loop, fd);
		if (c != NULL)
			net_req_respond(req, 500, NULL, NULL, 0, NULL);
		else
			net_pending_free(r);
		return;
	}
	f->fd = fd;
	f->loop = c->srv->loop;
	f->off = off;
	f->left = head_only ? 0 : len;
	c->u.http.req = NULL;
	after = r->msg.keep_alive && !c->srv->closing ? NET_AFTER_NEXT : NET_AFTER_CLOSE;
	f->after = after;
	if (net_conn_send_head(c, status, content_type, len, extra_headers, f->left ? NET_AFTER_MORE : after,
			       after) < 0) {
		net_conn_close(c);
		net_fsend_close(f);
		goto out;
	}
	if (f->left == 0) {
		net_fsend_close(f);
		goto out;
	}
	f->conn = c;
	c->u.http.fsend = f;
	f->writes = 1; /* the head */
	net_fsend_next(f);
out:
	net_pending_free(r);
}

/* ---- WebSockets -------------------------------------------------------------- */

/* 1 if the comma-separated list (may be NULL) holds token, compared without
 * regard to case (Connection: keep-alive, Upgrade). */
static int net_list_has(const char *list, const char *token)
{
	size_t tlen = strlen(token);
	const char *p = list;

	while (p != NULL && *p != '\0') {
		const char *end = strchr(p, ',');
		size_t n;

		if (end == NULL)
			end = p + strlen(p);
		while (p < end && (*p == ' ' || *p == '\t'))
			p++;
		n = (size_t)(end - p);
		while (n > 0 && (p[n - 1] == ' ' || p[n - 1] == '\t'))
			n--;
		if (n == tlen && strncasecmp(p, token, n) == 0)
			return 1;
		p = *end == ',' ? end + 1 : end;
	}
	return 0;
}

/* Checks the handshake of msg (RFC 6455 4.2.1) and writes the
 * Sec-WebSocket-Accept value to accept.  Returns 0, 400 for a request that
 * is no valid handshake, or 426 for a version other than 13. */
static int net_ws_check(const struct net_parsed_req *msg, char accept[NET_WS_ACCEPT_LEN + 1])
{
	unsigned char key[NET_WS_KEY_BYTES + 2];
	unsigned char digest[NET_SHA1_LEN];
	char concat[NET_WS_KEY_LEN + sizeof(NET_WS_GUID)];
	const char *end = NULL;
	size_t klen = 0;

	if (msg->method != NET_GET || msg->http_major != 1 || msg->http_minor < 1)
		return 400;
	if (!net_list_has(msg->upgrade, "websocket") || !net_list_has(msg->connection, "upgrade"))
		return 400;
	if (msg->ws_key == NULL || strlen(msg->ws_key) != NET_WS_KEY_LEN ||
	    sodium_base642bin(key, sizeof(key), msg->ws_key, NET_WS_KEY_LEN, NULL, &klen, &end,
			      sodium_base64_VARIANT_ORIGINAL) != 0 ||
	    klen != NET_WS_KEY_BYTES || end != msg->ws_key + NET_WS_KEY_LEN)
		return 400;
	if (msg->ws_version == NULL || strcmp(msg->ws_version, NET_WS_VERSION) != 0)
		return 426;
	memcpy(concat, msg->ws_key, NET_WS_KEY_LEN);
	memcpy(concat + NET_WS_KEY_LEN, NET_WS_GUID, sizeof(NET_WS_GUID) - 1);
	net_sha1(concat, NET_WS_KEY_LEN + sizeof(NET_WS_GUID) - 1, digest);
	sodium_bin2base64(accept, NET_WS_ACCEPT_LEN + 1, digest, sizeof(digest),
			  sodium_base64_VARIANT_ORIGINAL);
	return 0;
}

/* The shared copy of (lim, cb, ctx) for a new WebSocket: an existing one
 * that matches, or a new one on the server's list.  NULL on OOM. */
static struct ws_conf *net_ws_conf_get(struct net_server *srv, const struct ws_limits *lim,
				       const struct ws_callbacks *cb, void *ctx)
{
	struct ws_conf *f;
	struct ws_limits def;
	struct ws_callbacks none = {NULL, NULL};

	if (lim == NULL) {
		ws_limits_default(&def);
		lim = &def;
	}
	if (cb == NULL)
		cb = &none;
	for (f = srv->ws_confs; f != NULL; f = f->next) {
		if (f->ctx == ctx && f->cb.on_message == cb->on_message && f->cb.on_close == cb->on_close &&
		    f->lim.max_message_bytes == lim->max_message_bytes &&
		    f->lim.max_pending_bytes == lim->max_pending_bytes &&
		    f->lim.ping_interval_ms == lim->ping_interval_ms &&
		    f->lim.pong_timeout_ms == lim->pong_timeout_ms) {
			f->refs++;
			return f;
		}
	}
	if ((f = calloc(1, sizeof(*f))) == NULL)
		return NULL;
	f->lim = *lim;
	f->cb = *cb;
	f->ctx = ctx;
	f->refs = 1;
	f->next = srv->ws_confs;
	srv->ws_confs = f;
	return f;
}

/* A WebSocket that used conf is gone: the last one frees it. */
static void net_ws_conf_put(struct net_server *srv, const struct ws_conf *conf)
{
	struct ws_conf **pp;

	for (pp = &srv->ws_confs; *pp != NULL; pp = &(*pp)->next) {
		struct ws_conf *f = *pp;

		if (f != conf)
			continue;
		if (--f->refs == 0) {
			*pp = f->next;
			free(f);
		}
		return;
	}
}

struct ws_conn *net_req_accept_ws(struct net_req *req, const struct ws_limits *lim,
				  const struct ws_callbacks *cb, void *ctx)
{
	struct net_pending *r = NET_CONTAINER_OF(req, struct net_pending, pub);
	struct net_conn *c = r->conn;
	struct ws_conn *ws = NULL;
	struct ws_conf *conf;
	struct net_parser *parser;
	char accept[NET_WS_ACCEPT_LEN + 1];
	char head[160];
	char *early = NULL;
	size_t early_len = 0;
	int status, n;

	if (c == NULL)
		goto out;
	c->u.http.req = NULL;
	if ((status = net_ws_check(&r->msg, accept)) != 0) {
		/* codes.h has no row for 426 yet: the client sees BAD_REQUEST's
		 * code with status 426 and the version it should use. */
		net_conn_fail_with(c, &net_codes[PLC_BAD_REQUEST], status,
				   status == 426 ? "Sec-WebSocket-Version: " NET_WS_VERSION "\r\n" : NULL);
		goto out;
	}
	n = snprintf(head, sizeof(head),
		     "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
		     "Connection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n\r\n", accept);
	if (n < 0 || (size_t)n >= sizeof(head) ||
	    net_parser_take_held(c->u.http.parser, &early, &early_len) < 0) {
		net_conn_fail(c, 500);
		goto out;
	}
	if ((conf = net_ws_conf_get(c->srv, lim, cb, ctx)) == NULL) {
		free(early);
		net_conn_fail(c, 500);
		goto out;
	}
	/* From here on the bytes are frames, and the connection's memory holds
	 * the WebSocket instead of the HTTP state (no request and no file
	 * answer is in progress: the upgrade request was the one answered). */
	parser = c->u.http.parser;
	net_parser_release(parser);
	free(parser);
	ws = &c->u.ws;
	ws_conn_init(ws, conf);
	c->is_ws = 1;
	if (net_conn_write(c, head, (size_t)n, NET_AFTER_NOTHING) < 0) {
		/* The application gets ws all the same; on_close (1006)
		 * follows from the loop. */
		free(early);
		net_conn_close(c);
		goto out;
	}
	ws_conn_start(ws, early, early_len);
out:
	net_pending_free(r);
	return ws;
}

size_t net_conn_size(void)
{
	return sizeof(struct net_conn);
}

struct net_conn *net_conn_of_ws(const struct ws_conn *c)
{
	return NET_CONTAINER_OF(c, struct net_conn, u.ws);
}

uv_stream_t *net_conn_ws_stream(struct net_conn *nc)
{
	return (uv_stream_t *)&nc->tcp;
}

struct ws_flush *net_conn_ws_flush(struct net_conn *nc)
{
	return &nc->srv->ws_flush;
}

struct ws_parser_pool *net_conn_ws_pool(struct net_conn *nc)
{
	return &nc->srv->ws_pool;
}

void net_conn_ws_timer(struct net_conn *nc, uint64_t ms)
{
	nc->timer_mode = NET_TIMER_WS;
	if (!nc->closing)
		net_deadline_set(&nc->srv->deadlines, &nc->deadline, ms);
}

int net_conn_ws_read(struct net_conn *nc, int on)
{
	return net_conn_read(nc, on);
}

void net_conn_ws_finish(struct net_conn *nc)
{
	net_conn_linger(nc);
}

void net_conn_ws_abort(struct net_conn *nc)
{
	net_conn_close(nc);
}

void net_conn_ws_peer_ip(const struct net_conn *nc, char *buf, size_t len)
{
	net_conn_peer_format(nc, buf, len);
}

/* ---- accepting -------------------------------------------------------------- */

static void net_on_connection(uv_stream_t *ls, int status);

static void net_on_spare_closed(uv_handle_t *h)
{
	struct net_server *srv = h->data;

	srv->spare_busy = 0;
	/* A connection left waiting meanwhile: libuv will not ask again. */
	if (srv->drop_waiting && !srv->closing) {
		srv->drop_waiting = 0;
		net_on_connection((uv_stream_t *)&srv->listener, 0);
	}
}

/* No memory for a connection: take it off libuv's hands and drop it, or, if
 * the spare handle is still closing, once it is closed. */
static void net_server_drop(struct net_server *srv)
{
	if (srv->spare_busy) {
		srv->drop_waiting = 1;
		return;
	}
	if (uv_tcp_init(srv->loop, &srv->spare) < 0)
		return;
	srv->spare_busy = 1;
	srv->spare.data = srv;
	uv_accept((uv_stream_t *)&srv->listener, (uv_stream_t *)&srv->spare);
	uv_close((uv_handle_t *)&srv->spare, net_on_spare_closed);
}

static void net_conn_peer(struct net_conn *c)
{
	struct sockaddr_storage ss;
	int len = (int)sizeof(ss);

	c->peer_family = 0;
	if (uv_tcp_getpeername(&c->tcp, (struct sockaddr *)&ss, &len) < 0)
		return;
	if (ss.ss_family == AF_INET) {
		memcpy(c->peer, &((const struct sockaddr_in *)&ss)->sin_addr, 4);
		c->peer_family = AF_INET;
	} else if (ss.ss_family == AF_INET6) {
		memcpy(c->peer, &((const struct sockaddr_in6 *)&ss)->sin6_addr, 16);
		c->peer_family = AF_INET6;
	}
}

/* Allocates a connection on srv's list with both handles initialised (not
 * yet accepted).  Returns NULL on failure. */
static struct net_conn *net_conn_new(struct net_server *srv)
{
	struct net_conn *c;

	/* Room for this connection's deadline, reserved now so that arming it
	 * never fails. */
	if (net_deadlines_reserve(&srv->deadlines, (size_t)srv->nconns + srv->nrejecting + 1) < 0 ||
	    (c = calloc(1, sizeof(*c))) == NULL)
		return NULL;
	if ((c->u.http.parser = malloc(sizeof(*c->u.http.parser))) == NULL || uv_tcp_init(srv->loop, &c->tcp) < 0) {
		free(c->u.http.parser);
		free(c);
		return NULL;
	}
	c->srv = srv;
	c->tcp.data = c;
	c->next = srv->conns;
	if (c->next != NULL)
		c->next->prev = c;
	srv->conns = c;
	net_parser_init(c->u.http.parser, srv->limits.max_header_bytes, srv->limits.max_body_bytes);
	net_parser_set_head_stop(c->u.http.parser, srv->head_cb != NULL);
	c->rejected = srv->nconns >= srv->limits.max_connections;
	if (c->rejected)
		srv->nrejecting++;
	else
		srv->nconns++;
	return c;
}

static void net_on_connection(uv_stream_t *ls, int status)
{
	struct net_server *srv = ls->data;
	struct net_conn *c;

	if (status < 0 || srv->closing)
		return;
	if ((c = net_conn_new(srv)) == NULL) {
		net_server_drop(srv);
		return;
	}
	if (uv_accept(ls, (uv_stream_t *)&c->tcp) < 0)
		goto fail;
	if (c->rejected) {
		if (srv->nrejecting > NET_REJECTING_MAX)
			goto fail;
		net_conn_fail(c, 503);
		return;
	}
	uv_tcp_nodelay(&c->tcp, 1);
	net_conn_peer(c);
	net_conn_timer(c, NET_TIMER_HEADER, srv->limits.header_timeout_ms);
	if (net_conn_read(c, 1) < 0)
		goto fail;
	return;
fail:
	net_conn_close(c);
}

/* ---- the server ---------------------------------------------------------------- */

struct net_server *net_server_new(uv_loop_t *loop, const struct net_limits *limits,
				  net_request_cb cb, void *ctx)
{
	struct net_server *srv = calloc(1, sizeof(*srv));

	if (srv == NULL)
		return NULL;
	srv->loop = loop;
	if (limits != NULL)
		srv->limits = *limits;
	else
		net_limits_default(&srv->limits);
	srv->cb = cb;
	srv->ctx = ctx;
	if (net_deadlines_init(&srv->deadlines, loop, net_on_deadline, srv) < 0) {
		free(srv);
		return NULL;
	}
	ws_flush_init(&srv->ws_flush, loop);
	ws_parser_pool_init(&srv->ws_pool);
	return srv;
}

static void net_errf(char *errbuf, size_t errlen, const char *what, const char *addr, const char *why)
{
	if (errbuf != NULL && errlen > 0)
		snprintf(errbuf, errlen, "%s \"%s\": %s", what, addr, why);
}

/* Parses "ADDR:PORT" or "[V6]:PORT" with a numeric address. */
static int net_parse_addr(const char *s, struct sockaddr_storage *ss)
{
	char host[NET_ADDR_MAX];
	const char *end, *port_s;
	unsigned long port = 0;
	size_t hlen;
	int v6 = s[0] == '[';

	if (strlen(s) >= NET_ADDR_MAX)
		return PL_INVAL;
	if (v6) {
		if ((end = strchr(s, ']')) == NULL || end[1] != ':')
			return PL_INVAL;
		port_s = end + 2;
		s++;
	} else {
		if ((end = strrchr(s, ':')) == NULL)
			return PL_INVAL;
		port_s = end + 1;
	}
	hlen = (size_t)(end - s);
	memcpy(host, s, hlen);
	host[hlen] = '\0';
	if (port_s[0] == '\0' || strlen(port_s) > 5)
		return PL_INVAL;
	for (const char *q = port_s; *q != '\0'; q++) {
		if (*q < '0' || *q > '9')
			return PL_INVAL;
		port = port * 10 + (unsigned long)(*q - '0');
	}
	if (port > 65535)
		return PL_INVAL;
	memset(ss, 0, sizeof(*ss));
	if (v6)
		return uv_ip6_addr(host, (int)port, (struct sockaddr_in6 *)ss) < 0 ? PL_INVAL : 0;
	return uv_ip4_addr(host, (int)port, (struct sockaddr_in *)ss) < 0 ? PL_INVAL : 0;
}

int net_server_listen(struct net_server *srv, const char *addr_port, char *errbuf, size_t errlen)
{
	struct sockaddr_storage ss;
	uv_os_fd_t fd;
	int on = 1;
	int rc;

	if (srv->listener_state != NET_LISTENER_NONE || srv->closing) {
		net_errf(errbuf, errlen, "cannot listen on", addr_port ? addr_port : "", "already listening or closed");
		return PL_INVAL;
	}
	if (addr_port == NULL || net_parse_addr(addr_port, &ss) < 0) {
		net_errf(errbuf, errlen, "bad listen address", addr_port ? addr_port : "",
			 "want ADDR:PORT or [V6]:PORT with a numeric address");
		return PL_INVAL;
	}
	if ((rc = uv_tcp_init_ex(srv->loop, &srv->listener, ss.ss_family)) < 0)
		goto out;
	srv->listener_state = NET_LISTENER_OPEN;
	srv->listener.data = srv;
	/* libuv sets SO_REUSEADDR in bind too; say it here, where it is wanted. */
	if ((rc = uv_fileno((uv_handle_t *)&srv->listener, &fd)) < 0)
		goto out;
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)) < 0) {
		rc = UV_EINVAL;
		goto out;
	}
	if ((rc = uv_tcp_bind(&srv->listener, (const struct sockaddr *)&ss, 0)) < 0)
		goto out;
	rc = uv_listen((uv_stream_t *)&srv->listener, NET_BACKLOG, net_on_connection);
out:
	if (rc == 0)
		return 0;
	/* A spent handle cannot be bound again: this server is done. */
	if (srv->listener_state == NET_LISTENER_OPEN) {
		uv_close((uv_handle_t *)&srv->listener, NULL);
		srv->listener_state = NET_LISTENER_CLOSED;
	}
	net_errf(errbuf, errlen, "cannot listen on", addr_port, uv_strerror(rc));
	return PL_IO;
}

int net_server_port(const struct net_server *srv)
{
	struct sockaddr_storage ss;
	int len = (int)sizeof(ss);

	if (srv->listener_state != NET_LISTENER_OPEN ||
	    uv_tcp_getsockname(&srv->listener, (struct sockaddr *)&ss, &len) < 0)
		return PL_INVAL;
	if (ss.ss_family == AF_INET)
		return ntohs(((const struct sockaddr_in *)&ss)->sin_port);
	return ntohs(((const struct sockaddr_in6 *)&ss)->sin6_port);
}

void net_server_close(struct net_server *srv)
{
	struct net_conn *c, *next;

	if (srv->closing)
		return;
	srv->closing = 1;
	if (srv->listener_state == NET_LISTENER_OPEN) {
		uv_close((uv_handle_t *)&srv->listener, NULL);
		srv->listener_state = NET_LISTENER_CLOSED;
	}
	/* Closing does not unlink (that waits for the close callbacks).  A
	 * WebSocket is told 1000 first if it can be. */
	for (c = srv->conns; c != NULL; c = next) {
		next = c->next;
		if (c->is_ws)
			ws_conn_on_server_close(&c->u.ws);
		else
			net_conn_close(c);
	}
	/* Every connection is closing, and closing ones have no deadline and
	 * no output waiting for the flush. */
	net_deadlines_close(&srv->deadlines);
	ws_flush_close(&srv->ws_flush);
}

void net_server_free(struct net_server *srv)
{
	struct ws_conf *f;

	while ((f = srv->ws_confs) != NULL) {
		srv->ws_confs = f->next;
		free(f);
	}
	ws_parser_pool_release(&srv->ws_pool);
	net_deadlines_release(&srv->deadlines);
	free(srv);
}

unsigned net_server_connections(const struct net_server *srv)
{
	return srv->nconns;
}

void net_server_set_head_cb(struct net_server *srv, net_head_cb cb)
{
	srv->head_cb = cb;
}
