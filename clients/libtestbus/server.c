/* The component server: listeners, receiver threads and orderly shutdown. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "server_internal.h"

#include <nng/protocol/pipeline0/push.h>
#include <nng/protocol/reqrep0/rep.h>

#define SERVER_DEFAULT_CONTROL_SLOTS 4
#define SERVER_SEND_TIMEOUT_MS 10000
#define SERVER_EVENT_QUEUE 1024

struct timespec tbi_abstime(uint64_t deadline_ms)
{
	struct timespec ts = {
		.tv_sec = (time_t)(deadline_ms / 1000),
		.tv_nsec = (long)(deadline_ms % 1000) * 1000000L,
	};
	return ts;
}

static int server_copy_labels(tb_server *srv, const tb_server_opts *opts)
{
	if (opts->n_labels == 0)
		return TB_OK;
	srv->labels = calloc(opts->n_labels, sizeof(*srv->labels));
	if (srv->labels == NULL)
		return TB_RESOURCE_EXHAUSTED;
	for (size_t i = 0; i < opts->n_labels; i++) {
		srv->labels[i].key = tbi_strdup(opts->labels[i].key);
		srv->labels[i].value = tbi_strdup(opts->labels[i].value);
		srv->n_labels = i + 1;
		if (srv->labels[i].key == NULL || srv->labels[i].value == NULL)
			return TB_RESOURCE_EXHAUSTED;
	}
	return TB_OK;
}

static int server_copy_opts(tb_server *srv, const tb_server_opts *opts)
{
	struct {
		char **dst;
		const char *src;
	} strings[] = {
		{&srv->name, opts->name ? opts->name : "component"},
		{&srv->version, opts->version ? opts->version : tb_version()},
		{&srv->token, opts->token},
		{&srv->events_url, opts->events_url},
		{&srv->tls_ca, opts->tls.ca_file},
		{&srv->tls_cert, opts->tls.cert_file},
		{&srv->tls_key, opts->tls.key_file},
	};
	for (size_t i = 0; i < sizeof(strings) / sizeof(strings[0]); i++) {
		*strings[i].dst = tbi_strdup(strings[i].src);
		if (strings[i].src != NULL && *strings[i].dst == NULL)
			return TB_RESOURCE_EXHAUSTED;
	}
	srv->kind = opts->kind;
	srv->capacity = opts->capacity ? opts->capacity : 1;
	srv->control_slots = opts->control_slots ? opts->control_slots
	                                         : SERVER_DEFAULT_CONTROL_SLOTS;
	srv->max_msg = opts->max_message_size ? opts->max_message_size : TB_DEFAULT_MAX_MESSAGE;
	srv->configure = opts->configure;
	srv->arg = opts->arg;
	return server_copy_labels(srv, opts);
}

int tb_server_add_service(tb_server *srv, const ProtobufCServiceDescriptor *service,
                          const tb_method *methods, size_t n_methods, tb_status *st)
{
	if (srv->started)
		return tb_status_set(st, TB_FAILED_PRECONDITION, "add services before starting");
	struct server_service *svcs =
	    realloc(srv->services, (srv->n_services + 1) * sizeof(*svcs));
	if (svcs == NULL)
		return tb_status_set(st, TB_RESOURCE_EXHAUSTED, "out of memory");
	srv->services = svcs;
	struct server_service *s = &svcs[srv->n_services];
	memset(s, 0, sizeof(*s));
	s->desc = service;
	s->handlers = calloc(service->n_methods ? service->n_methods : 1, sizeof(*s->handlers));
	if (s->handlers == NULL)
		return tb_status_set(st, TB_RESOURCE_EXHAUSTED, "out of memory");
	srv->n_services++;
	for (size_t i = 0; i < n_methods; i++) {
		int idx = tbi_method_index(service, methods[i].name);
		if (idx < 0 || methods[i].fn == NULL)
			return tb_status_set(st, TB_INVALID_ARGUMENT, "%s has no method %s",
			                     service->name, methods[i].name ? methods[i].name : "(null)");
		s->handlers[idx] = methods[i].fn;
	}
	return TB_OK;
}

int tb_server_alloc(const tb_server_opts *opts, tb_server **srvp, tb_status *st)
{
	tb_server *srv = calloc(1, sizeof(*srv));
	int rv;
	if (srv == NULL)
		return tb_status_set(st, TB_RESOURCE_EXHAUSTED, "out of memory");
	pthread_mutex_init(&srv->mu, NULL);
	pthread_rwlock_init(&srv->ops, NULL);
	pthread_condattr_t attr;
	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_init(&srv->cv, &attr);
	pthread_condattr_destroy(&attr);
	if ((rv = server_copy_opts(srv, opts)) != TB_OK) {
		tb_status_set(st, rv, "out of memory");
		goto out;
	}
	int nrv = nng_rep0_open(&srv->sock);
	if (nrv != 0) {
		rv = tbi_status_nng(st, nrv, "cannot open a server socket", NULL);
		goto out;
	}
	srv->sock_open = true;
	nng_socket_set_size(srv->sock, NNG_OPT_RECVMAXSZ, srv->max_msg);
	struct server_service *control;
	rv = tb_server_add_service(srv, &testbus__v1__component__descriptor, NULL, 0, st);
	if (rv != TB_OK)
		goto out;
	control = &srv->services[0];
	control->control = true;
	for (size_t i = 0; i < tbi_n_control_handlers && i < control->desc->n_methods; i++)
		control->handlers[i] = tbi_control_handlers[i];
	*srvp = srv;
	srv = NULL;
out:
	tb_server_free(srv);
	return rv;
}

int tb_server_listen(tb_server *srv, const char *url, tb_status *st)
{
	if (srv->n_listeners == SERVER_MAX_LISTENERS)
		return tb_status_set(st, TB_RESOURCE_EXHAUSTED, "too many listeners");
	nng_listener l;
	int rv = nng_listener_create(&l, srv->sock, url);
	if (rv != 0)
		return tbi_status_nng(st, rv, "cannot listen on", url);
	if (tbi_url_is_tls(url)) {
		if (srv->tls == NULL) {
			tb_tls_opts tls = {.ca_file = srv->tls_ca, .cert_file = srv->tls_cert,
			                   .key_file = srv->tls_key};
			int code = tbi_tls_config(&tls, true, url, &srv->tls, st);
			if (code != TB_OK) {
				nng_listener_close(l);
				return code;
			}
		}
		nng_listener_set_ptr(l, NNG_OPT_TLS_CONFIG, srv->tls);
	}
	if (strncmp(url, "ipc://", 6) == 0)
		nng_listener_set_int(l, NNG_OPT_IPC_PERMISSIONS, 0600);
	nng_listener_set_size(l, NNG_OPT_RECVMAXSZ, srv->max_msg);
	if ((rv = nng_listener_start(l, 0)) != 0) {
		nng_listener_close(l);
		return tbi_status_nng(st, rv, "cannot listen on", url);
	}
	srv->listeners[srv->n_listeners++] = l;
	if (srv->url == NULL) {
		char *bound = NULL;
		if (nng_listener_get_string(l, NNG_OPT_URL, &bound) == 0) {
			srv->url = tbi_strdup(bound);
			nng_strfree(bound);
		} else {
			srv->url = tbi_strdup(url);
		}
	}
	return TB_OK;
}

const char *tb_server_url(const tb_server *srv)
{
	return srv->url;
}

/* Counts workers between a request and its answer, for a graceful stop. */
static void server_busy(tb_server *srv, int delta)
{
	pthread_mutex_lock(&srv->mu);
	srv->n_busy = (uint32_t)((int)srv->n_busy + delta);
	pthread_cond_broadcast(&srv->cv);
	pthread_mutex_unlock(&srv->mu);
}

/* Starts a receive or send on the worker's context unless closing. */
static int server_start(struct server_worker *w, bool send)
{
	tb_server *srv = w->srv;
	pthread_rwlock_rdlock(&srv->ops);
	bool closed = srv->ops_closed;
	if (!closed) {
		if (send)
			nng_ctx_send(w->ctx, w->aio);
		else
			nng_ctx_recv(w->ctx, w->aio);
	}
	pthread_rwlock_unlock(&srv->ops);
	if (closed)
		return NNG_ECLOSED;
	nng_aio_wait(w->aio);
	return nng_aio_result(w->aio);
}

static void *server_worker_main(void *arg)
{
	struct server_worker *w = arg;
	for (;;) {
		int rv = server_start(w, false);
		if (rv == NNG_ECLOSED)
			break;
		if (rv != 0)
			continue;
		server_busy(w->srv, 1);
		nng_msg *answer = tbi_server_handle(w->srv, nng_aio_get_msg(w->aio));
		if (answer != NULL) {
			nng_aio_set_msg(w->aio, answer);
			nng_aio_set_timeout(w->aio, SERVER_SEND_TIMEOUT_MS);
			if ((rv = server_start(w, true)) != 0)
				nng_msg_free(answer);
		}
		server_busy(w->srv, -1);
		if (rv == NNG_ECLOSED)
			break;
	}
	return NULL;
}

static int server_open_events(tb_server *srv, tb_status *st)
{
	if (srv->events_url == NULL)
		return TB_OK;
	int rv = nng_push0_open(&srv->events);
	if (rv != 0)
		return tbi_status_nng(st, rv, "cannot open the events socket", NULL);
	srv->events_open = true;
	nng_socket_set_size(srv->events, NNG_OPT_RECVMAXSZ, srv->max_msg);
	/* Queue events while the connection to the broker is being made. */
	nng_socket_set_int(srv->events, NNG_OPT_SENDBUF, SERVER_EVENT_QUEUE);
	rv = nng_dial(srv->events, srv->events_url, NULL, NNG_FLAG_NONBLOCK);
	if (rv != 0)
		return tbi_status_nng(st, rv, "cannot dial the events address", srv->events_url);
	return TB_OK;
}

int tb_server_start(tb_server *srv, tb_status *st)
{
	if (srv->started)
		return tb_status_set(st, TB_FAILED_PRECONDITION, "server already started");
	if (srv->n_listeners == 0)
		return tb_status_set(st, TB_FAILED_PRECONDITION, "server has no listener");
	int rv = server_open_events(srv, st);
	if (rv != TB_OK)
		return rv;
	size_t n = srv->capacity + srv->control_slots;
	srv->workers = calloc(n, sizeof(*srv->workers));
	if (srv->workers == NULL)
		return tb_status_set(st, TB_RESOURCE_EXHAUSTED, "out of memory");
	srv->started = true;
	for (size_t i = 0; i < n; i++) {
		struct server_worker *w = &srv->workers[i];
		w->srv = srv;
		int nrv = nng_aio_alloc(&w->aio, NULL, NULL);
		if (nrv == 0)
			nrv = nng_ctx_open(&w->ctx, srv->sock);
		if (nrv != 0)
			return tbi_status_nng(st, nrv, "cannot start the server", NULL);
		srv->n_workers = i + 1;
		if (pthread_create(&w->thread, NULL, server_worker_main, w) != 0)
			return tb_status_set(st, TB_RESOURCE_EXHAUSTED, "cannot start a thread");
		w->thread_started = true;
	}
	return TB_OK;
}

uint32_t tb_server_running(tb_server *srv)
{
	pthread_mutex_lock(&srv->mu);
	uint32_t n = srv->n_running;
	pthread_mutex_unlock(&srv->mu);
	return n;
}

void tb_server_stop(tb_server *srv, uint32_t grace_ms)
{
	pthread_mutex_lock(&srv->mu);
	if (srv->stopped) {
		pthread_mutex_unlock(&srv->mu);
		return;
	}
	atomic_store(&srv->stopping, true);
	for (struct tb_call *c = srv->running; c != NULL; c = c->next)
		atomic_store(&c->cancelled, true);
	pthread_cond_broadcast(&srv->cv);
	/* Give running handlers a chance to answer before the socket closes. */
	struct timespec until = tbi_abstime(tbi_clock_ms() + grace_ms);
	while (srv->n_busy > 0) {
		if (pthread_cond_timedwait(&srv->cv, &srv->mu, &until) != 0)
			break;
	}
	srv->stopped = true;
	pthread_mutex_unlock(&srv->mu);
	/* No operation starts once ops_closed is set, pending ones are aborted;
	 * contexts are closed once idle and the socket last, as closing a
	 * socket under busy contexts is not safe in NNG 1.5.2. */
	pthread_rwlock_wrlock(&srv->ops);
	srv->ops_closed = true;
	pthread_rwlock_unlock(&srv->ops);
	for (size_t i = 0; i < srv->n_workers; i++)
		nng_aio_abort(srv->workers[i].aio, NNG_ECLOSED);
	for (size_t i = 0; i < srv->n_workers; i++) {
		if (srv->workers[i].thread_started)
			pthread_join(srv->workers[i].thread, NULL);
		nng_ctx_close(srv->workers[i].ctx);
	}
	if (srv->sock_open) {
		nng_close(srv->sock);
		srv->sock_open = false;
	}
	if (srv->events_open) {
		nng_close(srv->events);
		srv->events_open = false;
	}
}

void tb_server_free(tb_server *srv)
{
	if (srv == NULL)
		return;
	tb_server_stop(srv, 0);
	for (size_t i = 0; i < srv->n_workers; i++) {
		if (srv->workers[i].aio != NULL)
			nng_aio_free(srv->workers[i].aio);
	}
	free(srv->workers);
	for (size_t i = 0; i < srv->n_services; i++)
		free(srv->services[i].handlers);
	free(srv->services);
	for (size_t i = 0; i < srv->n_labels; i++) {
		free((char *)srv->labels[i].key);
		free((char *)srv->labels[i].value);
	}
	free(srv->labels);
	if (srv->tls != NULL)
		nng_tls_config_free(srv->tls);
	tbi_dedup_fini(&srv->dedup);
	char *strings[] = {srv->name,   srv->version, srv->token, srv->events_url,
	                   srv->tls_ca, srv->tls_cert, srv->tls_key, srv->url};
	for (size_t i = 0; i < sizeof(strings) / sizeof(strings[0]); i++)
		free(strings[i]);
	pthread_cond_destroy(&srv->cv);
	pthread_mutex_destroy(&srv->mu);
	pthread_rwlock_destroy(&srv->ops);
	free(srv);
}

int tb_server_configure(tb_server *srv, const Testbus__V1__ComponentConfig *config,
                        tb_status *st)
{
	if (srv->configure == NULL)
		return TB_OK;
	tb_status_clear(st);
	int rv = srv->configure(config, srv->arg, st);
	if (rv != TB_OK && st != NULL && st->message[0] == '\0')
		tb_status_set(st, rv, "configuration refused");
	return rv;
}
