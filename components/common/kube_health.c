/* Checking a Kubernetes cluster's health through its API: readyz, nodes, operators, deployments. */
#include "kube_health.h"

#include <json-c/json.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define KH_TIMEOUT_MS 15000u
#define KH_MAX_RESPONSE (32u * 1024u * 1024u)
#define KH_NODE_PAGE 500
#define KH_MAX_NAMED 5      /* not-ready nodes named in a message */
#define KH_MAX_PAGES 100

/* One health request's context. */
typedef struct kh_ctx {
	const tb_kubeconfig *kc;
	const tb_kube_health_opts *o;
	tb_call *call;
	tb_arena *a;
	Testbus__V1__HealthStatus *hs;
} kh_ctx;

int tb_health_add(Testbus__V1__HealthStatus *hs, tb_arena *a, const char *name, bool ok,
                  const char *fmt, ...)
{
	Testbus__V1__HealthCheck *c = tb_arena_zalloc(a, sizeof(*c)), **grown;
	char buf[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	grown = tb_arena_zalloc(a, (hs->n_checks + 1) * sizeof(*grown));
	if (c == NULL || grown == NULL)
		return TB_RESOURCE_EXHAUSTED;
	testbus__v1__health_check__init(c);
	c->name = tb_arena_strdup(a, name);
	c->ok = ok;
	c->message = tb_arena_strdup(a, buf);
	if (c->name == NULL || c->message == NULL)
		return TB_RESOURCE_EXHAUSTED;
	if (hs->n_checks > 0)
		memcpy(grown, hs->checks, hs->n_checks * sizeof(*grown));
	grown[hs->n_checks++] = c;
	hs->checks = grown;
	return TB_OK;
}

int tb_health_summarize(Testbus__V1__HealthStatus *hs, tb_arena *a)
{
	char failed[400] = "";
	size_t i, n_failed = 0, used = 0;

	for (i = 0; i < hs->n_checks; i++) {
		if (hs->checks[i]->ok)
			continue;
		if (used < sizeof(failed))
			used += (size_t)snprintf(failed + used, sizeof(failed) - used, "%s%s",
			                         n_failed ? ", " : "", hs->checks[i]->name);
		n_failed++;
	}
	hs->healthy = n_failed == 0;
	if (n_failed == 0)
		hs->message = tb_arena_printf(a, "healthy: %zu of %zu checks passed", hs->n_checks,
		                              hs->n_checks);
	else
		hs->message = tb_arena_printf(a, "unhealthy: %zu of %zu checks failed (%s)", n_failed,
		                              hs->n_checks, failed);
	return hs->message != NULL ? TB_OK : TB_RESOURCE_EXHAUSTED;
}

int tb_kube_get(const tb_kubeconfig *kc, const char *path, uint32_t timeout_ms, tb_call *call,
                tb_http_response *resp, tb_status *st)
{
	tb_http_request req = {0};
	const char *accept = "Accept: application/json";
	size_t n = strlen(kc->server);
	char *url;
	int rv;

	while (n > 0 && kc->server[n - 1] == '/')
		n--;
	if (asprintf(&url, "%.*s%s", (int)n, kc->server, path) < 0) {
		memset(resp, 0, sizeof(*resp));
		return tb_status_set(st, TB_RESOURCE_EXHAUSTED, "out of memory");
	}
	req.url = url;
	req.headers = &accept;
	req.n_headers = 1;
	req.bearer_token = kc->token;
	req.timeout_ms = timeout_ms ? timeout_ms : KH_TIMEOUT_MS;
	req.connect_timeout_ms = req.timeout_ms;
	req.max_attempts = 1;
	req.max_response = KH_MAX_RESPONSE;
	req.call = call;
	tb_kubeconfig_tls(kc, &req.tls);
	rv = tb_http_do(&req, resp, st);
	free(url);
	return rv;
}

/* Parses a JSON answer; NULL (with st set) when it is not JSON. */
static json_object *kh_json(const tb_http_response *resp, const char *what, tb_status *st)
{
	json_tokener *tok = json_tokener_new();
	json_object *obj = NULL;

	if (tok != NULL && resp->body != NULL)
		obj = json_tokener_parse_ex(tok, resp->body, (int)resp->body_len);
	if (obj == NULL)
		tb_status_set(st, TB_INTERNAL, "%s: the answer is not JSON", what);
	json_tokener_free(tok);
	return obj;
}

static const char *kh_str(json_object *obj, const char *key)
{
	json_object *v;

	return json_object_object_get_ex(obj, key, &v) && json_object_is_type(v, json_type_string)
	           ? json_object_get_string(v)
	           : NULL;
}

/* The status and message of condition `type` in obj.status.conditions. */
static bool kh_condition(json_object *obj, const char *type, const char **statusp,
                         const char **messagep)
{
	json_object *status, *conds, *c;
	const char *t;
	size_t i;

	if (!json_object_object_get_ex(obj, "status", &status) ||
	    !json_object_object_get_ex(status, "conditions", &conds) ||
	    !json_object_is_type(conds, json_type_array))
		return false;
	for (i = 0; i < json_object_array_length(conds); i++) {
		c = json_object_array_get_idx(conds, i);
		if ((t = kh_str(c, "type")) == NULL || strcmp(t, type) != 0)
			continue;
		*statusp = kh_str(c, "status") ? kh_str(c, "status") : "Unknown";
		*messagep = kh_str(c, "message") ? kh_str(c, "message") : "";
		return true;
	}
	return false;
}

/* A failed request as a failed check; only a stopped call ends the checks. */
static int kh_request_failed(kh_ctx *c, const char *name, int rv, const tb_status *st)
{
	if (c->call != NULL && tb_call_stopped(c->call))
		return tb_call_stop_code(c->call);
	(void)rv;
	return tb_health_add(c->hs, c->a, name, false, "%s", st->message);
}

/* Adds one check per /readyz item ("[+]etcd ok", "[-]etcd failed: ..."). */
static int kh_readyz_items(kh_ctx *c, const char *body, char *failed, size_t size)
{
	const char *line = body, *end;
	size_t used = 0;
	char name[160];
	int rv = TB_OK;

	for (; rv == TB_OK && *line != '\0'; line = *end ? end + 1 : end) {
		end = line + strcspn(line, "\n");
		if (end - line < 4 || line[0] != '[' || line[2] != ']')
			continue;
		snprintf(name, sizeof(name), "readyz/%.*s", (int)strcspn(line + 3, " \n"), line + 3);
		if (line[1] == '-' && used < size)
			used += (size_t)snprintf(failed + used, size - used, "%s%s", used ? ", " : "",
			                         name + 7);
		if (c->o->verbose)
			rv = tb_health_add(c->hs, c->a, name, line[1] == '+', "%.*s", (int)(end - line),
			                   line);
	}
	return rv;
}

static int kh_readyz(kh_ctx *c)
{
	tb_http_response resp;
	tb_status st = {0};
	char failed[300] = "";
	int rv;

	rv = tb_kube_get(c->kc, "/readyz?verbose", c->o->timeout_ms, c->call, &resp, &st);
	if (resp.status == 0) {
		rv = kh_request_failed(c, "readyz", rv, &st);
		goto out;
	}
	if ((rv = kh_readyz_items(c, resp.body ? resp.body : "", failed, sizeof(failed))) != TB_OK)
		goto out;
	if (resp.status == 200)
		rv = tb_health_add(c->hs, c->a, "readyz", true, "the API server is ready");
	else if (failed[0] != '\0')
		rv = tb_health_add(c->hs, c->a, "readyz", false, "HTTP %ld; failing: %s", resp.status,
		                   failed);
	else
		rv = tb_health_add(c->hs, c->a, "readyz", false, "%s", st.message);
out:
	tb_http_response_fini(&resp);
	return rv;
}

/* Counts the Ready nodes of one page; appends not-ready names to names. */
static void kh_count_nodes(json_object *list, unsigned *total, unsigned *ready, char *names,
                           size_t size)
{
	json_object *items, *meta, *node;
	const char *status, *message, *name;
	size_t i, used = strlen(names);

	if (!json_object_object_get_ex(list, "items", &items) ||
	    !json_object_is_type(items, json_type_array))
		return;
	for (i = 0; i < json_object_array_length(items); i++) {
		node = json_object_array_get_idx(items, i);
		(*total)++;
		if (kh_condition(node, "Ready", &status, &message) && strcmp(status, "True") == 0) {
			(*ready)++;
			continue;
		}
		name = json_object_object_get_ex(node, "metadata", &meta) ? kh_str(meta, "name") : NULL;
		if (*total - *ready <= KH_MAX_NAMED && used < size)
			used += (size_t)snprintf(names + used, size - used, "%s%s", used ? ", " : "",
			                         name ? name : "?");
	}
}

/* The continue token of a list page, copied into buf; false at the last page. */
static bool kh_next_page(json_object *list, char *buf, size_t size)
{
	json_object *meta;
	const char *cont;

	if (!json_object_object_get_ex(list, "metadata", &meta) ||
	    (cont = kh_str(meta, "continue")) == NULL || cont[0] == '\0' || strlen(cont) >= size)
		return false;
	strcpy(buf, cont);
	return true;
}

static int kh_nodes(kh_ctx *c)
{
	unsigned total = 0, ready = 0, pages = 0, want;
	char path[2300], cont[2048] = "", names[300] = "";
	tb_http_response resp;
	tb_status st = {0};
	json_object *list;
	bool more;
	int rv;

	do {
		snprintf(path, sizeof(path), "/api/v1/nodes?limit=%d%s%s", KH_NODE_PAGE,
		         cont[0] ? "&continue=" : "", cont);
		rv = tb_kube_get(c->kc, path, c->o->timeout_ms, c->call, &resp, &st);
		list = rv == TB_OK ? kh_json(&resp, "nodes", &st) : NULL;
		tb_http_response_fini(&resp);
		if (list == NULL)
			return kh_request_failed(c, "nodes", rv, &st);
		kh_count_nodes(list, &total, &ready, names, sizeof(names));
		more = kh_next_page(list, cont, sizeof(cont)) && ++pages < KH_MAX_PAGES;
		json_object_put(list);
	} while (more);
	want = c->o->min_ready_nodes ? c->o->min_ready_nodes : (total ? total : 1);
	if (c->o->min_ready_nodes)
		snprintf(path, sizeof(path), " (at least %u required)", want);
	else
		path[0] = '\0';
	return tb_health_add(c->hs, c->a, "nodes", ready >= want, "%u of %u nodes ready%s%s%s",
	                     ready, total, path, names[0] ? "; not ready: " : "", names);
}

/* One named object whose conditions decide: available, and not degraded. */
static int kh_object(kh_ctx *c, const char *check, const char *path)
{
	const char *avail = "Unknown", *amsg = "", *degr = "False", *dmsg = "";
	tb_http_response resp;
	tb_status st = {0};
	json_object *obj;
	int rv;

	rv = tb_kube_get(c->kc, path, c->o->timeout_ms, c->call, &resp, &st);
	obj = rv == TB_OK ? kh_json(&resp, check, &st) : NULL;
	tb_http_response_fini(&resp);
	if (obj == NULL)
		return kh_request_failed(c, check, rv, &st);
	kh_condition(obj, "Available", &avail, &amsg);
	kh_condition(obj, "Degraded", &degr, &dmsg);
	if (strcmp(degr, "True") == 0)
		rv = tb_health_add(c->hs, c->a, check, false, "Degraded: %s", dmsg);
	else
		rv = tb_health_add(c->hs, c->a, check, strcmp(avail, "True") == 0, "Available=%s%s%s",
		                   avail, amsg[0] ? ": " : "", amsg);
	json_object_put(obj);
	return rv;
}

static int kh_named_objects(kh_ctx *c)
{
	char check[300], path[400];
	const char *slash;
	size_t i;
	int rv = TB_OK;

	for (i = 0; rv == TB_OK && i < c->o->n_cluster_operators; i++) {
		snprintf(check, sizeof(check), "clusteroperator/%s", c->o->cluster_operators[i]);
		snprintf(path, sizeof(path), "/apis/config.openshift.io/v1/clusteroperators/%s",
		         c->o->cluster_operators[i]);
		rv = kh_object(c, check, path);
	}
	for (i = 0; rv == TB_OK && i < c->o->n_deployments; i++) {
		slash = strchr(c->o->deployments[i], '/');
		snprintf(check, sizeof(check), "deployment/%s", c->o->deployments[i]);
		snprintf(path, sizeof(path), "/apis/apps/v1/namespaces/%.*s/deployments/%s",
		         (int)(slash - c->o->deployments[i]), c->o->deployments[i], slash + 1);
		rv = kh_object(c, check, path);
	}
	return rv;
}

int tb_kube_health_check(const tb_kubeconfig *kc, const tb_kube_health_opts *o, tb_call *call,
                         tb_arena *a, Testbus__V1__HealthStatus *hs, tb_status *st)
{
	static const tb_kube_health_opts defaults = {0};
	kh_ctx c = {kc, o ? o : &defaults, call, a, hs};
	int rv;

	if ((rv = kh_readyz(&c)) != TB_OK || (rv = kh_nodes(&c)) != TB_OK ||
	    (rv = kh_named_objects(&c)) != TB_OK || (rv = tb_health_summarize(hs, a)) != TB_OK)
		return tb_status_set(st, rv, "%s", rv == TB_RESOURCE_EXHAUSTED ? "out of memory"
		                                                               : "health check stopped");
	return TB_OK;
}

/* --- the `health` config value --- */

enum kh_kind { KH_NAMES, KH_DEPLOYMENTS, KH_UINT, KH_BOOL };

static const struct kh_key {
	const char *key;
	enum kh_kind kind;
	size_t off;
	size_t n_off;
} kh_keys[] = {
	{"cluster_operators", KH_NAMES, offsetof(tb_kube_health_opts, cluster_operators),
	 offsetof(tb_kube_health_opts, n_cluster_operators)},
	{"deployments", KH_DEPLOYMENTS, offsetof(tb_kube_health_opts, deployments),
	 offsetof(tb_kube_health_opts, n_deployments)},
	{"min_ready_nodes", KH_UINT, offsetof(tb_kube_health_opts, min_ready_nodes), 0},
	{"timeout_ms", KH_UINT, offsetof(tb_kube_health_opts, timeout_ms), 0},
	{"verbose", KH_BOOL, offsetof(tb_kube_health_opts, verbose), 0},
};

/* A Kubernetes object name (DNS-1123 subdomain), safe to put in a URL path. */
static bool kh_valid_name(const char *s, size_t len)
{
	size_t i;

	if (len == 0 || len > 253 || s[0] == '-' || s[0] == '.' || s[len - 1] == '-' ||
	    s[len - 1] == '.')
		return false;
	for (i = 0; i < len; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '-' ||
		      s[i] == '.'))
			return false;
	return true;
}

static bool kh_valid(const char *s, enum kh_kind kind)
{
	const char *slash = strchr(s, '/');

	if (kind == KH_NAMES)
		return kh_valid_name(s, strlen(s));
	return slash != NULL && kh_valid_name(s, (size_t)(slash - s)) &&
	       kh_valid_name(slash + 1, strlen(slash + 1));
}

static int kh_read_names(const Testbus__V1__Value *v, const struct kh_key *k,
                         tb_kube_health_opts *o, tb_status *st)
{
	char ***slot = (char ***)((char *)o + k->off);
	size_t *np = (size_t *)((char *)o + k->n_off), n = 0, i;
	const char **list = NULL;
	int rv;

	if ((rv = tb_value_string_list(v, &list, &n)) != TB_OK)
		return tb_status_set(st, TB_INVALID_ARGUMENT, "health.%s: want a list of strings",
		                     k->key);
	if ((*slot = calloc(n + 1, sizeof(char *))) == NULL)
		rv = tb_status_set(st, TB_RESOURCE_EXHAUSTED, "out of memory");
	for (i = 0; rv == TB_OK && i < n; i++) {
		if (!kh_valid(list[i], k->kind))
			rv = tb_status_set(st, TB_INVALID_ARGUMENT, "health.%s: '%s' is not %s", k->key,
			                   list[i], k->kind == KH_NAMES ? "a Kubernetes name"
			                                                : "namespace/name");
		else if (((*slot)[i] = strdup(list[i])) == NULL)
			rv = tb_status_set(st, TB_RESOURCE_EXHAUSTED, "out of memory");
		else
			*np = i + 1;
	}
	free(list);
	return rv;
}

static int kh_read_key(const Testbus__V1__Value *v, const struct kh_key *k,
                       tb_kube_health_opts *o, tb_status *st)
{
	int64_t n;
	bool b;

	switch (k->kind) {
	case KH_NAMES:
	case KH_DEPLOYMENTS:
		return kh_read_names(v, k, o, st);
	case KH_UINT:
		if (tb_value_int(v, &n) != TB_OK || n < 0 || n > UINT32_MAX)
			return tb_status_set(st, TB_INVALID_ARGUMENT,
			                     "health.%s: want a number from 0 to %u", k->key, UINT32_MAX);
		*(uint32_t *)((char *)o + k->off) = (uint32_t)n;
		return TB_OK;
	case KH_BOOL:
		if (tb_value_bool(v, &b) != TB_OK)
			return tb_status_set(st, TB_INVALID_ARGUMENT, "health.%s: want true or false",
			                     k->key);
		*(bool *)((char *)o + k->off) = b;
		return TB_OK;
	}
	return TB_INTERNAL;
}

static const struct kh_key *kh_find_key(const char *name)
{
	size_t i;

	for (i = 0; i < sizeof(kh_keys) / sizeof(kh_keys[0]); i++)
		if (strcmp(kh_keys[i].key, name) == 0)
			return &kh_keys[i];
	return NULL;
}

int tb_kube_health_opts_read(const Testbus__V1__Value *v, tb_kube_health_opts *o,
                             tb_status *st)
{
	const Testbus__V1__ValueMap *map = tb_value_as_map(v);
	const struct kh_key *k;
	size_t i;
	int rv = TB_OK;

	memset(o, 0, sizeof(*o));
	if (v != NULL && map == NULL)
		return tb_status_set(st, TB_INVALID_ARGUMENT,
		                     "health: want a map (cluster_operators, deployments, "
		                     "min_ready_nodes, timeout_ms, verbose)");
	for (i = 0; map != NULL && rv == TB_OK && i < map->n_fields; i++) {
		if ((k = kh_find_key(map->fields[i]->key)) == NULL)
			rv = tb_status_set(st, TB_INVALID_ARGUMENT,
			                   "health: unknown key '%s' (known: cluster_operators, "
			                   "deployments, min_ready_nodes, timeout_ms, verbose)",
			                   map->fields[i]->key);
		else
			rv = kh_read_key(map->fields[i]->value, k, o, st);
	}
	if (rv != TB_OK)
		tb_kube_health_opts_fini(o);
	return rv;
}

static void kh_free_names(char **names)
{
	size_t i;

	for (i = 0; names != NULL && names[i] != NULL; i++)
		free(names[i]);
	free(names);
}

void tb_kube_health_opts_fini(tb_kube_health_opts *o)
{
	if (o == NULL)
		return;
	kh_free_names(o->cluster_operators);
	kh_free_names(o->deployments);
	memset(o, 0, sizeof(*o));
}
