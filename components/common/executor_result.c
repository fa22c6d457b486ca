/* Building an ExecutionResult from a call's outcome: cases, summary, verdict, artifacts, size. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "executor.h"
#include "executor_internal.h"
#include "file_sha256.h"

#define RESULT_EXCERPT 2048u  /* per stream, in a synthetic case's output */
#define RESULT_SLACK 1024u    /* room kept under the budget for the trim note */

typedef Testbus__V1__ExecutionResult__MetadataEntry result_meta;

/* The result under construction. */
typedef struct result_build {
	tb_arena *a;
	Testbus__V1__ExecutionResult *res;
	Testbus__V1__TestCase **cases;
	size_t n_cases;
	int rv; /* TB_RESOURCE_EXHAUSTED once anything failed to allocate */
} result_build;

static char *result_str(result_build *b, const char *s)
{
	char *c = tb_arena_strdup(b->a, s != NULL ? s : "");

	if (c == NULL)
		b->rv = TB_RESOURCE_EXHAUSTED;
	return c;
}

/* Appends ptr to an arena array of pointers (arrays are small; copied on growth). */
static void result_push(result_build *b, void ***arr, size_t *n, void *ptr)
{
	void **grown = tb_arena_zalloc(b->a, (*n + 1) * sizeof(void *));

	if (grown == NULL || ptr == NULL) {
		b->rv = TB_RESOURCE_EXHAUSTED;
		return;
	}
	if (*n > 0)
		memcpy(grown, *arr, *n * sizeof(void *));
	grown[(*n)++] = ptr;
	*arr = grown;
}

static Testbus__V1__Value *result_value(result_build *b)
{
	Testbus__V1__Value *v = tb_arena_zalloc(b->a, sizeof(*v));

	if (v != NULL)
		testbus__v1__value__init(v);
	return v;
}

static void result_meta_add(result_build *b, const char *key, Testbus__V1__Value *v)
{
	result_meta *e = tb_arena_zalloc(b->a, sizeof(*e));

	if (e == NULL || v == NULL) {
		b->rv = TB_RESOURCE_EXHAUSTED;
		return;
	}
	testbus__v1__execution_result__metadata_entry__init(e);
	e->key = (char *)key;
	e->value = v;
	result_push(b, (void ***)&b->res->metadata, &b->res->n_metadata, e);
}

static void result_meta_str(result_build *b, const char *key, const char *s)
{
	Testbus__V1__Value *v = result_value(b);

	if (v != NULL) {
		v->kind_case = TESTBUS__V1__VALUE__KIND_STRING_VALUE;
		v->string_value = result_str(b, s);
	}
	result_meta_add(b, key, v);
}

static void result_meta_int(result_build *b, const char *key, int64_t n)
{
	Testbus__V1__Value *v = result_value(b);

	if (v != NULL) {
		v->kind_case = TESTBUS__V1__VALUE__KIND_INT_VALUE;
		v->int_value = n;
	}
	result_meta_add(b, key, v);
}

static void result_meta_bool(result_build *b, const char *key, bool flag)
{
	Testbus__V1__Value *v = result_value(b);

	if (v != NULL) {
		v->kind_case = TESTBUS__V1__VALUE__KIND_BOOL_VALUE;
		v->bool_value = flag;
	}
	result_meta_add(b, key, v);
}

static int64_t result_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* --- test cases --- */

/* A test case made by testbus itself, not read from a report. */
static void result_synthetic(result_build *b, const char *name, const char *classname,
                             Testbus__V1__TestStatus status, const char *message,
                             const char *output)
{
	Testbus__V1__TestCase *tc = tb_arena_zalloc(b->a, sizeof(*tc));

	if (tc == NULL) {
		b->rv = TB_RESOURCE_EXHAUSTED;
		return;
	}
	testbus__v1__test_case__init(tc);
	tc->name = result_str(b, name);
	tc->classname = result_str(b, classname);
	tc->suite = result_str(b, classname);
	tc->status = status;
	tc->message = result_str(b, message);
	tc->output = result_str(b, output);
	tc->attempt = 1;
	tc->synthetic = true;
	result_push(b, (void ***)&b->cases, &b->n_cases, tc);
}

/* The last bytes of both output tails, for a synthetic case. */
static char *result_excerpt(result_build *b, const tb_process_result *p)
{
	const char *out = p->stdout_tail ? p->stdout_tail : "", *err = p->stderr_tail ? p->stderr_tail : "";
	size_t lo = strlen(out), le = strlen(err);

	out += lo > RESULT_EXCERPT ? lo - RESULT_EXCERPT : 0;
	err += le > RESULT_EXCERPT ? le - RESULT_EXCERPT : 0;
	while (((unsigned char)*out & 0xC0) == 0x80)
		out++;
	while (((unsigned char)*err & 0xC0) == 0x80)
		err++;
	return tb_arena_printf(b->a, "%s%s%s%s", *out ? "[stdout]\n" : "", out,
	                       *err ? "\n[stderr]\n" : "", err);
}

/* How the command ended, in words. */
static char *result_ending(result_build *b, const tbc_exec_outcome *oc)
{
	const tb_process_result *p = &oc->proc;

	if (!oc->started)
		return tb_arena_printf(b->a, "could not start: %s", oc->start_error);
	if (oc->cancelled)
		return tb_arena_strdup(b->a, "cancelled");
	if (p->timed_out)
		return tb_arena_printf(b->a, "timed out after %u ms", oc->timeout_ms);
	if (p->stopped)
		return tb_arena_strdup(b->a, "stopped: the call ran out of time");
	if (p->term_signal != 0)
		return tb_arena_printf(b->a, "killed by signal %d (%s)", p->term_signal,
		                       strsignal(p->term_signal));
	return tb_arena_printf(b->a, "exit status %d", p->exit_code);
}

static bool result_clean_exit(const tbc_exec_outcome *oc)
{
	const tb_process_result *p = &oc->proc;

	return oc->started && p->exit_code == 0 && !p->timed_out && !p->stopped && !p->survivors;
}

/* The test cases: from the reports, or one made from the exit status. */
static void result_cases(result_build *b, const Testbus__V1__ExecutionTarget *t,
                         tbc_exec_outcome *oc, const char *ending)
{
	const char *name = t->target_id[0] ? t->target_id : oc->plan->argv.v[0];
	bool clean = result_clean_exit(oc);

	if (oc->plan->junit.n == 0) {
		result_synthetic(b, name, oc->executor,
		                 clean ? TESTBUS__V1__TEST_STATUS__TEST_PASSED
		                 : oc->started && !oc->proc.timed_out && !oc->cancelled
		                     ? TESTBUS__V1__TEST_STATUS__TEST_FAILED
		                     : TESTBUS__V1__TEST_STATUS__TEST_ERROR,
		                 clean ? "" : ending, clean ? "" : result_excerpt(b, &oc->proc));
		return;
	}
	if (oc->junit != NULL) {
		size_t n = 0;
		Testbus__V1__TestCase **cases = tb_junit_cases(oc->junit, &n);
		for (size_t i = 0; i < n; i++)
			result_push(b, (void ***)&b->cases, &b->n_cases, cases[i]);
	}
	for (size_t i = 0; i < oc->junit_errors.n; i++)
		result_synthetic(b, "JUnit report", oc->executor, TESTBUS__V1__TEST_STATUS__TEST_ERROR,
		                 oc->junit_errors.v[i], "");
	if (oc->junit_files.n == 0 && oc->junit_errors.n == 0) {
		char *msg = tb_arena_printf(b->a, "no JUnit report matched %s%s%s", oc->plan->junit.v[0],
		                            clean ? "" : "; the suite ", clean ? "" : ending);
		result_synthetic(b, "JUnit report", oc->executor, TESTBUS__V1__TEST_STATUS__TEST_ERROR,
		                 msg, result_excerpt(b, &oc->proc));
	}
}

static void result_summary(result_build *b)
{
	Testbus__V1__ResultSummary *s = tb_arena_zalloc(b->a, sizeof(*s));

	if (s == NULL) {
		b->rv = TB_RESOURCE_EXHAUSTED;
		return;
	}
	testbus__v1__result_summary__init(s);
	for (size_t i = 0; i < b->n_cases; i++) {
		const Testbus__V1__TestCase *tc = b->cases[i];
		s->total++;
		s->flaky += tc->flaky;
		s->passed += tc->status == TESTBUS__V1__TEST_STATUS__TEST_PASSED;
		s->failed += tc->status == TESTBUS__V1__TEST_STATUS__TEST_FAILED;
		s->errors += tc->status == TESTBUS__V1__TEST_STATUS__TEST_ERROR;
		s->skipped += tc->status == TESTBUS__V1__TEST_STATUS__TEST_SKIPPED;
	}
	b->res->summary = s;
}

/*
 * True when the command ended on its own and failed tests explain a non-zero
 * exit: tests from its reports, or the one made from its exit status.
 */
static bool result_exit_explained(const tbc_exec_outcome *oc, const Testbus__V1__ResultSummary *s)
{
	const tb_process_result *p = &oc->proc;
	Testbus__V1__ResultSummary reported = TESTBUS__V1__RESULT_SUMMARY__INIT;

	if (!oc->started || p->timed_out || p->stopped || p->survivors || p->term_signal != 0)
		return false;
	if (oc->plan->junit.n == 0)
		return s->failed + s->errors > 0;
	tb_junit_summary(oc->junit, &reported);
	return reported.failed + reported.errors > 0;
}

/* The verdict and, when the run itself failed (beyond failed tests), why. */
static void result_verdict(result_build *b, tbc_exec_outcome *oc, const char *ending)
{
	Testbus__V1__ExecutionResult *r = b->res;
	const Testbus__V1__ResultSummary *s = r->summary;
	const char *why = NULL;

	if (!result_clean_exit(oc) && !result_exit_explained(oc, s))
		why = oc->proc.survivors ? "processes of the suite survived SIGKILL" : ending;
	else if (oc->junit_errors.n > 0)
		why = oc->junit_errors.v[0];
	else if (oc->plan->junit.n > 0 && oc->junit_files.n == 0)
		why = "no JUnit report was written";
	if (why != NULL && oc->started && oc->proc.exit_code > 0 && s->failed == 0 && s->errors == 0)
		why = tb_arena_printf(b->a, "%s although no test failed", why);
	r->error = result_str(b, why);
	r->success = why == NULL && result_clean_exit(oc) && s->failed == 0 && s->errors == 0;
}

/* --- artifacts and metadata --- */

static void result_artifact(result_build *b, const char *name, const char *path, const char *type)
{
	Testbus__V1__Artifact *art = tb_arena_zalloc(b->a, sizeof(*art));
	char sha256[TB_SHA256_HEX_SIZE];
	struct stat sb;

	if (art == NULL) {
		b->rv = TB_RESOURCE_EXHAUSTED;
		return;
	}
	testbus__v1__artifact__init(art);
	art->name = result_str(b, name);
	art->uri = result_str(b, path);
	art->media_type = (char *)type;
	/* Size and digest of the same bytes; a file that cannot be read keeps its size only. */
	if (tb_file_sha256(path, sha256, &art->size, NULL) != TB_OK && stat(path, &sb) == 0)
		art->size = (uint64_t)sb.st_size;
	art->sha256 = result_str(b, sha256);
	result_push(b, (void ***)&b->res->artifacts, &b->res->n_artifacts, art);
}

static void result_artifacts(result_build *b, const tbc_exec_outcome *oc)
{
	if (oc->started) {
		result_artifact(b, "stdout.log", oc->stdout_path, "text/plain");
		result_artifact(b, "stderr.log", oc->stderr_path, "text/plain");
	}
	for (size_t i = 0; i < oc->junit_files.n; i++) {
		const char *base = strrchr(oc->junit_files.v[i], '/');
		result_artifact(b, base ? base + 1 : oc->junit_files.v[i], oc->junit_files.v[i],
		                "application/xml");
	}
}

static char *result_command(result_build *b, const tb_exec_strv *argv)
{
	char *cmd = tb_arena_strdup(b->a, "");

	for (size_t i = 0; cmd != NULL && i < argv->n; i++)
		cmd = tb_arena_printf(b->a, "%s%s%s", cmd, i ? " " : "", argv->v[i]);
	return cmd;
}

static void result_metadata(result_build *b, const tbc_exec_outcome *oc)
{
	const tb_process_result *p = &oc->proc;

	result_meta_str(b, "executor", oc->executor);
	result_meta_str(b, "command", result_command(b, &oc->plan->argv));
	result_meta_str(b, "artifacts_dir", oc->call_dir);
	result_meta_int(b, "junit_files", (int64_t)oc->junit_files.n);
	if (!oc->started)
		return;
	result_meta_int(b, "exit_signal", p->term_signal);
	result_meta_int(b, "stdout_bytes", (int64_t)p->stdout_bytes);
	result_meta_int(b, "stderr_bytes", (int64_t)p->stderr_bytes);
	result_meta_bool(b, "log_truncated", p->stdout_truncated || p->stderr_truncated);
	result_meta_bool(b, "killed", p->killed);
	if (oc->log_events_dropped > 0)
		result_meta_int(b, "log_events_dropped", oc->log_events_dropped);
}

static void result_labels(result_build *b, const Testbus__V1__ExecutionTarget *t)
{
	for (size_t i = 0; i < t->n_labels; i++) {
		Testbus__V1__ExecutionResult__LabelsEntry *e = tb_arena_zalloc(b->a, sizeof(*e));
		if (e == NULL) {
			b->rv = TB_RESOURCE_EXHAUSTED;
			return;
		}
		testbus__v1__execution_result__labels_entry__init(e);
		e->key = t->labels[i]->key;
		e->value = t->labels[i]->value;
		result_push(b, (void ***)&b->res->labels, &b->res->n_labels, e);
	}
}

/* --- fitting the size budget --- */

static void result_cut(char **s, size_t max)
{
	size_t len = strlen(*s);

	if (len > max) {
		while (max > 0 && ((unsigned char)(*s)[max] & 0xC0) == 0x80)
			max--;
		(*s)[max] = '\0';
	}
}

/* Applies trim step `step` to r. */
static void result_trim_step(Testbus__V1__ExecutionResult *r, int step)
{
	size_t kept = 0;

	for (size_t i = 0; i < r->n_test_cases; i++) {
		Testbus__V1__TestCase *tc = r->test_cases[i];
		bool bad = tc->status == TESTBUS__V1__TEST_STATUS__TEST_FAILED ||
		           tc->status == TESTBUS__V1__TEST_STATUS__TEST_ERROR;
		if (step == 0)
			tc->output[0] = '\0';
		else if (step == 1)
			result_cut(&tc->message, 256);
		else if (step == 2)
			tc->n_attempts = 0;
		if ((step == 3 && !bad) || step == 5)
			continue;
		r->test_cases[kept++] = tc;
	}
	r->n_test_cases = kept;
	if (step == 4) {
		result_cut(&r->stdout_tail, 1024);
		result_cut(&r->stderr_tail, 1024);
	}
}

static void result_fit(result_build *b, uint64_t budget)
{
	static const char *const steps[] = {
		"test outputs dropped", "test messages cut", "earlier attempts dropped",
		"passed and skipped tests dropped", "output tails cut", "all test cases dropped",
	};
	Testbus__V1__ExecutionResult *r = b->res;
	size_t before = r->n_test_cases;
	int step = -1;

	budget = budget > RESULT_SLACK * 2 ? budget - RESULT_SLACK : RESULT_SLACK;
	while (protobuf_c_message_get_packed_size(&r->base) > budget && step + 1 < 6)
		result_trim_step(r, ++step);
	if (step < 0)
		return;
	result_meta_str(b, "result_trimmed", steps[step]);
	result_meta_int(b, "test_cases_dropped", (int64_t)(before - r->n_test_cases));
}

int tbc_exec_result(const tb_exec_config *cfg, const Testbus__V1__ExecutionTarget *target,
                    tbc_exec_outcome *oc, tb_arena *arena, Testbus__V1__ExecutionResult **resultp)
{
	result_build b = {.a = arena};
	const tb_process_result *p = &oc->proc;
	char *ending;

	if ((b.res = tb_arena_zalloc(arena, sizeof(*b.res))) == NULL ||
	    (ending = result_ending(&b, oc)) == NULL) {
		b.rv = TB_RESOURCE_EXHAUSTED;
		goto out;
	}
	testbus__v1__execution_result__init(b.res);
	b.res->start_time = oc->started ? p->start_ms : result_now_ms();
	b.res->end_time = oc->started ? p->end_ms : b.res->start_time;
	b.res->exit_code = oc->started ? p->exit_code : -1;
	b.res->timed_out = p->timed_out;
	b.res->cancelled = oc->cancelled;
	b.res->stdout_tail = result_str(&b, p->stdout_tail);
	b.res->stderr_tail = result_str(&b, p->stderr_tail);
	result_cases(&b, target, oc, ending);
	b.res->test_cases = b.cases;
	b.res->n_test_cases = b.n_cases;
	result_summary(&b);
	if (b.rv != TB_OK)
		goto out;
	result_verdict(&b, oc, ending);
	result_artifacts(&b, oc);
	result_metadata(&b, oc);
	result_labels(&b, target);
	if (b.rv == TB_OK)
		result_fit(&b, cfg->max_result_bytes);
out:
	*resultp = b.rv == TB_OK ? b.res : NULL;
	return b.rv;
}
