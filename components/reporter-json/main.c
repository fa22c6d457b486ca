/* testbus-reporter-json: writes the run's results in the results.json schema (docs/results.md). */
#include <stdlib.h>
#include <string.h>

#include "reporter_base.h"
#include "results_json.h"

struct json_conf {
	const char *file;
	bool pretty;
};

static const tb_reporter_key json_keys[] = {
	{ .name = "file", .type = TB_RKEY_STRING, .offset = offsetof(struct json_conf, file),
	  .def_string = "report.json" },
	{ .name = "pretty", .type = TB_RKEY_BOOL, .offset = offsetof(struct json_conf, pretty),
	  .def_int = 1 },
};

static int json_check(tb_reporter *rep, void *config, tb_status *st)
{
	const struct json_conf *cf = config;
	if (cf->file[0] == '\0')
		return tb_status_set(st, TB_INVALID_ARGUMENT, "file: must not be empty");
	return TB_OK;
}

static int json_report(tb_reporter *rep, tb_call *call, const Testbus__V1__ReportInput *in,
                       const void *config, Testbus__V1__ReportOutput *out)
{
	const struct json_conf *cf = config;
	char *text = NULL;
	tb_status st = { 0 };
	char *path = tb_reporter_path(rep, call, cf->file);
	int rv = tb_results_to_string(in, NULL, cf->pretty ? TB_RESULTS_PRETTY : 0, &text, &st);
	if (rv != TB_OK) {
		rv = tb_call_error(call, rv, "%s", st.message);
		goto out;
	}
	if (path == NULL) {
		rv = tb_call_error(call, TB_RESOURCE_EXHAUSTED, "out of memory");
		goto out;
	}
	size_t len = strlen(text);
	text[len] = '\n'; /* the terminating NUL becomes a final newline */
	rv = tb_reporter_write_artifact(call, out, path, "results", "application/json", text,
	                                len + 1);
	if (rv == TB_OK)
		out->message = tb_arena_printf(tb_call_arena(call), "results written to %s", path);
out:
	free(text);
	return rv;
}

static const tb_reporter_def json_def = {
	.name = "json",
	.summary = "Reporter: the run's full results as JSON, in the results.json schema.",
	.config_help =
	    "  file: report.json        where the results go, in the run's folder (an absolute\n"
	    "                           path goes there); the broker itself writes results.json\n"
	    "  pretty: true             indented, one field a line\n"
	    "  redact_patterns: []      extra secret patterns (PCRE2)\n"
	    "  redact_env: []           environment variables whose values are secrets",
	.keys = json_keys,
	.n_keys = sizeof(json_keys) / sizeof(json_keys[0]),
	.config_size = sizeof(struct json_conf),
	.check = json_check,
	.report = json_report,
};

int main(int argc, char **argv)
{
	return tb_reporter_main(&json_def, argc, argv);
}
