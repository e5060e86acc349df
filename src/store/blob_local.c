/*
 * blob_local.c — the local-disk blob store (contract in blob.h).
 *
 * Layout under DATA/blobs:
 *   ab/cd/<sha256>    a blob: the 64-hex SHA-256 of its bytes, in folders
 *                     named by its first two bytes (at most 256 x 256
 *                     folders, so none grows past what a directory handles
 *                     well)
 *   tmp/<random>.part an upload being written (removed at start-up)
 *   trash/<...>       blobs taken out of their address, waiting to be
 *                     deleted (emptied at start-up and after each GC)
 *
 * Durability: a temporary file is fsynced before it is renamed to its
 * address, and the folder that receives it is fsynced after (its parents
 * too when they were just made), so a blob that was committed survives a
 * crash whole, and a crash before leaves only tmp/ to clean.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "store/blob.h"

#define BL_TMP "tmp"
#define BL_TRASH "trash"
#define BL_NAME_RANDOM 12 /* random bytes in a temporary or trash name */

struct blob_local {
	struct blob_store base;
	char root[PATH_MAX - 128]; /* DATA/blobs; room left for ab/cd/<hex> */
};

struct blob_local_temp {
	struct blob_temp_base base;
	struct blob_local *store;
	int fd;
	int finished;
	uint64_t size;
	crypto_hash_sha256_state sha;
	char hex[BLOB_HEX_SZ];
	char path[PATH_MAX];
};

static const struct blob_ops bl_ops;

static int bl_errno_rc(int e)
{
	if (e == ENOENT)
		return PL_NOTFOUND;
	if (e == ENOMEM)
		return PL_NOMEM;
	if (e == ENOSPC || e == EDQUOT || e == EFBIG)
		return PL_TOOBIG;
	return PL_IO;
}

/* fsyncs a folder. */
static int bl_sync_dir(const char *path)
{
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC), rc = 0;

	if (fd < 0)
		return bl_errno_rc(errno);
	if (fsync(fd) < 0)
		rc = bl_errno_rc(errno);
	close(fd);
	return rc;
}

/* Makes folder path (mode 0700) if missing; *made tells if it was made. */
static int bl_mkdir(const char *path, int *made)
{
	*made = 0;
	if (mkdir(path, 0700) == 0) {
		*made = 1;
		return 0;
	}
	return errno == EEXIST ? 0 : bl_errno_rc(errno);
}

/* root/ab/cd for hex, made (durably) if missing; the blob's path in file. */
static int bl_blob_path(struct blob_local *b, const char *hex, int make, char *dir, size_t dirlen, char *file,
			size_t filelen)
{
	char mid[PATH_MAX];
	int made_mid = 0, made_dir = 0, rc;

	if (!blob_hex_valid(hex))
		return PL_INVAL;
	snprintf(mid, sizeof(mid), "%s/%.2s", b->root, hex);
	snprintf(dir, dirlen, "%s/%.2s/%.2s", b->root, hex, hex + 2);
	snprintf(file, filelen, "%s/%s", dir, hex);
	if (!make)
		return 0;
	if ((rc = bl_mkdir(mid, &made_mid)) < 0 || (rc = bl_mkdir(dir, &made_dir)) < 0)
		return rc;
	/* A new folder is durable only once its parent is synced. */
	if (made_mid && (rc = bl_sync_dir(b->root)) < 0)
		return rc;
	if (made_dir && (rc = bl_sync_dir(mid)) < 0)
		return rc;
	return 0;
}

static void bl_random_name(char *out, size_t len)
{
	unsigned char r[BL_NAME_RANDOM];

	randombytes_buf(r, sizeof(r));
	sodium_bin2hex(out, len, r, sizeof(r));
}

/* Deletes every entry of folder sub; counts them into *n. */
static int bl_empty_dir(struct blob_local *b, const char *sub, int64_t *n)
{
	char dir[PATH_MAX], path[PATH_MAX + 300];
	struct dirent *e;
	DIR *d;
	int rc = 0;

	snprintf(dir, sizeof(dir), "%s/%s", b->root, sub);
	if ((d = opendir(dir)) == NULL)
		return errno == ENOENT ? 0 : bl_errno_rc(errno);
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		if (unlink(path) == 0) {
			if (n)
				(*n)++;
		} else if (errno != ENOENT) {
			rc = bl_errno_rc(errno);
		}
	}
	closedir(d);
	return rc;
}

/* ---- ops ---------------------------------------------------------------------- */

static void bl_close(struct blob_store *s)
{
	free(s);
}

static int bl_clean(struct blob_store *s, int64_t *removed)
{
	struct blob_local *b = (struct blob_local *)s;
	int64_t n = 0;
	int rc = bl_empty_dir(b, BL_TMP, &n), rc2 = bl_empty_dir(b, BL_TRASH, &n);

	if (removed)
		*removed = n;
	return rc < 0 ? rc : rc2;
}

static int bl_temp_open(struct blob_store *s, struct blob_temp **out)
{
	struct blob_local *b = (struct blob_local *)s;
	struct blob_local_temp *t = calloc(1, sizeof(*t));
	char name[2 * BL_NAME_RANDOM + 1];

	*out = NULL;
	if (t == NULL)
		return PL_NOMEM;
	t->base.ops = &bl_ops;
	t->store = b;
	bl_random_name(name, sizeof(name));
	snprintf(t->path, sizeof(t->path), "%s/%s/%s.part", b->root, BL_TMP, name);
	if ((t->fd = open(t->path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600)) < 0) {
		int rc = bl_errno_rc(errno);

		free(t);
		return rc;
	}
	crypto_hash_sha256_init(&t->sha);
	*out = (struct blob_temp *)t;
	return 0;
}

static int bl_temp_write(struct blob_temp *bt, const void *data, size_t len)
{
	struct blob_local_temp *t = (struct blob_local_temp *)bt;
	const char *p = data;
	size_t left = len;

	if (t->finished)
		return PL_INVAL;
	while (left > 0) {
		ssize_t n = write(t->fd, p, left);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? bl_errno_rc(errno) : PL_IO;
		p += n;
		left -= (size_t)n;
	}
	crypto_hash_sha256_update(&t->sha, data, len);
	t->size += len;
	return 0;
}

static int bl_temp_read(struct blob_temp *bt, uint64_t off, void *buf, size_t len, size_t *got)
{
	struct blob_local_temp *t = (struct blob_local_temp *)bt;
	size_t have = 0;

	while (have < len) {
		ssize_t n = pread(t->fd, (char *)buf + have, len - have, (off_t)(off + have));

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return bl_errno_rc(errno);
		if (n == 0)
			break;
		have += (size_t)n;
	}
	*got = have;
	return 0;
}

static int bl_temp_finish(struct blob_temp *bt, char hex[BLOB_HEX_SZ], uint64_t *size)
{
	struct blob_local_temp *t = (struct blob_local_temp *)bt;
	unsigned char digest[BLOB_SHA256_LEN];

	if (!t->finished) {
		if (fsync(t->fd) < 0)
			return bl_errno_rc(errno);
		crypto_hash_sha256_final(&t->sha, digest);
		sodium_bin2hex(t->hex, sizeof(t->hex), digest, sizeof(digest));
		t->finished = 1;
	}
	memcpy(hex, t->hex, BLOB_HEX_SZ);
	*size = t->size;
	return 0;
}

static void bl_temp_discard(struct blob_temp *bt)
{
	struct blob_local_temp *t = (struct blob_local_temp *)bt;

	if (t == NULL)
		return;
	if (t->fd >= 0)
		close(t->fd);
	(void)unlink(t->path);
	free(t);
}

static int bl_temp_commit(struct blob_temp *bt)
{
	struct blob_local_temp *t = (struct blob_local_temp *)bt;
	char dir[PATH_MAX], file[PATH_MAX];
	int rc;

	if (!t->finished) {
		bl_temp_discard(bt);
		return PL_INVAL;
	}
	if ((rc = bl_blob_path(t->store, t->hex, 1, dir, sizeof(dir), file, sizeof(file))) < 0)
		goto fail;
	if (rename(t->path, file) < 0) {
		rc = bl_errno_rc(errno);
		goto fail;
	}
	close(t->fd);
	t->fd = -1;
	rc = bl_sync_dir(dir);
	free(t);
	return rc;
fail:
	bl_temp_discard(bt);
	return rc;
}

static int bl_open_read(struct blob_store *s, const char *hex, int *fd, uint64_t *size)
{
	struct blob_local *b = (struct blob_local *)s;
	char dir[PATH_MAX], file[PATH_MAX];
	struct stat st;
	int rc;

	*fd = -1;
	if ((rc = bl_blob_path(b, hex, 0, dir, sizeof(dir), file, sizeof(file))) < 0)
		return rc;
	if ((*fd = open(file, O_RDONLY | O_CLOEXEC)) < 0)
		return bl_errno_rc(errno);
	if (fstat(*fd, &st) < 0) {
		rc = bl_errno_rc(errno);
		close(*fd);
		*fd = -1;
		return rc;
	}
	*size = (uint64_t)st.st_size;
	return 0;
}

static int bl_exists(struct blob_store *s, const char *hex)
{
	struct blob_local *b = (struct blob_local *)s;
	char dir[PATH_MAX], file[PATH_MAX];
	struct stat st;
	int rc;

	if ((rc = bl_blob_path(b, hex, 0, dir, sizeof(dir), file, sizeof(file))) < 0)
		return rc;
	if (stat(file, &st) == 0)
		return 1;
	return errno == ENOENT ? 0 : bl_errno_rc(errno);
}

static int bl_trash(struct blob_store *s, const char *hex)
{
	struct blob_local *b = (struct blob_local *)s;
	char dir[PATH_MAX], file[PATH_MAX], dest[PATH_MAX + 100], name[2 * BL_NAME_RANDOM + 1];
	int rc;

	if ((rc = bl_blob_path(b, hex, 0, dir, sizeof(dir), file, sizeof(file))) < 0)
		return rc;
	bl_random_name(name, sizeof(name));
	snprintf(dest, sizeof(dest), "%s/%s/%s.%s", b->root, BL_TRASH, hex, name);
	if (rename(file, dest) < 0)
		return errno == ENOENT ? 0 : bl_errno_rc(errno);
	return bl_sync_dir(dir);
}

static int bl_trash_empty(struct blob_store *s, int64_t *removed)
{
	int64_t n = 0;
	int rc = bl_empty_dir((struct blob_local *)s, BL_TRASH, &n);

	if (removed)
		*removed = n;
	return rc;
}

/* Is name two lower-case hex digits? */
static int bl_hex2(const char *name)
{
	return strlen(name) == 2 && strspn(name, "0123456789abcdef") == 2;
}

static int bl_usage(struct blob_store *s, int64_t *count, int64_t *bytes)
{
	struct blob_local *b = (struct blob_local *)s;
	char p1[PATH_MAX + 256], p2[PATH_MAX + 512], p3[PATH_MAX + 768];
	struct dirent *e1, *e2, *e3;
	struct stat st;
	DIR *d1, *d2, *d3;

	*count = *bytes = 0;
	if ((d1 = opendir(b->root)) == NULL)
		return bl_errno_rc(errno);
	while ((e1 = readdir(d1)) != NULL) {
		if (!bl_hex2(e1->d_name))
			continue;
		snprintf(p1, sizeof(p1), "%s/%s", b->root, e1->d_name);
		if ((d2 = opendir(p1)) == NULL)
			continue;
		while ((e2 = readdir(d2)) != NULL) {
			if (!bl_hex2(e2->d_name))
				continue;
			snprintf(p2, sizeof(p2), "%s/%s", p1, e2->d_name);
			if ((d3 = opendir(p2)) == NULL)
				continue;
			while ((e3 = readdir(d3)) != NULL) {
				if (!blob_hex_valid(e3->d_name))
					continue;
				snprintf(p3, sizeof(p3), "%s/%s", p2, e3->d_name);
				if (stat(p3, &st) == 0) {
					(*count)++;
					*bytes += (int64_t)st.st_size;
				}
			}
			closedir(d3);
		}
		closedir(d2);
	}
	closedir(d1);
	return 0;
}

static const struct blob_ops bl_ops = {
	.version = BLOB_OPS_VERSION,
	.name = "local",
	.close = bl_close,
	.clean = bl_clean,
	.temp_open = bl_temp_open,
	.temp_write = bl_temp_write,
	.temp_read = bl_temp_read,
	.temp_finish = bl_temp_finish,
	.temp_commit = bl_temp_commit,
	.temp_discard = bl_temp_discard,
	.open_read = bl_open_read,
	.exists = bl_exists,
	.trash = bl_trash,
	.trash_empty = bl_trash_empty,
	.usage = bl_usage,
};

struct blob_store *blob_local_open(const char *dir, char *errbuf, size_t errlen)
{
	struct blob_local *b = calloc(1, sizeof(*b));
	char sub[PATH_MAX];
	const char *subs[] = {"", "/" BL_TMP, "/" BL_TRASH};
	int made;

	if (errbuf && errlen)
		errbuf[0] = '\0';
	if (b == NULL) {
		snprintf(errbuf, errlen, "out of memory");
		return NULL;
	}
	b->base.ops = &bl_ops;
	if (dir == NULL || (size_t)snprintf(b->root, sizeof(b->root), "%s/blobs", dir) >= sizeof(b->root)) {
		snprintf(errbuf, errlen, "blob store: data folder path too long");
		free(b);
		return NULL;
	}
	for (size_t i = 0; i < sizeof(subs) / sizeof(subs[0]); i++) {
		snprintf(sub, sizeof(sub), "%s%s", b->root, subs[i]);
		if (bl_mkdir(sub, &made) < 0) {
			snprintf(errbuf, errlen, "cannot create %s: %s", sub, strerror(errno));
			free(b);
			return NULL;
		}
	}
	return &b->base;
}
