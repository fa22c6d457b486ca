/* testbus-test-recording-provisioner: a provisioner that records every cluster it creates and destroys. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "testbus/testbus.h"

/*
 * The record file gets one line per event, fsynced before the call answers:
 *   provisioning <run>   a Provision for run <run> started (nothing exists yet)
 *   provision <id>       a cluster was created (Provision answered it)
 *   reuse <id>           Provision was asked to reuse <id>
 *   destroy <id>         a cluster was destroyed
 *   destroy-failed <id>  Destroy was asked and failed as configured
 * The tests count provision against destroy lines to find leaked clusters.
 */

/* The secret inside every kubeconfig handed out: it must never leave the run's kubeconfig file. */
#define REC_SECRET "testbus-rec-secret-5f0c2a9e71"
#define REC_STEP_MS 20u

struct rec_config {
	char *record_file;
	char *fail_destroy_flag; /* Destroy fails while this file exists */
	bool fail_provision;
	bool fail_destroy;
	bool hang_health;
	bool ignore_cancel; /* a slow Provision finishes even when cancelled */
	int64_t provision_delay_ms;
};

enum rec_type { REC_STRING, REC_BOOL, REC_INT };

struct rec_key {
	const char *name;
	enum rec_type type;
	size_t offset;
};

static const struct rec_key rec_keys[] = {
	{"record_file", REC_STRING, offsetof(struct rec_config, record_file)},
	{"fail_destroy_flag", REC_STRING, offsetof(struct rec_config, fail_destroy_flag)},
	{"fail_provision", REC_BOOL, offsetof(struct rec_config, fail_provision)},
	{"fail_destroy", REC_BOOL, offsetof(struct rec_config, fail_destroy)},
	{"hang_health", REC_BOOL, offsetof(struct rec_config, hang_health)},
	{"ignore_cancel", REC_BOOL, offsetof(struct rec_config, ignore_cancel)},
	{"provision_delay_ms", REC_INT, offsetof(struct rec_config, provision_delay_ms)},
};
#define REC_N_KEYS (sizeof(rec_keys) / sizeof(rec_keys[0]))

static pthread_mutex_t rec_lock = PTHREAD_MUTEX_INITIALIZER;
static struct rec_config rec_cfg;
static unsigned rec_counter;

static void rec_config_fini(struct rec_config *c)
{
	free(c->record_file);
	free(c->fail_destroy_flag);
	memset(c, 0, sizeof(*c));
}

/* A copy of the live config, with its strings duplicated. Free with rec_config_fini(). */
static int rec_config_get(struct rec_config *out)
{
	pthread_mutex_lock(&rec_lock);
	*out = rec_cfg;
	out->record_file = rec_cfg.record_file ? strdup(rec_cfg.record_file) : NULL;
	out->fail_destroy_flag = rec_cfg.fail_destroy_flag ? strdup(rec_cfg.fail_destroy_flag)
	                                                   : NULL;
	pthread_mutex_unlock(&rec_lock);
	if ((rec_cfg.record_file != NULL && out->record_file == NULL) ||
	    (rec_cfg.fail_destroy_flag != NULL && out->fail_destroy_flag == NULL)) {
		rec_config_fini(out);
		return TB_RESOURCE_EXHAUSTED;
	}
	return TB_OK;
}

static const struct rec_key *rec_key_find(const char *name)
{
	for (size_t i = 0; i < REC_N_KEYS; i++)
		if (strcmp(rec_keys[i].name, name) == 0)
			return &rec_keys[i];
	return NULL;
}

static int rec_key_set(struct rec_config *c, const struct rec_key *k, const Testbus__V1__Value *v,
                       tb_status *st)
{
	char *field = (char *)c + k->offset;
	const char *s;

	switch (k->type) {
	case REC_STRING:
		if ((s = tb_value_string(v)) == NULL)
			return tb_status_set(st, TB_INVALID_ARGUMENT, "'%s' must be a string", k->name);
		if ((*(char **)field = strdup(s)) == NULL)
			return tb_status_set(st, TB_RESOURCE_EXHAUSTED, "out of memory");
		return TB_OK;
	case REC_BOOL:
		if (tb_value_bool(v, (bool *)field) != TB_OK)
			return tb_status_set(st, TB_INVALID_ARGUMENT, "'%s' must be true or false",
			                     k->name);
		return TB_OK;
	case REC_INT:
		if (tb_value_int(v, (int64_t *)field) != TB_OK || *(int64_t *)field < 0)
			return tb_status_set(st, TB_INVALID_ARGUMENT,
			                     "'%s' must be a whole number of milliseconds", k->name);
		return TB_OK;
	}
	return tb_status_set(st, TB_INTERNAL, "key '%s' has no type", k->name);
}

static int rec_configure(const Testbus__V1__ComponentConfig *config, void *arg, tb_status *st)
{
	struct rec_config next = {0};
	int rv = TB_OK;

	for (size_t i = 0; i < config->n_config && rv == TB_OK; i++) {
		const struct rec_key *k = rec_key_find(config->config[i]->key);
		if (k == NULL)
			rv = tb_status_set(st, TB_INVALID_ARGUMENT, "unknown key '%s'",
			                   config->config[i]->key);
		else
			rv = rec_key_set(&next, k, config->config[i]->value, st);
	}
	if (rv == TB_OK && next.record_file == NULL)
		rv = tb_status_set(st, TB_INVALID_ARGUMENT, "'record_file' is required");
	if (rv != TB_OK) {
		rec_config_fini(&next);
		return rv;
	}
	pthread_mutex_lock(&rec_lock);
	rec_config_fini(&rec_cfg);
	rec_cfg = next;
	pthread_mutex_unlock(&rec_lock);
	return TB_OK;
}

/* Appends "<what> <id>\n" to the record file and fsyncs it. */
static int rec_append(tb_call *call, const char *path, const char *what, const char *id)
{
	char line[512];
	int fd, n = snprintf(line, sizeof(line), "%s %s\n", what, id);
	bool ok;

	if (path == NULL)
		return tb_call_error(call, TB_FAILED_PRECONDITION, "not configured: no record_file");
	if (n < 0 || (size_t)n >= sizeof(line))
		return tb_call_error(call, TB_INVALID_ARGUMENT, "cluster id too long");
	pthread_mutex_lock(&rec_lock);
	fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
	ok = fd >= 0 && write(fd, line, (size_t)n) == n && fsync(fd) == 0;
	if (fd >= 0)
		close(fd);
	pthread_mutex_unlock(&rec_lock);
	if (!ok)
		return tb_call_error(call, TB_INTERNAL, "cannot record to %s: %s", path,
		                     strerror(errno));
	fprintf(stderr, "recording-provisioner: %s %s\n", what, id);
	return TB_OK;
}

/* Sleeps ms; returns early with the stop code when the call stops, unless told not to. */
static int rec_sleep(tb_call *call, int64_t ms, bool ignore_cancel)
{
	struct timespec step = {0, (long)REC_STEP_MS * 1000000L};

	if (!ignore_cancel)
		return ms > 0 ? tb_call_wait(call, ms > UINT32_MAX ? UINT32_MAX : (uint32_t)ms) : TB_OK;
	for (int64_t left = ms; left > 0; left -= REC_STEP_MS)
		nanosleep(&step, NULL);
	return TB_OK;
}

static int rec_prop_bool(tb_arena *a, Testbus__V1__ClusterInfo *ci, const char *key, bool b)
{
	Testbus__V1__ClusterInfo__PropertiesEntry **entries;
	Testbus__V1__ClusterInfo__PropertiesEntry *e = tb_arena_zalloc(a, sizeof(*e));
	Testbus__V1__Value *v = tb_arena_zalloc(a, sizeof(*v));

	entries = tb_arena_zalloc(a, sizeof(*entries));
	if (e == NULL || v == NULL || entries == NULL)
		return TB_RESOURCE_EXHAUSTED;
	testbus__v1__cluster_info__properties_entry__init(e);
	testbus__v1__value__init(v);
	v->kind_case = TESTBUS__V1__VALUE__KIND_BOOL_VALUE;
	v->bool_value = b;
	e->key = (char *)key;
	e->value = v;
	entries[0] = e;
	ci->properties = entries;
	ci->n_properties = 1;
	return TB_OK;
}

static int rec_cluster(tb_call *call, const char *id, bool created, Testbus__V1__ClusterInfo **cip)
{
	tb_arena *a = tb_call_arena(call);
	Testbus__V1__ClusterInfo *ci = tb_arena_zalloc(a, sizeof(*ci));

	if (ci == NULL)
		return tb_call_error(call, TB_RESOURCE_EXHAUSTED, "out of memory");
	testbus__v1__cluster_info__init(ci);
	ci->id = tb_arena_strdup(a, id);
	ci->name = tb_arena_printf(a, "recorded-%s", id);
	ci->provider = "recording";
	ci->region = "test-region-1";
	ci->version = "1.0.0";
	if (ci->id == NULL || ci->name == NULL || rec_prop_bool(a, ci, "created", created) != TB_OK)
		return tb_call_error(call, TB_RESOURCE_EXHAUSTED, "out of memory");
	*cip = ci;
	return TB_OK;
}

static int rec_provision(tb_call *call, const ProtobufCMessage *input, ProtobufCMessage **outp,
                         void *arg)
{
	const Testbus__V1__ProvisionRequest *req = (const Testbus__V1__ProvisionRequest *)input;
	Testbus__V1__ClusterInfo *ci = NULL;
	struct rec_config cfg;
	char id[128];
	int rv;

	if (rec_config_get(&cfg) != TB_OK)
		return tb_call_error(call, TB_RESOURCE_EXHAUSTED, "out of memory");
	if (req->reuse_cluster_id[0] != '\0') {
		if ((rv = rec_append(call, cfg.record_file, "reuse", req->reuse_cluster_id)) == TB_OK)
			rv = rec_cluster(call, req->reuse_cluster_id, false, &ci);
		goto out;
	}
	if (cfg.fail_provision) {
		rv = tb_call_error(call, TB_INTERNAL, "provisioning failed (fail_provision is set)");
		goto out;
	}
	if ((rv = rec_append(call, cfg.record_file, "provisioning",
	                     req->run_id[0] ? req->run_id : "-")) != TB_OK)
		goto out;
	if ((rv = rec_sleep(call, cfg.provision_delay_ms, cfg.ignore_cancel)) != TB_OK) {
		rv = tb_call_error(call, rv, "stopped before the cluster was created");
		goto out;
	}
	pthread_mutex_lock(&rec_lock);
	snprintf(id, sizeof(id), "rec-%ld-%u", (long)getpid(), ++rec_counter);
	pthread_mutex_unlock(&rec_lock);
	if ((rv = rec_append(call, cfg.record_file, "provision", id)) == TB_OK)
		rv = rec_cluster(call, id, true, &ci);
out:
	rec_config_fini(&cfg);
	*outp = rv == TB_OK ? &ci->base : NULL;
	return rv;
}

static int rec_destroy(tb_call *call, const ProtobufCMessage *input, ProtobufCMessage **outp,
                       void *arg)
{
	const Testbus__V1__ClusterInfo *ci = (const Testbus__V1__ClusterInfo *)input;
	Testbus__V1__Empty *empty = tb_arena_zalloc(tb_call_arena(call), sizeof(*empty));
	struct rec_config cfg;
	int rv;

	if (empty == NULL || rec_config_get(&cfg) != TB_OK)
		return tb_call_error(call, TB_RESOURCE_EXHAUSTED, "out of memory");
	testbus__v1__empty__init(empty);
	if (cfg.fail_destroy ||
	    (cfg.fail_destroy_flag != NULL && access(cfg.fail_destroy_flag, F_OK) == 0)) {
		if ((rv = rec_append(call, cfg.record_file, "destroy-failed", ci->id)) == TB_OK)
			rv = tb_call_error(call, TB_INTERNAL, "cannot destroy cluster '%s' (as configured)",
			                   ci->id);
	} else {
		rv = rec_append(call, cfg.record_file, "destroy", ci->id);
	}
	rec_config_fini(&cfg);
	*outp = rv == TB_OK ? &empty->base : NULL;
	return rv;
}

static int rec_get_kubeconfig(tb_call *call, const ProtobufCMessage *input,
                              ProtobufCMessage **outp, void *arg)
{
	const Testbus__V1__ClusterInfo *ci = (const Testbus__V1__ClusterInfo *)input;
	tb_arena *a = tb_call_arena(call);
	Testbus__V1__Kubeconfig *kc = tb_arena_zalloc(a, sizeof(*kc));
	char *text = tb_arena_printf(a,
	                             "apiVersion: v1\n"
	                             "kind: Config\n"
	                             "clusters:\n"
	                             "- name: %s\n"
	                             "  cluster:\n"
	                             "    server: https://127.0.0.1:1\n"
	                             "contexts:\n"
	                             "- name: %s\n"
	                             "  context: {cluster: %s, user: tester}\n"
	                             "current-context: %s\n"
	                             "users:\n"
	                             "- name: tester\n"
	                             "  user:\n"
	                             "    token: " REC_SECRET "\n",
	                             ci->id, ci->id, ci->id, ci->id);

	if (kc == NULL || text == NULL)
		return tb_call_error(call, TB_RESOURCE_EXHAUSTED, "out of memory");
	testbus__v1__kubeconfig__init(kc);
	kc->data.data = (uint8_t *)text;
	kc->data.len = strlen(text);
	*outp = &kc->base;
	return TB_OK;
}

static int rec_health(tb_call *call, const ProtobufCMessage *input, ProtobufCMessage **outp,
                      void *arg)
{
	tb_arena *a = tb_call_arena(call);
	Testbus__V1__HealthStatus *hs = tb_arena_zalloc(a, sizeof(*hs));
	struct rec_config cfg;
	int rv;

	if (hs == NULL || rec_config_get(&cfg) != TB_OK)
		return tb_call_error(call, TB_RESOURCE_EXHAUSTED, "out of memory");
	testbus__v1__health_status__init(hs);
	if (cfg.hang_health) {
		/* never answers before the caller gives up */
		while ((rv = tb_call_wait(call, 1000)) == TB_OK)
			;
		rec_config_fini(&cfg);
		return tb_call_error(call, rv, "Health hangs (hang_health is set)");
	}
	rec_config_fini(&cfg);
	hs->healthy = true;
	hs->message = "healthy: a recorded cluster";
	*outp = &hs->base;
	return TB_OK;
}

static const tb_method rec_methods[] = {
	{"Provision", rec_provision},
	{"Destroy", rec_destroy},
	{"GetKubeconfig", rec_get_kubeconfig},
	{"Health", rec_health},
};

static const char rec_help[] =
    "  record_file: PATH          where provision/reuse/destroy lines are appended (required)\n"
    "  fail_provision: BOOL       Provision fails\n"
    "  provision_delay_ms: MS     Provision takes this long\n"
    "  ignore_cancel: BOOL        a slow Provision finishes even when cancelled\n"
    "  fail_destroy: BOOL         Destroy fails\n"
    "  fail_destroy_flag: PATH    Destroy fails while PATH exists\n"
    "  hang_health: BOOL          Health never answers";

int main(int argc, char **argv)
{
	const tb_component comp = {
		.name = "recording",
		.kind = TESTBUS__V1__COMPONENT_KIND__KIND_PROVISIONER,
		.summary = "Test provisioner that records the clusters it creates and destroys.",
		.service = &testbus__v1__provisioner__descriptor,
		.methods = rec_methods,
		.n_methods = sizeof(rec_methods) / sizeof(rec_methods[0]),
		.configure = rec_configure,
		.default_capacity = 4,
		.config_help = rec_help,
	};
	int status = tb_component_main(&comp, argc, argv);

	rec_config_fini(&rec_cfg);
	return status;
}
