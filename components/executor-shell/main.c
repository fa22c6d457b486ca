/* testbus-executor-shell: runs any command as a test suite. */
#include <stdio.h>
#include <stdlib.h>

#include "executor.h"

/* The shell executor's own config. */
typedef struct shell_config {
	tb_exec_strv command; /* argv */
	const char *script;   /* run by shell -c */
	const char *shell;
} shell_config;

#define SHELL_KEY(field) offsetof(shell_config, field)

static const tb_exec_key shell_keys[] = {
	{"command", TB_KEY_STRINGS, SHELL_KEY(command),
	 "the command as a list: [prog, arg, ...]; {label} and {artifacts_dir} expand"},
	{"script", TB_KEY_STRING, SHELL_KEY(script), "instead of command: a script run by `shell -c`"},
	{"shell", TB_KEY_STRING, SHELL_KEY(shell), "the shell running script (default /bin/sh)"},
};

static void shell_defaults(void *fw)
{
	((shell_config *)fw)->shell = "/bin/sh";
}

static int shell_validate(const tb_exec_config *cfg, tb_status *st)
{
	const shell_config *sc = cfg->fw;

	if (sc->command.n > 0 && sc->script != NULL)
		return tb_status_set(st, TB_INVALID_ARGUMENT, "set either command or script, not both");
	return TB_OK;
}

static int shell_plan(const tb_exec_ctx *ctx, tb_exec_plan *plan, tb_status *st)
{
	const shell_config *sc = ctx->cfg->fw;
	char *script = NULL;
	int rv;

	if (sc->command.n > 0)
		return tb_exec_expand_all(ctx, &sc->command, &plan->argv, st);
	if (sc->script == NULL)
		return tb_status_set(st, TB_FAILED_PRECONDITION,
		                     "the shell executor has no command or script configured");
	if ((rv = tb_exec_expand(ctx, sc->script, &script, st)) != TB_OK)
		return rv;
	if (tb_exec_strv_push(ctx->arena, &plan->argv, sc->shell) != TB_OK ||
	    tb_exec_strv_push(ctx->arena, &plan->argv, "-c") != TB_OK ||
	    tb_exec_strv_push(ctx->arena, &plan->argv, script) != TB_OK)
		return tb_status_set(st, TB_RESOURCE_EXHAUSTED, "out of memory");
	return TB_OK;
}

static const tb_exec_framework shell_framework = {
	.name = "shell",
	.summary = "Runs a command (any test runner) against the target cluster and collects "
	           "the JUnit reports it writes.",
	.keys = shell_keys,
	.n_keys = sizeof(shell_keys) / sizeof(shell_keys[0]),
	.fw_size = sizeof(shell_config),
	.defaults = shell_defaults,
	.validate = shell_validate,
	.plan = shell_plan,
};

static const tb_method shell_methods[] = {{"Execute", tb_exec_execute}};

int main(int argc, char **argv)
{
	tb_exec *ex = NULL;
	tb_status st;
	int status;

	if (tb_exec_alloc(&shell_framework, &ex, &st) != TB_OK) {
		fprintf(stderr, "testbus-executor-shell: %s\n", st.message);
		return 1;
	}
	const tb_component comp = {
		.name = "shell",
		.kind = TESTBUS__V1__COMPONENT_KIND__KIND_EXECUTOR,
		.summary = shell_framework.summary,
		.service = &testbus__v1__executor__descriptor,
		.methods = shell_methods,
		.n_methods = 1,
		.configure = tb_exec_configure,
		.arg = ex,
		.default_capacity = 1,
		.config_help = tb_exec_config_help(&shell_framework),
	};
	status = tb_component_main(&comp, argc, argv);
	tb_exec_free(ex);
	return status;
}
