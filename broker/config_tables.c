/* The key tables of every config section, and the parsers of its lists and shorthands. */
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "config_schema.h"

#define KEY(key, ty, st, field, ...) \
	{.name = key, .type = ty, .offset = offsetof(st, field), __VA_ARGS__}
/* A key with its own parser, which is given the object the table fills. */
#define CUSTOM(key, fn, ...) {.name = key, .type = SCHEMA_CUSTOM, .parse = fn, __VA_ARGS__}

_Static_assert(sizeof(enum config_keep) == sizeof(int), "enum fields are set as int");
_Static_assert(sizeof(enum config_when) == sizeof(int), "enum fields are set as int");

static const struct schema_choice keep_choices[] = {
    {"never", CONFIG_KEEP_NEVER},
    {"on-failure", CONFIG_KEEP_ON_FAILURE},
    {"always", CONFIG_KEEP_ALWAYS},
    {NULL, 0},
};

static const struct schema_choice when_choices[] = {
    {"ask", CONFIG_WHEN_ASK},
    {"always", CONFIG_WHEN_ALWAYS},
    {"on-failure", CONFIG_WHEN_ON_FAILURE},
    {"never", CONFIG_WHEN_NEVER},
    {NULL, 0},
};

static const struct schema_key tls_keys[] = {
    KEY("ca", SCHEMA_PATH, struct config_tls, ca_file),
    KEY("cert", SCHEMA_PATH, struct config_tls, cert_file),
    KEY("key", SCHEMA_PATH, struct config_tls, key_file),
    KEY("server_name", SCHEMA_STRING, struct config_tls, server_name),
};
static const struct schema_table tls_table = SCHEMA_TABLE("tls", tls_keys);

static const struct schema_key timeouts_keys[] = {
    KEY("start", SCHEMA_DURATION, struct config_timeouts, start_ms),
    KEY("provision", SCHEMA_DURATION, struct config_timeouts, provision_ms),
    KEY("health", SCHEMA_DURATION, struct config_timeouts, health_ms),
    KEY("destroy", SCHEMA_DURATION, struct config_timeouts, destroy_ms),
    KEY("execute", SCHEMA_DURATION, struct config_timeouts, execute_ms),
    KEY("analyze", SCHEMA_DURATION, struct config_timeouts, analyze_ms),
    KEY("report", SCHEMA_DURATION, struct config_timeouts, report_ms),
};
static const struct schema_table timeouts_table = SCHEMA_TABLE("timeouts", timeouts_keys);

static const struct schema_key cluster_keys[] = {
    KEY("provisioner", SCHEMA_REF, struct config_cluster, provisioner),
    KEY("reuse", SCHEMA_STRING, struct config_cluster, reuse_id),
    KEY("name", SCHEMA_STRING, struct config_cluster, name),
    KEY("keep", SCHEMA_ENUM, struct config_cluster, keep, .choices = keep_choices),
    KEY("destroy_reused", SCHEMA_BOOL, struct config_cluster, destroy_reused),
    KEY("labels", SCHEMA_LABELS, struct config_cluster, labels),
    KEY("properties", SCHEMA_VALUES, struct config_cluster, properties),
};
static const struct schema_table cluster_table = SCHEMA_TABLE("cluster", cluster_keys);

static const struct schema_key listen_keys[] = {
    KEY("address", SCHEMA_STRING, struct config_listen, address),
    KEY("tls", SCHEMA_SECTION, struct config_listen, tls, .table = &tls_table),
    KEY("token", SCHEMA_STRING, struct config_listen, token),
    KEY("insecure", SCHEMA_BOOL, struct config_listen, insecure),
};
static const struct schema_table listen_table = SCHEMA_TABLE("listen", listen_keys);

static const struct schema_key registered_keys[] = {
    KEY("name", SCHEMA_STRING, struct config_component, match_name),
    KEY("labels", SCHEMA_LABELS, struct config_component, match_labels),
    KEY("min", SCHEMA_UINT, struct config_component, min_count, .min = 0, .max = 1000),
    KEY("wait", SCHEMA_DURATION, struct config_component, wait_ms),
};
static const struct schema_table registered_table = SCHEMA_TABLE("registered", registered_keys);

static void tables_kind(struct config_ctx *ctx, const struct schema_key *key,
                        const yaml_node_t *node, void *obj);
static void tables_argv(struct config_ctx *ctx, const struct schema_key *key,
                        const yaml_node_t *node, void *obj);

#define KIND_KEY(key, kind) CUSTOM(key, tables_kind, .min = kind)

static const struct schema_key component_keys[] = {
    KIND_KEY("provisioner", TESTBUS__V1__COMPONENT_KIND__KIND_PROVISIONER),
    KIND_KEY("executor", TESTBUS__V1__COMPONENT_KIND__KIND_EXECUTOR),
    KIND_KEY("analyzer", TESTBUS__V1__COMPONENT_KIND__KIND_ANALYZER),
    KIND_KEY("reporter", TESTBUS__V1__COMPONENT_KIND__KIND_REPORTER),
    KEY("program", SCHEMA_NAME, struct config_component, program),
    CUSTOM("command", tables_argv),
    KEY("address", SCHEMA_STRING, struct config_component, address),
    /* the registered table fills the component itself */
    {.name = "registered", .type = SCHEMA_SECTION, .offset = 0, .table = &registered_table},
    KEY("tls", SCHEMA_SECTION, struct config_component, tls, .table = &tls_table),
    KEY("token", SCHEMA_STRING, struct config_component, token),
    KEY("insecure", SCHEMA_BOOL, struct config_component, insecure),
    KEY("env", SCHEMA_LABELS, struct config_component, env),
    KEY("workdir", SCHEMA_PATH, struct config_component, workdir),
    KEY("labels", SCHEMA_LABELS, struct config_component, labels),
    KEY("optional", SCHEMA_BOOL, struct config_component, optional),
    KEY("when", SCHEMA_ENUM, struct config_component, when, .choices = when_choices),
    KEY("config", SCHEMA_VALUES, struct config_component, config),
};
static const struct schema_table component_table = SCHEMA_TABLE("component", component_keys);

static const struct schema_key selector_keys[] = {
    KEY("name", SCHEMA_REF, struct config_selector, ref),
    KEY("labels", SCHEMA_LABELS, struct config_selector, labels),
};
static const struct schema_table selector_table = SCHEMA_TABLE("executor", selector_keys);

static void tables_selector(struct config_ctx *ctx, const struct schema_key *key,
                            const yaml_node_t *node, void *obj);

static const struct schema_key target_keys[] = {
    KEY("name", SCHEMA_NAME, struct config_target, name),
    KEY("labels", SCHEMA_LABELS, struct config_target, labels),
    CUSTOM("executor", tables_selector),
    KEY("timeout", SCHEMA_DURATION, struct config_target, timeout_ms),
    KEY("shards", SCHEMA_UINT, struct config_target, shards, .min = 1,
        .max = CONFIG_MAX_SHARDS),
    KEY("retries", SCHEMA_UINT, struct config_target, retries, .min = 0,
        .max = CONFIG_MAX_RETRIES),
};
static const struct schema_table target_table = SCHEMA_TABLE("target", target_keys);

static void tables_targets(struct config_ctx *ctx, const struct schema_key *key,
                           const yaml_node_t *node, void *obj);

static const struct schema_key phase_keys[] = {
    KEY("name", SCHEMA_NAME, struct config_phase, name, .required = true),
    CUSTOM("targets", tables_targets, .required = true),
};
static const struct schema_table phase_table = SCHEMA_TABLE("phase", phase_keys);

static void tables_listen(struct config_ctx *ctx, const struct schema_key *key,
                          const yaml_node_t *node, void *obj);
static void tables_components(struct config_ctx *ctx, const struct schema_key *key,
                              const yaml_node_t *node, void *obj);
static void tables_phases(struct config_ctx *ctx, const struct schema_key *key,
                          const yaml_node_t *node, void *obj);

static const struct schema_key top_keys[] = {
    KEY("version", SCHEMA_UINT, struct broker_config, version, .min = 1, .max = 1),
    KEY("artifacts", SCHEMA_STRING, struct broker_config, artifacts_dir),
    CUSTOM("listen", tables_listen),
    KEY("timeouts", SCHEMA_SECTION, struct broker_config, timeouts, .table = &timeouts_table),
    KEY("cluster", SCHEMA_SECTION, struct broker_config, cluster, .table = &cluster_table),
    CUSTOM("components", tables_components, .required = true),
    CUSTOM("phases", tables_phases, .required = true),
};
static const struct schema_table top_table = SCHEMA_TABLE("the config", top_keys);

/* ------------------------------------------------------------ components */

static void tables_kind(struct config_ctx *ctx, const struct schema_key *key,
                        const yaml_node_t *node, void *obj)
{
	struct config_component *c = obj;
	if (c->kind != TESTBUS__V1__COMPONENT_KIND__KIND_UNSPECIFIED) {
		config_error(ctx, config_line(node), "a component has one kind, not both '%s' and '%s'",
		             config_kind_name(c->kind), key->name);
		return;
	}
	c->kind = (Testbus__V1__ComponentKind)key->min;
	char *name = config_scalar(ctx, node, key->name, "a name");
	if (name != NULL && !config_valid_name(name))
		config_error(ctx, config_line(node),
		             "'%s' must be a name of letters, digits, '.', '_' and '-' "
		             "(at most 64, starting with a letter or digit), not '%s'",
		             key->name, name);
	else
		c->name = name;
}

static void tables_argv(struct config_ctx *ctx, const struct schema_key *key,
                        const yaml_node_t *node, void *obj)
{
	struct config_component *c = obj;
	if (node->type != YAML_SEQUENCE_NODE || config_count(node) == 0) {
		config_error(ctx, config_line(node),
		             "'%s' must be a non-empty sequence of strings (program and arguments), "
		             "not %s",
		             key->name, config_count(node) == 0 && node->type == YAML_SEQUENCE_NODE
		                            ? "an empty sequence"
		                            : config_node_type_name(node));
		return;
	}
	size_t n = (size_t)config_count(node);
	char **argv = config_zalloc(ctx, sizeof(*argv) * (n + 1));
	bool ok = argv != NULL;
	for (size_t i = 0; argv != NULL && i < n; i++) {
		yaml_node_t *item = config_node(ctx, node->data.sequence.items.start[i]);
		argv[i] = config_scalar(ctx, item, key->name, "a sequence of strings");
		ok = ok && argv[i] != NULL;
	}
	if (ok && argv[0][0] == '\0') {
		config_error(ctx, config_line(node), "'%s': the program must not be empty", key->name);
		ok = false;
	}
	if (ok) {
		c->argv = argv;
		c->argc = n;
	}
}

static bool tables_env_name(const char *s)
{
	if (*s == '\0' || strspn(s, "0123456789") > 0)
		return false;
	return strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_") ==
	       strlen(s);
}

/* A key that is only meaningful for some components: a problem when given elsewhere. */
static void tables_only(struct config_ctx *ctx, const struct schema_seen *seen, const char *key,
                        bool allowed, const char *for_what)
{
	int line = config_seen(&component_table, seen, key);
	if (line != 0 && !allowed)
		config_error(ctx, line, "'%s' is only for %s", key, for_what);
}

/* Checks what a component entry says as a whole and decides how it is reached. */
static void tables_component_check(struct config_ctx *ctx, struct config_component *c,
                                   const struct schema_seen *seen)
{
	int cmd = config_seen(&component_table, seen, "command");
	int addr = config_seen(&component_table, seen, "address");
	int reg = config_seen(&component_table, seen, "registered");
	if ((cmd != 0) + (addr != 0) + (reg != 0) > 1)
		config_error(ctx, cmd > addr ? (cmd > reg ? cmd : reg) : (addr > reg ? addr : reg),
		             "give only one of 'command', 'address' and 'registered'");
	c->reach = cmd ? CONFIG_SPAWN_COMMAND
	           : addr ? CONFIG_ATTACH
	           : reg  ? CONFIG_REGISTER
	                  : CONFIG_SPAWN_PROGRAM;
	bool spawned = c->reach == CONFIG_SPAWN_PROGRAM || c->reach == CONFIG_SPAWN_COMMAND;
	tables_only(ctx, seen, "program", c->reach == CONFIG_SPAWN_PROGRAM,
	            "components spawned by name (without 'command', 'address' or 'registered')");
	tables_only(ctx, seen, "env", spawned, "spawned components");
	tables_only(ctx, seen, "workdir", spawned, "spawned components");
	tables_only(ctx, seen, "tls", c->reach == CONFIG_ATTACH,
	            "attached components (with 'address')");
	tables_only(ctx, seen, "insecure", c->reach == CONFIG_ATTACH,
	            "attached components (with 'address')");
	tables_only(ctx, seen, "token", !spawned, "attached and registered components");
	tables_only(ctx, seen, "when", c->kind == TESTBUS__V1__COMPONENT_KIND__KIND_ANALYZER,
	            "analyzers");
	if (reg != 0 && c->kind != TESTBUS__V1__COMPONENT_KIND__KIND_UNSPECIFIED &&
	    c->kind != TESTBUS__V1__COMPONENT_KIND__KIND_EXECUTOR)
		config_error(ctx, reg, "'registered' is only for executors");
	for (size_t i = 0; i < c->env.n; i++) {
		if (!tables_env_name(c->env.items[i].key))
			config_error(ctx, config_seen(&component_table, seen, "env"),
			             "'env': '%s' is not a variable name", c->env.items[i].key);
	}
	if (addr != 0 && c->address != NULL)
		config_check_address(ctx, addr, "", c->address, &c->tls,
		                     config_seen(&component_table, seen, "tls") != 0, c->insecure);
	if (c->reach == CONFIG_SPAWN_PROGRAM && c->program == NULL)
		c->program = c->name;
}

/* Empties a component slot, freeing the section it may hold. */
static void tables_component_reset(struct config_component *c)
{
	if (c->config != NULL)
		protobuf_c_message_free_unpacked(&c->config->base, NULL);
	*c = (struct config_component){0};
}

static void tables_components(struct config_ctx *ctx, const struct schema_key *key,
                              const yaml_node_t *node, void *obj)
{
	struct broker_config *cfg = obj;
	if (node->type != YAML_SEQUENCE_NODE) {
		config_error(ctx, config_line(node), "'%s' must be a sequence, not %s", key->name,
		             config_node_type_name(node));
		return;
	}
	ctx->components_line = config_line(node);
	size_t n = (size_t)config_count(node);
	cfg->components = config_zalloc(ctx, sizeof(*cfg->components) * (n ? n : 1));
	for (size_t i = 0; cfg->components != NULL && i < n; i++) {
		yaml_node_t *item = config_node(ctx, node->data.sequence.items.start[i]);
		struct config_component *c = &cfg->components[cfg->n_components];
		struct schema_seen seen;
		tables_component_reset(c); /* a slot left by an entry that was not kept */
		c->line = config_line(item);
		c->min_count = 1;
		c->wait_ms = CONFIG_DEFAULT_WAIT_MS;
		if (!config_apply(ctx, item, "components[]", &component_table, c, &seen))
			continue;
		if (c->kind == TESTBUS__V1__COMPONENT_KIND__KIND_UNSPECIFIED) {
			config_error(ctx, c->line,
			             "a component needs one of 'provisioner', 'executor', 'analyzer' or "
			             "'reporter', with its name");
			continue;
		}
		tables_component_check(ctx, c, &seen);
		cfg->n_components++;
	}
	if (cfg->components != NULL && cfg->n_components < n)
		tables_component_reset(&cfg->components[cfg->n_components]);
}

/* ---------------------------------------------------------------- phases */

static void tables_selector(struct config_ctx *ctx, const struct schema_key *key,
                            const yaml_node_t *node, void *obj)
{
	struct config_selector *sel = &((struct config_target *)obj)->executor;
	if (node->type == YAML_MAPPING_NODE) {
		config_apply(ctx, node, key->name, &selector_table, sel, NULL);
		return;
	}
	char *name = config_scalar(ctx, node, key->name, "a component name or a mapping");
	if (name == NULL || *name == '\0')
		return;
	if (!config_valid_name(name)) {
		config_error(ctx, config_line(node), "'%s' must name a component, not '%s'",
		             key->name, name);
		return;
	}
	sel->ref.name = name;
	sel->ref.line = config_line(node);
}

static void tables_targets(struct config_ctx *ctx, const struct schema_key *key,
                           const yaml_node_t *node, void *obj)
{
	struct config_phase *phase = obj;
	if (node->type != YAML_SEQUENCE_NODE || config_count(node) == 0) {
		config_error(ctx, config_line(node), "'%s' must be a non-empty sequence, not %s",
		             key->name, node->type == YAML_SEQUENCE_NODE
		                            ? "an empty sequence"
		                            : config_node_type_name(node));
		return;
	}
	size_t n = (size_t)config_count(node);
	phase->targets = config_zalloc(ctx, sizeof(*phase->targets) * n);
	for (size_t i = 0; phase->targets != NULL && i < n; i++) {
		yaml_node_t *item = config_node(ctx, node->data.sequence.items.start[i]);
		struct config_target *t = &phase->targets[phase->n_targets];
		*t = (struct config_target){.line = config_line(item)};
		t->shards = 1;
		if (!config_apply(ctx, item, "targets[]", &target_table, t, NULL))
			continue;
		if (t->name == NULL) {
			char name[32];
			snprintf(name, sizeof(name), "target-%zu", i + 1);
			t->name = config_strdup(ctx, name);
		}
		phase->n_targets++;
	}
}

static void tables_phases(struct config_ctx *ctx, const struct schema_key *key,
                          const yaml_node_t *node, void *obj)
{
	struct broker_config *cfg = obj;
	if (node->type != YAML_SEQUENCE_NODE || config_count(node) == 0) {
		config_error(ctx, config_line(node), "'%s' must be a non-empty sequence, not %s",
		             key->name, node->type == YAML_SEQUENCE_NODE
		                            ? "an empty sequence"
		                            : config_node_type_name(node));
		return;
	}
	size_t n = (size_t)config_count(node);
	cfg->phases = config_zalloc(ctx, sizeof(*cfg->phases) * n);
	for (size_t i = 0; cfg->phases != NULL && i < n; i++) {
		yaml_node_t *item = config_node(ctx, node->data.sequence.items.start[i]);
		struct config_phase *p = &cfg->phases[cfg->n_phases];
		*p = (struct config_phase){.line = config_line(item)};
		if (config_apply(ctx, item, "phases[]", &phase_table, p, NULL) && p->name != NULL)
			cfg->n_phases++;
	}
}

/* ------------------------------------------------------------- top level */

static void tables_listen(struct config_ctx *ctx, const struct schema_key *key,
                          const yaml_node_t *node, void *obj)
{
	struct config_listen *listen = &((struct broker_config *)obj)->listen;
	struct schema_seen seen = {{0}};
	int line = config_line(node);
	if (node->type == YAML_MAPPING_NODE) {
		config_apply(ctx, node, key->name, &listen_table, listen, &seen);
		line = config_seen(&listen_table, &seen, "address");
	} else if (!config_is_null(node)) {
		listen->address = config_scalar(ctx, node, key->name, "an address or a mapping");
	}
	if (listen->address != NULL && *listen->address == '\0')
		listen->address = NULL;
	if (listen->address == NULL && node->type == YAML_MAPPING_NODE)
		config_error(ctx, config_line(node), "'listen' is missing 'address'");
	else if (listen->address != NULL)
		config_check_address(ctx, line, "", listen->address, &listen->tls,
		                     config_seen(&listen_table, &seen, "tls") != 0, listen->insecure);
}

void config_schema_apply(struct config_ctx *ctx, const yaml_node_t *root)
{
	if (root->type != YAML_MAPPING_NODE)
		config_error(ctx, config_line(root), "the config must be a mapping of keys, not %s",
		             config_node_type_name(root));
	else
		config_apply(ctx, root, "the config", &top_table, ctx->cfg, NULL);
}
