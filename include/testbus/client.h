/* The client side of the bus: connections to components and calls on them. */
#ifndef TESTBUS_CLIENT_H
#define TESTBUS_CLIENT_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "testbus/export.h"
#include "testbus/proto.h"
#include "testbus/status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct tb_conn tb_conn;

/* Request metadata keys with a meaning to testbus itself. */
#define TB_META_TOKEN "auth-token" /* the identity token */
#define TB_META_RUN_ID "run-id"
#define TB_META_TRACE_ID "trace-id"

/* TLS material for tls+tcp:// (files in PEM). All fields may be NULL. */
typedef struct tb_tls_opts {
	const char *ca_file;     /* verify the peer; a server with one requires client certs */
	const char *cert_file;   /* our certificate */
	const char *key_file;    /* its private key */
	/* client: the name the server certificate must carry; default: the URL's
	 * host. NNG's mbedtls 2 matches DNS names only, not IP addresses, so give a
	 * DNS name of the certificate when dialling an IP address. */
	const char *server_name;
} tb_tls_opts;

typedef struct tb_conn_opts {
	uint32_t max_message_size; /* 0: TB_DEFAULT_MAX_MESSAGE */
	tb_tls_opts tls;
	const char *token;         /* identity token sent in every request; may be NULL */
	/*
	 * NNG's own re-send interval for a request without reply, in ms. 0 (the
	 * default) turns it off: a call is sent at most once by NNG, and retries
	 * happen only through tb_call_opts.retries with the same call id. Tests
	 * set it to prove the server's call-id de-duplication.
	 */
	int32_t nng_resend_ms;
} tb_conn_opts;

typedef struct tb_kv {
	const char *key;
	const char *value;
} tb_kv;

typedef struct tb_call_opts {
	uint32_t deadline_ms;      /* 0: the method's default (see tb_default_deadline_ms) */
	const tb_kv *metadata;     /* may be NULL */
	size_t n_metadata;
	uint64_t call_id;          /* 0: a fresh unique id */
	unsigned retries;          /* re-sends (same call id) after UNAVAILABLE; default 0 */
	uint64_t *call_id_out;     /* may be NULL: receives the call id used */
} tb_call_opts;

/*
 * Opens a connection to url (ipc://, tcp:// or tls+tcp://). Does not wait for
 * the peer: calls made before it is up wait for it within their deadline.
 * Caller owns *connp; close with tb_conn_close().
 */
TB_EXPORT int tb_conn_open(const char *url, const tb_conn_opts *opts, tb_conn **connp,
                           tb_status *st);

/*
 * Closes the connection: calls in flight end with TB_CANCELLED. Blocks until
 * they have returned. conn may be NULL.
 */
TB_EXPORT void tb_conn_close(tb_conn *conn);

/* The URL the connection dials. Borrowed from conn. */
TB_EXPORT const char *tb_conn_url(const tb_conn *conn);

/*
 * Lowers the largest request this connection sends, e.g. to the peer's
 * max_message_size learnt from Describe. Never raises it above the open limit.
 */
TB_EXPORT void tb_conn_set_peer_max_message(tb_conn *conn, uint32_t size);

/*
 * The process id of the peer of the current ipc:// connection, or -1 when
 * unknown (not connected yet, or not ipc).
 */
TB_EXPORT pid_t tb_conn_peer_pid(tb_conn *conn);

/*
 * Calls service/method with input and waits for the answer until the
 * deadline. Many threads may call on one connection at once. On TB_OK, *outputp
 * is the unpacked output message: the caller owns it; free with
 * protobuf_c_message_free_unpacked(out, NULL). On error *outputp is NULL and
 * st (may be NULL) says why. opts may be NULL. Blocks.
 */
TB_EXPORT int tb_invoke(tb_conn *conn, const ProtobufCServiceDescriptor *service,
                      const char *method, const ProtobufCMessage *input,
                      ProtobufCMessage **outputp, const tb_call_opts *opts, tb_status *st);

/*
 * Like tb_invoke, on packed bytes and names, for tools that do not know the
 * types at compile time. Caller owns *outp (free()); *outp may be NULL when
 * the answer is empty.
 */
TB_EXPORT int tb_invoke_raw(tb_conn *conn, const char *service, const char *method,
                          const uint8_t *payload, size_t len, uint8_t **outp, size_t *outlenp,
                            const tb_call_opts *opts, tb_status *st);

/* Asks the component to cancel the running call call_id. *foundp may be NULL. */
TB_EXPORT int tb_cancel(tb_conn *conn, uint64_t call_id, int *foundp, tb_status *st);

/*
 * Describe with the handshake checks: the component's protocol version must
 * be in [TB_PROTOCOL_MIN, TB_PROTOCOL_MAX] (the error names both), and its
 * max_message_size lowers the connection's limit. Caller owns *infop.
 */
TB_EXPORT int tb_handshake(tb_conn *conn, uint32_t deadline_ms,
                           Testbus__V1__ComponentInfo **infop, tb_status *st);

/* The default deadline of a method, in ms: never infinite. */
TB_EXPORT uint32_t tb_default_deadline_ms(const char *service, const char *method);

/* A fresh call id, unique within the process and unlikely across processes. */
TB_EXPORT uint64_t tb_new_call_id(void);

/*
 * Typed stubs, one per method: tb_<service>_<method>(conn, in, &out, opts, st).
 * Same ownership and errors as tb_invoke.
 */
#define TB_STUB(fn, In, Out)                                                             \
	TB_EXPORT int fn(tb_conn *conn, const In *in, Out **outp, const tb_call_opts *opts, \
	                 tb_status *st)

TB_STUB(tb_provisioner_provision, Testbus__V1__ProvisionRequest, Testbus__V1__ClusterInfo);
TB_STUB(tb_provisioner_destroy, Testbus__V1__ClusterInfo, Testbus__V1__Empty);
TB_STUB(tb_provisioner_get_kubeconfig, Testbus__V1__ClusterInfo, Testbus__V1__Kubeconfig);
TB_STUB(tb_provisioner_health, Testbus__V1__ClusterInfo, Testbus__V1__HealthStatus);
TB_STUB(tb_executor_execute, Testbus__V1__ExecutionTarget, Testbus__V1__ExecutionResult);
TB_STUB(tb_analyzer_should_analyze, Testbus__V1__ExecutionResult, Testbus__V1__Decision);
TB_STUB(tb_analyzer_analyze, Testbus__V1__AnalysisInput, Testbus__V1__AnalysisResult);
TB_STUB(tb_reporter_initialize, Testbus__V1__ReporterInit, Testbus__V1__Empty);
TB_STUB(tb_reporter_report, Testbus__V1__ReportInput, Testbus__V1__ReportOutput);
TB_STUB(tb_reporter_finalize, Testbus__V1__Empty, Testbus__V1__ReportOutput);
TB_STUB(tb_component_describe, Testbus__V1__Empty, Testbus__V1__ComponentInfo);
TB_STUB(tb_component_health, Testbus__V1__Empty, Testbus__V1__ComponentHealth);
TB_STUB(tb_component_configure, Testbus__V1__ComponentConfig, Testbus__V1__Empty);
TB_STUB(tb_broker_register, Testbus__V1__Registration, Testbus__V1__RegistrationReply);
TB_STUB(tb_broker_heartbeat, Testbus__V1__HeartbeatRequest, Testbus__V1__HeartbeatReply);
TB_STUB(tb_broker_poll_work, Testbus__V1__PollRequest, Testbus__V1__WorkItem);
TB_STUB(tb_broker_renew_lease, Testbus__V1__LeaseRenewal, Testbus__V1__LeaseReply);
TB_STUB(tb_broker_complete_work, Testbus__V1__WorkResult, Testbus__V1__WorkAck);

#ifdef __cplusplus
}
#endif

#endif
