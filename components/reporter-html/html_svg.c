/* The HTML page's charts as inline SVG: totals donut, results per target, slowest tests. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "html.h"
#include "results_json.h"

#define SVG_WIDTH 760
#define SVG_LABEL 240 /* left column for names */
#define SVG_BAR 420   /* the longest bar */
#define SVG_ROW 24
#define SVG_LABEL_CHARS 32 /* characters of a name beside a bar */

/* The colours of the statuses, in the order the stacked bars use. */
static const struct svg_part {
	const char *name;
	const char *color;
} svg_parts[] = {
	{ "passed", "#2e7d32" },
	{ "failed", "#c62828" },
	{ "errors", "#6a1b9a" },
	{ "skipped", "#9e9e9e" },
};

#define SVG_N_PARTS (sizeof(svg_parts) / sizeof(svg_parts[0]))

/* A name beside a bar: escaped, and cut with an ellipsis when long. */
static void svg_label(tb_rbuf *b, const char *s)
{
	size_t bytes = 0, chars = 0;
	while (s[bytes] != '\0' && chars < SVG_LABEL_CHARS) {
		bytes++;
		while (((unsigned char)s[bytes] & 0xc0) == 0x80)
			bytes++;
		chars++;
	}
	html_esc(b, s, bytes);
	if (s[bytes] != '\0')
		tb_rbuf_puts(b, "\xe2\x80\xa6");
}

static void svg_counts(const Testbus__V1__ResultSummary *s, uint32_t *v)
{
	v[0] = s->passed;
	v[1] = s->failed;
	v[2] = s->errors;
	v[3] = s->skipped;
}

static void svg_legend(tb_rbuf *b, int x, int y)
{
	for (size_t i = 0; i < SVG_N_PARTS; i++) {
		int at = x + (int)i * 90;
		tb_rbuf_printf(b, "<rect x=\"%d\" y=\"%d\" width=\"12\" height=\"12\" fill=\"%s\"/>", at,
		               y, svg_parts[i].color);
		tb_rbuf_printf(b, "<text x=\"%d\" y=\"%d\">%s</text>", at + 16, y + 11,
		               svg_parts[i].name);
	}
}

void html_svg_totals(tb_rbuf *b, const Testbus__V1__ResultSummary *s)
{
	const double r = 50, circ = 2 * M_PI * r;
	uint32_t v[SVG_N_PARTS];
	double done = 0;
	svg_counts(s, v);
	tb_rbuf_printf(b, "<svg class=\"chart donut\" id=\"chart-totals\" viewBox=\"0 0 140 140\" "
	                  "width=\"140\" height=\"140\" role=\"img\" aria-label=\"%u tests\">"
	                  "<title>%u tests: %u passed, %u failed, %u errors, %u skipped</title>",
	               s->total, s->total, s->passed, s->failed, s->errors, s->skipped);
	tb_rbuf_printf(b, "<circle cx=\"70\" cy=\"70\" r=\"%.0f\" fill=\"none\" stroke=\"#eee\" "
	                  "stroke-width=\"18\"/>", r);
	for (size_t i = 0; i < SVG_N_PARTS && s->total > 0; i++) {
		double len = circ * v[i] / s->total;
		if (v[i] == 0)
			continue;
		tb_rbuf_printf(b, "<circle class=\"part-%s\" cx=\"70\" cy=\"70\" r=\"%.0f\" fill=\"none\" "
		                  "stroke=\"%s\" stroke-width=\"18\" stroke-dasharray=\"%.2f %.2f\" "
		                  "stroke-dashoffset=\"%.2f\" transform=\"rotate(-90 70 70)\">"
		                  "<title>%u %s</title></circle>",
		               svg_parts[i].name, r, svg_parts[i].color, len, circ - len, -done, v[i],
		               svg_parts[i].name);
		done += len;
	}
	tb_rbuf_printf(b, "<text x=\"70\" y=\"76\" text-anchor=\"middle\" class=\"donut-total\">%u"
	                  "</text></svg>", s->total);
}

/* One stacked bar of a target's counts, scaled to max. */
static void svg_target_bar(tb_rbuf *b, const char *phase, const Testbus__V1__TargetReport *t,
                           uint32_t max, int y)
{
	Testbus__V1__ResultSummary zero = TESTBUS__V1__RESULT_SUMMARY__INIT;
	const Testbus__V1__ResultSummary *s =
	    t->result != NULL && t->result->summary != NULL ? t->result->summary : &zero;
	uint32_t v[SVG_N_PARTS];
	double x = SVG_LABEL;
	svg_counts(s, v);
	tb_rbuf_printf(b, "<g class=\"bar\"><text x=\"%d\" y=\"%d\" text-anchor=\"end\">", SVG_LABEL - 8,
	               y + 16);
	html_esc(b, phase, 0);
	tb_rbuf_puts(b, "/");
	svg_label(b, t->target_id);
	tb_rbuf_puts(b, "</text>");
	for (size_t i = 0; i < SVG_N_PARTS; i++) {
		double w = max > 0 ? (double)SVG_BAR * v[i] / max : 0;
		if (v[i] == 0)
			continue;
		tb_rbuf_printf(b, "<rect class=\"part-%s\" x=\"%.1f\" y=\"%d\" width=\"%.1f\" "
		                  "height=\"%d\" fill=\"%s\"><title>%u %s</title></rect>",
		               svg_parts[i].name, x, y + 3, w, SVG_ROW - 6, svg_parts[i].color, v[i],
		               svg_parts[i].name);
		x += w;
	}
	tb_rbuf_printf(b, "<text x=\"%.1f\" y=\"%d\">%u</text></g>", x + 6, y + 16, s->total);
}

void html_svg_targets(tb_rbuf *b, const Testbus__V1__ReportInput *in)
{
	uint32_t max = 0;
	size_t n = 0;
	for (size_t p = 0; p < in->n_phases; p++)
		for (size_t t = 0; t < in->phases[p]->n_targets; t++) {
			const Testbus__V1__ExecutionResult *r = in->phases[p]->targets[t]->result;
			if (r != NULL && r->summary != NULL && r->summary->total > max)
				max = r->summary->total;
			n++;
		}
	int height = (int)n * SVG_ROW + 40;
	tb_rbuf_printf(b, "<svg class=\"chart\" id=\"chart-targets\" viewBox=\"0 0 %d %d\" "
	                  "width=\"%d\" height=\"%d\" role=\"img\" "
	                  "aria-label=\"Tests by result, per target\">"
	                  "<title>Tests by result, per target</title>",
	               SVG_WIDTH, height, SVG_WIDTH, height);
	svg_legend(b, SVG_LABEL, 4);
	int y = 28;
	for (size_t p = 0; p < in->n_phases; p++)
		for (size_t t = 0; t < in->phases[p]->n_targets; t++, y += SVG_ROW)
			svg_target_bar(b, in->phases[p]->name, in->phases[p]->targets[t], max, y);
	tb_rbuf_puts(b, "</svg>");
}

/* A test case with the target it ran in, for sorting by duration. */
typedef struct svg_test {
	const Testbus__V1__TestCase *tc;
} svg_test;

static int svg_slower_first(const void *pa, const void *pb)
{
	double a = ((const svg_test *)pa)->tc->duration_ms;
	double b = ((const svg_test *)pb)->tc->duration_ms;
	return a > b ? -1 : a < b;
}

static const char *svg_status_color(Testbus__V1__TestStatus s)
{
	switch (s) {
	case TESTBUS__V1__TEST_STATUS__TEST_FAILED:
		return svg_parts[1].color;
	case TESTBUS__V1__TEST_STATUS__TEST_ERROR:
		return svg_parts[2].color;
	case TESTBUS__V1__TEST_STATUS__TEST_SKIPPED:
		return svg_parts[3].color;
	default:
		return svg_parts[0].color;
	}
}

static void svg_duration_bar(tb_rbuf *b, const Testbus__V1__TestCase *tc, double max, int y)
{
	char dur[32];
	double w = max > 0 ? SVG_BAR * tc->duration_ms / max : 0;
	tb_rbuf_printf(b, "<g class=\"bar\"><text x=\"%d\" y=\"%d\" text-anchor=\"end\">",
	               SVG_LABEL - 8, y + 16);
	svg_label(b, tc->name);
	tb_rbuf_printf(b, "</text><rect x=\"%d\" y=\"%d\" width=\"%.1f\" height=\"%d\" fill=\"%s\">"
	                  "<title>",
	               SVG_LABEL, y + 3, w < 1 ? 1 : w, SVG_ROW - 6, svg_status_color(tc->status));
	html_esc(b, tc->name, 0);
	tb_rbuf_printf(b, " (%s)</title></rect><text x=\"%.1f\" y=\"%d\">%s</text></g>",
	               tb_results_status_name(tc->status), SVG_LABEL + (w < 1 ? 1 : w) + 6, y + 16,
	               tb_reporter_duration(tc->duration_ms, dur, sizeof(dur)));
}

void html_svg_durations(tb_rbuf *b, const Testbus__V1__ReportInput *in, size_t max_bars)
{
	size_t n = 0, k = 0;
	for (size_t p = 0; p < in->n_phases; p++)
		for (size_t t = 0; t < in->phases[p]->n_targets; t++)
			if (in->phases[p]->targets[t]->result != NULL)
				n += in->phases[p]->targets[t]->result->n_test_cases;
	svg_test *all = n > 0 ? calloc(n, sizeof(*all)) : NULL;
	if (n > 0 && all == NULL) {
		b->oom = true;
		return;
	}
	for (size_t p = 0; p < in->n_phases; p++)
		for (size_t t = 0; t < in->phases[p]->n_targets; t++) {
			const Testbus__V1__ExecutionResult *r = in->phases[p]->targets[t]->result;
			for (size_t i = 0; r != NULL && i < r->n_test_cases; i++)
				all[k++].tc = r->test_cases[i];
		}
	if (n > 0)
		qsort(all, n, sizeof(*all), svg_slower_first);
	size_t shown = n < max_bars ? n : max_bars;
	int height = (int)shown * SVG_ROW + 8;
	tb_rbuf_printf(b, "<svg class=\"chart\" id=\"chart-durations\" viewBox=\"0 0 %d %d\" "
	                  "width=\"%d\" height=\"%d\" role=\"img\" aria-label=\"Slowest tests\">"
	                  "<title>Slowest tests</title>",
	               SVG_WIDTH, height, SVG_WIDTH, height);
	for (size_t i = 0; i < shown; i++)
		svg_duration_bar(b, all[i].tc, all[0].tc->duration_ms, 4 + (int)i * SVG_ROW);
	tb_rbuf_puts(b, "</svg>");
	free(all);
}
