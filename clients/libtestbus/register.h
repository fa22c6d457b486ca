/* Dial-out registration of a component with a broker (register.c). */
#ifndef TESTBUS_REGISTER_H
#define TESTBUS_REGISTER_H

#include "internal.h"

typedef struct tbi_register tbi_register;

struct tbi_register_opts {
	const char *url;      /* the broker's listen address */
	tb_conn_opts conn;    /* TLS and token, as a client */
	uint32_t capacity;    /* worker loops, and the capacity registered; 0 means 1 */
	const char *prog;     /* for log lines */
};

/*
 * Registers srv's executor with the broker at o->url and pulls work for it
 * on capacity threads, each target run by srv's own Execute handler under a
 * lease renewed while it runs. Keeps the registration alive (heartbeats, and
 * registers again with backoff when the broker forgets it or goes away).
 * Does not block. Caller owns *rp; stop with tbi_register_stop().
 */
int tbi_register_start(tb_server *srv, const struct tbi_register_opts *o, tbi_register **rp,
                       tb_status *st);

/* Stops polling and waits for the threads (stop srv first to cancel running
 * work); frees r. r may be NULL. */
void tbi_register_stop(tbi_register *r);

#endif
