/* Describes the contract for `testbus call`: services, methods, messages and enums from the descriptors. */
#include <stdbool.h>
#include <string.h>

#include "testbus/proto.h"

#include "call.h"
#include "json_pb.h"

#define DESCRIBE_MAX_TYPES 128
#define DESCRIBE_PACKAGE "testbus.v1"

const ProtobufCServiceDescriptor *const call_services[] = {
	&testbus__v1__provisioner__descriptor,
	&testbus__v1__executor__descriptor,
	&testbus__v1__analyzer__descriptor,
	&testbus__v1__reporter__descriptor,
	&testbus__v1__component__descriptor,
	&testbus__v1__broker__descriptor,
	NULL,
};

/* Messages of the contract that no method takes or returns. */
static const ProtobufCMessageDescriptor *const describe_extra_messages[] = {
	&testbus__v1__request__descriptor,
	&testbus__v1__response__descriptor,
	&testbus__v1__event__descriptor,
	NULL,
};

static const char *const describe_scalar_names[] = {
	[PROTOBUF_C_TYPE_INT32] = "int32",     [PROTOBUF_C_TYPE_SINT32] = "sint32",
	[PROTOBUF_C_TYPE_SFIXED32] = "sfixed32", [PROTOBUF_C_TYPE_INT64] = "int64",
	[PROTOBUF_C_TYPE_SINT64] = "sint64",   [PROTOBUF_C_TYPE_SFIXED64] = "sfixed64",
	[PROTOBUF_C_TYPE_UINT32] = "uint32",   [PROTOBUF_C_TYPE_FIXED32] = "fixed32",
	[PROTOBUF_C_TYPE_UINT64] = "uint64",   [PROTOBUF_C_TYPE_FIXED64] = "fixed64",
	[PROTOBUF_C_TYPE_FLOAT] = "float",     [PROTOBUF_C_TYPE_DOUBLE] = "double",
	[PROTOBUF_C_TYPE_BOOL] = "bool",       [PROTOBUF_C_TYPE_STRING] = "string",
	[PROTOBUF_C_TYPE_BYTES] = "bytes",
};

/* The message and enum types to print, each once, in the order met. */
struct describe_set {
	const void *types[DESCRIBE_MAX_TYPES];
	bool is_enum[DESCRIBE_MAX_TYPES];
	size_t n;
};

const ProtobufCServiceDescriptor *call_find_service(const char *name)
{
	size_t plen = strlen(DESCRIBE_PACKAGE);
	if (name == NULL)
		return NULL;
	if (strncmp(name, DESCRIBE_PACKAGE ".", plen + 1) == 0)
		name += plen + 1;
	for (size_t i = 0; call_services[i] != NULL; i++) {
		if (strcmp(call_services[i]->short_name, name) == 0)
			return call_services[i];
	}
	return NULL;
}

/* A type's name without the package prefix. */
static const char *describe_short(const char *full)
{
	size_t plen = strlen(DESCRIBE_PACKAGE);
	if (strncmp(full, DESCRIBE_PACKAGE ".", plen + 1) == 0)
		return full + plen + 1;
	return full;
}

static bool describe_add(struct describe_set *set, const void *type, bool is_enum)
{
	for (size_t i = 0; i < set->n; i++) {
		if (set->types[i] == type)
			return false;
	}
	if (set->n == DESCRIBE_MAX_TYPES)
		return false;
	set->is_enum[set->n] = is_enum;
	set->types[set->n++] = type;
	return true;
}

/* Adds desc and every message and enum its fields use (map entries are shown as map<K, V>). */
static void describe_collect(struct describe_set *set, const ProtobufCMessageDescriptor *desc,
                             bool add_self)
{
	if (add_self && !describe_add(set, desc, false))
		return;
	for (unsigned i = 0; i < desc->n_fields; i++) {
		const ProtobufCFieldDescriptor *fd = &desc->fields[i];
		if (fd->type == PROTOBUF_C_TYPE_ENUM)
			describe_add(set, fd->descriptor, true);
		else if (fd->type == PROTOBUF_C_TYPE_MESSAGE)
			describe_collect(set, fd->descriptor, !tb_json_field_is_map(desc, fd));
	}
}

static void describe_type(FILE *out, const ProtobufCFieldDescriptor *fd)
{
	if (fd->type == PROTOBUF_C_TYPE_MESSAGE)
		fputs(describe_short(((const ProtobufCMessageDescriptor *)fd->descriptor)->name), out);
	else if (fd->type == PROTOBUF_C_TYPE_ENUM)
		fputs(describe_short(((const ProtobufCEnumDescriptor *)fd->descriptor)->name), out);
	else
		fputs(describe_scalar_names[fd->type], out);
}

static void describe_field(FILE *out, const ProtobufCMessageDescriptor *desc,
                           const ProtobufCFieldDescriptor *fd, const char *indent)
{
	char json[256];
	fputs(indent, out);
	if (tb_json_field_is_map(desc, fd)) {
		const ProtobufCMessageDescriptor *entry = fd->descriptor;
		fputs("map<", out);
		describe_type(out, &entry->fields[0]);
		fputs(", ", out);
		describe_type(out, &entry->fields[1]);
		fputs(">", out);
	} else {
		if (fd->label == PROTOBUF_C_LABEL_REPEATED)
			fputs("repeated ", out);
		describe_type(out, fd);
	}
	fprintf(out, " %s = %u;", fd->name, fd->id);
	if (strcmp(tb_json_field_name(fd, json, sizeof(json)), fd->name) != 0)
		fprintf(out, "  // JSON: %s", json);
	fputc('\n', out);
}

static void describe_message(FILE *out, const ProtobufCMessageDescriptor *desc)
{
	fprintf(out, "message %s {\n", desc->name);
	for (unsigned i = 0; i < desc->n_fields; i++) {
		const ProtobufCFieldDescriptor *fd = &desc->fields[i];
		if (!(fd->flags & PROTOBUF_C_FIELD_FLAG_ONEOF)) {
			describe_field(out, desc, fd, "  ");
			continue;
		}
		/* Members of one oneof share their case member. */
		fputs("  oneof {\n", out);
		unsigned q = fd->quantifier_offset;
		for (; i < desc->n_fields && (desc->fields[i].flags & PROTOBUF_C_FIELD_FLAG_ONEOF) &&
		       desc->fields[i].quantifier_offset == q;
		     i++)
			describe_field(out, desc, &desc->fields[i], "    ");
		i--;
		fputs("  }\n", out);
	}
	fputs("}\n", out);
}

static void describe_enum(FILE *out, const ProtobufCEnumDescriptor *desc)
{
	fprintf(out, "enum %s {\n", desc->name);
	for (unsigned i = 0; i < desc->n_values; i++)
		fprintf(out, "  %s = %d;\n", desc->values[i].name, desc->values[i].value);
	fputs("}\n", out);
}

/* Prints the types, separated by blank lines (and after one when after_text). */
static void describe_set_print(FILE *out, const struct describe_set *set, bool after_text)
{
	for (size_t i = 0; i < set->n; i++) {
		if (i > 0 || after_text)
			fputc('\n', out);
		if (set->is_enum[i])
			describe_enum(out, set->types[i]);
		else
			describe_message(out, set->types[i]);
	}
}

static void describe_method(FILE *out, const ProtobufCMethodDescriptor *m, const char *indent)
{
	fprintf(out, "%srpc %s(%s) returns (%s)\n", indent, m->name, describe_short(m->input->name),
	        describe_short(m->output->name));
}

static void describe_service(FILE *out, const ProtobufCServiceDescriptor *svc)
{
	fprintf(out, "service %s {\n", svc->name);
	for (unsigned i = 0; i < svc->n_methods; i++)
		describe_method(out, &svc->methods[i], "  ");
	fputs("}\n", out);
}

/* Finds a message or enum type of the contract by short or full name. */
static const void *describe_find_type(const char *name, bool *is_enum)
{
	struct describe_set all = {.n = 0};
	for (size_t i = 0; call_services[i] != NULL; i++) {
		for (unsigned m = 0; m < call_services[i]->n_methods; m++) {
			describe_collect(&all, call_services[i]->methods[m].input, true);
			describe_collect(&all, call_services[i]->methods[m].output, true);
		}
	}
	for (size_t i = 0; describe_extra_messages[i] != NULL; i++)
		describe_collect(&all, describe_extra_messages[i], true);
	for (size_t i = 0; i < all.n; i++) {
		const char *full = all.is_enum[i] ? ((const ProtobufCEnumDescriptor *)all.types[i])->name
		                                  : ((const ProtobufCMessageDescriptor *)all.types[i])->name;
		if (strcmp(full, name) == 0 || strcmp(describe_short(full), name) == 0) {
			*is_enum = all.is_enum[i];
			return all.types[i];
		}
	}
	return NULL;
}

static int describe_rpc(FILE *out, const ProtobufCServiceDescriptor *svc, const char *method)
{
	for (unsigned i = 0; i < svc->n_methods; i++) {
		const ProtobufCMethodDescriptor *m = &svc->methods[i];
		if (strcmp(m->name, method) != 0)
			continue;
		struct describe_set set = {.n = 0};
		fprintf(out, "%s/%s:\n", svc->name, m->name);
		describe_method(out, m, "  ");
		describe_collect(&set, m->input, true);
		describe_collect(&set, m->output, true);
		describe_set_print(out, &set, true);
		return 0;
	}
	return -1;
}

int call_describe(FILE *out, const char *target)
{
	char service[256];
	const char *slash = strchr(target, '/');
	bool is_enum = false;
	if (slash != NULL) {
		size_t n = (size_t)(slash - target);
		if (n >= sizeof(service))
			return -1;
		memcpy(service, target, n);
		service[n] = '\0';
		const ProtobufCServiceDescriptor *svc = call_find_service(service);
		return svc != NULL ? describe_rpc(out, svc, slash + 1) : -1;
	}
	const ProtobufCServiceDescriptor *svc = call_find_service(target);
	if (svc != NULL) {
		describe_service(out, svc);
		return 0;
	}
	const void *type = describe_find_type(target, &is_enum);
	if (type == NULL)
		return -1;
	if (is_enum) {
		describe_enum(out, type);
	} else {
		struct describe_set set = {.n = 0};
		describe_collect(&set, type, true);
		describe_set_print(out, &set, false);
	}
	return 0;
}
