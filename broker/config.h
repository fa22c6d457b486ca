/* The broker's run configuration: a YAML file (or the built-in default) loaded into plain C. */
#ifndef TESTBUS_BROKER_CONFIG_H
#define TESTBUS_BROKER_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "testbus/proto.h"

/*
 * Everything a config holds is owned by its struct broker_config and lives
 * until config_free(); pointers inside it (strings, arrays, the component a
 * reference resolved to) are borrowed from it. config_free() frees only what
 * the loader allocated, so a caller may point a field at its own data. Every
 * string the user wrote has had ${VAR} expanded already. docs/config.md is
 * the reference.
 */

/* How the broker reaches a component. */
enum config_reach {
	CONFIG_SPAWN_PROGRAM = 1, /* spawned by name: testbus-<kind>-<program> */
	CONFIG_SPAWN_COMMAND,     /* spawned by the given argv */
	CONFIG_ATTACH,            /* a running component at an address */
	CONFIG_REGISTER,          /* components that register with the broker */
};

/* When a cluster this run created is kept instead of destroyed. */
enum config_keep {
	CONFIG_KEEP_NEVER = 0,
	CONFIG_KEEP_ON_FAILURE,
	CONFIG_KEEP_ALWAYS,
};

/* Whether the broker asks an analyzer's ShouldAnalyze or decides itself. */
enum config_when {
	CONFIG_WHEN_ASK = 0,    /* call ShouldAnalyze (the default) */
	CONFIG_WHEN_ALWAYS,     /* analyse every result */
	CONFIG_WHEN_ON_FAILURE, /* analyse each failed result without asking */
	CONFIG_WHEN_NEVER,      /* never analyse */
};

struct config_kv {
	char *key;
	char *value;
};

/* A string map (labels, environment), in the order written. */
struct config_labels {
	struct config_kv *items;
	size_t n;
};

/* TLS files (PEM), resolved against the base directory. Each may be NULL. */
struct config_tls {
	char *ca_file;
	char *cert_file;
	char *key_file;
	char *server_name;
};

/* A name written in the config that refers to a component. */
struct config_ref {
	char *name; /* NULL when not given */
	int line;   /* where it was written; 0 when not given */
	const struct config_component *component; /* resolved; NULL when name is */
};

struct config_component {
	char *name; /* unique among components; [A-Za-z0-9][A-Za-z0-9._-]* */
	Testbus__V1__ComponentKind kind;
	enum config_reach reach;
	int line;
	bool optional; /* a program that cannot be found or started is skipped */

	/* CONFIG_SPAWN_PROGRAM and CONFIG_SPAWN_COMMAND */
	char *program;    /* by name: the implementation ("shell"); NULL for a command */
	char *executable; /* the file searched for: "testbus-executor-shell", or argv[0] */
	char *path;       /* where it was found; NULL when not found */
	char **argv;      /* NULL-terminated; argv[0] as written or the executable */
	size_t argc;
	char *workdir;    /* working directory: the base directory unless given */
	struct config_labels env; /* added to the broker's environment */

	/* CONFIG_ATTACH */
	char *address; /* ipc://, tcp:// or tls+tcp:// */
	struct config_tls tls;
	bool insecure; /* allows plain tcp:// */

	/* CONFIG_ATTACH and CONFIG_REGISTER */
	char *token; /* identity token; may be NULL */

	/* CONFIG_REGISTER: which registered components this entry stands for */
	char *match_name;                /* ComponentInfo.name to match; may be NULL */
	struct config_labels match_labels; /* all must be present and equal */
	uint32_t min_count;              /* how many must have registered (default 1) */
	uint32_t wait_ms;                /* how long preflight waits for them */

	struct config_labels labels; /* added to (and overriding) Describe's labels */
	enum config_when when;       /* analyzers only */

	/* The component's own section, sent with Configure. Never NULL. */
	Testbus__V1__ValueMap *config;
};

/* Picks the executors a target may run on. Empty: any executor. */
struct config_selector {
	struct config_ref ref;       /* by name (an executor component) */
	struct config_labels labels; /* and/or by labels (all must match) */
};

struct config_target {
	char *name; /* unique within its phase; "target-<n>" when not given */
	int line;
	struct config_labels labels;
	struct config_selector executor;
	uint32_t timeout_ms; /* 0: timeouts.execute */
	uint32_t shards;     /* 1..CONFIG_MAX_SHARDS */
	uint32_t retries;    /* 0..CONFIG_MAX_RETRIES: re-runs after an executor is lost */
};

struct config_phase {
	char *name;
	int line;
	struct config_target *targets;
	size_t n_targets;
};

struct config_cluster {
	struct config_ref provisioner; /* resolved; the only provisioner when not named */
	char *reuse_id;                /* NULL: provision a new cluster */
	char *name;                    /* requested cluster name; may be NULL */
	enum config_keep keep;         /* for a cluster this run created */
	bool destroy_reused;           /* destroy a reused cluster too (default false) */
	struct config_labels labels;
	Testbus__V1__ValueMap *properties; /* ProvisionRequest.properties; never NULL */
};

/* Deadlines in milliseconds; every one has a default. */
struct config_timeouts {
	uint32_t start_ms;     /* a component answering Describe (10s) */
	uint32_t provision_ms; /* Provision (30m) */
	uint32_t health_ms;    /* until Health says healthy (10m) */
	uint32_t destroy_ms;   /* Destroy (30m) */
	uint32_t execute_ms;   /* a target without its own timeout (1h) */
	uint32_t analyze_ms;   /* one Analyze (5m) */
	uint32_t report_ms;    /* one Initialize, Report or Finalize (2m) */
};

/* Where registered components reach the broker. address NULL: not listening. */
struct config_listen {
	char *address;
	struct config_tls tls;
	char *token; /* registrations must carry it; may be NULL */
	bool insecure;
};

struct config_mem;

struct broker_config {
	uint32_t version;    /* of the config format: 1 */
	char *source;        /* file name as given, or CONFIG_DEFAULT_NAME */
	char *base_dir;      /* relative paths resolve against it */
	char *artifacts_dir; /* as written (relative to the working directory) */
	struct config_listen listen;
	struct config_timeouts timeouts;
	struct config_cluster cluster;
	struct config_component *components;
	size_t n_components;
	struct config_phase *phases;
	size_t n_phases;
	struct config_mem *mem; /* private */
};

#define CONFIG_DEFAULT_NAME "<built-in>"
#define CONFIG_DEFAULT_ARTIFACTS "testbus-artifacts"
#define CONFIG_MAX_SHARDS 1000
#define CONFIG_MAX_RETRIES 10
#define CONFIG_MAX_ERRORS 100
#define CONFIG_DEFAULT_WAIT_MS 60000u

/* Problems found while loading, one "file:line: message" each, in line order. */
struct config_errors {
	char **lines;
	size_t n;
};

/* Frees the lines. Safe on a zeroed struct; leaves it zeroed. */
void config_errors_fini(struct config_errors *errs);

struct config_options {
	/* The folder of the running testbus binary: spawned-by-name components
	 * are searched there first, then on PATH. May be NULL. */
	const char *bin_dir;
	/* The testbus home (where examples/ lives) for ${TESTBUS_HOME} and the
	 * base of the built-in default. NULL: config_home_dir() decides. */
	const char *home_dir;
	/* Command-line overrides, checked as if written in the file; NULL keeps
	 * the file's. listen_address replaces listen.address (--listen), and
	 * artifacts_dir replaces artifacts (--artifacts). */
	const char *listen_address;
	const char *artifacts_dir;
};

/*
 * Loads the config file at path. Blocks (reads the file). On TB_OK the caller
 * owns *cfgp; free with config_free(). On error *cfgp is NULL and errs (which
 * the caller must config_errors_fini) holds every problem found: a file that
 * cannot be read gives its errno's code (TB_NOT_FOUND, TB_PERMISSION_DENIED,
 * ...), a bad config TB_INVALID_ARGUMENT, memory TB_RESOURCE_EXHAUSTED. opts
 * may be NULL.
 */
int config_load_file(const char *path, const struct config_options *opts,
                     struct broker_config **cfgp, struct config_errors *errs);

/*
 * Loads a config from text as config_load_file loads a file; name is used in
 * messages and its folder is the base directory. Same ownership and errors.
 */
int config_load_string(const char *text, size_t len, const char *name,
                       const struct config_options *opts, struct broker_config **cfgp,
                       struct config_errors *errs);

/*
 * Loads the built-in default config exactly as a file is loaded, with the
 * testbus home as its base directory. Same ownership and errors.
 */
int config_load_default(const struct config_options *opts, struct broker_config **cfgp,
                        struct config_errors *errs);

/* The text of the built-in default config (NUL-terminated) and its length. */
const char *config_default_text(size_t *lenp);

/*
 * The testbus home, first match: opts->home_dir, $TESTBUS_HOME, the install
 * share folder <bin_dir>/../share/testbus, the source tree this was built
 * from. A folder counts when it holds examples/. Caller owns *dirp (free()).
 * Returns TB_OK, TB_NOT_FOUND or TB_RESOURCE_EXHAUSTED.
 */
int config_home_dir(const struct config_options *opts, char **dirp);

/* Frees cfg and everything in it. cfg may be NULL. */
void config_free(struct broker_config *cfg);

/* The component named name, or NULL. Borrowed from cfg. */
const struct config_component *config_component_find(const struct broker_config *cfg,
                                                     const char *name);

/* "provisioner", "executor", "analyzer", "reporter", or "component". */
const char *config_kind_name(Testbus__V1__ComponentKind kind);

/* "never", "on-failure", "always". */
const char *config_keep_name(enum config_keep keep);

/* Whether the cluster is destroyed: created says this run provisioned it. */
bool config_should_destroy(const struct config_cluster *cluster, bool created,
                           bool run_succeeded);

/*
 * Parses a duration such as "30s", "10m", "1h30m", "500ms" or "2d" into
 * milliseconds. Returns TB_OK, or TB_INVALID_ARGUMENT (bad syntax, zero) or
 * TB_OUT_OF_RANGE (does not fit 32 bits of ms); *msp is set only on TB_OK.
 */
int config_parse_duration(const char *text, uint32_t *msp);

#endif
