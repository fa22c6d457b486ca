/* testbus-test-chaos-proxy: the relay between the broker and the component behind the proxy. */
#ifndef TESTBUS_TESTS_CHAOS_PROXY_H
#define TESTBUS_TESTS_CHAOS_PROXY_H

#include <nng/nng.h>
#include <stdint.h>
#include <sys/types.h>

/* What the proxy does to the calls of the faulted method. */
enum chaos_fault {
	CHAOS_NONE,  /* forwards them like every other call */
	CHAOS_HOLD,  /* the first (while no marker exists) is forwarded after hold_ms, or
	              * answered CANCELLED at once by its Cancel; the rest are forwarded */
	CHAOS_HANG,  /* never answers them, and ignores their Cancel */
	CHAOS_JUNK,  /* answers bytes that are no envelope at all */
	CHAOS_WRONG, /* answers a well-formed OK envelope whose payload is no message */
};

struct chaos_relay {
	nng_socket front;     /* raw REP: where the broker calls the proxy */
	nng_socket back;      /* raw REQ: dialled to the component behind */
	enum chaos_fault fault;
	const char *service;  /* faulted method's service, short ("Provisioner"); borrowed */
	const char *method;   /* faulted method ("Provision"); borrowed */
	const char *marker;   /* file written when the first faulted call arrives; may be NULL */
	uint32_t hold_ms;
	pid_t component_pid;  /* the component behind, named in the marker */
};

/* Parses a fault name ("none", "hold", ...); -1 when it is none of them. */
int chaos_fault_parse(const char *name, enum chaos_fault *faultp);

/*
 * Relays calls from front to back and answers back to front until the
 * sockets are closed. Blocks: run each direction on its own thread.
 */
void *chaos_relay_requests(void *relay);
void *chaos_relay_answers(void *relay);

#endif
