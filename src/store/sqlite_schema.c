/*
 * sqlite_schema.c — the numbered schema migrations of the SQLite backend.
 *
 * The database carries its schema version in PRAGMA user_version (0 for a new
 * file).  Migration N moves version N-1 to N; each runs in its own
 * transaction together with the version bump, so a crash leaves the database
 * at a whole version.  Migrations are append-only: never edit a released one,
 * add the next number instead.
 *
 * Sharding: every row of a chat's data carries chat_id and every row of a
 * user's data carries user_id, so a chat or a user can be moved by key.
 *
 * Search: message_fts is a contentless FTS5 table whose rowid is
 * messages.gid.  Column body holds the text; column chat holds the token
 * "c<chat_id>" so a search in one chat is an index intersection rather than a
 * filter over every hit.  Being contentless, a row is removed with the
 * 'delete' command and the exact values it was indexed with.  Its automerge
 * setting is not part of the schema: migrate writes it (store_sqlite.c,
 * sq_fts_tune).
 */
#include <stdio.h>
#include <string.h>

#include <sqlite3.h>

#include "store/store_sqlite_int.h"
#include "util/err.h"

static const char *const schema_migrations[] = {
	/* 1: the initial schema. */
	"CREATE TABLE users ("
	"  id INTEGER PRIMARY KEY,"
	"  username TEXT UNIQUE,"           /* lower-case; NULL when none */
	"  display_name TEXT NOT NULL DEFAULT '',"
	"  bio TEXT NOT NULL DEFAULT '',"
	"  pw_hash TEXT NOT NULL DEFAULT '',"
	"  created_at INTEGER NOT NULL,"
	"  is_bot INTEGER NOT NULL DEFAULT 0"
	");"
	"CREATE TABLE sessions ("
	"  id INTEGER PRIMARY KEY,"
	"  user_id INTEGER NOT NULL REFERENCES users(id),"
	"  token_hash TEXT NOT NULL UNIQUE,"
	"  device TEXT NOT NULL DEFAULT '',"
	"  ip TEXT NOT NULL DEFAULT '',"
	"  created_at INTEGER NOT NULL,"
	"  last_seen INTEGER NOT NULL"
	");"
	"CREATE INDEX sessions_user ON sessions(user_id, created_at);"
	"CREATE TABLE blocks ("
	"  user_id INTEGER NOT NULL REFERENCES users(id),"
	"  blocked_id INTEGER NOT NULL REFERENCES users(id),"
	"  created_at INTEGER NOT NULL,"
	"  PRIMARY KEY (user_id, blocked_id)"
	") WITHOUT ROWID;"
	"CREATE TABLE chats ("
	"  id INTEGER PRIMARY KEY,"
	"  type INTEGER NOT NULL,"
	"  title TEXT NOT NULL DEFAULT '',"
	"  username TEXT UNIQUE,"           /* lower-case; NULL when none */
	"  description TEXT NOT NULL DEFAULT '',"
	"  creator_id INTEGER NOT NULL DEFAULT 0,"
	"  created_at INTEGER NOT NULL,"
	"  perms INTEGER NOT NULL DEFAULT 0,"
	"  last_msg_id INTEGER NOT NULL DEFAULT 0,"
	"  last_date INTEGER NOT NULL DEFAULT 0,"
	"  pinned_msg_id INTEGER NOT NULL DEFAULT 0,"
	"  member_count INTEGER NOT NULL DEFAULT 0,"
	"  user_lo INTEGER NOT NULL DEFAULT 0,"
	"  user_hi INTEGER NOT NULL DEFAULT 0"
	");"
	"CREATE UNIQUE INDEX chats_private ON chats(user_lo, user_hi) WHERE type = 1;"
	"CREATE TABLE members ("
	"  chat_id INTEGER NOT NULL REFERENCES chats(id),"
	"  user_id INTEGER NOT NULL REFERENCES users(id),"
	"  role INTEGER NOT NULL,"
	"  joined_at INTEGER NOT NULL DEFAULT 0,"
	"  invited_by INTEGER NOT NULL DEFAULT 0,"
	"  read_max_id INTEGER NOT NULL DEFAULT 0,"
	"  PRIMARY KEY (chat_id, user_id)"
	") WITHOUT ROWID;"
	"CREATE INDEX members_user ON members(user_id, role);"
	"CREATE INDEX members_role ON members(chat_id, role);"
	"CREATE TABLE links ("
	"  code TEXT PRIMARY KEY,"
	"  chat_id INTEGER NOT NULL REFERENCES chats(id),"
	"  creator_id INTEGER NOT NULL DEFAULT 0,"
	"  name TEXT NOT NULL DEFAULT '',"
	"  created_at INTEGER NOT NULL,"
	"  expire_date INTEGER NOT NULL DEFAULT 0,"
	"  member_limit INTEGER NOT NULL DEFAULT 0,"
	"  usage INTEGER NOT NULL DEFAULT 0,"
	"  revoked INTEGER NOT NULL DEFAULT 0"
	") WITHOUT ROWID;"
	"CREATE INDEX links_chat ON links(chat_id, created_at);"
	/* Clustered by (chat_id, id): a history page is a short range scan. */
	"CREATE TABLE messages ("
	"  chat_id INTEGER NOT NULL REFERENCES chats(id),"
	"  id INTEGER NOT NULL,"
	"  gid INTEGER NOT NULL,"           /* search key: message_fts rowid */
	"  sender_id INTEGER NOT NULL DEFAULT 0,"
	"  date INTEGER NOT NULL,"
	"  edit_date INTEGER NOT NULL DEFAULT 0,"
	"  text TEXT,"
	"  reply_to_id INTEGER NOT NULL DEFAULT 0,"
	"  fwd_user_id INTEGER NOT NULL DEFAULT 0,"
	"  fwd_chat_id INTEGER NOT NULL DEFAULT 0,"
	"  fwd_msg_id INTEGER NOT NULL DEFAULT 0,"
	"  fwd_date INTEGER NOT NULL DEFAULT 0,"
	"  views INTEGER NOT NULL DEFAULT 0,"
	"  deleted INTEGER NOT NULL DEFAULT 0,"
	"  service INTEGER NOT NULL DEFAULT 0,"
	"  PRIMARY KEY (chat_id, id)"
	") WITHOUT ROWID;"
	"CREATE UNIQUE INDEX messages_gid ON messages(gid);"
	"CREATE TABLE message_hidden ("
	"  user_id INTEGER NOT NULL,"
	"  chat_id INTEGER NOT NULL,"
	"  msg_id INTEGER NOT NULL,"
	"  PRIMARY KEY (user_id, chat_id, msg_id)"
	") WITHOUT ROWID;"
	"CREATE TABLE message_views ("
	"  chat_id INTEGER NOT NULL,"
	"  msg_id INTEGER NOT NULL,"
	"  user_id INTEGER NOT NULL,"
	"  PRIMARY KEY (chat_id, msg_id, user_id)"
	") WITHOUT ROWID;"
	"CREATE VIRTUAL TABLE message_fts USING fts5("
	"  body, chat, content='', tokenize='unicode61 remove_diacritics 2'"
	");",
	/* 2: links remember which one is the chat's primary link, so
	 * exportChatInviteLink can revoke the previous one. */
	"ALTER TABLE links ADD COLUMN is_primary INTEGER NOT NULL DEFAULT 0;",
	/* 3: update logs (docs/sync.md), presence, and recency keys.
	 *
	 * An update body is stored once in update_payloads and referred to by
	 * the row of every log it was appended to.  user_updates and
	 * chat_updates are clustered by (owner, pts), so a replay is one range
	 * scan.  Their only secondary index is on payload_id, which grows at the
	 * right edge (ids increase with time): update_prune finds old rows
	 * through their payload (update_payloads_date; migration 11 walks the
	 * payload ids instead) and checks whether a
	 * payload is still referred to (migration 12 drops that index: prune
	 * walks each log from its front).  A date index per log would cost a
	 * fifth of every append.  The per-user counter lives in user_state, a
	 * narrow table of its own, so a fan-out rewrites small rows and not
	 * users rows; the per-chat counter is chats.pts.
	 *
	 * chats.last_gid is the search key (messages.gid) of the chat's newest
	 * message, or last_date << 22 while it has none: dialogs are ordered by
	 * it, i.e. by commit order within a second.  members.large mirrors
	 * chats.large so that a user's large chats are a partial-index range. */
	"CREATE TABLE update_payloads ("
	"  id INTEGER PRIMARY KEY,"
	"  date INTEGER NOT NULL,"
	"  body BLOB NOT NULL"
	");"
	"CREATE INDEX update_payloads_date ON update_payloads(date);"
	"CREATE TABLE user_state ("
	"  user_id INTEGER PRIMARY KEY REFERENCES users(id),"
	"  pts INTEGER NOT NULL DEFAULT 0"     /* the last pts handed out */
	");"
	"CREATE TABLE user_updates ("
	"  user_id INTEGER NOT NULL,"
	"  pts INTEGER NOT NULL,"
	"  payload_id INTEGER NOT NULL REFERENCES update_payloads(id),"
	"  date INTEGER NOT NULL,"
	"  PRIMARY KEY (user_id, pts)"
	") WITHOUT ROWID;"
	"CREATE INDEX user_updates_payload ON user_updates(payload_id, date);"
	"CREATE TABLE chat_updates ("
	"  chat_id INTEGER NOT NULL,"
	"  pts INTEGER NOT NULL,"
	"  payload_id INTEGER NOT NULL REFERENCES update_payloads(id),"
	"  date INTEGER NOT NULL,"
	"  PRIMARY KEY (chat_id, pts)"
	") WITHOUT ROWID;"
	"CREATE INDEX chat_updates_payload ON chat_updates(payload_id, date);"
	"ALTER TABLE chats ADD COLUMN pts INTEGER NOT NULL DEFAULT 0;"
	"ALTER TABLE chats ADD COLUMN large INTEGER NOT NULL DEFAULT 0;"
	"ALTER TABLE chats ADD COLUMN last_gid INTEGER NOT NULL DEFAULT 0;"
	"UPDATE chats SET large = 1 WHERE type = 3;"
	"UPDATE chats SET last_gid = ifnull((SELECT m.gid FROM messages m"
	"  WHERE m.chat_id = chats.id AND m.id = chats.last_msg_id),"
	"  max(0, min(last_date, 1099511627775)) << 22);"
	"CREATE INDEX chats_private_hi ON chats(user_hi, user_lo) WHERE type = 1;"
	"ALTER TABLE members ADD COLUMN large INTEGER NOT NULL DEFAULT 0;"
	"UPDATE members SET large = 1 WHERE chat_id IN (SELECT id FROM chats WHERE large = 1);"
	"CREATE INDEX members_large ON members(user_id) WHERE large = 1 AND role >= 2;"
	"ALTER TABLE users ADD COLUMN last_seen INTEGER NOT NULL DEFAULT 0;"
	"ALTER TABLE users ADD COLUMN privacy_last_seen INTEGER NOT NULL DEFAULT 0;",
	/* 4: payloads name the message whose content they carry, so deleting a
	 * message for everyone can redact every stored copy of it. */
	"ALTER TABLE update_payloads ADD COLUMN chat_id INTEGER NOT NULL DEFAULT 0;"
	"ALTER TABLE update_payloads ADD COLUMN msg_id INTEGER NOT NULL DEFAULT 0;"
	"CREATE INDEX update_payloads_msg ON update_payloads(chat_id, msg_id) WHERE chat_id != 0;",
	/* 5: the trust & safety audit log (src/safety/audit.h), hash-chained
	 * and append-only.  seq is the rowid, so the last entry and a page of
	 * the chain are key lookups; audit_log_ts finds the entry in force at
	 * a time (ts never decreases along seq: audit_put refuses that).  The
	 * triggers make every UPDATE or DELETE fail: no op needs one, and a
	 * mistake in code must not be able to rewrite history.  They are a
	 * guard, not the proof: whoever can write the file can drop them, and
	 * the chain (audit_verify) is what shows an alteration. */
	"CREATE TABLE audit_log ("
	"  seq INTEGER PRIMARY KEY,"        /* 1, 2, 3, ... */
	"  ts INTEGER NOT NULL,"
	"  kind TEXT NOT NULL,"
	"  actor INTEGER NOT NULL DEFAULT 0,"
	"  subject TEXT NOT NULL DEFAULT '',"
	"  details TEXT NOT NULL,"          /* compact JSON object */
	"  prev BLOB NOT NULL CHECK (length(prev) = 32),"
	"  hash BLOB NOT NULL CHECK (length(hash) = 32)"
	");"
	"CREATE INDEX audit_log_ts ON audit_log(ts);"
	"CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log"
	"  BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;"
	"CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log"
	"  BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;",
	/* 6: trust & safety (docs/policy.md).
	 *
	 * messages.deleted = 2 is a removal by a moderation decision: the text
	 * stays in the row (a reversal restores it) but every reader treats the
	 * message as gone and it leaves the search index.  A suspension and a
	 * chat ban are columns of the account and the chat, because they are
	 * read on every call (session_find joins users).  cases_open makes
	 * "one open case per target" a constraint; cases_queue serves the
	 * moderation queue in order from the index.  Notices get a random public
	 * reference; flaggers are known by the SHA-256 of their key only. */
	"ALTER TABLE users ADD COLUMN country TEXT NOT NULL DEFAULT '';"
	"ALTER TABLE users ADD COLUMN suspended_until INTEGER NOT NULL DEFAULT 0;"
	"ALTER TABLE users ADD COLUMN suspend_statement INTEGER NOT NULL DEFAULT 0;"
	"ALTER TABLE chats ADD COLUMN ban_statement INTEGER NOT NULL DEFAULT 0;"
	"ALTER TABLE messages ADD COLUMN statement_id INTEGER NOT NULL DEFAULT 0;"
	"CREATE TABLE user_roles ("
	"  user_id INTEGER PRIMARY KEY REFERENCES users(id),"
	"  role INTEGER NOT NULL,"
	"  granted_by INTEGER NOT NULL DEFAULT 0,"
	"  granted_at INTEGER NOT NULL"
	");"
	"CREATE TABLE flaggers ("
	"  id INTEGER PRIMARY KEY,"
	"  name TEXT NOT NULL,"
	"  email TEXT NOT NULL DEFAULT '',"
	"  key_hash TEXT NOT NULL UNIQUE,"
	"  created_at INTEGER NOT NULL,"
	"  active INTEGER NOT NULL DEFAULT 1,"
	"  notices INTEGER NOT NULL DEFAULT 0,"
	"  upheld INTEGER NOT NULL DEFAULT 0,"
	"  dismissed INTEGER NOT NULL DEFAULT 0"
	");"
	"CREATE TABLE cases ("
	"  id INTEGER PRIMARY KEY,"
	"  target INTEGER NOT NULL,"
	"  chat_id INTEGER NOT NULL DEFAULT 0,"
	"  msg_id INTEGER NOT NULL DEFAULT 0,"
	"  user_id INTEGER NOT NULL DEFAULT 0,"
	"  status INTEGER NOT NULL DEFAULT 0,"
	"  category INTEGER NOT NULL,"
	"  priority INTEGER NOT NULL,"
	"  base_priority INTEGER NOT NULL,"
	"  signals INTEGER NOT NULL DEFAULT 1,"
	"  deadline INTEGER NOT NULL,"
	"  flagged INTEGER NOT NULL DEFAULT 0,"
	"  opened_at INTEGER NOT NULL,"
	"  updated_at INTEGER NOT NULL,"
	"  closed_at INTEGER NOT NULL DEFAULT 0,"
	"  statement_id INTEGER NOT NULL DEFAULT 0"
	");"
	"CREATE UNIQUE INDEX cases_open ON cases(target, chat_id, msg_id, user_id) WHERE status = 0;"
	"CREATE INDEX cases_queue ON cases(priority DESC, deadline, id) WHERE status = 0;"
	"CREATE INDEX cases_chat ON cases(chat_id, id) WHERE chat_id != 0;"
	"CREATE TABLE signals ("
	"  id INTEGER PRIMARY KEY,"
	"  case_id INTEGER NOT NULL REFERENCES cases(id),"
	"  kind INTEGER NOT NULL,"
	"  reporter_id INTEGER NOT NULL DEFAULT 0,"
	"  flagger_id INTEGER NOT NULL DEFAULT 0,"
	"  category INTEGER NOT NULL,"
	"  created_at INTEGER NOT NULL,"
	"  deadline INTEGER NOT NULL,"
	"  status INTEGER NOT NULL DEFAULT 0,"
	"  statement_id INTEGER NOT NULL DEFAULT 0,"
	"  reference TEXT UNIQUE,"           /* notices only; NULL for reports */
	"  name TEXT NOT NULL DEFAULT '',"
	"  email TEXT NOT NULL DEFAULT '',"
	"  text TEXT NOT NULL DEFAULT '',"
	"  plaintext TEXT,"                  /* reporter-supplied plaintext of a secret chat */
	"  location TEXT NOT NULL DEFAULT ''"
	");"
	"CREATE INDEX signals_case ON signals(case_id, id);"
	"CREATE TABLE statements ("
	"  id INTEGER PRIMARY KEY,"
	"  case_id INTEGER NOT NULL DEFAULT 0,"
	"  action INTEGER NOT NULL,"
	"  decided_by INTEGER NOT NULL DEFAULT 0,"
	"  created_at INTEGER NOT NULL,"
	"  target INTEGER NOT NULL,"
	"  affected_user_id INTEGER NOT NULL DEFAULT 0,"
	"  chat_id INTEGER NOT NULL DEFAULT 0,"
	"  msg_id INTEGER NOT NULL DEFAULT 0,"
	"  category INTEGER NOT NULL,"
	"  ground INTEGER NOT NULL,"
	"  manifestly_illegal INTEGER NOT NULL DEFAULT 0,"
	"  automated_detection INTEGER NOT NULL DEFAULT 0,"
	"  automated_decision INTEGER NOT NULL DEFAULT 0,"
	"  source INTEGER NOT NULL DEFAULT 0,"
	"  content_date INTEGER NOT NULL DEFAULT 0,"
	"  end_date INTEGER NOT NULL DEFAULT 0,"
	"  territories TEXT NOT NULL DEFAULT '',"
	"  appeal_until INTEGER NOT NULL DEFAULT 0,"
	"  reverses INTEGER NOT NULL DEFAULT 0,"
	"  reversed_by INTEGER NOT NULL DEFAULT 0,"
	"  reference TEXT NOT NULL DEFAULT '',"
	"  facts TEXT NOT NULL DEFAULT '',"
	"  text TEXT NOT NULL DEFAULT ''"
	");"
	"CREATE INDEX statements_date ON statements(created_at, id);"
	"CREATE INDEX statements_user ON statements(affected_user_id, id) WHERE affected_user_id != 0;"
	"CREATE INDEX statements_chat ON statements(chat_id, id) WHERE chat_id != 0;"
	"CREATE TABLE statement_messages ("
	"  statement_id INTEGER NOT NULL,"
	"  chat_id INTEGER NOT NULL,"
	"  msg_id INTEGER NOT NULL,"
	"  PRIMARY KEY (statement_id, chat_id, msg_id)"
	") WITHOUT ROWID;"
	"CREATE TABLE appeals ("
	"  id INTEGER PRIMARY KEY,"
	"  statement_id INTEGER NOT NULL,"
	"  appellant_id INTEGER NOT NULL DEFAULT 0,"
	"  reference TEXT NOT NULL DEFAULT '',"
	"  created_at INTEGER NOT NULL,"
	"  status INTEGER NOT NULL DEFAULT 0,"
	"  decided_by INTEGER NOT NULL DEFAULT 0,"
	"  decided_at INTEGER NOT NULL DEFAULT 0,"
	"  result_statement_id INTEGER NOT NULL DEFAULT 0,"
	"  text TEXT NOT NULL DEFAULT '',"
	"  outcome TEXT NOT NULL DEFAULT ''"
	");"
	"CREATE INDEX appeals_status ON appeals(status, id);"
	"CREATE INDEX appeals_statement ON appeals(statement_id, id);"
	"CREATE TABLE restrictions ("
	"  id INTEGER PRIMARY KEY,"
	"  chat_id INTEGER NOT NULL,"
	"  msg_id INTEGER NOT NULL DEFAULT 0,"   /* 0: the whole chat */
	"  territories TEXT NOT NULL,"
	"  statement_id INTEGER NOT NULL,"
	"  created_at INTEGER NOT NULL,"
	"  active INTEGER NOT NULL DEFAULT 1"
	");"
	"CREATE INDEX restrictions_chat ON restrictions(chat_id) WHERE active = 1;"
	"CREATE INDEX restrictions_statement ON restrictions(statement_id);"
	"CREATE TABLE geoip ("
	"  start INTEGER PRIMARY KEY,"          /* IPv4 as a 32-bit number */
	"  end INTEGER NOT NULL,"
	"  country TEXT NOT NULL"
	");"
	"CREATE TABLE chat_admin_actions ("
	"  id INTEGER PRIMARY KEY,"
	"  chat_id INTEGER NOT NULL,"
	"  actor_id INTEGER NOT NULL,"
	"  action INTEGER NOT NULL,"
	"  msg_id INTEGER NOT NULL DEFAULT 0,"
	"  user_id INTEGER NOT NULL DEFAULT 0,"
	"  created_at INTEGER NOT NULL"
	");"
	"CREATE INDEX chat_admin_actions_chat ON chat_admin_actions(chat_id, id);"
	"CREATE TABLE safety_meta ("
	"  key TEXT PRIMARY KEY,"
	"  value INTEGER NOT NULL"
	") WITHOUT ROWID;",
	/* 7: media (docs/media.md).  Blobs are content-addressed (their bytes
	 * live in the blob store under their SHA-256) and counted: refs is the
	 * number of message_media rows of messages not deleted for everyone.
	 * Two triggers keep it, so every way of attaching or deleting counts:
	 * attaching adds one; a message turning deleted (1) takes its rows
	 * away, and a blob whose count reaches 0 starts its grace period
	 * (unref_at).  The collector finds unreferenced blobs through the
	 * partial index blobs_gc. */
	"CREATE TABLE blobs ("
	"  sha256 TEXT PRIMARY KEY,"
	"  size INTEGER NOT NULL,"
	"  state INTEGER NOT NULL,"          /* enum store_blob_state */
	"  refs INTEGER NOT NULL DEFAULT 0,"
	"  unref_at INTEGER NOT NULL,"
	"  created_at INTEGER NOT NULL"
	") WITHOUT ROWID;"
	"CREATE INDEX blobs_gc ON blobs(unref_at) WHERE refs <= 0;"
	"CREATE INDEX blobs_dying ON blobs(state) WHERE state = 2;"
	"CREATE TABLE files ("
	"  id INTEGER PRIMARY KEY,"
	"  file_id TEXT NOT NULL UNIQUE,"
	"  sha256 TEXT NOT NULL,"
	"  kind INTEGER NOT NULL,"
	"  mime TEXT NOT NULL,"
	"  name TEXT NOT NULL DEFAULT '',"
	"  size INTEGER NOT NULL,"
	"  width INTEGER NOT NULL DEFAULT 0,"
	"  height INTEGER NOT NULL DEFAULT 0,"
	"  duration INTEGER NOT NULL DEFAULT 0,"
	"  uploader_id INTEGER NOT NULL,"
	"  group_id INTEGER NOT NULL DEFAULT 0,"
	"  created_at INTEGER NOT NULL"
	");"
	"CREATE INDEX files_sha ON files(sha256);"
	"CREATE INDEX files_group ON files(group_id) WHERE group_id != 0;"
	"CREATE TABLE message_media ("
	"  chat_id INTEGER NOT NULL,"
	"  msg_id INTEGER NOT NULL,"
	"  ord INTEGER NOT NULL,"
	"  file INTEGER NOT NULL,"
	"  PRIMARY KEY (chat_id, msg_id, ord)"
	") WITHOUT ROWID;"
	"CREATE INDEX message_media_file ON message_media(file);"
	"CREATE TRIGGER message_media_ref AFTER INSERT ON message_media BEGIN"
	"  UPDATE blobs SET refs = refs + 1"
	"   WHERE sha256 = (SELECT sha256 FROM files WHERE id = new.file);"
	" END;"
	"CREATE TRIGGER message_media_unref AFTER UPDATE OF deleted ON messages"
	"  WHEN new.deleted = 1 AND old.deleted != 1 BEGIN"
	"  UPDATE blobs SET"
	"   refs = refs - (SELECT count(*) FROM message_media mm JOIN files f ON f.id = mm.file"
	"                  WHERE mm.chat_id = new.chat_id AND mm.msg_id = new.id AND f.sha256 = blobs.sha256),"
	"   unref_at = CASE WHEN refs - (SELECT count(*) FROM message_media mm JOIN files f ON f.id = mm.file"
	"                  WHERE mm.chat_id = new.chat_id AND mm.msg_id = new.id AND f.sha256 = blobs.sha256) <= 0"
	"              THEN CAST(strftime('%s', 'now') AS INTEGER) ELSE unref_at END"
	"   WHERE sha256 IN (SELECT f.sha256 FROM message_media mm JOIN files f ON f.id = mm.file"
	"                    WHERE mm.chat_id = new.chat_id AND mm.msg_id = new.id);"
	" END;",
	/* 8: the search index without per-row column sizes (columnsize=0).
	 * Search orders hits by key, never by rank, so the sizes — a row of
	 * message_fts_docsize per message, one more B-tree write per message
	 * and a page more in every group commit — bought nothing.  A
	 * contentless table cannot change its options, so it is built again
	 * from what it indexes: live, non-service messages with text. */
	"DROP TABLE message_fts;"
	"CREATE VIRTUAL TABLE message_fts USING fts5("
	"  body, chat, content='', columnsize=0, tokenize='unicode61 remove_diacritics 2'"
	");"
	"INSERT INTO message_fts(rowid, body, chat)"
	"  SELECT gid, text, 'c' || chat_id FROM messages"
	"  WHERE deleted = 0 AND service = 0 AND text IS NOT NULL;",
	/* 9: the search index's watermark.  The writer applies index updates
	 * of new messages in batches after their commit (docs/store.md);
	 * indexed_gid is the newest message key when the queue was last
	 * applied whole, so at open every message above it is indexed again
	 * from its row.  Everything stored so far is indexed. */
	"CREATE TABLE fts_state ("
	"  id INTEGER PRIMARY KEY CHECK (id = 1),"
	"  indexed_gid INTEGER NOT NULL"
	");"
	"INSERT INTO fts_state(id, indexed_gid) SELECT 1, ifnull(max(gid), 0) FROM messages;",
	/* 10: a private chat's update is one payload for both members.  Their
	 * versions differ only in the value naming the chat, so the payload
	 * keeps the first member's body and the second one's value (alt, which
	 * replaces bytes [alt_from, alt_to) of the body), and each log row says
	 * which it reads (view 1: the second).  Existing rows read their body
	 * (view 0), and payloads stored so far have no second view. */
	"ALTER TABLE update_payloads ADD COLUMN alt BLOB;"
	"ALTER TABLE update_payloads ADD COLUMN alt_from INTEGER NOT NULL DEFAULT 0;"
	"ALTER TABLE update_payloads ADD COLUMN alt_to INTEGER NOT NULL DEFAULT 0;"
	"ALTER TABLE user_updates ADD COLUMN view INTEGER NOT NULL DEFAULT 0;",
	/* 11: no date index on payloads.  Pruning walks the payloads by id
	 * (handed out in commit order, so in date order while the clock does
	 * not go back) and stops at the first one not old enough: the same
	 * payloads looked at as through the index, which cost an entry per
	 * payload on every append. */
	"DROP INDEX update_payloads_date;",
	/* 12: no payload index on the logs.  update_prune walks each log from
	 * its front instead (docs/store.md), so a log row costs one B-tree
	 * insert, not two.  The rows' foreign key to update_payloads goes
	 * with the indexes: without an index on payload_id, SQLite would check
	 * it on every payload deleted by scanning both logs.  Removing a foreign
	 * key changes no stored row, so it is done in place, as SQLite's ALTER
	 * TABLE documentation describes (writable_schema; the schema is read
	 * again at RESET, and dropping the indexes moves schema_version for
	 * every other connection); the append checks that its payload exists.
	 * update_prune_state keeps prune's walk between calls, and is written
	 * in the same transaction as what it deletes. */
	"PRAGMA writable_schema = ON;"
	"UPDATE sqlite_master SET sql = replace(sql, ' REFERENCES update_payloads(id)', '')"
	"  WHERE type = 'table' AND name IN ('user_updates', 'chat_updates');"
	"PRAGMA writable_schema = RESET;"
	/* The edit must have taken: a CHECK fails the migration otherwise. */
	"CREATE TEMP TABLE schema_12_check (n INTEGER CHECK (n = 0));"
	"INSERT INTO schema_12_check SELECT count(*) FROM pragma_foreign_key_list('user_updates')"
	"  UNION ALL SELECT count(*) FROM pragma_foreign_key_list('chat_updates');"
	"DROP TABLE schema_12_check;"
	"DROP INDEX user_updates_payload;"
	"DROP INDEX chat_updates_payload;"
	"CREATE TABLE update_prune_state ("
	"  id INTEGER PRIMARY KEY CHECK (id = 1),"
	"  phase INTEGER NOT NULL,"
	"  cutoff INTEGER NOT NULL,"
	"  walk INTEGER NOT NULL,"
	"  bound INTEGER NOT NULL,"
	"  low INTEGER NOT NULL,"
	"  kind INTEGER NOT NULL,"
	"  owner INTEGER NOT NULL"
	");",
};

#define SCHEMA_LATEST ((int)(sizeof(schema_migrations) / sizeof(schema_migrations[0])))

int store_sqlite_schema_latest(void)
{
	return SCHEMA_LATEST;
}

static void schema_errf(char *errbuf, size_t errlen, const char *what, sqlite3 *db)
{
	if (errbuf && errlen)
		snprintf(errbuf, errlen, "%s: %s", what, sqlite3_errmsg(db));
}

static int schema_version(sqlite3 *db, int *out)
{
	sqlite3_stmt *q = NULL;
	int rc;

	rc = sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &q, NULL);
	if (rc == SQLITE_OK) {
		rc = sqlite3_step(q);
		if (rc == SQLITE_ROW) {
			*out = sqlite3_column_int(q, 0);
			rc = SQLITE_OK;
		}
	}
	sqlite3_finalize(q);
	return rc == SQLITE_OK ? 0 : store_sqlite_err(rc);
}

/* Runs migration number n (1-based) in its own transaction. */
static int schema_apply(sqlite3 *db, int n, char *errbuf, size_t errlen)
{
	char bump[64];
	int rc;

	if ((rc = sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL)) != SQLITE_OK) {
		schema_errf(errbuf, errlen, "migration begin", db);
		return store_sqlite_err(rc);
	}
	snprintf(bump, sizeof(bump), "PRAGMA user_version = %d", n);
	rc = sqlite3_exec(db, schema_migrations[n - 1], NULL, NULL, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_exec(db, bump, NULL, NULL, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
	if (rc != SQLITE_OK) {
		char what[48];

		snprintf(what, sizeof(what), "migration %d", n);
		schema_errf(errbuf, errlen, what, db);
		sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
		return store_sqlite_err(rc);
	}
	return 0;
}

int store_sqlite_schema_current(sqlite3 *db, int *version)
{
	*version = 0;
	return schema_version(db, version);
}

int store_sqlite_schema_migrate(sqlite3 *db, char *errbuf, size_t errlen)
{
	int version = 0;
	int rc;

	if ((rc = schema_version(db, &version)) < 0) {
		schema_errf(errbuf, errlen, "reading user_version", db);
		goto out;
	}
	if (version > SCHEMA_LATEST) {
		if (errbuf && errlen)
			snprintf(errbuf, errlen, "database schema %d is newer than this build (%d)",
				 version, SCHEMA_LATEST);
		rc = PL_IO;
		goto out;
	}
	for (int n = version + 1; n <= SCHEMA_LATEST; n++)
		if ((rc = schema_apply(db, n, errbuf, errlen)) < 0)
			goto out;
	rc = 0;
out:
	return rc;
}
