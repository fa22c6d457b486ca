/* Converts protobuf-c messages to JSON through their descriptors (proto3 mapping). */
#include <ctype.h>
#include <errno.h>
#include <float.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json_pb_internal.h"


/* --- base64 (RFC 4648) --- */

static char *jp_base64_encode(const uint8_t *data, size_t len)
{
	char *out = malloc((len + 2) / 3 * 4 + 1);
	size_t o = 0;
	if (out == NULL)
		return NULL;
	for (size_t i = 0; i < len; i += 3) {
		uint32_t v = (uint32_t)data[i] << 16;
		if (i + 1 < len)
			v |= (uint32_t)data[i + 1] << 8;
		if (i + 2 < len)
			v |= data[i + 2];
		out[o++] = JP_B64_CHARS[(v >> 18) & 63];
		out[o++] = JP_B64_CHARS[(v >> 12) & 63];
		out[o++] = i + 1 < len ? JP_B64_CHARS[(v >> 6) & 63] : '=';
		out[o++] = i + 2 < len ? JP_B64_CHARS[v & 63] : '=';
	}
	out[o] = '\0';
	return out;
}

/* --- names and shapes --- */

const char *tb_json_field_name(const ProtobufCFieldDescriptor *fd, char *buf, size_t size)
{
	size_t o = 0;
	bool upper = false;
	for (const char *c = fd->name; *c != '\0' && o + 1 < size; c++) {
		if (*c == '_') {
			upper = true;
			continue;
		}
		buf[o++] = upper ? (char)toupper((unsigned char)*c) : *c;
		upper = false;
	}
	if (size > 0)
		buf[o] = '\0';
	return buf;
}

bool tb_json_field_is_map(const ProtobufCMessageDescriptor *owner,
                          const ProtobufCFieldDescriptor *fd)
{
	char want[JP_NAME_MAX];
	size_t o;
	bool upper = true;
	if (fd->label != PROTOBUF_C_LABEL_REPEATED || fd->type != PROTOBUF_C_TYPE_MESSAGE)
		return false;
	const ProtobufCMessageDescriptor *entry = fd->descriptor;
	if (entry->n_fields != 2 || entry->fields[0].id != 1 || entry->fields[1].id != 2 ||
	    strcmp(entry->fields[0].name, "key") != 0 || strcmp(entry->fields[1].name, "value") != 0)
		return false;
	o = (size_t)snprintf(want, sizeof(want), "%s.", owner->name);
	for (const char *c = fd->name; *c != '\0' && o + 6 < sizeof(want); c++) {
		if (*c == '_') {
			upper = true;
			continue;
		}
		want[o++] = upper ? (char)toupper((unsigned char)*c) : *c;
		upper = false;
	}
	memcpy(want + o, "Entry", 6);
	return strcmp(entry->name, want) == 0;
}

/* --- to JSON --- */

static json_object *jp_double_json(double d, bool is_float)
{
	char buf[40];
	if (isnan(d))
		return json_object_new_string("NaN");
	if (isinf(d))
		return json_object_new_string(d > 0 ? "Infinity" : "-Infinity");
	/* The shortest text that reads back as the same value. */
	for (int prec = is_float ? 6 : 15; prec <= 17; prec++) {
		snprintf(buf, sizeof(buf), "%.*g", prec, d);
		double back = strtod(buf, NULL);
		if (is_float ? (float)back == (float)d : back == d)
			break;
	}
	return json_object_new_double_s(d, buf);
}

static json_object *jp_int64_json(bool is_signed, const void *p)
{
	char buf[32];
	if (is_signed)
		snprintf(buf, sizeof(buf), "%" PRId64, *(const int64_t *)p);
	else
		snprintf(buf, sizeof(buf), "%" PRIu64, *(const uint64_t *)p);
	return json_object_new_string(buf);
}

static json_object *jp_message_json(const ProtobufCMessage *msg, unsigned flags);

/* One value of field fd stored at p. NULL when out of memory. */
static json_object *jp_value_json(const ProtobufCFieldDescriptor *fd, const void *p,
                                  unsigned flags)
{
	switch (fd->type) {
	case PROTOBUF_C_TYPE_INT32:
	case PROTOBUF_C_TYPE_SINT32:
	case PROTOBUF_C_TYPE_SFIXED32:
		return json_object_new_int(*(const int32_t *)p);
	case PROTOBUF_C_TYPE_UINT32:
	case PROTOBUF_C_TYPE_FIXED32:
		return json_object_new_int64(*(const uint32_t *)p);
	case PROTOBUF_C_TYPE_INT64:
	case PROTOBUF_C_TYPE_SINT64:
	case PROTOBUF_C_TYPE_SFIXED64:
		return jp_int64_json(true, p);
	case PROTOBUF_C_TYPE_UINT64:
	case PROTOBUF_C_TYPE_FIXED64:
		return jp_int64_json(false, p);
	case PROTOBUF_C_TYPE_FLOAT:
		return jp_double_json(*(const float *)p, true);
	case PROTOBUF_C_TYPE_DOUBLE:
		return jp_double_json(*(const double *)p, false);
	case PROTOBUF_C_TYPE_BOOL:
		return json_object_new_boolean(*(const protobuf_c_boolean *)p);
	case PROTOBUF_C_TYPE_ENUM: {
		int32_t v = *(const int32_t *)p;
		const ProtobufCEnumValue *ev = protobuf_c_enum_descriptor_get_value(fd->descriptor, v);
		return ev != NULL ? json_object_new_string(ev->name) : json_object_new_int(v);
	}
	case PROTOBUF_C_TYPE_STRING: {
		const char *s = *(char *const *)p;
		return json_object_new_string(s != NULL ? s : "");
	}
	case PROTOBUF_C_TYPE_BYTES: {
		const ProtobufCBinaryData *b = p;
		char *text = jp_base64_encode(b->data, b->len);
		json_object *j = text != NULL ? json_object_new_string(text) : NULL;
		free(text);
		return j;
	}
	case PROTOBUF_C_TYPE_MESSAGE: {
		const ProtobufCMessage *m = *(ProtobufCMessage *const *)p;
		return m != NULL ? jp_message_json(m, flags) : json_object_new_object();
	}
	}
	return NULL;
}

static json_object *jp_map_json(const ProtobufCFieldDescriptor *fd, ProtobufCMessage *const *entries,
                                size_t n, unsigned flags)
{
	const ProtobufCMessageDescriptor *ed = fd->descriptor;
	json_object *obj = json_object_new_object();
	for (size_t i = 0; obj != NULL && i < n; i++) {
		json_object *key = jp_value_json(&ed->fields[0], tbi_json_member(entries[i], &ed->fields[0]), 0);
		json_object *val = jp_value_json(&ed->fields[1], tbi_json_member(entries[i], &ed->fields[1]), flags);
		const char *ks = key == NULL ? NULL
		                 : json_object_get_type(key) == json_type_string
		                     ? json_object_get_string(key)
		                     : json_object_to_json_string(key);
		if (ks == NULL || val == NULL || json_object_object_add(obj, ks, val) != 0) {
			json_object_put(val);
			json_object_put(obj);
			obj = NULL;
		}
		json_object_put(key);
	}
	return obj;
}

static json_object *jp_repeated_json(const ProtobufCMessageDescriptor *owner,
                                     const ProtobufCFieldDescriptor *fd, const void *msg,
                                     unsigned flags)
{
	size_t n = *(const size_t *)((const char *)msg + fd->quantifier_offset);
	const char *arr = *(char *const *)tbi_json_member(msg, fd);
	if (tb_json_field_is_map(owner, fd))
		return jp_map_json(fd, (ProtobufCMessage *const *)arr, n, flags);
	json_object *list = json_object_new_array_ext((int)n);
	size_t size = tbi_json_elem_size(fd->type);
	for (size_t i = 0; list != NULL && i < n; i++) {
		json_object *v = jp_value_json(fd, arr + i * size, flags);
		if (v == NULL || json_object_array_add(list, v) != 0) {
			json_object_put(v);
			json_object_put(list);
			list = NULL;
		}
	}
	return list;
}

/* Whether a singular proto3 field holds its default value. */
static bool jp_is_default(const ProtobufCFieldDescriptor *fd, const void *p)
{
	switch (fd->type) {
	case PROTOBUF_C_TYPE_FLOAT:
		return *(const float *)p == 0 && !signbit(*(const float *)p);
	case PROTOBUF_C_TYPE_DOUBLE:
		return *(const double *)p == 0 && !signbit(*(const double *)p);
	case PROTOBUF_C_TYPE_STRING:
		return *(char *const *)p == NULL || **(char *const *)p == '\0';
	case PROTOBUF_C_TYPE_BYTES:
		return ((const ProtobufCBinaryData *)p)->len == 0;
	case PROTOBUF_C_TYPE_MESSAGE:
		return *(ProtobufCMessage *const *)p == NULL;
	default:
		return memcmp(p, &(uint64_t){0}, tbi_json_elem_size(fd->type)) == 0;
	}
}

/* Whether field fd of msg appears in the output. */
static bool jp_field_shown(const ProtobufCFieldDescriptor *fd, const void *msg, unsigned flags)
{
	const void *p = tbi_json_member(msg, fd);
	const char *q = (const char *)msg + fd->quantifier_offset;
	bool defaults = (flags & TB_JSON_EMIT_DEFAULTS) != 0;
	if (fd->flags & PROTOBUF_C_FIELD_FLAG_ONEOF)
		return *(const uint32_t *)q == fd->id;
	if (fd->label == PROTOBUF_C_LABEL_REPEATED)
		return defaults || *(const size_t *)q > 0;
	if (fd->type == PROTOBUF_C_TYPE_MESSAGE)
		return *(ProtobufCMessage *const *)p != NULL;
	if (fd->label == PROTOBUF_C_LABEL_OPTIONAL) {
		if (fd->type == PROTOBUF_C_TYPE_STRING)
			return *(char *const *)p != NULL && *(char *const *)p != fd->default_value;
		return *(const protobuf_c_boolean *)q;
	}
	return defaults || fd->label == PROTOBUF_C_LABEL_REQUIRED || !jp_is_default(fd, p);
}

static json_object *jp_message_json(const ProtobufCMessage *msg, unsigned flags)
{
	const ProtobufCMessageDescriptor *desc = msg->descriptor;
	json_object *obj = json_object_new_object();
	char name[JP_NAME_MAX];
	for (unsigned i = 0; obj != NULL && i < desc->n_fields; i++) {
		const ProtobufCFieldDescriptor *fd = &desc->fields[i];
		if (!jp_field_shown(fd, msg, flags))
			continue;
		json_object *v = fd->label == PROTOBUF_C_LABEL_REPEATED
		                     ? jp_repeated_json(desc, fd, msg, flags)
		                     : jp_value_json(fd, tbi_json_member(msg, fd), flags);
		if (v == NULL ||
		    json_object_object_add(obj, tb_json_field_name(fd, name, sizeof(name)), v) != 0) {
			json_object_put(v);
			json_object_put(obj);
			obj = NULL;
		}
	}
	return obj;
}

int tb_json_from_message(const ProtobufCMessage *msg, unsigned flags, json_object **objp,
                         tb_status *st)
{
	json_object *obj = jp_message_json(msg, flags);
	if (obj == NULL)
		return tb_status_set(st, TB_RESOURCE_EXHAUSTED, "out of memory converting %s to JSON",
		                     msg->descriptor->name);
	*objp = obj;
	return TB_OK;
}

int tb_json_format_message(const ProtobufCMessage *msg, unsigned flags, char **textp,
                           tb_status *st)
{
	json_object *obj = NULL;
	char *text = NULL;
	int rv = tb_json_from_message(msg, flags, &obj, st);
	if (rv != TB_OK)
		goto out;
	int how = JSON_C_TO_STRING_NOSLASHESCAPE |
	          ((flags & TB_JSON_PRETTY) ? JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED
	                                    : JSON_C_TO_STRING_PLAIN);
	const char *s = json_object_to_json_string_ext(obj, how);
	text = s != NULL ? strdup(s) : NULL;
	if (text == NULL)
		rv = tb_status_set(st, TB_RESOURCE_EXHAUSTED, "out of memory formatting JSON");
out:
	json_object_put(obj);
	if (rv == TB_OK)
		*textp = text;
	return rv;
}

