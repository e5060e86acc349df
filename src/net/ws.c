/*
 * ws.c — WebSocket connections (RFC 6455, server side); the contract is
 * ws.h, the insides shared with http.c are in ws_int.h.
 *
 * Three layers, bottom up:
 *
 * The receive side (struct ws_parser) knows no sockets.  Bytes go into a
 * wslay event context through an in-memory recv callback; wslay parses and
 * unmasks the frames, reassembles fragmented messages, checks UTF-8 and the
 * frame rules, answers pings and close frames.  Its output (a pong as soon
 * as its ping is read, close frames) is collected through a send callback
 * and handed on.  The parser adds what wslay leaves to the application:
 * binary messages are refused (1003), a close frame with a one-byte payload
 * is a protocol error, text is checked once more with utf8_count() (segment
 * by segment, since utf8_count refuses the NUL that WebSocket text may
 * contain), and frame errors that wslay answers with an empty close frame
 * (a fragmented or over-long control frame, a non-minimal length) get a
 * proper 1002.  The recv callback follows the frame headers it hands over:
 * it gives wslay one frame at a time, a close frame's payload only whole
 * (see ws_wslay_recv), and refuses a message past max_message_bytes as soon
 * as a header announces it (wslay would wait for a first payload byte).
 * The wslay context — about 8.8 KB — and the parser's state that lives with
 * it (struct ws_parser_busy) are let go whenever they hold nothing (see
 * struct ws_parser in ws_int.h): into the server's pool of spares (struct
 * ws_parser_pool), from which the next read of any connection takes them
 * back, or freed when the pool is full.  Creating, zeroing and freeing
 * them for every read cost about 10,700 instructions (callgrind, one
 * sendMessage a read), a third of the loop thread's work per message.
 * And a parser at rest reads whole, final, masked text frames without
 * wslay (ws_parser_fast): a context's round trip through wslay — its
 * byte-at-a-time header, its message buffer, the copy out of it — cost
 * ~4,000 of the loop's ~21,000 instructions per message in the 1:1 bench.
 * The first frame it does not take (any other kind, cut short, not valid
 * UTF-8) and the rest of that read go to wslay, which answers it as
 * before.  fuzz/fuzz_ws.c checks that how the input is split never
 * changes what comes out (a frame fed whole takes the fast path, one cut
 * into pieces goes through wslay), and that a context from the pool
 * parses as a new one does.
 *
 * Frames (struct ws_frame) are encoded once and shared by an atomic
 * reference count.
 *
 * A connection (struct ws_conn) joins them to a socket that http.c owns.
 * Output is written once per loop iteration, as Redis does in beforeSleep
 * (handleClientsWithPendingWrites): a frame sent to a connection goes into
 * its ring of frame references (struct ws_write), and the connection onto
 * the server's flush list (struct ws_flush in ws_int.h); after the poll
 * phase, in the same iteration, each listed connection's ring is written —
 * first with uv_try_write (a writev of up to WS_WRITE_BATCH frames, no
 * request and no callback: the frames are released at once), and what the
 * socket does not take with one uv_write, whose callback lists the rest
 * again.  So k updates fanned out to a socket in one iteration (the
 * writer's group commit hands back k posts at once) cost one writev, and a
 * socket that keeps up costs libuv no write request, no pending-phase
 * callback and no epoll_ctl.  Frames, pongs and close frames share the one
 * ring, so nothing overtakes anything.  Pending output — queued frames plus
 * what libuv has not yet handed to the kernel plus wslay's queued control
 * frames — is bounded by max_pending_bytes: a send past it closes the
 * connection with 4408 at once (the close frame goes out behind the queued
 * frames only if no write is in flight and they fit one write, since it
 * cannot overtake a half-written frame).
 *
 * States of a connection:
 *   WS_OPEN       messages flow; the timer pings (ping_interval_ms after the
 *                 last byte heard) and drops (pong_timeout_ms after it)
 *   WS_CLOSING    ws_conn_close() sent a close frame; input is still parsed
 *                 for the peer's close (messages are dropped); the timer
 *                 gives the peer WS_CLOSE_WAIT_MS
 *   WS_FINISHING  the handshake is over or the connection was failed: the
 *                 last output is being written (at most WS_CLOSE_WAIT_MS)
 *   WS_LINGER     handed back to http.c, which sends FIN, discards input and
 *                 closes (nginx's lingering close, as after a final HTTP
 *                 response), so that unread input cannot turn the close
 *                 into a reset that destroys our close frame
 *   WS_DEAD       the socket is closing; on_close follows from http.c's
 *                 handle close callback, then c is freed
 *
 * Memory per idle connection (x86-64, glibc, libuv 1.44; test_ws.c's
 * test_memory_figures measures it): the struct net_conn http.c keeps, 408
 * bytes with this struct ws_conn (88, of which the parser at rest is 40)
 * inside it, the uv_tcp_t 248 — one heap block of 416 bytes — plus an
 * 8-byte slot in the server's deadline heap.  No timer of its own (the
 * server's one timer, deadline.h), no copy of the limits and callbacks (a
 * shared struct ws_conf), no wslay context (8.8 KB) and no read buffer
 * (reads land in the server's one buffer) is held between messages.  Per
 * server, not per connection: up to WS_PARSER_POOL_MAX spare contexts
 * (about 570 KB at most; about as many as were busy at once).  While
 * output waits (from the send to the end of the loop iteration, or while
 * the peer is slow): one struct ws_write of 320 bytes, which holds up to
 * WS_RING_MIN frame references and the write request, plus 8 bytes per
 * frame reference past that; the frames themselves are shared.
 */
#include "net/ws.h"

#include <limits.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "net/ws_int.h"
#include "util/err.h"
#include "util/utf8.h"

/* Longest control frame payload (RFC 6455 5.5). */
#define WS_CTRL_MAX 125
/* Longest close reason: a control payload less the 2-byte code. */
#define WS_REASON_MAX 123
/* Longest header of a frame the server sends (no mask). */
#define WS_HDR_MAX 10
/* Frames handed to one uv_write (one writev; libuv copies the buffer list
 * to the heap past 4 anyway). */
#define WS_WRITE_BATCH 64
/* Frame references a connection's output ring holds before it needs an
 * array of its own (a power of two). */
#define WS_RING_MIN 8
/* How long the peer gets to answer our close frame, or to take our last
 * output, before the socket is closed anyway. */
#define WS_CLOSE_WAIT_MS 5000
/* First size of the buffer that collects wslay's output. */
#define WS_OUT_MIN 64

#define WS_OP_CONT 0x0
#define WS_OP_TEXT 0x1
#define WS_OP_BINARY 0x2
#define WS_OP_CLOSE 0x8
#define WS_OP_PING 0x9

#define WS_CODE_NORMAL 1000
#define WS_CODE_PROTOCOL 1002
#define WS_CODE_UNSUPPORTED 1003
#define WS_CODE_NO_STATUS 1005
#define WS_CODE_ABNORMAL 1006
#define WS_CODE_BAD_DATA 1007
#define WS_CODE_TOO_BIG 1009
#define WS_CODE_INTERNAL 1011
#define WS_CODE_TOO_SLOW 4408

#define WS_CONTAINER_OF(ptr, type, member) ((type *)(void *)((char *)(ptr) - offsetof(type, member)))

/* ---- frames ---------------------------------------------------------------- */

struct ws_frame {
	atomic_uint refs;
	size_t len;                /* header + payload */
	char data[];
};

static atomic_long ws_live;

/* Header length of a frame with payload bytes (masked: a client's). */
static size_t ws_header_len(uint64_t payload, int masked)
{
	size_t n = payload < 126 ? 2 : payload <= 0xFFFF ? 4 : 10;

	return n + (masked ? 4 : 0);
}

/* A frame object of len bytes, contents unset.  uv_buf_t lengths are
 * unsigned int, so larger ones are refused. */
static struct ws_frame *ws_frame_alloc(size_t len)
{
	struct ws_frame *f;

	if (len > UINT_MAX || (f = malloc(sizeof(*f) + len)) == NULL)
		return NULL;
	atomic_init(&f->refs, 1);
	f->len = len;
	atomic_fetch_add(&ws_live, 1);
	return f;
}

/* A frame holding data[0..len) as it is (already encoded frames). */
static struct ws_frame *ws_frame_raw(const char *data, size_t len)
{
	struct ws_frame *f = ws_frame_alloc(len);

	if (f != NULL)
		memcpy(f->data, data, len);
	return f;
}

/* Encodes one final, unmasked frame with opcode and a payload of the n
 * pieces part[i][0..len[i]) one after the other. */
static struct ws_frame *ws_frame_make_parts(int opcode, const char *const *part, const size_t *plen, int n)
{
	size_t hlen, len = 0, at;
	struct ws_frame *f;
	unsigned char *h;

	for (int i = 0; i < n; i++) {
		if (plen[i] > (size_t)UINT_MAX - len)
			return NULL;
		len += plen[i];
	}
	hlen = ws_header_len(len, 0);
	if (len > (size_t)UINT_MAX - hlen || (f = ws_frame_alloc(hlen + len)) == NULL)
		return NULL;
	h = (unsigned char *)f->data;
	h[0] = (unsigned char)(0x80 | opcode);
	if (len < 126) {
		h[1] = (unsigned char)len;
	} else if (len <= 0xFFFF) {
		h[1] = 126;
		h[2] = (unsigned char)(len >> 8);
		h[3] = (unsigned char)len;
	} else {
		h[1] = 127;
		for (int i = 0; i < 8; i++)
			h[2 + i] = (unsigned char)((uint64_t)len >> (56 - 8 * i));
	}
	at = hlen;
	for (int i = 0; i < n; i++) {
		if (plen[i] > 0)
			memcpy(f->data + at, part[i], plen[i]);
		at += plen[i];
	}
	return f;
}

/* payload[0..len) followed by more[0..more_len). */
static struct ws_frame *ws_frame_make2(int opcode, const char *payload, size_t len, const char *more,
				       size_t more_len)
{
	const char *part[2] = {payload, more};
	size_t plen[2] = {len, more_len};

	return ws_frame_make_parts(opcode, part, plen, 2);
}

static struct ws_frame *ws_frame_make(int opcode, const char *payload, size_t len)
{
	return ws_frame_make2(opcode, payload, len, NULL, 0);
}

struct ws_frame *ws_frame_new(const char *payload, size_t len)
{
	return ws_frame_make(WS_OP_TEXT, payload, len);
}

struct ws_frame *ws_frame_new3(const char *a, size_t alen, const char *b, size_t blen, const char *c, size_t clen)
{
	const char *part[3] = {a, b, c};
	size_t plen[3] = {alen, blen, clen};

	return ws_frame_make_parts(WS_OP_TEXT, part, plen, 3);
}

void ws_frame_ref(struct ws_frame *f)
{
	atomic_fetch_add(&f->refs, 1);
}

void ws_frame_unref(struct ws_frame *f)
{
	if (f == NULL || atomic_fetch_sub(&f->refs, 1) != 1)
		return;
	atomic_fetch_sub(&ws_live, 1);
	free(f);
}

unsigned ws_frame_refs(const struct ws_frame *f)
{
	return atomic_load(&((struct ws_frame *)f)->refs);
}

const char *ws_frame_bytes(const struct ws_frame *f, size_t *len)
{
	*len = f->len;
	return f->data;
}

long ws_frames_live(void)
{
	return atomic_load(&ws_live);
}

void ws_close_frame_encode(unsigned char buf[4], int code)
{
	buf[0] = 0x80 | WS_OP_CLOSE;
	buf[1] = 2;
	buf[2] = (unsigned char)(code >> 8);
	buf[3] = (unsigned char)code;
}

int ws_close_code_sendable(int code)
{
	return (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1011) ||
	       (code >= 3000 && code <= 4999);
}

/* ---- the receive side ------------------------------------------------------ */

/* The bytes being fed: what was carried over from the last feed, then the
 * new ones. */
struct ws_parser_in {
	const char *seg[2];
	size_t len[2];
};

static size_t ws_in_avail(const struct ws_parser_in *in)
{
	return in->len[0] + in->len[1];
}

/* The next contiguous bytes (*n of them); in must not be empty. */
static const char *ws_in_peek(const struct ws_parser_in *in, size_t *n)
{
	int i = in->len[0] > 0 ? 0 : 1;

	*n = in->len[i];
	return in->seg[i];
}

static void ws_in_skip(struct ws_parser_in *in, size_t n)
{
	int i = in->len[0] > 0 ? 0 : 1;

	in->seg[i] += n;
	in->len[i] -= n;
}

/* wslay's output, collected during a flush. */
struct ws_parser_out {
	char *data;
	size_t len;
	size_t cap;
};

/* 1 if s[0..len) is UTF-8 by utf8_count's rules, NUL bytes allowed (a NUL
 * never occurs inside a multi-byte sequence, so the pieces between NULs
 * can be checked on their own). */
static int ws_text_valid(const char *s, size_t len)
{
	while (len > 0) {
		const char *nul = memchr(s, '\0', len);
		size_t seg = nul != NULL ? (size_t)(nul - s) : len;

		if (seg > 0 && utf8_count(s, seg) < 0)
			return 0;
		if (nul == NULL)
			break;
		s += seg + 1;
		len -= seg + 1;
	}
	return 1;
}

/* Fails the connection from inside wslay: queue a close frame with code
 * (unless one is queued already: then that one's code stands) and read no
 * more. */
static void ws_parser_fail(struct ws_parser *p, wslay_event_context_ptr ctx, int code)
{
	if (wslay_event_queue_close(ctx, (uint16_t)code, NULL, 0) == 0 && p->code == 0)
		p->code = (unsigned short)code;
	wslay_event_shutdown_read(ctx);
}

static int ws_parser_flush(struct ws_parser *p);

/* A data frame's header is complete: refuses the message (1009) if it
 * would grow past max_message, before any of its payload is read.  wslay
 * checks the same, but only once a first payload byte has arrived. */
static void ws_scan_message(struct ws_parser *p, wslay_event_context_ptr ctx)
{
	int first = p->b->sc_op == WS_OP_TEXT || p->b->sc_op == WS_OP_BINARY;

	if (!first && p->b->sc_op != WS_OP_CONT)
		return;
	/* A start inside a message, or a continuation outside one, is
	 * wslay's 1002: leave it to wslay. */
	if (first == p->b->sc_in_msg)
		return;
	if (first)
		p->b->sc_msg = 0;
	if (p->b->sc_left > p->max_message - p->b->sc_msg) {
		ws_parser_fail(p, ctx, WS_CODE_TOO_BIG);
		return;
	}
	p->b->sc_msg += p->b->sc_left;
	p->b->sc_in_msg = !p->b->sc_fin;
}

/* Follows one header byte b of the frame being handed to wslay.  Returns 1
 * when the header is complete and the frame has no payload. */
static int ws_scan_header(struct ws_parser *p, wslay_event_context_ptr ctx, unsigned char b)
{
	unsigned l7;

	if (p->b->sc_pos == 0) {
		p->b->sc_op = b & 0x0F;
		p->b->sc_fin = b >> 7;
		p->b->sc_left = 0;
	} else if (p->b->sc_pos == 1) {
		l7 = b & 0x7Fu;
		p->b->sc_ext = l7 == 126 ? 2 : l7 == 127 ? 8 : 0;
		p->b->sc_hlen = (unsigned char)(2 + p->b->sc_ext + ((b & 0x80) ? 4 : 0));
		p->b->sc_left = l7 < 126 ? l7 : 0;
	} else if (p->b->sc_pos < 2 + p->b->sc_ext) {
		p->b->sc_left = p->b->sc_left << 8 | b;
	}
	p->b->sc_pos++;
	if (p->b->sc_pos < 2 || p->b->sc_pos < p->b->sc_hlen)
		return 0;
	p->b->sc_pos = 0;
	p->b->sc_hold = p->b->sc_op == WS_OP_CLOSE && p->b->sc_left <= WS_CTRL_MAX;
	p->b->sc_payload = p->b->sc_left > 0;
	ws_scan_message(p, ctx);
	return !p->b->sc_payload;
}

/* wslay's input.  It hands over at most one frame per call, and a close
 * frame's payload only in one piece (else the bytes are kept for the next
 * feed): wslay checks the UTF-8 of a close reason chunk by chunk, skipping
 * two bytes of every chunk as if each began with the code, so a split close
 * frame could be refused or let through depending on how TCP cut it. */
static ssize_t ws_wslay_recv(wslay_event_context_ptr ctx, uint8_t *buf, size_t len, int flags,
			     void *user)
{
	struct ws_parser *p = ((struct ws_parser_busy *)user)->owner;
	struct ws_parser_in *in = p->b->in;
	size_t given = 0, n, take;
	const char *src;

	if (len > SSIZE_MAX)
		len = SSIZE_MAX;
	while (in != NULL && given < len && ws_in_avail(in) > 0 && wslay_event_get_read_enabled(ctx)) {
		if (!p->b->sc_payload) {
			src = ws_in_peek(in, &n);
			buf[given++] = (uint8_t)src[0];
			ws_in_skip(in, 1);
			if (ws_scan_header(p, ctx, (unsigned char)src[0]))
				break;
			continue;
		}
		if (p->b->sc_hold && (ws_in_avail(in) < p->b->sc_left || len - given < p->b->sc_left))
			break;
		src = ws_in_peek(in, &n);
		take = len - given;
		if (take > n)
			take = n;
		if (take > p->b->sc_left)
			take = (size_t)p->b->sc_left;
		memcpy(buf + given, src, take);
		ws_in_skip(in, take);
		given += take;
		p->b->sc_left -= take;
		if (p->b->sc_left == 0) {
			p->b->sc_payload = 0;
			break;
		}
	}
	if (given == 0) {
		wslay_event_set_error(ctx, WSLAY_ERR_WOULDBLOCK);
		return -1;
	}
	p->b->loose += given;
	return (ssize_t)given;
}

static ssize_t ws_wslay_send(wslay_event_context_ptr ctx, const uint8_t *data, size_t len,
			     int flags, void *user)
{
	struct ws_parser *p = ((struct ws_parser_busy *)user)->owner;
	struct ws_parser_out *out = p->b->out;
	size_t cap;
	char *nd;

	if (out == NULL) {
		/* Output is taken only in ws_parser_flush(). */
		wslay_event_set_error(ctx, WSLAY_ERR_WOULDBLOCK);
		return -1;
	}
	if (len > SSIZE_MAX || len > SIZE_MAX / 2 - out->len)
		goto fail;
	if (len > out->cap - out->len) {
		cap = out->cap ? out->cap : WS_OUT_MIN;
		while (cap < out->len + len)
			cap *= 2;
		if ((nd = realloc(out->data, cap)) == NULL)
			goto fail;
		out->data = nd;
		out->cap = cap;
	}
	memcpy(out->data + out->len, data, len);
	out->len += len;
	return (ssize_t)len;
fail:
	wslay_event_set_error(ctx, WSLAY_ERR_CALLBACK_FAILURE);
	return -1;
}

static void ws_wslay_frame_start(wslay_event_context_ptr ctx,
				 const struct wslay_event_on_frame_recv_start_arg *arg, void *user)
{
	struct ws_parser *p = ((struct ws_parser_busy *)user)->owner;

	p->b->in_frame = 1;
	/* wslay refuses lengths past 2^63 (and non-minimal ones). */
	p->b->frame_bytes = ws_header_len(arg->payload_length, 1) + arg->payload_length;
	switch (arg->opcode) {
	case WS_OP_TEXT:
	case WS_OP_CONT:
		p->b->in_message = !arg->fin;
		break;
	case WS_OP_BINARY:
		p->b->in_message = !arg->fin;
		ws_parser_fail(p, ctx, WS_CODE_UNSUPPORTED);
		break;
	case WS_OP_CLOSE:
		/* A close payload is empty or starts with a 2-byte code. */
		if (arg->payload_length == 1)
			ws_parser_fail(p, ctx, WS_CODE_PROTOCOL);
		break;
	default:
		break;
	}
}

static void ws_wslay_frame_end(wslay_event_context_ptr ctx, void *user)
{
	struct ws_parser *p = ((struct ws_parser_busy *)user)->owner;

	p->b->in_frame = 0;
	if (p->b->frame_bytes > p->b->loose)
		p->lost = 1;
	else
		p->b->loose -= p->b->frame_bytes;
}

static void ws_wslay_msg(wslay_event_context_ptr ctx, const struct wslay_event_on_msg_recv_arg *arg,
			 void *user)
{
	struct ws_parser *p = ((struct ws_parser_busy *)user)->owner;
	const char *msg = (const char *)arg->msg;
	size_t len = arg->msg_length;
	char *text;

	/* The pong goes out now, not when the feed ends: then the output does
	 * not depend on how the input was split (a failure later in the same
	 * feed would otherwise let wslay drop the queued pong). */
	if (arg->opcode == WSLAY_PING) {
		ws_parser_flush(p);
		return;
	}
	if (arg->opcode != WS_OP_TEXT || p->state != WS_PARSER_OPEN ||
	    !wslay_event_get_read_enabled(ctx))
		return;
	if (!ws_text_valid(msg, len)) {
		ws_parser_fail(p, ctx, WS_CODE_BAD_DATA);
		return;
	}
	/* wslay's buffer has no room for the NUL the contract promises. */
	if ((text = malloc(len + 1)) == NULL) {
		ws_parser_fail(p, ctx, WS_CODE_INTERNAL);
		return;
	}
	if (len > 0)
		memcpy(text, msg, len);
	text[len] = '\0';
	p->ops->message(p, text, len);
	free(text);
}

static const struct wslay_event_callbacks ws_wslay_callbacks = {
	.recv_callback = ws_wslay_recv,
	.send_callback = ws_wslay_send,
	.on_frame_recv_start_callback = ws_wslay_frame_start,
	.on_frame_recv_end_callback = ws_wslay_frame_end,
	.on_msg_recv_callback = ws_wslay_msg,
};

/* Gives p a wslay context and the state that lives with it, zeroed: a
 * spare from pool (may be NULL) if it has one, else new ones.  A spare was
 * given back at rest (ws_parser_settle), so its context is where a new one
 * stands but for the message limit, set here again. */
static int ws_parser_wslay_new(struct ws_parser *p, struct ws_parser_pool *pool)
{
	struct ws_parser_busy *b;
	wslay_event_context_ptr w;

	if (pool != NULL && (b = pool->spare) != NULL) {
		pool->spare = b->next;
		pool->count--;
		w = b->wslay;
		memset(b, 0, sizeof(*b));
		b->wslay = w;
	} else {
		if ((b = calloc(1, sizeof(*b))) == NULL)
			return PL_NOMEM;
		if (wslay_event_context_server_init(&b->wslay, &ws_wslay_callbacks, b) != 0) {
			free(b);
			return PL_NOMEM;
		}
	}
	b->owner = p;
	p->b = b;
	p->wslay = b->wslay;
	wslay_event_config_set_max_recv_msg_length(p->wslay, p->max_message);
	return 0;
}

static void ws_parser_drop_carry(struct ws_parser *p)
{
	free(p->b->carry);
	p->b->carry = NULL;
	p->b->carry_len = 0;
}

/* Frees the wslay context, the input kept for it and the state that lives
 * with it. */
static void ws_parser_wslay_free(struct ws_parser *p)
{
	if (p->wslay != NULL)
		wslay_event_context_free(p->wslay);
	p->wslay = NULL;
	if (p->b != NULL) {
		ws_parser_drop_carry(p);
		free(p->b);
		p->b = NULL;
	}
}

/* Gives p's context and state (at rest: nothing held) back to pool if it
 * has room, else frees them. */
static void ws_parser_wslay_put(struct ws_parser *p, struct ws_parser_pool *pool)
{
	struct ws_parser_busy *b = p->b;

	if (pool == NULL || pool->count >= WS_PARSER_POOL_MAX) {
		ws_parser_wslay_free(p);
		return;
	}
	ws_parser_drop_carry(p);
	b->owner = NULL;
	b->next = pool->spare;
	pool->spare = b;
	pool->count++;
	p->b = NULL;
	p->wslay = NULL;
}

void ws_parser_pool_init(struct ws_parser_pool *pool)
{
	pool->spare = NULL;
	pool->count = 0;
}

void ws_parser_pool_release(struct ws_parser_pool *pool)
{
	struct ws_parser_busy *b;

	while ((b = pool->spare) != NULL) {
		pool->spare = b->next;
		wslay_event_context_free(b->wslay);
		free(b);
	}
	pool->count = 0;
}

void ws_parser_init(struct ws_parser *p, const struct ws_parser_ops *ops, size_t max_message)
{
	memset(p, 0, sizeof(*p));
	p->ops = ops;
	p->max_message = max_message;
	p->state = WS_PARSER_OPEN;
}

void ws_parser_release(struct ws_parser *p)
{
	ws_parser_wslay_free(p);
}

size_t ws_parser_queued(const struct ws_parser *p)
{
	return p->wslay != NULL ? wslay_event_get_queued_msg_length(p->wslay) : 0;
}

/* Hands what wslay wants to send to ops->output, in one piece.  Returns 0
 * or a negative pl_err; after a failure (also remembered in p->out_failed)
 * nothing more is output. */
static int ws_parser_flush(struct ws_parser *p)
{
	struct ws_parser_out out = {NULL, 0, 0};
	int rc = 0;

	if (p->out_failed)
		return PL_IO;
	if (p->wslay == NULL || !wslay_event_want_write(p->wslay))
		return 0;
	p->b->out = &out;
	if (wslay_event_send(p->wslay) != 0)
		rc = PL_NOMEM;
	p->b->out = NULL;
	if (rc == 0 && out.len > 0)
		rc = p->ops->output(p, out.data, out.len);
	free(out.data);
	if (rc < 0)
		p->out_failed = 1;
	return rc;
}

/* Ends the connection with code where wslay cannot: sends our own close
 * frame (unless one went out already) and drops the context, whose queued
 * frames are not ours to send. */
static void ws_parser_break(struct ws_parser *p, int code)
{
	unsigned char fr[4];

	if (!p->out_failed && (p->wslay == NULL || !wslay_event_get_close_sent(p->wslay))) {
		ws_close_frame_encode(fr, code);
		p->code = (unsigned short)code;
		p->ops->output(p, (const char *)fr, sizeof(fr));
	}
	ws_parser_wslay_free(p);
	p->state = WS_PARSER_DONE;
}

/* After wslay has read: sends its output and works out where the parser
 * stands; gives the context back to pool (or frees it) if it holds
 * nothing. */
static int ws_parser_settle(struct ws_parser *p, struct ws_parser_pool *pool, int broken)
{
	wslay_event_context_ptr w = p->wslay;

	if (broken != 0) {
		ws_parser_break(p, broken);
		return PL_CLOSED;
	}
	if (ws_parser_flush(p) < 0) {
		if (!p->initiated)
			p->code = WS_CODE_INTERNAL;
		ws_parser_wslay_free(p);
		p->state = WS_PARSER_DONE;
		return PL_CLOSED;
	}
	if (wslay_event_get_close_received(w) || !wslay_event_get_read_enabled(w)) {
		/* The code is the one we sent first (ws_parser_close or
		 * ws_parser_fail set it), else the peer's, else wslay's own. */
		if (p->code == 0 && wslay_event_get_close_received(w))
			p->code = wslay_event_get_status_code_received(w);
		else if (p->code == 0)
			p->code = wslay_event_get_status_code_sent(w);
		if (p->code == 0)
			p->code = WS_CODE_NO_STATUS;
		ws_parser_wslay_free(p);
		p->state = WS_PARSER_DONE;
		return PL_CLOSED;
	}
	/* At rest.  A context that may go to the pool has also sent no close
	 * (and has write enabled) and queues nothing: then it is where a new
	 * one stands (ws_parser_wslay_new). */
	if (p->state == WS_PARSER_OPEN && !p->b->in_frame && !p->b->in_message && p->b->loose == 0 &&
	    !p->lost && p->b->sc_pos == 0 && !p->b->sc_payload && p->b->carry_len == 0) {
		if (!p->initiated && !p->out_failed && !wslay_event_get_close_sent(w) &&
		    wslay_event_get_write_enabled(w) && !wslay_event_want_write(w) &&
		    wslay_event_get_queued_msg_count(w) == 0)
			ws_parser_wslay_put(p, pool);
		else
			ws_parser_wslay_free(p);
	}
	return 0;
}

/* Keeps the bytes wslay was not given (part of a close frame's payload)
 * for the next feed.  Returns 0 or a negative pl_err. */
static int ws_parser_carry(struct ws_parser *p, struct ws_parser_in *in)
{
	size_t n = ws_in_avail(in);
	char *nc;

	if (n == 0) {
		ws_parser_drop_carry(p);
		return 0;
	}
	if (n > WS_CTRL_MAX || (nc = malloc(n)) == NULL)
		return PL_NOMEM;
	if (in->len[0] > 0)
		memcpy(nc, in->seg[0], in->len[0]);
	if (in->len[1] > 0)
		memcpy(nc + in->len[0], in->seg[1], in->len[1]);
	free(p->b->carry);
	p->b->carry = nc;
	p->b->carry_len = n;
	return 0;
}

/* Longest message the fast path unmasks on the stack (longer ones take a
 * heap copy, as wslay's path does). */
#define WS_FAST_STACK 4096

/* The length of the whole client frame at data[0..len) if it is one the
 * fast path reads (ws_parser_fast), else 0: final, no RSV bit, a text
 * frame, masked, its length in the 7-bit or a minimal 16-bit field, within
 * max_message (as ws_scan_message checks it), and all of it there. */
static size_t ws_fast_frame(const unsigned char *d, size_t len, uint64_t max_message, size_t *hlen,
			    size_t *plen)
{
	size_t l7, n, h;

	if (len < 6 || d[0] != (0x80 | WS_OP_TEXT) || !(d[1] & 0x80))
		return 0;
	l7 = d[1] & 0x7Fu;
	if (l7 < 126) {
		n = l7;
		h = 2;
	} else if (l7 == 126 && len >= 8) {
		n = (size_t)d[2] << 8 | d[3];
		h = 4;
		if (n < 126)
			return 0; /* not minimal: wslay's 1002 */
	} else {
		return 0;
	}
	if (n > max_message || len - (h + 4) < n)
		return 0;
	*hlen = h;
	*plen = n;
	return h + 4 + n;
}

/* Unmasks n bytes of src into dst (4-byte key). */
static void ws_unmask(char *dst, const unsigned char *src, size_t n, const unsigned char key[4])
{
	uint64_t k8, v;
	uint32_t k4;
	size_t i = 0;

	memcpy(&k4, key, 4);
	k8 = (uint64_t)k4 << 32 | k4;
	for (; i + 8 <= n; i += 8) {
		memcpy(&v, src + i, 8);
		v ^= k8;
		memcpy(dst + i, &v, 8);
	}
	for (; i < n; i++)
		dst[i] = (char)(src[i] ^ key[i & 3]);
}

/* Reads whole text frames from the front of data without wslay, while the
 * parser is at rest (no context: no frame, message or close in progress)
 * and open: each becomes a message exactly as wslay would have delivered
 * it from a fresh context (ws_wslay_msg), which would then have come to
 * rest again and gone back to the pool — so the output and the end state
 * are the same, only the ~4,000 instructions of a context's round trip
 * through wslay per message (callgrind, the 1:1 bench) are saved.  Stops at
 * the first frame it does not take whole (see ws_fast_frame; text that is
 * not valid UTF-8 is left to wslay too, which fails it as before), or once
 * a message's callback changed the parser (a close started).  Returns the
 * bytes read; the caller feeds the rest to wslay. */
static size_t ws_parser_fast(struct ws_parser *p, const char *data, size_t len)
{
	const unsigned char *d = (const unsigned char *)data;
	char small[WS_FAST_STACK + 1], *text;
	size_t at = 0, fl, hlen, plen;

	while (p->state == WS_PARSER_OPEN && p->wslay == NULL && !p->out_failed &&
	       (fl = ws_fast_frame(d + at, len - at, p->max_message, &hlen, &plen)) > 0) {
		text = plen <= WS_FAST_STACK ? small : malloc(plen + 1);
		if (text == NULL)
			break; /* wslay's path fails it (1011) */
		ws_unmask(text, d + at + hlen + 4, plen, d + at + hlen);
		text[plen] = '\0';
		if (!ws_text_valid(text, plen)) {
			if (text != small)
				free(text);
			break;
		}
		at += fl;
		p->ops->message(p, text, plen);
		if (text != small)
			free(text);
	}
	return at;
}

int ws_parser_feed(struct ws_parser *p, struct ws_parser_pool *pool, const char *data, size_t len)
{
	struct ws_parser_in in;
	size_t before;
	int rc = 0;
	int broken = 0;

	if (p->state == WS_PARSER_DONE)
		return PL_CLOSED;
	if (p->wslay == NULL) {
		before = ws_parser_fast(p, data, len);
		data += before;
		len -= before;
	}
	if (len == 0)
		return 0;
	if (p->wslay == NULL && ws_parser_wslay_new(p, pool) < 0) {
		ws_parser_break(p, WS_CODE_INTERNAL);
		return PL_CLOSED;
	}
	/* What was carried over from the last feed, then the new bytes. */
	in = (struct ws_parser_in){{p->b->carry, data}, {p->b->carry_len, len}};
	p->b->in = &in;
	/* wslay reads until the recv callback runs dry; go on should it stop
	 * early with bytes left and reading still enabled. */
	do {
		before = ws_in_avail(&in);
		rc = wslay_event_recv(p->wslay);
	} while (rc == 0 && ws_in_avail(&in) > 0 && ws_in_avail(&in) < before &&
		 wslay_event_get_read_enabled(p->wslay));
	p->b->in = NULL;
	/* Our recv callback fails only with "would block": a callback failure
	 * is a frame wslay's frame layer refused (its close has no code). */
	if (rc == WSLAY_ERR_CALLBACK_FAILURE)
		broken = WS_CODE_PROTOCOL;
	else if (rc != 0)
		broken = WS_CODE_INTERNAL;
	/* Bytes wslay did not take once it stopped reading are dropped. */
	if (broken == 0 && wslay_event_get_read_enabled(p->wslay) && ws_parser_carry(p, &in) < 0)
		broken = WS_CODE_INTERNAL;
	return ws_parser_settle(p, pool, broken);
}

int ws_parser_close(struct ws_parser *p, int code, const char *reason, size_t reason_len)
{
	int rc;

	if (p->state != WS_PARSER_OPEN)
		return PL_CLOSED;
	if (reason_len > WS_REASON_MAX)
		return PL_INVAL;
	/* A context made for a close never goes to a pool: none is taken. */
	if (p->wslay == NULL && ws_parser_wslay_new(p, NULL) < 0)
		return PL_NOMEM;
	rc = wslay_event_queue_close(p->wslay, (uint16_t)code, (const uint8_t *)reason, reason_len);
	if (rc == WSLAY_ERR_NO_MORE_MSG)
		return PL_CLOSED;
	if (rc != 0)
		return rc == WSLAY_ERR_NOMEM ? PL_NOMEM : PL_INVAL;
	p->initiated = 1;
	p->code = (unsigned short)code;
	p->state = WS_PARSER_CLOSING;
	/* Inside a feed the context must live on: the feed's end sees the
	 * failure and settles. */
	if (ws_parser_flush(p) < 0 && p->b->in == NULL) {
		ws_parser_wslay_free(p);
		p->state = WS_PARSER_DONE;
	}
	return 0;
}

/* ---- connections -------------------------------------------------------------- */

enum ws_state { WS_OPEN = 0, WS_CLOSING, WS_FINISHING, WS_LINGER, WS_DEAD };

/* A connection's output while it has any: a ring of frame references in
 * the order they were sent.  The first n are being written by the one
 * uv_write in flight (req); the rest wait for the next flush.  Created by
 * the first frame sent to a connection with nothing waiting and freed when
 * the ring is empty again, so an idle connection holds none.  The ring is
 * the small array inside until it holds more than WS_RING_MIN frames, then
 * a heap array that doubles as needed (bounded through max_pending_bytes). */
struct ws_write {
	uv_write_t req;
	struct ws_conn *c;
	struct ws_write *prev;        /* the flush list, while listed */
	struct ws_write *next;
	struct ws_frame **ring;       /* small, or cap pointers on the heap */
	unsigned head;                /* index of the oldest frame */
	unsigned count;               /* frames in the ring */
	unsigned cap;                 /* a power of two */
	unsigned n;                   /* the first n are being written */
	size_t queued;                /* bytes of the frames not yet handed to libuv */
	unsigned char listed;         /* on the flush list */
	struct ws_frame *small[WS_RING_MIN];
};

/* Bytes that came with the handshake. */
struct ws_early {
	size_t len;
	char data[];
};

size_t ws_conn_size(void)
{
	return sizeof(struct ws_conn);
}

void ws_limits_default(struct ws_limits *l)
{
	l->max_message_bytes = 1024 * 1024;
	l->max_pending_bytes = 4 * 1024 * 1024;
	l->ping_interval_ms = 30000;
	l->pong_timeout_ms = 60000;
}

static struct net_conn *ws_net(const struct ws_conn *c)
{
	return net_conn_of_ws(c);
}

static uint64_t ws_conn_now(const struct ws_conn *c)
{
	return uv_now(net_conn_ws_stream(ws_net(c))->loop);
}

static void ws_on_write(uv_write_t *req, int status);

/* ---- the output ring and the flush ---------------------------------------------- */

static struct ws_frame *ws_ring_at(const struct ws_write *w, unsigned i)
{
	return w->ring[(w->head + i) & (w->cap - 1)];
}

/* Appends f (the reference moves in) to w's ring.  Returns 0 or PL_NOMEM
 * (f is then still the caller's). */
static int ws_ring_push(struct ws_write *w, struct ws_frame *f)
{
	struct ws_frame **nr;

	if (w->count == w->cap) {
		if (w->cap > UINT_MAX / 2 || (nr = malloc(sizeof(*nr) * w->cap * 2)) == NULL)
			return PL_NOMEM;
		for (unsigned i = 0; i < w->count; i++)
			nr[i] = ws_ring_at(w, i);
		if (w->ring != w->small)
			free(w->ring);
		w->ring = nr;
		w->head = 0;
		w->cap *= 2;
	}
	w->ring[(w->head + w->count) & (w->cap - 1)] = f;
	w->count++;
	return 0;
}

/* Drops the n oldest frames of the ring. */
static void ws_ring_drop(struct ws_write *w, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		ws_frame_unref(ws_ring_at(w, i));
	w->head = (w->head + n) & (w->cap - 1);
	w->count -= n;
}

static struct ws_write *ws_write_new(struct ws_conn *c)
{
	struct ws_write *w = malloc(sizeof(*w));

	if (w == NULL)
		return NULL;
	w->c = c;
	w->prev = w->next = NULL;
	w->ring = w->small;
	w->head = w->count = w->n = 0;
	w->cap = WS_RING_MIN;
	w->queued = 0;
	w->listed = 0;
	return w;
}

/* Frees w (not listed) with every frame it holds, written or queued. */
static void ws_write_free(struct ws_write *w)
{
	ws_ring_drop(w, w->count);
	if (w->ring != w->small)
		free(w->ring);
	free(w);
}

/* Writes c's queue (c->wr, none in flight, not listed): as much as the
 * socket takes at once with uv_try_write — one writev of up to
 * WS_WRITE_BATCH frames at a time, no request, no callback — and what it
 * does not take with one uv_write (the rest of a frame cut short, then
 * whole frames up to the batch; the callback lists the remainder for the
 * next flush).  A queue written out is freed (c->wr = NULL).  Returns 0 or
 * PL_IO (the queue is kept; the caller closes c). */
static int ws_conn_flush(struct ws_conn *c)
{
	uv_stream_t *stream = net_conn_ws_stream(ws_net(c));
	uv_buf_t bufs[WS_WRITE_BATCH];
	struct ws_write *w = c->wr;
	size_t off, rest = 0;
	unsigned n, k;
	int r;

	while (w->count > 0) {
		n = w->count < WS_WRITE_BATCH ? w->count : WS_WRITE_BATCH;
		for (unsigned i = 0; i < n; i++) {
			struct ws_frame *f = ws_ring_at(w, i);

			bufs[i] = uv_buf_init(f->data, (unsigned)f->len);
		}
		/* EAGAIN: the socket is full, or libuv still writes something
		 * (the 101 answer): the queue goes behind it. */
		if ((r = uv_try_write(stream, bufs, n)) == UV_EAGAIN)
			r = 0;
		else if (r < 0)
			return PL_IO;
		for (k = 0, off = (size_t)r; k < n && off >= bufs[k].len; k++) {
			off -= bufs[k].len;
			w->queued -= bufs[k].len;
		}
		ws_ring_drop(w, k);
		if (k == n)
			continue;
		for (unsigned i = k; i < n; i++)
			rest += bufs[i].len;
		bufs[k].base += off;
		bufs[k].len -= off;
		if (uv_write(&w->req, stream, bufs + k, n - k, ws_on_write) < 0)
			return PL_IO;
		w->n = n - k;
		w->queued -= rest;
		return 0;
	}
	c->wr = NULL;
	ws_write_free(w);
	return 0;
}

static void ws_flush_stop(struct ws_flush *fl)
{
	uv_check_stop(&fl->check);
	uv_prepare_stop(&fl->prepare);
}

static void ws_flush_unlink(struct ws_flush *fl, struct ws_write *w)
{
	if (!w->listed)
		return;
	if (w->prev != NULL)
		w->prev->next = w->next;
	else
		fl->head = w->next;
	if (w->next != NULL)
		w->next->prev = w->prev;
	w->prev = w->next = NULL;
	w->listed = 0;
	if (fl->head == NULL)
		ws_flush_stop(fl);
}

static void ws_conn_abort(struct ws_conn *c, int code, int send_close);
static void ws_conn_linger(struct ws_conn *c);

/* Writes the queue of every listed connection. */
static void ws_flush_run(struct ws_flush *fl)
{
	struct ws_write *w;
	struct ws_conn *c;

	while ((w = fl->head) != NULL) {
		ws_flush_unlink(fl, w);
		c = w->c;
		if (ws_conn_flush(c) < 0)
			ws_conn_abort(c, WS_CODE_ABNORMAL, 0);
		else if (c->wr == NULL && c->state == WS_FINISHING)
			ws_conn_linger(c);
	}
}

static void ws_flush_on_check(uv_check_t *h)
{
	ws_flush_run(WS_CONTAINER_OF(h, struct ws_flush, check));
}

static void ws_flush_on_prepare(uv_prepare_t *h)
{
	ws_flush_run(WS_CONTAINER_OF(h, struct ws_flush, prepare));
}

void ws_flush_init(struct ws_flush *fl, uv_loop_t *loop)
{
	memset(fl, 0, sizeof(*fl));
	(void)uv_check_init(loop, &fl->check);
	(void)uv_prepare_init(loop, &fl->prepare);
}

void ws_flush_close(struct ws_flush *fl)
{
	if (fl->closed)
		return;
	/* Every connection is dead by now (net_server_close), and dead ones
	 * are not listed. */
	ws_flush_stop(fl);
	fl->closed = 1;
	uv_close((uv_handle_t *)&fl->check, NULL);
	uv_close((uv_handle_t *)&fl->prepare, NULL);
}

/* Lists c's output for the flush at the end of this loop iteration, unless
 * it is listed or a write is in flight (its callback lists it). */
static void ws_conn_schedule(struct ws_conn *c)
{
	struct ws_flush *fl = net_conn_ws_flush(ws_net(c));
	struct ws_write *w = c->wr;

	if (w->listed || w->n > 0 || fl->closed)
		return;
	if (fl->head == NULL) {
		uv_check_start(&fl->check, ws_flush_on_check);
		uv_prepare_start(&fl->prepare, ws_flush_on_prepare);
	} else {
		fl->head->prev = w;
	}
	w->next = fl->head;
	w->prev = NULL;
	fl->head = w;
	w->listed = 1;
}

/* Takes c off the flush list (it is dying: nothing more is written). */
static void ws_conn_unschedule(struct ws_conn *c)
{
	if (c->wr != NULL)
		ws_flush_unlink(net_conn_ws_flush(ws_net(c)), c->wr);
}

/* Closes the socket now.  If the connection was open, code becomes its close
 * code and, if send_close and no write is in flight, a close frame with code
 * is written first, behind the frames queued (if they fit one write) — best
 * effort: libuv writes at once what the socket takes, the rest is dropped
 * with the socket. */
static void ws_conn_abort(struct ws_conn *c, int code, int send_close)
{
	unsigned char fr[4];
	struct ws_frame *f;
	struct ws_write *w;

	if (c->state == WS_DEAD)
		return;
	if (c->state == WS_OPEN) {
		c->code = (unsigned short)code;
		w = c->wr;
		if (send_close && (w == NULL || (w->n == 0 && w->count < WS_WRITE_BATCH))) {
			ws_close_frame_encode(fr, code);
			if (w == NULL)
				w = c->wr = ws_write_new(c);
			if (w == NULL || (f = ws_frame_raw((const char *)fr, sizeof(fr))) == NULL)
				goto out;
			if (ws_ring_push(w, f) < 0) {
				ws_frame_unref(f);
				goto out;
			}
			w->queued += f->len;
			ws_conn_unschedule(c);
			(void)ws_conn_flush(c);
		}
	}
out:
	c->state = WS_DEAD;
	ws_conn_unschedule(c);
	net_conn_ws_abort(ws_net(c));
}

/* Queues f (the caller keeps its reference) behind everything queued; it
 * is written at the end of this loop iteration.  Returns 0, PL_TOOBIG past
 * max_pending (the connection is then closed with 4408), PL_CLOSED or
 * PL_NOMEM (the connection is then closed). */
static int ws_conn_enqueue(struct ws_conn *c, struct ws_frame *f)
{
	size_t max = c->conf->lim.max_pending_bytes;
	size_t pending;

	if (c->state == WS_DEAD)
		return PL_CLOSED;
	pending = ws_conn_pending(c);
	if (f->len > max || pending > max - f->len) {
		ws_conn_abort(c, WS_CODE_TOO_SLOW, 1);
		return PL_TOOBIG;
	}
	if ((c->wr == NULL && (c->wr = ws_write_new(c)) == NULL) || ws_ring_push(c->wr, f) < 0) {
		ws_conn_abort(c, WS_CODE_INTERNAL, 0);
		return PL_NOMEM;
	}
	ws_frame_ref(f);
	c->wr->queued += f->len;
	ws_conn_schedule(c);
	return 0;
}

/* Everything is written: hand the socket back to http.c for closing. */
static void ws_conn_linger(struct ws_conn *c)
{
	c->state = WS_LINGER;
	net_conn_ws_finish(ws_net(c));
}

static void ws_on_write(uv_write_t *req, int status)
{
	struct ws_write *w = WS_CONTAINER_OF(req, struct ws_write, req);
	struct ws_conn *c = w->c;

	ws_ring_drop(w, w->n);
	w->n = 0;
	if (c->state != WS_DEAD && status == 0 && w->count > 0) {
		/* What was sent meanwhile goes with this iteration's flush. */
		ws_conn_schedule(c);
		return;
	}
	c->wr = NULL;
	ws_write_free(w);
	if (c->state == WS_DEAD)
		return;
	if (status < 0) {
		ws_conn_abort(c, WS_CODE_ABNORMAL, 0);
		return;
	}
	if (c->state == WS_FINISHING)
		ws_conn_linger(c);
}

/* Gives the peer WS_CLOSE_WAIT_MS to answer our close or take our last
 * output — unless the bytes that came with the handshake are still to be
 * read: their timer comes first and sets this one afterwards. */
static void ws_conn_close_timer(struct ws_conn *c)
{
	if (c->early == NULL)
		net_conn_ws_timer(ws_net(c), WS_CLOSE_WAIT_MS);
}

/* The closing handshake is over or the connection was failed: write what
 * is left (for at most WS_CLOSE_WAIT_MS), then linger. */
static void ws_conn_finishing(struct ws_conn *c)
{
	c->code = (unsigned short)c->parser.code;
	c->state = WS_FINISHING;
	ws_conn_close_timer(c);
	if (c->wr == NULL)
		ws_conn_linger(c);
}

/* Arms the timer for the next deadline of an open connection: the ping
 * (ping_interval_ms after the last byte heard, unless one was sent) or
 * the drop (pong_timeout_ms after it). */
static void ws_conn_arm(struct ws_conn *c)
{
	unsigned ping = c->conf->lim.ping_interval_ms, pong = c->conf->lim.pong_timeout_ms;
	uint64_t now = ws_conn_now(c);
	uint64_t next = UINT64_MAX;

	if (ping > 0 && !c->pinged)
		next = c->last_heard + ping;
	if (pong > 0 && c->last_heard + pong < next)
		next = c->last_heard + pong;
	c->timer_off = next == UINT64_MAX;
	if (!c->timer_off)
		net_conn_ws_timer(ws_net(c), next > now ? next - now : 0);
}

/* The timer of an open connection: drop it, ping it, or wait on.  Reads
 * only update last_heard; the timer catches up when it fires. */
static void ws_conn_tick(struct ws_conn *c)
{
	unsigned ping_ms = c->conf->lim.ping_interval_ms, pong_ms = c->conf->lim.pong_timeout_ms;
	uint64_t silent = ws_conn_now(c) - c->last_heard;
	struct ws_frame *ping;
	int rc;

	if (pong_ms > 0 && silent >= pong_ms) {
		ws_conn_abort(c, WS_CODE_ABNORMAL, 0);
		return;
	}
	if (ping_ms > 0 && !c->pinged && silent >= ping_ms) {
		c->pinged = 1;
		if ((ping = ws_frame_make(WS_OP_PING, NULL, 0)) == NULL) {
			ws_conn_abort(c, WS_CODE_INTERNAL, 0);
			return;
		}
		rc = ws_conn_enqueue(c, ping);
		ws_frame_unref(ping);
		if (rc < 0)
			return;
	}
	ws_conn_arm(c);
}

/* Gives bytes from the peer to the parser and follows where it ends up. */
static void ws_conn_feed(struct ws_conn *c, const char *data, size_t len)
{
	ws_parser_feed(&c->parser, net_conn_ws_pool(ws_net(c)), data, len);
	if (c->state == WS_DEAD)
		return;
	if (c->parser.state == WS_PARSER_DONE)
		ws_conn_finishing(c);
}

static void ws_conn_on_parser_message(struct ws_parser *p, const char *text, size_t len)
{
	struct ws_conn *c = WS_CONTAINER_OF(p, struct ws_conn, parser);

	if (c->state == WS_OPEN && c->conf->cb.on_message != NULL)
		c->conf->cb.on_message(c->conf->ctx, c, text, len);
}

static int ws_conn_on_parser_output(struct ws_parser *p, const char *data, size_t len)
{
	struct ws_conn *c = WS_CONTAINER_OF(p, struct ws_conn, parser);
	struct ws_frame *f;
	int rc;

	if (c->state == WS_DEAD)
		return PL_CLOSED;
	if ((f = ws_frame_raw(data, len)) == NULL) {
		ws_conn_abort(c, WS_CODE_INTERNAL, 0);
		return PL_NOMEM;
	}
	rc = ws_conn_enqueue(c, f);
	ws_frame_unref(f);
	return rc;
}

static const struct ws_parser_ops ws_conn_parser_ops = {
	.message = ws_conn_on_parser_message,
	.output = ws_conn_on_parser_output,
};

/* ---- the public calls ------------------------------------------------------ */

int ws_conn_send_frame(struct ws_conn *c, struct ws_frame *f)
{
	if (c->state != WS_OPEN)
		return PL_CLOSED;
	return ws_conn_enqueue(c, f);
}

int ws_conn_send_text2(struct ws_conn *c, const char *head, size_t hlen, const char *tail, size_t tlen)
{
	struct ws_frame *f;
	int rc;

	if (c->state != WS_OPEN)
		return PL_CLOSED;
	if ((f = ws_frame_make2(WS_OP_TEXT, head, hlen, tail, tlen)) == NULL)
		return PL_NOMEM;
	rc = ws_conn_enqueue(c, f);
	ws_frame_unref(f);
	return rc;
}

int ws_conn_send_text(struct ws_conn *c, const char *text, size_t len)
{
	return ws_conn_send_text2(c, text, len, NULL, 0);
}

/* Length of reason cut to WS_REASON_MAX bytes without splitting a UTF-8
 * sequence. */
static size_t ws_reason_len(const char *reason)
{
	size_t n = strlen(reason);

	if (n <= WS_REASON_MAX)
		return n;
	n = WS_REASON_MAX;
	while (n > 0 && ((unsigned char)reason[n] & 0xC0) == 0x80)
		n--;
	return n;
}

void ws_conn_close(struct ws_conn *c, int code, const char *reason)
{
	size_t rlen = reason != NULL ? ws_reason_len(reason) : 0;
	int rc;

	if (c->state != WS_OPEN)
		return;
	if (!ws_close_code_sendable(code))
		code = WS_CODE_NORMAL;
	rc = ws_parser_close(&c->parser, code, reason, rlen);
	if (c->state != WS_OPEN)
		return; /* the output could not be queued: closed already */
	if (rc == PL_NOMEM) {
		ws_conn_abort(c, WS_CODE_INTERNAL, 1);
		return;
	}
	if (rc < 0)
		return; /* the parser is failing the connection: its feed ends it */
	c->code = (unsigned short)code;
	c->state = WS_CLOSING;
	if (c->parser.state == WS_PARSER_DONE)
		ws_conn_finishing(c);
	else
		ws_conn_close_timer(c);
}

void ws_conn_set_data(struct ws_conn *c, void *data)
{
	c->data = data;
}

void *ws_conn_data(const struct ws_conn *c)
{
	return c->data;
}

size_t ws_conn_pending(const struct ws_conn *c)
{
	size_t n = (c->wr != NULL ? c->wr->queued : 0) + ws_parser_queued(&c->parser);

	if (c->state != WS_DEAD)
		n += uv_stream_get_write_queue_size(net_conn_ws_stream(ws_net(c)));
	return n;
}

const char *ws_conn_peer_ip(const struct ws_conn *c, char *buf, size_t len)
{
	net_conn_ws_peer_ip(ws_net(c), buf, len);
	return buf;
}

/* ---- the calls from http.c ---------------------------------------------------- */

void ws_conn_init(struct ws_conn *c, const struct ws_conf *conf)
{
	memset(c, 0, sizeof(*c));
	ws_parser_init(&c->parser, &ws_conn_parser_ops, conf->lim.max_message_bytes);
	c->conf = conf;
	c->state = WS_OPEN;
	c->code = WS_CODE_ABNORMAL;
}

void ws_conn_start(struct ws_conn *c, char *early, size_t len)
{
	c->last_heard = ws_conn_now(c);
	if (early != NULL && len > 0) {
		/* Copied behind its length: one pointer in the connection. */
		if ((c->early = malloc(sizeof(*c->early) + len)) == NULL) {
			free(early);
			ws_conn_abort(c, WS_CODE_INTERNAL, 0);
			return;
		}
		c->early->len = len;
		memcpy(c->early->data, early, len);
		free(early);
		net_conn_ws_timer(ws_net(c), 0);
		return;
	}
	free(early);
	if (net_conn_ws_read(ws_net(c), 1) < 0) {
		ws_conn_abort(c, WS_CODE_ABNORMAL, 0);
		return;
	}
	ws_conn_arm(c);
}

void ws_conn_on_read(struct ws_conn *c, const char *data, ssize_t nread)
{
	int was_pinged;

	if (c->state == WS_DEAD)
		return;
	if (nread < 0) {
		ws_conn_abort(c, WS_CODE_ABNORMAL, 0);
		return;
	}
	if (nread == 0)
		return;
	c->last_heard = ws_conn_now(c);
	was_pinged = c->pinged;
	c->pinged = 0;
	if (c->state != WS_OPEN && c->state != WS_CLOSING)
		return; /* the parser is done: what comes now is discarded */
	ws_conn_feed(c, data, (size_t)nread);
	/* After a ping the timer waits for the drop deadline: bring the next
	 * ping back to ping_interval_ms from now. */
	if (c->state == WS_OPEN && (c->timer_off || was_pinged))
		ws_conn_arm(c);
}

void ws_conn_on_timer(struct ws_conn *c)
{
	struct ws_early *early = c->early;

	if (early != NULL) {
		/* The bytes that came with the handshake, then reading on. */
		c->early = NULL;
		ws_conn_feed(c, early->data, early->len);
		free(early);
		if (c->state == WS_DEAD)
			return;
		if (net_conn_ws_read(ws_net(c), 1) < 0) {
			ws_conn_abort(c, WS_CODE_ABNORMAL, 0);
			return;
		}
		if (c->state == WS_OPEN)
			ws_conn_arm(c);
		else if (c->state == WS_CLOSING || c->state == WS_FINISHING)
			ws_conn_close_timer(c);
		return;
	}
	switch (c->state) {
	case WS_OPEN:
		ws_conn_tick(c);
		break;
	case WS_CLOSING:
	case WS_FINISHING:
		/* The peer did not answer our close, or does not read. */
		ws_conn_abort(c, c->code, 0);
		break;
	default:
		break;
	}
}

void ws_conn_on_net_close(struct ws_conn *c)
{
	c->state = WS_DEAD;
	ws_conn_unschedule(c);
}

void ws_conn_on_server_close(struct ws_conn *c)
{
	if (c->state == WS_DEAD)
		net_conn_ws_abort(ws_net(c));
	else
		ws_conn_abort(c, WS_CODE_NORMAL, 1);
}

void ws_conn_on_closed(struct ws_conn *c)
{
	if (c->conf->cb.on_close != NULL)
		c->conf->cb.on_close(c->conf->ctx, c, c->code);
	/* libuv ran every write callback before the close callback, so no
	 * write is in flight; frames still queued (the connection died
	 * before the flush) are dropped here. */
	if (c->wr != NULL) {
		ws_conn_unschedule(c);
		ws_write_free(c->wr);
	}
	c->wr = NULL;
	ws_parser_release(&c->parser);
	free(c->early);
	c->early = NULL;
}
