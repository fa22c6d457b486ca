/* The webhook reporter over the bus against a local HTTP server: headers, token, results body, retries. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "fixture.h"
#include "harness.h"
#include "results_json.h"

#define API_KEY "key-5e6f7a8b9c0d"
#define TOKEN "tok-1a2b3c4d5e6f"

struct hook_run {
	rep_proc p;
	http_sink sink;
	tb_arena *a;
	char sink_dir[64];
	char env_url[128];
	const char *env[4];
};

static void hook_start(struct hook_run *r, const char *statuses, const char *extra_config)
{
	char config[1024];
	snprintf(r->sink_dir, sizeof(r->sink_dir), "/tmp/testbus-hook-XXXXXX");
	assert_non_null(mkdtemp(r->sink_dir));
	sink_start(&r->sink, r->sink_dir, statuses, "1");
	snprintf(r->env_url, sizeof(r->env_url), "HOOK_TEST_URL=http://127.0.0.1:%d/ingest?k=v",
	         r->sink.port);
	r->env[0] = r->env_url;
	r->env[1] = "HOOK_TEST_KEY=" API_KEY;
	r->env[2] = "HOOK_TEST_TOKEN=" TOKEN;
	r->env[3] = NULL;
	snprintf(config, sizeof(config),
	         "url_env: HOOK_TEST_URL\ntoken_env: HOOK_TEST_TOKEN\n"
	         "headers: {X-Team: qa}\nheaders_env: {X-Api-Key: HOOK_TEST_KEY}\n"
	         "backoff_ms: 10\nbackoff_max_ms: 50\n%s",
	         extra_config != NULL ? extra_config : "");
	rep_start(&r->p, "webhook", config, r->env);
	assert_int_equal(tb_arena_alloc(&r->a), TB_OK);
}

static void hook_done(struct hook_run *r)
{
	sink_stop(&r->sink);
	rep_stop(&r->p);
	rep_sh("rm -rf '%s'", r->sink_dir);
	tb_arena_free(r->a);
}

static const char *header(json_object *req, const char *name)
{
	json_object *h = NULL, *v = NULL;
	if (!json_object_object_get_ex(req, "headers", &h) || !json_object_object_get_ex(h, name, &v))
		return NULL;
	return json_object_get_string(v);
}

static const char *field(json_object *req, const char *name)
{
	json_object *v = NULL;
	assert_true(json_object_object_get_ex(req, name, &v));
	return json_object_get_string(v);
}

/* The fixture, with the configured secrets also leaking into a log tail. */
static Testbus__V1__ReportInput *leaky_results(tb_arena *a)
{
	Testbus__V1__ReportInput *in = fixture_results(a);
	in->phases[0]->targets[0]->result->stdout_tail =
	    "curl -H X-Api-Key:" API_KEY " -H token:" TOKEN "\n";
	return in;
}

static void test_results_posted(void **state)
{
	struct hook_run r;
	Testbus__V1__ReportOutput *out = NULL;
	Testbus__V1__ReportInput *back = NULL;
	tb_status st = { 0 };
	(void)state;
	hook_start(&r, "200", "method: PUT\n");
	assert_int_equal(rep_initialize(&r.p, FIX_RUN_ID, &st), TB_OK);
	if (rep_report(&r.p, leaky_results(r.a), &out, &st) != TB_OK)
		fail_msg("Report: %s", st.message);
	assert_string_equal(out->message, "posted to the webhook: HTTP 200 (1 attempt)");
	json_object *reqs = sink_requests(&r.sink);
	assert_int_equal(json_object_array_length(reqs), 1);
	json_object *req = json_object_array_get_idx(reqs, 0);
	assert_string_equal(field(req, "method"), "PUT");
	assert_string_equal(field(req, "path"), "/ingest?k=v");
	assert_string_equal(header(req, "x-team"), "qa");
	assert_string_equal(header(req, "x-api-key"), API_KEY);
	assert_string_equal(header(req, "authorization"), "Bearer " TOKEN);
	assert_string_equal(header(req, "x-testbus-run-id"), FIX_RUN_ID);
	assert_string_equal(header(req, "content-type"), "application/json");
	const char *body = field(req, "body");
	rep_no_secret("the webhook body", body, strlen(body));
	assert_null(strstr(body, API_KEY));
	assert_null(strstr(body, TOKEN));
	if (tb_results_from_string(body, strlen(body), r.a, &back, &st) != TB_OK)
		fail_msg("the body is not results.json: %s", st.message);
	assert_int_equal(back->summary->total, FIX_TOTAL);
	assert_int_equal(back->summary->flaky, FIX_FLAKY);
	assert_int_equal(back->phases[1]->targets[0]->n_analysis, 1);
	json_object_put(reqs);
	protobuf_c_message_free_unpacked(&out->base, NULL);
	hook_done(&r);
}

static void test_rate_limited_then_posted(void **state)
{
	struct hook_run r;
	Testbus__V1__ReportOutput *out = NULL;
	tb_status st = { 0 };
	(void)state;
	hook_start(&r, "429,503,200", NULL);
	assert_int_equal(rep_initialize(&r.p, FIX_RUN_ID, &st), TB_OK);
	if (rep_report(&r.p, fixture_results(r.a), &out, &st) != TB_OK)
		fail_msg("Report: %s", st.message);
	assert_string_equal(out->message, "posted to the webhook: HTTP 200 (3 attempts)");
	json_object *reqs = sink_requests(&r.sink);
	assert_int_equal(json_object_array_length(reqs), 3);
	json_object_put(reqs);
	protobuf_c_message_free_unpacked(&out->base, NULL);
	hook_done(&r);
}

static void test_errors_until_out_of_attempts(void **state)
{
	struct hook_run r;
	Testbus__V1__ReportOutput *out = NULL;
	tb_status st = { 0 };
	(void)state;
	hook_start(&r, "502", "attempts: 2\n");
	assert_int_equal(rep_initialize(&r.p, FIX_RUN_ID, &st), TB_OK);
	assert_int_not_equal(rep_report(&r.p, fixture_results(r.a), &out, &st), TB_OK);
	assert_non_null(strstr(st.message, "502"));
	assert_non_null(strstr(st.message, "2 attempts"));
	assert_null(strstr(st.message, TOKEN));
	json_object *reqs = sink_requests(&r.sink);
	assert_int_equal(json_object_array_length(reqs), 2);
	json_object_put(reqs);
	/* Bad configs are refused whole, and the old one stays. */
	assert_int_equal(rep_configure(&r.p, "url: http://127.0.0.1:1/\nheaders: {'Bad Name': x}\n", &st),
	                 TB_INVALID_ARGUMENT);
	assert_int_equal(rep_configure(&r.p, "url: http://127.0.0.1:1/\nmethod: DELETE\n", &st),
	                 TB_INVALID_ARGUMENT);
	assert_int_equal(rep_configure(&r.p, "url_env: HOOK_TEST_NOT_SET\n", &st),
	                 TB_FAILED_PRECONDITION);
	hook_done(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_results_posted),
		cmocka_unit_test(test_rate_limited_then_posted),
		cmocka_unit_test(test_errors_until_out_of_attempts),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
