/* The minimal executor of docs/components.md, started as a process and called. */
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>

#include "bus_fixture.h"

extern char **environ;

static int run_command(tb_conn *conn, const char *command, Testbus__V1__ExecutionResult **outp,
                       tb_status *st)
{
	Testbus__V1__ExecutionTarget t = TESTBUS__V1__EXECUTION_TARGET__INIT;
	Testbus__V1__ExecutionTarget__LabelsEntry e = TESTBUS__V1__EXECUTION_TARGET__LABELS_ENTRY__INIT;
	Testbus__V1__ExecutionTarget__LabelsEntry *ep = &e;
	e.key = "command";
	e.value = (char *)command;
	t.labels = &ep;
	t.n_labels = 1;
	tb_call_opts opts = {.deadline_ms = 10000};
	return tb_executor_execute(conn, &t, outp, &opts, st);
}

static void test_minimal_executor_runs_commands(void **state)
{
	struct fixture f;
	(void)state;
	fixture_dir(&f);
	char path[512];
	snprintf(path, sizeof(path), "%s/testbus-example-minimal-executor", getenv("TESTBUS_BIN_DIR"));
	char *argv[] = {path, "--listen", f.url, NULL};
	pid_t pid;
	assert_int_equal(posix_spawn(&pid, path, NULL, NULL, argv, environ), 0);
	tb_status st;
	assert_int_equal(tb_conn_open(f.url, NULL, &f.conn, &st), TB_OK);
	Testbus__V1__ComponentInfo *info = NULL;
	assert_int_equal(tb_handshake(f.conn, 10000, &info, &st), TB_OK);
	assert_string_equal(info->name, "minimal");
	testbus__v1__component_info__free_unpacked(info, NULL);
	Testbus__V1__ExecutionResult *r = NULL;
	assert_int_equal(run_command(f.conn, "true", &r, &st), TB_OK);
	assert_true(r->success);
	testbus__v1__execution_result__free_unpacked(r, NULL);
	assert_int_equal(run_command(f.conn, "exit 3", &r, &st), TB_OK);
	assert_false(r->success);
	assert_int_equal(r->exit_code, 3);
	assert_int_equal(r->summary->failed, 1);
	testbus__v1__execution_result__free_unpacked(r, NULL);
	Testbus__V1__ExecutionTarget empty = TESTBUS__V1__EXECUTION_TARGET__INIT;
	assert_int_equal(tb_executor_execute(f.conn, &empty, &r, NULL, &st), TB_INVALID_ARGUMENT);
	kill(pid, SIGTERM);
	int status;
	waitpid(pid, &status, 0);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	fixture_done(&f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_minimal_executor_runs_commands),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
