/* The rows of the bad-input table, grouped by what they attack. */
#ifndef TESTBUS_TEST_BADINPUT_ROWS_H
#define TESTBUS_TEST_BADINPUT_ROWS_H

#include <stdbool.h>

#include "table.h"
#include "target.h"

/* Malformed, truncated and empty envelopes, bad payloads, unknown names. */
void rows_envelope(struct table *table, struct target *t);

/* A missing or wrong identity token (t requires one). */
void rows_token(struct table *table, struct target *t);

/*
 * Requests beyond t's max_message bytes. A caller that learnt the limit does
 * not send them; with_drops also sends them, so that NNG drops the
 * connection, and checks the memory left behind: NNG 1.5.2 sometimes stops
 * serving after such a drop (docs/protocol.md, Sizes), so those rows run
 * only when asked for.
 */
void rows_oversized(struct table *table, struct target *t, unsigned max_message,
                    bool with_drops);

/* Plaintext and untrusted TLS against t's tls+tcp:// listener. */
void rows_tls(struct table *table, struct target *t, const struct pki *pki);

/*
 * A component speaking protocol version 99 (tests/broker's
 * testbus-test-old-protocol from bin_dir, in dir) refused by the caller's
 * handshake; then the caller's handshake with good (a shipped component).
 */
void rows_protocol_version(struct table *table, const char *bin_dir, const char *dir,
                           struct target *good);

#endif
