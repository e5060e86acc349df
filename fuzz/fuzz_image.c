/*
 * fuzz_image.c — libFuzzer target for the photo path (src/media/image.c):
 * what an upload of a photo goes through after its type was sniffed.
 * Seed corpus: fuzz/corpus/image/ (small pictures made by
 * tests/integration/imggen.c: JPEG, JPEG with EXIF, PNG with alpha, WebP,
 * bombs, truncated and corrupt files).
 *
 * The type is taken from the first bytes as libmagic would (JPEG FF D8,
 * PNG signature, RIFF....WEBP); anything else is tried as each type in turn
 * (decoders must refuse it cleanly).  A decoded picture must have the size
 * its header promised within the pixel limit; it is then scaled and
 * encoded as the upload path does (with a small cap to keep runs fast), and
 * the result must decode again.  The EXIF orientation parser gets the
 * input too.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "media/media.h"
#include "util/err.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FZ_MAX_PIXELS (4u * 1024 * 1024)
#define FZ_SIDE 160

static void fz_one(const uint8_t *data, size_t size, const char *mime)
{
	struct media_image img, small, back;
	unsigned char *jpeg = NULL;
	size_t jlen = 0;
	unsigned ow = 0, oh = 0;
	char err[256];
	int rc = media_image_decode(data, size, mime, FZ_MAX_PIXELS, FZ_SIDE, &img, &ow, &oh, err, sizeof(err));

	if (rc != 0) {
		if (rc != PL_INVAL && rc != PL_TOOBIG && rc != PL_NOMEM)
			abort();
		return;
	}
	if (img.rgb == NULL || img.width == 0 || img.height == 0 || (uint64_t)ow * oh > FZ_MAX_PIXELS ||
	    img.width > ow + 8 || img.height > oh + 8)
		abort();
	if (media_image_scale(&img, FZ_SIDE, &small) == 0) {
		if (small.width > FZ_SIDE || small.height > FZ_SIDE)
			abort();
		if (media_jpeg_encode(&small, MEDIA_JPEG_QUALITY, &jpeg, &jlen) == 0) {
			if (media_image_decode(jpeg, jlen, "image/jpeg", FZ_MAX_PIXELS, 0, &back, NULL, NULL, err,
					       sizeof(err)) != 0 ||
			    back.width != small.width || back.height != small.height)
				abort();
			media_image_release(&back);
			free(jpeg);
		}
		media_image_release(&small);
	}
	media_image_release(&img);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size >= 2 && data[0] == 0xff && data[1] == 0xd8)
		fz_one(data, size, "image/jpeg");
	else if (size >= 8 && memcmp(data, "\x89PNG\r\n\x1a\n", 8) == 0)
		fz_one(data, size, "image/png");
	else if (size >= 12 && memcmp(data, "RIFF", 4) == 0 && memcmp(data + 8, "WEBP", 4) == 0)
		fz_one(data, size, "image/webp");
	else {
		fz_one(data, size, "image/jpeg");
		fz_one(data, size, "image/png");
		fz_one(data, size, "image/webp");
	}
	/* EXIF segments as a JPEG's APP1 carries them. */
	if (size >= 6 && memcmp(data, "Exif\0\0", 6) == 0) {
		int o = media_exif_orientation(data, size);

		if (o < 1 || o > 8)
			abort();
	}
	return 0;
}
