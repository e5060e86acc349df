/*
 * test_restart.c — what parleyd keeps across a clean restart (SIGTERM, then
 * a new process on the same data folder), through libparley against the
 * real daemon (tests/integration/harness.h starts and restarts it).
 *
 * Covered: accounts (login with the password), sessions (old tokens keep
 * working, a logged-out token stays dead, getSessions lists the same ones),
 * groups (title, description, members), messages (every history byte for
 * byte, edits and deletions included), read positions (dialogs' unread
 * counts and read_inbox_max_id, which never move back), invite links (usable
 * ones still admit, revoked ones still refuse), and new messages taking ids
 * after the stored ones.  Two restarts in a row, and a SIGTERM that lands in
 * the middle of a stream of sends: the daemon exits 0 and every send it
 * acknowledged is there afterwards.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "harness.h"
#include "parley.h"

#define RST_PAGE 100          /* getHistory page size */
#define RST_SENDERS 4         /* threads in the stop-during-sends test */
#define RST_SENDS 400         /* most sends per thread there */
#define RST_STOP_AFTER 120    /* acknowledged sends before the SIGTERM */

/* Calls method with params (stolen) and fails the test, naming line, unless
 * the server answers ok.  Returns the result; the caller releases it. */
#define OK(c, method, params) harness_call_ok((c), (method), (params), __LINE__)
/* Calls method with params (stolen) and fails the test unless the server
 * answers with exactly this HTTP status and error code. */
#define FAILS(c, method, params, status, code) harness_call_fails((c), (method), (params), (status), (code), __LINE__)


static int64_t rst_int(json_t *obj, const char *key)
{
	json_t *v = json_object_get(obj, key);

	assert_true(json_is_integer(v));
	return (int64_t)json_integer_value(v);
}

static int64_t rst_send(struct parley_client *c, int64_t chat, const char *text)
{
	json_t *m = OK(c, "sendMessage", json_pack("{s:I, s:s}", "chat_id", (json_int_t)chat, "text", text));
	int64_t id = rst_int(m, "message_id");

	json_decref(m);
	return id;
}

/* The whole history of chat as c sees it, oldest first (a new array). */
static json_t *rst_history(struct parley_client *c, int64_t chat)
{
	json_t *all = json_array();
	int64_t offset = 0;

	assert_non_null(all);
	for (;;) {
		json_t *page = OK(c, "getHistory",
				  json_pack("{s:I, s:I, s:s, s:i}", "chat_id", (json_int_t)chat, "offset_id",
					    (json_int_t)offset, "direction", "newer", "limit", RST_PAGE));
		size_t n = json_array_size(page);

		if (n == 0) {
			json_decref(page);
			return all;
		}
		offset = rst_int(json_array_get(page, n - 1), "message_id");
		json_array_extend(all, page);
		json_decref(page);
	}
}

/* An invite link's base URL names the port the daemon listens on, which
 * may change across a restart: compare only the code after the last '/'. */
static void rst_strip_links(json_t *j)
{
	const char *key;
	json_t *v;
	size_t i;

	if (json_is_array(j)) {
		json_array_foreach(j, i, v)
			rst_strip_links(v);
		return;
	}
	if (!json_is_object(j))
		return;
	json_object_foreach(j, key, v) {
		if (strcmp(key, "invite_link") == 0 && json_is_string(v)) {
			const char *slash = strrchr(json_string_value(v), '/');
			if (slash)
				json_object_set_new(j, key, json_string(slash + 1));
		} else {
			rst_strip_links(v);
		}
	}
}

struct rst_fx {
	struct harness *h;
	struct parley_client *alice, *alice2, *bob, *carol, *dave;
	int64_t alice_id, bob_id, carol_id, dave_id;
	int64_t group;
	char out_token[PARLEY_TOKEN_MAX + 1];  /* a session that logged out */
	char link_open[128];                   /* code of a usable link */
	char link_revoked[128];                /* code of a revoked link */
	int64_t read_bob_group;                /* bob's read position in the group */
	int64_t last_group_id;
};

/* Everything c can see of the test's world, as one JSON object. */
static json_t *rst_snapshot(struct rst_fx *fx, struct parley_client *c, int64_t peer, int admin)
{
	json_t *s = json_object();

	assert_non_null(s);
	json_object_set_new(s, "me", OK(c, "getMe", json_object()));
	json_object_set_new(s, "sessions", OK(c, "getSessions", json_object()));
	json_object_set_new(s, "dialogs", OK(c, "getDialogs", json_pack("{s:i}", "limit", 100)));
	json_object_set_new(s, "chat", OK(c, "getChat", json_pack("{s:I}", "chat_id", (json_int_t)fx->group)));
	json_object_set_new(s, "members",
			    OK(c, "getChatMembers", json_pack("{s:I}", "chat_id", (json_int_t)fx->group)));
	json_object_set_new(s, "group", rst_history(c, fx->group));
	if (peer)
		json_object_set_new(s, "private", rst_history(c, peer));
	if (admin)
		json_object_set_new(s, "links",
				    OK(c, "getChatInviteLinks", json_pack("{s:I}", "chat_id", (json_int_t)fx->group)));
	rst_strip_links(s);
	return s;
}

/* Fails the test, printing both, unless before and after are equal. */
static void rst_same(const char *who, json_t *before, json_t *after)
{
	const char *key;
	json_t *v;

	if (json_equal(before, after))
		return;
	json_object_foreach(before, key, v) {
		json_t *w = json_object_get(after, key);
		if (!json_equal(v, w)) {
			char *a = json_dumps(v, JSON_COMPACT), *b = w ? json_dumps(w, JSON_COMPACT) : NULL;
			print_error("%s: \"%s\" changed across the restart\n before: %.3000s\n after:  %.3000s\n", who,
				    key, a ? a : "?", b ? b : "(missing)");
			free(a);
			free(b);
		}
	}
	fail();
}

/* The addr file names the address the daemon listens on now. */
static void rst_check_addr_file(struct rst_fx *fx)
{
	char path[4200], buf[128], want[128];
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), "%.4000s/parleyd.addr", harness_data_dir(fx->h));
	f = fopen(path, "r");
	assert_non_null(f);
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	snprintf(want, sizeof(want), "%s\n", harness_url(fx->h) + strlen("http://"));
	assert_string_equal(buf, want);
}

/* SIGTERM (must exit 0), then start again on the same data folder. */
static void rst_restart(struct rst_fx *fx)
{
	int status = harness_stop(fx->h);

	if (status != 0) {
		print_error("parleyd exited with %d on SIGTERM\n", status);
		fail();
	}
	assert_int_equal(harness_pid(fx->h), -1);
	assert_int_equal(harness_restart(fx->h), 0);
	rst_check_addr_file(fx);
}

static int rst_setup(void **state)
{
	struct rst_fx *fx = calloc(1, sizeof(*fx));

	if (!fx || !(fx->h = harness_start(NULL)))
		return -1;
	*state = fx;
	return 0;
}

static int rst_teardown(void **state)
{
	struct rst_fx *fx = *state;

	if (fx) {
		harness_free(fx->h);
		free(fx);
	}
	return 0;
}

/* Builds the world: users, sessions, a group, messages, reads, links. */
static void rst_build(struct rst_fx *fx)
{
	struct parley_client *out;
	struct parley_error err;
	json_t *r;
	int64_t ids[8], uids[2];
	char text[64];

	fx->alice = harness_user(fx->h, "rst_alice");
	fx->bob = harness_user(fx->h, "rst_bob01");
	fx->carol = harness_user(fx->h, "rst_carol");
	fx->dave = harness_user(fx->h, "rst_dave1");
	fx->alice_id = harness_user_id(fx->h, "rst_alice");
	fx->bob_id = harness_user_id(fx->h, "rst_bob01");
	fx->carol_id = harness_user_id(fx->h, "rst_carol");
	fx->dave_id = harness_user_id(fx->h, "rst_dave1");
	fx->alice2 = harness_login(fx->h, "rst_alice");
	out = harness_login(fx->h, "rst_alice");
	snprintf(fx->out_token, sizeof(fx->out_token), "%s", parley_client_token(out));
	assert_int_equal(parley_logout(out, &err), 0);

	json_decref(OK(fx->bob, "updateProfile", json_pack("{s:s, s:s}", "display_name", "Bob Restart", "bio",
							     "survives restarts \xe2\x9c\x93")));
	uids[0] = fx->bob_id;
	uids[1] = fx->carol_id;
	assert_int_equal(parley_create_group(fx->alice, "Restart club", uids, 2, &fx->group, &err), 0);
	json_decref(OK(fx->alice, "setChatDescription",
		       json_pack("{s:I, s:s}", "chat_id", (json_int_t)fx->group, "description", "kept on disk")));

	/* Private messages both ways, one edited, one deleted for everyone. */
	for (int i = 0; i < 6; i++) {
		snprintf(text, sizeof(text), "private %d \xc3\xa9\xf0\x9f\x98\x80", i);
		ids[i] = rst_send(i % 2 ? fx->bob : fx->alice, i % 2 ? fx->alice_id : fx->bob_id, text);
	}
	json_decref(OK(fx->alice, "editMessageText",
		       json_pack("{s:I, s:I, s:s}", "chat_id", (json_int_t)fx->bob_id, "message_id", (json_int_t)ids[2],
				 "text", "private 2, edited")));
	json_decref(OK(fx->alice, "deleteMessage",
		       json_pack("{s:I, s:I}", "chat_id", (json_int_t)fx->bob_id, "message_id", (json_int_t)ids[4])));
	/* Bob has read up to the third private message. */
	assert_int_equal(parley_read_history(fx->bob, fx->alice_id, ids[2], &err), 0);

	/* Group messages from all three; bob reads part of them. */
	for (int i = 0; i < 12; i++) {
		struct parley_client *who = i % 3 == 0 ? fx->alice : i % 3 == 1 ? fx->bob : fx->carol;
		int64_t id;
		snprintf(text, sizeof(text), "group message %d", i);
		id = rst_send(who, fx->group, text);
		if (i == 5)
			fx->read_bob_group = id;
		fx->last_group_id = id;
	}
	assert_int_equal(parley_read_history(fx->bob, fx->group, fx->read_bob_group, &err), 0);
	assert_int_equal(parley_read_history(fx->carol, fx->group, 0, &err), 0);

	/* Invite links: one usable, one revoked, and the primary one. */
	r = OK(fx->alice, "createChatInviteLink",
	       json_pack("{s:I, s:s, s:i}", "chat_id", (json_int_t)fx->group, "name", "for dave", "member_limit", 5));
	snprintf(fx->link_open, sizeof(fx->link_open), "%s",
		 strrchr(json_string_value(json_object_get(r, "invite_link")), '/') + 1);
	json_decref(r);
	r = OK(fx->alice, "createChatInviteLink",
	       json_pack("{s:I, s:s}", "chat_id", (json_int_t)fx->group, "name", "to be revoked"));
	snprintf(fx->link_revoked, sizeof(fx->link_revoked), "%s",
		 strrchr(json_string_value(json_object_get(r, "invite_link")), '/') + 1);
	json_decref(r);
	json_decref(OK(fx->alice, "revokeChatInviteLink",
		       json_pack("{s:I, s:s}", "chat_id", (json_int_t)fx->group, "invite_link", fx->link_revoked)));
	json_decref(OK(fx->alice, "exportChatInviteLink", json_pack("{s:I}", "chat_id", (json_int_t)fx->group)));
}

static void test_restart_keeps_everything(void **state)
{
	struct rst_fx *fx = *state;
	json_t *before[4], *after[4], *r;
	struct parley_client *fresh;
	struct parley_error err;
	char pw[128];
	int64_t id, uid = 0;
	int rc;

	rst_build(fx);
	before[0] = rst_snapshot(fx, fx->alice, fx->bob_id, 1);
	before[1] = rst_snapshot(fx, fx->alice2, fx->bob_id, 1);
	before[2] = rst_snapshot(fx, fx->bob, fx->alice_id, 0);
	before[3] = rst_snapshot(fx, fx->carol, 0, 0);

	rst_restart(fx);

	/* The same clients, with the tokens they had, see the same world. */
	after[0] = rst_snapshot(fx, fx->alice, fx->bob_id, 1);
	after[1] = rst_snapshot(fx, fx->alice2, fx->bob_id, 1);
	after[2] = rst_snapshot(fx, fx->bob, fx->alice_id, 0);
	after[3] = rst_snapshot(fx, fx->carol, 0, 0);
	rst_same("alice", before[0], after[0]);
	rst_same("alice's second session", before[1], after[1]);
	rst_same("bob", before[2], after[2]);
	rst_same("carol", before[3], after[3]);
	for (int i = 0; i < 4; i++) {
		json_decref(before[i]);
		json_decref(after[i]);
	}

	/* The logged-out session stays dead. */
	fresh = harness_client(fx->h);
	assert_int_equal(parley_client_set_token(fresh, fx->out_token), 0);
	rc = parley_get_me(fresh, NULL, &err);
	assert_int_equal(rc, PARLEY_EAPI);
	assert_int_equal(err.http_status, 401);

	/* Passwords survived: a new login works, a wrong one does not. */
	rc = parley_login(fresh, "rst_bob01", harness_password("rst_bob01", pw, sizeof(pw)), &uid, NULL, &err);
	assert_int_equal(rc, 0);
	assert_int_equal(uid, fx->bob_id);
	FAILS(fresh, "login", json_pack("{s:s, s:s}", "username", "rst_carol", "password", "not carols password"),
	      400, "CREDENTIALS_INVALID");
	/* Usernames are still taken, case-insensitively. */
	FAILS(fresh, "register", json_pack("{s:s, s:s}", "username", "RST_Alice", "password", "long enough pw"), 400,
	      "USERNAME_OCCUPIED");

	/* Read positions do not move back. */
	r = OK(fx->bob, "readHistory", json_pack("{s:I, s:i}", "chat_id", (json_int_t)fx->group, "max_id", 1));
	assert_int_equal(rst_int(r, "read_inbox_max_id"), fx->read_bob_group);
	json_decref(r);

	/* Invite links: the open one admits dave, the revoked one refuses. */
	FAILS(fx->dave, "joinChat", json_pack("{s:s}", "invite_link", fx->link_revoked), 400,
	      "INVITE_HASH_EXPIRED");
	json_decref(OK(fx->dave, "joinChat", json_pack("{s:s}", "invite_link", fx->link_open)));

	/* New messages take ids after the stored ones. */
	id = rst_send(fx->dave, fx->group, "dave after the restart");
	assert_true(id > fx->last_group_id);
	fx->last_group_id = id;
	id = rst_send(fx->alice, fx->bob_id, "alice after the restart");
	assert_true(id > 6);

	/* And all of it survives a second restart. */
	before[0] = rst_snapshot(fx, fx->alice, fx->bob_id, 1);
	before[1] = rst_snapshot(fx, fx->dave, 0, 0);
	rst_restart(fx);
	after[0] = rst_snapshot(fx, fx->alice, fx->bob_id, 1);
	after[1] = rst_snapshot(fx, fx->dave, 0, 0);
	rst_same("alice (second restart)", before[0], after[0]);
	rst_same("dave (second restart)", before[1], after[1]);
	r = OK(fx->dave, "getChatMember",
	       json_pack("{s:I, s:I}", "chat_id", (json_int_t)fx->group, "user_id", (json_int_t)fx->dave_id));
	assert_string_equal(json_string_value(json_object_get(r, "status")), "member");
	json_decref(r);
	for (int i = 0; i < 2; i++) {
		json_decref(before[i]);
		json_decref(after[i]);
	}
}

/* --- SIGTERM in the middle of sends ------------------------------------------ */

struct rst_sender {
	pthread_t thread;
	struct parley_client *c;
	int64_t chat;
	int index;
	atomic_int *acked_total;
	int64_t ids[RST_SENDS];   /* ids[i]: the answer to send i, 0 if none */
	int sent;                 /* sends acknowledged (they are 0..sent-1) */
	int failed_at;            /* the send that got no answer, or -1 */
};

static void *rst_sender_main(void *arg)
{
	struct rst_sender *s = arg;
	struct parley_error err;
	char text[64];

	s->failed_at = -1;
	for (int i = 0; i < RST_SENDS; i++) {
		snprintf(text, sizeof(text), "stream %d/%d", s->index, i);
		if (parley_send_message(s->c, s->chat, text, 0, &s->ids[i], &err) < 0) {
			s->failed_at = i;
			break;
		}
		s->sent = i + 1;
		atomic_fetch_add(s->acked_total, 1);
	}
	return NULL;
}

static void test_stop_during_sends(void **state)
{
	struct rst_fx *fx = *state;
	struct rst_sender *s = calloc(RST_SENDERS, sizeof(*s));
	atomic_int acked = 0;
	struct parley_error err;
	int64_t group, uids[RST_SENDERS];
	struct timespec pause = {0, 2000000};
	json_t *hist, *m;
	size_t i;
	int status, total = 0;

	assert_non_null(s);
	for (int t = 0; t < RST_SENDERS; t++) {
		char name[32];
		snprintf(name, sizeof(name), "rst_stream%d", t);
		s[t].c = harness_user(fx->h, name);
		uids[t] = harness_user_id(fx->h, name);
	}
	assert_int_equal(parley_create_group(s[0].c, "Stream", uids + 1, RST_SENDERS - 1, &group, &err), 0);
	for (int t = 0; t < RST_SENDERS; t++) {
		s[t].chat = group;
		s[t].index = t;
		s[t].acked_total = &acked;
		parley_client_set_timeout_ms(s[t].c, 10000);
		assert_int_equal(pthread_create(&s[t].thread, NULL, rst_sender_main, &s[t]), 0);
	}
	while (atomic_load(&acked) < RST_STOP_AFTER)
		nanosleep(&pause, NULL);
	status = harness_stop(fx->h);
	for (int t = 0; t < RST_SENDERS; t++)
		pthread_join(s[t].thread, NULL);
	if (status != 0) {
		print_error("parleyd exited with %d on SIGTERM during sends\n", status);
		fail();
	}
	assert_int_equal(harness_restart(fx->h), 0);

	/* Every acknowledged send is stored with its id; of the others only
	 * the one in flight when the daemon stopped may be. */
	hist = rst_history(s[0].c, group);
	json_array_foreach(hist, i, m) {
		const char *text = json_string_value(json_object_get(m, "text"));
		int t, k;
		if (!text)
			continue; /* a service message */
		assert_int_equal(sscanf(text, "stream %d/%d", &t, &k), 2);
		assert_true(t >= 0 && t < RST_SENDERS && k >= 0 && k < RST_SENDS);
		if (k < s[t].sent) {
			assert_int_equal(rst_int(m, "message_id"), s[t].ids[k]);
			s[t].ids[k] = -s[t].ids[k]; /* seen; a second copy would fail above */
		} else if (k != s[t].failed_at) {
			print_error("\"%s\" is stored but was never sent\n", text);
			fail();
		}
	}
	for (int t = 0; t < RST_SENDERS; t++) {
		for (int k = 0; k < s[t].sent; k++)
			if (s[t].ids[k] > 0) {
				print_error("acknowledged \"stream %d/%d\" (id %lld) is missing\n", t, k,
					    (long long)s[t].ids[k]);
				fail();
			}
		total += s[t].sent;
	}
	print_message("stop during sends: %d acknowledged before SIGTERM, all kept\n", total);
	json_decref(hist);
	free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_restart_keeps_everything),
		cmocka_unit_test(test_stop_during_sends),
	};

	return cmocka_run_group_tests(tests, rst_setup, rst_teardown);
}
