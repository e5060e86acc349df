/*
 * http_parse.h — the HTTP/1.1 request assembler of src/net (private to the
 * module; the server in http.c and the tests use it).
 *
 * It wraps http-parser and knows nothing about sockets: the caller hands it
 * the bytes it has read, and it yields one complete request at a time —
 * method, raw path and query, the Authorization and Content-Type values, the
 * four headers of a WebSocket handshake (Upgrade, Connection,
 * Sec-WebSocket-Key, Sec-WebSocket-Version), Range, If-Range and
 * If-None-Match (for files), the announced Content-Length, the body and
 * whether the connection may carry another request.  It enforces the
 * server's limits while the bytes arrive:
 *   - request line + headers longer than max_header_bytes, or
 *     the trailer section of a chunked body longer than it      -> 431
 *   - a Content-Length above max_body_bytes (decided as soon as
 *     the headers end, before any body byte is read), or a
 *     chunked body growing past it                              -> 413
 *   - anything malformed, a request target not starting with
 *     '/', a repeated Authorization, Content-Length,
 *     Content-Type, Range or If-Range header, an HTTP version
 *     other than 1.x                                           -> 400
 * Any byte after a request that ends the connection (keep_alive 0) is a 400.
 * A request that asks to switch protocols (http-parser's "upgrade": Upgrade
 * plus Connection: upgrade) always ends the HTTP conversation: bytes after it
 * belong to the new protocol and are kept for net_parser_take_held().
 * The four handshake headers and If-None-Match may repeat: their values are
 * joined with ", " as for any list-valued header (RFC 9110 5.3), so a
 * repeated Sec-WebSocket-Key simply fails the handshake's checks.
 * After an error the parser is dead: every later call returns the same error.
 *
 * Nothing in the target is decoded: the application routes on the raw path.
 *
 * Stopping at heads (net_parser_set_head_stop).  A server that streams some
 * bodies to disk (uploads) needs to see a request's line and headers before
 * its body is read.  With head stop on, net_parser_next() returns
 * NET_PARSE_HEAD as soon as a request's headers are complete (no body limit
 * is applied yet; net_parser_head() shows the head) and the caller picks:
 *   net_parser_buffer()  read the body whole, within max_body_bytes, exactly
 *                        as without head stop: the next calls return 0 with
 *                        the complete request;
 *   net_parser_stream()  take the head now, and have every body byte handed
 *                        to a callback as it is parsed (chunked coding
 *                        removed), within a limit given here: the next
 *                        calls return PL_AGAIN until the body is complete,
 *                        then NET_PARSE_END.
 * Either way the request's bytes are parsed exactly as without head stop.
 *
 * Bytes that follow a complete request (pipelining) are copied and kept for
 * the next call, so the caller never has to hold on to its read buffer.
 */
#ifndef PL_NET_HTTP_PARSE_H
#define PL_NET_HTTP_PARSE_H

#include <stddef.h>
#include <stdint.h>
#include <http_parser.h>

/* Most bytes kept back after a complete request for the next one.  The
 * server reads at most this much at once, so it can never overflow there. */
#define NET_PARSE_HELD_MAX 65536
/* Header names longer than this are not ones we look at. */
#define NET_PARSE_NAME_MAX 32
/* Longest Expect value we compare ("100-continue"). */
#define NET_PARSE_EXPECT_MAX 16

/* Results of net_parser_next() besides 0 and errors (head stop only). */
#define NET_PARSE_HEAD 1 /* a request's headers are complete: see net_parser_head() */
#define NET_PARSE_END 2  /* a streamed body is complete */

/* Receives a streamed body: len bytes, valid only during the call. */
typedef void (*net_parse_body_cb)(void *ctx, const char *data, size_t len);

/* A growable byte string with a hard maximum (NUL not counted in max). */
struct net_dbuf {
	char *data;
	size_t len;
	size_t cap;
	size_t max;
};

/* One complete request.  The strings are owned by the struct and freed by
 * net_parsed_req_release(); all are NUL-terminated. */
struct net_parsed_req {
	int method;                /* enum net_method (net.h) */
	unsigned short http_major;
	unsigned short http_minor;
	int keep_alive;            /* 1: the connection may carry another request */
	char *target;              /* owned: path NUL query NUL */
	const char *path;          /* into target: before '?', never decoded */
	const char *query;         /* into target: after '?' (no fragment), or "" */
	char *authorization;       /* owned, or NULL if absent */
	char *content_type;        /* owned, or NULL if absent */
	char *upgrade;             /* owned, or NULL if absent */
	char *connection;          /* owned, or NULL if absent */
	char *ws_key;              /* Sec-WebSocket-Key: owned, or NULL if absent */
	char *ws_version;          /* Sec-WebSocket-Version: owned, or NULL if absent */
	char *range;               /* Range: owned, or NULL if absent (once only) */
	char *if_range;            /* If-Range: owned, or NULL if absent (once only) */
	char *if_none_match;       /* If-None-Match: owned, or NULL (a list: repeats joined) */
	int64_t content_length;    /* Content-Length, or -1 (none, or chunked) */
	char *body;                /* owned, never NULL ("" if no body); NULL in a head */
	size_t body_len;
};

/* The assembler.  Embed it (e.g. in a connection), set it up with
 * net_parser_init() and free its contents with net_parser_release(). */
struct net_parser {
	http_parser hp;
	size_t max_header_bytes;
	size_t max_body_bytes;

	/* bytes kept after a complete request, not yet parsed */
	struct net_dbuf held;
	size_t held_off;

	/* the request being assembled */
	struct net_dbuf target;
	struct net_dbuf auth;
	struct net_dbuf ctype;
	struct net_dbuf upgrade;
	struct net_dbuf conn;
	struct net_dbuf ws_key;
	struct net_dbuf ws_version;
	struct net_dbuf range;
	struct net_dbuf if_range;
	struct net_dbuf inm;
	struct net_dbuf body;
	char name[NET_PARSE_NAME_MAX + 1];
	size_t name_len;
	int name_long;             /* the name did not fit: it is none of ours */
	char expect[NET_PARSE_EXPECT_MAX + 1];
	size_t expect_len;
	int cur;                   /* which header the current value belongs to */
	int last_was_value;        /* header callbacks: value seen since the name */
	unsigned seen;             /* bit per header we allow only once */
	size_t head_bytes;         /* bytes of request line + headers so far */
	size_t trailer_bytes;      /* bytes of chunked trailers so far */
	int started;               /* a request has begun and is not complete */
	int in_head;               /* still reading the request line + headers */
	int in_trailer;            /* reading the trailer section of a chunked body */
	int complete;              /* on_message_complete fired */
	int want_continue;         /* Expect: 100-continue, not yet reported */
	int keep_alive;
	int err_status;            /* status decided in a callback, 0 if none */
	int closed;                /* the last request ended the connection */
	int dead_status;           /* the parser failed with this status */

	/* head stop and streamed bodies */
	int head_stop;             /* stop at every request's head */
	int at_head;               /* stopped there: net_parser_buffer/_stream next */
	int head_taken;            /* the head is in `head` (p owns it until emitted) */
	int streaming;             /* the body goes to body_cb */
	struct net_parsed_req head;
	net_parse_body_cb body_cb;
	void *body_ctx;
	uint64_t stream_max;       /* body bytes allowed when streaming */
	uint64_t stream_got;       /* body bytes handed out so far */
};

/* Sets p up with the two limits (0 is allowed: then any header byte, or any
 * body byte, is too many).  Never fails: memory is taken only as bytes
 * arrive. */
void net_parser_init(struct net_parser *p, size_t max_header_bytes, size_t max_body_bytes);

/* Frees everything p holds, including a half-assembled request. */
void net_parser_release(struct net_parser *p);

/* Parses the bytes held back from earlier calls, then data[0..len) (data may
 * be NULL when len is 0).  data is fully used or copied before the call
 * returns.  Returns:
 *   0          a request is complete: *req is filled and owned by the caller
 *              (net_parsed_req_release); bytes after it are kept, so call
 *              again with len 0 to get the next pipelined request;
 *   PL_AGAIN   every byte was used and the request is not complete yet;
 *   PL_INVAL   malformed input, *status = 400;
 *   PL_TOOBIG  a limit was hit, *status = 413 or 431;
 *   PL_NOMEM   allocation failed, *status = 500.
 * After an error the parser is dead and every call returns that error. */
int net_parser_next(struct net_parser *p, const char *data, size_t len,
		    struct net_parsed_req *req, int *status);

/* 1 if bytes of a request that is not complete yet have arrived (the server
 * then runs the header timer instead of the idle timer). */
int net_parser_started(const struct net_parser *p);

/* 1, once per request, if the request being read asked for
 * "Expect: 100-continue" and its headers passed every limit: the server
 * should now send "HTTP/1.1 100 Continue". */
int net_parser_take_continue(struct net_parser *p);

/* Hands the bytes kept after the last complete request to the caller (who
 * frees *data with free()) and forgets them; *data is NULL and *len 0 if
 * there are none.  For a connection that switched protocols: those bytes
 * belong to the new protocol.  Returns 0 or PL_NOMEM. */
int net_parser_take_held(struct net_parser *p, char **data, size_t *len);

/* Turns stopping at heads on or off (off by default).  Only between
 * requests: call it before feeding any byte, or after a request completed. */
void net_parser_set_head_stop(struct net_parser *p, int on);

/* After NET_PARSE_HEAD: the request's head, borrowed (p owns it; body is
 * NULL), valid until net_parser_buffer() or net_parser_stream(). */
const struct net_parsed_req *net_parser_head(const struct net_parser *p);

/* After NET_PARSE_HEAD: read the body whole.  Returns 0, or PL_TOOBIG with
 * *status 413 when the announced Content-Length is over max_body_bytes (the
 * parser is then dead, as for any error). */
int net_parser_buffer(struct net_parser *p, int *status);

/* After NET_PARSE_HEAD: stream the body to cb(ctx, ...), at most max bytes
 * (more is a 413 error).  Moves the head into *req (the caller owns it; body
 * ""), and returns 0, or PL_TOOBIG with *status 413 when the announced
 * Content-Length is over max (the parser is then dead, *req untouched). */
int net_parser_stream(struct net_parser *p, uint64_t max, net_parse_body_cb cb, void *ctx,
		      struct net_parsed_req *req, int *status);

/* Frees the strings of req and clears it. */
void net_parsed_req_release(struct net_parsed_req *req);

#endif
