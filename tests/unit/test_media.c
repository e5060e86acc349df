/*
 * test_media.c — photos and types (src/media): decoding JPEG, PNG and WebP
 * made here (tests/integration/imggen.c), the pixel limit decided from the
 * header (decompression bombs), refusing truncated and corrupt files,
 * turning pictures upright by their EXIF orientation, re-encoding that
 * leaves no metadata (EXIF with GPS) behind, the sizes of a photo, and
 * telling types from bytes with libmagic.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "media/media.h"
#include "util/err.h"

/* The generator is shared with the integration tests. */
#include "../integration/imggen.c"

#define T_MP 40000000ull

static void test_decode_kinds(void **state)
{
	struct media_image img;
	unsigned char *buf;
	size_t len;
	unsigned ow, oh;
	char err[256];

	assert_int_equal(imggen_jpeg(640, 480, 1, &buf, &len), 0);
	assert_int_equal(media_image_decode(buf, len, "image/jpeg", T_MP, 0, &img, &ow, &oh, err, sizeof(err)), 0);
	assert_int_equal(img.width, 640);
	assert_int_equal(img.height, 480);
	assert_int_equal(ow, 640);
	/* The bright square is top-left. */
	assert_true(img.rgb[(10 * 640 + 10) * 3] > 200 && img.rgb[(400 * 640 + 600) * 3 + 1] < 250);
	media_image_release(&img);
	free(buf);

	assert_int_equal(imggen_png(300, 200, 1, &buf, &len), 0);
	assert_int_equal(media_image_decode(buf, len, "image/png", T_MP, 0, &img, NULL, NULL, err, sizeof(err)), 0);
	assert_int_equal(img.width, 300);
	assert_int_equal(img.height, 200);
	/* x = 0: alpha 0 over white is white. */
	assert_true(img.rgb[(150 * 300) * 3] >= 254);
	media_image_release(&img);
	free(buf);

	assert_int_equal(imggen_webp(120, 90, &buf, &len), 0);
	assert_int_equal(media_image_decode(buf, len, "image/webp", T_MP, 0, &img, NULL, NULL, err, sizeof(err)), 0);
	assert_int_equal(img.width, 120);
	assert_int_equal(img.height, 90);
	media_image_release(&img);
	/* Not a photo type. */
	assert_int_equal(media_image_decode(buf, len, "application/pdf", T_MP, 0, &img, NULL, NULL, err, sizeof(err)),
			 PL_INVAL);
	free(buf);
}

static void test_bombs(void **state)
{
	struct media_image img;
	unsigned char *buf;
	size_t len;
	char err[256];

	/* 20000 x 20000 in a file of a few hundred bytes. */
	assert_int_equal(imggen_png_bomb(20000, 20000, &buf, &len), 0);
	assert_true(len < 1000);
	assert_int_equal(media_image_decode(buf, len, "image/png", T_MP, 0, &img, NULL, NULL, err, sizeof(err)),
			 PL_TOOBIG);
	assert_non_null(strstr(err, "20000x20000"));
	free(buf);
	assert_int_equal(imggen_jpeg_bomb(30000, 30000, &buf, &len), 0);
	assert_int_equal(media_image_decode(buf, len, "image/jpeg", T_MP, 0, &img, NULL, NULL, err, sizeof(err)),
			 PL_TOOBIG);
	free(buf);
	/* Within the count but a side too long. */
	assert_int_equal(imggen_png_bomb(60000, 2, &buf, &len), 0);
	assert_int_equal(media_image_decode(buf, len, "image/png", T_MP, 0, &img, NULL, NULL, err, sizeof(err)),
			 PL_TOOBIG);
	free(buf);
	/* The limit is what the caller says. */
	assert_int_equal(imggen_jpeg(200, 200, 1, &buf, &len), 0);
	assert_int_equal(media_image_decode(buf, len, "image/jpeg", 39999, 0, &img, NULL, NULL, err, sizeof(err)),
			 PL_TOOBIG);
	assert_int_equal(media_image_decode(buf, len, "image/jpeg", 40000, 0, &img, NULL, NULL, err, sizeof(err)), 0);
	media_image_release(&img);
	free(buf);
}

static void test_broken(void **state)
{
	struct media_image img;
	unsigned char *buf;
	size_t len;
	char err[256];

	assert_int_equal(imggen_jpeg(400, 300, 2, &buf, &len), 0);
	/* Truncated: libjpeg would fill the rest with grey; refused. */
	assert_int_equal(media_image_decode(buf, len / 2, "image/jpeg", T_MP, 0, &img, NULL, NULL, err, sizeof(err)),
			 PL_INVAL);
	assert_non_null(strstr(err, "JPEG"));
	assert_int_equal(media_image_decode(buf, 100, "image/jpeg", T_MP, 0, &img, NULL, NULL, err, sizeof(err)),
			 PL_INVAL);
	assert_int_equal(media_image_decode(buf, 0, "image/jpeg", T_MP, 0, &img, NULL, NULL, err, sizeof(err)),
			 PL_INVAL);
	free(buf);
	assert_int_equal(imggen_png(64, 64, 0, &buf, &len), 0);
	assert_int_equal(imggen_png_corrupt(buf, len), 0);
	assert_int_equal(media_image_decode(buf, len, "image/png", T_MP, 0, &img, NULL, NULL, err, sizeof(err)),
			 PL_INVAL);
	free(buf);
	assert_int_equal(imggen_png(64, 64, 0, &buf, &len), 0);
	assert_int_equal(media_image_decode(buf, len - 20, "image/png", T_MP, 0, &img, NULL, NULL, err, sizeof(err)),
			 PL_INVAL);
	free(buf);
	assert_int_equal(imggen_webp(64, 64, &buf, &len), 0);
	assert_int_equal(media_image_decode(buf, len / 2, "image/webp", T_MP, 0, &img, NULL, NULL, err, sizeof(err)),
			 PL_INVAL);
	free(buf);
}

static void test_exif_stripped_and_upright(void **state)
{
	struct media_image img;
	struct media_photo ph;
	unsigned char *buf;
	size_t len;
	unsigned ow, oh;
	char err[256];
	static const unsigned char gps_lat[] = {0, 0, 0x0b, 0x7e, 0, 0, 0, 100}; /* 2942/100 */

	/* Orientation 6: stored sideways, shown rotated 90 degrees clockwise. */
	assert_int_equal(imggen_jpeg_exif(400, 200, 6, &buf, &len), 0);
	assert_true(imggen_contains(buf, len, "Exif", 4));
	assert_true(imggen_contains(buf, len, IMGGEN_EXIF_SECRET, strlen(IMGGEN_EXIF_SECRET)));
	assert_true(imggen_contains(buf, len, gps_lat, sizeof(gps_lat)));
	assert_int_equal(media_image_decode(buf, len, "image/jpeg", T_MP, 0, &img, &ow, &oh, err, sizeof(err)), 0);
	assert_int_equal(img.width, 200);
	assert_int_equal(img.height, 400);
	assert_int_equal(ow, 200);
	assert_int_equal(oh, 400);
	/* The stored top-left square is now top-right. */
	assert_true(img.rgb[(10 * 200 + 190) * 3] > 200);
	assert_true(img.rgb[(10 * 200 + 10) * 3 + 2] < 200);
	assert_int_equal(media_photo_sizes(&img, 2560, &ph), 0);
	assert_int_equal(ph.n, 3); /* 90, 320 and the full 200x400 */
	assert_int_equal(ph.sizes[0].type, 's');
	assert_int_equal(ph.sizes[0].width, 45);
	assert_int_equal(ph.sizes[0].height, 90);
	assert_int_equal(ph.sizes[1].type, 'm');
	assert_int_equal(ph.sizes[2].type, 'w');
	assert_int_equal(ph.sizes[2].width, 200);
	assert_int_equal(ph.sizes[2].height, 400);
	for (size_t i = 0; i < ph.n; i++) {
		const struct media_photo_size *s = &ph.sizes[i];
		struct media_image back;

		assert_false(imggen_contains(s->jpeg, s->len, "Exif", 4));
		assert_false(imggen_contains(s->jpeg, s->len, IMGGEN_EXIF_SECRET, 6));
		assert_false(imggen_contains(s->jpeg, s->len, gps_lat, sizeof(gps_lat)));
		assert_int_equal(media_image_decode(s->jpeg, s->len, "image/jpeg", T_MP, 0, &back, NULL, NULL, err,
						    sizeof(err)), 0);
		assert_int_equal(back.width, s->width);
		media_image_release(&back);
	}
	media_photo_release(&ph);
	media_image_release(&img);
	free(buf);
	/* Every orientation gives the right shape. */
	for (int o = 1; o <= 8; o++) {
		assert_int_equal(imggen_jpeg_exif(64, 32, o, &buf, &len), 0);
		assert_int_equal(media_image_decode(buf, len, "image/jpeg", T_MP, 0, &img, NULL, NULL, err, sizeof(err)),
				 0);
		assert_int_equal(img.width, o >= 5 ? 32 : 64);
		media_image_release(&img);
		free(buf);
	}
}

static void test_exif_parser(void **state)
{
	static const unsigned char le[] = "Exif\0\0II\x2a\0\x08\0\0\0\x01\0\x12\x01\x03\0\x01\0\0\0\x03\0\0\0\0\0\0\0";
	unsigned char bad[sizeof(le)];

	assert_int_equal(media_exif_orientation(le, sizeof(le) - 1), 3);
	assert_int_equal(media_exif_orientation(le, 20), 1);  /* cut */
	assert_int_equal(media_exif_orientation(NULL, 0), 1);
	memcpy(bad, le, sizeof(le));
	bad[10] = 0xff; /* IFD offset past the end */
	assert_int_equal(media_exif_orientation(bad, sizeof(le) - 1), 1);
	memcpy(bad, le, sizeof(le));
	bad[24] = 9; /* not 1-8 */
	assert_int_equal(media_exif_orientation(bad, sizeof(le) - 1), 1);
}

static void test_scale_and_sizes(void **state)
{
	struct media_image img, out;
	struct media_photo ph;
	unsigned char *buf;
	size_t len;
	char err[256];

	/* A uniform picture stays uniform whatever the ratio. */
	img.width = 1003;
	img.height = 501;
	img.rgb = malloc((size_t)img.width * img.height * 3);
	assert_non_null(img.rgb);
	memset(img.rgb, 77, (size_t)img.width * img.height * 3);
	assert_int_equal(media_image_scale(&img, 320, &out), 0);
	assert_int_equal(out.width, 320);
	assert_int_equal(out.height, 159);
	for (size_t i = 0; i < (size_t)out.width * out.height * 3; i++)
		assert_int_equal(out.rgb[i], 77);
	media_image_release(&out);
	media_image_release(&img);
	/* A large JPEG: decoded at a reduced scale, full size capped. */
	assert_int_equal(imggen_jpeg(6000, 3000, 3, &buf, &len), 0);
	assert_int_equal(media_image_decode(buf, len, "image/jpeg", T_MP, 2560, &img, NULL, NULL, err, sizeof(err)), 0);
	assert_int_equal(img.width, 3000); /* 1/2: still >= 2560 */
	assert_int_equal(media_photo_sizes(&img, 2560, &ph), 0);
	assert_int_equal(ph.n, 4);
	assert_int_equal(ph.sizes[3].width, 2560);
	assert_int_equal(ph.sizes[3].height, 1280);
	assert_int_equal(ph.sizes[2].width, 800);
	media_photo_release(&ph);
	media_image_release(&img);
	free(buf);
}

static void test_sniff(void **state)
{
	char err[256], mime[MEDIA_MIME_MAX];
	struct media_sniffer *s = media_sniffer_new(err, sizeof(err));
	unsigned char *buf;
	size_t len;

	assert_non_null(s);
	assert_int_equal(imggen_jpeg(32, 32, 1, &buf, &len), 0);
	media_sniff(s, buf, len, mime);
	assert_string_equal(mime, "image/jpeg");
	free(buf);
	assert_int_equal(imggen_png(32, 32, 0, &buf, &len), 0);
	media_sniff(s, buf, len, mime);
	assert_string_equal(mime, "image/png");
	free(buf);
	assert_int_equal(imggen_webp(32, 32, &buf, &len), 0);
	media_sniff(s, buf, len, mime);
	assert_string_equal(mime, "image/webp");
	free(buf);
	media_sniff(s, "%PDF-1.4\n%...\n", 14, mime);
	assert_string_equal(mime, "application/pdf");
	/* A name or a header saying otherwise changes nothing: only bytes count. */
	media_sniff(s, "<html><script>alert(1)</script></html>", 38, mime);
	assert_string_equal(mime, "text/html");
	assert_true(media_mime_active(mime));
	assert_false(media_mime_active("image/png"));
	media_sniff(s, "", 0, mime);
	assert_string_equal(mime, "application/octet-stream");
	assert_string_equal(media_mime_ext("image/jpeg"), "jpg");
	assert_string_equal(media_mime_ext("application/x-whatever"), "bin");
	assert_true(media_image_type("image/webp"));
	assert_false(media_image_type("image/gif"));
	media_sniffer_free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_decode_kinds),
		cmocka_unit_test(test_bombs),
		cmocka_unit_test(test_broken),
		cmocka_unit_test(test_exif_stripped_and_upright),
		cmocka_unit_test(test_exif_parser),
		cmocka_unit_test(test_scale_and_sizes),
		cmocka_unit_test(test_sniff),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
