/* Reading a results.json document back into a ReportInput (schema in docs/results.md). */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "results_json.h"

/* A reader: the first error sticks in rv, with the path of the field in st. */
typedef struct rd {
	tb_arena *a;
	tb_status *st;
	int rv;
	char path[256];
} rd;

/* Appends ".key" or "[i]" to the path; returns the old length for rd_pop. */
static size_t rd_push(rd *r, const char *key, size_t index)
{
	size_t len = strlen(r->path);
	size_t room = sizeof(r->path) - len;
	if (key != NULL)
		snprintf(r->path + len, room, "%s%s", len > 0 ? "." : "", key);
	else
		snprintf(r->path + len, room, "[%zu]", index);
	return len;
}

static void rd_pop(rd *r, size_t len)
{
	r->path[len] = '\0';
}

static int rd_fail(rd *r, const char *key, const char *what)
{
	if (r->rv == TB_OK) {
		size_t len = rd_push(r, key, 0);
		r->rv = tb_status_set(r->st, TB_INVALID_ARGUMENT, "results.json: %s: %s", r->path,
		                      what);
		rd_pop(r, len);
	}
	return r->rv;
}

static int rd_oom(rd *r)
{
	if (r->rv == TB_OK)
		r->rv = tb_status_set(r->st, TB_RESOURCE_EXHAUSTED, "results.json: out of memory");
	return r->rv;
}

/* The member key of o when it has the type want; NULL when absent or null. */
static json_object *rd_get(rd *r, json_object *o, const char *key, json_type want)
{
	json_object *v = NULL;
	if (r->rv != TB_OK || !json_object_object_get_ex(o, key, &v) || v == NULL)
		return NULL;
	if (json_object_get_type(v) == want)
		return v;
	if (want == json_type_double && json_object_get_type(v) == json_type_int)
		return v;
	rd_fail(r, key, want == json_type_string    ? "expected a string"
	                : want == json_type_object  ? "expected an object"
	                : want == json_type_array   ? "expected an array"
	                : want == json_type_boolean ? "expected true or false"
	                                            : "expected a number");
	return NULL;
}

static char *rd_str(rd *r, json_object *o, const char *key)
{
	json_object *v = rd_get(r, o, key, json_type_string);
	char *s = tb_arena_memdup(r->a, v != NULL ? json_object_get_string(v) : "",
	                          v != NULL ? (size_t)json_object_get_string_len(v) : 0);
	if (s == NULL)
		rd_oom(r);
	return s;
}

static bool rd_bool(rd *r, json_object *o, const char *key)
{
	json_object *v = rd_get(r, o, key, json_type_boolean);
	return v != NULL && json_object_get_boolean(v);
}

static int64_t rd_int(rd *r, json_object *o, const char *key, int64_t min, int64_t max)
{
	json_object *v = rd_get(r, o, key, json_type_int);
	int64_t n = v != NULL ? json_object_get_int64(v) : 0;
	if (n < min || n > max) {
		rd_fail(r, key, "out of range");
		return 0;
	}
	return n;
}

static double rd_double(rd *r, json_object *o, const char *key)
{
	json_object *v = rd_get(r, o, key, json_type_double);
	return v != NULL ? json_object_get_double(v) : 0;
}

static int64_t rd_time(rd *r, json_object *o, const char *key)
{
	json_object *v = rd_get(r, o, key, json_type_string);
	int64_t ms = 0;
	if (v != NULL && tb_results_parse_time(json_object_get_string(v), &ms) != TB_OK)
		rd_fail(r, key, "expected an RFC 3339 time");
	return ms;
}

/* A table of names for an enum; index = value. */
static int rd_enum(rd *r, json_object *o, const char *key, const char *(*name)(int),
                   int n)
{
	json_object *v = rd_get(r, o, key, json_type_string);
	if (v == NULL)
		return 0;
	for (int i = 1; i < n; i++)
		if (strcmp(name(i), json_object_get_string(v)) == 0)
			return i;
	rd_fail(r, key, "unknown value");
	return 0;
}

static const char *rd_status_name(int i)
{
	return tb_results_status_name((Testbus__V1__TestStatus)i);
}

static const char *rd_severity_name(int i)
{
	return tb_results_severity_name((Testbus__V1__Severity)i);
}

#define RD_U32 0, UINT32_MAX

/*
 * Reads the array key of o into an arena array of n elements of size each,
 * calling fn on each element. Absent or null gives none.
 */
static void *rd_array(rd *r, json_object *o, const char *key, size_t *np,
                      void *(*fn)(rd *, json_object *))
{
	json_object *arr = rd_get(r, o, key, json_type_array);
	size_t n = arr != NULL ? json_object_array_length(arr) : 0;
	void **out = NULL;
	*np = 0;
	if (n == 0)
		return NULL;
	if ((out = tb_arena_zalloc(r->a, n * sizeof(*out))) == NULL) {
		rd_oom(r);
		return NULL;
	}
	size_t len = rd_push(r, key, 0);
	for (size_t i = 0; i < n && r->rv == TB_OK; i++) {
		size_t l2 = rd_push(r, NULL, i);
		out[i] = fn(r, json_object_array_get_idx(arr, i));
		rd_pop(r, l2);
	}
	rd_pop(r, len);
	*np = r->rv == TB_OK ? n : 0;
	return r->rv == TB_OK ? out : NULL;
}

/* Allocates a message of descriptor d from the arena, initialised. */
static void *rd_new(rd *r, const ProtobufCMessageDescriptor *d)
{
	ProtobufCMessage *m = tb_arena_zalloc(r->a, d->sizeof_message);
	if (m == NULL) {
		rd_oom(r);
		return NULL;
	}
	d->message_init(m);
	return m;
}

/* Checks that v is an object; reports the current path otherwise. */
static bool rd_is_object(rd *r, json_object *v)
{
	if (json_object_get_type(v) == json_type_object)
		return true;
	rd_fail(r, NULL, "expected an object");
	return false;
}

static void *rd_string_elem(rd *r, json_object *v)
{
	if (json_object_get_type(v) != json_type_string) {
		rd_fail(r, NULL, "expected a string");
		return NULL;
	}
	char *s = tb_arena_strdup(r->a, json_object_get_string(v));
	if (s == NULL)
		rd_oom(r);
	return s;
}

#define rd_strings(r, o, key, np) ((char **)rd_array((r), (o), (key), (np), rd_string_elem))

/* map<string,string> from an object of strings, as entries of descriptor d. */
static void *rd_labels(rd *r, json_object *o, const char *key,
                       const ProtobufCMessageDescriptor *d, size_t *np)
{
	json_object *obj = rd_get(r, o, key, json_type_object);
	size_t n = obj != NULL ? (size_t)json_object_object_length(obj) : 0;
	Testbus__V1__TargetReport__LabelsEntry **out = NULL;
	size_t i = 0;
	*np = 0;
	if (n == 0 || (out = tb_arena_zalloc(r->a, n * sizeof(*out))) == NULL)
		return n == 0 ? NULL : (rd_oom(r), NULL);
	size_t len = rd_push(r, key, 0);
	json_object_object_foreach(obj, k, v) {
		Testbus__V1__TargetReport__LabelsEntry *e = rd_new(r, d);
		if (e == NULL)
			break;
		if (json_object_get_type(v) != json_type_string)
			rd_fail(r, k, "expected a string");
		e->key = tb_arena_strdup(r->a, k);
		e->value = tb_arena_strdup(r->a, json_object_get_string(v));
		if (e->key == NULL || e->value == NULL)
			rd_oom(r);
		out[i++] = e;
	}
	rd_pop(r, len);
	*np = r->rv == TB_OK ? n : 0;
	return r->rv == TB_OK ? out : NULL;
}


/* The value of one base64 digit, or -1. */
static int rd_b64_digit(char c)
{
	static const char digits[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	const char *p = c != '\0' ? strchr(digits, c) : NULL;
	return p != NULL ? (int)(p - digits) : -1;
}

/* Decodes standard base64 (padding optional) into b, allocated from the arena. */
static bool rd_base64(rd *r, const char *s, ProtobufCBinaryData *b)
{
	size_t len = strlen(s);
	while (len > 0 && s[len - 1] == '=')
		len--;
	uint8_t *out = tb_arena_zalloc(r->a, len * 3 / 4 + 1);
	uint32_t acc = 0;
	size_t k = 0;
	if (out == NULL)
		return rd_oom(r), false;
	for (size_t i = 0; i < len; i++) {
		int d = rd_b64_digit(s[i]);
		if (d < 0 || len % 4 == 1)
			return false;
		acc = acc << 6 | (uint32_t)d;
		if (i % 4 == 3) {
			out[k++] = acc >> 16 & 0xff;
			out[k++] = acc >> 8 & 0xff;
			out[k++] = acc & 0xff;
		}
	}
	if (len % 4 >= 2)
		out[k++] = (acc << (6 * (4 - len % 4))) >> 16 & 0xff;
	if (len % 4 == 3)
		out[k++] = (acc << 6) >> 8 & 0xff;
	b->data = out;
	b->len = k;
	return true;
}

#define RD_MAX_VALUE_DEPTH 16

static Testbus__V1__ValueMap__FieldsEntry **rd_entries(rd *r, json_object *obj,
                                                      const ProtobufCMessageDescriptor *d,
                                                      int depth);

static Testbus__V1__ValueList *rd_value_list(rd *r, json_object *arr, int depth);

/* A typed Value from JSON; {"$bytes": base64} gives bytes, null an unset value. */
static Testbus__V1__Value *rd_value(rd *r, json_object *v, int depth)
{
	Testbus__V1__Value *out = NULL;
	json_object *b = NULL;
	if ((out = rd_new(r, &testbus__v1__value__descriptor)) == NULL || v == NULL)
		return out; /* null: an unset value */
	if (depth > RD_MAX_VALUE_DEPTH)
		return rd_fail(r, NULL, "values nested too deep"), NULL;
	switch (json_object_get_type(v)) {
	case json_type_string:
		out->kind_case = TESTBUS__V1__VALUE__KIND_STRING_VALUE;
		if ((out->string_value = tb_arena_strdup(r->a, json_object_get_string(v))) == NULL)
			rd_oom(r);
		break;
	case json_type_int:
		out->kind_case = TESTBUS__V1__VALUE__KIND_INT_VALUE;
		out->int_value = json_object_get_int64(v);
		break;
	case json_type_double:
		out->kind_case = TESTBUS__V1__VALUE__KIND_DOUBLE_VALUE;
		out->double_value = json_object_get_double(v);
		break;
	case json_type_boolean:
		out->kind_case = TESTBUS__V1__VALUE__KIND_BOOL_VALUE;
		out->bool_value = json_object_get_boolean(v);
		break;
	case json_type_array:
		out->kind_case = TESTBUS__V1__VALUE__KIND_LIST_VALUE;
		out->list_value = rd_value_list(r, v, depth);
		break;
	case json_type_object:
		if (json_object_object_length(v) == 1 && json_object_object_get_ex(v, "$bytes", &b) &&
		    json_object_get_type(b) == json_type_string) {
			out->kind_case = TESTBUS__V1__VALUE__KIND_BYTES_VALUE;
			if (!rd_base64(r, json_object_get_string(b), &out->bytes_value))
				rd_fail(r, "$bytes", "not base64");
			break;
		}
		out->kind_case = TESTBUS__V1__VALUE__KIND_MAP_VALUE;
		if ((out->map_value = rd_new(r, &testbus__v1__value_map__descriptor)) != NULL) {
			out->map_value->n_fields = (size_t)json_object_object_length(v);
			out->map_value->fields = rd_entries(
			    r, v, &testbus__v1__value_map__fields_entry__descriptor, depth + 1);
		}
		break;
	default:
		break;
	}
	return out;
}

static Testbus__V1__ValueList *rd_value_list(rd *r, json_object *arr, int depth)
{
	Testbus__V1__ValueList *l = rd_new(r, &testbus__v1__value_list__descriptor);
	size_t n = json_object_array_length(arr);
	if (l == NULL || n == 0)
		return l;
	if ((l->values = tb_arena_zalloc(r->a, n * sizeof(*l->values))) == NULL)
		return rd_oom(r), l;
	for (size_t i = 0; i < n && r->rv == TB_OK; i++) {
		size_t len = rd_push(r, NULL, i);
		Testbus__V1__Value *v = rd_value(r, json_object_array_get_idx(arr, i), depth + 1);
		if (v != NULL)
			l->values[l->n_values++] = v;
		rd_pop(r, len);
	}
	return l;
}

/*
 * The members of obj as map<string,Value> entries of descriptor d (every
 * generated entry type has the layout of ValueMap's), one per member; null
 * members are kept as unset values.
 */
static Testbus__V1__ValueMap__FieldsEntry **rd_entries(rd *r, json_object *obj,
                                                      const ProtobufCMessageDescriptor *d,
                                                      int depth)
{
	size_t n = (size_t)json_object_object_length(obj);
	Testbus__V1__ValueMap__FieldsEntry **out = NULL;
	size_t i = 0;
	if (n == 0 || (out = tb_arena_zalloc(r->a, n * sizeof(*out))) == NULL)
		return n == 0 ? NULL : (rd_oom(r), NULL);
	json_object_object_foreach((json_object *)obj, k, v) {
		Testbus__V1__ValueMap__FieldsEntry *e = rd_new(r, d);
		if (e == NULL)
			break;
		size_t len = rd_push(r, k, 0);
		e->key = tb_arena_strdup(r->a, k);
		e->value = rd_value(r, v, depth);
		rd_pop(r, len);
		if (e->key == NULL)
			rd_oom(r);
		out[i++] = e;
	}
	return r->rv == TB_OK ? out : NULL;
}

/* A map<string,Value> field read from the object member key. */
static void *rd_value_map(rd *r, json_object *o, const char *key,
                          const ProtobufCMessageDescriptor *d, size_t *np)
{
	json_object *obj = rd_get(r, o, key, json_type_object);
	*np = 0;
	if (obj == NULL)
		return NULL;
	size_t len = rd_push(r, key, 0);
	void *out = rd_entries(r, obj, d, 0);
	rd_pop(r, len);
	*np = out != NULL ? (size_t)json_object_object_length(obj) : 0;
	return out;
}

static void *rd_test_attempt(rd *r, json_object *o)
{
	Testbus__V1__TestAttempt *a = rd_new(r, &testbus__v1__test_attempt__descriptor);
	if (a == NULL || !rd_is_object(r, o))
		return NULL;
	a->status = rd_enum(r, o, "status", rd_status_name, 5);
	a->duration_ms = rd_double(r, o, "duration_ms");
	a->message = rd_str(r, o, "message");
	return a;
}

static void *rd_test_case(rd *r, json_object *o)
{
	Testbus__V1__TestCase *tc = rd_new(r, &testbus__v1__test_case__descriptor);
	if (tc == NULL || !rd_is_object(r, o))
		return NULL;
	tc->name = rd_str(r, o, "name");
	tc->classname = rd_str(r, o, "classname");
	tc->suite = rd_str(r, o, "suite");
	tc->status = rd_enum(r, o, "status", rd_status_name, 5);
	tc->duration_ms = rd_double(r, o, "duration_ms");
	tc->message = rd_str(r, o, "message");
	tc->output = rd_str(r, o, "output");
	tc->attempt = (uint32_t)rd_int(r, o, "attempt", RD_U32);
	tc->flaky = rd_bool(r, o, "flaky");
	tc->synthetic = rd_bool(r, o, "synthetic");
	tc->attempts = rd_array(r, o, "attempts", &tc->n_attempts, rd_test_attempt);
	return tc;
}

static Testbus__V1__ResultSummary *rd_summary(rd *r, json_object *parent)
{
	json_object *o = rd_get(r, parent, "summary", json_type_object);
	Testbus__V1__ResultSummary *s = rd_new(r, &testbus__v1__result_summary__descriptor);
	if (o == NULL || s == NULL)
		return s;
	size_t len = rd_push(r, "summary", 0);
	s->total = (uint32_t)rd_int(r, o, "total", RD_U32);
	s->passed = (uint32_t)rd_int(r, o, "passed", RD_U32);
	s->failed = (uint32_t)rd_int(r, o, "failed", RD_U32);
	s->errors = (uint32_t)rd_int(r, o, "errors", RD_U32);
	s->skipped = (uint32_t)rd_int(r, o, "skipped", RD_U32);
	s->flaky = (uint32_t)rd_int(r, o, "flaky", RD_U32);
	rd_pop(r, len);
	return s;
}

static void *rd_artifact(rd *r, json_object *o)
{
	Testbus__V1__Artifact *a = rd_new(r, &testbus__v1__artifact__descriptor);
	if (a == NULL || !rd_is_object(r, o))
		return NULL;
	a->name = rd_str(r, o, "name");
	a->uri = rd_str(r, o, "uri");
	a->media_type = rd_str(r, o, "media_type");
	a->size = (uint64_t)rd_int(r, o, "size", 0, INT64_MAX);
	a->sha256 = rd_str(r, o, "sha256");
	return a;
}

/* The ExecutionResult whose fields a target object carries inline. */
static Testbus__V1__ExecutionResult *rd_result(rd *r, json_object *o, size_t n_labels,
                                               void *labels)
{
	Testbus__V1__ExecutionResult *res = rd_new(r, &testbus__v1__execution_result__descriptor);
	if (res == NULL)
		return NULL;
	res->success = rd_bool(r, o, "success");
	res->summary = rd_summary(r, o);
	res->start_time = rd_time(r, o, "started_at");
	res->end_time = rd_time(r, o, "finished_at");
	res->exit_code = (int32_t)rd_int(r, o, "exit_code", INT32_MIN, INT32_MAX);
	res->timed_out = rd_bool(r, o, "timed_out");
	res->cancelled = rd_bool(r, o, "cancelled");
	res->error = rd_str(r, o, "error");
	res->stdout_tail = rd_str(r, o, "stdout_tail");
	res->stderr_tail = rd_str(r, o, "stderr_tail");
	res->test_cases = rd_array(r, o, "test_cases", &res->n_test_cases, rd_test_case);
	res->artifacts = rd_array(r, o, "artifacts", &res->n_artifacts, rd_artifact);
	res->metadata = rd_value_map(r, o, "metadata",
	                             &testbus__v1__execution_result__metadata_entry__descriptor,
	                             &res->n_metadata);
	res->labels = rd_labels(r, o, "result_labels",
	                        &testbus__v1__execution_result__labels_entry__descriptor,
	                        &res->n_labels);
	if (res->n_labels == 0 && !json_object_object_get_ex(o, "result_labels", NULL)) {
		res->labels = labels;
		res->n_labels = n_labels;
	}
	return res;
}

static void *rd_target_attempt(rd *r, json_object *o)
{
	Testbus__V1__TargetAttempt *a = rd_new(r, &testbus__v1__target_attempt__descriptor);
	if (a == NULL || !rd_is_object(r, o))
		return NULL;
	a->attempt = (uint32_t)rd_int(r, o, "attempt", RD_U32);
	a->executor = rd_str(r, o, "executor");
	a->reason = rd_str(r, o, "reason");
	return a;
}

static void *rd_target(rd *r, json_object *o)
{
	Testbus__V1__TargetReport *t = rd_new(r, &testbus__v1__target_report__descriptor);
	if (t == NULL || !rd_is_object(r, o))
		return NULL;
	t->target_id = rd_str(r, o, "target_id");
	t->labels = rd_labels(r, o, "labels", &testbus__v1__target_report__labels_entry__descriptor,
	                      &t->n_labels);
	t->executor = rd_str(r, o, "executor");
	t->attempts = rd_array(r, o, "attempts", &t->n_attempts, rd_target_attempt);
	t->result = rd_result(r, o, t->n_labels, t->labels);
	return t;
}

static void *rd_phase(rd *r, json_object *o)
{
	Testbus__V1__PhaseReport *ph = rd_new(r, &testbus__v1__phase_report__descriptor);
	if (ph == NULL || !rd_is_object(r, o))
		return NULL;
	ph->name = rd_str(r, o, "name");
	ph->targets = rd_array(r, o, "targets", &ph->n_targets, rd_target);
	return ph;
}


static void *rd_finding(rd *r, json_object *o)
{
	Testbus__V1__Finding *f = rd_new(r, &testbus__v1__finding__descriptor);
	if (f == NULL || !rd_is_object(r, o))
		return NULL;
	f->rule_id = rd_str(r, o, "rule_id");
	f->title = rd_str(r, o, "title");
	f->severity = rd_enum(r, o, "severity", rd_severity_name, 6);
	f->explanation = rd_str(r, o, "explanation");
	f->suggested_fix = rd_str(r, o, "suggested_fix");
	f->count = (uint32_t)rd_int(r, o, "count", RD_U32);
	f->evidence = rd_strings(r, o, "evidence", &f->n_evidence);
	f->test_cases = rd_strings(r, o, "test_cases", &f->n_test_cases);
	f->score = rd_double(r, o, "score");
	return f;
}

static void *rd_analysis(rd *r, json_object *o)
{
	Testbus__V1__AnalysisResult *an = rd_new(r, &testbus__v1__analysis_result__descriptor);
	if (an == NULL || !rd_is_object(r, o))
		return NULL;
	an->analyzer = rd_str(r, o, "analyzer");
	an->summary = rd_str(r, o, "summary");
	an->root_cause = rd_str(r, o, "root_cause");
	an->confidence = rd_double(r, o, "confidence");
	an->findings = rd_array(r, o, "findings", &an->n_findings, rd_finding);
	an->recommendations = rd_strings(r, o, "recommendations", &an->n_recommendations);
	an->raw = rd_str(r, o, "raw");
	an->error = rd_str(r, o, "error");
	an->metadata = rd_value_map(r, o, "metadata",
	                            &testbus__v1__analysis_result__metadata_entry__descriptor,
	                            &an->n_metadata);
	return an;
}

/* The target an analysis names, by phase and target id; NULL when none. */
static Testbus__V1__TargetReport *rd_find_target(Testbus__V1__ReportInput *in,
                                                 const char *phase, const char *target)
{
	for (size_t p = 0; p < in->n_phases; p++) {
		if (strcmp(in->phases[p]->name, phase) != 0)
			continue;
		for (size_t t = 0; t < in->phases[p]->n_targets; t++)
			if (strcmp(in->phases[p]->targets[t]->target_id, target) == 0)
				return in->phases[p]->targets[t];
	}
	return NULL;
}

/* Reads the top-level analysis list and hangs each entry on its target. */
static void rd_all_analysis(rd *r, json_object *root, Testbus__V1__ReportInput *in)
{
	size_t n = 0;
	Testbus__V1__AnalysisResult **all = rd_array(r, root, "analysis", &n, rd_analysis);
	json_object *arr = rd_get(r, root, "analysis", json_type_array);
	for (size_t i = 0; i < n && r->rv == TB_OK; i++) {
		json_object *o = json_object_array_get_idx(arr, i);
		size_t len = rd_push(r, "analysis", 0);
		rd_push(r, NULL, i);
		Testbus__V1__TargetReport *t =
		    rd_find_target(in, rd_str(r, o, "phase"), rd_str(r, o, "target_id"));
		if (t == NULL) {
			rd_fail(r, "target_id", "names no target of its phase");
		} else {
			Testbus__V1__AnalysisResult **grown =
			    tb_arena_zalloc(r->a, (t->n_analysis + 1) * sizeof(*grown));
			if (grown == NULL) {
				rd_oom(r);
			} else {
				if (t->n_analysis > 0)
					memcpy(grown, t->analysis, t->n_analysis * sizeof(*grown));
				grown[t->n_analysis++] = all[i];
				t->analysis = grown;
			}
		}
		rd_pop(r, len);
	}
}

static Testbus__V1__ClusterInfo *rd_cluster(rd *r, json_object *root)
{
	json_object *o = rd_get(r, root, "cluster", json_type_object);
	if (o == NULL)
		return NULL;
	Testbus__V1__ClusterInfo *c = rd_new(r, &testbus__v1__cluster_info__descriptor);
	if (c == NULL)
		return NULL;
	size_t len = rd_push(r, "cluster", 0);
	c->id = rd_str(r, o, "id");
	c->name = rd_str(r, o, "name");
	c->provider = rd_str(r, o, "provider");
	c->region = rd_str(r, o, "region");
	c->version = rd_str(r, o, "version");
	c->properties = rd_value_map(r, o, "properties",
	                             &testbus__v1__cluster_info__properties_entry__descriptor,
	                             &c->n_properties);
	rd_pop(r, len);
	return c;
}

/* Checks schema_version: present, an integer, and not newer than ours. */
static int rd_version(rd *r, json_object *root)
{
	json_object *v = NULL;
	if (json_object_get_type(root) != json_type_object)
		return rd_fail(r, NULL, "the document is not a JSON object");
	if (!json_object_object_get_ex(root, "schema_version", &v) ||
	    json_object_get_type(v) != json_type_int)
		return rd_fail(r, "schema_version", "missing or not an integer");
	int64_t n = json_object_get_int64(v);
	if (n < 1 || n > TB_RESULTS_SCHEMA_VERSION) {
		char what[96];
		snprintf(what, sizeof(what), "version %lld is not supported (this reader knows 1 to %d)",
		         (long long)n, TB_RESULTS_SCHEMA_VERSION);
		return rd_fail(r, "schema_version", what);
	}
	return TB_OK;
}

int tb_results_from_json(const json_object *cobj, tb_arena *a, Testbus__V1__ReportInput **outp,
                         tb_status *st)
{
	rd r = { .a = a, .st = st, .rv = TB_OK };
	json_object *obj = (json_object *)cobj; /* json-c's getters are not const */
	Testbus__V1__ReportInput *in = NULL;
	if (rd_version(&r, obj) != TB_OK)
		goto out;
	if ((in = rd_new(&r, &testbus__v1__report_input__descriptor)) == NULL)
		goto out;
	in->run_id = rd_str(&r, obj, "run_id");
	in->success = rd_bool(&r, obj, "success");
	in->started_at = rd_time(&r, obj, "started_at");
	in->finished_at = rd_time(&r, obj, "finished_at");
	in->artifacts_dir = rd_str(&r, obj, "artifacts_dir");
	in->cluster = rd_cluster(&r, obj);
	in->summary = rd_summary(&r, obj);
	in->phases = rd_array(&r, obj, "phases", &in->n_phases, rd_phase);
	in->errors = rd_strings(&r, obj, "errors", &in->n_errors);
	rd_all_analysis(&r, obj, in);
out:
	*outp = r.rv == TB_OK ? in : NULL;
	return r.rv;
}

int tb_results_from_string(const char *text, size_t len, tb_arena *a,
                           Testbus__V1__ReportInput **outp, tb_status *st)
{
	json_tokener *tok = json_tokener_new_ex(RD_MAX_VALUE_DEPTH + 16);
	json_object *obj = NULL;
	int rv = TB_OK;
	if (tok == NULL || len > INT32_MAX) {
		rv = tb_status_set(st, TB_RESOURCE_EXHAUSTED, "results.json: %s",
		                   tok == NULL ? "out of memory" : "too large");
		goto out;
	}
	obj = json_tokener_parse_ex(tok, text, (int)len);
	enum json_tokener_error jerr = json_tokener_get_error(tok);
	if (obj == NULL || jerr != json_tokener_success ||
	    json_tokener_get_parse_end(tok) < len) {
		rv = tb_status_set(st, TB_INVALID_ARGUMENT, "results.json: not JSON (%s at byte %zu)",
		                   jerr == json_tokener_success ? "trailing data"
		                                                : json_tokener_error_desc(jerr),
		                   json_tokener_get_parse_end(tok));
		goto out;
	}
	rv = tb_results_from_json(obj, a, outp, st);
out:
	json_object_put(obj);
	json_tokener_free(tok);
	if (rv != TB_OK)
		*outp = NULL;
	return rv;
}

int tb_results_read_file(const char *path, tb_arena *a, Testbus__V1__ReportInput **outp,
                         tb_status *st)
{
	char *text = NULL;
	size_t len = 0;
	int rv = tb_results_slurp(path, 256u * 1024 * 1024, &text, &len, st);
	if (rv == TB_OK)
		rv = tb_results_from_string(text, len, a, outp, st);
	if (rv != TB_OK && st != NULL && strncmp(st->message, "results.json", 12) == 0) {
		char msg[TB_STATUS_MESSAGE_MAX];
		snprintf(msg, sizeof(msg), "%s%s", path, st->message + 12);
		snprintf(st->message, sizeof(st->message), "%s", msg);
	}
	free(text);
	if (rv != TB_OK)
		*outp = NULL;
	return rv;
}
