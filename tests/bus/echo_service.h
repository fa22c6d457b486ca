/* A test Executor whose behaviour each target chooses by its "mode" label. */
#ifndef TESTBUS_TEST_ECHO_SERVICE_H
#define TESTBUS_TEST_ECHO_SERVICE_H

#include <stdatomic.h>

#include "testbus/testbus.h"

/*
 * Modes: "ok" (echo the labels back as metadata), "code:N" (fail with status
 * N), "sleep:MS" (wait MS, stopping early when told), "big:BYTES" (answer
 * with that much stdout), "count" (count the call, sleep the "ms" label).
 */
extern const tb_method echo_methods[];
extern const size_t echo_n_methods;

/* Calls that reached the handler, and how the last waiting one stopped. */
extern _Atomic int echo_calls;
extern _Atomic int echo_last_stop;

#endif
