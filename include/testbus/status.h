/* Status codes and the status record every fallible testbus call fills. */
#ifndef TESTBUS_STATUS_H
#define TESTBUS_STATUS_H

#include "testbus/export.h"

#ifdef __cplusplus
extern "C" {
#endif

/*
 * The one error type of testbus. Codes keep gRPC's numbering, so the value a
 * library function returns is also what travels on the wire. 0 is success.
 */
enum tb_code {
	TB_OK = 0,
	TB_CANCELLED = 1,
	TB_UNKNOWN = 2,
	TB_INVALID_ARGUMENT = 3,
	TB_DEADLINE_EXCEEDED = 4,
	TB_NOT_FOUND = 5,
	TB_ALREADY_EXISTS = 6,
	TB_PERMISSION_DENIED = 7,
	TB_RESOURCE_EXHAUSTED = 8,
	TB_FAILED_PRECONDITION = 9,
	TB_ABORTED = 10,
	TB_OUT_OF_RANGE = 11,
	TB_UNIMPLEMENTED = 12,
	TB_INTERNAL = 13,
	TB_UNAVAILABLE = 14,
	TB_DATA_LOSS = 15,
	TB_UNAUTHENTICATED = 16,
};

#define TB_STATUS_MESSAGE_MAX 512

/* A code plus a human-readable message. Plain data: no cleanup needed. */
typedef struct tb_status {
	int code;
	char message[TB_STATUS_MESSAGE_MAX];
} tb_status;

/* The upper-case name of a code ("DEADLINE_EXCEEDED"); never NULL. */
TB_EXPORT const char *tb_strerror(int code);

/* Parses a code name as tb_strerror prints it; returns -1 when unknown. */
TB_EXPORT int tb_code_from_name(const char *name);

/*
 * Sets st (may be NULL) to code and a printf-style message, truncated to fit.
 * Returns code, so `return tb_status_set(st, TB_NOT_FOUND, "...")` reads well.
 */
TB_EXPORT int tb_status_set(tb_status *st, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Clears st (may be NULL) to TB_OK with an empty message. */
TB_EXPORT void tb_status_clear(tb_status *st);

#ifdef __cplusplus
}
#endif

#endif
