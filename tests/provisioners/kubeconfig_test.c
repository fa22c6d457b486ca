/* Unit tests of the kubeconfig reader: contexts, credentials, paths, errors, flattening. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "harness.h"
#include "kubeconfig.h"

/* "hello CA\n" and "cert\n" in base64. */
#define CA_B64 "aGVsbG8gQ0EK"
#define CERT_B64 "Y2VydAo="

static const char two_contexts[] =
    "apiVersion: v1\n"
    "kind: Config\n"
    "current-context: prod\n"
    "clusters:\n"
    "- name: prod-cluster\n"
    "  cluster:\n"
    "    server: https://prod.example:6443\n"
    "    certificate-authority-data: " CA_B64 "\n"
    "- name: dev-cluster\n"
    "  cluster:\n"
    "    server: https://dev.example:6443/\n"
    "    insecure-skip-tls-verify: true\n"
    "contexts:\n"
    "- name: prod\n"
    "  context: {cluster: prod-cluster, user: prod-admin, namespace: tests}\n"
    "- name: dev\n"
    "  context: {cluster: dev-cluster, user: dev-user}\n"
    "users:\n"
    "- name: prod-admin\n"
    "  user:\n"
    "    client-certificate-data: " CERT_B64 "\n"
    "    client-key-data: a2V5Cg==\n"
    "- name: dev-user\n"
    "  user:\n"
    "    token: s3cret-token\n";

static void parse_ok(const char *text, const char *context, tb_kubeconfig *kc)
{
	tb_status st = {0};
	int rv = tb_kubeconfig_parse(text, strlen(text), NULL, "test", context, kc, &st);

	if (rv != TB_OK)
		fail_msg("parse: %s", st.message);
}

static int parse_err(const char *text, const char *context, tb_status *st)
{
	tb_kubeconfig kc;
	int rv = tb_kubeconfig_parse(text, strlen(text), NULL, "test", context, &kc, st);

	assert_null(kc.server);
	return rv;
}

static void test_current_context_with_client_cert(void **state)
{
	tb_kubeconfig kc;

	parse_ok(two_contexts, NULL, &kc);
	assert_string_equal(kc.context, "prod");
	assert_string_equal(kc.cluster, "prod-cluster");
	assert_string_equal(kc.namespace_, "tests");
	assert_string_equal(kc.server, "https://prod.example:6443");
	assert_int_equal(kc.ca_len, 9);
	assert_memory_equal(kc.ca_data, "hello CA\n", 9);
	assert_string_equal(kc.cert_data, "cert\n");
	assert_string_equal(kc.key_data, "key\n");
	assert_null(kc.token);
	assert_false(kc.insecure);
	tb_kubeconfig_fini(&kc);
	assert_null(kc.server);
}

static void test_named_context_with_token_and_insecure(void **state)
{
	tb_kubeconfig kc;
	tb_http_tls tls;

	parse_ok(two_contexts, "dev", &kc);
	assert_string_equal(kc.server, "https://dev.example:6443/");
	assert_string_equal(kc.token, "s3cret-token");
	assert_true(kc.insecure);
	assert_null(kc.ca_data);
	tb_kubeconfig_tls(&kc, &tls);
	assert_true(tls.insecure);
	tb_kubeconfig_fini(&kc);
}

static void test_insecure_only_when_true(void **state)
{
	static const char text[] =
	    "current-context: c\n"
	    "clusters: [{name: k, cluster: {server: 'https://k:6443', insecure-skip-tls-verify: false}}]\n"
	    "contexts: [{name: c, context: {cluster: k, user: u}}]\n"
	    "users: [{name: u, user: {token: t}}]\n";
	tb_kubeconfig kc;

	parse_ok(text, NULL, &kc);
	assert_false(kc.insecure);
	tb_kubeconfig_fini(&kc);
}

static void test_relative_files_and_token_file(void **state)
{
	char *dir = h_tmpdir(), path[512], kcpath[512];
	tb_kubeconfig kc;
	tb_status st;

	h_path(path, sizeof(path), dir, "token");
	h_write(path, "file-token\n", 0600);
	h_path(kcpath, sizeof(kcpath), dir, "config");
	h_write(kcpath,
	        "current-context: c\n"
	        "clusters: [{name: k, cluster: {server: 'https://k', certificate-authority: ca.pem}}]\n"
	        "contexts: [{name: c, context: {cluster: k, user: u}}]\n"
	        "users: [{name: u, user: {tokenFile: token, client-key: /abs/key.pem}}]\n",
	        0600);
	assert_int_equal(tb_kubeconfig_load(kcpath, NULL, &kc, &st), TB_OK);
	h_path(path, sizeof(path), dir, "ca.pem");
	assert_string_equal(kc.ca_file, path);
	assert_string_equal(kc.key_file, "/abs/key.pem");
	assert_string_equal(kc.token, "file-token");
	tb_kubeconfig_fini(&kc);
	h_rmrf(dir);
	free(dir);
}

static void test_only_context_used_without_current(void **state)
{
	static const char text[] =
	    "clusters: [{name: k, cluster: {server: 'https://k'}}]\n"
	    "contexts: [{name: only, context: {cluster: k}}]\n";
	tb_kubeconfig kc;

	parse_ok(text, NULL, &kc);
	assert_string_equal(kc.context, "only");
	assert_null(kc.user);
	tb_kubeconfig_fini(&kc);
}

static void test_errors_name_the_problem(void **state)
{
	tb_status st;

	assert_int_equal(parse_err(two_contexts, "staging", &st), TB_NOT_FOUND);
	assert_non_null(strstr(st.message, "no context 'staging'"));
	assert_int_equal(parse_err("a: [unclosed\n", NULL, &st), TB_INVALID_ARGUMENT);
	assert_non_null(strstr(st.message, "line"));
	assert_int_equal(parse_err("- just\n- a list\n", NULL, &st), TB_INVALID_ARGUMENT);
	assert_int_equal(parse_err("current-context: c\ncontexts: [{name: c, context: "
	                           "{cluster: nowhere}}]\n", NULL, &st),
	                 TB_INVALID_ARGUMENT);
	assert_non_null(strstr(st.message, "names no cluster"));
	assert_int_equal(parse_err("current-context: c\nclusters: [{name: k, cluster: {}}]\n"
	                           "contexts: [{name: c, context: {cluster: k}}]\n", NULL, &st),
	                 TB_INVALID_ARGUMENT);
	assert_non_null(strstr(st.message, "has no server"));
}

static void test_bad_base64_does_not_leak_the_value(void **state)
{
	static const char text[] =
	    "current-context: c\n"
	    "clusters: [{name: k, cluster: {server: 'https://k'}}]\n"
	    "contexts: [{name: c, context: {cluster: k, user: u}}]\n"
	    "users: [{name: u, user: {client-key-data: 'not!base64#secret'}}]\n";
	tb_status st;

	assert_int_equal(parse_err(text, NULL, &st), TB_INVALID_ARGUMENT);
	assert_non_null(strstr(st.message, "client-key-data"));
	assert_null(strstr(st.message, "secret"));
}

static void test_exec_plugin_is_refused_plainly(void **state)
{
	static const char text[] =
	    "current-context: c\n"
	    "clusters: [{name: k, cluster: {server: 'https://k'}}]\n"
	    "contexts: [{name: c, context: {cluster: k, user: u}}]\n"
	    "users: [{name: u, user: {exec: {command: aws, args: [eks, get-token]}}}]\n";
	tb_status st;

	assert_int_equal(parse_err(text, NULL, &st), TB_INVALID_ARGUMENT);
	assert_non_null(strstr(st.message, "'exec'"));
}

static void test_missing_file_is_not_found(void **state)
{
	tb_kubeconfig kc;
	tb_status st;

	assert_int_equal(tb_kubeconfig_load("/nonexistent/kubeconfig", NULL, &kc, &st),
	                 TB_NOT_FOUND);
}

static void test_flatten_embeds_files_and_round_trips(void **state)
{
	char *dir = h_tmpdir(), path[512], *text = NULL;
	tb_kubeconfig kc, back;
	size_t len;
	tb_status st;

	h_path(path, sizeof(path), dir, "ca.pem");
	h_write(path, "hello CA\n", 0600);
	h_path(path, sizeof(path), dir, "config");
	h_write(path,
	        "current-context: x\n"
	        "clusters: [{name: 'we\"ird', cluster: {server: 'https://k:1', certificate-authority: ca.pem}}]\n"
	        "contexts: [{name: x, context: {cluster: 'we\"ird', user: u, namespace: ns}}, "
	        "{name: y, context: {cluster: 'we\"ird'}}]\n"
	        "users: [{name: u, user: {token: tok, client-certificate-data: " CERT_B64 "}}]\n",
	        0600);
	assert_int_equal(tb_kubeconfig_load(path, NULL, &kc, &st), TB_OK);
	assert_int_equal(tb_kubeconfig_flatten(&kc, &text, &len, &st), TB_OK);
	assert_int_equal(strlen(text), len);
	assert_null(strstr(text, "ca.pem"));
	parse_ok(text, NULL, &back);
	assert_string_equal(back.context, "x");
	assert_string_equal(back.cluster, "we\"ird");
	assert_string_equal(back.namespace_, "ns");
	assert_string_equal(back.server, "https://k:1");
	assert_string_equal(back.ca_data, "hello CA\n");
	assert_string_equal(back.cert_data, "cert\n");
	assert_string_equal(back.token, "tok");
	tb_kubeconfig_fini(&back);
	tb_kubeconfig_fini(&kc);
	free(text);
	h_rmrf(dir);
	free(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_current_context_with_client_cert),
		cmocka_unit_test(test_named_context_with_token_and_insecure),
		cmocka_unit_test(test_insecure_only_when_true),
		cmocka_unit_test(test_relative_files_and_token_file),
		cmocka_unit_test(test_only_context_used_without_current),
		cmocka_unit_test(test_errors_name_the_problem),
		cmocka_unit_test(test_bad_base64_does_not_leak_the_value),
		cmocka_unit_test(test_exec_plugin_is_refused_plainly),
		cmocka_unit_test(test_missing_file_is_not_found),
		cmocka_unit_test(test_flatten_embeds_files_and_round_trips),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
