/* A test Executor whose behaviour each target chooses by its "mode" label. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "echo_service.h"

_Atomic int echo_calls;
_Atomic int echo_last_stop = -1;

static const char *echo_label(const Testbus__V1__ExecutionTarget *t, const char *key)
{
	const char *v = tb_map_get(t->labels, t->n_labels, key);
	return v ? v : "";
}

static int echo_execute(tb_call *call, const ProtobufCMessage *input, ProtobufCMessage **outputp,
                        void *arg)
{
	const Testbus__V1__ExecutionTarget *t = (const Testbus__V1__ExecutionTarget *)input;
	tb_arena *a = tb_call_arena(call);
	const char *mode = echo_label(t, "mode");
	(void)arg;
	atomic_fetch_add(&echo_calls, 1);
	Testbus__V1__ExecutionResult *r = tb_arena_zalloc(a, sizeof(*r));
	if (r == NULL)
		return tb_call_error(call, TB_RESOURCE_EXHAUSTED, "out of memory");
	testbus__v1__execution_result__init(r);
	if (strncmp(mode, "code:", 5) == 0) {
		int code = atoi(mode + 5);
		return tb_call_error(call, code, "asked for %s", tb_strerror(code));
	}
	if (strncmp(mode, "sleep:", 6) == 0) {
		int stop = tb_call_wait(call, (uint32_t)atoi(mode + 6));
		atomic_store(&echo_last_stop, stop);
		if (stop != TB_OK)
			return tb_call_error(call, stop, "stopped while sleeping");
	}
	if (strncmp(mode, "big:", 4) == 0) {
		size_t n = (size_t)atol(mode + 4);
		char *text = tb_arena_zalloc(a, n + 1);
		if (text == NULL)
			return tb_call_error(call, TB_RESOURCE_EXHAUSTED, "out of memory");
		memset(text, 'x', n);
		r->stdout_tail = text;
	}
	tb_call_event(call, TESTBUS__V1__EVENT_KIND__EVENT_LOG, "echo", mode, 50.0);
	/* Echo the labels back so callers can match answers to requests. */
	r->n_labels = t->n_labels;
	r->labels = tb_arena_zalloc(a, (t->n_labels + 1) * sizeof(*r->labels));
	for (size_t i = 0; i < t->n_labels; i++) {
		r->labels[i] = tb_arena_zalloc(a, sizeof(**r->labels));
		testbus__v1__execution_result__labels_entry__init(r->labels[i]);
		r->labels[i]->key = tb_arena_strdup(a, t->labels[i]->key);
		r->labels[i]->value = tb_arena_strdup(a, t->labels[i]->value);
	}
	r->success = true;
	*outputp = &r->base;
	return TB_OK;
}

const tb_method echo_methods[] = {
	{"Execute", echo_execute},
};
const size_t echo_n_methods = sizeof(echo_methods) / sizeof(echo_methods[0]);
