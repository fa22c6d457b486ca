/* testbus-provisioner-exec: clusters made and deleted by user commands (kind, eksctl, gcloud, ...). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "exec_run.h"

typedef struct exec_cfg {
	prov_cfg_head head;
	char **provision_command, **destroy_command, **kubeconfig_command, **health_command;
	char **env;
	char *workdir, *provider, *name_prefix;
	uint32_t provision_timeout_ms, destroy_timeout_ms, kubeconfig_timeout_ms, health_timeout_ms;
	bool keep_on_failure;
	tb_kube_health_opts health;
} exec_cfg;

#define EXEC_OFF(f) offsetof(exec_cfg, f)
static const prov_key exec_keys[] = {
	{"provision_command", PROV_ARGV, EXEC_OFF(provision_command)},
	{"destroy_command", PROV_ARGV, EXEC_OFF(destroy_command)},
	{"kubeconfig_command", PROV_ARGV, EXEC_OFF(kubeconfig_command)},
	{"health_command", PROV_ARGV, EXEC_OFF(health_command)},
	{"env", PROV_ENV, EXEC_OFF(env)},
	{"workdir", PROV_STRING, EXEC_OFF(workdir)},
	{"provider", PROV_STRING, EXEC_OFF(provider)},
	{"name_prefix", PROV_STRING, EXEC_OFF(name_prefix)},
	{"provision_timeout_ms", PROV_UINT, EXEC_OFF(provision_timeout_ms)},
	{"destroy_timeout_ms", PROV_UINT, EXEC_OFF(destroy_timeout_ms)},
	{"kubeconfig_timeout_ms", PROV_UINT, EXEC_OFF(kubeconfig_timeout_ms)},
	{"health_timeout_ms", PROV_UINT, EXEC_OFF(health_timeout_ms)},
	{"keep_on_failure", PROV_BOOL, EXEC_OFF(keep_on_failure)},
	{"health", PROV_HEALTH, EXEC_OFF(health)},
};

static prov_slot exec_slot;

static uint32_t exec_ms(uint32_t set, uint32_t def)
{
	return set ? set : def;
}

static int exec_check(void *arg, tb_status *st)
{
	const exec_cfg *cfg = arg;

	if (cfg->provision_command == NULL || cfg->destroy_command == NULL)
		return tb_status_set(st, TB_INVALID_ARGUMENT,
		                     "provision_command and destroy_command are required (argv lists)");
	return TB_OK;
}

/* The configured commands are required at call time too: the defaults have none. */
static exec_cfg *exec_begin(tb_call *call)
{
	exec_cfg *cfg = prov_slot_get(&exec_slot);

	if (cfg->provision_command != NULL && cfg->destroy_command != NULL)
		return cfg;
	prov_slot_put(&exec_slot, cfg);
	tb_call_error(call, TB_FAILED_PRECONDITION,
	              "not configured: provision_command and destroy_command are required");
	return NULL;
}

static void exec_target_of(const Testbus__V1__ClusterInfo *ci, const char *run_id, exec_target *t)
{
	memset(t, 0, sizeof(*t));
	t->id = ci->id[0] ? ci->id : NULL;
	t->name = ci->name[0] ? ci->name : t->id;
	t->region = ci->region[0] ? ci->region : NULL;
	t->run_id = run_id;
	t->kubeconfig = ci->kubeconfig.data;
	t->kubeconfig_len = ci->kubeconfig.len;
}

/* Runs the destroy command for t, tied to call (or not, for cleanup after a failure). */
static int exec_destroy_run(tb_call *call, const exec_cfg *cfg, const exec_target *t,
                            tb_status *st)
{
	exec_output o;
	int rv = exec_run(call, "destroy command", cfg->destroy_command, cfg->env, cfg->workdir,
	                  exec_ms(cfg->destroy_timeout_ms, 15u * 60u * 1000u), t, &o, st);

	exec_output_fini(&o);
	return rv;
}

/* After a failed provision: destroy what the command may have made, and say so. */
static void exec_cleanup(tb_call *call, const exec_cfg *cfg, const exec_target *t)
{
	tb_status st = {0};

	if (cfg->keep_on_failure) {
		prov_log(call, "provision of %s failed; keep_on_failure: left as it is", t->name);
		return;
	}
	if (exec_destroy_run(NULL, cfg, t, &st) == TB_OK)
		prov_log(call, "provision of %s failed; destroy command ran to clean up", t->name);
	else
		prov_log(call, "provision of %s failed and the destroy command failed too, clean up "
		               "by hand: %s", t->name, st.message);
}

static char *exec_name(tb_call *call, const exec_cfg *cfg, const Testbus__V1__ProvisionRequest *req)
{
	struct timespec ts;

	if (req->name[0] != '\0')
		return tb_arena_strdup(tb_call_arena(call), req->name);
	clock_gettime(CLOCK_REALTIME, &ts);
	return tb_arena_printf(tb_call_arena(call), "%s-%06lx", cfg->name_prefix ? cfg->name_prefix : "tb",
	                       (unsigned long)((ts.tv_nsec ^ (long)tb_call_id(call)) & 0xffffff));
}

/* Fills a new cluster's info from the provision command's output. */
static int exec_create(tb_call *call, const exec_cfg *cfg, const Testbus__V1__ProvisionRequest *req,
                       Testbus__V1__ClusterInfo *ci)
{
	tb_arena *a = tb_call_arena(call);
	exec_target t = {.run_id = req->run_id};
	exec_output o;
	tb_status st = {0};
	int rv;

	t.name = ci->name = exec_name(call, cfg, req);
	if (ci->name == NULL)
		return tb_call_error(call, TB_RESOURCE_EXHAUSTED, "out of memory");
	prov_log(call, "provisioning %s", ci->name);
	rv = exec_run(call, "provision command", cfg->provision_command, cfg->env, cfg->workdir,
	              exec_ms(cfg->provision_timeout_ms, 30u * 60u * 1000u), &t, &o, &st);
	if (rv == TB_OK)
		rv = exec_read_cluster(call, o.out, o.err, ci);
	exec_output_fini(&o);
	if (rv == TB_OK && ci->id[0] == '\0')
		ci->id = ci->name;
	if (rv == TB_OK && (prov_prop_bool(ci, a, "created", true) != TB_OK ||
	                    prov_prop_string(ci, a, "exec_name", ci->name) != TB_OK))
		rv = tb_call_error(call, TB_RESOURCE_EXHAUSTED, "out of memory");
	if (rv != TB_OK) {
		t.id = ci->id[0] ? ci->id : NULL;
		exec_cleanup(call, cfg, &t);
	}
	return rv;
}

/* Runs the kubeconfig command for t and reads its output into *out. */
static int exec_kubeconfig(tb_call *call, const exec_cfg *cfg, const exec_target *t,
                           ProtobufCBinaryData *out)
{
	exec_output o;
	tb_status st = {0};
	int rv = exec_run(call, "kubeconfig command", cfg->kubeconfig_command, cfg->env,
	                  cfg->workdir, exec_ms(cfg->kubeconfig_timeout_ms, 60000), t, &o, &st);

	if (rv == TB_OK)
		rv = exec_read_kubeconfig(call, o.out, out);
	exec_output_fini(&o);
	return rv;
}

static int exec_reuse(tb_call *call, const exec_cfg *cfg, const Testbus__V1__ProvisionRequest *req,
                      Testbus__V1__ClusterInfo *ci)
{
	exec_target t = {.id = req->reuse_cluster_id, .name = req->reuse_cluster_id,
	                 .run_id = req->run_id};
	int rv;

	if (cfg->kubeconfig_command == NULL)
		return tb_call_error(call, TB_FAILED_PRECONDITION,
		                     "reusing cluster %s needs kubeconfig_command", req->reuse_cluster_id);
	ci->id = ci->name = (char *)req->reuse_cluster_id;
	if ((rv = exec_kubeconfig(call, cfg, &t, &ci->kubeconfig)) == TB_OK &&
	    prov_prop_bool(ci, tb_call_arena(call), "created", false) != TB_OK)
		rv = tb_call_error(call, TB_RESOURCE_EXHAUSTED, "out of memory");
	return rv;
}

static int exec_provision(tb_call *call, const ProtobufCMessage *input, ProtobufCMessage **outp,
                          void *arg)
{
	const Testbus__V1__ProvisionRequest *req = (const Testbus__V1__ProvisionRequest *)input;
	exec_cfg *cfg = exec_begin(call);
	Testbus__V1__ClusterInfo *ci = NULL;
	int rv = TB_FAILED_PRECONDITION;

	if (cfg != NULL) {
		ci = prov_cluster_new(tb_call_arena(call), cfg->provider ? cfg->provider : "exec");
		if (ci == NULL)
			rv = tb_call_error(call, TB_RESOURCE_EXHAUSTED, "out of memory");
		else if (req->reuse_cluster_id[0] != '\0')
			rv = exec_reuse(call, cfg, req, ci);
		else
			rv = exec_create(call, cfg, req, ci);
		prov_slot_put(&exec_slot, cfg);
	}
	*outp = rv == TB_OK ? &ci->base : NULL;
	return rv;
}

static int exec_destroy(tb_call *call, const ProtobufCMessage *input, ProtobufCMessage **outp,
                        void *arg)
{
	const Testbus__V1__ClusterInfo *ci = (const Testbus__V1__ClusterInfo *)input;
	Testbus__V1__Empty *empty = tb_arena_zalloc(tb_call_arena(call), sizeof(*empty));
	exec_cfg *cfg = exec_begin(call);
	exec_target t;
	tb_status st = {0};
	int rv = TB_FAILED_PRECONDITION;

	exec_target_of(ci, NULL, &t);
	if (tb_value_string(prov_prop(ci, "exec_name")) != NULL)
		t.name = tb_value_string(prov_prop(ci, "exec_name"));
	if (cfg == NULL || empty == NULL) {
		rv = cfg ? tb_call_error(call, TB_RESOURCE_EXHAUSTED, "out of memory") : rv;
	} else if (!prov_prop_is(ci, "created", false)) {
		prov_log(call, "Destroy %s: did nothing: the cluster was reused, not created by testbus",
		         ci->id);
		rv = TB_OK;
	} else if ((rv = exec_destroy_run(call, cfg, &t, &st)) == TB_OK) {
		prov_log(call, "Destroy %s: destroy command succeeded", ci->id);
	}
	if (cfg != NULL)
		prov_slot_put(&exec_slot, cfg);
	if (empty != NULL)
		testbus__v1__empty__init(empty);
	*outp = rv == TB_OK ? &empty->base : NULL;
	return rv;
}

/* ci's kubeconfig: from the kubeconfig command when there is one, else the one ci carries. */
static int exec_cluster_kubeconfig(tb_call *call, const exec_cfg *cfg,
                                   const Testbus__V1__ClusterInfo *ci, ProtobufCBinaryData *out)
{
	exec_target t;

	exec_target_of(ci, NULL, &t);
	if (cfg->kubeconfig_command != NULL)
		return exec_kubeconfig(call, cfg, &t, out);
	if (ci->kubeconfig.len > 0) {
		*out = ci->kubeconfig;
		return TB_OK;
	}
	return tb_call_error(call, TB_FAILED_PRECONDITION,
	                     "cluster %s has no kubeconfig and no kubeconfig_command is configured",
	                     ci->id);
}

static int exec_get_kubeconfig(tb_call *call, const ProtobufCMessage *input,
                               ProtobufCMessage **outp, void *arg)
{
	const Testbus__V1__ClusterInfo *ci = (const Testbus__V1__ClusterInfo *)input;
	Testbus__V1__Kubeconfig *kc = tb_arena_zalloc(tb_call_arena(call), sizeof(*kc));
	exec_cfg *cfg = exec_begin(call);
	int rv = TB_FAILED_PRECONDITION;

	if (cfg != NULL && kc == NULL)
		rv = tb_call_error(call, TB_RESOURCE_EXHAUSTED, "out of memory");
	else if (cfg != NULL) {
		testbus__v1__kubeconfig__init(kc);
		rv = exec_cluster_kubeconfig(call, cfg, ci, &kc->data);
	}
	if (cfg != NULL)
		prov_slot_put(&exec_slot, cfg);
	*outp = rv == TB_OK ? &kc->base : NULL;
	return rv;
}

/* The health command's verdict as one check "health-command". */
static int exec_health_command(tb_call *call, const exec_cfg *cfg,
                               const Testbus__V1__ClusterInfo *ci, Testbus__V1__HealthStatus *hs)
{
	tb_arena *a = tb_call_arena(call);
	exec_target t;
	exec_output o;
	tb_status st = {0};
	int rv;

	exec_target_of(ci, NULL, &t);
	rv = exec_run(NULL, "health command", cfg->health_command, cfg->env, cfg->workdir,
	              exec_ms(cfg->health_timeout_ms, 120000), &t, &o, &st);
	if (rv == TB_OK)
		rv = tb_health_add(hs, a, "health-command", true, "%.300s",
		                   o.out && o.out[0] ? o.out : "exited 0");
	else
		rv = tb_health_add(hs, a, "health-command", false, "%s", st.message);
	exec_output_fini(&o);
	if (rv == TB_OK)
		rv = tb_health_summarize(hs, a);
	return rv == TB_OK ? TB_OK : tb_call_error(call, rv, "out of memory");
}

static int exec_health(tb_call *call, const ProtobufCMessage *input, ProtobufCMessage **outp,
                       void *arg)
{
	const Testbus__V1__ClusterInfo *ci = (const Testbus__V1__ClusterInfo *)input;
	Testbus__V1__HealthStatus *hs = prov_health_new(call);
	exec_cfg *cfg = exec_begin(call);
	ProtobufCBinaryData kubeconfig = {0};
	int rv = TB_FAILED_PRECONDITION;

	if (cfg != NULL && hs == NULL)
		rv = tb_call_error(call, TB_RESOURCE_EXHAUSTED, "out of memory");
	else if (cfg != NULL && cfg->health_command != NULL)
		rv = exec_health_command(call, cfg, ci, hs);
	else if (cfg != NULL && (rv = exec_cluster_kubeconfig(call, cfg, ci, &kubeconfig)) == TB_OK)
		rv = prov_health_kubeconfig(call, kubeconfig.data, kubeconfig.len, &cfg->health, hs);
	if (cfg != NULL)
		prov_slot_put(&exec_slot, cfg);
	*outp = rv == TB_OK ? &hs->base : NULL;
	return rv;
}

static int exec_configure(const Testbus__V1__ComponentConfig *config, void *arg, tb_status *st)
{
	return prov_slot_configure(&exec_slot, config, st);
}

static const tb_method exec_methods[] = {
	{"Provision", exec_provision},
	{"Destroy", exec_destroy},
	{"GetKubeconfig", exec_get_kubeconfig},
	{"Health", exec_health},
};

static const char exec_help[] =
    "  provision_command: [argv]   prints a JSON ClusterInfo or a kubeconfig path (required)\n"
    "  destroy_command: [argv]     (required)\n"
    "  kubeconfig_command: [argv]  prints a kubeconfig or its path (optional)\n"
    "  health_command: [argv]      exit 0 when healthy (optional; default: the API checks)\n"
    "  env: {NAME: value}, workdir, provider, name_prefix, keep_on_failure\n"
    "  provision_timeout_ms, destroy_timeout_ms, kubeconfig_timeout_ms, health_timeout_ms\n"
    "  health: {...}\n"
    "Commands see TESTBUS_CLUSTER_ID, _NAME, _REGION, TESTBUS_RUN_ID and KUBECONFIG.\n"
    "See docs/provisioners.md for the JSON schema.";

int main(int argc, char **argv)
{
	const tb_component comp = {
		.name = "exec",
		.kind = TESTBUS__V1__COMPONENT_KIND__KIND_PROVISIONER,
		.summary = "Provisioner that runs your commands to create and delete clusters.",
		.service = &testbus__v1__provisioner__descriptor,
		.methods = exec_methods,
		.n_methods = sizeof(exec_methods) / sizeof(exec_methods[0]),
		.configure = exec_configure,
		.default_capacity = 4,
		.config_help = exec_help,
	};
	int status;

	prov_set_name("testbus-provisioner-exec");
	if (tb_http_global_init() != TB_OK ||
	    prov_slot_init(&exec_slot, exec_keys, sizeof(exec_keys) / sizeof(exec_keys[0]),
	                   sizeof(exec_cfg), exec_check) != TB_OK) {
		fprintf(stderr, "testbus-provisioner-exec: cannot initialise\n");
		return 1;
	}
	status = tb_component_main(&comp, argc, argv);
	prov_slot_fini(&exec_slot);
	return status;
}
