/* Component sections of the config turned into Value trees, with line-numbered problems. */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "config_internal.h"

#define VALUE_MAX_DEPTH 64
#define VALUE_MAX_NODES 100000 /* aliases can repeat subtrees: bound the walk */

static Testbus__V1__Value *value_from_node(struct config_ctx *ctx, const yaml_node_t *node,
                                           int depth);
static Testbus__V1__ValueMap *value_map_from_node(struct config_ctx *ctx,
                                                  const yaml_node_t *node, int depth);

static bool value_all(const char *s, int (*pred)(int))
{
	if (*s == '\0')
		return false;
	for (; *s != '\0'; s++) {
		if (!pred((unsigned char)*s))
			return false;
	}
	return true;
}

static int value_is_octal(int c)
{
	return c >= '0' && c <= '7';
}

/* Reads s as a YAML 1.2 core integer into *n. */
static bool value_int(const char *s, int64_t *n)
{
	const char *digits = s + (*s == '-' || *s == '+');
	int base = 10;
	if (strncmp(s, "0x", 2) == 0 && value_all(s + 2, isxdigit)) {
		digits = s + 2;
		base = 16;
	} else if (strncmp(s, "0o", 2) == 0 && value_all(s + 2, value_is_octal)) {
		digits = s + 2;
		base = 8;
	} else if (!value_all(digits, isdigit)) {
		return false;
	}
	errno = 0;
	char *end = NULL;
	long long v = strtoll(base == 10 ? s : digits, &end, base);
	if (errno != 0 || *end != '\0')
		return false;
	*n = v;
	return true;
}

/* Reads s as a YAML 1.2 core float into *d. */
static bool value_double(const char *s, double *d)
{
	const char *p = s + (*s == '-' || *s == '+');
	if (strcmp(p, ".inf") == 0 || strcmp(p, ".Inf") == 0 || strcmp(p, ".INF") == 0) {
		*d = *s == '-' ? -INFINITY : INFINITY;
		return true;
	}
	if (strcmp(s, ".nan") == 0 || strcmp(s, ".NaN") == 0 || strcmp(s, ".NAN") == 0) {
		*d = NAN;
		return true;
	}
	size_t int_digits = strspn(p, "0123456789");
	size_t frac_digits = 0;
	p += int_digits;
	if (*p == '.') {
		frac_digits = strspn(p + 1, "0123456789");
		p += 1 + frac_digits;
	}
	if (int_digits + frac_digits == 0)
		return false;
	if (*p == 'e' || *p == 'E') {
		p += 1 + (p[1] == '-' || p[1] == '+');
		size_t exp_digits = strspn(p, "0123456789");
		if (exp_digits == 0)
			return false;
		p += exp_digits;
	}
	if (*p != '\0')
		return false;
	*d = strtod(s, NULL);
	return true;
}

static bool value_is_word(const char *s, const char *lower)
{
	char upper[8];
	size_t n = strlen(lower);
	for (size_t i = 0; i <= n; i++)
		upper[i] = (char)toupper((unsigned char)lower[i]);
	char title[8];
	memcpy(title, lower, n + 1);
	title[0] = upper[0];
	return strcmp(s, lower) == 0 || strcmp(s, upper) == 0 || strcmp(s, title) == 0;
}

/*
 * Types an expanded plain scalar as YAML 1.2 core does; takes ownership of
 * text (kept as the string or freed).
 */
static void value_set_plain(Testbus__V1__Value *v, char *text)
{
	if (text[0] == '\0' || strcmp(text, "~") == 0 || value_is_word(text, "null")) {
		free(text);
	} else if (value_is_word(text, "true") || value_is_word(text, "false")) {
		v->kind_case = TESTBUS__V1__VALUE__KIND_BOOL_VALUE;
		v->bool_value = text[0] == 't' || text[0] == 'T';
		free(text);
	} else if (value_int(text, &v->int_value)) {
		v->kind_case = TESTBUS__V1__VALUE__KIND_INT_VALUE;
		free(text);
	} else if (value_double(text, &v->double_value)) {
		v->kind_case = TESTBUS__V1__VALUE__KIND_DOUBLE_VALUE;
		free(text);
	} else {
		v->kind_case = TESTBUS__V1__VALUE__KIND_STRING_VALUE;
		v->string_value = text;
	}
}

static bool value_scalar(struct config_ctx *ctx, const yaml_node_t *node,
                         Testbus__V1__Value *v)
{
	char *text = config_expand(ctx, (const char *)node->data.scalar.value, config_line(node));
	if (text == NULL)
		return false;
	if (node->data.scalar.style == YAML_PLAIN_SCALAR_STYLE) {
		value_set_plain(v, text);
	} else {
		v->kind_case = TESTBUS__V1__VALUE__KIND_STRING_VALUE;
		v->string_value = text;
	}
	return true;
}

static Testbus__V1__ValueList *value_list_from_node(struct config_ctx *ctx,
                                                   const yaml_node_t *node, int depth)
{
	size_t n = (size_t)(node->data.sequence.items.top - node->data.sequence.items.start);
	Testbus__V1__ValueList *list = malloc(sizeof(*list));
	bool ok = list != NULL;
	if (ok) {
		testbus__v1__value_list__init(list);
		if (n > 0 && (list->values = calloc(n, sizeof(*list->values))) == NULL)
			ok = false;
	}
	if (!ok)
		ctx->oom = true;
	for (size_t i = 0; i < n && !ctx->oom; i++) {
		yaml_node_t *item = config_node(ctx, node->data.sequence.items.start[i]);
		Testbus__V1__Value *v = value_from_node(ctx, item, depth + 1);
		if (v == NULL)
			ok = false;
		else
			list->values[list->n_values++] = v;
	}
	if ((!ok || ctx->oom) && list != NULL) {
		protobuf_c_message_free_unpacked(&list->base, NULL);
		list = NULL;
	}
	return list;
}

static Testbus__V1__Value *value_from_node(struct config_ctx *ctx, const yaml_node_t *node,
                                           int depth)
{
	Testbus__V1__Value *v = NULL;
	bool ok = false;
	if (depth > VALUE_MAX_DEPTH || ++ctx->visited > VALUE_MAX_NODES) {
		if (!ctx->too_large) /* once: every node past the limit would say it */
			config_error(ctx, config_line(node), "nested too deeply or too large");
		ctx->too_large = true;
		goto out;
	}
	if ((v = malloc(sizeof(*v))) == NULL) {
		ctx->oom = true;
		goto out;
	}
	testbus__v1__value__init(v);
	if (node->type == YAML_SCALAR_NODE) {
		ok = value_scalar(ctx, node, v);
	} else if (node->type == YAML_SEQUENCE_NODE) {
		v->list_value = value_list_from_node(ctx, node, depth);
		v->kind_case = TESTBUS__V1__VALUE__KIND_LIST_VALUE;
		ok = v->list_value != NULL;
	} else {
		v->map_value = value_map_from_node(ctx, node, depth);
		v->kind_case = TESTBUS__V1__VALUE__KIND_MAP_VALUE;
		ok = v->map_value != NULL;
	}
out:
	if (!ok && v != NULL) {
		protobuf_c_message_free_unpacked(&v->base, NULL);
		v = NULL;
	}
	return v;
}

/* Finds key among the first n entries; returns its index or -1. */
static int value_find_key(Testbus__V1__ValueMap__FieldsEntry **entries, size_t n,
                          const char *key)
{
	for (size_t i = 0; i < n; i++) {
		if (strcmp(entries[i]->key, key) == 0)
			return (int)i;
	}
	return -1;
}

/* Adds the pair at index i of node to map; false on a problem. */
static bool value_map_add(struct config_ctx *ctx, Testbus__V1__ValueMap *map,
                          const yaml_node_pair_t *pair, const int *lines, int depth)
{
	yaml_node_t *k = config_node(ctx, pair->key);
	yaml_node_t *val = config_node(ctx, pair->value);
	if (k->type != YAML_SCALAR_NODE) {
		config_error(ctx, config_line(k), "a key must be a string, not %s",
		             config_node_type_name(k));
		return false;
	}
	const char *key = (const char *)k->data.scalar.value;
	int dup = value_find_key(map->fields, map->n_fields, key);
	if (dup >= 0) {
		config_error(ctx, config_line(k), "duplicate key '%s' (first at line %d)", key,
		             lines[dup]);
		return false;
	}
	Testbus__V1__ValueMap__FieldsEntry *e = malloc(sizeof(*e));
	if (e == NULL) {
		ctx->oom = true;
		return false;
	}
	testbus__v1__value_map__fields_entry__init(e);
	e->key = strdup(key);
	e->value = e->key ? value_from_node(ctx, val, depth + 1) : NULL;
	if (e->key == NULL)
		ctx->oom = true;
	if (e->value == NULL) {
		free(e->key);
		free(e);
		return false;
	}
	map->fields[map->n_fields++] = e;
	return true;
}

static Testbus__V1__ValueMap *value_map_from_node(struct config_ctx *ctx,
                                                  const yaml_node_t *node, int depth)
{
	size_t n = (size_t)(node->data.mapping.pairs.top - node->data.mapping.pairs.start);
	Testbus__V1__ValueMap *map = malloc(sizeof(*map));
	int *lines = n ? calloc(n, sizeof(*lines)) : NULL;
	bool ok = map != NULL && (n == 0 || lines != NULL);
	if (map != NULL) {
		testbus__v1__value_map__init(map);
		map->fields = n ? calloc(n, sizeof(*map->fields)) : NULL;
		ok = ok && (n == 0 || map->fields != NULL);
	}
	if (!ok)
		ctx->oom = true;
	for (size_t i = 0; i < n && !ctx->oom; i++) {
		const yaml_node_pair_t *pair = &node->data.mapping.pairs.start[i];
		lines[map->n_fields] = config_line(config_node(ctx, pair->key));
		if (!value_map_add(ctx, map, pair, lines, depth))
			ok = false;
	}
	free(lines);
	if ((!ok || ctx->oom) && map != NULL) {
		protobuf_c_message_free_unpacked(&map->base, NULL);
		map = NULL;
	}
	return map;
}

bool config_value_map(struct config_ctx *ctx, const yaml_node_t *node, const char *key,
                      Testbus__V1__ValueMap **mapp)
{
	Testbus__V1__ValueMap *map = NULL;
	if (config_is_null(node)) {
		if ((map = malloc(sizeof(*map))) == NULL)
			ctx->oom = true;
		else
			testbus__v1__value_map__init(map);
	} else if (node->type != YAML_MAPPING_NODE) {
		config_error(ctx, config_line(node), "'%s' must be a mapping, not %s", key,
		             config_node_type_name(node));
	} else {
		map = value_map_from_node(ctx, node, 0);
	}
	*mapp = map;
	return map != NULL;
}
