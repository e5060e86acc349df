/*
 * ws.h — WebSocket connections (RFC 6455, server side) on top of the HTTP
 * server of net.h.
 *
 * A WebSocket starts as an HTTP request that the application answers with
 * net_req_accept_ws() (net.h).  From then on the connection carries frames
 * only: the module reads client frames with wslay (unmasking, fragments,
 * ping/pong, the closing handshake), hands each complete text message to
 * on_message, and writes what the application sends.  Everything here runs
 * on the loop thread, except the ws_frame functions, which any thread may
 * call (the reference count is atomic).
 *
 * Server -> client messages are struct ws_frame: a text frame encoded once
 * and shared by reference count, so that one update fanned out to 10,000
 * sockets is neither copied nor re-encoded.
 *
 * Close codes the module sends (docs/sync.md, "The WebSocket"):
 *   1000  ws_conn_close(c, 1000, ...), or the server is shutting down
 *   1002  protocol error: an unmasked frame, a reserved bit or opcode, a
 *         fragmented or too long (> 125 bytes) control frame, a
 *         continuation without a start, a bad close frame
 *   1003  a binary message (only text is spoken here)
 *   1007  a text message that is not valid UTF-8
 *   1009  a message longer than max_message_bytes (refused as soon as a
 *         frame header announces it, before its payload is buffered)
 *   1011  the server ran out of memory
 *   4408  more than max_pending_bytes of output waited for the peer
 * After a protocol error the close frame is sent and the connection ends
 * without waiting for the peer's answer (RFC 6455 7.1.7).  A peer's close
 * frame is answered and the TCP connection closed.  A connection that was
 * silent for ping_interval_ms is pinged; one silent for pong_timeout_ms is
 * closed at once, without a closing handshake (on_close gets 1006).
 *
 * Text and NUL.  A text message must be valid UTF-8 (overlong forms,
 * surrogates and code points past U+10FFFF are refused with 1007).  U+0000
 * is valid UTF-8, so a message may contain NUL bytes: on_message then gets
 * the message's true length, and C string functions see only its start.
 *
 * Memory.  An idle connection holds no read buffer, no wslay context, no
 * output queue and no timer of its own: the first two exist only while bytes
 * are being processed or a message, a frame or the closing handshake is
 * half-way, the queue only while output waits, and every connection's
 * timeouts share the server's one timer (see ws.c for the figures).  The
 * server keeps a few spare wslay contexts for all its connections
 * (WS_PARSER_POOL_MAX, ws_int.h), so a read does not create one.  Output
 * is a queue of references to frames, bounded by max_pending_bytes.
 */
#ifndef PL_NET_WS_H
#define PL_NET_WS_H

#include <stddef.h>

struct ws_limits {
	size_t max_message_bytes;   /* default 1 MiB: reassembled client message; past it close 1009 */
	size_t max_pending_bytes;   /* default 4 MiB: output queued for the peer; past it close 4408 */
	unsigned ping_interval_ms;  /* default 30000: ping an idle connection (0: never) */
	unsigned pong_timeout_ms;   /* default 60000: close if nothing heard for this long (0: never) */
};

/* Fills l with the defaults above. */
void ws_limits_default(struct ws_limits *l);

struct ws_conn;

struct ws_callbacks {
	/* A complete text message (valid UTF-8, NUL-terminated for convenience; len excludes the NUL).
	 * The pointer is valid only during the call. Binary messages: close 1003.  Messages that
	 * arrive after ws_conn_close() are dropped. */
	void (*on_message)(void *ctx, struct ws_conn *c, const char *text, size_t len);
	/* The connection is gone (peer closed, error, limit, or ws_conn_close finished). Called once;
	 * c must not be used after it returns (the module frees it later, libuv-style). code is the
	 * close code sent or received (1006 if the socket just died; 1005 if the peer's close frame
	 * had no code).  Never called from inside another ws_* or net_* call: always from the loop. */
	void (*on_close)(void *ctx, struct ws_conn *c, int code);
};

/* A server->client text frame encoded once (header + payload, unmasked) and shared by refcount
 * between every connection it is sent to: fan-out to 10,000 sockets must not copy or re-encode.
 * The payload must be valid UTF-8 (it is sent as it is; the module does not check it). */
struct ws_frame;

/* Encodes payload (len bytes, copied) as one text frame.  Returns it with a reference count of
 * 1, owned by the caller (drop it with ws_frame_unref), or NULL on OOM.  Any thread. */
struct ws_frame *ws_frame_new(const char *payload, size_t len);
/* The same for a payload of three pieces, a then b then c (each copied; a piece of length 0
 * may be NULL): a pushed update is a head, the stored body and a tail, copied once into the
 * frame instead of being formatted first.  Owned by the caller as ws_frame_new's.  Any thread. */
struct ws_frame *ws_frame_new3(const char *a, size_t alen, const char *b, size_t blen, const char *c, size_t clen);
/* Takes one more reference.  Any thread. */
void ws_frame_ref(struct ws_frame *f);
/* Drops one reference; the last one frees f.  NULL is ignored.  Any thread. */
void ws_frame_unref(struct ws_frame *f);

/* Queues f (takes its own ref); what a connection is sent during one loop iteration is written
 * at the end of it, in one system call when the socket takes it (ws.c).  Returns 0, or
 * PL_TOOBIG when the queued output would exceed max_pending_bytes — the connection is then
 * closed with 4408 and on_close follows — or PL_CLOSED if the connection is closing.  Loop
 * thread only. */
int ws_conn_send_frame(struct ws_conn *c, struct ws_frame *f);

/* Same for a one-off text (copied into a new frame); also PL_NOMEM. */
int ws_conn_send_text(struct ws_conn *c, const char *text, size_t len);
/* The same for the text head (hlen bytes) followed by tail (tlen bytes), copied into the frame
 * in one go (an answer's envelope and its body, without joining them first). */
int ws_conn_send_text2(struct ws_conn *c, const char *head, size_t hlen, const char *tail, size_t tlen);

/* Starts the closing handshake with code and reason; on_close follows (with code) once the peer
 * has answered, or after WS_CLOSE_WAIT_MS (ws.c) if it does not.  code must be one a server may
 * send (1000-1003, 1007-1011, 3000-4999), else 1000 is sent; reason (may be NULL) is cut to
 * 123 bytes at a character boundary.  Nothing happens if the connection is already closing.
 * Loop thread only. */
void ws_conn_close(struct ws_conn *c, int code, const char *reason);

/* A pointer for the application's use (NULL at first). */
void ws_conn_set_data(struct ws_conn *c, void *data);
void *ws_conn_data(const struct ws_conn *c);

/* Bytes queued, not yet written to the socket (what max_pending_bytes bounds). */
size_t ws_conn_pending(const struct ws_conn *c);

/* Writes the peer's address as text into buf (len bytes; NET_PEER_IP_MAX
 * of net.h is enough; "" if unknown) and returns buf.  The connection keeps
 * the address in binary and formats it on demand. */
const char *ws_conn_peer_ip(const struct ws_conn *c, char *buf, size_t len);

#endif
