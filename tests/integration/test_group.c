/*
 * test_group.c — a 50-member group written to by several members at once,
 * through libparley against the real parleyd (tests/integration/harness.h).
 *
 * Covered: createGroup with 49 initial members; GROUP_SENDERS members send
 * concurrently, one thread and one client each, while other members read;
 * afterwards every member's getHistory holds every message exactly once, in
 * one and the same order, with strictly increasing ids and no gaps (the only
 * non-text entries being service messages), and each sender's messages in
 * the order that sender sent them.
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

#include "harness.h"
#include "parley.h"

#define GROUP_MEMBERS 50     /* the creator and 49 others */
#define GROUP_SENDERS 8      /* members sending at once, one thread each */
#define GROUP_PER_SENDER 40  /* messages each sender sends */
#define GROUP_READERS 2      /* members paging the history meanwhile */
#define GROUP_TEXT_MAX 64

static struct harness *group_h;

static int64_t group_int(json_t *obj, const char *key)
{
	json_t *v = json_object_get(obj, key);

	assert_true(json_is_integer(v));
	return (int64_t)json_integer_value(v);
}

/* What one sender thread did; read by the main thread after join. */
struct group_sender {
	struct parley_client *c;
	int64_t chat_id;
	int index;
	int64_t ids[GROUP_PER_SENDER];
	int sent;
	struct parley_error err; /* of the first failure */
};

/* Sends GROUP_PER_SENDER messages "s<index> m<j>" in order.  No cmocka
 * calls here: failures are recorded for the main thread to report. */
static void *group_send_main(void *arg)
{
	struct group_sender *s = arg;
	char text[GROUP_TEXT_MAX];

	for (int j = 0; j < GROUP_PER_SENDER; j++) {
		snprintf(text, sizeof text, "s%d m%d", s->index, j);
		if (parley_send_message(s->c, s->chat_id, text, 0, &s->ids[j], &s->err) < 0)
			break;
		s->sent++;
	}
	return NULL;
}

/* A member reading the latest page over and over while the senders write;
 * each page must be strictly ordered. */
struct group_reader {
	struct parley_client *c;
	int64_t chat_id;
	volatile int *stop;
	int pages;
	int disorder;
	struct parley_error err;
	int failed;
};

static void *group_read_main(void *arg)
{
	struct group_reader *r = arg;

	while (!*r->stop && !r->failed) {
		json_t *page = NULL, *m;
		int64_t prev = 0;
		size_t i;

		if (parley_get_history(r->c, r->chat_id, 0, 0, 20, &page, &r->err) < 0) {
			r->failed = 1;
			break;
		}
		json_array_foreach(page, i, m) {
			int64_t id = (int64_t)json_integer_value(json_object_get(m, "message_id"));
			if (prev && id >= prev)
				r->disorder++;
			prev = id;
		}
		json_decref(page);
		r->pages++;
	}
	return NULL;
}

/* The whole history of chat_id as c sees it, oldest first (a new array). */
static json_t *group_full_history(struct parley_client *c, int64_t chat_id)
{
	json_t *all = json_array();
	int64_t offset = 0;
	struct parley_error err;

	for (;;) {
		json_t *page = NULL;
		size_t n;

		if (parley_get_history(c, chat_id, offset, 1, 100, &page, &err) < 0) {
			print_error("getHistory: %s: %s\n", err.code, err.description);
			fail();
		}
		n = json_array_size(page);
		if (n)
			offset = group_int(json_array_get(page, n - 1), "message_id");
		json_array_extend(all, page);
		json_decref(page);
		if (n == 0)
			break;
		assert_true(json_array_size(all) < 10000);
	}
	return all;
}

static int group_setup(void **state)
{
	group_h = harness_start(NULL);
	return group_h ? 0 : -1;
}

static int group_teardown(void **state)
{
	harness_free(group_h);
	group_h = NULL;
	return 0;
}

static void test_concurrent_senders(void **state)
{
	struct parley_client *members[GROUP_MEMBERS];
	int64_t uids[GROUP_MEMBERS], chat_id = 0, first_id = 0, last_id = 0;
	struct group_sender senders[GROUP_SENDERS];
	struct group_reader readers[GROUP_READERS];
	pthread_t st[GROUP_SENDERS], rt[GROUP_READERS];
	volatile int stop = 0;
	struct parley_error err;
	json_t *reference = NULL, *chat;
	char name[32];

	for (int i = 0; i < GROUP_MEMBERS; i++) {
		snprintf(name, sizeof name, "grp_member_%02d", i);
		members[i] = harness_user(group_h, name);
		uids[i] = harness_user_id(group_h, name);
	}
	if (parley_create_group(members[0], "Fifty", uids + 1, GROUP_MEMBERS - 1, &chat_id, &err) < 0) {
		print_error("createGroup: %s: %s\n", err.code, err.description);
		fail();
	}
	assert_true(chat_id < 0);
	{
		json_t *params = json_pack("{s:I}", "chat_id", (json_int_t)chat_id);
		assert_int_equal(parley_call(members[GROUP_MEMBERS - 1], "getChat", params, &chat, &err), 0);
		json_decref(params);
		assert_int_equal(group_int(chat, "member_count"), GROUP_MEMBERS);
		assert_string_equal(json_string_value(json_object_get(chat, "type")), "group");
		assert_string_equal(json_string_value(json_object_get(chat, "my_status")), "member");
		json_decref(chat);
	}

	/* Senders are every fifth member from member 1; readers are the two
	 * last members. */
	for (int i = 0; i < GROUP_SENDERS; i++) {
		senders[i] = (struct group_sender){.c = members[1 + i * 5], .chat_id = chat_id, .index = i};
		parley_error_clear(&senders[i].err);
	}
	for (int i = 0; i < GROUP_READERS; i++)
		readers[i] = (struct group_reader){.c = members[GROUP_MEMBERS - 1 - i], .chat_id = chat_id,
						   .stop = &stop};
	for (int i = 0; i < GROUP_READERS; i++)
		assert_int_equal(pthread_create(&rt[i], NULL, group_read_main, &readers[i]), 0);
	for (int i = 0; i < GROUP_SENDERS; i++)
		assert_int_equal(pthread_create(&st[i], NULL, group_send_main, &senders[i]), 0);
	for (int i = 0; i < GROUP_SENDERS; i++)
		pthread_join(st[i], NULL);
	stop = 1;
	for (int i = 0; i < GROUP_READERS; i++)
		pthread_join(rt[i], NULL);

	for (int i = 0; i < GROUP_SENDERS; i++) {
		if (senders[i].sent != GROUP_PER_SENDER)
			print_error("sender %d: sent %d: %s: %s\n", i, senders[i].sent, senders[i].err.code,
				    senders[i].err.description);
		assert_int_equal(senders[i].sent, GROUP_PER_SENDER);
		for (int j = 1; j < GROUP_PER_SENDER; j++)
			assert_true(senders[i].ids[j] > senders[i].ids[j - 1]);
	}
	for (int i = 0; i < GROUP_READERS; i++) {
		if (readers[i].failed)
			print_error("reader %d: %s: %s\n", i, readers[i].err.code, readers[i].err.description);
		assert_false(readers[i].failed);
		assert_int_equal(readers[i].disorder, 0);
		assert_true(readers[i].pages > 0);
	}

	/* Every member sees the same history. */
	for (int i = 0; i < GROUP_MEMBERS; i++) {
		json_t *all = group_full_history(members[i], chat_id), *m;
		int seen[GROUP_SENDERS][GROUP_PER_SENDER];
		int next[GROUP_SENDERS] = {0};
		int64_t prev = 0;
		size_t k;

		memset(seen, 0, sizeof seen);
		json_array_foreach(all, k, m) {
			int64_t id = group_int(m, "message_id");
			json_t *text = json_object_get(m, "text");
			int s, j;

			if (prev)
				assert_int_equal(id, prev + 1); /* no gaps, no repeats */
			prev = id;
			if (!json_is_string(text)) {
				/* The only service messages: the group's creation,
				 * then the 49 members it was created with. */
				assert_true(id <= 2);
				if (id == 1)
					assert_true(json_is_true(json_object_get(m, "group_chat_created")));
				else
					assert_int_equal(json_array_size(json_object_get(m, "new_chat_members")),
							 GROUP_MEMBERS - 1);
				assert_int_equal(group_int(json_object_get(m, "from"), "id"), uids[0]);
				continue;
			}
			assert_int_equal(sscanf(json_string_value(text), "s%d m%d", &s, &j), 2);
			assert_true(s >= 0 && s < GROUP_SENDERS && j >= 0 && j < GROUP_PER_SENDER);
			assert_int_equal(id, senders[s].ids[j]);
			assert_int_equal(group_int(json_object_get(m, "from"), "id"),
					 uids[1 + s * 5]);
			assert_int_equal(group_int(json_object_get(m, "chat"), "id"), chat_id);
			assert_int_equal(j, next[s]); /* each sender's messages in sending order */
			next[s]++;
			seen[s][j]++;
		}
		for (int s = 0; s < GROUP_SENDERS; s++)
			for (int j = 0; j < GROUP_PER_SENDER; j++)
				assert_int_equal(seen[s][j], 1);
		if (!reference) {
			reference = json_incref(all);
			first_id = group_int(json_array_get(all, 0), "message_id");
			last_id = prev;
		} else {
			assert_int_equal(json_array_size(all), json_array_size(reference));
			for (size_t x = 0; x < json_array_size(all); x++)
				assert_int_equal(group_int(json_array_get(all, x), "message_id"),
						 group_int(json_array_get(reference, x), "message_id"));
		}
		json_decref(all);
	}
	assert_int_equal(first_id, 1);
	assert_int_equal(json_array_size(reference), last_id);
	assert_true(last_id >= GROUP_SENDERS * GROUP_PER_SENDER);
	json_decref(reference);

	/* Every member's dialog points at the last message. */
	for (int i = 0; i < GROUP_MEMBERS; i += 7) {
		json_t *dialogs = NULL, *d;
		size_t k;
		int found = 0;

		assert_int_equal(parley_get_dialogs(members[i], 100, &dialogs, &err), 0);
		json_array_foreach(dialogs, k, d) {
			if (group_int(json_object_get(d, "chat"), "id") != chat_id)
				continue;
			found = 1;
			assert_int_equal(group_int(json_object_get(d, "last_message"), "message_id"), last_id);
		}
		assert_true(found);
		json_decref(dialogs);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_concurrent_senders),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
