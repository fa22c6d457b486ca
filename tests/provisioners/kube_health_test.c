/* Tests of the Kubernetes health checks against a Kubernetes-API-compatible HTTPS server. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "harness.h"
#include "kube_health.h"

static struct {
	char *dir;
	char ca[512], cert[512], key[512], ccert[512], ckey[512];
} g;

static int setup(void **state)
{
	g.dir = h_tmpdir();
	h_make_certs(g.dir);
	h_path(g.ca, sizeof(g.ca), g.dir, "ca.pem");
	h_path(g.cert, sizeof(g.cert), g.dir, "server.pem");
	h_path(g.key, sizeof(g.key), g.dir, "server.key");
	h_path(g.ccert, sizeof(g.ccert), g.dir, "client.pem");
	h_path(g.ckey, sizeof(g.ckey), g.dir, "client.key");
	return 0;
}

static int teardown(void **state)
{
	h_rmrf(g.dir);
	free(g.dir);
	return 0;
}

/* Runs the checks against a kube server started with extra flags; returns hs from a. */
static Testbus__V1__HealthStatus *run(tb_arena *a, const char *const *flags,
                                      const tb_kube_health_opts *o, bool client_cert)
{
	const char *args[32] = {"--cert", g.cert, "--key", g.key, "--client-ca", g.ca, "--token",
	                        "kube-token"};
	Testbus__V1__HealthStatus *hs = tb_arena_zalloc(a, sizeof(*hs));
	char server[64];
	tb_kubeconfig kc = {0};
	tb_status st;
	h_proc p;
	size_t n = 8;
	int port;

	while (flags != NULL && *flags != NULL)
		args[n++] = *flags++;
	args[n] = NULL;
	assert_true((port = h_server_start("kube", args, &p)) > 0);
	testbus__v1__health_status__init(hs);
	snprintf(server, sizeof(server), "https://127.0.0.1:%d/", port);
	kc.server = server;
	kc.ca_file = g.ca;
	if (client_cert) {
		kc.cert_file = g.ccert;
		kc.key_file = g.ckey;
	} else {
		kc.token = "kube-token";
	}
	assert_int_equal(tb_kube_health_check(&kc, o, NULL, a, hs, &st), TB_OK);
	h_stop(&p);
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

static void test_healthy_across_node_pages_with_client_cert(void **state)
{
	const char *flags[] = {"--nodes", "7", "--page-size", "2", NULL};
	tb_arena *a;
	Testbus__V1__HealthStatus *hs;

	assert_int_equal(tb_arena_alloc(&a), TB_OK);
	hs = run(a, flags, NULL, true);
	assert_true(hs->healthy);
	assert_int_equal(hs->n_checks, 2);
	assert_string_equal(check(hs, "nodes")->message, "7 of 7 nodes ready");
	assert_string_equal(hs->message, "healthy: 2 of 2 checks passed");
	tb_arena_free(a);
}

static void test_not_ready_node_is_named(void **state)
{
	const char *flags[] = {"--not-ready", "node-1", NULL};
	tb_kube_health_opts o = {.min_ready_nodes = 2};
	tb_arena *a;
	Testbus__V1__HealthStatus *hs;

	assert_int_equal(tb_arena_alloc(&a), TB_OK);
	hs = run(a, flags, NULL, false);
	assert_false(hs->healthy);
	assert_false(check(hs, "nodes")->ok);
	assert_string_equal(check(hs, "nodes")->message, "2 of 3 nodes ready; not ready: node-1");
	assert_non_null(strstr(hs->message, "(nodes)"));
	/* With a minimum the same cluster passes. */
	hs = run(a, flags, &o, false);
	assert_true(hs->healthy);
	tb_arena_free(a);
}

static void test_readyz_failure_names_the_item(void **state)
{
	const char *flags[] = {"--readyz-fail", "etcd", NULL};
	tb_kube_health_opts o = {.verbose = true};
	tb_arena *a;
	Testbus__V1__HealthStatus *hs;

	assert_int_equal(tb_arena_alloc(&a), TB_OK);
	hs = run(a, flags, NULL, false);
	assert_false(hs->healthy);
	assert_string_equal(check(hs, "readyz")->message, "HTTP 500; failing: etcd");
	hs = run(a, flags, &o, false);
	assert_false(check(hs, "readyz/etcd")->ok);
	assert_true(check(hs, "readyz/ping")->ok);
	assert_true(check(hs, "readyz/poststarthook/start-apiserver")->ok);
	tb_arena_free(a);
}

static void test_operators_and_deployments(void **state)
{
	const char *flags[] = {"--operator", "kube-apiserver=True", "--operator",
	                       "ingress=True,True", "--deployment", "apps/web=True",
	                       "--deployment", "apps/db=False", NULL};
	char *ops[] = {"kube-apiserver", "ingress", "dns", NULL};
	char *deps[] = {"apps/web", "apps/db", NULL};
	tb_kube_health_opts o = {.cluster_operators = ops, .n_cluster_operators = 3,
	                         .deployments = deps, .n_deployments = 2};
	tb_arena *a;
	Testbus__V1__HealthStatus *hs;

	assert_int_equal(tb_arena_alloc(&a), TB_OK);
	hs = run(a, flags, &o, false);
	assert_false(hs->healthy);
	assert_true(check(hs, "clusteroperator/kube-apiserver")->ok);
	assert_false(check(hs, "clusteroperator/ingress")->ok);
	assert_string_equal(check(hs, "clusteroperator/ingress")->message, "Degraded: pods crashing");
	assert_false(check(hs, "clusteroperator/dns")->ok);
	assert_non_null(strstr(check(hs, "clusteroperator/dns")->message, "404"));
	assert_true(check(hs, "deployment/apps/web")->ok);
	assert_false(check(hs, "deployment/apps/db")->ok);
	assert_string_equal(check(hs, "deployment/apps/db")->message, "Available=False: state False");
	tb_arena_free(a);
}

static void test_unreachable_api_fails_every_check(void **state)
{
	tb_arena *a;
	tb_kubeconfig kc = {.server = "https://127.0.0.1:1", .token = "x"};
	Testbus__V1__HealthStatus hs = TESTBUS__V1__HEALTH_STATUS__INIT;
	tb_status st;

	assert_int_equal(tb_arena_alloc(&a), TB_OK);
	assert_int_equal(tb_kube_health_check(&kc, NULL, NULL, a, &hs, &st), TB_OK);
	assert_false(hs.healthy);
	assert_int_equal(hs.n_checks, 2);
	assert_false(hs.checks[0]->ok);
	assert_false(hs.checks[1]->ok);
	tb_arena_free(a);
}

static void test_health_options_from_config(void **state)
{
	static const char yaml[] =
	    "health:\n  cluster_operators: [kube-apiserver, etcd]\n  deployments: [ns/app]\n"
	    "  min_ready_nodes: 3\n  verbose: true\n  timeout_ms: 2000\n"
	    "bad1: {cluster_operators: [\"Not_A_Name\"]}\n"
	    "bad2: {deployments: [\"../etc\"]}\n"
	    "bad3: {typo: 1}\n";
	Testbus__V1__ValueMap *map = NULL;
	tb_kube_health_opts o;
	tb_status st;

	assert_int_equal(tb_value_map_from_yaml_string(yaml, strlen(yaml), "t", &map, &st), TB_OK);
	assert_int_equal(tb_kube_health_opts_read(tb_value_map_get(map, "health"), &o, &st), TB_OK);
	assert_int_equal(o.n_cluster_operators, 2);
	assert_string_equal(o.cluster_operators[1], "etcd");
	assert_string_equal(o.deployments[0], "ns/app");
	assert_int_equal(o.min_ready_nodes, 3);
	assert_true(o.verbose);
	assert_int_equal(o.timeout_ms, 2000);
	tb_kube_health_opts_fini(&o);
	assert_int_equal(tb_kube_health_opts_read(tb_value_map_get(map, "bad1"), &o, &st),
	                 TB_INVALID_ARGUMENT);
	assert_non_null(strstr(st.message, "Not_A_Name"));
	assert_int_equal(tb_kube_health_opts_read(tb_value_map_get(map, "bad2"), &o, &st),
	                 TB_INVALID_ARGUMENT);
	assert_int_equal(tb_kube_health_opts_read(tb_value_map_get(map, "bad3"), &o, &st),
	                 TB_INVALID_ARGUMENT);
	assert_non_null(strstr(st.message, "typo"));
	assert_int_equal(tb_kube_health_opts_read(NULL, &o, &st), TB_OK);
	tb_kube_health_opts_fini(&o);
	protobuf_c_message_free_unpacked(&map->base, NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_healthy_across_node_pages_with_client_cert),
		cmocka_unit_test(test_not_ready_node_is_named),
		cmocka_unit_test(test_readyz_failure_names_the_item),
		cmocka_unit_test(test_operators_and_deployments),
		cmocka_unit_test(test_unreachable_api_fails_every_check),
		cmocka_unit_test(test_health_options_from_config),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
