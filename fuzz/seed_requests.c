/*
 * Writes seed inputs for the request and envelope targets from the
 * project's own test data:
 *   fuzz-seed-requests OUTDIR [FILE...]
 * FILE is a JUnit report (*.xml: its tests become an ExecutionResult for
 * ShouldAnalyze and an AnalysisInput for Analyze), a results.json file
 * (results*.json: a ReportInput for Report) or a method's input in proto3
 * JSON named <Method>[.anything].json. Writes OUTDIR/requests/<n>.bin
 * (method index byte, then the packed input) and OUTDIR/envelope/<n>.bin
 * (the same input in a whole Request envelope).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz_bus.h"
#include "fuzz_components.h"
#include "json_pb.h"
#include "junit.h"
#include "results_json.h"

static unsigned seed_count;

static int seed_write(const char *outdir, const char *kind, const uint8_t *head, size_t hlen,
                      const uint8_t *data, size_t len)
{
	char path[4096];
	snprintf(path, sizeof(path), "%s/%s", outdir, kind);
	if (mkdir(path, 0755) != 0 && errno != EEXIST)
		return -1;
	snprintf(path, sizeof(path), "%s/%s/seed-%03u.bin", outdir, kind, seed_count);
	FILE *f = fopen(path, "wb");
	if (f == NULL)
		return -1;
	size_t ok = (hlen > 0 ? fwrite(head, 1, hlen, f) : 0) + fwrite(data, 1, len, f);
	return fclose(f) == 0 && ok == hlen + len ? 0 : -1;
}

/* Writes msg as the input of method index i to both targets' seed folders. */
static int seed_emit(const char *outdir, size_t i, const ProtobufCMessage *msg)
{
	size_t len = protobuf_c_message_get_packed_size(msg), elen = 0;
	uint8_t *payload = malloc(len + 1), *envelope = NULL, index = (uint8_t)i;
	int rv = -1;
	if (payload == NULL)
		return -1;
	protobuf_c_message_pack(msg, payload);
	seed_count++;
	if (seed_write(outdir, "requests", &index, 1, payload, len) == 0 &&
	    fuzz_request_pack(fuzz_methods[i].service, fuzz_methods[i].method, seed_count, 0,
	                      payload, len, &envelope, &elen) == TB_OK)
		rv = seed_write(outdir, "envelope", NULL, 0, envelope, elen);
	free(envelope);
	free(payload);
	return rv;
}

static size_t seed_method_index(const char *method)
{
	for (size_t i = 0; i < fuzz_n_methods; i++) {
		if (strcmp(fuzz_methods[i].method, method) == 0)
			return i;
	}
	return fuzz_n_methods;
}

static const ProtobufCMessageDescriptor *seed_input_type(size_t i)
{
	static const ProtobufCServiceDescriptor *const services[] = {
		&testbus__v1__provisioner__descriptor, &testbus__v1__executor__descriptor,
		&testbus__v1__analyzer__descriptor, &testbus__v1__reporter__descriptor,
		&testbus__v1__component__descriptor,
	};
	for (size_t s = 0; s < sizeof(services) / sizeof(services[0]); s++) {
		if (strcmp(services[s]->name, fuzz_methods[i].service) != 0)
			continue;
		for (unsigned m = 0; m < services[s]->n_methods; m++) {
			if (strcmp(services[s]->methods[m].name, fuzz_methods[i].method) == 0)
				return services[s]->methods[m].input;
		}
	}
	return NULL;
}

/* A JUnit report as ShouldAnalyze and Analyze inputs. */
static int seed_junit(const char *outdir, const char *path, tb_arena *a, tb_status *st)
{
	tb_junit *j = NULL;
	int rv = tb_junit_alloc(a, NULL, &j);
	if (rv == TB_OK)
		rv = tb_junit_add_file(j, path, NULL, st);
	if (rv == TB_OK) {
		Testbus__V1__ResultSummary sum = TESTBUS__V1__RESULT_SUMMARY__INIT;
		Testbus__V1__ExecutionResult res = TESTBUS__V1__EXECUTION_RESULT__INIT;
		Testbus__V1__AnalysisInput in = TESTBUS__V1__ANALYSIS_INPUT__INIT;
		tb_junit_summary(j, &sum);
		res.summary = &sum;
		res.test_cases = tb_junit_cases(j, &res.n_test_cases);
		res.success = sum.failed == 0 && sum.errors == 0;
		in.result = &res;
		if (seed_emit(outdir, seed_method_index("ShouldAnalyze"), &res.base) != 0 ||
		    seed_emit(outdir, seed_method_index("Analyze"), &in.base) != 0)
			rv = tb_status_set(st, TB_INTERNAL, "cannot write to %s", outdir);
	}
	tb_junit_free(j);
	return rv;
}

static int seed_file(const char *outdir, const char *path, tb_arena *a, tb_status *st)
{
	const char *base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
	size_t n = strlen(base);
	ProtobufCMessage *msg = NULL;
	char *text = NULL;
	size_t len = 0;
	int rv;
	if (n > 4 && strcmp(base + n - 4, ".xml") == 0)
		return seed_junit(outdir, path, a, st);
	if (strncmp(base, "results", 7) == 0) {
		Testbus__V1__ReportInput *in = NULL;
		if ((rv = tb_results_read_file(path, a, &in, st)) == TB_OK &&
		    seed_emit(outdir, seed_method_index("Report"), &in->base) != 0)
			rv = tb_status_set(st, TB_INTERNAL, "cannot write to %s", outdir);
		return rv;
	}
	char method[64];
	snprintf(method, sizeof(method), "%.*s", (int)strcspn(base, "."), base);
	size_t i = seed_method_index(method);
	if (i == fuzz_n_methods)
		return tb_status_set(st, TB_INVALID_ARGUMENT, "%s: no method %s", path, method);
	if ((rv = tb_results_slurp(path, 1u << 20, &text, &len, st)) != TB_OK)
		return rv;
	if ((rv = tb_json_parse_message(seed_input_type(i), text, len, &msg, st)) == TB_OK) {
		if (seed_emit(outdir, i, msg) != 0)
			rv = tb_status_set(st, TB_INTERNAL, "cannot write to %s", outdir);
		protobuf_c_message_free_unpacked(msg, NULL);
	}
	free(text);
	return rv;
}

int main(int argc, char **argv)
{
	tb_arena *a = NULL;
	tb_status st;
	int failed = 0;
	if (argc < 2) {
		fprintf(stderr, "usage: %s OUTDIR [FILE...]\n", argv[0]);
		return 2;
	}
	if (mkdir(argv[1], 0755) != 0 && errno != EEXIST) {
		fprintf(stderr, "%s: %s\n", argv[1], strerror(errno));
		return 1;
	}
	if (tb_arena_alloc(&a) != TB_OK)
		return 1;
	for (int i = 2; i < argc; i++) {
		if (seed_file(argv[1], argv[i], a, &st) != TB_OK) {
			fprintf(stderr, "seed: %s: %s\n", argv[i], st.message);
			failed = 1;
		}
	}
	tb_arena_free(a);
	printf("wrote %u seeds to %s\n", seed_count, argv[1]);
	return failed;
}
