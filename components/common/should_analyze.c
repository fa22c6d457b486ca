/* The ShouldAnalyze policy: on failure (from N failed tests), always or never. */
#include <stdio.h>
#include <string.h>

#include "should_analyze.h"
#include "testbus/value.h"

#define SA_KEY_WHEN "should_analyze"
#define SA_KEY_MIN "min_failures"

static const struct sa_name {
	const char *name;
	enum tb_analyze_when when;
} sa_names[] = {
	{"on_failure", TB_ANALYZE_ON_FAILURE},
	{"always", TB_ANALYZE_ALWAYS},
	{"never", TB_ANALYZE_NEVER},
};

void tb_analyze_policy_init(tb_analyze_policy *p)
{
	p->when = TB_ANALYZE_ON_FAILURE;
	p->min_failures = 1;
}

static const Testbus__V1__Value *sa_get(const Testbus__V1__ComponentConfig *config,
                                        const char *key)
{
	if (config == NULL)
		return NULL;
	return tb_map_get(config->config, config->n_config, key);
}

static int sa_read_when(const Testbus__V1__Value *v, enum tb_analyze_when *whenp, tb_status *st)
{
	const char *s = tb_value_string(v);
	if (s == NULL)
		return tb_status_set(st, TB_INVALID_ARGUMENT,
		                     "%s: expected one of on_failure, always, never", SA_KEY_WHEN);
	for (size_t i = 0; i < sizeof(sa_names) / sizeof(sa_names[0]); i++) {
		if (strcmp(sa_names[i].name, s) == 0) {
			*whenp = sa_names[i].when;
			return TB_OK;
		}
	}
	return tb_status_set(st, TB_INVALID_ARGUMENT,
	                     "%s: '%s' is not one of on_failure, always, never", SA_KEY_WHEN, s);
}

int tb_analyze_policy_from_config(const Testbus__V1__ComponentConfig *config,
                                  tb_analyze_policy *p, tb_status *st)
{
	int rv = TB_OK;
	tb_analyze_policy pol;
	tb_analyze_policy_init(&pol);
	const Testbus__V1__Value *v = sa_get(config, SA_KEY_WHEN);
	if (v != NULL && (rv = sa_read_when(v, &pol.when, st)) != TB_OK)
		goto out;
	int64_t n = 0;
	rv = tb_value_int(sa_get(config, SA_KEY_MIN), &n);
	if (rv == TB_NOT_FOUND) {
		rv = TB_OK;
	} else if (rv != TB_OK || n < 1 || n > UINT32_MAX) {
		rv = tb_status_set(st, TB_INVALID_ARGUMENT, "%s: expected a whole number >= 1",
		                   SA_KEY_MIN);
		goto out;
	} else {
		pol.min_failures = (uint32_t)n;
	}
out:
	if (rv == TB_OK)
		*p = pol;
	return rv;
}

uint32_t tb_result_failures(const Testbus__V1__ExecutionResult *result)
{
	uint32_t from_cases = 0, from_summary = 0;
	for (size_t i = 0; i < result->n_test_cases; i++) {
		Testbus__V1__TestStatus s = result->test_cases[i]->status;
		if (s == TESTBUS__V1__TEST_STATUS__TEST_FAILED ||
		    s == TESTBUS__V1__TEST_STATUS__TEST_ERROR)
			from_cases++;
	}
	if (result->summary != NULL)
		from_summary = result->summary->failed + result->summary->errors;
	return from_cases > from_summary ? from_cases : from_summary;
}

/* Why the run failed by itself, apart from failed tests; NULL when it did not. */
static const char *sa_run_failure(const Testbus__V1__ExecutionResult *r, uint32_t failures)
{
	if (r->timed_out)
		return "the run timed out";
	if (r->error != NULL && r->error[0] != '\0')
		return "the run reported an error";
	if (!r->success && failures == 0)
		return "the run failed without a failed test";
	return NULL;
}

static void sa_on_failure(const tb_analyze_policy *p, const Testbus__V1__ExecutionResult *r,
                          Testbus__V1__Decision *d, char *buf, size_t size)
{
	uint32_t failures = tb_result_failures(r);
	const char *run = sa_run_failure(r, failures);
	d->analyze = 0;
	if (r->cancelled) {
		snprintf(buf, size, "the run was cancelled");
	} else if (run != NULL) {
		d->analyze = 1;
		snprintf(buf, size, "%s", run);
	} else if (failures == 0) {
		snprintf(buf, size, "no test failed");
	} else if (failures < p->min_failures) {
		snprintf(buf, size, "%u failed test%s, fewer than min_failures (%u)", failures,
		         failures == 1 ? "" : "s", p->min_failures);
	} else {
		d->analyze = 1;
		snprintf(buf, size, "%u failed test%s", failures, failures == 1 ? "" : "s");
	}
}

void tb_analyze_policy_decide(const tb_analyze_policy *p,
                              const Testbus__V1__ExecutionResult *result,
                              Testbus__V1__Decision *decision, char *buf, size_t size)
{
	decision->analyze = 0;
	if (result == NULL) {
		snprintf(buf, size, "no result to analyse");
	} else if (p->when == TB_ANALYZE_NEVER) {
		snprintf(buf, size, "analysis is turned off (should_analyze: never)");
	} else if (p->when == TB_ANALYZE_ALWAYS) {
		decision->analyze = 1;
		snprintf(buf, size, "every result is analysed (should_analyze: always)");
	} else {
		sa_on_failure(p, result, decision, buf, size);
	}
	decision->reason = buf;
}
