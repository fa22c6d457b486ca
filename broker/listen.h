/* The Broker service for components that dial in: registrations, leases, pulled work. */
#ifndef TESTBUS_BROKER_LISTEN_H
#define TESTBUS_BROKER_LISTEN_H

#include <stddef.h>

#include "broker.h"

/* The lease of a registration and of a work item, and the heartbeat asked for. */
#define LISTEN_LEASE_MS 6000u
#define LISTEN_HEARTBEAT_MS 2000u
/* Most registered executors one run binds. */
#define LISTEN_MAX_BOUND 64

/*
 * Serves the Broker service on cfg->listen (address, TLS, token) when it has
 * an address; does nothing otherwise. Does not block. Errors are printed.
 * Stop with listen_stop().
 */
int listen_start(const struct broker_config *cfg);

/* Stops serving and frees every registration. Call after registry_stop(). */
void listen_stop(void);

/*
 * Waits up to cc->wait_ms for cc->min_count registrations matching cc's
 * selector (name, labels, token), then binds every matching one not bound
 * yet, up to max: out[i] becomes an executor (cfg, info, name, address,
 * capacity, remote), owned by the registry like any other. Blocks. Returns
 * how many were bound; below min_count, st says why.
 */
size_t listen_bind(const struct config_component *cc, struct comp *out, size_t max,
                   tb_status *st);

/* False once the registration of a bound executor has ended. */
bool listen_alive(struct comp *c);

/* Milliseconds since a registered executor last showed a sign of life. */
uint64_t listen_seen_ms_ago(struct comp *c);

/* Work items a registered executor holds now. */
uint32_t listen_running(struct comp *c);

/*
 * Runs target on the registered executor c: queues it as a work item (work
 * id the target id, attempt id target->attempt) and waits until the executor
 * hands back its result, its lease lapses, its registration ends or the run is
 * interrupted. On TB_OK the caller owns *resp (free with
 * protobuf_c_message_free_unpacked). A lost executor or lease gives
 * TB_UNAVAILABLE (and marks c lost when its registration has ended). Blocks.
 */
int listen_execute(struct comp *c, const Testbus__V1__ExecutionTarget *target,
                   uint32_t deadline_ms, Testbus__V1__ExecutionResult **resp, tb_status *st);

#endif
