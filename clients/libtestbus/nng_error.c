/* The one place where NNG errors become testbus status codes. */
#include "internal.h"

int tbi_code_from_nng(int rv)
{
	switch (rv) {
	case 0:
		return TB_OK;
	case NNG_ETIMEDOUT:
		return TB_DEADLINE_EXCEEDED;
	case NNG_ECANCELED:
	case NNG_ECLOSED:
		return TB_CANCELLED;
	case NNG_ENOMEM:
	case NNG_EMSGSIZE:
		return TB_RESOURCE_EXHAUSTED;
	case NNG_EINVAL:
	case NNG_EADDRINVAL:
	case NNG_ENOTSUP:
	case NNG_EBADTYPE:
		return TB_INVALID_ARGUMENT;
	case NNG_ENOENT:
		return TB_NOT_FOUND;
	case NNG_EPERM:
		return TB_PERMISSION_DENIED;
	case NNG_EPEERAUTH:
	case NNG_ECRYPTO:
		return TB_UNAUTHENTICATED;
	case NNG_EADDRINUSE:
	case NNG_EEXIST:
		return TB_ALREADY_EXISTS;
	case NNG_ECONNREFUSED:
	case NNG_ECONNRESET:
	case NNG_ECONNSHUT:
	case NNG_ECONNABORTED:
	case NNG_EUNREACHABLE:
	case NNG_EAGAIN:
	case NNG_ESTATE:
		return TB_UNAVAILABLE;
	case NNG_EPROTO:
		return TB_DATA_LOSS;
	default:
		return TB_INTERNAL;
	}
}

int tbi_status_nng(tb_status *st, int rv, const char *what, const char *url)
{
	int code = tbi_code_from_nng(rv);
	if (url != NULL)
		return tb_status_set(st, code, "%s %s: %s", what, url, nng_strerror(rv));
	return tb_status_set(st, code, "%s: %s", what, nng_strerror(rv));
}
