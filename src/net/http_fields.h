/*
 * http_fields.h — values of HTTP header fields the file server reads and
 * writes: Range (RFC 9110 14.2: one range of bytes), entity tags for
 * If-None-Match and If-Range (RFC 9110 8.8.3, 13.1), and Content-Disposition
 * with a file name that survives any bytes a user gave it (RFC 6266 with
 * RFC 8187's filename*).  Pure functions, no sockets; tests/unit/
 * test_http_fields.c covers them.
 */
#ifndef PL_NET_HTTP_FIELDS_H
#define PL_NET_HTTP_FIELDS_H

#include <stddef.h>
#include <stdint.h>

/* What a Range header asks of a representation of size bytes. */
enum net_range {
	NET_RANGE_ALL = 0,           /* no Range, or one to ignore: send it all (200) */
	NET_RANGE_PART = 1,          /* bytes [*first, *last]: 206 */
	NET_RANGE_UNSATISFIABLE = 2, /* none of it is in the representation: 416 */
};

/* Reads value (NULL: no header).  Only "bytes=" with a single range is
 * served; other units, several ranges and malformed values are ignored, as
 * RFC 9110 allows.  Returns an enum net_range. */
int net_range_parse(const char *value, uint64_t size, uint64_t *first, uint64_t *last);

/* Does the If-None-Match value list (NULL: no) hold etag (a quoted tag,
 * e.g. "\"abc\"")?  Weak comparison ("W/" ignored); "*" matches. */
int net_etag_match(const char *list, const char *etag);

/* Does an If-Range value (NULL: none) allow the range?  Only an identical
 * strong tag does; no header does too. */
int net_if_range_ok(const char *value, const char *etag);

/* Writes a Content-Disposition value for a file name (UTF-8, may be NULL or
 * ""): `attachment` or `inline`, then filename="..." with only safe ASCII
 * (anything else becomes '_') and filename*=UTF-8''<percent-encoded>.
 * Returns the length, or -1 if it does not fit cap. */
int net_content_disposition(char *out, size_t cap, int attachment, const char *filename);

#endif
