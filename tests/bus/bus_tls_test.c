/* tls+tcp:// with mutual TLS, and the identity token. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bus_fixture.h"

struct tls_fixture {
	struct fixture f;
	char ca[300], server_cert[300], server_key[300];
	char client_cert[300], client_key[300], rogue_cert[300], rogue_key[300];
};

static int setup(void **state)
{
	static struct tls_fixture t;
	fixture_dir(&t.f);
	fixture_sh("'%s/make_certs.sh' '%s'", TESTS_DIR, t.f.dir);
	struct {
		char *buf;
		const char *name;
	} files[] = {
		{t.ca, "ca.pem"},           {t.server_cert, "server.pem"}, {t.server_key, "server.key"},
		{t.client_cert, "client.pem"}, {t.client_key, "client.key"},
		{t.rogue_cert, "rogue.pem"}, {t.rogue_key, "rogue.key"},
	};
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++)
		snprintf(files[i].buf, 300, "%s/%s", t.f.dir, files[i].name);
	snprintf(t.f.url, sizeof(t.f.url), "tls+tcp://127.0.0.1:0");
	atomic_store(&echo_calls, 0);
	*state = &t;
	return 0;
}

static int teardown(void **state)
{
	struct tls_fixture *t = *state;
	fixture_done(&t->f);
	return 0;
}

static void serve_tls(struct tls_fixture *t, const char *token)
{
	tb_server_opts so = {
		.tls = {.ca_file = t->ca, .cert_file = t->server_cert, .key_file = t->server_key},
		.token = token,
	};
	fixture_serve(&t->f, &so);
	/* Port 0 was resolved to the bound port. */
	const char *url = tb_server_url(t->f.srv);
	assert_non_null(url);
	assert_null(strstr(url, ":0"));
}

static int call_with(struct tls_fixture *t, const char *cert, const char *key,
                     const char *token, tb_status *st)
{
	tb_conn_opts co = {
		/* mbedtls 2 matches DNS names only, not IP addresses. */
		.tls = {.ca_file = t->ca, .cert_file = cert, .key_file = key, .server_name = "localhost"},
		.token = token,
	};
	tb_conn *conn = NULL;
	int rv = tb_conn_open(tb_server_url(t->f.srv), &co, &conn, st);
	if (rv != TB_OK)
		return rv;
	rv = fixture_execute(conn, "ok", 3000, NULL, NULL, st);
	tb_conn_close(conn);
	return rv;
}

static void test_mutual_tls_accepts_a_trusted_client(void **state)
{
	struct tls_fixture *t = *state;
	serve_tls(t, NULL);
	tb_status st;
	int rv = call_with(t, t->client_cert, t->client_key, NULL, &st);
	if (rv != TB_OK)
		fail_msg("trusted client refused: %s", st.message);
}

static void test_client_without_certificate_is_refused(void **state)
{
	struct tls_fixture *t = *state;
	serve_tls(t, NULL);
	tb_status st;
	int rv = call_with(t, NULL, NULL, NULL, &st);
	assert_int_not_equal(rv, TB_OK);
	assert_int_equal(atomic_load(&echo_calls), 0);
}

static void test_client_from_another_ca_is_refused(void **state)
{
	struct tls_fixture *t = *state;
	serve_tls(t, NULL);
	tb_status st;
	atomic_store(&echo_calls, 0);
	assert_int_not_equal(call_with(t, t->rogue_cert, t->rogue_key, NULL, &st), TB_OK);
	assert_int_equal(atomic_load(&echo_calls), 0);
}

static void test_token_is_checked(void **state)
{
	struct tls_fixture *t = *state;
	serve_tls(t, "s3cret-token");
	tb_status st;
	atomic_store(&echo_calls, 0);
	assert_int_equal(call_with(t, t->client_cert, t->client_key, NULL, &st), TB_UNAUTHENTICATED);
	assert_int_equal(call_with(t, t->client_cert, t->client_key, "wrong", &st),
	                 TB_UNAUTHENTICATED);
	assert_int_equal(call_with(t, t->client_cert, t->client_key, "s3cret-token-longer", &st),
	                 TB_UNAUTHENTICATED);
	assert_int_equal(atomic_load(&echo_calls), 0);
	assert_int_equal(call_with(t, t->client_cert, t->client_key, "s3cret-token", &st), TB_OK);
	assert_int_equal(atomic_load(&echo_calls), 1);
}

static void test_server_needs_a_certificate(void **state)
{
	struct tls_fixture *t = *state;
	tb_server_opts so = {.name = "echo"};
	tb_status st;
	assert_int_equal(tb_server_alloc(&so, &t->f.srv, &st), TB_OK);
	assert_int_equal(tb_server_listen(t->f.srv, "tls+tcp://127.0.0.1:0", &st),
	                 TB_INVALID_ARGUMENT);
	assert_non_null(strstr(st.message, "certificate"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_mutual_tls_accepts_a_trusted_client, setup,
		                                teardown),
		cmocka_unit_test_setup_teardown(test_client_without_certificate_is_refused, setup,
		                                teardown),
		cmocka_unit_test_setup_teardown(test_client_from_another_ca_is_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_token_is_checked, setup, teardown),
		cmocka_unit_test_setup_teardown(test_server_needs_a_certificate, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
