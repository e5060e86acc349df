/*
 * http_parse.c — assembles HTTP/1.1 requests from bytes with http-parser.
 *
 * http-parser streams the request as callbacks; this file collects the parts
 * the server needs into bounded buffers (struct net_dbuf) and stops the
 * parser (http_parser_pause) at the end of each request, so that the bytes of
 * a pipelined request that follows stay unparsed until the caller asks for it.
 *
 * The header limit is exact: while the request line and headers are being
 * read, http-parser is never given more bytes than the limit still allows, so
 * when it has eaten the whole allowance without reaching the end of the
 * headers the request is too large.  See http_parse.h for the contract.
 */
#include "net/http_parse.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "net/net.h"
#include "util/err.h"

/* The headers we look at (one bit each, for p->seen).  NET_HDR_ONCE ones
 * may appear only once; NET_HDR_LIST ones are lists whose repeats are
 * joined. */
enum net_hdr {
	NET_HDR_OTHER = 0,
	NET_HDR_AUTH = 1,
	NET_HDR_CTYPE = 2,
	NET_HDR_CLEN = 4,
	NET_HDR_EXPECT = 8,
	NET_HDR_UPGRADE = 16,
	NET_HDR_CONN = 32,
	NET_HDR_WSKEY = 64,
	NET_HDR_WSVER = 128,
	NET_HDR_RANGE = 256,
	NET_HDR_IFRANGE = 512,
	NET_HDR_INM = 1024,
};
#define NET_HDR_ONCE (NET_HDR_AUTH | NET_HDR_CTYPE | NET_HDR_CLEN | NET_HDR_RANGE | NET_HDR_IFRANGE)
#define NET_HDR_LIST (NET_HDR_UPGRADE | NET_HDR_CONN | NET_HDR_WSKEY | NET_HDR_WSVER | NET_HDR_INM)

/* First allocation of a growing buffer. */
#define NET_DBUF_MIN 64
/* Limits are clamped to this so that max + 1 and doubling cannot overflow. */
#define NET_PARSE_LIMIT_CAP (SIZE_MAX / 4)

/* ---- bounded growable buffers ------------------------------------------ */

static void net_dbuf_init(struct net_dbuf *b, size_t max)
{
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
	b->max = max;
}

static void net_dbuf_free(struct net_dbuf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
}

/* Makes room for a total of want bytes plus a NUL, and keeps the contents
 * NUL-terminated.  want must be <= max. */
static int net_dbuf_reserve(struct net_dbuf *b, size_t want)
{
	size_t cap;
	char *nd;

	if (want + 1 <= b->cap)
		return 0;
	cap = b->cap ? b->cap : NET_DBUF_MIN;
	while (cap < want + 1)
		cap *= 2;
	if (cap > b->max + 1)
		cap = b->max + 1;
	nd = realloc(b->data, cap);
	if (nd == NULL)
		return PL_NOMEM;
	nd[b->len] = '\0';
	b->data = nd;
	b->cap = cap;
	return 0;
}

/* Appends n bytes and keeps the buffer NUL-terminated.  Returns PL_TOOBIG
 * past the maximum. */
static int net_dbuf_add(struct net_dbuf *b, const char *s, size_t n)
{
	int rc;

	if (n > b->max - b->len)
		return PL_TOOBIG;
	if ((rc = net_dbuf_reserve(b, b->len + n)) < 0)
		return rc;
	memcpy(b->data + b->len, s, n);
	b->len += n;
	b->data[b->len] = '\0';
	return 0;
}

/* Hands the contents to the caller (who frees them) and empties b.  An empty
 * buffer yields an allocated "".  Returns NULL only if allocation fails. */
static char *net_dbuf_take(struct net_dbuf *b)
{
	char *s = b->data;

	if (s == NULL)
		s = calloc(1, 1);
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
	return s;
}

/* Drops trailing spaces and tabs (http-parser strips only leading ones). */
static void net_dbuf_rtrim(struct net_dbuf *b)
{
	while (b->len > 0 && (b->data[b->len - 1] == ' ' || b->data[b->len - 1] == '\t'))
		b->len--;
	if (b->data != NULL)
		b->data[b->len] = '\0';
}

/* ---- per-request state --------------------------------------------------- */

static void net_parser_clear_msg(struct net_parser *p)
{
	net_dbuf_free(&p->target);
	net_dbuf_free(&p->auth);
	net_dbuf_free(&p->ctype);
	net_dbuf_free(&p->upgrade);
	net_dbuf_free(&p->conn);
	net_dbuf_free(&p->ws_key);
	net_dbuf_free(&p->ws_version);
	net_dbuf_free(&p->range);
	net_dbuf_free(&p->if_range);
	net_dbuf_free(&p->inm);
	net_dbuf_free(&p->body);
	if (p->head_taken)
		net_parsed_req_release(&p->head);
	p->head_taken = 0;
	p->at_head = 0;
	p->streaming = 0;
	p->body_cb = NULL;
	p->body_ctx = NULL;
	p->stream_max = 0;
	p->stream_got = 0;
	p->name_len = 0;
	p->name_long = 0;
	p->expect_len = 0;
	p->cur = NET_HDR_OTHER;
	p->last_was_value = 0;
	p->seen = 0;
	p->head_bytes = 0;
	p->trailer_bytes = 0;
	p->started = 0;
	p->in_head = 1;
	p->in_trailer = 0;
	p->complete = 0;
	p->want_continue = 0;
	p->keep_alive = 0;
}

/* Records the status of a failure found in a callback; returning nonzero
 * from the callback then stops http-parser. */
static int net_parser_fail(struct net_parser *p, int status)
{
	if (p->err_status == 0)
		p->err_status = status;
	return -1;
}

/* Maps a buffer error to the status the client gets. */
static int net_parser_fail_rc(struct net_parser *p, int rc, int toobig_status)
{
	return net_parser_fail(p, rc == PL_TOOBIG ? toobig_status : 500);
}

/* ---- http-parser callbacks ----------------------------------------------- */

static int net_on_message_begin(http_parser *hp)
{
	struct net_parser *p = hp->data;

	p->started = 1;
	return 0;
}

static int net_on_url(http_parser *hp, const char *at, size_t n)
{
	struct net_parser *p = hp->data;
	int rc;

	if ((rc = net_dbuf_add(&p->target, at, n)) < 0)
		return net_parser_fail_rc(p, rc, 431);
	return 0;
}

/* The buffer that collects the value of header h, or NULL. */
static struct net_dbuf *net_parser_hdr_buf(struct net_parser *p, int h)
{
	switch (h) {
	case NET_HDR_AUTH: return &p->auth;
	case NET_HDR_CTYPE: return &p->ctype;
	case NET_HDR_UPGRADE: return &p->upgrade;
	case NET_HDR_CONN: return &p->conn;
	case NET_HDR_WSKEY: return &p->ws_key;
	case NET_HDR_WSVER: return &p->ws_version;
	case NET_HDR_RANGE: return &p->range;
	case NET_HDR_IFRANGE: return &p->if_range;
	case NET_HDR_INM: return &p->inm;
	default: return NULL;
	}
}

/* Finishes the value of the header just read. */
static void net_parser_end_value(struct net_parser *p)
{
	struct net_dbuf *b = net_parser_hdr_buf(p, p->cur);

	if (b != NULL)
		net_dbuf_rtrim(b);
	else if (p->cur == NET_HDR_EXPECT)
		while (p->expect_len > 0 && (p->expect[p->expect_len - 1] == ' ' ||
					     p->expect[p->expect_len - 1] == '\t'))
			p->expect_len--;
	p->cur = NET_HDR_OTHER;
}

/* Decides which of our headers the name just completed is.  Returns -1 for a
 * repeated once-only header, or when joining a repeated list header fails. */
static int net_parser_classify(struct net_parser *p)
{
	int h = NET_HDR_OTHER;
	int rc;

	p->name[p->name_len] = '\0';
	if (p->name_long)
		h = NET_HDR_OTHER;
	else if (strcasecmp(p->name, "authorization") == 0)
		h = NET_HDR_AUTH;
	else if (strcasecmp(p->name, "content-type") == 0)
		h = NET_HDR_CTYPE;
	else if (strcasecmp(p->name, "content-length") == 0)
		h = NET_HDR_CLEN;
	else if (strcasecmp(p->name, "expect") == 0)
		h = NET_HDR_EXPECT;
	else if (strcasecmp(p->name, "upgrade") == 0)
		h = NET_HDR_UPGRADE;
	else if (strcasecmp(p->name, "connection") == 0)
		h = NET_HDR_CONN;
	else if (strcasecmp(p->name, "sec-websocket-key") == 0)
		h = NET_HDR_WSKEY;
	else if (strcasecmp(p->name, "sec-websocket-version") == 0)
		h = NET_HDR_WSVER;
	else if (strcasecmp(p->name, "range") == 0)
		h = NET_HDR_RANGE;
	else if (strcasecmp(p->name, "if-range") == 0)
		h = NET_HDR_IFRANGE;
	else if (strcasecmp(p->name, "if-none-match") == 0)
		h = NET_HDR_INM;
	if (h & NET_HDR_ONCE) {
		if (p->seen & (unsigned)h)
			return net_parser_fail(p, 400);
		p->seen |= (unsigned)h;
	}
	if (h & NET_HDR_LIST) {
		/* A repeat continues the list: "a, b" (RFC 9110 5.3). */
		if ((p->seen & (unsigned)h) &&
		    (rc = net_dbuf_add(net_parser_hdr_buf(p, h), ", ", 2)) < 0)
			return net_parser_fail_rc(p, rc, 431);
		p->seen |= (unsigned)h;
	}
	if (h == NET_HDR_EXPECT)
		p->expect_len = 0;
	p->cur = h;
	return 0;
}

/* 1 if c may appear in a header name (RFC 9110 tchar).  Debian builds
 * http-parser without HTTP_PARSER_STRICT, which lets spaces through. */
static int net_is_tchar(unsigned char c)
{
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
		return 1;
	return c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

static int net_on_header_field(http_parser *hp, const char *at, size_t n)
{
	struct net_parser *p = hp->data;

	for (size_t i = 0; i < n; i++)
		if (!net_is_tchar((unsigned char)at[i]))
			return net_parser_fail(p, 400);
	if (!p->in_head)
		return 0; /* a trailer field: ignored */
	if (p->last_was_value) {
		net_parser_end_value(p);
		p->name_len = 0;
		p->name_long = 0;
		p->last_was_value = 0;
	}
	if (p->name_long || n > NET_PARSE_NAME_MAX - p->name_len) {
		p->name_long = 1;
		return 0;
	}
	memcpy(p->name + p->name_len, at, n);
	p->name_len += n;
	return 0;
}

static int net_on_header_value(http_parser *hp, const char *at, size_t n)
{
	struct net_parser *p = hp->data;
	int rc = 0;

	if (!p->in_head)
		return 0;
	if (!p->last_was_value) {
		p->last_was_value = 1;
		if (net_parser_classify(p) < 0)
			return -1;
	}
	switch (p->cur) {
	case NET_HDR_AUTH:
	case NET_HDR_CTYPE:
	case NET_HDR_UPGRADE:
	case NET_HDR_CONN:
	case NET_HDR_WSKEY:
	case NET_HDR_WSVER:
	case NET_HDR_RANGE:
	case NET_HDR_IFRANGE:
	case NET_HDR_INM:
		rc = net_dbuf_add(net_parser_hdr_buf(p, p->cur), at, n);
		break;
	case NET_HDR_EXPECT:
		/* Longer values cannot be "100-continue": keep a marker byte. */
		if (n > NET_PARSE_EXPECT_MAX - p->expect_len) {
			p->expect_len = NET_PARSE_EXPECT_MAX;
			break;
		}
		memcpy(p->expect + p->expect_len, at, n);
		p->expect_len += n;
		break;
	default:
		break;
	}
	if (rc < 0)
		return net_parser_fail_rc(p, rc, 431);
	return 0;
}

static int net_parser_body_expected(const http_parser *hp)
{
	if (hp->flags & F_CHUNKED)
		return 1;
	return (hp->flags & F_CONTENTLENGTH) && hp->content_length > 0;
}

static int net_on_headers_complete(http_parser *hp)
{
	struct net_parser *p = hp->data;
	int rc;

	if (p->last_was_value)
		net_parser_end_value(p);
	p->in_head = 0;
	if (hp->http_major != 1)
		return net_parser_fail(p, 400);
	if (p->target.len == 0 || p->target.data[0] != '/')
		return net_parser_fail(p, 400);
	p->expect[p->expect_len] = '\0';
	if (hp->http_minor >= 1 && net_parser_body_expected(hp) &&
	    strcasecmp(p->expect, "100-continue") == 0)
		p->want_continue = 1;
	/* Stop here: the caller picks how the body is read, and its limit. */
	if (p->head_stop) {
		p->at_head = 1;
		http_parser_pause(hp, 1);
		return 0;
	}
	if (!(hp->flags & F_CHUNKED) && (hp->flags & F_CONTENTLENGTH)) {
		if (hp->content_length > p->max_body_bytes)
			return net_parser_fail(p, 413);
		if ((rc = net_dbuf_reserve(&p->body, (size_t)hp->content_length)) < 0)
			return net_parser_fail_rc(p, rc, 413);
	}
	return 0;
}

static int net_on_chunk_header(http_parser *hp)
{
	struct net_parser *p = hp->data;

	uint64_t max = p->streaming ? p->stream_max : p->max_body_bytes;
	uint64_t got = p->streaming ? p->stream_got : p->body.len;

	/* content_length holds the size of the chunk announced. */
	if (hp->content_length > max - got)
		return net_parser_fail(p, 413);
	/* The last chunk: stop, so that the trailer section is measured
	 * against the header limit exactly (see net_parser_run). */
	if (hp->content_length == 0) {
		p->in_trailer = 1;
		http_parser_pause(hp, 1);
	}
	return 0;
}

static int net_on_body(http_parser *hp, const char *at, size_t n)
{
	struct net_parser *p = hp->data;
	int rc;

	if (p->streaming) {
		if (n > p->stream_max - p->stream_got)
			return net_parser_fail(p, 413);
		p->stream_got += n;
		p->body_cb(p->body_ctx, at, n);
		return 0;
	}
	if ((rc = net_dbuf_add(&p->body, at, n)) < 0)
		return net_parser_fail_rc(p, rc, 413);
	return 0;
}

static int net_on_message_complete(http_parser *hp)
{
	struct net_parser *p = hp->data;

	p->complete = 1;
	p->started = 0;
	p->want_continue = 0;
	/* After an upgrade the peer speaks another protocol: do not go on. */
	p->keep_alive = http_should_keep_alive(hp) && !hp->upgrade;
	/* Stop right after this request so the next one stays unparsed. */
	http_parser_pause(hp, 1);
	return 0;
}

static const http_parser_settings net_parse_settings = {
	.on_message_begin = net_on_message_begin,
	.on_url = net_on_url,
	.on_header_field = net_on_header_field,
	.on_header_value = net_on_header_value,
	.on_headers_complete = net_on_headers_complete,
	.on_body = net_on_body,
	.on_message_complete = net_on_message_complete,
	.on_chunk_header = net_on_chunk_header,
};

/* ---- driving the parser --------------------------------------------------- */

static int net_parser_method(unsigned m)
{
	switch (m) {
	case HTTP_GET: return NET_GET;
	case HTTP_POST: return NET_POST;
	case HTTP_HEAD: return NET_HEAD;
	default: return NET_OTHER;
	}
}

/* Moves the request line and headers into req (the body stays). */
static int net_parser_emit_head(struct net_parser *p, struct net_parsed_req *req)
{
	char *cut;

	req->method = net_parser_method(p->hp.method);
	req->http_major = p->hp.http_major;
	req->http_minor = p->hp.http_minor;
	req->content_length = (p->hp.flags & F_CONTENTLENGTH) && !(p->hp.flags & F_CHUNKED)
				      ? (int64_t)p->hp.content_length : -1;
	if ((req->target = net_dbuf_take(&p->target)) == NULL)
		return PL_NOMEM;
	if ((p->seen & NET_HDR_AUTH) && (req->authorization = net_dbuf_take(&p->auth)) == NULL)
		return PL_NOMEM;
	if ((p->seen & NET_HDR_CTYPE) && (req->content_type = net_dbuf_take(&p->ctype)) == NULL)
		return PL_NOMEM;
	if ((p->seen & NET_HDR_UPGRADE) && (req->upgrade = net_dbuf_take(&p->upgrade)) == NULL)
		return PL_NOMEM;
	if ((p->seen & NET_HDR_CONN) && (req->connection = net_dbuf_take(&p->conn)) == NULL)
		return PL_NOMEM;
	if ((p->seen & NET_HDR_WSKEY) && (req->ws_key = net_dbuf_take(&p->ws_key)) == NULL)
		return PL_NOMEM;
	if ((p->seen & NET_HDR_WSVER) && (req->ws_version = net_dbuf_take(&p->ws_version)) == NULL)
		return PL_NOMEM;
	if ((p->seen & NET_HDR_RANGE) && (req->range = net_dbuf_take(&p->range)) == NULL)
		return PL_NOMEM;
	if ((p->seen & NET_HDR_IFRANGE) && (req->if_range = net_dbuf_take(&p->if_range)) == NULL)
		return PL_NOMEM;
	if ((p->seen & NET_HDR_INM) && (req->if_none_match = net_dbuf_take(&p->inm)) == NULL)
		return PL_NOMEM;
	/* The fragment is never sent by real clients; drop it if one is. */
	if ((cut = strchr(req->target, '#')) != NULL)
		*cut = '\0';
	req->path = req->target;
	if ((cut = strchr(req->target, '?')) != NULL) {
		*cut = '\0';
		req->query = cut + 1;
	} else {
		req->query = req->target + strlen(req->target);
	}
	return 0;
}

/* Moves the finished request into req and readies p for the next one.  A
 * streamed request leaves only keep_alive in req. */
static int net_parser_emit(struct net_parser *p, struct net_parsed_req *req)
{
	int rc = 0;

	if (p->streaming) {
		req->keep_alive = p->keep_alive;
		goto out;
	}
	if (p->head_taken) {
		*req = p->head;
		memset(&p->head, 0, sizeof(p->head));
		p->head_taken = 0;
	} else if ((rc = net_parser_emit_head(p, req)) < 0) {
		goto out;
	}
	req->keep_alive = p->keep_alive;
	req->body_len = p->body.len;
	if ((req->body = net_dbuf_take(&p->body)) == NULL)
		rc = PL_NOMEM;
out:
	if (rc == 0)
		p->closed = !req->keep_alive;
	net_parser_clear_msg(p);
	if (rc < 0)
		net_parsed_req_release(req);
	return rc;
}

/* The pl_err that goes with a status. */
static int net_parser_status_rc(int status)
{
	if (status == 400)
		return PL_INVAL;
	if (status == 500)
		return PL_NOMEM;
	return PL_TOOBIG;
}

/* Makes p dead with status (an error found outside a callback). */
static int net_parser_die(struct net_parser *p, int status, int *out)
{
	net_parser_fail(p, status);
	p->dead_status = p->err_status;
	*out = p->dead_status;
	return net_parser_status_rc(p->dead_status);
}

/* Feeds buf[0..n) to http-parser, never more header bytes than the limit
 * allows.  Sets *used to the bytes eaten.  Returns 0 when a request is
 * complete, PL_AGAIN when all n bytes were used without completing one, or a
 * negative error with p->err_status set. */
static int net_parser_run(struct net_parser *p, const char *buf, size_t n, size_t *used)
{
	size_t off = 0;
	size_t chunk, got;
	size_t *counted;
	enum http_errno e;

	while (off < n) {
		chunk = n - off;
		/* Head and trailer bytes are metered; body bytes are not. */
		counted = p->in_head ? &p->head_bytes : p->in_trailer ? &p->trailer_bytes : NULL;
		if (counted != NULL) {
			if (*counted >= p->max_header_bytes) {
				net_parser_fail(p, 431);
				break;
			}
			if (chunk > p->max_header_bytes - *counted)
				chunk = p->max_header_bytes - *counted;
		}
		http_parser_pause(&p->hp, 0);
		got = http_parser_execute(&p->hp, &net_parse_settings, buf + off, chunk);
		/* Bytes eaten in the slice that ended the head are body bytes
		 * or the next request's: not counted, and not needed. */
		if (counted != NULL && (counted == &p->head_bytes ? p->in_head : 1))
			*counted += got;
		off += got;
		if (p->complete) {
			*used = off;
			return 0;
		}
		if (p->at_head && p->err_status == 0) {
			*used = off;
			return NET_PARSE_HEAD;
		}
		e = HTTP_PARSER_ERRNO(&p->hp);
		if (e == HPE_PAUSED && p->err_status == 0)
			continue; /* stopped at the last chunk; go on metered */
		if (e != HPE_OK || p->err_status != 0) {
			net_parser_fail(p, e == HPE_HEADER_OVERFLOW ? 431 : 400);
			break;
		}
		if (got < chunk) {
			/* http-parser stops early only on upgrade or error. */
			net_parser_fail(p, 400);
			break;
		}
	}
	*used = off;
	return p->err_status != 0 ? net_parser_status_rc(p->err_status) : PL_AGAIN;
}

/* Keeps data[0..n) for the next call, after any bytes already kept. */
static int net_parser_hold(struct net_parser *p, const char *data, size_t n)
{
	size_t keep = p->held.len - p->held_off;

	if (p->held_off > 0) {
		memmove(p->held.data, p->held.data + p->held_off, keep);
		p->held.len = keep;
		p->held_off = 0;
	}
	if (net_dbuf_add(&p->held, data, n) < 0)
		return net_parser_fail(p, n > NET_PARSE_HELD_MAX - keep ? 413 : 500);
	return 0;
}

void net_parser_init(struct net_parser *p, size_t max_header_bytes, size_t max_body_bytes)
{
	memset(p, 0, sizeof(*p));
	if (max_header_bytes > NET_PARSE_LIMIT_CAP)
		max_header_bytes = NET_PARSE_LIMIT_CAP;
	if (max_body_bytes > NET_PARSE_LIMIT_CAP)
		max_body_bytes = NET_PARSE_LIMIT_CAP;
	p->max_header_bytes = max_header_bytes;
	p->max_body_bytes = max_body_bytes;
	http_parser_init(&p->hp, HTTP_REQUEST);
	p->hp.data = p;
	net_dbuf_init(&p->held, NET_PARSE_HELD_MAX);
	net_dbuf_init(&p->target, max_header_bytes);
	net_dbuf_init(&p->auth, max_header_bytes);
	net_dbuf_init(&p->ctype, max_header_bytes);
	net_dbuf_init(&p->upgrade, max_header_bytes);
	net_dbuf_init(&p->conn, max_header_bytes);
	net_dbuf_init(&p->ws_key, max_header_bytes);
	net_dbuf_init(&p->ws_version, max_header_bytes);
	net_dbuf_init(&p->range, max_header_bytes);
	net_dbuf_init(&p->if_range, max_header_bytes);
	net_dbuf_init(&p->inm, max_header_bytes);
	net_dbuf_init(&p->body, max_body_bytes);
	net_parser_clear_msg(p);
}

void net_parser_release(struct net_parser *p)
{
	net_parser_clear_msg(p);
	net_dbuf_free(&p->held);
	p->held_off = 0;
}

int net_parser_next(struct net_parser *p, const char *data, size_t len,
		    struct net_parsed_req *req, int *status)
{
	size_t used = 0;
	int rc;

	memset(req, 0, sizeof(*req));
	*status = 0;
	if (p->dead_status != 0) {
		rc = net_parser_status_rc(p->dead_status);
		goto out;
	}
	if (p->closed && (len > 0 || p->held_off < p->held.len)) {
		rc = net_parser_fail(p, 400);
		goto out;
	}
	/* Stopped at a head the caller has not decided on: keep the bytes. */
	if (p->at_head) {
		rc = len > 0 && net_parser_hold(p, data, len) < 0 ? PL_ERR : NET_PARSE_HEAD;
		goto out;
	}
	/* New bytes queue up behind kept ones. */
	if (len > 0 && p->held_off < p->held.len) {
		if (net_parser_hold(p, data, len) < 0) {
			rc = PL_ERR;
			goto out;
		}
		len = 0;
	}
	if (p->held_off < p->held.len) {
		rc = net_parser_run(p, p->held.data + p->held_off, p->held.len - p->held_off, &used);
		p->held_off += used;
		if (p->held_off == p->held.len) {
			net_dbuf_free(&p->held);
			p->held_off = 0;
		}
		if (rc != PL_AGAIN)
			goto out;
	}
	rc = PL_AGAIN;
	if (len > 0) {
		rc = net_parser_run(p, data, len, &used);
		if (rc >= 0 && used < len && net_parser_hold(p, data + used, len - used) < 0)
			rc = PL_ERR;
	}
out:
	if (rc == NET_PARSE_HEAD && !p->head_taken) {
		if (net_parser_emit_head(p, &p->head) < 0) {
			net_parsed_req_release(&p->head);
			p->err_status = 500;
			rc = PL_ERR;
		} else {
			p->head_taken = 1;
		}
	}
	if (rc == 0 && p->streaming) {
		rc = net_parser_emit(p, req) < 0 ? PL_ERR : NET_PARSE_END;
	} else if (rc == 0) {
		rc = net_parser_emit(p, req);
	}
	if (rc < 0 && rc != PL_AGAIN) {
		if (p->err_status == 0)
			p->err_status = 500;
		p->dead_status = p->err_status;
		*status = p->dead_status;
		rc = net_parser_status_rc(p->dead_status);
	}
	return rc;
}

int net_parser_started(const struct net_parser *p)
{
	return p->started || p->held_off < p->held.len;
}

int net_parser_take_held(struct net_parser *p, char **data, size_t *len)
{
	size_t n = p->held.len - p->held_off;

	*data = NULL;
	*len = 0;
	if (n > 0) {
		if ((*data = malloc(n)) == NULL)
			return PL_NOMEM;
		memcpy(*data, p->held.data + p->held_off, n);
		*len = n;
	}
	net_dbuf_free(&p->held);
	p->held_off = 0;
	return 0;
}

void net_parser_set_head_stop(struct net_parser *p, int on)
{
	p->head_stop = on != 0;
}

const struct net_parsed_req *net_parser_head(const struct net_parser *p)
{
	return p->at_head && p->head_taken ? &p->head : NULL;
}

/* The announced Content-Length of the request at a head, or -1. */
static int64_t net_parser_clen(const struct net_parser *p)
{
	if (!(p->hp.flags & F_CONTENTLENGTH) || (p->hp.flags & F_CHUNKED))
		return -1;
	return (int64_t)p->hp.content_length;
}

int net_parser_buffer(struct net_parser *p, int *status)
{
	int64_t clen = net_parser_clen(p);
	int rc;

	*status = 0;
	if (p->dead_status != 0 || !p->at_head)
		return net_parser_die(p, p->dead_status ? p->dead_status : 500, status);
	if (clen > 0 && (uint64_t)clen > p->max_body_bytes)
		return net_parser_die(p, 413, status);
	if (clen > 0 && (rc = net_dbuf_reserve(&p->body, (size_t)clen)) < 0)
		return net_parser_die(p, rc == PL_TOOBIG ? 413 : 500, status);
	p->at_head = 0;
	return 0;
}

int net_parser_stream(struct net_parser *p, uint64_t max, net_parse_body_cb cb, void *ctx,
		      struct net_parsed_req *req, int *status)
{
	int64_t clen = net_parser_clen(p);
	char *empty;

	*status = 0;
	if (p->dead_status != 0 || !p->at_head || !p->head_taken || cb == NULL)
		return net_parser_die(p, p->dead_status ? p->dead_status : 500, status);
	if (clen > 0 && (uint64_t)clen > max)
		return net_parser_die(p, 413, status);
	if ((empty = calloc(1, 1)) == NULL)
		return net_parser_die(p, 500, status);
	*req = p->head;
	req->body = empty;
	req->body_len = 0;
	memset(&p->head, 0, sizeof(p->head));
	p->head_taken = 0;
	p->at_head = 0;
	p->streaming = 1;
	p->stream_max = max;
	p->stream_got = 0;
	p->body_cb = cb;
	p->body_ctx = ctx;
	return 0;
}

int net_parser_take_continue(struct net_parser *p)
{
	int want = p->want_continue;

	p->want_continue = 0;
	return want;
}

void net_parsed_req_release(struct net_parsed_req *req)
{
	free(req->target);
	free(req->authorization);
	free(req->content_type);
	free(req->upgrade);
	free(req->connection);
	free(req->ws_key);
	free(req->ws_version);
	free(req->range);
	free(req->if_range);
	free(req->if_none_match);
	free(req->body);
	memset(req, 0, sizeof(*req));
}
