/* testbus-executor-pytest: runs a pytest suite, labels mapped to -m / -k. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "executor.h"

/* The pytest executor's own config. */
typedef struct pytest_config {
	const char *python;
	tb_exec_strv paths;
	tb_exec_strv args;
	const char *markers;
	const char *keyword;
	const char *workers;
} pytest_config;

#define PYTEST_KEY(field) offsetof(pytest_config, field)

static const tb_exec_key pytest_keys[] = {
	{"python", TB_KEY_STRING, PYTEST_KEY(python), "the Python interpreter (default python3)"},
	{"paths", TB_KEY_STRINGS, PYTEST_KEY(paths), "test files or folders (default: the workdir)"},
	{"args", TB_KEY_STRINGS, PYTEST_KEY(args), "extra pytest arguments; {label} expands"},
	{"markers", TB_KEY_STRING, PYTEST_KEY(markers), "-m expression, ANDed with label filters"},
	{"keyword", TB_KEY_STRING, PYTEST_KEY(keyword), "-k expression, ANDed with label filters"},
	{"workers", TB_KEY_STRING, PYTEST_KEY(workers),
	 "pytest-xdist workers: a number or auto (default: no xdist)"},
};

/* Labels that feed pytest's filters unless label_filters says otherwise. */
static const tb_exec_filter_default pytest_filters[] = {
	{"markers", TB_FILTER_MARKERS},
	{"keyword", TB_FILTER_KEYWORD},
};

static void pytest_defaults(void *fw)
{
	((pytest_config *)fw)->python = "python3";
}

static int pytest_validate(const tb_exec_config *cfg, tb_status *st)
{
	const pytest_config *pc = cfg->fw;
	char *end = NULL;

	if (pc->workers != NULL && strcmp(pc->workers, "auto") != 0 &&
	    (strtoul(pc->workers, &end, 10) == 0 || *end != '\0'))
		return tb_status_set(st, TB_INVALID_ARGUMENT,
		                     "workers must be a positive number or auto, not '%s'", pc->workers);
	return TB_OK;
}

static int pytest_plan(const tb_exec_ctx *ctx, tb_exec_plan *plan, tb_status *st)
{
	const pytest_config *pc = ctx->cfg->fw;
	tb_arena *a = ctx->arena;
	const char *markers = tb_exec_filter_join(a, TB_FILTER_MARKERS, pc->markers,
	                                          ctx->filters[TB_FILTER_MARKERS]);
	const char *keyword = tb_exec_filter_join(a, TB_FILTER_KEYWORD, pc->keyword,
	                                          ctx->filters[TB_FILTER_KEYWORD]);
	int rv = TB_OK;

	rv |= tb_exec_strv_push(a, &plan->argv, pc->python);
	rv |= tb_exec_strv_push(a, &plan->argv, "-m");
	rv |= tb_exec_strv_push(a, &plan->argv, "pytest");
	rv |= tb_exec_strv_pushf(a, &plan->argv, "--junitxml=%s/junit.xml", ctx->call_dir);
	rv |= tb_exec_strv_push(a, &plan->argv, "-o");
	rv |= tb_exec_strv_push(a, &plan->argv, "junit_logging=all");
	rv |= tb_exec_strv_push(a, &plan->argv, "-p");
	rv |= tb_exec_strv_push(a, &plan->argv, "no:cacheprovider");
	if (markers != NULL && *markers != '\0') {
		rv |= tb_exec_strv_push(a, &plan->argv, "-m");
		rv |= tb_exec_strv_push(a, &plan->argv, markers);
	}
	if (keyword != NULL && *keyword != '\0') {
		rv |= tb_exec_strv_push(a, &plan->argv, "-k");
		rv |= tb_exec_strv_push(a, &plan->argv, keyword);
	}
	if (pc->workers != NULL) {
		rv |= tb_exec_strv_push(a, &plan->argv, "-n");
		rv |= tb_exec_strv_push(a, &plan->argv, pc->workers);
	}
	rv |= tb_exec_strv_pushf(a, &plan->junit, "%s/junit.xml", ctx->call_dir);
	if (rv != TB_OK)
		return tb_status_set(st, TB_RESOURCE_EXHAUSTED, "out of memory");
	if ((rv = tb_exec_expand_all(ctx, &pc->args, &plan->argv, st)) != TB_OK)
		return rv;
	return tb_exec_expand_all(ctx, &pc->paths, &plan->argv, st);
}

static const tb_exec_framework pytest_framework = {
	.name = "pytest",
	.summary = "Runs a pytest suite against the target cluster; labels select tests "
	           "through -m and -k.",
	.keys = pytest_keys,
	.n_keys = sizeof(pytest_keys) / sizeof(pytest_keys[0]),
	.fw_size = sizeof(pytest_config),
	.defaults = pytest_defaults,
	.validate = pytest_validate,
	.plan = pytest_plan,
	.filters = pytest_filters,
	.n_filters = sizeof(pytest_filters) / sizeof(pytest_filters[0]),
};

static const tb_method pytest_methods[] = {{"Execute", tb_exec_execute}};

int main(int argc, char **argv)
{
	tb_exec *ex = NULL;
	tb_status st;
	int status;

	if (tb_exec_alloc(&pytest_framework, &ex, &st) != TB_OK) {
		fprintf(stderr, "testbus-executor-pytest: %s\n", st.message);
		return 1;
	}
	const tb_component comp = {
		.name = "pytest",
		.kind = TESTBUS__V1__COMPONENT_KIND__KIND_EXECUTOR,
		.summary = pytest_framework.summary,
		.service = &testbus__v1__executor__descriptor,
		.methods = pytest_methods,
		.n_methods = 1,
		.configure = tb_exec_configure,
		.arg = ex,
		.default_capacity = 1,
		.config_help = tb_exec_config_help(&pytest_framework),
	};
	status = tb_component_main(&comp, argc, argv);
	tb_exec_free(ex);
	return status;
}
