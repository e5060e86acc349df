/* test_http_fields.c — Range, entity tags and Content-Disposition
 * (src/net/http_fields.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "net/http_fields.h"

static void t_range(const char *v, uint64_t size, int want, uint64_t f, uint64_t l)
{
	uint64_t first = 999, last = 999;
	int rc = net_range_parse(v, size, &first, &last);

	if (rc != want)
		fail_msg("Range \"%s\" of %llu: %d, want %d", v ? v : "(null)", (unsigned long long)size, rc, want);
	if (rc == NET_RANGE_PART && (first != f || last != l))
		fail_msg("Range \"%s\": %llu-%llu, want %llu-%llu", v, (unsigned long long)first,
			 (unsigned long long)last, (unsigned long long)f, (unsigned long long)l);
}

static void test_range(void **state)
{
	t_range(NULL, 100, NET_RANGE_ALL, 0, 0);
	t_range("bytes=0-9", 100, NET_RANGE_PART, 0, 9);
	t_range("bytes=10-", 100, NET_RANGE_PART, 10, 99);
	t_range("bytes=90-200", 100, NET_RANGE_PART, 90, 99);
	t_range("bytes=-10", 100, NET_RANGE_PART, 90, 99);
	t_range("bytes=-1000", 100, NET_RANGE_PART, 0, 99);
	t_range("Bytes = 5 - 6", 100, NET_RANGE_PART, 5, 6);
	t_range("bytes=99-99", 100, NET_RANGE_PART, 99, 99);
	t_range("bytes=100-", 100, NET_RANGE_UNSATISFIABLE, 0, 0);
	t_range("bytes=100-200", 100, NET_RANGE_UNSATISFIABLE, 0, 0);
	t_range("bytes=-0", 100, NET_RANGE_UNSATISFIABLE, 0, 0);
	t_range("bytes=0-", 0, NET_RANGE_UNSATISFIABLE, 0, 0);
	t_range("bytes=99999999999999999999999-", 100, NET_RANGE_UNSATISFIABLE, 0, 0);
	/* Ignored: served whole. */
	t_range("bytes=5-1", 100, NET_RANGE_ALL, 0, 0);
	t_range("bytes=0-1,5-6", 100, NET_RANGE_ALL, 0, 0);
	t_range("items=0-1", 100, NET_RANGE_ALL, 0, 0);
	t_range("bytes=-", 100, NET_RANGE_ALL, 0, 0);
	t_range("bytes=a-b", 100, NET_RANGE_ALL, 0, 0);
	t_range("bytes=1-2x", 100, NET_RANGE_ALL, 0, 0);
	t_range("bytes", 100, NET_RANGE_ALL, 0, 0);
}

static void test_etags(void **state)
{
	const char *e = "\"abc\"";

	assert_true(net_etag_match("\"abc\"", e));
	assert_true(net_etag_match("W/\"abc\"", e));
	assert_true(net_etag_match("\"x\", \"abc\"", e));
	assert_true(net_etag_match("*", e));
	assert_false(net_etag_match("\"abcd\"", e));
	assert_false(net_etag_match("abc", e));
	assert_false(net_etag_match("\"x\" \"abc\"", e));
	assert_false(net_etag_match("\"unterminated", e));
	assert_false(net_etag_match(NULL, e));
	assert_false(net_etag_match("", e));
	assert_true(net_if_range_ok(NULL, e));
	assert_true(net_if_range_ok("\"abc\"", e));
	assert_false(net_if_range_ok("W/\"abc\"", e));
	assert_false(net_if_range_ok("Wed, 21 Oct 2015 07:28:00 GMT", e));
	assert_false(net_if_range_ok("\"other\"", e));
}

static void test_disposition(void **state)
{
	char out[512];
	int n = net_content_disposition(out, sizeof(out), 1, "report.pdf");

	assert_int_equal(n, (int)strlen(out));
	assert_string_equal(out, "attachment; filename=\"report.pdf\"; filename*=UTF-8''report.pdf");
	net_content_disposition(out, sizeof(out), 0, "€ rates \"q\"\\%.txt");
	assert_string_equal(out, "inline; filename=\"_ rates _q___.txt\"; "
				 "filename*=UTF-8''%E2%82%AC%20rates%20%22q%22%5C%25.txt");
	/* Header injection is impossible: CR and LF are encoded. */
	net_content_disposition(out, sizeof(out), 1, "a\r\nSet-Cookie: x=1");
	assert_null(strchr(out, '\r'));
	assert_null(strchr(out, '\n'));
	assert_int_equal(net_content_disposition(out, sizeof(out), 1, ""), 10);
	assert_string_equal(out, "attachment");
	assert_int_equal(net_content_disposition(out, 20, 1, "a-rather-long-name.txt"), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_range),
		cmocka_unit_test(test_etags),
		cmocka_unit_test(test_disposition),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
