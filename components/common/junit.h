/* Reading JUnit/xUnit XML reports into testbus TestCase records and counts. */
#ifndef TESTBUS_COMMON_JUNIT_H
#define TESTBUS_COMMON_JUNIT_H

#include <stddef.h>
#include <stdint.h>

#include "testbus/arena.h"
#include "testbus/proto.h"
#include "testbus/status.h"

#ifdef __cplusplus
extern "C" {
#endif

/*
 * How reports are read:
 * - any nesting of <testsuites>/<testsuite>; a root other than these two is
 *   refused. Counts come from <testcase> elements only, never from the
 *   tests/failures/... attributes. Comments are ignored, and so is a document
 *   type declaration's content: a report with a DOCTYPE is refused, the
 *   network is never used and entities are never expanded.
 * - a test case with an <error> child is TEST_ERROR, else with a <failure>
 *   child TEST_FAILED, else with <skipped> TEST_SKIPPED, else TEST_PASSED.
 *   Surefire's <flakyFailure>/<flakyError> (failed runs of a test that then
 *   passed) and <rerunFailure>/<rerunError> become earlier attempts.
 * - message is the message attribute of the deciding element, or the first
 *   line of its text; output is an excerpt of that element's text and of
 *   <system-out>/<system-err>, kept for failed and errored tests only.
 * - the same test (suite, classname and name) seen again, in the same report
 *   or a later one added to the same collector, is a retry: the last attempt
 *   decides its status; the earlier ones are kept, oldest first, in
 *   TestCase.attempts, and TestCase.attempt counts them all. A test is flaky
 *   when it ran more than once and at least one run failed or errored.
 */

#define TB_JUNIT_DEFAULT_MAX_BYTES (64u * 1024 * 1024)
#define TB_JUNIT_DEFAULT_MAX_OUTPUT (8u * 1024)
#define TB_JUNIT_DEFAULT_MAX_MESSAGE 1024u
#define TB_JUNIT_DEFAULT_MAX_TESTS 200000u

/* Limits; a 0 field takes the default above. */
typedef struct tb_junit_opts {
	size_t max_bytes;   /* largest report accepted (TB_RESOURCE_EXHAUSTED past it) */
	size_t max_output;  /* bytes of TestCase.output kept per test */
	size_t max_message; /* bytes of TestCase.message kept per test */
	size_t max_tests;   /* distinct tests a collector accepts */
} tb_junit_opts;

/*
 * What one report holds, counted per <testcase> element: a retried test
 * counts once per run here. root is the root element's name.
 */
typedef struct tb_junit_file_stats {
	uint32_t testcases;
	uint32_t passed;
	uint32_t failed;
	uint32_t errored;
	uint32_t skipped;
	uint32_t max_depth; /* deepest nesting of <testsuite> elements; 0 when none */
	char root[32];
} tb_junit_file_stats;

/* A collector: the distinct tests of one or more reports, retries merged. */
typedef struct tb_junit tb_junit;

/*
 * Creates an empty collector. The TestCase records and their strings are
 * allocated from arena, which must outlive them and the collector; opts may
 * be NULL. Caller owns *jp; free with tb_junit_free(). Returns TB_OK or
 * TB_RESOURCE_EXHAUSTED.
 */
int tb_junit_alloc(tb_arena *arena, const tb_junit_opts *opts, tb_junit **jp);

/* Frees the collector (not the records in its arena). j may be NULL. */
void tb_junit_free(tb_junit *j);

/*
 * Parses the report at path and merges its tests into j. stats (may be NULL)
 * receives the per-element counts of this report. Does not block beyond
 * reading the file. On error j holds no test of this report (unless memory
 * ran out while merging; the arena may have grown either way) and st says
 * why: TB_NOT_FOUND / TB_PERMISSION_DENIED when the file cannot be read,
 * TB_RESOURCE_EXHAUSTED when it or the collector exceeds a limit,
 * TB_INVALID_ARGUMENT when it is not a well-formed JUnit report.
 */
int tb_junit_add_file(tb_junit *j, const char *path, tb_junit_file_stats *stats,
                      tb_status *st);

/* Same as tb_junit_add_file, on len bytes at buf; name is used in messages. */
int tb_junit_add_memory(tb_junit *j, const void *buf, size_t len, const char *name,
                        tb_junit_file_stats *stats, tb_status *st);

/*
 * The distinct tests so far, in order of first appearance, as an array of n
 * records allocated from the collector's arena (the array too). Both stay
 * valid until the arena is freed; later additions do not change this array.
 * NULL with *np == 0 when there are none or out of memory.
 */
Testbus__V1__TestCase **tb_junit_cases(tb_junit *j, size_t *np);

/*
 * Counts the distinct tests by final status into sum (total, passed, failed,
 * errors, skipped, flaky); sum must be initialised by the caller.
 */
void tb_junit_summary(const tb_junit *j, Testbus__V1__ResultSummary *sum);

/*
 * Reads the report at path only for its per-element counts, e.g. to check a
 * report one has just written. opts may be NULL. Same errors as
 * tb_junit_add_file.
 */
int tb_junit_stats_file(const char *path, const tb_junit_opts *opts,
                        tb_junit_file_stats *stats, tb_status *st);

/* The lower-case name of a test status ("passed", "failed", ...); never NULL. */
const char *tb_junit_status_name(Testbus__V1__TestStatus status);

#ifdef __cplusplus
}
#endif

#endif
