/* Helpers the process runner's files share (prefix tbc_: internal to testbus_common). */
#ifndef TESTBUS_COMMON_PROCESS_INTERNAL_H
#define TESTBUS_COMMON_PROCESS_INTERNAL_H

#include <stdint.h>
#include <sys/types.h>

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

/*
 * A guard process that ends a child's process group if the process running
 * the child dies without releasing it (SIGKILL, a crash): the runner's own
 * stop logic cannot run then, and the group would be orphaned. Embedded and
 * zeroed before use; started when pid > 0.
 */
typedef struct tbc_process_guard {
	pid_t pid; /* the guard process */
	int fd;    /* the runner's end of the lifeline (close on exec) */
} tbc_process_guard;

/*
 * Forks the guard, not yet armed; it will end its group after SIGTERM and
 * grace_ms as a runner's timeout does. Call it before starting the child, so
 * a child never runs because a guard could not be had. Returns TB_OK, or
 * TB_RESOURCE_EXHAUSTED / TB_INTERNAL (st says why) with *g not started.
 */
int tbc_process_guard_start(tbc_process_guard *g, uint32_t grace_ms, tb_status *st);

/* Arms a started guard for process group pgid. Does not block. */
void tbc_process_guard_arm(tbc_process_guard *g, pid_t pgid);

/*
 * Releases the guard (the group is over, or was never started) and reaps it,
 * so no guard outlives its run; blocks only until the guard exits, at once.
 * Call it before reaping the group's leader, whose zombie keeps the group id
 * from being reused meanwhile. Safe on a zeroed or stopped guard.
 */
void tbc_process_guard_stop(tbc_process_guard *g);

#endif
