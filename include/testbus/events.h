/* Receiving the progress events components push while calls run. */
#ifndef TESTBUS_EVENTS_H
#define TESTBUS_EVENTS_H

#include <stdint.h>

#include "testbus/export.h"
#include "testbus/proto.h"
#include "testbus/status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct tb_events tb_events;

/* Listens for events on url (NNG PULL). Caller owns *evp. */
TB_EXPORT int tb_events_open(const char *url, uint32_t max_message_size, tb_events **evp,
                             tb_status *st);

/*
 * Waits up to timeout_ms for the next event. TB_OK with *eventp set (caller
 * owns it; free with protobuf_c_message_free_unpacked(&ev->base, NULL)),
 * TB_DEADLINE_EXCEEDED when none came, TB_CANCELLED after tb_events_close.
 * Malformed events are skipped.
 */
TB_EXPORT int tb_events_recv(tb_events *ev, uint32_t timeout_ms, Testbus__V1__Event **eventp);

/*
 * Makes the tb_events_recv waiting now, or the next one, return TB_CANCELLED
 * at once. Safe from another thread while tb_events_recv runs.
 */
TB_EXPORT void tb_events_interrupt(tb_events *ev);

/* Stops receiving and frees ev. ev may be NULL. Not while tb_events_recv runs. */
TB_EXPORT void tb_events_close(tb_events *ev);

#ifdef __cplusplus
}
#endif

#endif
