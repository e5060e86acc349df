/*
 * sqlite_vfs.c — a VFS over SQLite's default one that writes a commit's WAL
 * frames with one system call instead of two per frame (contract in
 * store_sqlite_int.h, "the WAL write gatherer").
 *
 * SQLite writes each WAL frame as two pwrite calls, its 24-byte header and
 * then its page: a commit of 100 pages is 200 system calls, ~1.6 µs of CPU
 * per frame on this kind of machine against ~0.5 µs when the same bytes go
 * in one call (docs/store.md, "WAL writes").  Files opened as a WAL through
 * this VFS gather consecutive writes in a buffer and write it out, in calls
 * of up to 120 KiB (29 frames of 4 KiB pages):
 *
 * - after the page of a commit frame (a frame header whose "database size
 *   after commit" field is not 0), so a commit's frames are all in the file
 *   before SQLite publishes it in the WAL index, and before its sync;
 * - before any write that does not follow the buffered bytes, and when the
 *   buffer is full;
 * - before every other operation on the file (read, sync, truncate, size,
 *   file control, close).
 *
 * So the file, as this connection's own operations see it, always holds
 * what it would without the buffer, writes reach it in the order they were
 * made, and no other connection can read a frame it was told about that is
 * not yet in the file.  What can sit in the buffer is only the frames of a
 * transaction that has not committed: SQLite ignores such frames at
 * recovery anyway.  A failed write-out fails the write that caused it, as
 * the write itself would have.  Every other file (the database, its shared
 * memory, temporary files) passes straight through.
 */
#include <stdlib.h>
#include <string.h>

#include "store/store_sqlite_int.h"

/* Bytes per write of a write-out: the Unix VFS writes at most 128 KiB - 1
 * per call (it expects no write larger than a page, 64 KiB at most). */
#define SQ_VFS_CHUNK (120 * 1024)
#define SQ_VFS_BUF (4 * SQ_VFS_CHUNK) /* bytes gathered at most before a write-out */
#define SQ_WAL_HDR 32            /* the WAL file's own header */
#define SQ_FRAME_HDR 24          /* each frame's header, before its page */

struct sq_vfs_file {
	sqlite3_file base;   /* its methods: sq_vfs_methods */
	sqlite3_file *real;  /* the default VFS's file, stored right after this struct */
	int wal;             /* opened as a WAL: writes are gathered */
	int commit;          /* the last frame header gathered was a commit's */
	char *buf;           /* SQ_VFS_BUF bytes, sqlite3_malloc'd at the first write */
	sqlite3_int64 at;    /* file offset of buf[0] */
	size_t len;          /* bytes gathered */
};

#define REAL(f) (((struct sq_vfs_file *)(f))->real)
#define RM(f) (REAL(f)->pMethods)

/* Writes out what was gathered, in pieces of SQ_VFS_CHUNK. */
static int vf_flush(struct sq_vfs_file *f)
{
	size_t done = 0;
	int rc = SQLITE_OK;

	while (done < f->len && rc == SQLITE_OK) {
		size_t n = f->len - done < SQ_VFS_CHUNK ? f->len - done : SQ_VFS_CHUNK;

		rc = f->real->pMethods->xWrite(f->real, f->buf + done, (int)n, f->at + (sqlite3_int64)done);
		done += n;
	}
	f->len = 0;
	return rc;
}

static int vf_close(sqlite3_file *file)
{
	struct sq_vfs_file *f = (struct sq_vfs_file *)file;
	int rc = vf_flush(f), rc2 = SQLITE_OK;

	sqlite3_free(f->buf);
	f->buf = NULL;
	if (f->real->pMethods)
		rc2 = f->real->pMethods->xClose(f->real);
	return rc != SQLITE_OK ? rc : rc2;
}

static int vf_read(sqlite3_file *file, void *out, int n, sqlite3_int64 off)
{
	int rc = vf_flush((struct sq_vfs_file *)file);

	return rc != SQLITE_OK ? rc : RM(file)->xRead(REAL(file), out, n, off);
}

static int vf_write(sqlite3_file *file, const void *data, int n, sqlite3_int64 off)
{
	struct sq_vfs_file *f = (struct sq_vfs_file *)file;
	const unsigned char *d = data;
	int hdr = n == SQ_FRAME_HDR && off >= SQ_WAL_HDR;
	int commit_page = 0, rc;

	if (!f->wal || n <= 0)
		return RM(file)->xWrite(f->real, data, n, off);
	if (hdr) {
		/* A frame header: bytes 4-7 are the database size after a
		 * commit, 0 in the other frames.  Its page follows. */
		f->commit = (d[4] | d[5] | d[6] | d[7]) != 0;
	} else {
		commit_page = f->commit; /* the page of a commit frame: written out below */
		f->commit = 0;
	}
	if (f->len && (off != f->at + (sqlite3_int64)f->len || f->len + (size_t)n > SQ_VFS_BUF) &&
	    (rc = vf_flush(f)) != SQLITE_OK)
		return rc;
	if ((size_t)n > SQ_VFS_CHUNK || (!f->buf && !(f->buf = sqlite3_malloc(SQ_VFS_BUF))))
		return RM(file)->xWrite(f->real, data, n, off); /* too big to gather, or no memory: as is */
	if (!f->len)
		f->at = off;
	memcpy(f->buf + f->len, data, (size_t)n);
	f->len += (size_t)n;
	return commit_page ? vf_flush(f) : SQLITE_OK;
}

static int vf_truncate(sqlite3_file *file, sqlite3_int64 size)
{
	int rc = vf_flush((struct sq_vfs_file *)file);

	return rc != SQLITE_OK ? rc : RM(file)->xTruncate(REAL(file), size);
}

static int vf_sync(sqlite3_file *file, int flags)
{
	int rc = vf_flush((struct sq_vfs_file *)file);

	return rc != SQLITE_OK ? rc : RM(file)->xSync(REAL(file), flags);
}

static int vf_file_size(sqlite3_file *file, sqlite3_int64 *size)
{
	int rc = vf_flush((struct sq_vfs_file *)file);

	return rc != SQLITE_OK ? rc : RM(file)->xFileSize(REAL(file), size);
}

static int vf_lock(sqlite3_file *file, int lock)
{
	return RM(file)->xLock(REAL(file), lock);
}

static int vf_unlock(sqlite3_file *file, int lock)
{
	return RM(file)->xUnlock(REAL(file), lock);
}

static int vf_check_reserved(sqlite3_file *file, int *out)
{
	return RM(file)->xCheckReservedLock(REAL(file), out);
}

static int vf_file_control(sqlite3_file *file, int op, void *arg)
{
	int rc = vf_flush((struct sq_vfs_file *)file);

	return rc != SQLITE_OK ? rc : RM(file)->xFileControl(REAL(file), op, arg);
}

static int vf_sector_size(sqlite3_file *file)
{
	return RM(file)->xSectorSize(REAL(file));
}

static int vf_device_characteristics(sqlite3_file *file)
{
	return RM(file)->xDeviceCharacteristics(REAL(file));
}

static int vf_shm_map(sqlite3_file *file, int region, int size, int extend, void volatile **out)
{
	return RM(file)->xShmMap(REAL(file), region, size, extend, out);
}

static int vf_shm_lock(sqlite3_file *file, int offset, int n, int flags)
{
	return RM(file)->xShmLock(REAL(file), offset, n, flags);
}

static void vf_shm_barrier(sqlite3_file *file)
{
	RM(file)->xShmBarrier(REAL(file));
}

static int vf_shm_unmap(sqlite3_file *file, int delete_flag)
{
	return RM(file)->xShmUnmap(REAL(file), delete_flag);
}

static int vf_fetch(sqlite3_file *file, sqlite3_int64 off, int n, void **out)
{
	return RM(file)->xFetch(REAL(file), off, n, out);
}

static int vf_unfetch(sqlite3_file *file, sqlite3_int64 off, void *p)
{
	return RM(file)->xUnfetch(REAL(file), off, p);
}

/* For a file whose methods are of version 3 (the default VFS's on Unix);
 * the others get a table of their own version (vf_open). */
static const sqlite3_io_methods sq_vfs_methods[4] = {
	[1] = {1, vf_close, vf_read, vf_write, vf_truncate, vf_sync, vf_file_size, vf_lock, vf_unlock,
	       vf_check_reserved, vf_file_control, vf_sector_size, vf_device_characteristics},
	[2] = {2, vf_close, vf_read, vf_write, vf_truncate, vf_sync, vf_file_size, vf_lock, vf_unlock,
	       vf_check_reserved, vf_file_control, vf_sector_size, vf_device_characteristics, vf_shm_map,
	       vf_shm_lock, vf_shm_barrier, vf_shm_unmap},
	[3] = {3, vf_close, vf_read, vf_write, vf_truncate, vf_sync, vf_file_size, vf_lock, vf_unlock,
	       vf_check_reserved, vf_file_control, vf_sector_size, vf_device_characteristics, vf_shm_map,
	       vf_shm_lock, vf_shm_barrier, vf_shm_unmap, vf_fetch, vf_unfetch},
};

static sqlite3_vfs *vf_real(sqlite3_vfs *vfs)
{
	return vfs->pAppData;
}

static int vf_open(sqlite3_vfs *vfs, const char *name, sqlite3_file *file, int flags, int *out_flags)
{
	struct sq_vfs_file *f = (struct sq_vfs_file *)file;
	int rc, v;

	memset(f, 0, sizeof *f);
	f->real = (sqlite3_file *)(f + 1);
	f->wal = (flags & SQLITE_OPEN_WAL) != 0;
	rc = vf_real(vfs)->xOpen(vf_real(vfs), name, f->real, flags, out_flags);
	if (rc != SQLITE_OK && f->real->pMethods) {
		f->real->pMethods->xClose(f->real);
		f->real->pMethods = NULL;
	}
	if (!f->real->pMethods)
		return rc; /* a file left without methods: SQLite calls none */
	v = f->real->pMethods->iVersion;
	f->base.pMethods = &sq_vfs_methods[v < 1 ? 1 : v > 3 ? 3 : v];
	return rc;
}

static int vf_delete(sqlite3_vfs *vfs, const char *name, int sync_dir)
{
	return vf_real(vfs)->xDelete(vf_real(vfs), name, sync_dir);
}

static int vf_access(sqlite3_vfs *vfs, const char *name, int flags, int *out)
{
	return vf_real(vfs)->xAccess(vf_real(vfs), name, flags, out);
}

static int vf_full_pathname(sqlite3_vfs *vfs, const char *name, int n, char *out)
{
	return vf_real(vfs)->xFullPathname(vf_real(vfs), name, n, out);
}

static void *vf_dl_open(sqlite3_vfs *vfs, const char *name)
{
	return vf_real(vfs)->xDlOpen(vf_real(vfs), name);
}

static void vf_dl_error(sqlite3_vfs *vfs, int n, char *out)
{
	vf_real(vfs)->xDlError(vf_real(vfs), n, out);
}

static void (*vf_dl_sym(sqlite3_vfs *vfs, void *lib, const char *sym))(void)
{
	return vf_real(vfs)->xDlSym(vf_real(vfs), lib, sym);
}

static void vf_dl_close(sqlite3_vfs *vfs, void *lib)
{
	vf_real(vfs)->xDlClose(vf_real(vfs), lib);
}

static int vf_randomness(sqlite3_vfs *vfs, int n, char *out)
{
	return vf_real(vfs)->xRandomness(vf_real(vfs), n, out);
}

static int vf_sleep(sqlite3_vfs *vfs, int us)
{
	return vf_real(vfs)->xSleep(vf_real(vfs), us);
}

static int vf_current_time(sqlite3_vfs *vfs, double *out)
{
	return vf_real(vfs)->xCurrentTime(vf_real(vfs), out);
}

static int vf_last_error(sqlite3_vfs *vfs, int n, char *out)
{
	return vf_real(vfs)->xGetLastError(vf_real(vfs), n, out);
}

static int vf_current_time64(sqlite3_vfs *vfs, sqlite3_int64 *out)
{
	return vf_real(vfs)->xCurrentTimeInt64(vf_real(vfs), out);
}

int store_sqlite_vfs_register(void)
{
	sqlite3_vfs *real, *vfs;

	if (sqlite3_vfs_find(STORE_SQLITE_VFS))
		return 0;
	if (!(real = sqlite3_vfs_find(NULL)) || real->iVersion < 2)
		return PL_IO;
	/* Registered for the life of the process: SQLite keeps the pointer. */
	if (!(vfs = calloc(1, sizeof *vfs)))
		return PL_NOMEM;
	vfs->iVersion = 2;
	vfs->szOsFile = (int)sizeof(struct sq_vfs_file) + real->szOsFile;
	vfs->mxPathname = real->mxPathname;
	vfs->zName = STORE_SQLITE_VFS;
	vfs->pAppData = real;
	vfs->xOpen = vf_open;
	vfs->xDelete = vf_delete;
	vfs->xAccess = vf_access;
	vfs->xFullPathname = vf_full_pathname;
	vfs->xDlOpen = vf_dl_open;
	vfs->xDlError = vf_dl_error;
	vfs->xDlSym = vf_dl_sym;
	vfs->xDlClose = vf_dl_close;
	vfs->xRandomness = vf_randomness;
	vfs->xSleep = vf_sleep;
	vfs->xCurrentTime = vf_current_time;
	vfs->xGetLastError = vf_last_error;
	vfs->xCurrentTimeInt64 = vf_current_time64;
	if (sqlite3_vfs_register(vfs, 0) != SQLITE_OK) {
		free(vfs);
		return PL_IO;
	}
	return 0;
}
