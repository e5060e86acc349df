/*
 * evl.h — the load generator's event loop: one epoll set on one thread
 * driving thousands of client connections at once (bench/README.md).
 *
 * Two kinds of connection live in it:
 *
 *  - struct wsc, a lean raw WebSocket client of Parley's GET /api/ws: a
 *    non-blocking TCP connect, the upgrade request with ?token=, then frames.
 *    It keeps no per-connection read buffer (every read lands in the loop's
 *    one buffer; only a partial frame is carried over, in a small malloc'd
 *    block), answers pings, and queues outgoing frames (masked, as RFC 6455
 *    requires of a client) until the loop flushes them once per turn.
 *
 *  - struct mqc, a libmosquitto client driven from the same epoll set
 *    through libmosquitto's "external loop" calls (mosquitto_loop_read /
 *    _write / _misc), so no thread per client either.
 *
 * Nothing here knows a workload: connections report ready, text frames
 * (wsc) and messages (mqc) through callbacks.  All of it runs on one thread.
 */
#ifndef EVL_H
#define EVL_H

#include <stddef.h>
#include <stdint.h>

struct evl;
struct evl_io;

/* An fd in the loop; events are EPOLLIN/EPOLLOUT/EPOLLERR/EPOLLHUP bits. */
typedef void (*evl_io_cb)(struct evl_io *io, uint32_t events);

struct evl_io {
	int fd;
	uint32_t want;          /* events registered */
	evl_io_cb cb;
};

/* Creates the loop; NULL on failure. */
struct evl *evl_new(void);
void evl_free(struct evl *l);
int evl_add(struct evl *l, struct evl_io *io, uint32_t events);
int evl_mod(struct evl *l, struct evl_io *io, uint32_t events);
void evl_del(struct evl *l, struct evl_io *io);

/* Runs the loop until deadline_ns (CLOCK_MONOTONIC; 0: no deadline) or
 * until done(ctx) returns non-zero, checked after every turn.  Returns 0
 * when done, 1 at the deadline. */
int evl_run(struct evl *l, uint64_t deadline_ns, int (*done)(void *ctx), void *ctx);

/* Calls cb(ctx, now) every interval_ns from the loop (a timerfd); 0 stops
 * it.  Late ticks are not made up: the callback gets the time and catches
 * up itself. */
int evl_tick(struct evl *l, uint64_t interval_ns, void (*cb)(void *ctx, uint64_t now_ns), void *ctx);

/* ---- raw WebSocket clients ------------------------------------------- */

enum wsc_state {
	WSC_CONNECTING,  /* TCP connect in progress */
	WSC_UPGRADING,   /* upgrade request sent, waiting for 101 */
	WSC_OPEN,        /* 101 received; waiting for the "ready" event */
	WSC_READY,       /* authenticated: live updates flow */
	WSC_CLOSED,      /* closed by either side or failed; see wsc->err */
};

struct wsc;

struct wsc_ops {
	void (*ready)(struct wsc *c);
	/* A text frame other than the "ready" event. */
	void (*text)(struct wsc *c, const char *data, size_t len);
	/* The connection failed or was closed (not called by wsc_close). */
	void (*closed)(struct wsc *c);
};

struct wsc {
	struct evl_io io;            /* first: the loop hands us this */
	struct evl *l;
	const struct wsc_ops *ops;
	void *user;
	int idx;                     /* the caller's number for it */
	unsigned char state;         /* enum wsc_state */
	unsigned char queued;        /* on the loop's flush list */
	unsigned char close_code_seen;
	unsigned char torn;          /* socket closed and buffers freed */
	int close_code;              /* from the server's close frame, or 0 */
	char *in;                    /* carried-over partial input */
	uint32_t in_len, in_cap;
	char *out;                   /* frames not yet written */
	uint32_t out_len, out_cap, out_off;
	struct wsc *next_flush;
	const char *err;             /* why it closed (static string) */
};

/* Starts connecting c (zeroed by the caller but for user/idx/ops) to
 * host:port and asking for GET path (e.g. "/api/ws?token=..."). */
int wsc_connect(struct evl *l, struct wsc *c, const char *host, int port, const char *path);
/* Queues one masked text frame; written when the loop next flushes. */
int wsc_send_text(struct wsc *c, const char *data, size_t len);
/* Closes the socket at once (RST: the generator must not pile up TIME_WAIT
 * sockets over 15,000 connections per step) and frees its buffers. */
void wsc_close(struct wsc *c);

/* ---- libmosquitto clients ---------------------------------------------- */

struct mosquitto;
struct mosquitto_message;
struct mqc;

struct mqc_ops {
	/* CONNACK accepted and every subscription acknowledged. */
	void (*ready)(struct mqc *c);
	void (*message)(struct mqc *c, const struct mosquitto_message *m);
	/* PUBACK for a QoS 1 publish. */
	void (*published)(struct mqc *c, int mid);
	void (*closed)(struct mqc *c);
};

#define MQC_TOPICS_MAX 8

struct mqc {
	struct evl_io io;
	struct evl *l;
	struct mosquitto *m;
	const struct mqc_ops *ops;
	void *user;
	int idx;
	unsigned char state;         /* enum wsc_state, reused */
	unsigned char ntopics;
	char *topics[MQC_TOPICS_MAX];/* subscribed at QoS 1 once connected */
	const char *err;
};

/* libmosquitto's version, e.g. "2.0.11". */
const char *mqc_lib_version(void);
/* Connects c (zeroed but for user/idx/ops) to host:port with a clean
 * session; subscribes to the ntopics topics (copied) at QoS 1 once
 * connected.  The TCP connect itself is blocking (loopback). */
int mqc_connect(struct evl *l, struct mqc *c, const char *host, int port, const char *const *topics, int ntopics);
/* Publishes; returns 0 or a negative errno-style value. */
int mqc_publish(struct mqc *c, const char *topic, const void *payload, size_t len, int qos);
/* Keep-alive housekeeping (mosquitto_loop_misc); call every few seconds. */
void mqc_misc(struct mqc *c);
/* Closes with RST and frees the client. */
void mqc_close(struct mqc *c);

#endif
