/* testbus-reporter-slack: posts the run's summary to a Slack incoming webhook, with retries. */
#include <stdlib.h>
#include <string.h>

#include "http.h"
#include "reporter_base.h"
#include "slack.h"

struct slack_conf {
	const char *webhook_url;
	const char *webhook_url_env;
	const char *report_url;
	bool failures_only;
	int64_t max_failures;
	const char *channel;
	const char *username;
	const char *icon_emoji;
	const char *payload_file;
	int64_t timeout_ms;
	int64_t attempts;
	int64_t backoff_ms;
	int64_t backoff_max_ms;
	int64_t deadline_ms;
	const char *url; /* the webhook URL in use, from webhook_url or the environment */
};

#define SLACK_KEY_STRING(k, d) \
	{ .name = #k, .type = TB_RKEY_STRING, .offset = offsetof(struct slack_conf, k), .def_string = d }
#define SLACK_KEY_INT(k, d, lo, hi)                                                          \
	{ .name = #k, .type = TB_RKEY_INT, .offset = offsetof(struct slack_conf, k), .def_int = d, \
	  .min = lo, .max = hi }

static const tb_reporter_key slack_keys[] = {
	SLACK_KEY_STRING(webhook_url, ""),
	SLACK_KEY_STRING(webhook_url_env, ""),
	SLACK_KEY_STRING(report_url, ""),
	{ .name = "failures_only", .type = TB_RKEY_BOOL,
	  .offset = offsetof(struct slack_conf, failures_only) },
	SLACK_KEY_INT(max_failures, 10, 0, 1000),
	SLACK_KEY_STRING(channel, ""),
	SLACK_KEY_STRING(username, ""),
	SLACK_KEY_STRING(icon_emoji, ""),
	SLACK_KEY_STRING(payload_file, ""),
	SLACK_KEY_INT(timeout_ms, 15000, 100, 600000),
	SLACK_KEY_INT(attempts, 4, 1, 20),
	SLACK_KEY_INT(backoff_ms, 1000, 1, 600000),
	SLACK_KEY_INT(backoff_max_ms, 30000, 1, 3600000),
	SLACK_KEY_INT(deadline_ms, 120000, 100, 3600000),
};

/* Finds the webhook URL and keeps it out of every report: it is a secret. */
static int slack_check(tb_reporter *rep, void *config, tb_status *st)
{
	struct slack_conf *cf = config;
	const char *url = cf->webhook_url;
	if (cf->webhook_url_env[0] != '\0') {
		url = getenv(cf->webhook_url_env);
		if (url == NULL || url[0] == '\0')
			return tb_status_set(st, TB_FAILED_PRECONDITION,
			                     "webhook_url_env: $%s is not set", cf->webhook_url_env);
	}
	if (url[0] == '\0')
		return tb_status_set(st, TB_FAILED_PRECONDITION,
		                     "no webhook: set webhook_url_env (or webhook_url)");
	if (strncmp(url, "https://", 8) != 0 && strncmp(url, "http://", 7) != 0)
		return tb_status_set(st, TB_INVALID_ARGUMENT, "the webhook URL is not http(s)");
	cf->url = url;
	return tb_reporter_add_secret(rep, url) == TB_OK
	           ? TB_OK
	           : tb_status_set(st, TB_RESOURCE_EXHAUSTED, "out of memory");
}

/* POSTs the payload; the URL never appears in a message. */
static int slack_post(tb_reporter *rep, tb_call *call, const struct slack_conf *cf,
                      const char *payload, Testbus__V1__ReportOutput *out)
{
	tb_http_request req = {
		.method = "POST", .url = cf->url, .body = payload, .body_len = strlen(payload),
		.content_type = "application/json; charset=utf-8", .what = "the Slack webhook",
		.timeout_ms = (uint32_t)cf->timeout_ms, .deadline_ms = (uint32_t)cf->deadline_ms,
		.max_attempts = (unsigned)cf->attempts, .backoff_ms = (uint32_t)cf->backoff_ms,
		.backoff_max_ms = (uint32_t)cf->backoff_max_ms, .call = call,
	};
	tb_http_response resp;
	tb_status st = { 0 };
	int rv = tb_http_do(&req, &resp, &st);
	if (rv != TB_OK)
		rv = tb_call_error(call, rv, "%s (after %u attempt%s)",
		                   tb_reporter_redact(rep, call, st.message), resp.attempts,
		                   resp.attempts == 1 ? "" : "s");
	else
		out->message = tb_arena_printf(tb_call_arena(call), "posted to Slack (%u attempt%s)",
		                               resp.attempts, resp.attempts == 1 ? "" : "s");
	tb_http_response_fini(&resp);
	return rv;
}

static int slack_report(tb_reporter *rep, tb_call *call, const Testbus__V1__ReportInput *in,
                        const void *config, Testbus__V1__ReportOutput *out)
{
	const struct slack_conf *cf = config;
	slack_opts o = { .report_url = cf->report_url, .channel = cf->channel,
		         .username = cf->username, .icon_emoji = cf->icon_emoji,
		         .max_failures = (size_t)cf->max_failures };
	char *payload = NULL;
	int rv = TB_OK;
	if (cf->failures_only && in->success) {
		out->message = "the run passed: nothing posted (failures_only)";
		return TB_OK;
	}
	if (slack_payload(in, &o, &payload) != TB_OK) {
		rv = tb_call_error(call, TB_RESOURCE_EXHAUSTED, "slack: out of memory");
		goto out;
	}
	if (cf->payload_file[0] != '\0') {
		char *path = tb_reporter_path(rep, call, cf->payload_file);
		rv = path == NULL ? tb_call_error(call, TB_RESOURCE_EXHAUSTED, "out of memory")
		                  : tb_reporter_write_artifact(call, out, path, "slack-payload",
		                                               "application/json", payload,
		                                               strlen(payload));
		if (rv != TB_OK)
			goto out;
	}
	rv = slack_post(rep, call, cf, payload, out);
out:
	free(payload);
	return rv;
}

static const tb_reporter_def slack_def = {
	.name = "slack",
	.summary = "Reporter: posts the run's summary to a Slack incoming webhook.",
	.config_help =
	    "  webhook_url_env: NAME    environment variable holding the webhook URL (a secret)\n"
	    "  webhook_url: URL         the URL itself, when not from the environment\n"
	    "  report_url: URL          linked as \"Open the report\"; {run_id} is replaced\n"
	    "  failures_only: false     post only when the run failed\n"
	    "  max_failures: 10         failed tests listed in the message\n"
	    "  channel, username, icon_emoji: \"\"   overrides, for webhooks that allow them\n"
	    "  payload_file: \"\"         also write the message posted to this file\n"
	    "  timeout_ms: 15000        per attempt\n"
	    "  attempts: 4              tries on 429, 5xx and connection errors\n"
	    "  backoff_ms: 1000         first wait, doubling up to backoff_max_ms (30000);\n"
	    "                           Slack's Retry-After is honoured\n"
	    "  deadline_ms: 120000      all attempts together\n"
	    "  redact_patterns: []      extra secret patterns (PCRE2)\n"
	    "  redact_env: []           environment variables whose values are secrets",
	.keys = slack_keys,
	.n_keys = sizeof(slack_keys) / sizeof(slack_keys[0]),
	.config_size = sizeof(struct slack_conf),
	.check = slack_check,
	.report = slack_report,
};

int main(int argc, char **argv)
{
	if (tb_http_global_init() != TB_OK)
		return 1;
	return tb_reporter_main(&slack_def, argc, argv);
}
