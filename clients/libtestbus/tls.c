/* TLS configuration for tls+tcp:// dialers and listeners. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

#define TLS_PEM_MAX (1u << 20)

/* Reads a PEM file into a NUL-terminated heap string. Caller frees *textp. */
static int tls_read_pem(const char *path, char **textp, tb_status *st)
{
	FILE *f = fopen(path, "rb");
	if (f == NULL)
		return tb_status_set(st, TB_NOT_FOUND, "TLS file %s: %s", path, strerror(errno));
	char *text = malloc(TLS_PEM_MAX + 1);
	int rv = TB_OK;
	if (text == NULL) {
		rv = tb_status_set(st, TB_RESOURCE_EXHAUSTED, "out of memory reading %s", path);
		goto out;
	}
	size_t n = fread(text, 1, TLS_PEM_MAX + 1, f);
	if (n > TLS_PEM_MAX || ferror(f)) {
		rv = tb_status_set(st, TB_INVALID_ARGUMENT, "TLS file %s: unreadable or too large",
		                   path);
		goto out;
	}
	text[n] = '\0';
	*textp = text;
	text = NULL;
out:
	free(text);
	fclose(f);
	return rv;
}

/* The host part of a URL such as tls+tcp://host:port, into buf. */
static void tls_url_host(const char *url, char *buf, size_t size)
{
	buf[0] = '\0';
	const char *p = strstr(url, "://");
	if (p == NULL)
		return;
	p += 3;
	const char *end;
	if (*p == '[') {
		p++;
		end = strchr(p, ']');
	} else {
		end = strrchr(p, ':');
	}
	if (end == NULL)
		end = p + strlen(p);
	size_t n = (size_t)(end - p);
	if (n >= size)
		n = size - 1;
	memcpy(buf, p, n);
	buf[n] = '\0';
}

static int tls_load_identity(nng_tls_config *cfg, const tb_tls_opts *opts, tb_status *st)
{
	char *cert = NULL, *key = NULL;
	int rv = TB_OK;
	if (opts->cert_file == NULL && opts->key_file == NULL)
		return TB_OK;
	if (opts->cert_file == NULL || opts->key_file == NULL)
		return tb_status_set(st, TB_INVALID_ARGUMENT,
		                     "TLS needs both a certificate and its key");
	if ((rv = tls_read_pem(opts->cert_file, &cert, st)) != TB_OK)
		goto out;
	if ((rv = tls_read_pem(opts->key_file, &key, st)) != TB_OK)
		goto out;
	int nrv = nng_tls_config_own_cert(cfg, cert, key, NULL);
	if (nrv != 0)
		rv = tb_status_set(st, TB_INVALID_ARGUMENT, "TLS certificate %s with key %s: %s",
		                   opts->cert_file, opts->key_file, nng_strerror(nrv));
out:
	free(cert);
	free(key);
	return rv;
}

int tbi_tls_config(const tb_tls_opts *opts, bool server_mode, const char *url,
                   nng_tls_config **cfgp, tb_status *st)
{
	static const tb_tls_opts none = {0};
	nng_tls_config *cfg = NULL;
	char *ca = NULL;
	int rv;
	if (opts == NULL)
		opts = &none;
	int nrv = nng_tls_config_alloc(&cfg, server_mode ? NNG_TLS_MODE_SERVER : NNG_TLS_MODE_CLIENT);
	if (nrv != 0) {
		rv = tbi_status_nng(st, nrv, "TLS configuration", url);
		goto out;
	}
	if ((rv = tls_load_identity(cfg, opts, st)) != TB_OK)
		goto out;
	if (server_mode && opts->cert_file == NULL) {
		rv = tb_status_set(st, TB_INVALID_ARGUMENT,
		                   "listening on %s needs a TLS certificate and key", url);
		goto out;
	}
	nng_tls_auth_mode mode = NNG_TLS_AUTH_MODE_NONE;
	if (opts->ca_file != NULL) {
		if ((rv = tls_read_pem(opts->ca_file, &ca, st)) != TB_OK)
			goto out;
		nrv = nng_tls_config_ca_chain(cfg, ca, NULL);
		if (nrv != 0) {
			rv = tb_status_set(st, TB_INVALID_ARGUMENT, "TLS CA %s: %s", opts->ca_file,
			                   nng_strerror(nrv));
			goto out;
		}
		/* A server with a CA requires client certificates: mutual TLS. */
		mode = NNG_TLS_AUTH_MODE_REQUIRED;
	}
	nng_tls_config_auth_mode(cfg, mode);
	if (!server_mode) {
		char host[256];
		if (opts->server_name != NULL)
			snprintf(host, sizeof(host), "%s", opts->server_name);
		else
			tls_url_host(url, host, sizeof(host));
		if (host[0] != '\0' && (nrv = nng_tls_config_server_name(cfg, host)) != 0) {
			rv = tbi_status_nng(st, nrv, "TLS server name", host);
			goto out;
		}
	}
	*cfgp = cfg;
	cfg = NULL;
	rv = TB_OK;
out:
	free(ca);
	if (cfg != NULL)
		nng_tls_config_free(cfg);
	return rv;
}
