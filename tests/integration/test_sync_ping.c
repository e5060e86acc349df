/*
 * test_sync_ping.c — keep-alive on the WebSocket (docs/sync.md: "The server
 * pings idle connections every 30 s and closes a connection that has not
 * answered in 60 s"), against the real parleyd (harness.h) run with
 * PARLEY_WS_PING_INTERVAL_MS=1000 (so: ping after 1 s of silence, close
 * after 2 s), over wsclient.h.
 *
 * Covered: a client that keeps reading answers the server's pings (wsclient
 * answers them while it waits) and is still served after several intervals;
 * a client whose socket is never read, so never answers, is dropped after
 * about twice the interval (the TCP connection ends: close code 1006 on our
 * side) while the reading one stays; a client that keeps talking (calls
 * every half interval) is never dropped; pushes still reach the survivor.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "harness.h"
#include "parley.h"
#include "wsclient.h"

#define PG_INTERVAL_MS 1000      /* PARLEY_WS_PING_INTERVAL_MS */
#define PG_WATCH_MS 4500         /* how long each client is watched */
#define PG_CALL_MS 10000

static struct harness *pg_h;
static struct parley_client *pg_alice, *pg_bob;
static int64_t pg_alice_id;

static double pg_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static struct wsc *pg_open(struct parley_client *c)
{
	struct wsc *w = NULL;
	char err[256];

	if (wsc_open(harness_url(pg_h), parley_client_token(c), PG_CALL_MS, &w, NULL, NULL, err, sizeof err) < 0) {
		print_error("WebSocket: %s\n", err);
		fail();
	}
	return w;
}

static void pg_expect_served(struct wsc *w)
{
	json_t *reply = NULL;
	int rc = wsc_call(w, "getMe", NULL, PG_CALL_MS, &reply);

	if (rc < 0)
		print_error("getMe: %s (%s), close code %d\n", wsc_strerror(rc), wsc_error(w), wsc_close_code(w));
	assert_int_equal(rc, WSC_OK);
	assert_true(json_is_true(json_object_get(reply, "ok")));
	json_decref(reply);
}

static int pg_setup(void **state)
{
	static const char *const env[] = {"PARLEY_WS_PING_INTERVAL_MS=1000", NULL};

	if (!(pg_h = harness_start(env)))
		return -1;
	pg_alice = harness_user(pg_h, "pg_alice");
	pg_bob = harness_user(pg_h, "pg_bob");
	pg_alice_id = harness_user_id(pg_h, "pg_alice");
	return 0;
}

static int pg_teardown(void **state)
{
	harness_free(pg_h);
	pg_h = NULL;
	return 0;
}

static void test_idle_reader_is_pinged_silent_one_dropped(void **state)
{
	struct wsc *reader = pg_open(pg_alice), *silent = pg_open(pg_alice);
	double t0 = pg_now();
	struct parley_error err;
	int64_t id = 0;
	json_t *m;
	int code;

	/* The reader waits, answering pings as they come. */
	while (pg_now() - t0 < PG_WATCH_MS / 1000.0) {
		int rc = wsc_next(reader, 100, &m);
		if (rc == WSC_OK)
			json_decref(m);
		else if (rc != WSC_TIMEOUT) {
			print_error("reader: %s (%s), close code %d\n", wsc_strerror(rc), wsc_error(reader),
				    wsc_close_code(reader));
			fail();
		}
	}
	fprintf(stderr, "test_sync_ping: an idle reader answered %lu pings in %.1f s\n", wsc_pings(reader),
		pg_now() - t0);
	assert_true(wsc_pings(reader) >= 2);
	pg_expect_served(reader);

	/* The silent one never read, so never answered: it is gone. */
	code = wsc_wait_close(silent, 1000);
	fprintf(stderr, "test_sync_ping: the silent client's connection ended with code %d\n", code);
	assert_int_equal(code, 1006); /* dropped without a closing handshake (ws.h) */
	wsc_free(silent);

	/* Pushes still reach the reader. */
	assert_int_equal(parley_send_message(pg_bob, pg_alice_id, "still there?", 0, &id, &err), 0);
	for (;;) {
		assert_int_equal(wsc_next(reader, PG_CALL_MS, &m), WSC_OK);
		if (json_object_get(m, "pts"))
			break;
		json_decref(m);
	}
	assert_int_equal(json_integer_value(json_object_get(json_object_get(json_object_get(m, "update"), "message"),
							    "message_id")), id);
	json_decref(m);
	wsc_free(reader);
}

static void test_talking_client_never_dropped(void **state)
{
	struct wsc *w = pg_open(pg_bob);
	double t0 = pg_now();
	int calls = 0;

	while (pg_now() - t0 < PG_WATCH_MS / 1000.0) {
		struct timespec ts = {0, (long)PG_INTERVAL_MS / 2 * 1000000L};
		pg_expect_served(w);
		calls++;
		nanosleep(&ts, NULL);
	}
	assert_true(calls >= 6);
	pg_expect_served(w);
	wsc_free(w);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_idle_reader_is_pinged_silent_one_dropped),
		cmocka_unit_test(test_talking_client_never_dropped),
	};

	return cmocka_run_group_tests(tests, pg_setup, pg_teardown);
}
