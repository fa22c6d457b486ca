/* testbus-analyzer-rules: the Analyzer service over a rule set, with its config. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rules.h"
#include "should_analyze.h"
#include "testbus/testbus.h"

#define RULES_REASON_MAX 160
#define RULES_LIMIT_MAX 10000

/* The state the handlers share; swapped whole by Configure. */
static struct rules_state {
	pthread_rwlock_t lock;
	rules_set *set;
	rules_opts opts;
	tb_analyze_policy policy;
} rules_state = {.lock = PTHREAD_RWLOCK_INITIALIZER};

/* A configuration being read, applied only when all of it is valid. */
struct rules_conf {
	rules_set *set;
	bool defaults;
	const char **files;
	size_t n_files;
	const char **disabled;
	size_t n_disabled;
	rules_opts opts;
	tb_analyze_policy policy;
};

typedef int (*rules_key_fn)(struct rules_conf *c, const Testbus__V1__Value *v, const char *key,
                            tb_status *st);

static int rules_key_bool(struct rules_conf *c, const Testbus__V1__Value *v, const char *key,
                          tb_status *st)
{
	bool b;
	if (tb_value_bool(v, &b) != TB_OK)
		return tb_status_set(st, TB_INVALID_ARGUMENT, "%s: expected true or false", key);
	c->defaults = b;
	return TB_OK;
}

static int rules_key_list(const Testbus__V1__Value *v, const char *key, const char ***outp,
                          size_t *np, tb_status *st)
{
	const char *one = tb_value_string(v);
	if (one != NULL) { /* a single string stands for a list of one */
		const char **l = calloc(2, sizeof(*l));
		if (l == NULL)
			return tb_status_set(st, TB_RESOURCE_EXHAUSTED, "out of memory");
		l[0] = one;
		*outp = l;
		*np = 1;
		return TB_OK;
	}
	if (tb_value_string_list(v, outp, np) != TB_OK)
		return tb_status_set(st, TB_INVALID_ARGUMENT, "%s: expected a list of strings", key);
	return TB_OK;
}

static int rules_key_files(struct rules_conf *c, const Testbus__V1__Value *v, const char *key,
                           tb_status *st)
{
	return rules_key_list(v, key, &c->files, &c->n_files, st);
}

static int rules_key_disabled(struct rules_conf *c, const Testbus__V1__Value *v,
                              const char *key, tb_status *st)
{
	return rules_key_list(v, key, &c->disabled, &c->n_disabled, st);
}

static int rules_key_size(const Testbus__V1__Value *v, const char *key, size_t *out,
                          tb_status *st)
{
	int64_t n;
	if (tb_value_int(v, &n) != TB_OK || n < 1 || n > RULES_LIMIT_MAX)
		return tb_status_set(st, TB_INVALID_ARGUMENT, "%s: expected a number from 1 to %d",
		                     key, RULES_LIMIT_MAX);
	*out = (size_t)n;
	return TB_OK;
}

static int rules_key_evidence(struct rules_conf *c, const Testbus__V1__Value *v,
                              const char *key, tb_status *st)
{
	return rules_key_size(v, key, &c->opts.max_evidence, st);
}

static int rules_key_findings(struct rules_conf *c, const Testbus__V1__Value *v,
                              const char *key, tb_status *st)
{
	return rules_key_size(v, key, &c->opts.max_findings, st);
}

/* The keys this analyzer reads; should_analyze.c reads the policy keys. */
static const struct rules_key {
	const char *key;
	rules_key_fn fn;
} rules_keys[] = {
	{"default_rules", rules_key_bool},
	{"rule_files", rules_key_files},
	{"disabled_rules", rules_key_disabled},
	{"max_evidence", rules_key_evidence},
	{"max_findings", rules_key_findings},
	{"should_analyze", NULL},
	{"min_failures", NULL},
};

static int rules_conf_key(struct rules_conf *c, const char *key, const Testbus__V1__Value *v,
                          tb_status *st)
{
	for (size_t i = 0; i < sizeof(rules_keys) / sizeof(rules_keys[0]); i++)
		if (strcmp(rules_keys[i].key, key) == 0)
			return rules_keys[i].fn != NULL ? rules_keys[i].fn(c, v, key, st) : TB_OK;
	fprintf(stderr, "testbus-analyzer-rules: ignoring unknown config key '%s'\n", key);
	return TB_OK;
}

/* Builds the rule set the conf asks for into c->set. */
static int rules_conf_build(struct rules_conf *c, tb_status *st)
{
	int rv = rules_set_alloc(&c->set, st);
	if (rv == TB_OK && c->defaults)
		rv = rules_set_add_yaml(c->set, rules_default_yaml, rules_default_yaml_len,
		                        "default_rules.yaml", st);
	for (size_t i = 0; rv == TB_OK && i < c->n_files; i++)
		rv = rules_set_add_file(c->set, c->files[i], st);
	for (size_t i = 0; rv == TB_OK && i < c->n_disabled; i++)
		if (rules_set_remove(c->set, c->disabled[i]) != TB_OK)
			rv = tb_status_set(st, TB_INVALID_ARGUMENT,
			                   "disabled_rules: no rule '%s' is loaded", c->disabled[i]);
	if (rv == TB_OK && c->set->n_rules == 0)
		rv = tb_status_set(st, TB_INVALID_ARGUMENT, "no rules left to match");
	return rv;
}

/* Replaces the shared state with c's, freeing the old set. Takes c->set. */
static void rules_state_swap(struct rules_conf *c)
{
	pthread_rwlock_wrlock(&rules_state.lock);
	rules_set *old = rules_state.set;
	rules_state.set = c->set;
	rules_state.opts = c->opts;
	rules_state.policy = c->policy;
	pthread_rwlock_unlock(&rules_state.lock);
	c->set = NULL;
	rules_set_free(old);
}

static int rules_configure(const Testbus__V1__ComponentConfig *config, void *arg, tb_status *st)
{
	int rv = TB_OK;
	struct rules_conf c = {.defaults = true};
	if ((rv = tb_analyze_policy_from_config(config, &c.policy, st)) != TB_OK)
		goto out;
	for (size_t i = 0; config != NULL && rv == TB_OK && i < config->n_config; i++)
		rv = rules_conf_key(&c, config->config[i]->key, config->config[i]->value, st);
	if (rv == TB_OK && (rv = rules_conf_build(&c, st)) == TB_OK)
		rules_state_swap(&c);
out:
	rules_set_free(c.set);
	free(c.files);
	free(c.disabled);
	return rv;
}

static int rules_should_analyze(tb_call *call, const ProtobufCMessage *input,
                                ProtobufCMessage **outputp, void *arg)
{
	tb_arena *a = tb_call_arena(call);
	Testbus__V1__Decision *d = tb_arena_zalloc(a, sizeof(*d));
	char *reason = tb_arena_zalloc(a, RULES_REASON_MAX);
	if (d == NULL || reason == NULL)
		return tb_call_error(call, TB_RESOURCE_EXHAUSTED, "out of memory");
	testbus__v1__decision__init(d);
	pthread_rwlock_rdlock(&rules_state.lock);
	tb_analyze_policy p = rules_state.policy;
	pthread_rwlock_unlock(&rules_state.lock);
	tb_analyze_policy_decide(&p, (const Testbus__V1__ExecutionResult *)input, d, reason,
	                         RULES_REASON_MAX);
	*outputp = &d->base;
	return TB_OK;
}

static int rules_analyze_call(tb_call *call, const ProtobufCMessage *input,
                              ProtobufCMessage **outputp, void *arg)
{
	tb_status st;
	Testbus__V1__AnalysisResult *res = NULL;
	pthread_rwlock_rdlock(&rules_state.lock);
	int rv = rules_analyze(rules_state.set, &rules_state.opts,
	                       (const Testbus__V1__AnalysisInput *)input, tb_call_arena(call), &res,
	                       &st);
	pthread_rwlock_unlock(&rules_state.lock);
	if (rv != TB_OK)
		return tb_call_error(call, rv, "%s", st.message);
	*outputp = &res->base;
	return TB_OK;
}

static const tb_method rules_methods[] = {
	{"ShouldAnalyze", rules_should_analyze},
	{"Analyze", rules_analyze_call},
};

static const char rules_config_help[] =
	"  default_rules: BOOL        load the built-in Kubernetes/OpenShift rules (true)\n"
	"  rule_files: [PATH, ...]    more YAML rule files; a rule id already loaded is replaced\n"
	"  disabled_rules: [ID, ...]  rules to leave out\n"
	"  max_evidence: N            evidence lines kept per finding (5)\n"
	"  max_findings: N            findings returned, best first (all)\n"
	"  should_analyze: on_failure|always|never   (on_failure)\n"
	"  min_failures: N            on_failure: analyse from N failed tests (1)";

int main(int argc, char **argv)
{
	tb_status st;
	if (rules_configure(NULL, NULL, &st) != TB_OK) {
		fprintf(stderr, "testbus-analyzer-rules: default rules: %s\n", st.message);
		return 1;
	}
	const tb_component comp = {
		.name = "rules",
		.kind = TESTBUS__V1__COMPONENT_KIND__KIND_ANALYZER,
		.summary = "Explains failures with pattern rules (a default Kubernetes/OpenShift "
		           "ruleset is built in).",
		.service = &testbus__v1__analyzer__descriptor,
		.methods = rules_methods,
		.n_methods = sizeof(rules_methods) / sizeof(rules_methods[0]),
		.configure = rules_configure,
		.default_capacity = 4,
		.config_help = rules_config_help,
	};
	int status = tb_component_main(&comp, argc, argv);
	rules_set_free(rules_state.set);
	return status;
}
