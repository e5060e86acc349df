/*
 * test_crash.c — acknowledged means durable: parleyd is killed with SIGKILL
 * while several clients send messages as fast as they can, then started
 * again on the same data folder (tests/integration/harness.h).
 *
 * Each round, CRASH_THREADS clients send CRASH_PER_THREAD messages each,
 * alternating between a shared group and a private chat of their own, and
 * record the message_id of every send the server acknowledged.  At a random
 * point between a quarter and three quarters of the way the daemon is
 * killed.  After the restart:
 *   - every acknowledged message is in its chat's history with the same id
 *     and text;
 *   - a message that was not acknowledged is stored only if it was the one
 *     its sender had in flight at the kill, and never twice;
 *   - ids within a chat are unique (the history comes back strictly
 *     ascending);
 *   - the old sessions still work and new sends get ids after the last
 *     stored one.
 * Two rounds run on the same data, so the second crash also checks that the
 * first round's messages survive a second kill.  The checkpointer is woken
 * at 8 WAL pages (checkpoint_pages), so it runs after nearly every commit
 * and falls back to RESTART past 128 pages: kills land inside checkpoints.
 *
 * CRASH_SEED=N in the environment replays a run (the seed is printed).
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

#define CRASH_THREADS 8
#define CRASH_PER_THREAD 125            /* 8 x 125 = 1000 messages a round */
#define CRASH_ROUNDS 2
#define CRASH_WAIT_MS 40000             /* longest wait for the kill point */
#define CRASH_CLIENT_TIMEOUT_MS 10000   /* per send */
#define CRASH_PAGE 100

struct crash_thread {
	pthread_t thread;
	struct parley_client *c;
	int index;
	int round;
	int64_t group;
	int64_t peer;                  /* user id of this thread's private peer */
	atomic_int *acked_total;
	int64_t ids[CRASH_PER_THREAD]; /* id of each acknowledged send */
	int sent;                      /* sends 0..sent-1 were acknowledged */
	int failed_at;                 /* the send that got no answer, or -1 */
	struct parley_error err;       /* why it failed */
};

struct crash_fx {
	struct harness *h;
	struct crash_thread t[CRASH_THREADS];
	int64_t uid[CRASH_THREADS];
	int64_t group;
	/* Everything acknowledged so far, across rounds: [round][thread]. */
	int64_t ids[CRASH_ROUNDS][CRASH_THREADS][CRASH_PER_THREAD];
	int sent[CRASH_ROUNDS][CRASH_THREADS];
	int failed_at[CRASH_ROUNDS][CRASH_THREADS];
	int rounds_done;
	unsigned seed;
};

static int64_t crash_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void crash_text(char *buf, size_t len, int round, int t, int i)
{
	snprintf(buf, len, "crash r%d t%d i%d \xe2\x9a\xa1 %0*d", round, t, i, 1 + (i * 7 + t) % 40, i);
}

/* Send i goes to the group when even, to the private chat when odd. */
static int64_t crash_chat_of(const struct crash_thread *t, int i)
{
	return i % 2 ? t->peer : t->group;
}

static void *crash_sender(void *arg)
{
	struct crash_thread *t = arg;
	char text[128];

	for (int i = 0; i < CRASH_PER_THREAD; i++) {
		crash_text(text, sizeof(text), t->round, t->index, i);
		if (parley_send_message(t->c, crash_chat_of(t, i), text, 0, &t->ids[i], &t->err) < 0) {
			t->failed_at = i;
			return NULL;
		}
		t->sent = i + 1;
		atomic_fetch_add(t->acked_total, 1);
	}
	return NULL;
}

/* The whole history of chat as c sees it, oldest first (a new array); ids
 * must come back strictly ascending, which also means no id twice. */
static json_t *crash_history(struct parley_client *c, int64_t chat)
{
	json_t *all = json_array();
	int64_t offset = 0;
	struct parley_error err;

	assert_non_null(all);
	for (;;) {
		json_t *page = NULL, *m;
		size_t i;

		if (parley_get_history(c, chat, offset, 1, CRASH_PAGE, &page, &err) < 0) {
			print_error("getHistory(%lld): %d %s: %s\n", (long long)chat, err.http_status, err.code,
				    err.description);
			fail();
		}
		if (json_array_size(page) == 0) {
			json_decref(page);
			return all;
		}
		json_array_foreach(page, i, m) {
			int64_t id = json_integer_value(json_object_get(m, "message_id"));
			if (id <= offset) {
				print_error("chat %lld: id %lld after %lld (duplicate or out of order)\n",
					    (long long)chat, (long long)id, (long long)offset);
				fail();
			}
			offset = id;
		}
		json_array_extend(all, page);
		json_decref(page);
	}
}

/* Checks one chat's history against what was acknowledged.  chat_of_thread
 * is -1 for the group, else the thread whose private chat this is.
 * seen[r][t][i] is set for each message found.  Returns the largest id. */
static int64_t crash_check_chat(struct crash_fx *fx, struct parley_client *c, int64_t chat, int chat_of_thread,
				unsigned char (*seen)[CRASH_THREADS][CRASH_PER_THREAD])
{
	json_t *hist = crash_history(c, chat), *m;
	int64_t last = 0;
	size_t k;

	json_array_foreach(hist, k, m) {
		const char *text = json_string_value(json_object_get(m, "text"));
		int64_t id = json_integer_value(json_object_get(m, "message_id"));
		char want[128];
		int r, t, i;

		last = id;
		if (!text || strncmp(text, "crash r", 7) != 0)
			continue; /* service messages, and the after-restart probes */
		if (sscanf(text, "crash r%d t%d i%d", &r, &t, &i) != 3 || r < 0 || r >= fx->rounds_done || t < 0 ||
		    t >= CRASH_THREADS || i < 0 || i >= CRASH_PER_THREAD) {
			print_error("chat %lld: unexpected text \"%s\"\n", (long long)chat, text);
			fail();
		}
		crash_text(want, sizeof(want), r, t, i);
		if (strcmp(text, want) != 0) {
			print_error("chat %lld id %lld: text \"%s\", expected \"%s\"\n", (long long)chat, (long long)id,
				    text, want);
			fail();
		}
		if ((i % 2 ? t : -1) != chat_of_thread) {
			print_error("\"%s\" landed in the wrong chat (%lld)\n", text, (long long)chat);
			fail();
		}
		if (seen[r][t][i]) {
			print_error("\"%s\" is stored twice (second copy id %lld)\n", text, (long long)id);
			fail();
		}
		seen[r][t][i] = 1;
		if (i < fx->sent[r][t]) {
			if (fx->ids[r][t][i] != id) {
				print_error("\"%s\" was acknowledged as id %lld but is stored as %lld\n", text,
					    (long long)fx->ids[r][t][i], (long long)id);
				fail();
			}
		} else if (i != fx->failed_at[r][t]) {
			print_error("\"%s\" is stored, but thread %d had only sent up to %d\n", text, t,
				    fx->failed_at[r][t]);
			fail();
		}
	}
	json_decref(hist);
	return last;
}

/* Verifies every round so far, then checks that each chat goes on with
 * ids above the stored ones. */
static void crash_verify(struct crash_fx *fx)
{
	static unsigned char seen[CRASH_ROUNDS][CRASH_THREADS][CRASH_PER_THREAD];
	struct parley_error err;
	int64_t last_group, last_private[CRASH_THREADS], id;
	int stored_unacked = 0, acked = 0;
	char text[64];

	memset(seen, 0, sizeof(seen));
	last_group = crash_check_chat(fx, fx->t[0].c, fx->group, -1, seen);
	for (int t = 0; t < CRASH_THREADS; t++)
		last_private[t] = crash_check_chat(fx, fx->t[t].c, fx->t[t].peer, t, seen);
	for (int r = 0; r < fx->rounds_done; r++)
		for (int t = 0; t < CRASH_THREADS; t++) {
			for (int i = 0; i < fx->sent[r][t]; i++)
				if (!seen[r][t][i]) {
					print_error("acknowledged message r%d t%d i%d (id %lld) was lost\n", r, t, i,
						    (long long)fx->ids[r][t][i]);
					fail();
				}
			acked += fx->sent[r][t];
			if (fx->failed_at[r][t] >= 0 && seen[r][t][fx->failed_at[r][t]])
				stored_unacked++;
		}
	print_message("after the crash: all %d acknowledged messages so far kept; %d unacknowledged in-flight "
		      "ones stored too\n",
		      acked, stored_unacked);

	/* The old sessions work and ids continue after the stored ones. */
	for (int t = 0; t < CRASH_THREADS; t++) {
		snprintf(text, sizeof(text), "after crash %d, thread %d, group", fx->rounds_done, t);
		if (parley_send_message(fx->t[t].c, fx->group, text, 0, &id, &err) < 0) {
			print_error("send after restart: %d %s: %s\n", err.http_status, err.code, err.description);
			fail();
		}
		assert_true(id > last_group);
		last_group = id;
		snprintf(text, sizeof(text), "after crash %d, thread %d, private", fx->rounds_done, t);
		if (parley_send_message(fx->t[t].c, fx->t[t].peer, text, 0, &id, &err) < 0) {
			print_error("send after restart: %d %s: %s\n", err.http_status, err.code, err.description);
			fail();
		}
		assert_true(id > last_private[t]);
	}
}

/* One round: start the senders, kill -9 at a random point, restart. */
static void crash_round(struct crash_fx *fx, int round)
{
	atomic_int acked = 0;
	struct timespec pause = {0, 1000000};
	int total = CRASH_THREADS * CRASH_PER_THREAD;
	int kill_at = total / 4 + (int)(rand_r(&fx->seed) % (unsigned)(total / 2));
	int64_t deadline = crash_now_ms() + CRASH_WAIT_MS;
	int reached;

	for (int t = 0; t < CRASH_THREADS; t++) {
		struct crash_thread *th = &fx->t[t];
		th->round = round;
		th->sent = 0;
		th->failed_at = -1;
		th->acked_total = &acked;
		memset(th->ids, 0, sizeof(th->ids));
		assert_int_equal(pthread_create(&th->thread, NULL, crash_sender, th), 0);
	}
	while ((reached = atomic_load(&acked)) < kill_at && crash_now_ms() < deadline)
		nanosleep(&pause, NULL);
	harness_kill9(fx->h);
	for (int t = 0; t < CRASH_THREADS; t++)
		pthread_join(fx->t[t].thread, NULL);
	if (reached < kill_at) {
		print_error("only %d of %d sends were acknowledged in %d ms\n", reached, kill_at, CRASH_WAIT_MS);
		for (int t = 0; t < CRASH_THREADS; t++)
			if (fx->t[t].failed_at >= 0)
				print_error("thread %d failed at %d: %s %s\n", t, fx->t[t].failed_at, fx->t[t].err.code,
					    fx->t[t].err.description);
		fail();
	}
	print_message("round %d: killed after %d acknowledged sends (aimed at %d)\n", round, atomic_load(&acked),
		      kill_at);
	for (int t = 0; t < CRASH_THREADS; t++) {
		memcpy(fx->ids[round][t], fx->t[t].ids, sizeof(fx->t[t].ids));
		fx->sent[round][t] = fx->t[t].sent;
		fx->failed_at[round][t] = fx->t[t].failed_at;
		/* A thread that finished before the kill has nothing in flight. */
		assert_true(fx->t[t].failed_at >= 0 || fx->t[t].sent == CRASH_PER_THREAD);
	}
	fx->rounds_done = round + 1;
	assert_int_equal(harness_restart(fx->h), 0);
}

static int crash_setup(void **state)
{
	struct crash_fx *fx = calloc(1, sizeof(*fx));
	static const char *const env[] = {"PARLEY_CHECKPOINT_PAGES=8", NULL};
	const char *seed = getenv("CRASH_SEED");
	struct parley_error err;

	if (!fx || !(fx->h = harness_start(env)))
		return -1;
	fx->seed = seed && *seed ? (unsigned)strtoul(seed, NULL, 10) : (unsigned)time(NULL);
	print_message("CRASH_SEED=%u\n", fx->seed);
	for (int t = 0; t < CRASH_THREADS; t++) {
		char name[32];
		snprintf(name, sizeof(name), "crash_user%d", t);
		fx->t[t].c = harness_user(fx->h, name);
		fx->t[t].index = t;
		fx->uid[t] = harness_user_id(fx->h, name);
		parley_client_set_timeout_ms(fx->t[t].c, CRASH_CLIENT_TIMEOUT_MS);
	}
	if (parley_create_group(fx->t[0].c, "Crash test", fx->uid + 1, CRASH_THREADS - 1, &fx->group, &err) < 0)
		return -1;
	for (int t = 0; t < CRASH_THREADS; t++) {
		fx->t[t].group = fx->group;
		fx->t[t].peer = fx->uid[(t + 1) % CRASH_THREADS];
	}
	*state = fx;
	return 0;
}

static int crash_teardown(void **state)
{
	struct crash_fx *fx = *state;

	if (fx) {
		harness_free(fx->h);
		free(fx);
	}
	return 0;
}

static void test_kill9_during_sends(void **state)
{
	struct crash_fx *fx = *state;

	for (int round = 0; round < CRASH_ROUNDS; round++) {
		crash_round(fx, round);
		crash_verify(fx);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_kill9_during_sends),
	};

	return cmocka_run_group_tests(tests, crash_setup, crash_teardown);
}
