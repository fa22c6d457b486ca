/* Loading a YAML document into a ValueMap (YAML 1.2 core schema scalars). */
#include <errno.h>
#include <math.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yaml.h>

#include "internal.h"

#define YAML_MAX_DEPTH 64
#define YAML_MAX_NODES 200000 /* aliases may repeat nodes: bound the walk */

struct yaml_walk {
	yaml_document_t *doc;
	const char *name;
	size_t visited;
	tb_status *st;
};

static Testbus__V1__Value *yaml_node_value(struct yaml_walk *w, yaml_node_t *node, int depth);

static bool yaml_is_plain(const yaml_node_t *node)
{
	return node->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
}

static bool yaml_matches(const char *pattern, const char *s)
{
	regex_t re;
	if (regcomp(&re, pattern, REG_EXTENDED | REG_NOSUB) != 0)
		return false;
	bool ok = regexec(&re, s, 0, NULL, 0) == 0;
	regfree(&re);
	return ok;
}

/* Sets v from a plain scalar per the YAML 1.2 core schema. */
static int yaml_plain_scalar(Testbus__V1__Value *v, const char *s)
{
	static const char *const trues[] = {"true", "True", "TRUE"};
	static const char *const falses[] = {"false", "False", "FALSE"};
	static const char *const nulls[] = {"", "~", "null", "Null", "NULL"};
	for (size_t i = 0; i < 3; i++) {
		if (strcmp(s, trues[i]) == 0 || strcmp(s, falses[i]) == 0) {
			v->kind_case = TESTBUS__V1__VALUE__KIND_BOOL_VALUE;
			v->bool_value = strcmp(s, trues[i]) == 0;
			return TB_OK;
		}
	}
	for (size_t i = 0; i < 5; i++) {
		if (strcmp(s, nulls[i]) == 0)
			return TB_OK; /* null: a Value with no kind */
	}
	int base = yaml_matches("^[-+]?[0-9]+$", s)       ? 10
	           : yaml_matches("^0x[0-9a-fA-F]+$", s) ? 16
	           : yaml_matches("^0o[0-7]+$", s)       ? 8
	                                                 : 0;
	if (base != 0) {
		errno = 0;
		long long n = strtoll(base == 8 ? s + 2 : s, NULL, base);
		if (errno == 0) {
			v->kind_case = TESTBUS__V1__VALUE__KIND_INT_VALUE;
			v->int_value = n;
			return TB_OK;
		}
	}
	if (yaml_matches("^[-+]?(\\.[0-9]+|[0-9]+(\\.[0-9]*)?)([eE][-+]?[0-9]+)?$", s)) {
		v->kind_case = TESTBUS__V1__VALUE__KIND_DOUBLE_VALUE;
		v->double_value = strtod(s, NULL);
		return TB_OK;
	}
	if (yaml_matches("^[-+]?\\.(inf|Inf|INF)$", s) || yaml_matches("^\\.(nan|NaN|NAN)$", s)) {
		v->kind_case = TESTBUS__V1__VALUE__KIND_DOUBLE_VALUE;
		v->double_value = s[1] == 'n' || s[1] == 'N' ? NAN : (s[0] == '-' ? -INFINITY : INFINITY);
		return TB_OK;
	}
	v->kind_case = TESTBUS__V1__VALUE__KIND_STRING_VALUE;
	v->string_value = tbi_strdup(s);
	return v->string_value == NULL ? TB_RESOURCE_EXHAUSTED : TB_OK;
}

static Testbus__V1__ValueMap *yaml_mapping(struct yaml_walk *w, yaml_node_t *node, int depth)
{
	Testbus__V1__ValueMap *map = malloc(sizeof(*map));
	if (map == NULL)
		return NULL;
	testbus__v1__value_map__init(map);
	size_t n = (size_t)(node->data.mapping.pairs.top - node->data.mapping.pairs.start);
	map->fields = calloc(n ? n : 1, sizeof(*map->fields));
	if (map->fields == NULL)
		goto fail;
	for (yaml_node_pair_t *p = node->data.mapping.pairs.start;
	     p < node->data.mapping.pairs.top; p++) {
		yaml_node_t *k = yaml_document_get_node(w->doc, p->key);
		yaml_node_t *val = yaml_document_get_node(w->doc, p->value);
		if (k == NULL || val == NULL || k->type != YAML_SCALAR_NODE) {
			tb_status_set(w->st, TB_INVALID_ARGUMENT, "%s:%zu: mapping keys must be scalars",
			              w->name, (k ? k->start_mark.line : node->start_mark.line) + 1);
			goto fail;
		}
		Testbus__V1__ValueMap__FieldsEntry *e = malloc(sizeof(*e));
		if (e == NULL)
			goto fail;
		testbus__v1__value_map__fields_entry__init(e);
		map->fields[map->n_fields++] = e;
		e->key = tbi_strdup((const char *)k->data.scalar.value);
		if (e->key == NULL)
			goto fail;
		e->value = yaml_node_value(w, val, depth + 1);
		if (e->value == NULL)
			goto fail;
	}
	return map;
fail:
	protobuf_c_message_free_unpacked(&map->base, NULL);
	return NULL;
}

static Testbus__V1__ValueList *yaml_sequence(struct yaml_walk *w, yaml_node_t *node, int depth)
{
	Testbus__V1__ValueList *list = malloc(sizeof(*list));
	if (list == NULL)
		return NULL;
	testbus__v1__value_list__init(list);
	size_t n = (size_t)(node->data.sequence.items.top - node->data.sequence.items.start);
	list->values = calloc(n ? n : 1, sizeof(*list->values));
	if (list->values == NULL)
		goto fail;
	for (yaml_node_item_t *it = node->data.sequence.items.start;
	     it < node->data.sequence.items.top; it++) {
		yaml_node_t *item = yaml_document_get_node(w->doc, *it);
		Testbus__V1__Value *v = item ? yaml_node_value(w, item, depth + 1) : NULL;
		if (v == NULL)
			goto fail;
		list->values[list->n_values++] = v;
	}
	return list;
fail:
	protobuf_c_message_free_unpacked(&list->base, NULL);
	return NULL;
}

static Testbus__V1__Value *yaml_node_value(struct yaml_walk *w, yaml_node_t *node, int depth)
{
	if (depth > YAML_MAX_DEPTH || ++w->visited > YAML_MAX_NODES) {
		tb_status_set(w->st, TB_RESOURCE_EXHAUSTED, "%s:%zu: document nests or repeats too much",
		              w->name, node->start_mark.line + 1);
		return NULL;
	}
	Testbus__V1__Value *v = malloc(sizeof(*v));
	if (v == NULL)
		return NULL;
	testbus__v1__value__init(v);
	int rv = TB_OK;
	switch (node->type) {
	case YAML_SCALAR_NODE:
		if (yaml_is_plain(node)) {
			rv = yaml_plain_scalar(v, (const char *)node->data.scalar.value);
		} else {
			v->kind_case = TESTBUS__V1__VALUE__KIND_STRING_VALUE;
			v->string_value = tbi_strdup((const char *)node->data.scalar.value);
			rv = v->string_value ? TB_OK : TB_RESOURCE_EXHAUSTED;
		}
		break;
	case YAML_MAPPING_NODE:
		v->kind_case = TESTBUS__V1__VALUE__KIND_MAP_VALUE;
		v->map_value = yaml_mapping(w, node, depth);
		rv = v->map_value ? TB_OK : TB_INVALID_ARGUMENT;
		break;
	case YAML_SEQUENCE_NODE:
		v->kind_case = TESTBUS__V1__VALUE__KIND_LIST_VALUE;
		v->list_value = yaml_sequence(w, node, depth);
		rv = v->list_value ? TB_OK : TB_INVALID_ARGUMENT;
		break;
	default:
		rv = TB_INVALID_ARGUMENT;
		break;
	}
	if (rv != TB_OK) {
		if (w->st != NULL && w->st->code == TB_OK)
			tb_status_set(w->st, rv, "%s:%zu: cannot load value", w->name,
			              node->start_mark.line + 1);
		protobuf_c_message_free_unpacked(&v->base, NULL);
		return NULL;
	}
	return v;
}

static int yaml_load(yaml_parser_t *parser, const char *name, Testbus__V1__ValueMap **mapp,
                     tb_status *st)
{
	yaml_document_t doc;
	int rv = TB_OK;
	if (!yaml_parser_load(parser, &doc))
		return tb_status_set(st, TB_INVALID_ARGUMENT, "%s:%zu: %s", name,
		                     parser->problem_mark.line + 1,
		                     parser->problem ? parser->problem : "invalid YAML");
	yaml_node_t *root = yaml_document_get_root_node(&doc);
	Testbus__V1__ValueMap *map = NULL;
	if (root == NULL) {
		map = malloc(sizeof(*map)); /* an empty document is an empty map */
		if (map == NULL) {
			rv = TB_RESOURCE_EXHAUSTED;
			goto out;
		}
		testbus__v1__value_map__init(map);
	} else if (root->type != YAML_MAPPING_NODE) {
		rv = tb_status_set(st, TB_INVALID_ARGUMENT, "%s:%zu: the document must be a mapping",
		                   name, root->start_mark.line + 1);
		goto out;
	} else {
		tb_status_clear(st);
		struct yaml_walk w = {.doc = &doc, .name = name, .st = st};
		map = yaml_mapping(&w, root, 0);
		if (map == NULL) {
			rv = st != NULL && st->code != TB_OK ? st->code : TB_RESOURCE_EXHAUSTED;
			goto out;
		}
	}
	*mapp = map;
out:
	yaml_document_delete(&doc);
	return rv;
}

int tb_value_map_from_yaml_string(const char *text, size_t len, const char *name,
                                  Testbus__V1__ValueMap **mapp, tb_status *st)
{
	yaml_parser_t parser;
	if (!yaml_parser_initialize(&parser))
		return tb_status_set(st, TB_RESOURCE_EXHAUSTED, "cannot initialise the YAML parser");
	yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
	int rv = yaml_load(&parser, name ? name : "<string>", mapp, st);
	yaml_parser_delete(&parser);
	return rv;
}

int tb_value_map_from_yaml_file(const char *path, Testbus__V1__ValueMap **mapp, tb_status *st)
{
	FILE *f = fopen(path, "rb");
	if (f == NULL)
		return tb_status_set(st, errno == ENOENT ? TB_NOT_FOUND : TB_PERMISSION_DENIED,
		                     "%s: %s", path, strerror(errno));
	yaml_parser_t parser;
	int rv;
	if (!yaml_parser_initialize(&parser)) {
		rv = tb_status_set(st, TB_RESOURCE_EXHAUSTED, "cannot initialise the YAML parser");
		goto out;
	}
	yaml_parser_set_input_file(&parser, f);
	rv = yaml_load(&parser, path, mapp, st);
	yaml_parser_delete(&parser);
out:
	fclose(f);
	return rv;
}
