/*
 * swar.h — tests on 8 bytes at a time in a 64-bit word ("SIMD within a
 * register"), for the scanners of JSON strings (the envelope reader and
 * the text renderer).  Header-only; no state.
 */
#ifndef PARLEY_UTIL_SWAR_H
#define PARLEY_UTIL_SWAR_H

#include <stdint.h>
#include <string.h>

#define SWAR_ONES UINT64_C(0x0101010101010101)
#define SWAR_HIGHS UINT64_C(0x8080808080808080)

/* The 8 bytes at p as one word (any alignment). */
static inline uint64_t swar_load(const unsigned char *p)
{
	uint64_t v;

	memcpy(&v, p, sizeof v);
	return v;
}

/* Nonzero if one of the 8 bytes of v is a control character (below 0x20),
 * '"' or '\\' — what a JSON string cannot hold as it is.  Bytes from 0x80 up
 * do not count.  Exact as a whole (the "has a byte below n" and "has a zero
 * byte" word tests); which bit is set is not. */
static inline uint64_t swar_json_special(uint64_t v)
{
	uint64_t q = v ^ (SWAR_ONES * '"'), b = v ^ (SWAR_ONES * '\\');

	return (((v - SWAR_ONES * 0x20) & ~v) | ((q - SWAR_ONES) & ~q) | ((b - SWAR_ONES) & ~b)) & SWAR_HIGHS;
}

#endif
