/*
 * Oversized raw requests sent from a child process. NNG 1.5.2 over tls+tcp://
 * has left a caller hanging in nng_close, or aborting, after the peer cut a
 * large send short; in a child, that is seen and reported instead of
 * stopping the table.
 */
#ifndef TESTBUS_TEST_BADINPUT_SENDER_H
#define TESTBUS_TEST_BADINPUT_SENDER_H

#include <stdbool.h>
#include <stddef.h>

#include "raw_call.h"

/* The first argument that makes this program a sender child. */
#define SENDER_ARG "--send-zeros"

/*
 * Sends `size` zero bytes as one message to url (tls may be NULL) from a
 * child running this same program, and fills out with what the child saw.
 * *hungp tells whether the child then failed to close its socket and exit
 * (a hung child is killed).
 * Blocks a bounded time.
 */
void sender_send_zeros(const char *url, const struct raw_tls *tls, size_t size,
                       struct raw_result *out, bool *hungp);

/* The child's main: argv[1] is SENDER_ARG. Returns its exit code. */
int sender_main(int argc, char **argv);

#endif
