/*
 * buf.c — libparley's bounded byte buffer.  Every buffer that grows with
 * network input (reply headers, reply bodies) or user input (request bodies)
 * is created with a hard maximum and fails with PARLEY_ETOOBIG past it, so a
 * misbehaving server cannot make the client allocate without bound.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/parley_int.h"

#define BUF_MIN_CAP 256

void parley_buf_init(struct parley_buf *b, size_t max)
{
	b->p = NULL;
	b->len = 0;
	b->cap = 0;
	b->max = max;
}

void parley_buf_release(struct parley_buf *b)
{
	free(b->p);
	b->p = NULL;
	b->len = 0;
	b->cap = 0;
}

int parley_buf_reserve(struct parley_buf *b, size_t n)
{
	size_t need, cap;
	char *p;

	if (n > b->max || b->len > b->max - n)
		return PARLEY_ETOOBIG;
	need = b->len + n + 1; /* room for the NUL */
	if (need <= b->cap)
		return 0;
	cap = b->cap ? b->cap : BUF_MIN_CAP;
	while (cap < need)
		cap = cap > ((size_t)-1) / 2 ? need : cap * 2;
	if (cap > b->max + 1)
		cap = b->max + 1;
	p = realloc(b->p, cap);
	if (!p)
		return PARLEY_ENOMEM;
	b->p = p;
	b->cap = cap;
	return 0;
}

int parley_buf_add(struct parley_buf *b, const void *data, size_t n)
{
	int rc = parley_buf_reserve(b, n);

	if (rc < 0)
		return rc;
	if (n)
		memcpy(b->p + b->len, data, n);
	b->len += n;
	b->p[b->len] = '\0';
	return 0;
}

int parley_buf_adds(struct parley_buf *b, const char *s)
{
	return parley_buf_add(b, s, strlen(s));
}

int parley_buf_addf(struct parley_buf *b, const char *fmt, ...)
{
	va_list ap;
	int n, rc;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		return PARLEY_EINVAL;
	if ((rc = parley_buf_reserve(b, (size_t)n)) < 0)
		return rc;
	va_start(ap, fmt);
	vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
	return 0;
}

void parley_buf_consume(struct parley_buf *b, size_t n)
{
	if (n >= b->len) {
		b->len = 0;
	} else {
		memmove(b->p, b->p + n, b->len - n);
		b->len -= n;
	}
	if (b->p)
		b->p[b->len] = '\0';
}

char *parley_buf_detach(struct parley_buf *b, size_t *len)
{
	char *p;

	if (!b->p && parley_buf_reserve(b, 0) < 0)
		return NULL;
	b->p[b->len] = '\0';
	p = b->p;
	if (len)
		*len = b->len;
	b->p = NULL;
	b->len = 0;
	b->cap = 0;
	return p;
}
