/* Running the exec provisioner's user commands and reading what they print. */
#include "exec_run.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "process.h"

#define EXEC_STDOUT_TAIL (1024u * 1024u)
#define EXEC_STDERR_SHOWN 400u
#define EXEC_MAX_KUBECONFIG (16u * 1024u * 1024u)

static bool exec_stopped(void *arg)
{
	return tb_call_stopped(arg);
}

/* The environment additions for t: "NAME=value" strings the caller frees. */
static size_t exec_env_add(const exec_target *t, const char *kc_path, char **set)
{
	const struct {
		const char *name;
		const char *value;
	} vars[] = {
		{"TESTBUS_CLUSTER_ID", t->id},     {"TESTBUS_CLUSTER_NAME", t->name},
		{"TESTBUS_CLUSTER_REGION", t->region}, {"TESTBUS_RUN_ID", t->run_id},
		{"TESTBUS_KUBECONFIG", kc_path},   {"KUBECONFIG", kc_path},
	};
	size_t i, n = 0;

	for (i = 0; i < sizeof(vars) / sizeof(vars[0]); i++)
		if (vars[i].value != NULL && asprintf(&set[n], "%s=%s", vars[i].name, vars[i].value) >= 0)
			n++;
	return n;
}

/* The last n bytes of s, starting at a line when one begins nearby. */
static const char *exec_tail(const char *s, size_t n)
{
	size_t len = s ? strlen(s) : 0;
	const char *p;

	if (len <= n)
		return s ? s : "";
	p = s + len - n;
	return strchr(p, '\n') && strchr(p, '\n') - p < 80 ? strchr(p, '\n') + 1 : p;
}

static int exec_fail(tb_call *call, tb_status *st, int code, const char *fmt, const char *what,
                     const char *how, const char *err)
{
	if (call != NULL)
		return tb_call_error(call, code, fmt, what, how, err);
	return tb_status_set(st, code, fmt, what, how, err);
}

/* The code and message for a command that ran but did not succeed. */
static int exec_judge(tb_call *call, const char *what, const exec_output *o, tb_status *st)
{
	char how[64];
	const char *err = exec_tail(o->err, EXEC_STDERR_SHOWN);

	if (o->stopped)
		return exec_fail(call, st, call ? tb_call_stop_code(call) : TB_CANCELLED,
		                 "%s %s; stderr: %s", what, "was stopped", err);
	if (o->timed_out)
		return exec_fail(call, st, TB_DEADLINE_EXCEEDED, "%s %s; stderr: %s", what,
		                 "timed out", err);
	if (o->exit_code == 0)
		return TB_OK;
	if (o->exit_code < 0)
		snprintf(how, sizeof(how), "was killed by a signal");
	else
		snprintf(how, sizeof(how), "exited with status %d", o->exit_code);
	return exec_fail(call, st, TB_FAILED_PRECONDITION, "%s %s; stderr: %s", what, how, err);
}

/* Writes t's kubeconfig to a private file; *pathp stays empty without one. */
static int exec_kubeconfig_file(const exec_target *t, char *path, size_t size, tb_status *st)
{
	const char *tmp = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";

	path[0] = '\0';
	if (t->kubeconfig == NULL || t->kubeconfig_len == 0)
		return TB_OK;
	snprintf(path, size, "%s/testbus-kubeconfig-XXXXXX", tmp);
	if (tb_kubeconfig_write_file(path, t->kubeconfig, t->kubeconfig_len, st) != TB_OK) {
		path[0] = '\0';
		return TB_INTERNAL;
	}
	return TB_OK;
}

int exec_run(tb_call *call, const char *what, char *const *argv, char *const *env,
             const char *workdir, uint32_t timeout_ms, const exec_target *t, exec_output *o,
             tb_status *st)
{
	tb_process_opts po = {0};
	tb_process_result res = {0};
	char kc_path[512], *set[64], **full = NULL;
	size_t n = 0, i;
	int rv;

	memset(o, 0, sizeof(*o));
	if ((rv = exec_kubeconfig_file(t, kc_path, sizeof(kc_path), st)) != TB_OK)
		return call ? tb_call_error(call, rv, "%s", st->message) : rv;
	for (i = 0; env != NULL && env[i] != NULL && n < 48; i++)
		set[n++] = strdup(env[i]);
	n += exec_env_add(t, kc_path[0] ? kc_path : NULL, set + n);
	if ((rv = tb_process_env_build(NULL, (const char *const *)set, n, &full)) == TB_OK) {
		po.argv = (const char *const *)argv;
		po.env = (const char *const *)full;
		po.cwd = workdir;
		po.tail_bytes = EXEC_STDOUT_TAIL;
		po.timeout_ms = timeout_ms;
		po.should_stop = call ? exec_stopped : NULL;
		po.stop_arg = call;
		rv = tb_process_run(&po, &res, st);
	}
	if (rv != TB_OK) {
		rv = call ? tb_call_error(call, rv, "%s could not run: %s", what, st->message) : rv;
	} else {
		o->exit_code = res.exit_code;
		o->timed_out = res.timed_out;
		o->stopped = res.stopped;
		o->out = res.stdout_tail;
		o->err = res.stderr_tail;
		res.stdout_tail = res.stderr_tail = NULL;
		rv = exec_judge(call, what, o, st);
	}
	tb_process_result_fini(&res);
	tb_process_env_free(full);
	for (i = 0; i < n; i++)
		free(set[i]);
	if (kc_path[0] != '\0')
		unlink(kc_path);
	return rv;
}

void exec_output_fini(exec_output *o)
{
	free(o->out);
	if (o->err != NULL)
		free(o->err);
	memset(o, 0, sizeof(*o));
}

/* The last non-empty line of text, copied into buf. */
static const char *exec_last_line(const char *text, char *buf, size_t size)
{
	size_t len = strlen(text), end, start;

	while (len > 0 && (text[len - 1] == '\n' || text[len - 1] == '\r' || text[len - 1] == ' '))
		len--;
	end = len;
	while (len > 0 && text[len - 1] != '\n')
		len--;
	start = len;
	snprintf(buf, size, "%.*s", (int)(end - start), text + start);
	return buf;
}

/* Parses kubeconfig text (base_dir for relative paths) and flattens it into the arena. */
static int exec_flatten(tb_call *call, const char *text, size_t len, const char *base_dir,
                        const char *name, ProtobufCBinaryData *out)
{
	tb_kubeconfig kc;
	tb_status st = {0};
	char *flat = NULL;
	size_t flen = 0;
	int rv;

	if ((rv = tb_kubeconfig_parse(text, len, base_dir, name, NULL, &kc, &st)) == TB_OK)
		rv = tb_kubeconfig_flatten(&kc, &flat, &flen, &st);
	tb_kubeconfig_fini(&kc);
	if (rv != TB_OK)
		return tb_call_error(call, rv, "%s", st.message);
	out->data = tb_arena_memdup(tb_call_arena(call), flat, flen);
	out->len = flen;
	explicit_bzero(flat, flen);
	free(flat);
	return out->data ? TB_OK : tb_call_error(call, TB_RESOURCE_EXHAUSTED, "out of memory");
}

static int exec_kubeconfig_path(tb_call *call, const char *path, ProtobufCBinaryData *out)
{
	char *data = NULL, *dir = strdup(path), *slash;
	size_t len = 0;
	tb_status st = {0};
	int rv;

	if (dir == NULL)
		return tb_call_error(call, TB_RESOURCE_EXHAUSTED, "out of memory");
	if ((slash = strrchr(dir, '/')) != NULL)
		slash == dir ? (void)(slash[1] = '\0') : (void)(*slash = '\0');
	if ((rv = tb_kubeconfig_read_file(path, EXEC_MAX_KUBECONFIG, &data, &len, &st)) != TB_OK)
		rv = tb_call_error(call, rv, "kubeconfig printed by the command: %s", st.message);
	else
		rv = exec_flatten(call, data, len, slash ? dir : NULL, path, out);
	if (data != NULL)
		explicit_bzero(data, len);
	free(data);
	free(dir);
	return rv;
}

int exec_read_kubeconfig(tb_call *call, const char *text, ProtobufCBinaryData *out)
{
	char line[4096];

	/* One line starting with '/' is a path; anything else is the kubeconfig itself. */
	exec_last_line(text ? text : "", line, sizeof(line));
	if (line[0] == '/' && strspn(text, " \r\n") == (size_t)(strstr(text, line) - text))
		return exec_kubeconfig_path(call, line, out);
	return exec_flatten(call, text ? text : "", text ? strlen(text) : 0, NULL,
	                    "kubeconfig printed by the command", out);
}

/* A JSON value as a Value from the arena; NULL for null or out of memory. */
static Testbus__V1__Value *exec_value(tb_arena *a, json_object *j)
{
	Testbus__V1__Value *v = tb_arena_zalloc(a, sizeof(*v));
	size_t i, n;

	if (v == NULL)
		return NULL;
	testbus__v1__value__init(v);
	switch (json_object_get_type(j)) {
	case json_type_boolean:
		v->kind_case = TESTBUS__V1__VALUE__KIND_BOOL_VALUE;
		v->bool_value = json_object_get_boolean(j);
		return v;
	case json_type_int:
		v->kind_case = TESTBUS__V1__VALUE__KIND_INT_VALUE;
		v->int_value = json_object_get_int64(j);
		return v;
	case json_type_double:
		v->kind_case = TESTBUS__V1__VALUE__KIND_DOUBLE_VALUE;
		v->double_value = json_object_get_double(j);
		return v;
	case json_type_string:
		v->kind_case = TESTBUS__V1__VALUE__KIND_STRING_VALUE;
		v->string_value = tb_arena_strdup(a, json_object_get_string(j));
		return v->string_value ? v : NULL;
	case json_type_array:
		v->kind_case = TESTBUS__V1__VALUE__KIND_LIST_VALUE;
		n = json_object_array_length(j);
		if ((v->list_value = tb_arena_zalloc(a, sizeof(*v->list_value))) == NULL)
			return NULL;
		testbus__v1__value_list__init(v->list_value);
		if ((v->list_value->values = tb_arena_zalloc(a, (n + 1) * sizeof(void *))) == NULL)
			return NULL;
		for (i = 0; i < n; i++)
			if ((v->list_value->values[i] = exec_value(a, json_object_array_get_idx(j, i))) == NULL)
				return NULL;
		v->list_value->n_values = n;
		return v;
	default:
		return NULL; /* objects are flattened by the caller; null has no Value */
	}
}

/* True when j has a Value: not null, and a list holds only values (no objects). */
static bool exec_has_value(json_object *j)
{
	if (j == NULL || json_object_is_type(j, json_type_object))
		return false;
	if (!json_object_is_type(j, json_type_array))
		return true;
	for (size_t i = 0, n = json_object_array_length(j); i < n; i++) {
		if (!exec_has_value(json_object_array_get_idx(j, i)))
			return false;
	}
	return true;
}

/* Adds each member of the JSON object props to ci's properties; nested objects become "a.b". */
static int exec_properties(tb_call *call, json_object *props, const char *prefix,
                           Testbus__V1__ClusterInfo *ci)
{
	tb_arena *a = tb_call_arena(call);
	char *key;
	int rv = TB_OK;

	json_object_object_foreach(props, k, j) {
		if (rv != TB_OK || j == NULL)
			continue;
		key = prefix ? tb_arena_printf(a, "%s.%s", prefix, k) : tb_arena_strdup(a, k);
		if (key == NULL)
			return tb_call_error(call, TB_RESOURCE_EXHAUSTED, "out of memory");
		if (json_object_is_type(j, json_type_object))
			rv = exec_properties(call, j, key, ci);
		else if (!exec_has_value(j))
			rv = tb_call_error(call, TB_INVALID_ARGUMENT,
			                   "provision command output: property \"%s\": a list may hold "
			                   "only strings, numbers, booleans and lists", key);
		else if (prov_prop_value(ci, a, key, exec_value(a, j)) != TB_OK)
			rv = tb_call_error(call, TB_RESOURCE_EXHAUSTED, "out of memory");
	}
	return rv;
}

/* String fields of the ClusterInfo JSON, by name. */
static const struct exec_field {
	const char *key;
	size_t off;
} exec_fields[] = {
	{"id", offsetof(Testbus__V1__ClusterInfo, id)},
	{"name", offsetof(Testbus__V1__ClusterInfo, name)},
	{"provider", offsetof(Testbus__V1__ClusterInfo, provider)},
	{"region", offsetof(Testbus__V1__ClusterInfo, region)},
	{"version", offsetof(Testbus__V1__ClusterInfo, version)},
};

static int exec_read_json(tb_call *call, json_object *obj, Testbus__V1__ClusterInfo *ci)
{
	tb_arena *a = tb_call_arena(call);
	json_object *v;
	size_t i;
	char **slot;
	int rv;

	for (i = 0; i < sizeof(exec_fields) / sizeof(exec_fields[0]); i++) {
		if (!json_object_object_get_ex(obj, exec_fields[i].key, &v))
			continue;
		if (!json_object_is_type(v, json_type_string))
			return tb_call_error(call, TB_INVALID_ARGUMENT,
			                     "provision command output: \"%s\" must be a string",
			                     exec_fields[i].key);
		slot = (char **)((char *)ci + exec_fields[i].off);
		if ((*slot = tb_arena_strdup(a, json_object_get_string(v))) == NULL)
			return tb_call_error(call, TB_RESOURCE_EXHAUSTED, "out of memory");
	}
	if (json_object_object_get_ex(obj, "properties", &v) && v != NULL) {
		/* Walking the members of anything but an object dereferences NULL. */
		if (!json_object_is_type(v, json_type_object))
			return tb_call_error(call, TB_INVALID_ARGUMENT,
			                     "provision command output: \"properties\" must be an object");
		if ((rv = exec_properties(call, v, NULL, ci)) != TB_OK)
			return rv;
	}
	if (json_object_object_get_ex(obj, "kubeconfig", &v) && json_object_get_string_len(v) > 0)
		return exec_flatten(call, json_object_get_string(v), (size_t)json_object_get_string_len(v),
		                    NULL, "provision command's kubeconfig", &ci->kubeconfig);
	if (json_object_object_get_ex(obj, "kubeconfig_path", &v) && json_object_get_string_len(v) > 0)
		return exec_kubeconfig_path(call, json_object_get_string(v), &ci->kubeconfig);
	return TB_OK;
}

int exec_read_cluster(tb_call *call, const char *text, const char *err,
                      Testbus__V1__ClusterInfo *ci)
{
	char line[4096];
	json_object *obj = json_tokener_parse(text ? text : "");
	int rv;

	exec_last_line(text ? text : "", line, sizeof(line));
	if (obj == NULL && line[0] == '{')
		obj = json_tokener_parse(line);
	if (obj != NULL && json_object_is_type(obj, json_type_object))
		rv = exec_read_json(call, obj, ci);
	else if (obj == NULL && line[0] == '/')
		rv = exec_kubeconfig_path(call, line, &ci->kubeconfig);
	else
		rv = tb_call_error(call, TB_INVALID_ARGUMENT,
		                   "provision command printed neither a JSON ClusterInfo nor a "
		                   "kubeconfig path on stdout; stderr: %s",
		                   exec_tail(err, EXEC_STDERR_SHOWN));
	json_object_put(obj);
	return rv;
}
