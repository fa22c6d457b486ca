/* Rows: malformed, truncated and empty envelopes, bad payloads, unknown names, the token. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "probe.h"
#include "rows.h"

#define RANDOM_ROUNDS 16
#define RANDOM_BYTES 512
#define RANDOM_SEED 20261125u
/* Call ids of one fixed varint length, so every cut of the request is the
 * same bytes up to the cut, and each cut is a new call for de-duplication. */
#define CUT_CALL_ID_BASE (1ull << 56)
#define GOOD_DEADLINE_MS 30000

/* A request as a trusted caller of t would send it; payload borrowed. */
struct request {
	struct envelope env;
	tb_kv metadata[2];
	uint8_t *payload; /* owned: the packed good input */
};

static void request_init(struct request *r, const struct target *t)
{
	memset(r, 0, sizeof(*r));
	size_t len = protobuf_c_message_get_packed_size(t->good_input);
	r->payload = malloc(len ? len : 1);
	if (r->payload != NULL)
		protobuf_c_message_pack(t->good_input, r->payload);
	r->metadata[0] = (tb_kv){TB_META_RUN_ID, "badinput"};
	r->metadata[1] = (tb_kv){TB_META_TOKEN, t->served.token};
	r->env = (struct envelope){
		.service = t->served.service->name, .method = t->method,
		.call_id = tb_new_call_id(), .deadline_ms = GOOD_DEADLINE_MS,
		.metadata = r->metadata, .n_metadata = t->served.token ? 2 : 1,
		.payload = r->payload, .payload_len = r->payload ? len : 0,
	};
}

static void request_fini(struct request *r)
{
	free(r->payload);
}

/* Packs env, sends it as one input of a row and tallies it. */
static void send_envelope(struct tally *tally, struct target *t, const struct envelope *env,
                          struct expect e, const char *label)
{
	uint8_t *buf = NULL;
	size_t len = 0;
	if (envelope_pack(env, &buf, &len) != 0) {
		fprintf(stderr, "out of memory packing %s\n", label);
		exit(1);
	}
	probe_send(tally, t, NULL, target_client_tls(t), buf, len, e, label);
	free(buf);
}

/* A row of one envelope. */
static void row_of_envelope(struct table *table, struct target *t, const char *input,
                            const struct envelope *env, struct expect e)
{
	struct tally tally = {0};
	send_envelope(&tally, t, env, e, input);
	probe_fill_row(table_add(table, t->name, input), &tally);
}

static void row_random_bytes(struct table *table, struct target *t)
{
	struct tally tally = {0};
	uint8_t bytes[RANDOM_BYTES];
	char label[64];
	srand(RANDOM_SEED);
	for (int round = 0; round < RANDOM_ROUNDS; round++) {
		for (size_t i = 0; i < sizeof(bytes); i++)
			bytes[i] = (uint8_t)rand();
		snprintf(label, sizeof(label), "random bytes #%d", round);
		probe_send(&tally, t, NULL, target_client_tls(t), bytes, sizeof(bytes),
		           expect_codes(envelope_documented(&t->served, bytes, sizeof(bytes))), label);
	}
	snprintf(label, sizeof(label), "%d x %d random bytes (seed %u)", RANDOM_ROUNDS,
	         RANDOM_BYTES, RANDOM_SEED);
	probe_fill_row(table_add(table, t->name, label), &tally);
}

/* The real request of t's kind cut at every length from 1 byte to one short. */
static void row_every_cut(struct table *table, struct target *t)
{
	struct tally tally = {0};
	struct request req;
	char label[96];
	size_t whole = 0;
	request_init(&req, t);
	for (size_t cut = 1; whole == 0 || cut < whole; cut++) {
		uint8_t *buf = NULL;
		req.env.call_id = CUT_CALL_ID_BASE + cut;
		if (envelope_pack(&req.env, &buf, &whole) != 0)
			break;
		snprintf(label, sizeof(label), "%s cut at %zu of %zu bytes", t->method, cut, whole);
		probe_send(&tally, t, NULL, target_client_tls(t), buf, cut,
		           expect_codes(envelope_documented(&t->served, buf, cut)), label);
		free(buf);
	}
	snprintf(label, sizeof(label), "%s request (%zu B) cut at every length", t->method, whole);
	probe_fill_row(table_add(table, t->name, label), &tally);
	request_fini(&req);
}

static void row_empty_message(struct table *table, struct target *t)
{
	struct tally tally = {0};
	/* It decodes as a Request naming no service, and carrying no token. */
	code_set documented = CODE_BIT(t->served.token ? TB_UNAUTHENTICATED : TB_UNIMPLEMENTED);
	probe_send(&tally, t, NULL, target_client_tls(t), "", 0, expect_codes(documented),
	           "empty message");
	probe_fill_row(table_add(table, t->name, "empty message (0 bytes)"), &tally);
}

static void rows_bad_payload(struct table *table, struct target *t)
{
	struct request req;
	char label[96];
	static const uint8_t garbage[] = {0x0a, 0xff, 0x01}; /* field 1, 255 bytes long, 1 there */
	request_init(&req, t);
	req.env.payload = garbage;
	req.env.payload_len = sizeof(garbage);
	snprintf(label, sizeof(label), "%s with a garbage payload", t->method);
	row_of_envelope(table, t, label, &req.env, expect_codes(CODE_BIT(TB_INVALID_ARGUMENT)));
	/* Its last field loses its last byte. */
	req.env.payload = req.payload;
	req.env.payload_len = protobuf_c_message_get_packed_size(t->good_input) - 1;
	req.env.call_id = tb_new_call_id();
	snprintf(label, sizeof(label), "%s with its payload 1 byte short", t->method);
	row_of_envelope(table, t, label, &req.env, expect_codes(CODE_BIT(TB_INVALID_ARGUMENT)));
	request_fini(&req);
}

static void rows_unknown_names(struct table *table, struct target *t)
{
	struct request req;
	char label[96];
	request_init(&req, t);
	req.env.payload = NULL;
	req.env.payload_len = 0;
	req.env.service = "testbus.v1.Nope";
	req.env.method = "Describe";
	row_of_envelope(table, t, "unknown service testbus.v1.Nope", &req.env,
	                expect_codes(CODE_BIT(TB_UNIMPLEMENTED)));
	req.env.service = t->served.service->name;
	req.env.method = "Explode";
	snprintf(label, sizeof(label), "unknown method %s/Explode", t->served.service->name);
	row_of_envelope(table, t, label, &req.env, expect_codes(CODE_BIT(TB_UNIMPLEMENTED)));
	req.env.service = "testbus.v1.Provisioner";
	req.env.method = "Provision";
	row_of_envelope(table, t, "another kind's method Provisioner/Provision", &req.env,
	                expect_codes(CODE_BIT(TB_UNIMPLEMENTED)));
	request_fini(&req);
}

/* Describe with a twist: an unknown metadata key, a tiny answer limit. */
static void rows_describe_variants(struct table *table, struct target *t)
{
	struct request req;
	request_init(&req, t);
	req.env.service = "testbus.v1.Component";
	req.env.method = "Describe";
	req.env.payload = NULL;
	req.env.payload_len = 0;
	/* The version is agreed at Describe; unknown metadata keys are ignored. */
	req.metadata[0] = (tb_kv){"protocol-version", "99"};
	row_of_envelope(table, t, "Describe with metadata protocol-version=99", &req.env,
	                expect_codes(CODE_BIT(TB_OK)));
	req.metadata[0] = (tb_kv){TB_META_RUN_ID, "badinput"};
	req.env.max_response_size = 16;
	row_of_envelope(table, t, "Describe accepting answers of 16 B at most", &req.env,
	                expect_codes(CODE_BIT(TB_RESOURCE_EXHAUSTED)));
	request_fini(&req);
}

void rows_envelope(struct table *table, struct target *t)
{
	row_random_bytes(table, t);
	row_every_cut(table, t);
	row_empty_message(table, t);
	rows_bad_payload(table, t);
	rows_unknown_names(table, t);
	rows_describe_variants(table, t);
}

void rows_token(struct table *table, struct target *t)
{
	struct request req;
	char longer[128], prefix[128];
	const char *token = t->served.token;
	snprintf(longer, sizeof(longer), "%sx", token);
	snprintf(prefix, sizeof(prefix), "%.*s", (int)strlen(token) - 1, token);
	const struct {
		const char *input;
		const char *token; /* NULL: no auth-token at all */
	} cases[] = {
		{"no auth-token", NULL},
		{"wrong auth-token", "not-the-token"},
		{"auth-token plus one character", longer},
		{"auth-token minus its last character", prefix},
		{"empty auth-token", ""},
	};
	request_init(&req, t);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		req.metadata[1].value = cases[i].token;
		req.env.n_metadata = cases[i].token ? 2 : 1;
		req.env.call_id = tb_new_call_id();
		row_of_envelope(table, t, cases[i].input, &req.env,
		                expect_codes(CODE_BIT(TB_UNAUTHENTICATED)));
	}
	request_fini(&req);
}
