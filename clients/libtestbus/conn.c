/* Client connections: one REQ socket and dialer per component address. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "conn.h"

#include <nng/protocol/reqrep0/req.h>

/* Reconnect quickly: components are often spawned just before the dial. */
#define CONN_RECONNECT_MIN_MS 20
#define CONN_RECONNECT_MAX_MS 250

static void conn_pipe_added(nng_pipe p, nng_pipe_ev ev, void *arg)
{
	tb_conn *conn = arg;
	uint64_t peer = 0;
	pid_t pid = -1;
	(void)ev;
	if (nng_pipe_get_uint64(p, NNG_OPT_IPC_PEER_PID, &peer) == 0)
		pid = (pid_t)peer;
	pthread_mutex_lock(&conn->mu);
	/* Pipes are tracked by id: NNG does not order the callbacks of an old
	 * pipe's removal and a new pipe's arrival. */
	if (conn->pipes < CONN_MAX_PIPES)
		conn->pipe_ids[conn->pipes++] = nng_pipe_id(p);
	conn->ever_connected = true;
	conn->peer_pid = pid;
	pthread_cond_broadcast(&conn->cv);
	pthread_mutex_unlock(&conn->mu);
}

/*
 * NNG's REQ re-queues the requests of a lost pipe and sends them again to the
 * next peer. That would run a call twice, so every call in flight is ended
 * here with UNAVAILABLE; a caller that asked for retries re-sends it with the
 * same call id, which the server de-duplicates.
 */
static void conn_pipe_removed(nng_pipe p, nng_pipe_ev ev, void *arg)
{
	tb_conn *conn = arg;
	(void)ev;
	pthread_mutex_lock(&conn->mu);
	for (int i = 0; i < conn->pipes; i++) {
		if (conn->pipe_ids[i] == (uint32_t)nng_pipe_id(p)) {
			conn->pipe_ids[i] = conn->pipe_ids[--conn->pipes];
			break;
		}
	}
	if (conn->pipes == 0)
		conn->peer_pid = -1;
	for (struct conn_call *c = conn->calls; c != NULL; c = c->next) {
		c->peer_lost = true;
		nng_aio_abort(c->slot->aio, NNG_ECONNSHUT);
	}
	pthread_mutex_unlock(&conn->mu);
}

static int conn_dial(tb_conn *conn, const tb_conn_opts *opts, tb_status *st)
{
	int rv = nng_dialer_create(&conn->dialer, conn->sock, conn->url);
	if (rv != 0)
		return tbi_status_nng(st, rv, "cannot dial", conn->url);
	nng_dialer_set_ms(conn->dialer, NNG_OPT_RECONNMINT, CONN_RECONNECT_MIN_MS);
	nng_dialer_set_ms(conn->dialer, NNG_OPT_RECONNMAXT, CONN_RECONNECT_MAX_MS);
	if (tbi_url_is_tls(conn->url)) {
		int code = tbi_tls_config(&opts->tls, false, conn->url, &conn->tls, st);
		if (code != TB_OK)
			return code;
		rv = nng_dialer_set_ptr(conn->dialer, NNG_OPT_TLS_CONFIG, conn->tls);
		if (rv != 0)
			return tbi_status_nng(st, rv, "TLS on", conn->url);
	}
	/* Non-blocking: the peer may not be up yet; calls wait for it. */
	rv = nng_dialer_start(conn->dialer, NNG_FLAG_NONBLOCK);
	if (rv != 0)
		return tbi_status_nng(st, rv, "cannot dial", conn->url);
	return TB_OK;
}

int tb_conn_open(const char *url, const tb_conn_opts *opts, tb_conn **connp, tb_status *st)
{
	static const tb_conn_opts defaults = {0};
	tb_conn *conn = NULL;
	int rv;
	if (opts == NULL)
		opts = &defaults;
	if (url == NULL || connp == NULL)
		return tb_status_set(st, TB_INVALID_ARGUMENT, "tb_conn_open: no address");
	conn = calloc(1, sizeof(*conn));
	if (conn == NULL)
		return tb_status_set(st, TB_RESOURCE_EXHAUSTED, "out of memory");
	pthread_mutex_init(&conn->mu, NULL);
	pthread_cond_init(&conn->cv, NULL);
	pthread_rwlock_init(&conn->ops, NULL);
	conn->peer_pid = -1;
	conn->open_max = opts->max_message_size ? opts->max_message_size : TB_DEFAULT_MAX_MESSAGE;
	atomic_store(&conn->max_msg, conn->open_max);
	conn->url = tbi_strdup(url);
	conn->token = tbi_strdup(opts->token);
	if (conn->url == NULL || (opts->token != NULL && conn->token == NULL)) {
		rv = tb_status_set(st, TB_RESOURCE_EXHAUSTED, "out of memory");
		goto out;
	}
	int nrv = nng_req0_open(&conn->sock);
	if (nrv != 0) {
		rv = tbi_status_nng(st, nrv, "cannot open a socket for", url);
		goto out;
	}
	conn->sock_open = true;
	nng_duration resend = opts->nng_resend_ms > 0 ? opts->nng_resend_ms : NNG_DURATION_INFINITE;
	nng_socket_set_ms(conn->sock, NNG_OPT_REQ_RESENDTIME, resend);
	nng_socket_set_size(conn->sock, NNG_OPT_RECVMAXSZ, conn->open_max);
	nng_pipe_notify(conn->sock, NNG_PIPE_EV_ADD_POST, conn_pipe_added, conn);
	nng_pipe_notify(conn->sock, NNG_PIPE_EV_REM_POST, conn_pipe_removed, conn);
	if ((rv = conn_dial(conn, opts, st)) != TB_OK)
		goto out;
	*connp = conn;
	conn = NULL;
	rv = TB_OK;
out:
	tb_conn_close(conn);
	return rv;
}

void tbi_conn_shutdown(tb_conn *conn)
{
	/* No operation starts once ops_closed is set; pending ones are
	 * aborted. */
	pthread_rwlock_wrlock(&conn->ops);
	conn->ops_closed = true;
	pthread_rwlock_unlock(&conn->ops);
	pthread_mutex_lock(&conn->mu);
	conn->closing = true;
	for (struct conn_call *c = conn->calls; c != NULL; c = c->next)
		nng_aio_abort(c->slot->aio, NNG_ECLOSED);
	pthread_mutex_unlock(&conn->mu);
}

void tb_conn_close(tb_conn *conn)
{
	if (conn == NULL)
		return;
	/* Contexts are closed only once idle and the socket last: closing a
	 * socket under busy contexts is not safe in NNG 1.5.2. */
	tbi_conn_shutdown(conn);
	pthread_mutex_lock(&conn->mu);
	while (conn->active > 0)
		pthread_cond_wait(&conn->cv, &conn->mu);
	pthread_mutex_unlock(&conn->mu);
	while (conn->all_slots != NULL) {
		struct conn_slot *s = conn->all_slots;
		conn->all_slots = s->next_all;
		nng_ctx_close(s->ctx);
		nng_aio_free(s->aio);
		free(s);
	}
	if (conn->sock_open)
		nng_close(conn->sock);
	free(conn->free_slots);
	if (conn->tls != NULL)
		nng_tls_config_free(conn->tls);
	pthread_cond_destroy(&conn->cv);
	pthread_mutex_destroy(&conn->mu);
	pthread_rwlock_destroy(&conn->ops);
	free(conn->url);
	free(conn->token);
	free(conn);
}

const char *tb_conn_url(const tb_conn *conn)
{
	return conn->url;
}

void tb_conn_set_peer_max_message(tb_conn *conn, uint32_t size)
{
	if (size > 0 && size < conn->open_max)
		atomic_store(&conn->max_msg, size);
}

void tbi_conn_note_peer(tb_conn *conn, nng_pipe p)
{
	uint32_t id = (uint32_t)nng_pipe_id(p);
	/* Reading the pid is a system call: once per pipe is enough. */
	if (atomic_load(&conn->noted_pipe) == id)
		return;
	uint64_t peer = 0;
	if (nng_pipe_get_uint64(p, NNG_OPT_IPC_PEER_PID, &peer) != 0)
		return;
	pthread_mutex_lock(&conn->mu);
	conn->peer_pid = (pid_t)peer;
	pthread_mutex_unlock(&conn->mu);
	atomic_store(&conn->noted_pipe, id);
}

pid_t tb_conn_peer_pid(tb_conn *conn)
{
	pthread_mutex_lock(&conn->mu);
	pid_t pid = conn->peer_pid;
	pthread_mutex_unlock(&conn->mu);
	return pid;
}

int tbi_conn_slot_get(tb_conn *conn, struct conn_slot **slotp, tb_status *st)
{
	struct conn_slot *slot = NULL;
	pthread_mutex_lock(&conn->mu);
	if (conn->closing) {
		pthread_mutex_unlock(&conn->mu);
		return tb_status_set(st, TB_CANCELLED, "connection to %s is closed", conn->url);
	}
	conn->active++;
	if (conn->n_free > 0)
		slot = conn->free_slots[--conn->n_free];
	pthread_mutex_unlock(&conn->mu);
	if (slot != NULL) {
		*slotp = slot;
		return TB_OK;
	}
	int rv;
	slot = calloc(1, sizeof(*slot));
	if (slot == NULL) {
		rv = tb_status_set(st, TB_RESOURCE_EXHAUSTED, "out of memory");
		goto fail;
	}
	int nrv = nng_aio_alloc(&slot->aio, NULL, NULL);
	if (nrv != 0) {
		rv = tbi_status_nng(st, nrv, "call", conn->url);
		goto fail;
	}
	nrv = nng_ctx_open(&slot->ctx, conn->sock);
	if (nrv != 0) {
		rv = tbi_status_nng(st, nrv, "call", conn->url);
		goto fail;
	}
	pthread_mutex_lock(&conn->mu);
	slot->next_all = conn->all_slots;
	conn->all_slots = slot;
	pthread_mutex_unlock(&conn->mu);
	*slotp = slot;
	return TB_OK;
fail:
	if (slot != NULL && slot->aio != NULL)
		nng_aio_free(slot->aio);
	free(slot);
	pthread_mutex_lock(&conn->mu);
	conn->active--;
	pthread_cond_broadcast(&conn->cv);
	pthread_mutex_unlock(&conn->mu);
	return rv;
}

void tbi_conn_slot_put(tb_conn *conn, struct conn_slot *slot)
{
	/* Every slot is freed with the connection; this only makes it reusable. */
	pthread_mutex_lock(&conn->mu);
	if (!conn->closing && conn->n_free == conn->cap_free) {
		size_t cap = conn->cap_free ? conn->cap_free * 2 : 8;
		struct conn_slot **p = realloc(conn->free_slots, cap * sizeof(*p));
		if (p != NULL) {
			conn->free_slots = p;
			conn->cap_free = cap;
		}
	}
	if (!conn->closing && conn->n_free < conn->cap_free)
		conn->free_slots[conn->n_free++] = slot;
	conn->active--;
	pthread_cond_broadcast(&conn->cv);
	pthread_mutex_unlock(&conn->mu);
}

int tbi_conn_start(tb_conn *conn, struct conn_slot *slot, bool send)
{
	pthread_rwlock_rdlock(&conn->ops);
	bool closed = conn->ops_closed;
	if (!closed) {
		if (send)
			nng_ctx_send(slot->ctx, slot->aio);
		else
			nng_ctx_recv(slot->ctx, slot->aio);
	}
	pthread_rwlock_unlock(&conn->ops);
	return closed ? NNG_ECLOSED : 0;
}

void tbi_conn_track(tb_conn *conn, struct conn_call *call)
{
	pthread_mutex_lock(&conn->mu);
	call->peer_lost = false;
	call->prev = NULL;
	call->next = conn->calls;
	if (conn->calls != NULL)
		conn->calls->prev = call;
	conn->calls = call;
	pthread_mutex_unlock(&conn->mu);
}

bool tbi_conn_untrack(tb_conn *conn, struct conn_call *call)
{
	pthread_mutex_lock(&conn->mu);
	bool lost = call->peer_lost;
	if (call->prev != NULL)
		call->prev->next = call->next;
	else
		conn->calls = call->next;
	if (call->next != NULL)
		call->next->prev = call->prev;
	pthread_mutex_unlock(&conn->mu);
	return lost;
}

bool tbi_conn_wait_connected(tb_conn *conn, uint64_t deadline)
{
	pthread_mutex_lock(&conn->mu);
	while (conn->pipes == 0 && !conn->closing) {
		uint64_t now = tbi_clock_ms();
		if (now >= deadline)
			break;
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		uint64_t wait = deadline - now;
		if (wait > 50)
			wait = 50; /* the condvar uses the wall clock: re-check often */
		ts.tv_nsec += (long)(wait % 1000) * 1000000L;
		ts.tv_sec += (time_t)(wait / 1000) + ts.tv_nsec / 1000000000L;
		ts.tv_nsec %= 1000000000L;
		pthread_cond_timedwait(&conn->cv, &conn->mu, &ts);
	}
	bool ok = conn->pipes > 0;
	pthread_mutex_unlock(&conn->mu);
	return ok;
}

void tbi_conn_state(tb_conn *conn, int *pipesp, bool *everp)
{
	pthread_mutex_lock(&conn->mu);
	*pipesp = conn->pipes;
	*everp = conn->ever_connected;
	pthread_mutex_unlock(&conn->mu);
}
