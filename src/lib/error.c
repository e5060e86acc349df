/*
 * error.c — how libparley reports failures: parley_strerror() for return
 * codes, and struct parley_error for the details of one call.  Client-side
 * failures get stable upper-case codes in the same style as the server's
 * ("NETWORK_ERROR"), so callers print every error the same way.
 */
#include <stdio.h>
#include <string.h>

#include "lib/parley_int.h"

/* One row per return code: its code for struct parley_error and its name. */
static const struct {
	int rc;
	const char *code;
	const char *name;
} error_table[] = {
	{PARLEY_OK, "OK", "success"},
	{PARLEY_EAPI, "API_ERROR", "the server refused the call"},
	{PARLEY_ENETWORK, "NETWORK_ERROR", "network error"},
	{PARLEY_ETIMEDOUT, "NETWORK_ERROR", "timed out"},
	{PARLEY_EPROTO, "PROTOCOL_ERROR", "malformed reply"},
	{PARLEY_ETOOBIG, "RESPONSE_TOO_LARGE", "over a size limit"},
	{PARLEY_ENOMEM, "OUT_OF_MEMORY", "out of memory"},
	{PARLEY_EINVAL, "INVALID_ARGUMENT", "invalid argument"},
	{PARLEY_EIO, "IO_ERROR", "file I/O error"},
	{PARLEY_ECANCELED, "CANCELED", "stopped"},
};

#define ERROR_ROWS (sizeof(error_table) / sizeof(error_table[0]))

const char *parley_strerror(int rc)
{
	for (size_t i = 0; i < ERROR_ROWS; i++)
		if (error_table[i].rc == rc)
			return error_table[i].name;
	return "unknown error";
}

const char *parley_rc_code(int rc)
{
	for (size_t i = 0; i < ERROR_ROWS; i++)
		if (error_table[i].rc == rc)
			return error_table[i].code;
	return "CLIENT_ERROR";
}

void parley_error_clear(struct parley_error *err)
{
	if (!err)
		return;
	err->http_status = 0;
	err->code[0] = '\0';
	err->description[0] = '\0';
	err->retry_after = 0;
}

int parley_error_set(struct parley_error *err, int rc, const char *fmt, ...)
{
	va_list ap;

	if (!err)
		return rc;
	parley_error_clear(err);
	snprintf(err->code, sizeof(err->code), "%s", parley_rc_code(rc));
	va_start(ap, fmt);
	vsnprintf(err->description, sizeof(err->description), fmt, ap);
	va_end(ap);
	return rc;
}

void parley_strlcpy_utf8(char *dst, const char *src, size_t len)
{
	size_t n = strlen(src);

	if (len == 0)
		return;
	if (n >= len) {
		n = len - 1;
		/* Back up over continuation bytes so no character is cut. */
		while (n > 0 && ((unsigned char)src[n] & 0xC0) == 0x80)
			n--;
	}
	memcpy(dst, src, n);
	dst[n] = '\0';
}
