/*
 * Fuzz target: the JSON converter of `testbus call` (tb_json_parse_message),
 * for the input message of every method `testbus call` can send. What is
 * accepted must survive a round trip: formatted back to JSON and parsed
 * again, it packs to the same bytes.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_bus.h"
#include "json_pb.h"
#include "testbus/testbus.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const ProtobufCServiceDescriptor *const json_services[] = {
	&testbus__v1__provisioner__descriptor, &testbus__v1__executor__descriptor,
	&testbus__v1__analyzer__descriptor,    &testbus__v1__reporter__descriptor,
	&testbus__v1__component__descriptor,
};

/* Packs msg into a new buffer; NULL when out of memory. */
static uint8_t *json_pack(const ProtobufCMessage *msg, size_t *lenp)
{
	*lenp = protobuf_c_message_get_packed_size(msg);
	uint8_t *buf = malloc(*lenp > 0 ? *lenp : 1);
	if (buf != NULL)
		protobuf_c_message_pack(msg, buf);
	return buf;
}

static void json_round_trip(const ProtobufCMessageDescriptor *desc, const uint8_t *data,
                            size_t size)
{
	ProtobufCMessage *msg = NULL, *again = NULL;
	char *text = NULL;
	uint8_t *packed = NULL, *repacked = NULL;
	size_t len = 0, relen = 0;
	unsigned flags = size > 0 && data[0] == ' ' ? TB_JSON_EMIT_DEFAULTS : 0;
	tb_status st;
	if (tb_json_parse_message(desc, (const char *)data, size, &msg, &st) != TB_OK)
		return;
	if (tb_json_format_message(msg, flags, &text, &st) != TB_OK)
		goto out; /* out of memory */
	fuzz_require(tb_json_parse_message(desc, text, strlen(text), &again, &st) == TB_OK,
	             "formatted JSON parses again");
	packed = json_pack(msg, &len);
	repacked = json_pack(again, &relen);
	if (packed != NULL && repacked != NULL)
		fuzz_require(len == relen && memcmp(packed, repacked, len) == 0,
		             "a JSON round trip keeps the message");
out:
	free(packed);
	free(repacked);
	free(text);
	if (again != NULL)
		protobuf_c_message_free_unpacked(again, NULL);
	protobuf_c_message_free_unpacked(msg, NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	for (size_t s = 0; s < sizeof(json_services) / sizeof(json_services[0]); s++) {
		const ProtobufCServiceDescriptor *svc = json_services[s];
		for (unsigned m = 0; m < svc->n_methods; m++)
			json_round_trip(svc->methods[m].input, data, size);
	}
	return 0;
}
