/*
 * image.c — photos: decode (libjpeg-turbo, libpng's simplified API,
 * libwebp), check, turn upright, scale, and re-encode as JPEG (media.h).
 *
 * Bombs.  The pixel count comes from the header (jpeg_read_header, the PNG
 * IHDR, WebPGetFeatures) and is checked before anything is decoded; only
 * then is the pixel buffer allocated, of exactly the size the header names.
 * libjpeg gets a memory ceiling in proportion to the allowed pixels (a
 * progressive JPEG keeps all its coefficients) and a progress monitor that
 * stops files with an absurd number of scans (a CPU bomb); libpng keeps its
 * own ceilings on ancillary chunks.
 *
 * Strictness.  A photo that decodes only with warnings is refused: libjpeg
 * warns about a truncated file and fills it with grey, which a user should
 * learn about rather than receive.  The one warning let through is
 * "extraneous bytes before marker", which harmless files from real cameras
 * carry.  libpng fails on a bad checksum in a critical chunk by itself.
 *
 * Errors inside libjpeg come back by longjmp (its documented way): anything
 * allocated between setjmp and the jump lives in volatile pointers so the
 * handler can free it.
 */
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jpeglib.h>
#include <jerror.h>
#include <png.h>
#include <webp/decode.h>

#include "media/media.h"
#include "util/err.h"

#define IMG_JPEG_SCANS_MAX 500     /* scans of a progressive JPEG */
#define IMG_JPEG_MEM_BASE (16u << 20)
#define IMG_THUMB_SIDES {90, 320, 800}
#define IMG_THUMB_TYPES "smx"

void media_image_release(struct media_image *img)
{
	free(img->rgb);
	img->rgb = NULL;
	img->width = img->height = 0;
}

int media_image_type(const char *mime)
{
	return !strcasecmp(mime, "image/jpeg") || !strcasecmp(mime, "image/png") || !strcasecmp(mime, "image/webp");
}

/* Checks a picture's size from its header. */
static int img_check_size(uint64_t w, uint64_t h, uint64_t max_pixels, char *err, size_t errlen)
{
	if (w == 0 || h == 0) {
		snprintf(err, errlen, "the picture has no pixels");
		return PL_INVAL;
	}
	if (w > MEDIA_SIDE_MAX || h > MEDIA_SIDE_MAX || w * h > max_pixels) {
		snprintf(err, errlen, "%llux%llu pixels; the limit is %llu pixels and %d on a side",
			 (unsigned long long)w, (unsigned long long)h, (unsigned long long)max_pixels, MEDIA_SIDE_MAX);
		return PL_TOOBIG;
	}
	return 0;
}

/* ---- EXIF orientation -------------------------------------------------------- */

static unsigned img_u16(const unsigned char *p, int le)
{
	return le ? (unsigned)p[0] | (unsigned)p[1] << 8 : (unsigned)p[0] << 8 | (unsigned)p[1];
}

static uint32_t img_u32(const unsigned char *p, int le)
{
	return le ? (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24
		  : (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

int media_exif_orientation(const unsigned char *app1, size_t len)
{
	const unsigned char *t;
	size_t n, ifd, count;
	int le;

	if (app1 == NULL || len < 6 + 8 || memcmp(app1, "Exif\0\0", 6) != 0)
		return 1;
	t = app1 + 6;
	n = len - 6;
	if (t[0] == 'I' && t[1] == 'I')
		le = 1;
	else if (t[0] == 'M' && t[1] == 'M')
		le = 0;
	else
		return 1;
	if (img_u16(t + 2, le) != 42)
		return 1;
	ifd = img_u32(t + 4, le);
	if (ifd > n || n - ifd < 2)
		return 1;
	count = img_u16(t + ifd, le);
	for (size_t i = 0; i < count; i++) {
		size_t e = ifd + 2 + 12 * i;
		unsigned v;

		if (e > n || n - e < 12)
			break;
		if (img_u16(t + e, le) != 0x0112)
			continue;
		if (img_u16(t + e + 2, le) != 3) /* SHORT */
			return 1;
		v = img_u16(t + e + 8, le);
		return v >= 1 && v <= 8 ? (int)v : 1;
	}
	return 1;
}

/* Turns img upright for EXIF orientation o (1-8). */
static int img_orient(struct media_image *img, int o)
{
	unsigned w = img->width, h = img->height, dw = o >= 5 ? h : w, dh = o >= 5 ? w : h;
	unsigned char *d;

	if (o <= 1 || o > 8)
		return 0;
	if ((d = malloc((size_t)w * h * 3)) == NULL)
		return PL_NOMEM;
	for (unsigned sy = 0; sy < h; sy++) {
		const unsigned char *src = img->rgb + (size_t)sy * w * 3;

		for (unsigned sx = 0; sx < w; sx++) {
			unsigned dx, dy;

			switch (o) {
			case 2: dx = w - 1 - sx; dy = sy; break;
			case 3: dx = w - 1 - sx; dy = h - 1 - sy; break;
			case 4: dx = sx; dy = h - 1 - sy; break;
			case 5: dx = sy; dy = sx; break;
			case 6: dx = h - 1 - sy; dy = sx; break;
			case 7: dx = h - 1 - sy; dy = w - 1 - sx; break;
			default: dx = sy; dy = w - 1 - sx; break; /* 8 */
			}
			memcpy(d + ((size_t)dy * dw + dx) * 3, src + (size_t)sx * 3, 3);
		}
	}
	free(img->rgb);
	img->rgb = d;
	img->width = dw;
	img->height = dh;
	return 0;
}

/* ---- JPEG -------------------------------------------------------------------- */

struct img_jerr {
	struct jpeg_error_mgr pub;
	jmp_buf jb;
	char msg[JMSG_LENGTH_MAX];
};

static void img_jpeg_error_exit(j_common_ptr c)
{
	struct img_jerr *e = (struct img_jerr *)c->err;

	(*c->err->format_message)(c, e->msg);
	longjmp(e->jb, 1);
}

/* Warnings (level -1) are errors, but for extraneous bytes before a marker. */
static void img_jpeg_emit(j_common_ptr c, int level)
{
	struct img_jerr *e = (struct img_jerr *)c->err;

	if (level >= 0 || c->err->msg_code == JWRN_EXTRANEOUS_DATA)
		return;
	(*c->err->format_message)(c, e->msg);
	longjmp(e->jb, 1);
}

static void img_jpeg_progress(j_common_ptr c)
{
	j_decompress_ptr d = (j_decompress_ptr)c;

	if (c->is_decompressor && d->input_scan_number > IMG_JPEG_SCANS_MAX) {
		struct img_jerr *e = (struct img_jerr *)c->err;

		snprintf(e->msg, sizeof(e->msg), "more than %d scans", IMG_JPEG_SCANS_MAX);
		longjmp(e->jb, 1);
	}
}

static int img_jpeg_decode(const void *data, size_t len, uint64_t max_pixels, unsigned min_side,
			   struct media_image *out, unsigned *ow, unsigned *oh, char *err, size_t errlen)
{
	struct jpeg_decompress_struct cinfo;
	struct jpeg_progress_mgr progress;
	struct img_jerr jerr;
	unsigned char *volatile pix = NULL;
	unsigned char *volatile row = NULL;
	volatile int orientation = 1;
	unsigned long long size_check;
	unsigned w, h;
	volatile unsigned denom = 1;
	int rc;

	memset(&cinfo, 0, sizeof(cinfo));
	cinfo.err = jpeg_std_error(&jerr.pub);
	jerr.pub.error_exit = img_jpeg_error_exit;
	jerr.pub.emit_message = img_jpeg_emit;
	jerr.msg[0] = '\0';
	if (setjmp(jerr.jb)) {
		jpeg_destroy_decompress(&cinfo);
		free(pix);
		free(row);
		snprintf(err, errlen, "the JPEG is corrupt or truncated (%s)", jerr.msg);
		return PL_INVAL;
	}
	jpeg_create_decompress(&cinfo);
	progress.progress_monitor = img_jpeg_progress;
	cinfo.progress = &progress;
	cinfo.mem->max_memory_to_use = (long)(IMG_JPEG_MEM_BASE + (max_pixels > (1ull << 28) ? (1ull << 31) : max_pixels * 8));
	jpeg_mem_src(&cinfo, (const unsigned char *)data, (unsigned long)len);
	jpeg_save_markers(&cinfo, JPEG_APP0 + 1, 0xffff);
	jpeg_read_header(&cinfo, TRUE);
	w = cinfo.image_width;
	h = cinfo.image_height;
	if ((rc = img_check_size(w, h, max_pixels, err, errlen)) < 0) {
		jpeg_destroy_decompress(&cinfo);
		return rc;
	}
	for (jpeg_saved_marker_ptr m = cinfo.marker_list; m != NULL; m = m->next)
		if (m->marker == JPEG_APP0 + 1 && (orientation = media_exif_orientation(m->data, m->data_length)) != 1)
			break;
	/* Decode smaller when the picture is far larger than what is kept. */
	while (min_side > 0 && denom < 8 && ((w > h ? w : h) + denom * 2 - 1) / (denom * 2) >= min_side)
		denom *= 2;
	cinfo.scale_num = 1;
	cinfo.scale_denom = denom;
	cinfo.out_color_space =
		cinfo.jpeg_color_space == JCS_CMYK || cinfo.jpeg_color_space == JCS_YCCK ? JCS_CMYK : JCS_RGB;
	jpeg_start_decompress(&cinfo);
	size_check = (unsigned long long)cinfo.output_width * cinfo.output_height * 3;
	if (cinfo.output_components != (cinfo.out_color_space == JCS_CMYK ? 4 : 3) || size_check > SIZE_MAX)
		longjmp(jerr.jb, 1);
	if ((pix = malloc((size_t)size_check)) == NULL || (row = malloc((size_t)cinfo.output_width * 4)) == NULL) {
		jpeg_destroy_decompress(&cinfo);
		free(pix);
		free(row);
		return PL_NOMEM;
	}
	while (cinfo.output_scanline < cinfo.output_height) {
		unsigned char *dst = pix + (size_t)cinfo.output_scanline * cinfo.output_width * 3;
		JSAMPROW rp = cinfo.out_color_space == JCS_CMYK ? row : dst;

		if (jpeg_read_scanlines(&cinfo, &rp, 1) != 1)
			longjmp(jerr.jb, 1);
		if (cinfo.out_color_space == JCS_CMYK) {
			/* Adobe writes CMYK inverted: each value is 255 - ink. */
			for (unsigned x = 0; x < cinfo.output_width; x++) {
				unsigned k = row[x * 4 + 3];

				dst[x * 3] = (unsigned char)(row[x * 4] * k / 255);
				dst[x * 3 + 1] = (unsigned char)(row[x * 4 + 1] * k / 255);
				dst[x * 3 + 2] = (unsigned char)(row[x * 4 + 2] * k / 255);
			}
		}
	}
	jpeg_finish_decompress(&cinfo);
	out->rgb = pix;
	out->width = cinfo.output_width;
	out->height = cinfo.output_height;
	jpeg_destroy_decompress(&cinfo);
	free(row);
	if (ow)
		*ow = orientation >= 5 ? h : w;
	if (oh)
		*oh = orientation >= 5 ? w : h;
	if ((rc = img_orient(out, orientation)) < 0)
		media_image_release(out);
	return rc;
}

/* ---- PNG and WebP ------------------------------------------------------------------- */

static int img_png_decode(const void *data, size_t len, uint64_t max_pixels, struct media_image *out, char *err,
			  size_t errlen)
{
	png_image img;
	png_color white = {255, 255, 255};
	unsigned char *pix;
	int rc;

	memset(&img, 0, sizeof(img));
	img.version = PNG_IMAGE_VERSION;
	if (!png_image_begin_read_from_memory(&img, data, len)) {
		snprintf(err, errlen, "the PNG is corrupt (%s)", img.message);
		png_image_free(&img);
		return PL_INVAL;
	}
	if ((rc = img_check_size(img.width, img.height, max_pixels, err, errlen)) < 0) {
		png_image_free(&img);
		return rc;
	}
	img.format = PNG_FORMAT_RGB;
	if ((pix = malloc((size_t)img.width * img.height * 3)) == NULL) {
		png_image_free(&img);
		return PL_NOMEM;
	}
	if (!png_image_finish_read(&img, &white, pix, 0, NULL)) {
		snprintf(err, errlen, "the PNG is corrupt or truncated (%s)", img.message);
		png_image_free(&img);
		free(pix);
		return PL_INVAL;
	}
	out->rgb = pix;
	out->width = img.width;
	out->height = img.height;
	return 0;
}

static int img_webp_decode(const void *data, size_t len, uint64_t max_pixels, struct media_image *out, char *err,
			   size_t errlen)
{
	WebPBitstreamFeatures f;
	unsigned char *pix, *rgba = NULL;
	size_t n;
	int rc;

	if (WebPGetFeatures(data, len, &f) != VP8_STATUS_OK) {
		snprintf(err, errlen, "the WebP is corrupt");
		return PL_INVAL;
	}
	if (f.has_animation) {
		snprintf(err, errlen, "an animated WebP is not a photo (send it as a document)");
		return PL_INVAL;
	}
	if ((rc = img_check_size((uint64_t)(f.width > 0 ? f.width : 0), (uint64_t)(f.height > 0 ? f.height : 0),
				 max_pixels, err, errlen)) < 0)
		return rc;
	n = (size_t)f.width * (size_t)f.height;
	if ((pix = malloc(n * 3)) == NULL || (f.has_alpha && (rgba = malloc(n * 4)) == NULL)) {
		free(pix);
		return PL_NOMEM;
	}
	if (f.has_alpha ? WebPDecodeRGBAInto(data, len, rgba, n * 4, f.width * 4) == NULL
			: WebPDecodeRGBInto(data, len, pix, n * 3, f.width * 3) == NULL) {
		snprintf(err, errlen, "the WebP is corrupt or truncated");
		free(pix);
		free(rgba);
		return PL_INVAL;
	}
	if (rgba != NULL) {
		/* Over white, as the PNG decoder does. */
		for (size_t i = 0; i < n; i++) {
			unsigned a = rgba[i * 4 + 3];

			for (int c = 0; c < 3; c++)
				pix[i * 3 + c] = (unsigned char)((rgba[i * 4 + c] * a + 255 * (255 - a) + 127) / 255);
		}
		free(rgba);
	}
	out->rgb = pix;
	out->width = (unsigned)f.width;
	out->height = (unsigned)f.height;
	return 0;
}

int media_image_decode(const void *data, size_t len, const char *mime, uint64_t max_pixels, unsigned min_side,
		       struct media_image *out, unsigned *orig_w, unsigned *orig_h, char *err, size_t errlen)
{
	int rc;

	memset(out, 0, sizeof(*out));
	if (len == 0) {
		snprintf(err, errlen, "the file is empty");
		return PL_INVAL;
	}
	if (!strcasecmp(mime, "image/jpeg"))
		return img_jpeg_decode(data, len, max_pixels, min_side, out, orig_w, orig_h, err, errlen);
	if (!strcasecmp(mime, "image/png"))
		rc = img_png_decode(data, len, max_pixels, out, err, errlen);
	else if (!strcasecmp(mime, "image/webp"))
		rc = img_webp_decode(data, len, max_pixels, out, err, errlen);
	else {
		snprintf(err, errlen, "%s is not a photo type (JPEG, PNG or WebP)", mime);
		return PL_INVAL;
	}
	if (rc == 0 && orig_w)
		*orig_w = out->width;
	if (rc == 0 && orig_h)
		*orig_h = out->height;
	return rc;
}

/* ---- scaling ---------------------------------------------------------------------- */

/* One output pixel's span of source pixels along an axis. */
struct img_span {
	unsigned i0, i1;     /* source pixels i0 .. i1-1 */
	float w0, w1;        /* weights of the first and the last (partial) ones */
	float norm;          /* 1 / the span's length */
};

static struct img_span *img_spans(unsigned src, unsigned dst)
{
	struct img_span *s = malloc(sizeof(*s) * dst);
	double scale = (double)src / dst;

	if (s == NULL)
		return NULL;
	for (unsigned i = 0; i < dst; i++) {
		double f0 = i * scale, f1 = (i + 1) * scale;

		if (f1 > src)
			f1 = src;
		s[i].i0 = (unsigned)f0;
		s[i].i1 = (unsigned)f1 + ((double)(unsigned)f1 < f1 ? 1 : 0);
		if (s[i].i1 > src)
			s[i].i1 = src;
		if (s[i].i1 <= s[i].i0)
			s[i].i1 = s[i].i0 + 1;
		s[i].w0 = (float)((s[i].i0 + 1 < f1 ? s[i].i0 + 1 : f1) - f0);
		s[i].w1 = s[i].i1 - 1 > s[i].i0 ? (float)(f1 - (s[i].i1 - 1)) : s[i].w0;
		s[i].norm = (float)(1.0 / (f1 - f0));
	}
	return s;
}

static float img_weight(const struct img_span *s, unsigned i)
{
	if (i == s->i0)
		return s->w0;
	if (i == s->i1 - 1)
		return s->w1;
	return 1.0f;
}

int media_image_scale(const struct media_image *in, unsigned side, struct media_image *out)
{
	unsigned w = in->width, h = in->height, longest = w > h ? w : h, dw, dh;
	struct img_span *xs = NULL, *ys = NULL;
	float *acc = NULL, *hrow = NULL;
	int rc = PL_NOMEM;

	memset(out, 0, sizeof(*out));
	if (side == 0 || w == 0 || h == 0)
		return PL_INVAL;
	if (longest <= side) {
		if ((out->rgb = malloc((size_t)w * h * 3)) == NULL)
			return PL_NOMEM;
		memcpy(out->rgb, in->rgb, (size_t)w * h * 3);
		out->width = w;
		out->height = h;
		return 0;
	}
	dw = (unsigned)((uint64_t)w * side / longest);
	dh = (unsigned)((uint64_t)h * side / longest);
	dw = dw ? dw : 1;
	dh = dh ? dh : 1;
	if ((xs = img_spans(w, dw)) == NULL || (ys = img_spans(h, dh)) == NULL ||
	    (acc = malloc(sizeof(*acc) * dw * 3)) == NULL || (hrow = malloc(sizeof(*hrow) * dw * 3)) == NULL ||
	    (out->rgb = malloc((size_t)dw * dh * 3)) == NULL)
		goto out;
	for (unsigned oy = 0; oy < dh; oy++) {
		memset(acc, 0, sizeof(*acc) * dw * 3);
		for (unsigned sy = ys[oy].i0; sy < ys[oy].i1; sy++) {
			const unsigned char *src = in->rgb + (size_t)sy * w * 3;
			float wy = img_weight(&ys[oy], sy);

			/* This source row, scaled across. */
			for (unsigned ox = 0; ox < dw; ox++) {
				float r = 0, g = 0, b = 0;

				for (unsigned sx = xs[ox].i0; sx < xs[ox].i1; sx++) {
					float wx = img_weight(&xs[ox], sx);

					r += wx * src[sx * 3];
					g += wx * src[sx * 3 + 1];
					b += wx * src[sx * 3 + 2];
				}
				hrow[ox * 3] = r * xs[ox].norm;
				hrow[ox * 3 + 1] = g * xs[ox].norm;
				hrow[ox * 3 + 2] = b * xs[ox].norm;
			}
			for (unsigned i = 0; i < dw * 3; i++)
				acc[i] += wy * hrow[i];
		}
		for (unsigned i = 0; i < dw * 3; i++) {
			float v = acc[i] * ys[oy].norm + 0.5f;

			out->rgb[(size_t)oy * dw * 3 + i] = (unsigned char)(v < 0 ? 0 : v > 255 ? 255 : v);
		}
	}
	out->width = dw;
	out->height = dh;
	rc = 0;
out:
	if (rc < 0)
		media_image_release(out);
	free(xs);
	free(ys);
	free(acc);
	free(hrow);
	return rc;
}

/* ---- encoding ------------------------------------------------------------------------ */

int media_jpeg_encode(const struct media_image *img, int quality, unsigned char **out, size_t *len)
{
	struct jpeg_compress_struct cinfo;
	struct img_jerr jerr;
	unsigned char *volatile buf = NULL;
	unsigned long size = 0;

	*out = NULL;
	*len = 0;
	memset(&cinfo, 0, sizeof(cinfo));
	cinfo.err = jpeg_std_error(&jerr.pub);
	jerr.pub.error_exit = img_jpeg_error_exit;
	if (setjmp(jerr.jb)) {
		jpeg_destroy_compress(&cinfo);
		free(buf);
		return PL_NOMEM;
	}
	jpeg_create_compress(&cinfo);
	jpeg_mem_dest(&cinfo, (unsigned char **)&buf, &size);
	cinfo.image_width = img->width;
	cinfo.image_height = img->height;
	cinfo.input_components = 3;
	cinfo.in_color_space = JCS_RGB;
	jpeg_set_defaults(&cinfo);
	jpeg_set_quality(&cinfo, quality, TRUE);
	cinfo.optimize_coding = TRUE;
	jpeg_start_compress(&cinfo, TRUE);
	while (cinfo.next_scanline < cinfo.image_height) {
		JSAMPROW rp = img->rgb + (size_t)cinfo.next_scanline * img->width * 3;

		jpeg_write_scanlines(&cinfo, &rp, 1);
	}
	jpeg_finish_compress(&cinfo);
	jpeg_destroy_compress(&cinfo);
	*out = buf;
	*len = size;
	return 0;
}

/* ---- the sizes of a photo ----------------------------------------------------------------- */

void media_photo_release(struct media_photo *p)
{
	for (size_t i = 0; i < p->n; i++)
		free(p->sizes[i].jpeg);
	memset(p, 0, sizeof(*p));
}

/* Encodes img as size number i of p. */
static int img_add_size(struct media_photo *p, size_t i, char type, const struct media_image *img)
{
	struct media_photo_size *s = &p->sizes[i];
	int rc = media_jpeg_encode(img, MEDIA_JPEG_QUALITY, &s->jpeg, &s->len);

	if (rc == 0) {
		s->type = type;
		s->width = img->width;
		s->height = img->height;
	}
	return rc;
}

int media_photo_sizes(const struct media_image *img, unsigned max_side, struct media_photo *out)
{
	static const unsigned sides[] = IMG_THUMB_SIDES;
	struct media_image cur, next;
	unsigned longest = img->width > img->height ? img->width : img->height;
	size_t nthumbs = 0, k;
	int rc;

	memset(out, 0, sizeof(*out));
	for (size_t i = 0; i < sizeof(sides) / sizeof(sides[0]); i++)
		if (longest > sides[i] && max_side > sides[i])
			nthumbs++;
	out->n = nthumbs + 1;
	/* The full size first, then each smaller one from the one above it. */
	if ((rc = media_image_scale(img, max_side, &cur)) < 0 || (rc = img_add_size(out, nthumbs, 'w', &cur)) < 0)
		goto fail;
	for (k = nthumbs; k-- > 0;) {
		if ((rc = media_image_scale(&cur, sides[k], &next)) < 0)
			goto fail;
		media_image_release(&cur);
		cur = next;
		if ((rc = img_add_size(out, k, IMG_THUMB_TYPES[k], &cur)) < 0)
			goto fail;
	}
	media_image_release(&cur);
	return 0;
fail:
	media_image_release(&cur);
	media_photo_release(out);
	return rc;
}
