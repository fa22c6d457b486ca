/* Calls through libtestbus: statuses, concurrency, deadlines, cancel, at-most-once. */
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "bus_fixture.h"
#include "conn.h"

#include <nng/protocol/reqrep0/req.h>

static int setup(void **state)
{
	static struct fixture f;
	fixture_dir(&f);
	atomic_store(&echo_calls, 0);
	atomic_store(&echo_last_stop, -1);
	*state = &f;
	return 0;
}

static int teardown(void **state)
{
	fixture_done(*state);
	return 0;
}

static void open_conn(struct fixture *f, const tb_conn_opts *opts)
{
	tb_status st;
	assert_int_equal(tb_conn_open(f->url, opts, &f->conn, &st), TB_OK);
}

static void test_every_status_round_trips(void **state)
{
	struct fixture *f = *state;
	tb_server_opts so = {.capacity = 2};
	fixture_serve(f, &so);
	open_conn(f, NULL);
	Testbus__V1__ExecutionResult *out = NULL;
	tb_status st;
	assert_int_equal(fixture_execute(f->conn, "ok", 5000, NULL, &out, &st), TB_OK);
	assert_non_null(out);
	assert_true(out->success);
	assert_int_equal(out->n_labels, 1);
	assert_string_equal(out->labels[0]->value, "ok");
	testbus__v1__execution_result__free_unpacked(out, NULL);
	for (int code = TB_CANCELLED; code <= TB_UNAUTHENTICATED; code++) {
		char mode[32];
		snprintf(mode, sizeof(mode), "code:%d", code);
		out = NULL;
		int rv = fixture_execute(f->conn, mode, 5000, NULL, &out, &st);
		assert_int_equal(rv, code);
		assert_int_equal(st.code, code);
		assert_null(out);
		char want[64];
		snprintf(want, sizeof(want), "asked for %s", tb_strerror(code));
		assert_string_equal(st.message, want);
	}
}

static void test_unknown_service_and_method(void **state)
{
	struct fixture *f = *state;
	tb_server_opts so = {0};
	fixture_serve(f, &so);
	open_conn(f, NULL);
	tb_status st;
	uint8_t *out = NULL;
	size_t len = 0;
	int rv = tb_invoke_raw(f->conn, "testbus.v1.Provisioner", "Provision", NULL, 0, &out, &len,
	                       NULL, &st);
	assert_int_equal(rv, TB_UNIMPLEMENTED);
	assert_non_null(strstr(st.message, "testbus.v1.Provisioner/Provision"));
	rv = tb_invoke_raw(f->conn, "testbus.v1.Executor", "Explode", NULL, 0, &out, &len, NULL, &st);
	assert_int_equal(rv, TB_UNIMPLEMENTED);
	rv = tb_invoke_raw(f->conn, "no.such.Service", "X", NULL, 0, &out, &len, NULL, &st);
	assert_int_equal(rv, TB_UNIMPLEMENTED);
	/* A payload that is not the method's input type. */
	const uint8_t junk[] = {0xff, 0xff, 0xff, 0xff, 0x0f};
	rv = tb_invoke_raw(f->conn, "testbus.v1.Executor", "Execute", junk, sizeof(junk), &out, &len,
	                   NULL, &st);
	assert_int_equal(rv, TB_INVALID_ARGUMENT);
	/* Typed calls check the method and input type before sending. */
	Testbus__V1__Empty empty = TESTBUS__V1__EMPTY__INIT;
	ProtobufCMessage *msg = NULL;
	rv = tb_invoke(f->conn, &testbus__v1__executor__descriptor, "Execute", &empty.base, &msg,
	               NULL, &st);
	assert_int_equal(rv, TB_INVALID_ARGUMENT);
	assert_int_equal(fixture_execute(f->conn, "ok", 5000, NULL, NULL, &st), TB_OK);
}

struct caller {
	tb_conn *conn;
	int index;
	int failures;
};

static void *caller_main(void *arg)
{
	struct caller *c = arg;
	for (int i = 0; i < 40; i++) {
		char mode[32];
		snprintf(mode, sizeof(mode), "t%d-%d", c->index, i);
		Testbus__V1__ExecutionResult *out = NULL;
		tb_status st;
		if (fixture_execute(c->conn, mode, 10000, NULL, &out, &st) != TB_OK) {
			c->failures++;
			continue;
		}
		if (out->n_labels != 1 || strcmp(out->labels[0]->value, mode) != 0)
			c->failures++;
		testbus__v1__execution_result__free_unpacked(out, NULL);
	}
	return NULL;
}

static void test_sixteen_threads_one_connection(void **state)
{
	struct fixture *f = *state;
	tb_server_opts so = {.capacity = 16};
	fixture_serve(f, &so);
	open_conn(f, NULL);
	pthread_t threads[16];
	struct caller callers[16];
	for (int i = 0; i < 16; i++) {
		callers[i] = (struct caller){.conn = f->conn, .index = i};
		assert_int_equal(pthread_create(&threads[i], NULL, caller_main, &callers[i]), 0);
	}
	for (int i = 0; i < 16; i++) {
		pthread_join(threads[i], NULL);
		assert_int_equal(callers[i].failures, 0);
	}
	assert_int_equal(atomic_load(&echo_calls), 16 * 40);
}

static void test_deadline_exceeded_on_slow_handler(void **state)
{
	struct fixture *f = *state;
	tb_server_opts so = {0};
	fixture_serve(f, &so);
	open_conn(f, NULL);
	tb_status st;
	int rv = fixture_execute(f->conn, "sleep:5000", 200, NULL, NULL, &st);
	assert_int_equal(rv, TB_DEADLINE_EXCEEDED);
	/* The server enforces the same deadline: the handler was told to stop. */
	for (int i = 0; i < 100 && atomic_load(&echo_last_stop) < 0; i++)
		usleep(10000);
	assert_int_equal(atomic_load(&echo_last_stop), TB_DEADLINE_EXCEEDED);
}

struct background_call {
	tb_conn *conn;
	const char *mode;
	uint64_t call_id;
	uint32_t deadline_ms;
	int rv;
	tb_status st;
};

static void *background_main(void *arg)
{
	struct background_call *b = arg;
	tb_call_opts opts = {.call_id = b->call_id};
	b->rv = fixture_execute(b->conn, b->mode, b->deadline_ms, &opts, NULL, &b->st);
	return NULL;
}

static void wait_running(tb_server *srv, uint32_t n)
{
	for (int i = 0; i < 500 && tb_server_running(srv) != n; i++)
		usleep(10000);
	assert_int_equal(tb_server_running(srv), n);
}

static void test_cancel_reaches_running_handler(void **state)
{
	struct fixture *f = *state;
	tb_server_opts so = {.capacity = 1};
	fixture_serve(f, &so);
	open_conn(f, NULL);
	struct background_call b = {.conn = f->conn, .mode = "sleep:20000",
	                            .call_id = tb_new_call_id(), .deadline_ms = 30000};
	pthread_t t;
	pthread_create(&t, NULL, background_main, &b);
	wait_running(f->srv, 1);
	/* The only service slot is busy: control calls still get through. */
	tb_status st;
	int found = 0;
	assert_int_equal(fixture_execute(f->conn, "ok", 5000, NULL, NULL, &st), TB_RESOURCE_EXHAUSTED);
	assert_int_equal(tb_cancel(f->conn, 12345, &found, &st), TB_OK);
	assert_int_equal(found, 0);
	assert_int_equal(tb_cancel(f->conn, b.call_id, &found, &st), TB_OK);
	assert_int_equal(found, 1);
	pthread_join(t, NULL);
	assert_int_equal(b.rv, TB_CANCELLED);
	assert_int_equal(atomic_load(&echo_last_stop), TB_CANCELLED);
}

static void test_resend_is_off_by_default(void **state)
{
	struct fixture *f = *state;
	open_conn(f, NULL);
	nng_duration d = 0;
	assert_int_equal(nng_socket_get_ms(f->conn->sock, NNG_OPT_REQ_RESENDTIME, &d), 0);
	assert_int_equal(d, NNG_DURATION_INFINITE);
}

static void test_slow_handler_runs_once_despite_resends(void **state)
{
	struct fixture *f = *state;
	tb_server_opts so = {.capacity = 2};
	fixture_serve(f, &so);
	/* Make NNG re-send every 100 ms, as it would after 60 s by default:
	 * the call-id guard must still run the handler exactly once. */
	tb_conn_opts co = {.nng_resend_ms = 100};
	open_conn(f, &co);
	tb_status st;
	int rv = fixture_execute(f->conn, "sleep:1500", 10000, NULL, NULL, &st);
	assert_int_equal(rv, TB_OK);
	assert_int_equal(atomic_load(&echo_calls), 1);
}

static void test_retry_with_same_call_id_is_answered_from_cache(void **state)
{
	struct fixture *f = *state;
	tb_server_opts so = {0};
	fixture_serve(f, &so);
	open_conn(f, NULL);
	tb_call_opts opts = {.call_id = tb_new_call_id()};
	tb_status st;
	Testbus__V1__ExecutionResult *a = NULL, *b = NULL;
	assert_int_equal(fixture_execute(f->conn, "first", 5000, &opts, &a, &st), TB_OK);
	assert_int_equal(fixture_execute(f->conn, "second", 5000, &opts, &b, &st), TB_OK);
	assert_int_equal(atomic_load(&echo_calls), 1);
	assert_string_equal(b->labels[0]->value, "first");
	testbus__v1__execution_result__free_unpacked(a, NULL);
	testbus__v1__execution_result__free_unpacked(b, NULL);
}

static void test_cache_keeps_recent_answers_only(void **state)
{
	struct fixture *f = *state;
	tb_server_opts so = {0};
	fixture_serve(f, &so);
	open_conn(f, NULL);
	uint64_t first = tb_new_call_id(), last = 0;
	tb_status st;
	for (int i = 0; i < 300; i++) {
		tb_call_opts opts = {.call_id = i == 0 ? first : tb_new_call_id()};
		assert_int_equal(fixture_execute(f->conn, "ok", 5000, &opts, NULL, &st), TB_OK);
		last = opts.call_id;
	}
	assert_int_equal(atomic_load(&echo_calls), 300);
	tb_call_opts recent = {.call_id = last};
	assert_int_equal(fixture_execute(f->conn, "ok", 5000, &recent, NULL, &st), TB_OK);
	assert_int_equal(atomic_load(&echo_calls), 300); /* answered from the cache */
	tb_call_opts old = {.call_id = first};
	assert_int_equal(fixture_execute(f->conn, "ok", 5000, &old, NULL, &st), TB_OK);
	assert_int_equal(atomic_load(&echo_calls), 301); /* evicted: ran again */
}

static void test_events_reach_the_listener(void **state)
{
	struct fixture *f = *state;
	char events_url[320];
	snprintf(events_url, sizeof(events_url), "ipc://%s/events.ipc", f->dir);
	tb_events *ev = NULL;
	tb_status st;
	assert_int_equal(tb_events_open(events_url, 0, &ev, &st), TB_OK);
	tb_server_opts so = {.events_url = events_url};
	fixture_serve(f, &so);
	open_conn(f, NULL);
	uint64_t id = 0;
	tb_call_opts opts = {.call_id_out = &id};
	tb_kv meta[] = {{TB_META_RUN_ID, "run-42"}};
	opts.metadata = meta;
	opts.n_metadata = 1;
	assert_int_equal(fixture_execute(f->conn, "ok", 5000, &opts, NULL, &st), TB_OK);
	Testbus__V1__Event *e = NULL;
	assert_int_equal(tb_events_recv(ev, 5000, &e), TB_OK);
	assert_int_equal(e->call_id, id);
	assert_string_equal(e->run_id, "run-42");
	assert_string_equal(e->component, "echo");
	assert_int_equal(e->kind, TESTBUS__V1__EVENT_KIND__EVENT_LOG);
	testbus__v1__event__free_unpacked(e, NULL);
	assert_int_equal(tb_events_recv(ev, 50, &e), TB_DEADLINE_EXCEEDED);
	tb_events_close(ev);
}

static void test_stop_cancels_running_handlers(void **state)
{
	struct fixture *f = *state;
	tb_server_opts so = {0};
	fixture_serve(f, &so);
	open_conn(f, NULL);
	struct background_call b = {.conn = f->conn, .mode = "sleep:20000",
	                            .call_id = tb_new_call_id(), .deadline_ms = 30000};
	pthread_t t;
	pthread_create(&t, NULL, background_main, &b);
	wait_running(f->srv, 1);
	tb_server_stop(f->srv, 5000);
	pthread_join(t, NULL);
	assert_int_equal(atomic_load(&echo_last_stop), TB_CANCELLED);
	assert_int_equal(b.rv, TB_CANCELLED);
}

static void test_describe_and_health(void **state)
{
	struct fixture *f = *state;
	tb_kv labels[] = {{"region", "eu"}};
	tb_server_opts so = {.capacity = 3, .labels = labels, .n_labels = 1};
	fixture_serve(f, &so);
	open_conn(f, NULL);
	Testbus__V1__ComponentInfo *info = NULL;
	tb_status st;
	assert_int_equal(tb_handshake(f->conn, 5000, &info, &st), TB_OK);
	assert_string_equal(info->name, "echo");
	assert_int_equal(info->kind, TESTBUS__V1__COMPONENT_KIND__KIND_EXECUTOR);
	assert_int_equal(info->capacity, 3);
	assert_int_equal(info->protocol_version, TB_PROTOCOL_VERSION);
	assert_int_equal(info->pid, getpid());
	assert_int_equal(info->n_services, 2);
	assert_string_equal(tb_map_get(info->labels, info->n_labels, "region"), "eu");
	testbus__v1__component_info__free_unpacked(info, NULL);
	Testbus__V1__Empty empty = TESTBUS__V1__EMPTY__INIT;
	Testbus__V1__ComponentHealth *h = NULL;
	assert_int_equal(tb_component_health(f->conn, &empty, &h, NULL, &st), TB_OK);
	assert_true(h->serving);
	assert_int_equal(h->capacity, 3);
	testbus__v1__component_health__free_unpacked(h, NULL);
	/* The ipc peer is this very process. */
	assert_int_equal(tb_conn_peer_pid(f->conn), getpid());
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_every_status_round_trips, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unknown_service_and_method, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sixteen_threads_one_connection, setup, teardown),
		cmocka_unit_test_setup_teardown(test_deadline_exceeded_on_slow_handler, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cancel_reaches_running_handler, setup, teardown),
		cmocka_unit_test_setup_teardown(test_resend_is_off_by_default, setup, teardown),
		cmocka_unit_test_setup_teardown(test_slow_handler_runs_once_despite_resends, setup,
		                                teardown),
		cmocka_unit_test_setup_teardown(test_retry_with_same_call_id_is_answered_from_cache,
		                                setup, teardown),
		cmocka_unit_test_setup_teardown(test_cache_keeps_recent_answers_only, setup, teardown),
		cmocka_unit_test_setup_teardown(test_events_reach_the_listener, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stop_cancels_running_handlers, setup, teardown),
		cmocka_unit_test_setup_teardown(test_describe_and_health, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
