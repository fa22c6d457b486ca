/* The calls in flight, so that a signal can cancel every one of them. */
#include <pthread.h>
#include <stdlib.h>

#include "broker.h"
#include "inflight.h"

#define INFLIGHT_MAX 1024
#define INFLIGHT_CANCEL_DEADLINE_MS 2000

static struct {
	pthread_mutex_t mu;
	struct {
		tb_conn *conn;
		uint64_t id;
	} calls[INFLIGHT_MAX];
	size_t n;
} inflight = {.mu = PTHREAD_MUTEX_INITIALIZER};

uint64_t inflight_add(tb_conn *conn)
{
	uint64_t id = tb_new_call_id();
	pthread_mutex_lock(&inflight.mu);
	if (inflight.n < INFLIGHT_MAX) {
		inflight.calls[inflight.n].conn = conn;
		inflight.calls[inflight.n].id = id;
		inflight.n++;
	}
	pthread_mutex_unlock(&inflight.mu);
	return id;
}

void inflight_remove(uint64_t call_id)
{
	pthread_mutex_lock(&inflight.mu);
	for (size_t i = 0; i < inflight.n; i++) {
		if (inflight.calls[i].id == call_id) {
			inflight.calls[i] = inflight.calls[--inflight.n];
			break;
		}
	}
	pthread_mutex_unlock(&inflight.mu);
}

void inflight_cancel_all(void)
{
	/* Copied out: Cancel is a call, never made under the lock. */
	pthread_mutex_lock(&inflight.mu);
	size_t n = inflight.n;
	tb_conn *conns[INFLIGHT_MAX];
	uint64_t ids[INFLIGHT_MAX];
	for (size_t i = 0; i < n; i++) {
		conns[i] = inflight.calls[i].conn;
		ids[i] = inflight.calls[i].id;
	}
	pthread_mutex_unlock(&inflight.mu);
	for (size_t i = 0; i < n; i++) {
		Testbus__V1__CancelRequest req = TESTBUS__V1__CANCEL_REQUEST__INIT;
		Testbus__V1__CancelReply *reply = NULL;
		tb_call_opts opts = {.deadline_ms = INFLIGHT_CANCEL_DEADLINE_MS};
		tb_status st;
		req.call_id = ids[i];
		if (tb_invoke(conns[i], &testbus__v1__component__descriptor, "Cancel", &req.base,
		              (ProtobufCMessage **)&reply, &opts, &st) == TB_OK)
			testbus__v1__cancel_reply__free_unpacked(reply, NULL);
	}
}
