/* Checking a Kubernetes cluster's health through its API: readyz, nodes, operators, deployments. */
#ifndef TESTBUS_COMMON_KUBE_HEALTH_H
#define TESTBUS_COMMON_KUBE_HEALTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "http.h"
#include "kubeconfig.h"
#include "testbus/testbus.h"

#ifdef __cplusplus
extern "C" {
#endif

/* What to check beyond /readyz and the nodes. Embedded; fini with tb_kube_health_opts_fini. */
typedef struct tb_kube_health_opts {
	char **cluster_operators;     /* config.openshift.io/v1 names, e.g. "kube-apiserver" */
	size_t n_cluster_operators;
	char **deployments;           /* "namespace/name" */
	size_t n_deployments;
	uint32_t min_ready_nodes;     /* 0: every node must be Ready (and there must be one) */
	bool verbose;                 /* also one check per /readyz item */
	uint32_t timeout_ms;          /* per API request; 0: 15 s */
} tb_kube_health_opts;

/*
 * Reads the `health` config value, a map with the keys cluster_operators
 * (list of strings), deployments (list of "namespace/name"), min_ready_nodes,
 * verbose and timeout_ms; every key is optional and v may be NULL (defaults).
 * Names are checked to be Kubernetes names. On TB_OK the caller owns *o
 * (tb_kube_health_opts_fini); on error *o is zeroed and st says which key.
 */
int tb_kube_health_opts_read(const Testbus__V1__Value *v, tb_kube_health_opts *o,
                             tb_status *st);

/* Frees what o holds and zeroes it. Safe on a zeroed o. */
void tb_kube_health_opts_fini(tb_kube_health_opts *o);

/*
 * Checks the cluster kc points at and adds to hs one check named "readyz"
 * (with the failing items named), one "readyz/<item>" per item when verbose,
 * one "nodes" (Ready nodes counted), one "clusteroperator/<name>" per operator
 * (Available and not Degraded) and one "deployment/<ns>/<name>" per
 * deployment (Available). An unreachable or refusing API is a failed check,
 * not an error. Sets hs->healthy to whether every check in hs passed and
 * hs->message to a summary. Strings and checks are allocated from a. call may
 * be NULL; when set, the checks stop early once it stops. Blocks. Returns
 * TB_OK, or TB_RESOURCE_EXHAUSTED (out of memory) or the call's stop code.
 */
int tb_kube_health_check(const tb_kubeconfig *kc, const tb_kube_health_opts *o, tb_call *call,
                         tb_arena *a, Testbus__V1__HealthStatus *hs, tb_status *st);

/*
 * Appends a check (name and a printf-style message, copied into a) to hs.
 * Returns TB_OK or TB_RESOURCE_EXHAUSTED.
 */
int tb_health_add(Testbus__V1__HealthStatus *hs, tb_arena *a, const char *name, bool ok,
                  const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/*
 * Sets hs->healthy to whether every check passed and hs->message to a one-line
 * summary naming the failed checks (from a). Returns TB_OK or
 * TB_RESOURCE_EXHAUSTED.
 */
int tb_health_summarize(Testbus__V1__HealthStatus *hs, tb_arena *a);

/*
 * GETs path (e.g. "/version") from the API kc points at, with kc's
 * credentials, one attempt of up to timeout_ms (0: 15 s). Same results and
 * ownership as tb_http_do (fini resp in every case).
 */
int tb_kube_get(const tb_kubeconfig *kc, const char *path, uint32_t timeout_ms, tb_call *call,
                tb_http_response *resp, tb_status *st);

#ifdef __cplusplus
}
#endif

#endif
