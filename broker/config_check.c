/* Checks of the config as a whole: names, references, addresses, and finding programs. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config_internal.h"

#define CHECK_DEFAULT_PATH "/usr/local/bin:/usr/bin:/bin"

char *config_join(struct config_ctx *ctx, const char *dir, const char *path)
{
	if (path == NULL)
		return NULL;
	if (path[0] == '/' || dir == NULL || dir[0] == '\0')
		return config_strdup(ctx, path);
	while (path[0] == '.' && path[1] == '/')
		path += 2 + strspn(path + 2, "/");
	size_t n = strlen(dir) + strlen(path) + 2;
	char *s = config_zalloc(ctx, n);
	if (s != NULL)
		snprintf(s, n, "%s%s%s", dir, dir[strlen(dir) - 1] == '/' ? "" : "/", path);
	return s;
}

static bool check_executable(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 && S_ISREG(st.st_mode) && access(path, X_OK) == 0;
}

/* Looks for name in the n bytes of dir; returns its path owned by ctx->cfg. */
static char *check_in_dir(struct config_ctx *ctx, const char *dir, size_t n, const char *name)
{
	char *path = NULL;
	if (asprintf(&path, "%.*s/%s", (int)n, n ? dir : ".", name) < 0) {
		ctx->oom = true;
		return NULL;
	}
	char *found = check_executable(path) ? config_strdup(ctx, path) : NULL;
	free(path);
	return found;
}

char *config_find_program(struct config_ctx *ctx, const char *name)
{
	const char *bin = ctx->opts ? ctx->opts->bin_dir : NULL;
	char *found = NULL;
	if (bin != NULL && *bin != '\0')
		found = check_in_dir(ctx, bin, strlen(bin), name);
	const char *path = getenv("PATH");
	if (path == NULL)
		path = CHECK_DEFAULT_PATH;
	while (found == NULL && !ctx->oom) {
		size_t n = strcspn(path, ":");
		found = check_in_dir(ctx, path, n, name);
		if (path[n] == '\0')
			break;
		path += n + 1;
	}
	return found;
}

void config_check_address(struct config_ctx *ctx, int line, const char *who,
                          const char *address, const struct config_tls *tls, bool has_tls,
                          bool insecure)
{
	static const char *const schemes[] = {"ipc://", "tcp://", "tls+tcp://"};
	size_t i = 0;
	while (i < 3 && strncmp(address, schemes[i], strlen(schemes[i])) != 0)
		i++;
	if (i == 3) {
		config_error(ctx, line, "%saddress '%s' must start with ipc://, tcp:// or tls+tcp://",
		             who, address);
		return;
	}
	const char *rest = address + strlen(schemes[i]);
	const char *colon = strrchr(rest, ':');
	if (*rest == '\0') {
		config_error(ctx, line, "%saddress '%s' has nothing after %s", who, address,
		             schemes[i]);
	} else if (i > 0 && (colon == NULL || colon[1] == '\0' ||
	                     strspn(colon + 1, "0123456789") != strlen(colon + 1) ||
	                     atol(colon + 1) > 65535)) {
		config_error(ctx, line, "%saddress '%s' needs a port (%shost:port)", who, address,
		             schemes[i]);
	}
	if (i == 2 && (tls->ca_file == NULL || tls->cert_file == NULL || tls->key_file == NULL))
		config_error(ctx, line,
		             "%sa tls+tcp:// address needs 'tls' with 'ca', 'cert' and 'key' "
		             "(mutual TLS)",
		             who);
	if (i != 2 && has_tls)
		config_error(ctx, line, "%s'tls' is only used with tls+tcp:// addresses", who);
	if (i == 1 && !insecure)
		config_error(ctx, line,
		             "%splain tcp:// carries kubeconfigs unencrypted: use tls+tcp://, "
		             "or set 'insecure: true'",
		             who);
}

static void check_duplicate_components(struct config_ctx *ctx)
{
	struct broker_config *cfg = ctx->cfg;
	for (size_t i = 0; i < cfg->n_components; i++) {
		for (size_t j = 0; j < i && cfg->components[i].name != NULL; j++) {
			if (cfg->components[j].name != NULL &&
			    strcmp(cfg->components[i].name, cfg->components[j].name) == 0) {
				config_error(ctx, cfg->components[i].line,
				             "duplicate component name '%s' (first at line %d)",
				             cfg->components[i].name, cfg->components[j].line);
				break;
			}
		}
	}
}

static const char *check_article(Testbus__V1__ComponentKind kind)
{
	return kind == TESTBUS__V1__COMPONENT_KIND__KIND_EXECUTOR ||
	               kind == TESTBUS__V1__COMPONENT_KIND__KIND_ANALYZER
	           ? "an"
	           : "a";
}

/* Resolves ref to a component of kind; what names the referring key. */
static void check_ref(struct config_ctx *ctx, struct config_ref *ref,
                      Testbus__V1__ComponentKind kind, const char *what)
{
	if (ref->name == NULL)
		return;
	const struct config_component *c = config_component_find(ctx->cfg, ref->name);
	if (c == NULL)
		config_error(ctx, ref->line, "%s '%s' is not a component in 'components'", what,
		             ref->name);
	else if (c->kind != kind)
		config_error(ctx, ref->line, "%s '%s' is %s %s, not %s %s", what, ref->name,
		             check_article(c->kind), config_kind_name(c->kind), check_article(kind),
		             config_kind_name(kind));
	else
		ref->component = c;
}

/* The number of components of kind, and the first of them. */
static size_t check_count_kind(const struct broker_config *cfg, Testbus__V1__ComponentKind kind,
                               const struct config_component **firstp)
{
	size_t n = 0;
	for (size_t i = cfg->n_components; i-- > 0;) {
		if (cfg->components[i].kind == kind) {
			*firstp = &cfg->components[i];
			n++;
		}
	}
	return n;
}

static void check_provisioner(struct config_ctx *ctx)
{
	struct config_cluster *cl = &ctx->cfg->cluster;
	const struct config_component *first = NULL;
	size_t n = check_count_kind(ctx->cfg, TESTBUS__V1__COMPONENT_KIND__KIND_PROVISIONER, &first);
	if (cl->provisioner.name != NULL)
		check_ref(ctx, &cl->provisioner, TESTBUS__V1__COMPONENT_KIND__KIND_PROVISIONER,
		          "cluster.provisioner");
	else if (n == 1)
		cl->provisioner.component = first;
	else if (n == 0)
		config_error(ctx, ctx->components_line,
		             "no provisioner: add a component such as 'provisioner: local'");
	else
		config_error(ctx, ctx->components_line,
		             "%zu provisioners: name the one to use in 'cluster.provisioner'", n);
}

static void check_phases(struct config_ctx *ctx)
{
	struct broker_config *cfg = ctx->cfg;
	const struct config_component *first = NULL;
	if (cfg->n_phases > 0 &&
	    check_count_kind(cfg, TESTBUS__V1__COMPONENT_KIND__KIND_EXECUTOR, &first) == 0)
		config_error(ctx, ctx->components_line,
		             "no executor: add a component such as 'executor: shell'");
	for (size_t i = 0; i < cfg->n_phases; i++) {
		struct config_phase *p = &cfg->phases[i];
		for (size_t j = 0; j < i; j++) {
			if (strcmp(cfg->phases[j].name, p->name) == 0)
				config_error(ctx, p->line, "duplicate phase name '%s' (first at line %d)",
				             p->name, cfg->phases[j].line);
		}
		for (size_t t = 0; t < p->n_targets; t++) {
			struct config_target *tg = &p->targets[t];
			for (size_t u = 0; u < t; u++) {
				if (strcmp(p->targets[u].name, tg->name) == 0)
					config_error(ctx, tg->line,
					             "duplicate target name '%s' in phase '%s' (first at line %d)",
					             tg->name, p->name, p->targets[u].line);
			}
			check_ref(ctx, &tg->executor.ref, TESTBUS__V1__COMPONENT_KIND__KIND_EXECUTOR,
			          "executor");
		}
	}
}

/* Says where a program that is not optional was looked for. */
static void check_not_found(struct config_ctx *ctx, const struct config_component *c)
{
	const char *bin = ctx->opts ? ctx->opts->bin_dir : NULL;
	const char *kind = config_kind_name(c->kind);
	if (strchr(c->executable, '/') != NULL)
		config_error(ctx, c->line, "%s '%s': '%s' is not an executable file in %s", kind,
		             c->name, c->executable, ctx->cfg->base_dir);
	else if (bin != NULL && *bin != '\0')
		config_error(ctx, c->line, "%s '%s': program '%s' not found in %s or on PATH", kind,
		             c->name, c->executable, bin);
	else
		config_error(ctx, c->line, "%s '%s': program '%s' not found on PATH", kind, c->name,
		             c->executable);
}

/* Finds what a spawned component runs, and fills argv, path and workdir. */
static void check_program(struct config_ctx *ctx, struct config_component *c)
{
	if (c->reach == CONFIG_SPAWN_PROGRAM) {
		char name[160];
		snprintf(name, sizeof(name), "testbus-%s-%s", config_kind_name(c->kind), c->program);
		c->executable = config_strdup(ctx, name);
		c->path = config_find_program(ctx, name);
		c->argv = config_zalloc(ctx, 2 * sizeof(*c->argv));
		if (c->argv != NULL) {
			c->argv[0] = c->path ? c->path : c->executable;
			c->argc = 1;
		}
	} else {
		c->executable = c->argv[0];
		if (strchr(c->argv[0], '/') != NULL) {
			char *p = config_join(ctx, ctx->cfg->base_dir, c->argv[0]);
			c->path = p != NULL && check_executable(p) ? p : NULL;
		} else {
			c->path = config_find_program(ctx, c->argv[0]);
		}
	}
	if (c->workdir == NULL)
		c->workdir = ctx->cfg->base_dir;
	if (c->path == NULL && !c->optional && !ctx->oom)
		check_not_found(ctx, c);
}

static void check_components(struct config_ctx *ctx)
{
	struct broker_config *cfg = ctx->cfg;
	for (size_t i = 0; i < cfg->n_components && !ctx->oom; i++) {
		struct config_component *c = &cfg->components[i];
		if (c->name == NULL)
			continue;
		if (c->reach == CONFIG_REGISTER && cfg->listen.address == NULL)
			config_error(ctx, c->line,
			             "registered %s '%s' needs a 'listen' address to register with",
			             config_kind_name(c->kind), c->name);
		if ((c->reach == CONFIG_SPAWN_PROGRAM && c->program != NULL) ||
		    (c->reach == CONFIG_SPAWN_COMMAND && c->argv != NULL))
			check_program(ctx, c);
	}
}

void config_link(struct config_ctx *ctx)
{
	check_duplicate_components(ctx);
	check_components(ctx);
	if (ctx->components_line == 0)
		return; /* 'components' is missing or broken: already said */
	check_provisioner(ctx);
	check_phases(ctx);
}
