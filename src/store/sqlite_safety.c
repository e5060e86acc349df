/*
 * sqlite_safety.c — the trust & safety ops of the SQLite backend: roles,
 * trusted flaggers, cases, signals, statements of reasons, appeals,
 * territorial restrictions, the IP-to-country table and what chat admins
 * did (store.h; tables in sqlite_schema.c, migration 6).
 *
 * Same conventions as store_sqlite.c: statements prepared once per handle
 * (in its ext slots), text bound SQLITE_STATIC and unbound before returning,
 * rows passed to callbacks valid only during the call.  None of these ops
 * writes more than one statement, so each is atomic on its own; the writer's
 * savepoint around a call makes a call's several ops atomic together.
 */
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "safety/moderation.h"
#include "store/store.h"
#include "store/store_sqlite_int.h"

#define CASE_COLS "id, target, chat_id, msg_id, user_id, status, category, priority, base_priority, signals," \
	" deadline, flagged, opened_at, updated_at, closed_at, statement_id"
#define SIGNAL_COLS "sg.id, sg.case_id, sg.kind, sg.reporter_id, sg.flagger_id, sg.category, sg.created_at," \
	" sg.deadline, sg.status, sg.statement_id, ifnull(sg.reference, ''), sg.name, sg.email, sg.text," \
	" sg.plaintext, sg.location"
#define STATEMENT_COLS "id, case_id, action, decided_by, created_at, target, affected_user_id, chat_id, msg_id," \
	" category, ground, manifestly_illegal, automated_detection, automated_decision, source, content_date," \
	" end_date, territories, appeal_until, reverses, reversed_by, reference, facts, text"
#define APPEAL_COLS "id, statement_id, appellant_id, reference, created_at, status, decided_by, decided_at," \
	" result_statement_id, text, outcome"
#define FLAGGER_COLS "id, name, email, key_hash, created_at, active, notices, upheld, dismissed"

enum sqs_id {
	Q_SUSPEND, Q_COUNTRY, Q_CHAT_BAN, Q_MSG_BY_SENDER, Q_MSG_STATEMENT,
	Q_ROLE_GET, Q_ROLE_PUT, Q_ROLE_DEL, Q_ROLE_LIST,
	Q_FLAGGER_ADD, Q_FLAGGER_GET, Q_FLAGGER_KEY, Q_FLAGGER_LIST, Q_FLAGGER_COUNT,
	Q_CASE_ADD, Q_CASE_GET, Q_CASE_OPEN, Q_CASE_UPDATE, Q_CASE_QUEUE, Q_CASE_COUNT, Q_CASE_CHAT,
	Q_SIGNAL_ADD, Q_SIGNAL_REF, Q_SIGNAL_CASE, Q_SIGNAL_CHAT, Q_SIGNAL_CLOSE, Q_SIGNAL_REOPEN,
	Q_ST_ADD, Q_ST_GET, Q_ST_TEXT, Q_ST_REVERSED, Q_ST_RANGE, Q_ST_SUBJECT, Q_ST_WARNINGS,
	Q_ST_MSG_ADD, Q_ST_MSG_LIST,
	Q_APPEAL_ADD, Q_APPEAL_GET, Q_APPEAL_LIST, Q_APPEAL_LIST_ANY, Q_APPEAL_STATEMENT, Q_APPEAL_UPDATE,
	Q_RESTR_ADD, Q_RESTR_END, Q_RESTR_CHAT, Q_RESTR_COUNT,
	Q_GEO_CLEAR, Q_GEO_ADD, Q_GEO_LOOKUP,
	Q_ADMIN_ADD, Q_ADMIN_LIST,
	Q_META_GET, Q_META_SET,
	Q__COUNT
};

/* The media ops' statements take the ext slots from SQ_MEDIA_STMT_BASE on. */
_Static_assert(Q__COUNT <= SQ_MEDIA_STMT_BASE, "safety statements overlap the media ones");

static const char *const sqs_sql[Q__COUNT] = {
	[Q_SUSPEND] = "UPDATE users SET suspended_until = ?2, suspend_statement = ?3 WHERE id = ?1",
	[Q_COUNTRY] = "UPDATE users SET country = ?2 WHERE id = ?1",
	[Q_CHAT_BAN] = "UPDATE chats SET ban_statement = ?2 WHERE id = ?1",
	[Q_MSG_BY_SENDER] = "SELECT id FROM messages WHERE chat_id = ?1 AND sender_id = ?2 AND deleted = 0"
		" AND service = 0 ORDER BY id",
	[Q_MSG_STATEMENT] = "UPDATE messages SET statement_id = ?3 WHERE chat_id = ?1 AND id = ?2",

	[Q_ROLE_GET] = "SELECT role FROM user_roles WHERE user_id = ?1",
	[Q_ROLE_PUT] = "INSERT INTO user_roles(user_id, role, granted_by, granted_at) VALUES(?1, ?2, ?3, ?4)"
		" ON CONFLICT(user_id) DO UPDATE SET role = excluded.role, granted_by = excluded.granted_by,"
		" granted_at = excluded.granted_at",
	[Q_ROLE_DEL] = "DELETE FROM user_roles WHERE user_id = ?1",
	[Q_ROLE_LIST] = "SELECT user_id, role, granted_by, granted_at FROM user_roles ORDER BY role DESC, user_id",

	[Q_FLAGGER_ADD] = "INSERT INTO flaggers(name, email, key_hash, created_at, active) VALUES(?1, ?2, ?3, ?4, ?5)",
	[Q_FLAGGER_GET] = "SELECT " FLAGGER_COLS " FROM flaggers WHERE id = ?1",
	[Q_FLAGGER_KEY] = "SELECT " FLAGGER_COLS " FROM flaggers WHERE key_hash = ?1",
	[Q_FLAGGER_LIST] = "SELECT " FLAGGER_COLS " FROM flaggers ORDER BY id",
	[Q_FLAGGER_COUNT] = "UPDATE flaggers SET notices = notices + ?2, upheld = max(0, upheld + ?3),"
		" dismissed = max(0, dismissed + ?4) WHERE id = ?1",

	[Q_CASE_ADD] = "INSERT INTO cases(target, chat_id, msg_id, user_id, status, category, priority, base_priority,"
		" signals, deadline, flagged, opened_at, updated_at, closed_at, statement_id)"
		" VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)",
	[Q_CASE_GET] = "SELECT " CASE_COLS " FROM cases WHERE id = ?1",
	/* "status = 0" is spelled as in the partial index cases_open. */
	[Q_CASE_OPEN] = "SELECT " CASE_COLS " FROM cases WHERE target = ?1 AND chat_id = ?2 AND msg_id = ?3"
		" AND user_id = ?4 AND status = 0",
	[Q_CASE_UPDATE] = "UPDATE cases SET status = ?2, category = ?3, priority = ?4, base_priority = ?5,"
		" signals = ?6, deadline = ?7, flagged = ?8, updated_at = ?9, closed_at = ?10, statement_id = ?11"
		" WHERE id = ?1",
	[Q_CASE_QUEUE] = "SELECT " CASE_COLS " FROM cases INDEXED BY cases_queue WHERE status = 0"
		" ORDER BY priority DESC, deadline, id LIMIT ?1 OFFSET ?2",
	[Q_CASE_COUNT] = "SELECT count(*), ifnull(sum(deadline < ?1), 0) FROM cases WHERE status = 0",
	[Q_CASE_CHAT] = "SELECT count(*) FROM cases WHERE chat_id = ?1",

	[Q_SIGNAL_ADD] = "INSERT INTO signals(case_id, kind, reporter_id, flagger_id, category, created_at, deadline,"
		" status, statement_id, reference, name, email, text, plaintext, location)"
		" VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)",
	[Q_SIGNAL_REF] = "SELECT " SIGNAL_COLS " FROM signals sg WHERE sg.reference = ?1",
	[Q_SIGNAL_CASE] = "SELECT " SIGNAL_COLS " FROM signals sg WHERE sg.case_id = ?1 ORDER BY sg.id DESC LIMIT ?2",
	[Q_SIGNAL_CHAT] = "SELECT " SIGNAL_COLS " FROM cases c JOIN signals sg ON sg.case_id = c.id"
		" WHERE c.chat_id = ?1 AND sg.kind = ?2 ORDER BY sg.id DESC LIMIT ?3 OFFSET ?4",
	[Q_SIGNAL_CLOSE] = "UPDATE signals SET status = ?2, statement_id = ?3 WHERE case_id = ?1 AND status = 0",
	[Q_SIGNAL_REOPEN] = "UPDATE signals SET status = 0, statement_id = 0 WHERE case_id = ?1 AND statement_id = ?2",

	[Q_ST_ADD] = "INSERT INTO statements(case_id, action, decided_by, created_at, target, affected_user_id,"
		" chat_id, msg_id, category, ground, manifestly_illegal, automated_detection, automated_decision,"
		" source, content_date, end_date, territories, appeal_until, reverses, reversed_by, reference,"
		" facts, text) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17,"
		" ?18, ?19, ?20, ?21, ?22, ?23)",
	[Q_ST_GET] = "SELECT " STATEMENT_COLS " FROM statements WHERE id = ?1",
	[Q_ST_TEXT] = "UPDATE statements SET text = ?2 WHERE id = ?1",
	[Q_ST_REVERSED] = "UPDATE statements SET reversed_by = ?2 WHERE id = ?1",
	[Q_ST_RANGE] = "SELECT " STATEMENT_COLS " FROM statements WHERE created_at >= ?1 AND created_at < ?2"
		" AND id > ?3 ORDER BY id LIMIT ?4",
	[Q_ST_SUBJECT] = "SELECT " STATEMENT_COLS " FROM statements WHERE (?1 != 0 AND affected_user_id = ?1)"
		" OR (?2 != 0 AND chat_id = ?2) ORDER BY id DESC LIMIT ?3",
	[Q_ST_WARNINGS] = "SELECT count(*) FROM statements WHERE affected_user_id = ?1 AND action = ?2"
		" AND reversed_by = 0",
	[Q_ST_MSG_ADD] = "INSERT OR IGNORE INTO statement_messages(statement_id, chat_id, msg_id) VALUES(?1, ?2, ?3)",
	[Q_ST_MSG_LIST] = "SELECT chat_id, msg_id FROM statement_messages WHERE statement_id = ?1"
		" ORDER BY chat_id, msg_id",

	[Q_APPEAL_ADD] = "INSERT INTO appeals(statement_id, appellant_id, reference, created_at, status, text)"
		" VALUES(?1, ?2, ?3, ?4, 0, ?5)",
	[Q_APPEAL_GET] = "SELECT " APPEAL_COLS " FROM appeals WHERE id = ?1",
	[Q_APPEAL_LIST] = "SELECT " APPEAL_COLS " FROM appeals WHERE status = ?1 ORDER BY id LIMIT ?2 OFFSET ?3",
	[Q_APPEAL_LIST_ANY] = "SELECT " APPEAL_COLS " FROM appeals ORDER BY id LIMIT ?2 OFFSET ?3",
	[Q_APPEAL_STATEMENT] = "SELECT " APPEAL_COLS " FROM appeals WHERE statement_id = ?1 ORDER BY id",
	[Q_APPEAL_UPDATE] = "UPDATE appeals SET status = ?2, decided_by = ?3, decided_at = ?4,"
		" result_statement_id = ?5, outcome = ?6 WHERE id = ?1",

	[Q_RESTR_ADD] = "INSERT INTO restrictions(chat_id, msg_id, territories, statement_id, created_at, active)"
		" VALUES(?1, ?2, ?3, ?4, ?5, 1)",
	[Q_RESTR_END] = "UPDATE restrictions SET active = 0 WHERE statement_id = ?1 AND active = 1",
	/* "active = 1" is spelled as in the partial index restrictions_chat. */
	[Q_RESTR_CHAT] = "SELECT id, chat_id, msg_id, territories, statement_id, created_at FROM restrictions"
		" WHERE chat_id = ?1 AND active = 1 ORDER BY id",
	[Q_RESTR_COUNT] = "SELECT count(*) FROM restrictions WHERE active = 1",

	[Q_GEO_CLEAR] = "DELETE FROM geoip",
	[Q_GEO_ADD] = "INSERT OR REPLACE INTO geoip(start, end, country) VALUES(?1, ?2, ?3)",
	[Q_GEO_LOOKUP] = "SELECT end, country FROM geoip WHERE start <= ?1 ORDER BY start DESC LIMIT 1",

	[Q_ADMIN_ADD] = "INSERT INTO chat_admin_actions(chat_id, actor_id, action, msg_id, user_id, created_at)"
		" VALUES(?1, ?2, ?3, ?4, ?5, ?6)",
	[Q_ADMIN_LIST] = "SELECT id, chat_id, actor_id, action, msg_id, user_id, created_at FROM chat_admin_actions"
		" WHERE chat_id = ?1 AND created_at >= ?2 ORDER BY id DESC LIMIT ?3",

	[Q_META_GET] = "SELECT value FROM safety_meta WHERE key = ?1",
	[Q_META_SET] = "INSERT INTO safety_meta(key, value) VALUES(?1, ?2)"
		" ON CONFLICT(key) DO UPDATE SET value = excluded.value",
};

/* ---- statement helpers ---- */

static int prep(struct store *s, enum sqs_id id, sqlite3_stmt **q)
{
	return store_sqlite_stmt(s, (int)id, sqs_sql[id], q);
}

/* Runs a write that must change one row: PL_NOTFOUND if it changed none. */
static int run_one(struct store *s, sqlite3_stmt *q)
{
	int rc = store_sqlite_run(q);

	if (rc == 0 && sqlite3_changes(store_sqlite_db(s)) == 0)
		rc = PL_NOTFOUND;
	return rc;
}

static int bind_text(sqlite3_stmt *q, int i, const char *t)
{
	int rc = t ? sqlite3_bind_text64(q, i, t, strlen(t), SQLITE_STATIC, SQLITE_UTF8) : sqlite3_bind_null(q, i);

	return rc == SQLITE_TOOBIG ? PL_TOOBIG : store_sqlite_err(rc);
}

/* Binds a fixed field (never longer than size). */
static void bind_field(sqlite3_stmt *q, int i, const char *f, size_t size)
{
	sqlite3_bind_text(q, i, f, (int)strnlen(f, size), SQLITE_STATIC);
}

/* Copies a text column into a fixed field, never cutting a UTF-8 sequence. */
static void col_copy(sqlite3_stmt *q, int col, char *dst, size_t size)
{
	const char *src = (const char *)sqlite3_column_text(q, col);
	size_t n = src ? (size_t)sqlite3_column_bytes(q, col) : 0;

	if (n >= size) {
		n = size - 1;
		while (n > 0 && ((unsigned char)src[n] & 0xC0) == 0x80)
			n--;
	}
	if (n)
		memcpy(dst, src, n);
	dst[n] = 0;
}

/* A text column: borrowed (valid until the statement moves) or a malloc'd
 * copy.  NULL stays NULL when nullable, else becomes "". */
static char *col_text(sqlite3_stmt *q, int col, int copy, int nullable, int *oom)
{
	const char *t = (const char *)sqlite3_column_text(q, col);
	char *c;

	if (!t && nullable)
		return NULL;
	if (!t)
		t = "";
	if (!copy)
		return (char *)t;
	if (!(c = strdup(t)))
		*oom = 1;
	return c;
}

/* Runs a one-value query (count, role, ...) with up to two integer
 * parameters; *out gets column 0 of the row (0 if there is none). */
static int scalar(struct store *s, enum sqs_id id, int64_t a, int64_t b, int nparams, int64_t *out)
{
	sqlite3_stmt *q = NULL;
	int rc;

	*out = 0;
	if ((rc = prep(s, id, &q)) < 0)
		goto out;
	sqlite3_bind_int64(q, 1, a);
	if (nparams > 1)
		sqlite3_bind_int64(q, 2, b);
	if ((rc = store_sqlite_int(q, out)) == PL_NOTFOUND)
		rc = 0;
out:
	store_sqlite_done(q);
	return rc;
}

/* Runs a write with integer parameters v[0..n-1]; with one, PL_NOTFOUND
 * when no row changed. */
static int write_ints(struct store *s, enum sqs_id id, const int64_t *v, int n, int one)
{
	sqlite3_stmt *q = NULL;
	int rc;

	if ((rc = prep(s, id, &q)) < 0)
		goto out;
	for (int i = 0; i < n; i++)
		sqlite3_bind_int64(q, i + 1, v[i]);
	rc = one ? run_one(s, q) : store_sqlite_run(q);
out:
	store_sqlite_done(q);
	return rc;
}

/* ---- accounts, chats, messages ---- */

int sqs_user_set_suspension(struct store *s, int64_t user_id, int64_t until, int64_t statement_id)
{
	sq_cache_user_drop(store_sqlite_cache_any(s), user_id);
	return write_ints(s, Q_SUSPEND, (int64_t[]){user_id, until, statement_id}, 3, 1);
}

int sqs_user_set_country(struct store *s, int64_t user_id, const char *country)
{
	sqlite3_stmt *q = NULL;
	int rc;

	sq_cache_user_drop(store_sqlite_cache_any(s), user_id);
	if ((rc = prep(s, Q_COUNTRY, &q)) < 0)
		goto out;
	sqlite3_bind_int64(q, 1, user_id);
	bind_field(q, 2, country ? country : "", STORE_COUNTRY_SZ);
	rc = run_one(s, q);
out:
	store_sqlite_done(q);
	return rc;
}

int sqs_chat_set_ban(struct store *s, int64_t chat_id, int64_t statement_id)
{
	sq_cache_chat_drop(store_sqlite_cache_any(s), chat_id);
	return write_ints(s, Q_CHAT_BAN, (int64_t[]){chat_id, statement_id}, 2, 1);
}

int sqs_message_ids_by_sender(struct store *s, int64_t chat_id, int64_t sender_id, store_id_cb cb, void *ctx)
{
	sqlite3_stmt *q = NULL;
	int rc;

	if ((rc = prep(s, Q_MSG_BY_SENDER, &q)) < 0)
		goto out;
	sqlite3_bind_int64(q, 1, chat_id);
	sqlite3_bind_int64(q, 2, sender_id);
	while ((rc = store_sqlite_row(q)) > 0)
		if ((rc = cb(ctx, sqlite3_column_int64(q, 0))) != 0)
			goto out;
out:
	store_sqlite_done(q);
	return rc;
}

int sqs_message_set_statement(struct store *s, int64_t chat_id, int64_t id, int64_t statement_id)
{
	return write_ints(s, Q_MSG_STATEMENT, (int64_t[]){chat_id, id, statement_id}, 3, 1);
}

/* ---- roles ---- */

int sqs_role_get(struct store *s, int64_t user_id, int *role)
{
	int64_t v = 0;
	int rc = scalar(s, Q_ROLE_GET, user_id, 0, 1, &v);

	*role = rc < 0 ? 0 : (int)v;
	return rc;
}

int sqs_role_set(struct store *s, int64_t user_id, int role, int64_t granted_by, int64_t now)
{
	if (role == 0)
		return write_ints(s, Q_ROLE_DEL, (int64_t[]){user_id}, 1, 0);
	return write_ints(s, Q_ROLE_PUT, (int64_t[]){user_id, role, granted_by, now}, 4, 0);
}

int sqs_role_list(struct store *s, store_role_cb cb, void *ctx)
{
	sqlite3_stmt *q = NULL;
	int rc;

	if ((rc = prep(s, Q_ROLE_LIST, &q)) < 0)
		goto out;
	while ((rc = store_sqlite_row(q)) > 0)
		if ((rc = cb(ctx, sqlite3_column_int64(q, 0), sqlite3_column_int(q, 1), sqlite3_column_int64(q, 2),
			     sqlite3_column_int64(q, 3))) != 0)
			goto out;
out:
	store_sqlite_done(q);
	return rc;
}

/* ---- trusted flaggers ---- */

static void read_flagger(sqlite3_stmt *q, struct store_flagger *f)
{
	memset(f, 0, sizeof *f);
	f->id = sqlite3_column_int64(q, 0);
	col_copy(q, 1, f->name, sizeof f->name);
	col_copy(q, 2, f->email, sizeof f->email);
	col_copy(q, 3, f->key_hash, sizeof f->key_hash);
	f->created_at = sqlite3_column_int64(q, 4);
	f->active = sqlite3_column_int(q, 5);
	f->notices = sqlite3_column_int64(q, 6);
	f->upheld = sqlite3_column_int64(q, 7);
	f->dismissed = sqlite3_column_int64(q, 8);
}

int sqs_flagger_create(struct store *s, struct store_flagger *f)
{
	sqlite3_stmt *q = NULL;
	int rc;

	if ((rc = prep(s, Q_FLAGGER_ADD, &q)) < 0)
		goto out;
	bind_field(q, 1, f->name, sizeof f->name);
	bind_field(q, 2, f->email, sizeof f->email);
	bind_field(q, 3, f->key_hash, sizeof f->key_hash);
	sqlite3_bind_int64(q, 4, f->created_at);
	sqlite3_bind_int(q, 5, f->active);
	if ((rc = store_sqlite_run(q)) == 0)
		f->id = sqlite3_last_insert_rowid(store_sqlite_db(s));
out:
	store_sqlite_done(q);
	return rc;
}

static int flagger_one(struct store *s, enum sqs_id id, int64_t key, const char *text, struct store_flagger *out)
{
	sqlite3_stmt *q = NULL;
	int rc;

	if ((rc = prep(s, id, &q)) < 0)
		goto out;
	if (text)
		sqlite3_bind_text(q, 1, text, -1, SQLITE_STATIC);
	else
		sqlite3_bind_int64(q, 1, key);
	if ((rc = store_sqlite_row(q)) == 0)
		rc = PL_NOTFOUND;
	if (rc > 0) {
		read_flagger(q, out);
		rc = 0;
	}
out:
	store_sqlite_done(q);
	return rc;
}

int sqs_flagger_get(struct store *s, int64_t id, struct store_flagger *out)
{
	return flagger_one(s, Q_FLAGGER_GET, id, NULL, out);
}

int sqs_flagger_find_key(struct store *s, const char *key_hash, struct store_flagger *out)
{
	return key_hash ? flagger_one(s, Q_FLAGGER_KEY, 0, key_hash, out) : PL_NOTFOUND;
}

int sqs_flagger_list(struct store *s, store_flagger_cb cb, void *ctx)
{
	struct store_flagger f;
	sqlite3_stmt *q = NULL;
	int rc;

	if ((rc = prep(s, Q_FLAGGER_LIST, &q)) < 0)
		goto out;
	while ((rc = store_sqlite_row(q)) > 0) {
		read_flagger(q, &f);
		if ((rc = cb(ctx, &f)) != 0)
			goto out;
	}
out:
	store_sqlite_done(q);
	return rc;
}

int sqs_flagger_count(struct store *s, int64_t id, int64_t notices, int64_t upheld, int64_t dismissed)
{
	return write_ints(s, Q_FLAGGER_COUNT, (int64_t[]){id, notices, upheld, dismissed}, 4, 1);
}

/* ---- cases ---- */

static void read_case(sqlite3_stmt *q, struct store_case *c)
{
	c->id = sqlite3_column_int64(q, 0);
	c->target = sqlite3_column_int(q, 1);
	c->chat_id = sqlite3_column_int64(q, 2);
	c->msg_id = sqlite3_column_int64(q, 3);
	c->user_id = sqlite3_column_int64(q, 4);
	c->status = sqlite3_column_int(q, 5);
	c->category = sqlite3_column_int(q, 6);
	c->priority = sqlite3_column_int(q, 7);
	c->base_priority = sqlite3_column_int(q, 8);
	c->signals = sqlite3_column_int64(q, 9);
	c->deadline = sqlite3_column_int64(q, 10);
	c->flagged = sqlite3_column_int(q, 11);
	c->opened_at = sqlite3_column_int64(q, 12);
	c->updated_at = sqlite3_column_int64(q, 13);
	c->closed_at = sqlite3_column_int64(q, 14);
	c->statement_id = sqlite3_column_int64(q, 15);
}

int sqs_case_create(struct store *s, struct store_case *c)
{
	sqlite3_stmt *q = NULL;
	int rc;

	if ((rc = prep(s, Q_CASE_ADD, &q)) < 0)
		goto out;
	sqlite3_bind_int(q, 1, c->target);
	sqlite3_bind_int64(q, 2, c->chat_id);
	sqlite3_bind_int64(q, 3, c->msg_id);
	sqlite3_bind_int64(q, 4, c->user_id);
	sqlite3_bind_int(q, 5, c->status);
	sqlite3_bind_int(q, 6, c->category);
	sqlite3_bind_int(q, 7, c->priority);
	sqlite3_bind_int(q, 8, c->base_priority);
	sqlite3_bind_int64(q, 9, c->signals);
	sqlite3_bind_int64(q, 10, c->deadline);
	sqlite3_bind_int(q, 11, c->flagged);
	sqlite3_bind_int64(q, 12, c->opened_at);
	sqlite3_bind_int64(q, 13, c->updated_at);
	sqlite3_bind_int64(q, 14, c->closed_at);
	sqlite3_bind_int64(q, 15, c->statement_id);
	if ((rc = store_sqlite_run(q)) == 0)
		c->id = sqlite3_last_insert_rowid(store_sqlite_db(s));
out:
	store_sqlite_done(q);
	return rc;
}

/* Runs a case query bound to v[0..n-1] and reads its first row. */
static int case_one(struct store *s, enum sqs_id id, const int64_t *v, int n, struct store_case *out)
{
	sqlite3_stmt *q = NULL;
	int rc;

	if ((rc = prep(s, id, &q)) < 0)
		goto out;
	for (int i = 0; i < n; i++)
		sqlite3_bind_int64(q, i + 1, v[i]);
	if ((rc = store_sqlite_row(q)) == 0)
		rc = PL_NOTFOUND;
	if (rc > 0) {
		read_case(q, out);
		rc = 0;
	}
out:
	store_sqlite_done(q);
	return rc;
}

int sqs_case_get(struct store *s, int64_t id, struct store_case *out)
{
	return case_one(s, Q_CASE_GET, (int64_t[]){id}, 1, out);
}

int sqs_case_find_open(struct store *s, int target, int64_t chat_id, int64_t msg_id, int64_t user_id,
		       struct store_case *out)
{
	return case_one(s, Q_CASE_OPEN, (int64_t[]){target, chat_id, msg_id, user_id}, 4, out);
}

int sqs_case_update(struct store *s, const struct store_case *c)
{
	return write_ints(s, Q_CASE_UPDATE,
			  (int64_t[]){c->id, c->status, c->category, c->priority, c->base_priority, c->signals,
				      c->deadline, c->flagged, c->updated_at, c->closed_at, c->statement_id},
			  11, 1);
}

int sqs_case_queue(struct store *s, int limit, int64_t offset, store_case_cb cb, void *ctx)
{
	struct store_case c;
	sqlite3_stmt *q = NULL;
	int rc;

	if ((rc = prep(s, Q_CASE_QUEUE, &q)) < 0)
		goto out;
	sqlite3_bind_int(q, 1, limit);
	sqlite3_bind_int64(q, 2, offset);
	while ((rc = store_sqlite_row(q)) > 0) {
		read_case(q, &c);
		if ((rc = cb(ctx, &c)) != 0)
			goto out;
	}
out:
	store_sqlite_done(q);
	return rc;
}

int sqs_case_count_open(struct store *s, int64_t now, int64_t *open, int64_t *overdue)
{
	sqlite3_stmt *q = NULL;
	int rc;

	*open = *overdue = 0;
	if ((rc = prep(s, Q_CASE_COUNT, &q)) < 0)
		goto out;
	sqlite3_bind_int64(q, 1, now);
	if ((rc = store_sqlite_row(q)) > 0) {
		*open = sqlite3_column_int64(q, 0);
		*overdue = sqlite3_column_int64(q, 1);
		rc = 0;
	}
out:
	store_sqlite_done(q);
	return rc;
}

int sqs_case_count_chat(struct store *s, int64_t chat_id, int64_t *out)
{
	return scalar(s, Q_CASE_CHAT, chat_id, 0, 1, out);
}

/* ---- signals ---- */

void store_signal_release(struct store_signal *sg)
{
	if (!sg)
		return;
	free(sg->text);
	free(sg->plaintext);
	free(sg->location);
	sg->text = sg->plaintext = sg->location = NULL;
}

static int read_signal(sqlite3_stmt *q, struct store_signal *sg, int copy)
{
	int oom = 0;

	memset(sg, 0, sizeof *sg);
	sg->id = sqlite3_column_int64(q, 0);
	sg->case_id = sqlite3_column_int64(q, 1);
	sg->kind = sqlite3_column_int(q, 2);
	sg->reporter_id = sqlite3_column_int64(q, 3);
	sg->flagger_id = sqlite3_column_int64(q, 4);
	sg->category = sqlite3_column_int(q, 5);
	sg->created_at = sqlite3_column_int64(q, 6);
	sg->deadline = sqlite3_column_int64(q, 7);
	sg->status = sqlite3_column_int(q, 8);
	sg->statement_id = sqlite3_column_int64(q, 9);
	col_copy(q, 10, sg->reference, sizeof sg->reference);
	col_copy(q, 11, sg->name, sizeof sg->name);
	col_copy(q, 12, sg->email, sizeof sg->email);
	sg->text = col_text(q, 13, copy, 0, &oom);
	sg->plaintext = col_text(q, 14, copy, 1, &oom);
	sg->location = col_text(q, 15, copy, 0, &oom);
	if (oom) {
		store_signal_release(sg);
		return PL_NOMEM;
	}
	return 0;
}

int sqs_signal_create(struct store *s, struct store_signal *sg)
{
	sqlite3_stmt *q = NULL;
	int rc;

	if ((rc = prep(s, Q_SIGNAL_ADD, &q)) < 0)
		goto out;
	sqlite3_bind_int64(q, 1, sg->case_id);
	sqlite3_bind_int(q, 2, sg->kind);
	sqlite3_bind_int64(q, 3, sg->reporter_id);
	sqlite3_bind_int64(q, 4, sg->flagger_id);
	sqlite3_bind_int(q, 5, sg->category);
	sqlite3_bind_int64(q, 6, sg->created_at);
	sqlite3_bind_int64(q, 7, sg->deadline);
	sqlite3_bind_int(q, 8, sg->status);
	sqlite3_bind_int64(q, 9, sg->statement_id);
	if (sg->reference[0])
		bind_field(q, 10, sg->reference, sizeof sg->reference);
	else
		sqlite3_bind_null(q, 10);
	bind_field(q, 11, sg->name, sizeof sg->name);
	bind_field(q, 12, sg->email, sizeof sg->email);
	if ((rc = bind_text(q, 13, sg->text ? sg->text : "")) < 0 || (rc = bind_text(q, 14, sg->plaintext)) < 0 ||
	    (rc = bind_text(q, 15, sg->location ? sg->location : "")) < 0)
		goto out;
	if ((rc = store_sqlite_run(q)) == 0)
		sg->id = sqlite3_last_insert_rowid(store_sqlite_db(s));
out:
	store_sqlite_done(q);
	return rc;
}

int sqs_signal_get_ref(struct store *s, const char *reference, struct store_signal *out)
{
	sqlite3_stmt *q = NULL;
	int rc;

	memset(out, 0, sizeof *out);
	if (!reference || !*reference)
		return PL_NOTFOUND;
	if ((rc = prep(s, Q_SIGNAL_REF, &q)) < 0)
		goto out;
	sqlite3_bind_text(q, 1, reference, -1, SQLITE_STATIC);
	if ((rc = store_sqlite_row(q)) == 0)
		rc = PL_NOTFOUND;
	if (rc > 0)
		rc = read_signal(q, out, 1);
out:
	store_sqlite_done(q);
	return rc;
}

/* Runs a signal query bound to v[0..n-1], handing each row to cb. */
static int signal_each(struct store *s, enum sqs_id id, const int64_t *v, int n, store_signal_cb cb, void *ctx)
{
	struct store_signal sg;
	sqlite3_stmt *q = NULL;
	int rc;

	if ((rc = prep(s, id, &q)) < 0)
		goto out;
	for (int i = 0; i < n; i++)
		sqlite3_bind_int64(q, i + 1, v[i]);
	while ((rc = store_sqlite_row(q)) > 0) {
		read_signal(q, &sg, 0);
		if ((rc = cb(ctx, &sg)) != 0)
			goto out;
	}
out:
	store_sqlite_done(q);
	return rc;
}

int sqs_signal_list_case(struct store *s, int64_t case_id, int limit, store_signal_cb cb, void *ctx)
{
	return signal_each(s, Q_SIGNAL_CASE, (int64_t[]){case_id, limit}, 2, cb, ctx);
}

int sqs_signal_list_chat(struct store *s, int64_t chat_id, int kind, int limit, int64_t offset,
			 store_signal_cb cb, void *ctx)
{
	return signal_each(s, Q_SIGNAL_CHAT, (int64_t[]){chat_id, kind, limit, offset}, 4, cb, ctx);
}

int sqs_signal_close_case(struct store *s, int64_t case_id, int status, int64_t statement_id)
{
	return write_ints(s, Q_SIGNAL_CLOSE, (int64_t[]){case_id, status, statement_id}, 3, 0);
}

int sqs_signal_reopen(struct store *s, int64_t case_id, int64_t statement_id)
{
	return write_ints(s, Q_SIGNAL_REOPEN, (int64_t[]){case_id, statement_id}, 2, 0);
}

/* ---- statements of reasons ---- */

void store_statement_release(struct store_statement *st)
{
	if (!st)
		return;
	free(st->reference);
	free(st->facts);
	free(st->text);
	st->reference = st->facts = st->text = NULL;
}

static int read_statement(sqlite3_stmt *q, struct store_statement *st, int copy)
{
	int oom = 0;

	memset(st, 0, sizeof *st);
	st->id = sqlite3_column_int64(q, 0);
	st->case_id = sqlite3_column_int64(q, 1);
	st->action = sqlite3_column_int(q, 2);
	st->decided_by = sqlite3_column_int64(q, 3);
	st->created_at = sqlite3_column_int64(q, 4);
	st->target = sqlite3_column_int(q, 5);
	st->affected_user_id = sqlite3_column_int64(q, 6);
	st->chat_id = sqlite3_column_int64(q, 7);
	st->msg_id = sqlite3_column_int64(q, 8);
	st->category = sqlite3_column_int(q, 9);
	st->ground = sqlite3_column_int(q, 10);
	st->manifestly_illegal = sqlite3_column_int(q, 11);
	st->automated_detection = sqlite3_column_int(q, 12);
	st->automated_decision = sqlite3_column_int(q, 13);
	st->source = sqlite3_column_int(q, 14);
	st->content_date = sqlite3_column_int64(q, 15);
	st->end_date = sqlite3_column_int64(q, 16);
	col_copy(q, 17, st->territories, sizeof st->territories);
	st->appeal_until = sqlite3_column_int64(q, 18);
	st->reverses = sqlite3_column_int64(q, 19);
	st->reversed_by = sqlite3_column_int64(q, 20);
	st->reference = col_text(q, 21, copy, 0, &oom);
	st->facts = col_text(q, 22, copy, 0, &oom);
	st->text = col_text(q, 23, copy, 0, &oom);
	if (oom) {
		store_statement_release(st);
		return PL_NOMEM;
	}
	return 0;
}

int sqs_statement_create(struct store *s, struct store_statement *st)
{
	sqlite3_stmt *q = NULL;
	int rc;

	if ((rc = prep(s, Q_ST_ADD, &q)) < 0)
		goto out;
	sqlite3_bind_int64(q, 1, st->case_id);
	sqlite3_bind_int(q, 2, st->action);
	sqlite3_bind_int64(q, 3, st->decided_by);
	sqlite3_bind_int64(q, 4, st->created_at);
	sqlite3_bind_int(q, 5, st->target);
	sqlite3_bind_int64(q, 6, st->affected_user_id);
	sqlite3_bind_int64(q, 7, st->chat_id);
	sqlite3_bind_int64(q, 8, st->msg_id);
	sqlite3_bind_int(q, 9, st->category);
	sqlite3_bind_int(q, 10, st->ground);
	sqlite3_bind_int(q, 11, st->manifestly_illegal);
	sqlite3_bind_int(q, 12, st->automated_detection);
	sqlite3_bind_int(q, 13, st->automated_decision);
	sqlite3_bind_int(q, 14, st->source);
	sqlite3_bind_int64(q, 15, st->content_date);
	sqlite3_bind_int64(q, 16, st->end_date);
	bind_field(q, 17, st->territories, sizeof st->territories);
	sqlite3_bind_int64(q, 18, st->appeal_until);
	sqlite3_bind_int64(q, 19, st->reverses);
	sqlite3_bind_int64(q, 20, st->reversed_by);
	if ((rc = bind_text(q, 21, st->reference ? st->reference : "")) < 0 ||
	    (rc = bind_text(q, 22, st->facts ? st->facts : "")) < 0 || (rc = bind_text(q, 23, st->text ? st->text : "")) < 0)
		goto out;
	if ((rc = store_sqlite_run(q)) == 0)
		st->id = sqlite3_last_insert_rowid(store_sqlite_db(s));
out:
	store_sqlite_done(q);
	return rc;
}

int sqs_statement_get(struct store *s, int64_t id, struct store_statement *out)
{
	sqlite3_stmt *q = NULL;
	int rc;

	memset(out, 0, sizeof *out);
	if ((rc = prep(s, Q_ST_GET, &q)) < 0)
		goto out;
	sqlite3_bind_int64(q, 1, id);
	if ((rc = store_sqlite_row(q)) == 0)
		rc = PL_NOTFOUND;
	if (rc > 0)
		rc = read_statement(q, out, 1);
out:
	store_sqlite_done(q);
	return rc;
}

int sqs_statement_set_text(struct store *s, int64_t id, const char *text)
{
	sqlite3_stmt *q = NULL;
	int rc;

	if ((rc = prep(s, Q_ST_TEXT, &q)) < 0)
		goto out;
	sqlite3_bind_int64(q, 1, id);
	if ((rc = bind_text(q, 2, text ? text : "")) == 0)
		rc = run_one(s, q);
out:
	store_sqlite_done(q);
	return rc;
}

int sqs_statement_set_reversed(struct store *s, int64_t id, int64_t reversed_by)
{
	return write_ints(s, Q_ST_REVERSED, (int64_t[]){id, reversed_by}, 2, 1);
}

static int statement_each(struct store *s, enum sqs_id id, const int64_t *v, int n, store_statement_cb cb,
			  void *ctx)
{
	struct store_statement st;
	sqlite3_stmt *q = NULL;
	int rc;

	if ((rc = prep(s, id, &q)) < 0)
		goto out;
	for (int i = 0; i < n; i++)
		sqlite3_bind_int64(q, i + 1, v[i]);
	while ((rc = store_sqlite_row(q)) > 0) {
		read_statement(q, &st, 0);
		if ((rc = cb(ctx, &st)) != 0)
			goto out;
	}
out:
	store_sqlite_done(q);
	return rc;
}

int sqs_statement_list_range(struct store *s, int64_t from, int64_t to, int64_t after_id, int limit,
			     store_statement_cb cb, void *ctx)
{
	return statement_each(s, Q_ST_RANGE, (int64_t[]){from, to, after_id, limit}, 4, cb, ctx);
}

int sqs_statement_list_subject(struct store *s, int64_t user_id, int64_t chat_id, int limit,
			       store_statement_cb cb, void *ctx)
{
	return statement_each(s, Q_ST_SUBJECT, (int64_t[]){user_id, chat_id, limit}, 3, cb, ctx);
}

int sqs_statement_count_warnings(struct store *s, int64_t user_id, int64_t *out)
{
	return scalar(s, Q_ST_WARNINGS, user_id, MOD_ACT_WARN_USER, 2, out);
}

int sqs_statement_message_add(struct store *s, int64_t statement_id, int64_t chat_id, int64_t msg_id)
{
	return write_ints(s, Q_ST_MSG_ADD, (int64_t[]){statement_id, chat_id, msg_id}, 3, 0);
}

int sqs_statement_message_list(struct store *s, int64_t statement_id, store_msg_ref_cb cb, void *ctx)
{
	sqlite3_stmt *q = NULL;
	int rc;

	if ((rc = prep(s, Q_ST_MSG_LIST, &q)) < 0)
		goto out;
	sqlite3_bind_int64(q, 1, statement_id);
	while ((rc = store_sqlite_row(q)) > 0)
		if ((rc = cb(ctx, sqlite3_column_int64(q, 0), sqlite3_column_int64(q, 1))) != 0)
			goto out;
out:
	store_sqlite_done(q);
	return rc;
}

/* ---- appeals ---- */

void store_appeal_release(struct store_appeal *a)
{
	if (!a)
		return;
	free(a->text);
	free(a->outcome);
	a->text = a->outcome = NULL;
}

static int read_appeal(sqlite3_stmt *q, struct store_appeal *a, int copy)
{
	int oom = 0;

	memset(a, 0, sizeof *a);
	a->id = sqlite3_column_int64(q, 0);
	a->statement_id = sqlite3_column_int64(q, 1);
	a->appellant_id = sqlite3_column_int64(q, 2);
	col_copy(q, 3, a->reference, sizeof a->reference);
	a->created_at = sqlite3_column_int64(q, 4);
	a->status = sqlite3_column_int(q, 5);
	a->decided_by = sqlite3_column_int64(q, 6);
	a->decided_at = sqlite3_column_int64(q, 7);
	a->result_statement_id = sqlite3_column_int64(q, 8);
	a->text = col_text(q, 9, copy, 0, &oom);
	a->outcome = col_text(q, 10, copy, 0, &oom);
	if (oom) {
		store_appeal_release(a);
		return PL_NOMEM;
	}
	return 0;
}

int sqs_appeal_create(struct store *s, struct store_appeal *a)
{
	sqlite3_stmt *q = NULL;
	int rc;

	if ((rc = prep(s, Q_APPEAL_ADD, &q)) < 0)
		goto out;
	sqlite3_bind_int64(q, 1, a->statement_id);
	sqlite3_bind_int64(q, 2, a->appellant_id);
	bind_field(q, 3, a->reference, sizeof a->reference);
	sqlite3_bind_int64(q, 4, a->created_at);
	if ((rc = bind_text(q, 5, a->text ? a->text : "")) < 0)
		goto out;
	if ((rc = store_sqlite_run(q)) == 0)
		a->id = sqlite3_last_insert_rowid(store_sqlite_db(s));
out:
	store_sqlite_done(q);
	return rc;
}

int sqs_appeal_get(struct store *s, int64_t id, struct store_appeal *out)
{
	sqlite3_stmt *q = NULL;
	int rc;

	memset(out, 0, sizeof *out);
	if ((rc = prep(s, Q_APPEAL_GET, &q)) < 0)
		goto out;
	sqlite3_bind_int64(q, 1, id);
	if ((rc = store_sqlite_row(q)) == 0)
		rc = PL_NOTFOUND;
	if (rc > 0)
		rc = read_appeal(q, out, 1);
out:
	store_sqlite_done(q);
	return rc;
}

static int appeal_each(struct store *s, enum sqs_id id, const int64_t *v, int n, store_appeal_cb cb, void *ctx)
{
	struct store_appeal a;
	sqlite3_stmt *q = NULL;
	int rc;

	if ((rc = prep(s, id, &q)) < 0)
		goto out;
	for (int i = 0; i < n; i++)
		sqlite3_bind_int64(q, i + 1, v[i]);
	while ((rc = store_sqlite_row(q)) > 0) {
		read_appeal(q, &a, 0);
		if ((rc = cb(ctx, &a)) != 0)
			goto out;
	}
out:
	store_sqlite_done(q);
	return rc;
}

int sqs_appeal_list(struct store *s, int status, int limit, int64_t offset, store_appeal_cb cb, void *ctx)
{
	return appeal_each(s, status < 0 ? Q_APPEAL_LIST_ANY : Q_APPEAL_LIST, (int64_t[]){status, limit, offset}, 3,
			   cb, ctx);
}

int sqs_appeal_list_statement(struct store *s, int64_t statement_id, store_appeal_cb cb, void *ctx)
{
	return appeal_each(s, Q_APPEAL_STATEMENT, (int64_t[]){statement_id}, 1, cb, ctx);
}

int sqs_appeal_update(struct store *s, const struct store_appeal *a)
{
	sqlite3_stmt *q = NULL;
	int rc;

	if ((rc = prep(s, Q_APPEAL_UPDATE, &q)) < 0)
		goto out;
	sqlite3_bind_int64(q, 1, a->id);
	sqlite3_bind_int(q, 2, a->status);
	sqlite3_bind_int64(q, 3, a->decided_by);
	sqlite3_bind_int64(q, 4, a->decided_at);
	sqlite3_bind_int64(q, 5, a->result_statement_id);
	if ((rc = bind_text(q, 6, a->outcome ? a->outcome : "")) == 0)
		rc = run_one(s, q);
out:
	store_sqlite_done(q);
	return rc;
}

/* ---- territorial restrictions ---- */

int sqs_restriction_add(struct store *s, struct store_restriction *r)
{
	sqlite3_stmt *q = NULL;
	int rc;

	sq_cache_int_drop(store_sqlite_cache_any(s), SQ_CACHE_NO_RESTR, r->chat_id, 0);
	if ((rc = prep(s, Q_RESTR_ADD, &q)) < 0)
		goto out;
	sqlite3_bind_int64(q, 1, r->chat_id);
	sqlite3_bind_int64(q, 2, r->msg_id);
	bind_field(q, 3, r->territories, sizeof r->territories);
	sqlite3_bind_int64(q, 4, r->statement_id);
	sqlite3_bind_int64(q, 5, r->created_at);
	if ((rc = store_sqlite_run(q)) == 0)
		r->id = sqlite3_last_insert_rowid(store_sqlite_db(s));
out:
	store_sqlite_done(q);
	return rc;
}

int sqs_restriction_end(struct store *s, int64_t statement_id)
{
	/* The row cache remembers chats without restrictions only: ending
	 * some leaves every entry true. */
	return write_ints(s, Q_RESTR_END, (int64_t[]){statement_id}, 1, 0);
}

/* A chat without active restrictions — nearly every chat, asked at every
 * message — is remembered as such in the writer's row cache. */
int sqs_restriction_list_chat(struct store *s, int64_t chat_id, store_restriction_cb cb, void *ctx)
{
	struct sq_cache *c = store_sqlite_cache(s);
	struct store_restriction r;
	sqlite3_stmt *q = NULL;
	int64_t none;
	int rc, rows = 0;

	if (sq_cache_int_get(c, SQ_CACHE_NO_RESTR, chat_id, 0, &none))
		return 0;
	if ((rc = prep(s, Q_RESTR_CHAT, &q)) < 0)
		goto out;
	sqlite3_bind_int64(q, 1, chat_id);
	while ((rc = store_sqlite_row(q)) > 0) {
		rows++;
		memset(&r, 0, sizeof r);
		r.id = sqlite3_column_int64(q, 0);
		r.chat_id = sqlite3_column_int64(q, 1);
		r.msg_id = sqlite3_column_int64(q, 2);
		col_copy(q, 3, r.territories, sizeof r.territories);
		r.statement_id = sqlite3_column_int64(q, 4);
		r.created_at = sqlite3_column_int64(q, 5);
		if ((rc = cb(ctx, &r)) != 0)
			goto out;
	}
	if (rc == 0 && rows == 0)
		sq_cache_int_put(c, SQ_CACHE_NO_RESTR, chat_id, 0, 1);
out:
	store_sqlite_done(q);
	return rc;
}

int sqs_restriction_count(struct store *s, int64_t *out)
{
	sqlite3_stmt *q = NULL;
	int rc;

	*out = 0;
	if ((rc = prep(s, Q_RESTR_COUNT, &q)) == 0 && (rc = store_sqlite_int(q, out)) == PL_NOTFOUND)
		rc = 0;
	store_sqlite_done(q);
	return rc;
}

/* ---- IP to country ---- */

int sqs_geoip_clear(struct store *s)
{
	return write_ints(s, Q_GEO_CLEAR, NULL, 0, 0);
}

int sqs_geoip_add(struct store *s, uint32_t start, uint32_t end, const char *country)
{
	sqlite3_stmt *q = NULL;
	int rc;

	if (end < start || !country)
		return PL_INVAL;
	if ((rc = prep(s, Q_GEO_ADD, &q)) < 0)
		goto out;
	sqlite3_bind_int64(q, 1, start);
	sqlite3_bind_int64(q, 2, end);
	bind_field(q, 3, country, STORE_COUNTRY_SZ);
	rc = store_sqlite_run(q);
out:
	store_sqlite_done(q);
	return rc;
}

int sqs_geoip_lookup(struct store *s, uint32_t ip, char country[STORE_COUNTRY_SZ])
{
	sqlite3_stmt *q = NULL;
	int rc;

	country[0] = 0;
	if ((rc = prep(s, Q_GEO_LOOKUP, &q)) < 0)
		goto out;
	sqlite3_bind_int64(q, 1, ip);
	if ((rc = store_sqlite_row(q)) > 0) {
		if (sqlite3_column_int64(q, 0) >= (int64_t)ip)
			col_copy(q, 1, country, STORE_COUNTRY_SZ);
		rc = 0;
	}
out:
	store_sqlite_done(q);
	return rc;
}

/* ---- chat administrators' actions ---- */

int sqs_admin_action_add(struct store *s, const struct store_admin_action_row *a)
{
	return write_ints(s, Q_ADMIN_ADD,
			  (int64_t[]){a->chat_id, a->actor_id, a->action, a->msg_id, a->user_id, a->created_at}, 6, 0);
}

int sqs_admin_action_list(struct store *s, int64_t chat_id, int64_t since, int limit, store_admin_action_cb cb,
			  void *ctx)
{
	struct store_admin_action_row a;
	sqlite3_stmt *q = NULL;
	int rc;

	if ((rc = prep(s, Q_ADMIN_LIST, &q)) < 0)
		goto out;
	sqlite3_bind_int64(q, 1, chat_id);
	sqlite3_bind_int64(q, 2, since);
	sqlite3_bind_int(q, 3, limit);
	while ((rc = store_sqlite_row(q)) > 0) {
		a.id = sqlite3_column_int64(q, 0);
		a.chat_id = sqlite3_column_int64(q, 1);
		a.actor_id = sqlite3_column_int64(q, 2);
		a.action = sqlite3_column_int(q, 3);
		a.msg_id = sqlite3_column_int64(q, 4);
		a.user_id = sqlite3_column_int64(q, 5);
		a.created_at = sqlite3_column_int64(q, 6);
		if ((rc = cb(ctx, &a)) != 0)
			goto out;
	}
out:
	store_sqlite_done(q);
	return rc;
}

/* ---- named values ---- */

int sqs_safety_meta_get(struct store *s, const char *key, int64_t *value)
{
	sqlite3_stmt *q = NULL;
	int rc;

	*value = 0;
	if ((rc = prep(s, Q_META_GET, &q)) < 0)
		goto out;
	sqlite3_bind_text(q, 1, key, -1, SQLITE_STATIC);
	rc = store_sqlite_int(q, value);
out:
	store_sqlite_done(q);
	return rc;
}

int sqs_safety_meta_set(struct store *s, const char *key, int64_t value)
{
	sqlite3_stmt *q = NULL;
	int rc;

	if ((rc = prep(s, Q_META_SET, &q)) < 0)
		goto out;
	sqlite3_bind_text(q, 1, key, -1, SQLITE_STATIC);
	sqlite3_bind_int64(q, 2, value);
	rc = store_sqlite_run(q);
out:
	store_sqlite_done(q);
	return rc;
}
