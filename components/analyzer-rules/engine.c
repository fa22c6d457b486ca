/* The rules engine: matches rules over an AnalysisInput's texts and ranks the deduplicated findings. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rules.h"
#include "testbus/value.h"

#define ENG_DEFAULT_EVIDENCE 5
#define ENG_DEFAULT_EVIDENCE_LEN 400
#define ENG_DEFAULT_TESTS 50
#define ENG_MAX_RECOMMENDATIONS 10

/* One text to scan, with where it came from. */
struct eng_text {
	unsigned source;    /* enum rules_source */
	unsigned group;     /* texts of one test case (or one log) share a group */
	const char *origin; /* test name or stream/log name */
	const char *test;   /* the failed test it belongs to, or NULL */
	const char *text;
};

/* What one rule has matched so far. */
struct eng_hit {
	const struct rules_rule *rule;
	size_t order; /* position in the rule set, the last tie-breaker */
	uint32_t count;
	char **evidence;
	size_t n_evidence;
	char **tests;
	size_t n_tests;    /* kept names */
	size_t all_tests;  /* distinct tests, kept or not */
};

/* A set of 64-bit hashes (open addressing, 0 is empty). */
struct eng_seen {
	uint64_t *slots;
	size_t cap;
	size_t n;
};

struct eng {
	tb_arena *a;
	rules_opts o;
	const Testbus__V1__AnalysisInput *in;
	struct eng_text *texts;
	size_t n_texts;
	size_t cap_texts;
	struct eng_hit *hits; /* one per rule of the set */
	struct eng_seen seen;
	unsigned next_group;
};

static uint64_t eng_hash(uint64_t h, const void *p, size_t n)
{
	const unsigned char *s = p;
	for (size_t i = 0; i < n; i++)
		h = (h ^ s[i]) * 1099511628211ull;
	return h;
}

/* Adds h to the set; returns 1 when new, 0 when seen before, -1 out of memory. */
static int eng_seen_add(struct eng *e, uint64_t h)
{
	struct eng_seen *s = &e->seen;
	h = h == 0 ? 1 : h;
	if (2 * (s->n + 1) > s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 1024;
		uint64_t *slots = tb_arena_zalloc(e->a, cap * sizeof(*slots));
		if (slots == NULL)
			return -1;
		for (size_t i = 0; i < s->cap; i++) {
			size_t j = s->slots[i] % cap;
			while (s->slots[i] != 0 && slots[j] != 0)
				j = (j + 1) % cap;
			slots[j] = s->slots[i];
		}
		s->slots = slots;
		s->cap = cap;
	}
	size_t j = h % s->cap;
	while (s->slots[j] != 0 && s->slots[j] != h)
		j = (j + 1) % s->cap;
	if (s->slots[j] == h)
		return 0;
	s->slots[j] = h;
	s->n++;
	return 1;
}

static int eng_add_text(struct eng *e, unsigned source, unsigned group, const char *origin,
                        const char *test, const char *text)
{
	if (text == NULL || text[0] == '\0')
		return TB_OK;
	if (e->n_texts == e->cap_texts) {
		size_t cap = e->cap_texts ? e->cap_texts * 2 : 32;
		struct eng_text *t = tb_arena_zalloc(e->a, cap * sizeof(*t));
		if (t == NULL)
			return TB_RESOURCE_EXHAUSTED;
		if (e->n_texts > 0)
			memcpy(t, e->texts, e->n_texts * sizeof(*t));
		e->texts = t;
		e->cap_texts = cap;
	}
	e->texts[e->n_texts++] = (struct eng_text){source, group, origin, test, text};
	return TB_OK;
}

static bool eng_test_failed(const Testbus__V1__TestCase *tc)
{
	return tc->status == TESTBUS__V1__TEST_STATUS__TEST_FAILED ||
	       tc->status == TESTBUS__V1__TEST_STATUS__TEST_ERROR || tc->flaky;
}

static int eng_collect_test(struct eng *e, const Testbus__V1__TestCase *tc)
{
	int rv;
	unsigned g = e->next_group++;
	const char *name = tc->name[0] != '\0' ? tc->name : "(unnamed test)";
	if ((rv = eng_add_text(e, RULES_SRC_MESSAGE, g, name, name, tc->message)) != TB_OK ||
	    (rv = eng_add_text(e, RULES_SRC_OUTPUT, g, name, name, tc->output)) != TB_OK)
		return rv;
	for (size_t i = 0; i < tc->n_attempts; i++)
		if ((rv = eng_add_text(e, RULES_SRC_MESSAGE, g, name, name,
		                       tc->attempts[i]->message)) != TB_OK)
			return rv;
	return TB_OK;
}

/* Gathers the texts: failed tests, the run's error and tails, then the logs. */
static int eng_collect(struct eng *e)
{
	int rv = TB_OK;
	const Testbus__V1__ExecutionResult *r = e->in->result;
	for (size_t i = 0; r != NULL && rv == TB_OK && i < r->n_test_cases; i++)
		if (eng_test_failed(r->test_cases[i]))
			rv = eng_collect_test(e, r->test_cases[i]);
	if (r != NULL && rv == TB_OK)
		rv = eng_add_text(e, RULES_SRC_MESSAGE, e->next_group++, "error", NULL, r->error);
	if (r != NULL && rv == TB_OK)
		rv = eng_add_text(e, RULES_SRC_STDOUT, e->next_group++, "stdout", NULL, r->stdout_tail);
	if (r != NULL && rv == TB_OK)
		rv = eng_add_text(e, RULES_SRC_STDERR, e->next_group++, "stderr", NULL, r->stderr_tail);
	for (size_t i = 0; rv == TB_OK && i < e->in->n_logs; i++) {
		const Testbus__V1__LogExcerpt *l = e->in->logs[i];
		rv = eng_add_text(e, RULES_SRC_LOGS, e->next_group++,
		                  l->name[0] != '\0' ? l->name : "log", NULL, l->text);
	}
	return rv;
}

static const char *eng_label(const struct eng *e, const char *key)
{
	const char *v = tb_map_get(e->in->labels, e->in->n_labels, key);
	if (v == NULL && e->in->result != NULL)
		v = tb_map_get(e->in->result->labels, e->in->result->n_labels, key);
	return v;
}

/* A rule with labels applies only when the input carries every one of them. */
static bool eng_rule_in_scope(const struct eng *e, const struct rules_rule *rule)
{
	for (size_t i = 0; i < rule->n_labels; i++) {
		const char *v = eng_label(e, rule->label_keys[i]);
		if (v == NULL || strcmp(v, rule->label_values[i]) != 0)
			return false;
	}
	return true;
}

/* The evidence line: trimmed, cut to the limit on a UTF-8 boundary. */
static char *eng_evidence(struct eng *e, const char *line, size_t len)
{
	while (len > 0 && (line[0] == ' ' || line[0] == '\t')) {
		line++;
		len--;
	}
	while (len > 0 && (line[len - 1] == ' ' || line[len - 1] == '\t' || line[len - 1] == '\r'))
		len--;
	if (len > e->o.max_evidence_len) {
		len = e->o.max_evidence_len;
		while (len > 0 && ((unsigned char)line[len] & 0xC0) == 0x80)
			len--;
	}
	return tb_arena_memdup(e->a, line, len);
}

static int eng_note_test(struct eng *e, size_t ri, struct eng_hit *h, const char *test)
{
	uint64_t k = eng_hash(eng_hash(14695981039346656037ull, &ri, sizeof(ri)), "T", 1);
	int fresh = eng_seen_add(e, eng_hash(k, test, strlen(test)));
	if (fresh <= 0)
		return fresh < 0 ? TB_RESOURCE_EXHAUSTED : TB_OK;
	h->all_tests++;
	if (h->n_tests < e->o.max_test_cases)
		h->tests[h->n_tests++] = tb_arena_strdup(e->a, test);
	return TB_OK;
}

static int eng_note_evidence(struct eng *e, size_t ri, struct eng_hit *h, const char *line,
                             size_t len)
{
	char *ev = eng_evidence(e, line, len);
	if (ev == NULL)
		return TB_RESOURCE_EXHAUSTED;
	uint64_t k = eng_hash(eng_hash(14695981039346656037ull, &ri, sizeof(ri)), "E", 1);
	int fresh = eng_seen_add(e, eng_hash(k, ev, strlen(ev)));
	if (fresh < 0)
		return TB_RESOURCE_EXHAUSTED;
	if (fresh > 0 && h->n_evidence < e->o.max_evidence)
		h->evidence[h->n_evidence++] = ev;
	return TB_OK;
}

/* Records that rule ri matched line of text t. */
static int eng_hit_line(struct eng *e, size_t ri, const struct eng_text *t, const char *line,
                        size_t len)
{
	struct eng_hit *h = &e->hits[ri];
	uint64_t k = eng_hash(14695981039346656037ull, &ri, sizeof(ri));
	k = eng_hash(k, &t->group, sizeof(t->group));
	int fresh = eng_seen_add(e, eng_hash(k, line, len));
	if (fresh <= 0)
		return fresh < 0 ? TB_RESOURCE_EXHAUSTED : TB_OK;
	if (h->evidence == NULL) {
		h->evidence = tb_arena_zalloc(e->a, e->o.max_evidence * sizeof(char *));
		h->tests = tb_arena_zalloc(e->a, e->o.max_test_cases * sizeof(char *));
		if (h->evidence == NULL || h->tests == NULL)
			return TB_RESOURCE_EXHAUSTED;
	}
	h->count++;
	int rv = eng_note_evidence(e, ri, h, line, len);
	if (rv == TB_OK && t->test != NULL)
		rv = eng_note_test(e, ri, h, t->test);
	return rv;
}

/* Runs one pattern over a text, one hit per matching line. */
static int eng_scan(struct eng *e, size_t ri, const struct rules_regex *re,
                    const struct eng_text *t)
{
	int rv = TB_OK;
	size_t len = strlen(t->text), pos = 0, ms, me;
	while (rv == TB_OK && pos < len && rules_regex_search(re, t->text, len, pos, &ms, &me)) {
		size_t ls = ms, le = me > ms ? me - 1 : ms;
		while (ls > 0 && t->text[ls - 1] != '\n')
			ls--;
		while (le < len && t->text[le] != '\n')
			le++;
		rv = eng_hit_line(e, ri, t, t->text + ls, le - ls);
		pos = le + 1;
	}
	return rv;
}

static int eng_match_all(struct eng *e, const rules_set *set)
{
	int rv = TB_OK;
	for (size_t ri = 0; rv == TB_OK && ri < set->n_rules; ri++) {
		const struct rules_rule *rule = set->rules[ri];
		e->hits[ri].rule = rule;
		e->hits[ri].order = ri;
		if (!eng_rule_in_scope(e, rule))
			continue;
		for (size_t ti = 0; rv == TB_OK && ti < e->n_texts; ti++) {
			if ((rule->sources & e->texts[ti].source) == 0)
				continue;
			for (size_t pi = 0; rv == TB_OK && pi < rule->n_patterns; pi++)
				rv = eng_scan(e, ri, rule->patterns[pi], &e->texts[ti]);
		}
	}
	return rv;
}

/* Severity first, then how often, then how many tests, then rule order. */
static int eng_rank(const void *pa, const void *pb)
{
	const struct eng_hit *a = pa, *b = pb;
	if (a->rule->severity != b->rule->severity)
		return b->rule->severity - a->rule->severity;
	if (a->count != b->count)
		return a->count < b->count ? 1 : -1;
	if (a->all_tests != b->all_tests)
		return a->all_tests < b->all_tests ? 1 : -1;
	return a->order < b->order ? -1 : a->order > b->order;
}

static Testbus__V1__Finding *eng_finding(struct eng *e, const struct eng_hit *h)
{
	Testbus__V1__Finding *f = tb_arena_zalloc(e->a, sizeof(*f));
	if (f == NULL)
		return NULL;
	testbus__v1__finding__init(f);
	const struct rules_rule *r = h->rule;
	f->rule_id = tb_arena_strdup(e->a, r->id);
	f->title = tb_arena_strdup(e->a, r->title);
	f->explanation = tb_arena_strdup(e->a, r->explanation);
	f->suggested_fix = tb_arena_strdup(e->a, r->suggested_fix);
	f->severity = (Testbus__V1__Severity)r->severity;
	f->count = h->count;
	f->evidence = h->evidence;
	f->n_evidence = h->n_evidence;
	f->test_cases = h->tests;
	f->n_test_cases = h->n_tests;
	/* Orders like eng_rank: the severity level plus a frequency fraction. */
	f->score = (double)r->severity + (double)h->count / ((double)h->count + 1.0);
	if (f->rule_id == NULL || f->title == NULL || f->explanation == NULL ||
	    f->suggested_fix == NULL)
		return NULL;
	return f;
}

static Testbus__V1__AnalysisResult__MetadataEntry *eng_meta_int(tb_arena *a, const char *key,
                                                                int64_t n)
{
	Testbus__V1__AnalysisResult__MetadataEntry *m = tb_arena_zalloc(a, sizeof(*m));
	Testbus__V1__Value *v = tb_arena_zalloc(a, sizeof(*v));
	if (m == NULL || v == NULL)
		return NULL;
	testbus__v1__analysis_result__metadata_entry__init(m);
	testbus__v1__value__init(v);
	v->kind_case = TESTBUS__V1__VALUE__KIND_INT_VALUE;
	v->int_value = n;
	m->key = (char *)key;
	m->value = v;
	return m;
}

/* The distinct suggested fixes, in rank order. */
static int eng_recommendations(tb_arena *a, Testbus__V1__AnalysisResult *res)
{
	res->recommendations = tb_arena_zalloc(a, (res->n_findings + 1) * sizeof(char *));
	if (res->recommendations == NULL)
		return TB_RESOURCE_EXHAUSTED;
	for (size_t i = 0; i < res->n_findings; i++) {
		const char *fix = res->findings[i]->suggested_fix;
		bool dup = fix[0] == '\0' || res->n_recommendations == ENG_MAX_RECOMMENDATIONS;
		for (size_t j = 0; !dup && j < res->n_recommendations; j++)
			dup = strcmp(res->recommendations[j], fix) == 0;
		if (!dup)
			res->recommendations[res->n_recommendations++] = (char *)fix;
	}
	return TB_OK;
}

static char *eng_summary(tb_arena *a, const Testbus__V1__AnalysisResult *res, size_t n_rules,
                         size_t n_texts)
{
	if (res->n_findings == 0)
		return tb_arena_printf(a, "No known failure signature: %zu rules matched nothing in %zu texts",
		                       n_rules, n_texts);
	const Testbus__V1__Finding *top = res->findings[0];
	return tb_arena_printf(a, "%zu finding%s; most likely: %s (%s, %u matching line%s)",
	                       res->n_findings, res->n_findings == 1 ? "" : "s", top->title,
	                       rules_severity_name(top->severity), top->count,
	                       top->count == 1 ? "" : "s");
}

/* Fills the summary, root cause, recommendations and metadata. */
static int eng_result_finish(tb_arena *a, Testbus__V1__AnalysisResult *res, size_t n_rules,
                             size_t n_texts)
{
	res->analyzer = "rules";
	res->summary = eng_summary(a, res, n_rules, n_texts);
	if (res->n_findings > 0)
		res->root_cause = res->findings[0]->title;
	res->metadata = tb_arena_zalloc(a, 2 * sizeof(*res->metadata));
	if (res->summary == NULL || res->metadata == NULL)
		return TB_RESOURCE_EXHAUSTED;
	res->metadata[0] = eng_meta_int(a, "rules", (int64_t)n_rules);
	res->metadata[1] = eng_meta_int(a, "texts_scanned", (int64_t)n_texts);
	res->n_metadata = 2;
	if (res->metadata[0] == NULL || res->metadata[1] == NULL)
		return TB_RESOURCE_EXHAUSTED;
	return eng_recommendations(a, res);
}

static int eng_result(struct eng *e, const rules_set *set, Testbus__V1__AnalysisResult **outp)
{
	size_t n = 0;
	for (size_t i = 0; i < set->n_rules; i++)
		if (e->hits[i].count > 0)
			e->hits[n++] = e->hits[i];
	qsort(e->hits, n, sizeof(e->hits[0]), eng_rank);
	if (e->o.max_findings > 0 && n > e->o.max_findings)
		n = e->o.max_findings;
	Testbus__V1__AnalysisResult *res = tb_arena_zalloc(e->a, sizeof(*res));
	Testbus__V1__Finding **fs = tb_arena_zalloc(e->a, (n + 1) * sizeof(*fs));
	if (res == NULL || fs == NULL)
		return TB_RESOURCE_EXHAUSTED;
	testbus__v1__analysis_result__init(res);
	for (size_t i = 0; i < n; i++)
		if ((fs[i] = eng_finding(e, &e->hits[i])) == NULL)
			return TB_RESOURCE_EXHAUSTED;
	res->findings = fs;
	res->n_findings = n;
	int rv = eng_result_finish(e->a, res, set->n_rules, e->n_texts);
	if (rv == TB_OK)
		*outp = res;
	return rv;
}

static void eng_opts(rules_opts *o, const rules_opts *given)
{
	if (given != NULL)
		*o = *given;
	else
		memset(o, 0, sizeof(*o));
	if (o->max_evidence == 0)
		o->max_evidence = ENG_DEFAULT_EVIDENCE;
	if (o->max_evidence_len == 0)
		o->max_evidence_len = ENG_DEFAULT_EVIDENCE_LEN;
	if (o->max_test_cases == 0)
		o->max_test_cases = ENG_DEFAULT_TESTS;
}

int rules_analyze(const rules_set *set, const rules_opts *opts,
                  const Testbus__V1__AnalysisInput *in, tb_arena *a,
                  Testbus__V1__AnalysisResult **outp, tb_status *st)
{
	int rv = TB_OK;
	Testbus__V1__AnalysisResult *res = NULL;
	struct eng e = {.a = a, .in = in};
	eng_opts(&e.o, opts);
	if ((e.hits = tb_arena_zalloc(a, (set->n_rules + 1) * sizeof(*e.hits))) == NULL ||
	    (rv = eng_collect(&e)) != TB_OK || (rv = eng_match_all(&e, set)) != TB_OK ||
	    (rv = eng_result(&e, set, &res)) != TB_OK) {
		rv = tb_status_set(st, TB_RESOURCE_EXHAUSTED, "out of memory while matching rules");
		goto out;
	}
out:
	if (rv == TB_OK)
		*outp = res;
	return rv;
}
