/* Unit tests of the results.json schema: writing, reading back, times, text cleaning and redaction. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "fixture.h"
#include "results_json.h"

static const char *golden_path; /* tests/reporters/data/results-v1.json */

struct ctx {
	tb_arena *a;
	tb_redactor *r;
	Testbus__V1__ReportInput *in;
};

static int setup(void **state)
{
	struct ctx *c = calloc(1, sizeof(*c));
	tb_status st;
	assert_int_equal(tb_arena_alloc(&c->a), TB_OK);
	assert_int_equal(tb_redactor_alloc(NULL, 0, &c->r, &st), TB_OK);
	c->in = fixture_results(c->a);
	*state = c;
	return 0;
}

static int teardown(void **state)
{
	struct ctx *c = *state;
	tb_redactor_free(c->r);
	tb_arena_free(c->a);
	free(c);
	return 0;
}

/* The member at a dotted path with [i] indexes, e.g. "phases[1].targets[0].labels.shard". */
static json_object *at(json_object *o, const char *path)
{
	char buf[256];
	snprintf(buf, sizeof(buf), "%s", path);
	for (char *save = NULL, *tok = strtok_r(buf, ".", &save); tok != NULL && o != NULL;
	     tok = strtok_r(NULL, ".", &save)) {
		char *br = strchr(tok, '[');
		if (br != NULL)
			*br = '\0';
		if (*tok != '\0' && !json_object_object_get_ex(o, tok, &o))
			return NULL;
		for (; br != NULL; br = strchr(br + 1, '['))
			o = json_object_array_get_idx(o, (size_t)atoi(br + 1));
	}
	return o;
}

static const char *str_at(json_object *o, const char *path)
{
	json_object *v = at(o, path);
	if (v == NULL || !json_object_is_type(v, json_type_string))
		fail_msg("%s: not a string", path);
	return json_object_get_string(v);
}

static int64_t int_at(json_object *o, const char *path)
{
	json_object *v = at(o, path);
	if (v == NULL || !json_object_is_type(v, json_type_int))
		fail_msg("%s: not an integer", path);
	return json_object_get_int64(v);
}

static void test_document_shape(void **state)
{
	struct ctx *c = *state;
	json_object *o = NULL;
	tb_status st;
	assert_int_equal(tb_results_to_json(c->in, c->r, &o, &st), TB_OK);
	assert_int_equal(int_at(o, "schema_version"), TB_RESULTS_SCHEMA_VERSION);
	assert_string_equal(str_at(o, "run_id"), FIX_RUN_ID);
	assert_false(json_object_get_boolean(at(o, "success")));
	assert_string_equal(str_at(o, "started_at"), "2024-05-01T12:00:00.000Z");
	assert_string_equal(str_at(o, "finished_at"), "2024-05-01T12:03:32.345Z");
	assert_int_equal(int_at(o, "duration_ms"), 212345);
	assert_int_equal(int_at(o, "summary.total"), FIX_TOTAL);
	assert_int_equal(int_at(o, "summary.passed"), FIX_PASSED);
	assert_int_equal(int_at(o, "summary.failed"), FIX_FAILED);
	assert_int_equal(int_at(o, "summary.errors"), FIX_ERRORS);
	assert_int_equal(int_at(o, "summary.skipped"), FIX_SKIPPED);
	assert_int_equal(int_at(o, "summary.flaky"), FIX_FLAKY);
	assert_string_equal(str_at(o, "cluster.name"), FIX_CLUSTER_NAME);
	assert_int_equal(int_at(o, "cluster.properties.nodes"), 3);
	assert_null(at(o, "cluster.kubeconfig"));
	assert_int_equal(json_object_array_length(at(o, "phases")), 2);
	assert_string_equal(str_at(o, "phases[1].name"), "e2e");
	assert_int_equal(int_at(o, "phases[1].summary.total"), 8);
	assert_string_equal(str_at(o, "phases[1].targets[0].labels.shard"), "0");
	assert_string_equal(str_at(o, "phases[1].targets[0].attempts[0].reason"), "executor lost");
	assert_string_equal(str_at(o, "phases[1].targets[0].test_cases[1].status"), "failed");
	assert_string_equal(str_at(o, "phases[1].targets[0].test_cases[2].status"), "error");
	assert_string_equal(str_at(o, "phases[1].targets[0].test_cases[4].attempts[0].status"),
	                    "failed");
	assert_true(json_object_get_boolean(at(o, "phases[1].targets[0].test_cases[4].flaky")));
	assert_true(json_object_get_boolean(at(o, "phases[1].targets[1].test_cases[0].synthetic")));
	assert_string_equal(str_at(o, "phases[1].targets[1].error"), FIX_LOST_ERROR);
	assert_string_equal(str_at(o, "analysis[0].target_id"), "e2e-shard-0");
	assert_string_equal(str_at(o, "analysis[0].findings[0].severity"), "high");
	assert_string_equal(str_at(o, "analysis[0].findings[0].title"), FIX_FINDING_TITLE);
	assert_int_equal(json_object_array_length(at(o, "errors")), 1);
	json_object_put(o);
}

static void test_secrets_and_text_cleaned(void **state)
{
	struct ctx *c = *state;
	char *text = NULL;
	const char *which = NULL;
	tb_status st;
	assert_int_equal(tb_redactor_learn(c->r, (const char *)c->in->cluster->kubeconfig.data,
	                                   c->in->cluster->kubeconfig.len),
	                 TB_OK);
	assert_int_equal(tb_results_to_string(c->in, c->r, TB_RESULTS_PRETTY, &text, &st), TB_OK);
	if (fixture_has_secret(text, strlen(text), &which))
		fail_msg("secret %s in results.json", which);
	assert_non_null(strstr(text, TB_REDACTED));
	assert_null(strstr(text, "\x1b"));   /* ANSI colour removed */
	assert_null(strstr(text, "\\u0007")); /* bell removed */
	assert_non_null(strstr(text, "bad byte \xef\xbf\xbd here, tab\\there"));
	assert_non_null(strstr(text, "renders <script>alert('x')</script> & \\\"quotes\\\""));
	free(text);
	/* Without a redactor the text is still cleaned and the kubeconfig still left out. */
	assert_int_equal(tb_results_to_string(c->in, NULL, 0, &text, &st), TB_OK);
	assert_null(strstr(text, "client-key-data"));
	assert_non_null(strstr(text, FIX_BEARER_SECRET));
	free(text);
}

static void test_round_trip(void **state)
{
	struct ctx *c = *state;
	char *first = NULL, *second = NULL;
	Testbus__V1__ReportInput *back = NULL;
	tb_status st;
	/* Result labels other than the target's are kept apart. */
	Testbus__V1__TargetReport *t1 = c->in->phases[1]->targets[1];
	t1->result->labels = (Testbus__V1__ExecutionResult__LabelsEntry **)t1->labels;
	t1->result->n_labels = 1;
	assert_int_equal(tb_results_to_string(c->in, c->r, 0, &first, &st), TB_OK);
	assert_non_null(strstr(first, "\"result_labels\":{\"phase\":\"e2e\"}"));
	if (tb_results_from_string(first, strlen(first), c->a, &back, &st) != TB_OK)
		fail_msg("read back: %s", st.message);
	assert_int_equal(back->n_phases, 2);
	assert_int_equal(back->summary->total, FIX_TOTAL);
	assert_int_equal(back->started_at, c->in->started_at);
	assert_int_equal(back->finished_at, c->in->finished_at);
	const Testbus__V1__TargetReport *t = back->phases[1]->targets[0];
	assert_int_equal(t->n_analysis, 1);
	assert_int_equal(t->analysis[0]->findings[0]->severity, TESTBUS__V1__SEVERITY__SEVERITY_HIGH);
	assert_int_equal(t->result->test_cases[4]->n_attempts, 1);
	assert_int_equal(t->result->n_labels, 3); /* taken from the target's labels */
	assert_int_equal(back->phases[1]->targets[1]->result->n_labels, 1);
	assert_true(t->result->test_cases[1]->duration_ms == 61000.25);
	assert_int_equal(back->cluster->properties[0]->value->int_value, 3);
	assert_int_equal(back->cluster->kubeconfig.len, 0);
	assert_int_equal(tb_results_to_string(back, c->r, 0, &second, &st), TB_OK);
	if (strcmp(first, second) != 0) {
		size_t i = 0;
		while (first[i] == second[i])
			i++;
		fail_msg("differs at %zu:\n%.200s\n%.200s", i, first + (i > 80 ? i - 80 : 0),
		         second + (i > 80 ? i - 80 : 0));
	}
	free(first);
	free(second);
}

/* Every Value kind survives the trip, bytes included. */
static void test_values_round_trip(void **state)
{
	struct ctx *c = *state;
	static const char *doc =
	    "{\"schema_version\":1,\"run_id\":\"r\",\"cluster\":{\"properties\":{"
	    "\"s\":\"x\",\"i\":-7,\"d\":2.5,\"b\":true,\"blob\":{\"$bytes\":\"AAH/\"},"
	    "\"l\":[1,\"two\",null],\"m\":{\"k\":{\"deep\":false}},\"n\":null}}}";
	Testbus__V1__ReportInput *in = NULL;
	char *text = NULL;
	tb_status st;
	if (tb_results_from_string(doc, strlen(doc), c->a, &in, &st) != TB_OK)
		fail_msg("%s", st.message);
	assert_int_equal(in->cluster->n_properties, 8);
	const Testbus__V1__Value *blob = in->cluster->properties[4]->value;
	assert_int_equal(blob->kind_case, TESTBUS__V1__VALUE__KIND_BYTES_VALUE);
	assert_int_equal(blob->bytes_value.len, 3);
	assert_memory_equal(blob->bytes_value.data, "\x00\x01\xff", 3);
	assert_int_equal(in->cluster->properties[5]->value->list_value->n_values, 3);
	assert_int_equal(tb_results_to_string(in, NULL, 0, &text, &st), TB_OK);
	assert_non_null(strstr(text, "\"properties\":{\"s\":\"x\",\"i\":-7,\"d\":2.5,\"b\":true,"
	                             "\"blob\":{\"$bytes\":\"AAH/\"},\"l\":[1,\"two\",null],"
	                             "\"m\":{\"k\":{\"deep\":false}},\"n\":null}"));
	free(text);
}

static void expect_read_error(tb_arena *a, const char *doc, int code, const char *needle)
{
	Testbus__V1__ReportInput *in = (void *)1;
	tb_status st = { 0 };
	assert_int_equal(tb_results_from_string(doc, strlen(doc), a, &in, &st), code);
	assert_null(in);
	if (strstr(st.message, needle) == NULL)
		fail_msg("message '%s' lacks '%s'", st.message, needle);
}

static void test_read_errors(void **state)
{
	struct ctx *c = *state;
	expect_read_error(c->a, "{\"run_id\":\"r\"}", TB_INVALID_ARGUMENT, "schema_version");
	expect_read_error(c->a, "{\"schema_version\":99}", TB_INVALID_ARGUMENT,
	                  "version 99 is not supported");
	expect_read_error(c->a, "[1]", TB_INVALID_ARGUMENT, "not a JSON object");
	expect_read_error(c->a, "{\"schema_version\":1", TB_INVALID_ARGUMENT, "not JSON");
	expect_read_error(c->a, "{\"schema_version\":1} x", TB_INVALID_ARGUMENT, "not JSON");
	expect_read_error(c->a, "{\"schema_version\":1,\"success\":\"yes\"}", TB_INVALID_ARGUMENT,
	                  "success: expected true or false");
	expect_read_error(c->a,
	                  "{\"schema_version\":1,\"phases\":[{\"name\":\"p\",\"targets\":[{"
	                  "\"test_cases\":[{},{\"status\":\"exploded\"}]}]}]}",
	                  TB_INVALID_ARGUMENT, "phases[0].targets[0].test_cases[1].status: unknown");
	expect_read_error(c->a, "{\"schema_version\":1,\"started_at\":\"yesterday\"}",
	                  TB_INVALID_ARGUMENT, "started_at: expected an RFC 3339 time");
	expect_read_error(c->a,
	                  "{\"schema_version\":1,\"summary\":{\"total\":-1}}", TB_INVALID_ARGUMENT,
	                  "summary.total: out of range");
	expect_read_error(c->a,
	                  "{\"schema_version\":1,\"phases\":[],\"analysis\":[{\"phase\":\"x\","
	                  "\"target_id\":\"y\"}]}",
	                  TB_INVALID_ARGUMENT, "analysis[0].target_id: names no target");
}

static void test_times(void **state)
{
	char buf[40];
	int64_t ms = 0;
	(void)state;
	assert_string_equal(tb_results_format_time(1714564800250LL, buf, sizeof(buf)),
	                    "2024-05-01T12:00:00.250Z");
	assert_string_equal(tb_results_format_time(0, buf, sizeof(buf)), "");
	assert_string_equal(tb_results_format_time(-1, buf, sizeof(buf)), "1969-12-31T23:59:59.999Z");
	assert_string_equal(tb_results_format_time(1714564800250LL, buf, 10), "");
	assert_int_equal(tb_results_parse_time("2024-05-01T12:00:00.250Z", &ms), TB_OK);
	assert_int_equal(ms, 1714564800250LL);
	assert_int_equal(tb_results_parse_time("2024-05-01T14:00:00+02:00", &ms), TB_OK);
	assert_int_equal(ms, 1714564800000LL);
	assert_int_equal(tb_results_parse_time("2024-05-01t11:30:00.5-00:30", &ms), TB_OK);
	assert_int_equal(ms, 1714564800500LL);
	assert_int_equal(tb_results_parse_time("2024-05-01T12:00:00", &ms), TB_INVALID_ARGUMENT);
	assert_int_equal(tb_results_parse_time("2024-13-01T12:00:00Z", &ms), TB_INVALID_ARGUMENT);
	assert_int_equal(tb_results_parse_time("2024-05-01T12:00:00Zjunk", &ms), TB_INVALID_ARGUMENT);
	assert_int_equal(tb_results_parse_time("", &ms), TB_INVALID_ARGUMENT);
}

static void expect_clean(tb_arena *a, const char *in, size_t len, const char *want)
{
	char *got = tb_results_clean_text(a, in, len);
	assert_non_null(got);
	assert_string_equal(got, want);
}

static void test_clean_text(void **state)
{
	struct ctx *c = *state;
	expect_clean(c->a, "plain\ttext\n", 11, "plain\ttext\n");
	expect_clean(c->a, "\x1b[1;31m" "red\x1b[0m", 14, "red");
	expect_clean(c->a, "\x1b]0;title\x07" "after", 15, "after");
	expect_clean(c->a, "a\r\nb\rc", 6, "a\nb\nc");
	expect_clean(c->a, "nul\0inside", 10, "nulinside");
	expect_clean(c->a, "\xc3\xa9\xe2\x9c\x93\xf0\x9f\x98\x80", 9, "\xc3\xa9\xe2\x9c\x93\xf0\x9f\x98\x80");
	expect_clean(c->a, "\xc0\xaf", 2, "\xef\xbf\xbd\xef\xbf\xbd");  /* overlong */
	expect_clean(c->a, "\xed\xa0\x80", 3, "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"); /* surrogate */
	expect_clean(c->a, "cut \xe2\x9c", 6, "cut \xef\xbf\xbd\xef\xbf\xbd");
	expect_clean(c->a, "\xc2\x85" "next\xef\xbf\xbe", 9, "next\xef\xbf\xbd");
	expect_clean(c->a, NULL, 0, "");
}

static void test_prepare_leaves_input(void **state)
{
	struct ctx *c = *state;
	Testbus__V1__ReportInput *out = NULL;
	tb_status st;
	size_t before = c->in->cluster->kubeconfig.len;
	assert_int_equal(tb_results_prepare(c->in, c->r, c->a, &out, &st), TB_OK);
	assert_int_equal(out->cluster->kubeconfig.len, 0);
	assert_int_equal(c->in->cluster->kubeconfig.len, before);
	const char *output = out->phases[1]->targets[0]->result->test_cases[1]->output;
	assert_null(strstr(output, FIX_BEARER_SECRET));
	assert_non_null(strstr(c->in->phases[1]->targets[0]->result->test_cases[1]->output,
	                       FIX_BEARER_SECRET));
	assert_non_null(strstr(out->errors[0], "(password=" TB_REDACTED));
	assert_null(strstr(out->errors[0], FIX_PASSWORD_SECRET));
}

static void test_write_and_read_file(void **state)
{
	struct ctx *c = *state;
	char dir[] = "/tmp/testbus-results-XXXXXX";
	char path[128];
	Testbus__V1__ReportInput *back = NULL;
	tb_status st;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/results.json", dir);
	assert_int_equal(tb_results_write_file(c->in, c->r, path, TB_RESULTS_PRETTY, &st), TB_OK);
	assert_int_equal(tb_results_read_file(path, c->a, &back, &st), TB_OK);
	assert_string_equal(back->run_id, FIX_RUN_ID);
	unlink(path);
	assert_int_equal(tb_results_read_file(path, c->a, &back, &st), TB_NOT_FOUND);
	assert_non_null(strstr(st.message, path));
	snprintf(path, sizeof(path), "%s/missing/results.json", dir);
	assert_int_equal(tb_results_write_file(c->in, NULL, path, 0, &st), TB_NOT_FOUND);
	rmdir(dir);
}

/* A results.json written by schema version 1 stays readable. */
static void test_golden_v1(void **state)
{
	struct ctx *c = *state;
	Testbus__V1__ReportInput *in = NULL;
	tb_status st;
	if (tb_results_read_file(golden_path, c->a, &in, &st) != TB_OK)
		fail_msg("%s", st.message);
	assert_string_equal(in->run_id, FIX_RUN_ID);
	assert_int_equal(in->summary->total, FIX_TOTAL);
	assert_int_equal(in->summary->flaky, FIX_FLAKY);
	assert_int_equal(in->phases[1]->targets[0]->n_analysis, 1);
	assert_int_equal(in->phases[1]->targets[0]->result->n_test_cases, 7);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_document_shape, setup, teardown),
		cmocka_unit_test_setup_teardown(test_secrets_and_text_cleaned, setup, teardown),
		cmocka_unit_test_setup_teardown(test_round_trip, setup, teardown),
		cmocka_unit_test_setup_teardown(test_values_round_trip, setup, teardown),
		cmocka_unit_test_setup_teardown(test_read_errors, setup, teardown),
		cmocka_unit_test(test_times),
		cmocka_unit_test_setup_teardown(test_clean_text, setup, teardown),
		cmocka_unit_test_setup_teardown(test_prepare_leaves_input, setup, teardown),
		cmocka_unit_test_setup_teardown(test_write_and_read_file, setup, teardown),
		cmocka_unit_test_setup_teardown(test_golden_v1, setup, teardown),
	};
	golden_path = argc > 1 ? argv[1] : "data/results-v1.json";
	return cmocka_run_group_tests(tests, NULL, NULL);
}
