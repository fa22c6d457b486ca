/* The Slack reporter's message: Block Kit JSON for an incoming webhook, trimmed to Slack's limits. */
#ifndef TESTBUS_REPORTER_SLACK_H
#define TESTBUS_REPORTER_SLACK_H

#include <stddef.h>

#include "testbus/testbus.h"

/* Slack's limits (https://api.slack.com/reference/block-kit/blocks). */
#define SLACK_MAX_TEXT 3000      /* a section's text */
#define SLACK_MAX_HEADER 150     /* a header's plain text */
#define SLACK_MAX_FIELD 2000     /* one section field */
#define SLACK_MAX_FIELDS 10      /* fields in a section */
#define SLACK_MAX_FALLBACK 4000  /* the top-level text, kept well under Slack's 40000 */
#define SLACK_MAX_BLOCKS 50

typedef struct slack_opts {
	const char *report_url;  /* link to the report; "{run_id}" is replaced; may be empty */
	const char *channel;     /* may be empty (the webhook's own channel) */
	const char *username;    /* may be empty */
	const char *icon_emoji;  /* may be empty */
	size_t max_failures;     /* failed tests listed */
} slack_opts;

/*
 * Builds the message for a run: a header with the status, the totals as
 * fields, the failed tests, the top finding, the run's errors and a link to
 * the report, every text within Slack's limits. in must be prepared
 * (tb_results_prepare). Caller owns *jsonp; free with free(). Returns TB_OK
 * or TB_RESOURCE_EXHAUSTED.
 */
int slack_payload(const Testbus__V1__ReportInput *in, const slack_opts *o, char **jsonp);

/*
 * Escapes Slack's mrkdwn control characters (&, <, >) in s and cuts the
 * result to at most max bytes on a character boundary, ending it with an
 * ellipsis when cut. Caller owns the result; free with free(). NULL when out
 * of memory.
 */
char *slack_text(const char *s, size_t max);

#endif
