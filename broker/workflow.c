/* The workflow of a run: provision, health, phases, analysis, reports, destroy. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "inflight.h"
#include "run.h"

#define HEALTH_FIRST_WAIT_MS 500u
#define HEALTH_MAX_WAIT_MS 15000u
#define HEALTH_CALL_MS 60000u
#define DESTROY_HURRY_MS 60000u
#define PROCESS_EXIT_WAIT_MS 2000u /* from a dropped connection to its process's exit */

_Atomic int run_signals;

void run_error(struct run *r, const char *fmt, ...)
{
	char *msg = NULL;
	va_list ap;
	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) < 0)
		msg = NULL;
	va_end(ap);
	r->failed = true;
	if (msg == NULL)
		return;
	blog("%s", msg);
	char **errors = realloc(r->errors, (r->n_errors + 1) * sizeof(*errors));
	if (errors == NULL) {
		free(msg);
		return;
	}
	r->errors = errors;
	r->errors[r->n_errors++] = msg;
}

static int64_t workflow_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static bool workflow_provision(struct run *r)
{
	const struct config_cluster *cc = &r->cfg->cluster;
	Testbus__V1__ProvisionRequest req = TESTBUS__V1__PROVISION_REQUEST__INIT;
	Testbus__V1__ProvisionRequest__LabelsEntry *lstore = calloc(cc->labels.n + 1, sizeof(*lstore));
	Testbus__V1__ProvisionRequest__LabelsEntry **lptrs = calloc(cc->labels.n + 1, sizeof(*lptrs));
	Testbus__V1__ProvisionRequest__PropertiesEntry **pptrs =
	    calloc(cc->properties->n_fields + 1, sizeof(*pptrs));
	Testbus__V1__ProvisionRequest__PropertiesEntry *pstore =
	    calloc(cc->properties->n_fields + 1, sizeof(*pstore));
	bool ok = false;
	if (lstore == NULL || lptrs == NULL || pptrs == NULL || pstore == NULL) {
		run_error(r, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < cc->labels.n; i++) {
		testbus__v1__provision_request__labels_entry__init(&lstore[i]);
		lstore[i].key = cc->labels.items[i].key;
		lstore[i].value = cc->labels.items[i].value;
		lptrs[i] = &lstore[i];
	}
	for (size_t i = 0; i < cc->properties->n_fields; i++) {
		testbus__v1__provision_request__properties_entry__init(&pstore[i]);
		pstore[i].key = cc->properties->fields[i]->key;
		pstore[i].value = cc->properties->fields[i]->value;
		pptrs[i] = &pstore[i];
	}
	req.run_id = (char *)r->run_id;
	req.name = cc->name ? cc->name : (char *)"";
	req.reuse_cluster_id = cc->reuse_id ? cc->reuse_id : (char *)"";
	req.labels = lptrs;
	req.n_labels = cc->labels.n;
	req.properties = pptrs;
	req.n_properties = cc->properties->n_fields;
	journal_write(&r->journal, "provisioning %s", r->provisioner->cfg->name);
	blog("%s cluster with %s", cc->reuse_id ? "reusing" : "provisioning a",
	     r->provisioner->cfg->name);
	tb_kv meta[] = {{TB_META_RUN_ID, r->run_id}};
	tb_call_opts opts = {.deadline_ms = r->cfg->timeouts.provision_ms, .metadata = meta,
	                     .n_metadata = 1, .call_id = inflight_add(r->provisioner->conn)};
	tb_status st;
	int rv = tb_provisioner_provision(r->provisioner->conn, &req, &r->cluster, &opts, &st);
	inflight_remove(opts.call_id);
	if (rv != TB_OK) {
		run_error(r, "provision: %s: %s", tb_strerror(rv), st.message);
		goto out;
	}
	r->created = cc->reuse_id == NULL;
	if (journal_cluster(&r->journal, r->cluster, r->created) != TB_OK)
		blog("warning: cannot write the journal: testbus cleanup may miss this cluster");
	blog("cluster %s (%s) %s", r->cluster->id, r->cluster->provider,
	     r->created ? "provisioned" : "reused");
	ok = true;
out:
	free(lstore);
	free(lptrs);
	free(pstore);
	free(pptrs);
	return ok;
}

/* Fetches the kubeconfig and writes it 0600 into the run folder. */
static bool workflow_kubeconfig(struct run *r)
{
	Testbus__V1__Kubeconfig *kc = NULL;
	tb_status st;
	tb_call_opts opts = {0}; /* the method's default deadline */
	int rv = tb_provisioner_get_kubeconfig(r->provisioner->conn, r->cluster, &kc, &opts, &st);
	if (rv != TB_OK) {
		run_error(r, "kubeconfig: %s: %s", tb_strerror(rv), st.message);
		return false;
	}
	const ProtobufCBinaryData *data = kc->data.len ? &kc->data : &r->cluster->kubeconfig;
	if (data->len > 0) {
		r->kubeconfig = malloc(data->len);
		if (r->kubeconfig != NULL) {
			memcpy(r->kubeconfig, data->data, data->len);
			r->kubeconfig_len = data->len;
		}
		char path[4096];
		snprintf(path, sizeof(path), "%s/kubeconfig", r->run_dir);
		int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
		if (fd < 0 || write(fd, data->data, data->len) != (ssize_t)data->len)
			blog("warning: cannot write %s: %s", path, strerror(errno));
		if (fd >= 0)
			close(fd);
	}
	testbus__v1__kubeconfig__free_unpacked(kc, NULL);
	return true;
}

static void workflow_log_checks(const Testbus__V1__HealthStatus *h)
{
	for (size_t i = 0; i < h->n_checks; i++)
		blog("  health %s: %s%s%s", h->checks[i]->name, h->checks[i]->ok ? "ok" : "failing",
		     h->checks[i]->message[0] ? ": " : "", h->checks[i]->message);
}

/*
 * Starts a provisioner that died (it crashed, or was killed mid-call) again,
 * so that its cluster does not outlive the run; false when it cannot be.
 */
static bool workflow_revive_provisioner(struct run *r, uint32_t wait_ms)
{
	tb_status st;
	if (!registry_wait_dead(r->provisioner, wait_ms))
		return false;
	blog("provisioner %s died: starting it again to destroy the cluster",
	     r->provisioner->cfg->name);
	if (registry_restart(r->reg, r->provisioner, r->run_id, r->run_dir,
	                     r->cfg->timeouts.start_ms, &st) != TB_OK) {
		blog("provisioner %s: cannot start it again: %s", r->provisioner->cfg->name,
		     st.message);
		return false;
	}
	return true;
}

/* Polls Health with backoff until healthy or the health timeout. */
static bool workflow_health(struct run *r)
{
	uint64_t start = (uint64_t)workflow_now_ms();
	uint32_t wait = HEALTH_FIRST_WAIT_MS;
	char last[TB_STATUS_MESSAGE_MAX] = "no answer";
	while (atomic_load(&run_signals) == 0) {
		Testbus__V1__HealthStatus *h = NULL;
		tb_status st;
		uint64_t spent = (uint64_t)workflow_now_ms() - start;
		uint64_t left = spent < r->cfg->timeouts.health_ms ? r->cfg->timeouts.health_ms - spent : 1;
		/* A hanging Health call must not outlast the health timeout. */
		tb_call_opts opts = {.deadline_ms = (uint32_t)(left < HEALTH_CALL_MS ? left : HEALTH_CALL_MS),
		                     .call_id = inflight_add(r->provisioner->conn)};
		int rv = tb_provisioner_health(r->provisioner->conn, r->cluster, &h, &opts, &st);
		inflight_remove(opts.call_id);
		if (rv == TB_OK && h->healthy) {
			blog("cluster healthy%s%s", h->message[0] ? ": " : "", h->message);
			workflow_log_checks(h);
			testbus__v1__health_status__free_unpacked(h, NULL);
			return true;
		}
		snprintf(last, sizeof(last), "%s", rv == TB_OK ? h->message : st.message);
		if (h != NULL)
			testbus__v1__health_status__free_unpacked(h, NULL);
		/* Nothing answers a dead provisioner's address: no point polling it. */
		if (rv == TB_UNAVAILABLE && registry_wait_dead(r->provisioner, PROCESS_EXIT_WAIT_MS)) {
			snprintf(last, sizeof(last), "the provisioner %s died",
			         r->provisioner->cfg->name);
			break;
		}
		if ((uint64_t)workflow_now_ms() - start + wait > r->cfg->timeouts.health_ms)
			break;
		usleep(wait * 1000u);
		wait = wait * 2 > HEALTH_MAX_WAIT_MS ? HEALTH_MAX_WAIT_MS : wait * 2;
	}
	run_error(r, "cluster not healthy within %u s: %s", r->cfg->timeouts.health_ms / 1000, last);
	return false;
}

/* Destroys the cluster per the keep policy; a failed Destroy fails the run. */
static void workflow_destroy(struct run *r, bool succeeded)
{
	if (r->cluster == NULL)
		return;
	if (!config_should_destroy(&r->cfg->cluster, r->created, succeeded)) {
		journal_write(&r->journal, "kept %s", r->cluster->id);
		blog("keeping cluster %s (%s)", r->cluster->id,
		     r->created ? config_keep_name(r->cfg->cluster.keep) : "reused, not created by this run");
		return;
	}
	journal_write(&r->journal, "destroying %s", r->cluster->id);
	blog("destroying cluster %s", r->cluster->id);
	uint32_t deadline = atomic_load(&run_signals) > 1 ? DESTROY_HURRY_MS
	                                                  : r->cfg->timeouts.destroy_ms;
	Testbus__V1__Empty *none = NULL;
	tb_status st;
	/* An attached provisioner that dropped the connection may come back
	 * within the deadline; a spawned one that died is started again. */
	bool spawned = r->provisioner->pid != 0;
	tb_call_opts opts = {.deadline_ms = deadline, .retries = spawned ? 0 : 2};
	int rv = TB_UNAVAILABLE;
	workflow_revive_provisioner(r, 0);
	if (r->provisioner->conn == NULL)
		tb_status_set(&st, rv, "the provisioner could not be started again");
	else
		rv = tb_provisioner_destroy(r->provisioner->conn, r->cluster, &none, &opts, &st);
	/* Once more on a provisioner started again, or on one still running. */
	if (rv == TB_UNAVAILABLE && spawned &&
	    (workflow_revive_provisioner(r, PROCESS_EXIT_WAIT_MS) || !r->provisioner->lost))
		rv = tb_provisioner_destroy(r->provisioner->conn, r->cluster, &none, &opts, &st);
	if (rv != TB_OK) {
		journal_write(&r->journal, "destroy-failed %s", r->cluster->id);
		run_error(r, "destroy of cluster %s failed: %s: %s (run `testbus cleanup` to retry)",
		          r->cluster->id, tb_strerror(rv), st.message);
		return;
	}
	testbus__v1__empty__free_unpacked(none, NULL);
	journal_write(&r->journal, "destroyed %s", r->cluster->id);
	blog("cluster %s destroyed", r->cluster->id);
}

static bool workflow_tests_passed(const struct run *r)
{
	for (size_t p = 0; p < r->n_phases; p++) {
		for (size_t i = 0; i < r->phases[p].n; i++) {
			const struct target_run *t = &r->phases[p].targets[i];
			if (t->result == NULL || !t->result->success)
				return false;
		}
	}
	return true;
}

int run_workflow(struct run *r)
{
	r->started_at = workflow_now_ms();
	for (size_t i = 0; i < r->reg->n; i++) {
		struct comp *c = &r->reg->comps[i];
		if (c->cfg == r->cfg->cluster.provisioner.component && !c->skipped)
			r->provisioner = c;
	}
	if (r->provisioner == NULL) {
		run_error(r, "no provisioner is available");
		return EXIT_RUN_FAILED;
	}
	bool ready = workflow_provision(r) && atomic_load(&run_signals) == 0 &&
	             workflow_kubeconfig(r) && atomic_load(&run_signals) == 0 && workflow_health(r);
	if (ready && atomic_load(&run_signals) == 0)
		execute_phases(r);
	if (atomic_load(&run_signals) == 0) {
		analyze_results(r);
		report_checkpoint(r);
	}
	bool passed = ready && r->n_phases == r->cfg->n_phases && workflow_tests_passed(r);
	if (atomic_load(&run_signals) != 0)
		run_error(r, "interrupted: cleaning up");
	if (atomic_load(&run_signals) < 2)
		report_results(r, passed && !r->failed);
	workflow_destroy(r, passed && !r->failed);
	r->finished_at = workflow_now_ms();
	bool success = passed && !r->failed && atomic_load(&run_signals) == 0;
	report_write_results(r, success);
	success = success && !r->failed;
	blog("run %s %s", r->run_id, success ? "passed" : "failed");
	return success ? EXIT_RUN_OK : EXIT_RUN_FAILED;
}
