/* Building a redacted prompt within a byte budget, leaving out the least useful text first. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "llm.h"

#define PROMPT_MIN_KEEP 256      /* a piece cut shorter than this is left out instead */
#define PROMPT_MARKER_MAX 48     /* room for "[... N bytes cut ...]" */
#define PROMPT_NOTE_MAX 160      /* room for the note on what was left out */
#define PROMPT_LINE_SLACK 160    /* how far a cut may move to land on a line end */
#define PROMPT_HEADER_ERROR 2000 /* bytes of the run's error kept in the header */
#define PROMPT_EVIDENCE 3        /* evidence lines given per prior finding */

const char llm_system_prompt[] =
	"You are an expert in Kubernetes, OpenShift and end-to-end testing. You are given the "
	"results of a test run against a cluster: a summary, findings of a rule-based analyzer "
	"when there are any, the failed tests with their messages and output, and excerpts of "
	"logs. Find the most likely root cause of the failures. Answer with one JSON object and "
	"nothing else, with exactly these fields:\n"
	"{\"summary\": \"one or two sentences\", \"root_cause\": \"the most likely root cause\", "
	"\"evidence\": [\"lines quoted exactly from the input that support it\"], "
	"\"recommendations\": [\"concrete next steps\"], \"confidence\": a number from 0 to 1}\n"
	"Say so in root_cause and give a low confidence when the input is not enough to tell. "
	"Secrets in the input were replaced with [REDACTED].";

/* Usefulness classes, most useful first. */
enum prompt_prio {
	PRIO_HEADER,
	PRIO_FINDINGS,
	PRIO_TEST_MESSAGE,
	PRIO_STDERR,
	PRIO_TEST_OUTPUT,
	PRIO_STDOUT,
	PRIO_LOG,
	PRIO_MORE_TESTS,
};

struct prompt_piece {
	enum prompt_prio prio;
	size_t seq;        /* order within a class: earlier is more useful */
	char *heading;
	char *body;        /* redacted */
	size_t len;        /* bytes of body kept */
	size_t orig;       /* bytes of body before any cut */
	size_t cut;        /* bytes of body cut */
	bool keep_tail;    /* logs keep their end, messages their start */
	bool dropped;
	const char *kind;  /* names it in the note on what was left out */
};

struct prompt {
	tb_arena *a;
	tb_redactor *r;
	const struct llm_config *c;
	struct prompt_piece *p;
	size_t n, cap;
	size_t redactions;
	bool oom;
};

/* Adds a piece; body is redacted first. Out of memory is remembered in pr->oom. */
static void prompt_add(struct prompt *pr, enum prompt_prio prio, size_t seq, bool keep_tail,
                       const char *kind, const char *body, const char *fmt, ...)
	__attribute__((format(printf, 7, 8)));

static void prompt_add(struct prompt *pr, enum prompt_prio prio, size_t seq, bool keep_tail,
                       const char *kind, const char *body, const char *fmt, ...)
{
	if (pr->oom || body == NULL || body[0] == '\0')
		return;
	if (pr->n == pr->cap) {
		size_t cap = pr->cap ? pr->cap * 2 : 16;
		struct prompt_piece *p = tb_arena_zalloc(pr->a, cap * sizeof(*p));
		if (p == NULL) {
			pr->oom = true;
			return;
		}
		if (pr->n > 0)
			memcpy(p, pr->p, pr->n * sizeof(*p));
		pr->p = p;
		pr->cap = cap;
	}
	char heading[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(heading, sizeof(heading), fmt, ap);
	va_end(ap);
	size_t count = 0;
	char *red = tb_redact_str(pr->r, body, &count);
	struct prompt_piece *p = &pr->p[pr->n];
	*p = (struct prompt_piece){.prio = prio, .seq = seq, .keep_tail = keep_tail, .kind = kind};
	p->heading = tb_arena_strdup(pr->a, heading);
	p->body = red != NULL ? tb_arena_strdup(pr->a, red) : NULL;
	free(red);
	if (p->heading == NULL || p->body == NULL) {
		pr->oom = true;
		return;
	}
	p->len = p->orig = strlen(p->body);
	pr->redactions += count;
	pr->n++;
}

static const char *prompt_status_name(Testbus__V1__TestStatus s)
{
	return s == TESTBUS__V1__TEST_STATUS__TEST_ERROR ? "error" : "failed";
}

/* The run summary, its labels and the cluster. */
static void prompt_header(struct prompt *pr, const Testbus__V1__AnalysisInput *in)
{
	const Testbus__V1__ExecutionResult *r = in->result;
	char *h = tb_arena_printf(pr->a, "Run %s.", in->run_id[0] ? in->run_id : "(no id)");
	if (r != NULL) {
		const Testbus__V1__ResultSummary *s = r->summary;
		h = tb_arena_printf(pr->a, "%s Result: %s; exit code %d%s%s.", h,
		                    r->success ? "passed" : "FAILED", r->exit_code,
		                    r->timed_out ? "; timed out" : "", r->cancelled ? "; cancelled" : "");
		if (s != NULL && h != NULL)
			h = tb_arena_printf(pr->a, "%s Tests: %u total, %u passed, %u failed, %u errors, "
			                    "%u skipped, %u flaky.", h, s->total, s->passed, s->failed,
			                    s->errors, s->skipped, s->flaky);
		if (r->error[0] != '\0' && h != NULL)
			h = tb_arena_printf(pr->a, "%s\nRun error: %.*s", h, PROMPT_HEADER_ERROR, r->error);
	}
	for (size_t i = 0; h != NULL && i < in->n_labels; i++)
		h = tb_arena_printf(pr->a, "%s%s%s=%s", h, i == 0 ? "\nLabels: " : ", ",
		                    in->labels[i]->key, in->labels[i]->value);
	const Testbus__V1__ClusterInfo *c = in->cluster;
	if (c != NULL && h != NULL)
		h = tb_arena_printf(pr->a, "%s\nCluster: provider %s, version %s, region %s, name %s.", h,
		                    c->provider, c->version, c->region, c->name);
	if (h == NULL)
		pr->oom = true;
	else
		prompt_add(pr, PRIO_HEADER, 0, false, "summary", h, "## Run\n");
}

/* "high" for SEVERITY_HIGH: the enum's own name without its prefix, lower case. */
static void prompt_severity(int severity, char *buf, size_t size)
{
	const ProtobufCEnumValue *v =
		protobuf_c_enum_descriptor_get_value(&testbus__v1__severity__descriptor, severity);
	const char *name = v != NULL ? v->name : "SEVERITY_UNSPECIFIED";
	const char *prefix = "SEVERITY_";
	if (strncmp(name, prefix, strlen(prefix)) == 0)
		name += strlen(prefix);
	size_t i = 0;
	for (; name[i] != '\0' && i + 1 < size; i++)
		buf[i] = (char)(name[i] >= 'A' && name[i] <= 'Z' ? name[i] - 'A' + 'a' : name[i]);
	buf[i] = '\0';
}

/* The findings of analyzers that ran before, most important first. */
static void prompt_findings(struct prompt *pr, const Testbus__V1__AnalysisInput *in)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	if (f == NULL) {
		pr->oom = true;
		return;
	}
	for (size_t i = 0; i < in->n_prior_findings; i++) {
		const Testbus__V1__Finding *fd = in->prior_findings[i];
		char sev[32];
		prompt_severity(fd->severity, sev, sizeof(sev));
		fprintf(f, "- %s (rule %s, severity %s, %u matching lines", fd->title, fd->rule_id, sev,
		        fd->count);
		for (size_t t = 0; t < fd->n_test_cases && t < 5; t++)
			fprintf(f, "%s%s", t == 0 ? "; tests: " : ", ", fd->test_cases[t]);
		fprintf(f, ")\n");
		for (size_t e = 0; e < fd->n_evidence && e < PROMPT_EVIDENCE; e++)
			fprintf(f, "  evidence: %s\n", fd->evidence[e]);
	}
	fclose(f);
	prompt_add(pr, PRIO_FINDINGS, 0, false, "findings", text,
	           "## Findings of the rule-based analyzer\n");
	free(text);
}

static bool prompt_failed(const Testbus__V1__TestCase *tc)
{
	return tc->status == TESTBUS__V1__TEST_STATUS__TEST_FAILED ||
	       tc->status == TESTBUS__V1__TEST_STATUS__TEST_ERROR;
}

/* Failed tests: messages and outputs of the first max_tests, then a list of the rest. */
static void prompt_tests(struct prompt *pr, const Testbus__V1__ExecutionResult *r)
{
	size_t shown = 0;
	char *rest = NULL;
	size_t rest_len = 0;
	FILE *f = open_memstream(&rest, &rest_len);
	if (f == NULL) {
		pr->oom = true;
		return;
	}
	for (size_t i = 0; r != NULL && i < r->n_test_cases; i++) {
		const Testbus__V1__TestCase *tc = r->test_cases[i];
		if (!prompt_failed(tc))
			continue;
		if (shown++ >= pr->c->max_tests) {
			fprintf(f, "- %s: %.200s\n", tc->name, tc->message);
			continue;
		}
		const char *msg = tc->message[0] ? tc->message : "(no message)";
		prompt_add(pr, PRIO_TEST_MESSAGE, i, false, "failed test", msg,
		           "## Failed test: %s (%s%s%s)\n", tc->name, prompt_status_name(tc->status),
		           tc->classname[0] ? ", " : "", tc->classname);
		prompt_add(pr, PRIO_TEST_OUTPUT, i, false, "test output", tc->output,
		           "## Output of %s\n", tc->name);
	}
	fclose(f);
	prompt_add(pr, PRIO_MORE_TESTS, 0, false, "more failed tests", rest,
	           "## More failed tests\n");
	free(rest);
}

static void prompt_collect(struct prompt *pr, const Testbus__V1__AnalysisInput *in)
{
	const Testbus__V1__ExecutionResult *r = in->result;
	prompt_header(pr, in);
	prompt_findings(pr, in);
	prompt_tests(pr, r);
	if (r != NULL) {
		prompt_add(pr, PRIO_STDERR, 0, true, "stderr", r->stderr_tail, "## stderr (end)\n");
		prompt_add(pr, PRIO_STDOUT, 0, true, "stdout", r->stdout_tail, "## stdout (end)\n");
	}
	for (size_t i = 0; i < in->n_logs; i++)
		prompt_add(pr, PRIO_LOG, i, true, "log", in->logs[i]->text, "## Log %s (end)\n",
		           in->logs[i]->name);
}

static int prompt_order(const void *pa, const void *pb)
{
	const struct prompt_piece *a = pa, *b = pb;
	if (a->prio != b->prio)
		return a->prio < b->prio ? -1 : 1;
	return a->seq < b->seq ? -1 : a->seq > b->seq;
}

static size_t prompt_total(const struct prompt *pr)
{
	size_t total = strlen(llm_system_prompt) + PROMPT_NOTE_MAX;
	for (size_t i = 0; i < pr->n; i++)
		if (!pr->p[i].dropped)
			total += strlen(pr->p[i].heading) + pr->p[i].len + 1 +
			         (pr->p[i].cut ? PROMPT_MARKER_MAX : 0);
	return total;
}

/* Shortens p by excess bytes plus room for the marker, on a line end and a UTF-8 boundary. */
static void prompt_cut(struct prompt_piece *p, size_t excess)
{
	size_t keep = p->len - excess - (p->cut ? 0 : PROMPT_MARKER_MAX);
	const char *s = p->body;
	if (p->keep_tail) {
		size_t start = p->len - keep;
		size_t slack = keep / 2 < PROMPT_LINE_SLACK ? keep / 2 : PROMPT_LINE_SLACK;
		const char *nl = memchr(s + start, '\n', slack);
		if (nl != NULL)
			start = (size_t)(nl + 1 - s);
		while (start < p->len && ((unsigned char)s[start] & 0xC0) == 0x80)
			start++;
		p->body += start;
		p->len -= start;
		p->cut += start;
		return;
	}
	size_t lo = keep > PROMPT_LINE_SLACK ? keep - PROMPT_LINE_SLACK : keep / 2;
	size_t end = keep;
	while (end > lo && s[end - 1] != '\n')
		end--;
	if (end == lo)
		end = keep;
	while (end > 0 && ((unsigned char)s[end] & 0xC0) == 0x80)
		end--;
	p->cut += p->len - end;
	p->len = end;
}

/* Cuts or leaves out pieces from the least useful up until the prompt fits. */
static size_t prompt_fit(struct prompt *pr)
{
	size_t budget = pr->c->prompt_budget, left_out = 0;
	for (size_t i = pr->n; i-- > 0;) {
		size_t total = prompt_total(pr);
		if (total <= budget)
			break;
		struct prompt_piece *p = &pr->p[i];
		size_t excess = total - budget;
		if (p->len >= excess + PROMPT_MARKER_MAX + PROMPT_MIN_KEEP)
			prompt_cut(p, excess);
		else
			p->dropped = true;
	}
	for (size_t i = 0; i < pr->n; i++)
		left_out += pr->p[i].dropped ? pr->p[i].orig : pr->p[i].cut;
	return left_out;
}

/* One line naming the kinds of text left out, bounded by PROMPT_NOTE_MAX. */
static void prompt_note(const struct prompt *pr, FILE *f, size_t left_out)
{
	char note[PROMPT_NOTE_MAX];
	size_t n = 0, used = 0;
	for (size_t i = 0; i < pr->n; i++) {
		if (!pr->p[i].dropped)
			continue;
		bool seen = false;
		for (size_t j = 0; j < i && !seen; j++)
			seen = pr->p[j].dropped && strcmp(pr->p[j].kind, pr->p[i].kind) == 0;
		if (!seen && used < sizeof(note))
			used += (size_t)snprintf(note + used, sizeof(note) - used, "%s%s",
			                         n++ ? ", " : "", pr->p[i].kind);
	}
	if (n > 0 || left_out > 0) {
		char line[PROMPT_NOTE_MAX];
		snprintf(line, sizeof(line), "[%zu bytes left out to fit the size budget%s%.80s]\n",
		         left_out, n ? "; dropped: " : "", n ? note : "");
		fputs(line, f);
	}
}

static char *prompt_render(const struct prompt *pr, size_t left_out)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	if (f == NULL)
		return NULL;
	for (size_t i = 0; i < pr->n; i++) {
		const struct prompt_piece *p = &pr->p[i];
		if (p->dropped)
			continue;
		fputs(p->heading, f);
		if (p->cut && p->keep_tail)
			fprintf(f, "[... %zu bytes cut ...]\n", p->cut);
		fwrite(p->body, 1, p->len, f);
		if (p->cut && !p->keep_tail)
			fprintf(f, "\n[... %zu bytes cut ...]", p->cut);
		fputs("\n", f);
	}
	prompt_note(pr, f, left_out);
	fclose(f);
	return text;
}

int llm_prompt_build(const struct llm_config *c, tb_redactor *r,
                     const Testbus__V1__AnalysisInput *in, tb_arena *a, struct llm_prompt *out,
                     tb_status *st)
{
	int rv = TB_OK;
	char *text = NULL, *red = NULL, *user = NULL;
	size_t count = 0;
	struct prompt pr = {.a = a, .r = r, .c = c};
	const Testbus__V1__ClusterInfo *cl = in->cluster;
	if (cl != NULL && cl->kubeconfig.len > 0 &&
	    tb_redactor_learn(r, (const char *)cl->kubeconfig.data, cl->kubeconfig.len) != TB_OK)
		pr.oom = true;
	prompt_collect(&pr, in);
	if (pr.oom) {
		rv = tb_status_set(st, TB_RESOURCE_EXHAUSTED, "out of memory building the prompt");
		goto out;
	}
	qsort(pr.p, pr.n, sizeof(pr.p[0]), prompt_order);
	size_t left_out = prompt_fit(&pr);
	if ((text = prompt_render(&pr, left_out)) == NULL ||
	    (red = tb_redact_str(r, text, &count)) == NULL ||
	    (user = tb_arena_strdup(a, red)) == NULL) {
		rv = tb_status_set(st, TB_RESOURCE_EXHAUSTED, "out of memory building the prompt");
		goto out;
	}
	out->user = user;
	out->system = llm_system_prompt;
	out->redactions = pr.redactions + count;
	out->left_out = left_out;
out:
	free(text);
	free(red);
	return rv;
}
