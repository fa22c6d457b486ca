/* Sending bad inputs to a target and tallying what came back against the documented outcome. */
#include "probe.h"

#include <stdio.h>
#include <string.h>

struct expect expect_codes(code_set codes)
{
	return (struct expect){.outcome = RAW_ANSWERED, .codes = codes};
}

struct expect expect_refusal(enum raw_outcome outcome)
{
	return (struct expect){.outcome = outcome};
}

static bool probe_matches(const struct raw_result *r, struct expect e)
{
	if (r->outcome != e.outcome)
		return false;
	return r->outcome != RAW_ANSWERED || (e.codes & CODE_BIT(r->code)) != 0;
}

/* The good request after the input, on the same process. */
static void probe_follow_up(struct tally *tally, struct target *t)
{
	char why[160];
	bool served;
	if (!component_proc_alive(&t->proc)) {
		snprintf(why, sizeof(why), "the component process has exited");
		served = false;
	} else {
		served = target_serves(t, why, sizeof(why));
	}
	if (served)
		tally->served++;
	else if (tally->first_failure[0] == '\0')
		snprintf(tally->first_failure, sizeof(tally->first_failure), "%s", why);
}

void probe_record(struct tally *tally, struct target *t, const struct raw_result *r,
                  struct expect e, const char *label)
{
	tally->inputs++;
	tally->documented |= e.codes;
	tally->expected_outcome = e.outcome;
	if (r->outcome == RAW_ANSWERED && r->code >= 0 && r->code <= TB_UNAUTHENTICATED) {
		tally->by_code[r->code]++;
	} else {
		tally->refused++;
		raw_result_text(r, tally->refusal, sizeof(tally->refusal));
	}
	if (!probe_matches(r, e)) {
		char got[200], want[120];
		tally->mismatches++;
		raw_result_text(r, got, sizeof(got));
		code_set_text(e.codes, want, sizeof(want));
		fprintf(stderr, "mismatch: %s on %s: got %s (%s), documented %s\n", label, t->name, got,
		        r->message, e.outcome == RAW_ANSWERED ? want : "a refusal");
	}
	probe_follow_up(tally, t);
}

void probe_send(struct tally *tally, struct target *t, const char *url,
                const struct raw_tls *tls, const void *buf, size_t len, struct expect e,
                const char *label)
{
	struct raw_result r;
	raw_call(url ? url : t->proc.url, tls, buf, len, &r);
	probe_record(tally, t, &r, e, label);
}

static const char *probe_outcome_text(enum raw_outcome outcome)
{
	switch (outcome) {
	case RAW_DIAL_REFUSED:
		return "connection refused";
	case RAW_DROPPED:
		return "connection dropped, no answer";
	case RAW_BAD_ANSWER:
		return "an undecodable answer";
	case RAW_ANSWERED:
		break;
	}
	return "an answer";
}

/* Appends "what" (with " xN" when the row had several inputs) to the text in buf. */
static void probe_count(char *buf, size_t size, const char *what, unsigned n, unsigned inputs)
{
	size_t used = strlen(buf);
	const char *sep = used ? ", " : "";
	if (inputs > 1)
		cell_printf(buf + used, size - used, "%s%s x%u", sep, what, n);
	else
		cell_printf(buf + used, size - used, "%s%s", sep, what);
}

void probe_fill_row(struct table_row *row, const struct tally *tally)
{
	if (tally->expected_outcome == RAW_ANSWERED)
		code_set_text(tally->documented, row->documented, sizeof(row->documented));
	else
		snprintf(row->documented, sizeof(row->documented), "%s",
		         probe_outcome_text(tally->expected_outcome));
	row->observed[0] = '\0';
	for (int code = 0; code <= TB_UNAUTHENTICATED; code++) {
		if (tally->by_code[code] == 0)
			continue;
		probe_count(row->observed, sizeof(row->observed), tb_strerror(code),
		            tally->by_code[code], tally->inputs);
	}
	if (tally->refused > 0)
		probe_count(row->observed, sizeof(row->observed), tally->refusal, tally->refused,
		            tally->inputs);
	row->matched = tally->inputs > 0 && tally->mismatches == 0;
	row->served = tally->inputs > 0 && tally->served == tally->inputs;
	if (row->served && tally->inputs == 1)
		snprintf(row->next, sizeof(row->next), "served");
	else if (row->served)
		snprintf(row->next, sizeof(row->next), "served after each of %u", tally->inputs);
	else
		cell_printf(row->next, sizeof(row->next), "%u/%u served: %s", tally->served,
		            tally->inputs, tally->first_failure);
}
