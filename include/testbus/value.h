/* Reading typed Values and protobuf maps, and loading YAML into a ValueMap. */
#ifndef TESTBUS_VALUE_H
#define TESTBUS_VALUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "testbus/export.h"
#include "testbus/proto.h"
#include "testbus/status.h"

#ifdef __cplusplus
extern "C" {
#endif

/*
 * Every protobuf-c map entry is { base; char *key; <pointer> value; }: this
 * finds key in such an array of entries and returns its value pointer (a
 * `char *` for map<string,string>, a `Testbus__V1__Value *` for
 * map<string,Value>), or NULL when absent. Borrowed from the map.
 */
TB_EXPORT void *tb_map_lookup(void *const *entries, size_t n, const char *key);
#define tb_map_get(entries, n, key) tb_map_lookup((void *const *)(entries), (n), (key))

/* The value stored under key in a ValueMap (may be NULL); NULL when absent. */
TB_EXPORT const Testbus__V1__Value *tb_value_map_get(const Testbus__V1__ValueMap *map,
                                                     const char *key);

/* The string held by v, or NULL when v is NULL or not a string. Borrowed. */
TB_EXPORT const char *tb_value_string(const Testbus__V1__Value *v);

/*
 * Read a number or flag. Return TB_OK and set *out, TB_NOT_FOUND when v is
 * NULL (out untouched), TB_INVALID_ARGUMENT when v holds another type. An int
 * is accepted where a double is asked for.
 */
TB_EXPORT int tb_value_int(const Testbus__V1__Value *v, int64_t *out);
TB_EXPORT int tb_value_double(const Testbus__V1__Value *v, double *out);
TB_EXPORT int tb_value_bool(const Testbus__V1__Value *v, bool *out);

/* The list or map held by v, or NULL. Borrowed. */
TB_EXPORT const Testbus__V1__ValueList *tb_value_list(const Testbus__V1__Value *v);
TB_EXPORT const Testbus__V1__ValueMap *tb_value_as_map(const Testbus__V1__Value *v);

/*
 * The strings of a list value as a NULL-terminated array of borrowed pointers.
 * Caller owns the array (not the strings); free with free(). Fails with
 * TB_INVALID_ARGUMENT when an element is not a string.
 */
TB_EXPORT int tb_value_string_list(const Testbus__V1__Value *v, const char ***outp,
                                   size_t *countp);

/*
 * Points cfg (initialised by the caller) at the entries of map, which stay
 * borrowed from map: the shape Configure takes. Allocates the entry array;
 * release it with tb_component_config_unwrap(). Returns TB_OK or
 * TB_RESOURCE_EXHAUSTED.
 */
TB_EXPORT int tb_component_config_wrap(const Testbus__V1__ValueMap *map,
                                       Testbus__V1__ComponentConfig *cfg);

/* Frees what tb_component_config_wrap allocated in cfg. */
TB_EXPORT void tb_component_config_unwrap(Testbus__V1__ComponentConfig *cfg);

/*
 * Loads a YAML document whose root is a mapping into a ValueMap. Scalars
 * become int, double or bool when they read as one (YAML 1.2 core schema) and
 * strings otherwise; quoted scalars stay strings. Caller owns *mapp; free
 * with protobuf_c_message_free_unpacked(&map->base, NULL). Errors name the
 * file and line.
 */
TB_EXPORT int tb_value_map_from_yaml_file(const char *path, Testbus__V1__ValueMap **mapp,
                                          tb_status *st);
TB_EXPORT int tb_value_map_from_yaml_string(const char *text, size_t len, const char *name,
                                            Testbus__V1__ValueMap **mapp, tb_status *st);

#ifdef __cplusplus
}
#endif

#endif
