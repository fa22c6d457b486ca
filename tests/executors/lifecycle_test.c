/* Executor lifecycles over the bus: timeout, Cancel, huge logs, capacity, progress events. */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "exec_fixture.h"
#include "proc_scan.h"
#include "process.h"

static pid_t read_pid(const char *dir, const char *name)
{
	char *path = NULL, *text;
	pid_t pid;

	assert_true(asprintf(&path, "%s/%s", dir, name) > 0);
	assert_true(exec_wait_file(path, 5000));
	text = exec_slurp(path);
	assert_non_null(text);
	pid = (pid_t)atoi(text);
	free(text);
	free(path);
	assert_true(pid > 0);
	return pid;
}

/* A hung suite that ignores SIGTERM, with a child that does too: killed at its timeout. */
static void test_timeout_no_orphans(void **state)
{
	exec_fixture f = {0};
	exec_target t = {.timeout_ms = 1000};
	Testbus__V1__ExecutionResult *r = NULL;
	const char *dir;
	pid_t leader, child;
	tb_status st;

	(void)state;
	exec_start(&f, "shell",
	           "script: |\n"
	           "  echo $$ > \"$TESTBUS_ARTIFACTS_DIR/leader\"\n"
	           "  (trap '' TERM; sleep 300) &\n"
	           "  echo $! > \"$TESTBUS_ARTIFACTS_DIR/child\"\n"
	           "  trap '' TERM\n"
	           "  sleep 300\n"
	           "grace: 300ms\n",
	           1);
	assert_int_equal(exec_call(&f, &t, &r, &st), TB_OK);
	assert_true(r->timed_out);
	assert_false(r->cancelled);
	assert_false(r->success);
	assert_int_equal(r->exit_code, -1);
	assert_string_equal(r->error, "timed out after 1000 ms");
	assert_int_equal(exec_meta_int(r, "killed"), 1);
	assert_int_equal(r->summary->errors, 1);
	dir = exec_meta_string(r, "artifacts_dir");
	leader = read_pid(dir, "leader");
	child = read_pid(dir, "child");
	assert_false(proc_live(leader));
	assert_false(proc_live(child));
	assert_int_equal(tb_process_group_count(leader), 0);
	protobuf_c_message_free_unpacked(&r->base, NULL);
	exec_stop(&f);
}

typedef struct bg_call {
	exec_fixture *f;
	exec_target t;
	Testbus__V1__ExecutionResult *r;
	tb_status st;
	int rv;
	pthread_t th;
} bg_call;

static void *bg_call_run(void *arg)
{
	bg_call *c = arg;

	c->rv = exec_call(c->f, &c->t, &c->r, &c->st);
	return NULL;
}

static void bg_start(bg_call *c, exec_fixture *f)
{
	c->f = f;
	assert_int_equal(pthread_create(&c->th, NULL, bg_call_run, c), 0);
}

static void bg_join(bg_call *c)
{
	pthread_join(c->th, NULL);
	if (c->rv != TB_OK)
		fail_msg("Execute failed: %s", c->st.message);
}

/* Cancel mid-run: the suite's group is gone and the result says cancelled. */
static void test_cancel_mid_run(void **state)
{
	exec_fixture f = {0};
	bg_call c = {0};
	char *yaml = NULL, *started = NULL;
	int found = 0;
	pid_t leader;
	tb_status st;

	(void)state;
	exec_dir(&f);
	assert_true(asprintf(&started, "%s/leader", f.dir) > 0);
	assert_true(asprintf(&yaml, "script: 'echo $$ > %s; sleep 300'\n", started) > 0);
	exec_start(&f, "shell", yaml, 1);
	c.t.call_id = tb_new_call_id();
	bg_start(&c, &f);
	leader = read_pid(f.dir, "leader");
	assert_true(proc_live(leader));
	assert_int_equal(tb_cancel(f.conn, c.t.call_id, &found, &st), TB_OK);
	assert_int_equal(found, 1);
	bg_join(&c);
	assert_true(c.r->cancelled);
	assert_false(c.r->timed_out);
	assert_false(c.r->success);
	assert_string_equal(c.r->error, "cancelled");
	assert_false(proc_live(leader));
	assert_int_equal(tb_process_group_count(leader), 0);
	protobuf_c_message_free_unpacked(&c.r->base, NULL);
	exec_stop(&f);
	free(yaml);
	free(started);
}

/* Stopping the executor mid-call ends the suite's group; the executor exits cleanly. */
static void test_executor_stop_ends_suite(void **state)
{
	exec_fixture f = {0};
	bg_call c = {0};
	char *yaml = NULL;
	pid_t leader, child;
	int status = -1;

	(void)state;
	exec_dir(&f);
	assert_true(asprintf(&yaml,
	                     "script: 'sleep 300 & echo $! > %s/child; echo $$ > %s/leader; wait'\n"
	                     "grace: 300ms\n",
	                     f.dir, f.dir) > 0);
	exec_start(&f, "shell", yaml, 1);
	bg_start(&c, &f);
	leader = read_pid(f.dir, "leader");
	child = read_pid(f.dir, "child");
	assert_int_equal(kill(f.pid, SIGTERM), 0);
	assert_int_equal(waitpid(f.pid, &status, 0), f.pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	f.pid = 0;
	pthread_join(c.th, NULL);
	if (c.rv == TB_OK) {
		assert_true(c.r->cancelled);
		protobuf_c_message_free_unpacked(&c.r->base, NULL);
	}
	assert_false(proc_live(leader));
	assert_false(proc_live(child));
	exec_stop(&f);
	free(yaml);
}

/* 50 MB of output: the log is capped, the tail kept, and the executor answers meanwhile. */
static void test_huge_log_capped(void **state)
{
	exec_fixture f = {0};
	bg_call c = {0};
	Testbus__V1__Empty empty = TESTBUS__V1__EMPTY__INIT;
	int healthy = 0;
	struct stat sb;
	tb_status st;

	(void)state;
	exec_start(&f, "shell",
	           "script: |\n"
	           "  for i in $(seq 50); do head -c 1048576 /dev/zero | tr '\\0' x | fold -w 99; "
	           "sleep 0.02; done\n"
	           "  echo LAST-LINE\n"
	           "max_log_bytes: 1MiB\n"
	           "tail_bytes: 4KiB\n",
	           1);
	bg_start(&c, &f);
	for (;;) {
		Testbus__V1__ComponentHealth *h = NULL;
		tb_call_opts o = {.deadline_ms = 2000};
		if (tb_component_health(f.conn, &empty, &h, &o, &st) != TB_OK)
			fail_msg("Health during a noisy run: %s", st.message);
		healthy += h->running == 1;
		protobuf_c_message_free_unpacked(&h->base, NULL);
		if (pthread_tryjoin_np(c.th, NULL) == 0)
			break;
		nanosleep(&(struct timespec){0, 50 * 1000 * 1000}, NULL);
	}
	assert_int_equal(c.rv, TB_OK);
	assert_true(healthy >= 1);
	assert_true(c.r->success);
	assert_true(exec_meta_int(c.r, "stdout_bytes") > 50 * 1048576);
	assert_int_equal(exec_meta_int(c.r, "log_truncated"), 1);
	assert_true(exec_meta_int(c.r, "log_events_dropped") > 0);
	assert_true(strlen(c.r->stdout_tail) <= 4096);
	assert_non_null(strstr(c.r->stdout_tail, "LAST-LINE\n"));
	assert_int_equal(stat(c.r->artifacts[0]->uri, &sb), 0);
	assert_true(sb.st_size <= 1048576 + 100);
	protobuf_c_message_free_unpacked(&c.r->base, NULL);
	exec_stop(&f);
}

/* An executor of capacity 4 runs 4 targets at once. */
static void test_capacity_four(void **state)
{
	exec_fixture f = {0};
	bg_call c[4] = {0};
	int64_t last_start = 0, first_end = INT64_MAX;

	(void)state;
	exec_start(&f, "shell", "command: [sleep, '1']\n", 4);
	for (int i = 0; i < 4; i++)
		bg_start(&c[i], &f);
	for (int i = 0; i < 4; i++) {
		bg_join(&c[i]);
		assert_true(c[i].r->success);
		if (c[i].r->start_time > last_start)
			last_start = c[i].r->start_time;
		if (c[i].r->end_time < first_end)
			first_end = c[i].r->end_time;
	}
	/* Every run started before any ended: they overlapped. */
	assert_true(last_start < first_end);
	for (int i = 0; i < 4; i++)
		protobuf_c_message_free_unpacked(&c[i].r->base, NULL);
	exec_stop(&f);
}

/*
 * Progress events: started, each output line, the test's verdict, finished.
 * Events are best effort (a push that would block is dropped), so this checks
 * that they come, are well formed and in order, not that every one arrives.
 */
static void test_progress_events(void **state)
{
	exec_fixture f = {0};
	exec_target t = {.call_id = tb_new_call_id(), .target_id = "evented"};
	Testbus__V1__ExecutionResult *r = NULL;
	int count = 0, last_kind = 0;
	tb_status st;

	(void)state;
	exec_start(&f, "shell", "script: 'echo one; echo two >&2'\n", 1);
	assert_int_equal(exec_call(&f, &t, &r, &st), TB_OK);
	for (;;) {
		Testbus__V1__Event *ev = NULL;
		bool done;
		if (tb_events_recv(f.events, 1000, &ev) != TB_OK)
			break;
		assert_int_equal(ev->call_id, t.call_id);
		assert_string_equal(ev->component, "shell");
		assert_true(ev->time > 0);
		assert_true((int)ev->kind >= last_kind || ev->kind == TESTBUS__V1__EVENT_KIND__EVENT_LOG);
		if (ev->kind == TESTBUS__V1__EVENT_KIND__EVENT_LOG)
			assert_true(strcmp(ev->message, "one") == 0 || strcmp(ev->message, "[stderr] two") == 0);
		if (ev->kind == TESTBUS__V1__EVENT_KIND__EVENT_TEST_PASSED)
			assert_string_equal(ev->test_name, "evented");
		if (ev->kind == TESTBUS__V1__EVENT_KIND__EVENT_FINISHED)
			assert_string_equal(ev->message, "passed: 1 tests, 1 passed, 0 failed, 0 errors, 0 skipped");
		if (ev->kind != TESTBUS__V1__EVENT_KIND__EVENT_LOG)
			last_kind = (int)ev->kind;
		done = ev->kind == TESTBUS__V1__EVENT_KIND__EVENT_FINISHED;
		count++;
		protobuf_c_message_free_unpacked(&ev->base, NULL);
		if (done)
			break;
	}
	assert_true(count >= 1);
	protobuf_c_message_free_unpacked(&r->base, NULL);
	exec_stop(&f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_timeout_no_orphans), cmocka_unit_test(test_cancel_mid_run),
		cmocka_unit_test(test_executor_stop_ends_suite),
		cmocka_unit_test(test_huge_log_capped),    cmocka_unit_test(test_capacity_four),
		cmocka_unit_test(test_progress_events),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
