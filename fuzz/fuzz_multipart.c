/*
 * fuzz_multipart.c — libFuzzer target for the streaming multipart/form-data
 * parser (src/net/multipart.c).  Seed corpus: fuzz/corpus/multipart/.
 *
 * Input: the boundary on the first line (up to '\n'; an invalid one is
 * replaced by "b"), then the body.  The body is fed in pieces whose sizes
 * come from a hash of the input, and again in one piece; both runs must
 * call back the same parts with the same headers and content (folded into a
 * digest) and end the same way: how bytes are split by the network must
 * never change what is parsed.  The callbacks check the contract as they
 * go: parts open and close in turn, names and file names are NUL-terminated
 * within their limits, and no more content comes out than went in.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "net/multipart.h"
#include "util/err.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct fz_run {
	uint64_t digest;
	size_t content;   /* bytes handed out */
	size_t limit;     /* bytes fed */
	unsigned parts;
	int open;
	int rc;
};

static uint64_t fz_mix(uint64_t h, const void *p, size_t n)
{
	const unsigned char *b = p;

	for (size_t i = 0; i < n; i++)
		h = (h ^ b[i]) * 1099511628211ULL;
	return h;
}

static uint64_t fz_next(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static int fz_begin(void *ctx, const struct mp_part *p)
{
	struct fz_run *r = ctx;

	if (r->open || strnlen(p->name, sizeof(p->name)) > MP_NAME_MAX ||
	    strnlen(p->filename, sizeof(p->filename)) > MP_FILENAME_MAX ||
	    strnlen(p->content_type, sizeof(p->content_type)) > MP_CTYPE_MAX || p->name[0] == '\0')
		abort();
	r->open = 1;
	r->parts++;
	r->digest = fz_mix(r->digest, p->name, strlen(p->name) + 1);
	r->digest = fz_mix(r->digest, p->filename, strlen(p->filename) + 1);
	r->digest = fz_mix(r->digest, &p->has_filename, sizeof(p->has_filename));
	r->digest = fz_mix(r->digest, p->content_type, strlen(p->content_type) + 1);
	return 0;
}

static int fz_data(void *ctx, const char *d, size_t n)
{
	struct fz_run *r = ctx;

	if (!r->open || n == 0)
		abort();
	r->content += n;
	if (r->content > r->limit)
		abort();
	r->digest = fz_mix(r->digest, d, n);
	return 0;
}

static int fz_end(void *ctx)
{
	struct fz_run *r = ctx;

	if (!r->open)
		abort();
	r->open = 0;
	r->digest = fz_mix(r->digest, "|", 1);
	return 0;
}

static const struct mp_callbacks fz_cb = {fz_begin, fz_data, fz_end};

static void fz_parse(struct fz_run *r, const char *boundary, const char *body, size_t len, uint64_t seed,
		     size_t chunk_max)
{
	struct mp_parser p;
	size_t off = 0;
	int rc = 0;

	memset(r, 0, sizeof(*r));
	r->limit = len;
	if (mp_parser_init(&p, boundary, &fz_cb, r) != 0)
		abort();
	while (off < len && rc == 0) {
		size_t n = chunk_max ? 1 + (size_t)(fz_next(&seed) % chunk_max) : len - off;

		if (n > len - off)
			n = len - off;
		rc = mp_parser_feed(&p, body + off, n);
		off += n;
	}
	if (rc == 0)
		rc = mp_parser_finish(&p);
	if (rc != 0 && rc != PL_INVAL && rc != PL_TOOBIG)
		abort();
	if (rc != 0 && mp_parser_feed(&p, "--", 2) != rc)
		abort(); /* errors stick */
	r->rc = rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const size_t chunk_max[4] = {1, 3, 64, 4096};
	char boundary[MP_BOUNDARY_MAX + 1] = "b", ct[MP_BOUNDARY_MAX + 64], check[MP_BOUNDARY_MAX + 1];
	const char *nl = memchr(data, '\n', size < 80 ? size : 80), *body;
	struct fz_run whole, split;
	uint64_t h = fz_mix(14695981039346656037ULL, data, size);
	size_t blen;

	if (nl != NULL && (size_t)(nl - (const char *)data) <= MP_BOUNDARY_MAX) {
		size_t n = (size_t)(nl - (const char *)data);

		memcpy(boundary, data, n);
		boundary[n] = '\0';
		body = nl + 1;
	} else {
		body = (const char *)data;
	}
	blen = size - (size_t)(body - (const char *)data);
	/* The boundary as a Content-Type carries it must round-trip. */
	memcpy(ct, "multipart/form-data; boundary=\"", 31);
	memcpy(ct + 31, boundary, strlen(boundary));
	memcpy(ct + 31 + strlen(boundary), "\"", 2);
	if (strchr(boundary, '"') == NULL && strchr(boundary, '\\') == NULL &&
	    mp_boundary_parse(ct, check) == 0 && strcmp(check, boundary) != 0)
		abort();
	if (mp_boundary_parse(ct, check) == 0)
		memcpy(boundary, check, strlen(check) + 1);
	else
		memcpy(boundary, "b", 2);
	fz_parse(&whole, boundary, body, blen, 0, 0);
	fz_parse(&split, boundary, body, blen, h | 1, chunk_max[h & 3]);
	if (whole.rc != split.rc || whole.digest != split.digest || whole.parts != split.parts ||
	    whole.content != split.content)
		abort();
	return 0;
}
