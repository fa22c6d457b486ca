/* Test helpers: temporary folders, the Python test servers and component processes. */
#include "harness.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "http.h"
#include "valgrind_wrap.h"

extern char **environ;

const char h_src_dir[] = H_SRC_DIR;
const char h_bin_dir[] = H_BIN_DIR;

/* Numbers the component sockets, so a component left by a failed test is in nobody's way. */
static int h_seq;

static void h_die(const char *what)
{
	fprintf(stderr, "harness: %s: %s\n", what, strerror(errno));
	abort();
}

char *h_tmpdir(void)
{
	const char *base = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
	char *dir;

	if (asprintf(&dir, "%s/tb-prov-XXXXXX", base) < 0 || mkdtemp(dir) == NULL)
		h_die("mkdtemp");
	return dir;
}

static int h_rm_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	return remove(path);
}

void h_rmrf(const char *dir)
{
	if (getenv("H_KEEP") != NULL) {
		fprintf(stderr, "harness: keeping %s\n", dir);
		return;
	}
	nftw(dir, h_rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

void h_path(char *buf, size_t size, const char *dir, const char *name)
{
	snprintf(buf, size, "%s/%s", dir, name);
}

void h_make_certs(const char *dir)
{
	char cmd[1024];

	snprintf(cmd, sizeof(cmd), "sh '%s/make_certs.sh' '%s'", h_src_dir, dir);
	if (system(cmd) != 0)
		h_die("make_certs.sh");
}

/* An environment: the test's with set applied ("N=v" sets, "N" unsets). Caller frees the array. */
static char **h_env(const char *const *set)
{
	size_t n = 0, m = 0, i, j, len;
	char **env;

	while (environ[n] != NULL)
		n++;
	while (set != NULL && set[m] != NULL)
		m++;
	if ((env = calloc(n + m + 1, sizeof(*env))) == NULL)
		h_die("calloc");
	for (i = 0, n = 0; environ[i] != NULL; i++) {
		for (j = 0; j < m; j++) {
			len = strcspn(set[j], "=");
			if (strncmp(environ[i], set[j], len) == 0 && environ[i][len] == '=')
				break;
		}
		if (j == m)
			env[n++] = environ[i];
	}
	for (j = 0; j < m; j++)
		if (strchr(set[j], '=') != NULL)
			env[n++] = (char *)set[j];
	return env;
}

/* Spawns argv with stdin and stdout on pipes and stderr into log (or inherited). */
static int h_spawn(const char *const *argv, const char *const *env_set, const char *log,
                   h_proc *p, bool component)
{
	posix_spawn_file_actions_t fa;
	int in[2], out[2], rv;
	char parent[64];
	const char *set[64] = {parent};
	size_t n = 1;
	char **env;
	char *wrapped[66]; /* a component's argv behind valgrind-run.sh, when asked for */
	char *const *run = (char *const *)argv;

	/* A component dies with the test, even one a failed assertion left running. */
	snprintf(parent, sizeof(parent), "TESTBUS_PARENT_PID=%d", (int)getpid());
	while (env_set != NULL && *env_set != NULL && n < 63)
		set[n++] = *env_set++;
	set[n] = NULL;
	env = h_env(component ? set : env_set);

	if (pipe2(in, O_CLOEXEC) != 0 || pipe2(out, O_CLOEXEC) != 0)
		h_die("pipe");
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, in[0], 0);
	posix_spawn_file_actions_adddup2(&fa, out[1], 1);
	if (log != NULL)
		posix_spawn_file_actions_addopen(&fa, 2, log, O_WRONLY | O_CREAT | O_APPEND, 0600);
	if (component)
		run = vg_argv(run, wrapped, sizeof(wrapped) / sizeof(wrapped[0]));
	rv = posix_spawn(&p->pid, run[0], &fa, NULL, run, env);
	posix_spawn_file_actions_destroy(&fa);
	free(env);
	close(in[0]);
	close(out[1]);
	p->in_fd = in[1];
	p->out_fd = out[0];
	if (rv != 0) {
		close(in[1]);
		close(out[0]);
		p->pid = -1;
	}
	return rv;
}

int h_stop(h_proc *p)
{
	int status = 0;

	if (p->pid <= 0)
		return -1;
	close(p->in_fd);
	close(p->out_fd);
	kill(p->pid, SIGTERM);
	while (waitpid(p->pid, &status, 0) < 0 && errno == EINTR)
		;
	p->pid = -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* Reads the "PORT n" line a test server prints, waiting up to 10 s. */
static int h_read_port(h_proc *p)
{
	char buf[64];
	size_t len = 0;
	struct pollfd pfd = {p->out_fd, POLLIN, 0};
	ssize_t n;
	int port;

	while (len < sizeof(buf) - 1 && memchr(buf, '\n', len) == NULL) {
		if (poll(&pfd, 1, 10000) <= 0 || (n = read(p->out_fd, buf + len, 1)) <= 0)
			return -1;
		len += (size_t)n;
	}
	buf[len] = '\0';
	return sscanf(buf, "PORT %d", &port) == 1 ? port : -1;
}

int h_server_start(const char *mode, const char *const *args, h_proc *p)
{
	const char *argv[64] = {H_PYTHON};
	char script[512];
	size_t n = 1;
	int port;

	snprintf(script, sizeof(script), "%s/testservers.py", h_src_dir);
	argv[n++] = script;
	argv[n++] = mode;
	while (args != NULL && *args != NULL && n < 63)
		argv[n++] = *args++;
	argv[n] = NULL;
	if (h_spawn(argv, NULL, NULL, p, false) != 0)
		return -1;
	if ((port = h_read_port(p)) < 0)
		h_stop(p);
	return port;
}

/* Handshakes within 10 s (times vg_time_scale()); gives up early when the component exits. */
static int h_handshake(h_comp *c, Testbus__V1__ComponentInfo **infop, tb_status *st)
{
	int rv = TB_UNAVAILABLE, status;

	for (unsigned i = 0; i < 40 * vg_time_scale() && rv != TB_OK; i++) {
		if (waitpid(c->proc.pid, &status, WNOHANG) == c->proc.pid) {
			close(c->proc.in_fd);
			close(c->proc.out_fd);
			c->proc.pid = -1;
			return tb_status_set(st, TB_UNAVAILABLE, "exited before serving");
		}
		rv = tb_handshake(c->conn, 250, infop, st);
	}
	return rv;
}

int h_comp_start(h_comp *c, const char *dir, const char *binary, const char *config_yaml,
                 const char *const *env_set)
{
	char exe[512], url[600], cfg[512];
	const char *argv[8];
	size_t n = 0;
	tb_status st;
	Testbus__V1__ComponentInfo *info = NULL;
	int rv;

	memset(c, 0, sizeof(*c));
	snprintf(exe, sizeof(exe), "%s/%s", h_bin_dir, binary);
	snprintf(url, sizeof(url), "ipc://%s/%s-%d.sock", dir, binary, ++h_seq);
	snprintf(c->log, sizeof(c->log), "%s/%s.log", dir, binary);
	argv[n++] = exe;
	argv[n++] = "--listen";
	argv[n++] = url;
	if (config_yaml != NULL) {
		snprintf(cfg, sizeof(cfg), "%s/%s.yaml", dir, binary);
		h_write(cfg, config_yaml, 0600);
		argv[n++] = "--config";
		argv[n++] = cfg;
	}
	argv[n] = NULL;
	if (h_spawn(argv, env_set, c->log, &c->proc, true) != 0)
		return TB_NOT_FOUND;
	if ((rv = tb_conn_open(url, NULL, &c->conn, &st)) == TB_OK)
		rv = h_handshake(c, &info, &st);
	if (rv != TB_OK) {
		fprintf(stderr, "harness: %s: %s\n", binary, st.message);
		h_comp_stop(c);
		return rv;
	}
	protobuf_c_message_free_unpacked(&info->base, NULL);
	return TB_OK;
}

int h_comp_stop(h_comp *c)
{
	int status = h_stop(&c->proc);

	tb_conn_close(c->conn);
	c->conn = NULL;
	return status;
}

char *h_read(const char *path)
{
	FILE *f = fopen(path, "rb");
	char *data = NULL;
	long len;

	if (f == NULL)
		return NULL;
	if (fseek(f, 0, SEEK_END) == 0 && (len = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0 &&
	    (data = calloc(1, (size_t)len + 1)) != NULL && fread(data, 1, (size_t)len, f) != (size_t)len) {
		free(data);
		data = NULL;
	}
	fclose(f);
	return data;
}

void h_write(const char *path, const char *text, int mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	size_t len = strlen(text);

	if (fd < 0 || write(fd, text, len) != (ssize_t)len || close(fd) != 0)
		h_die(path);
	chmod(path, (mode_t)mode);
}

json_object *h_json_file(const char *path)
{
	char *text = h_read(path);
	json_object *obj = text ? json_tokener_parse(text) : NULL;

	free(text);
	return obj;
}

json_object *h_get_json(int port, const char *ca_file, const char *path)
{
	char url[512];
	tb_http_request req = {0};
	tb_http_response resp;
	json_object *obj = NULL;

	snprintf(url, sizeof(url), "https://127.0.0.1:%d%s", port, path);
	req.url = url;
	req.tls.ca_file = ca_file;
	req.max_attempts = 1;
	if (tb_http_do(&req, &resp, NULL) == TB_OK)
		obj = json_tokener_parse(resp.body);
	tb_http_response_fini(&resp);
	return obj;
}

bool h_file_contains(const char *path, const char *needle)
{
	char *text = h_read(path);
	bool found = text != NULL && strstr(text, needle) != NULL;

	free(text);
	return found;
}
