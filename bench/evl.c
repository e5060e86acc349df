/*
 * evl.c — the load generator's epoll loop, its raw WebSocket client and its
 * libmosquitto glue (see evl.h).
 *
 * The loop is level-triggered and runs on one thread.  Reads land in the
 * loop's single buffer; a connection carries over only the tail of a frame
 * that did not arrive whole.  Writes are queued per connection and flushed
 * once per turn of the loop, so a sender that queued ten frames in one turn
 * pays for one send().
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>
#include <mosquitto.h>

#include "evl.h"

#define EVL_EVENTS 1024               /* events taken per epoll_wait */
#define EVL_READ_BUF (256u * 1024u)   /* the loop's one read buffer */
#define WSC_HEADER_MAX 8192           /* upgrade reply headers */
#define WSC_FRAME_MAX (16u << 20)     /* largest server frame accepted */
#define WSC_OUT_MAX (64u << 20)       /* queued output per connection */
#define MQC_KEEPALIVE 600             /* seconds; mqc_misc() keeps it alive */
#define MQC_READS_PER_WAKE 64         /* packets read per readiness */

struct evl {
	int ep;
	struct epoll_event ev[EVL_EVENTS];
	char *buf;
	struct wsc *flush;                /* connections with queued output */
	struct evl_io timer;
	void (*tick_cb)(void *ctx, uint64_t now_ns);
	void *tick_ctx;
	uint32_t mask_state;
};

/* Spreads the generator's connections over the source addresses
 * 127.0.0.2 to 127.0.0.251 when the server is on 127.0.0.1.  With one
 * source address, every connect() scans the ephemeral port range for a
 * free 4-tuple, and past ~10,000 connections to one port that scan (the
 * kernel's __inet_check_established) becomes most of the generator's CPU
 * and slows connecting down for both systems alike. */
static int evl_src_next;

static void evl_src_addr(const char *host, char *buf, size_t len)
{
	buf[0] = 0;
	if (!strcmp(host, "127.0.0.1"))
		snprintf(buf, len, "127.0.0.%d", 2 + evl_src_next++ % 250);
}

static uint64_t evl_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

struct evl *evl_new(void)
{
	struct evl *l = calloc(1, sizeof *l);

	if (!l)
		return NULL;
	l->timer.fd = -1;
	l->mask_state = 0x9e3779b9u ^ (uint32_t)getpid();
	if ((l->ep = epoll_create1(EPOLL_CLOEXEC)) < 0 || !(l->buf = malloc(EVL_READ_BUF))) {
		if (l->ep >= 0)
			close(l->ep);
		free(l);
		return NULL;
	}
	mosquitto_lib_init();
	return l;
}

void evl_free(struct evl *l)
{
	if (!l)
		return;
	evl_tick(l, 0, NULL, NULL);
	close(l->ep);
	free(l->buf);
	free(l);
}

int evl_add(struct evl *l, struct evl_io *io, uint32_t events)
{
	struct epoll_event ev = {.events = events, .data.ptr = io};

	io->want = events;
	return epoll_ctl(l->ep, EPOLL_CTL_ADD, io->fd, &ev);
}

int evl_mod(struct evl *l, struct evl_io *io, uint32_t events)
{
	struct epoll_event ev = {.events = events, .data.ptr = io};

	if (io->want == events)
		return 0;
	io->want = events;
	return epoll_ctl(l->ep, EPOLL_CTL_MOD, io->fd, &ev);
}

void evl_del(struct evl *l, struct evl_io *io)
{
	epoll_ctl(l->ep, EPOLL_CTL_DEL, io->fd, NULL);
}

static void wsc_flush(struct wsc *c);

static void evl_flush(struct evl *l)
{
	while (l->flush) {
		struct wsc *c = l->flush;
		l->flush = c->next_flush;
		c->next_flush = NULL;
		c->queued = 0;
		wsc_flush(c);
	}
}

int evl_run(struct evl *l, uint64_t deadline_ns, int (*done)(void *ctx), void *ctx)
{
	for (;;) {
		uint64_t now = evl_now();
		int n, timeout = 100;

		evl_flush(l);
		if (done && done(ctx))
			return 0;
		if (deadline_ns && now >= deadline_ns)
			return 1;
		if (deadline_ns && deadline_ns - now < 100000000u)
			timeout = (int)((deadline_ns - now + 999999) / 1000000);
		n = epoll_wait(l->ep, l->ev, EVL_EVENTS, timeout);
		for (int i = 0; i < n; i++) {
			struct evl_io *io = l->ev[i].data.ptr;
			io->cb(io, l->ev[i].events);
		}
	}
}

static void evl_on_timer(struct evl_io *io, uint32_t events)
{
	struct evl *l = (struct evl *)((char *)io - offsetof(struct evl, timer));
	uint64_t ticks;

	if (read(io->fd, &ticks, sizeof ticks) != (ssize_t)sizeof ticks)
		return;
	if (l->tick_cb)
		l->tick_cb(l->tick_ctx, evl_now());
}

int evl_tick(struct evl *l, uint64_t interval_ns, void (*cb)(void *ctx, uint64_t now_ns), void *ctx)
{
	struct itimerspec its = {0};

	if (!interval_ns) {
		if (l->timer.fd >= 0) {
			evl_del(l, &l->timer);
			close(l->timer.fd);
			l->timer.fd = -1;
		}
		l->tick_cb = NULL;
		return 0;
	}
	if (l->timer.fd < 0) {
		if ((l->timer.fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC)) < 0)
			return -errno;
		l->timer.cb = evl_on_timer;
		if (evl_add(l, &l->timer, EPOLLIN) < 0)
			return -errno;
	}
	l->tick_cb = cb;
	l->tick_ctx = ctx;
	its.it_interval.tv_sec = (time_t)(interval_ns / 1000000000u);
	its.it_interval.tv_nsec = (long)(interval_ns % 1000000000u);
	its.it_value = its.it_interval;
	return timerfd_settime(l->timer.fd, 0, &its, NULL) < 0 ? -errno : 0;
}

/* ---- raw WebSocket client ----------------------------------------------- */

static void wsc_fail(struct wsc *c, const char *why)
{
	if (c->state == WSC_CLOSED)
		return;
	c->state = WSC_CLOSED;
	c->err = why;
}

/* Frees what a closed connection holds and tells the owner, once. */
static void wsc_teardown(struct wsc *c, int notify)
{
	struct linger lg = {1, 0};

	if (c->torn)
		return;
	c->torn = 1;
	if (c->io.fd >= 0) {
		evl_del(c->l, &c->io);
		setsockopt(c->io.fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
		close(c->io.fd);
		c->io.fd = -1;
	}
	free(c->in);
	free(c->out);
	c->in = c->out = NULL;
	c->in_len = c->in_cap = c->out_len = c->out_cap = c->out_off = 0;
	c->state = WSC_CLOSED;
	if (notify && c->ops->closed)
		c->ops->closed(c);
}

static int wsc_reserve(char **buf, uint32_t *cap, uint32_t need, uint32_t max)
{
	uint32_t n = *cap ? *cap : 256;
	char *p;

	if (need <= *cap)
		return 0;
	if (need > max)
		return -1;
	while (n < need)
		n = n > max / 2 ? max : n * 2;
	if (!(p = realloc(*buf, n)))
		return -1;
	*buf = p;
	*cap = n;
	return 0;
}

static void wsc_queue(struct wsc *c)
{
	if (!c->queued) {
		c->queued = 1;
		c->next_flush = c->l->flush;
		c->l->flush = c;
	}
}

/* Appends one masked frame of opcode op. */
static int wsc_frame(struct wsc *c, int op, const char *data, size_t len)
{
	unsigned char *p, key[4];
	uint32_t hdr = len < 126 ? 6 : len < 65536 ? 8 : 14, k;

	if (c->state == WSC_CLOSED)
		return -EPIPE;
	if (wsc_reserve(&c->out, &c->out_cap, c->out_len + hdr + (uint32_t)len, WSC_OUT_MAX) < 0)
		return -ENOBUFS;
	/* xorshift: a new masking key per frame, cheap and not predictable
	 * from the payload (RFC 6455 section 5.3). */
	k = c->l->mask_state;
	k ^= k << 13, k ^= k >> 17, k ^= k << 5;
	c->l->mask_state = k;
	memcpy(key, &k, 4);
	p = (unsigned char *)c->out + c->out_len;
	*p++ = (unsigned char)(0x80 | op);
	if (len < 126) {
		*p++ = (unsigned char)(0x80 | len);
	} else if (len < 65536) {
		*p++ = 0x80 | 126;
		*p++ = (unsigned char)(len >> 8);
		*p++ = (unsigned char)len;
	} else {
		*p++ = 0x80 | 127;
		for (int i = 7; i >= 0; i--)
			*p++ = (unsigned char)((uint64_t)len >> (8 * i));
	}
	memcpy(p, key, 4);
	p += 4;
	for (size_t i = 0; i < len; i++)
		p[i] = (unsigned char)data[i] ^ key[i & 3];
	c->out_len += hdr + (uint32_t)len;
	wsc_queue(c);
	return 0;
}

int wsc_send_text(struct wsc *c, const char *data, size_t len)
{
	return wsc_frame(c, 1, data, len);
}

static void wsc_flush(struct wsc *c)
{
	if (c->torn)
		return;
	while (c->state != WSC_CLOSED && c->state != WSC_CONNECTING && c->out_off < c->out_len) {
		ssize_t n = send(c->io.fd, c->out + c->out_off, c->out_len - c->out_off, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				wsc_fail(c, "send failed");
			break;
		}
		c->out_off += (uint32_t)n;
	}
	if (c->state == WSC_CLOSED) {
		wsc_teardown(c, 1);
		return;
	}
	if (c->out_off == c->out_len) {
		c->out_off = c->out_len = 0;
		if (c->out_cap > 4096) { /* a burst is over: give the memory back */
			free(c->out);
			c->out = NULL;
			c->out_cap = 0;
		}
		if (c->state != WSC_CONNECTING)
			evl_mod(c->l, &c->io, EPOLLIN);
	} else {
		evl_mod(c->l, &c->io, EPOLLIN | EPOLLOUT);
	}
}

static uint64_t wsc_be(const unsigned char *p, int n)
{
	uint64_t v = 0;

	for (int i = 0; i < n; i++)
		v = v << 8 | p[i];
	return v;
}

/* Parses what it can of buf; returns the bytes consumed. */
static size_t wsc_parse(struct wsc *c, const char *buf, size_t len)
{
	static const char ready[] = "{\"event\":\"ready\"";
	size_t off = 0;

	if (c->state == WSC_UPGRADING) {
		const char *end = memmem(buf, len, "\r\n\r\n", 4);
		if (!end) {
			if (len > WSC_HEADER_MAX)
				wsc_fail(c, "upgrade reply too long");
			return 0;
		}
		if (len < 12 || memcmp(buf, "HTTP/1.1 101", 12) != 0) {
			wsc_fail(c, "upgrade refused");
			return len;
		}
		c->state = WSC_OPEN;
		off = (size_t)(end - buf) + 4;
	}
	while (c->state == WSC_OPEN || c->state == WSC_READY) {
		const unsigned char *p = (const unsigned char *)buf + off;
		size_t avail = len - off, hdr = 2;
		uint64_t plen;
		int op;

		if (avail < 2)
			break;
		op = p[0] & 0x0f;
		if (p[1] & 0x80) {
			wsc_fail(c, "masked server frame");
			break;
		}
		plen = p[1] & 0x7f;
		if (plen == 126) {
			if (avail < 4)
				break;
			plen = wsc_be(p + 2, 2);
			hdr = 4;
		} else if (plen == 127) {
			if (avail < 10)
				break;
			plen = wsc_be(p + 2, 8);
			hdr = 10;
		}
		if (plen > WSC_FRAME_MAX) {
			wsc_fail(c, "frame too large");
			break;
		}
		if (avail < hdr + plen)
			break;
		off += hdr + (size_t)plen;
		if (!(p[0] & 0x80) || op == 0) {
			wsc_fail(c, "fragmented frame (the server sends whole messages)");
			break;
		}
		if (op == 1) {
			const char *t = (const char *)p + hdr;
			if (c->state == WSC_OPEN && plen >= sizeof ready - 1 && !memcmp(t, ready, sizeof ready - 1)) {
				c->state = WSC_READY;
				if (c->ops->ready)
					c->ops->ready(c);
			} else if (c->ops->text) {
				c->ops->text(c, t, (size_t)plen);
			}
		} else if (op == 8) {
			c->close_code = plen >= 2 ? (int)wsc_be(p + hdr, 2) : 1005;
			c->close_code_seen = 1;
			wsc_fail(c, "closed by the server");
		} else if (op == 9) {
			wsc_frame(c, 10, (const char *)p + hdr, (size_t)plen);
		}
	}
	return off;
}

static void wsc_on_io(struct evl_io *io, uint32_t events)
{
	struct wsc *c = (struct wsc *)io;
	struct evl *l = c->l;

	if (c->state == WSC_CONNECTING) {
		int err = 0;
		socklen_t el = sizeof err;
		if (getsockopt(io->fd, SOL_SOCKET, SO_ERROR, &err, &el) < 0 || err) {
			wsc_fail(c, "connect failed");
			wsc_teardown(c, 1);
			return;
		}
		if (!(events & EPOLLOUT))
			return;
		c->state = WSC_UPGRADING;
		wsc_flush(c);
		return;
	}
	if (events & EPOLLOUT)
		wsc_flush(c);
	if (c->state == WSC_CLOSED)
		return;
	if (events & (EPOLLIN | EPOLLERR | EPOLLHUP)) {
		for (;;) {
			ssize_t n = recv(io->fd, l->buf, EVL_READ_BUF, 0);
			size_t used;
			if (n < 0) {
				if (errno == EINTR)
					continue;
				if (errno != EAGAIN && errno != EWOULDBLOCK)
					wsc_fail(c, "receive failed");
				break;
			}
			if (n == 0) {
				wsc_fail(c, c->close_code_seen ? "closed by the server" : "connection closed");
				break;
			}
			if (c->in_len) {
				if (wsc_reserve(&c->in, &c->in_cap, c->in_len + (uint32_t)n, WSC_FRAME_MAX + 16) < 0) {
					wsc_fail(c, "input too large");
					break;
				}
				memcpy(c->in + c->in_len, l->buf, (size_t)n);
				c->in_len += (uint32_t)n;
				used = wsc_parse(c, c->in, c->in_len);
				memmove(c->in, c->in + used, c->in_len - used);
				c->in_len -= (uint32_t)used;
			} else {
				used = wsc_parse(c, l->buf, (size_t)n);
				if (used < (size_t)n && c->state != WSC_CLOSED) {
					if (wsc_reserve(&c->in, &c->in_cap, (uint32_t)((size_t)n - used), WSC_FRAME_MAX + 16) < 0) {
						wsc_fail(c, "input too large");
						break;
					}
					memcpy(c->in, l->buf + used, (size_t)n - used);
					c->in_len = (uint32_t)((size_t)n - used);
				}
			}
			if (c->in_len == 0 && c->in_cap > 4096) {
				free(c->in);
				c->in = NULL;
				c->in_cap = 0;
			}
			if (c->state == WSC_CLOSED || (size_t)n < EVL_READ_BUF)
				break;
		}
	}
	if (c->state == WSC_CLOSED)
		wsc_teardown(c, 1);
}

int wsc_connect(struct evl *l, struct wsc *c, const char *host, int port, const char *path)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	int one = 1, fd;
	char req[1024], src[32];
	int n;

	c->l = l;
	c->state = WSC_CONNECTING;
	c->io.fd = -1;
	c->io.cb = wsc_on_io;
	if (inet_pton(AF_INET, host, &sa.sin_addr) != 1)
		return -EINVAL;
	n = snprintf(req, sizeof req,
		     "GET %s HTTP/1.1\r\nHost: %s:%d\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
		     "Sec-WebSocket-Key: YmVuY2gtcGFybGV5LWtleQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
		     path, host, port);
	if (n < 0 || (size_t)n >= sizeof req)
		return -EINVAL;
	if ((fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)) < 0)
		return -errno;
	c->io.fd = fd;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	evl_src_addr(host, src, sizeof src);
	if (src[0]) {
		struct sockaddr_in la = {.sin_family = AF_INET};
		setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
		if (inet_pton(AF_INET, src, &la.sin_addr) == 1)
			(void)bind(fd, (struct sockaddr *)&la, sizeof la);
	}
	if (wsc_reserve(&c->out, &c->out_cap, (uint32_t)n, WSC_OUT_MAX) < 0) {
		close(fd);
		c->io.fd = -1;
		return -ENOMEM;
	}
	memcpy(c->out, req, (size_t)n);
	c->out_len = (uint32_t)n;
	if (connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0 && errno != EINPROGRESS) {
		int e = errno;
		wsc_teardown(c, 0);
		return -e;
	}
	if (evl_add(l, &c->io, EPOLLOUT) < 0) {
		int e = errno;
		wsc_teardown(c, 0);
		return -e;
	}
	return 0;
}

void wsc_close(struct wsc *c)
{
	if (c->queued) { /* unlink from the flush list */
		struct wsc **pp = &c->l->flush;
		while (*pp && *pp != c)
			pp = &(*pp)->next_flush;
		if (*pp)
			*pp = c->next_flush;
		c->queued = 0;
	}
	wsc_teardown(c, 0);
}

/* ---- libmosquitto clients ------------------------------------------------ */

const char *mqc_lib_version(void)
{
	static char v[32];
	int a, b, r;

	mosquitto_lib_version(&a, &b, &r);
	snprintf(v, sizeof v, "%d.%d.%d", a, b, r);
	return v;
}

static void mqc_arm(struct mqc *c)
{
	if (c->io.fd >= 0)
		evl_mod(c->l, &c->io, EPOLLIN | (mosquitto_want_write(c->m) ? EPOLLOUT : 0));
}

static void mqc_on_connect(struct mosquitto *m, void *obj, int rc)
{
	struct mqc *c = obj;

	if (rc != 0) {
		c->err = "CONNACK refused";
		c->state = WSC_CLOSED;
		return;
	}
	if (c->ntopics) {
		if (mosquitto_subscribe_multiple(m, NULL, c->ntopics, c->topics, 1, 0, NULL) != MOSQ_ERR_SUCCESS) {
			c->err = "subscribe failed";
			c->state = WSC_CLOSED;
		}
		return;
	}
	c->state = WSC_READY;
	if (c->ops->ready)
		c->ops->ready(c);
}

static void mqc_on_subscribe(struct mosquitto *m, void *obj, int mid, int n, const int *granted)
{
	struct mqc *c = obj;

	for (int i = 0; i < n; i++)
		if (granted[i] > 2) {
			c->err = "subscription refused";
			c->state = WSC_CLOSED;
			return;
		}
	c->state = WSC_READY;
	if (c->ops->ready)
		c->ops->ready(c);
}

static void mqc_on_message(struct mosquitto *m, void *obj, const struct mosquitto_message *msg)
{
	struct mqc *c = obj;

	if (c->ops->message)
		c->ops->message(c, msg);
}

static void mqc_on_publish(struct mosquitto *m, void *obj, int mid)
{
	struct mqc *c = obj;

	if (c->ops->published)
		c->ops->published(c, mid);
}

static void mqc_teardown(struct mqc *c, int notify)
{
	struct linger lg = {1, 0};

	if (c->io.fd >= 0) {
		evl_del(c->l, &c->io);
		setsockopt(c->io.fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
		c->io.fd = -1;
	}
	if (c->m) {
		mosquitto_destroy(c->m); /* closes the socket */
		c->m = NULL;
	}
	for (int i = 0; i < c->ntopics; i++)
		free(c->topics[i]);
	c->ntopics = 0;
	c->state = WSC_CLOSED;
	if (notify && c->ops->closed)
		c->ops->closed(c);
}

static void mqc_on_io(struct evl_io *io, uint32_t events)
{
	struct mqc *c = (struct mqc *)io;
	int rc = MOSQ_ERR_SUCCESS;

	if (events & EPOLLOUT)
		rc = mosquitto_loop_write(c->m, 1);
	if (rc == MOSQ_ERR_SUCCESS && (events & (EPOLLIN | EPOLLERR | EPOLLHUP))) {
		/* libmosquitto reads one packet per call when nothing of QoS > 0
		 * is queued: go on while the socket holds more bytes. */
		for (int k = 0; k < MQC_READS_PER_WAKE && c->state != WSC_CLOSED; k++) {
			int left = 0;
			if ((rc = mosquitto_loop_read(c->m, 1)) != MOSQ_ERR_SUCCESS)
				break;
			if (ioctl(io->fd, FIONREAD, &left) < 0 || left <= 0)
				break;
		}
	}
	if (rc != MOSQ_ERR_SUCCESS && c->state != WSC_CLOSED) {
		c->err = rc == MOSQ_ERR_CONN_LOST ? "connection lost" : mosquitto_strerror(rc);
		c->state = WSC_CLOSED;
	}
	if (c->state == WSC_CLOSED) {
		mqc_teardown(c, 1);
		return;
	}
	mqc_arm(c);
}

int mqc_connect(struct evl *l, struct mqc *c, const char *host, int port, const char *const *topics, int ntopics)
{
	struct rlimit rl, lo;
	char src[32];
	int fd, rc;

	c->l = l;
	c->io.fd = -1;
	c->io.cb = mqc_on_io;
	c->state = WSC_CONNECTING;
	if (ntopics > MQC_TOPICS_MAX)
		return -EINVAL;
	/* libmosquitto opens a socket pair per client to wake its own threaded
	 * loop, which the generator does not use: three files per client would
	 * stop us at 6,600 clients under the 20,000-file limit.  With no file
	 * left to open, mosquitto_new() logs a warning and goes without the
	 * pair (its sends then simply are not signalled to a loop thread). */
	if ((fd = open("/dev/null", O_RDONLY | O_CLOEXEC)) < 0 || getrlimit(RLIMIT_NOFILE, &rl) < 0)
		return -errno;
	close(fd);
	lo = rl;
	lo.rlim_cur = (rlim_t)fd;
	setrlimit(RLIMIT_NOFILE, &lo);
	c->m = mosquitto_new(NULL, true, c);
	setrlimit(RLIMIT_NOFILE, &rl);
	if (!c->m)
		return -ENOMEM;
	mosquitto_connect_callback_set(c->m, mqc_on_connect);
	mosquitto_subscribe_callback_set(c->m, mqc_on_subscribe);
	mosquitto_message_callback_set(c->m, mqc_on_message);
	mosquitto_publish_callback_set(c->m, mqc_on_publish);
	mosquitto_max_inflight_messages_set(c->m, 0); /* the workloads bound what is in flight */
	mosquitto_int_option(c->m, MOSQ_OPT_TCP_NODELAY, 1);     /* as the raw WebSocket client does */
	for (int i = 0; i < ntopics; i++)
		c->topics[i] = strdup(topics[i]);
	c->ntopics = (unsigned char)ntopics;
	evl_src_addr(host, src, sizeof src);
	if ((rc = mosquitto_connect_bind(c->m, host, port, MQC_KEEPALIVE, src[0] ? src : NULL)) != MOSQ_ERR_SUCCESS) {
		c->err = mosquitto_strerror(rc);
		mqc_teardown(c, 0);
		return -ECONNREFUSED;
	}
	c->io.fd = mosquitto_socket(c->m);
	if (c->io.fd < 0 || evl_add(l, &c->io, EPOLLIN | (mosquitto_want_write(c->m) ? EPOLLOUT : 0)) < 0) {
		mqc_teardown(c, 0);
		return -EIO;
	}
	c->state = WSC_OPEN;
	return 0;
}

int mqc_publish(struct mqc *c, const char *topic, const void *payload, size_t len, int qos)
{
	int rc;

	if (c->state == WSC_CLOSED)
		return -EPIPE;
	rc = mosquitto_publish(c->m, NULL, topic, (int)len, payload, qos, false);
	if (rc != MOSQ_ERR_SUCCESS)
		return -EIO;
	mqc_arm(c);
	return 0;
}

void mqc_misc(struct mqc *c)
{
	if (c->state != WSC_CLOSED && c->m) {
		mosquitto_loop_misc(c->m);
		mqc_arm(c);
	}
}

void mqc_close(struct mqc *c)
{
	if (c->m || c->io.fd >= 0)
		mqc_teardown(c, 0);
}
