/* The public API of libtestbus: include this one header. */
#ifndef TESTBUS_TESTBUS_H
#define TESTBUS_TESTBUS_H

#include "testbus/export.h"
#include "testbus/status.h"
#include "testbus/proto.h"
#include "testbus/value.h"
#include "testbus/client.h"
#include "testbus/server.h"
#include "testbus/events.h"

/* The wire protocol version this library speaks, and the range it accepts. */
#define TB_PROTOCOL_VERSION 1
#define TB_PROTOCOL_MIN 1
#define TB_PROTOCOL_MAX 1

/* Default largest message on every socket, in bytes (4 MiB). */
#define TB_DEFAULT_MAX_MESSAGE (4u * 1024u * 1024u)

#ifdef __cplusplus
extern "C" {
#endif

/* The library's version string, e.g. "0.1.0". */
TB_EXPORT const char *tb_version(void);

/*
 * Waits for NNG to finish closing what was closed and releases what it keeps
 * for the process. Call at most once, at exit, after every connection, server
 * and event listener has been closed; leak checkers see a clean exit.
 * tb_component_main calls it itself.
 */
TB_EXPORT void tb_library_fini(void);

#ifdef __cplusplus
}
#endif

#endif
