/* Unit tests of secret redaction: every built-in kind, extra patterns, literals and learning. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "redact.h"

static tb_redactor *redactor(const char *const *extra, size_t n)
{
	tb_redactor *r = NULL;
	tb_status st;
	if (tb_redactor_alloc(extra, n, &r, &st) != TB_OK)
		fail_msg("%s", st.message);
	return r;
}

/* text must come out with secret gone and keep kept (may be NULL). */
static void check(const tb_redactor *r, const char *text, const char *secret, const char *kept)
{
	size_t count = 0;
	char *out = tb_redact_str(r, text, &count);
	assert_non_null(out);
	if (strstr(out, secret) != NULL)
		fail_msg("'%s' survived in: %s", secret, out);
	assert_non_null(strstr(out, TB_REDACTED));
	assert_true(count >= 1);
	if (kept != NULL && strstr(out, kept) == NULL)
		fail_msg("'%s' was lost in: %s", kept, out);
	free(out);
}

static void test_builtin_kinds(void **state)
{
	static const struct {
		const char *text, *secret, *kept;
	} cases[] = {
		{"Authorization: Bearer abc.DEF-123_xyz", "abc.DEF-123_xyz", "Authorization: "},
		{"curl -H 'authorization: Basic dXNlcjpwYXNzd29yZA==' https://x", "dXNlcjpwYXNz",
		 "https://x"},
		{"{\"Authorization\": \"token ghs_0123456789abcdef\"}", "ghs_0123456789", "Authorization"},
		{"proxy-authorization=Negotiate YIIGhgYGKwYBBQUCoIIGejCCBnagMDAuBgkq", "YIIGhgYG", NULL},
		{"sending request with bearer sha256~Zm9vYmFyYmF6cXV4", "sha256~Zm9v", "sending request"},
		{"    client-certificate-data: LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCk1JSUM=",
		 "LS0tLS1CRUdJTiBDRVJU", "client-certificate-data: "},
		{"    client-key-data: LS0tLS1CRUdJTiBSU0EgUFJJVkFURSBLRVktLS0tLQo=", "LS0tLS1CRUdJTiBSU0Eg",
		 NULL},
		{"    certificate-authority-data: LS0tLS1DQWRhdGE=", "LS0tLS1DQWRhdGE=", NULL},
		{"    token: kubeadmtoken.abcdef0123456789", "kubeadmtoken.abcdef", "token: "},
		{"  id-token: eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJl", "eyJzdWIiOiJhbGljZSJ9",
		 NULL},
		{"git clone https://ci-bot:hunter2pass@git.example.com/org/repo.git", "hunter2pass",
		 "git.example.com/org/repo.git"},
		{"DATABASE_URL=postgres://app:s3cr3t@db:5432/app", "s3cr3t", "db:5432/app"},
		{"export AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE", "AKIAIOSFODNN7EXAMPLE", "export"},
		{"aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "wJalrXUtnFEMI", NULL},
		{"AWS_SESSION_TOKEN=IQoJb3JpZ2luX2VjEJr//////////wEaCXVzLWVhc3QtMSJH", "IQoJb3JpZ2lu", NULL},
		{"-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA7\nQx+9\n-----END RSA PRIVATE KEY-----\n"
		 "next line",
		 "MIIEowIBAAKCAQEA7", "next line"},
		{"key:\n-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA (truncated log)",
		 "b3BlbnNzaC1rZXkt", "key:"},
		{"MIIEowIBAAKCAQEA7xyzxyzxyzxyzxyzxyz\nQx+9abcdefabcdefabcdef==\n-----END PRIVATE KEY-----\nok",
		 "Qx+9abcdefabcdef", "ok"},
		{"-----BEGIN EC PRIVATE KEY-----\nMHcCAQEEIBkg\n-----END EC PRIVATE KEY-----", "MHcCAQEEIBkg",
		 NULL},
		{"{\"password\":\"correct-horse\",\"user\":\"bob\"}", "correct-horse", "\"user\":\"bob\""},
		{"login --password=Tr0ub4dor&3 --user bob", "Tr0ub4dor", "--user bob"},
		{"kubectl --token s3cr3tT0ken get pods", "s3cr3tT0ken", "get pods"},
		{"client_secret: 8f14e45fceea167a5a36dedd4bea2543", "8f14e45fceea", NULL},
		{"jwt eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N", "dozjgNryP4J3",
		 "jwt "},
		{"using key sk-proj-AbCdEfGhIjKlMnOpQrStUvWx", "sk-proj-AbCdEf", "using key"},
		{"GITHUB_TOKEN is ghp_0123456789abcdefghijABCDEFGHIJ012345", "ghp_0123456789", NULL},
	};
	tb_redactor *r = redactor(NULL, 0);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		check(r, cases[i].text, cases[i].secret, cases[i].kept);
	tb_redactor_free(r);
}

/* Ordinary failure text is left alone, so analysis keeps its evidence. */
static void test_no_false_positives(void **state)
{
	static const char *const plain[] = {
		"Warning  Failed  8s  kubelet  Error: secret \"db-credentials\" not found",
		"Failed to pull image \"quay.io/acme/web:v9\": rpc error: code = NotFound",
		"Get \"https://10.0.0.12:6443/api?timeout=32s\": dial tcp 10.0.0.12:6443: i/o timeout",
		"the token expired; run oc login again",
		"secretName: tls-cert",
		"",
	};
	tb_redactor *r = redactor(NULL, 0);
	for (size_t i = 0; i < sizeof(plain) / sizeof(plain[0]); i++) {
		size_t count = 99;
		char *out = tb_redact_str(r, plain[i], &count);
		assert_string_equal(out, plain[i]);
		assert_int_equal(count, 0);
		free(out);
	}
	assert_null(tb_redact_str(r, NULL, NULL));
	tb_redactor_free(r);
}

static void test_extra_patterns(void **state)
{
	const char *const extra[] = {"(?i)x-api-key:\\s*(?<secret>\\S+)", "INTERNAL-[0-9]{6}"};
	tb_redactor *r = redactor(extra, 2);
	check(r, "X-Api-Key: k3yk3yk3y rest", "k3yk3yk3y", "X-Api-Key: ");
	check(r, "ticket INTERNAL-123456 opened", "INTERNAL-123456", "ticket ");
	tb_redactor_free(r);

	const char *const bad[] = {"(unclosed"};
	tb_redactor *rb = NULL;
	tb_status st;
	assert_int_equal(tb_redactor_alloc(bad, 1, &rb, &st), TB_INVALID_ARGUMENT);
	assert_null(rb);
	assert_non_null(strstr(st.message, "(unclosed"));
}

static void test_literals_and_learning(void **state)
{
	tb_redactor *r = redactor(NULL, 0);
	assert_int_equal(tb_redactor_add_literal(r, "plainapikey42"), TB_OK);
	assert_int_equal(tb_redactor_add_literal(r, "ab"), TB_OK); /* too short: ignored */
	check(r, "calling with plainapikey42 now plainapikey42", "plainapikey42", "now");
	char *out = tb_redact_str(r, "abab", NULL);
	assert_string_equal(out, "abab");
	free(out);

	const char kubeconfig[] = "users:\n- name: ci\n  user:\n    token: opaque-7Hq2LmX9\n";
	assert_int_equal(tb_redactor_learn(r, kubeconfig, strlen(kubeconfig)), TB_OK);
	/* The learnt value is caught where no key announces it. */
	check(r, "request header X-Foo: opaque-7Hq2LmX9 sent", "opaque-7Hq2LmX9", "sent");
	tb_redactor_free(r);
}

/* Bytes after a NUL are still redacted, and the length is respected. */
static void test_binary_text(void **state)
{
	tb_redactor *r = redactor(NULL, 0);
	const char text[] = "head\0Authorization: Bearer zzzsecretzzz\nIGNORED-AFTER-LEN";
	size_t len = sizeof("head\0Authorization: Bearer zzzsecretzzz\n") - 1;
	size_t count = 0;
	char *out = tb_redact(r, text, len, &count);
	assert_non_null(out);
	assert_int_equal(count, 1);
	assert_memory_equal(out, "head\0Authorization: [REDACTED]\n", 31);
	free(out);
	tb_redactor_free(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_builtin_kinds),
		cmocka_unit_test(test_no_false_positives),
		cmocka_unit_test(test_extra_patterns),
		cmocka_unit_test(test_literals_and_learning),
		cmocka_unit_test(test_binary_text),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
