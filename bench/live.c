/*
 * live.c — the live-delivery workloads, run on Parley (WebSocket, durable:
 * sync=full) and on Mosquitto (MQTT through libmosquitto) in the same
 * shapes, with the same 100-byte payload, in the same run (bench/README.md).
 *
 * Shapes.  A *stream* is one sender writing into one destination that
 * `fan` online receivers get: a 1:1 pair (a private chat / topic u/N), a
 * channel with 100, 1,000 or 10,000 subscribers (c/K), the 200-member
 * group (g).  A stream is driven either
 *   - closed-loop with a window: at most W messages sent and not yet
 *     received by all of its receivers (throughput figures), or
 *   - open-loop, paced: message k is *scheduled* at t0 + k/rate and sent
 *     then (or as soon after as the loop gets to it); latency is measured
 *     from the scheduled time, so a slow server cannot hide its delay by
 *     slowing the sender down.
 * Each message's payload carries its stream, number and scheduled time; a
 * receiver computes send-to-receive latency from it on the generator's one
 * monotonic clock.
 *
 * Receivers are users[1..n] of server 1 (one WebSocket each, authenticated
 * by ?token=) or n MQTT clients subscribed to the same topics the user's
 * memberships give.  Everything runs on one thread in the epoll loop of
 * evl.c, so the generator's CPU is one core at most and is reported beside
 * every figure.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <mosquitto.h>

#include "evl.h"
#include "lg.h"

#define LV_PAYLOAD 100              /* bytes of every message's payload (text / MQTT payload) */
#define LV_PENDING_CONNECTS 64      /* handshakes in flight while opening connections */
#define LV_OPEN_STALL_NS 20000000000ull /* no connection progress for this long: give up */
#define LV_DRAIN_NS 5000000000ull   /* after a run, wait this long for messages in flight */
#define LV_WARM_S 0.5               /* unmeasured load before each timed run (--quick: 0.25) */
#define LV_GROUP_SENDERS 4          /* senders into the 200-member group */
#define LV_GROUP_WINDOW 8           /* messages in flight per group sender */
#define LV_FANOUT_WINDOW 8          /* posts in flight in the fan-out runs, whatever the audience */
#define LV_MISC_NS 5000000000ull    /* libmosquitto keep-alive housekeeping period */
#define LV_TICK_NS 1000000ull       /* pacing timer */
#define LV_SLOW_S 0.005             /* the paced latency target: calls and commits above it are counted */

enum { LV_PARLEY, LV_MQTT };

struct lv;
struct lv_stream;

/* One connection: a receiver (st NULL) or a stream's sender. */
struct lv_ep {
	union {
		struct wsc w;
		struct mqc m;
	} c;                      /* first: the loop's callbacks get its address */
	struct lv *lv;
	struct lv_stream *st;
	unsigned char pending;    /* opening, not ready yet */
};

struct lv_stream {
	int id;
	struct lv_ep *tx;
	int64_t chat_id;          /* Parley destination */
	char topic[24];           /* MQTT destination */
	int fan;                  /* deliveries per message counted */
	int window;               /* closed loop: messages in flight; 0: paced */
	int by_ack;               /* the window counts acknowledged, not received */
	int active;
	double rate, phase;       /* paced: messages per second, offset in periods */
	uint64_t t0;
	uint64_t sent, acked, delivered;
};

struct lv {
	struct lg *g;
	struct evl *l;
	int sys, qos;
	const char *tag;          /* "parley", "mqtt q1", ... for logs */
	char host[64];
	int port;
	long pid;                 /* the server process */
	const struct lg_user *users;
	int nusers;
	struct lv_ep *rx;         /* receiver r is users[1 + r] */
	int nrx;
	struct lv_ep *tx;
	int ntx;
	struct lv_stream *st;
	int nst;
	int pending, opened, failed;
	int running;              /* a timed run is on: closures are failures */
	uint64_t m0, m1;          /* messages scheduled in [m0, m1) are measured */
	unsigned epoch;           /* numbers the stream sets: lv_streams() */
	uint64_t delivered, stray, closed_during;
	uint64_t bad_acks;
	struct lg_lat lat;
	char first_error[240];
	uint64_t last_misc;
};

/* What one timed run measured. */
struct lv_res {
	double wall, deliveries, msgs, acked, sent;
	double server_cpu, self_cpu, other_cpu;
	double p50, p99, p999;
	double lost;
	/* Parley's own counters over the measured window (-1: not read) */
	double commits, checkpoints, restarts, wal_pages;
	/* p99 of the writer's histograms over the window, to their buckets'
	 * resolution (ms; -1: not read): one group's hold, a write call's
	 * time from its hand-off to its commit, from its commit to the loop */
	double group_p99, job_p99, handback_p99, commit_p99;
	/* of the same, how many calls waited and how many COMMITs took longer
	 * than LV_SLOW_S (-1: not read): the paced p99's tail is these */
	double job_slow, commit_slow;
	double steal;                  /* cores taken by the hypervisor during the run */
};

/* The store counters of GET /metrics that say what the commits and the
 * checkpointer did during a run (docs/store.md, "Checkpoints"). */
struct lv_store_ctr {
	double commits, checkpoints, restarts;
	struct lg_hist group, job, handback, commit;
};

/* Reads them from the main server (the probe client talks to it only);
 * -1 each for the other servers. */
static void lv_store_ctr(const struct lv *lv, struct lv_store_ctr *c)
{
	int ours = lv->sys == LV_PARLEY && lv->pid == lv->g->o.pid;
	char *body = ours ? lg_metrics(lv->g) : NULL; /* one GET for every series */

	c->commits = lg_metric_in(body, "parley_commits_total");
	c->checkpoints = lg_metric_in(body, "parley_checkpoints_total");
	c->restarts = lg_metric_in(body, "parley_checkpoint_restarts_total");
	lg_hist_in(body, "parley_writer_group_seconds", &c->group);
	lg_hist_in(body, "parley_writer_job_seconds", &c->job);
	lg_hist_in(body, "parley_writer_handback_seconds", &c->handback);
	lg_hist_in(body, "parley_writer_commit_seconds", &c->commit);
	free(body);
}

/* p99 in ms between two readings of one histogram, or -1. */
static double lv_hist_p99(const struct lg_hist *a, const struct lg_hist *b)
{
	double v = lg_hist_quantile(a, b, 0.99);

	return v < 0 ? -1 : v >= 1e300 ? 1e9 : v * 1000;
}

static uint64_t lv_now(void)
{
	return lg_now_ns();
}

/* ---- receiving ------------------------------------------------------------- */

static int lv_num(const char **p, const char *end, uint64_t *v)
{
	const char *s = *p;

	*v = 0;
	if (s >= end || *s < '0' || *s > '9')
		return -1;
	while (s < end && *s >= '0' && *s <= '9')
		*v = *v * 10 + (uint64_t)(*s++ - '0');
	if (s < end && *s == ' ')
		s++;
	*p = s;
	return 0;
}

static void lv_pump(struct lv_stream *s);

/* A payload "L<run> <stream> <seq> <sched> xxx..." arrived at a
 * receiver.  A message of an earlier run (one that was late past the
 * drain) is counted as stray, never as this run's. */
static void lv_got(struct lv *lv, const char *p, size_t n)
{
	const char *end = p + n;
	uint64_t epoch, id, seq, sched;
	struct lv_stream *s;

	p++; /* 'L' */
	if (lv_num(&p, end, &epoch) < 0 || lv_num(&p, end, &id) < 0 || lv_num(&p, end, &seq) < 0 ||
	    lv_num(&p, end, &sched) < 0 || epoch != lv->epoch || id >= (uint64_t)lv->nst) {
		lv->stray++;
		return;
	}
	s = &lv->st[id];
	s->delivered++;
	lv->delivered++;
	if (sched >= lv->m0 && sched < lv->m1)
		lg_lat_add(&lv->lat, lv_now() - sched);
	if (s->window && s->active)
		lv_pump(s);
}

static void lv_ep_ready(struct lv_ep *e)
{
	if (e->pending) {
		e->pending = 0;
		e->lv->pending--;
		e->lv->opened++;
	}
}

static void lv_ep_closed(struct lv_ep *e, const char *why, int code)
{
	struct lv *lv = e->lv;

	if (e->pending) {
		e->pending = 0;
		lv->pending--;
		if (!lv->failed++)
			lg_log("%s: a connection failed to open: %s (close code %d)", lv->tag, why, code);
		return;
	}
	lv->closed_during++;
	if (lv->running && lv->closed_during <= 3)
		lg_log("%s: a connection closed during a run: %s (close code %d)", lv->tag, why, code);
}

static void lv_ack(struct lv *lv, struct lv_ep *e, int ok, const char *d, size_t n)
{
	e->st->acked++;
	if (!ok && !lv->bad_acks++)
		snprintf(lv->first_error, sizeof lv->first_error, "%.*s", (int)(n < 200 ? n : 200), d);
	if (e->st->by_ack && e->st->active)
		lv_pump(e->st);
}

static void lv_ws_ready(struct wsc *c)
{
	lv_ep_ready((struct lv_ep *)c);
}

static void lv_ws_text(struct wsc *c, const char *d, size_t n)
{
	struct lv_ep *e = (struct lv_ep *)c;
	const char *t;

	if (e->st) {
		/* A sender's socket: replies to its calls ({"id":N,"ok":...}),
		 * and the pushes of its own messages, which it ignores. */
		if (n > 6 && !memcmp(d, "{\"id\":", 6)) {
			const char *comma = memchr(d + 6, ',', n - 6);
			int ok = comma && (size_t)(d + n - comma) > 10 && !memcmp(comma + 1, "\"ok\":true", 9);
			lv_ack(e->lv, e, ok, d, n);
		}
		return;
	}
	if ((t = memmem(d, n, "\"text\":\"L", 9)) != NULL)
		lv_got(e->lv, t + 8, (size_t)(d + n - (t + 8)));
}

static void lv_ws_closed(struct wsc *c)
{
	lv_ep_closed((struct lv_ep *)c, c->err ? c->err : "?", c->close_code);
}

static const struct wsc_ops lv_ws_ops = {lv_ws_ready, lv_ws_text, lv_ws_closed};

static void lv_mq_ready(struct mqc *c)
{
	lv_ep_ready((struct lv_ep *)c);
}

static void lv_mq_message(struct mqc *c, const struct mosquitto_message *m)
{
	struct lv_ep *e = (struct lv_ep *)c;

	if (m->payloadlen > 0 && ((const char *)m->payload)[0] == 'L')
		lv_got(e->lv, m->payload, (size_t)m->payloadlen);
}

static void lv_mq_published(struct mqc *c, int mid)
{
	struct lv_ep *e = (struct lv_ep *)c;

	if (e->st && e->lv->qos > 0)
		lv_ack(e->lv, e, 1, NULL, 0);
}

static void lv_mq_closed(struct mqc *c)
{
	lv_ep_closed((struct lv_ep *)c, c->err ? c->err : "?", 0);
}

static const struct mqc_ops lv_mq_ops = {lv_mq_ready, lv_mq_message, lv_mq_published, lv_mq_closed};

/* ---- sending ------------------------------------------------------------------ */

static void lv_send(struct lv_stream *s, uint64_t sched)
{
	struct lv *lv = s->tx->lv;
	char pl[LV_PAYLOAD + 1], req[LV_PAYLOAD + 160];
	int n = snprintf(pl, sizeof pl, "L%u %d %" PRIu64 " %" PRIu64 " ", lv->epoch, s->id, s->sent, sched);
	int rc;

	memset(pl + n, 'x', (size_t)(LV_PAYLOAD - n));
	pl[LV_PAYLOAD] = 0;
	if (lv->sys == LV_PARLEY) {
		n = snprintf(req, sizeof req,
			     "{\"id\":%" PRIu64 ",\"method\":\"sendMessage\",\"params\":{\"chat_id\":%" PRId64
			     ",\"text\":\"%s\"}}",
			     s->sent, s->chat_id, pl);
		rc = wsc_send_text(&s->tx->c.w, req, (size_t)n);
	} else {
		rc = mqc_publish(&s->tx->c.m, s->topic, pl, LV_PAYLOAD, lv->qos);
	}
	if (rc < 0 && !lv->bad_acks++)
		snprintf(lv->first_error, sizeof lv->first_error, "send failed: %s", strerror(-rc));
	s->sent++;
}

/* Closed loop: tops the stream's window up. */
static void lv_pump(struct lv_stream *s)
{
	uint64_t now = 0;

	while (s->active && s->sent - (s->by_ack ? s->acked : s->delivered / (uint64_t)s->fan) < (uint64_t)s->window) {
		if (!now)
			now = lv_now();
		lv_send(s, now);
	}
}

/* Open loop: sends everything scheduled up to now, each stamped with its
 * scheduled time. */
static void lv_tick(void *ctx, uint64_t now)
{
	struct lv *lv = ctx;

	for (int i = 0; i < lv->nst; i++) {
		struct lv_stream *s = &lv->st[i];
		if (!s->active || s->window)
			continue;
		for (;;) {
			uint64_t sched = s->t0 + (uint64_t)(((double)s->sent + s->phase) * 1e9 / s->rate);
			if (sched > now)
				break;
			lv_send(s, sched);
		}
	}
	if (lv->sys == LV_MQTT && now - lv->last_misc > LV_MISC_NS) {
		lv->last_misc = now;
		for (int i = 0; i < lv->nrx; i++)
			mqc_misc(&lv->rx[i].c.m);
		for (int i = 0; i < lv->ntx; i++)
			mqc_misc(&lv->tx[i].c.m);
	}
}

/* ---- connections ------------------------------------------------------------------ */

/* The MQTT topics receiver r subscribes to: the same destinations the
 * Parley user users[1 + r] is a member of. */
static int lv_topics(const struct lg *g, int r, char topics[][24])
{
	int n = 0;

	snprintf(topics[n++], 24, "u/%d", r);
	for (int k = 0; k < 3; k++)
		if (r < g->fan_n[k])
			snprintf(topics[n++], 24, "c/%d", k);
	if (r < LG_GROUP_SIZE - 1)
		snprintf(topics[n++], 24, "g");
	return n;
}

/* Starts opening endpoint e: a receiver (r >= 0, user 1 + r) or a sender
 * as user u (r < 0). */
static int lv_ep_start(struct lv *lv, struct lv_ep *e, int r, int u)
{
	char path[PARLEY_TOKEN_MAX + 32];
	int rc;

	memset(&e->c, 0, sizeof e->c);
	e->lv = lv;
	e->pending = 1;
	lv->pending++;
	if (lv->sys == LV_PARLEY) {
		e->c.w.ops = &lv_ws_ops;
		snprintf(path, sizeof path, "/api/ws?token=%s", lv->users[r >= 0 ? 1 + r : u].token);
		rc = wsc_connect(lv->l, &e->c.w, lv->host, lv->port, path);
	} else {
		char topics[MQC_TOPICS_MAX][24];
		const char *tp[MQC_TOPICS_MAX];
		int nt = r >= 0 ? lv_topics(lv->g, r, topics) : 0;
		for (int i = 0; i < nt; i++)
			tp[i] = topics[i];
		e->c.m.ops = &lv_mq_ops;
		rc = mqc_connect(lv->l, &e->c.m, lv->host, lv->port, tp, nt);
	}
	if (rc < 0) {
		e->pending = 0;
		lv->pending--;
		if (!lv->failed++)
			lg_log("%s: cannot connect: %s", lv->tag, strerror(-rc));
	}
	return rc;
}

static void lv_ep_close(struct lv *lv, struct lv_ep *e)
{
	if (lv->sys == LV_PARLEY)
		wsc_close(&e->c.w);
	else
		mqc_close(&e->c.m);
}

struct lv_opening {
	struct lv *lv;
	int next, to;
};

static int lv_open_room(void *ctx)
{
	struct lv_opening *o = ctx;

	return (o->next < o->to && o->lv->pending < LV_PENDING_CONNECTS) || (o->next >= o->to && !o->lv->pending);
}

/* Opens receivers [from, to) of lv->rx (senders when rx is NULL: tx[from,
 * to) as user u), LV_PENDING_CONNECTS at a time; returns the seconds from
 * the first connect to the last ready.  Dies when connections stop making
 * progress. */
static double lv_open(struct lv *lv, struct lv_ep *eps, int from, int to, int sender_user)
{
	struct lv_opening o = {lv, from, to};
	uint64_t t0 = lv_now(), last = t0;
	int done = lv->opened + lv->failed;

	while (o.next < o.to || lv->pending) {
		while (o.next < o.to && lv->pending < LV_PENDING_CONNECTS) {
			int i = o.next++;
			lv_ep_start(lv, &eps[i], sender_user < 0 ? i : -1, sender_user);
		}
		evl_run(lv->l, lv_now() + 1000000000ull, lv_open_room, &o);
		if (lv->opened + lv->failed != done) {
			done = lv->opened + lv->failed;
			last = lv_now();
		} else if (lv_now() - last > LV_OPEN_STALL_NS) {
			lg_die("%s: %d connections still opening after %.0f s without progress", lv->tag, lv->pending,
			       LV_OPEN_STALL_NS / 1e9);
		}
	}
	return (double)(lv_now() - t0) / 1e9;
}

static void lv_init(struct lv *lv, struct lg *g, struct evl *l, int sys, const char *url_or_hostport, long pid,
		    const struct lg_user *users, int nusers)
{
	const char *hp = url_or_hostport;
	const char *colon;

	memset(lv, 0, sizeof *lv);
	lv->g = g;
	lv->l = l;
	lv->sys = sys;
	lv->pid = pid;
	lv->users = users;
	lv->nusers = nusers;
	lv->tag = sys == LV_PARLEY ? "parley" : "mosquitto";
	if (!strncmp(hp, "http://", 7))
		hp += 7;
	if (!(colon = strrchr(hp, ':')))
		lg_die("bad address %s", url_or_hostport);
	snprintf(lv->host, sizeof lv->host, "%.*s", (int)(colon - hp), hp);
	lv->port = atoi(colon + 1);
}

/* Opens n receivers (users[1..n] / their MQTT twins). */
static double lv_open_rx(struct lv *lv, int n)
{
	double t;

	if (!(lv->rx = calloc((size_t)n, sizeof *lv->rx)))
		lg_die("out of memory");
	lv->nrx = n;
	t = lv_open(lv, lv->rx, 0, n, -1);
	if (lv->failed)
		lg_die("%s: %d of %d receivers failed to open", lv->tag, lv->failed, n);
	return t;
}

static void lv_close_all(struct lv *lv)
{
	for (int i = 0; i < lv->ntx; i++)
		lv_ep_close(lv, &lv->tx[i]);
	for (int i = 0; i < lv->nrx; i++)
		lv_ep_close(lv, &lv->rx[i]);
	free(lv->tx);
	free(lv->rx);
	free(lv->st);
	lv->tx = lv->rx = NULL;
	lv->st = NULL;
	lv->ntx = lv->nrx = lv->nst = 0;
	lg_lat_release(&lv->lat);
}

/* Waits until the server's CPU has quietened (below 5% over 200 ms, at
 * most 10 s): what the last workload left (sessions going offline, a WAL
 * checkpoint) must not be billed to the next one. */
static void lv_settle(struct lv *lv)
{
	for (int i = 0; i < 50; i++) {
		double c0 = lg_server_cpu(lv->pid);
		evl_run(lv->l, lv_now() + 200000000ull, NULL, NULL);
		if (c0 < 0 || lg_server_cpu(lv->pid) - c0 < 0.01)
			return;
	}
}

/* ---- runs -------------------------------------------------------------------------- */

/* Sets up streams: ns streams with one new sender each.  dest(i) fills in
 * a stream's destination and fan.  The senders connect as user u_of(i). */
struct lv_plan {
	int n;
	int window;                /* 0: paced */
	double rate;               /* paced: total messages per second over all streams */
};

static int lv_drained(void *ctx)
{
	struct lv *lv = ctx;

	for (int i = 0; i < lv->nst; i++)
		if (lv->st[i].delivered < lv->st[i].sent * (uint64_t)lv->st[i].fan)
			return 0;
	return 1;
}

static int lv_drained_acks(struct lv *lv)
{
	for (int i = 0; i < lv->nst; i++)
		if (lv->st[i].acked < lv->st[i].sent)
			return 0;
	return 1;
}

/* One timed run of the streams set up in lv->st: LV_WARM_S of load
 * unmeasured, then seconds measured, then the messages in flight are
 * waited for (they still count for latency: a message scheduled inside
 * the window is measured whenever it arrives). */
static void lv_measure(struct lv *lv, const char *wl, double seconds, struct lv_res *r)
{
	uint64_t now = lv_now(), t1, t2;
	uint64_t d0, d1, a0 = 0, a1 = 0, s0 = 0, s1 = 0, want = 0;
	double c0, c1, self0, self1, b0, b1, st0, st1;
	struct lv_store_ctr k0, k1;
	int paced = 0;

	memset(r, 0, sizeof *r);
	lv->m0 = UINT64_MAX;
	lv->m1 = UINT64_MAX;
	lv->lat.n = 0;
	lv->running = 1;
	lv->closed_during = 0;
	for (int i = 0; i < lv->nst; i++) {
		lv->st[i].active = 1;
		lv->st[i].t0 = now;
		paced |= !lv->st[i].window;
	}
	if (paced)
		evl_tick(lv->l, LV_TICK_NS, lv_tick, lv);
	for (int i = 0; i < lv->nst; i++)
		if (lv->st[i].window)
			lv_pump(&lv->st[i]);
	evl_run(lv->l, now + (uint64_t)((lv->g->o.quick ? LV_WARM_S / 2 : LV_WARM_S) * 1e9), NULL, NULL);

	lv_store_ctr(lv, &k0); /* before t1: the pause it makes is not measured */
	t1 = lv_now();
	lv->m0 = t1;
	d0 = lv->delivered;
	for (int i = 0; i < lv->nst; i++)
		a0 += lv->st[i].acked, s0 += lv->st[i].sent;
	c0 = lg_server_cpu(lv->pid);
	self0 = lg_self_cpu();
	lg_machine_cpu(&b0, &st0);
	evl_run(lv->l, t1 + (uint64_t)(seconds * 1e9), NULL, NULL);
	t2 = lv_now();
	lv->m1 = t2;
	d1 = lv->delivered;
	for (int i = 0; i < lv->nst; i++)
		a1 += lv->st[i].acked, s1 += lv->st[i].sent;
	c1 = lg_server_cpu(lv->pid);
	self1 = lg_self_cpu();
	lg_machine_cpu(&b1, &st1);
	lv_store_ctr(lv, &k1);

	for (int i = 0; i < lv->nst; i++)
		lv->st[i].active = 0;
	if (paced)
		evl_tick(lv->l, 0, NULL, NULL);
	evl_run(lv->l, lv_now() + LV_DRAIN_NS, lv_drained, lv);
	lv->running = 0;
	for (int i = 0; i < lv->nst; i++) {
		uint64_t w = lv->st[i].sent * (uint64_t)lv->st[i].fan;
		want += w;
		if (w > lv->st[i].delivered)
			r->lost += (double)(w - lv->st[i].delivered);
	}

	r->wall = (double)(t2 - t1) / 1e9;
	r->deliveries = (double)(d1 - d0) / r->wall;
	r->msgs = lv->nst ? r->deliveries / (double)lv->st[0].fan : 0;
	r->acked = (double)(a1 - a0) / r->wall;
	r->sent = (double)(s1 - s0) / r->wall;
	r->server_cpu = c0 < 0 ? -1 : c1 - c0;
	r->self_cpu = self1 - self0;
	r->other_cpu = b0 >= 0 ? (b1 - b0 - r->server_cpu - r->self_cpu) / r->wall : 0;
	if (r->other_cpu < 0)
		r->other_cpu = 0;
	r->steal = st0 >= 0 && st1 >= st0 ? (st1 - st0) / r->wall : 0;
	r->p50 = lg_lat_ms(&lv->lat, 0.50);
	r->p99 = lg_lat_ms(&lv->lat, 0.99);
	r->p999 = lg_lat_ms(&lv->lat, 0.999);
	r->commits = k0.commits < 0 || k1.commits < 0 ? -1 : (k1.commits - k0.commits) / r->wall;
	r->checkpoints = k0.checkpoints < 0 || k1.checkpoints < 0 ? -1 : (k1.checkpoints - k0.checkpoints) / r->wall;
	r->restarts = k0.restarts < 0 || k1.restarts < 0 ? -1 : k1.restarts - k0.restarts;
	r->wal_pages = lv->sys == LV_PARLEY && lv->pid == lv->g->o.pid ? lg_metric(lv->g, "parley_wal_pages") : -1;
	r->group_p99 = lv_hist_p99(&k0.group, &k1.group);
	r->job_p99 = lv_hist_p99(&k0.job, &k1.job);
	r->handback_p99 = lv_hist_p99(&k0.handback, &k1.handback);
	r->commit_p99 = lv_hist_p99(&k0.commit, &k1.commit);
	r->job_slow = lg_hist_above(&k0.job, &k1.job, LV_SLOW_S);
	r->commit_slow = lg_hist_above(&k0.commit, &k1.commit, LV_SLOW_S);
	if (r->lost > 0) {
		lg_log("%s: %.0f of %" PRIu64 " deliveries did not arrive within %.0f s of the end (%" PRIu64
		       " stray messages seen)", wl, r->lost, want, LV_DRAIN_NS / 1e9, lv->stray);
		for (int i = 0; i < lv->nst; i++)
			lg_log("  stream %d: sent %" PRIu64 ", acknowledged %" PRIu64 ", delivered %" PRIu64 " (x%d)", i,
			       lv->st[i].sent, lv->st[i].acked, lv->st[i].delivered, lv->st[i].fan);
	}
	if (lv->bad_acks) {
		lg_log("%s: %" PRIu64 " calls failed, first: %s", wl, lv->bad_acks, lv->first_error);
		lv->g->failures += lv->bad_acks;
		lv->bad_acks = 0;
	}
	if (lv->closed_during) {
		lg_log("%s: %" PRIu64 " connections closed during the run", wl, lv->closed_during);
		lv->g->failures += lv->closed_during;
	}
}

/* Opens the senders of the streams already described in lv->st (tx[i]
 * sends stream i) as user u (Parley; ignored for MQTT). */
static void lv_open_tx(struct lv *lv, int u)
{
	if (!(lv->tx = calloc((size_t)lv->nst, sizeof *lv->tx)))
		lg_die("out of memory");
	lv->ntx = lv->nst;
	lv_open(lv, lv->tx, 0, lv->nst, u);
	if (lv->failed)
		lg_die("%s: senders failed to open", lv->tag);
	for (int i = 0; i < lv->nst; i++) {
		lv->st[i].tx = &lv->tx[i];
		lv->tx[i].st = &lv->st[i];
	}
}

static void lv_close_tx(struct lv *lv)
{
	for (int i = 0; i < lv->ntx; i++)
		lv_ep_close(lv, &lv->tx[i]);
	free(lv->tx);
	free(lv->st);
	lv->tx = NULL;
	lv->st = NULL;
	lv->ntx = lv->nst = 0;
}

static unsigned lv_epochs; /* every stream set of the process gets its own number */

static struct lv_stream *lv_streams(struct lv *lv, int n)
{
	lv->epoch = ++lv_epochs;
	if (!(lv->st = calloc((size_t)n, sizeof *lv->st)))
		lg_die("out of memory");
	lv->nst = n;
	for (int i = 0; i < n; i++)
		lv->st[i].id = i;
	return lv->st;
}

/* Paced streams share the total rate and are spread over one period. */
static void lv_pace(struct lv *lv, double total_rate)
{
	for (int i = 0; i < lv->nst; i++) {
		lv->st[i].window = 0;
		lv->st[i].rate = total_rate / lv->nst;
		lv->st[i].phase = (double)i / lv->nst;
	}
}

/* Records the figures of one run under workload wl. */
static void lv_put(struct lv *lv, const char *wl, const struct lv_res *r, int paced, double offered)
{
	struct lg *g = lv->g;
	const char *note = lv->sys == LV_PARLEY ? lg_durable
			   : lv->qos ? "QoS 1, persistence off"
				     : "QoS 0, persistence off";

	if (paced) {
		lg_put(g, wl, "offered load (paced, open loop)", "msgs/s", note, offered);
		lg_put(g, wl, "send-to-receive latency p50", "ms", note, r->p50);
		lg_put(g, wl, "send-to-receive latency p99", "ms", note, r->p99);
		lg_put(g, wl, "send-to-receive latency p99.9", "ms", note, r->p999);
		lg_put(g, wl, "deliveries per second", "deliveries/s", note, r->deliveries);
	} else {
		lg_put(g, wl, "messages per second (received)", "msgs/s", note, r->msgs);
		if (lv->st[0].fan > 1)
			lg_put(g, wl, "deliveries per second", "deliveries/s", note, r->deliveries);
		if (lv->sys == LV_PARLEY || lv->qos)
			lg_put(g, wl, "acknowledged per second", "msgs/s", note, r->acked);
		lg_put(g, wl, "send-to-receive latency p50 (loaded)", "ms", note, r->p50);
		lg_put(g, wl, "send-to-receive latency p99 (loaded)", "ms", note, r->p99);
	}
	if (r->server_cpu > 0)
		lg_put(g, wl, "deliveries per server CPU-second", "deliveries/CPU-s", note,
		       r->deliveries * r->wall / r->server_cpu);
	if (r->server_cpu >= 0)
		lg_put(g, wl, "server CPU busy", "cores", NULL, r->server_cpu / r->wall);
	lg_put(g, wl, "load generator CPU", "cores", NULL, r->self_cpu / r->wall);
	lg_put(g, wl, "other CPU on the machine", "cores", NULL, r->other_cpu);
	lg_put(g, wl, "CPU stolen by the hypervisor", "cores", NULL, r->steal);
	lg_put(g, wl, "deliveries lost or late (> 5 s)", "deliveries", NULL, r->lost);
	if (r->commits >= 0) {
		lg_put(g, wl, "group commits per second", "commits/s", NULL, r->commits);
		lg_put(g, wl, "checkpoints per second", "checkpoints/s", NULL, r->checkpoints);
		lg_put(g, wl, "RESTART checkpoints (held the writer)", "checkpoints", NULL, r->restarts);
		lg_put(g, wl, "WAL pages after the run", "pages", NULL, r->wal_pages);
	}
	if (r->group_p99 >= 0) {
		lg_put(g, wl, "writer: one group's hold p99 (bucket bound)", "ms", NULL, r->group_p99);
		lg_put(g, wl, "writer: call to its commit p99 (bucket bound)", "ms", NULL, r->job_p99);
		if (r->handback_p99 >= 0)
			lg_put(g, wl, "writer: commit back to the loop p99 (bucket bound)", "ms", NULL, r->handback_p99);
		if (r->commit_p99 >= 0)
			lg_put(g, wl, "writer: COMMIT alone p99 (bucket bound)", "ms", NULL,
			       r->commit_p99);
		if (r->job_slow >= 0)
			lg_put(g, wl, "writer: calls that waited over 5 ms for their commit", "calls", NULL, r->job_slow);
		if (r->commit_slow >= 0)
			lg_put(g, wl, "writer: COMMITs (with their fsync) over 5 ms", "commits", NULL, r->commit_slow);
	}
}

static void lv_workload_name(char *buf, size_t len, const struct lv *lv, const char *shape)
{
	if (lv->sys == LV_PARLEY)
		snprintf(buf, len, "%s %s", lv->tag, shape);
	else
		snprintf(buf, len, "mqtt q%d %s", lv->qos, shape);
}

/* Whether a live shape runs under --shapes (a comma-separated list of
 * shape names, e.g. "1:1,fan-out 10000"; NULL runs every shape). */
static int lv_want(const struct lg *g, const char *shape)
{
	const char *p = g->o.shapes;
	size_t n = strlen(shape);

	if (!p)
		return 1;
	while (*p) {
		size_t k = strcspn(p, ",");
		if (k == n && !strncmp(p, shape, n))
			return 1;
		p += k + (p[k] == ',');
	}
	return 0;
}

/* 1:1: pair p sends to receiver p (a private chat; topic u/p). */
static void lv_run_pairs(struct lv *lv, int pair_user0, int paced)
{
	struct lg *g = lv->g;
	int n = g->o.pairs;
	struct lv_res r;
	char wl[40];

	if (!lv_want(g, paced ? "1:1 paced" : "1:1"))
		return;
	lv_streams(lv, n);
	for (int i = 0; i < n; i++) {
		struct lv_stream *s = &lv->st[i];
		s->chat_id = lv->users ? lv->users[1 + i].id : 0;
		snprintf(s->topic, sizeof s->topic, "u/%d", i);
		s->fan = 1;
		s->window = g->o.window;
	}
	if (paced)
		lv_pace(lv, g->o.rate);
	if (!(lv->tx = calloc((size_t)n, sizeof *lv->tx)))
		lg_die("out of memory");
	lv->ntx = n;
	for (int i = 0; i < n; i++) /* each pair's sender is its own user */
		lv_open(lv, lv->tx, i, i + 1, pair_user0 + i);
	if (lv->failed)
		lg_die("%s: senders failed to open", lv->tag);
	for (int i = 0; i < n; i++) {
		lv->st[i].tx = &lv->tx[i];
		lv->tx[i].st = &lv->st[i];
	}
	lv_settle(lv);
	lv_workload_name(wl, sizeof wl, lv, paced ? "1:1 paced" : "1:1");
	lv_measure(lv, wl, paced ? g->o.paced_seconds : g->o.live_seconds, &r);
	lv_put(lv, wl, &r, paced, g->o.rate);
	lv_close_tx(lv);
}

/* Posts from the owner (users[0]) into destination chat/topic with fan
 * receivers; senders streams (each its own connection). */
static void lv_run_fan(struct lv *lv, const char *shape, int64_t chat, const char *topic, int fan, int senders,
		       int window, double rate)
{
	struct lg *g = lv->g;
	struct lv_res r;
	char wl[40];

	if (!lv_want(g, shape))
		return;
	lv_streams(lv, senders);
	for (int i = 0; i < senders; i++) {
		struct lv_stream *s = &lv->st[i];
		s->chat_id = chat;
		snprintf(s->topic, sizeof s->topic, "%s", topic);
		s->fan = fan;
		s->window = window;
	}
	if (rate > 0)
		lv_pace(lv, rate);
	lv_open_tx(lv, 0);
	lv_settle(lv);
	lv_workload_name(wl, sizeof wl, lv, shape);
	lv_measure(lv, wl, rate > 0 ? g->o.paced_seconds : g->o.live_seconds, &r);
	lv_put(lv, wl, &r, rate > 0, rate);
	lv_close_tx(lv);
}

/* Opens the receivers every shape needs: users[1..n] where n covers the
 * largest fan-out, the group and the pairs. */
static void lv_suite_open(struct lv *lv)
{
	struct lg *g = lv->g;
	int nrx = g->fan_n[2] > LG_GROUP_SIZE ? g->fan_n[2] : LG_GROUP_SIZE;
	double t;

	if (nrx < g->o.pairs)
		nrx = g->o.pairs;
	t = lv_open_rx(lv, nrx);
	lg_log("%s: %d receivers open in %.1f s", lv->tag, nrx, t);
}

/* Every shape of one system on server 1 (or the broker), with the
 * receivers of lv_suite_open() online throughout. */
static void lv_suite(struct lv *lv, int pair_user0)
{
	struct lg *g = lv->g;
	char shape[40], topic[8];

	lv_run_pairs(lv, pair_user0, 0);
	lv_run_pairs(lv, pair_user0, 1);
	lv_run_fan(lv, "channel-100 paced", g->fan_chat[0], "c/0", g->fan_n[0], 1, 0, g->o.rate);
	for (int k = 0; k < 3; k++) {
		if (k && g->fan_n[k] == g->fan_n[k - 1])
			continue; /* --fanout 1000 or less: sizes coincide */
		snprintf(shape, sizeof shape, "fan-out %d", g->fan_n[k]);
		snprintf(topic, sizeof topic, "c/%d", k);
		lv_run_fan(lv, shape, g->fan_chat[k], topic, g->fan_n[k], 1, LV_FANOUT_WINDOW, 0);
	}
	lv_run_fan(lv, "group-200", g->group_id, "g", LG_GROUP_SIZE - 1, LV_GROUP_SENDERS, LV_GROUP_WINDOW, 0);
	lv_run_fan(lv, "group-200 paced", g->group_id, "g", LG_GROUP_SIZE - 1, LV_GROUP_SENDERS, 0, g->o.rate / 10.0);
}

/* ---- setup ------------------------------------------------------------------------ */

void lv_setup_channels(struct lg *g)
{
	struct parley_client *c = lg_client_at(g->o.server, g->users[0].token);
	struct parley_error err;
	uint64_t t0 = lg_now_ns();
	const char *names[3] = {"fan-out 100", "fan-out 1000", "fan-out max"};

	g->fan_n[0] = g->o.fanout_max < 100 ? g->o.fanout_max : 100;
	g->fan_n[1] = g->o.fanout_max < 1000 ? g->o.fanout_max : 1000;
	g->fan_n[2] = g->o.fanout_max;
	for (int k = 0; k < 3; k++) {
		lg_check(parley_create_channel(c, names[k], NULL, &g->fan_chat[k], &err), &err, "createChannel");
		lg_add_members(g->o.server, g->users[0].token, g->fan_chat[k], g->users, 1, 1 + g->fan_n[k]);
	}
	parley_client_free(c);
	lg_log("channels of %d, %d and %d subscribers in %.1f s", g->fan_n[0], g->fan_n[1], g->fan_n[2],
	       (double)(lg_now_ns() - t0) / 1e9);
}

void lv_setup(struct lg *g)
{
	struct parley_client *c;
	struct parley_error err;

	if (g->o.server2) {
		int64_t ids[LG_GROUP_SIZE];
		g->nusers2 = LG_GROUP_SIZE;
		g->users2 = lg_register(g->o.server2, "s2_", g->nusers2);
		for (int i = 1; i < LG_GROUP_SIZE; i++)
			ids[i - 1] = g->users2[i].id;
		c = lg_client_at(g->o.server2, g->users2[0].token);
		lg_check(parley_create_group(c, "bench group, fan-out on write", ids, LG_GROUP_SIZE - 1, &g->group2_id, &err),
			 &err, "createGroup on server 2");
		parley_client_free(c);
	}
}

/* The first user of the 1:1 senders (after every receiver). */
static int lv_pair_user0(const struct lg *g)
{
	return g->nusers - g->o.pairs;
}

void lv_run_live(struct lg *g, int run)
{
	struct evl *l = evl_new();
	struct lv lv;

	if (!l)
		lg_die("cannot create the event loop");
	lg_log("live workloads, run %d of %d: parley", run + 1, g->o.runs);
	lv_init(&lv, g, l, LV_PARLEY, g->o.server, g->o.pid, g->users, g->nusers);
	lv_suite_open(&lv);
	lv_suite(&lv, lv_pair_user0(g));
	lv_close_all(&lv);

	if (g->o.server2) {
		/* The same group with large_group_threshold=1000: a 200-member
		 * group keeps one update sequence per member (fan-out on write). */
		lg_log("live workloads, run %d of %d: parley, large_group_threshold=1000", run + 1, g->o.runs);
		lv_init(&lv, g, l, LV_PARLEY, g->o.server2, g->o.pid2, g->users2, g->nusers2);
		lv.tag = "parley userseq";
		lv_open_rx(&lv, LG_GROUP_SIZE - 1);
		lv_run_fan(&lv, "group-200", g->group2_id, "g", LG_GROUP_SIZE - 1, LV_GROUP_SENDERS, LV_GROUP_WINDOW, 0);
		lv_run_fan(&lv, "group-200 paced", g->group2_id, "g", LG_GROUP_SIZE - 1, LV_GROUP_SENDERS, 0,
			   g->o.rate / 10.0);
		lv_close_all(&lv);
	}

	if (g->o.mqtt) {
		/* One set of subscribers (at QoS 1) serves both: what a
		 * subscriber gets is the publish's QoS. */
		lg_log("live workloads, run %d of %d: mosquitto", run + 1, g->o.runs);
		lv_init(&lv, g, l, LV_MQTT, g->o.mqtt, g->o.mqtt_pid, NULL, 0);
		lv.tag = "mosquitto";
		lv_suite_open(&lv);
		for (int qos = 1; qos >= 0; qos--) {
			lg_log("live workloads, run %d of %d: mosquitto, QoS %d", run + 1, g->o.runs, qos);
			lv.qos = qos;
			lv_suite(&lv, 0);
		}
		lv_close_all(&lv);
	}
	evl_free(l);
}

/* ---- idle connections -------------------------------------------------------------- */

static long lv_slab_kib(void)
{
	char line[256];
	long v = -1;
	FILE *f = fopen("/proc/meminfo", "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof line, f))
		if (sscanf(line, "Slab: %ld kB", &v) == 1)
			break;
	fclose(f);
	return v;
}

/* Opens o.ws_idle connections in o.ws_steps steps, each step adding
 * connections on top of the ones before (memory the earlier steps freed is
 * never reused, so each step's RSS growth is its own); one pass per system.
 * The steps stand for the runs: their median is reported. */
static void lv_idle(struct lg *g, struct evl *l, int sys)
{
	struct lv lv;
	const char *wl = sys == LV_PARLEY ? "parley idle connections" : "mqtt idle connections";
	const char *note = sys == LV_PARLEY ? "WebSocket, token-authenticated, live delivery registered"
					    : "MQTT, anonymous, subscribed";
	int total = g->o.ws_idle, steps = g->o.ws_steps, done = 0;
	long rss_base;

	if (sys == LV_PARLEY)
		lv_init(&lv, g, l, sys, g->o.server, g->o.pid, g->users, g->nusers);
	else
		lv_init(&lv, g, l, sys, g->o.mqtt, g->o.mqtt_pid, NULL, 0);
	if (!(lv.rx = calloc((size_t)total, sizeof *lv.rx)))
		lg_die("out of memory");
	lv.nrx = 0;
	lv_settle(&lv);
	rss_base = lg_server_rss_kib(lv.pid);
	for (int s = 0; s < steps; s++) {
		int to = (int)((long long)total * (s + 1) / steps), n = to - done;
		long rss0, rss1, slab0, slab1;
		double c0, c1, s0, s1, t;

		lv_settle(&lv);
		rss0 = lg_server_rss_kib(lv.pid);
		slab0 = lv_slab_kib();
		c0 = lg_server_cpu(lv.pid);
		s0 = lg_self_cpu();
		t = lv_open(&lv, lv.rx, done, to, -1);
		c1 = lg_server_cpu(lv.pid);
		s1 = lg_self_cpu();
		lv.nrx = to;
		if (lv.failed)
			lg_die("%s: %d connections failed to open", lv.tag, lv.failed);
		evl_run(l, lv_now() + 500000000ull, NULL, NULL);
		rss1 = lg_server_rss_kib(lv.pid);
		slab1 = lv_slab_kib();
		lg_log("%s: %d connections held, server RSS %.1f MiB", lv.tag, to, rss1 / 1024.0);
		lg_put(g, wl, "memory per idle connection", "KiB/conn", note, (double)(rss1 - rss0) / n);
		lg_put(g, wl, "connect + authenticate rate", "conns/s", note, n / t);
		if (c0 >= 0) {
			lg_put(g, wl, "server CPU per 1,000 connects", "CPU-s", NULL, (c1 - c0) * 1000 / n);
			lg_put(g, wl, "server CPU busy while connecting", "cores", NULL, (c1 - c0) / t);
		}
		lg_put(g, wl, "load generator CPU while connecting", "cores", NULL, (s1 - s0) / t);
		if (slab0 > 0 && slab1 > 0)
			lg_put(g, wl, "kernel slab growth per connection (both ends)", "KiB/conn", NULL,
			       (double)(slab1 - slab0) / n);
		lg_put(g, wl, "connections held", "conns", NULL, to);
		done = to;
	}
	lg_put(g, wl, "server RSS before", "MiB", NULL, rss_base / 1024.0);
	lg_put(g, wl, "server RSS holding all", "MiB", NULL, lg_server_rss_kib(lv.pid) / 1024.0);
	lv_close_all(&lv);
}

void lv_run_idle(struct lg *g)
{
	struct evl *l = evl_new();

	if (!l)
		lg_die("cannot create the event loop");
	lg_log("idle connections: parley, %d in %d steps", g->o.ws_idle, g->o.ws_steps);
	lv_idle(g, l, LV_PARLEY);
	if (g->o.mqtt) {
		lg_log("idle connections: mosquitto, %d in %d steps", g->o.ws_idle, g->o.ws_steps);
		lv_idle(g, l, LV_MQTT);
	}
	evl_free(l);
}

/* The side-by-side rows: each Parley figure against Mosquitto's. */
void lv_compare_rows(struct lg *g)
{
	char pw[40], m1[40], m0[40], label[72];
	static const char *fan_fig = "deliveries per second";
	static const char *cpu_fig = "deliveries per server CPU-second";

	lg_compare(g, "idle connection memory", "parley idle connections", "memory per idle connection",
		   "mqtt idle connections", NULL, "memory per idle connection", 0, NULL);
	lg_compare(g, "connect + authenticate rate", "parley idle connections", "connect + authenticate rate",
		   "mqtt idle connections", NULL, "connect + authenticate rate", 1, NULL);
	lg_compare(g, "1:1 messages per second", "parley 1:1", "messages per second (received)", "mqtt q1 1:1",
		   "mqtt q0 1:1", "messages per second (received)", 1, NULL);
	lg_compare(g, "1:1 deliveries per server CPU-s", "parley 1:1", cpu_fig, "mqtt q1 1:1", "mqtt q0 1:1", cpu_fig,
		   1, NULL);
	for (int k = 0; k < 2; k++) {
		const char *shape = k ? "channel-100 paced" : "1:1 paced";
		snprintf(pw, sizeof pw, "parley %s", shape);
		snprintf(m1, sizeof m1, "mqtt q1 %s", shape);
		snprintf(m0, sizeof m0, "mqtt q0 %s", shape);
		snprintf(label, sizeof label, "%s @%d/s: p50 latency", shape, g->o.rate);
		lg_compare(g, label, pw, "send-to-receive latency p50", m1, m0, "send-to-receive latency p50", 0, NULL);
		snprintf(label, sizeof label, "%s @%d/s: p99 latency", shape, g->o.rate);
		lg_compare(g, label, pw, "send-to-receive latency p99", m1, m0, "send-to-receive latency p99", 0, NULL);
		snprintf(label, sizeof label, "%s @%d/s: p99.9 latency", shape, g->o.rate);
		lg_compare(g, label, pw, "send-to-receive latency p99.9", m1, m0, "send-to-receive latency p99.9", 0,
			   NULL);
	}
	for (int k = 0; k < 3; k++) {
		if (k && g->fan_n[k] == g->fan_n[k - 1])
			continue;
		snprintf(pw, sizeof pw, "parley fan-out %d", g->fan_n[k]);
		snprintf(m1, sizeof m1, "mqtt q1 fan-out %d", g->fan_n[k]);
		snprintf(m0, sizeof m0, "mqtt q0 fan-out %d", g->fan_n[k]);
		snprintf(label, sizeof label, "fan-out %d: deliveries/s", g->fan_n[k]);
		lg_compare(g, label, pw, fan_fig, m1, m0, fan_fig, 1, NULL);
		snprintf(label, sizeof label, "fan-out %d: deliveries/CPU-s", g->fan_n[k]);
		lg_compare(g, label, pw, cpu_fig, m1, m0, cpu_fig, 1, NULL);
	}
	for (int k = 0; k < 2; k++) {
		const char *p = k ? "parley userseq group-200" : "parley group-200";
		const char *model = k ? "group-200 (per-user seq)" : "group-200 (chat seq)";
		snprintf(label, sizeof label, "%s: deliveries/s", model);
		lg_compare(g, label, p, fan_fig, "mqtt q1 group-200", "mqtt q0 group-200", fan_fig, 1, NULL);
		snprintf(label, sizeof label, "%s: deliveries/CPU-s", model);
		lg_compare(g, label, p, cpu_fig, "mqtt q1 group-200", "mqtt q0 group-200", cpu_fig, 1, NULL);
		snprintf(pw, sizeof pw, "%s paced", p);
		snprintf(label, sizeof label, "%s @%d/s: p99 latency", model, g->o.rate / 10);
		lg_compare(g, label, pw, "send-to-receive latency p99", "mqtt q1 group-200 paced", "mqtt q0 group-200 paced",
			   "send-to-receive latency p99", 0, NULL);
	}
}

/* ---- filling the store ---------------------------------------------------------------- */

struct lv_fill_goal {
	struct lv *lv;
	uint64_t want;
};

static int lv_fill_done(void *ctx)
{
	struct lv_fill_goal *f = ctx;
	uint64_t n = 0;

	for (int i = 0; i < f->lv->nst; i++)
		n += f->lv->st[i].acked;
	if (n + (uint64_t)f->lv->nst * (uint64_t)f->lv->g->o.window >= f->want)
		for (int i = 0; i < f->lv->nst; i++)
			f->lv->st[i].active = 0; /* what is in flight completes the count */
	return n >= f->want || (f->lv->nst && !f->lv->st[0].active && lv_drained_acks(f->lv));
}

double lv_fill(struct lg *g, long long n, int npairs)
{
	struct evl *l = evl_new();
	struct lv lv;
	struct lv_fill_goal f;
	uint64_t t0;
	double secs;
	int np = npairs < g->o.pairs ? npairs : g->o.pairs, u0 = lv_pair_user0(g);

	if (!l)
		lg_die("cannot create the event loop");
	lv_init(&lv, g, l, LV_PARLEY, g->o.server, g->o.pid, g->users, g->nusers);
	lv.tag = "parley fill";
	lv_streams(&lv, np);
	if (!(lv.tx = calloc((size_t)np, sizeof *lv.tx)))
		lg_die("out of memory");
	lv.ntx = np;
	for (int i = 0; i < np; i++) {
		struct lv_stream *s = &lv.st[i];
		s->chat_id = g->users[1 + i].id;
		s->fan = 1;
		s->window = g->o.window;
		s->by_ack = 1;
		lv_open(&lv, lv.tx, i, i + 1, u0 + i);
		s->tx = &lv.tx[i];
		lv.tx[i].st = s;
	}
	if (lv.failed)
		lg_die("fill: senders failed to open");
	f = (struct lv_fill_goal){&lv, (uint64_t)n};
	t0 = lv_now();
	lv.running = 1;
	for (int i = 0; i < np; i++) {
		lv.st[i].active = 1;
		lv_pump(&lv.st[i]);
	}
	evl_run(l, 0, lv_fill_done, &f);
	secs = (double)(lv_now() - t0) / 1e9;
	lv.running = 0;
	if (lv.bad_acks) {
		lg_log("fill: %" PRIu64 " calls failed, first: %s", lv.bad_acks, lv.first_error);
		g->failures += lv.bad_acks;
	}
	lv_close_all(&lv);
	evl_free(l);
	return secs;
}
