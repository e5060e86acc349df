/*
 * imggen.h — pictures the tests make themselves (no binary files in the
 * repository): JPEGs with libjpeg, PNGs with libpng, WebPs with libwebp,
 * JPEGs with an EXIF segment carrying GPS tags spliced in, and the broken
 * ones the limits are tested with (decompression bombs, truncated files,
 * corrupt chunks).  Every function returns 0, or -1 when out of memory;
 * *out is malloc'd (the caller frees it).
 */
#ifndef PL_TESTS_IMGGEN_H
#define PL_TESTS_IMGGEN_H

#include <stddef.h>

/* A w x h picture: a colour gradient with a bright square in the top-left
 * quarter (so that orientation can be checked), seeded. */
int imggen_jpeg(unsigned w, unsigned h, int seed, unsigned char **out, size_t *len);
int imggen_png(unsigned w, unsigned h, int alpha, unsigned char **out, size_t *len);
int imggen_webp(unsigned w, unsigned h, unsigned char **out, size_t *len);

/* The text and GPS values imggen_jpeg_exif writes; none may survive. */
#define IMGGEN_EXIF_SECRET "SECRET-HOME-ADDRESS-48.8583N"

/* A JPEG with an APP1 EXIF segment: Orientation (1-8), ImageDescription
 * IMGGEN_EXIF_SECRET and a GPS IFD (latitude 48/1 51/1 2942/100 N,
 * longitude 2/1 17/1 4032/100 E). */
int imggen_jpeg_exif(unsigned w, unsigned h, int orientation, unsigned char **out, size_t *len);

/* Decompression bombs: valid small files whose headers claim w x h. */
int imggen_png_bomb(unsigned w, unsigned h, unsigned char **out, size_t *len);
int imggen_jpeg_bomb(unsigned w, unsigned h, unsigned char **out, size_t *len);

/* Breaks a PNG in place: flips a byte inside its IDAT data (the chunk's
 * CRC no longer matches).  Returns 0, or -1 if there is no IDAT. */
int imggen_png_corrupt(unsigned char *png, size_t len);

/* Does buf[0..len) contain needle[0..n)? */
int imggen_contains(const unsigned char *buf, size_t len, const void *needle, size_t n);

#endif
