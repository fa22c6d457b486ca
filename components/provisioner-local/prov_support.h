/* What the shipped provisioners share: config tables, the live config, ClusterInfo properties, health. */
#ifndef TESTBUS_PROV_SUPPORT_H
#define TESTBUS_PROV_SUPPORT_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kube_health.h"
#include "testbus/testbus.h"

/* How a config key's value is read into a config struct. */
enum prov_type {
	PROV_STRING,     /* char *, a copy */
	PROV_SECRET,     /* char *, a copy wiped when freed */
	PROV_ARGV,       /* char **, NULL-terminated copies of a list of strings */
	PROV_UINT,       /* uint32_t, from a non-negative int */
	PROV_BOOL,       /* bool */
	PROV_HEALTH,     /* tb_kube_health_opts, from the `health` map */
	PROV_ENV,        /* char **, "NAME=value" from a map of scalars */
	PROV_SECRET_ENV, /* char *, the value of the environment variable the key names */
};

typedef struct prov_key {
	const char *key;
	enum prov_type type;
	size_t off;
} prov_key;

/* The head every config struct starts with; managed by prov_slot. */
typedef struct prov_cfg_head {
	unsigned refs;
	char *secret_env_missing; /* a PROV_SECRET_ENV variable that was unset; may be NULL */
} prov_cfg_head;

/* Checks a config after reading (cross-key rules). Returns TB_OK or sets st. */
typedef int (*prov_check_fn)(void *cfg, tb_status *st);

/*
 * The live config of a component: Configure replaces it while calls that took
 * the old one keep it until they put it back.
 */
typedef struct prov_slot {
	pthread_mutex_t mu;
	void *cur;
	const prov_key *keys;
	size_t n_keys;
	size_t size;
	prov_check_fn check;
} prov_slot;

/*
 * Reads the keys of config (may be NULL) listed in keys into out (a zeroed
 * struct). An unknown key or a value of the wrong type fails with
 * TB_INVALID_ARGUMENT naming the key. On error out is finalised.
 */
int prov_config_read(const Testbus__V1__ComponentConfig *config, const prov_key *keys,
                     size_t n, void *out, tb_status *st);

/* Frees what prov_config_read put in out (wiping secrets). */
void prov_config_fini(const prov_key *keys, size_t n, void *out);

/*
 * Initialises s with the defaults (an empty config; check is not run on it).
 * size is the config struct's size; it starts with a prov_cfg_head.
 * Returns TB_OK or TB_RESOURCE_EXHAUSTED.
 */
int prov_slot_init(prov_slot *s, const prov_key *keys, size_t n, size_t size,
                   prov_check_fn check);

/* Reads and checks config, then makes it the live one. A tb_configure_fn body. */
int prov_slot_configure(prov_slot *s, const Testbus__V1__ComponentConfig *config,
                        tb_status *st);

/* The live config, held until prov_slot_put. Never NULL after prov_slot_init. */
void *prov_slot_get(prov_slot *s);
void prov_slot_put(prov_slot *s, void *cfg);

/* Frees the live config. No call may hold it any more. */
void prov_slot_fini(prov_slot *s);

/* --- ClusterInfo properties, allocated from the call's arena --- */

/* Appends key = v (a Value from the arena; NULL means out of memory) to ci's properties. */
int prov_prop_value(Testbus__V1__ClusterInfo *ci, tb_arena *a, const char *key,
                    Testbus__V1__Value *v);
int prov_prop_string(Testbus__V1__ClusterInfo *ci, tb_arena *a, const char *key,
                     const char *value);
int prov_prop_bool(Testbus__V1__ClusterInfo *ci, tb_arena *a, const char *key, bool value);
int prov_prop_int(Testbus__V1__ClusterInfo *ci, tb_arena *a, const char *key, int64_t value);

/* A property's value, or NULL. Borrowed from ci. */
const Testbus__V1__Value *prov_prop(const Testbus__V1__ClusterInfo *ci, const char *key);

/* A bool property, or def when absent or of another type. */
bool prov_prop_is(const Testbus__V1__ClusterInfo *ci, const char *key, bool def);

/* A new ClusterInfo from the arena with provider set; NULL when out of memory. */
Testbus__V1__ClusterInfo *prov_cluster_new(tb_arena *a, const char *provider);

/* --- logging and health --- */

/* The program name used in log lines; set once by main(). */
void prov_set_name(const char *name);

/*
 * Logs a line to stderr and, inside a call, as a progress event. Never pass
 * secrets (tokens, kubeconfigs) to it. call may be NULL.
 */
void prov_log(tb_call *call, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/*
 * Adds to hs (allocated from the call's arena, maybe holding checks already)
 * the health checks of the cluster a kubeconfig (YAML bytes, a secret) points
 * at, as tb_kube_health_check does, and summarises hs. A kubeconfig that
 * cannot be read is a failed "kubeconfig" check. Returns TB_OK,
 * TB_RESOURCE_EXHAUSTED or the call's stop code (with tb_call_error set).
 */
int prov_health_kubeconfig(tb_call *call, const uint8_t *data, size_t len,
                           const tb_kube_health_opts *o, Testbus__V1__HealthStatus *hs);

/* A new HealthStatus from the call's arena; NULL when out of memory. */
Testbus__V1__HealthStatus *prov_health_new(tb_call *call);

#endif
