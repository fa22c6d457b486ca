/* Reporting: the run as a ReportInput, written to results.json and sent to every reporter. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "inflight.h"
#include "results_json.h"
#include "run.h"

#define REPORT_MAX 32
#define REPORT_EXIT_WAIT_MS 2000u /* from a dropped connection to its process's exit */

static Testbus__V1__TargetReport *report_target(tb_arena *a, struct target_run *t)
{
	Testbus__V1__TargetReport *tr = tb_arena_zalloc(a, sizeof(*tr));
	if (tr == NULL)
		return NULL;
	testbus__v1__target_report__init(tr);
	tr->target_id = t->target_id;
	tr->executor = t->executor ? (char *)comp_name(t->executor) : "";
	tr->result = t->result;
	tr->analysis = t->analysis;
	tr->n_analysis = t->n_analysis;
	tr->labels = tb_arena_zalloc(a, (t->labels.n + 1) * sizeof(*tr->labels));
	tr->attempts = tb_arena_zalloc(a, (t->n_attempts + 1) * sizeof(*tr->attempts));
	if (tr->labels == NULL || tr->attempts == NULL)
		return NULL;
	for (size_t i = 0; i < t->labels.n; i++) {
		Testbus__V1__TargetReport__LabelsEntry *e = tb_arena_zalloc(a, sizeof(*e));
		if (e == NULL)
			return NULL;
		testbus__v1__target_report__labels_entry__init(e);
		e->key = t->labels.items[i].key;
		e->value = t->labels.items[i].value;
		tr->labels[tr->n_labels++] = e;
	}
	for (size_t i = 0; i < t->n_attempts; i++) {
		Testbus__V1__TargetAttempt *at = tb_arena_zalloc(a, sizeof(*at));
		if (at == NULL)
			return NULL;
		testbus__v1__target_attempt__init(at);
		at->attempt = t->attempts[i].attempt;
		at->executor = t->attempts[i].executor;
		at->reason = t->attempts[i].reason;
		tr->attempts[tr->n_attempts++] = at;
	}
	return tr;
}

/* The run as reporters see it. Everything is in a or borrowed from r. */
static Testbus__V1__ReportInput *report_build(tb_arena *a, struct run *r, bool success)
{
	Testbus__V1__ReportInput *in = tb_arena_zalloc(a, sizeof(*in));
	Testbus__V1__ResultSummary *sum = tb_arena_zalloc(a, sizeof(*sum));
	Testbus__V1__ClusterInfo *cluster = tb_arena_zalloc(a, sizeof(*cluster));
	if (in == NULL || sum == NULL || cluster == NULL)
		return NULL;
	testbus__v1__report_input__init(in);
	testbus__v1__result_summary__init(sum);
	in->run_id = (char *)r->run_id;
	in->success = success;
	in->artifacts_dir = (char *)r->run_dir;
	in->started_at = r->started_at;
	in->finished_at = r->finished_at;
	if (r->cluster != NULL) {
		*cluster = *r->cluster;
		cluster->kubeconfig.data = NULL;
		cluster->kubeconfig.len = 0;
		in->cluster = cluster;
	}
	in->errors = r->errors;
	in->n_errors = r->n_errors;
	in->phases = tb_arena_zalloc(a, (r->n_phases + 1) * sizeof(*in->phases));
	if (in->phases == NULL)
		return NULL;
	for (size_t p = 0; p < r->n_phases; p++) {
		Testbus__V1__PhaseReport *pr = tb_arena_zalloc(a, sizeof(*pr));
		if (pr == NULL)
			return NULL;
		testbus__v1__phase_report__init(pr);
		pr->name = r->phases[p].cfg->name;
		pr->targets = tb_arena_zalloc(a, (r->phases[p].n + 1) * sizeof(*pr->targets));
		if (pr->targets == NULL)
			return NULL;
		for (size_t i = 0; i < r->phases[p].n; i++) {
			Testbus__V1__TargetReport *tr = report_target(a, &r->phases[p].targets[i]);
			if (tr == NULL)
				return NULL;
			pr->targets[pr->n_targets++] = tr;
			if (tr->result != NULL)
				tb_results_add_summary(sum, tr->result->summary);
		}
		in->phases[in->n_phases++] = pr;
	}
	in->summary = sum;
	return in;
}

/* Initialize, Report and Finalize on one reporter; false when any failed. */
static bool report_one(struct run *r, struct comp *c, const Testbus__V1__ReportInput *in)
{
	tb_call_opts opts = {.deadline_ms = r->cfg->timeouts.report_ms};
	tb_status st;
	Testbus__V1__ReporterInit init = TESTBUS__V1__REPORTER_INIT__INIT;
	Testbus__V1__Empty empty = TESTBUS__V1__EMPTY__INIT, *none = NULL;
	Testbus__V1__ReportOutput *out = NULL;
	bool ok = true;
	int rv;
	init.run_id = (char *)r->run_id;
	init.artifacts_dir = (char *)r->run_dir;
	if ((rv = tb_reporter_initialize(c->conn, &init, &none, &opts, &st)) != TB_OK) {
		run_error(r, "reporter %s: Initialize: %s", c->cfg->name, st.message);
		ok = false;
	} else {
		testbus__v1__empty__free_unpacked(none, NULL);
		opts.call_id = inflight_add(c->conn);
		rv = tb_reporter_report(c->conn, in, &out, &opts, &st);
		inflight_remove(opts.call_id);
		opts.call_id = 0;
		if (rv != TB_OK) {
			run_error(r, "reporter %s: Report: %s", c->cfg->name, st.message);
			ok = false;
		} else {
			/* A reporter's text (the console summary) is for the person. */
			size_t len = out->message ? strlen(out->message) : 0;
			if (len > 0)
				printf("%s%s", out->message, out->message[len - 1] == '\n' ? "" : "\n");
			fflush(stdout);
			testbus__v1__report_output__free_unpacked(out, NULL);
		}
	}
	/* Finalize always runs, so a reporter can flush what it has, unless it
	 * died: the call would only wait out its deadline. */
	if (rv == TB_UNAVAILABLE && registry_wait_dead(c, REPORT_EXIT_WAIT_MS)) {
		run_error(r, "reporter %s died", c->cfg->name);
		return false;
	}
	out = NULL;
	if (tb_reporter_finalize(c->conn, &empty, &out, &opts, &st) != TB_OK) {
		run_error(r, "reporter %s: Finalize: %s", c->cfg->name, st.message);
		ok = false;
	} else {
		testbus__v1__report_output__free_unpacked(out, NULL);
	}
	return ok;
}

/* A redactor that knows the run's kubeconfig. Caller frees; may be NULL. */
static tb_redactor *report_redactor(struct run *r)
{
	tb_redactor *red = NULL;
	tb_status st;
	if (tb_redactor_alloc(NULL, 0, &red, &st) != TB_OK)
		return NULL;
	if (r->kubeconfig != NULL)
		tb_redactor_learn(red, (const char *)r->kubeconfig, r->kubeconfig_len);
	return red;
}

void report_results(struct run *r, bool success)
{
	tb_arena *a = NULL;
	struct comp *reporters[REPORT_MAX];
	size_t n = registry_of_kind(r->reg, TESTBUS__V1__COMPONENT_KIND__KIND_REPORTER, reporters,
	                            REPORT_MAX);
	if (n == 0)
		return;
	if (tb_arena_alloc(&a) != TB_OK) {
		run_error(r, "out of memory building the report");
		return;
	}
	Testbus__V1__ReportInput *in = report_build(a, r, success);
	if (in == NULL) {
		run_error(r, "out of memory building the report");
		goto out;
	}
	/* One failing reporter does not stop the others. */
	for (size_t i = 0; i < n; i++) {
		if (!report_one(r, reporters[i], in))
			r->failed = true;
	}
out:
	tb_arena_free(a);
}

/* Writes <run>/results.json (atomically: a reader never sees half of it); false when it cannot. */
static bool report_write(struct run *r, bool success)
{
	tb_arena *a = NULL;
	tb_redactor *red = report_redactor(r);
	tb_status st;
	char path[4096];
	bool ok = false;
	if (tb_arena_alloc(&a) != TB_OK) {
		blog("cannot write results: out of memory");
		goto out;
	}
	Testbus__V1__ReportInput *in = report_build(a, r, success);
	snprintf(path, sizeof(path), "%s/results.json", r->run_dir);
	if (in == NULL || tb_results_write_file(in, red, path, TB_RESULTS_PRETTY, &st) != TB_OK)
		blog("cannot write results: %s", in ? st.message : "out of memory");
	else
		ok = true;
out:
	tb_redactor_free(red);
	tb_arena_free(a);
	return ok;
}

void report_write_results(struct run *r, bool success)
{
	if (!report_write(r, success))
		r->failed = true;
}

void report_checkpoint(struct run *r)
{
	/* Only the final write decides whether the run failed. */
	(void)report_write(r, false);
}
