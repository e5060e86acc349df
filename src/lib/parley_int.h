/*
 * parley_int.h — libparley's private contract between its files (never
 * installed, never included by the CLI).  Every symbol here still carries the
 * parley_ prefix, so the static library exports nothing else.
 *
 *   buf.c     bounded growable byte buffers
 *   error.c   struct parley_error helpers and parley_strerror()
 *   url.c     http:// URL parsing
 *   http.c    the HTTP/1.1 connection: connect, send, parse replies
 *   client.c  clients, parley_call() and the reply envelope
 *   api.c     typed conveniences over parley_call()
 *   config.c  the CLI's config file
 *   sha1.c    SHA-1, base64 and random bytes for the WebSocket handshake
 *   sha256.c  SHA-256 for checking downloads
 *   files.c   uploads (multipart/form-data from a file) and downloads (Range)
 *   ws.c      the WebSocket client: handshake, frames, closing handshake
 *   sync.c    the sync rules of docs/sync.md as pure logic (no I/O)
 *   state.c   struct parley_state and its file
 *   conn.c    the connection object: ws.c + sync.c + reconnecting
 */
#ifndef PARLEY_LIB_INT_H
#define PARLEY_LIB_INT_H

#include <signal.h>
#include <stdarg.h>
#include <stddef.h>

#include <stdint.h>

#include "parley.h"

/* --- buf.c: a byte buffer with a hard maximum (curl's dynbuf). ---------- */

struct parley_buf {
	char *p;       /* NUL-terminated when len > 0 or after any add */
	size_t len;
	size_t cap;
	size_t max;    /* len never exceeds max */
};

void parley_buf_init(struct parley_buf *b, size_t max);
/* Frees the contents; b may be reused after parley_buf_init(). */
void parley_buf_release(struct parley_buf *b);
/* Appends n bytes.  PARLEY_ETOOBIG past max, PARLEY_ENOMEM. */
int parley_buf_add(struct parley_buf *b, const void *data, size_t n);
int parley_buf_adds(struct parley_buf *b, const char *s);
int parley_buf_addf(struct parley_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Makes room for n more bytes (plus a NUL) without changing len.
 * PARLEY_ETOOBIG if len + n > max. */
int parley_buf_reserve(struct parley_buf *b, size_t n);
/* Drops the first n bytes (n <= len). */
void parley_buf_consume(struct parley_buf *b, size_t n);
/* Hands the contents to the caller (malloc'd, NUL-terminated, never NULL on
 * success) and empties b.  NULL on allocation failure. */
char *parley_buf_detach(struct parley_buf *b, size_t *len);

/* --- error.c --------------------------------------------------------- */

/* Fills err (may be NULL) for a client-side failure rc with a formatted
 * description; the code is derived from rc.  Returns rc. */
int parley_error_set(struct parley_error *err, int rc, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Client-side code name of rc: "NETWORK_ERROR", "PROTOCOL_ERROR", ... */
const char *parley_rc_code(int rc);

/* Copies at most len-1 bytes of src into dst, cutting on a UTF-8 character
 * boundary, always NUL-terminating (len > 0). */
void parley_strlcpy_utf8(char *dst, const char *src, size_t len);

/* --- client state ------------------------------------------------------ */

struct parley_client {
	struct parley_url url;
	char server[PARLEY_URL_MAX + 1];
	char token[PARLEY_TOKEN_MAX + 1];   /* "" when not logged in */
	char device[PARLEY_DEVICE_MAX + 1]; /* "" when unset */
	int timeout_ms;                     /* <= 0: no deadline */
	int fd;                             /* kept-alive connection or -1 */
	unsigned long fd_requests;          /* replies read on fd so far */
	unsigned long connects;             /* connections opened in total */
	int io_idle_ms;                     /* > 0 during a streamed transfer: each wait's
					     * deadline (no progress for this long), none for the whole */
};

/* --- http.c ------------------------------------------------------------ */

struct parley_http_req {
	const char *method;        /* "GET", "POST", ... */
	const char *path;          /* starts with '/', prefix not included */
	const char *content_type;  /* NULL: no body headers unless body given */
	const char *body;
	size_t body_len;
	/* Streamed transfers (files.c).  A request body may go on with the
	 * bytes of an open file (read with pread, so a retry can send them
	 * again) and then tail; a 2xx reply's body may go to sink instead of
	 * resp->body (with no size limit).  Either makes the deadline one of
	 * progress: each wait may last the client's timeout, the whole may
	 * take as long as bytes keep moving. */
	int body_fd;               /* -1 (or 0 with body_fd_len 0): none */
	uint64_t body_fd_len;
	const char *tail;
	size_t tail_len;
	const char *range;         /* a Range header to send, or NULL */
	int (*sink)(void *ctx, const char *data, size_t len); /* non-zero stops: PARLEY_ECANCELED */
	void *sink_ctx;
	parley_progress_cb progress; /* bytes of the body sent (upload) or received (sink) */
	void *progress_ctx;
};

/* Bytes of a reply header value kept (ETag, Content-Range). */
#define PARLEY_HEADER_VALUE_MAX 160

struct parley_http_resp {
	int status;
	struct parley_buf body;    /* init'd by parley_http_do, caller releases */
	char etag[PARLEY_HEADER_VALUE_MAX];          /* "" if none */
	char content_range[PARLEY_HEADER_VALUE_MAX]; /* "" if none */
	int64_t content_length;    /* -1 if none */
};

/* Sends req on c's connection (connecting, and reconnecting once if a
 * kept-alive connection was found closed) and reads the whole reply.
 * Returns 0 with resp filled (release resp->body even on failure), or a
 * negative parley_rc with err filled. */
int parley_http_do(struct parley_client *c, const struct parley_http_req *req,
		   struct parley_http_resp *resp, struct parley_error *err);

/* Closes c's connection if open. */
void parley_http_close(struct parley_client *c);

/* Monotonic milliseconds. */
int64_t parley_now_ms(void);

/* Waits until fd is ready for events or the deadline (0: none) passes.
 * Returns 0, PARLEY_ETIMEDOUT, PARLEY_ENETWORK, or PARLEY_ECANCELED once
 * *stop (may be NULL) is set — checked before each wait and after a signal
 * interrupts one. */
int parley_fd_wait(int fd, short events, int64_t deadline, const volatile sig_atomic_t *stop);

/* Opens a non-blocking TCP connection to url (server names it in errors),
 * trying each resolved address in turn.  Returns 0 with *fd set, or a
 * negative parley_rc (PARLEY_ETIMEDOUT at the deadline) with *fd -1. */
int parley_tcp_connect(const struct parley_url *url, const char *server, int64_t deadline, int *fd,
		       struct parley_error *err);

/* Case-insensitive: does the comma-separated header value v (n bytes) hold
 * the token tok? */
int parley_http_has_token(const char *v, size_t n, const char *tok);

/* --- client.c: the reply envelope --------------------------------------- */

/* Decodes an {"ok":...} envelope: 0 with a new reference to "result" in
 * *result (may be NULL), PARLEY_EAPI with err filled from an ok:false one,
 * PARLEY_EPROTO for anything else.  status is the HTTP status (0 over the
 * WebSocket), used when the envelope has no error_code. */
int parley_envelope_json(json_t *doc, int status, json_t **result, struct parley_error *err);
/* The same for len bytes of text. */
int parley_envelope(int status, const char *body, size_t len, json_t **result, struct parley_error *err);

/* --- sha1.c --------------------------------------------------------------- */

#define PARLEY_SHA1_LEN 20
/* Bytes base64 needs for n bytes of input, NUL included. */
#define PARLEY_BASE64_LEN(n) (4 * (((n) + 2) / 3) + 1)

void parley_sha1(const void *data, size_t len, unsigned char out[PARLEY_SHA1_LEN]);
/* Writes the base64 (with padding) of in[0..n) and a NUL to out; returns its
 * length, or 0 if outlen < PARLEY_BASE64_LEN(n). */
size_t parley_base64(const unsigned char *in, size_t n, char *out, size_t outlen);
/* Fills buf with n bytes from the kernel's random source.  0 or PARLEY_EIO. */
int parley_random(void *buf, size_t n);

/* --- sha256.c ------------------------------------------------------------------ */

struct parley_sha256 {
	uint32_t h[8];
	uint64_t len;
	unsigned char buf[64];
	size_t n;
};

void parley_sha256_init(struct parley_sha256 *s);
void parley_sha256_update(struct parley_sha256 *s, const void *data, size_t len);
/* Finishes s and writes the digest as 64 lower-case hex digits and a NUL. */
void parley_sha256_hex(struct parley_sha256 *s, char out[65]);

/* --- ws.c: the WebSocket client (RFC 6455) --------------------------------- */

#define PARLEY_WS_GUID "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
#define PARLEY_WS_PATH "/api/ws"
#define PARLEY_WS_CONTROL_MAX 125  /* payload of a control frame */
#define PARLEY_WS_HEAD_MAX 14      /* bytes of a frame header, mask included */

enum parley_ws_op {
	PARLEY_WS_CONT = 0x0,
	PARLEY_WS_TEXT = 0x1,
	PARLEY_WS_BINARY = 0x2,
	PARLEY_WS_CLOSE = 0x8,
	PARLEY_WS_PING = 0x9,
	PARLEY_WS_PONG = 0xA,
};

/* Results of parley_ws_parse(). */
enum parley_ws_event {
	PARLEY_WS_NEED = 0,      /* the input holds no complete message */
	PARLEY_WS_MESSAGE = 1,   /* a complete text message */
	PARLEY_WS_CLOSED = 2,    /* the peer's close frame arrived */
};

/* One client connection.  Input is parsed as it arrives: a data frame's
 * payload is moved into msg piece by piece (server frames are not masked),
 * so a message costs its own size once, however it is fragmented. */
struct parley_ws {
	int fd;                    /* -1 when closed */
	struct parley_buf in;      /* received, not yet parsed, from in_off on */
	size_t in_off;
	struct parley_buf msg;     /* the message being reassembled (max PARLEY_WS_MESSAGE_MAX) */
	int msg_op;                /* its opcode, 0 when no message is open */
	int msg_done;              /* msg holds a complete message already returned */
	int frame_op;              /* opcode of the frame whose payload is being read */
	int frame_fin;
	uint64_t frame_left;       /* payload bytes of that frame still to come */
	int in_frame;              /* a data frame's header was read, payload pending */
	struct parley_buf out;     /* frames waiting to be written */
	int close_sent;            /* our close frame is queued */
	int close_rcvd;            /* the peer's close frame arrived */
	int peer_code;             /* its code (1005 if it had none) */
	char peer_reason[PARLEY_WS_CONTROL_MAX];
	int fail_code;             /* close code for a protocol error we found, 0 if none */
	int64_t last_rx;           /* parley_now_ms() when bytes last arrived */
	const volatile sig_atomic_t *stop; /* see parley_fd_wait(); may be NULL */
};

/* One message handed out by parley_ws_parse() / parley_ws_read(): borrowed
 * from ws->msg, valid until the next parse. */
struct parley_ws_msg {
	const char *data;          /* NUL-terminated for convenience */
	size_t len;
};

void parley_ws_init(struct parley_ws *ws);
/* Closes the socket (no handshake) and frees the buffers; ws may be reused
 * after parley_ws_init(). */
void parley_ws_release(struct parley_ws *ws);

/* Connects and performs the opening handshake for GET prefix/api/ws with
 * "Authorization: Bearer token" (token may be NULL).  A reply other than 101
 * becomes PARLEY_EAPI when it is a Parley error envelope (err filled), else
 * PARLEY_EPROTO; a 101 whose Sec-WebSocket-Accept does not match the key is
 * PARLEY_EPROTO.  Bytes after the handshake stay in ws->in. */
int parley_ws_connect(struct parley_ws *ws, const struct parley_url *url, const char *server, const char *token,
		      int64_t deadline, struct parley_error *err);

/* Appends one masked frame (FIN set) to out.  PARLEY_ETOOBIG past out's
 * maximum, PARLEY_EIO without random bytes, PARLEY_ENOMEM. */
int parley_ws_frame(struct parley_buf *out, int opcode, const void *payload, size_t len);

/* Parses what ws->in holds.  Pings are answered (a pong queued in ws->out),
 * pongs ignored.  Returns PARLEY_WS_MESSAGE with m set, PARLEY_WS_CLOSED
 * (ws->peer_code set), PARLEY_WS_NEED, or a negative parley_rc for a
 * protocol error with ws->fail_code set to the close code to send (1002
 * framing, 1003 binary message, 1007 invalid UTF-8, 1009 too big). */
int parley_ws_parse(struct parley_ws *ws, struct parley_ws_msg *m);

/* Writes what ws->out holds. */
int parley_ws_flush(struct parley_ws *ws, int64_t deadline, struct parley_error *err);

/* Sends text as one text frame. */
int parley_ws_send_text(struct parley_ws *ws, const char *text, size_t len, int64_t deadline,
			struct parley_error *err);

/* Reads until a text message arrives (0, m set) or the deadline passes
 * (PARLEY_ETIMEDOUT; the connection stays usable).  Any other failure closes
 * the socket: the peer's close frame (answered first; ws->peer_code tells
 * which) and EOF give PARLEY_ENETWORK, protocol errors PARLEY_EPROTO or
 * PARLEY_ETOOBIG after sending the close frame ws->fail_code names. */
int parley_ws_read(struct parley_ws *ws, int64_t deadline, struct parley_ws_msg *m, struct parley_error *err);

/* The closing handshake: sends a close frame with code (if none was sent),
 * waits up to wait_ms for the peer's, then closes the socket. */
void parley_ws_close(struct parley_ws *ws, int code, int wait_ms);

/* --- sync.c: the client rules of docs/sync.md, without I/O ------------------ */

#define PARLEY_SYNC_UNKNOWN (-1)   /* a sequence whose starting pts is not known yet */
#define PARLEY_SYNC_LEFT_MAX 64    /* chats recently left, whose stray pushes are ignored */
#define PARLEY_SYNC_STATE_TRIES 4  /* getState answers ahead of the user sequence that are retried */

/* One sequence: the user's (chat_id 0) or one large chat's. */
struct parley_sync_seq {
	int64_t chat_id;
	int64_t pts;       /* last applied, or PARLEY_SYNC_UNKNOWN */
	json_t *held;      /* rows with pts > pts + 1, ascending, no duplicates; NULL when none */
	int need_diff;     /* the difference must be fetched: a catch-up, or held rows were dropped */
	int gap;           /* a row is held for a missing pts: fetch it unless it arrives */
};

/* Everything a device knows about where it stands.  Pushed rows and
 * difference rows go through the same rules: pts <= applied is dropped,
 * applied + 1 is applied (then held rows that now follow), anything later is
 * held and flags a gap.  Applying calls update(); the sync also follows and
 * unfollows chat sequences as chat_large and the user's own chat_member
 * updates say. */
struct parley_sync {
	int64_t user_id;               /* whose sequences; 0 until known */
	struct parley_sync_seq user;
	struct parley_sync_seq chats[PARLEY_STATE_CHATS_MAX];
	size_t nchats;
	int64_t left[PARLEY_SYNC_LEFT_MAX]; /* ring of recently left chats */
	size_t nleft, left_next;
	int need_state;                /* getState must be asked (chats to discover) */
	int state_tries;               /* getState answers in a row that were ahead of us */
	int from_start;                /* chats the first getState names start at pts 0 */
	int overflow;                  /* a chat was not followed: PARLEY_STATE_CHATS_MAX */
	unsigned long applied;         /* updates applied so far */
	unsigned long version;         /* bumped on every change of the state */
	parley_update_cb update;
	parley_reload_cb reload;
	void *ctx;
	char app[PARLEY_STATE_APP_MAX];
};

/* Starts from start (copied), or, when start is NULL or its pts is
 * PARLEY_SYNC_UNKNOWN, from whatever getState will say. */
void parley_sync_init(struct parley_sync *s, const struct parley_state *start);
void parley_sync_release(struct parley_sync *s);

/* The state to persist: known sequences only. */
void parley_sync_state(const struct parley_sync *s, struct parley_state *out);

/* A (re)connection became ready: every sequence needs its difference and
 * the chat list is asked again. */
void parley_sync_catchup(struct parley_sync *s);

/* Results of parley_sync_push(). */
enum parley_sync_result {
	PARLEY_SYNC_DROPPED = 0,   /* already applied, or of a chat not followed */
	PARLEY_SYNC_APPLIED = 1,   /* applied (and maybe held ones after it) */
	PARLEY_SYNC_HELD = 2,      /* kept until the pts before it is applied */
};

/* Takes one row ({"pts","update"} or {"chat_id","pts","update"}; borrowed,
 * referenced if held).  Returns an enum parley_sync_result, PARLEY_EPROTO for
 * a row that is not an update, or PARLEY_ENOMEM. */
int parley_sync_push(struct parley_sync *s, json_t *row);

/* Applies one getDifference (chat_id 0) or getChatDifference result asked
 * for from the sequence's current pts.  Returns 1 when the server has more
 * (ask again), 0 when this sequence is caught up, or PARLEY_EPROTO. */
int parley_sync_difference(struct parley_sync *s, int64_t chat_id, json_t *result);

/* Applies a getState result: the user pts if not known yet, the starting pts
 * of chats to follow.  getState tells where chats stand now, so it is used
 * only when the user sequence is where the server is: an answer whose pts is
 * ahead of the applied one asks for the user difference first and getState
 * again (up to PARLEY_SYNC_STATE_TRIES times in a row, then it is taken as
 * is), so that a chat_large still to come in the user sequence is not
 * overtaken by a later starting point.  0 or PARLEY_EPROTO. */
int parley_sync_state_reply(struct parley_sync *s, json_t *result);

/* Is chat_id's sequence followed (its start known or not)? */
int parley_sync_following(struct parley_sync *s, int64_t chat_id);

/* Stops following a chat (it is gone or no longer ours). */
void parley_sync_unfollow(struct parley_sync *s, int64_t chat_id);

/* The sequence whose difference is due next (the user's first), or NULL. */
struct parley_sync_seq *parley_sync_next_diff(struct parley_sync *s);

/* Is s[0..n) valid UTF-8 (no overlong forms, surrogates or code points past
 * U+10FFFF)? */
int parley_utf8_valid(const char *s, size_t n);

#endif
