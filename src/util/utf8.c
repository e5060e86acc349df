/* utf8.c — a strict UTF-8 validator (RFC 3629) that also counts code points. */
#include <stdint.h>
#include <string.h>

#include "util/utf8.h"

#define ONES UINT64_C(0x0101010101010101)
#define HIGHS UINT64_C(0x8080808080808080)

/* 1 if the 8 bytes at p are all in 0x01-0x7F (ASCII without NUL): no high
 * bit set, and no zero byte (the classic "has a zero byte" test, exact
 * once no byte has its high bit set). */
static int ascii8(const unsigned char *p)
{
	uint64_t v;

	memcpy(&v, p, sizeof v);
	return ((v | ((v - ONES) & ~v)) & HIGHS) == 0;
}

/* Length of the sequence started by byte b, or 0 if b cannot start one. */
static int seq_len(unsigned char b)
{
	if (b >= 0x01 && b < 0x80)
		return 1;
	if (b >= 0xC2 && b <= 0xDF)
		return 2;
	if (b >= 0xE0 && b <= 0xEF)
		return 3;
	if (b >= 0xF0 && b <= 0xF4)
		return 4;
	return 0;
}

/* Checks the second byte against the ranges that exclude overlong forms,
 * surrogates and values above U+10FFFF. */
static int second_ok(unsigned char lead, unsigned char b)
{
	if (lead == 0xE0)
		return b >= 0xA0 && b <= 0xBF;
	if (lead == 0xED)
		return b >= 0x80 && b <= 0x9F;
	if (lead == 0xF0)
		return b >= 0x90 && b <= 0xBF;
	if (lead == 0xF4)
		return b >= 0x80 && b <= 0x8F;
	return b >= 0x80 && b <= 0xBF;
}

long utf8_count(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0;
	long n = 0;

	while (i < len) {
		/* Text is mostly ASCII: 8 bytes a step while it is. */
		if (p[i] < 0x80) {
			while (i + 8 <= len && ascii8(p + i)) {
				i += 8;
				n += 8;
			}
			if (i == len)
				break;
		}
		int k = seq_len(p[i]);
		if (k == 0 || i + (size_t)k > len)
			return -1;
		if (k > 1 && !second_ok(p[i], p[i + 1]))
			return -1;
		for (int j = 2; j < k; j++)
			if ((p[i + j] & 0xC0) != 0x80)
				return -1;
		i += (size_t)k;
		n++;
	}
	return n;
}
