/* testbus-analyzer-llm: the Analyzer service asking an LLM endpoint, degrading to prior findings. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http.h"
#include "llm.h"
#include "testbus/testbus.h"

#define LLM_REASON_MAX 160
#define LLM_RAW_MAX 65536 /* bytes of an unusable answer kept in the result */

/* A configuration shared by the calls that started under it. */
struct llm_snap {
	atomic_int refs;
	struct llm_config c;
};

static pthread_mutex_t llm_lock = PTHREAD_MUTEX_INITIALIZER;
static struct llm_snap *llm_current;

static struct llm_snap *llm_snap_get(void)
{
	pthread_mutex_lock(&llm_lock);
	struct llm_snap *s = llm_current;
	if (s != NULL)
		atomic_fetch_add(&s->refs, 1);
	pthread_mutex_unlock(&llm_lock);
	return s;
}

static void llm_snap_put(struct llm_snap *s)
{
	if (s != NULL && atomic_fetch_sub(&s->refs, 1) == 1) {
		llm_config_fini(&s->c);
		free(s);
	}
}

static struct llm_snap *llm_snap_alloc(void)
{
	struct llm_snap *s = calloc(1, sizeof(*s));
	if (s != NULL) {
		atomic_init(&s->refs, 1);
		llm_config_init(&s->c);
	}
	return s;
}

static int llm_configure(const Testbus__V1__ComponentConfig *config, void *arg, tb_status *st)
{
	int rv = TB_OK;
	tb_redactor *r = NULL;
	struct llm_snap *s = llm_snap_alloc();
	if (s == NULL) {
		rv = tb_status_set(st, TB_RESOURCE_EXHAUSTED, "out of memory");
		goto out;
	}
	if ((rv = llm_config_read(config, &s->c, st)) != TB_OK ||
	    (rv = llm_redactor(&s->c, &r, st)) != TB_OK) /* checks redact_patterns now */
		goto out;
	pthread_mutex_lock(&llm_lock);
	struct llm_snap *old = llm_current;
	llm_current = s;
	pthread_mutex_unlock(&llm_lock);
	s = old;
out:
	tb_redactor_free(r);
	llm_snap_put(s);
	return rv;
}

static int llm_should_analyze(tb_call *call, const ProtobufCMessage *input,
                              ProtobufCMessage **outputp, void *arg)
{
	tb_arena *a = tb_call_arena(call);
	Testbus__V1__Decision *d = tb_arena_zalloc(a, sizeof(*d));
	char *reason = tb_arena_zalloc(a, LLM_REASON_MAX);
	if (d == NULL || reason == NULL)
		return tb_call_error(call, TB_RESOURCE_EXHAUSTED, "out of memory");
	testbus__v1__decision__init(d);
	tb_analyze_policy p;
	tb_analyze_policy_init(&p);
	struct llm_snap *s = llm_snap_get();
	if (s != NULL)
		p = s->c.policy;
	llm_snap_put(s);
	tb_analyze_policy_decide(&p, (const Testbus__V1__ExecutionResult *)input, d, reason,
	                         LLM_REASON_MAX);
	*outputp = &d->base;
	return TB_OK;
}

/* Copies the prior findings into the result (they outlive the input that way). */
static int llm_carry_prior(tb_arena *a, const Testbus__V1__AnalysisInput *in,
                           Testbus__V1__AnalysisResult *res)
{
	ProtobufCAllocator alloc = tb_arena_allocator(a);
	Testbus__V1__Finding **fs = tb_arena_zalloc(a, (in->n_prior_findings + 1) * sizeof(*fs));
	if (fs == NULL)
		return TB_RESOURCE_EXHAUSTED;
	for (size_t i = 0; i < in->n_prior_findings; i++) {
		const ProtobufCMessage *m = &in->prior_findings[i]->base;
		size_t len = protobuf_c_message_get_packed_size(m);
		uint8_t *buf = tb_arena_zalloc(a, len + 1);
		if (buf == NULL)
			return TB_RESOURCE_EXHAUSTED;
		protobuf_c_message_pack(m, buf);
		fs[i] = testbus__v1__finding__unpack(&alloc, len, buf);
		if (fs[i] == NULL)
			return TB_RESOURCE_EXHAUSTED;
	}
	res->findings = fs;
	res->n_findings = in->n_prior_findings;
	return TB_OK;
}

/* The analysis could not be had: say why and carry what earlier analyzers found. */
static int llm_degrade(tb_arena *a, const Testbus__V1__AnalysisInput *in,
                       Testbus__V1__AnalysisResult *res, const char *why, const char *raw)
{
	res->error = tb_arena_strdup(a, why);
	res->summary = tb_arena_printf(a, "LLM analysis unavailable (%s); %zu finding%s of earlier "
	                               "analyzers carried", why, in->n_prior_findings,
	                               in->n_prior_findings == 1 ? "" : "s");
	if (raw != NULL)
		res->raw = tb_arena_printf(a, "%.*s", LLM_RAW_MAX, raw);
	if (res->error == NULL || res->summary == NULL || (raw != NULL && res->raw == NULL))
		return TB_RESOURCE_EXHAUSTED;
	return llm_carry_prior(a, in, res);
}

/* Sends the prompt and reads the model's answer text into *textp; *whyp on failure. */
static int llm_ask(tb_call *call, const struct llm_config *c, const struct llm_prompt *p,
                   Testbus__V1__AnalysisResult *res, char **textp, char **rawp, char **whyp)
{
	tb_arena *a = tb_call_arena(call);
	char *url = llm_api_url(c, a), *body = llm_api_body(c, p, a);
	char *key_header = c->api_key != NULL ? tb_arena_printf(a, "x-goog-api-key: %s", c->api_key)
	                                      : NULL;
	if (url == NULL || body == NULL || (c->api_key != NULL && key_header == NULL))
		return TB_RESOURCE_EXHAUSTED;
	const char *headers[] = {key_header};
	tb_http_request req = {
		.method = "POST", .url = url, .body = body, .body_len = strlen(body),
		.content_type = "application/json", .timeout_ms = c->timeout_ms,
		.connect_timeout_ms = c->connect_timeout_ms, .max_attempts = c->max_attempts,
		.backoff_ms = c->backoff_ms, .retry_unsafe = true, .call = call,
		.tls = {.ca_file = c->ca_file},
	};
	if (c->provider == LLM_GEMINI && key_header != NULL) {
		req.headers = headers;
		req.n_headers = 1;
	} else if (c->provider == LLM_OPENAI) {
		req.bearer_token = c->api_key;
	}
	tb_http_response resp;
	tb_status st;
	int rv = tb_http_do(&req, &resp, &st);
	int mrv = llm_meta_int(a, res, "attempts", resp.attempts);
	if (mrv == TB_OK)
		mrv = llm_meta_int(a, res, "http_status", resp.status);
	if (rv != TB_OK && !tb_call_stopped(call))
		*whyp = tb_arena_printf(a, "LLM endpoint unavailable after %u attempt%s: %s",
		                        resp.attempts, resp.attempts == 1 ? "" : "s", st.message);
	else if (rv == TB_OK && llm_api_text(c, resp.body, resp.body_len, a, textp, &st) != TB_OK) {
		*whyp = tb_arena_printf(a, "unexpected answer from the LLM endpoint: %s", st.message);
		*rawp = tb_arena_strdup(a, resp.body != NULL ? resp.body : "");
	}
	tb_http_response_fini(&resp);
	return mrv != TB_OK ? mrv : rv == TB_OK || !tb_call_stopped(call) ? TB_OK : rv;
}

static int llm_metadata(tb_arena *a, const struct llm_config *c, const struct llm_prompt *p,
                        Testbus__V1__AnalysisResult *res)
{
	int rv = llm_meta_string(a, res, "provider", c->provider == LLM_GEMINI ? "gemini" : "openai");
	if (rv == TB_OK)
		rv = llm_meta_string(a, res, "model", c->model);
	if (rv == TB_OK)
		rv = llm_meta_int(a, res, "prompt_bytes", (int64_t)(strlen(p->system) + strlen(p->user)));
	if (rv == TB_OK)
		rv = llm_meta_int(a, res, "redactions", (int64_t)p->redactions);
	if (rv == TB_OK)
		rv = llm_meta_int(a, res, "left_out_bytes", (int64_t)p->left_out);
	return rv;
}

/* Asks the model and fills res, degrading to the prior findings on any failure. */
static int llm_run(tb_call *call, const struct llm_config *c, const Testbus__V1__AnalysisInput *in,
                   Testbus__V1__AnalysisResult *res, tb_status *st)
{
	tb_arena *a = tb_call_arena(call);
	tb_redactor *r = NULL;
	struct llm_prompt p = {0};
	char *text = NULL, *raw = NULL, *why = NULL;
	int rv = llm_redactor(c, &r, st);
	if (rv == TB_OK)
		rv = llm_prompt_build(c, r, in, a, &p, st);
	if (rv == TB_OK && (rv = llm_metadata(a, c, &p, res)) != TB_OK)
		tb_status_set(st, rv, "out of memory");
	if (rv == TB_OK && (rv = llm_ask(call, c, &p, res, &text, &raw, &why)) != TB_OK)
		tb_status_set(st, rv, "%s", rv == TB_RESOURCE_EXHAUSTED ? "out of memory"
		                                                         : "the call was stopped");
	tb_status ast;
	if (rv == TB_OK && why == NULL && text != NULL &&
	    llm_answer_parse(text, a, res, &ast) != TB_OK) {
		why = tb_arena_printf(a, "the model's answer is not valid: %s", ast.message);
		raw = text;
	}
	if (rv == TB_OK && why != NULL && llm_degrade(a, in, res, why, raw) != TB_OK)
		rv = tb_status_set(st, TB_RESOURCE_EXHAUSTED, "out of memory");
	if (rv == TB_OK)
		fprintf(stderr, "testbus-analyzer-llm: run %s: %s\n", in->run_id[0] ? in->run_id : "-",
		        why != NULL ? why : "analysed");
	tb_redactor_free(r);
	return rv;
}

static int llm_analyze_call(tb_call *call, const ProtobufCMessage *input,
                            ProtobufCMessage **outputp, void *arg)
{
	tb_status st;
	int rv = TB_OK;
	tb_arena *a = tb_call_arena(call);
	struct llm_snap *s = llm_snap_get();
	Testbus__V1__AnalysisResult *res = tb_arena_zalloc(a, sizeof(*res));
	if (res == NULL) {
		rv = tb_call_error(call, TB_RESOURCE_EXHAUSTED, "out of memory");
		goto out;
	}
	if (s == NULL || !s->c.configured) {
		rv = tb_call_error(call, TB_FAILED_PRECONDITION,
		                   "the llm analyzer is not configured: set model (and endpoint)");
		goto out;
	}
	testbus__v1__analysis_result__init(res);
	res->analyzer = "llm";
	if ((rv = llm_run(call, &s->c, (const Testbus__V1__AnalysisInput *)input, res, &st)) != TB_OK)
		rv = tb_call_error(call, rv, "%s", st.message);
out:
	llm_snap_put(s);
	if (rv == TB_OK)
		*outputp = &res->base;
	return rv;
}

static const tb_method llm_methods[] = {
	{"ShouldAnalyze", llm_should_analyze},
	{"Analyze", llm_analyze_call},
};

static const char llm_config_help[] =
	"  provider: openai|gemini    API spoken (openai: also vLLM, Ollama, LiteLLM)\n"
	"  endpoint: URL              base URL, or the full method URL\n"
	"  model: NAME                required\n"
	"  api_key_env: NAME          environment variable holding the key\n"
	"                             (default OPENAI_API_KEY or GEMINI_API_KEY)\n"
	"  api_key: KEY               the key itself (prefer api_key_env)\n"
	"  ca_file: PATH              CA bundle for the endpoint\n"
	"  timeout_ms: N              per attempt (60000); connect_timeout_ms: N (10000)\n"
	"  retries: N                 after 429, 5xx and connection errors (3)\n"
	"  backoff_ms: N              first wait between attempts, doubling (1000)\n"
	"  prompt_budget: BYTES       size of the prompt (24000)\n"
	"  max_tests: N               failed tests given in full (20)\n"
	"  temperature: X (0.2); max_tokens: N (1500); json_mode: BOOL (true)\n"
	"  redact_patterns: [REGEX]   extra secrets to redact (PCRE2; group `secret` if partial)\n"
	"  should_analyze: on_failure|always|never; min_failures: N";

int main(int argc, char **argv)
{
	if (tb_http_global_init() != TB_OK) {
		fprintf(stderr, "testbus-analyzer-llm: cannot initialise libcurl\n");
		return 1;
	}
	const tb_component comp = {
		.name = "llm",
		.kind = TESTBUS__V1__COMPONENT_KIND__KIND_ANALYZER,
		.summary = "Explains failures by asking an OpenAI-compatible or Gemini endpoint; "
		           "secrets are redacted before anything is sent.",
		.service = &testbus__v1__analyzer__descriptor,
		.methods = llm_methods,
		.n_methods = sizeof(llm_methods) / sizeof(llm_methods[0]),
		.configure = llm_configure,
		.default_capacity = 4,
		.config_help = llm_config_help,
	};
	int status = tb_component_main(&comp, argc, argv);
	llm_snap_put(llm_current);
	return status;
}
