/* Builds protobuf-c messages from JSON through their descriptors (proto3 mapping). */
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

#define JP_PATH_MAX 512

/* Where in the input the conversion is, for error messages. */
struct jp_path {
	char buf[JP_PATH_MAX];
	size_t len;
};

static size_t jp_path_push(struct jp_path *p, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static size_t jp_path_push(struct jp_path *p, const char *fmt, ...)
{
	size_t old = p->len;
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(p->buf + p->len, sizeof(p->buf) - p->len, fmt, ap);
	va_end(ap);
	if (n > 0)
		p->len += (size_t)n < sizeof(p->buf) - p->len ? (size_t)n : sizeof(p->buf) - p->len - 1;
	return old;
}

static void jp_path_pop(struct jp_path *p, size_t len)
{
	p->len = len;
	p->buf[len] = '\0';
}

static int jp_error(tb_status *st, const struct jp_path *p, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int jp_error(tb_status *st, const struct jp_path *p, const char *fmt, ...)
{
	char msg[TB_STATUS_MESSAGE_MAX];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (p->len == 0)
		return tb_status_set(st, TB_INVALID_ARGUMENT, "%s", msg);
	return tb_status_set(st, TB_INVALID_ARGUMENT, "%s: %s", p->buf, msg);
}

/* --- base64 --- */

static int jp_b64_value(char c)
{
	if (c == '-')
		return 62;
	if (c == '_')
		return 63;
	static const char alphabet[] = JP_B64_CHARS;
	const char *p = c != '\0' ? strchr(alphabet, c) : NULL;
	return p != NULL ? (int)(p - alphabet) : -1;
}

/* Decodes s into a heap buffer. 0, -1 when s is not base64, -2 out of memory. */
static int jp_base64_decode(const char *s, uint8_t **outp, size_t *lenp)
{
	size_t n = strlen(s);
	while (n > 0 && s[n - 1] == '=' && strlen(s) - n < 2)
		n--;
	if (n % 4 == 1)
		return -1;
	uint8_t *out = malloc(n / 4 * 3 + 3);
	size_t o = 0;
	uint32_t acc = 0;
	if (out == NULL)
		return -2;
	for (size_t i = 0; i < n; i++) {
		int v = jp_b64_value(s[i]);
		if (v < 0) {
			free(out);
			return -1;
		}
		acc = acc << 6 | (uint32_t)v;
		if (i % 4 == 3) {
			out[o++] = (uint8_t)(acc >> 16);
			out[o++] = (uint8_t)(acc >> 8);
			out[o++] = (uint8_t)acc;
			acc = 0;
		}
	}
	if (n % 4 == 2) {
		out[o++] = (uint8_t)(acc >> 4);
	} else if (n % 4 == 3) {
		out[o++] = (uint8_t)(acc >> 10);
		out[o++] = (uint8_t)(acc >> 2);
	}
	if (o == 0) {
		free(out);
		out = NULL;
	}
	*outp = out;
	*lenp = o;
	return 0;
}

static bool jp_name_matches(const ProtobufCFieldDescriptor *fd, const char *key)
{
	char camel[JP_NAME_MAX];
	return strcmp(fd->name, key) == 0 ||
	       strcmp(tb_json_field_name(fd, camel, sizeof(camel)), key) == 0;
}

/* --- values --- */


static const char *jp_type_name(json_object *j)
{
	return json_type_to_name(json_object_get_type(j));
}

/* The integer text of j: a JSON integer, an integral double or a string. */
static int jp_int_text(json_object *j, char *buf, size_t size, const struct jp_path *p,
                       tb_status *st)
{
	switch (json_object_get_type(j)) {
	case json_type_int:
		snprintf(buf, size, "%s", json_object_to_json_string_ext(j, JSON_C_TO_STRING_PLAIN));
		return TB_OK;
	case json_type_double: {
		double d = json_object_get_double(j);
		if (d != floor(d) || fabs(d) >= 18446744073709551616.0)
			return jp_error(st, p, "%s is not an integer", json_object_to_json_string(j));
		snprintf(buf, size, "%.0f", d);
		return TB_OK;
	}
	case json_type_string: {
		const char *s = json_object_get_string(j);
		if (s[0] == '\0' || isspace((unsigned char)s[0]) || s[0] == '+' || strlen(s) >= size)
			return jp_error(st, p, "\"%s\" is not an integer", s);
		snprintf(buf, size, "%s", s);
		return TB_OK;
	}
	default:
		return jp_error(st, p, "expected an integer, got %s", jp_type_name(j));
	}
}

static int jp_get_signed(json_object *j, int64_t min, int64_t max, int64_t *out,
                         const struct jp_path *p, tb_status *st)
{
	char buf[64], *end;
	int rv = jp_int_text(j, buf, sizeof(buf), p, st);
	if (rv != TB_OK)
		return rv;
	errno = 0;
	long long v = strtoll(buf, &end, 10);
	if (*end != '\0')
		return jp_error(st, p, "\"%s\" is not an integer", buf);
	if (errno == ERANGE || v < min || v > max)
		return jp_error(st, p, "%s is out of range [%" PRId64 ", %" PRId64 "]", buf, min, max);
	*out = v;
	return TB_OK;
}

static int jp_get_unsigned(json_object *j, uint64_t max, uint64_t *out, const struct jp_path *p,
                           tb_status *st)
{
	char buf[64], *end;
	int rv = jp_int_text(j, buf, sizeof(buf), p, st);
	if (rv != TB_OK)
		return rv;
	if (buf[0] == '-')
		return jp_error(st, p, "%s is out of range [0, %" PRIu64 "]", buf, max);
	errno = 0;
	unsigned long long v = strtoull(buf, &end, 10);
	if (*end != '\0')
		return jp_error(st, p, "\"%s\" is not an integer", buf);
	if (errno == ERANGE || v > max)
		return jp_error(st, p, "%s is out of range [0, %" PRIu64 "]", buf, max);
	*out = v;
	return TB_OK;
}

static int jp_get_double(json_object *j, bool is_float, double *out, const struct jp_path *p,
                         tb_status *st)
{
	json_type t = json_object_get_type(j);
	double d;
	if (t == json_type_int || t == json_type_double) {
		d = json_object_get_double(j);
	} else if (t == json_type_string) {
		const char *s = json_object_get_string(j);
		char *end;
		if (strcmp(s, "NaN") == 0)
			d = NAN;
		else if (strcmp(s, "Infinity") == 0)
			d = INFINITY;
		else if (strcmp(s, "-Infinity") == 0)
			d = -INFINITY;
		else if (s[0] == '\0' || isspace((unsigned char)s[0]) || (d = strtod(s, &end), *end) ||
		         !isfinite(d))
			return jp_error(st, p, "\"%s\" is not a number", s);
	} else {
		return jp_error(st, p, "expected a number, got %s", jp_type_name(j));
	}
	if (is_float && isfinite(d) && fabs(d) > FLT_MAX)
		return jp_error(st, p, "%g is out of range for a float", d);
	*out = d;
	return TB_OK;
}

static int jp_get_enum(const ProtobufCFieldDescriptor *fd, json_object *j, int32_t *out,
                       const struct jp_path *p, tb_status *st)
{
	const ProtobufCEnumDescriptor *ed = fd->descriptor;
	if (json_object_get_type(j) == json_type_string) {
		const char *name = json_object_get_string(j);
		const ProtobufCEnumValue *ev = protobuf_c_enum_descriptor_get_value_by_name(ed, name);
		if (ev == NULL)
			return jp_error(st, p, "\"%s\" is not a value of %s", name, ed->name);
		*out = ev->value;
		return TB_OK;
	}
	if (json_object_get_type(j) != json_type_int && json_object_get_type(j) != json_type_double)
		return jp_error(st, p, "expected a %s name or number, got %s", ed->name,
		                jp_type_name(j));
	int64_t v;
	int rv = jp_get_signed(j, INT32_MIN, INT32_MAX, &v, p, st);
	if (rv == TB_OK)
		*out = (int32_t)v;
	return rv;
}

static int jp_get_string(json_object *j, char **out, const struct jp_path *p, tb_status *st)
{
	if (json_object_get_type(j) != json_type_string)
		return jp_error(st, p, "expected a string, got %s", jp_type_name(j));
	char *s = strdup(json_object_get_string(j));
	if (s == NULL)
		return tb_status_set(st, TB_RESOURCE_EXHAUSTED, "out of memory");
	*out = s;
	return TB_OK;
}

static int jp_get_bytes(json_object *j, ProtobufCBinaryData *out, const struct jp_path *p,
                        tb_status *st)
{
	if (json_object_get_type(j) != json_type_string)
		return jp_error(st, p, "expected a base64 string, got %s", jp_type_name(j));
	int rv = jp_base64_decode(json_object_get_string(j), &out->data, &out->len);
	if (rv == -2)
		return tb_status_set(st, TB_RESOURCE_EXHAUSTED, "out of memory");
	if (rv != 0)
		return jp_error(st, p, "not valid base64");
	return TB_OK;
}

static int jp_fill(const ProtobufCMessageDescriptor *desc, json_object *obj, ProtobufCMessage *msg,
                   struct jp_path *p, tb_status *st);

static ProtobufCMessage *jp_new_message(const ProtobufCMessageDescriptor *desc)
{
	ProtobufCMessage *m = malloc(desc->sizeof_message);
	if (m != NULL)
		protobuf_c_message_init(desc, m);
	return m;
}

/* Sets a new message at *slot (which owns it from then on) and fills it from j. */
static int jp_get_message(const ProtobufCMessageDescriptor *desc, json_object *j,
                          ProtobufCMessage **slot, struct jp_path *p, tb_status *st)
{
	if (json_object_get_type(j) != json_type_object)
		return jp_error(st, p, "expected an object (%s), got %s", desc->name, jp_type_name(j));
	*slot = jp_new_message(desc);
	if (*slot == NULL)
		return tb_status_set(st, TB_RESOURCE_EXHAUSTED, "out of memory");
	return jp_fill(desc, j, *slot, p, st);
}

/* Stores one value of fd, read from j, at dst. */
static int jp_get_value(const ProtobufCFieldDescriptor *fd, json_object *j, void *dst,
                        struct jp_path *p, tb_status *st)
{
	int64_t s;
	uint64_t u;
	double d;
	int rv;
	switch (fd->type) {
	case PROTOBUF_C_TYPE_INT32:
	case PROTOBUF_C_TYPE_SINT32:
	case PROTOBUF_C_TYPE_SFIXED32:
		if ((rv = jp_get_signed(j, INT32_MIN, INT32_MAX, &s, p, st)) == TB_OK)
			*(int32_t *)dst = (int32_t)s;
		return rv;
	case PROTOBUF_C_TYPE_UINT32:
	case PROTOBUF_C_TYPE_FIXED32:
		if ((rv = jp_get_unsigned(j, UINT32_MAX, &u, p, st)) == TB_OK)
			*(uint32_t *)dst = (uint32_t)u;
		return rv;
	case PROTOBUF_C_TYPE_INT64:
	case PROTOBUF_C_TYPE_SINT64:
	case PROTOBUF_C_TYPE_SFIXED64:
		return jp_get_signed(j, INT64_MIN, INT64_MAX, dst, p, st);
	case PROTOBUF_C_TYPE_UINT64:
	case PROTOBUF_C_TYPE_FIXED64:
		return jp_get_unsigned(j, UINT64_MAX, dst, p, st);
	case PROTOBUF_C_TYPE_FLOAT:
		if ((rv = jp_get_double(j, true, &d, p, st)) == TB_OK)
			*(float *)dst = (float)d;
		return rv;
	case PROTOBUF_C_TYPE_DOUBLE:
		return jp_get_double(j, false, dst, p, st);
	case PROTOBUF_C_TYPE_BOOL:
		if (json_object_get_type(j) != json_type_boolean)
			return jp_error(st, p, "expected true or false, got %s", jp_type_name(j));
		*(protobuf_c_boolean *)dst = json_object_get_boolean(j);
		return TB_OK;
	case PROTOBUF_C_TYPE_ENUM:
		return jp_get_enum(fd, j, dst, p, st);
	case PROTOBUF_C_TYPE_STRING:
		return jp_get_string(j, dst, p, st);
	case PROTOBUF_C_TYPE_BYTES:
		return jp_get_bytes(j, dst, p, st);
	case PROTOBUF_C_TYPE_MESSAGE:
		return jp_get_message(fd->descriptor, j, dst, p, st);
	}
	return jp_error(st, p, "unsupported field type");
}

/* Reads a map key (always a JSON object key, so a string) into an entry. */
static int jp_get_key(const ProtobufCFieldDescriptor *kd, const char *key, void *dst,
                      struct jp_path *p, tb_status *st)
{
	json_object *j;
	if (kd->type == PROTOBUF_C_TYPE_BOOL && (strcmp(key, "true") == 0 || strcmp(key, "false") == 0))
		j = json_object_new_boolean(key[0] == 't');
	else
		j = json_object_new_string(key);
	if (j == NULL)
		return tb_status_set(st, TB_RESOURCE_EXHAUSTED, "out of memory");
	int rv = jp_get_value(kd, j, dst, p, st);
	json_object_put(j);
	return rv;
}

/* Fills a map field from a JSON object; the entries array is set up front so
 * that whatever was built is freed with the message on error. */
static int jp_get_map(const ProtobufCFieldDescriptor *fd, json_object *j, void *msg,
                      struct jp_path *p, tb_status *st)
{
	const ProtobufCMessageDescriptor *ed = fd->descriptor;
	if (json_object_get_type(j) != json_type_object)
		return jp_error(st, p, "expected an object (a map), got %s", jp_type_name(j));
	size_t n = (size_t)json_object_object_length(j), i = 0;
	ProtobufCMessage **entries = calloc(n ? n : 1, sizeof(*entries));
	if (entries == NULL)
		return tb_status_set(st, TB_RESOURCE_EXHAUSTED, "out of memory");
	*(ProtobufCMessage ***)tbi_json_member(msg, fd) = entries;
	*(size_t *)((char *)msg + fd->quantifier_offset) = n;
	json_object_object_foreach(j, key, val)
	{
		size_t mark = jp_path_push(p, "[\"%s\"]", key);
		int rv = TB_OK;
		if ((entries[i] = jp_new_message(ed)) == NULL)
			rv = tb_status_set(st, TB_RESOURCE_EXHAUSTED, "out of memory");
		else if (val == NULL)
			rv = jp_error(st, p, "a map value cannot be null");
		else if ((rv = jp_get_key(&ed->fields[0], key, tbi_json_member(entries[i], &ed->fields[0]),
		                          p, st)) == TB_OK)
			rv = jp_get_value(&ed->fields[1], val, tbi_json_member(entries[i], &ed->fields[1]), p, st);
		i++;
		if (rv != TB_OK)
			return rv;
		jp_path_pop(p, mark);
	}
	return TB_OK;
}

static int jp_get_repeated(const ProtobufCMessageDescriptor *owner,
                           const ProtobufCFieldDescriptor *fd, json_object *j, void *msg,
                           struct jp_path *p, tb_status *st)
{
	if (tb_json_field_is_map(owner, fd))
		return jp_get_map(fd, j, msg, p, st);
	if (json_object_get_type(j) != json_type_array)
		return jp_error(st, p, "expected an array, got %s", jp_type_name(j));
	size_t n = json_object_array_length(j), size = tbi_json_elem_size(fd->type);
	char *arr = calloc(n ? n : 1, size);
	if (arr == NULL)
		return tb_status_set(st, TB_RESOURCE_EXHAUSTED, "out of memory");
	*(char **)tbi_json_member(msg, fd) = arr;
	*(size_t *)((char *)msg + fd->quantifier_offset) = n;
	for (size_t i = 0; i < n; i++) {
		json_object *item = json_object_array_get_idx(j, i);
		size_t mark = jp_path_push(p, "[%zu]", i);
		if (item == NULL)
			return jp_error(st, p, "a list element cannot be null");
		int rv = jp_get_value(fd, item, arr + i * size, p, st);
		if (rv != TB_OK)
			return rv;
		jp_path_pop(p, mark);
	}
	return TB_OK;
}

/* Sets a member of a oneof: only one member of each oneof may be given. */
static int jp_get_oneof(const ProtobufCMessageDescriptor *owner, const ProtobufCFieldDescriptor *fd,
                        json_object *j, void *msg, struct jp_path *p, tb_status *st)
{
	uint32_t *casep = (uint32_t *)((char *)msg + fd->quantifier_offset);
	char a[JP_NAME_MAX], b[JP_NAME_MAX];
	if (*casep != 0) {
		const ProtobufCFieldDescriptor *other = protobuf_c_message_descriptor_get_field(owner, *casep);
		return jp_error(st, p, "%s and %s are members of the same oneof: give only one",
		                other ? tb_json_field_name(other, a, sizeof(a)) : "another field",
		                tb_json_field_name(fd, b, sizeof(b)));
	}
	if (fd->type == PROTOBUF_C_TYPE_MESSAGE) {
		/* The case first, so the message is freed with its parent on error. */
		*casep = fd->id;
		return jp_get_value(fd, j, tbi_json_member(msg, fd), p, st);
	}
	int rv = jp_get_value(fd, j, tbi_json_member(msg, fd), p, st);
	if (rv == TB_OK)
		*casep = fd->id;
	return rv;
}

static int jp_get_field(const ProtobufCMessageDescriptor *owner, const ProtobufCFieldDescriptor *fd,
                        json_object *j, void *msg, struct jp_path *p, tb_status *st)
{
	if (fd->label == PROTOBUF_C_LABEL_REPEATED)
		return jp_get_repeated(owner, fd, j, msg, p, st);
	if (fd->flags & PROTOBUF_C_FIELD_FLAG_ONEOF)
		return jp_get_oneof(owner, fd, j, msg, p, st);
	int rv = jp_get_value(fd, j, tbi_json_member(msg, fd), p, st);
	if (rv == TB_OK && fd->label == PROTOBUF_C_LABEL_OPTIONAL &&
	    fd->type != PROTOBUF_C_TYPE_STRING && fd->type != PROTOBUF_C_TYPE_MESSAGE)
		*(protobuf_c_boolean *)((char *)msg + fd->quantifier_offset) = 1;
	return rv;
}

static const ProtobufCFieldDescriptor *jp_find_field(const ProtobufCMessageDescriptor *desc,
                                                     const char *key, unsigned *indexp)
{
	for (unsigned i = 0; i < desc->n_fields; i++) {
		if (jp_name_matches(&desc->fields[i], key)) {
			*indexp = i;
			return &desc->fields[i];
		}
	}
	return NULL;
}

static int jp_fill(const ProtobufCMessageDescriptor *desc, json_object *obj, ProtobufCMessage *msg,
                   struct jp_path *p, tb_status *st)
{
	bool *seen = calloc(desc->n_fields ? desc->n_fields : 1, sizeof(*seen));
	int rv = TB_OK;
	if (seen == NULL)
		return tb_status_set(st, TB_RESOURCE_EXHAUSTED, "out of memory");
	json_object_object_foreach(obj, key, val)
	{
		unsigned idx = 0;
		const ProtobufCFieldDescriptor *fd = jp_find_field(desc, key, &idx);
		size_t mark = jp_path_push(p, "%s%s", p->len ? "." : "", key);
		if (fd == NULL) {
			rv = jp_error(st, p, "unknown field of %s", desc->name);
			goto out;
		}
		if (seen[idx]) {
			rv = jp_error(st, p, "field %s given twice", fd->name);
			goto out;
		}
		seen[idx] = true;
		if (val != NULL && (rv = jp_get_field(desc, fd, val, msg, p, st)) != TB_OK)
			goto out;
		jp_path_pop(p, mark);
	}
out:
	free(seen);
	return rv;
}

int tb_json_to_message(const ProtobufCMessageDescriptor *desc, json_object *obj,
                       ProtobufCMessage **msgp, tb_status *st)
{
	struct jp_path path = {.len = 0};
	ProtobufCMessage *msg = NULL;
	int rv;
	path.buf[0] = '\0';
	if (obj == NULL || json_object_get_type(obj) != json_type_object) {
		rv = tb_status_set(st, TB_INVALID_ARGUMENT, "expected a JSON object (%s), got %s",
		                   desc->name, obj ? jp_type_name(obj) : "null");
		goto out;
	}
	if ((msg = jp_new_message(desc)) == NULL) {
		rv = tb_status_set(st, TB_RESOURCE_EXHAUSTED, "out of memory");
		goto out;
	}
	rv = jp_fill(desc, obj, msg, &path, st);
out:
	if (rv != TB_OK) {
		protobuf_c_message_free_unpacked(msg, NULL);
		msg = NULL;
	}
	*msgp = msg;
	return rv;
}

/* Line and column (from 1) of byte offset off in text. */
static void jp_position(const char *text, size_t off, unsigned *linep, unsigned *colp)
{
	unsigned line = 1, col = 1;
	for (size_t i = 0; i < off; i++) {
		if (text[i] == '\n') {
			line++;
			col = 1;
		} else {
			col++;
		}
	}
	*linep = line;
	*colp = col;
}

int tb_json_parse_message(const ProtobufCMessageDescriptor *desc, const char *text,
                          size_t len, ProtobufCMessage **msgp, tb_status *st)
{
	json_tokener *tok = json_tokener_new();
	json_object *obj = NULL;
	unsigned line, col;
	int rv = TB_OK;
	*msgp = NULL;
	if (tok == NULL)
		return tb_status_set(st, TB_RESOURCE_EXHAUSTED, "out of memory");
	if (len > INT32_MAX) {
		rv = tb_status_set(st, TB_RESOURCE_EXHAUSTED, "JSON text of %zu bytes is too long", len);
		goto out;
	}
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
	obj = json_tokener_parse_ex(tok, text, (int)len);
	enum json_tokener_error err = json_tokener_get_error(tok);
	size_t end = json_tokener_get_parse_end(tok);
	if (err == json_tokener_continue)
		err = json_tokener_error_parse_eof;
	while (err == json_tokener_success && end < len && isspace((unsigned char)text[end]))
		end++;
	if (err != json_tokener_success || end < len) {
		jp_position(text, end, &line, &col);
		rv = tb_status_set(st, TB_INVALID_ARGUMENT, "invalid JSON at line %u, column %u: %s",
		                   line, col,
		                   err != json_tokener_success ? json_tokener_error_desc(err)
		                                               : "unexpected text after the value");
		goto out;
	}
	rv = tb_json_to_message(desc, obj, msgp, st);
out:
	json_object_put(obj);
	json_tokener_free(tok);
	return rv;
}
