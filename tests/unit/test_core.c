/* test_core.c — unit tests for the domain rules in src/core (accounts,
 * access, groups, channels, links, messages) and the safety chain, over a
 * real SQLite store in a temporary folder. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>
#include <sodium.h>

#include "bus/bus.h"
#include "core/core.h"
#include "util/ratelimit.h"
#include "ut_core.h"

struct fx {
	struct ut_core u;
	struct safety_flood flood;
	int64_t alice, bob, carol;
};

static struct core_tx tx_for(struct fx *f, int64_t uid)
{
	return ut_tx(&f->u, uid);
}

static int64_t make_user(struct fx *f, const char *name)
{
	return ut_user(&f->u, name, NULL);
}

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof *f);

	ut_core_open(&f->u, "core");
	assert_int_equal(safety_flood_init(&f->flood, 1.0, 3.0), 0);
	safety_chain_add(&f->u.core.chain, "flood", safety_flood_check, &f->flood);
	safety_chain_add(&f->u.core.chain, "allow", safety_allow_check, NULL);
	f->alice = make_user(f, "Alice");
	f->bob = make_user(f, "bobby");
	f->carol = make_user(f, "carol");
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	ut_core_close(&f->u);
	safety_flood_release(&f->flood);
	free(f);
	return 0;
}

static void test_usernames(void **state)
{
	struct fx *f = *state;
	struct core_tx tx = tx_for(f, 0);
	char out[STORE_USERNAME_SZ];
	struct store_user u;
	struct store_session ss;

	assert_int_equal(core_username_normalize("Alice_01", out), 0);
	assert_string_equal(out, "alice_01");
	assert_int_equal(core_username_normalize("abcd", out), PL_INVAL);
	assert_int_equal(core_username_normalize("abc de", out), PL_INVAL);
	assert_int_equal(core_username_normalize("ab\xc3\xa9xyz", out), PL_INVAL);
	/* case-insensitive uniqueness */
	assert_true(core_register(&tx, "ALICE", "h", NULL, "", "", "0", &u, &ss) < 0);
	assert_int_equal(tx.code, PLC_USERNAME_OCCUPIED);
}

static void test_passwords_and_tokens(void **state)
{
	struct fx *f = *state;
	struct core_tx tx = tx_for(f, 0);
	char hash[STORE_HASH_SZ], token[65], th[STORE_TOKEN_HASH_SZ], th2[STORE_TOKEN_HASH_SZ];
	struct store_session ss;

	assert_int_equal(core_password_hash(&f->u.core, "correct horse", hash), 0);
	assert_non_null(strstr(hash, "$argon2id$"));
	assert_int_equal(core_password_verify(hash, "correct horse"), 0);
	assert_int_equal(core_password_verify(hash, "wrong horse"), PL_DENIED);
	core_token_new(token, th);
	core_token_hash(token, th2);
	assert_string_equal(th, th2);
	assert_int_equal(strlen(token), 64);
	assert_int_equal(core_session_open(&tx, f->alice, "laptop", "::1", th, &ss), 0);
	assert_int_equal(core_authenticate(&tx, token, &ss), 0);
	assert_int_equal(tx.uid, f->alice);
	assert_int_equal(core_session_close(&tx, ss.id), 0);
	assert_true(core_authenticate(&tx, token, &ss) < 0);
	assert_int_equal(tx.code, PLC_UNAUTHORIZED);
}

static void test_private_chat(void **state)
{
	struct fx *f = *state;
	struct core_tx tx = tx_for(f, f->alice);
	struct core_access a, b;
	struct store_message m;

	assert_true(core_chat_resolve(&tx, f->bob, NULL, 0, CORE_NEED_READ, &a) < 0);
	assert_int_equal(tx.code, PLC_CHAT_NOT_FOUND);
	assert_int_equal(core_chat_resolve(&tx, f->bob, NULL, 1, CORE_NEED_NONE, &a), 0);
	assert_int_equal(core_chat_peer_id(&a.chat, f->alice), f->bob);
	assert_int_equal(core_message_send(&tx, &a, "hello", 0, &m), 0);
	assert_int_equal(m.id, 1);
	store_message_release(&m);
	struct core_tx tb = tx_for(f, f->bob);
	assert_int_equal(core_chat_resolve(&tb, f->alice, NULL, 0, CORE_NEED_READ, &b), 0);
	assert_int_equal(b.chat.id, a.chat.id);
	assert_true(b.can_post);
	/* carol cannot see it under any id */
	struct core_tx tc = tx_for(f, f->carol);
	assert_true(core_chat_resolve(&tc, -a.chat.id, NULL, 0, CORE_NEED_READ, &b) < 0);
}

static void test_message_checks(void **state)
{
	struct fx *f = *state;
	struct core_tx tx = tx_for(f, f->alice);
	struct core_access a;
	struct store_message m;
	char *big = malloc(PL_MESSAGE_MAX + 2);

	assert_int_equal(core_chat_resolve(&tx, f->bob, NULL, 1, CORE_NEED_NONE, &a), 0);
	assert_true(core_message_send(&tx, &a, "   ", 0, &m) < 0);
	assert_int_equal(tx.code, PLC_MESSAGE_EMPTY);
	memset(big, 'x', PL_MESSAGE_MAX + 1);
	big[PL_MESSAGE_MAX + 1] = 0;
	assert_true(core_message_send(&tx, &a, big, 0, &m) < 0);
	assert_int_equal(tx.code, PLC_MESSAGE_TOO_LONG);
	big[PL_MESSAGE_MAX] = 0;
	assert_int_equal(core_message_send(&tx, &a, big, 0, &m), 0);
	store_message_release(&m);
	free(big);
	assert_true(core_message_send(&tx, &a, "bad \xff", 0, &m) < 0);
	assert_int_equal(tx.code, PLC_TEXT_INVALID_UTF8);
	assert_true(core_message_send(&tx, &a, "re", 99, &m) < 0);
	assert_int_equal(tx.code, PLC_MESSAGE_NOT_FOUND);
}

static void test_blocking(void **state)
{
	struct fx *f = *state;
	struct core_tx tb = tx_for(f, f->bob), ta = tx_for(f, f->alice);
	struct core_access a;
	struct store_message m;
	struct store_chat g;

	assert_int_equal(core_block(&tb, f->alice, 1), 0);
	/* No chat yet: refused before one is made (nothing to undo). */
	assert_true(core_chat_resolve(&ta, f->bob, NULL, 1, CORE_NEED_NONE, &a) < 0);
	assert_int_equal(ta.code, PLC_USER_BLOCKED);
	assert_true(core_chat_resolve(&ta, f->bob, NULL, 0, CORE_NEED_NONE, &a) < 0);
	assert_int_equal(ta.code, PLC_CHAT_NOT_FOUND);
	int64_t ids[] = {f->bob};
	assert_true(core_group_create(&ta, "G", ids, 1, NULL, &g) < 0);
	assert_int_equal(ta.code, PLC_USER_BLOCKED);
	assert_int_equal(core_block(&tb, f->alice, 0), 0);
	assert_int_equal(core_chat_resolve(&ta, f->bob, NULL, 1, CORE_NEED_NONE, &a), 0);
	assert_int_equal(core_message_send(&ta, &a, "hi", 0, &m), 0);
	store_message_release(&m);
	/* The chat exists: a block refuses the post. */
	assert_int_equal(core_block(&tb, f->alice, 1), 0);
	assert_int_equal(core_chat_resolve(&ta, f->bob, NULL, 1, CORE_NEED_NONE, &a), 0);
	assert_true(core_message_send(&ta, &a, "again", 0, &m) < 0);
	assert_int_equal(ta.code, PLC_USER_BLOCKED);
	assert_int_equal(core_block(&tb, f->alice, 0), 0);
}

/* As the writer runs them: each call in a transaction of its own, so the
 * store's row cache (users, chats, members, blocks) answers the second
 * call's checks; a block or an unblock between two posts still counts. */
static void test_blocking_cached(void **state)
{
	struct fx *f = *state;
	struct core_tx tb = tx_for(f, f->bob), ta = tx_for(f, f->alice);
	struct core_access a;
	struct store_message m;
	struct store *s = ta.s;

	for (int round = 0; round < 2; round++) {
		assert_int_equal(store_begin(s), 0);
		assert_int_equal(core_chat_resolve(&ta, f->bob, NULL, 1, CORE_NEED_NONE, &a), 0);
		assert_int_equal(core_message_send(&ta, &a, "hi", 0, &m), 0);
		store_message_release(&m);
		assert_int_equal(store_commit(s), 0);

		assert_int_equal(store_begin(s), 0);
		assert_int_equal(core_block(round ? &ta : &tb, round ? f->bob : f->alice, 1), 0);
		assert_int_equal(store_commit(s), 0);

		assert_int_equal(store_begin(s), 0);
		assert_int_equal(core_chat_resolve(&ta, f->bob, NULL, 1, CORE_NEED_NONE, &a), 0);
		assert_true(core_message_send(&ta, &a, "again", 0, &m) < 0);
		assert_int_equal(ta.code, PLC_USER_BLOCKED);
		assert_int_equal(store_rollback(s), 0);

		assert_int_equal(store_begin(s), 0);
		assert_int_equal(core_block(round ? &ta : &tb, round ? f->bob : f->alice, 0), 0);
		assert_int_equal(store_commit(s), 0);
	}
	assert_int_equal(store_begin(s), 0);
	assert_int_equal(core_chat_resolve(&ta, f->bob, NULL, 1, CORE_NEED_NONE, &a), 0);
	assert_int_equal(core_message_send(&ta, &a, "after", 0, &m), 0);
	store_message_release(&m);
	assert_int_equal(store_commit(s), 0);
}

static void test_group_roles(void **state)
{
	struct fx *f = *state;
	struct core_tx ta = tx_for(f, f->alice), tb = tx_for(f, f->bob), tc = tx_for(f, f->carol);
	struct core_access a, b, c;
	struct store_chat g;
	struct store_message m;
	int64_t ids[] = {f->bob};

	assert_int_equal(core_group_create(&ta, "Team", ids, 1, NULL, &g), 0);
	assert_int_equal(g.member_count, 2);
	/* carol is not a member: cannot read or post */
	assert_true(core_chat_resolve(&tc, -g.id, NULL, 0, CORE_NEED_READ, &c) < 0);
	assert_int_equal(tc.code, PLC_CHAT_FORBIDDEN);
	assert_int_equal(core_chat_resolve(&tc, -g.id, NULL, 0, CORE_NEED_NONE, &c), 0);
	assert_true(core_message_send(&tc, &c, "hi", 0, &m) < 0);
	assert_int_equal(tc.code, PLC_CHAT_WRITE_FORBIDDEN);
	/* bob (member) may post, may not promote or ban */
	assert_int_equal(core_chat_resolve(&tb, -g.id, NULL, 0, CORE_NEED_MEMBER, &b), 0);
	assert_int_equal(core_message_send(&tb, &b, "bob here", 0, &m), 0);
	int64_t bob_msg = m.id;
	store_message_release(&m);
	assert_true(core_member_ban(&tb, &b, f->alice) < 0);
	assert_int_equal(tb.code, PLC_CHAT_ADMIN_REQUIRED);
	/* members cannot send once can_send_messages is off */
	struct core_chat_edit e = {.perms_clear = STORE_PERM_SEND};
	assert_int_equal(core_chat_resolve(&ta, -g.id, NULL, 0, CORE_NEED_MEMBER, &a), 0);
	assert_int_equal(core_chat_edit(&ta, &a, &e), 0);
	assert_int_equal(core_chat_resolve(&tb, -g.id, NULL, 0, CORE_NEED_MEMBER, &b), 0);
	assert_true(core_message_send(&tb, &b, "x", 0, &m) < 0);
	assert_int_equal(tb.code, PLC_CHAT_WRITE_FORBIDDEN);
	/* the admin deletes bob's message for everyone; bob is banned and loses access */
	assert_int_equal(core_chat_resolve(&ta, -g.id, NULL, 0, CORE_NEED_MEMBER, &a), 0);
	assert_int_equal(core_messages_delete(&ta, &a, &bob_msg, 1, 1), 0);
	assert_int_equal(core_member_ban(&ta, &a, f->bob), 0);
	assert_true(core_chat_resolve(&tb, -g.id, NULL, 0, CORE_NEED_READ, &b) < 0);
	assert_int_equal(tb.code, PLC_USER_BANNED_IN_CHAT);
}

static void test_links(void **state)
{
	struct fx *f = *state;
	struct core_tx ta = tx_for(f, f->alice), tb = tx_for(f, f->bob), tc = tx_for(f, f->carol);
	struct core_access a;
	struct store_chat g, out;
	struct store_link l, primary;
	char url[800];

	assert_int_equal(core_group_create(&ta, "Club", NULL, 0, NULL, &g), 0);
	assert_int_equal(core_chat_resolve(&ta, -g.id, NULL, 0, CORE_NEED_MEMBER, &a), 0);
	assert_int_equal(core_link_create(&ta, &a, "one use", 0, 1, 0, &l), 0);
	core_link_url(&f->u.core, &l, url, sizeof url);
	assert_int_equal(strncmp(url, "http://chat.example/+", 21), 0);
	assert_int_equal(core_chat_join_link(&tb, url, &out), 0);
	assert_int_equal(out.member_count, 2);
	assert_true(core_chat_join_link(&tc, l.code, &out) < 0);
	assert_int_equal(tc.code, PLC_INVITE_USAGE_LIMIT);
	assert_true(core_link_create(&ta, &a, NULL, ta.now - 1, 0, 0, &l) < 0); /* past expiry refused */
	assert_int_equal(core_link_create(&ta, &a, NULL, ta.now + 10, 0, 0, &l), 0);
	tc.now = ta.now + 11;
	assert_true(core_chat_join_link(&tc, l.code, &out) < 0);
	assert_int_equal(tc.code, PLC_INVITE_HASH_EXPIRED);
	assert_int_equal(core_link_create(&ta, &a, NULL, 0, 0, 1, &primary), 0);
	assert_int_equal(core_link_create(&ta, &a, NULL, 0, 0, 1, &l), 0);
	tc.now = ta.now;
	assert_true(core_chat_join_link(&tc, primary.code, &out) < 0); /* replaced primary is revoked */
	assert_int_equal(tc.code, PLC_INVITE_HASH_EXPIRED);
	assert_int_equal(core_chat_join_link(&tc, l.code, &out), 0);
	assert_true(core_chat_join_link(&tc, "no/such/+code", &out) < 0);
	assert_int_equal(tc.code, PLC_INVITE_HASH_INVALID);
}

static void test_channel(void **state)
{
	struct fx *f = *state;
	struct core_tx ta = tx_for(f, f->alice), tb = tx_for(f, f->bob);
	struct core_access a, b;
	struct store_chat ch;
	struct store_message m;
	int64_t views[1];

	assert_int_equal(core_channel_create(&ta, "News", "Daily_News", NULL, &ch), 0);
	assert_string_equal(ch.username, "daily_news");
	assert_int_equal(core_chat_resolve(&tb, 0, "daily_news", 0, CORE_NEED_READ, &b), 0); /* public: readable */
	assert_false(b.is_member);
	assert_int_equal(core_chat_join_public(&tb, &b), 0);
	assert_int_equal(core_chat_resolve(&tb, -ch.id, NULL, 0, CORE_NEED_MEMBER, &b), 0);
	assert_true(core_message_send(&tb, &b, "spam", 0, &m) < 0);
	assert_int_equal(tb.code, PLC_CHAT_WRITE_FORBIDDEN);
	assert_int_equal(core_chat_resolve(&ta, -ch.id, NULL, 0, CORE_NEED_MEMBER, &a), 0);
	assert_int_equal(core_message_send(&ta, &a, "post", 0, &m), 0);
	assert_int_equal(core_messages_view(&tb, &b, &m.id, 1, views), 0);
	assert_int_equal(views[0], 1);
	assert_int_equal(core_messages_view(&tb, &b, &m.id, 1, views), 0);
	assert_int_equal(views[0], 1); /* same viewer counts once */
	store_message_release(&m);
	/* a second channel cannot take the same name, nor can a user */
	assert_true(core_channel_create(&ta, "Copy", "DAILY_NEWS", NULL, &ch) < 0);
	assert_int_equal(ta.code, PLC_USERNAME_OCCUPIED);
}

static void test_read_and_unread(void **state)
{
	struct fx *f = *state;
	struct core_tx ta = tx_for(f, f->alice), tb = tx_for(f, f->bob);
	struct core_access a, b;
	struct store_message m;
	int64_t read_max, unread;

	f->flood.rate = 1000;
	f->flood.burst = 1000;
	assert_int_equal(core_chat_resolve(&ta, f->bob, NULL, 1, CORE_NEED_NONE, &a), 0);
	for (int i = 0; i < 5; i++) {
		assert_int_equal(core_message_send(&ta, &a, "x", 0, &m), 0);
		store_message_release(&m);
	}
	assert_int_equal(core_chat_resolve(&tb, f->alice, NULL, 0, CORE_NEED_MEMBER, &b), 0);
	assert_int_equal(core_read_history(&tb, &b, 2, &read_max, &unread), 0);
	assert_int_equal(read_max, 2);
	assert_int_equal(unread, 3);
	assert_int_equal(core_read_history(&tb, &b, 1, &read_max, &unread), 0); /* never moves back */
	assert_int_equal(read_max, 2);
	assert_int_equal(core_read_history(&tb, &b, 0, &read_max, &unread), 0);
	assert_int_equal(unread, 0);
}

static void test_safety_chain(void **state)
{
	struct fx *f = *state;
	struct core_tx ta = tx_for(f, f->alice);
	struct core_access a;
	struct store_message m;
	struct safety_chain empty;
	struct safety_msg sm = {1, 1, STORE_CHAT_PRIVATE, "x", 1, 0};
	struct safety_result r;
	size_t before = f->u.ev.n;

	assert_int_equal(core_chat_resolve(&ta, f->bob, NULL, 1, CORE_NEED_NONE, &a), 0);
	for (int i = 0; i < 3; i++) { /* burst 3 */
		assert_int_equal(core_message_send(&ta, &a, "x", 0, &m), 0);
		store_message_release(&m);
	}
	assert_true(core_message_send(&ta, &a, "x", 0, &m) < 0);
	assert_int_equal(ta.code, PLC_FLOOD_WAIT);
	assert_true(ta.retry_after >= 1);
	assert_int_equal(f->u.ev.n - before, 3); /* one event per stored message, none for the refused one */
	ta.mono += 2; /* two tokens back */
	assert_int_equal(core_message_send(&ta, &a, "x", 0, &m), 0);
	store_message_release(&m);
	safety_chain_init(&empty); /* a chain with no opinion denies */
	assert_int_equal(safety_chain_run(&empty, &sm, &r), SAFETY_DENY);
}

/* A write the writer runs again (its group rolled back) replays the safety
 * chain's answers of its first run instead of taking flood tokens twice. */
static void test_safety_replay(void **state)
{
	struct fx *f = *state;
	struct core_tx ta = tx_for(f, f->alice);
	struct core_verdicts vs;
	struct core_access a;
	struct store_message m;

	memset(&vs, 0, sizeof vs);
	ta.verdicts = &vs;
	assert_int_equal(core_chat_resolve(&ta, f->bob, NULL, 1, CORE_NEED_NONE, &a), 0);
	for (int i = 0; i < 3; i++) { /* burst 3: the bucket is empty after */
		assert_int_equal(core_message_send(&ta, &a, "x", 0, &m), 0);
		store_message_release(&m);
	}
	assert_true(core_message_send(&ta, &a, "x", 0, &m) < 0);
	assert_int_equal(ta.code, PLC_FLOOD_WAIT);
	assert_int_equal(vs.n, 4);
	/* The second run: the same answers, no token taken. */
	vs.next = 0;
	ta.code = 0;
	ta.retry_after = 0;
	for (int i = 0; i < 3; i++) {
		assert_int_equal(core_message_send(&ta, &a, "x", 0, &m), 0);
		store_message_release(&m);
	}
	assert_true(core_message_send(&ta, &a, "x", 0, &m) < 0);
	assert_int_equal(ta.code, PLC_FLOOD_WAIT);
	assert_true(ta.retry_after >= 1);
	/* Past what was kept, the chain runs (and is not recorded). */
	ta.mono += 1; /* one token back */
	assert_int_equal(core_message_send(&ta, &a, "x", 0, &m), 0);
	store_message_release(&m);
	assert_int_equal(vs.n, CORE_VERDICTS_MAX);
	core_tx_release(&ta);
}

/* A call's event list keeps its first events in the struct and moves them
 * to the heap when it grows past them, in order; a zeroed list works as an
 * initialised one. */
static void test_bus_events_inline(void **state)
{
	struct bus_events e, z;

	memset(&z, 0, sizeof z);
	bus_events_init(&e);
	for (int round = 0; round < 2; round++) {
		for (int64_t i = 0; i < 40; i++) {
			assert_int_equal(bus_events_add(&e, BUS_MESSAGE_NEW, i, i + 1, i + 2, i + 3), 0);
			assert_int_equal(bus_events_add(&z, BUS_MESSAGE_NEW, i, i + 1, i + 2, i + 3), 0);
			assert_int_equal(e.n, (size_t)i + 1);
			for (int64_t k = 0; k <= i; k++) {
				assert_int_equal(e.v[k].chat_id, k);
				assert_int_equal(e.v[k].value, k + 3);
				assert_int_equal(z.v[k].msg_id, k + 1);
			}
		}
		bus_events_release(&e);
		bus_events_release(&z);
		assert_int_equal(e.n, 0);
		assert_true(e.v == e.inl);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bus_events_inline),
		cmocka_unit_test_setup_teardown(test_usernames, setup, teardown),
		cmocka_unit_test_setup_teardown(test_passwords_and_tokens, setup, teardown),
		cmocka_unit_test_setup_teardown(test_private_chat, setup, teardown),
		cmocka_unit_test_setup_teardown(test_message_checks, setup, teardown),
		cmocka_unit_test_setup_teardown(test_blocking, setup, teardown),
		cmocka_unit_test_setup_teardown(test_blocking_cached, setup, teardown),
		cmocka_unit_test_setup_teardown(test_group_roles, setup, teardown),
		cmocka_unit_test_setup_teardown(test_links, setup, teardown),
		cmocka_unit_test_setup_teardown(test_channel, setup, teardown),
		cmocka_unit_test_setup_teardown(test_read_and_unread, setup, teardown),
		cmocka_unit_test_setup_teardown(test_safety_chain, setup, teardown),
		cmocka_unit_test_setup_teardown(test_safety_replay, setup, teardown),
	};
	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
