/*
 * sqlite_media.c — the media ops of the SQLite backend: blobs and their
 * reference counts, files, the files of messages, and the two-step garbage
 * collection (store.h; tables and triggers in sqlite_schema.c, migration 7).
 *
 * Same conventions as store_sqlite.c: statements prepared once per handle
 * (in its ext slots from SQ_MEDIA_STMT_BASE on), text bound SQLITE_STATIC
 * and unbound before returning, rows passed to callbacks valid only during
 * the call.  Reference counts are kept by the schema's triggers, not here.
 */
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "store/store.h"
#include "store/store_sqlite_int.h"

#define FILE_COLS "f.id, f.file_id, f.sha256, f.kind, f.mime, f.name, f.size, f.width, f.height, f.duration," \
	" f.uploader_id, f.group_id, f.created_at"
#define BLOB_COLS "sha256, size, state, refs, unref_at, created_at"

enum sqm_id {
	M_BLOB_GET, M_BLOB_INSERT, M_BLOB_PEND, M_BLOB_TOUCH, M_BLOB_PUBLISH,
	M_FILE_PUT, M_FILE_GET, M_FILE_SET_GROUP, M_FILE_GROUP,
	M_MEDIA_ATTACH, M_MEDIA_LIST, M_MEDIA_MSG_IDS, M_FILE_CHATS,
	M_GC_MARK, M_GC_DYING, M_BLOB_DEL, M_BLOB_DEL_FILES, M_BLOB_COUNT,
	M__COUNT
};

_Static_assert(SQ_MEDIA_STMT_BASE + M__COUNT <= SQ_EXT_STMT_MAX, "too many statements for the ext slots");

static const char *const sqm_sql[M__COUNT] = {
	[M_BLOB_GET] = "SELECT " BLOB_COLS " FROM blobs WHERE sha256 = ?1",
	[M_BLOB_INSERT] = "INSERT INTO blobs(sha256, size, state, refs, unref_at, created_at)"
		" VALUES(?1, ?2, 1, 0, ?3, ?3)",
	[M_BLOB_PEND] = "UPDATE blobs SET state = 1, unref_at = ?2 WHERE sha256 = ?1",
	[M_BLOB_TOUCH] = "UPDATE blobs SET unref_at = ?2 WHERE sha256 = ?1 AND refs <= 0",
	[M_BLOB_PUBLISH] = "UPDATE blobs SET state = 0 WHERE sha256 = ?1 AND state IN (0, 1)",
	[M_FILE_PUT] = "INSERT INTO files(file_id, sha256, kind, mime, name, size, width, height, duration,"
		" uploader_id, group_id, created_at) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
	[M_FILE_GET] = "SELECT " FILE_COLS " FROM files f WHERE f.file_id = ?1",
	[M_FILE_SET_GROUP] = "UPDATE files SET group_id = ?2 WHERE id = ?1",
	[M_FILE_GROUP] = "SELECT " FILE_COLS " FROM files f WHERE f.group_id = ?1 ORDER BY f.size, f.id",
	[M_MEDIA_ATTACH] = "INSERT INTO message_media(chat_id, msg_id, ord, file) VALUES(?1, ?2, ?3, ?4)",
	[M_MEDIA_LIST] = "SELECT " FILE_COLS " FROM message_media mm JOIN files f ON f.id = mm.file"
		" WHERE mm.chat_id = ?1 AND mm.msg_id = ?2 ORDER BY mm.ord",
	[M_MEDIA_MSG_IDS] = "SELECT DISTINCT msg_id FROM message_media"
		" WHERE chat_id = ?1 AND msg_id BETWEEN ?2 AND ?3 ORDER BY msg_id LIMIT ?4",
	[M_FILE_CHATS] = "SELECT DISTINCT mm.chat_id FROM message_media mm"
		" JOIN messages m ON m.chat_id = mm.chat_id AND m.id = mm.msg_id"
		" WHERE mm.file = ?1 AND m.deleted = 0 ORDER BY mm.chat_id DESC LIMIT ?2",
	[M_GC_MARK] = "UPDATE blobs SET state = 2 WHERE sha256 IN (SELECT sha256 FROM blobs INDEXED BY blobs_gc"
		" WHERE refs <= 0 AND unref_at < ?1 AND state IN (0, 1) LIMIT ?2)",
	[M_GC_DYING] = "SELECT " BLOB_COLS " FROM blobs INDEXED BY blobs_dying WHERE state = 2 LIMIT ?1",
	[M_BLOB_DEL] = "DELETE FROM blobs WHERE sha256 = ?1 AND state = 2",
	[M_BLOB_DEL_FILES] = "DELETE FROM files WHERE sha256 = ?1",
	[M_BLOB_COUNT] = "SELECT count(*), ifnull(sum(size), 0) FROM blobs WHERE state IN (0, 1)",
};

/* ---- statement helpers ---- */

static int prep(struct store *s, enum sqm_id id, sqlite3_stmt **q)
{
	return store_sqlite_stmt(s, SQ_MEDIA_STMT_BASE + (int)id, sqm_sql[id], q);
}

static int bind_text(sqlite3_stmt *q, int i, const char *t, size_t max)
{
	return store_sqlite_err(sqlite3_bind_text(q, i, t, (int)strnlen(t, max), SQLITE_STATIC));
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

static void read_blob(sqlite3_stmt *q, struct store_blob *b)
{
	memset(b, 0, sizeof(*b));
	col_copy(q, 0, b->sha256, sizeof(b->sha256));
	b->size = sqlite3_column_int64(q, 1);
	b->state = sqlite3_column_int(q, 2);
	b->refs = sqlite3_column_int64(q, 3);
	b->unref_at = sqlite3_column_int64(q, 4);
	b->created_at = sqlite3_column_int64(q, 5);
}

static void read_file(sqlite3_stmt *q, struct store_file *f)
{
	memset(f, 0, sizeof(*f));
	f->id = sqlite3_column_int64(q, 0);
	col_copy(q, 1, f->file_id, sizeof(f->file_id));
	col_copy(q, 2, f->sha256, sizeof(f->sha256));
	f->kind = sqlite3_column_int(q, 3);
	col_copy(q, 4, f->mime, sizeof(f->mime));
	col_copy(q, 5, f->name, sizeof(f->name));
	f->size = sqlite3_column_int64(q, 6);
	f->width = sqlite3_column_int64(q, 7);
	f->height = sqlite3_column_int64(q, 8);
	f->duration = sqlite3_column_int64(q, 9);
	f->uploader_id = sqlite3_column_int64(q, 10);
	f->group_id = sqlite3_column_int64(q, 11);
	f->created_at = sqlite3_column_int64(q, 12);
}

/* Runs a statement whose one text parameter is a SHA-256 and whose other
 * (?2) is an integer; PL_NOTFOUND when no row changed and one is wanted. */
static int write_sha(struct store *s, enum sqm_id id, const char *sha, int64_t v, int want_change)
{
	sqlite3_stmt *q = NULL;
	int rc;

	if ((rc = prep(s, id, &q)) < 0)
		goto out;
	if ((rc = bind_text(q, 1, sha, STORE_SHA_SZ)) < 0)
		goto out;
	if (sqlite3_bind_parameter_count(q) >= 2)
		sqlite3_bind_int64(q, 2, v);
	rc = store_sqlite_run(q);
	if (rc == 0 && want_change && sqlite3_changes(store_sqlite_db(s)) == 0)
		rc = PL_NOTFOUND;
out:
	store_sqlite_done(q);
	return rc;
}

/* Runs a file query with integer parameters v[0..n), calling cb per row. */
static int file_each(struct store *s, enum sqm_id id, const int64_t *v, int n, store_file_cb cb, void *ctx)
{
	struct store_file f;
	sqlite3_stmt *q = NULL;
	int rc;

	if ((rc = prep(s, id, &q)) < 0)
		goto out;
	for (int i = 0; i < n; i++)
		sqlite3_bind_int64(q, i + 1, v[i]);
	while ((rc = store_sqlite_row(q)) > 0) {
		read_file(q, &f);
		if ((rc = cb(ctx, &f)) != 0)
			break;
	}
out:
	store_sqlite_done(q);
	return rc;
}

/* Runs a query whose one parameter is a text key of at most keysz - 1
 * bytes and reads its one row with read; PL_NOTFOUND when there is none. */
static int row_by_text(struct store *s, enum sqm_id id, const char *key, size_t keysz,
		       void (*read)(sqlite3_stmt *q, void *out), void *out)
{
	sqlite3_stmt *q = NULL;
	int rc;

	if ((rc = prep(s, id, &q)) < 0)
		goto out;
	if ((rc = bind_text(q, 1, key, keysz)) < 0)
		goto out;
	if ((rc = store_sqlite_row(q)) == 0)
		rc = PL_NOTFOUND;
	if (rc > 0) {
		read(q, out);
		rc = 0;
	}
out:
	store_sqlite_done(q);
	return rc;
}

static void read_blob_row(sqlite3_stmt *q, void *out)
{
	read_blob(q, out);
}

static void read_file_row(sqlite3_stmt *q, void *out)
{
	read_file(q, out);
}

/* ---- blobs ---- */

int sqm_blob_get(struct store *s, const char *sha256, struct store_blob *out)
{
	memset(out, 0, sizeof(*out));
	return row_by_text(s, M_BLOB_GET, sha256, STORE_SHA_SZ, read_blob_row, out);
}

int sqm_blob_reserve(struct store *s, const char *sha256, int64_t size, int64_t now, int *need_write)
{
	struct store_blob b;
	sqlite3_stmt *q = NULL;
	int rc;

	*need_write = 0;
	rc = sqm_blob_get(s, sha256, &b);
	if (rc == 0 && b.state == STORE_BLOB_LIVE)
		return write_sha(s, M_BLOB_TOUCH, sha256, now, 0);
	if (rc == 0) {
		*need_write = 1;
		return write_sha(s, M_BLOB_PEND, sha256, now, 1);
	}
	if (rc != PL_NOTFOUND)
		return rc;
	if ((rc = prep(s, M_BLOB_INSERT, &q)) < 0)
		goto out;
	if ((rc = bind_text(q, 1, sha256, STORE_SHA_SZ)) < 0)
		goto out;
	sqlite3_bind_int64(q, 2, size);
	sqlite3_bind_int64(q, 3, now);
	if ((rc = store_sqlite_run(q)) == 0)
		*need_write = 1;
out:
	store_sqlite_done(q);
	return rc;
}

int sqm_blob_publish(struct store *s, const char *sha256)
{
	return write_sha(s, M_BLOB_PUBLISH, sha256, 0, 1);
}

int sqm_blob_gc_mark(struct store *s, int64_t cutoff, int limit, int64_t *n)
{
	sqlite3_stmt *q = NULL;
	int rc;

	*n = 0;
	if ((rc = prep(s, M_GC_MARK, &q)) < 0)
		goto out;
	sqlite3_bind_int64(q, 1, cutoff);
	sqlite3_bind_int64(q, 2, limit);
	if ((rc = store_sqlite_run(q)) == 0)
		*n = sqlite3_changes(store_sqlite_db(s));
out:
	store_sqlite_done(q);
	return rc;
}

int sqm_blob_gc_dying(struct store *s, int limit, store_blob_cb cb, void *ctx)
{
	struct store_blob b;
	sqlite3_stmt *q = NULL;
	int rc;

	if ((rc = prep(s, M_GC_DYING, &q)) < 0)
		goto out;
	sqlite3_bind_int64(q, 1, limit);
	while ((rc = store_sqlite_row(q)) > 0) {
		read_blob(q, &b);
		if ((rc = cb(ctx, &b)) != 0)
			break;
	}
out:
	store_sqlite_done(q);
	return rc;
}

int sqm_blob_delete(struct store *s, const char *sha256)
{
	int rc = write_sha(s, M_BLOB_DEL, sha256, 0, 1);

	if (rc == 0)
		rc = write_sha(s, M_BLOB_DEL_FILES, sha256, 0, 0);
	return rc;
}

int sqm_blob_count(struct store *s, int64_t *rows, int64_t *bytes)
{
	sqlite3_stmt *q = NULL;
	int rc;

	*rows = *bytes = 0;
	if ((rc = prep(s, M_BLOB_COUNT, &q)) < 0)
		goto out;
	if ((rc = store_sqlite_row(q)) > 0) {
		*rows = sqlite3_column_int64(q, 0);
		*bytes = sqlite3_column_int64(q, 1);
		rc = 0;
	}
out:
	store_sqlite_done(q);
	return rc;
}

/* ---- files ---- */

int sqm_file_put(struct store *s, struct store_file *f)
{
	sqlite3_stmt *q = NULL;
	int rc;

	if ((rc = prep(s, M_FILE_PUT, &q)) < 0)
		goto out;
	if ((rc = bind_text(q, 1, f->file_id, sizeof(f->file_id))) < 0 ||
	    (rc = bind_text(q, 2, f->sha256, sizeof(f->sha256))) < 0)
		goto out;
	sqlite3_bind_int(q, 3, f->kind);
	if ((rc = bind_text(q, 4, f->mime, sizeof(f->mime))) < 0 ||
	    (rc = bind_text(q, 5, f->name, sizeof(f->name))) < 0)
		goto out;
	sqlite3_bind_int64(q, 6, f->size);
	sqlite3_bind_int64(q, 7, f->width);
	sqlite3_bind_int64(q, 8, f->height);
	sqlite3_bind_int64(q, 9, f->duration);
	sqlite3_bind_int64(q, 10, f->uploader_id);
	sqlite3_bind_int64(q, 11, f->group_id);
	sqlite3_bind_int64(q, 12, f->created_at);
	if ((rc = store_sqlite_run(q)) == 0)
		f->id = sqlite3_last_insert_rowid(store_sqlite_db(s));
out:
	store_sqlite_done(q);
	return rc;
}

int sqm_file_get(struct store *s, const char *file_id, struct store_file *out)
{
	memset(out, 0, sizeof(*out));
	return row_by_text(s, M_FILE_GET, file_id, STORE_FILE_ID_SZ, read_file_row, out);
}

int sqm_file_set_group(struct store *s, int64_t id, int64_t group_id)
{
	sqlite3_stmt *q = NULL;
	int rc;

	if ((rc = prep(s, M_FILE_SET_GROUP, &q)) < 0)
		goto out;
	sqlite3_bind_int64(q, 1, id);
	sqlite3_bind_int64(q, 2, group_id);
	rc = store_sqlite_run(q);
	if (rc == 0 && sqlite3_changes(store_sqlite_db(s)) == 0)
		rc = PL_NOTFOUND;
out:
	store_sqlite_done(q);
	return rc;
}

int sqm_file_group(struct store *s, int64_t group_id, store_file_cb cb, void *ctx)
{
	return file_each(s, M_FILE_GROUP, &group_id, 1, cb, ctx);
}

/* ---- the files of messages ---- */

int sqm_media_attach(struct store *s, int64_t chat_id, int64_t msg_id, int ord, int64_t file)
{
	sqlite3_stmt *q = NULL;
	int rc;

	if ((rc = prep(s, M_MEDIA_ATTACH, &q)) < 0)
		goto out;
	sqlite3_bind_int64(q, 1, chat_id);
	sqlite3_bind_int64(q, 2, msg_id);
	sqlite3_bind_int(q, 3, ord);
	sqlite3_bind_int64(q, 4, file);
	rc = store_sqlite_run(q);
out:
	store_sqlite_done(q);
	return rc;
}

int sqm_media_list(struct store *s, int64_t chat_id, int64_t msg_id, store_file_cb cb, void *ctx)
{
	int64_t v[2] = {chat_id, msg_id};

	return file_each(s, M_MEDIA_LIST, v, 2, cb, ctx);
}

int sqm_media_msg_ids(struct store *s, int64_t chat_id, int64_t lo_id, int64_t hi_id, int limit, store_id_cb cb,
		      void *ctx)
{
	sqlite3_stmt *q = NULL;
	int rc;

	if ((rc = prep(s, M_MEDIA_MSG_IDS, &q)) < 0)
		goto out;
	sqlite3_bind_int64(q, 1, chat_id);
	sqlite3_bind_int64(q, 2, lo_id);
	sqlite3_bind_int64(q, 3, hi_id);
	sqlite3_bind_int64(q, 4, limit);
	while ((rc = store_sqlite_row(q)) > 0)
		if ((rc = cb(ctx, sqlite3_column_int64(q, 0))) != 0)
			break;
out:
	store_sqlite_done(q);
	return rc;
}

int sqm_file_chats(struct store *s, int64_t file, int limit, store_id_cb cb, void *ctx)
{
	sqlite3_stmt *q = NULL;
	int rc;

	if ((rc = prep(s, M_FILE_CHATS, &q)) < 0)
		goto out;
	sqlite3_bind_int64(q, 1, file);
	sqlite3_bind_int64(q, 2, limit);
	while ((rc = store_sqlite_row(q)) > 0)
		if ((rc = cb(ctx, sqlite3_column_int64(q, 0))) != 0)
			break;
out:
	store_sqlite_done(q);
	return rc;
}
