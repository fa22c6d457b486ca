/* testbus-executor-ginkgo: runs a Ginkgo suite (CLI or compiled binary), labels mapped to filters. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "executor.h"

/* The ginkgo executor's own config. */
typedef struct ginkgo_config {
	const char *ginkgo;      /* the CLI */
	const char *binary;      /* a compiled suite, instead of the CLI */
	tb_exec_strv packages;
	uint32_t version;        /* Ginkgo major version: 1 or 2 */
	uint32_t nodes;
	const char *focus;
	const char *skip;
	const char *label_filter;
	tb_exec_strv flags;
} ginkgo_config;

#define GINKGO_KEY(field) offsetof(ginkgo_config, field)

static const tb_exec_key ginkgo_keys[] = {
	{"ginkgo", TB_KEY_STRING, GINKGO_KEY(ginkgo), "the ginkgo CLI (default ginkgo)"},
	{"binary", TB_KEY_STRING, GINKGO_KEY(binary),
	 "a compiled suite (go test -c) to run instead of the CLI"},
	{"packages", TB_KEY_STRINGS, GINKGO_KEY(packages), "suite packages for the CLI (default .)"},
	{"version", TB_KEY_UINT, GINKGO_KEY(version), "Ginkgo major version, 1 or 2 (default 1)"},
	{"nodes", TB_KEY_UINT, GINKGO_KEY(nodes), "parallel nodes (default 1; CLI only)"},
	{"focus", TB_KEY_STRING, GINKGO_KEY(focus), "focus regexp, ORed with label filters"},
	{"skip", TB_KEY_STRING, GINKGO_KEY(skip), "skip regexp, ORed with label filters"},
	{"label_filter", TB_KEY_STRING, GINKGO_KEY(label_filter),
	 "Ginkgo v2 label filter, ANDed with label filters"},
	{"flags", TB_KEY_STRINGS, GINKGO_KEY(flags), "extra arguments; {label} expands"},
};

/* Labels that feed Ginkgo's filters unless label_filters says otherwise. */
static const tb_exec_filter_default ginkgo_filters[] = {
	{"focus", TB_FILTER_FOCUS},
	{"skip", TB_FILTER_SKIP},
	{"label_filter", TB_FILTER_LABEL_FILTER},
};

/* Flag spellings per major version and mode: [version - 1][binary]. */
static const struct ginkgo_flags {
	const char *no_color, *report, *focus, *skip, *label_filter, *nodes;
} ginkgo_spelling[2][2] = {
	{{"-noColor", "-reportFile=%s", "-focus=%s", "-skip=%s", NULL, "-nodes=%u"},
	 {"-ginkgo.noColor", "-ginkgo.reportFile=%s", "-ginkgo.focus=%s", "-ginkgo.skip=%s", NULL,
	  NULL}},
	{{"--no-color", "--junit-report=%s", "--focus=%s", "--skip=%s", "--label-filter=%s",
	  "--procs=%u"},
	 {"--ginkgo.no-color", "--ginkgo.junit-report=%s", "--ginkgo.focus=%s", "--ginkgo.skip=%s",
	  "--ginkgo.label-filter=%s", NULL}},
};

static void ginkgo_defaults(void *fw)
{
	ginkgo_config *gc = fw;

	gc->ginkgo = "ginkgo";
	gc->version = 1;
	gc->nodes = 1;
}

static int ginkgo_validate(const tb_exec_config *cfg, tb_status *st)
{
	const ginkgo_config *gc = cfg->fw;

	if (gc->version != 1 && gc->version != 2)
		return tb_status_set(st, TB_INVALID_ARGUMENT, "version must be 1 or 2, not %u",
		                     gc->version);
	if (gc->nodes == 0)
		return tb_status_set(st, TB_INVALID_ARGUMENT, "nodes must be at least 1");
	if (gc->binary != NULL && (gc->nodes > 1 || gc->packages.n > 0))
		return tb_status_set(st, TB_INVALID_ARGUMENT,
		                     "nodes and packages need the CLI; a binary runs on one node");
	if (gc->version == 1 && gc->label_filter != NULL)
		return tb_status_set(st, TB_INVALID_ARGUMENT, "label_filter needs Ginkgo v2");
	/* Every v1 node writes the whole --reportFile, so only the last one's specs would stay. */
	if (gc->version == 1 && gc->nodes > 1 && cfg->junit.n == 0)
		return tb_status_set(st, TB_INVALID_ARGUMENT,
		                     "Ginkgo v1 on %u nodes: have the suite write one report per node "
		                     "and list them under junit",
		                     gc->nodes);
	return TB_OK;
}

static int ginkgo_push_filter(tb_arena *a, tb_exec_strv *argv, const char *fmt, const char *value)
{
	if (value == NULL || *value == '\0')
		return TB_OK;
	return tb_exec_strv_pushf(a, argv, fmt, value);
}

static int ginkgo_plan(const tb_exec_ctx *ctx, tb_exec_plan *plan, tb_status *st)
{
	const ginkgo_config *gc = ctx->cfg->fw;
	const struct ginkgo_flags *f = &ginkgo_spelling[gc->version - 1][gc->binary != NULL];
	const char *const *lf = ctx->filters;
	tb_arena *a = ctx->arena;
	bool own_report = gc->version == 2 || gc->nodes == 1;
	int rv = TB_OK;

	if (lf[TB_FILTER_LABEL_FILTER] != NULL && f->label_filter == NULL)
		return tb_status_set(st, TB_INVALID_ARGUMENT,
		                     "a label maps to label_filter, which needs Ginkgo v2");
	rv |= tb_exec_strv_push(a, &plan->argv, gc->binary ? gc->binary : gc->ginkgo);
	rv |= tb_exec_strv_push(a, &plan->argv, f->no_color);
	if (own_report) {
		rv |= tb_exec_strv_pushf(a, &plan->argv, f->report, tb_arena_printf(a, "%s/junit.xml", ctx->call_dir));
		rv |= tb_exec_strv_pushf(a, &plan->junit, "%s/junit.xml", ctx->call_dir);
	}
	rv |= ginkgo_push_filter(a, &plan->argv, f->focus,
	                         tb_exec_filter_join(a, TB_FILTER_FOCUS, gc->focus, lf[TB_FILTER_FOCUS]));
	rv |= ginkgo_push_filter(a, &plan->argv, f->skip,
	                         tb_exec_filter_join(a, TB_FILTER_SKIP, gc->skip, lf[TB_FILTER_SKIP]));
	if (f->label_filter != NULL)
		rv |= ginkgo_push_filter(a, &plan->argv, f->label_filter,
		                         tb_exec_filter_join(a, TB_FILTER_LABEL_FILTER, gc->label_filter,
		                                             lf[TB_FILTER_LABEL_FILTER]));
	if (gc->nodes > 1)
		rv |= tb_exec_strv_pushf(a, &plan->argv, f->nodes, gc->nodes);
	if (rv != TB_OK)
		return tb_status_set(st, TB_RESOURCE_EXHAUSTED, "out of memory");
	if ((rv = tb_exec_expand_all(ctx, &gc->flags, &plan->argv, st)) != TB_OK || gc->binary != NULL)
		return rv;
	if (gc->packages.n == 0)
		return tb_exec_strv_push(a, &plan->argv, ".");
	return tb_exec_expand_all(ctx, &gc->packages, &plan->argv, st);
}

static const tb_exec_framework ginkgo_framework = {
	.name = "ginkgo",
	.summary = "Runs a Ginkgo suite against the target cluster; labels select specs through "
	           "focus/skip (v1) or a label filter (v2).",
	.keys = ginkgo_keys,
	.n_keys = sizeof(ginkgo_keys) / sizeof(ginkgo_keys[0]),
	.fw_size = sizeof(ginkgo_config),
	.defaults = ginkgo_defaults,
	.validate = ginkgo_validate,
	.plan = ginkgo_plan,
	.filters = ginkgo_filters,
	.n_filters = sizeof(ginkgo_filters) / sizeof(ginkgo_filters[0]),
};

static const tb_method ginkgo_methods[] = {{"Execute", tb_exec_execute}};

int main(int argc, char **argv)
{
	tb_exec *ex = NULL;
	tb_status st;
	int status;

	if (tb_exec_alloc(&ginkgo_framework, &ex, &st) != TB_OK) {
		fprintf(stderr, "testbus-executor-ginkgo: %s\n", st.message);
		return 1;
	}
	const tb_component comp = {
		.name = "ginkgo",
		.kind = TESTBUS__V1__COMPONENT_KIND__KIND_EXECUTOR,
		.summary = ginkgo_framework.summary,
		.service = &testbus__v1__executor__descriptor,
		.methods = ginkgo_methods,
		.n_methods = 1,
		.configure = tb_exec_configure,
		.arg = ex,
		.default_capacity = 1,
		.config_help = tb_exec_config_help(&ginkgo_framework),
	};
	status = tb_component_main(&comp, argc, argv);
	tb_exec_free(ex);
	return status;
}
