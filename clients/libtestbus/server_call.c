/* What a handler can do with its call: arena, errors, stop, wait, events. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "server_internal.h"

tb_arena *tb_call_arena(tb_call *call)
{
	return call->arena;
}

int tb_call_error(tb_call *call, int code, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(call->error, sizeof(call->error), fmt, ap);
	va_end(ap);
	return code;
}

void tbi_call_cancel(tb_call *call)
{
	pthread_mutex_lock(&call->srv->mu);
	atomic_store(&call->cancelled, true);
	pthread_cond_broadcast(&call->srv->cv);
	pthread_mutex_unlock(&call->srv->mu);
}

int tb_call_stop_code(tb_call *call)
{
	if (atomic_load(&call->cancelled))
		return TB_CANCELLED;
	if (tbi_clock_ms() >= call->deadline)
		return TB_DEADLINE_EXCEEDED;
	return TB_OK;
}

bool tb_call_stopped(tb_call *call)
{
	return tb_call_stop_code(call) != TB_OK;
}

int tb_call_wait(tb_call *call, uint32_t ms)
{
	tb_server *srv = call->srv;
	uint64_t until = tbi_clock_ms() + ms;
	if (until > call->deadline)
		until = call->deadline;
	struct timespec ts = tbi_abstime(until);
	pthread_mutex_lock(&srv->mu);
	while (!atomic_load(&call->cancelled) && tbi_clock_ms() < until) {
		if (pthread_cond_timedwait(&srv->cv, &srv->mu, &ts) != 0)
			break;
	}
	pthread_mutex_unlock(&srv->mu);
	return tb_call_stop_code(call);
}

uint32_t tb_call_remaining_ms(tb_call *call)
{
	uint64_t now = tbi_clock_ms();
	return now >= call->deadline ? 0 : (uint32_t)(call->deadline - now);
}

uint64_t tb_call_id(const tb_call *call)
{
	return call->id;
}

const char *tb_call_metadata(const tb_call *call, const char *key)
{
	return tb_map_get(call->req->metadata, call->req->n_metadata, key);
}

void tb_call_event(tb_call *call, Testbus__V1__EventKind kind, const char *test_name,
                   const char *message, double percent)
{
	tb_server *srv = call->srv;
	if (!srv->events_open)
		return;
	Testbus__V1__Event ev = TESTBUS__V1__EVENT__INIT;
	ev.call_id = call->id;
	ev.run_id = (char *)(tb_call_metadata(call, TB_META_RUN_ID) ?: "");
	ev.component = srv->name;
	ev.kind = kind;
	ev.time = tbi_wall_ms();
	ev.test_name = (char *)(test_name ? test_name : "");
	ev.message = (char *)(message ? message : "");
	ev.percent = percent;
	tbi_event_push(srv->events, &ev);
}
