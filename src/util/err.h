/*
 * err.h — Parley's internal error codes.
 *
 * Every internal function returns 0 on success or a negative enum pl_err on
 * failure (the libuv convention).  PL_AGAIN ("would block") and PL_DECLINED
 * ("not my decision") are not failures.  The mapping from these codes to what
 * a client sees (HTTP status + stable upper-case code) lives in src/api/errors.c.
 */
#ifndef PL_UTIL_ERR_H
#define PL_UTIL_ERR_H

enum pl_err {
	PL_OK = 0,
	PL_ERR = -1,        /* unspecified internal failure */
	PL_NOMEM = -2,      /* allocation failed */
	PL_NOTFOUND = -3,   /* row or object does not exist */
	PL_EXISTS = -4,     /* unique key already taken */
	PL_INVAL = -5,      /* invalid argument */
	PL_TOOBIG = -6,     /* a named limit was exceeded */
	PL_IO = -7,         /* storage or system I/O failed */
	PL_AGAIN = -8,      /* would block; try later */
	PL_DECLINED = -9,   /* not my decision; ask the next one */
	PL_DENIED = -10,    /* caller is not allowed */
	PL_BUSY = -11,      /* resource busy (e.g. database locked) */
	PL_CLOSED = -12,    /* peer or resource closed */
};

/* Returns a static, human-readable name for rc.  Never NULL. */
const char *pl_strerror(int rc);

#endif
