/*
 * ws.c — libparley's WebSocket client (RFC 6455, client side), blocking and
 * poll-driven like the HTTP transport in http.c.
 *
 * Opening handshake: GET prefix/api/ws with a random Sec-WebSocket-Key; the
 * server must answer 101 with Sec-WebSocket-Accept = base64(SHA-1(key +
 * GUID)).  Anything else is an error (a Parley envelope becomes an API
 * error).
 *
 * Frames: every frame we send is masked with a fresh random key (section
 * 5.3).  Server frames must not be masked, use no reserved bits and known
 * opcodes only; control frames are short and unfragmented and may come
 * between the fragments of a message.  A text message is reassembled up to
 * PARLEY_WS_MESSAGE_MAX and checked to be UTF-8.  Violations close the
 * connection with 1002 / 1003 / 1007 / 1009 (section 7.4.1).
 *
 * Closing: we answer the peer's close frame with the same code and close the
 * socket (the server closes TCP first, section 7.1.1); our own close waits
 * briefly for the peer's answer.
 */
#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "lib/parley_int.h"

#ifndef MSG_NOSIGNAL
#define MSG_NOSIGNAL 0
#endif

#define WS_READ_CHUNK 65536u                                /* bytes per recv() */
#define WS_IN_MAX (WS_READ_CHUNK + PARLEY_WS_CONTROL_MAX + PARLEY_WS_HEAD_MAX) /* unparsed input held */
#define WS_OUT_MAX (PARLEY_REQUEST_MAX + 64u * 1024u)       /* frames waiting to be written */
#define WS_REQ_HEAD_MAX 2048u                               /* the upgrade request */
#define WS_KEY_BYTES 16                                     /* Sec-WebSocket-Key, before base64 */
#define WS_ERROR_BODY_MAX (64u * 1024u)                     /* body of a refused upgrade */

/* --- UTF-8 ------------------------------------------------------------- */

int parley_utf8_valid(const char *str, size_t n)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t i = 0;

	while (i < n) {
		unsigned char c = s[i];
		size_t len;
		uint32_t cp;

		if (c < 0x80) {
			i++;
			continue;
		}
		if (c >= 0xC2 && c <= 0xDF) {
			len = 2;
			cp = c & 0x1F;
		} else if (c >= 0xE0 && c <= 0xEF) {
			len = 3;
			cp = c & 0x0F;
		} else if (c >= 0xF0 && c <= 0xF4) {
			len = 4;
			cp = c & 0x07;
		} else {
			return 0; /* a continuation byte, 0xC0/0xC1 (overlong) or past 0xF4 */
		}
		if (n - i < len)
			return 0;
		for (size_t k = 1; k < len; k++) {
			if ((s[i + k] & 0xC0) != 0x80)
				return 0;
			cp = cp << 6 | (s[i + k] & 0x3F);
		}
		if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) || cp > 0x10FFFF ||
		    (cp >= 0xD800 && cp <= 0xDFFF))
			return 0;
		i += len;
	}
	return 1;
}

/* --- state --------------------------------------------------------------- */

void parley_ws_init(struct parley_ws *ws)
{
	memset(ws, 0, sizeof(*ws));
	ws->fd = -1;
	parley_buf_init(&ws->in, WS_IN_MAX);
	parley_buf_init(&ws->msg, PARLEY_WS_MESSAGE_MAX);
	parley_buf_init(&ws->out, WS_OUT_MAX);
}

void parley_ws_release(struct parley_ws *ws)
{
	if (ws->fd >= 0)
		close(ws->fd);
	ws->fd = -1;
	parley_buf_release(&ws->in);
	parley_buf_release(&ws->msg);
	parley_buf_release(&ws->out);
}

/* --- frames out ---------------------------------------------------------- */

int parley_ws_frame(struct parley_buf *out, int opcode, const void *payload, size_t len)
{
	unsigned char head[PARLEY_WS_HEAD_MAX], mask[4];
	const unsigned char *src = payload;
	size_t h = 0;
	char *dst;
	int rc;

	if ((rc = parley_random(mask, sizeof(mask))) < 0)
		return rc;
	head[h++] = (unsigned char)(0x80 | (opcode & 0x0F));
	if (len < 126) {
		head[h++] = (unsigned char)(0x80 | len);
	} else if (len <= 0xFFFF) {
		head[h++] = 0x80 | 126;
		head[h++] = (unsigned char)(len >> 8);
		head[h++] = (unsigned char)len;
	} else {
		head[h++] = 0x80 | 127;
		for (int i = 7; i >= 0; i--)
			head[h++] = (unsigned char)((uint64_t)len >> (8 * i));
	}
	memcpy(head + h, mask, 4);
	h += 4;
	if ((rc = parley_buf_reserve(out, h + len)) < 0)
		return rc;
	memcpy(out->p + out->len, head, h);
	dst = out->p + out->len + h;
	for (size_t i = 0; i < len; i++)
		dst[i] = (char)(src[i] ^ mask[i & 3]);
	out->len += h + len;
	out->p[out->len] = '\0';
	return 0;
}

/* --- frames in ----------------------------------------------------------- */

static int ws_fail(struct parley_ws *ws, int code)
{
	ws->fail_code = code;
	return code == 1009 ? PARLEY_ETOOBIG : PARLEY_EPROTO;
}

/* Bytes of input not parsed yet. */
static size_t ws_avail(const struct parley_ws *ws)
{
	return ws->in.len - ws->in_off;
}

static const unsigned char *ws_at(const struct parley_ws *ws)
{
	return (const unsigned char *)ws->in.p + ws->in_off;
}

/* A complete control frame: op with payload p[0..n). */
static int ws_control(struct parley_ws *ws, int op, const unsigned char *p, size_t n)
{
	int rc;

	if (op == PARLEY_WS_PING) {
		if (ws->close_sent)
			return PARLEY_WS_NEED; /* no pong after our close frame */
		rc = parley_ws_frame(&ws->out, PARLEY_WS_PONG, p, n);
		return rc < 0 ? rc : PARLEY_WS_NEED;
	}
	if (op == PARLEY_WS_PONG)
		return PARLEY_WS_NEED;
	/* close */
	if (n == 1)
		return ws_fail(ws, 1002);
	ws->peer_code = 1005;
	ws->peer_reason[0] = '\0';
	if (n >= 2) {
		int code = p[0] << 8 | p[1];

		/* Codes a peer may send (section 7.4): 1000-1003, 1007-1014, 3000-4999. */
		if (code < 1000 || (code > 1003 && code < 1007) || (code > 1014 && code < 3000) || code > 4999)
			return ws_fail(ws, 1002);
		if (!parley_utf8_valid((const char *)p + 2, n - 2))
			return ws_fail(ws, 1007);
		ws->peer_code = code;
		memcpy(ws->peer_reason, p + 2, n - 2);
		ws->peer_reason[n - 2] = '\0';
	}
	ws->close_rcvd = 1;
	return PARLEY_WS_CLOSED;
}

/* Reads a frame header if the whole of it is there.  Returns 1 when one was
 * consumed (control frames: with their payload), PARLEY_WS_NEED, another
 * event, or an error. */
static int ws_header(struct parley_ws *ws)
{
	const unsigned char *p = ws_at(ws);
	size_t avail = ws_avail(ws), h = 2;
	uint64_t len;
	int op, fin, rc;

	if (avail < 2)
		return PARLEY_WS_NEED;
	fin = p[0] & 0x80;
	op = p[0] & 0x0F;
	if (p[0] & 0x70)
		return ws_fail(ws, 1002); /* reserved bits: we negotiated no extension */
	if (p[1] & 0x80)
		return ws_fail(ws, 1002); /* a server must not mask (section 5.1) */
	len = p[1] & 0x7F;
	if (len == 126) {
		if (avail < 4)
			return PARLEY_WS_NEED;
		len = (uint64_t)p[2] << 8 | p[3];
		h = 4;
	} else if (len == 127) {
		if (avail < 10)
			return PARLEY_WS_NEED;
		len = 0;
		for (int i = 0; i < 8; i++)
			len = len << 8 | p[2 + i];
		if (len >> 63)
			return ws_fail(ws, 1002);
		h = 10;
	}
	if (op >= 0x8) {
		if (op > PARLEY_WS_PONG || !fin || len > PARLEY_WS_CONTROL_MAX)
			return ws_fail(ws, 1002);
		if (avail < h + len)
			return PARLEY_WS_NEED;
		ws->in_off += h + (size_t)len;
		rc = ws_control(ws, op, p + h, (size_t)len);
		return rc == PARLEY_WS_NEED ? 1 : rc;
	}
	if (op > PARLEY_WS_BINARY)
		return ws_fail(ws, 1002);
	if (op == PARLEY_WS_CONT && !ws->msg_op)
		return ws_fail(ws, 1002); /* a continuation of nothing */
	if (op != PARLEY_WS_CONT && ws->msg_op)
		return ws_fail(ws, 1002); /* a new message inside a fragmented one */
	if (op == PARLEY_WS_BINARY)
		return ws_fail(ws, 1003); /* Parley speaks text only */
	if (op == PARLEY_WS_TEXT) {
		ws->msg_op = op;
		ws->msg.len = 0;
	}
	if (len > ws->msg.max - ws->msg.len)
		return ws_fail(ws, 1009);
	if ((rc = parley_buf_reserve(&ws->msg, (size_t)len)) < 0)
		return rc;
	ws->in_off += h;
	ws->in_frame = 1;
	ws->frame_op = op;
	ws->frame_fin = fin;
	ws->frame_left = len;
	return 1;
}

/* Drops parsed input so the buffer does not grow. */
static void ws_compact(struct parley_ws *ws)
{
	if (ws->in_off == 0)
		return;
	parley_buf_consume(&ws->in, ws->in_off);
	ws->in_off = 0;
}

int parley_ws_parse(struct parley_ws *ws, struct parley_ws_msg *m)
{
	int rc;

	if (ws->msg_done) {
		ws->msg_done = 0;
		ws->msg_op = 0;
		ws->msg.len = 0;
	}
	if (ws->fail_code)
		return PARLEY_EPROTO;
	for (;;) {
		if (!ws->in_frame) {
			rc = ws_header(ws);
			if (rc != 1)
				break;
			continue;
		}
		if (ws->frame_left) {
			size_t n = ws_avail(ws);

			if (n == 0) {
				rc = PARLEY_WS_NEED;
				break;
			}
			if ((uint64_t)n > ws->frame_left)
				n = (size_t)ws->frame_left;
			if ((rc = parley_buf_add(&ws->msg, ws_at(ws), n)) < 0)
				break;
			ws->in_off += n;
			ws->frame_left -= n;
			if (ws->frame_left)
				continue;
		}
		ws->in_frame = 0;
		if (!ws->frame_fin)
			continue;
		if (!parley_utf8_valid(ws->msg.p ? ws->msg.p : "", ws->msg.len)) {
			rc = ws_fail(ws, 1007);
			break;
		}
		if (parley_buf_reserve(&ws->msg, 0) < 0) { /* a NUL even for an empty message */
			rc = PARLEY_ENOMEM;
			break;
		}
		ws->msg.p[ws->msg.len] = '\0';
		m->data = ws->msg.p;
		m->len = ws->msg.len;
		ws->msg_done = 1;
		rc = PARLEY_WS_MESSAGE;
		break;
	}
	ws_compact(ws);
	return rc;
}

/* --- I/O --------------------------------------------------------------------- */

int parley_ws_flush(struct parley_ws *ws, int64_t deadline, struct parley_error *err)
{
	size_t off = 0;
	ssize_t n;
	int rc = 0;

	while (off < ws->out.len) {
		if (ws->fd < 0) {
			rc = parley_error_set(err, PARLEY_ENETWORK, "the connection is closed");
			break;
		}
		n = send(ws->fd, ws->out.p + off, ws->out.len - off, MSG_NOSIGNAL);
		if (n > 0) {
			off += (size_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			rc = parley_fd_wait(ws->fd, POLLOUT, deadline, ws->stop);
			if (rc == PARLEY_ETIMEDOUT)
				rc = parley_error_set(err, rc, "the server does not take what we send");
			else if (rc < 0)
				rc = parley_error_set(err, rc, "waiting to send: %s", parley_strerror(rc));
			if (rc < 0)
				break;
			continue;
		}
		rc = parley_error_set(err, PARLEY_ENETWORK, "send failed: %s", n < 0 ? strerror(errno) : "no progress");
		break;
	}
	parley_buf_consume(&ws->out, off);
	return rc;
}

int parley_ws_send_text(struct parley_ws *ws, const char *text, size_t len, int64_t deadline,
			struct parley_error *err)
{
	int rc;

	if (ws->fd < 0 || ws->close_sent)
		return parley_error_set(err, PARLEY_ENETWORK, "the connection is closed");
	if ((rc = parley_ws_frame(&ws->out, PARLEY_WS_TEXT, text, len)) < 0)
		return parley_error_set(err, rc, "cannot frame the message: %s", parley_strerror(rc));
	return parley_ws_flush(ws, deadline, err);
}

/* One recv() into ws->in.  Returns the bytes read (> 0), 0 at EOF, or a
 * negative parley_rc (PARLEY_ETIMEDOUT at the deadline). */
static long ws_recv_some(struct parley_ws *ws, int64_t deadline, struct parley_error *err)
{
	size_t want;
	ssize_t n;
	int rc;

	ws_compact(ws);
	want = ws->in.max - ws->in.len;
	if (want > WS_READ_CHUNK)
		want = WS_READ_CHUNK;
	if (want == 0)
		return parley_error_set(err, PARLEY_ETOOBIG, "the input buffer is full");
	if ((rc = parley_buf_reserve(&ws->in, want)) < 0)
		return parley_error_set(err, rc, "cannot buffer input: %s", parley_strerror(rc));
	for (;;) {
		n = recv(ws->fd, ws->in.p + ws->in.len, want, 0);
		if (n >= 0)
			break;
		if (errno == EINTR) {
			if (ws->stop && *ws->stop)
				return parley_error_set(err, PARLEY_ECANCELED, "stopped");
			continue;
		}
		if (errno != EAGAIN && errno != EWOULDBLOCK)
			return parley_error_set(err, PARLEY_ENETWORK, "receive failed: %s", strerror(errno));
		rc = parley_fd_wait(ws->fd, POLLIN, deadline, ws->stop);
		if (rc < 0)
			return parley_error_set(err, rc, "%s", rc == PARLEY_ETIMEDOUT ? "nothing received in time"
										: parley_strerror(rc));
	}
	ws->in.len += (size_t)n;
	ws->in.p[ws->in.len] = '\0';
	if (n > 0)
		ws->last_rx = parley_now_ms();
	return (long)n;
}

static void ws_close_fd(struct parley_ws *ws)
{
	if (ws->fd >= 0)
		close(ws->fd);
	ws->fd = -1;
}

/* Queues our close frame with code (once). */
static void ws_queue_close(struct parley_ws *ws, int code)
{
	unsigned char p[2] = {(unsigned char)(code >> 8), (unsigned char)code};

	if (ws->close_sent)
		return;
	ws->close_sent = 1;
	/* 1005, 1006 and 1015 name situations and must not be sent: a peer's
	 * close frame without a code is answered with none. */
	if (code == 1005 || code == 1006 || code == 1015)
		(void)parley_ws_frame(&ws->out, PARLEY_WS_CLOSE, NULL, 0);
	else
		(void)parley_ws_frame(&ws->out, PARLEY_WS_CLOSE, p, 2);
}

int parley_ws_read(struct parley_ws *ws, int64_t deadline, struct parley_ws_msg *m, struct parley_error *err)
{
	int64_t soon;
	long n;
	int rc;

	for (;;) {
		if (ws->fd < 0)
			return parley_error_set(err, PARLEY_ENETWORK, "the connection is closed");
		rc = parley_ws_parse(ws, m);
		if (rc == PARLEY_WS_MESSAGE)
			return 0;
		soon = parley_now_ms() + 1000;
		if (rc == PARLEY_WS_CLOSED) {
			ws_queue_close(ws, ws->peer_code);
			(void)parley_ws_flush(ws, soon, NULL);
			ws_close_fd(ws);
			return parley_error_set(err, PARLEY_ENETWORK, "the server closed the connection (%d%s%s)",
						ws->peer_code, ws->peer_reason[0] ? ": " : "", ws->peer_reason);
		}
		if (rc < 0) {
			if (ws->fail_code) {
				ws_queue_close(ws, ws->fail_code);
				(void)parley_ws_flush(ws, soon, NULL);
			}
			ws_close_fd(ws);
			return parley_error_set(err, rc, "WebSocket protocol error from the server (closed with %d)",
						ws->fail_code);
		}
		if (ws->out.len && (rc = parley_ws_flush(ws, deadline, err)) < 0) { /* pongs */
			if (rc != PARLEY_ETIMEDOUT && rc != PARLEY_ECANCELED)
				ws_close_fd(ws);
			return rc;
		}
		n = ws_recv_some(ws, deadline, err);
		if (n == 0) {
			ws_close_fd(ws);
			return parley_error_set(err, PARLEY_ENETWORK, "the server closed the connection");
		}
		if (n < 0) {
			if (n != PARLEY_ETIMEDOUT && n != PARLEY_ECANCELED)
				ws_close_fd(ws);
			return (int)n;
		}
	}
}

void parley_ws_close(struct parley_ws *ws, int code, int wait_ms)
{
	int64_t deadline = parley_now_ms() + (wait_ms > 0 ? wait_ms : 1);
	struct parley_ws_msg m;

	if (ws->fd < 0)
		return;
	ws->out.len = 0; /* nothing half-sent matters now; a partial frame would garble the close */
	ws_queue_close(ws, code);
	if (parley_ws_flush(ws, deadline, NULL) == 0)
		while (!ws->close_rcvd && parley_ws_read(ws, deadline, &m, NULL) == 0)
			; /* messages after our close frame are dropped */
	ws_close_fd(ws);
}

/* --- the opening handshake ------------------------------------------------- */

/* Offset just past "\r\n\r\n" in p[0..n), or 0. */
static size_t ws_head_end(const char *p, size_t n)
{
	for (size_t i = 0; i + 3 < n; i++)
		if (p[i] == '\r' && p[i + 1] == '\n' && p[i + 2] == '\r' && p[i + 3] == '\n')
			return i + 4;
	return 0;
}

/* What the reply head says. */
struct ws_reply {
	int status;
	int upgrade;         /* Upgrade: websocket */
	int connection;      /* Connection: ... upgrade ... */
	int accept_ok;       /* Sec-WebSocket-Accept matches */
	int extensions;      /* Sec-WebSocket-Extensions given: we asked for none */
	long content_length; /* -1 if absent */
};

static int ws_parse_reply(const char *head, size_t n, const char *want_accept, struct ws_reply *r)
{
	size_t off = 0;
	int first = 1;

	memset(r, 0, sizeof(*r));
	r->content_length = -1;
	while (off + 2 <= n) {
		const char *l = head + off, *eol = memchr(l, '\r', n - off), *colon, *v;
		size_t len, nlen, vlen;

		if (!eol || eol + 1 >= head + n || eol[1] != '\n')
			return PARLEY_EPROTO;
		len = (size_t)(eol - l);
		off += len + 2;
		if (len == 0)
			break;
		if (first) {
			first = 0;
			if (len < 12 || strncmp(l, "HTTP/1.1 ", 9) != 0 || l[9] < '1' || l[9] > '5' || l[10] < '0' ||
			    l[10] > '9' || l[11] < '0' || l[11] > '9')
				return PARLEY_EPROTO;
			r->status = (l[9] - '0') * 100 + (l[10] - '0') * 10 + (l[11] - '0');
			continue;
		}
		if (!(colon = memchr(l, ':', len)) || colon == l)
			return PARLEY_EPROTO;
		nlen = (size_t)(colon - l);
		v = colon + 1;
		vlen = len - nlen - 1;
		while (vlen && (*v == ' ' || *v == '\t'))
			v++, vlen--;
		while (vlen && (v[vlen - 1] == ' ' || v[vlen - 1] == '\t'))
			vlen--;
		if (nlen == 7 && strncasecmp(l, "Upgrade", 7) == 0)
			r->upgrade = parley_http_has_token(v, vlen, "websocket");
		else if (nlen == 10 && strncasecmp(l, "Connection", 10) == 0)
			r->connection = parley_http_has_token(v, vlen, "upgrade");
		else if (nlen == 20 && strncasecmp(l, "Sec-WebSocket-Accept", 20) == 0)
			r->accept_ok = vlen == strlen(want_accept) && memcmp(v, want_accept, vlen) == 0;
		else if (nlen == 24 && strncasecmp(l, "Sec-WebSocket-Extensions", 24) == 0)
			r->extensions = 1;
		else if (nlen == 14 && strncasecmp(l, "Content-Length", 14) == 0)
			r->content_length = vlen && vlen < 10 ? strtol(v, NULL, 10) : (long)WS_ERROR_BODY_MAX + 1;
	}
	return r->status ? 0 : PARLEY_EPROTO;
}

/* A refused upgrade: reads the body (Content-Length framed, or up to EOF)
 * and reports the server's envelope. */
static int ws_refused(struct parley_ws *ws, const struct ws_reply *r, const char *server, int64_t deadline,
		      struct parley_error *err)
{
	size_t want = r->content_length >= 0 ? (size_t)r->content_length : WS_ERROR_BODY_MAX;
	long n = 1;
	int rc;

	if (r->content_length > (long)WS_ERROR_BODY_MAX)
		want = 0;
	while (ws_avail(ws) < want && n > 0)
		n = ws_recv_some(ws, deadline, NULL);
	rc = parley_envelope(r->status, (const char *)ws_at(ws), ws_avail(ws) < want ? ws_avail(ws) : want, NULL,
			     err);
	if (rc == PARLEY_EAPI)
		return rc;
	rc = parley_error_set(err, PARLEY_EPROTO, "%s refused the WebSocket upgrade with HTTP %d", server, r->status);
	if (err) {
		err->http_status = r->status;
		snprintf(err->code, sizeof(err->code), "HTTP_%d", r->status);
	}
	return rc;
}

/* Builds the upgrade request and the Sec-WebSocket-Accept it expects. */
static int ws_request(const struct parley_url *url, const char *token, struct parley_buf *req, char *accept,
		      size_t acceptlen)
{
	unsigned char raw[WS_KEY_BYTES], digest[PARLEY_SHA1_LEN];
	char key[PARLEY_BASE64_LEN(WS_KEY_BYTES)], both[sizeof(key) + sizeof(PARLEY_WS_GUID)];
	int rc;

	if ((rc = parley_random(raw, sizeof(raw))) < 0)
		return rc;
	parley_base64(raw, sizeof(raw), key, sizeof(key));
	snprintf(both, sizeof(both), "%s%s", key, PARLEY_WS_GUID);
	parley_sha1(both, strlen(both), digest);
	parley_base64(digest, sizeof(digest), accept, acceptlen);
	rc = parley_buf_addf(req,
			     "GET %s" PARLEY_WS_PATH " HTTP/1.1\r\nHost: %s%s%s%s%s\r\n"
			     "User-Agent: libparley/" PARLEY_VERSION "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
			     "Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n",
			     url->prefix, url->ipv6 ? "[" : "", url->host, url->ipv6 ? "]" : "",
			     strcmp(url->port, "80") ? ":" : "", strcmp(url->port, "80") ? url->port : "", key);
	if (rc == 0 && token && *token)
		rc = parley_buf_addf(req, "Authorization: Bearer %s\r\n", token);
	if (rc == 0)
		rc = parley_buf_adds(req, "\r\n");
	return rc;
}

int parley_ws_connect(struct parley_ws *ws, const struct parley_url *url, const char *server, const char *token,
		      int64_t deadline, struct parley_error *err)
{
	char accept[PARLEY_BASE64_LEN(PARLEY_SHA1_LEN)];
	struct parley_buf req;
	struct ws_reply r;
	size_t end = 0;
	long n;
	int rc;

	parley_ws_release(ws);
	parley_ws_init(ws);
	parley_buf_init(&req, WS_REQ_HEAD_MAX);
	if ((rc = ws_request(url, token, &req, accept, sizeof(accept))) < 0) {
		rc = parley_error_set(err, rc, "cannot build the upgrade request: %s", parley_strerror(rc));
		goto out;
	}
	if ((rc = parley_tcp_connect(url, server, deadline, &ws->fd, err)) < 0)
		goto out;
	ws->last_rx = parley_now_ms();
	if ((rc = parley_buf_add(&ws->out, req.p, req.len)) < 0 || (rc = parley_ws_flush(ws, deadline, err)) < 0)
		goto out;
	while (!(end = ws_head_end(ws->in.p ? ws->in.p : "", ws->in.len))) {
		if (ws->in.len >= PARLEY_HEADERS_MAX) {
			rc = parley_error_set(err, PARLEY_ETOOBIG, "the upgrade reply's head is too large");
			goto out;
		}
		n = ws_recv_some(ws, deadline, err);
		if (n == 0)
			rc = parley_error_set(err, PARLEY_ENETWORK, "%s closed the connection during the upgrade", server);
		else if (n < 0)
			rc = (int)n;
		if (rc < 0)
			goto out;
	}
	if (ws_parse_reply(ws->in.p, end, accept, &r) < 0) {
		rc = parley_error_set(err, PARLEY_EPROTO, "malformed upgrade reply from %s", server);
		goto out;
	}
	ws->in_off = end;
	if (r.status != 101) {
		rc = ws_refused(ws, &r, server, deadline, err);
		goto out;
	}
	if (!r.upgrade || !r.connection || !r.accept_ok || r.extensions) {
		rc = parley_error_set(err, PARLEY_EPROTO, "%s answered 101 without a valid WebSocket handshake%s", server,
				      r.accept_ok ? "" : " (Sec-WebSocket-Accept does not match the key)");
		goto out;
	}
	ws_compact(ws);
	rc = 0;
out:
	parley_buf_release(&req);
	if (rc < 0)
		ws_close_fd(ws);
	return rc;
}
