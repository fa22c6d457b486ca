/* A small HTTP(S) client over libcurl: one request with TLS options, bounded retries and status mapping. */
#include "http.h"

#include <curl/curl.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define HTTP_CONNECT_TIMEOUT_MS 10000u
#define HTTP_TIMEOUT_MS 60000u
#define HTTP_MAX_RESPONSE (8u * 1024u * 1024u)
#define HTTP_MAX_ATTEMPTS 4u
#define HTTP_BACKOFF_MS 500u
#define HTTP_BACKOFF_MAX_MS 30000u
#define HTTP_SNIPPET 160u

/* When a transport error may be retried. */
enum http_retry {
	HTTP_RETRY_NEVER,  /* a configuration or verification problem */
	HTTP_RETRY_SAFE,   /* nothing reached the server */
	HTTP_RETRY_SENT,   /* the server may have acted: idempotent methods only */
};

/* libcurl's errors, translated here and nowhere else. */
static const struct http_curl_code {
	CURLcode cc;
	int code;
	enum http_retry retry;
} http_curl_codes[] = {
	{CURLE_COULDNT_RESOLVE_HOST, TB_UNAVAILABLE, HTTP_RETRY_SAFE},
	{CURLE_COULDNT_RESOLVE_PROXY, TB_UNAVAILABLE, HTTP_RETRY_SAFE},
	{CURLE_COULDNT_CONNECT, TB_UNAVAILABLE, HTTP_RETRY_SAFE},
	{CURLE_OPERATION_TIMEDOUT, TB_DEADLINE_EXCEEDED, HTTP_RETRY_SENT},
	{CURLE_SEND_ERROR, TB_UNAVAILABLE, HTTP_RETRY_SENT},
	{CURLE_RECV_ERROR, TB_UNAVAILABLE, HTTP_RETRY_SENT},
	{CURLE_GOT_NOTHING, TB_UNAVAILABLE, HTTP_RETRY_SENT},
	{CURLE_PARTIAL_FILE, TB_UNAVAILABLE, HTTP_RETRY_SENT},
	{CURLE_HTTP2, TB_UNAVAILABLE, HTTP_RETRY_SENT},
	{CURLE_HTTP2_STREAM, TB_UNAVAILABLE, HTTP_RETRY_SENT},
	{CURLE_SSL_CONNECT_ERROR, TB_UNAVAILABLE, HTTP_RETRY_NEVER},
	{CURLE_PEER_FAILED_VERIFICATION, TB_UNAUTHENTICATED, HTTP_RETRY_NEVER},
	{CURLE_SSL_CACERT_BADFILE, TB_INVALID_ARGUMENT, HTTP_RETRY_NEVER},
	{CURLE_SSL_CERTPROBLEM, TB_INVALID_ARGUMENT, HTTP_RETRY_NEVER},
	{CURLE_SSL_CIPHER, TB_INVALID_ARGUMENT, HTTP_RETRY_NEVER},
	{CURLE_URL_MALFORMAT, TB_INVALID_ARGUMENT, HTTP_RETRY_NEVER},
	{CURLE_UNSUPPORTED_PROTOCOL, TB_INVALID_ARGUMENT, HTTP_RETRY_NEVER},
	{CURLE_WRITE_ERROR, TB_RESOURCE_EXHAUSTED, HTTP_RETRY_NEVER},
	{CURLE_FILESIZE_EXCEEDED, TB_RESOURCE_EXHAUSTED, HTTP_RETRY_NEVER},
	{CURLE_OUT_OF_MEMORY, TB_RESOURCE_EXHAUSTED, HTTP_RETRY_NEVER},
	{CURLE_ABORTED_BY_CALLBACK, TB_CANCELLED, HTTP_RETRY_NEVER},
};

/* HTTP statuses with a meaning of their own; the rest go by class. */
static const struct http_status_code {
	long status;
	int code;
} http_status_codes[] = {
	{400, TB_INVALID_ARGUMENT},  {401, TB_UNAUTHENTICATED},   {403, TB_PERMISSION_DENIED},
	{404, TB_NOT_FOUND},         {405, TB_UNIMPLEMENTED},     {408, TB_DEADLINE_EXCEEDED},
	{409, TB_ALREADY_EXISTS},    {410, TB_NOT_FOUND},         {412, TB_FAILED_PRECONDITION},
	{413, TB_RESOURCE_EXHAUSTED}, {422, TB_INVALID_ARGUMENT}, {429, TB_RESOURCE_EXHAUSTED},
	{501, TB_UNIMPLEMENTED},     {503, TB_UNAVAILABLE},       {504, TB_DEADLINE_EXCEEDED},
};

/* Methods that may be repeated after the server might have acted. */
static const char *const http_idempotent[] = {"GET", "HEAD", "PUT", "DELETE", "OPTIONS"};

/* The body being received, capped at max. */
typedef struct http_buf {
	char *data;
	size_t len;
	size_t cap;
	size_t max;
} http_buf;

/* What one attempt ended with. */
typedef struct http_result {
	CURLcode cc;
	long status;
	uint32_t retry_after_ms;
	bool nothing_sent;
} http_result;

static pthread_once_t http_once = PTHREAD_ONCE_INIT;
static CURLcode http_init_rc = CURLE_FAILED_INIT;

static void http_init_once(void)
{
	http_init_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

int tb_http_global_init(void)
{
	pthread_once(&http_once, http_init_once);
	return http_init_rc == CURLE_OK ? TB_OK : TB_INTERNAL;
}

int tb_http_code_for_status(long status)
{
	size_t i;

	if (status >= 200 && status < 300)
		return TB_OK;
	for (i = 0; i < sizeof(http_status_codes) / sizeof(http_status_codes[0]); i++)
		if (http_status_codes[i].status == status)
			return http_status_codes[i].code;
	if (status >= 500 && status < 600)
		return TB_UNAVAILABLE;
	if (status >= 400 && status < 500)
		return TB_FAILED_PRECONDITION;
	return TB_UNKNOWN;
}

bool tb_http_status_retryable(long status)
{
	return status == 429 || (status >= 500 && status < 600);
}

void tb_http_response_fini(tb_http_response *resp)
{
	if (resp == NULL)
		return;
	free(resp->body);
	free(resp->content_type);
	memset(resp, 0, sizeof(*resp));
}

static uint64_t http_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static const struct http_curl_code *http_curl_lookup(CURLcode cc)
{
	static const struct http_curl_code other = {CURLE_OK, TB_INTERNAL, HTTP_RETRY_NEVER};
	size_t i;

	for (i = 0; i < sizeof(http_curl_codes) / sizeof(http_curl_codes[0]); i++)
		if (http_curl_codes[i].cc == cc)
			return &http_curl_codes[i];
	return &other;
}

static bool http_is_idempotent(const char *method)
{
	size_t i;

	for (i = 0; i < sizeof(http_idempotent) / sizeof(http_idempotent[0]); i++)
		if (strcmp(http_idempotent[i], method) == 0)
			return true;
	return false;
}

static const char *http_method(const tb_http_request *req)
{
	if (req->method != NULL)
		return req->method;
	return req->body != NULL ? "POST" : "GET";
}

static size_t http_write(char *ptr, size_t size, size_t nmemb, void *arg)
{
	http_buf *b = arg;
	size_t n = size * nmemb;
	size_t cap;
	char *p;

	if (n > b->max - b->len)
		return 0; /* too large: libcurl fails with CURLE_WRITE_ERROR */
	if (b->len + n + 1 > b->cap) {
		cap = b->cap ? b->cap : 4096;
		while (cap < b->len + n + 1)
			cap *= 2;
		if ((p = realloc(b->data, cap)) == NULL)
			return 0;
		b->data = p;
		b->cap = cap;
	}
	memcpy(b->data + b->len, ptr, n);
	b->len += n;
	b->data[b->len] = '\0';
	return n;
}

static int http_xferinfo(void *arg, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
                         curl_off_t ulnow)
{
	return tb_call_stopped(arg) ? 1 : 0;
}

/* The request's name for messages: req->what, or method and URL without query or user. */
static void http_describe(const tb_http_request *req, char *buf, size_t size)
{
	CURLU *u = curl_url();
	char *clean = NULL;

	if (req->what != NULL) {
		snprintf(buf, size, "%s", req->what);
		goto out;
	}
	if (u != NULL && curl_url_set(u, CURLUPART_URL, req->url, 0) == CURLUE_OK) {
		curl_url_set(u, CURLUPART_QUERY, NULL, 0);
		curl_url_set(u, CURLUPART_FRAGMENT, NULL, 0);
		curl_url_set(u, CURLUPART_USER, NULL, 0);
		curl_url_set(u, CURLUPART_PASSWORD, NULL, 0);
		curl_url_get(u, CURLUPART_URL, &clean, 0);
	}
	snprintf(buf, size, "%s %s", http_method(req), clean != NULL ? clean : "(bad URL)");
out:
	curl_free(clean);
	curl_url_cleanup(u);
}

/* Up to HTTP_SNIPPET printable characters of the body, for an error message. */
static void http_snippet(const http_buf *b, char *out, size_t size)
{
	size_t i, n = b->len < HTTP_SNIPPET ? b->len : HTTP_SNIPPET;

	if (n >= size)
		n = size - 1;
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)b->data[i];
		out[i] = (c < 0x20 || c == 0x7f) ? ' ' : (char)c;
	}
	out[n] = '\0';
}

static void http_set_blob(CURL *curl, CURLoption opt, const char *data, size_t len)
{
	struct curl_blob blob = {(void *)data, len, CURL_BLOB_COPY};

	curl_easy_setopt(curl, opt, &blob);
}

static void http_setup_tls(CURL *curl, const tb_http_tls *tls)
{
	if (tls->ca_data != NULL)
		http_set_blob(curl, CURLOPT_CAINFO_BLOB, tls->ca_data, tls->ca_len);
	else if (tls->ca_file != NULL)
		curl_easy_setopt(curl, CURLOPT_CAINFO, tls->ca_file);
	if (tls->cert_data != NULL)
		http_set_blob(curl, CURLOPT_SSLCERT_BLOB, tls->cert_data, tls->cert_len);
	else if (tls->cert_file != NULL)
		curl_easy_setopt(curl, CURLOPT_SSLCERT, tls->cert_file);
	if (tls->key_data != NULL)
		http_set_blob(curl, CURLOPT_SSLKEY_BLOB, tls->key_data, tls->key_len);
	else if (tls->key_file != NULL)
		curl_easy_setopt(curl, CURLOPT_SSLKEY, tls->key_file);
	curl_easy_setopt(curl, CURLOPT_SSL_VERIFYPEER, tls->insecure ? 0L : 1L);
	curl_easy_setopt(curl, CURLOPT_SSL_VERIFYHOST, tls->insecure ? 0L : 2L);
}

/* Builds the header list; NULL-safe appends, *listp set only on success. */
static int http_headers(const tb_http_request *req, struct curl_slist **listp)
{
	struct curl_slist *list = NULL, *next;
	char line[512], *auth = NULL;
	size_t i;
	int rv = TB_RESOURCE_EXHAUSTED;

	for (i = 0; i < req->n_headers; i++) {
		if ((next = curl_slist_append(list, req->headers[i])) == NULL)
			goto out;
		list = next;
	}
	if (req->content_type != NULL) {
		snprintf(line, sizeof(line), "Content-Type: %s", req->content_type);
		if ((next = curl_slist_append(list, line)) == NULL)
			goto out;
		list = next;
	}
	if (req->bearer_token != NULL) {
		if (asprintf(&auth, "Authorization: Bearer %s", req->bearer_token) < 0) {
			auth = NULL;
			goto out;
		}
		next = curl_slist_append(list, auth);
		explicit_bzero(auth, strlen(auth));
		if (next == NULL)
			goto out;
		list = next;
	}
	if ((next = curl_slist_append(list, "Expect:")) == NULL)
		goto out;
	list = next;
	rv = TB_OK;
out:
	free(auth);
	if (rv != TB_OK)
		curl_slist_free_all(list);
	*listp = rv == TB_OK ? list : NULL;
	return rv;
}

static void http_setup(CURL *curl, const tb_http_request *req, struct curl_slist *headers,
                       http_buf *body)
{
	const char *method = http_method(req);
	uint32_t connect_ms = req->connect_timeout_ms ? req->connect_timeout_ms
	                                              : HTTP_CONNECT_TIMEOUT_MS;

	curl_easy_setopt(curl, CURLOPT_URL, req->url);
	curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(curl, CURLOPT_USERAGENT, "testbus/" TESTBUS_VERSION);
	curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, (long)connect_ms);
	curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
	curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, http_write);
	curl_easy_setopt(curl, CURLOPT_WRITEDATA, body);
	if (req->body != NULL) {
		curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->body_len);
		curl_easy_setopt(curl, CURLOPT_POSTFIELDS, req->body);
	}
	if (strcmp(method, "HEAD") == 0)
		curl_easy_setopt(curl, CURLOPT_NOBODY, 1L);
	else if (strcmp(method, req->body != NULL ? "POST" : "GET") != 0)
		curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method);
	if (req->call != NULL) {
		curl_easy_setopt(curl, CURLOPT_NOPROGRESS, 0L);
		curl_easy_setopt(curl, CURLOPT_XFERINFOFUNCTION, http_xferinfo);
		curl_easy_setopt(curl, CURLOPT_XFERINFODATA, req->call);
	}
	http_setup_tls(curl, &req->tls);
}

/* Milliseconds this attempt may take: the least of timeout, deadline and call. */
static uint32_t http_budget(const tb_http_request *req, uint64_t deadline)
{
	uint64_t ms = req->timeout_ms ? req->timeout_ms : HTTP_TIMEOUT_MS, now = http_now_ms();

	if (deadline != 0)
		ms = deadline > now ? (deadline - now < ms ? deadline - now : ms) : 1;
	if (req->call != NULL && tb_call_remaining_ms(req->call) < ms)
		ms = tb_call_remaining_ms(req->call) ? tb_call_remaining_ms(req->call) : 1;
	return (uint32_t)ms;
}

static void http_attempt(CURL *curl, const tb_http_request *req, uint64_t deadline,
                         http_buf *body, http_result *res)
{
	curl_off_t retry_after = 0;
	long request_size = 0;

	body->len = 0;
	if (body->data != NULL)
		body->data[0] = '\0';
	memset(res, 0, sizeof(*res));
	curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, (long)http_budget(req, deadline));
	res->cc = curl_easy_perform(curl);
	curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &res->status);
	curl_easy_getinfo(curl, CURLINFO_REQUEST_SIZE, &request_size);
	res->nothing_sent = request_size == 0;
	if (res->cc == CURLE_OK && curl_easy_getinfo(curl, CURLINFO_RETRY_AFTER, &retry_after) ==
	                               CURLE_OK && retry_after > 0)
		res->retry_after_ms = retry_after > 3600 ? 3600000u : (uint32_t)retry_after * 1000u;
}

/* The attempt's testbus code and message; *retryp says whether another may follow. */
static int http_classify(const tb_http_request *req, const http_result *res,
                         const http_buf *body, bool *retryp, tb_status *st)
{
	const struct http_curl_code *map;
	char what[256], snippet[HTTP_SNIPPET + 1];
	int code;

	http_describe(req, what, sizeof(what));
	if (res->cc != CURLE_OK) {
		map = http_curl_lookup(res->cc);
		*retryp = map->retry == HTTP_RETRY_SAFE ||
		          (map->retry == HTTP_RETRY_SENT &&
		           (res->nothing_sent || req->retry_unsafe ||
		            http_is_idempotent(http_method(req))));
		code = map->code;
		if (res->cc == CURLE_ABORTED_BY_CALLBACK && req->call != NULL)
			code = tb_call_stop_code(req->call) ? tb_call_stop_code(req->call) : code;
		if (res->cc == CURLE_WRITE_ERROR)
			return tb_status_set(st, code, "%s: answer larger than %zu bytes", what,
			                     body->max);
		return tb_status_set(st, code, "%s: %s", what, curl_easy_strerror(res->cc));
	}
	*retryp = tb_http_status_retryable(res->status);
	if ((code = tb_http_code_for_status(res->status)) == TB_OK)
		return TB_OK;
	http_snippet(body, snippet, sizeof(snippet));
	return tb_status_set(st, code, "%s: HTTP %ld%s%s", what, res->status,
	                     snippet[0] ? ": " : "", snippet);
}

/* The wait before attempt n+1: exponential, jittered, at least Retry-After. */
static uint32_t http_backoff(const tb_http_request *req, unsigned n, uint32_t retry_after,
                             unsigned *seed)
{
	uint64_t base = req->backoff_ms ? req->backoff_ms : HTTP_BACKOFF_MS;
	uint64_t max = req->backoff_max_ms ? req->backoff_max_ms : HTTP_BACKOFF_MAX_MS;
	uint64_t wait = base;

	while (--n > 0 && wait < max)
		wait *= 2;
	if (wait > max)
		wait = max;
	wait = wait * (90u + (unsigned)rand_r(seed) % 21u) / 100u;
	if (wait < retry_after)
		wait = retry_after;
	return (uint32_t)wait;
}

/* Sleeps ms, or until the call stops. Returns TB_OK or the call's stop code. */
static int http_sleep(tb_call *call, uint32_t ms)
{
	struct timespec ts = {ms / 1000u, (long)(ms % 1000u) * 1000000L};

	if (call != NULL)
		return tb_call_wait(call, ms);
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
	return TB_OK;
}

/* Whether to stop retrying: out of attempts, or the wait would pass a deadline. */
static bool http_give_up(const tb_http_request *req, unsigned attempt, uint32_t wait,
                         uint64_t deadline)
{
	unsigned max = req->max_attempts ? req->max_attempts : HTTP_MAX_ATTEMPTS;

	if (attempt >= max)
		return true;
	if (deadline != 0 && http_now_ms() + wait >= deadline)
		return true;
	return req->call != NULL && tb_call_remaining_ms(req->call) <= wait;
}

static void http_take_body(http_buf *body, CURL *curl, tb_http_response *resp)
{
	char *ct = NULL;

	resp->body = body->data;
	resp->body_len = body->len;
	body->data = NULL;
	if (curl_easy_getinfo(curl, CURLINFO_CONTENT_TYPE, &ct) == CURLE_OK && ct != NULL)
		resp->content_type = strdup(ct);
}

int tb_http_do(const tb_http_request *req, tb_http_response *resp, tb_status *st)
{
	struct curl_slist *headers = NULL;
	http_buf body = {0};
	http_result res;
	CURL *curl = NULL;
	uint64_t deadline = 0;
	unsigned seed = (unsigned)http_now_ms() ^ (unsigned)(uintptr_t)resp;
	bool retry = false;
	uint32_t wait;
	int rv;

	memset(resp, 0, sizeof(*resp));
	if (req == NULL || req->url == NULL) {
		rv = tb_status_set(st, TB_INVALID_ARGUMENT, "HTTP request without a URL");
		goto out;
	}
	if ((rv = tb_http_global_init()) != TB_OK) {
		tb_status_set(st, rv, "libcurl could not be initialised");
		goto out;
	}
	if ((curl = curl_easy_init()) == NULL || (rv = http_headers(req, &headers)) != TB_OK) {
		rv = tb_status_set(st, curl ? rv : TB_RESOURCE_EXHAUSTED, "HTTP request set-up failed");
		goto out;
	}
	body.max = req->max_response ? req->max_response : HTTP_MAX_RESPONSE;
	http_setup(curl, req, headers, &body);
	if (req->deadline_ms != 0)
		deadline = http_now_ms() + req->deadline_ms;
	for (resp->attempts = 1;; resp->attempts++) {
		if (req->call != NULL && tb_call_stopped(req->call)) {
			rv = tb_status_set(st, tb_call_stop_code(req->call), "HTTP request stopped");
			break;
		}
		http_attempt(curl, req, deadline, &body, &res);
		resp->status = res.status;
		rv = http_classify(req, &res, &body, &retry, st);
		if (rv == TB_OK || !retry)
			break;
		wait = http_backoff(req, resp->attempts, res.retry_after_ms, &seed);
		if (http_give_up(req, resp->attempts, wait, deadline))
			break;
		if (http_sleep(req->call, wait) != TB_OK) {
			rv = tb_status_set(st, tb_call_stop_code(req->call),
			                   "HTTP request stopped while waiting to retry");
			break;
		}
	}
	if (resp->status != 0)
		http_take_body(&body, curl, resp);
out:
	free(body.data);
	curl_slist_free_all(headers);
	if (curl != NULL)
		curl_easy_cleanup(curl);
	return rv;
}

int tb_http_form_encode(const tb_kv *kv, size_t n, char **outp)
{
	char *out = NULL, *k = NULL, *v = NULL, *grown;
	size_t len = 0, need, i;
	int rv = TB_RESOURCE_EXHAUSTED;

	if ((out = calloc(1, 1)) == NULL)
		goto out;
	for (i = 0; i < n; i++) {
		k = curl_easy_escape(NULL, kv[i].key, 0);
		v = curl_easy_escape(NULL, kv[i].value ? kv[i].value : "", 0);
		if (k == NULL || v == NULL)
			goto out;
		need = len + strlen(k) + strlen(v) + 3;
		if ((grown = realloc(out, need)) == NULL)
			goto out;
		out = grown;
		len += (size_t)sprintf(out + len, "%s%s=%s", i ? "&" : "", k, v);
		curl_free(k);
		curl_free(v);
		k = v = NULL;
	}
	rv = TB_OK;
out:
	curl_free(k);
	curl_free(v);
	if (rv != TB_OK)
		free(out);
	*outp = rv == TB_OK ? out : NULL;
	return rv;
}
