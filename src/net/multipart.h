/*
 * multipart.h — a streaming multipart/form-data parser (RFC 7578 on the
 * syntax of RFC 2046 5.1), socket-free: the caller feeds the body as it
 * arrives, in pieces of any size, and gets each part's headers once and its
 * content as it streams, never holding more than one part's header block
 * (MP_HEADER_MAX bytes) whatever the size of the parts.  fuzz/fuzz_multipart.c
 * fuzzes it; the upload path of src/api uses it.
 *
 * What it accepts.  The body is: a preamble (ignored), "--BOUNDARY" at the
 * very start or after CRLF, optional spaces or tabs, CRLF, a part, then
 * CRLF "--BOUNDARY" and so on, and the closing CRLF "--BOUNDARY--" after
 * which everything (the epilogue) is ignored.  A part is a header block of
 * at most MP_HEADER_MAX bytes ending with an empty line, then its content.
 * Each part must have "Content-Disposition: form-data" with a name (not
 * empty); it may
 * have a filename (filename*=UTF-8''... wins over filename=) and a
 * Content-Type; other headers are ignored; folded header lines are refused.
 * Names, file names and types longer than their buffers are refused, not cut.
 *
 * Errors are sticky: once a call fails, every later call returns the same.
 *   PL_INVAL   malformed (including a body that ends before the close)
 *   PL_TOOBIG  a header block, name, file name or type over its limit
 *   or whatever negative value a callback returned.
 */
#ifndef PL_NET_MULTIPART_H
#define PL_NET_MULTIPART_H

#include <stddef.h>

#define MP_BOUNDARY_MAX 70    /* RFC 2046: 1..70 characters */
#define MP_HEADER_MAX 8192    /* bytes of one part's header block */
#define MP_NAME_MAX 128       /* bytes of a field name, NUL not counted */
#define MP_FILENAME_MAX 1024  /* bytes of a file name, NUL not counted */
#define MP_CTYPE_MAX 255      /* bytes of a part's Content-Type, NUL not counted */

/* One part's headers, as far as form-data uses them. */
struct mp_part {
	char name[MP_NAME_MAX + 1];
	char filename[MP_FILENAME_MAX + 1]; /* "" if none (see has_filename) */
	int has_filename;                   /* a filename parameter was given (may be "") */
	char content_type[MP_CTYPE_MAX + 1]; /* "" if none */
};

/* Each returns 0 to go on or a negative value that stops the parser (and is
 * returned from mp_parser_feed).  data is valid during the call only. */
struct mp_callbacks {
	int (*part_begin)(void *ctx, const struct mp_part *part);
	int (*part_data)(void *ctx, const char *data, size_t len);
	int (*part_end)(void *ctx);
};

enum mp_state {
	MP_PREAMBLE = 0, /* before the first delimiter */
	MP_AFTER_DELIM,  /* after a delimiter: "--", padding or CRLF */
	MP_PADDING,      /* spaces and tabs after a delimiter */
	MP_DELIM_LF,     /* CR after a delimiter: LF next */
	MP_CLOSE_DASH,   /* one '-' after a delimiter: the second next */
	MP_HEADERS,      /* a part's header block */
	MP_BODY,         /* a part's content */
	MP_DONE,         /* after the closing delimiter: the epilogue */
};

/* The parser.  Embed it and set it up with mp_parser_init(); it holds no
 * memory besides itself. */
struct mp_parser {
	struct mp_callbacks cb;
	void *ctx;
	char delim[MP_BOUNDARY_MAX + 5]; /* CRLF "--" boundary */
	size_t dlen;
	size_t match;                    /* delimiter bytes matched (withheld) */
	int state;                       /* enum mp_state */
	int err;                         /* the sticky error, 0 if none */
	unsigned parts;                  /* parts begun */
	char hdr[MP_HEADER_MAX];         /* the header block being read */
	size_t hlen;
};

/* Takes the boundary out of a Content-Type value ("multipart/form-data;
 * boundary=..." — quoted or not, the type and parameter name in any case)
 * into out (MP_BOUNDARY_MAX + 1 bytes).  Returns 0, or PL_INVAL if the type
 * is not multipart/form-data or the boundary is missing or not 1-70 of the
 * characters RFC 2046 allows. */
int mp_boundary_parse(const char *content_type, char *out);

/* Sets p up for boundary (as mp_boundary_parse gives it; PL_INVAL if it is
 * not a valid one).  cb is copied; ctx is passed back. */
int mp_parser_init(struct mp_parser *p, const char *boundary, const struct mp_callbacks *cb, void *ctx);

/* Parses len more bytes of the body.  Returns 0 or a negative error (see
 * above); after an error nothing more is called back. */
int mp_parser_feed(struct mp_parser *p, const char *data, size_t len);

/* The body ended: 0 if the closing delimiter was seen, else PL_INVAL (a
 * part left open is not ended with part_end). */
int mp_parser_finish(struct mp_parser *p);

#endif
