/* Running the exec provisioner's user commands and reading what they print. */
#ifndef TESTBUS_EXEC_RUN_H
#define TESTBUS_EXEC_RUN_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stdint.h>

#include "prov_support.h"

/* The cluster a command is about; strings borrowed, each may be NULL. */
typedef struct exec_target {
	const char *id;
	const char *name;
	const char *region;
	const char *run_id;
	const uint8_t *kubeconfig; /* written to a private file for the command */
	size_t kubeconfig_len;
} exec_target;

/* What a command did. Embedded; release with exec_output_fini. */
typedef struct exec_output {
	int exit_code;
	bool timed_out;
	bool stopped;
	char *out;  /* stdout tail (up to 1 MiB) */
	char *err;  /* stderr tail */
} exec_output;

/*
 * Runs argv (NULL-terminated) in workdir (may be NULL) with the caller's
 * environment plus env ("NAME=value", may be NULL) plus TESTBUS_CLUSTER_ID,
 * _NAME, _REGION, TESTBUS_RUN_ID and, when t carries a kubeconfig,
 * KUBECONFIG and TESTBUS_KUBECONFIG naming a private copy removed afterwards.
 * Ends it after timeout_ms, or once call stops (call may be NULL: cleanup).
 * Returns TB_OK when the command ran and exited 0; otherwise an error whose
 * message (set on call when not NULL, else in st) says what ran, how it
 * ended and the tail of its stderr. *o is filled whenever it ran.
 */
int exec_run(tb_call *call, const char *what, char *const *argv, char *const *env,
             const char *workdir, uint32_t timeout_ms, const exec_target *t, exec_output *o,
             tb_status *st);

void exec_output_fini(exec_output *o);

/*
 * Reads a kubeconfig printed by a command: YAML text, or the path of a file
 * (the last non-empty line). Flattens it into *out from the call's arena.
 */
int exec_read_kubeconfig(tb_call *call, const char *text, ProtobufCBinaryData *out);

/*
 * Reads the provision command's stdout: a JSON ClusterInfo (the whole output
 * or its last line) or a kubeconfig path, into ci (from the call's arena).
 * Fields missing from the JSON keep what ci holds. err is the command's
 * stderr, quoted when the output cannot be read (stdout never is: it may
 * hold secrets).
 */
int exec_read_cluster(tb_call *call, const char *text, const char *err,
                      Testbus__V1__ClusterInfo *ci);

#endif
