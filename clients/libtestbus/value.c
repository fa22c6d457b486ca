/* Reading typed Values and protobuf-c map entries. */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/* The shape every protobuf-c map entry shares. */
struct map_entry {
	ProtobufCMessage base;
	char *key;
	void *value;
};

void *tb_map_lookup(void *const *entries, size_t n, const char *key)
{
	if (entries == NULL || key == NULL)
		return NULL;
	/* protobuf maps keep the last value written for a key. */
	for (size_t i = n; i-- > 0;) {
		const struct map_entry *e = entries[i];
		if (e != NULL && e->key != NULL && strcmp(e->key, key) == 0)
			return e->value;
	}
	return NULL;
}

const Testbus__V1__Value *tb_value_map_get(const Testbus__V1__ValueMap *map, const char *key)
{
	if (map == NULL)
		return NULL;
	return tb_map_get(map->fields, map->n_fields, key);
}

const char *tb_value_string(const Testbus__V1__Value *v)
{
	if (v == NULL || v->kind_case != TESTBUS__V1__VALUE__KIND_STRING_VALUE)
		return NULL;
	return v->string_value;
}

int tb_value_int(const Testbus__V1__Value *v, int64_t *out)
{
	if (v == NULL)
		return TB_NOT_FOUND;
	if (v->kind_case != TESTBUS__V1__VALUE__KIND_INT_VALUE)
		return TB_INVALID_ARGUMENT;
	*out = v->int_value;
	return TB_OK;
}

int tb_value_double(const Testbus__V1__Value *v, double *out)
{
	if (v == NULL)
		return TB_NOT_FOUND;
	switch (v->kind_case) {
	case TESTBUS__V1__VALUE__KIND_DOUBLE_VALUE:
		*out = v->double_value;
		return TB_OK;
	case TESTBUS__V1__VALUE__KIND_INT_VALUE:
		*out = (double)v->int_value;
		return TB_OK;
	default:
		return TB_INVALID_ARGUMENT;
	}
}

int tb_value_bool(const Testbus__V1__Value *v, bool *out)
{
	if (v == NULL)
		return TB_NOT_FOUND;
	if (v->kind_case != TESTBUS__V1__VALUE__KIND_BOOL_VALUE)
		return TB_INVALID_ARGUMENT;
	*out = v->bool_value != 0;
	return TB_OK;
}

const Testbus__V1__ValueList *tb_value_list(const Testbus__V1__Value *v)
{
	if (v == NULL || v->kind_case != TESTBUS__V1__VALUE__KIND_LIST_VALUE)
		return NULL;
	return v->list_value;
}

const Testbus__V1__ValueMap *tb_value_as_map(const Testbus__V1__Value *v)
{
	if (v == NULL || v->kind_case != TESTBUS__V1__VALUE__KIND_MAP_VALUE)
		return NULL;
	return v->map_value;
}

int tb_value_string_list(const Testbus__V1__Value *v, const char ***outp, size_t *countp)
{
	const Testbus__V1__ValueList *list = tb_value_list(v);
	if (list == NULL)
		return v == NULL ? TB_NOT_FOUND : TB_INVALID_ARGUMENT;
	const char **out = calloc(list->n_values + 1, sizeof(*out));
	if (out == NULL)
		return TB_RESOURCE_EXHAUSTED;
	for (size_t i = 0; i < list->n_values; i++) {
		out[i] = tb_value_string(list->values[i]);
		if (out[i] == NULL) {
			free(out);
			return TB_INVALID_ARGUMENT;
		}
	}
	*outp = out;
	if (countp != NULL)
		*countp = list->n_values;
	return TB_OK;
}

int tb_component_config_wrap(const Testbus__V1__ValueMap *map, Testbus__V1__ComponentConfig *cfg)
{
	size_t n = map->n_fields;
	/* One block: the pointer array, then the entries it points to. */
	Testbus__V1__ComponentConfig__ConfigEntry **ptrs =
	    calloc(1, (n + 1) * (sizeof(*ptrs) + sizeof(**ptrs)));
	if (ptrs == NULL)
		return TB_RESOURCE_EXHAUSTED;
	Testbus__V1__ComponentConfig__ConfigEntry *entries =
	    (Testbus__V1__ComponentConfig__ConfigEntry *)(ptrs + n + 1);
	for (size_t i = 0; i < n; i++) {
		testbus__v1__component_config__config_entry__init(&entries[i]);
		entries[i].key = map->fields[i]->key;
		entries[i].value = map->fields[i]->value;
		ptrs[i] = &entries[i];
	}
	cfg->config = ptrs;
	cfg->n_config = n;
	return TB_OK;
}

void tb_component_config_unwrap(Testbus__V1__ComponentConfig *cfg)
{
	free(cfg->config);
	cfg->config = NULL;
	cfg->n_config = 0;
}
