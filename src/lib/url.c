/*
 * url.c — parses the server URLs libparley accepts: http://host[:port][/prefix]
 * with a name, an IPv4 address or a bracketed IPv6 literal as host.  Anything
 * else (https, user info, queries) is refused with a reason rather than
 * guessed at, because a wrong guess would send a session token somewhere the
 * user did not mean.
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "lib/parley_int.h"

#define URL_SCHEME "http://"
#define URL_SCHEME_LEN (sizeof(URL_SCHEME) - 1)

static int url_fail(char *errbuf, size_t errlen, const char *why, const char *url)
{
	if (errbuf && errlen)
		snprintf(errbuf, errlen, "invalid server URL \"%.200s\": %s", url, why);
	return PARLEY_EINVAL;
}

static int url_host_char(int ch, int ipv6)
{
	if (isalnum(ch) || ch == '.' || ch == '-')
		return 1;
	if (ipv6)
		return ch == ':' || ch == '%';
	return ch == '_';
}

/* Parses ":port" or "" at s (n bytes) into out->port. */
static int url_parse_port(const char *s, size_t n, struct parley_url *out)
{
	unsigned long port = 0;

	if (n == 0) {
		snprintf(out->port, sizeof(out->port), "80");
		return 0;
	}
	if (s[0] != ':' || n < 2 || n > 6)
		return -1;
	for (size_t i = 1; i < n; i++) {
		if (!isdigit((unsigned char)s[i]))
			return -1;
		port = port * 10 + (unsigned long)(s[i] - '0');
	}
	if (port < 1 || port > 65535)
		return -1;
	snprintf(out->port, sizeof(out->port), "%lu", port);
	return 0;
}

/* Parses the authority (host[:port]) of n bytes at a into out. */
static int url_parse_authority(const char *a, size_t n, struct parley_url *out, const char **why)
{
	const char *host = a, *rest;
	size_t hlen;

	if (memchr(a, '@', n)) {
		*why = "user info in URLs is not supported";
		return -1;
	}
	if (n > 0 && a[0] == '[') {
		const char *close = memchr(a, ']', n);

		if (!close) {
			*why = "missing ']' after the IPv6 address";
			return -1;
		}
		host = a + 1;
		hlen = (size_t)(close - host);
		rest = close + 1;
		out->ipv6 = 1;
	} else {
		const char *colon = memchr(a, ':', n);

		hlen = colon ? (size_t)(colon - a) : n;
		rest = a + hlen;
		if (colon && memchr(colon + 1, ':', n - hlen - 1)) {
			*why = "IPv6 addresses must be written in brackets, e.g. http://[::1]:8080";
			return -1;
		}
	}
	if (hlen == 0 || hlen > PARLEY_HOST_MAX) {
		*why = hlen ? "the host name is too long" : "the host is empty";
		return -1;
	}
	for (size_t i = 0; i < hlen; i++) {
		if (!url_host_char((unsigned char)host[i], out->ipv6)) {
			*why = "the host has characters that are not allowed";
			return -1;
		}
	}
	memcpy(out->host, host, hlen);
	out->host[hlen] = '\0';
	if (url_parse_port(rest, (size_t)(a + n - rest), out) < 0) {
		*why = "the port must be a number from 1 to 65535";
		return -1;
	}
	return 0;
}

/* Copies the path prefix (without trailing slashes) into out->prefix. */
static int url_parse_prefix(const char *p, struct parley_url *out, const char **why)
{
	size_t n = strlen(p);

	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)p[i];

		if (ch == '?' || ch == '#') {
			*why = "queries and fragments are not supported";
			return -1;
		}
		if (ch <= 0x20 || ch >= 0x7f) {
			*why = "the path has spaces or characters that are not allowed";
			return -1;
		}
	}
	while (n > 0 && p[n - 1] == '/')
		n--;
	memcpy(out->prefix, p, n);
	out->prefix[n] = '\0';
	return 0;
}

int parley_url_parse(const char *url, struct parley_url *out, char *errbuf, size_t errlen)
{
	const char *auth, *slash, *why = NULL;
	size_t alen;

	memset(out, 0, sizeof(*out));
	if (!url || !*url)
		return url_fail(errbuf, errlen, "empty", "");
	if (strlen(url) > PARLEY_URL_MAX)
		return url_fail(errbuf, errlen, "longer than 511 bytes", url);
	if (strncasecmp(url, "https://", 8) == 0)
		return url_fail(errbuf, errlen, "https is not supported; use http:// (behind a TLS proxy if needed)", url);
	if (strncasecmp(url, URL_SCHEME, URL_SCHEME_LEN) != 0)
		return url_fail(errbuf, errlen, "it must start with http://", url);
	auth = url + URL_SCHEME_LEN;
	slash = auth + strcspn(auth, "/?#");
	alen = (size_t)(slash - auth);
	if (url_parse_authority(auth, alen, out, &why) < 0 || url_parse_prefix(slash, out, &why) < 0)
		return url_fail(errbuf, errlen, why, url);
	return 0;
}
