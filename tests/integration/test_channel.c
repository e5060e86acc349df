/*
 * test_channel.c — a public channel with 10,000 subscribers, through
 * libparley against the real parleyd (tests/integration/harness.h, which
 * runs it with the cheapest password hashing and no rate limits).
 *
 * Covered: CHAN_SUBSCRIBERS users register and join "@name" from
 * CHAN_THREADS threads, one client each; getChatMemberCount is
 * subscribers + 1; the owner's post is readable by a sample of
 * subscribers; viewMessages by CHAN_VIEWERS distinct users (some at once)
 * gives views == CHAN_VIEWERS and repeated views by the same users do not
 * count; getChatMembers is refused to a subscriber (CHAT_ADMIN_REQUIRED)
 * and pages through every member exactly once for the owner.
 *
 * The setup phase's time (and how it splits between register and joinChat)
 * and the total go to stderr; registering and joining the 10,000 users is
 * most of the run.  Set PARLEY_TEST_CHANNEL_SUBSCRIBERS (at least
 * CHAN_VIEWERS) to run smaller.
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

#define CHAN_SUBSCRIBERS 10000  /* users who join the channel */
#define CHAN_SUBSCRIBERS_ENV "PARLEY_TEST_CHANNEL_SUBSCRIBERS"
#define CHAN_THREADS 8          /* registering threads, one client each */
#define CHAN_VIEWERS 100        /* distinct users who view the post */
#define CHAN_VIEW_THREADS 5     /* viewers viewing at once */
#define CHAN_SAMPLE_EVERY 97    /* every Nth subscriber reads the post */
#define CHAN_PAGE 100           /* getChatMembers page size */
#define CHAN_NAME "chan_big_news"
#define CHAN_TOKEN_SZ (PARLEY_TOKEN_MAX + 1)

/* One subscriber: who they are and their session. */
struct chan_sub {
	int64_t id;
	char token[CHAN_TOKEN_SZ];
};

static struct harness *chan_h;
static struct chan_sub *chan_subs; /* chan_n of them */
static int chan_n;
static int64_t chan_id, chan_owner_id;
static struct parley_client *chan_owner;

#define OK(c, method, params) harness_call_ok((c), (method), (params), __LINE__)

static int64_t chan_int(json_t *obj, const char *key)
{
	json_t *v = json_object_get(obj, key);

	assert_true(json_is_integer(v));
	return (int64_t)json_integer_value(v);
}

static double chan_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Makes c act as subscriber i. */
static void chan_as(struct parley_client *c, int i)
{
	assert_int_equal(parley_client_set_token(c, chan_subs[i].token), 0);
}

/* --- the threads ------------------------------------------------------ */

/* Registers subscribers first, first+step, ... and joins each to the
 * channel.  No cmocka calls off the main thread: the first failure is kept
 * for the main thread to report. */
struct chan_worker {
	struct parley_client *c;
	int first, step;
	int done;
	int failed_at;          /* subscriber index of the failure, or -1 */
	const char *failed_in;  /* "register" or "joinChat" */
	struct parley_error err;
	double register_s, join_s; /* time spent waiting for each */
};

static void *chan_register_main(void *arg)
{
	struct chan_worker *w = arg;
	char name[32], pw[80];

	for (int i = w->first; i < chan_n; i += w->step) {
		json_t *params, *res = NULL;
		double t0 = chan_now(), t1;
		int rc;

		snprintf(name, sizeof name, "chsub_%05d", i);
		if (parley_register(w->c, name, harness_password(name, pw, sizeof pw), NULL, &chan_subs[i].id,
				    &w->err) < 0) {
			w->failed_in = "register";
			w->failed_at = i;
			break;
		}
		snprintf(chan_subs[i].token, sizeof chan_subs[i].token, "%s", parley_client_token(w->c));
		t1 = chan_now();
		w->register_s += t1 - t0;
		params = json_pack("{s:s}", "chat_id", "@" CHAN_NAME);
		rc = parley_call(w->c, "joinChat", params, &res, &w->err);
		json_decref(params);
		json_decref(res);
		w->join_s += chan_now() - t1;
		if (rc < 0) {
			w->failed_in = "joinChat";
			w->failed_at = i;
			break;
		}
		w->done++;
	}
	return NULL;
}

/* Views the post as subscribers first, first+step, ... < last. */
struct chan_viewer {
	struct parley_client *c;
	int first, step, last;
	int64_t post;
	int64_t max_seen;
	int failed;
	struct parley_error err;
};

static void *chan_view_main(void *arg)
{
	struct chan_viewer *v = arg;

	for (int i = v->first; i < v->last && !v->failed; i += v->step) {
		json_t *params = json_pack("{s:I, s:[I]}", "chat_id", (json_int_t)chan_id, "message_ids",
					   (json_int_t)v->post), *res = NULL;

		if (parley_client_set_token(v->c, chan_subs[i].token) < 0 ||
		    parley_call(v->c, "viewMessages", params, &res, &v->err) < 0) {
			v->failed = 1;
		} else {
			int64_t n = (int64_t)json_integer_value(json_array_get(res, 0));
			if (n > v->max_seen)
				v->max_seen = n;
		}
		json_decref(params);
		json_decref(res);
	}
	return NULL;
}

/* Runs CHAN_VIEW_THREADS viewers over subscribers [first, last). */
static int64_t chan_view_parallel(int64_t post, int first, int last)
{
	struct chan_viewer v[CHAN_VIEW_THREADS];
	pthread_t t[CHAN_VIEW_THREADS];
	int64_t max = 0;

	for (int k = 0; k < CHAN_VIEW_THREADS; k++) {
		v[k] = (struct chan_viewer){.c = harness_client(chan_h), .first = first + k, .step = CHAN_VIEW_THREADS,
					    .last = last, .post = post};
		assert_int_equal(pthread_create(&t[k], NULL, chan_view_main, &v[k]), 0);
	}
	for (int k = 0; k < CHAN_VIEW_THREADS; k++)
		pthread_join(t[k], NULL);
	for (int k = 0; k < CHAN_VIEW_THREADS; k++) {
		if (v[k].failed)
			print_error("viewer %d: %s: %s\n", k, v[k].err.code, v[k].err.description);
		assert_false(v[k].failed);
		if (v[k].max_seen > max)
			max = v[k].max_seen;
	}
	return max;
}

/* --- setup: the channel and its subscribers --------------------------- */

static int chan_setup(void **state)
{
	struct chan_worker w[CHAN_THREADS];
	pthread_t t[CHAN_THREADS];
	struct parley_error err;
	const char *env = getenv(CHAN_SUBSCRIBERS_ENV);
	double t0;
	double register_s = 0, join_s = 0;
	int total = 0, rc = -1;

	chan_n = env && atoi(env) >= CHAN_VIEWERS ? atoi(env) : CHAN_SUBSCRIBERS;
	if (!(chan_h = harness_start(NULL)))
		return -1;
	if (!(chan_subs = calloc((size_t)chan_n, sizeof *chan_subs)))
		return -1;
	chan_owner = harness_user(chan_h, "chan_owner");
	chan_owner_id = harness_user_id(chan_h, "chan_owner");
	if (parley_create_channel(chan_owner, "Big news", CHAN_NAME, &chan_id, &err) < 0) {
		fprintf(stderr, "createChannel: %s: %s\n", err.code, err.description);
		return -1;
	}

	t0 = chan_now();
	for (int k = 0; k < CHAN_THREADS; k++) {
		w[k] = (struct chan_worker){.c = harness_client(chan_h), .first = k, .step = CHAN_THREADS,
					    .failed_at = -1};
		if (pthread_create(&t[k], NULL, chan_register_main, &w[k]) != 0)
			return -1; /* the harness's daemon is stopped by the process exit */
	}
	for (int k = 0; k < CHAN_THREADS; k++)
		pthread_join(t[k], NULL);
	for (int k = 0; k < CHAN_THREADS; k++) {
		if (w[k].failed_at >= 0)
			fprintf(stderr, "thread %d: %s of subscriber %d: %d %s: %s\n", k, w[k].failed_in,
				w[k].failed_at, w[k].err.http_status, w[k].err.code, w[k].err.description);
		total += w[k].done;
		register_s += w[k].register_s;
		join_s += w[k].join_s;
	}
	fprintf(stderr, "test_channel: %d users registered and joined @%s in %.1f s (%d threads; of their "
		"waiting, %.0f%% on register, %.0f%% on joinChat)\n", total, CHAN_NAME, chan_now() - t0, CHAN_THREADS,
		100 * register_s / (register_s + join_s + 1e-9), 100 * join_s / (register_s + join_s + 1e-9));
	if (total == chan_n)
		rc = 0;
	return rc;
}

static int chan_teardown(void **state)
{
	harness_free(chan_h);
	chan_h = NULL;
	free(chan_subs);
	chan_subs = NULL;
	return 0;
}

/* --- tests ------------------------------------------------------------ */

static void test_member_count(void **state)
{
	struct parley_client *c = harness_client(chan_h);
	json_t *n, *chat;

	n = OK(chan_owner, "getChatMemberCount", json_pack("{s:s}", "chat_id", "@" CHAN_NAME));
	assert_int_equal(json_integer_value(n), chan_n + 1);
	json_decref(n);
	chan_as(c, chan_n / 2);
	n = OK(c, "getChatMemberCount", json_pack("{s:I}", "chat_id", (json_int_t)chan_id));
	assert_int_equal(json_integer_value(n), chan_n + 1);
	json_decref(n);
	chat = OK(c, "getChat", json_pack("{s:I}", "chat_id", (json_int_t)chan_id));
	assert_int_equal(chan_int(chat, "member_count"), chan_n + 1);
	assert_string_equal(json_string_value(json_object_get(chat, "my_status")), "member");
	json_decref(chat);
}

static void test_post_views(void **state)
{
	struct parley_client *c = harness_client(chan_h);
	struct parley_error err;
	int64_t post = 0, other = 0;
	json_t *msgs, *m, *res;
	int readers = 0;

	assert_int_equal(parley_send_message(chan_owner, chan_id, "Breaking: ten thousand readers", 0, &post, &err), 0);
	assert_int_equal(parley_send_message(chan_owner, chan_id, "Second story", 0, &other, &err), 0);

	/* A sample of subscribers reads it, signed by the channel. */
	for (int i = 0; i < chan_n; i += CHAN_SAMPLE_EVERY) {
		chan_as(c, i);
		assert_int_equal(parley_get_history(c, chan_id, 0, 0, 5, &msgs, &err), 0);
		assert_int_equal(json_array_size(msgs), 3); /* + "channel created" */
		m = json_array_get(msgs, 1);
		assert_int_equal(chan_int(m, "message_id"), post);
		assert_string_equal(json_string_value(json_object_get(m, "text")), "Breaking: ten thousand readers");
		assert_int_equal(chan_int(json_object_get(m, "sender_chat"), "id"), chan_id);
		assert_int_equal(chan_int(m, "views"), 0);
		json_decref(msgs);
		readers++;
	}
	assert_true(readers >= chan_n / CHAN_SAMPLE_EVERY);

	/* Half the viewers one after another: each view counts once... */
	for (int i = 0; i < CHAN_VIEWERS / 2; i++) {
		chan_as(c, i);
		res = OK(c, "viewMessages", json_pack("{s:I, s:[I]}", "chat_id", (json_int_t)chan_id, "message_ids",
						      (json_int_t)post));
		assert_int_equal(json_array_size(res), 1);
		assert_int_equal(json_integer_value(json_array_get(res, 0)), i + 1);
		json_decref(res);
	}
	/* ...the other half at once... */
	assert_int_equal(chan_view_parallel(post, CHAN_VIEWERS / 2, CHAN_VIEWERS), CHAN_VIEWERS);
	/* ...and everyone again, at once and one by one: no change. */
	assert_int_equal(chan_view_parallel(post, 0, CHAN_VIEWERS), CHAN_VIEWERS);
	for (int i = 0; i < CHAN_VIEWERS; i += 9) {
		chan_as(c, i);
		res = OK(c, "viewMessages", json_pack("{s:I, s:[I,I]}", "chat_id", (json_int_t)chan_id, "message_ids",
						      (json_int_t)post, (json_int_t)post));
		assert_int_equal(json_integer_value(json_array_get(res, 0)), CHAN_VIEWERS);
		assert_int_equal(json_integer_value(json_array_get(res, 1)), CHAN_VIEWERS);
		json_decref(res);
	}

	/* Everyone sees the count on the post; the other post is unviewed. */
	assert_int_equal(parley_get_history(chan_owner, chan_id, 0, 0, 5, &msgs, &err), 0);
	assert_int_equal(chan_int(json_array_get(msgs, 1), "views"), CHAN_VIEWERS);
	assert_int_equal(chan_int(json_array_get(msgs, 0), "message_id"), other);
	assert_int_equal(chan_int(json_array_get(msgs, 0), "views"), 0);
	json_decref(msgs);
	chan_as(c, chan_n - 1);
	assert_int_equal(parley_get_history(c, chan_id, post - 1, 1, 1, &msgs, &err), 0);
	assert_int_equal(chan_int(json_array_get(msgs, 0), "views"), CHAN_VIEWERS);
	json_decref(msgs);
}

static void test_member_list(void **state)
{
	struct parley_client *c = harness_client(chan_h);
	struct parley_error err;
	json_t *params, *res = NULL;
	unsigned char *seen;
	int64_t offset = 0, max_id = chan_owner_id;
	int total = 0, pages = 0, rc;

	/* A subscriber may not list the subscribers. */
	chan_as(c, 7);
	params = json_pack("{s:I}", "chat_id", (json_int_t)chan_id);
	rc = parley_call(c, "getChatMembers", params, &res, &err);
	json_decref(params);
	assert_int_equal(rc, PARLEY_EAPI);
	assert_int_equal(err.http_status, 403);
	assert_string_equal(err.code, "CHAT_ADMIN_REQUIRED");

	/* The owner pages through everyone exactly once, by user id. */
	for (int i = 0; i < chan_n; i++)
		if (chan_subs[i].id > max_id)
			max_id = chan_subs[i].id;
	assert_non_null(seen = calloc((size_t)max_id + 1, 1));
	for (;;) {
		json_t *m;
		size_t i;

		res = OK(chan_owner, "getChatMembers", json_pack("{s:I, s:I, s:i}", "chat_id", (json_int_t)chan_id,
								 "offset_user_id", (json_int_t)offset, "limit",
								 CHAN_PAGE));
		if (json_array_size(res) == 0) {
			json_decref(res);
			break;
		}
		assert_true(json_array_size(res) <= CHAN_PAGE);
		json_array_foreach(res, i, m) {
			int64_t uid = chan_int(json_object_get(m, "user"), "id");
			const char *st = json_string_value(json_object_get(m, "status"));
			assert_true(uid > offset && uid <= max_id);
			assert_int_equal(seen[uid], 0);
			seen[uid] = 1;
			offset = uid;
			assert_string_equal(st, uid == chan_owner_id ? "creator" : "member");
			total++;
		}
		json_decref(res);
		assert_true(++pages <= chan_n / CHAN_PAGE + 2);
	}
	assert_int_equal(total, chan_n + 1);
	assert_true(seen[chan_owner_id]);
	for (int i = 0; i < chan_n; i++)
		assert_true(seen[chan_subs[i].id]);
	assert_int_equal(pages, (chan_n + 1 + CHAN_PAGE - 1) / CHAN_PAGE);
	free(seen);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_member_count),
		cmocka_unit_test(test_post_views),
		cmocka_unit_test(test_member_list),
	};
	double t0 = chan_now();
	int failed = cmocka_run_group_tests(tests, chan_setup, chan_teardown);

	fprintf(stderr, "test_channel: %.1f s in all\n", chan_now() - t0);
	return failed;
}
