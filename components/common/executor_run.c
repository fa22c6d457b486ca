/* The Execute flow: call folder, kubeconfig copy, environment, run, reports, events. */
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "executor.h"
#include "executor_internal.h"

extern char **environ;

#define RUN_STALE_SLACK_MS 1000   /* mtime lag tolerated for a fresh report */
#define RUN_DEADLINE_MARGIN_MS 1000
#define RUN_MAX_TEST_EVENTS 5000
#define RUN_EVENT_LINE_MAX 1024

/* One Execute call. */
typedef struct run_call {
	tb_call *call;
	const tb_exec_framework *fw;
	const tb_exec_config *cfg;
	const Testbus__V1__ExecutionTarget *target;
	tb_arena *arena;
	tb_exec_ctx ctx;
	tb_exec_plan plan;
	char *kube_dir, *kube_path;
	tbc_exec_outcome oc;
	uint64_t window_ms; /* log-event rate window */
	uint32_t window_count;
} run_call;

/* --- the call's folder --- */

static int run_mkdirs(const char *path, mode_t mode)
{
	char buf[4096];
	size_t len = strlen(path);

	if (len >= sizeof(buf))
		return ENAMETOOLONG;
	memcpy(buf, path, len + 1);
	for (char *p = buf + 1; *p != '\0'; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, mode) != 0 && errno != EEXIST)
			return errno;
		*p = '/';
	}
	if (mkdir(buf, mode) != 0 && errno != EEXIST)
		return errno;
	return 0;
}

/* A name safe as one path component. */
static char *run_safe_name(tb_arena *a, const char *s)
{
	char *out = tb_arena_strdup(a, s);

	for (char *p = out; p != NULL && *p != '\0'; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
		      *p == '-' || *p == '_' || *p == '.'))
			*p = '_';
	if (out != NULL && out[0] == '.')
		out[0] = '_';
	return out;
}

static const char *run_tmpdir(void)
{
	const char *t = getenv("TMPDIR");

	return t != NULL && t[0] == '/' ? t : "/tmp";
}

/* Where the call folders of this executor go. */
static char *run_root(run_call *rc)
{
	const tb_exec_config *cfg = rc->cfg;

	if (cfg->artifacts_dir != NULL)
		return tb_arena_strdup(rc->arena, cfg->artifacts_dir);
	if (cfg->run_artifacts != NULL)
		return tb_arena_printf(rc->arena, "%s/executor-%s", cfg->run_artifacts, rc->fw->name);
	return tb_arena_printf(rc->arena, "%s/testbus-executor-%s-%u", run_tmpdir(), rc->fw->name,
	                       (unsigned)getuid());
}

static int run_call_dir(run_call *rc, tb_status *st)
{
	const Testbus__V1__ExecutionTarget *t = rc->target;
	char *root = run_root(rc), *base, *dir = NULL, *abs = NULL;
	int e;

	base = t->target_id[0] != '\0'
	           ? tb_arena_printf(rc->arena, "%s-%u", run_safe_name(rc->arena, t->target_id),
	                             t->attempt ? t->attempt : 1)
	           : tb_arena_printf(rc->arena, "call-%016" PRIx64, tb_call_id(rc->call));
	if (root == NULL || base == NULL)
		return tb_status_set(st, TB_RESOURCE_EXHAUSTED, "out of memory");
	if ((e = run_mkdirs(root, 0700)) != 0)
		return tb_status_set(st, TB_FAILED_PRECONDITION, "artifacts folder %s: %s", root,
		                     strerror(e));
	for (unsigned i = 1; i < 1000; i++) {
		dir = i == 1 ? tb_arena_printf(rc->arena, "%s/%s", root, base)
		             : tb_arena_printf(rc->arena, "%s/%s.%u", root, base, i);
		if (dir == NULL || mkdir(dir, 0700) == 0 || errno != EEXIST)
			break;
	}
	if (dir == NULL || (abs = realpath(dir, NULL)) == NULL)
		return tb_status_set(st, TB_FAILED_PRECONDITION, "call folder %s: %s",
		                     dir ? dir : root, strerror(errno));
	rc->ctx.call_dir = tb_arena_strdup(rc->arena, abs);
	free(abs);
	return rc->ctx.call_dir != NULL ? TB_OK : tb_status_set(st, TB_RESOURCE_EXHAUSTED, "out of memory");
}

/* --- kubeconfig --- */

static const ProtobufCBinaryData *run_kubeconfig(const Testbus__V1__ExecutionTarget *t)
{
	if (t->kubeconfig.len > 0)
		return &t->kubeconfig;
	if (t->cluster != NULL && t->cluster->kubeconfig.len > 0)
		return &t->cluster->kubeconfig;
	return NULL;
}

/* Writes the target's kubeconfig to a 0600 file in a private 0700 folder. */
static int run_kube_write(run_call *rc, tb_status *st)
{
	const ProtobufCBinaryData *kc = run_kubeconfig(rc->target);
	char tmpl[4096];
	size_t off = 0;
	int fd = -1, rv = TB_OK;

	if (kc == NULL)
		return TB_OK;
	snprintf(tmpl, sizeof(tmpl), "%s/testbus-kube-XXXXXX", run_tmpdir());
	if (mkdtemp(tmpl) == NULL || (rc->kube_dir = tb_arena_strdup(rc->arena, tmpl)) == NULL ||
	    (rc->kube_path = tb_arena_printf(rc->arena, "%s/kubeconfig", tmpl)) == NULL)
		return tb_status_set(st, TB_INTERNAL, "kubeconfig folder: %s", strerror(errno));
	fd = open(rc->kube_path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	while (fd >= 0 && off < kc->len) {
		ssize_t w = write(fd, kc->data + off, kc->len - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			break;
		off += (size_t)w;
	}
	if (fd < 0 || off < kc->len)
		rv = tb_status_set(st, TB_INTERNAL, "writing the kubeconfig copy: %s", strerror(errno));
	if (fd >= 0)
		close(fd);
	return rv;
}

static void run_kube_remove(run_call *rc)
{
	if (rc->kube_path != NULL)
		unlink(rc->kube_path);
	if (rc->kube_dir != NULL)
		rmdir(rc->kube_dir);
	rc->kube_path = rc->kube_dir = NULL;
}

/* --- environment --- */

static int run_env_target(run_call *rc, tb_exec_strv *set)
{
	const Testbus__V1__ExecutionTarget *t = rc->target;
	const Testbus__V1__ClusterInfo *c = t->cluster;
	tb_arena *a = rc->arena;
	int rv = TB_OK;

	rv |= tb_exec_strv_pushf(a, set, "TESTBUS_RUN_ID=%s", t->run_id);
	rv |= tb_exec_strv_pushf(a, set, "TESTBUS_TARGET_ID=%s", t->target_id);
	rv |= tb_exec_strv_pushf(a, set, "TESTBUS_ATTEMPT=%u", t->attempt ? t->attempt : 1);
	rv |= tb_exec_strv_pushf(a, set, "TESTBUS_ARTIFACTS_DIR=%s", rc->ctx.call_dir);
	if (c != NULL) {
		rv |= tb_exec_strv_pushf(a, set, "TESTBUS_CLUSTER_ID=%s", c->id);
		rv |= tb_exec_strv_pushf(a, set, "TESTBUS_CLUSTER_NAME=%s", c->name);
		rv |= tb_exec_strv_pushf(a, set, "TESTBUS_CLUSTER_PROVIDER=%s", c->provider);
	}
	for (size_t i = 0; i < t->n_labels; i++)
		rv |= tb_exec_strv_pushf(a, set, "%s=%s", tb_exec_label_env_name(a, t->labels[i]->key),
		                         t->labels[i]->value);
	/* Without a kubeconfig in the target, none of the executor's own leaks in. */
	rv |= rc->kube_path != NULL ? tb_exec_strv_pushf(a, set, "KUBECONFIG=%s", rc->kube_path)
	                            : tb_exec_strv_push(a, set, "KUBECONFIG");
	return rv == TB_OK ? TB_OK : TB_RESOURCE_EXHAUSTED;
}

static int run_env(run_call *rc, char ***envp, tb_status *st)
{
	static const char *const minimal[] = {"PATH=/usr/local/bin:/usr/bin:/bin", NULL};
	tb_exec_strv set = {0};
	int rv;

	if ((rv = tb_exec_expand_all(&rc->ctx, &rc->cfg->env, &set, st)) != TB_OK)
		return rv;
	if ((rv = run_env_target(rc, &set)) != TB_OK ||
	    (rv = tb_process_env_build(rc->cfg->inherit_env ? (const char *const *)environ : minimal,
	                               set.v, set.n, envp)) != TB_OK)
		return tb_status_set(st, TB_RESOURCE_EXHAUSTED, "out of memory");
	return TB_OK;
}

/* --- streaming --- */

static void run_on_line(void *arg, int stream, const char *line, size_t len)
{
	run_call *rc = arg;
	char msg[RUN_EVENT_LINE_MAX + 16];
	struct timespec ts;
	uint64_t now;
	int n;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	now = (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
	if (now - rc->window_ms >= 1000) {
		rc->window_ms = now;
		rc->window_count = 0;
	}
	if (++rc->window_count > rc->cfg->max_log_events) {
		rc->oc.log_events_dropped++;
		return;
	}
	n = snprintf(msg, sizeof(msg), "%s%.*s", stream == TB_PROCESS_STDERR ? "[stderr] " : "",
	             (int)(len > RUN_EVENT_LINE_MAX ? RUN_EVENT_LINE_MAX : len), line);
	if (n < 0)
		return;
	tb_utf8_repair(msg, strlen(msg));
	tb_call_event(rc->call, TESTBUS__V1__EVENT_KIND__EVENT_LOG, NULL, msg, 0);
}

static bool run_should_stop(void *arg)
{
	return tb_call_stopped(((run_call *)arg)->call);
}

static void run_test_events(run_call *rc)
{
	size_t n = 0;
	Testbus__V1__TestCase **cases = rc->oc.junit ? tb_junit_cases(rc->oc.junit, &n) : NULL;

	for (size_t i = 0; i < n && i < RUN_MAX_TEST_EVENTS; i++) {
		Testbus__V1__EventKind k = TESTBUS__V1__EVENT_KIND__EVENT_TEST_PASSED;
		if (cases[i]->status == TESTBUS__V1__TEST_STATUS__TEST_SKIPPED)
			k = TESTBUS__V1__EVENT_KIND__EVENT_TEST_SKIPPED;
		else if (cases[i]->status != TESTBUS__V1__TEST_STATUS__TEST_PASSED)
			k = TESTBUS__V1__EVENT_KIND__EVENT_TEST_FAILED;
		tb_call_event(rc->call, k, cases[i]->name, cases[i]->message, 0);
	}
}

/* --- running --- */

static uint32_t run_timeout(run_call *rc)
{
	uint32_t t = rc->target->timeout_ms ? rc->target->timeout_ms : rc->cfg->timeout_ms;
	uint32_t left = tb_call_remaining_ms(rc->call), reserve = rc->cfg->grace_ms + RUN_DEADLINE_MARGIN_MS;

	/* End the suite in time to answer before the call's own deadline. */
	if (left > 0 && (t == 0 || left < (uint64_t)t + reserve))
		t = left > reserve + 1000 ? left - reserve : 1000;
	return t;
}

static void run_process(run_call *rc, char **env)
{
	const tb_exec_config *cfg = rc->cfg;
	tbc_exec_outcome *oc = &rc->oc;
	tb_process_opts o = {
		.argv = rc->plan.argv.v, .env = (const char *const *)env, .cwd = cfg->workdir,
		.stdout_path = oc->stdout_path, .stderr_path = oc->stderr_path,
		.max_file_bytes = cfg->max_log_bytes, .tail_bytes = (size_t)cfg->tail_bytes,
		.timeout_ms = oc->timeout_ms, .grace_ms = cfg->grace_ms,
		.on_line = cfg->log_events ? run_on_line : NULL, .line_arg = rc,
		.should_stop = run_should_stop, .stop_arg = rc,
	};
	tb_status st = {0};

	if (tb_process_run(&o, &oc->proc, &st) != TB_OK) {
		oc->start_error = tb_arena_strdup(rc->arena, st.message);
		return;
	}
	oc->started = true;
	oc->cancelled = oc->proc.stopped && tb_call_stop_code(rc->call) == TB_CANCELLED;
}

/* Adds the reports matching one glob that were written during the run. */
static void run_glob(run_call *rc, const char *pattern, int64_t since_ms, unsigned *stale)
{
	const char *wd = rc->cfg->workdir;
	char *full = pattern[0] == '/' || wd == NULL ? (char *)pattern
	                                             : tb_arena_printf(rc->arena, "%s/%s", wd, pattern);
	glob_t g = {0};

	if (full == NULL || glob(full, GLOB_NOSORT, NULL, &g) != 0)
		goto out;
	qsort(g.gl_pathv, g.gl_pathc, sizeof(char *), tbc_exec_strcmp);
	for (size_t i = 0; i < g.gl_pathc; i++) {
		struct stat sb;
		const char *p = g.gl_pathv[i];
		bool dup = false;
		if (stat(p, &sb) != 0 || !S_ISREG(sb.st_mode))
			continue;
		if ((int64_t)sb.st_mtim.tv_sec * 1000 + sb.st_mtim.tv_nsec / 1000000 <
		    since_ms - RUN_STALE_SLACK_MS) {
			(*stale)++;
			continue;
		}
		for (size_t j = 0; j < rc->oc.junit_files.n && !dup; j++)
			dup = strcmp(rc->oc.junit_files.v[j], p) == 0;
		if (!dup)
			tb_exec_strv_push(rc->arena, &rc->oc.junit_files, tb_arena_strdup(rc->arena, p));
	}
out:
	globfree(&g);
}

/* Reads the reports the suite wrote. */
static void run_collect(run_call *rc)
{
	tbc_exec_outcome *oc = &rc->oc;
	unsigned stale = 0;

	if (rc->plan.junit.n == 0 || !oc->started ||
	    tb_junit_alloc(rc->arena, NULL, &oc->junit) != TB_OK)
		return;
	for (size_t i = 0; i < rc->plan.junit.n; i++)
		run_glob(rc, rc->plan.junit.v[i], oc->proc.start_ms, &stale);
	for (size_t i = 0; i < oc->junit_files.n; i++) {
		tb_status st = {0};
		if (tb_junit_add_file(oc->junit, oc->junit_files.v[i], NULL, &st) != TB_OK)
			tb_exec_strv_push(rc->arena, &oc->junit_errors, tb_arena_strdup(rc->arena, st.message));
	}
	if (oc->junit_files.n == 0 && stale > 0)
		tb_exec_strv_pushf(rc->arena, &oc->junit_errors,
		                   "%u report(s) matched but are older than the run; ignored", stale);
}

/* Plans the call: folder, filters, the framework's command, report globs. */
static int run_plan(run_call *rc, tb_status *st)
{
	int rv;

	rc->ctx.cfg = rc->cfg;
	rc->ctx.target = rc->target;
	rc->ctx.arena = rc->arena;
	if ((rv = run_call_dir(rc, st)) != TB_OK ||
	    (rv = tb_exec_filters(rc->fw, rc->cfg, rc->target, rc->arena, rc->ctx.filters, st)) != TB_OK ||
	    (rv = rc->fw->plan(&rc->ctx, &rc->plan, st)) != TB_OK ||
	    (rv = tb_exec_expand_all(&rc->ctx, &rc->cfg->junit, &rc->plan.junit, st)) != TB_OK)
		return rv;
	if (rc->plan.argv.n == 0)
		return tb_status_set(st, TB_FAILED_PRECONDITION, "%s executor: nothing to run",
		                     rc->fw->name);
	rc->oc.executor = rc->fw->name;
	rc->oc.plan = &rc->plan;
	rc->oc.call_dir = rc->ctx.call_dir;
	rc->oc.stdout_path = tb_arena_printf(rc->arena, "%s/stdout.log", rc->ctx.call_dir);
	rc->oc.stderr_path = tb_arena_printf(rc->arena, "%s/stderr.log", rc->ctx.call_dir);
	rc->oc.timeout_ms = run_timeout(rc);
	if (rc->oc.stdout_path == NULL || rc->oc.stderr_path == NULL)
		return tb_status_set(st, TB_RESOURCE_EXHAUSTED, "out of memory");
	return TB_OK;
}

static void run_events_edges(run_call *rc, const Testbus__V1__ExecutionResult *res)
{
	char *msg;

	if (res == NULL) {
		msg = tb_arena_printf(rc->arena, "%s", rc->plan.argv.v[0]);
		tb_call_event(rc->call, TESTBUS__V1__EVENT_KIND__EVENT_STARTED, NULL, msg, 0);
		return;
	}
	run_test_events(rc);
	msg = tb_arena_printf(rc->arena, "%s: %u tests, %u passed, %u failed, %u errors, %u skipped",
	                      res->success ? "passed" : "failed", res->summary->total,
	                      res->summary->passed, res->summary->failed, res->summary->errors,
	                      res->summary->skipped);
	tb_call_event(rc->call, TESTBUS__V1__EVENT_KIND__EVENT_FINISHED, NULL, msg, 100);
}

int tb_exec_execute(tb_call *call, const ProtobufCMessage *input, ProtobufCMessage **outputp,
                    void *arg)
{
	tb_exec *ex = arg;
	tbc_exec_snapshot *snap = tbc_exec_acquire(ex);
	run_call rc = {.call = call, .fw = tbc_exec_framework(ex), .cfg = snap->cfg,
	               .target = (const Testbus__V1__ExecutionTarget *)input,
	               .arena = tb_call_arena(call)};
	Testbus__V1__ExecutionResult *res = NULL;
	char **env = NULL;
	tb_status st = {0};
	int rv;

	if ((rv = run_plan(&rc, &st)) != TB_OK || (rv = run_kube_write(&rc, &st)) != TB_OK ||
	    (rv = run_env(&rc, &env, &st)) != TB_OK) {
		if (rc.ctx.call_dir != NULL)
			rmdir(rc.ctx.call_dir); /* nothing ran: leave no empty folder */
		rv = tb_call_error(call, rv, "%s", st.message);
		goto out;
	}
	run_events_edges(&rc, NULL);
	run_process(&rc, env);
	run_kube_remove(&rc);
	run_collect(&rc);
	if ((rv = tbc_exec_result(rc.cfg, rc.target, &rc.oc, rc.arena, &res)) != TB_OK) {
		rv = tb_call_error(call, rv, "building the result: out of memory");
		goto out;
	}
	run_events_edges(&rc, res);
out:
	run_kube_remove(&rc);
	tb_process_env_free(env);
	tb_process_result_fini(&rc.oc.proc);
	tb_junit_free(rc.oc.junit);
	tbc_exec_release(ex, snap);
	*outputp = rv == TB_OK ? &res->base : NULL;
	return rv;
}
