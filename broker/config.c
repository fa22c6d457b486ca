/* Loading the broker's config: reading the YAML, collecting problems, owning the result. */
#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "testbus/status.h"

#include "config_internal.h"

#define CONFIG_MAX_FILE (4u * 1024u * 1024u)

/* One allocation owned by a config; the list is freed with it. */
struct config_mem {
	struct config_mem *next;
	max_align_t data[];
};

extern const char config_default_yaml[];
extern const size_t config_default_yaml_len;

void *config_zalloc(struct config_ctx *ctx, size_t size)
{
	struct config_mem *m = calloc(1, sizeof(*m) + size);
	if (m == NULL) {
		ctx->oom = true;
		return NULL;
	}
	m->next = ctx->cfg->mem;
	ctx->cfg->mem = m;
	return m->data;
}

char *config_strdup(struct config_ctx *ctx, const char *s)
{
	if (s == NULL)
		return NULL;
	size_t n = strlen(s) + 1;
	char *p = config_zalloc(ctx, n);
	if (p != NULL)
		memcpy(p, s, n);
	return p;
}

void config_mem_free(struct broker_config *cfg)
{
	while (cfg->mem != NULL) {
		struct config_mem *next = cfg->mem->next;
		free(cfg->mem);
		cfg->mem = next;
	}
}

void config_error(struct config_ctx *ctx, int line, const char *fmt, ...)
{
	if (ctx->n_problems >= CONFIG_MAX_ERRORS) {
		ctx->dropped++;
		return;
	}
	if (ctx->n_problems == ctx->cap_problems) {
		size_t cap = ctx->cap_problems ? ctx->cap_problems * 2 : 8;
		struct config_problem *p = realloc(ctx->problems, cap * sizeof(*p));
		if (p == NULL) {
			ctx->oom = true;
			return;
		}
		ctx->problems = p;
		ctx->cap_problems = cap;
	}
	char *text = NULL;
	va_list ap;
	va_start(ap, fmt);
	int n = vasprintf(&text, fmt, ap);
	va_end(ap);
	if (n < 0) {
		ctx->oom = true;
		return;
	}
	ctx->problems[ctx->n_problems] = (struct config_problem){line, ctx->n_problems, text};
	ctx->n_problems++;
}

static int config_problem_cmp(const void *a, const void *b)
{
	const struct config_problem *x = a, *y = b;
	if (x->line != y->line)
		return x->line < y->line ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* Moves the problems of ctx into errs as "name:line: text" lines, in line order. */
static int config_report(struct config_ctx *ctx, struct config_errors *errs)
{
	int rv = TB_OK;
	size_t n = ctx->n_problems + (ctx->dropped > 0);
	if (ctx->n_problems > 0)
		qsort(ctx->problems, ctx->n_problems, sizeof(*ctx->problems), config_problem_cmp);
	if (n > 0 && (errs->lines = calloc(n, sizeof(*errs->lines))) == NULL)
		rv = TB_RESOURCE_EXHAUSTED;
	for (size_t i = 0; rv == TB_OK && i < n; i++) {
		int len;
		if (i == ctx->n_problems)
			len = asprintf(&errs->lines[i], "%s: ... and %zu more problems", ctx->name,
			               ctx->dropped);
		else if (ctx->problems[i].line > 0)
			len = asprintf(&errs->lines[i], "%s:%d: %s", ctx->name, ctx->problems[i].line,
			               ctx->problems[i].text);
		else
			len = asprintf(&errs->lines[i], "%s: %s", ctx->name, ctx->problems[i].text);
		if (len < 0) {
			errs->lines[i] = NULL;
			rv = TB_RESOURCE_EXHAUSTED;
		} else {
			errs->n = i + 1;
		}
	}
	for (size_t i = 0; i < ctx->n_problems; i++)
		free(ctx->problems[i].text);
	free(ctx->problems);
	ctx->problems = NULL;
	return rv;
}

void config_errors_fini(struct config_errors *errs)
{
	if (errs == NULL)
		return;
	for (size_t i = 0; i < errs->n; i++)
		free(errs->lines[i]);
	free(errs->lines);
	errs->lines = NULL;
	errs->n = 0;
}

/* Sets the defaults every config starts from. */
static void config_defaults(struct config_ctx *ctx)
{
	struct broker_config *cfg = ctx->cfg;
	cfg->version = 1;
	cfg->timeouts = (struct config_timeouts){
	    .start_ms = 10 * 1000,
	    .provision_ms = 30 * 60 * 1000,
	    .health_ms = 10 * 60 * 1000,
	    .destroy_ms = 30 * 60 * 1000,
	    .execute_ms = 60 * 60 * 1000,
	    .analyze_ms = 5 * 60 * 1000,
	    .report_ms = 2 * 60 * 1000,
	};
	cfg->cluster.keep = CONFIG_KEEP_NEVER;
}

/* Gives every component and the cluster an empty map where none was written. */
static void config_fill_maps(struct config_ctx *ctx)
{
	struct broker_config *cfg = ctx->cfg;
	for (size_t i = 0; i <= cfg->n_components; i++) {
		Testbus__V1__ValueMap **mapp =
		    i < cfg->n_components ? &cfg->components[i].config : &cfg->cluster.properties;
		if (*mapp != NULL)
			continue;
		if ((*mapp = malloc(sizeof(**mapp))) == NULL)
			ctx->oom = true;
		else
			testbus__v1__value_map__init(*mapp);
	}
	if (cfg->artifacts_dir == NULL)
		cfg->artifacts_dir = config_strdup(ctx, CONFIG_DEFAULT_ARTIFACTS);
}

/* Applies the command-line overrides of ctx->opts. */
static void config_overrides(struct config_ctx *ctx)
{
	struct broker_config *cfg = ctx->cfg;
	const struct config_options *opts = ctx->opts;
	if (opts == NULL)
		return;
	if (opts->artifacts_dir != NULL)
		cfg->artifacts_dir = config_strdup(ctx, opts->artifacts_dir);
	if (opts->listen_address != NULL) {
		cfg->listen.address = config_strdup(ctx, opts->listen_address);
		config_check_address(ctx, 0, "--listen: ", opts->listen_address, &cfg->listen.tls,
		                     cfg->listen.tls.ca_file || cfg->listen.tls.cert_file ||
		                         cfg->listen.tls.key_file,
		                     cfg->listen.insecure);
	}
}

/* Parses the one document in text and fills ctx->cfg from it. */
static void config_parse(struct config_ctx *ctx, const char *text, size_t len)
{
	yaml_parser_t parser;
	yaml_document_t doc, extra;
	if (!yaml_parser_initialize(&parser)) {
		ctx->oom = true;
		return;
	}
	yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
	if (!yaml_parser_load(&parser, &doc)) {
		config_error(ctx, (int)parser.problem_mark.line + 1, "YAML: %s%s%s",
		             parser.problem ? parser.problem : "syntax error",
		             parser.context ? " " : "", parser.context ? parser.context : "");
		goto out;
	}
	yaml_node_t *root = yaml_document_get_root_node(&doc);
	if (root == NULL) {
		config_error(ctx, 1, "the config is empty");
	} else if (yaml_parser_load(&parser, &extra)) {
		yaml_node_t *more = yaml_document_get_root_node(&extra);
		if (more != NULL)
			config_error(ctx, config_line(more), "only one YAML document is allowed");
		yaml_document_delete(&extra);
	}
	if (root != NULL && ctx->n_problems == 0) {
		ctx->doc = &doc;
		config_schema_apply(ctx, root);
		config_overrides(ctx);
		config_fill_maps(ctx);
		if (!ctx->oom)
			config_link(ctx);
		ctx->doc = NULL;
	}
	yaml_document_delete(&doc);
out:
	yaml_parser_delete(&parser);
}

/* The loader behind every entry point: base_dir may be NULL (the current directory). */
static int config_load_text(const char *text, size_t len, const char *name,
                            const char *base_dir, const struct config_options *opts,
                            struct broker_config **cfgp, struct config_errors *errs)
{
	struct config_ctx ctx = {.name = name, .opts = opts};
	struct broker_config *cfg = calloc(1, sizeof(*cfg));
	char *home = NULL;
	int rv = TB_OK;
	*errs = (struct config_errors){0};
	if (cfg == NULL) {
		rv = TB_RESOURCE_EXHAUSTED;
		goto out;
	}
	ctx.cfg = cfg;
	if (config_home_dir(opts, &home) == TB_RESOURCE_EXHAUSTED)
		ctx.oom = true;
	ctx.home = home;
	cfg->source = config_strdup(&ctx, name);
	cfg->base_dir = config_strdup(&ctx, base_dir ? base_dir : ".");
	config_defaults(&ctx);
	if (!ctx.oom)
		config_parse(&ctx, text, len);
	rv = ctx.oom ? TB_RESOURCE_EXHAUSTED : ctx.n_problems ? TB_INVALID_ARGUMENT : TB_OK;
	int report_rv = config_report(&ctx, errs);
	if (rv == TB_OK)
		rv = report_rv;
out:
	free(home);
	if (rv != TB_OK) {
		config_free(cfg);
		cfg = NULL;
	}
	*cfgp = cfg;
	return rv;
}

/* The folder of path, made absolute when it exists. Caller owns it (free()). */
static char *config_dir_of(const char *path)
{
	char *copy = strdup(path);
	char *dir = NULL;
	if (copy != NULL) {
		dir = realpath(dirname(copy), NULL);
		if (dir == NULL && errno != ENOMEM)
			dir = strdup(dirname(strcpy(copy, path)));
	}
	free(copy);
	return dir;
}

int config_load_string(const char *text, size_t len, const char *name,
                       const struct config_options *opts, struct broker_config **cfgp,
                       struct config_errors *errs)
{
	char *dir = config_dir_of(name);
	int rv = TB_RESOURCE_EXHAUSTED;
	*cfgp = NULL;
	*errs = (struct config_errors){0};
	if (dir != NULL)
		rv = config_load_text(text, len, name, dir, opts, cfgp, errs);
	free(dir);
	return rv;
}

/* Sets errs to the single line "path: message". */
static int config_single_error(struct config_errors *errs, int code, const char *path,
                               const char *message)
{
	errs->lines = calloc(1, sizeof(*errs->lines));
	if (errs->lines == NULL || asprintf(&errs->lines[0], "%s: %s", path, message) < 0) {
		free(errs->lines);
		errs->lines = NULL;
		return TB_RESOURCE_EXHAUSTED;
	}
	errs->n = 1;
	return code;
}

static int config_errno_code(int err)
{
	switch (err) {
	case ENOENT:
	case ENOTDIR:
		return TB_NOT_FOUND;
	case EACCES:
	case EPERM:
		return TB_PERMISSION_DENIED;
	case ENOMEM:
		return TB_RESOURCE_EXHAUSTED;
	default:
		return TB_INVALID_ARGUMENT;
	}
}

int config_load_file(const char *path, const struct config_options *opts,
                     struct broker_config **cfgp, struct config_errors *errs)
{
	FILE *f = fopen(path, "rb");
	char *text = NULL;
	size_t len = 0;
	int rv = TB_OK;
	char msg[160];
	*cfgp = NULL;
	*errs = (struct config_errors){0};
	if (f == NULL) {
		snprintf(msg, sizeof(msg), "cannot open: %s", strerror(errno));
		rv = config_single_error(errs, config_errno_code(errno), path, msg);
		goto out;
	}
	if ((text = malloc(CONFIG_MAX_FILE + 1)) == NULL) {
		rv = TB_RESOURCE_EXHAUSTED;
		goto out;
	}
	len = fread(text, 1, CONFIG_MAX_FILE + 1, f);
	if (ferror(f)) {
		snprintf(msg, sizeof(msg), "cannot read: %s", strerror(errno));
		rv = config_single_error(errs, config_errno_code(errno), path, msg);
	} else if (len > CONFIG_MAX_FILE) {
		snprintf(msg, sizeof(msg), "larger than %u bytes", CONFIG_MAX_FILE);
		rv = config_single_error(errs, TB_INVALID_ARGUMENT, path, msg);
	} else {
		rv = config_load_string(text, len, path, opts, cfgp, errs);
	}
out:
	if (f != NULL)
		fclose(f);
	free(text);
	return rv;
}

const char *config_default_text(size_t *lenp)
{
	if (lenp != NULL)
		*lenp = config_default_yaml_len;
	return config_default_yaml;
}

int config_load_default(const struct config_options *opts, struct broker_config **cfgp,
                        struct config_errors *errs)
{
	char *home = NULL;
	int rv = config_home_dir(opts, &home);
	*cfgp = NULL;
	*errs = (struct config_errors){0};
	if (rv == TB_RESOURCE_EXHAUSTED)
		return rv;
	rv = config_load_text(config_default_yaml, config_default_yaml_len, CONFIG_DEFAULT_NAME,
	                      home, opts, cfgp, errs);
	free(home);
	return rv;
}

/* Whether dir/examples is a folder. */
static bool config_is_home(const char *dir)
{
	char path[PATH_MAX];
	struct stat st;
	int n = snprintf(path, sizeof(path), "%s/examples", dir);
	return n > 0 && (size_t)n < sizeof(path) && stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

int config_home_dir(const struct config_options *opts, char **dirp)
{
	char share[PATH_MAX] = "";
	const char *found = NULL;
	const char *env = getenv("TESTBUS_HOME");
	if (opts != NULL && opts->bin_dir != NULL)
		snprintf(share, sizeof(share), "%s/../share/testbus", opts->bin_dir);
	if (opts != NULL && opts->home_dir != NULL)
		found = opts->home_dir;
	else if (env != NULL && *env != '\0')
		found = env;
	else if (share[0] != '\0' && config_is_home(share))
		found = share;
#ifdef TESTBUS_SOURCE_DIR
	else if (config_is_home(TESTBUS_SOURCE_DIR))
		found = TESTBUS_SOURCE_DIR;
#endif
	*dirp = NULL;
	if (found == NULL)
		return TB_NOT_FOUND;
	char *dir = realpath(found, NULL);
	if (dir == NULL && errno != ENOMEM)
		dir = strdup(found);
	if (dir == NULL)
		return TB_RESOURCE_EXHAUSTED;
	*dirp = dir;
	return TB_OK;
}

void config_free(struct broker_config *cfg)
{
	if (cfg == NULL)
		return;
	for (size_t i = 0; cfg->components != NULL && i < cfg->n_components; i++) {
		if (cfg->components[i].config != NULL)
			protobuf_c_message_free_unpacked(&cfg->components[i].config->base, NULL);
	}
	if (cfg->cluster.properties != NULL)
		protobuf_c_message_free_unpacked(&cfg->cluster.properties->base, NULL);
	config_mem_free(cfg);
	free(cfg);
}

const struct config_component *config_component_find(const struct broker_config *cfg,
                                                     const char *name)
{
	for (size_t i = 0; name != NULL && i < cfg->n_components; i++) {
		const struct config_component *c = &cfg->components[i];
		if (c->name != NULL && strcmp(c->name, name) == 0)
			return c;
	}
	return NULL;
}

const char *config_kind_name(Testbus__V1__ComponentKind kind)
{
	switch (kind) {
	case TESTBUS__V1__COMPONENT_KIND__KIND_PROVISIONER:
		return "provisioner";
	case TESTBUS__V1__COMPONENT_KIND__KIND_EXECUTOR:
		return "executor";
	case TESTBUS__V1__COMPONENT_KIND__KIND_ANALYZER:
		return "analyzer";
	case TESTBUS__V1__COMPONENT_KIND__KIND_REPORTER:
		return "reporter";
	default:
		return "component";
	}
}

const char *config_keep_name(enum config_keep keep)
{
	switch (keep) {
	case CONFIG_KEEP_ON_FAILURE:
		return "on-failure";
	case CONFIG_KEEP_ALWAYS:
		return "always";
	default:
		return "never";
	}
}

bool config_should_destroy(const struct config_cluster *cluster, bool created,
                           bool run_succeeded)
{
	if (!created)
		return cluster->destroy_reused;
	switch (cluster->keep) {
	case CONFIG_KEEP_ALWAYS:
		return false;
	case CONFIG_KEEP_ON_FAILURE:
		return run_succeeded;
	default:
		return true;
	}
}
