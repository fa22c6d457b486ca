/* Writing a whole run as one merged JUnit XML report that CI systems read. */
#ifndef TESTBUS_COMMON_JUNIT_WRITE_H
#define TESTBUS_COMMON_JUNIT_WRITE_H

#include <stddef.h>

#include "redact.h"
#include "testbus/proto.h"
#include "testbus/status.h"

#ifdef __cplusplus
extern "C" {
#endif

/*
 * The document (see docs/reporters.md):
 * - a <testsuites> root named after the run, with the run's counts;
 * - a <testsuite> per target, named "<phase>/<target id>", with the target's
 *   labels (`label.<key>`), the cluster (`cluster.<field>`, never the
 *   kubeconfig), the executor, its attempts and the run id as <properties>,
 *   and its stdout/stderr tails as <system-out>/<system-err>;
 * - a <testcase> per test: <failure>, <error> or <skipped> with the message
 *   attribute and the output excerpt as text; earlier failed runs of a retried
 *   test as Maven Surefire writes them (<flakyFailure>/<flakyError> when it
 *   passed in the end, <rerunFailure>/<rerunError> when it did not), which
 *   Jenkins, GitLab and GitHub test reporters read; an earlier run that passed
 *   has no Surefire form and is left out;
 * - a target whose run failed without any test case gets one synthetic
 *   <testcase name="(target run)"> with an <error>, so a lost target is never
 *   read as green.
 * Counts in the attributes are those of the elements written. Every string
 * goes through tb_results_prepare (secrets redacted with r, text made valid
 * XML); the XML library escapes it.
 */

typedef struct tb_junit_write_opts {
	size_t max_output; /* bytes of output text kept per element; 0: 64 KiB */
} tb_junit_write_opts;

/*
 * Renders in as JUnit XML, NUL-terminated. r and opts may be NULL. Caller
 * owns *xmlp; free with free(). Returns TB_OK, TB_RESOURCE_EXHAUSTED or
 * TB_INTERNAL (the XML library failed), with a message in st.
 */
int tb_junit_write_memory(const Testbus__V1__ReportInput *in, const tb_redactor *r,
                          const tb_junit_write_opts *opts, char **xmlp, size_t *lenp,
                          tb_status *st);

/*
 * Writes the same document to path (temporary file, fsync, rename; mode
 * 0644). Blocks. Errors name the path.
 */
int tb_junit_write_file(const Testbus__V1__ReportInput *in, const tb_redactor *r,
                        const tb_junit_write_opts *opts, const char *path, tb_status *st);

#ifdef __cplusplus
}
#endif

#endif
