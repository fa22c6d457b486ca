/* Helpers the process runner's files share (prefix tbc_: internal to testbus_common). */
#ifndef TESTBUS_COMMON_PROCESS_INTERNAL_H
#define TESTBUS_COMMON_PROCESS_INTERNAL_H

#include <stdint.h>

#include "process.h"

/* The monotonic clock in milliseconds. */
uint64_t tbc_process_now_ms(void);

/* Sets st from errno value e: "<what> <subject>: <strerror>". Returns the code. */
int tbc_process_errno(tb_status *st, int e, const char *what, const char *subject);

/*
 * The path to execute for argv0: itself when it holds a '/', else the first
 * executable match in the PATH of env (or of the caller). Caller owns *pathp;
 * free with free(). TB_NOT_FOUND when there is none.
 */
int tbc_process_resolve(const char *argv0, const char *const *env, char **pathp, tb_status *st);

/* TB_OK when cwd is NULL or an existing folder; TB_NOT_FOUND otherwise. */
int tbc_process_check_cwd(const char *cwd, tb_status *st);

#endif
