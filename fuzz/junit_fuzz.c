/*
 * Fuzz target: the JUnit/xUnit report reader (tb_junit_add_memory), twice
 * into one collector so that retries merge, then the summary.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "fuzz_bus.h"
#include "junit.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	tb_arena *arena = NULL;
	tb_junit *j = NULL;
	tb_junit_file_stats stats;
	tb_status st;
	if (tb_arena_alloc(&arena) != TB_OK)
		return 0;
	/* Small limits, so that the fuzzer reaches them. */
	const tb_junit_opts opts = {.max_output = 256, .max_message = 64, .max_tests = 64};
	if (tb_junit_alloc(arena, &opts, &j) != TB_OK)
		goto out;
	int first = tb_junit_add_memory(j, data, size, "first.xml", &stats, &st);
	if (first == TB_OK) {
		fuzz_require(stats.passed + stats.failed + stats.errored + stats.skipped ==
		                 stats.testcases,
		             "every test case has one status");
		fuzz_require(tb_junit_add_memory(j, data, size, "again.xml", NULL, &st) == TB_OK ||
		                 st.code == TB_RESOURCE_EXHAUSTED,
		             "a report read once reads again");
	}
	size_t n = 0;
	Testbus__V1__TestCase **cases = tb_junit_cases(j, &n);
	Testbus__V1__ResultSummary sum = TESTBUS__V1__RESULT_SUMMARY__INIT;
	tb_junit_summary(j, &sum);
	fuzz_require(cases != NULL || n == 0, "no array, no tests");
	fuzz_require(n <= opts.max_tests, "the collector keeps to its test limit");
	for (size_t i = 0; i < n; i++) {
		fuzz_require(cases[i]->message == NULL || strlen(cases[i]->message) <= opts.max_message,
		             "a message keeps to its limit");
	}
out:
	tb_junit_free(j);
	tb_arena_free(arena);
	return 0;
}
