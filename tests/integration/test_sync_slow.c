/*
 * test_sync_slow.c — a client that does not read is cut off; nobody else
 * waits for it, and it loses nothing (docs/sync.md: ws_max_pending_bytes,
 * close code 4408), against the real parleyd (harness.h) over wsclient.h.
 *
 * parleyd runs with PARLEY_WS_MAX_PENDING_BYTES=65536.  A group holds a
 * sender, a fast reader and a slow one.  The slow one connects with a tiny
 * receive buffer and then does not read its socket at all; the fast one
 * reads from a thread.  The sender posts messages of 4000 three-byte
 * characters (12 KB) from several threads — half again as much as the bound
 * plus what the kernel may buffer for the stalled socket (the server's send
 * buffer grows up to tcp_wmem's maximum, read from /proc).  Then:
 *   - the fast reader received every message exactly once, in pts order,
 *     while the slow one was stuck (its stalled socket held nobody up);
 *   - the slow reader, now reading what had reached it, finds a gap-free
 *     prefix of the updates followed by the end of the connection: close code
 *     4408, or the TCP connection closed (the close frame cannot overtake a
 *     half-written frame) — and it did not receive everything;
 *   - it reconnects and getDifference from the last pts it applied returns
 *     exactly the rest: every message, none twice (in pages of
 *     SLOW_DIFF_LIMIT, so that each reply stays under this run's 64 KiB
 *     bound: parleyd refuses any single frame longer than the bound, even
 *     to a client that reads it at once);
 *   - the server is healthy and a well-behaved socket keeps working.
 * Also: a client that pipelines calls and never reads the replies is cut
 * off the same way.
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

#define SLOW_PENDING 65536        /* PARLEY_WS_MAX_PENDING_BYTES */
#define SLOW_TEXT_CHARS 4000      /* characters per message (the limit is 4096) ... */
#define SLOW_CHAR "\xe2\x82\xac"  /* ... each a three-byte "€": 12,000 bytes */
#define SLOW_MESSAGES_MAX 5000    /* cap on the burst, however big tcp_wmem is */
#define SLOW_DIFF_LIMIT 4         /* updates per catch-up reply: 4 x 12 KB < the bound */
#define SLOW_RCVBUF 4096          /* the slow client's SO_RCVBUF */
#define SLOW_SENDERS 4            /* threads posting */
#define SLOW_CALL_MS 10000
#define SLOW_WAIT_MS 30000

static struct harness *sl_h;
static struct parley_client *sl_sender, *sl_fast, *sl_slow;
static int64_t sl_group;
static int sl_messages;           /* messages in the burst */
static char *sl_text;             /* their text */

/* --- helpers ------------------------------------------------------------ */

#define OK(c, method, params) harness_call_ok((c), (method), (params), __LINE__)

static int64_t sl_int(json_t *obj, const char *key)
{
	json_t *v = json_object_get(obj, key);

	return json_is_integer(v) ? (int64_t)json_integer_value(v) : -1;
}

static int64_t sl_msg_id(json_t *row)
{
	return sl_int(json_object_get(json_object_get(row, "update"), "message"), "message_id");
}

static int64_t sl_pts(struct parley_client *c)
{
	json_t *st = OK(c, "getState", json_object());
	int64_t pts = sl_int(st, "pts");

	json_decref(st);
	return pts;
}

static double sl_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Reads updates on a socket from a thread until it has n of them. */
struct sl_reader {
	pthread_t thread;
	struct wsc *w;
	int64_t base;              /* pts before the burst */
	int want;
	int64_t *ids;              /* message id of each update, in order */
	int n;
	char failed[512];
};

static void *sl_reader_main(void *arg)
{
	struct sl_reader *r = arg;
	double deadline = sl_now() + SLOW_WAIT_MS / 1000.0;
	json_t *m;
	int rc;

	while (r->n < r->want && !r->failed[0]) {
		int left = (int)((deadline - sl_now()) * 1000);
		if (left <= 0) {
			snprintf(r->failed, sizeof r->failed, "only %d of %d updates within %d ms", r->n, r->want,
				 SLOW_WAIT_MS);
			break;
		}
		if ((rc = wsc_next(r->w, left, &m)) < 0) {
			if (rc != WSC_TIMEOUT)
				snprintf(r->failed, sizeof r->failed, "after %d updates: %s (%s) close %d", r->n,
					 wsc_strerror(rc), wsc_error(r->w), wsc_close_code(r->w));
			continue;
		}
		if (json_object_get(m, "pts")) {
			if (sl_int(m, "pts") != r->base + 1 + r->n)
				snprintf(r->failed, sizeof r->failed, "update %d has pts %lld, expected %lld", r->n,
					 (long long)sl_int(m, "pts"), (long long)(r->base + 1 + r->n));
			else
				r->ids[r->n++] = sl_msg_id(m);
		}
		json_decref(m);
	}
	return NULL;
}

/* Posts messages first, first + step, ... to the group. */
struct sl_sender {
	pthread_t thread;
	struct parley_client *c;
	int first, step;
	const char *text;
	int64_t *ids;              /* ids[i]: the id message i got */
	char failed[700];
};

static void *sl_sender_main(void *arg)
{
	struct sl_sender *s = arg;
	struct parley_error err;

	for (int i = s->first; i < sl_messages; i += s->step)
		if (parley_send_message(s->c, sl_group, s->text, 0, &s->ids[i], &err) < 0) {
			snprintf(s->failed, sizeof s->failed, "message %d: %s: %s", i, err.code, err.description);
			break;
		}
	return NULL;
}

static struct wsc *sl_open(struct parley_client *c, int rcvbuf)
{
	struct wsc_opts o = {.token = parley_client_token(c), .rcvbuf = rcvbuf};
	struct wsc *w = NULL;
	char err[256];
	json_t *m;

	if (wsc_connect(harness_url(sl_h), &o, &w, NULL, err, sizeof err) < 0) {
		print_error("WebSocket: %s\n", err);
		fail();
	}
	assert_int_equal(wsc_next(w, SLOW_CALL_MS, &m), WSC_OK);
	assert_string_equal(json_string_value(json_object_get(m, "event")), "ready");
	json_decref(m);
	return w;
}

static int sl_setup(void **state)
{
	static const char *const env[] = {"PARLEY_WS_MAX_PENDING_BYTES=65536", "PARLEY_RATE_MESSAGES_BURST=1000000", NULL};
	struct parley_error err;
	int64_t members[2];

	long wmem[3] = {0, 0, 4194304};
	FILE *f = fopen("/proc/sys/net/ipv4/tcp_wmem", "r");
	size_t k = strlen(SLOW_CHAR);

	if (f) {
		if (fscanf(f, "%ld %ld %ld", &wmem[0], &wmem[1], &wmem[2]) != 3)
			wmem[2] = 4194304;
		fclose(f);
	}
	sl_messages = (int)((wmem[2] + SLOW_PENDING) * 3 / 2 / (SLOW_TEXT_CHARS * (long)k)) + 1;
	if (sl_messages > SLOW_MESSAGES_MAX)
		sl_messages = SLOW_MESSAGES_MAX;
	if (!(sl_text = malloc(SLOW_TEXT_CHARS * k + 1)))
		return -1;
	for (int i = 0; i < SLOW_TEXT_CHARS; i++)
		memcpy(sl_text + i * k, SLOW_CHAR, k);
	sl_text[SLOW_TEXT_CHARS * k] = '\0';
	if (!(sl_h = harness_start(env)))
		return -1;
	sl_sender = harness_user(sl_h, "slow_sender");
	sl_fast = harness_user(sl_h, "slow_fast");
	sl_slow = harness_user(sl_h, "slow_slow");
	members[0] = harness_user_id(sl_h, "slow_fast");
	members[1] = harness_user_id(sl_h, "slow_slow");
	if (parley_create_group(sl_sender, "Slow readers", members, 2, &sl_group, &err) < 0) {
		fprintf(stderr, "createGroup: %s: %s\n", err.code, err.description);
		return -1;
	}
	return 0;
}

static int sl_teardown(void **state)
{
	harness_free(sl_h);
	sl_h = NULL;
	free(sl_text);
	sl_text = NULL;
	return 0;
}

/* --- tests ---------------------------------------------------------------- */

static void test_slow_reader_cut_off(void **state)
{
	struct sl_sender snd[SLOW_SENDERS];
	struct sl_reader fast = {0};
	struct wsc *slow, *again;
	int64_t *ids, slow_base, applied, *seen_ids;
	int nseen = 0, code, rc, status;
	double t0;
	char *body = NULL;
	json_t *m;

	assert_non_null(ids = calloc((size_t)sl_messages, sizeof *ids));
	assert_non_null(fast.ids = calloc((size_t)sl_messages, sizeof *fast.ids));
	assert_non_null(seen_ids = calloc((size_t)sl_messages + 1, sizeof *seen_ids));

	slow = sl_open(sl_slow, SLOW_RCVBUF);
	slow_base = sl_pts(sl_slow);
	fast.w = sl_open(sl_fast, 0);
	fast.base = sl_pts(sl_fast);
	fast.want = sl_messages;
	assert_int_equal(pthread_create(&fast.thread, NULL, sl_reader_main, &fast), 0);

	/* The burst: several MB of updates for each member. */
	t0 = sl_now();
	for (int k = 0; k < SLOW_SENDERS; k++) {
		snd[k] = (struct sl_sender){.c = k ? harness_login(sl_h, "slow_sender") : sl_sender, .first = k,
					    .step = SLOW_SENDERS, .text = sl_text, .ids = ids};
		assert_int_equal(pthread_create(&snd[k].thread, NULL, sl_sender_main, &snd[k]), 0);
	}
	for (int k = 0; k < SLOW_SENDERS; k++)
		pthread_join(snd[k].thread, NULL);
	for (int k = 0; k < SLOW_SENDERS; k++) {
		if (snd[k].failed[0])
			print_error("sender %d: %s\n", k, snd[k].failed);
		assert_string_equal(snd[k].failed, "");
	}
	pthread_join(fast.thread, NULL);
	if (fast.failed[0])
		print_error("fast reader: %s\n", fast.failed);
	assert_string_equal(fast.failed, "");
	fprintf(stderr, "test_sync_slow: %d messages of %d characters posted and read by the fast client in %.2f s\n",
		sl_messages, SLOW_TEXT_CHARS, sl_now() - t0);

	/* The fast reader: every message once, in the order of their ids. */
	assert_int_equal(fast.n, sl_messages);
	for (int i = 1; i < sl_messages; i++)
		assert_true(fast.ids[i] > fast.ids[i - 1]);
	for (int i = 0; i < sl_messages; i++) {
		int found = 0;
		for (int k = 0; k < sl_messages && !found; k++)
			found = fast.ids[k] == ids[i];
		assert_true(found);
	}

	/* The slow reader wakes up: a gap-free prefix, then the end. */
	applied = slow_base;
	for (;;) {
		rc = wsc_next(slow, SLOW_WAIT_MS, &m);
		if (rc == WSC_CLOSED)
			break;
		if (rc < 0) {
			print_error("slow reader, after %d updates: %s (%s)\n", nseen, wsc_strerror(rc), wsc_error(slow));
			fail();
		}
		if (json_object_get(m, "pts")) {
			assert_int_equal(sl_int(m, "pts"), applied + 1);
			assert_true(nseen < sl_messages);
			seen_ids[nseen++] = sl_msg_id(m);
			applied++;
		}
		json_decref(m);
	}
	code = wsc_close_code(slow);
	fprintf(stderr, "test_sync_slow: the slow client got %d of %d updates, then close code %d (%s)\n", nseen,
		sl_messages, code, code == 4408 ? "too slow" : "TCP connection closed without a close frame");
	assert_true(code == 4408 || code == 1006);
	assert_true(nseen < sl_messages);
	wsc_free(slow);

	/* It reconnects and catches up: exactly the rest. */
	again = sl_open(sl_slow, 0);
	for (int more = 1; more;) {
		json_t *reply = NULL, *res, *row;
		size_t i;
		assert_int_equal(wsc_call(again, "getDifference", json_pack("{s:I, s:i}", "pts", (json_int_t)applied, "limit",
								     SLOW_DIFF_LIMIT), SLOW_CALL_MS,
					  &reply), WSC_OK);
		assert_true(json_is_true(json_object_get(reply, "ok")));
		res = json_object_get(reply, "result");
		json_array_foreach(json_object_get(res, "updates"), i, row) {
			assert_int_equal(sl_int(row, "pts"), applied + 1);
			assert_true(nseen < sl_messages);
			seen_ids[nseen++] = sl_msg_id(row);
			applied++;
		}
		more = json_is_true(json_object_get(res, "more"));
		json_decref(reply);
	}
	assert_int_equal(nseen, sl_messages);
	for (int i = 0; i < sl_messages; i++)
		assert_int_equal(seen_ids[i], fast.ids[i]); /* the same messages, the same order */
	assert_int_equal(applied, sl_pts(sl_slow));

	/* The server is fine, and so is a socket that reads. */
	assert_int_equal(parley_get(harness_client(sl_h), "/healthz", &status, &body, NULL, NULL), 0);
	assert_int_equal(status, 200);
	free(body);
	{
		int64_t id = 0;
		struct parley_error err;
		assert_int_equal(parley_send_message(sl_sender, sl_group, "all good", 0, &id, &err), 0);
		for (;;) {
			assert_int_equal(wsc_next(again, SLOW_CALL_MS, &m), WSC_OK);
			if (json_object_get(m, "pts"))
				break;
			json_decref(m);
		}
		assert_int_equal(sl_int(m, "pts"), applied + 1);
		assert_int_equal(sl_msg_id(m), id);
		json_decref(m);
	}
	wsc_free(again);
	wsc_free(fast.w);
	free(ids);
	free(fast.ids);
	free(seen_ids);
}

/* A client that pipelines calls with big replies and never reads them. */
static void test_unread_replies_cut_off(void **state)
{
	struct wsc *w = sl_open(sl_slow, SLOW_RCVBUF);
	int sent = 0, code;
	json_t *m;

	/* Each getHistory reply carries 4 messages of 12 KB (under the bound by
	 * itself); enough of them are far past the bound plus the kernel's
	 * buffers.  Stop sending once the server is gone. */
	for (int i = 0; i < sl_messages / 4 * 2; i++) {
		if (wsc_call_send(w, "getHistory", json_pack("{s:I, s:i}", "chat_id", (json_int_t)sl_group, "limit", 4)) < 0)
			break;
		sent++;
	}
	assert_true(sent > 0);
	code = wsc_wait_close(w, SLOW_WAIT_MS);
	fprintf(stderr, "test_sync_slow: a client that left %d replies unread got close code %d\n", sent, code);
	assert_true(code == 4408 || code == 1006);
	while (wsc_next(w, 0, &m) == WSC_OK)
		json_decref(m);
	wsc_free(w);

	/* The session itself is fine. */
	w = sl_open(sl_slow, 0);
	assert_int_equal(wsc_call(w, "getMe", NULL, SLOW_CALL_MS, &m), WSC_OK);
	assert_true(json_is_true(json_object_get(m, "ok")));
	json_decref(m);
	wsc_free(w);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_slow_reader_cut_off),
		cmocka_unit_test(test_unread_replies_cut_off),
	};

	return cmocka_run_group_tests(tests, sl_setup, sl_teardown);
}
