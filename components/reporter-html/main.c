/* testbus-reporter-html: one self-contained HTML page for the run, with inline SVG charts. */
#include <stdlib.h>
#include <string.h>

#include "html.h"

struct html_conf {
	const char *file;
	const char *title;
	int64_t max_output;
	int64_t max_failures;
	int64_t max_chart_tests;
};

static const tb_reporter_key html_keys[] = {
	{ .name = "file", .type = TB_RKEY_STRING, .offset = offsetof(struct html_conf, file),
	  .def_string = "report.html" },
	{ .name = "title", .type = TB_RKEY_STRING, .offset = offsetof(struct html_conf, title),
	  .def_string = "" },
	{ .name = "max_output", .type = TB_RKEY_INT, .offset = offsetof(struct html_conf, max_output),
	  .def_int = 64 * 1024, .min = 256, .max = 16 * 1024 * 1024 },
	{ .name = "max_failures", .type = TB_RKEY_INT,
	  .offset = offsetof(struct html_conf, max_failures), .def_int = 500, .min = 0,
	  .max = 1000000 },
	{ .name = "max_chart_tests", .type = TB_RKEY_INT,
	  .offset = offsetof(struct html_conf, max_chart_tests), .def_int = 15, .min = 1,
	  .max = 500 },
};

static int html_check(tb_reporter *rep, void *config, tb_status *st)
{
	const struct html_conf *cf = config;
	if (cf->file[0] == '\0')
		return tb_status_set(st, TB_INVALID_ARGUMENT, "file: must not be empty");
	return TB_OK;
}

static int html_report(tb_reporter *rep, tb_call *call, const Testbus__V1__ReportInput *in,
                       const void *config, Testbus__V1__ReportOutput *out)
{
	const struct html_conf *cf = config;
	html_opts o = { .title = cf->title, .max_output = (size_t)cf->max_output,
		        .max_failures = (size_t)cf->max_failures,
		        .max_chart_tests = (size_t)cf->max_chart_tests };
	tb_rbuf page = { 0 };
	char *path = tb_reporter_path(rep, call, cf->file);
	int rv;
	html_render(&page, in, &o);
	if (page.oom || path == NULL) {
		rv = tb_call_error(call, TB_RESOURCE_EXHAUSTED, "html: out of memory");
		goto out;
	}
	rv = tb_reporter_write_artifact(call, out, path, "html", "text/html", page.data, page.len);
	if (rv == TB_OK)
		out->message = tb_arena_printf(tb_call_arena(call), "HTML report written to %s", path);
out:
	tb_rbuf_fini(&page);
	return rv;
}

static const tb_reporter_def html_def = {
	.name = "html",
	.summary = "Reporter: one self-contained HTML page with inline SVG charts.",
	.config_help =
	    "  file: report.html        where the page goes, in the run's folder (an absolute\n"
	    "                           path goes there)\n"
	    "  title: \"\"                shown before the run id\n"
	    "  max_output: 65536        bytes of a failure's output or a log tail shown\n"
	    "  max_failures: 500        failed tests shown in full\n"
	    "  max_chart_tests: 15      bars in the slowest-tests chart\n"
	    "  redact_patterns: []      extra secret patterns (PCRE2)\n"
	    "  redact_env: []           environment variables whose values are secrets",
	.keys = html_keys,
	.n_keys = sizeof(html_keys) / sizeof(html_keys[0]),
	.config_size = sizeof(struct html_conf),
	.check = html_check,
	.report = html_report,
};

int main(int argc, char **argv)
{
	return tb_reporter_main(&html_def, argc, argv);
}
