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
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include <sqlite3.h>

#include "store/store.h"

#define T_MAX_ROWS 256
/* SQL taking a store back from schema 12 to 11: the logs' payload indexes
 * and foreign keys back, no prune state. */
#define T_BEFORE_12 \
	"PRAGMA writable_schema = ON;" \
	"UPDATE sqlite_master SET sql = replace(sql, 'payload_id INTEGER NOT NULL'," \
	"  'payload_id INTEGER NOT NULL REFERENCES update_payloads(id)')" \
	"  WHERE type = 'table' AND name IN ('user_updates', 'chat_updates');" \
	"PRAGMA writable_schema = RESET;" \
	"CREATE INDEX user_updates_payload ON user_updates(payload_id, date);" \
	"CREATE INDEX chat_updates_payload ON chat_updates(payload_id, date);" \
	"DROP TABLE update_prune_state;"

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

/* A data folder from before migration 8 (search index with column sizes)
 * is upgraded: the index is built again from the messages it covers. */
/* Copies file src to dst (the test's stand-in for a crash: the files as
 * they are on disk while the handle still holds what it had not written). */
static void t_copy_file(const char *src, const char *dst)
{
	FILE *in = fopen(src, "rb"), *out;
	char buf[8192];
	size_t n;

	assert_non_null(in);
	assert_non_null(out = fopen(dst, "wb"));
	while ((n = fread(buf, 1, sizeof(buf), in)) > 0)
		assert_int_equal(fwrite(buf, 1, n, out), n);
	fclose(in);
	assert_int_equal(fclose(out), 0);
}

/* A deferring handle (the writer's) keeps new messages' index updates
 * queued across commits; a rollback or undo drops only its own; an edit
 * applies the queue first, in order; flush applies it; and a crash loses
 * nothing: migrate indexes what was committed after the last batch, as it
 * reads now, and the index stays exact (an edit of a recovered message
 * removes it by its text). */
static void test_index_defer(void **state)
{
	struct t_env *env = *state;
	struct store *s = env->s, *c;
	int64_t a = t_user(s, "alice");
	int64_t g = t_chat(s, STORE_CHAT_GROUP, "g", a, 1);
	int64_t m1, m2, m3;
	char src[600], dst[600], dir[520], err[256];
	uint64_t since;
	size_t n;

	t_member(s, g, a, STORE_ROLE_CREATOR);
	t_msg(s, g, a, 100, "needle at once"); /* not deferring: indexed at its commit */
	store_index_pending(s, &n, &since);
	assert_int_equal(n, 0);
	assert_int_equal(t_search(s, a, g, "needle", 0, 0, 0, 10).n, 1);

	assert_int_equal(store_index_defer(s, 1), 0);
	assert_int_equal(store_begin(s), 0);
	m1 = t_msg(s, g, a, 101, "needle one");
	assert_int_equal(store_commit(s), 0);
	store_index_pending(s, &n, &since);
	assert_int_equal(n, 1);
	assert_true(since > 0);
	assert_int_equal(t_search(s, a, g, "needle", 0, 0, 0, 10).n, 1); /* not yet */

	/* A rollback and an undo drop their own updates, not the committed one. */
	assert_int_equal(store_begin(s), 0);
	t_msg(s, g, a, 102, "needle rolled back");
	assert_int_equal(store_rollback(s), 0);
	assert_int_equal(store_begin(s), 0);
	assert_int_equal(store_mark(s), 0);
	t_msg(s, g, a, 102, "needle undone");
	assert_int_equal(store_undo(s), 0);
	m2 = t_msg(s, g, a, 103, "needle two");
	assert_int_equal(store_commit(s), 0);
	store_index_pending(s, &n, &since);
	assert_int_equal(n, 2);

	/* The crash: the files as they are now, two messages not indexed. */
	snprintf(dir, sizeof(dir), "%s/crash", env->root);
	assert_int_equal(mkdir(dir, 0700), 0);
	snprintf(src, sizeof(src), "%s/parley.db", env->dir);
	snprintf(dst, sizeof(dst), "%s/parley.db", dir);
	t_copy_file(src, dst);
	snprintf(src, sizeof(src), "%s/parley.db-wal", env->dir);
	snprintf(dst, sizeof(dst), "%s/parley.db-wal", dir);
	t_copy_file(src, dst);

	/* An edit applies the queue, then itself. */
	assert_int_equal(store_begin(s), 0);
	assert_int_equal(store_message_edit(s, g, m1, "haystack one", 200), 0);
	assert_int_equal(store_commit(s), 0);
	store_index_pending(s, &n, &since);
	assert_int_equal(n, 0);
	assert_int_equal(t_search(s, a, g, "needle", 0, 0, 0, 10).n, 2);
	assert_int_equal(t_search(s, a, g, "haystack", 0, 0, 0, 10).n, 1);
	/* Outside a transaction too, a new message waits for flush. */
	m3 = t_msg(s, g, a, 104, "needle three");
	store_index_pending(s, &n, &since);
	assert_int_equal(n, 1);
	assert_int_equal(store_index_flush(s), 0);
	store_index_pending(s, &n, &since);
	assert_int_equal(n, 0);
	assert_int_equal(t_search(s, a, g, "needle", 0, 0, 0, 10).n, 3);
	assert_true(m3 > m2);

	/* After the crash: recovery at migrate indexes one and two, once. */
	snprintf(dir, sizeof(dir), "%s/crash", env->root);
	assert_non_null(c = store_sqlite_open(dir, 0, err, sizeof(err)));
	assert_int_equal(store_migrate(c), 0);
	assert_int_equal(t_search(c, a, g, "needle", 0, 0, 0, 10).n, 3);
	assert_int_equal(store_migrate(c), 0); /* idempotent */
	assert_int_equal(t_search(c, a, g, "needle", 0, 0, 0, 10).n, 3);
	assert_int_equal(store_message_edit(c, g, m1, "haystack one", 200), 0);
	assert_int_equal(store_message_delete(c, g, m2), 0);
	assert_int_equal(t_search(c, a, g, "needle", 0, 0, 0, 10).n, 1);
	assert_int_equal(t_search(c, a, 0, "one", 0, 0, 0, 10).n, 1);
	assert_int_equal(t_search(c, a, 0, "two", 0, 0, 0, 10).n, 0);
	store_close(c);
	t_rmtree(dir);
}

/* Walks a search newest first in pages of 100; returns the hits, each
 * checked to be older than the one before it and in chat (0: any). */
static int t_search_all(struct store *s, int64_t user, int64_t chat, const char *query)
{
	int64_t od = 0, oc = 0, oi = 0, last_date = INT64_MAX;
	int total = 0;
	struct t_rows r;

	do {
		r = t_search(s, user, chat, query, od, oc, oi, 100);
		for (int i = 0; i < r.n; i++) {
			assert_true(r.date[i] < last_date); /* one message per date here */
			last_date = r.date[i];
			if (chat)
				assert_int_equal(r.chat[i], chat);
		}
		total += r.n;
		if (r.n > 0) {
			od = r.date[r.n - 1];
			oc = r.chat[r.n - 1];
			oi = r.id[r.n - 1];
		}
	} while (r.n == 100);
	return total;
}

/* Many index batches (so FTS5 merges their segments: automerge 8, set at
 * migrate) find exactly what was sent, in order, in one chat and in all. */
static void test_search_many_batches(void **state)
{
	struct t_env *env = *state;
	struct store *s = env->s;
	int64_t a = t_user(s, "alice");
	int64_t g[3];
	char text[64], path[160];
	int seven = 0;
	sqlite3 *db;
	sqlite3_stmt *q;

	for (int c = 0; c < 3; c++) {
		snprintf(text, sizeof(text), "g%d", c);
		g[c] = t_chat(s, STORE_CHAT_GROUP, text, a, 1);
		t_member(s, g[c], a, STORE_ROLE_CREATOR);
	}
	assert_int_equal(store_index_defer(s, 1), 0);
	for (int b = 0; b < 60; b++) {
		assert_int_equal(store_begin(s), 0);
		for (int j = 0; j < 20; j++) {
			int i = b * 20 + j;

			snprintf(text, sizeof(text), "w%d common%s", i, i % 7 == 0 ? " seven" : "");
			seven += i % 7 == 0;
			t_msg(s, g[i % 3], a, 1000 + i, text);
		}
		assert_int_equal(store_commit(s), 0);
		assert_int_equal(store_index_flush(s), 0);
	}
	for (int c = 0; c < 3; c++)
		assert_int_equal(t_search_all(s, a, g[c], "common"), 400);
	assert_int_equal(t_search_all(s, a, 0, "common"), 1200);
	assert_int_equal(t_search_all(s, a, 0, "seven"), seven);
	assert_int_equal(t_search_all(s, a, g[1], "seven common"), (seven + 1) / 3);
	for (int i = 0; i < 1200; i += 97) {
		struct t_rows r;

		snprintf(text, sizeof(text), "w%d", i);
		r = t_search(s, a, g[i % 3], text, 0, 0, 0, 10);
		assert_int_equal(r.n, 1);
		assert_int_equal(r.date[0], 1000 + i);
		assert_int_equal(t_search(s, a, g[(i + 1) % 3], text, 0, 0, 0, 10).n, 0);
	}

	snprintf(path, sizeof(path), "%s/parley.db", env->dir);
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, "SELECT v FROM message_fts_config WHERE k = 'automerge'", -1, &q,
					    NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(q), SQLITE_ROW);
	assert_int_equal(sqlite3_column_int(q, 0), 8);
	sqlite3_finalize(q);
	sqlite3_close(db);
}

static void test_migrate_search_index(void **state)
{
	struct t_env *env = *state;
	char path[160], *sql = NULL;
	struct t_rows r;
	sqlite3 *db;
	sqlite3_stmt *q;
	int64_t alice, chat, live, gone, removed;
	struct store_message m = {0};

	alice = t_user(env->s, "alice");
	chat = t_chat(env->s, STORE_CHAT_GROUP, "club", alice, 100);
	t_member(env->s, chat, alice, STORE_ROLE_CREATOR);
	live = t_msg(env->s, chat, alice, 200, "needle kept");
	gone = t_msg(env->s, chat, alice, 201, "needle deleted");
	removed = t_msg(env->s, chat, alice, 202, "needle removed");
	m.chat_id = chat;
	m.sender_id = alice;
	m.date = 203;
	m.service = 1;
	m.text = (char *)"needle service";
	assert_int_equal(store_message_put(env->s, &m), 0);
	assert_int_equal(store_message_delete(env->s, chat, gone), 0);
	assert_int_equal(store_message_moderate(env->s, chat, removed, 1), 0);
	store_close(env->s);

	/* Turn it into a version 7 folder whose index is the old kind, empty. */
	snprintf(path, sizeof(path), "%s/parley.db", env->dir);
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "DROP TABLE message_fts;"
				      "CREATE VIRTUAL TABLE message_fts USING fts5(body, chat, content='',"
				      " tokenize='unicode61 remove_diacritics 2');"
				      "DROP TABLE fts_state;"
				      "ALTER TABLE user_updates DROP COLUMN view;"
				      "ALTER TABLE update_payloads DROP COLUMN alt;"
				      "ALTER TABLE update_payloads DROP COLUMN alt_from;"
				      "ALTER TABLE update_payloads DROP COLUMN alt_to;"
				      "CREATE INDEX update_payloads_date ON update_payloads(date);"
				      T_BEFORE_12
				      "PRAGMA user_version = 7;", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);

	env->s = t_open(env, 0);
	assert_int_equal(store_migrate(env->s), 0);
	r = t_search(env->s, alice, 0, "needle", 0, 0, 0, 10);
	assert_int_equal(r.n, 1);
	assert_int_equal(r.id[0], live);
	assert_int_equal(t_msg(env->s, chat, alice, 300, "needle new"), 5);
	r = t_search(env->s, alice, chat, "needle", 0, 0, 0, 10);
	assert_int_equal(r.n, 2);

	/* The new index keeps no column sizes. */
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, "SELECT sql FROM sqlite_master WHERE name = 'message_fts'", -1, &q,
					    NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(q), SQLITE_ROW);
	sql = strdup((const char *)sqlite3_column_text(q, 0));
	sqlite3_finalize(q);
	assert_non_null(strstr(sql, "columnsize=0"));
	free(sql);
	assert_int_equal(sqlite3_prepare_v2(db, "SELECT count(*) FROM sqlite_master WHERE name = 'message_fts_docsize'",
					    -1, &q, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(q), SQLITE_ROW);
	assert_int_equal(sqlite3_column_int(q, 0), 0);
	sqlite3_finalize(q);
	sqlite3_close(db);
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

/* A reader's call runs in one read transaction: one snapshot from its first
 * read to read_end, which ends it even after a failed op, and is a no-op
 * when none is open. */
static void test_read_transaction(void **state)
{
	struct t_env *env = *state;
	struct store *r = t_open(env, STORE_READONLY);
	struct store_message m;
	struct store_user u;
	int64_t alice, chat;

	alice = t_user(env->s, "alice");
	chat = t_chat(env->s, STORE_CHAT_GROUP, "club", alice, 100);
	t_msg(env->s, chat, alice, 200, "one");
	assert_int_equal(store_read_end(r), 0); /* none open */
	assert_int_equal(store_read_begin(r), 0);
	assert_int_equal(store_read_begin(r), PL_INVAL); /* no nesting */
	assert_int_equal(store_message_get(r, chat, 1, &m), 0);
	store_message_release(&m);
	t_msg(env->s, chat, alice, 300, "two");
	assert_int_equal(store_message_get(r, chat, 2, &m), PL_NOTFOUND); /* the same snapshot */
	assert_int_equal(store_user_get(r, 999, &u), PL_NOTFOUND);     /* a failed op ... */
	assert_int_equal(store_read_end(r), 0);                         /* ... still ends it */
	assert_int_equal(store_message_get(r, chat, 2, &m), 0);
	store_message_release(&m);
	assert_int_equal(store_read_end(r), 0);
	/* The writer is never held up by a reader's transaction. */
	assert_int_equal(store_read_begin(r), 0);
	assert_int_equal(store_message_get(r, chat, 2, &m), 0);
	store_message_release(&m);
	t_msg(env->s, chat, alice, 400, "three");
	assert_int_equal(store_message_get(r, chat, 3, &m), PL_NOTFOUND);
	assert_int_equal(store_read_end(r), 0);
	store_close(r);
}

/* ---- checkpoints ---- */

static off_t t_wal_size(const struct t_env *env)
{
	char path[160];
	struct stat st;

	snprintf(path, sizeof(path), "%s/parley.db-wal", env->dir);
	assert_int_equal(stat(path, &st), 0);
	return st.st_size;
}

/* n commits of one message each on the writer s; returns the WAL size
 * after the last, checking it grew at every commit after the first (the
 * first may start the WAL over after a checkpoint; no other may). */
static int64_t t_commits(struct store *s, int64_t chat, int64_t user, int n)
{
	int64_t pages = 0, last = 0;

	for (int i = 0; i < n; i++) {
		assert_int_equal(store_begin(s), 0);
		t_msg(s, chat, user, 1000 + i, "checkpoint me");
		assert_int_equal(store_commit(s), 0);
		assert_int_equal(store_wal_pages(s, &pages), 0);
		assert_true(pages > last);
		last = pages;
	}
	return pages;
}

static int64_t t_count_all(const struct t_env *env)
{
	struct store *r = t_open(env, STORE_READONLY);
	int64_t n = -1;

	assert_int_equal(store_message_count(r, &n), 0);
	store_close(r);
	return n;
}

/* With the writer's own checkpoints off, the WAL only grows; a checkpoint
 * on a second handle copies it (PASSIVE: all of it with no reader in the
 * way, up to a reader's snapshot otherwise), the writer's next commit
 * starts it over, TRUNCATE leaves an empty file, and a new connection reads
 * everything back. */
static void test_checkpoint(void **state)
{
	struct t_env *env = *state;
	struct store *s = env->s;
	struct store *c = t_open(env, 0);       /* the checkpointer's handle */
	struct store *r = t_open(env, STORE_READONLY);
	struct store_message m;
	int64_t a, g, pages, wal = -1, done = -1, held, n = 0;

	assert_int_equal(store_checkpoint_manual(r), PL_INVAL);
	assert_int_equal(store_checkpoint(r, STORE_CKPT_PASSIVE, NULL, NULL), PL_INVAL);
	assert_int_equal(store_checkpoint(c, 7, NULL, NULL), PL_INVAL);
	assert_int_equal(store_checkpoint_manual(s), 0);
	assert_int_equal(store_wal_pages(s, &pages), 0);
	assert_int_equal(pages, 0); /* no commit since */
	a = t_user(s, "alice");
	g = t_chat(s, STORE_CHAT_GROUP, "g", a, 1);
	t_member(s, g, a, STORE_ROLE_CREATOR);

	/* Past SQLite's 1,000 pages, where it would have checkpointed. */
	for (pages = 0; pages <= 1000; n++) {
		held = pages;
		pages = t_commits(s, g, a, 1);
		assert_true(pages > held);
	}
	assert_true(n > 100);
	assert_int_equal(store_checkpoint(c, STORE_CKPT_PASSIVE, &wal, &done), 0);
	assert_int_equal(wal, pages);
	assert_int_equal(done, wal);
	assert_true(t_commits(s, g, a, 1) < pages); /* the WAL started over */

	/* A reader's snapshot holds a passive checkpoint back, not the writer. */
	assert_int_equal(store_read_begin(r), 0);
	assert_int_equal(store_message_get(r, g, 1, &m), 0);
	store_message_release(&m);
	held = t_commits(s, g, a, 20);
	pages = t_commits(s, g, a, 20);
	assert_int_equal(store_checkpoint(c, STORE_CKPT_PASSIVE, &wal, &done), 0);
	assert_int_equal(wal, pages);
	assert_true(done < held);
	assert_int_equal(store_read_end(r), 0);
	assert_int_equal(store_checkpoint(c, STORE_CKPT_PASSIVE, &wal, &done), 0);
	assert_int_equal(done, pages);

	/* TRUNCATE: everything in parley.db, the WAL file empty. */
	pages = t_commits(s, g, a, 30);
	assert_true(t_wal_size(env) > 0);
	assert_int_equal(store_checkpoint(c, STORE_CKPT_TRUNCATE, &wal, &done), 0);
	assert_int_equal(wal, 0);
	assert_int_equal(done, 0);
	assert_int_equal(t_wal_size(env), 0);
	n += 1 + 40 + 30;
	assert_int_equal(t_count_all(env), n);
	assert_int_equal(store_message_get(r, g, n, &m), 0);
	assert_string_equal(m.text, "checkpoint me");
	store_message_release(&m);

	/* The writer goes on in the emptied WAL. */
	assert_true(t_commits(s, g, a, 5) < pages);
	assert_int_equal(store_checkpoint(c, STORE_CKPT_RESTART, &wal, &done), 0);
	assert_int_equal(done, wal);
	assert_int_equal(t_count_all(env), n + 5);
	store_close(r);
	store_close(c);
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
	/* The same by id (a WebSocket's calls after it authenticated). */
	assert_int_equal(store_session_get(s, first, &got), 0);
	assert_int_equal(got.id, first);
	assert_int_equal(got.user_id, alice);
	assert_string_equal(got.device, "phone");
	assert_string_equal(got.token_hash, ss.token_hash);
	assert_int_equal(store_session_get(s, 9999, &got), PL_NOTFOUND);

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
	assert_int_equal(store_session_get(s, first, &got), PL_NOTFOUND); /* revoked: calls by id fail */
	assert_int_equal(store_session_get(s, second, &got), 0);
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

/* message_put's id guess: a right one is taken, a wrong one (too high, too
 * low, 0) costs a read and never gives a wrong id. */
static void test_message_put_guess(void **state)
{
	struct t_env *env = *state;
	struct store *s = env->s;
	int64_t a = t_user(s, "alice");
	int64_t g = t_chat(s, STORE_CHAT_GROUP, "g", a, 1);
	int64_t guesses[] = {1, 99, 1, 0, 5, -3};
	struct store_chat c;

	for (size_t i = 0; i < sizeof guesses / sizeof guesses[0]; i++) {
		struct store_message m = {.chat_id = g, .id = guesses[i], .sender_id = a, .date = 100};
		m.text = "guess";
		assert_int_equal(store_message_put(s, &m), 0);
		assert_int_equal(m.id, (int64_t)i + 1);
	}
	assert_int_equal(store_chat_get(s, g, &c), 0);
	assert_int_equal(c.last_msg_id, 6);
}

/* The search-key counter outlives a commit; a rollback forgets it, and a
 * message another connection inserted meanwhile does not make a put fail. */
static void test_message_gid_cache(void **state)
{
	struct t_env *env = *state;
	struct store *s = env->s, *other;
	int64_t a = t_user(s, "alice");
	int64_t g = t_chat(s, STORE_CHAT_GROUP, "g", a, 1);
	struct t_rows rows;

	assert_int_equal(store_begin(s), 0);
	t_msg(s, g, a, 500, "first word");
	assert_int_equal(store_commit(s), 0);
	assert_int_equal(store_begin(s), 0);
	t_msg(s, g, a, 500, "second word");
	assert_int_equal(store_rollback(s), 0);
	assert_int_equal(store_begin(s), 0);
	t_msg(s, g, a, 500, "third word");
	assert_int_equal(store_commit(s), 0);

	other = t_open(env, 0); /* takes the key the writer would count on to */
	t_msg(other, g, a, 500, "fourth word");
	store_close(other);
	assert_int_equal(store_begin(s), 0);
	t_msg(s, g, a, 500, "fifth word");
	assert_int_equal(store_commit(s), 0);
	rows = t_search(s, a, g, "word", 0, 0, 0, 10);
	assert_int_equal(rows.n, 4);
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
	assert_true(r.chat[3] == g2 && r.id[3] == 1); /* date 100: the later message first */
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

/* Expected search order: (date, commit order) descending. */
static int t_cmp_desc(const void *pa, const void *pb)
{
	const int64_t *a = pa, *b = pb;

	for (int i = 0; i < 2; i++)
		if (a[i] != b[i])
			return a[i] < b[i] ? 1 : -1;
	return 0;
}

/* Search order and paging with dates out of insertion order, many messages
 * per date across chats, a reopen in between and every page size: newest
 * date first, and within a date the message stored last first. */
static void test_search_order(void **state)
{
	struct t_env *env = *state;
	int64_t a = t_user(env->s, "alice");
	int64_t g[3];
	int64_t want[90][4];     /* date, put order, chat, id */
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
			want[nwant][1] = i;
			want[nwant][2] = chat;
			want[nwant][3] = id;
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
				assert_int_equal(r.chat[k], want[seen][2]);
				assert_int_equal(r.id[k], want[seen][3]);
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
			if (want[i][2] != g[1])
				continue;
			assert_int_equal(r.id[k], want[i][3]);
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

/* changes() counts what the open transaction changed; once read outside a
 * mark, ops open no savepoint of their own, and one that fails after a
 * change leaves the transaction broken (only rollback may follow) instead
 * of undoing itself. */
static void test_changes_bare(void **state)
{
	struct t_env *env = *state;
	struct store *s = env->s;
	int64_t a = t_user(s, "alice");
	int64_t g = t_chat(s, STORE_CHAT_GROUP, "g", a, 1);
	struct store_message m = {.chat_id = g, .sender_id = a, .date = 20, .text = (char *)"clash"};
	struct store_chat c;
	char path[160];
	uint64_t n0, n1;
	sqlite3 *db;

	t_member(s, g, a, STORE_ROLE_CREATOR);
	assert_int_equal(store_changes(s, &n0), PL_IO); /* no transaction */
	assert_int_equal(t_msg(s, g, a, 10, "one"), 1);
	/* Make the next message_put fail after its first write: the chat's
	 * counter says 0, so it advances it, then clashes with message 1. */
	snprintf(path, sizeof(path), "%s/parley.db", env->dir);
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "UPDATE chats SET last_msg_id = 0", NULL, NULL, NULL), SQLITE_OK);
	/* And chat_set_large fail at its second write (the members rows). */
	assert_int_equal(sqlite3_exec(db, "CREATE TRIGGER t_no_large BEFORE UPDATE OF large ON members"
				      " BEGIN SELECT RAISE(ABORT, 'test'); END;", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);

	/* Each op in its savepoint: the failed op is undone, the rest goes on. */
	assert_int_equal(store_begin(s), 0);
	assert_int_equal(store_message_put(s, &m), PL_EXISTS);
	assert_int_equal(store_commit(s), 0);
	assert_int_equal(store_chat_get(s, g, &c), 0);
	assert_int_equal(c.last_msg_id, 0);
	assert_int_equal(c.last_date, 10);

	/* Bare: what changed is counted, rows and queued index updates. */
	assert_int_equal(store_begin(s), 0);
	assert_int_equal(store_changes(s, &n0), 0);
	assert_int_equal(store_message_put(s, &(struct store_message){.chat_id = 999, .sender_id = a, .date = 30,
								       .text = (char *)"nowhere"}),
			 PL_NOTFOUND); /* fails before any change */
	assert_int_equal(store_changes(s, &n1), 0);
	assert_int_equal(n1, n0);
	assert_int_equal(store_user_set_last_seen(s, a, 40), 0);
	assert_int_equal(store_changes(s, &n1), 0);
	assert_true(n1 > n0);
	/* An append that clashes fails before any change (inside a transaction
	 * the chat's row is only noted once the message is in). */
	assert_int_equal(store_changes(s, &n0), 0);
	assert_int_equal(store_message_put(s, &m), PL_EXISTS);
	assert_int_equal(store_changes(s, &n1), 0);
	assert_int_equal(n1, n0);
	/* A failure after a change: broken until rolled back. */
	assert_true(store_chat_set_large(s, g) < 0);
	assert_int_equal(store_changes(s, &n1), PL_IO);
	assert_int_equal(store_commit(s), PL_IO);
	assert_int_equal(store_rollback(s), 0);
	assert_int_equal(store_chat_get(s, g, &c), 0);
	assert_int_equal(c.last_msg_id, 0);

	/* A mark inside a bare transaction brings the op savepoints back. */
	assert_int_equal(store_begin(s), 0);
	assert_int_equal(store_changes(s, &n0), 0);
	assert_int_equal(store_mark(s), 0);
	assert_int_equal(store_message_put(s, &m), PL_EXISTS);
	assert_int_equal(store_release(s), 0);
	assert_int_equal(store_changes(s, &n1), 0);
	assert_int_equal(store_commit(s), 0);
}

/* chats.last_msg_id / last_date / last_gid of chat as committed, and the
 * search key of the message last_msg_id names, read by a connection of its
 * own. */
static void t_chat_row(const struct t_env *env, int64_t chat, int64_t out[4])
{
	char path[160];
	sqlite3 *db;
	sqlite3_stmt *q;

	snprintf(path, sizeof(path), "%s/parley.db", env->dir);
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, "SELECT last_msg_id, last_date, last_gid, (SELECT gid FROM messages"
					    " WHERE chat_id = ?1 AND id = last_msg_id) FROM chats WHERE id = ?1", -1,
					    &q, NULL), SQLITE_OK);
	sqlite3_bind_int64(q, 1, chat);
	assert_int_equal(sqlite3_step(q), SQLITE_ROW);
	for (int i = 0; i < 4; i++)
		out[i] = sqlite3_column_int64(q, i);
	sqlite3_finalize(q);
	sqlite3_close(db);
}

/* Inside a transaction an append notes its chat's newest message and
 * writes the chats row once: before the commit, before a mark, before a
 * statement that reads chats, and outside the savepoint of an op that is
 * then undone; an undo or rollback drops the notes with the rows. */
static void test_chat_notes(void **state)
{
	struct t_env *env = *state;
	struct store *s = env->s;
	int64_t a = t_user(s, "alice");
	int64_t g = t_chat(s, STORE_CHAT_GROUP, "g", a, 1), h = t_chat(s, STORE_CHAT_GROUP, "h", a, 1);
	int64_t row[4], n;
	struct t_rows r = {0};
	struct store_message m;
	char path[160];
	sqlite3 *db;

	t_member(s, g, a, STORE_ROLE_CREATOR);
	t_member(s, h, a, STORE_ROLE_CREATOR);
	assert_int_equal(t_msg(s, g, a, 10, "one"), 1);

	/* Written once, at the commit, with the newest message's values. */
	assert_int_equal(store_begin(s), 0);
	assert_int_equal(t_msg(s, g, a, 11, "two"), 2);
	assert_int_equal(t_msg(s, h, a, 12, "h one"), 1);
	assert_int_equal(t_msg(s, g, a, 13, "three"), 3);
	t_chat_row(env, g, row);
	assert_int_equal(row[0], 1); /* not committed yet */
	/* A read of chats on the writer sees the notes: dialogs by recency
	 * (g's newest is later than h's), the message count. */
	assert_int_equal(store_dialog_list(s, a, 0, 0, 10, t_collect_dialog, &r), 0);
	assert_int_equal(r.n, 2);
	assert_int_equal(r.id[0], g);
	assert_int_equal(r.date[0], 13);
	assert_int_equal(r.id[1], h);
	assert_int_equal(store_message_count(s, &n), 0);
	assert_int_equal(n, 4);
	assert_int_equal(t_msg(s, h, a, 14, "h two"), 2);
	assert_int_equal(store_commit(s), 0);
	t_chat_row(env, g, row);
	assert_int_equal(row[0], 3);
	assert_int_equal(row[1], 13);
	assert_int_equal(row[2], row[3]);
	assert_true(row[2] > 0);
	t_chat_row(env, h, row);
	assert_int_equal(row[0], 2);
	assert_int_equal(row[1], 14);

	/* Undo to a mark drops the notes taken after it; the mark wrote the
	 * older ones.  A rollback drops them all. */
	assert_int_equal(store_begin(s), 0);
	assert_int_equal(t_msg(s, g, a, 20, "four"), 4);
	assert_int_equal(store_mark(s), 0);
	assert_int_equal(t_msg(s, g, a, 21, "five"), 5);
	assert_int_equal(t_msg(s, g, a, 22, "six"), 6);
	assert_int_equal(store_undo(s), 0);
	assert_int_equal(t_msg(s, g, a, 23, "five again"), 5);
	assert_int_equal(store_commit(s), 0);
	t_chat_row(env, g, row);
	assert_int_equal(row[0], 5);
	assert_int_equal(row[1], 23);
	assert_int_equal(row[2], row[3]);
	assert_int_equal(store_begin(s), 0);
	assert_int_equal(t_msg(s, g, a, 30, "gone"), 6);
	assert_int_equal(store_rollback(s), 0);
	assert_int_equal(store_begin(s), 0);
	assert_int_equal(t_msg(s, g, a, 31, "six"), 6);
	assert_int_equal(store_commit(s), 0);
	t_chat_row(env, g, row);
	assert_int_equal(row[0], 6);
	assert_int_equal(row[1], 31);

	/* An op that fails inside its own savepoint after a change is undone;
	 * the notes taken before it survive (they are written before the op's
	 * savepoint opens). */
	snprintf(path, sizeof(path), "%s/parley.db", env->dir);
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "CREATE TRIGGER t_no_large BEFORE UPDATE OF large ON members"
				      " BEGIN SELECT RAISE(ABORT, 'test'); END;", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	assert_int_equal(store_begin(s), 0);
	assert_int_equal(store_mark(s), 0);
	assert_int_equal(t_msg(s, g, a, 40, "seven"), 7);
	assert_true(store_chat_set_large(s, h) < 0);
	assert_int_equal(t_msg(s, g, a, 41, "eight"), 8);
	assert_int_equal(store_release(s), 0);
	assert_int_equal(store_commit(s), 0);
	t_chat_row(env, g, row);
	assert_int_equal(row[0], 8);
	assert_int_equal(row[1], 41);
	/* An append to a chat that does not exist fails with nothing noted. */
	assert_int_equal(store_begin(s), 0);
	m = (struct store_message){.chat_id = 999, .sender_id = a, .date = 50, .text = (char *)"x"};
	assert_int_equal(store_message_put(s, &m), PL_NOTFOUND);
	assert_int_equal(store_commit(s), 0);
	/* Outside a transaction the row is written at once. */
	assert_int_equal(t_msg(s, g, a, 60, "nine"), 9);
	t_chat_row(env, g, row);
	assert_int_equal(row[0], 9);
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

/* ---- ordering within one second ---- */

/* Two chats whose last messages share a second: the chat of the later
 * message comes first whatever the chat ids, and the paging cursor
 * (offset_date, offset_chat) continues after the chat it names. */
static void test_dialogs_same_second(void **state)
{
	struct t_env *env = *state;
	struct store *s = env->s;
	int64_t a = t_user(s, "alice");
	int64_t g[4];
	struct t_rows r = {0};

	for (int i = 0; i < 4; i++) {
		char name[8];

		snprintf(name, sizeof(name), "g%d", i);
		g[i] = t_chat(s, STORE_CHAT_GROUP, name, a, 10);
		t_member(s, g[i], a, STORE_ROLE_MEMBER);
	}
	/* Same second, put in the order g3, g2, g0, g1 (g1's is the latest). */
	t_msg(s, g[3], a, 500, "x");
	t_msg(s, g[2], a, 500, "x");
	assert_int_equal(store_begin(s), 0);
	t_msg(s, g[0], a, 500, "x");
	t_msg(s, g[1], a, 500, "x");
	assert_int_equal(store_commit(s), 0);

	assert_int_equal(store_dialog_list(s, a, 0, 0, 10, t_collect_dialog, &r), 0);
	assert_int_equal(r.n, 4);
	assert_int_equal(r.id[0], g[1]);
	assert_int_equal(r.id[1], g[0]);
	assert_int_equal(r.id[2], g[2]);
	assert_int_equal(r.id[3], g[3]);
	/* Paging one at a time walks the same order. */
	{
		int64_t od = 0, oc = 0;

		for (int k = 0; k < 4; k++) {
			memset(&r, 0, sizeof(r));
			assert_int_equal(store_dialog_list(s, a, od, oc, 1, t_collect_dialog, &r), 0);
			assert_int_equal(r.n, 1);
			assert_int_equal(r.id[0], g[k == 0 ? 1 : k == 1 ? 0 : k]);
			od = r.date[0];
			oc = r.id[0];
		}
		memset(&r, 0, sizeof(r));
		assert_int_equal(store_dialog_list(s, a, od, oc, 1, t_collect_dialog, &r), 0);
		assert_int_equal(r.n, 0);
	}
	/* A reopen keeps the order (keys are stored, not counted in memory). */
	store_close(env->s);
	env->s = s = t_open(env, 0);
	t_msg(s, g[3], a, 500, "x");            /* g3 now latest of the second */
	memset(&r, 0, sizeof(r));
	assert_int_equal(store_dialog_list(s, a, 0, 0, 10, t_collect_dialog, &r), 0);
	assert_int_equal(r.n, 4);
	assert_int_equal(r.id[0], g[3]);
	assert_int_equal(r.id[1], g[1]);
	/* A cursor whose chat has moved since falls back to the end of its
	 * second: chats of that second may repeat, none is skipped. */
	memset(&r, 0, sizeof(r));
	assert_int_equal(store_dialog_list(s, a, 400, g[3], 10, t_collect_dialog, &r), 0);
	assert_int_equal(r.n, 0);
	memset(&r, 0, sizeof(r));
	assert_int_equal(store_dialog_list(s, a, 500, 9999, 10, t_collect_dialog, &r), 0);
	assert_int_equal(r.n, 4);
	/* A chat without messages sorts by its creation second, below the
	 * messages of that second. */
	{
		int64_t e = t_chat(s, STORE_CHAT_GROUP, "empty", a, 500);

		t_member(s, e, a, STORE_ROLE_MEMBER);
		memset(&r, 0, sizeof(r));
		assert_int_equal(store_dialog_list(s, a, 0, 0, 10, t_collect_dialog, &r), 0);
		assert_int_equal(r.n, 5);
		assert_int_equal(r.id[4], e);
		assert_int_equal(r.date[4], 500);
	}
}

/* Hits within one second come newest first by commit order, in all chats and
 * in one, and the offset triple continues after the message it names. */
static void test_search_same_second(void **state)
{
	struct t_env *env = *state;
	struct store *s = env->s;
	int64_t a = t_user(s, "alice");
	int64_t g1 = t_chat(s, STORE_CHAT_GROUP, "g1", a, 1);
	int64_t g2 = t_chat(s, STORE_CHAT_GROUP, "g2", a, 1);
	struct t_rows r;

	t_member(s, g1, a, STORE_ROLE_MEMBER);
	t_member(s, g2, a, STORE_ROLE_MEMBER);
	t_msg(s, g2, a, 700, "needle early");   /* g2#1 */
	t_msg(s, g1, a, 700, "needle late");    /* g1#1: later, lower chat id */
	t_msg(s, g2, a, 700, "needle last");    /* g2#2 */
	t_msg(s, g2, a, 699, "needle before");  /* g2#3: an earlier second */

	r = t_search(s, a, 0, "needle", 0, 0, 0, 10);
	assert_int_equal(r.n, 4);
	assert_true(r.chat[0] == g2 && r.id[0] == 2);
	assert_true(r.chat[1] == g1 && r.id[1] == 1);
	assert_true(r.chat[2] == g2 && r.id[2] == 1);
	assert_true(r.chat[3] == g2 && r.id[3] == 3);
	r = t_search(s, a, 0, "needle", 700, g2, 2, 1);
	assert_int_equal(r.n, 1);
	assert_true(r.chat[0] == g1 && r.id[0] == 1);
	r = t_search(s, a, 0, "needle", 700, g1, 1, 10);
	assert_int_equal(r.n, 2);
	assert_true(r.chat[0] == g2 && r.id[0] == 1);
	r = t_search(s, a, g2, "needle", 0, 0, 0, 10);
	assert_int_equal(r.n, 3);
	assert_int_equal(r.id[0], 2);
	assert_int_equal(r.id[1], 1);
	assert_int_equal(r.id[2], 3);
	/* A deleted offset message still names its place. */
	assert_int_equal(store_message_delete(s, g1, 1), 0);
	r = t_search(s, a, 0, "needle", 700, g1, 1, 10);
	assert_int_equal(r.n, 2);
	assert_true(r.chat[0] == g2 && r.id[0] == 1);
	/* A triple naming no message: everything up to the end of its second. */
	r = t_search(s, a, 0, "needle", 699, 9999, 1, 10);
	assert_int_equal(r.n, 1);
	assert_int_equal(r.id[0], 3);
}

/* ---- update logs ---- */

/* Updates collected by a range callback. */
struct t_updates {
	int n;
	int64_t pts[T_MAX_ROWS];
	char body[T_MAX_ROWS][32];
	size_t len[T_MAX_ROWS];
};

static int t_collect_update(void *ctx, int64_t pts, const char *body, size_t len)
{
	struct t_updates *u = ctx;

	assert_true(u->n < T_MAX_ROWS);
	assert_non_null(body);
	u->pts[u->n] = pts;
	u->len[u->n] = len;
	memcpy(u->body[u->n], body, len < sizeof(u->body[0]) ? len : sizeof(u->body[0]) - 1);
	u->n++;
	return 0;
}

static int64_t t_payload(struct store *s, const char *body, int64_t date)
{
	int64_t id = -1;

	assert_int_equal(store_payload_put(s, body, strlen(body), date, 0, 0, &id), 0);
	assert_true(id > 0);
	return id;
}

static struct t_updates t_user_range(struct store *s, int64_t user, int64_t after, int limit)
{
	struct t_updates u = {0};

	assert_int_equal(store_update_user_range(s, user, after, limit, t_collect_update, &u), 0);
	return u;
}

static struct t_updates t_chat_range(struct store *s, int64_t chat, int64_t after, int limit)
{
	struct t_updates u = {0};

	assert_int_equal(store_update_chat_range(s, chat, after, limit, t_collect_update, &u), 0);
	return u;
}

/* Per-user sequences: 1, 2, 3, ... for each user, no gaps, interleaved,
 * inside and outside transactions, across undo and reopen. */
static void test_user_log(void **state)
{
	struct t_env *env = *state;
	struct store *s = env->s;
	int64_t u[3] = {t_user(s, "alice"), t_user(s, "bob"), t_user(s, "carol")};
	int64_t next[3] = {1, 1, 1};
	int64_t pts, min, p;
	struct t_updates r;
	char body[32];

	/* A user who never had an update. */
	assert_int_equal(store_update_user_state(s, u[0], &pts, &min), 0);
	assert_int_equal(pts, 0);
	assert_int_equal(min, 1);
	r = t_user_range(s, u[0], 0, 10);
	assert_int_equal(r.n, 0);

	for (int i = 0; i < 300; i++) {
		if (i % 50 == 0)
			assert_int_equal(store_begin(s), 0);
		if (i == 150) {                      /* a reopen halfway */
			assert_int_equal(store_commit(s), 0);
			store_close(env->s);
			env->s = s = t_open(env, 0);
			assert_int_equal(store_begin(s), 0);
		}
		snprintf(body, sizeof(body), "{\"n\":%d}", i);
		p = t_payload(s, body, 1000 + i);
		for (int k = 0; k < 3; k++) {
			if ((i + k) % 3 == 0 && k != 0)
				continue;            /* not every user gets every update */
			assert_int_equal(store_update_user_append(s, u[k], p, 1000 + i, &pts), 0);
			assert_int_equal(pts, next[k]);
			next[k]++;
		}
		if (i % 50 == 49)
			assert_int_equal(store_commit(s), 0);
	}
	/* An undone request gives its numbers back: no gap is ever visible. */
	assert_int_equal(store_begin(s), 0);
	assert_int_equal(store_mark(s), 0);
	p = t_payload(s, "undone", 2000);
	assert_int_equal(store_update_user_append(s, u[0], p, 2000, &pts), 0);
	assert_int_equal(pts, next[0]);
	assert_int_equal(store_undo(s), 0);
	assert_int_equal(store_mark(s), 0);
	p = t_payload(s, "kept", 2001);
	assert_int_equal(store_update_user_append(s, u[0], p, 2001, &pts), 0);
	assert_int_equal(pts, next[0]);
	next[0]++;
	assert_int_equal(store_release(s), 0);
	assert_int_equal(store_commit(s), 0);

	for (int k = 0; k < 3; k++) {
		int64_t seen = 0;

		assert_int_equal(store_update_user_state(s, u[k], &pts, &min), 0);
		assert_int_equal(pts, next[k] - 1);
		assert_int_equal(min, 1);
		/* Replayed in pages: every pts once, in order. */
		for (;;) {
			r = t_user_range(s, u[k], seen, 37);
			for (int j = 0; j < r.n; j++)
				assert_int_equal(r.pts[j], seen + 1 + j);
			seen += r.n;
			if (r.n < 37)
				break;
		}
		assert_int_equal(seen, pts);
	}
	r = t_user_range(s, u[0], 0, 2);
	assert_int_equal(r.n, 2);
	assert_string_equal(r.body[0], "{\"n\":0}");
	assert_int_equal(r.len[0], 7);
	assert_string_equal(r.body[1], "{\"n\":1}");
	r = t_user_range(s, u[0], next[0] - 2, 10);
	assert_int_equal(r.n, 1);
	assert_string_equal(r.body[0], "kept");
	r = t_user_range(s, u[0], 0, 0);
	assert_int_equal(r.n, 0);

	/* Unknown users and payloads are refused; nothing is counted. */
	p = t_payload(s, "x", 3000);
	assert_int_equal(store_update_user_append(s, 9999, p, 3000, &pts), PL_NOTFOUND);
	assert_int_equal(store_update_user_state(s, 9999, &pts, &min), PL_NOTFOUND);
	assert_int_equal(store_update_user_append(s, u[1], p + 100, 3000, &pts), PL_NOTFOUND);
	assert_int_equal(store_update_user_append(s, u[1], p, 3000, &pts), 0);
	assert_int_equal(pts, next[1]);
	assert_int_equal(store_begin(s), 0);     /* the same inside a transaction */
	assert_int_equal(store_update_user_append(s, u[1], p + 100, 3000, &pts), PL_NOTFOUND);
	assert_int_equal(store_update_user_append(s, 9999, p, 3000, &pts), PL_NOTFOUND);
	assert_int_equal(store_update_user_append(s, u[1], p, 3000, &pts), 0);
	assert_int_equal(pts, next[1] + 1);
	assert_int_equal(store_commit(s), 0);
	r = t_user_range(s, u[1], next[1] - 2, 10);
	assert_int_equal(r.n, 3);
	for (int j = 0; j < 3; j++)
		assert_int_equal(r.pts[j], next[1] - 1 + j);
	assert_int_equal(store_update_user_state(s, u[1], &pts, &min), 0);
	assert_int_equal(pts, next[1] + 1);

	/* Bodies are bytes: embedded NULs and empty bodies come back exactly. */
	assert_int_equal(store_payload_put(s, "a\0b", 3, 3000, 0, 0, &p), 0);
	assert_int_equal(store_update_user_append(s, u[2], p, 3000, &pts), 0);
	assert_int_equal(store_payload_put(s, NULL, 0, 3000, 0, 0, &p), 0);
	assert_int_equal(store_update_user_append(s, u[2], p, 3000, &pts), 0);
	r = t_user_range(s, u[2], next[2] - 1, 10);
	assert_int_equal(r.n, 2);
	assert_int_equal(r.len[0], 3);
	assert_memory_equal(r.body[0], "a\0b", 3);
	assert_int_equal(r.len[1], 0);
	assert_int_equal(store_payload_put(s, NULL, 1, 3000, 0, 0, &p), PL_INVAL);
}

/* Per-chat sequences (chats.pts), and the readers' view of them. */
static void test_chat_log(void **state)
{
	struct t_env *env = *state;
	struct store *s = env->s;
	struct store *rd = t_open(env, STORE_READONLY);
	int64_t a = t_user(s, "alice");
	int64_t c1 = t_chat(s, STORE_CHAT_CHANNEL, "news", a, 1);
	int64_t c2 = t_chat(s, STORE_CHAT_CHANNEL, "sport", a, 1);
	int64_t pts, min, p;
	struct t_updates r;

	assert_int_equal(store_update_chat_state(s, c1, &pts, &min), 0);
	assert_int_equal(pts, 0);
	assert_int_equal(min, 1);
	assert_int_equal(store_begin(s), 0);
	for (int i = 1; i <= 40; i++) {
		p = t_payload(s, "post", 100 + i);
		assert_int_equal(store_update_chat_append(s, c1, p, 100 + i, &pts), 0);
		assert_int_equal(pts, i);
		if (i % 4 == 0) {
			assert_int_equal(store_update_chat_append(s, c2, p, 100 + i, &pts), 0);
			assert_int_equal(pts, i / 4);
		}
	}
	/* Readers see nothing before the commit. */
	assert_int_equal(store_update_chat_state(rd, c1, &pts, &min), 0);
	assert_int_equal(pts, 0);
	assert_int_equal(store_commit(s), 0);
	assert_int_equal(store_update_chat_state(rd, c1, &pts, &min), 0);
	assert_int_equal(pts, 40);
	assert_int_equal(min, 1);
	assert_int_equal(store_update_chat_state(rd, c2, &pts, &min), 0);
	assert_int_equal(pts, 10);
	r = t_chat_range(rd, c1, 35, 3);
	assert_int_equal(r.n, 3);
	assert_int_equal(r.pts[0], 36);
	assert_int_equal(r.pts[2], 38);
	r = t_chat_range(rd, c2, 0, 100);
	assert_int_equal(r.n, 10);
	assert_int_equal(r.pts[9], 10);
	r = t_chat_range(rd, c1, 40, 100);
	assert_int_equal(r.n, 0);
	store_close(rd);

	/* Continues after a reopen. */
	store_close(env->s);
	env->s = s = t_open(env, 0);
	p = t_payload(s, "again", 200);
	assert_int_equal(store_update_chat_append(s, c1, p, 200, &pts), 0);
	assert_int_equal(pts, 41);
	/* Unknown chats and payloads are refused. */
	assert_int_equal(store_update_chat_append(s, 9999, p, 200, &pts), PL_NOTFOUND);
	assert_int_equal(store_update_chat_state(s, 9999, &pts, &min), PL_NOTFOUND);
	assert_int_equal(store_update_chat_append(s, c1, p + 100, 200, &pts), PL_NOTFOUND);
	assert_int_equal(store_update_chat_state(s, c1, &pts, &min), 0);
	assert_int_equal(pts, 41);
	assert_int_equal(store_begin(s), 0);
	assert_int_equal(store_update_chat_append(s, c1, p + 100, 200, &pts), PL_NOTFOUND);
	assert_int_equal(store_update_chat_append(s, c1, p, 200, &pts), 0);
	assert_int_equal(pts, 42);
	assert_int_equal(store_commit(s), 0);
	r = t_chat_range(s, c1, 39, 10);
	assert_int_equal(r.n, 3);
	assert_int_equal(r.pts[2], 42);
}

/* Pruning: old rows go in bounded steps, recent rows and the payloads they
 * refer to stay, and min_kept follows. */
/* Deleting a message for everyone redacts every stored update carrying it,
 * and only those. */
static void test_payload_redact(void **state)
{
	struct t_env *env = *state;
	struct store *s = env->s;
	int64_t a = t_user(s, "alice");
	int64_t p1, p2, p3, pts;
	struct t_updates r;

	assert_int_equal(store_payload_put(s, "{\"text\":\"secret\"}", 17, 100, 7, 1, &p1), 0);
	assert_int_equal(store_payload_put(s, "{\"text\":\"secret edited\"}", 24, 100, 7, 1, &p2), 0);
	assert_int_equal(store_payload_put(s, "{\"text\":\"other\"}", 16, 100, 7, 2, &p3), 0);
	assert_int_equal(store_update_user_append(s, a, p1, 100, &pts), 0);
	assert_int_equal(store_update_user_append(s, a, p2, 100, &pts), 0);
	assert_int_equal(store_update_user_append(s, a, p3, 100, &pts), 0);
	assert_int_equal(store_payload_redact(s, 7, 1, "{\"type\":\"redacted\"}", 19), 0);
	r = t_user_range(s, a, 0, 10);
	assert_int_equal(r.n, 3);
	assert_string_equal(r.body[0], "{\"type\":\"redacted\"}");
	assert_string_equal(r.body[1], "{\"type\":\"redacted\"}");
	assert_string_equal(r.body[2], "{\"text\":\"other\"}");
	assert_int_equal(store_payload_redact(s, 0, 1, "x", 1), PL_INVAL);
}

/* A private chat's update is one payload with two views: the first
 * member's row reads the body, the second's the body with one value
 * replaced.  A row asking for the second view of a payload without one
 * (an old row, a redacted payload) reads the body; redaction and pruning
 * reach both views. */
static void test_payload_views(void **state)
{
	struct t_env *env = *state;
	struct store *s = env->s;
	int64_t a = t_user(s, "alice"), b = t_user(s, "bob");
	static const char body[] = "{\"chat\":1,\"t\":\"hi\"}";
	struct store_view v = {"22", 2, 8, 9};
	struct store_view bad = {"22", 2, 9, 8};
	int64_t p, plain, pts, n;
	struct t_updates r;

	assert_int_equal(store_payload_put_view(s, body, strlen(body), &v, 100, 7, 1, &p), 0);
	assert_int_equal(store_update_user_append_view(s, a, p, 0, 100, &pts), 0);
	assert_int_equal(store_update_user_append_view(s, b, p, 1, 100, &pts), 0);
	plain = t_payload(s, "{\"chat\":3}", 100);
	assert_int_equal(store_update_user_append_view(s, b, plain, 1, 100, &pts), 0);
	r = t_user_range(s, a, 0, 10);
	assert_int_equal(r.n, 1);
	assert_string_equal(r.body[0], "{\"chat\":1,\"t\":\"hi\"}");
	r = t_user_range(s, b, 0, 10);
	assert_int_equal(r.n, 2);
	assert_string_equal(r.body[0], "{\"chat\":22,\"t\":\"hi\"}");
	assert_int_equal(r.len[0], strlen(body) + 1);
	assert_string_equal(r.body[1], "{\"chat\":3}");
	/* Views that do not fit the body, and unknown views, are refused. */
	assert_int_equal(store_payload_put_view(s, body, strlen(body), &bad, 100, 7, 1, &p), PL_INVAL);
	bad.from = 8;
	bad.to = strlen(body) + 1;
	assert_int_equal(store_payload_put_view(s, body, strlen(body), &bad, 100, 7, 1, &p), PL_INVAL);
	assert_int_equal(store_update_user_append_view(s, a, plain, 2, 100, &pts), PL_INVAL);
	/* An empty value, at the very end. */
	v.val = NULL;
	v.len = 0;
	v.from = 1;
	v.to = strlen(body);
	assert_int_equal(store_payload_put_view(s, body, strlen(body), &v, 100, 7, 2, &p), 0);
	assert_int_equal(store_update_user_append_view(s, b, p, 1, 100, &pts), 0);
	r = t_user_range(s, b, 2, 10);
	assert_int_equal(r.n, 1);
	assert_string_equal(r.body[0], "{");
	/* Redaction reaches both views of message 1. */
	assert_int_equal(store_payload_redact(s, 7, 1, "{\"type\":\"redacted\"}", 19), 0);
	r = t_user_range(s, a, 0, 10);
	assert_string_equal(r.body[0], "{\"type\":\"redacted\"}");
	r = t_user_range(s, b, 0, 10);
	assert_int_equal(r.n, 3);
	assert_string_equal(r.body[0], "{\"type\":\"redacted\"}");
	assert_string_equal(r.body[2], "{");
	/* Pruning removes both rows, then the shared payload. */
	assert_int_equal(store_update_prune(s, 1000, 100, &n), 0);
	assert_int_equal(n, 4 + 3);
	assert_int_equal(t_user_range(s, a, 0, 10).n, 0);
	assert_int_equal(t_user_range(s, b, 0, 10).n, 0);
}

/* A store from before the second view (version 9): its rows read their
 * bodies after the migration, and new rows can use views; the payloads'
 * date index is dropped (migration 11). */
static void test_migrate_payload_views(void **state)
{
	struct t_env *env = *state;
	char path[160];
	sqlite3 *db;
	sqlite3_stmt *q;
	int64_t a = t_user(env->s, "alice"), p, pts;
	struct store_view v = {"2", 1, 8, 9};
	struct t_updates r;
	int cur = 0, latest = 0;

	p = t_payload(env->s, "{\"chat\":1}", 100);
	assert_int_equal(store_update_user_append(env->s, a, p, 100, &pts), 0);
	store_close(env->s);
	snprintf(path, sizeof(path), "%s/parley.db", env->dir);
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "ALTER TABLE user_updates DROP COLUMN view;"
				      "ALTER TABLE update_payloads DROP COLUMN alt;"
				      "ALTER TABLE update_payloads DROP COLUMN alt_from;"
				      "ALTER TABLE update_payloads DROP COLUMN alt_to;"
				      "CREATE INDEX update_payloads_date ON update_payloads(date);"
				      T_BEFORE_12
				      "PRAGMA user_version = 9;", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	env->s = t_open(env, 0);
	/* The store says which schema it has and which migrate brings it to
	 * (parleyd logs a migration before it runs it). */
	assert_int_equal(store_schema(env->s, &cur, &latest), 0);
	assert_int_equal(cur, 9);
	assert_true(latest >= 11);
	assert_int_equal(store_migrate(env->s), 0);
	assert_int_equal(store_schema(env->s, &cur, &latest), 0);
	assert_int_equal(cur, latest);
	r = t_user_range(env->s, a, 0, 10);
	assert_int_equal(r.n, 1);
	assert_string_equal(r.body[0], "{\"chat\":1}");
	/* Migration 11: no date index on payloads any more. */
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, "SELECT count(*) FROM sqlite_master WHERE name = 'update_payloads_date'",
					    -1, &q, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(q), SQLITE_ROW);
	assert_int_equal(sqlite3_column_int(q, 0), 0);
	sqlite3_finalize(q);
	sqlite3_close(db);
	assert_int_equal(store_payload_put_view(env->s, "{\"chat\":1}", 10, &v, 100, 0, 0, &p), 0);
	assert_int_equal(store_update_user_append_view(env->s, a, p, 1, 100, &pts), 0);
	r = t_user_range(env->s, a, 1, 10);
	assert_int_equal(r.n, 1);
	assert_string_equal(r.body[0], "{\"chat\":2}");
}

static void test_update_prune(void **state)
{
	struct t_env *env = *state;
	struct store *s = env->s;
	int64_t a = t_user(s, "alice"), b = t_user(s, "bob");
	int64_t ch = t_chat(s, STORE_CHAT_CHANNEL, "news", a, 1);
	int64_t pts, min, n, total, p_old, p_mixed, p_new, p_late;
	struct t_updates r;

	assert_int_equal(store_update_prune(s, 1000, 10, &n), 0);
	assert_int_equal(n, 0);
	/* Dated 100: a#1, b#1, ch#1 share one payload. */
	p_old = t_payload(s, "old", 100);
	assert_int_equal(store_update_user_append(s, a, p_old, 100, &pts), 0);
	assert_int_equal(store_update_user_append(s, b, p_old, 100, &pts), 0);
	assert_int_equal(store_update_chat_append(s, ch, p_old, 100, &pts), 0);
	/* An old payload that a recent row (a#2, dated 300) still refers to. */
	p_mixed = t_payload(s, "mixed", 100);
	assert_int_equal(store_update_user_append(s, b, p_mixed, 100, &pts), 0);   /* b#2 */
	assert_int_equal(store_update_user_append(s, a, p_mixed, 300, &pts), 0);   /* a#2 */
	/* A payload that never went to any log. */
	t_payload(s, "orphan", 100);
	/* Dated 300. */
	p_new = t_payload(s, "new", 300);
	assert_int_equal(store_update_user_append(s, a, p_new, 300, &pts), 0);     /* a#3 */
	assert_int_equal(store_update_chat_append(s, ch, p_new, 300, &pts), 0);   /* ch#2 */
	/* Behind it, one dated earlier (the clock went back): it waits until
	 * the walk gets past p_new. */
	p_late = t_payload(s, "behind", 150);
	assert_int_equal(store_update_user_append(s, b, p_late, 150, &pts), 0);    /* b#3 */

	/* Before 200: a#1, b#1, b#2, ch#1, then p_old; b#3 waits behind
	 * p_new, and the orphan behind p_mixed (a#2 keeps it: no payload at
	 * or above the lowest one a log still refers to goes). */
	assert_int_equal(store_update_prune(s, 200, 100, &n), 0);
	assert_int_equal(n, 5);
	assert_int_equal(store_update_prune(s, 200, 100, &n), 0);
	assert_int_equal(n, 0);
	assert_int_equal(store_update_user_state(s, a, &pts, &min), 0);
	assert_int_equal(pts, 3);
	assert_int_equal(min, 2);
	assert_int_equal(store_update_user_state(s, b, &pts, &min), 0);
	assert_int_equal(pts, 3);
	assert_int_equal(min, 3);
	assert_int_equal(store_update_chat_state(s, ch, &pts, &min), 0);
	assert_int_equal(pts, 2);
	assert_int_equal(min, 2);
	r = t_user_range(s, a, 0, 10);
	assert_int_equal(r.n, 2);
	assert_int_equal(r.pts[0], 2);
	assert_string_equal(r.body[0], "mixed");
	assert_string_equal(r.body[1], "new");
	r = t_chat_range(s, ch, 0, 10);
	assert_int_equal(r.n, 1);
	assert_string_equal(r.body[0], "new");
	/* Sequences go on after pruning, never reused. */
	assert_int_equal(store_update_user_append(s, b, p_new, 300, &pts), 0);
	assert_int_equal(pts, 4);

	/* At most limit per call (rows, then payloads), oldest first. */
	assert_int_equal(store_begin(s), 0);
	for (int i = 0; i < 50; i++) {
		int64_t p = t_payload(s, "bulk", 400 + i);

		assert_int_equal(store_update_user_append(s, a, p, 400 + i, &pts), 0);
		assert_int_equal(store_update_user_append(s, b, p, 400 + i, &pts), 0);
	}
	assert_int_equal(store_commit(s), 0);
	/* Before 425: 25 dates x 2 rows, 25 payloads, and all older rows and
	 * payloads (a#2, a#3, b#3, b#4, ch#2, p_mixed, the orphan, p_new,
	 * p_late). */
	total = 0;
	do {
		assert_int_equal(store_update_prune(s, 425, 7, &n), 0);
		assert_true(n <= 7);
		total += n;
		assert_int_equal(store_update_user_state(s, a, &pts, &min), 0);
		assert_true(min >= 2 && min <= pts + 1);
	} while (n == 7);
	assert_int_equal(total, 50 + 25 + 5 + 4);
	assert_int_equal(store_update_user_state(s, a, &pts, &min), 0);
	assert_int_equal(pts, 53);
	assert_int_equal(min, 29);                /* a#4..#28 dated 400..424 went */
	r = t_user_range(s, a, 0, 100);
	assert_int_equal(r.n, 25);
	assert_int_equal(r.pts[0], 29);
	assert_string_equal(r.body[24], "bulk");
	assert_int_equal(store_update_chat_state(s, ch, &pts, &min), 0);
	assert_int_equal(min, pts + 1);
	assert_int_equal(store_update_prune(s, 425, 0, &n), 0);
	assert_int_equal(n, 0);

	/* Rows are found through their payloads: a row dated before its
	 * payload goes once the payload is old enough too. */
	p_new = t_payload(s, "late", 900);
	assert_int_equal(store_update_user_append(s, b, p_new, 410, &pts), 0);
	assert_int_equal(store_update_prune(s, 425, 100, &n), 0);
	assert_int_equal(n, 0);
	assert_int_equal(store_update_prune(s, 901, 100, &n), 0);
	assert_int_equal(n, 25 * 3 + 2);
	assert_int_equal(store_update_user_state(s, b, &pts, &min), 0);
	assert_int_equal(min, pts + 1);
	/* Inside a group commit, undone with its request. */
	p_new = t_payload(s, "again", 950);
	assert_int_equal(store_update_user_append(s, a, p_new, 950, &pts), 0);
	assert_int_equal(store_begin(s), 0);
	assert_int_equal(store_mark(s), 0);
	assert_int_equal(store_update_prune(s, 1000, 100, &n), 0);
	assert_int_equal(n, 2);
	assert_int_equal(store_undo(s), 0);
	assert_int_equal(store_commit(s), 0);
	r = t_user_range(s, a, 0, 10);
	assert_int_equal(r.n, 1);
	assert_string_equal(r.body[0], "again");
}

/* Column 0 of the first row of sql, read through a connection of its own
 * on the store's file (the store's handle may stay open: WAL). */
static int64_t t_db_int(const struct t_env *env, const char *sql)
{
	char path[160];
	sqlite3 *db;
	sqlite3_stmt *q;
	int64_t v;

	snprintf(path, sizeof(path), "%s/parley.db", env->dir);
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &q, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(q), SQLITE_ROW);
	v = sqlite3_column_int64(q, 0);
	sqlite3_finalize(q);
	sqlite3_close(db);
	return v;
}

/* Log rows whose payload is gone: a catch-up would skip them silently. */
#define T_DANGLING "SELECT (SELECT count(*) FROM user_updates x WHERE NOT EXISTS" \
	" (SELECT 1 FROM update_payloads p WHERE p.id = x.payload_id))" \
	" + (SELECT count(*) FROM chat_updates x WHERE NOT EXISTS" \
	" (SELECT 1 FROM update_payloads p WHERE p.id = x.payload_id))"

#define T_PRUNE_USERS 40
#define T_PRUNE_CHATS 3

/* Many owners, payloads shared by several logs, a small limit, a restart
 * in the middle of a cycle: every row dated before the cutoff goes and
 * none dated at it or later, each log loses a prefix (its kept pts stay
 * contiguous), and no row is left pointing at a missing payload. */
static void test_update_prune_owners(void **state)
{
	struct t_env *env = *state;
	int64_t users[T_PRUNE_USERS], chats[T_PRUNE_CHATS], pts, min, n, total = 0;
	int64_t old_rows = 0, old_payloads = 0, kept_rows = 0, calls = 0;
	const int64_t cutoff = 130;
	char name[32];

	for (int i = 0; i < T_PRUNE_USERS; i++) {
		snprintf(name, sizeof(name), "owner%d", i);
		users[i] = t_user(env->s, name);
	}
	for (int i = 0; i < T_PRUNE_CHATS; i++) {
		snprintf(name, sizeof(name), "feed%d", i);
		chats[i] = t_chat(env->s, STORE_CHAT_CHANNEL, name, users[0], 1);
	}
	/* Dates 100..159: one payload each, in three user logs and one chat
	 * log; a payload that no log refers to every tenth date. */
	assert_int_equal(store_begin(env->s), 0);
	for (int64_t d = 100; d < 160; d++) {
		int64_t p = t_payload(env->s, "upd", d);
		int64_t who[3] = {d % T_PRUNE_USERS, (d + 1) % T_PRUNE_USERS, (d + 7) % T_PRUNE_USERS};

		for (int k = 0; k < 3; k++)
			assert_int_equal(store_update_user_append(env->s, users[who[k]], p, d, &pts), 0);
		assert_int_equal(store_update_chat_append(env->s, chats[d % T_PRUNE_CHATS], p, d, &pts), 0);
		if (d % 10 == 0)
			t_payload(env->s, "orphan", d);
		old_rows += d < cutoff ? 4 : 0;
		kept_rows += d < cutoff ? 0 : 4;
		old_payloads += d < cutoff ? 1 + (d % 10 == 0) : 0;
	}
	assert_int_equal(store_commit(env->s), 0);

	do {
		assert_int_equal(store_update_prune(env->s, cutoff, 7, &n), 0);
		assert_true(n >= 0 && n <= 7);
		total += n;
		assert_int_equal(t_db_int(env, T_DANGLING), 0);
		if (++calls == 5) { /* the walk goes on after a restart */
			store_close(env->s);
			env->s = t_open(env, 0);
			assert_int_equal(store_migrate(env->s), 0);
		}
	} while (n == 7);
	assert_true(calls > 5);
	assert_int_equal(total, old_rows + old_payloads);
	assert_int_equal(t_db_int(env, "SELECT count(*) FROM user_updates WHERE date < 130")
			 + t_db_int(env, "SELECT count(*) FROM chat_updates WHERE date < 130"), 0);
	assert_int_equal(t_db_int(env, "SELECT count(*) FROM user_updates")
			 + t_db_int(env, "SELECT count(*) FROM chat_updates"), kept_rows);
	assert_int_equal(t_db_int(env, "SELECT count(*) FROM update_payloads WHERE date < 130"), 0);
	assert_int_equal(t_db_int(env, "SELECT count(*) FROM update_payloads"), 30 + 3);
	/* Each log keeps exactly its rows dated 130 or later, from min_kept
	 * to pts without a gap. */
	for (int i = 0; i < T_PRUNE_USERS; i++) {
		struct t_updates r;

		assert_int_equal(store_update_user_state(env->s, users[i], &pts, &min), 0);
		r = t_user_range(env->s, users[i], 0, T_MAX_ROWS - 1);
		assert_int_equal(r.n, pts + 1 - min);
		for (int k = 0; k < r.n; k++)
			assert_int_equal(r.pts[k], min + k);
	}
	for (int i = 0; i < T_PRUNE_CHATS; i++) {
		struct t_updates r;

		assert_int_equal(store_update_chat_state(env->s, chats[i], &pts, &min), 0);
		r = t_chat_range(env->s, chats[i], 0, T_MAX_ROWS - 1);
		assert_int_equal(r.n, pts + 1 - min);
		assert_int_equal(r.n, 10);
	}
	/* Nothing more before 130, nor at it: a row dated 130 is kept. */
	assert_int_equal(store_update_prune(env->s, cutoff, 100, &n), 0);
	assert_int_equal(n, 0);
	assert_int_equal(t_db_int(env, "SELECT count(*) FROM user_updates WHERE date = 130"), 3);
	/* A later cutoff goes on: 131 takes date 130's four rows and payload
	 * (its orphan with it). */
	assert_int_equal(store_update_prune(env->s, 131, 100, &n), 0);
	assert_int_equal(n, 4 + 2);
	assert_int_equal(t_db_int(env, T_DANGLING), 0);
}

/* A backlog longer than one cycle's bound (SQ_PRUNE_SPAN x limit
 * payloads), drained by calling again while *removed == limit: a call
 * that starts where the last one ended a cycle goes on to the next. */
static void test_update_prune_drain(void **state)
{
	struct t_env *env = *state;
	int64_t a = t_user(env->s, "alice"), pts, n, total = 0;

	for (int i = 0; i < 20; i++)
		assert_int_equal(store_update_user_append(env->s, a, t_payload(env->s, "old", 100 + i), 100 + i, &pts),
				 0);
	do {
		assert_int_equal(store_update_prune(env->s, 1000, 2, &n), 0);
		total += n;
	} while (n == 2);
	assert_int_equal(total, 40);
	assert_int_equal(t_db_int(env, "SELECT count(*) FROM update_payloads"), 0);
	assert_int_equal(store_update_prune(env->s, 1000, 2, &n), 0);
	assert_int_equal(n, 0);
}

/* The append checks its payload through the row cache when this handle
 * stored it: a payload its request took back, or prune deleted, is unknown
 * again (PL_NOTFOUND, nothing written). */
static void test_update_payload_check(void **state)
{
	struct t_env *env = *state;
	struct store *s = env->s;
	int64_t a = t_user(s, "alice"), p, gone, pts, min, n;

	p = t_payload(s, "kept", 100);
	assert_int_equal(store_update_user_append(s, a, p, 100, &pts), 0);
	assert_int_equal(store_begin(s), 0);
	assert_int_equal(store_mark(s), 0);
	gone = t_payload(s, "undone", 100);
	assert_int_equal(store_update_user_append(s, a, gone, 100, &pts), 0);
	assert_int_equal(store_undo(s), 0);
	assert_int_equal(store_update_user_append(s, a, gone, 100, &pts), PL_NOTFOUND);
	assert_int_equal(store_commit(s), 0);
	assert_int_equal(store_update_user_state(s, a, &pts, &min), 0);
	assert_int_equal(pts, 1);
	/* Stored and appended in one transaction, then pruned in another. */
	assert_int_equal(store_begin(s), 0);
	gone = t_payload(s, "pruned", 100);
	assert_int_equal(store_update_user_append(s, a, gone, 100, &pts), 0);
	assert_int_equal(store_commit(s), 0);
	assert_int_equal(store_begin(s), 0);
	assert_int_equal(store_update_prune(s, 1000, 100, &n), 0);
	assert_int_equal(n, 4);
	assert_int_equal(store_update_user_append(s, a, gone, 100, &pts), PL_NOTFOUND);
	assert_int_equal(store_update_user_append(s, a, p, 100, &pts), PL_NOTFOUND);
	assert_int_equal(store_commit(s), 0);
	assert_int_equal(t_db_int(env, T_DANGLING), 0);
}

/* Schema 11 to 12 keeps every row, the logs still replay, the payload
 * indexes and the logs' foreign keys are gone, the append still refuses
 * an unknown payload, and prune works on what was migrated. */
static void test_migrate_log_indexes(void **state)
{
	struct t_env *env = *state;
	int64_t a = t_user(env->s, "alice"), b = t_user(env->s, "bob"), pts, n;
	int64_t ch = t_chat(env->s, STORE_CHAT_CHANNEL, "news", a, 1), p = 0;
	struct t_updates r;
	char path[160];
	sqlite3 *db;
	int cur = 0, latest = 0;

	for (int i = 0; i < 20; i++) {
		p = t_payload(env->s, i < 10 ? "old" : "new", 100 + i * 10);
		assert_int_equal(store_update_user_append(env->s, a, p, 100 + i * 10, &pts), 0);
		assert_int_equal(store_update_user_append(env->s, b, p, 100 + i * 10, &pts), 0);
		assert_int_equal(store_update_chat_append(env->s, ch, p, 100 + i * 10, &pts), 0);
	}
	store_close(env->s);
	snprintf(path, sizeof(path), "%s/parley.db", env->dir);
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, T_BEFORE_12 "PRAGMA user_version = 11;", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	assert_int_equal(t_db_int(env, "SELECT count(*) FROM pragma_foreign_key_list('user_updates')"), 1);
	assert_int_equal(t_db_int(env, "SELECT count(*) FROM sqlite_master WHERE name LIKE '%updates_payload'"), 2);

	env->s = t_open(env, 0);
	assert_int_equal(store_schema(env->s, &cur, &latest), 0);
	assert_int_equal(cur, 11);
	assert_true(latest >= 12);
	assert_int_equal(store_migrate(env->s), 0);
	assert_int_equal(t_db_int(env, "PRAGMA user_version"), latest);
	assert_int_equal(t_db_int(env, "SELECT count(*) FROM pragma_foreign_key_list('user_updates')"), 0);
	assert_int_equal(t_db_int(env, "SELECT count(*) FROM pragma_foreign_key_list('chat_updates')"), 0);
	assert_int_equal(t_db_int(env, "SELECT count(*) FROM sqlite_master WHERE name LIKE '%updates_payload'"), 0);
	assert_int_equal(t_db_int(env, "SELECT count(*) FROM pragma_integrity_check WHERE integrity_check != 'ok'"),
			 0);
	assert_int_equal(t_db_int(env, "SELECT count(*) FROM user_updates"), 40);
	assert_int_equal(t_db_int(env, "SELECT count(*) FROM chat_updates"), 20);
	r = t_user_range(env->s, b, 0, 100);
	assert_int_equal(r.n, 20);
	assert_int_equal(r.pts[19], 20);
	assert_string_equal(r.body[19], "new");
	assert_int_equal(t_chat_range(env->s, ch, 0, 100).n, 20);
	/* The migrated handle sees the new schema at once: an unknown payload
	 * is refused, with nothing written. */
	assert_int_equal(store_update_user_append(env->s, a, p + 100, 400, &pts), PL_NOTFOUND);
	assert_int_equal(store_update_chat_append(env->s, ch, p + 100, 400, &pts), PL_NOTFOUND);
	assert_int_equal(store_update_user_state(env->s, a, &pts, &n), 0);
	assert_int_equal(pts, 20);
	/* Before 200: ten dates, three rows and a payload each. */
	assert_int_equal(store_update_prune(env->s, 200, 1000, &n), 0);
	assert_int_equal(n, 10 * 4);
	assert_int_equal(t_db_int(env, T_DANGLING), 0);
	r = t_user_range(env->s, a, 0, 100);
	assert_int_equal(r.n, 10);
	assert_int_equal(r.pts[0], 11);
}

/* ---- fan-out lists, large chats, presence ---- */

static int t_collect_id(void *ctx, int64_t id)
{
	struct t_rows *r = ctx;

	assert_true(r->n < T_MAX_ROWS);
	r->id[r->n++] = id;
	return (r->stop_after > 0 && r->n >= r->stop_after) ? 7 : 0;
}

static int t_collect_chat_pts(void *ctx, int64_t chat_id, int64_t pts)
{
	struct t_rows *r = ctx;

	assert_true(r->n < T_MAX_ROWS);
	r->id[r->n] = chat_id;
	r->date[r->n] = pts;
	r->n++;
	return 0;
}

static void test_large_chats(void **state)
{
	struct t_env *env = *state;
	struct store *s = env->s;
	int64_t a = t_user(s, "alice"), b = t_user(s, "bob");
	int64_t ch = t_chat(s, STORE_CHAT_CHANNEL, "news", b, 1);
	int64_t ch2 = t_chat(s, STORE_CHAT_CHANNEL, "left", b, 1);
	int64_t g = t_chat(s, STORE_CHAT_GROUP, "group", b, 1);
	int64_t small = t_chat(s, STORE_CHAT_GROUP, "small", b, 1);
	struct store_chat c = {0};
	struct t_rows r = {0};
	int64_t pts, p;

	/* Channels are created large; groups are not, unless asked. */
	assert_int_equal(store_chat_get(s, ch, &c), 0);
	assert_int_equal(c.large, 1);
	assert_int_equal(store_chat_get(s, g, &c), 0);
	assert_int_equal(c.large, 0);
	assert_int_equal(store_chat_find(s, "news", &c), 0);
	assert_int_equal(c.large, 1);
	memset(&c, 0, sizeof(c));
	c.type = STORE_CHAT_GROUP;
	c.large = 1;
	c.created_at = 1;
	assert_int_equal(store_chat_create(s, &c), 0);
	assert_int_equal(c.large, 1);
	assert_int_equal(store_chat_get(s, c.id, &c), 0);
	assert_int_equal(c.large, 1);

	t_member(s, ch, a, STORE_ROLE_MEMBER);
	t_member(s, ch2, a, STORE_ROLE_MEMBER);
	t_member(s, ch2, a, STORE_ROLE_LEFT);
	t_member(s, g, a, STORE_ROLE_ADMIN);
	t_member(s, small, a, STORE_ROLE_MEMBER);
	t_member(s, ch, b, STORE_ROLE_CREATOR);
	p = t_payload(s, "post", 10);
	assert_int_equal(store_update_chat_append(s, ch, p, 10, &pts), 0);
	assert_int_equal(store_update_chat_append(s, ch, p, 10, &pts), 0);

	assert_int_equal(store_large_chats(s, a, t_collect_chat_pts, &r), 0);
	assert_int_equal(r.n, 1);
	assert_int_equal(r.id[0], ch);
	assert_int_equal(r.date[0], 2);

	/* A group turning large: its members so far, and those who join later. */
	assert_int_equal(store_chat_set_large(s, g), 0);
	assert_int_equal(store_chat_set_large(s, g), 0);     /* idempotent */
	assert_int_equal(store_chat_set_large(s, 9999), PL_NOTFOUND);
	assert_int_equal(store_chat_get(s, g, &c), 0);
	assert_int_equal(c.large, 1);
	t_member(s, g, b, STORE_ROLE_MEMBER);
	memset(&r, 0, sizeof(r));
	assert_int_equal(store_large_chats(s, a, t_collect_chat_pts, &r), 0);
	assert_int_equal(r.n, 2);
	assert_int_equal(r.id[0], ch);
	assert_int_equal(r.id[1], g);
	assert_int_equal(r.date[1], 0);
	memset(&r, 0, sizeof(r));
	assert_int_equal(store_large_chats(s, b, t_collect_chat_pts, &r), 0);
	assert_int_equal(r.n, 2);
	/* Kicked or left: no longer listed; back as a member: listed again. */
	t_member(s, ch, a, STORE_ROLE_KICKED);
	memset(&r, 0, sizeof(r));
	assert_int_equal(store_large_chats(s, a, t_collect_chat_pts, &r), 0);
	assert_int_equal(r.n, 1);
	assert_int_equal(r.id[0], g);
	t_member(s, ch, a, STORE_ROLE_MEMBER);
	memset(&r, 0, sizeof(r));
	assert_int_equal(store_large_chats(s, a, t_collect_chat_pts, &r), 0);
	assert_int_equal(r.n, 2);
	memset(&r, 0, sizeof(r));
	assert_int_equal(store_large_chats(s, 9999, t_collect_chat_pts, &r), 0);
	assert_int_equal(r.n, 0);
	/* Marking large inside a group commit is undone with its request. */
	assert_int_equal(store_begin(s), 0);
	assert_int_equal(store_mark(s), 0);
	assert_int_equal(store_chat_set_large(s, small), 0);
	assert_int_equal(store_undo(s), 0);
	assert_int_equal(store_commit(s), 0);
	assert_int_equal(store_chat_get(s, small, &c), 0);
	assert_int_equal(c.large, 0);
	memset(&r, 0, sizeof(r));
	assert_int_equal(store_large_chats(s, a, t_collect_chat_pts, &r), 0);
	assert_int_equal(r.n, 2);
}

static void test_member_ids(void **state)
{
	struct t_env *env = *state;
	struct store *s = env->s;
	int64_t u[12];
	int64_t g, after = 0;
	int got = 0;
	struct t_rows r = {0};

	for (int i = 0; i < 12; i++) {
		char name[16];

		snprintf(name, sizeof(name), "user%d", i);
		u[i] = t_user(s, name);
	}
	g = t_chat(s, STORE_CHAT_GROUP, "g", u[0], 1);
	for (int i = 0; i < 12; i++)
		t_member(s, g, u[i], i % 4 == 3 ? STORE_ROLE_LEFT : i % 4 == 2 ? STORE_ROLE_KICKED
				   : i == 0 ? STORE_ROLE_CREATOR : STORE_ROLE_MEMBER);
	/* Members are u0, u1, u4, u5, u8, u9: pages of 4. */
	for (;;) {
		memset(&r, 0, sizeof(r));
		assert_int_equal(store_member_ids(s, g, after, 4, t_collect_id, &r), 0);
		for (int k = 0; k < r.n; k++, got++) {
			int i = got / 2 * 4 + got % 2;

			assert_int_equal(r.id[k], u[i]);
		}
		if (r.n < 4)
			break;
		after = r.id[r.n - 1];
	}
	assert_int_equal(got, 6);
	memset(&r, 0, sizeof(r));
	assert_int_equal(store_member_ids(s, g, 0, 0, t_collect_id, &r), 0);
	assert_int_equal(r.n, 0);
	assert_int_equal(store_member_ids(s, 9999, 0, 10, t_collect_id, &r), 0);
	assert_int_equal(r.n, 0);
	r.stop_after = 2;
	assert_int_equal(store_member_ids(s, g, 0, 10, t_collect_id, &r), 7);
	assert_int_equal(r.n, 2);
}

static int64_t t_private(struct store *s, int64_t x, int64_t y)
{
	struct store_chat c = {0};

	c.type = STORE_CHAT_PRIVATE;
	c.user_lo = x < y ? x : y;
	c.user_hi = x < y ? y : x;
	c.created_at = 1;
	assert_int_equal(store_chat_create(s, &c), 0);
	assert_int_equal(c.large, 0);
	return c.id;
}

static void test_contact_ids(void **state)
{
	struct t_env *env = *state;
	struct store *s = env->s;
	int64_t u[5];
	struct t_rows r = {0};

	for (int i = 0; i < 5; i++) {
		char name[16];

		snprintf(name, sizeof(name), "user%d", i);
		u[i] = t_user(s, name);
	}
	/* u2 is the higher id with u0 and u1, the lower with u4. */
	t_private(s, u[2], u[4]);
	t_private(s, u[0], u[2]);
	t_private(s, u[1], u[2]);
	t_private(s, u[0], u[3]);
	t_member(s, t_chat(s, STORE_CHAT_GROUP, "g", u[2], 1), u[3], STORE_ROLE_MEMBER);

	assert_int_equal(store_contact_ids(s, u[2], t_collect_id, &r), 0);
	assert_int_equal(r.n, 3);
	assert_int_equal(r.id[0], u[0]);
	assert_int_equal(r.id[1], u[1]);
	assert_int_equal(r.id[2], u[4]);
	memset(&r, 0, sizeof(r));
	assert_int_equal(store_contact_ids(s, u[3], t_collect_id, &r), 0);
	assert_int_equal(r.n, 1);
	assert_int_equal(r.id[0], u[0]);
	memset(&r, 0, sizeof(r));
	assert_int_equal(store_contact_ids(s, 9999, t_collect_id, &r), 0);
	assert_int_equal(r.n, 0);
}

static void test_presence(void **state)
{
	struct t_env *env = *state;
	struct store *s = env->s;
	int64_t a = t_user(s, "alice"), b = t_user(s, "bob");
	struct store_user u;
	struct t_rows r = {0};

	assert_int_equal(store_user_get(s, a, &u), 0);
	assert_int_equal(u.last_seen, 0);
	assert_int_equal(u.privacy_last_seen, STORE_PRIVACY_EVERYBODY);
	assert_int_equal(store_user_set_last_seen(s, a, 1795000000), 0);
	assert_int_equal(store_user_set_privacy(s, a, STORE_PRIVACY_CONTACTS), 0);
	assert_int_equal(store_user_get(s, a, &u), 0);
	assert_int_equal(u.last_seen, 1795000000);
	assert_int_equal(u.privacy_last_seen, STORE_PRIVACY_CONTACTS);
	assert_int_equal(store_user_find(s, "alice", &u), 0);
	assert_int_equal(u.last_seen, 1795000000);
	assert_int_equal(store_user_set_privacy(s, a, STORE_PRIVACY_NOBODY), 0);
	assert_int_equal(store_user_set_privacy(s, a, 3), PL_INVAL);
	assert_int_equal(store_user_set_privacy(s, a, -1), PL_INVAL);
	assert_int_equal(store_user_set_privacy(s, 9999, STORE_PRIVACY_NOBODY), PL_NOTFOUND);
	assert_int_equal(store_user_set_last_seen(s, 9999, 1), PL_NOTFOUND);
	/* Other fields are untouched, and an update of those keeps these. */
	assert_int_equal(store_user_get(s, a, &u), 0);
	assert_string_equal(u.display_name, "User alice");
	snprintf(u.bio, sizeof(u.bio), "hi");
	assert_int_equal(store_user_update(s, &u), 0);
	assert_int_equal(store_user_get(s, a, &u), 0);
	assert_int_equal(u.privacy_last_seen, STORE_PRIVACY_NOBODY);
	assert_int_equal(u.last_seen, 1795000000);
	/* Block lists carry them too. */
	assert_int_equal(store_block_set(s, b, a, 1, 5), 0);
	assert_int_equal(store_block_list(s, b, t_collect_user, &r), 0);
	assert_int_equal(r.n, 1);
	assert_int_equal(store_user_get(s, b, &u), 0);
	assert_int_equal(u.last_seen, 0);
}

/* The cost of a fan-out: a 200-member group message is one payload and 200
 * user appends in one request of a group commit.  Prints microseconds per
 * append (the commit's fsync excluded: it is shared by the whole group). */
static void test_fanout_cost(void **state)
{
	struct t_env *env = *state;
	struct store *s = env->s;
	enum { MEMBERS = 200, MESSAGES = 50, USERS = 2000 };
	int64_t user[USERS], member[MEMBERS];
	struct timespec t0, t1;
	double us = 0;

	assert_int_equal(store_begin(s), 0);
	for (int i = 0; i < USERS; i++) {
		struct store_user u = {0};

		u.created_at = 1;
		assert_int_equal(store_user_create(s, &u), 0);
		user[i] = u.id;
	}
	assert_int_equal(store_commit(s), 0);
	for (int i = 0; i < MEMBERS; i++)
		member[i] = user[(i * 7919) % USERS];   /* spread over the table */
	for (int m = 0; m < MESSAGES; m++) {
		int64_t p, pts;

		assert_int_equal(store_begin(s), 0);
		assert_int_equal(store_mark(s), 0);
		clock_gettime(CLOCK_MONOTONIC, &t0);
		assert_int_equal(store_payload_put(s, "{\"type\":\"new_message\"}", 23, 1000 + m, 0, 0, &p), 0);
		for (int i = 0; i < MEMBERS; i++) {
			assert_int_equal(store_update_user_append(s, member[i], p, 1000 + m, &pts), 0);
			assert_int_equal(pts, m + 1);
		}
		clock_gettime(CLOCK_MONOTONIC, &t1);
		assert_int_equal(store_release(s), 0);
		assert_int_equal(store_commit(s), 0);
		us += (double)(t1.tv_sec - t0.tv_sec) * 1e6 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e3;
	}
	printf("fan-out: %.2f us per user append (%d members, %d messages)\n", us / (MEMBERS * MESSAGES),
	       MEMBERS, MESSAGES);
}


/* ---- the writer handle's row cache ----
 *
 * Each test reads a row in one transaction (the cache keeps it), changes it
 * in the next, and reads it again there: the read must see the change, so
 * each test fails if the op stopped dropping the entry it writes. */

/* Reads user id inside a transaction of its own (warming the cache). */
static void t_user_read(struct store *s, int64_t id, struct store_user *u)
{
	assert_int_equal(store_begin(s), 0);
	assert_int_equal(store_user_get(s, id, u), 0);
	assert_int_equal(store_commit(s), 0);
}

static void test_cache_users(void **state)
{
	struct t_env *env = *state;
	struct store *s = env->s;
	int64_t a = t_user(s, "alice");
	struct store_user u;

	t_user_read(s, a, &u);
	assert_int_equal(u.suspended_until, 0);
	assert_int_equal(store_begin(s), 0);
	assert_int_equal(store_user_get(s, a, &u), 0);
	assert_int_equal(store_user_set_suspension(s, a, 12345, 7), 0);
	assert_int_equal(store_user_get(s, a, &u), 0);
	assert_int_equal(u.suspended_until, 12345);
	assert_int_equal(u.suspend_statement, 7);
	assert_int_equal(store_commit(s), 0);

	t_user_read(s, a, &u);
	assert_int_equal(u.suspended_until, 12345);
	assert_int_equal(store_begin(s), 0);
	assert_int_equal(store_user_set_country(s, a, "FR"), 0);
	assert_int_equal(store_user_get(s, a, &u), 0);
	assert_string_equal(u.country, "FR");
	assert_int_equal(store_user_set_privacy(s, a, STORE_PRIVACY_NOBODY), 0);
	assert_int_equal(store_user_get(s, a, &u), 0);
	assert_int_equal(u.privacy_last_seen, STORE_PRIVACY_NOBODY);
	assert_int_equal(store_user_set_last_seen(s, a, 777), 0);
	assert_int_equal(store_user_get(s, a, &u), 0);
	assert_int_equal(u.last_seen, 777);
	snprintf(u.display_name, sizeof(u.display_name), "Alice Renamed");
	assert_int_equal(store_user_update(s, &u), 0);
	memset(&u, 0, sizeof(u));
	assert_int_equal(store_user_get(s, a, &u), 0);
	assert_string_equal(u.display_name, "Alice Renamed");
	assert_int_equal(store_commit(s), 0);
	t_user_read(s, a, &u);
	assert_string_equal(u.display_name, "Alice Renamed");
	assert_int_equal(u.last_seen, 777);
}

static void test_cache_blocks(void **state)
{
	struct t_env *env = *state;
	struct store *s = env->s;
	int64_t a = t_user(s, "alice"), b = t_user(s, "bob");

	assert_int_equal(store_begin(s), 0);
	assert_int_equal(store_block_get(s, a, b), 0);
	assert_int_equal(store_commit(s), 0);
	assert_int_equal(store_begin(s), 0);
	assert_int_equal(store_block_get(s, a, b), 0);
	assert_int_equal(store_block_set(s, a, b, 1, 10), 0);
	assert_int_equal(store_block_get(s, a, b), 1);
	assert_int_equal(store_block_get(s, b, a), 0);
	assert_int_equal(store_commit(s), 0);
	assert_int_equal(store_begin(s), 0);
	assert_int_equal(store_block_get(s, a, b), 1);
	assert_int_equal(store_block_set(s, a, b, 0, 20), 0);
	assert_int_equal(store_block_get(s, a, b), 0);
	assert_int_equal(store_commit(s), 0);
	assert_int_equal(store_block_get(s, a, b), 0);
}

static void test_cache_members(void **state)
{
	struct t_env *env = *state;
	struct store *s = env->s;
	int64_t a = t_user(s, "alice"), b = t_user(s, "bob");
	int64_t g = t_chat(s, STORE_CHAT_GROUP, "g", a, 1);
	struct store_member m;
	struct store_chat c;

	t_member(s, g, a, STORE_ROLE_CREATOR);
	t_member(s, g, b, STORE_ROLE_MEMBER);
	assert_int_equal(store_begin(s), 0);
	assert_int_equal(store_member_get(s, g, a, &m), 0);
	assert_int_equal(store_member_get(s, g, b, &m), 0);
	assert_int_equal(store_chat_get(s, g, &c), 0);
	assert_int_equal(c.member_count, 2);
	assert_int_equal(store_commit(s), 0);

	assert_int_equal(store_begin(s), 0);
	assert_int_equal(store_member_get(s, g, b, &m), 0);
	assert_int_equal(m.role, STORE_ROLE_MEMBER);
	m.role = STORE_ROLE_KICKED;
	assert_int_equal(store_member_put(s, &m), 0);
	assert_int_equal(store_member_get(s, g, b, &m), 0);
	assert_int_equal(m.role, STORE_ROLE_KICKED);
	assert_int_equal(store_chat_get(s, g, &c), 0);
	assert_int_equal(c.member_count, 1); /* member_put moved chats.member_count */
	assert_int_equal(store_member_get(s, g, a, &m), 0);
	assert_int_equal(m.read_max_id, 0);
	assert_int_equal(store_member_set_read(s, g, a, 5), 0);
	assert_int_equal(store_member_get(s, g, a, &m), 0);
	assert_int_equal(m.read_max_id, 5);
	assert_int_equal(store_commit(s), 0);
}

static int t_count_restr(void *ctx, const struct store_restriction *r)
{
	(*(int *)ctx)++;
	return 0;
}

static void test_cache_restrictions(void **state)
{
	struct t_env *env = *state;
	struct store *s = env->s;
	int64_t a = t_user(s, "alice");
	int64_t g = t_chat(s, STORE_CHAT_GROUP, "g", a, 1);
	struct store_restriction r = {.chat_id = g, .statement_id = 42, .created_at = 3};
	int n = 0;

	snprintf(r.territories, sizeof(r.territories), "DE");
	assert_int_equal(store_begin(s), 0);
	assert_int_equal(store_restriction_list_chat(s, g, t_count_restr, &n), 0);
	assert_int_equal(n, 0);
	assert_int_equal(store_commit(s), 0);
	assert_int_equal(store_begin(s), 0);
	assert_int_equal(store_restriction_list_chat(s, g, t_count_restr, &n), 0);
	assert_int_equal(n, 0);
	assert_int_equal(store_restriction_add(s, &r), 0);
	assert_int_equal(store_restriction_list_chat(s, g, t_count_restr, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(store_commit(s), 0);
	assert_int_equal(store_begin(s), 0);
	assert_int_equal(store_restriction_end(s, 42), 0);
	n = 0;
	assert_int_equal(store_restriction_list_chat(s, g, t_count_restr, &n), 0);
	assert_int_equal(n, 0); /* remembered as none again */
	assert_int_equal(store_restriction_list_chat(s, g, t_count_restr, &n), 0);
	assert_int_equal(n, 0);
	assert_int_equal(store_commit(s), 0);
	/* A new restriction on a chat remembered as having none. */
	r.statement_id = 43;
	assert_int_equal(store_begin(s), 0);
	assert_int_equal(store_restriction_add(s, &r), 0);
	assert_int_equal(store_restriction_list_chat(s, g, t_count_restr, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(store_commit(s), 0);
}

static void test_cache_chats(void **state)
{
	struct t_env *env = *state;
	struct store *s = env->s;
	int64_t a = t_user(s, "alice"), b = t_user(s, "bob");
	struct store_chat p = {.type = STORE_CHAT_PRIVATE, .creator_id = a, .created_at = 1, .user_lo = a, .user_hi = b};
	struct store_chat c;

	assert_int_equal(store_chat_create(s, &p), 0);
	assert_int_equal(store_begin(s), 0);
	assert_int_equal(store_chat_find_private(s, a, b, &c), 0);
	assert_int_equal(c.id, p.id);
	assert_int_equal(store_commit(s), 0);

	assert_int_equal(store_begin(s), 0);
	assert_int_equal(store_chat_find_private(s, a, b, &c), 0);
	assert_int_equal(t_msg(s, p.id, a, 50, "hello"), 1);
	assert_int_equal(store_chat_find_private(s, a, b, &c), 0);
	assert_int_equal(c.last_msg_id, 1);
	assert_int_equal(c.last_date, 50);
	assert_int_equal(t_msg(s, p.id, b, 60, "hi"), 2);
	assert_int_equal(store_chat_get(s, p.id, &c), 0);
	assert_int_equal(c.last_msg_id, 2);
	assert_int_equal(c.last_date, 60);
	c.pinned_msg_id = 2;
	assert_int_equal(store_chat_update(s, &c), 0);
	memset(&c, 0, sizeof(c));
	assert_int_equal(store_chat_find_private(s, a, b, &c), 0);
	assert_int_equal(c.pinned_msg_id, 2);
	assert_int_equal(store_chat_set_ban(s, p.id, 9), 0);
	assert_int_equal(store_chat_find_private(s, a, b, &c), 0);
	assert_int_equal(c.ban_statement, 9);
	assert_int_equal(c.member_count, 0);
	t_member(s, p.id, a, STORE_ROLE_MEMBER);
	assert_int_equal(store_chat_get(s, p.id, &c), 0);
	assert_int_equal(c.member_count, 1);
	assert_int_equal(store_chat_set_large(s, p.id), 0);
	assert_int_equal(store_chat_get(s, p.id, &c), 0);
	assert_int_equal(c.large, 1);
	assert_int_equal(store_commit(s), 0);
	/* A message put outside a transaction (the op's own) moves it too. */
	assert_int_equal(t_msg(s, p.id, a, 70, "own transaction"), 3);
	assert_int_equal(store_begin(s), 0);
	assert_int_equal(store_chat_find_private(s, a, b, &c), 0);
	assert_int_equal(c.last_msg_id, 3);
	assert_int_equal(c.last_date, 70);
	assert_int_equal(store_commit(s), 0);
}

static int64_t t_append(struct store *s, int64_t user)
{
	int64_t payload = 0, pts = 0;

	assert_int_equal(store_payload_put(s, "{}", 2, 1, 0, 0, &payload), 0);
	assert_int_equal(store_update_user_append(s, user, payload, 1, &pts), 0);
	return pts;
}

/* The counters: a rollback or an undo must give the pts back. */
static void test_cache_pts(void **state)
{
	struct t_env *env = *state;
	struct store *s = env->s;
	struct store *r = t_open(env, STORE_READONLY);
	int64_t a = t_user(s, "alice"), pts = 0, min = 0;

	assert_int_equal(store_begin(s), 0);
	assert_int_equal(t_append(s, a), 1);
	assert_int_equal(t_append(s, a), 2);
	assert_int_equal(store_commit(s), 0);
	assert_int_equal(store_begin(s), 0);
	assert_int_equal(t_append(s, a), 3);
	assert_int_equal(store_rollback(s), 0);
	assert_int_equal(store_begin(s), 0);
	assert_int_equal(t_append(s, a), 3);
	assert_int_equal(store_mark(s), 0);
	assert_int_equal(t_append(s, a), 4);
	assert_int_equal(store_undo(s), 0);
	assert_int_equal(t_append(s, a), 4);
	assert_int_equal(store_commit(s), 0);
	assert_int_equal(store_update_user_state(r, a, &pts, &min), 0);
	assert_int_equal(pts, 4);
	assert_int_equal(t_append(s, a), 5); /* a transaction of its own */
	store_close(r);
}

/* What a rolled-back or undone transaction read or wrote is forgotten. */
static void test_cache_rollback(void **state)
{
	struct t_env *env = *state;
	struct store *s = env->s;
	int64_t a = t_user(s, "alice"), b = t_user(s, "bob");
	struct store_user u;

	t_user_read(s, a, &u);
	assert_int_equal(store_begin(s), 0);
	assert_int_equal(store_user_set_suspension(s, a, -1, 3), 0);
	assert_int_equal(store_user_get(s, a, &u), 0);
	assert_int_equal(u.suspended_until, -1);
	assert_int_equal(store_block_set(s, a, b, 1, 10), 0);
	assert_int_equal(store_block_get(s, a, b), 1);
	assert_int_equal(store_rollback(s), 0);
	assert_int_equal(store_begin(s), 0);
	assert_int_equal(store_user_get(s, a, &u), 0);
	assert_int_equal(u.suspended_until, 0);
	assert_int_equal(store_block_get(s, a, b), 0);
	assert_int_equal(store_mark(s), 0);
	assert_int_equal(store_block_set(s, a, b, 1, 10), 0);
	assert_int_equal(store_block_get(s, a, b), 1);
	assert_int_equal(store_undo(s), 0);
	assert_int_equal(store_block_get(s, a, b), 0);
	assert_int_equal(store_commit(s), 0);
}

/* Counters advanced inside a transaction are written once, before its
 * commit: readers see them move with the rows, the writer sees its own,
 * and hundreds of owners (the table of unwritten ones grows) all land. */
static void test_pts_deferred(void **state)
{
	struct t_env *env = *state;
	struct store *s = env->s;
	struct store *r = t_open(env, STORE_READONLY);
	int64_t users[300], pts = 0, min = 0, payload = 0, cpts = 0;
	int64_t ch = t_chat(s, STORE_CHAT_CHANNEL, "chan", 0, 1);
	struct t_rows rows = {0};
	char name[32];

	for (int i = 0; i < 300; i++) {
		snprintf(name, sizeof(name), "user%03d", i);
		users[i] = t_user(s, name);
	}
	t_member(s, ch, users[1], STORE_ROLE_MEMBER);
	assert_int_equal(store_begin(s), 0);
	for (int i = 0; i < 300; i++)
		assert_int_equal(t_append(s, users[i]), 1);
	assert_int_equal(store_commit(s), 0);

	assert_int_equal(store_begin(s), 0);
	for (int round = 2; round <= 3; round++)
		for (int i = 0; i < 300; i++)
			assert_int_equal(t_append(s, users[i]), round);
	assert_int_equal(store_payload_put(s, "{}", 2, 1, ch, 0, &payload), 0);
	assert_int_equal(store_update_chat_append(s, ch, payload, 1, &cpts), 0);
	assert_int_equal(cpts, 1);
	assert_int_equal(store_update_chat_append(s, ch, payload, 1, &cpts), 0);
	assert_int_equal(cpts, 2);
	/* A reader still sees the last commit; the writer its own appends. */
	assert_int_equal(store_update_user_state(r, users[7], &pts, &min), 0);
	assert_int_equal(pts, 1);
	assert_int_equal(store_update_chat_state(r, ch, &pts, &min), 0);
	assert_int_equal(pts, 0);
	assert_int_equal(store_update_user_state(s, users[7], &pts, &min), 0);
	assert_int_equal(pts, 3);
	assert_int_equal(store_update_chat_state(s, ch, &pts, &min), 0);
	assert_int_equal(pts, 2);
	assert_int_equal(store_update_chat_append(s, ch, payload, 1, &cpts), 0);
	assert_int_equal(cpts, 3);
	rows.n = 0;
	assert_int_equal(store_large_chats(s, users[1], t_collect_chat_pts, &rows), 0);
	assert_int_equal(rows.n, 1);
	assert_int_equal(rows.date[0], 3); /* large_chats reads chats.pts */
	assert_int_equal(t_append(s, users[7]), 4);
	assert_int_equal(store_commit(s), 0);

	for (int i = 0; i < 300; i++) {
		assert_int_equal(store_update_user_state(r, users[i], &pts, &min), 0);
		assert_int_equal(pts, i == 7 ? 4 : 3);
		assert_int_equal(min, 1);
	}
	assert_int_equal(store_update_chat_state(r, ch, &pts, &min), 0);
	assert_int_equal(pts, 3);
	/* A rolled-back transaction's counters are not written. */
	assert_int_equal(store_begin(s), 0);
	assert_int_equal(t_append(s, users[0]), 4);
	assert_int_equal(store_rollback(s), 0);
	assert_int_equal(store_update_user_state(r, users[0], &pts, &min), 0);
	assert_int_equal(pts, 3);
	assert_int_equal(t_append(s, users[0]), 4);
	store_close(r);
}

/* Another connection's commit (the CLI's admin commands) drops it all. */
/* A session read on the writer is cached: what its own writes change (a
 * touch, a delete, the account's suspension and country), a rollback and
 * another connection's commit are all seen by the next read. */
static void test_cache_sessions(void **state)
{
	struct t_env *env = *state;
	struct store *s = env->s;
	struct store *o;
	struct store_session ss = {0}, got;
	int64_t a = t_user(s, "alice");
	int64_t sid;

	ss.user_id = a;
	snprintf(ss.token_hash, sizeof(ss.token_hash), "%064d", 1);
	snprintf(ss.ip, sizeof(ss.ip), "10.0.0.1");
	ss.created_at = ss.last_seen = 100;
	assert_int_equal(store_session_create(s, &ss), 0);
	sid = ss.id;

	assert_int_equal(store_begin(s), 0);
	assert_int_equal(store_session_get(s, sid, &got), 0); /* fills */
	assert_int_equal(got.last_seen, 100);
	assert_int_equal(store_session_touch(s, sid, 200, "10.0.0.2"), 0);
	assert_int_equal(store_session_get(s, sid, &got), 0);
	assert_int_equal(got.last_seen, 200);
	assert_string_equal(got.ip, "10.0.0.2");
	assert_int_equal(store_user_set_suspension(s, a, 12345, 7), 0);
	assert_int_equal(store_user_set_country(s, a, "FR"), 0);
	assert_int_equal(store_session_get(s, sid, &got), 0);
	assert_int_equal(got.suspended_until, 12345);
	assert_int_equal(got.suspend_statement, 7);
	assert_string_equal(got.country, "FR");
	assert_int_equal(store_commit(s), 0);

	/* Deleted, then the delete rolled back. */
	assert_int_equal(store_begin(s), 0);
	assert_int_equal(store_session_get(s, sid, &got), 0);
	assert_int_equal(store_session_delete(s, a, sid), 0);
	assert_int_equal(store_session_get(s, sid, &got), PL_NOTFOUND);
	assert_int_equal(store_rollback(s), 0);
	assert_int_equal(store_begin(s), 0);
	assert_int_equal(store_session_get(s, sid, &got), 0);
	assert_int_equal(got.last_seen, 200);
	assert_int_equal(store_commit(s), 0);

	/* Deleted by another connection. */
	o = t_open(env, 0);
	assert_int_equal(store_session_delete(o, a, sid), 0);
	assert_int_equal(store_begin(s), 0);
	assert_int_equal(store_session_get(s, sid, &got), PL_NOTFOUND);
	assert_int_equal(store_commit(s), 0);
	store_close(o);
}

static void test_cache_other_writer(void **state)
{
	struct t_env *env = *state;
	struct store *s = env->s;
	struct store *o = t_open(env, 0);
	int64_t a = t_user(s, "alice"), b = t_user(s, "bob");
	struct store_user u;

	t_user_read(s, a, &u);
	assert_int_equal(store_begin(s), 0);
	assert_int_equal(store_block_get(s, a, b), 0);
	assert_int_equal(store_commit(s), 0);
	assert_int_equal(store_user_set_suspension(o, a, 99, 1), 0);
	assert_int_equal(store_block_set(o, a, b, 1, 10), 0);
	assert_int_equal(store_begin(s), 0);
	assert_int_equal(store_user_get(s, a, &u), 0);
	assert_int_equal(u.suspended_until, 99);
	assert_int_equal(store_block_get(s, a, b), 1);
	assert_int_equal(store_commit(s), 0);
	store_close(o);
}

/* Counts the rows of table t through db: -1 on an error. */
static int t_count(sqlite3 *db, const char *t)
{
	char sql[64];
	sqlite3_stmt *q = NULL;
	int n = -1;

	snprintf(sql, sizeof sql, "SELECT count(*) FROM %s", t);
	if (sqlite3_prepare_v2(db, sql, -1, &q, NULL) == SQLITE_OK && sqlite3_step(q) == SQLITE_ROW)
		n = sqlite3_column_int(q, 0);
	sqlite3_finalize(q);
	return n;
}

static void t_exec(sqlite3 *db, const char *sql)
{
	char *err = NULL;
	int rc = sqlite3_exec(db, sql, NULL, NULL, &err);

	if (rc != SQLITE_OK)
		fprintf(stderr, "%s: %s\n", sql, err ? err : sqlite3_errstr(rc));
	sqlite3_free(err);
	assert_int_equal(rc, SQLITE_OK);
}

/* The WAL write gatherer (sqlite_vfs.c, registered by main below): a
 * connection through the plain VFS, which reads the files as they are on
 * disk, sees every commit the gatherer's connection made as soon as it
 * returned, with full and normal sync, small and large commits (larger
 * than its buffer), transactions that spill pages into the WAL before they
 * commit (a tiny page cache) or roll back, and after checkpoints and a WAL
 * restart; the database passes integrity_check. */
static void test_wal_gather(void **state)
{
	struct t_env *env = *state;
	char path[600];
	sqlite3 *w = NULL, *r = NULL;
	int rows = 0;

	assert_non_null(sqlite3_vfs_find("parley-wal"));
	snprintf(path, sizeof path, "%s/gather.db", env->dir);
	assert_int_equal(sqlite3_open_v2(path, &w, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, "parley-wal"), SQLITE_OK);
	t_exec(w, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA cache_size=8;"
		  "CREATE TABLE t(id INTEGER PRIMARY KEY, v BLOB); CREATE INDEX t_v ON t(v)");
	assert_int_equal(sqlite3_open_v2(path, &r, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	for (int round = 0; round < 12; round++) {
		int n = round % 3 == 0 ? 400 : round % 3 == 1 ? 1 : 20; /* 400 rows: ~1 MiB of frames */
		char sql[160];

		if (round == 6)
			t_exec(w, "PRAGMA synchronous=NORMAL");
		if (round == 9)
			t_exec(w, "PRAGMA wal_checkpoint(TRUNCATE)"); /* the WAL starts over */
		snprintf(sql, sizeof sql,
			 "BEGIN; WITH RECURSIVE k(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM k WHERE i < %d)"
			 " INSERT INTO t(v) SELECT randomblob(1000 + i %% 500) FROM k; %s",
			 n, round % 4 == 3 ? "ROLLBACK" : "COMMIT");
		t_exec(w, sql);
		if (round % 4 != 3)
			rows += n;
		assert_int_equal(t_count(r, "t"), rows);
		if (round == 4)
			t_exec(w, "PRAGMA wal_checkpoint(PASSIVE)");
	}
	/* An update of rows spread over the table: pages written again. */
	t_exec(w, "UPDATE t SET v = randomblob(900) WHERE id % 7 = 0");
	assert_int_equal(t_count(r, "t"), rows);
	{
		sqlite3_stmt *q = NULL;
		assert_int_equal(sqlite3_prepare_v2(r, "PRAGMA integrity_check", -1, &q, NULL), SQLITE_OK);
		assert_int_equal(sqlite3_step(q), SQLITE_ROW);
		assert_string_equal((const char *)sqlite3_column_text(q, 0), "ok");
		sqlite3_finalize(q);
	}
	sqlite3_close(r);
	sqlite3_close(w);
	/* Reopened through the plain VFS: all of it is on disk. */
	assert_int_equal(sqlite3_open_v2(path, &r, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
	assert_int_equal(t_count(r, "t"), rows);
	sqlite3_close(r);
}

int main(void)
{
	/* As parleyd's main does: every store below writes its WAL through the
	 * gatherer. */
	if (store_sqlite_setup_process() < 0)
		return 1;
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_open_creates_dir, t_setup, t_teardown),
		cmocka_unit_test_setup_teardown(test_readonly_missing_db_fails, t_setup, t_teardown),
		cmocka_unit_test_setup_teardown(test_reopen_keeps_data, t_setup, t_teardown),
		cmocka_unit_test_setup_teardown(test_migrate_search_index, t_setup, t_teardown),
		cmocka_unit_test_setup_teardown(test_index_defer, t_setup, t_teardown),
		cmocka_unit_test_setup_teardown(test_search_many_batches, t_setup, t_teardown),
		cmocka_unit_test_setup_teardown(test_readonly_sees_committed, t_setup, t_teardown),
		cmocka_unit_test_setup_teardown(test_message_put_guess, t_setup, t_teardown),
		cmocka_unit_test_setup_teardown(test_message_gid_cache, t_setup, t_teardown),
		cmocka_unit_test_setup_teardown(test_read_transaction, t_setup, t_teardown),
		cmocka_unit_test_setup_teardown(test_checkpoint, t_setup, t_teardown),
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
		cmocka_unit_test_setup_teardown(test_changes_bare, t_setup, t_teardown),
		cmocka_unit_test_setup_teardown(test_edit_in_transaction, t_setup, t_teardown),
		cmocka_unit_test_setup_teardown(test_group_commit_large, t_setup, t_teardown),
		cmocka_unit_test_setup_teardown(test_dialogs_same_second, t_setup, t_teardown),
		cmocka_unit_test_setup_teardown(test_search_same_second, t_setup, t_teardown),
		cmocka_unit_test_setup_teardown(test_user_log, t_setup, t_teardown),
		cmocka_unit_test_setup_teardown(test_chat_log, t_setup, t_teardown),
		cmocka_unit_test_setup_teardown(test_update_prune, t_setup, t_teardown),
		cmocka_unit_test_setup_teardown(test_update_prune_owners, t_setup, t_teardown),
		cmocka_unit_test_setup_teardown(test_update_prune_drain, t_setup, t_teardown),
		cmocka_unit_test_setup_teardown(test_update_payload_check, t_setup, t_teardown),
		cmocka_unit_test_setup_teardown(test_migrate_log_indexes, t_setup, t_teardown),
		cmocka_unit_test_setup_teardown(test_payload_redact, t_setup, t_teardown),
		cmocka_unit_test_setup_teardown(test_chat_notes, t_setup, t_teardown),
		cmocka_unit_test_setup_teardown(test_payload_views, t_setup, t_teardown),
		cmocka_unit_test_setup_teardown(test_migrate_payload_views, t_setup, t_teardown),
		cmocka_unit_test_setup_teardown(test_large_chats, t_setup, t_teardown),
		cmocka_unit_test_setup_teardown(test_member_ids, t_setup, t_teardown),
		cmocka_unit_test_setup_teardown(test_contact_ids, t_setup, t_teardown),
		cmocka_unit_test_setup_teardown(test_presence, t_setup, t_teardown),
		cmocka_unit_test_setup_teardown(test_fanout_cost, t_setup, t_teardown),
		cmocka_unit_test_setup_teardown(test_cache_users, t_setup, t_teardown),
		cmocka_unit_test_setup_teardown(test_cache_sessions, t_setup, t_teardown),
		cmocka_unit_test_setup_teardown(test_cache_blocks, t_setup, t_teardown),
		cmocka_unit_test_setup_teardown(test_cache_members, t_setup, t_teardown),
		cmocka_unit_test_setup_teardown(test_cache_restrictions, t_setup, t_teardown),
		cmocka_unit_test_setup_teardown(test_cache_chats, t_setup, t_teardown),
		cmocka_unit_test_setup_teardown(test_cache_pts, t_setup, t_teardown),
		cmocka_unit_test_setup_teardown(test_cache_rollback, t_setup, t_teardown),
		cmocka_unit_test_setup_teardown(test_cache_other_writer, t_setup, t_teardown),
		cmocka_unit_test_setup_teardown(test_pts_deferred, t_setup, t_teardown),
		cmocka_unit_test_setup_teardown(test_wal_gather, t_setup, t_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
