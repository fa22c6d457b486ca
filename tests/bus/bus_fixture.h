/* Shared set-up for the bus tests: temp dirs, an in-process echo server. */
#ifndef TESTBUS_TEST_BUS_FIXTURE_H
#define TESTBUS_TEST_BUS_FIXTURE_H

#include <stdarg.h>
#include <setjmp.h>
#include <stddef.h>
#include <cmocka.h>

#include "echo_service.h"

struct fixture {
	char dir[256];   /* private temp dir, removed at teardown */
	char url[300];   /* ipc:// address in dir */
	tb_server *srv;
	tb_conn *conn;
};

/* Makes a temp dir and an ipc URL in it. */
void fixture_dir(struct fixture *f);

/* Starts an echo server on f->url with opts (name/kind/service filled in). */
void fixture_serve(struct fixture *f, tb_server_opts *opts);

/* Stops and frees everything, removes the dir. */
void fixture_done(struct fixture *f);

/* Calls Execute with the given mode label; returns the status code. */
int fixture_execute(tb_conn *conn, const char *mode, uint32_t deadline_ms,
                    const tb_call_opts *extra, Testbus__V1__ExecutionResult **outp,
                    tb_status *st);

/* Runs a shell command; fails the test when it fails. */
void fixture_sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
