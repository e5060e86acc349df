/*
 * test_store.c — unit tests of the SQLite store backend (src/store), through
 * the store.h interface only.  Each test gets a fresh temporary directory
 * (mkdtemp) holding the data directory, and removes it afterwards.
 */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "store/store.h"

#define T_MAX_ROWS 256

struct t_env {
	char root[64];      /* mkdtemp directory */
	char dir[96];       /* data directory inside it (created by the store) */
	struct store *s;    /* writer handle, migrated */
};

/* Rows collected by a callback. */
struct t_rows {
	int n;
	int stop_after;     /* stop (returning 7) after this many rows if > 0 */
	int64_t id[T_MAX_ROWS];
	int64_t chat[T_MAX_ROWS];
	int64_t date[T_MAX_ROWS];
	char text[T_MAX_ROWS][160];
};

static void t_rmtree(const char *path)
{
	DIR *d = opendir(path);
	struct dirent *e;
	char p[512];

	if (!d)
		return;
	while ((e = readdir(d))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		snprintf(p, sizeof(p), "%s/%s", path, e->d_name);
		if (unlink(p) < 0)
			t_rmtree(p);
	}
	closedir(d);
	rmdir(path);
}

static struct store *t_open(const struct t_env *env, int flags)
{
	char err[256];
	struct store *s = store_sqlite_open(env->dir, flags, err, sizeof(err));

	if (!s)
		fail_msg("store_sqlite_open: %s", err);
	return s;
}

static int t_setup(void **state)
{
	struct t_env *env = calloc(1, sizeof(*env));

	assert_non_null(env);
	strcpy(env->root, "/tmp/parley-store-XXXXXX");
	assert_non_null(mkdtemp(env->root));
	snprintf(env->dir, sizeof(env->dir), "%s/data", env->root);
	env->s = t_open(env, 0);
	assert_int_equal(store_migrate(env->s), 0);
	*state = env;
	return 0;
}

static int t_teardown(void **state)
{
	struct t_env *env = *state;

	store_close(env->s);
	t_rmtree(env->dir);
	t_rmtree(env->root);
	free(env);
	return 0;
}

/* ---- helpers ---- */

static int64_t t_user(struct store *s, const char *username)
{
	struct store_user u = {0};

	snprintf(u.username, sizeof(u.username), "%s", username);
	snprintf(u.display_name, sizeof(u.display_name), "User %s", username);
	snprintf(u.pw_hash, sizeof(u.pw_hash), "$argon2id$v=19$fake");
	u.created_at = 1000;
	assert_int_equal(store_user_create(s, &u), 0);
	assert_true(u.id > 0);
	return u.id;
}

static int64_t t_chat(struct store *s, int type, const char *username, int64_t creator, int64_t created)
{
	struct store_chat c = {0};

	c.type = type;
	snprintf(c.title, sizeof(c.title), "chat %s", username);
	snprintf(c.username, sizeof(c.username), "%s", username);
	c.creator_id = creator;
	c.created_at = created;
	assert_int_equal(store_chat_create(s, &c), 0);
	assert_true(c.id > 0);
	return c.id;
}

static void t_member(struct store *s, int64_t chat, int64_t user, int role)
{
	struct store_member m = {.chat_id = chat, .user_id = user, .role = role, .joined_at = 5};

	assert_int_equal(store_member_put(s, &m), 0);
}

static int64_t t_msg(struct store *s, int64_t chat, int64_t sender, int64_t date, const char *text)
{
	struct store_message m = {.chat_id = chat, .sender_id = sender, .date = date};

	m.text = (char *)text;
	assert_int_equal(store_message_put(s, &m), 0);
	return m.id;
}

static int64_t t_chat_members(struct store *s, int64_t chat)
{
	struct store_chat c;

	assert_int_equal(store_chat_get(s, chat, &c), 0);
	return c.member_count;
}

static int t_collect_msg(void *ctx, const struct store_message *m)
{
	struct t_rows *r = ctx;

	assert_true(r->n < T_MAX_ROWS);
	r->id[r->n] = m->id;
	r->chat[r->n] = m->chat_id;
	r->date[r->n] = m->date;
	snprintf(r->text[r->n], sizeof(r->text[0]), "%s", m->text ? m->text : "");
	r->n++;
	return (r->stop_after > 0 && r->n >= r->stop_after) ? 7 : 0;
}

static int t_count_msg(void *ctx, const struct store_message *m)
{
	(*(int64_t *)ctx)++;
	return 0;
}

static int t_collect_dialog(void *ctx, const struct store_dialog *d)
{
	struct t_rows *r = ctx;

	assert_int_equal(d->member.chat_id, d->chat.id);
	r->id[r->n] = d->chat.id;
	r->date[r->n] = d->chat.last_date;
	r->chat[r->n] = d->member.role;
	r->n++;
	return 0;
}

static int t_collect_member(void *ctx, const struct store_member *m)
{
	struct t_rows *r = ctx;

	r->id[r->n] = m->user_id;
	r->chat[r->n] = m->role;
	r->n++;
	return 0;
}

static int t_collect_session(void *ctx, const struct store_session *ss)
{
	struct t_rows *r = ctx;

	r->id[r->n] = ss->id;
	snprintf(r->text[r->n], sizeof(r->text[0]), "%s", ss->device);
	r->n++;
	return 0;
}

static int t_collect_user(void *ctx, const struct store_user *u)
{
	struct t_rows *r = ctx;

	assert_string_equal(u->pw_hash, "");
	r->id[r->n] = u->id;
	snprintf(r->text[r->n], sizeof(r->text[0]), "%s", u->username);
	r->n++;
	return 0;
}

static int t_collect_link(void *ctx, const struct store_link *l)
{
	struct t_rows *r = ctx;

	r->date[r->n] = l->created_at;
	snprintf(r->text[r->n], sizeof(r->text[0]), "%s", l->code);
	r->n++;
	return 0;
}

static struct t_rows t_history(struct store *s, int64_t chat, int64_t user, int64_t from, int dir, int limit)
{
	struct t_rows r = {0};

	assert_int_equal(store_message_history(s, chat, user, from, dir, limit, t_collect_msg, &r), 0);
	return r;
}

static struct t_rows t_search(struct store *s, int64_t user, int64_t chat, const char *query,
			      int64_t od, int64_t oc, int64_t oi, int limit)
{
	struct t_rows r = {0};

	assert_int_equal(store_message_search(s, user, chat, query, od, oc, oi, limit, t_collect_msg, &r), 0);
	return r;
}

/* ---- open, migrate, reopen ---- */

static void test_open_creates_dir(void **state)
{
	struct t_env *env = *state;
	struct stat sb;
	char path[160];

	assert_int_equal(stat(env->dir, &sb), 0);
	assert_true(S_ISDIR(sb.st_mode));
	assert_int_equal(sb.st_mode & 0777, 0700);
	snprintf(path, sizeof(path), "%s/parley.db", env->dir);
	assert_int_equal(stat(path, &sb), 0);
	/* Migrating again is a no-op. */
	assert_int_equal(store_migrate(env->s), 0);
	assert_string_equal(env->s->ops->name, "sqlite");
	assert_int_equal(env->s->ops->version, STORE_OPS_VERSION);
}

static void test_readonly_missing_db_fails(void **state)
{
	struct t_env *env = *state;
	char dir[160], err[256] = "";
	struct store *r;

	snprintf(dir, sizeof(dir), "%s/nothing-here", env->root);
	r = store_sqlite_open(dir, STORE_READONLY, err, sizeof(err));
	assert_null(r);
	assert_true(strlen(err) > 0);
	assert_int_equal(access(dir, F_OK), -1); /* a reader creates nothing */
	assert_null(store_sqlite_open(dir, STORE_READONLY, NULL, 0));
}

static void test_reopen_keeps_data(void **state)
{
	struct t_env *env = *state;
	struct store_user u;
	struct store_chat c;
	struct t_rows r;
	int64_t alice, chat;

	alice = t_user(env->s, "alice");
	chat = t_chat(env->s, STORE_CHAT_GROUP, "club", alice, 100);
	t_member(env->s, chat, alice, STORE_ROLE_CREATOR);
	t_msg(env->s, chat, alice, 200, "persistent words");
	store_close(env->s);

	env->s = t_open(env, STORE_SYNC_NORMAL);
	assert_int_equal(store_migrate(env->s), 0);
	assert_int_equal(store_user_find(env->s, "ALICE", &u), 0);
	assert_int_equal(u.id, alice);
	assert_int_equal(store_chat_get(env->s, chat, &c), 0);
	assert_int_equal(c.last_msg_id, 1);
	assert_int_equal(c.member_count, 1);
	r = t_search(env->s, alice, 0, "persistent", 0, 0, 0, 10);
	assert_int_equal(r.n, 1);
	assert_int_equal(t_msg(env->s, chat, alice, 300, "next"), 2);
}

static void test_readonly_sees_committed(void **state)
{
	struct t_env *env = *state;
	struct store *r = t_open(env, STORE_READONLY);
	struct store_user u = {0};
	struct store_message m;
	struct t_rows rows;
	int64_t alice, chat;

	alice = t_user(env->s, "alice");
	chat = t_chat(env->s, STORE_CHAT_GROUP, "club", alice, 100);
	t_member(env->s, chat, alice, STORE_ROLE_CREATOR);
	assert_int_equal(store_user_get(r, alice, &u), 0);
	assert_string_equal(u.username, "alice");

	/* Not visible until committed; then visible and searchable. */
	assert_int_equal(store_begin(env->s), 0);
	t_msg(env->s, chat, alice, 200, "hello reader");
	assert_int_equal(store_message_get(r, chat, 1, &m), PL_NOTFOUND);
	assert_int_equal(store_commit(env->s), 0);
	assert_int_equal(store_message_get(r, chat, 1, &m), 0);
	assert_string_equal(m.text, "hello reader");
	store_message_release(&m);
	assert_null(m.text);
	rows = t_search(r, alice, chat, "reader", 0, 0, 0, 10);
	assert_int_equal(rows.n, 1);

	/* A reader cannot write nor migrate; it can hold a read snapshot. */
	snprintf(u.username, sizeof(u.username), "bob");
	assert_true(store_user_create(r, &u) < 0);
	assert_int_equal(store_migrate(r), PL_INVAL);
	assert_int_equal(store_begin(r), 0);
	assert_int_equal(store_message_get(r, chat, 1, &m), 0); /* the snapshot starts */
	store_message_release(&m);
	t_msg(env->s, chat, alice, 300, "after snapshot");
	assert_int_equal(store_message_get(r, chat, 2, &m), PL_NOTFOUND);
	assert_int_equal(store_commit(r), 0);
	assert_int_equal(store_message_get(r, chat, 2, &m), 0);
	store_message_release(&m);
	store_close(r);
}

/* ---- users ---- */

static void test_users(void **state)
{
	struct t_env *env = *state;
	struct store *s = env->s;
	struct store_user u = {0}, got;
	int64_t n, id;

	assert_int_equal(store_user_count(s, &n), 0);
	assert_int_equal(n, 0);
	snprintf(u.username, sizeof(u.username), "Alice_01");
	snprintf(u.display_name, sizeof(u.display_name), "Alice \xc3\xa9");
	snprintf(u.bio, sizeof(u.bio), "bio");
	snprintf(u.pw_hash, sizeof(u.pw_hash), "hash");
	u.created_at = 42;
	u.is_bot = 1;
	assert_int_equal(store_user_create(s, &u), 0);
	id = u.id;

	assert_int_equal(store_user_get(s, id, &got), 0);
	assert_string_equal(got.username, "alice_01");
	assert_string_equal(got.display_name, "Alice \xc3\xa9");
	assert_string_equal(got.pw_hash, "hash");
	assert_int_equal(got.created_at, 42);
	assert_int_equal(got.is_bot, 1);
	assert_int_equal(store_user_find(s, "ALICE_01", &got), 0);
	assert_int_equal(got.id, id);
	assert_int_equal(store_user_find(s, "alice_01", &got), 0);
	assert_int_equal(store_user_find(s, "nobody", &got), PL_NOTFOUND);
	assert_int_equal(store_user_find(s, "", &got), PL_NOTFOUND);
	assert_int_equal(store_user_find(s, "a_name_that_is_far_too_long_to_be_a_username", &got),
			 PL_NOTFOUND);
	assert_int_equal(store_user_get(s, id + 100, &got), PL_NOTFOUND);

	/* Usernames clash case-insensitively; users without one do not. */
	u.id = 0;
	snprintf(u.username, sizeof(u.username), "ALICE_01");
	assert_int_equal(store_user_create(s, &u), PL_EXISTS);
	u.username[0] = '\0';
	assert_int_equal(store_user_create(s, &u), 0);
	assert_int_equal(store_user_create(s, &u), 0);
	assert_int_equal(store_user_count(s, &n), 0);
	assert_int_equal(n, 3);

	/* Update: display_name, bio, pw_hash only. */
	got.id = id;
	snprintf(got.username, sizeof(got.username), "ignored");
	snprintf(got.display_name, sizeof(got.display_name), "New Name");
	snprintf(got.bio, sizeof(got.bio), "new bio");
	snprintf(got.pw_hash, sizeof(got.pw_hash), "hash2");
	assert_int_equal(store_user_update(s, &got), 0);
	assert_int_equal(store_user_get(s, id, &got), 0);
	assert_string_equal(got.username, "alice_01");
	assert_string_equal(got.display_name, "New Name");
	assert_string_equal(got.bio, "new bio");
	assert_string_equal(got.pw_hash, "hash2");
	got.id = 9999;
	assert_int_equal(store_user_update(s, &got), PL_NOTFOUND);
}

static void test_user_full_fields(void **state)
{
	struct t_env *env = *state;
	struct store_user u = {0}, got;

	/* Fields filled to their last byte, without room for a terminator. */
	memset(u.username, 'z', sizeof(u.username) - 1);
	memset(u.display_name, 'd', sizeof(u.display_name));
	memset(u.bio, 'b', sizeof(u.bio));
	assert_int_equal(store_user_create(env->s, &u), 0);
	assert_int_equal(store_user_get(env->s, u.id, &got), 0);
	assert_int_equal(strlen(got.username), sizeof(got.username) - 1);
	/* Stored whole, read back cut to fit with a terminator. */
	assert_int_equal(strlen(got.display_name), sizeof(got.display_name) - 1);
	assert_int_equal(strlen(got.bio), sizeof(got.bio) - 1);
	/* A cut never splits a UTF-8 sequence: 255 bytes + "\xc3\xa9" reads back as 255. */
	memset(u.display_name, 'd', sizeof(u.display_name) - 2);
	memcpy(u.display_name + sizeof(u.display_name) - 2, "\xc3\xa9", 2);
	u.username[0] = '\0';
	assert_int_equal(store_user_create(env->s, &u), 0);
	assert_int_equal(store_user_get(env->s, u.id, &got), 0);
	assert_int_equal(strlen(got.display_name), sizeof(got.display_name) - 2);
	/* A username without a terminator is refused. */
	memset(u.username, 'y', sizeof(u.username));
	assert_int_equal(store_user_create(env->s, &u), PL_INVAL);
}

/* ---- sessions ---- */

static void test_sessions(void **state)
{
	struct t_env *env = *state;
	struct store *s = env->s;
	struct store_session ss = {0}, got;
	struct t_rows r = {0};
	int64_t alice = t_user(s, "alice"), bob = t_user(s, "bob");
	int64_t first, second;

	ss.user_id = alice;
	snprintf(ss.token_hash, sizeof(ss.token_hash), "%064d", 1);
	snprintf(ss.device, sizeof(ss.device), "phone");
	snprintf(ss.ip, sizeof(ss.ip), "127.0.0.1");
	ss.created_at = ss.last_seen = 100;
	assert_int_equal(store_session_create(s, &ss), 0);
	first = ss.id;
	assert_int_equal(store_session_create(s, &ss), PL_EXISTS);
	snprintf(ss.token_hash, sizeof(ss.token_hash), "%064d", 2);
	snprintf(ss.device, sizeof(ss.device), "laptop");
	ss.created_at = ss.last_seen = 200;
	assert_int_equal(store_session_create(s, &ss), 0);
	second = ss.id;
	/* Sessions of an unknown user are refused. */
	ss.user_id = 9999;
	snprintf(ss.token_hash, sizeof(ss.token_hash), "%064d", 3);
	assert_int_equal(store_session_create(s, &ss), PL_NOTFOUND);

	snprintf(ss.token_hash, sizeof(ss.token_hash), "%064d", 1);
	assert_int_equal(store_session_find(s, ss.token_hash, &got), 0);
	assert_int_equal(got.id, first);
	assert_int_equal(got.user_id, alice);
	assert_string_equal(got.device, "phone");
	assert_string_equal(got.ip, "127.0.0.1");
	assert_int_equal(store_session_find(s, "feed", &got), PL_NOTFOUND);

	assert_int_equal(store_session_list(s, alice, t_collect_session, &r), 0);
	assert_int_equal(r.n, 2);
	assert_int_equal(r.id[0], second); /* newest first */
	assert_int_equal(r.id[1], first);

	assert_int_equal(store_session_touch(s, first, 500, "10.0.0.1"), 0);
	assert_int_equal(store_session_touch(s, first, 600, NULL), 0);
	assert_int_equal(store_session_find(s, ss.token_hash, &got), 0);
	assert_int_equal(got.last_seen, 600);
	assert_string_equal(got.ip, "10.0.0.1");
	assert_int_equal(store_session_touch(s, 9999, 600, NULL), PL_NOTFOUND);

	/* Only the owner can delete a session. */
	assert_int_equal(store_session_delete(s, bob, first), PL_NOTFOUND);
	assert_int_equal(store_session_delete(s, alice, first), 0);
	assert_int_equal(store_session_delete(s, alice, first), PL_NOTFOUND);
	assert_int_equal(store_session_find(s, ss.token_hash, &got), PL_NOTFOUND);
	memset(&r, 0, sizeof(r));
	assert_int_equal(store_session_list(s, alice, t_collect_session, &r), 0);
	assert_int_equal(r.n, 1);
	assert_string_equal(r.text[0], "laptop");
}

/* ---- blocks ---- */

static void test_blocks(void **state)
{
	struct t_env *env = *state;
	struct store *s = env->s;
	struct t_rows r = {0};
	int64_t a = t_user(s, "alice"), b = t_user(s, "bob"), c = t_user(s, "carol");

	assert_int_equal(store_block_get(s, a, b), 0);
	assert_int_equal(store_block_set(s, a, b, 1, 10), 0);
	assert_int_equal(store_block_set(s, a, b, 1, 11), 0); /* idempotent */
	assert_int_equal(store_block_set(s, a, c, 1, 20), 0);
	assert_int_equal(store_block_get(s, a, b), 1);
	assert_int_equal(store_block_get(s, b, a), 0);
	assert_int_equal(store_block_list(s, a, t_collect_user, &r), 0);
	assert_int_equal(r.n, 2);
	assert_int_equal(r.id[0], c); /* newest first */
	assert_string_equal(r.text[1], "bob");
	assert_int_equal(store_block_set(s, a, b, 0, 30), 0);
	assert_int_equal(store_block_set(s, a, b, 0, 30), 0);
	assert_int_equal(store_block_get(s, a, b), 0);
	assert_int_equal(store_block_set(s, a, 9999, 1, 40), PL_NOTFOUND);
}

/* ---- chats ---- */

static void test_chats(void **state)
{
	struct t_env *env = *state;
	struct store *s = env->s;
	struct store_chat c = {0}, got;
	int64_t a = t_user(s, "alice"), b = t_user(s, "bob");
	int64_t g1, g2, p;

	c.type = STORE_CHAT_CHANNEL;
	snprintf(c.title, sizeof(c.title), "News");
	snprintf(c.username, sizeof(c.username), "NewsRoom");
	snprintf(c.description, sizeof(c.description), "all the news");
	c.creator_id = a;
	c.created_at = 77;
	c.perms = STORE_PERM_SEND | STORE_PERM_PIN;
	c.member_count = 999; /* store-owned: ignored */
	c.last_msg_id = 999;
	assert_int_equal(store_chat_create(s, &c), 0);
	g1 = c.id;
	assert_int_equal(c.last_date, 77);
	assert_int_equal(c.member_count, 0);

	assert_int_equal(store_chat_get(s, g1, &got), 0);
	assert_int_equal(got.type, STORE_CHAT_CHANNEL);
	assert_string_equal(got.title, "News");
	assert_string_equal(got.username, "newsroom");
	assert_string_equal(got.description, "all the news");
	assert_int_equal(got.creator_id, a);
	assert_int_equal(got.perms, STORE_PERM_SEND | STORE_PERM_PIN);
	assert_int_equal(got.last_msg_id, 0);
	assert_int_equal(got.last_date, 77);
	assert_int_equal(got.member_count, 0);
	assert_int_equal(store_chat_find(s, "NEWSROOM", &got), 0);
	assert_int_equal(got.id, g1);
	assert_int_equal(store_chat_find(s, "", &got), PL_NOTFOUND);
	assert_int_equal(store_chat_find(s, "other", &got), PL_NOTFOUND);
	assert_int_equal(store_chat_get(s, 9999, &got), PL_NOTFOUND);

	/* Chat usernames are unique among chats; chats without one never clash;
	 * a user may hold the same name (the caller keeps both spaces apart). */
	c.id = 0;
	snprintf(c.username, sizeof(c.username), "newsROOM");
	assert_int_equal(store_chat_create(s, &c), PL_EXISTS);
	g2 = t_chat(s, STORE_CHAT_GROUP, "", a, 1);
	assert_true(t_chat(s, STORE_CHAT_GROUP, "", a, 1) > g2);
	assert_true(t_chat(s, STORE_CHAT_GROUP, "alice", a, 1) > 0);

	/* Private chats: one per pair. */
	memset(&c, 0, sizeof(c));
	c.type = STORE_CHAT_PRIVATE;
	c.user_lo = a;
	c.user_hi = b;
	c.created_at = 5;
	assert_int_equal(store_chat_create(s, &c), 0);
	p = c.id;
	assert_int_equal(store_chat_create(s, &c), PL_EXISTS);
	assert_int_equal(store_chat_find_private(s, a, b, &got), 0);
	assert_int_equal(got.id, p);
	assert_int_equal(got.user_lo, a);
	assert_int_equal(got.user_hi, b);
	assert_int_equal(store_chat_find_private(s, b, a, &got), PL_NOTFOUND);

	/* Update: title, username, description, perms, pinned_msg_id. */
	assert_int_equal(store_chat_get(s, g2, &got), 0);
	snprintf(got.title, sizeof(got.title), "Renamed");
	snprintf(got.username, sizeof(got.username), "NEWSROOM");
	assert_int_equal(store_chat_update(s, &got), PL_EXISTS);
	snprintf(got.username, sizeof(got.username), "Renamed_Group");
	snprintf(got.description, sizeof(got.description), "d");
	got.perms = STORE_PERM_INVITE;
	got.pinned_msg_id = 3;
	assert_int_equal(store_chat_update(s, &got), 0);
	assert_int_equal(store_chat_find(s, "renamed_group", &got), 0);
	assert_int_equal(got.id, g2);
	assert_string_equal(got.title, "Renamed");
	assert_int_equal(got.perms, STORE_PERM_INVITE);
	assert_int_equal(got.pinned_msg_id, 3);
	got.username[0] = '\0';
	assert_int_equal(store_chat_update(s, &got), 0);
	assert_int_equal(store_chat_find(s, "renamed_group", &got), PL_NOTFOUND);
	got.id = 9999;
	assert_int_equal(store_chat_update(s, &got), PL_NOTFOUND);
}

/* ---- members ---- */

static void test_member_count(void **state)
{
	struct t_env *env = *state;
	struct store *s = env->s;
	int64_t a = t_user(s, "alice"), b = t_user(s, "bob"), c = t_user(s, "carol");
	int64_t d = t_user(s, "dave");
	int64_t g = t_chat(s, STORE_CHAT_GROUP, "g", a, 1);
	struct store_member m;

	t_member(s, g, a, STORE_ROLE_CREATOR);
	t_member(s, g, b, STORE_ROLE_MEMBER);
	t_member(s, g, c, STORE_ROLE_MEMBER);
	assert_int_equal(t_chat_members(s, g), 3);
	t_member(s, g, b, STORE_ROLE_ADMIN);    /* member -> admin */
	assert_int_equal(t_chat_members(s, g), 3);
	t_member(s, g, b, STORE_ROLE_ADMIN);    /* same again */
	assert_int_equal(t_chat_members(s, g), 3);
	t_member(s, g, c, STORE_ROLE_LEFT);     /* member -> left */
	assert_int_equal(t_chat_members(s, g), 2);
	t_member(s, g, c, STORE_ROLE_KICKED);   /* left -> kicked */
	assert_int_equal(t_chat_members(s, g), 2);
	t_member(s, g, c, STORE_ROLE_MEMBER);   /* kicked -> member */
	assert_int_equal(t_chat_members(s, g), 3);
	t_member(s, g, d, STORE_ROLE_KICKED);   /* new row, not a member */
	assert_int_equal(t_chat_members(s, g), 3);
	t_member(s, g, b, STORE_ROLE_KICKED);   /* admin -> kicked */
	assert_int_equal(t_chat_members(s, g), 2);

	/* Upsert replaces every field. */
	m = (struct store_member){.chat_id = g, .user_id = c, .role = STORE_ROLE_ADMIN,
				  .joined_at = 50, .invited_by = a, .read_max_id = 9};
	assert_int_equal(store_member_put(s, &m), 0);
	assert_int_equal(store_member_get(s, g, c, &m), 0);
	assert_int_equal(m.role, STORE_ROLE_ADMIN);
	assert_int_equal(m.joined_at, 50);
	assert_int_equal(m.invited_by, a);
	assert_int_equal(m.read_max_id, 9);
	assert_int_equal(t_chat_members(s, g), 2);

	/* Unknown chat or user: refused, nothing counted. */
	m = (struct store_member){.chat_id = 9999, .user_id = a, .role = STORE_ROLE_MEMBER};
	assert_int_equal(store_member_put(s, &m), PL_NOTFOUND);
	m = (struct store_member){.chat_id = g, .user_id = 9999, .role = STORE_ROLE_MEMBER};
	assert_int_equal(store_member_put(s, &m), PL_NOTFOUND);
	assert_int_equal(t_chat_members(s, g), 2);
}

static void test_members(void **state)
{
	struct t_env *env = *state;
	struct store *s = env->s;
	int64_t u[6];
	int64_t g;
	struct store_member m;
	struct t_rows r = {0};
	char name[16];

	for (int i = 0; i < 6; i++) {
		snprintf(name, sizeof(name), "user%d", i);
		u[i] = t_user(s, name);
	}
	g = t_chat(s, STORE_CHAT_GROUP, "g", u[0], 1);
	t_member(s, g, u[0], STORE_ROLE_CREATOR);
	t_member(s, g, u[1], STORE_ROLE_MEMBER);
	t_member(s, g, u[2], STORE_ROLE_LEFT);
	t_member(s, g, u[3], STORE_ROLE_ADMIN);
	t_member(s, g, u[4], STORE_ROLE_MEMBER);
	t_member(s, g, u[5], STORE_ROLE_KICKED);

	assert_int_equal(store_member_get(s, g, u[2], &m), 0);
	assert_int_equal(m.role, STORE_ROLE_LEFT);
	assert_int_equal(store_member_get(s, g, 9999, &m), PL_NOTFOUND);

	assert_int_equal(store_member_list(s, g, 0, 0, 100, t_collect_member, &r), 0);
	assert_int_equal(r.n, 4);
	assert_int_equal(r.id[0], u[0]);
	assert_int_equal(r.id[1], u[1]);
	assert_int_equal(r.id[2], u[3]);
	assert_int_equal(r.id[3], u[4]);
	memset(&r, 0, sizeof(r));
	assert_int_equal(store_member_list(s, g, 0, u[1], 2, t_collect_member, &r), 0);
	assert_int_equal(r.n, 2);
	assert_int_equal(r.id[0], u[3]);
	assert_int_equal(r.id[1], u[4]);
	memset(&r, 0, sizeof(r));
	assert_int_equal(store_member_list(s, g, 1, 0, 100, t_collect_member, &r), 0);
	assert_int_equal(r.n, 2);
	assert_int_equal(r.id[0], u[0]);
	assert_int_equal(r.id[1], u[3]);
	memset(&r, 0, sizeof(r));
	assert_int_equal(store_member_list(s, g, 1, u[0], 100, t_collect_member, &r), 0);
	assert_int_equal(r.n, 1);
	assert_int_equal(r.id[0], u[3]);

	assert_int_equal(store_member_set_read(s, g, u[1], 17), 0);
	assert_int_equal(store_member_get(s, g, u[1], &m), 0);
	assert_int_equal(m.read_max_id, 17);
	assert_int_equal(store_member_set_read(s, g, 9999, 17), PL_NOTFOUND);
}

/* ---- invite links ---- */

static void test_links(void **state)
{
	struct t_env *env = *state;
	struct store *s = env->s;
	int64_t a = t_user(s, "alice");
	int64_t g = t_chat(s, STORE_CHAT_GROUP, "g", a, 1);
	struct store_link l = {0}, got;
	struct t_rows r = {0};

	l.chat_id = g;
	l.creator_id = a;
	snprintf(l.code, sizeof(l.code), "AbCdEf");
	snprintf(l.name, sizeof(l.name), "friends");
	l.created_at = 10;
	l.member_limit = 5;
	l.is_primary = 1;
	assert_int_equal(store_link_create(s, &l), 0);
	l.is_primary = 0;
	assert_int_equal(store_link_create(s, &l), PL_EXISTS);
	snprintf(l.code, sizeof(l.code), "second");
	l.created_at = 20;
	assert_int_equal(store_link_create(s, &l), 0);
	l.chat_id = 9999;
	snprintf(l.code, sizeof(l.code), "orphan");
	assert_int_equal(store_link_create(s, &l), PL_NOTFOUND);

	assert_int_equal(store_link_get(s, "AbCdEf", &got), 0); /* codes are case-sensitive */
	assert_int_equal(got.chat_id, g);
	assert_int_equal(got.member_limit, 5);
	assert_int_equal(got.is_primary, 1);
	assert_string_equal(got.name, "friends");
	assert_int_equal(store_link_get(s, "abcdef", &got), PL_NOTFOUND);
	assert_string_equal(got.code, "");
	assert_int_equal(store_link_get(s, "AbCdEf", &got), 0);

	got.usage = 3;
	got.revoked = 1;
	got.expire_date = 99;
	got.member_limit = 0;
	snprintf(got.name, sizeof(got.name), "renamed");
	assert_int_equal(store_link_update(s, &got), 0);
	assert_int_equal(store_link_get(s, "AbCdEf", &got), 0);
	assert_int_equal(got.usage, 3);
	assert_int_equal(got.revoked, 1);
	assert_int_equal(got.expire_date, 99);
	assert_int_equal(got.member_limit, 0);
	assert_string_equal(got.name, "renamed");
	snprintf(got.code, sizeof(got.code), "missing");
	assert_int_equal(store_link_update(s, &got), PL_NOTFOUND);

	assert_int_equal(store_link_list(s, g, t_collect_link, &r), 0);
	assert_int_equal(r.n, 2);
	assert_string_equal(r.text[0], "second"); /* newest first */
	assert_string_equal(r.text[1], "AbCdEf");
}

/* ---- messages ---- */

static void test_message_put_get(void **state)
{
	struct t_env *env = *state;
	struct store *s = env->s;
	int64_t a = t_user(s, "alice");
	int64_t g = t_chat(s, STORE_CHAT_GROUP, "g", a, 1);
	int64_t g2 = t_chat(s, STORE_CHAT_GROUP, "g2", a, 1);
	struct store_message m = {0}, got;
	struct store_chat c;
	int64_t n;

	assert_int_equal(t_msg(s, g, a, 100, "one"), 1);
	assert_int_equal(t_msg(s, g, a, 110, "two"), 2);
	assert_int_equal(t_msg(s, g2, a, 120, "other chat"), 1);
	m = (struct store_message){.chat_id = g, .sender_id = a, .date = 130, .reply_to_id = 1,
				   .fwd_user_id = a, .fwd_chat_id = g2, .fwd_msg_id = 1, .fwd_date = 120,
				   .views = 55, .deleted = 1};
	m.text = "forwarded";
	assert_int_equal(store_message_put(s, &m), 0);
	assert_int_equal(m.id, 3);
	assert_int_equal(store_chat_get(s, g, &c), 0);
	assert_int_equal(c.last_msg_id, 3);
	assert_int_equal(c.last_date, 130);

	assert_int_equal(store_message_get(s, g, 3, &got), 0);
	assert_int_equal(got.chat_id, g);
	assert_int_equal(got.sender_id, a);
	assert_int_equal(got.date, 130);
	assert_int_equal(got.reply_to_id, 1);
	assert_int_equal(got.fwd_user_id, a);
	assert_int_equal(got.fwd_chat_id, g2);
	assert_int_equal(got.fwd_msg_id, 1);
	assert_int_equal(got.fwd_date, 120);
	assert_int_equal(got.views, 0);   /* store-owned */
	assert_int_equal(got.deleted, 0);
	assert_string_equal(got.text, "forwarded");
	store_message_release(&got);
	store_message_release(&got); /* twice is harmless */

	/* A service message and a message without text. */
	m = (struct store_message){.chat_id = g, .sender_id = a, .date = 140, .service = 5};
	m.text = "alice joined";
	assert_int_equal(store_message_put(s, &m), 0);
	assert_int_equal(store_message_get(s, g, m.id, &got), 0);
	assert_int_equal(got.service, 5); /* the kind is kept */
	store_message_release(&got);
	m = (struct store_message){.chat_id = g, .sender_id = a, .date = 150};
	assert_int_equal(store_message_put(s, &m), 0);
	assert_int_equal(store_message_get(s, g, m.id, &got), 0);
	assert_null(got.text);

	assert_int_equal(store_message_get(s, g, 99, &got), PL_NOTFOUND);
	assert_null(got.text);
	m = (struct store_message){.chat_id = 9999, .date = 1};
	m.text = "nowhere";
	assert_int_equal(store_message_put(s, &m), PL_NOTFOUND);
	assert_int_equal(store_message_count(s, &n), 0);
	assert_int_equal(n, 6);
}

static void test_history(void **state)
{
	struct t_env *env = *state;
	struct store *s = env->s;
	int64_t a = t_user(s, "alice"), b = t_user(s, "bob");
	int64_t g = t_chat(s, STORE_CHAT_GROUP, "g", a, 1);
	char text[16];
	struct t_rows r;

	for (int i = 1; i <= 10; i++) {
		snprintf(text, sizeof(text), "m%d", i);
		t_msg(s, g, i % 2 ? a : b, 100 + i, text);
	}
	/* Older from the newest, then paging. */
	r = t_history(s, g, a, 0, STORE_OLDER, 3);
	assert_int_equal(r.n, 3);
	assert_int_equal(r.id[0], 10);
	assert_int_equal(r.id[2], 8);
	assert_string_equal(r.text[0], "m10");
	r = t_history(s, g, a, 8, STORE_OLDER, 3);
	assert_int_equal(r.n, 3);
	assert_int_equal(r.id[0], 7);
	assert_int_equal(r.id[2], 5);
	r = t_history(s, g, a, 2, STORE_OLDER, 10);
	assert_int_equal(r.n, 1);
	assert_int_equal(r.id[0], 1);
	/* Newer, oldest first. */
	r = t_history(s, g, a, 0, STORE_NEWER, 4);
	assert_int_equal(r.n, 4);
	assert_int_equal(r.id[0], 1);
	assert_int_equal(r.id[3], 4);
	r = t_history(s, g, a, 8, STORE_NEWER, 10);
	assert_int_equal(r.n, 2);
	assert_int_equal(r.id[0], 9);
	assert_int_equal(r.id[1], 10);

	/* Deleted for everyone and hidden for me are skipped (hidden only for me). */
	assert_int_equal(store_message_delete(s, g, 9), 0);
	assert_int_equal(store_message_hide(s, a, g, 8), 0);
	assert_int_equal(store_message_hide(s, a, g, 8), 0);
	assert_int_equal(store_message_hide(s, a, g, 99), PL_NOTFOUND);
	r = t_history(s, g, a, 0, STORE_OLDER, 3);
	assert_int_equal(r.n, 3);
	assert_int_equal(r.id[0], 10);
	assert_int_equal(r.id[1], 7);
	assert_int_equal(r.id[2], 6);
	r = t_history(s, g, b, 0, STORE_OLDER, 3);
	assert_int_equal(r.id[1], 8);

	/* A callback stops the walk with its own value. */
	memset(&r, 0, sizeof(r));
	r.stop_after = 2;
	assert_int_equal(store_message_history(s, g, a, 0, STORE_OLDER, 10, t_collect_msg, &r), 7);
	assert_int_equal(r.n, 2);
	/* Bad direction, empty limit, other chat. */
	assert_int_equal(store_message_history(s, g, a, 0, 5, 10, t_collect_msg, &r), PL_INVAL);
	r = t_history(s, g, a, 0, STORE_OLDER, 0);
	assert_int_equal(r.n, 0);
	r = t_history(s, 9999, a, 0, STORE_OLDER, 10);
	assert_int_equal(r.n, 0);
}

static void test_edit_delete(void **state)
{
	struct t_env *env = *state;
	struct store *s = env->s;
	int64_t a = t_user(s, "alice");
	int64_t g = t_chat(s, STORE_CHAT_GROUP, "g", a, 1);
	struct store_message got;
	struct t_rows r;
	int64_t id, svc;
	struct store_message m = {.chat_id = g, .sender_id = a, .date = 5, .service = 1};

	t_member(s, g, a, STORE_ROLE_CREATOR);
	id = t_msg(s, g, a, 10, "original banana");
	assert_int_equal(store_message_edit(s, g, id, "edited cherry", 20), 0);
	assert_int_equal(store_message_get(s, g, id, &got), 0);
	assert_string_equal(got.text, "edited cherry");
	assert_int_equal(got.edit_date, 20);
	store_message_release(&got);
	r = t_search(s, a, g, "banana", 0, 0, 0, 10);
	assert_int_equal(r.n, 0);
	r = t_search(s, a, g, "cherry", 0, 0, 0, 10);
	assert_int_equal(r.n, 1);
	r = t_search(s, a, 0, "cherry", 0, 0, 0, 10);
	assert_int_equal(r.n, 1);
	assert_int_equal(store_message_edit(s, g, 99, "x", 20), PL_NOTFOUND);

	/* Deleting drops the text and the search entry; the row stays. */
	assert_int_equal(store_message_delete(s, g, id), 0);
	assert_int_equal(store_message_get(s, g, id, &got), 0);
	assert_int_equal(got.deleted, 1);
	assert_null(got.text);
	r = t_search(s, a, g, "cherry", 0, 0, 0, 10);
	assert_int_equal(r.n, 0);
	assert_int_equal(store_message_delete(s, g, id), PL_NOTFOUND);
	assert_int_equal(store_message_edit(s, g, id, "back", 30), PL_NOTFOUND);
	assert_int_equal(store_message_delete(s, g, 99), PL_NOTFOUND);

	/* Service messages are not indexed, before or after an edit. */
	m.text = "service grape";
	assert_int_equal(store_message_put(s, &m), 0);
	svc = m.id;
	r = t_search(s, a, g, "grape", 0, 0, 0, 10);
	assert_int_equal(r.n, 0);
	assert_int_equal(store_message_edit(s, g, svc, "service melon", 40), 0);
	r = t_search(s, a, g, "melon", 0, 0, 0, 10);
	assert_int_equal(r.n, 0);
	assert_int_equal(store_message_delete(s, g, svc), 0);

	/* Text added to a message that had none becomes searchable; text removed is not. */
	m = (struct store_message){.chat_id = g, .sender_id = a, .date = 50};
	assert_int_equal(store_message_put(s, &m), 0);
	assert_int_equal(store_message_edit(s, g, m.id, "caption kiwi", 60), 0);
	r = t_search(s, a, g, "kiwi", 0, 0, 0, 10);
	assert_int_equal(r.n, 1);
	assert_int_equal(store_message_edit(s, g, m.id, NULL, 70), 0);
	r = t_search(s, a, g, "kiwi", 0, 0, 0, 10);
	assert_int_equal(r.n, 0);
	assert_int_equal(store_message_delete(s, g, m.id), 0);
}

static void test_search(void **state)
{
	struct t_env *env = *state;
	struct store *s = env->s;
	int64_t a = t_user(s, "alice"), b = t_user(s, "bob");
	int64_t g1 = t_chat(s, STORE_CHAT_GROUP, "g1", a, 1);
	int64_t g2 = t_chat(s, STORE_CHAT_GROUP, "g2", a, 1);
	int64_t g3 = t_chat(s, STORE_CHAT_GROUP, "g3", b, 1);
	int64_t g4 = t_chat(s, STORE_CHAT_GROUP, "g4", b, 1);
	static const char *const odd[] = {
		"\"", "\"\"", "*", "(", ")", "AND", "OR", "NOT", "NEAR", "NEAR(", "a\"b", "^",
		"body:", "chat:c1", "{body}", "-", "+", "'", "x*", "\"hello", ":", "AND OR NOT",
		"(apple", "apple)", "NEAR(apple pear)", "\xc3\xa9\xc3\xa9", "\xe2\x80\x94",
	};
	struct t_rows r;

	t_member(s, g1, a, STORE_ROLE_CREATOR);
	t_member(s, g2, a, STORE_ROLE_MEMBER);
	t_member(s, g3, a, STORE_ROLE_LEFT);     /* left: not searched */
	t_member(s, g3, b, STORE_ROLE_CREATOR);
	t_member(s, g4, b, STORE_ROLE_CREATOR);  /* never a member */

	t_msg(s, g1, a, 100, "Apple pie recipe");          /* g1#1 */
	t_msg(s, g2, b, 100, "apple tart");                /* g2#1, same date */
	t_msg(s, g1, b, 105, "pear and APPLE salad");      /* g1#2 */
	t_msg(s, g3, b, 110, "apple in a chat I left");    /* g3#1 */
	t_msg(s, g4, b, 120, "apple for strangers");       /* g4#1 */
	t_msg(s, g2, a, 130, "Crème brûlée with apple");   /* g2#2 */
	t_msg(s, g1, a, 140, "hidden apple");              /* g1#3 */
	t_msg(s, g1, a, 150, "quote \"apple\" AND (NEAR) * stars"); /* g1#4 */
	assert_int_equal(store_message_hide(s, a, g1, 3), 0);

	/* All my chats, newest first by (date, chat, id). */
	r = t_search(s, a, 0, "apple", 0, 0, 0, 50);
	assert_int_equal(r.n, 5);
	assert_true(r.chat[0] == g1 && r.id[0] == 4);
	assert_true(r.chat[1] == g2 && r.id[1] == 2);
	assert_true(r.chat[2] == g1 && r.id[2] == 2);
	assert_true(r.chat[3] == g2 && r.id[3] == 1); /* date 100: higher chat id first */
	assert_true(r.chat[4] == g1 && r.id[4] == 1);
	/* Paging with the exclusive offset triple. */
	r = t_search(s, a, 0, "apple", 0, 0, 0, 2);
	assert_int_equal(r.n, 2);
	r = t_search(s, a, 0, "apple", r.date[1], r.chat[1], r.id[1], 2);
	assert_int_equal(r.n, 2);
	assert_true(r.chat[0] == g1 && r.id[0] == 2);
	assert_true(r.chat[1] == g2 && r.id[1] == 1);
	r = t_search(s, a, 0, "apple", r.date[1], r.chat[1], r.id[1], 2);
	assert_int_equal(r.n, 1);
	assert_true(r.chat[0] == g1 && r.id[0] == 1);
	r = t_search(s, a, 0, "apple", r.date[0], r.chat[0], r.id[0], 2);
	assert_int_equal(r.n, 0);

	/* All words must match; case and diacritics folded. */
	r = t_search(s, a, 0, "  APPLE\tpear ", 0, 0, 0, 50);
	assert_int_equal(r.n, 1);
	assert_true(r.chat[0] == g1 && r.id[0] == 2);
	r = t_search(s, a, 0, "creme brulee", 0, 0, 0, 50);
	assert_int_equal(r.n, 1);
	r = t_search(s, a, 0, "apple banana", 0, 0, 0, 50);
	assert_int_equal(r.n, 0);

	/* One chat: its messages only (membership is the caller's check). */
	r = t_search(s, a, g1, "apple", 0, 0, 0, 50);
	assert_int_equal(r.n, 3);
	r = t_search(s, a, g4, "apple", 0, 0, 0, 50);
	assert_int_equal(r.n, 1);
	r = t_search(s, b, g1, "apple", 0, 0, 0, 50);
	assert_int_equal(r.n, 4); /* hidden only for alice */
	/* The chat token is not searchable as a word. */
	{
		char tok[32];

		snprintf(tok, sizeof(tok), "c%lld", (long long)g1);
		r = t_search(s, a, 0, tok, 0, 0, 0, 50);
		assert_int_equal(r.n, 0);
	}

	/* User input is never FTS5 syntax. */
	for (size_t i = 0; i < sizeof(odd) / sizeof(odd[0]); i++) {
		memset(&r, 0, sizeof(r));
		assert_int_equal(store_message_search(s, a, 0, odd[i], 0, 0, 0, 50, t_collect_msg, &r), 0);
		assert_int_equal(store_message_search(s, a, g1, odd[i], 0, 0, 0, 50, t_collect_msg, &r), 0);
	}
	r = t_search(s, a, 0, "AND", 0, 0, 0, 50); /* the word, as in "pear and apple" */
	assert_int_equal(r.n, 2);
	r = t_search(s, a, 0, "near", 0, 0, 0, 50);
	assert_int_equal(r.n, 1);
	r = t_search(s, a, 0, "\"apple\" (near) stars*", 0, 0, 0, 50);
	assert_int_equal(r.n, 1);
	r = t_search(s, a, 0, "apple *", 0, 0, 0, 50); /* punctuation-only words are ignored */
	assert_int_equal(r.n, 5);
	/* Nothing to search for: nothing found, no error. */
	r = t_search(s, a, 0, "", 0, 0, 0, 50);
	assert_int_equal(r.n, 0);
	r = t_search(s, a, 0, "   ", 0, 0, 0, 50);
	assert_int_equal(r.n, 0);
	r = t_search(s, a, 0, "* ( \"", 0, 0, 0, 50);
	assert_int_equal(r.n, 0);
	r = t_search(s, a, 0, NULL, 0, 0, 0, 50);
	assert_int_equal(r.n, 0);
	r = t_search(s, a, 0, "apple", 0, 0, 0, 0);
	assert_int_equal(r.n, 0);
	{
		char *big = malloc(8192);

		assert_non_null(big);
		memset(big, 'a', 8191);
		big[8191] = '\0';
		assert_int_equal(store_message_search(s, a, 0, big, 0, 0, 0, 50, t_collect_msg, &r),
				 PL_TOOBIG);
		free(big);
	}
}

/* Expected search order: (date, chat, id) descending. */
static int t_cmp_desc(const void *pa, const void *pb)
{
	const int64_t *a = pa, *b = pb;

	for (int i = 0; i < 3; i++)
		if (a[i] != b[i])
			return a[i] < b[i] ? 1 : -1;
	return 0;
}

/* Search order and paging with dates out of insertion order, many messages
 * per date across chats, a reopen in between and every page size. */
static void test_search_order(void **state)
{
	struct t_env *env = *state;
	int64_t a = t_user(env->s, "alice");
	int64_t g[3];
	int64_t want[90][3];
	int nwant = 0;

	for (int i = 0; i < 3; i++) {
		char name[8];

		snprintf(name, sizeof(name), "g%d", i);
		g[i] = t_chat(env->s, STORE_CHAT_GROUP, name, a, 1);
		t_member(env->s, g[i], a, STORE_ROLE_MEMBER);
	}
	for (int i = 0; i < 90; i++) {
		int64_t date = 1000 + (i * 37) % 11;   /* 11 dates, shuffled */
		int64_t chat = g[(i * 7) % 3];
		const char *text = i % 5 == 4 ? "other" : "needle";

		if (i == 45) {                         /* keys continue after a reopen */
			store_close(env->s);
			env->s = t_open(env, 0);
		}
		if (i % 30 == 0 || i == 45)
			assert_int_equal(store_begin(env->s), 0);
		int64_t id = t_msg(env->s, chat, a, date, text);
		if (i % 30 == 29 || i == 44)
			assert_int_equal(store_commit(env->s), 0);
		if (i % 5 != 4) {
			want[nwant][0] = date;
			want[nwant][1] = chat;
			want[nwant][2] = id;
			nwant++;
		}
	}
	qsort(want, (size_t)nwant, sizeof(want[0]), t_cmp_desc);

	for (int limit = 1; limit <= nwant + 1; limit++) {
		int64_t od = 0, oc = 0, oi = 0;
		int seen = 0;

		for (;;) {
			struct t_rows r = t_search(env->s, a, 0, "needle", od, oc, oi, limit);

			for (int k = 0; k < r.n; k++, seen++) {
				assert_true(seen < nwant);
				assert_int_equal(r.date[k], want[seen][0]);
				assert_int_equal(r.chat[k], want[seen][1]);
				assert_int_equal(r.id[k], want[seen][2]);
			}
			if (r.n < limit)
				break;
			od = r.date[r.n - 1];
			oc = r.chat[r.n - 1];
			oi = r.id[r.n - 1];
		}
		assert_int_equal(seen, nwant);
	}
	/* In one chat: the same order restricted to it. */
	{
		struct t_rows r = t_search(env->s, a, g[1], "needle", 0, 0, 0, 100);
		int k = 0;

		for (int i = 0; i < nwant; i++) {
			if (want[i][1] != g[1])
				continue;
			assert_int_equal(r.id[k], want[i][2]);
			k++;
		}
		assert_int_equal(r.n, k);
	}
	/* Dates outside 0..2^40-1 are refused. */
	{
		struct store_message m = {.chat_id = g[0], .date = -1};

		m.text = "x";
		assert_int_equal(store_message_put(env->s, &m), PL_INVAL);
		m.date = INT64_C(1) << 40;
		assert_int_equal(store_message_put(env->s, &m), PL_INVAL);
	}
}

static void test_views(void **state)
{
	struct t_env *env = *state;
	struct store *s = env->s;
	int64_t a = t_user(s, "alice"), b = t_user(s, "bob");
	int64_t ch = t_chat(s, STORE_CHAT_CHANNEL, "chan", a, 1);
	int64_t id = t_msg(s, ch, a, 10, "post");
	struct store_message got;
	int64_t v = -1;

	assert_int_equal(store_message_view(s, ch, id, a, &v), 0);
	assert_int_equal(v, 1);
	assert_int_equal(store_message_view(s, ch, id, a, &v), 0);
	assert_int_equal(v, 1);
	assert_int_equal(store_message_view(s, ch, id, b, &v), 0);
	assert_int_equal(v, 2);
	assert_int_equal(store_message_view(s, ch, id, b, &v), 0);
	assert_int_equal(v, 2);
	assert_int_equal(store_message_get(s, ch, id, &got), 0);
	assert_int_equal(got.views, 2);
	store_message_release(&got);
	assert_int_equal(store_message_view(s, ch, 99, a, &v), PL_NOTFOUND);
	/* Inside a transaction too. */
	assert_int_equal(store_begin(s), 0);
	assert_int_equal(store_message_view(s, ch, id, 77, &v), 0);
	assert_int_equal(v, 3);
	assert_int_equal(store_message_view(s, ch, 99, a, &v), PL_NOTFOUND);
	assert_int_equal(store_commit(s), 0);
	assert_int_equal(store_message_view(s, ch, id, 77, &v), 0);
	assert_int_equal(v, 3);
}

static void test_unread(void **state)
{
	struct t_env *env = *state;
	struct store *s = env->s;
	int64_t a = t_user(s, "alice"), b = t_user(s, "bob");
	int64_t g = t_chat(s, STORE_CHAT_GROUP, "g", a, 1);
	int64_t n = -1;

	for (int i = 1; i <= 10; i++)
		t_msg(s, g, i <= 6 ? b : a, i, "x"); /* 1..6 from bob, 7..10 from alice */
	assert_int_equal(store_message_unread(s, g, a, 0, &n), 0);
	assert_int_equal(n, 6);
	assert_int_equal(store_message_unread(s, g, a, 2, &n), 0);
	assert_int_equal(n, 4);
	assert_int_equal(store_message_unread(s, g, b, 0, &n), 0);
	assert_int_equal(n, 4);
	assert_int_equal(store_message_delete(s, g, 3), 0);
	assert_int_equal(store_message_hide(s, a, g, 4), 0);
	assert_int_equal(store_message_unread(s, g, a, 2, &n), 0);
	assert_int_equal(n, 2);
	assert_int_equal(store_message_unread(s, g, b, 0, &n), 0);
	assert_int_equal(n, 4);
	assert_int_equal(store_message_unread(s, g, a, 10, &n), 0);
	assert_int_equal(n, 0);
	assert_int_equal(store_message_unread(s, 9999, a, 0, &n), 0);
	assert_int_equal(n, 0);
}

static void test_dialogs(void **state)
{
	struct t_env *env = *state;
	struct store *s = env->s;
	int64_t a = t_user(s, "alice"), b = t_user(s, "bob");
	int64_t g[5];
	struct t_rows r = {0};

	for (int i = 0; i < 5; i++) {
		char name[8];

		snprintf(name, sizeof(name), "g%d", i);
		g[i] = t_chat(s, STORE_CHAT_GROUP, name, b, 10);
	}
	t_member(s, g[0], a, STORE_ROLE_MEMBER);
	t_member(s, g[1], a, STORE_ROLE_ADMIN);
	t_member(s, g[2], a, STORE_ROLE_CREATOR);
	t_member(s, g[3], a, STORE_ROLE_MEMBER);
	t_member(s, g[4], a, STORE_ROLE_KICKED);
	t_member(s, g[4], b, STORE_ROLE_CREATOR);
	t_msg(s, g[0], b, 300, "x");
	t_msg(s, g[2], b, 100, "x");
	t_msg(s, g[4], b, 400, "x");
	/* g[1] and g[3] keep last_date 10 (creation): tie broken by chat id. */

	assert_int_equal(store_dialog_list(s, a, 0, 0, 100, t_collect_dialog, &r), 0);
	assert_int_equal(r.n, 4);
	assert_int_equal(r.id[0], g[0]);
	assert_int_equal(r.date[0], 300);
	assert_int_equal(r.chat[0], STORE_ROLE_MEMBER);
	assert_int_equal(r.id[1], g[2]);
	assert_int_equal(r.chat[1], STORE_ROLE_CREATOR);
	assert_int_equal(r.id[2], g[3]);
	assert_int_equal(r.id[3], g[1]);

	/* Paging by (last_date, chat id), exclusive. */
	memset(&r, 0, sizeof(r));
	assert_int_equal(store_dialog_list(s, a, 0, 0, 2, t_collect_dialog, &r), 0);
	assert_int_equal(r.n, 2);
	{
		int64_t od = r.date[1], oc = r.id[1];

		memset(&r, 0, sizeof(r));
		assert_int_equal(store_dialog_list(s, a, od, oc, 2, t_collect_dialog, &r), 0);
	}
	assert_int_equal(r.n, 2);
	assert_int_equal(r.id[0], g[3]);
	assert_int_equal(r.id[1], g[1]);
	{
		int64_t od = r.date[0], oc = r.id[0];

		memset(&r, 0, sizeof(r));
		assert_int_equal(store_dialog_list(s, a, od, oc, 10, t_collect_dialog, &r), 0);
	}
	assert_int_equal(r.n, 1);
	assert_int_equal(r.id[0], g[1]);

	/* A new message moves a chat to the top. */
	t_msg(s, g[1], b, 500, "x");
	memset(&r, 0, sizeof(r));
	assert_int_equal(store_dialog_list(s, a, 0, 0, 1, t_collect_dialog, &r), 0);
	assert_int_equal(r.id[0], g[1]);
	memset(&r, 0, sizeof(r));
	assert_int_equal(store_dialog_list(s, 9999, 0, 0, 10, t_collect_dialog, &r), 0);
	assert_int_equal(r.n, 0);
}

/* ---- transactions ---- */

static void test_savepoint_undo(void **state)
{
	struct t_env *env = *state;
	struct store *s = env->s;
	struct store *r = t_open(env, STORE_READONLY);
	int64_t a = t_user(s, "alice"), b = t_user(s, "bob");
	int64_t g = t_chat(s, STORE_CHAT_GROUP, "g", a, 1);
	struct store_message got;
	struct store_member mb;
	struct t_rows rows;
	struct store_chat c;

	t_member(s, g, a, STORE_ROLE_CREATOR);
	assert_int_equal(store_begin(s), 0);

	assert_int_equal(store_mark(s), 0);            /* request 1: kept */
	assert_int_equal(t_msg(s, g, a, 10, "first alpha"), 1);
	assert_int_equal(store_release(s), 0);

	assert_int_equal(store_mark(s), 0);            /* request 2: undone */
	assert_int_equal(t_msg(s, g, a, 20, "second beta"), 2);
	assert_int_equal(store_message_edit(s, g, 1, "first gamma", 25), 0);
	t_member(s, g, b, STORE_ROLE_MEMBER);
	assert_int_equal(store_undo(s), 0);

	assert_int_equal(store_mark(s), 0);            /* request 3: kept */
	assert_int_equal(t_msg(s, g, a, 30, "third delta"), 2);
	assert_int_equal(store_release(s), 0);

	assert_int_equal(store_mark(s), 0);            /* request 4: fails inside, kept */
	assert_int_equal(store_message_edit(s, g, 99, "nope", 1), PL_NOTFOUND);
	assert_int_equal(store_release(s), 0);

	/* Nothing is visible to readers before the commit. */
	assert_int_equal(store_message_get(r, g, 1, &got), PL_NOTFOUND);
	assert_int_equal(store_commit(s), 0);

	assert_int_equal(store_chat_get(r, g, &c), 0);
	assert_int_equal(c.last_msg_id, 2);
	assert_int_equal(c.last_date, 30);
	assert_int_equal(c.member_count, 1);
	assert_int_equal(store_member_get(r, g, b, &mb), PL_NOTFOUND);
	assert_int_equal(store_message_get(r, g, 1, &got), 0);
	assert_string_equal(got.text, "first alpha");
	store_message_release(&got);
	assert_int_equal(store_message_get(r, g, 2, &got), 0);
	assert_string_equal(got.text, "third delta");
	store_message_release(&got);
	rows = t_search(r, a, g, "alpha", 0, 0, 0, 10);
	assert_int_equal(rows.n, 1);
	rows = t_search(r, a, g, "delta", 0, 0, 0, 10);
	assert_int_equal(rows.n, 1);
	rows = t_search(r, a, g, "beta", 0, 0, 0, 10);
	assert_int_equal(rows.n, 0);
	rows = t_search(r, a, g, "gamma", 0, 0, 0, 10);
	assert_int_equal(rows.n, 0);

	/* Rollback drops the whole group. */
	assert_int_equal(store_begin(s), 0);
	t_msg(s, g, a, 40, "rolled epsilon");
	assert_int_equal(store_rollback(s), 0);
	assert_int_equal(store_rollback(s), 0); /* nothing open: no-op */
	assert_int_equal(store_message_get(s, g, 3, &got), PL_NOTFOUND);
	rows = t_search(s, a, g, "epsilon", 0, 0, 0, 10);
	assert_int_equal(rows.n, 0);
	assert_int_equal(t_msg(s, g, a, 50, "after zeta"), 3);
	rows = t_search(s, a, g, "zeta", 0, 0, 0, 10);
	assert_int_equal(rows.n, 1);

	/* Marks must pair. */
	assert_int_equal(store_release(s), PL_INVAL);
	assert_int_equal(store_undo(s), PL_INVAL);
	/* A mark outside a transaction is a transaction of its own. */
	assert_int_equal(store_mark(s), 0);
	t_msg(s, g, a, 60, "solo eta");
	assert_int_equal(store_release(s), 0);
	assert_int_equal(store_mark(s), 0);
	t_msg(s, g, a, 70, "solo theta");
	assert_int_equal(store_undo(s), 0);
	rows = t_search(r, a, g, "eta", 0, 0, 0, 10);
	assert_int_equal(rows.n, 1);
	rows = t_search(r, a, g, "theta", 0, 0, 0, 10);
	assert_int_equal(rows.n, 0);
	store_close(r);
}

/* Edits and deletes of messages whose indexing is still queued in the same
 * transaction, and the writer's search once it commits. */
static void test_edit_in_transaction(void **state)
{
	struct t_env *env = *state;
	struct store *s = env->s;
	int64_t a = t_user(s, "alice");
	int64_t g = t_chat(s, STORE_CHAT_GROUP, "g", a, 1);
	struct t_rows r;

	t_member(s, g, a, STORE_ROLE_CREATOR);
	t_msg(s, g, a, 5, "old committed lime");
	assert_int_equal(store_begin(s), 0);
	t_msg(s, g, a, 10, "plum one");                       /* 2 */
	t_msg(s, g, a, 11, "plum two");                       /* 3 */
	t_msg(s, g, a, 12, "plum three");                     /* 4 */
	assert_int_equal(store_message_edit(s, g, 2, "fig one", 20), 0);
	assert_int_equal(store_message_edit(s, g, 2, "fig again", 21), 0);
	assert_int_equal(store_message_delete(s, g, 3), 0);
	assert_int_equal(store_message_edit(s, g, 1, "new lemon", 22), 0);
	assert_int_equal(store_mark(s), 0);
	assert_int_equal(store_message_delete(s, g, 4), 0);
	assert_int_equal(store_undo(s), 0);
	assert_int_equal(store_commit(s), 0);

	r = t_search(s, a, g, "plum", 0, 0, 0, 10);
	assert_int_equal(r.n, 1);
	assert_int_equal(r.id[0], 4);
	r = t_search(s, a, g, "fig", 0, 0, 0, 10);
	assert_int_equal(r.n, 1);
	assert_string_equal(r.text[0], "fig again");
	r = t_search(s, a, g, "one", 0, 0, 0, 10);
	assert_int_equal(r.n, 0);
	r = t_search(s, a, g, "lime", 0, 0, 0, 10);
	assert_int_equal(r.n, 0);
	r = t_search(s, a, g, "lemon", 0, 0, 0, 10);
	assert_int_equal(r.n, 1);
	/* The index stays consistent: deleting everything empties every search. */
	for (int id = 1; id <= 4; id++)
		if (id != 3)
			assert_int_equal(store_message_delete(s, g, id), 0);
	r = t_search(s, a, g, "plum fig lemon", 0, 0, 0, 10);
	assert_int_equal(r.n, 0);
	r = t_search(s, a, g, "again", 0, 0, 0, 10);
	assert_int_equal(r.n, 0);
}

/* A group commit longer than the deferred index queue's flush threshold,
 * with undone requests scattered through it. */
static void test_group_commit_large(void **state)
{
	struct t_env *env = *state;
	struct store *s = env->s;
	int64_t a = t_user(s, "alice");
	int64_t g = t_chat(s, STORE_CHAT_GROUP, "g", a, 1);
	const int total = 10000;
	struct t_rows rows;
	struct store_chat c;
	int64_t n, kept = 0;

	t_member(s, g, a, STORE_ROLE_CREATOR);
	assert_int_equal(store_begin(s), 0);
	for (int i = 0; i < total; i++) {
		assert_int_equal(store_mark(s), 0);
		t_msg(s, g, a, i, i % 7 ? "common word" : "common rare");
		if (i % 7 == 3) {
			assert_int_equal(store_undo(s), 0);
		} else {
			assert_int_equal(store_release(s), 0);
			kept++;
		}
	}
	assert_int_equal(store_commit(s), 0);
	assert_int_equal(store_chat_get(s, g, &c), 0);
	assert_int_equal(c.last_msg_id, kept);
	assert_int_equal(store_message_count(s, &n), 0);
	assert_int_equal(n, kept);
	/* Every kept "rare" message is found, exactly once. */
	n = 0;
	assert_int_equal(store_message_search(s, a, g, "rare", 0, 0, 0, total, t_count_msg, &n), 0);
	assert_int_equal(n, (total + 6) / 7);
	n = 0;
	assert_int_equal(store_message_search(s, a, 0, "common", 0, 0, 0, total, t_count_msg, &n), 0);
	assert_int_equal(n, kept);
	rows = t_search(s, a, g, "common", 0, 0, 0, 250);
	assert_int_equal(rows.n, 250);
	assert_int_equal(rows.id[0], kept);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_open_creates_dir, t_setup, t_teardown),
		cmocka_unit_test_setup_teardown(test_readonly_missing_db_fails, t_setup, t_teardown),
		cmocka_unit_test_setup_teardown(test_reopen_keeps_data, t_setup, t_teardown),
		cmocka_unit_test_setup_teardown(test_readonly_sees_committed, t_setup, t_teardown),
		cmocka_unit_test_setup_teardown(test_users, t_setup, t_teardown),
		cmocka_unit_test_setup_teardown(test_user_full_fields, t_setup, t_teardown),
		cmocka_unit_test_setup_teardown(test_sessions, t_setup, t_teardown),
		cmocka_unit_test_setup_teardown(test_blocks, t_setup, t_teardown),
		cmocka_unit_test_setup_teardown(test_chats, t_setup, t_teardown),
		cmocka_unit_test_setup_teardown(test_member_count, t_setup, t_teardown),
		cmocka_unit_test_setup_teardown(test_members, t_setup, t_teardown),
		cmocka_unit_test_setup_teardown(test_links, t_setup, t_teardown),
		cmocka_unit_test_setup_teardown(test_message_put_get, t_setup, t_teardown),
		cmocka_unit_test_setup_teardown(test_history, t_setup, t_teardown),
		cmocka_unit_test_setup_teardown(test_edit_delete, t_setup, t_teardown),
		cmocka_unit_test_setup_teardown(test_search, t_setup, t_teardown),
		cmocka_unit_test_setup_teardown(test_search_order, t_setup, t_teardown),
		cmocka_unit_test_setup_teardown(test_views, t_setup, t_teardown),
		cmocka_unit_test_setup_teardown(test_unread, t_setup, t_teardown),
		cmocka_unit_test_setup_teardown(test_dialogs, t_setup, t_teardown),
		cmocka_unit_test_setup_teardown(test_savepoint_undo, t_setup, t_teardown),
		cmocka_unit_test_setup_teardown(test_edit_in_transaction, t_setup, t_teardown),
		cmocka_unit_test_setup_teardown(test_group_commit_large, t_setup, t_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
