/* Scalar text in the config: ${VAR} expansion, durations, names and node helpers. */
#include <ctype.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "testbus/status.h"

#include "config_internal.h"

/* A growing string for expansion; buf is NULL once memory ran out. */
struct text_buf {
	char *buf;
	size_t len;
	size_t cap;
};

static void text_append(struct text_buf *b, const char *s, size_t n)
{
	if (b->buf == NULL)
		return;
	if (b->len + n + 1 > b->cap) {
		size_t cap = (b->len + n + 1) * 2;
		char *p = realloc(b->buf, cap);
		if (p == NULL) {
			free(b->buf);
			b->buf = NULL;
			return;
		}
		b->buf = p;
		b->cap = cap;
	}
	memcpy(b->buf + b->len, s, n);
	b->len += n;
	b->buf[b->len] = '\0';
}

static bool text_is_var_name(const char *s, size_t n)
{
	if (n == 0 || !(isalpha((unsigned char)s[0]) || s[0] == '_'))
		return false;
	for (size_t i = 1; i < n; i++) {
		if (!(isalnum((unsigned char)s[i]) || s[i] == '_'))
			return false;
	}
	return true;
}

/* The value of an environment variable; TESTBUS_HOME is the home config_home_dir found. */
static const char *text_lookup(struct config_ctx *ctx, const char *name)
{
	if (strcmp(name, "TESTBUS_HOME") == 0 && ctx->home != NULL)
		return ctx->home;
	return getenv(name);
}

/*
 * Expands one ${...} whose inside is s[0..n). Appends to b; returns false
 * after recording a problem.
 */
static bool text_expand_one(struct config_ctx *ctx, struct text_buf *b, const char *s, size_t n,
                            int line)
{
	const char *sep = memchr(s, ':', n);
	size_t name_len = n;
	const char *def = NULL;
	size_t def_len = 0;
	if (sep != NULL && (size_t)(sep - s) + 1 < n && sep[1] == '-') {
		name_len = (size_t)(sep - s);
		def = sep + 2;
		def_len = n - name_len - 2;
	}
	if (!text_is_var_name(s, name_len)) {
		config_error(ctx, line, "invalid variable name in '${%.*s}'", (int)n, s);
		return false;
	}
	char name[256];
	if (name_len >= sizeof(name)) {
		config_error(ctx, line, "variable name too long in '${%.*s}'", (int)n, s);
		return false;
	}
	memcpy(name, s, name_len);
	name[name_len] = '\0';
	const char *v = text_lookup(ctx, name);
	if (def != NULL && (v == NULL || *v == '\0')) {
		text_append(b, def, def_len);
		return true;
	}
	if (v == NULL) {
		config_error(ctx, line, "environment variable '%s' is not set", name);
		return false;
	}
	text_append(b, v, strlen(v));
	return true;
}

char *config_expand(struct config_ctx *ctx, const char *text, int line)
{
	struct text_buf b = {.buf = malloc(16), .len = 0, .cap = 16};
	bool ok = true;
	if (b.buf != NULL)
		b.buf[0] = '\0';
	const char *p = text;
	while (*p != '\0') {
		if (p[0] == '$' && p[1] == '$' && p[2] == '{') {
			text_append(&b, "${", 2);
			p += 3;
		} else if (p[0] == '$' && p[1] == '{') {
			const char *end = strchr(p + 2, '}');
			if (end == NULL) {
				config_error(ctx, line, "unterminated '${' (no closing '}')");
				ok = false;
				break;
			}
			if (!text_expand_one(ctx, &b, p + 2, (size_t)(end - p - 2), line))
				ok = false;
			p = end + 1;
		} else {
			size_t n = strcspn(p + 1, "$") + 1;
			text_append(&b, p, n);
			p += n;
		}
	}
	if (b.buf == NULL)
		ctx->oom = true;
	if (!ok) {
		free(b.buf);
		b.buf = NULL;
	}
	return b.buf;
}

yaml_node_t *config_node(struct config_ctx *ctx, int index)
{
	return yaml_document_get_node(ctx->doc, index);
}

int config_line(const yaml_node_t *node)
{
	return (int)node->start_mark.line + 1;
}

bool config_is_null(const yaml_node_t *node)
{
	if (node == NULL)
		return true;
	if (node->type != YAML_SCALAR_NODE || node->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
		return false;
	const char *s = (const char *)node->data.scalar.value;
	return s[0] == '\0' || strcmp(s, "~") == 0 || strcmp(s, "null") == 0 ||
	       strcmp(s, "Null") == 0 || strcmp(s, "NULL") == 0;
}

const char *config_node_type_name(const yaml_node_t *node)
{
	if (node == NULL)
		return "nothing";
	switch (node->type) {
	case YAML_MAPPING_NODE:
		return "a mapping";
	case YAML_SEQUENCE_NODE:
		return "a sequence";
	default:
		return config_is_null(node) ? "null" : "a string";
	}
}

char *config_scalar(struct config_ctx *ctx, const yaml_node_t *node, const char *key,
                    const char *want)
{
	if (node == NULL || node->type != YAML_SCALAR_NODE) {
		config_error(ctx, node ? config_line(node) : 0, "'%s' must be %s, not %s", key, want,
		             config_node_type_name(node));
		return NULL;
	}
	char *s = config_expand(ctx, (const char *)node->data.scalar.value, config_line(node));
	char *copy = config_strdup(ctx, s);
	free(s);
	return copy;
}

bool config_valid_name(const char *s)
{
	if (s == NULL || !isalnum((unsigned char)s[0]))
		return false;
	for (const char *p = s; *p != '\0'; p++) {
		if (!isalnum((unsigned char)*p) && *p != '.' && *p != '_' && *p != '-')
			return false;
	}
	return strlen(s) <= 64;
}

/* The length of the unit at s and its size in ms; 0 when there is none. */
static size_t duration_unit(const char *s, uint64_t *unit_ms)
{
	static const struct {
		const char *name;
		uint64_t ms;
	} units[] = {
	    {"ms", 1}, {"s", 1000}, {"m", 60000}, {"h", 3600000}, {"d", 86400000},
	};
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		size_t n = strlen(units[i].name);
		if (strncmp(s, units[i].name, n) == 0 && !isalpha((unsigned char)s[n])) {
			*unit_ms = units[i].ms;
			return n;
		}
	}
	return 0;
}

int config_parse_duration(const char *text, uint32_t *msp)
{
	uint64_t total = 0;
	const char *p = text;
	if (p == NULL || *p == '\0')
		return TB_INVALID_ARGUMENT;
	while (*p != '\0') {
		if (!isdigit((unsigned char)*p))
			return TB_INVALID_ARGUMENT;
		uint64_t n = 0;
		for (; isdigit((unsigned char)*p); p++) {
			n = n * 10 + (uint64_t)(*p - '0');
			if (n > UINT32_MAX)
				return TB_OUT_OF_RANGE;
		}
		uint64_t unit = 0;
		size_t len = duration_unit(p, &unit);
		if (len == 0)
			return TB_INVALID_ARGUMENT;
		p += len;
		total += n * unit;
		if (total > UINT32_MAX)
			return TB_OUT_OF_RANGE;
	}
	if (total == 0)
		return TB_INVALID_ARGUMENT;
	*msp = (uint32_t)total;
	return TB_OK;
}
