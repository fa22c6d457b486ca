/* Labels in executors: {placeholder} expansion, TESTBUS_LABEL_* names, and framework filters. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "executor.h"
#include "executor_internal.h"

int tb_exec_strv_push(tb_arena *arena, tb_exec_strv *sv, const char *s)
{
	const char **v = tb_arena_zalloc(arena, (sv->n + 2) * sizeof(*v));

	if (v == NULL || s == NULL)
		return TB_RESOURCE_EXHAUSTED;
	if (sv->n > 0)
		memcpy(v, sv->v, sv->n * sizeof(*v));
	v[sv->n++] = s;
	v[sv->n] = NULL;
	sv->v = v;
	return TB_OK;
}

int tb_exec_strv_pushf(tb_arena *arena, tb_exec_strv *sv, const char *fmt, ...)
{
	va_list ap;
	char *s = NULL;
	int len;

	va_start(ap, fmt);
	len = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (len < 0)
		return TB_RESOURCE_EXHAUSTED;
	char *copy = tb_arena_memdup(arena, s, (size_t)len);
	free(s);
	return tb_exec_strv_push(arena, sv, copy);
}

int tbc_exec_strcmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* --- {placeholder} expansion --- */

/* The value of built-in placeholder name, or NULL when it is not one. */
static const char *labels_builtin(const tb_exec_ctx *ctx, const char *name, char *num, size_t cap)
{
	const Testbus__V1__ExecutionTarget *t = ctx->target;

	if (strcmp(name, "artifacts_dir") == 0)
		return ctx->call_dir;
	if (strcmp(name, "run_id") == 0)
		return t->run_id;
	if (strcmp(name, "target_id") == 0)
		return t->target_id;
	if (strcmp(name, "attempt") == 0) {
		snprintf(num, cap, "%u", t->attempt ? t->attempt : 1);
		return num;
	}
	return NULL;
}

static const char *labels_lookup(const tb_exec_ctx *ctx, const char *name, char *num, size_t cap)
{
	const char *v = labels_builtin(ctx, name, num, cap);

	if (v == NULL)
		v = tb_map_get(ctx->target->labels, ctx->target->n_labels, name);
	return v;
}

/* Appends len bytes to a heap buffer. */
static int labels_append(char **buf, size_t *len, size_t *cap, const char *s, size_t n)
{
	if (*len + n + 1 > *cap) {
		size_t ncap = (*cap + n + 1) * 2;
		char *nb = realloc(*buf, ncap);
		if (nb == NULL)
			return TB_RESOURCE_EXHAUSTED;
		*buf = nb;
		*cap = ncap;
	}
	memcpy(*buf + *len, s, n);
	*len += n;
	(*buf)[*len] = '\0';
	return TB_OK;
}

#define LABELS_NAME_CHARS                                                        \
	"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-."

/*
 * Expands the placeholder at p ("{name}...") and advances *pp past it; a
 * brace that does not open a placeholder is copied as it is.
 */
static int labels_placeholder(const tb_exec_ctx *ctx, const char **pp, char **buf, size_t *len,
                              size_t *cap, tb_status *st)
{
	const char *p = *pp;
	size_t n = strspn(p + 1, LABELS_NAME_CHARS);
	char name[128], num[16];
	const char *v;

	if (n == 0 || p[1 + n] != '}' || n >= sizeof(name)) {
		*pp = p + 1;
		return labels_append(buf, len, cap, p, 1);
	}
	const char *close = p + 1 + n;
	memcpy(name, p + 1, (size_t)(close - p - 1));
	name[close - p - 1] = '\0';
	if ((v = labels_lookup(ctx, name, num, sizeof(num))) == NULL)
		return tb_status_set(st, TB_INVALID_ARGUMENT,
		                     "{%s} is neither a built-in placeholder nor a label of the target",
		                     name);
	*pp = close + 1;
	return labels_append(buf, len, cap, v, strlen(v));
}

int tb_exec_expand(const tb_exec_ctx *ctx, const char *text, char **outp, tb_status *st)
{
	char *buf = NULL, *out = NULL;
	size_t len = 0, cap = 0;
	const char *p = text;
	int rv = labels_append(&buf, &len, &cap, "", 0);

	while (rv == TB_OK && *p != '\0') {
		if ((p[0] == '{' && p[1] == '{') || (p[0] == '}' && p[1] == '}')) {
			rv = labels_append(&buf, &len, &cap, p, 1);
			p += 2;
		} else if (p[0] == '$' && p[1] == '{') {
			rv = labels_append(&buf, &len, &cap, p, 2);
			p += 2;
		} else if (p[0] == '{') {
			rv = labels_placeholder(ctx, &p, &buf, &len, &cap, st);
		} else {
			size_t n = strcspn(p + 1, "{}$") + 1;
			rv = labels_append(&buf, &len, &cap, p, n);
			p += n;
		}
	}
	if (rv == TB_OK && (out = tb_arena_memdup(ctx->arena, buf, len)) == NULL)
		rv = TB_RESOURCE_EXHAUSTED;
	if (rv == TB_RESOURCE_EXHAUSTED)
		tb_status_set(st, rv, "out of memory");
	free(buf);
	*outp = rv == TB_OK ? out : NULL;
	return rv;
}

int tb_exec_expand_all(const tb_exec_ctx *ctx, const tb_exec_strv *in, tb_exec_strv *out,
                       tb_status *st)
{
	int rv = TB_OK;

	for (size_t i = 0; i < in->n && rv == TB_OK; i++) {
		char *s = NULL;
		if ((rv = tb_exec_expand(ctx, in->v[i], &s, st)) == TB_OK &&
		    (rv = tb_exec_strv_push(ctx->arena, out, s)) != TB_OK)
			tb_status_set(st, rv, "out of memory");
	}
	return rv;
}

char *tb_exec_label_env_name(tb_arena *arena, const char *label)
{
	char *name = tb_arena_printf(arena, "TESTBUS_LABEL_%s", label);

	for (char *p = name ? name + 14 : NULL; p != NULL && *p != '\0'; p++) {
		if (*p >= 'a' && *p <= 'z')
			*p = (char)(*p - 'a' + 'A');
		else if (!((*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9')))
			*p = '_';
	}
	return name;
}

/* --- filters --- */

static const struct {
	const char *name;
	const char *join; /* how two values combine */
} labels_filter_kinds[TB_FILTER_COUNT] = {
	[TB_FILTER_FOCUS] = {"focus", "|"},
	[TB_FILTER_SKIP] = {"skip", "|"},
	[TB_FILTER_LABEL_FILTER] = {"label_filter", " && "},
	[TB_FILTER_MARKERS] = {"markers", " and "},
	[TB_FILTER_KEYWORD] = {"keyword", " and "},
};

const char *tb_exec_filter_name(enum tb_exec_filter_kind kind)
{
	return (unsigned)kind < TB_FILTER_COUNT ? labels_filter_kinds[kind].name : "unknown";
}

int tbc_exec_filter_kind(const char *name)
{
	for (int i = 0; i < TB_FILTER_COUNT; i++)
		if (strcmp(labels_filter_kinds[i].name, name) == 0)
			return i;
	return -1;
}

const char *tb_exec_filter_join(tb_arena *arena, enum tb_exec_filter_kind kind, const char *a,
                                const char *b)
{
	if (a == NULL || *a == '\0')
		return b;
	if (b == NULL || *b == '\0')
		return a;
	return tb_arena_printf(arena, "(%s)%s(%s)", a, labels_filter_kinds[kind].join, b);
}

/* The filter kind label feeds: cfg->label_filters first, then fw's defaults; -1: none. */
static int labels_kind_of(const tb_exec_framework *fw, const tb_exec_config *cfg,
                          const char *label)
{
	size_t len = strlen(label);

	for (size_t i = cfg->label_filters.n; i-- > 0;) {
		const char *e = cfg->label_filters.v[i];
		if (strncmp(e, label, len) == 0 && e[len] == '=')
			return tbc_exec_filter_kind(e + len + 1); /* "none" gives -1 */
	}
	for (size_t i = 0; i < fw->n_filters; i++)
		if (strcmp(fw->filters[i].label, label) == 0)
			return (int)fw->filters[i].kind;
	return -1;
}

int tb_exec_filters(const tb_exec_framework *fw, const tb_exec_config *cfg,
                    const Testbus__V1__ExecutionTarget *target, tb_arena *arena,
                    const char **filters, tb_status *st)
{
	for (int k = 0; k < TB_FILTER_COUNT; k++)
		filters[k] = NULL;
	for (size_t i = 0; i < target->n_labels; i++) {
		const Testbus__V1__ExecutionTarget__LabelsEntry *e = target->labels[i];
		int k = e->key != NULL ? labels_kind_of(fw, cfg, e->key) : -1;
		if (k < 0 || e->value == NULL || e->value[0] == '\0')
			continue;
		if ((filters[k] = tb_exec_filter_join(arena, (enum tb_exec_filter_kind)k, filters[k],
		                                      e->value)) == NULL)
			return tb_status_set(st, TB_RESOURCE_EXHAUSTED, "out of memory");
	}
	return TB_OK;
}
