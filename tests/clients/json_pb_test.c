/* Tests of the JSON <-> protobuf converter: every message of proto/ round trips, and bad JSON fails clearly. */
#include <ctype.h>
#include <dlfcn.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "testbus/testbus.h"

#include "json_pb.h"

#define MAX_MESSAGES 128

static const char *proto_dir; /* from argv[1] */

/* --- every top-level message of proto/, found by name --- */

/* "ExecutionResult" -> "testbus__v1__execution_result__descriptor", as protoc-c names it. */
static void descriptor_symbol(const char *message, char *buf, size_t size)
{
	size_t o = (size_t)snprintf(buf, size, "testbus__v1__");
	for (const char *c = message; *c != '\0' && o + 16 < size; c++) {
		if (isupper((unsigned char)*c) && c != message)
			buf[o++] = '_';
		buf[o++] = (char)tolower((unsigned char)*c);
	}
	snprintf(buf + o, size - o, "__descriptor");
}

/* Reads the top-level "message Name {" lines of every .proto file. */
static size_t all_messages(const ProtobufCMessageDescriptor **out, size_t max)
{
	static const char *const files[] = {"value", "envelope", "types", "services"};
	size_t n = 0;
	char path[1024], line[512], name[128], sym[256];
	for (size_t f = 0; f < sizeof(files) / sizeof(files[0]); f++) {
		snprintf(path, sizeof(path), "%s/testbus/v1/%s.proto", proto_dir, files[f]);
		FILE *fp = fopen(path, "r");
		assert_non_null(fp);
		while (fgets(line, sizeof(line), fp) != NULL) {
			if (sscanf(line, "message %127[A-Za-z0-9_]", name) != 1)
				continue;
			descriptor_symbol(name, sym, sizeof(sym));
			const ProtobufCMessageDescriptor *d = dlsym(RTLD_DEFAULT, sym);
			if (d == NULL)
				fail_msg("no descriptor %s for message %s", sym, name);
			assert_true(n < max);
			out[n++] = d;
		}
		fclose(fp);
	}
	return n;
}

/* --- a message with every field set to something that is not its default --- */

static unsigned fill_counter;

static size_t oneof_position(const ProtobufCMessageDescriptor *d, unsigned i, size_t *countp)
{
	size_t pos = 0, count = 0;
	for (unsigned j = 0; j < d->n_fields; j++) {
		if ((d->fields[j].flags & PROTOBUF_C_FIELD_FLAG_ONEOF) &&
		    d->fields[j].quantifier_offset == d->fields[i].quantifier_offset) {
			if (j < i)
				pos++;
			count++;
		}
	}
	*countp = count;
	return pos;
}

static ProtobufCMessage *new_filled(const ProtobufCMessageDescriptor *d, unsigned depth,
                                    unsigned which);

/* Stores one value of fd at p; returns false for a message too deep to build. */
static bool fill_value(const ProtobufCFieldDescriptor *fd, void *p, unsigned depth, unsigned which)
{
	unsigned k = ++fill_counter;
	switch (fd->type) {
	case PROTOBUF_C_TYPE_INT32: case PROTOBUF_C_TYPE_SINT32: case PROTOBUF_C_TYPE_SFIXED32:
		*(int32_t *)p = -123456 - (int32_t)k;
		break;
	case PROTOBUF_C_TYPE_UINT32: case PROTOBUF_C_TYPE_FIXED32:
		*(uint32_t *)p = 4000000000u + k;
		break;
	case PROTOBUF_C_TYPE_INT64: case PROTOBUF_C_TYPE_SINT64: case PROTOBUF_C_TYPE_SFIXED64:
		*(int64_t *)p = -9007199254740993LL - k; /* not exact as a double */
		break;
	case PROTOBUF_C_TYPE_UINT64: case PROTOBUF_C_TYPE_FIXED64:
		*(uint64_t *)p = UINT64_MAX - k;
		break;
	case PROTOBUF_C_TYPE_FLOAT:
		*(float *)p = 0.1f + (float)k;
		break;
	case PROTOBUF_C_TYPE_DOUBLE:
		*(double *)p = 0.1 + k / 3.0;
		break;
	case PROTOBUF_C_TYPE_BOOL:
		*(protobuf_c_boolean *)p = 1;
		break;
	case PROTOBUF_C_TYPE_ENUM: {
		const ProtobufCEnumDescriptor *ed = fd->descriptor;
		*(int32_t *)p = ed->values[k % ed->n_values].value;
		break;
	}
	case PROTOBUF_C_TYPE_STRING: {
		char buf[64];
		snprintf(buf, sizeof(buf), "k%u \"q\" \\ \xc3\xa9 \n/%s", k, fd->name);
		*(char **)p = strdup(buf);
		break;
	}
	case PROTOBUF_C_TYPE_BYTES: {
		ProtobufCBinaryData *b = p;
		b->len = 1 + k % 4; /* every base64 padding case */
		b->data = malloc(b->len);
		for (size_t i = 0; i < b->len; i++)
			b->data[i] = (uint8_t)(i == 0 ? 0x00 : 0xff - i - k);
		break;
	}
	case PROTOBUF_C_TYPE_MESSAGE:
		if (depth == 0)
			return false;
		*(ProtobufCMessage **)p = new_filled(fd->descriptor, depth - 1, which);
		break;
	}
	return true;
}

static size_t elem_size(ProtobufCType type)
{
	switch (type) {
	case PROTOBUF_C_TYPE_INT64: case PROTOBUF_C_TYPE_SINT64: case PROTOBUF_C_TYPE_SFIXED64:
	case PROTOBUF_C_TYPE_UINT64: case PROTOBUF_C_TYPE_FIXED64: case PROTOBUF_C_TYPE_DOUBLE:
		return 8;
	case PROTOBUF_C_TYPE_STRING: case PROTOBUF_C_TYPE_MESSAGE:
		return sizeof(void *);
	case PROTOBUF_C_TYPE_BYTES:
		return sizeof(ProtobufCBinaryData);
	case PROTOBUF_C_TYPE_BOOL:
		return sizeof(protobuf_c_boolean);
	default:
		return 4;
	}
}

/* Two elements (map entries: two keys), unless the type nests too deep. */
static void fill_repeated(const ProtobufCMessageDescriptor *d, const ProtobufCFieldDescriptor *fd,
                          void *msg, unsigned depth, unsigned which)
{
	size_t size = elem_size(fd->type), n = 0;
	char *arr = calloc(2, size);
	bool is_map = tb_json_field_is_map(d, fd);
	/* A map entry without its message value reads back as an empty one:
	 * equal in meaning, not in bytes. Entries come with their value or not at all. */
	bool room = !is_map || depth > 0 ||
	            ((const ProtobufCMessageDescriptor *)fd->descriptor)->fields[1].type !=
	                PROTOBUF_C_TYPE_MESSAGE;
	while (room && n < 2 && fill_value(fd, arr + n * size, is_map ? depth + 1 : depth, which))
		n++;
	*(char **)((char *)msg + fd->offset) = arr;
	*(size_t *)((char *)msg + fd->quantifier_offset) = n;
}

static ProtobufCMessage *new_filled(const ProtobufCMessageDescriptor *d, unsigned depth,
                                    unsigned which)
{
	ProtobufCMessage *msg = malloc(d->sizeof_message);
	protobuf_c_message_init(d, msg);
	for (unsigned i = 0; i < d->n_fields; i++) {
		const ProtobufCFieldDescriptor *fd = &d->fields[i];
		void *p = (char *)msg + fd->offset;
		if (fd->label == PROTOBUF_C_LABEL_REPEATED) {
			fill_repeated(d, fd, msg, depth, which);
		} else if (fd->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) {
			size_t count, pos = oneof_position(d, i, &count);
			if (pos == which % count && fill_value(fd, p, depth, which))
				*(uint32_t *)((char *)msg + fd->quantifier_offset) = fd->id;
		} else {
			fill_value(fd, p, depth, which);
		}
	}
	return msg;
}

/* --- helpers --- */

static uint8_t *packed(const ProtobufCMessage *m, size_t *lenp)
{
	*lenp = protobuf_c_message_get_packed_size(m);
	uint8_t *buf = malloc(*lenp + 1);
	protobuf_c_message_pack(m, buf);
	return buf;
}

/* msg -> JSON text -> message: the packed bytes must not change. */
static void assert_round_trip(const ProtobufCMessage *msg, unsigned flags)
{
	char *text = NULL;
	ProtobufCMessage *back = NULL;
	tb_status st = {0};
	size_t a_len, b_len;
	assert_int_equal(tb_json_format_message(msg, flags, &text, &st), TB_OK);
	int rv = tb_json_parse_message(msg->descriptor, text, strlen(text), &back, &st);
	if (rv != TB_OK)
		fail_msg("%s: %s in %s", msg->descriptor->name, st.message, text);
	uint8_t *a = packed(msg, &a_len), *b = packed(back, &b_len);
	if (a_len != b_len || memcmp(a, b, a_len) != 0)
		fail_msg("%s changed through JSON: %s", msg->descriptor->name, text);
	free(a);
	free(b);
	free(text);
	protobuf_c_message_free_unpacked(back, NULL);
}

static char *to_json(const ProtobufCMessage *msg, unsigned flags)
{
	char *text = NULL;
	tb_status st = {0};
	assert_int_equal(tb_json_format_message(msg, flags, &text, &st), TB_OK);
	return text;
}

static ProtobufCMessage *from_json(const ProtobufCMessageDescriptor *d, const char *text)
{
	ProtobufCMessage *m = NULL;
	tb_status st = {0};
	if (tb_json_parse_message(d, text, strlen(text), &m, &st) != TB_OK)
		fail_msg("%s: %s", text, st.message);
	return m;
}

/* Parsing text must fail with INVALID_ARGUMENT and a message containing want. */
static void assert_bad(const ProtobufCMessageDescriptor *d, const char *text, const char *want)
{
	ProtobufCMessage *m = (ProtobufCMessage *)&m; /* must be reset to NULL */
	tb_status st = {0};
	assert_int_equal(tb_json_parse_message(d, text, strlen(text), &m, &st), TB_INVALID_ARGUMENT);
	assert_null(m);
	if (strstr(st.message, want) == NULL)
		fail_msg("%s: got \"%s\", want \"%s\"", text, st.message, want);
}

/* --- tests --- */

static void test_every_message_round_trips(void **state)
{
	const ProtobufCMessageDescriptor *all[MAX_MESSAGES];
	size_t n = all_messages(all, MAX_MESSAGES);
	(void)state;
	assert_true(n >= 40); /* the contract has dozens of messages */
	for (size_t i = 0; i < n; i++) {
		/* Value has 7 oneof members: each is used at least once. */
		for (unsigned which = 0; which < 7; which++) {
			ProtobufCMessage *m = new_filled(all[i], 3, which);
			assert_round_trip(m, 0);
			assert_round_trip(m, TB_JSON_EMIT_DEFAULTS | TB_JSON_PRETTY);
			protobuf_c_message_free_unpacked(m, NULL);
		}
		ProtobufCMessage *empty = malloc(all[i]->sizeof_message);
		protobuf_c_message_init(all[i], empty);
		assert_round_trip(empty, 0);
		assert_round_trip(empty, TB_JSON_EMIT_DEFAULTS);
		protobuf_c_message_free_unpacked(empty, NULL);
	}
}

static void test_mapping_of_types(void **state)
{
	(void)state;
	ProtobufCMessage *m = from_json(&testbus__v1__execution_result__descriptor,
	    "{\"startTime\": \"-9007199254740993\", \"end_time\": 42, \"exitCode\": -1,"
	    " \"summary\": {\"total\": 4294967295}, \"labels\": {\"suite\": \"e2e\"},"
	    " \"testCases\": [{\"name\": \"t\", \"status\": \"TEST_FAILED\", \"durationMs\": 0.1},"
	    "                 {\"status\": 4}],"
	    " \"artifacts\": [{\"size\": \"18446744073709551615\"}],"
	    " \"metadata\": {\"b\": {\"bytesValue\": \"AP8=\"}, \"u\": {\"bytes_value\": \"-_8\"},"
	    "              \"n\": {\"intValue\": \"7\"}, \"l\": {\"listValue\": {\"values\": [{\"boolValue\": false}]}}}}");
	Testbus__V1__ExecutionResult *r = (Testbus__V1__ExecutionResult *)m;
	assert_int_equal(r->start_time, -9007199254740993LL);
	assert_int_equal(r->end_time, 42);
	assert_int_equal(r->summary->total, 4294967295u);
	assert_string_equal(tb_map_get(r->labels, r->n_labels, "suite"), "e2e");
	assert_int_equal(r->test_cases[0]->status, TESTBUS__V1__TEST_STATUS__TEST_FAILED);
	assert_int_equal(r->test_cases[1]->status, TESTBUS__V1__TEST_STATUS__TEST_SKIPPED);
	assert_true(r->artifacts[0]->size == UINT64_MAX);
	const Testbus__V1__Value *b = tb_map_get(r->metadata, r->n_metadata, "b");
	assert_int_equal(b->kind_case, TESTBUS__V1__VALUE__KIND_BYTES_VALUE);
	assert_int_equal(b->bytes_value.len, 2);
	assert_int_equal(b->bytes_value.data[1], 0xff);
	const Testbus__V1__Value *u = tb_map_get(r->metadata, r->n_metadata, "u");
	assert_int_equal(u->bytes_value.len, 2);
	assert_int_equal(u->bytes_value.data[0], 0xfb);
	const Testbus__V1__Value *l = tb_map_get(r->metadata, r->n_metadata, "l");
	assert_int_equal(l->list_value->values[0]->kind_case, TESTBUS__V1__VALUE__KIND_BOOL_VALUE);

	char *text = to_json(m, 0);
	static const char *const want[] = {
		"\"startTime\":\"-9007199254740993\"", "\"endTime\":\"42\"", "\"exitCode\":-1",
		"\"total\":4294967295", "\"labels\":{\"suite\":\"e2e\"}", "\"status\":\"TEST_FAILED\"",
		"\"durationMs\":0.1", "\"size\":\"18446744073709551615\"", "\"bytesValue\":\"AP8=\"",
		"\"bytesValue\":\"+/8=\"", "\"intValue\":\"7\"", "\"boolValue\":false",
	};
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		if (strstr(text, want[i]) == NULL)
			fail_msg("%s not in %s", want[i], text);
	}
	assert_null(strstr(text, "success")); /* defaults stay out */
	free(text);
	text = to_json(m, TB_JSON_EMIT_DEFAULTS);
	assert_non_null(strstr(text, "\"success\":false"));
	assert_non_null(strstr(text, "\"stdoutTail\":\"\""));
	free(text);
	protobuf_c_message_free_unpacked(m, NULL);
}

static void test_special_doubles(void **state)
{
	(void)state;
	ProtobufCMessage *m = from_json(&testbus__v1__value_list__descriptor,
	    "{\"values\": [{\"doubleValue\": \"NaN\"}, {\"doubleValue\": \"-Infinity\"},"
	    " {\"doubleValue\": 1e300}, {\"doubleValue\": \"2.5\"}, {\"doubleValue\": 3}]}");
	Testbus__V1__ValueList *l = (Testbus__V1__ValueList *)m;
	assert_true(isnan(l->values[0]->double_value));
	assert_true(isinf(l->values[1]->double_value) && l->values[1]->double_value < 0);
	assert_true(l->values[2]->double_value == 1e300);
	assert_true(l->values[3]->double_value == 2.5);
	char *text = to_json(m, 0);
	assert_non_null(strstr(text, "\"NaN\""));
	assert_non_null(strstr(text, "\"-Infinity\""));
	assert_non_null(strstr(text, "1e+300"));
	free(text);
	assert_round_trip(m, 0);
	protobuf_c_message_free_unpacked(m, NULL);
}

static void test_bad_json(void **state)
{
	const ProtobufCMessageDescriptor *er = &testbus__v1__execution_result__descriptor;
	const ProtobufCMessageDescriptor *et = &testbus__v1__execution_target__descriptor;
	(void)state;
	assert_bad(er, "{\"summary\": {\"totl\": 1}}",
	           "summary.totl: unknown field of testbus.v1.ResultSummary");
	assert_bad(er, "{\"labels\": {\"a\": 1}}", "labels[\"a\"]: expected a string, got int");
	assert_bad(er, "{\"metadata\": {\"x\": {\"stringValue\": \"a\", \"intValue\": \"1\"}}}",
	           "metadata[\"x\"].intValue: stringValue and intValue are members of the same oneof");
	assert_bad(et, "{\"kubeconfig\": \"@@@@\"}", "kubeconfig: not valid base64");
	assert_bad(er, "{\"testCases\": [{}, {\"status\": \"TEST_BAD\"}]}",
	           "testCases[1].status: \"TEST_BAD\" is not a value of testbus.v1.TestStatus");
	assert_bad(er, "{\"exitCode\": 3000000000}", "exitCode: 3000000000 is out of range");
	assert_bad(et, "{\"timeoutMs\": -1}", "timeoutMs: -1 is out of range");
	assert_bad(er, "{\"startTime\": \"12abc\"}", "startTime: \"12abc\" is not an integer");
	assert_bad(er, "{\"startTime\": \"99999999999999999999\"}", "is out of range");
	assert_bad(er, "{\"success\": \"yes\"}", "success: expected true or false, got string");
	assert_bad(er, "{\"exitCode\": 1.5}", "exitCode: 1.5 is not an integer");
	assert_bad(er, "{\"exit_code\": 1, \"exitCode\": 2}", "exitCode: field exit_code given twice");
	assert_bad(er, "{\"testCases\": [null]}", "testCases[0]: a list element cannot be null");
	assert_bad(er, "{\"testCases\": {}}", "testCases: expected an array, got object");
	assert_bad(er, "{\"summary\": 3}", "summary: expected an object (testbus.v1.ResultSummary)");
	assert_bad(er, "{\"labels\": []}", "labels: expected an object (a map), got array");
	assert_bad(er, "{\n  \"success\": true,\n  \"exitCode\": \n}", "invalid JSON at line 4, column 1");
	assert_bad(er, "{\"success\": true} x", "invalid JSON at line 1, column 19");
	assert_bad(er, "{\"success\": true}\n{}", "invalid JSON at line 2, column 1");
	assert_bad(er, "{\"success\": true", "invalid JSON at line 1");
	assert_bad(er, "[1]", "expected a JSON object (testbus.v1.ExecutionResult), got array");
	assert_bad(er, "", "invalid JSON");
	assert_bad(er, "{\"error\": \"\xff\"}", "invalid JSON at line 1, column 12: invalid utf-8");
}

static void test_null_means_unset(void **state)
{
	(void)state;
	ProtobufCMessage *m = from_json(&testbus__v1__execution_result__descriptor,
	                                "{\"summary\": null, \"success\": null, \"labels\": null}");
	Testbus__V1__ExecutionResult *r = (Testbus__V1__ExecutionResult *)m;
	assert_null(r->summary);
	assert_false(r->success);
	assert_int_equal(r->n_labels, 0);
	protobuf_c_message_free_unpacked(m, NULL);
}

static void test_field_names(void **state)
{
	char buf[64];
	(void)state;
	const ProtobufCFieldDescriptor *fd = protobuf_c_message_descriptor_get_field_by_name(
	    &testbus__v1__execution_result__descriptor, "stdout_tail");
	assert_string_equal(tb_json_field_name(fd, buf, sizeof(buf)), "stdoutTail");
	assert_true(tb_json_field_is_map(&testbus__v1__cluster_info__descriptor,
	                                 protobuf_c_message_descriptor_get_field_by_name(
	                                     &testbus__v1__cluster_info__descriptor, "properties")));
	assert_false(tb_json_field_is_map(&testbus__v1__execution_result__descriptor,
	                                  protobuf_c_message_descriptor_get_field_by_name(
	                                      &testbus__v1__execution_result__descriptor, "test_cases")));
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_message_round_trips),
		cmocka_unit_test(test_mapping_of_types),
		cmocka_unit_test(test_special_doubles),
		cmocka_unit_test(test_bad_json),
		cmocka_unit_test(test_null_means_unset),
		cmocka_unit_test(test_field_names),
	};
	if (argc != 2) {
		fprintf(stderr, "usage: %s PROTO_DIR\n", argv[0]);
		return 2;
	}
	proto_dir = argv[1];
	return cmocka_run_group_tests(tests, NULL, NULL);
}
