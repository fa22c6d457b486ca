/* The LLM analyzer's configuration: a table of typed keys read from a ComponentConfig. */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "llm.h"
#include "testbus/value.h"

#define LLM_DEFAULT_TIMEOUT_MS 60000u
#define LLM_DEFAULT_CONNECT_MS 10000u
#define LLM_DEFAULT_RETRIES 3u
#define LLM_DEFAULT_BACKOFF_MS 1000u
#define LLM_DEFAULT_BUDGET 24000u
#define LLM_DEFAULT_MAX_TESTS 20u
#define LLM_DEFAULT_MAX_TOKENS 1500u

/* What a config is read into: the config plus keys that only steer the reading. */
struct conf_read {
	struct llm_config c;
	char *api_key_env;
	int64_t retries;
};

enum conf_type { CONF_STRING, CONF_U32, CONF_SIZE, CONF_INT64, CONF_DOUBLE, CONF_BOOL,
	         CONF_PROVIDER, CONF_LIST, CONF_POLICY };

static const struct conf_key {
	const char *key;
	enum conf_type type;
	size_t offset; /* into struct conf_read */
	double min, max;
} conf_keys[] = {
	{"provider", CONF_PROVIDER, offsetof(struct conf_read, c.provider), 0, 0},
	{"endpoint", CONF_STRING, offsetof(struct conf_read, c.endpoint), 0, 0},
	{"model", CONF_STRING, offsetof(struct conf_read, c.model), 0, 0},
	{"api_key", CONF_STRING, offsetof(struct conf_read, c.api_key), 0, 0},
	{"api_key_env", CONF_STRING, offsetof(struct conf_read, api_key_env), 0, 0},
	{"ca_file", CONF_STRING, offsetof(struct conf_read, c.ca_file), 0, 0},
	{"timeout_ms", CONF_U32, offsetof(struct conf_read, c.timeout_ms), 100, 3600000},
	{"connect_timeout_ms", CONF_U32, offsetof(struct conf_read, c.connect_timeout_ms), 100,
	 600000},
	{"retries", CONF_INT64, offsetof(struct conf_read, retries), 0, 10},
	{"backoff_ms", CONF_U32, offsetof(struct conf_read, c.backoff_ms), 1, 600000},
	{"prompt_budget", CONF_SIZE, offsetof(struct conf_read, c.prompt_budget), 2048, 4194304},
	{"max_tests", CONF_SIZE, offsetof(struct conf_read, c.max_tests), 1, 1000},
	{"temperature", CONF_DOUBLE, offsetof(struct conf_read, c.temperature), 0, 2},
	{"max_tokens", CONF_U32, offsetof(struct conf_read, c.max_tokens), 0, 1000000},
	{"json_mode", CONF_BOOL, offsetof(struct conf_read, c.json_mode), 0, 0},
	{"redact_patterns", CONF_LIST, offsetof(struct conf_read, c.redact_patterns), 0, 0},
	{"should_analyze", CONF_POLICY, 0, 0, 0},
	{"min_failures", CONF_POLICY, 0, 0, 0},
};

static const struct conf_provider {
	const char *name;
	enum llm_provider provider;
	const char *endpoint; /* the default */
	const char *key_env;  /* the default environment variable of the key */
} conf_providers[] = {
	{"openai", LLM_OPENAI, "https://api.openai.com", "OPENAI_API_KEY"},
	{"gemini", LLM_GEMINI, "https://generativelanguage.googleapis.com", "GEMINI_API_KEY"},
};

void llm_config_init(struct llm_config *c)
{
	memset(c, 0, sizeof(*c));
	c->provider = LLM_OPENAI;
	c->timeout_ms = LLM_DEFAULT_TIMEOUT_MS;
	c->connect_timeout_ms = LLM_DEFAULT_CONNECT_MS;
	c->max_attempts = LLM_DEFAULT_RETRIES + 1;
	c->backoff_ms = LLM_DEFAULT_BACKOFF_MS;
	c->prompt_budget = LLM_DEFAULT_BUDGET;
	c->max_tests = LLM_DEFAULT_MAX_TESTS;
	c->temperature = 0.2;
	c->max_tokens = LLM_DEFAULT_MAX_TOKENS;
	c->json_mode = true;
	tb_analyze_policy_init(&c->policy);
}

void llm_config_fini(struct llm_config *c)
{
	free(c->endpoint);
	free(c->model);
	free(c->api_key);
	free(c->ca_file);
	for (size_t i = 0; i < c->n_redact_patterns; i++)
		free(c->redact_patterns[i]);
	free(c->redact_patterns);
	llm_config_init(c);
}

static int conf_list(const Testbus__V1__Value *v, struct llm_config *c, const char *key,
                     tb_status *st)
{
	const char **items = NULL;
	size_t n = 0;
	if (tb_value_string_list(v, &items, &n) != TB_OK)
		return tb_status_set(st, TB_INVALID_ARGUMENT, "%s: expected a list of strings", key);
	char **copy = calloc(n + 1, sizeof(*copy));
	for (size_t i = 0; copy != NULL && i < n; i++)
		if ((copy[i] = strdup(items[i])) == NULL)
			break;
	free(items);
	if (copy == NULL || (n > 0 && copy[n - 1] == NULL)) {
		for (size_t i = 0; copy != NULL && i < n; i++)
			free(copy[i]);
		free(copy);
		return tb_status_set(st, TB_RESOURCE_EXHAUSTED, "out of memory");
	}
	c->redact_patterns = copy;
	c->n_redact_patterns = n;
	return TB_OK;
}

static int conf_provider(const Testbus__V1__Value *v, enum llm_provider *p, tb_status *st)
{
	const char *s = tb_value_string(v);
	for (size_t i = 0; s != NULL && i < sizeof(conf_providers) / sizeof(conf_providers[0]); i++) {
		if (strcmp(conf_providers[i].name, s) == 0) {
			*p = conf_providers[i].provider;
			return TB_OK;
		}
	}
	return tb_status_set(st, TB_INVALID_ARGUMENT, "provider: expected openai or gemini");
}

static int conf_number(const struct conf_key *k, const Testbus__V1__Value *v, void *field,
                       tb_status *st)
{
	double d;
	if (tb_value_double(v, &d) != TB_OK || !(d >= k->min && d <= k->max) ||
	    (k->type != CONF_DOUBLE && d != (double)(int64_t)d))
		return tb_status_set(st, TB_INVALID_ARGUMENT, "%s: expected a %s from %g to %g",
		                     k->key, k->type == CONF_DOUBLE ? "number" : "whole number",
		                     k->min, k->max);
	if (k->type == CONF_U32)
		*(uint32_t *)field = (uint32_t)d;
	else if (k->type == CONF_SIZE)
		*(size_t *)field = (size_t)d;
	else if (k->type == CONF_INT64)
		*(int64_t *)field = (int64_t)d;
	else
		*(double *)field = d;
	return TB_OK;
}

static int conf_apply(const struct conf_key *k, const Testbus__V1__Value *v,
                      struct conf_read *r, tb_status *st)
{
	void *field = (char *)r + k->offset;
	const char *s = tb_value_string(v);
	bool b;
	switch (k->type) {
	case CONF_STRING:
		if (s == NULL || s[0] == '\0')
			return tb_status_set(st, TB_INVALID_ARGUMENT, "%s: expected a string", k->key);
		free(*(char **)field);
		if ((*(char **)field = strdup(s)) == NULL)
			return tb_status_set(st, TB_RESOURCE_EXHAUSTED, "out of memory");
		return TB_OK;
	case CONF_BOOL:
		if (tb_value_bool(v, &b) != TB_OK)
			return tb_status_set(st, TB_INVALID_ARGUMENT, "%s: expected true or false",
			                     k->key);
		*(bool *)field = b;
		return TB_OK;
	case CONF_PROVIDER:
		return conf_provider(v, field, st);
	case CONF_LIST:
		return conf_list(v, &r->c, k->key, st);
	case CONF_POLICY:
		return TB_OK; /* read by tb_analyze_policy_from_config */
	default:
		return conf_number(k, v, field, st);
	}
}

static int conf_entry(const char *key, const Testbus__V1__Value *v, struct conf_read *r,
                      tb_status *st)
{
	for (size_t i = 0; i < sizeof(conf_keys) / sizeof(conf_keys[0]); i++)
		if (strcmp(conf_keys[i].key, key) == 0)
			return conf_apply(&conf_keys[i], v, r, st);
	fprintf(stderr, "testbus-analyzer-llm: ignoring unknown config key '%s'\n", key);
	return TB_OK;
}

/* Fills the endpoint and the API key from the provider's defaults and the environment. */
static int conf_finish(struct conf_read *r, tb_status *st)
{
	const struct conf_provider *p = &conf_providers[r->c.provider];
	r->c.max_attempts = (unsigned)r->retries + 1;
	if (r->c.model == NULL)
		return tb_status_set(st, TB_INVALID_ARGUMENT, "model: required");
	if (r->c.endpoint == NULL && (r->c.endpoint = strdup(p->endpoint)) == NULL)
		return tb_status_set(st, TB_RESOURCE_EXHAUSTED, "out of memory");
	if (r->c.api_key == NULL) {
		const char *name = r->api_key_env != NULL ? r->api_key_env : p->key_env;
		const char *key = getenv(name);
		if (key == NULL && r->api_key_env != NULL)
			return tb_status_set(st, TB_INVALID_ARGUMENT,
			                     "api_key_env: environment variable %s is not set", name);
		if (key != NULL && key[0] != '\0' && (r->c.api_key = strdup(key)) == NULL)
			return tb_status_set(st, TB_RESOURCE_EXHAUSTED, "out of memory");
	}
	r->c.configured = true;
	return TB_OK;
}

int llm_config_read(const Testbus__V1__ComponentConfig *config, struct llm_config *c,
                    tb_status *st)
{
	int rv = TB_OK;
	struct conf_read r = {.retries = LLM_DEFAULT_RETRIES};
	llm_config_init(&r.c);
	if ((rv = tb_analyze_policy_from_config(config, &r.c.policy, st)) != TB_OK)
		goto out;
	for (size_t i = 0; config != NULL && rv == TB_OK && i < config->n_config; i++)
		rv = conf_entry(config->config[i]->key, config->config[i]->value, &r, st);
	if (rv == TB_OK)
		rv = conf_finish(&r, st);
out:
	free(r.api_key_env);
	if (rv == TB_OK) {
		llm_config_fini(c);
		*c = r.c;
	} else {
		llm_config_fini(&r.c);
	}
	return rv;
}

int llm_redactor(const struct llm_config *c, tb_redactor **rp, tb_status *st)
{
	tb_redactor *r = NULL;
	int rv = tb_redactor_alloc((const char *const *)c->redact_patterns, c->n_redact_patterns,
	                           &r, st);
	if (rv == TB_OK && (rv = tb_redactor_add_literal(r, c->api_key)) != TB_OK)
		tb_status_set(st, rv, "out of memory");
	if (rv != TB_OK) {
		tb_redactor_free(r);
		r = NULL;
	}
	*rp = r;
	return rv;
}
