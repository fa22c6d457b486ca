/* Loading rule files: YAML documents (libyaml) into compiled rules, with errors that name the line. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "rules.h"

/* What one rule mapping is read into before its patterns are compiled. */
struct ry_rule {
	const char *name; /* the file, for errors */
	yaml_document_t *doc;
	struct rules_rule *rule;
	yaml_node_t *patterns[64];
	size_t n_patterns;
	enum rules_syntax syntax;
	bool ignore_case;
};

typedef int (*ry_field_fn)(struct ry_rule *r, yaml_node_t *node, tb_status *st);

static int ry_error(struct ry_rule *r, yaml_node_t *node, tb_status *st, const char *what)
{
	const char *id = r->rule != NULL && r->rule->id != NULL ? r->rule->id : "?";
	return tb_status_set(st, TB_INVALID_ARGUMENT, "%s:%zu: rule '%s': %s", r->name,
	                     (size_t)node->start_mark.line + 1, id, what);
}

static const char *ry_scalar(yaml_node_t *node)
{
	if (node == NULL || node->type != YAML_SCALAR_NODE)
		return NULL;
	return (const char *)node->data.scalar.value;
}

/* A copy of a scalar into *dst; an error when node is not a non-empty scalar. */
static int ry_string(struct ry_rule *r, yaml_node_t *node, char **dst, const char *key,
                     tb_status *st)
{
	char what[96];
	const char *s = ry_scalar(node);
	if (s == NULL || s[0] == '\0') {
		snprintf(what, sizeof(what), "%s must be a non-empty string", key);
		return ry_error(r, node, st, what);
	}
	free(*dst);
	if ((*dst = strdup(s)) == NULL)
		return tb_status_set(st, TB_RESOURCE_EXHAUSTED, "out of memory");
	return TB_OK;
}

static int ry_id(struct ry_rule *r, yaml_node_t *node, tb_status *st)
{
	const char *s = ry_scalar(node);
	if (s == NULL || s[0] == '\0' ||
	    strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") !=
	        strlen(s))
		return ry_error(r, node, st, "id must be letters, digits, '.', '_' or '-'");
	return ry_string(r, node, &r->rule->id, "id", st);
}

static int ry_title(struct ry_rule *r, yaml_node_t *node, tb_status *st)
{
	return ry_string(r, node, &r->rule->title, "title", st);
}

static int ry_explanation(struct ry_rule *r, yaml_node_t *node, tb_status *st)
{
	return ry_string(r, node, &r->rule->explanation, "explanation", st);
}

static int ry_fix(struct ry_rule *r, yaml_node_t *node, tb_status *st)
{
	return ry_string(r, node, &r->rule->suggested_fix, "suggested_fix", st);
}

static int ry_severity(struct ry_rule *r, yaml_node_t *node, tb_status *st)
{
	const char *s = ry_scalar(node);
	int sev = s != NULL ? rules_severity_from_name(s) : -1;
	if (sev < 0)
		return ry_error(r, node, st, "severity must be info, low, medium, high or critical");
	r->rule->severity = sev;
	return TB_OK;
}

static int ry_add_pattern(struct ry_rule *r, yaml_node_t *node, tb_status *st)
{
	const char *s = ry_scalar(node);
	if (s == NULL || s[0] == '\0')
		return ry_error(r, node, st, "a pattern must be a non-empty string");
	if (r->n_patterns == sizeof(r->patterns) / sizeof(r->patterns[0]))
		return ry_error(r, node, st, "too many patterns (at most 64)");
	r->patterns[r->n_patterns++] = node;
	return TB_OK;
}

static int ry_pattern(struct ry_rule *r, yaml_node_t *node, tb_status *st)
{
	return ry_add_pattern(r, node, st);
}

static int ry_patterns(struct ry_rule *r, yaml_node_t *node, tb_status *st)
{
	int rv = TB_OK;
	if (node->type != YAML_SEQUENCE_NODE)
		return ry_error(r, node, st, "patterns must be a list of strings");
	for (yaml_node_item_t *it = node->data.sequence.items.start;
	     rv == TB_OK && it < node->data.sequence.items.top; it++)
		rv = ry_add_pattern(r, yaml_document_get_node(r->doc, *it), st);
	return rv;
}

static const struct ry_source_name {
	const char *name;
	unsigned mask;
} ry_source_names[] = {
	{"message", RULES_SRC_MESSAGE}, {"output", RULES_SRC_OUTPUT},
	{"stdout", RULES_SRC_STDOUT},   {"stderr", RULES_SRC_STDERR},
	{"logs", RULES_SRC_LOGS},       {"all", RULES_SRC_ALL},
};

static int ry_source(struct ry_rule *r, yaml_node_t *node, unsigned *mask, tb_status *st)
{
	const char *s = ry_scalar(node);
	for (size_t i = 0; s != NULL && i < sizeof(ry_source_names) / sizeof(ry_source_names[0]);
	     i++) {
		if (strcmp(ry_source_names[i].name, s) == 0) {
			*mask |= ry_source_names[i].mask;
			return TB_OK;
		}
	}
	return ry_error(r, node, st, "sources are message, output, stdout, stderr, logs or all");
}

static int ry_sources(struct ry_rule *r, yaml_node_t *node, tb_status *st)
{
	int rv = TB_OK;
	unsigned mask = 0;
	if (node->type != YAML_SEQUENCE_NODE)
		return ry_error(r, node, st, "sources must be a list");
	for (yaml_node_item_t *it = node->data.sequence.items.start;
	     rv == TB_OK && it < node->data.sequence.items.top; it++)
		rv = ry_source(r, yaml_document_get_node(r->doc, *it), &mask, st);
	if (rv == TB_OK && mask == 0)
		rv = ry_error(r, node, st, "sources must not be empty");
	if (rv == TB_OK)
		r->rule->sources = mask;
	return rv;
}

static int ry_label(struct ry_rule *r, yaml_node_pair_t *pair, tb_status *st)
{
	struct rules_rule *rule = r->rule;
	yaml_node_t *k = yaml_document_get_node(r->doc, pair->key);
	yaml_node_t *v = yaml_document_get_node(r->doc, pair->value);
	if (ry_scalar(k) == NULL || ry_scalar(v) == NULL)
		return ry_error(r, k, st, "labels must map strings to strings");
	size_t n = rule->n_labels;
	char **keys = realloc(rule->label_keys, (n + 1) * sizeof(*keys));
	if (keys != NULL)
		rule->label_keys = keys;
	char **values = keys != NULL ? realloc(rule->label_values, (n + 1) * sizeof(*values)) : NULL;
	if (values != NULL)
		rule->label_values = values;
	if (values == NULL)
		return tb_status_set(st, TB_RESOURCE_EXHAUSTED, "out of memory");
	keys[n] = strdup(ry_scalar(k));
	values[n] = strdup(ry_scalar(v));
	rule->n_labels++;
	if (keys[n] == NULL || values[n] == NULL)
		return tb_status_set(st, TB_RESOURCE_EXHAUSTED, "out of memory");
	return TB_OK;
}

static int ry_labels(struct ry_rule *r, yaml_node_t *node, tb_status *st)
{
	int rv = TB_OK;
	if (node->type != YAML_MAPPING_NODE)
		return ry_error(r, node, st, "labels must be a mapping");
	for (yaml_node_pair_t *p = node->data.mapping.pairs.start;
	     rv == TB_OK && p < node->data.mapping.pairs.top; p++)
		rv = ry_label(r, p, st);
	return rv;
}

static int ry_syntax(struct ry_rule *r, yaml_node_t *node, tb_status *st)
{
	const char *s = ry_scalar(node);
	if (s != NULL && strcmp(s, "pcre2") == 0)
		r->syntax = RULES_SYNTAX_PCRE2;
	else if (s != NULL && strcmp(s, "posix") == 0)
		r->syntax = RULES_SYNTAX_POSIX;
	else
		return ry_error(r, node, st, "syntax must be pcre2 or posix");
	return TB_OK;
}

static int ry_ignore_case(struct ry_rule *r, yaml_node_t *node, tb_status *st)
{
	const char *s = ry_scalar(node);
	if (s != NULL && strcmp(s, "true") == 0)
		r->ignore_case = true;
	else if (s != NULL && strcmp(s, "false") == 0)
		r->ignore_case = false;
	else
		return ry_error(r, node, st, "ignore_case must be true or false");
	return TB_OK;
}

static const struct ry_field {
	const char *key;
	ry_field_fn fn;
} ry_fields[] = {
	{"id", ry_id},
	{"title", ry_title},
	{"severity", ry_severity},
	{"explanation", ry_explanation},
	{"suggested_fix", ry_fix},
	{"pattern", ry_pattern},
	{"patterns", ry_patterns},
	{"sources", ry_sources},
	{"labels", ry_labels},
	{"syntax", ry_syntax},
	{"ignore_case", ry_ignore_case},
};

static int ry_field(struct ry_rule *r, yaml_node_pair_t *pair, tb_status *st)
{
	yaml_node_t *k = yaml_document_get_node(r->doc, pair->key);
	yaml_node_t *v = yaml_document_get_node(r->doc, pair->value);
	const char *key = ry_scalar(k);
	for (size_t i = 0; key != NULL && i < sizeof(ry_fields) / sizeof(ry_fields[0]); i++)
		if (strcmp(ry_fields[i].key, key) == 0)
			return ry_fields[i].fn(r, v, st);
	char what[128];
	snprintf(what, sizeof(what), "unknown key '%.80s'", key != NULL ? key : "?");
	return ry_error(r, k, st, what);
}

/* Checks the required fields, fills defaults and compiles the patterns. */
static int ry_finish(struct ry_rule *r, yaml_node_t *node, tb_status *st)
{
	int rv = TB_OK;
	struct rules_rule *rule = r->rule;
	if (rule->id == NULL || rule->title == NULL || r->n_patterns == 0)
		return ry_error(r, node, st, "id, title and pattern (or patterns) are required");
	if ((rule->explanation == NULL && (rule->explanation = strdup("")) == NULL) ||
	    (rule->suggested_fix == NULL && (rule->suggested_fix = strdup("")) == NULL) ||
	    (rule->patterns = calloc(r->n_patterns, sizeof(*rule->patterns))) == NULL)
		return tb_status_set(st, TB_RESOURCE_EXHAUSTED, "out of memory");
	for (size_t i = 0; rv == TB_OK && i < r->n_patterns; i++) {
		tb_status pst;
		rv = rules_regex_compile(ry_scalar(r->patterns[i]), r->syntax, r->ignore_case,
		                         &rule->patterns[i], &pst);
		if (rv == TB_OK)
			rule->n_patterns++;
		else if (rv == TB_INVALID_ARGUMENT)
			rv = ry_error(r, r->patterns[i], st, pst.message);
		else
			tb_status_set(st, rv, "%s", pst.message);
	}
	return rv;
}

static int ry_rule_load(const char *name, yaml_document_t *doc, yaml_node_t *node,
                        struct rules_rule **rulep, tb_status *st)
{
	int rv = TB_OK;
	char origin[256];
	struct ry_rule r = {.name = name, .doc = doc};
	if ((r.rule = calloc(1, sizeof(*r.rule))) == NULL) {
		rv = tb_status_set(st, TB_RESOURCE_EXHAUSTED, "out of memory");
		goto out;
	}
	r.rule->severity = TESTBUS__V1__SEVERITY__SEVERITY_MEDIUM;
	r.rule->sources = RULES_SRC_ALL;
	if (node->type != YAML_MAPPING_NODE) {
		rv = ry_error(&r, node, st, "a rule must be a mapping");
		goto out;
	}
	for (yaml_node_pair_t *p = node->data.mapping.pairs.start;
	     rv == TB_OK && p < node->data.mapping.pairs.top; p++)
		rv = ry_field(&r, p, st);
	if (rv == TB_OK)
		rv = ry_finish(&r, node, st);
	snprintf(origin, sizeof(origin), "%s:%zu", name, (size_t)node->start_mark.line + 1);
	if (rv == TB_OK && (r.rule->origin = strdup(origin)) == NULL)
		rv = tb_status_set(st, TB_RESOURCE_EXHAUSTED, "out of memory");
out:
	if (rv != TB_OK) {
		rules_rule_release(r.rule);
		r.rule = NULL;
	}
	*rulep = r.rule;
	return rv;
}

/* The sequence of rules: the root itself, or the root mapping's `rules`. */
static int ry_rules_node(const char *name, yaml_document_t *doc, yaml_node_t **seqp,
                         tb_status *st)
{
	yaml_node_t *root = yaml_document_get_root_node(doc);
	if (root != NULL && root->type == YAML_MAPPING_NODE) {
		yaml_node_t *seq = NULL;
		for (yaml_node_pair_t *p = root->data.mapping.pairs.start;
		     p < root->data.mapping.pairs.top; p++) {
			const char *key = ry_scalar(yaml_document_get_node(doc, p->key));
			if (key != NULL && strcmp(key, "rules") == 0)
				seq = yaml_document_get_node(doc, p->value);
			else if (key == NULL || strcmp(key, "version") != 0)
				return tb_status_set(st, TB_INVALID_ARGUMENT,
				                     "%s: unknown top-level key '%s' (expected rules)",
				                     name, key != NULL ? key : "?");
		}
		root = seq;
	}
	if (root == NULL || root->type != YAML_SEQUENCE_NODE)
		return tb_status_set(st, TB_INVALID_ARGUMENT,
		                     "%s: expected a list of rules (under `rules:`)", name);
	*seqp = root;
	return TB_OK;
}

static void ry_rules_free(struct rules_rule **rules, size_t n)
{
	for (size_t i = 0; rules != NULL && i < n; i++)
		rules_rule_release(rules[i]);
	free(rules);
}

static int ry_check_duplicate(struct rules_rule **rules, size_t n, tb_status *st)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(rules[i]->id, rules[n]->id) == 0)
			return tb_status_set(st, TB_INVALID_ARGUMENT,
			                     "%s: rule id '%s' is also defined at %s", rules[n]->origin,
			                     rules[n]->id, rules[i]->origin);
	return TB_OK;
}

static int ry_load_all(const char *name, yaml_document_t *doc, rules_set *set, tb_status *st)
{
	int rv = TB_OK;
	yaml_node_t *seq = NULL;
	struct rules_rule **rules = NULL;
	size_t n = 0;
	if ((rv = ry_rules_node(name, doc, &seq, st)) != TB_OK)
		goto out;
	size_t cap = (size_t)(seq->data.sequence.items.top - seq->data.sequence.items.start);
	if ((rules = calloc(cap + 1, sizeof(*rules))) == NULL) {
		rv = tb_status_set(st, TB_RESOURCE_EXHAUSTED, "out of memory");
		goto out;
	}
	for (size_t i = 0; rv == TB_OK && i < cap; i++) {
		yaml_node_t *node = yaml_document_get_node(doc, seq->data.sequence.items.start[i]);
		if ((rv = ry_rule_load(name, doc, node, &rules[n], st)) == TB_OK) {
			rv = ry_check_duplicate(rules, n, st);
			n++;
		}
	}
	if (rv == TB_OK && (rv = rules_set_merge(set, rules, n)) != TB_OK)
		tb_status_set(st, rv, "out of memory");
	if (rv == TB_OK)
		rules = NULL;
out:
	ry_rules_free(rules, n);
	return rv;
}

int rules_set_add_yaml(rules_set *set, const char *text, size_t len, const char *name,
                       tb_status *st)
{
	int rv = TB_OK;
	yaml_parser_t parser;
	yaml_document_t doc;
	bool have_doc = false;
	if (!yaml_parser_initialize(&parser))
		return tb_status_set(st, TB_RESOURCE_EXHAUSTED, "out of memory");
	yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
	if (!yaml_parser_load(&parser, &doc)) {
		rv = tb_status_set(st, TB_INVALID_ARGUMENT, "%s:%zu: %s", name,
		                   (size_t)parser.problem_mark.line + 1,
		                   parser.problem != NULL ? parser.problem : "invalid YAML");
		goto out;
	}
	have_doc = true;
	rv = ry_load_all(name, &doc, set, st);
out:
	if (have_doc)
		yaml_document_delete(&doc);
	yaml_parser_delete(&parser);
	return rv;
}
