/*
 * parley_int.h — libparley's private contract between its files (never
 * installed, never included by the CLI).  Every symbol here still carries the
 * parley_ prefix, so the static library exports nothing else.
 *
 *   buf.c     bounded growable byte buffers
 *   error.c   struct parley_error helpers and parley_strerror()
 *   url.c     http:// URL parsing
 *   http.c    the HTTP/1.1 connection: connect, send, parse replies
 *   client.c  clients, parley_call() and the reply envelope
 *   api.c     typed conveniences over parley_call()
 *   config.c  the CLI's config file
 */
#ifndef PARLEY_LIB_INT_H
#define PARLEY_LIB_INT_H

#include <stdarg.h>
#include <stddef.h>

#include "parley.h"

/* --- buf.c: a byte buffer with a hard maximum (curl's dynbuf). ---------- */

struct parley_buf {
	char *p;       /* NUL-terminated when len > 0 or after any add */
	size_t len;
	size_t cap;
	size_t max;    /* len never exceeds max */
};

void parley_buf_init(struct parley_buf *b, size_t max);
/* Frees the contents; b may be reused after parley_buf_init(). */
void parley_buf_release(struct parley_buf *b);
/* Appends n bytes.  PARLEY_ETOOBIG past max, PARLEY_ENOMEM. */
int parley_buf_add(struct parley_buf *b, const void *data, size_t n);
int parley_buf_adds(struct parley_buf *b, const char *s);
int parley_buf_addf(struct parley_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Makes room for n more bytes (plus a NUL) without changing len.
 * PARLEY_ETOOBIG if len + n > max. */
int parley_buf_reserve(struct parley_buf *b, size_t n);
/* Drops the first n bytes (n <= len). */
void parley_buf_consume(struct parley_buf *b, size_t n);
/* Hands the contents to the caller (malloc'd, NUL-terminated, never NULL on
 * success) and empties b.  NULL on allocation failure. */
char *parley_buf_detach(struct parley_buf *b, size_t *len);

/* --- error.c --------------------------------------------------------- */

/* Fills err (may be NULL) for a client-side failure rc with a formatted
 * description; the code is derived from rc.  Returns rc. */
int parley_error_set(struct parley_error *err, int rc, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Client-side code name of rc: "NETWORK_ERROR", "PROTOCOL_ERROR", ... */
const char *parley_rc_code(int rc);

/* Copies at most len-1 bytes of src into dst, cutting on a UTF-8 character
 * boundary, always NUL-terminating (len > 0). */
void parley_strlcpy_utf8(char *dst, const char *src, size_t len);

/* --- client state ------------------------------------------------------ */

struct parley_client {
	struct parley_url url;
	char server[PARLEY_URL_MAX + 1];
	char token[PARLEY_TOKEN_MAX + 1];   /* "" when not logged in */
	char device[PARLEY_DEVICE_MAX + 1]; /* "" when unset */
	int timeout_ms;                     /* <= 0: no deadline */
	int fd;                             /* kept-alive connection or -1 */
	unsigned long fd_requests;          /* replies read on fd so far */
	unsigned long connects;             /* connections opened in total */
};

/* --- http.c ------------------------------------------------------------ */

struct parley_http_req {
	const char *method;        /* "GET", "POST", ... */
	const char *path;          /* starts with '/', prefix not included */
	const char *content_type;  /* NULL: no body headers unless body given */
	const char *body;
	size_t body_len;
};

struct parley_http_resp {
	int status;
	struct parley_buf body;    /* init'd by parley_http_do, caller releases */
};

/* Sends req on c's connection (connecting, and reconnecting once if a
 * kept-alive connection was found closed) and reads the whole reply.
 * Returns 0 with resp filled (release resp->body even on failure), or a
 * negative parley_rc with err filled. */
int parley_http_do(struct parley_client *c, const struct parley_http_req *req,
		   struct parley_http_resp *resp, struct parley_error *err);

/* Closes c's connection if open. */
void parley_http_close(struct parley_client *c);

#endif
