/* The console reporter over the bus: the summary it returns and writes, colour rules, config errors. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fixture.h"
#include "harness.h"

static Testbus__V1__ReportInput *fixture(tb_arena **ap, bool passing)
{
	assert_int_equal(tb_arena_alloc(ap), TB_OK);
	return passing ? fixture_results_passing(*ap) : fixture_results(*ap);
}

/* Runs one report through a fresh console reporter; returns the message (caller frees). */
static char *console_message(const char *config, const char *const *env, bool passing,
                             char **summaryp)
{
	rep_proc p;
	tb_arena *a = NULL;
	Testbus__V1__ReportOutput *out = NULL;
	tb_status st = { 0 };
	Testbus__V1__ReportInput *in = fixture(&a, passing);
	rep_start(&p, "console", config, env);
	assert_int_equal(rep_initialize(&p, FIX_RUN_ID, &st), TB_OK);
	if (rep_report(&p, in, &out, &st) != TB_OK)
		fail_msg("Report: %s", st.message);
	char *msg = strdup(out->message);
	const Testbus__V1__Artifact *art = rep_artifact(out, "summary");
	struct stat sb;
	assert_string_equal(art->uri, rep_file(&p, "summary.txt"));
	assert_int_equal(stat(art->uri, &sb), 0);
	assert_int_equal((uint64_t)sb.st_size, art->size);
	assert_string_equal(art->media_type, "text/plain");
	if (summaryp != NULL)
		*summaryp = fixture_slurp(art->uri, NULL);
	protobuf_c_message_free_unpacked(&out->base, NULL);
	rep_stop(&p);
	tb_arena_free(a);
	return msg;
}

static void test_summary_content(void **state)
{
	static const char *const env[] = { "NO_COLOR", NULL };
	char *summary = NULL;
	char *msg = console_message("color: auto\ntty: true\n", env, false, &summary);
	(void)state;
	assert_non_null(strstr(msg, "\x1b[")); /* a terminal, NO_COLOR unset: colour */
	assert_null(strstr(summary, "\x1b"));  /* the file is always plain */
	rep_no_secret("the console summary", summary, strlen(summary));
	rep_no_secret("the console message", msg, strlen(msg));
	assert_non_null(strstr(summary, "testbus run " FIX_RUN_ID "  FAILED  in 3m32s\n"));
	assert_non_null(strstr(summary, "cluster  " FIX_CLUSTER_NAME " (kind, eu-west-1, 1.29.2) id c-7f3a"));
	assert_non_null(strstr(summary, "PHASE  TARGET       EXECUTOR  TESTS  PASSED  FAILED"));
	assert_non_null(strstr(summary, "  e2e    e2e-shard-0  ginkgo        7       3       2       1"));
	assert_non_null(strstr(summary, "12 tests: 6 passed, 2 failed, 2 errors, 2 skipped, 2 flaky"));
	assert_non_null(strstr(summary, "FAIL   e2e/e2e-shard-0  e2e.Deployments: " FIX_FAILED_TEST " (2 runs)\n"
	                                "         " FIX_FAILED_MESSAGE "\n"));
	assert_non_null(strstr(summary, "ERROR  e2e/e2e-shard-1"));
	assert_non_null(strstr(summary, "Flaky tests (passed on a retry):\n  e2e/e2e-shard-0  " FIX_FLAKY_TEST " (2 runs)"));
	assert_non_null(strstr(summary, "HIGH     " FIX_FINDING_TITLE " (image-pull-backoff, seen 2 times) in e2e/e2e-shard-0"));
	assert_true(strstr(summary, "HIGH") < strstr(summary, "MEDIUM"));
	assert_non_null(strstr(summary, "e2e/e2e-shard-1: " FIX_LOST_ERROR));
	assert_non_null(strstr(summary, "run: destroy: cluster c-7f3a needed 2 attempts"));
	/* Without colour codes, the message is the file. */
	free(msg);
	free(summary);
}

static bool has_color(const char *config, const char *const *env)
{
	char *msg = console_message(config, env, true, NULL);
	bool color = strstr(msg, "\x1b[") != NULL;
	assert_non_null(strstr(msg, "PASSED"));
	free(msg);
	return color;
}

static void test_color_rules(void **state)
{
	static const char *const no_color[] = { "NO_COLOR=1", NULL };
	static const char *const unset[] = { "NO_COLOR", NULL };
	(void)state;
	assert_false(has_color(NULL, unset));                      /* not a terminal */
	assert_false(has_color("tty: true\n", no_color));          /* NO_COLOR wins over auto */
	assert_true(has_color("tty: true\n", unset));
	assert_false(has_color("tty: true\ncolor: never\n", unset));
	assert_true(has_color("color: always\n", no_color));       /* an explicit setting wins */
}

static void test_config_and_order_errors(void **state)
{
	rep_proc p;
	tb_arena *a = NULL;
	Testbus__V1__ReportOutput *out = NULL;
	tb_status st = { 0 };
	Testbus__V1__ReportInput *in = fixture(&a, false);
	(void)state;
	rep_start(&p, "console", NULL, NULL);
	assert_int_equal(rep_configure(&p, "colour: always\n", &st), TB_INVALID_ARGUMENT);
	assert_non_null(strstr(st.message, "unknown config key 'colour'"));
	assert_int_equal(rep_configure(&p, "color: sometimes\n", &st), TB_INVALID_ARGUMENT);
	assert_non_null(strstr(st.message, "color: expected one of auto, always, never"));
	assert_int_equal(rep_configure(&p, "width: 5\n", &st), TB_INVALID_ARGUMENT);
	assert_int_equal(rep_configure(&p, "redact_patterns: ['(unclosed']\n", &st),
	                 TB_INVALID_ARGUMENT);
	/* Before Initialize, with no folder in the report either. */
	in->artifacts_dir = "";
	assert_int_equal(rep_report(&p, in, &out, &st), TB_FAILED_PRECONDITION);
	assert_non_null(strstr(st.message, "Initialize"));
	/* The folder named by the report itself is used when Initialize did not run. */
	in->artifacts_dir = p.artifacts;
	assert_int_equal(rep_configure(&p, "file: /dev/null/x/summary.txt\n", &st), TB_OK);
	assert_int_equal(rep_report(&p, in, &out, &st), TB_NOT_FOUND);
	assert_int_equal(rep_configure(&p, "file: other.txt\nmax_failures: 1\n", &st), TB_OK);
	assert_int_equal(rep_report(&p, in, &out, &st), TB_OK);
	assert_non_null(strstr(out->message, "  ... and 3 more\n"));
	assert_string_equal(out->artifacts[0]->uri, rep_file(&p, "other.txt"));
	protobuf_c_message_free_unpacked(&out->base, NULL);
	rep_stop(&p);
	tb_arena_free(a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_summary_content),
		cmocka_unit_test(test_color_rules),
		cmocka_unit_test(test_config_and_order_errors),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
