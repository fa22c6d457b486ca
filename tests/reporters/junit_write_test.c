/* Tests of the merged JUnit writer: well-formed (xmllint), escaped, redacted, and read back by the project's parser with the same counts. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "fixture.h"
#include "junit.h"
#include "junit_write.h"

struct ctx {
	tb_arena *a;
	tb_redactor *r;
	Testbus__V1__ReportInput *in;
	char dir[64];
	char path[128];
};

static int setup(void **state)
{
	struct ctx *c = calloc(1, sizeof(*c));
	tb_status st;
	assert_int_equal(tb_arena_alloc(&c->a), TB_OK);
	assert_int_equal(tb_redactor_alloc(NULL, 0, &c->r, &st), TB_OK);
	c->in = fixture_results(c->a);
	snprintf(c->dir, sizeof(c->dir), "/tmp/testbus-junitw-XXXXXX");
	assert_non_null(mkdtemp(c->dir));
	snprintf(c->path, sizeof(c->path), "%s/junit.xml", c->dir);
	*state = c;
	return 0;
}

static int teardown(void **state)
{
	struct ctx *c = *state;
	unlink(c->path);
	rmdir(c->dir);
	tb_redactor_free(c->r);
	tb_arena_free(c->a);
	free(c);
	return 0;
}

/* Runs xmllint --noout on path; fails the test when it complains. */
static void xmllint_ok(const char *path)
{
	char cmd[512];
	snprintf(cmd, sizeof(cmd), "xmllint --noout --nonet '%s'", path);
	int rc = system(cmd);
	if (rc != 0)
		fail_msg("xmllint rejected %s (%d)", path, rc);
}

static void test_well_formed_and_counts(void **state)
{
	struct ctx *c = *state;
	tb_junit *j = NULL;
	tb_junit_file_stats fs;
	Testbus__V1__ResultSummary sum = TESTBUS__V1__RESULT_SUMMARY__INIT;
	tb_status st;
	if (tb_junit_write_file(c->in, c->r, NULL, c->path, &st) != TB_OK)
		fail_msg("%s", st.message);
	xmllint_ok(c->path);
	assert_int_equal(tb_junit_alloc(c->a, NULL, &j), TB_OK);
	if (tb_junit_add_file(j, c->path, &fs, &st) != TB_OK)
		fail_msg("parse back: %s", st.message);
	tb_junit_summary(j, &sum);
	assert_int_equal(fs.testcases, FIX_TOTAL);
	assert_string_equal(fs.root, "testsuites");
	assert_int_equal(sum.total, FIX_TOTAL);
	assert_int_equal(sum.passed, FIX_PASSED);
	assert_int_equal(sum.failed, FIX_FAILED);
	assert_int_equal(sum.errors, FIX_ERRORS);
	assert_int_equal(sum.skipped, FIX_SKIPPED);
	assert_int_equal(sum.flaky, FIX_FLAKY);
	/* The flaky test comes back with its failed attempt. */
	size_t n = 0;
	Testbus__V1__TestCase **cases = tb_junit_cases(j, &n);
	const Testbus__V1__TestCase *flaky = NULL;
	for (size_t i = 0; i < n; i++)
		if (strcmp(cases[i]->name, FIX_FLAKY_TEST) == 0)
			flaky = cases[i];
	assert_non_null(flaky);
	assert_int_equal(flaky->status, TESTBUS__V1__TEST_STATUS__TEST_PASSED);
	assert_int_equal(flaky->n_attempts, 1);
	assert_string_equal(flaky->attempts[0]->message, "timed out waiting for the pod");
	tb_junit_free(j);
}

static void test_content(void **state)
{
	struct ctx *c = *state;
	char *xml = NULL;
	size_t len = 0;
	const char *which = NULL;
	tb_status st;
	assert_int_equal(tb_redactor_learn(c->r, (const char *)c->in->cluster->kubeconfig.data,
	                                   c->in->cluster->kubeconfig.len),
	                 TB_OK);
	assert_int_equal(tb_junit_write_memory(c->in, c->r, NULL, &xml, &len, &st), TB_OK);
	assert_int_equal(strlen(xml), len);
	if (fixture_has_secret(xml, len, &which))
		fail_msg("secret %s in the JUnit report", which);
	assert_null(strstr(xml, "client-key-data"));
	assert_null(strstr(xml, "<script>"));
	assert_non_null(strstr(xml, "&lt;script&gt;alert('x')&lt;/script&gt; &amp; &quot;quotes&quot;"));
	assert_non_null(strstr(xml, "<testsuite name=\"e2e/e2e-shard-0\" tests=\"7\" failures=\"2\" "
	                            "errors=\"1\" skipped=\"1\""));
	assert_non_null(strstr(xml, "<testsuites name=\"testbus " FIX_RUN_ID "\" tests=\"12\""));
	assert_non_null(strstr(xml, "<property name=\"label.shard\" value=\"0\"/>"));
	assert_non_null(strstr(xml, "<property name=\"cluster.name\" value=\"" FIX_CLUSTER_NAME "\"/>"));
	assert_non_null(strstr(xml, "<property name=\"testbus.attempt.1\" value=\"ginkgo-a: executor lost\"/>"));
	assert_non_null(strstr(xml, "<flakyFailure message=\"timed out waiting for the pod\""));
	assert_non_null(strstr(xml, "<rerunFailure message=\"expected 3 ready replicas, got 0\""));
	assert_non_null(strstr(xml, "<failure message=\"" FIX_FAILED_MESSAGE "\" type=\"failure\">"));
	assert_non_null(strstr(xml, "<error message=\"" FIX_LOST_ERROR "\" type=\"testbus.exit-status\">"));
	assert_non_null(strstr(xml, "<skipped message=\"no load balancer in kind\"/>"));
	assert_non_null(strstr(xml, "<system-err>Ran 7 of 9 specs\nFAIL!\n</system-err>"));
	assert_non_null(strstr(xml, "time=\"61.000\""));
	assert_non_null(strstr(xml, "timestamp=\"2024-05-01T12:00:10\""));
	assert_null(strstr(xml, "\x1b"));
	free(xml);
}

/* A target that failed without a single test case still shows as an error. */
static void test_lost_target(void **state)
{
	struct ctx *c = *state;
	Testbus__V1__ExecutionResult *res = c->in->phases[1]->targets[1]->result;
	tb_junit *j = NULL;
	Testbus__V1__ResultSummary sum = TESTBUS__V1__RESULT_SUMMARY__INIT;
	char *xml = NULL;
	size_t len = 0;
	tb_status st;
	res->n_test_cases = 0;
	assert_int_equal(tb_junit_write_memory(c->in, NULL, NULL, &xml, &len, &st), TB_OK);
	assert_non_null(strstr(xml, "<testcase name=\"(target run)\" classname=\"e2e/e2e-shard-1\""));
	assert_non_null(strstr(xml, "<error message=\"" FIX_LOST_ERROR "\" type=\"testbus.run\""));
	assert_int_equal(tb_junit_alloc(c->a, NULL, &j), TB_OK);
	assert_int_equal(tb_junit_add_memory(j, xml, len, "lost", NULL, &st), TB_OK);
	tb_junit_summary(j, &sum);
	assert_int_equal(sum.total, FIX_TOTAL);
	assert_int_equal(sum.errors, FIX_ERRORS);
	tb_junit_free(j);
	free(xml);
	/* A target that never ran at all, too. */
	c->in->phases[1]->targets[1]->result = NULL;
	assert_int_equal(tb_junit_write_memory(c->in, NULL, NULL, &xml, &len, &st), TB_OK);
	assert_non_null(strstr(xml, "<error message=\"the target did not run\""));
	free(xml);
}

/* Output is cut at the limit on a character boundary and stays well-formed. */
static void test_output_limit(void **state)
{
	struct ctx *c = *state;
	Testbus__V1__TestCase *tc = c->in->phases[1]->targets[0]->result->test_cases[1];
	tb_junit_write_opts opts = { .max_output = 51 };
	char *big = tb_arena_zalloc(c->a, 2 * 100 + 1);
	tb_status st;
	for (int i = 0; i < 100; i++)
		memcpy(big + 2 * i, "\xc3\xa9", 2);
	tc->output = big;
	assert_int_equal(tb_junit_write_file(c->in, NULL, &opts, c->path, &st), TB_OK);
	xmllint_ok(c->path);
	char *xml = fixture_slurp(c->path, NULL);
	char want[128] = ">";
	for (int i = 0; i < 25; i++)
		strcat(want, "\xc3\xa9");
	strcat(want, "</failure>");
	assert_non_null(strstr(xml, want));
	free(xml);
}

static void test_empty_run(void **state)
{
	struct ctx *c = *state;
	Testbus__V1__ReportInput in = TESTBUS__V1__REPORT_INPUT__INIT;
	tb_status st;
	(void)c;
	assert_int_equal(tb_junit_write_file(&in, NULL, NULL, c->path, &st), TB_OK);
	xmllint_ok(c->path);
	tb_junit_file_stats fs;
	assert_int_equal(tb_junit_stats_file(c->path, NULL, &fs, &st), TB_OK);
	assert_int_equal(fs.testcases, 0);
	assert_int_equal(tb_junit_write_file(&in, NULL, NULL, "/nonexistent/dir/junit.xml", &st),
	                 TB_NOT_FOUND);
	assert_non_null(strstr(st.message, "/nonexistent/dir/junit.xml"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_well_formed_and_counts, setup, teardown),
		cmocka_unit_test_setup_teardown(test_content, setup, teardown),
		cmocka_unit_test_setup_teardown(test_lost_target, setup, teardown),
		cmocka_unit_test_setup_teardown(test_output_limit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_empty_run, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
