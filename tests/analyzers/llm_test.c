/* Unit tests of the LLM analyzer's pure parts: config, URLs, request bodies, answers, bounded prompts. */
#include <json-c/json.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "llm.h"
#include "testbus/testbus.h"

/* --- config --- */

static int read_yaml(const char *yaml, struct llm_config *c, tb_status *st)
{
	Testbus__V1__ValueMap *map = NULL;
	assert_int_equal(tb_value_map_from_yaml_string(yaml, strlen(yaml), "t", &map, st), TB_OK);
	Testbus__V1__ComponentConfig cfg = TESTBUS__V1__COMPONENT_CONFIG__INIT;
	Testbus__V1__ComponentConfig__ConfigEntry e[16], *ep[16];
	assert_true(map->n_fields <= 16);
	for (size_t i = 0; i < map->n_fields; i++) {
		testbus__v1__component_config__config_entry__init(&e[i]);
		e[i].key = map->fields[i]->key;
		e[i].value = map->fields[i]->value;
		ep[i] = &e[i];
	}
	cfg.config = ep;
	cfg.n_config = map->n_fields;
	int rv = llm_config_read(&cfg, c, st);
	protobuf_c_message_free_unpacked(&map->base, NULL);
	return rv;
}

static void test_config(void **state)
{
	struct llm_config c;
	tb_status st;
	llm_config_init(&c);
	unsetenv("OPENAI_API_KEY");
	assert_int_equal(read_yaml("model: m1\n", &c, &st), TB_OK);
	assert_true(c.configured);
	assert_string_equal(c.endpoint, "https://api.openai.com");
	assert_null(c.api_key);
	assert_int_equal(c.max_attempts, 4);
	assert_true(c.json_mode);

	setenv("TB_TEST_LLM_KEY", "k-from-env-123", 1);
	assert_int_equal(read_yaml("provider: gemini\nmodel: g\napi_key_env: TB_TEST_LLM_KEY\n"
	                           "retries: 0\nprompt_budget: 4096\ntemperature: 0\n"
	                           "redact_patterns: ['tenant-[0-9]+']\nshould_analyze: always\n",
	                           &c, &st),
	                 TB_OK);
	assert_int_equal(c.provider, LLM_GEMINI);
	assert_string_equal(c.endpoint, "https://generativelanguage.googleapis.com");
	assert_string_equal(c.api_key, "k-from-env-123");
	assert_int_equal(c.max_attempts, 1);
	assert_int_equal(c.prompt_budget, 4096);
	assert_int_equal(c.n_redact_patterns, 1);
	assert_int_equal(c.policy.when, TB_ANALYZE_ALWAYS);

	static const struct {
		const char *yaml, *expect;
	} bad[] = {
		{"endpoint: http://x\n", "model: required"},
		{"model: m\nprovider: claude\n", "provider"},
		{"model: m\napi_key_env: TB_TEST_UNSET_VAR\n", "TB_TEST_UNSET_VAR is not set"},
		{"model: m\ntimeout_ms: 5\n", "timeout_ms"},
		{"model: m\nretries: 2.5\n", "retries"},
		{"model: m\nprompt_budget: 100\n", "prompt_budget"},
		{"model: m\njson_mode: maybe\n", "json_mode"},
		{"model: m\nredact_patterns: [1, 2]\n", "redact_patterns"},
		{"model: m\nmin_failures: -1\n", "min_failures"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(read_yaml(bad[i].yaml, &c, &st), TB_INVALID_ARGUMENT);
		if (strstr(st.message, bad[i].expect) == NULL)
			fail_msg("'%s' lacks '%s'", st.message, bad[i].expect);
		assert_string_equal(c.model, "g"); /* untouched on error */
	}
	tb_redactor *r = NULL;
	assert_int_equal(llm_redactor(&c, &r, &st), TB_OK);
	char *out = tb_redact_str(r, "tenant-42 used k-from-env-123", NULL);
	assert_string_equal(out, "[REDACTED] used [REDACTED]");
	free(out);
	tb_redactor_free(r);
	llm_config_fini(&c);
}

/* --- URLs, bodies, answers from the server --- */

static void test_urls(void **state)
{
	static const struct {
		enum llm_provider p;
		const char *endpoint, *url;
	} cases[] = {
		{LLM_OPENAI, "http://127.0.0.1:8080", "http://127.0.0.1:8080/v1/chat/completions"},
		{LLM_OPENAI, "http://h/v1/", "http://h/v1/chat/completions"},
		{LLM_OPENAI, "http://h/openai/chat/completions", "http://h/openai/chat/completions"},
		{LLM_GEMINI, "http://h/", "http://h/v1beta/models/mod-1:generateContent"},
		{LLM_GEMINI, "http://h/v1/models/x:generateContent", "http://h/v1/models/x:generateContent"},
	};
	tb_arena *a;
	assert_int_equal(tb_arena_alloc(&a), TB_OK);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct llm_config c;
		llm_config_init(&c);
		c.provider = cases[i].p;
		c.endpoint = (char *)cases[i].endpoint;
		c.model = "mod-1";
		assert_string_equal(llm_api_url(&c, a), cases[i].url);
	}
	tb_arena_free(a);
}

static const char *jstr(json_object *root, const char *path)
{
	json_object *o = root;
	char buf[256];
	snprintf(buf, sizeof(buf), "%s", path);
	for (char *tok = strtok(buf, "."); tok != NULL && o != NULL; tok = strtok(NULL, ".")) {
		if (tok[0] >= '0' && tok[0] <= '9')
			o = json_object_array_get_idx(o, (size_t)atoi(tok));
		else if (!json_object_object_get_ex(o, tok, &o))
			o = NULL;
	}
	return o != NULL ? json_object_get_string(o) : NULL;
}

static void test_bodies(void **state)
{
	tb_arena *a;
	assert_int_equal(tb_arena_alloc(&a), TB_OK);
	struct llm_config c;
	llm_config_init(&c);
	c.model = "mod-1";
	struct llm_prompt p = {.system = "SYS \"quoted\"", .user = "USER\nline2 \\ / é"};
	json_object *o = json_tokener_parse(llm_api_body(&c, &p, a));
	assert_string_equal(jstr(o, "model"), "mod-1");
	assert_string_equal(jstr(o, "messages.0.role"), "system");
	assert_string_equal(jstr(o, "messages.0.content"), p.system);
	assert_string_equal(jstr(o, "messages.1.content"), p.user);
	assert_string_equal(jstr(o, "response_format.type"), "json_object");
	assert_string_equal(jstr(o, "max_tokens"), "1500");
	json_object_put(o);
	c.json_mode = false;
	o = json_tokener_parse(llm_api_body(&c, &p, a));
	assert_null(jstr(o, "response_format"));
	json_object_put(o);

	c.provider = LLM_GEMINI;
	c.json_mode = true;
	o = json_tokener_parse(llm_api_body(&c, &p, a));
	assert_string_equal(jstr(o, "systemInstruction.parts.0.text"), p.system);
	assert_string_equal(jstr(o, "contents.0.role"), "user");
	assert_string_equal(jstr(o, "contents.0.parts.0.text"), p.user);
	assert_string_equal(jstr(o, "generationConfig.responseMimeType"), "application/json");
	json_object_put(o);
	tb_arena_free(a);
}

static void test_api_text(void **state)
{
	tb_arena *a;
	tb_status st;
	char *text = NULL;
	assert_int_equal(tb_arena_alloc(&a), TB_OK);
	struct llm_config c;
	llm_config_init(&c);
	const char *ok = "{\"choices\":[{\"message\":{\"role\":\"assistant\",\"content\":\"hi\"}}]}";
	assert_int_equal(llm_api_text(&c, ok, strlen(ok), a, &text, &st), TB_OK);
	assert_string_equal(text, "hi");
	const char *cut = "{\"choices\":[{\"finish_reason\":\"content_filter\"}]}";
	assert_int_equal(llm_api_text(&c, cut, strlen(cut), a, &text, &st), TB_INVALID_ARGUMENT);
	assert_non_null(strstr(st.message, "content_filter"));
	assert_int_equal(llm_api_text(&c, "<html>", 6, a, &text, &st), TB_INVALID_ARGUMENT);
	assert_non_null(strstr(st.message, "not JSON"));

	c.provider = LLM_GEMINI;
	const char *g = "{\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"a\"},{\"text\":\"b\"}]}}]}";
	assert_int_equal(llm_api_text(&c, g, strlen(g), a, &text, &st), TB_OK);
	assert_string_equal(text, "ab");
	const char *blocked = "{\"promptFeedback\":{\"blockReason\":\"SAFETY\"}}";
	assert_int_equal(llm_api_text(&c, blocked, strlen(blocked), a, &text, &st),
	                 TB_INVALID_ARGUMENT);
	assert_non_null(strstr(st.message, "SAFETY"));
	tb_arena_free(a);
}

static void test_answers(void **state)
{
	tb_arena *a;
	tb_status st;
	assert_int_equal(tb_arena_alloc(&a), TB_OK);
	Testbus__V1__AnalysisResult res = TESTBUS__V1__ANALYSIS_RESULT__INIT;
	const char *good = "```json\n{\"summary\":\"S\",\"root_cause\":\"R\",\"evidence\":[\"e1\",\"e2\"],"
	                   "\"recommendations\":\"do X\",\"confidence\":1}\n```\n";
	assert_int_equal(llm_answer_parse(good, a, &res, &st), TB_OK);
	assert_string_equal(res.root_cause, "R");
	assert_string_equal(res.summary, "S");
	assert_int_equal(res.n_recommendations, 1);
	assert_string_equal(res.recommendations[0], "do X");
	assert_true(res.confidence == 1.0);
	assert_int_equal(res.n_findings, 1);
	assert_string_equal(res.findings[0]->rule_id, "llm");
	assert_int_equal(res.findings[0]->n_evidence, 2);

	static const struct {
		const char *text, *expect;
	} bad[] = {
		{"The image is missing.", "not JSON"},
		{"[1, 2]", "not a JSON object"},
		{"{\"evidence\":[],\"recommendations\":[],\"confidence\":0.5}", "lacks root_cause"},
		{"{\"root_cause\":\"R\",\"evidence\":[],\"recommendations\":[],\"confidence\":1.5}",
		 "between 0 and 1"},
		{"{\"root_cause\":\"R\",\"evidence\":[3],\"recommendations\":[],\"confidence\":0.5}",
		 "evidence[0]"},
		{"{\"root_cause\":\"R\",\"evidence\":[],\"confidence\":0.5}", "lacks recommendations"},
		{"{\"root_cause\":\"R\",\"evidence\":[],\"recommendations\":[],\"confidence\":\"high\"}",
		 "confidence is not a number"},
		{"{\"root_cause\":\"R\",\"evidence\":[],\"recommendations\":[],\"confidence\":0.5} thanks",
		 "text after"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		Testbus__V1__AnalysisResult r = TESTBUS__V1__ANALYSIS_RESULT__INIT;
		assert_int_equal(llm_answer_parse(bad[i].text, a, &r, &st), TB_INVALID_ARGUMENT);
		if (strstr(st.message, bad[i].expect) == NULL)
			fail_msg("case %zu: '%s' lacks '%s'", i, st.message, bad[i].expect);
		assert_int_equal(r.n_findings, 0);
		assert_string_equal(r.root_cause, "");
	}
	tb_arena_free(a);
}

/* --- prompts --- */

static char *filled(const char *head, size_t n, const char *tail)
{
	char *s = malloc(n + 1);
	size_t h = strlen(head), t = strlen(tail);
	memset(s, 'x', n);
	for (size_t i = 79; i < n; i += 80)
		s[i] = '\n';
	memcpy(s, head, h);
	memcpy(s + n - t, tail, t);
	s[n] = '\0';
	return s;
}

struct big_input {
	Testbus__V1__TestCase tc[25];
	Testbus__V1__TestCase *tcs[25];
	char names[25][24];
	Testbus__V1__ExecutionResult res;
	Testbus__V1__ResultSummary sum;
	Testbus__V1__LogExcerpt log;
	Testbus__V1__LogExcerpt *logs[1];
	Testbus__V1__Finding f;
	Testbus__V1__Finding *fs[1];
	char *ev[1];
	Testbus__V1__AnalysisInput in;
};

static void big_input_init(struct big_input *b, size_t n_tests, char *stderr_text, char *log_text)
{
	memset(b, 0, sizeof(*b));
	for (size_t i = 0; i < n_tests; i++) {
		testbus__v1__test_case__init(&b->tc[i]);
		snprintf(b->names[i], sizeof(b->names[i]), "t%zu", i + 1);
		b->tc[i].name = b->names[i];
		b->tc[i].status = TESTBUS__V1__TEST_STATUS__TEST_FAILED;
		b->tc[i].message = "expected ready pods, got 0";
		b->tcs[i] = &b->tc[i];
	}
	testbus__v1__result_summary__init(&b->sum);
	b->sum.failed = (uint32_t)n_tests;
	testbus__v1__execution_result__init(&b->res);
	b->res.summary = &b->sum;
	b->res.test_cases = b->tcs;
	b->res.n_test_cases = n_tests;
	b->res.stderr_tail = stderr_text;
	testbus__v1__log_excerpt__init(&b->log);
	b->log.name = "controller.log";
	b->log.text = log_text;
	b->logs[0] = &b->log;
	testbus__v1__finding__init(&b->f);
	b->f.rule_id = "image-pull";
	b->f.title = "Container image cannot be pulled";
	b->ev[0] = "Failed to pull image \"web:v9\"";
	b->f.evidence = b->ev;
	b->f.n_evidence = 1;
	b->fs[0] = &b->f;
	testbus__v1__analysis_input__init(&b->in);
	b->in.result = &b->res;
	b->in.logs = b->logs;
	b->in.n_logs = 1;
	b->in.prior_findings = b->fs;
	b->in.n_prior_findings = 1;
	b->in.run_id = "run-7";
}

static struct llm_prompt build(struct llm_config *c, const Testbus__V1__AnalysisInput *in,
                               tb_arena *a)
{
	tb_redactor *r = NULL;
	tb_status st;
	struct llm_prompt p = {0};
	assert_int_equal(llm_redactor(c, &r, &st), TB_OK);
	assert_int_equal(llm_prompt_build(c, r, in, a, &p, &st), TB_OK);
	tb_redactor_free(r);
	assert_true(strlen(p.system) + strlen(p.user) <= c->prompt_budget);
	return p;
}

/* Over budget, the log goes first, then stderr is cut to its end; tests and findings stay. */
static void test_prompt_budget(void **state)
{
	char *err = filled("STDERR-START", 50000, "STDERR-END");
	char *log = filled("LOG-START", 100000, "LOG-END");
	struct big_input b;
	big_input_init(&b, 3, err, log);
	struct llm_config c;
	llm_config_init(&c);
	c.prompt_budget = 8000;
	tb_arena *a;
	assert_int_equal(tb_arena_alloc(&a), TB_OK);
	struct llm_prompt p = build(&c, &b.in, a);
	assert_non_null(strstr(p.user, "## Run\nRun run-7. Result: FAILED"));
	assert_non_null(strstr(p.user, "Container image cannot be pulled"));
	assert_non_null(strstr(p.user, "## Failed test: t3 (failed)"));
	assert_non_null(strstr(p.user, "STDERR-END"));
	assert_null(strstr(p.user, "STDERR-START"));
	assert_non_null(strstr(p.user, "bytes cut ...]"));
	assert_null(strstr(p.user, "LOG-"));
	assert_non_null(strstr(p.user, "dropped: log]"));
	assert_true(p.left_out > 140000);

	/* With room for everything nothing is cut. */
	c.prompt_budget = 200000;
	p = build(&c, &b.in, a);
	assert_non_null(strstr(p.user, "LOG-START"));
	assert_non_null(strstr(p.user, "STDERR-START"));
	assert_int_equal(p.left_out, 0);
	assert_null(strstr(p.user, "left out"));
	tb_arena_free(a);
	free(err);
	free(log);
}

/* A huge message keeps its start; tests past max_tests are listed last, then left out first. */
static void test_prompt_tests(void **state)
{
	char *msg = filled("MSG-START", 20000, "MSG-END");
	struct big_input b;
	big_input_init(&b, 25, NULL, NULL);
	b.tc[0].message = msg;
	struct llm_config c;
	llm_config_init(&c);
	c.prompt_budget = 60000;
	tb_arena *a;
	assert_int_equal(tb_arena_alloc(&a), TB_OK);
	struct llm_prompt p = build(&c, &b.in, a);
	const char *more = strstr(p.user, "## More failed tests\n");
	assert_non_null(more);
	assert_non_null(strstr(more, "- t21: expected ready pods"));
	assert_non_null(strstr(more, "- t25:"));
	assert_null(strstr(p.user, "## Failed test: t21"));
	assert_non_null(strstr(p.user, "## Failed test: t20"));

	c.prompt_budget = 4000;
	p = build(&c, &b.in, a);
	assert_non_null(strstr(p.user, "MSG-START"));
	assert_null(strstr(p.user, "MSG-END"));
	assert_null(strstr(p.user, "## More failed tests"));
	assert_non_null(strstr(p.user, "## Run"));
	tb_arena_free(a);
	free(msg);
}

/* Secrets in every part of the input are gone from the prompt. */
static void test_prompt_redaction(void **state)
{
	struct big_input b;
	big_input_init(&b, 1, "curl -H 'Authorization: Bearer stderr-tok-991' x",
	                "login with https://admin:log-pass-772@registry.local/v2 then "
	                "kc-token-abc123xyz again");
	b.tc[0].output = "AWS_SECRET_ACCESS_KEY=out-aws-secret-0123456789abcdefgh";
	b.tc[0].message = "key id AKIAQWERTYUIOPASDFGH";
	b.ev[0] = "password: evidence-pw-55";
	Testbus__V1__ClusterInfo cl = TESTBUS__V1__CLUSTER_INFO__INIT;
	const char *kc = "users:\n- name: ci\n  user:\n    token: kc-token-abc123xyz\n";
	cl.kubeconfig.data = (uint8_t *)kc;
	cl.kubeconfig.len = strlen(kc);
	cl.provider = "kind";
	b.in.cluster = &cl;
	struct llm_config c;
	llm_config_init(&c);
	c.api_key = "sk-not-in-text-but-a-literal";
	tb_arena *a;
	assert_int_equal(tb_arena_alloc(&a), TB_OK);
	struct llm_prompt p = build(&c, &b.in, a);
	static const char *const secrets[] = {
		"stderr-tok-991", "log-pass-772", "kc-token-abc123xyz", "out-aws-secret",
		"AKIAQWERTYUIOPASDFGH", "evidence-pw-55",
	};
	for (size_t i = 0; i < sizeof(secrets) / sizeof(secrets[0]); i++)
		if (strstr(p.user, secrets[i]) != NULL)
			fail_msg("%s reached the prompt:\n%s", secrets[i], p.user);
	assert_true(p.redactions >= 6);
	assert_non_null(strstr(p.user, "registry.local/v2"));
	tb_arena_free(a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_config),
		cmocka_unit_test(test_urls),
		cmocka_unit_test(test_bodies),
		cmocka_unit_test(test_api_text),
		cmocka_unit_test(test_answers),
		cmocka_unit_test(test_prompt_budget),
		cmocka_unit_test(test_prompt_tests),
		cmocka_unit_test(test_prompt_redaction),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
