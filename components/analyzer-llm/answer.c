/* Validating the model's JSON answer and turning it into an AnalysisResult. */
#include <ctype.h>
#include <json-c/json.h>
#include <string.h>

#include "llm.h"

#define ANSWER_MAX_ITEMS 20 /* evidence lines and recommendations kept */

/* The answer text without surrounding blanks and a ```json fence. Allocated from a. */
static char *answer_unfence(const char *text, tb_arena *a)
{
	while (isspace((unsigned char)*text))
		text++;
	size_t n = strlen(text);
	while (n > 0 && isspace((unsigned char)text[n - 1]))
		n--;
	if (n >= 6 && strncmp(text, "```", 3) == 0 && strncmp(text + n - 3, "```", 3) == 0) {
		const char *nl = memchr(text, '\n', n - 3);
		if (nl != NULL) {
			n = (size_t)(text + n - 3 - (nl + 1));
			text = nl + 1;
		}
	}
	return tb_arena_memdup(a, text, n);
}

/* A required non-empty string field. */
static int answer_string(json_object *root, const char *key, bool required, tb_arena *a,
                         char **outp, tb_status *st)
{
	json_object *v;
	if (!json_object_object_get_ex(root, key, &v) || json_object_is_type(v, json_type_null)) {
		*outp = NULL;
		return required ? tb_status_set(st, TB_INVALID_ARGUMENT, "the answer lacks %s", key)
		                : TB_OK;
	}
	if (!json_object_is_type(v, json_type_string) || json_object_get_string_len(v) == 0)
		return tb_status_set(st, TB_INVALID_ARGUMENT, "%s is not a non-empty string", key);
	*outp = tb_arena_strdup(a, json_object_get_string(v));
	return *outp != NULL ? TB_OK : tb_status_set(st, TB_RESOURCE_EXHAUSTED, "out of memory");
}

/* A list of strings (a lone string counts as a list of one). */
static int answer_list(json_object *root, const char *key, tb_arena *a, char ***itemsp,
                       size_t *np, tb_status *st)
{
	json_object *v;
	*itemsp = NULL;
	*np = 0;
	if (!json_object_object_get_ex(root, key, &v))
		return tb_status_set(st, TB_INVALID_ARGUMENT, "the answer lacks %s", key);
	bool one = json_object_is_type(v, json_type_string);
	if (!one && !json_object_is_type(v, json_type_array))
		return tb_status_set(st, TB_INVALID_ARGUMENT, "%s is not a list of strings", key);
	size_t n = one ? 1 : json_object_array_length(v);
	char **items = tb_arena_zalloc(a, (n + 1) * sizeof(*items));
	if (items == NULL)
		return tb_status_set(st, TB_RESOURCE_EXHAUSTED, "out of memory");
	for (size_t i = 0; i < n && *np < ANSWER_MAX_ITEMS; i++) {
		json_object *item = one ? v : json_object_array_get_idx(v, i);
		if (!json_object_is_type(item, json_type_string))
			return tb_status_set(st, TB_INVALID_ARGUMENT, "%s[%zu] is not a string", key, i);
		if (json_object_get_string_len(item) == 0)
			continue;
		if ((items[*np] = tb_arena_strdup(a, json_object_get_string(item))) == NULL)
			return tb_status_set(st, TB_RESOURCE_EXHAUSTED, "out of memory");
		(*np)++;
	}
	*itemsp = items;
	return TB_OK;
}

static int answer_confidence(json_object *root, double *outp, tb_status *st)
{
	json_object *v;
	if (!json_object_object_get_ex(root, "confidence", &v))
		return tb_status_set(st, TB_INVALID_ARGUMENT, "the answer lacks confidence");
	if (!json_object_is_type(v, json_type_double) && !json_object_is_type(v, json_type_int))
		return tb_status_set(st, TB_INVALID_ARGUMENT, "confidence is not a number");
	double d = json_object_get_double(v);
	if (!(d >= 0.0 && d <= 1.0))
		return tb_status_set(st, TB_INVALID_ARGUMENT, "confidence %g is not between 0 and 1", d);
	*outp = d;
	return TB_OK;
}

/* The finding that carries the model's evidence. */
static Testbus__V1__Finding *answer_finding(tb_arena *a, const char *root_cause,
                                            const char *summary, char **evidence, size_t n,
                                            double confidence)
{
	Testbus__V1__Finding *f = tb_arena_zalloc(a, sizeof(*f));
	if (f == NULL)
		return NULL;
	testbus__v1__finding__init(f);
	f->rule_id = "llm";
	f->title = (char *)root_cause;
	f->explanation = (char *)(summary != NULL ? summary : "");
	f->count = 1;
	f->evidence = evidence;
	f->n_evidence = n;
	f->score = confidence;
	return f;
}

/* Reads and checks every field of root before res is touched. */
static int answer_fill(json_object *root, tb_arena *a, Testbus__V1__AnalysisResult *res,
                       tb_status *st)
{
	int rv;
	char *root_cause, *summary, **evidence, **recs;
	size_t n_evidence, n_recs;
	double confidence = 0;
	if ((rv = answer_string(root, "root_cause", true, a, &root_cause, st)) != TB_OK ||
	    (rv = answer_string(root, "summary", false, a, &summary, st)) != TB_OK ||
	    (rv = answer_list(root, "evidence", a, &evidence, &n_evidence, st)) != TB_OK ||
	    (rv = answer_list(root, "recommendations", a, &recs, &n_recs, st)) != TB_OK ||
	    (rv = answer_confidence(root, &confidence, st)) != TB_OK)
		return rv;
	Testbus__V1__Finding *f =
		answer_finding(a, root_cause, summary, evidence, n_evidence, confidence);
	Testbus__V1__Finding **fs = tb_arena_zalloc(a, sizeof(*fs));
	if (f == NULL || fs == NULL)
		return tb_status_set(st, TB_RESOURCE_EXHAUSTED, "out of memory");
	fs[0] = f;
	res->root_cause = root_cause;
	res->summary = summary != NULL ? summary : root_cause;
	res->recommendations = recs;
	res->n_recommendations = n_recs;
	res->confidence = confidence;
	res->findings = fs;
	res->n_findings = 1;
	return TB_OK;
}

int llm_answer_parse(const char *text, tb_arena *a, Testbus__V1__AnalysisResult *res,
                     tb_status *st)
{
	int rv;
	char *clean = answer_unfence(text, a);
	if (clean == NULL)
		return tb_status_set(st, TB_RESOURCE_EXHAUSTED, "out of memory");
	json_tokener *tok = json_tokener_new();
	if (tok == NULL)
		return tb_status_set(st, TB_RESOURCE_EXHAUSTED, "out of memory");
	size_t len = strlen(clean);
	json_object *root = json_tokener_parse_ex(tok, clean, (int)len + 1);
	enum json_tokener_error jerr = json_tokener_get_error(tok);
	size_t end = json_tokener_get_parse_end(tok);
	json_tokener_free(tok);
	if (root != NULL && jerr == json_tokener_success && end < len)
		rv = tb_status_set(st, TB_INVALID_ARGUMENT,
		                   "the model's answer has text after its JSON object");
	else if (root == NULL || jerr != json_tokener_success)
		rv = tb_status_set(st, TB_INVALID_ARGUMENT, "the model's answer is not JSON (%s)",
		                   json_tokener_error_desc(jerr));
	else if (!json_object_is_type(root, json_type_object))
		rv = tb_status_set(st, TB_INVALID_ARGUMENT, "the model's answer is not a JSON object");
	else
		rv = answer_fill(root, a, res, st);
	json_object_put(root);
	return rv;
}

static Testbus__V1__AnalysisResult__MetadataEntry *answer_meta(tb_arena *a,
                                                               Testbus__V1__AnalysisResult *res,
                                                               const char *key)
{
	Testbus__V1__AnalysisResult__MetadataEntry **m =
		tb_arena_zalloc(a, (res->n_metadata + 1) * sizeof(*m));
	Testbus__V1__AnalysisResult__MetadataEntry *e = tb_arena_zalloc(a, sizeof(*e));
	Testbus__V1__Value *v = tb_arena_zalloc(a, sizeof(*v));
	if (m == NULL || e == NULL || v == NULL)
		return NULL;
	if (res->n_metadata > 0)
		memcpy(m, res->metadata, res->n_metadata * sizeof(*m));
	testbus__v1__analysis_result__metadata_entry__init(e);
	testbus__v1__value__init(v);
	e->key = (char *)key;
	e->value = v;
	m[res->n_metadata++] = e;
	res->metadata = m;
	return e;
}

int llm_meta_string(tb_arena *a, Testbus__V1__AnalysisResult *res, const char *key,
                    const char *value)
{
	char *copy = tb_arena_strdup(a, value != NULL ? value : "");
	Testbus__V1__AnalysisResult__MetadataEntry *e = copy ? answer_meta(a, res, key) : NULL;
	if (e == NULL)
		return TB_RESOURCE_EXHAUSTED;
	e->value->kind_case = TESTBUS__V1__VALUE__KIND_STRING_VALUE;
	e->value->string_value = copy;
	return TB_OK;
}

int llm_meta_int(tb_arena *a, Testbus__V1__AnalysisResult *res, const char *key, int64_t value)
{
	Testbus__V1__AnalysisResult__MetadataEntry *e = answer_meta(a, res, key);
	if (e == NULL)
		return TB_RESOURCE_EXHAUSTED;
	e->value->kind_case = TESTBUS__V1__VALUE__KIND_INT_VALUE;
	e->value->int_value = value;
	return TB_OK;
}
