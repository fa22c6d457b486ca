/* What the shipped provisioners share: config tables, the live config, ClusterInfo properties, health. */
#include "prov_support.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *prov_name = "testbus-provisioner";

void prov_set_name(const char *name)
{
	prov_name = name;
}

/* --- config tables --- */

static const char *const prov_type_want[] = {
	[PROV_STRING] = "a string",
	[PROV_SECRET] = "a string",
	[PROV_ARGV] = "a list of strings",
	[PROV_UINT] = "a non-negative whole number",
	[PROV_BOOL] = "true or false",
	[PROV_HEALTH] = "a map",
	[PROV_ENV] = "a map of names to strings, numbers or flags",
	[PROV_SECRET_ENV] = "the name of an environment variable",
};

static const prov_key *prov_find(const prov_key *keys, size_t n, const char *name)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (strcmp(keys[i].key, name) == 0)
			return &keys[i];
	return NULL;
}

static int prov_read_argv(const Testbus__V1__Value *v, char ***slot)
{
	const char **list = NULL;
	size_t n = 0, i;
	char **out;

	if (tb_value_string_list(v, &list, &n) != TB_OK)
		return TB_INVALID_ARGUMENT;
	if ((out = calloc(n + 1, sizeof(*out))) == NULL) {
		free(list);
		return TB_RESOURCE_EXHAUSTED;
	}
	*slot = out;
	for (i = 0; i < n; i++)
		if ((out[i] = strdup(list[i])) == NULL) {
			free(list);
			return TB_RESOURCE_EXHAUSTED;
		}
	free(list);
	return n > 0 ? TB_OK : TB_INVALID_ARGUMENT;
}

/* A scalar Value as text for an environment variable; NULL for other kinds. */
static char *prov_scalar_text(const Testbus__V1__Value *v)
{
	char *out = NULL;

	switch (v->kind_case) {
	case TESTBUS__V1__VALUE__KIND_STRING_VALUE:
		return strdup(v->string_value);
	case TESTBUS__V1__VALUE__KIND_INT_VALUE:
		return asprintf(&out, "%" PRId64, v->int_value) < 0 ? NULL : out;
	case TESTBUS__V1__VALUE__KIND_BOOL_VALUE:
		return strdup(v->bool_value ? "true" : "false");
	default:
		return NULL;
	}
}

static int prov_read_env(const Testbus__V1__Value *v, char ***slot)
{
	const Testbus__V1__ValueMap *map = tb_value_as_map(v);
	char **out, *text;
	size_t i;
	int n;

	if (map == NULL)
		return TB_INVALID_ARGUMENT;
	if ((out = calloc(map->n_fields + 1, sizeof(*out))) == NULL)
		return TB_RESOURCE_EXHAUSTED;
	*slot = out;
	for (i = 0; i < map->n_fields; i++) {
		if ((text = prov_scalar_text(map->fields[i]->value)) == NULL)
			return TB_INVALID_ARGUMENT;
		n = asprintf(&out[i], "%s=%s", map->fields[i]->key, text);
		free(text);
		if (n < 0) {
			out[i] = NULL;
			return TB_RESOURCE_EXHAUSTED;
		}
	}
	return TB_OK;
}

static int prov_read_key(const prov_key *k, const Testbus__V1__Value *v, void *out,
                         prov_cfg_head *head, tb_status *st)
{
	void *slot = (char *)out + k->off;
	const char *s = tb_value_string(v), *env;
	int64_t n;
	bool b;

	switch (k->type) {
	case PROV_STRING:
	case PROV_SECRET:
		return s == NULL ? TB_INVALID_ARGUMENT
		                 : ((*(char **)slot = strdup(s)) ? TB_OK : TB_RESOURCE_EXHAUSTED);
	case PROV_ARGV:
		return prov_read_argv(v, slot);
	case PROV_UINT:
		if (tb_value_int(v, &n) != TB_OK || n < 0 || n > UINT32_MAX)
			return TB_INVALID_ARGUMENT;
		*(uint32_t *)slot = (uint32_t)n;
		return TB_OK;
	case PROV_BOOL:
		if (tb_value_bool(v, &b) != TB_OK)
			return TB_INVALID_ARGUMENT;
		*(bool *)slot = b;
		return TB_OK;
	case PROV_HEALTH:
		return tb_kube_health_opts_read(v, slot, st) == TB_OK ? TB_OK : -1;
	case PROV_ENV:
		return prov_read_env(v, slot);
	case PROV_SECRET_ENV:
		if (s == NULL || s[0] == '\0')
			return TB_INVALID_ARGUMENT;
		if ((env = getenv(s)) == NULL || env[0] == '\0')
			return (head->secret_env_missing = strdup(s)) ? TB_OK : TB_RESOURCE_EXHAUSTED;
		return (*(char **)slot = strdup(env)) ? TB_OK : TB_RESOURCE_EXHAUSTED;
	}
	return TB_INTERNAL;
}

int prov_config_read(const Testbus__V1__ComponentConfig *config, const prov_key *keys,
                     size_t n, void *out, tb_status *st)
{
	const prov_key *k;
	size_t i;
	int rv = TB_OK;

	for (i = 0; config != NULL && rv == TB_OK && i < config->n_config; i++) {
		if ((k = prov_find(keys, n, config->config[i]->key)) == NULL) {
			rv = tb_status_set(st, TB_INVALID_ARGUMENT, "unknown config key '%s'",
			                   config->config[i]->key);
			break;
		}
		rv = prov_read_key(k, config->config[i]->value, out, out, st);
		if (rv == TB_INVALID_ARGUMENT)
			tb_status_set(st, rv, "config key '%s': want %s", k->key, prov_type_want[k->type]);
		else if (rv == TB_RESOURCE_EXHAUSTED)
			tb_status_set(st, rv, "out of memory");
		else if (rv < 0)
			rv = TB_INVALID_ARGUMENT; /* st already names the health key */
	}
	if (rv != TB_OK)
		prov_config_fini(keys, n, out);
	return rv;
}

static void prov_free_strings(char **v, bool wipe)
{
	size_t i;

	for (i = 0; v != NULL && v[i] != NULL; i++) {
		if (wipe)
			explicit_bzero(v[i], strlen(v[i]));
		free(v[i]);
	}
	free(v);
}

void prov_config_fini(const prov_key *keys, size_t n, void *out)
{
	prov_cfg_head *head = out;
	size_t i;
	void *slot;

	for (i = 0; i < n; i++) {
		slot = (char *)out + keys[i].off;
		if ((keys[i].type == PROV_SECRET_ENV || keys[i].type == PROV_SECRET) &&
		    *(char **)slot != NULL)
			explicit_bzero(*(char **)slot, strlen(*(char **)slot));
		if (keys[i].type == PROV_STRING || keys[i].type == PROV_SECRET ||
		    keys[i].type == PROV_SECRET_ENV)
			free(*(char **)slot);
		else if (keys[i].type == PROV_ARGV || keys[i].type == PROV_ENV)
			prov_free_strings(*(char ***)slot, keys[i].type == PROV_ENV);
		else if (keys[i].type == PROV_HEALTH)
			tb_kube_health_opts_fini(slot);
	}
	free(head->secret_env_missing);
	head->secret_env_missing = NULL;
}

/* --- the live config --- */

static void *prov_slot_read(prov_slot *s, const Testbus__V1__ComponentConfig *config,
                            tb_status *st)
{
	prov_cfg_head *cfg = calloc(1, s->size);

	if (cfg == NULL) {
		tb_status_set(st, TB_RESOURCE_EXHAUSTED, "out of memory");
		return NULL;
	}
	if (prov_config_read(config, s->keys, s->n_keys, cfg, st) != TB_OK) {
		free(cfg);
		return NULL;
	}
	cfg->refs = 1;
	return cfg;
}

int prov_slot_init(prov_slot *s, const prov_key *keys, size_t n, size_t size,
                   prov_check_fn check)
{
	memset(s, 0, sizeof(*s));
	pthread_mutex_init(&s->mu, NULL);
	s->keys = keys;
	s->n_keys = n;
	s->size = size;
	s->check = check;
	s->cur = prov_slot_read(s, NULL, NULL);
	return s->cur != NULL ? TB_OK : TB_RESOURCE_EXHAUSTED;
}

int prov_slot_configure(prov_slot *s, const Testbus__V1__ComponentConfig *config,
                        tb_status *st)
{
	void *cfg = prov_slot_read(s, config, st), *old;

	if (cfg == NULL)
		return st->code != TB_OK ? st->code : TB_INVALID_ARGUMENT;
	if (s->check != NULL && s->check(cfg, st) != TB_OK) {
		prov_slot_put(s, cfg);
		return st->code != TB_OK ? st->code : TB_INVALID_ARGUMENT;
	}
	pthread_mutex_lock(&s->mu);
	old = s->cur;
	s->cur = cfg;
	pthread_mutex_unlock(&s->mu);
	prov_slot_put(s, old);
	return TB_OK;
}

void *prov_slot_get(prov_slot *s)
{
	prov_cfg_head *cfg;

	pthread_mutex_lock(&s->mu);
	cfg = s->cur;
	cfg->refs++;
	pthread_mutex_unlock(&s->mu);
	return cfg;
}

void prov_slot_put(prov_slot *s, void *cfg)
{
	prov_cfg_head *head = cfg;
	bool last;

	if (cfg == NULL)
		return;
	pthread_mutex_lock(&s->mu);
	last = --head->refs == 0;
	pthread_mutex_unlock(&s->mu);
	if (!last)
		return;
	prov_config_fini(s->keys, s->n_keys, cfg);
	free(cfg);
}

void prov_slot_fini(prov_slot *s)
{
	prov_slot_put(s, s->cur);
	s->cur = NULL;
	pthread_mutex_destroy(&s->mu);
}

/* --- ClusterInfo --- */

Testbus__V1__ClusterInfo *prov_cluster_new(tb_arena *a, const char *provider)
{
	Testbus__V1__ClusterInfo *ci = tb_arena_zalloc(a, sizeof(*ci));

	if (ci == NULL)
		return NULL;
	testbus__v1__cluster_info__init(ci);
	ci->provider = tb_arena_strdup(a, provider);
	return ci->provider != NULL ? ci : NULL;
}

int prov_prop_value(Testbus__V1__ClusterInfo *ci, tb_arena *a, const char *key,
                         Testbus__V1__Value *v)
{
	Testbus__V1__ClusterInfo__PropertiesEntry *e = tb_arena_zalloc(a, sizeof(*e)), **grown;

	grown = tb_arena_zalloc(a, (ci->n_properties + 1) * sizeof(*grown));
	if (e == NULL || grown == NULL || v == NULL)
		return TB_RESOURCE_EXHAUSTED;
	testbus__v1__cluster_info__properties_entry__init(e);
	if ((e->key = tb_arena_strdup(a, key)) == NULL)
		return TB_RESOURCE_EXHAUSTED;
	e->value = v;
	if (ci->n_properties > 0)
		memcpy(grown, ci->properties, ci->n_properties * sizeof(*grown));
	grown[ci->n_properties++] = e;
	ci->properties = grown;
	return TB_OK;
}

static Testbus__V1__Value *prov_value(tb_arena *a, Testbus__V1__Value__KindCase kind)
{
	Testbus__V1__Value *v = tb_arena_zalloc(a, sizeof(*v));

	if (v != NULL) {
		testbus__v1__value__init(v);
		v->kind_case = kind;
	}
	return v;
}

int prov_prop_string(Testbus__V1__ClusterInfo *ci, tb_arena *a, const char *key,
                     const char *value)
{
	Testbus__V1__Value *v = prov_value(a, TESTBUS__V1__VALUE__KIND_STRING_VALUE);

	if (v != NULL && (v->string_value = tb_arena_strdup(a, value ? value : "")) == NULL)
		v = NULL;
	return prov_prop_value(ci, a, key, v);
}

int prov_prop_bool(Testbus__V1__ClusterInfo *ci, tb_arena *a, const char *key, bool value)
{
	Testbus__V1__Value *v = prov_value(a, TESTBUS__V1__VALUE__KIND_BOOL_VALUE);

	if (v != NULL)
		v->bool_value = value;
	return prov_prop_value(ci, a, key, v);
}

int prov_prop_int(Testbus__V1__ClusterInfo *ci, tb_arena *a, const char *key, int64_t value)
{
	Testbus__V1__Value *v = prov_value(a, TESTBUS__V1__VALUE__KIND_INT_VALUE);

	if (v != NULL)
		v->int_value = value;
	return prov_prop_value(ci, a, key, v);
}

const Testbus__V1__Value *prov_prop(const Testbus__V1__ClusterInfo *ci, const char *key)
{
	return tb_map_get(ci->properties, ci->n_properties, key);
}

bool prov_prop_is(const Testbus__V1__ClusterInfo *ci, const char *key, bool def)
{
	bool b = def;

	tb_value_bool(prov_prop(ci, key), &b);
	return b;
}

/* --- logging and health --- */

void prov_log(tb_call *call, const char *fmt, ...)
{
	char line[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	fprintf(stderr, "%s: %s\n", prov_name, line);
	if (call != NULL)
		tb_call_event(call, TESTBUS__V1__EVENT_KIND__EVENT_LOG, NULL, line, 0);
}

Testbus__V1__HealthStatus *prov_health_new(tb_call *call)
{
	Testbus__V1__HealthStatus *hs = tb_arena_zalloc(tb_call_arena(call), sizeof(*hs));

	if (hs != NULL)
		testbus__v1__health_status__init(hs);
	return hs;
}

int prov_health_kubeconfig(tb_call *call, const uint8_t *data, size_t len,
                           const tb_kube_health_opts *o, Testbus__V1__HealthStatus *hs)
{
	tb_arena *a = tb_call_arena(call);
	tb_kubeconfig kc;
	tb_status st = {0};
	int rv;

	if (tb_kubeconfig_parse((const char *)data, len, NULL, "the cluster's kubeconfig", NULL,
	                        &kc, &st) != TB_OK) {
		if ((rv = tb_health_add(hs, a, "kubeconfig", false, "%s", st.message)) == TB_OK)
			rv = tb_health_summarize(hs, a);
	} else {
		rv = tb_kube_health_check(&kc, o, call, a, hs, &st);
		tb_kubeconfig_fini(&kc);
	}
	if (rv != TB_OK)
		return tb_call_error(call, rv, "health: %s",
		                     rv == TB_RESOURCE_EXHAUSTED ? "out of memory" : st.message);
	return TB_OK;
}
