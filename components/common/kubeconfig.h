/* Reading the credentials of one context of a kubeconfig (a secret: never logged). */
#ifndef TESTBUS_COMMON_KUBECONFIG_H
#define TESTBUS_COMMON_KUBECONFIG_H

#include <stdbool.h>
#include <stddef.h>

#include "http.h"
#include "testbus/status.h"

#ifdef __cplusplus
extern "C" {
#endif

/*
 * What it takes to call one cluster's API: the server and credentials of a
 * context. *_data fields hold PEM text decoded from the file's base64
 * *-data keys; *_file fields are paths made absolute against the kubeconfig's
 * folder. Each may be NULL. Embedded: release with tb_kubeconfig_fini().
 */
typedef struct tb_kubeconfig {
	char *context;      /* the context used */
	char *cluster;      /* its cluster's name */
	char *user;         /* its user's name */
	char *namespace_;   /* the context's namespace; may be NULL */
	char *server;       /* e.g. https://127.0.0.1:6443 */
	char *tls_server_name;
	char *ca_data;
	size_t ca_len;
	char *ca_file;
	char *cert_data;
	size_t cert_len;
	char *cert_file;
	char *key_data;
	size_t key_len;
	char *key_file;
	char *token;        /* bearer token (from token or tokenFile) */
	bool insecure;      /* insecure-skip-tls-verify: true in the file */
} tb_kubeconfig;

/*
 * Parses kubeconfig text (YAML) and picks context (NULL: current-context).
 * base_dir resolves relative file paths (NULL: the working folder); name
 * names the text in messages (e.g. its path; may be NULL). Fails with
 * TB_INVALID_ARGUMENT for bad YAML, no context to use, a missing cluster or user, bad
 * base64, or a user with an exec or auth-provider plugin (not supported: the
 * message says so); TB_NOT_FOUND when the context asked for is not in the
 * file. Errors never quote secret values. On TB_OK *kc is filled
 * (caller owns it; free with tb_kubeconfig_fini); on error *kc is zeroed.
 */
int tb_kubeconfig_parse(const char *text, size_t len, const char *base_dir, const char *name,
                        const char *context, tb_kubeconfig *kc, tb_status *st);

/*
 * Reads the kubeconfig file at path and parses it as tb_kubeconfig_parse does,
 * with relative paths resolved against the file's folder. TB_NOT_FOUND when the
 * file is missing. Caller owns *kc; free with tb_kubeconfig_fini.
 */
int tb_kubeconfig_load(const char *path, const char *context, tb_kubeconfig *kc,
                       tb_status *st);

/* Frees what kc holds (wiping secrets) and zeroes it. Safe on a zeroed kc. */
void tb_kubeconfig_fini(tb_kubeconfig *kc);

/*
 * Writes a self-contained kubeconfig with kc's one context as current-context:
 * files it names (CA, client certificate and key, token file) are embedded as
 * *-data, so the result works on another host. Caller owns *outp (a secret,
 * NUL-terminated); free with free(). Returns TB_OK, or the error of reading a
 * named file.
 */
int tb_kubeconfig_flatten(const tb_kubeconfig *kc, char **outp, size_t *lenp, tb_status *st);

/*
 * Points tls at kc's CA and client certificate. The pointers are borrowed
 * from kc, which must outlive tls.
 */
void tb_kubeconfig_tls(const tb_kubeconfig *kc, tb_http_tls *tls);

/*
 * Reads a whole file of at most max bytes. Caller owns *datap (NUL-terminated);
 * free with free(). TB_NOT_FOUND, TB_PERMISSION_DENIED, TB_RESOURCE_EXHAUSTED
 * (too large) or TB_INTERNAL otherwise.
 */
int tb_kubeconfig_read_file(const char *path, size_t max, char **datap, size_t *lenp, tb_status *st);

/*
 * Writes data to a new private file (mode 0600) made from template (a
 * mkstemp template, e.g. "/tmp/kubeconfig-XXXXXX", modified in place).
 * Returns TB_OK or TB_INTERNAL; on error no file is left behind.
 */
int tb_kubeconfig_write_file(char *template_, const void *data, size_t len, tb_status *st);

#ifdef __cplusplus
}
#endif

#endif
