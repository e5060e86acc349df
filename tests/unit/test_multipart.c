/*
 * test_multipart.c — unit tests of the streaming multipart/form-data parser
 * (src/net/multipart.c): bodies in, parts out, fed whole and one byte at a
 * time (the split must never change the result).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "net/multipart.h"
#include "util/err.h"

#define T_OUT_MAX 65536

/* Everything the callbacks saw, as text: "[name|filename|type]content;" per
 * part ("-" for no filename). */
struct t_out {
	char s[T_OUT_MAX];
	size_t n;
	int open;
	int fail_at_part;   /* part_begin of this part (1-based) returns -77 */
	int parts;
};

static void t_add(struct t_out *o, const char *d, size_t n)
{
	assert_true(o->n + n < sizeof(o->s));
	memcpy(o->s + o->n, d, n);
	o->n += n;
	o->s[o->n] = '\0';
}

static int t_begin(void *ctx, const struct mp_part *p)
{
	struct t_out *o = ctx;
	char buf[2048];
	int n;

	assert_false(o->open);
	if (++o->parts == o->fail_at_part)
		return -77;
	n = snprintf(buf, sizeof(buf), "[%s|%s|%s]", p->name, p->has_filename ? p->filename : "-", p->content_type);
	t_add(o, buf, (size_t)n);
	o->open = 1;
	return 0;
}

static int t_data(void *ctx, const char *d, size_t n)
{
	struct t_out *o = ctx;

	assert_true(o->open);
	assert_true(n > 0);
	t_add(o, d, n);
	return 0;
}

static int t_end(void *ctx)
{
	struct t_out *o = ctx;

	assert_true(o->open);
	o->open = 0;
	t_add(o, ";", 1);
	return 0;
}

static const struct mp_callbacks t_cb = {t_begin, t_data, t_end};

/* Parses body with boundary b in steps of step bytes (0: whole); returns the
 * first error (feed or finish) and the parts in o. */
static int t_parse(struct t_out *o, const char *b, const char *body, size_t len, size_t step, int fail_at)
{
	struct mp_parser p;
	size_t off = 0;
	int rc = 0;

	memset(o, 0, sizeof(*o));
	o->fail_at_part = fail_at;
	assert_int_equal(mp_parser_init(&p, b, &t_cb, o), 0);
	if (step == 0)
		step = len ? len : 1;
	while (off < len && rc == 0) {
		size_t n = len - off < step ? len - off : step;

		rc = mp_parser_feed(&p, body + off, n);
		off += n;
	}
	if (rc == 0)
		rc = mp_parser_finish(&p);
	/* Errors stick. */
	if (rc != 0) {
		assert_int_equal(mp_parser_feed(&p, "x", 1), rc);
		assert_int_equal(mp_parser_finish(&p), rc);
	}
	return rc;
}

/* Both splits must agree; returns the result of the whole feed. */
static int t_both(struct t_out *o, const char *b, const char *body, size_t len)
{
	struct t_out *bytewise = malloc(sizeof(*bytewise));
	int rc, rc1;

	assert_non_null(bytewise);
	rc = t_parse(o, b, body, len, 0, 0);
	rc1 = t_parse(bytewise, b, body, len, 1, 0);
	assert_int_equal(rc, rc1);
	assert_string_equal(o->s, bytewise->s);
	free(bytewise);
	return rc;
}

static void test_form(void **state)
{
	static const char body[] =
		"preamble to ignore\r\n"
		"--AaB03x\r\n"
		"Content-Disposition: form-data; name=\"chat_id\"\r\n"
		"\r\n"
		"-100\r\n"
		"--AaB03x  \r\n" /* transport padding */
		"content-disposition: FORM-DATA; name=caption\r\n"
		"X-Other: whatever\r\n"
		"\r\n"
		"line 1\r\nline 2 \r-- not a boundary \r\n--AaB03 either\r\n"
		"--AaB03x\r\n"
		"Content-Disposition: form-data; name=\"photo\"; filename=\"a \\\"b\\\".jpg\"\r\n"
		"Content-Type: image/jpeg\r\n"
		"\r\n"
		"\xff\xd8\xff\r\n\r\n\x00\x01"
		"\r\n--AaB03x--\r\n"
		"epilogue --AaB03x\r\n";
	struct t_out o;

	assert_int_equal(t_both(&o, "AaB03x", body, sizeof(body) - 1), 0);
	assert_int_equal(o.n, strlen(o.s) + 3); /* the NUL byte in the photo, \x01 and ";" */
	assert_string_equal(o.s, "[chat_id|-|]-100;[caption|-|]line 1\r\nline 2 \r-- not a boundary \r\n--AaB03 either;"
				 "[photo|a \"b\".jpg|image/jpeg]\xff\xd8\xff\r\n\r\n");
	assert_memory_equal(o.s + o.n - 3, "\x00\x01;", 3);
}

static void test_start_without_crlf_and_empty_parts(void **state)
{
	static const char body[] = "--b\r\nContent-Disposition: form-data; name=a\r\n\r\n\r\n--b\r\n"
				   "Content-Disposition: form-data; name=b; filename=\"\"\r\n\r\n\r\n--b--";
	struct t_out o;

	assert_int_equal(t_both(&o, "b", body, sizeof(body) - 1), 0);
	assert_string_equal(o.s, "[a|-|];[b||];");
}

static void test_filename_star(void **state)
{
	static const char body[] =
		"--x\r\nContent-Disposition: form-data; name=f; filename=\"fallback.txt\"; "
		"filename*=UTF-8''%e2%82%ac%20rates.txt\r\n\r\nok\r\n--x\r\n"
		"Content-Disposition: form-data; name=g; filename*=iso-8859-1'en'%a3.txt; filename=plain.txt\r\n\r\n"
		"ok\r\n--x--\r\n";
	struct t_out o;

	assert_int_equal(t_both(&o, "x", body, sizeof(body) - 1), 0);
	assert_string_equal(o.s, "[f|\xe2\x82\xac rates.txt|]ok;[g|plain.txt|]ok;");
}

static void test_malformed(void **state)
{
	static const struct {
		const char *body;
		int rc;
	} cases[] = {
		{"", PL_INVAL},                                           /* nothing */
		{"--b\r\n", PL_INVAL},                                    /* no close */
		{"--b\r\nContent-Disposition: form-data; name=a\r\n\r\nabc", PL_INVAL}, /* truncated */
		{"--bX\r\n", PL_INVAL},                                   /* junk after the delimiter */
		{"--b\r\n\r\nabc\r\n--b--", PL_INVAL},                    /* no Content-Disposition */
		{"--b\r\nContent-Disposition: attachment; name=a\r\n\r\n\r\n--b--", PL_INVAL},
		{"--b\r\nContent-Disposition: form-data\r\n\r\n\r\n--b--", PL_INVAL}, /* no name */
		{"--b\r\nContent-Disposition: form-data; name=\"\"\r\n\r\n\r\n--b--", PL_INVAL}, /* an empty one */
		{"--b\r\nContent-Disposition: form-data; name=a; name=b\r\n\r\n\r\n--b--", PL_INVAL},
		{"--b\r\nContent-Disposition: form-data;\r\n name=a\r\n\r\n\r\n--b--", PL_INVAL}, /* folded */
		{"--b\r\nContent-Disposition: form-data; name=\"a\r\n\r\n\r\n--b--", PL_INVAL},
		{"--b\r\nContent-Disposition: form-data; name=a\nX: y\r\n\r\n\r\n--b--", PL_INVAL},
		{"--b\r\nBad Header: x\r\nContent-Disposition: form-data; name=a\r\n\r\n\r\n--b--", PL_INVAL},
		{"--b\r\nContent-Disposition: form-data; name=a; filename*=UTF-8''%00\r\n\r\n\r\n--b--", PL_INVAL},
		{"--b\r\nContent-Disposition: form-data; name=a\r\nContent-Disposition: form-data; name=a\r\n\r\n\r\n--b--",
		 PL_INVAL},
		{"--b-\r\n", PL_INVAL},
	};
	struct t_out o;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int rc = t_both(&o, "b", cases[i].body, strlen(cases[i].body));

		if (rc != cases[i].rc)
			fail_msg("case %zu: rc %d, want %d", i, rc, cases[i].rc);
	}
}

static void test_limits(void **state)
{
	char *body = malloc(3 * MP_HEADER_MAX);
	struct t_out o;
	int n;

	assert_non_null(body);
	/* A header block over MP_HEADER_MAX. */
	n = snprintf(body, 3 * MP_HEADER_MAX, "--b\r\nContent-Disposition: form-data; name=a\r\nX-Pad: ");
	memset(body + n, 'p', MP_HEADER_MAX);
	n += MP_HEADER_MAX;
	n += snprintf(body + n, 100, "\r\n\r\nx\r\n--b--");
	assert_int_equal(t_both(&o, "b", body, (size_t)n), PL_TOOBIG);
	/* A name over MP_NAME_MAX, and one just at it. */
	n = snprintf(body, 3 * MP_HEADER_MAX, "--b\r\nContent-Disposition: form-data; name=");
	memset(body + n, 'n', MP_NAME_MAX + 1);
	n += MP_NAME_MAX + 1;
	n += snprintf(body + n, 100, "\r\n\r\nx\r\n--b--");
	assert_int_equal(t_both(&o, "b", body, (size_t)n), PL_TOOBIG);
	n = snprintf(body, 3 * MP_HEADER_MAX, "--b\r\nContent-Disposition: form-data; name=");
	memset(body + n, 'n', MP_NAME_MAX);
	n += MP_NAME_MAX;
	n += snprintf(body + n, 100, "\r\n\r\nx\r\n--b--");
	assert_int_equal(t_both(&o, "b", body, (size_t)n), 0);
	free(body);
}

static void test_callback_error_stops(void **state)
{
	static const char body[] = "--b\r\nContent-Disposition: form-data; name=a\r\n\r\n1\r\n--b\r\n"
				   "Content-Disposition: form-data; name=b\r\n\r\n2\r\n--b--";
	struct t_out o;

	assert_int_equal(t_parse(&o, "b", body, sizeof(body) - 1, 0, 2), -77);
	assert_string_equal(o.s, "[a|-|]1;");
	assert_int_equal(t_parse(&o, "b", body, sizeof(body) - 1, 1, 2), -77);
}

static void test_boundary_parse(void **state)
{
	char b[MP_BOUNDARY_MAX + 1];
	char long_b[100];

	assert_int_equal(mp_boundary_parse("multipart/form-data; boundary=AaB03x", b), 0);
	assert_string_equal(b, "AaB03x");
	assert_int_equal(mp_boundary_parse("Multipart/Form-Data;charset=utf-8; BOUNDARY=\"a b:c\"", b), 0);
	assert_string_equal(b, "a b:c");
	assert_int_equal(mp_boundary_parse("multipart/form-data; boundary=\"ends in space \"", b), PL_INVAL);
	assert_int_equal(mp_boundary_parse("multipart/mixed; boundary=x", b), PL_INVAL);
	assert_int_equal(mp_boundary_parse("multipart/form-data", b), PL_INVAL);
	assert_int_equal(mp_boundary_parse("multipart/form-data; boundary=", b), PL_INVAL);
	assert_int_equal(mp_boundary_parse("multipart/form-data; boundary=a; boundary=b", b), PL_INVAL);
	assert_int_equal(mp_boundary_parse("multipart/form-data; boundary=\"a\r\nb\"", b), PL_INVAL);
	memset(long_b, 'x', 71);
	long_b[71] = '\0';
	{
		char ct[200];
		snprintf(ct, sizeof(ct), "multipart/form-data; boundary=%s", long_b);
		assert_int_equal(mp_boundary_parse(ct, b), PL_INVAL);
		long_b[70] = '\0';
		snprintf(ct, sizeof(ct), "multipart/form-data; boundary=%s", long_b);
		assert_int_equal(mp_boundary_parse(ct, b), 0);
		assert_int_equal(strlen(b), 70);
	}
	assert_int_equal(mp_boundary_parse(NULL, b), PL_INVAL);
}

/* Sums what a part hands out, checking it is never more than the input. */
struct t_sum {
	uint64_t sum, len;
	size_t max_piece;
};

static int t_sum_begin(void *ctx, const struct mp_part *p)
{
	return 0;
}

static int t_sum_data(void *ctx, const char *d, size_t n)
{
	struct t_sum *s = ctx;

	for (size_t i = 0; i < n; i++)
		s->sum = s->sum * 31 + (unsigned char)d[i];
	s->len += n;
	if (n > s->max_piece)
		s->max_piece = n;
	return 0;
}

static int t_sum_end(void *ctx)
{
	return 0;
}

static void test_large_part_streams(void **state)
{
	/* A big part is handed out in pieces as it is fed, never buffered
	 * whole; CR bytes in it (withheld while they might start a delimiter)
	 * come out in order. */
	static const struct mp_callbacks cb = {t_sum_begin, t_sum_data, t_sum_end};
	size_t n = 1 << 20, len;
	char *body = malloc(n + 200);
	struct mp_parser p;
	struct t_sum got = {0, 0, 0};
	uint64_t want = 0;
	int hdr;

	assert_non_null(body);
	hdr = snprintf(body, 200, "--zz\r\nContent-Disposition: form-data; name=f\r\n\r\n");
	for (size_t i = 0; i < n; i++) {
		body[hdr + i] = (i % 97 == 0) ? '\r' : (i % 89 == 0) ? '-' : (char)('a' + i % 26);
		want = want * 31 + (unsigned char)body[hdr + i];
	}
	len = (size_t)hdr + n;
	len += (size_t)snprintf(body + len, 200, "\r\n--zz--");
	assert_int_equal(mp_parser_init(&p, "zz", &cb, &got), 0);
	for (size_t off = 0; off < len; off += 4093) {
		size_t k = len - off < 4093 ? len - off : 4093;

		assert_int_equal(mp_parser_feed(&p, body + off, k), 0);
	}
	assert_int_equal(mp_parser_finish(&p), 0);
	assert_int_equal(got.len, n);
	assert_true(got.sum == want);
	assert_true(got.max_piece <= 4093);
	free(body);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_form),
		cmocka_unit_test(test_start_without_crlf_and_empty_parts),
		cmocka_unit_test(test_filename_star),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_callback_error_stops),
		cmocka_unit_test(test_boundary_parse),
		cmocka_unit_test(test_large_part_streams),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
