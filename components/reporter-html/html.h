/* The HTML reporter's page: one self-contained document with inline CSS and SVG, every string escaped. */
#ifndef TESTBUS_REPORTER_HTML_H
#define TESTBUS_REPORTER_HTML_H

#include <stddef.h>
#include <stdint.h>

#include "reporter_base.h"

typedef struct html_opts {
	const char *title;       /* page title before the run id; may be empty */
	size_t max_output;       /* bytes of a log or failure output shown */
	size_t max_failures;     /* failed tests shown in full */
	size_t max_chart_tests;  /* bars in the slowest-tests chart */
} html_opts;

/*
 * Renders the page for a run into b. in must be prepared
 * (tb_results_prepare). The page loads nothing: no scripts, no external
 * styles, images or fonts, and a Content-Security-Policy that forbids them.
 * An allocation failure shows in b->oom.
 */
void html_render(tb_rbuf *b, const Testbus__V1__ReportInput *in, const html_opts *o);

/* --- shared by the page and its charts --- */

/* Appends s with &, <, >, " and ' escaped; at most max bytes of it (0: all). */
void html_esc(tb_rbuf *b, const char *s, size_t max);

/* The charts, as inline <svg> elements. */
void html_svg_totals(tb_rbuf *b, const Testbus__V1__ResultSummary *s);
void html_svg_targets(tb_rbuf *b, const Testbus__V1__ReportInput *in);
void html_svg_durations(tb_rbuf *b, const Testbus__V1__ReportInput *in, size_t max_bars);

#endif
