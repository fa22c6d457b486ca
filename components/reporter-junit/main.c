/* testbus-reporter-junit: writes the run as one merged JUnit XML report for CI systems. */
#include <stdlib.h>
#include <string.h>

#include "junit_write.h"
#include "reporter_base.h"

struct junit_conf {
	const char *file;
	int64_t max_output;
};

static const tb_reporter_key junit_keys[] = {
	{ .name = "file", .type = TB_RKEY_STRING, .offset = offsetof(struct junit_conf, file),
	  .def_string = "junit.xml" },
	{ .name = "max_output", .type = TB_RKEY_INT,
	  .offset = offsetof(struct junit_conf, max_output), .def_int = 64 * 1024, .min = 256,
	  .max = 64 * 1024 * 1024 },
};

static int junit_check(tb_reporter *rep, void *config, tb_status *st)
{
	const struct junit_conf *cf = config;
	if (cf->file[0] == '\0')
		return tb_status_set(st, TB_INVALID_ARGUMENT, "file: must not be empty");
	return TB_OK;
}

static int junit_report(tb_reporter *rep, tb_call *call, const Testbus__V1__ReportInput *in,
                        const void *config, Testbus__V1__ReportOutput *out)
{
	const struct junit_conf *cf = config;
	tb_junit_write_opts opts = { .max_output = (size_t)cf->max_output };
	char *xml = NULL;
	size_t len = 0;
	tb_status st = { 0 };
	char *path = tb_reporter_path(rep, call, cf->file);
	int rv = tb_junit_write_memory(in, NULL, &opts, &xml, &len, &st);
	if (rv != TB_OK) {
		rv = tb_call_error(call, rv, "%s", st.message);
		goto out;
	}
	if (path == NULL) {
		rv = tb_call_error(call, TB_RESOURCE_EXHAUSTED, "out of memory");
		goto out;
	}
	rv = tb_reporter_write_artifact(call, out, path, "junit", "application/xml", xml, len);
	if (rv == TB_OK)
		out->message = tb_arena_printf(tb_call_arena(call), "JUnit report written to %s", path);
out:
	free(xml);
	return rv;
}

static const tb_reporter_def junit_def = {
	.name = "junit",
	.summary = "Reporter: one merged JUnit XML file for the run (a testsuite per target).",
	.config_help =
	    "  file: junit.xml          where the report goes, in the run's folder (an absolute\n"
	    "                           path goes there)\n"
	    "  max_output: 65536        bytes of failure output kept per test\n"
	    "  redact_patterns: []      extra secret patterns (PCRE2)\n"
	    "  redact_env: []           environment variables whose values are secrets",
	.keys = junit_keys,
	.n_keys = sizeof(junit_keys) / sizeof(junit_keys[0]),
	.config_size = sizeof(struct junit_conf),
	.check = junit_check,
	.report = junit_report,
};

int main(int argc, char **argv)
{
	return tb_reporter_main(&junit_def, argc, argv);
}
