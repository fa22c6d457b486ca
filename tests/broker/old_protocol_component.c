/*
 * testbus-test-old-protocol: a bare NNG replier that answers Describe as an
 * executor speaking protocol version 99, for the broker's preflight to refuse.
 */
#include <nng/nng.h>
#include <nng/protocol/reqrep0/rep.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <time.h>
#include <unistd.h>

#include "testbus/testbus.h"

#define OLD_PROTOCOL_VERSION 99u
#define OLD_RECV_TIMEOUT_MS 500
#define OLD_LIFETIME_S 120 /* never outlive a test that forgot it */

static volatile sig_atomic_t old_stop;

static void old_on_signal(int sig)
{
	old_stop = 1;
}

/* Packs a Response with code and, when not NULL, payload `out`. Caller frees *bufp. */
static int old_pack_response(uint64_t call_id, int code, const char *message,
                             const ProtobufCMessage *out, uint8_t **bufp, size_t *lenp)
{
	Testbus__V1__Response resp = TESTBUS__V1__RESPONSE__INIT;
	Testbus__V1__Status status = TESTBUS__V1__STATUS__INIT;
	uint8_t *payload = NULL, *buf;
	size_t len;

	status.code = (Testbus__V1__StatusCode)code;
	status.message = (char *)message;
	resp.call_id = call_id;
	resp.status = &status;
	if (out != NULL) {
		resp.payload.len = protobuf_c_message_get_packed_size(out);
		if ((payload = malloc(resp.payload.len ? resp.payload.len : 1)) == NULL)
			return -1;
		protobuf_c_message_pack(out, payload);
		resp.payload.data = payload;
	}
	len = protobuf_c_message_get_packed_size(&resp.base);
	if ((buf = malloc(len ? len : 1)) == NULL) {
		free(payload);
		return -1;
	}
	protobuf_c_message_pack(&resp.base, buf);
	free(payload);
	*bufp = buf;
	*lenp = len;
	return 0;
}

/* The answer to one request: Describe gets the old protocol, the rest UNIMPLEMENTED. */
static int old_answer(const void *req_buf, size_t req_len, uint8_t **bufp, size_t *lenp)
{
	Testbus__V1__Request *req = testbus__v1__request__unpack(NULL, req_len, req_buf);
	Testbus__V1__ComponentInfo info = TESTBUS__V1__COMPONENT_INFO__INIT;
	char *services[] = {"testbus.v1.Component", "testbus.v1.Executor"};
	int rv;

	if (req == NULL)
		return old_pack_response(0, TB_INVALID_ARGUMENT, "cannot read the request", NULL, bufp,
		                         lenp);
	fprintf(stderr, "old-protocol: %s.%s\n", req->service, req->method);
	if (strcmp(req->method, "Describe") == 0) {
		info.name = "old-protocol";
		info.kind = TESTBUS__V1__COMPONENT_KIND__KIND_EXECUTOR;
		info.version = "0.0.1";
		info.services = services;
		info.n_services = 2;
		info.capacity = 1;
		info.protocol_version = OLD_PROTOCOL_VERSION;
		info.max_message_size = TB_DEFAULT_MAX_MESSAGE;
		info.pid = getpid();
		rv = old_pack_response(req->call_id, TB_OK, "", &info.base, bufp, lenp);
	} else {
		rv = old_pack_response(req->call_id, TB_UNIMPLEMENTED, "this component is too old", NULL,
		                       bufp, lenp);
	}
	testbus__v1__request__free_unpacked(req, NULL);
	return rv;
}

static int old_serve(nng_socket sock)
{
	time_t end = time(NULL) + OLD_LIFETIME_S;

	while (!old_stop && time(NULL) < end) {
		void *req = NULL;
		uint8_t *resp = NULL;
		size_t req_len = 0, resp_len = 0;
		int rv = nng_recv(sock, &req, &req_len, NNG_FLAG_ALLOC);

		if (rv == NNG_ETIMEDOUT)
			continue;
		if (rv != 0) {
			fprintf(stderr, "old-protocol: receive: %s\n", nng_strerror(rv));
			return 1;
		}
		rv = old_answer(req, req_len, &resp, &resp_len);
		nng_free(req, req_len);
		if (rv == 0 && (rv = nng_send(sock, resp, resp_len, 0)) != 0)
			fprintf(stderr, "old-protocol: send: %s\n", nng_strerror(rv));
		free(resp);
	}
	return 0;
}

int main(int argc, char **argv)
{
	const char *url = NULL;
	nng_socket sock;
	int rv, status;

	for (int i = 1; i + 1 < argc; i++)
		if (strcmp(argv[i], "--listen") == 0)
			url = argv[++i];
	if (url == NULL) {
		fprintf(stderr, "usage: %s --listen URL\n", argv[0]);
		return 2;
	}
	if (getenv("TESTBUS_PARENT_PID") != NULL)
		prctl(PR_SET_PDEATHSIG, SIGTERM);
	signal(SIGTERM, old_on_signal);
	signal(SIGINT, old_on_signal);
	if ((rv = nng_rep0_open(&sock)) != 0 ||
	    (rv = nng_socket_set_ms(sock, NNG_OPT_RECVTIMEO, OLD_RECV_TIMEOUT_MS)) != 0 ||
	    (rv = nng_listen(sock, url, NULL, 0)) != 0) {
		fprintf(stderr, "old-protocol: %s: %s\n", url, nng_strerror(rv));
		return 1;
	}
	status = old_serve(sock);
	nng_close(sock);
	return status;
}
