/* Executor config: the key tables, value conversion, and the swappable config snapshot. */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "executor.h"
#include "executor_internal.h"
#include "process.h"

#define CFG(field) offsetof(tb_exec_config, field)

/* The keys every executor has. */
static const tb_exec_key config_common_keys[] = {
	{"workdir", TB_KEY_STRING, CFG(workdir), "working folder of the suite"},
	{"env", TB_KEY_MAP, CFG(env), "environment variables set for the suite"},
	{"inherit_env", TB_KEY_BOOL, CFG(inherit_env),
	 "start from the executor's environment (default true)"},
	{"junit", TB_KEY_STRINGS, CFG(junit), "globs of the JUnit reports the suite writes"},
	{"timeout", TB_KEY_DURATION, CFG(timeout_ms),
	 "time limit when the target sets none (default 1h)"},
	{"grace", TB_KEY_DURATION, CFG(grace_ms), "from SIGTERM to SIGKILL (default 5s)"},
	{"max_log_bytes", TB_KEY_SIZE, CFG(max_log_bytes),
	 "cap of stdout.log and stderr.log (default 64MiB)"},
	{"tail_bytes", TB_KEY_SIZE, CFG(tail_bytes), "output tail kept in the result (default 16KiB)"},
	{"artifacts_dir", TB_KEY_STRING, CFG(artifacts_dir),
	 "folder for per-call artifacts (default: the run's, else $TMPDIR)"},
	{"log_events", TB_KEY_BOOL, CFG(log_events),
	 "stream output lines as progress events (default true)"},
	{"max_log_events", TB_KEY_UINT, CFG(max_log_events),
	 "output-line events per second at most (default 100)"},
	{"max_result_bytes", TB_KEY_SIZE, CFG(max_result_bytes),
	 "the result is trimmed to this packed size (default 3MiB)"},
	{"label_filters", TB_KEY_MAP, CFG(label_filters),
	 "label name -> filter it feeds (focus, skip, label_filter, markers, keyword, none)"},
};

#define CONFIG_N_COMMON (sizeof(config_common_keys) / sizeof(config_common_keys[0]))

static void config_defaults(const tb_exec_framework *fw, tb_exec_config *cfg)
{
	cfg->inherit_env = true;
	cfg->timeout_ms = 3600u * 1000u;
	cfg->grace_ms = TB_PROCESS_DEFAULT_GRACE_MS;
	cfg->max_log_bytes = TB_PROCESS_DEFAULT_MAX_FILE;
	cfg->tail_bytes = TB_PROCESS_DEFAULT_TAIL;
	cfg->log_events = true;
	cfg->max_log_events = 100;
	cfg->max_result_bytes = 3u * 1024 * 1024;
	if (fw->defaults != NULL)
		fw->defaults(cfg->fw);
}

/* --- durations and sizes --- */

static const struct {
	const char *suffix;
	double ms;
} config_time_units[] = {
	{"ms", 1}, {"s", 1000}, {"m", 60000}, {"h", 3600000}, {"d", 86400000},
};

int tb_exec_parse_duration(const char *text, uint32_t *msp)
{
	double total = 0;
	const char *p = text;

	if (text == NULL || *text == '\0')
		return TB_INVALID_ARGUMENT;
	while (*p != '\0') {
		char *end;
		double v = strtod(p, &end);
		size_t ulen = strspn(end, "abcdefghijklmnopqrstuvwxyz"), i;
		if (end == p || !isfinite(v) || v < 0)
			return TB_INVALID_ARGUMENT;
		for (i = 0; i < sizeof(config_time_units) / sizeof(config_time_units[0]); i++)
			if (strlen(config_time_units[i].suffix) == ulen &&
			    strncmp(end, config_time_units[i].suffix, ulen) == 0)
				break;
		if (ulen == 0 && p == text && end[0] == '\0')
			total += v * 1000; /* a bare number: seconds */
		else if (i < sizeof(config_time_units) / sizeof(config_time_units[0]))
			total += v * config_time_units[i].ms;
		else
			return TB_INVALID_ARGUMENT;
		p = end + ulen;
	}
	if (total > UINT32_MAX)
		return TB_OUT_OF_RANGE;
	*msp = (uint32_t)(total + 0.5);
	return TB_OK;
}

static const struct {
	const char *suffix;
	uint64_t mult;
} config_size_units[] = {
	{"", 1},
	{"b", 1},
	{"k", 1024},
	{"kb", 1000},
	{"kib", 1024},
	{"m", 1024 * 1024},
	{"mb", 1000 * 1000},
	{"mib", 1024 * 1024},
	{"g", 1024ull * 1024 * 1024},
	{"gb", 1000ull * 1000 * 1000},
	{"gib", 1024ull * 1024 * 1024},
};

int tb_exec_parse_size(const char *text, uint64_t *bytesp)
{
	char *end, unit[8];
	double v;
	size_t i, n;

	if (text == NULL || *text == '\0')
		return TB_INVALID_ARGUMENT;
	v = strtod(text, &end);
	if (end == text || !isfinite(v) || v < 0)
		return TB_INVALID_ARGUMENT;
	end += strspn(end, " ");
	if ((n = strlen(end)) >= sizeof(unit))
		return TB_INVALID_ARGUMENT;
	for (i = 0; i <= n; i++)
		unit[i] = (char)(end[i] >= 'A' && end[i] <= 'Z' ? end[i] - 'A' + 'a' : end[i]);
	for (i = 0; i < sizeof(config_size_units) / sizeof(config_size_units[0]); i++) {
		if (strcmp(unit, config_size_units[i].suffix) == 0) {
			if (v * (double)config_size_units[i].mult > (double)UINT64_MAX / 2)
				return TB_OUT_OF_RANGE;
			*bytesp = (uint64_t)(v * (double)config_size_units[i].mult + 0.5);
			return TB_OK;
		}
	}
	return TB_INVALID_ARGUMENT;
}

/* --- value conversion --- */

/* A scalar value as text (arena); NULL when not a scalar. */
static char *config_scalar(tb_arena *a, const Testbus__V1__Value *v)
{
	switch (v->kind_case) {
	case TESTBUS__V1__VALUE__KIND_STRING_VALUE:
		return tb_arena_strdup(a, v->string_value);
	case TESTBUS__V1__VALUE__KIND_INT_VALUE:
		return tb_arena_printf(a, "%" PRId64, v->int_value);
	case TESTBUS__V1__VALUE__KIND_DOUBLE_VALUE:
		return tb_arena_printf(a, "%.17g", v->double_value);
	case TESTBUS__V1__VALUE__KIND_BOOL_VALUE:
		return tb_arena_strdup(a, v->bool_value ? "true" : "false");
	default:
		return NULL;
	}
}

static int config_strings(tb_arena *a, const Testbus__V1__Value *v, tb_exec_strv *sv)
{
	const Testbus__V1__ValueList *list = tb_value_list(v);

	if (tb_value_string(v) != NULL)
		return tb_exec_strv_push(a, sv, tb_arena_strdup(a, tb_value_string(v)));
	if (list == NULL)
		return TB_INVALID_ARGUMENT;
	for (size_t i = 0; i < list->n_values; i++) {
		char *s = config_scalar(a, list->values[i]);
		if (s == NULL || tb_exec_strv_push(a, sv, s) != TB_OK)
			return TB_INVALID_ARGUMENT;
	}
	return TB_OK;
}

static int config_map(tb_arena *a, const Testbus__V1__Value *v, tb_exec_strv *sv)
{
	const Testbus__V1__ValueMap *map = tb_value_as_map(v);

	if (map == NULL)
		return TB_INVALID_ARGUMENT;
	for (size_t i = 0; i < map->n_fields; i++) {
		const char *key = map->fields[i]->key;
		char *val = map->fields[i]->value ? config_scalar(a, map->fields[i]->value) : NULL;
		if (val == NULL || key == NULL || *key == '\0' || strchr(key, '=') != NULL ||
		    tb_exec_strv_pushf(a, sv, "%s=%s", key, val) != TB_OK)
			return TB_INVALID_ARGUMENT;
	}
	return TB_OK;
}

static int config_number(const Testbus__V1__Value *v, uint64_t max, uint64_t *out)
{
	int64_t i;
	double d;

	if (tb_value_int(v, &i) == TB_OK) {
		if (i < 0 || (uint64_t)i > max)
			return TB_OUT_OF_RANGE;
		*out = (uint64_t)i;
		return TB_OK;
	}
	if (tb_value_double(v, &d) == TB_OK && d >= 0 && d <= (double)max && d == (double)(uint64_t)d) {
		*out = (uint64_t)d;
		return TB_OK;
	}
	return TB_INVALID_ARGUMENT;
}

/* Stores v into the field of key k at base. */
static int config_store(tb_arena *a, const tb_exec_key *k, const Testbus__V1__Value *v, void *base)
{
	void *field = (char *)base + k->offset;
	uint64_t n = 0;
	double secs;
	int rv = TB_OK;

	switch (k->type) {
	case TB_KEY_STRING:
		*(const char **)field = config_scalar(a, v);
		return *(const char **)field != NULL ? TB_OK : TB_INVALID_ARGUMENT;
	case TB_KEY_STRINGS:
		*(tb_exec_strv *)field = (tb_exec_strv){0};
		return config_strings(a, v, field);
	case TB_KEY_MAP:
		*(tb_exec_strv *)field = (tb_exec_strv){0};
		return config_map(a, v, field);
	case TB_KEY_BOOL:
		return tb_value_bool(v, field);
	case TB_KEY_UINT:
		if ((rv = config_number(v, UINT32_MAX, &n)) == TB_OK)
			*(uint32_t *)field = (uint32_t)n;
		return rv;
	case TB_KEY_SIZE:
		if (tb_value_string(v) != NULL)
			return tb_exec_parse_size(tb_value_string(v), field);
		return config_number(v, UINT64_MAX / 2, field);
	case TB_KEY_DURATION:
		if (tb_value_string(v) != NULL)
			return tb_exec_parse_duration(tb_value_string(v), field);
		if (tb_value_double(v, &secs) != TB_OK || secs < 0 || secs * 1000 > UINT32_MAX)
			return TB_INVALID_ARGUMENT;
		*(uint32_t *)field = (uint32_t)(secs * 1000 + 0.5);
		return TB_OK;
	}
	return TB_INVALID_ARGUMENT;
}

static const char *config_type_name(enum tb_exec_key_type t)
{
	static const char *const names[] = {
		[TB_KEY_STRING] = "a string",          [TB_KEY_STRINGS] = "a list of strings",
		[TB_KEY_MAP] = "a map of scalars",     [TB_KEY_BOOL] = "true or false",
		[TB_KEY_UINT] = "a whole number",      [TB_KEY_SIZE] = "a size such as 64MiB",
		[TB_KEY_DURATION] = "a duration such as 90s or 5m",
	};
	return names[t];
}

/* Finds key name among the common keys, then fw's; sets *basep to where it is stored. */
static const tb_exec_key *config_find(const tb_exec_framework *fw, tb_exec_config *cfg,
                                      const char *name, void **basep)
{
	for (size_t i = 0; i < CONFIG_N_COMMON; i++) {
		if (strcmp(config_common_keys[i].name, name) == 0) {
			*basep = cfg;
			return &config_common_keys[i];
		}
	}
	for (size_t i = 0; i < fw->n_keys; i++) {
		if (strcmp(fw->keys[i].name, name) == 0) {
			*basep = cfg->fw;
			return &fw->keys[i];
		}
	}
	return NULL;
}

/* Every label_filters value must name a filter kind, or "none". */
static int config_check_filters(const tb_exec_config *cfg, tb_status *st)
{
	for (size_t i = 0; i < cfg->label_filters.n; i++) {
		const char *kind = strchr(cfg->label_filters.v[i], '=') + 1;
		if (strcmp(kind, "none") != 0 && tbc_exec_filter_kind(kind) < 0)
			return tb_status_set(st, TB_INVALID_ARGUMENT,
			                     "label_filters: unknown filter '%s' (focus, skip, "
			                     "label_filter, markers, keyword or none)",
			                     kind);
	}
	return TB_OK;
}

int tb_exec_config_parse(const tb_exec_framework *fw, const Testbus__V1__ComponentConfig *config,
                         tb_arena *arena, tb_exec_config **cfgp, tb_status *st)
{
	tb_exec_config *cfg = tb_arena_zalloc(arena, sizeof(*cfg));
	int rv = TB_RESOURCE_EXHAUSTED;

	if (cfg == NULL || (cfg->fw = tb_arena_zalloc(arena, fw->fw_size ? fw->fw_size : 1)) == NULL) {
		tb_status_set(st, rv, "out of memory");
		goto out;
	}
	config_defaults(fw, cfg);
	for (size_t i = 0; config != NULL && i < config->n_config; i++) {
		const char *name = config->config[i]->key;
		const Testbus__V1__Value *v = config->config[i]->value;
		void *base = NULL;
		const tb_exec_key *k = config_find(fw, cfg, name, &base);
		if (k == NULL) {
			rv = tb_status_set(st, TB_INVALID_ARGUMENT, "unknown config key '%s' for %s",
			                   name, fw->name);
			goto out;
		}
		if (v == NULL || (rv = config_store(arena, k, v, base)) != TB_OK) {
			rv = tb_status_set(st, TB_INVALID_ARGUMENT, "config key '%s' must be %s", name,
			                   config_type_name(k->type));
			goto out;
		}
	}
	if (config != NULL && config->artifacts_dir != NULL && config->artifacts_dir[0] != '\0')
		cfg->run_artifacts = tb_arena_strdup(arena, config->artifacts_dir);
	if ((rv = config_check_filters(cfg, st)) != TB_OK)
		goto out;
	rv = fw->validate != NULL ? fw->validate(cfg, st) : TB_OK;
out:
	*cfgp = rv == TB_OK ? cfg : NULL;
	return rv;
}

const char *tb_exec_config_help(const tb_exec_framework *fw)
{
	static char help[8192];
	size_t len = 0;

	for (size_t i = 0; i < fw->n_keys + CONFIG_N_COMMON && len < sizeof(help); i++) {
		const tb_exec_key *k = i < fw->n_keys ? &fw->keys[i] : &config_common_keys[i - fw->n_keys];
		int n = snprintf(help + len, sizeof(help) - len, "  %-18s %s\n", k->name, k->help);
		if (n > 0)
			len += (size_t)n;
	}
	if (len > 0 && len < sizeof(help))
		help[len - 1] = '\0';
	return help;
}

/* --- the swappable config of a running executor --- */

struct tb_exec {
	const tb_exec_framework *fw;
	pthread_mutex_t mu;
	tbc_exec_snapshot *cur;
};

static void config_snapshot_free(tbc_exec_snapshot *s)
{
	if (s != NULL) {
		tb_arena_free(s->arena);
		free(s);
	}
}

static int config_snapshot_new(const tb_exec_framework *fw,
                               const Testbus__V1__ComponentConfig *config,
                               tbc_exec_snapshot **sp, tb_status *st)
{
	tbc_exec_snapshot *s = calloc(1, sizeof(*s));
	int rv = TB_RESOURCE_EXHAUSTED;

	if (s == NULL || tb_arena_alloc(&s->arena) != TB_OK) {
		tb_status_set(st, rv, "out of memory");
		goto out;
	}
	s->refs = 1;
	rv = tb_exec_config_parse(fw, config, s->arena, &s->cfg, st);
out:
	if (rv != TB_OK) {
		config_snapshot_free(s);
		s = NULL;
	}
	*sp = s;
	return rv;
}

int tb_exec_alloc(const tb_exec_framework *fw, tb_exec **exp, tb_status *st)
{
	tb_exec *ex = calloc(1, sizeof(*ex));
	int rv = TB_RESOURCE_EXHAUSTED;

	if (ex == NULL) {
		tb_status_set(st, rv, "out of memory");
		goto out;
	}
	ex->fw = fw;
	pthread_mutex_init(&ex->mu, NULL);
	if ((rv = config_snapshot_new(fw, NULL, &ex->cur, st)) != TB_OK) {
		tb_exec_free(ex);
		ex = NULL;
	}
out:
	*exp = rv == TB_OK ? ex : NULL;
	return rv;
}

void tb_exec_free(tb_exec *ex)
{
	if (ex == NULL)
		return;
	tbc_exec_release(ex, ex->cur);
	pthread_mutex_destroy(&ex->mu);
	free(ex);
}

int tb_exec_configure(const Testbus__V1__ComponentConfig *config, void *arg, tb_status *st)
{
	tb_exec *ex = arg;
	tbc_exec_snapshot *s = NULL, *old;
	int rv;

	if ((rv = config_snapshot_new(ex->fw, config, &s, st)) != TB_OK)
		return rv;
	pthread_mutex_lock(&ex->mu);
	old = ex->cur;
	ex->cur = s;
	pthread_mutex_unlock(&ex->mu);
	tbc_exec_release(ex, old);
	return TB_OK;
}

const tb_exec_framework *tbc_exec_framework(const tb_exec *ex)
{
	return ex->fw;
}

tbc_exec_snapshot *tbc_exec_acquire(tb_exec *ex)
{
	tbc_exec_snapshot *s;

	pthread_mutex_lock(&ex->mu);
	s = ex->cur;
	s->refs++;
	pthread_mutex_unlock(&ex->mu);
	return s;
}

void tbc_exec_release(tb_exec *ex, tbc_exec_snapshot *s)
{
	bool last;

	if (s == NULL)
		return;
	pthread_mutex_lock(&ex->mu);
	last = --s->refs == 0;
	pthread_mutex_unlock(&ex->mu);
	if (last)
		config_snapshot_free(s);
}
