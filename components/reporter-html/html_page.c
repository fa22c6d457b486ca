/* The HTML report page: header, totals, charts, per-phase tables, failures, findings, problems. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "html.h"
#include "results_json.h"

static const char html_style[] =
    "body{font:14px/1.45 system-ui,-apple-system,'Segoe UI',sans-serif;margin:0;color:#1b1b1b;"
    "background:#fafafa}"
    "header{padding:20px 32px;color:#fff}header.passed{background:#2e7d32}"
    "header.failed{background:#b71c1c}header h1{margin:0 0 4px;font-size:22px}"
    "header dl{display:grid;grid-template-columns:max-content 1fr;gap:2px 16px;margin:8px 0 0}"
    "header dt{opacity:.8}header dd{margin:0}"
    "main{padding:8px 32px 32px;max-width:1200px}section{margin:24px 0}"
    "h2{font-size:18px;border-bottom:1px solid #ddd;padding-bottom:4px}"
    ".cards{display:flex;gap:12px;align-items:center;flex-wrap:wrap}"
    ".card{background:#fff;border:1px solid #ddd;border-radius:6px;padding:8px 16px;min-width:80px}"
    ".card b{display:block;font-size:22px}"
    "table{border-collapse:collapse;background:#fff;width:100%;margin:8px 0}"
    "th,td{border:1px solid #ddd;padding:4px 8px;text-align:left;vertical-align:top}"
    "td.n{text-align:right;font-variant-numeric:tabular-nums}"
    ".ok{color:#2e7d32;font-weight:600}.bad{color:#c62828;font-weight:600}"
    ".warn{color:#b26a00}.label{display:inline-block;background:#eceff1;border-radius:3px;"
    "padding:0 4px;margin:1px;font-size:12px}"
    "details{background:#fff;border:1px solid #ddd;border-radius:4px;margin:6px 0;padding:4px 8px}"
    "summary{cursor:pointer}pre{white-space:pre-wrap;word-break:break-word;background:#263238;"
    "color:#eceff1;padding:8px;border-radius:4px;max-height:480px;overflow:auto}"
    ".chart text{font:12px system-ui,sans-serif;fill:#333}.donut-total{font-size:24px!important}"
    ".sev-critical,.sev-high{color:#c62828;font-weight:600}.sev-medium{color:#b26a00}"
    "footer{padding:16px 32px;color:#777;font-size:12px}";

typedef struct page {
	tb_rbuf *b;
	const html_opts *o;
} page;

static void page_text(page *pg, const char *s)
{
	html_esc(pg->b, s, 0);
}

/* An element with escaped text: <tag class="cls">text</tag>. */
static void page_el(page *pg, const char *tag, const char *cls, const char *text)
{
	if (cls != NULL)
		tb_rbuf_printf(pg->b, "<%s class=\"%s\">", tag, cls);
	else
		tb_rbuf_printf(pg->b, "<%s>", tag);
	page_text(pg, text);
	tb_rbuf_printf(pg->b, "</%s>", tag);
}

static void page_pre(page *pg, const char *text)
{
	tb_rbuf_puts(pg->b, "<pre>");
	html_esc(pg->b, text, pg->o->max_output);
	if (strlen(text) > pg->o->max_output)
		tb_rbuf_puts(pg->b, "\n[... cut]");
	tb_rbuf_puts(pg->b, "</pre>");
}

static void page_dd(page *pg, const char *term, const char *value)
{
	if (value == NULL || value[0] == '\0')
		return;
	page_el(pg, "dt", NULL, term);
	page_el(pg, "dd", NULL, value);
}

static void page_head(page *pg, const Testbus__V1__ReportInput *in)
{
	tb_rbuf_puts(pg->b, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
	                    "<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">"
	                    "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
	                    "style-src 'unsafe-inline'\"><title>");
	if (pg->o->title[0] != '\0') {
		page_text(pg, pg->o->title);
		tb_rbuf_puts(pg->b, " - ");
	}
	tb_rbuf_puts(pg->b, "testbus run ");
	page_text(pg, in->run_id);
	tb_rbuf_printf(pg->b, " %s</title><style>%s</style></head>\n<body>\n",
	               in->success ? "passed" : "FAILED", html_style);
}

static void page_header(page *pg, const Testbus__V1__ReportInput *in)
{
	const Testbus__V1__ClusterInfo *cl = in->cluster;
	char start[40], end[40], dur[32] = "";
	tb_results_format_time(in->started_at, start, sizeof(start));
	tb_results_format_time(in->finished_at, end, sizeof(end));
	if (in->started_at != 0 && in->finished_at > in->started_at)
		tb_reporter_duration((double)(in->finished_at - in->started_at), dur, sizeof(dur));
	tb_rbuf_printf(pg->b, "<header id=\"run\" class=\"%s\"><h1>", in->success ? "passed" : "failed");
	if (pg->o->title[0] != '\0') {
		page_text(pg, pg->o->title);
		tb_rbuf_puts(pg->b, ": ");
	}
	tb_rbuf_puts(pg->b, "testbus run ");
	page_el(pg, "span", "run-id", in->run_id);
	tb_rbuf_printf(pg->b, "</h1><p id=\"status\">%s</p><dl>", in->success ? "PASSED" : "FAILED");
	if (cl != NULL) {
		page_dd(pg, "cluster", cl->name);
		page_dd(pg, "cluster id", cl->id);
		page_dd(pg, "provider", cl->provider);
		page_dd(pg, "region", cl->region);
		page_dd(pg, "version", cl->version);
	}
	page_dd(pg, "started", start);
	page_dd(pg, "finished", end);
	page_dd(pg, "duration", dur);
	page_dd(pg, "artifacts", in->artifacts_dir);
	tb_rbuf_puts(pg->b, "</dl></header>\n<main>\n");
}

static void page_card(page *pg, const char *id, const char *name, uint32_t n, const char *cls)
{
	tb_rbuf_printf(pg->b, "<div class=\"card\" id=\"total-%s\"><b class=\"%s\">%u</b>%s</div>", id,
	               n > 0 ? cls : "", n, name);
}

static void page_totals(page *pg, const Testbus__V1__ReportInput *in)
{
	Testbus__V1__ResultSummary s = TESTBUS__V1__RESULT_SUMMARY__INIT;
	tb_results_run_summary(in, &s);
	tb_rbuf_puts(pg->b, "<section id=\"totals\"><h2>Totals</h2><div class=\"cards\">");
	html_svg_totals(pg->b, &s);
	page_card(pg, "tests", "tests", s.total, "");
	page_card(pg, "passed", "passed", s.passed, "ok");
	page_card(pg, "failed", "failed", s.failed, "bad");
	page_card(pg, "errors", "errors", s.errors, "bad");
	page_card(pg, "skipped", "skipped", s.skipped, "");
	page_card(pg, "flaky", "flaky", s.flaky, "warn");
	tb_rbuf_puts(pg->b, "</div></section>\n<section id=\"charts\"><h2>Charts</h2>"
	                    "<h3>Results per target</h3>");
	html_svg_targets(pg->b, in);
	tb_rbuf_puts(pg->b, "<h3>Slowest tests</h3>");
	html_svg_durations(pg->b, in, pg->o->max_chart_tests);
	tb_rbuf_puts(pg->b, "</section>\n");
}

static void page_attempts(page *pg, const Testbus__V1__TargetReport *t)
{
	for (size_t i = 0; i < t->n_attempts; i++) {
		tb_rbuf_printf(pg->b, "%s#%u ", i ? "<br>" : "", t->attempts[i]->attempt);
		page_text(pg, t->attempts[i]->executor);
		tb_rbuf_puts(pg->b, ": ");
		page_text(pg, t->attempts[i]->reason);
	}
}

static void page_target_row(page *pg, const Testbus__V1__TargetReport *t)
{
	const Testbus__V1__ExecutionResult *r = t->result;
	Testbus__V1__ResultSummary zero = TESTBUS__V1__RESULT_SUMMARY__INIT;
	const Testbus__V1__ResultSummary *s = r != NULL && r->summary != NULL ? r->summary : &zero;
	char dur[32] = "";
	bool ok = r != NULL && r->success;
	if (r != NULL && r->start_time != 0 && r->end_time > r->start_time)
		tb_reporter_duration((double)(r->end_time - r->start_time), dur, sizeof(dur));
	tb_rbuf_puts(pg->b, "<tr class=\"target\">");
	page_el(pg, "td", NULL, t->target_id);
	page_el(pg, "td", NULL, t->executor);
	tb_rbuf_puts(pg->b, "<td>");
	for (size_t i = 0; i < t->n_labels; i++) {
		tb_rbuf_puts(pg->b, "<span class=\"label\">");
		page_text(pg, t->labels[i]->key);
		tb_rbuf_puts(pg->b, "=");
		page_text(pg, t->labels[i]->value);
		tb_rbuf_puts(pg->b, "</span>");
	}
	tb_rbuf_printf(pg->b, "</td><td class=\"n\">%u</td><td class=\"n\">%u</td><td class=\"n\">%u</td>"
	                      "<td class=\"n\">%u</td><td class=\"n\">%u</td><td class=\"n\">%u</td>"
	                      "<td class=\"n\">%s</td><td>",
	               s->total, s->passed, s->failed, s->errors, s->skipped, s->flaky, dur);
	page_attempts(pg, t);
	tb_rbuf_printf(pg->b, "</td><td class=\"%s\">%s</td></tr>", ok ? "ok" : "bad",
	               r == NULL ? "not run" : r->timed_out ? "timed out" : ok ? "passed" : "failed");
}

static void page_phases(page *pg, const Testbus__V1__ReportInput *in)
{
	tb_rbuf_puts(pg->b, "<section id=\"phases\"><h2>Phases</h2>");
	for (size_t p = 0; p < in->n_phases; p++) {
		const Testbus__V1__PhaseReport *ph = in->phases[p];
		tb_rbuf_puts(pg->b, "<h3 class=\"phase\">");
		page_text(pg, ph->name);
		tb_rbuf_puts(pg->b, "</h3><table class=\"targets\"><thead><tr><th>target</th>"
		                    "<th>executor</th><th>labels</th><th>tests</th><th>passed</th>"
		                    "<th>failed</th><th>errors</th><th>skipped</th><th>flaky</th>"
		                    "<th>duration</th><th>attempts</th><th>result</th></tr></thead><tbody>");
		for (size_t t = 0; t < ph->n_targets; t++)
			page_target_row(pg, ph->targets[t]);
		tb_rbuf_puts(pg->b, "</tbody></table>");
	}
	tb_rbuf_puts(pg->b, "</section>\n");
}

static void page_failure(page *pg, const char *phase, const Testbus__V1__TargetReport *t,
                         const Testbus__V1__TestCase *tc)
{
	bool err = tc->status == TESTBUS__V1__TEST_STATUS__TEST_ERROR;
	tb_rbuf_printf(pg->b, "<details class=\"failure\"><summary><span class=\"bad\">%s</span> ",
	               err ? "ERROR" : "FAIL");
	page_text(pg, phase);
	tb_rbuf_puts(pg->b, "/");
	page_text(pg, t->target_id);
	tb_rbuf_puts(pg->b, " &mdash; ");
	if (tc->classname[0] != '\0') {
		page_text(pg, tc->classname);
		tb_rbuf_puts(pg->b, ": ");
	}
	page_el(pg, "b", "test-name", tc->name);
	tb_rbuf_puts(pg->b, " &mdash; ");
	page_el(pg, "span", "message", tc->message);
	tb_rbuf_puts(pg->b, "</summary>");
	if (tc->output[0] != '\0')
		page_pre(pg, tc->output);
	for (size_t i = 0; i < tc->n_attempts; i++) {
		tb_rbuf_printf(pg->b, "<p class=\"attempt\">earlier run %zu: %s, ", i + 1,
		               tb_results_status_name(tc->attempts[i]->status));
		page_text(pg, tc->attempts[i]->message);
		tb_rbuf_puts(pg->b, "</p>");
	}
	tb_rbuf_puts(pg->b, "</details>");
}

/* Failed and errored tests, collapsible, then each target's log tails. */
static void page_failures(page *pg, const Testbus__V1__ReportInput *in)
{
	size_t shown = 0, total = 0;
	tb_rbuf_puts(pg->b, "<section id=\"failures\"><h2>Failures</h2>");
	for (size_t p = 0; p < in->n_phases; p++)
		for (size_t t = 0; t < in->phases[p]->n_targets; t++) {
			const Testbus__V1__TargetReport *tr = in->phases[p]->targets[t];
			for (size_t i = 0; tr->result != NULL && i < tr->result->n_test_cases; i++) {
				const Testbus__V1__TestCase *tc = tr->result->test_cases[i];
				if (tc->status != TESTBUS__V1__TEST_STATUS__TEST_FAILED &&
				    tc->status != TESTBUS__V1__TEST_STATUS__TEST_ERROR)
					continue;
				if (total++ < pg->o->max_failures) {
					page_failure(pg, in->phases[p]->name, tr, tc);
					shown++;
				}
			}
		}
	if (total == 0)
		tb_rbuf_puts(pg->b, "<p class=\"ok\">No test failed.</p>");
	else if (total > shown)
		tb_rbuf_printf(pg->b, "<p>... and %zu more (see the JUnit report).</p>", total - shown);
	tb_rbuf_puts(pg->b, "<h3>Logs</h3>");
	for (size_t p = 0; p < in->n_phases; p++)
		for (size_t t = 0; t < in->phases[p]->n_targets; t++) {
			const Testbus__V1__TargetReport *tr = in->phases[p]->targets[t];
			const Testbus__V1__ExecutionResult *r = tr->result;
			if (r == NULL || (r->stdout_tail[0] == '\0' && r->stderr_tail[0] == '\0'))
				continue;
			tb_rbuf_puts(pg->b, "<details class=\"log\"><summary>");
			page_text(pg, in->phases[p]->name);
			tb_rbuf_puts(pg->b, "/");
			page_text(pg, tr->target_id);
			tb_rbuf_printf(pg->b, " (exit status %d)</summary>", r->exit_code);
			if (r->stdout_tail[0] != '\0') {
				tb_rbuf_puts(pg->b, "<h4>stdout</h4>");
				page_pre(pg, r->stdout_tail);
			}
			if (r->stderr_tail[0] != '\0') {
				tb_rbuf_puts(pg->b, "<h4>stderr</h4>");
				page_pre(pg, r->stderr_tail);
			}
			tb_rbuf_puts(pg->b, "</details>");
		}
	tb_rbuf_puts(pg->b, "</section>\n");
}

static void page_flaky(page *pg, const Testbus__V1__ReportInput *in)
{
	bool any = false;
	for (size_t p = 0; p < in->n_phases; p++)
		for (size_t t = 0; t < in->phases[p]->n_targets; t++) {
			const Testbus__V1__TargetReport *tr = in->phases[p]->targets[t];
			for (size_t i = 0; tr->result != NULL && i < tr->result->n_test_cases; i++) {
				const Testbus__V1__TestCase *tc = tr->result->test_cases[i];
				if (!tc->flaky || tc->status != TESTBUS__V1__TEST_STATUS__TEST_PASSED)
					continue;
				if (!any)
					tb_rbuf_puts(pg->b, "<section id=\"flaky\"><h2>Flaky tests</h2><ul>");
				any = true;
				tb_rbuf_puts(pg->b, "<li>");
				page_text(pg, in->phases[p]->name);
				tb_rbuf_puts(pg->b, "/");
				page_text(pg, tr->target_id);
				tb_rbuf_puts(pg->b, ": ");
				page_el(pg, "b", "test-name", tc->name);
				tb_rbuf_printf(pg->b, " passed after %u runs", tc->attempt);
				if (tc->n_attempts > 0) {
					tb_rbuf_puts(pg->b, " (first: ");
					page_text(pg, tc->attempts[0]->message);
					tb_rbuf_puts(pg->b, ")");
				}
				tb_rbuf_puts(pg->b, "</li>");
			}
		}
	if (any)
		tb_rbuf_puts(pg->b, "</ul></section>\n");
}

static void page_finding(page *pg, const char *phase, const char *target,
                         const Testbus__V1__Finding *f)
{
	const char *sev = tb_results_severity_name(f->severity);
	tb_rbuf_printf(pg->b, "<tr class=\"finding\"><td class=\"sev-%s\">%s</td><td>", sev, sev);
	page_el(pg, "b", NULL, f->title);
	tb_rbuf_puts(pg->b, "<br>");
	page_el(pg, "code", NULL, f->rule_id);
	tb_rbuf_printf(pg->b, "</td><td class=\"n\">%u</td><td>", f->count);
	page_text(pg, phase);
	tb_rbuf_puts(pg->b, "/");
	page_text(pg, target);
	tb_rbuf_puts(pg->b, "</td><td>");
	page_text(pg, f->explanation);
	tb_rbuf_puts(pg->b, "</td><td>");
	page_text(pg, f->suggested_fix);
	tb_rbuf_puts(pg->b, "</td><td>");
	if (f->n_evidence > 0) {
		tb_rbuf_printf(pg->b, "<details><summary>%zu line%s</summary>", f->n_evidence,
		               f->n_evidence == 1 ? "" : "s");
		for (size_t i = 0; i < f->n_evidence; i++)
			page_pre(pg, f->evidence[i]);
		tb_rbuf_puts(pg->b, "</details>");
	}
	tb_rbuf_puts(pg->b, "</td></tr>");
}

static void page_analysis(page *pg, const char *phase, const char *target,
                          const Testbus__V1__AnalysisResult *an)
{
	tb_rbuf_puts(pg->b, "<div class=\"analysis\"><h3>");
	page_text(pg, an->analyzer);
	tb_rbuf_puts(pg->b, " on ");
	page_text(pg, phase);
	tb_rbuf_puts(pg->b, "/");
	page_text(pg, target);
	tb_rbuf_puts(pg->b, "</h3>");
	if (an->summary[0] != '\0')
		page_el(pg, "p", "summary", an->summary);
	if (an->root_cause[0] != '\0') {
		tb_rbuf_puts(pg->b, "<p class=\"root-cause\"><b>Root cause:</b> ");
		page_text(pg, an->root_cause);
		tb_rbuf_puts(pg->b, "</p>");
	}
	if (an->error[0] != '\0')
		page_el(pg, "p", "warn", an->error);
	if (an->n_findings > 0) {
		tb_rbuf_puts(pg->b, "<table class=\"findings\"><thead><tr><th>severity</th>"
		                    "<th>finding</th><th>count</th><th>target</th><th>explanation</th>"
		                    "<th>suggested fix</th><th>evidence</th></tr></thead><tbody>");
		for (size_t i = 0; i < an->n_findings; i++)
			page_finding(pg, phase, target, an->findings[i]);
		tb_rbuf_puts(pg->b, "</tbody></table>");
	}
	for (size_t i = 0; i < an->n_recommendations; i++)
		page_el(pg, "p", "recommendation", an->recommendations[i]);
	tb_rbuf_puts(pg->b, "</div>");
}

static void page_findings(page *pg, const Testbus__V1__ReportInput *in)
{
	bool any = false;
	for (size_t p = 0; p < in->n_phases; p++)
		for (size_t t = 0; t < in->phases[p]->n_targets; t++) {
			const Testbus__V1__TargetReport *tr = in->phases[p]->targets[t];
			for (size_t k = 0; k < tr->n_analysis; k++) {
				if (!any)
					tb_rbuf_puts(pg->b, "<section id=\"analysis\"><h2>Analysis</h2>");
				any = true;
				page_analysis(pg, in->phases[p]->name, tr->target_id, tr->analysis[k]);
			}
		}
	if (any)
		tb_rbuf_puts(pg->b, "</section>\n");
}

static void page_problems(page *pg, const Testbus__V1__ReportInput *in)
{
	bool any = in->n_errors > 0;
	for (size_t p = 0; p < in->n_phases; p++)
		for (size_t t = 0; t < in->phases[p]->n_targets; t++) {
			const Testbus__V1__ExecutionResult *r = in->phases[p]->targets[t]->result;
			any = any || (r != NULL && r->error[0] != '\0');
		}
	if (!any)
		return;
	tb_rbuf_puts(pg->b, "<section id=\"problems\"><h2>Problems</h2><ul>");
	for (size_t p = 0; p < in->n_phases; p++)
		for (size_t t = 0; t < in->phases[p]->n_targets; t++) {
			const Testbus__V1__TargetReport *tr = in->phases[p]->targets[t];
			if (tr->result == NULL || tr->result->error[0] == '\0')
				continue;
			tb_rbuf_puts(pg->b, "<li>");
			page_text(pg, in->phases[p]->name);
			tb_rbuf_puts(pg->b, "/");
			page_text(pg, tr->target_id);
			tb_rbuf_puts(pg->b, ": ");
			page_text(pg, tr->result->error);
			tb_rbuf_puts(pg->b, "</li>");
		}
	for (size_t i = 0; i < in->n_errors; i++)
		page_el(pg, "li", "run-error", in->errors[i]);
	tb_rbuf_puts(pg->b, "</ul></section>\n");
}

void html_esc(tb_rbuf *b, const char *s, size_t max)
{
	static const char *const entities[256] = {
		['&'] = "&amp;", ['<'] = "&lt;", ['>'] = "&gt;", ['"'] = "&quot;", ['\''] = "&#39;",
	};
	size_t len = s != NULL ? strlen(s) : 0;
	size_t start = 0;
	if (max > 0 && len > max) {
		len = max;
		while (len > 0 && ((unsigned char)s[len] & 0xc0) == 0x80)
			len--; /* never cut a character in two */
	}
	for (size_t i = 0; i < len; i++) {
		const char *e = entities[(unsigned char)s[i]];
		if (e == NULL)
			continue;
		tb_rbuf_put(b, s + start, i - start);
		tb_rbuf_puts(b, e);
		start = i + 1;
	}
	tb_rbuf_put(b, s + start, len - start);
}

void html_render(tb_rbuf *b, const Testbus__V1__ReportInput *in, const html_opts *o)
{
	page pg = { .b = b, .o = o };
	char when[40];
	page_head(&pg, in);
	page_header(&pg, in);
	page_totals(&pg, in);
	page_phases(&pg, in);
	page_failures(&pg, in);
	page_flaky(&pg, in);
	page_findings(&pg, in);
	page_problems(&pg, in);
	tb_results_format_time(in->finished_at, when, sizeof(when));
	tb_rbuf_printf(b, "</main>\n<footer>Generated by testbus %s%s%s.</footer>\n</body></html>\n",
	               TESTBUS_VERSION, when[0] ? " at " : "", when);
}
