/*
 * store_sqlite.c — the SQLite storage backend: struct store_ops "sqlite".
 *
 * Sits under src/core, which sees it only through store.h.  One handle is one
 * sqlite3 connection (opened SQLITE_OPEN_NOMUTEX: one thread at a time) on
 * <dir>/parley.db in WAL mode, so reader handles never wait for the writer.
 * The schema and its numbered migrations live in sqlite_schema.c.
 *
 * Statements are prepared lazily, once per handle, kept in st->stmt[] and
 * reused with sqlite3_reset/clear_bindings; close finalizes them.  Text is
 * bound SQLITE_STATIC and unbound before an op returns, so no statement keeps
 * a pointer into caller memory.
 *
 * Atomicity: an op that writes more than one statement (message_put/edit/
 * delete/view, member_put, chat_set_large, update_prune) runs inside its own
 * savepoint "op" when the caller has a transaction open, or inside its own
 * BEGIN IMMEDIATE otherwise, so a failed op never leaves half its writes in a
 * group commit.  The log appends are the exception, for cost: they insert the
 * row and only note the counter, written once before the commit (or undo
 * their first write by hand where they must write it at once: sq_log_append).  So is a bare transaction (the
 * writer reads changes() around its requests instead of marking them): there
 * an op that fails after a change marks the transaction broken, and the
 * writer rolls it back and runs its requests again, marked.
 *
 * Ordering: a message's search key (messages.gid, sq_msg_next_gid) is
 * date << 22 | a sequence within the date, so it grows in commit order.
 * Search hits come newest key first, and dialogs by chats.last_gid (the key
 * of the chat's newest message): within one second, the later message first.
 *
 * Search: FTS5 writes are deferred while a caller transaction is open.  FTS5
 * flushes its in-memory pending terms to disk at every SAVEPOINT, so indexing
 * each request of a group commit inside its own savepoint would write one
 * tiny segment per message.  Instead the index updates are queued in
 * st->fq (with the text they need) and applied by commit, or by mark when the
 * queue is long and no savepoint is open; undo drops the queued updates of
 * the request it rolls back, rollback those of its transaction.
 * Consequence: the writer's own searches inside a transaction do not see
 * that transaction's messages.
 *
 * Deferred indexing (index_defer, the writer's handle): a commit that only
 * added new messages keeps their updates queued (st->fq_done counts those
 * of committed transactions) for index_flush, which applies them in a
 * transaction of its own; each FTS5 commit writes a segment, ~114,000
 * instructions.  Any other index update makes its commit apply the whole
 * queue first, so what waits is only inserts of messages above the
 * watermark fts_state.indexed_gid (moved to max(gid) whenever the queue is
 * applied), and migrate indexes what a crash left above it (sq_fq_recover).
 *
 * Row cache (writable handles): what the writer reads for every message is
 * kept in st->cache (sqlite_cache.c; the rules are in store_sqlite_int.h and
 * docs/store.md): an op that writes a cached row drops its entry before it
 * writes; sq_txn_reset drops everything a transaction that did not commit
 * used, sq_undo and an op's undone savepoint everything; store_sqlite_cache
 * compares SQLite's data version at a transaction's first use.
 *
 * Ownership: a store_message filled by message_get has a malloc'd text freed
 * by store_message_release().  Structs passed to callbacks point into
 * statement memory and are valid only during the call.  A callback must not
 * call the op that is calling it on the same handle (that would reset the
 * running statement); other ops are fine.
 */
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <sqlite3.h>

#include "safety/audit.h"
#include "store/store.h"
#include "store/store_sqlite_int.h"
#include "util/arena.h"
#include "util/textbuf.h"

#define SQ_DB_FILE "parley.db"
#define SQ_BUSY_MS 5000            /* busy timeout of every handle */
#define SQ_CKPT_WAIT_MS 250        /* what a RESTART or TRUNCATE checkpoint waits for readers */
#define SQ_CKPT_POLL_US 100        /* how often it looks again meanwhile */
#define SQ_CACHE_KIB 16384         /* page cache per handle (PRAGMA cache_size) */
#define SQ_WAL_LIMIT (64 << 20)    /* bytes the WAL file is cut back to after a checkpoint */
#define SQ_MARKS_MAX 8             /* nesting depth of mark() */
#define SQ_FQ_FLUSH 4096           /* queued index updates applied at the next outer mark */
#define SQ_FQ_MAX (1u << 20)       /* queued index updates: hard maximum (PL_TOOBIG) */
#define SQ_FTS_AUTOMERGE 8         /* FTS5 merges this many segments of a level into one (its default: 4) */
#define SQ_QUERY_MAX 4096          /* bytes of a search query (PL_TOOBIG past it) */
#define SQ_LINKS_MAX 1000          /* rows returned by link_list */
#define SQ_PRUNE_LOOK 16           /* rows update_prune reads per call: at most this x limit */
#define SQ_PRUNE_SPAN 4            /* payloads a prune cycle's bound walk reads per call: this x limit */
#define SQ_STR_(x) #x
#define SQ_STR(x) SQ_STR_(x)       /* a limit's value spelled into SQL */
#define SQ_GID_SHIFT 22            /* search key = date << 22 | sequence within the date */
#define SQ_GID_SEQ_MAX ((INT64_C(1) << SQ_GID_SHIFT) - 1) /* messages per second of date */
#define SQ_DATE_MAX ((INT64_C(1) << 40) - 1) /* message dates: 0..SQ_DATE_MAX (PL_INVAL) */
#define SQ_DIRTY_MAX 65536         /* counters a transaction keeps unwritten; more are written at once */
#define SQ_DIRTY_FIRST 256         /* slots of the first allocation of the unwritten counters */

#define SQ_USER_COLS "u.id, u.username, u.display_name, u.bio, u.pw_hash, u.created_at, u.is_bot, " \
	"u.last_seen, u.privacy_last_seen, u.country, u.suspended_until, u.suspend_statement"
#define SQ_SESSION_COLS "s.id, s.user_id, s.token_hash, s.device, s.ip, s.created_at, s.last_seen"
#define SQ_CHAT_COLS "c.id, c.type, c.title, c.username, c.description, c.creator_id, " \
	"c.created_at, c.perms, c.last_msg_id, c.last_date, c.pinned_msg_id, c.member_count, " \
	"c.user_lo, c.user_hi, c.large, c.ban_statement"
#define SQ_CHAT_NCOLS 16
#define SQ_MEMBER_COLS "mb.chat_id, mb.user_id, mb.role, mb.joined_at, mb.invited_by, mb.read_max_id"
#define SQ_LINK_COLS "l.code, l.chat_id, l.creator_id, l.name, l.created_at, l.expire_date, " \
	"l.member_limit, l.usage, l.revoked, l.is_primary"
#define SQ_MSG_COLS "m.chat_id, m.id, m.sender_id, m.date, m.edit_date, m.text, m.reply_to_id, " \
	"m.fwd_user_id, m.fwd_chat_id, m.fwd_msg_id, m.fwd_date, m.views, m.deleted, m.service, m.statement_id"
#define SQ_NOT_HIDDEN(user) " NOT EXISTS (SELECT 1 FROM message_hidden h WHERE h.user_id = " user \
	" AND h.chat_id = m.chat_id AND h.msg_id = m.id)"

/* The body of a search: ?1 FTS5 expression, ?2 chat, ?3 user, ?4 the
 * exclusive upper bound of the search key (rowid), ?5 limit. */
#define SQ_SEARCH_FROM " FROM message_fts JOIN messages m ON m.gid = message_fts.rowid" \
	" WHERE message_fts MATCH ?1 AND message_fts.rowid < ?4 AND m.deleted = 0" \
	" AND" SQ_NOT_HIDDEN("?3")
#define SQ_SEARCH_IN_CHAT " AND m.chat_id = ?2"
#define SQ_SEARCH_IN_MINE " AND EXISTS (SELECT 1 FROM members mb WHERE mb.chat_id = m.chat_id" \
	" AND mb.user_id = ?3 AND mb.role >= 2)"

enum sq_stmt_id {
	SQ_BEGIN, SQ_BEGIN_READ, SQ_COMMIT, SQ_ROLLBACK,
	SQ_MARK, SQ_RELEASE, SQ_UNDO,
	SQ_OP_MARK, SQ_OP_RELEASE, SQ_OP_UNDO,
	SQ_USER_CREATE, SQ_USER_GET, SQ_USER_FIND, SQ_USER_UPDATE, SQ_USER_COUNT,
	SQ_USER_SET_LAST_SEEN, SQ_USER_SET_PRIVACY,
	SQ_SESSION_CREATE, SQ_SESSION_FIND, SQ_SESSION_GET, SQ_SESSION_LIST, SQ_SESSION_DELETE, SQ_SESSION_TOUCH,
	SQ_BLOCK_ADD, SQ_BLOCK_DEL, SQ_BLOCK_GET, SQ_BLOCK_LIST,
	SQ_CHAT_CREATE, SQ_CHAT_GET, SQ_CHAT_FIND, SQ_CHAT_FIND_PRIVATE, SQ_CHAT_UPDATE,
	SQ_CHAT_ADD_MEMBERS, SQ_CHAT_SET_LARGE, SQ_CHAT_MEMBERS_SET_LARGE,
	SQ_MEMBER_ROLE, SQ_MEMBER_PUT, SQ_MEMBER_GET, SQ_MEMBER_LIST, SQ_MEMBER_LIST_ADMINS,
	SQ_MEMBER_SET_READ, SQ_MEMBER_IDS, SQ_CONTACT_IDS, SQ_LARGE_CHATS,
	SQ_LINK_CREATE, SQ_LINK_GET, SQ_LINK_UPDATE, SQ_LINK_LIST,
	SQ_MSG_LAST_ID, SQ_MSG_ADVANCE, SQ_MSG_ADVANCE_IF, SQ_MSG_MAX_GID, SQ_MSG_INSERT,
	SQ_MSG_GET, SQ_MSG_GID, SQ_MSG_STATE, SQ_MSG_EDIT, SQ_MSG_DELETE, SQ_MSG_MODERATE,
	SQ_MSG_HIDE, SQ_MSG_OLDER, SQ_MSG_NEWER,
	SQ_MSG_SEARCH_CHAT, SQ_MSG_SEARCH_ALL,
	SQ_MSG_VIEWS, SQ_VIEW_ADD, SQ_VIEW_INC, SQ_MSG_UNREAD, SQ_MSG_COUNT,
	SQ_FTS_INSERT, SQ_FTS_DELETE, SQ_FTS_MARK, SQ_FTS_MARK_GET, SQ_FTS_RECOVER,
	SQ_FTS_MERGE_GET, SQ_FTS_MERGE_SET,
	SQ_DIALOGS, SQ_DIALOG_KEY,
	SQ_PAYLOAD_PUT, SQ_PAYLOAD_REDACT, SQ_PAYLOAD_GET,
	SQ_USER_PTS, SQ_USER_PTS_SET, SQ_USER_LOG_ADD, SQ_USER_LOG_STATE, SQ_USER_LOG_RANGE,
	SQ_CHAT_PTS, SQ_CHAT_PTS_SET, SQ_CHAT_LOG_ADD, SQ_CHAT_LOG_STATE, SQ_CHAT_LOG_RANGE,
	SQ_PRUNE_STATE, SQ_PRUNE_STATE_SET, SQ_PRUNE_WALK, SQ_PRUNE_USER_FRONT, SQ_PRUNE_CHAT_FRONT,
	SQ_PRUNE_USER_ROWS, SQ_PRUNE_CHAT_ROWS, SQ_PRUNE_PAYLOADS,
	SQ_AUDIT_LAST, SQ_AUDIT_PUT, SQ_AUDIT_RANGE, SQ_AUDIT_HEAD_AT,
	SQ_STMT_COUNT
};

static const char *const sq_sql[SQ_STMT_COUNT] = {
	[SQ_BEGIN] = "BEGIN IMMEDIATE",
	[SQ_BEGIN_READ] = "BEGIN DEFERRED",
	[SQ_COMMIT] = "COMMIT",
	[SQ_ROLLBACK] = "ROLLBACK",
	[SQ_MARK] = "SAVEPOINT req",
	[SQ_RELEASE] = "RELEASE req",
	[SQ_UNDO] = "ROLLBACK TO req",
	[SQ_OP_MARK] = "SAVEPOINT op",
	[SQ_OP_RELEASE] = "RELEASE op",
	[SQ_OP_UNDO] = "ROLLBACK TO op",

	[SQ_USER_CREATE] = "INSERT INTO users(username, display_name, bio, pw_hash, created_at, is_bot)"
		" VALUES(?1, ?2, ?3, ?4, ?5, ?6)",
	[SQ_USER_GET] = "SELECT " SQ_USER_COLS " FROM users u WHERE u.id = ?1",
	[SQ_USER_FIND] = "SELECT " SQ_USER_COLS " FROM users u WHERE u.username = ?1",
	[SQ_USER_UPDATE] = "UPDATE users SET display_name = ?2, bio = ?3, pw_hash = ?4 WHERE id = ?1",
	[SQ_USER_COUNT] = "SELECT count(*) FROM users",
	[SQ_USER_SET_LAST_SEEN] = "UPDATE users SET last_seen = ?2 WHERE id = ?1",
	[SQ_USER_SET_PRIVACY] = "UPDATE users SET privacy_last_seen = ?2 WHERE id = ?1",

	[SQ_SESSION_CREATE] = "INSERT INTO sessions(user_id, token_hash, device, ip, created_at, last_seen)"
		" VALUES(?1, ?2, ?3, ?4, ?5, ?6)",
	/* With the account's country and suspension: authentication needs them. */
	[SQ_SESSION_FIND] = "SELECT " SQ_SESSION_COLS ", u.country, u.suspended_until, u.suspend_statement"
		" FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.token_hash = ?1",
	[SQ_SESSION_GET] = "SELECT " SQ_SESSION_COLS ", u.country, u.suspended_until, u.suspend_statement"
		" FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.id = ?1",
	[SQ_SESSION_LIST] = "SELECT " SQ_SESSION_COLS " FROM sessions s WHERE s.user_id = ?1"
		" ORDER BY s.created_at DESC, s.id DESC",
	[SQ_SESSION_DELETE] = "DELETE FROM sessions WHERE user_id = ?1 AND id = ?2",
	[SQ_SESSION_TOUCH] = "UPDATE sessions SET last_seen = ?2, ip = coalesce(?3, ip) WHERE id = ?1",

	[SQ_BLOCK_ADD] = "INSERT OR IGNORE INTO blocks(user_id, blocked_id, created_at) VALUES(?1, ?2, ?3)",
	[SQ_BLOCK_DEL] = "DELETE FROM blocks WHERE user_id = ?1 AND blocked_id = ?2",
	[SQ_BLOCK_GET] = "SELECT 1 FROM blocks WHERE user_id = ?1 AND blocked_id = ?2",
	/* No pw_hash: a block list has no business carrying password hashes. */
	[SQ_BLOCK_LIST] = "SELECT u.id, u.username, u.display_name, u.bio, '', u.created_at, u.is_bot,"
		" u.last_seen, u.privacy_last_seen, u.country, u.suspended_until, u.suspend_statement"
		" FROM blocks b JOIN users u ON u.id = b.blocked_id WHERE b.user_id = ?1"
		" ORDER BY b.created_at DESC, b.blocked_id DESC",

	[SQ_CHAT_CREATE] = "INSERT INTO chats(type, title, username, description, creator_id, created_at,"
		" perms, last_msg_id, last_date, pinned_msg_id, member_count, user_lo, user_hi, large,"
		" last_gid) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, 0, ?8, ?9, 0, ?10, ?11, ?12, ?13)",
	[SQ_CHAT_GET] = "SELECT " SQ_CHAT_COLS " FROM chats c WHERE c.id = ?1",
	[SQ_CHAT_FIND] = "SELECT " SQ_CHAT_COLS " FROM chats c WHERE c.username = ?1",
	/* "type = 1" (STORE_CHAT_PRIVATE) must be spelled as in the partial index. */
	[SQ_CHAT_FIND_PRIVATE] = "SELECT " SQ_CHAT_COLS " FROM chats c"
		" WHERE c.type = 1 AND c.user_lo = ?1 AND c.user_hi = ?2",
	[SQ_CHAT_UPDATE] = "UPDATE chats SET title = ?2, username = ?3, description = ?4, perms = ?5,"
		" pinned_msg_id = ?6 WHERE id = ?1",
	[SQ_CHAT_ADD_MEMBERS] = "UPDATE chats SET member_count = member_count + ?2 WHERE id = ?1",
	[SQ_CHAT_SET_LARGE] = "UPDATE chats SET large = 1 WHERE id = ?1",
	[SQ_CHAT_MEMBERS_SET_LARGE] = "UPDATE members SET large = 1 WHERE chat_id = ?1 AND large = 0",

	[SQ_MEMBER_ROLE] = "SELECT role FROM members WHERE chat_id = ?1 AND user_id = ?2",
	/* members.large copies chats.large (chat_set_large keeps them equal). */
	[SQ_MEMBER_PUT] = "INSERT INTO members(chat_id, user_id, role, joined_at, invited_by, read_max_id,"
		" large) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ifnull((SELECT large FROM chats WHERE id = ?1), 0))"
		" ON CONFLICT(chat_id, user_id) DO UPDATE SET"
		" role = excluded.role, joined_at = excluded.joined_at,"
		" invited_by = excluded.invited_by, read_max_id = excluded.read_max_id",
	[SQ_MEMBER_GET] = "SELECT " SQ_MEMBER_COLS " FROM members mb WHERE mb.chat_id = ?1 AND mb.user_id = ?2",
	/* Members: walk the primary key in user order.  Admins: few rows, found
	 * through (chat_id, role) and sorted. */
	[SQ_MEMBER_LIST] = "SELECT " SQ_MEMBER_COLS " FROM members mb NOT INDEXED"
		" WHERE mb.chat_id = ?1 AND mb.user_id > ?2 AND mb.role >= 2"
		" ORDER BY mb.user_id LIMIT ?3",
	[SQ_MEMBER_LIST_ADMINS] = "SELECT " SQ_MEMBER_COLS " FROM members mb INDEXED BY members_role"
		" WHERE mb.chat_id = ?1 AND mb.role >= 3 AND mb.user_id > ?2"
		" ORDER BY mb.user_id LIMIT ?3",
	[SQ_MEMBER_SET_READ] = "UPDATE members SET read_max_id = ?3 WHERE chat_id = ?1 AND user_id = ?2",
	[SQ_MEMBER_IDS] = "SELECT mb.user_id FROM members mb NOT INDEXED"
		" WHERE mb.chat_id = ?1 AND mb.user_id > ?2 AND mb.role >= 2"
		" ORDER BY mb.user_id LIMIT ?3",
	/* Both halves walk a partial index on private chats in peer order and
	 * merge; "type = 1" is spelled as in the indexes. */
	[SQ_CONTACT_IDS] = "SELECT c.user_hi AS peer FROM chats c INDEXED BY chats_private"
		" WHERE c.type = 1 AND c.user_lo = ?1"
		" UNION ALL SELECT c.user_lo AS peer FROM chats c INDEXED BY chats_private_hi"
		" WHERE c.type = 1 AND c.user_hi = ?1 ORDER BY peer",
	/* "large = 1 AND role >= 2" is spelled as in the partial index. */
	[SQ_LARGE_CHATS] = "SELECT mb.chat_id, c.pts FROM members mb INDEXED BY members_large"
		" JOIN chats c ON c.id = mb.chat_id"
		" WHERE mb.user_id = ?1 AND mb.large = 1 AND mb.role >= 2 ORDER BY mb.chat_id",

	[SQ_LINK_CREATE] = "INSERT INTO links(code, chat_id, creator_id, name, created_at, expire_date,"
		" member_limit, usage, revoked, is_primary) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
	[SQ_LINK_GET] = "SELECT " SQ_LINK_COLS " FROM links l WHERE l.code = ?1",
	[SQ_LINK_UPDATE] = "UPDATE links SET usage = ?2, revoked = ?3, name = ?4, expire_date = ?5,"
		" member_limit = ?6 WHERE code = ?1",
	[SQ_LINK_LIST] = "SELECT " SQ_LINK_COLS " FROM links l WHERE l.chat_id = ?1"
		" ORDER BY l.created_at DESC, l.code DESC LIMIT " SQ_STR(SQ_LINKS_MAX),

	/* No RETURNING on hot paths: SQLite 3.40 runs it through an ephemeral
	 * table, which costs more than a second primary-key lookup. */
	[SQ_MSG_LAST_ID] = "SELECT last_msg_id FROM chats WHERE id = ?1",
	[SQ_MSG_ADVANCE] = "UPDATE chats SET last_msg_id = ?2, last_date = ?3, last_gid = ?4 WHERE id = ?1",
	[SQ_MSG_ADVANCE_IF] = "UPDATE chats SET last_msg_id = ?2, last_date = ?3, last_gid = ?4"
		" WHERE id = ?1 AND last_msg_id = ?2 - 1",
	[SQ_MSG_MAX_GID] = "SELECT max(gid) FROM messages WHERE gid BETWEEN ?1 AND ?2",
	[SQ_MSG_INSERT] = "INSERT INTO messages(chat_id, id, gid, sender_id, date, edit_date, text,"
		" reply_to_id, fwd_user_id, fwd_chat_id, fwd_msg_id, fwd_date, views, deleted, service)"
		" VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, 0, 0, ?13)",
	[SQ_MSG_GET] = "SELECT " SQ_MSG_COLS " FROM messages m WHERE m.chat_id = ?1 AND m.id = ?2",
	[SQ_MSG_GID] = "SELECT gid FROM messages WHERE chat_id = ?1 AND id = ?2",
	[SQ_MSG_STATE] = "SELECT gid, text, deleted, service FROM messages WHERE chat_id = ?1 AND id = ?2",
	[SQ_MSG_EDIT] = "UPDATE messages SET text = ?3, edit_date = ?4 WHERE chat_id = ?1 AND id = ?2",
	[SQ_MSG_DELETE] = "UPDATE messages SET text = NULL, deleted = 1 WHERE chat_id = ?1 AND id = ?2",
	[SQ_MSG_MODERATE] = "UPDATE messages SET deleted = ?3 WHERE chat_id = ?1 AND id = ?2 AND deleted = ?4",
	[SQ_MSG_HIDE] = "INSERT OR IGNORE INTO message_hidden(user_id, chat_id, msg_id) VALUES(?1, ?2, ?3)",
	[SQ_MSG_OLDER] = "SELECT " SQ_MSG_COLS " FROM messages m"
		" WHERE m.chat_id = ?1 AND m.id < ?2 AND m.deleted = 0 AND" SQ_NOT_HIDDEN("?3")
		" ORDER BY m.id DESC LIMIT ?4",
	[SQ_MSG_NEWER] = "SELECT " SQ_MSG_COLS " FROM messages m"
		" WHERE m.chat_id = ?1 AND m.id > ?2 AND m.deleted = 0 AND" SQ_NOT_HIDDEN("?3")
		" ORDER BY m.id ASC LIMIT ?4",
	/* Search walks the index newest key first (FTS5 serves rowid order and
	 * the rowid bound itself) and stops at the limit-th hit: no sort. */
	[SQ_MSG_SEARCH_CHAT] = "SELECT " SQ_MSG_COLS SQ_SEARCH_FROM SQ_SEARCH_IN_CHAT
		" ORDER BY message_fts.rowid DESC LIMIT ?5",
	[SQ_MSG_SEARCH_ALL] = "SELECT " SQ_MSG_COLS SQ_SEARCH_FROM SQ_SEARCH_IN_MINE
		" ORDER BY message_fts.rowid DESC LIMIT ?5",
	[SQ_MSG_VIEWS] = "SELECT views FROM messages WHERE chat_id = ?1 AND id = ?2",
	[SQ_VIEW_ADD] = "INSERT OR IGNORE INTO message_views(chat_id, msg_id, user_id) VALUES(?1, ?2, ?3)",
	[SQ_VIEW_INC] = "UPDATE messages SET views = views + 1 WHERE chat_id = ?1 AND id = ?2",
	[SQ_MSG_UNREAD] = "SELECT count(*) FROM messages m WHERE m.chat_id = ?1 AND m.id > ?3"
		" AND m.deleted = 0 AND m.sender_id <> ?2 AND" SQ_NOT_HIDDEN("?2"),
	/* Messages are never removed (delete marks them) and ids are dense, so
	 * the sum of the chats' sequences is the row count without a scan. */
	[SQ_MSG_COUNT] = "SELECT ifnull(sum(last_msg_id), 0) FROM chats",

	[SQ_FTS_INSERT] = "INSERT INTO message_fts(rowid, body, chat) VALUES(?1, ?2, ?3)",
	[SQ_FTS_DELETE] = "INSERT INTO message_fts(message_fts, rowid, body, chat)"
		" VALUES('delete', ?1, ?2, ?3)",
	/* The watermark: every message with a key up to it is indexed.  Set
	 * when the queue was applied whole, so it is the newest key stored. */
	[SQ_FTS_MARK] = "UPDATE fts_state SET indexed_gid = (SELECT ifnull(max(gid), 0) FROM messages)",
	[SQ_FTS_MARK_GET] = "SELECT indexed_gid FROM fts_state",
	/* Recovery: what was committed and not yet indexed, as it reads now. */
	[SQ_FTS_RECOVER] = "INSERT INTO message_fts(rowid, body, chat)"
		" SELECT gid, text, 'c' || chat_id FROM messages"
		" WHERE gid > (SELECT indexed_gid FROM fts_state)"
		" AND deleted = 0 AND service = 0 AND text IS NOT NULL",
	/* FTS5's automerge setting, kept in its config table (absent: 4). */
	[SQ_FTS_MERGE_GET] = "SELECT v FROM message_fts_config WHERE k = 'automerge'",
	[SQ_FTS_MERGE_SET] = "INSERT INTO message_fts(message_fts, rank) VALUES('automerge', ?1)",

	[SQ_DIALOGS] = "SELECT " SQ_CHAT_COLS ", " SQ_MEMBER_COLS
		" FROM members mb JOIN chats c ON c.id = mb.chat_id"
		" WHERE mb.user_id = ?1 AND mb.role >= 2 AND (c.last_gid, c.id) < (?2, ?3)"
		" ORDER BY c.last_gid DESC, c.id DESC LIMIT ?4",
	[SQ_DIALOG_KEY] = "SELECT last_gid, last_date FROM chats WHERE id = ?1",

	/* Update logs.  An append reads the counter, advances it and inserts
	 * the row under the write lock (no RETURNING, see above). */
	[SQ_PAYLOAD_PUT] = "INSERT INTO update_payloads(date, body, chat_id, msg_id, alt, alt_from, alt_to)"
		" VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7)",
	[SQ_PAYLOAD_REDACT] = "UPDATE update_payloads SET body = ?3, alt = NULL, alt_from = 0, alt_to = 0"
		" WHERE chat_id = ?1 AND msg_id = ?2",
	[SQ_USER_PTS] = "SELECT pts FROM user_state WHERE user_id = ?1",
	[SQ_USER_PTS_SET] = "INSERT INTO user_state(user_id, pts) VALUES(?1, ?2)"
		" ON CONFLICT(user_id) DO UPDATE SET pts = excluded.pts",
	/* The logs have no foreign key since migration 12: sq_log_append checks
	 * the payload (SQ_PAYLOAD_GET, or the row cache when this handle just
	 * stored it; an INSERT ... SELECT ... WHERE EXISTS cost an append 7,000
	 * instructions more). */
	[SQ_PAYLOAD_GET] = "SELECT 1 FROM update_payloads WHERE id = ?1",
	[SQ_USER_LOG_ADD] = "INSERT INTO user_updates(user_id, pts, payload_id, date, view) VALUES(?1, ?2, ?3, ?4, ?5)",
	/* One statement, so a reader sees pts and min_kept of one snapshot. */
	[SQ_USER_LOG_STATE] = "SELECT ifnull(s.pts, 0),"
		" (SELECT min(x.pts) FROM user_updates x WHERE x.user_id = u.id)"
		" FROM users u LEFT JOIN user_state s ON s.user_id = u.id WHERE u.id = ?1",
	[SQ_USER_LOG_RANGE] = "SELECT x.pts, p.body, x.view, p.alt, p.alt_from, p.alt_to FROM user_updates x"
		" JOIN update_payloads p ON p.id = x.payload_id"
		" WHERE x.user_id = ?1 AND x.pts > ?2 ORDER BY x.pts LIMIT ?3",
	[SQ_CHAT_PTS] = "SELECT pts FROM chats WHERE id = ?1",
	[SQ_CHAT_PTS_SET] = "UPDATE chats SET pts = ?2 WHERE id = ?1",
	[SQ_CHAT_LOG_ADD] = "INSERT INTO chat_updates(chat_id, pts, payload_id, date) VALUES(?1, ?2, ?3, ?4)",
	[SQ_CHAT_LOG_STATE] = "SELECT c.pts,"
		" (SELECT min(x.pts) FROM chat_updates x WHERE x.chat_id = c.id)"
		" FROM chats c WHERE c.id = ?1",
	[SQ_CHAT_LOG_RANGE] = "SELECT x.pts, p.body, 0, NULL, 0, 0 FROM chat_updates x"
		" JOIN update_payloads p ON p.id = x.payload_id"
		" WHERE x.chat_id = ?1 AND x.pts > ?2 ORDER BY x.pts LIMIT ?3",
	/* Pruning (sq_update_prune): its walk's state, the payloads by id, the
	 * front of each log from an owner on, a log's prefix, and the payloads
	 * below a bound. */
	[SQ_PRUNE_STATE] = "SELECT phase, cutoff, walk, bound, low, kind, owner FROM update_prune_state WHERE id = 1",
	[SQ_PRUNE_STATE_SET] = "INSERT OR REPLACE INTO update_prune_state(id, phase, cutoff, walk, bound, low, kind, owner)"
		" VALUES(1, ?1, ?2, ?3, ?4, ?5, ?6, ?7)",
	[SQ_PRUNE_WALK] = "SELECT id, date FROM update_payloads WHERE id >= ?1 ORDER BY id",
	[SQ_PRUNE_USER_FRONT] = "SELECT user_id, pts, payload_id, date FROM user_updates WHERE user_id >= ?1"
		" ORDER BY user_id, pts",
	[SQ_PRUNE_CHAT_FRONT] = "SELECT chat_id, pts, payload_id, date FROM chat_updates WHERE chat_id >= ?1"
		" ORDER BY chat_id, pts",
	[SQ_PRUNE_USER_ROWS] = "DELETE FROM user_updates WHERE user_id = ?1 AND pts <= ?2",
	[SQ_PRUNE_CHAT_ROWS] = "DELETE FROM chat_updates WHERE chat_id = ?1 AND pts <= ?2",
	[SQ_PRUNE_PAYLOADS] = "DELETE FROM update_payloads WHERE id IN"
		" (SELECT id FROM update_payloads WHERE id < ?1 ORDER BY id LIMIT ?2)",

	/* Audit log: append-only, so there is no UPDATE or DELETE here (the
	 * schema's triggers refuse them anyway).  The put is one statement that
	 * inserts only if the entry continues the chain: next seq, prev = the
	 * last hash (zeros for seq 1), ts not before the last ts. */
	[SQ_AUDIT_LAST] = "SELECT seq, ts, hash FROM audit_log ORDER BY seq DESC LIMIT 1",
	[SQ_AUDIT_PUT] = "INSERT INTO audit_log(seq, ts, kind, actor, subject, details, prev, hash)"
		" SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8"
		" WHERE ?1 = (SELECT ifnull(max(seq), 0) + 1 FROM audit_log)"
		" AND ?7 = ifnull((SELECT hash FROM audit_log WHERE seq = ?1 - 1), zeroblob(32))"
		" AND ?2 >= ifnull((SELECT ts FROM audit_log WHERE seq = ?1 - 1), ?2)",
	[SQ_AUDIT_RANGE] = "SELECT seq, ts, kind, actor, subject, details, prev, hash FROM audit_log"
		" WHERE seq > ?1 ORDER BY seq LIMIT ?2",
	/* ts rises with seq, so the newest entry dated <= ?1 is one index probe. */
	[SQ_AUDIT_HEAD_AT] = "SELECT seq, hash FROM audit_log INDEXED BY audit_log_ts"
		" WHERE ts <= ?1 ORDER BY ts DESC, seq DESC LIMIT 1",
};

/* One deferred search-index update.  text is owned by the queue. */
struct sq_fts_op {
	int64_t gid;
	int64_t chat_id;
	char *text;
	int del;
};

/* An update log's counter advanced by the open transaction and not written
 * yet (sq_log_append): kind is an sq_cache_kind (SQ_CACHE_PTS_*), 0 for a
 * free slot; or (kind SQ_DIRTY_CHAT_LAST) a chat's newest message noted by
 * sq_message_put: pts is its id (chats.last_msg_id), date and gid its
 * last_date and last_gid. */
struct sq_dirty {
	int kind;
	int64_t owner;
	int64_t pts;
	int64_t date, gid;
};

/* The kind of a noted chat row advance (distinct from every sq_cache_kind). */
#define SQ_DIRTY_CHAT_LAST 0x40

/* One open mark(): the queue state to return to on undo, and whether
 * mark() had to open the transaction itself. */
struct sq_mark {
	size_t fq_len;
	int64_t fq_hi;
	int fq_must;
	int began;
};

struct sq_store {
	struct store base; /* first: a struct store * is a struct sq_store * */
	sqlite3 *db;
	int readonly;
	sqlite3_stmt *stmt[SQ_STMT_COUNT];
	struct sq_fts_op *fq;   /* deferred index updates, in order */
	size_t fq_len, fq_cap;
	struct pl_arena fq_texts; /* their texts: all go when the queue empties (a
				   * truncate to a later position leaves them there) —
				   * the writer queues ~3,000 a batch, and strdup'd and
				   * freed one by one they cost ~450 instructions each */
	size_t fq_done;         /* the first fq_done belong to committed transactions
				 * (deferring handle only; 0 otherwise) */
	uint64_t fq_since;      /* CLOCK_MONOTONIC ns when fq_done became non-zero */
	int fq_defer;           /* index_defer: commit keeps the queue */
	int fq_must;            /* the open transaction queued an update that cannot
				 * wait (not a new message above the watermark): its
				 * commit applies the whole queue */
	int fq_hi_known;        /* fq_hi valid */
	int sync_full;          /* opened with synchronous=FULL */
	int64_t fq_hi;          /* highest key indexed or queued as new (>= the watermark) */
	int64_t fq_hi_done;     /* fq_hi as the last commit left it (rollback returns to it) */
	uint64_t fq_added;      /* updates ever queued: part of changes() */
	uint64_t notes_written; /* rows written by sq_dirty_write: not part of changes() */
	int bare;               /* changes() was called outside a mark in this transaction:
				 * ops open no savepoint of their own (sq_op_begin) */
	int op_depth;           /* bare ops running (they do not nest; defensive) */
	uint64_t op_stamp;      /* changes() when the outermost bare op began */
	int broken;             /* the transaction holds half an op (an index apply or
				 * a log append failed midway): only rollback may follow */
	int gid_known;          /* gid_date/gid_last valid: kept across commits (this
				 * handle is the only writer of messages), forgotten
				 * by rollback and undo */
	int64_t gid_date;       /* date of the last search key handed out */
	int64_t gid_last;       /* the highest search key of gid_date */
	struct sq_mark marks[SQ_MARKS_MAX];
	int nmarks;
	sqlite3_stmt *ext[SQ_EXT_STMT_MAX]; /* statements of the other backend files */
	int64_t wal_pages;      /* WAL size after the last commit (checkpoint_manual) */
	struct sq_cache *cache; /* the row cache (store_sqlite_int.h); NULL until its first use */
	/* Counters the open transaction advanced, written by sq_dirty_write
	 * before its commit, before a mark and before a read of counters
	 * (open addressing; dirty_at lists the used slots). */
	struct sq_dirty *dirty;
	size_t *dirty_at;
	size_t dirty_n, dirty_cap;
	size_t dirty_chats;     /* how many of them are chat rows (SQ_DIRTY_CHAT_LAST) */
	int notes_held;         /* inside sq_message_put's op: sq_prep leaves the notes */
	int cache_open;         /* the cache was used since the last commit: a rollback clears it */
	int cache_checked;      /* this transaction compared cache_dv with data_version */
	unsigned cache_dv;      /* data_version after this handle's last commit */
};

static struct sq_store *sq(struct store *s)
{
	return (struct sq_store *)s;
}

/* ---- the row cache (store_sqlite_int.h) ---- */

struct sq_cache *store_sqlite_cache_any(struct store *s)
{
	return sq(s)->cache;
}

/* Only inside a write transaction: its snapshot is the newest, and the
 * first use in it drops everything if another connection committed since
 * this handle's last commit (data_version moves at each commit, its own
 * included, and at the start of a transaction that finds another's). */
struct sq_cache *store_sqlite_cache(struct store *s)
{
	struct sq_store *st = sq(s);

	if (st->readonly || sqlite3_get_autocommit(st->db))
		return NULL;
	/* Made at the first use, so a writable handle that never writes
	 * through the ops (the checkpointer's) holds none; out of memory, the
	 * handle just does not cache. */
	if (!st->cache && !(st->cache = sq_cache_new()))
		return NULL;
	if (!st->cache_checked) { /* reset by sq_txn_reset at every transaction's start and end */
		unsigned dv = 0;

		if (sqlite3_txn_state(st->db, "main") != SQLITE_TXN_WRITE ||
		    sqlite3_file_control(st->db, "main", SQLITE_FCNTL_DATA_VERSION, &dv) != SQLITE_OK)
			return NULL;
		if (dv != st->cache_dv) {
			sq_cache_clear(st->cache);
			st->cache_dv = dv;
		}
		st->cache_checked = 1;
	}
	st->cache_open = 1;
	return st->cache;
}

/* ---- errors and statements ---- */

int store_sqlite_err(int rc)
{
	switch (rc) {
	case SQLITE_OK:
		return 0;
	case SQLITE_CONSTRAINT_UNIQUE:
	case SQLITE_CONSTRAINT_PRIMARYKEY:
		return PL_EXISTS;
	case SQLITE_CONSTRAINT_FOREIGNKEY:
		return PL_NOTFOUND; /* the chat or user referred to does not exist */
	}
	switch (rc & 0xff) {
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		return PL_BUSY;
	case SQLITE_NOMEM:
		return PL_NOMEM;
	}
	return PL_IO;
}

static int sq_dirty_write(struct sq_store *st);

/* Statements that neither read nor write the chats columns a noted chat
 * advance holds back (last_msg_id, last_date, last_gid), nor undo to a
 * savepoint: they may run while advances are noted.  Every other statement
 * writes the notes first (sq_prep).  SQ_MSG_LAST_ID reads one chat's row;
 * sq_message_put runs it only for a chat with no note. */
static const unsigned char sq_keeps_chat_notes[SQ_STMT_COUNT] = {
	[SQ_COMMIT] = 1, [SQ_ROLLBACK] = 1, [SQ_RELEASE] = 1, [SQ_UNDO] = 1,
	[SQ_OP_MARK] = 1, [SQ_OP_RELEASE] = 1, [SQ_OP_UNDO] = 1,
	[SQ_USER_GET] = 1, [SQ_SESSION_TOUCH] = 1, [SQ_BLOCK_GET] = 1,
	[SQ_MEMBER_ROLE] = 1, [SQ_MEMBER_GET] = 1, [SQ_MEMBER_IDS] = 1,
	[SQ_MSG_LAST_ID] = 1, [SQ_MSG_ADVANCE] = 1, [SQ_MSG_MAX_GID] = 1, [SQ_MSG_INSERT] = 1,
	[SQ_MSG_GET] = 1, [SQ_MSG_GID] = 1,
	[SQ_FTS_INSERT] = 1, [SQ_FTS_MARK] = 1,
	[SQ_PAYLOAD_PUT] = 1, [SQ_PAYLOAD_GET] = 1, [SQ_USER_PTS] = 1, [SQ_USER_PTS_SET] = 1, [SQ_USER_LOG_ADD] = 1,
	[SQ_CHAT_PTS] = 1, [SQ_CHAT_PTS_SET] = 1, [SQ_CHAT_LOG_ADD] = 1,
};

/* Gets statement id of st, preparing it on first use.  With chat advances
 * noted, a statement that may read them writes them first. */
static int sq_prep(struct sq_store *st, enum sq_stmt_id id, sqlite3_stmt **out)
{
	int rc;

	if (st->dirty_chats && !st->notes_held && !sq_keeps_chat_notes[id] && (rc = sq_dirty_write(st)) < 0) {
		*out = NULL;
		return rc;
	}
	if (!st->stmt[id]) {
		rc = sqlite3_prepare_v3(st->db, sq_sql[id], -1, SQLITE_PREPARE_PERSISTENT,
					&st->stmt[id], NULL);
		if (rc != SQLITE_OK) {
			*out = NULL;
			return store_sqlite_err(rc);
		}
	}
	*out = st->stmt[id];
	return 0;
}

/* Makes q ready for its next use and drops pointers to bound memory. */
void store_sqlite_done(sqlite3_stmt *q)
{
	if (q) {
		sqlite3_reset(q);
		sqlite3_clear_bindings(q);
	}
}

/* Steps q: 1 with a row, 0 when done, or a negative pl_err. */
int store_sqlite_row(sqlite3_stmt *q)
{
	int rc = sqlite3_step(q);

	if (rc == SQLITE_ROW)
		return 1;
	if (rc == SQLITE_DONE)
		return 0;
	return store_sqlite_err(rc);
}

/* Runs q to its first result; 0 or a negative pl_err. */
int store_sqlite_run(sqlite3_stmt *q)
{
	int rc = store_sqlite_row(q);

	return rc > 0 ? 0 : rc;
}

/* Steps q; column 0 of its row into *out: 0, PL_NOTFOUND, or a pl_err. */
int store_sqlite_int(sqlite3_stmt *q, int64_t *out)
{
	int rc = store_sqlite_row(q);

	if (rc == 0)
		return PL_NOTFOUND;
	if (rc > 0) {
		*out = sqlite3_column_int64(q, 0);
		rc = 0;
	}
	return rc;
}

/* Runs a parameterless statement (transaction control). */
static int sq_exec(struct sq_store *st, enum sq_stmt_id id)
{
	sqlite3_stmt *q = NULL;
	int rc;

	if ((rc = sq_prep(st, id, &q)) < 0)
		goto out;
	rc = store_sqlite_run(q);
out:
	store_sqlite_done(q);
	return rc;
}

/* Gets statement id (sq_prep) with v[0..n-1] bound to ?1..?n. */
static int sq_prep_ints(struct sq_store *st, enum sq_stmt_id id, const int64_t *v, int n, sqlite3_stmt **q)
{
	int rc = sq_prep(st, id, q);

	for (int i = 0; rc == 0 && i < n; i++)
		sqlite3_bind_int64(*q, i + 1, v[i]);
	return rc;
}

/* Runs write statement id with v[0..n-1] bound to ?1..?n.  Returns 0 or a
 * negative pl_err; with one, PL_NOTFOUND also when no row matched. */
static int sq_write_ints(struct sq_store *st, enum sq_stmt_id id, const int64_t *v, int n, int one)
{
	sqlite3_stmt *q = NULL;
	int rc;

	if ((rc = sq_prep_ints(st, id, v, n, &q)) < 0)
		goto out;
	rc = store_sqlite_run(q);
	if (rc == 0 && one && sqlite3_changes(st->db) == 0)
		rc = PL_NOTFOUND;
out:
	store_sqlite_done(q);
	return rc;
}

/* Runs query id with v[0..n-1] bound to ?1..?n and reads column 0 of its
 * first row into *out.  Returns 0, PL_NOTFOUND without a row, or another
 * negative pl_err. */
static int sq_read_int(struct sq_store *st, enum sq_stmt_id id, const int64_t *v, int n, int64_t *out)
{
	sqlite3_stmt *q = NULL;
	int rc;

	if ((rc = sq_prep_ints(st, id, v, n, &q)) == 0)
		rc = store_sqlite_int(q, out);
	store_sqlite_done(q);
	return rc;
}

/* Runs query id with ?1 = key and ?2, ?3 = a, b (when the query has them)
 * and hands column 0 of each row to cb. */
static int sq_each_id(struct sq_store *st, enum sq_stmt_id id, int64_t key, int64_t a, int64_t b,
		      store_id_cb cb, void *ctx)
{
	sqlite3_stmt *q = NULL;
	int n, rc;

	if ((rc = sq_prep(st, id, &q)) < 0)
		goto out;
	n = sqlite3_bind_parameter_count(q);
	sqlite3_bind_int64(q, 1, key);
	if (n >= 2)
		sqlite3_bind_int64(q, 2, a);
	if (n >= 3)
		sqlite3_bind_int64(q, 3, b);
	while ((rc = store_sqlite_row(q)) > 0)
		if ((rc = cb(ctx, sqlite3_column_int64(q, 0))) != 0)
			goto out;
out:
	store_sqlite_done(q);
	return rc;
}

/* Binds a possibly unterminated fixed-size field. */
static void sq_bind_field(sqlite3_stmt *q, int i, const char *field, size_t size)
{
	sqlite3_bind_text(q, i, field, (int)strnlen(field, size), SQLITE_STATIC);
}

/* Binds text that may be NULL and may be long. */
static int sq_bind_text(sqlite3_stmt *q, int i, const char *text)
{
	int rc;

	if (!text)
		rc = sqlite3_bind_null(q, i);
	else
		rc = sqlite3_bind_text64(q, i, text, strlen(text), SQLITE_STATIC, SQLITE_UTF8);
	return rc == SQLITE_TOOBIG ? PL_TOOBIG : store_sqlite_err(rc);
}

/* Copies text column col into dst of size bytes, always NUL-terminated and
 * never cutting a UTF-8 sequence in half. */
static void sq_col_copy(sqlite3_stmt *q, int col, char *dst, size_t size)
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
	dst[n] = '\0';
}

/* Lower-cases username (a fixed field of at most size bytes, or a C string
 * when size is 0) into buf.  Returns its length, or -1 if it is too long to
 * be a username. */
static int sq_username(const char *name, size_t size, char buf[STORE_USERNAME_SZ])
{
	size_t n = size ? strnlen(name, size) : strlen(name);

	if (n >= STORE_USERNAME_SZ)
		return -1;
	for (size_t i = 0; i < n; i++) {
		char c = name[i];

		buf[i] = (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
	}
	buf[n] = '\0';
	return (int)n;
}

/* Binds a lower-cased username buffer, or NULL when it is empty. */
static void sq_bind_username(sqlite3_stmt *q, int i, const char *buf, int len)
{
	if (len > 0)
		sqlite3_bind_text(q, i, buf, len, SQLITE_STATIC);
	else
		sqlite3_bind_null(q, i);
}

/* ---- row readers ---- */

static void sq_read_user(sqlite3_stmt *q, struct store_user *u)
{
	u->id = sqlite3_column_int64(q, 0);
	sq_col_copy(q, 1, u->username, sizeof(u->username));
	sq_col_copy(q, 2, u->display_name, sizeof(u->display_name));
	sq_col_copy(q, 3, u->bio, sizeof(u->bio));
	sq_col_copy(q, 4, u->pw_hash, sizeof(u->pw_hash));
	u->created_at = sqlite3_column_int64(q, 5);
	u->is_bot = sqlite3_column_int(q, 6);
	u->last_seen = sqlite3_column_int64(q, 7);
	u->privacy_last_seen = sqlite3_column_int(q, 8);
	sq_col_copy(q, 9, u->country, sizeof(u->country));
	u->suspended_until = sqlite3_column_int64(q, 10);
	u->suspend_statement = sqlite3_column_int64(q, 11);
}

static void sq_read_session(sqlite3_stmt *q, struct store_session *ss)
{
	ss->id = sqlite3_column_int64(q, 0);
	ss->user_id = sqlite3_column_int64(q, 1);
	sq_col_copy(q, 2, ss->token_hash, sizeof(ss->token_hash));
	sq_col_copy(q, 3, ss->device, sizeof(ss->device));
	sq_col_copy(q, 4, ss->ip, sizeof(ss->ip));
	ss->created_at = sqlite3_column_int64(q, 5);
	ss->last_seen = sqlite3_column_int64(q, 6);
}

static void sq_read_chat(sqlite3_stmt *q, struct store_chat *c)
{
	c->id = sqlite3_column_int64(q, 0);
	c->type = sqlite3_column_int(q, 1);
	sq_col_copy(q, 2, c->title, sizeof(c->title));
	sq_col_copy(q, 3, c->username, sizeof(c->username));
	sq_col_copy(q, 4, c->description, sizeof(c->description));
	c->creator_id = sqlite3_column_int64(q, 5);
	c->created_at = sqlite3_column_int64(q, 6);
	c->perms = sqlite3_column_int(q, 7);
	c->last_msg_id = sqlite3_column_int64(q, 8);
	c->last_date = sqlite3_column_int64(q, 9);
	c->pinned_msg_id = sqlite3_column_int64(q, 10);
	c->member_count = sqlite3_column_int64(q, 11);
	c->user_lo = sqlite3_column_int64(q, 12);
	c->user_hi = sqlite3_column_int64(q, 13);
	c->large = sqlite3_column_int(q, 14);
	c->ban_statement = sqlite3_column_int64(q, 15);
}

/* Reads the member columns starting at column col. */
static void sq_read_member(sqlite3_stmt *q, int col, struct store_member *mb)
{
	mb->chat_id = sqlite3_column_int64(q, col + 0);
	mb->user_id = sqlite3_column_int64(q, col + 1);
	mb->role = sqlite3_column_int(q, col + 2);
	mb->joined_at = sqlite3_column_int64(q, col + 3);
	mb->invited_by = sqlite3_column_int64(q, col + 4);
	mb->read_max_id = sqlite3_column_int64(q, col + 5);
}

static void sq_read_link(sqlite3_stmt *q, struct store_link *l)
{
	sq_col_copy(q, 0, l->code, sizeof(l->code));
	l->chat_id = sqlite3_column_int64(q, 1);
	l->creator_id = sqlite3_column_int64(q, 2);
	sq_col_copy(q, 3, l->name, sizeof(l->name));
	l->created_at = sqlite3_column_int64(q, 4);
	l->expire_date = sqlite3_column_int64(q, 5);
	l->member_limit = sqlite3_column_int64(q, 6);
	l->usage = sqlite3_column_int64(q, 7);
	l->revoked = sqlite3_column_int(q, 8);
	l->is_primary = sqlite3_column_int(q, 9);
}

/* Reads a message row.  With copy, text is malloc'd (the caller releases it);
 * without, it points into q and lives until q is stepped or reset. */
static int sq_read_message(sqlite3_stmt *q, struct store_message *m, int copy)
{
	const char *text = (const char *)sqlite3_column_text(q, 5);

	m->chat_id = sqlite3_column_int64(q, 0);
	m->id = sqlite3_column_int64(q, 1);
	m->sender_id = sqlite3_column_int64(q, 2);
	m->date = sqlite3_column_int64(q, 3);
	m->edit_date = sqlite3_column_int64(q, 4);
	m->reply_to_id = sqlite3_column_int64(q, 6);
	m->fwd_user_id = sqlite3_column_int64(q, 7);
	m->fwd_chat_id = sqlite3_column_int64(q, 8);
	m->fwd_msg_id = sqlite3_column_int64(q, 9);
	m->fwd_date = sqlite3_column_int64(q, 10);
	m->views = sqlite3_column_int64(q, 11);
	m->deleted = sqlite3_column_int(q, 12);
	m->service = sqlite3_column_int(q, 13);
	m->statement_id = sqlite3_column_int64(q, 14);
	m->text = NULL;
	if (!text)
		return 0;
	if (!copy) {
		m->text = (char *)text;
		return 0;
	}
	size_t n = (size_t)sqlite3_column_bytes(q, 5);

	if (!(m->text = malloc(n + 1)))
		return PL_NOMEM;
	memcpy(m->text, text, n);
	m->text[n] = '\0';
	return 0;
}

/* ---- deferred search-index updates ---- */

/* Writes one search-index update now. */
static int sq_fts_write(struct sq_store *st, int64_t gid, int64_t chat_id, const char *text, int del)
{
	sqlite3_stmt *q = NULL;
	char tok[32];
	int rc;

	tok[0] = 'c';
	textbuf_fmt_i64(tok + 1, chat_id); /* "c%lld" */
	if ((rc = sq_prep(st, del ? SQ_FTS_DELETE : SQ_FTS_INSERT, &q)) < 0)
		goto out;
	sqlite3_bind_int64(q, 1, gid);
	if ((rc = sq_bind_text(q, 2, text)) < 0)
		goto out;
	sqlite3_bind_text(q, 3, tok, -1, SQLITE_STATIC);
	rc = store_sqlite_run(q);
out:
	store_sqlite_done(q);
	return rc;
}

/* Drops the queued updates from position len on; their texts go once the
 * queue is empty. */
static void sq_fq_truncate(struct sq_store *st, size_t len)
{
	if (st->fq_len > len)
		st->fq_len = len;
	if (st->fq_len == 0)
		arena_reset(&st->fq_texts);
}

/* Writes the whole queue into the open transaction and moves the watermark
 * to the newest key stored; the queue is kept (the caller empties it once
 * the writes are safe: committed, or its own).  A failure leaves the
 * transaction with part of the updates, so only rollback may follow it. */
static int sq_fq_write(struct sq_store *st)
{
	int rc = 0;

	for (size_t i = 0; i < st->fq_len && rc == 0; i++)
		rc = sq_fts_write(st, st->fq[i].gid, st->fq[i].chat_id, st->fq[i].text, st->fq[i].del);
	if (rc == 0 && st->fq_len > 0)
		rc = sq_exec(st, SQ_FTS_MARK);
	if (rc < 0)
		st->broken = 1;
	return rc;
}

/* Applies and empties a queue that holds only the open transaction's
 * updates (a rollback takes them back with their messages). */
static int sq_fq_apply(struct sq_store *st)
{
	int rc = sq_fq_write(st);

	if (rc == 0)
		sq_fq_truncate(st, 0);
	return rc;
}

static void sq_dirty_drop(struct sq_store *st);
static int sq_dirty_write(struct sq_store *st);
static struct sq_dirty *sq_dirty_find(struct sq_store *st, int kind, int64_t owner);
static int sq_dirty_chat(struct sq_store *st, int64_t chat_id, int64_t id, int64_t date, int64_t gid);

/* Forgets the transaction state (its queued updates, marks) after it ended.
 * The updates of committed transactions stay queued.  The gid cache
 * outlives it: a key it counted on from that a rollback undid leaves a
 * gap, never a duplicate (sq_msg_next_gid). */
static void sq_txn_reset(struct sq_store *st)
{
	if (st->cache_open)
		sq_cache_clear(st->cache); /* its transaction did not commit */
	st->cache_open = 0;
	st->cache_checked = 0;
	sq_dirty_drop(st); /* written before a commit: what is left was rolled back */
	sq_fq_truncate(st, st->fq_done);
	st->fq_must = 0;
	st->fq_hi = st->fq_hi_done;
	st->nmarks = 0;
	st->broken = 0;
	st->bare = 0;
	st->op_depth = 0;
}

/* What the transaction changed so far, as one count (sq_changes). */
static uint64_t sq_stamp(struct sq_store *st)
{
	return (uint64_t)sqlite3_total_changes64(st->db) - st->notes_written + st->fq_added;
}

/* Reads the watermark into fq_hi. */
static int sq_fq_load_hi(struct sq_store *st)
{
	sqlite3_stmt *q = NULL;
	int rc;

	if ((rc = sq_prep(st, SQ_FTS_MARK_GET, &q)) < 0)
		goto out;
	if ((rc = store_sqlite_row(q)) < 0)
		goto out;
	st->fq_hi = st->fq_hi_done = rc > 0 ? sqlite3_column_int64(q, 0) : 0;
	st->fq_hi_known = 1;
	rc = 0;
out:
	store_sqlite_done(q);
	return rc;
}

/* Called by an indexing op before it opens its own savepoint: applies a long
 * queue while no savepoint is open, and makes room for n more updates so
 * queueing cannot fail halfway through the op. */
static int sq_fq_prepare(struct sq_store *st, size_t n)
{
	int rc;

	if (sqlite3_get_autocommit(st->db))
		sq_txn_reset(st); /* any state left belongs to a transaction gone */
	if (st->broken)
		return PL_IO;
	if (!st->fq_hi_known && (rc = sq_fq_load_hi(st)) < 0)
		return rc;
	if (!sqlite3_get_autocommit(st->db) && st->nmarks == 0 && st->fq_done == 0 && st->fq_len >= SQ_FQ_FLUSH)
		if ((rc = sq_fq_apply(st)) < 0)
			return rc;
	if (st->fq_len + n <= st->fq_cap)
		return 0;
	if (st->fq_len + n > SQ_FQ_MAX)
		return PL_TOOBIG;

	size_t cap = st->fq_cap ? st->fq_cap * 2 : 64;
	struct sq_fts_op *fq;

	while (cap < st->fq_len + n)
		cap *= 2;
	if (cap > SQ_FQ_MAX)
		cap = SQ_FQ_MAX;
	if (!(fq = realloc(st->fq, cap * sizeof(*fq))))
		return PL_NOMEM;
	st->fq = fq;
	st->fq_cap = cap;
	return 0;
}

/* Queues an index update made by an op (applied at commit, or later on a
 * deferring handle).  fresh: the insert of a new message.  Only those may
 * wait past their commit, and only above every key indexed or queued so
 * far, so that recovery (sq_fq_recover) finds them above the watermark;
 * anything else makes the commit apply the whole queue.  Room was
 * reserved by sq_fq_prepare. */
static int sq_index(struct sq_store *st, int fresh, int64_t gid, int64_t chat_id, const char *text,
		    int del)
{
	struct sq_fts_op *op;
	size_t n = strlen(text) + 1;
	char *copy = arena_alloc(&st->fq_texts, n);

	if (!copy)
		return PL_NOMEM;
	memcpy(copy, text, n);
	if (!fresh || del || gid <= st->fq_hi)
		st->fq_must = 1;
	if (gid > st->fq_hi)
		st->fq_hi = gid;
	op = &st->fq[st->fq_len++];
	st->fq_added++;
	op->gid = gid;
	op->chat_id = chat_id;
	op->text = copy;
	op->del = del;
	return 0;
}

/* ---- op atomicity ---- */

static int sq_commit_now(struct sq_store *st);

/* Opens the op's own unit: savepoint "op" inside a caller transaction, or a
 * transaction of its own (*outer = 1) otherwise.  In a bare transaction
 * (sq_changes) outside any mark, no savepoint: the op's page copies into the
 * statement journal cost more than the rare failure they would undo, and
 * sq_op_end marks the transaction broken if the op fails after a change. */
static int sq_op_begin_keep(struct sq_store *st, int *outer, int keep)
{
	int rc;

	if (sqlite3_get_autocommit(st->db)) {
		sq_txn_reset(st); /* any state left belongs to a transaction gone */
		*outer = 1;
		return sq_exec(st, SQ_BEGIN);
	}
	*outer = 0;
	/* Noted chat advances are written outside the op: undoing the op must
	 * not undo them once they are no longer noted. */
	if (!keep && st->dirty_chats && (rc = sq_dirty_write(st)) < 0)
		return rc;
	if (st->bare && st->nmarks == 0) {
		if (st->op_depth++ == 0)
			st->op_stamp = sq_stamp(st);
		return 0;
	}
	return sq_exec(st, SQ_OP_MARK);
}

static int sq_op_begin(struct sq_store *st, int *outer)
{
	return sq_op_begin_keep(st, outer, 0);
}

/* Closes the op's unit: keeps its writes if rc is 0, drops them otherwise
 * (a bare op cannot: it leaves the transaction broken if it changed
 * anything).  Returns rc, or the error of keeping them. */
static int sq_op_end(struct sq_store *st, int outer, int rc)
{
	if (!outer && st->op_depth > 0) {
		if (--st->op_depth == 0 && rc < 0 && sq_stamp(st) != st->op_stamp)
			st->broken = 1;
		return rc;
	}
	if (rc == 0)
		rc = outer ? sq_commit_now(st) : sq_exec(st, SQ_OP_RELEASE);
	if (rc == 0 || sqlite3_get_autocommit(st->db))
		return rc; /* kept, or SQLite already rolled everything back */
	sq_cache_clear(st->cache);
	if (outer) {
		sq_exec(st, SQ_ROLLBACK);
	} else {
		sq_exec(st, SQ_OP_UNDO);
		sq_exec(st, SQ_OP_RELEASE);
	}
	return rc;
}

/* ---- lifecycle and transactions ---- */

static int sq_index_flush(struct store *s);
static int sq_fq_recover(struct sq_store *st);

static void sq_close(struct store *s)
{
	struct sq_store *st = sq(s);

	if (!st)
		return;
	if (!st->readonly && st->fq_done > 0 && sqlite3_get_autocommit(st->db))
		(void)sq_index_flush(s); /* what is left is indexed by recovery at open */
	for (int i = 0; i < SQ_STMT_COUNT; i++)
		sqlite3_finalize(st->stmt[i]);
	for (int i = 0; i < SQ_EXT_STMT_MAX; i++)
		sqlite3_finalize(st->ext[i]);
	st->fq_done = 0;
	sq_txn_reset(st);
	free(st->fq);
	arena_release(&st->fq_texts);
	sq_cache_free(st->cache);
	free(st->dirty);
	free(st->dirty_at);
	sqlite3_close(st->db);
	free(st);
}

/* Sets FTS5's automerge to SQ_FTS_AUTOMERGE unless the index has it (a row
 * of message_fts_config, written once; FTS5 reads it at each transaction).
 * Merging 8 segments of a level at a time instead of 4 rewrites each entry
 * fewer times as the index grows (fewer levels): ~2,700-4,000 writer
 * instructions per indexed message less on a 200,000-message index, at the
 * price of up to 7 segments per level instead of 3 for a search to read (a
 * search in one chat for a rare word: up to ~2.7 times the instructions on
 * a 1-million-message store; docs/store.md, "Deferred indexing").  Search
 * results do not depend on it. */
static int sq_fts_tune(struct sq_store *st)
{
	sqlite3_stmt *q = NULL;
	int rc;

	if ((rc = sq_prep(st, SQ_FTS_MERGE_GET, &q)) < 0)
		goto out;
	if ((rc = store_sqlite_row(q)) < 0)
		goto out;
	if (rc > 0 && sqlite3_column_int(q, 0) == SQ_FTS_AUTOMERGE) {
		rc = 0;
		goto out;
	}
	store_sqlite_done(q);
	q = NULL;
	if ((rc = sq_prep(st, SQ_FTS_MERGE_SET, &q)) < 0)
		goto out;
	sqlite3_bind_int(q, 1, SQ_FTS_AUTOMERGE);
	rc = store_sqlite_run(q);
out:
	store_sqlite_done(q);
	return rc;
}

static int sq_migrate(struct store *s)
{
	struct sq_store *st = sq(s);

	int rc;

	if (st->readonly)
		return PL_INVAL;
	if ((rc = store_sqlite_schema_migrate(st->db, NULL, 0)) < 0)
		return rc;
	if ((rc = sq_fts_tune(st)) < 0)
		return rc;
	return sq_fq_recover(st);
}

static int sq_schema(struct store *s, int *current, int *latest)
{
	*latest = store_sqlite_schema_latest();
	return store_sqlite_schema_current(sq(s)->db, current);
}

static int sq_begin(struct store *s)
{
	struct sq_store *st = sq(s);

	sq_txn_reset(st);
	return sq_exec(st, st->readonly ? SQ_BEGIN_READ : SQ_BEGIN);
}

/* Now, CLOCK_MONOTONIC in nanoseconds (the clock of uv_hrtime). */
static uint64_t sq_mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Commits.  The queued index updates are applied first unless the handle
 * defers and the transaction queued only new messages: then they stay
 * queued, committed, for index_flush.  The queue is emptied only once the
 * commit succeeded, so a failed one loses no committed transaction's
 * updates. */
static int sq_commit_now(struct sq_store *st)
{
	int apply = st->fq_len > 0 && (!st->fq_defer || st->fq_must);
	int rc;

	if (st->broken)
		return PL_IO;
	if ((rc = sq_dirty_write(st)) < 0)
		return rc;
	if (apply && (rc = sq_fq_write(st)) < 0)
		return rc;
	if ((rc = sq_exec(st, SQ_COMMIT)) < 0)
		return rc;
	if (st->cache) { /* what it holds is committed now */
		st->cache_open = 0;
		if (sqlite3_file_control(st->db, "main", SQLITE_FCNTL_DATA_VERSION, &st->cache_dv) != SQLITE_OK)
			sq_cache_clear(st->cache);
	}
	if (apply) {
		st->fq_done = 0;
		sq_fq_truncate(st, 0);
	} else if (st->fq_len > st->fq_done) {
		if (st->fq_done == 0)
			st->fq_since = sq_mono_ns();
		st->fq_done = st->fq_len;
	}
	st->fq_hi_done = st->fq_hi;
	sq_txn_reset(st);
	return 0;
}

/* Applies the committed updates still queued in a transaction of their own
 * (store.h, index_flush).  On failure they stay queued.  Its commit needs
 * no fsync (synchronous=NORMAL: the WAL stays consistent on power loss):
 * if it is lost, so is the watermark it moved, and recovery at open does
 * its work again; the next commit's fsync makes it durable anyway. */
static int sq_index_flush(struct store *s)
{
	struct sq_store *st = sq(s);
	int rc;

	if (st->readonly || !sqlite3_get_autocommit(st->db))
		return PL_INVAL;
	if (st->fq_done == 0)
		return 0;
	sq_txn_reset(st);
	if (st->sync_full && sqlite3_exec(st->db, "PRAGMA synchronous=NORMAL", NULL, NULL, NULL) != SQLITE_OK)
		return PL_IO;
	if ((rc = sq_exec(st, SQ_BEGIN)) == 0) {
		st->fq_must = 1;
		if ((rc = sq_commit_now(st)) < 0) {
			sq_txn_reset(st);
			if (!sqlite3_get_autocommit(st->db))
				sq_exec(st, SQ_ROLLBACK);
		}
	}
	if (st->sync_full && sqlite3_exec(st->db, "PRAGMA synchronous=FULL", NULL, NULL, NULL) != SQLITE_OK)
		rc = PL_IO; /* cannot happen outside a transaction; never commit unsynced */
	return rc;
}

static int sq_index_defer(struct store *s, int on)
{
	struct sq_store *st = sq(s);

	if (st->readonly)
		return PL_INVAL;
	st->fq_defer = on != 0;
	if (!on && sqlite3_get_autocommit(st->db))
		return sq_index_flush(s);
	return 0;
}

static void sq_index_pending(struct store *s, size_t *n, uint64_t *since_ns)
{
	struct sq_store *st = sq(s);

	*n = st->fq_done;
	*since_ns = st->fq_done ? st->fq_since : 0;
}

/* Indexes what was committed and not indexed before a crash: the messages
 * above the watermark, as they read now (an edit or delete of one was
 * applied at its commit, with everything queued before it, so none is
 * above the watermark), then moves the watermark. */
static int sq_fq_recover(struct sq_store *st)
{
	int rc;

	if ((rc = sq_exec(st, SQ_BEGIN)) < 0)
		return rc;
	if ((rc = sq_exec(st, SQ_FTS_RECOVER)) == 0 && (rc = sq_exec(st, SQ_FTS_MARK)) == 0)
		rc = sq_exec(st, SQ_COMMIT);
	if (rc < 0 && !sqlite3_get_autocommit(st->db))
		sq_exec(st, SQ_ROLLBACK);
	st->fq_hi_known = 0;
	return rc;
}

static int sq_commit(struct store *s)
{
	return sq_commit_now(sq(s));
}

static int sq_rollback(struct store *s)
{
	struct sq_store *st = sq(s);

	sq_txn_reset(st); /* drops what the row cache took in since the last commit */
	st->gid_known = 0;
	if (sqlite3_get_autocommit(st->db))
		return 0;
	return sq_exec(st, SQ_ROLLBACK);
}

static int sq_mark(struct store *s)
{
	struct sq_store *st = sq(s);
	int began = 0;
	int rc;

	if (st->nmarks == SQ_MARKS_MAX)
		return PL_TOOBIG;
	if (sqlite3_get_autocommit(st->db)) {
		sq_txn_reset(st);
		if ((rc = sq_exec(st, SQ_BEGIN)) < 0)
			return rc;
		began = 1;
	} else {
		if (st->nmarks == 0 && st->fq_done == 0 && st->fq_len >= SQ_FQ_FLUSH && (rc = sq_fq_apply(st)) < 0)
			return rc;
		/* An undo to this mark then drops exactly the counters advanced after it. */
		if ((rc = sq_dirty_write(st)) < 0)
			return rc;
	}
	if ((rc = sq_exec(st, SQ_MARK)) < 0) {
		if (began)
			sq_exec(st, SQ_ROLLBACK);
		return rc;
	}
	st->marks[st->nmarks].fq_len = st->fq_len;
	st->marks[st->nmarks].fq_hi = st->fq_hi;
	st->marks[st->nmarks].fq_must = st->fq_must;
	st->marks[st->nmarks].began = began;
	st->nmarks++;
	return 0;
}

static int sq_release(struct store *s)
{
	struct sq_store *st = sq(s);
	int rc;

	if (st->nmarks == 0)
		return PL_INVAL;
	if ((rc = sq_exec(st, SQ_RELEASE)) < 0)
		return rc;
	st->nmarks--;
	if (st->marks[st->nmarks].began)
		return sq_commit_now(st);
	return 0;
}

static int sq_undo(struct store *s)
{
	struct sq_store *st = sq(s);
	struct sq_mark mk;
	int rc;

	if (st->nmarks == 0)
		return PL_INVAL;
	mk = st->marks[--st->nmarks];
	if (sqlite3_get_autocommit(st->db)) {
		sq_txn_reset(st); /* SQLite rolled the whole transaction back */
		return PL_IO;
	}
	rc = sq_exec(st, SQ_UNDO);
	if (rc == 0)
		rc = sq_exec(st, SQ_RELEASE);
	sq_fq_truncate(st, mk.fq_len);
	st->fq_hi = mk.fq_hi;
	st->fq_must = mk.fq_must;
	st->gid_known = 0;
	sq_cache_clear(st->cache);
	sq_dirty_drop(st); /* all advanced after the mark, which wrote the others */
	if (mk.began) {
		sq_txn_reset(st);
		sq_exec(st, SQ_ROLLBACK);
	}
	return rc;
}

/* What the open write transaction changed so far, as one count: rows (every
 * INSERT, UPDATE and DELETE that completed, triggers included; a statement
 * that failed counts nothing, SQLite undid it; a write undone by hand counts
 * twice) plus index updates queued.  Called outside a mark, it makes the
 * transaction bare (sq_op_begin).  The gid cache needs no undo: a key handed
 * out and not used leaves a gap. */
static int sq_changes(struct store *s, uint64_t *n)
{
	struct sq_store *st = sq(s);

	if (st->readonly || st->broken || sqlite3_get_autocommit(st->db))
		return PL_IO;
	if (st->nmarks == 0)
		st->bare = 1;
	*n = sq_stamp(st);
	return 0;
}

/* A reader's transaction: BEGIN DEFERRED takes the snapshot and the WAL read
 * lock at the first read and keeps them to the end, so the call's many small
 * reads pay for one lock instead of one each.  Only reads may run inside. */
static int sq_read_begin(struct store *s)
{
	struct sq_store *st = sq(s);

	if (!sqlite3_get_autocommit(st->db))
		return PL_INVAL; /* one is open already: a caller forgot read_end */
	sq_txn_reset(st); /* any state left belongs to a transaction gone */
	return sq_exec(st, SQ_BEGIN_READ);
}

static int sq_read_end(struct store *s)
{
	struct sq_store *st = sq(s);
	int rc;

	if (sqlite3_get_autocommit(st->db))
		return 0; /* none open, or SQLite ended it after an error */
	if ((rc = sq_exec(st, SQ_COMMIT)) < 0 && !sqlite3_get_autocommit(st->db))
		(void)sq_exec(st, SQ_ROLLBACK);
	return rc;
}

/* ---- checkpoints ---- */

/* The handle's sqlite3_wal_hook: SQLite calls it in the committing thread
 * right after each commit with the WAL's size in pages.  Installing it
 * replaces SQLite's own hook, the one that runs the automatic checkpoint. */
static int sq_wal_hook(void *arg, sqlite3 *db, const char *name, int pages)
{
	struct sq_store *st = arg;

	st->wal_pages = pages;
	return SQLITE_OK;
}

static int sq_checkpoint_manual(struct store *s)
{
	struct sq_store *st = sq(s);

	if (st->readonly)
		return PL_INVAL;
	(void)sqlite3_wal_hook(st->db, sq_wal_hook, st);
	return 0;
}

static int sq_wal_pages(struct store *s, int64_t *pages)
{
	*pages = sq(s)->wal_pages;
	return 0;
}

/* The busy handler of a RESTART or TRUNCATE checkpoint (sq_checkpoint). */
static int sq_ckpt_busy(void *arg, int tries)
{
	struct timespec ts = {0, SQ_CKPT_POLL_US * 1000L};

	(void)arg;
	if ((long)tries * SQ_CKPT_POLL_US >= SQ_CKPT_WAIT_MS * 1000L)
		return 0;
	nanosleep(&ts, NULL);
	return 1;
}

/* PASSIVE takes no lock anyone waits for and copies up to the oldest
 * snapshot a reader still has open; RESTART and TRUNCATE take the write
 * lock, keep it while they copy and fsync, and wait (SQ_CKPT_WAIT_MS at
 * most) for readers to leave the WAL. */
static int sq_checkpoint(struct store *s, int mode, int64_t *wal, int64_t *done)
{
	static const int modes[] = {
		[STORE_CKPT_PASSIVE] = SQLITE_CHECKPOINT_PASSIVE,
		[STORE_CKPT_RESTART] = SQLITE_CHECKPOINT_RESTART,
		[STORE_CKPT_TRUNCATE] = SQLITE_CHECKPOINT_TRUNCATE,
	};
	struct sq_store *st = sq(s);
	int log = -1, ckpt = -1, rc;

	if (st->readonly || mode < STORE_CKPT_PASSIVE || mode > STORE_CKPT_TRUNCATE)
		return PL_INVAL;
	/* The writer runs RESTART between its groups (writer.c): it waits for
	 * readers to leave the WAL at most SQ_CKPT_WAIT_MS, not the busy
	 * timeout, and PL_BUSY then leaves what it copied copied.  It looks
	 * every SQ_CKPT_POLL_US: a reader's transaction lasts a call, and
	 * SQLite's own busy handler sleeps 1, 2, 5, 10 ms... between looks,
	 * all of it with the writer held. */
	if (mode != STORE_CKPT_PASSIVE)
		(void)sqlite3_busy_handler(st->db, sq_ckpt_busy, NULL);
	rc = sqlite3_wal_checkpoint_v2(st->db, NULL, modes[mode], &log, &ckpt);
	if (mode != STORE_CKPT_PASSIVE)
		(void)sqlite3_busy_timeout(st->db, SQ_BUSY_MS);
	if (wal)
		*wal = log;
	if (done)
		*done = ckpt;
	return rc == SQLITE_OK ? 0 : store_sqlite_err(rc);
}

/* ---- users ---- */

static int sq_user_create(struct store *s, struct store_user *u)
{
	struct sq_store *st = sq(s);
	sqlite3_stmt *q = NULL;
	char name[STORE_USERNAME_SZ];
	int len, rc;

	if ((len = sq_username(u->username, sizeof(u->username), name)) < 0)
		return PL_INVAL;
	if ((rc = sq_prep(st, SQ_USER_CREATE, &q)) < 0)
		goto out;
	sq_bind_username(q, 1, name, len);
	sq_bind_field(q, 2, u->display_name, sizeof(u->display_name));
	sq_bind_field(q, 3, u->bio, sizeof(u->bio));
	sq_bind_field(q, 4, u->pw_hash, sizeof(u->pw_hash));
	sqlite3_bind_int64(q, 5, u->created_at);
	sqlite3_bind_int(q, 6, u->is_bot);
	if ((rc = store_sqlite_run(q)) == 0) {
		u->id = sqlite3_last_insert_rowid(st->db);
		sq_cache_user_drop(st->cache, u->id);
	}
out:
	store_sqlite_done(q);
	return rc;
}

/* Runs a single-row user query whose ?1 was bound by the caller. */
static int sq_user_one(sqlite3_stmt *q, struct store_user *out)
{
	int rc = store_sqlite_row(q);

	if (rc == 0)
		return PL_NOTFOUND;
	if (rc < 0)
		return rc;
	sq_read_user(q, out);
	return 0;
}

static int sq_user_get(struct store *s, int64_t id, struct store_user *out)
{
	struct sq_cache *c = store_sqlite_cache(s);
	sqlite3_stmt *q = NULL;
	int rc;

	if (sq_cache_user_get(c, id, out))
		return 0;
	memset(out, 0, sizeof(*out));
	if ((rc = sq_prep(sq(s), SQ_USER_GET, &q)) < 0)
		goto out;
	sqlite3_bind_int64(q, 1, id);
	if ((rc = sq_user_one(q, out)) == 0)
		sq_cache_user_put(c, out);
out:
	store_sqlite_done(q);
	return rc;
}

static int sq_user_find(struct store *s, const char *username, struct store_user *out)
{
	sqlite3_stmt *q = NULL;
	char name[STORE_USERNAME_SZ];
	int len, rc;

	memset(out, 0, sizeof(*out));
	if (!username || (len = sq_username(username, 0, name)) <= 0)
		return PL_NOTFOUND;
	if ((rc = sq_prep(sq(s), SQ_USER_FIND, &q)) < 0)
		goto out;
	sqlite3_bind_text(q, 1, name, len, SQLITE_STATIC);
	rc = sq_user_one(q, out);
out:
	store_sqlite_done(q);
	return rc;
}

/* Runs a bound UPDATE/DELETE of one keyed row: PL_NOTFOUND if none matched. */
static int sq_run_one(struct sq_store *st, sqlite3_stmt *q)
{
	int rc = store_sqlite_run(q);

	if (rc == 0 && sqlite3_changes(st->db) == 0)
		rc = PL_NOTFOUND;
	return rc;
}

static int sq_user_update(struct store *s, const struct store_user *u)
{
	struct sq_store *st = sq(s);
	sqlite3_stmt *q = NULL;
	int rc;

	sq_cache_user_drop(st->cache, u->id);
	if ((rc = sq_prep(st, SQ_USER_UPDATE, &q)) < 0)
		goto out;
	sqlite3_bind_int64(q, 1, u->id);
	sq_bind_field(q, 2, u->display_name, sizeof(u->display_name));
	sq_bind_field(q, 3, u->bio, sizeof(u->bio));
	sq_bind_field(q, 4, u->pw_hash, sizeof(u->pw_hash));
	rc = sq_run_one(st, q);
out:
	store_sqlite_done(q);
	return rc;
}

/* Runs a bound single-integer query into *out. */
static int sq_count(struct sq_store *st, enum sq_stmt_id id, int64_t *out)
{
	sqlite3_stmt *q = NULL;
	int rc;

	*out = 0;
	if ((rc = sq_prep(st, id, &q)) == 0 && (rc = store_sqlite_int(q, out)) == PL_NOTFOUND)
		rc = 0;
	store_sqlite_done(q);
	return rc;
}

static int sq_user_count(struct store *s, int64_t *out)
{
	return sq_count(sq(s), SQ_USER_COUNT, out);
}

static int sq_user_set_last_seen(struct store *s, int64_t user_id, int64_t last_seen)
{
	int64_t v[2] = {user_id, last_seen};

	sq_cache_user_drop(sq(s)->cache, user_id);
	return sq_write_ints(sq(s), SQ_USER_SET_LAST_SEEN, v, 2, 1);
}

/* privacy is an enum store_privacy; anything else is PL_INVAL. */
static int sq_user_set_privacy(struct store *s, int64_t user_id, int privacy)
{
	int64_t v[2] = {user_id, privacy};

	if (privacy < STORE_PRIVACY_EVERYBODY || privacy > STORE_PRIVACY_NOBODY)
		return PL_INVAL;
	sq_cache_user_drop(sq(s)->cache, user_id);
	return sq_write_ints(sq(s), SQ_USER_SET_PRIVACY, v, 2, 1);
}

/* ---- sessions ---- */

static int sq_session_create(struct store *s, struct store_session *ss)
{
	struct sq_store *st = sq(s);
	sqlite3_stmt *q = NULL;
	int rc;

	if ((rc = sq_prep(st, SQ_SESSION_CREATE, &q)) < 0)
		goto out;
	sqlite3_bind_int64(q, 1, ss->user_id);
	sq_bind_field(q, 2, ss->token_hash, sizeof(ss->token_hash));
	sq_bind_field(q, 3, ss->device, sizeof(ss->device));
	sq_bind_field(q, 4, ss->ip, sizeof(ss->ip));
	sqlite3_bind_int64(q, 5, ss->created_at);
	sqlite3_bind_int64(q, 6, ss->last_seen);
	if ((rc = store_sqlite_run(q)) == 0) {
		ss->id = sqlite3_last_insert_rowid(st->db);
		sq_cache_session_drop(st->cache, ss->id); /* an id a deleted row had */
	}
out:
	store_sqlite_done(q);
	return rc;
}

/* Reads the one row of q (SQ_SESSION_FIND or _GET, bound) into out. */
static int sq_session_one(sqlite3_stmt *q, struct store_session *out)
{
	int rc;

	if ((rc = store_sqlite_row(q)) == 0)
		rc = PL_NOTFOUND;
	if (rc > 0) {
		sq_read_session(q, out);
		sq_col_copy(q, 7, out->country, sizeof(out->country));
		out->suspended_until = sqlite3_column_int64(q, 8);
		out->suspend_statement = sqlite3_column_int64(q, 9);
		rc = 0;
	}
	return rc;
}

static int sq_session_find(struct store *s, const char *token_hash, struct store_session *out)
{
	sqlite3_stmt *q = NULL;
	int rc;

	memset(out, 0, sizeof(*out));
	if (!token_hash)
		return PL_NOTFOUND;
	if ((rc = sq_prep(sq(s), SQ_SESSION_FIND, &q)) < 0)
		goto out;
	sqlite3_bind_text(q, 1, token_hash, -1, SQLITE_STATIC);
	rc = sq_session_one(q, out);
out:
	store_sqlite_done(q);
	return rc;
}

/* On the writer (a WebSocket call is authenticated there, once per call)
 * the sessions row comes from the row cache and the account's fields from
 * the users row, itself cached: no statement per call. */
static int sq_session_get(struct store *s, int64_t session_id, struct store_session *out)
{
	struct sq_cache *c = store_sqlite_cache(s);
	struct store_user u;
	sqlite3_stmt *q = NULL;
	int rc;

	if (sq_cache_session_get(c, session_id, out) && sq_user_get(s, out->user_id, &u) == 0) {
		memcpy(out->country, u.country, sizeof out->country);
		out->suspended_until = u.suspended_until;
		out->suspend_statement = u.suspend_statement;
		return 0;
	}
	memset(out, 0, sizeof(*out));
	if ((rc = sq_prep(sq(s), SQ_SESSION_GET, &q)) < 0)
		goto out;
	sqlite3_bind_int64(q, 1, session_id);
	if ((rc = sq_session_one(q, out)) == 0)
		sq_cache_session_put(c, out);
out:
	store_sqlite_done(q);
	return rc;
}

static int sq_session_list(struct store *s, int64_t user_id, store_session_cb cb, void *ctx)
{
	sqlite3_stmt *q = NULL;
	struct store_session ss;
	int rc;

	if ((rc = sq_prep(sq(s), SQ_SESSION_LIST, &q)) < 0)
		goto out;
	sqlite3_bind_int64(q, 1, user_id);
	while ((rc = store_sqlite_row(q)) > 0) {
		sq_read_session(q, &ss);
		if ((rc = cb(ctx, &ss)) != 0)
			goto out;
	}
out:
	store_sqlite_done(q);
	return rc;
}

static int sq_session_delete(struct store *s, int64_t user_id, int64_t session_id)
{
	struct sq_store *st = sq(s);
	sqlite3_stmt *q = NULL;
	int rc;

	sq_cache_session_drop(st->cache, session_id);
	if ((rc = sq_prep(st, SQ_SESSION_DELETE, &q)) < 0)
		goto out;
	sqlite3_bind_int64(q, 1, user_id);
	sqlite3_bind_int64(q, 2, session_id);
	rc = sq_run_one(st, q);
out:
	store_sqlite_done(q);
	return rc;
}

/* ip NULL keeps the stored address. */
static int sq_session_touch(struct store *s, int64_t session_id, int64_t now, const char *ip)
{
	struct sq_store *st = sq(s);
	sqlite3_stmt *q = NULL;
	int rc;

	sq_cache_session_drop(st->cache, session_id);
	if ((rc = sq_prep(st, SQ_SESSION_TOUCH, &q)) < 0)
		goto out;
	sqlite3_bind_int64(q, 1, session_id);
	sqlite3_bind_int64(q, 2, now);
	if (ip)
		sq_bind_field(q, 3, ip, STORE_IP_SZ - 1);
	rc = sq_run_one(st, q);
out:
	store_sqlite_done(q);
	return rc;
}

/* ---- blocks ---- */

static int sq_block_set(struct store *s, int64_t blocker, int64_t blocked, int on, int64_t now)
{
	sqlite3_stmt *q = NULL;
	int rc;

	sq_cache_int_drop(sq(s)->cache, SQ_CACHE_BLOCK, blocker, blocked);
	if ((rc = sq_prep(sq(s), on ? SQ_BLOCK_ADD : SQ_BLOCK_DEL, &q)) < 0)
		goto out;
	sqlite3_bind_int64(q, 1, blocker);
	sqlite3_bind_int64(q, 2, blocked);
	if (on)
		sqlite3_bind_int64(q, 3, now);
	rc = store_sqlite_run(q);
out:
	store_sqlite_done(q);
	return rc;
}

static int sq_block_get(struct store *s, int64_t blocker, int64_t blocked)
{
	struct sq_cache *c = store_sqlite_cache(s);
	sqlite3_stmt *q = NULL;
	int64_t v;
	int rc;

	if (sq_cache_int_get(c, SQ_CACHE_BLOCK, blocker, blocked, &v))
		return (int)v;
	if ((rc = sq_prep(sq(s), SQ_BLOCK_GET, &q)) < 0)
		goto out;
	sqlite3_bind_int64(q, 1, blocker);
	sqlite3_bind_int64(q, 2, blocked);
	if ((rc = store_sqlite_row(q)) >= 0)
		sq_cache_int_put(c, SQ_CACHE_BLOCK, blocker, blocked, rc);
out:
	store_sqlite_done(q);
	return rc;
}

static int sq_block_list(struct store *s, int64_t blocker, store_user_cb cb, void *ctx)
{
	sqlite3_stmt *q = NULL;
	struct store_user u;
	int rc;

	if ((rc = sq_prep(sq(s), SQ_BLOCK_LIST, &q)) < 0)
		goto out;
	sqlite3_bind_int64(q, 1, blocker);
	while ((rc = store_sqlite_row(q)) > 0) {
		sq_read_user(q, &u);
		if ((rc = cb(ctx, &u)) != 0)
			goto out;
	}
out:
	store_sqlite_done(q);
	return rc;
}

/* ---- chats ---- */

/* The recency key (chats.last_gid) of a chat without messages: the lowest
 * search key of its date, dates clamped to the search-key range. */
static int64_t sq_date_key(int64_t date)
{
	if (date < 0)
		date = 0;
	if (date > SQ_DATE_MAX)
		date = SQ_DATE_MAX;
	return date << SQ_GID_SHIFT;
}

/* New chats start with no messages and no members (member_put counts them);
 * last_date starts at c->last_date, or created_at if that is 0.  Channels are
 * always large, groups if c->large asks for it, private chats never. */
static int sq_chat_create(struct store *s, struct store_chat *c)
{
	struct sq_store *st = sq(s);
	sqlite3_stmt *q = NULL;
	char name[STORE_USERNAME_SZ];
	int64_t last_date = c->last_date ? c->last_date : c->created_at;
	int large = c->type == STORE_CHAT_CHANNEL || (c->type == STORE_CHAT_GROUP && c->large);
	int len, rc;

	if ((len = sq_username(c->username, sizeof(c->username), name)) < 0)
		return PL_INVAL;
	if ((rc = sq_prep(st, SQ_CHAT_CREATE, &q)) < 0)
		goto out;
	sqlite3_bind_int(q, 1, c->type);
	sq_bind_field(q, 2, c->title, sizeof(c->title));
	sq_bind_username(q, 3, name, len);
	sq_bind_field(q, 4, c->description, sizeof(c->description));
	sqlite3_bind_int64(q, 5, c->creator_id);
	sqlite3_bind_int64(q, 6, c->created_at);
	sqlite3_bind_int(q, 7, c->perms);
	sqlite3_bind_int64(q, 8, last_date);
	sqlite3_bind_int64(q, 9, c->pinned_msg_id);
	sqlite3_bind_int64(q, 10, c->type == STORE_CHAT_PRIVATE ? c->user_lo : 0);
	sqlite3_bind_int64(q, 11, c->type == STORE_CHAT_PRIVATE ? c->user_hi : 0);
	sqlite3_bind_int(q, 12, large);
	sqlite3_bind_int64(q, 13, sq_date_key(last_date));
	if ((rc = store_sqlite_run(q)) < 0)
		goto out;
	c->id = sqlite3_last_insert_rowid(st->db);
	sq_cache_chat_drop(st->cache, c->id);
	c->last_msg_id = 0;
	c->member_count = 0;
	c->last_date = last_date;
	c->large = large;
out:
	store_sqlite_done(q);
	return rc;
}

/* Runs a single-row chat query whose parameters were bound. */
static int sq_chat_one(sqlite3_stmt *q, struct store_chat *out)
{
	int rc = store_sqlite_row(q);

	if (rc == 0)
		return PL_NOTFOUND;
	if (rc < 0)
		return rc;
	sq_read_chat(q, out);
	return 0;
}

static int sq_chat_get(struct store *s, int64_t id, struct store_chat *out)
{
	struct sq_cache *c = store_sqlite_cache(s);
	sqlite3_stmt *q = NULL;
	int rc;

	if (sq_cache_chat_get(c, id, out))
		return 0;
	memset(out, 0, sizeof(*out));
	if ((rc = sq_prep(sq(s), SQ_CHAT_GET, &q)) < 0)
		goto out;
	sqlite3_bind_int64(q, 1, id);
	if ((rc = sq_chat_one(q, out)) == 0)
		sq_cache_chat_put(c, out);
out:
	store_sqlite_done(q);
	return rc;
}

static int sq_chat_find(struct store *s, const char *username, struct store_chat *out)
{
	sqlite3_stmt *q = NULL;
	char name[STORE_USERNAME_SZ];
	int len, rc;

	memset(out, 0, sizeof(*out));
	if (!username || (len = sq_username(username, 0, name)) <= 0)
		return PL_NOTFOUND;
	if ((rc = sq_prep(sq(s), SQ_CHAT_FIND, &q)) < 0)
		goto out;
	sqlite3_bind_text(q, 1, name, len, SQLITE_STATIC);
	rc = sq_chat_one(q, out);
out:
	store_sqlite_done(q);
	return rc;
}

/* A pair's private chat never changes its id (chats are not deleted), so
 * the row cache maps the pair to it for good, and the row itself as any. */
static int sq_chat_find_private(struct store *s, int64_t user_lo, int64_t user_hi, struct store_chat *out)
{
	struct sq_cache *c = store_sqlite_cache(s);
	sqlite3_stmt *q = NULL;
	int64_t id;
	int rc;

	if (sq_cache_int_get(c, SQ_CACHE_PRIVATE, user_lo, user_hi, &id) && sq_cache_chat_get(c, id, out))
		return 0;
	memset(out, 0, sizeof(*out));
	if ((rc = sq_prep(sq(s), SQ_CHAT_FIND_PRIVATE, &q)) < 0)
		goto out;
	sqlite3_bind_int64(q, 1, user_lo);
	sqlite3_bind_int64(q, 2, user_hi);
	if ((rc = sq_chat_one(q, out)) == 0) {
		sq_cache_int_put(c, SQ_CACHE_PRIVATE, user_lo, user_hi, out->id);
		sq_cache_chat_put(c, out);
	}
out:
	store_sqlite_done(q);
	return rc;
}

static int sq_chat_update(struct store *s, const struct store_chat *c)
{
	struct sq_store *st = sq(s);
	sqlite3_stmt *q = NULL;
	char name[STORE_USERNAME_SZ];
	int len, rc;

	if ((len = sq_username(c->username, sizeof(c->username), name)) < 0)
		return PL_INVAL;
	sq_cache_chat_drop(st->cache, c->id);
	if ((rc = sq_prep(st, SQ_CHAT_UPDATE, &q)) < 0)
		goto out;
	sqlite3_bind_int64(q, 1, c->id);
	sq_bind_field(q, 2, c->title, sizeof(c->title));
	sq_bind_username(q, 3, name, len);
	sq_bind_field(q, 4, c->description, sizeof(c->description));
	sqlite3_bind_int(q, 5, c->perms);
	sqlite3_bind_int64(q, 6, c->pinned_msg_id);
	rc = sq_run_one(st, q);
out:
	store_sqlite_done(q);
	return rc;
}

/* Marks the chat large, and its member rows with it (members.large mirrors
 * chats.large for large_chats).  Idempotent; PL_NOTFOUND for no chat. */
static int sq_chat_set_large(struct store *s, int64_t chat_id)
{
	struct sq_store *st = sq(s);
	int outer = 0, rc;

	sq_cache_chat_drop(st->cache, chat_id);
	if ((rc = sq_op_begin(st, &outer)) < 0)
		return rc;
	if ((rc = sq_write_ints(st, SQ_CHAT_SET_LARGE, &chat_id, 1, 1)) == 0)
		rc = sq_write_ints(st, SQ_CHAT_MEMBERS_SET_LARGE, &chat_id, 1, 0);
	return sq_op_end(st, outer, rc);
}

/* ---- members ---- */

/* Reads the role of (chat_id, user_id) into *role: 1 if the row exists, 0 if
 * not, or a negative pl_err. */
static int sq_member_role(struct sq_store *st, int64_t chat_id, int64_t user_id, int *role)
{
	sqlite3_stmt *q = NULL;
	int rc;

	if ((rc = sq_prep(st, SQ_MEMBER_ROLE, &q)) < 0)
		goto out;
	sqlite3_bind_int64(q, 1, chat_id);
	sqlite3_bind_int64(q, 2, user_id);
	if ((rc = store_sqlite_row(q)) > 0)
		*role = sqlite3_column_int(q, 0);
out:
	store_sqlite_done(q);
	return rc;
}

static int sq_member_upsert(struct sq_store *st, const struct store_member *m)
{
	sqlite3_stmt *q = NULL;
	int rc;

	if ((rc = sq_prep(st, SQ_MEMBER_PUT, &q)) < 0)
		goto out;
	sqlite3_bind_int64(q, 1, m->chat_id);
	sqlite3_bind_int64(q, 2, m->user_id);
	sqlite3_bind_int(q, 3, m->role);
	sqlite3_bind_int64(q, 4, m->joined_at);
	sqlite3_bind_int64(q, 5, m->invited_by);
	sqlite3_bind_int64(q, 6, m->read_max_id);
	rc = store_sqlite_run(q);
out:
	store_sqlite_done(q);
	return rc;
}

static int sq_chat_add_members(struct sq_store *st, int64_t chat_id, int delta)
{
	sqlite3_stmt *q = NULL;
	int rc;

	sq_cache_chat_drop(st->cache, chat_id);
	if ((rc = sq_prep(st, SQ_CHAT_ADD_MEMBERS, &q)) < 0)
		goto out;
	sqlite3_bind_int64(q, 1, chat_id);
	sqlite3_bind_int(q, 2, delta);
	rc = sq_run_one(st, q);
out:
	store_sqlite_done(q);
	return rc;
}

/* Upserts the row and moves chats.member_count by the change in whether the
 * user counts as a member (role >= MEMBER) — no recount. */
static int sq_member_put(struct store *s, const struct store_member *m)
{
	struct sq_store *st = sq(s);
	int old_role = STORE_ROLE_LEFT;
	int outer = 0, delta, rc;

	sq_cache_member_drop(st->cache, m->chat_id, m->user_id);
	if ((rc = sq_op_begin(st, &outer)) < 0)
		return rc;
	if ((rc = sq_member_role(st, m->chat_id, m->user_id, &old_role)) < 0)
		goto out;
	if ((rc = sq_member_upsert(st, m)) < 0)
		goto out;
	delta = (m->role >= STORE_ROLE_MEMBER) - (old_role >= STORE_ROLE_MEMBER);
	if (delta != 0)
		rc = sq_chat_add_members(st, m->chat_id, delta);
out:
	return sq_op_end(st, outer, rc);
}

static int sq_member_get(struct store *s, int64_t chat_id, int64_t user_id, struct store_member *out)
{
	struct sq_cache *c = store_sqlite_cache(s);
	sqlite3_stmt *q = NULL;
	int rc;

	if (sq_cache_member_get(c, chat_id, user_id, out))
		return 0;
	memset(out, 0, sizeof(*out));
	if ((rc = sq_prep(sq(s), SQ_MEMBER_GET, &q)) < 0)
		goto out;
	sqlite3_bind_int64(q, 1, chat_id);
	sqlite3_bind_int64(q, 2, user_id);
	if ((rc = store_sqlite_row(q)) == 0)
		rc = PL_NOTFOUND;
	if (rc > 0) {
		sq_read_member(q, 0, out);
		sq_cache_member_put(c, out);
		rc = 0;
	}
out:
	store_sqlite_done(q);
	return rc;
}

static int sq_member_list(struct store *s, int64_t chat_id, int admins_only, int64_t after_user_id,
			  int limit, store_member_cb cb, void *ctx)
{
	sqlite3_stmt *q = NULL;
	struct store_member mb;
	int rc;

	if (limit <= 0)
		return 0;
	if ((rc = sq_prep(sq(s), admins_only ? SQ_MEMBER_LIST_ADMINS : SQ_MEMBER_LIST, &q)) < 0)
		goto out;
	sqlite3_bind_int64(q, 1, chat_id);
	sqlite3_bind_int64(q, 2, after_user_id);
	sqlite3_bind_int(q, 3, limit);
	while ((rc = store_sqlite_row(q)) > 0) {
		sq_read_member(q, 0, &mb);
		if ((rc = cb(ctx, &mb)) != 0)
			goto out;
	}
out:
	store_sqlite_done(q);
	return rc;
}

static int sq_member_set_read(struct store *s, int64_t chat_id, int64_t user_id, int64_t read_max_id)
{
	struct sq_store *st = sq(s);
	sqlite3_stmt *q = NULL;
	int rc;

	sq_cache_member_drop(st->cache, chat_id, user_id);
	if ((rc = sq_prep(st, SQ_MEMBER_SET_READ, &q)) < 0)
		goto out;
	sqlite3_bind_int64(q, 1, chat_id);
	sqlite3_bind_int64(q, 2, user_id);
	sqlite3_bind_int64(q, 3, read_max_id);
	rc = sq_run_one(st, q);
out:
	store_sqlite_done(q);
	return rc;
}

/* Member ids only, in primary-key order: what a fan-out needs. */
static int sq_member_ids(struct store *s, int64_t chat_id, int64_t after_user_id, int limit, store_id_cb cb,
			 void *ctx)
{
	if (limit <= 0)
		return 0;
	return sq_each_id(sq(s), SQ_MEMBER_IDS, chat_id, after_user_id, limit, cb, ctx);
}

/* The peers of user_id's private chats, ascending. */
static int sq_contact_ids(struct store *s, int64_t user_id, store_id_cb cb, void *ctx)
{
	return sq_each_id(sq(s), SQ_CONTACT_IDS, user_id, 0, 0, cb, ctx);
}

/* The user's large chats and their pts, by chat id: a range of the partial
 * index members_large, then one chats lookup per large chat. */
static int sq_large_chats(struct store *s, int64_t user_id, store_chat_pts_cb cb, void *ctx)
{
	sqlite3_stmt *q = NULL;
	int rc;

	if ((rc = sq_dirty_write(sq(s))) < 0) /* it reads chats.pts */
		return rc;
	if ((rc = sq_prep(sq(s), SQ_LARGE_CHATS, &q)) < 0)
		goto out;
	sqlite3_bind_int64(q, 1, user_id);
	while ((rc = store_sqlite_row(q)) > 0)
		if ((rc = cb(ctx, sqlite3_column_int64(q, 0), sqlite3_column_int64(q, 1))) != 0)
			goto out;
out:
	store_sqlite_done(q);
	return rc;
}

/* ---- invite links ---- */

static int sq_link_create(struct store *s, const struct store_link *l)
{
	sqlite3_stmt *q = NULL;
	int rc;

	if ((rc = sq_prep(sq(s), SQ_LINK_CREATE, &q)) < 0)
		goto out;
	sq_bind_field(q, 1, l->code, sizeof(l->code));
	sqlite3_bind_int64(q, 2, l->chat_id);
	sqlite3_bind_int64(q, 3, l->creator_id);
	sq_bind_field(q, 4, l->name, sizeof(l->name));
	sqlite3_bind_int64(q, 5, l->created_at);
	sqlite3_bind_int64(q, 6, l->expire_date);
	sqlite3_bind_int64(q, 7, l->member_limit);
	sqlite3_bind_int64(q, 8, l->usage);
	sqlite3_bind_int(q, 9, l->revoked);
	sqlite3_bind_int(q, 10, l->is_primary != 0);
	rc = store_sqlite_run(q);
out:
	store_sqlite_done(q);
	return rc;
}

static int sq_link_get(struct store *s, const char *code, struct store_link *out)
{
	sqlite3_stmt *q = NULL;
	int rc;

	memset(out, 0, sizeof(*out));
	if (!code)
		return PL_NOTFOUND;
	if ((rc = sq_prep(sq(s), SQ_LINK_GET, &q)) < 0)
		goto out;
	sqlite3_bind_text(q, 1, code, -1, SQLITE_STATIC);
	if ((rc = store_sqlite_row(q)) == 0)
		rc = PL_NOTFOUND;
	if (rc > 0) {
		sq_read_link(q, out);
		rc = 0;
	}
out:
	store_sqlite_done(q);
	return rc;
}

static int sq_link_update(struct store *s, const struct store_link *l)
{
	struct sq_store *st = sq(s);
	sqlite3_stmt *q = NULL;
	int rc;

	if ((rc = sq_prep(st, SQ_LINK_UPDATE, &q)) < 0)
		goto out;
	sq_bind_field(q, 1, l->code, sizeof(l->code));
	sqlite3_bind_int64(q, 2, l->usage);
	sqlite3_bind_int(q, 3, l->revoked);
	sq_bind_field(q, 4, l->name, sizeof(l->name));
	sqlite3_bind_int64(q, 5, l->expire_date);
	sqlite3_bind_int64(q, 6, l->member_limit);
	rc = sq_run_one(st, q);
out:
	store_sqlite_done(q);
	return rc;
}

static int sq_link_list(struct store *s, int64_t chat_id, store_link_cb cb, void *ctx)
{
	sqlite3_stmt *q = NULL;
	struct store_link l;
	int rc;

	if ((rc = sq_prep(sq(s), SQ_LINK_LIST, &q)) < 0)
		goto out;
	sqlite3_bind_int64(q, 1, chat_id);
	while ((rc = store_sqlite_row(q)) > 0) {
		sq_read_link(q, &l);
		if ((rc = cb(ctx, &l)) != 0)
			goto out;
	}
out:
	store_sqlite_done(q);
	return rc;
}

/* ---- messages ---- */

/* Advances the chat's sequence to a new message dated date with search key
 * gid (which becomes the chat's recency key); *id gets the new message's id.
 * guess, if not 0, is the id the caller expects (its chats row's last_msg_id
 * + 1): one UPDATE that only matches if it is right; otherwise, or without
 * one, the row is read first.  Runs under the write lock, so read-then-write
 * is safe. */
static int sq_msg_next_id(struct sq_store *st, int64_t chat_id, int64_t date, int64_t gid, int64_t guess,
			  int64_t *id)
{
	int64_t last = 0;
	int rc;

	if (guess > 0) {
		int64_t v[4] = {chat_id, guess, date, gid};
		if ((rc = sq_write_ints(st, SQ_MSG_ADVANCE_IF, v, 4, 1)) != PL_NOTFOUND) {
			if (rc == 0)
				*id = guess;
			return rc;
		}
	}
	if ((rc = sq_read_int(st, SQ_MSG_LAST_ID, &chat_id, 1, &last)) < 0)
		return rc;
	int64_t v[4] = {chat_id, last + 1, date, gid};
	if ((rc = sq_write_ints(st, SQ_MSG_ADVANCE, v, 4, 0)) == 0)
		*id = last + 1;
	return rc;
}

/* Allocates the search key of a message dated date: date << SQ_GID_SHIFT
 * plus a sequence within that date, so walking the index by rowid is walking
 * it by date.  The highest key of a date is looked up (one index probe) when
 * the date changes and counted on from there, across commits: the writer's
 * handle is the only one that inserts messages, so what it counted is what
 * is stored, or ahead of it where a rollback undid keys (a gap).  Rollback
 * and undo forget it all the same, so keys are unique though not
 * necessarily dense.  Should another connection have inserted messages
 * after all, the insert fails on the unique key and sq_message_put looks
 * the highest key up again (*cached tells that it came from the cache). */
static int sq_msg_next_gid(struct sq_store *st, int64_t date, int64_t *gid, int *cached)
{
	sqlite3_stmt *q = NULL;
	int64_t base = date << SQ_GID_SHIFT;
	int rc = 0;

	*cached = st->gid_known && st->gid_date == date;
	if (!*cached) {
		if ((rc = sq_prep(st, SQ_MSG_MAX_GID, &q)) < 0)
			goto out;
		sqlite3_bind_int64(q, 1, base);
		sqlite3_bind_int64(q, 2, base + SQ_GID_SEQ_MAX);
		if ((rc = store_sqlite_row(q)) == 0)
			rc = PL_IO;
		if (rc < 0)
			goto out;
		rc = 0;
		st->gid_last = sqlite3_column_type(q, 0) == SQLITE_NULL ? base - 1 : sqlite3_column_int64(q, 0);
		st->gid_date = date;
		st->gid_known = 1;
	}
	if (st->gid_last >= base + SQ_GID_SEQ_MAX) {
		rc = PL_TOOBIG;
		goto out;
	}
	*gid = ++st->gid_last;
out:
	store_sqlite_done(q);
	return rc;
}

/* The id of chat_id's newest message as the open transaction has it: as
 * noted by an earlier append (sq_dirty_chat), else from the row cache, else
 * from the row (PL_NOTFOUND without one).  The writer is the only writer of
 * chats rows, and the cache follows every append (sq_message_put). */
static int sq_msg_last_id(struct sq_store *st, int64_t chat_id, int64_t *last)
{
	const struct sq_dirty *d = sq_dirty_find(st, SQ_DIRTY_CHAT_LAST, chat_id);

	if (d) {
		*last = d->pts;
		return 0;
	}
	if (sq_cache_chat_last(store_sqlite_cache(&st->base), chat_id, last))
		return 0;
	return sq_read_int(st, SQ_MSG_LAST_ID, &chat_id, 1, last);
}

/* Inserts m with id and search key gid. */
static int sq_msg_insert(struct sq_store *st, const struct store_message *m, int64_t id, int64_t gid)
{
	sqlite3_stmt *q = NULL;
	int rc;

	if ((rc = sq_prep(st, SQ_MSG_INSERT, &q)) < 0)
		goto out;
	sqlite3_bind_int64(q, 1, m->chat_id);
	sqlite3_bind_int64(q, 2, id);
	sqlite3_bind_int64(q, 3, gid);
	sqlite3_bind_int64(q, 4, m->sender_id);
	sqlite3_bind_int64(q, 5, m->date);
	sqlite3_bind_int64(q, 6, m->edit_date);
	if ((rc = sq_bind_text(q, 7, m->text)) < 0)
		goto out;
	sqlite3_bind_int64(q, 8, m->reply_to_id);
	sqlite3_bind_int64(q, 9, m->fwd_user_id);
	sqlite3_bind_int64(q, 10, m->fwd_chat_id);
	sqlite3_bind_int64(q, 11, m->fwd_msg_id);
	sqlite3_bind_int64(q, 12, m->fwd_date);
	sqlite3_bind_int(q, 13, m->service); /* the kind: core renders it */
	rc = store_sqlite_run(q);
out:
	store_sqlite_done(q);
	return rc;
}

/* Appends m to its chat (m->id set on success).  Only m's content fields are
 * stored: views and deleted start at 0.  Non-service text is indexed.
 *
 * Inside a caller's transaction the chats row is not written at each append
 * but noted (sq_dirty_chat: newest id, date and search key) and written once,
 * with the counters, before the commit, before a mark, before an op that
 * opens its own unit (sq_op_begin) and before any statement that may read
 * it (sq_prep, store_sqlite_stmt): a group of many messages in one private
 * chat writes its row once.  The note is taken after the op's unit is
 * closed, so undoing the op has nothing to take back; a rollback or an undo
 * to a mark drops the notes with the rows (the mark wrote the older ones).
 * The op opens its unit without writing the notes (nothing it runs reads
 * them: notes_held), and the next id comes from the note, the row cache or
 * the row.  Outside a transaction the row is written at once (the caller's
 * m->id, when not 0, is the id it expects: one conditional UPDATE). */
static int sq_message_put(struct store *s, struct store_message *m)
{
	struct sq_store *st = sq(s);
	int indexed = !m->service && m->text;
	size_t fq0;
	int64_t id = 0, gid = 0;
	int outer = 0, cached = 0, rc;

	if (m->date < 0 || m->date > SQ_DATE_MAX)
		return PL_INVAL;
	if ((rc = sq_fq_prepare(st, 1)) < 0)
		return rc;
	fq0 = st->fq_len;
	if ((rc = sq_op_begin_keep(st, &outer, 1)) < 0)
		return rc;
	st->notes_held = 1;
	if ((rc = sq_msg_next_gid(st, m->date, &gid, &cached)) < 0)
		goto out;
	if (!outer && (rc = sq_msg_last_id(st, m->chat_id, &id)) == 0)
		id++;
	else if (outer)
		rc = sq_msg_next_id(st, m->chat_id, m->date, gid, m->id, &id);
	if (rc < 0)
		goto out;
	rc = sq_msg_insert(st, m, id, gid);
	if (rc == PL_EXISTS && cached) { /* the cached key was taken: look it up again */
		int64_t v[4] = {m->chat_id, id, m->date, 0};
		st->gid_known = 0;
		if ((rc = sq_msg_next_gid(st, m->date, &gid, &cached)) < 0)
			goto out;
		v[3] = gid;
		if (outer && (rc = sq_write_ints(st, SQ_MSG_ADVANCE, v, 4, 0)) < 0)
			goto out;
		rc = sq_msg_insert(st, m, id, gid);
	}
	if (rc < 0)
		goto out;
	if (indexed)
		rc = sq_index(st, 1, gid, m->chat_id, m->text, 0);
out:
	st->notes_held = 0;
	if ((rc = sq_op_end(st, outer, rc)) == 0 && !outer && sq_dirty_chat(st, m->chat_id, id, m->date, gid) < 0) {
		int64_t v[4] = {m->chat_id, id, m->date, gid};
		if ((rc = sq_write_ints(st, SQ_MSG_ADVANCE, v, 4, 1)) < 0)
			st->broken = 1; /* a message without its chat's advance: only rollback may follow */
	}
	if (rc < 0) {
		sq_fq_truncate(st, fq0);
		sq_cache_chat_drop(st->cache, m->chat_id);
	} else {
		m->id = id;
		/* The row as it now stands, committed or noted (outside a
		 * transaction the op committed itself just now). */
		sq_cache_chat_advance(st->cache, m->chat_id, id, m->date);
	}
	return rc;
}

static int sq_message_get(struct store *s, int64_t chat_id, int64_t id, struct store_message *out)
{
	sqlite3_stmt *q = NULL;
	int rc;

	memset(out, 0, sizeof(*out));
	if ((rc = sq_prep(sq(s), SQ_MSG_GET, &q)) < 0)
		goto out;
	sqlite3_bind_int64(q, 1, chat_id);
	sqlite3_bind_int64(q, 2, id);
	if ((rc = store_sqlite_row(q)) == 0)
		rc = PL_NOTFOUND;
	if (rc > 0)
		rc = sq_read_message(q, out, 1);
out:
	store_sqlite_done(q);
	return rc;
}

/* The stored state of a message that edit and delete need. */
struct sq_msg_state {
	int64_t gid;
	char *text;   /* malloc'd copy when indexed, else NULL */
	int service;
	int indexed;  /* present in the search index: text and not service */
};

/* Loads the state of a live message: PL_NOTFOUND if it is missing or was
 * deleted for everyone. */
static int sq_msg_state(struct sq_store *st, int64_t chat_id, int64_t id, struct sq_msg_state *ms)
{
	sqlite3_stmt *q = NULL;
	const char *text;
	int rc;

	memset(ms, 0, sizeof(*ms));
	if ((rc = sq_prep(st, SQ_MSG_STATE, &q)) < 0)
		goto out;
	sqlite3_bind_int64(q, 1, chat_id);
	sqlite3_bind_int64(q, 2, id);
	if ((rc = store_sqlite_row(q)) <= 0) {
		if (rc == 0)
			rc = PL_NOTFOUND;
		goto out;
	}
	rc = 0;
	if (sqlite3_column_int(q, 2)) {
		rc = PL_NOTFOUND;
		goto out;
	}
	ms->gid = sqlite3_column_int64(q, 0);
	text = (const char *)sqlite3_column_text(q, 1);
	ms->service = sqlite3_column_int(q, 3);
	ms->indexed = text && !ms->service;
	if (ms->indexed && !(ms->text = strdup(text)))
		rc = PL_NOMEM;
out:
	store_sqlite_done(q);
	return rc;
}

/* Runs a message UPDATE keyed by (chat_id, id); an edit also binds text
 * (?3) and edit_date (?4). */
static int sq_msg_update(struct sq_store *st, enum sq_stmt_id sid, int64_t chat_id, int64_t id,
			 const char *text, int64_t edit_date)
{
	sqlite3_stmt *q = NULL;
	int rc;

	if ((rc = sq_prep(st, sid, &q)) < 0)
		goto out;
	sqlite3_bind_int64(q, 1, chat_id);
	sqlite3_bind_int64(q, 2, id);
	if (sid == SQ_MSG_EDIT) {
		if ((rc = sq_bind_text(q, 3, text)) < 0)
			goto out;
		sqlite3_bind_int64(q, 4, edit_date);
	}
	rc = sq_run_one(st, q);
out:
	store_sqlite_done(q);
	return rc;
}

/* Edits a live message's text (text may be NULL) and re-indexes it. */
static int sq_message_edit(struct store *s, int64_t chat_id, int64_t id, const char *text,
			   int64_t edit_date)
{
	struct sq_store *st = sq(s);
	struct sq_msg_state ms = {0};
	size_t fq0;
	int outer = 0, rc;

	if ((rc = sq_fq_prepare(st, 2)) < 0)
		return rc;
	fq0 = st->fq_len;
	if ((rc = sq_op_begin(st, &outer)) < 0)
		return rc;
	if ((rc = sq_msg_state(st, chat_id, id, &ms)) < 0)
		goto out;
	if ((rc = sq_msg_update(st, SQ_MSG_EDIT, chat_id, id, text, edit_date)) < 0)
		goto out;
	if (ms.indexed && (rc = sq_index(st, 0, ms.gid, chat_id, ms.text, 1)) < 0)
		goto out;
	if (text && !ms.service)
		rc = sq_index(st, 0, ms.gid, chat_id, text, 0);
out:
	if ((rc = sq_op_end(st, outer, rc)) < 0)
		sq_fq_truncate(st, fq0);
	free(ms.text);
	return rc;
}

/* Deletes a live message for everyone: text dropped, deleted set, removed
 * from the search index.  Already deleted: PL_NOTFOUND. */
static int sq_message_delete(struct store *s, int64_t chat_id, int64_t id)
{
	struct sq_store *st = sq(s);
	struct sq_msg_state ms = {0};
	size_t fq0;
	int outer = 0, rc;

	if ((rc = sq_fq_prepare(st, 1)) < 0)
		return rc;
	fq0 = st->fq_len;
	if ((rc = sq_op_begin(st, &outer)) < 0)
		return rc;
	if ((rc = sq_msg_state(st, chat_id, id, &ms)) < 0)
		goto out;
	if ((rc = sq_msg_update(st, SQ_MSG_DELETE, chat_id, id, NULL, 0)) < 0)
		goto out;
	if (ms.indexed)
		rc = sq_index(st, 0, ms.gid, chat_id, ms.text, 1);
out:
	if ((rc = sq_op_end(st, outer, rc)) < 0)
		sq_fq_truncate(st, fq0);
	free(ms.text);
	return rc;
}

/* Takes a live message out of everyone's view keeping its text, or puts a
 * removed one back (store.h, message_moderate); the search index follows. */
static int sq_message_moderate(struct store *s, int64_t chat_id, int64_t id, int remove)
{
	struct sq_store *st = sq(s);
	sqlite3_stmt *q = NULL;
	char *text = NULL;
	int64_t gid = 0;
	size_t fq0;
	int outer = 0, state, indexed, rc;

	if ((rc = sq_fq_prepare(st, 1)) < 0)
		return rc;
	fq0 = st->fq_len;
	if ((rc = sq_op_begin(st, &outer)) < 0)
		return rc;
	if ((rc = sq_prep(st, SQ_MSG_STATE, &q)) < 0)
		goto out;
	sqlite3_bind_int64(q, 1, chat_id);
	sqlite3_bind_int64(q, 2, id);
	if ((rc = store_sqlite_row(q)) <= 0) {
		rc = rc == 0 ? PL_NOTFOUND : rc;
		goto out;
	}
	gid = sqlite3_column_int64(q, 0);
	state = sqlite3_column_int(q, 2);
	indexed = sqlite3_column_type(q, 1) != SQLITE_NULL && !sqlite3_column_int(q, 3);
	if (state != (remove ? STORE_LIVE : STORE_REMOVED)) {
		rc = PL_NOTFOUND;
		goto out;
	}
	if (indexed && !(text = strdup((const char *)sqlite3_column_text(q, 1)))) {
		rc = PL_NOMEM;
		goto out;
	}
	store_sqlite_done(q);
	if ((rc = sq_prep(st, SQ_MSG_MODERATE, &q)) < 0)
		goto out;
	sqlite3_bind_int64(q, 1, chat_id);
	sqlite3_bind_int64(q, 2, id);
	sqlite3_bind_int(q, 3, remove ? STORE_REMOVED : STORE_LIVE);
	sqlite3_bind_int(q, 4, remove ? STORE_LIVE : STORE_REMOVED);
	if ((rc = sq_run_one(st, q)) < 0)
		goto out;
	if (text)
		rc = sq_index(st, 0, gid, chat_id, text, remove);
out:
	store_sqlite_done(q);
	if ((rc = sq_op_end(st, outer, rc)) < 0)
		sq_fq_truncate(st, fq0);
	free(text);
	return rc;
}

/* Reads the message's view count: PL_NOTFOUND if there is no message. */
static int sq_msg_views(struct sq_store *st, int64_t chat_id, int64_t id, int64_t *views)
{
	int64_t v[2] = {chat_id, id};

	return sq_read_int(st, SQ_MSG_VIEWS, v, 2, views);
}

/* Inserts (chat_id, id, user_id) into a per-message set table (views or
 * hidden, by sid) unless present: 1 if inserted, 0 if it was there. */
static int sq_msg_mark_user(struct sq_store *st, enum sq_stmt_id sid, int64_t a, int64_t b, int64_t c)
{
	sqlite3_stmt *q = NULL;
	int rc;

	if ((rc = sq_prep(st, sid, &q)) < 0)
		goto out;
	sqlite3_bind_int64(q, 1, a);
	sqlite3_bind_int64(q, 2, b);
	sqlite3_bind_int64(q, 3, c);
	if ((rc = store_sqlite_run(q)) == 0)
		rc = sqlite3_changes(st->db) > 0;
out:
	store_sqlite_done(q);
	return rc;
}

static int sq_message_hide(struct store *s, int64_t user_id, int64_t chat_id, int64_t id)
{
	struct sq_store *st = sq(s);
	int64_t views;
	int rc;

	if ((rc = sq_msg_views(st, chat_id, id, &views)) < 0)
		return rc;
	rc = sq_msg_mark_user(st, SQ_MSG_HIDE, user_id, chat_id, id);
	return rc < 0 ? rc : 0;
}

/* Adds one to the message's views (*views, read under the same write lock). */
static int sq_msg_view_inc(struct sq_store *st, int64_t chat_id, int64_t id, int64_t *views)
{
	sqlite3_stmt *q = NULL;
	int rc;

	if ((rc = sq_prep(st, SQ_VIEW_INC, &q)) < 0)
		goto out;
	sqlite3_bind_int64(q, 1, chat_id);
	sqlite3_bind_int64(q, 2, id);
	if ((rc = sq_run_one(st, q)) == 0)
		(*views)++;
out:
	store_sqlite_done(q);
	return rc;
}

static int sq_message_view(struct store *s, int64_t chat_id, int64_t id, int64_t user_id, int64_t *views)
{
	struct sq_store *st = sq(s);
	int64_t n = 0;
	int outer = 0, rc;

	if ((rc = sq_op_begin(st, &outer)) < 0)
		return rc;
	if ((rc = sq_msg_views(st, chat_id, id, &n)) < 0)
		goto out;
	if ((rc = sq_msg_mark_user(st, SQ_VIEW_ADD, chat_id, id, user_id)) > 0)
		rc = sq_msg_view_inc(st, chat_id, id, &n);
out:
	if ((rc = sq_op_end(st, outer, rc)) == 0 && views)
		*views = n;
	return rc;
}

static int sq_message_history(struct store *s, int64_t chat_id, int64_t user_id, int64_t from_id,
			      int dir, int limit, store_message_cb cb, void *ctx)
{
	sqlite3_stmt *q = NULL;
	struct store_message m;
	int rc;

	if (dir != STORE_OLDER && dir != STORE_NEWER)
		return PL_INVAL;
	if (limit <= 0)
		return 0;
	if (dir == STORE_OLDER && from_id <= 0)
		from_id = INT64_MAX;
	if ((rc = sq_prep(sq(s), dir == STORE_OLDER ? SQ_MSG_OLDER : SQ_MSG_NEWER, &q)) < 0)
		goto out;
	sqlite3_bind_int64(q, 1, chat_id);
	sqlite3_bind_int64(q, 2, from_id);
	sqlite3_bind_int64(q, 3, user_id);
	sqlite3_bind_int(q, 4, limit);
	while ((rc = store_sqlite_row(q)) > 0) {
		sq_read_message(q, &m, 0);
		if ((rc = cb(ctx, &m)) != 0)
			goto out;
	}
out:
	store_sqlite_done(q);
	return rc;
}

/* Whether word could yield a token under the unicode61 tokenizer: ASCII
 * letters and digits and any non-ASCII byte may; ASCII punctuation alone
 * never does, and an empty FTS5 phrase would make the whole query match
 * nothing. */
static int sq_word_has_token(const char *w, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)w[i];

		if (c >= 0x80 || (c >= '0' && c <= '9') || ((c | 0x20) >= 'a' && (c | 0x20) <= 'z'))
			return 1;
	}
	return 0;
}

static int sq_is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

/* Appends word as an FTS5 string on column body ("" doubles any quote). */
static char *sq_match_word(char *p, const char *w, size_t n, int first)
{
	if (!first) {
		memcpy(p, " AND ", 5);
		p += 5;
	}
	memcpy(p, "body:\"", 6);
	p += 6;
	for (size_t i = 0; i < n; i++) {
		if (w[i] == '"')
			*p++ = '"';
		*p++ = w[i];
	}
	*p++ = '"';
	return p;
}

/* Builds the FTS5 expression for the user's query: each whitespace-separated
 * word a quoted string on column body (so no character of it is syntax), all
 * required, and the chat token first when chat_id is set.  *out is malloc'd,
 * or NULL when the query has no searchable word. */
static int sq_match_build(const char *query, int64_t chat_id, char **out)
{
	size_t len = query ? strlen(query) : 0;
	const char *w = query;
	char *buf, *p;
	int first = 1;

	*out = NULL;
	if (len > SQ_QUERY_MAX)
		return PL_TOOBIG;
	/* Per word: " AND body:\"\"" (12) plus each byte at most twice; a word
	 * takes at least 2 bytes of query with its separator. */
	if (!(buf = p = malloc(len * 8 + 64)))
		return PL_NOMEM;
	if (chat_id)
		p += sprintf(p, "chat:\"c%lld\"", (long long)chat_id);
	while (len > 0) {
		size_t n = 0;

		while (len > 0 && sq_is_space(*w)) {
			w++;
			len--;
		}
		while (n < len && !sq_is_space(w[n]))
			n++;
		if (n > 0 && sq_word_has_token(w, n)) {
			p = sq_match_word(p, w, n, first && !chat_id);
			first = 0;
		}
		w += n;
		len -= n;
	}
	*p = '\0';
	if (first) {
		free(buf);
		return 0;
	}
	*out = buf;
	return 0;
}

/* The exclusive search-key bound that keeps every key of date and before. */
static int64_t sq_date_end_key(int64_t date)
{
	if (date >= SQ_DATE_MAX)
		return INT64_MAX;
	return sq_date_key(date + 1);
}

/* Reads the search key of message (chat_id, id): 1 and *gid if it exists, 0
 * if not, or a negative pl_err.  Deleted messages keep theirs. */
static int sq_msg_gid(struct sq_store *st, int64_t chat_id, int64_t id, int64_t *gid)
{
	sqlite3_stmt *q = NULL;
	int rc;

	if ((rc = sq_prep(st, SQ_MSG_GID, &q)) < 0)
		goto out;
	sqlite3_bind_int64(q, 1, chat_id);
	sqlite3_bind_int64(q, 2, id);
	if ((rc = store_sqlite_row(q)) > 0)
		*gid = sqlite3_column_int64(q, 0);
out:
	store_sqlite_done(q);
	return rc;
}

/* Newest first by search key, i.e. by date and, within a second, by commit
 * order.  The offset triple names the last message of the previous page and
 * is translated to its key; a triple naming no message falls back to the end
 * of offset_date (the page may then repeat hits of that second, never skip
 * one).  Cost: the index walk from the bound to the limit-th hit. */
static int sq_message_search(struct store *s, int64_t user_id, int64_t chat_id, const char *query,
			     int64_t offset_date, int64_t offset_chat, int64_t offset_id, int limit,
			     store_message_cb cb, void *ctx)
{
	struct sq_store *st = sq(s);
	sqlite3_stmt *q = NULL;
	struct store_message m;
	int64_t hi = INT64_MAX;
	char *match = NULL;
	int rc;

	if (limit <= 0)
		return 0;
	if ((rc = sq_match_build(query, chat_id, &match)) < 0 || !match)
		return rc;
	if (offset_date > 0) {
		if ((rc = sq_msg_gid(st, offset_chat, offset_id, &hi)) < 0)
			goto out;
		if (rc == 0)
			hi = sq_date_end_key(offset_date);
	}
	if ((rc = sq_prep(st, chat_id ? SQ_MSG_SEARCH_CHAT : SQ_MSG_SEARCH_ALL, &q)) < 0)
		goto out;
	sqlite3_bind_text(q, 1, match, -1, SQLITE_STATIC);
	sqlite3_bind_int64(q, 2, chat_id);
	sqlite3_bind_int64(q, 3, user_id);
	sqlite3_bind_int64(q, 4, hi);
	sqlite3_bind_int(q, 5, limit);
	while ((rc = store_sqlite_row(q)) > 0) {
		sq_read_message(q, &m, 0);
		if ((rc = cb(ctx, &m)) != 0)
			goto out;
	}
out:
	store_sqlite_done(q);
	free(match);
	return rc;
}

static int sq_message_unread(struct store *s, int64_t chat_id, int64_t user_id, int64_t after_id,
			     int64_t *out)
{
	sqlite3_stmt *q = NULL;
	int rc;

	*out = 0;
	if ((rc = sq_prep(sq(s), SQ_MSG_UNREAD, &q)) < 0)
		goto out;
	sqlite3_bind_int64(q, 1, chat_id);
	sqlite3_bind_int64(q, 2, user_id);
	sqlite3_bind_int64(q, 3, after_id);
	if ((rc = store_sqlite_row(q)) > 0) {
		*out = sqlite3_column_int64(q, 0);
		rc = 0;
	}
out:
	store_sqlite_done(q);
	return rc;
}

/* Every message ever stored, deleted ones included (they keep their row). */
static int sq_message_count(struct store *s, int64_t *out)
{
	return sq_count(sq(s), SQ_MSG_COUNT, out);
}

/* ---- dialogs ---- */

/* Translates the dialog cursor to a recency key: the offset chat's key while
 * the chat still sits where the cursor saw it (its last_date is offset_date),
 * else the end of offset_date (the page may then repeat chats of that second,
 * never skip one). */
static int sq_dialog_key(struct sq_store *st, int64_t offset_date, int64_t offset_chat, int64_t *key,
			 int64_t *chat)
{
	sqlite3_stmt *q = NULL;
	int rc;

	*key = sq_date_end_key(offset_date);
	*chat = INT64_MIN;
	if ((rc = sq_prep(st, SQ_DIALOG_KEY, &q)) < 0)
		goto out;
	sqlite3_bind_int64(q, 1, offset_chat);
	if ((rc = store_sqlite_row(q)) > 0) {
		if (sqlite3_column_int64(q, 1) == offset_date) {
			*key = sqlite3_column_int64(q, 0);
			*chat = offset_chat;
		}
		rc = 0;
	}
out:
	store_sqlite_done(q);
	return rc;
}

/* The user's chats by recency key (chats.last_gid: the search key of the
 * newest message), newest first, ties by chat id.  The plan walks the user's
 * memberships (members_user) and sorts them in a temporary B-tree: cheap for
 * hundreds of chats, linear in the user's chat count. */
static int sq_dialog_list(struct store *s, int64_t user_id, int64_t offset_date, int64_t offset_chat,
			  int limit, store_dialog_cb cb, void *ctx)
{
	struct sq_store *st = sq(s);
	sqlite3_stmt *q = NULL;
	struct store_dialog d;
	int64_t key = INT64_MAX, chat = INT64_MAX;
	int rc;

	if (limit <= 0)
		return 0;
	if (offset_date > 0 && (rc = sq_dialog_key(st, offset_date, offset_chat, &key, &chat)) < 0)
		return rc;
	if ((rc = sq_prep(st, SQ_DIALOGS, &q)) < 0)
		goto out;
	sqlite3_bind_int64(q, 1, user_id);
	sqlite3_bind_int64(q, 2, key);
	sqlite3_bind_int64(q, 3, chat);
	sqlite3_bind_int(q, 4, limit);
	while ((rc = store_sqlite_row(q)) > 0) {
		sq_read_chat(q, &d.chat);
		sq_read_member(q, SQ_CHAT_NCOLS, &d.member);
		if ((rc = cb(ctx, &d)) != 0)
			goto out;
	}
out:
	store_sqlite_done(q);
	return rc;
}

/* ---- update logs ---- */

/* The statements of one kind of update log: per user or per chat. */
struct sq_log {
	enum sq_stmt_id pts;      /* ?1 owner -> the last pts handed out */
	enum sq_stmt_id pts_set;  /* ?1 owner, ?2 pts */
	enum sq_stmt_id add;      /* ?1 owner, ?2 pts, ?3 payload, ?4 date[, ?5 view] */
	int add_n;                /* how many of those add has */
	enum sq_stmt_id state;    /* ?1 owner -> pts, min kept pts or NULL */
	enum sq_stmt_id range;    /* ?1 owner, ?2 after pts, ?3 limit -> pts, body, view, alt, alt_from, alt_to */
	int no_counter_rc;        /* what a missing counter row means */
	int cache_kind;           /* the counter's entries in the row cache */
};

/* A user's counter row is made by the first append (the foreign key on
 * user_state refuses unknown users); a chat's counter is a chats column. */
static const struct sq_log sq_user_log = {
	SQ_USER_PTS, SQ_USER_PTS_SET, SQ_USER_LOG_ADD, 5, SQ_USER_LOG_STATE, SQ_USER_LOG_RANGE, 0, SQ_CACHE_PTS_USER,
};
static const struct sq_log sq_chat_log = {
	SQ_CHAT_PTS, SQ_CHAT_PTS_SET, SQ_CHAT_LOG_ADD, 4, SQ_CHAT_LOG_STATE, SQ_CHAT_LOG_RANGE, PL_NOTFOUND,
	SQ_CACHE_PTS_CHAT,
};

/* Stores an update body, and its second view when view is not NULL; *id
 * gets its row id.  body may be NULL when len is 0.  The bytes are stored as
 * a BLOB and served back exactly.  A second view is the value alt that
 * replaces bytes [alt_from, alt_to) of the body; alt is NULL when there is
 * none (so a row reading the second view of a payload without one — an old
 * row, a redacted payload — reads the body). */
static int sq_payload_put(struct store *s, const char *body, size_t len, const struct store_view *view,
			  int64_t date, int64_t chat_id, int64_t msg_id, int64_t *id)
{
	struct sq_store *st = sq(s);
	sqlite3_stmt *q = NULL;
	int rc;

	if ((!body && len > 0) ||
	    (view && ((!view->val && view->len > 0) || view->from > view->to || view->to > len)))
		return PL_INVAL;
	if ((rc = sq_prep(st, SQ_PAYLOAD_PUT, &q)) < 0)
		goto out;
	sqlite3_bind_int64(q, 1, date);
	rc = sqlite3_bind_blob64(q, 2, body ? body : "", len, SQLITE_STATIC);
	if (rc == SQLITE_OK && view)
		rc = sqlite3_bind_blob64(q, 5, view->val ? view->val : "", view->len, SQLITE_STATIC);
	else if (rc == SQLITE_OK)
		rc = sqlite3_bind_null(q, 5);
	if (rc != SQLITE_OK) {
		rc = rc == SQLITE_TOOBIG ? PL_TOOBIG : store_sqlite_err(rc);
		goto out;
	}
	sqlite3_bind_int64(q, 3, chat_id);
	sqlite3_bind_int64(q, 4, msg_id);
	sqlite3_bind_int64(q, 6, view ? (int64_t)view->from : 0);
	sqlite3_bind_int64(q, 7, view ? (int64_t)view->to : 0);
	if ((rc = store_sqlite_run(q)) == 0) {
		int64_t rowid = sqlite3_last_insert_rowid(st->db);

		sq_cache_int_put(store_sqlite_cache(&st->base), SQ_CACHE_PAYLOAD, rowid, 0, 1);
		if (id)
			*id = rowid;
	}
out:
	store_sqlite_done(q);
	return rc;
}

static int sq_payload_redact(struct store *s, int64_t chat_id, int64_t msg_id, const char *body, size_t len)
{
	struct sq_store *st = sq(s);
	sqlite3_stmt *q = NULL;
	int rc;

	if (!body || !chat_id)
		return PL_INVAL;
	if ((rc = sq_prep(st, SQ_PAYLOAD_REDACT, &q)) < 0)
		goto out;
	sqlite3_bind_int64(q, 1, chat_id);
	sqlite3_bind_int64(q, 2, msg_id);
	rc = sqlite3_bind_blob64(q, 3, body, len, SQLITE_STATIC);
	if (rc != SQLITE_OK) {
		rc = store_sqlite_err(rc);
		goto out;
	}
	rc = store_sqlite_run(q);
out:
	store_sqlite_done(q);
	return rc;
}

/* ---- counters advanced and not written yet ---- */

static size_t sq_dirty_hash(int kind, int64_t owner, size_t cap)
{
	uint64_t h = ((uint64_t)owner ^ ((uint64_t)kind << 60)) * 0x9E3779B97F4A7C15u;

	return (size_t)(h >> 32) & (cap - 1);
}

/* The slot of (kind, owner): its entry, or the free slot where it goes. */
static struct sq_dirty *sq_dirty_slot(struct sq_store *st, int kind, int64_t owner)
{
	size_t i = sq_dirty_hash(kind, owner, st->dirty_cap);

	while (st->dirty[i].kind && (st->dirty[i].kind != kind || st->dirty[i].owner != owner))
		i = (i + 1) & (st->dirty_cap - 1);
	return &st->dirty[i];
}

static struct sq_dirty *sq_dirty_find(struct sq_store *st, int kind, int64_t owner)
{
	struct sq_dirty *d;

	if (st->dirty_n == 0)
		return NULL;
	d = sq_dirty_slot(st, kind, owner);
	return d->kind ? d : NULL;
}

/* Makes room for one more entry (at most half the slots used). */
static int sq_dirty_grow(struct sq_store *st)
{
	size_t cap = st->dirty_cap ? st->dirty_cap * 2 : SQ_DIRTY_FIRST;
	struct sq_dirty *old = st->dirty, *d;
	size_t *at, n = st->dirty_n;

	if (st->dirty_n + 1 <= st->dirty_cap / 2)
		return 0;
	if (st->dirty_n >= SQ_DIRTY_MAX)
		return PL_TOOBIG;
	if (!(d = calloc(cap, sizeof(*d))) || !(at = malloc(cap / 2 * sizeof(*at)))) {
		free(d);
		return PL_NOMEM;
	}
	st->dirty = d;
	st->dirty_cap = cap;
	st->dirty_n = 0;
	for (size_t k = 0; k < n; k++) {
		struct sq_dirty *e = &old[st->dirty_at[k]], *slot = sq_dirty_slot(st, e->kind, e->owner);

		*slot = *e;
		at[st->dirty_n++] = (size_t)(slot - st->dirty);
	}
	free(old);
	free(st->dirty_at);
	st->dirty_at = at;
	return 0;
}

/* Notes owner's counter at pts, to be written later: 0, or PL_NOMEM /
 * PL_TOOBIG when it cannot wait (the caller writes it now). */
static int sq_dirty_set(struct sq_store *st, int kind, int64_t owner, int64_t pts)
{
	struct sq_dirty *d = st->dirty_n ? sq_dirty_find(st, kind, owner) : NULL;
	int rc;

	if (!d) {
		if ((rc = sq_dirty_grow(st)) < 0)
			return rc;
		d = sq_dirty_slot(st, kind, owner);
		d->kind = kind;
		d->owner = owner;
		st->dirty_at[st->dirty_n++] = (size_t)(d - st->dirty);
	}
	d->pts = pts;
	return 0;
}

/* Notes chat_id's newest message (id, date, search key gid), to be written
 * to its chats row later: 0, or PL_NOMEM / PL_TOOBIG when it cannot wait
 * (the caller writes it now). */
static int sq_dirty_chat(struct sq_store *st, int64_t chat_id, int64_t id, int64_t date, int64_t gid)
{
	struct sq_dirty *d = st->dirty_n ? sq_dirty_find(st, SQ_DIRTY_CHAT_LAST, chat_id) : NULL;
	int rc;

	if (!d) {
		if ((rc = sq_dirty_set(st, SQ_DIRTY_CHAT_LAST, chat_id, id)) < 0)
			return rc;
		d = sq_dirty_find(st, SQ_DIRTY_CHAT_LAST, chat_id);
		st->dirty_chats++;
	}
	d->pts = id;
	d->date = date;
	d->gid = gid;
	return 0;
}

static void sq_dirty_drop(struct sq_store *st)
{
	for (size_t k = 0; k < st->dirty_n; k++)
		st->dirty[st->dirty_at[k]].kind = 0;
	st->dirty_n = 0;
	st->dirty_chats = 0;
}

/* Writes every counter and chat row noted, one statement each, and forgets
 * them.  On failure they all stay noted (writing one again is harmless).
 * The rows written do not count as changes (sq_stamp): they carry what the
 * requests that noted them already changed, so a request that fails after
 * a read wrote the notes has still changed nothing. */
static int sq_dirty_write(struct sq_store *st)
{
	int rc;

	if (st->dirty_n && sqlite3_get_autocommit(st->db)) {
		sq_dirty_drop(st); /* their transaction is gone (SQLite rolled it back) */
		return 0;
	}
	for (size_t k = 0; k < st->dirty_n; k++) {
		const struct sq_dirty *d = &st->dirty[st->dirty_at[k]];
		int64_t v[4] = {d->owner, d->pts, d->date, d->gid};

		if (d->kind == SQ_DIRTY_CHAT_LAST)
			rc = sq_write_ints(st, SQ_MSG_ADVANCE, v, 4, 1);
		else
			rc = sq_write_ints(st, d->kind == SQ_CACHE_PTS_USER ? SQ_USER_PTS_SET : SQ_CHAT_PTS_SET, v, 2, 1);
		if (rc < 0)
			return rc;
		st->notes_written += (uint64_t)sqlite3_changes(st->db);
	}
	sq_dirty_drop(st);
	return 0;
}

/* Reads the owner's last pts into *pts (lg->no_counter_rc, with *pts 0, when
 * there is no counter row; *row tells whether there is one): as advanced
 * and not yet written by this transaction, else from the row cache when it
 * has it (the writer is the counters' only writer; sq_log_append keeps the
 * entry), else from the row. */
static int sq_log_pts(struct sq_store *st, const struct sq_log *lg, int64_t owner, int64_t *pts, int *row)
{
	const struct sq_dirty *d = sq_dirty_find(st, lg->cache_kind, owner);
	sqlite3_stmt *q = NULL;
	int rc;

	*pts = 0;
	*row = 1;
	if (d) {
		*pts = d->pts;
		return 0;
	}
	if (sq_cache_int_get(store_sqlite_cache(&st->base), lg->cache_kind, owner, 0, pts))
		return 0;
	if ((rc = sq_prep(st, lg->pts, &q)) < 0)
		goto out;
	sqlite3_bind_int64(q, 1, owner);
	if ((rc = store_sqlite_row(q)) == 0) {
		rc = lg->no_counter_rc;
		*row = 0;
	}
	if (rc > 0) {
		*pts = sqlite3_column_int64(q, 0);
		rc = 0;
	}
out:
	store_sqlite_done(q);
	return rc;
}

/* 0 if payload payload_id exists, else PL_NOTFOUND (or another pl_err): from
 * the row cache when this handle stored it in the open transaction (the
 * cache's rules drop the entry if that request is undone; update_prune drops
 * every entry when it deletes payloads), else one rowid lookup. */
static int sq_payload_check(struct sq_store *st, int64_t payload_id)
{
	int64_t v;

	if (sq_cache_int_get(store_sqlite_cache(&st->base), SQ_CACHE_PAYLOAD, payload_id, 0, &v))
		return 0;
	return sq_read_int(st, SQ_PAYLOAD_GET, &payload_id, 1, &v);
}

/* Appends payload_id to the owner's log with the next pts: the counter moves
 * if and only if the row is there.  The write lock makes read-then-write
 * safe.
 *
 * Inside a transaction whose counter row exists, the counter is not written
 * at each append but noted (sq_dirty_set) and written once, before the
 * commit (or a mark, or a read of counters): a group of 500 messages
 * between 64 pairs writes 128 counters instead of 1,000.  Readers see
 * committed state only, where the counter and the rows agree; the writer's
 * own appends read the noted value first.  A rollback drops the notes with
 * the rows; an undo to a mark drops them all, as the mark wrote the older
 * ones.  The first append of a user without a counter row writes it at
 * once, so that an unknown user still fails here with nothing written.
 *
 * Inside a caller's transaction this op opens no savepoint of its own: a
 * fan-out runs it hundreds of times per request, and a savepoint per call
 * doubles its cost (every page it touches is copied to the statement
 * journal again).  Each statement is atomic by itself, so the counter is
 * advanced first (an unknown user fails here, with nothing written) and, if
 * the row then cannot be inserted, put back; if SQLite had to roll the
 * whole transaction back (I/O error, out of memory), there is nothing to put
 * back.  Outside a transaction the op is a transaction of its own.  An undone
 * request gives its pts back, which is harmless: nothing is pushed before
 * its commit. */
static int sq_log_append(struct sq_store *st, const struct sq_log *lg, int64_t owner, int64_t payload_id,
			 int view, int64_t date, int64_t *pts)
{
	int64_t v[5] = {owner, 0, payload_id, date, view};
	int64_t old = 0;
	int outer = 0, row = 0, rc;

	if (sqlite3_get_autocommit(st->db) && (rc = sq_op_begin(st, &outer)) < 0)
		return rc;
	if ((rc = sq_payload_check(st, payload_id)) < 0 || (rc = sq_log_pts(st, lg, owner, &old, &row)) < 0)
		goto out;
	v[1] = old + 1;
	sq_cache_int_drop(st->cache, lg->cache_kind, owner, 0);
	if (row && (rc = sq_write_ints(st, lg->add, v, lg->add_n, 0)) == 0 &&
	    sq_dirty_set(st, lg->cache_kind, owner, old + 1) < 0 &&
	    (rc = sq_write_ints(st, lg->pts_set, v, 2, 1)) < 0)
		st->broken = 1; /* a row without its counter: only rollback may follow */
	if (row) {
		if (rc == 0)
			sq_cache_int_put(store_sqlite_cache(&st->base), lg->cache_kind, owner, 0, old + 1);
		goto out;
	}
	if ((rc = sq_write_ints(st, lg->pts_set, v, 2, 1)) < 0)
		goto out;
	if ((rc = sq_write_ints(st, lg->add, v, lg->add_n, 0)) < 0 && !outer && !sqlite3_get_autocommit(st->db)) {
		v[1] = old;
		if (sq_write_ints(st, lg->pts_set, v, 2, 1) < 0)
			st->broken = 1; /* half an op in the transaction: only rollback may follow */
	}
	if (rc == 0)
		sq_cache_int_put(store_sqlite_cache(&st->base), lg->cache_kind, owner, 0, old + 1);
out:
	if (outer)
		rc = sq_op_end(st, outer, rc);
	if (rc == 0 && pts)
		*pts = old + 1;
	return rc;
}

static int sq_update_user_append(struct store *s, int64_t user_id, int64_t payload_id, int view, int64_t date,
				 int64_t *pts)
{
	if (view != 0 && view != 1)
		return PL_INVAL;
	return sq_log_append(sq(s), &sq_user_log, user_id, payload_id, view, date, pts);
}

static int sq_update_chat_append(struct store *s, int64_t chat_id, int64_t payload_id, int64_t date,
				 int64_t *pts)
{
	return sq_log_append(sq(s), &sq_chat_log, chat_id, payload_id, 0, date, pts);
}

/* The owner's pts and lowest kept pts (pts + 1 when the log is empty), read
 * by one statement so both come from one snapshot.  PL_NOTFOUND for an
 * unknown user or chat. */
static int sq_log_state(struct sq_store *st, const struct sq_log *lg, int64_t owner, int64_t *pts,
			int64_t *min_kept)
{
	sqlite3_stmt *q = NULL;
	int64_t p = 0, k = 1;
	int rc;

	if ((rc = sq_dirty_write(st)) < 0) /* it reads the counter */
		goto out;
	if ((rc = sq_prep(st, lg->state, &q)) < 0)
		goto out;
	sqlite3_bind_int64(q, 1, owner);
	if ((rc = store_sqlite_row(q)) == 0)
		rc = PL_NOTFOUND;
	if (rc > 0) {
		p = sqlite3_column_int64(q, 0);
		k = sqlite3_column_type(q, 1) == SQLITE_NULL ? p + 1 : sqlite3_column_int64(q, 1);
		rc = 0;
	}
out:
	store_sqlite_done(q);
	if (pts)
		*pts = p;
	if (min_kept)
		*min_kept = k;
	return rc;
}

static int sq_update_user_state(struct store *s, int64_t user_id, int64_t *pts, int64_t *min_kept)
{
	return sq_log_state(sq(s), &sq_user_log, user_id, pts, min_kept);
}

static int sq_update_chat_state(struct store *s, int64_t chat_id, int64_t *pts, int64_t *min_kept)
{
	return sq_log_state(sq(s), &sq_chat_log, chat_id, pts, min_kept);
}

/* Hands cb the body of the range row q as its reader sees it: the stored
 * body, or for a row reading the second view (view 1) of a payload that has
 * one, the body with [alt_from, alt_to) replaced by alt.  Offsets that do
 * not fit the body are a damaged store: PL_IO, never the other view. */
static int sq_log_row(sqlite3_stmt *q, store_update_cb cb, void *ctx)
{
	const char *body = sqlite3_column_blob(q, 1), *val;
	size_t len = (size_t)sqlite3_column_bytes(q, 1), vlen, n;
	int64_t from, to;
	char *buf;
	int rc;

	if (!body)
		body = "";
	if (sqlite3_column_int64(q, 2) == 0 || sqlite3_column_type(q, 3) == SQLITE_NULL)
		return cb(ctx, sqlite3_column_int64(q, 0), body, len);
	val = sqlite3_column_blob(q, 3);
	vlen = (size_t)sqlite3_column_bytes(q, 3);
	from = sqlite3_column_int64(q, 4);
	to = sqlite3_column_int64(q, 5);
	if (from < 0 || to < from || (uint64_t)to > len)
		return PL_IO;
	n = len - (size_t)(to - from) + vlen;
	if (!(buf = malloc(n ? n : 1)))
		return PL_NOMEM;
	memcpy(buf, body, (size_t)from);
	if (vlen)
		memcpy(buf + from, val, vlen);
	memcpy(buf + (size_t)from + vlen, body + to, len - (size_t)to);
	rc = cb(ctx, sqlite3_column_int64(q, 0), buf, n);
	free(buf);
	return rc;
}

/* The owner's updates with pts > after_pts, ascending, at most limit: one
 * range of the log's primary key, one payload lookup per row.  body points
 * into statement memory or a buffer of this call (valid during the call). */
static int sq_log_range(struct sq_store *st, const struct sq_log *lg, int64_t owner, int64_t after_pts,
			int limit, store_update_cb cb, void *ctx)
{
	sqlite3_stmt *q = NULL;
	int rc;

	if (limit <= 0)
		return 0;
	if ((rc = sq_prep(st, lg->range, &q)) < 0)
		goto out;
	sqlite3_bind_int64(q, 1, owner);
	sqlite3_bind_int64(q, 2, after_pts);
	sqlite3_bind_int(q, 3, limit);
	while ((rc = store_sqlite_row(q)) > 0) {
		if ((rc = sq_log_row(q, cb, ctx)) != 0)
			goto out;
	}
out:
	store_sqlite_done(q);
	return rc;
}

static int sq_update_user_range(struct store *s, int64_t user_id, int64_t after_pts, int limit,
				store_update_cb cb, void *ctx)
{
	return sq_log_range(sq(s), &sq_user_log, user_id, after_pts, limit, cb, ctx);
}

static int sq_update_chat_range(struct store *s, int64_t chat_id, int64_t after_pts, int limit,
				store_update_cb cb, void *ctx)
{
	return sq_log_range(sq(s), &sq_chat_log, chat_id, after_pts, limit, cb, ctx);
}

/* ---- update_prune ----
 *
 * Prune deletes each log's old rows from its front, then the payloads no
 * row can refer to any more; neither needs an index beyond the logs'
 * primary keys (migration 12 dropped the logs' payload indexes).  It rests
 * on one invariant of the appends: along an owner's log, payload ids never
 * decrease — parleyd stores a payload and appends it before it stores the
 * next one, and payload ids (rowids, max + 1) grow in commit order.  So:
 *
 *   1. bound: the payloads are walked by id from the lowest up to the first
 *      one dated cutoff or later (ids grow with the writer's clock; if it
 *      went back, what follows waits for a later walk), or SQ_PRUNE_SPAN x
 *      limit payloads on (a cycle's share of the call's reads: the logs
 *      need the rest).  Every payload below the bound is dated before
 *      cutoff; every payload stored from then on is at or above it.
 *   2. logs: each user log, then each chat log, in owner order, loses its
 *      longest prefix of rows dated before cutoff whose payload is below
 *      the bound.  The row it stops at (if any) has the lowest payload id
 *      left in that log; low is the least of those over all logs.
 *   3. payloads: every payload below min(bound, low) goes.  No row refers
 *      to one: rows seen in step 2 have a payload of at least low in their
 *      logs, and rows appended since step 1 have one at or above the bound.
 *
 * A cycle spans as many calls as it needs; its state (struct sq_prune) is
 * the row of update_prune_state, written in the op's own savepoint with
 * what it deleted, so an undone or rolled-back prune takes its progress
 * back too, and a restart goes on where the last committed call stopped. */

enum { SQ_PRUNE_IDLE, SQ_PRUNE_BOUND, SQ_PRUNE_LOGS, SQ_PRUNE_PAYLOADS_PHASE };

struct sq_prune {
	int64_t phase;   /* SQ_PRUNE_*: what the cycle does next */
	int64_t cutoff;  /* the cycle's before_date */
	int64_t walk;    /* bound: the next payload id to look at */
	int64_t bound;   /* logs, payloads: payloads below it are old (step 1) */
	int64_t low;     /* logs, payloads: the least payload id left at a log's front */
	int64_t kind;    /* logs: 0 user logs, 1 chat logs */
	int64_t owner;   /* logs: the next owner to look at */
	int64_t left;    /* deletions this call may still make */
	int64_t looks;   /* rows this call may still read */
};

static void sq_prune_start(struct sq_prune *p, int64_t cutoff)
{
	p->phase = SQ_PRUNE_BOUND;
	p->cutoff = cutoff;
	p->walk = INT64_MIN;
	p->bound = INT64_MIN;
	p->low = INT64_MAX;
	p->kind = 0;
	p->owner = INT64_MIN;
}

static int sq_prune_load(struct sq_store *st, struct sq_prune *p)
{
	sqlite3_stmt *q = NULL;
	int rc;

	p->phase = SQ_PRUNE_IDLE;
	if ((rc = sq_prep(st, SQ_PRUNE_STATE, &q)) < 0)
		goto out;
	if ((rc = store_sqlite_row(q)) > 0) {
		int64_t *f[] = {&p->phase, &p->cutoff, &p->walk, &p->bound, &p->low, &p->kind, &p->owner};

		for (int i = 0; i < 7; i++)
			*f[i] = sqlite3_column_int64(q, i);
		rc = 0;
	}
out:
	store_sqlite_done(q);
	return rc;
}

static int sq_prune_save(struct sq_store *st, const struct sq_prune *p)
{
	int64_t v[7] = {p->phase, p->cutoff, p->walk, p->bound, p->low, p->kind, p->owner};

	return sq_write_ints(st, SQ_PRUNE_STATE_SET, v, 7, 0);
}

/* Step 1: walks the payloads from p->walk to the first one dated cutoff or
 * later, which becomes the bound.  When the lowest payload of all is not
 * old, nothing is (every row refers to a payload) and the cycle ends.  A
 * walk that reaches the newest payload, or the end of what the call may
 * read, bounds the cycle where it stands: every payload below is old. */
static int sq_prune_bound(struct sq_store *st, struct sq_prune *p)
{
	sqlite3_stmt *q = NULL;
	int64_t span = SQ_PRUNE_SPAN * p->left;
	int first = p->walk == INT64_MIN, rc;

	if ((rc = sq_prep(st, SQ_PRUNE_WALK, &q)) < 0)
		goto out;
	sqlite3_bind_int64(q, 1, p->walk);
	while ((rc = store_sqlite_row(q)) > 0) {
		int64_t id = sqlite3_column_int64(q, 0);

		p->looks--;
		if (sqlite3_column_int64(q, 1) >= p->cutoff)
			break;
		p->walk = id + 1;
		first = 0;
		if (p->looks <= 0 || --span <= 0)
			break;
	}
	if (rc >= 0) {
		p->bound = p->walk;
		p->phase = first ? SQ_PRUNE_IDLE : SQ_PRUNE_LOGS;
		rc = 0;
	}
out:
	store_sqlite_done(q);
	return rc;
}

/* Step 2 for one log: deletes the old prefix of the first log at or after
 * p->owner.  *more is 0 when there is no such log (the kind is done). */
static int sq_prune_front(struct sq_store *st, struct sq_prune *p, int *more)
{
	static const enum sq_stmt_id front[] = {SQ_PRUNE_USER_FRONT, SQ_PRUNE_CHAT_FRONT};
	static const enum sq_stmt_id rows[] = {SQ_PRUNE_USER_ROWS, SQ_PRUNE_CHAT_ROWS};
	sqlite3_stmt *q = NULL;
	int64_t owner = 0, last = 0, n = 0;
	int done = 0, rc;

	*more = 0;
	if ((rc = sq_prep(st, front[p->kind], &q)) < 0)
		goto out;
	sqlite3_bind_int64(q, 1, p->owner);
	if ((rc = store_sqlite_row(q)) <= 0)
		goto out;
	*more = 1;
	p->looks--;
	owner = sqlite3_column_int64(q, 0);
	for (;;) {
		if (rc == 0 || sqlite3_column_int64(q, 0) != owner) {
			done = 1; /* nothing of the log is left */
			break;
		}
		if (sqlite3_column_int64(q, 2) >= p->bound || sqlite3_column_int64(q, 3) >= p->cutoff) {
			done = 1; /* the log's front from now on */
			if (sqlite3_column_int64(q, 2) < p->low)
				p->low = sqlite3_column_int64(q, 2);
			break;
		}
		if (n == p->left)
			break; /* this call may delete no more: the next goes on here */
		last = sqlite3_column_int64(q, 1);
		n++;
		if ((rc = store_sqlite_row(q)) < 0)
			goto out;
	}
	rc = 0;
	store_sqlite_done(q);
	q = NULL;
	if (n > 0) {
		int64_t v[2] = {owner, last};

		if ((rc = sq_write_ints(st, rows[p->kind], v, 2, 0)) < 0)
			goto out;
		p->left -= sqlite3_changes(st->db);
	}
	if (done && owner == INT64_MAX)
		*more = 0; /* the last owner there can be */
	else
		p->owner = done ? owner + 1 : owner;
out:
	store_sqlite_done(q);
	return rc;
}

/* Step 2: the logs, from p->kind and p->owner on, while the call may. */
static int sq_prune_logs(struct sq_store *st, struct sq_prune *p)
{
	int more = 1, rc = 0;

	while (p->left > 0 && p->looks > 0 && rc == 0) {
		if ((rc = sq_prune_front(st, p, &more)) < 0 || more)
			continue;
		if (++p->kind == 2) {
			p->phase = SQ_PRUNE_PAYLOADS_PHASE;
			break;
		}
		p->owner = INT64_MIN;
	}
	return rc;
}

/* Step 3: deletes payloads below min(bound, low), lowest first, as many as
 * the call may; the cycle ends when none is left. */
static int sq_prune_payloads(struct sq_store *st, struct sq_prune *p)
{
	int64_t v[2] = {p->low < p->bound ? p->low : p->bound, p->left};
	int rc;

	if ((rc = sq_write_ints(st, SQ_PRUNE_PAYLOADS, v, 2, 0)) < 0)
		return rc;
	if (sqlite3_changes(st->db) > 0)
		sq_cache_clear(store_sqlite_cache_any(&st->base)); /* SQ_CACHE_PAYLOAD entries may name them */
	p->left -= sqlite3_changes(st->db);
	if (p->left > 0)
		p->phase = SQ_PRUNE_IDLE;
	return 0;
}

/* Deletes up to limit rows and payloads (see above), reading at most
 * SQ_PRUNE_LOOK x limit rows; *removed counts the deletions.  A cycle that
 * ends having deleted something is followed by the next in the same call
 * (its bound may have stopped short of what is old), so a call deletes
 * fewer than limit only when a cycle found nothing more or the call read
 * all it may: a draining caller calls again while *removed == limit.  A
 * cutoff earlier than the running cycle's starts a new cycle; a later one
 * goes on with the cycle's, so nothing dated before_date or later is ever
 * deleted.  The op runs in its own savepoint (its own transaction outside
 * one). */
static int sq_update_prune(struct store *s, int64_t before_date, int limit, int64_t *removed)
{
	struct sq_store *st = sq(s);
	struct sq_prune p;
	int64_t cycle_left;
	int outer = 0, rc;

	if (removed)
		*removed = 0;
	if (limit <= 0)
		return 0;
	if ((rc = sq_op_begin(st, &outer)) < 0)
		return rc;
	if ((rc = sq_prune_load(st, &p)) < 0)
		goto out;
	p.left = limit;
	p.looks = (int64_t)SQ_PRUNE_LOOK * limit;
	cycle_left = -1; /* a cycle going on from an earlier call may have deleted something */
	if (p.phase == SQ_PRUNE_IDLE || before_date < p.cutoff) {
		sq_prune_start(&p, before_date);
		cycle_left = p.left;
	}
	while (rc == 0 && p.left > 0 && p.looks > 0) {
		if (p.phase == SQ_PRUNE_IDLE) {
			if (p.left == cycle_left)
				break; /* a cycle that deleted nothing: nothing more to do now */
			sq_prune_start(&p, before_date); /* more may be old past its bound */
			cycle_left = p.left;
		} else if (p.phase == SQ_PRUNE_BOUND) {
			rc = sq_prune_bound(st, &p);
		} else if (p.phase == SQ_PRUNE_LOGS) {
			rc = sq_prune_logs(st, &p);
		} else {
			rc = sq_prune_payloads(st, &p);
		}
	}
	if (rc == 0)
		rc = sq_prune_save(st, &p);
out:
	if ((rc = sq_op_end(st, outer, rc)) == 0 && removed)
		*removed = limit - p.left;
	return rc;
}

/* ---- audit log ---- */

/* Copies a 32-byte BLOB column into out; 0, or -1 (out zeroed) when the
 * column is not exactly 32 bytes. */
static int sq_col_hash(sqlite3_stmt *q, int col, unsigned char out[AUDIT_HASH_BYTES])
{
	const void *b = sqlite3_column_blob(q, col);

	if (!b || sqlite3_column_bytes(q, col) != AUDIT_HASH_BYTES) {
		memset(out, 0, AUDIT_HASH_BYTES);
		return -1;
	}
	memcpy(out, b, AUDIT_HASH_BYTES);
	return 0;
}

/* Copies text column col into dst of size bytes exactly: 0, or -1 (dst
 * empty) if it is NULL, too long or holds a NUL byte. */
static int sq_col_exact(sqlite3_stmt *q, int col, char *dst, size_t size)
{
	const char *src = (const char *)sqlite3_column_text(q, col);
	size_t n = src ? (size_t)sqlite3_column_bytes(q, col) : 0;

	dst[0] = '\0';
	if (!src || n >= size || memchr(src, 0, n))
		return -1;
	memcpy(dst, src, n);
	dst[n] = '\0';
	return 0;
}

static int sq_audit_last(struct store *s, int64_t *seq, int64_t *ts, unsigned char hash[32])
{
	sqlite3_stmt *q = NULL;
	int rc;

	*seq = 0;
	if (ts)
		*ts = 0;
	memset(hash, 0, AUDIT_HASH_BYTES);
	if ((rc = sq_prep(sq(s), SQ_AUDIT_LAST, &q)) < 0)
		goto out;
	if ((rc = store_sqlite_row(q)) > 0) {
		*seq = sqlite3_column_int64(q, 0);
		if (ts)
			*ts = sqlite3_column_int64(q, 1);
		sq_col_hash(q, 2, hash);
		rc = 0;
	}
out:
	store_sqlite_done(q);
	return rc;
}

static int sq_audit_put(struct store *s, const struct audit_entry *e)
{
	struct sq_store *st = sq(s);
	sqlite3_stmt *q = NULL;
	unsigned char h[AUDIT_HASH_BYTES];
	int64_t last = 0;
	int rc;

	if (!e->details)
		return PL_INVAL;
	if ((rc = sq_prep(st, SQ_AUDIT_PUT, &q)) < 0)
		goto out;
	sqlite3_bind_int64(q, 1, e->seq);
	sqlite3_bind_int64(q, 2, e->ts);
	sq_bind_field(q, 3, e->kind, sizeof(e->kind));
	sqlite3_bind_int64(q, 4, e->actor);
	sq_bind_field(q, 5, e->subject, sizeof(e->subject));
	if ((rc = sq_bind_text(q, 6, e->details)) < 0)
		goto out;
	sqlite3_bind_blob(q, 7, e->prev, AUDIT_HASH_BYTES, SQLITE_STATIC);
	sqlite3_bind_blob(q, 8, e->hash, AUDIT_HASH_BYTES, SQLITE_STATIC);
	if ((rc = store_sqlite_run(q)) < 0 || sqlite3_changes(st->db) == 1)
		goto out;
	/* Refused by the chain conditions: say whether someone came first. */
	store_sqlite_done(q);
	q = NULL;
	if ((rc = sq_audit_last(s, &last, NULL, h)) == 0)
		rc = e->seq <= last ? PL_EXISTS : PL_INVAL;
out:
	store_sqlite_done(q);
	return rc;
}

static int sq_audit_range(struct store *s, int64_t after_seq, int limit, store_audit_cb cb, void *ctx)
{
	sqlite3_stmt *q = NULL;
	struct audit_entry e;
	int rc;

	if (limit <= 0)
		return 0;
	if ((rc = sq_prep(sq(s), SQ_AUDIT_RANGE, &q)) < 0)
		goto out;
	sqlite3_bind_int64(q, 1, after_seq);
	sqlite3_bind_int(q, 2, limit);
	while ((rc = store_sqlite_row(q)) > 0) {
		const char *details = (const char *)sqlite3_column_text(q, 5);
		int bad = 0;

		memset(&e, 0, sizeof(e));
		e.seq = sqlite3_column_int64(q, 0);
		e.ts = sqlite3_column_int64(q, 1);
		e.actor = sqlite3_column_int64(q, 3);
		bad |= sq_col_exact(q, 2, e.kind, sizeof(e.kind));
		bad |= sq_col_exact(q, 4, e.subject, sizeof(e.subject));
		if (!details || strlen(details) != (size_t)sqlite3_column_bytes(q, 5))
			bad = -1;
		e.details = details ? details : "";
		bad |= sq_col_hash(q, 6, e.prev);
		bad |= sq_col_hash(q, 7, e.hash);
		if (bad)
			e.kind[0] = '\0'; /* malformed: see store.h */
		if ((rc = cb(ctx, &e)) != 0)
			goto out;
	}
out:
	store_sqlite_done(q);
	return rc;
}

static int sq_audit_head_at(struct store *s, int64_t ts, int64_t *seq, unsigned char hash[32])
{
	sqlite3_stmt *q = NULL;
	int rc;

	*seq = 0;
	memset(hash, 0, AUDIT_HASH_BYTES);
	if ((rc = sq_prep(sq(s), SQ_AUDIT_HEAD_AT, &q)) < 0)
		goto out;
	sqlite3_bind_int64(q, 1, ts);
	if ((rc = store_sqlite_row(q)) > 0) {
		*seq = sqlite3_column_int64(q, 0);
		sq_col_hash(q, 1, hash);
		rc = 0;
	}
out:
	store_sqlite_done(q);
	return rc;
}

/* ---- helpers for the backend's other files (store_sqlite_int.h) ---- */

sqlite3 *store_sqlite_db(struct store *s)
{
	return sq(s)->db;
}

int store_sqlite_stmt(struct store *s, int slot, const char *sql, sqlite3_stmt **out)
{
	struct sq_store *st = sq(s);
	int rc;

	*out = NULL;
	if (slot < 0 || slot >= SQ_EXT_STMT_MAX)
		return PL_INVAL;
	if (st->dirty_chats && !st->notes_held && (rc = sq_dirty_write(st)) < 0) /* it may read chats */
		return rc;
	if (!st->ext[slot]) {
		rc = sqlite3_prepare_v3(st->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &st->ext[slot], NULL);
		if (rc != SQLITE_OK)
			return store_sqlite_err(rc);
	}
	*out = st->ext[slot];
	return 0;
}

/* ---- opening ---- */

static const struct store_ops sq_ops = {
	.version = STORE_OPS_VERSION,
	.name = "sqlite",
	.close = sq_close,
	.migrate = sq_migrate,
	.schema = sq_schema,
	.begin = sq_begin,
	.commit = sq_commit,
	.rollback = sq_rollback,
	.mark = sq_mark,
	.release = sq_release,
	.undo = sq_undo,
	.changes = sq_changes,
	.index_defer = sq_index_defer,
	.index_pending = sq_index_pending,
	.index_flush = sq_index_flush,
	.read_begin = sq_read_begin,
	.read_end = sq_read_end,
	.checkpoint_manual = sq_checkpoint_manual,
	.wal_pages = sq_wal_pages,
	.checkpoint = sq_checkpoint,
	.user_create = sq_user_create,
	.user_get = sq_user_get,
	.user_find = sq_user_find,
	.user_update = sq_user_update,
	.user_count = sq_user_count,
	.session_create = sq_session_create,
	.session_find = sq_session_find,
	.session_get = sq_session_get,
	.session_list = sq_session_list,
	.session_delete = sq_session_delete,
	.session_touch = sq_session_touch,
	.block_set = sq_block_set,
	.block_get = sq_block_get,
	.block_list = sq_block_list,
	.chat_create = sq_chat_create,
	.chat_get = sq_chat_get,
	.chat_find = sq_chat_find,
	.chat_find_private = sq_chat_find_private,
	.chat_update = sq_chat_update,
	.member_put = sq_member_put,
	.member_get = sq_member_get,
	.member_list = sq_member_list,
	.member_set_read = sq_member_set_read,
	.link_create = sq_link_create,
	.link_get = sq_link_get,
	.link_update = sq_link_update,
	.link_list = sq_link_list,
	.message_put = sq_message_put,
	.message_get = sq_message_get,
	.message_edit = sq_message_edit,
	.message_delete = sq_message_delete,
	.message_hide = sq_message_hide,
	.message_history = sq_message_history,
	.message_search = sq_message_search,
	.message_view = sq_message_view,
	.message_unread = sq_message_unread,
	.message_count = sq_message_count,
	.dialog_list = sq_dialog_list,
	.payload_put = sq_payload_put,
	.payload_redact = sq_payload_redact,
	.update_user_append = sq_update_user_append,
	.update_chat_append = sq_update_chat_append,
	.update_user_state = sq_update_user_state,
	.update_chat_state = sq_update_chat_state,
	.update_user_range = sq_update_user_range,
	.update_chat_range = sq_update_chat_range,
	.update_prune = sq_update_prune,
	.large_chats = sq_large_chats,
	.chat_set_large = sq_chat_set_large,
	.member_ids = sq_member_ids,
	.contact_ids = sq_contact_ids,
	.user_set_last_seen = sq_user_set_last_seen,
	.user_set_privacy = sq_user_set_privacy,
	.message_moderate = sq_message_moderate,
	SQ_SAFETY_OPS
	SQ_MEDIA_OPS
	.audit_last = sq_audit_last,
	.audit_put = sq_audit_put,
	.audit_range = sq_audit_range,
	.audit_head_at = sq_audit_head_at,
};

static void sq_errf(char *errbuf, size_t errlen, const char *what, const char *detail)
{
	if (errbuf && errlen)
		snprintf(errbuf, errlen, "%s: %s", what, detail);
}

/* Runs one connection-setup pragma; with want, its single result must be
 * that (journal_mode answers with the mode it got). */
static int sq_pragma(sqlite3 *db, const char *sql, const char *want)
{
	sqlite3_stmt *q = NULL;
	int rc;

	if ((rc = sqlite3_prepare_v2(db, sql, -1, &q, NULL)) != SQLITE_OK)
		goto out;
	rc = sqlite3_step(q);
	if (rc == SQLITE_ROW && want && strcmp((const char *)sqlite3_column_text(q, 0), want) != 0)
		rc = SQLITE_ERROR;
	else if (rc == SQLITE_ROW || rc == SQLITE_DONE)
		rc = SQLITE_OK;
out:
	sqlite3_finalize(q);
	return rc;
}

/* Applies the per-connection settings.  *why may get a message that
 * sqlite3_errmsg() would not have. */
static int sq_configure(struct sq_store *st, int flags, const char **why)
{
	char sql[64];
	int rc;

	sqlite3_extended_result_codes(st->db, 1);
	if ((rc = sqlite3_busy_timeout(st->db, SQ_BUSY_MS)) != SQLITE_OK)
		return rc;
	if (!st->readonly && (rc = sq_pragma(st->db, "PRAGMA journal_mode=WAL", "wal")) != SQLITE_OK) {
		if (rc == SQLITE_ERROR)
			*why = "cannot switch to WAL journal mode";
		return rc;
	}
	snprintf(sql, sizeof(sql), "PRAGMA journal_size_limit=%d", SQ_WAL_LIMIT);
	if (!st->readonly && (rc = sq_pragma(st->db, sql, NULL)) != SQLITE_OK)
		return rc;
	if ((rc = sq_pragma(st->db, "PRAGMA foreign_keys=ON", NULL)) != SQLITE_OK)
		return rc;
	st->sync_full = !(flags & STORE_SYNC_NORMAL);
	rc = sq_pragma(st->db, (flags & STORE_SYNC_NORMAL) ? "PRAGMA synchronous=NORMAL"
							   : "PRAGMA synchronous=FULL", NULL);
	if (rc != SQLITE_OK)
		return rc;
	if ((rc = sq_pragma(st->db, "PRAGMA temp_store=MEMORY", NULL)) != SQLITE_OK)
		return rc;
	snprintf(sql, sizeof(sql), "PRAGMA cache_size=-%d", SQ_CACHE_KIB);
	if ((rc = sq_pragma(st->db, sql, NULL)) != SQLITE_OK)
		return rc;
	/* Touch the file now so a reader on a bad or missing database fails here. */
	return sq_pragma(st->db, "PRAGMA user_version", NULL);
}

int store_sqlite_setup_process(void)
{
	/* SQLITE_MISUSE when SQLite is already initialised: keep its settings. */
	(void)sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
	return store_sqlite_vfs_register();
}

struct store *store_sqlite_open(const char *dir, int flags, char *errbuf, size_t errlen)
{
	struct sq_store *st = NULL;
	char path[PATH_MAX];
	const char *why = NULL;
	int readonly = (flags & STORE_READONLY) != 0;
	int oflags, rc;

	if (errbuf && errlen)
		errbuf[0] = '\0';
	if (!dir || !*dir) {
		sq_errf(errbuf, errlen, "store", "no data directory");
		goto fail;
	}
	if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, SQ_DB_FILE) >= sizeof(path)) {
		sq_errf(errbuf, errlen, dir, "path too long");
		goto fail;
	}
	if (!readonly && mkdir(dir, 0700) < 0 && errno != EEXIST) {
		sq_errf(errbuf, errlen, dir, strerror(errno));
		goto fail;
	}
	if (!(st = calloc(1, sizeof(*st)))) {
		sq_errf(errbuf, errlen, "store", "out of memory");
		goto fail;
	}
	st->base.ops = &sq_ops;
	st->readonly = readonly;
	oflags = SQLITE_OPEN_NOMUTEX |
		 (readonly ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
	if ((rc = sqlite3_open_v2(path, &st->db, oflags,
				  sqlite3_vfs_find(STORE_SQLITE_VFS) ? STORE_SQLITE_VFS : NULL)) != SQLITE_OK) {
		sq_errf(errbuf, errlen, path, st->db ? sqlite3_errmsg(st->db) : sqlite3_errstr(rc));
		goto fail;
	}
	if ((rc = sq_configure(st, flags, &why)) != SQLITE_OK) {
		sq_errf(errbuf, errlen, path, why ? why : sqlite3_errmsg(st->db));
		goto fail;
	}
	return &st->base;
fail:
	if (st)
		sq_close(&st->base);
	return NULL;
}

void store_message_release(struct store_message *m)
{
	if (m) {
		free(m->text);
		m->text = NULL;
	}
}
