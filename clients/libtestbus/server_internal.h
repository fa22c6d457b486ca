/* The server object shared by the server_*.c files and dedup.c. */
#ifndef TESTBUS_SERVER_INTERNAL_H
#define TESTBUS_SERVER_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>

#include "internal.h"

#define SERVER_MAX_LISTENERS 8

/* Answers kept for re-sent calls (same call id): bounded by count and bytes. */
struct dedup_entry {
	struct dedup_entry *next_in_bucket;
	struct dedup_entry *newer, *older; /* age order, for eviction */
	uint64_t id;
	bool done;
	uint8_t *answer; /* packed Response; owned */
	size_t len;
	uint64_t finished_at;
};

#define DEDUP_BUCKETS 512

struct dedup {
	struct dedup_entry *buckets[DEDUP_BUCKETS]; /* by call id */
	struct dedup_entry *newest, *oldest;
	size_t n_done;
	size_t bytes;
};

enum dedup_state { DEDUP_NEW, DEDUP_RUNNING, DEDUP_DONE };

/* All dedup functions are called with the server's lock held. */
enum dedup_state tbi_dedup_begin(struct dedup *d, uint64_t id);
/* Records the answer of call id (copied). On copy failure the entry is dropped. */
void tbi_dedup_finish(struct dedup *d, uint64_t id, const uint8_t *answer, size_t len,
                      uint64_t now);
void tbi_dedup_forget(struct dedup *d, uint64_t id);
/* The stored answer of a finished call, borrowed; NULL while running or unknown. */
const uint8_t *tbi_dedup_answer(struct dedup *d, uint64_t id, size_t *lenp, bool *knownp);
void tbi_dedup_fini(struct dedup *d);

struct server_service {
	const ProtobufCServiceDescriptor *desc;
	tb_handler_fn *handlers; /* one per method, by method index; NULL: unimplemented */
	bool control;            /* the built-in Component service */
};

struct server_worker {
	tb_server *srv;
	pthread_t thread;
	bool thread_started;
	nng_ctx ctx;
	nng_aio *aio;
};

struct tb_call {
	tb_server *srv;
	struct tb_call *next, *prev;
	uint64_t id;
	uint64_t deadline; /* monotonic ms */
	_Atomic bool cancelled;
	tb_arena *arena;
	const Testbus__V1__Request *req;
	char error[TB_STATUS_MESSAGE_MAX];
};

struct tb_server {
	char *name;
	char *version;
	char *token;
	char *events_url;
	char *tls_ca, *tls_cert, *tls_key;
	Testbus__V1__ComponentKind kind;
	uint32_t capacity;
	uint32_t control_slots;
	uint32_t max_msg;
	tb_kv *labels; /* keys and values owned */
	size_t n_labels;
	tb_configure_fn configure;
	void *arg;

	nng_socket sock;
	bool sock_open;
	nng_listener listeners[SERVER_MAX_LISTENERS];
	size_t n_listeners;
	nng_tls_config *tls;
	char *url;

	struct server_service *services;
	size_t n_services;
	struct server_worker *workers;
	size_t n_workers;

	nng_socket events;
	bool events_open;

	/* Held shared while a worker starts an NNG operation, exclusively to
	 * close (see struct tb_conn for why). */
	pthread_rwlock_t ops;
	bool ops_closed; /* under ops */

	pthread_mutex_t mu;
	pthread_cond_t cv; /* CLOCK_MONOTONIC: call state changes */
	struct tb_call *running;
	uint32_t n_running; /* service calls only */
	uint32_t n_busy;    /* workers between a request and its answer */
	_Atomic bool stopping;
	bool started;
	bool stopped;
	struct dedup dedup;
};

/* Handles one request message (consumed); returns the answer to send, or NULL. */
nng_msg *tbi_server_handle(tb_server *srv, nng_msg *msg);

/*
 * Runs handler fn of method m on input as call (filled by the caller: srv,
 * id, deadline, arena, req), tracked among the running calls so that a stop
 * or Cancel reaches it. Returns the handler's code, turned into
 * TB_DEADLINE_EXCEEDED past the deadline and TB_INTERNAL for an answer of the
 * wrong type; *outputp is the answer on TB_OK (in the call's arena or static),
 * *messagep the error message otherwise (borrowed from call). The call stays
 * tracked until tbi_server_untrack.
 */
int tbi_server_invoke(tb_server *srv, tb_call *call, const ProtobufCMethodDescriptor *m,
                      tb_handler_fn fn, const ProtobufCMessage *input,
                      ProtobufCMessage **outputp, const char **messagep);

/*
 * Ends the tracking of call. For a service call (counted in n_running),
 * records answer (may be NULL) for re-sent calls of the same id.
 */
void tbi_server_untrack(tb_server *srv, tb_call *call, bool service_call, const nng_msg *answer);

/* Marks call cancelled and wakes it (tb_call_wait). */
void tbi_call_cancel(tb_call *call);

/* The built-in Component service's method table, by method index. */
extern const tb_handler_fn tbi_control_handlers[];
extern const size_t tbi_n_control_handlers;

/* Absolute CLOCK_MONOTONIC time ms from now, for pthread_cond_timedwait. */
struct timespec tbi_abstime(uint64_t deadline_ms);

#endif
