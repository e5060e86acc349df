/*
 * test_sync_crash.c — every device sees every update exactly once and in
 * order across kill -9 of the server (docs/sync.md: an update is stored in
 * the same commit as its change, pushed only after that commit, and pts
 * values are never reused), against the real parleyd (harness.h) over
 * wsclient.h.
 *
 * CR_SENDERS users send messages over HTTP from their own threads, each
 * alternating between a group that everyone is in and a private chat with
 * one of the CR_LISTENERS listeners.  Each listener is a thread that does
 * what docs/sync.md tells a client to do: connect, after "ready" page
 * getDifference from its stored pts, apply each push whose pts is exactly
 * stored + 1, drop those at or below it, fill a gap with getDifference, and
 * on any disconnect reconnect with backoff and start over.  Meanwhile the
 * daemon is killed with SIGKILL CR_KILLS times under load, at random points
 * (CRASH_SEED=N replays one), and restarted on the same data and port.
 * Senders whose call failed move on to their next message.  At the end:
 *   - each listener applied pts 1..N, N being its final getState pts, each
 *     exactly once, none missing;
 *   - every push it dropped as already applied carried the same update it
 *     had applied at that pts (no pts reused for something else), and every
 *     update it applied — live before a crash or fetched after — is, byte
 *     for byte as JSON, what getDifference returns for that pts after the
 *     last restart;
 *   - every acknowledged message to the listener (group and private) is
 *     among its new_message updates, once; no message id appears twice in
 *     a chat;
 *   - the listeners reconnected and received updates live (not only by
 *     catching up).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "harness.h"
#include "parley.h"
#include "wsclient.h"

#define CR_SENDERS 4
#define CR_LISTENERS 4
#define CR_PER_SENDER 500          /* messages each sender attempts */
#define CR_KILLS 3                 /* SIGKILLs under load */
#define CR_DOWN_MS_MAX 300         /* longest pause between the kill and the restart */
#define CR_PAGE 500                /* getDifference limit */
#define CR_OPEN_MS 2000            /* one connection attempt */
#define CR_CALL_MS 10000
#define CR_LISTEN_MS 60000         /* a listener gives up after this */
#define CR_SEND_TIMEOUT_MS 5000    /* per send */
#define CR_RETRY_MS 20             /* a failed send, or connect, waits this long */

struct cr_sender {
	pthread_t thread;
	int index;
	struct parley_client *c;
	int64_t uid;
	int64_t group, peer;           /* the group, and the listener user this sender also writes to */
	int64_t ids[CR_PER_SENDER];    /* acknowledged id, 0 if the send failed */
	int64_t chat[CR_PER_SENDER];   /* where send i went */
	int failures;
};

struct cr_listener {
	pthread_t thread;
	int index;
	char url[96];                  /* a copy: harness_restart rewrites the harness's */
	char token[PARLEY_TOKEN_MAX + 1];
	int64_t uid;
	json_t *applied;               /* row for pts i + 1 at index i */
	int64_t stored;
	atomic_llong target;           /* the final pts, once known; -1 before */
	int connects, dropped, gaps, live;
	char failed[700];
};

static struct harness *cr_h;
static struct cr_sender cr_snd[CR_SENDERS];
static struct cr_listener cr_lis[CR_LISTENERS];
static int64_t cr_group;
static atomic_int cr_acked;

/* --- helpers ------------------------------------------------------------ */

static int64_t cr_int(json_t *obj, const char *key)
{
	json_t *v = json_object_get(obj, key);

	return json_is_integer(v) ? (int64_t)json_integer_value(v) : -1;
}

static int64_t cr_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void cr_sleep_ms(int ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};

	nanosleep(&ts, NULL);
}

/* --- senders --------------------------------------------------------------- */

static void *cr_sender_main(void *arg)
{
	struct cr_sender *s = arg;
	struct parley_error err;
	char text[96];

	for (int i = 0; i < CR_PER_SENDER; i++) {
		s->chat[i] = i % 2 ? s->peer : s->group;
		snprintf(text, sizeof text, "crash-sync s%d i%d", s->index, i);
		if (parley_send_message(s->c, s->chat[i], text, 0, &s->ids[i], &err) < 0) {
			s->ids[i] = 0;
			s->failures++;
			cr_sleep_ms(CR_RETRY_MS);
			continue;
		}
		atomic_fetch_add(&cr_acked, 1);
	}
	return NULL;
}

/* --- listeners --------------------------------------------------------------- */

static void cr_fail(struct cr_listener *l, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void cr_fail(struct cr_listener *l, const char *fmt, ...)
{
	va_list ap;

	if (l->failed[0])
		return;
	va_start(ap, fmt);
	vsnprintf(l->failed, sizeof l->failed, fmt, ap);
	va_end(ap);
}

/* Applies row if it is the next one.  1 applied, 0 already applied (and
 * checked to be the same update), -1 a gap. */
static int cr_apply(struct cr_listener *l, json_t *row)
{
	int64_t pts = cr_int(row, "pts");

	if (pts <= 0) {
		cr_fail(l, "an update without a valid pts");
		return 0;
	}
	if (pts <= l->stored) {
		json_t *had = json_array_get(l->applied, (size_t)(pts - 1));
		if (!json_equal(json_object_get(had, "update"), json_object_get(row, "update"))) {
			char *a = json_dumps(had, JSON_COMPACT), *b = json_dumps(row, JSON_COMPACT);
			cr_fail(l, "pts %lld came again with another update: had %.200s, now %.200s", (long long)pts, a, b);
			free(a);
			free(b);
		}
		return 0;
	}
	if (pts > l->stored + 1)
		return -1;
	json_array_append(l->applied, row);
	l->stored = pts;
	return 1;
}

/* getDifference from the stored pts until `more` is false.  0, or -1 if
 * the socket failed (reconnect). */
static int cr_catch_up(struct cr_listener *l, struct wsc *w)
{
	for (;;) {
		json_t *reply = NULL, *res, *row;
		size_t i;
		int more;

		if (wsc_call(w, "getDifference", json_pack("{s:I, s:i}", "pts", (json_int_t)l->stored, "limit", CR_PAGE),
			     CR_CALL_MS, &reply) < 0)
			return -1;
		if (!json_is_true(json_object_get(reply, "ok"))) {
			char *s = json_dumps(reply, JSON_COMPACT);
			/* A server going down may refuse calls; anything else is wrong. */
			if (cr_int(reply, "error_code") != 503)
				cr_fail(l, "getDifference(%lld): %s", (long long)l->stored, s);
			free(s);
			json_decref(reply);
			return -1;
		}
		res = json_object_get(reply, "result");
		if (json_is_true(json_object_get(res, "reload")))
			cr_fail(l, "getDifference(%lld) said reload", (long long)l->stored);
		json_array_foreach(json_object_get(res, "updates"), i, row) {
			if (cr_apply(l, row) != 1)
				cr_fail(l, "getDifference(%lld) row %zu has pts %lld", (long long)l->stored, i,
					(long long)cr_int(row, "pts"));
		}
		if (cr_int(json_object_get(res, "state"), "pts") != l->stored)
			cr_fail(l, "getDifference state.pts %lld, applied up to %lld",
				(long long)cr_int(json_object_get(res, "state"), "pts"), (long long)l->stored);
		more = json_is_true(json_object_get(res, "more"));
		json_decref(reply);
		if (!more || l->failed[0])
			return 0;
	}
}

static void *cr_listener_main(void *arg)
{
	struct cr_listener *l = arg;
	int64_t deadline = cr_now_ms() + CR_LISTEN_MS;
	struct wsc *w = NULL;
	int backoff = CR_RETRY_MS;
	char err[256];

	while (!l->failed[0]) {
		long long target = atomic_load(&l->target);
		json_t *m;
		int rc;

		if (target >= 0 && l->stored >= target)
			break;
		if (cr_now_ms() > deadline) {
			cr_fail(l, "gave up after %d ms at pts %lld (target %lld)", CR_LISTEN_MS, (long long)l->stored, target);
			break;
		}
		if (!w) {
			if (wsc_open(l->url, l->token, CR_OPEN_MS, &w, NULL, NULL, err, sizeof err) < 0) {
				w = NULL;
				cr_sleep_ms(backoff);
				if (backoff < 200)
					backoff *= 2;
				continue;
			}
			backoff = CR_RETRY_MS;
			l->connects++;
			if (cr_catch_up(l, w) < 0) {
				wsc_free(w);
				w = NULL;
			}
			continue;
		}
		rc = wsc_next(w, 100, &m);
		if (rc == WSC_TIMEOUT)
			continue;
		if (rc < 0) {
			if (rc == WSC_EPROTO)
				cr_fail(l, "socket: %s", wsc_error(w));
			wsc_free(w);
			w = NULL;
			continue;
		}
		if (!json_object_get(m, "pts")) {
			json_decref(m); /* presence and such */
			continue;
		}
		rc = cr_apply(l, m);
		if (rc == 1)
			l->live++;
		else if (rc == 0)
			l->dropped++;
		else {
			l->gaps++;
			if (cr_catch_up(l, w) < 0) {
				wsc_free(w);
				w = NULL;
			} else if (cr_apply(l, m) < 0) {
				cr_fail(l, "pts %lld still missing after getDifference", (long long)l->stored + 1);
			}
		}
		json_decref(m);
	}
	wsc_free(w);
	return NULL;
}

/* --- setup ---------------------------------------------------------------- */

static int cr_setup(void **state)
{
	static const char *const env[] = {"PARLEY_RATE_MESSAGES_BURST=1000000", NULL};
	int64_t members[CR_SENDERS + CR_LISTENERS - 1];
	struct parley_error err;
	char name[32];
	int n = 0;

	if (!(cr_h = harness_start(env)))
		return -1;
	for (int i = 0; i < CR_LISTENERS; i++) {
		struct parley_client *c;
		snprintf(name, sizeof name, "crl_listener%d", i);
		c = harness_user(cr_h, name);
		cr_lis[i] = (struct cr_listener){.index = i, .uid = harness_user_id(cr_h, name), .applied = json_array()};
		snprintf(cr_lis[i].url, sizeof cr_lis[i].url, "%s", harness_url(cr_h));
		atomic_init(&cr_lis[i].target, -1);
		snprintf(cr_lis[i].token, sizeof cr_lis[i].token, "%s", parley_client_token(c));
		members[n++] = cr_lis[i].uid;
	}
	for (int i = 0; i < CR_SENDERS; i++) {
		snprintf(name, sizeof name, "crs_sender%d", i);
		cr_snd[i] = (struct cr_sender){.index = i, .c = harness_user(cr_h, name),
					       .uid = harness_user_id(cr_h, name), .peer = cr_lis[i % CR_LISTENERS].uid};
		parley_client_set_timeout_ms(cr_snd[i].c, CR_SEND_TIMEOUT_MS);
		if (i)
			members[n++] = cr_snd[i].uid;
	}
	if (parley_create_group(cr_snd[0].c, "Crash sync", members, (size_t)n, &cr_group, &err) < 0) {
		fprintf(stderr, "createGroup: %s: %s\n", err.code, err.description);
		return -1;
	}
	for (int i = 0; i < CR_SENDERS; i++)
		cr_snd[i].group = cr_group;
	return 0;
}

static int cr_teardown(void **state)
{
	for (int i = 0; i < CR_LISTENERS; i++)
		json_decref(cr_lis[i].applied);
	harness_free(cr_h);
	cr_h = NULL;
	return 0;
}

/* --- the test ------------------------------------------------------------- */

/* Does l's applied stream hold new_message msg_id of chat (as l sees it) once? */
static int cr_count_message(const struct cr_listener *l, int64_t chat, int64_t msg_id)
{
	json_t *row;
	size_t i;
	int n = 0;

	json_array_foreach(l->applied, i, row) {
		json_t *u = json_object_get(row, "update"), *msg = json_object_get(u, "message");
		if (strcmp(json_string_value(json_object_get(u, "type")), "new_message") == 0 &&
		    cr_int(json_object_get(msg, "chat"), "id") == chat && cr_int(msg, "message_id") == msg_id)
			n++;
	}
	return n;
}

static void test_kill9_under_load(void **state)
{
	const char *seed_env = getenv("CRASH_SEED");
	unsigned seed = seed_env ? (unsigned)strtoul(seed_env, NULL, 10) : (unsigned)time(NULL);
	int kill_at[CR_KILLS], total = CR_SENDERS * CR_PER_SENDER, acked = 0, failures = 0;
	struct parley_client *probe = harness_client(cr_h);
	int64_t t0 = cr_now_ms();

	srand(seed);
	fprintf(stderr, "test_sync_crash: CRASH_SEED=%u\n", seed);
	for (int k = 0; k < CR_KILLS; k++) /* spread over the run: the k-th kill in the k-th slice */
		kill_at[k] = total * (2 * k + 1) / (2 * CR_KILLS + 1) + rand() % (total / (2 * CR_KILLS + 1));

	for (int i = 0; i < CR_LISTENERS; i++)
		assert_int_equal(pthread_create(&cr_lis[i].thread, NULL, cr_listener_main, &cr_lis[i]), 0);
	for (int i = 0; i < CR_SENDERS; i++)
		assert_int_equal(pthread_create(&cr_snd[i].thread, NULL, cr_sender_main, &cr_snd[i]), 0);

	for (int k = 0; k < CR_KILLS; k++) {
		int64_t until = cr_now_ms() + 60000;
		while (atomic_load(&cr_acked) < kill_at[k] && cr_now_ms() < until)
			cr_sleep_ms(1);
		harness_kill9(cr_h);
		fprintf(stderr, "test_sync_crash: kill -9 after %d acknowledged messages\n", atomic_load(&cr_acked));
		cr_sleep_ms(rand() % CR_DOWN_MS_MAX);
		assert_int_equal(harness_restart(cr_h), 0);
	}
	for (int i = 0; i < CR_SENDERS; i++)
		pthread_join(cr_snd[i].thread, NULL);
	/* The listeners are done once they have their final pts. */
	for (int i = 0; i < CR_LISTENERS; i++) {
		struct parley_client *c = harness_client(cr_h);
		json_t *st = NULL;
		struct parley_error err;
		assert_int_equal(parley_client_set_token(c, cr_lis[i].token), 0);
		assert_int_equal(parley_call(c, "getState", NULL, &st, &err), 0);
		atomic_store(&cr_lis[i].target, cr_int(st, "pts"));
		json_decref(st);
	}
	for (int i = 0; i < CR_LISTENERS; i++)
		pthread_join(cr_lis[i].thread, NULL);
	for (int i = 0; i < CR_SENDERS; i++) {
		failures += cr_snd[i].failures;
		acked += CR_PER_SENDER - cr_snd[i].failures;
	}
	fprintf(stderr, "test_sync_crash: %d messages acknowledged, %d sends failed, in %.1f s\n", acked, failures,
		(cr_now_ms() - t0) / 1000.0);
	assert_int_equal(acked, atomic_load(&cr_acked));

	for (int i = 0; i < CR_LISTENERS; i++) {
		struct cr_listener *l = &cr_lis[i];
		struct parley_client *c = harness_client(cr_h);
		json_t *server = json_array();
		int64_t pts = 0;

		fprintf(stderr, "test_sync_crash: listener %d: pts 1..%lld, %d connections, %d applied live, %d duplicate "
			"pushes dropped, %d gaps filled\n", i, (long long)l->stored, l->connects, l->live, l->dropped, l->gaps);
		if (l->failed[0])
			print_error("listener %d: %s\n", i, l->failed);
		assert_string_equal(l->failed, "");
		/* 1..N, each once. */
		assert_int_equal(l->stored, atomic_load(&l->target));
		assert_int_equal((int64_t)json_array_size(l->applied), l->stored);
		for (size_t k = 0; k < json_array_size(l->applied); k++)
			assert_int_equal(cr_int(json_array_get(l->applied, k), "pts"), (int64_t)k + 1);
		/* It reconnected (two kills close together may fall into one
		 * disconnection, so not necessarily once per kill). */
		assert_true(l->connects >= 2);
		assert_true(l->live > 0);

		/* What it applied is what the server keeps for those pts. */
		assert_int_equal(parley_client_set_token(c, l->token), 0);
		for (;;) {
			json_t *params = json_pack("{s:I, s:i}", "pts", (json_int_t)pts, "limit", 1000), *res = NULL;
			struct parley_error err;
			int more;
			assert_int_equal(parley_call(c, "getDifference", params, &res, &err), 0);
			json_decref(params);
			json_array_extend(server, json_object_get(res, "updates"));
			pts = cr_int(json_object_get(res, "state"), "pts");
			more = json_is_true(json_object_get(res, "more"));
			json_decref(res);
			if (!more)
				break;
		}
		assert_int_equal(json_array_size(server), json_array_size(l->applied));
		for (size_t k = 0; k < json_array_size(server); k++)
			if (!json_equal(json_array_get(server, k), json_array_get(l->applied, k))) {
				char *a = json_dumps(json_array_get(l->applied, k), JSON_COMPACT);
				char *b = json_dumps(json_array_get(server, k), JSON_COMPACT);
				print_error("listener %d, pts %zu: applied %s, the server now has %s\n", i, k + 1, a, b);
				free(a);
				free(b);
				fail();
			}
		json_decref(server);

		/* Every acknowledged message to this listener, once. */
		for (int s = 0; s < CR_SENDERS; s++)
			for (int k = 0; k < CR_PER_SENDER; k++) {
				int64_t chat;
				if (!cr_snd[s].ids[k])
					continue;
				if (cr_snd[s].chat[k] == cr_group)
					chat = cr_group;
				else if (cr_snd[s].chat[k] == l->uid)
					chat = cr_snd[s].uid; /* a private chat is named by the peer */
				else
					continue;
				if (cr_count_message(l, chat, cr_snd[s].ids[k]) != 1) {
					print_error("listener %d: message %lld of sender %d (send %d, chat %lld) appears %d times\n",
						    i, (long long)cr_snd[s].ids[k], s, k, (long long)chat,
						    cr_count_message(l, chat, cr_snd[s].ids[k]));
					fail();
				}
			}
		/* No message id twice within a chat. */
		{
			json_t *row;
			size_t k, j;
			json_array_foreach(l->applied, k, row) {
				json_t *u = json_object_get(row, "update"), *msg = json_object_get(u, "message");
				if (strcmp(json_string_value(json_object_get(u, "type")), "new_message") != 0)
					continue;
				for (j = k + 1; j < json_array_size(l->applied); j++) {
					json_t *u2 = json_object_get(json_array_get(l->applied, j), "update");
					json_t *m2 = json_object_get(u2, "message");
					if (strcmp(json_string_value(json_object_get(u2, "type")), "new_message") == 0 &&
					    cr_int(json_object_get(m2, "chat"), "id") == cr_int(json_object_get(msg, "chat"), "id"))
						assert_true(cr_int(m2, "message_id") > cr_int(msg, "message_id"));
				}
			}
		}
	}
	/* And the server still serves. */
	assert_int_equal(parley_health(probe, NULL), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_kill9_under_load),
	};

	return cmocka_run_group_tests(tests, cr_setup, cr_teardown);
}
