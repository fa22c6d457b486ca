/* An executor killed with SIGKILL mid-Execute leaves none of its suite's processes running. */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "exec_fixture.h"
#include "proc_scan.h"
#include "process.h"

#define ORPHAN_WAIT_MS 30000u /* bound on waiting for the suite to start, then to end */

#define ORPHAN_MAX_CALLS 4

/* An Execute call on its own thread, ended by closing the connection. */
typedef struct orphan_call {
	exec_fixture *f;
	char target_id[32];
	Testbus__V1__ExecutionResult *r;
	tb_status st;
	int rv;
	pthread_t th;
} orphan_call;

static void *orphan_call_run(void *arg)
{
	orphan_call *c = arg;
	exec_target t = {.target_id = c->target_id, .deadline_ms = 120000};

	c->rv = exec_call(c->f, &t, &c->r, &c->st);
	return NULL;
}

/* Ends the calls in flight by closing the connection, and joins them. */
static void orphan_calls_end(exec_fixture *f, orphan_call *calls, unsigned n)
{
	tb_conn_close(f->conn);
	f->conn = NULL;
	for (unsigned i = 0; i < n; i++) {
		pthread_join(calls[i].th, NULL);
		if (calls[i].rv == TB_OK)
			protobuf_c_message_free_unpacked(&calls[i].r->base, NULL);
	}
}

/*
 * Waits for the suite of each call to write "<leader> <child>" to
 * <dir>/pids-<target id>; adds those pids to suite, and each leader to
 * leaders. Fails with the executor's log when one does not.
 */
static size_t orphan_suites_started(exec_fixture *f, const char *name, orphan_call *calls,
                                    unsigned n, pid_t *suite, pid_t *leaders)
{
	size_t n_suite = 0;

	for (unsigned i = 0; i < n; i++) {
		char *path = NULL;
		size_t got;
		assert_true(asprintf(&path, "%s/pids-%s", f->dir, calls[i].target_id) > 0);
		got = proc_read_pids(path, suite + n_suite, PROC_SCAN_MAX - n_suite, ORPHAN_WAIT_MS);
		free(path);
		if (got < 2) {
			orphan_calls_end(f, calls, n);
			exec_sh("cat %s/executor.log >&2", f->dir);
			kill(f->pid, SIGKILL); /* leave no executor behind a failed test */
			waitpid(f->pid, NULL, 0);
			f->pid = 0;
			fail_msg("the %s suite of call %u did not start", name, i);
		}
		leaders[i] = suite[n_suite];
		n_suite += got;
	}
	return n_suite;
}

/*
 * Starts executor `name` with config yaml and capacity `calls`, makes that
 * many Execute calls at once, and once every suite runs kills the executor
 * (only it) with SIGKILL. Then every process the executor had started (each
 * suite's whole tree, and the guards) must end, and the executor's log must
 * say that its guards ended the groups.
 */
static void kill_executor_mid_execute(exec_fixture *f, const char *name, const char *yaml,
                                      unsigned calls)
{
	pid_t suite[PROC_SCAN_MAX], tree[PROC_SCAN_MAX], leaders[ORPHAN_MAX_CALLS];
	orphan_call c[ORPHAN_MAX_CALLS] = {0};
	size_t n_suite, n_tree;
	char *log_path = NULL, *log;
	int status;

	assert_true(calls >= 1 && calls <= ORPHAN_MAX_CALLS);
	exec_start(f, name, yaml, calls);
	for (unsigned i = 0; i < calls; i++) {
		c[i].f = f;
		snprintf(c[i].target_id, sizeof(c[i].target_id), "orphan-%u", i);
		assert_int_equal(pthread_create(&c[i].th, NULL, orphan_call_run, &c[i]), 0);
	}
	n_suite = orphan_suites_started(f, name, c, calls, suite, leaders);
	n_tree = proc_descendants(f->pid, tree, PROC_SCAN_MAX);
	/* Per call: the suite's leader, its sleeping child and the guard, at least. */
	assert_true(n_tree >= 3 * calls);
	for (size_t i = 0; i < n_suite; i++)
		assert_true(proc_live(suite[i]));

	assert_int_equal(kill(f->pid, SIGKILL), 0);
	assert_int_equal(waitpid(f->pid, &status, 0), f->pid);
	assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
	f->pid = 0;
	orphan_calls_end(f, c, calls);
	for (unsigned i = 0; i < calls; i++)
		assert_int_not_equal(c[i].rv, TB_OK);

	assert_int_equal(proc_wait_ended(suite, n_suite, ORPHAN_WAIT_MS), 0);
	assert_int_equal(proc_wait_ended(tree, n_tree, ORPHAN_WAIT_MS), 0);
	for (unsigned i = 0; i < calls; i++)
		assert_int_equal(tb_process_group_count(leaders[i]), 0);
	assert_true(asprintf(&log_path, "%s/executor.log", f->dir) > 0);
	log = exec_slurp(log_path);
	assert_non_null(log);
	assert_non_null(strstr(log, "testbus process guard: the runner of process group"));
	free(log);
	free(log_path);
}

/* The line a suite runs to record "<leader> <sleeping child>" in <dir>/pids-<target id>. */
static char *pids_line(const char *dir)
{
	char *line = NULL;

	assert_true(asprintf(&line,
	                     "sleep 300 & echo $$ $! > %s/pids.$$; mv %s/pids.$$ %s/pids-$TESTBUS_TARGET_ID; "
	                     "wait",
	                     dir, dir, dir) > 0);
	return line;
}

static void test_shell_executor_killed(void **state)
{
	exec_fixture f = {0};
	char *line, *yaml = NULL;

	(void)state;
	exec_dir(&f);
	line = pids_line(f.dir);
	assert_true(asprintf(&yaml, "script: '%s'\ngrace: 300ms\n", line) > 0);
	kill_executor_mid_execute(&f, "shell", yaml, 1);
	exec_stop(&f);
	free(yaml);
	free(line);
}

/* An executor running four suites at once: each has its own guard, and every group ends. */
static void test_busy_executor_killed(void **state)
{
	exec_fixture f = {0};
	char *line, *yaml = NULL;

	(void)state;
	exec_dir(&f);
	line = pids_line(f.dir);
	assert_true(asprintf(&yaml, "script: '%s'\ngrace: 300ms\n", line) > 0);
	kill_executor_mid_execute(&f, "shell", yaml, ORPHAN_MAX_CALLS);
	exec_stop(&f);
	free(yaml);
	free(line);
}

/* The first interpreter that can import pytest; NULL when none can. */
static const char *pytest_python(void)
{
	const char *candidates[] = {getenv("TESTBUS_PYTHON"), "/usr/bin/python3", "python3"};

	for (size_t i = 0; i < sizeof(candidates) / sizeof(candidates[0]); i++)
		if (candidates[i] != NULL &&
		    exec_sh("'%s' -c 'import pytest' 2>/dev/null", candidates[i]) == 0)
			return candidates[i];
	return NULL;
}

/* pytest itself leads the group; the test it runs starts the sleeping child. */
static void test_pytest_executor_killed(void **state)
{
	exec_fixture f = {0};
	const char *python = pytest_python();
	char *suite_dir = NULL, *py = NULL, *yaml = NULL, *path;

	(void)state;
	if (python == NULL)
		fail_msg("no python3 with pytest found");
	exec_dir(&f);
	assert_true(asprintf(&suite_dir, "%s/suite", f.dir) > 0);
	assert_int_equal(mkdir(suite_dir, 0700), 0);
	assert_true(asprintf(&py,
	                     "import os, subprocess\n"
	                     "def test_hang():\n"
	                     "    child = subprocess.Popen(['sleep', '300'])\n"
	                     "    with open('%s/pids.tmp', 'w') as f:\n"
	                     "        f.write('%%d %%d\\n' %% (os.getpid(), child.pid))\n"
	                     "    os.rename('%s/pids.tmp', '%s/pids-' + os.environ['TESTBUS_TARGET_ID'])\n"
	                     "    child.wait()\n",
	                     f.dir, f.dir, f.dir) > 0);
	path = exec_write(suite_dir, "test_hang.py", py);
	assert_true(asprintf(&yaml, "python: '%s'\nworkdir: '%s'\npaths: ['%s']\ngrace: 300ms\n", python,
	                     suite_dir, path) > 0);
	kill_executor_mid_execute(&f, "pytest", yaml, 1);
	exec_stop(&f);
	free(yaml);
	free(path);
	free(py);
	free(suite_dir);
}

/* A stand-in for the ginkgo CLI: the executor's path to the runner is what is tested. */
static void test_ginkgo_executor_killed(void **state)
{
	exec_fixture f = {0};
	char *line, *script = NULL, *yaml = NULL, *path;

	(void)state;
	exec_dir(&f);
	line = pids_line(f.dir);
	assert_true(asprintf(&script, "#!/bin/sh\n%s\n", line) > 0);
	path = exec_write(f.dir, "ginkgo", script);
	assert_int_equal(chmod(path, 0700), 0);
	assert_true(asprintf(&yaml, "ginkgo: '%s'\ngrace: 300ms\n", path) > 0);
	kill_executor_mid_execute(&f, "ginkgo", yaml, 1);
	exec_stop(&f);
	free(yaml);
	free(path);
	free(script);
	free(line);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_shell_executor_killed),
		cmocka_unit_test(test_busy_executor_killed),
		cmocka_unit_test(test_pytest_executor_killed),
		cmocka_unit_test(test_ginkgo_executor_killed),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
