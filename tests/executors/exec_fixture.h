/* Black-box fixture for the executor tests: a real executor process, called over the bus. */
#ifndef TESTBUS_TEST_EXEC_FIXTURE_H
#define TESTBUS_TEST_EXEC_FIXTURE_H

#include <stdarg.h>
#include <setjmp.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <sys/types.h>

#include "testbus/testbus.h"

typedef struct exec_fixture {
	char dir[256];        /* private temp dir, removed by exec_stop */
	char url[320];        /* the executor's ipc:// address */
	char events_url[320]; /* where it pushes events */
	pid_t pid;            /* the executor process */
	tb_conn *conn;
	tb_events *events;
} exec_fixture;

/* The folder holding the built executables ($TESTBUS_BIN_DIR). */
const char *exec_bin_dir(void);

/* The folder holding the test suites ($TESTBUS_SUITES_DIR). */
const char *exec_suites_dir(void);

/* Makes f's temp dir; done by exec_start when not done yet. */
void exec_dir(exec_fixture *f);

/*
 * Starts testbus-executor-<name> with config_yaml (may be NULL) as its
 * --config, --capacity capacity and --events, and waits for its handshake.
 */
void exec_start(exec_fixture *f, const char *name, const char *config_yaml, unsigned capacity);

/* Stops the executor with SIGTERM, checks it exits 0, frees everything. */
void exec_stop(exec_fixture *f);

/* Labels for a target: pairs of key, value, then NULL. */
typedef struct exec_target {
	const char *const *labels;
	uint32_t timeout_ms;
	const char *target_id;
	const char *kubeconfig;
	uint64_t call_id;       /* 0: fresh */
	uint32_t deadline_ms;   /* 0: 60 s */
} exec_target;

/* Calls Execute; returns the status code. Caller owns *outp (free_unpacked). */
int exec_call(exec_fixture *f, const exec_target *t, Testbus__V1__ExecutionResult **outp,
              tb_status *st);

/* The string or int metadata value under key; fails the test when absent. */
const char *exec_meta_string(const Testbus__V1__ExecutionResult *r, const char *key);
int64_t exec_meta_int(const Testbus__V1__ExecutionResult *r, const char *key);

/* The test case named name, or NULL. */
const Testbus__V1__TestCase *exec_case(const Testbus__V1__ExecutionResult *r, const char *name);

/* Reads a whole file into a heap string (caller frees); NULL when it cannot. */
char *exec_slurp(const char *path);

/* Waits up to ms for path to exist. */
bool exec_wait_file(const char *path, unsigned ms);

/* Writes text to dir/name; returns the heap path (caller frees). */
char *exec_write(const char *dir, const char *name, const char *text);

/* Runs a shell command line; returns its exit status. */
int exec_sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
