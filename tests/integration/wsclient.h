/*
 * wsclient.h — a minimal blocking WebSocket client (RFC 6455) for the
 * integration tests of live delivery (tests/integration/test_sync*.c).  It
 * is linked into every integration test, beside harness.c, and depends on
 * nothing but POSIX sockets, jansson and libparley's URL parser: the tests
 * must not trust the code they check, so this is not libparley's
 * parley_conn_*.
 *
 * A struct wsc is one TCP connection that has completed (or tried) the
 * opening handshake of GET /api/ws.  Everything blocks, with a timeout in
 * milliseconds on every wait.  What it does:
 *   - the handshake, checking 101, Upgrade, Connection and that
 *     Sec-WebSocket-Accept is SHA-1(key + GUID) in base64;
 *   - sends masked text frames, or any frame at all (unmasked, reserved
 *     opcodes, lying lengths) and raw bytes, for the malformed-input tests;
 *   - receives text messages (reassembling fragments), answers pings,
 *     ignores pongs, and records the server's close frame (code and reason);
 *   - checks what the server sends: frames unmasked, reserved bits clear,
 *     known opcodes, text valid UTF-8.  A violation ends the connection for
 *     the client with WSC_EPROTO and a reason in wsc_error();
 *   - calls: {"id":N,"method":M,"params":P} waits for the reply with that
 *     id; every other message that arrives meanwhile (updates, events) is
 *     kept in a queue that wsc_next() drains first, so nothing is lost.
 *
 * Threads: one struct wsc is used by one thread at a time; distinct ones
 * may be used from distinct threads.  No global state; SIGPIPE is never
 * raised (MSG_NOSIGNAL).
 *
 * Ownership: messages handed out (json_t **, char **) are new references or
 * malloc'd strings the caller releases; params passed to wsc_call() are
 * stolen.  wsc_free() closes the socket and frees everything.
 */
#ifndef PL_TESTS_WSCLIENT_H
#define PL_TESTS_WSCLIENT_H

#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

#define WSC_MESSAGE_MAX (64u * 1024u * 1024u) /* largest server message accepted */
#define WSC_HEADERS_MAX 16384                   /* largest handshake reply header block */
#define WSC_REASON_MAX 124                      /* a close reason: at most 123 bytes + NUL */

/* Results.  Every function that can fail returns one of these (negative). */
enum wsc_rc {
	WSC_OK = 0,
	WSC_TIMEOUT = -1,   /* nothing (complete) arrived in time */
	WSC_CLOSED = -2,    /* the connection is over: see wsc_close_code() */
	WSC_EPROTO = -3,    /* the server broke RFC 6455, or a message is not JSON (wsc_error()) */
	WSC_ENET = -4,      /* connect, send or receive failed */
	WSC_ENOMEM = -5,
	WSC_EHANDSHAKE = -6 /* the upgrade was refused or its reply is wrong */
};

/* Opcodes (RFC 6455 5.2). */
enum {
	WSC_OP_CONT = 0x0,
	WSC_OP_TEXT = 0x1,
	WSC_OP_BINARY = 0x2,
	WSC_OP_CLOSE = 0x8,
	WSC_OP_PING = 0x9,
	WSC_OP_PONG = 0xA
};

/* How to connect; a zeroed struct (or NULL) means the defaults. */
struct wsc_opts {
	const char *path;     /* request target, default "/api/ws" (a "?token=..." may follow) */
	const char *token;    /* sent as "Authorization: Bearer <token>" if not NULL */
	const char *extra;    /* more header lines, each ending "\r\n", or NULL */
	const char *request;  /* if set: sent verbatim instead of the built request (its key
			       * is then unknown, so Sec-WebSocket-Accept is not checked) */
	int rcvbuf;           /* > 0: SO_RCVBUF set before connecting (a slow reader) */
	int timeout_ms;       /* for connect + handshake, default 10000 */
};

struct wsc;

/* Connects to base_url ("http://127.0.0.1:PORT") and performs the opening
 * handshake.  Returns WSC_OK with *out set, or a negative wsc_rc with *out
 * NULL; *http_status (may be NULL) gets the reply's status, 0 if there was
 * none.  On WSC_EHANDSHAKE a non-101 reply's body, if any, is kept in
 * errbuf; other reasons go there too (errbuf may be NULL). */
int wsc_connect(const char *base_url, const struct wsc_opts *o, struct wsc **out, int *http_status, char *errbuf,
		size_t errlen);

/* Parley's usual start: connects with token on the upgrade request and
 * waits up to timeout_ms for the {"event":"ready",...} that says the session
 * is registered for live delivery (docs/sync.md).  user_id / session_id (may
 * be NULL) get its fields.  Messages before it, if any, stay queued.  Not
 * ready in time, or closed: a negative wsc_rc, the reason in errbuf. */
int wsc_open(const char *base_url, const char *token, int timeout_ms, struct wsc **out, int64_t *user_id,
	     int64_t *session_id, char *errbuf, size_t errlen);

/* Closes the socket and frees c.  NULL is fine. */
void wsc_free(struct wsc *c);

/* The socket, for tests that need it (shutdown, SO_LINGER). */
int wsc_fd(const struct wsc *c);

/* Sends one frame: fin (0 or 1), rsv (the three RSV bits, 0..7), opcode
 * (0..15, reserved ones too), masked with a random key if masked, and
 * len bytes of payload.  The length is encoded minimally.  WSC_OK or
 * WSC_ENET. */
int wsc_send_frame(struct wsc *c, int fin, int rsv, int opcode, int masked, const void *payload, size_t len);

/* Sends a frame whose header claims claimed_len bytes of payload but is
 * followed by only the len bytes given (masked; for "too large" tests that
 * must not send megabytes). */
int wsc_send_frame_claiming(struct wsc *c, int opcode, uint64_t claimed_len, const void *payload, size_t len);

/* Sends bytes as they are. */
int wsc_send_raw(struct wsc *c, const void *bytes, size_t len);

/* A masked, unfragmented text frame of text (strlen). */
int wsc_send_text(struct wsc *c, const char *text);

/* A close frame with code (0: none) and no reason, masked. */
int wsc_send_close(struct wsc *c, int code);

/* Waits up to timeout_ms for the next complete text message and hands it
 * over in *text (malloc'd, NUL-terminated) and *len.  Queued JSON messages
 * are not looked at: use wsc_next() for those.  WSC_OK, WSC_TIMEOUT,
 * WSC_CLOSED, WSC_EPROTO or WSC_ENET. */
int wsc_recv_text(struct wsc *c, int timeout_ms, char **text, size_t *len);

/* The next JSON message: the oldest queued one, else the next that arrives
 * within timeout_ms.  *msg is a new reference.  A text that is not JSON is
 * WSC_EPROTO. */
int wsc_next(struct wsc *c, int timeout_ms, json_t **msg);

/* Puts msg (reference stolen) back at the head of the queue. */
void wsc_unget(struct wsc *c, json_t *msg);

/* Number of queued messages. */
size_t wsc_queued(const struct wsc *c);

/* Sends {"id":N,"method":method,"params":params} (params stolen; NULL for
 * {}) with a fresh N and waits up to timeout_ms for the message whose id is
 * N; it is stored in *reply (the whole envelope: id, ok, result or
 * error_code/description).  Other messages meanwhile are queued.  WSC_OK
 * (whatever "ok" says), or a negative wsc_rc. */
int wsc_call(struct wsc *c, const char *method, json_t *params, int timeout_ms, json_t **reply);

/* Sends a call without waiting; returns its id (> 0) or a negative wsc_rc. */
int64_t wsc_call_send(struct wsc *c, const char *method, json_t *params);

/* Waits for the reply to call id (see wsc_call). */
int wsc_call_wait(struct wsc *c, int64_t id, int timeout_ms, json_t **reply);

/* Reads until the connection ends, queueing whatever messages arrive.
 * Returns the close code (wsc_close_code()) or WSC_TIMEOUT. */
int wsc_wait_close(struct wsc *c, int timeout_ms);

/* After WSC_CLOSED: the code of the server's close frame, 1005 if it had
 * none, or 1006 if the TCP connection ended without one.  0 while open. */
int wsc_close_code(const struct wsc *c);
const char *wsc_close_reason(const struct wsc *c);

/* Why the last call failed (borrowed; "" if it did not). */
const char *wsc_error(const struct wsc *c);

/* Pings answered and pongs received so far. */
unsigned long wsc_pings(const struct wsc *c);
unsigned long wsc_pongs(const struct wsc *c);

/* The name of a wsc_rc ("timeout"). */
const char *wsc_strerror(int rc);

#endif
