/* testbus-reporter-webhook: POSTs the run's results (results.json schema) to any URL, with retries. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http.h"
#include "reporter_base.h"
#include "results_json.h"

enum { WEBHOOK_POST, WEBHOOK_PUT };

struct webhook_conf {
	const char *url;
	const char *url_env;
	int method;
	tb_rmap headers;
	tb_rmap headers_env;
	const char *token_env;
	int64_t timeout_ms;
	int64_t attempts;
	int64_t backoff_ms;
	int64_t backoff_max_ms;
	int64_t deadline_ms;
	/* resolved by the check */
	const char *target;
	const char **lines; /* "Name: value" header lines */
	size_t n_lines;
	const char *token;
};

static const char *const webhook_methods[] = { "POST", "PUT", NULL };

#define WEBHOOK_KEY(k, type_, ...) \
	{ .name = #k, .type = type_, .offset = offsetof(struct webhook_conf, k), __VA_ARGS__ }

static const tb_reporter_key webhook_keys[] = {
	WEBHOOK_KEY(url, TB_RKEY_STRING, .def_string = ""),
	WEBHOOK_KEY(url_env, TB_RKEY_STRING, .def_string = ""),
	WEBHOOK_KEY(method, TB_RKEY_CHOICE, .choices = webhook_methods),
	WEBHOOK_KEY(headers, TB_RKEY_MAP),
	WEBHOOK_KEY(headers_env, TB_RKEY_MAP),
	WEBHOOK_KEY(token_env, TB_RKEY_STRING, .def_string = ""),
	WEBHOOK_KEY(timeout_ms, TB_RKEY_INT, .def_int = 15000, .min = 100, .max = 600000),
	WEBHOOK_KEY(attempts, TB_RKEY_INT, .def_int = 4, .min = 1, .max = 20),
	WEBHOOK_KEY(backoff_ms, TB_RKEY_INT, .def_int = 1000, .min = 1, .max = 600000),
	WEBHOOK_KEY(backoff_max_ms, TB_RKEY_INT, .def_int = 30000, .min = 1, .max = 3600000),
	WEBHOOK_KEY(deadline_ms, TB_RKEY_INT, .def_int = 120000, .min = 100, .max = 3600000),
};

/* A header name is a token; a value has no line breaks. */
static int webhook_header_ok(const char *name, const char *value, tb_status *st)
{
	if (name[0] == '\0' || name[strcspn(name, " \t\r\n:")] != '\0')
		return tb_status_set(st, TB_INVALID_ARGUMENT, "header name '%s' is not valid", name);
	if (value[strcspn(value, "\r\n")] != '\0')
		return tb_status_set(st, TB_INVALID_ARGUMENT, "header %s: the value has a line break",
		                     name);
	return TB_OK;
}

/* The value of environment variable name, kept as a secret; NULL when unset. */
static const char *webhook_secret_env(tb_reporter *rep, const char *key, const char *name,
                                      tb_status *st)
{
	const char *v = getenv(name);
	if (v == NULL || v[0] == '\0') {
		tb_status_set(st, TB_FAILED_PRECONDITION, "%s: $%s is not set", key, name);
		return NULL;
	}
	if (tb_reporter_add_secret(rep, v) != TB_OK) {
		tb_status_set(st, TB_RESOURCE_EXHAUSTED, "out of memory");
		return NULL;
	}
	return v;
}

/* Builds the "Name: value" lines of headers and headers_env. */
static int webhook_headers(tb_reporter *rep, struct webhook_conf *cf, tb_status *st)
{
	tb_arena *a = tb_reporter_conf_arena(rep);
	size_t n = cf->headers.n + cf->headers_env.n;
	cf->lines = tb_arena_zalloc(a, (n + 1) * sizeof(*cf->lines));
	if (cf->lines == NULL)
		return tb_status_set(st, TB_RESOURCE_EXHAUSTED, "out of memory");
	for (size_t i = 0; i < n; i++) {
		bool env = i >= cf->headers.n;
		const tb_rmap *m = env ? &cf->headers_env : &cf->headers;
		size_t k = env ? i - cf->headers.n : i;
		const char *value = env ? webhook_secret_env(rep, "headers_env", m->values[k], st)
		                        : m->values[k];
		if (value == NULL || webhook_header_ok(m->keys[k], value, st) != TB_OK)
			return st->code;
		if ((cf->lines[cf->n_lines++] = tb_arena_printf(a, "%s: %s", m->keys[k], value)) == NULL)
			return tb_status_set(st, TB_RESOURCE_EXHAUSTED, "out of memory");
	}
	return TB_OK;
}

static int webhook_check(tb_reporter *rep, void *config, tb_status *st)
{
	struct webhook_conf *cf = config;
	cf->target = cf->url;
	if (cf->url_env[0] != '\0' &&
	    (cf->target = webhook_secret_env(rep, "url_env", cf->url_env, st)) == NULL)
		return st->code;
	if (cf->target[0] == '\0')
		return tb_status_set(st, TB_FAILED_PRECONDITION, "no URL: set url or url_env");
	if (strncmp(cf->target, "https://", 8) != 0 && strncmp(cf->target, "http://", 7) != 0)
		return tb_status_set(st, TB_INVALID_ARGUMENT, "the URL is not http(s)");
	if (cf->token_env[0] != '\0' &&
	    (cf->token = webhook_secret_env(rep, "token_env", cf->token_env, st)) == NULL)
		return st->code;
	return webhook_headers(rep, cf, st);
}

static int webhook_report(tb_reporter *rep, tb_call *call, const Testbus__V1__ReportInput *in,
                          const void *config, Testbus__V1__ReportOutput *out)
{
	const struct webhook_conf *cf = config;
	char *body = NULL;
	const char **lines = tb_arena_zalloc(tb_call_arena(call), (cf->n_lines + 1) * sizeof(*lines));
	tb_http_response resp;
	tb_status st = { 0 };
	if (lines == NULL)
		return tb_call_error(call, TB_RESOURCE_EXHAUSTED, "webhook: out of memory");
	int rv = tb_results_to_string(in, NULL, 0, &body, &st);
	if (rv != TB_OK)
		return tb_call_error(call, rv, "%s", st.message);
	if (cf->n_lines > 0)
		memcpy(lines, cf->lines, cf->n_lines * sizeof(*lines));
	/* A run id with a line break would split the header: it is left out then. */
	size_t n_lines = cf->n_lines;
	if (in->run_id[strcspn(in->run_id, "\r\n")] == '\0')
		lines[n_lines++] =
		    tb_arena_printf(tb_call_arena(call), "X-Testbus-Run-Id: %s", in->run_id);
	tb_http_request req = {
		.method = webhook_methods[cf->method], .url = cf->target,
		.headers = lines, .n_headers = n_lines, .bearer_token = cf->token,
		.body = body, .body_len = strlen(body), .content_type = "application/json",
		.what = "the webhook", .timeout_ms = (uint32_t)cf->timeout_ms,
		.deadline_ms = (uint32_t)cf->deadline_ms, .max_attempts = (unsigned)cf->attempts,
		.backoff_ms = (uint32_t)cf->backoff_ms, .backoff_max_ms = (uint32_t)cf->backoff_max_ms,
		.call = call,
	};
	rv = tb_http_do(&req, &resp, &st);
	if (rv != TB_OK)
		rv = tb_call_error(call, rv, "%s (after %u attempt%s)",
		                   tb_reporter_redact(rep, call, st.message), resp.attempts,
		                   resp.attempts == 1 ? "" : "s");
	else
		out->message = tb_arena_printf(tb_call_arena(call), "posted to the webhook: HTTP %ld (%u attempt%s)",
		                               resp.status, resp.attempts, resp.attempts == 1 ? "" : "s");
	tb_http_response_fini(&resp);
	free(body);
	return rv;
}

static const tb_reporter_def webhook_def = {
	.name = "webhook",
	.summary = "Reporter: POSTs the run's results (the results.json schema) to a URL.",
	.config_help =
	    "  url_env: NAME            environment variable holding the URL (when it is secret)\n"
	    "  url: URL                 the URL itself\n"
	    "  method: POST             POST | PUT\n"
	    "  headers: {}              extra headers, name: value\n"
	    "  headers_env: {}          headers whose values come from the environment,\n"
	    "                           name: VARIABLE (the values are secrets)\n"
	    "  token_env: NAME          environment variable with a bearer token (a secret)\n"
	    "  timeout_ms: 15000        per attempt\n"
	    "  attempts: 4              tries on 429, 5xx and connection errors\n"
	    "  backoff_ms: 1000         first wait, doubling up to backoff_max_ms (30000);\n"
	    "                           Retry-After is honoured\n"
	    "  deadline_ms: 120000      all attempts together\n"
	    "  redact_patterns: []      extra secret patterns (PCRE2)\n"
	    "  redact_env: []           environment variables whose values are secrets",
	.keys = webhook_keys,
	.n_keys = sizeof(webhook_keys) / sizeof(webhook_keys[0]),
	.config_size = sizeof(struct webhook_conf),
	.check = webhook_check,
	.report = webhook_report,
};

int main(int argc, char **argv)
{
	if (tb_http_global_init() != TB_OK)
		return 1;
	return tb_reporter_main(&webhook_def, argc, argv);
}
