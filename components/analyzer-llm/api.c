/* The two chat APIs: OpenAI-compatible chat completions and Gemini generateContent, as JSON (json-c). */
#include <json-c/json.h>
#include <stdio.h>
#include <string.h>

#include "llm.h"

#define API_OPENAI_PATH "/v1/chat/completions"
#define API_GEMINI_METHOD ":generateContent"

static bool api_ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);
	return n >= m && strcmp(s + n - m, suffix) == 0;
}

char *llm_api_url(const struct llm_config *c, tb_arena *a)
{
	size_t n = strlen(c->endpoint);
	while (n > 0 && c->endpoint[n - 1] == '/')
		n--;
	char *base = tb_arena_memdup(a, c->endpoint, n);
	if (base == NULL)
		return NULL;
	if (c->provider == LLM_GEMINI) {
		if (strstr(base, API_GEMINI_METHOD) != NULL)
			return base;
		return tb_arena_printf(a, "%s/v1beta/models/%s" API_GEMINI_METHOD, base, c->model);
	}
	if (api_ends_with(base, "/chat/completions"))
		return base;
	if (api_ends_with(base, "/v1"))
		return tb_arena_printf(a, "%s/chat/completions", base);
	return tb_arena_printf(a, "%s" API_OPENAI_PATH, base);
}

/*
 * Adds key: value to obj. Always takes value (NULL when out of memory): it is
 * freed when it cannot be added. Call as `ok = api_add(...) && ok` so that
 * every value is taken even after a failure.
 */
static bool api_add(json_object *obj, const char *key, json_object *value)
{
	if (obj == NULL || value == NULL || json_object_object_add(obj, key, value) != 0) {
		json_object_put(value);
		return false;
	}
	return true;
}

/* Appends value to arr; takes value like api_add. */
static bool api_push(json_object *arr, json_object *value)
{
	if (arr == NULL || value == NULL || json_object_array_add(arr, value) != 0) {
		json_object_put(value);
		return false;
	}
	return true;
}

/* Returns obj, or frees it and returns NULL when !ok. */
static json_object *api_done(json_object *obj, bool ok)
{
	if (ok)
		return obj;
	json_object_put(obj);
	return NULL;
}

static json_object *api_message(const char *role, const char *content)
{
	json_object *m = json_object_new_object();
	bool ok = api_add(m, "role", json_object_new_string(role));
	ok = api_add(m, "content", json_object_new_string(content)) && ok;
	return api_done(m, ok);
}

static json_object *api_openai(const struct llm_config *c, const struct llm_prompt *p)
{
	json_object *root = json_object_new_object();
	json_object *msgs = json_object_new_array();
	bool ok = api_push(msgs, api_message("system", p->system));
	ok = api_push(msgs, api_message("user", p->user)) && ok;
	ok = api_add(root, "model", json_object_new_string(c->model)) && ok;
	ok = api_add(root, "messages", msgs) && ok;
	ok = api_add(root, "temperature", json_object_new_double(c->temperature)) && ok;
	if (c->max_tokens > 0)
		ok = api_add(root, "max_tokens", json_object_new_int64(c->max_tokens)) && ok;
	if (c->json_mode) {
		json_object *fmt = json_object_new_object();
		ok = api_add(fmt, "type", json_object_new_string("json_object")) && ok;
		ok = api_add(root, "response_format", fmt) && ok;
	}
	return api_done(root, ok);
}

/* {"role": role, "parts": [{"text": text}]}; role may be NULL. */
static json_object *api_gemini_content(const char *role, const char *text)
{
	json_object *content = json_object_new_object();
	json_object *parts = json_object_new_array();
	json_object *part = json_object_new_object();
	bool ok = api_add(part, "text", json_object_new_string(text));
	ok = api_push(parts, part) && ok;
	if (role != NULL)
		ok = api_add(content, "role", json_object_new_string(role)) && ok;
	ok = api_add(content, "parts", parts) && ok;
	return api_done(content, ok);
}

static json_object *api_gemini(const struct llm_config *c, const struct llm_prompt *p)
{
	json_object *root = json_object_new_object();
	json_object *contents = json_object_new_array();
	json_object *gen = json_object_new_object();
	bool ok = api_add(root, "systemInstruction", api_gemini_content(NULL, p->system));
	ok = api_push(contents, api_gemini_content("user", p->user)) && ok;
	ok = api_add(root, "contents", contents) && ok;
	ok = api_add(gen, "temperature", json_object_new_double(c->temperature)) && ok;
	if (c->max_tokens > 0)
		ok = api_add(gen, "maxOutputTokens", json_object_new_int64(c->max_tokens)) && ok;
	if (c->json_mode)
		ok = api_add(gen, "responseMimeType", json_object_new_string("application/json")) && ok;
	ok = api_add(root, "generationConfig", gen) && ok;
	return api_done(root, ok);
}

char *llm_api_body(const struct llm_config *c, const struct llm_prompt *p, tb_arena *a)
{
	json_object *root = c->provider == LLM_GEMINI ? api_gemini(c, p) : api_openai(c, p);
	if (root == NULL)
		return NULL;
	char *body = tb_arena_strdup(
		a, json_object_to_json_string_ext(root, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(root);
	return body;
}

/* The object at a path of keys and array indices ("choices", 0, ...); NULL when absent. */
static json_object *api_get(json_object *o, const char *key, int index)
{
	json_object *v = NULL;
	if (o == NULL || !json_object_object_get_ex(o, key, &v))
		return NULL;
	if (index < 0)
		return v;
	if (!json_object_is_type(v, json_type_array) || (size_t)index >= json_object_array_length(v))
		return NULL;
	return json_object_array_get_idx(v, (size_t)index);
}

static int api_openai_text(json_object *root, tb_arena *a, char **textp, tb_status *st)
{
	json_object *choice = api_get(root, "choices", 0);
	json_object *content = api_get(api_get(choice, "message", -1), "content", -1);
	if (content == NULL || !json_object_is_type(content, json_type_string)) {
		json_object *reason = api_get(choice, "finish_reason", -1);
		return tb_status_set(st, TB_INVALID_ARGUMENT,
		                     "the answer has no choices[0].message.content%s%s",
		                     reason ? "; finish_reason " : "",
		                     reason ? json_object_get_string(reason) : "");
	}
	*textp = tb_arena_strdup(a, json_object_get_string(content));
	return *textp != NULL ? TB_OK : tb_status_set(st, TB_RESOURCE_EXHAUSTED, "out of memory");
}

static int api_gemini_text(json_object *root, tb_arena *a, char **textp, tb_status *st)
{
	json_object *cand = api_get(root, "candidates", 0);
	json_object *parts = api_get(api_get(cand, "content", -1), "parts", -1);
	if (parts == NULL || !json_object_is_type(parts, json_type_array)) {
		json_object *reason = api_get(cand, "finishReason", -1);
		json_object *block = api_get(api_get(root, "promptFeedback", -1), "blockReason", -1);
		return tb_status_set(st, TB_INVALID_ARGUMENT,
		                     "the answer has no candidates[0].content.parts%s%s%s%s",
		                     reason ? "; finishReason " : "",
		                     reason ? json_object_get_string(reason) : "",
		                     block ? "; blockReason " : "", block ? json_object_get_string(block) : "");
	}
	char *text = tb_arena_strdup(a, "");
	for (size_t i = 0; text != NULL && i < json_object_array_length(parts); i++) {
		json_object *t = api_get(json_object_array_get_idx(parts, i), "text", -1);
		if (t != NULL && json_object_is_type(t, json_type_string))
			text = tb_arena_printf(a, "%s%s", text, json_object_get_string(t));
	}
	if (text == NULL)
		return tb_status_set(st, TB_RESOURCE_EXHAUSTED, "out of memory");
	*textp = text;
	return TB_OK;
}

int llm_api_text(const struct llm_config *c, const char *body, size_t len, tb_arena *a,
                 char **textp, tb_status *st)
{
	enum json_tokener_error jerr = json_tokener_success;
	json_tokener *tok = json_tokener_new();
	if (tok == NULL)
		return tb_status_set(st, TB_RESOURCE_EXHAUSTED, "out of memory");
	json_object *root = json_tokener_parse_ex(tok, body != NULL ? body : "", (int)len);
	jerr = json_tokener_get_error(tok);
	json_tokener_free(tok);
	int rv;
	if (root == NULL || jerr != json_tokener_success)
		rv = tb_status_set(st, TB_INVALID_ARGUMENT, "the server's answer is not JSON (%s)",
		                   json_tokener_error_desc(jerr));
	else if (c->provider == LLM_GEMINI)
		rv = api_gemini_text(root, a, textp, st);
	else
		rv = api_openai_text(root, a, textp, st);
	json_object_put(root);
	return rv;
}
