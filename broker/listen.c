/* The Broker service: registrations under leases, and work pulled by registered executors. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "listen.h"
#include "run.h"

#define LISTEN_SLOTS 64
#define LISTEN_TICK_MS 250u
#define LISTEN_MAX_CAPACITY 1000u

/* One registration: a component that dialled in. */
struct listen_reg {
	struct listen_reg *next;
	char id[32];
	Testbus__V1__ComponentInfo *info; /* owned (unpacked) */
	char *token;                      /* what it registered with; may be NULL */
	uint64_t seen;                    /* monotonic ms of its last sign of life */
	bool gone;                        /* its lease lapsed */
	struct comp *comp;                /* the executor it is bound to; NULL if none */
};

/* One attempt of a target, queued for a registered executor. */
struct listen_work {
	struct listen_work *next;
	struct listen_reg *reg;
	const Testbus__V1__ExecutionTarget *target; /* borrowed from listen_execute */
	const Testbus__V1__ComponentConfig *config; /* borrowed from listen_execute */
	enum { WORK_QUEUED, WORK_HANDED, WORK_DONE } state;
	uint64_t lease_until;
	Testbus__V1__ExecutionResult *result; /* owned (unpacked) once done */
};

static struct {
	pthread_mutex_t mu;
	pthread_cond_t cv; /* CLOCK_MONOTONIC: work queued or done, registrations */
	tb_server *srv;
	struct listen_reg *regs;
	struct listen_work *works;
	uint32_t next_id;
} listen_state = {.mu = PTHREAD_MUTEX_INITIALIZER};

static uint64_t listen_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* Waits on the state's condition for up to ms. Locked. */
static void listen_wait_locked(uint32_t ms)
{
	uint64_t until = listen_now() + ms;
	struct timespec ts = {.tv_sec = (time_t)(until / 1000), .tv_nsec = (long)(until % 1000) * 1000000};
	pthread_cond_timedwait(&listen_state.cv, &listen_state.mu, &ts);
}

/* Ends registration g. Locked. */
static void listen_drop_locked(struct listen_reg *g, uint64_t now)
{
	g->gone = true;
	blog("registration %s (%s) ended: no sign of life for %llums", g->id, g->info->name,
	     (unsigned long long)(now - g->seen));
	pthread_cond_broadcast(&listen_state.cv);
}

/* Ends registrations whose lease lapsed; frees unbound ones. Locked. */
static void listen_sweep_locked(void)
{
	uint64_t now = listen_now();
	for (struct listen_reg **p = &listen_state.regs; *p != NULL;) {
		struct listen_reg *g = *p;
		if (!g->gone && now > g->seen + LISTEN_LEASE_MS)
			listen_drop_locked(g, now);
		if (g->gone && g->comp == NULL) {
			*p = g->next;
			testbus__v1__component_info__free_unpacked(g->info, NULL);
			free(g->token);
			free(g);
			continue;
		}
		p = &g->next;
	}
}

static struct listen_reg *listen_find_locked(const char *id)
{
	for (struct listen_reg *g = listen_state.regs; id != NULL && g != NULL; g = g->next) {
		if (!g->gone && strcmp(g->id, id) == 0)
			return g;
	}
	return NULL;
}

/* A copy of msg: unpacked with alloc (NULL: malloc). NULL when out of memory. */
static ProtobufCMessage *listen_copy(const ProtobufCMessage *msg, ProtobufCAllocator *alloc)
{
	size_t len = protobuf_c_message_get_packed_size(msg);
	uint8_t *buf = malloc(len ? len : 1);
	ProtobufCMessage *copy = NULL;
	if (buf != NULL) {
		protobuf_c_message_pack(msg, buf);
		copy = protobuf_c_message_unpack(msg->descriptor, alloc, len, buf);
	}
	free(buf);
	return copy;
}

static int listen_register(tb_call *call, const ProtobufCMessage *input,
                           ProtobufCMessage **outputp, void *arg)
{
	const Testbus__V1__Registration *in = (const Testbus__V1__Registration *)input;
	const Testbus__V1__ComponentInfo *info = in->info;
	(void)arg;
	if (info == NULL || info->name == NULL || info->name[0] == '\0')
		return tb_call_error(call, TB_INVALID_ARGUMENT, "a registration needs a named ComponentInfo");
	if (info->kind != TESTBUS__V1__COMPONENT_KIND__KIND_EXECUTOR)
		return tb_call_error(call, TB_INVALID_ARGUMENT, "only executors can register");
	if (info->protocol_version < TB_PROTOCOL_MIN || info->protocol_version > TB_PROTOCOL_MAX)
		return tb_call_error(call, TB_FAILED_PRECONDITION,
		                     "protocol version %u is not supported (this broker speaks %d to %d)",
		                     info->protocol_version, TB_PROTOCOL_MIN, TB_PROTOCOL_MAX);
	struct listen_reg *g = calloc(1, sizeof(*g));
	Testbus__V1__RegistrationReply *out = tb_arena_zalloc(tb_call_arena(call), sizeof(*out));
	const char *token = tb_call_metadata(call, TB_META_TOKEN);
	if (g == NULL || out == NULL ||
	    (g->info = (Testbus__V1__ComponentInfo *)listen_copy(&info->base, NULL)) == NULL ||
	    (token != NULL && (g->token = strdup(token)) == NULL)) {
		if (g != NULL && g->info != NULL)
			testbus__v1__component_info__free_unpacked(g->info, NULL);
		free(g);
		return tb_call_error(call, TB_RESOURCE_EXHAUSTED, "out of memory");
	}
	if (g->info->capacity == 0)
		g->info->capacity = 1;
	if (g->info->capacity > LISTEN_MAX_CAPACITY)
		g->info->capacity = LISTEN_MAX_CAPACITY;
	pthread_mutex_lock(&listen_state.mu);
	listen_sweep_locked();
	snprintf(g->id, sizeof(g->id), "r%u-%04x", ++listen_state.next_id,
	         (unsigned)(tb_new_call_id() & 0xffff));
	g->seen = listen_now();
	g->next = listen_state.regs;
	listen_state.regs = g;
	pthread_cond_broadcast(&listen_state.cv);
	pthread_mutex_unlock(&listen_state.mu);
	blog("registered executor %s %s (capacity %u, pid %lld) as %s", info->name,
	     info->version ? info->version : "", g->info->capacity, (long long)info->pid, g->id);
	testbus__v1__registration_reply__init(out);
	out->component_id = tb_arena_strdup(tb_call_arena(call), g->id);
	out->lease_ms = LISTEN_LEASE_MS;
	out->heartbeat_ms = LISTEN_HEARTBEAT_MS;
	*outputp = &out->base;
	return TB_OK;
}

static int listen_heartbeat(tb_call *call, const ProtobufCMessage *input,
                            ProtobufCMessage **outputp, void *arg)
{
	const Testbus__V1__HeartbeatRequest *in = (const Testbus__V1__HeartbeatRequest *)input;
	Testbus__V1__HeartbeatReply *out = tb_arena_zalloc(tb_call_arena(call), sizeof(*out));
	(void)arg;
	if (out == NULL)
		return tb_call_error(call, TB_RESOURCE_EXHAUSTED, "out of memory");
	testbus__v1__heartbeat_reply__init(out);
	pthread_mutex_lock(&listen_state.mu);
	listen_sweep_locked();
	struct listen_reg *g = listen_find_locked(in->component_id);
	if (g != NULL)
		g->seen = listen_now();
	out->known = g != NULL;
	pthread_mutex_unlock(&listen_state.mu);
	*outputp = &out->base;
	return TB_OK;
}

/* Hands w to the poll: copies its target and config into the call's arena. Locked. */
static int listen_hand_locked(tb_call *call, struct listen_work *w, Testbus__V1__WorkItem *out)
{
	ProtobufCAllocator alloc = tb_arena_allocator(tb_call_arena(call));
	out->target = (Testbus__V1__ExecutionTarget *)listen_copy(&w->target->base, &alloc);
	out->config = (Testbus__V1__ComponentConfig *)listen_copy(&w->config->base, &alloc);
	out->work_id = w->target->target_id;
	if (out->target == NULL || out->config == NULL)
		return tb_call_error(call, TB_RESOURCE_EXHAUSTED, "out of memory");
	out->work_id = out->target->target_id;
	out->attempt_id = w->target->attempt;
	out->lease_ms = LISTEN_LEASE_MS;
	out->has_work = true;
	w->state = WORK_HANDED;
	w->lease_until = listen_now() + LISTEN_LEASE_MS;
	pthread_cond_broadcast(&listen_state.cv);
	return TB_OK;
}

static int listen_poll(tb_call *call, const ProtobufCMessage *input, ProtobufCMessage **outputp,
                       void *arg)
{
	const Testbus__V1__PollRequest *in = (const Testbus__V1__PollRequest *)input;
	Testbus__V1__WorkItem *out = tb_arena_zalloc(tb_call_arena(call), sizeof(*out));
	uint32_t wait = in->wait_ms;
	int rv = TB_OK;
	(void)arg;
	if (out == NULL)
		return tb_call_error(call, TB_RESOURCE_EXHAUSTED, "out of memory");
	testbus__v1__work_item__init(out);
	if (wait + 1000 > tb_call_remaining_ms(call))
		wait = tb_call_remaining_ms(call) > 1000 ? tb_call_remaining_ms(call) - 1000 : 0;
	uint64_t until = listen_now() + wait;
	pthread_mutex_lock(&listen_state.mu);
	listen_sweep_locked();
	struct listen_reg *g = listen_find_locked(in->component_id);
	if (g == NULL) {
		pthread_mutex_unlock(&listen_state.mu);
		return tb_call_error(call, TB_NOT_FOUND, "unknown component id '%s': register again",
		                     in->component_id);
	}
	g->seen = listen_now();
	while (!g->gone && !tb_call_stopped(call)) {
		struct listen_work *w = listen_state.works;
		while (w != NULL && (w->reg != g || w->state != WORK_QUEUED))
			w = w->next;
		if (w != NULL) {
			rv = listen_hand_locked(call, w, out);
			break;
		}
		uint64_t now = listen_now();
		if (now >= until)
			break;
		listen_wait_locked(until - now < LISTEN_TICK_MS ? (uint32_t)(until - now) : LISTEN_TICK_MS);
	}
	pthread_mutex_unlock(&listen_state.mu);
	if (rv == TB_OK)
		*outputp = &out->base;
	return rv;
}

/* The attempt in flight for work_id/attempt from registration id, or NULL. Locked. */
static struct listen_work *listen_find_work_locked(const char *id, const char *work_id,
                                                   uint32_t attempt)
{
	for (struct listen_work *w = listen_state.works; w != NULL; w = w->next) {
		if (w->state == WORK_HANDED && w->target->attempt == attempt && work_id != NULL &&
		    strcmp(w->target->target_id, work_id) == 0 && id != NULL &&
		    strcmp(w->reg->id, id) == 0 && !w->reg->gone)
			return w;
	}
	return NULL;
}

static int listen_renew(tb_call *call, const ProtobufCMessage *input, ProtobufCMessage **outputp,
                        void *arg)
{
	const Testbus__V1__LeaseRenewal *in = (const Testbus__V1__LeaseRenewal *)input;
	Testbus__V1__LeaseReply *out = tb_arena_zalloc(tb_call_arena(call), sizeof(*out));
	(void)arg;
	if (out == NULL)
		return tb_call_error(call, TB_RESOURCE_EXHAUSTED, "out of memory");
	testbus__v1__lease_reply__init(out);
	pthread_mutex_lock(&listen_state.mu);
	listen_sweep_locked();
	struct listen_work *w = listen_find_work_locked(in->component_id, in->work_id, in->attempt_id);
	if (w != NULL) {
		w->lease_until = listen_now() + LISTEN_LEASE_MS;
		w->reg->seen = listen_now();
	}
	out->valid = w != NULL;
	pthread_mutex_unlock(&listen_state.mu);
	*outputp = &out->base;
	return TB_OK;
}

static int listen_complete(tb_call *call, const ProtobufCMessage *input,
                           ProtobufCMessage **outputp, void *arg)
{
	const Testbus__V1__WorkResult *in = (const Testbus__V1__WorkResult *)input;
	Testbus__V1__WorkAck *out = tb_arena_zalloc(tb_call_arena(call), sizeof(*out));
	Testbus__V1__ExecutionResult *res = NULL;
	(void)arg;
	if (out == NULL || (in->result != NULL &&
	                    (res = (Testbus__V1__ExecutionResult *)listen_copy(&in->result->base,
	                                                                       NULL)) == NULL))
		return tb_call_error(call, TB_RESOURCE_EXHAUSTED, "out of memory");
	testbus__v1__work_ack__init(out);
	pthread_mutex_lock(&listen_state.mu);
	struct listen_work *w = listen_find_work_locked(in->component_id, in->work_id, in->attempt_id);
	if (w != NULL && res != NULL) {
		w->result = res;
		w->state = WORK_DONE;
		out->accepted = true;
		res = NULL;
		pthread_cond_broadcast(&listen_state.cv);
	}
	pthread_mutex_unlock(&listen_state.mu);
	if (!out->accepted) {
		out->reason = in->result == NULL ? "no result given"
		                                 : "not the current attempt of this work: dropped";
		blog("dropped a result of %s attempt %u from %s: %s", in->work_id, in->attempt_id,
		     in->component_id, out->reason);
	}
	if (res != NULL)
		protobuf_c_message_free_unpacked(&res->base, NULL);
	*outputp = &out->base;
	return TB_OK;
}

static const tb_method listen_methods[] = {
	{"RegisterComponent", listen_register},
	{"Heartbeat", listen_heartbeat},
	{"PollWork", listen_poll},
	{"RenewLease", listen_renew},
	{"CompleteWork", listen_complete},
};

int listen_start(const struct broker_config *cfg)
{
	const struct config_listen *l = &cfg->listen;
	tb_server_opts so = {
		.name = "testbus", .version = tb_version(), .capacity = LISTEN_SLOTS,
		.tls = {.ca_file = l->tls.ca_file, .cert_file = l->tls.cert_file,
		        .key_file = l->tls.key_file, .server_name = l->tls.server_name},
		.token = l->token,
	};
	pthread_condattr_t attr;
	tb_status st;
	int rv;
	if (l->address == NULL)
		return TB_OK;
	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_init(&listen_state.cv, &attr);
	pthread_condattr_destroy(&attr);
	if ((rv = tb_server_alloc(&so, &listen_state.srv, &st)) != TB_OK ||
	    (rv = tb_server_add_service(listen_state.srv, &testbus__v1__broker__descriptor,
	                                listen_methods,
	                                sizeof(listen_methods) / sizeof(listen_methods[0]), &st)) !=
	        TB_OK ||
	    (rv = tb_server_listen(listen_state.srv, l->address, &st)) != TB_OK ||
	    (rv = tb_server_start(listen_state.srv, &st)) != TB_OK) {
		blog("preflight: cannot listen on %s: %s", l->address, st.message);
		listen_stop();
		return rv;
	}
	blog("listening for registrations on %s", tb_server_url(listen_state.srv));
	return TB_OK;
}

void listen_stop(void)
{
	if (listen_state.srv == NULL)
		return;
	tb_server_free(listen_state.srv);
	listen_state.srv = NULL;
	pthread_mutex_lock(&listen_state.mu);
	while (listen_state.regs != NULL) {
		struct listen_reg *g = listen_state.regs;
		listen_state.regs = g->next;
		testbus__v1__component_info__free_unpacked(g->info, NULL);
		free(g->token);
		free(g);
	}
	pthread_mutex_unlock(&listen_state.mu);
	pthread_cond_destroy(&listen_state.cv);
}

static bool listen_matches(const struct config_component *cc, const struct listen_reg *g)
{
	if (g->gone || g->comp != NULL)
		return false;
	if (cc->match_name != NULL && strcmp(cc->match_name, g->info->name) != 0)
		return false;
	if (cc->token != NULL && (g->token == NULL || strcmp(cc->token, g->token) != 0))
		return false;
	for (size_t i = 0; i < cc->match_labels.n; i++) {
		const char *v = tb_map_get(g->info->labels, g->info->n_labels,
		                           cc->match_labels.items[i].key);
		if (v == NULL || strcmp(v, cc->match_labels.items[i].value) != 0)
			return false;
	}
	return true;
}

static size_t listen_count_locked(const struct config_component *cc)
{
	size_t n = 0;
	listen_sweep_locked();
	for (struct listen_reg *g = listen_state.regs; g != NULL; g = g->next)
		n += listen_matches(cc, g);
	return n;
}

/* Makes the executor of registration g. Locked. */
static int listen_bind_one(const struct config_component *cc, struct listen_reg *g,
                           struct comp *c)
{
	memset(c, 0, sizeof(*c));
	c->cfg = cc;
	c->info = (Testbus__V1__ComponentInfo *)listen_copy(&g->info->base, NULL);
	if (asprintf(&c->name, "%s@%s", cc->name, g->id) < 0)
		c->name = NULL;
	if (asprintf(&c->address, "registered %s (%s, pid %lld)", g->id, g->info->name,
	             (long long)g->info->pid) < 0)
		c->address = NULL;
	if (c->info == NULL || c->name == NULL || c->address == NULL) {
		if (c->info != NULL)
			testbus__v1__component_info__free_unpacked(c->info, NULL);
		free(c->name);
		free(c->address);
		memset(c, 0, sizeof(*c));
		return TB_RESOURCE_EXHAUSTED;
	}
	c->capacity = g->info->capacity;
	c->remote = g;
	g->comp = c;
	return TB_OK;
}

size_t listen_bind(const struct config_component *cc, struct comp *out, size_t max,
                   tb_status *st)
{
	size_t n = 0;
	if (listen_state.srv == NULL) {
		tb_status_set(st, TB_FAILED_PRECONDITION, "the broker is not listening for registrations");
		return 0;
	}
	uint64_t until = listen_now() + cc->wait_ms;
	pthread_mutex_lock(&listen_state.mu);
	while (listen_count_locked(cc) < cc->min_count && listen_now() < until &&
	       atomic_load(&run_signals) == 0)
		listen_wait_locked(LISTEN_TICK_MS);
	size_t have = listen_count_locked(cc);
	if (have < cc->min_count) {
		tb_status_set(st, TB_UNAVAILABLE,
		              "%zu of the %u matching registration%s needed after waiting %ums", have,
		              cc->min_count, cc->min_count == 1 ? "" : "s", cc->wait_ms);
	} else {
		for (struct listen_reg *g = listen_state.regs; g != NULL && n < max; g = g->next) {
			if (listen_matches(cc, g) && listen_bind_one(cc, g, &out[n]) == TB_OK)
				n++;
		}
	}
	pthread_mutex_unlock(&listen_state.mu);
	return n;
}

bool listen_alive(struct comp *c)
{
	pthread_mutex_lock(&listen_state.mu);
	listen_sweep_locked();
	bool alive = !c->remote->gone;
	pthread_mutex_unlock(&listen_state.mu);
	return alive;
}

uint64_t listen_seen_ms_ago(struct comp *c)
{
	pthread_mutex_lock(&listen_state.mu);
	uint64_t now = listen_now(), seen = c->remote->seen;
	pthread_mutex_unlock(&listen_state.mu);
	return now > seen ? now - seen : 0;
}

uint32_t listen_running(struct comp *c)
{
	uint32_t n = 0;
	pthread_mutex_lock(&listen_state.mu);
	for (struct listen_work *w = listen_state.works; w != NULL; w = w->next) {
		if (w->reg == c->remote && w->state == WORK_HANDED)
			n++;
	}
	pthread_mutex_unlock(&listen_state.mu);
	return n;
}

/* Why w cannot finish, or NULL while it still may. Locked. */
static const char *listen_lost_locked(struct listen_work *w, uint64_t now, uint64_t deadline,
                                      int *codep)
{
	*codep = TB_UNAVAILABLE;
	if (w->reg->gone)
		return "its registration ended (no heartbeat within the lease)";
	if (w->state == WORK_HANDED && now > w->lease_until) {
		if (now > w->reg->seen + 2 * LISTEN_HEARTBEAT_MS)
			listen_drop_locked(w->reg, now); /* silent as well: the executor is gone */
		return "its lease lapsed";
	}
	*codep = TB_DEADLINE_EXCEEDED;
	if (now >= deadline)
		return "no result before the deadline";
	*codep = TB_CANCELLED;
	if (atomic_load(&run_signals) != 0)
		return "the run was interrupted";
	return NULL;
}

int listen_execute(struct comp *c, const Testbus__V1__ExecutionTarget *target,
                   uint32_t deadline_ms, Testbus__V1__ExecutionResult **resp, tb_status *st)
{
	/* The registered entry's config section travels with each work item. */
	Testbus__V1__ComponentConfig config = TESTBUS__V1__COMPONENT_CONFIG__INIT;
	struct listen_work w = {.reg = c->remote, .target = target, .config = &config};
	const char *why = NULL;
	int code = TB_OK;
	*resp = NULL;
	if (tb_component_config_wrap(c->cfg->config, &config) != TB_OK)
		return tb_status_set(st, TB_RESOURCE_EXHAUSTED, "out of memory");
	config.run_id = (char *)target->run_id;
	uint64_t deadline = listen_now() + deadline_ms;
	pthread_mutex_lock(&listen_state.mu);
	w.next = listen_state.works;
	listen_state.works = &w;
	pthread_cond_broadcast(&listen_state.cv);
	for (;;) {
		listen_sweep_locked();
		if (w.state == WORK_DONE)
			break;
		if ((why = listen_lost_locked(&w, listen_now(), deadline, &code)) != NULL)
			break;
		listen_wait_locked(LISTEN_TICK_MS);
	}
	for (struct listen_work **p = &listen_state.works; *p != NULL; p = &(*p)->next) {
		if (*p == &w) {
			*p = w.next;
			break;
		}
	}
	bool gone = w.reg->gone;
	pthread_mutex_unlock(&listen_state.mu);
	tb_component_config_unwrap(&config);
	if (gone)
		c->lost = true;
	if (w.state == WORK_DONE) {
		*resp = w.result;
		return TB_OK;
	}
	return tb_status_set(st, code, "%s attempt %u on %s: %s", target->target_id,
	                     target->attempt, w.reg->id, why);
}
