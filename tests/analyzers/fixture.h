/* Shared set-up for the analyzer tests: temp dirs, analyzer processes, the fake LLM server. */
#ifndef TESTBUS_TESTS_ANALYZERS_FIXTURE_H
#define TESTBUS_TESTS_ANALYZERS_FIXTURE_H

#include <sys/types.h>

#include "testbus/testbus.h"

/* A running component process and a connection to it. */
struct fx_component {
	pid_t pid;
	tb_conn *conn;
	char url[160];
};

/* Creates a fresh 0700 directory under /tmp into dir (size >= 64). */
void fx_tmpdir(char *dir, size_t size);

/* Removes dir and everything in it. */
void fx_rmtree(const char *dir);

/* Writes text to dir/name and returns the path in path (size bytes). */
void fx_write(const char *dir, const char *name, const char *text, char *path, size_t size);

/* The whole file at path, NUL-terminated; "" when it does not exist. Caller frees. */
char *fx_read(const char *path);

/*
 * Starts bin listening on ipc://dir/name.ipc with --config config (may be NULL)
 * and waits for its handshake. Fails the test when it does not come up.
 */
void fx_component_start(struct fx_component *c, const char *bin, const char *dir,
                        const char *name, const char *config);

/*
 * Closes the connection and stops the process (SIGTERM, then SIGKILL); fails
 * the test unless it exits 0 (under LeakSanitizer, a leak makes it fail).
 */
void fx_component_stop(struct fx_component *c);

/* Starts the fake LLM server writing its log to dir/requests.jsonl; returns its port. */
int fx_llm_server_start(const char *dir, pid_t *pidp);

/* Stops a process started by the fixture and reaps it. */
void fx_stop(pid_t pid);

/* Applies a YAML config text through the Configure call; returns the call's code. */
int fx_configure(tb_conn *conn, const char *yaml, tb_status *st);

#endif
