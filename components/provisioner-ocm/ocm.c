/* testbus-provisioner-ocm: OpenShift clusters created, watched and deleted through OCM. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ocm_api.h"
#include "prov_support.h"

#define OCM_CLUSTERS "/api/clusters_mgmt/v1/clusters"
#define OCM_DEFAULT_TOKEN_ENV "OCM_TOKEN"

typedef struct ocm_cfg {
	prov_cfg_head head;
	char *environment, *url, *token_url, *client_id, *ca_file;
	char *refresh_token, *client_secret; /* from the environment variables named */
	char *token;                         /* an offline token given in the config itself */
	char *product, *cloud_provider, *region, *version, *machine_type, *name_prefix;
	bool multi_az;
	uint32_t compute_nodes, expiration_hours;
	uint32_t poll_interval_ms, poll_max_interval_ms, provision_timeout_ms, destroy_timeout_ms;
	uint32_t request_timeout_ms, request_attempts;
	tb_kube_health_opts health;
} ocm_cfg;

#define OCM_OFF(f) offsetof(ocm_cfg, f)
static const prov_key ocm_keys[] = {
	{"environment", PROV_STRING, OCM_OFF(environment)},
	{"url", PROV_STRING, OCM_OFF(url)},
	{"token_url", PROV_STRING, OCM_OFF(token_url)},
	{"client_id", PROV_STRING, OCM_OFF(client_id)},
	{"ca_file", PROV_STRING, OCM_OFF(ca_file)},
	{"token", PROV_SECRET, OCM_OFF(token)},
	{"token_env", PROV_SECRET_ENV, OCM_OFF(refresh_token)},
	{"client_secret_env", PROV_SECRET_ENV, OCM_OFF(client_secret)},
	{"product", PROV_STRING, OCM_OFF(product)},
	{"cloud_provider", PROV_STRING, OCM_OFF(cloud_provider)},
	{"region", PROV_STRING, OCM_OFF(region)},
	{"version", PROV_STRING, OCM_OFF(version)},
	{"compute_machine_type", PROV_STRING, OCM_OFF(machine_type)},
	{"name_prefix", PROV_STRING, OCM_OFF(name_prefix)},
	{"multi_az", PROV_BOOL, OCM_OFF(multi_az)},
	{"compute_nodes", PROV_UINT, OCM_OFF(compute_nodes)},
	{"expiration_hours", PROV_UINT, OCM_OFF(expiration_hours)},
	{"poll_interval_ms", PROV_UINT, OCM_OFF(poll_interval_ms)},
	{"poll_max_interval_ms", PROV_UINT, OCM_OFF(poll_max_interval_ms)},
	{"provision_timeout_ms", PROV_UINT, OCM_OFF(provision_timeout_ms)},
	{"destroy_timeout_ms", PROV_UINT, OCM_OFF(destroy_timeout_ms)},
	{"request_timeout_ms", PROV_UINT, OCM_OFF(request_timeout_ms)},
	{"request_attempts", PROV_UINT, OCM_OFF(request_attempts)},
	{"health", PROV_HEALTH, OCM_OFF(health)},
};

/* Known OCM environments: the API base and the SSO token endpoint. */
static const struct ocm_env {
	const char *name;
	const char *url;
} ocm_envs[] = {
	{"production", "https://api.openshift.com"},
	{"stage", "https://api.stage.openshift.com"},
	{"integration", "https://api.integration.openshift.com"},
};
static const char ocm_sso_url[] =
    "https://sso.redhat.com/auth/realms/redhat-external/protocol/openid-connect/token";

static prov_slot ocm_slot;

static int ocm_check(void *arg, tb_status *st)
{
	ocm_cfg *cfg = arg;
	size_t i;

	if (cfg->head.secret_env_missing != NULL)
		return tb_status_set(st, TB_INVALID_ARGUMENT,
		                     "environment variable %s (named in the config) is not set",
		                     cfg->head.secret_env_missing);
	if (cfg->environment == NULL || cfg->url != NULL)
		return TB_OK;
	for (i = 0; i < sizeof(ocm_envs) / sizeof(ocm_envs[0]); i++)
		if (strcmp(ocm_envs[i].name, cfg->environment) == 0)
			return TB_OK;
	return tb_status_set(st, TB_INVALID_ARGUMENT,
	                     "environment '%s': want production, stage or integration, or set url",
	                     cfg->environment);
}

/* The auth settings of cfg, with defaults; fails when no credentials are configured. */
static int ocm_auth_of(tb_call *call, const ocm_cfg *cfg, ocm_auth *auth)
{
	const char *env = getenv(OCM_DEFAULT_TOKEN_ENV);
	size_t i;

	memset(auth, 0, sizeof(*auth));
	auth->url = cfg->url ? cfg->url : ocm_envs[0].url;
	for (i = 0; cfg->url == NULL && cfg->environment && i < sizeof(ocm_envs) / sizeof(ocm_envs[0]); i++)
		if (strcmp(ocm_envs[i].name, cfg->environment) == 0)
			auth->url = ocm_envs[i].url;
	auth->token_url = cfg->token_url ? cfg->token_url : ocm_sso_url;
	auth->refresh_token = cfg->refresh_token;
	if (auth->refresh_token == NULL && cfg->token != NULL && cfg->token[0] != '\0')
		auth->refresh_token = cfg->token;
	auth->client_secret = cfg->client_secret;
	if (auth->refresh_token == NULL && auth->client_secret == NULL && env && env[0])
		auth->refresh_token = env;
	auth->client_id = cfg->client_id ? cfg->client_id : "cloud-services";
	auth->ca_file = cfg->ca_file;
	auth->timeout_ms = cfg->request_timeout_ms ? cfg->request_timeout_ms : 30000;
	auth->max_attempts = cfg->request_attempts ? cfg->request_attempts : 5;
	auth->backoff_ms = 1000;
	if (auth->refresh_token == NULL && auth->client_secret == NULL)
		return tb_call_error(call, TB_FAILED_PRECONDITION,
		                     "no OCM credentials: set token_env (an offline token) or client_id "
		                     "and client_secret_env, or export " OCM_DEFAULT_TOKEN_ENV);
	return TB_OK;
}

/* One call's context: the config, auth and the call. */
typedef struct ocm_op {
	tb_call *call;
	const ocm_cfg *cfg;
	ocm_auth auth;
	tb_status st;
} ocm_op;

static int ocm_op_begin(ocm_op *op, tb_call *call)
{
	memset(op, 0, sizeof(*op));
	op->call = call;
	op->cfg = prov_slot_get(&ocm_slot);
	return ocm_auth_of(call, op->cfg, &op->auth);
}

static void ocm_op_end(ocm_op *op)
{
	prov_slot_put(&ocm_slot, (void *)op->cfg);
}

/* A request whose failure becomes the call's error. */
static int ocm_call(ocm_op *op, const char *method, const char *path, json_object *body,
                    json_object **outp)
{
	int rv = ocm_request(&op->auth, op->call, method, path, body, outp, &op->st);

	return rv == TB_OK ? TB_OK : tb_call_error(op->call, rv, "%s", op->st.message);
}

/* --- Provision --- */

static void ocm_add(json_object *obj, const char *key, json_object *v)
{
	json_object_object_add(obj, key, v);
}

static json_object *ocm_id(const char *id)
{
	json_object *o = json_object_new_object();

	ocm_add(o, "id", json_object_new_string(id));
	return o;
}

/* The cluster's create request: what the config asks for, and an expiry. */
static json_object *ocm_spec(const ocm_cfg *cfg, const char *name, const char *run_id)
{
	json_object *spec = json_object_new_object(), *nodes, *props;
	char ts[32], version[128];
	time_t expiry = time(NULL) + (time_t)(cfg->expiration_hours ? cfg->expiration_hours : 24) * 3600;
	struct tm tm;

	ocm_add(spec, "kind", json_object_new_string("Cluster"));
	ocm_add(spec, "name", json_object_new_string(name));
	ocm_add(spec, "product", ocm_id(cfg->product ? cfg->product : "osd"));
	ocm_add(spec, "cloud_provider", ocm_id(cfg->cloud_provider ? cfg->cloud_provider : "aws"));
	ocm_add(spec, "region", ocm_id(cfg->region ? cfg->region : "us-east-1"));
	ocm_add(spec, "multi_az", json_object_new_boolean(cfg->multi_az));
	if (cfg->version != NULL) {
		snprintf(version, sizeof(version), "%s%s",
		         strncmp(cfg->version, "openshift-v", 11) == 0 ? "" : "openshift-v", cfg->version);
		ocm_add(spec, "version", ocm_id(version));
	}
	if (cfg->compute_nodes || cfg->machine_type) {
		nodes = json_object_new_object();
		if (cfg->compute_nodes)
			ocm_add(nodes, "compute", json_object_new_int64(cfg->compute_nodes));
		if (cfg->machine_type)
			ocm_add(nodes, "compute_machine_type", ocm_id(cfg->machine_type));
		ocm_add(spec, "nodes", nodes);
	}
	strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&expiry, &tm));
	ocm_add(spec, "expiration_timestamp", json_object_new_string(ts));
	props = json_object_new_object();
	ocm_add(props, "testbus_run_id", json_object_new_string(run_id));
	ocm_add(spec, "properties", props);
	return spec;
}

/* A cluster name OCM accepts: the request's, or the prefix and a short random suffix. */
static char *ocm_name(tb_call *call, const ocm_cfg *cfg, const Testbus__V1__ProvisionRequest *req)
{
	struct timespec ts;

	if (req->name[0] != '\0')
		return tb_arena_strdup(tb_call_arena(call), req->name);
	clock_gettime(CLOCK_REALTIME, &ts);
	return tb_arena_printf(tb_call_arena(call), "%s-%06lx", cfg->name_prefix ? cfg->name_prefix : "tb",
	                       (unsigned long)((ts.tv_nsec ^ (long)tb_call_id(call)) & 0xffffff));
}

/*
 * Polls the cluster until it is `ready`. Fails fast on error or uninstalling
 * states with OCM's reason, and with DEADLINE_EXCEEDED after the provisioning
 * timeout. On TB_OK *objp is the ready cluster (caller puts it).
 */
static int ocm_wait_ready(ocm_op *op, const char *id, json_object **objp)
{
	uint64_t waited = 0, limit = op->cfg->provision_timeout_ms ? op->cfg->provision_timeout_ms
	                                                          : 90u * 60u * 1000u;
	uint32_t wait = op->cfg->poll_interval_ms ? op->cfg->poll_interval_ms : 15000;
	uint32_t max = op->cfg->poll_max_interval_ms ? op->cfg->poll_max_interval_ms : 60000;
	char path[256], last[64] = "";
	json_object *obj = NULL;
	ocm_cluster c;
	int rv;

	snprintf(path, sizeof(path), OCM_CLUSTERS "/%s", id);
	for (;;) {
		if ((rv = ocm_call(op, "GET", path, NULL, &obj)) != TB_OK)
			return rv;
		ocm_cluster_read(obj, &c);
		if (c.state != NULL && strcmp(c.state, last) != 0) {
			snprintf(last, sizeof(last), "%s", c.state);
			prov_log(op->call, "cluster %s: %s", id, c.state);
		}
		if (c.state != NULL && strcmp(c.state, "ready") == 0)
			break;
		if (c.state != NULL && (strcmp(c.state, "error") == 0 || strcmp(c.state, "uninstalling") == 0))
			rv = tb_call_error(op->call, TB_FAILED_PRECONDITION, "cluster %s went to state %s: %s",
			                   id, c.state, c.error && c.error[0] ? c.error : "OCM gives no reason");
		else if (waited >= limit)
			rv = tb_call_error(op->call, TB_DEADLINE_EXCEEDED,
			                   "cluster %s still %s after %" PRIu64 " s", id, last, waited / 1000);
		else if ((rv = tb_call_wait(op->call, wait)) != TB_OK)
			tb_call_error(op->call, rv, "stopped while cluster %s was %s", id, last);
		json_object_put(obj);
		obj = NULL;
		if (rv != TB_OK)
			return rv;
		waited += wait;
		wait = wait * 3 / 2 < max ? wait * 3 / 2 : max;
	}
	*objp = obj;
	return TB_OK;
}

/* The admin kubeconfig of a cluster, into *out (from the call's arena). */
static int ocm_kubeconfig(ocm_op *op, const char *id, ProtobufCBinaryData *out)
{
	char path[256];
	json_object *obj = NULL, *kc;
	const char *text;
	int rv;

	snprintf(path, sizeof(path), OCM_CLUSTERS "/%s/credentials", id);
	if ((rv = ocm_call(op, "GET", path, NULL, &obj)) != TB_OK)
		return rv;
	if (!json_object_object_get_ex(obj, "kubeconfig", &kc) ||
	    (text = json_object_get_string(kc)) == NULL || text[0] == '\0')
		rv = tb_call_error(op->call, TB_FAILED_PRECONDITION,
		                   "OCM gives no admin kubeconfig for cluster %s", id);
	else if ((out->data = tb_arena_memdup(tb_call_arena(op->call), text, strlen(text))) == NULL)
		rv = tb_call_error(op->call, TB_RESOURCE_EXHAUSTED, "out of memory");
	else
		out->len = strlen(text);
	json_object_put(obj);
	return rv;
}

/* Fills ci from a ready cluster object. */
static int ocm_describe(ocm_op *op, json_object *obj, bool created, Testbus__V1__ClusterInfo *ci)
{
	tb_arena *a = tb_call_arena(op->call);
	ocm_cluster c;

	ocm_cluster_read(obj, &c);
	ci->id = tb_arena_strdup(a, c.id ? c.id : "");
	ci->name = tb_arena_strdup(a, c.name ? c.name : "");
	ci->region = tb_arena_strdup(a, c.region ? c.region : "");
	ci->version = tb_arena_strdup(a, c.version ? c.version : "");
	if (ci->id == NULL || ci->name == NULL || ci->region == NULL || ci->version == NULL ||
	    prov_prop_string(ci, a, "ocm_cluster_id", c.id) != TB_OK ||
	    prov_prop_string(ci, a, "console_url", c.console_url) != TB_OK ||
	    prov_prop_string(ci, a, "api_url", c.api_url) != TB_OK ||
	    prov_prop_string(ci, a, "ocm_state", c.state) != TB_OK ||
	    prov_prop_bool(ci, a, "created", created) != TB_OK)
		return tb_call_error(op->call, TB_RESOURCE_EXHAUSTED, "out of memory");
	return TB_OK;
}

/* Deletes a cluster this call created and could not hand over; never waits for it. */
static void ocm_abandon(ocm_op *op, const char *id)
{
	char path[256];
	json_object *obj = NULL;
	tb_status st = {0};

	snprintf(path, sizeof(path), OCM_CLUSTERS "/%s", id);
	/* Not tied to the call: it may be the call's end that brought us here. */
	if (ocm_request(&op->auth, NULL, "DELETE", path, NULL, &obj, &st) == TB_OK ||
	    st.code == TB_NOT_FOUND)
		prov_log(op->call, "deletion of cluster %s requested", id);
	else
		prov_log(op->call, "deleting cluster %s FAILED, delete it by hand: %s", id, st.message);
	json_object_put(obj);
}

static int ocm_create(ocm_op *op, const Testbus__V1__ProvisionRequest *req,
                      Testbus__V1__ClusterInfo *ci)
{
	const char *name = ocm_name(op->call, op->cfg, req), *id;
	json_object *spec = ocm_spec(op->cfg, name ? name : "", req->run_id), *obj = NULL;
	char *cid = NULL;
	ocm_cluster c;
	int rv;

	rv = ocm_call(op, "POST", OCM_CLUSTERS, spec, &obj);
	json_object_put(spec);
	if (rv != TB_OK)
		return rv;
	ocm_cluster_read(obj, &c);
	id = c.id;
	if (id == NULL || (cid = tb_arena_strdup(tb_call_arena(op->call), id)) == NULL) {
		json_object_put(obj);
		return tb_call_error(op->call, TB_INTERNAL, "OCM created a cluster without an id");
	}
	json_object_put(obj);
	obj = NULL;
	prov_log(op->call, "created cluster %s (%s)", cid, name);
	if ((rv = ocm_wait_ready(op, cid, &obj)) == TB_OK &&
	    (rv = ocm_kubeconfig(op, cid, &ci->kubeconfig)) == TB_OK)
		rv = ocm_describe(op, obj, true, ci);
	json_object_put(obj);
	if (rv != TB_OK)
		ocm_abandon(op, cid);
	return rv;
}

static int ocm_reuse(ocm_op *op, const char *id, Testbus__V1__ClusterInfo *ci)
{
	json_object *obj = NULL;
	int rv;

	if ((rv = ocm_wait_ready(op, id, &obj)) == TB_OK &&
	    (rv = ocm_kubeconfig(op, id, &ci->kubeconfig)) == TB_OK)
		rv = ocm_describe(op, obj, false, ci);
	json_object_put(obj);
	if (rv == TB_OK)
		prov_log(op->call, "reusing cluster %s; it will not be deleted", id);
	return rv;
}

static int ocm_provision(tb_call *call, const ProtobufCMessage *input, ProtobufCMessage **outp,
                         void *arg)
{
	const Testbus__V1__ProvisionRequest *req = (const Testbus__V1__ProvisionRequest *)input;
	Testbus__V1__ClusterInfo *ci = prov_cluster_new(tb_call_arena(call), "ocm");
	ocm_op op;
	int rv;

	if ((rv = ocm_op_begin(&op, call)) == TB_OK) {
		if (ci == NULL)
			rv = tb_call_error(call, TB_RESOURCE_EXHAUSTED, "out of memory");
		else if (req->reuse_cluster_id[0] != '\0')
			rv = ocm_reuse(&op, req->reuse_cluster_id, ci);
		else
			rv = ocm_create(&op, req, ci);
	}
	ocm_op_end(&op);
	*outp = rv == TB_OK ? &ci->base : NULL;
	return rv;
}

/* --- Destroy, GetKubeconfig, Health --- */

/* Waits until GET answers 404, within the destroy timeout. */
static int ocm_wait_gone(ocm_op *op, const char *path, const char *id)
{
	uint64_t waited = 0, limit = op->cfg->destroy_timeout_ms ? op->cfg->destroy_timeout_ms
	                                                        : 60u * 60u * 1000u;
	uint32_t wait = op->cfg->poll_interval_ms ? op->cfg->poll_interval_ms : 15000;
	uint32_t max = op->cfg->poll_max_interval_ms ? op->cfg->poll_max_interval_ms : 60000;
	json_object *obj = NULL;
	int rv;

	for (;;) {
		rv = ocm_request(&op->auth, op->call, "GET", path, NULL, &obj, &op->st);
		json_object_put(obj);
		obj = NULL;
		if (rv == TB_NOT_FOUND)
			return TB_OK;
		if (rv != TB_OK)
			return tb_call_error(op->call, rv, "%s", op->st.message);
		if (waited >= limit)
			return tb_call_error(op->call, TB_DEADLINE_EXCEEDED,
			                     "cluster %s still exists %" PRIu64 " s after its deletion", id,
			                     waited / 1000);
		if ((rv = tb_call_wait(op->call, wait)) != TB_OK)
			return tb_call_error(op->call, rv, "stopped while cluster %s was being deleted", id);
		waited += wait;
		wait = wait * 3 / 2 < max ? wait * 3 / 2 : max;
	}
}

static int ocm_destroy(tb_call *call, const ProtobufCMessage *input, ProtobufCMessage **outp,
                       void *arg)
{
	const Testbus__V1__ClusterInfo *ci = (const Testbus__V1__ClusterInfo *)input;
	Testbus__V1__Empty *empty = tb_arena_zalloc(tb_call_arena(call), sizeof(*empty));
	json_object *obj = NULL;
	char path[256];
	ocm_op op;
	int rv;

	snprintf(path, sizeof(path), OCM_CLUSTERS "/%s", ci->id);
	if ((rv = ocm_op_begin(&op, call)) != TB_OK || empty == NULL) {
		rv = rv ? rv : tb_call_error(call, TB_RESOURCE_EXHAUSTED, "out of memory");
	} else if (ci->id[0] == '\0') {
		rv = tb_call_error(call, TB_INVALID_ARGUMENT, "Destroy needs the cluster's id");
	} else if (!prov_prop_is(ci, "created", false)) {
		prov_log(call, "Destroy %s: did nothing: the cluster was reused, not created by "
		               "testbus, so it is left as it was", ci->id);
	} else if ((rv = ocm_request(&op.auth, call, "DELETE", path, NULL, &obj, &op.st)) ==
	           TB_NOT_FOUND) {
		prov_log(call, "Destroy %s: already gone", ci->id);
		rv = TB_OK;
	} else if (rv != TB_OK) {
		rv = tb_call_error(call, rv, "%s", op.st.message);
	} else if ((rv = ocm_wait_gone(&op, path, ci->id)) == TB_OK) {
		prov_log(call, "Destroy %s: deleted", ci->id);
	}
	json_object_put(obj);
	ocm_op_end(&op);
	if (empty != NULL)
		testbus__v1__empty__init(empty);
	*outp = rv == TB_OK ? &empty->base : NULL;
	return rv;
}

static int ocm_get_kubeconfig(tb_call *call, const ProtobufCMessage *input,
                              ProtobufCMessage **outp, void *arg)
{
	const Testbus__V1__ClusterInfo *ci = (const Testbus__V1__ClusterInfo *)input;
	Testbus__V1__Kubeconfig *kc = tb_arena_zalloc(tb_call_arena(call), sizeof(*kc));
	ocm_op op;
	int rv;

	if ((rv = ocm_op_begin(&op, call)) == TB_OK && kc == NULL)
		rv = tb_call_error(call, TB_RESOURCE_EXHAUSTED, "out of memory");
	if (rv == TB_OK) {
		testbus__v1__kubeconfig__init(kc);
		rv = ocm_kubeconfig(&op, ci->id, &kc->data);
	}
	ocm_op_end(&op);
	*outp = rv == TB_OK ? &kc->base : NULL;
	return rv;
}

/* The "ocm-state" check: the cluster as OCM sees it. */
static int ocm_state_check(ocm_op *op, const char *id, Testbus__V1__HealthStatus *hs)
{
	tb_arena *a = tb_call_arena(op->call);
	json_object *obj = NULL;
	char path[256];
	ocm_cluster c;
	int rv;

	snprintf(path, sizeof(path), OCM_CLUSTERS "/%s", id);
	if (ocm_request(&op->auth, op->call, "GET", path, NULL, &obj, &op->st) != TB_OK)
		return tb_health_add(hs, a, "ocm-state", false, "%s", op->st.message);
	ocm_cluster_read(obj, &c);
	rv = tb_health_add(hs, a, "ocm-state", c.state && strcmp(c.state, "ready") == 0,
	                   "state %s%s%s", c.state ? c.state : "unknown", c.error && c.error[0] ? ": " : "",
	                   c.error ? c.error : "");
	json_object_put(obj);
	return rv;
}

static int ocm_health(tb_call *call, const ProtobufCMessage *input, ProtobufCMessage **outp,
                      void *arg)
{
	const Testbus__V1__ClusterInfo *ci = (const Testbus__V1__ClusterInfo *)input;
	Testbus__V1__HealthStatus *hs = prov_health_new(call);
	ProtobufCBinaryData kubeconfig = ci->kubeconfig;
	ocm_op op;
	int rv;

	if ((rv = ocm_op_begin(&op, call)) == TB_OK && hs == NULL)
		rv = tb_call_error(call, TB_RESOURCE_EXHAUSTED, "out of memory");
	if (rv == TB_OK && (rv = ocm_state_check(&op, ci->id, hs)) != TB_OK)
		rv = tb_call_error(call, rv, "out of memory");
	if (rv == TB_OK && kubeconfig.len == 0 && ocm_kubeconfig(&op, ci->id, &kubeconfig) != TB_OK) {
		if ((rv = tb_health_add(hs, tb_call_arena(call), "kubeconfig", false, "%s",
		                        op.st.message)) == TB_OK)
			rv = tb_health_summarize(hs, tb_call_arena(call));
	} else if (rv == TB_OK)
		rv = prov_health_kubeconfig(call, kubeconfig.data, kubeconfig.len, &op.cfg->health, hs);
	ocm_op_end(&op);
	*outp = rv == TB_OK ? &hs->base : NULL;
	return rv;
}

static int ocm_configure(const Testbus__V1__ComponentConfig *config, void *arg, tb_status *st)
{
	int rv = prov_slot_configure(&ocm_slot, config, st);

	if (rv == TB_OK)
		ocm_token_reset();
	return rv;
}

static const tb_method ocm_methods[] = {
	{"Provision", ocm_provision},
	{"Destroy", ocm_destroy},
	{"GetKubeconfig", ocm_get_kubeconfig},
	{"Health", ocm_health},
};

static const char ocm_help[] =
    "  environment: production|stage|integration   or url: BASE (a custom OCM)\n"
    "  token_url: URL       SSO token endpoint (default Red Hat SSO)\n"
    "  token_env: NAME      variable holding an offline token (default OCM_TOKEN)\n"
    "  token: TOKEN         the offline token itself (e.g. \"${OCM_TOKEN}\" in the run config)\n"
    "  client_id: ID, client_secret_env: NAME   client credentials instead\n"
    "  ca_file: PEM         CA for a private OCM and SSO\n"
    "  product, cloud_provider, region, version, compute_nodes, compute_machine_type,\n"
    "  multi_az, name_prefix, expiration_hours (default 24)\n"
    "  poll_interval_ms, poll_max_interval_ms, provision_timeout_ms, destroy_timeout_ms,\n"
    "  request_timeout_ms, request_attempts, health: {...}\n"
    "See docs/provisioners.md.";

int main(int argc, char **argv)
{
	const tb_component comp = {
		.name = "ocm",
		.kind = TESTBUS__V1__COMPONENT_KIND__KIND_PROVISIONER,
		.summary = "Provisioner of OpenShift clusters through OpenShift Cluster Manager.",
		.service = &testbus__v1__provisioner__descriptor,
		.methods = ocm_methods,
		.n_methods = sizeof(ocm_methods) / sizeof(ocm_methods[0]),
		.configure = ocm_configure,
		.default_capacity = 8,
		.config_help = ocm_help,
	};
	int status;

	prov_set_name("testbus-provisioner-ocm");
	if (tb_http_global_init() != TB_OK ||
	    prov_slot_init(&ocm_slot, ocm_keys, sizeof(ocm_keys) / sizeof(ocm_keys[0]),
	                   sizeof(ocm_cfg), ocm_check) != TB_OK) {
		fprintf(stderr, "testbus-provisioner-ocm: cannot initialise\n");
		return 1;
	}
	status = tb_component_main(&comp, argc, argv);
	prov_slot_fini(&ocm_slot);
	ocm_token_reset();
	return status;
}
