/* Analysis: each analyzer looks at the results its policy selects. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "inflight.h"
#include "run.h"

#define ANALYZE_MAX 32
#define ANALYZE_LOG_TAIL 16384
#define ANALYZE_EXIT_WAIT_MS 2000u /* from a dropped connection to its process's exit */

/* The last bytes of a log file as text; caller frees. NULL when unreadable. */
static char *analyze_log_tail(const char *path)
{
	int fd = path ? open(path, O_RDONLY | O_CLOEXEC) : -1;
	if (fd < 0)
		return NULL;
	off_t size = lseek(fd, 0, SEEK_END);
	off_t from = size > ANALYZE_LOG_TAIL ? size - ANALYZE_LOG_TAIL : 0;
	char *buf = malloc(ANALYZE_LOG_TAIL + 1);
	ssize_t n = buf ? pread(fd, buf, ANALYZE_LOG_TAIL, from) : -1;
	close(fd);
	if (n < 0) {
		free(buf);
		return NULL;
	}
	buf[n] = '\0';
	return buf;
}

/* Whether analyzer a looks at this result, per the config or its ShouldAnalyze. */
static bool analyze_wanted(struct run *r, struct comp *a, const Testbus__V1__ExecutionResult *res)
{
	switch (a->cfg->when) {
	case CONFIG_WHEN_ALWAYS:
		return true;
	case CONFIG_WHEN_NEVER:
		return false;
	case CONFIG_WHEN_ON_FAILURE:
		return !res->success;
	case CONFIG_WHEN_ASK:
		break;
	}
	Testbus__V1__Decision *d = NULL;
	tb_status st;
	tb_call_opts opts = {.deadline_ms = r->cfg->timeouts.analyze_ms};
	int rv = tb_analyzer_should_analyze(a->conn, res, &d, &opts, &st);
	if (rv != TB_OK) {
		blog("analyzer %s: ShouldAnalyze failed: %s", a->cfg->name, st.message);
		if (rv == TB_UNAVAILABLE && registry_wait_dead(a, ANALYZE_EXIT_WAIT_MS))
			run_error(r, "analyzer %s died: the results after it are not analysed by it",
			          a->cfg->name);
		return false;
	}
	bool yes = d->analyze;
	testbus__v1__decision__free_unpacked(d, NULL);
	return yes;
}

static void analyze_target(struct run *r, struct target_run *t, struct comp **analyzers,
                           size_t n)
{
	Testbus__V1__ClusterInfo cluster = *r->cluster;
	cluster.kubeconfig.data = NULL; /* analyzers never see secrets they do not need */
	cluster.kubeconfig.len = 0;
	char *log = analyze_log_tail(t->executor ? t->executor->log_path : NULL);
	Testbus__V1__LogExcerpt excerpt = TESTBUS__V1__LOG_EXCERPT__INIT;
	Testbus__V1__LogExcerpt *excerpts[1] = {&excerpt};
	excerpt.name = t->executor ? t->executor->cfg->name : "executor";
	excerpt.text = log;
	Testbus__V1__AnalysisInput__LabelsEntry *lstore = calloc(t->labels.n + 1, sizeof(*lstore));
	Testbus__V1__AnalysisInput__LabelsEntry **lptrs = calloc(t->labels.n + 1, sizeof(*lptrs));
	t->analysis = calloc(n + 1, sizeof(*t->analysis));
	if (lstore == NULL || lptrs == NULL || t->analysis == NULL)
		goto out;
	for (size_t i = 0; i < t->labels.n; i++) {
		testbus__v1__analysis_input__labels_entry__init(&lstore[i]);
		lstore[i].key = t->labels.items[i].key;
		lstore[i].value = t->labels.items[i].value;
		lptrs[i] = &lstore[i];
	}
	for (size_t i = 0; i < n && atomic_load(&run_signals) == 0; i++) {
		/* A dead analyzer would make every call wait out its deadline. */
		if (analyzers[i]->lost || !analyze_wanted(r, analyzers[i], t->result))
			continue;
		Testbus__V1__AnalysisInput in = TESTBUS__V1__ANALYSIS_INPUT__INIT;
		in.result = t->result;
		in.cluster = &cluster;
		in.labels = lptrs;
		in.n_labels = t->labels.n;
		in.logs = log ? excerpts : NULL;
		in.n_logs = log ? 1 : 0;
		in.run_id = (char *)r->run_id;
		/* Findings of the analyzers that ran before, e.g. rules for the LLM. */
		Testbus__V1__Finding **prior = NULL;
		size_t n_prior = 0;
		for (size_t k = 0; k < t->n_analysis; k++)
			n_prior += t->analysis[k]->n_findings;
		prior = calloc(n_prior + 1, sizeof(*prior));
		for (size_t k = 0, m = 0; prior && k < t->n_analysis; k++) {
			for (size_t f = 0; f < t->analysis[k]->n_findings; f++)
				prior[m++] = t->analysis[k]->findings[f];
		}
		in.prior_findings = prior;
		in.n_prior_findings = prior ? n_prior : 0;
		Testbus__V1__AnalysisResult *out = NULL;
		tb_status st;
		tb_call_opts opts = {.deadline_ms = r->cfg->timeouts.analyze_ms,
		                     .call_id = inflight_add(analyzers[i]->conn)};
		int rv = tb_analyzer_analyze(analyzers[i]->conn, &in, &out, &opts, &st);
		inflight_remove(opts.call_id);
		free(prior);
		if (rv != TB_OK) {
			run_error(r, "analyzer %s on %s: %s", analyzers[i]->cfg->name, t->target_id,
			          st.message);
			if (rv == TB_UNAVAILABLE && registry_wait_dead(analyzers[i], ANALYZE_EXIT_WAIT_MS))
				run_error(r, "analyzer %s died: the results after it are not analysed by it",
				          analyzers[i]->cfg->name);
			continue;
		}
		if (out->analyzer == NULL || out->analyzer[0] == '\0')
			out->analyzer = strdup(analyzers[i]->cfg->name);
		t->analysis[t->n_analysis++] = out;
	}
out:
	free(lstore);
	free(lptrs);
	free(log);
}

void analyze_results(struct run *r)
{
	struct comp *analyzers[ANALYZE_MAX];
	size_t n = registry_of_kind(r->reg, TESTBUS__V1__COMPONENT_KIND__KIND_ANALYZER, analyzers,
	                            ANALYZE_MAX);
	if (n == 0)
		return;
	for (size_t p = 0; p < r->n_phases; p++) {
		for (size_t i = 0; i < r->phases[p].n; i++) {
			struct target_run *t = &r->phases[p].targets[i];
			if (t->result != NULL)
				analyze_target(r, t, analyzers, n);
		}
	}
}
