/* The benchmark's server process: a tb_server and the raw REP servers beside it. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <nng/nng.h>

#include "bench.h"

/* Everything the server process holds; zeroed is a valid empty state. */
struct serve {
	tb_arena *arena;
	Testbus__V1__ExecutionResult *results[BENCH_N_PAYLOADS]; /* in arena */
	uint8_t *packed[BENCH_N_PAYLOADS];                       /* owned */
	size_t packed_len[BENCH_N_PAYLOADS];
	tb_server *srv;
	raw_server *raw[BENCH_N_TRANSPORTS][BENCH_N_PAYLOADS];
};

/*
 * Answers Execute with the prebuilt result the target's "answer" label names:
 * the handler does no work of its own, so what is measured is the library.
 */
static int serve_execute(tb_call *call, const ProtobufCMessage *input, ProtobufCMessage **outputp,
                         void *arg)
{
	struct serve *sv = arg;
	const Testbus__V1__ExecutionTarget *t = (const Testbus__V1__ExecutionTarget *)input;
	const char *name = tb_map_get(t->labels, t->n_labels, BENCH_LABEL_ANSWER);
	enum bench_payload p = bench_payload_from_name(name);
	if (p == BENCH_N_PAYLOADS)
		return tb_call_error(call, TB_INVALID_ARGUMENT, "no such answer: %s",
		                     name ? name : "(none)");
	*outputp = &sv->results[p]->base;
	return TB_OK;
}

static const tb_method serve_methods[] = {
	{"Execute", serve_execute},
};

static int serve_answers(struct serve *sv)
{
	int rv = tb_arena_alloc(&sv->arena);
	for (int p = 0; rv == TB_OK && p < BENCH_N_PAYLOADS; p++) {
		rv = bench_result_build(sv->arena, (enum bench_payload)p, &sv->results[p]);
		if (rv == TB_OK)
			rv = bench_pack(&sv->results[p]->base, &sv->packed[p], &sv->packed_len[p]);
	}
	return rv;
}

static int serve_testbus(struct serve *sv, const char *dir, tb_status *st)
{
	tb_server_opts opts = {
		.name = "bench",
		.kind = TESTBUS__V1__COMPONENT_KIND__KIND_EXECUTOR,
		.capacity = BENCH_SERVE_CAPACITY,
		.control_slots = BENCH_CONTROL_SLOTS,
		.arg = sv,
	};
	char url[BENCH_URL_MAX];
	int rv = tb_server_alloc(&opts, &sv->srv, st);
	if (rv == TB_OK)
		rv = tb_server_add_service(sv->srv, &testbus__v1__executor__descriptor, serve_methods,
		                           1, st);
	/* tcp first: tb_server_url() names the first listener, port resolved. */
	if (rv == TB_OK)
		rv = tb_server_listen(sv->srv, "tcp://127.0.0.1:0", st);
	snprintf(url, sizeof(url), "ipc://%s/testbus.ipc", dir);
	if (rv == TB_OK)
		rv = tb_server_listen(sv->srv, url, st);
	if (rv == TB_OK)
		rv = tb_server_start(sv->srv, st);
	if (rv == TB_OK) {
		printf("endpoint testbus tcp any %s\n", tb_server_url(sv->srv));
		printf("endpoint testbus ipc any %s\n", url);
	}
	return rv;
}

static int serve_raw(struct serve *sv, const char *dir)
{
	for (int t = 0; t < BENCH_N_TRANSPORTS; t++) {
		for (int p = 0; p < BENCH_N_PAYLOADS; p++) {
			char url[BENCH_URL_MAX];
			const char *pn = bench_payload_name((enum bench_payload)p);
			if (t == BENCH_IPC)
				snprintf(url, sizeof(url), "ipc://%s/raw-%s.ipc", dir, pn);
			else
				snprintf(url, sizeof(url), "tcp://127.0.0.1:0");
			int rv = raw_server_open(url, BENCH_SERVE_CAPACITY + BENCH_CONTROL_SLOTS,
			                         sv->packed[p], sv->packed_len[p], &sv->raw[t][p]);
			if (rv != 0) {
				fprintf(stderr, "bench server: cannot listen on %s: %s\n", url,
				        nng_strerror(rv));
				return TB_UNAVAILABLE;
			}
			printf("endpoint raw %s %s %s\n", bench_transport_name((enum bench_transport)t),
			       pn, raw_server_url(sv->raw[t][p]));
		}
	}
	return TB_OK;
}

static void serve_fini(struct serve *sv)
{
	tb_server_free(sv->srv);
	for (int t = 0; t < BENCH_N_TRANSPORTS; t++) {
		for (int p = 0; p < BENCH_N_PAYLOADS; p++)
			raw_server_close(sv->raw[t][p]);
	}
	for (int p = 0; p < BENCH_N_PAYLOADS; p++)
		free(sv->packed[p]);
	tb_arena_free(sv->arena);
}

/* Blocks until the parent closes our stdin (or dies). */
static void serve_wait_parent(void)
{
	char buf[64];
	while (read(STDIN_FILENO, buf, sizeof(buf)) > 0)
		;
}

int bench_serve_main(const char *dir)
{
	struct serve sv = {0};
	tb_status st = {0};
	int rv;
	signal(SIGPIPE, SIG_IGN);
	if ((rv = serve_answers(&sv)) != TB_OK) {
		fprintf(stderr, "bench server: out of memory\n");
		goto out;
	}
	if ((rv = serve_testbus(&sv, dir, &st)) != TB_OK) {
		fprintf(stderr, "bench server: %s\n", st.message);
		goto out;
	}
	if ((rv = serve_raw(&sv, dir)) != TB_OK)
		goto out;
	printf("ready\n");
	fflush(stdout);
	serve_wait_parent();
out:
	serve_fini(&sv);
	return rv == TB_OK ? 0 : 1;
}
