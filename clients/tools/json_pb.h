/* Generic conversion between protobuf-c messages and JSON (the proto3 JSON mapping). */
#ifndef TESTBUS_TOOLS_JSON_PB_H
#define TESTBUS_TOOLS_JSON_PB_H

#include <stdbool.h>
#include <stddef.h>

#include <json-c/json.h>
#include <protobuf-c/protobuf-c.h>

#include "testbus/status.h"

#ifdef __cplusplus
extern "C" {
#endif

/*
 * The mapping, driven only by the message descriptors: field names in
 * lowerCamelCase (the .proto names are accepted too), int64 and uint64 as
 * strings (numbers accepted too), bytes as base64 (standard or URL-safe,
 * padding optional), enums by value name (numbers accepted too), maps as
 * JSON objects, repeated fields as arrays, a oneof as whichever one of its
 * members is present, NaN and +/-Infinity as the strings "NaN", "Infinity",
 * "-Infinity". JSON null means "not set". Unknown fields are errors.
 */

/* Output flags. */
enum tb_json_flag {
	/* Also print fields holding their default value (0, "", false, empty
	 * lists and maps); unset messages and oneof members stay out. */
	TB_JSON_EMIT_DEFAULTS = 1u << 0,
	/* Indent the text output. */
	TB_JSON_PRETTY = 1u << 1,
};

/*
 * Converts msg to a JSON object. Caller owns *objp; release with
 * json_object_put(). Fails with TB_RESOURCE_EXHAUSTED when out of memory.
 */
int tb_json_from_message(const ProtobufCMessage *msg, unsigned flags, json_object **objp,
                         tb_status *st);

/*
 * Builds a message of type desc from the JSON object obj (borrowed). Fails
 * with TB_INVALID_ARGUMENT and a message naming the field path (e.g.
 * `cluster.properties["zone"].intValue: ...`) when obj does not fit desc.
 * Caller owns *msgp; free with protobuf_c_message_free_unpacked(msg, NULL).
 */
int tb_json_to_message(const ProtobufCMessageDescriptor *desc, json_object *obj,
                       ProtobufCMessage **msgp, tb_status *st);

/*
 * Parses len bytes of JSON text (one object, nothing after it) and builds a
 * message of type desc from it. Syntax errors name the line and column.
 * Same ownership and errors as tb_json_to_message.
 */
int tb_json_parse_message(const ProtobufCMessageDescriptor *desc, const char *text,
                          size_t len, ProtobufCMessage **msgp, tb_status *st);

/*
 * Formats msg as JSON text. Caller owns *textp; free with free().
 */
int tb_json_format_message(const ProtobufCMessage *msg, unsigned flags, char **textp,
                           tb_status *st);

/* The JSON (lowerCamelCase) name of field fd, written into buf; returns buf. */
const char *tb_json_field_name(const ProtobufCFieldDescriptor *fd, char *buf, size_t size);

/*
 * True when fd is a map field: a repeated message field whose type is the
 * map entry protoc generates for it (<FieldName>Entry with key = 1 and
 * value = 2, nested in the field's message).
 */
bool tb_json_field_is_map(const ProtobufCMessageDescriptor *owner,
                          const ProtobufCFieldDescriptor *fd);

#ifdef __cplusplus
}
#endif

#endif
