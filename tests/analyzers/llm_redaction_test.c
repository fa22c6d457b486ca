/* Proves no planted secret reaches the LLM endpoint: every kind, in every part of the input, both APIs. */
#include <json-c/json.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include <cmocka.h>

#include "fixture.h"

#define API_KEY "sk-live-apikey-000111222333"

/* Each secret, and the text it is planted in. */
static const char *const secrets[] = {
	"out-bearer-7f3a9c",                      /* Authorization: Bearer, test output */
	"stdout-bearer-11aa22bb",                 /* a bare bearer token, stdout */
	"bG9nLWJhc2ljLXNlY3JldA==",               /* Authorization: Basic, log */
	"S0NjZXJ0REFUQWtjY2VydERBVEE=",           /* kubeconfig client-certificate-data */
	"S0NrZXlEQVRBa2NrZXlEQVRB",               /* kubeconfig client-key-data */
	"kc-bare-token-5521",                     /* kubeconfig token, also bare in a log */
	"T1VUa2V5REFUQW91dGtleQ==",               /* a kubeconfig dump in test output */
	"url-pass-9931",                          /* password in a URL, stderr */
	"AKIAZZZZ1234567890AB",                   /* AWS access key id, message */
	"awsSecretValue0123456789ABCDEFGHIJ",     /* AWS secret key, test output */
	"MIIEpAIBAAKCAQEAfullPEMkeyMATERIAL",     /* a whole PEM private key, log */
	"MIIEtruncatedKEYmaterialXYZ",            /* a PEM key cut off, stderr */
	"tailOnlyKEYmaterialAAAAAAAAAAAA",        /* the end of a PEM key, stdout */
	"eyJzdWIiOiJzeXN0ZW06c2EifQ",             /* a JWT service account token, log */
	"tenant-8812",                            /* a configured extra pattern, message */
	API_KEY,                                  /* the API key itself, bare in a log */
	"evid-pw-3141",                           /* a password in prior finding evidence */
	"label-bearer-4242",                      /* a bearer token in a label */
};

static const char kubeconfig[] =
	"apiVersion: v1\nkind: Config\nclusters:\n- cluster:\n"
	"    certificate-authority-data: Q0FkYXRhQ0FkYXRh\n    server: https://10.0.0.1:6443\n"
	"  name: ci\nusers:\n- name: ci\n  user:\n"
	"    client-certificate-data: S0NjZXJ0REFUQWtjY2VydERBVEE=\n"
	"    client-key-data: S0NrZXlEQVRBa2NrZXlEQVRB\n"
	"    token: kc-bare-token-5521\n";

static const char test_output[] =
	"GET /api/v1/pods -H 'Authorization: Bearer out-bearer-7f3a9c'\n"
	"kubectl config view --raw:\n  user:\n    client-key-data: T1VUa2V5REFUQW91dGtleQ==\n"
	"env: aws_secret_access_key=awsSecretValue0123456789ABCDEFGHIJ\n";

static const char stdout_text[] =
	"tailOnlyKEYmaterialAAAAAAAAAAAA\n-----END PRIVATE KEY-----\n"
	"retrying using Bearer stdout-bearer-11aa22bb for the call\n";

static const char stderr_text[] =
	"helm repo add x https://deployer:url-pass-9931@charts.internal/stable\n"
	"loaded key:\n-----BEGIN RSA PRIVATE KEY-----\nMIIEtruncatedKEYmaterialXYZ\n";

static const char log_text[] =
	"proxy: authorization: Basic bG9nLWJhc2ljLXNlY3JldA==\n"
	"-----BEGIN PRIVATE KEY-----\nMIIEpAIBAAKCAQEAfullPEMkeyMATERIAL\nabcd\n-----END PRIVATE KEY-----\n"
	"watch started with kc-bare-token-5521\n"
	"sa token eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJzeXN0ZW06c2EifQ.c2lnbmF0dXJlc2lnbmF0dXJl\n"
	"llm client configured with " API_KEY "\n";

struct env {
	char dir[64];
	char log[256];
	int port;
	pid_t server;
	struct fx_component c;
};

static int setup(void **state)
{
	struct env *e = calloc(1, sizeof(*e));
	fx_tmpdir(e->dir, sizeof(e->dir));
	e->port = fx_llm_server_start(e->dir, &e->server);
	snprintf(e->log, sizeof(e->log), "%s/requests.jsonl", e->dir);
	fx_component_start(&e->c, TB_LLM_BIN, e->dir, "llm", NULL);
	*state = e;
	return 0;
}

static int teardown(void **state)
{
	struct env *e = *state;
	fx_stop(e->server); /* first: stopping the component may fail the test */
	fx_component_stop(&e->c);
	fx_rmtree(e->dir);
	free(e);
	return 0;
}

static Testbus__V1__AnalysisResult *analyze_planted(struct env *e)
{
	Testbus__V1__TestCase tc = TESTBUS__V1__TEST_CASE__INIT;
	tc.name = "deploys the shop";
	tc.status = TESTBUS__V1__TEST_STATUS__TEST_FAILED;
	tc.message = "creating user with key AKIAZZZZ1234567890AB failed for tenant-8812";
	tc.output = (char *)test_output;
	Testbus__V1__TestCase *tcs[] = {&tc};
	Testbus__V1__ExecutionResult r = TESTBUS__V1__EXECUTION_RESULT__INIT;
	r.test_cases = tcs;
	r.n_test_cases = 1;
	r.stdout_tail = (char *)stdout_text;
	r.stderr_tail = (char *)stderr_text;
	Testbus__V1__LogExcerpt l = TESTBUS__V1__LOG_EXCERPT__INIT;
	l.name = "executor.log";
	l.text = (char *)log_text;
	Testbus__V1__LogExcerpt *logs[] = {&l};
	Testbus__V1__ClusterInfo cl = TESTBUS__V1__CLUSTER_INFO__INIT;
	cl.provider = "kind";
	cl.kubeconfig.data = (uint8_t *)kubeconfig;
	cl.kubeconfig.len = sizeof(kubeconfig) - 1;
	Testbus__V1__Finding f = TESTBUS__V1__FINDING__INIT;
	char *ev[] = {"request body {\"password\":\"evid-pw-3141\"}"};
	f.rule_id = "rbac-forbidden";
	f.title = "Permission denied";
	f.evidence = ev;
	f.n_evidence = 1;
	Testbus__V1__Finding *fs[] = {&f};
	Testbus__V1__AnalysisInput__LabelsEntry le = TESTBUS__V1__ANALYSIS_INPUT__LABELS_ENTRY__INIT;
	le.key = "ci-auth";
	le.value = "Bearer label-bearer-4242";
	Testbus__V1__AnalysisInput__LabelsEntry *les[] = {&le};
	Testbus__V1__AnalysisInput in = TESTBUS__V1__ANALYSIS_INPUT__INIT;
	in.result = &r;
	in.logs = logs;
	in.n_logs = 1;
	in.cluster = &cl;
	in.prior_findings = fs;
	in.n_prior_findings = 1;
	in.labels = les;
	in.n_labels = 1;
	Testbus__V1__AnalysisResult *out = NULL;
	tb_status st;
	if (tb_analyzer_analyze(e->c.conn, &in, &out, NULL, &st) != TB_OK)
		fail_msg("Analyze: %s", st.message);
	return out;
}

/* Appends every string inside o (the decoded body) to f. */
static void strings_of(json_object *o, FILE *f)
{
	if (json_object_is_type(o, json_type_string)) {
		fprintf(f, "%s\n", json_object_get_string(o));
	} else if (json_object_is_type(o, json_type_array)) {
		for (size_t i = 0; i < json_object_array_length(o); i++)
			strings_of(json_object_array_get_idx(o, i), f);
	} else if (json_object_is_type(o, json_type_object)) {
		json_object_object_foreach(o, key, val)
		{
			fprintf(f, "%s\n", key);
			strings_of(val, f);
		}
	}
}

/* Everything a request carried except the one header meant for the key. */
static char *request_text(json_object *req)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	json_object *v;
	assert_true(json_object_object_get_ex(req, "path", &v));
	fprintf(f, "%s\n", json_object_get_string(v));
	assert_true(json_object_object_get_ex(req, "body", &v));
	const char *body = json_object_get_string(v);
	fprintf(f, "%s\n", body);
	json_object *decoded = json_tokener_parse(body);
	assert_non_null(decoded);
	strings_of(decoded, f);
	json_object_put(decoded);
	assert_true(json_object_object_get_ex(req, "headers", &v));
	json_object_object_foreach(v, name, value)
	{
		if (strcmp(name, "authorization") != 0 && strcmp(name, "x-goog-api-key") != 0)
			fprintf(f, "%s: %s\n", name, json_object_get_string(value));
	}
	fclose(f);
	return text;
}

static void test_nothing_secret_leaves(void **state)
{
	struct env *e = *state;
	static const char *const providers[] = {"openai", "gemini"};
	for (size_t p = 0; p < 2; p++) {
		char yaml[512];
		tb_status st;
		snprintf(yaml, sizeof(yaml),
		         "provider: %s\nendpoint: http://127.0.0.1:%d/good\nmodel: m\napi_key: " API_KEY
		         "\nredact_patterns: ['tenant-[0-9]{4}']\n",
		         providers[p], e->port);
		assert_int_equal(fx_configure(e->c.conn, yaml, &st), TB_OK);
		Testbus__V1__AnalysisResult *r = analyze_planted(e);
		assert_string_equal(r->error, "");
		protobuf_c_message_free_unpacked(&r->base, NULL);
	}
	char *all = fx_read(e->log);
	size_t n = 0;
	for (char *line = strtok(all, "\n"); line != NULL; line = strtok(NULL, "\n"), n++) {
		json_object *req = json_tokener_parse(line);
		assert_non_null(req);
		char *text = request_text(req);
		for (size_t i = 0; i < sizeof(secrets) / sizeof(secrets[0]); i++)
			if (strstr(text, secrets[i]) != NULL)
				fail_msg("secret %s reached the endpoint in:\n%s", secrets[i], text);
		/* The text around the secrets did arrive, so the check is not vacuous. */
		assert_non_null(strstr(text, "charts.internal/stable"));
		assert_non_null(strstr(text, "deploys the shop"));
		assert_non_null(strstr(text, "[REDACTED]"));
		free(text);
		json_object_put(req);
	}
	free(all);
	assert_int_equal(n, 2);
}

/* The key does travel, in its header only. */
static void test_key_only_in_header(void **state)
{
	struct env *e = *state;
	char *all = fx_read(e->log);
	assert_non_null(strstr(all, "\"authorization\": \"Bearer " API_KEY "\""));
	assert_non_null(strstr(all, "\"x-goog-api-key\": \"" API_KEY "\""));
	free(all);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_nothing_secret_leaves),
		cmocka_unit_test(test_key_only_in_header),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
