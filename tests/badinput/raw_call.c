/* One request sent with a bare NNG REQ socket, and how it ended. */
#include "raw_call.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <nng/protocol/reqrep0/req.h>

#include "testbus/testbus.h"

/* A bound on the wait for an answer; no row expects to need it. */
#define RAW_RECV_TIMEOUT_MS 20000
#define RAW_PEM_MAX (64 * 1024)
#define RAW_REDIAL_MS 3600000

/* Reads a small PEM file into buf, NUL-terminated. */
static int raw_read_pem(const char *path, char *buf, size_t size)
{
	FILE *f = fopen(path, "r");
	if (f == NULL)
		return NNG_ENOENT;
	size_t n = fread(buf, 1, size - 1, f);
	fclose(f);
	buf[n] = '\0';
	return n > 0 && n < size - 1 ? 0 : NNG_EINVAL;
}

/* A client TLS configuration from files. Caller frees *cfgp. */
static int raw_tls_config(const struct raw_tls *tls, nng_tls_config **cfgp)
{
	nng_tls_config *cfg = NULL;
	char *cert = malloc(RAW_PEM_MAX), *key = malloc(RAW_PEM_MAX);
	int rv = cert && key ? nng_tls_config_alloc(&cfg, NNG_TLS_MODE_CLIENT) : NNG_ENOMEM;
	if (rv == 0 && tls->ca_file != NULL)
		rv = nng_tls_config_ca_file(cfg, tls->ca_file);
	if (rv == 0)
		rv = nng_tls_config_auth_mode(cfg, tls->ca_file ? NNG_TLS_AUTH_MODE_REQUIRED
		                                                : NNG_TLS_AUTH_MODE_NONE);
	if (rv == 0 && tls->cert_file != NULL) {
		if ((rv = raw_read_pem(tls->cert_file, cert, RAW_PEM_MAX)) == 0 &&
		    (rv = raw_read_pem(tls->key_file, key, RAW_PEM_MAX)) == 0)
			rv = nng_tls_config_own_cert(cfg, cert, key, NULL);
	}
	if (rv == 0 && tls->server_name != NULL)
		rv = nng_tls_config_server_name(cfg, tls->server_name);
	free(cert);
	free(key);
	if (rv != 0 && cfg != NULL)
		nng_tls_config_free(cfg);
	*cfgp = rv == 0 ? cfg : NULL;
	return rv;
}

static void raw_fail(struct raw_result *out, enum raw_outcome outcome, int err, const char *what)
{
	out->outcome = outcome;
	out->nng_error = err;
	snprintf(out->message, sizeof(out->message), "%s: %s", what, nng_strerror(err));
}

/* Decodes the answer bytes into out. */
static void raw_decode(const void *reply, size_t len, struct raw_result *out)
{
	Testbus__V1__Response *resp = testbus__v1__response__unpack(NULL, len, reply);
	if (resp == NULL || resp->status == NULL) {
		out->outcome = RAW_BAD_ANSWER;
		snprintf(out->message, sizeof(out->message), "undecodable answer of %zu bytes", len);
	} else {
		out->outcome = RAW_ANSWERED;
		out->code = (int)resp->status->code;
		snprintf(out->message, sizeof(out->message), "%s", resp->status->message);
	}
	if (resp != NULL)
		testbus__v1__response__free_unpacked(resp, NULL);
}

void raw_send(struct raw_conn *conn, const char *url, const struct raw_tls *tls, const void *buf,
              size_t len, struct raw_result *out)
{
	nng_dialer dialer;
	void *reply = NULL;
	size_t reply_len = 0;
	int rv;
	memset(out, 0, sizeof(*out));
	conn->sock = (nng_socket)NNG_SOCKET_INITIALIZER;
	conn->tls = NULL;
	if ((rv = nng_req0_open(&conn->sock)) != 0) {
		raw_fail(out, RAW_DIAL_REFUSED, rv, "socket");
		return;
	}
	nng_socket_set_ms(conn->sock, NNG_OPT_REQ_RESENDTIME, NNG_DURATION_INFINITE);
	nng_socket_set_ms(conn->sock, NNG_OPT_RECVTIMEO, RAW_RECV_TIMEOUT_MS);
	nng_socket_set_ms(conn->sock, NNG_OPT_SENDTIMEO, RAW_RECV_TIMEOUT_MS);
	if ((rv = nng_dialer_create(&dialer, conn->sock, url)) != 0) {
		raw_fail(out, RAW_DIAL_REFUSED, rv, "dialer");
		return;
	}
	/* One connection per call: no re-dial after the component drops it. */
	nng_dialer_set_ms(dialer, NNG_OPT_RECONNMINT, RAW_REDIAL_MS);
	nng_dialer_set_ms(dialer, NNG_OPT_RECONNMAXT, RAW_REDIAL_MS);
	if (tls != NULL) {
		if ((rv = raw_tls_config(tls, &conn->tls)) != 0) {
			raw_fail(out, RAW_DIAL_REFUSED, rv, "client TLS configuration");
			return;
		}
		nng_dialer_set_ptr(dialer, NNG_OPT_TLS_CONFIG, conn->tls);
	}
	/* Without NNG_FLAG_NONBLOCK the first connection, handshakes included,
	 * must succeed before this returns. */
	if ((rv = nng_dialer_start(dialer, 0)) != 0) {
		raw_fail(out, RAW_DIAL_REFUSED, rv, "dial");
		return;
	}
	if ((rv = nng_send(conn->sock, (void *)buf, len, 0)) != 0) {
		raw_fail(out, RAW_DROPPED, rv, "send");
		return;
	}
	if ((rv = nng_recv(conn->sock, &reply, &reply_len, NNG_FLAG_ALLOC)) != 0) {
		raw_fail(out, RAW_DROPPED, rv, "no answer");
		return;
	}
	raw_decode(reply, reply_len, out);
	nng_free(reply, reply_len);
}

void raw_conn_close(struct raw_conn *conn)
{
	nng_close(conn->sock);
	if (conn->tls != NULL)
		nng_tls_config_free(conn->tls);
	conn->tls = NULL;
}

void raw_call(const char *url, const struct raw_tls *tls, const void *buf, size_t len,
              struct raw_result *out)
{
	struct raw_conn conn;
	raw_send(&conn, url, tls, buf, len, out);
	raw_conn_close(&conn);
}

void raw_result_text(const struct raw_result *r, char *buf, size_t size)
{
	if (r->outcome == RAW_ANSWERED)
		snprintf(buf, size, "%s", tb_strerror(r->code));
	else
		snprintf(buf, size, "%s", r->message);
}
