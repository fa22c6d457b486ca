/* The reporter tests' run: every test status, retries, findings, hostile text and planted secrets. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fixture.h"

#define T_START 1714564800000LL /* 2024-05-01T12:00:00Z */

/* Allocates an initialised message of descriptor d from the arena. */
static void *fix_new(tb_arena *a, const ProtobufCMessageDescriptor *d)
{
	ProtobufCMessage *m = tb_arena_zalloc(a, d->sizeof_message);
	d->message_init(m);
	return m;
}

#define FIX_NEW(a, type, desc) ((type *)fix_new((a), &(desc)))

/* An arena array of n pointers. */
static void *fix_array(tb_arena *a, size_t n)
{
	return tb_arena_zalloc(a, n * sizeof(void *));
}

static Testbus__V1__TestAttempt *fix_attempt(tb_arena *a, Testbus__V1__TestStatus s,
                                             double ms, const char *message)
{
	Testbus__V1__TestAttempt *at =
	    FIX_NEW(a, Testbus__V1__TestAttempt, testbus__v1__test_attempt__descriptor);
	at->status = s;
	at->duration_ms = ms;
	at->message = tb_arena_strdup(a, message);
	return at;
}

static Testbus__V1__TestCase *fix_case(tb_arena *a, const char *classname, const char *name,
                                       Testbus__V1__TestStatus s, double ms, const char *message,
                                       const char *output)
{
	Testbus__V1__TestCase *tc =
	    FIX_NEW(a, Testbus__V1__TestCase, testbus__v1__test_case__descriptor);
	tc->classname = tb_arena_strdup(a, classname);
	tc->name = tb_arena_strdup(a, name);
	tc->suite = tb_arena_strdup(a, classname);
	tc->status = s;
	tc->duration_ms = ms;
	tc->message = tb_arena_strdup(a, message != NULL ? message : "");
	tc->output = tb_arena_strdup(a, output != NULL ? output : "");
	tc->attempt = 1;
	return tc;
}

/* Records an earlier attempt of tc; the test becomes flaky when it failed. */
static void fix_retry(tb_arena *a, Testbus__V1__TestCase *tc, Testbus__V1__TestStatus s,
                      const char *message)
{
	Testbus__V1__TestAttempt **arr = fix_array(a, tc->n_attempts + 1);
	if (tc->n_attempts > 0)
		memcpy(arr, tc->attempts, tc->n_attempts * sizeof(*arr));
	arr[tc->n_attempts++] = fix_attempt(a, s, tc->duration_ms * 0.9, message);
	tc->attempts = arr;
	tc->attempt++;
	tc->flaky = 1;
}

static Testbus__V1__TargetReport__LabelsEntry *fix_label(tb_arena *a, const char *k,
                                                         const char *v)
{
	Testbus__V1__TargetReport__LabelsEntry *e =
	    FIX_NEW(a, Testbus__V1__TargetReport__LabelsEntry,
	            testbus__v1__target_report__labels_entry__descriptor);
	e->key = tb_arena_strdup(a, k);
	e->value = tb_arena_strdup(a, v);
	return e;
}

/* A target with labels "phase" and "suite" plus one optional extra pair. */
static Testbus__V1__TargetReport *fix_target(tb_arena *a, const char *id, const char *phase,
                                             const char *executor, const char *k3,
                                             const char *v3)
{
	Testbus__V1__TargetReport *t =
	    FIX_NEW(a, Testbus__V1__TargetReport, testbus__v1__target_report__descriptor);
	t->target_id = tb_arena_strdup(a, id);
	t->executor = tb_arena_strdup(a, executor);
	t->labels = fix_array(a, 3);
	t->labels[t->n_labels++] = fix_label(a, "phase", phase);
	t->labels[t->n_labels++] = fix_label(a, "suite", phase);
	if (k3 != NULL)
		t->labels[t->n_labels++] = fix_label(a, k3, v3);
	t->result = FIX_NEW(a, Testbus__V1__ExecutionResult,
	                    testbus__v1__execution_result__descriptor);
	t->result->summary =
	    FIX_NEW(a, Testbus__V1__ResultSummary, testbus__v1__result_summary__descriptor);
	t->attempts = fix_array(a, 2);
	return t;
}

static void fix_target_attempt(tb_arena *a, Testbus__V1__TargetReport *t, const char *executor,
                               const char *reason)
{
	Testbus__V1__TargetAttempt *at =
	    FIX_NEW(a, Testbus__V1__TargetAttempt, testbus__v1__target_attempt__descriptor);
	at->attempt = (uint32_t)t->n_attempts + 1;
	at->executor = tb_arena_strdup(a, executor);
	at->reason = tb_arena_strdup(a, reason);
	t->attempts[t->n_attempts++] = at;
}

/* Sets the result's cases and counts them into its summary. */
static void fix_cases(tb_arena *a, Testbus__V1__ExecutionResult *res,
                      Testbus__V1__TestCase **cases, size_t n)
{
	Testbus__V1__ResultSummary *s = res->summary;
	res->test_cases = fix_array(a, n);
	for (size_t i = 0; i < n; i++) {
		res->test_cases[res->n_test_cases++] = cases[i];
		s->total++;
		s->passed += cases[i]->status == TESTBUS__V1__TEST_STATUS__TEST_PASSED;
		s->failed += cases[i]->status == TESTBUS__V1__TEST_STATUS__TEST_FAILED;
		s->errors += cases[i]->status == TESTBUS__V1__TEST_STATUS__TEST_ERROR;
		s->skipped += cases[i]->status == TESTBUS__V1__TEST_STATUS__TEST_SKIPPED;
		s->flaky += cases[i]->flaky;
	}
	res->success = s->failed == 0 && s->errors == 0;
}

static Testbus__V1__TargetReport *fix_smoke(tb_arena *a)
{
	Testbus__V1__TargetReport *t = fix_target(a, "smoke", "smoke", "shell", NULL, NULL);
	Testbus__V1__TestCase *cases[] = {
		fix_case(a, "smoke", "api server answers", TESTBUS__V1__TEST_STATUS__TEST_PASSED, 120.5,
		         NULL, NULL),
		fix_case(a, "smoke", "nodes are ready", TESTBUS__V1__TEST_STATUS__TEST_PASSED, 340,
		         NULL, NULL),
		fix_case(a, "smoke", "dns resolves", TESTBUS__V1__TEST_STATUS__TEST_PASSED, 80, NULL,
		         NULL),
		fix_case(a, "smoke", "ingress (needs a load balancer)",
		         TESTBUS__V1__TEST_STATUS__TEST_SKIPPED, 0, "no load balancer in kind", NULL),
	};
	fix_cases(a, t->result, cases, 4);
	fix_target_attempt(a, t, "shell", "completed");
	t->result->start_time = T_START + 5000;
	t->result->end_time = T_START + 9000;
	t->result->stdout_tail = tb_arena_strdup(a, "4 tests, 3 passed, 1 skipped\n");
	return t;
}

static Testbus__V1__Finding *fix_finding(tb_arena *a, const char *rule, const char *title,
                                         Testbus__V1__Severity sev, const char *evidence)
{
	Testbus__V1__Finding *f = FIX_NEW(a, Testbus__V1__Finding, testbus__v1__finding__descriptor);
	f->rule_id = tb_arena_strdup(a, rule);
	f->title = tb_arena_strdup(a, title);
	f->severity = sev;
	f->explanation = tb_arena_printf(a, "%s seen in the pod events of the failed tests.", title);
	f->suggested_fix = tb_arena_strdup(a, "Check the image name and the registry credentials.");
	f->count = 2;
	f->score = 0.875;
	f->evidence = fix_array(a, 1);
	f->evidence[f->n_evidence++] = tb_arena_strdup(a, evidence);
	f->test_cases = fix_array(a, 1);
	f->test_cases[f->n_test_cases++] = tb_arena_strdup(a, FIX_FAILED_TEST);
	return f;
}

static Testbus__V1__AnalysisResult *fix_analysis(tb_arena *a)
{
	Testbus__V1__AnalysisResult *an =
	    FIX_NEW(a, Testbus__V1__AnalysisResult, testbus__v1__analysis_result__descriptor);
	an->analyzer = tb_arena_strdup(a, "rules");
	an->summary = tb_arena_strdup(a, "2 known failure patterns matched");
	an->root_cause = tb_arena_strdup(a, "The workload image could not be pulled.");
	an->confidence = 0.9;
	an->findings = fix_array(a, 2);
	an->findings[an->n_findings++] =
	    fix_finding(a, "image-pull-backoff", FIX_FINDING_TITLE,
	                TESTBUS__V1__SEVERITY__SEVERITY_HIGH,
	                "Back-off pulling image \"registry.example/app:1.2\" (token=" FIX_GITHUB_SECRET
	                ")");
	an->findings[an->n_findings++] =
	    fix_finding(a, "oom-killed", "Container OOM-killed", TESTBUS__V1__SEVERITY__SEVERITY_MEDIUM,
	                "Last State: Terminated, Reason: OOMKilled");
	an->recommendations = fix_array(a, 1);
	an->recommendations[an->n_recommendations++] =
	    tb_arena_strdup(a, "Mirror the image into the cluster's registry.");
	return an;
}

/* The e2e shard that was retried on another executor, with every status. */
static Testbus__V1__TargetReport *fix_shard0(tb_arena *a)
{
	Testbus__V1__TargetReport *t = fix_target(a, "e2e-shard-0", "e2e", "ginkgo", "shard", "0");
	const char *cls = "e2e.Deployments";
	Testbus__V1__TestCase *flaky =
	    fix_case(a, cls, FIX_FLAKY_TEST, TESTBUS__V1__TEST_STATUS__TEST_PASSED, 5300, NULL, NULL);
	Testbus__V1__TestCase *failed = fix_case(
	    a, cls, FIX_FAILED_TEST, TESTBUS__V1__TEST_STATUS__TEST_FAILED, 61000.25,
	    FIX_FAILED_MESSAGE,
	    "deployment_test.go:88: " FIX_FAILED_MESSAGE "\n"
	    "\x1b[31mcurl -H 'Authorization: Bearer " FIX_BEARER_SECRET "' https://api\x1b[0m\n"
	    "client key " FIX_KUBECONFIG_SECRET " rejected\n"
	    "bad byte \xff here, tab\there, bell\x07 gone\r\n");
	Testbus__V1__TestCase *cases[] = {
		fix_case(a, cls, "creates a deployment", TESTBUS__V1__TEST_STATUS__TEST_PASSED, 2100,
		         NULL, NULL),
		failed,
		fix_case(a, cls, "survives an API server restart", TESTBUS__V1__TEST_STATUS__TEST_ERROR,
		         1500, "panic: runtime error: invalid memory address",
		         "goroutine 1 [running]:\nmain.main()\n\tpassword=" FIX_PASSWORD_SECRET "\n"),
		fix_case(a, "e2e.Ingress", "routes <host> & \"path\"",
		         TESTBUS__V1__TEST_STATUS__TEST_SKIPPED, 0, "[Feature:Ingress] not enabled",
		         NULL),
		flaky,
		fix_case(a, "e2e.Hostile", FIX_HOSTILE_NAME, TESTBUS__V1__TEST_STATUS__TEST_FAILED, 12,
		         "<b>not bold</b> & done", "<img src=x onerror=alert(1)>"),
		fix_case(a, cls, "deletes a deployment \xe2\x9c\x93 (\xc3\xa9t\xc3\xa9)",
		         TESTBUS__V1__TEST_STATUS__TEST_PASSED, 900, NULL, NULL),
	};
	fix_retry(a, flaky, TESTBUS__V1__TEST_STATUS__TEST_FAILED, "timed out waiting for the pod");
	fix_retry(a, failed, TESTBUS__V1__TEST_STATUS__TEST_FAILED, "expected 3 ready replicas, got 0");
	fix_cases(a, t->result, cases, sizeof(cases) / sizeof(cases[0]));
	fix_target_attempt(a, t, "ginkgo-a", "executor lost");
	fix_target_attempt(a, t, "ginkgo-b", "completed");
	t->result->start_time = T_START + 10000;
	t->result->end_time = T_START + 190000;
	t->result->exit_code = 1;
	t->result->stderr_tail = tb_arena_strdup(a, "Ran 7 of 9 specs\nFAIL!\n");
	t->analysis = fix_array(a, 1);
	t->analysis[t->n_analysis++] = fix_analysis(a);
	return t;
}

/* The shard whose suite died without writing a report. */
static Testbus__V1__TargetReport *fix_shard1(tb_arena *a)
{
	Testbus__V1__TargetReport *t = fix_target(a, "e2e-shard-1", "e2e", "ginkgo", "shard", "1");
	Testbus__V1__TestCase *lost = fix_case(a, "e2e-shard-1", "e2e-shard-1 exit status",
	                                       TESTBUS__V1__TEST_STATUS__TEST_ERROR, 0,
	                                       FIX_LOST_ERROR, "segmentation fault (core dumped)\n");
	lost->synthetic = 1;
	fix_cases(a, t->result, &lost, 1);
	fix_target_attempt(a, t, "ginkgo-b", "completed");
	t->result->start_time = T_START + 10000;
	t->result->end_time = T_START + 70000;
	t->result->exit_code = 2;
	t->result->error = tb_arena_strdup(a, FIX_LOST_ERROR);
	return t;
}

static Testbus__V1__ClusterInfo *fix_cluster(tb_arena *a)
{
	static const char kubeconfig[] =
	    "apiVersion: v1\nkind: Config\nusers:\n- name: admin\n  user:\n"
	    "    client-key-data: " FIX_KUBECONFIG_SECRET "\n";
	Testbus__V1__ClusterInfo *c =
	    FIX_NEW(a, Testbus__V1__ClusterInfo, testbus__v1__cluster_info__descriptor);
	c->id = tb_arena_strdup(a, "c-7f3a");
	c->name = tb_arena_strdup(a, FIX_CLUSTER_NAME);
	c->provider = tb_arena_strdup(a, "kind");
	c->region = tb_arena_strdup(a, "eu-west-1");
	c->version = tb_arena_strdup(a, "1.29.2");
	c->kubeconfig.data = tb_arena_memdup(a, kubeconfig, sizeof(kubeconfig) - 1);
	c->kubeconfig.len = sizeof(kubeconfig) - 1;
	c->properties = fix_array(a, 2);
	Testbus__V1__ClusterInfo__PropertiesEntry *e =
	    FIX_NEW(a, Testbus__V1__ClusterInfo__PropertiesEntry,
	            testbus__v1__cluster_info__properties_entry__descriptor);
	e->key = tb_arena_strdup(a, "nodes");
	e->value = FIX_NEW(a, Testbus__V1__Value, testbus__v1__value__descriptor);
	e->value->kind_case = TESTBUS__V1__VALUE__KIND_INT_VALUE;
	e->value->int_value = 3;
	c->properties[c->n_properties++] = e;
	return c;
}

/* A run with the given phases; its summary adds up the targets'. */
static Testbus__V1__ReportInput *fix_run(tb_arena *a, Testbus__V1__PhaseReport **phases,
                                         size_t n)
{
	Testbus__V1__ReportInput *in =
	    FIX_NEW(a, Testbus__V1__ReportInput, testbus__v1__report_input__descriptor);
	in->run_id = tb_arena_strdup(a, FIX_RUN_ID);
	in->cluster = fix_cluster(a);
	in->summary = FIX_NEW(a, Testbus__V1__ResultSummary, testbus__v1__result_summary__descriptor);
	in->phases = fix_array(a, n);
	in->success = 1;
	for (size_t p = 0; p < n; p++) {
		in->phases[in->n_phases++] = phases[p];
		for (size_t t = 0; t < phases[p]->n_targets; t++) {
			Testbus__V1__ExecutionResult *res = phases[p]->targets[t]->result;
			Testbus__V1__ResultSummary *s = in->summary;
			s->total += res->summary->total;
			s->passed += res->summary->passed;
			s->failed += res->summary->failed;
			s->errors += res->summary->errors;
			s->skipped += res->summary->skipped;
			s->flaky += res->summary->flaky;
			in->success = in->success && res->success;
		}
	}
	in->started_at = T_START;
	in->finished_at = T_START + 212345;
	in->artifacts_dir = tb_arena_strdup(a, "/tmp/testbus-artifacts/" FIX_RUN_ID);
	return in;
}

static Testbus__V1__PhaseReport *fix_phase(tb_arena *a, const char *name, size_t n)
{
	Testbus__V1__PhaseReport *ph =
	    FIX_NEW(a, Testbus__V1__PhaseReport, testbus__v1__phase_report__descriptor);
	ph->name = tb_arena_strdup(a, name);
	ph->targets = fix_array(a, n);
	return ph;
}

Testbus__V1__ReportInput *fixture_results(tb_arena *a)
{
	Testbus__V1__PhaseReport *smoke = fix_phase(a, "smoke", 1);
	Testbus__V1__PhaseReport *e2e = fix_phase(a, "e2e", 2);
	smoke->targets[smoke->n_targets++] = fix_smoke(a);
	e2e->targets[e2e->n_targets++] = fix_shard0(a);
	e2e->targets[e2e->n_targets++] = fix_shard1(a);
	Testbus__V1__PhaseReport *phases[] = { smoke, e2e };
	Testbus__V1__ReportInput *in = fix_run(a, phases, 2);
	in->errors = fix_array(a, 1);
	in->errors[in->n_errors++] =
	    tb_arena_strdup(a, "destroy: cluster c-7f3a needed 2 attempts (password=" FIX_PASSWORD_SECRET ")");
	return in;
}

Testbus__V1__ReportInput *fixture_results_passing(tb_arena *a)
{
	Testbus__V1__PhaseReport *smoke = fix_phase(a, "smoke", 1);
	smoke->targets[smoke->n_targets++] = fix_smoke(a);
	return fix_run(a, &smoke, 1);
}

bool fixture_has_secret(const char *text, size_t len, const char **which)
{
	static const char *const secrets[] = { FIX_KUBECONFIG_SECRET, FIX_BEARER_SECRET,
		                               FIX_PASSWORD_SECRET, FIX_GITHUB_SECRET };
	for (size_t i = 0; i < sizeof(secrets) / sizeof(secrets[0]); i++) {
		if (memmem(text, len, secrets[i], strlen(secrets[i])) != NULL) {
			if (which != NULL)
				*which = secrets[i];
			return true;
		}
	}
	return false;
}

char *fixture_slurp(const char *path, size_t *lenp)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	size_t len = 0, cap = 0;
	if (f == NULL)
		return NULL;
	for (;;) {
		if (len + 4096 + 1 > cap) {
			cap = (len + 4096 + 1) * 2;
			char *grown = realloc(buf, cap);
			if (grown == NULL) {
				free(buf);
				fclose(f);
				return NULL;
			}
			buf = grown;
		}
		size_t n = fread(buf + len, 1, 4096, f);
		len += n;
		if (n < 4096)
			break;
	}
	fclose(f);
	buf[len] = '\0';
	if (lenp != NULL)
		*lenp = len;
	return buf;
}
