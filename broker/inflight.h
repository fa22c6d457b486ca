/* The calls in flight, so that a signal can cancel every one of them. */
#ifndef TESTBUS_BROKER_INFLIGHT_H
#define TESTBUS_BROKER_INFLIGHT_H

#include <stdint.h>

#include "testbus/testbus.h"

/* Registers a call about to be made on conn; returns the call id to use. */
uint64_t inflight_add(tb_conn *conn);

/* The call has returned. */
void inflight_remove(uint64_t call_id);

/* Asks each component to cancel its calls in flight. Blocks briefly. */
void inflight_cancel_all(void);

#endif
