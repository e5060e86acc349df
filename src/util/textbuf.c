/* textbuf.c — growable text with a hard maximum (textbuf.h). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/err.h"
#include "util/textbuf.h"

/* Bytes of the first allocation: a message's update or reply (~500-900
 * bytes) fits without a realloc, and the chunk is still small enough for
 * glibc's per-thread cache (requests up to 1,032 bytes). */
#define TEXTBUF_FIRST 1024

void textbuf_init(struct textbuf *b, size_t max)
{
	memset(b, 0, sizeof *b);
	b->max = max;
}

void textbuf_init_buf(struct textbuf *b, size_t max, char *buf, size_t cap)
{
	textbuf_init(b, max);
	if (buf && cap > 0) {
		b->s = b->fixed = buf;
		b->cap = cap;
		buf[0] = '\0';
	}
}

void textbuf_release(struct textbuf *b)
{
	if (b->s != b->fixed)
		free(b->s);
	textbuf_init(b, b->max);
}

/* Makes room for n more bytes and the NUL. */
static int textbuf_grow(struct textbuf *b, size_t n)
{
	size_t need, cap;
	char *s;

	if (b->err)
		return b->err;
	if (n > b->max - b->len) {
		b->err = PL_TOOBIG;
		return b->err;
	}
	need = b->len + n + 1;
	if (need <= b->cap)
		return 0;
	for (cap = b->cap ? b->cap : TEXTBUF_FIRST; cap < need; cap *= 2)
		;
	if (cap > b->max + 1)
		cap = b->max + 1;
	if (b->s && b->s == b->fixed) { /* out of the caller's buffer */
		if ((s = malloc(cap)))
			memcpy(s, b->s, b->len + 1);
	} else {
		s = realloc(b->s, cap);
	}
	if (!s) {
		b->err = PL_NOMEM;
		return b->err;
	}
	b->s = s;
	b->cap = cap;
	return 0;
}

int textbuf_add(struct textbuf *b, const char *s, size_t n)
{
	int rc;

	if ((rc = textbuf_grow(b, n)) < 0)
		return rc;
	memcpy(b->s + b->len, s, n);
	b->len += n;
	b->s[b->len] = '\0';
	return 0;
}

int textbuf_puts(struct textbuf *b, const char *s)
{
	return textbuf_add(b, s, strlen(s));
}

int textbuf_unput(struct textbuf *b, char c)
{
	if (b->err || b->len == 0 || b->s[b->len - 1] != c)
		return 0;
	b->s[--b->len] = '\0';
	return 1;
}

size_t textbuf_fmt_i64(char *out, int64_t v)
{
	char tmp[TEXTBUF_I64_SZ], *p = tmp + sizeof tmp;
	uint64_t u = v < 0 ? -(uint64_t)v : (uint64_t)v;
	size_t n;

	*--p = '\0';
	do {
		*--p = (char)('0' + u % 10);
		u /= 10;
	} while (u);
	if (v < 0)
		*--p = '-';
	n = (size_t)(tmp + sizeof tmp - p);
	memcpy(out, p, n);
	return n - 1;
}

int textbuf_add_i64(struct textbuf *b, int64_t v)
{
	char tmp[TEXTBUF_I64_SZ];
	size_t n = textbuf_fmt_i64(tmp, v);

	return textbuf_add(b, tmp, n);
}

int textbuf_addf(struct textbuf *b, const char *fmt, ...)
{
	char tmp[256];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(tmp, sizeof tmp, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof tmp) {
		if (!b->err)
			b->err = PL_TOOBIG;
		return b->err;
	}
	return textbuf_add(b, tmp, (size_t)n);
}

char *textbuf_steal(struct textbuf *b, size_t *len)
{
	char *s;

	if (b->err || (!b->s && textbuf_add(b, "", 0) < 0)) {
		textbuf_release(b);
		return NULL;
	}
	s = b->s;
	if (s == b->fixed && !(s = malloc(b->len + 1))) {
		textbuf_release(b);
		return NULL;
	}
	if (s != b->s)
		memcpy(s, b->s, b->len + 1);
	if (len)
		*len = b->len;
	b->s = NULL;
	textbuf_init(b, b->max);
	return s;
}
