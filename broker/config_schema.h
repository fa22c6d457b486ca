/* The key-table vocabulary of the config schema and the walker that applies it. */
#ifndef TESTBUS_BROKER_CONFIG_SCHEMA_H
#define TESTBUS_BROKER_CONFIG_SCHEMA_H

#include <stdint.h>

#include "config_internal.h"

enum schema_type {
	SCHEMA_STRING,   /* char *; empty means not given */
	SCHEMA_NAME,     /* char *, a component/phase/target name */
	SCHEMA_PATH,     /* char *, resolved against the base directory */
	SCHEMA_UINT,     /* uint32_t in [min, max] */
	SCHEMA_BOOL,     /* bool */
	SCHEMA_DURATION, /* uint32_t milliseconds */
	SCHEMA_ENUM,     /* int, one of choices */
	SCHEMA_LABELS,   /* struct config_labels */
	SCHEMA_VALUES,   /* Testbus__V1__ValueMap * */
	SCHEMA_REF,      /* struct config_ref */
	SCHEMA_SECTION,  /* a nested mapping with its own table */
	SCHEMA_CUSTOM,   /* its own parse function */
};

struct schema_choice {
	const char *name;
	int value;
};

struct schema_key;
typedef void (*schema_parse_fn)(struct config_ctx *ctx, const struct schema_key *key,
                                const yaml_node_t *node, void *obj);

struct schema_key {
	const char *name;
	enum schema_type type;
	size_t offset;
	bool required;
	uint32_t min, max;                   /* SCHEMA_UINT bounds; SCHEMA_CUSTOM: an argument */
	const struct schema_choice *choices; /* SCHEMA_ENUM, ended by a NULL name */
	const struct schema_table *table;    /* SCHEMA_SECTION */
	schema_parse_fn parse;               /* SCHEMA_CUSTOM: given obj itself, not a field */
};

struct schema_table {
	const char *what; /* the thing the mapping describes, for messages */
	const struct schema_key *keys;
	size_t n;
};

#define SCHEMA_TABLE(what, keys) {what, keys, sizeof(keys) / sizeof(keys[0])}

#define SCHEMA_MAX_KEYS 32

/* The line each key of a table was given on (0: not given), by key index. */
struct schema_seen {
	int line[SCHEMA_MAX_KEYS];
};

/*
 * Applies each pair of the mapping node to obj by the table t: unknown,
 * duplicate and missing required keys and wrong types are recorded as
 * problems. key names the mapping in messages. seen (may be NULL) receives
 * where each key was given. Returns false when node is not a mapping.
 */
bool config_apply(struct config_ctx *ctx, const yaml_node_t *node, const char *key,
                  const struct schema_table *t, void *obj, struct schema_seen *seen);

/* The number of pairs of a mapping node or items of a sequence node. */
int config_count(const yaml_node_t *node);

/* The line the key called name was given on, per seen; 0 when it was not. */
int config_seen(const struct schema_table *t, const struct schema_seen *seen, const char *name);

/* Reads a mapping of strings (keys as written, values expanded) into *labels. */
void config_labels(struct config_ctx *ctx, const char *key, const yaml_node_t *node,
                   struct config_labels *labels);

#endif
