/*
 * wsclient.c — a minimal blocking WebSocket client for the integration tests
 * (see wsclient.h).  It carries its own SHA-1 and base64, for the handshake's
 * Sec-WebSocket-Accept, so that it shares no code with the server it checks.
 *
 * The socket is non-blocking; every wait is a poll() against a deadline.
 * Received bytes collect in rx; complete frames are taken from its front.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "parley.h"
#include "wsclient.h"

#define WSC_DEFAULT_TIMEOUT_MS 10000
#define WSC_SEND_TIMEOUT_MS 10000    /* longest wait for the socket to take our bytes */
#define WSC_READ_CHUNK 65536
#define WSC_GUID "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

struct wsc {
	int fd;
	unsigned char *rx;         /* received, not yet consumed: rx[rpos..rlen) */
	size_t rpos, rlen, rcap;
	char *msg;                 /* a fragmented text message being reassembled */
	size_t mlen, mcap;
	int in_msg;
	json_t *queue;             /* messages read while waiting for a reply */
	int64_t next_id;
	int dead;                  /* the connection is over (close frame, EOF or error) */
	int close_code;
	char close_reason[WSC_REASON_MAX];
	uint64_t rng;
	unsigned long pings, pongs;
	char err[256];
};

static int wsc_recv_json(struct wsc *c, int64_t deadline, json_t **msg);

/* --- small helpers ------------------------------------------------------ */

static int64_t wsc_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void wsc_seterr(struct wsc *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void wsc_seterr(struct wsc *c, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(c->err, sizeof c->err, fmt, ap);
	va_end(ap);
}

static uint64_t wsc_rand(struct wsc *c)
{
	/* xorshift64*: masks and keys need to be unpredictable to proxies, not
	 * to attackers; this is a test client. */
	c->rng ^= c->rng >> 12;
	c->rng ^= c->rng << 25;
	c->rng ^= c->rng >> 27;
	return c->rng * 0x2545F4914F6CDD1DULL;
}

const char *wsc_strerror(int rc)
{
	switch (rc) {
	case WSC_OK: return "ok";
	case WSC_TIMEOUT: return "timeout";
	case WSC_CLOSED: return "connection closed";
	case WSC_EPROTO: return "protocol error";
	case WSC_ENET: return "network error";
	case WSC_ENOMEM: return "out of memory";
	case WSC_EHANDSHAKE: return "handshake refused";
	}
	return "unknown error";
}

/* --- SHA-1 (FIPS 180-4) and base64, for Sec-WebSocket-Accept ------------- */

struct wsc_sha1 {
	uint32_t h[5];
	uint64_t bytes;
	unsigned char block[64];
	size_t used;
};

static uint32_t rol32(uint32_t x, int n)
{
	return (x << n) | (x >> (32 - n));
}

static void sha1_block(struct wsc_sha1 *s, const unsigned char *p)
{
	uint32_t w[80], a = s->h[0], b = s->h[1], c = s->h[2], d = s->h[3], e = s->h[4];

	for (int i = 0; i < 16; i++)
		w[i] = (uint32_t)p[4 * i] << 24 | (uint32_t)p[4 * i + 1] << 16 | (uint32_t)p[4 * i + 2] << 8 |
		       p[4 * i + 3];
	for (int i = 16; i < 80; i++)
		w[i] = rol32(w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16], 1);
	for (int i = 0; i < 80; i++) {
		uint32_t f, k, t;
		if (i < 20) {
			f = (b & c) | (~b & d);
			k = 0x5A827999;
		} else if (i < 40) {
			f = b ^ c ^ d;
			k = 0x6ED9EBA1;
		} else if (i < 60) {
			f = (b & c) | (b & d) | (c & d);
			k = 0x8F1BBCDC;
		} else {
			f = b ^ c ^ d;
			k = 0xCA62C1D6;
		}
		t = rol32(a, 5) + f + e + k + w[i];
		e = d;
		d = c;
		c = rol32(b, 30);
		b = a;
		a = t;
	}
	s->h[0] += a;
	s->h[1] += b;
	s->h[2] += c;
	s->h[3] += d;
	s->h[4] += e;
}

static void sha1_add(struct wsc_sha1 *s, const void *data, size_t len)
{
	const unsigned char *p = data;

	s->bytes += len;
	while (len--) {
		s->block[s->used++] = *p++;
		if (s->used == 64) {
			sha1_block(s, s->block);
			s->used = 0;
		}
	}
}

static void wsc_sha1(const void *data, size_t len, unsigned char out[20])
{
	struct wsc_sha1 s = {{0x67452301, 0xEFCDAB89, 0x98BADCFE, 0x10325476, 0xC3D2E1F0}, 0, {0}, 0};
	uint64_t bits;
	unsigned char pad = 0x80, zero = 0, lenb[8];

	sha1_add(&s, data, len);
	bits = s.bytes * 8;
	sha1_add(&s, &pad, 1);
	while (s.used != 56)
		sha1_add(&s, &zero, 1);
	for (int i = 0; i < 8; i++)
		lenb[i] = (unsigned char)(bits >> (56 - 8 * i));
	sha1_add(&s, lenb, 8);
	for (int i = 0; i < 5; i++) {
		out[4 * i] = (unsigned char)(s.h[i] >> 24);
		out[4 * i + 1] = (unsigned char)(s.h[i] >> 16);
		out[4 * i + 2] = (unsigned char)(s.h[i] >> 8);
		out[4 * i + 3] = (unsigned char)s.h[i];
	}
}

/* Writes the base64 of in[0..len) and a NUL to out (4 * ceil(len / 3) + 1 bytes). */
static void wsc_base64(const unsigned char *in, size_t len, char *out)
{
	static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t i, o = 0;

	for (i = 0; i + 2 < len; i += 3) {
		uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
		out[o++] = tab[v >> 18];
		out[o++] = tab[(v >> 12) & 63];
		out[o++] = tab[(v >> 6) & 63];
		out[o++] = tab[v & 63];
	}
	if (i < len) {
		uint32_t v = (uint32_t)in[i] << 16 | (i + 1 < len ? (uint32_t)in[i + 1] << 8 : 0);
		out[o++] = tab[v >> 18];
		out[o++] = tab[(v >> 12) & 63];
		out[o++] = i + 1 < len ? tab[(v >> 6) & 63] : '=';
		out[o++] = '=';
	}
	out[o] = '\0';
}

/* --- UTF-8 (RFC 3629: no overlong forms, surrogates or > U+10FFFF) -------- */

static int wsc_utf8_valid(const unsigned char *s, size_t len)
{
	size_t i = 0;

	while (i < len) {
		unsigned char b = s[i];
		uint32_t cp;
		size_t n;

		if (b < 0x80) {
			i++;
			continue;
		}
		if (b >= 0xC2 && b <= 0xDF) {
			n = 1;
			cp = b & 0x1F;
		} else if (b >= 0xE0 && b <= 0xEF) {
			n = 2;
			cp = b & 0x0F;
		} else if (b >= 0xF0 && b <= 0xF4) {
			n = 3;
			cp = b & 0x07;
		} else {
			return 0;
		}
		if (len - i - 1 < n)
			return 0;
		for (size_t k = 1; k <= n; k++) {
			if ((s[i + k] & 0xC0) != 0x80)
				return 0;
			cp = cp << 6 | (s[i + k] & 0x3F);
		}
		if ((n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
			return 0;
		i += n + 1;
	}
	return 1;
}

/* --- socket I/O ------------------------------------------------------------- */

/* Sends all len bytes within WSC_SEND_TIMEOUT_MS. */
static int wsc_write(struct wsc *c, const void *p, size_t len)
{
	const char *s = p;
	int64_t deadline = wsc_now_ms() + WSC_SEND_TIMEOUT_MS;

	while (len > 0) {
		ssize_t k = send(c->fd, s, len, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (k > 0) {
			s += k;
			len -= (size_t)k;
			continue;
		}
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			struct pollfd pfd = {c->fd, POLLOUT, 0};
			int64_t left = deadline - wsc_now_ms();
			if (left <= 0) {
				wsc_seterr(c, "send: the server took no bytes for %d ms", WSC_SEND_TIMEOUT_MS);
				return WSC_TIMEOUT;
			}
			(void)poll(&pfd, 1, (int)left);
			continue;
		}
		wsc_seterr(c, "send: %s", k < 0 ? strerror(errno) : "nothing sent");
		return WSC_ENET;
	}
	return WSC_OK;
}

/* Reads what is there (waiting until deadline for something) into rx.
 * WSC_OK, WSC_TIMEOUT, or WSC_CLOSED on EOF / reset (marks c dead). */
static int wsc_fill(struct wsc *c, int64_t deadline)
{
	for (;;) {
		struct pollfd pfd = {c->fd, POLLIN, 0};
		int64_t left = deadline - wsc_now_ms();
		ssize_t k;
		int prc;

		if (c->rpos && c->rpos == c->rlen)
			c->rpos = c->rlen = 0;
		if (c->rcap - c->rlen < WSC_READ_CHUNK) {
			if (c->rpos) {
				memmove(c->rx, c->rx + c->rpos, c->rlen - c->rpos);
				c->rlen -= c->rpos;
				c->rpos = 0;
			}
			if (c->rcap - c->rlen < WSC_READ_CHUNK) {
				size_t ncap = c->rcap ? c->rcap * 2 : 2 * WSC_READ_CHUNK;
				unsigned char *n;
				if (ncap > (size_t)WSC_MESSAGE_MAX * 2) {
					wsc_seterr(c, "more than %u bytes buffered", WSC_MESSAGE_MAX * 2);
					return WSC_ENOMEM;
				}
				if (!(n = realloc(c->rx, ncap)))
					return WSC_ENOMEM;
				c->rx = n;
				c->rcap = ncap;
			}
		}
		k = recv(c->fd, c->rx + c->rlen, c->rcap - c->rlen, MSG_DONTWAIT);
		if (k > 0) {
			c->rlen += (size_t)k;
			return WSC_OK;
		}
		if (k == 0 || (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) {
			if (k < 0)
				wsc_seterr(c, "recv: %s", strerror(errno));
			else
				wsc_seterr(c, "the server closed the TCP connection");
			c->dead = 1;
			if (!c->close_code)
				c->close_code = 1006;
			return WSC_CLOSED;
		}
		if (left <= 0)
			return WSC_TIMEOUT;
		prc = poll(&pfd, 1, (int)(left > 1000000 ? 1000000 : left));
		if (prc < 0 && errno != EINTR) {
			wsc_seterr(c, "poll: %s", strerror(errno));
			return WSC_ENET;
		}
	}
}

/* --- connecting ----------------------------------------------------------- */

static int wsc_tcp(struct wsc *c, const char *base_url, const struct wsc_opts *o, int64_t deadline,
		   struct parley_url *u)
{
	struct addrinfo hints = {0}, *ai = NULL;
	int one = 1, rc, err = 0;
	socklen_t elen = sizeof err;
	char ebuf[128];

	if (parley_url_parse(base_url, u, ebuf, sizeof ebuf) < 0) {
		wsc_seterr(c, "bad URL %s: %s", base_url, ebuf);
		return WSC_ENET;
	}
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_family = u->ipv6 ? AF_INET6 : AF_UNSPEC;
	if ((rc = getaddrinfo(u->host, u->port, &hints, &ai)) != 0) {
		wsc_seterr(c, "resolve %s: %s", u->host, gai_strerror(rc));
		return WSC_ENET;
	}
	c->fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (c->fd < 0) {
		wsc_seterr(c, "socket: %s", strerror(errno));
		freeaddrinfo(ai);
		return WSC_ENET;
	}
	if (o->rcvbuf > 0)
		setsockopt(c->fd, SOL_SOCKET, SO_RCVBUF, &o->rcvbuf, sizeof o->rcvbuf);
	setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	rc = connect(c->fd, ai->ai_addr, ai->ai_addrlen);
	freeaddrinfo(ai);
	if (rc < 0 && errno != EINPROGRESS) {
		wsc_seterr(c, "connect: %s", strerror(errno));
		return WSC_ENET;
	}
	if (rc < 0) {
		struct pollfd pfd = {c->fd, POLLOUT, 0};
		int64_t left = deadline - wsc_now_ms();
		if (poll(&pfd, 1, left > 0 ? (int)left : 0) <= 0) {
			wsc_seterr(c, "connect: timed out");
			return WSC_TIMEOUT;
		}
		if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &elen) < 0 || err) {
			wsc_seterr(c, "connect: %s", strerror(err ? err : errno));
			return WSC_ENET;
		}
	}
	return WSC_OK;
}

/* Value of header name in the header block head (case-insensitive), copied
 * into out; 0 if present, -1 if not. */
static int wsc_header(const char *head, const char *name, char *out, size_t len)
{
	size_t n = strlen(name);

	for (const char *l = strstr(head, "\r\n"); l && l[2]; l = strstr(l + 2, "\r\n")) {
		const char *p = l + 2;
		if (strncasecmp(p, name, n) == 0 && p[n] == ':') {
			size_t k;
			p += n + 1;
			while (*p == ' ' || *p == '\t')
				p++;
			k = strcspn(p, "\r\n");
			while (k && (p[k - 1] == ' ' || p[k - 1] == '\t'))
				k--;
			if (k >= len)
				k = len - 1;
			memcpy(out, p, k);
			out[k] = '\0';
			return 0;
		}
	}
	return -1;
}

/* Does the comma-separated list contain token (case-insensitive)? */
static int wsc_list_has(const char *list, const char *token)
{
	size_t n = strlen(token);

	for (const char *p = list; *p;) {
		size_t k;
		while (*p == ' ' || *p == ',' || *p == '\t')
			p++;
		k = strcspn(p, ", \t");
		if (k == n && strncasecmp(p, token, n) == 0)
			return 1;
		p += k;
	}
	return 0;
}

/* Reads the handshake reply and checks it.  On success, the bytes after the
 * header block stay in rx. */
static int wsc_handshake_reply(struct wsc *c, const char *key, int64_t deadline, int *status, char *errbuf,
			       size_t errlen)
{
	char head[WSC_HEADERS_MAX + 1], val[256], expect[64], cat[128];
	unsigned char digest[20];
	size_t hlen = 0;
	int rc;

	for (;;) {
		unsigned char *end = NULL;
		for (size_t i = c->rpos; i + 4 <= c->rlen; i++)
			if (memcmp(c->rx + i, "\r\n\r\n", 4) == 0) {
				end = c->rx + i;
				break;
			}
		if (end) {
			hlen = (size_t)(end - (c->rx + c->rpos)) + 4;
			break;
		}
		if (c->rlen - c->rpos > WSC_HEADERS_MAX) {
			wsc_seterr(c, "handshake reply headers longer than %d bytes", WSC_HEADERS_MAX);
			return WSC_EHANDSHAKE;
		}
		if ((rc = wsc_fill(c, deadline)) < 0) {
			if (rc == WSC_CLOSED)
				wsc_seterr(c, "the server closed the connection during the handshake");
			else if (rc == WSC_TIMEOUT)
				wsc_seterr(c, "no handshake reply in time");
			return rc == WSC_CLOSED ? WSC_EHANDSHAKE : rc;
		}
	}
	if (hlen > WSC_HEADERS_MAX)
		return WSC_EHANDSHAKE;
	memcpy(head, c->rx + c->rpos, hlen);
	head[hlen] = '\0';
	c->rpos += hlen;
	if (sscanf(head, "HTTP/1.%*d %d", status) != 1) {
		wsc_seterr(c, "handshake reply is not HTTP: %.60s", head);
		return WSC_EHANDSHAKE;
	}
	if (*status != 101) {
		/* Keep the body, if any, for the caller. */
		size_t blen = 0;
		if (wsc_header(head, "Content-Length", val, sizeof val) == 0)
			blen = (size_t)strtoul(val, NULL, 10);
		while (c->rlen - c->rpos < blen && blen < WSC_HEADERS_MAX && wsc_fill(c, deadline) == WSC_OK)
			;
		if (errbuf && errlen) {
			size_t k = c->rlen - c->rpos < blen ? c->rlen - c->rpos : blen;
			if (k >= errlen)
				k = errlen - 1;
			memcpy(errbuf, c->rx + c->rpos, k);
			errbuf[k] = '\0';
			errbuf = NULL; /* do not overwrite with the generic reason */
		}
		wsc_seterr(c, "the upgrade was answered %d", *status);
		return WSC_EHANDSHAKE;
	}
	if (wsc_header(head, "Upgrade", val, sizeof val) < 0 || strcasecmp(val, "websocket") != 0) {
		wsc_seterr(c, "101 without Upgrade: websocket");
		return WSC_EHANDSHAKE;
	}
	if (wsc_header(head, "Connection", val, sizeof val) < 0 || !wsc_list_has(val, "upgrade")) {
		wsc_seterr(c, "101 without Connection: Upgrade");
		return WSC_EHANDSHAKE;
	}
	if (key) {
		snprintf(cat, sizeof cat, "%s%s", key, WSC_GUID);
		wsc_sha1(cat, strlen(cat), digest);
		wsc_base64(digest, sizeof digest, expect);
		if (wsc_header(head, "Sec-WebSocket-Accept", val, sizeof val) < 0 || strcmp(val, expect) != 0) {
			wsc_seterr(c, "Sec-WebSocket-Accept is \"%s\", expected \"%s\"", val, expect);
			return WSC_EHANDSHAKE;
		}
	}
	return WSC_OK;
}

int wsc_connect(const char *base_url, const struct wsc_opts *opts, struct wsc **out, int *http_status, char *errbuf,
		size_t errlen)
{
	static const struct wsc_opts defaults;
	const struct wsc_opts *o = opts ? opts : &defaults;
	struct wsc *c = calloc(1, sizeof *c);
	struct parley_url u;
	struct timespec ts;
	unsigned char nonce[16];
	char key[32], *req = NULL;
	int64_t deadline = wsc_now_ms() + (o->timeout_ms > 0 ? o->timeout_ms : WSC_DEFAULT_TIMEOUT_MS);
	int status = 0, rc;
	size_t cap;

	*out = NULL;
	if (errbuf && errlen)
		errbuf[0] = '\0';
	if (!c || !(c->queue = json_array())) {
		free(c);
		return WSC_ENOMEM;
	}
	c->fd = -1;
	clock_gettime(CLOCK_REALTIME, &ts);
	c->rng = ((uint64_t)ts.tv_nsec << 20) ^ (uint64_t)ts.tv_sec ^ (uint64_t)(uintptr_t)c ^ 0x9E3779B97F4A7C15ULL;
	if ((rc = wsc_tcp(c, base_url, o, deadline, &u)) < 0)
		goto out;
	for (int i = 0; i < 16; i++)
		nonce[i] = (unsigned char)wsc_rand(c);
	wsc_base64(nonce, sizeof nonce, key);
	if (o->request) {
		rc = wsc_write(c, o->request, strlen(o->request));
	} else {
		const char *path = o->path ? o->path : "/api/ws";
		cap = strlen(path) + strlen(u.host) + (o->token ? strlen(o->token) : 0) + (o->extra ? strlen(o->extra) : 0) + 512;
		if (!(req = malloc(cap))) {
			rc = WSC_ENOMEM;
			goto out;
		}
		snprintf(req, cap,
			 "GET %s HTTP/1.1\r\nHost: %s%s%s:%s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
			 "Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n%s%s%s%s\r\n",
			 path, u.ipv6 ? "[" : "", u.host, u.ipv6 ? "]" : "", u.port, key, o->token ? "Authorization: Bearer " : "",
			 o->token ? o->token : "", o->token ? "\r\n" : "", o->extra ? o->extra : "");
		rc = wsc_write(c, req, strlen(req));
	}
	if (rc < 0)
		goto out;
	rc = wsc_handshake_reply(c, o->request ? NULL : key, deadline, &status, errbuf, errlen);
out:
	free(req);
	if (http_status)
		*http_status = status;
	if (rc < 0) {
		if (errbuf && errlen && !errbuf[0])
			snprintf(errbuf, errlen, "%s", c->err);
		wsc_free(c);
		return rc;
	}
	*out = c;
	return WSC_OK;
}

int wsc_open(const char *base_url, const char *token, int timeout_ms, struct wsc **out, int64_t *user_id,
	     int64_t *session_id, char *errbuf, size_t errlen)
{
	struct wsc_opts o = {.token = token, .timeout_ms = timeout_ms};
	int64_t deadline = wsc_now_ms() + timeout_ms;
	json_t *pending = json_array(), *m;
	struct wsc *c;
	int rc;

	*out = NULL;
	if (!pending)
		return WSC_ENOMEM;
	if ((rc = wsc_connect(base_url, &o, &c, NULL, errbuf, errlen)) < 0) {
		json_decref(pending);
		return rc;
	}
	for (;;) {
		if ((rc = wsc_recv_json(c, deadline, &m)) < 0) {
			if (errbuf && errlen)
				snprintf(errbuf, errlen, "no ready event: %s (%s; close code %d)", wsc_strerror(rc), c->err,
					 c->close_code);
			json_decref(pending);
			wsc_free(c);
			return rc;
		}
		if (json_is_string(json_object_get(m, "event")) &&
		    strcmp(json_string_value(json_object_get(m, "event")), "ready") == 0)
			break;
		json_array_append_new(pending, m);
	}
	if (user_id)
		*user_id = json_integer_value(json_object_get(m, "user_id"));
	if (session_id)
		*session_id = json_integer_value(json_object_get(m, "session_id"));
	json_decref(m);
	json_array_extend(c->queue, pending);
	json_decref(pending);
	*out = c;
	return WSC_OK;
}

void wsc_free(struct wsc *c)
{
	if (!c)
		return;
	if (c->fd >= 0)
		close(c->fd);
	free(c->rx);
	free(c->msg);
	json_decref(c->queue);
	free(c);
}

int wsc_fd(const struct wsc *c)
{
	return c->fd;
}

/* --- sending ---------------------------------------------------------------- */

/* Writes a frame header for payload length len (claimed), with mask key if
 * masked; returns the header length. */
static size_t wsc_header_encode(unsigned char *h, int fin, int rsv, int opcode, int masked, uint64_t len,
				const unsigned char key[4])
{
	size_t n = 0;

	h[n++] = (unsigned char)((fin ? 0x80 : 0) | (rsv & 7) << 4 | (opcode & 0x0F));
	if (len < 126) {
		h[n++] = (unsigned char)((masked ? 0x80 : 0) | len);
	} else if (len <= 0xFFFF) {
		h[n++] = (unsigned char)((masked ? 0x80 : 0) | 126);
		h[n++] = (unsigned char)(len >> 8);
		h[n++] = (unsigned char)len;
	} else {
		h[n++] = (unsigned char)((masked ? 0x80 : 0) | 127);
		for (int i = 7; i >= 0; i--)
			h[n++] = (unsigned char)(len >> (8 * i));
	}
	if (masked) {
		memcpy(h + n, key, 4);
		n += 4;
	}
	return n;
}

static int wsc_send_frame_ex(struct wsc *c, int fin, int rsv, int opcode, int masked, uint64_t claimed,
			     const void *payload, size_t len)
{
	unsigned char h[14], key[4], *buf;
	uint64_t r = wsc_rand(c);
	size_t hl;
	int rc;

	memcpy(key, &r, 4);
	hl = wsc_header_encode(h, fin, rsv, opcode, masked, claimed, key);
	if (!(buf = malloc(hl + len + 1)))
		return WSC_ENOMEM;
	memcpy(buf, h, hl);
	if (len)
		memcpy(buf + hl, payload, len);
	if (masked)
		for (size_t i = 0; i < len; i++)
			buf[hl + i] ^= key[i & 3];
	rc = wsc_write(c, buf, hl + len);
	free(buf);
	return rc;
}

int wsc_send_frame(struct wsc *c, int fin, int rsv, int opcode, int masked, const void *payload, size_t len)
{
	return wsc_send_frame_ex(c, fin, rsv, opcode, masked, len, payload, len);
}

int wsc_send_frame_claiming(struct wsc *c, int opcode, uint64_t claimed_len, const void *payload, size_t len)
{
	return wsc_send_frame_ex(c, 1, 0, opcode, 1, claimed_len, payload, len);
}

int wsc_send_raw(struct wsc *c, const void *bytes, size_t len)
{
	return wsc_write(c, bytes, len);
}

int wsc_send_text(struct wsc *c, const char *text)
{
	return wsc_send_frame(c, 1, 0, WSC_OP_TEXT, 1, text, strlen(text));
}

int wsc_send_close(struct wsc *c, int code)
{
	unsigned char p[2] = {(unsigned char)(code >> 8), (unsigned char)code};

	return wsc_send_frame(c, 1, 0, WSC_OP_CLOSE, 1, p, code ? 2 : 0);
}

/* --- receiving ------------------------------------------------------------- */

/* Takes one complete frame off rx, if there is one: 1 and its parts, 0 if
 * more bytes are needed, WSC_EPROTO if the header breaks the rules for a
 * server's frame. */
static int wsc_frame_take(struct wsc *c, int *fin, int *opcode, unsigned char **payload, uint64_t *plen)
{
	unsigned char *p = c->rx + c->rpos;
	size_t avail = c->rlen - c->rpos, hl = 2;
	uint64_t len;

	if (avail < 2)
		return 0;
	if (p[0] & 0x70) {
		wsc_seterr(c, "server frame with reserved bits 0x%02x", p[0] & 0x70);
		return WSC_EPROTO;
	}
	if (p[1] & 0x80) {
		wsc_seterr(c, "server frame is masked (RFC 6455 5.1 forbids it)");
		return WSC_EPROTO;
	}
	len = p[1] & 0x7F;
	if (len == 126) {
		if (avail < 4)
			return 0;
		len = (uint64_t)p[2] << 8 | p[3];
		hl = 4;
		if (len < 126) {
			wsc_seterr(c, "server frame length not minimally encoded");
			return WSC_EPROTO;
		}
	} else if (len == 127) {
		if (avail < 10)
			return 0;
		len = 0;
		for (int i = 0; i < 8; i++)
			len = len << 8 | p[2 + i];
		hl = 10;
		if (len <= 0xFFFF || len >> 63) {
			wsc_seterr(c, "server frame length not minimally encoded");
			return WSC_EPROTO;
		}
	}
	if (len > WSC_MESSAGE_MAX) {
		wsc_seterr(c, "server frame of %llu bytes", (unsigned long long)len);
		return WSC_EPROTO;
	}
	if (avail - hl < len)
		return 0;
	*fin = p[0] >> 7;
	*opcode = p[0] & 0x0F;
	*payload = p + hl;
	*plen = len;
	c->rpos += hl + (size_t)len;
	return 1;
}

static int wsc_msg_append(struct wsc *c, const unsigned char *p, size_t len)
{
	if (c->mlen + len > WSC_MESSAGE_MAX) {
		wsc_seterr(c, "server message longer than %u bytes", WSC_MESSAGE_MAX);
		return WSC_EPROTO;
	}
	if (c->mlen + len + 1 > c->mcap) {
		size_t ncap = c->mcap ? c->mcap : 4096;
		char *n;
		while (ncap < c->mlen + len + 1)
			ncap *= 2;
		if (!(n = realloc(c->msg, ncap)))
			return WSC_ENOMEM;
		c->msg = n;
		c->mcap = ncap;
	}
	memcpy(c->msg + c->mlen, p, len);
	c->mlen += len;
	c->msg[c->mlen] = '\0';
	return WSC_OK;
}

/* Handles a control frame.  WSC_OK, or WSC_CLOSED for a close frame. */
static int wsc_control(struct wsc *c, int fin, int opcode, const unsigned char *p, uint64_t len)
{
	if (!fin || len > 125) {
		wsc_seterr(c, "server control frame 0x%x fragmented or %llu bytes long", opcode, (unsigned long long)len);
		return WSC_EPROTO;
	}
	switch (opcode) {
	case WSC_OP_CLOSE:
		if (len == 1) {
			wsc_seterr(c, "server close frame with a 1-byte payload");
			return WSC_EPROTO;
		}
		c->close_code = len >= 2 ? (p[0] << 8 | p[1]) : 1005;
		if (len > 2) {
			size_t k = (size_t)len - 2 < WSC_REASON_MAX - 1 ? (size_t)len - 2 : WSC_REASON_MAX - 1;
			memcpy(c->close_reason, p + 2, k);
			c->close_reason[k] = '\0';
		}
		c->dead = 1;
		wsc_seterr(c, "the server closed the WebSocket with %d", c->close_code);
		/* Answer the closing handshake; the server may be gone already. */
		(void)wsc_send_frame(c, 1, 0, WSC_OP_CLOSE, 1, p, len >= 2 ? 2 : 0);
		return WSC_CLOSED;
	case WSC_OP_PING:
		c->pings++;
		(void)wsc_send_frame(c, 1, 0, WSC_OP_PONG, 1, p, (size_t)len);
		return WSC_OK;
	case WSC_OP_PONG:
		c->pongs++;
		return WSC_OK;
	}
	wsc_seterr(c, "server frame with reserved opcode 0x%x", opcode);
	return WSC_EPROTO;
}

int wsc_recv_text(struct wsc *c, int timeout_ms, char **text, size_t *len)
{
	int64_t deadline = wsc_now_ms() + (timeout_ms > 0 ? timeout_ms : 0);
	int rc;

	*text = NULL;
	*len = 0;
	c->err[0] = '\0';
	for (;;) {
		int fin, opcode;
		unsigned char *p;
		uint64_t plen;

		if (c->dead)
			return WSC_CLOSED;
		while ((rc = wsc_frame_take(c, &fin, &opcode, &p, &plen)) == 1) {
			if (opcode & 0x8) {
				if ((rc = wsc_control(c, fin, opcode, p, plen)) < 0)
					goto fail;
				continue;
			}
			if (opcode == WSC_OP_TEXT) {
				if (c->in_msg) {
					wsc_seterr(c, "server text frame inside a fragmented message");
					rc = WSC_EPROTO;
					goto fail;
				}
				c->in_msg = 1;
				c->mlen = 0;
			} else if (opcode == WSC_OP_CONT) {
				if (!c->in_msg) {
					wsc_seterr(c, "server continuation frame without a message");
					rc = WSC_EPROTO;
					goto fail;
				}
			} else {
				wsc_seterr(c, "server frame with opcode 0x%x (only text is spoken)", opcode);
				rc = WSC_EPROTO;
				goto fail;
			}
			if ((rc = wsc_msg_append(c, p, (size_t)plen)) < 0)
				goto fail;
			if (!fin)
				continue;
			c->in_msg = 0;
			if (!wsc_utf8_valid((const unsigned char *)c->msg, c->mlen)) {
				wsc_seterr(c, "server text message is not valid UTF-8");
				rc = WSC_EPROTO;
				goto fail;
			}
			*text = c->msg;
			*len = c->mlen;
			c->msg = NULL;
			c->mlen = c->mcap = 0;
			return WSC_OK;
		}
		if (rc < 0)
			goto fail;
		if ((rc = wsc_fill(c, deadline)) < 0)
			return rc;
	}
fail:
	if (rc == WSC_EPROTO || rc == WSC_ENOMEM)
		c->dead = 1;
	return rc;
}

/* Reads the next message and parses it. */
static int wsc_recv_json(struct wsc *c, int64_t deadline, json_t **msg)
{
	int64_t left = deadline - wsc_now_ms();
	json_error_t jerr;
	char *text;
	size_t len;
	int rc = wsc_recv_text(c, left > 0 ? (int)left : 0, &text, &len);

	*msg = NULL;
	if (rc < 0)
		return rc;
	*msg = json_loadb(text, len, 0, &jerr);
	if (!*msg) {
		wsc_seterr(c, "server message is not JSON (%s): %.80s", jerr.text, text);
		free(text);
		return WSC_EPROTO;
	}
	free(text);
	return WSC_OK;
}

int wsc_next(struct wsc *c, int timeout_ms, json_t **msg)
{
	if (json_array_size(c->queue)) {
		*msg = json_incref(json_array_get(c->queue, 0));
		json_array_remove(c->queue, 0);
		return WSC_OK;
	}
	return wsc_recv_json(c, wsc_now_ms() + timeout_ms, msg);
}

void wsc_unget(struct wsc *c, json_t *msg)
{
	json_array_insert_new(c->queue, 0, msg);
}

size_t wsc_queued(const struct wsc *c)
{
	return json_array_size(c->queue);
}

int64_t wsc_call_send(struct wsc *c, const char *method, json_t *params)
{
	json_t *call;
	char *s;
	int64_t id = ++c->next_id;
	int rc;

	call = json_pack("{s:I, s:s, s:o}", "id", (json_int_t)id, "method", method, "params",
			 params ? params : json_object());
	if (!call || !(s = json_dumps(call, JSON_COMPACT))) {
		json_decref(call);
		return WSC_ENOMEM;
	}
	json_decref(call);
	rc = wsc_send_text(c, s);
	free(s);
	return rc < 0 ? rc : id;
}

static int wsc_is_reply(json_t *m, int64_t id)
{
	json_t *v = json_object_get(m, "id");

	return json_is_integer(v) && json_integer_value(v) == id;
}

int wsc_call_wait(struct wsc *c, int64_t id, int timeout_ms, json_t **reply)
{
	int64_t deadline = wsc_now_ms() + timeout_ms;
	size_t i;
	json_t *m;
	int rc;

	*reply = NULL;
	json_array_foreach(c->queue, i, m) {
		if (wsc_is_reply(m, id)) {
			*reply = json_incref(m);
			json_array_remove(c->queue, i);
			return WSC_OK;
		}
	}
	for (;;) {
		if ((rc = wsc_recv_json(c, deadline, &m)) < 0)
			return rc;
		if (wsc_is_reply(m, id)) {
			*reply = m;
			return WSC_OK;
		}
		json_array_append_new(c->queue, m);
	}
}

int wsc_call(struct wsc *c, const char *method, json_t *params, int timeout_ms, json_t **reply)
{
	int64_t id = wsc_call_send(c, method, params);

	*reply = NULL;
	if (id < 0)
		return (int)id;
	return wsc_call_wait(c, id, timeout_ms, reply);
}

int wsc_wait_close(struct wsc *c, int timeout_ms)
{
	int64_t deadline = wsc_now_ms() + timeout_ms;
	int rc;

	for (;;) {
		json_t *m = NULL;
		char *text;
		size_t len;

		rc = wsc_recv_text(c, (int)(deadline - wsc_now_ms() > 0 ? deadline - wsc_now_ms() : 0), &text, &len);
		if (rc == WSC_OK) {
			if ((m = json_loadb(text, len, 0, NULL)))
				json_array_append_new(c->queue, m);
			free(text);
			continue;
		}
		if (rc == WSC_TIMEOUT)
			return WSC_TIMEOUT;
		if (!c->close_code)
			c->close_code = 1006;
		c->dead = 1;
		return c->close_code;
	}
}

int wsc_close_code(const struct wsc *c)
{
	return c->close_code;
}

const char *wsc_close_reason(const struct wsc *c)
{
	return c->close_reason;
}

const char *wsc_error(const struct wsc *c)
{
	return c->err;
}

unsigned long wsc_pings(const struct wsc *c)
{
	return c->pings;
}

unsigned long wsc_pongs(const struct wsc *c)
{
	return c->pongs;
}
