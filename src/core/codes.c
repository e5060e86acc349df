/* codes.c — the table behind codes.h. */
#include "core/codes.h"

static const struct {
	const char *name;
	int status;
	const char *msg;
} codes[] = {
#define PL_CODE_ROW(n, s, m) {#n, s, m},
	PL_CODES(PL_CODE_ROW)
#undef PL_CODE_ROW
};

const char *pl_code_name(int code)
{
	return code >= 0 && code < PLC__COUNT ? codes[code].name : "INTERNAL";
}

int pl_code_status(int code)
{
	return code >= 0 && code < PLC__COUNT ? codes[code].status : 500;
}

const char *pl_code_message(int code)
{
	return code >= 0 && code < PLC__COUNT ? codes[code].msg : "internal server error";
}
