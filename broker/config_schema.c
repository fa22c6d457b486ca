/* The config's key tables and the one walker that applies a mapping node to a struct by them. */
#include <stddef.h>
#include <stdio.h>
#include <stdint.h>
#include <string.h>

#include "testbus/status.h"

#include "config_schema.h"

#define FIELD(obj, key) ((char *)(obj) + (key)->offset)

/* ---------------------------------------------------------------- values */

int config_count(const yaml_node_t *node)
{
	if (node->type == YAML_MAPPING_NODE)
		return (int)(node->data.mapping.pairs.top - node->data.mapping.pairs.start);
	return (int)(node->data.sequence.items.top - node->data.sequence.items.start);
}

/* Reads a mapping of strings into *labels; keys are taken as written. */
void config_labels(struct config_ctx *ctx, const char *key, const yaml_node_t *node,
                   struct config_labels *labels)
{
	if (node->type != YAML_MAPPING_NODE) {
		config_error(ctx, config_line(node), "'%s' must be a mapping of strings, not %s", key,
		             config_node_type_name(node));
		return;
	}
	int n = config_count(node);
	struct config_kv *items = config_zalloc(ctx, sizeof(*items) * (size_t)(n ? n : 1));
	size_t used = 0;
	for (int i = 0; items != NULL && i < n; i++) {
		yaml_node_pair_t *pair = &node->data.mapping.pairs.start[i];
		yaml_node_t *k = config_node(ctx, pair->key);
		char *name = config_scalar(ctx, k, key, "a mapping of strings");
		if (name == NULL)
			continue;
		for (size_t j = 0; j < used; j++) {
			if (strcmp(items[j].key, name) == 0) {
				config_error(ctx, config_line(k), "duplicate key '%s' in '%s'", name, key);
				name = NULL;
				break;
			}
		}
		char *value = config_scalar(ctx, config_node(ctx, pair->value), name ? name : key,
		                            "a string");
		if (name != NULL && value != NULL)
			items[used++] = (struct config_kv){name, value};
	}
	labels->items = items;
	labels->n = used;
}

static bool schema_choose(const struct schema_choice *c, const char *s, int *value)
{
	for (; c->name != NULL; c++) {
		if (strcmp(c->name, s) == 0) {
			*value = c->value;
			return true;
		}
	}
	return false;
}

static void schema_bad_choice(struct config_ctx *ctx, const struct schema_key *key, int line,
                              const char *s)
{
	char list[160] = "";
	for (const struct schema_choice *c = key->choices; c->name != NULL; c++) {
		size_t len = strlen(list);
		snprintf(list + len, sizeof(list) - len, "%s%s", len ? ", " : "", c->name);
	}
	config_error(ctx, line, "'%s' must be one of %s, not '%s'", key->name, list, s);
}

static void schema_uint(struct config_ctx *ctx, const struct schema_key *key, int line,
                        const char *s, uint32_t *out)
{
	uint64_t n = 0;
	bool ok = *s != '\0' && strspn(s, "0123456789") == strlen(s) && strlen(s) <= 10;
	for (const char *p = s; ok && *p != '\0'; p++)
		n = n * 10 + (uint64_t)(*p - '0');
	if (!ok || n < key->min || n > key->max) {
		if (key->min == key->max)
			config_error(ctx, line, "'%s' must be %u, not '%s'", key->name, key->min, s);
		else
			config_error(ctx, line, "'%s' must be an integer from %u to %u, not '%s'",
			             key->name, key->min, key->max, s);
		return;
	}
	*out = (uint32_t)n;
}

static void schema_duration(struct config_ctx *ctx, const struct schema_key *key, int line,
                            const char *s, uint32_t *out)
{
	int rv = config_parse_duration(s, out);
	if (rv == TB_OUT_OF_RANGE)
		config_error(ctx, line, "'%s' is too long: '%s' (at most 49 days)", key->name, s);
	else if (rv != TB_OK)
		config_error(ctx, line, "'%s' must be a duration such as 30s, 10m or 1h30m, not '%s'",
		             key->name, s);
}

/* Sets a scalar-valued key from its expanded text s. */
static void schema_set_scalar(struct config_ctx *ctx, const struct schema_key *key, int line,
                              char *s, void *obj)
{
	void *field = FIELD(obj, key);
	int v = 0;
	switch (key->type) {
	case SCHEMA_NAME:
		if (!config_valid_name(s))
			config_error(ctx, line,
			             "'%s' must be a name of letters, digits, '.', '_' and '-' "
			             "(at most 64, starting with a letter or digit), not '%s'",
			             key->name, s);
		else
			*(char **)field = s;
		break;
	case SCHEMA_PATH:
		*(char **)field = config_join(ctx, ctx->cfg->base_dir, s);
		break;
	case SCHEMA_UINT:
		schema_uint(ctx, key, line, s, (uint32_t *)field);
		break;
	case SCHEMA_BOOL:
		if (strcmp(s, "true") == 0 || strcmp(s, "false") == 0)
			*(bool *)field = s[0] == 't';
		else
			config_error(ctx, line, "'%s' must be true or false, not '%s'", key->name, s);
		break;
	case SCHEMA_DURATION:
		schema_duration(ctx, key, line, s, (uint32_t *)field);
		break;
	case SCHEMA_ENUM:
		if (schema_choose(key->choices, s, &v))
			*(int *)field = v;
		else
			schema_bad_choice(ctx, key, line, s);
		break;
	case SCHEMA_REF:
		if (!config_valid_name(s)) {
			config_error(ctx, line, "'%s' must name a component, not '%s'", key->name, s);
		} else {
			((struct config_ref *)field)->name = s;
			((struct config_ref *)field)->line = line;
		}
		break;
	default:
		*(char **)field = s;
		break;
	}
}

/* Sets one key from its value node. */
static void schema_set(struct config_ctx *ctx, const struct schema_key *key,
                       const yaml_node_t *node, void *obj)
{
	switch (key->type) {
	case SCHEMA_LABELS:
		if (!config_is_null(node))
			config_labels(ctx, key->name, node, (struct config_labels *)FIELD(obj, key));
		return;
	case SCHEMA_VALUES: {
		Testbus__V1__ValueMap **mapp = (Testbus__V1__ValueMap **)FIELD(obj, key);
		Testbus__V1__ValueMap *map = NULL;
		if (config_value_map(ctx, node, key->name, &map)) {
			if (*mapp != NULL)
				protobuf_c_message_free_unpacked(&(*mapp)->base, NULL);
			*mapp = map;
		}
		return;
	}
	case SCHEMA_SECTION:
		if (!config_is_null(node))
			config_apply(ctx, node, key->name, key->table, FIELD(obj, key), NULL);
		return;
	case SCHEMA_CUSTOM:
		key->parse(ctx, key, node, obj);
		return;
	default:
		break;
	}
	char *s = config_is_null(node) ? ""
	          : config_scalar(ctx, node, key->name,
	                          key->type == SCHEMA_STRING || key->type == SCHEMA_PATH
	                              ? "a string"
	                              : "a single value");
	if (s != NULL && *s != '\0')
		schema_set_scalar(ctx, key, config_line(node), s, obj);
	else if (s != NULL && key->required)
		config_error(ctx, config_line(node), "'%s' must not be empty", key->name);
}

/* ------------------------------------------------------------- the walker */

/* The edit distance between a and b, for "did you mean". */
static size_t schema_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	size_t row[33];
	if (la > 32 || lb > 32)
		return SIZE_MAX;
	for (size_t j = 0; j <= lb; j++)
		row[j] = j;
	for (size_t i = 1; i <= la; i++) {
		size_t diag = row[0];
		row[0] = i;
		for (size_t j = 1; j <= lb; j++) {
			size_t up = row[j];
			size_t best = diag + (a[i - 1] != b[j - 1]);
			if (up + 1 < best)
				best = up + 1;
			if (row[j - 1] + 1 < best)
				best = row[j - 1] + 1;
			row[j] = best;
			diag = up;
		}
	}
	return row[lb];
}

static void schema_unknown(struct config_ctx *ctx, const struct schema_table *t, int line,
                           const char *name)
{
	const char *best = NULL;
	size_t best_d = 3;
	for (size_t i = 0; i < t->n; i++) {
		size_t d = schema_distance(name, t->keys[i].name);
		if (d < best_d) {
			best_d = d;
			best = t->keys[i].name;
		}
	}
	if (best != NULL)
		config_error(ctx, line, "unknown key '%s' in %s (did you mean '%s'?)", name, t->what,
		             best);
	else
		config_error(ctx, line, "unknown key '%s' in %s", name, t->what);
}

static int schema_find(const struct schema_table *t, const char *name)
{
	for (size_t i = 0; i < t->n; i++) {
		if (strcmp(t->keys[i].name, name) == 0)
			return (int)i;
	}
	return -1;
}

bool config_apply(struct config_ctx *ctx, const yaml_node_t *node, const char *key,
                  const struct schema_table *t, void *obj, struct schema_seen *seen)
{
	struct schema_seen local = {{0}};
	if (node->type != YAML_MAPPING_NODE) {
		config_error(ctx, config_line(node), "'%s' must be a mapping, not %s", key,
		             config_node_type_name(node));
		return false;
	}
	for (int i = 0; i < config_count(node); i++) {
		yaml_node_pair_t *pair = &node->data.mapping.pairs.start[i];
		yaml_node_t *k = config_node(ctx, pair->key);
		if (k->type != YAML_SCALAR_NODE) {
			config_error(ctx, config_line(k), "a key in %s must be a string, not %s", t->what,
			             config_node_type_name(k));
			continue;
		}
		const char *name = (const char *)k->data.scalar.value;
		int idx = schema_find(t, name);
		if (idx < 0) {
			schema_unknown(ctx, t, config_line(k), name);
		} else if (local.line[idx] != 0) {
			config_error(ctx, config_line(k), "duplicate key '%s' in %s (first at line %d)",
			             name, t->what, local.line[idx]);
		} else {
			local.line[idx] = config_line(k);
			schema_set(ctx, &t->keys[idx], config_node(ctx, pair->value), obj);
		}
	}
	for (size_t i = 0; i < t->n; i++) {
		if (t->keys[i].required && local.line[i] == 0)
			config_error(ctx, config_line(node), "%s is missing '%s'", t->what,
			             t->keys[i].name);
	}
	if (seen != NULL)
		*seen = local;
	return true;
}

int config_seen(const struct schema_table *t, const struct schema_seen *seen, const char *name)
{
	int idx = schema_find(t, name);
	return idx >= 0 ? seen->line[idx] : 0;
}
