/* The Reporter service every reporter component shares: config table, Initialize/Report/Finalize, redaction, artifacts. */
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "reporter_base.h"
#include "results_json.h"

/* The config every reporter reads besides its own keys. */
typedef struct base_common {
	tb_rlist redact_patterns;
	tb_rlist redact_env;
} base_common;

static const tb_reporter_key base_common_keys[] = {
	{ .name = "redact_patterns", .type = TB_RKEY_LIST,
	  .offset = offsetof(base_common, redact_patterns) },
	{ .name = "redact_env", .type = TB_RKEY_LIST, .offset = offsetof(base_common, redact_env) },
};

/* One applied configuration; replaced whole by Configure. */
typedef struct base_conf {
	tb_arena *a;
	base_common common;
	void *own;           /* the reporter's config struct */
	tb_rlist secrets;    /* literals added by the reporter's check */
	size_t secrets_cap;
	char *error;         /* why this config cannot report; NULL when it can */
} base_conf;

struct tb_reporter {
	const tb_reporter_def *def;
	pthread_mutex_t lock; /* held by Configure and by each Initialize/Report/Finalize */
	base_conf *conf;
	base_conf *building;  /* the config being read, during check */
	char run_id[256];
	char artifacts_dir[4096];
	tb_redactor *redactor; /* the current Report call's */
};

static tb_reporter base_reporter = { .lock = PTHREAD_MUTEX_INITIALIZER };

static void base_conf_free(base_conf *c)
{
	if (c != NULL)
		tb_arena_free(c->a);
}

/* --- reading keys --- */

typedef int (*base_read_fn)(base_conf *c, const tb_reporter_key *k, const Testbus__V1__Value *v,
                            void *field, tb_status *st);

static int base_read_string(base_conf *c, const tb_reporter_key *k, const Testbus__V1__Value *v,
                            void *field, tb_status *st)
{
	const char *s = tb_value_string(v);
	if (s == NULL)
		return tb_status_set(st, TB_INVALID_ARGUMENT, "%s: expected a string", k->name);
	if ((*(const char **)field = tb_arena_strdup(c->a, s)) == NULL)
		return tb_status_set(st, TB_RESOURCE_EXHAUSTED, "out of memory");
	return TB_OK;
}

static int base_read_bool(base_conf *c, const tb_reporter_key *k, const Testbus__V1__Value *v,
                          void *field, tb_status *st)
{
	if (tb_value_bool(v, (bool *)field) != TB_OK)
		return tb_status_set(st, TB_INVALID_ARGUMENT, "%s: expected true or false", k->name);
	return TB_OK;
}

static int base_read_int(base_conf *c, const tb_reporter_key *k, const Testbus__V1__Value *v,
                         void *field, tb_status *st)
{
	int64_t n = 0;
	if (tb_value_int(v, &n) != TB_OK || n < k->min || n > k->max)
		return tb_status_set(st, TB_INVALID_ARGUMENT, "%s: expected a whole number from %lld to %lld",
		                     k->name, (long long)k->min, (long long)k->max);
	*(int64_t *)field = n;
	return TB_OK;
}

static int base_read_choice(base_conf *c, const tb_reporter_key *k, const Testbus__V1__Value *v,
                            void *field, tb_status *st)
{
	const char *s = tb_value_string(v);
	char known[256] = "";
	for (int i = 0; s != NULL && k->choices[i] != NULL; i++) {
		if (strcmp(s, k->choices[i]) == 0) {
			*(int *)field = i;
			return TB_OK;
		}
	}
	for (int i = 0; k->choices[i] != NULL; i++)
		snprintf(known + strlen(known), sizeof(known) - strlen(known), "%s%s", i ? ", " : "",
		         k->choices[i]);
	return tb_status_set(st, TB_INVALID_ARGUMENT, "%s: expected one of %s", k->name, known);
}

static int base_read_list(base_conf *c, const tb_reporter_key *k, const Testbus__V1__Value *v,
                          void *field, tb_status *st)
{
	tb_rlist *l = field;
	const char **items = NULL;
	size_t n = 0;
	const char *one = tb_value_string(v);
	if (one == NULL && tb_value_string_list(v, &items, &n) != TB_OK)
		return tb_status_set(st, TB_INVALID_ARGUMENT, "%s: expected a list of strings", k->name);
	if (one != NULL)
		n = 1;
	l->items = tb_arena_zalloc(c->a, (n + 1) * sizeof(*l->items));
	for (size_t i = 0; l->items != NULL && i < n; i++)
		l->items[i] = tb_arena_strdup(c->a, one != NULL ? one : items[i]);
	l->n = n;
	free(items);
	return l->items != NULL ? TB_OK : tb_status_set(st, TB_RESOURCE_EXHAUSTED, "out of memory");
}

static int base_read_map(base_conf *c, const tb_reporter_key *k, const Testbus__V1__Value *v,
                         void *field, tb_status *st)
{
	tb_rmap *m = field;
	const Testbus__V1__ValueMap *vm = tb_value_as_map(v);
	if (vm == NULL)
		return tb_status_set(st, TB_INVALID_ARGUMENT, "%s: expected a map of strings", k->name);
	m->keys = tb_arena_zalloc(c->a, (vm->n_fields + 1) * sizeof(*m->keys));
	m->values = tb_arena_zalloc(c->a, (vm->n_fields + 1) * sizeof(*m->values));
	if (m->keys == NULL || m->values == NULL)
		return tb_status_set(st, TB_RESOURCE_EXHAUSTED, "out of memory");
	for (size_t i = 0; i < vm->n_fields; i++) {
		const char *s = tb_value_string(vm->fields[i]->value);
		if (s == NULL)
			return tb_status_set(st, TB_INVALID_ARGUMENT, "%s.%s: expected a string", k->name,
			                     vm->fields[i]->key);
		m->keys[i] = tb_arena_strdup(c->a, vm->fields[i]->key);
		m->values[i] = tb_arena_strdup(c->a, s);
	}
	m->n = vm->n_fields;
	return TB_OK;
}

static const base_read_fn base_readers[] = {
	[TB_RKEY_STRING] = base_read_string, [TB_RKEY_BOOL] = base_read_bool,
	[TB_RKEY_INT] = base_read_int,       [TB_RKEY_CHOICE] = base_read_choice,
	[TB_RKEY_LIST] = base_read_list,     [TB_RKEY_MAP] = base_read_map,
};

/* Sets every key of a table to its default. */
static void base_defaults(const tb_reporter_key *keys, size_t n, void *config)
{
	for (size_t i = 0; i < n; i++) {
		void *field = (char *)config + keys[i].offset;
		switch (keys[i].type) {
		case TB_RKEY_STRING:
			*(const char **)field = keys[i].def_string;
			break;
		case TB_RKEY_BOOL:
			*(bool *)field = keys[i].def_int != 0;
			break;
		case TB_RKEY_INT:
			*(int64_t *)field = keys[i].def_int;
			break;
		case TB_RKEY_CHOICE:
			*(int *)field = (int)keys[i].def_int;
			break;
		default:
			break; /* lists and maps start empty */
		}
	}
}

/* Finds name in a key table; NULL when absent. */
static const tb_reporter_key *base_find(const tb_reporter_key *keys, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(keys[i].name, name) == 0)
			return &keys[i];
	return NULL;
}

static int base_read_entry(tb_reporter *rep, base_conf *c, const char *name,
                           const Testbus__V1__Value *v, tb_status *st)
{
	const tb_reporter_def *def = rep->def;
	const tb_reporter_key *k = base_find(def->keys, def->n_keys, name);
	void *config = c->own;
	if (k == NULL) {
		k = base_find(base_common_keys, sizeof(base_common_keys) / sizeof(base_common_keys[0]),
		              name);
		config = &c->common;
	}
	if (k == NULL)
		return tb_status_set(st, TB_INVALID_ARGUMENT,
		                     "unknown config key '%s' for the %s reporter (see --help)", name,
		                     def->name);
	return base_readers[k->type](c, k, v, (char *)config + k->offset, st);
}

/* The extra patterns must compile; checked here so a bad one fails Configure. */
static int base_check_patterns(const base_conf *c, tb_status *st)
{
	tb_redactor *r = NULL;
	int rv = tb_redactor_alloc(c->common.redact_patterns.items, c->common.redact_patterns.n, &r,
	                           st);
	tb_redactor_free(r);
	return rv;
}

/*
 * Reads a whole config into a new base_conf. When strict is false, a config
 * the reporter's check refuses is still returned, with the reason in error,
 * so Report can say it. Caller owns *confp.
 */
static int base_conf_read(tb_reporter *rep, const Testbus__V1__ComponentConfig *cfg, bool strict,
                          base_conf **confp, tb_status *st)
{
	const tb_reporter_def *def = rep->def;
	tb_arena *a = NULL;
	base_conf *c = NULL;
	int rv = tb_arena_alloc(&a);
	if (rv != TB_OK || (c = tb_arena_zalloc(a, sizeof(*c))) == NULL ||
	    (c->own = tb_arena_zalloc(a, def->config_size ? def->config_size : 1)) == NULL) {
		rv = tb_status_set(st, TB_RESOURCE_EXHAUSTED, "out of memory");
		goto out;
	}
	c->a = a;
	base_defaults(def->keys, def->n_keys, c->own);
	for (size_t i = 0; cfg != NULL && i < cfg->n_config; i++)
		if ((rv = base_read_entry(rep, c, cfg->config[i]->key, cfg->config[i]->value, st)) != TB_OK)
			goto out;
	if ((rv = base_check_patterns(c, st)) != TB_OK)
		goto out;
	rep->building = c;
	rv = def->check != NULL ? def->check(rep, c->own, st) : TB_OK;
	rep->building = NULL;
	if (rv != TB_OK && rv != TB_RESOURCE_EXHAUSTED && !strict) {
		c->error = tb_arena_strdup(a, st->message);
		rv = c->error != NULL ? TB_OK : TB_RESOURCE_EXHAUSTED;
	}
out:
	if (rv != TB_OK)
		tb_arena_free(a); /* c and all it holds live in a */
	*confp = rv == TB_OK ? c : NULL;
	return rv;
}

int tb_reporter_add_secret(tb_reporter *rep, const char *secret)
{
	base_conf *c = rep->building;
	if (c == NULL || secret == NULL || secret[0] == '\0')
		return TB_OK;
	if (c->secrets.n + 1 >= c->secrets_cap) {
		size_t cap = c->secrets_cap ? c->secrets_cap * 2 : 8;
		const char **grown = tb_arena_zalloc(c->a, cap * sizeof(*grown));
		if (grown == NULL)
			return TB_RESOURCE_EXHAUSTED;
		if (c->secrets.n > 0)
			memcpy(grown, c->secrets.items, c->secrets.n * sizeof(*grown));
		c->secrets.items = grown;
		c->secrets_cap = cap;
	}
	const char *copy = tb_arena_strdup(c->a, secret);
	if (copy == NULL)
		return TB_RESOURCE_EXHAUSTED;
	c->secrets.items[c->secrets.n++] = copy;
	return TB_OK;
}

tb_arena *tb_reporter_conf_arena(tb_reporter *rep)
{
	return rep->building != NULL ? rep->building->a : NULL;
}

/* Configure (and --config): applies the run folder and a new config, all or nothing. */
static int base_configure(const Testbus__V1__ComponentConfig *cfg, void *arg, tb_status *st)
{
	tb_reporter *rep = arg;
	base_conf *c = NULL;
	pthread_mutex_lock(&rep->lock);
	int rv = base_conf_read(rep, cfg, true, &c, st);
	if (rv == TB_OK) {
		base_conf_free(rep->conf);
		rep->conf = c;
		if (cfg->run_id != NULL && cfg->run_id[0] != '\0')
			snprintf(rep->run_id, sizeof(rep->run_id), "%s", cfg->run_id);
		if (cfg->artifacts_dir != NULL && cfg->artifacts_dir[0] != '\0')
			snprintf(rep->artifacts_dir, sizeof(rep->artifacts_dir), "%s", cfg->artifacts_dir);
	}
	pthread_mutex_unlock(&rep->lock);
	return rv;
}

/* --- the Reporter service --- */

/* mkdir -p with mode 0755; returns 0 or an errno value. */
static int base_mkdirs(const char *dir)
{
	char path[4096];
	snprintf(path, sizeof(path), "%s", dir);
	for (char *p = path + 1; *p != '\0'; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(path, 0755) != 0 && errno != EEXIST)
			return errno;
		*p = '/';
	}
	return mkdir(path, 0755) != 0 && errno != EEXIST ? errno : 0;
}

static int base_initialize(tb_call *call, const ProtobufCMessage *input,
                           ProtobufCMessage **outputp, void *arg)
{
	const Testbus__V1__ReporterInit *init = (const Testbus__V1__ReporterInit *)input;
	tb_reporter *rep = arg;
	Testbus__V1__Empty *out = tb_arena_zalloc(tb_call_arena(call), sizeof(*out));
	int rv = TB_OK;
	if (out == NULL)
		return tb_call_error(call, TB_RESOURCE_EXHAUSTED, "out of memory");
	testbus__v1__empty__init(out);
	if (init->artifacts_dir[0] == '\0')
		return tb_call_error(call, TB_INVALID_ARGUMENT, "Initialize: artifacts_dir is empty");
	int err = base_mkdirs(init->artifacts_dir);
	if (err != 0)
		return tb_call_error(call, TB_FAILED_PRECONDITION, "Initialize: %s: %s",
		                     init->artifacts_dir, strerror(err));
	pthread_mutex_lock(&rep->lock);
	snprintf(rep->run_id, sizeof(rep->run_id), "%s", init->run_id);
	snprintf(rep->artifacts_dir, sizeof(rep->artifacts_dir), "%s", init->artifacts_dir);
	if (rep->conf != NULL && rep->conf->error != NULL)
		rv = tb_call_error(call, TB_FAILED_PRECONDITION, "%s", rep->conf->error);
	pthread_mutex_unlock(&rep->lock);
	*outputp = rv == TB_OK ? &out->base : NULL;
	return rv;
}

/* The redactor of one Report: patterns, literals, and the run's kubeconfig learnt. */
static int base_redactor(tb_reporter *rep, const Testbus__V1__ReportInput *in, tb_redactor **rp,
                         tb_status *st)
{
	const base_conf *c = rep->conf;
	tb_redactor *r = NULL;
	int rv = tb_redactor_alloc(c->common.redact_patterns.items, c->common.redact_patterns.n, &r,
	                           st);
	for (size_t i = 0; rv == TB_OK && i < c->secrets.n; i++)
		rv = tb_redactor_add_literal(r, c->secrets.items[i]);
	for (size_t i = 0; rv == TB_OK && i < c->common.redact_env.n; i++) {
		const char *v = getenv(c->common.redact_env.items[i]);
		if (v != NULL)
			rv = tb_redactor_add_literal(r, v);
	}
	if (rv == TB_OK && in->cluster != NULL && in->cluster->kubeconfig.len > 0)
		rv = tb_redactor_learn(r, (const char *)in->cluster->kubeconfig.data,
		                       in->cluster->kubeconfig.len);
	if (rv != TB_OK && st->message[0] == '\0')
		tb_status_set(st, rv, "out of memory");
	if (rv != TB_OK) {
		tb_redactor_free(r);
		r = NULL;
	}
	*rp = r;
	return rv;
}

/* Where this run's files go; makes the folder. Errors through the call. */
static int base_run_dir(tb_reporter *rep, tb_call *call, const Testbus__V1__ReportInput *in)
{
	if (rep->artifacts_dir[0] == '\0' && in->artifacts_dir[0] != '\0')
		snprintf(rep->artifacts_dir, sizeof(rep->artifacts_dir), "%s", in->artifacts_dir);
	if (rep->run_id[0] == '\0')
		snprintf(rep->run_id, sizeof(rep->run_id), "%s", in->run_id);
	if (rep->artifacts_dir[0] == '\0')
		return tb_call_error(call, TB_FAILED_PRECONDITION,
		                     "no artifacts folder: call Initialize first");
	int err = base_mkdirs(rep->artifacts_dir);
	if (err != 0)
		return tb_call_error(call, TB_FAILED_PRECONDITION, "%s: %s", rep->artifacts_dir,
		                     strerror(err));
	return TB_OK;
}

static int base_report_locked(tb_reporter *rep, tb_call *call,
                              const Testbus__V1__ReportInput *in, Testbus__V1__ReportOutput *out)
{
	Testbus__V1__ReportInput *clean = NULL;
	tb_status st = { 0 };
	int rv;
	if (rep->conf->error != NULL)
		return tb_call_error(call, TB_FAILED_PRECONDITION, "%s", rep->conf->error);
	if ((rv = base_run_dir(rep, call, in)) != TB_OK)
		return rv;
	if ((rv = base_redactor(rep, in, &rep->redactor, &st)) != TB_OK)
		return tb_call_error(call, rv, "%s", st.message);
	if ((rv = tb_results_prepare(in, rep->redactor, tb_call_arena(call), &clean, &st)) != TB_OK)
		rv = tb_call_error(call, rv, "%s", st.message);
	else
		rv = rep->def->report(rep, call, clean, rep->conf->own, out);
	tb_redactor_free(rep->redactor);
	rep->redactor = NULL;
	return rv;
}

static int base_report(tb_call *call, const ProtobufCMessage *input, ProtobufCMessage **outputp,
                       void *arg)
{
	tb_reporter *rep = arg;
	Testbus__V1__ReportOutput *out = tb_arena_zalloc(tb_call_arena(call), sizeof(*out));
	if (out == NULL)
		return tb_call_error(call, TB_RESOURCE_EXHAUSTED, "out of memory");
	testbus__v1__report_output__init(out);
	pthread_mutex_lock(&rep->lock);
	int rv = base_report_locked(rep, call, (const Testbus__V1__ReportInput *)input, out);
	pthread_mutex_unlock(&rep->lock);
	*outputp = rv == TB_OK ? &out->base : NULL;
	return rv;
}

/* Finalize ends the run: Report already returned what it wrote. */
static int base_finalize(tb_call *call, const ProtobufCMessage *input,
                         ProtobufCMessage **outputp, void *arg)
{
	tb_reporter *rep = arg;
	Testbus__V1__ReportOutput *out = tb_arena_zalloc(tb_call_arena(call), sizeof(*out));
	if (out == NULL)
		return tb_call_error(call, TB_RESOURCE_EXHAUSTED, "out of memory");
	testbus__v1__report_output__init(out);
	pthread_mutex_lock(&rep->lock);
	rep->run_id[0] = '\0';
	rep->artifacts_dir[0] = '\0';
	pthread_mutex_unlock(&rep->lock);
	*outputp = &out->base;
	return TB_OK;
}

static const tb_method base_methods[] = {
	{ "Initialize", base_initialize },
	{ "Report", base_report },
	{ "Finalize", base_finalize },
};

/* --- helpers for the reporters --- */

char *tb_reporter_path(tb_reporter *rep, tb_call *call, const char *file)
{
	if (file[0] == '/')
		return tb_arena_strdup(tb_call_arena(call), file);
	return tb_arena_printf(tb_call_arena(call), "%s/%s", rep->artifacts_dir, file);
}

const char *tb_reporter_run_id(tb_reporter *rep)
{
	return rep->run_id;
}

char *tb_reporter_redact(tb_reporter *rep, tb_call *call, const char *s)
{
	char *red = NULL;
	if (s == NULL)
		s = "";
	if (rep->redactor != NULL && (red = tb_redact_str(rep->redactor, s, NULL)) == NULL)
		return NULL;
	const char *src = red != NULL ? red : s;
	char *out = tb_results_clean_text(tb_call_arena(call), src, strlen(src));
	free(red);
	return out;
}

/* --- text building and formats --- */

void tb_rbuf_put(tb_rbuf *b, const char *s, size_t n)
{
	if (b->oom || n == 0)
		return;
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 1024;
		while (cap < b->len + n + 1)
			cap *= 2;
		char *grown = realloc(b->data, cap);
		if (grown == NULL) {
			b->oom = true;
			return;
		}
		b->data = grown;
		b->cap = cap;
	}
	memcpy(b->data + b->len, s, n);
	b->len += n;
	b->data[b->len] = '\0';
}

void tb_rbuf_puts(tb_rbuf *b, const char *s)
{
	if (s != NULL)
		tb_rbuf_put(b, s, strlen(s));
}

void tb_rbuf_printf(tb_rbuf *b, const char *fmt, ...)
{
	char small[256];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(small, sizeof(small), fmt, ap);
	va_end(ap);
	if (n < 0) {
		b->oom = true;
		return;
	}
	if ((size_t)n < sizeof(small)) {
		tb_rbuf_put(b, small, (size_t)n);
		return;
	}
	char *big = malloc((size_t)n + 1);
	if (big == NULL) {
		b->oom = true;
		return;
	}
	va_start(ap, fmt);
	vsnprintf(big, (size_t)n + 1, fmt, ap);
	va_end(ap);
	tb_rbuf_put(b, big, (size_t)n);
	free(big);
}

void tb_rbuf_fini(tb_rbuf *b)
{
	free(b->data);
	memset(b, 0, sizeof(*b));
}

/* About three centuries: past it, turning the double into an integer is undefined. */
#define REPORTER_DURATION_MAX_MS 1e13

char *tb_reporter_duration(double ms, char *buf, size_t n)
{
	/* Durations come off the wire: NaN, negative or huge ones are clamped. */
	if (!(ms >= 0))
		ms = 0;
	else if (ms > REPORTER_DURATION_MAX_MS)
		ms = REPORTER_DURATION_MAX_MS;
	int64_t whole = (int64_t)(ms + 0.5);
	if (ms < 1000)
		snprintf(buf, n, "%lldms", (long long)whole);
	else if (ms < 60000)
		snprintf(buf, n, "%.1fs", ms / 1000);
	else if (ms < 3600000)
		snprintf(buf, n, "%lldm%02llds", (long long)(whole / 60000),
		         (long long)(whole / 1000 % 60));
	else
		snprintf(buf, n, "%lldh%02lldm", (long long)(whole / 3600000),
		         (long long)(whole / 60000 % 60));
	return buf;
}

int tb_reporter_add_artifact(tb_call *call, Testbus__V1__ReportOutput *out, const char *path,
                             const char *name, const char *media_type)
{
	tb_arena *a = tb_call_arena(call);
	struct stat sb;
	if (stat(path, &sb) != 0)
		return tb_call_error(call, TB_INTERNAL, "%s: %s", path, strerror(errno));
	Testbus__V1__Artifact *art = tb_arena_zalloc(a, sizeof(*art));
	Testbus__V1__Artifact **grown = tb_arena_zalloc(a, (out->n_artifacts + 1) * sizeof(*grown));
	if (art == NULL || grown == NULL)
		return tb_call_error(call, TB_RESOURCE_EXHAUSTED, "out of memory");
	testbus__v1__artifact__init(art);
	art->name = tb_arena_strdup(a, name);
	art->uri = tb_arena_strdup(a, path);
	art->media_type = tb_arena_strdup(a, media_type);
	art->size = (uint64_t)sb.st_size;
	if (out->n_artifacts > 0)
		memcpy(grown, out->artifacts, out->n_artifacts * sizeof(*grown));
	grown[out->n_artifacts++] = art;
	out->artifacts = grown;
	return TB_OK;
}

int tb_reporter_write_artifact(tb_call *call, Testbus__V1__ReportOutput *out, const char *path,
                               const char *name, const char *media_type, const char *data,
                               size_t len)
{
	tb_status st = { 0 };
	int rv = tb_results_write_text(path, data, len, &st);
	if (rv != TB_OK)
		return tb_call_error(call, rv, "%s", st.message);
	return tb_reporter_add_artifact(call, out, path, name, media_type);
}

int tb_reporter_main(const tb_reporter_def *def, int argc, char **argv)
{
	tb_reporter *rep = &base_reporter;
	tb_status st = { 0 };
	rep->def = def;
	/* Defaults apply before any Configure; a reporter that needs config says so on Report. */
	if (base_conf_read(rep, NULL, false, &rep->conf, &st) != TB_OK) {
		fprintf(stderr, "testbus-reporter-%s: %s\n", def->name, st.message);
		return 1;
	}
	tb_component comp = {
		.name = def->name,
		.kind = TESTBUS__V1__COMPONENT_KIND__KIND_REPORTER,
		.summary = def->summary,
		.service = &testbus__v1__reporter__descriptor,
		.methods = base_methods,
		.n_methods = sizeof(base_methods) / sizeof(base_methods[0]),
		.configure = base_configure,
		.arg = rep,
		.default_capacity = 1,
		.config_help = def->config_help,
	};
	int status = tb_component_main(&comp, argc, argv);
	base_conf_free(rep->conf);
	return status;
}
