/* Calls to the OpenShift Cluster Manager REST API with an SSO access token refreshed as needed. */
#ifndef TESTBUS_OCM_API_H
#define TESTBUS_OCM_API_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stdint.h>

#include "http.h"
#include "testbus/testbus.h"

/* Where and how to authenticate; all borrowed from the live config. */
typedef struct ocm_auth {
	const char *url;           /* API base, e.g. https://api.openshift.com */
	const char *token_url;     /* SSO token endpoint */
	const char *client_id;
	const char *refresh_token; /* offline token: grant_type=refresh_token; may be NULL */
	const char *client_secret; /* grant_type=client_credentials; may be NULL */
	const char *ca_file;       /* CA for both endpoints; NULL: the system store */
	uint32_t timeout_ms;       /* per HTTP attempt */
	unsigned max_attempts;
	uint32_t backoff_ms;
} ocm_auth;

/* What the provisioner reads from a cluster object. Strings borrowed from the JSON. */
typedef struct ocm_cluster {
	const char *id;
	const char *name;
	const char *state;
	const char *api_url;
	const char *console_url;
	const char *version;
	const char *region;
	const char *error;         /* why it failed, for state "error"; may be NULL */
} ocm_cluster;

/*
 * Calls method on path (below auth->url) with an optional JSON body. Gets or
 * refreshes the access token first (shared by all calls of the process, and
 * refreshed again once when the API answers 401). HTTP retries as
 * tb_http_do. On TB_OK *outp is the parsed answer (NULL when empty; caller
 * puts it). On error st carries OCM's own reason. call may be NULL (then
 * the request is not cut short by a stopping call: for cleanup).
 */
int ocm_request(const ocm_auth *auth, tb_call *call, const char *method, const char *path,
                json_object *body, json_object **outp, tb_status *st);

/* Reads the fields of a cluster object (borrowed from obj). */
void ocm_cluster_read(json_object *obj, ocm_cluster *c);

/* Forgets the cached access token (e.g. when the credentials change). */
void ocm_token_reset(void);

#endif
