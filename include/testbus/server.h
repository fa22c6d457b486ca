/* The server side of the bus: the component SDK. */
#ifndef TESTBUS_SERVER_H
#define TESTBUS_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "testbus/arena.h"
#include "testbus/client.h"
#include "testbus/export.h"
#include "testbus/proto.h"
#include "testbus/status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct tb_server tb_server;
/* One call being served. Valid only inside the handler it is given to. */
typedef struct tb_call tb_call;

/*
 * A method handler. input is the unpacked request (borrowed). On success it
 * sets *outputp to a message of the method's output type, allocated from the
 * call's arena (tb_call_arena) or static, and returns TB_OK. On failure it
 * returns a status code, with a message set by tb_call_error. May block: it
 * runs on its own thread, and should return soon after tb_call_stopped()
 * turns true.
 */
typedef int (*tb_handler_fn)(tb_call *call, const ProtobufCMessage *input,
                             ProtobufCMessage **outputp, void *arg);

typedef struct tb_method {
	const char *name; /* as in the .proto, e.g. "Execute" */
	tb_handler_fn fn;
} tb_method;

/*
 * Called with the component's config (from --config or the Configure call)
 * before the calls it applies to. Borrowed: copy what you keep. Returns TB_OK
 * or a status code with a message in st.
 */
typedef int (*tb_configure_fn)(const Testbus__V1__ComponentConfig *config, void *arg,
                               tb_status *st);

typedef struct tb_server_opts {
	const char *name;
	Testbus__V1__ComponentKind kind;
	const char *version;
	uint32_t capacity;         /* calls of the service run at once; 0 means 1 */
	uint32_t control_slots;    /* extra receivers for Describe/Health/Cancel; 0 means 4 */
	uint32_t max_message_size; /* 0: TB_DEFAULT_MAX_MESSAGE */
	tb_tls_opts tls;           /* for tls+tcp:// listeners */
	const char *token;         /* when set, every request must carry it */
	const char *events_url;    /* where progress events are pushed; may be NULL */
	const tb_kv *labels;       /* reported by Describe; may be NULL */
	size_t n_labels;
	tb_configure_fn configure; /* may be NULL */
	void *arg;                 /* passed to configure and handlers */
} tb_server_opts;

/* Creates a server. Strings in opts are copied. Caller owns *srvp. */
TB_EXPORT int tb_server_alloc(const tb_server_opts *opts, tb_server **srvp, tb_status *st);

/*
 * Serves service with handlers for some of its methods (the others answer
 * UNIMPLEMENTED). Every name must be a method of service. Call before start.
 */
TB_EXPORT int tb_server_add_service(tb_server *srv, const ProtobufCServiceDescriptor *service,
                                    const tb_method *methods, size_t n_methods,
                                    tb_status *st);

/* Listens on url (ipc://, tcp://, tls+tcp://). May be called more than once. */
TB_EXPORT int tb_server_listen(tb_server *srv, const char *url, tb_status *st);

/* The address actually bound by the first listener (resolves tcp port 0). */
TB_EXPORT const char *tb_server_url(const tb_server *srv);

/* Starts the receiver threads. Does not block. */
TB_EXPORT int tb_server_start(tb_server *srv, tb_status *st);

/*
 * Stops the server: running handlers are told to stop (cancelled), new
 * requests are no longer taken, and after up to grace_ms for running handlers
 * to answer the socket is closed. Blocks until every thread has ended.
 * Idempotent.
 */
TB_EXPORT void tb_server_stop(tb_server *srv, uint32_t grace_ms);

/* Stops the server if needed and frees it. srv may be NULL. */
TB_EXPORT void tb_server_free(tb_server *srv);

/* Applies a config as Configure would. Borrowed. */
TB_EXPORT int tb_server_configure(tb_server *srv, const Testbus__V1__ComponentConfig *config,
                                  tb_status *st);

/* The number of service calls running now. */
TB_EXPORT uint32_t tb_server_running(tb_server *srv);

/* --- inside a handler --- */

/* The arena freed after the answer is sent. */
TB_EXPORT tb_arena *tb_call_arena(tb_call *call);

/* Sets the call's error message (printf style) and returns code. */
TB_EXPORT int tb_call_error(tb_call *call, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* True once the call was cancelled, its deadline passed or the server stops. */
TB_EXPORT bool tb_call_stopped(tb_call *call);

/* Why the call stopped: TB_OK (not stopped), TB_CANCELLED or TB_DEADLINE_EXCEEDED. */
TB_EXPORT int tb_call_stop_code(tb_call *call);

/*
 * Sleeps up to ms, waking early when the call stops. Returns
 * tb_call_stop_code() at wake-up.
 */
TB_EXPORT int tb_call_wait(tb_call *call, uint32_t ms);

/* Milliseconds left before the call's deadline (0 when passed). */
TB_EXPORT uint32_t tb_call_remaining_ms(tb_call *call);

TB_EXPORT uint64_t tb_call_id(const tb_call *call);

/* A request metadata value (e.g. "run-id"), or NULL. Borrowed from the call. */
TB_EXPORT const char *tb_call_metadata(const tb_call *call, const char *key);

/*
 * Pushes a progress event for this call to the events address, if one is
 * configured. Never blocks: dropped when the queue is full. Strings may be NULL.
 */
TB_EXPORT void tb_call_event(tb_call *call, Testbus__V1__EventKind kind, const char *test_name,
                             const char *message, double percent);

/* --- running a component process --- */

typedef struct tb_component {
	const char *name;                  /* e.g. "shell" */
	Testbus__V1__ComponentKind kind;
	const char *version;               /* NULL: the library version */
	const char *summary;               /* one line for --help */
	const ProtobufCServiceDescriptor *service;
	const tb_method *methods;
	size_t n_methods;
	tb_configure_fn configure;         /* may be NULL */
	void *arg;
	uint32_t default_capacity;         /* 0 means 1 */
	const char *config_help;           /* extra --help text on its config keys; may be NULL */
} tb_component;

/*
 * The main() of a component process: parses the standard options (--listen,
 * --capacity, --config, --events, --token, --tls-*, --insecure, --labels,
 * --help, --version), serves until SIGTERM or SIGINT (or the parent's death
 * when spawned by the broker, which sets TESTBUS_PARENT_PID), then stops
 * cleanly. SIGTERM, SIGINT and SIGHUP are blocked in every thread so that the
 * main thread can wait for them: a child process started by a handler must
 * reset its signal mask (posix_spawnattr_setsigmask with POSIX_SPAWN_SETSIGMASK).
 * SIGPIPE is ignored. Returns the process exit status.
 */
TB_EXPORT int tb_component_main(const tb_component *comp, int argc, char **argv);

#ifdef __cplusplus
}
#endif

#endif
