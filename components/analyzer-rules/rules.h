/* The rules analyzer's internals: rule sets loaded from YAML, and the engine that matches them. */
#ifndef TESTBUS_ANALYZER_RULES_H
#define TESTBUS_ANALYZER_RULES_H

#include <stdbool.h>
#include <stddef.h>

#include "testbus/arena.h"
#include "testbus/proto.h"
#include "testbus/status.h"

/* Where in an AnalysisInput a rule looks; a rule's `sources` is a mask of these. */
enum rules_source {
	RULES_SRC_MESSAGE = 1 << 0, /* test failure messages and the run's own error */
	RULES_SRC_OUTPUT = 1 << 1,  /* test output (failure body, system-out/err) */
	RULES_SRC_STDOUT = 1 << 2,  /* the suite's stdout tail */
	RULES_SRC_STDERR = 1 << 3,  /* the suite's stderr tail */
	RULES_SRC_LOGS = 1 << 4,    /* component and cluster log excerpts */
	RULES_SRC_ALL = (1 << 5) - 1,
};

enum rules_syntax {
	RULES_SYNTAX_PCRE2 = 0, /* the default */
	RULES_SYNTAX_POSIX,     /* POSIX extended regex (regcomp) */
};

struct rules_regex; /* one compiled pattern */

/* A rule. Every string is owned by the rule set. */
struct rules_rule {
	char *id;
	char *title;
	char *explanation;   /* may be "" */
	char *suggested_fix; /* may be "" */
	int severity;        /* Testbus__V1__Severity */
	unsigned sources;    /* mask of enum rules_source */
	struct rules_regex **patterns;
	size_t n_patterns;
	char **label_keys; /* scope: every key must carry its value in the input's labels */
	char **label_values;
	size_t n_labels;
	char *origin; /* "file:line" where the rule was defined */
};

typedef struct rules_set {
	struct rules_rule **rules;
	size_t n_rules;
} rules_set;

/* The default ruleset, embedded from default_rules.yaml at build time. */
extern const char rules_default_yaml[];
extern const size_t rules_default_yaml_len;

/* Creates an empty rule set. Caller owns *setp; free with rules_set_free(). */
int rules_set_alloc(rules_set **setp, tb_status *st);

/* Frees set and its rules. set may be NULL. */
void rules_set_free(rules_set *set);

/*
 * Adds the rules of a YAML rule file held in text (len bytes; name is used in
 * errors). A rule whose id is already in the set replaces it, so a later file
 * can override a default rule. On error the set is unchanged and st names the
 * file, the line and what is wrong (TB_INVALID_ARGUMENT), or
 * TB_RESOURCE_EXHAUSTED.
 */
int rules_set_add_yaml(rules_set *set, const char *text, size_t len, const char *name,
                       tb_status *st);

/* rules_set_add_yaml on the file at path; TB_NOT_FOUND when it cannot be read. */
int rules_set_add_file(rules_set *set, const char *path, tb_status *st);

/* Removes the rule id; TB_NOT_FOUND when the set has none. */
int rules_set_remove(rules_set *set, const char *id);

/* The rule id, or NULL. Borrowed from set. */
const struct rules_rule *rules_set_find(const rules_set *set, const char *id);

/* Parses a severity name (info, low, medium, high, critical); -1 when unknown. */
int rules_severity_from_name(const char *name);

/* The lower-case name of a severity; "unspecified" for anything else. */
const char *rules_severity_name(int severity);

/* Frees a rule and what it owns. r may be NULL. */
void rules_rule_release(struct rules_rule *r);

/*
 * Moves the n rules of more (a heap array) into set, each replacing a rule of
 * the same id. Takes ownership of the rules and the array on success; on
 * error (TB_RESOURCE_EXHAUSTED) the caller still owns both.
 */
int rules_set_merge(rules_set *set, struct rules_rule **more, size_t n);

/* --- patterns (rule_set.c) --- */

/*
 * Compiles pattern in syntax. Caller owns *rep; free with rules_regex_free().
 * TB_INVALID_ARGUMENT with the compiler's message when it does not compile.
 */
int rules_regex_compile(const char *pattern, enum rules_syntax syntax, bool ignore_case,
                        struct rules_regex **rep, tb_status *st);

void rules_regex_free(struct rules_regex *re);

/*
 * Finds the first match in text[start, len). On a match returns true and sets
 * *mstart and *mend. text must be NUL-terminated at len. Does not block.
 */
bool rules_regex_search(const struct rules_regex *re, const char *text, size_t len,
                        size_t start, size_t *mstart, size_t *mend);

/* --- the engine (engine.c) --- */

typedef struct rules_opts {
	size_t max_evidence;      /* evidence lines kept per finding; 0: 5 */
	size_t max_evidence_len;  /* bytes kept of one evidence line; 0: 400 */
	size_t max_findings;      /* findings returned; 0: all */
	size_t max_test_cases;    /* test case names kept per finding; 0: 50 */
} rules_opts;

/*
 * Matches the rules of set against in and builds the result: one finding per
 * rule that matched, with its count of matching lines (a line repeated
 * within one test case or one log counts once), distinct evidence lines and
 * the test cases they came from, ranked by severity, then count, then number
 * of test cases. Everything in *outp is allocated from a. opts may be NULL.
 * Returns TB_OK or TB_RESOURCE_EXHAUSTED. Does not block.
 */
int rules_analyze(const rules_set *set, const rules_opts *opts,
                  const Testbus__V1__AnalysisInput *in, tb_arena *a,
                  Testbus__V1__AnalysisResult **outp, tb_status *st);

#endif
