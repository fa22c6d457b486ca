/* Secret redaction with PCRE2 patterns and literal secrets. */
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "redact.h"

#define REDACT_MIN_LITERAL 4

/*
 * The built-in patterns. Keys are matched case-insensitively and may be
 * quoted (JSON), followed by `:` (YAML, headers) or `=` (env, flags, query
 * strings).
 */
static const char *const redact_builtin[] = {
	/* PEM private keys, also when the END line was cut off. */
	"-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----[\\s\\S]*?(?:-----END [A-Z0-9 ]*PRIVATE KEY-----|\\z)",
	/* The end of a PEM private key whose BEGIN line was cut off before the text. */
	"(?m)(?:^[A-Za-z0-9+/=]{16,}\\r?\\n)+-----END [A-Z0-9 ]*PRIVATE KEY-----",
	/* Authorization headers, whatever their scheme. */
	"(?i)\\b(?:proxy-)?authorization[\"']?\\s*[:=]\\s*[\"']?(?<secret>[^\"'\\r\\n]+)",
	/* Bearer tokens wherever they appear. */
	"(?i)\\bbearer\\s+(?<secret>[A-Za-z0-9\\-._~+/]+=*)",
	/* Passwords in URLs: scheme://user:password@host. */
	"\\b[A-Za-z][A-Za-z0-9+.-]*://[^\\s:/@]*:(?<secret>[^\\s@/]+)@",
	/* Kubeconfig data and other secret-valued keys. */
	"(?i)(?<![A-Za-z0-9])(?:client-certificate-data|client-key-data|"
	"certificate-authority-data|(?:id|refresh|access|auth|bearer|session|api)[-_]?token|"
	"token|client[-_]secret|secret[-_]?(?:access[-_]?)?key|api[-_]?key|password|passwd|"
	"pwd|secret)[\"']?\\s*[:=]\\s*[\"']?(?<secret>[^\\s\"',;&}]+)",
	/* Secrets passed as separate command line arguments. */
	"(?i)--(?:token|password|client-secret|api-key)\\s+[\"']?(?<secret>[^\\s\"']+)",
	/* AWS access key ids. */
	"\\b(?:AKIA|ASIA|AGPA|AIDA|AROA|AIPA|ANPA|ANVA|ABIA|ACCA)[A-Z0-9]{16}\\b",
	/* AWS secret access keys and session tokens under their usual names. */
	"(?i)aws[-_]?(?:secret[-_]?access[-_]?key|session[-_]?token)[\"']?\\s*[:=]\\s*[\"']?"
	"(?<secret>[A-Za-z0-9/+=]{16,})",
	/* JSON Web Tokens (service account tokens are JWTs). */
	"\\beyJ[A-Za-z0-9_-]{8,}\\.[A-Za-z0-9_-]{8,}\\.[A-Za-z0-9_-]{8,}",
	/* Common vendor API keys: GitHub, Slack, OpenAI-style, Google. */
	"\\b(?:gh[pousr]_[A-Za-z0-9]{30,}|xox[abprs]-[A-Za-z0-9-]{10,}|sk-[A-Za-z0-9_-]{20,}|"
	"AIza[A-Za-z0-9_-]{35})",
};

#define REDACT_N_BUILTIN (sizeof(redact_builtin) / sizeof(redact_builtin[0]))

struct redact_pattern {
	pcre2_code *code;
	int secret_group; /* group number of `secret`, or 0 for the whole match */
};

struct tb_redactor {
	struct redact_pattern *patterns;
	size_t n_patterns;
	char **literals;
	size_t n_literals;
};

/* A growing output buffer. */
struct redact_buf {
	char *data;
	size_t len;
	size_t cap;
	bool failed;
};

static void redact_buf_put(struct redact_buf *b, const char *p, size_t n)
{
	if (b->failed)
		return;
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 256;
		while (cap < b->len + n + 1)
			cap *= 2;
		char *d = realloc(b->data, cap);
		if (d == NULL) {
			b->failed = true;
			return;
		}
		b->data = d;
		b->cap = cap;
	}
	memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = '\0';
}

static int redact_compile(struct redact_pattern *p, const char *re, tb_status *st)
{
	int err;
	PCRE2_SIZE off;
	p->code = pcre2_compile((PCRE2_SPTR)re, PCRE2_ZERO_TERMINATED, 0, &err, &off, NULL);
	if (p->code == NULL) {
		PCRE2_UCHAR msg[160];
		pcre2_get_error_message(err, msg, sizeof(msg));
		return tb_status_set(st, TB_INVALID_ARGUMENT,
		                     "redaction pattern '%s' does not compile at offset %zu: %s",
		                     re, (size_t)off, (const char *)msg);
	}
	(void)pcre2_jit_compile(p->code, PCRE2_JIT_COMPLETE); /* optional speed-up */
	int n = pcre2_substring_number_from_name(p->code, (PCRE2_SPTR) "secret");
	p->secret_group = n > 0 ? n : 0;
	return TB_OK;
}

int tb_redactor_alloc(const char *const *extra, size_t n_extra, tb_redactor **rp,
                      tb_status *st)
{
	int rv = TB_OK;
	tb_redactor *r = calloc(1, sizeof(*r));
	if (r == NULL ||
	    (r->patterns = calloc(REDACT_N_BUILTIN + n_extra, sizeof(*r->patterns))) == NULL) {
		rv = tb_status_set(st, TB_RESOURCE_EXHAUSTED, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < REDACT_N_BUILTIN + n_extra; i++) {
		const char *re = i < REDACT_N_BUILTIN ? redact_builtin[i] : extra[i - REDACT_N_BUILTIN];
		if ((rv = redact_compile(&r->patterns[i], re, st)) != TB_OK)
			goto out;
		r->n_patterns++;
	}
out:
	if (rv != TB_OK) {
		tb_redactor_free(r);
		r = NULL;
	}
	*rp = r;
	return rv;
}

void tb_redactor_free(tb_redactor *r)
{
	if (r == NULL)
		return;
	for (size_t i = 0; i < r->n_patterns; i++)
		pcre2_code_free(r->patterns[i].code);
	free(r->patterns);
	for (size_t i = 0; i < r->n_literals; i++)
		free(r->literals[i]);
	free(r->literals);
	free(r);
}

static int redact_add_literal_n(tb_redactor *r, const char *s, size_t n)
{
	if (n < REDACT_MIN_LITERAL ||
	    (n == strlen(TB_REDACTED) && memcmp(s, TB_REDACTED, n) == 0))
		return TB_OK;
	for (size_t i = 0; i < r->n_literals; i++)
		if (strlen(r->literals[i]) == n && memcmp(r->literals[i], s, n) == 0)
			return TB_OK;
	char **lits = realloc(r->literals, (r->n_literals + 1) * sizeof(*lits));
	if (lits == NULL)
		return TB_RESOURCE_EXHAUSTED;
	r->literals = lits;
	char *copy = malloc(n + 1);
	if (copy == NULL)
		return TB_RESOURCE_EXHAUSTED;
	memcpy(copy, s, n);
	copy[n] = '\0';
	r->literals[r->n_literals++] = copy;
	return TB_OK;
}

int tb_redactor_add_literal(tb_redactor *r, const char *secret)
{
	if (secret == NULL)
		return TB_OK;
	return redact_add_literal_n(r, secret, strlen(secret));
}

/*
 * Runs one pattern over in. For each match, calls on_span with the span to
 * replace; copies the text between spans into out when out is not NULL.
 * Returns the number of spans, or -1 when out of memory.
 */
typedef int (*redact_span_fn)(void *arg, const char *p, size_t n);

static long redact_pattern_run(const struct redact_pattern *pat, const char *in, size_t len,
                               struct redact_buf *out, redact_span_fn on_span, void *arg)
{
	pcre2_match_data *md = pcre2_match_data_create_from_pattern(pat->code, NULL);
	if (md == NULL)
		return -1;
	long count = 0;
	size_t pos = 0, copied = 0;
	while (pos <= len) {
		int rc = pcre2_match(pat->code, (PCRE2_SPTR)in, len, pos, 0, md, NULL);
		if (rc == PCRE2_ERROR_NOMATCH || (rc < 0 && out == NULL))
			break;
		PCRE2_SIZE *ov = pcre2_get_ovector_pointer(md);
		/* Any other error (a match limit): fail closed, the rest is redacted. */
		size_t ms = rc < 0 ? pos : ov[0], me = rc < 0 ? len : ov[1];
		size_t ss = ms, se = me;
		if (rc > 0 && pat->secret_group > 0 && rc > pat->secret_group &&
		    ov[2 * pat->secret_group] != PCRE2_UNSET) {
			ss = ov[2 * pat->secret_group];
			se = ov[2 * pat->secret_group + 1];
		}
		if (se > ss && ss >= copied) {
			if (out != NULL) {
				redact_buf_put(out, in + copied, ss - copied);
				redact_buf_put(out, TB_REDACTED, strlen(TB_REDACTED));
			}
			if (on_span != NULL && on_span(arg, in + ss, se - ss) != TB_OK)
				count = -1;
			copied = se;
			if (count >= 0)
				count++;
		}
		if (count < 0)
			break;
		pos = me > ms ? me : ms + 1;
	}
	pcre2_match_data_free(md);
	if (out != NULL && count >= 0)
		redact_buf_put(out, in + copied, len - copied);
	return out != NULL && out->failed ? -1 : count;
}

static long redact_literal_run(const char *lit, const char *in, size_t len,
                               struct redact_buf *out)
{
	size_t n = strlen(lit);
	long count = 0;
	size_t copied = 0;
	const char *p = in;
	while (len - (size_t)(p - in) >= n) {
		const char *hit = memmem(p, len - (size_t)(p - in), lit, n);
		if (hit == NULL)
			break;
		redact_buf_put(out, in + copied, (size_t)(hit - in) - copied);
		redact_buf_put(out, TB_REDACTED, strlen(TB_REDACTED));
		copied = (size_t)(hit - in) + n;
		p = hit + n;
		count++;
	}
	redact_buf_put(out, in + copied, len - copied);
	return out->failed ? -1 : count;
}

/* One pass (pattern i, or literal i - n_patterns) from cur into a new buffer. */
static long redact_pass(const tb_redactor *r, size_t i, const char *cur, size_t len,
                        struct redact_buf *next)
{
	if (i < r->n_patterns)
		return redact_pattern_run(&r->patterns[i], cur, len, next, NULL, NULL);
	return redact_literal_run(r->literals[i - r->n_patterns], cur, len, next);
}

char *tb_redact(const tb_redactor *r, const char *text, size_t len, size_t *countp)
{
	struct redact_buf cur = {0};
	size_t total = 0;
	redact_buf_put(&cur, "", 0);
	redact_buf_put(&cur, text, len);
	for (size_t i = 0; !cur.failed && i < r->n_patterns + r->n_literals; i++) {
		struct redact_buf next = {0};
		redact_buf_put(&next, "", 0);
		long n = redact_pass(r, i, cur.data, cur.len, &next);
		free(cur.data);
		cur = next;
		if (n < 0)
			cur.failed = true;
		else
			total += (size_t)n;
	}
	if (cur.failed) {
		free(cur.data);
		return NULL;
	}
	if (countp != NULL)
		*countp = total;
	return cur.data;
}

char *tb_redact_str(const tb_redactor *r, const char *s, size_t *countp)
{
	if (s == NULL)
		return NULL;
	return tb_redact(r, s, strlen(s), countp);
}

static int redact_learn_span(void *arg, const char *p, size_t n)
{
	tb_redactor *r = arg;
	/* A span that crosses lines (a PEM block) is caught by its own pattern. */
	if (memchr(p, '\n', n) != NULL)
		return TB_OK;
	return redact_add_literal_n(r, p, n);
}

int tb_redactor_learn(tb_redactor *r, const char *text, size_t len)
{
	size_t n = r->n_patterns;
	for (size_t i = 0; i < n; i++)
		if (redact_pattern_run(&r->patterns[i], text, len, NULL, redact_learn_span, r) < 0)
			return TB_RESOURCE_EXHAUSTED;
	return TB_OK;
}
