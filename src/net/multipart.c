/*
 * multipart.c — the streaming multipart/form-data parser (contract in
 * multipart.h).
 *
 * Finding delimiters.  Every delimiter is CRLF "--" BOUNDARY; the first may
 * also come at the very start of the body, which the parser treats as if a
 * CRLF came before it (it starts with two delimiter bytes matched).  Bytes
 * that might be the start of a delimiter are withheld (p->match of them) and
 * are always exactly delim[0..match), so they need no buffer of their own:
 * on a mismatch they are handed out from delim itself.  A boundary cannot
 * hold CR, so a partial match can only restart at a CR, which is the first
 * delimiter byte: no KMP table is needed.  Runs of content without CR are
 * handed out in one piece (memchr).
 */
#include "net/multipart.h"

#include <string.h>
#include <strings.h>

#include "util/err.h"

/* RFC 2046 bcharsnospace, plus space (not last). */
static int mp_bchar(unsigned char c)
{
	if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))
		return 1;
	return c != '\0' && strchr("'()+_,-./:=? ", c) != NULL;
}

static int mp_boundary_valid(const char *b, size_t n)
{
	if (n < 1 || n > MP_BOUNDARY_MAX || b[n - 1] == ' ')
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!mp_bchar((unsigned char)b[i]))
			return 0;
	return 1;
}

static int mp_is_ows(char c)
{
	return c == ' ' || c == '\t';
}

static int mp_tchar(unsigned char c)
{
	if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))
		return 1;
	return c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

/* ---- parameters: name=token / name="quoted" -------------------------------- */

/* A cursor over a header value. */
struct mp_cur {
	const char *p, *end;
};

static void mp_skip_ows(struct mp_cur *c)
{
	while (c->p < c->end && mp_is_ows(*c->p))
		c->p++;
}

/* Reads a token into [*s, *n).  0, or PL_INVAL if there is none. */
static int mp_token(struct mp_cur *c, const char **s, size_t *n)
{
	const char *start = c->p;

	while (c->p < c->end && mp_tchar((unsigned char)*c->p))
		c->p++;
	*s = start;
	*n = (size_t)(c->p - start);
	return *n ? 0 : PL_INVAL;
}

/* Reads a token or quoted-string value into out (cap bytes, NUL included),
 * removing quoting.  PL_TOOBIG if it does not fit, PL_INVAL if malformed or
 * if it holds a NUL. */
static int mp_value(struct mp_cur *c, char *out, size_t cap)
{
	size_t n = 0;

	if (c->p < c->end && *c->p == '"') {
		c->p++;
		for (;;) {
			char ch;

			if (c->p >= c->end)
				return PL_INVAL;
			ch = *c->p++;
			if (ch == '"')
				break;
			if (ch == '\\') {
				if (c->p >= c->end)
					return PL_INVAL;
				ch = *c->p++;
			}
			if (ch == '\0' || ch == '\r' || ch == '\n')
				return PL_INVAL;
			if (n + 1 >= cap)
				return PL_TOOBIG;
			out[n++] = ch;
		}
	} else {
		const char *s;
		size_t len;

		if (mp_token(c, &s, &len) < 0)
			return PL_INVAL;
		if (len + 1 > cap)
			return PL_TOOBIG;
		memcpy(out, s, len);
		n = len;
	}
	out[n] = '\0';
	return 0;
}

static int mp_hex(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* RFC 8187 ext-value: charset "'" [language] "'" pct-encoded.  Decodes a
 * UTF-8 one into out; returns 1 if it was decoded, 0 if its charset is not
 * UTF-8 (ignored), or a negative error. */
static int mp_ext_value(const char *v, char *out, size_t cap)
{
	const char *q1 = strchr(v, '\''), *q2, *p;
	size_t n = 0;

	if (q1 == NULL || (q2 = strchr(q1 + 1, '\'')) == NULL)
		return PL_INVAL;
	if ((size_t)(q1 - v) != 5 || strncasecmp(v, "utf-8", 5) != 0)
		return 0;
	for (p = q2 + 1; *p != '\0'; p++) {
		int ch = (unsigned char)*p;

		if (ch == '%') {
			int hi = mp_hex(p[1]), lo = hi < 0 ? -1 : mp_hex(p[2]);

			if (hi < 0 || lo < 0)
				return PL_INVAL;
			ch = hi * 16 + lo;
			p += 2;
		}
		if (ch == 0)
			return PL_INVAL;
		if (n + 1 >= cap)
			return PL_TOOBIG;
		out[n++] = (char)ch;
	}
	out[n] = '\0';
	return 1;
}

/* Content-Disposition: form-data *( ";" param ). */
static int mp_disposition(const char *v, size_t len, struct mp_part *part)
{
	struct mp_cur c = {v, v + len};
	char ext[MP_FILENAME_MAX + 1], raw[3 * MP_FILENAME_MAX + 16];
	const char *s;
	size_t n;
	int have_name = 0, have_ext = 0, rc;

	if (mp_token(&c, &s, &n) < 0 || n != 9 || strncasecmp(s, "form-data", 9) != 0)
		return PL_INVAL;
	for (;;) {
		mp_skip_ows(&c);
		if (c.p == c.end)
			break;
		if (*c.p++ != ';')
			return PL_INVAL;
		mp_skip_ows(&c);
		if (c.p == c.end)
			break; /* a trailing ';' */
		if (mp_token(&c, &s, &n) < 0)
			return PL_INVAL;
		mp_skip_ows(&c);
		if (c.p == c.end || *c.p++ != '=')
			return PL_INVAL;
		mp_skip_ows(&c);
		if (n == 4 && strncasecmp(s, "name", 4) == 0) {
			if (have_name)
				return PL_INVAL;
			if ((rc = mp_value(&c, part->name, sizeof(part->name))) < 0)
				return rc;
			have_name = 1;
		} else if (n == 8 && strncasecmp(s, "filename", 8) == 0) {
			if (part->has_filename)
				return PL_INVAL;
			if ((rc = mp_value(&c, part->filename, sizeof(part->filename))) < 0)
				return rc;
			part->has_filename = 1;
		} else if (n == 9 && strncasecmp(s, "filename*", 9) == 0) {
			if (have_ext)
				return PL_INVAL;
			if ((rc = mp_value(&c, raw, sizeof(raw))) < 0)
				return rc;
			if ((rc = mp_ext_value(raw, ext, sizeof(ext))) < 0)
				return rc;
			have_ext = rc;
		} else {
			/* Another parameter: read past its value. */
			if ((rc = mp_value(&c, raw, sizeof(raw))) < 0)
				return rc;
		}
	}
	if (!have_name || part->name[0] == '\0')
		return PL_INVAL;
	if (have_ext) {
		memcpy(part->filename, ext, strlen(ext) + 1);
		part->has_filename = 1;
	}
	return 0;
}

/* Parses the header block hdr[0..len) (its lines, each ending with CRLF,
 * then the empty line's CRLF) into part. */
static int mp_headers(const char *hdr, size_t len, struct mp_part *part)
{
	const char *p = hdr, *end = hdr + len - 2; /* the empty line's CRLF */
	int have_disp = 0, have_type = 0, rc;

	memset(part, 0, sizeof(*part));
	while (p < end) {
		const char *eol = memchr(p, '\r', (size_t)(end - p)), *colon, *v, *ve;
		size_t vlen;

		if (eol == NULL || eol + 1 >= hdr + len || eol[1] != '\n')
			return PL_INVAL;
		if (mp_is_ows(*p) || memchr(p, '\n', (size_t)(eol - p)) != NULL)
			return PL_INVAL; /* a folded line, or a bare LF */
		if ((colon = memchr(p, ':', (size_t)(eol - p))) == NULL || colon == p)
			return PL_INVAL;
		for (const char *q = p; q < colon; q++)
			if (!mp_tchar((unsigned char)*q))
				return PL_INVAL;
		v = colon + 1;
		ve = eol;
		while (v < ve && mp_is_ows(*v))
			v++;
		while (ve > v && mp_is_ows(ve[-1]))
			ve--;
		vlen = (size_t)(ve - v);
		if (memchr(v, '\0', vlen) != NULL)
			return PL_INVAL;
		if (colon - p == 19 && strncasecmp(p, "content-disposition", 19) == 0) {
			if (have_disp)
				return PL_INVAL;
			if ((rc = mp_disposition(v, vlen, part)) < 0)
				return rc;
			have_disp = 1;
		} else if (colon - p == 12 && strncasecmp(p, "content-type", 12) == 0) {
			if (have_type)
				return PL_INVAL;
			if (vlen > MP_CTYPE_MAX)
				return PL_TOOBIG;
			memcpy(part->content_type, v, vlen);
			part->content_type[vlen] = '\0';
			have_type = 1;
		}
		p = eol + 2;
	}
	return have_disp ? 0 : PL_INVAL;
}

/* ---- the boundary ------------------------------------------------------------ */

int mp_boundary_parse(const char *ct, char *out)
{
	struct mp_cur c;
	const char *s;
	size_t n;
	char val[MP_BOUNDARY_MAX + 2];
	int found = 0, rc;

	if (ct == NULL)
		return PL_INVAL;
	c.p = ct;
	c.end = ct + strlen(ct);
	mp_skip_ows(&c);
	if ((size_t)(c.end - c.p) < 19 || strncasecmp(c.p, "multipart/form-data", 19) != 0)
		return PL_INVAL;
	c.p += 19;
	for (;;) {
		mp_skip_ows(&c);
		if (c.p == c.end)
			break;
		if (*c.p++ != ';')
			return PL_INVAL;
		mp_skip_ows(&c);
		if (c.p == c.end)
			break;
		if (mp_token(&c, &s, &n) < 0)
			return PL_INVAL;
		mp_skip_ows(&c);
		if (c.p == c.end || *c.p++ != '=')
			return PL_INVAL;
		mp_skip_ows(&c);
		if ((rc = mp_value(&c, val, sizeof(val))) < 0)
			return PL_INVAL;
		if (n == 8 && strncasecmp(s, "boundary", 8) == 0) {
			if (found)
				return PL_INVAL;
			if (!mp_boundary_valid(val, strlen(val)))
				return PL_INVAL;
			memcpy(out, val, strlen(val) + 1);
			found = 1;
		}
	}
	return found ? 0 : PL_INVAL;
}

int mp_parser_init(struct mp_parser *p, const char *boundary, const struct mp_callbacks *cb, void *ctx)
{
	size_t n = boundary ? strlen(boundary) : 0;

	memset(p, 0, sizeof(*p));
	if (!mp_boundary_valid(boundary, n) || cb == NULL || !cb->part_begin || !cb->part_data || !cb->part_end) {
		p->err = PL_INVAL;
		return PL_INVAL;
	}
	p->cb = *cb;
	p->ctx = ctx;
	memcpy(p->delim, "\r\n--", 4);
	memcpy(p->delim + 4, boundary, n);
	p->dlen = n + 4;
	p->match = 2; /* the body's start counts as a CRLF */
	p->state = MP_PREAMBLE;
	return 0;
}

/* ---- feeding ------------------------------------------------------------------ */

static int mp_fail(struct mp_parser *p, int rc)
{
	if (p->err == 0)
		p->err = rc < 0 ? rc : PL_INVAL;
	return p->err;
}

/* Hands content to the part (nothing in the preamble). */
static int mp_emit(struct mp_parser *p, const char *data, size_t len)
{
	int rc;

	if (len == 0 || p->state != MP_BODY)
		return 0;
	if ((rc = p->cb.part_data(p->ctx, data, len)) < 0)
		return mp_fail(p, rc);
	return 0;
}

/* Scans data for the delimiter in the preamble or a part.  Returns the
 * bytes used: all of them, or up to and including the delimiter (then the
 * state has moved on).  Negative on a callback's error. */
static long mp_scan(struct mp_parser *p, const char *data, size_t len)
{
	size_t i = 0;
	int rc;

	while (i < len) {
		if (p->match == 0) {
			const char *cr = memchr(data + i, '\r', len - i);
			size_t stop = cr ? (size_t)(cr - data) : len;

			if ((rc = mp_emit(p, data + i, stop - i)) < 0)
				return rc;
			i = stop;
			if (cr == NULL)
				break;
			p->match = 1;
			i++;
			continue;
		}
		if (data[i] == p->delim[p->match]) {
			i++;
			if (++p->match < p->dlen)
				continue;
			/* A delimiter: the part before it is complete. */
			p->match = 0;
			if (p->state == MP_BODY && (rc = p->cb.part_end(p->ctx)) < 0)
				return mp_fail(p, rc);
			p->state = MP_AFTER_DELIM;
			return (long)i;
		}
		/* Not a delimiter after all: what was withheld is content. */
		if ((rc = mp_emit(p, p->delim, p->match)) < 0)
			return rc;
		p->match = 0;
	}
	return (long)i;
}

/* Reads header bytes up to the empty line that ends the block, then begins
 * the part.  Returns the bytes used, or a negative error. */
static long mp_header_bytes(struct mp_parser *p, const char *data, size_t len)
{
	struct mp_part part;
	size_t i = 0;
	int done = 0, rc;

	while (i < len && !done) {
		if (p->hlen >= sizeof(p->hdr))
			return mp_fail(p, PL_TOOBIG);
		p->hdr[p->hlen++] = data[i++];
		/* An empty block is one CRLF; else it ends with CRLF CRLF. */
		done = (p->hlen == 2 && memcmp(p->hdr, "\r\n", 2) == 0) ||
		       (p->hlen >= 4 && memcmp(p->hdr + p->hlen - 4, "\r\n\r\n", 4) == 0);
	}
	if (!done)
		return (long)i;
	if ((rc = mp_headers(p->hdr, p->hlen, &part)) < 0)
		return mp_fail(p, rc);
	p->hlen = 0;
	p->parts++;
	if ((rc = p->cb.part_begin(p->ctx, &part)) < 0)
		return mp_fail(p, rc);
	p->state = MP_BODY;
	return (long)i;
}

int mp_parser_feed(struct mp_parser *p, const char *data, size_t len)
{
	size_t i = 0;
	long used;

	if (p->err)
		return p->err;
	while (i < len) {
		char c = data[i];

		switch (p->state) {
		case MP_PREAMBLE:
		case MP_BODY:
			if ((used = mp_scan(p, data + i, len - i)) < 0)
				return (int)used;
			i += (size_t)used;
			break;
		case MP_AFTER_DELIM:
			i++;
			if (c == '-')
				p->state = MP_CLOSE_DASH;
			else if (mp_is_ows(c))
				p->state = MP_PADDING;
			else if (c == '\r')
				p->state = MP_DELIM_LF;
			else
				return mp_fail(p, PL_INVAL);
			break;
		case MP_PADDING:
			i++;
			if (c == '\r')
				p->state = MP_DELIM_LF;
			else if (!mp_is_ows(c))
				return mp_fail(p, PL_INVAL);
			break;
		case MP_DELIM_LF:
			i++;
			if (c != '\n')
				return mp_fail(p, PL_INVAL);
			p->state = MP_HEADERS;
			p->hlen = 0;
			break;
		case MP_CLOSE_DASH:
			i++;
			if (c != '-')
				return mp_fail(p, PL_INVAL);
			p->state = MP_DONE;
			break;
		case MP_HEADERS:
			if ((used = mp_header_bytes(p, data + i, len - i)) < 0)
				return (int)used;
			i += (size_t)used;
			break;
		default: /* MP_DONE: the epilogue */
			return 0;
		}
	}
	return 0;
}

int mp_parser_finish(struct mp_parser *p)
{
	if (p->err)
		return p->err;
	if (p->state != MP_DONE)
		return mp_fail(p, PL_INVAL);
	return 0;
}
