/* Starting a reporter component as a real process and calling it over the bus. */
#ifndef TESTBUS_TEST_REPORTERS_HARNESS_H
#define TESTBUS_TEST_REPORTERS_HARNESS_H

#include <stdarg.h>
#include <setjmp.h>
#include <stddef.h>
#include <sys/types.h>
#include <cmocka.h>

#include "testbus/testbus.h"

typedef struct rep_proc {
	pid_t pid;
	char dir[64];        /* private temp folder: socket, config, log, artifacts */
	char url[128];
	char log[128];       /* the component's stderr */
	char artifacts[128]; /* dir/artifacts: the run folder given to Initialize */
	tb_conn *conn;
} rep_proc;

/*
 * Starts testbus-reporter-<name> from $TESTBUS_BIN_DIR on a private ipc
 * address, with config_yaml (may be NULL) as its --config file and env
 * changes ("NAME=value" sets, "NAME" unsets; NULL-terminated, may be NULL),
 * then waits for its Describe handshake. Fails the test when it does not
 * come up.
 */
void rep_start(rep_proc *p, const char *name, const char *config_yaml, const char *const *env);

/*
 * Stops the component with SIGTERM and checks it exits 0 (under the
 * sanitizer build this also proves it ended leak-free), then removes its
 * folder.
 */
void rep_stop(rep_proc *p);

/* Initialize with run_id and p->artifacts; returns the status code. */
int rep_initialize(rep_proc *p, const char *run_id, tb_status *st);

/*
 * Report(in) then Finalize. On TB_OK *outp is Report's output: caller owns
 * it; free with protobuf_c_message_free_unpacked(). Returns the status code
 * of Report (Finalize must succeed either way).
 */
int rep_report(rep_proc *p, const Testbus__V1__ReportInput *in,
               Testbus__V1__ReportOutput **outp, tb_status *st);

/*
 * Configure with a config given as YAML text. Returns the status code.
 */
int rep_configure(rep_proc *p, const char *yaml, tb_status *st);

/* The path of a file in the run folder, in a static buffer. */
const char *rep_file(rep_proc *p, const char *name);

/* Runs a shell command and returns its exit status (-1 when it did not exit). */
int rep_sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* The artifact called name in out, or fails the test. */
const Testbus__V1__Artifact *rep_artifact(const Testbus__V1__ReportOutput *out,
                                          const char *name);

/* Fails the test, quoting text, when any planted secret is in it. */
void rep_no_secret(const char *what, const char *text, size_t len);

/* A local HTTP server (http_sink.py) that records what it is sent. */
typedef struct http_sink {
	pid_t pid;
	int port;
	char log[160];
} http_sink;

/*
 * Starts http_sink.py in dir on 127.0.0.1, answering with statuses (e.g.
 * "429,200": one per request, the last repeating), 429s with Retry-After
 * retry_after seconds. Waits until it listens.
 */
void sink_start(http_sink *s, const char *dir, const char *statuses, const char *retry_after);

/* Stops the server. */
void sink_stop(http_sink *s);

/*
 * The requests received so far, oldest first, each an object with method,
 * path, headers (lower-case names) and body. Caller owns the array; release
 * with json_object_put().
 */
struct json_object *sink_requests(const http_sink *s);

#endif
