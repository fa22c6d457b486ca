/* Writing a run's ReportInput as a results.json document (schema in docs/results.md). */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "results_json.h"

/* A builder: the first allocation failure sticks in rv and later adds are no-ops. */
typedef struct jw {
	int rv;
} jw;

/* Adds v under key to o, taking v; a NULL v (failed allocation) marks w. */
static void jw_add(jw *w, json_object *o, const char *key, json_object *v)
{
	if (v == NULL || w->rv != TB_OK || json_object_object_add(o, key, v) != 0) {
		json_object_put(v);
		w->rv = TB_RESOURCE_EXHAUSTED;
	}
}

/* Appends v to the array a, taking v. */
static void jw_push(jw *w, json_object *a, json_object *v)
{
	if (v == NULL || w->rv != TB_OK || json_object_array_add(a, v) != 0) {
		json_object_put(v);
		w->rv = TB_RESOURCE_EXHAUSTED;
	}
}

/* json_object_new_null is NULL itself: add it without marking a failure. */
static void jw_add_nullable(jw *w, json_object *o, const char *key, json_object *v,
                            bool is_null)
{
	if (is_null) {
		if (w->rv == TB_OK && json_object_object_add(o, key, NULL) != 0)
			w->rv = TB_RESOURCE_EXHAUSTED;
		return;
	}
	jw_add(w, o, key, v);
}

static void jw_str(jw *w, json_object *o, const char *key, const char *s)
{
	jw_add(w, o, key, json_object_new_string(s != NULL ? s : ""));
}

static void jw_int(jw *w, json_object *o, const char *key, int64_t v)
{
	jw_add(w, o, key, json_object_new_int64(v));
}

static void jw_bool(jw *w, json_object *o, const char *key, bool v)
{
	jw_add(w, o, key, json_object_new_boolean(v));
}

/* A double written with at most three decimals, trailing zeros removed. */
static json_object *jw_new_double(double v)
{
	char buf[64];
	snprintf(buf, sizeof(buf), "%.3f", v);
	char *dot = strchr(buf, '.');
	if (dot != NULL) {
		char *end = buf + strlen(buf) - 1;
		while (end > dot && *end == '0')
			*end-- = '\0';
		if (end == dot)
			*end = '\0';
	}
	return json_object_new_double_s(v, buf);
}

/* An RFC 3339 time, or null when unknown (0). */
static void jw_time(jw *w, json_object *o, const char *key, int64_t ms)
{
	char buf[40];
	tb_results_format_time(ms, buf, sizeof(buf));
	jw_add_nullable(w, o, key, buf[0] != '\0' ? json_object_new_string(buf) : NULL,
	                buf[0] == '\0');
}

static json_object *jw_strings(jw *w, char *const *v, size_t n)
{
	json_object *a = json_object_new_array_ext((int)n);
	for (size_t i = 0; a != NULL && i < n; i++)
		jw_push(w, a, json_object_new_string(v[i] != NULL ? v[i] : ""));
	return a;
}

/* map<string,string> entries as a JSON object. */
static json_object *jw_labels(jw *w, Testbus__V1__TargetReport__LabelsEntry *const *e, size_t n)
{
	json_object *o = json_object_new_object();
	for (size_t i = 0; o != NULL && i < n; i++)
		jw_str(w, o, e[i]->key, e[i]->value);
	return o;
}

/* Standard base64 of len bytes. */
static json_object *jw_base64(const uint8_t *p, size_t len)
{
	static const char digits[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	char *out = malloc((len + 2) / 3 * 4 + 1);
	size_t k = 0;
	if (out == NULL)
		return NULL;
	for (size_t i = 0; i < len; i += 3) {
		uint32_t v = (uint32_t)p[i] << 16;
		v |= i + 1 < len ? (uint32_t)p[i + 1] << 8 : 0;
		v |= i + 2 < len ? p[i + 2] : 0;
		out[k++] = digits[v >> 18 & 63];
		out[k++] = digits[v >> 12 & 63];
		out[k++] = i + 1 < len ? digits[v >> 6 & 63] : '=';
		out[k++] = i + 2 < len ? digits[v & 63] : '=';
	}
	json_object *s = json_object_new_string_len(out, (int)k);
	free(out);
	return s;
}

static json_object *jw_value(jw *w, const Testbus__V1__Value *v);

/* True when v holds nothing: it is written as null. */
static bool jw_unset(const Testbus__V1__Value *v)
{
	return v == NULL || v->kind_case == TESTBUS__V1__VALUE__KIND__NOT_SET;
}

static void jw_push_nullable(jw *w, json_object *a, json_object *v, bool is_null)
{
	if (is_null) {
		if (w->rv == TB_OK && json_object_array_add(a, NULL) != 0)
			w->rv = TB_RESOURCE_EXHAUSTED;
		return;
	}
	jw_push(w, a, v);
}

/* map<string,Value> entries (any of the generated entry types) as a JSON object. */
static json_object *jw_value_map(jw *w, Testbus__V1__ValueMap__FieldsEntry *const *e, size_t n)
{
	json_object *o = json_object_new_object();
	for (size_t i = 0; o != NULL && i < n; i++)
		jw_add_nullable(w, o, e[i]->key, jw_value(w, e[i]->value), jw_unset(e[i]->value));
	return o;
}
#define jw_values(w, entries, n) \
	jw_value_map((w), (Testbus__V1__ValueMap__FieldsEntry *const *)(entries), (n))

/* A typed Value: bytes become {"$bytes": base64}; an unset value is null. */
static json_object *jw_value(jw *w, const Testbus__V1__Value *v)
{
	json_object *o;
	switch (v != NULL ? v->kind_case : TESTBUS__V1__VALUE__KIND__NOT_SET) {
	case TESTBUS__V1__VALUE__KIND_STRING_VALUE:
		return json_object_new_string(v->string_value != NULL ? v->string_value : "");
	case TESTBUS__V1__VALUE__KIND_INT_VALUE:
		return json_object_new_int64(v->int_value);
	case TESTBUS__V1__VALUE__KIND_DOUBLE_VALUE:
		return json_object_new_double(v->double_value);
	case TESTBUS__V1__VALUE__KIND_BOOL_VALUE:
		return json_object_new_boolean(v->bool_value);
	case TESTBUS__V1__VALUE__KIND_BYTES_VALUE:
		o = json_object_new_object();
		if (o != NULL)
			jw_add(w, o, "$bytes", jw_base64(v->bytes_value.data, v->bytes_value.len));
		return o;
	case TESTBUS__V1__VALUE__KIND_LIST_VALUE:
		o = json_object_new_array();
		for (size_t i = 0; o != NULL && v->list_value != NULL &&
		                   i < v->list_value->n_values; i++)
			jw_push_nullable(w, o, jw_value(w, v->list_value->values[i]),
			                 jw_unset(v->list_value->values[i]));
		return o;
	case TESTBUS__V1__VALUE__KIND_MAP_VALUE:
		return v->map_value != NULL
		           ? jw_value_map(w, v->map_value->fields, v->map_value->n_fields)
		           : json_object_new_object();
	default:
		return NULL; /* written as null by the caller */
	}
}

static json_object *jw_summary(jw *w, const Testbus__V1__ResultSummary *s)
{
	Testbus__V1__ResultSummary zero = TESTBUS__V1__RESULT_SUMMARY__INIT;
	json_object *o = json_object_new_object();
	if (s == NULL)
		s = &zero;
	if (o == NULL)
		return NULL;
	jw_int(w, o, "total", s->total);
	jw_int(w, o, "passed", s->passed);
	jw_int(w, o, "failed", s->failed);
	jw_int(w, o, "errors", s->errors);
	jw_int(w, o, "skipped", s->skipped);
	jw_int(w, o, "flaky", s->flaky);
	return o;
}

static json_object *jw_test_case(jw *w, const Testbus__V1__TestCase *tc)
{
	json_object *o = json_object_new_object();
	json_object *att = json_object_new_array();
	if (o == NULL || att == NULL) {
		json_object_put(att);
		return o;
	}
	jw_str(w, o, "name", tc->name);
	jw_str(w, o, "classname", tc->classname);
	jw_str(w, o, "suite", tc->suite);
	jw_str(w, o, "status", tb_results_status_name(tc->status));
	jw_add(w, o, "duration_ms", jw_new_double(tc->duration_ms));
	jw_str(w, o, "message", tc->message);
	jw_str(w, o, "output", tc->output);
	jw_int(w, o, "attempt", tc->attempt);
	jw_bool(w, o, "flaky", tc->flaky);
	jw_bool(w, o, "synthetic", tc->synthetic);
	for (size_t i = 0; i < tc->n_attempts; i++) {
		json_object *a = json_object_new_object();
		if (a != NULL) {
			jw_str(w, a, "status", tb_results_status_name(tc->attempts[i]->status));
			jw_add(w, a, "duration_ms", jw_new_double(tc->attempts[i]->duration_ms));
			jw_str(w, a, "message", tc->attempts[i]->message);
		}
		jw_push(w, att, a);
	}
	jw_add(w, o, "attempts", att);
	return o;
}

static json_object *jw_artifact(jw *w, const Testbus__V1__Artifact *a)
{
	json_object *o = json_object_new_object();
	if (o == NULL)
		return NULL;
	jw_str(w, o, "name", a->name);
	jw_str(w, o, "uri", a->uri);
	jw_str(w, o, "media_type", a->media_type);
	jw_int(w, o, "size", (int64_t)a->size);
	jw_str(w, o, "sha256", a->sha256);
	return o;
}

/* True when two label maps hold the same pairs in the same order. */
static bool jw_same_labels(Testbus__V1__TargetReport__LabelsEntry *const *a, size_t na,
                           Testbus__V1__TargetReport__LabelsEntry *const *b, size_t nb)
{
	if (na != nb)
		return false;
	for (size_t i = 0; i < na; i++)
		if (strcmp(a[i]->key, b[i]->key) != 0 || strcmp(a[i]->value, b[i]->value) != 0)
			return false;
	return true;
}

/*
 * The fields of a target that come from its ExecutionResult. Its labels are
 * written only when it has some that differ from the target's.
 */
static void jw_result(jw *w, json_object *o, const Testbus__V1__TargetReport *t)
{
	const Testbus__V1__ExecutionResult *res = t->result;
	Testbus__V1__TargetReport__LabelsEntry *const *labels =
	    res != NULL ? (Testbus__V1__TargetReport__LabelsEntry *const *)res->labels : NULL;
	Testbus__V1__ExecutionResult none = TESTBUS__V1__EXECUTION_RESULT__INIT;
	json_object *cases = json_object_new_array();
	json_object *arts = json_object_new_array();
	if (res == NULL)
		res = &none;
	jw_bool(w, o, "success", res->success);
	jw_add(w, o, "summary", jw_summary(w, res->summary));
	jw_time(w, o, "started_at", res->start_time);
	jw_time(w, o, "finished_at", res->end_time);
	jw_int(w, o, "duration_ms",
	       res->start_time != 0 && res->end_time > res->start_time
	           ? res->end_time - res->start_time
	           : 0);
	jw_int(w, o, "exit_code", res->exit_code);
	jw_bool(w, o, "timed_out", res->timed_out);
	jw_bool(w, o, "cancelled", res->cancelled);
	jw_str(w, o, "error", res->error);
	jw_str(w, o, "stdout_tail", res->stdout_tail);
	jw_str(w, o, "stderr_tail", res->stderr_tail);
	for (size_t i = 0; cases != NULL && i < res->n_test_cases; i++)
		jw_push(w, cases, jw_test_case(w, res->test_cases[i]));
	for (size_t i = 0; arts != NULL && i < res->n_artifacts; i++)
		jw_push(w, arts, jw_artifact(w, res->artifacts[i]));
	jw_add(w, o, "test_cases", cases);
	jw_add(w, o, "artifacts", arts);
	jw_add(w, o, "metadata", jw_values(w, res->metadata, res->n_metadata));
	if (res->n_labels > 0 && !jw_same_labels(labels, res->n_labels, t->labels, t->n_labels))
		jw_add(w, o, "result_labels", jw_labels(w, labels, res->n_labels));
}

static json_object *jw_target(jw *w, const Testbus__V1__TargetReport *t)
{
	json_object *o = json_object_new_object();
	json_object *att = json_object_new_array();
	if (o == NULL || att == NULL) {
		json_object_put(att);
		return o;
	}
	jw_str(w, o, "target_id", t->target_id);
	jw_add(w, o, "labels", jw_labels(w, t->labels, t->n_labels));
	jw_str(w, o, "executor", t->executor);
	for (size_t i = 0; i < t->n_attempts; i++) {
		json_object *a = json_object_new_object();
		if (a != NULL) {
			jw_int(w, a, "attempt", t->attempts[i]->attempt);
			jw_str(w, a, "executor", t->attempts[i]->executor);
			jw_str(w, a, "reason", t->attempts[i]->reason);
		}
		jw_push(w, att, a);
	}
	jw_add(w, o, "attempts", att);
	jw_result(w, o, t);
	return o;
}

static json_object *jw_phase(jw *w, const Testbus__V1__PhaseReport *ph)
{
	Testbus__V1__ResultSummary sum = TESTBUS__V1__RESULT_SUMMARY__INIT;
	json_object *o = json_object_new_object();
	json_object *targets = json_object_new_array();
	bool ok = true;
	if (o == NULL || targets == NULL) {
		json_object_put(targets);
		return o;
	}
	for (size_t i = 0; i < ph->n_targets; i++) {
		ok = ok && ph->targets[i]->result != NULL && ph->targets[i]->result->success;
		jw_push(w, targets, jw_target(w, ph->targets[i]));
	}
	tb_results_phase_summary(ph, &sum);
	jw_str(w, o, "name", ph->name);
	jw_bool(w, o, "success", ok);
	jw_add(w, o, "summary", jw_summary(w, &sum));
	jw_add(w, o, "targets", targets);
	return o;
}

static json_object *jw_finding(jw *w, const Testbus__V1__Finding *f)
{
	json_object *o = json_object_new_object();
	if (o == NULL)
		return NULL;
	jw_str(w, o, "rule_id", f->rule_id);
	jw_str(w, o, "title", f->title);
	jw_str(w, o, "severity", tb_results_severity_name(f->severity));
	jw_str(w, o, "explanation", f->explanation);
	jw_str(w, o, "suggested_fix", f->suggested_fix);
	jw_int(w, o, "count", f->count);
	jw_add(w, o, "evidence", jw_strings(w, f->evidence, f->n_evidence));
	jw_add(w, o, "test_cases", jw_strings(w, f->test_cases, f->n_test_cases));
	jw_add(w, o, "score", jw_new_double(f->score));
	return o;
}

/* One analysis, tagged with the phase and target it is about. */
static json_object *jw_analysis(jw *w, const char *phase, const char *target,
                                const Testbus__V1__AnalysisResult *an)
{
	json_object *o = json_object_new_object();
	json_object *findings = json_object_new_array();
	if (o == NULL || findings == NULL) {
		json_object_put(findings);
		return o;
	}
	jw_str(w, o, "phase", phase);
	jw_str(w, o, "target_id", target);
	jw_str(w, o, "analyzer", an->analyzer);
	jw_str(w, o, "summary", an->summary);
	jw_str(w, o, "root_cause", an->root_cause);
	jw_add(w, o, "confidence", jw_new_double(an->confidence));
	for (size_t i = 0; i < an->n_findings; i++)
		jw_push(w, findings, jw_finding(w, an->findings[i]));
	jw_add(w, o, "findings", findings);
	jw_add(w, o, "recommendations", jw_strings(w, an->recommendations, an->n_recommendations));
	jw_str(w, o, "raw", an->raw);
	jw_str(w, o, "error", an->error);
	jw_add(w, o, "metadata", jw_values(w, an->metadata, an->n_metadata));
	return o;
}

static json_object *jw_all_analysis(jw *w, const Testbus__V1__ReportInput *in)
{
	json_object *a = json_object_new_array();
	for (size_t p = 0; a != NULL && p < in->n_phases; p++) {
		const Testbus__V1__PhaseReport *ph = in->phases[p];
		for (size_t t = 0; t < ph->n_targets; t++) {
			const Testbus__V1__TargetReport *tr = ph->targets[t];
			for (size_t k = 0; k < tr->n_analysis; k++)
				jw_push(w, a, jw_analysis(w, ph->name, tr->target_id, tr->analysis[k]));
		}
	}
	return a;
}

/* The cluster without its kubeconfig, or null. */
static json_object *jw_cluster(jw *w, const Testbus__V1__ClusterInfo *c)
{
	if (c == NULL)
		return NULL; /* written as null by the caller */
	json_object *o = json_object_new_object();
	if (o == NULL)
		return NULL;
	jw_str(w, o, "id", c->id);
	jw_str(w, o, "name", c->name);
	jw_str(w, o, "provider", c->provider);
	jw_str(w, o, "region", c->region);
	jw_str(w, o, "version", c->version);
	jw_add(w, o, "properties", jw_values(w, c->properties, c->n_properties));
	return o;
}

static json_object *jw_root(jw *w, const Testbus__V1__ReportInput *in)
{
	Testbus__V1__ResultSummary sum = TESTBUS__V1__RESULT_SUMMARY__INIT;
	json_object *o = json_object_new_object();
	json_object *phases = json_object_new_array();
	if (o == NULL || phases == NULL) {
		json_object_put(phases);
		return o;
	}
	tb_results_run_summary(in, &sum);
	jw_int(w, o, "schema_version", TB_RESULTS_SCHEMA_VERSION);
	jw_str(w, o, "generator", "testbus " TESTBUS_VERSION);
	jw_str(w, o, "run_id", in->run_id);
	jw_bool(w, o, "success", in->success);
	jw_time(w, o, "started_at", in->started_at);
	jw_time(w, o, "finished_at", in->finished_at);
	jw_int(w, o, "duration_ms",
	       in->started_at != 0 && in->finished_at > in->started_at
	           ? in->finished_at - in->started_at
	           : 0);
	jw_str(w, o, "artifacts_dir", in->artifacts_dir);
	jw_add_nullable(w, o, "cluster", jw_cluster(w, in->cluster), in->cluster == NULL);
	jw_add(w, o, "summary", jw_summary(w, &sum));
	for (size_t i = 0; i < in->n_phases; i++)
		jw_push(w, phases, jw_phase(w, in->phases[i]));
	jw_add(w, o, "phases", phases);
	jw_add(w, o, "analysis", jw_all_analysis(w, in));
	jw_add(w, o, "errors", jw_strings(w, in->errors, in->n_errors));
	return o;
}

int tb_results_to_json(const Testbus__V1__ReportInput *in, const tb_redactor *r,
                       json_object **objp, tb_status *st)
{
	tb_arena *a = NULL;
	Testbus__V1__ReportInput *clean = NULL;
	json_object *o = NULL;
	jw w = { .rv = TB_OK };
	int rv = tb_arena_alloc(&a);
	if (rv != TB_OK) {
		tb_status_set(st, rv, "results: out of memory");
		goto out;
	}
	if ((rv = tb_results_prepare(in, r, a, &clean, st)) != TB_OK)
		goto out;
	o = jw_root(&w, clean);
	if (o == NULL)
		w.rv = TB_RESOURCE_EXHAUSTED;
	if ((rv = w.rv) != TB_OK)
		tb_status_set(st, rv, "results: out of memory while writing JSON");
out:
	tb_arena_free(a);
	if (rv != TB_OK)
		json_object_put(o);
	*objp = rv == TB_OK ? o : NULL;
	return rv;
}

int tb_results_to_string(const Testbus__V1__ReportInput *in, const tb_redactor *r,
                         unsigned flags, char **textp, tb_status *st)
{
	json_object *o = NULL;
	char *text = NULL;
	int jflags = JSON_C_TO_STRING_NOSLASHESCAPE |
	             (flags & TB_RESULTS_PRETTY ? JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED
	                                        : JSON_C_TO_STRING_PLAIN);
	int rv = tb_results_to_json(in, r, &o, st);
	if (rv != TB_OK)
		goto out;
	const char *s = json_object_to_json_string_ext(o, jflags);
	if (s == NULL || (text = strdup(s)) == NULL)
		rv = tb_status_set(st, TB_RESOURCE_EXHAUSTED, "results: out of memory");
out:
	json_object_put(o);
	*textp = rv == TB_OK ? text : NULL;
	return rv;
}

int tb_results_write_file(const Testbus__V1__ReportInput *in, const tb_redactor *r,
                          const char *path, unsigned flags, tb_status *st)
{
	char *text = NULL;
	int rv = tb_results_to_string(in, r, flags, &text, st);
	if (rv != TB_OK)
		goto out;
	size_t len = strlen(text);
	char *with_nl = realloc(text, len + 2);
	if (with_nl == NULL) {
		rv = tb_status_set(st, TB_RESOURCE_EXHAUSTED, "results: out of memory");
		goto out;
	}
	text = with_nl;
	memcpy(text + len, "\n", 2);
	rv = tb_results_write_text(path, text, len + 1, st);
out:
	free(text);
	return rv;
}
