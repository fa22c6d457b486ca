/* `testbus call`: parses the command line, converts JSON, makes the call and prints the answer. */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testbus/testbus.h"

#include "call.h"
#include "json_pb.h"

#define CALL_MAX_HEADERS 32
#define CALL_MAX_INPUT (64u * 1024u * 1024u)

struct call_opts {
	uint32_t deadline_ms;
	tb_kv headers[CALL_MAX_HEADERS];
	size_t n_headers;
	const char *token;
	tb_tls_opts tls;
	uint64_t call_id;
	unsigned json_flags;
	bool help;
	const char *args[3]; /* ADDRESS, command, JSON */
	size_t n_args;
};

enum call_opt_kind { CALL_OPT_DEADLINE, CALL_OPT_HEADER, CALL_OPT_STRING, CALL_OPT_CALL_ID,
	             CALL_OPT_FLAG };

static const struct call_option {
	const char *name;
	const char *alias;
	enum call_opt_kind kind;
	size_t offset; /* of the const char * or unsigned flag word it sets */
	unsigned bit;  /* for CALL_OPT_FLAG: the json_flags bit; 0 means help */
	const char *help;
} call_options[] = {
	{"--deadline", NULL, CALL_OPT_DEADLINE, 0, 0,
	 "DURATION  time allowed for the call: 500ms, 30s, 5m, 1h (default: the method's)"},
	{"--header", "-H", CALL_OPT_HEADER, 0, 0, "KEY=VALUE  request metadata, e.g. run-id=r1 (repeatable)"},
	{"--token", NULL, CALL_OPT_STRING, offsetof(struct call_opts, token), 0,
	 "TOKEN     identity token (default: $TESTBUS_TOKEN)"},
	{"--tls-ca", NULL, CALL_OPT_STRING, offsetof(struct call_opts, tls.ca_file), 0,
	 "FILE      CA certificate (PEM) that signed the component's certificate"},
	{"--tls-cert", NULL, CALL_OPT_STRING, offsetof(struct call_opts, tls.cert_file), 0,
	 "FILE      client certificate (PEM) for mutual TLS"},
	{"--tls-key", NULL, CALL_OPT_STRING, offsetof(struct call_opts, tls.key_file), 0,
	 "FILE      private key (PEM) of --tls-cert"},
	{"--tls-server-name", NULL, CALL_OPT_STRING, offsetof(struct call_opts, tls.server_name), 0,
	 "NAME      name to verify in the certificate (default: the address's host)"},
	{"--call-id", NULL, CALL_OPT_CALL_ID, 0, 0,
	 "N         call id to send (default: a fresh one); re-using one re-sends that call"},
	{"--emit-defaults", NULL, CALL_OPT_FLAG, 0, TB_JSON_EMIT_DEFAULTS,
	 "          print fields that hold their default value too"},
	{"--help", "-h", CALL_OPT_FLAG, 0, 0, "          print this help"},
};

#define CALL_N_OPTIONS (sizeof(call_options) / sizeof(call_options[0]))

static void call_usage(FILE *out, const char *prog)
{
	fprintf(out,
	        "usage: %1$s [options] ADDRESS Service/Method [JSON | -]\n"
	        "       %1$s [options] ADDRESS list\n"
	        "       %1$s [options] ADDRESS describe [Service[/Method] | Message]\n"
	        "\n"
	        "Calls a method of the component at ADDRESS (ipc://PATH, tcp://HOST:PORT,\n"
	        "tls+tcp://HOST:PORT) with the JSON input (\"-\": read stdin; none: {}) and\n"
	        "prints the answer as JSON. Services may be named short (Executor) or full\n"
	        "(testbus.v1.Executor). list asks the component which services it serves;\n"
	        "describe shows methods and message fields (without calling anything).\n"
	        "\noptions:\n",
	        prog);
	for (size_t i = 0; i < CALL_N_OPTIONS; i++)
		fprintf(out, "  %-4s %-15s %s\n", call_options[i].alias ? call_options[i].alias : "",
		        call_options[i].name, call_options[i].help);
	fprintf(out,
	        "\nexit status: 0 on success, %d on a bad command line, and %d plus the status\n"
	        "code when the call fails, e.g. %d INVALID_ARGUMENT (bad JSON), %d DEADLINE_EXCEEDED,\n"
	        "%d UNIMPLEMENTED, %d UNAVAILABLE, %d UNAUTHENTICATED. The failure is printed\n"
	        "on stderr as CODE_NAME: message.\n",
	        CALL_EXIT_USAGE, CALL_EXIT_STATUS_BASE, CALL_EXIT_STATUS_BASE + TB_INVALID_ARGUMENT,
	        CALL_EXIT_STATUS_BASE + TB_DEADLINE_EXCEEDED, CALL_EXIT_STATUS_BASE + TB_UNIMPLEMENTED,
	        CALL_EXIT_STATUS_BASE + TB_UNAVAILABLE, CALL_EXIT_STATUS_BASE + TB_UNAUTHENTICATED);
}

/* Parses "1500", "1500ms", "30s", "5m" or "1h" into milliseconds. */
static int call_parse_duration(const char *text, uint32_t *msp)
{
	static const struct {
		const char *suffix;
		unsigned long long ms;
	} units[] = {{"", 1}, {"ms", 1}, {"s", 1000}, {"m", 60000}, {"h", 3600000}};
	char *end;
	errno = 0;
	unsigned long long n = strtoull(text, &end, 10);
	if (errno != 0 || end == text || text[0] == '-')
		return -1;
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		if (strcmp(end, units[i].suffix) == 0 && n > 0 && n <= UINT32_MAX / units[i].ms) {
			*msp = (uint32_t)(n * units[i].ms);
			return 0;
		}
	}
	return -1;
}

static int call_set_option(struct call_opts *o, const struct call_option *opt, const char *value,
                           const char *prog)
{
	char *end;
	switch (opt->kind) {
	case CALL_OPT_DEADLINE:
		if (call_parse_duration(value, &o->deadline_ms) == 0)
			return 0;
		fprintf(stderr, "%s: --deadline needs a duration such as 500ms, 30s or 5m, not '%s'\n",
		        prog, value);
		return -1;
	case CALL_OPT_HEADER: {
		const char *eq = strchr(value, '=');
		if (eq == NULL || eq == value || o->n_headers == CALL_MAX_HEADERS) {
			fprintf(stderr, "%s: -H needs key=value (at most %d), not '%s'\n", prog,
			        CALL_MAX_HEADERS, value);
			return -1;
		}
		/* The key is cut at '=' in place: argv strings are writable. */
		*(char *)eq = '\0';
		o->headers[o->n_headers].key = value;
		o->headers[o->n_headers++].value = eq + 1;
		return 0;
	}
	case CALL_OPT_STRING:
		*(const char **)((char *)o + opt->offset) = value;
		return 0;
	case CALL_OPT_CALL_ID:
		errno = 0;
		o->call_id = strtoull(value, &end, 10);
		if (errno == 0 && *end == '\0' && o->call_id != 0 && value[0] != '-')
			return 0;
		fprintf(stderr, "%s: --call-id needs a positive number, not '%s'\n", prog, value);
		return -1;
	case CALL_OPT_FLAG:
		if (opt->bit == 0)
			o->help = true;
		o->json_flags |= opt->bit;
		return 0;
	}
	return -1;
}

static const struct call_option *call_find_option(const char *arg, size_t len)
{
	for (size_t i = 0; i < CALL_N_OPTIONS; i++) {
		const struct call_option *opt = &call_options[i];
		if ((strlen(opt->name) == len && strncmp(opt->name, arg, len) == 0) ||
		    (opt->alias != NULL && strlen(opt->alias) == len && strncmp(opt->alias, arg, len) == 0))
			return opt;
	}
	return NULL;
}

static int call_parse(int argc, char **argv, struct call_opts *o, const char *prog)
{
	bool options_done = false;
	for (int i = 1; i < argc; i++) {
		char *arg = argv[i];
		if (options_done || arg[0] != '-' || strcmp(arg, "-") == 0) {
			if (o->n_args == 3) {
				fprintf(stderr, "%s: unexpected argument '%s' (see --help)\n", prog, arg);
				return -1;
			}
			o->args[o->n_args++] = arg;
			continue;
		}
		if (strcmp(arg, "--") == 0) {
			options_done = true;
			continue;
		}
		size_t len = strcspn(arg, "=");
		const struct call_option *opt = call_find_option(arg, len);
		if (opt == NULL) {
			fprintf(stderr, "%s: unknown option %s (see --help)\n", prog, arg);
			return -1;
		}
		const char *value = arg[len] == '=' ? arg + len + 1 : NULL;
		if (opt->kind != CALL_OPT_FLAG && value == NULL) {
			if (i + 1 >= argc) {
				fprintf(stderr, "%s: %s needs a value\n", prog, opt->name);
				return -1;
			}
			value = argv[++i];
		}
		if (call_set_option(o, opt, value, prog) != 0)
			return -1;
	}
	return 0;
}

/* Reads all of stdin. Caller owns *textp (free()). */
static int call_read_stdin(char **textp, size_t *lenp, tb_status *st)
{
	size_t len = 0, cap = 0;
	char *buf = NULL;
	int rv = TB_OK;
	for (;;) {
		if (len + 4096 > cap) {
			char *grown = cap < CALL_MAX_INPUT ? realloc(buf, cap = cap ? cap * 2 : 8192) : NULL;
			if (grown == NULL) {
				rv = tb_status_set(st, TB_RESOURCE_EXHAUSTED,
				                   "input JSON is larger than %u bytes", CALL_MAX_INPUT);
				goto out;
			}
			buf = grown;
		}
		size_t n = fread(buf + len, 1, cap - len - 1, stdin);
		len += n;
		if (n == 0)
			break;
	}
	if (ferror(stdin))
		rv = tb_status_set(st, TB_INVALID_ARGUMENT, "cannot read stdin: %s", strerror(errno));
	buf[len] = '\0';
out:
	if (rv != TB_OK) {
		free(buf);
		buf = NULL;
	}
	*textp = buf;
	*lenp = len;
	return rv;
}

/* Builds the method's input from the JSON argument ("-": stdin; none: {}). */
static int call_input(const ProtobufCMethodDescriptor *m, const char *json, ProtobufCMessage **inp,
                      tb_status *st)
{
	char *text = NULL;
	size_t len;
	int rv;
	if (json == NULL)
		json = "{}";
	if (strcmp(json, "-") == 0) {
		if ((rv = call_read_stdin(&text, &len, st)) != TB_OK)
			return rv;
		json = text;
	} else {
		len = strlen(json);
	}
	rv = tb_json_parse_message(m->input, json, len, inp, st);
	if (rv != TB_OK) {
		char msg[TB_STATUS_MESSAGE_MAX];
		snprintf(msg, sizeof(msg), "%s", st->message);
		tb_status_set(st, rv, "%s input: %s", m->input->name, msg);
	}
	free(text);
	return rv;
}

static const ProtobufCMethodDescriptor *call_method(const char *target, tb_status *st)
{
	char service[256];
	const char *slash = strchr(target, '/');
	size_t n = slash ? (size_t)(slash - target) : 0;
	if (slash == NULL || n == 0 || n >= sizeof(service)) {
		tb_status_set(st, TB_INVALID_ARGUMENT, "'%s' is not Service/Method, list or describe",
		              target);
		return NULL;
	}
	memcpy(service, target, n);
	service[n] = '\0';
	const ProtobufCServiceDescriptor *svc = call_find_service(service);
	if (svc == NULL) {
		tb_status_set(st, TB_UNIMPLEMENTED, "unknown service %s (see describe)", service);
		return NULL;
	}
	for (unsigned i = 0; i < svc->n_methods; i++) {
		if (strcmp(svc->methods[i].name, slash + 1) == 0)
			return &svc->methods[i];
	}
	tb_status_set(st, TB_UNIMPLEMENTED, "%s has no method %s (see describe %s)", svc->name,
	              slash + 1, svc->short_name);
	return NULL;
}

static const ProtobufCServiceDescriptor *call_service_of(const ProtobufCMethodDescriptor *m)
{
	for (size_t i = 0; call_services[i] != NULL; i++) {
		if (m >= call_services[i]->methods &&
		    m < call_services[i]->methods + call_services[i]->n_methods)
			return call_services[i];
	}
	return NULL;
}

static int call_open(const struct call_opts *o, tb_conn **connp, tb_status *st)
{
	tb_conn_opts co = {.tls = o->tls, .token = o->token};
	return tb_conn_open(o->args[0], &co, connp, st);
}

static void call_print(const ProtobufCMessage *msg, unsigned flags)
{
	char *text = NULL;
	tb_status st;
	if (tb_json_format_message(msg, flags | TB_JSON_PRETTY, &text, &st) == TB_OK)
		printf("%s\n", text);
	else
		fprintf(stderr, "%s: %s\n", tb_strerror(st.code), st.message);
	free(text);
}

/* Service/Method: JSON in, call, JSON out. */
static int call_method_run(const struct call_opts *o, tb_status *st)
{
	const ProtobufCMethodDescriptor *m = call_method(o->args[1], st);
	ProtobufCMessage *in = NULL, *out = NULL;
	uint8_t *payload = NULL, *answer = NULL;
	size_t len = 0, answer_len = 0;
	tb_conn *conn = NULL;
	int rv;
	if (m == NULL)
		return st->code;
	if ((rv = call_input(m, o->n_args > 2 ? o->args[2] : NULL, &in, st)) != TB_OK)
		goto out;
	len = protobuf_c_message_get_packed_size(in);
	if (len > 0 && (payload = malloc(len)) == NULL) {
		rv = tb_status_set(st, TB_RESOURCE_EXHAUSTED, "out of memory");
		goto out;
	}
	protobuf_c_message_pack(in, payload);
	if ((rv = call_open(o, &conn, st)) != TB_OK)
		goto out;
	tb_call_opts co = {.deadline_ms = o->deadline_ms, .metadata = o->headers,
	                   .n_metadata = o->n_headers, .call_id = o->call_id};
	rv = tb_invoke_raw(conn, call_service_of(m)->name, m->name, payload, len, &answer,
	                   &answer_len, &co, st);
	if (rv != TB_OK)
		goto out;
	out = protobuf_c_message_unpack(m->output, NULL, answer_len, answer);
	if (out == NULL) {
		rv = tb_status_set(st, TB_DATA_LOSS, "the answer is not a valid %s", m->output->name);
		goto out;
	}
	call_print(out, o->json_flags);
out:
	protobuf_c_message_free_unpacked(in, NULL);
	protobuf_c_message_free_unpacked(out, NULL);
	free(payload);
	free(answer);
	tb_conn_close(conn);
	return rv;
}

/* list: Describe the component, then its services and their methods. */
static int call_list(const struct call_opts *o, tb_status *st)
{
	Testbus__V1__ComponentInfo *info = NULL;
	tb_conn *conn = NULL;
	int rv;
	if ((rv = call_open(o, &conn, st)) != TB_OK)
		goto out;
	if ((rv = tb_handshake(conn, o->deadline_ms, &info, st)) != TB_OK)
		goto out;
	const ProtobufCEnumValue *kind =
	    protobuf_c_enum_descriptor_get_value(&testbus__v1__component_kind__descriptor, info->kind);
	printf("component %s (%s), version %s, protocol %u, capacity %u, pid %lld\n", info->name,
	       kind ? kind->name : "?", info->version, info->protocol_version, info->capacity,
	       (long long)info->pid);
	/* Every component serves Component, whether it lists it or not. */
	bool control = false;
	for (size_t i = 0; i < info->n_services; i++)
		control |= strcmp(info->services[i], testbus__v1__component__descriptor.name) == 0;
	if (!control)
		call_describe(stdout, testbus__v1__component__descriptor.name);
	for (size_t i = 0; i < info->n_services; i++) {
		if (call_describe(stdout, info->services[i]) != 0)
			printf("service %s {} // not in this testbus's contract\n", info->services[i]);
	}
out:
	if (info != NULL)
		protobuf_c_message_free_unpacked(&info->base, NULL);
	tb_conn_close(conn);
	return rv;
}

static int call_run(const struct call_opts *o, tb_status *st)
{
	const char *cmd = o->args[1];
	if (strcmp(cmd, "list") == 0)
		return call_list(o, st);
	if (strcmp(cmd, "describe") == 0) {
		if (o->n_args < 3) {
			for (size_t i = 0; call_services[i] != NULL; i++) {
				if (i > 0)
					putchar('\n');
				call_describe(stdout, call_services[i]->name);
			}
			return TB_OK;
		}
		if (call_describe(stdout, o->args[2]) == 0)
			return TB_OK;
		return tb_status_set(st, TB_NOT_FOUND, "no service, method or message named %s",
		                     o->args[2]);
	}
	return call_method_run(o, st);
}

int call_main(int argc, char **argv)
{
	struct call_opts o = {.token = getenv("TESTBUS_TOKEN")};
	const char *prog = argc > 0 && argv[0] != NULL ? argv[0] : "call";
	tb_status st = {0};
	if (call_parse(argc, argv, &o, prog) != 0)
		return CALL_EXIT_USAGE;
	if (o.help) {
		call_usage(stdout, prog);
		return CALL_EXIT_OK;
	}
	if (o.n_args < 2) {
		fprintf(stderr, "%s: needs ADDRESS and Service/Method, list or describe (see --help)\n",
		        prog);
		return CALL_EXIT_USAGE;
	}
	int rv = call_run(&o, &st);
	fflush(stdout);
	if (rv == TB_OK)
		return CALL_EXIT_OK;
	fprintf(stderr, "%s: %s\n", tb_strerror(rv), st.message);
	return CALL_EXIT_STATUS_BASE + rv;
}
