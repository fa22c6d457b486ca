/* Calls on a connection: envelope, deadline, exchange, retries, answer. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "conn.h"

#define CALL_ANSWER_GRACE_MS 500

static _Atomic uint64_t call_counter;
static uint64_t call_base;
static pthread_once_t call_base_once = PTHREAD_ONCE_INIT;

static void call_init_base(void)
{
	if (getrandom(&call_base, sizeof(call_base), 0) != (ssize_t)sizeof(call_base))
		call_base = (uint64_t)tbi_wall_ms() * 2654435761u ^ (uint64_t)getpid();
}

uint64_t tb_new_call_id(void)
{
	pthread_once(&call_base_once, call_init_base);
	uint64_t id;
	do {
		id = call_base + atomic_fetch_add(&call_counter, 1) + 1;
	} while (id == 0);
	return id;
}

/* Builds the envelope; strings are borrowed from the arguments. */
static int call_build_request(tb_conn *conn, const char *service, const char *method,
                              const uint8_t *payload, size_t len, uint64_t call_id,
                              const tb_call_opts *opts, uint32_t deadline_ms,
                              uint8_t **bufp, size_t *lenp)
{
	Testbus__V1__Request req = TESTBUS__V1__REQUEST__INIT;
	size_t n_meta = (opts ? opts->n_metadata : 0) + (conn->token ? 1 : 0);
	Testbus__V1__Request__MetadataEntry *entries = NULL;
	Testbus__V1__Request__MetadataEntry **ptrs = NULL;
	int rv;
	req.service = (char *)service;
	req.method = (char *)method;
	req.call_id = call_id;
	req.deadline_ms = deadline_ms;
	req.payload.data = (uint8_t *)payload;
	req.payload.len = len;
	req.max_response_size = atomic_load(&conn->max_msg);
	if (n_meta > 0) {
		entries = calloc(n_meta, sizeof(*entries));
		ptrs = calloc(n_meta, sizeof(*ptrs));
		if (entries == NULL || ptrs == NULL) {
			rv = TB_RESOURCE_EXHAUSTED;
			goto out;
		}
		size_t i = 0;
		for (size_t j = 0; opts && j < opts->n_metadata; j++, i++) {
			testbus__v1__request__metadata_entry__init(&entries[i]);
			entries[i].key = (char *)opts->metadata[j].key;
			entries[i].value = (char *)opts->metadata[j].value;
			ptrs[i] = &entries[i];
		}
		if (conn->token != NULL) {
			testbus__v1__request__metadata_entry__init(&entries[i]);
			entries[i].key = (char *)TB_META_TOKEN;
			entries[i].value = conn->token;
			ptrs[i] = &entries[i];
		}
		req.n_metadata = n_meta;
		req.metadata = ptrs;
	}
	rv = tbi_pack_buf(&req.base, bufp, lenp);
out:
	free(entries);
	free(ptrs);
	return rv;
}

/* One send and receive on the slot's context, bounded by the deadline. */
static int call_exchange(tb_conn *conn, struct conn_slot *slot, const uint8_t *req,
                         size_t req_len, uint64_t deadline, nng_msg **replyp)
{
	nng_msg *msg;
	int rv = nng_msg_alloc(&msg, req_len);
	if (rv != 0)
		return rv;
	memcpy(nng_msg_body(msg), req, req_len);
	uint64_t now = tbi_clock_ms();
	if (now >= deadline) {
		nng_msg_free(msg);
		return NNG_ETIMEDOUT;
	}
	nng_aio_set_timeout(slot->aio, (nng_duration)(deadline - now));
	nng_aio_set_msg(slot->aio, msg);
	if ((rv = tbi_conn_start(conn, slot, true)) == 0) {
		nng_aio_wait(slot->aio);
		rv = nng_aio_result(slot->aio);
	}
	if (rv != 0) {
		nng_msg_free(msg); /* a failed send leaves the message with us */
		return rv;
	}
	/* The component enforces the same deadline and then answers
	 * DEADLINE_EXCEEDED itself: wait a little past it for that answer, so
	 * that it is not left arriving after the caller gave up (NNG 1.5.2 can
	 * hang closing a requester that a late answer reached). */
	now = tbi_clock_ms();
	nng_aio_set_timeout(slot->aio, (nng_duration)((now >= deadline ? 0 : deadline - now) +
	                                              CALL_ANSWER_GRACE_MS));
	if ((rv = tbi_conn_start(conn, slot, false)) != 0)
		return rv;
	nng_aio_wait(slot->aio);
	if ((rv = nng_aio_result(slot->aio)) != 0)
		return rv;
	*replyp = nng_aio_get_msg(slot->aio);
	/* The pipe callbacks may lag behind the first answer: note the peer
	 * from the pipe that answered. */
	tbi_conn_note_peer(conn, nng_msg_get_pipe(*replyp));
	return 0;
}

/* Turns a transport failure into a status that says what happened. */
static int call_transport_error(tb_conn *conn, int nrv, bool lost, uint32_t deadline_ms,
                                tb_status *st)
{
	int pipes;
	bool ever;
	if (lost || nrv == NNG_ECONNRESET || nrv == NNG_ECONNSHUT)
		return tb_status_set(st, TB_UNAVAILABLE, "connection to %s lost during the call",
		                     conn->url);
	if (nrv == NNG_ECLOSED)
		return tb_status_set(st, TB_CANCELLED, "connection to %s closed", conn->url);
	if (nrv == NNG_ETIMEDOUT) {
		tbi_conn_state(conn, &pipes, &ever);
		if (pipes == 0)
			return tb_status_set(st, TB_UNAVAILABLE, "%s %s within %u ms",
			                     ever ? "lost the connection to" : "could not connect to",
			                     conn->url, deadline_ms);
		return tb_status_set(st, TB_DEADLINE_EXCEEDED, "no answer from %s within %u ms",
		                     conn->url, deadline_ms);
	}
	return tbi_status_nng(st, nrv, "call to", conn->url);
}

/* Reads the answer envelope. Caller owns *outp (free()). */
static int call_read_response(tb_conn *conn, nng_msg *reply, uint64_t call_id, uint8_t **outp,
                              size_t *outlenp, tb_status *st)
{
	Testbus__V1__Response *resp = testbus__v1__response__unpack(NULL, nng_msg_len(reply),
	                                                             nng_msg_body(reply));
	int rv;
	if (resp == NULL)
		return tb_status_set(st, TB_DATA_LOSS, "undecodable answer from %s", conn->url);
	if (resp->call_id != call_id && resp->call_id != 0) {
		rv = tb_status_set(st, TB_DATA_LOSS, "answer from %s is for another call", conn->url);
		goto out;
	}
	int code = resp->status ? (int)resp->status->code : TB_OK;
	if (code != TB_OK) {
		char details[256] = "";
		size_t used = 0;
		for (size_t i = 0; resp->status && i < resp->status->n_details && used < sizeof(details); i++)
			used += (size_t)snprintf(details + used, sizeof(details) - used, "%s%s",
			                         i ? "; " : " (", resp->status->details[i]);
		if (used > 0 && used < sizeof(details) - 1)
			strcat(details, ")");
		rv = tb_status_set(st, code, "%s%s",
		                   resp->status->message && resp->status->message[0]
		                       ? resp->status->message
		                       : tb_strerror(code),
		                   details);
		goto out;
	}
	uint8_t *out = NULL;
	if (resp->payload.len > 0) {
		out = malloc(resp->payload.len);
		if (out == NULL) {
			rv = tb_status_set(st, TB_RESOURCE_EXHAUSTED, "out of memory");
			goto out;
		}
		memcpy(out, resp->payload.data, resp->payload.len);
	}
	*outp = out;
	*outlenp = resp->payload.len;
	tb_status_clear(st);
	rv = TB_OK;
out:
	testbus__v1__response__free_unpacked(resp, NULL);
	return rv;
}

int tb_invoke_raw(tb_conn *conn, const char *service, const char *method, const uint8_t *payload,
                size_t len, uint8_t **outp, size_t *outlenp, const tb_call_opts *opts,
                tb_status *st)
{
	uint8_t *req = NULL;
	size_t req_len = 0;
	struct conn_slot *slot = NULL;
	nng_msg *reply = NULL;
	int rv;
	*outp = NULL;
	*outlenp = 0;
	uint32_t deadline_ms = opts && opts->deadline_ms ? opts->deadline_ms
	                                                 : tb_default_deadline_ms(service, method);
	uint64_t deadline = tbi_clock_ms() + deadline_ms;
	uint64_t call_id = opts && opts->call_id ? opts->call_id : tb_new_call_id();
	if (opts && opts->call_id_out)
		*opts->call_id_out = call_id;
	rv = call_build_request(conn, service, method, payload, len, call_id, opts, deadline_ms,
	                        &req, &req_len);
	if (rv != TB_OK) {
		tb_status_set(st, rv, "cannot build the request");
		goto out;
	}
	/* Checked here because an oversized message makes NNG drop the
	 * connection, and the caller would only ever see a timeout. */
	uint32_t limit = atomic_load(&conn->max_msg);
	if (req_len > limit) {
		rv = tb_status_set(st, TB_RESOURCE_EXHAUSTED,
		                   "request of %zu bytes exceeds the limit of %u bytes", req_len, limit);
		goto out;
	}
	if ((rv = tbi_conn_slot_get(conn, &slot, st)) != TB_OK)
		goto out;
	unsigned retries = opts ? opts->retries : 0;
	for (unsigned attempt = 0;; attempt++) {
		struct conn_call call = {.slot = slot};
		tbi_conn_track(conn, &call);
		int nrv = call_exchange(conn, slot, req, req_len, deadline, &reply);
		bool lost = tbi_conn_untrack(conn, &call);
		if (nrv == 0)
			break;
		rv = call_transport_error(conn, nrv, lost && nrv != NNG_ECLOSED, deadline_ms, st);
		if (rv != TB_UNAVAILABLE || attempt >= retries ||
		    !tbi_conn_wait_connected(conn, deadline))
			goto out;
	}
	rv = call_read_response(conn, reply, call_id, outp, outlenp, st);
out:
	if (reply != NULL)
		nng_msg_free(reply);
	if (slot != NULL)
		tbi_conn_slot_put(conn, slot);
	free(req);
	return rv;
}

int tb_invoke(tb_conn *conn, const ProtobufCServiceDescriptor *service, const char *method,
            const ProtobufCMessage *input, ProtobufCMessage **outputp, const tb_call_opts *opts,
            tb_status *st)
{
	uint8_t *in = NULL, *out = NULL;
	size_t in_len = 0, out_len = 0;
	int rv;
	*outputp = NULL;
	int idx = tbi_method_index(service, method);
	if (idx < 0)
		return tb_status_set(st, TB_INVALID_ARGUMENT, "%s has no method %s",
		                     service ? service->name : "(null)", method ? method : "(null)");
	const ProtobufCMethodDescriptor *m = &service->methods[idx];
	if (input == NULL || input->descriptor != m->input)
		return tb_status_set(st, TB_INVALID_ARGUMENT, "%s/%s takes a %s", service->name,
		                     method, m->input->name);
	if ((rv = tbi_pack_buf(input, &in, &in_len)) != TB_OK)
		return tb_status_set(st, rv, "out of memory");
	rv = tb_invoke_raw(conn, service->name, method, in, in_len, &out, &out_len, opts, st);
	if (rv != TB_OK)
		goto out;
	ProtobufCMessage *msg = protobuf_c_message_unpack(m->output, NULL, out_len, out);
	if (msg == NULL) {
		rv = tb_status_set(st, TB_DATA_LOSS, "undecodable %s from %s", m->output->name,
		                   conn->url);
		goto out;
	}
	*outputp = msg;
out:
	free(in);
	free(out);
	return rv;
}
