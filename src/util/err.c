/* err.c — names for enum pl_err. */
#include "util/err.h"

const char *pl_strerror(int rc)
{
	switch (rc) {
	case PL_OK: return "success";
	case PL_ERR: return "internal error";
	case PL_NOMEM: return "out of memory";
	case PL_NOTFOUND: return "not found";
	case PL_EXISTS: return "already exists";
	case PL_INVAL: return "invalid argument";
	case PL_TOOBIG: return "limit exceeded";
	case PL_IO: return "input/output error";
	case PL_AGAIN: return "try again";
	case PL_DECLINED: return "declined";
	case PL_DENIED: return "permission denied";
	case PL_BUSY: return "busy";
	case PL_CLOSED: return "closed";
	}
	return "unknown error";
}
