/*
 * textbuf.h — a growable text buffer with a hard maximum (curl's
 * curlx_dyn_init(s, toobig)), for replies built as text: it fails cleanly
 * with PL_TOOBIG instead of growing past the maximum its owner names.
 *
 * Ownership: the buffer owns its bytes until textbuf_steal hands them to the
 * caller (who frees them with free()); textbuf_release frees them otherwise.
 * A buffer set up with textbuf_init_buf starts in the caller's memory (a
 * stack array, kept alive while the buffer is used and never freed by it)
 * and mallocs only if the text outgrows it.
 * After a failed add the buffer keeps what it had and every later add fails
 * too, so a caller may build a whole text and check once at the end.
 */
#ifndef PL_UTIL_TEXTBUF_H
#define PL_UTIL_TEXTBUF_H

#include <stddef.h>
#include <stdint.h>

struct textbuf {
	char *s;        /* NUL-terminated once anything was added; NULL before */
	size_t len, cap;
	size_t max;     /* bytes of text allowed, the NUL not counted */
	int err;        /* the first failure (a negative pl_err), sticky */
	char *fixed;    /* the caller's first buffer (textbuf_init_buf), or NULL */
};

/* Sets up an empty buffer that may hold up to max bytes. */
void textbuf_init(struct textbuf *b, size_t max);
/* The same, the text kept in buf (cap bytes, the NUL included; borrowed)
 * until it outgrows it. */
void textbuf_init_buf(struct textbuf *b, size_t max, char *buf, size_t cap);
void textbuf_release(struct textbuf *b);
/* Appends n bytes of s: 0, or PL_TOOBIG / PL_NOMEM (also if an earlier add failed). */
int textbuf_add(struct textbuf *b, const char *s, size_t n);
/* Appends a NUL-terminated string. */
int textbuf_puts(struct textbuf *b, const char *s);
/* Takes the last byte back if it is c (e.g. reopens a JSON object just
 * closed, to add members to it): 1 if it did, 0 if the text ends otherwise,
 * is empty or an add failed. */
int textbuf_unput(struct textbuf *b, char c);
/* Appends v in decimal (as printf's %lld). */
int textbuf_add_i64(struct textbuf *b, int64_t v);
/* Bytes textbuf_fmt_i64 writes at most: 20 characters and the NUL. */
#define TEXTBUF_I64_SZ 21
/* Writes v in decimal (as printf's %lld), NUL-terminated, at out, which
 * holds TEXTBUF_I64_SZ bytes; returns its length.  Keys and tokens made on
 * every call use it instead of snprintf (~600 instructions a call). */
size_t textbuf_fmt_i64(char *out, int64_t v);
/* Appends printf-style text (at most 255 bytes per call). */
int textbuf_addf(struct textbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Hands the text (malloc'd, NUL-terminated, "" if empty; copied out of
 * the caller's buffer if it is still there) to the caller and leaves the
 * buffer empty; NULL if an add failed or memory is short.  *len (may be
 * NULL) gets its length. */
char *textbuf_steal(struct textbuf *b, size_t *len);

#endif
