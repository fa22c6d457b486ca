/* The shipped components the table runs against, and the good request each must keep serving. */
#include "target.h"

#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

/* A bound for each good call; the good requests finish in far less. */
#define TARGET_CALL_DEADLINE_MS 30000

static int target_executor_code(const char *method, const ProtobufCMessage *input)
{
	/* `exit 0` passes whatever the target says. */
	return TB_OK;
}

static int target_reporter_code(const char *method, const ProtobufCMessage *input)
{
	if (strcmp(method, "Initialize") == 0 &&
	    ((const Testbus__V1__ReporterInit *)input)->artifacts_dir[0] == '\0')
		return TB_INVALID_ARGUMENT; /* "Initialize: artifacts_dir is empty" */
	return TB_OK;
}

static int target_write(const char *path, const char *text, char *err, size_t err_size)
{
	FILE *f = fopen(path, "w");
	if (f == NULL || fputs(text, f) < 0 || fclose(f) != 0) {
		snprintf(err, err_size, "cannot write %s", path);
		return -1;
	}
	return 0;
}

/* The target every Execute of the table asks for. */
static const ProtobufCMessage *target_execution_target(void)
{
	static Testbus__V1__ExecutionTarget target = TESTBUS__V1__EXECUTION_TARGET__INIT;
	static Testbus__V1__ExecutionTarget__LabelsEntry suite =
	    TESTBUS__V1__EXECUTION_TARGET__LABELS_ENTRY__INIT;
	static Testbus__V1__ExecutionTarget__LabelsEntry *labels[] = {&suite};
	suite.key = "suite";
	suite.value = "smoke";
	target.labels = labels;
	target.n_labels = 1;
	target.timeout_ms = 60000;
	target.run_id = "badinput";
	target.target_id = "smoke";
	target.attempt = 1;
	return &target.base;
}

int target_start_executor(struct target *t, const char *bin_dir, const char *dir,
                          const char *listen, const struct pki *pki, unsigned max_message,
                          char *err, size_t err_size)
{
	char bin[300], config_path[400], config[800], log[400], max[32];
	memset(t, 0, sizeof(*t));
	snprintf(t->dir, sizeof(t->dir), "%s", dir);
	snprintf(t->name, sizeof(t->name), "executor-shell %s", pki ? "tls+tcp" : "ipc");
	if (mkdir(dir, 0700) != 0) {
		snprintf(err, err_size, "cannot make %s", dir);
		return -1;
	}
	snprintf(bin, sizeof(bin), "%s/testbus-executor-shell", bin_dir);
	snprintf(config_path, sizeof(config_path), "%s/executor.yaml", dir);
	snprintf(log, sizeof(log), "%s/executor.log", dir);
	snprintf(max, sizeof(max), "%u", max_message);
	snprintf(config, sizeof(config), "script: exit 0\nartifacts_dir: %s/artifacts\n", dir);
	if (target_write(config_path, config, err, err_size) != 0)
		return -1;
	char *plain[] = {bin, "--listen", (char *)listen, "--config", config_path,
	                 "--max-message-size", max, NULL};
	char *tls[] = {bin, "--listen", (char *)listen, "--config", config_path,
	               "--max-message-size", max,
	               "--tls-ca", pki ? (char *)pki->ca : NULL,
	               "--tls-cert", pki ? (char *)pki->server_cert : NULL,
	               "--tls-key", pki ? (char *)pki->server_key : NULL,
	               "--token", pki ? (char *)pki->token : NULL, NULL};
	t->served = (struct served){.service = &testbus__v1__executor__descriptor,
	                            .token = pki ? pki->token : NULL,
	                            .handler_code = target_executor_code};
	t->method = "Execute";
	t->good_input = target_execution_target();
	if (pki != NULL) {
		t->use_tls = true;
		t->tls = (struct raw_tls){.ca_file = pki->ca, .cert_file = pki->client_cert,
		                          .key_file = pki->client_key, .server_name = "localhost"};
	}
	return component_proc_start(&t->proc, pki ? tls : plain, NULL, log, err, err_size);
}

int target_start_reporter(struct target *t, const char *bin_dir, const char *dir, char *err,
                          size_t err_size)
{
	static Testbus__V1__ReporterInit init = TESTBUS__V1__REPORTER_INIT__INIT;
	static char reports[400];
	char bin[300], url[400], log[400];
	memset(t, 0, sizeof(*t));
	snprintf(t->dir, sizeof(t->dir), "%s", dir);
	snprintf(t->name, sizeof(t->name), "reporter-json ipc");
	if (mkdir(dir, 0700) != 0) {
		snprintf(err, err_size, "cannot make %s", dir);
		return -1;
	}
	snprintf(bin, sizeof(bin), "%s/testbus-reporter-json", bin_dir);
	snprintf(url, sizeof(url), "ipc://%s/reporter.ipc", dir);
	snprintf(log, sizeof(log), "%s/reporter.log", dir);
	snprintf(reports, sizeof(reports), "%s/reports", dir);
	init.run_id = "badinput";
	init.artifacts_dir = reports;
	t->served = (struct served){.service = &testbus__v1__reporter__descriptor,
	                            .handler_code = target_reporter_code};
	t->method = "Initialize";
	t->good_input = &init.base;
	char *argv[] = {bin, "--listen", url, NULL};
	return component_proc_start(&t->proc, argv, NULL, log, err, err_size);
}

const struct raw_tls *target_client_tls(const struct target *t)
{
	return t->use_tls ? &t->tls : NULL;
}

tb_conn_opts target_conn_opts(const struct target *t)
{
	tb_conn_opts opts = {.token = t->served.token};
	if (t->use_tls)
		opts.tls = (tb_tls_opts){.ca_file = t->tls.ca_file, .cert_file = t->tls.cert_file,
		                         .key_file = t->tls.key_file,
		                         .server_name = t->tls.server_name};
	return opts;
}

bool target_serves(struct target *t, char *why, size_t size)
{
	tb_conn_opts opts = target_conn_opts(t);
	tb_call_opts call = {.deadline_ms = TARGET_CALL_DEADLINE_MS};
	Testbus__V1__Empty empty = TESTBUS__V1__EMPTY__INIT;
	Testbus__V1__ComponentHealth *health = NULL;
	ProtobufCMessage *out = NULL;
	tb_conn *conn = NULL;
	tb_status st = {0};
	bool served = false;
	if (tb_conn_open(t->proc.url, &opts, &conn, &st) != TB_OK) {
		snprintf(why, size, "connect: %s", st.message);
		goto out;
	}
	if (tb_component_health(conn, &empty, &health, &call, &st) != TB_OK || !health->serving) {
		snprintf(why, size, "Health: %s", health ? "not serving" : st.message);
		goto out;
	}
	if (tb_invoke(conn, t->served.service, t->method, t->good_input, &out, &call, &st) != TB_OK) {
		snprintf(why, size, "%s: %s %s", t->method, tb_strerror(st.code), st.message);
		goto out;
	}
	if (out->descriptor == &testbus__v1__execution_result__descriptor &&
	    !((Testbus__V1__ExecutionResult *)out)->success) {
		snprintf(why, size, "Execute answered but the run failed");
		goto out;
	}
	snprintf(why, size, "Health + %s OK", t->method);
	served = true;
out:
	if (health != NULL)
		protobuf_c_message_free_unpacked(&health->base, NULL);
	if (out != NULL)
		protobuf_c_message_free_unpacked(out, NULL);
	tb_conn_close(conn);
	return served;
}
