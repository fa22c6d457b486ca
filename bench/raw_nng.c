/* The floor: plain NNG REQ/REP with contexts, answering without decoding. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <nng/nng.h>
#include <nng/protocol/reqrep0/rep.h>
#include <nng/protocol/reqrep0/req.h>
#include <nng/transport/tcp/tcp.h>

#include "bench.h"

#define RAW_POLL_MS 100        /* how often an idle server worker looks for a stop */
#define RAW_TIMEOUT_MS 10000   /* every call and answer, as libtestbus bounds them */

struct raw_worker {
	struct raw_server *srv;
	pthread_t thread;
	bool thread_started;
	nng_ctx ctx;
	nng_aio *aio;
};

struct raw_server {
	nng_socket sock;
	bool sock_open;
	struct raw_worker *workers;
	size_t n_workers;
	const uint8_t *answer; /* borrowed */
	size_t answer_len;
	_Atomic bool stopping;
	char url[BENCH_URL_MAX];
};

struct raw_client {
	nng_socket sock;
	bool sock_open;
	const uint8_t *req; /* borrowed */
	size_t req_len;
	size_t answer_len;
};

/* One caller thread's context on a raw_client. */
struct raw_caller {
	raw_client *cli;
	nng_ctx ctx;
	bool ctx_open;
	nng_aio *aio;
};

/* Sends the fixed answer on the worker's context; the request is dropped unread. */
static void raw_answer(struct raw_worker *w)
{
	struct raw_server *srv = w->srv;
	nng_msg *ans;
	nng_msg_free(nng_aio_get_msg(w->aio));
	if (nng_msg_alloc(&ans, srv->answer_len) != 0)
		return;
	memcpy(nng_msg_body(ans), srv->answer, srv->answer_len);
	nng_aio_set_msg(w->aio, ans);
	nng_aio_set_timeout(w->aio, RAW_TIMEOUT_MS);
	nng_ctx_send(w->ctx, w->aio);
	nng_aio_wait(w->aio);
	if (nng_aio_result(w->aio) != 0)
		nng_msg_free(ans); /* a failed send leaves the message with us */
}

static void *raw_worker_main(void *arg)
{
	struct raw_worker *w = arg;
	for (;;) {
		nng_aio_set_timeout(w->aio, RAW_POLL_MS);
		nng_ctx_recv(w->ctx, w->aio);
		nng_aio_wait(w->aio);
		int rv = nng_aio_result(w->aio);
		if (atomic_load(&w->srv->stopping) || rv == NNG_ECLOSED) {
			if (rv == 0)
				nng_msg_free(nng_aio_get_msg(w->aio));
			break;
		}
		if (rv == 0)
			raw_answer(w);
	}
	return NULL;
}

static int raw_server_listen(raw_server *srv, const char *url)
{
	nng_listener l;
	int port = 0;
	int rv = nng_listen(srv->sock, url, &l, 0);
	if (rv != 0)
		return rv;
	if (strncmp(url, "tcp://", 6) == 0 &&
	    nng_listener_get_int(l, NNG_OPT_TCP_BOUND_PORT, &port) == 0)
		snprintf(srv->url, sizeof(srv->url), "tcp://127.0.0.1:%d", port);
	else
		snprintf(srv->url, sizeof(srv->url), "%s", url);
	return 0;
}

static int raw_server_start(raw_server *srv, unsigned n_workers)
{
	srv->workers = calloc(n_workers, sizeof(*srv->workers));
	if (srv->workers == NULL)
		return NNG_ENOMEM;
	for (unsigned i = 0; i < n_workers; i++) {
		struct raw_worker *w = &srv->workers[i];
		w->srv = srv;
		int rv = nng_aio_alloc(&w->aio, NULL, NULL);
		if (rv == 0)
			rv = nng_ctx_open(&w->ctx, srv->sock);
		if (rv != 0)
			return rv;
		srv->n_workers = i + 1;
		if (pthread_create(&w->thread, NULL, raw_worker_main, w) != 0)
			return NNG_ENOMEM;
		w->thread_started = true;
	}
	return 0;
}

int raw_server_open(const char *url, unsigned n_workers, const uint8_t *answer, size_t len,
                    raw_server **srvp)
{
	raw_server *srv = calloc(1, sizeof(*srv));
	int rv = NNG_ENOMEM;
	if (srv == NULL)
		goto out;
	srv->answer = answer;
	srv->answer_len = len;
	if ((rv = nng_rep0_open(&srv->sock)) != 0)
		goto out;
	srv->sock_open = true;
	if ((rv = raw_server_listen(srv, url)) != 0)
		goto out;
	rv = raw_server_start(srv, n_workers);
out:
	if (rv != 0) {
		raw_server_close(srv);
		srv = NULL;
	}
	*srvp = srv;
	return rv;
}

const char *raw_server_url(const raw_server *srv)
{
	return srv->url;
}

void raw_server_close(raw_server *srv)
{
	if (srv == NULL)
		return;
	/* Workers see the flag within a poll interval; contexts are closed
	 * only once idle and the socket last, which NNG 1.5.2 needs. */
	atomic_store(&srv->stopping, true);
	for (size_t i = 0; i < srv->n_workers; i++) {
		struct raw_worker *w = &srv->workers[i];
		if (w->thread_started)
			pthread_join(w->thread, NULL);
		nng_ctx_close(w->ctx);
	}
	if (srv->sock_open)
		nng_close(srv->sock);
	for (size_t i = 0; i < srv->n_workers; i++)
		nng_aio_free(srv->workers[i].aio);
	free(srv->workers);
	free(srv);
}

int raw_client_open(const char *url, const uint8_t *req, size_t req_len, size_t answer_len,
                    raw_client **clip)
{
	raw_client *cli = calloc(1, sizeof(*cli));
	int rv = NNG_ENOMEM;
	if (cli == NULL)
		goto out;
	cli->req = req;
	cli->req_len = req_len;
	cli->answer_len = answer_len;
	if ((rv = nng_req0_open(&cli->sock)) != 0)
		goto out;
	cli->sock_open = true;
	nng_socket_set_ms(cli->sock, NNG_OPT_REQ_RESENDTIME, NNG_DURATION_INFINITE);
	nng_socket_set_size(cli->sock, NNG_OPT_RECVMAXSZ, TB_DEFAULT_MAX_MESSAGE);
	rv = nng_dial(cli->sock, url, NULL, 0);
out:
	if (rv != 0) {
		raw_client_close(cli);
		cli = NULL;
	}
	*clip = cli;
	return rv;
}

void raw_client_close(raw_client *cli)
{
	if (cli == NULL)
		return;
	if (cli->sock_open)
		nng_close(cli->sock);
	free(cli);
}

static void raw_caller_close(void *arg)
{
	struct raw_caller *c = arg;
	if (c == NULL)
		return;
	if (c->ctx_open)
		nng_ctx_close(c->ctx);
	if (c->aio != NULL)
		nng_aio_free(c->aio);
	free(c);
}

static int raw_caller_open(void *shared, void **callerp)
{
	struct raw_caller *c = calloc(1, sizeof(*c));
	int rv = NNG_ENOMEM;
	if (c == NULL)
		goto out;
	c->cli = shared;
	if ((rv = nng_aio_alloc(&c->aio, NULL, NULL)) != 0)
		goto out;
	if ((rv = nng_ctx_open(&c->ctx, c->cli->sock)) != 0)
		goto out;
	c->ctx_open = true;
out:
	if (rv != 0) {
		raw_caller_close(c);
		c = NULL;
	}
	*callerp = c;
	return rv;
}

/* One request and its answer on the caller's context, as libtestbus does them. */
static int raw_caller_call(void *arg)
{
	struct raw_caller *c = arg;
	nng_msg *msg;
	int rv = nng_msg_alloc(&msg, c->cli->req_len);
	if (rv != 0)
		return rv;
	memcpy(nng_msg_body(msg), c->cli->req, c->cli->req_len);
	nng_aio_set_timeout(c->aio, RAW_TIMEOUT_MS);
	nng_aio_set_msg(c->aio, msg);
	nng_ctx_send(c->ctx, c->aio);
	nng_aio_wait(c->aio);
	if ((rv = nng_aio_result(c->aio)) != 0) {
		nng_msg_free(msg);
		return rv;
	}
	nng_ctx_recv(c->ctx, c->aio);
	nng_aio_wait(c->aio);
	if ((rv = nng_aio_result(c->aio)) != 0)
		return rv;
	msg = nng_aio_get_msg(c->aio);
	rv = nng_msg_len(msg) == c->cli->answer_len ? 0 : NNG_EPROTO;
	nng_msg_free(msg);
	return rv;
}

const struct bench_side bench_raw_side = {
	.name = "raw",
	.open = raw_caller_open,
	.call = raw_caller_call,
	.close = raw_caller_close,
};
