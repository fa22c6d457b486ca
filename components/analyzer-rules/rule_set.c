/* Rule sets: holding, replacing and removing rules, severities, and compiled patterns. */
#define PCRE2_CODE_UNIT_WIDTH 8
#include <errno.h>
#include <pcre2.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rules.h"

struct rules_regex {
	enum rules_syntax syntax;
	pcre2_code *pcre;
	regex_t posix;
	bool posix_ok;
};

static const char *const rules_severity_names[] = {
	[TESTBUS__V1__SEVERITY__SEVERITY_INFO] = "info",
	[TESTBUS__V1__SEVERITY__SEVERITY_LOW] = "low",
	[TESTBUS__V1__SEVERITY__SEVERITY_MEDIUM] = "medium",
	[TESTBUS__V1__SEVERITY__SEVERITY_HIGH] = "high",
	[TESTBUS__V1__SEVERITY__SEVERITY_CRITICAL] = "critical",
};

#define RULES_N_SEVERITIES (sizeof(rules_severity_names) / sizeof(rules_severity_names[0]))

int rules_severity_from_name(const char *name)
{
	for (size_t i = 1; i < RULES_N_SEVERITIES; i++)
		if (strcmp(rules_severity_names[i], name) == 0)
			return (int)i;
	return -1;
}

const char *rules_severity_name(int severity)
{
	if (severity < 1 || (size_t)severity >= RULES_N_SEVERITIES)
		return "unspecified";
	return rules_severity_names[severity];
}

int rules_regex_compile(const char *pattern, enum rules_syntax syntax, bool ignore_case,
                        struct rules_regex **rep, tb_status *st)
{
	int rv = TB_OK;
	struct rules_regex *re = calloc(1, sizeof(*re));
	if (re == NULL) {
		rv = tb_status_set(st, TB_RESOURCE_EXHAUSTED, "out of memory");
		goto out;
	}
	re->syntax = syntax;
	if (syntax == RULES_SYNTAX_POSIX) {
		int err = regcomp(&re->posix, pattern,
		                  REG_EXTENDED | REG_NEWLINE | (ignore_case ? REG_ICASE : 0));
		if (err != 0) {
			char msg[160];
			regerror(err, &re->posix, msg, sizeof(msg));
			rv = tb_status_set(st, TB_INVALID_ARGUMENT, "pattern '%s': %s", pattern, msg);
			goto out;
		}
		re->posix_ok = true;
	} else {
		int err;
		PCRE2_SIZE off;
		re->pcre = pcre2_compile((PCRE2_SPTR)pattern, PCRE2_ZERO_TERMINATED,
		                         ignore_case ? PCRE2_CASELESS : 0, &err, &off, NULL);
		if (re->pcre == NULL) {
			PCRE2_UCHAR msg[160];
			pcre2_get_error_message(err, msg, sizeof(msg));
			rv = tb_status_set(st, TB_INVALID_ARGUMENT, "pattern '%s' at offset %zu: %s",
			                   pattern, (size_t)off, (const char *)msg);
			goto out;
		}
		(void)pcre2_jit_compile(re->pcre, PCRE2_JIT_COMPLETE); /* optional speed-up */
	}
out:
	if (rv != TB_OK) {
		rules_regex_free(re);
		re = NULL;
	}
	*rep = re;
	return rv;
}

void rules_regex_free(struct rules_regex *re)
{
	if (re == NULL)
		return;
	pcre2_code_free(re->pcre);
	if (re->posix_ok)
		regfree(&re->posix);
	free(re);
}

static bool rules_regex_search_pcre(const struct rules_regex *re, const char *text, size_t len,
                                    size_t start, size_t *mstart, size_t *mend)
{
	pcre2_match_data *md = pcre2_match_data_create_from_pattern(re->pcre, NULL);
	if (md == NULL)
		return false;
	int rc = pcre2_match(re->pcre, (PCRE2_SPTR)text, len, start, 0, md, NULL);
	if (rc >= 0) {
		PCRE2_SIZE *ov = pcre2_get_ovector_pointer(md);
		*mstart = ov[0];
		*mend = ov[1];
	}
	pcre2_match_data_free(md);
	return rc >= 0;
}

bool rules_regex_search(const struct rules_regex *re, const char *text, size_t len,
                        size_t start, size_t *mstart, size_t *mend)
{
	if (start > len)
		return false;
	if (re->syntax != RULES_SYNTAX_POSIX)
		return rules_regex_search_pcre(re, text, len, start, mstart, mend);
	regmatch_t m[1];
	m[0].rm_so = (regoff_t)start;
	m[0].rm_eo = (regoff_t)len;
	int flags = REG_STARTEND | (start > 0 && text[start - 1] != '\n' ? REG_NOTBOL : 0);
	if (regexec(&re->posix, text, 1, m, flags) != 0)
		return false;
	*mstart = (size_t)m[0].rm_so;
	*mend = (size_t)m[0].rm_eo;
	return true;
}

static void rules_rule_free(struct rules_rule *r)
{
	if (r == NULL)
		return;
	free(r->id);
	free(r->title);
	free(r->explanation);
	free(r->suggested_fix);
	free(r->origin);
	for (size_t i = 0; i < r->n_patterns; i++)
		rules_regex_free(r->patterns[i]);
	free(r->patterns);
	for (size_t i = 0; i < r->n_labels; i++) {
		free(r->label_keys[i]);
		free(r->label_values[i]);
	}
	free(r->label_keys);
	free(r->label_values);
	free(r);
}

void rules_rule_release(struct rules_rule *r)
{
	rules_rule_free(r);
}

int rules_set_alloc(rules_set **setp, tb_status *st)
{
	rules_set *set = calloc(1, sizeof(*set));
	if (set == NULL)
		return tb_status_set(st, TB_RESOURCE_EXHAUSTED, "out of memory");
	*setp = set;
	return TB_OK;
}

void rules_set_free(rules_set *set)
{
	if (set == NULL)
		return;
	for (size_t i = 0; i < set->n_rules; i++)
		rules_rule_free(set->rules[i]);
	free(set->rules);
	free(set);
}

static long rules_set_index(const rules_set *set, const char *id)
{
	for (size_t i = 0; i < set->n_rules; i++)
		if (strcmp(set->rules[i]->id, id) == 0)
			return (long)i;
	return -1;
}

const struct rules_rule *rules_set_find(const rules_set *set, const char *id)
{
	long i = rules_set_index(set, id);
	return i < 0 ? NULL : set->rules[i];
}

int rules_set_remove(rules_set *set, const char *id)
{
	long i = rules_set_index(set, id);
	if (i < 0)
		return TB_NOT_FOUND;
	rules_rule_free(set->rules[i]);
	memmove(&set->rules[i], &set->rules[i + 1],
	        (set->n_rules - (size_t)i - 1) * sizeof(set->rules[0]));
	set->n_rules--;
	return TB_OK;
}

int rules_set_merge(rules_set *set, struct rules_rule **more, size_t n)
{
	if (n == 0) {
		free(more);
		return TB_OK;
	}
	struct rules_rule **rules = realloc(set->rules, (set->n_rules + n) * sizeof(*rules));
	if (rules == NULL)
		return TB_RESOURCE_EXHAUSTED;
	set->rules = rules;
	for (size_t i = 0; i < n; i++) {
		long at = rules_set_index(set, more[i]->id);
		if (at >= 0) {
			rules_rule_free(set->rules[at]);
			set->rules[at] = more[i];
		} else {
			set->rules[set->n_rules++] = more[i];
		}
	}
	free(more);
	return TB_OK;
}

int rules_set_add_file(rules_set *set, const char *path, tb_status *st)
{
	int rv = TB_OK;
	char *text = NULL;
	size_t len = 0;
	FILE *f = fopen(path, "rb");
	if (f == NULL) {
		rv = tb_status_set(st, TB_NOT_FOUND, "rule file %s: %s", path, strerror(errno));
		goto out;
	}
	FILE *mem = open_memstream(&text, &len);
	if (mem == NULL) {
		rv = tb_status_set(st, TB_RESOURCE_EXHAUSTED, "out of memory");
		goto out;
	}
	char buf[8192];
	size_t n;
	while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
		fwrite(buf, 1, n, mem);
	bool bad = ferror(f) != 0;
	fclose(mem);
	if (bad) {
		rv = tb_status_set(st, TB_NOT_FOUND, "rule file %s: read error", path);
		goto out;
	}
	rv = rules_set_add_yaml(set, text, len, path, st);
out:
	if (f != NULL)
		fclose(f);
	free(text);
	return rv;
}
