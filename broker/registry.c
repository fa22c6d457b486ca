/* Discovery: reaching every component of the config and checking it is what it should be. */
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "broker.h"
#include "launch.h"
#include "listen.h"

#define REGISTRY_STOP_GRACE_MS 5000
#define REGISTRY_POLL_MS 20u

static char *registry_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *registry_printf(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *s = NULL;
	if (vasprintf(&s, fmt, ap) < 0)
		s = NULL;
	va_end(ap);
	return s;
}

/* Opens the connection to c: spawning it first when the config says so. */
static int registry_reach(struct registry *reg, struct comp *c, tb_status *st)
{
	const struct config_component *cc = c->cfg;
	tb_conn_opts co = {0};
	if (cc->reach == CONFIG_ATTACH) {
		c->address = strdup(cc->address);
		co.tls = (tb_tls_opts){.ca_file = cc->tls.ca_file, .cert_file = cc->tls.cert_file,
		                       .key_file = cc->tls.key_file, .server_name = cc->tls.server_name};
		co.token = cc->token;
	} else {
		if (cc->path == NULL)
			return tb_status_set(st, TB_NOT_FOUND, "cannot find %s", cc->executable);
		c->address = registry_printf("ipc://%s/%s.ipc", reg->sock_dir, cc->name);
		c->log_path = registry_printf("%s/%s.log", reg->logs_dir, cc->name);
		if (c->address == NULL || c->log_path == NULL)
			return tb_status_set(st, TB_RESOURCE_EXHAUSTED, "out of memory");
		int rv = spawn_component(cc, c->address, reg->events_url, c->log_path, &c->pid, st);
		if (rv != TB_OK)
			return rv;
	}
	if (c->address == NULL)
		return tb_status_set(st, TB_RESOURCE_EXHAUSTED, "out of memory");
	return tb_conn_open(c->address, &co, &c->conn, st);
}

/* "a provisioner", "an executor", ... */
static const char *registry_a(Testbus__V1__ComponentKind kind)
{
	switch (kind) {
	case TESTBUS__V1__COMPONENT_KIND__KIND_PROVISIONER:
		return "a provisioner";
	case TESTBUS__V1__COMPONENT_KIND__KIND_EXECUTOR:
		return "an executor";
	case TESTBUS__V1__COMPONENT_KIND__KIND_ANALYZER:
		return "an analyzer";
	case TESTBUS__V1__COMPONENT_KIND__KIND_REPORTER:
		return "a reporter";
	default:
		return "a component of no known kind";
	}
}

/* The Describe handshake and the checks that follow it. */
static int registry_check(struct comp *c, uint32_t wait_ms, tb_status *st)
{
	const struct config_component *cc = c->cfg;
	int rv = tb_handshake(c->conn, wait_ms, &c->info, st);
	if (rv != TB_OK) {
		if (c->pid > 0 && registry_comp_dead(c))
			return tb_status_set(st, TB_UNAVAILABLE, "exited before answering (see %s)",
			                     c->log_path);
		return rv;
	}
	if (c->info->kind != cc->kind)
		return tb_status_set(st, TB_FAILED_PRECONDITION,
		                     "configured as %s, but %s at %s is %s", registry_a(cc->kind),
		                     c->info->name, c->address, registry_a(c->info->kind));
	if (c->pid > 0) {
		pid_t peer = tb_conn_peer_pid(c->conn);
		if (peer != c->pid)
			return tb_status_set(st, TB_PERMISSION_DENIED,
			                     "%s is served by process %ld, not by the process %ld "
			                     "this broker started",
			                     c->address, (long)peer, (long)c->pid);
	}
	c->capacity = c->info->capacity ? c->info->capacity : 1;
	return TB_OK;
}

/* Sends the component its own config section. */
static int registry_configure(struct comp *c, const char *run_id, const char *run_dir,
                              uint32_t wait_ms, tb_status *st)
{
	Testbus__V1__ComponentConfig cfg = TESTBUS__V1__COMPONENT_CONFIG__INIT;
	if (tb_component_config_wrap(c->cfg->config, &cfg) != TB_OK)
		return tb_status_set(st, TB_RESOURCE_EXHAUSTED, "out of memory");
	cfg.run_id = (char *)run_id;
	cfg.artifacts_dir = (char *)run_dir;
	Testbus__V1__Empty *empty = NULL;
	tb_call_opts opts = {.deadline_ms = wait_ms};
	int rv = tb_component_configure(c->conn, &cfg, &empty, &opts, st);
	if (empty != NULL)
		testbus__v1__empty__free_unpacked(empty, NULL);
	tb_component_config_unwrap(&cfg);
	return rv;
}

static int registry_make_dirs(struct registry *reg, const char *logs_dir)
{
	char tmpl[] = "/tmp/testbus-XXXXXX"; /* mkdtemp makes it 0700 */
	if (mkdtemp(tmpl) == NULL)
		return TB_UNAVAILABLE;
	reg->sock_dir = strdup(tmpl);
	reg->events_url = registry_printf("ipc://%s/events.ipc", tmpl);
	reg->logs_dir = (char *)logs_dir;
	return reg->sock_dir && reg->events_url ? TB_OK : TB_RESOURCE_EXHAUSTED;
}

int registry_start(struct registry *reg, const struct broker_config *cfg, const char *run_id,
                   const char *run_dir, const char *logs_dir, const char *only_name)
{
	int failed = 0;
	memset(reg, 0, sizeof(*reg));
	if (registry_make_dirs(reg, logs_dir) != TB_OK) {
		blog("preflight: cannot make a private socket folder in /tmp: %s", strerror(errno));
		return TB_FAILED_PRECONDITION;
	}
	size_t cap = cfg->n_components + 1;
	for (size_t i = 0; i < cfg->n_components; i++)
		cap += cfg->components[i].reach == CONFIG_REGISTER ? LISTEN_MAX_BOUND : 0;
	reg->comps = calloc(cap, sizeof(*reg->comps));
	if (reg->comps == NULL)
		return TB_RESOURCE_EXHAUSTED;
	for (size_t i = 0; i < cfg->n_components; i++) {
		if (only_name != NULL && strcmp(cfg->components[i].name, only_name) != 0)
			continue;
		struct comp *c = &reg->comps[reg->n++];
		c->cfg = &cfg->components[i];
		c->group = c->cfg->reach == CONFIG_REGISTER;
	}
	size_t n_config = reg->n;
	/* Start them all first: spawned processes come up side by side. */
	tb_status *sts = calloc(reg->n + 1, sizeof(*sts));
	if (sts == NULL)
		return TB_RESOURCE_EXHAUSTED;
	for (size_t i = 0; i < n_config; i++) {
		if (!reg->comps[i].group && registry_reach(reg, &reg->comps[i], &sts[i]) != TB_OK)
			reg->comps[i].skipped = true;
	}
	for (size_t i = 0; i < n_config; i++) {
		struct comp *c = &reg->comps[i];
		tb_status *st = &sts[i];
		if (c->group) {
			size_t bound = listen_bind(c->cfg, &reg->comps[reg->n], LISTEN_MAX_BOUND, st);
			for (size_t k = 0; k < bound; k++)
				blog("executor %s: %s, capacity %u", reg->comps[reg->n + k].name,
				     reg->comps[reg->n + k].address, reg->comps[reg->n + k].capacity);
			reg->n += bound;
			c->skipped = bound == 0;
		} else if (!c->skipped && (registry_check(c, cfg->timeouts.start_ms, st) != TB_OK ||
		                    registry_configure(c, run_id, run_dir, cfg->timeouts.start_ms,
		                                       st) != TB_OK))
			c->skipped = true;
		if (!c->skipped)
			continue;
		if (c->cfg->optional) {
			blog("skipping optional %s %s: %s", config_kind_name(c->cfg->kind), c->cfg->name,
			     st->message);
		} else {
			blog("preflight: %s %s: %s", config_kind_name(c->cfg->kind), c->cfg->name,
			     st->message);
			failed++;
		}
	}
	free(sts);
	return failed ? TB_FAILED_PRECONDITION : TB_OK;
}

const char *comp_name(const struct comp *c)
{
	return c->name != NULL ? c->name : c->cfg->name;
}

bool registry_comp_dead(struct comp *c)
{
	if (c->pid == 0)
		return false;
	if (c->pid < 0)
		return true; /* reaped before: it stays dead */
	int status;
	pid_t r = waitpid(c->pid, &status, WNOHANG);
	if (r == c->pid || (r < 0 && errno == ECHILD)) {
		c->pid = -c->pid; /* reaped: remember it was ours, never signal it again */
		c->lost = true;
		return true;
	}
	return false;
}

bool registry_wait_dead(struct comp *c, uint32_t wait_ms)
{
	if (c->pid == 0)
		return false;
	for (uint32_t waited = 0; !registry_comp_dead(c); waited += REGISTRY_POLL_MS) {
		if (waited >= wait_ms)
			return false;
		usleep(REGISTRY_POLL_MS * 1000u);
	}
	return true;
}

int registry_restart(struct registry *reg, struct comp *c, const char *run_id,
                     const char *run_dir, uint32_t wait_ms, tb_status *st)
{
	if (c->cfg->reach == CONFIG_ATTACH || c->group || c->remote != NULL || c->pid == 0)
		return tb_status_set(st, TB_FAILED_PRECONDITION, "%s was not started by this broker",
		                     comp_name(c));
	if (!registry_comp_dead(c))
		return tb_status_set(st, TB_FAILED_PRECONDITION, "%s is still running", comp_name(c));
	tb_conn_close(c->conn);
	c->conn = NULL;
	if (c->info != NULL)
		testbus__v1__component_info__free_unpacked(c->info, NULL);
	c->info = NULL;
	free(c->address);
	free(c->log_path);
	c->address = c->log_path = NULL;
	c->pid = 0;
	c->lost = false;
	int rv = registry_reach(reg, c, st);
	if (rv == TB_OK)
		rv = registry_check(c, wait_ms, st);
	if (rv == TB_OK)
		rv = registry_configure(c, run_id, run_dir, wait_ms, st);
	if (rv != TB_OK)
		c->lost = true;
	return rv;
}

size_t registry_of_kind(struct registry *reg, Testbus__V1__ComponentKind kind,
                        struct comp **out, size_t max)
{
	size_t n = 0;
	for (size_t i = 0; i < reg->n && n < max; i++) {
		struct comp *c = &reg->comps[i];
		if (c->cfg->kind == kind && !c->skipped && !c->group)
			out[n++] = c;
	}
	return n;
}

/* Signals the process groups of every live spawned component. */
static void registry_signal(struct registry *reg, int sig)
{
	for (size_t i = 0; i < reg->n; i++) {
		struct comp *c = &reg->comps[i];
		if (c->pid > 0 && !registry_comp_dead(c))
			kill(-c->pid, sig);
	}
}

static bool registry_all_dead(struct registry *reg)
{
	bool all = true;
	for (size_t i = 0; i < reg->n; i++) {
		if (reg->comps[i].pid > 0 && !registry_comp_dead(&reg->comps[i]))
			all = false;
	}
	return all;
}

static void registry_remove_sockets(const char *dir)
{
	DIR *d = opendir(dir);
	if (d == NULL)
		return;
	struct dirent *e;
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		char path[4096];
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		unlink(path);
	}
	closedir(d);
	rmdir(dir);
}

void registry_stop(struct registry *reg)
{
	registry_signal(reg, SIGTERM);
	for (int waited = 0; waited < REGISTRY_STOP_GRACE_MS && !registry_all_dead(reg); waited += 20)
		usleep(20000);
	if (!registry_all_dead(reg)) {
		registry_signal(reg, SIGKILL);
		while (!registry_all_dead(reg))
			usleep(10000);
	}
	for (size_t i = 0; i < reg->n; i++) {
		struct comp *c = &reg->comps[i];
		tb_conn_close(c->conn);
		if (c->info != NULL)
			testbus__v1__component_info__free_unpacked(c->info, NULL);
		free(c->address);
		free(c->log_path);
		free(c->name);
	}
	free(reg->comps);
	if (reg->sock_dir != NULL)
		registry_remove_sockets(reg->sock_dir);
	free(reg->sock_dir);
	free(reg->events_url);
	memset(reg, 0, sizeof(*reg));
}
