/* Tests of the shared HTTP client against a fault-injecting HTTPS server on 127.0.0.1. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "harness.h"
#include "http.h"

/* One HTTPS server asking for (not requiring) client certificates, shared by all tests. */
static struct {
	char *dir;
	h_proc server;
	int port;
	char ca[512], other_ca[512], cert[512], key[512];
} g;

static int setup(void **state)
{
	char server_cert[512], server_key[512];
	const char *args[8];

	g.dir = h_tmpdir();
	h_make_certs(g.dir);
	h_path(g.ca, sizeof(g.ca), g.dir, "ca.pem");
	h_path(g.other_ca, sizeof(g.other_ca), g.dir, "other-ca.pem");
	h_path(g.cert, sizeof(g.cert), g.dir, "client.pem");
	h_path(g.key, sizeof(g.key), g.dir, "client.key");
	h_path(server_cert, sizeof(server_cert), g.dir, "server.pem");
	h_path(server_key, sizeof(server_key), g.dir, "server.key");
	args[0] = "--cert";
	args[1] = server_cert;
	args[2] = "--key";
	args[3] = server_key;
	args[4] = "--client-ca";
	args[5] = g.ca;
	args[6] = NULL;
	g.port = h_server_start("faults", args, &g.server);
	return g.port > 0 ? 0 : -1;
}

static int teardown(void **state)
{
	h_stop(&g.server);
	h_rmrf(g.dir);
	free(g.dir);
	return 0;
}

/* A request to path on the test server, trusting the test CA, with fast backoff. */
static tb_http_request req_for(char *url, size_t size, const char *path)
{
	tb_http_request req = {0};

	snprintf(url, size, "https://127.0.0.1:%d%s", g.port, path);
	req.url = url;
	req.tls.ca_file = g.ca;
	req.backoff_ms = 20;
	req.timeout_ms = 5000;
	return req;
}

/* How many requests the server counted under key. */
static int server_count(const char *key)
{
	char path[256];
	json_object *obj, *n;
	int count = -1;

	snprintf(path, sizeof(path), "/count?key=%s", key);
	obj = h_get_json(g.port, g.ca, path);
	if (obj != NULL && json_object_object_get_ex(obj, "count", &n))
		count = json_object_get_int(n);
	json_object_put(obj);
	return count;
}

static void test_status_mapping(void **state)
{
	assert_int_equal(tb_http_code_for_status(200), TB_OK);
	assert_int_equal(tb_http_code_for_status(204), TB_OK);
	assert_int_equal(tb_http_code_for_status(400), TB_INVALID_ARGUMENT);
	assert_int_equal(tb_http_code_for_status(401), TB_UNAUTHENTICATED);
	assert_int_equal(tb_http_code_for_status(403), TB_PERMISSION_DENIED);
	assert_int_equal(tb_http_code_for_status(404), TB_NOT_FOUND);
	assert_int_equal(tb_http_code_for_status(409), TB_ALREADY_EXISTS);
	assert_int_equal(tb_http_code_for_status(418), TB_FAILED_PRECONDITION);
	assert_int_equal(tb_http_code_for_status(429), TB_RESOURCE_EXHAUSTED);
	assert_int_equal(tb_http_code_for_status(500), TB_UNAVAILABLE);
	assert_int_equal(tb_http_code_for_status(503), TB_UNAVAILABLE);
	assert_int_equal(tb_http_code_for_status(504), TB_DEADLINE_EXCEEDED);
	assert_true(tb_http_status_retryable(429));
	assert_true(tb_http_status_retryable(502));
	assert_false(tb_http_status_retryable(404));
	assert_false(tb_http_status_retryable(400));
}

static void test_form_encode(void **state)
{
	const tb_kv kv[] = {{"grant_type", "refresh_token"}, {"token", "a b&c=d/é"}};
	char *out;

	assert_int_equal(tb_http_form_encode(kv, 2, &out), TB_OK);
	assert_string_equal(out, "grant_type=refresh_token&token=a%20b%26c%3Dd%2F%C3%A9");
	free(out);
}

static void test_ok_with_bearer_and_body(void **state)
{
	char url[256];
	tb_http_request req = req_for(url, sizeof(url), "/echo");
	tb_http_response resp;
	tb_status st;

	req.method = "PATCH";
	req.bearer_token = "tok-123";
	req.body = "{\"a\":1}";
	req.body_len = 7;
	req.content_type = "application/json";
	assert_int_equal(tb_http_do(&req, &resp, &st), TB_OK);
	assert_int_equal(resp.status, 200);
	assert_int_equal(resp.attempts, 1);
	assert_non_null(strstr(resp.body, "\"method\": \"PATCH\""));
	assert_non_null(strstr(resp.body, "\"authorization\": \"Bearer tok-123\""));
	assert_non_null(strstr(resp.body, "\"body\": \"{\\\"a\\\":1}\""));
	assert_non_null(strstr(resp.content_type, "application/json"));
	tb_http_response_fini(&resp);
}

static void test_5xx_is_retried(void **state)
{
	char url[256];
	tb_http_request req = req_for(url, sizeof(url), "/flaky?key=f500&fail=2&code=500");
	tb_http_response resp;
	tb_status st;

	assert_int_equal(tb_http_do(&req, &resp, &st), TB_OK);
	assert_int_equal(resp.attempts, 3);
	assert_string_equal(resp.body, "ok after 3");
	assert_int_equal(server_count("f500"), 3);
	tb_http_response_fini(&resp);
}

static void test_429_waits_for_retry_after(void **state)
{
	char url[256];
	tb_http_request req = req_for(url, sizeof(url), "/flaky?key=f429&fail=1&code=429&retry_after=1");
	tb_http_response resp;
	json_object *obj, *times;
	tb_status st;
	double gap;

	assert_int_equal(tb_http_do(&req, &resp, &st), TB_OK);
	assert_int_equal(resp.attempts, 2);
	tb_http_response_fini(&resp);
	/* The server saw the second request at least Retry-After after the first. */
	obj = h_get_json(g.port, g.ca, "/times?key=f429");
	assert_non_null(obj);
	assert_true(json_object_object_get_ex(obj, "times", &times));
	assert_int_equal(json_object_array_length(times), 2);
	gap = json_object_get_double(json_object_array_get_idx(times, 1)) -
	      json_object_get_double(json_object_array_get_idx(times, 0));
	assert_true(gap >= 0.95);
	json_object_put(obj);
}

static void test_4xx_is_not_retried(void **state)
{
	char url[256];
	tb_http_request req = req_for(url, sizeof(url), "/flaky?key=f404&fail=5&code=404");
	tb_http_response resp;
	tb_status st;

	assert_int_equal(tb_http_do(&req, &resp, &st), TB_NOT_FOUND);
	assert_int_equal(resp.status, 404);
	assert_int_equal(resp.attempts, 1);
	assert_string_equal(resp.body, "try again");
	assert_non_null(strstr(st.message, "HTTP 404: try again"));
	assert_null(strstr(st.message, "key=f404"));
	assert_int_equal(server_count("f404"), 1);
	tb_http_response_fini(&resp);
}

static void test_attempts_are_bounded(void **state)
{
	char url[256];
	tb_http_request req = req_for(url, sizeof(url), "/flaky?key=f503&fail=100&code=503");
	tb_http_response resp;
	tb_status st;

	req.max_attempts = 3;
	assert_int_equal(tb_http_do(&req, &resp, &st), TB_UNAVAILABLE);
	assert_int_equal(resp.attempts, 3);
	assert_int_equal(server_count("f503"), 3);
	tb_http_response_fini(&resp);
}

static void test_dropped_post_is_not_sent_twice(void **state)
{
	char url[256];
	tb_http_request req = req_for(url, sizeof(url), "/drop?key=dpost");
	tb_http_response resp;
	tb_status st;

	req.body = "x";
	req.body_len = 1;
	assert_int_equal(tb_http_do(&req, &resp, &st), TB_UNAVAILABLE);
	assert_int_equal(resp.status, 0);
	assert_int_equal(resp.attempts, 1);
	assert_int_equal(server_count("dpost"), 1);
	tb_http_response_fini(&resp);
	/* The same failure on a GET is retried. */
	req = req_for(url, sizeof(url), "/drop?key=dget");
	req.max_attempts = 3;
	assert_int_equal(tb_http_do(&req, &resp, &st), TB_UNAVAILABLE);
	assert_int_equal(resp.attempts, 3);
	assert_int_equal(server_count("dget"), 3);
	tb_http_response_fini(&resp);
}

static void test_connection_refused_is_retried_then_unavailable(void **state)
{
	tb_http_request req = {0};
	tb_http_response resp;
	tb_status st;

	req.url = "https://127.0.0.1:1/never";
	req.backoff_ms = 10;
	req.max_attempts = 2;
	assert_int_equal(tb_http_do(&req, &resp, &st), TB_UNAVAILABLE);
	assert_int_equal(resp.attempts, 2);
	assert_non_null(strstr(st.message, "GET https://127.0.0.1:1/never"));
	tb_http_response_fini(&resp);
}

static void test_answer_size_is_capped(void **state)
{
	char url[256];
	tb_http_request req = req_for(url, sizeof(url), "/big?n=100000");
	tb_http_response resp;
	tb_status st;

	req.max_response = 1000;
	assert_int_equal(tb_http_do(&req, &resp, &st), TB_RESOURCE_EXHAUSTED);
	assert_int_equal(resp.attempts, 1);
	tb_http_response_fini(&resp);
	req.max_response = 100000;
	assert_int_equal(tb_http_do(&req, &resp, &st), TB_OK);
	assert_int_equal(resp.body_len, 100000);
	tb_http_response_fini(&resp);
}

static void test_timeout(void **state)
{
	char url[256];
	tb_http_request req = req_for(url, sizeof(url), "/slow?ms=3000&key=slow");
	tb_http_response resp;
	tb_status st;

	req.timeout_ms = 300;
	req.max_attempts = 1;
	assert_int_equal(tb_http_do(&req, &resp, &st), TB_DEADLINE_EXCEEDED);
	tb_http_response_fini(&resp);
}

static void test_wrong_ca_is_refused_and_insecure_only_when_asked(void **state)
{
	char url[256];
	tb_http_request req = req_for(url, sizeof(url), "/status?code=200&key=ca");
	tb_http_response resp;
	tb_status st;

	req.tls.ca_file = g.other_ca;
	assert_int_equal(tb_http_do(&req, &resp, &st), TB_UNAUTHENTICATED);
	assert_int_equal(resp.attempts, 1);
	assert_int_equal(server_count("ca"), 0);
	tb_http_response_fini(&resp);
	req.tls.insecure = true;
	assert_int_equal(tb_http_do(&req, &resp, &st), TB_OK);
	tb_http_response_fini(&resp);
}

static void test_client_certificate_from_files_and_memory(void **state)
{
	char url[256], *cert = h_read(g.cert), *key = h_read(g.key), *ca = h_read(g.ca);
	tb_http_request req = req_for(url, sizeof(url), "/echo");
	tb_http_response resp;
	tb_status st;

	assert_int_equal(tb_http_do(&req, &resp, &st), TB_OK);
	assert_non_null(strstr(resp.body, "\"client_cert\": false"));
	tb_http_response_fini(&resp);
	req.tls.cert_file = g.cert;
	req.tls.key_file = g.key;
	assert_int_equal(tb_http_do(&req, &resp, &st), TB_OK);
	assert_non_null(strstr(resp.body, "\"client_cert\": true"));
	tb_http_response_fini(&resp);
	memset(&req.tls, 0, sizeof(req.tls));
	req.tls.ca_data = ca;
	req.tls.ca_len = strlen(ca);
	req.tls.cert_data = cert;
	req.tls.cert_len = strlen(cert);
	req.tls.key_data = key;
	req.tls.key_len = strlen(key);
	assert_int_equal(tb_http_do(&req, &resp, &st), TB_OK);
	assert_non_null(strstr(resp.body, "\"client_cert\": true"));
	tb_http_response_fini(&resp);
	free(cert);
	free(key);
	free(ca);
}

static void test_what_replaces_a_secret_url(void **state)
{
	char url[256];
	tb_http_request req = req_for(url, sizeof(url), "/status?code=403&key=secret-hook");
	tb_http_response resp;
	tb_status st;

	req.what = "webhook";
	assert_int_equal(tb_http_do(&req, &resp, &st), TB_PERMISSION_DENIED);
	assert_non_null(strstr(st.message, "webhook: HTTP 403"));
	assert_null(strstr(st.message, "127.0.0.1"));
	tb_http_response_fini(&resp);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_status_mapping),
		cmocka_unit_test(test_form_encode),
		cmocka_unit_test(test_ok_with_bearer_and_body),
		cmocka_unit_test(test_5xx_is_retried),
		cmocka_unit_test(test_429_waits_for_retry_after),
		cmocka_unit_test(test_4xx_is_not_retried),
		cmocka_unit_test(test_attempts_are_bounded),
		cmocka_unit_test(test_dropped_post_is_not_sent_twice),
		cmocka_unit_test(test_connection_refused_is_retried_then_unavailable),
		cmocka_unit_test(test_answer_size_is_capped),
		cmocka_unit_test(test_timeout),
		cmocka_unit_test(test_wrong_ca_is_refused_and_insecure_only_when_asked),
		cmocka_unit_test(test_client_certificate_from_files_and_memory),
		cmocka_unit_test(test_what_replaces_a_secret_url),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
