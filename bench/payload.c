/* The messages the benchmark exchanges: one target and two realistic answers. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"

#define PAYLOAD_LARGE_CASES 12

static const char *const payload_names[BENCH_N_PAYLOADS] = {
	[BENCH_SMALL] = "small",
	[BENCH_LARGE] = "large",
};

static const char *const transport_names[BENCH_N_TRANSPORTS] = {
	[BENCH_IPC] = "ipc",
	[BENCH_TCP] = "tcp",
};

const char *bench_payload_name(enum bench_payload p)
{
	return p < BENCH_N_PAYLOADS ? payload_names[p] : "?";
}

enum bench_payload bench_payload_from_name(const char *name)
{
	for (int p = 0; name != NULL && p < BENCH_N_PAYLOADS; p++) {
		if (strcmp(name, payload_names[p]) == 0)
			return (enum bench_payload)p;
	}
	return BENCH_N_PAYLOADS;
}

const char *bench_transport_name(enum bench_transport t)
{
	return t < BENCH_N_TRANSPORTS ? transport_names[t] : "?";
}

size_t bench_result_cases(enum bench_payload p)
{
	return p == BENCH_LARGE ? PAYLOAD_LARGE_CASES : 1;
}

/* A map<string,string> of n entries; each entry type has the same layout. */
static void **payload_labels(tb_arena *a, const ProtobufCMessageDescriptor *entry_desc,
                             const char *const (*kv)[2], size_t n)
{
	Testbus__V1__ExecutionTarget__LabelsEntry **v = tb_arena_zalloc(a, n * sizeof(*v));
	for (size_t i = 0; v != NULL && i < n; i++) {
		v[i] = tb_arena_zalloc(a, sizeof(*v[i]));
		if (v[i] == NULL)
			return NULL;
		protobuf_c_message_init(entry_desc, v[i]);
		v[i]->key = (char *)kv[i][0];
		v[i]->value = (char *)kv[i][1];
	}
	return (void **)v;
}

int bench_target_build(tb_arena *a, enum bench_payload p, Testbus__V1__ExecutionTarget **tp)
{
	const char *const labels[][2] = {
		{BENCH_LABEL_ANSWER, bench_payload_name(p)},
		{"suite", "conformance-smoke"},
		{"team", "platform-networking"},
	};
	Testbus__V1__ExecutionTarget *t = tb_arena_zalloc(a, sizeof(*t));
	Testbus__V1__ClusterInfo *c = tb_arena_zalloc(a, sizeof(*c));
	if (t == NULL || c == NULL)
		return TB_RESOURCE_EXHAUSTED;
	testbus__v1__execution_target__init(t);
	testbus__v1__cluster_info__init(c);
	c->id = "c0f5a1e2-7d3b-4c8e-9a61-2b7f04d9e3aa";
	c->name = "bench-cluster-eu-west-1";
	c->provider = "kind";
	c->region = "eu-west-1";
	c->version = "1.29.4";
	t->cluster = c;
	t->timeout_ms = 1800000;
	t->run_id = "run-2024-06-01T10:15:00Z-4f2a";
	t->target_id = "conformance-smoke/shard-1";
	t->attempt = 1;
	t->n_labels = sizeof(labels) / sizeof(labels[0]);
	t->labels = (Testbus__V1__ExecutionTarget__LabelsEntry **)payload_labels(
	    a, &testbus__v1__execution_target__labels_entry__descriptor, labels, t->n_labels);
	if (t->labels == NULL)
		return TB_RESOURCE_EXHAUSTED;
	*tp = t;
	return TB_OK;
}

/* Test case i of a run: every fourth one failed, with a message and output. */
static Testbus__V1__TestCase *payload_case(tb_arena *a, size_t i)
{
	Testbus__V1__TestCase *tc = tb_arena_zalloc(a, sizeof(*tc));
	if (tc == NULL)
		return NULL;
	testbus__v1__test_case__init(tc);
	bool failed = i % 4 == 3;
	tc->name = tb_arena_printf(a, "test_service_routes_traffic_to_ready_endpoints_%zu", i);
	tc->classname = "e2e.network.services.ServiceRoutingTest";
	tc->suite = "conformance-smoke";
	tc->status = failed ? TESTBUS__V1__TEST_STATUS__TEST_FAILED
	                    : TESTBUS__V1__TEST_STATUS__TEST_PASSED;
	tc->duration_ms = 1250.5 + 37.25 * (double)i;
	tc->attempt = 1;
	if (failed) {
		tc->message = tb_arena_printf(a, "expected 3 ready endpoints for svc-%zu, got 2 "
		                                 "after 30s", i);
		tc->output = tb_arena_printf(
		    a, "Traceback (most recent call last):\n  File \"routing_test.py\", line %zu, "
		       "in test_routes\n    assert len(ready) == 3\n  File \"conftest.py\", line 42, "
		       "in wait_ready\nAssertionError: endpoints "
		       "[10.244.1.%zu, 10.244.2.%zu] still not ready",
		    120 + i, i, i + 1);
	}
	if (tc->name == NULL || (failed && (tc->message == NULL || tc->output == NULL)))
		return NULL;
	return tc;
}

static int payload_cases(tb_arena *a, Testbus__V1__ExecutionResult *r, size_t n)
{
	Testbus__V1__ResultSummary *s = tb_arena_zalloc(a, sizeof(*s));
	r->test_cases = tb_arena_zalloc(a, n * sizeof(*r->test_cases));
	if (s == NULL || r->test_cases == NULL)
		return TB_RESOURCE_EXHAUSTED;
	testbus__v1__result_summary__init(s);
	for (size_t i = 0; i < n; i++) {
		if ((r->test_cases[i] = payload_case(a, i)) == NULL)
			return TB_RESOURCE_EXHAUSTED;
		if (r->test_cases[i]->status == TESTBUS__V1__TEST_STATUS__TEST_FAILED)
			s->failed++;
		else
			s->passed++;
	}
	s->total = (uint32_t)n;
	r->n_test_cases = n;
	r->summary = s;
	r->success = s->failed == 0;
	return TB_OK;
}

static int payload_artifact(tb_arena *a, Testbus__V1__ExecutionResult *r)
{
	Testbus__V1__Artifact *art = tb_arena_zalloc(a, sizeof(*art));
	r->artifacts = tb_arena_zalloc(a, sizeof(*r->artifacts));
	if (art == NULL || r->artifacts == NULL)
		return TB_RESOURCE_EXHAUSTED;
	testbus__v1__artifact__init(art);
	art->name = "junit.xml";
	art->uri = "/var/lib/testbus/runs/4f2a/conformance-smoke/shard-1/junit.xml";
	art->media_type = "application/xml";
	art->size = 48213;
	art->sha256 = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";
	r->artifacts[0] = art;
	r->n_artifacts = 1;
	return TB_OK;
}

/* Run metadata as executors report it. */
static int payload_metadata(tb_arena *a, Testbus__V1__ExecutionResult *r)
{
	static const char *const kv[][2] = {
		{"executor", "shell"}, {"host", "ci-runner-7.build.internal"},
		{"command", "pytest -q tests/e2e/network --junitxml=/var/lib/testbus/junit.xml"},
	};
	size_t n = sizeof(kv) / sizeof(kv[0]);
	r->metadata = tb_arena_zalloc(a, n * sizeof(*r->metadata));
	if (r->metadata == NULL)
		return TB_RESOURCE_EXHAUSTED;
	for (size_t i = 0; i < n; i++) {
		Testbus__V1__ExecutionResult__MetadataEntry *e = tb_arena_zalloc(a, sizeof(*e));
		Testbus__V1__Value *v = tb_arena_zalloc(a, sizeof(*v));
		if (e == NULL || v == NULL)
			return TB_RESOURCE_EXHAUSTED;
		testbus__v1__execution_result__metadata_entry__init(e);
		testbus__v1__value__init(v);
		v->kind_case = TESTBUS__V1__VALUE__KIND_STRING_VALUE;
		v->string_value = (char *)kv[i][1];
		e->key = (char *)kv[i][0];
		e->value = v;
		r->metadata[i] = e;
	}
	r->n_metadata = n;
	return TB_OK;
}

int bench_result_build(tb_arena *a, enum bench_payload p, Testbus__V1__ExecutionResult **rp)
{
	const char *const labels[][2] = {{BENCH_LABEL_ANSWER, bench_payload_name(p)}};
	Testbus__V1__ExecutionResult *r = tb_arena_zalloc(a, sizeof(*r));
	int rv = TB_RESOURCE_EXHAUSTED;
	if (r == NULL)
		goto out;
	testbus__v1__execution_result__init(r);
	r->start_time = 1717236900000;
	r->end_time = 1717237012345;
	r->n_labels = 1;
	r->labels = (Testbus__V1__ExecutionResult__LabelsEntry **)payload_labels(
	    a, &testbus__v1__execution_result__labels_entry__descriptor, labels, 1);
	if (r->labels == NULL)
		goto out;
	if ((rv = payload_cases(a, r, bench_result_cases(p))) != TB_OK)
		goto out;
	if (p == BENCH_LARGE) {
		if ((rv = payload_artifact(a, r)) != TB_OK || (rv = payload_metadata(a, r)) != TB_OK)
			goto out;
		r->stdout_tail = "============ test session starts ============\n"
		                 "collected 12 items\n\n"
		                 "routing_test.py ...F...F...F\n\n"
		                 "======= 3 failed, 9 passed in 112.35s =======\n";
		r->stderr_tail = "WARNING: endpoint slice controller lagging by 4s\n"
		                 "WARNING: node kind-worker2 NotReady for 12s\n";
	}
	if (p == BENCH_SMALL)
		r->stdout_tail = "collected 1 item\n\nsmoke_test.py .\n\n1 passed in 0.84s\n";
	r->exit_code = r->success ? 0 : 1;
	rv = TB_OK;
out:
	*rp = rv == TB_OK ? r : NULL;
	return rv;
}

int bench_pack(const ProtobufCMessage *m, uint8_t **bufp, size_t *lenp)
{
	size_t len = protobuf_c_message_get_packed_size(m);
	uint8_t *buf = malloc(len ? len : 1);
	if (buf == NULL)
		return TB_RESOURCE_EXHAUSTED;
	protobuf_c_message_pack(m, buf);
	*bufp = buf;
	*lenp = len;
	return TB_OK;
}
