/*
 * media.h — what Parley does with the bytes of an upload, apart from storing
 * them: tell their type from the bytes (libmagic), and for photos decode
 * them with Debian's maintained decoders (libjpeg-turbo, libpng, libwebp),
 * refuse decompression bombs from the header before decoding, turn the
 * picture upright (EXIF orientation), and re-encode it as plain JPEGs in a
 * few sizes — which drops every byte of metadata the upload carried (EXIF
 * with GPS, XMP, comments, ICC profiles, PNG text chunks).
 *
 * No sockets, no store, no JSON: the upload path (src/api/upload.c) calls
 * these on worker threads.  Every function is thread-safe except where it
 * says otherwise; none keeps global state.
 *
 * Errors: 0 or a negative enum pl_err, with a sentence in err:
 *   PL_INVAL   not an image of a supported kind, or corrupt or truncated
 *   PL_TOOBIG  more pixels than allowed (decided from the header alone)
 *   PL_NOMEM   out of memory
 */
#ifndef PL_MEDIA_MEDIA_H
#define PL_MEDIA_MEDIA_H

#include <stddef.h>
#include <stdint.h>

#define MEDIA_SNIFF_BYTES 65536   /* bytes libmagic looks at */
#define MEDIA_MIME_MAX 128        /* bytes of a sniffed type, NUL included */
#define MEDIA_SIDE_MAX 30000      /* longest side of a photo, whatever its pixel count */
#define MEDIA_PHOTO_SIZES_MAX 4   /* sizes of one photo */
#define MEDIA_JPEG_QUALITY 87     /* of every re-encoded size */

/* ---- types from bytes (sniff.c) --------------------------------------------- */

struct media_sniffer;

/* Opens libmagic's database.  NULL with a reason in err on failure.  Free
 * with media_sniffer_free().  One sniffer serves every thread (a mutex). */
struct media_sniffer *media_sniffer_new(char *err, size_t errlen);
void media_sniffer_free(struct media_sniffer *s);

/* The media type of data[0..len) (at most MEDIA_SNIFF_BYTES are looked at),
 * e.g. "image/jpeg", written to mime (MEDIA_MIME_MAX bytes);
 * "application/octet-stream" when libmagic cannot tell. */
int media_sniff(struct media_sniffer *s, const void *data, size_t len, char mime[MEDIA_MIME_MAX]);

/* The file name extension for a type ("jpg" for image/jpeg), "bin" if none. */
const char *media_mime_ext(const char *mime);

/* Is the type one a browser would run or render as a page (HTML, SVG, XML,
 * scripts)?  Downloads of these are served as attachments only. */
int media_mime_active(const char *mime);

/* ---- photos (image.c) ------------------------------------------------------ */

/* 8-bit RGB pixels, rows packed (width * 3 bytes each). */
struct media_image {
	unsigned char *rgb;
	unsigned width, height;
};

void media_image_release(struct media_image *img);

/* Is mime a photo type media_image_decode reads (JPEG, PNG, WebP)? */
int media_image_type(const char *mime);

/* Decodes a JPEG, PNG or still WebP (mime as sniffed) into out, upright
 * (EXIF orientation applied), alpha composed over white.  The pixel count
 * in the header is checked against max_pixels (and each side against
 * MEDIA_SIDE_MAX) before any pixel is decoded.  A JPEG much larger than
 * min_side may be decoded at 1/2, 1/4 or 1/8 scale, never below min_side
 * on its longer side (0: full scale).  *orig_w / *orig_h (may be NULL) get
 * the size the picture has upright at full scale.  Any decoder warning
 * (a truncated file, a bad checksum in a critical chunk) is an error. */
int media_image_decode(const void *data, size_t len, const char *mime, uint64_t max_pixels, unsigned min_side,
		       struct media_image *out, unsigned *orig_w, unsigned *orig_h, char *err, size_t errlen);

/* A copy of in scaled down (area average) so that its longer side is at
 * most side; never scaled up (then an exact copy). */
int media_image_scale(const struct media_image *in, unsigned side, struct media_image *out);

/* Encodes img as a baseline JPEG with no metadata; *out is malloc'd (the
 * caller frees it). */
int media_jpeg_encode(const struct media_image *img, int quality, unsigned char **out, size_t *len);

/* The EXIF orientation (1-8) in a JPEG's APP1 segment payload (starting
 * with "Exif\0\0"), or 1 when there is none or it cannot be read. */
int media_exif_orientation(const unsigned char *app1, size_t len);

/* The sizes of one photo: each a JPEG whose longer side is at most its
 * limit (90, 320, 800, then max_side for the full size); sizes the picture
 * is not larger than are left out, so a small picture has one size. */
struct media_photo_size {
	char type;                 /* 's', 'm', 'x' or 'w' (full) */
	unsigned width, height;
	unsigned char *jpeg;       /* malloc'd */
	size_t len;
};

struct media_photo {
	size_t n;
	struct media_photo_size sizes[MEDIA_PHOTO_SIZES_MAX]; /* smallest first */
};

/* Makes the sizes of img, the full one capped at max_side. */
int media_photo_sizes(const struct media_image *img, unsigned max_side, struct media_photo *out);
void media_photo_release(struct media_photo *p);

#endif
