/* The chaos proxy's relay: calls forwarded unchanged, except the faulted method's. */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "chaos_proxy.h"
#include "testbus/testbus.h"

#define CHAOS_MAX_HELD 64
#define CHAOS_GARBAGE_LEN 48
/* No protobuf tag uses wire type 7: a decoder of any message type stops at this first byte. */
#define CHAOS_INVALID_TAG 0x0f

static const struct {
	const char *name;
	enum chaos_fault fault;
} chaos_faults[] = {
	{"none", CHAOS_NONE}, {"hold", CHAOS_HOLD},   {"hang", CHAOS_HANG},
	{"junk", CHAOS_JUNK}, {"wrong", CHAOS_WRONG},
};

int chaos_fault_parse(const char *name, enum chaos_fault *faultp)
{
	for (size_t i = 0; i < sizeof(chaos_faults) / sizeof(chaos_faults[0]); i++) {
		if (strcmp(chaos_faults[i].name, name) == 0) {
			*faultp = chaos_faults[i].fault;
			return 0;
		}
	}
	return -1;
}

/* A call held back by CHAOS_HOLD. The relay's request thread owns msg. */
struct chaos_held {
	nng_msg *msg;
	uint64_t call_id;
	uint64_t due_ms;
};

static uint64_t chaos_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* "testbus.v1.Provisioner" is service "Provisioner". */
static bool chaos_is_method(const Testbus__V1__Request *req, const char *service,
                            const char *method)
{
	const char *dot = strrchr(req->service, '.');
	const char *short_name = dot != NULL ? dot + 1 : req->service;
	return strcmp(short_name, service) == 0 && strcmp(req->method, method) == 0;
}

static bool chaos_marked(const struct chaos_relay *relay)
{
	return relay->marker != NULL && access(relay->marker, F_OK) == 0;
}

/* Writes "<proxy pid> <component pid>" to the marker file, once, atomically. */
static void chaos_mark(struct chaos_relay *relay)
{
	char tmp[4096], line[64];
	if (relay->marker == NULL || chaos_marked(relay))
		return;
	int n = snprintf(line, sizeof(line), "%ld %ld\n", (long)getpid(), (long)relay->component_pid);
	snprintf(tmp, sizeof(tmp), "%s.%ld.tmp", relay->marker, (long)getpid());
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	bool ok = fd >= 0 && write(fd, line, (size_t)n) == n;
	if (fd >= 0 && close(fd) != 0)
		ok = false;
	if (!ok || rename(tmp, relay->marker) != 0)
		fprintf(stderr, "chaos-proxy: cannot write the marker %s: %s\n", relay->marker,
		        strerror(errno));
}

/* Sends body as the answer to request (whose header routes it back). Takes neither. */
static void chaos_answer(struct chaos_relay *relay, nng_msg *request, const void *body,
                         size_t len)
{
	nng_msg *reply;
	if (nng_msg_alloc(&reply, 0) != 0)
		return;
	if (nng_msg_header_append(reply, nng_msg_header(request), nng_msg_header_len(request)) != 0 ||
	    nng_msg_append(reply, body, len) != 0 || nng_sendmsg(relay->front, reply, 0) != 0)
		nng_msg_free(reply);
}

/* Answers request with a Response of code and payload (may be NULL). Takes neither. */
static void chaos_answer_status(struct chaos_relay *relay, nng_msg *request, uint64_t call_id,
                                int code, const char *message, const uint8_t *payload,
                                size_t payload_len)
{
	Testbus__V1__Response resp = TESTBUS__V1__RESPONSE__INIT;
	Testbus__V1__Status status = TESTBUS__V1__STATUS__INIT;
	status.code = (Testbus__V1__StatusCode)code;
	status.message = (char *)message;
	resp.call_id = call_id;
	resp.status = &status;
	resp.payload.data = (uint8_t *)payload;
	resp.payload.len = payload_len;
	size_t len = protobuf_c_message_get_packed_size(&resp.base);
	uint8_t *buf = malloc(len ? len : 1);
	if (buf == NULL)
		return;
	protobuf_c_message_pack(&resp.base, buf);
	chaos_answer(relay, request, buf, len);
	free(buf);
}

/* Bytes that no decoder reads as any message: an invalid tag, then random bytes. */
static void chaos_garbage(uint8_t *buf, size_t len)
{
	if (getrandom(buf, len, 0) != (ssize_t)len)
		memset(buf, 0xa5, len);
	buf[0] = CHAOS_INVALID_TAG;
}

static void chaos_forward(struct chaos_relay *relay, nng_msg *msg)
{
	if (nng_sendmsg(relay->back, msg, 0) != 0)
		nng_msg_free(msg);
}

/* Answers a Cancel of a held call: the held call CANCELLED, the Cancel found. */
static bool chaos_cancel_held(struct chaos_relay *relay, const Testbus__V1__Request *req,
                              nng_msg *msg, struct chaos_held *held, size_t *n_held)
{
	Testbus__V1__CancelRequest *cancel =
	    testbus__v1__cancel_request__unpack(NULL, req->payload.len, req->payload.data);
	bool found = false;
	if (cancel == NULL)
		return false;
	for (size_t i = 0; i < *n_held && !found; i++) {
		if (held[i].call_id != cancel->call_id)
			continue;
		chaos_answer_status(relay, held[i].msg, held[i].call_id, TB_CANCELLED,
		                    "cancelled while held by the chaos proxy", NULL, 0);
		nng_msg_free(held[i].msg);
		held[i] = held[--*n_held];
		found = true;
	}
	testbus__v1__cancel_request__free_unpacked(cancel, NULL);
	if (found) {
		Testbus__V1__CancelReply reply = TESTBUS__V1__CANCEL_REPLY__INIT;
		uint8_t buf[16];
		reply.found = true;
		size_t len = protobuf_c_message_pack(&reply.base, buf);
		chaos_answer_status(relay, msg, req->call_id, TB_OK, "", buf, len);
		nng_msg_free(msg);
	}
	return found;
}

/* Does the fault to a call of the faulted method. Takes msg. */
static void chaos_fault_call(struct chaos_relay *relay, const Testbus__V1__Request *req,
                             nng_msg *msg, struct chaos_held *held, size_t *n_held)
{
	uint8_t garbage[CHAOS_GARBAGE_LEN];
	/* A hold is the stage for one fault from outside (a kill, a signal): a
	 * component started again after it serves the method as it should. */
	if (relay->fault == CHAOS_HOLD && chaos_marked(relay)) {
		chaos_forward(relay, msg);
		return;
	}
	chaos_mark(relay);
	fprintf(stderr, "chaos-proxy: %s.%s call %llu: fault applied\n", req->service, req->method,
	        (unsigned long long)req->call_id);
	switch (relay->fault) {
	case CHAOS_NONE: /* not reached: no call is faulted */
		chaos_forward(relay, msg);
		return;
	case CHAOS_HOLD:
		if (*n_held < CHAOS_MAX_HELD) {
			held[(*n_held)++] = (struct chaos_held){
				.msg = msg, .call_id = req->call_id,
				.due_ms = chaos_now_ms() + relay->hold_ms};
			return;
		}
		chaos_forward(relay, msg);
		return;
	case CHAOS_HANG:
		break;
	case CHAOS_JUNK:
		chaos_garbage(garbage, sizeof(garbage));
		chaos_answer(relay, msg, garbage, sizeof(garbage));
		break;
	case CHAOS_WRONG:
		chaos_garbage(garbage, sizeof(garbage));
		chaos_answer_status(relay, msg, req->call_id, TB_OK, "", garbage, sizeof(garbage));
		break;
	}
	/* Never forwarded: a broken component did none of the work it was asked. */
	nng_msg_free(msg);
}

static void chaos_release_due(struct chaos_relay *relay, struct chaos_held *held, size_t *n_held)
{
	uint64_t now = chaos_now_ms();
	for (size_t i = 0; i < *n_held;) {
		if (held[i].due_ms > now) {
			i++;
			continue;
		}
		chaos_forward(relay, held[i].msg);
		held[i] = held[--*n_held];
	}
}

void *chaos_relay_requests(void *arg)
{
	struct chaos_relay *relay = arg;
	struct chaos_held held[CHAOS_MAX_HELD];
	size_t n_held = 0;
	for (;;) {
		nng_msg *msg;
		int rv = nng_recvmsg(relay->front, &msg, 0);
		chaos_release_due(relay, held, &n_held);
		if (rv == NNG_ETIMEDOUT)
			continue;
		if (rv != 0)
			break;
		Testbus__V1__Request *req = testbus__v1__request__unpack(
		    NULL, nng_msg_len(msg), nng_msg_body(msg));
		if (req == NULL) {
			chaos_forward(relay, msg); /* the component answers what it cannot read */
			continue;
		}
		if (relay->fault != CHAOS_NONE && chaos_is_method(req, relay->service, relay->method))
			chaos_fault_call(relay, req, msg, held, &n_held);
		else if (!(relay->fault == CHAOS_HOLD && chaos_is_method(req, "Component", "Cancel") &&
		           chaos_cancel_held(relay, req, msg, held, &n_held)))
			chaos_forward(relay, msg);
		testbus__v1__request__free_unpacked(req, NULL);
	}
	for (size_t i = 0; i < n_held; i++)
		nng_msg_free(held[i].msg);
	return NULL;
}

void *chaos_relay_answers(void *arg)
{
	struct chaos_relay *relay = arg;
	for (;;) {
		nng_msg *msg;
		int rv = nng_recvmsg(relay->back, &msg, 0);
		if (rv == NNG_ETIMEDOUT)
			continue;
		if (rv != 0)
			break;
		if (nng_sendmsg(relay->front, msg, 0) != 0)
			nng_msg_free(msg);
	}
	return NULL;
}
