/* The in-process server the envelope and request targets feed. */
#include <stdio.h>
#include <stdlib.h>

#include "fuzz_bus.h"
#include "server_feed.h"

void fuzz_require(bool cond, const char *what)
{
	if (cond)
		return;
	fprintf(stderr, "fuzz: broken: %s\n", what);
	abort();
}

tb_server *fuzz_server_alloc(const char *name, Testbus__V1__ComponentKind kind,
                             const ProtobufCServiceDescriptor *service, const tb_method *methods,
                             size_t n_methods, tb_configure_fn configure, void *arg)
{
	tb_status st;
	tb_server *srv = NULL;
	const tb_server_opts opts = {
		.name = name, .kind = kind, .capacity = 4, .configure = configure, .arg = arg,
	};
	int rv = tb_server_alloc(&opts, &srv, &st);
	if (rv == TB_OK && service != NULL)
		rv = tb_server_add_service(srv, service, methods, n_methods, &st);
	if (rv != TB_OK) {
		fprintf(stderr, "fuzz: cannot build the %s server: %s\n", name, st.message);
		abort();
	}
	return srv;
}

int fuzz_server_send(tb_server *srv, const uint8_t *request, size_t len)
{
	uint8_t *answer = NULL;
	size_t n = 0;
	if (tbi_server_feed(srv, request, len, &answer, &n) != TB_OK)
		return -1;
	fuzz_require(answer != NULL, "every request gets an answer");
	Testbus__V1__Response *resp = testbus__v1__response__unpack(NULL, n, answer);
	fuzz_require(resp != NULL, "the answer decodes as a Response");
	fuzz_require(resp->status != NULL, "the answer carries a status");
	int code = (int)resp->status->code;
	fuzz_require(code == TB_OK || resp->payload.len == 0, "only an OK answer has a payload");
	fuzz_require(code == TB_OK || resp->status->message[0] != '\0', "a refusal says why");
	if (getenv("TESTBUS_FUZZ_TRACE") != NULL) /* to see what inputs reach */
		fprintf(stderr, "answer: %s %s\n", tb_strerror(code), resp->status->message);
	testbus__v1__response__free_unpacked(resp, NULL);
	free(answer);
	return code;
}

int fuzz_request_pack(const char *service, const char *method, uint64_t call_id,
                      uint32_t deadline_ms, const uint8_t *payload, size_t len, uint8_t **outp,
                      size_t *lenp)
{
	Testbus__V1__Request req = TESTBUS__V1__REQUEST__INIT;
	req.service = (char *)service;
	req.method = (char *)method;
	req.call_id = call_id;
	req.deadline_ms = deadline_ms;
	req.payload.data = (uint8_t *)payload;
	req.payload.len = len;
	size_t n = testbus__v1__request__get_packed_size(&req);
	uint8_t *buf = malloc(n > 0 ? n : 1);
	if (buf == NULL)
		return TB_RESOURCE_EXHAUSTED;
	testbus__v1__request__pack(&req, buf);
	*outp = buf;
	*lenp = n;
	return TB_OK;
}
