/* The handlers of the in-process servers: real component code, minus processes and network. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "console.h"
#include "executor.h"
#include "fuzz_bus.h"
#include "fuzz_components.h"
#include "html.h"
#include "junit_write.h"
#include "kubeconfig.h"
#include "llm.h"
#include "prov_support.h"
#include "redact.h"
#include "results_json.h"
#include "rules.h"
#include "should_analyze.h"

#define FUZZ_REASON_MAX 256

/* The state the analyzer handlers share; set by configure. */
static struct {
	tb_analyze_policy policy;
	rules_set *rules;
	struct llm_config llm;
	tb_redactor *redactor;
} analyzer;

static int analyzer_configure(const Testbus__V1__ComponentConfig *config, void *arg,
                              tb_status *st)
{
	tb_analyze_policy policy;
	int rv = tb_analyze_policy_from_config(config, &policy, st);
	if (rv == TB_OK)
		analyzer.policy = policy;
	return rv;
}

static int analyzer_should_analyze(tb_call *call, const ProtobufCMessage *input,
                                   ProtobufCMessage **outputp, void *arg)
{
	tb_arena *a = tb_call_arena(call);
	Testbus__V1__Decision *d = tb_arena_zalloc(a, sizeof(*d));
	char *reason = tb_arena_zalloc(a, FUZZ_REASON_MAX);
	if (d == NULL || reason == NULL)
		return tb_call_error(call, TB_RESOURCE_EXHAUSTED, "out of memory");
	testbus__v1__decision__init(d);
	tb_analyze_policy_decide(&analyzer.policy, (const Testbus__V1__ExecutionResult *)input, d,
	                         reason, FUZZ_REASON_MAX);
	fuzz_require(d->reason != NULL && strlen(d->reason) < FUZZ_REASON_MAX,
	             "a decision's reason fits its buffer");
	*outputp = &d->base;
	return TB_OK;
}

/* The rules analyzer's answer, with the LLM analyzer's prompt built from the same input. */
static int analyzer_analyze(tb_call *call, const ProtobufCMessage *input,
                            ProtobufCMessage **outputp, void *arg)
{
	const Testbus__V1__AnalysisInput *in = (const Testbus__V1__AnalysisInput *)input;
	tb_arena *a = tb_call_arena(call);
	Testbus__V1__AnalysisResult *res = NULL;
	struct llm_prompt prompt;
	tb_status st;
	int rv = llm_prompt_build(&analyzer.llm, analyzer.redactor, in, a, &prompt, &st);
	if (rv != TB_OK)
		return tb_call_error(call, rv, "%s", st.message);
	fuzz_require(strlen(prompt.system) + strlen(prompt.user) <= analyzer.llm.prompt_budget,
	             "the prompt keeps within its budget");
	if ((rv = rules_analyze(analyzer.rules, NULL, in, a, &res, &st)) != TB_OK)
		return tb_call_error(call, rv, "%s", st.message);
	*outputp = &res->base;
	return TB_OK;
}

static const tb_method analyzer_methods[] = {
	{"ShouldAnalyze", analyzer_should_analyze},
	{"Analyze", analyzer_analyze},
};

static void analyzer_init(void)
{
	tb_status st;
	tb_analyze_policy_init(&analyzer.policy);
	llm_config_init(&analyzer.llm);
	int rv = rules_set_alloc(&analyzer.rules, &st);
	if (rv == TB_OK)
		rv = rules_set_add_yaml(analyzer.rules, rules_default_yaml, rules_default_yaml_len,
		                        "default rules", &st);
	if (rv == TB_OK)
		rv = llm_redactor(&analyzer.llm, &analyzer.redactor, &st);
	if (rv != TB_OK) {
		fprintf(stderr, "fuzz: analyzer: %s\n", st.message);
		abort();
	}
}

/* Every rendering the shipped reporters make of one ReportInput. */
static int reporter_report(tb_call *call, const ProtobufCMessage *input,
                           ProtobufCMessage **outputp, void *arg)
{
	const Testbus__V1__ReportInput *in = (const Testbus__V1__ReportInput *)input;
	tb_arena *a = tb_call_arena(call);
	Testbus__V1__ReportInput *prepared = NULL;
	Testbus__V1__ReportOutput *out = tb_arena_zalloc(a, sizeof(*out));
	char *text = NULL;
	size_t len = 0;
	tb_status st;
	if (out == NULL)
		return tb_call_error(call, TB_RESOURCE_EXHAUSTED, "out of memory");
	testbus__v1__report_output__init(out);
	int rv = tb_results_to_string(in, NULL, 0, &text, &st);
	free(text); /* owned by us; NULL on error */
	text = NULL;
	if (rv == TB_OK)
		rv = tb_junit_write_memory(in, NULL, NULL, &text, &len, &st);
	free(text);
	if (rv == TB_OK)
		rv = tb_results_prepare(in, NULL, a, &prepared, &st);
	if (rv != TB_OK)
		return tb_call_error(call, rv, "%s", st.message);
	tb_rbuf page = {0};
	const console_opts copts = {.color = true, .max_failures = 20, .max_findings = 5,
	                            .width = 120};
	console_render(&page, prepared, &copts);
	tb_rbuf_fini(&page);
	const html_opts hopts = {.title = "fuzz", .max_output = 4096, .max_failures = 20,
	                         .max_chart_tests = 20};
	html_render(&page, prepared, &hopts);
	tb_rbuf_fini(&page);
	*outputp = &out->base;
	return TB_OK;
}

static const tb_method reporter_methods[] = {
	{"Report", reporter_report},
};

/* What the provisioners read of a cluster: its kubeconfig and properties. */
static int provisioner_read(tb_call *call, const Testbus__V1__ClusterInfo *ci)
{
	tb_kubeconfig kc;
	tb_status st;
	int rv = tb_kubeconfig_parse((const char *)ci->kubeconfig.data, ci->kubeconfig.len, "/",
	                             "kubeconfig", NULL, &kc, &st);
	if (rv == TB_OK) {
		char *flat = NULL;
		size_t len = 0;
		fuzz_require(kc.server != NULL || kc.cluster != NULL, "a read kubeconfig names its cluster");
		/* Only embedded credentials: a named file would be read from this host. */
		if (kc.ca_file == NULL && kc.cert_file == NULL && kc.key_file == NULL &&
		    tb_kubeconfig_flatten(&kc, &flat, &len, &st) == TB_OK)
			free(flat);
		tb_kubeconfig_fini(&kc);
	}
	(void)prov_prop_is(ci, "reuse", false);
	(void)prov_prop(ci, "kubeconfig_path");
	return rv == TB_OK ? TB_OK : tb_call_error(call, rv, "%s", st.message);
}

static int provisioner_get_kubeconfig(tb_call *call, const ProtobufCMessage *input,
                                      ProtobufCMessage **outputp, void *arg)
{
	const Testbus__V1__ClusterInfo *ci = (const Testbus__V1__ClusterInfo *)input;
	Testbus__V1__Kubeconfig *kc = tb_arena_zalloc(tb_call_arena(call), sizeof(*kc));
	if (kc == NULL)
		return tb_call_error(call, TB_RESOURCE_EXHAUSTED, "out of memory");
	testbus__v1__kubeconfig__init(kc);
	int rv = provisioner_read(call, ci);
	if (rv != TB_OK)
		return rv;
	kc->data = ci->kubeconfig;
	*outputp = &kc->base;
	return TB_OK;
}

static int provisioner_destroy(tb_call *call, const ProtobufCMessage *input,
                               ProtobufCMessage **outputp, void *arg)
{
	static Testbus__V1__Empty empty = TESTBUS__V1__EMPTY__INIT;
	int rv = provisioner_read(call, (const Testbus__V1__ClusterInfo *)input);
	if (rv != TB_OK)
		return rv;
	*outputp = &empty.base;
	return TB_OK;
}

static const tb_method provisioner_methods[] = {
	{"Destroy", provisioner_destroy},
	{"GetKubeconfig", provisioner_get_kubeconfig},
};

/* The filter label a framework reads by default, as ginkgo and pytest do. */
static const tb_exec_filter_default executor_filters[] = {
	{"focus", TB_FILTER_FOCUS},
	{"skip", TB_FILTER_SKIP},
	{"label-filter", TB_FILTER_LABEL_FILTER},
	{"markers", TB_FILTER_MARKERS},
	{"keyword", TB_FILTER_KEYWORD},
};

static const tb_exec_framework executor_framework = {
	.name = "fuzz",
	.summary = "plans a command from a target without running it",
	.filters = executor_filters,
	.n_filters = sizeof(executor_filters) / sizeof(executor_filters[0]),
};

/* An executor's planning of a target: filters, placeholders, label variables. */
static int executor_execute(tb_call *call, const ProtobufCMessage *input,
                            ProtobufCMessage **outputp, void *arg)
{
	const Testbus__V1__ExecutionTarget *target = (const Testbus__V1__ExecutionTarget *)input;
	tb_arena *a = tb_call_arena(call);
	tb_exec_config *cfg = NULL;
	tb_status st;
	int rv = tb_exec_config_parse(&executor_framework, NULL, a, &cfg, &st);
	tb_exec_ctx ctx = {.cfg = cfg, .target = target, .call_dir = "/nonexistent", .arena = a};
	if (rv == TB_OK)
		rv = tb_exec_filters(&executor_framework, cfg, target, a, ctx.filters, &st);
	for (size_t i = 0; rv == TB_OK && i < target->n_labels; i++) {
		char *expanded = NULL;
		fuzz_require(tb_exec_label_env_name(a, target->labels[i]->key) != NULL,
		             "every label has an environment name");
		/* A label's value used as a command template, as config strings are. */
		if (target->labels[i]->value != NULL)
			(void)tb_exec_expand(&ctx, target->labels[i]->value, &expanded, &st);
	}
	if (rv != TB_OK)
		return tb_call_error(call, rv, "%s", st.message);
	Testbus__V1__ExecutionResult *res = tb_arena_zalloc(a, sizeof(*res));
	if (res == NULL)
		return tb_call_error(call, TB_RESOURCE_EXHAUSTED, "out of memory");
	testbus__v1__execution_result__init(res);
	*outputp = &res->base;
	return TB_OK;
}

static const tb_method executor_methods[] = {
	{"Execute", executor_execute},
};

const struct fuzz_method fuzz_methods[] = {
	{TESTBUS__V1__COMPONENT_KIND__KIND_PROVISIONER, "testbus.v1.Provisioner", "Provision"},
	{TESTBUS__V1__COMPONENT_KIND__KIND_PROVISIONER, "testbus.v1.Provisioner", "Destroy"},
	{TESTBUS__V1__COMPONENT_KIND__KIND_PROVISIONER, "testbus.v1.Provisioner", "GetKubeconfig"},
	{TESTBUS__V1__COMPONENT_KIND__KIND_PROVISIONER, "testbus.v1.Provisioner", "Health"},
	{TESTBUS__V1__COMPONENT_KIND__KIND_EXECUTOR, "testbus.v1.Executor", "Execute"},
	{TESTBUS__V1__COMPONENT_KIND__KIND_ANALYZER, "testbus.v1.Analyzer", "ShouldAnalyze"},
	{TESTBUS__V1__COMPONENT_KIND__KIND_ANALYZER, "testbus.v1.Analyzer", "Analyze"},
	{TESTBUS__V1__COMPONENT_KIND__KIND_REPORTER, "testbus.v1.Reporter", "Initialize"},
	{TESTBUS__V1__COMPONENT_KIND__KIND_REPORTER, "testbus.v1.Reporter", "Report"},
	{TESTBUS__V1__COMPONENT_KIND__KIND_REPORTER, "testbus.v1.Reporter", "Finalize"},
	{TESTBUS__V1__COMPONENT_KIND__KIND_ANALYZER, "testbus.v1.Component", "Configure"},
	{TESTBUS__V1__COMPONENT_KIND__KIND_ANALYZER, "testbus.v1.Component", "Cancel"},
};

const size_t fuzz_n_methods = sizeof(fuzz_methods) / sizeof(fuzz_methods[0]);

tb_server *fuzz_component(Testbus__V1__ComponentKind kind)
{
	static tb_server *servers[5];
	if ((unsigned)kind >= sizeof(servers) / sizeof(servers[0]))
		return NULL;
	if (servers[kind] != NULL)
		return servers[kind];
	switch (kind) {
	case TESTBUS__V1__COMPONENT_KIND__KIND_PROVISIONER:
		servers[kind] = fuzz_server_alloc(
		    "provisioner", kind, &testbus__v1__provisioner__descriptor, provisioner_methods,
		    sizeof(provisioner_methods) / sizeof(provisioner_methods[0]), NULL, NULL);
		break;
	case TESTBUS__V1__COMPONENT_KIND__KIND_EXECUTOR:
		servers[kind] = fuzz_server_alloc(
		    "executor", kind, &testbus__v1__executor__descriptor, executor_methods,
		    sizeof(executor_methods) / sizeof(executor_methods[0]), NULL, NULL);
		break;
	case TESTBUS__V1__COMPONENT_KIND__KIND_ANALYZER:
		analyzer_init();
		servers[kind] = fuzz_server_alloc(
		    "analyzer", kind, &testbus__v1__analyzer__descriptor, analyzer_methods,
		    sizeof(analyzer_methods) / sizeof(analyzer_methods[0]), analyzer_configure, NULL);
		break;
	case TESTBUS__V1__COMPONENT_KIND__KIND_REPORTER:
		servers[kind] = fuzz_server_alloc(
		    "reporter", kind, &testbus__v1__reporter__descriptor, reporter_methods,
		    sizeof(reporter_methods) / sizeof(reporter_methods[0]), NULL, NULL);
		break;
	default:
		return NULL;
	}
	return servers[kind];
}
