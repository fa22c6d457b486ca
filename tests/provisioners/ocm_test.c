/* The OCM provisioner as a process over the bus, against OCM- and Kubernetes-compatible test servers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "harness.h"

#define BIN "testbus-provisioner-ocm"

static struct {
	char *dir;
	h_proc kube;
	int kube_port;
	char ca[512], cert[512], key[512], kube_url[128];
} g;

/* One test's OCM server, its state file and the provisioner. */
typedef struct ocm_env {
	h_proc server;
	int port;
	char state[600];
	h_comp comp;
} ocm_env;

static int setup(void **state)
{
	const char *args[] = {"--cert", g.cert, "--key", g.key, "--token", "kube-token", NULL};

	g.dir = h_tmpdir();
	h_make_certs(g.dir);
	h_path(g.ca, sizeof(g.ca), g.dir, "ca.pem");
	h_path(g.cert, sizeof(g.cert), g.dir, "server.pem");
	h_path(g.key, sizeof(g.key), g.dir, "server.key");
	if ((g.kube_port = h_server_start("kube", args, &g.kube)) < 0)
		return -1;
	snprintf(g.kube_url, sizeof(g.kube_url), "https://127.0.0.1:%d", g.kube_port);
	return 0;
}

static int teardown(void **state)
{
	h_stop(&g.kube);
	h_rmrf(g.dir);
	free(g.dir);
	return 0;
}

/*
 * Starts an OCM server with extra flags (NULL-terminated, may be NULL) and
 * the provisioner with the common config plus extra_yaml.
 */
static void start(ocm_env *e, const char *const *flags, const char *extra_yaml, const char *url)
{
	const char *args[32] = {"--cert", g.cert, "--key", g.key, "--kube-url", g.kube_url,
	                        "--kube-ca", g.ca, "--state", e->state};
	const char *env[] = {"TB_OCM_OFFLINE=offline-token", "TB_OCM_SECRET=sa-secret", "OCM_TOKEN",
	                     NULL};
	char yaml[2048], base[64];
	size_t n = 10;
	static int seq;

	snprintf(e->state, sizeof(e->state), "%s/ocm-state-%d.json", g.dir, ++seq);
	while (flags != NULL && *flags != NULL)
		args[n++] = *flags++;
	args[n] = NULL;
	assert_true((e->port = h_server_start("ocm", args, &e->server)) > 0);
	snprintf(base, sizeof(base), "https://127.0.0.1:%d", e->port);
	snprintf(yaml, sizeof(yaml),
	         "url: \"%s\"\n"
	         "token_url: \"%s/auth/realms/redhat-external/protocol/openid-connect/token\"\n"
	         "ca_file: \"%s\"\n"
	         "poll_interval_ms: 50\npoll_max_interval_ms: 100\n"
	         "region: eu-west-1\nversion: \"4.15.3\"\ncompute_nodes: 3\nexpiration_hours: 6\n"
	         "%s\n",
	         url ? url : base, base, g.ca, extra_yaml ? extra_yaml : "token_env: TB_OCM_OFFLINE");
	assert_int_equal(h_comp_start(&e->comp, g.dir, BIN, yaml, env), TB_OK);
}

static void stop(ocm_env *e)
{
	assert_int_equal(h_comp_stop(&e->comp), 0);
	assert_false(h_file_contains(e->comp.log, "offline-token"));
	assert_false(h_file_contains(e->comp.log, "access-"));
	h_stop(&e->server);
}

static Testbus__V1__ClusterInfo *provision(ocm_env *e, const char *name, const char *reuse,
                                           uint32_t deadline_ms, int want, tb_status *st)
{
	Testbus__V1__ProvisionRequest req = TESTBUS__V1__PROVISION_REQUEST__INIT;
	Testbus__V1__ClusterInfo *ci = NULL;
	tb_call_opts opts = {.deadline_ms = deadline_ms};

	req.run_id = "run-42";
	req.name = (char *)(name ? name : "");
	req.reuse_cluster_id = (char *)(reuse ? reuse : "");
	if (tb_provisioner_provision(e->comp.conn, &req, &ci, &opts, st) != want)
		fail_msg("Provision: want %s, got %s: %s", tb_strerror(want), tb_strerror(st->code),
		         st->message);
	return ci;
}

static void destroy(ocm_env *e, const Testbus__V1__ClusterInfo *ci)
{
	Testbus__V1__Empty *out = NULL;
	tb_status st;

	if (tb_provisioner_destroy(e->comp.conn, ci, &out, NULL, &st) != TB_OK)
		fail_msg("Destroy: %s", st.message);
	protobuf_c_message_free_unpacked(&out->base, NULL);
}

/* A cluster of the server's state file, by id ("c0001"); NULL when absent. Caller puts root. */
static json_object *cluster_state(ocm_env *e, const char *id, json_object **rootp)
{
	json_object *clusters, *c = NULL;

	*rootp = h_json_file(e->state);
	assert_non_null(*rootp);
	if (json_object_object_get_ex(*rootp, "clusters", &clusters))
		json_object_object_get_ex(clusters, id, &c);
	return c;
}

static int state_int(json_object *obj, const char *key)
{
	json_object *v;

	return json_object_object_get_ex(obj, key, &v) ? json_object_get_int(v) : -1;
}

static bool state_bool(json_object *obj, const char *key)
{
	json_object *v;

	return json_object_object_get_ex(obj, key, &v) && json_object_get_boolean(v);
}

/* The id of a cluster the server knows that was not deleted (or its deletion asked for). */
static const char *undestroyed(json_object *root, bool requested_only)
{
	json_object *clusters;

	if (!json_object_object_get_ex(root, "clusters", &clusters))
		return "(no state)";
	json_object_object_foreach(clusters, id, c) {
		if (requested_only ? state_int(c, "delete_requests") < 1 : !state_bool(c, "deleted"))
			return id;
	}
	return NULL;
}

/*
 * Every cluster the server knows was deleted (or, with requested_only, its
 * deletion asked for). A call cut short by its deadline leaves the provisioner
 * cleaning up after the caller has its answer, so this waits up to 10 s.
 */
static void assert_all_destroyed(ocm_env *e, bool requested_only)
{
	json_object *root = NULL;
	const char *left = "(no state)";

	for (int i = 0; i < 100 && left != NULL; i++) {
		json_object_put(root);
		if (i > 0)
			usleep(100000);
		root = h_json_file(e->state);
		left = root ? undestroyed(root, requested_only) : "(no state)";
	}
	if (left != NULL)
		fail_msg("cluster %s was not destroyed", left);
	json_object_put(root);
}

/* True when the server's request log has line. */
static bool logged(ocm_env *e, const char *line)
{
	json_object *root = h_json_file(e->state), *reqs;
	bool found = false;

	if (root != NULL && json_object_object_get_ex(root, "requests", &reqs))
		for (size_t i = 0; i < json_object_array_length(reqs) && !found; i++)
			found = strcmp(json_object_get_string(json_object_array_get_idx(reqs, i)), line) == 0;
	json_object_put(root);
	return found;
}

static const char *prop(const Testbus__V1__ClusterInfo *ci, const char *key)
{
	return tb_value_string(tb_map_get(ci->properties, ci->n_properties, key));
}

static void test_create_ready_kubeconfig_health_delete(void **state)
{
	Testbus__V1__Kubeconfig *kc = NULL;
	Testbus__V1__HealthStatus *hs = NULL;
	Testbus__V1__ClusterInfo *ci;
	json_object *root, *c, *spec, *v;
	ocm_env e;
	tb_status st;

	start(&e, NULL, NULL, NULL);
	ci = provision(&e, "tb-full", NULL, 0, TB_OK, &st);
	assert_string_equal(ci->id, "c0001");
	assert_string_equal(ci->name, "tb-full");
	assert_string_equal(ci->provider, "ocm");
	assert_string_equal(ci->region, "eu-west-1");
	assert_string_equal(ci->version, "4.15.3");
	assert_string_equal(prop(ci, "ocm_state"), "ready");
	assert_string_equal(prop(ci, "api_url"), g.kube_url);
	assert_non_null(strstr(prop(ci, "console_url"), "console.tb-full"));
	assert_non_null(strstr((const char *)ci->kubeconfig.data, g.kube_url));
	/* The create request carried the config and an expiry. */
	c = cluster_state(&e, "c0001", &root);
	assert_true(json_object_object_get_ex(c, "spec", &spec));
	assert_true(json_object_object_get_ex(spec, "expiration_timestamp", &v));
	assert_int_equal(strlen(json_object_get_string(v)), 20);
	assert_true(json_object_object_get_ex(spec, "version", &v));
	assert_non_null(strstr(json_object_to_json_string(v), "openshift-v4.15.3"));
	assert_non_null(strstr(json_object_to_json_string_ext(spec, JSON_C_TO_STRING_PLAIN),
	                       "\"compute\":3"));
	json_object_put(root);
	assert_int_equal(tb_provisioner_get_kubeconfig(e.comp.conn, ci, &kc, NULL, &st), TB_OK);
	assert_non_null(strstr((const char *)kc->data.data, "token: kube-token"));
	protobuf_c_message_free_unpacked(&kc->base, NULL);
	assert_int_equal(tb_provisioner_health(e.comp.conn, ci, &hs, NULL, &st), TB_OK);
	assert_true(hs->healthy);
	assert_int_equal(hs->n_checks, 3);
	assert_string_equal(hs->checks[0]->name, "ocm-state");
	protobuf_c_message_free_unpacked(&hs->base, NULL);
	destroy(&e, ci);
	c = cluster_state(&e, "c0001", &root);
	assert_true(state_bool(c, "deleted"));
	json_object_put(root);
	protobuf_c_message_free_unpacked(&ci->base, NULL);
	assert_true(logged(&e, "DELETE /api/clusters_mgmt/v1/clusters/c0001 204"));
	stop(&e);
}

static void test_token_expiring_mid_run_is_refreshed(void **state)
{
	const char *flags[] = {"--token-ttl", "1", "--revoke-after", "2", "--ready-after", "12", NULL};
	Testbus__V1__ClusterInfo *ci;
	json_object *root;
	ocm_env e;
	tb_status st;

	start(&e, flags, "token_env: TB_OCM_OFFLINE\npoll_interval_ms: 120\npoll_max_interval_ms: 120",
	      NULL);
	ci = provision(&e, "tb-refresh", NULL, 0, TB_OK, &st);
	destroy(&e, ci);
	protobuf_c_message_free_unpacked(&ci->base, NULL);
	root = h_json_file(e.state);
	assert_true(state_int(root, "tokens_issued") >= 4);
	json_object_put(root);
	assert_true(logged(&e, "GET /api/clusters_mgmt/v1/clusters/c0001 401"));
	assert_all_destroyed(&e, false);
	stop(&e);
}

static void test_429_and_500_are_retried(void **state)
{
	const char *flags[] = {"--fail-once", NULL};
	Testbus__V1__ClusterInfo *ci;
	ocm_env e;
	tb_status st;

	start(&e, flags, "token: offline-token", NULL);
	ci = provision(&e, "tb-retry", NULL, 0, TB_OK, &st);
	assert_true(logged(&e, "POST /api/clusters_mgmt/v1/clusters 429"));
	assert_true(logged(&e, "POST /api/clusters_mgmt/v1/clusters 201"));
	assert_true(logged(&e, "GET /api/clusters_mgmt/v1/clusters/c0001 500"));
	destroy(&e, ci);
	protobuf_c_message_free_unpacked(&ci->base, NULL);
	assert_all_destroyed(&e, false);
	stop(&e);
}

static void test_error_state_fails_fast_and_deletes(void **state)
{
	ocm_env e;
	tb_status st;

	start(&e, NULL, NULL, NULL);
	provision(&e, "tb-error", NULL, 0, TB_FAILED_PRECONDITION, &st);
	assert_non_null(strstr(st.message, "insufficient quota"));
	assert_all_destroyed(&e, true);
	assert_true(h_file_contains(e.comp.log, "deletion of cluster c0001 requested"));
	stop(&e);
}

static void test_provisioning_timeout_and_deadline_delete(void **state)
{
	ocm_env e;
	tb_status st;

	start(&e, NULL, "token_env: TB_OCM_OFFLINE\nprovision_timeout_ms: 300", NULL);
	provision(&e, "tb-slow-1", NULL, 0, TB_DEADLINE_EXCEEDED, &st);
	assert_non_null(strstr(st.message, "still installing"));
	/* The call's own deadline ends a long provisioning the same way. */
	assert_int_equal(h_comp_stop(&e.comp), 0);
	h_stop(&e.server);
	start(&e, NULL, NULL, NULL);
	provision(&e, "tb-slow-2", NULL, 700, TB_DEADLINE_EXCEEDED, &st);
	assert_all_destroyed(&e, true);
	stop(&e);
}

static void test_client_credentials_and_reuse(void **state)
{
	Testbus__V1__ClusterInfo *ci, *reused;
	json_object *root, *c;
	ocm_env e;
	tb_status st;

	start(&e, NULL, "client_id: sa-id\nclient_secret_env: TB_OCM_SECRET", NULL);
	ci = provision(&e, "tb-sa", NULL, 0, TB_OK, &st);
	reused = provision(&e, NULL, ci->id, 0, TB_OK, &st);
	assert_string_equal(reused->id, ci->id);
	destroy(&e, reused);
	c = cluster_state(&e, ci->id, &root);
	assert_int_equal(state_int(c, "delete_requests"), 0);
	json_object_put(root);
	assert_true(h_file_contains(e.comp.log, "was reused"));
	destroy(&e, ci);
	provision(&e, NULL, "c9999", 0, TB_NOT_FOUND, &st);
	protobuf_c_message_free_unpacked(&reused->base, NULL);
	protobuf_c_message_free_unpacked(&ci->base, NULL);
	assert_all_destroyed(&e, false);
	stop(&e);
}

static void test_bad_token_and_unreachable_ocm(void **state)
{
	const char *flags[] = {"--refresh-token", "another-token", NULL};
	json_object *root, *clusters;
	ocm_env e;
	tb_status st;

	start(&e, flags, NULL, NULL);
	provision(&e, "tb-denied", NULL, 0, TB_UNAUTHENTICATED, &st);
	assert_non_null(strstr(st.message, "offline token"));
	root = h_json_file(e.state);
	assert_true(json_object_object_get_ex(root, "clusters", &clusters));
	assert_int_equal(json_object_object_length(clusters), 0);
	json_object_put(root);
	stop(&e);
	start(&e, NULL, "token_env: TB_OCM_OFFLINE\nrequest_attempts: 2", "https://127.0.0.1:1");
	provision(&e, "tb-down", NULL, 0, TB_UNAVAILABLE, &st);
	stop(&e);
}

static void test_missing_credentials_are_refused(void **state)
{
	h_comp c;

	assert_int_not_equal(h_comp_start(&c, g.dir, BIN, "token_env: TB_OCM_UNSET_VARIABLE\n", NULL),
	                     TB_OK);
	assert_true(h_file_contains(c.log, "TB_OCM_UNSET_VARIABLE"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_create_ready_kubeconfig_health_delete),
		cmocka_unit_test(test_token_expiring_mid_run_is_refreshed),
		cmocka_unit_test(test_429_and_500_are_retried),
		cmocka_unit_test(test_error_state_fails_fast_and_deletes),
		cmocka_unit_test(test_provisioning_timeout_and_deadline_delete),
		cmocka_unit_test(test_client_credentials_and_reuse),
		cmocka_unit_test(test_bad_token_and_unreachable_ocm),
		cmocka_unit_test(test_missing_credentials_are_refused),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
