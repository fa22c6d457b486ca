/* Reading the server and credentials of one kubeconfig context with libyaml. */
#include "kubeconfig.h"

#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yaml.h>

#define KC_MAX_FILE (16u * 1024u * 1024u)
#define KC_MAX_TOKEN_FILE (64u * 1024u)

/* How a key's scalar lands in tb_kubeconfig. */
enum kc_kind {
	KC_STRING,     /* copied */
	KC_BASE64,     /* decoded, length stored at len_off */
	KC_PATH,       /* made absolute against the kubeconfig's folder */
	KC_BOOL,       /* "true" in any case sets the flag */
	KC_TOKEN_FILE, /* the file's content, trimmed */
};

struct kc_field {
	const char *key;
	enum kc_kind kind;
	size_t off;
	size_t len_off;
};

#define KC_OFF(f) offsetof(tb_kubeconfig, f)

/* Keys of a clusters[].cluster entry. */
static const struct kc_field kc_cluster_fields[] = {
	{"server", KC_STRING, KC_OFF(server), 0},
	{"tls-server-name", KC_STRING, KC_OFF(tls_server_name), 0},
	{"certificate-authority-data", KC_BASE64, KC_OFF(ca_data), KC_OFF(ca_len)},
	{"certificate-authority", KC_PATH, KC_OFF(ca_file), 0},
	{"insecure-skip-tls-verify", KC_BOOL, KC_OFF(insecure), 0},
};

/* Keys of a users[].user entry; the first of token/tokenFile found wins. */
static const struct kc_field kc_user_fields[] = {
	{"client-certificate-data", KC_BASE64, KC_OFF(cert_data), KC_OFF(cert_len)},
	{"client-certificate", KC_PATH, KC_OFF(cert_file), 0},
	{"client-key-data", KC_BASE64, KC_OFF(key_data), KC_OFF(key_len)},
	{"client-key", KC_PATH, KC_OFF(key_file), 0},
	{"token", KC_STRING, KC_OFF(token), 0},
	{"tokenFile", KC_TOKEN_FILE, KC_OFF(token), 0},
};

/* User keys naming credential mechanisms this reader does not run. */
static const char *const kc_unsupported[] = {"exec", "auth-provider", "username"};

/* Where parsing is: the document, its root, and how to name it. */
typedef struct kc_ctx {
	yaml_document_t doc;
	yaml_node_t *root;
	const char *base_dir;
	const char *name;
	tb_status *st;
} kc_ctx;

static yaml_node_t *kc_get(kc_ctx *c, yaml_node_t *map, const char *key)
{
	yaml_node_pair_t *p;
	yaml_node_t *k;

	if (map == NULL || map->type != YAML_MAPPING_NODE)
		return NULL;
	for (p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top; p++) {
		k = yaml_document_get_node(&c->doc, p->key);
		if (k != NULL && k->type == YAML_SCALAR_NODE &&
		    strcmp((const char *)k->data.scalar.value, key) == 0)
			return yaml_document_get_node(&c->doc, p->value);
	}
	return NULL;
}

static const char *kc_scalar(kc_ctx *c, yaml_node_t *map, const char *key)
{
	yaml_node_t *n = kc_get(c, map, key);

	return n != NULL && n->type == YAML_SCALAR_NODE ? (const char *)n->data.scalar.value
	                                                 : NULL;
}

/* The `inner` mapping of the item of list `list` whose name is `name`. */
static yaml_node_t *kc_named(kc_ctx *c, const char *list, const char *inner, const char *name)
{
	yaml_node_t *seq = kc_get(c, c->root, list), *item;
	yaml_node_item_t *i;
	const char *n;

	if (seq == NULL || seq->type != YAML_SEQUENCE_NODE)
		return NULL;
	for (i = seq->data.sequence.items.start; i < seq->data.sequence.items.top; i++) {
		item = yaml_document_get_node(&c->doc, *i);
		n = kc_scalar(c, item, "name");
		if (n != NULL && strcmp(n, name) == 0)
			return kc_get(c, item, inner);
	}
	return NULL;
}

static int kc_b64_value(int ch)
{
	static const char alphabet[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	const char *p = ch ? strchr(alphabet, ch) : NULL;

	return p != NULL ? (int)(p - alphabet) : -1;
}

/* Decodes base64 (whitespace ignored, padding optional) into a NUL-terminated buffer. */
static int kc_base64(const char *in, char **outp, size_t *lenp)
{
	size_t n = strlen(in), len = 0;
	unsigned acc = 0, bits = 0;
	char *out = malloc(n / 4 * 3 + 4);
	const char *p;
	int v, rv = TB_INVALID_ARGUMENT;

	if (out == NULL)
		return TB_RESOURCE_EXHAUSTED;
	for (p = in; *p != '\0' && *p != '='; p++) {
		if (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t')
			continue;
		if ((v = kc_b64_value((unsigned char)*p)) < 0)
			goto out;
		acc = ((acc << 6) | (unsigned)v) & 0xffffffu;
		if ((bits += 6) >= 8) {
			bits -= 8;
			out[len++] = (char)((acc >> bits) & 0xffu);
		}
	}
	for (; *p != '\0'; p++)
		if (*p != '=' && *p != '\n' && *p != '\r' && *p != ' ')
			goto out;
	out[len] = '\0';
	rv = TB_OK;
out:
	if (rv != TB_OK)
		free(out);
	*outp = rv == TB_OK ? out : NULL;
	*lenp = rv == TB_OK ? len : 0;
	return rv;
}

static char *kc_path(const kc_ctx *c, const char *path)
{
	char *out = NULL;

	if (path[0] == '/' || c->base_dir == NULL)
		return strdup(path);
	if (asprintf(&out, "%s/%s", c->base_dir, path) < 0)
		return NULL;
	return out;
}

static int kc_token_file(kc_ctx *c, const char *path, char **outp)
{
	char *full = kc_path(c, path), *data = NULL;
	size_t len = 0;
	int rv;

	if (full == NULL)
		return tb_status_set(c->st, TB_RESOURCE_EXHAUSTED, "out of memory");
	rv = tb_kubeconfig_read_file(full, KC_MAX_TOKEN_FILE, &data, &len, c->st);
	free(full);
	while (rv == TB_OK && len > 0 && (data[len - 1] == '\n' || data[len - 1] == '\r' ||
	                                  data[len - 1] == ' '))
		data[--len] = '\0';
	*outp = rv == TB_OK ? data : NULL;
	return rv;
}

/* Stores one scalar as f says; fields already set are kept. */
static int kc_store(kc_ctx *c, tb_kubeconfig *kc, const struct kc_field *f, const char *value)
{
	char **slot = (char **)((char *)kc + f->off);
	size_t dummy;
	int rv = TB_OK;

	if (f->kind == KC_BOOL) {
		*(bool *)((char *)kc + f->off) = strcasecmp(value, "true") == 0;
		return TB_OK;
	}
	if (*slot != NULL)
		return TB_OK;
	if (f->kind == KC_STRING)
		*slot = strdup(value);
	else if (f->kind == KC_PATH)
		*slot = kc_path(c, value);
	else if (f->kind == KC_TOKEN_FILE)
		return kc_token_file(c, value, slot);
	else if ((rv = kc_base64(value, slot, f->len_off ? (size_t *)((char *)kc + f->len_off)
	                                                  : &dummy)) != TB_OK)
		return tb_status_set(c->st, rv, "%s: %s is not valid base64", c->name, f->key);
	if (*slot == NULL)
		rv = tb_status_set(c->st, TB_RESOURCE_EXHAUSTED, "out of memory");
	return rv;
}

static int kc_fields(kc_ctx *c, tb_kubeconfig *kc, yaml_node_t *map,
                     const struct kc_field *fields, size_t n)
{
	const char *value;
	size_t i;
	int rv = TB_OK;

	for (i = 0; i < n && rv == TB_OK; i++)
		if ((value = kc_scalar(c, map, fields[i].key)) != NULL)
			rv = kc_store(c, kc, &fields[i], value);
	return rv;
}

/* Fails when the user's only credentials are of a kind not supported here. */
static int kc_check_user(kc_ctx *c, const tb_kubeconfig *kc, yaml_node_t *user)
{
	size_t i;

	if (kc->token != NULL || kc->cert_data != NULL || kc->cert_file != NULL)
		return TB_OK;
	for (i = 0; i < sizeof(kc_unsupported) / sizeof(kc_unsupported[0]); i++)
		if (kc_get(c, user, kc_unsupported[i]) != NULL)
			return tb_status_set(c->st, TB_INVALID_ARGUMENT,
			                     "%s: user '%s' authenticates with '%s', which testbus "
			                     "does not support: use a token or a client certificate",
			                     c->name, kc->user, kc_unsupported[i]);
	return TB_OK;
}

/* The context to use: asked for, current-context, or the only one there is. */
static const char *kc_context_name(kc_ctx *c, const char *asked)
{
	yaml_node_t *seq, *item;

	if (asked != NULL)
		return asked;
	if ((asked = kc_scalar(c, c->root, "current-context")) != NULL && asked[0] != '\0')
		return asked;
	seq = kc_get(c, c->root, "contexts");
	if (seq == NULL || seq->type != YAML_SEQUENCE_NODE ||
	    seq->data.sequence.items.top - seq->data.sequence.items.start != 1)
		return NULL;
	item = yaml_document_get_node(&c->doc, *seq->data.sequence.items.start);
	return kc_scalar(c, item, "name");
}

static int kc_dup(const char *s, char **outp, kc_ctx *c)
{
	*outp = s != NULL ? strdup(s) : NULL;
	return s == NULL || *outp != NULL ? TB_OK
	                                  : tb_status_set(c->st, TB_RESOURCE_EXHAUSTED, "out of memory");
}

static int kc_resolve(kc_ctx *c, const char *asked, tb_kubeconfig *kc)
{
	const char *name = kc_context_name(c, asked);
	yaml_node_t *ctx, *cluster, *user;
	int rv;

	if (name == NULL)
		return tb_status_set(c->st, TB_INVALID_ARGUMENT,
		                     "%s: no current-context, and no context was named", c->name);
	if ((ctx = kc_named(c, "contexts", "context", name)) == NULL)
		return tb_status_set(c->st, asked ? TB_NOT_FOUND : TB_INVALID_ARGUMENT,
		                     "%s: no context '%s'", c->name, name);
	if ((rv = kc_dup(name, &kc->context, c)) != TB_OK ||
	    (rv = kc_dup(kc_scalar(c, ctx, "cluster"), &kc->cluster, c)) != TB_OK ||
	    (rv = kc_dup(kc_scalar(c, ctx, "user"), &kc->user, c)) != TB_OK ||
	    (rv = kc_dup(kc_scalar(c, ctx, "namespace"), &kc->namespace_, c)) != TB_OK)
		return rv;
	if (kc->cluster == NULL || (cluster = kc_named(c, "clusters", "cluster", kc->cluster)) == NULL)
		return tb_status_set(c->st, TB_INVALID_ARGUMENT,
		                     "%s: context '%s' names no cluster that the file defines", c->name,
		                     name);
	if ((rv = kc_fields(c, kc, cluster, kc_cluster_fields,
	                    sizeof(kc_cluster_fields) / sizeof(kc_cluster_fields[0]))) != TB_OK)
		return rv;
	if (kc->server == NULL || kc->server[0] == '\0')
		return tb_status_set(c->st, TB_INVALID_ARGUMENT, "%s: cluster '%s' has no server",
		                     c->name, kc->cluster);
	if (kc->user == NULL)
		return TB_OK; /* anonymous */
	if ((user = kc_named(c, "users", "user", kc->user)) == NULL)
		return tb_status_set(c->st, TB_INVALID_ARGUMENT, "%s: no user '%s'", c->name,
		                     kc->user);
	if ((rv = kc_fields(c, kc, user, kc_user_fields,
	                    sizeof(kc_user_fields) / sizeof(kc_user_fields[0]))) != TB_OK)
		return rv;
	return kc_check_user(c, kc, user);
}

int tb_kubeconfig_parse(const char *text, size_t len, const char *base_dir, const char *name,
                        const char *context, tb_kubeconfig *kc, tb_status *st)
{
	kc_ctx c = {.base_dir = base_dir, .name = name ? name : "kubeconfig", .st = st};
	yaml_parser_t parser;
	bool loaded = false;
	int rv;

	memset(kc, 0, sizeof(*kc));
	if (!yaml_parser_initialize(&parser))
		return tb_status_set(st, TB_RESOURCE_EXHAUSTED, "out of memory");
	/* An empty bytes field off the wire is NULL, which libyaml asserts on. */
	yaml_parser_set_input_string(&parser, (const unsigned char *)(text ? text : ""),
	                             text ? len : 0);
	if (!yaml_parser_load(&parser, &c.doc)) {
		rv = tb_status_set(st, TB_INVALID_ARGUMENT, "%s: line %zu: %s", c.name,
		                   parser.problem_mark.line + 1,
		                   parser.problem ? parser.problem : "bad YAML");
		goto out;
	}
	loaded = true;
	c.root = yaml_document_get_root_node(&c.doc);
	if (c.root == NULL || c.root->type != YAML_MAPPING_NODE) {
		rv = tb_status_set(st, TB_INVALID_ARGUMENT, "%s: not a kubeconfig (no mapping)",
		                   c.name);
		goto out;
	}
	rv = kc_resolve(&c, context, kc);
out:
	if (loaded)
		yaml_document_delete(&c.doc);
	yaml_parser_delete(&parser);
	if (rv != TB_OK)
		tb_kubeconfig_fini(kc);
	return rv;
}

int tb_kubeconfig_load(const char *path, const char *context, tb_kubeconfig *kc,
                       tb_status *st)
{
	char *data = NULL, *dir = NULL, *slash;
	size_t len = 0;
	int rv;

	memset(kc, 0, sizeof(*kc));
	if ((rv = tb_kubeconfig_read_file(path, KC_MAX_FILE, &data, &len, st)) != TB_OK)
		goto out;
	if ((dir = strdup(path)) == NULL) {
		rv = tb_status_set(st, TB_RESOURCE_EXHAUSTED, "out of memory");
		goto out;
	}
	slash = strrchr(dir, '/');
	if (slash == dir)
		slash[1] = '\0';
	else if (slash != NULL)
		*slash = '\0';
	rv = tb_kubeconfig_parse(data, len, slash != NULL ? dir : NULL, path, context, kc, st);
out:
	if (data != NULL)
		explicit_bzero(data, len);
	free(data);
	free(dir);
	return rv;
}

static void kc_wipe(char *s, size_t len)
{
	if (s != NULL)
		explicit_bzero(s, len ? len : strlen(s));
	free(s);
}

void tb_kubeconfig_fini(tb_kubeconfig *kc)
{
	if (kc == NULL)
		return;
	free(kc->context);
	free(kc->cluster);
	free(kc->user);
	free(kc->namespace_);
	free(kc->server);
	free(kc->tls_server_name);
	free(kc->ca_data);
	free(kc->ca_file);
	free(kc->cert_data);
	free(kc->cert_file);
	kc_wipe(kc->key_data, kc->key_len);
	free(kc->key_file);
	kc_wipe(kc->token, 0);
	memset(kc, 0, sizeof(*kc));
}

void tb_kubeconfig_tls(const tb_kubeconfig *kc, tb_http_tls *tls)
{
	memset(tls, 0, sizeof(*tls));
	tls->ca_data = kc->ca_data;
	tls->ca_len = kc->ca_len;
	tls->ca_file = kc->ca_file;
	tls->cert_data = kc->cert_data;
	tls->cert_len = kc->cert_len;
	tls->cert_file = kc->cert_file;
	tls->key_data = kc->key_data;
	tls->key_len = kc->key_len;
	tls->key_file = kc->key_file;
	tls->insecure = kc->insecure;
}

/* errno of a failed open or read, as a testbus code. */
static int kc_errno_code(int err)
{
	switch (err) {
	case ENOENT:
	case ENOTDIR:
		return TB_NOT_FOUND;
	case EACCES:
	case EPERM:
		return TB_PERMISSION_DENIED;
	default:
		return TB_INTERNAL;
	}
}

int tb_kubeconfig_read_file(const char *path, size_t max, char **datap, size_t *lenp,
                            tb_status *st)
{
	char *data = NULL;
	size_t len = 0;
	ssize_t n;
	struct stat sb;
	int fd = open(path, O_RDONLY | O_CLOEXEC), rv = TB_OK;

	if (fd < 0 || fstat(fd, &sb) != 0) {
		rv = tb_status_set(st, kc_errno_code(errno), "%s: %s", path, strerror(errno));
		goto out;
	}
	if (!S_ISREG(sb.st_mode) || (size_t)sb.st_size > max) {
		rv = tb_status_set(st, S_ISREG(sb.st_mode) ? TB_RESOURCE_EXHAUSTED : TB_INVALID_ARGUMENT,
		                   "%s: not a regular file of at most %zu bytes", path, max);
		goto out;
	}
	if ((data = malloc((size_t)sb.st_size + 1)) == NULL) {
		rv = tb_status_set(st, TB_RESOURCE_EXHAUSTED, "out of memory");
		goto out;
	}
	while (len < (size_t)sb.st_size &&
	       ((n = read(fd, data + len, (size_t)sb.st_size - len)) > 0 || errno == EINTR))
		len += n > 0 ? (size_t)n : 0;
	data[len] = '\0';
out:
	if (fd >= 0)
		close(fd);
	if (rv != TB_OK)
		free(data);
	*datap = rv == TB_OK ? data : NULL;
	*lenp = rv == TB_OK ? len : 0;
	return rv;
}

int tb_kubeconfig_write_file(char *template_, const void *data, size_t len, tb_status *st)
{
	const char *p = data;
	size_t done = 0;
	ssize_t n;
	int fd = mkstemp(template_), rv = TB_OK;

	if (fd < 0)
		return tb_status_set(st, TB_INTERNAL, "%s: %s", template_, strerror(errno));
	fchmod(fd, 0600);
	while (done < len) {
		if ((n = write(fd, p + done, len - done)) < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			rv = tb_status_set(st, TB_INTERNAL, "%s: %s", template_, strerror(errno));
			break;
		}
		done += (size_t)n;
	}
	if (close(fd) != 0 && rv == TB_OK)
		rv = tb_status_set(st, TB_INTERNAL, "%s: %s", template_, strerror(errno));
	if (rv != TB_OK)
		unlink(template_);
	return rv;
}

/* --- writing a flattened kubeconfig --- */

/* A growing output buffer; ok turns false when memory runs out. */
typedef struct kc_out {
	char *data;
	size_t len;
	size_t cap;
	bool ok;
} kc_out;

static void kc_put(kc_out *o, const char *s, size_t n)
{
	size_t cap = o->cap ? o->cap : 1024;
	char *p;

	if (!o->ok)
		return;
	while (cap < o->len + n + 1)
		cap *= 2;
	if (cap != o->cap) {
		if ((p = realloc(o->data, cap)) == NULL) {
			o->ok = false;
			return;
		}
		o->data = p;
		o->cap = cap;
	}
	memcpy(o->data + o->len, s, n);
	o->len += n;
	o->data[o->len] = '\0';
}

static void kc_puts(kc_out *o, const char *s)
{
	kc_put(o, s, strlen(s));
}

/* s as a YAML double-quoted scalar. */
static void kc_quoted(kc_out *o, const char *s)
{
	char esc[8];

	kc_puts(o, "\"");
	for (; *s != '\0'; s++) {
		if (*s == '"' || *s == '\\') {
			esc[0] = '\\';
			esc[1] = *s;
			kc_put(o, esc, 2);
		} else if ((unsigned char)*s < 0x20 || *s == 0x7f) {
			snprintf(esc, sizeof(esc), "\\x%02x", (unsigned char)*s);
			kc_puts(o, esc);
		} else {
			kc_put(o, s, 1);
		}
	}
	kc_puts(o, "\"");
}

static void kc_base64_put(kc_out *o, const unsigned char *p, size_t n)
{
	static const char alphabet[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	char quad[4];
	unsigned v;
	size_t i;

	for (i = 0; i < n; i += 3) {
		v = (unsigned)p[i] << 16 | (i + 1 < n ? (unsigned)p[i + 1] << 8 : 0) |
		    (i + 2 < n ? p[i + 2] : 0);
		quad[0] = alphabet[v >> 18 & 63];
		quad[1] = alphabet[v >> 12 & 63];
		quad[2] = i + 1 < n ? alphabet[v >> 6 & 63] : '=';
		quad[3] = i + 2 < n ? alphabet[v & 63] : '=';
		kc_put(o, quad, 4);
	}
}

/* "    key: <base64>\n" from data, or from the file at path; nothing when both are NULL. */
static int kc_put_data(kc_out *o, const char *key, const char *data, size_t len,
                       const char *path, tb_status *st)
{
	char *file = NULL;
	size_t flen = 0;
	int rv;

	if (data == NULL && path == NULL)
		return TB_OK;
	if (data == NULL) {
		if ((rv = tb_kubeconfig_read_file(path, KC_MAX_TOKEN_FILE, &file, &flen, st)) != TB_OK)
			return rv;
		data = file;
		len = flen;
	}
	kc_puts(o, "    ");
	kc_puts(o, key);
	kc_puts(o, ": ");
	kc_base64_put(o, (const unsigned char *)data, len);
	kc_puts(o, "\n");
	if (file != NULL)
		explicit_bzero(file, flen);
	free(file);
	return TB_OK;
}

static void kc_put_field(kc_out *o, const char *key, const char *value)
{
	if (value == NULL)
		return;
	kc_puts(o, "    ");
	kc_puts(o, key);
	kc_puts(o, ": ");
	kc_quoted(o, value);
	kc_puts(o, "\n");
}

static int kc_put_user(kc_out *o, const tb_kubeconfig *kc, tb_status *st)
{
	int rv;

	kc_puts(o, "users:\n- name: ");
	kc_quoted(o, kc->user ? kc->user : "testbus");
	kc_puts(o, "\n  user:\n");
	kc_put_field(o, "token", kc->token);
	if ((rv = kc_put_data(o, "client-certificate-data", kc->cert_data, kc->cert_len,
	                      kc->cert_file, st)) != TB_OK ||
	    (rv = kc_put_data(o, "client-key-data", kc->key_data, kc->key_len, kc->key_file,
	                      st)) != TB_OK)
		return rv;
	/* A user with no field at all must still be a mapping to read back. */
	if (kc->token == NULL && kc->cert_data == NULL && kc->cert_file == NULL &&
	    kc->key_data == NULL && kc->key_file == NULL)
		kc_puts(o, "    {}\n");
	return TB_OK;
}

int tb_kubeconfig_flatten(const tb_kubeconfig *kc, char **outp, size_t *lenp, tb_status *st)
{
	kc_out o = {.ok = true};
	const char *cluster = kc->cluster ? kc->cluster : "testbus";
	int rv;

	kc_puts(&o, "apiVersion: v1\nkind: Config\ncurrent-context: ");
	kc_quoted(&o, kc->context ? kc->context : "testbus");
	kc_puts(&o, "\nclusters:\n- name: ");
	kc_quoted(&o, cluster);
	kc_puts(&o, "\n  cluster:\n");
	kc_put_field(&o, "server", kc->server);
	kc_put_field(&o, "tls-server-name", kc->tls_server_name);
	if (kc->insecure)
		kc_puts(&o, "    insecure-skip-tls-verify: true\n");
	if ((rv = kc_put_data(&o, "certificate-authority-data", kc->ca_data, kc->ca_len,
	                      kc->ca_file, st)) != TB_OK)
		goto out;
	kc_puts(&o, "contexts:\n- name: ");
	kc_quoted(&o, kc->context ? kc->context : "testbus");
	kc_puts(&o, "\n  context:\n");
	kc_put_field(&o, "cluster", cluster);
	kc_put_field(&o, "user", kc->user ? kc->user : "testbus");
	kc_put_field(&o, "namespace", kc->namespace_);
	if ((rv = kc_put_user(&o, kc, st)) != TB_OK)
		goto out;
	if (!o.ok)
		rv = tb_status_set(st, TB_RESOURCE_EXHAUSTED, "out of memory");
out:
	if (rv != TB_OK && o.data != NULL) {
		explicit_bzero(o.data, o.len);
		free(o.data);
	}
	*outp = rv == TB_OK ? o.data : NULL;
	*lenp = rv == TB_OK ? o.len : 0;
	return rv;
}
