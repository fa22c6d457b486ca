/* The shipped components the table runs against, and the good request each must keep serving. */
#ifndef TESTBUS_TEST_BADINPUT_TARGET_H
#define TESTBUS_TEST_BADINPUT_TARGET_H

#include <stdbool.h>
#include <stddef.h>

#include "component_proc.h"
#include "envelope.h"
#include "raw_call.h"

/* Certificates made by tests/bus/make_certs.sh, and the token of the TLS component. */
struct pki {
	char ca[300], server_cert[300], server_key[300];
	char client_cert[300], client_key[300];
	char rogue_ca[300], rogue_cert[300], rogue_key[300];
	const char *token;
};

struct target {
	char name[40];                  /* in the table, e.g. "executor-shell ipc" */
	struct component_proc proc;
	struct served served;           /* what it serves, for the documented codes */
	struct raw_tls tls;             /* a trusted client's TLS material (tls+tcp only) */
	bool use_tls;
	const char *method;             /* the real method of its kind */
	const ProtobufCMessage *good_input; /* its input; static storage */
	char dir[300];                  /* its private folder (config, artifacts, log) */
};

/*
 * Starts testbus-executor-shell from bin_dir, running `exit 0`, on listen
 * (an ipc:// URL, or tls+tcp://127.0.0.1:0 with pki's server certificate,
 * mutual TLS and pki's token when pki is not NULL), max_message bytes at
 * most. Files go to dir. Returns 0, or -1 with the reason in err.
 */
int target_start_executor(struct target *t, const char *bin_dir, const char *dir,
                          const char *listen, const struct pki *pki, unsigned max_message,
                          char *err, size_t err_size);

/* Starts testbus-reporter-json on an ipc:// URL in dir; as above. */
int target_start_reporter(struct target *t, const char *bin_dir, const char *dir,
                          char *err, size_t err_size);

/*
 * The good request after a bad one, through libtestbus on a fresh connection
 * as a trusted caller: Component/Health, then the real method of the kind.
 * Returns true when both are answered OK; otherwise why, in buf. Blocks.
 */
bool target_serves(struct target *t, char *why, size_t size);

/* A trusted raw caller's TLS material for t: NULL when t is not on tls+tcp://. */
const struct raw_tls *target_client_tls(const struct target *t);

/* The connection options of a trusted caller of t (TLS material and token). */
tb_conn_opts target_conn_opts(const struct target *t);

#endif
