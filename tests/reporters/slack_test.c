/* The Slack reporter over the bus against a local HTTP server: payload shape, trimming, 429 then success, 5xx until retries run out. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "fixture.h"
#include "harness.h"

#define HOOK_PATH "/services/T0001/B0002/hooksecret0123456789"

struct slack_run {
	rep_proc p;
	http_sink sink;
	tb_arena *a;
	char sink_dir[64];
	char env_url[256];
	const char *env[3];
};

/* Starts the sink and a Slack reporter whose webhook URL points at it. */
static void slack_start(struct slack_run *r, const char *statuses, const char *extra_config)
{
	char config[1024];
	snprintf(r->sink_dir, sizeof(r->sink_dir), "/tmp/testbus-slack-XXXXXX");
	assert_non_null(mkdtemp(r->sink_dir));
	sink_start(&r->sink, r->sink_dir, statuses, "1");
	snprintf(r->env_url, sizeof(r->env_url), "SLACK_TEST_URL=http://127.0.0.1:%d" HOOK_PATH,
	         r->sink.port);
	r->env[0] = r->env_url;
	r->env[1] = NULL;
	snprintf(config, sizeof(config),
	         "webhook_url_env: SLACK_TEST_URL\nbackoff_ms: 10\nbackoff_max_ms: 50\n%s",
	         extra_config != NULL ? extra_config : "");
	rep_start(&r->p, "slack", config, r->env);
	assert_int_equal(tb_arena_alloc(&r->a), TB_OK);
}

static void slack_done(struct slack_run *r)
{
	sink_stop(&r->sink);
	rep_stop(&r->p);
	rep_sh("rm -rf '%s'", r->sink_dir);
	tb_arena_free(r->a);
}

static const char *str_at(json_object *o, const char *key)
{
	json_object *v = NULL;
	if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string))
		fail_msg("no string %s", key);
	return json_object_get_string(v);
}

static json_object *get(json_object *o, const char *key)
{
	json_object *v = NULL;
	if (!json_object_object_get_ex(o, key, &v))
		fail_msg("no %s", key);
	return v;
}

/* The text of block i (a section's or a header's). */
static const char *block_text(json_object *blocks, size_t i)
{
	return str_at(get(json_object_array_get_idx(blocks, i), "text"), "text");
}

static void test_payload_shape(void **state)
{
	struct slack_run r;
	Testbus__V1__ReportOutput *out = NULL;
	tb_status st = { 0 };
	(void)state;
	slack_start(&r, "200", "report_url: https://ci.example/runs/{run_id}/report.html\n"
	                       "payload_file: slack.json\n");
	assert_int_equal(rep_initialize(&r.p, FIX_RUN_ID, &st), TB_OK);
	if (rep_report(&r.p, fixture_results(r.a), &out, &st) != TB_OK)
		fail_msg("Report: %s", st.message);
	assert_string_equal(out->message, "posted to Slack (1 attempt)");
	assert_string_equal(rep_artifact(out, "slack-payload")->uri, rep_file(&r.p, "slack.json"));
	json_object *reqs = sink_requests(&r.sink);
	assert_int_equal(json_object_array_length(reqs), 1);
	json_object *req = json_object_array_get_idx(reqs, 0);
	assert_string_equal(str_at(req, "method"), "POST");
	assert_string_equal(str_at(req, "path"), HOOK_PATH);
	assert_non_null(strstr(str_at(get(req, "headers"), "content-type"), "application/json"));
	const char *body = str_at(req, "body");
	rep_no_secret("the Slack message", body, strlen(body));
	assert_null(strstr(body, "hooksecret"));
	json_object *msg = json_tokener_parse(body);
	assert_non_null(msg);
	assert_non_null(strstr(str_at(msg, "text"), FIX_RUN_ID " FAILED: 12 tests, 6 passed, 2 failed"));
	json_object *blocks = get(msg, "blocks");
	assert_int_equal(json_object_array_length(blocks), 6);
	assert_string_equal(str_at(json_object_array_get_idx(blocks, 0), "type"), "header");
	assert_string_equal(block_text(blocks, 0), ":x: testbus run " FIX_RUN_ID " failed");
	json_object *fields = get(json_object_array_get_idx(blocks, 1), "fields");
	assert_int_equal(json_object_array_length(fields), 8);
	assert_string_equal(str_at(json_object_array_get_idx(fields, 4), "text"), "*Failed*\n2");
	const char *failures = block_text(blocks, 2);
	assert_non_null(strstr(failures, "*Failed tests*\n"));
	assert_non_null(strstr(failures, "`e2e/e2e-shard-0` *" FIX_FAILED_TEST "*: " FIX_FAILED_MESSAGE));
	assert_non_null(strstr(failures, "*renders &lt;script&gt;alert('x')&lt;/script&gt; &amp; \"quotes\"*"));
	assert_non_null(strstr(failures, "` error *e2e-shard-1 exit status*"));
	assert_non_null(strstr(block_text(blocks, 3), "*Top finding* (high, seen 2 times in `e2e/e2e-shard-0`)\n*" FIX_FINDING_TITLE "*"));
	assert_non_null(strstr(block_text(blocks, 4), "*Run errors*"));
	json_object *button = json_object_array_get_idx(get(json_object_array_get_idx(blocks, 5), "elements"), 0);
	assert_string_equal(str_at(button, "url"), "https://ci.example/runs/" FIX_RUN_ID "/report.html");
	json_object_put(msg);
	json_object_put(reqs);
	protobuf_c_message_free_unpacked(&out->base, NULL);
	slack_done(&r);
}

/* Makes a run with many failed tests whose names and messages are long. */
static Testbus__V1__ReportInput *many_failures(tb_arena *a)
{
	Testbus__V1__ReportInput *in = fixture_results(a);
	Testbus__V1__ExecutionResult *res = in->phases[1]->targets[0]->result;
	size_t n = 300;
	Testbus__V1__TestCase **cases = tb_arena_zalloc(a, n * sizeof(*cases));
	char *long_text = tb_arena_zalloc(a, 2001);
	memset(long_text, 'x', 2000);
	for (size_t i = 0; i < n; i++) {
		cases[i] = tb_arena_memdup(a, res->test_cases[1], sizeof(*cases[i]));
		cases[i]->name = tb_arena_printf(a, "case %zu & <%s>", i, long_text + 1900);
		cases[i]->message = long_text;
		cases[i]->n_attempts = 0;
	}
	res->test_cases = cases;
	res->n_test_cases = n;
	in->run_id = tb_arena_printf(a, "run-%s", long_text + 1800); /* a header past 150 */
	return in;
}

static void test_trimmed_to_slack_limits(void **state)
{
	struct slack_run r;
	Testbus__V1__ReportOutput *out = NULL;
	tb_status st = { 0 };
	(void)state;
	slack_start(&r, "200", "max_failures: 1000\n");
	assert_int_equal(rep_initialize(&r.p, FIX_RUN_ID, &st), TB_OK);
	if (rep_report(&r.p, many_failures(r.a), &out, &st) != TB_OK)
		fail_msg("Report: %s", st.message);
	json_object *reqs = sink_requests(&r.sink);
	json_object *msg = json_tokener_parse(str_at(json_object_array_get_idx(reqs, 0), "body"));
	json_object *blocks = get(msg, "blocks");
	assert_true(json_object_array_length(blocks) <= 50);
	assert_true(strlen(block_text(blocks, 0)) <= 150);
	const char *failures = block_text(blocks, 2);
	assert_true(strlen(failures) <= 3000);
	assert_true(strlen(failures) > 2000);
	assert_non_null(strstr(failures, " more_")); /* says how many were left out */
	assert_null(strstr(failures, "&am\xe2")); /* never an entity cut in two */
	for (size_t i = 0; i < json_object_array_length(blocks); i++) {
		json_object *text = NULL;
		if (json_object_object_get_ex(json_object_array_get_idx(blocks, i), "text", &text))
			assert_true(strlen(str_at(text, "text")) <= 3000);
	}
	json_object_put(msg);
	json_object_put(reqs);
	protobuf_c_message_free_unpacked(&out->base, NULL);
	slack_done(&r);
}

static void test_rate_limited_then_posted(void **state)
{
	struct slack_run r;
	Testbus__V1__ReportOutput *out = NULL;
	tb_status st = { 0 };
	(void)state;
	slack_start(&r, "429,200", NULL);
	assert_int_equal(rep_initialize(&r.p, FIX_RUN_ID, &st), TB_OK);
	if (rep_report(&r.p, fixture_results(r.a), &out, &st) != TB_OK)
		fail_msg("Report: %s", st.message);
	assert_string_equal(out->message, "posted to Slack (2 attempts)");
	json_object *reqs = sink_requests(&r.sink);
	assert_int_equal(json_object_array_length(reqs), 2);
	assert_string_equal(str_at(json_object_array_get_idx(reqs, 0), "body"),
	                    str_at(json_object_array_get_idx(reqs, 1), "body"));
	json_object_put(reqs);
	protobuf_c_message_free_unpacked(&out->base, NULL);
	slack_done(&r);
}

static void test_server_errors_until_out_of_attempts(void **state)
{
	struct slack_run r;
	Testbus__V1__ReportOutput *out = NULL;
	tb_status st = { 0 };
	(void)state;
	slack_start(&r, "500", "attempts: 3\n");
	assert_int_equal(rep_initialize(&r.p, FIX_RUN_ID, &st), TB_OK);
	int rv = rep_report(&r.p, fixture_results(r.a), &out, &st);
	assert_int_not_equal(rv, TB_OK);
	assert_null(out);
	assert_non_null(strstr(st.message, "500"));
	assert_non_null(strstr(st.message, "3 attempts"));
	assert_null(strstr(st.message, "hooksecret")); /* the webhook URL is a secret */
	json_object *reqs = sink_requests(&r.sink);
	assert_int_equal(json_object_array_length(reqs), 3);
	json_object_put(reqs);
	slack_done(&r);
}

static void test_failures_only(void **state)
{
	struct slack_run r;
	Testbus__V1__ReportOutput *out = NULL;
	tb_status st = { 0 };
	(void)state;
	slack_start(&r, "200", "failures_only: true\n");
	assert_int_equal(rep_initialize(&r.p, FIX_RUN_ID, &st), TB_OK);
	assert_int_equal(rep_report(&r.p, fixture_results_passing(r.a), &out, &st), TB_OK);
	assert_non_null(strstr(out->message, "nothing posted"));
	protobuf_c_message_free_unpacked(&out->base, NULL);
	json_object *reqs = sink_requests(&r.sink);
	assert_int_equal(json_object_array_length(reqs), 0);
	json_object_put(reqs);
	assert_int_equal(rep_report(&r.p, fixture_results(r.a), &out, &st), TB_OK);
	reqs = sink_requests(&r.sink);
	assert_int_equal(json_object_array_length(reqs), 1);
	json_object_put(reqs);
	protobuf_c_message_free_unpacked(&out->base, NULL);
	slack_done(&r);
}

static void test_no_webhook(void **state)
{
	rep_proc p;
	tb_status st = { 0 };
	(void)state;
	rep_start(&p, "slack", NULL, NULL);
	assert_int_equal(rep_initialize(&p, FIX_RUN_ID, &st), TB_FAILED_PRECONDITION);
	assert_non_null(strstr(st.message, "no webhook"));
	assert_int_equal(rep_configure(&p, "webhook_url_env: SLACK_TEST_UNSET_URL\n", &st),
	                 TB_FAILED_PRECONDITION);
	assert_non_null(strstr(st.message, "$SLACK_TEST_UNSET_URL is not set"));
	assert_int_equal(rep_configure(&p, "webhook_url: ftp://example/hook\n", &st),
	                 TB_INVALID_ARGUMENT);
	/* A bad --config file stops the component before it serves. */
	assert_int_equal(rep_sh("printf 'webhook_url_env: SLACK_TEST_UNSET_URL\\n' > '%s/bad.yaml' && "
	                        "'%s/testbus-reporter-slack' --listen 'ipc://%s/bad.ipc' "
	                        "--config '%s/bad.yaml' 2> '%s/bad.log'",
	                        p.dir, getenv("TESTBUS_BIN_DIR"), p.dir, p.dir, p.dir),
	                 1);
	rep_stop(&p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_payload_shape),
		cmocka_unit_test(test_trimmed_to_slack_limits),
		cmocka_unit_test(test_rate_limited_then_posted),
		cmocka_unit_test(test_server_errors_until_out_of_attempts),
		cmocka_unit_test(test_failures_only),
		cmocka_unit_test(test_no_webhook),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
