/*
 * test_sync_group.c — live delivery in a small group, as every device sees
 * it (docs/sync.md), against the real parleyd (tests/integration/harness.h)
 * over this folder's own WebSocket client (wsclient.h).
 *
 * Three users with two devices each (two logins, two sessions) are in one
 * group, every device connected over a WebSocket.  All six devices send at
 * once from their own threads — device A of each user calls sendMessage over
 * its socket, device B over HTTP — and read their socket.  Then, for every
 * device:
 *   - it received every acknowledged message exactly once: its own, its
 *     other device's and everyone else's, with the text that was sent;
 *   - in order: pts goes up by exactly 1 from the user's state before the
 *     burst, and message ids only increase;
 *   - both devices of a user saw the same pts -> message pairs, and all
 *     users saw the messages in the same order;
 *   - nothing else arrives afterwards (no late duplicate);
 *   - getDifference from the earlier state returns the same updates with
 *     byte-for-byte the same encoding (compared as JSON).
 * A second round repeats the burst with pipelined socket calls (every call
 * sent before any reply is read), so replies and pushes interleave.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "harness.h"
#include "parley.h"
#include "wsclient.h"

#define SG_USERS 3
#define SG_DEVICES 2                        /* per user */
#define SG_NDEV (SG_USERS * SG_DEVICES)
#define SG_PER_DEVICE 100                   /* messages each device sends per round */
#define SG_TOTAL (SG_NDEV * SG_PER_DEVICE)  /* messages per round */
#define SG_TIMEOUT_MS 30000                 /* longest wait for one round's updates */
#define SG_CALL_MS 10000                    /* longest wait for one reply */
#define SG_QUIET_MS 300                     /* silence expected after a round */
#define SG_TEXT_MAX 64

/* What one device received: one row per update, in arrival order. */
struct sg_got {
	int64_t pts;
	int64_t msg_id;
	int64_t from;
	char text[SG_TEXT_MAX];
	json_t *update;        /* the "update" object, owned */
};

struct sg_dev {
	pthread_t thread;
	int user, index;       /* user 0..2, device 0 (A, sends over the socket) or 1 (B, over HTTP) */
	struct parley_client *http;
	struct wsc *ws;
	int64_t uid;
	int64_t base_pts;      /* the user's pts before the round */
	int pipelined;         /* send every call before reading any reply */
	/* Sent: ids and texts the server acknowledged. */
	int64_t sent_id[SG_PER_DEVICE];
	char sent_text[SG_PER_DEVICE][SG_TEXT_MAX];
	int nsent;
	/* Received. */
	struct sg_got got[SG_TOTAL + 16];
	int ngot;
	int extra;             /* frames that were not new_message updates */
	char failed[512];      /* why the thread gave up, "" if it did not */
};

static struct harness *sg_h;
static struct sg_dev sg_dev[SG_NDEV];
static int64_t sg_group;
static pthread_barrier_t sg_start;

/* --- helpers ------------------------------------------------------------ */

#define OK(c, method, params) harness_call_ok((c), (method), (params), __LINE__)

static int64_t sg_int(json_t *obj, const char *key)
{
	json_t *v = json_object_get(obj, key);

	return json_is_integer(v) ? (int64_t)json_integer_value(v) : -1;
}

static const char *sg_str(json_t *obj, const char *key)
{
	json_t *v = json_object_get(obj, key);

	return json_is_string(v) ? json_string_value(v) : "";
}

static double sg_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Keeps the first failure of a thread (no cmocka calls off the main thread). */
static void sg_fail(struct sg_dev *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sg_fail(struct sg_dev *d, const char *fmt, ...)
{
	va_list ap;

	if (d->failed[0])
		return;
	va_start(ap, fmt);
	vsnprintf(d->failed, sizeof d->failed, fmt, ap);
	va_end(ap);
}

/* Files one received message (any JSON) into d->got, or counts it as extra. */
static void sg_take(struct sg_dev *d, json_t *m)
{
	json_t *upd = json_object_get(m, "update"), *msg;
	struct sg_got *g;

	if (!json_is_object(upd) || strcmp(sg_str(upd, "type"), "new_message") != 0 ||
	    json_object_get(m, "chat_id")) {
		d->extra++;
		return;
	}
	if (d->ngot >= (int)(sizeof d->got / sizeof d->got[0])) {
		sg_fail(d, "more than %zu updates", sizeof d->got / sizeof d->got[0]);
		return;
	}
	msg = json_object_get(upd, "message");
	g = &d->got[d->ngot++];
	g->pts = sg_int(m, "pts");
	g->msg_id = sg_int(msg, "message_id");
	g->from = sg_int(json_object_get(msg, "from"), "id");
	snprintf(g->text, sizeof g->text, "%s", sg_str(msg, "text"));
	g->update = json_incref(upd);
}

/* Checks a sendMessage reply envelope and records the acknowledged id. */
static void sg_acked(struct sg_dev *d, int k, json_t *reply)
{
	json_t *res = json_object_get(reply, "result");

	if (!json_is_true(json_object_get(reply, "ok")) || sg_int(res, "message_id") <= 0) {
		char *s = json_dumps(reply, JSON_COMPACT);
		sg_fail(d, "sendMessage %d answered %s", k, s ? s : "?");
		free(s);
		return;
	}
	d->sent_id[k] = sg_int(res, "message_id");
	d->nsent++;
}

static void *sg_device_main(void *arg)
{
	struct sg_dev *d = arg;
	int64_t ids[SG_PER_DEVICE];
	double deadline;
	json_t *m;
	int rc;

	pthread_barrier_wait(&sg_start);
	for (int k = 0; k < SG_PER_DEVICE; k++)
		snprintf(d->sent_text[k], SG_TEXT_MAX, "u%d d%d #%d", d->user, d->index, k);

	if (d->index == 0 && d->pipelined) {
		for (int k = 0; k < SG_PER_DEVICE && !d->failed[0]; k++) {
			ids[k] = wsc_call_send(d->ws, "sendMessage",
					       json_pack("{s:I, s:s}", "chat_id", (json_int_t)sg_group, "text", d->sent_text[k]));
			if (ids[k] < 0)
				sg_fail(d, "send call %d: %s", k, wsc_error(d->ws));
		}
		for (int k = 0; k < SG_PER_DEVICE && !d->failed[0]; k++) {
			if ((rc = wsc_call_wait(d->ws, ids[k], SG_CALL_MS, &m)) < 0) {
				sg_fail(d, "reply %d: %s (%s)", k, wsc_strerror(rc), wsc_error(d->ws));
				break;
			}
			sg_acked(d, k, m);
			json_decref(m);
		}
	} else {
		for (int k = 0; k < SG_PER_DEVICE && !d->failed[0]; k++) {
			json_t *params = json_pack("{s:I, s:s}", "chat_id", (json_int_t)sg_group, "text", d->sent_text[k]);
			if (d->index == 0) {
				if ((rc = wsc_call(d->ws, "sendMessage", params, SG_CALL_MS, &m)) < 0) {
					sg_fail(d, "sendMessage %d over the socket: %s (%s)", k, wsc_strerror(rc),
						wsc_error(d->ws));
					break;
				}
				sg_acked(d, k, m);
				json_decref(m);
			} else {
				struct parley_error err;
				json_t *res = NULL;
				rc = parley_call(d->http, "sendMessage", params, &res, &err);
				json_decref(params);
				if (rc < 0) {
					sg_fail(d, "sendMessage %d over HTTP: %s: %s", k, err.code, err.description);
					break;
				}
				d->sent_id[k] = sg_int(res, "message_id");
				d->nsent++;
				json_decref(res);
			}
		}
	}

	/* Read until every message of the round has arrived. */
	deadline = sg_now() + SG_TIMEOUT_MS / 1000.0;
	while (d->ngot < SG_TOTAL && !d->failed[0]) {
		int left = (int)((deadline - sg_now()) * 1000);
		if (left <= 0) {
			sg_fail(d, "only %d of %d messages arrived within %d ms", d->ngot, SG_TOTAL, SG_TIMEOUT_MS);
			break;
		}
		if ((rc = wsc_next(d->ws, left, &m)) < 0) {
			if (rc != WSC_TIMEOUT)
				sg_fail(d, "socket: %s (%s), close code %d", wsc_strerror(rc), wsc_error(d->ws),
					wsc_close_code(d->ws));
			continue;
		}
		sg_take(d, m);
		json_decref(m);
	}
	/* Nothing more may come: a late frame would be a duplicate. */
	while (!d->failed[0] && wsc_next(d->ws, SG_QUIET_MS, &m) == WSC_OK) {
		sg_take(d, m);
		json_decref(m);
	}
	return NULL;
}

/* --- setup ---------------------------------------------------------------- */

static int sg_setup(void **state)
{
	struct parley_error err;
	char name[32], errbuf[256];
	int64_t members[SG_USERS - 1];

	static const char *const env[] = {"PARLEY_RATE_MESSAGES_BURST=1000000", NULL};

	if (!(sg_h = harness_start(env)))
		return -1;
	for (int u = 0; u < SG_USERS; u++) {
		snprintf(name, sizeof name, "sgroup_user%d", u);
		sg_dev[u * SG_DEVICES].http = harness_user(sg_h, name);
		for (int k = 1; k < SG_DEVICES; k++)
			sg_dev[u * SG_DEVICES + k].http = harness_login(sg_h, name);
		for (int k = 0; k < SG_DEVICES; k++) {
			struct sg_dev *d = &sg_dev[u * SG_DEVICES + k];
			d->user = u;
			d->index = k;
			d->uid = harness_user_id(sg_h, name);
		}
		if (u)
			members[u - 1] = sg_dev[u * SG_DEVICES].uid;
	}
	if (parley_create_group(sg_dev[0].http, "Sync group", members, SG_USERS - 1, &sg_group, &err) < 0) {
		fprintf(stderr, "createGroup: %s: %s\n", err.code, err.description);
		return -1;
	}
	for (int i = 0; i < SG_NDEV; i++) {
		int64_t uid = 0, sid = 0;
		if (wsc_open(harness_url(sg_h), parley_client_token(sg_dev[i].http), SG_CALL_MS, &sg_dev[i].ws, &uid, &sid,
			     errbuf, sizeof errbuf) < 0) {
			fprintf(stderr, "device %d: WebSocket: %s\n", i, errbuf);
			return -1;
		}
		if (uid != sg_dev[i].uid || sid <= 0) {
			fprintf(stderr, "device %d: ready names user %lld session %lld\n", i, (long long)uid, (long long)sid);
			return -1;
		}
	}
	return 0;
}

static int sg_teardown(void **state)
{
	for (int i = 0; i < SG_NDEV; i++) {
		wsc_free(sg_dev[i].ws);
		sg_dev[i].ws = NULL;
	}
	harness_free(sg_h);
	sg_h = NULL;
	return 0;
}

/* --- the round ------------------------------------------------------------ */

static void sg_reset(int pipelined)
{
	for (int i = 0; i < SG_NDEV; i++) {
		struct sg_dev *d = &sg_dev[i];
		for (int k = 0; k < d->ngot; k++)
			json_decref(d->got[k].update);
		d->ngot = d->nsent = d->extra = 0;
		d->failed[0] = '\0';
		d->pipelined = pipelined;
	}
}

/* The text device d sent with id, or NULL. */
static const char *sg_sent_text(int64_t id)
{
	for (int i = 0; i < SG_NDEV; i++)
		for (int k = 0; k < sg_dev[i].nsent; k++)
			if (sg_dev[i].sent_id[k] == id)
				return sg_dev[i].sent_text[k];
	return NULL;
}

/* Checks what device d received against what everyone sent. */
static void sg_check_device(struct sg_dev *d)
{
	unsigned char *seen;
	int64_t max_id = 0;

	if (d->failed[0])
		print_error("user %d device %d: %s\n", d->user, d->index, d->failed);
	assert_string_equal(d->failed, "");
	assert_int_equal(d->extra, 0);
	assert_int_equal(d->ngot, SG_TOTAL);
	for (int i = 0; i < SG_NDEV; i++)
		for (int k = 0; k < sg_dev[i].nsent; k++)
			if (sg_dev[i].sent_id[k] > max_id)
				max_id = sg_dev[i].sent_id[k];
	assert_non_null(seen = calloc((size_t)max_id + 1, 1));
	for (int k = 0; k < d->ngot; k++) {
		struct sg_got *g = &d->got[k];
		const char *text = sg_sent_text(g->msg_id);
		if (g->pts != d->base_pts + 1 + k)
			print_error("user %d device %d: update %d has pts %lld, expected %lld\n", d->user, d->index, k,
				    (long long)g->pts, (long long)(d->base_pts + 1 + k));
		assert_int_equal(g->pts, d->base_pts + 1 + k);
		if (k)
			assert_true(g->msg_id > d->got[k - 1].msg_id);
		assert_true(g->msg_id > 0 && g->msg_id <= max_id);
		assert_int_equal(seen[g->msg_id], 0);
		seen[g->msg_id] = 1;
		assert_non_null(text);
		assert_string_equal(g->text, text);
		/* The sender's name matches the text's "uN". */
		assert_int_equal(g->from, sg_dev[(g->text[1] - '0') * SG_DEVICES].uid);
	}
	free(seen);
}

static void sg_round(int pipelined)
{
	double t0 = sg_now();
	json_t *res;

	sg_reset(pipelined);
	assert_int_equal(pthread_barrier_init(&sg_start, NULL, SG_NDEV), 0);
	for (int i = 0; i < SG_NDEV; i++) {
		struct sg_dev *d = &sg_dev[i];
		json_t *reply = NULL;
		/* The user's state before the round, asked over the socket. */
		assert_int_equal(wsc_call(d->ws, "getState", NULL, SG_CALL_MS, &reply), WSC_OK);
		assert_true(json_is_true(json_object_get(reply, "ok")));
		d->base_pts = sg_int(json_object_get(reply, "result"), "pts");
		assert_true(d->base_pts >= 0);
		json_decref(reply);
		assert_int_equal(wsc_queued(d->ws), 0);
	}
	for (int i = 0; i < SG_NDEV; i++)
		assert_int_equal(pthread_create(&sg_dev[i].thread, NULL, sg_device_main, &sg_dev[i]), 0);
	for (int i = 0; i < SG_NDEV; i++)
		pthread_join(sg_dev[i].thread, NULL);
	pthread_barrier_destroy(&sg_start);
	fprintf(stderr, "test_sync_group: %d messages from %d devices reached all of them in %.2f s%s\n", SG_TOTAL,
		SG_NDEV, sg_now() - t0, pipelined ? " (pipelined calls)" : "");

	for (int i = 0; i < SG_NDEV; i++)
		if (sg_dev[i].failed[0] || sg_dev[i].ngot != SG_TOTAL || sg_dev[i].nsent != SG_PER_DEVICE)
			print_error("user %d device %d: sent %d, received %d (+%d other): %s\n", sg_dev[i].user,
				    sg_dev[i].index, sg_dev[i].nsent, sg_dev[i].ngot, sg_dev[i].extra, sg_dev[i].failed);
	for (int i = 0; i < SG_NDEV; i++)
		sg_check_device(&sg_dev[i]);

	/* Devices of one user: the same pts -> message pairs.  All users: the
	 * same order of messages. */
	for (int i = 0; i < SG_NDEV; i++)
		for (int k = 0; k < SG_TOTAL; k++) {
			assert_int_equal(sg_dev[i].got[k].msg_id, sg_dev[0].got[k].msg_id);
			if (sg_dev[i].user == sg_dev[i ^ 1].user)
				assert_int_equal(sg_dev[i].got[k].pts, sg_dev[i ^ 1].got[k].pts);
		}

	/* getDifference from the old state: the same updates, the same bytes. */
	for (int u = 0; u < SG_USERS; u++) {
		struct sg_dev *d = &sg_dev[u * SG_DEVICES];
		int64_t pts = d->base_pts;
		int n = 0;
		for (;;) {
			json_t *ups, *row;
			size_t i;
			res = OK(d->http, "getDifference", json_pack("{s:I, s:i}", "pts", (json_int_t)pts, "limit", 97));
			ups = json_object_get(res, "updates");
			assert_true(json_is_array(ups));
			json_array_foreach(ups, i, row) {
				assert_true(n < SG_TOTAL);
				assert_int_equal(sg_int(row, "pts"), d->got[n].pts);
				assert_true(json_equal(json_object_get(row, "update"), d->got[n].update));
				n++;
			}
			pts = sg_int(json_object_get(res, "state"), "pts");
			if (!json_is_true(json_object_get(res, "more"))) {
				json_decref(res);
				break;
			}
			json_decref(res);
		}
		assert_int_equal(n, SG_TOTAL);
		assert_int_equal(pts, d->base_pts + SG_TOTAL);
	}
}

static void test_group_burst(void **state)
{
	sg_round(0);
}

static void test_group_burst_pipelined(void **state)
{
	sg_round(1);
	sg_reset(0); /* release the last round's updates */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_group_burst),
		cmocka_unit_test(test_group_burst_pipelined),
	};

	return cmocka_run_group_tests(tests, sg_setup, sg_teardown);
}
