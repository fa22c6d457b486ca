/* Unit tests of the process runner with real child processes (sh, sleep, head). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/stat.h>
#include <unistd.h>

#include "proc_scan.h"
#include "process.h"

static char tmpdir[] = "/tmp/tb-process-test-XXXXXX";

typedef struct lines {
	int count[3];
	char first[3][128];
} lines;

static void on_line(void *arg, int stream, const char *line, size_t len)
{
	lines *l = arg;

	if (l->count[stream]++ == 0)
		snprintf(l->first[stream], sizeof(l->first[stream]), "%.*s", (int)len, line);
}

static int run_sh(const char *script, tb_process_opts *o, tb_process_result *res)
{
	const char *argv[] = {"sh", "-c", script, NULL};
	tb_status st;

	o->argv = argv;
	return tb_process_run(o, res, &st);
}

static void test_exit_and_lines(void **state)
{
	tb_process_opts o = {0};
	tb_process_result res;
	lines l = {0};

	(void)state;
	o.on_line = on_line;
	o.line_arg = &l;
	assert_int_equal(run_sh("echo hello; echo oops >&2; printf 'a\\nb\\r\\n\\nlast'; exit 3", &o, &res), TB_OK);
	assert_int_equal(res.exit_code, 3);
	assert_int_equal(res.term_signal, 0);
	assert_false(res.timed_out);
	assert_string_equal(res.stdout_tail, "hello\na\nb\r\n\nlast");
	assert_string_equal(res.stderr_tail, "oops\n");
	assert_int_equal(l.count[TB_PROCESS_STDOUT], 5); /* hello, a, b, "", last */
	assert_string_equal(l.first[TB_PROCESS_STDOUT], "hello");
	assert_int_equal(l.count[TB_PROCESS_STDERR], 1);
	assert_true(res.pid > 0);
	assert_true(res.end_ms >= res.start_ms);
	tb_process_result_fini(&res);
	tb_process_result_fini(&res); /* safe on a zeroed result */
}

static void test_signal_exit(void **state)
{
	tb_process_opts o = {0};
	tb_process_result res;

	(void)state;
	assert_int_equal(run_sh("kill -9 $$", &o, &res), TB_OK);
	assert_int_equal(res.exit_code, -1);
	assert_int_equal(res.term_signal, SIGKILL);
	assert_false(res.killed); /* not killed by the runner */
	tb_process_result_fini(&res);
}

static char *tmp_path(const char *name)
{
	char *p = NULL;

	assert_true(asprintf(&p, "%s/%s", tmpdir, name) > 0);
	return p;
}

static char *slurp(const char *path, size_t *lenp)
{
	FILE *fp = fopen(path, "rb");
	char *buf;
	long len;

	assert_non_null(fp);
	fseek(fp, 0, SEEK_END);
	len = ftell(fp);
	rewind(fp);
	buf = malloc((size_t)len + 1);
	assert_int_equal(fread(buf, 1, (size_t)len, fp), (size_t)len);
	buf[len] = '\0';
	fclose(fp);
	*lenp = (size_t)len;
	return buf;
}

/* Files are 0600 and capped; the tail still shows the end. */
static void test_files_and_caps(void **state)
{
	char *out = tmp_path("out.log"), *err = tmp_path("err.log"), *data;
	tb_process_opts o = {.stdout_path = out, .stderr_path = err, .max_file_bytes = 100000,
	                     .tail_bytes = 64};
	tb_process_result res;
	struct stat sb;
	size_t len;

	(void)state;
	assert_int_equal(run_sh("head -c 3000000 /dev/zero | tr '\\0' x; echo; echo THE-END; echo e >&2",
	                        &o, &res),
	                 TB_OK);
	assert_int_equal(res.exit_code, 0);
	assert_true(res.stdout_truncated);
	assert_false(res.stderr_truncated);
	assert_int_equal(res.stdout_bytes, 3000000 + 1 + 8);
	assert_non_null(strstr(res.stdout_tail, "THE-END\n"));
	assert_true(strlen(res.stdout_tail) <= 64);
	assert_int_equal(stat(out, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0600);
	data = slurp(out, &len);
	assert_true(len > 100000 && len < 100100);
	assert_non_null(strstr(data + 99990, "[output truncated at 100000 bytes]"));
	free(data);
	data = slurp(err, &len);
	assert_string_equal(data, "e\n");
	free(data);
	tb_process_result_fini(&res);

	/* One file for both streams. */
	o.stderr_path = out;
	assert_int_equal(run_sh("echo one; echo two >&2", &o, &res), TB_OK);
	data = slurp(out, &len);
	assert_non_null(strstr(data, "one\n"));
	assert_non_null(strstr(data, "two\n"));
	free(data);
	tb_process_result_fini(&res);
	free(out);
	free(err);
}

/* A suite that ignores SIGTERM, with a child that does too: both die by SIGKILL. */
static void test_timeout_kills_group(void **state)
{
	char *pidfile = tmp_path("grandchild.pid"), *script = NULL, *data;
	tb_process_opts o = {.timeout_ms = 300, .grace_ms = 300, .poll_ms = 20};
	tb_process_result res;
	size_t len;
	pid_t grandchild;

	(void)state;
	assert_true(asprintf(&script, "trap '' TERM; (trap '' TERM; sleep 60) & echo $! > %s; sleep 60",
	                     pidfile) > 0);
	assert_int_equal(run_sh(script, &o, &res), TB_OK);
	assert_true(res.timed_out);
	assert_true(res.killed);
	assert_false(res.survivors);
	assert_int_equal(res.term_signal, SIGKILL);
	assert_true(res.end_ms - res.start_ms < 20000);
	data = slurp(pidfile, &len);
	grandchild = (pid_t)atoi(data);
	assert_true(grandchild > 0);
	assert_false(proc_live(grandchild));
	assert_int_equal(tb_process_group_count(res.pid), 0);
	free(data);
	free(script);
	free(pidfile);
	tb_process_result_fini(&res);
}

/* A polite suite ends on SIGTERM, without SIGKILL. */
static void test_timeout_sigterm(void **state)
{
	tb_process_opts o = {.timeout_ms = 200, .grace_ms = 10000};
	tb_process_result res;

	(void)state;
	assert_int_equal(run_sh("exec sleep 60", &o, &res), TB_OK);
	assert_true(res.timed_out);
	assert_false(res.killed);
	assert_int_equal(res.term_signal, SIGTERM);
	assert_true(res.end_ms - res.start_ms < 9000);
	tb_process_result_fini(&res);
}

/* Background jobs left by a command that exited may finish, then are ended. */
static void test_leftovers_ended(void **state)
{
	char *late = tmp_path("late.txt"), *script = NULL, *data;
	tb_process_opts o = {.grace_ms = 2000, .linger_ms = 1500};
	tb_process_result res;
	pid_t bg;

	(void)state;
	assert_true(asprintf(&script, "(sleep 0.2; echo late > %s) & sleep 60 & echo $!; exit 0",
	                     late) > 0);
	assert_int_equal(run_sh(script, &o, &res), TB_OK);
	assert_int_equal(res.exit_code, 0);
	assert_false(res.timed_out);
	assert_false(res.killed);
	bg = (pid_t)atoi(res.stdout_tail);
	assert_true(bg > 0);
	assert_false(proc_live(bg));
	assert_int_equal(tb_process_group_count(res.pid), 0);
	data = slurp(late, &(size_t){0});
	assert_string_equal(data, "late\n");
	free(data);
	free(script);
	free(late);
	tb_process_result_fini(&res);
}

static bool stop_after(void *arg)
{
	atomic_int *polls = arg;

	return atomic_fetch_add(polls, 1) >= 3;
}

static void test_stop_callback(void **state)
{
	atomic_int polls = 0;
	tb_process_opts o = {.should_stop = stop_after, .stop_arg = &polls, .poll_ms = 20};
	tb_process_result res;

	(void)state;
	assert_int_equal(run_sh("sleep 60", &o, &res), TB_OK);
	assert_true(res.stopped);
	assert_false(res.timed_out);
	assert_int_equal(res.exit_code, -1);
	tb_process_result_fini(&res);
}

static void test_spawn_errors(void **state)
{
	const char *missing[] = {"no-such-command-tb", NULL};
	const char *slash[] = {"/nonexistent/run", NULL};
	const char *empty[] = {NULL};
	tb_process_opts o = {.argv = missing};
	tb_process_result res;
	tb_status st;

	(void)state;
	assert_int_equal(tb_process_run(&o, &res, &st), TB_NOT_FOUND);
	assert_non_null(strstr(st.message, "no-such-command-tb"));
	assert_null(res.stdout_tail);
	o.argv = slash;
	assert_int_equal(tb_process_run(&o, &res, &st), TB_NOT_FOUND);
	o.argv = empty;
	assert_int_equal(tb_process_run(&o, &res, &st), TB_INVALID_ARGUMENT);
	assert_int_equal(tb_process_run(NULL, &res, &st), TB_INVALID_ARGUMENT);
	o.argv = (const char *[]){"true", NULL};
	o.cwd = "/nonexistent-folder";
	assert_int_equal(tb_process_run(&o, &res, &st), TB_NOT_FOUND);
	assert_non_null(strstr(st.message, "working folder"));
	o.cwd = NULL;
	o.stdout_path = "/nonexistent-folder/out.log";
	assert_int_equal(tb_process_run(&o, &res, &st), TB_NOT_FOUND);
}

/* Working folder, environment (built and searched for PATH), stdin. */
static void test_cwd_env_stdin(void **state)
{
	const char *set[] = {"FOO=bar", "HOME", "FOO=baz", "PATH=/usr/bin:/bin"};
	char **env = NULL;
	tb_process_opts o = {.cwd = tmpdir};
	tb_process_result res;

	(void)state;
	assert_int_equal(tb_process_env_build(NULL, set, 4, &env), TB_OK);
	o.env = (const char *const *)env;
	assert_int_equal(run_sh("pwd; echo \"$FOO-${HOME:-nohome}\"; cat; echo done", &o, &res), TB_OK);
	assert_non_null(strstr(res.stdout_tail, tmpdir));
	assert_non_null(strstr(res.stdout_tail, "baz-nohome\ndone"));
	tb_process_result_fini(&res);
	tb_process_env_free(env);
}

static void *concurrent_run(void *arg)
{
	tb_process_opts o = {0};
	tb_process_result *res = arg;

	run_sh("sleep 0.3; echo $$", &o, res);
	return NULL;
}

static void test_concurrent_runs(void **state)
{
	pthread_t th[4];
	tb_process_result res[4];

	(void)state;
	for (int i = 0; i < 4; i++)
		assert_int_equal(pthread_create(&th[i], NULL, concurrent_run, &res[i]), 0);
	for (int i = 0; i < 4; i++) {
		pthread_join(th[i], NULL);
		assert_int_equal(res[i].exit_code, 0);
		assert_int_equal(atoi(res[i].stdout_tail), res[i].pid);
		tb_process_result_fini(&res[i]);
	}
}

static void test_utf8_repair(void **state)
{
	char s[] = "ok \xc3\xa9 bad \xc3 \xff \xed\xa0\x80 \xf0\x9f\x98\x80 end";

	(void)state;
	assert_int_equal(tb_utf8_repair(s, sizeof(s) - 1), 5);
	assert_string_equal(s, "ok \xc3\xa9 bad ? ? ??? \xf0\x9f\x98\x80 end");
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
		cmocka_unit_test(test_exit_and_lines),   cmocka_unit_test(test_signal_exit),
		cmocka_unit_test(test_files_and_caps),   cmocka_unit_test(test_timeout_kills_group),
		cmocka_unit_test(test_timeout_sigterm),  cmocka_unit_test(test_leftovers_ended),
		cmocka_unit_test(test_stop_callback),    cmocka_unit_test(test_spawn_errors),
		cmocka_unit_test(test_cwd_env_stdin),    cmocka_unit_test(test_concurrent_runs),
		cmocka_unit_test(test_utf8_repair),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
