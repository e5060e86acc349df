/*
 * media.c — files in messages: who may see a file, sending photos and
 * files, processing an upload into what is stored, registering it around
 * the move of its bytes, and collecting unreferenced blobs (core.h, "media";
 * docs/media.md).
 *
 * The rule of access is in one place, core_file_get(): the uploader, or
 * anyone core_access() lets read a chat where a message not deleted for
 * everyone holds the file.  The rule of storage is in the store's schema:
 * a blob's reference count is the number of such messages' files
 * (triggers), and a blob becomes collectable only once that count is 0 and
 * the grace period has passed since.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <sodium.h>

#include "core/core.h"
#include "core/core_int.h"
#include "media/media.h"
#include "store/blob.h"
#include "util/utf8.h"

#define MEDIA_FILE_ID_BYTES 18   /* random bytes of a file_id: 24 characters */
#define MEDIA_UNIQUE_BYTES 12    /* hash bytes of a file_unique_id: 16 characters */
#define MEDIA_FILE_ID_TRIES 4
#define MEDIA_GC_BATCH_MAX 1000

/* ---- names and ids ------------------------------------------------------------ */

void core_file_unique_id(const char *sha256, char out[CORE_FILE_UNIQUE_SZ])
{
	unsigned char bin[BLOB_SHA256_LEN];
	size_t n = 0;

	if (sodium_hex2bin(bin, sizeof(bin), sha256, strlen(sha256), NULL, &n, NULL) != 0 || n < MEDIA_UNIQUE_BYTES)
		memset(bin, 0, sizeof(bin));
	sodium_bin2base64(out, CORE_FILE_UNIQUE_SZ, bin, MEDIA_UNIQUE_BYTES, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
}

void core_file_id_new(char out[STORE_FILE_ID_SZ])
{
	unsigned char r[MEDIA_FILE_ID_BYTES];

	randombytes_buf(r, sizeof(r));
	sodium_bin2base64(out, STORE_FILE_ID_SZ, r, sizeof(r), sodium_base64_VARIANT_URLSAFE_NO_PADDING);
}

/* Length of the valid UTF-8 sequence at s (1-4), or 0 if there is none;
 * *cp gets its code point. */
static size_t media_utf8_seq(const unsigned char *s, uint32_t *cp)
{
	size_t n;
	uint32_t c;

	if (s[0] < 0x80) {
		*cp = s[0];
		return 1;
	}
	if (s[0] >= 0xC2 && s[0] <= 0xDF) {
		n = 2;
		c = s[0] & 0x1F;
	} else if (s[0] >= 0xE0 && s[0] <= 0xEF) {
		n = 3;
		c = s[0] & 0x0F;
	} else if (s[0] >= 0xF0 && s[0] <= 0xF4) {
		n = 4;
		c = s[0] & 0x07;
	} else {
		return 0;
	}
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xC0) != 0x80)
			return 0;
		c = c << 6 | (s[i] & 0x3F);
	}
	if ((n == 3 && c < 0x800) || (n == 4 && (c < 0x10000 || c > 0x10FFFF)) || (c >= 0xD800 && c <= 0xDFFF))
		return 0;
	*cp = c;
	return n;
}

void core_file_name_clean(const char *in, char out[STORE_FILE_NAME_SZ])
{
	const unsigned char *p = (const unsigned char *)(in ? in : "");
	size_t n = 0, chars = 0, start = 0;

	while (*p && chars < PL_FILE_NAME_MAX) {
		uint32_t cp = 0;
		size_t k = media_utf8_seq(p, &cp);

		/* Bytes that are not UTF-8, control characters, path separators
		 * and the bidirectional overrides that disguise an extension
		 * ("gpj.exe" shown backwards) become '_'. */
		if (k == 0 || cp < 0x20 || cp == 0x7f || cp == '/' || cp == '\\' || (cp >= 0x202A && cp <= 0x202E) ||
		    (cp >= 0x2066 && cp <= 0x2069) || (cp >= 0x80 && cp < 0xA0)) {
			out[n++] = '_';
			p += k ? k : 1;
		} else {
			memcpy(out + n, p, k);
			n += k;
			p += k;
		}
		chars++;
	}
	out[n] = '\0';
	/* No leading or trailing dots and spaces ("..", ".hidden", "name. "). */
	while (out[start] == '.' || out[start] == ' ')
		start++;
	while (n > start && (out[n - 1] == '.' || out[n - 1] == ' '))
		out[--n] = '\0';
	if (start > 0)
		memmove(out, out + start, n - start + 1);
}

static const char *media_kind_dir(int kind)
{
	switch (kind) {
	case STORE_FILE_PHOTO: return "photos";
	case STORE_FILE_VOICE: return "voice";
	case STORE_FILE_VIDEO: return "videos";
	default: return "documents";
	}
}

void core_file_path(const struct store_file *f, char *out, size_t len)
{
	snprintf(out, len, "%s/%s.%s", media_kind_dir(f->kind), f->file_id, media_mime_ext(f->mime));
}

int core_file_path_id(const char *path, char out[STORE_FILE_ID_SZ])
{
	const char *base = strrchr(path, '/');
	size_t n;

	base = base ? base + 1 : path;
	n = strcspn(base, ".");
	if (n == 0 || n >= STORE_FILE_ID_SZ || strspn(base, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") < n)
		return PL_INVAL;
	memcpy(out, base, n);
	out[n] = '\0';
	return 0;
}

/* ---- access ------------------------------------------------------------------------ */

struct media_ids {
	int64_t v[PL_FILE_CHATS_CHECKED];
	size_t n;
};

static int media_collect_id(void *ctx, int64_t id)
{
	struct media_ids *l = ctx;

	if (l->n >= PL_FILE_CHATS_CHECKED)
		return 1;
	l->v[l->n++] = id;
	return 0;
}

/* Is the blob of f kept (live)? 1, 0, or a negative pl_err. */
static int media_blob_live(struct core_tx *tx, const char *sha256)
{
	struct store_blob b;
	int rc = store_blob_get(tx->s, sha256, &b);

	if (rc == PL_NOTFOUND)
		return 0;
	return rc < 0 ? rc : b.state == STORE_BLOB_LIVE;
}

int core_file_get(struct core_tx *tx, const char *file_id, struct store_file *out)
{
	struct media_ids chats;
	struct store_chat c;
	struct core_access a;
	int rc;

	rc = store_file_get(tx->s, file_id, out);
	if (rc == 0 && (rc = media_blob_live(tx, out->sha256)) == 0)
		rc = PL_NOTFOUND; /* collected, or not yet placed */
	if (rc == PL_NOTFOUND)
		return core_fail(tx, PL_NOTFOUND, PLC_FILE_ID_INVALID, "no file with this file_id");
	if (rc < 0)
		return core_fail(tx, rc, PLC_INTERNAL, "file lookup failed");
	if (tx->uid && out->uploader_id == tx->uid)
		return 0;
	chats.n = 0;
	if ((rc = store_file_chats(tx->s, out->id, PL_FILE_CHATS_CHECKED, media_collect_id, &chats)) < 0)
		return core_fail(tx, rc, PLC_INTERNAL, "file lookup failed");
	for (size_t i = 0; i < chats.n; i++) {
		if (store_chat_get(tx->s, chats.v[i], &c) < 0)
			continue;
		rc = core_access(tx, &c, &a);
		tx->code = 0; /* a banned chat is just not one that grants access */
		tx->detail[0] = '\0';
		if (rc == 0 && a.can_read)
			return 0;
	}
	return core_fail(tx, PL_DENIED, PLC_FILE_FORBIDDEN, "this file is in no chat you can read");
}

struct media_files {
	struct store_file *v;
	size_t n, max;
};

static int media_collect_file(void *ctx, const struct store_file *f)
{
	struct media_files *l = ctx;

	if (l->n >= l->max)
		return 1;
	l->v[l->n++] = *f;
	return 0;
}

int core_file_set(struct core_tx *tx, const struct store_file *f, struct store_file *out, size_t *n)
{
	struct media_files l = {out, 0, MEDIA_PHOTO_SIZES_MAX};
	int rc;

	*n = 0;
	if (f->kind != STORE_FILE_PHOTO || f->group_id == 0) {
		out[0] = *f;
		*n = 1;
		return 0;
	}
	if ((rc = store_file_group(tx->s, f->group_id, media_collect_file, &l)) < 0)
		return core_fail(tx, rc, PLC_INTERNAL, "file lookup failed");
	if (l.n == 0)
		return core_fail(tx, PL_NOTFOUND, PLC_FILE_ID_INVALID, "no file with this file_id");
	*n = l.n;
	return 0;
}

/* ---- messages with files ----------------------------------------------------------- */

/* A stored file about to be used in a message: still kept, and allowed by
 * the upload chain (a hash bank may have learnt of it since). */
static int media_check_use(struct core_tx *tx, const struct store_file *f)
{
	struct safety_upload u = {tx->uid, f->kind, f->sha256, (uint64_t)f->size, f->mime, NULL, 0, 0};
	struct safety_result r;
	int rc = media_blob_live(tx, f->sha256);

	if (rc < 0)
		return core_fail(tx, rc, PLC_INTERNAL, "file lookup failed");
	if (rc == 0)
		return core_fail(tx, PL_NOTFOUND, PLC_FILE_ID_INVALID, "the file %s is no longer kept", f->file_id);
	if (safety_upload_chain_run(&tx->core->media.chain, &u, &r) != SAFETY_ALLOW)
		return core_fail(tx, PL_DENIED, r.code, "%s", r.reason[0] ? r.reason : "refused by policy");
	return 0;
}

int core_media_send(struct core_tx *tx, struct core_access *a, const struct store_file *files, size_t n,
		    const char *caption, int64_t reply_to, struct store_message *out)
{
	long chars;
	int rc;

	memset(out, 0, sizeof(*out));
	if (n == 0 || n > MEDIA_PHOTO_SIZES_MAX)
		return core_fail(tx, PL_INVAL, PLC_FILE_ID_INVALID, "no file to send");
	if ((rc = core_post_check(tx, a)) < 0)
		return rc;
	if (caption == NULL)
		caption = "";
	if ((chars = utf8_count(caption, strlen(caption))) < 0)
		return core_fail(tx, PL_INVAL, PLC_TEXT_INVALID_UTF8, "the caption is not valid UTF-8");
	if (chars > PL_CAPTION_MAX)
		return core_fail(tx, PL_TOOBIG, PLC_MEDIA_CAPTION_TOO_LONG, "%ld characters; the limit is %d", chars,
				 PL_CAPTION_MAX);
	if (reply_to) {
		struct store_message r;

		if ((rc = core_message_get(tx, a, reply_to, &r)) < 0)
			return rc;
		store_message_release(&r);
	}
	/* The message chain sees the caption ("" for none): flood limits
	 * count a photo like any message. */
	if ((rc = core_text_safety(tx, a, caption)) < 0)
		return rc;
	for (size_t i = 0; i < n; i++)
		if ((rc = media_check_use(tx, &files[i])) < 0)
			return rc;
	out->chat_id = a->chat.id;
	out->sender_id = tx->uid;
	out->date = tx->now;
	out->reply_to_id = reply_to;
	if ((out->text = strdup(caption)) == NULL)
		return core_fail(tx, PL_NOMEM, PLC_INTERNAL, "out of memory");
	if ((rc = core_message_append(tx, a, out)) < 0)
		return rc;
	for (size_t i = 0; i < n; i++)
		if ((rc = store_media_attach(tx->s, a->chat.id, out->id, (int)i, files[i].id)) < 0)
			return core_fail(tx, rc, PLC_INTERNAL, "could not attach the file");
	return 0;
}

int core_media_copy(struct core_tx *tx, int64_t src_chat, int64_t src_id, int64_t dst_chat, int64_t dst_id)
{
	struct store_file files[MEDIA_PHOTO_SIZES_MAX];
	struct media_files l = {files, 0, MEDIA_PHOTO_SIZES_MAX};
	int rc;

	if ((rc = store_media_list(tx->s, src_chat, src_id, media_collect_file, &l)) < 0)
		return core_fail(tx, rc, PLC_INTERNAL, "media lookup failed");
	for (size_t i = 0; i < l.n; i++)
		if ((rc = media_check_use(tx, &files[i])) < 0)
			return rc;
	for (size_t i = 0; i < l.n; i++)
		if ((rc = store_media_attach(tx->s, dst_chat, dst_id, (int)i, files[i].id)) < 0)
			return core_fail(tx, rc, PLC_INTERNAL, "could not attach the file");
	return 0;
}

static int media_stop(void *ctx, const struct store_file *f)
{
	return 1;
}

int core_message_has_media(struct core_tx *tx, int64_t chat_id, int64_t msg_id)
{
	return store_media_list(tx->s, chat_id, msg_id, media_stop, NULL);
}

/* ---- uploads ---------------------------------------------------------------------- */

/* Is a sniffed type right for kind? */
static int media_type_ok(int kind, const char *mime)
{
	switch (kind) {
	case STORE_FILE_PHOTO:
		return media_image_type(mime);
	case STORE_FILE_VOICE:
		return !strncasecmp(mime, "audio/", 6) || !strcasecmp(mime, "application/ogg") ||
		       !strcasecmp(mime, "video/webm");
	case STORE_FILE_VIDEO:
		return !strncasecmp(mime, "video/", 6);
	default:
		return 1;
	}
}

static int media_kind_ok(int kind)
{
	return kind == STORE_FILE_PHOTO || kind == STORE_FILE_DOCUMENT || kind == STORE_FILE_VOICE ||
	       kind == STORE_FILE_VIDEO;
}

void core_upload_release(struct core_upload *up)
{
	for (size_t i = 0; i < up->n; i++) {
		blob_temp_discard(up->items[i].temp);
		up->items[i].temp = NULL;
	}
	up->n = 0;
}

/* Runs the upload chain over what was uploaded. */
static int media_upload_check(struct core_tx *tx, int kind, const char *sha256, uint64_t size, const char *mime,
			      const struct media_image *img)
{
	struct safety_upload u = {tx->uid, kind, sha256, size, mime, img ? img->rgb : NULL, img ? img->width : 0,
				  img ? img->height : 0};
	struct safety_result r;

	if (safety_upload_chain_run(&tx->core->media.chain, &u, &r) == SAFETY_ALLOW)
		return 0;
	return core_fail(tx, PL_DENIED, r.code, "%s", r.reason[0] ? r.reason : "refused by policy");
}

/* Decodes the photo in orig, checks it, and puts its sizes into out. */
static int media_upload_photo(struct core_tx *tx, struct blob_temp *orig, const char *sha256, uint64_t size,
			      const char *mime, struct core_upload *out)
{
	const struct core_media *cm = &tx->core->media;
	struct media_image img = {NULL, 0, 0};
	struct media_photo ph = {0};
	unsigned char *data = NULL;
	char err[256] = "";
	size_t got = 0;
	int rc;

	if ((data = malloc(size)) == NULL)
		return core_fail(tx, PL_NOMEM, PLC_INTERNAL, "out of memory");
	if ((rc = blob_temp_read(orig, 0, data, size, &got)) < 0 || got != size) {
		free(data);
		return core_fail(tx, rc < 0 ? rc : PL_IO, PLC_INTERNAL, "could not read the upload back");
	}
	rc = media_image_decode(data, size, mime, cm->photo_max_pixels, cm->photo_max_side, &img, NULL, NULL, err,
				sizeof(err));
	free(data);
	if (rc == PL_TOOBIG)
		return core_fail(tx, rc, PLC_PHOTO_INVALID_DIMENSIONS, "%s", err);
	if (rc == PL_NOMEM)
		return core_fail(tx, rc, PLC_INTERNAL, "out of memory");
	if (rc < 0)
		return core_fail(tx, rc, PLC_PHOTO_INVALID, "%s", err);
	if ((rc = media_upload_check(tx, STORE_FILE_PHOTO, sha256, size, mime, &img)) < 0)
		goto out;
	if ((rc = media_photo_sizes(&img, cm->photo_max_side, &ph)) < 0) {
		rc = core_fail(tx, rc, PLC_INTERNAL, "could not encode the photo");
		goto out;
	}
	for (size_t i = 0; i < ph.n; i++) {
		struct core_upload_item *it = &out->items[out->n];
		uint64_t sz = 0;

		if ((rc = blob_temp_open(cm->blobs, &it->temp)) < 0)
			goto store_fail;
		out->n++;
		if ((rc = blob_temp_write(it->temp, ph.sizes[i].jpeg, ph.sizes[i].len)) < 0 ||
		    (rc = blob_temp_finish(it->temp, it->file.sha256, &sz)) < 0)
			goto store_fail;
		it->file.kind = STORE_FILE_PHOTO;
		snprintf(it->file.mime, sizeof(it->file.mime), "image/jpeg");
		it->file.size = (int64_t)sz;
		it->file.width = ph.sizes[i].width;
		it->file.height = ph.sizes[i].height;
	}
	rc = 0;
	goto out;
store_fail:
	rc = core_fail(tx, rc, rc == PL_TOOBIG ? PLC_SERVER_BUSY : PLC_INTERNAL, "could not store the photo");
out:
	media_photo_release(&ph);
	media_image_release(&img);
	return rc;
}

int core_upload_process(struct core_tx *tx, int kind, struct blob_temp *orig, const char *name, int64_t duration,
			struct core_upload *out)
{
	const struct core_media *cm = &tx->core->media;
	char sha256[BLOB_HEX_SZ], mime[MEDIA_MIME_MAX];
	unsigned char *head = NULL;
	uint64_t size = 0, max;
	size_t want, got = 0;
	int rc;

	memset(out, 0, sizeof(*out));
	if (!media_kind_ok(kind)) {
		rc = core_fail(tx, PL_INVAL, PLC_PARAM_INVALID, "unknown kind of file");
		goto fail;
	}
	if ((rc = blob_temp_finish(orig, sha256, &size)) < 0) {
		rc = core_fail(tx, rc, rc == PL_TOOBIG ? PLC_SERVER_BUSY : PLC_INTERNAL, "could not store the upload");
		goto fail;
	}
	if (size == 0) {
		rc = core_fail(tx, PL_INVAL, PLC_FILE_EMPTY, "the file has no bytes");
		goto fail;
	}
	max = kind == STORE_FILE_PHOTO ? cm->photo_max_bytes : cm->file_max_bytes;
	if (size > max) {
		rc = core_fail(tx, PL_TOOBIG, PLC_FILE_TOO_BIG, "%llu bytes; the limit is %llu",
			       (unsigned long long)size, (unsigned long long)max);
		goto fail;
	}
	want = size < MEDIA_SNIFF_BYTES ? (size_t)size : MEDIA_SNIFF_BYTES;
	if ((head = malloc(want)) == NULL) {
		rc = core_fail(tx, PL_NOMEM, PLC_INTERNAL, "out of memory");
		goto fail;
	}
	if ((rc = blob_temp_read(orig, 0, head, want, &got)) < 0) {
		rc = core_fail(tx, rc, PLC_INTERNAL, "could not read the upload back");
		goto fail;
	}
	media_sniff(cm->sniffer, head, got, mime);
	free(head);
	head = NULL;
	if (!media_type_ok(kind, mime)) {
		rc = core_fail(tx, PL_INVAL, PLC_FILE_TYPE_INVALID, "%s is not accepted as a %s",
			       mime, kind == STORE_FILE_PHOTO ? "photo (JPEG, PNG or WebP)"
				     : kind == STORE_FILE_VOICE ? "voice note (audio)" : "video");
		goto fail;
	}
	if (kind == STORE_FILE_PHOTO) {
		rc = media_upload_photo(tx, orig, sha256, size, mime, out);
		blob_temp_discard(orig); /* never kept: its metadata goes with it */
		if (rc < 0)
			core_upload_release(out);
		return rc;
	}
	if ((rc = media_upload_check(tx, kind, sha256, size, mime, NULL)) < 0)
		goto fail;
	out->n = 1;
	out->items[0].temp = orig;
	out->items[0].file.kind = kind;
	memcpy(out->items[0].file.sha256, sha256, sizeof(sha256));
	snprintf(out->items[0].file.mime, sizeof(out->items[0].file.mime), "%s", mime);
	core_file_name_clean(name, out->items[0].file.name);
	out->items[0].file.size = (int64_t)size;
	out->items[0].file.duration = duration;
	return 0;
fail:
	free(head);
	blob_temp_discard(orig);
	return rc;
}

int core_upload_reserve(struct core_tx *tx, struct core_upload *up)
{
	int rc;

	for (size_t i = 0; i < up->n; i++) {
		struct core_upload_item *it = &up->items[i];

		if ((rc = store_blob_reserve(tx->s, it->file.sha256, it->file.size, tx->now, &it->need)) < 0)
			return core_fail(tx, rc, PLC_INTERNAL, "could not record the upload");
	}
	return 0;
}

int core_upload_place(struct core *c, struct core_upload *up)
{
	int rc = 0, rc1;

	for (size_t i = 0; i < up->n; i++) {
		struct core_upload_item *it = &up->items[i];

		if (it->temp == NULL)
			continue;
		if (it->need && rc == 0) {
			rc1 = blob_temp_commit(it->temp); /* frees it */
			if (rc1 < 0)
				rc = rc1;
		} else {
			blob_temp_discard(it->temp);
		}
		it->temp = NULL;
	}
	return rc;
}

int core_upload_publish(struct core_tx *tx, struct core_upload *up)
{
	int64_t group = 0;
	int rc;

	for (size_t i = 0; i < up->n; i++) {
		struct store_file *f = &up->items[i].file;

		rc = store_blob_publish(tx->s, f->sha256);
		if (rc == PL_NOTFOUND)
			return core_fail(tx, PL_BUSY, PLC_SERVER_BUSY,
					 "the upload took longer than the storage grace period; send it again");
		if (rc < 0)
			return core_fail(tx, rc, PLC_INTERNAL, "could not record the upload");
		f->uploader_id = tx->uid;
		f->created_at = tx->now;
		for (int t = 0; t < MEDIA_FILE_ID_TRIES; t++) {
			core_file_id_new(f->file_id);
			if ((rc = store_file_put(tx->s, f)) != PL_EXISTS)
				break;
		}
		if (rc < 0)
			return core_fail(tx, rc, PLC_INTERNAL, "could not record the file");
	}
	/* A photo's sizes are one group, named by the largest. */
	if (up->n > 0 && up->items[0].file.kind == STORE_FILE_PHOTO) {
		group = up->items[up->n - 1].file.id;
		for (size_t i = 0; i < up->n; i++) {
			if ((rc = store_file_set_group(tx->s, up->items[i].file.id, group)) < 0)
				return core_fail(tx, rc, PLC_INTERNAL, "could not record the photo");
			up->items[i].file.group_id = group;
		}
	}
	return 0;
}

/* ---- collecting -------------------------------------------------------------------- */

struct media_dying {
	char (*sha)[BLOB_HEX_SZ];
	size_t n, max;
};

static int media_collect_dying(void *ctx, const struct store_blob *b)
{
	struct media_dying *d = ctx;

	if (d->n >= d->max)
		return 1;
	memcpy(d->sha[d->n++], b->sha256, BLOB_HEX_SZ);
	return 0;
}

int core_media_gc(struct core_tx *tx, int limit, int64_t *removed, int64_t *marked)
{
	struct media_dying d = {NULL, 0, 0};
	int rc = 0;

	*removed = *marked = 0;
	if (limit <= 0 || limit > MEDIA_GC_BATCH_MAX)
		limit = MEDIA_GC_BATCH_MAX;
	if ((d.sha = malloc(sizeof(*d.sha) * (size_t)limit)) == NULL)
		return core_fail(tx, PL_NOMEM, PLC_INTERNAL, "out of memory");
	d.max = (size_t)limit;
	if ((rc = store_blob_gc_dying(tx->s, limit, media_collect_dying, &d)) < 0)
		goto out;
	for (size_t i = 0; i < d.n; i++) {
		/* Bytes first: a crash in between leaves a dying row whose
		 * bytes are gone, which the next run finishes. */
		if ((rc = blob_trash(tx->core->media.blobs, d.sha[i])) < 0)
			goto out;
		if ((rc = store_blob_delete(tx->s, d.sha[i])) < 0 && rc != PL_NOTFOUND)
			goto out;
		(*removed)++;
	}
	rc = store_blob_gc_mark(tx->s, tx->now - tx->core->media.grace, limit, marked);
out:
	free(d.sha);
	return rc < 0 ? core_fail(tx, rc, PLC_INTERNAL, "collecting unreferenced files failed") : 0;
}
