/* Library-internal declarations of libtestbus (prefix tbi_). */
#ifndef TESTBUS_INTERNAL_H
#define TESTBUS_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <nng/nng.h>
#include <nng/supplemental/tls/tls.h>

#include "testbus/testbus.h"

/* Monotonic clock and wall clock, in milliseconds. */
uint64_t tbi_clock_ms(void);
int64_t tbi_wall_ms(void);

/* The one translation of NNG errors into status codes. */
int tbi_code_from_nng(int nng_rv);

/* Sets st from an NNG error, prefixed by what was being done. */
int tbi_status_nng(tb_status *st, int nng_rv, const char *what, const char *url);

/*
 * Builds a TLS configuration for a dialer (server_mode false) or a listener
 * from opts. Caller owns *cfgp; free with nng_tls_config_free().
 */
int tbi_tls_config(const tb_tls_opts *opts, bool server_mode, const char *url,
                   nng_tls_config **cfgp, tb_status *st);

/* True when url uses the tls+tcp transport. */
bool tbi_url_is_tls(const char *url);

/* A heap copy of s (NULL gives NULL); NULL on out of memory. */
char *tbi_strdup(const char *s);

/*
 * Packs msg into a new NNG message. Caller owns *nmsgp. Fails with
 * TB_RESOURCE_EXHAUSTED when it would exceed limit bytes.
 */
int tbi_pack_nng(const ProtobufCMessage *msg, size_t limit, nng_msg **nmsgp, tb_status *st);

/*
 * Packs msg into a heap buffer. Caller owns *bufp (free()). An empty message
 * gives *bufp == NULL and *lenp == 0.
 */
int tbi_pack_buf(const ProtobufCMessage *msg, uint8_t **bufp, size_t *lenp);

/* The full name of a service descriptor's Component control service. */
#define TBI_COMPONENT_SERVICE "testbus.v1.Component"

/* Finds method in service; -1 when absent. Never trusts protobuf-c's asserts. */
int tbi_method_index(const ProtobufCServiceDescriptor *service, const char *method);

/* Pushes a packed event on a PUSH socket without blocking. */
void tbi_event_push(nng_socket sock, const Testbus__V1__Event *ev);

#endif
