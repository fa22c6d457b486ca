/* Bad input and failing peers: malformed, truncated, oversized, killed, wrong version. */
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bus_fixture.h"

#include <nng/nng.h>
#include <nng/protocol/reqrep0/rep.h>
#include <nng/protocol/reqrep0/req.h>

extern char **environ;

static int setup(void **state)
{
	static struct fixture f;
	fixture_dir(&f);
	atomic_store(&echo_calls, 0);
	*state = &f;
	return 0;
}

static int teardown(void **state)
{
	fixture_done(*state);
	return 0;
}

/* Sends raw bytes with a plain REQ socket and decodes the answer envelope. */
static Testbus__V1__Response *raw_exchange(const char *url, const void *buf, size_t len)
{
	nng_socket s;
	assert_int_equal(nng_req0_open(&s), 0);
	nng_socket_set_ms(s, NNG_OPT_RECVTIMEO, 5000);
	nng_socket_set_ms(s, NNG_OPT_REQ_RESENDTIME, NNG_DURATION_INFINITE);
	assert_int_equal(nng_dial(s, url, NULL, 0), 0);
	assert_int_equal(nng_send(s, (void *)buf, len, 0), 0);
	void *reply = NULL;
	size_t reply_len = 0;
	assert_int_equal(nng_recv(s, &reply, &reply_len, NNG_FLAG_ALLOC), 0);
	Testbus__V1__Response *resp = testbus__v1__response__unpack(NULL, reply_len, reply);
	nng_free(reply, reply_len);
	nng_close(s);
	assert_non_null(resp);
	return resp;
}

static void expect_code(const char *url, const void *buf, size_t len, int code)
{
	Testbus__V1__Response *resp = raw_exchange(url, buf, len);
	assert_non_null(resp->status);
	assert_int_equal(resp->status->code, code);
	assert_int_equal(resp->payload.len, 0);
	testbus__v1__response__free_unpacked(resp, NULL);
}

static void test_malformed_envelopes_get_statuses(void **state)
{
	struct fixture *f = *state;
	tb_server_opts so = {0};
	fixture_serve(f, &so);
	/* Random bytes: not a Request. */
	uint8_t random_bytes[512];
	srand(7);
	for (int round = 0; round < 20; round++) {
		for (size_t i = 0; i < sizeof(random_bytes); i++)
			random_bytes[i] = (uint8_t)rand();
		Testbus__V1__Response *resp = raw_exchange(f->url, random_bytes, sizeof(random_bytes));
		assert_true((int)resp->status->code == TB_INVALID_ARGUMENT ||
		            (int)resp->status->code == TB_UNIMPLEMENTED);
		testbus__v1__response__free_unpacked(resp, NULL);
	}
	/* A good envelope cut short at every length. */
	Testbus__V1__Request req = TESTBUS__V1__REQUEST__INIT;
	req.service = "testbus.v1.Component";
	req.method = "Describe";
	req.call_id = 9;
	uint8_t packed[256];
	size_t n = testbus__v1__request__pack(&req, packed);
	/* Cut inside service or method: an error. Cut after them: a valid,
	 * shorter Describe, which is served. */
	size_t whole = 2 + strlen(req.service) + 2 + strlen(req.method);
	for (size_t cut = 1; cut < n; cut++) {
		Testbus__V1__Response *resp = raw_exchange(f->url, packed, cut);
		if (cut < whole)
			assert_int_not_equal(resp->status->code, TB_OK);
		else if (cut == whole && resp->status->code != TESTBUS__V1__STATUS_CODE__OK)
			fail_msg("cut %zu: %s", cut, resp->status->message);
		testbus__v1__response__free_unpacked(resp, NULL);
	}
	/* An empty message decodes as an empty Request: no such service. */
	expect_code(f->url, "", 0, TB_UNIMPLEMENTED);
	/* An envelope whose payload is garbage for the method's input. */
	uint8_t garbage[] = {0x0a, 0xff, 0x01};
	req.service = "testbus.v1.Executor";
	req.method = "Execute";
	req.payload.data = garbage;
	req.payload.len = sizeof(garbage);
	n = testbus__v1__request__pack(&req, packed);
	expect_code(f->url, packed, n, TB_INVALID_ARGUMENT);
	/* And the component keeps serving good requests. */
	tb_status st;
	assert_int_equal(tb_conn_open(f->url, NULL, &f->conn, &st), TB_OK);
	assert_int_equal(fixture_execute(f->conn, "ok", 5000, NULL, NULL, &st), TB_OK);
	assert_int_equal(atomic_load(&echo_calls), 1);
}

static void test_oversized_messages(void **state)
{
	struct fixture *f = *state;
	tb_server_opts so = {.max_message_size = 64 * 1024};
	fixture_serve(f, &so);
	tb_status st;
	/* The client's own limit, learnt from the handshake, stops the send. */
	assert_int_equal(tb_conn_open(f->url, NULL, &f->conn, &st), TB_OK);
	Testbus__V1__ComponentInfo *info = NULL;
	assert_int_equal(tb_handshake(f->conn, 5000, &info, &st), TB_OK);
	testbus__v1__component_info__free_unpacked(info, NULL);
	char mode[100 * 1024];
	memset(mode, 'm', sizeof(mode) - 1);
	mode[sizeof(mode) - 1] = '\0';
	assert_int_equal(fixture_execute(f->conn, mode, 5000, NULL, NULL, &st), TB_RESOURCE_EXHAUSTED);
	/* An answer bigger than the caller accepts becomes RESOURCE_EXHAUSTED. */
	assert_int_equal(fixture_execute(f->conn, "big:200000", 5000, NULL, NULL, &st),
	                 TB_RESOURCE_EXHAUSTED);
	assert_non_null(strstr(st.message, "exceeds"));
	tb_conn_close(f->conn);
	atomic_store(&echo_calls, 0);
	/* A client that does not know the limit: NNG drops the connection, the
	 * call ends UNAVAILABLE instead of re-sending in a loop. */
	assert_int_equal(tb_conn_open(f->url, NULL, &f->conn, &st), TB_OK);
	assert_int_equal(fixture_execute(f->conn, mode, 5000, NULL, NULL, &st), TB_UNAVAILABLE);
	assert_int_equal(atomic_load(&echo_calls), 0);
	/* The server is still there for the next good call. It may start while
	 * the dropped connection is being noticed, so it asks for a retry. */
	tb_call_opts retry = {.retries = 2};
	if (fixture_execute(f->conn, "ok", 5000, &retry, NULL, &st) != TB_OK)
		fail_msg("after the drop: %s", st.message);
	assert_int_equal(atomic_load(&echo_calls), 1);
}

static void *wrong_version_server(void *arg)
{
	nng_socket *s = arg;
	nng_msg *msg;
	if (nng_recvmsg(*s, &msg, 0) != 0)
		return NULL;
	Testbus__V1__Request *req = testbus__v1__request__unpack(NULL, nng_msg_len(msg),
	                                                          nng_msg_body(msg));
	Testbus__V1__ComponentInfo info = TESTBUS__V1__COMPONENT_INFO__INIT;
	info.name = "future";
	info.protocol_version = 99;
	uint8_t payload[128];
	Testbus__V1__Response resp = TESTBUS__V1__RESPONSE__INIT;
	resp.call_id = req ? req->call_id : 0;
	resp.payload.data = payload;
	resp.payload.len = testbus__v1__component_info__pack(&info, payload);
	uint8_t out[256];
	size_t n = testbus__v1__response__pack(&resp, out);
	testbus__v1__request__free_unpacked(req, NULL);
	nng_msg_clear(msg);
	nng_msg_append(msg, out, n);
	if (nng_sendmsg(*s, msg, 0) != 0)
		nng_msg_free(msg);
	return NULL;
}

static void test_protocol_version_outside_range_is_refused(void **state)
{
	struct fixture *f = *state;
	nng_socket rep;
	assert_int_equal(nng_rep0_open(&rep), 0);
	assert_int_equal(nng_listen(rep, f->url, NULL, 0), 0);
	pthread_t t;
	pthread_create(&t, NULL, wrong_version_server, &rep);
	tb_status st;
	assert_int_equal(tb_conn_open(f->url, NULL, &f->conn, &st), TB_OK);
	Testbus__V1__ComponentInfo *info = NULL;
	assert_int_equal(tb_handshake(f->conn, 5000, &info, &st), TB_FAILED_PRECONDITION);
	assert_null(info);
	assert_non_null(strstr(st.message, "protocol version 99"));
	assert_non_null(strstr(st.message, "supports 1 to 1"));
	pthread_join(t, NULL);
	nng_close(rep);
}

static pid_t spawn_echo(const char *url)
{
	char path[512];
	const char *bin = getenv("TESTBUS_BIN_DIR");
	snprintf(path, sizeof(path), "%s/testbus-test-echo", bin ? bin : ".");
	char *argv[] = {path, "--listen", (char *)url, NULL};
	pid_t pid;
	assert_int_equal(posix_spawn(&pid, path, NULL, NULL, argv, environ), 0);
	return pid;
}

static void test_component_killed_mid_call(void **state)
{
	struct fixture *f = *state;
	pid_t pid = spawn_echo(f->url);
	tb_status st;
	assert_int_equal(tb_conn_open(f->url, NULL, &f->conn, &st), TB_OK);
	Testbus__V1__ComponentInfo *info = NULL;
	assert_int_equal(tb_handshake(f->conn, 10000, &info, &st), TB_OK);
	assert_int_equal(info->pid, pid);
	assert_int_equal(tb_conn_peer_pid(f->conn), pid);
	testbus__v1__component_info__free_unpacked(info, NULL);
	pid_t killer = fork();
	if (killer == 0) {
		usleep(300000);
		kill(pid, SIGKILL);
		_exit(0);
	}
	/* The deadline is far away: the loss of the peer ends the call. */
	int rv = fixture_execute(f->conn, "sleep:60000", 60000, NULL, NULL, &st);
	assert_int_equal(rv, TB_UNAVAILABLE);
	if (strstr(st.message, "lost") == NULL)
		fail_msg("unexpected message: %s", st.message);
	waitpid(killer, NULL, 0);
	waitpid(pid, NULL, 0);
}

static void test_nobody_listening(void **state)
{
	struct fixture *f = *state;
	tb_status st;
	assert_int_equal(tb_conn_open(f->url, NULL, &f->conn, &st), TB_OK);
	assert_int_equal(fixture_execute(f->conn, "ok", 300, NULL, NULL, &st), TB_UNAVAILABLE);
	assert_non_null(strstr(st.message, "could not connect"));
}

static void test_component_process_stops_on_sigterm(void **state)
{
	struct fixture *f = *state;
	pid_t pid = spawn_echo(f->url);
	tb_status st;
	assert_int_equal(tb_conn_open(f->url, NULL, &f->conn, &st), TB_OK);
	Testbus__V1__ComponentInfo *info = NULL;
	assert_int_equal(tb_handshake(f->conn, 10000, &info, &st), TB_OK);
	testbus__v1__component_info__free_unpacked(info, NULL);
	kill(pid, SIGTERM);
	int status = 0;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_malformed_envelopes_get_statuses, setup, teardown),
		cmocka_unit_test_setup_teardown(test_oversized_messages, setup, teardown),
		cmocka_unit_test_setup_teardown(test_protocol_version_outside_range_is_refused, setup,
		                                teardown),
		cmocka_unit_test_setup_teardown(test_component_killed_mid_call, setup, teardown),
		cmocka_unit_test_setup_teardown(test_nobody_listening, setup, teardown),
		cmocka_unit_test_setup_teardown(test_component_process_stops_on_sigterm, setup,
		                                teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
