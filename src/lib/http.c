/*
 * http.c — libparley's HTTP/1.1 transport: one blocking, poll-driven
 * keep-alive connection per client.
 *
 * A request is written whole, then the reply is read into a bounded input
 * buffer and parsed incrementally (status line, headers, then a body framed
 * by Content-Length, chunked transfer coding, or the end of the connection).
 * One deadline covers the whole request, connect included.
 *
 * Reconnect rule: a server may close an idle keep-alive connection at any
 * moment.  If the connection we reused turns out closed (send fails with
 * EPIPE/ECONNRESET, or EOF/reset before any reply byte), the request is sent
 * once more on a fresh connection.  After a reply byte has arrived nothing is
 * retried: the server may have acted on the request.
 *
 * Streamed transfers (files.c): a request body may go on with the bytes of
 * a file, read with pread in HTTP_READ_CHUNK pieces (so that a retry sends
 * them again from the start), and a 2xx reply's body may go to a sink
 * instead of memory, with no size limit.  Their deadline is one of
 * progress: every wait may last the client's timeout.
 */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "lib/parley_int.h"

#define HTTP_READ_CHUNK 16384u                            /* bytes per recv() */
#define HTTP_IN_MAX (PARLEY_HEADERS_MAX + HTTP_READ_CHUNK) /* unparsed input held */
#define HTTP_LINE_MAX 1024u                               /* chunk-size line */
#define HTTP_REQ_HEAD_MAX 4096u                           /* request head we build */

#ifndef MSG_NOSIGNAL
#define MSG_NOSIGNAL 0
#endif

/* Internal results, never returned from the public API. */
#define HTTP_CLOSED_EARLY (-100) /* peer closed before any reply byte: retryable */
#define HTTP_NEED 1              /* the parser needs more input */
#define HTTP_DONE 2              /* the reply is complete */

enum http_state {
	HS_HEAD,
	HS_BODY_LEN,
	HS_CHUNK_SIZE,
	HS_CHUNK_DATA,
	HS_CHUNK_CRLF,
	HS_TRAILER,
	HS_BODY_EOF,
	HS_DONE,
};

struct http_parser {
	const struct parley_http_req *req;
	struct parley_http_resp *resp;
	uint64_t sunk;      /* body bytes handed to req->sink */
	int state;          /* enum http_state */
	int status;
	int keep_alive;     /* the connection may carry another request */
	int no_body;        /* the request was HEAD */
	int chunked;
	int has_len;
	uint64_t length;    /* Content-Length */
	uint64_t remaining; /* bytes left of the body or current chunk */
	size_t trailer;     /* trailer bytes seen */
	size_t received;    /* bytes received in total */
};

/* --- time and waiting ------------------------------------------------ */

int64_t parley_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int parley_fd_wait(int fd, short events, int64_t deadline, const volatile sig_atomic_t *stop)
{
	struct pollfd pfd;
	int n, ms;

	for (;;) {
		if (stop && *stop)
			return PARLEY_ECANCELED;
		ms = -1;
		if (deadline) {
			int64_t left = deadline - parley_now_ms();

			if (left <= 0)
				return PARLEY_ETIMEDOUT;
			ms = left > INT32_MAX ? INT32_MAX : (int)left;
		}
		pfd.fd = fd;
		pfd.events = events;
		pfd.revents = 0;
		n = poll(&pfd, 1, ms);
		if (n > 0)
			return 0; /* ready, or an error the next call will report */
		if (n == 0)
			return PARLEY_ETIMEDOUT;
		if (errno != EINTR)
			return PARLEY_ENETWORK;
	}
}

/* The deadline of one wait: the request's, or during a streamed transfer
 * the client's timeout from now. */
static int64_t http_wait_deadline(const struct parley_client *c, int64_t deadline)
{
	return c->io_idle_ms > 0 ? parley_now_ms() + c->io_idle_ms : deadline;
}

static int http_timeout(struct parley_client *c, struct parley_error *err)
{
	return parley_error_set(err, PARLEY_ETIMEDOUT, "no reply from %s within %d ms", c->server,
				c->timeout_ms);
}

/* --- connecting ------------------------------------------------------ */

void parley_http_close(struct parley_client *c)
{
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	c->fd_requests = 0;
}

/* Tries one address: a non-blocking connect waited for until deadline.
 * Returns the socket, or -1 with *why set to an errno value (ETIMEDOUT for
 * the deadline). */
static int http_connect_one(const struct addrinfo *ai, int64_t deadline, int *why)
{
	int fd, rc, soerr = 0, one = 1;
	socklen_t slen = sizeof(soerr);

	fd = socket(ai->ai_family, ai->ai_socktype, ai->ai_protocol);
	if (fd < 0)
		goto fail;
	if (fcntl(fd, F_SETFD, FD_CLOEXEC) < 0 || fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) < 0)
		goto fail;
	if (connect(fd, ai->ai_addr, ai->ai_addrlen) < 0) {
		if (errno != EINPROGRESS && errno != EINTR)
			goto fail;
		rc = parley_fd_wait(fd, POLLOUT, deadline, NULL);
		if (rc == PARLEY_ETIMEDOUT) {
			errno = ETIMEDOUT;
			goto fail;
		}
		if (rc < 0 || getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &slen) < 0)
			goto fail;
		if (soerr) {
			errno = soerr;
			goto fail;
		}
	}
	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	return fd;
fail:
	*why = errno;
	if (fd >= 0)
		close(fd);
	return -1;
}

int parley_tcp_connect(const struct parley_url *url, const char *server, int64_t deadline, int *fd,
		       struct parley_error *err)
{
	struct addrinfo hints, *res = NULL;
	char msg[128];
	int rc, why = 0;

	*fd = -1;
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICSERV;
	rc = getaddrinfo(url->host, url->port, &hints, &res);
	if (rc != 0)
		return parley_error_set(err, PARLEY_ENETWORK, "cannot resolve %s: %s", url->host, gai_strerror(rc));
	for (const struct addrinfo *ai = res; ai && *fd < 0; ai = ai->ai_next)
		*fd = http_connect_one(ai, deadline, &why);
	freeaddrinfo(res);
	if (*fd >= 0)
		return 0;
	if (why == ETIMEDOUT && deadline && parley_now_ms() >= deadline)
		return parley_error_set(err, PARLEY_ETIMEDOUT, "cannot connect to %s in time", server);
	if (strerror_r(why, msg, sizeof(msg)) != 0)
		snprintf(msg, sizeof(msg), "error %d", why);
	return parley_error_set(err, PARLEY_ENETWORK, "cannot connect to %s: %s", server, msg);
}

/* Opens c->fd to the server. */
static int http_connect(struct parley_client *c, int64_t deadline, struct parley_error *err)
{
	int rc = parley_tcp_connect(&c->url, c->server, deadline, &c->fd, err);

	if (rc == PARLEY_ETIMEDOUT)
		return http_timeout(c, err);
	if (rc < 0)
		return rc;
	c->fd_requests = 0;
	c->connects++;
	return 0;
}

/* A kept-alive connection that is readable while idle was closed by the
 * server (or holds bytes nobody asked for): either way, do not reuse it. */
static int http_conn_stale(int fd)
{
	struct pollfd pfd = {.fd = fd, .events = POLLIN, .revents = 0};

	return poll(&pfd, 1, 0) != 0;
}

/* --- sending --------------------------------------------------------- */

/* Checks that s has only visible ASCII (no CR/LF: no header injection). */
static int http_visible(const char *s, int allow_space)
{
	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;

		if (ch > 0x7e || ch < 0x20 || (ch == ' ' && !allow_space))
			return 0;
	}
	return 1;
}

static int http_build(struct parley_client *c, const struct parley_http_req *req, struct parley_buf *out,
		      struct parley_error *err)
{
	int rc;

	if (!http_visible(req->method, 0) || !*req->method || req->path[0] != '/' ||
	    !http_visible(req->path, 0) || (req->content_type && !http_visible(req->content_type, 1)))
		return parley_error_set(err, PARLEY_EINVAL, "invalid HTTP method, path or content type");
	if (req->body_len > PARLEY_REQUEST_MAX || req->tail_len > PARLEY_REQUEST_MAX)
		return parley_error_set(err, PARLEY_ETOOBIG, "request body larger than %u bytes",
					PARLEY_REQUEST_MAX);
	if (req->range && !http_visible(req->range, 1))
		return parley_error_set(err, PARLEY_EINVAL, "invalid Range header");
	parley_buf_init(out, HTTP_REQ_HEAD_MAX + PARLEY_REQUEST_MAX);
	rc = parley_buf_addf(out, "%s %s%s HTTP/1.1\r\nHost: %s%s%s%s%s\r\n", req->method, c->url.prefix,
			     req->path, c->url.ipv6 ? "[" : "", c->url.host, c->url.ipv6 ? "]" : "",
			     strcmp(c->url.port, "80") ? ":" : "", strcmp(c->url.port, "80") ? c->url.port : "");
	if (rc == 0)
		rc = parley_buf_adds(out, "User-Agent: libparley/" PARLEY_VERSION "\r\n"
					  "Accept: application/json\r\nConnection: keep-alive\r\n");
	if (rc == 0 && c->token[0])
		rc = parley_buf_addf(out, "Authorization: Bearer %s\r\n", c->token);
	if (rc == 0 && req->content_type)
		rc = parley_buf_addf(out, "Content-Type: %s\r\n", req->content_type);
	if (rc == 0 && req->range)
		rc = parley_buf_addf(out, "Range: %s\r\n", req->range);
	if (rc == 0 && (req->body_len || req->content_type || req->body_fd_len || req->tail_len))
		rc = parley_buf_addf(out, "Content-Length: %llu\r\n",
				     (unsigned long long)(req->body_len + req->body_fd_len + req->tail_len));
	if (rc == 0)
		rc = parley_buf_add(out, "\r\n", 2);
	if (rc == 0 && req->body_len)
		rc = parley_buf_add(out, req->body, req->body_len);
	if (rc < 0) {
		parley_buf_release(out);
		return parley_error_set(err, rc, "cannot build the request: %s", parley_strerror(rc));
	}
	return 0;
}

static int http_send_bytes(struct parley_client *c, const char *p, size_t len, int64_t deadline,
			   struct parley_error *err)
{
	size_t off = 0;
	ssize_t n;
	int rc;

	while (off < len) {
		n = send(c->fd, p + off, len - off, MSG_NOSIGNAL);
		if (n > 0) {
			off += (size_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			if ((rc = parley_fd_wait(c->fd, POLLOUT, http_wait_deadline(c, deadline), NULL)) == PARLEY_ETIMEDOUT)
				return http_timeout(c, err);
			if (rc < 0)
				return parley_error_set(err, rc, "poll failed while sending");
			continue;
		}
		if (n < 0 && (errno == EPIPE || errno == ECONNRESET))
			return HTTP_CLOSED_EARLY;
		return parley_error_set(err, PARLEY_ENETWORK, "send to %s failed: %s", c->server,
					n < 0 ? strerror(errno) : "no progress");
	}
	return 0;
}

/* Sends the request: the built head and body, the file's bytes, the tail. */
static int http_send_all(struct parley_client *c, const struct parley_http_req *req, const struct parley_buf *out,
			 int64_t deadline, struct parley_error *err)
{
	char buf[HTTP_READ_CHUNK];
	uint64_t off = 0, total = req->body_fd_len;
	int rc;

	if ((rc = http_send_bytes(c, out->p, out->len, deadline, err)) != 0)
		return rc;
	while (off < total) {
		size_t want = total - off < sizeof(buf) ? (size_t)(total - off) : sizeof(buf);
		ssize_t n = pread(req->body_fd, buf, want, (off_t)off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return parley_error_set(err, PARLEY_EIO, "cannot read the file to send: %s",
						n < 0 ? strerror(errno) : "it is shorter than it was");
		if ((rc = http_send_bytes(c, buf, (size_t)n, deadline, err)) != 0)
			return rc;
		off += (uint64_t)n;
		if (req->progress && req->progress(req->progress_ctx, off, total) != 0)
			return parley_error_set(err, PARLEY_ECANCELED, "cancelled");
	}
	return req->tail_len ? http_send_bytes(c, req->tail, req->tail_len, deadline, err) : 0;
}

/* --- parsing the reply ----------------------------------------------- */

/* Offset of the first "\r\n" in p[from..n), or -1. */
static long http_find_crlf(const char *p, size_t from, size_t n)
{
	for (size_t i = from; i + 1 < n; i++)
		if (p[i] == '\r' && p[i + 1] == '\n')
			return (long)i;
	return -1;
}

/* Offset just past the first "\r\n\r\n" in p[0..n), or 0. */
static size_t http_find_head_end(const char *p, size_t n)
{
	for (size_t i = 0; i + 3 < n; i++)
		if (p[i] == '\r' && p[i + 1] == '\n' && p[i + 2] == '\r' && p[i + 3] == '\n')
			return i + 4;
	return 0;
}

int parley_http_has_token(const char *v, size_t n, const char *tok)
{
	size_t tlen = strlen(tok), i = 0;

	while (i < n) {
		size_t j = i, e;

		while (j < n && v[j] != ',')
			j++;
		e = j;
		while (i < e && (v[i] == ' ' || v[i] == '\t'))
			i++;
		while (e > i && (v[e - 1] == ' ' || v[e - 1] == '\t'))
			e--;
		if (e - i == tlen && strncasecmp(v + i, tok, tlen) == 0)
			return 1;
		i = j + 1;
	}
	return 0;
}

/* "HTTP/1.x NNN reason" */
static int http_parse_status(struct http_parser *p, const char *l, size_t n)
{
	if (n < 12 || memcmp(l, "HTTP/1.", 7) != 0 || (l[7] != '0' && l[7] != '1') || l[8] != ' ')
		return PARLEY_EPROTO;
	for (int i = 9; i < 12; i++)
		if (l[i] < '0' || l[i] > '9')
			return PARLEY_EPROTO;
	if (n > 12 && l[12] != ' ')
		return PARLEY_EPROTO;
	p->status = (l[9] - '0') * 100 + (l[10] - '0') * 10 + (l[11] - '0');
	p->keep_alive = l[7] == '1';
	return 0;
}

/* May the body of this reply go to the request's sink (a 2xx)? */
static int http_sinking(const struct http_parser *p)
{
	return p->req->sink != NULL && p->status >= 200 && p->status < 300;
}

/* Copies a header value into dst (PARLEY_HEADER_VALUE_MAX bytes), or "" if
 * it does not fit. */
static void http_keep_value(char *dst, const char *v, size_t n)
{
	if (n >= PARLEY_HEADER_VALUE_MAX)
		n = 0;
	memcpy(dst, v, n);
	dst[n] = '\0';
}

static int http_parse_length(struct http_parser *p, const char *v, size_t n)
{
	uint64_t len = 0, max = http_sinking(p) ? (UINT64_MAX - 10) / 10 : PARLEY_RESPONSE_MAX;

	if (n == 0)
		return PARLEY_EPROTO;
	for (size_t i = 0; i < n; i++) {
		if (v[i] < '0' || v[i] > '9')
			return PARLEY_EPROTO;
		len = len * 10 + (uint64_t)(v[i] - '0');
		if (len > max)
			return PARLEY_ETOOBIG;
	}
	if (p->has_len && p->length != len)
		return PARLEY_EPROTO; /* conflicting duplicates */
	p->has_len = 1;
	p->length = len;
	return 0;
}

/* One "Name: value" line. */
static int http_parse_header(struct http_parser *p, const char *l, size_t n)
{
	const char *colon = memchr(l, ':', n), *v;
	size_t nlen, vlen;

	if (!colon || colon == l || l[0] == ' ' || l[0] == '\t')
		return PARLEY_EPROTO;
	nlen = (size_t)(colon - l);
	v = colon + 1;
	vlen = n - nlen - 1;
	while (vlen && (*v == ' ' || *v == '\t'))
		v++, vlen--;
	while (vlen && (v[vlen - 1] == ' ' || v[vlen - 1] == '\t'))
		vlen--;
	if (nlen == 14 && strncasecmp(l, "Content-Length", nlen) == 0)
		return http_parse_length(p, v, vlen);
	if (nlen == 17 && strncasecmp(l, "Transfer-Encoding", nlen) == 0) {
		/* We send no TE header, so chunked must be the only coding. */
		if (!(vlen == 7 && strncasecmp(v, "chunked", 7) == 0))
			return PARLEY_EPROTO;
		p->chunked = 1;
	} else if (nlen == 4 && strncasecmp(l, "ETag", nlen) == 0) {
		http_keep_value(p->resp->etag, v, vlen);
	} else if (nlen == 13 && strncasecmp(l, "Content-Range", nlen) == 0) {
		http_keep_value(p->resp->content_range, v, vlen);
	} else if (nlen == 10 && strncasecmp(l, "Connection", nlen) == 0) {
		if (parley_http_has_token(v, vlen, "close"))
			p->keep_alive = 0;
		else if (parley_http_has_token(v, vlen, "keep-alive"))
			p->keep_alive = 1;
	}
	return 0;
}

/* Parses the head if complete, consumes it and picks the body framing. */
static int http_parse_head(struct http_parser *p, struct parley_buf *in)
{
	size_t end = http_find_head_end(in->p, in->len), off = 0;
	int rc = 0;

	if (!end)
		return in->len >= PARLEY_HEADERS_MAX ? PARLEY_ETOOBIG : HTTP_NEED;
	if (end > PARLEY_HEADERS_MAX)
		return PARLEY_ETOOBIG;
	p->has_len = p->chunked = 0;
	for (int first = 1; rc == 0 && off + 2 < end; first = 0) {
		size_t eol = (size_t)http_find_crlf(in->p, off, end);

		rc = first ? http_parse_status(p, in->p + off, eol - off)
			   : http_parse_header(p, in->p + off, eol - off);
		off = eol + 2;
	}
	parley_buf_consume(in, end);
	if (rc < 0)
		return rc;
	p->resp->status = p->status; /* a sink may look at it */
	if (p->status < 200) {
		p->state = HS_HEAD; /* an interim 1xx reply: the real one follows */
	} else if (p->no_body || p->status == 204 || p->status == 304) {
		p->state = HS_DONE;
	} else if (p->chunked) {
		p->state = HS_CHUNK_SIZE;
	} else if (p->has_len) {
		p->resp->content_length = (int64_t)p->length;
		p->remaining = p->length;
		p->state = p->length ? HS_BODY_LEN : HS_DONE;
	} else {
		p->state = HS_BODY_EOF; /* framed by the end of the connection */
		p->keep_alive = 0;
	}
	return 0;
}

/* "hex[;ext]\r\n" */
static int http_parse_chunk_size(struct http_parser *p, struct parley_buf *in, const struct parley_buf *body)
{
	long eol = http_find_crlf(in->p, 0, in->len);
	uint64_t size = 0;
	long i;

	if (eol < 0)
		return in->len > HTTP_LINE_MAX ? PARLEY_EPROTO : HTTP_NEED;
	for (i = 0; i < eol; i++) {
		int ch = (unsigned char)in->p[i], d;

		if (ch >= '0' && ch <= '9')
			d = ch - '0';
		else if (ch >= 'a' && ch <= 'f')
			d = ch - 'a' + 10;
		else if (ch >= 'A' && ch <= 'F')
			d = ch - 'A' + 10;
		else
			break;
		size = size * 16 + (uint64_t)d;
		if (http_sinking(p) ? size > UINT64_MAX / 32 : size > PARLEY_RESPONSE_MAX - body->len)
			return PARLEY_ETOOBIG;
	}
	if (i == 0 || (i < eol && in->p[i] != ';' && in->p[i] != ' ' && in->p[i] != '\t'))
		return PARLEY_EPROTO;
	parley_buf_consume(in, (size_t)eol + 2);
	p->remaining = size;
	p->state = size ? HS_CHUNK_DATA : HS_TRAILER;
	return 0;
}

/* Moves up to p->remaining body bytes from in to body. */
static int http_take_body(struct http_parser *p, struct parley_buf *in, struct parley_buf *body)
{
	size_t n = in->len;
	int rc;

	if (p->state != HS_BODY_EOF && (uint64_t)n > p->remaining)
		n = (size_t)p->remaining;
	if (http_sinking(p)) {
		if (n > 0 && p->req->sink(p->req->sink_ctx, in->p, n) != 0)
			return PARLEY_ECANCELED;
		p->sunk += n;
		if (p->req->progress && p->req->progress(p->req->progress_ctx, p->sunk, p->resp->content_length > 0
										      ? (uint64_t)p->resp->content_length
										      : 0) != 0)
			return PARLEY_ECANCELED;
	} else if ((rc = parley_buf_add(body, in->p, n)) < 0) {
		return rc;
	}
	parley_buf_consume(in, n);
	if (p->state != HS_BODY_EOF)
		p->remaining -= n;
	return 0;
}

/* Trailer lines after the last chunk, up to an empty line. */
static int http_parse_trailer(struct http_parser *p, struct parley_buf *in)
{
	long eol = http_find_crlf(in->p, 0, in->len);

	if (eol < 0)
		return in->len > PARLEY_HEADERS_MAX ? PARLEY_ETOOBIG : HTTP_NEED;
	p->trailer += (size_t)eol + 2;
	if (p->trailer > PARLEY_HEADERS_MAX)
		return PARLEY_ETOOBIG;
	parley_buf_consume(in, (size_t)eol + 2);
	if (eol == 0)
		p->state = HS_DONE;
	return 0;
}

/* Runs the parser over the input held in in.  Returns HTTP_DONE, HTTP_NEED
 * or a negative parley_rc. */
static int http_parse(struct http_parser *p, struct parley_buf *in, struct parley_buf *body)
{
	int rc = 0;

	while (rc == 0) {
		switch (p->state) {
		case HS_HEAD:
			rc = http_parse_head(p, in);
			break;
		case HS_BODY_LEN:
		case HS_CHUNK_DATA:
		case HS_BODY_EOF:
			if (in->len == 0)
				return HTTP_NEED;
			rc = http_take_body(p, in, body);
			if (rc == 0 && p->state != HS_BODY_EOF && p->remaining == 0)
				p->state = p->state == HS_BODY_LEN ? HS_DONE : HS_CHUNK_CRLF;
			break;
		case HS_CHUNK_SIZE:
			rc = http_parse_chunk_size(p, in, body);
			break;
		case HS_CHUNK_CRLF:
			if (in->len < 2)
				return HTTP_NEED;
			if (in->p[0] != '\r' || in->p[1] != '\n')
				return PARLEY_EPROTO;
			parley_buf_consume(in, 2);
			p->state = HS_CHUNK_SIZE;
			break;
		case HS_TRAILER:
			rc = http_parse_trailer(p, in);
			break;
		default:
			return HTTP_DONE;
		}
	}
	return rc;
}

static int http_parse_fail(struct parley_client *c, int rc, struct parley_error *err)
{
	if (rc == PARLEY_ETOOBIG)
		return parley_error_set(err, rc, "the reply from %s is larger than the limit (%u MiB body, %u KiB headers)",
					c->server, PARLEY_RESPONSE_MAX >> 20, PARLEY_HEADERS_MAX >> 10);
	if (rc == PARLEY_ENOMEM)
		return parley_error_set(err, rc, "out of memory reading the reply");
	if (rc == PARLEY_ECANCELED)
		return parley_error_set(err, rc, "the transfer was stopped");
	return parley_error_set(err, PARLEY_EPROTO, "malformed HTTP reply from %s", c->server);
}

/* One recv() into in.  Returns bytes read, 0 at EOF, or a negative result. */
static long http_recv_some(struct parley_client *c, struct parley_buf *in, int64_t deadline,
			   struct parley_error *err)
{
	size_t want = in->max - in->len;
	ssize_t n;
	int rc;

	if (want > HTTP_READ_CHUNK)
		want = HTTP_READ_CHUNK;
	if (want == 0 || (rc = parley_buf_reserve(in, want)) < 0)
		return http_parse_fail(c, want ? rc : PARLEY_ETOOBIG, err);
	for (;;) {
		n = recv(c->fd, in->p + in->len, want, 0);
		if (n >= 0)
			break;
		if (errno == EINTR)
			continue;
		if (errno == ECONNRESET)
			return HTTP_CLOSED_EARLY; /* the caller decides if that is early */
		if (errno != EAGAIN && errno != EWOULDBLOCK)
			return parley_error_set(err, PARLEY_ENETWORK, "receive from %s failed: %s", c->server,
						strerror(errno));
		if ((rc = parley_fd_wait(c->fd, POLLIN, http_wait_deadline(c, deadline), NULL)) == PARLEY_ETIMEDOUT)
			return http_timeout(c, err);
		if (rc < 0)
			return parley_error_set(err, rc, "poll failed while receiving");
	}
	in->len += (size_t)n;
	in->p[in->len] = '\0';
	return (long)n;
}

/* Reads and parses the whole reply into resp. */
static int http_read_reply(struct parley_client *c, struct http_parser *p, struct parley_http_resp *resp,
			   int64_t deadline, struct parley_error *err)
{
	struct parley_buf in;
	long n;
	int rc;

	parley_buf_init(&in, HTTP_IN_MAX);
	for (;;) {
		rc = http_parse(p, &in, &resp->body);
		if (rc < 0) {
			rc = http_parse_fail(c, rc, err);
			break;
		}
		if (rc == HTTP_DONE) {
			rc = 0;
			if (in.len)
				p->keep_alive = 0; /* bytes nobody asked for: do not trust the stream */
			break;
		}
		n = http_recv_some(c, &in, deadline, err);
		if (n > 0) {
			p->received += (size_t)n;
			continue;
		}
		if (n == 0 && p->state == HS_BODY_EOF) {
			p->state = HS_DONE;
			continue;
		}
		if ((n == 0 || n == HTTP_CLOSED_EARLY) && p->received == 0) {
			rc = HTTP_CLOSED_EARLY;
		} else if (n == 0 || n == HTTP_CLOSED_EARLY) {
			rc = parley_error_set(err, PARLEY_ENETWORK, "%s closed the connection in the middle of a reply",
					      c->server);
		} else {
			rc = (int)n;
		}
		break;
	}
	parley_buf_release(&in);
	resp->status = p->status;
	return rc;
}

/* --- one request ----------------------------------------------------- */

/* Makes sure c has a connection; returns 1 if it reuses a kept-alive one,
 * 0 for a fresh one, or a negative parley_rc. */
static int http_ready(struct parley_client *c, int64_t deadline, struct parley_error *err)
{
	int rc;

	if (c->fd >= 0 && http_conn_stale(c->fd))
		parley_http_close(c);
	if (c->fd >= 0)
		return 1;
	rc = http_connect(c, deadline, err);
	return rc < 0 ? rc : 0;
}

int parley_http_do(struct parley_client *c, const struct parley_http_req *req,
		   struct parley_http_resp *resp, struct parley_error *err)
{
	struct parley_buf out;
	struct http_parser p;
	int64_t deadline = c->timeout_ms > 0 ? parley_now_ms() + c->timeout_ms : 0;
	int rc, reused;

	memset(&p, 0, sizeof(p));
	resp->status = 0;
	resp->etag[0] = resp->content_range[0] = '\0';
	resp->content_length = -1;
	parley_buf_init(&resp->body, PARLEY_RESPONSE_MAX);
	if ((rc = http_build(c, req, &out, err)) < 0)
		return rc;
	/* A streamed transfer has no deadline as a whole, only for progress. */
	if (req->sink || req->body_fd_len) {
		c->io_idle_ms = c->timeout_ms > 0 ? c->timeout_ms : PARLEY_TIMEOUT_DEFAULT_MS;
		deadline = parley_now_ms() + c->io_idle_ms; /* for connecting */
	}
	for (int attempt = 0;; attempt++) {
		if ((rc = reused = http_ready(c, deadline, err)) < 0)
			break;
		memset(&p, 0, sizeof(p));
		p.req = req;
		p.resp = resp;
		p.no_body = strcmp(req->method, "HEAD") == 0;
		rc = http_send_all(c, req, &out, deadline, err);
		if (rc == 0)
			rc = http_read_reply(c, &p, resp, deadline, err);
		if (rc != HTTP_CLOSED_EARLY || !reused || attempt > 0)
			break;
		parley_http_close(c); /* the idle connection had died: once more, fresh */
		resp->body.len = 0;
	}
	parley_buf_release(&out);
	c->io_idle_ms = 0;
	if (rc == HTTP_CLOSED_EARLY)
		rc = parley_error_set(err, PARLEY_ENETWORK, "%s closed the connection without replying", c->server);
	if (rc < 0 || !p.keep_alive)
		parley_http_close(c);
	else
		c->fd_requests++;
	return rc;
}
