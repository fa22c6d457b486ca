/* One request sent with a bare NNG REQ socket, and how it ended. */
#ifndef TESTBUS_TEST_BADINPUT_RAW_CALL_H
#define TESTBUS_TEST_BADINPUT_RAW_CALL_H

#include <stddef.h>
#include <stdint.h>

#include <nng/nng.h>
#include <nng/supplemental/tls/tls.h>

/* Client TLS material in PEM files; every field may be NULL. */
struct raw_tls {
	const char *ca_file;     /* trust anchors for the server's certificate */
	const char *cert_file;   /* our certificate, with key_file */
	const char *key_file;
	const char *server_name; /* the name the server's certificate must carry */
};

enum raw_outcome {
	RAW_ANSWERED,     /* a Response came back: see code and message */
	RAW_DIAL_REFUSED, /* the connection was never established */
	RAW_DROPPED,      /* sent, then the connection closed or nothing came back */
	RAW_BAD_ANSWER,   /* something came back that is not a Response */
};

struct raw_result {
	enum raw_outcome outcome;
	int nng_error;     /* the NNG error of a refusal or a drop */
	int code;          /* the answer's status code */
	char message[256]; /* the answer's status message, or the refusal */
};

/* A bare REQ socket and its TLS configuration. */
struct raw_conn {
	nng_socket sock;
	nng_tls_config *tls;
};

/*
 * Dials url (tls may be NULL), sends the len bytes of buf as one message and
 * waits a bounded time for the answer. NNG's re-send is off, as a testbus
 * caller has it, so a dropped connection ends the wait. The socket stays
 * open in *conn: close it with raw_conn_close(). Blocks.
 */
void raw_send(struct raw_conn *conn, const char *url, const struct raw_tls *tls, const void *buf,
              size_t len, struct raw_result *out);

/* Closes what raw_send opened. Blocks until NNG has let go of the connection. */
void raw_conn_close(struct raw_conn *conn);

/* raw_send then raw_conn_close. */
void raw_call(const char *url, const struct raw_tls *tls, const void *buf, size_t len,
              struct raw_result *out);

/* The result in a few words for the table, into buf. */
void raw_result_text(const struct raw_result *r, char *buf, size_t size);

#endif
