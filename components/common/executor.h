/* The execute flow the shipped executors share: config, labels, run, JUnit, result. */
#ifndef TESTBUS_COMMON_EXECUTOR_H
#define TESTBUS_COMMON_EXECUTOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "testbus/testbus.h"

#ifdef __cplusplus
extern "C" {
#endif

/* A NULL-terminated list of strings, n of them. */
typedef struct tb_exec_strv {
	const char **v;
	size_t n;
} tb_exec_strv;

/* Types of config keys (see tb_exec_key). */
enum tb_exec_key_type {
	TB_KEY_STRING,   /* const char *: a string, or a number or flag as text */
	TB_KEY_STRINGS,  /* tb_exec_strv: a list of strings, or one string */
	TB_KEY_MAP,      /* tb_exec_strv of "key=value": a map of scalars */
	TB_KEY_BOOL,     /* bool */
	TB_KEY_UINT,     /* uint32_t */
	TB_KEY_SIZE,     /* uint64_t, bytes: a number or "64MiB", "512k" */
	TB_KEY_DURATION, /* uint32_t ms: seconds as a number, or "90s", "5m", "1h30m", "250ms" */
};

/* One config key: where it is stored in its config struct. */
typedef struct tb_exec_key {
	const char *name;
	enum tb_exec_key_type type;
	size_t offset;
	const char *help;
} tb_exec_key;

/* Filters a label can feed; how values combine is fixed per kind. */
enum tb_exec_filter_kind {
	TB_FILTER_FOCUS,        /* regexps, joined with | (any matches) */
	TB_FILTER_SKIP,         /* regexps, joined with | (any matches) */
	TB_FILTER_LABEL_FILTER, /* Ginkgo v2 label expressions, joined with && */
	TB_FILTER_MARKERS,      /* pytest -m expressions, joined with "and" */
	TB_FILTER_KEYWORD,      /* pytest -k expressions, joined with "and" */
	TB_FILTER_COUNT
};

/* A label that feeds a filter by default. */
typedef struct tb_exec_filter_default {
	const char *label;
	enum tb_exec_filter_kind kind;
} tb_exec_filter_default;

/* The config every executor has; framework keys live in fw (see tb_exec_framework). */
typedef struct tb_exec_config {
	const char *workdir;        /* NULL: the executor's own */
	tb_exec_strv env;           /* "NAME=value" set for the suite */
	bool inherit_env;           /* start from the executor's environment */
	tb_exec_strv junit;         /* report globs; {placeholders} expanded */
	uint32_t timeout_ms;        /* when the target gives none */
	uint32_t grace_ms;          /* SIGTERM to SIGKILL */
	uint64_t max_log_bytes;     /* cap of each log file */
	uint64_t tail_bytes;        /* tail kept in the result per stream */
	const char *artifacts_dir;  /* where per-call folders go */
	bool log_events;            /* stream output lines as events */
	uint32_t max_log_events;    /* output-line events per second */
	uint64_t max_result_bytes;  /* the packed result is trimmed to fit */
	tb_exec_strv label_filters; /* "label=filter" overrides of the framework's defaults */
	const char *run_artifacts;  /* ComponentConfig.artifacts_dir */
	void *fw;                   /* the framework's own config struct */
} tb_exec_config;

/* What one call runs: built by the framework from the config and target. */
typedef struct tb_exec_plan {
	tb_exec_strv argv;  /* the command */
	tb_exec_strv junit; /* globs of the reports it writes; none: judge by exit status */
} tb_exec_plan;

/* The view of one call a framework plans from. All borrowed; allocate from arena. */
typedef struct tb_exec_ctx {
	const tb_exec_config *cfg;
	const Testbus__V1__ExecutionTarget *target;
	const char *call_dir;             /* the call's artifacts folder (absolute) */
	const char *filters[TB_FILTER_COUNT]; /* combined label filters; NULL when none */
	tb_arena *arena;
} tb_exec_ctx;

/* A framework: the part that differs between executors. */
typedef struct tb_exec_framework {
	const char *name;                      /* "shell", "ginkgo", "pytest" */
	const char *summary;                   /* one line for --help */
	const tb_exec_key *keys;               /* its own keys, stored in cfg->fw */
	size_t n_keys;
	size_t fw_size;                        /* size of its config struct */
	void (*defaults)(void *fw);            /* may be NULL: zeroed */
	/* Checks a new config; may be NULL. */
	int (*validate)(const tb_exec_config *cfg, tb_status *st);
	/* Builds the call's command and report globs. */
	int (*plan)(const tb_exec_ctx *ctx, tb_exec_plan *plan, tb_status *st);
	const tb_exec_filter_default *filters; /* labels that feed filters by default */
	size_t n_filters;
} tb_exec_framework;

typedef struct tb_exec tb_exec;

/*
 * Creates the executor state of fw with its default config. fw is borrowed
 * and must outlive it. Caller owns *exp; free with tb_exec_free().
 */
int tb_exec_alloc(const tb_exec_framework *fw, tb_exec **exp, tb_status *st);

/* Frees ex; no call may be running. ex may be NULL. */
void tb_exec_free(tb_exec *ex);

/*
 * A tb_configure_fn (arg: the tb_exec): parses and checks the whole config,
 * then swaps it in; calls already running keep the config they started with.
 * Unknown keys and wrong types are TB_INVALID_ARGUMENT naming the key.
 */
int tb_exec_configure(const Testbus__V1__ComponentConfig *config, void *arg, tb_status *st);

/*
 * A tb_handler_fn for Executor.Execute (arg: the tb_exec). Runs the plan,
 * streams events, and answers an ExecutionResult allocated from the call's
 * arena. A suite that ran, failed, timed out, was cancelled or could not be
 * started is a result with success false, not an error status.
 */
int tb_exec_execute(tb_call *call, const ProtobufCMessage *input, ProtobufCMessage **outputp,
                    void *arg);

/* The --help text of fw's config keys, common ones included. Static storage. */
const char *tb_exec_config_help(const tb_exec_framework *fw);

/* --- parts exposed for the frameworks and for tests --- */

/*
 * Parses config into a new tb_exec_config allocated from arena (fw's struct
 * too). Caller owns nothing beyond the arena.
 */
int tb_exec_config_parse(const tb_exec_framework *fw, const Testbus__V1__ComponentConfig *config,
                         tb_arena *arena, tb_exec_config **cfgp, tb_status *st);

/* Parses "90s", "5m", "1h30m", "250ms" or a number of seconds into ms. */
int tb_exec_parse_duration(const char *text, uint32_t *msp);

/* Parses "64MiB", "512k", "1G" or a number of bytes. */
int tb_exec_parse_size(const char *text, uint64_t *bytesp);

/*
 * Expands {name} in text, where name is made of letters, digits, '_', '-'
 * and '.': built-ins first (artifacts_dir, run_id, target_id, attempt), then
 * the target's label name. Other brace text (awk programs, "${VAR}" for
 * shells) is left alone; "{{" and "}}" give a literal brace. An unknown name
 * is TB_INVALID_ARGUMENT. The result is allocated from ctx->arena.
 */
int tb_exec_expand(const tb_exec_ctx *ctx, const char *text, char **outp, tb_status *st);

/* Expands every string of in into *out (arena). */
int tb_exec_expand_all(const tb_exec_ctx *ctx, const tb_exec_strv *in, tb_exec_strv *out,
                       tb_status *st);

/*
 * The environment variable name of a label: TESTBUS_LABEL_ then the name in
 * upper case with every character other than A-Z, 0-9 turned into '_'.
 * Allocated from arena.
 */
char *tb_exec_label_env_name(tb_arena *arena, const char *label);

/*
 * Combines the values feeding each filter kind from the target's labels (per
 * fw's defaults, overridden by cfg->label_filters) into filters[kind]
 * (arena; NULL when no label feeds it).
 */
int tb_exec_filters(const tb_exec_framework *fw, const tb_exec_config *cfg,
                    const Testbus__V1__ExecutionTarget *target, tb_arena *arena,
                    const char **filters, tb_status *st);

/*
 * Joins two values of a filter kind as the kind combines them; either may
 * be NULL or empty. The result is a or b itself when the other is empty, else
 * allocated from arena (NULL when out of memory).
 */
const char *tb_exec_filter_join(tb_arena *arena, enum tb_exec_filter_kind kind, const char *a,
                                const char *b);

/* The name of a filter kind as config uses it ("focus", "markers", ...). */
const char *tb_exec_filter_name(enum tb_exec_filter_kind kind);

/* Appends s (not copied) to a list being built in arena. */
int tb_exec_strv_push(tb_arena *arena, tb_exec_strv *sv, const char *s);

/* Appends an arena-formatted string. */
int tb_exec_strv_pushf(tb_arena *arena, tb_exec_strv *sv, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#ifdef __cplusplus
}
#endif

#endif
