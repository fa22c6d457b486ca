/* Building the Slack message of a run: Block Kit sections within Slack's size limits. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "reporter_base.h"
#include "results_json.h"
#include "slack.h"

#define SLACK_ELLIPSIS "\xe2\x80\xa6"

/* Appends s with Slack's three control characters escaped. */
static void slack_esc(tb_rbuf *b, const char *s)
{
	static const char *const entities[256] = { ['&'] = "&amp;", ['<'] = "&lt;", ['>'] = "&gt;" };
	size_t start = 0, i = 0;
	for (; s[i] != '\0'; i++) {
		const char *e = entities[(unsigned char)s[i]];
		if (e == NULL)
			continue;
		tb_rbuf_put(b, s + start, i - start);
		tb_rbuf_puts(b, e);
		start = i + 1;
	}
	tb_rbuf_put(b, s + start, i - start);
}

/*
 * Cuts b's text to max bytes: on a character boundary, never inside an
 * entity, ending with an ellipsis.
 */
static void slack_cut(tb_rbuf *b, size_t max)
{
	if (b->oom || b->len <= max)
		return;
	size_t len = max - (sizeof(SLACK_ELLIPSIS) - 1);
	while (len > 0 && ((unsigned char)b->data[len] & 0xc0) == 0x80)
		len--;
	const char *amp = memchr(b->data + (len > 5 ? len - 5 : 0), '&', len > 5 ? 5 : len);
	if (amp != NULL && memchr(amp, ';', (size_t)(b->data + len - amp)) == NULL)
		len = (size_t)(amp - b->data);
	b->len = len;
	b->data[len] = '\0';
	tb_rbuf_puts(b, SLACK_ELLIPSIS);
}

char *slack_text(const char *s, size_t max)
{
	tb_rbuf b = { 0 };
	slack_esc(&b, s != NULL ? s : "");
	slack_cut(&b, max);
	if (b.oom || b.data == NULL) {
		tb_rbuf_fini(&b);
		return b.oom ? NULL : strdup("");
	}
	return b.data;
}

/* A builder whose first allocation failure sticks. */
typedef struct sk {
	int rv;
} sk;

static json_object *sk_add(sk *k, json_object *o, const char *key, json_object *v)
{
	if (v == NULL || json_object_object_add(o, key, v) != 0) {
		json_object_put(v);
		k->rv = TB_RESOURCE_EXHAUSTED;
	}
	return v;
}

static void sk_push(sk *k, json_object *arr, json_object *v)
{
	if (v == NULL || json_object_array_add(arr, v) != 0) {
		json_object_put(v);
		k->rv = TB_RESOURCE_EXHAUSTED;
	}
}

/* {"type": type, "text": text}, taking text from a heap string (freed here). */
static json_object *sk_text(sk *k, const char *type, char *text)
{
	json_object *o = json_object_new_object();
	if (o == NULL || text == NULL) {
		free(text);
		json_object_put(o);
		k->rv = TB_RESOURCE_EXHAUSTED;
		return NULL;
	}
	sk_add(k, o, "type", json_object_new_string(type));
	sk_add(k, o, "text", json_object_new_string(text));
	if (strcmp(type, "plain_text") == 0)
		sk_add(k, o, "emoji", json_object_new_boolean(1));
	free(text);
	return o;
}

/* A section block holding b's mrkdwn text, cut to Slack's limit. */
static json_object *sk_section(sk *k, tb_rbuf *b)
{
	json_object *o = json_object_new_object();
	slack_cut(b, SLACK_MAX_TEXT);
	if (o == NULL || b->oom) {
		json_object_put(o);
		k->rv = TB_RESOURCE_EXHAUSTED;
		return NULL;
	}
	sk_add(k, o, "type", json_object_new_string("section"));
	sk_add(k, o, "text", sk_text(k, "mrkdwn", strdup(b->data != NULL ? b->data : "")));
	return o;
}

static json_object *sk_header(sk *k, const Testbus__V1__ReportInput *in)
{
	char title[256];
	snprintf(title, sizeof(title), "%s testbus run %s %s", in->success ? ":white_check_mark:" : ":x:",
	         in->run_id, in->success ? "passed" : "failed");
	tb_rbuf b = { 0 };
	tb_rbuf_puts(&b, title);
	slack_cut(&b, SLACK_MAX_HEADER);
	json_object *o = json_object_new_object();
	json_object *text = sk_text(k, "plain_text", b.data != NULL ? strdup(b.data) : NULL);
	tb_rbuf_fini(&b);
	if (o == NULL) {
		json_object_put(text);
		k->rv = TB_RESOURCE_EXHAUSTED;
		return NULL;
	}
	sk_add(k, o, "type", json_object_new_string("header"));
	sk_add(k, o, "text", text);
	return o;
}

/* "*name*\nvalue" as a mrkdwn field. */
static json_object *sk_field(sk *k, const char *name, const char *value)
{
	tb_rbuf b = { 0 };
	tb_rbuf_printf(&b, "*%s*\n", name);
	slack_esc(&b, value);
	slack_cut(&b, SLACK_MAX_FIELD);
	json_object *o = sk_text(k, "mrkdwn", b.data != NULL && !b.oom ? strdup(b.data) : NULL);
	tb_rbuf_fini(&b);
	return o;
}

static json_object *sk_totals(sk *k, const Testbus__V1__ReportInput *in)
{
	Testbus__V1__ResultSummary s = TESTBUS__V1__RESULT_SUMMARY__INIT;
	char n[8][64], cluster[512] = "-", dur[32] = "-";
	const Testbus__V1__ClusterInfo *cl = in->cluster;
	tb_results_run_summary(in, &s);
	if (cl != NULL && cl->name[0] != '\0')
		snprintf(cluster, sizeof(cluster), "%s (%s%s%s)", cl->name, cl->provider,
		         cl->region[0] ? ", " : "", cl->region);
	if (in->started_at != 0 && in->finished_at > in->started_at)
		tb_reporter_duration((double)(in->finished_at - in->started_at), dur, sizeof(dur));
	uint32_t v[] = { s.total, s.passed, s.failed, s.errors, s.skipped, s.flaky };
	for (size_t i = 0; i < 6; i++)
		snprintf(n[i], sizeof(n[i]), "%u", v[i]);
	const char *names[] = { "Cluster", "Duration", "Tests", "Passed",
		                "Failed", "Errors", "Skipped", "Flaky" };
	const char *values[] = { cluster, dur, n[0], n[1], n[2], n[3], n[4], n[5] };
	json_object *o = json_object_new_object();
	json_object *fields = json_object_new_array();
	if (o == NULL || fields == NULL) {
		json_object_put(o);
		json_object_put(fields);
		k->rv = TB_RESOURCE_EXHAUSTED;
		return NULL;
	}
	for (size_t i = 0; i < 8 && i < SLACK_MAX_FIELDS; i++)
		sk_push(k, fields, sk_field(k, names[i], values[i]));
	sk_add(k, o, "type", json_object_new_string("section"));
	sk_add(k, o, "fields", fields);
	return o;
}

/* One failed test as a bullet line: "• `phase/target` *name*: message". */
static void sk_failure_line(tb_rbuf *line, const char *phase, const char *target,
                            const Testbus__V1__TestCase *tc)
{
	size_t msg = strcspn(tc->message, "\n");
	char *first = strndup(tc->message, msg > 300 ? 300 : msg);
	tb_rbuf_puts(line, "\xe2\x80\xa2 `");
	slack_esc(line, phase);
	tb_rbuf_puts(line, "/");
	slack_esc(line, target);
	tb_rbuf_printf(line, "` %s*", tc->status == TESTBUS__V1__TEST_STATUS__TEST_ERROR ? "error " : "");
	slack_esc(line, tc->name);
	tb_rbuf_puts(line, "*");
	if (first != NULL && first[0] != '\0') {
		tb_rbuf_puts(line, ": ");
		slack_esc(line, first);
	}
	tb_rbuf_puts(line, "\n");
	free(first);
}

/* The failed tests, whole lines only, with a count of the ones left out. */
static json_object *sk_failures(sk *k, const Testbus__V1__ReportInput *in, size_t max)
{
	tb_rbuf b = { 0 };
	size_t total = 0, shown = 0;
	tb_rbuf_puts(&b, "*Failed tests*\n");
	for (size_t p = 0; p < in->n_phases; p++)
		for (size_t t = 0; t < in->phases[p]->n_targets; t++) {
			const Testbus__V1__TargetReport *tr = in->phases[p]->targets[t];
			for (size_t i = 0; tr->result != NULL && i < tr->result->n_test_cases; i++) {
				const Testbus__V1__TestCase *tc = tr->result->test_cases[i];
				tb_rbuf line = { 0 };
				if (tc->status != TESTBUS__V1__TEST_STATUS__TEST_FAILED &&
				    tc->status != TESTBUS__V1__TEST_STATUS__TEST_ERROR)
					continue;
				total++;
				sk_failure_line(&line, in->phases[p]->name, tr->target_id, tc);
				/* Room is kept for the "and N more" line. */
				if (shown < max && !line.oom && b.len + line.len <= SLACK_MAX_TEXT - 64) {
					tb_rbuf_put(&b, line.data, line.len);
					shown++;
				}
				tb_rbuf_fini(&line);
			}
		}
	if (total > shown)
		tb_rbuf_printf(&b, "_... and %zu more_", total - shown);
	json_object *o = total > 0 ? sk_section(k, &b) : NULL;
	tb_rbuf_fini(&b);
	return o;
}

/* The most severe finding of the run (then the most often seen), with where it was made. */
static const Testbus__V1__Finding *sk_top_finding(const Testbus__V1__ReportInput *in,
                                                  const char **phasep, const char **targetp)
{
	const Testbus__V1__Finding *best = NULL;
	for (size_t p = 0; p < in->n_phases; p++)
		for (size_t t = 0; t < in->phases[p]->n_targets; t++) {
			const Testbus__V1__TargetReport *tr = in->phases[p]->targets[t];
			for (size_t k = 0; k < tr->n_analysis; k++)
				for (size_t i = 0; i < tr->analysis[k]->n_findings; i++) {
					const Testbus__V1__Finding *f = tr->analysis[k]->findings[i];
					if (best != NULL && (f->severity < best->severity ||
					                     (f->severity == best->severity && f->count <= best->count)))
						continue;
					best = f;
					*phasep = in->phases[p]->name;
					*targetp = tr->target_id;
				}
		}
	return best;
}

static json_object *sk_finding(sk *k, const Testbus__V1__ReportInput *in)
{
	const char *phase = "", *target = "";
	const Testbus__V1__Finding *f = sk_top_finding(in, &phase, &target);
	tb_rbuf b = { 0 };
	if (f == NULL)
		return NULL;
	tb_rbuf_printf(&b, "*Top finding* (%s", tb_results_severity_name(f->severity));
	if (f->count > 1)
		tb_rbuf_printf(&b, ", seen %u times", f->count);
	tb_rbuf_puts(&b, " in `");
	slack_esc(&b, phase);
	tb_rbuf_puts(&b, "/");
	slack_esc(&b, target);
	tb_rbuf_puts(&b, "`)\n*");
	slack_esc(&b, f->title[0] != '\0' ? f->title : f->rule_id);
	tb_rbuf_puts(&b, "* `");
	slack_esc(&b, f->rule_id);
	tb_rbuf_puts(&b, "`\n");
	slack_esc(&b, f->explanation);
	if (f->suggested_fix[0] != '\0') {
		tb_rbuf_puts(&b, "\n_Fix:_ ");
		slack_esc(&b, f->suggested_fix);
	}
	json_object *o = sk_section(k, &b);
	tb_rbuf_fini(&b);
	return o;
}

static json_object *sk_errors(sk *k, const Testbus__V1__ReportInput *in)
{
	tb_rbuf b = { 0 };
	if (in->n_errors == 0)
		return NULL;
	tb_rbuf_puts(&b, "*Run errors*\n");
	for (size_t i = 0; i < in->n_errors; i++) {
		tb_rbuf_puts(&b, "\xe2\x80\xa2 ");
		slack_esc(&b, in->errors[i]);
		tb_rbuf_puts(&b, "\n");
	}
	json_object *o = sk_section(k, &b);
	tb_rbuf_fini(&b);
	return o;
}

/* A button to the report, its URL with {run_id} replaced; NULL without one. */
static json_object *sk_link(sk *k, const Testbus__V1__ReportInput *in, const char *url)
{
	tb_rbuf u = { 0 };
	const char *mark = url != NULL ? strstr(url, "{run_id}") : NULL;
	if (url == NULL || url[0] == '\0')
		return NULL;
	tb_rbuf_put(&u, url, mark != NULL ? (size_t)(mark - url) : strlen(url));
	if (mark != NULL) {
		tb_rbuf_puts(&u, in->run_id);
		tb_rbuf_puts(&u, mark + 8);
	}
	json_object *o = json_object_new_object();
	json_object *els = json_object_new_array();
	json_object *btn = json_object_new_object();
	if (o == NULL || els == NULL || btn == NULL || u.oom || u.len > SLACK_MAX_TEXT) {
		json_object_put(o);
		json_object_put(els);
		json_object_put(btn);
		if (u.oom)
			k->rv = TB_RESOURCE_EXHAUSTED;
		tb_rbuf_fini(&u);
		return NULL;
	}
	sk_add(k, btn, "type", json_object_new_string("button"));
	sk_add(k, btn, "text", sk_text(k, "plain_text", strdup("Open the report")));
	sk_add(k, btn, "url", json_object_new_string(u.data));
	sk_push(k, els, btn);
	sk_add(k, o, "type", json_object_new_string("actions"));
	sk_add(k, o, "elements", els);
	tb_rbuf_fini(&u);
	return o;
}

/* The notification text Slack shows where blocks are not rendered. */
static char *sk_fallback(const Testbus__V1__ReportInput *in)
{
	Testbus__V1__ResultSummary s = TESTBUS__V1__RESULT_SUMMARY__INIT;
	tb_rbuf b = { 0 };
	tb_results_run_summary(in, &s);
	tb_rbuf_puts(&b, "testbus run ");
	slack_esc(&b, in->run_id);
	tb_rbuf_printf(&b, " %s: %u tests, %u passed, %u failed, %u errors, %u skipped",
	               in->success ? "passed" : "FAILED", s.total, s.passed, s.failed, s.errors,
	               s.skipped);
	slack_cut(&b, SLACK_MAX_FALLBACK);
	return b.oom ? (tb_rbuf_fini(&b), NULL) : b.data;
}

static void sk_optional(sk *k, json_object *o, const char *key, const char *value)
{
	if (value != NULL && value[0] != '\0')
		sk_add(k, o, key, json_object_new_string(value));
}

int slack_payload(const Testbus__V1__ReportInput *in, const slack_opts *o, char **jsonp)
{
	sk k = { .rv = TB_OK };
	json_object *msg = json_object_new_object();
	json_object *blocks = json_object_new_array();
	json_object *parts[] = {
		sk_header(&k, in), sk_totals(&k, in), sk_failures(&k, in, o->max_failures),
		sk_finding(&k, in), sk_errors(&k, in), sk_link(&k, in, o->report_url),
	};
	char *text = sk_fallback(in);
	char *out = NULL;
	if (msg == NULL || blocks == NULL || text == NULL)
		k.rv = TB_RESOURCE_EXHAUSTED;
	for (size_t i = 0; i < sizeof(parts) / sizeof(parts[0]); i++) {
		if (parts[i] != NULL && blocks != NULL && k.rv == TB_OK)
			sk_push(&k, blocks, parts[i]);
		else
			json_object_put(parts[i]);
	}
	if (k.rv == TB_OK) {
		sk_add(&k, msg, "text", json_object_new_string(text));
		sk_optional(&k, msg, "channel", o->channel);
		sk_optional(&k, msg, "username", o->username);
		sk_optional(&k, msg, "icon_emoji", o->icon_emoji);
		sk_add(&k, msg, "blocks", blocks);
		blocks = NULL;
	}
	if (k.rv == TB_OK) {
		const char *s = json_object_to_json_string_ext(msg, JSON_C_TO_STRING_PLAIN |
		                                                        JSON_C_TO_STRING_NOSLASHESCAPE);
		if (s == NULL || (out = strdup(s)) == NULL)
			k.rv = TB_RESOURCE_EXHAUSTED;
	}
	json_object_put(blocks);
	json_object_put(msg);
	free(text);
	*jsonp = k.rv == TB_OK ? out : NULL;
	return k.rv;
}
