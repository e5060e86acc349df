/*
 * store_sqlite_int.h — private to the SQLite backend (store_sqlite.c and
 * sqlite_schema.c).  Nothing outside src/store includes this file.
 */
#ifndef PL_STORE_STORE_SQLITE_INT_H
#define PL_STORE_STORE_SQLITE_INT_H

#include <stdint.h>

#include <sqlite3.h>

/* The schema version this build writes: the number of the last migration. */
int store_sqlite_schema_latest(void);

/* Applies, in order, every numbered migration newer than the database's
 * PRAGMA user_version, each in its own BEGIN IMMEDIATE transaction that also
 * advances user_version.  Must be called outside a transaction on a writable
 * connection.  Returns 0, or a negative pl_err with a message in errbuf
 * (which may be NULL).  A database newer than this build is refused. */
/* The schema version db has now (its user_version).  Returns 0 or a
 * negative pl_err. */
int store_sqlite_schema_current(sqlite3 *db, int *version);
int store_sqlite_schema_migrate(sqlite3 *db, char *errbuf, size_t errlen);

/* Statement helpers shared by the backend's files (store_sqlite.c defines them):
 * _done resets q and drops its bindings (NULL is fine); _row steps it: 1 with a
 * row, 0 when done, or a negative pl_err; _run steps to the first result: 0 or
 * a negative pl_err; _int steps it and reads column 0 of the row into *out: 0,
 * PL_NOTFOUND without a row (*out untouched), or a negative pl_err. */
void store_sqlite_done(sqlite3_stmt *q);
int store_sqlite_row(sqlite3_stmt *q);
int store_sqlite_run(sqlite3_stmt *q);
int store_sqlite_int(sqlite3_stmt *q, int64_t *out);

/* Maps an (extended) SQLite result code to a negative enum pl_err. */
int store_sqlite_err(int rc);

/* Statements of the backend's other files (sqlite_safety.c) live in slots of
 * the handle, prepared on first use and finalized by close, like the main
 * file's own. */
#define SQ_EXT_STMT_MAX 96

#include "store/store.h"

/* The WAL write gatherer (sqlite_vfs.c): a VFS named STORE_SQLITE_VFS over
 * SQLite's default one, which writes a WAL file's consecutive writes in one
 * system call — at the end of each commit's frames at the latest, and before
 * any other operation on the file — instead of two per frame.  Registered
 * once per process by store_sqlite_setup_process (the VFS struct then
 * belongs to SQLite's list for the life of the process); store_sqlite_open
 * uses it when it is registered.  Returns 0 or a negative pl_err. */
#define STORE_SQLITE_VFS "parley-wal"
int store_sqlite_vfs_register(void);

/* The connection of a handle. */
sqlite3 *store_sqlite_db(struct store *s);
/* Statement slot of s, prepared from sql on first use.  The caller resets
 * it (and clears its bindings) when done, as for the main file's. */
int store_sqlite_stmt(struct store *s, int slot, const char *sql, sqlite3_stmt **out);

/* The row cache (sqlite_cache.c) of a writable handle: what the writer
 * reads for every message — users rows, chats rows, members rows, blocks, whether a
 * chat has active restrictions, the update logs' counters — answered
 * without a statement.  The writer is the only writer of those tables, so
 * an entry stays true until the writer changes the row, and every op that
 * writes one drops its entry before it writes (whether or not the write
 * succeeds).  Whatever the open transaction filled or changed is dropped,
 * all of it, when it is rolled back or a request in it is undone, and all
 * entries are dropped when another connection committed (data_version).
 *
 * store_sqlite_cache gives the cache for lookups and fills: NULL unless s
 * is writable and inside a write transaction (outside one a read could see
 * a newer commit than the cache); its first such call makes the cache.
 * store_sqlite_cache_any gives it for drops, always (NULL while none was
 * made: nothing is cached then).  Every sq_cache_* function
 * takes a NULL cache and then does nothing (gets miss). */
struct sq_cache;
enum sq_cache_kind {
	SQ_CACHE_PTS_USER = 1,  /* a: user id -> user_state.pts */
	SQ_CACHE_PTS_CHAT = 2,  /* a: chat id -> chats.pts */
	SQ_CACHE_BLOCK = 3,     /* a: blocker, b: blocked -> 1 blocked, 0 not */
	SQ_CACHE_NO_RESTR = 4,  /* a: chat id -> 1: no active restriction */
	SQ_CACHE_PRIVATE = 5,   /* a: user_lo, b: user_hi -> the private chat's id */
	SQ_CACHE_PAYLOAD = 6,   /* a: update_payloads id -> 1: the row exists */
};
struct sq_cache *store_sqlite_cache(struct store *s);
struct sq_cache *store_sqlite_cache_any(struct store *s);
struct sq_cache *sq_cache_new(void);
void sq_cache_free(struct sq_cache *c);
void sq_cache_clear(struct sq_cache *c);
int sq_cache_int_get(struct sq_cache *c, int kind, int64_t a, int64_t b, int64_t *v);
void sq_cache_int_put(struct sq_cache *c, int kind, int64_t a, int64_t b, int64_t v);
void sq_cache_int_drop(struct sq_cache *c, int kind, int64_t a, int64_t b);
int sq_cache_member_get(struct sq_cache *c, int64_t chat_id, int64_t user_id, struct store_member *out);
void sq_cache_member_put(struct sq_cache *c, const struct store_member *m);
void sq_cache_member_drop(struct sq_cache *c, int64_t chat_id, int64_t user_id);
int sq_cache_user_get(struct sq_cache *c, int64_t id, struct store_user *out);
void sq_cache_user_put(struct sq_cache *c, const struct store_user *u);
void sq_cache_user_drop(struct sq_cache *c, int64_t id);
int sq_cache_chat_get(struct sq_cache *c, int64_t id, struct store_chat *out);
void sq_cache_chat_put(struct sq_cache *c, const struct store_chat *chat);
void sq_cache_chat_drop(struct sq_cache *c, int64_t id);
/* A sessions row without the account's fields (country, suspension): those
 * are taken from the users row at each get. */
int sq_cache_session_get(struct sq_cache *c, int64_t id, struct store_session *out);
void sq_cache_session_put(struct sq_cache *c, const struct store_session *ss);
void sq_cache_session_drop(struct sq_cache *c, int64_t id);
/* A message appended: the entry of chat id (if any) takes its id and date. */
void sq_cache_chat_advance(struct sq_cache *c, int64_t id, int64_t last_msg_id, int64_t last_date);
/* The cached last_msg_id of chat id into *out: 1, or 0 when not cached. */
int sq_cache_chat_last(struct sq_cache *c, int64_t id, int64_t *out);

/* sqlite_safety.c: the trust & safety ops of struct store_ops. */
#define SQ_SAFETY_OP_LIST(X) \
	X(user_set_suspension) X(user_set_country) X(chat_set_ban) X(message_ids_by_sender) \
	X(message_set_statement) X(role_get) X(role_set) X(role_list) X(flagger_create) X(flagger_get) \
	X(flagger_find_key) X(flagger_list) X(flagger_count) X(case_create) X(case_get) X(case_find_open) \
	X(case_update) X(case_queue) X(case_count_open) X(case_count_chat) X(signal_create) \
	X(signal_get_ref) X(signal_list_case) X(signal_list_chat) X(signal_close_case) X(signal_reopen) \
	X(statement_create) X(statement_get) X(statement_set_text) X(statement_set_reversed) \
	X(statement_list_range) X(statement_list_subject) X(statement_count_warnings) \
	X(statement_message_add) X(statement_message_list) X(appeal_create) X(appeal_get) X(appeal_list) \
	X(appeal_list_statement) X(appeal_update) X(restriction_add) X(restriction_end) \
	X(restriction_list_chat) X(restriction_count) X(geoip_clear) X(geoip_add) X(geoip_lookup) \
	X(admin_action_add) X(admin_action_list) X(safety_meta_get) X(safety_meta_set)

/* The ops table entries: .name = sqs_name. */
#define SQ_SAFETY_OP_INIT(name) .name = sqs_##name,
#define SQ_SAFETY_OPS SQ_SAFETY_OP_LIST(SQ_SAFETY_OP_INIT)

int sqs_user_set_suspension(struct store *s, int64_t user_id, int64_t until, int64_t statement_id);
int sqs_user_set_country(struct store *s, int64_t user_id, const char *country);
int sqs_chat_set_ban(struct store *s, int64_t chat_id, int64_t statement_id);
int sqs_message_ids_by_sender(struct store *s, int64_t chat_id, int64_t sender_id, store_id_cb cb, void *ctx);
int sqs_message_set_statement(struct store *s, int64_t chat_id, int64_t id, int64_t statement_id);
int sqs_role_get(struct store *s, int64_t user_id, int *role);
int sqs_role_set(struct store *s, int64_t user_id, int role, int64_t granted_by, int64_t now);
int sqs_role_list(struct store *s, store_role_cb cb, void *ctx);
int sqs_flagger_create(struct store *s, struct store_flagger *f);
int sqs_flagger_get(struct store *s, int64_t id, struct store_flagger *out);
int sqs_flagger_find_key(struct store *s, const char *key_hash, struct store_flagger *out);
int sqs_flagger_list(struct store *s, store_flagger_cb cb, void *ctx);
int sqs_flagger_count(struct store *s, int64_t id, int64_t notices, int64_t upheld, int64_t dismissed);
int sqs_case_create(struct store *s, struct store_case *c);
int sqs_case_get(struct store *s, int64_t id, struct store_case *out);
int sqs_case_find_open(struct store *s, int target, int64_t chat_id, int64_t msg_id, int64_t user_id,
		struct store_case *out);
int sqs_case_update(struct store *s, const struct store_case *c);
int sqs_case_queue(struct store *s, int limit, int64_t offset, store_case_cb cb, void *ctx);
int sqs_case_count_open(struct store *s, int64_t now, int64_t *open, int64_t *overdue);
int sqs_case_count_chat(struct store *s, int64_t chat_id, int64_t *out);
int sqs_signal_create(struct store *s, struct store_signal *sg);
int sqs_signal_get_ref(struct store *s, const char *reference, struct store_signal *out);
int sqs_signal_list_case(struct store *s, int64_t case_id, int limit, store_signal_cb cb, void *ctx);
int sqs_signal_list_chat(struct store *s, int64_t chat_id, int kind, int limit, int64_t offset,
		store_signal_cb cb, void *ctx);
int sqs_signal_close_case(struct store *s, int64_t case_id, int status, int64_t statement_id);
int sqs_signal_reopen(struct store *s, int64_t case_id, int64_t statement_id);
int sqs_statement_create(struct store *s, struct store_statement *st);
int sqs_statement_get(struct store *s, int64_t id, struct store_statement *out);
int sqs_statement_set_text(struct store *s, int64_t id, const char *text);
int sqs_statement_set_reversed(struct store *s, int64_t id, int64_t reversed_by);
int sqs_statement_list_range(struct store *s, int64_t from, int64_t to, int64_t after_id, int limit,
		store_statement_cb cb, void *ctx);
int sqs_statement_list_subject(struct store *s, int64_t user_id, int64_t chat_id, int limit,
		store_statement_cb cb, void *ctx);
int sqs_statement_count_warnings(struct store *s, int64_t user_id, int64_t *out);
int sqs_statement_message_add(struct store *s, int64_t statement_id, int64_t chat_id, int64_t msg_id);
int sqs_statement_message_list(struct store *s, int64_t statement_id, store_msg_ref_cb cb, void *ctx);
int sqs_appeal_create(struct store *s, struct store_appeal *a);
int sqs_appeal_get(struct store *s, int64_t id, struct store_appeal *out);
int sqs_appeal_list(struct store *s, int status, int limit, int64_t offset, store_appeal_cb cb, void *ctx);
int sqs_appeal_list_statement(struct store *s, int64_t statement_id, store_appeal_cb cb, void *ctx);
int sqs_appeal_update(struct store *s, const struct store_appeal *a);
int sqs_restriction_add(struct store *s, struct store_restriction *r);
int sqs_restriction_end(struct store *s, int64_t statement_id);
int sqs_restriction_list_chat(struct store *s, int64_t chat_id, store_restriction_cb cb, void *ctx);
int sqs_restriction_count(struct store *s, int64_t *out);
int sqs_geoip_clear(struct store *s);
int sqs_geoip_add(struct store *s, uint32_t start, uint32_t end, const char *country);
int sqs_geoip_lookup(struct store *s, uint32_t ip, char country[STORE_COUNTRY_SZ]);
int sqs_admin_action_add(struct store *s, const struct store_admin_action_row *a);
int sqs_admin_action_list(struct store *s, int64_t chat_id, int64_t since, int limit,
		store_admin_action_cb cb, void *ctx);
int sqs_safety_meta_get(struct store *s, const char *key, int64_t *value);
int sqs_safety_meta_set(struct store *s, const char *key, int64_t value);

/* sqlite_media.c: the media ops of struct store_ops.  Its statements use
 * the ext slots from SQ_MEDIA_STMT_BASE on (sqlite_safety.c's stay below). */
#define SQ_MEDIA_STMT_BASE 64
#define SQ_MEDIA_OP_LIST(X) \
	X(blob_reserve) X(blob_publish) X(blob_get) X(file_put) X(file_get) X(file_set_group) X(file_group) \
	X(media_attach) X(media_list) X(media_msg_ids) X(file_chats) X(blob_gc_mark) X(blob_gc_dying) X(blob_delete) X(blob_count)
#define SQ_MEDIA_OP_INIT(name) .name = sqm_##name,
#define SQ_MEDIA_OPS SQ_MEDIA_OP_LIST(SQ_MEDIA_OP_INIT)

int sqm_blob_reserve(struct store *s, const char *sha256, int64_t size, int64_t now, int *need_write);
int sqm_blob_publish(struct store *s, const char *sha256);
int sqm_blob_get(struct store *s, const char *sha256, struct store_blob *out);
int sqm_file_put(struct store *s, struct store_file *f);
int sqm_file_get(struct store *s, const char *file_id, struct store_file *out);
int sqm_file_set_group(struct store *s, int64_t id, int64_t group_id);
int sqm_file_group(struct store *s, int64_t group_id, store_file_cb cb, void *ctx);
int sqm_media_attach(struct store *s, int64_t chat_id, int64_t msg_id, int ord, int64_t file);
int sqm_media_list(struct store *s, int64_t chat_id, int64_t msg_id, store_file_cb cb, void *ctx);
int sqm_media_msg_ids(struct store *s, int64_t chat_id, int64_t lo_id, int64_t hi_id, int limit, store_id_cb cb,
		      void *ctx);
int sqm_file_chats(struct store *s, int64_t file, int limit, store_id_cb cb, void *ctx);
int sqm_blob_gc_mark(struct store *s, int64_t cutoff, int limit, int64_t *n);
int sqm_blob_gc_dying(struct store *s, int limit, store_blob_cb cb, void *ctx);
int sqm_blob_delete(struct store *s, const char *sha256);
int sqm_blob_count(struct store *s, int64_t *rows, int64_t *bytes);

#endif
