/* The merged JUnit XML writer: one testsuite per target, Surefire-style reruns, via libxml2's xmlTextWriter. */
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/xmlwriter.h>

#include "junit_write.h"
#include "results_json.h"

#define JUNIT_DEFAULT_MAX_OUTPUT (64u * 1024)

/* A writer whose first failure sticks in rv; later calls do nothing. */
typedef struct jx {
	xmlTextWriterPtr w;
	tb_arena *a;
	size_t max_output;
	int rv;
} jx;

/* Counts of the <testcase> elements of one suite or of the document. */
typedef struct jx_counts {
	unsigned tests, failures, errors, skipped;
	double seconds;
} jx_counts;

static void jx_check(jx *x, int libxml_rv)
{
	if (libxml_rv < 0 && x->rv == TB_OK)
		x->rv = TB_INTERNAL;
}

static void jx_start(jx *x, const char *name)
{
	if (x->rv == TB_OK)
		jx_check(x, xmlTextWriterStartElement(x->w, BAD_CAST name));
}

static void jx_end(jx *x)
{
	if (x->rv == TB_OK)
		jx_check(x, xmlTextWriterEndElement(x->w));
}

static void jx_attr(jx *x, const char *name, const char *value)
{
	if (x->rv == TB_OK)
		jx_check(x, xmlTextWriterWriteAttribute(x->w, BAD_CAST name,
		                                        BAD_CAST(value != NULL ? value : "")));
}

static void jx_attrf(jx *x, const char *name, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void jx_attrf(jx *x, const char *name, const char *fmt, ...)
{
	char buf[64];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	jx_attr(x, name, buf);
}

/* Text content, cut to max_output bytes on a character boundary. */
static void jx_text(jx *x, const char *text)
{
	size_t len = text != NULL ? strlen(text) : 0;
	if (x->rv != TB_OK || len == 0)
		return;
	if (len > x->max_output) {
		len = x->max_output;
		while (len > 0 && ((unsigned char)text[len] & 0xc0) == 0x80)
			len--;
	}
	jx_check(x, xmlTextWriterWriteFormatString(x->w, "%.*s", (int)len, text));
}

/* An element holding only text; nothing when the text is empty. */
static void jx_text_element(jx *x, const char *name, const char *text)
{
	if (text == NULL || text[0] == '\0')
		return;
	jx_start(x, name);
	jx_text(x, text);
	jx_end(x);
}

static void jx_property(jx *x, const char *name, const char *value)
{
	jx_start(x, "property");
	jx_attr(x, "name", name);
	jx_attr(x, "value", value);
	jx_end(x);
}

/* The element name of a status: "failure", "error", "skipped" or NULL (passed). */
static const char *jx_status_element(Testbus__V1__TestStatus s)
{
	switch (s) {
	case TESTBUS__V1__TEST_STATUS__TEST_FAILED:
		return "failure";
	case TESTBUS__V1__TEST_STATUS__TEST_ERROR:
		return "error";
	case TESTBUS__V1__TEST_STATUS__TEST_SKIPPED:
		return "skipped";
	default:
		return NULL;
	}
}

/* The earlier failed runs of tc in Surefire's form. */
static void jx_reruns(jx *x, const Testbus__V1__TestCase *tc)
{
	bool passed = tc->status == TESTBUS__V1__TEST_STATUS__TEST_PASSED;
	for (size_t i = 0; i < tc->n_attempts; i++) {
		const Testbus__V1__TestAttempt *at = tc->attempts[i];
		bool err = at->status == TESTBUS__V1__TEST_STATUS__TEST_ERROR;
		if (!err && at->status != TESTBUS__V1__TEST_STATUS__TEST_FAILED)
			continue;
		jx_start(x, passed ? (err ? "flakyError" : "flakyFailure")
		                   : (err ? "rerunError" : "rerunFailure"));
		jx_attr(x, "message", at->message);
		jx_attr(x, "type", err ? "error" : "failure");
		jx_attrf(x, "time", "%.3f", at->duration_ms / 1000.0);
		jx_text_element(x, "stackTrace", at->message);
		jx_end(x);
	}
}

static void jx_test_case(jx *x, const Testbus__V1__TestCase *tc, const char *suite,
                         jx_counts *c)
{
	const char *el = jx_status_element(tc->status);
	const char *classname = tc->classname[0] != '\0' ? tc->classname
	                        : tc->suite[0] != '\0'   ? tc->suite
	                                                 : suite;
	jx_start(x, "testcase");
	jx_attr(x, "name", tc->name);
	jx_attr(x, "classname", classname);
	jx_attrf(x, "time", "%.3f", tc->duration_ms / 1000.0);
	if (el != NULL) {
		jx_start(x, el);
		jx_attr(x, "message", tc->message);
		if (tc->status != TESTBUS__V1__TEST_STATUS__TEST_SKIPPED) {
			jx_attr(x, "type", tc->synthetic ? "testbus.exit-status" : el);
			jx_text(x, tc->output[0] != '\0' ? tc->output : tc->message);
		}
		jx_end(x);
	}
	jx_reruns(x, tc);
	jx_end(x);
	c->tests++;
	c->failures += tc->status == TESTBUS__V1__TEST_STATUS__TEST_FAILED;
	c->errors += tc->status == TESTBUS__V1__TEST_STATUS__TEST_ERROR;
	c->skipped += tc->status == TESTBUS__V1__TEST_STATUS__TEST_SKIPPED;
	c->seconds += tc->duration_ms / 1000.0;
}

/* The one test case of a target that failed without any. */
static void jx_run_error(jx *x, const Testbus__V1__ExecutionResult *res, const char *suite,
                         jx_counts *c)
{
	const char *why = res != NULL && res->error[0] != '\0' ? res->error
	                  : res != NULL && res->timed_out       ? "the target timed out"
	                  : res != NULL && res->cancelled       ? "the target was cancelled"
	                  : res != NULL ? "the target failed without reporting any test"
	                                : "the target did not run";
	jx_start(x, "testcase");
	jx_attr(x, "name", "(target run)");
	jx_attr(x, "classname", suite);
	jx_attr(x, "time", "0.000");
	jx_start(x, "error");
	jx_attr(x, "message", why);
	jx_attr(x, "type", "testbus.run");
	jx_text(x, res != NULL ? res->stderr_tail : NULL);
	jx_end(x);
	jx_end(x);
	c->tests++;
	c->errors++;
}

/* The counts of a suite, computed before it is written (attributes come first). */
static jx_counts jx_suite_counts(const Testbus__V1__ExecutionResult *res)
{
	jx_counts c = { 0 };
	for (size_t i = 0; res != NULL && i < res->n_test_cases; i++) {
		const Testbus__V1__TestCase *tc = res->test_cases[i];
		c.tests++;
		c.failures += tc->status == TESTBUS__V1__TEST_STATUS__TEST_FAILED;
		c.errors += tc->status == TESTBUS__V1__TEST_STATUS__TEST_ERROR;
		c.skipped += tc->status == TESTBUS__V1__TEST_STATUS__TEST_SKIPPED;
		c.seconds += tc->duration_ms / 1000.0;
	}
	if (c.tests == 0 && (res == NULL || !res->success)) {
		c.tests = 1;
		c.errors = 1;
	}
	return c;
}

static void jx_count_attrs(jx *x, const jx_counts *c)
{
	jx_attrf(x, "tests", "%u", c->tests);
	jx_attrf(x, "failures", "%u", c->failures);
	jx_attrf(x, "errors", "%u", c->errors);
	jx_attrf(x, "skipped", "%u", c->skipped);
	jx_attrf(x, "time", "%.3f", c->seconds);
}

/* RFC 3339 without fraction or zone, the form the JUnit schema allows. */
static void jx_timestamp(jx *x, int64_t ms)
{
	char buf[40];
	tb_results_format_time(ms, buf, sizeof(buf));
	if (buf[0] == '\0')
		return;
	buf[19] = '\0';
	jx_attr(x, "timestamp", buf);
}

static void jx_cluster_properties(jx *x, const Testbus__V1__ClusterInfo *cl)
{
	static const struct {
		const char *name;
		size_t offset;
	} fields[] = {
		{ "cluster.id", offsetof(Testbus__V1__ClusterInfo, id) },
		{ "cluster.name", offsetof(Testbus__V1__ClusterInfo, name) },
		{ "cluster.provider", offsetof(Testbus__V1__ClusterInfo, provider) },
		{ "cluster.region", offsetof(Testbus__V1__ClusterInfo, region) },
		{ "cluster.version", offsetof(Testbus__V1__ClusterInfo, version) },
	};
	for (size_t i = 0; cl != NULL && i < sizeof(fields) / sizeof(fields[0]); i++) {
		const char *v = *(char *const *)((const char *)cl + fields[i].offset);
		if (v != NULL && v[0] != '\0')
			jx_property(x, fields[i].name, v);
	}
}

static void jx_properties(jx *x, const Testbus__V1__ReportInput *in, const char *phase,
                          const Testbus__V1__TargetReport *t)
{
	const Testbus__V1__ExecutionResult *res = t->result;
	jx_start(x, "properties");
	jx_property(x, "testbus.run_id", in->run_id);
	jx_property(x, "testbus.phase", phase);
	jx_property(x, "testbus.target_id", t->target_id);
	jx_property(x, "testbus.executor", t->executor);
	for (size_t i = 0; i < t->n_labels; i++)
		jx_property(x, tb_arena_printf(x->a, "label.%s", t->labels[i]->key),
		            t->labels[i]->value);
	jx_cluster_properties(x, in->cluster);
	for (size_t i = 0; i < t->n_attempts; i++)
		jx_property(x, tb_arena_printf(x->a, "testbus.attempt.%u", t->attempts[i]->attempt),
		            tb_arena_printf(x->a, "%s: %s", t->attempts[i]->executor,
		                            t->attempts[i]->reason));
	if (res != NULL) {
		jx_property(x, "testbus.exit_code", tb_arena_printf(x->a, "%d", res->exit_code));
		if (res->error[0] != '\0')
			jx_property(x, "testbus.error", res->error);
		if (res->timed_out)
			jx_property(x, "testbus.timed_out", "true");
	}
	jx_end(x);
}

static void jx_suite(jx *x, const Testbus__V1__ReportInput *in, const char *phase,
                     const Testbus__V1__TargetReport *t, unsigned id, jx_counts *total)
{
	const Testbus__V1__ExecutionResult *res = t->result;
	char *name = tb_arena_printf(x->a, "%s/%s", phase, t->target_id);
	jx_counts c = jx_suite_counts(res);
	jx_counts seen = { 0 };
	jx_start(x, "testsuite");
	jx_attr(x, "name", name);
	jx_count_attrs(x, &c);
	jx_attrf(x, "id", "%u", id);
	jx_attr(x, "package", phase);
	if (t->executor[0] != '\0')
		jx_attr(x, "hostname", t->executor);
	if (res != NULL)
		jx_timestamp(x, res->start_time);
	jx_properties(x, in, phase, t);
	for (size_t i = 0; res != NULL && i < res->n_test_cases; i++)
		jx_test_case(x, res->test_cases[i], name, &seen);
	if (seen.tests == 0 && c.tests == 1)
		jx_run_error(x, res, name, &seen);
	if (res != NULL) {
		jx_text_element(x, "system-out", res->stdout_tail);
		jx_text_element(x, "system-err", res->stderr_tail);
	}
	jx_end(x);
	total->tests += c.tests;
	total->failures += c.failures;
	total->errors += c.errors;
	total->skipped += c.skipped;
	total->seconds += c.seconds;
}

/* The counts of the whole document, needed before the root's attributes. */
static jx_counts jx_run_counts(const Testbus__V1__ReportInput *in)
{
	jx_counts all = { 0 };
	for (size_t p = 0; p < in->n_phases; p++) {
		for (size_t t = 0; t < in->phases[p]->n_targets; t++) {
			jx_counts c = jx_suite_counts(in->phases[p]->targets[t]->result);
			all.tests += c.tests;
			all.failures += c.failures;
			all.errors += c.errors;
			all.skipped += c.skipped;
			all.seconds += c.seconds;
		}
	}
	return all;
}

static void jx_document(jx *x, const Testbus__V1__ReportInput *in)
{
	jx_counts all = jx_run_counts(in);
	jx_counts seen = { 0 };
	unsigned id = 0;
	jx_check(x, xmlTextWriterSetIndent(x->w, 1));
	jx_check(x, xmlTextWriterSetIndentString(x->w, BAD_CAST "  "));
	jx_check(x, xmlTextWriterStartDocument(x->w, NULL, "UTF-8", NULL));
	jx_start(x, "testsuites");
	jx_attr(x, "name", tb_arena_printf(x->a, "testbus %s", in->run_id));
	jx_count_attrs(x, &all);
	jx_timestamp(x, in->started_at);
	for (size_t p = 0; p < in->n_phases; p++)
		for (size_t t = 0; t < in->phases[p]->n_targets; t++)
			jx_suite(x, in, in->phases[p]->name, in->phases[p]->targets[t], id++, &seen);
	jx_end(x);
	if (x->rv == TB_OK)
		jx_check(x, xmlTextWriterEndDocument(x->w));
}

int tb_junit_write_memory(const Testbus__V1__ReportInput *in, const tb_redactor *r,
                          const tb_junit_write_opts *opts, char **xmlp, size_t *lenp,
                          tb_status *st)
{
	jx x = { .max_output = opts != NULL && opts->max_output ? opts->max_output
	                                                        : JUNIT_DEFAULT_MAX_OUTPUT };
	Testbus__V1__ReportInput *clean = NULL;
	xmlBufferPtr buf = xmlBufferCreate();
	char *out = NULL;
	int rv = buf == NULL ? TB_RESOURCE_EXHAUSTED : tb_arena_alloc(&x.a);
	if (rv != TB_OK) {
		tb_status_set(st, rv, "junit: out of memory");
		goto out;
	}
	if ((rv = tb_results_prepare(in, r, x.a, &clean, st)) != TB_OK)
		goto out;
	if ((x.w = xmlNewTextWriterMemory(buf, 0)) == NULL) {
		rv = tb_status_set(st, TB_RESOURCE_EXHAUSTED, "junit: out of memory");
		goto out;
	}
	jx_document(&x, clean);
	xmlFreeTextWriter(x.w); /* flushes into buf */
	x.w = NULL;
	if ((rv = x.rv) != TB_OK) {
		tb_status_set(st, rv, "junit: the XML writer failed");
		goto out;
	}
	if ((out = malloc((size_t)xmlBufferLength(buf) + 1)) == NULL) {
		rv = tb_status_set(st, TB_RESOURCE_EXHAUSTED, "junit: out of memory");
		goto out;
	}
	memcpy(out, xmlBufferContent(buf), (size_t)xmlBufferLength(buf));
	out[xmlBufferLength(buf)] = '\0';
	if (lenp != NULL)
		*lenp = (size_t)xmlBufferLength(buf);
out:
	if (x.w != NULL)
		xmlFreeTextWriter(x.w);
	if (buf != NULL)
		xmlBufferFree(buf);
	tb_arena_free(x.a);
	*xmlp = rv == TB_OK ? out : NULL;
	return rv;
}

int tb_junit_write_file(const Testbus__V1__ReportInput *in, const tb_redactor *r,
                        const tb_junit_write_opts *opts, const char *path, tb_status *st)
{
	char *xml = NULL;
	size_t len = 0;
	int rv = tb_junit_write_memory(in, r, opts, &xml, &len, st);
	if (rv == TB_OK)
		rv = tb_results_write_text(path, xml, len, st);
	free(xml);
	return rv;
}
