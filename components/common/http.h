/* A small HTTP(S) client over libcurl: one request, bounded retries, testbus status codes. */
#ifndef TESTBUS_COMMON_HTTP_H
#define TESTBUS_COMMON_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "testbus/testbus.h"

#ifdef __cplusplus
extern "C" {
#endif

/*
 * TLS material. Each of CA, certificate and key comes either from a PEM file
 * or from PEM text in memory (the *_data fields win over the files). All
 * fields may be NULL/0. Peer verification is always on unless insecure is
 * set, which only an explicit user setting should do.
 */
typedef struct tb_http_tls {
	const char *ca_file;   /* trusted CAs; NULL: the system store */
	const char *ca_data;
	size_t ca_len;
	const char *cert_file; /* client certificate */
	const char *cert_data;
	size_t cert_len;
	const char *key_file;  /* its private key */
	const char *key_data;
	size_t key_len;
	bool insecure;         /* do not verify the server's certificate or name */
} tb_http_tls;

/*
 * One request. Only url is required; zero means the default for every
 * number. Nothing here is copied beyond the call; all of it is borrowed.
 *
 * Retries: an attempt is repeated after 429 (waiting at least what its
 * Retry-After says), after any 5xx, and after a connection error (refused,
 * unresolved, reset, timed out). Transport errors that may have happened after
 * the request was sent (reset, timeout, empty reply) are retried only for
 * idempotent methods (GET, HEAD, PUT, DELETE, OPTIONS) unless retry_unsafe is
 * set. Other 4xx and TLS verification failures are never retried. Waits grow
 * exponentially from backoff_ms to backoff_max_ms (with a little jitter).
 */
typedef struct tb_http_request {
	const char *method;             /* NULL: "GET" (or "POST" when body is set) */
	const char *url;
	const char *const *headers;     /* "Name: value" lines; may be NULL */
	size_t n_headers;
	const char *bearer_token;       /* sent as Authorization: Bearer; may be NULL */
	const void *body;               /* may be NULL */
	size_t body_len;
	const char *content_type;       /* of the body; may be NULL */
	const char *what;               /* names the request in messages instead of the
	                                   URL (say so when the URL is a secret); may be NULL */
	uint32_t connect_timeout_ms;    /* per attempt; 0: 10 s */
	uint32_t timeout_ms;            /* per attempt, whole transfer; 0: 60 s */
	uint32_t deadline_ms;           /* all attempts and waits together; 0: no limit
	                                   beyond max_attempts (and the call's deadline) */
	size_t max_response;            /* larger bodies fail RESOURCE_EXHAUSTED; 0: 8 MiB */
	unsigned max_attempts;          /* 0: 4; 1: no retry */
	uint32_t backoff_ms;            /* first wait; 0: 500 ms */
	uint32_t backoff_max_ms;        /* 0: 30 s */
	bool retry_unsafe;              /* retry POST/PATCH after errors past sending */
	tb_http_tls tls;
	/*
	 * The bus call this request serves; may be NULL. When set, waits end
	 * early and the transfer is aborted once tb_call_stopped() turns true
	 * (the request then fails with the call's stop code), and no attempt
	 * outlives the call's deadline.
	 */
	tb_call *call;
} tb_http_request;

/* The answer. Zeroed by tb_http_do; release with tb_http_response_fini. */
typedef struct tb_http_response {
	long status;          /* HTTP status of the last attempt; 0 when none came */
	char *body;           /* NUL-terminated (binary safe with body_len); may be NULL */
	size_t body_len;
	char *content_type;   /* may be NULL */
	unsigned attempts;    /* attempts made */
} tb_http_response;

/*
 * Initialises libcurl once per process (thread-safe; later calls do nothing).
 * tb_http_do calls it itself; call it early from main() to fail fast.
 * Returns TB_OK or TB_INTERNAL.
 */
int tb_http_global_init(void);

/*
 * Performs req with retries. Blocks (see tb_http_request.call to bound it).
 * Always initialises *resp first; the caller must tb_http_response_fini it
 * whatever the result. Returns TB_OK when the final status is 2xx. Otherwise
 * returns the testbus code for the failure (tb_http_code_for_status for an
 * HTTP status, so 404 is TB_NOT_FOUND and 401 TB_UNAUTHENTICATED) with a
 * message in st (may be NULL) naming the request (method and URL without its
 * query, or req->what), the HTTP status and the start of the answer; resp then
 * still holds the last answer received, if any. Never puts the bearer token,
 * request body or headers in a message.
 */
int tb_http_do(const tb_http_request *req, tb_http_response *resp, tb_status *st);

/* Frees what resp holds and zeroes it. Safe on a zeroed response. */
void tb_http_response_fini(tb_http_response *resp);

/* The testbus code for an HTTP status: TB_OK for 2xx, e.g. TB_NOT_FOUND for 404. */
int tb_http_code_for_status(long status);

/* True when an answer with this HTTP status is worth another attempt (429, 5xx). */
bool tb_http_status_retryable(long status);

/*
 * Encodes n key/value pairs as application/x-www-form-urlencoded. Caller owns
 * *outp; free with free(). Returns TB_OK or TB_RESOURCE_EXHAUSTED.
 */
int tb_http_form_encode(const tb_kv *kv, size_t n, char **outp);

#ifdef __cplusplus
}
#endif

#endif
