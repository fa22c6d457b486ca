/* Calls to the OpenShift Cluster Manager REST API with an SSO access token refreshed as needed. */
#include "ocm_api.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define OCM_MAX_ANSWER (16u * 1024u * 1024u)
#define OCM_REFRESH_MARGIN_MS 60000u

/*
 * The process's access token. Refreshing holds the lock, so concurrent calls
 * wait for one refresh instead of each asking SSO. `who` identifies the
 * credentials it was made from, so a new config never uses an old token.
 */
static struct {
	pthread_mutex_t mu;
	char *token;
	uint64_t refresh_at_ms;
	uint64_t who;
} ocm_tok = {PTHREAD_MUTEX_INITIALIZER, NULL, 0, 0};

static uint64_t ocm_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* FNV-1a over the strings naming the credentials. */
static uint64_t ocm_who(const ocm_auth *auth)
{
	const char *parts[] = {auth->token_url, auth->client_id, auth->refresh_token,
	                       auth->client_secret};
	uint64_t h = 1469598103934665603ull;
	size_t i;
	const char *p;

	for (i = 0; i < sizeof(parts) / sizeof(parts[0]); i++) {
		for (p = parts[i] ? parts[i] : ""; *p != '\0'; p++)
			h = (h ^ (unsigned char)*p) * 1099511628211ull;
		h = (h ^ 0xffu) * 1099511628211ull;
	}
	return h;
}

static void ocm_token_clear(void)
{
	if (ocm_tok.token != NULL) {
		explicit_bzero(ocm_tok.token, strlen(ocm_tok.token));
		free(ocm_tok.token);
	}
	ocm_tok.token = NULL;
	ocm_tok.refresh_at_ms = 0;
}

void ocm_token_reset(void)
{
	pthread_mutex_lock(&ocm_tok.mu);
	ocm_token_clear();
	pthread_mutex_unlock(&ocm_tok.mu);
}

static const char *ocm_str(json_object *obj, const char *key)
{
	json_object *v;

	return json_object_object_get_ex(obj, key, &v) && json_object_is_type(v, json_type_string)
	           ? json_object_get_string(v)
	           : NULL;
}

static json_object *ocm_parse(const tb_http_response *resp)
{
	json_tokener *tok;
	json_object *obj = NULL;

	if (resp->body == NULL || resp->body_len == 0 || (tok = json_tokener_new()) == NULL)
		return NULL;
	obj = json_tokener_parse_ex(tok, resp->body, (int)resp->body_len);
	json_tokener_free(tok);
	return obj;
}

static void ocm_http_init(const ocm_auth *auth, tb_call *call, tb_http_request *req)
{
	memset(req, 0, sizeof(*req));
	req->timeout_ms = auth->timeout_ms;
	req->max_attempts = auth->max_attempts;
	req->backoff_ms = auth->backoff_ms;
	req->max_response = OCM_MAX_ANSWER;
	req->tls.ca_file = auth->ca_file;
	req->call = call;
}

/* Stores a token answer {access_token, expires_in}. Called with the lock held. */
static int ocm_token_store(const tb_http_response *resp, uint64_t who, tb_status *st)
{
	json_object *obj = ocm_parse(resp), *exp;
	const char *access = ocm_str(obj, "access_token");
	int64_t expires_in = 300, margin;
	int rv = TB_OK;

	if (access == NULL) {
		rv = tb_status_set(st, TB_UNAUTHENTICATED, "SSO token endpoint: no access_token");
		goto out;
	}
	if (json_object_object_get_ex(obj, "expires_in", &exp))
		expires_in = json_object_get_int64(exp);
	margin = expires_in * 1000 / 4 < OCM_REFRESH_MARGIN_MS ? expires_in * 1000 / 4
	                                                       : OCM_REFRESH_MARGIN_MS;
	ocm_token_clear();
	if ((ocm_tok.token = strdup(access)) == NULL) {
		rv = tb_status_set(st, TB_RESOURCE_EXHAUSTED, "out of memory");
		goto out;
	}
	ocm_tok.refresh_at_ms = ocm_now_ms() + (uint64_t)(expires_in * 1000 - margin);
	ocm_tok.who = who;
out:
	json_object_put(obj);
	return rv;
}

/* Asks SSO for an access token. Called with the lock held. */
static int ocm_token_fetch(const ocm_auth *auth, tb_call *call, uint64_t who, tb_status *st)
{
	bool refresh = auth->refresh_token != NULL;
	tb_kv form[] = {{"grant_type", refresh ? "refresh_token" : "client_credentials"},
	                {"client_id", auth->client_id},
	                {refresh ? "refresh_token" : "client_secret",
	                 refresh ? auth->refresh_token : auth->client_secret}};
	tb_http_request req;
	tb_http_response resp;
	json_object *err;
	char *body = NULL;
	int rv;

	if ((rv = tb_http_form_encode(form, 3, &body)) != TB_OK)
		return tb_status_set(st, rv, "out of memory");
	ocm_http_init(auth, call, &req);
	req.url = auth->token_url;
	req.what = "SSO token endpoint";
	req.body = body;
	req.body_len = strlen(body);
	req.content_type = "application/x-www-form-urlencoded";
	rv = tb_http_do(&req, &resp, st);
	explicit_bzero(body, strlen(body));
	free(body);
	if (rv == TB_OK) {
		rv = ocm_token_store(&resp, who, st);
	} else if (resp.status == 400 || resp.status == 401) {
		err = ocm_parse(&resp);
		rv = tb_status_set(st, TB_UNAUTHENTICATED, "SSO refused the %s: %s",
		                   refresh ? "offline token" : "client credentials",
		                   ocm_str(err, "error_description") ? ocm_str(err, "error_description")
		                                                     : "HTTP 400");
		json_object_put(err);
	}
	tb_http_response_fini(&resp);
	return rv;
}

/* A copy of a valid access token (caller frees), fetched when missing, old or forced. */
static int ocm_token_get(const ocm_auth *auth, tb_call *call, bool force, char **tokenp,
                         tb_status *st)
{
	uint64_t who = ocm_who(auth);
	int rv = TB_OK;

	pthread_mutex_lock(&ocm_tok.mu);
	if (force || ocm_tok.token == NULL || ocm_tok.who != who ||
	    ocm_now_ms() >= ocm_tok.refresh_at_ms)
		rv = ocm_token_fetch(auth, call, who, st);
	if (rv == TB_OK && (*tokenp = strdup(ocm_tok.token)) == NULL)
		rv = tb_status_set(st, TB_RESOURCE_EXHAUSTED, "out of memory");
	pthread_mutex_unlock(&ocm_tok.mu);
	return rv;
}

/* OCM's error answer {reason, code} as the status message. */
static void ocm_error(const tb_http_response *resp, const char *method, const char *path,
                     int rv, tb_status *st)
{
	json_object *err = ocm_parse(resp);
	const char *reason = ocm_str(err, "reason"), *code = ocm_str(err, "code");

	if (reason != NULL)
		tb_status_set(st, rv, "OCM %s %s: %s (HTTP %ld%s%s)", method, path, reason,
		              resp->status, code ? ", " : "", code ? code : "");
	json_object_put(err);
}

int ocm_request(const ocm_auth *auth, tb_call *call, const char *method, const char *path,
                json_object *body, json_object **outp, tb_status *st)
{
	tb_http_request req;
	tb_http_response resp = {0};
	const char *accept = "Accept: application/json";
	char *token = NULL, *url = NULL;
	int rv, tries;

	*outp = NULL;
	if (asprintf(&url, "%s%s", auth->url, path) < 0)
		return tb_status_set(st, TB_RESOURCE_EXHAUSTED, "out of memory");
	for (tries = 0; tries < 2; tries++) {
		if ((rv = ocm_token_get(auth, call, tries > 0, &token, st)) != TB_OK)
			break;
		ocm_http_init(auth, call, &req);
		req.method = method;
		req.url = url;
		req.headers = &accept;
		req.n_headers = 1;
		req.bearer_token = token;
		req.body = body ? json_object_to_json_string_ext(body, JSON_C_TO_STRING_PLAIN) : NULL;
		req.body_len = req.body ? strlen(req.body) : 0;
		req.content_type = body ? "application/json" : NULL;
		tb_http_response_fini(&resp);
		rv = tb_http_do(&req, &resp, st);
		explicit_bzero(token, strlen(token));
		free(token);
		token = NULL;
		if (rv != TB_UNAUTHENTICATED)
			break; /* a 401 refreshes the token once: it may have been revoked early */
	}
	if (rv == TB_OK)
		*outp = ocm_parse(&resp);
	else if (resp.status != 0)
		ocm_error(&resp, method, path, rv, st);
	tb_http_response_fini(&resp);
	free(url);
	return rv;
}

static const char *ocm_sub(json_object *obj, const char *outer, const char *inner)
{
	json_object *o;

	return json_object_object_get_ex(obj, outer, &o) ? ocm_str(o, inner) : NULL;
}

void ocm_cluster_read(json_object *obj, ocm_cluster *c)
{
	memset(c, 0, sizeof(*c));
	c->id = ocm_str(obj, "id");
	c->name = ocm_str(obj, "name");
	c->state = ocm_str(obj, "state") ? ocm_str(obj, "state") : ocm_sub(obj, "status", "state");
	c->api_url = ocm_sub(obj, "api", "url");
	c->console_url = ocm_sub(obj, "console", "url");
	c->version = ocm_str(obj, "openshift_version");
	if (c->version == NULL)
		c->version = ocm_sub(obj, "version", "raw_id");
	c->region = ocm_sub(obj, "region", "id");
	c->error = ocm_sub(obj, "status", "provision_error_message");
	if (c->error == NULL || c->error[0] == '\0')
		c->error = ocm_sub(obj, "status", "description");
}
