/* The built-in Component service: Describe, Health, Configure and Cancel. */
#include <string.h>
#include <unistd.h>

#include "server_internal.h"

static int control_describe(tb_call *call, const ProtobufCMessage *input,
                            ProtobufCMessage **outputp, void *arg)
{
	tb_server *srv = call->srv;
	tb_arena *a = call->arena;
	Testbus__V1__ComponentInfo *info = tb_arena_zalloc(a, sizeof(*info));
	char **services = tb_arena_zalloc(a, srv->n_services * sizeof(char *));
	Testbus__V1__ComponentInfo__LabelsEntry **labels =
	    tb_arena_zalloc(a, (srv->n_labels + 1) * sizeof(*labels));
	(void)input;
	(void)arg;
	if (info == NULL || services == NULL || labels == NULL)
		return tb_call_error(call, TB_RESOURCE_EXHAUSTED, "out of memory");
	testbus__v1__component_info__init(info);
	info->name = srv->name;
	info->kind = srv->kind;
	info->version = srv->version;
	for (size_t i = 0; i < srv->n_services; i++)
		services[i] = (char *)srv->services[i].desc->name;
	info->n_services = srv->n_services;
	info->services = services;
	for (size_t i = 0; i < srv->n_labels; i++) {
		labels[i] = tb_arena_zalloc(a, sizeof(**labels));
		if (labels[i] == NULL)
			return tb_call_error(call, TB_RESOURCE_EXHAUSTED, "out of memory");
		testbus__v1__component_info__labels_entry__init(labels[i]);
		labels[i]->key = (char *)srv->labels[i].key;
		labels[i]->value = (char *)srv->labels[i].value;
	}
	info->n_labels = srv->n_labels;
	info->labels = labels;
	info->capacity = srv->capacity;
	info->protocol_version = TB_PROTOCOL_VERSION;
	info->max_message_size = srv->max_msg;
	info->pid = getpid();
	*outputp = &info->base;
	return TB_OK;
}

static int control_health(tb_call *call, const ProtobufCMessage *input,
                          ProtobufCMessage **outputp, void *arg)
{
	tb_server *srv = call->srv;
	Testbus__V1__ComponentHealth *h = tb_arena_zalloc(call->arena, sizeof(*h));
	(void)input;
	(void)arg;
	if (h == NULL)
		return tb_call_error(call, TB_RESOURCE_EXHAUSTED, "out of memory");
	testbus__v1__component_health__init(h);
	h->serving = !atomic_load(&srv->stopping);
	h->message = h->serving ? "serving" : "shutting down";
	h->running = tb_server_running(srv);
	h->capacity = srv->capacity;
	*outputp = &h->base;
	return TB_OK;
}

static int control_configure(tb_call *call, const ProtobufCMessage *input,
                             ProtobufCMessage **outputp, void *arg)
{
	tb_status st;
	(void)arg;
	int rv = tb_server_configure(call->srv, (const Testbus__V1__ComponentConfig *)input, &st);
	if (rv != TB_OK)
		return tb_call_error(call, rv, "%s", st.message);
	Testbus__V1__Empty *empty = tb_arena_zalloc(call->arena, sizeof(*empty));
	if (empty == NULL)
		return tb_call_error(call, TB_RESOURCE_EXHAUSTED, "out of memory");
	testbus__v1__empty__init(empty);
	*outputp = &empty->base;
	return TB_OK;
}

static int control_cancel(tb_call *call, const ProtobufCMessage *input,
                          ProtobufCMessage **outputp, void *arg)
{
	const Testbus__V1__CancelRequest *req = (const Testbus__V1__CancelRequest *)input;
	tb_server *srv = call->srv;
	Testbus__V1__CancelReply *reply = tb_arena_zalloc(call->arena, sizeof(*reply));
	(void)arg;
	if (reply == NULL)
		return tb_call_error(call, TB_RESOURCE_EXHAUSTED, "out of memory");
	testbus__v1__cancel_reply__init(reply);
	pthread_mutex_lock(&srv->mu);
	for (tb_call *c = srv->running; c != NULL; c = c->next) {
		if (c != call && c->id == req->call_id && req->call_id != 0) {
			atomic_store(&c->cancelled, true);
			reply->found = true;
		}
	}
	pthread_cond_broadcast(&srv->cv);
	pthread_mutex_unlock(&srv->mu);
	*outputp = &reply->base;
	return TB_OK;
}

/* Indexed like testbus.v1.Component's methods in services.proto. */
const tb_handler_fn tbi_control_handlers[] = {
	control_describe,
	control_health,
	control_configure,
	control_cancel,
};
const size_t tbi_n_control_handlers = sizeof(tbi_control_handlers) / sizeof(tbi_control_handlers[0]);
