/* Black-box tests of testbus-analyzer-llm against a local fake endpoint speaking both APIs. */
#include <json-c/json.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include <cmocka.h>

#include "fixture.h"

#define GOOD_ROOT_CAUSE "The image tag web:v9 does not exist in the registry."

struct env {
	char dir[64];
	char log[256];
	int port;
	pid_t server;
	struct fx_component c;
};

static const char *const apis[] = {"openai", "gemini"};

static int setup(void **state)
{
	struct env *e = calloc(1, sizeof(*e));
	char config[256], text[512];
	fx_tmpdir(e->dir, sizeof(e->dir));
	e->port = fx_llm_server_start(e->dir, &e->server);
	snprintf(e->log, sizeof(e->log), "%s/requests.jsonl", e->dir);
	snprintf(text, sizeof(text),
	         "endpoint: http://127.0.0.1:%d/good\nmodel: test-model\napi_key: key-openai-1234\n",
	         e->port);
	fx_write(e->dir, "config.yaml", text, config, sizeof(config));
	fx_component_start(&e->c, TB_LLM_BIN, e->dir, "llm", config);
	*state = e;
	return 0;
}

static int teardown(void **state)
{
	struct env *e = *state;
	fx_stop(e->server); /* first: stopping the component may fail the test */
	fx_component_stop(&e->c);
	fx_rmtree(e->dir);
	free(e);
	return 0;
}

/* Points the analyzer at behaviour of the fake server in api; extra is more YAML. */
static void configure(struct env *e, const char *api, const char *behaviour, const char *extra)
{
	char yaml[1024];
	tb_status st;
	snprintf(yaml, sizeof(yaml),
	         "provider: %s\nendpoint: http://127.0.0.1:%d/%s\nmodel: test-model\n"
	         "api_key: key-%s-1234\nretries: 2\nbackoff_ms: 20\ntimeout_ms: 3000\n%s",
	         api, e->port, behaviour, api, extra != NULL ? extra : "");
	if (fx_configure(e->c.conn, yaml, &st) != TB_OK)
		fail_msg("Configure: %s", st.message);
	FILE *f = fopen(e->log, "w"); /* forget earlier requests */
	assert_non_null(f);
	fclose(f);
}

/* Calls Analyze with one failed test and two prior findings; the call itself must succeed. */
static Testbus__V1__AnalysisResult *analyze(struct env *e)
{
	Testbus__V1__TestCase tc = TESTBUS__V1__TEST_CASE__INIT;
	tc.name = "cart loads";
	tc.status = TESTBUS__V1__TEST_STATUS__TEST_FAILED;
	tc.message = "Failed to pull image \"web:v9\": not found";
	Testbus__V1__TestCase *tcs[] = {&tc};
	Testbus__V1__ExecutionResult r = TESTBUS__V1__EXECUTION_RESULT__INIT;
	r.test_cases = tcs;
	r.n_test_cases = 1;
	Testbus__V1__Finding f1 = TESTBUS__V1__FINDING__INIT, f2 = TESTBUS__V1__FINDING__INIT;
	f1.rule_id = "image-pull";
	f1.title = "Container image cannot be pulled";
	f1.severity = TESTBUS__V1__SEVERITY__SEVERITY_HIGH;
	f2.rule_id = "deadline-exceeded";
	f2.title = "Operation timed out";
	Testbus__V1__Finding *fs[] = {&f1, &f2};
	Testbus__V1__AnalysisInput in = TESTBUS__V1__ANALYSIS_INPUT__INIT;
	in.result = &r;
	in.prior_findings = fs;
	in.n_prior_findings = 2;
	in.run_id = "run-42";
	Testbus__V1__AnalysisResult *out = NULL;
	tb_status st;
	tb_call_opts opts = {.deadline_ms = 30000};
	int rv = tb_analyzer_analyze(e->c.conn, &in, &out, &opts, &st);
	if (rv != TB_OK)
		fail_msg("Analyze: %s %s", tb_strerror(rv), st.message);
	assert_string_equal(out->analyzer, "llm");
	return out;
}

static int64_t meta_int(const Testbus__V1__AnalysisResult *r, const char *key)
{
	for (size_t i = 0; i < r->n_metadata; i++)
		if (strcmp(r->metadata[i]->key, key) == 0)
			return r->metadata[i]->value->int_value;
	fail_msg("no metadata %s", key);
	return -1;
}

/* The requests the fake server received since the last configure, as JSON objects. */
static size_t requests(struct env *e, json_object **out, size_t max)
{
	char *text = fx_read(e->log);
	size_t n = 0;
	for (char *line = strtok(text, "\n"); line != NULL && n < max; line = strtok(NULL, "\n"))
		assert_non_null(out[n++] = json_tokener_parse(line));
	free(text);
	return n;
}

static const char *jget(json_object *o, const char *a, const char *b)
{
	json_object *v = NULL;
	if (!json_object_object_get_ex(o, a, &v))
		return NULL;
	if (b != NULL && !json_object_object_get_ex(v, b, &v))
		return NULL;
	return json_object_get_string(v);
}

/* The answer was degraded: error says why and the prior findings are carried. */
static void assert_degraded(const Testbus__V1__AnalysisResult *r, const char *why)
{
	if (strstr(r->error, why) == NULL)
		fail_msg("error '%s' lacks '%s'", r->error, why);
	assert_int_equal(r->n_findings, 2);
	assert_string_equal(r->findings[0]->rule_id, "image-pull");
	assert_string_equal(r->findings[0]->title, "Container image cannot be pulled");
	assert_string_equal(r->findings[1]->rule_id, "deadline-exceeded");
	assert_non_null(strstr(r->summary, "2 findings of earlier analyzers"));
	assert_string_equal(r->root_cause, "");
}

static void test_good_answer(void **state)
{
	struct env *e = *state;
	for (size_t i = 0; i < 2; i++) {
		configure(e, apis[i], i == 0 ? "good" : "fenced", NULL);
		Testbus__V1__AnalysisResult *r = analyze(e);
		assert_string_equal(r->error, "");
		assert_string_equal(r->root_cause, GOOD_ROOT_CAUSE);
		assert_true(r->confidence > 0.79 && r->confidence < 0.81);
		assert_int_equal(r->n_recommendations, 1);
		assert_int_equal(r->n_findings, 1);
		assert_string_equal(r->findings[0]->rule_id, "llm");
		assert_int_equal(r->findings[0]->n_evidence, 1);
		assert_int_equal(meta_int(r, "attempts"), 1);
		protobuf_c_message_free_unpacked(&r->base, NULL);

		json_object *req[4];
		assert_int_equal(requests(e, req, 4), 1);
		assert_string_equal(jget(req[0], "api", NULL), apis[i]);
		const char *auth = jget(req[0], "headers", "authorization");
		const char *gkey = jget(req[0], "headers", "x-goog-api-key");
		if (i == 0) {
			assert_string_equal(auth, "Bearer key-openai-1234");
			assert_null(gkey);
		} else {
			assert_null(auth);
			assert_string_equal(gkey, "key-gemini-1234");
			assert_non_null(strstr(jget(req[0], "path", NULL), "/models/test-model:"));
		}
		const char *body = jget(req[0], "body", NULL);
		assert_non_null(strstr(body, "cart loads"));
		assert_non_null(strstr(body, "Container image cannot be pulled"));
		assert_null(strstr(body, "key-"));
		json_object_put(req[0]);
	}
}

static void test_non_json_answer(void **state)
{
	struct env *e = *state;
	for (size_t i = 0; i < 2; i++) {
		configure(e, apis[i], "nonjson", NULL);
		Testbus__V1__AnalysisResult *r = analyze(e);
		assert_degraded(r, "the model's answer is not valid");
		assert_string_equal(r->raw, "The cluster looks unhappy, maybe the image?");
		protobuf_c_message_free_unpacked(&r->base, NULL);
	}
}

static void test_429_then_success(void **state)
{
	struct env *e = *state;
	for (size_t i = 0; i < 2; i++) {
		configure(e, apis[i], "flaky429", NULL);
		Testbus__V1__AnalysisResult *r = analyze(e);
		assert_string_equal(r->error, "");
		assert_string_equal(r->root_cause, GOOD_ROOT_CAUSE);
		assert_int_equal(meta_int(r, "attempts"), 2);
		protobuf_c_message_free_unpacked(&r->base, NULL);
		json_object *req[4];
		size_t n = requests(e, req, 4);
		assert_int_equal(n, 2);
		for (size_t k = 0; k < n; k++)
			json_object_put(req[k]);
	}
}

static void test_500_until_retries_run_out(void **state)
{
	struct env *e = *state;
	for (size_t i = 0; i < 2; i++) {
		configure(e, apis[i], "down500", NULL);
		Testbus__V1__AnalysisResult *r = analyze(e);
		assert_degraded(r, "LLM endpoint unavailable after 3 attempts");
		assert_non_null(strstr(r->error, "HTTP 500"));
		assert_int_equal(meta_int(r, "http_status"), 500);
		protobuf_c_message_free_unpacked(&r->base, NULL);
		json_object *req[8];
		size_t n = requests(e, req, 8);
		assert_int_equal(n, 3);
		for (size_t k = 0; k < n; k++)
			json_object_put(req[k]);
	}
}

static void test_slow_server_times_out(void **state)
{
	struct env *e = *state;
	for (size_t i = 0; i < 2; i++) {
		configure(e, apis[i], "slow", "timeout_ms: 300\nretries: 0\n");
		Testbus__V1__AnalysisResult *r = analyze(e);
		assert_degraded(r, "LLM endpoint unavailable after 1 attempt");
		assert_non_null(strstr(r->error, "Timeout"));
		protobuf_c_message_free_unpacked(&r->base, NULL);
	}
}

static void test_endpoint_down(void **state)
{
	struct env *e = *state;
	tb_status st;
	/* Nothing listens on port 1 of the loopback. */
	assert_int_equal(fx_configure(e->c.conn,
	                              "endpoint: http://127.0.0.1:1\nmodel: m\nretries: 1\n"
	                              "backoff_ms: 10\n",
	                              &st),
	                 TB_OK);
	Testbus__V1__AnalysisResult *r = analyze(e);
	assert_degraded(r, "LLM endpoint unavailable after 2 attempts");
	protobuf_c_message_free_unpacked(&r->base, NULL);
	/* A config without a model is refused and the previous one stays. */
	assert_int_equal(fx_configure(e->c.conn, "endpoint: http://127.0.0.1:1\n", &st),
	                 TB_INVALID_ARGUMENT);
	assert_non_null(strstr(st.message, "model"));
}

static void test_should_analyze(void **state)
{
	struct env *e = *state;
	Testbus__V1__ExecutionResult r = TESTBUS__V1__EXECUTION_RESULT__INIT;
	r.success = 1;
	Testbus__V1__Decision *d = NULL;
	tb_status st;
	configure(e, "openai", "good", NULL);
	assert_int_equal(tb_analyzer_should_analyze(e->c.conn, &r, &d, NULL, &st), TB_OK);
	assert_false(d->analyze);
	protobuf_c_message_free_unpacked(&d->base, NULL);
	configure(e, "openai", "good", "should_analyze: always\n");
	assert_int_equal(tb_analyzer_should_analyze(e->c.conn, &r, &d, NULL, &st), TB_OK);
	assert_true(d->analyze);
	protobuf_c_message_free_unpacked(&d->base, NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_good_answer),
		cmocka_unit_test(test_non_json_answer),
		cmocka_unit_test(test_429_then_success),
		cmocka_unit_test(test_500_until_retries_run_out),
		cmocka_unit_test(test_slow_server_times_out),
		cmocka_unit_test(test_endpoint_down),
		cmocka_unit_test(test_should_analyze),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
