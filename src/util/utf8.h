/*
 * utf8.h — UTF-8 validation and counting.
 */
#ifndef PL_UTIL_UTF8_H
#define PL_UTIL_UTF8_H

#include <stddef.h>

/* Returns the number of code points in s (len bytes), or -1 if s is not
 * valid UTF-8 (overlong forms, surrogates, code points above U+10FFFF and
 * NUL bytes are all invalid). */
long utf8_count(const char *s, size_t len);

#endif
