/*
 * Fuzz target: the LLM analyzer's reading of an answer: the HTTP response
 * body of both APIs (llm_api_text), then the model's text as the JSON
 * answer (llm_answer_parse). The same bytes are also parsed as answer text
 * directly, as a body holding exactly that text would give.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "fuzz_bus.h"
#include "llm.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void answer_read(const char *text, tb_arena *a)
{
	const Testbus__V1__AnalysisResult blank = TESTBUS__V1__ANALYSIS_RESULT__INIT;
	Testbus__V1__AnalysisResult res = blank;
	tb_status st;
	if (llm_answer_parse(text, a, &res, &st) == TB_OK) {
		fuzz_require(res.root_cause != NULL && res.n_findings == 1,
		             "an accepted answer has a root cause and its finding");
		fuzz_require(res.confidence >= 0.0 && res.confidence <= 1.0,
		             "an accepted confidence is between 0 and 1");
	} else {
		fuzz_require(res.root_cause == blank.root_cause && res.summary == blank.summary &&
		                 res.n_findings == 0 && res.n_recommendations == 0 &&
		                 res.confidence == blank.confidence,
		             "a refused answer leaves the result untouched");
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	tb_arena *a = NULL;
	if (tb_arena_alloc(&a) != TB_OK)
		return 0;
	char *text = tb_arena_zalloc(a, size + 1);
	if (text == NULL)
		goto out;
	memcpy(text, data, size); /* NUL-terminated: the answer text is a C string */
	answer_read(text, a);
	struct llm_config c;
	llm_config_init(&c);
	const enum llm_provider providers[] = {LLM_OPENAI, LLM_GEMINI};
	for (size_t i = 0; i < sizeof(providers) / sizeof(providers[0]); i++) {
		char *model_text = NULL;
		tb_status st;
		c.provider = providers[i];
		if (llm_api_text(&c, (const char *)data, size, a, &model_text, &st) == TB_OK) {
			fuzz_require(model_text != NULL, "an accepted body gives a text");
			answer_read(model_text, a);
		}
	}
	llm_config_fini(&c);
out:
	tb_arena_free(a);
	return 0;
}
