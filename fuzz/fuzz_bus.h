/* Driving an in-process component server with packed requests, and checking its answers. */
#ifndef TESTBUS_FUZZ_BUS_H
#define TESTBUS_FUZZ_BUS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "testbus/testbus.h"

/* Aborts with what when cond is false: the fuzzer's report of a broken promise. */
void fuzz_require(bool cond, const char *what);

/*
 * Creates a server named name of kind, serving service with methods (may
 * be NULL), configured by configure (may be NULL) with arg. Aborts when it
 * cannot: a fuzz target has no other way to say so. Caller owns the result;
 * free with tb_server_free().
 */
tb_server *fuzz_server_alloc(const char *name, Testbus__V1__ComponentKind kind,
                             const ProtobufCServiceDescriptor *service, const tb_method *methods,
                             size_t n_methods, tb_configure_fn configure, void *arg);

/*
 * Hands the len bytes at request (borrowed) to srv as one received request
 * and checks the answer: there is one, it decodes as a Response with a
 * status, and only an OK answer carries a payload. Returns the answer's
 * status code, or -1 when out of memory.
 */
int fuzz_server_send(tb_server *srv, const uint8_t *request, size_t len);

/*
 * Packs an envelope for service/method around the len bytes at payload
 * (borrowed), with the given call id and a deadline of deadline_ms (0: the
 * method's default). Caller owns *outp; free with free(). Returns TB_OK or
 * TB_RESOURCE_EXHAUSTED.
 */
int fuzz_request_pack(const char *service, const char *method, uint64_t call_id,
                      uint32_t deadline_ms, const uint8_t *payload, size_t len, uint8_t **outp,
                      size_t *lenp);

#endif
