/* Out-of-memory tests: each allocation of the redactor, the rule loader and the engine fails in turn. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "redact.h"
#include "rules.h"
#include "testbus/testbus.h"

/* malloc, calloc, realloc and strdup of the code under test (linked with --wrap). */
void *__real_malloc(size_t n);
void *__real_calloc(size_t n, size_t size);
void *__real_realloc(void *p, size_t n);
char *__real_strdup(const char *s);

static long fail_in = -1; /* allocations left before one fails; -1: none fails */
static bool did_fail;

static bool alloc_fails(void)
{
	if (fail_in < 0)
		return false;
	if (fail_in-- == 0) {
		did_fail = true;
		return true;
	}
	return false;
}

/* Default visibility: shared libraries loaded with the test may bind to them too. */
#define ALLOC_WRAP __attribute__((visibility("default")))

ALLOC_WRAP void *__wrap_malloc(size_t n);
ALLOC_WRAP void *__wrap_calloc(size_t n, size_t size);
ALLOC_WRAP void *__wrap_realloc(void *p, size_t n);
ALLOC_WRAP char *__wrap_strdup(const char *s);

void *__wrap_malloc(size_t n)
{
	return alloc_fails() ? NULL : __real_malloc(n);
}

void *__wrap_calloc(size_t n, size_t size)
{
	return alloc_fails() ? NULL : __real_calloc(n, size);
}

void *__wrap_realloc(void *p, size_t n)
{
	return alloc_fails() ? NULL : __real_realloc(p, n);
}

char *__wrap_strdup(const char *s)
{
	return alloc_fails() ? NULL : __real_strdup(s);
}

static const char redact_text[] =
	"Authorization: Bearer abcdef123456\nhttps://u:pw-123456@host/x\n"
	"-----BEGIN RSA PRIVATE KEY-----\nMIIEow\n-----END RSA PRIVATE KEY-----\n"
	"learned-value-42 and AKIAIOSFODNN7EXAMPLE\n";
static const char redact_expect[] =
	"Authorization: [REDACTED]\nhttps://u:[REDACTED]@host/x\n[REDACTED]\n"
	"[REDACTED] and [REDACTED]\n";

/* One redaction from scratch; TB_OK only with the full, right answer. */
static int redact_once(void)
{
	const char *const extra[] = {"tenant-[0-9]+"};
	tb_redactor *r = NULL;
	char *out = NULL;
	int rv = tb_redactor_alloc(extra, 1, &r, NULL);
	if (rv == TB_OK)
		rv = tb_redactor_learn(r, "token: learned-value-42\n", 24);
	if (rv == TB_OK && (out = tb_redact_str(r, redact_text, NULL)) == NULL)
		rv = TB_RESOURCE_EXHAUSTED;
	if (rv == TB_OK)
		assert_string_equal(out, redact_expect);
	free(out);
	tb_redactor_free(r);
	return rv;
}

static const char custom[] = "rules:\n  - id: crash-loop\n    title: Mine\n    severity: low\n"
                             "    patterns: [a, b]\n    labels: {x: y}\n    sources: [logs]\n";

/* Loads the default rules and a custom file, then analyses one input. */
static int rules_once(void)
{
	rules_set *set = NULL;
	tb_arena *a = NULL;
	Testbus__V1__AnalysisResult *res = NULL;
	int rv = rules_set_alloc(&set, NULL);
	if (rv == TB_OK)
		rv = rules_set_add_yaml(set, rules_default_yaml, rules_default_yaml_len, "d", NULL);
	if (rv == TB_OK)
		rv = rules_set_add_yaml(set, custom, strlen(custom), "c", NULL);
	if (rv == TB_OK && tb_arena_alloc(&a) != TB_OK)
		rv = TB_RESOURCE_EXHAUSTED;
	Testbus__V1__TestCase tc = TESTBUS__V1__TEST_CASE__INIT;
	Testbus__V1__TestCase *tcs[] = {&tc};
	Testbus__V1__ExecutionResult r = TESTBUS__V1__EXECUTION_RESULT__INIT;
	Testbus__V1__AnalysisInput in = TESTBUS__V1__ANALYSIS_INPUT__INIT;
	tc.name = "t";
	tc.status = TESTBUS__V1__TEST_STATUS__TEST_FAILED;
	tc.message = "OOMKilled\nFailed to pull image \"x\"";
	r.test_cases = tcs;
	r.n_test_cases = 1;
	in.result = &r;
	if (rv == TB_OK)
		rv = rules_analyze(set, NULL, &in, a, &res, NULL);
	if (rv == TB_OK)
		assert_int_equal(res->n_findings, 2);
	tb_arena_free(a);
	rules_set_free(set);
	return rv;
}

/* Fails allocation k for k = 0, 1, ... until a run makes no failing call. */
static void fail_each(int (*once)(void), long min_allocs)
{
	for (long k = 0;; k++) {
		did_fail = false;
		fail_in = k;
		int rv = once();
		fail_in = -1;
		if (!did_fail) {
			assert_int_equal(rv, TB_OK);
			assert_true(k >= min_allocs);
			return;
		}
		if (rv != TB_OK && rv != TB_RESOURCE_EXHAUSTED)
			fail_msg("allocation %ld failed: got %s", k, tb_strerror(rv));
	}
}

static void test_redactor_out_of_memory(void **state)
{
	fail_each(redact_once, 10);
}

static void test_rules_out_of_memory(void **state)
{
	fail_each(rules_once, 50);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_redactor_out_of_memory),
		cmocka_unit_test(test_rules_out_of_memory),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
