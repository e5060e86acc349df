/* envelope.c — reads a WebSocket call's envelope without a JSON tree
 * (envelope.h).  One pass over the frame: every string is unescaped into
 * one arena as it is read; whatever the reader does not take exactly as
 * jansson would, it declines, and the caller asks jansson. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/envelope.h"
#include "util/err.h"
#include "util/swar.h"
#include "util/utf8.h"

struct rd {
	const unsigned char *p, *end;
	char *out;                       /* the arena's next free byte */
	const char *keys[ENVELOPE_FIELDS_MAX];
	size_t nkeys;                    /* top-level keys seen, for duplicates */
};

static void rd_space(struct rd *r)
{
	while (r->p < r->end && (*r->p == ' ' || *r->p == '\t' || *r->p == '\n' || *r->p == '\r'))
		r->p++;
}

static int hex4(const unsigned char *p, unsigned *v)
{
	*v = 0;
	for (int k = 0; k < 4; k++) {
		unsigned c = p[k], d;
		if (c >= '0' && c <= '9')
			d = c - '0';
		else if (c >= 'a' && c <= 'f')
			d = c - 'a' + 10;
		else if (c >= 'A' && c <= 'F')
			d = c - 'A' + 10;
		else
			return -1;
		*v = *v << 4 | d;
	}
	return 0;
}

static char *put_utf8(char *o, unsigned cp)
{
	if (cp < 0x80) {
		*o++ = (char)cp;
	} else if (cp < 0x800) {
		*o++ = (char)(0xC0 | cp >> 6);
		*o++ = (char)(0x80 | (cp & 0x3F));
	} else if (cp < 0x10000) {
		*o++ = (char)(0xE0 | cp >> 12);
		*o++ = (char)(0x80 | (cp >> 6 & 0x3F));
		*o++ = (char)(0x80 | (cp & 0x3F));
	} else {
		*o++ = (char)(0xF0 | cp >> 18);
		*o++ = (char)(0x80 | (cp >> 12 & 0x3F));
		*o++ = (char)(0x80 | (cp >> 6 & 0x3F));
		*o++ = (char)(0x80 | (cp & 0x3F));
	}
	return o;
}

/* One \uXXXX escape (or a surrogate pair of two) at r->p, just after the
 * "\u".  jansson refuses \u0000, a lone low surrogate and a high one not
 * followed by "\u" and a low one: so does this (declining). */
static int rd_unicode(struct rd *r, char **o)
{
	unsigned cp, lo;

	if (r->end - r->p < 4 || hex4(r->p, &cp) < 0 || cp == 0 || (cp >= 0xDC00 && cp <= 0xDFFF))
		return PL_DECLINED;
	r->p += 4;
	if (cp >= 0xD800 && cp <= 0xDBFF) {
		if (r->end - r->p < 6 || r->p[0] != '\\' || r->p[1] != 'u' || hex4(r->p + 2, &lo) < 0 || lo < 0xDC00 ||
		    lo > 0xDFFF)
			return PL_DECLINED;
		r->p += 6;
		cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
	}
	*o = put_utf8(*o, cp);
	return 0;
}

/* Bytes a string copies as they are: printable ASCII but the quote and
 * the backslash (1); everything else stops the copy loop (0). */
static const unsigned char plain[256] = {
#define X16 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1
	[0x20] = 1, 1, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	[0x30] = X16, X16,
	[0x50] = 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 1, 1, 1,
	[0x60] = X16,
	[0x70] = 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
#undef X16
};

/* 1 if the 8 bytes at p are all plain (see plain[]): none has its high bit
 * set, is below 0x20, or is the quote or the backslash. */
static int plain8(const unsigned char *p)
{
	uint64_t v = swar_load(p);

	return ((v & SWAR_HIGHS) | swar_json_special(v)) == 0;
}

/* A string at r->p (its opening quote), unescaped into the arena and
 * NUL-terminated.  With raw set, a string with any escape is declined (a
 * string id, kept as its token).  *ascii tells whether it is all ASCII
 * (then its length is its count of characters). */
static int rd_string(struct rd *r, const char **s, size_t *len, int raw, int *ascii)
{
	char *o = r->out;
	int high = 0;

	r->p++;
	for (;;) {
		const unsigned char *q = r->p;
		unsigned c;
		/* Text is mostly plain ASCII: 8 bytes a step while it is. */
		while (r->end - q >= 8 && plain8(q))
			q += 8;
		while (q < r->end && plain[*q])
			q++;
		memcpy(o, r->p, (size_t)(q - r->p));
		o += q - r->p;
		r->p = q;
		if (r->p >= r->end)
			return PL_DECLINED;
		c = *r->p++;
		if (c == '"')
			break;
		if (c < 0x20)
			return PL_DECLINED;
		if (c >= 0x80)
			high = 1;
		if (c != '\\') {
			*o++ = (char)c;
			continue;
		}
		if (raw || r->p >= r->end)
			return PL_DECLINED;
		switch (c = *r->p++) {
		case '"':
		case '\\':
		case '/':
			*o++ = (char)c;
			break;
		case 'b':
			*o++ = '\b';
			break;
		case 'f':
			*o++ = '\f';
			break;
		case 'n':
			*o++ = '\n';
			break;
		case 'r':
			*o++ = '\r';
			break;
		case 't':
			*o++ = '\t';
			break;
		case 'u':
			if (rd_unicode(r, &o) < 0)
				return PL_DECLINED;
			if ((unsigned char)o[-1] >= 0x80)
				high = 1;
			break;
		default:
			return PL_DECLINED;
		}
	}
	/* Escapes give whole UTF-8 sequences, never starting with a
	 * continuation byte: the output is valid exactly when the raw bytes
	 * were. */
	if (high && utf8_count(r->out, (size_t)(o - r->out)) < 0)
		return PL_DECLINED;
	*o = '\0';
	*s = r->out;
	*len = (size_t)(o - r->out);
	*ascii = !high;
	r->out = o + 1;
	return 0;
}

/* An integer in jansson's range (strtoll's): no leading zeros, no
 * fraction or exponent (a real is declined). */
static int rd_int(struct rd *r, int64_t *out)
{
	int neg = 0;
	uint64_t v = 0, lim;

	if (*r->p == '-') {
		neg = 1;
		r->p++;
	}
	if (r->p >= r->end || *r->p < '0' || *r->p > '9')
		return PL_DECLINED;
	lim = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
	if (*r->p == '0') {
		r->p++;
	} else {
		while (r->p < r->end && *r->p >= '0' && *r->p <= '9') {
			unsigned d = *r->p++ - '0';
			if (v > (lim - d) / 10)
				return PL_DECLINED;
			v = v * 10 + d;
		}
	}
	if (r->p < r->end && (*r->p == '.' || *r->p == 'e' || *r->p == 'E' || (*r->p >= '0' && *r->p <= '9')))
		return PL_DECLINED;
	*out = neg ? (v == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)v) : (int64_t)v;
	return 0;
}

static int rd_word(struct rd *r, const char *w, size_t n)
{
	if ((size_t)(r->end - r->p) < n || memcmp(r->p, w, n) != 0)
		return PL_DECLINED;
	r->p += n;
	return 0;
}

/* A scalar value at r->p; an object or array is declined. */
static int rd_scalar(struct rd *r, struct envelope_value *v, int raw)
{
	if (r->p >= r->end)
		return PL_DECLINED;
	switch (*r->p) {
	case '"':
		v->kind = ENVELOPE_STR;
		return rd_string(r, &v->s, &v->len, raw, &v->ascii);
	case 't':
		v->kind = ENVELOPE_BOOL;
		v->i = 1;
		return rd_word(r, "true", 4);
	case 'f':
		v->kind = ENVELOPE_BOOL;
		v->i = 0;
		return rd_word(r, "false", 5);
	case 'n':
		v->kind = ENVELOPE_NULL;
		return rd_word(r, "null", 4);
	default:
		v->kind = ENVELOPE_INT;
		return rd_int(r, &v->i);
	}
}

/* After a member: "," (another follows: 1) or "}" (the end: 0). */
static int rd_next(struct rd *r)
{
	rd_space(r);
	if (r->p < r->end && *r->p == ',') {
		r->p++;
		rd_space(r);
		return 1;
	}
	if (r->p < r->end && *r->p == '}') {
		r->p++;
		return 0;
	}
	return PL_DECLINED;
}

/* A key and its colon; the key is unescaped into the arena. */
static int rd_key(struct rd *r, const char **key)
{
	size_t n;
	int ascii;

	if (r->p >= r->end || *r->p != '"' || rd_string(r, key, &n, 0, &ascii) < 0)
		return PL_DECLINED;
	rd_space(r);
	if (r->p >= r->end || *r->p != ':')
		return PL_DECLINED;
	r->p++;
	rd_space(r);
	return 0;
}

/* The params object at r->p (its "{"): flat, scalars only. */
static int rd_params(struct rd *r, struct envelope *e)
{
	int more;

	r->p++;
	rd_space(r);
	if (r->p < r->end && *r->p == '}') {
		r->p++;
		return 0;
	}
	do {
		struct envelope_field *f;
		if (e->n == ENVELOPE_FIELDS_MAX)
			return PL_DECLINED;
		f = &e->params[e->n];
		if (rd_key(r, &f->key) < 0)
			return PL_DECLINED;
		for (size_t i = 0; i < e->n; i++)
			if (e->params[i].key[0] == f->key[0] && !strcmp(e->params[i].key, f->key))
				return PL_DECLINED; /* jansson: duplicate object key */
		if (rd_scalar(r, &f->v, 0) < 0)
			return PL_DECLINED;
		e->n++;
	} while ((more = rd_next(r)) == 1);
	return more;
}

/* One top-level member's value, by its key. */
static int rd_member(struct rd *r, struct envelope *e, const char *key)
{
	struct envelope_value ignored;

	if (!strcmp(key, "id")) {
		if (rd_scalar(r, &e->id, 1) < 0)
			return PL_DECLINED;
		if (e->id.kind == ENVELOPE_STR) {
			/* Kept as its token (it has no escapes: the same bytes
			 * as jansson's dump): the text moved up one byte, the
			 * quotes around it.  The arena's room for it is counted
			 * in envelope_parse. */
			char *t = r->out - e->id.len - 1;
			memmove(t + 1, t, e->id.len);
			t[0] = '"';
			t[e->id.len + 1] = '"';
			t[e->id.len + 2] = '\0';
			e->id.s = t;
			e->id.len += 2;
			r->out += 2;
		}
		return 0;
	}
	if (!strcmp(key, "method"))
		return rd_scalar(r, &e->method, 0);
	if (!strcmp(key, "params")) {
		if (r->p >= r->end || *r->p != '{')
			return PL_DECLINED; /* null or another non-object: jansson's path answers it */
		e->has_params = 1;
		return rd_params(r, e);
	}
	return rd_scalar(r, &ignored, 0);
}

static int rd_envelope(struct rd *r, struct envelope *e)
{
	int more;

	rd_space(r);
	if (r->p >= r->end || *r->p != '{')
		return PL_DECLINED;
	r->p++;
	rd_space(r);
	if (r->p < r->end && *r->p == '}') {
		r->p++;
		more = 0;
	} else {
		do {
			const char *key;
			if (r->nkeys == ENVELOPE_FIELDS_MAX || rd_key(r, &key) < 0)
				return PL_DECLINED;
			for (size_t i = 0; i < r->nkeys; i++)
				if (r->keys[i][0] == key[0] && !strcmp(r->keys[i], key))
					return PL_DECLINED;
			r->keys[r->nkeys++] = key;
			if (rd_member(r, e, key) < 0)
				return PL_DECLINED;
		} while ((more = rd_next(r)) == 1);
	}
	if (more < 0)
		return more;
	rd_space(r);
	return r->p == r->end ? 0 : PL_DECLINED;
}

int envelope_parse(struct envelope *e, const char *text, size_t len)
{
	struct rd r;
	int rc;

	memset(e, 0, sizeof *e);
	/* Each string token of k bytes (quotes included) unescapes into at
	 * most k - 1 bytes with its NUL; the id's token, kept whole, into k + 1
	 * (there is one: a second "id" is a duplicate). */
	if (!(e->arena = malloc(len + 2)))
		return PL_NOMEM;
	r.p = (const unsigned char *)text;
	r.end = r.p + len;
	r.out = e->arena;
	r.nkeys = 0;
	if ((rc = rd_envelope(&r, e)) < 0)
		envelope_release(e);
	return rc;
}

const struct envelope_value *envelope_param(const struct envelope *e, const char *key)
{
	for (size_t i = 0; i < e->n; i++)
		if (e->params[i].key[0] == key[0] && !strcmp(e->params[i].key, key)) /* most keys differ at once */
			return &e->params[i].v;
	return NULL;
}

const char *envelope_id_json(const struct envelope_value *id, char buf[ENVELOPE_ID_BUF], size_t *len)
{
	const char *s;

	switch (id->kind) {
	case ENVELOPE_STR:
		*len = id->len;
		return id->s;
	case ENVELOPE_INT: { /* digits from the end, without snprintf */
		uint64_t u = id->i < 0 ? (uint64_t)0 - (uint64_t)id->i : (uint64_t)id->i;
		char *o = buf + ENVELOPE_ID_BUF;
		do
			*--o = (char)('0' + u % 10);
		while ((u /= 10) != 0);
		if (id->i < 0)
			*--o = '-';
		*len = (size_t)(buf + ENVELOPE_ID_BUF - o);
		return o;
	}
	case ENVELOPE_BOOL:
		s = id->i ? "true" : "false";
		break;
	default:
		s = "null";
		break;
	}
	*len = strlen(s);
	return s;
}

void envelope_move(struct envelope *to, struct envelope *from)
{
	memcpy(to, from, offsetof(struct envelope, params));
	memcpy(to->params, from->params, from->n * sizeof from->params[0]);
	to->n = from->n;
	to->arena = from->arena;
	from->arena = NULL;
}

void envelope_release(struct envelope *e)
{
	free(e->arena);
	e->arena = NULL;
}
