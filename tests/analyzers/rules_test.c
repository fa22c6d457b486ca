/* Unit tests of the rules engine: the default ruleset against real Kubernetes errors, dedup, ranking, rule files. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "rules.h"
#include "testbus/testbus.h"

/* One sample of k8s_errors.txt. */
struct sample {
	char id[64];
	char *text;
};

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "rb");
	assert_non_null(f);
	char *buf = NULL;
	size_t len = 0;
	FILE *mem = open_memstream(&buf, &len);
	char chunk[4096];
	size_t n;
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		fwrite(chunk, 1, n, mem);
	fclose(mem);
	fclose(f);
	return buf;
}

/* Splits the fixture into samples; returns how many. */
static size_t load_samples(struct sample *out, size_t max)
{
	char *all = slurp(K8S_ERRORS_FILE);
	size_t n = 0;
	char *cur = NULL;
	size_t cur_len = 0;
	FILE *mem = NULL;
	for (char *line = strtok(all, "\n"); line != NULL; line = strtok(NULL, "\n")) {
		if (strncmp(line, "== ", 3) == 0) {
			if (mem != NULL) {
				fclose(mem);
				out[n++].text = cur;
			}
			assert_true(n < max);
			snprintf(out[n].id, sizeof(out[n].id), "%s", line + 3);
			mem = open_memstream(&cur, &cur_len);
		} else if (mem != NULL) {
			fprintf(mem, "%s\n", line);
		}
	}
	if (mem != NULL) {
		fclose(mem);
		out[n++].text = cur;
	}
	free(all);
	return n;
}

static void free_samples(struct sample *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(s[i].text);
}

static rules_set *default_set(void)
{
	rules_set *set;
	tb_status st;
	assert_int_equal(rules_set_alloc(&set, &st), TB_OK);
	int rv = rules_set_add_yaml(set, rules_default_yaml, rules_default_yaml_len,
	                            "default_rules.yaml", &st);
	if (rv != TB_OK)
		fail_msg("default rules: %s", st.message);
	return set;
}

/* An input with one failed test whose message is text. */
struct one_test {
	Testbus__V1__TestCase tc;
	Testbus__V1__TestCase *tcs[1];
	Testbus__V1__ExecutionResult res;
	Testbus__V1__AnalysisInput in;
};

static void one_test_init(struct one_test *o, const char *text)
{
	testbus__v1__test_case__init(&o->tc);
	o->tc.name = "sample test";
	o->tc.status = TESTBUS__V1__TEST_STATUS__TEST_FAILED;
	o->tc.message = (char *)text;
	o->tcs[0] = &o->tc;
	testbus__v1__execution_result__init(&o->res);
	o->res.n_test_cases = 1;
	o->res.test_cases = o->tcs;
	testbus__v1__analysis_input__init(&o->in);
	o->in.result = &o->res;
}

static bool has_finding(const Testbus__V1__AnalysisResult *r, const char *id)
{
	for (size_t i = 0; i < r->n_findings; i++)
		if (strcmp(r->findings[i]->rule_id, id) == 0)
			return true;
	return false;
}

static Testbus__V1__AnalysisResult *analyze(const rules_set *set, const rules_opts *o,
                                            const Testbus__V1__AnalysisInput *in, tb_arena *a)
{
	Testbus__V1__AnalysisResult *res = NULL;
	tb_status st;
	assert_int_equal(rules_analyze(set, o, in, a, &res, &st), TB_OK);
	assert_non_null(res);
	return res;
}

/* Every sample is found by its rule; "none" samples by no rule. */
static void test_default_rules_match_samples(void **state)
{
	struct sample s[200];
	size_t n = load_samples(s, 200);
	rules_set *set = default_set();
	assert_true(n > 30);
	for (size_t i = 0; i < n; i++) {
		tb_arena *a;
		assert_int_equal(tb_arena_alloc(&a), TB_OK);
		struct one_test o;
		one_test_init(&o, s[i].text);
		Testbus__V1__AnalysisResult *r = analyze(set, NULL, &o.in, a);
		if (strcmp(s[i].id, "none") == 0 && r->n_findings != 0)
			fail_msg("rule %s matched a text it should not:\n%s", r->findings[0]->rule_id,
			         s[i].text);
		if (strcmp(s[i].id, "none") != 0 && !has_finding(r, s[i].id))
			fail_msg("rule %s did not match:\n%s", s[i].id, s[i].text);
		assert_true(strcmp(s[i].id, "none") == 0 || strcmp(r->root_cause, "") != 0);
		tb_arena_free(a);
	}
	free_samples(s, n);
	rules_set_free(set);
}

/* Each default rule has at least one real sample, and the signatures are all there. */
static void test_default_rules_all_sampled(void **state)
{
	static const char *const required[] = {
		"image-pull", "crash-loop", "oom-killed", "failed-scheduling", "certificate",
		"api-unreachable", "dns-resolution", "deadline-exceeded", "quota-exceeded",
		"admission-webhook", "etcd", "node-not-ready", "volume-pending", "rbac-forbidden",
	};
	struct sample s[200];
	size_t n = load_samples(s, 200);
	rules_set *set = default_set();
	for (size_t r = 0; r < set->n_rules; r++) {
		bool found = false;
		for (size_t i = 0; i < n && !found; i++)
			found = strcmp(s[i].id, set->rules[r]->id) == 0;
		if (!found)
			fail_msg("default rule %s has no sample in k8s_errors.txt", set->rules[r]->id);
		assert_true(set->rules[r]->severity >= TESTBUS__V1__SEVERITY__SEVERITY_INFO);
		assert_true(strlen(set->rules[r]->explanation) > 0);
		assert_true(strlen(set->rules[r]->suggested_fix) > 0);
	}
	for (size_t i = 0; i < sizeof(required) / sizeof(required[0]); i++)
		assert_non_null(rules_set_find(set, required[i]));
	free_samples(s, n);
	rules_set_free(set);
}

static void tc_init(Testbus__V1__TestCase *tc, const char *name, const char *message,
                    const char *output)
{
	testbus__v1__test_case__init(tc);
	tc->name = (char *)name;
	tc->status = TESTBUS__V1__TEST_STATUS__TEST_FAILED;
	tc->message = (char *)message;
	tc->output = (char *)output;
}

/* Counts, dedup of repeated lines, evidence, test cases and ranking. */
static void test_dedup_and_ranking(void **state)
{
	const char *pull = "Failed to pull image \"web:v9\": not found";
	Testbus__V1__TestCase t1, t2, t3;
	tc_init(&t1, "test one", pull, "step 1\nFailed to pull image \"web:v9\": not found\n");
	tc_init(&t2, "test two", pull, NULL);
	tc_init(&t3, "test three", "passed really", NULL);
	t3.status = TESTBUS__V1__TEST_STATUS__TEST_PASSED;
	Testbus__V1__TestCase *tcs[] = {&t1, &t2, &t3};
	Testbus__V1__ExecutionResult res = TESTBUS__V1__EXECUTION_RESULT__INIT;
	res.test_cases = tcs;
	res.n_test_cases = 3;
	res.stderr_tail = "Reason: OOMKilled (a)\nReason: OOMKilled (b)\nReason: OOMKilled (c)\n"
	                  "Reason: OOMKilled (c)\n";
	Testbus__V1__LogExcerpt log = TESTBUS__V1__LOG_EXCERPT__INIT;
	log.name = "apiserver.log";
	log.text = "E0101 etcdserver: request timed out\n";
	Testbus__V1__LogExcerpt *logs[] = {&log};
	Testbus__V1__AnalysisInput in = TESTBUS__V1__ANALYSIS_INPUT__INIT;
	in.result = &res;
	in.logs = logs;
	in.n_logs = 1;

	rules_set *set = default_set();
	tb_arena *a;
	assert_int_equal(tb_arena_alloc(&a), TB_OK);
	Testbus__V1__AnalysisResult *r = analyze(set, NULL, &in, a);
	assert_int_equal(r->n_findings, 3);
	/* critical first, then the high with more lines, then the other high */
	assert_string_equal(r->findings[0]->rule_id, "etcd");
	assert_string_equal(r->findings[1]->rule_id, "oom-killed");
	assert_int_equal(r->findings[1]->count, 3); /* (c) repeated in one stream counts once */
	assert_int_equal(r->findings[1]->n_test_cases, 0);
	assert_string_equal(r->findings[2]->rule_id, "image-pull");
	assert_int_equal(r->findings[2]->count, 2); /* message and output of one test: once */
	assert_int_equal(r->findings[2]->n_evidence, 1); /* same line everywhere */
	assert_string_equal(r->findings[2]->evidence[0], pull);
	assert_int_equal(r->findings[2]->n_test_cases, 2);
	assert_string_equal(r->findings[2]->test_cases[0], "test one");
	assert_string_equal(r->findings[2]->test_cases[1], "test two");
	assert_true(r->findings[0]->score > r->findings[1]->score);
	assert_true(r->findings[1]->score > r->findings[2]->score);
	assert_string_equal(r->analyzer, "rules");
	assert_string_equal(r->root_cause, r->findings[0]->title);
	assert_int_equal(r->n_recommendations, 3);
	assert_non_null(strstr(r->summary, "3 findings"));

	rules_opts o = {.max_evidence = 2, .max_findings = 1, .max_evidence_len = 20};
	r = analyze(set, &o, &in, a);
	assert_int_equal(r->n_findings, 1);
	assert_int_equal(r->findings[0]->n_evidence, 1);
	assert_int_equal(strlen(r->findings[0]->evidence[0]), 20);
	tb_arena_free(a);
	rules_set_free(set);
}

static const char custom_rules[] =
	"rules:\n"
	"  - id: storage-only\n"
	"    title: Disk quota in storage suite\n"
	"    severity: low\n"
	"    pattern: 'disk quota'\n"
	"    sources: [logs]\n"
	"    labels: {suite: storage}\n"
	"  - id: crash-loop\n"
	"    title: Overridden crash loop\n"
	"    severity: info\n"
	"    syntax: posix\n"
	"    ignore_case: true\n"
	"    patterns: ['^crashloop[a-z]* detected$']\n";

/* Sources, label scope, POSIX syntax, overriding and removing rules. */
static void test_custom_rules(void **state)
{
	rules_set *set = default_set();
	tb_status st;
	size_t before = set->n_rules;
	assert_int_equal(rules_set_add_yaml(set, custom_rules, strlen(custom_rules), "c.yaml", &st),
	                 TB_OK);
	assert_int_equal(set->n_rules, before + 1);
	assert_string_equal(rules_set_find(set, "crash-loop")->title, "Overridden crash loop");

	struct one_test o;
	one_test_init(&o, "disk quota reached\nCrashLoopBackOff\nx CRASHLOOPING detected\n"
	                  "CrashLoop detected\n");
	Testbus__V1__LogExcerpt log = TESTBUS__V1__LOG_EXCERPT__INIT;
	log.name = "node.log";
	log.text = "disk quota reached";
	Testbus__V1__LogExcerpt *logs[] = {&log};
	o.in.logs = logs;
	o.in.n_logs = 1;
	tb_arena *a;
	assert_int_equal(tb_arena_alloc(&a), TB_OK);
	Testbus__V1__AnalysisResult *r = analyze(set, NULL, &o.in, a);
	assert_false(has_finding(r, "storage-only")); /* label not set */
	assert_true(has_finding(r, "crash-loop"));
	for (size_t i = 0; i < r->n_findings; i++)
		if (strcmp(r->findings[i]->rule_id, "crash-loop") == 0)
			assert_int_equal(r->findings[i]->count, 1); /* anchored POSIX: one line */

	Testbus__V1__AnalysisInput__LabelsEntry e = TESTBUS__V1__ANALYSIS_INPUT__LABELS_ENTRY__INIT;
	e.key = "suite";
	e.value = "storage";
	Testbus__V1__AnalysisInput__LabelsEntry *labels[] = {&e};
	o.in.labels = labels;
	o.in.n_labels = 1;
	r = analyze(set, NULL, &o.in, a);
	assert_true(has_finding(r, "storage-only"));
	for (size_t i = 0; i < r->n_findings; i++)
		if (strcmp(r->findings[i]->rule_id, "storage-only") == 0)
			assert_int_equal(r->findings[i]->count, 1); /* the log only, not the message */

	assert_int_equal(rules_set_remove(set, "crash-loop"), TB_OK);
	assert_int_equal(rules_set_remove(set, "crash-loop"), TB_NOT_FOUND);
	r = analyze(set, NULL, &o.in, a);
	assert_false(has_finding(r, "crash-loop"));
	tb_arena_free(a);
	rules_set_free(set);
}

/* Bad rule files are refused whole, with the file, the line and the reason. */
static void test_bad_rule_files(void **state)
{
	static const struct {
		const char *yaml;
		const char *expect;
	} bad[] = {
		{"rules:\n  - id: a\n    title: A\n    pattern: x\n    colour: red\n",
		 "bad.yaml:5: rule 'a': unknown key 'colour'"},
		{"rules:\n  - id: a\n    title: A\n    severity: urgent\n    pattern: x\n",
		 "bad.yaml:4: rule 'a': severity must be"},
		{"rules:\n  - id: a\n    title: A\n    pattern: '(unclosed'\n",
		 "bad.yaml:4: rule 'a': pattern '(unclosed'"},
		{"rules:\n  - id: a\n    title: A\n", "bad.yaml:2: rule 'a': id, title and pattern"},
		{"rules:\n  - {id: a, title: A, pattern: x}\n  - {id: a, title: B, pattern: y}\n",
		 "rule id 'a' is also defined at bad.yaml:2"},
		{"rules:\n  - id: 'a b'\n    title: A\n    pattern: x\n", "bad.yaml:2: rule '?': id must"},
		{"rules: [\n", "bad.yaml:"},
		{"colour: red\n", "unknown top-level key 'colour'"},
		{"rules:\n  - id: a\n    title: A\n    sources: [stdin]\n    pattern: x\n",
		 "sources are message"},
		{"rules:\n  - id: a\n    title: A\n    syntax: posix\n    pattern: 'a{1'\n",
		 "bad.yaml:5: rule 'a': pattern 'a{1'"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		rules_set *set;
		tb_status st;
		assert_int_equal(rules_set_alloc(&set, &st), TB_OK);
		int rv = rules_set_add_yaml(set, bad[i].yaml, strlen(bad[i].yaml), "bad.yaml", &st);
		assert_int_equal(rv, TB_INVALID_ARGUMENT);
		if (strstr(st.message, bad[i].expect) == NULL)
			fail_msg("case %zu: '%s' lacks '%s'", i, st.message, bad[i].expect);
		assert_int_equal(set->n_rules, 0);
		rules_set_free(set);
	}
	rules_set *set;
	tb_status st;
	assert_int_equal(rules_set_alloc(&set, &st), TB_OK);
	assert_int_equal(rules_set_add_file(set, "/nonexistent/rules.yaml", &st), TB_NOT_FOUND);
	rules_set_free(set);
}

/* An input without a result, or with nothing failed, gives no finding. */
static void test_empty_input(void **state)
{
	rules_set *set = default_set();
	tb_arena *a;
	assert_int_equal(tb_arena_alloc(&a), TB_OK);
	Testbus__V1__AnalysisInput in = TESTBUS__V1__ANALYSIS_INPUT__INIT;
	Testbus__V1__AnalysisResult *r = analyze(set, NULL, &in, a);
	assert_int_equal(r->n_findings, 0);
	assert_non_null(strstr(r->summary, "No known failure signature"));
	tb_arena_free(a);
	rules_set_free(set);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_default_rules_match_samples),
		cmocka_unit_test(test_default_rules_all_sampled),
		cmocka_unit_test(test_dedup_and_ranking),
		cmocka_unit_test(test_custom_rules),
		cmocka_unit_test(test_bad_rule_files),
		cmocka_unit_test(test_empty_input),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
