/* testbus-reporter-console: the run's summary for the broker to print, and summary.txt. */
#include <stdlib.h>
#include <string.h>

#include "console.h"

/* How colour is chosen. */
enum { CONSOLE_COLOR_AUTO, CONSOLE_COLOR_ALWAYS, CONSOLE_COLOR_NEVER };

struct console_conf {
	const char *file;
	int color;
	bool tty;
	int64_t max_failures;
	int64_t max_findings;
	int64_t width;
};

static const char *const console_color_choices[] = { "auto", "always", "never", NULL };

static const tb_reporter_key console_keys[] = {
	{ .name = "file", .type = TB_RKEY_STRING, .offset = offsetof(struct console_conf, file),
	  .def_string = "summary.txt" },
	{ .name = "color", .type = TB_RKEY_CHOICE, .offset = offsetof(struct console_conf, color),
	  .def_int = CONSOLE_COLOR_AUTO, .choices = console_color_choices },
	{ .name = "tty", .type = TB_RKEY_BOOL, .offset = offsetof(struct console_conf, tty) },
	{ .name = "max_failures", .type = TB_RKEY_INT,
	  .offset = offsetof(struct console_conf, max_failures), .def_int = 20, .min = 0,
	  .max = 100000 },
	{ .name = "max_findings", .type = TB_RKEY_INT,
	  .offset = offsetof(struct console_conf, max_findings), .def_int = 5, .min = 0,
	  .max = 1000 },
	{ .name = "width", .type = TB_RKEY_INT, .offset = offsetof(struct console_conf, width),
	  .def_int = 120, .min = 20, .max = 10000 },
};

/*
 * Colour on the broker's terminal: "always" forces it, "never" stops it, and
 * "auto" gives it only when the broker says its output is a terminal and
 * NO_COLOR (https://no-color.org) is not set to something.
 */
static bool console_use_color(const struct console_conf *cf)
{
	const char *no_color = getenv("NO_COLOR");
	if (cf->color != CONSOLE_COLOR_AUTO)
		return cf->color == CONSOLE_COLOR_ALWAYS;
	return cf->tty && (no_color == NULL || no_color[0] == '\0');
}

static int console_report(tb_reporter *rep, tb_call *call, const Testbus__V1__ReportInput *in,
                          const void *config, Testbus__V1__ReportOutput *out)
{
	const struct console_conf *cf = config;
	console_opts o = { .color = false, .max_failures = cf->max_failures,
		           .max_findings = cf->max_findings, .width = cf->width };
	tb_rbuf plain = { 0 }, shown = { 0 };
	int rv = TB_OK;
	console_render(&plain, in, &o);
	o.color = console_use_color(cf);
	if (o.color)
		console_render(&shown, in, &o);
	if (plain.oom || shown.oom || plain.data == NULL) {
		rv = tb_call_error(call, TB_RESOURCE_EXHAUSTED, "console: out of memory");
		goto out;
	}
	out->message = tb_arena_strdup(tb_call_arena(call), o.color ? shown.data : plain.data);
	if (out->message == NULL) {
		rv = tb_call_error(call, TB_RESOURCE_EXHAUSTED, "console: out of memory");
		goto out;
	}
	if (cf->file[0] != '\0') {
		char *path = tb_reporter_path(rep, call, cf->file);
		rv = path == NULL ? tb_call_error(call, TB_RESOURCE_EXHAUSTED, "out of memory")
		                  : tb_reporter_write_artifact(call, out, path, "summary", "text/plain",
		                                               plain.data, plain.len);
	}
out:
	tb_rbuf_fini(&plain);
	tb_rbuf_fini(&shown);
	return rv;
}

static const tb_reporter_def console_def = {
	.name = "console",
	.summary = "Reporter: the run's summary as text, returned for the broker to print "
	           "and written to summary.txt.",
	.config_help =
	    "  file: summary.txt        where the plain summary is written, in the run's folder\n"
	    "                           (an absolute path goes there; \"\" writes none)\n"
	    "  color: auto              auto | always | never; auto colours only when tty is\n"
	    "                           true and NO_COLOR is unset\n"
	    "  tty: false               the broker's output is a terminal (the broker sets it)\n"
	    "  max_failures: 20         failed (and flaky) tests listed, at most\n"
	    "  max_findings: 5          analysis findings listed, most severe first\n"
	    "  width: 120               longest message line shown, in characters\n"
	    "  redact_patterns: []      extra secret patterns (PCRE2)\n"
	    "  redact_env: []           environment variables whose values are secrets",
	.keys = console_keys,
	.n_keys = sizeof(console_keys) / sizeof(console_keys[0]),
	.config_size = sizeof(struct console_conf),
	.report = console_report,
};

int main(int argc, char **argv)
{
	return tb_reporter_main(&console_def, argc, argv);
}
