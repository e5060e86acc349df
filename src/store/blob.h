/*
 * blob.h — Parley's blob store: the bytes of uploaded files, content-
 * addressed by SHA-256, beside the database (store.h) that counts who refers
 * to them.
 *
 * A backend is a table of function pointers (struct blob_ops, versioned);
 * every blob store begins with a pointer to its ops, as store.h's backends
 * do, and callers use the static inline blob_*() wrappers.  blob_local.c is
 * the first backend: files under DATA/blobs/ab/cd/<sha256>; an object store
 * can implement the same table later.
 *
 * Writing.  An upload is written into a temporary object (blob_temp_open,
 * _write ...) that hashes what it is given; blob_temp_finish makes it
 * durable (fsync) and names its SHA-256; blob_temp_commit then moves it to
 * its content address in one atomic step (rename), so a blob is never seen
 * half written, and writing the same bytes twice just replaces a blob with
 * an identical one.  A crash leaves at most temporary objects, which
 * blob_clean removes at start-up.
 *
 * Deleting.  blob_trash moves a blob out of its address in one atomic step
 * (cheap: the writer thread may call it while it holds the transaction that
 * deletes the blob's row); blob_trash_empty then deletes the trashed bytes
 * (slow for big files: on a worker thread).  blob_clean empties the trash
 * too.
 *
 * Reading.  blob_open_read gives a file descriptor (the local backend's own;
 * another backend would hand out a local copy) for the net layer to stream.
 *
 * Threads: every op may run on any thread; a blob_temp is used by one
 * thread at a time.  None runs on the loop thread (they touch the disk).
 * Errors: 0 or a negative enum pl_err (PL_IO with errno-derived detail in
 * nothing but the log: callers report "storage failed"); PL_NOTFOUND for a
 * blob that is not there.
 */
#ifndef PL_STORE_BLOB_H
#define PL_STORE_BLOB_H

#include <stddef.h>
#include <stdint.h>

#include "util/err.h"

#define BLOB_OPS_VERSION 1
#define BLOB_SHA256_LEN 32
#define BLOB_HEX_SZ 65 /* a SHA-256 in lower-case hex, NUL included */

struct blob_store;
struct blob_temp;

struct blob_ops {
	int version; /* BLOB_OPS_VERSION */
	const char *name;

	void (*close)(struct blob_store *b);
	/* Removes what a crash can leave: temporary objects and the trash.
	 * Start-up only, before uploads run.  *removed (may be NULL) counts. */
	int (*clean)(struct blob_store *b, int64_t *removed);

	/* A new temporary object; *out is freed by temp_commit or temp_discard. */
	int (*temp_open)(struct blob_store *b, struct blob_temp **out);
	/* Appends len bytes and hashes them. */
	int (*temp_write)(struct blob_temp *t, const void *data, size_t len);
	/* Reads back len bytes at off of what was written (after finish too);
	 * *got is what there was. */
	int (*temp_read)(struct blob_temp *t, uint64_t off, void *buf, size_t len, size_t *got);
	/* Makes the object durable and gives its SHA-256 (hex) and size.  No
	 * write after it. */
	int (*temp_finish)(struct blob_temp *t, char hex[BLOB_HEX_SZ], uint64_t *size);
	/* Moves a finished object to its content address (replacing an
	 * identical blob), durably.  Frees t whatever happens. */
	int (*temp_commit)(struct blob_temp *t);
	/* Deletes the object and frees t.  t may be NULL. */
	void (*temp_discard)(struct blob_temp *t);

	/* Opens blob hex for reading: *fd (the caller closes it) and *size. */
	int (*open_read)(struct blob_store *b, const char *hex, int *fd, uint64_t *size);
	/* Is blob hex there?  1, 0 or a negative error. */
	int (*exists)(struct blob_store *b, const char *hex);
	/* Moves blob hex out of its address into the trash (not there: 0). */
	int (*trash)(struct blob_store *b, const char *hex);
	/* Deletes what is in the trash.  *removed (may be NULL) counts. */
	int (*trash_empty)(struct blob_store *b, int64_t *removed);
	/* Blobs stored and their bytes, by walking the store (tests, operators). */
	int (*usage)(struct blob_store *b, int64_t *count, int64_t *bytes);
};

struct blob_store {
	const struct blob_ops *ops;
};

/* Opens (creating) the local store under dir/blobs.  NULL on failure with
 * a message in errbuf.  Close with blob_close(). */
struct blob_store *blob_local_open(const char *dir, char *errbuf, size_t errlen);

/* Is s a SHA-256 in lower-case hex (64 of [0-9a-f])? */
int blob_hex_valid(const char *s);

static inline void blob_close(struct blob_store *b) { if (b) b->ops->close(b); }
static inline int blob_clean(struct blob_store *b, int64_t *n) { return b->ops->clean(b, n); }
static inline int blob_temp_open(struct blob_store *b, struct blob_temp **t) { return b->ops->temp_open(b, t); }
int blob_temp_write(struct blob_temp *t, const void *data, size_t len);
int blob_temp_read(struct blob_temp *t, uint64_t off, void *buf, size_t len, size_t *got);
int blob_temp_finish(struct blob_temp *t, char hex[BLOB_HEX_SZ], uint64_t *size);
int blob_temp_commit(struct blob_temp *t);
void blob_temp_discard(struct blob_temp *t);
static inline int blob_open_read(struct blob_store *b, const char *h, int *fd, uint64_t *size) { return b->ops->open_read(b, h, fd, size); }
static inline int blob_exists(struct blob_store *b, const char *h) { return b->ops->exists(b, h); }
static inline int blob_trash(struct blob_store *b, const char *h) { return b->ops->trash(b, h); }
static inline int blob_trash_empty(struct blob_store *b, int64_t *n) { return b->ops->trash_empty(b, n); }
static inline int blob_usage(struct blob_store *b, int64_t *count, int64_t *bytes) { return b->ops->usage(b, count, bytes); }

/* Every backend's temporary object begins with this, so the wrappers above
 * can find the ops from a struct blob_temp alone. */
struct blob_temp_base {
	const struct blob_ops *ops;
};

#endif
