/* The ginkgo executor over the bus: a Ginkgo v1 suite built offline, as binary and via the CLI. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "exec_fixture.h"

#define GINKGO_BUILD_TIMEOUT_S 300

static char work[256];   /* temp dir: the suite's copy, its binary, the Go cache */
static char *go_env;     /* the env: section every config carries */

/* Ginkgo's own summary: "FAIL! -- 2 Passed | 2 Failed | 1 Pending | 1 Skipped". */
typedef struct ginkgo_counts {
	unsigned passed, failed, pending, skipped;
} ginkgo_counts;

static ginkgo_counts summary_line(const char *out)
{
	ginkgo_counts c = {0};
	const char *p = strstr(out, " -- "), *last = NULL;

	for (; p != NULL; p = strstr(p + 1, " -- "))
		last = p;
	if (last == NULL ||
	    sscanf(last, " -- %u Passed | %u Failed | %u Pending | %u Skipped", &c.passed, &c.failed,
	           &c.pending, &c.skipped) != 4)
		fail_msg("no Ginkgo summary line in:\n%s", out);
	return c;
}

static void check_against_ginkgo(const Testbus__V1__ExecutionResult *r)
{
	ginkgo_counts c = summary_line(r->stdout_tail);

	assert_int_equal(r->summary->passed, c.passed);
	assert_int_equal(r->summary->failed, c.failed);
	assert_int_equal(r->summary->errors, 0); /* Ginkgo v1 reports a panic as a failure */
	assert_int_equal(r->summary->skipped, c.pending + c.skipped);
	assert_int_equal(r->summary->total, 6);
}

/* A config: the Go environment plus extra_env lines under env:, then extra. */
static char *config(const char *extra_env, const char *extra)
{
	char *yaml = NULL;

	assert_true(asprintf(&yaml, "%s%s%s", go_env, extra_env, extra) > 0);
	return yaml;
}

/* The compiled suite binary: every outcome, counts as Ginkgo reports them. */
static void test_ginkgo_binary(void **state)
{
	exec_fixture f = {0};
	char *extra = NULL, *yaml;
	exec_target t = {0};
	Testbus__V1__ExecutionResult *r = NULL;
	const Testbus__V1__TestCase *tc;
	tb_status st;

	(void)state;
	assert_true(asprintf(&extra, "binary: '%s/sample.test'\n", work) > 0);
	yaml = config("", extra);
	exec_start(&f, "ginkgo", yaml, 1);
	assert_int_equal(exec_call(&f, &t, &r, &st), TB_OK);
	check_against_ginkgo(r);
	assert_int_equal(r->summary->passed, 2);
	assert_int_equal(r->summary->failed, 2);
	assert_false(r->success);
	assert_string_equal(r->error, "");
	assert_non_null(tc = exec_case(r, "[slow] breakage panics on purpose"));
	assert_non_null(strstr(tc->output, "boom"));
	assert_non_null(tc = exec_case(r, "[slow] breakage is skipped at run time"));
	assert_int_equal(tc->status, TESTBUS__V1__TEST_STATUS__TEST_SKIPPED);
	assert_non_null(strstr(exec_meta_string(r, "command"), "-ginkgo.reportFile="));
	protobuf_c_message_free_unpacked(&r->base, NULL);
	exec_stop(&f);
	free(yaml);
	free(extra);
}

/* Labels select specs: focus and skip regexps, and a label mapped by label_filters. */
static void test_ginkgo_focus_skip(void **state)
{
	exec_fixture f = {0};
	char *extra = NULL, *yaml;
	const char *focus[] = {"focus", "\\[smoke\\]", NULL};
	const char *skip_slow[] = {"skip", "\\[slow\\]", NULL};
	const char *area[] = {"area", "multiplies", "skip", "adds", NULL};
	exec_target t = {0};
	Testbus__V1__ExecutionResult *r = NULL;
	tb_status st;

	(void)state;
	assert_true(asprintf(&extra, "binary: '%s/sample.test'\nlabel_filters: {area: focus}\n",
	                     work) > 0);
	yaml = config("", extra);
	exec_start(&f, "ginkgo", yaml, 1);
	for (int i = 0; i < 2; i++) {
		t.labels = i == 0 ? focus : skip_slow;
		assert_int_equal(exec_call(&f, &t, &r, &st), TB_OK);
		check_against_ginkgo(r);
		assert_int_equal(r->summary->passed, 2);
		assert_int_equal(r->summary->failed, 0);
		assert_true(r->success);
		protobuf_c_message_free_unpacked(&r->base, NULL);
	}
	t.labels = area;
	assert_int_equal(exec_call(&f, &t, &r, &st), TB_OK);
	check_against_ginkgo(r);
	assert_int_equal(r->summary->passed, 1);
	assert_int_equal(exec_case(r, "[smoke] arithmetic multiplies")->status,
	                 TESTBUS__V1__TEST_STATUS__TEST_PASSED);
	protobuf_c_message_free_unpacked(&r->base, NULL);
	exec_stop(&f);
	free(yaml);
	free(extra);
}

/* The ginkgo CLI on one node, then on two with a report per node. */
static void test_ginkgo_cli_nodes(void **state)
{
	exec_fixture f = {0};
	char *extra = NULL, *yaml;
	exec_target t = {0};
	Testbus__V1__ExecutionResult *r = NULL;
	Testbus__V1__ComponentConfig cfg = TESTBUS__V1__COMPONENT_CONFIG__INIT;
	Testbus__V1__ComponentConfig__ConfigEntry e = TESTBUS__V1__COMPONENT_CONFIG__CONFIG_ENTRY__INIT,
	                                          *ep = &e;
	Testbus__V1__Value v = TESTBUS__V1__VALUE__INIT;
	Testbus__V1__Empty *empty = NULL;
	tb_status st;

	(void)state;
	assert_true(asprintf(&extra, "packages: ['%s/suite']\n", work) > 0);
	yaml = config("", extra);
	exec_start(&f, "ginkgo", yaml, 1);
	assert_int_equal(exec_call(&f, &t, &r, &st), TB_OK);
	check_against_ginkgo(r);
	assert_int_equal(exec_meta_int(r, "junit_files"), 1);
	protobuf_c_message_free_unpacked(&r->base, NULL);

	/* v1 nodes all write the one --reportFile: refused without per-node reports. */
	e.key = "nodes";
	e.value = &v;
	v.kind_case = TESTBUS__V1__VALUE__KIND_INT_VALUE;
	v.int_value = 2;
	cfg.config = &ep;
	cfg.n_config = 1;
	assert_int_equal(tb_component_configure(f.conn, &cfg, &empty, NULL, &st), TB_INVALID_ARGUMENT);
	assert_non_null(strstr(st.message, "one report per node"));
	exec_stop(&f);
	free(yaml);
	free(extra);

	assert_true(asprintf(&extra,
	                     "packages: ['%s/suite']\nnodes: 2\n"
	                     "junit: ['{artifacts_dir}/junit_*.xml']\n",
	                     work) > 0);
	yaml = config("  SAMPLE_REPORT_DIR: '{artifacts_dir}'\n", extra);
	exec_start(&f, "ginkgo", yaml, 1);
	assert_int_equal(exec_call(&f, &t, &r, &st), TB_OK);
	check_against_ginkgo(r);
	assert_int_equal(exec_meta_int(r, "junit_files"), 2);
	assert_non_null(strstr(exec_meta_string(r, "command"), "-nodes=2"));
	protobuf_c_message_free_unpacked(&r->base, NULL);
	exec_stop(&f);
	free(yaml);
	free(extra);
}

/* Copies the suite and compiles it offline (GO111MODULE=off, Debian's GOPATH). */
static int build_suite(void **state)
{
	(void)state;
	snprintf(work, sizeof(work), "/tmp/tb-ginkgo-test-XXXXXX");
	if (mkdtemp(work) == NULL)
		return -1;
	if (asprintf(&go_env,
	             "env:\n  GO111MODULE: 'off'\n  GOPATH: /usr/share/gocode\n"
	             "  GOCACHE: '%s/gocache'\n  HOME: '%s'\n  ACK_GINKGO_RC: 'true'\n",
	             work, work) < 0)
		return -1;
	if (exec_sh("mkdir -p %s/suite && cp %s/ginkgo/*.go %s/suite/ && cd %s/suite && "
	            "GO111MODULE=off GOPATH=/usr/share/gocode GOCACHE=%s/gocache HOME=%s "
	            "timeout %d go test -c -o %s/sample.test . >&2",
	            work, exec_suites_dir(), work, work, work, work, GINKGO_BUILD_TIMEOUT_S,
	            work) != 0) {
		fprintf(stderr, "building the Ginkgo suite failed\n");
		return -1;
	}
	return 0;
}

static int remove_work(void **state)
{
	(void)state;
	if (work[0] != '\0')
		exec_sh("rm -rf '%s'", work);
	free(go_env);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ginkgo_binary),
		cmocka_unit_test(test_ginkgo_focus_skip),
		cmocka_unit_test(test_ginkgo_cli_nodes),
	};

	return cmocka_run_group_tests(tests, build_suite, remove_work);
}
