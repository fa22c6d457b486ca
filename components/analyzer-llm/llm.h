/* The LLM analyzer's internals: config, bounded prompts, the two HTTP APIs and answer validation. */
#ifndef TESTBUS_ANALYZER_LLM_H
#define TESTBUS_ANALYZER_LLM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "redact.h"
#include "should_analyze.h"
#include "testbus/arena.h"
#include "testbus/proto.h"
#include "testbus/status.h"

enum llm_provider {
	LLM_OPENAI = 0, /* POST {endpoint}/v1/chat/completions (OpenAI, vLLM, Ollama, LiteLLM) */
	LLM_GEMINI,     /* POST {endpoint}/v1beta/models/{model}:generateContent */
};

/* The analyzer's configuration. Strings are heap copies owned by it. */
struct llm_config {
	enum llm_provider provider;
	char *endpoint;          /* base URL, or the full method URL */
	char *model;
	char *api_key;           /* from api_key, or the environment; may be NULL */
	char *ca_file;           /* may be NULL: the system store */
	uint32_t timeout_ms;     /* per attempt */
	uint32_t connect_timeout_ms;
	unsigned max_attempts;   /* 1 + retries */
	uint32_t backoff_ms;     /* first wait between attempts */
	size_t prompt_budget;    /* bytes of system plus user prompt */
	size_t max_tests;        /* failed tests given in full; more are listed last */
	double temperature;
	uint32_t max_tokens;     /* 0: the server's default */
	bool json_mode;          /* ask the server itself for a JSON answer */
	char **redact_patterns;  /* extra redaction patterns */
	size_t n_redact_patterns;
	tb_analyze_policy policy;
	bool configured;         /* model and endpoint are known */
};

/* Sets the defaults (unconfigured). */
void llm_config_init(struct llm_config *c);

/* Frees what c owns and sets the defaults again. Safe on an initialised c. */
void llm_config_fini(struct llm_config *c);

/*
 * Reads config into *c (initialised by the caller and left untouched on
 * error). The API key is read from the environment variable that api_key_env
 * names (by default OPENAI_API_KEY or GEMINI_API_KEY when set) unless api_key
 * is given. Fails with TB_INVALID_ARGUMENT naming the key.
 */
int llm_config_read(const Testbus__V1__ComponentConfig *config, struct llm_config *c,
                    tb_status *st);

/* Creates the redactor for c: built-in plus extra patterns, and the API key as a literal. */
int llm_redactor(const struct llm_config *c, tb_redactor **rp, tb_status *st);

/* A built prompt. Strings are allocated from the arena given to llm_prompt_build. */
struct llm_prompt {
	const char *system;
	char *user;
	size_t redactions; /* secrets replaced */
	size_t left_out;   /* bytes left out to fit the budget */
};

/* The fixed instructions: the role and the JSON answer asked for. */
extern const char llm_system_prompt[];

/*
 * Builds the prompt for in within c->prompt_budget: run summary and cluster
 * first, then the prior (rules) findings, failed tests and their messages,
 * stderr, test output, stdout, logs and further failed tests; when over the
 * budget the least useful text goes first (cut, then left out). Every piece
 * is redacted with r before it is measured, and the whole once more. r may
 * learn the secrets of the cluster's kubeconfig (that is why it is not const).
 * Returns TB_OK or TB_RESOURCE_EXHAUSTED.
 */
int llm_prompt_build(const struct llm_config *c, tb_redactor *r,
                     const Testbus__V1__AnalysisInput *in, tb_arena *a, struct llm_prompt *out,
                     tb_status *st);

/* The URL of the generate method for c. Allocated from a. */
char *llm_api_url(const struct llm_config *c, tb_arena *a);

/* The JSON request body for p in c's API. Allocated from a; NULL when out of memory. */
char *llm_api_body(const struct llm_config *c, const struct llm_prompt *p, tb_arena *a);

/*
 * Extracts the model's text from a response body of c's API into *textp
 * (allocated from a). TB_INVALID_ARGUMENT with a reason in st when the body
 * is not the expected shape (also when the model refused or was blocked).
 */
int llm_api_text(const struct llm_config *c, const char *body, size_t len, tb_arena *a,
                 char **textp, tb_status *st);

/*
 * Validates the model's answer text (a JSON object with root_cause, evidence,
 * recommendations and confidence, perhaps inside a ``` fence) and fills res:
 * root_cause, summary, recommendations, confidence and one finding holding
 * the evidence. Strings come from a. On TB_INVALID_ARGUMENT res is
 * untouched and st says what is wrong.
 */
int llm_answer_parse(const char *text, tb_arena *a, Testbus__V1__AnalysisResult *res,
                     tb_status *st);

/* Adds a metadata entry to res (key must outlive res). Values from a. */
int llm_meta_string(tb_arena *a, Testbus__V1__AnalysisResult *res, const char *key,
                    const char *value);
int llm_meta_int(tb_arena *a, Testbus__V1__AnalysisResult *res, const char *key, int64_t value);

#endif
