/* Dial-out registration: register with a broker, pull work, run it under a lease. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conn.h"
#include "register.h"
#include "server_internal.h"

#define REGISTER_POLL_WAIT_MS 20000u
#define REGISTER_POLL_SLACK_MS 10000u
#define REGISTER_BACKOFF_MIN_MS 200u
#define REGISTER_BACKOFF_MAX_MS 5000u
#define REGISTER_ANSWER_SLACK_MS 60000u
#define REGISTER_NO_TIMEOUT_MS (3600u * 1000u)

struct tbi_register {
	tb_server *srv;
	tb_conn *conn;
	char *prog;
	char *url;
	uint32_t capacity;
	const char *service; /* the executor service's full name */
	const ProtobufCMethodDescriptor *method;
	tb_handler_fn fn;
	pthread_t keeper;
	bool keeper_started;
	pthread_t *workers;
	size_t n_workers;

	pthread_mutex_t mu;
	pthread_cond_t cv; /* CLOCK_MONOTONIC: registration and stop */
	bool stopping;
	char *id;          /* NULL while not registered */
	uint32_t lease_ms, heartbeat_ms;
	char *run_id;      /* the run whose config was applied last */
	char last_error[TB_STATUS_MESSAGE_MAX];
};

/* One work item being run, and the thread that renews its lease. */
struct register_lease {
	tbi_register *r;
	const char *id;
	const Testbus__V1__WorkItem *item;
	tb_call *call;
	bool done; /* under r->mu */
	bool lost; /* under r->mu */
};

/* Sleeps up to ms unless stopping; returns false once stopping. Locked. */
static bool register_sleep_locked(tbi_register *r, uint32_t ms)
{
	struct timespec until = tbi_abstime(tbi_clock_ms() + ms);
	while (!r->stopping && pthread_cond_timedwait(&r->cv, &r->mu, &until) == 0) {
	}
	return !r->stopping;
}

static bool register_sleep(tbi_register *r, uint32_t ms)
{
	pthread_mutex_lock(&r->mu);
	bool go_on = register_sleep_locked(r, ms);
	pthread_mutex_unlock(&r->mu);
	return go_on;
}

/* Forgets the registration id, when it is still the current one. */
static void register_forget(tbi_register *r, const char *id, const char *why)
{
	pthread_mutex_lock(&r->mu);
	if (r->id != NULL && strcmp(r->id, id) == 0) {
		fprintf(stderr, "%s: registration %s ended (%s): registering again\n", r->prog, id, why);
		free(r->id);
		r->id = NULL;
		pthread_cond_broadcast(&r->cv);
	}
	pthread_mutex_unlock(&r->mu);
}

/* A copy of the current registration id, waiting for one; NULL once stopping. */
static char *register_current(tbi_register *r)
{
	char *id = NULL;
	pthread_mutex_lock(&r->mu);
	while (!r->stopping && r->id == NULL)
		pthread_cond_wait(&r->cv, &r->mu);
	if (!r->stopping)
		id = tbi_strdup(r->id);
	pthread_mutex_unlock(&r->mu);
	return id;
}

static int register_once(tbi_register *r, tb_status *st)
{
	tb_server *srv = r->srv;
	Testbus__V1__Registration in = TESTBUS__V1__REGISTRATION__INIT;
	Testbus__V1__ComponentInfo info = TESTBUS__V1__COMPONENT_INFO__INIT;
	Testbus__V1__ComponentInfo__LabelsEntry *store = calloc(srv->n_labels + 1, sizeof(*store));
	Testbus__V1__ComponentInfo__LabelsEntry **ptrs = calloc(srv->n_labels + 1, sizeof(*ptrs));
	Testbus__V1__RegistrationReply *reply = NULL;
	char *service = (char *)r->service;
	int rv;
	if (store == NULL || ptrs == NULL) {
		rv = tb_status_set(st, TB_RESOURCE_EXHAUSTED, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < srv->n_labels; i++) {
		testbus__v1__component_info__labels_entry__init(&store[i]);
		store[i].key = (char *)srv->labels[i].key;
		store[i].value = (char *)srv->labels[i].value;
		ptrs[i] = &store[i];
	}
	info.name = srv->name;
	info.kind = srv->kind;
	info.version = srv->version;
	info.n_services = 1;
	info.services = &service;
	info.n_labels = srv->n_labels;
	info.labels = ptrs;
	info.capacity = r->capacity;
	info.protocol_version = TB_PROTOCOL_VERSION;
	info.max_message_size = srv->max_msg;
	info.pid = getpid();
	in.info = &info;
	tb_call_opts opts = {.deadline_ms = 10000};
	if ((rv = tb_broker_register(r->conn, &in, &reply, &opts, st)) != TB_OK)
		goto out;
	pthread_mutex_lock(&r->mu);
	free(r->id);
	r->id = tbi_strdup(reply->component_id);
	r->lease_ms = reply->lease_ms ? reply->lease_ms : 10000;
	r->heartbeat_ms = reply->heartbeat_ms ? reply->heartbeat_ms : r->lease_ms / 3;
	fprintf(stderr, "%s: registered with %s as %s (lease %ums)\n", r->prog, r->url, r->id,
	        r->lease_ms);
	pthread_cond_broadcast(&r->cv);
	pthread_mutex_unlock(&r->mu);
out:
	if (reply != NULL)
		testbus__v1__registration_reply__free_unpacked(reply, NULL);
	free(store);
	free(ptrs);
	return rv;
}

/* Keeps the registration alive: registers, heartbeats, registers again. */
static void *register_keeper_main(void *arg)
{
	tbi_register *r = arg;
	uint32_t backoff = REGISTER_BACKOFF_MIN_MS;
	tb_status st;
	for (;;) {
		pthread_mutex_lock(&r->mu);
		char *id = r->id ? tbi_strdup(r->id) : NULL;
		uint32_t beat = r->heartbeat_ms;
		bool stopping = r->stopping;
		pthread_mutex_unlock(&r->mu);
		if (stopping) {
			free(id);
			break;
		}
		if (id == NULL) {
			if (register_once(r, &st) == TB_OK) {
				backoff = REGISTER_BACKOFF_MIN_MS;
				r->last_error[0] = '\0';
				continue;
			}
			pthread_mutex_lock(&r->mu);
			stopping = r->stopping;
			pthread_mutex_unlock(&r->mu);
			if (!stopping && strcmp(r->last_error, st.message) != 0) {
				fprintf(stderr, "%s: cannot register with %s: %s (retrying)\n", r->prog, r->url,
				        st.message);
				snprintf(r->last_error, sizeof(r->last_error), "%s", st.message);
			}
			register_sleep(r, backoff);
			backoff = backoff * 2 > REGISTER_BACKOFF_MAX_MS ? REGISTER_BACKOFF_MAX_MS
			                                                : backoff * 2;
			continue;
		}
		if (register_sleep(r, beat)) {
			Testbus__V1__HeartbeatRequest in = TESTBUS__V1__HEARTBEAT_REQUEST__INIT;
			Testbus__V1__HeartbeatReply *reply = NULL;
			tb_call_opts opts = {.deadline_ms = beat > 2000 ? beat : 2000};
			in.component_id = id;
			int rv = tb_broker_heartbeat(r->conn, &in, &reply, &opts, &st);
			if (rv != TB_OK)
				register_forget(r, id, st.message);
			else if (!reply->known)
				register_forget(r, id, "the broker does not know it");
			if (reply != NULL)
				testbus__v1__heartbeat_reply__free_unpacked(reply, NULL);
		}
		free(id);
	}
	return NULL;
}

/* Renews the lease every lease_ms/3; cancels the call once it is lost. */
static void *register_lease_main(void *arg)
{
	struct register_lease *l = arg;
	tbi_register *r = l->r;
	uint32_t lease = l->item->lease_ms ? l->item->lease_ms : r->lease_ms;
	uint32_t every = lease / 3 ? lease / 3 : 1;
	uint64_t valid_until = tbi_clock_ms() + lease;
	tb_status st;
	pthread_mutex_lock(&r->mu);
	while (!l->done && !l->lost) {
		struct timespec until = tbi_abstime(tbi_clock_ms() + every);
		if (pthread_cond_timedwait(&r->cv, &r->mu, &until) == 0 || l->done)
			continue;
		pthread_mutex_unlock(&r->mu);
		Testbus__V1__LeaseRenewal in = TESTBUS__V1__LEASE_RENEWAL__INIT;
		Testbus__V1__LeaseReply *reply = NULL;
		tb_call_opts opts = {.deadline_ms = every};
		in.component_id = (char *)l->id;
		in.work_id = l->item->work_id;
		in.attempt_id = l->item->attempt_id;
		int rv = tb_broker_renew_lease(r->conn, &in, &reply, &opts, &st);
		bool lost = (rv == TB_OK && !reply->valid) || rv == TB_NOT_FOUND ||
		            (rv != TB_OK && tbi_clock_ms() >= valid_until);
		if (rv == TB_OK && reply->valid)
			valid_until = tbi_clock_ms() + lease;
		if (reply != NULL)
			testbus__v1__lease_reply__free_unpacked(reply, NULL);
		if (lost) {
			fprintf(stderr, "%s: lost the lease of %s attempt %u: stopping it\n", r->prog,
			        l->item->work_id, l->item->attempt_id);
			tbi_call_cancel(l->call);
		}
		pthread_mutex_lock(&r->mu);
		l->lost = l->lost || lost;
	}
	pthread_mutex_unlock(&r->mu);
	return NULL;
}

/* Applies the run's config once per run, as Configure would. */
static int register_configure(tbi_register *r, const Testbus__V1__WorkItem *item, tb_status *st)
{
	const char *run_id = item->target->run_id ? item->target->run_id : "";
	int rv = TB_OK;
	if (item->config == NULL)
		return TB_OK;
	pthread_mutex_lock(&r->mu);
	if (r->run_id == NULL || strcmp(r->run_id, run_id) != 0) {
		rv = tb_server_configure(r->srv, item->config, st);
		if (rv == TB_OK) {
			free(r->run_id);
			r->run_id = tbi_strdup(run_id);
		}
	}
	pthread_mutex_unlock(&r->mu);
	return rv;
}

/* Runs the component's own handler on the item's target. */
static int register_invoke(tbi_register *r, struct register_lease *l, tb_call *call,
                           Testbus__V1__ExecutionResult **resp, const char **messagep)
{
	tb_server *srv = r->srv;
	pthread_t th;
	ProtobufCMessage *out = NULL;
	pthread_mutex_lock(&srv->mu);
	srv->n_running++;
	pthread_mutex_unlock(&srv->mu);
	bool renewing = pthread_create(&th, NULL, register_lease_main, l) == 0;
	int code = tbi_server_invoke(srv, call, r->method, r->fn, &l->item->target->base, &out,
	                             messagep);
	tbi_server_untrack(srv, call, true, NULL);
	pthread_mutex_lock(&r->mu);
	l->done = true;
	pthread_cond_broadcast(&r->cv);
	pthread_mutex_unlock(&r->mu);
	if (renewing)
		pthread_join(th, NULL);
	*resp = (Testbus__V1__ExecutionResult *)out;
	return code;
}

static void register_complete(tbi_register *r, const char *id, const Testbus__V1__WorkItem *item,
                              Testbus__V1__ExecutionResult *res)
{
	Testbus__V1__WorkResult in = TESTBUS__V1__WORK_RESULT__INIT;
	Testbus__V1__WorkAck *ack = NULL;
	tb_call_opts opts = {.deadline_ms = 30000, .retries = 3};
	tb_status st;
	in.component_id = (char *)id;
	in.work_id = item->work_id;
	in.attempt_id = item->attempt_id;
	in.result = res;
	int rv = tb_broker_complete_work(r->conn, &in, &ack, &opts, &st);
	if (rv != TB_OK)
		fprintf(stderr, "%s: cannot hand back %s attempt %u: %s\n", r->prog, item->work_id,
		        item->attempt_id, st.message);
	else if (!ack->accepted)
		fprintf(stderr, "%s: the broker dropped the result of %s attempt %u: %s\n", r->prog,
		        item->work_id, item->attempt_id, ack->reason);
	if (ack != NULL)
		testbus__v1__work_ack__free_unpacked(ack, NULL);
}

/* Runs one work item under its lease and hands back the result. */
static void register_run(tbi_register *r, const char *id, const Testbus__V1__WorkItem *item)
{
	Testbus__V1__ExecutionResult failed = TESTBUS__V1__EXECUTION_RESULT__INIT;
	Testbus__V1__ResultSummary summary = TESTBUS__V1__RESULT_SUMMARY__INIT;
	Testbus__V1__Request req = TESTBUS__V1__REQUEST__INIT;
	Testbus__V1__Request__MetadataEntry meta = TESTBUS__V1__REQUEST__METADATA_ENTRY__INIT;
	Testbus__V1__Request__MetadataEntry *metas[1] = {&meta};
	Testbus__V1__ExecutionResult *res = NULL;
	const char *message = NULL;
	tb_arena *arena = NULL;
	tb_status st;
	int code;
	uint32_t budget = item->target->timeout_ms ? item->target->timeout_ms + REGISTER_ANSWER_SLACK_MS
	                                           : REGISTER_NO_TIMEOUT_MS;
	meta.key = TB_META_RUN_ID;
	meta.value = item->target->run_id;
	req.service = (char *)r->service;
	req.method = (char *)r->method->name;
	req.n_metadata = 1;
	req.metadata = metas;
	tb_call call = {.srv = r->srv, .id = tb_new_call_id(), .deadline = tbi_clock_ms() + budget,
	                .req = &req};
	struct register_lease l = {.r = r, .id = id, .item = item, .call = &call};
	if ((code = tb_arena_alloc(&arena)) != TB_OK) {
		message = "out of memory";
	} else if ((code = register_configure(r, item, &st)) != TB_OK) {
		message = st.message;
	} else {
		call.arena = arena;
		code = register_invoke(r, &l, &call, &res, &message);
	}
	if (code != TB_OK) {
		failed.summary = &summary;
		failed.error = (char *)message;
		failed.exit_code = -1;
		failed.cancelled = code == TB_CANCELLED;
		failed.timed_out = code == TB_DEADLINE_EXCEEDED;
		res = &failed;
	}
	if (l.lost)
		fprintf(stderr, "%s: %s attempt %u: the lease was lost, its result is not sent\n",
		        r->prog, item->work_id, item->attempt_id);
	else
		register_complete(r, id, item, res);
	tb_arena_free(arena);
}

/* One worker: polls for work, runs it, again. */
static void *register_worker_main(void *arg)
{
	tbi_register *r = arg;
	char *id;
	tb_status st;
	while ((id = register_current(r)) != NULL) {
		Testbus__V1__PollRequest in = TESTBUS__V1__POLL_REQUEST__INIT;
		Testbus__V1__WorkItem *item = NULL;
		tb_call_opts opts = {.deadline_ms = REGISTER_POLL_WAIT_MS + REGISTER_POLL_SLACK_MS};
		in.component_id = id;
		in.wait_ms = REGISTER_POLL_WAIT_MS;
		int rv = tb_broker_poll_work(r->conn, &in, &item, &opts, &st);
		if (rv == TB_NOT_FOUND)
			register_forget(r, id, st.message);
		else if (rv != TB_OK)
			register_sleep(r, 500);
		else if (item->has_work && item->target != NULL)
			register_run(r, id, item);
		if (item != NULL)
			testbus__v1__work_item__free_unpacked(item, NULL);
		free(id);
	}
	return NULL;
}

static int register_find_handler(tbi_register *r, tb_status *st)
{
	for (size_t i = 0; i < r->srv->n_services; i++) {
		const struct server_service *svc = &r->srv->services[i];
		int idx = tbi_method_index(svc->desc, "Execute");
		if (svc->control || svc->desc != &testbus__v1__executor__descriptor || idx < 0 ||
		    svc->handlers[idx] == NULL)
			continue;
		r->service = svc->desc->name;
		r->method = &svc->desc->methods[idx];
		r->fn = svc->handlers[idx];
		return TB_OK;
	}
	return tb_status_set(st, TB_FAILED_PRECONDITION,
	                     "only an executor (one serving Execute) can register with a broker");
}

int tbi_register_start(tb_server *srv, const struct tbi_register_opts *o, tbi_register **rp,
                       tb_status *st)
{
	tbi_register *r = calloc(1, sizeof(*r));
	pthread_condattr_t attr;
	int rv;
	if (r == NULL)
		return tb_status_set(st, TB_RESOURCE_EXHAUSTED, "out of memory");
	pthread_mutex_init(&r->mu, NULL);
	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_init(&r->cv, &attr);
	pthread_condattr_destroy(&attr);
	r->srv = srv;
	r->capacity = o->capacity ? o->capacity : 1;
	r->prog = tbi_strdup(o->prog);
	r->url = tbi_strdup(o->url);
	r->workers = calloc(r->capacity, sizeof(*r->workers));
	if (r->prog == NULL || r->url == NULL || r->workers == NULL) {
		rv = tb_status_set(st, TB_RESOURCE_EXHAUSTED, "out of memory");
		goto out;
	}
	if ((rv = register_find_handler(r, st)) != TB_OK ||
	    (rv = tb_conn_open(o->url, &o->conn, &r->conn, st)) != TB_OK)
		goto out;
	if (pthread_create(&r->keeper, NULL, register_keeper_main, r) != 0) {
		rv = tb_status_set(st, TB_RESOURCE_EXHAUSTED, "cannot start a thread");
		goto out;
	}
	r->keeper_started = true;
	for (; r->n_workers < r->capacity; r->n_workers++) {
		if (pthread_create(&r->workers[r->n_workers], NULL, register_worker_main, r) != 0) {
			rv = tb_status_set(st, TB_RESOURCE_EXHAUSTED, "cannot start a thread");
			goto out;
		}
	}
out:
	if (rv != TB_OK) {
		tbi_register_stop(r);
		r = NULL;
	}
	*rp = r;
	return rv;
}

void tbi_register_stop(tbi_register *r)
{
	if (r == NULL)
		return;
	pthread_mutex_lock(&r->mu);
	r->stopping = true;
	pthread_cond_broadcast(&r->cv);
	pthread_mutex_unlock(&r->mu);
	if (r->conn != NULL)
		tbi_conn_shutdown(r->conn);
	if (r->keeper_started)
		pthread_join(r->keeper, NULL);
	for (size_t i = 0; i < r->n_workers; i++)
		pthread_join(r->workers[i], NULL);
	tb_conn_close(r->conn);
	pthread_cond_destroy(&r->cv);
	pthread_mutex_destroy(&r->mu);
	free(r->workers);
	free(r->id);
	free(r->run_id);
	free(r->prog);
	free(r->url);
	free(r);
}
