/* imggen.c — test pictures (see imggen.h). */
#include "imggen.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jpeglib.h>
#include <png.h>
#include <webp/encode.h>
#include <zlib.h>

static unsigned char *imggen_pixels(unsigned w, unsigned h, int seed, int channels)
{
	unsigned char *p = malloc((size_t)w * h * (size_t)channels);

	if (p == NULL)
		return NULL;
	for (unsigned y = 0; y < h; y++)
		for (unsigned x = 0; x < w; x++) {
			unsigned char *px = p + ((size_t)y * w + x) * (size_t)channels;
			int bright = x < w / 4 && y < h / 4;

			px[0] = bright ? 250 : (unsigned char)(x * 255 / (w ? w : 1) + seed);
			px[1] = bright ? 250 : (unsigned char)(y * 255 / (h ? h : 1));
			px[2] = bright ? 250 : (unsigned char)(64 + seed * 7);
			if (channels == 4)
				px[3] = (unsigned char)(x % 256);
		}
	return p;
}

int imggen_jpeg(unsigned w, unsigned h, int seed, unsigned char **out, size_t *len)
{
	struct jpeg_compress_struct c;
	struct jpeg_error_mgr e;
	unsigned char *pix = imggen_pixels(w, h, seed, 3), *buf = NULL;
	unsigned long size = 0;

	if (pix == NULL)
		return -1;
	c.err = jpeg_std_error(&e);
	jpeg_create_compress(&c);
	jpeg_mem_dest(&c, &buf, &size);
	c.image_width = w;
	c.image_height = h;
	c.input_components = 3;
	c.in_color_space = JCS_RGB;
	jpeg_set_defaults(&c);
	jpeg_set_quality(&c, 90, TRUE);
	jpeg_start_compress(&c, TRUE);
	while (c.next_scanline < h) {
		JSAMPROW r = pix + (size_t)c.next_scanline * w * 3;

		jpeg_write_scanlines(&c, &r, 1);
	}
	jpeg_finish_compress(&c);
	jpeg_destroy_compress(&c);
	free(pix);
	*out = buf;
	*len = size;
	return 0;
}

int imggen_png(unsigned w, unsigned h, int alpha, unsigned char **out, size_t *len)
{
	png_image img;
	unsigned char *pix = imggen_pixels(w, h, 3, alpha ? 4 : 3);
	png_alloc_size_t size = 0;
	int rc = -1;

	if (pix == NULL)
		return -1;
	memset(&img, 0, sizeof(img));
	img.version = PNG_IMAGE_VERSION;
	img.width = w;
	img.height = h;
	img.format = alpha ? PNG_FORMAT_RGBA : PNG_FORMAT_RGB;
	if (png_image_write_to_memory(&img, NULL, &size, 0, pix, 0, NULL) && (*out = malloc(size)) != NULL &&
	    png_image_write_to_memory(&img, *out, &size, 0, pix, 0, NULL)) {
		*len = size;
		rc = 0;
	}
	free(pix);
	return rc;
}

int imggen_webp(unsigned w, unsigned h, unsigned char **out, size_t *len)
{
	unsigned char *pix = imggen_pixels(w, h, 5, 3), *enc = NULL;
	size_t n;

	if (pix == NULL)
		return -1;
	n = WebPEncodeRGB(pix, (int)w, (int)h, (int)w * 3, 85, &enc);
	free(pix);
	if (n == 0)
		return -1;
	if ((*out = malloc(n)) == NULL) {
		WebPFree(enc);
		return -1;
	}
	memcpy(*out, enc, n);
	WebPFree(enc);
	*len = n;
	return 0;
}

/* A big-endian TIFF writer for the EXIF segment. */
struct imggen_tiff {
	unsigned char b[512];
	size_t n;
};

static void tiff_u16(struct imggen_tiff *t, unsigned v)
{
	t->b[t->n++] = (unsigned char)(v >> 8);
	t->b[t->n++] = (unsigned char)v;
}

static void tiff_u32(struct imggen_tiff *t, uint32_t v)
{
	tiff_u16(t, v >> 16);
	tiff_u16(t, v & 0xffff);
}

/* An IFD entry: tag, type, count, value or offset (4 bytes). */
static void tiff_entry(struct imggen_tiff *t, unsigned tag, unsigned type, uint32_t count, uint32_t value)
{
	tiff_u16(t, tag);
	tiff_u16(t, type);
	tiff_u32(t, count);
	tiff_u32(t, value);
}

int imggen_jpeg_exif(unsigned w, unsigned h, int orientation, unsigned char **out, size_t *len)
{
	static const char secret[] = IMGGEN_EXIF_SECRET;
	static const uint32_t lat[6] = {48, 1, 51, 1, 2942, 100}, lon[6] = {2, 1, 17, 1, 4032, 100};
	struct imggen_tiff t = {{0}, 0};
	unsigned char *jpg, *res;
	size_t jlen, seg;
	uint32_t ifd0 = 8, gps, desc, latoff, lonoff;

	if (imggen_jpeg(w, h, 1, &jpg, &jlen) < 0)
		return -1;
	/* Layout: header, IFD0 (3 entries), GPS IFD (4 entries), then data. */
	gps = ifd0 + 2 + 3 * 12 + 4;
	desc = gps + 2 + 4 * 12 + 4;
	latoff = desc + (uint32_t)sizeof(secret);
	lonoff = latoff + 24;
	memcpy(t.b, "MM\0\x2a", 4);
	t.n = 4;
	tiff_u32(&t, ifd0);
	tiff_u16(&t, 3);
	tiff_entry(&t, 0x010e, 2, sizeof(secret), desc);          /* ImageDescription, ASCII */
	tiff_entry(&t, 0x0112, 3, 1, (uint32_t)orientation << 16); /* Orientation, SHORT (left-justified) */
	tiff_entry(&t, 0x8825, 4, 1, gps);                         /* GPS IFD pointer, LONG */
	tiff_u32(&t, 0);
	tiff_u16(&t, 4);
	tiff_entry(&t, 0x0001, 2, 2, (uint32_t)'N' << 24);        /* GPSLatitudeRef "N" */
	tiff_entry(&t, 0x0002, 5, 3, latoff);                      /* GPSLatitude, 3 RATIONAL */
	tiff_entry(&t, 0x0003, 2, 2, (uint32_t)'E' << 24);        /* GPSLongitudeRef "E" */
	tiff_entry(&t, 0x0004, 5, 3, lonoff);                      /* GPSLongitude */
	tiff_u32(&t, 0);
	memcpy(t.b + t.n, secret, sizeof(secret));
	t.n += sizeof(secret);
	for (int i = 0; i < 6; i++)
		tiff_u32(&t, lat[i]);
	for (int i = 0; i < 6; i++)
		tiff_u32(&t, lon[i]);
	/* FF E1, length (2 + "Exif\0\0" + TIFF), spliced in after SOI. */
	seg = 2 + 2 + 6 + t.n;
	if ((res = malloc(jlen + seg)) == NULL) {
		free(jpg);
		return -1;
	}
	memcpy(res, jpg, 2);
	res[2] = 0xff;
	res[3] = 0xe1;
	res[4] = (unsigned char)((seg - 2) >> 8);
	res[5] = (unsigned char)(seg - 2);
	memcpy(res + 6, "Exif\0\0", 6);
	memcpy(res + 12, t.b, t.n);
	memcpy(res + 2 + seg, jpg + 2, jlen - 2);
	free(jpg);
	*out = res;
	*len = jlen + seg;
	return 0;
}

static void be32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)(v >> 24);
	p[1] = (unsigned char)(v >> 16);
	p[2] = (unsigned char)(v >> 8);
	p[3] = (unsigned char)v;
}

int imggen_png_bomb(unsigned w, unsigned h, unsigned char **out, size_t *len)
{
	/* IHDR is the first chunk: 8 signature, 4 length, 4 "IHDR", 13 data, 4 CRC. */
	if (imggen_png(8, 8, 0, out, len) < 0)
		return -1;
	be32(*out + 16, w);
	be32(*out + 20, h);
	be32(*out + 29, (uint32_t)crc32(0, *out + 12, 17));
	return 0;
}

int imggen_jpeg_bomb(unsigned w, unsigned h, unsigned char **out, size_t *len)
{
	unsigned char *p;

	if (imggen_jpeg(8, 8, 1, out, len) < 0)
		return -1;
	/* SOF0: FF C0, length, precision, height, width. */
	for (p = *out; p + 9 < *out + *len; p++)
		if (p[0] == 0xff && p[1] == 0xc0) {
			p[5] = (unsigned char)(h >> 8);
			p[6] = (unsigned char)h;
			p[7] = (unsigned char)(w >> 8);
			p[8] = (unsigned char)w;
			return 0;
		}
	return -1;
}

int imggen_png_corrupt(unsigned char *png, size_t len)
{
	size_t off = 8;

	while (off + 12 <= len) {
		uint32_t n = (uint32_t)png[off] << 24 | (uint32_t)png[off + 1] << 16 | (uint32_t)png[off + 2] << 8 |
			     png[off + 3];

		if (memcmp(png + off + 4, "IDAT", 4) == 0 && n > 0) {
			png[off + 8 + n / 2] ^= 0x55;
			return 0;
		}
		off += 12 + (size_t)n;
	}
	return -1;
}

int imggen_contains(const unsigned char *buf, size_t len, const void *needle, size_t n)
{
	for (size_t i = 0; n <= len && i + n <= len; i++)
		if (memcmp(buf + i, needle, n) == 0)
			return 1;
	return 0;
}
