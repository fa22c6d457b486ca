/* Black-box tests of testbus-analyzer-rules: the real process, called through libtestbus. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "fixture.h"

struct env {
	char dir[64];
	char rules[256];
	struct fx_component c;
};

static const char extra_rules[] =
	"rules:\n"
	"  - id: payment-gateway-down\n"
	"    title: Payment gateway sandbox unreachable\n"
	"    severity: critical\n"
	"    pattern: 'payments-sandbox: 503'\n"
	"    explanation: The shared payment sandbox was down.\n"
	"    suggested_fix: Re-run once the sandbox is back.\n";

static int setup(void **state)
{
	struct env *e = calloc(1, sizeof(*e));
	char config[256], text[512];
	fx_tmpdir(e->dir, sizeof(e->dir));
	fx_write(e->dir, "extra.yaml", extra_rules, e->rules, sizeof(e->rules));
	snprintf(text, sizeof(text),
	         "rule_files: ['%s']\nmax_evidence: 2\nmin_failures: 2\ndisabled_rules: [probe-failed]\n",
	         e->rules);
	fx_write(e->dir, "config.yaml", text, config, sizeof(config));
	fx_component_start(&e->c, TB_RULES_BIN, e->dir, "rules", config);
	*state = e;
	return 0;
}

static int teardown(void **state)
{
	struct env *e = *state;
	fx_component_stop(&e->c);
	fx_rmtree(e->dir);
	free(e);
	return 0;
}

static void tc_init(Testbus__V1__TestCase *tc, const char *name, const char *message)
{
	testbus__v1__test_case__init(tc);
	tc->name = (char *)name;
	tc->status = TESTBUS__V1__TEST_STATUS__TEST_FAILED;
	tc->message = (char *)message;
}

/* min_failures from --config steers ShouldAnalyze. */
static void test_should_analyze(void **state)
{
	struct env *e = *state;
	Testbus__V1__TestCase t1, t2;
	tc_init(&t1, "a", "x");
	tc_init(&t2, "b", "y");
	Testbus__V1__TestCase *tcs[] = {&t1, &t2};
	Testbus__V1__ExecutionResult r = TESTBUS__V1__EXECUTION_RESULT__INIT;
	r.test_cases = tcs;
	r.n_test_cases = 1;
	Testbus__V1__Decision *d = NULL;
	tb_status st;
	assert_int_equal(tb_analyzer_should_analyze(e->c.conn, &r, &d, NULL, &st), TB_OK);
	assert_false(d->analyze);
	assert_non_null(strstr(d->reason, "min_failures"));
	protobuf_c_message_free_unpacked(&d->base, NULL);
	r.n_test_cases = 2;
	assert_int_equal(tb_analyzer_should_analyze(e->c.conn, &r, &d, NULL, &st), TB_OK);
	assert_true(d->analyze);
	protobuf_c_message_free_unpacked(&d->base, NULL);
}

static bool has(const Testbus__V1__AnalysisResult *r, const char *id)
{
	for (size_t i = 0; i < r->n_findings; i++)
		if (strcmp(r->findings[i]->rule_id, id) == 0)
			return true;
	return false;
}

static Testbus__V1__AnalysisResult *analyze(struct env *e, const char *msg, const char *log)
{
	Testbus__V1__TestCase t1;
	tc_init(&t1, "checkout works", msg);
	Testbus__V1__TestCase *tcs[] = {&t1};
	Testbus__V1__ExecutionResult r = TESTBUS__V1__EXECUTION_RESULT__INIT;
	r.test_cases = tcs;
	r.n_test_cases = 1;
	Testbus__V1__LogExcerpt l = TESTBUS__V1__LOG_EXCERPT__INIT;
	l.name = "kubelet.log";
	l.text = (char *)log;
	Testbus__V1__LogExcerpt *logs[] = {&l};
	Testbus__V1__AnalysisInput in = TESTBUS__V1__ANALYSIS_INPUT__INIT;
	in.result = &r;
	in.logs = logs;
	in.n_logs = 1;
	Testbus__V1__AnalysisResult *out = NULL;
	tb_status st;
	int rv = tb_analyzer_analyze(e->c.conn, &in, &out, NULL, &st);
	if (rv != TB_OK)
		fail_msg("Analyze: %s", st.message);
	return out;
}

/* Default rules plus the extra file, disabled rules left out, evidence capped. */
static void test_analyze(void **state)
{
	struct env *e = *state;
	Testbus__V1__AnalysisResult *r = analyze(
		e, "POST /pay: payments-sandbox: 503 Service Unavailable",
		"Readiness probe failed: HTTP probe failed with statuscode: 503\n"
		"Back-off pulling image \"shop/cart:1\" (1)\nBack-off pulling image \"shop/cart:1\" (2)\n"
		"Back-off pulling image \"shop/cart:1\" (3)\n");
	assert_string_equal(r->analyzer, "rules");
	assert_int_equal(r->n_findings, 2);
	assert_string_equal(r->findings[0]->rule_id, "payment-gateway-down");
	assert_int_equal(r->findings[0]->n_test_cases, 1);
	assert_string_equal(r->findings[0]->test_cases[0], "checkout works");
	assert_string_equal(r->findings[1]->rule_id, "image-pull");
	assert_int_equal(r->findings[1]->count, 3);
	assert_int_equal(r->findings[1]->n_evidence, 2);
	assert_false(has(r, "probe-failed"));
	assert_string_equal(r->root_cause, "Payment gateway sandbox unreachable");
	protobuf_c_message_free_unpacked(&r->base, NULL);
}

/* A bad rule file is refused by Configure and the running rules stay in force. */
static void test_configure(void **state)
{
	struct env *e = *state;
	char bad[256], yaml[512];
	tb_status st;
	fx_write(e->dir, "bad.yaml", "rules:\n  - id: x\n    title: X\n    pattern: '(['\n", bad,
	         sizeof(bad));
	snprintf(yaml, sizeof(yaml), "rule_files: ['%s']\n", bad);
	assert_int_equal(fx_configure(e->c.conn, yaml, &st), TB_INVALID_ARGUMENT);
	assert_non_null(strstr(st.message, "bad.yaml:4"));
	Testbus__V1__AnalysisResult *r = analyze(e, "payments-sandbox: 503", "");
	assert_true(has(r, "payment-gateway-down"));
	protobuf_c_message_free_unpacked(&r->base, NULL);

	assert_int_equal(fx_configure(e->c.conn, "default_rules: false\nrule_files: []\n", &st),
	                 TB_INVALID_ARGUMENT); /* nothing left to match */
	assert_int_equal(fx_configure(e->c.conn, "should_analyze: always\n", &st), TB_OK);
	r = analyze(e, "payments-sandbox: 503\nOOMKilled", "");
	assert_false(has(r, "payment-gateway-down")); /* the extra file is no longer configured */
	assert_true(has(r, "oom-killed"));
	protobuf_c_message_free_unpacked(&r->base, NULL);
}

/* A text that matches nothing gives an empty, explained result. */
static void test_no_match(void **state)
{
	struct env *e = *state;
	Testbus__V1__AnalysisResult *r =
		analyze(e, "expected 3 items in the cart, got 4", "all pods ready");
	assert_int_equal(r->n_findings, 0);
	assert_string_equal(r->root_cause, "");
	assert_non_null(strstr(r->summary, "No known failure signature"));
	protobuf_c_message_free_unpacked(&r->base, NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_should_analyze),
		cmocka_unit_test(test_analyze),
		cmocka_unit_test(test_no_match),
		cmocka_unit_test(test_configure),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
