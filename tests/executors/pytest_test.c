/* The pytest executor over the bus: a real pytest suite, label filters, xdist workers. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "exec_fixture.h"

static char python[256];

/* pytest's own summary line: "2 failed, 4 passed, 1 skipped, 1 xfailed, 1 error in 0.03s". */
typedef struct pytest_counts {
	unsigned passed, failed, errors, skipped, xfailed;
} pytest_counts;

static pytest_counts summary_line(const char *out)
{
	static const struct {
		const char *word;
		size_t offset;
	} words[] = {
		{"passed", offsetof(pytest_counts, passed)},   {"failed", offsetof(pytest_counts, failed)},
		{"error", offsetof(pytest_counts, errors)},    {"errors", offsetof(pytest_counts, errors)},
		{"skipped", offsetof(pytest_counts, skipped)}, {"xfailed", offsetof(pytest_counts, xfailed)},
	};
	pytest_counts c = {0};
	const char *line = NULL, *p;
	char word[32];
	unsigned n;
	int used;

	for (p = strstr(out, "=== "); p != NULL; p = strstr(p + 1, "=== "))
		if (strstr(p, " in ") != NULL && strchr(p, '\n') > strstr(p, " in "))
			line = p + 4;
	if (line == NULL)
		fail_msg("no pytest summary line in:\n%s", out);
	while (sscanf(line, "%u %31[a-z]%n", &n, word, &used) == 2) {
		for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++)
			if (strcmp(word, words[i].word) == 0)
				*(unsigned *)((char *)&c + words[i].offset) = n;
		line += used;
		line += strspn(line, ", ");
	}
	return c;
}

static void check_against_pytest(const Testbus__V1__ExecutionResult *r)
{
	pytest_counts c = summary_line(r->stdout_tail);

	assert_int_equal(r->summary->passed, c.passed);
	assert_int_equal(r->summary->failed, c.failed);
	assert_int_equal(r->summary->errors, c.errors);
	assert_int_equal(r->summary->skipped, c.skipped + c.xfailed);
	assert_int_equal(r->summary->total, c.passed + c.failed + c.errors + c.skipped + c.xfailed);
}

static char *config(const char *extra)
{
	char *yaml = NULL;

	assert_true(asprintf(&yaml, "python: '%s'\npaths: ['%s/pytest']\n%s", python,
	                     exec_suites_dir(), extra) > 0);
	return yaml;
}

/* The whole suite: counts match pytest's summary; kinds, messages, output. */
static void test_pytest_suite(void **state)
{
	exec_fixture f = {0};
	char *yaml = config("");
	exec_target t = {.kubeconfig = "apiVersion: v1\n"};
	Testbus__V1__ExecutionResult *r = NULL;
	const Testbus__V1__TestCase *tc;
	tb_status st;

	(void)state;
	exec_start(&f, "pytest", yaml, 1);
	assert_int_equal(exec_call(&f, &t, &r, &st), TB_OK);
	check_against_pytest(r);
	assert_int_equal(r->summary->total, 9);
	assert_int_equal(r->summary->errors, 1);
	assert_int_equal(r->summary->failed, 1);
	assert_false(r->success);
	assert_int_equal(r->exit_code, 1);
	assert_string_equal(r->error, "");
	assert_non_null(tc = exec_case(r, "test_fails_on_purpose"));
	assert_non_null(strstr(tc->message, "left"));
	assert_non_null(strstr(tc->output, "captured output before the failure"));
	assert_non_null(tc = exec_case(r, "test_errors_in_fixture"));
	assert_int_equal(tc->status, TESTBUS__V1__TEST_STATUS__TEST_ERROR);
	assert_non_null(strstr(tc->output, "fixture set-up failed"));
	assert_non_null(tc = exec_case(r, "test_kubeconfig_is_private"));
	assert_int_equal(tc->status, TESTBUS__V1__TEST_STATUS__TEST_PASSED);
	assert_int_equal(exec_case(r, "test_expected_failure")->status,
	                 TESTBUS__V1__TEST_STATUS__TEST_SKIPPED);
	assert_non_null(exec_case(r, "test_parametrized[2]"));
	protobuf_c_message_free_unpacked(&r->base, NULL);
	exec_stop(&f);
	free(yaml);
}

/* Labels select tests: markers -> -m, keyword -> -k, ANDed with the config's own. */
static void test_pytest_label_filters(void **state)
{
	exec_fixture f = {0};
	char *yaml = config("label_filters: {area: keyword}\n");
	const char *smoke[] = {"markers", "smoke", NULL};
	const char *param[] = {"keyword", "parametrized", NULL};
	const char *both[] = {"markers", "smoke", "area", "addition", NULL};
	exec_target t = {.kubeconfig = "apiVersion: v1\n"};
	Testbus__V1__ExecutionResult *r = NULL;
	tb_status st;

	(void)state;
	exec_start(&f, "pytest", yaml, 1);
	t.labels = smoke;
	assert_int_equal(exec_call(&f, &t, &r, &st), TB_OK);
	check_against_pytest(r);
	assert_int_equal(r->summary->total, 2);
	assert_true(r->success);
	assert_non_null(strstr(exec_meta_string(r, "command"), "-m smoke"));
	protobuf_c_message_free_unpacked(&r->base, NULL);

	t.labels = param;
	assert_int_equal(exec_call(&f, &t, &r, &st), TB_OK);
	assert_int_equal(r->summary->total, 3);
	assert_int_equal(r->summary->passed, 3);
	protobuf_c_message_free_unpacked(&r->base, NULL);

	t.labels = both;
	assert_int_equal(exec_call(&f, &t, &r, &st), TB_OK);
	assert_int_equal(r->summary->total, 1);
	assert_non_null(exec_case(r, "test_addition"));
	protobuf_c_message_free_unpacked(&r->base, NULL);
	exec_stop(&f);
	free(yaml);
}

/* pytest-xdist: the same counts on two workers. */
static void test_pytest_xdist(void **state)
{
	exec_fixture f = {0};
	char *yaml = config("workers: 2\n");
	exec_target t = {.kubeconfig = "apiVersion: v1\n"};
	Testbus__V1__ExecutionResult *r = NULL;
	tb_status st;

	(void)state;
	if (exec_sh("'%s' -c 'import xdist' 2>/dev/null", python) != 0) {
		free(yaml);
		skip();
	}
	exec_start(&f, "pytest", yaml, 1);
	assert_int_equal(exec_call(&f, &t, &r, &st), TB_OK);
	assert_non_null(strstr(r->stdout_tail, "gw1 ["));
	check_against_pytest(r);
	assert_int_equal(r->summary->total, 9);
	protobuf_c_message_free_unpacked(&r->base, NULL);
	exec_stop(&f);
	free(yaml);
}

/* The first interpreter that can import pytest. */
static int find_python(void **state)
{
	const char *candidates[] = {getenv("TESTBUS_PYTHON"), "/usr/bin/python3", "python3"};

	(void)state;
	for (size_t i = 0; i < sizeof(candidates) / sizeof(candidates[0]); i++) {
		if (candidates[i] != NULL &&
		    exec_sh("'%s' -c 'import pytest' 2>/dev/null", candidates[i]) == 0) {
			snprintf(python, sizeof(python), "%s", candidates[i]);
			return 0;
		}
	}
	fprintf(stderr, "no python3 with pytest found\n");
	return -1;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pytest_suite),
		cmocka_unit_test(test_pytest_label_filters),
		cmocka_unit_test(test_pytest_xdist),
	};

	return cmocka_run_group_tests(tests, find_python, NULL);
}
