/* Serving one packed request in-process, without sockets: for fuzzing and replaying inputs. */
#ifndef TESTBUS_SERVER_FEED_H
#define TESTBUS_SERVER_FEED_H

#include <stddef.h>
#include <stdint.h>

#include "testbus/export.h"
#include "testbus/server.h"

/*
 * Handles the len bytes at request (borrowed) as if they had arrived on
 * srv's socket: envelope decoding, identity, de-duplication, dispatch and
 * the handler, all on the calling thread. srv need not listen nor be
 * started. On TB_OK *answerp is the packed Response (caller owns it; free
 * with free()) and *lenp its length, or NULL and 0 when the server would
 * send no answer. Returns TB_RESOURCE_EXHAUSTED when out of memory.
 */
TB_EXPORT int tbi_server_feed(tb_server *srv, const void *request, size_t len,
                              uint8_t **answerp, size_t *lenp);

#endif
