/* The JSON reporter over the bus: results in the schema, valid to a strict parser, secrets gone. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fixture.h"
#include "harness.h"
#include "results_json.h"

#define LITERAL_SECRET "lit-9f8e7d6c5b4a"

static void test_results_file(void **state)
{
	static const char *const env[] = { "REPORT_TEST_SECRET=" LITERAL_SECRET, NULL };
	rep_proc p;
	tb_arena *a = NULL;
	Testbus__V1__ReportOutput *out = NULL;
	Testbus__V1__ReportInput *back = NULL;
	tb_status st = { 0 };
	(void)state;
	assert_int_equal(tb_arena_alloc(&a), TB_OK);
	Testbus__V1__ReportInput *in = fixture_results(a);
	in->phases[0]->targets[0]->result->stdout_tail = "exported API_KEY_VALUE " LITERAL_SECRET "\n";
	rep_start(&p, "json", "redact_env: [REPORT_TEST_SECRET]\n", env);
	assert_int_equal(rep_initialize(&p, FIX_RUN_ID, &st), TB_OK);
	if (rep_report(&p, in, &out, &st) != TB_OK)
		fail_msg("Report: %s", st.message);
	const Testbus__V1__Artifact *art = rep_artifact(out, "results");
	assert_string_equal(art->uri, rep_file(&p, "report.json"));
	assert_string_equal(art->media_type, "application/json");
	size_t len = 0;
	char *text = fixture_slurp(art->uri, &len);
	assert_non_null(text);
	assert_int_equal(len, art->size);
	rep_no_secret("report.json", text, len);
	assert_null(strstr(text, LITERAL_SECRET));
	assert_null(strstr(text, "kubeconfig"));
	assert_non_null(strstr(text, "\n  \"schema_version\": 1,\n"));
	/* Python's parser is strict about UTF-8 and escapes. */
	assert_int_equal(rep_sh("python3 -c 'import json,sys; d=json.load(open(sys.argv[1], encoding=\"utf-8\"));"
	                        " assert d[\"summary\"][\"total\"] == %d'"
	                        " '%s'", FIX_TOTAL, art->uri), 0);
	if (tb_results_read_file(art->uri, a, &back, &st) != TB_OK)
		fail_msg("%s", st.message);
	assert_int_equal(back->summary->failed, FIX_FAILED);
	assert_int_equal(back->summary->flaky, FIX_FLAKY);
	assert_int_equal(back->phases[1]->targets[0]->n_analysis, 1);
	free(text);
	protobuf_c_message_free_unpacked(&out->base, NULL);
	/* Compact output, to an absolute path. */
	char *abs = strdup(rep_file(&p, "compact.json"));
	char cfg[256];
	snprintf(cfg, sizeof(cfg), "pretty: false\nfile: %s\n", abs);
	assert_int_equal(rep_configure(&p, cfg, &st), TB_OK);
	assert_int_equal(rep_initialize(&p, FIX_RUN_ID, &st), TB_OK);
	assert_int_equal(rep_report(&p, in, &out, &st), TB_OK);
	text = fixture_slurp(abs, &len);
	assert_non_null(text);
	assert_ptr_equal(strchr(text, '\n'), text + len - 1);
	assert_int_equal(rep_configure(&p, "file: ''\n", &st), TB_INVALID_ARGUMENT);
	free(text);
	free(abs);
	protobuf_c_message_free_unpacked(&out->base, NULL);
	rep_stop(&p);
	tb_arena_free(a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_results_file),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
