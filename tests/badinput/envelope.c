/* Request envelopes built for the table, and the status docs/protocol.md promises for them. */
#include "envelope.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int envelope_pack(const struct envelope *e, uint8_t **bufp, size_t *lenp)
{
	Testbus__V1__Request req = TESTBUS__V1__REQUEST__INIT;
	Testbus__V1__Request__MetadataEntry *entries = NULL, **entry_ptrs = NULL;
	uint8_t *buf = NULL;
	int rv = -1;
	req.service = (char *)(e->service ? e->service : "");
	req.method = (char *)(e->method ? e->method : "");
	req.call_id = e->call_id;
	req.deadline_ms = e->deadline_ms;
	req.payload.data = (uint8_t *)e->payload;
	req.payload.len = e->payload_len;
	req.max_response_size = e->max_response_size;
	if (e->n_metadata > 0) {
		entries = calloc(e->n_metadata, sizeof(*entries));
		entry_ptrs = calloc(e->n_metadata, sizeof(*entry_ptrs));
		if (entries == NULL || entry_ptrs == NULL)
			goto out;
		for (size_t i = 0; i < e->n_metadata; i++) {
			testbus__v1__request__metadata_entry__init(&entries[i]);
			entries[i].key = (char *)e->metadata[i].key;
			entries[i].value = (char *)e->metadata[i].value;
			entry_ptrs[i] = &entries[i];
		}
		req.metadata = entry_ptrs;
		req.n_metadata = e->n_metadata;
	}
	size_t len = testbus__v1__request__get_packed_size(&req);
	if ((buf = malloc(len ? len : 1)) == NULL)
		goto out;
	testbus__v1__request__pack(&req, buf);
	*bufp = buf;
	*lenp = len;
	rv = 0;
out:
	free(entries);
	free(entry_ptrs);
	return rv;
}

static const char *envelope_meta(const Testbus__V1__Request *req, const char *key)
{
	for (size_t i = 0; i < req->n_metadata; i++) {
		if (req->metadata[i]->key != NULL && strcmp(req->metadata[i]->key, key) == 0)
			return req->metadata[i]->value;
	}
	return NULL;
}

/* The method of a served service named by the request, or NULL. */
static const ProtobufCMethodDescriptor *envelope_method(const struct served *s,
                                                       const Testbus__V1__Request *req,
                                                       bool *componentp)
{
	const ProtobufCServiceDescriptor *services[] = {&testbus__v1__component__descriptor,
	                                                s->service};
	for (size_t i = 0; i < 2; i++) {
		if (strcmp(req->service, services[i]->name) != 0)
			continue;
		*componentp = i == 0;
		for (unsigned m = 0; m < services[i]->n_methods; m++) {
			if (strcmp(req->method, services[i]->methods[m].name) == 0)
				return &services[i]->methods[m];
		}
	}
	return NULL;
}

static int envelope_code(const struct served *s, const Testbus__V1__Request *req)
{
	if (s->token != NULL) {
		const char *token = envelope_meta(req, TB_META_TOKEN);
		if (token == NULL || strcmp(token, s->token) != 0)
			return TB_UNAUTHENTICATED;
	}
	bool component = false;
	const ProtobufCMethodDescriptor *m = envelope_method(s, req, &component);
	if (m == NULL)
		return TB_UNIMPLEMENTED;
	ProtobufCMessage *input =
	    protobuf_c_message_unpack(m->input, NULL, req->payload.len, req->payload.data);
	if (input == NULL)
		return TB_INVALID_ARGUMENT;
	/* Describe and Health answer whatever their (empty) input. */
	int code = component ? TB_OK : s->handler_code(m->name, input);
	protobuf_c_message_free_unpacked(input, NULL);
	return code;
}

code_set envelope_documented(const struct served *s, const void *buf, size_t len)
{
	Testbus__V1__Request *req = testbus__v1__request__unpack(NULL, len, buf);
	if (req == NULL)
		return CODE_BIT(TB_INVALID_ARGUMENT);
	code_set set = CODE_BIT(envelope_code(s, req));
	if (req->max_response_size > 0)
		set |= CODE_BIT(TB_RESOURCE_EXHAUSTED);
	testbus__v1__request__free_unpacked(req, NULL);
	return set;
}

void code_set_text(code_set set, char *buf, size_t size)
{
	size_t used = 0;
	buf[0] = '\0';
	for (int code = 0; code <= TB_UNAUTHENTICATED; code++) {
		if ((set & CODE_BIT(code)) == 0)
			continue;
		int n = snprintf(buf + used, size - used, "%s%s", used ? "|" : "", tb_strerror(code));
		if (n < 0 || (size_t)n >= size - used)
			break;
		used += (size_t)n;
	}
}
