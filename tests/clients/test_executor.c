/* A C executor for the client tests: echoes its target and obeys test labels. */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "testbus/testbus.h"

/*
 * Labels of the target steer it:
 *   sleep_ms=N  wait N ms (or until cancelled / past the deadline)
 *   busy_ms=N   block N ms, ignoring cancel and deadline (an overrunning handler)
 *   fail=CODE   answer that status code name with message "failing as asked"
 * The result echoes the labels and reports in metadata what it was given:
 * run_id (from the request metadata), trace_id, kubeconfig_len, invocations
 * (how many Execute calls this process has run) and call_id.
 */

static atomic_uint_fast64_t executor_invocations;

static Testbus__V1__Value *executor_value(tb_arena *a, int64_t i, const char *s)
{
	Testbus__V1__Value *v = tb_arena_zalloc(a, sizeof(*v));
	if (v == NULL)
		return NULL;
	testbus__v1__value__init(v);
	if (s != NULL) {
		v->kind_case = TESTBUS__V1__VALUE__KIND_STRING_VALUE;
		v->string_value = tb_arena_strdup(a, s);
	} else {
		v->kind_case = TESTBUS__V1__VALUE__KIND_INT_VALUE;
		v->int_value = i;
	}
	return v;
}

static int executor_metadata(tb_call *call, const Testbus__V1__ExecutionTarget *t,
                             Testbus__V1__ExecutionResult *r, uint64_t n)
{
	tb_arena *a = tb_call_arena(call);
	const char *run_id = tb_call_metadata(call, TB_META_RUN_ID);
	const char *trace_id = tb_call_metadata(call, TB_META_TRACE_ID);
	struct {
		const char *key;
		Testbus__V1__Value *value;
	} items[] = {
		{"run_id", executor_value(a, 0, run_id ? run_id : "")},
		{"trace_id", executor_value(a, 0, trace_id ? trace_id : "")},
		{"kubeconfig_len", executor_value(a, (int64_t)t->kubeconfig.len, NULL)},
		{"invocations", executor_value(a, (int64_t)n, NULL)},
		{"call_id", executor_value(a, (int64_t)tb_call_id(call), NULL)},
	};
	size_t count = sizeof(items) / sizeof(items[0]);
	r->metadata = tb_arena_zalloc(a, count * sizeof(*r->metadata));
	if (r->metadata == NULL)
		return tb_call_error(call, TB_RESOURCE_EXHAUSTED, "out of memory");
	for (size_t i = 0; i < count; i++) {
		Testbus__V1__ExecutionResult__MetadataEntry *e = tb_arena_zalloc(a, sizeof(*e));
		if (e == NULL || items[i].value == NULL)
			return tb_call_error(call, TB_RESOURCE_EXHAUSTED, "out of memory");
		testbus__v1__execution_result__metadata_entry__init(e);
		e->key = (char *)items[i].key;
		e->value = items[i].value;
		r->metadata[i] = e;
	}
	r->n_metadata = count;
	return TB_OK;
}

static int executor_labels(tb_call *call, const Testbus__V1__ExecutionTarget *t,
                           Testbus__V1__ExecutionResult *r)
{
	tb_arena *a = tb_call_arena(call);
	r->labels = tb_arena_zalloc(a, (t->n_labels + 1) * sizeof(*r->labels));
	if (r->labels == NULL)
		return tb_call_error(call, TB_RESOURCE_EXHAUSTED, "out of memory");
	for (size_t i = 0; i < t->n_labels; i++) {
		Testbus__V1__ExecutionResult__LabelsEntry *e = tb_arena_zalloc(a, sizeof(*e));
		if (e == NULL)
			return tb_call_error(call, TB_RESOURCE_EXHAUSTED, "out of memory");
		testbus__v1__execution_result__labels_entry__init(e);
		e->key = t->labels[i]->key; /* borrowed: the input outlives the answer */
		e->value = t->labels[i]->value;
		r->labels[i] = e;
	}
	r->n_labels = t->n_labels;
	return TB_OK;
}

static int executor_execute(tb_call *call, const ProtobufCMessage *input,
                            ProtobufCMessage **outputp, void *arg)
{
	const Testbus__V1__ExecutionTarget *t = (const Testbus__V1__ExecutionTarget *)input;
	uint64_t n = atomic_fetch_add(&executor_invocations, 1) + 1;
	const char *sleep_ms = tb_map_get(t->labels, t->n_labels, "sleep_ms");
	const char *fail = tb_map_get(t->labels, t->n_labels, "fail");
	const char *busy_ms = tb_map_get(t->labels, t->n_labels, "busy_ms");
	Testbus__V1__ExecutionResult *r = tb_arena_zalloc(tb_call_arena(call), sizeof(*r));
	int rv;
	(void)arg;
	if (r == NULL)
		return tb_call_error(call, TB_RESOURCE_EXHAUSTED, "out of memory");
	testbus__v1__execution_result__init(r);
	tb_call_event(call, TESTBUS__V1__EVENT_KIND__EVENT_STARTED, NULL, "started", 0);
	if (sleep_ms != NULL) {
		int stop = tb_call_wait(call, (uint32_t)strtoul(sleep_ms, NULL, 10));
		r->cancelled = stop == TB_CANCELLED;
		r->timed_out = stop == TB_DEADLINE_EXCEEDED;
	}
	if (busy_ms != NULL) {
		unsigned long ms = strtoul(busy_ms, NULL, 10);
		struct timespec ts = {.tv_sec = (time_t)(ms / 1000), .tv_nsec = (long)(ms % 1000) * 1000000};
		while (nanosleep(&ts, &ts) != 0) {
		}
	}
	if (fail != NULL) {
		int code = tb_code_from_name(fail);
		return tb_call_error(call, code > 0 ? code : TB_UNKNOWN, "failing as asked");
	}
	if ((rv = executor_metadata(call, t, r, n)) != TB_OK)
		return rv;
	if ((rv = executor_labels(call, t, r)) != TB_OK)
		return rv;
	r->success = !r->cancelled;
	r->start_time = -1234567890123LL;
	r->end_time = INT64_MAX;
	r->exit_code = -1;
	r->error = t->target_id;
	tb_call_event(call, TESTBUS__V1__EVENT_KIND__EVENT_FINISHED, NULL, "finished", 100);
	*outputp = &r->base;
	return TB_OK;
}

static const tb_method executor_methods[] = {
	{.name = "Execute", .fn = executor_execute},
};

int main(int argc, char **argv)
{
	static const tb_component comp = {
		.name = "test-executor",
		.kind = TESTBUS__V1__COMPONENT_KIND__KIND_EXECUTOR,
		.summary = "An executor for the client tests: echoes its target.",
		.service = &testbus__v1__executor__descriptor,
		.methods = executor_methods,
		.n_methods = 1,
		.default_capacity = 2,
	};
	return tb_component_main(&comp, argc, argv);
}
