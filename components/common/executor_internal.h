/* What the executor support files share (prefix tbc_: internal to testbus_common). */
#ifndef TESTBUS_COMMON_EXECUTOR_INTERNAL_H
#define TESTBUS_COMMON_EXECUTOR_INTERNAL_H

#include <pthread.h>

#include "executor.h"
#include "junit.h"
#include "process.h"

/* A parsed config and its arena, shared by the calls that started under it. */
typedef struct tbc_exec_snapshot {
	tb_arena *arena;
	tb_exec_config *cfg;
	int refs; /* under the executor's lock */
} tbc_exec_snapshot;

const tb_exec_framework *tbc_exec_framework(const tb_exec *ex);

/* The current config, referenced; give it back with tbc_exec_release. */
tbc_exec_snapshot *tbc_exec_acquire(tb_exec *ex);
void tbc_exec_release(tb_exec *ex, tbc_exec_snapshot *s);

/* The filter kind named name; -1 when unknown. */
int tbc_exec_filter_kind(const char *name);

/* qsort comparison of two `const char *` elements. */
int tbc_exec_strcmp(const void *a, const void *b);

/* What one call found out, for building its result. */
typedef struct tbc_exec_outcome {
	const char *executor;          /* framework name */
	const tb_exec_plan *plan;
	const char *call_dir;
	const char *stdout_path, *stderr_path;
	bool started;                  /* the command ran */
	const char *start_error;       /* why it did not; else NULL */
	tb_process_result proc;
	bool cancelled;                /* the call was cancelled (not its own timeout) */
	uint32_t timeout_ms;
	tb_exec_strv junit_files;      /* reports found */
	tb_junit *junit;               /* their tests */
	tb_exec_strv junit_errors;     /* "file: why" for each unreadable report */
	uint32_t log_events_dropped;
} tbc_exec_outcome;

/*
 * Builds the ExecutionResult of a call from its outcome, allocated from
 * arena, trimmed to cfg->max_result_bytes.
 */
int tbc_exec_result(const tb_exec_config *cfg, const Testbus__V1__ExecutionTarget *target,
                    tbc_exec_outcome *oc, tb_arena *arena,
                    Testbus__V1__ExecutionResult **resultp);

#endif
