/* Request envelopes built for the table, and the status docs/protocol.md promises for them. */
#ifndef TESTBUS_TEST_BADINPUT_ENVELOPE_H
#define TESTBUS_TEST_BADINPUT_ENVELOPE_H

#include <stddef.h>
#include <stdint.h>

#include "testbus/testbus.h"

/* A request as the table sends it; strings and payload are borrowed. */
struct envelope {
	const char *service;
	const char *method;
	uint64_t call_id;
	uint32_t deadline_ms;
	const tb_kv *metadata;
	size_t n_metadata;
	const uint8_t *payload;
	size_t payload_len;
	uint32_t max_response_size;
};

/* What a component serves, as far as its documented answers depend on it. */
struct served {
	const ProtobufCServiceDescriptor *service; /* besides testbus.v1.Component */
	const char *token;                         /* the token it requires; may be NULL */
	/* The code its handler answers to a decodable input of method (of
	 * `service`); the table's real requests are all answered OK. */
	int (*handler_code)(const char *method, const ProtobufCMessage *input);
};

/* A set of status codes, one bit per code. */
typedef uint32_t code_set;
#define CODE_BIT(code) ((code_set)1u << (code))

/* Packs e. Caller owns *bufp (free()). Returns 0, or -1 when out of memory. */
int envelope_pack(const struct envelope *e, uint8_t **bufp, size_t *lenp);

/*
 * The codes docs/protocol.md allows a component serving s to answer to these
 * request bytes, in the order the component checks: the envelope decodes
 * (else INVALID_ARGUMENT), the token (UNAUTHENTICATED), the service and
 * method (UNIMPLEMENTED), the payload decodes as the method's input
 * (INVALID_ARGUMENT), then the handler. An answer over the request's
 * max_response_size may become RESOURCE_EXHAUSTED.
 */
code_set envelope_documented(const struct served *s, const void *buf, size_t len);

/* The names of the codes in set, joined by '|', into buf. */
void code_set_text(code_set set, char *buf, size_t size);

#endif
