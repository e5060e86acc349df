/*
 * ws_int.h — the insides of src/net's WebSocket support, shared by http.c
 * (which owns the socket), ws.c, sha1.c, the unit tests and the fuzz target.
 * Nothing outside src/net, tests/ and fuzz/ includes it; the contract for
 * the application is ws.h and net.h.
 *
 * Three parts:
 *   - struct ws_parser: the receive side, socket-free.  It is given the
 *     bytes a client sent and yields complete text messages plus the bytes
 *     to send back (pongs, close frames), using wslay for the frames.  A
 *     connection embeds one; fuzz/fuzz_ws.c drives one directly.
 *   - the few calls between http.c and ws.c that hand a connection over
 *     from HTTP to WebSocket and back for closing (http.c keeps the
 *     libuv handles and frees the memory, ws.c runs the protocol).
 *   - net_sha1() for Sec-WebSocket-Accept, and counters the tests check.
 */
#ifndef PL_NET_WS_INT_H
#define PL_NET_WS_INT_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>
#include <wslay/wslay.h>

#include "net/ws.h"

/* ---- SHA-1 (sha1.c) ------------------------------------------------------ */

#define NET_SHA1_LEN 20

/* Writes the SHA-1 digest of data[0..len) to digest. */
void net_sha1(const void *data, size_t len, unsigned char digest[NET_SHA1_LEN]);

/* ---- the receive side ------------------------------------------------------ */

/* Where a parser stands. */
enum ws_parser_state {
	WS_PARSER_OPEN = 0,  /* messages flow */
	WS_PARSER_CLOSING,   /* ws_parser_close() sent our close frame; waiting for the peer's */
	WS_PARSER_DONE,      /* the closing handshake is over, or the connection was failed:
			      * no more input is read; close the socket once the output is out */
};

struct ws_parser;

/* What a parser calls back.  Both are called from inside ws_parser_feed()
 * or ws_parser_close() only. */
struct ws_parser_ops {
	/* A complete text message: valid UTF-8 (NUL allowed), text[len] == '\0'.
	 * Only while the parser is WS_PARSER_OPEN; text is valid during the call. */
	void (*message)(struct ws_parser *p, const char *text, size_t len);
	/* Bytes for the peer, one or more whole unmasked control frames (pongs,
	 * a close frame); data is valid during the call.  Returns 0, or a
	 * negative pl_err: the parser then stops reading (WS_PARSER_DONE). */
	int (*output)(struct ws_parser *p, const char *data, size_t len);
};

/* What a parser holds only while its wslay context exists: the input and
 * output of the call in progress, where the frame stream stands, and bytes
 * carried to the next feed.  Allocated with the context (zeroed when
 * created or taken from a pool), so that a parser at rest is small.  It is
 * the user_data wslay passes to every callback (wslay has no setter for
 * it), so a pair taken from a pool reaches its new parser through owner. */
struct ws_parser_busy {
	struct ws_parser *owner;       /* the parser using the pair */
	wslay_event_context_ptr wslay; /* the context created with it */
	struct ws_parser_busy *next;   /* the pool's list, while spare */
	struct ws_parser_in *in;       /* the bytes being fed, during ws_parser_feed() */
	struct ws_parser_out *out;     /* collects wslay's output, during a flush */
	uint64_t loose;                /* bytes given to wslay, not yet part of an ended frame */
	uint64_t frame_bytes;          /* header + payload of the frame being read */
	uint64_t sc_left;              /* payload bytes not yet given */
	uint64_t sc_msg;               /* payload bytes of the data message so far */
	char *carry;                   /* input kept for the next feed (a partial close payload) */
	size_t carry_len;
	unsigned char in_frame;        /* a frame has started and not ended */
	unsigned char in_message;      /* a fragmented data message is open */
	/* Where wslay's input stands in the frame stream (ws_wslay_recv). */
	unsigned char sc_pos;          /* header bytes given so far */
	unsigned char sc_hlen;         /* header length, once known */
	unsigned char sc_ext;          /* extended length bytes: 0, 2 or 8 */
	unsigned char sc_op;           /* opcode of the frame */
	unsigned char sc_payload;      /* the header is given, payload bytes are due */
	unsigned char sc_hold;         /* a close frame: its payload goes in one piece */
	unsigned char sc_fin;          /* the frame's FIN bit */
	unsigned char sc_in_msg;       /* a fragmented data message has begun */
};

/* The receive state of one connection.  Embed it; set it up with
 * ws_parser_init() and free what it holds with ws_parser_release().
 *
 * The wslay context (about 8.8 KB: wslay keeps a 4 KB input and a 4 KB
 * output buffer in it) and struct ws_parser_busy exist only while they hold
 * something: they are created (or taken from a struct ws_parser_pool) when
 * bytes arrive and freed (or given back to the pool) again at the end
 * of ws_parser_feed() when no frame or fragmented message is half-read, no
 * input byte is left inside wslay and the connection is open.  Whether
 * input bytes are left is known twice over: the recv callback follows the
 * frame headers it hands to wslay (sc_*: it is at a frame boundary, nothing
 * is carried), and every byte handed over is "loose" until the frame it
 * belongs to has ended (header size follows from the payload length, since
 * wslay refuses non-minimal length encodings).  At rest a parser is 40
 * bytes. */
struct ws_parser {
	const struct ws_parser_ops *ops;
	wslay_event_context_ptr wslay; /* NULL while at rest */
	struct ws_parser_busy *b;      /* NULL while at rest (with wslay) */
	uint64_t max_message;
	unsigned short code;           /* close code: ours if we closed first, else the peer's */
	unsigned char state;           /* enum ws_parser_state */
	unsigned char lost;            /* counting went wrong: never free the context again */
	unsigned char initiated;       /* we sent the first close frame */
	unsigned char out_failed;      /* ops->output failed: output no more */
};

/* Spare (wslay context + struct ws_parser_busy) pairs, so that a
 * connection does not create and free an 8.8 KB context for every read.
 * Owned by the object that owns the connections (http.c's server, one for
 * all its WebSockets; reached through net_conn_ws_pool()), loop thread
 * only.  A pair goes back to the pool only from the point where a parser
 * comes to rest (ws_parser_feed: no frame or message half-read, nothing
 * carried, no close seen or sent, reading on, nothing queued to send), so
 * a spare is in the same state as a new one but for what is reset on
 * taking (struct ws_parser_busy, the message limit); a pair used otherwise
 * is freed.  At most WS_PARSER_POOL_MAX spares are kept (the rest are
 * freed): 64 x ~8.9 KB = ~570 KB per server at most, memory that a server
 * with that many connections busy at once had allocated anyway. */
#define WS_PARSER_POOL_MAX 64

struct ws_parser_pool {
	struct ws_parser_busy *spare;  /* linked through next */
	unsigned count;                /* spares listed, <= WS_PARSER_POOL_MAX */
};

/* Sets pool up empty (cannot fail). */
void ws_parser_pool_init(struct ws_parser_pool *pool);
/* Frees every spare pair in pool (not pool itself). */
void ws_parser_pool_release(struct ws_parser_pool *pool);

/* Sets p up; max_message bounds a reassembled message (close 1009 past it). */
void ws_parser_init(struct ws_parser *p, const struct ws_parser_ops *ops, size_t max_message);

/* Frees the wslay context and anything half-read. */
void ws_parser_release(struct ws_parser *p);

/* Processes data[0..len), the next bytes from the peer: calls ops->message
 * for each complete text message and ops->output for what must be sent back
 * (the output of one call comes in one piece, after the messages).  Returns
 * 0 while input is wanted, PL_CLOSED once the parser is WS_PARSER_DONE
 * (then p->code tells the close code); bytes fed after that are ignored.
 * pool (may be NULL: no pooling) is where a context is taken from when p
 * has none and given back to when p comes to rest. */
int ws_parser_feed(struct ws_parser *p, struct ws_parser_pool *pool, const char *data, size_t len);

/* Starts the closing handshake: outputs a close frame with code and reason
 * (reason_len <= 123); may be called from inside ops->message.  Returns 0,
 * PL_CLOSED if a close frame was already sent or the parser is done, or
 * PL_NOMEM. */
int ws_parser_close(struct ws_parser *p, int code, const char *reason, size_t reason_len);

/* Bytes of control frames wslay holds, not yet output (normally 0: output
 * is handed on at the end of every call). */
size_t ws_parser_queued(const struct ws_parser *p);

/* Encodes a close frame with code (no reason) into buf (4 bytes). */
void ws_close_frame_encode(unsigned char buf[4], int code);

/* 1 if code may be sent in a close frame (RFC 6455 7.4: 1000-1003,
 * 1007-1011, 3000-4999). */
int ws_close_code_sendable(int code);

/* ---- frames (ws.c) ------------------------------------------------------------ */

/* The reference count of f (for tests). */
unsigned ws_frame_refs(const struct ws_frame *f);

/* The frame's bytes as sent: header + payload. */
const char *ws_frame_bytes(const struct ws_frame *f, size_t *len);

/* Frames alive in the process (for leak checks in tests). */
long ws_frames_live(void);

/* sizeof(struct ws_conn) and sizeof(struct net_conn), for the memory
 * figures the tests report. */
size_t ws_conn_size(void);
size_t net_conn_size(void);

/* ---- a connection ------------------------------------------------------------ */

/* What net_req_accept_ws() was given (limits, callbacks, context), kept
 * once per server for every connection that was given the same: an idle
 * connection holds a pointer, not a copy.  http.c owns the list. */
struct ws_conf {
	struct ws_limits lim;
	struct ws_callbacks cb;
	void *ctx;
	struct ws_conf *next;         /* the server's list */
	size_t refs;                  /* connections using it */
};

struct ws_write;
struct ws_early;

/* Output is written once per loop iteration (Redis's
 * handleClientsWithPendingWrites in beforeSleep): a frame sent to a
 * WebSocket is queued on the connection, and a connection with queued
 * frames and no write in flight is listed here.  At the end of the poll
 * phase the check handle writes each listed connection's queue with one
 * uv_write, so that k updates fanned out to a socket in one iteration cost
 * one writev, not k writes.  The check runs in the same iteration as the
 * reads and the async callbacks that queued the output, before the loop
 * blocks again: no added latency.  Output queued outside the poll phase
 * (timers: pings, the handshake's early bytes; write callbacks run in the
 * pending phase; close callbacks) is written by the prepare handle, which
 * runs before the next poll blocks.  Both handles are active only while
 * something is listed.  The server embeds one (http.c), set up with
 * ws_flush_init() and closed with ws_flush_close() once every connection is
 * closing (the loop must then run before its memory goes). */
struct ws_flush {
	uv_check_t check;
	uv_prepare_t prepare;
	struct ws_write *head;        /* listed connections' output */
	unsigned char closed;
};

/* Sets fl up on loop (cannot fail: libuv's check and prepare init only
 * fill the handles in). */
void ws_flush_init(struct ws_flush *fl, uv_loop_t *loop);
/* Stops and closes fl's handles (uv_close). */
void ws_flush_close(struct ws_flush *fl);

/* A WebSocket.  It is part of http.c's struct net_conn (the socket's one
 * allocation), which ws.c reaches through net_conn_of_ws(); http.c sets it
 * up with ws_conn_init() and frees the memory after ws_conn_on_closed().
 * Output waits in a ring of frame references that also carries the write
 * in flight (struct ws_write, ws.c) and the link of the server's flush list
 * (struct ws_flush), so a connection with nothing to send holds neither. */
struct ws_conn {
	struct ws_parser parser;
	const struct ws_conf *conf;   /* limits and callbacks, shared */
	void *data;                   /* ws_conn_set_data */
	uint64_t last_heard;          /* uv_now() when the peer last sent a byte */
	struct ws_write *wr;          /* output written and waiting, or NULL */
	struct ws_early *early;       /* bytes that came with the handshake, not yet read */
	unsigned short code;          /* for on_close */
	unsigned char state;          /* enum ws_state (ws.c) */
	unsigned char pinged;         /* a ping went out since the peer was last heard */
	unsigned char timer_off;      /* WS_OPEN with no deadline armed */
};

/* ---- between http.c and ws.c ------------------------------------------------ */

struct net_conn;

/* ws.c, called by http.c. */

/* Sets up the WebSocket c (inside a connection whose 101 answer is
 * queued) with conf, which must outlive it. */
void ws_conn_init(struct ws_conn *c, const struct ws_conf *conf);
/* Starts the connection: early (malloc'd, len bytes, may be NULL) are bytes
 * the client sent right after its handshake; c takes them and processes
 * them on the next loop iteration, before reading on (never inside
 * net_req_accept_ws, whose caller does not know c yet). */
void ws_conn_start(struct ws_conn *c, char *early, size_t len);
/* nread bytes (or an error or EOF if negative) from the socket. */
void ws_conn_on_read(struct ws_conn *c, const char *data, ssize_t nread);
/* The connection's timer fired (set through net_conn_ws_timer). */
void ws_conn_on_timer(struct ws_conn *c);
/* http.c is closing the socket: nothing more may be sent. */
void ws_conn_on_net_close(struct ws_conn *c);
/* The server is shutting down: best-effort close frame 1000, then close. */
void ws_conn_on_server_close(struct ws_conn *c);
/* The socket is closed: calls on_close and frees what c holds (not c: it
 * is part of the connection, which http.c frees next). */
void ws_conn_on_closed(struct ws_conn *c);

/* http.c, called by ws.c. */

/* The connection c is part of. */
struct net_conn *net_conn_of_ws(const struct ws_conn *c);
uv_stream_t *net_conn_ws_stream(struct net_conn *nc);
/* The server's output flush, which every WebSocket of it shares. */
struct ws_flush *net_conn_ws_flush(struct net_conn *nc);
/* The server's spare wslay contexts, which every WebSocket of it shares. */
struct ws_parser_pool *net_conn_ws_pool(struct net_conn *nc);
/* (Re)starts the connection's timer: ws_conn_on_timer() in ms (0: on the
 * next loop iteration). */
void net_conn_ws_timer(struct net_conn *nc, uint64_t ms);
/* Starts (on 1) or stops reading.  Returns 0 or PL_IO. */
int net_conn_ws_read(struct net_conn *nc, int on);
/* The output is all written: send FIN, discard input until the peer closes
 * or a short linger passes, then close (ws_conn_on_closed follows). */
void net_conn_ws_finish(struct net_conn *nc);
/* Closes the socket now (ws_conn_on_net_close, later ws_conn_on_closed). */
void net_conn_ws_abort(struct net_conn *nc);
/* Writes the peer's address as text into buf (len bytes; "" if unknown). */
void net_conn_ws_peer_ip(const struct net_conn *nc, char *buf, size_t len);

#endif
