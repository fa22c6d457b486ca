/* One `testbus run`: its state, shared by the steps of the workflow. */
#ifndef TESTBUS_BROKER_RUN_H
#define TESTBUS_BROKER_RUN_H

#include <stdatomic.h>
#include <stdbool.h>

#include "broker.h"
#include "journal.h"

/* One attempt of a target on an executor. */
struct target_attempt {
	uint32_t attempt;
	char *executor; /* owned */
	char *reason;   /* owned: "completed", "executor lost: ...", ... */
};

/* A target of a phase (one shard of a config target). */
struct target_run {
	const struct config_target *cfg;
	char *target_id;             /* owned: "<phase>/<target>[/<shard>]" */
	struct config_labels labels; /* owned copies: the target's plus shard/shards */
	uint32_t shard, shards;      /* shard from 0; shards 0 when not sharded */
	uint32_t attempt;            /* the current attempt, from 1 */
	struct comp *executor;       /* of the current or last attempt */
	struct target_attempt *attempts;
	size_t n_attempts;
	Testbus__V1__ExecutionResult *result;       /* owned (unpacked); NULL until done */
	Testbus__V1__AnalysisResult **analysis;     /* owned (unpacked) */
	size_t n_analysis;
	enum { TARGET_PENDING, TARGET_RUNNING, TARGET_DONE } state;
};

struct phase_run {
	const struct config_phase *cfg;
	struct target_run *targets;
	size_t n;
};

struct run {
	const struct broker_config *cfg;
	struct registry *reg;
	const char *run_id;
	const char *run_dir;
	struct journal journal;
	struct comp *provisioner;
	Testbus__V1__ClusterInfo *cluster; /* owned (unpacked); NULL until provisioned */
	uint8_t *kubeconfig;               /* owned; may be NULL */
	size_t kubeconfig_len;
	bool created; /* this run provisioned the cluster */
	bool failed;  /* a step failed */
	struct phase_run *phases;
	size_t n_phases;
	char **errors; /* owned, run-level problems */
	size_t n_errors;
	int64_t started_at, finished_at;
};

/* Signals seen by the run: 1 = stop and clean up, 2 = hurry to destroy. */
extern _Atomic int run_signals;

/* Records a run-level problem (printed and kept for results.json). */
void run_error(struct run *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Runs the phases of the config on the cluster, filling r->phases. */
void execute_phases(struct run *r);
void phase_run_fini(struct phase_run *pr);

/* Analyses the results ShouldAnalyze selects, with every analyzer. */
void analyze_results(struct run *r);

/* Sends the run to every reporter: Initialize, Report, Finalize each. */
void report_results(struct run *r, bool success);

/* Writes <run>/results.json (secrets redacted). */
void report_write_results(struct run *r, bool success);

/*
 * Writes <run>/results.json of the run so far: success false, no finish
 * time. Called after each step that produces results, so that a broker
 * killed later still leaves the results of the steps that finished.
 */
void report_checkpoint(struct run *r);

/* The whole workflow; returns the exit status. */
int run_workflow(struct run *r);

#endif
