/* Tests of the process guard: a killed runner leaves no suite process behind, and no guard. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <errno.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "proc_scan.h"
#include "process.h"

#define GUARD_TEST_WAIT_MS 30000u /* bound on waiting for processes to end */

static char tmpdir[] = "/tmp/tb-guard-test-XXXXXX";

/* A fresh path in the test's folder; caller frees. */
static char *tmp_path(const char *name)
{
	static unsigned seq;
	char *path = NULL;

	assert_true(asprintf(&path, "%s/%u-%s", tmpdir, ++seq, name) > 0);
	return path;
}

/*
 * A runner process, in a process group of its own as a component is: runs
 * script through tb_process_run and exits with 0 when the run returned TB_OK.
 */
static pid_t start_runner(const char *script, uint32_t linger_ms)
{
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid == 0) {
		const char *argv[] = {"sh", "-c", script, NULL};
		tb_process_opts o = {.argv = argv, .grace_ms = 300, .linger_ms = linger_ms};
		tb_process_result res;
		tb_status st;
		int rv;

		setpgid(0, 0);
		rv = tb_process_run(&o, &res, &st);
		tb_process_result_fini(&res);
		_exit(rv == TB_OK ? 0 : 1);
	}
	setpgid(pid, pid); /* also here, so the group exists whichever runs first */
	return pid;
}

/*
 * Kills the runner's whole group with SIGKILL, as the broker ends a
 * component, while the suite's processes (pids) run; checks that the guard
 * then ends every one of them, and itself.
 */
static void kill_runner_check_ended(pid_t runner, const char *pids_path)
{
	pid_t suite[PROC_SCAN_MAX], tree[PROC_SCAN_MAX], kids[PROC_SCAN_MAX], guard = 0;
	size_t n_suite = proc_read_pids(pids_path, suite, PROC_SCAN_MAX, GUARD_TEST_WAIT_MS);
	size_t n_tree, n_kids;
	int status;

	assert_true(n_suite >= 2);
	n_kids = proc_children(runner, kids, PROC_SCAN_MAX);
	for (size_t i = 0; i < n_kids; i++)
		if (kids[i] != suite[0])
			guard = kids[i];
	/* The runner's children: the suite's leader (maybe exited already) and the guard. */
	assert_true(n_kids == 1 || n_kids == 2);
	assert_true(guard > 0);
	assert_int_equal(proc_pgid(guard), guard); /* outside the runner's group */
	n_tree = proc_descendants(runner, tree, PROC_SCAN_MAX);
	for (size_t i = 1; i < n_suite; i++)
		assert_true(proc_live(suite[i]));

	assert_int_equal(kill(-runner, SIGKILL), 0);
	assert_int_equal(waitpid(runner, &status, 0), runner);
	assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);

	assert_int_equal(proc_wait_ended(suite, n_suite, GUARD_TEST_WAIT_MS), 0);
	assert_int_equal(proc_wait_ended(tree, n_tree, GUARD_TEST_WAIT_MS), 0);
	assert_int_equal(proc_wait_ended(&guard, 1, GUARD_TEST_WAIT_MS), 0);
	assert_int_equal(tb_process_group_count(suite[0]), 0);
}

/* The runner dies mid-run: the suite, its children and one that ignores SIGTERM all end. */
static void test_runner_killed_mid_run(void **state)
{
	char *pids = tmp_path("pids"), *script = NULL;
	pid_t runner;

	(void)state;
	assert_true(asprintf(&script,
	                     "sleep 300 & a=$!; (trap '' TERM; sleep 300) & b=$!; "
	                     "echo $$ $a $b > %s.tmp; mv %s.tmp %s; wait",
	                     pids, pids, pids) > 0);
	runner = start_runner(script, 0);
	kill_runner_check_ended(runner, pids);
	free(script);
	free(pids);
}

/* The runner dies while the suite's leader has exited and a job it left lingers. */
static void test_runner_killed_while_lingering(void **state)
{
	char *pids = tmp_path("pids"), *script = NULL;
	pid_t runner;

	(void)state;
	assert_true(asprintf(&script, "sleep 300 & echo $$ $! > %s.tmp; mv %s.tmp %s; exit 0", pids,
	                     pids, pids) > 0);
	runner = start_runner(script, 120000);
	kill_runner_check_ended(runner, pids);
	free(script);
	free(pids);
}

/* The number of children of this process, zombies included. */
static size_t own_children(void)
{
	pid_t kids[PROC_SCAN_MAX];

	return proc_children(getpid(), kids, PROC_SCAN_MAX);
}

static bool stop_now(void *arg)
{
	(void)arg;
	return true;
}

/* However a run ends, its guard is gone when tb_process_run returns. */
static void test_guard_reaped_on_every_path(void **state)
{
	const char *ok[] = {"sh", "-c", "exit 3", NULL}, *hang[] = {"sleep", "60", NULL},
	           *missing[] = {"testbus-no-such-command", NULL};
	tb_process_opts runs[] = {
		{.argv = ok},
		{.argv = hang, .timeout_ms = 100, .grace_ms = 300},
		{.argv = hang, .should_stop = stop_now, .grace_ms = 300},
		{.argv = missing},
	};
	tb_process_result res;
	tb_status st;

	(void)state;
	assert_int_equal(own_children(), 0);
	for (size_t i = 0; i < sizeof(runs) / sizeof(runs[0]); i++) {
		int rv = tb_process_run(&runs[i], &res, &st);
		assert_int_equal(rv, i == 3 ? TB_NOT_FOUND : TB_OK);
		assert_int_equal(own_children(), 0);
		tb_process_result_fini(&res);
	}
}

static int group_setup(void **state)
{
	(void)state;
	return mkdtemp(tmpdir) == NULL;
}

static int group_teardown(void **state)
{
	char *cmd = NULL;

	(void)state;
	if (asprintf(&cmd, "rm -rf %s", tmpdir) > 0 && system(cmd) != 0)
		fprintf(stderr, "cannot remove %s\n", tmpdir);
	free(cmd);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_runner_killed_mid_run),
		cmocka_unit_test(test_runner_killed_while_lingering),
		cmocka_unit_test(test_guard_reaped_on_every_path),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
