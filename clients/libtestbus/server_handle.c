/* Serving one request: envelope, identity, dispatch, de-duplication, answer. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server_internal.h"

/* Everything one request needs while it is handled. */
struct request_ctx {
	tb_server *srv;
	tb_arena *arena;
	const Testbus__V1__Request *req; /* in the arena */
	uint64_t call_id;
	uint64_t deadline;
	size_t limit; /* largest answer we may send */
};

static nng_msg *handle_answer(const struct request_ctx *rc, int code, const char *message,
                              const uint8_t *payload, size_t len)
{
	Testbus__V1__Response resp = TESTBUS__V1__RESPONSE__INIT;
	Testbus__V1__Status status = TESTBUS__V1__STATUS__INIT;
	char buf[TB_STATUS_MESSAGE_MAX + 64];
	resp.call_id = rc->call_id;
	resp.status = &status;
	status.code = (Testbus__V1__StatusCode)code;
	status.message = (char *)(message ? message : "");
	if (code == TB_OK) {
		resp.payload.data = (uint8_t *)payload;
		resp.payload.len = len;
	}
	nng_msg *msg = NULL;
	if (tbi_pack_nng(&resp.base, rc->limit, &msg, NULL) == TB_OK)
		return msg;
	/* Too big for the caller: answer that instead of a message NNG would
	 * drop along with the connection. */
	snprintf(buf, sizeof(buf), "answer of %zu bytes exceeds the caller's limit of %zu bytes",
	         protobuf_c_message_get_packed_size(&resp.base), rc->limit);
	resp.payload.data = NULL;
	resp.payload.len = 0;
	status.code = TESTBUS__V1__STATUS_CODE__RESOURCE_EXHAUSTED;
	status.message = buf;
	if (tbi_pack_nng(&resp.base, SIZE_MAX, &msg, NULL) == TB_OK)
		return msg;
	return NULL;
}

static bool handle_token_ok(const tb_server *srv, const Testbus__V1__Request *req)
{
	if (srv->token == NULL)
		return true;
	const char *got = tb_map_get(req->metadata, req->n_metadata, TB_META_TOKEN);
	if (got == NULL)
		return false;
	size_t a = strlen(got), b = strlen(srv->token);
	unsigned char diff = (unsigned char)(a != b);
	/* Compare in constant time over the expected token's length. */
	for (size_t i = 0; i < b; i++)
		diff |= (unsigned char)(srv->token[i] ^ (i < a ? got[i] : 0));
	return diff == 0;
}

static const struct server_service *handle_find_service(const tb_server *srv, const char *name)
{
	for (size_t i = 0; name != NULL && i < srv->n_services; i++) {
		if (strcmp(srv->services[i].desc->name, name) == 0)
			return &srv->services[i];
	}
	return NULL;
}

static void handle_track(tb_server *srv, tb_call *call)
{
	pthread_mutex_lock(&srv->mu);
	call->next = srv->running;
	if (srv->running != NULL)
		srv->running->prev = call;
	srv->running = call;
	if (atomic_load(&srv->stopping))
		atomic_store(&call->cancelled, true);
	pthread_mutex_unlock(&srv->mu);
}

void tbi_server_untrack(tb_server *srv, tb_call *call, bool service_call, const nng_msg *answer)
{
	pthread_mutex_lock(&srv->mu);
	if (call->prev != NULL)
		call->prev->next = call->next;
	else
		srv->running = call->next;
	if (call->next != NULL)
		call->next->prev = call->prev;
	if (service_call) {
		srv->n_running--;
		if (call->id != 0 && answer != NULL)
			tbi_dedup_finish(&srv->dedup, call->id, nng_msg_body((nng_msg *)answer),
			                 nng_msg_len((nng_msg *)answer), tbi_clock_ms());
		else if (call->id != 0)
			tbi_dedup_forget(&srv->dedup, call->id);
	}
	pthread_cond_broadcast(&srv->cv);
	pthread_mutex_unlock(&srv->mu);
}

int tbi_server_invoke(tb_server *srv, tb_call *call, const ProtobufCMethodDescriptor *m,
                      tb_handler_fn fn, const ProtobufCMessage *input,
                      ProtobufCMessage **outputp, const char **messagep)
{
	ProtobufCMessage *output = NULL;
	handle_track(srv, call);
	int code = fn(call, input, &output, srv->arg);
	int stop = tb_call_stop_code(call);
	const char *message = call->error[0] ? call->error : NULL;
	if (code == TB_OK && stop == TB_DEADLINE_EXCEEDED) {
		code = TB_DEADLINE_EXCEEDED; /* the caller has stopped waiting */
		message = "the call ran past its deadline";
	} else if (code != TB_OK && stop == TB_DEADLINE_EXCEEDED) {
		code = TB_DEADLINE_EXCEEDED;
	} else if (code == TB_OK && (output == NULL || output->descriptor != m->output)) {
		code = TB_INTERNAL;
		message = "the handler gave no answer of the method's type";
	}
	if (code != TB_OK && message == NULL)
		message = tb_strerror(code);
	*outputp = code == TB_OK ? output : NULL;
	*messagep = message;
	return code;
}

/* Runs the handler and packs its answer. */
static nng_msg *handle_invoke(struct request_ctx *rc, const ProtobufCMethodDescriptor *m,
                              tb_handler_fn fn, const ProtobufCMessage *input, bool service_call)
{
	tb_server *srv = rc->srv;
	tb_call call = {
		.srv = srv, .id = rc->call_id, .deadline = rc->deadline,
		.arena = rc->arena, .req = rc->req,
	};
	ProtobufCMessage *output = NULL;
	const char *message = NULL;
	uint8_t *payload = NULL;
	size_t len = 0;
	int code = tbi_server_invoke(srv, &call, m, fn, input, &output, &message);
	if (code == TB_OK && tbi_pack_buf(output, &payload, &len) != TB_OK) {
		code = TB_RESOURCE_EXHAUSTED;
		message = "out of memory packing the answer";
	}
	nng_msg *answer = handle_answer(rc, code, message, payload, len);
	free(payload);
	tbi_server_untrack(srv, &call, service_call, answer);
	return answer;
}

/*
 * Guards a service call by its id: a re-sent call waits for the first one's
 * answer instead of running again. Returns an answer to send now, or NULL
 * with *runp set when this request should run the handler.
 */
static nng_msg *handle_admit(struct request_ctx *rc, bool *runp)
{
	tb_server *srv = rc->srv;
	nng_msg *answer = NULL;
	*runp = false;
	pthread_mutex_lock(&srv->mu);
	enum dedup_state state = rc->call_id ? tbi_dedup_begin(&srv->dedup, rc->call_id)
	                                     : DEDUP_NEW;
	while (state == DEDUP_RUNNING && tbi_clock_ms() < rc->deadline) {
		struct timespec until = tbi_abstime(rc->deadline);
		pthread_cond_timedwait(&srv->cv, &srv->mu, &until);
		size_t len;
		bool known;
		if (tbi_dedup_answer(&srv->dedup, rc->call_id, &len, &known) != NULL)
			state = DEDUP_DONE;
		else if (!known) /* the first one failed to answer: run it now */
			state = tbi_dedup_begin(&srv->dedup, rc->call_id);
	}
	if (state == DEDUP_DONE) {
		size_t len = 0;
		bool known;
		const uint8_t *cached = tbi_dedup_answer(&srv->dedup, rc->call_id, &len, &known);
		if (cached != NULL && nng_msg_alloc(&answer, len) == 0)
			memcpy(nng_msg_body(answer), cached, len);
	} else if (state == DEDUP_RUNNING) {
		answer = handle_answer(rc, TB_DEADLINE_EXCEEDED,
		                       "deadline passed while the same call was still running", NULL, 0);
	} else if (srv->n_running >= srv->capacity) {
		if (rc->call_id)
			tbi_dedup_forget(&srv->dedup, rc->call_id);
		char msg[96];
		snprintf(msg, sizeof(msg), "busy: all %u slots in use", srv->capacity);
		answer = handle_answer(rc, TB_RESOURCE_EXHAUSTED, msg, NULL, 0);
	} else {
		srv->n_running++;
		*runp = true;
	}
	pthread_mutex_unlock(&srv->mu);
	return answer;
}

static nng_msg *handle_dispatch(struct request_ctx *rc)
{
	tb_server *srv = rc->srv;
	const Testbus__V1__Request *req = rc->req;
	char msg[TB_STATUS_MESSAGE_MAX];
	if (!handle_token_ok(srv, req))
		return handle_answer(rc, TB_UNAUTHENTICATED, "missing or wrong identity token", NULL, 0);
	if (atomic_load(&srv->stopping))
		return handle_answer(rc, TB_UNAVAILABLE, "the component is shutting down", NULL, 0);
	const struct server_service *svc = handle_find_service(srv, req->service);
	int idx = svc ? tbi_method_index(svc->desc, req->method) : -1;
	if (idx < 0 || svc->handlers[idx] == NULL) {
		snprintf(msg, sizeof(msg), "%s %s/%s is not served by %s",
		         svc == NULL ? "service" : "method", req->service ? req->service : "",
		         req->method ? req->method : "", srv->name);
		return handle_answer(rc, TB_UNIMPLEMENTED, msg, NULL, 0);
	}
	const ProtobufCMethodDescriptor *m = &svc->desc->methods[idx];
	ProtobufCAllocator alloc = tb_arena_allocator(rc->arena);
	ProtobufCMessage *input =
	    protobuf_c_message_unpack(m->input, &alloc, req->payload.len, req->payload.data);
	if (input == NULL) {
		snprintf(msg, sizeof(msg), "cannot decode the %s for %s/%s", m->input->name,
		         req->service, req->method);
		return handle_answer(rc, TB_INVALID_ARGUMENT, msg, NULL, 0);
	}
	if (svc->control)
		return handle_invoke(rc, m, svc->handlers[idx], input, false);
	bool run;
	nng_msg *answer = handle_admit(rc, &run);
	if (!run)
		return answer;
	return handle_invoke(rc, m, svc->handlers[idx], input, true);
}

nng_msg *tbi_server_handle(tb_server *srv, nng_msg *msg)
{
	struct request_ctx rc = {.srv = srv, .limit = srv->max_msg};
	nng_msg *answer = NULL;
	if (tb_arena_alloc(&rc.arena) != TB_OK) {
		nng_msg_free(msg);
		return NULL;
	}
	ProtobufCAllocator alloc = tb_arena_allocator(rc.arena);
	rc.req = testbus__v1__request__unpack(&alloc, nng_msg_len(msg), nng_msg_body(msg));
	nng_msg_free(msg);
	if (rc.req == NULL) {
		answer = handle_answer(&rc, TB_INVALID_ARGUMENT, "undecodable request envelope", NULL, 0);
		goto out;
	}
	rc.call_id = rc.req->call_id;
	if (rc.req->max_response_size > 0 && rc.req->max_response_size < rc.limit)
		rc.limit = rc.req->max_response_size;
	uint32_t budget = rc.req->deadline_ms ? rc.req->deadline_ms
	                                      : tb_default_deadline_ms(rc.req->service, rc.req->method);
	rc.deadline = tbi_clock_ms() + budget;
	answer = handle_dispatch(&rc);
out:
	tb_arena_free(rc.arena);
	return answer;
}
