/* Rendering a run's summary as terminal text: header, per-target table, failures, findings, problems. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "console.h"
#include "results_json.h"

#define CONS_MAX_NAME 40 /* characters of a phase, target or executor name in the table */

/* ANSI styles, used only when colour is on. */
enum cons_style { CS_NONE, CS_BOLD, CS_RED, CS_GREEN, CS_YELLOW, CS_DIM };

static const char *const cons_codes[] = {
	[CS_NONE] = "", [CS_BOLD] = "\x1b[1m", [CS_RED] = "\x1b[1;31m",
	[CS_GREEN] = "\x1b[32m", [CS_YELLOW] = "\x1b[33m", [CS_DIM] = "\x1b[2m",
};

typedef struct cons {
	tb_rbuf *b;
	const console_opts *o;
	tb_arena *a; /* for cells and cut strings */
} cons;

/* Appends s in a style (plain when colour is off). */
static void cons_styled(cons *c, enum cons_style st, const char *s)
{
	bool on = c->o->color && st != CS_NONE;
	if (on)
		tb_rbuf_puts(c->b, cons_codes[st]);
	tb_rbuf_puts(c->b, s);
	if (on)
		tb_rbuf_puts(c->b, "\x1b[0m");
}

/* The number of characters (code points) of UTF-8 text. */
static size_t cons_width(const char *s)
{
	size_t n = 0;
	for (; *s != '\0'; s++)
		n += ((unsigned char)*s & 0xc0) != 0x80;
	return n;
}

/* s cut to max characters (ending in "..."), allocated from the arena when cut. */
static const char *cons_cut(cons *c, const char *s, size_t max)
{
	if (cons_width(s) <= max)
		return s;
	size_t bytes = 0, chars = 0;
	while (s[bytes] != '\0' && chars < max - 3) {
		bytes++;
		while (((unsigned char)s[bytes] & 0xc0) == 0x80)
			bytes++;
		chars++;
	}
	char *out = tb_arena_printf(c->a, "%.*s...", (int)bytes, s);
	return out != NULL ? out : s;
}

/* The first line of s, cut to the configured width. */
static const char *cons_first_line(cons *c, const char *s)
{
	size_t len = strcspn(s, "\n");
	char *line = tb_arena_memdup(c->a, s, len);
	return line != NULL ? cons_cut(c, line, (size_t)c->o->width) : "";
}

static void cons_pad(cons *c, size_t n)
{
	for (size_t i = 0; i < n; i++)
		tb_rbuf_put(c->b, " ", 1);
}

/* --- the table --- */

#define CONS_COLS 12

static const struct cons_col {
	const char *title;
	bool right;
} cons_cols[CONS_COLS] = {
	{ "PHASE", false }, { "TARGET", false }, { "EXECUTOR", false }, { "TESTS", true },
	{ "PASSED", true }, { "FAILED", true },  { "ERRORS", true },    { "SKIPPED", true },
	{ "FLAKY", true },  { "DURATION", true }, { "ATTEMPTS", true }, { "RESULT", false },
};

typedef struct cons_row {
	const char *cell[CONS_COLS];
	enum cons_style style[CONS_COLS];
} cons_row;

static const char *cons_num(cons *c, uint32_t n)
{
	const char *s = tb_arena_printf(c->a, "%u", n);
	return s != NULL ? s : "?";
}

static void cons_target_row(cons *c, const char *phase, const Testbus__V1__TargetReport *t,
                            cons_row *row)
{
	const Testbus__V1__ExecutionResult *res = t->result;
	Testbus__V1__ResultSummary zero = TESTBUS__V1__RESULT_SUMMARY__INIT;
	const Testbus__V1__ResultSummary *s = res != NULL && res->summary != NULL ? res->summary : &zero;
	char dur[32] = "-";
	bool ok = res != NULL && res->success;
	if (res != NULL && res->end_time > res->start_time && res->start_time != 0)
		tb_reporter_duration((double)(res->end_time - res->start_time), dur, sizeof(dur));
	memset(row, 0, sizeof(*row));
	row->cell[0] = cons_cut(c, phase, CONS_MAX_NAME);
	row->cell[1] = cons_cut(c, t->target_id, CONS_MAX_NAME);
	row->cell[2] = cons_cut(c, t->executor, CONS_MAX_NAME);
	row->cell[3] = cons_num(c, s->total);
	row->cell[4] = cons_num(c, s->passed);
	row->cell[5] = cons_num(c, s->failed);
	row->cell[6] = cons_num(c, s->errors);
	row->cell[7] = cons_num(c, s->skipped);
	row->cell[8] = cons_num(c, s->flaky);
	row->cell[9] = tb_arena_strdup(c->a, dur);
	row->cell[10] = cons_num(c, (uint32_t)(t->n_attempts > 0 ? t->n_attempts : 1));
	row->cell[11] = res == NULL ? "NOT RUN" : res->timed_out ? "TIMED OUT" : ok ? "ok" : "FAILED";
	row->style[5] = s->failed > 0 ? CS_RED : CS_NONE;
	row->style[6] = s->errors > 0 ? CS_RED : CS_NONE;
	row->style[8] = s->flaky > 0 ? CS_YELLOW : CS_NONE;
	row->style[11] = ok ? CS_GREEN : CS_RED;
	for (int i = 0; i < CONS_COLS; i++)
		if (row->cell[i] == NULL)
			row->cell[i] = "";
}

static void cons_print_row(cons *c, const cons_row *row, const size_t *widths)
{
	tb_rbuf_puts(c->b, "  ");
	for (int i = 0; i < CONS_COLS; i++) {
		size_t pad = widths[i] - cons_width(row->cell[i]);
		if (cons_cols[i].right)
			cons_pad(c, pad);
		cons_styled(c, row->style[i], row->cell[i]);
		if (i == CONS_COLS - 1)
			break;
		cons_pad(c, (cons_cols[i].right ? 0 : pad) + 2);
	}
	tb_rbuf_puts(c->b, "\n");
}

static void cons_table(cons *c, const Testbus__V1__ReportInput *in)
{
	size_t n = 0, k = 0;
	for (size_t p = 0; p < in->n_phases; p++)
		n += in->phases[p]->n_targets;
	cons_row *rows = tb_arena_zalloc(c->a, (n + 1) * sizeof(*rows));
	size_t widths[CONS_COLS];
	if (rows == NULL) {
		c->b->oom = true;
		return;
	}
	for (int i = 0; i < CONS_COLS; i++) {
		rows[0].cell[i] = cons_cols[i].title;
		rows[0].style[i] = CS_BOLD;
	}
	for (size_t p = 0; p < in->n_phases; p++)
		for (size_t t = 0; t < in->phases[p]->n_targets; t++)
			cons_target_row(c, in->phases[p]->name, in->phases[p]->targets[t], &rows[++k]);
	for (int i = 0; i < CONS_COLS; i++) {
		widths[i] = 0;
		for (size_t r = 0; r <= n; r++)
			if (cons_width(rows[r].cell[i]) > widths[i])
				widths[i] = cons_width(rows[r].cell[i]);
	}
	for (size_t r = 0; r <= n; r++)
		cons_print_row(c, &rows[r], widths);
}

/* --- the sections --- */

static void cons_header(cons *c, const Testbus__V1__ReportInput *in)
{
	char dur[32] = "", when[40];
	const Testbus__V1__ClusterInfo *cl = in->cluster;
	if (in->finished_at > in->started_at && in->started_at != 0)
		tb_reporter_duration((double)(in->finished_at - in->started_at), dur, sizeof(dur));
	cons_styled(c, CS_BOLD, "testbus run ");
	cons_styled(c, CS_BOLD, in->run_id);
	tb_rbuf_puts(c->b, "  ");
	cons_styled(c, in->success ? CS_GREEN : CS_RED, in->success ? "PASSED" : "FAILED");
	if (dur[0] != '\0')
		tb_rbuf_printf(c->b, "  in %s", dur);
	tb_rbuf_puts(c->b, "\n");
	if (cl != NULL && (cl->name[0] != '\0' || cl->id[0] != '\0'))
		tb_rbuf_printf(c->b, "cluster  %s (%s%s%s%s%s) id %s\n", cl->name, cl->provider,
		               cl->region[0] ? ", " : "", cl->region, cl->version[0] ? ", " : "",
		               cl->version, cl->id[0] ? cl->id : "-");
	tb_results_format_time(in->started_at, when, sizeof(when));
	if (when[0] != '\0')
		tb_rbuf_printf(c->b, "started  %s\n", when);
	tb_rbuf_puts(c->b, "\n");
}

static void cons_totals(cons *c, const Testbus__V1__ReportInput *in)
{
	Testbus__V1__ResultSummary s = TESTBUS__V1__RESULT_SUMMARY__INIT;
	tb_results_run_summary(in, &s);
	tb_rbuf_printf(c->b, "\n%u tests: ", s.total);
	cons_styled(c, CS_GREEN, tb_arena_printf(c->a, "%u passed", s.passed));
	tb_rbuf_puts(c->b, ", ");
	cons_styled(c, s.failed ? CS_RED : CS_NONE, tb_arena_printf(c->a, "%u failed", s.failed));
	tb_rbuf_puts(c->b, ", ");
	cons_styled(c, s.errors ? CS_RED : CS_NONE, tb_arena_printf(c->a, "%u errors", s.errors));
	tb_rbuf_printf(c->b, ", %u skipped, ", s.skipped);
	cons_styled(c, s.flaky ? CS_YELLOW : CS_NONE, tb_arena_printf(c->a, "%u flaky", s.flaky));
	tb_rbuf_puts(c->b, "\n");
}

static bool cons_is_bad(const Testbus__V1__TestCase *tc)
{
	return tc->status == TESTBUS__V1__TEST_STATUS__TEST_FAILED ||
	       tc->status == TESTBUS__V1__TEST_STATUS__TEST_ERROR;
}

static void cons_failure(cons *c, const char *phase, const Testbus__V1__TargetReport *t,
                         const Testbus__V1__TestCase *tc)
{
	bool err = tc->status == TESTBUS__V1__TEST_STATUS__TEST_ERROR;
	const char *why = tc->message[0] != '\0' ? tc->message : tc->output;
	tb_rbuf_puts(c->b, "  ");
	cons_styled(c, CS_RED, err ? "ERROR " : "FAIL  ");
	tb_rbuf_printf(c->b, " %s/%s  ", phase, t->target_id);
	if (tc->classname[0] != '\0')
		tb_rbuf_printf(c->b, "%s: ", tc->classname);
	cons_styled(c, CS_BOLD, tc->name);
	if (tc->attempt > 1)
		tb_rbuf_printf(c->b, " (%u runs)", tc->attempt);
	tb_rbuf_puts(c->b, "\n");
	if (why[0] != '\0')
		tb_rbuf_printf(c->b, "         %s\n", cons_first_line(c, why));
}

/* Lists failed and errored tests, then flaky ones, each up to max_failures. */
static void cons_tests(cons *c, const Testbus__V1__ReportInput *in, bool flaky)
{
	size_t shown = 0, total = 0;
	for (size_t p = 0; p < in->n_phases; p++) {
		const Testbus__V1__PhaseReport *ph = in->phases[p];
		for (size_t t = 0; t < ph->n_targets; t++) {
			const Testbus__V1__ExecutionResult *res = ph->targets[t]->result;
			for (size_t i = 0; res != NULL && i < res->n_test_cases; i++) {
				const Testbus__V1__TestCase *tc = res->test_cases[i];
				bool want = flaky ? tc->flaky && !cons_is_bad(tc) : cons_is_bad(tc);
				if (!want)
					continue;
				if (total++ == 0)
					cons_styled(c, CS_BOLD, flaky ? "\nFlaky tests (passed on a retry):\n"
					                              : "\nFailed tests:\n");
				if (shown >= (size_t)c->o->max_failures)
					continue;
				shown++;
				if (flaky)
					tb_rbuf_printf(c->b, "  %s/%s  %s (%u runs)\n", ph->name,
					               ph->targets[t]->target_id, tc->name, tc->attempt);
				else
					cons_failure(c, ph->name, ph->targets[t], tc);
			}
		}
	}
	if (total > shown)
		tb_rbuf_printf(c->b, "  ... and %zu more\n", total - shown);
}

/* A finding with the target it was made on, for sorting. */
typedef struct cons_finding {
	const Testbus__V1__Finding *f;
	const char *phase;
	const char *target;
} cons_finding;

/* Most severe first, then the most often seen. */
static int cons_finding_cmp(const void *pa, const void *pb)
{
	const Testbus__V1__Finding *a = ((const cons_finding *)pa)->f;
	const Testbus__V1__Finding *b = ((const cons_finding *)pb)->f;
	if (a->severity != b->severity)
		return a->severity > b->severity ? -1 : 1;
	return a->count > b->count ? -1 : a->count < b->count;
}

static enum cons_style cons_severity_style(Testbus__V1__Severity s)
{
	return s >= TESTBUS__V1__SEVERITY__SEVERITY_HIGH     ? CS_RED
	       : s >= TESTBUS__V1__SEVERITY__SEVERITY_MEDIUM ? CS_YELLOW
	                                                     : CS_NONE;
}

static size_t cons_collect_findings(const Testbus__V1__ReportInput *in, cons_finding *out)
{
	size_t n = 0;
	for (size_t p = 0; p < in->n_phases; p++) {
		const Testbus__V1__PhaseReport *ph = in->phases[p];
		for (size_t t = 0; t < ph->n_targets; t++) {
			const Testbus__V1__TargetReport *tr = ph->targets[t];
			for (size_t k = 0; k < tr->n_analysis; k++)
				for (size_t i = 0; i < tr->analysis[k]->n_findings; i++) {
					if (out != NULL)
						out[n] = (cons_finding){ tr->analysis[k]->findings[i], ph->name,
							                 tr->target_id };
					n++;
				}
		}
	}
	return n;
}

static void cons_finding_line(cons *c, const cons_finding *cf)
{
	const Testbus__V1__Finding *f = cf->f;
	char sev[16];
	snprintf(sev, sizeof(sev), "%-9s", tb_results_severity_name(f->severity));
	for (char *p = sev; *p != '\0'; p++)
		*p = (char)(*p >= 'a' && *p <= 'z' ? *p - 'a' + 'A' : *p);
	tb_rbuf_puts(c->b, "  ");
	cons_styled(c, cons_severity_style(f->severity), sev);
	cons_styled(c, CS_BOLD, f->title[0] != '\0' ? f->title : f->rule_id);
	tb_rbuf_printf(c->b, " (%s%s", f->rule_id, f->count > 1 ? ", " : "");
	if (f->count > 1)
		tb_rbuf_printf(c->b, "seen %u times", f->count);
	tb_rbuf_printf(c->b, ") in %s/%s\n", cf->phase, cf->target);
	if (f->suggested_fix[0] != '\0')
		tb_rbuf_printf(c->b, "           fix: %s\n", cons_first_line(c, f->suggested_fix));
	else if (f->explanation[0] != '\0')
		tb_rbuf_printf(c->b, "           %s\n", cons_first_line(c, f->explanation));
}

/* The top findings across the run, then each analysis's root cause. */
static void cons_findings(cons *c, const Testbus__V1__ReportInput *in)
{
	size_t n = cons_collect_findings(in, NULL);
	cons_finding *all = n > 0 ? tb_arena_zalloc(c->a, n * sizeof(*all)) : NULL;
	if (all == NULL)
		return;
	cons_collect_findings(in, all);
	qsort(all, n, sizeof(*all), cons_finding_cmp);
	cons_styled(c, CS_BOLD, "\nFindings:\n");
	for (size_t i = 0; i < n && i < (size_t)c->o->max_findings; i++)
		cons_finding_line(c, &all[i]);
	if (n > (size_t)c->o->max_findings)
		tb_rbuf_printf(c->b, "  ... and %zu more\n", n - (size_t)c->o->max_findings);
	for (size_t p = 0; p < in->n_phases; p++)
		for (size_t t = 0; t < in->phases[p]->n_targets; t++) {
			const Testbus__V1__TargetReport *tr = in->phases[p]->targets[t];
			for (size_t k = 0; k < tr->n_analysis; k++)
				if (tr->analysis[k]->root_cause[0] != '\0')
					tb_rbuf_printf(c->b, "  root cause (%s, %s/%s): %s\n",
					               tr->analysis[k]->analyzer, in->phases[p]->name,
					               tr->target_id,
					               cons_first_line(c, tr->analysis[k]->root_cause));
		}
}

/* Why a target failed as a whole, when it did; NULL when it did not. */
static const char *cons_target_problem(const Testbus__V1__ExecutionResult *res)
{
	if (res == NULL)
		return "did not run";
	if (res->error[0] != '\0')
		return res->error;
	if (res->timed_out)
		return "timed out";
	if (res->cancelled)
		return "cancelled";
	return NULL;
}

/* Targets that failed as a whole, and the run's own errors. */
static void cons_problems(cons *c, const Testbus__V1__ReportInput *in)
{
	bool any = in->n_errors > 0;
	for (size_t p = 0; p < in->n_phases; p++)
		for (size_t t = 0; t < in->phases[p]->n_targets; t++)
			any = any || cons_target_problem(in->phases[p]->targets[t]->result) != NULL;
	if (!any)
		return;
	cons_styled(c, CS_BOLD, "\nProblems:\n");
	for (size_t p = 0; p < in->n_phases; p++)
		for (size_t t = 0; t < in->phases[p]->n_targets; t++) {
			const Testbus__V1__TargetReport *tr = in->phases[p]->targets[t];
			const char *why = cons_target_problem(tr->result);
			if (why != NULL)
				tb_rbuf_printf(c->b, "  %s/%s: %s\n", in->phases[p]->name, tr->target_id,
				               cons_first_line(c, why));
		}
	for (size_t i = 0; i < in->n_errors; i++) {
		tb_rbuf_puts(c->b, "  ");
		cons_styled(c, CS_RED, "run:");
		tb_rbuf_printf(c->b, " %s\n", cons_first_line(c, in->errors[i]));
	}
}

void console_render(tb_rbuf *b, const Testbus__V1__ReportInput *in, const console_opts *o)
{
	cons c = { .b = b, .o = o };
	if (tb_arena_alloc(&c.a) != TB_OK) {
		b->oom = true;
		return;
	}
	cons_header(&c, in);
	cons_table(&c, in);
	cons_totals(&c, in);
	cons_tests(&c, in, false);
	cons_tests(&c, in, true);
	cons_findings(&c, in);
	cons_problems(&c, in);
	tb_arena_free(c.a);
}
