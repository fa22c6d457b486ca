/* The JUnit reporter over the bus: xmllint accepts its file and the project's parser reads the same counts. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fixture.h"
#include "harness.h"
#include "junit.h"

static void test_junit_file(void **state)
{
	rep_proc p;
	tb_arena *a = NULL;
	Testbus__V1__ReportOutput *out = NULL;
	tb_junit *j = NULL;
	Testbus__V1__ResultSummary sum = TESTBUS__V1__RESULT_SUMMARY__INIT;
	tb_status st = { 0 };
	(void)state;
	assert_int_equal(tb_arena_alloc(&a), TB_OK);
	Testbus__V1__ReportInput *in = fixture_results(a);
	rep_start(&p, "junit", "max_output: 4096\n", NULL);
	assert_int_equal(rep_initialize(&p, FIX_RUN_ID, &st), TB_OK);
	if (rep_report(&p, in, &out, &st) != TB_OK)
		fail_msg("Report: %s", st.message);
	const Testbus__V1__Artifact *art = rep_artifact(out, "junit");
	assert_string_equal(art->uri, rep_file(&p, "junit.xml"));
	assert_int_equal(rep_sh("xmllint --noout --nonet '%s'", art->uri), 0);
	size_t len = 0;
	char *xml = fixture_slurp(art->uri, &len);
	assert_int_equal(len, art->size);
	rep_no_secret("junit.xml", xml, len);
	assert_non_null(strstr(xml, "<flakyFailure "));
	assert_int_equal(tb_junit_alloc(a, NULL, &j), TB_OK);
	if (tb_junit_add_file(j, art->uri, NULL, &st) != TB_OK)
		fail_msg("the project's parser: %s", st.message);
	tb_junit_summary(j, &sum);
	assert_int_equal(sum.total, in->summary->total);
	assert_int_equal(sum.passed, in->summary->passed);
	assert_int_equal(sum.failed, in->summary->failed);
	assert_int_equal(sum.errors, in->summary->errors);
	assert_int_equal(sum.skipped, in->summary->skipped);
	assert_int_equal(sum.flaky, in->summary->flaky);
	assert_int_equal(rep_configure(&p, "max_output: 1\n", &st), TB_INVALID_ARGUMENT);
	tb_junit_free(j);
	free(xml);
	protobuf_c_message_free_unpacked(&out->base, NULL);
	rep_stop(&p);
	tb_arena_free(a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_junit_file),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
