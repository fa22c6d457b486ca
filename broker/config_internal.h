/* Shared between the config loader's files: the load context, problems and memory. */
#ifndef TESTBUS_BROKER_CONFIG_INTERNAL_H
#define TESTBUS_BROKER_CONFIG_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>

#include <yaml.h>

#include "config.h"

/* One problem, kept with its line so that all of them print in file order. */
struct config_problem {
	int line;
	size_t seq;
	char *text;
};

/* The state of one load. Lives on the loader's stack. */
struct config_ctx {
	const char *name;                 /* the file name in messages */
	struct broker_config *cfg;        /* being built */
	const struct config_options *opts;
	const char *home;                 /* ${TESTBUS_HOME} when the environment has none */
	yaml_document_t *doc;
	struct config_problem *problems;
	size_t n_problems;
	size_t cap_problems;
	size_t dropped;                   /* problems past CONFIG_MAX_ERRORS */
	size_t visited;                   /* nodes walked, to bound alias expansion */
	bool too_large;                   /* the bound was hit (and said) */
	int components_line;              /* where 'components' is, for whole-config problems */
	bool oom;
};

/* Records a problem at line (1-based; 0 for the file as a whole). */
void config_error(struct config_ctx *ctx, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Zeroed memory owned by ctx->cfg; NULL (and ctx->oom set) when out of memory. */
void *config_zalloc(struct config_ctx *ctx, size_t size);

/* A copy of s owned by ctx->cfg; NULL when s is NULL or memory ran out. */
char *config_strdup(struct config_ctx *ctx, const char *s);

/* Frees every allocation made by config_zalloc for cfg. */
void config_mem_free(struct broker_config *cfg);

/* The node at index in the document, or NULL. */
yaml_node_t *config_node(struct config_ctx *ctx, int index);

/* The 1-based line a node starts on. */
int config_line(const yaml_node_t *node);

/* True for a plain scalar that YAML reads as null: "", "~", "null". */
bool config_is_null(const yaml_node_t *node);

/* "a mapping", "a sequence", "a string" (for messages). */
const char *config_node_type_name(const yaml_node_t *node);

/*
 * Expands ${VAR}, ${VAR:-default} and $${ in text. Caller owns the result
 * (free()); NULL when a problem was recorded at line or memory ran out.
 */
char *config_expand(struct config_ctx *ctx, const char *text, int line);

/*
 * The expanded text of a scalar node, owned by ctx->cfg. Records
 * "'key' must be <want>, not <type>" and returns NULL for a non-scalar.
 */
char *config_scalar(struct config_ctx *ctx, const yaml_node_t *node, const char *key,
                    const char *want);

/* True for names of components, phases and targets: [A-Za-z0-9][A-Za-z0-9._-]*. */
bool config_valid_name(const char *s);

/*
 * Builds a ValueMap from a mapping node (null gives an empty map), typing
 * plain scalars as YAML 1.2 core does after ${VAR} expansion. Duplicate keys
 * and non-string keys are problems. Caller owns *mapp (malloc'd protobuf-c
 * message): free with protobuf_c_message_free_unpacked(&map->base, NULL).
 * Returns false when a problem was recorded; *mapp is then NULL.
 */
bool config_value_map(struct config_ctx *ctx, const yaml_node_t *node, const char *key,
                      Testbus__V1__ValueMap **mapp);

/* Fills ctx->cfg from the document's root mapping. */
void config_schema_apply(struct config_ctx *ctx, const yaml_node_t *root);

/* Resolves references, checks the config as a whole, finds programs. */
void config_link(struct config_ctx *ctx);

/* A path made absolute against dir (unless it already is), owned by ctx->cfg. */
char *config_join(struct config_ctx *ctx, const char *dir, const char *path);

/*
 * Checks a component or listen address: its scheme (ipc://, tcp://,
 * tls+tcp://), a port for tcp, the TLS files tls+tcp needs, and that plain
 * tcp:// is asked for with insecure. has_tls says a tls section was given;
 * who starts each message ("" for the file, "--listen: " for an option).
 */
void config_check_address(struct config_ctx *ctx, int line, const char *who,
                          const char *address, const struct config_tls *tls, bool has_tls,
                          bool insecure);

/* The full path of an executable found in bin_dir or on PATH, owned by ctx->cfg. */
char *config_find_program(struct config_ctx *ctx, const char *name);

#endif
