/* http_fields.c — Range, entity tags and Content-Disposition (http_fields.h). */
#include "net/http_fields.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

/* Reads decimal digits at *p into *v (saturating); returns how many. */
static size_t nf_digits(const char **p, uint64_t *v)
{
	size_t n = 0;

	*v = 0;
	while (**p >= '0' && **p <= '9') {
		unsigned d = (unsigned)(**p - '0');

		*v = *v > (UINT64_MAX - d) / 10 ? UINT64_MAX : *v * 10 + d;
		(*p)++;
		n++;
	}
	return n;
}

static const char *nf_ows(const char *p)
{
	while (*p == ' ' || *p == '\t')
		p++;
	return p;
}

int net_range_parse(const char *value, uint64_t size, uint64_t *first, uint64_t *last)
{
	const char *p;
	uint64_t a = 0, b = 0;
	size_t na, nb;

	if (value == NULL)
		return NET_RANGE_ALL;
	p = nf_ows(value);
	if (strncasecmp(p, "bytes", 5) != 0)
		return NET_RANGE_ALL;
	p = nf_ows(p + 5);
	if (*p++ != '=')
		return NET_RANGE_ALL;
	p = nf_ows(p);
	if (strchr(p, ',') != NULL)
		return NET_RANGE_ALL; /* several ranges: served whole */
	na = nf_digits(&p, &a);
	p = nf_ows(p);
	if (*p++ != '-')
		return NET_RANGE_ALL;
	p = nf_ows(p);
	nb = nf_digits(&p, &b);
	if (*nf_ows(p) != '\0' || (na == 0 && nb == 0))
		return NET_RANGE_ALL;
	if (na == 0) {
		/* A suffix: the last b bytes. */
		if (b == 0 || size == 0)
			return NET_RANGE_UNSATISFIABLE;
		*first = b >= size ? 0 : size - b;
		*last = size - 1;
		return NET_RANGE_PART;
	}
	if (nb > 0 && b < a)
		return NET_RANGE_ALL; /* invalid: ignored */
	if (a >= size)
		return NET_RANGE_UNSATISFIABLE;
	*first = a;
	*last = nb == 0 || b >= size ? size - 1 : b;
	return NET_RANGE_PART;
}

/* Compares the tag at p (len n, maybe "W/"-prefixed) with etag, weakly. */
static int nf_tag_eq(const char *p, size_t n, const char *etag)
{
	if (n >= 2 && p[0] == 'W' && p[1] == '/') {
		p += 2;
		n -= 2;
	}
	return n == strlen(etag) && memcmp(p, etag, n) == 0;
}

int net_etag_match(const char *list, const char *etag)
{
	const char *p = list;

	while (p != NULL && *p != '\0') {
		const char *end;

		p = nf_ows(p);
		if (*p == '*')
			return 1;
		/* A tag is [W/]"...": its end is the closing quote. */
		end = p;
		if (end[0] == 'W' && end[1] == '/')
			end += 2;
		if (*end != '"')
			return 0;
		end = strchr(end + 1, '"');
		if (end == NULL)
			return 0;
		end++;
		if (nf_tag_eq(p, (size_t)(end - p), etag))
			return 1;
		p = nf_ows(end);
		if (*p != ',')
			return 0;
		p++;
	}
	return 0;
}

int net_if_range_ok(const char *value, const char *etag)
{
	size_t n;

	if (value == NULL)
		return 1;
	value = nf_ows(value);
	n = strlen(value);
	while (n > 0 && (value[n - 1] == ' ' || value[n - 1] == '\t'))
		n--;
	/* A date, or a weak tag, never allows a range of a content-addressed file. */
	return value[0] == '"' && n == strlen(etag) && memcmp(value, etag, n) == 0;
}

/* RFC 8187 attr-char. */
static int nf_attr_char(unsigned char c)
{
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
		return 1;
	return c != '\0' && strchr("!#$&+-.^_`|~", c) != NULL;
}

int net_content_disposition(char *out, size_t cap, int attachment, const char *filename)
{
	static const char hex[] = "0123456789ABCDEF";
	const char *kind = attachment ? "attachment" : "inline";
	size_t n = 0;
	int k;

	if (filename == NULL || filename[0] == '\0') {
		k = snprintf(out, cap, "%s", kind);
		return k < 0 || (size_t)k >= cap ? -1 : k;
	}
	k = snprintf(out, cap, "%s; filename=\"", kind);
	if (k < 0 || (size_t)k >= cap)
		return -1;
	n = (size_t)k;
	/* The fallback: printable ASCII but for quote, backslash and percent;
	 * each byte of anything else (a UTF-8 sequence) becomes one '_'. */
	for (const unsigned char *p = (const unsigned char *)filename; *p; p++) {
		unsigned char c = *p;

		if ((c & 0xC0) == 0x80)
			continue; /* continuation byte: its lead byte gave the '_' */
		if (n + 1 >= cap)
			return -1;
		out[n++] = (c >= 0x20 && c < 0x7f && c != '"' && c != '\\' && c != '%') ? (char)c : '_';
	}
	k = snprintf(out + n, cap - n, "\"; filename*=UTF-8''");
	if (k < 0 || (size_t)k >= cap - n)
		return -1;
	n += (size_t)k;
	for (const unsigned char *p = (const unsigned char *)filename; *p; p++) {
		if (nf_attr_char(*p)) {
			if (n + 1 >= cap)
				return -1;
			out[n++] = (char)*p;
		} else {
			if (n + 3 >= cap)
				return -1;
			out[n++] = '%';
			out[n++] = hex[*p >> 4];
			out[n++] = hex[*p & 15];
		}
	}
	out[n] = '\0';
	return (int)n;
}
