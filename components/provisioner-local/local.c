/* testbus-provisioner-local: this host, or a cluster an existing kubeconfig names; creates and deletes nothing. */
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "prov_support.h"

#define LOCAL_HOST_ID "local"
#define LOCAL_ID_PREFIX "local/"
#define LOCAL_VERSION_TIMEOUT_MS 5000u
#define LOCAL_NO_API                                                                       \
	"no kubeconfig was given (neither the kubeconfig key nor KUBECONFIG): the cluster is " \
	"this host, which has no Kubernetes API to check"

typedef struct local_cfg {
	prov_cfg_head head;
	char *kubeconfig;
	char *context;
	char *name;
	tb_kube_health_opts health;
} local_cfg;

static const prov_key local_keys[] = {
	{"kubeconfig", PROV_STRING, offsetof(local_cfg, kubeconfig)},
	{"context", PROV_STRING, offsetof(local_cfg, context)},
	{"name", PROV_STRING, offsetof(local_cfg, name)},
	{"health", PROV_HEALTH, offsetof(local_cfg, health)},
};

static prov_slot local_slot;

/* The kubeconfig to use: the config's (with ~/ expanded), else KUBECONFIG's first entry, else none. */
static const char *local_path(const local_cfg *cfg, char *buf, size_t size)
{
	const char *env = getenv("KUBECONFIG"), *home = getenv("HOME");

	if (cfg->kubeconfig != NULL && strncmp(cfg->kubeconfig, "~/", 2) == 0 && home != NULL) {
		snprintf(buf, size, "%s/%s", home, cfg->kubeconfig + 2);
		return buf;
	}
	if (cfg->kubeconfig != NULL)
		return cfg->kubeconfig;
	if (env == NULL || env[0] == '\0' || env[0] == ':')
		return NULL;
	snprintf(buf, size, "%.*s", (int)strcspn(env, ":"), env);
	return buf;
}

/* The kubeconfig context a cluster id names ("local/<context>"), or NULL. */
static const char *local_context_of(const char *id)
{
	if (id == NULL || strncmp(id, LOCAL_ID_PREFIX, strlen(LOCAL_ID_PREFIX)) != 0)
		return NULL;
	return id + strlen(LOCAL_ID_PREFIX);
}

static void local_hostname(char *buf, size_t size)
{
	if (gethostname(buf, size) != 0)
		snprintf(buf, size, "localhost");
	buf[size - 1] = '\0';
}

static int local_host_cluster(tb_call *call, const local_cfg *cfg,
                              const Testbus__V1__ProvisionRequest *req,
                              Testbus__V1__ClusterInfo **cip)
{
	tb_arena *a = tb_call_arena(call);
	Testbus__V1__ClusterInfo *ci = prov_cluster_new(a, "local");
	char host[256];

	if (req->reuse_cluster_id[0] != '\0' && strcmp(req->reuse_cluster_id, LOCAL_HOST_ID) != 0)
		return tb_call_error(call, TB_NOT_FOUND,
		                     "no cluster '%s': without a kubeconfig the only cluster is '%s'",
		                     req->reuse_cluster_id, LOCAL_HOST_ID);
	local_hostname(host, sizeof(host));
	if (ci == NULL || (ci->id = tb_arena_strdup(a, LOCAL_HOST_ID)) == NULL ||
	    (ci->name = tb_arena_strdup(a, cfg->name ? cfg->name : host)) == NULL ||
	    prov_prop_bool(ci, a, "api", false) != TB_OK ||
	    prov_prop_bool(ci, a, "created", false) != TB_OK ||
	    prov_prop_string(ci, a, "host", host) != TB_OK)
		return tb_call_error(call, TB_RESOURCE_EXHAUSTED, "out of memory");
	prov_log(call, "%s", LOCAL_NO_API);
	*cip = ci;
	return TB_OK;
}

/* The cluster's version from /version, best effort: "" when the API does not answer. */
static char *local_version(tb_call *call, const tb_kubeconfig *kc)
{
	tb_http_response resp;
	tb_status st = {0};
	json_object *obj = NULL, *v;
	char *out = "";

	if (tb_kube_get(kc, "/version", LOCAL_VERSION_TIMEOUT_MS, call, &resp, &st) == TB_OK &&
	    (obj = json_tokener_parse(resp.body)) != NULL &&
	    json_object_object_get_ex(obj, "gitVersion", &v) && json_object_is_type(v, json_type_string))
		out = tb_arena_strdup(tb_call_arena(call), json_object_get_string(v));
	else
		prov_log(call, "could not read the API version: %s",
		         st.message[0] ? st.message : "no gitVersion in /version");
	json_object_put(obj);
	tb_http_response_fini(&resp);
	return out ? out : "";
}

/* Loads the kubeconfig and flattens the context into ci->kubeconfig (from the arena). */
static int local_load(tb_call *call, const char *path, const char *context, tb_kubeconfig *kc,
                      ProtobufCBinaryData *out)
{
	tb_status st = {0};
	char *text = NULL;
	size_t len = 0;
	int rv;

	if ((rv = tb_kubeconfig_load(path, context, kc, &st)) != TB_OK ||
	    (rv = tb_kubeconfig_flatten(kc, &text, &len, &st)) != TB_OK) {
		tb_kubeconfig_fini(kc);
		return tb_call_error(call, rv, "kubeconfig: %s", st.message);
	}
	out->data = tb_arena_memdup(tb_call_arena(call), text, len);
	out->len = len;
	explicit_bzero(text, len);
	free(text);
	if (out->data == NULL) {
		tb_kubeconfig_fini(kc);
		return tb_call_error(call, TB_RESOURCE_EXHAUSTED, "out of memory");
	}
	return TB_OK;
}

static int local_kube_cluster(tb_call *call, const local_cfg *cfg, const char *path,
                              const char *context, Testbus__V1__ClusterInfo **cip)
{
	tb_arena *a = tb_call_arena(call);
	Testbus__V1__ClusterInfo *ci = prov_cluster_new(a, "local");
	tb_kubeconfig kc;
	int rv;

	if (ci == NULL)
		return tb_call_error(call, TB_RESOURCE_EXHAUSTED, "out of memory");
	if ((rv = local_load(call, path, context, &kc, &ci->kubeconfig)) != TB_OK)
		return rv;
	ci->id = tb_arena_printf(a, LOCAL_ID_PREFIX "%s", kc.context);
	ci->name = tb_arena_strdup(a, cfg->name ? cfg->name : kc.cluster);
	ci->version = local_version(call, &kc);
	if (ci->id == NULL || ci->name == NULL || prov_prop_bool(ci, a, "api", true) != TB_OK ||
	    prov_prop_bool(ci, a, "created", false) != TB_OK ||
	    prov_prop_string(ci, a, "api_url", kc.server) != TB_OK ||
	    prov_prop_string(ci, a, "context", kc.context) != TB_OK)
		rv = tb_call_error(call, TB_RESOURCE_EXHAUSTED, "out of memory");
	else
		prov_log(call, "using the existing cluster of context '%s' (%s); it will not be deleted",
		         kc.context, kc.server);
	tb_kubeconfig_fini(&kc);
	*cip = rv == TB_OK ? ci : NULL;
	return rv;
}

static int local_provision(tb_call *call, const ProtobufCMessage *input, ProtobufCMessage **outp,
                           void *arg)
{
	const Testbus__V1__ProvisionRequest *req = (const Testbus__V1__ProvisionRequest *)input;
	local_cfg *cfg = prov_slot_get(&local_slot);
	Testbus__V1__ClusterInfo *ci = NULL;
	const char *context = cfg->context, *path;
	char buf[4096];
	int rv;

	if (req->reuse_cluster_id[0] != '\0' && local_context_of(req->reuse_cluster_id) != NULL)
		context = local_context_of(req->reuse_cluster_id);
	if ((path = local_path(cfg, buf, sizeof(buf))) == NULL)
		rv = local_host_cluster(call, cfg, req, &ci);
	else if (req->reuse_cluster_id[0] != '\0' && local_context_of(req->reuse_cluster_id) == NULL)
		rv = tb_call_error(call, TB_NOT_FOUND,
		                   "no cluster '%s': this provisioner's ids are local/<context>",
		                   req->reuse_cluster_id);
	else
		rv = local_kube_cluster(call, cfg, path, context, &ci);
	prov_slot_put(&local_slot, cfg);
	*outp = rv == TB_OK ? &ci->base : NULL;
	return rv;
}

static int local_destroy(tb_call *call, const ProtobufCMessage *input, ProtobufCMessage **outp,
                         void *arg)
{
	const Testbus__V1__ClusterInfo *ci = (const Testbus__V1__ClusterInfo *)input;
	Testbus__V1__Empty *empty = tb_arena_zalloc(tb_call_arena(call), sizeof(*empty));

	if (empty == NULL)
		return tb_call_error(call, TB_RESOURCE_EXHAUSTED, "out of memory");
	testbus__v1__empty__init(empty);
	prov_log(call,
	         "Destroy '%s': did nothing: the local provisioner never creates a cluster, so it "
	         "never deletes one",
	         ci->id);
	*outp = &empty->base;
	return TB_OK;
}

/* The kubeconfig of ci: read again from the configured file, else the one ci carries. */
static int local_cluster_kubeconfig(tb_call *call, const Testbus__V1__ClusterInfo *ci,
                                    ProtobufCBinaryData *out)
{
	local_cfg *cfg = prov_slot_get(&local_slot);
	const Testbus__V1__Value *ctxv = prov_prop(ci, "context");
	const char *context = tb_value_string(ctxv) ? tb_value_string(ctxv)
	                                            : local_context_of(ci->id), *path;
	tb_kubeconfig kc;
	char buf[4096];
	int rv = TB_OK;

	if ((path = local_path(cfg, buf, sizeof(buf))) != NULL) {
		if ((rv = local_load(call, path, context, &kc, out)) == TB_OK)
			tb_kubeconfig_fini(&kc);
	} else if (ci->kubeconfig.len > 0) {
		*out = ci->kubeconfig;
	} else {
		rv = tb_call_error(call, TB_FAILED_PRECONDITION,
		                   "cluster '%s' has a Kubernetes API but no kubeconfig is configured "
		                   "any more (kubeconfig key or KUBECONFIG)",
		                   ci->id);
	}
	prov_slot_put(&local_slot, cfg);
	return rv;
}

static int local_get_kubeconfig(tb_call *call, const ProtobufCMessage *input,
                                ProtobufCMessage **outp, void *arg)
{
	const Testbus__V1__ClusterInfo *ci = (const Testbus__V1__ClusterInfo *)input;
	Testbus__V1__Kubeconfig *kc = tb_arena_zalloc(tb_call_arena(call), sizeof(*kc));
	int rv = TB_OK;

	if (kc == NULL)
		return tb_call_error(call, TB_RESOURCE_EXHAUSTED, "out of memory");
	testbus__v1__kubeconfig__init(kc);
	if (!prov_prop_is(ci, "api", ci->kubeconfig.len > 0))
		prov_log(call, "GetKubeconfig '%s': this host has no Kubernetes API, so its "
		               "kubeconfig is empty", ci->id);
	else
		rv = local_cluster_kubeconfig(call, ci, &kc->data);
	*outp = rv == TB_OK ? &kc->base : NULL;
	return rv;
}

static int local_health(tb_call *call, const ProtobufCMessage *input, ProtobufCMessage **outp,
                        void *arg)
{
	const Testbus__V1__ClusterInfo *ci = (const Testbus__V1__ClusterInfo *)input;
	Testbus__V1__HealthStatus *hs = prov_health_new(call);
	tb_arena *a = tb_call_arena(call);
	local_cfg *cfg = prov_slot_get(&local_slot);
	ProtobufCBinaryData kubeconfig = ci->kubeconfig;
	int rv = TB_OK;

	if (hs == NULL) {
		rv = tb_call_error(call, TB_RESOURCE_EXHAUSTED, "out of memory");
	} else if (!prov_prop_is(ci, "api", ci->kubeconfig.len > 0)) {
		hs->healthy = true;
		hs->message = tb_arena_strdup(a, "healthy: this host, without a Kubernetes API");
		rv = tb_health_add(hs, a, "kubernetes-api", true, "%s", LOCAL_NO_API);
	} else if (kubeconfig.len > 0 ||
	           (rv = local_cluster_kubeconfig(call, ci, &kubeconfig)) == TB_OK) {
		rv = prov_health_kubeconfig(call, kubeconfig.data, kubeconfig.len, &cfg->health, hs);
	}
	if (rv == TB_OK && hs->message == NULL)
		rv = tb_call_error(call, TB_RESOURCE_EXHAUSTED, "out of memory");
	prov_slot_put(&local_slot, cfg);
	*outp = rv == TB_OK ? &hs->base : NULL;
	return rv;
}

static int local_configure(const Testbus__V1__ComponentConfig *config, void *arg, tb_status *st)
{
	return prov_slot_configure(&local_slot, config, st);
}

static const tb_method local_methods[] = {
	{"Provision", local_provision},
	{"Destroy", local_destroy},
	{"GetKubeconfig", local_get_kubeconfig},
	{"Health", local_health},
};

static const char local_help[] =
    "  kubeconfig: PATH   kubeconfig of an existing cluster (default: $KUBECONFIG's first\n"
    "                     file; with neither, the cluster is this host, without an API)\n"
    "  context: NAME      context to use (default: the file's current-context)\n"
    "  name: NAME         the cluster's name in reports (default: the kubeconfig's cluster\n"
    "                     name, or the host name)\n"
    "  health: {cluster_operators: [..], deployments: [ns/name, ..], min_ready_nodes: N,\n"
    "           verbose: BOOL, timeout_ms: MS}\n"
    "Destroy never deletes anything: this provisioner creates nothing.";

int main(int argc, char **argv)
{
	const tb_component comp = {
		.name = "local",
		.kind = TESTBUS__V1__COMPONENT_KIND__KIND_PROVISIONER,
		.summary = "Provisioner for this host or an existing cluster named by a kubeconfig.",
		.service = &testbus__v1__provisioner__descriptor,
		.methods = local_methods,
		.n_methods = sizeof(local_methods) / sizeof(local_methods[0]),
		.configure = local_configure,
		.default_capacity = 8,
		.config_help = local_help,
	};
	int status;

	prov_set_name("testbus-provisioner-local");
	if (tb_http_global_init() != TB_OK ||
	    prov_slot_init(&local_slot, local_keys, sizeof(local_keys) / sizeof(local_keys[0]),
	                   sizeof(local_cfg), NULL) != TB_OK) {
		fprintf(stderr, "testbus-provisioner-local: cannot initialise\n");
		return 1;
	}
	status = tb_component_main(&comp, argc, argv);
	prov_slot_fini(&local_slot);
	return status;
}
