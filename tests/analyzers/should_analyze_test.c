/* Unit tests of the ShouldAnalyze policy and its config keys. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "should_analyze.h"

/* A config of up to two keys, built on the stack. */
struct conf {
	Testbus__V1__Value v[2];
	Testbus__V1__ComponentConfig__ConfigEntry e[2];
	Testbus__V1__ComponentConfig__ConfigEntry *ep[2];
	Testbus__V1__ComponentConfig cfg;
};

static void conf_init(struct conf *c)
{
	testbus__v1__component_config__init(&c->cfg);
	c->cfg.config = c->ep;
}

static Testbus__V1__Value *conf_add(struct conf *c, const char *key)
{
	size_t i = c->cfg.n_config++;
	testbus__v1__value__init(&c->v[i]);
	testbus__v1__component_config__config_entry__init(&c->e[i]);
	c->e[i].key = (char *)key;
	c->e[i].value = &c->v[i];
	c->ep[i] = &c->e[i];
	return &c->v[i];
}

static void conf_string(struct conf *c, const char *key, const char *s)
{
	Testbus__V1__Value *v = conf_add(c, key);
	v->kind_case = TESTBUS__V1__VALUE__KIND_STRING_VALUE;
	v->string_value = (char *)s;
}

static void conf_int(struct conf *c, const char *key, int64_t n)
{
	Testbus__V1__Value *v = conf_add(c, key);
	v->kind_case = TESTBUS__V1__VALUE__KIND_INT_VALUE;
	v->int_value = n;
}

static bool decide(const tb_analyze_policy *p, const Testbus__V1__ExecutionResult *r,
                   const char *reason_part)
{
	Testbus__V1__Decision d = TESTBUS__V1__DECISION__INIT;
	char buf[160];
	tb_analyze_policy_decide(p, r, &d, buf, sizeof(buf));
	if (strstr(d.reason, reason_part) == NULL)
		fail_msg("reason '%s' lacks '%s'", d.reason, reason_part);
	return d.analyze;
}

static void test_on_failure_default(void **state)
{
	tb_analyze_policy p;
	assert_int_equal(tb_analyze_policy_from_config(NULL, &p, NULL), TB_OK);
	assert_int_equal(p.when, TB_ANALYZE_ON_FAILURE);
	assert_int_equal(p.min_failures, 1);

	Testbus__V1__ResultSummary sum = TESTBUS__V1__RESULT_SUMMARY__INIT;
	Testbus__V1__ExecutionResult r = TESTBUS__V1__EXECUTION_RESULT__INIT;
	r.success = 1;
	r.summary = &sum;
	sum.total = sum.passed = 5;
	assert_false(decide(&p, &r, "no test failed"));
	r.success = 0;
	sum.failed = 1;
	assert_true(decide(&p, &r, "1 failed test"));
	sum.failed = 0;
	assert_true(decide(&p, &r, "without a failed test"));
	r.timed_out = 1;
	assert_true(decide(&p, &r, "timed out"));
	r.timed_out = 0;
	r.cancelled = 1;
	assert_false(decide(&p, &r, "cancelled"));
	assert_false(decide(&p, NULL, "no result"));
}

static void test_min_failures(void **state)
{
	struct conf c;
	conf_init(&c);
	conf_int(&c, "min_failures", 3);
	tb_analyze_policy p;
	assert_int_equal(tb_analyze_policy_from_config(&c.cfg, &p, NULL), TB_OK);
	assert_int_equal(p.min_failures, 3);

	/* Test cases count even when the summary says less. */
	Testbus__V1__TestCase tc[3];
	Testbus__V1__TestCase *tcs[3];
	for (int i = 0; i < 3; i++) {
		testbus__v1__test_case__init(&tc[i]);
		tc[i].status = i == 2 ? TESTBUS__V1__TEST_STATUS__TEST_ERROR
		                      : TESTBUS__V1__TEST_STATUS__TEST_FAILED;
		tcs[i] = &tc[i];
	}
	Testbus__V1__ExecutionResult r = TESTBUS__V1__EXECUTION_RESULT__INIT;
	r.test_cases = tcs;
	r.n_test_cases = 2;
	assert_false(decide(&p, &r, "fewer than min_failures (3)"));
	r.n_test_cases = 3;
	assert_int_equal(tb_result_failures(&r), 3);
	assert_true(decide(&p, &r, "3 failed tests"));
	/* A run that broke by itself is analysed whatever the threshold. */
	r.n_test_cases = 1;
	r.error = "executor lost";
	assert_true(decide(&p, &r, "reported an error"));
}

static void test_always_never(void **state)
{
	Testbus__V1__ExecutionResult r = TESTBUS__V1__EXECUTION_RESULT__INIT;
	r.success = 1;
	struct conf c;
	tb_analyze_policy p;
	conf_init(&c);
	conf_string(&c, "should_analyze", "always");
	assert_int_equal(tb_analyze_policy_from_config(&c.cfg, &p, NULL), TB_OK);
	assert_true(decide(&p, &r, "always"));
	conf_init(&c);
	conf_string(&c, "should_analyze", "never");
	assert_int_equal(tb_analyze_policy_from_config(&c.cfg, &p, NULL), TB_OK);
	r.success = 0;
	r.timed_out = 1;
	assert_false(decide(&p, &r, "never"));
}

static void test_bad_config(void **state)
{
	struct conf c;
	tb_status st;
	tb_analyze_policy p = {.when = TB_ANALYZE_NEVER, .min_failures = 7};
	conf_init(&c);
	conf_string(&c, "should_analyze", "sometimes");
	assert_int_equal(tb_analyze_policy_from_config(&c.cfg, &p, &st), TB_INVALID_ARGUMENT);
	assert_non_null(strstr(st.message, "'sometimes'"));
	assert_int_equal(p.min_failures, 7); /* untouched on error */
	conf_init(&c);
	conf_int(&c, "min_failures", 0);
	assert_int_equal(tb_analyze_policy_from_config(&c.cfg, &p, &st), TB_INVALID_ARGUMENT);
	assert_non_null(strstr(st.message, "min_failures"));
	conf_init(&c);
	conf_string(&c, "min_failures", "3");
	assert_int_equal(tb_analyze_policy_from_config(&c.cfg, &p, &st), TB_INVALID_ARGUMENT);
	conf_init(&c);
	conf_int(&c, "should_analyze", 1);
	assert_int_equal(tb_analyze_policy_from_config(&c.cfg, &p, &st), TB_INVALID_ARGUMENT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_on_failure_default),
		cmocka_unit_test(test_min_failures),
		cmocka_unit_test(test_always_never),
		cmocka_unit_test(test_bad_config),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
