/*
 * test_blob.c — the blob store (src/store/blob_local.c, through blob.h) and
 * the media rows of the SQLite store (src/store/sqlite_media.c, through
 * store.h): content addresses, deduplication, temporary objects cleaned at
 * start-up, the trash, reference counts kept by the schema's triggers, and
 * the two-step garbage collection.  Each test works in a fresh mkdtemp
 * folder.
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
#include <sodium.h>

#include "store/blob.h"
#include "store/store.h"

struct t_env {
	char root[64];
	char dir[96];
	struct blob_store *b;
	struct store *s;
};

static void t_rmtree(const char *path)
{
	DIR *d = opendir(path);
	struct dirent *e;
	char p[1024];

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

static int t_setup(void **state)
{
	struct t_env *env = calloc(1, sizeof(*env));
	char err[256];

	assert_non_null(env);
	assert_true(sodium_init() >= 0);
	strcpy(env->root, "/tmp/parley-blob-XXXXXX");
	assert_non_null(mkdtemp(env->root));
	snprintf(env->dir, sizeof(env->dir), "%s/data", env->root);
	env->s = store_sqlite_open(env->dir, 0, err, sizeof(err));
	assert_non_null(env->s);
	assert_int_equal(store_migrate(env->s), 0);
	env->b = blob_local_open(env->dir, err, sizeof(err));
	assert_non_null(env->b);
	*state = env;
	return 0;
}

static int t_teardown(void **state)
{
	struct t_env *env = *state;

	blob_close(env->b);
	store_close(env->s);
	t_rmtree(env->root);
	free(env);
	return 0;
}

/* Writes data in pieces of step bytes into a new temporary object and
 * finishes it. */
static struct blob_temp *t_write(struct t_env *env, const char *data, size_t len, size_t step,
				 char hex[BLOB_HEX_SZ])
{
	struct blob_temp *t;
	uint64_t size = 0;

	assert_int_equal(blob_temp_open(env->b, &t), 0);
	for (size_t off = 0; off < len; off += step)
		assert_int_equal(blob_temp_write(t, data + off, len - off < step ? len - off : step), 0);
	assert_int_equal(blob_temp_finish(t, hex, &size), 0);
	assert_int_equal(size, len);
	return t;
}

static int t_count_dir(const char *path)
{
	DIR *d = opendir(path);
	struct dirent *e;
	int n = 0;

	if (!d)
		return -1;
	while ((e = readdir(d)))
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

static void test_content_address_and_dedup(void **state)
{
	struct t_env *env = *state;
	static const char data[] = "hello, blobs";
	char hex[BLOB_HEX_SZ], hex2[BLOB_HEX_SZ], path[256], buf[64], want[BLOB_HEX_SZ];
	unsigned char digest[32];
	int64_t count, bytes;
	uint64_t size;
	size_t got;
	int fd;
	struct blob_temp *t;

	crypto_hash_sha256(digest, (const unsigned char *)data, sizeof(data) - 1);
	sodium_bin2hex(want, sizeof(want), digest, sizeof(digest));
	t = t_write(env, data, sizeof(data) - 1, 3, hex);
	assert_string_equal(hex, want);
	/* What was written can be read back before it is committed. */
	assert_int_equal(blob_temp_read(t, 7, buf, 100, &got), 0);
	assert_int_equal(got, 5);
	assert_memory_equal(buf, "blobs", 5);
	assert_int_equal(blob_exists(env->b, hex), 0);
	assert_int_equal(blob_temp_commit(t), 0);
	assert_int_equal(blob_exists(env->b, hex), 1);
	snprintf(path, sizeof(path), "%s/blobs/%.2s/%.2s/%s", env->dir, hex, hex + 2, hex);
	assert_int_equal(access(path, R_OK), 0);
	/* The same bytes again: one file. */
	t = t_write(env, data, sizeof(data) - 1, 100, hex2);
	assert_string_equal(hex, hex2);
	assert_int_equal(blob_temp_commit(t), 0);
	assert_int_equal(blob_usage(env->b, &count, &bytes), 0);
	assert_int_equal(count, 1);
	assert_int_equal(bytes, sizeof(data) - 1);
	snprintf(path, sizeof(path), "%s/blobs/tmp", env->dir);
	assert_int_equal(t_count_dir(path), 0);
	/* Read it. */
	assert_int_equal(blob_open_read(env->b, hex, &fd, &size), 0);
	assert_int_equal(size, sizeof(data) - 1);
	assert_int_equal(read(fd, buf, sizeof(buf)), sizeof(data) - 1);
	assert_memory_equal(buf, data, sizeof(data) - 1);
	close(fd);
	/* Not a content address. */
	assert_int_equal(blob_open_read(env->b, "../../etc/passwd", &fd, &size), PL_INVAL);
	assert_int_equal(blob_exists(env->b, "ABCDEF"), PL_INVAL);
	/* Trash, then empty it. */
	assert_int_equal(blob_trash(env->b, hex), 0);
	assert_int_equal(blob_exists(env->b, hex), 0);
	assert_int_equal(blob_trash(env->b, hex), 0); /* gone already: fine */
	assert_int_equal(blob_trash_empty(env->b, &count), 0);
	assert_int_equal(count, 1);
	assert_int_equal(blob_open_read(env->b, hex, &fd, &size), PL_NOTFOUND);
}

static void test_clean_at_start(void **state)
{
	struct t_env *env = *state;
	char hex[BLOB_HEX_SZ], path[256], err[128];
	struct blob_temp *t = t_write(env, "half", 4, 4, hex), *t2;
	int64_t n = 0;

	/* A crash: the temporary objects are left behind (not discarded). */
	(void)t;
	assert_int_equal(blob_temp_open(env->b, &t2), 0);
	assert_int_equal(blob_temp_write(t2, "x", 1), 0);
	blob_close(env->b);
	snprintf(path, sizeof(path), "%s/blobs/tmp", env->dir);
	assert_int_equal(t_count_dir(path), 2);
	env->b = blob_local_open(env->dir, err, sizeof(err));
	assert_non_null(env->b);
	assert_int_equal(blob_clean(env->b, &n), 0);
	assert_int_equal(n, 2);
	assert_int_equal(t_count_dir(path), 0);
	/* Their memory (the handles a crash would have lost). */
	free(t);
	free(t2);
	/* Discarding removes the file. */
	t = t_write(env, "gone", 4, 1, hex);
	blob_temp_discard(t);
	assert_int_equal(t_count_dir(path), 0);
}

static const char *t_sha(int i, char *buf)
{
	unsigned char d[32];
	char in[16];

	snprintf(in, sizeof(in), "blob%d", i);
	crypto_hash_sha256(d, (const unsigned char *)in, strlen(in));
	sodium_bin2hex(buf, BLOB_HEX_SZ, d, sizeof(d));
	return buf;
}

static int64_t t_file(struct t_env *env, const char *sha, const char *file_id, int64_t group)
{
	struct store_file f;

	memset(&f, 0, sizeof(f));
	snprintf(f.file_id, sizeof(f.file_id), "%s", file_id);
	snprintf(f.sha256, sizeof(f.sha256), "%s", sha);
	f.kind = STORE_FILE_DOCUMENT;
	snprintf(f.mime, sizeof(f.mime), "application/pdf");
	snprintf(f.name, sizeof(f.name), "a.pdf");
	f.size = 10;
	f.uploader_id = 1;
	f.group_id = group;
	f.created_at = 1000;
	assert_int_equal(store_file_put(env->s, &f), 0);
	return f.id;
}

static int t_collect_sha(void *ctx, const struct store_blob *b)
{
	char (*v)[BLOB_HEX_SZ] = ctx;
	int i = 0;

	while (v[i][0])
		i++;
	memcpy(v[i], b->sha256, BLOB_HEX_SZ);
	return 0;
}

static int t_count_file(void *ctx, const struct store_file *f)
{
	(*(int *)ctx)++;
	return 0;
}

static int t_count_id(void *ctx, int64_t id)
{
	(*(int *)ctx)++;
	return 0;
}

/* A user, a chat and a message in it (for attaching files). */
static int64_t t_message(struct t_env *env, int64_t *chat)
{
	struct store_user u;
	struct store_chat c;
	struct store_message m;

	memset(&u, 0, sizeof(u));
	if (store_user_get(env->s, 1, &u) < 0) {
		snprintf(u.username, sizeof(u.username), "alice");
		u.created_at = 1000;
		assert_int_equal(store_user_create(env->s, &u), 0);
	}
	memset(&c, 0, sizeof(c));
	c.type = STORE_CHAT_GROUP;
	snprintf(c.title, sizeof(c.title), "g");
	c.creator_id = 1;
	c.created_at = 1000;
	assert_int_equal(store_chat_create(env->s, &c), 0);
	memset(&m, 0, sizeof(m));
	m.chat_id = c.id;
	m.sender_id = 1;
	m.date = 1000;
	m.text = (char *)"caption words";
	assert_int_equal(store_message_put(env->s, &m), 0);
	*chat = c.id;
	return m.id;
}

static void test_refs_and_gc(void **state)
{
	struct t_env *env = *state;
	char a[BLOB_HEX_SZ], b[BLOB_HEX_SZ], dying[4][BLOB_HEX_SZ];
	struct store_blob bl;
	struct store_file f;
	int64_t fa, fb, chat, msg, n;
	int need, count;

	t_sha(1, a);
	t_sha(2, b);
	assert_int_equal(store_begin(env->s), 0);
	/* New: pending, the bytes must be written; then live. */
	assert_int_equal(store_blob_reserve(env->s, a, 10, 1000, &need), 0);
	assert_int_equal(need, 1);
	assert_int_equal(store_blob_get(env->s, a, &bl), 0);
	assert_int_equal(bl.state, STORE_BLOB_PENDING);
	assert_int_equal(store_blob_publish(env->s, a), 0);
	assert_int_equal(store_blob_reserve(env->s, a, 10, 1500, &need), 0);
	assert_int_equal(need, 0); /* live: the bytes are there */
	assert_int_equal(store_blob_get(env->s, a, &bl), 0);
	assert_int_equal(bl.state, STORE_BLOB_LIVE);
	assert_int_equal(bl.unref_at, 1500);
	assert_int_equal(store_blob_reserve(env->s, b, 20, 1000, &need), 0);
	assert_int_equal(store_blob_publish(env->s, b), 0);
	fa = t_file(env, a, "fa", 0);
	fb = t_file(env, b, "fb", 0);
	assert_int_equal(store_file_get(env->s, "fa", &f), 0);
	assert_int_equal(f.id, fa);
	assert_string_equal(f.sha256, a);
	assert_string_equal(f.name, "a.pdf");
	assert_int_equal(store_file_put(env->s, &f), PL_EXISTS); /* file_id taken */
	assert_int_equal(store_file_get(env->s, "nope", &f), PL_NOTFOUND);
	/* Attach both to one message, a twice to another. */
	msg = t_message(env, &chat);
	assert_int_equal(store_media_attach(env->s, chat, msg, 0, fa), 0);
	assert_int_equal(store_media_attach(env->s, chat, msg, 1, fb), 0);
	{
		int64_t chat2, msg2 = t_message(env, &chat2);

		assert_int_equal(store_media_attach(env->s, chat2, msg2, 0, fa), 0);
		count = 0;
		assert_int_equal(store_file_chats(env->s, fa, 10, t_count_id, &count), 0);
		assert_int_equal(count, 2);
		assert_int_equal(store_blob_get(env->s, a, &bl), 0);
		assert_int_equal(bl.refs, 2);
		/* Deleting a message for everyone releases its references. */
		assert_int_equal(store_message_delete(env->s, chat2, msg2), 0);
		assert_int_equal(store_blob_get(env->s, a, &bl), 0);
		assert_int_equal(bl.refs, 1);
		count = 0;
		assert_int_equal(store_file_chats(env->s, fa, 10, t_count_id, &count), 0);
		assert_int_equal(count, 1);
	}
	count = 0;
	assert_int_equal(store_media_list(env->s, chat, msg, t_count_file, &count), 0);
	assert_int_equal(count, 2);
	/* Referenced blobs are never collected. */
	assert_int_equal(store_blob_gc_mark(env->s, 1 << 30, 100, &n), 0);
	assert_int_equal(n, 0);
	/* Hiding for one user or removing by moderation keeps them. */
	assert_int_equal(store_message_moderate(env->s, chat, msg, 1), 0);
	assert_int_equal(store_blob_get(env->s, b, &bl), 0);
	assert_int_equal(bl.refs, 1);
	assert_int_equal(store_message_moderate(env->s, chat, msg, 0), 0);
	assert_int_equal(store_message_delete(env->s, chat, msg), 0);
	assert_int_equal(store_blob_get(env->s, b, &bl), 0);
	assert_int_equal(bl.refs, 0);
	assert_true(bl.unref_at > 1000000000); /* now, from the trigger */
	/* The grace period: not before unref_at + grace. */
	assert_int_equal(store_blob_gc_mark(env->s, bl.unref_at, 100, &n), 0);
	assert_int_equal(n, 0);
	assert_int_equal(store_blob_gc_mark(env->s, bl.unref_at + 1, 100, &n), 0);
	assert_int_equal(n, 2);
	memset(dying, 0, sizeof(dying));
	assert_int_equal(store_blob_gc_dying(env->s, 10, t_collect_sha, dying), 0);
	assert_true(dying[0][0] && dying[1][0] && !dying[2][0]);
	/* A dying blob uploaded again is revived (pending), not deleted. */
	assert_int_equal(store_blob_reserve(env->s, a, 10, 5000, &need), 0);
	assert_int_equal(need, 1);
	assert_int_equal(store_blob_delete(env->s, a), PL_NOTFOUND);
	assert_int_equal(store_blob_publish(env->s, a), 0);
	assert_int_equal(store_blob_delete(env->s, b), 0);
	assert_int_equal(store_blob_get(env->s, b, &bl), PL_NOTFOUND);
	assert_int_equal(store_file_get(env->s, "fb", &f), PL_NOTFOUND); /* its files go with it */
	assert_int_equal(store_blob_publish(env->s, b), PL_NOTFOUND);
	assert_int_equal(store_blob_count(env->s, &n, &(int64_t){0}), 0);
	assert_int_equal(n, 1);
	assert_int_equal(store_commit(env->s), 0);
}

static void test_groups(void **state)
{
	struct t_env *env = *state;
	char a[BLOB_HEX_SZ];
	int64_t f1, f2;
	int count = 0;

	t_sha(3, a);
	assert_int_equal(store_begin(env->s), 0);
	f1 = t_file(env, a, "g1", 0);
	f2 = t_file(env, a, "g2", 0);
	assert_int_equal(store_file_set_group(env->s, f1, f2), 0);
	assert_int_equal(store_file_set_group(env->s, f2, f2), 0);
	assert_int_equal(store_file_group(env->s, f2, t_count_file, &count), 0);
	assert_int_equal(count, 2);
	assert_int_equal(store_file_set_group(env->s, 9999, f2), PL_NOTFOUND);
	assert_int_equal(store_commit(env->s), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_content_address_and_dedup, t_setup, t_teardown),
		cmocka_unit_test_setup_teardown(test_clean_at_start, t_setup, t_teardown),
		cmocka_unit_test_setup_teardown(test_refs_and_gc, t_setup, t_teardown),
		cmocka_unit_test_setup_teardown(test_groups, t_setup, t_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
