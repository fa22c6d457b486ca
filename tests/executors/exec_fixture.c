/* The executor test fixture: spawning executor processes and calling Execute over ipc://. */
#include "exec_fixture.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "proc_scan.h"
#include "valgrind_wrap.h"

extern char **environ;

const char *exec_bin_dir(void)
{
	const char *d = getenv("TESTBUS_BIN_DIR");

	if (d == NULL)
		fail_msg("TESTBUS_BIN_DIR is not set");
	return d;
}

const char *exec_suites_dir(void)
{
	const char *d = getenv("TESTBUS_SUITES_DIR");

	if (d == NULL)
		fail_msg("TESTBUS_SUITES_DIR is not set");
	return d;
}

void exec_dir(exec_fixture *f)
{
	if (f->dir[0] != '\0')
		return;
	snprintf(f->dir, sizeof(f->dir), "/tmp/tb-exec-test-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
}

char *exec_write(const char *dir, const char *name, const char *text)
{
	char *path = NULL;
	FILE *fp;

	assert_true(asprintf(&path, "%s/%s", dir, name) > 0);
	assert_non_null(fp = fopen(path, "w"));
	fputs(text, fp);
	fclose(fp);
	return path;
}

int exec_sh(const char *fmt, ...)
{
	char *cmd = NULL;
	va_list ap;
	int rv;

	va_start(ap, fmt);
	assert_true(vasprintf(&cmd, fmt, ap) > 0);
	va_end(ap);
	rv = system(cmd);
	free(cmd);
	return WIFEXITED(rv) ? WEXITSTATUS(rv) : -1;
}

static void exec_spawn(exec_fixture *f, const char *name, const char *config, unsigned capacity)
{
	char *bin = NULL, *log = NULL, cap[16];
	const char *argv[12];
	char *wrapped[14]; /* argv behind valgrind-run.sh when the test run asks for it */
	char *const *run;
	int n = 0;
	posix_spawn_file_actions_t fa;

	assert_true(asprintf(&bin, "%s/testbus-executor-%s", exec_bin_dir(), name) > 0);
	assert_true(asprintf(&log, "%s/executor.log", f->dir) > 0);
	snprintf(cap, sizeof(cap), "%u", capacity);
	argv[n++] = bin;
	argv[n++] = "--listen";
	argv[n++] = f->url;
	argv[n++] = "--capacity";
	argv[n++] = cap;
	argv[n++] = "--events";
	argv[n++] = f->events_url;
	if (config != NULL) {
		argv[n++] = "--config";
		argv[n++] = config;
	}
	argv[n] = NULL;
	run = vg_argv((char *const *)argv, wrapped, sizeof(wrapped) / sizeof(wrapped[0]));
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 1, log, O_WRONLY | O_CREAT | O_APPEND, 0600);
	posix_spawn_file_actions_adddup2(&fa, 1, 2);
	assert_int_equal(posix_spawn(&f->pid, run[0], &fa, NULL, run, environ), 0);
	posix_spawn_file_actions_destroy(&fa);
	free(bin);
	free(log);
}

void exec_start(exec_fixture *f, const char *name, const char *config_yaml, unsigned capacity)
{
	char *config = NULL;
	Testbus__V1__ComponentInfo *info = NULL;
	tb_status st;
	int rv = TB_UNAVAILABLE;

	exec_dir(f);
	snprintf(f->url, sizeof(f->url), "ipc://%s/executor.ipc", f->dir);
	snprintf(f->events_url, sizeof(f->events_url), "ipc://%s/events.ipc", f->dir);
	{
		/* Call folders go to the test's own dir unless the config says otherwise. */
		char *text = NULL;
		const char *given = config_yaml != NULL ? config_yaml : "";
		assert_true(asprintf(&text, "%s%sartifacts_dir: '%s/artifacts'\n", given,
		                     strstr(given, "artifacts_dir:") != NULL ? "#" : "", f->dir) > 0);
		config = exec_write(f->dir, "config.yaml", text);
		free(text);
	}
	assert_int_equal(tb_events_open(f->events_url, 0, &f->events, &st), TB_OK);
	exec_spawn(f, name, config, capacity);
	free(config);
	assert_int_equal(tb_conn_open(f->url, NULL, &f->conn, &st), TB_OK);
	for (unsigned i = 0; i < 100 * vg_time_scale() && rv != TB_OK; i++) {
		if ((rv = tb_handshake(f->conn, 200, &info, &st)) != TB_OK)
			assert_true(proc_live(f->pid));
	}
	if (rv != TB_OK)
		fail_msg("executor %s did not answer: %s", name, st.message);
	assert_int_equal(info->kind, TESTBUS__V1__COMPONENT_KIND__KIND_EXECUTOR);
	assert_string_equal(info->name, name);
	assert_int_equal(info->capacity, capacity);
	protobuf_c_message_free_unpacked(&info->base, NULL);
}

void exec_stop(exec_fixture *f)
{
	int status = -1;

	tb_conn_close(f->conn);
	f->conn = NULL;
	if (f->pid > 0) {
		kill(f->pid, SIGTERM);
		assert_int_equal(waitpid(f->pid, &status, 0), f->pid);
		if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
			exec_sh("cat %s/executor.log >&2", f->dir);
			fail_msg("executor exited with status %d", status);
		}
		f->pid = 0;
	}
	tb_events_close(f->events);
	f->events = NULL;
	if (f->dir[0] != '\0')
		exec_sh("rm -rf '%s'", f->dir);
	f->dir[0] = '\0';
}

int exec_call(exec_fixture *f, const exec_target *t, Testbus__V1__ExecutionResult **outp,
              tb_status *st)
{
	Testbus__V1__ExecutionTarget in = TESTBUS__V1__EXECUTION_TARGET__INIT;
	Testbus__V1__ExecutionTarget__LabelsEntry entries[16], *ptrs[16];
	tb_call_opts opts = {.deadline_ms = t->deadline_ms ? t->deadline_ms : 60000,
	                     .call_id = t->call_id};
	size_t n = 0;

	for (const char *const *l = t->labels; l != NULL && l[0] != NULL && n < 16; l += 2, n++) {
		testbus__v1__execution_target__labels_entry__init(&entries[n]);
		entries[n].key = (char *)l[0];
		entries[n].value = (char *)l[1];
		ptrs[n] = &entries[n];
	}
	in.labels = ptrs;
	in.n_labels = n;
	in.timeout_ms = t->timeout_ms;
	in.run_id = "run-test";
	in.target_id = (char *)(t->target_id ? t->target_id : "");
	in.attempt = 1;
	if (t->kubeconfig != NULL) {
		in.kubeconfig.data = (uint8_t *)t->kubeconfig;
		in.kubeconfig.len = strlen(t->kubeconfig);
	}
	return tb_executor_execute(f->conn, &in, outp, &opts, st);
}

static const Testbus__V1__Value *exec_meta(const Testbus__V1__ExecutionResult *r, const char *key)
{
	const Testbus__V1__Value *v = tb_map_get(r->metadata, r->n_metadata, key);

	if (v == NULL)
		fail_msg("no metadata '%s'", key);
	return v;
}

const char *exec_meta_string(const Testbus__V1__ExecutionResult *r, const char *key)
{
	const char *s = tb_value_string(exec_meta(r, key));

	assert_non_null(s);
	return s;
}

int64_t exec_meta_int(const Testbus__V1__ExecutionResult *r, const char *key)
{
	int64_t n = 0;
	bool flag;
	const Testbus__V1__Value *v = exec_meta(r, key);

	if (tb_value_bool(v, &flag) == TB_OK)
		return flag;
	assert_int_equal(tb_value_int(v, &n), TB_OK);
	return n;
}

const Testbus__V1__TestCase *exec_case(const Testbus__V1__ExecutionResult *r, const char *name)
{
	for (size_t i = 0; i < r->n_test_cases; i++)
		if (strcmp(r->test_cases[i]->name, name) == 0)
			return r->test_cases[i];
	return NULL;
}

char *exec_slurp(const char *path)
{
	FILE *fp = fopen(path, "rb");
	char *buf = NULL;
	size_t len = 0, cap = 0, n;
	char chunk[4096];

	if (fp == NULL)
		return NULL;
	while ((n = fread(chunk, 1, sizeof(chunk), fp)) > 0) {
		if (len + n + 1 > cap) {
			cap = (len + n + 1) * 2;
			assert_non_null(buf = realloc(buf, cap));
		}
		memcpy(buf + len, chunk, n);
		len += n;
	}
	fclose(fp);
	if (buf == NULL)
		buf = calloc(1, 1);
	else
		buf[len] = '\0';
	return buf;
}

bool exec_wait_file(const char *path, unsigned ms)
{
	struct timespec ts = {0, 20 * 1000 * 1000};

	for (unsigned waited = 0; waited < ms; waited += 20) {
		if (access(path, F_OK) == 0)
			return true;
		nanosleep(&ts, NULL);
	}
	return access(path, F_OK) == 0;
}
