/* `testbus call`: call any component method with JSON in and out, and describe the contract. */
#ifndef TESTBUS_TOOLS_CALL_H
#define TESTBUS_TOOLS_CALL_H

#include <stdio.h>

#include <protobuf-c/protobuf-c.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Exit statuses of call_main. */
#define CALL_EXIT_OK 0
#define CALL_EXIT_USAGE 2       /* bad command line */
#define CALL_EXIT_STATUS_BASE 64 /* plus the status code of a failed call, e.g. 76 UNIMPLEMENTED */

/*
 * The entry point of `testbus call`; argv[0] names the command:
 *   call [options] ADDRESS Service/Method [JSON | -]
 *   call [options] ADDRESS list
 *   call [options] ADDRESS describe [Service[/Method] | Message]
 * Prints the answer as JSON on stdout. A failure, local (bad JSON, unknown
 * method, no connection) or remote, is printed on stderr as
 * "CODE_NAME: message" and exits with CALL_EXIT_STATUS_BASE + code. Blocks
 * until the answer or the deadline.
 */
int call_main(int argc, char **argv);

/* The services of the contract, NULL-terminated. Borrowed, static. */
extern const ProtobufCServiceDescriptor *const call_services[];

/*
 * The service of the contract named name, short ("Executor") or full
 * ("testbus.v1.Executor"); NULL when there is none. Borrowed, static.
 */
const ProtobufCServiceDescriptor *call_find_service(const char *name);

/*
 * Prints to out what target names: a service, Service/Method, or a message
 * or enum type (short or full name), with the fields of every message type
 * it uses. Returns 0, or -1 when target names nothing known.
 */
int call_describe(FILE *out, const char *target);

#ifdef __cplusplus
}
#endif

#endif
