/* The local provisioner as a process over the bus: no cluster at all, or a kubeconfig's cluster. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "harness.h"

#define BIN "testbus-provisioner-local"

static struct {
	char *dir;
	h_proc kube;
	int port;
	char ca[512], token_kc[512], cert_kc[512], wrong_ca_kc[512], down_kc[512];
} g;

/* Writes a kubeconfig for server with CA file ca and the given user entry. */
static void write_kubeconfig(char *path, size_t size, const char *name, const char *server,
                             const char *ca, const char *user)
{
	char text[4096];

	h_path(path, size, g.dir, name);
	snprintf(text, sizeof(text),
	         "apiVersion: v1\nkind: Config\ncurrent-context: admin\n"
	         "clusters:\n- name: test-cluster\n  cluster:\n    server: %s\n"
	         "    certificate-authority: %s\n"
	         "contexts:\n- name: admin\n  context: {cluster: test-cluster, user: admin}\n"
	         "users:\n- name: admin\n  user:\n%s",
	         server, ca, user);
	h_write(path, text, 0600);
}

static int setup(void **state)
{
	char cert[512], key[512], server[128], ccert[512], ckey[512], other[512], user[2048];
	const char *args[] = {"--cert", cert, "--key", key, "--client-ca", g.ca,
	                      "--token", "kube-token", NULL};

	g.dir = h_tmpdir();
	h_make_certs(g.dir);
	h_path(g.ca, sizeof(g.ca), g.dir, "ca.pem");
	h_path(cert, sizeof(cert), g.dir, "server.pem");
	h_path(key, sizeof(key), g.dir, "server.key");
	h_path(ccert, sizeof(ccert), g.dir, "client.pem");
	h_path(ckey, sizeof(ckey), g.dir, "client.key");
	h_path(other, sizeof(other), g.dir, "other-ca.pem");
	if ((g.port = h_server_start("kube", args, &g.kube)) < 0)
		return -1;
	snprintf(server, sizeof(server), "https://127.0.0.1:%d", g.port);
	write_kubeconfig(g.token_kc, sizeof(g.token_kc), "token.kubeconfig", server, g.ca,
	                 "    token: kube-token\n");
	snprintf(user, sizeof(user), "    client-certificate: %s\n    client-key: %s\n", ccert, ckey);
	write_kubeconfig(g.cert_kc, sizeof(g.cert_kc), "cert.kubeconfig", server, g.ca, user);
	write_kubeconfig(g.wrong_ca_kc, sizeof(g.wrong_ca_kc), "wrong-ca.kubeconfig", server, other,
	                 "    token: kube-token\n");
	write_kubeconfig(g.down_kc, sizeof(g.down_kc), "down.kubeconfig", "https://127.0.0.1:1",
	                 g.ca, "    token: kube-token\n");
	return 0;
}

static int teardown(void **state)
{
	h_stop(&g.kube);
	h_rmrf(g.dir);
	free(g.dir);
	return 0;
}

/* Starts the provisioner with a config naming kubeconfig (may be NULL) and env entries. */
static void start(h_comp *c, const char *kubeconfig, const char *extra, const char *const *env)
{
	char yaml[2048];

	snprintf(yaml, sizeof(yaml), "%s%s%s\n%s", kubeconfig ? "kubeconfig: \"" : "",
	         kubeconfig ? kubeconfig : "", kubeconfig ? "\"" : "", extra ? extra : "");
	assert_int_equal(h_comp_start(c, g.dir, BIN, yaml, env), TB_OK);
}

static Testbus__V1__ClusterInfo *provision(h_comp *c, const char *reuse, int want)
{
	Testbus__V1__ProvisionRequest req = TESTBUS__V1__PROVISION_REQUEST__INIT;
	Testbus__V1__ClusterInfo *ci = NULL;
	tb_status st;

	req.run_id = "run-1";
	req.reuse_cluster_id = (char *)(reuse ? reuse : "");
	assert_int_equal(tb_provisioner_provision(c->conn, &req, &ci, NULL, &st), want);
	return ci;
}

static Testbus__V1__HealthStatus *health(h_comp *c, const Testbus__V1__ClusterInfo *ci)
{
	Testbus__V1__HealthStatus *hs = NULL;
	tb_status st;

	if (tb_provisioner_health(c->conn, ci, &hs, NULL, &st) != TB_OK)
		fail_msg("Health: %s", st.message);
	return hs;
}

static const Testbus__V1__HealthCheck *check(const Testbus__V1__HealthStatus *hs,
                                            const char *name)
{
	for (size_t i = 0; i < hs->n_checks; i++)
		if (strcmp(hs->checks[i]->name, name) == 0)
			return hs->checks[i];
	fail_msg("no check %s", name);
	return NULL;
}

static void destroy(h_comp *c, const Testbus__V1__ClusterInfo *ci)
{
	Testbus__V1__Empty *out = NULL;
	tb_status st;

	assert_int_equal(tb_provisioner_destroy(c->conn, ci, &out, NULL, &st), TB_OK);
	protobuf_c_message_free_unpacked(&out->base, NULL);
	assert_true(h_file_contains(c->log, "did nothing"));
}

/* Nothing but reads ever reached the API: the provisioner changed nothing. */
static void assert_api_untouched(void)
{
	json_object *obj = h_get_json(g.port, g.ca, "/_test/requests"), *reqs;

	assert_non_null(obj);
	assert_true(json_object_object_get_ex(obj, "requests", &reqs));
	for (size_t i = 0; i < json_object_array_length(reqs); i++)
		assert_int_equal(strncmp(json_object_get_string(json_object_array_get_idx(reqs, i)),
		                         "GET ", 4), 0);
	json_object_put(obj);
}

static void test_no_kubeconfig_is_this_host_and_healthy(void **state)
{
	const char *env[] = {"KUBECONFIG", NULL};
	Testbus__V1__Kubeconfig *kc = NULL;
	Testbus__V1__HealthStatus *hs;
	Testbus__V1__ClusterInfo *ci;
	h_comp c;
	tb_status st;
	bool api = true;

	start(&c, NULL, NULL, env);
	ci = provision(&c, NULL, TB_OK);
	assert_string_equal(ci->id, "local");
	assert_string_equal(ci->provider, "local");
	assert_int_equal(ci->kubeconfig.len, 0);
	assert_int_equal(tb_value_bool(tb_map_get(ci->properties, ci->n_properties, "api"), &api),
	                 TB_OK);
	assert_false(api);
	hs = health(&c, ci);
	assert_true(hs->healthy);
	assert_int_equal(hs->n_checks, 1);
	assert_true(check(hs, "kubernetes-api")->ok);
	assert_non_null(strstr(hs->checks[0]->message, "no Kubernetes API"));
	protobuf_c_message_free_unpacked(&hs->base, NULL);
	assert_int_equal(tb_provisioner_get_kubeconfig(c.conn, ci, &kc, NULL, &st), TB_OK);
	assert_int_equal(kc->data.len, 0);
	protobuf_c_message_free_unpacked(&kc->base, NULL);
	destroy(&c, ci);
	protobuf_c_message_free_unpacked(&ci->base, NULL);
	provision(&c, "some-other-cluster", TB_NOT_FOUND);
	assert_int_equal(h_comp_stop(&c), 0);
}

static void test_token_kubeconfig_from_config(void **state)
{
	Testbus__V1__HealthStatus *hs;
	Testbus__V1__ClusterInfo *ci;
	h_comp c;

	start(&c, g.token_kc, "name: my-cluster", NULL);
	ci = provision(&c, NULL, TB_OK);
	assert_string_equal(ci->id, "local/admin");
	assert_string_equal(ci->name, "my-cluster");
	assert_string_equal(ci->version, "v1.29.2");
	assert_true(ci->kubeconfig.len > 0);
	assert_non_null(strstr((const char *)ci->kubeconfig.data, "certificate-authority-data"));
	hs = health(&c, ci);
	assert_true(hs->healthy);
	assert_true(check(hs, "readyz")->ok);
	assert_true(check(hs, "nodes")->ok);
	assert_string_equal(check(hs, "nodes")->message, "3 of 3 nodes ready");
	protobuf_c_message_free_unpacked(&hs->base, NULL);
	destroy(&c, ci);
	protobuf_c_message_free_unpacked(&ci->base, NULL);
	assert_int_equal(h_comp_stop(&c), 0);
	assert_false(h_file_contains(c.log, "kube-token"));
	assert_api_untouched();
}

static void test_client_certificate_kubeconfig_from_env(void **state)
{
	char env_kc[600];
	const char *env[] = {env_kc, NULL};
	Testbus__V1__Kubeconfig *kc = NULL;
	Testbus__V1__HealthStatus *hs;
	Testbus__V1__ClusterInfo *ci;
	h_comp c;
	tb_status st;

	snprintf(env_kc, sizeof(env_kc), "KUBECONFIG=%s:/nonexistent", g.cert_kc);
	start(&c, NULL, "health: {verbose: true, min_ready_nodes: 2}", env);
	ci = provision(&c, NULL, TB_OK);
	/* Health works from the id alone: the kubeconfig is read again. */
	ci->kubeconfig.len = 0;
	hs = health(&c, ci);
	assert_true(hs->healthy);
	assert_true(check(hs, "readyz/etcd")->ok);
	assert_string_equal(check(hs, "nodes")->message, "3 of 3 nodes ready (at least 2 required)");
	protobuf_c_message_free_unpacked(&hs->base, NULL);
	assert_int_equal(tb_provisioner_get_kubeconfig(c.conn, ci, &kc, NULL, &st), TB_OK);
	assert_non_null(strstr((const char *)kc->data.data, "client-key-data"));
	protobuf_c_message_free_unpacked(&kc->base, NULL);
	destroy(&c, ci);
	protobuf_c_message_free_unpacked(&ci->base, NULL);
	assert_int_equal(h_comp_stop(&c), 0);
	assert_false(h_file_contains(c.log, "PRIVATE KEY"));
}

/* A health check that must fail: the cluster's CA is wrong or its API is down. */
static void assert_unhealthy(const char *kubeconfig, const char *why)
{
	Testbus__V1__HealthStatus *hs;
	Testbus__V1__ClusterInfo *ci;
	h_comp c;

	start(&c, kubeconfig, NULL, NULL);
	ci = provision(&c, NULL, TB_OK);
	hs = health(&c, ci);
	assert_false(hs->healthy);
	assert_false(check(hs, "readyz")->ok);
	if (strstr(check(hs, "readyz")->message, why) == NULL)
		fail_msg("readyz says '%s', not '%s'", check(hs, "readyz")->message, why);
	assert_non_null(strstr(hs->message, "unhealthy"));
	protobuf_c_message_free_unpacked(&hs->base, NULL);
	destroy(&c, ci);
	protobuf_c_message_free_unpacked(&ci->base, NULL);
	assert_int_equal(h_comp_stop(&c), 0);
}

static void test_wrong_ca_is_unhealthy(void **state)
{
	assert_unhealthy(g.wrong_ca_kc, "certificate");
}

static void test_unreachable_api_is_unhealthy(void **state)
{
	assert_unhealthy(g.down_kc, "onnect");
}

static void test_reuse_by_context_and_errors(void **state)
{
	Testbus__V1__ClusterInfo *ci;
	h_comp c;

	start(&c, g.token_kc, NULL, NULL);
	ci = provision(&c, "local/admin", TB_OK);
	protobuf_c_message_free_unpacked(&ci->base, NULL);
	provision(&c, "local/staging", TB_NOT_FOUND);
	provision(&c, "ocm-cluster-id", TB_NOT_FOUND);
	assert_int_equal(h_comp_stop(&c), 0);
	start(&c, "/nonexistent/kubeconfig", NULL, NULL);
	provision(&c, NULL, TB_NOT_FOUND);
	assert_int_equal(h_comp_stop(&c), 0);
}

static void test_bad_config_is_refused(void **state)
{
	h_comp c;

	assert_int_not_equal(h_comp_start(&c, g.dir, BIN, "kubeconfg: /typo\n", NULL), TB_OK);
	assert_true(h_file_contains(c.log, "unknown config key 'kubeconfg'"));
	assert_int_not_equal(h_comp_start(&c, g.dir, BIN, "health: {deployments: [noslash]}\n",
	                                  NULL),
	                     TB_OK);
	assert_true(h_file_contains(c.log, "namespace/name"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_no_kubeconfig_is_this_host_and_healthy),
		cmocka_unit_test(test_token_kubeconfig_from_config),
		cmocka_unit_test(test_client_certificate_kubeconfig_from_env),
		cmocka_unit_test(test_wrong_ca_is_unhealthy),
		cmocka_unit_test(test_unreachable_api_is_unhealthy),
		cmocka_unit_test(test_reuse_by_context_and_errors),
		cmocka_unit_test(test_bad_config_is_refused),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
