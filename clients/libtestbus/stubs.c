/* Typed client stubs, default deadlines, Cancel and the Describe handshake. */
#include <string.h>

#include "internal.h"

#define SECOND 1000u
#define MINUTE (60u * SECOND)
#define HOUR (60u * MINUTE)

/* A call never waits forever: every method has a default deadline. */
static const struct {
	const char *service;
	const char *method;
	uint32_t ms;
} default_deadlines[] = {
	{"testbus.v1.Provisioner", "Provision", 2 * HOUR},
	{"testbus.v1.Provisioner", "Destroy", 1 * HOUR},
	{"testbus.v1.Provisioner", "GetKubeconfig", 2 * MINUTE},
	{"testbus.v1.Provisioner", "Health", 2 * MINUTE},
	{"testbus.v1.Executor", "Execute", 1 * HOUR},
	{"testbus.v1.Analyzer", "ShouldAnalyze", 30 * SECOND},
	{"testbus.v1.Analyzer", "Analyze", 10 * MINUTE},
	{"testbus.v1.Reporter", "Initialize", 1 * MINUTE},
	{"testbus.v1.Reporter", "Report", 10 * MINUTE},
	{"testbus.v1.Reporter", "Finalize", 10 * MINUTE},
	{"testbus.v1.Component", NULL, 10 * SECOND},
	{"testbus.v1.Broker", "PollWork", 2 * MINUTE},
	{"testbus.v1.Broker", NULL, 30 * SECOND},
};

#define FALLBACK_DEADLINE (1 * MINUTE)

uint32_t tb_default_deadline_ms(const char *service, const char *method)
{
	if (service == NULL)
		return FALLBACK_DEADLINE;
	for (size_t i = 0; i < sizeof(default_deadlines) / sizeof(default_deadlines[0]); i++) {
		if (strcmp(default_deadlines[i].service, service) != 0)
			continue;
		if (default_deadlines[i].method == NULL ||
		    (method != NULL && strcmp(default_deadlines[i].method, method) == 0))
			return default_deadlines[i].ms;
	}
	return FALLBACK_DEADLINE;
}

#define TB_STUB_IMPL(fn, svc, method, In, Out)                                             \
	int fn(tb_conn *conn, const In *in, Out **outp, const tb_call_opts *opts,          \
	       tb_status *st)                                                              \
	{                                                                                  \
		return tb_invoke(conn, &svc, method, &in->base, (ProtobufCMessage **)outp, opts, \
		               st);                                                            \
	}

TB_STUB_IMPL(tb_provisioner_provision, testbus__v1__provisioner__descriptor, "Provision",
             Testbus__V1__ProvisionRequest, Testbus__V1__ClusterInfo)
TB_STUB_IMPL(tb_provisioner_destroy, testbus__v1__provisioner__descriptor, "Destroy",
             Testbus__V1__ClusterInfo, Testbus__V1__Empty)
TB_STUB_IMPL(tb_provisioner_get_kubeconfig, testbus__v1__provisioner__descriptor,
             "GetKubeconfig", Testbus__V1__ClusterInfo, Testbus__V1__Kubeconfig)
TB_STUB_IMPL(tb_provisioner_health, testbus__v1__provisioner__descriptor, "Health",
             Testbus__V1__ClusterInfo, Testbus__V1__HealthStatus)
TB_STUB_IMPL(tb_executor_execute, testbus__v1__executor__descriptor, "Execute",
             Testbus__V1__ExecutionTarget, Testbus__V1__ExecutionResult)
TB_STUB_IMPL(tb_analyzer_should_analyze, testbus__v1__analyzer__descriptor, "ShouldAnalyze",
             Testbus__V1__ExecutionResult, Testbus__V1__Decision)
TB_STUB_IMPL(tb_analyzer_analyze, testbus__v1__analyzer__descriptor, "Analyze",
             Testbus__V1__AnalysisInput, Testbus__V1__AnalysisResult)
TB_STUB_IMPL(tb_reporter_initialize, testbus__v1__reporter__descriptor, "Initialize",
             Testbus__V1__ReporterInit, Testbus__V1__Empty)
TB_STUB_IMPL(tb_reporter_report, testbus__v1__reporter__descriptor, "Report",
             Testbus__V1__ReportInput, Testbus__V1__ReportOutput)
TB_STUB_IMPL(tb_reporter_finalize, testbus__v1__reporter__descriptor, "Finalize",
             Testbus__V1__Empty, Testbus__V1__ReportOutput)
TB_STUB_IMPL(tb_component_describe, testbus__v1__component__descriptor, "Describe",
             Testbus__V1__Empty, Testbus__V1__ComponentInfo)
TB_STUB_IMPL(tb_component_health, testbus__v1__component__descriptor, "Health",
             Testbus__V1__Empty, Testbus__V1__ComponentHealth)
TB_STUB_IMPL(tb_component_configure, testbus__v1__component__descriptor, "Configure",
             Testbus__V1__ComponentConfig, Testbus__V1__Empty)
TB_STUB_IMPL(tb_broker_register, testbus__v1__broker__descriptor, "RegisterComponent",
             Testbus__V1__Registration, Testbus__V1__RegistrationReply)
TB_STUB_IMPL(tb_broker_heartbeat, testbus__v1__broker__descriptor, "Heartbeat",
             Testbus__V1__HeartbeatRequest, Testbus__V1__HeartbeatReply)
TB_STUB_IMPL(tb_broker_poll_work, testbus__v1__broker__descriptor, "PollWork",
             Testbus__V1__PollRequest, Testbus__V1__WorkItem)
TB_STUB_IMPL(tb_broker_renew_lease, testbus__v1__broker__descriptor, "RenewLease",
             Testbus__V1__LeaseRenewal, Testbus__V1__LeaseReply)
TB_STUB_IMPL(tb_broker_complete_work, testbus__v1__broker__descriptor, "CompleteWork",
             Testbus__V1__WorkResult, Testbus__V1__WorkAck)

int tb_cancel(tb_conn *conn, uint64_t call_id, int *foundp, tb_status *st)
{
	Testbus__V1__CancelRequest req = TESTBUS__V1__CANCEL_REQUEST__INIT;
	Testbus__V1__CancelReply *reply = NULL;
	req.call_id = call_id;
	int rv = tb_invoke(conn, &testbus__v1__component__descriptor, "Cancel", &req.base,
	                 (ProtobufCMessage **)&reply, NULL, st);
	if (rv != TB_OK)
		return rv;
	if (foundp != NULL)
		*foundp = reply->found;
	testbus__v1__cancel_reply__free_unpacked(reply, NULL);
	return TB_OK;
}

int tb_handshake(tb_conn *conn, uint32_t deadline_ms, Testbus__V1__ComponentInfo **infop,
                 tb_status *st)
{
	Testbus__V1__Empty empty = TESTBUS__V1__EMPTY__INIT;
	Testbus__V1__ComponentInfo *info = NULL;
	tb_call_opts opts = {.deadline_ms = deadline_ms};
	int rv = tb_component_describe(conn, &empty, &info, &opts, st);
	if (rv != TB_OK)
		return rv;
	if (info->protocol_version < TB_PROTOCOL_MIN || info->protocol_version > TB_PROTOCOL_MAX) {
		rv = tb_status_set(st, TB_FAILED_PRECONDITION,
		                   "%s at %s speaks protocol version %u; this broker supports %d to %d",
		                   info->name && info->name[0] ? info->name : "component",
		                   tb_conn_url(conn), info->protocol_version, TB_PROTOCOL_MIN,
		                   TB_PROTOCOL_MAX);
		testbus__v1__component_info__free_unpacked(info, NULL);
		return rv;
	}
	tb_conn_set_peer_max_message(conn, info->max_message_size);
	*infop = info;
	return TB_OK;
}
