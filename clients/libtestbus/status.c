/* Status code names and the status record helpers. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "internal.h"

static const char *const status_names[] = {
	[TB_OK] = "OK",
	[TB_CANCELLED] = "CANCELLED",
	[TB_UNKNOWN] = "UNKNOWN",
	[TB_INVALID_ARGUMENT] = "INVALID_ARGUMENT",
	[TB_DEADLINE_EXCEEDED] = "DEADLINE_EXCEEDED",
	[TB_NOT_FOUND] = "NOT_FOUND",
	[TB_ALREADY_EXISTS] = "ALREADY_EXISTS",
	[TB_PERMISSION_DENIED] = "PERMISSION_DENIED",
	[TB_RESOURCE_EXHAUSTED] = "RESOURCE_EXHAUSTED",
	[TB_FAILED_PRECONDITION] = "FAILED_PRECONDITION",
	[TB_ABORTED] = "ABORTED",
	[TB_OUT_OF_RANGE] = "OUT_OF_RANGE",
	[TB_UNIMPLEMENTED] = "UNIMPLEMENTED",
	[TB_INTERNAL] = "INTERNAL",
	[TB_UNAVAILABLE] = "UNAVAILABLE",
	[TB_DATA_LOSS] = "DATA_LOSS",
	[TB_UNAUTHENTICATED] = "UNAUTHENTICATED",
};

#define STATUS_COUNT (sizeof(status_names) / sizeof(status_names[0]))

const char *tb_strerror(int code)
{
	if (code < 0 || (size_t)code >= STATUS_COUNT)
		return "UNKNOWN";
	return status_names[code];
}

int tb_code_from_name(const char *name)
{
	if (name == NULL)
		return -1;
	for (size_t i = 0; i < STATUS_COUNT; i++) {
		if (strcmp(status_names[i], name) == 0)
			return (int)i;
	}
	return -1;
}

int tb_status_set(tb_status *st, int code, const char *fmt, ...)
{
	if (st == NULL)
		return code;
	st->code = code;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(st->message, sizeof(st->message), fmt, ap);
	va_end(ap);
	return code;
}

void tb_status_clear(tb_status *st)
{
	if (st == NULL)
		return;
	st->code = TB_OK;
	st->message[0] = '\0';
}
