/* The console reporter's summary: totals, per-target table, failures and findings as terminal text. */
#ifndef TESTBUS_REPORTER_CONSOLE_H
#define TESTBUS_REPORTER_CONSOLE_H

#include <stdbool.h>
#include <stdint.h>

#include "reporter_base.h"

typedef struct console_opts {
	bool color;             /* ANSI colours and bold */
	int64_t max_failures;   /* failed tests listed, at most */
	int64_t max_findings;   /* analysis findings listed, at most */
	int64_t width;          /* longest message line shown, in characters */
} console_opts;

/*
 * Renders the summary of a run into b (see docs/reporters.md for an
 * example). in must be prepared (tb_results_prepare). Does not fail: an
 * allocation failure shows in b->oom.
 */
void console_render(tb_rbuf *b, const Testbus__V1__ReportInput *in, const console_opts *o);

#endif
