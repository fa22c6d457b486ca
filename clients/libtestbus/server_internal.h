/* The server object shared by the server_*.c files and dedup.c. */
#ifndef TESTBUS_SERVER_INTERNAL_H
#define TESTBUS_SERVER_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>

#include "internal.h"

#define SERVER_MAX_LISTENERS 8

/* Answers kept for re-sent calls (same call id): bounded by count and bytes. */
struct dedup_entry {
	struct dedup_entry *next;
	uint64_t id;
	bool done;
	uint8_t *answer; /* packed Response; owned */
	size_t len;
	uint64_t finished_at;
};

struct dedup {
	struct dedup_entry *head; /* newest first */
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

/* The built-in Component service's method table, by method index. */
extern const tb_handler_fn tbi_control_handlers[];
extern const size_t tbi_n_control_handlers;

/* Absolute CLOCK_MONOTONIC time ms from now, for pthread_cond_timedwait. */
struct timespec tbi_abstime(uint64_t deadline_ms);

#endif
