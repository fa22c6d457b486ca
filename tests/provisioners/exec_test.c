/* The exec provisioner as a process over the bus, driving shell scripts that model kind. */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "harness.h"

#define BIN "testbus-provisioner-exec"

static struct {
	char *dir;
	h_proc kube;
	int port;
	char ca[512], state[512];
} g;

static int setup(void **state)
{
	char cert[512], key[512];
	const char *args[] = {"--cert", cert, "--key", key, "--token", "kube-token", NULL};

	g.dir = h_tmpdir();
	h_make_certs(g.dir);
	h_path(g.ca, sizeof(g.ca), g.dir, "ca.pem");
	h_path(cert, sizeof(cert), g.dir, "server.pem");
	h_path(key, sizeof(key), g.dir, "server.key");
	h_path(g.state, sizeof(g.state), g.dir, "kind");
	mkdir(g.state, 0700);
	g.port = h_server_start("kube", args, &g.kube);
	return g.port > 0 ? 0 : -1;
}

static int teardown(void **state)
{
	h_stop(&g.kube);
	h_rmrf(g.dir);
	free(g.dir);
	return 0;
}

/* Starts the provisioner with fake-kind in create mode `create` and extra config lines. */
static void start(h_comp *c, const char *create, const char *extra)
{
	char yaml[4096];

	snprintf(yaml, sizeof(yaml),
	         "provision_command: [sh, \"%s/fake-kind.sh\", %s]\n"
	         "destroy_command: [sh, \"%s/fake-kind.sh\", delete]\n"
	         "kubeconfig_command: [sh, \"%s/fake-kind.sh\", kubeconfig]\n"
	         "env:\n  FAKE_KIND_STATE: \"%s\"\n  FAKE_KIND_SERVER: \"https://127.0.0.1:%d\"\n"
	         "  FAKE_KIND_CA: \"%s\"\n"
	         "%s\n",
	         h_src_dir, create, h_src_dir, h_src_dir, g.state, g.port, g.ca, extra ? extra : "");
	assert_int_equal(h_comp_start(c, g.dir, BIN, yaml, NULL), TB_OK);
}

/* The number of clusters fake-kind has: 0 once everything made was destroyed. */
static int clusters_left(void)
{
	DIR *d = opendir(g.state);
	struct dirent *e;
	int n = 0;

	assert_non_null(d);
	while ((e = readdir(d)) != NULL)
		n += e->d_name[0] != '.';
	closedir(d);
	return n;
}

static Testbus__V1__ClusterInfo *provision(h_comp *c, const char *name, const char *reuse,
                                           int want, tb_status *st)
{
	Testbus__V1__ProvisionRequest req = TESTBUS__V1__PROVISION_REQUEST__INIT;
	Testbus__V1__ClusterInfo *ci = NULL;

	req.run_id = "run-7";
	req.name = (char *)(name ? name : "");
	req.reuse_cluster_id = (char *)(reuse ? reuse : "");
	if (tb_provisioner_provision(c->conn, &req, &ci, NULL, st) != want)
		fail_msg("Provision: want %s, got %s: %s", tb_strerror(want), tb_strerror(st->code),
		         st->message);
	return ci;
}

static void destroy(h_comp *c, Testbus__V1__ClusterInfo *ci)
{
	Testbus__V1__Empty *out = NULL;
	tb_status st;

	if (tb_provisioner_destroy(c->conn, ci, &out, NULL, &st) != TB_OK)
		fail_msg("Destroy: %s", st.message);
	protobuf_c_message_free_unpacked(&out->base, NULL);
	protobuf_c_message_free_unpacked(&ci->base, NULL);
}

static const Testbus__V1__Value *prop(const Testbus__V1__ClusterInfo *ci, const char *key)
{
	return tb_map_get(ci->properties, ci->n_properties, key);
}

static void test_kind_like_create_health_kubeconfig_delete(void **state)
{
	Testbus__V1__Kubeconfig *kc = NULL;
	Testbus__V1__HealthStatus *hs = NULL;
	Testbus__V1__ClusterInfo *ci;
	h_comp c;
	tb_status st;
	int64_t nodes = 0;
	bool ha = true;

	start(&c, "create", NULL);
	ci = provision(&c, "alpha", NULL, TB_OK, &st);
	assert_string_equal(ci->id, "kind-alpha");
	assert_string_equal(ci->name, "alpha");
	assert_string_equal(ci->provider, "kind");
	assert_string_equal(ci->version, "v1.29.2");
	assert_int_equal(tb_value_int(prop(ci, "nodes"), &nodes), TB_OK);
	assert_int_equal(nodes, 3);
	assert_int_equal(tb_value_bool(prop(ci, "ha"), &ha), TB_OK);
	assert_false(ha);
	assert_string_equal(tb_value_string(prop(ci, "image.tag")), "v1.29.2");
	assert_non_null(strstr((const char *)ci->kubeconfig.data, "certificate-authority-data"));
	assert_int_equal(clusters_left(), 1);
	assert_int_equal(tb_provisioner_health(c.conn, ci, &hs, NULL, &st), TB_OK);
	assert_true(hs->healthy);
	assert_string_equal(hs->checks[0]->name, "readyz");
	protobuf_c_message_free_unpacked(&hs->base, NULL);
	assert_int_equal(tb_provisioner_get_kubeconfig(c.conn, ci, &kc, NULL, &st), TB_OK);
	assert_non_null(strstr((const char *)kc->data.data, "kind-alpha"));
	protobuf_c_message_free_unpacked(&kc->base, NULL);
	destroy(&c, ci);
	assert_int_equal(clusters_left(), 0);
	assert_int_equal(h_comp_stop(&c), 0);
	assert_false(h_file_contains(c.log, "kube-token"));
}

static void test_path_output_and_health_command(void **state)
{
	char extra[1024];
	Testbus__V1__HealthStatus *hs = NULL;
	Testbus__V1__ClusterInfo *ci;
	h_comp c;
	tb_status st;

	snprintf(extra, sizeof(extra), "health_command: [sh, \"%s/fake-kind.sh\", health]",
	         h_src_dir);
	start(&c, "create-path", extra);
	ci = provision(&c, "beta", NULL, TB_OK, &st);
	assert_string_equal(ci->id, "beta");
	assert_string_equal(ci->provider, "exec");
	assert_true(ci->kubeconfig.len > 0);
	assert_int_equal(tb_provisioner_health(c.conn, ci, &hs, NULL, &st), TB_OK);
	assert_true(hs->healthy);
	assert_int_equal(hs->n_checks, 1);
	assert_non_null(strstr(hs->checks[0]->message, "all nodes ready"));
	protobuf_c_message_free_unpacked(&hs->base, NULL);
	destroy(&c, ci);
	assert_int_equal(clusters_left(), 0);
	assert_int_equal(h_comp_stop(&c), 0);
}

static void test_failing_command_cleans_up(void **state)
{
	h_comp c;
	tb_status st;

	start(&c, "create-fail", NULL);
	provision(&c, "gamma", NULL, TB_FAILED_PRECONDITION, &st);
	assert_non_null(strstr(st.message, "exited with status 1"));
	assert_non_null(strstr(st.message, "node(s) already exist"));
	assert_int_equal(clusters_left(), 0);
	assert_true(h_file_contains(c.log, "destroy command ran to clean up"));
	assert_int_equal(h_comp_stop(&c), 0);
}

static void test_garbage_output_is_an_error_and_cleans_up(void **state)
{
	h_comp c;
	tb_status st;

	start(&c, "create-garbage", NULL);
	provision(&c, "delta", NULL, TB_INVALID_ARGUMENT, &st);
	assert_non_null(strstr(st.message, "neither a JSON ClusterInfo"));
	assert_non_null(strstr(st.message, "warning: this is not JSON"));
	assert_null(strstr(st.message, "nice day"));
	assert_int_equal(clusters_left(), 0);
	assert_int_equal(h_comp_stop(&c), 0);
}

static void test_timeout_kills_and_cleans_up(void **state)
{
	h_comp c;
	tb_status st;

	start(&c, "create-slow", "provision_timeout_ms: 500");
	provision(&c, "epsilon", NULL, TB_DEADLINE_EXCEEDED, &st);
	assert_non_null(strstr(st.message, "timed out"));
	assert_int_equal(clusters_left(), 0);
	assert_int_equal(h_comp_stop(&c), 0);
}

static void test_reused_cluster_is_not_destroyed(void **state)
{
	Testbus__V1__ClusterInfo *ci, *reused;
	h_comp c;
	tb_status st;

	start(&c, "create", NULL);
	ci = provision(&c, "zeta", NULL, TB_OK, &st);
	reused = provision(&c, NULL, "zeta", TB_OK, &st);
	assert_string_equal(reused->id, "zeta");
	assert_true(reused->kubeconfig.len > 0);
	destroy(&c, reused);
	assert_int_equal(clusters_left(), 1);
	assert_true(h_file_contains(c.log, "reused, not created"));
	destroy(&c, ci);
	assert_int_equal(clusters_left(), 0);
	assert_int_equal(h_comp_stop(&c), 0);
}

static void test_commands_are_required(void **state)
{
	h_comp c;

	assert_int_not_equal(h_comp_start(&c, g.dir, BIN, "destroy_command: [\"true\"]\n", NULL),
	                     TB_OK);
	assert_true(h_file_contains(c.log, "provision_command and destroy_command are required"));
	assert_int_not_equal(h_comp_start(&c, g.dir, BIN, "provision_command: notalist\n", NULL),
	                     TB_OK);
	assert_true(h_file_contains(c.log, "want a list of strings"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_kind_like_create_health_kubeconfig_delete),
		cmocka_unit_test(test_path_output_and_health_command),
		cmocka_unit_test(test_failing_command_cleans_up),
		cmocka_unit_test(test_garbage_output_is_an_error_and_cleans_up),
		cmocka_unit_test(test_timeout_kills_and_cleans_up),
		cmocka_unit_test(test_reused_cluster_is_not_destroyed),
		cmocka_unit_test(test_commands_are_required),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
