/* The shell executor over the bus: a bats suite, environment and labels, verdicts, reports. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "exec_fixture.h"

/* Counts a TAP stream the way bats itself reports it. */
static void tap_counts(const char *tap, unsigned *passed, unsigned *failed, unsigned *skipped)
{
	*passed = *failed = *skipped = 0;
	for (const char *line = tap; line != NULL && *line != '\0';) {
		const char *nl = strchr(line, '\n');
		size_t len = nl ? (size_t)(nl - line) : strlen(line);
		char buf[512];
		snprintf(buf, sizeof(buf), "%.*s", (int)len, line);
		if (strncmp(buf, "not ok ", 7) == 0)
			(*failed)++;
		else if (strncmp(buf, "ok ", 3) == 0 && strstr(buf, " # skip") != NULL)
			(*skipped)++;
		else if (strncmp(buf, "ok ", 3) == 0)
			(*passed)++;
		line = nl ? nl + 1 : NULL;
	}
}

/* A real bats suite: counts match bats' own TAP summary; label picks the file. */
static void test_bats_suite(void **state)
{
	exec_fixture f = {0};
	char *yaml = NULL;
	const char *labels[] = {"suite", "sample", NULL};
	exec_target t = {.labels = labels, .target_id = "bats-sample"};
	Testbus__V1__ExecutionResult *r = NULL;
	unsigned passed, failed, skipped;
	tb_status st;

	(void)state;
	assert_true(asprintf(&yaml,
	                     "command: [bats, --formatter, tap, --report-formatter, junit, --output,"
	                     " '{artifacts_dir}', '%s/bats/{suite}.bats']\n"
	                     "junit: ['{artifacts_dir}/report.xml']\n",
	                     exec_suites_dir()) > 0);
	exec_start(&f, "shell", yaml, 1);
	assert_int_equal(exec_call(&f, &t, &r, &st), TB_OK);
	tap_counts(r->stdout_tail, &passed, &failed, &skipped);
	assert_int_equal(passed + failed + skipped, 5);
	assert_int_equal(r->summary->total, 5);
	assert_int_equal(r->summary->passed, passed);
	assert_int_equal(r->summary->failed, failed);
	assert_int_equal(r->summary->skipped, skipped);
	assert_int_equal(r->summary->errors, 0);
	assert_false(r->success);
	assert_int_equal(r->exit_code, 1);
	assert_string_equal(r->error, "");
	assert_non_null(strstr(exec_case(r, "fails on purpose")->output, "[ 1 -eq 2 ]"));
	assert_string_equal(exec_case(r, "skipped on purpose")->message, "not relevant here");
	assert_int_equal(exec_meta_int(r, "junit_files"), 1);
	assert_int_equal(r->n_artifacts, 3); /* stdout.log, stderr.log, report.xml */
	assert_non_null(strstr(r->artifacts[2]->uri, "/bats-sample-1/report.xml"));
	assert_int_equal(r->n_labels, 1);
	protobuf_c_message_free_unpacked(&r->base, NULL);
	exec_stop(&f);
	free(yaml);
}

/* The example suite the default pipeline runs passes through the shell executor. */
static void test_example_suite(void **state)
{
	exec_fixture f = {0};
	char *yaml = NULL;
	exec_target t = {.target_id = "example", .kubeconfig = "apiVersion: v1\n"};
	Testbus__V1__ExecutionResult *r = NULL;
	tb_status st;

	(void)state;
	assert_true(asprintf(&yaml,
	                     "command: [sh, '%s/suite/run.sh']\n"
	                     "junit: ['{artifacts_dir}/example-junit.xml']\n",
	                     getenv("TESTBUS_EXAMPLES_DIR")) > 0);
	exec_start(&f, "shell", yaml, 1);
	assert_int_equal(exec_call(&f, &t, &r, &st), TB_OK);
	assert_true(r->success);
	assert_int_equal(r->summary->total, 5);
	assert_int_equal(r->summary->passed, 5);
	assert_non_null(exec_case(r, "kubeconfig is private when present"));
	protobuf_c_message_free_unpacked(&r->base, NULL);
	exec_stop(&f);
	free(yaml);
}

/* Labels as env vars and {placeholders}; KUBECONFIG is a 0600 copy removed afterwards. */
static void test_env_labels_kubeconfig(void **state)
{
	exec_fixture f = {0};
	const char *yaml =
	    "script: |\n"
	    "  echo \"mode=$(stat -c %a \"$KUBECONFIG\") path=$KUBECONFIG\"\n"
	    "  echo \"kube=$(cat \"$KUBECONFIG\")\"\n"
	    "  echo \"label=$TESTBUS_LABEL_SUITE_NAME sub={suite-name} attempt={attempt} run=$TESTBUS_RUN_ID\"\n"
	    "  echo \"awk=$(echo 'a b' | awk '{print $2}') brace={{x}} env=$FROM_CONFIG\"\n"
	    "env:\n"
	    "  FROM_CONFIG: 'cfg-{suite-name}'\n";
	const char *labels[] = {"suite-name", "alpha", NULL};
	exec_target t = {.labels = labels, .kubeconfig = "apiVersion: v1\nkind: Config\n"};
	Testbus__V1__ExecutionResult *r = NULL;
	char path[512] = "";
	const char *p;
	tb_status st;

	(void)state;
	exec_start(&f, "shell", yaml, 1);
	assert_int_equal(exec_call(&f, &t, &r, &st), TB_OK);
	assert_true(r->success);
	assert_non_null(strstr(r->stdout_tail, "mode=600 path=/"));
	assert_non_null(strstr(r->stdout_tail, "kube=apiVersion: v1\nkind: Config\n"));
	assert_non_null(strstr(r->stdout_tail, "label=alpha sub=alpha attempt=1 run=run-test\n"));
	assert_non_null(strstr(r->stdout_tail, "awk=b brace={x} env=cfg-alpha\n"));
	assert_non_null(p = strstr(r->stdout_tail, "path="));
	sscanf(p + 5, "%511s", path);
	assert_int_not_equal(access(path, F_OK), 0); /* removed after the run */
	assert_int_equal(r->summary->total, 1);
	assert_true(r->test_cases[0]->synthetic);
	assert_int_equal(r->test_cases[0]->status, TESTBUS__V1__TEST_STATUS__TEST_PASSED);
	protobuf_c_message_free_unpacked(&r->base, NULL);

	/* Without a kubeconfig in the target, none leaks in from the executor. */
	t.kubeconfig = NULL;
	setenv("KUBECONFIG", "/should/not/leak", 1);
	exec_stop(&f);
	exec_start(&f, "shell", "script: 'echo \"kc=[${KUBECONFIG-unset}]\"'\n", 1);
	assert_int_equal(exec_call(&f, &t, &r, &st), TB_OK);
	assert_non_null(strstr(r->stdout_tail, "kc=[unset]"));
	protobuf_c_message_free_unpacked(&r->base, NULL);
	unsetenv("KUBECONFIG");
	exec_stop(&f);
}

/* Without JUnit, one synthetic test case carries the exit status. */
static void test_exit_status_case(void **state)
{
	exec_fixture f = {0};
	exec_target t = {.target_id = "smoke"};
	Testbus__V1__ExecutionResult *r = NULL;
	tb_status st;

	(void)state;
	exec_start(&f, "shell", "command: [sh, -c, 'echo out; echo err >&2; exit 3']\n", 1);
	assert_int_equal(exec_call(&f, &t, &r, &st), TB_OK);
	assert_false(r->success);
	assert_int_equal(r->exit_code, 3);
	assert_string_equal(r->error, ""); /* the exit status is the test's failure */
	assert_int_equal(r->summary->total, 1);
	assert_int_equal(r->summary->failed, 1);
	assert_string_equal(r->test_cases[0]->name, "smoke");
	assert_true(r->test_cases[0]->synthetic);
	assert_string_equal(r->test_cases[0]->message, "exit status 3");
	assert_non_null(strstr(r->test_cases[0]->output, "err"));
	assert_string_equal(r->stdout_tail, "out\n");
	protobuf_c_message_free_unpacked(&r->base, NULL);
	exec_stop(&f);

	/* A command that cannot start is a failed result, not a crash. */
	exec_start(&f, "shell", "command: [no-such-program-testbus]\n", 1);
	assert_int_equal(exec_call(&f, &t, &r, &st), TB_OK);
	assert_false(r->success);
	assert_int_equal(r->exit_code, -1);
	assert_non_null(strstr(r->error, "could not start"));
	assert_int_equal(r->summary->errors, 1);
	protobuf_c_message_free_unpacked(&r->base, NULL);
	exec_stop(&f);
}

/* A missing report is an error even when the suite exits 0; non-zero exit fails all-passed reports. */
static void test_junit_verdicts(void **state)
{
	exec_fixture f = {0};
	exec_target t = {0};
	Testbus__V1__ExecutionResult *r = NULL;
	tb_status st;
	const char *yaml =
	    "script: |\n"
	    "  case \"$TESTBUS_LABEL_MODE\" in\n"
	    "  write) printf '<testsuite name=\"s\"><testcase classname=\"c\" name=\"ok\"/></testsuite>' "
	    "> \"$TESTBUS_ARTIFACTS_DIR/r.xml\"; exit 4 ;;\n"
	    "  none) exit 0 ;;\n"
	    "  crash) echo 'segfault, say' >&2; exit 2 ;;\n"
	    "  bad) echo '<testsuite><testcase' > \"$TESTBUS_ARTIFACTS_DIR/r.xml\" ;;\n"
	    "  esac\n"
	    "junit: ['{artifacts_dir}/*.xml']\n";
	const char *write[] = {"mode", "write", NULL}, *none[] = {"mode", "none", NULL},
	           *bad[] = {"mode", "bad", NULL}, *crash[] = {"mode", "crash", NULL};

	(void)state;
	exec_start(&f, "shell", yaml, 1);
	t.labels = none;
	assert_int_equal(exec_call(&f, &t, &r, &st), TB_OK);
	assert_false(r->success);
	assert_int_equal(r->exit_code, 0);
	assert_int_equal(r->summary->errors, 1);
	assert_non_null(strstr(r->test_cases[0]->message, "no JUnit report matched"));
	assert_string_equal(r->error, "no JUnit report was written");
	protobuf_c_message_free_unpacked(&r->base, NULL);

	/* Non-zero exit and no report: an error case carrying the exit status and stderr. */
	t.labels = crash;
	assert_int_equal(exec_call(&f, &t, &r, &st), TB_OK);
	assert_false(r->success);
	assert_int_equal(r->exit_code, 2);
	assert_int_equal(r->summary->total, 1);
	assert_int_equal(r->summary->errors, 1);
	assert_string_equal(r->test_cases[0]->name, "JUnit report");
	assert_true(r->test_cases[0]->synthetic);
	assert_non_null(strstr(r->test_cases[0]->message, "exit status 2"));
	assert_non_null(strstr(r->test_cases[0]->output, "segfault, say"));
	assert_string_equal(r->error, "exit status 2");
	protobuf_c_message_free_unpacked(&r->base, NULL);

	t.labels = write;
	assert_int_equal(exec_call(&f, &t, &r, &st), TB_OK);
	assert_false(r->success);
	assert_int_equal(r->summary->total, 1);
	assert_int_equal(r->summary->passed, 1);
	assert_string_equal(r->error, "exit status 4 although no test failed");
	protobuf_c_message_free_unpacked(&r->base, NULL);

	t.labels = bad;
	assert_int_equal(exec_call(&f, &t, &r, &st), TB_OK);
	assert_false(r->success);
	assert_int_equal(r->summary->errors, 1);
	assert_non_null(strstr(r->error, "malformed XML"));
	protobuf_c_message_free_unpacked(&r->base, NULL);
	exec_stop(&f);
}

/* The digest sha256sum computes for path, as 64 hex digits (caller frees). */
static char *sha256sum_of(const char *dir, const char *path)
{
	char *out = NULL, *text;

	assert_true(asprintf(&out, "%s/digest.txt", dir) > 0);
	assert_int_equal(exec_sh("sha256sum '%s' > '%s'", path, out), 0);
	text = exec_slurp(out);
	assert_non_null(text);
	assert_true(strlen(text) > 64);
	text[64] = '\0';
	free(out);
	return text;
}

/* Every artifact carries the SHA-256 and size of its file, several chunks long or empty. */
static void test_artifact_digests(void **state)
{
	exec_fixture f = {0};
	exec_target t = {.target_id = "digests"};
	Testbus__V1__ExecutionResult *r = NULL;
	tb_status st;

	(void)state;
	exec_start(&f, "shell",
	           "script: |\n"
	           "  head -c 300000 /dev/urandom | base64\n"
	           "  printf '<testsuite name=\"s\"><testcase classname=\"c\" name=\"ok\"/></testsuite>' "
	           "> \"$TESTBUS_ARTIFACTS_DIR/r.xml\"\n"
	           "junit: ['{artifacts_dir}/r.xml']\n"
	           "max_log_bytes: 256KiB\n",
	           1);
	assert_int_equal(exec_call(&f, &t, &r, &st), TB_OK);
	assert_true(r->success);
	assert_int_equal(exec_meta_int(r, "log_truncated"), 1);
	assert_int_equal(r->n_artifacts, 3); /* stdout.log (cut at 256 KiB), stderr.log (empty), r.xml */
	for (size_t i = 0; i < r->n_artifacts; i++) {
		const Testbus__V1__Artifact *a = r->artifacts[i];
		char *expected = sha256sum_of(f.dir, a->uri);
		struct stat sb;
		assert_int_equal(stat(a->uri, &sb), 0);
		assert_int_equal(a->size, (uint64_t)sb.st_size);
		assert_string_equal(a->sha256, expected);
		free(expected);
	}
	assert_true(r->artifacts[0]->size > 256 * 1024);
	assert_string_equal(r->artifacts[1]->sha256,
	                    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
	protobuf_c_message_free_unpacked(&r->base, NULL);
	exec_stop(&f);
}

/* A report older than the run does not count. */
static void test_stale_report_ignored(void **state)
{
	exec_fixture f = {0};
	exec_target t = {0};
	Testbus__V1__ExecutionResult *r = NULL;
	char *yaml = NULL, *old;
	tb_status st;

	(void)state;
	exec_dir(&f);
	old = exec_write(f.dir, "old.xml", "<testsuite><testcase name='stale'/></testsuite>");
	assert_int_equal(exec_sh("touch -d '1 hour ago' %s", old), 0);
	assert_true(asprintf(&yaml, "command: ['true']\njunit: ['%s/*.xml']\n", f.dir) > 0);
	exec_start(&f, "shell", yaml, 1);
	assert_int_equal(exec_call(&f, &t, &r, &st), TB_OK);
	assert_false(r->success);
	assert_null(exec_case(r, "stale"));
	assert_non_null(strstr(r->error, "older than the run"));
	protobuf_c_message_free_unpacked(&r->base, NULL);
	exec_stop(&f);
	free(yaml);
	free(old);
}

/* Bad config and bad placeholders are refused with a status naming them. */
static void test_config_errors(void **state)
{
	exec_fixture f = {0};
	Testbus__V1__ComponentConfig cfg = TESTBUS__V1__COMPONENT_CONFIG__INIT;
	Testbus__V1__ComponentConfig__ConfigEntry e = TESTBUS__V1__COMPONENT_CONFIG__CONFIG_ENTRY__INIT,
	                                          *ep = &e;
	Testbus__V1__Value v = TESTBUS__V1__VALUE__INIT;
	Testbus__V1__Empty *empty = NULL;
	Testbus__V1__ExecutionResult *r = NULL;
	exec_target t = {0};
	tb_status st;

	(void)state;
	exec_start(&f, "shell", NULL, 1);
	assert_int_equal(exec_call(&f, &t, &r, &st), TB_FAILED_PRECONDITION);
	assert_non_null(strstr(st.message, "no command or script"));
	e.key = "comand";
	e.value = &v;
	v.kind_case = TESTBUS__V1__VALUE__KIND_STRING_VALUE;
	v.string_value = "true";
	cfg.config = &ep;
	cfg.n_config = 1;
	assert_int_equal(tb_component_configure(f.conn, &cfg, &empty, NULL, &st), TB_INVALID_ARGUMENT);
	assert_non_null(strstr(st.message, "comand"));
	e.key = "script";
	v.string_value = "echo {nolabel}";
	assert_int_equal(tb_component_configure(f.conn, &cfg, &empty, NULL, &st), TB_OK);
	protobuf_c_message_free_unpacked(&empty->base, NULL);
	assert_int_equal(exec_call(&f, &t, &r, &st), TB_INVALID_ARGUMENT);
	assert_non_null(strstr(st.message, "{nolabel}"));
	e.key = "timeout";
	v.string_value = "soon";
	assert_int_equal(tb_component_configure(f.conn, &cfg, &empty, NULL, &st), TB_INVALID_ARGUMENT);
	assert_non_null(strstr(st.message, "duration"));
	exec_stop(&f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bats_suite),         cmocka_unit_test(test_example_suite),
		cmocka_unit_test(test_env_labels_kubeconfig),
		cmocka_unit_test(test_exit_status_case),   cmocka_unit_test(test_junit_verdicts),
		cmocka_unit_test(test_stale_report_ignored), cmocka_unit_test(test_config_errors),
		cmocka_unit_test(test_artifact_digests),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
