/* Shared set-up for the bus tests: temp dirs, an in-process echo server. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bus_fixture.h"

void fixture_dir(struct fixture *f)
{
	memset(f, 0, sizeof(*f));
	snprintf(f->dir, sizeof(f->dir), "/tmp/testbus-bus-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->url, sizeof(f->url), "ipc://%s/echo.ipc", f->dir);
}

void fixture_serve(struct fixture *f, tb_server_opts *opts)
{
	tb_status st = {0};
	opts->name = "echo";
	opts->kind = TESTBUS__V1__COMPONENT_KIND__KIND_EXECUTOR;
	int rv = tb_server_alloc(opts, &f->srv, &st);
	assert_int_equal(rv, TB_OK);
	rv = tb_server_add_service(f->srv, &testbus__v1__executor__descriptor, echo_methods,
	                           echo_n_methods, &st);
	assert_int_equal(rv, TB_OK);
	rv = tb_server_listen(f->srv, f->url, &st);
	if (rv != TB_OK)
		fail_msg("listen %s: %s", f->url, st.message);
	assert_int_equal(tb_server_start(f->srv, &st), TB_OK);
}

void fixture_done(struct fixture *f)
{
	/* Server first: with both ends of one ipc connection in this process,
	 * NNG 1.5.2 can hang closing the requester while the replier is open. */
	tb_server_free(f->srv);
	tb_conn_close(f->conn);
	f->conn = NULL;
	f->srv = NULL;
	if (f->dir[0] != '\0')
		fixture_sh("rm -rf '%s'", f->dir);
}

int fixture_execute(tb_conn *conn, const char *mode, uint32_t deadline_ms,
                    const tb_call_opts *extra, Testbus__V1__ExecutionResult **outp,
                    tb_status *st)
{
	Testbus__V1__ExecutionTarget t = TESTBUS__V1__EXECUTION_TARGET__INIT;
	Testbus__V1__ExecutionTarget__LabelsEntry e = TESTBUS__V1__EXECUTION_TARGET__LABELS_ENTRY__INIT;
	Testbus__V1__ExecutionTarget__LabelsEntry *ep = &e;
	e.key = "mode";
	e.value = (char *)mode;
	t.labels = &ep;
	t.n_labels = 1;
	tb_call_opts opts = {0};
	if (extra != NULL)
		opts = *extra;
	opts.deadline_ms = deadline_ms;
	Testbus__V1__ExecutionResult *out = NULL;
	int rv = tb_executor_execute(conn, &t, &out, &opts, st);
	if (outp != NULL)
		*outp = out;
	else if (out != NULL)
		testbus__v1__execution_result__free_unpacked(out, NULL);
	return rv;
}

void fixture_sh(const char *fmt, ...)
{
	char cmd[2048];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	int rc = system(cmd);
	if (rc != 0)
		fail_msg("command failed (%d): %s", rc, cmd);
}
