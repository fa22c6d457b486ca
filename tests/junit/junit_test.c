/* Unit tests of the JUnit reader: real reports against EXPECTED.tsv, retries, limits, hostile XML. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <dirent.h>

#include "junit.h"

static const char *fixtures_dir;

typedef struct fixture {
	tb_arena *arena;
	tb_junit *j;
} fixture;

static int setup(void **state)
{
	fixture *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	assert_int_equal(tb_arena_alloc(&f->arena), TB_OK);
	assert_int_equal(tb_junit_alloc(f->arena, NULL, &f->j), TB_OK);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	fixture *f = *state;

	tb_junit_free(f->j);
	tb_arena_free(f->arena);
	free(f);
	return 0;
}

static char *fixture_path(const char *name)
{
	char *p = NULL;

	assert_true(asprintf(&p, "%s/%s", fixtures_dir, name) > 0);
	return p;
}

static const Testbus__V1__TestCase *find_case(tb_junit *j, const char *name)
{
	size_t n = 0;
	Testbus__V1__TestCase **cases = tb_junit_cases(j, &n);

	for (size_t i = 0; i < n; i++)
		if (strcmp(cases[i]->name, name) == 0)
			return cases[i];
	fail_msg("no test case named '%s'", name);
	return NULL;
}

/* Every row of EXPECTED.tsv matches, and every report in the folder has a row. */
static void test_expected_tsv(void **state)
{
	char *path = fixture_path("EXPECTED.tsv"), line[512];
	FILE *fp = fopen(path, "r");
	int rows = 0, files = 0;
	DIR *d;
	struct dirent *de;

	(void)state;
	assert_non_null(fp);
	assert_non_null(fgets(line, sizeof(line), fp)); /* header */
	while (fgets(line, sizeof(line), fp) != NULL) {
		char file[128], root[32];
		unsigned tc, failed, errored, skipped, passed, depth;
		tb_junit_file_stats s;
		tb_status st;
		char *fpath;

		assert_int_equal(sscanf(line, "%127s %u %u %u %u %u %31s %u", file, &tc, &failed,
		                        &errored, &skipped, &passed, root, &depth),
		                 8);
		fpath = fixture_path(file);
		if (tb_junit_stats_file(fpath, NULL, &s, &st) != TB_OK)
			fail_msg("%s: %s", file, st.message);
		if (s.testcases != tc || s.failed != failed || s.errored != errored ||
		    s.skipped != skipped || s.passed != passed || strcmp(s.root, root) != 0 ||
		    s.max_depth != depth)
			fail_msg("%s: got %u %u %u %u %u %s %u, want %u %u %u %u %u %s %u", file,
			         s.testcases, s.failed, s.errored, s.skipped, s.passed, s.root, s.max_depth,
			         tc, failed, errored, skipped, passed, root, depth);
		free(fpath);
		rows++;
	}
	fclose(fp);
	free(path);
	assert_non_null(d = opendir(fixtures_dir));
	while ((de = readdir(d)) != NULL) {
		size_t len = strlen(de->d_name);
		files += len > 4 && strcmp(de->d_name + len - 4, ".xml") == 0;
	}
	closedir(d);
	assert_true(rows > 0);
	assert_int_equal(rows, files);
}

/* Seven elements, four tests: the last run decides, earlier failures make it flaky. */
static void test_retried_tests(void **state)
{
	fixture *f = *state;
	char *path = fixture_path("xcode-trainer-retried-tests.xml");
	Testbus__V1__ResultSummary sum = TESTBUS__V1__RESULT_SUMMARY__INIT;
	const Testbus__V1__TestCase *tc;
	tb_status st;

	assert_int_equal(tb_junit_add_file(f->j, path, NULL, &st), TB_OK);
	tb_junit_summary(f->j, &sum);
	assert_int_equal(sum.total, 4);
	assert_int_equal(sum.passed, 3);
	assert_int_equal(sum.failed, 1);
	assert_int_equal(sum.flaky, 2);

	tc = find_case(f->j, "offline filtering keeps the active ticket");
	assert_int_equal(tc->status, TESTBUS__V1__TEST_STATUS__TEST_PASSED);
	assert_true(tc->flaky);
	assert_int_equal(tc->attempt, 2);
	assert_int_equal(tc->n_attempts, 1);
	assert_int_equal(tc->attempts[0]->status, TESTBUS__V1__TEST_STATUS__TEST_FAILED);
	assert_string_equal(tc->attempts[0]->message, "TicketRepositoryTests.swift:48: Expectation failed");

	tc = find_case(f->j, "an expired ticket is dropped");
	assert_int_equal(tc->status, TESTBUS__V1__TEST_STATUS__TEST_FAILED);
	assert_true(tc->flaky);

	tc = find_case(f->j, "a ticket is filtered by city (\"MAD\")");
	assert_int_equal(tc->status, TESTBUS__V1__TEST_STATUS__TEST_PASSED);
	assert_false(tc->flaky);
	assert_int_equal(tc->attempt, 2);
	free(path);
}

/* Messages from attributes or bodies, errors vs failures, xfail as skipped. */
static void test_messages_and_kinds(void **state)
{
	fixture *f = *state;
	char *a = fixture_path("python-xunit-unittest.xml"), *b = fixture_path("java-empty_failures.xml");
	const Testbus__V1__TestCase *tc;
	tb_status st;

	assert_int_equal(tb_junit_add_file(f->j, a, NULL, &st), TB_OK);
	assert_int_equal(tb_junit_add_file(f->j, b, NULL, &st), TB_OK);

	tc = find_case(f->j, "test_error");
	assert_int_equal(tc->status, TESTBUS__V1__TEST_STATUS__TEST_ERROR);
	assert_string_equal(tc->message, "error");
	assert_non_null(strstr(tc->output, "raise Exception(\"error\")"));
	assert_string_equal(tc->suite, "TestAcme-20251114214921");
	assert_string_equal(tc->classname, "TestAcme");

	tc = find_case(f->j, "test_expected_failure");
	assert_int_equal(tc->status, TESTBUS__V1__TEST_STATUS__TEST_SKIPPED);
	assert_non_null(strstr(tc->message, "expected failure"));
	assert_string_equal(tc->output, "");

	tc = find_case(f->j, "test_other_case");
	assert_int_equal(tc->status, TESTBUS__V1__TEST_STATUS__TEST_FAILED);
	assert_non_null(strstr(tc->message, "AssertionError: True is not false"));
	assert_true(tc->duration_ms > 4557.0 && tc->duration_ms < 4559.0);
	free(a);
	free(b);
}

static int add_text(fixture *f, const char *xml, const char *name, tb_junit_file_stats *s,
                    tb_status *st)
{
	return tb_junit_add_memory(f->j, xml, strlen(xml), name, s, st);
}

/* A test rerun in a second report merges with the first run. */
static void test_retry_across_reports(void **state)
{
	fixture *f = *state;
	Testbus__V1__ResultSummary sum = TESTBUS__V1__RESULT_SUMMARY__INIT;
	const Testbus__V1__TestCase *tc;
	tb_status st;

	assert_int_equal(add_text(f,
	                          "<testsuite name='s'><testcase classname='c' name='t'>"
	                          "<failure>boom\nmore</failure></testcase>"
	                          "<testcase classname='c' name='u'/></testsuite>",
	                          "run1", NULL, &st),
	                 TB_OK);
	assert_int_equal(add_text(f, "<testsuite name='s'><testcase classname='c' name='t' time='2'/></testsuite>",
	                          "run2", NULL, &st),
	                 TB_OK);
	tb_junit_summary(f->j, &sum);
	assert_int_equal(sum.total, 2);
	assert_int_equal(sum.passed, 2);
	assert_int_equal(sum.flaky, 1);
	tc = find_case(f->j, "t");
	assert_int_equal(tc->attempt, 2);
	assert_string_equal(tc->attempts[0]->message, "boom");
	assert_true(tc->duration_ms == 2000.0);
}

/* Surefire's flakyFailure and rerunFailure children become earlier attempts. */
static void test_surefire_reruns(void **state)
{
	fixture *f = *state;
	tb_junit_file_stats s;
	const Testbus__V1__TestCase *tc;
	tb_status st;

	assert_int_equal(add_text(f,
	                          "<testsuite name='s'>"
	                          "<testcase classname='c' name='flaky'><flakyFailure message='first'/></testcase>"
	                          "<testcase classname='c' name='broken'><failure message='one'/>"
	                          "<rerunFailure message='two'/><rerunFailure message='three'/></testcase>"
	                          "</testsuite>",
	                          "surefire", &s, &st),
	                 TB_OK);
	assert_int_equal(s.passed, 1);
	assert_int_equal(s.failed, 1);
	tc = find_case(f->j, "flaky");
	assert_int_equal(tc->status, TESTBUS__V1__TEST_STATUS__TEST_PASSED);
	assert_true(tc->flaky);
	assert_int_equal(tc->attempt, 2);
	tc = find_case(f->j, "broken");
	assert_int_equal(tc->status, TESTBUS__V1__TEST_STATUS__TEST_FAILED);
	assert_int_equal(tc->attempt, 3);
	assert_int_equal(tc->n_attempts, 2);
	assert_string_equal(tc->attempts[1]->message, "three");
}

/* The output excerpt keeps the failure head and the system-out tail within the cap. */
static void test_output_excerpt(void **state)
{
	fixture *f = *state;
	tb_junit_opts opts = {.max_output = 200, .max_message = 10};
	tb_junit *j = NULL;
	char *xml = NULL, big[2000];
	const Testbus__V1__TestCase *tc;
	size_t n;
	tb_status st;

	/* 2-byte characters, so a cut in the middle of one would show. */
	for (n = 0; n + 2 < sizeof(big); n += 2)
		memcpy(big + n, "\xc3\xa9", 2);
	big[n] = '\0';
	assert_true(asprintf(&xml,
	                     "<testsuites><testsuite name='s'><testcase name='t'><failure>HEAD%sEND</failure>"
	                     "<system-out>start%sLASTLINE</system-out></testcase></testsuite></testsuites>",
	                     big, big) > 0);
	assert_int_equal(tb_junit_alloc(f->arena, &opts, &j), TB_OK);
	assert_int_equal(tb_junit_add_memory(j, xml, strlen(xml), "x", NULL, &st), TB_OK);
	tc = tb_junit_cases(j, &n)[0];
	assert_true(strlen(tc->output) <= 200);
	assert_true(strncmp(tc->output, "HEAD", 4) == 0);
	assert_non_null(strstr(tc->output, "[system-out]"));
	assert_non_null(strstr(tc->output, "LASTLINE"));
	assert_true(strlen(tc->message) <= 10);
	for (const unsigned char *p = (const unsigned char *)tc->output; *p != '\0'; p++)
		if (*p == 0xc3)
			assert_int_equal(p[1], 0xa9);
	tb_junit_free(j);
	free(xml);
}

/* Bad input gets a status, never a crash, and leaves the collector unchanged. */
static void test_bad_reports(void **state)
{
	fixture *f = *state;
	const char *laughs =
	    "<?xml version='1.0'?><!DOCTYPE r [<!ENTITY a 'aaaaaaaaaa'>"
	    "<!ENTITY b '&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;'><!ENTITY c '&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;'>"
	    "<!ENTITY d '&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;'><!ENTITY e '&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;'>"
	    "<!ENTITY f '&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;'><!ENTITY g '&f;&f;&f;&f;&f;&f;&f;&f;&f;&f;'>]>"
	    "<testsuite><testcase name='&g;'/></testsuite>";
	const char *xxe = "<?xml version='1.0'?><!DOCTYPE r [<!ENTITY x SYSTEM 'file:///etc/passwd'>]>"
	                  "<testsuite><testcase name='t'><failure>&x;</failure></testcase></testsuite>";
	size_t n = 0;
	tb_status st;

	assert_int_equal(add_text(f, "<testsuite><testcase name='a'>", "cut", NULL, &st),
	                 TB_INVALID_ARGUMENT);
	assert_non_null(strstr(st.message, "cut:1: malformed XML"));
	assert_int_equal(add_text(f, "<html><testcase name='a'/></html>", "page", NULL, &st),
	                 TB_INVALID_ARGUMENT);
	assert_non_null(strstr(st.message, "<html>"));
	assert_int_equal(add_text(f, laughs, "laughs", NULL, &st), TB_INVALID_ARGUMENT);
	assert_int_equal(add_text(f, xxe, "xxe", NULL, &st), TB_INVALID_ARGUMENT);
	assert_int_equal(add_text(f, "", "empty", NULL, &st), TB_INVALID_ARGUMENT);
	assert_int_equal(tb_junit_add_file(f->j, "/nonexistent/report.xml", NULL, &st), TB_NOT_FOUND);
	assert_int_equal(tb_junit_add_file(f->j, "/", NULL, &st), TB_INVALID_ARGUMENT);
	assert_null(tb_junit_cases(f->j, &n));
	assert_int_equal(n, 0);
}

/* The size and test-count limits answer RESOURCE_EXHAUSTED. */
static void test_limits(void **state)
{
	fixture *f = *state;
	tb_junit_opts opts = {.max_bytes = 64, .max_tests = 2};
	tb_junit *j = NULL;
	const char *three = "<testsuite><testcase name='a'/><testcase name='b'/><testcase name='c'/></testsuite>";
	const char *two = "<testsuite><testcase name='a'/><testcase name='b'/></testsuite>";
	tb_status st;

	assert_int_equal(tb_junit_alloc(f->arena, &opts, &j), TB_OK);
	assert_int_equal(tb_junit_add_memory(j, three, strlen(three), "three", NULL, &st),
	                 TB_RESOURCE_EXHAUSTED);
	assert_int_equal(tb_junit_add_memory(j, two, strlen(two), "two", NULL, &st), TB_OK);
	tb_junit_free(j);
	opts.max_tests = 0;
	assert_int_equal(tb_junit_alloc(f->arena, &opts, &j), TB_OK);
	assert_int_equal(tb_junit_add_memory(j, three, strlen(three), "three", NULL, &st),
	                 TB_RESOURCE_EXHAUSTED);
	assert_non_null(strstr(st.message, "exceeds 64"));
	tb_junit_free(j);
}

/* Many tests, each merged through the hash table. */
static void test_many_tests(void **state)
{
	fixture *f = *state;
	size_t cap = 5000 * 64, len = 0, n = 0;
	char *xml = malloc(cap);
	Testbus__V1__ResultSummary sum = TESTBUS__V1__RESULT_SUMMARY__INIT;
	tb_status st;

	assert_non_null(xml);
	len += (size_t)snprintf(xml + len, cap - len, "<testsuites><testsuite name='big'>");
	for (int i = 0; i < 4000; i++)
		len += (size_t)snprintf(xml + len, cap - len, "<testcase classname='k' name='t%d'/>", i % 3000);
	len += (size_t)snprintf(xml + len, cap - len, "</testsuite></testsuites>");
	assert_int_equal(tb_junit_add_memory(f->j, xml, len, "big", NULL, &st), TB_OK);
	tb_junit_summary(f->j, &sum);
	assert_int_equal(sum.total, 3000);
	assert_int_equal(sum.flaky, 0);
	assert_non_null(tb_junit_cases(f->j, &n));
	assert_int_equal(n, 3000);
	assert_string_equal(find_case(f->j, "t2999")->suite, "big");
	free(xml);
}

static void test_status_names(void **state)
{
	(void)state;
	assert_string_equal(tb_junit_status_name(TESTBUS__V1__TEST_STATUS__TEST_ERROR), "error");
	assert_string_equal(tb_junit_status_name(TESTBUS__V1__TEST_STATUS__TEST_SKIPPED), "skipped");
	assert_string_equal(tb_junit_status_name((Testbus__V1__TestStatus)99), "unspecified");
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_expected_tsv),
		cmocka_unit_test_setup_teardown(test_retried_tests, setup, teardown),
		cmocka_unit_test_setup_teardown(test_messages_and_kinds, setup, teardown),
		cmocka_unit_test_setup_teardown(test_retry_across_reports, setup, teardown),
		cmocka_unit_test_setup_teardown(test_surefire_reruns, setup, teardown),
		cmocka_unit_test_setup_teardown(test_output_excerpt, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_reports, setup, teardown),
		cmocka_unit_test_setup_teardown(test_limits, setup, teardown),
		cmocka_unit_test_setup_teardown(test_many_tests, setup, teardown),
		cmocka_unit_test(test_status_names),
	};

	if (argc < 2) {
		fprintf(stderr, "usage: %s FIXTURES_DIR\n", argv[0]);
		return 2;
	}
	fixtures_dir = argv[1];
	return cmocka_run_group_tests(tests, NULL, NULL);
}
