/*
 * net.h — Parley's HTTP/1.1 server on libuv and http-parser.
 *
 * The network thread runs a libuv loop and never blocks on disk.  It accepts
 * connections, parses requests within named limits, and hands each complete
 * request to the application through net_request_cb.  The application answers
 * later — usually after a worker thread has done the work — with
 * net_req_respond(), always on the loop thread.
 *
 * Ownership: a struct net_req belongs to the server.  It stays valid from the
 * request callback until net_req_respond() is called for it, even if the peer
 * disconnects meanwhile (the response is then dropped).  The application must
 * respond to every request exactly once.  Requests on one connection are
 * answered in order: the server reads the next pipelined request only after
 * the current one was answered.
 *
 * Limits (struct net_limits, documented in docs/operations.md):
 *   max_connections   further connections are accepted and closed at once
 *   max_header_bytes  request line + headers; past it: 431
 *   max_body_bytes    past it: 413 (before the body is read)
 *   header_timeout_ms the full request must arrive within it; else 408 + close
 *   idle_timeout_ms   a keep-alive connection idle this long is closed
 * Malformed HTTP gets 400 and the connection is closed.  Error replies the
 * server makes itself use the API's JSON envelope:
 *   {"ok":false,"error_code":413,"description":"REQUEST_TOO_LARGE: ..."}
 *
 * WebSockets (ws.h).  A request that asks to switch protocols reaches the
 * application like any other, with req->upgrade set; the application either
 * accepts it with net_req_accept_ws() or answers it with net_req_respond(),
 * which then ends the connection if the request had both Upgrade and
 * Connection: upgrade (the client's next bytes may already be in the other
 * protocol).  Once a connection is a WebSocket its bytes are frames only.
 *
 * Streamed bodies (uploads).  With a head callback (net_server_set_head_cb)
 * the application sees each request's line and headers before its body is
 * read and picks, per request, NET_BODY_BUFFER (the default above: the whole
 * body within max_body_bytes, then net_request_cb) or NET_BODY_STREAM: the
 * request reaches net_request_cb at once with req->streaming set and no body
 * read yet.  The application then either answers at once (the connection is
 * closed after the answer, since the body was not read) or calls
 * net_req_body_start() with its own limit and callbacks: the body arrives in
 * pieces (chunked coding removed) on the loop thread, as it is read, and
 * net_req_body_pause()/_resume() stop and restart reading from the socket —
 * the flow control of an application whose disk writes lag.  A body that
 * makes no progress for idle_timeout_ms (while not paused) is answered 408.
 * "Expect: 100-continue" is answered when net_req_body_start() is called.
 *
 * Streamed answers (downloads).  net_req_respond_file() sends a range of an
 * open file, read on libuv's thread pool a piece at a time and written as
 * the peer takes it: the loop thread never reads the disk and holds at most
 * NET_FILE_CHUNK * 3 bytes of it per connection.
 */
#ifndef PL_NET_NET_H
#define PL_NET_NET_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

struct ws_conn;
struct ws_limits;
struct ws_callbacks;

struct net_limits {
	unsigned max_connections;   /* default 10000 */
	size_t max_header_bytes;    /* default 16384 */
	size_t max_body_bytes;      /* default 1048576 */
	unsigned header_timeout_ms; /* default 10000 */
	unsigned idle_timeout_ms;   /* default 60000 */
};

/* Fills l with the defaults above. */
void net_limits_default(struct net_limits *l);

/* Room for a peer's address as text (IPv6 with a zone fits). */
#define NET_PEER_IP_MAX 64

enum net_method { NET_GET = 1, NET_POST = 2, NET_HEAD = 3, NET_OTHER = 4 };

/* One parsed request.  All strings are NUL-terminated and owned by the server. */
struct net_req {
	int method;                 /* enum net_method */
	const char *path;           /* URL path without the query, e.g. "/api/sendMessage" */
	const char *query;          /* after '?', or "" */
	const char *authorization;  /* Authorization header value, or NULL */
	const char *content_type;   /* Content-Type header value, or NULL */
	const char *upgrade;        /* Upgrade header value, or NULL */
	const char *connection;     /* Connection header value, or NULL */
	const char *sec_websocket_key;     /* Sec-WebSocket-Key value, or NULL */
	const char *sec_websocket_version; /* Sec-WebSocket-Version value, or NULL */
	const char *range;          /* Range value, or NULL */
	const char *if_range;       /* If-Range value, or NULL */
	const char *if_none_match;  /* If-None-Match value (repeats joined), or NULL */
	int64_t content_length;     /* announced Content-Length, or -1 (none, or chunked) */
	int streaming;              /* NET_BODY_STREAM: no body yet, see net_req_body_start */
	const char *body;           /* request body, NUL-terminated; "" if none (and when streaming) */
	size_t body_len;
	char peer_ip[NET_PEER_IP_MAX]; /* textual address of the peer */
	uint64_t start_ns;          /* uv_hrtime() when the request was complete */
	void *user;                 /* free for the application's use */
};

typedef void (*net_request_cb)(void *ctx, struct net_req *req);

/* How a request's body is read (the head callback's answer). */
enum net_body_mode { NET_BODY_BUFFER = 0, NET_BODY_STREAM = 1 };

/* Sees a request's line and headers (req: body "", valid during the call
 * only; do not answer it) and returns an enum net_body_mode. */
typedef int (*net_head_cb)(void *ctx, const struct net_req *req);

/* A streamed body.  on_data gets each piece (data valid during the call
 * only; len > 0).  on_end is called once: rc 0 when the body is complete;
 * PL_TOOBIG past the limit given to net_req_body_start (the connection can
 * still carry the answer, and is closed after it); PL_CLOSED when the
 * connection is gone or failing (peer closed, malformed chunked coding, 408;
 * the answer is then dropped).  Either way the application still answers
 * the request once (net_req_respond), in on_end or later.  Answering before
 * on_end is allowed too: the rest of the body is then not read, no more
 * callbacks come, and the connection is closed after the answer. */
struct net_body_cb {
	void (*on_data)(void *ctx, struct net_req *req, const char *data, size_t len);
	void (*on_end)(void *ctx, struct net_req *req, int rc);
};

/* Bytes of a file read at once by net_req_respond_file(). */
#define NET_FILE_CHUNK (256 * 1024)

struct net_server;

/* Creates a server on loop that calls cb(ctx, req) for each request.  Returns
 * NULL on allocation failure.  Free with net_server_free() after the loop has
 * stopped running the server's handles (see net_server_close). */
struct net_server *net_server_new(uv_loop_t *loop, const struct net_limits *limits,
				  net_request_cb cb, void *ctx);

/* Binds and listens on "ADDR:PORT" (IPv4, or "[v6]:PORT").  Port 0 picks a
 * free port; net_server_port() tells which.  Returns 0 or a negative pl_err,
 * with a message in errbuf. */
int net_server_listen(struct net_server *srv, const char *addr_port, char *errbuf, size_t errlen);
int net_server_port(const struct net_server *srv);

/* Stops accepting, closes every connection (pending requests are answered
 * with nothing), and closes all handles.  The loop must then run until it has
 * no more active handles before net_server_free(). */
void net_server_close(struct net_server *srv);
void net_server_free(struct net_server *srv);

/* Connections currently open. */
unsigned net_server_connections(const struct net_server *srv);

/* Sets the head callback (NULL: every body is buffered).  Before listening. */
void net_server_set_head_cb(struct net_server *srv, net_head_cb cb);

/* Starts reading the body of a streamed request (req->streaming): at most
 * max_bytes (more: on_end(PL_TOOBIG)); cb is copied, ctx is passed back.
 * The callbacks may run before this returns (bytes that came with the
 * headers).  Returns 0; PL_TOOBIG when the announced Content-Length is over
 * max_bytes (nothing is read, no callback comes: answer the request);
 * PL_CLOSED when the peer is gone (answer it, which just frees it);
 * PL_INVAL if req is not streamed or was started already.  Loop thread. */
int net_req_body_start(struct net_req *req, uint64_t max_bytes, const struct net_body_cb *cb, void *ctx);
/* Stop and restart reading a streamed body from the socket (idempotent).
 * Bytes already read are still delivered.  Loop thread. */
void net_req_body_pause(struct net_req *req);
void net_req_body_resume(struct net_req *req);

/* Answers req with status and len bytes of the open file fd from offset
 * off (Content-Length: len), read on the thread pool.  net owns fd from the
 * call on and closes it (on the pool) whatever happens; HEAD gets the head
 * only.  extra_headers as for net_req_respond().  If the file ends early the
 * connection is closed.  Loop thread. */
void net_req_respond_file(struct net_req *req, int status, const char *content_type, uv_file fd,
			  uint64_t off, uint64_t len, const char *extra_headers);

/* Sends the response to req and releases it.  status is an HTTP status code;
 * body (len bytes) is copied.  extra_headers, if not NULL, is a string of
 * complete "Name: value\r\n" lines.  Loop thread only. */
void net_req_respond(struct net_req *req, int status, const char *content_type,
		     const char *body, size_t len, const char *extra_headers);

/* Answers req with 101 Switching Protocols and turns its connection into a WebSocket with
 * these callbacks and limits. If the request is not a valid WebSocket upgrade (GET, Upgrade:
 * websocket, Connection: upgrade, Sec-WebSocket-Key of 16 base64 bytes, version 13), answers
 * 400 (426 for a wrong version) itself and returns NULL. Either way req is released.
 * Also NULL if the peer is gone already, or on allocation failure (then 500).  lim may be
 * NULL (ws_limits_default); lim and cb are copied.  The ws_conn belongs to the module: it
 * lives until cb->on_close has returned; on_message is never called before this returns.
 * Repeated headers are joined with ", " (http_parse.h): repeated Connection or Upgrade headers
 * read as one list, a repeated Sec-WebSocket-Key or -Version fails the checks.
 * Loop thread only. */
struct ws_conn *net_req_accept_ws(struct net_req *req, const struct ws_limits *lim,
				  const struct ws_callbacks *cb, void *ctx);

#endif
