/* Helpers shared by the two halves of the JSON converter (json_pb.c, json_pb_parse.c). */
#ifndef TESTBUS_TOOLS_JSON_PB_INTERNAL_H
#define TESTBUS_TOOLS_JSON_PB_INTERNAL_H

#include "json_pb.h"

#define JP_NAME_MAX 256

/* The base64 alphabet of RFC 4648 (the decoder also takes "-" and "_"). */
#define JP_B64_CHARS "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"

/* Where field fd is stored in msg. */
static inline void *tbi_json_member(const void *msg, const ProtobufCFieldDescriptor *fd)
{
	return (char *)msg + fd->offset;
}

/* The size of one stored value of a field of this type (one array element). */
static inline size_t tbi_json_elem_size(ProtobufCType type)
{
	switch (type) {
	case PROTOBUF_C_TYPE_INT64:
	case PROTOBUF_C_TYPE_SINT64:
	case PROTOBUF_C_TYPE_SFIXED64:
	case PROTOBUF_C_TYPE_UINT64:
	case PROTOBUF_C_TYPE_FIXED64:
		return sizeof(uint64_t);
	case PROTOBUF_C_TYPE_FLOAT:
		return sizeof(float);
	case PROTOBUF_C_TYPE_DOUBLE:
		return sizeof(double);
	case PROTOBUF_C_TYPE_BOOL:
		return sizeof(protobuf_c_boolean);
	case PROTOBUF_C_TYPE_STRING:
		return sizeof(char *);
	case PROTOBUF_C_TYPE_BYTES:
		return sizeof(ProtobufCBinaryData);
	case PROTOBUF_C_TYPE_MESSAGE:
		return sizeof(ProtobufCMessage *);
	default:
		return sizeof(uint32_t); /* int32, sint32, sfixed32, uint32, fixed32, enum */
	}
}

#endif
