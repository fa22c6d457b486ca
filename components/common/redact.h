/* Secret redaction: replaces tokens, keys and passwords in text before it leaves the machine. */
#ifndef TESTBUS_COMMON_REDACT_H
#define TESTBUS_COMMON_REDACT_H

#include <stddef.h>

#include "testbus/status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* What a redacted secret is replaced with. */
#define TB_REDACTED "[REDACTED]"

/*
 * A set of compiled patterns plus literal secrets. The built-in patterns
 * cover bearer tokens, Authorization headers, kubeconfig certificate, key and
 * token data (and other `password:`/`secret:`/`token:` style keys, in YAML,
 * JSON, env and flag form), passwords in URLs, AWS access key ids and secret
 * keys, PEM private keys (also when cut short), JSON Web Tokens and common
 * vendor API keys. They are always on.
 *
 * A pattern is a PCRE2 regex. When it has a group named `secret`, only that
 * group is replaced (so `Authorization: [REDACTED]` keeps its name);
 * otherwise the whole match is. Patterns are applied one after another,
 * each to the output of the one before, then the literals. Should a pattern
 * hit PCRE2's match limit, the rest of the text is redacted: it fails closed.
 *
 * A redactor is not changed by tb_redact, so many threads may redact with
 * one at once; adding literals must not race with redacting.
 */
typedef struct tb_redactor tb_redactor;

/*
 * Creates a redactor with the built-in patterns plus n_extra extra patterns
 * (extra may be NULL when n_extra is 0). Caller owns *rp; free with
 * tb_redactor_free(). Fails with TB_INVALID_ARGUMENT naming the pattern and
 * the offset when one does not compile, TB_RESOURCE_EXHAUSTED out of memory.
 */
int tb_redactor_alloc(const char *const *extra, size_t n_extra, tb_redactor **rp,
                      tb_status *st);

/* Frees r. r may be NULL. */
void tb_redactor_free(tb_redactor *r);

/*
 * Adds a literal secret (e.g. an API key) replaced wherever it occurs. The
 * string is copied. Literals shorter than 4 bytes are ignored (they would
 * shred ordinary text). Returns TB_OK or TB_RESOURCE_EXHAUSTED.
 */
int tb_redactor_add_literal(tb_redactor *r, const char *secret);

/*
 * Learns the secrets in text (e.g. a kubeconfig): every span the patterns
 * would redact is added as a literal, so the same value is also caught where
 * it appears bare elsewhere. Returns TB_OK or TB_RESOURCE_EXHAUSTED.
 */
int tb_redactor_learn(tb_redactor *r, const char *text, size_t len);

/*
 * Returns a NUL-terminated copy of the len bytes of text with every secret
 * replaced by TB_REDACTED, or NULL when out of memory. text may hold any
 * bytes (it need not be UTF-8); a NUL inside it ends nothing. *countp (may be
 * NULL) receives the number of replacements. Caller owns the result; free
 * with free(). Does not block.
 */
char *tb_redact(const tb_redactor *r, const char *text, size_t len, size_t *countp);

/* tb_redact on a NUL-terminated string; s may be NULL (gives NULL). */
char *tb_redact_str(const tb_redactor *r, const char *s, size_t *countp);

#ifdef __cplusplus
}
#endif

#endif
