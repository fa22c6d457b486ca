/* The connection object shared by conn.c and call.c. */
#ifndef TESTBUS_CONN_H
#define TESTBUS_CONN_H

#include <pthread.h>
#include <stdatomic.h>

#include "internal.h"

#define CONN_MAX_PIPES 8

/* A reusable context and aio pair: one call at a time uses it. */
struct conn_slot {
	nng_ctx ctx;
	nng_aio *aio;
	struct conn_slot *next_all; /* every slot of the connection, for close */
};

/* A call in flight, tracked so a lost peer can end it. */
struct conn_call {
	struct conn_call *next, *prev;
	struct conn_slot *slot;
	bool peer_lost; /* set under the connection's lock */
};

struct tb_conn {
	nng_socket sock;
	bool sock_open;
	nng_dialer dialer;
	nng_tls_config *tls;
	char *url;
	char *token;
	uint32_t open_max;
	_Atomic uint32_t max_msg;

	/* Held shared while an NNG operation is started, exclusively to close:
	 * starting an operation while the socket closes is not safe in NNG
	 * 1.5.2, and closing a context with a request in flight can hang the
	 * socket's close. */
	pthread_rwlock_t ops;
	bool ops_closed; /* under ops */

	pthread_mutex_t mu;
	pthread_cond_t cv; /* active reaching 0, a pipe being added */
	struct conn_call *calls;
	struct conn_slot *all_slots;
	struct conn_slot **free_slots;
	size_t n_free, cap_free;
	unsigned active;
	uint32_t pipe_ids[CONN_MAX_PIPES]; /* pipes up now, by NNG pipe id */
	int pipes;
	bool ever_connected;
	pid_t peer_pid;
	_Atomic uint32_t noted_pipe; /* the pipe whose peer pid peer_pid is */
	bool closing;
};

/*
 * Ends the calls in flight (TB_CANCELLED) and refuses new ones, without
 * waiting or freeing: other threads may still hold conn until tb_conn_close.
 */
void tbi_conn_shutdown(tb_conn *conn);

/* Takes a slot for one call; counts the call as active. Give it back with put. */
int tbi_conn_slot_get(tb_conn *conn, struct conn_slot **slotp, tb_status *st);
void tbi_conn_slot_put(tb_conn *conn, struct conn_slot *slot);

void tbi_conn_track(tb_conn *conn, struct conn_call *call);
/* Stops tracking call; returns whether its peer was lost meanwhile. */
bool tbi_conn_untrack(tb_conn *conn, struct conn_call *call);

/* Starts an operation on a slot unless the connection is closing. */
int tbi_conn_start(tb_conn *conn, struct conn_slot *slot, bool send);

/* Waits until a pipe is up or the monotonic deadline passes. */
bool tbi_conn_wait_connected(tb_conn *conn, uint64_t deadline);
/* Records the process id of the ipc peer behind pipe p (the one that answered). */
void tbi_conn_note_peer(tb_conn *conn, nng_pipe p);
void tbi_conn_state(tb_conn *conn, int *pipesp, bool *everp);

#endif
