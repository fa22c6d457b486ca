/* Shared set-up for the analyzer tests: temp dirs, analyzer processes, the fake LLM server. */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "fixture.h"
#include "valgrind_wrap.h"

extern char **environ;

#define FX_START_MS 15000

static void fx_sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
	nanosleep(&ts, NULL);
}

void fx_tmpdir(char *dir, size_t size)
{
	snprintf(dir, size, "/tmp/testbus-analyzers-XXXXXX");
	assert_non_null(mkdtemp(dir));
}

void fx_rmtree(const char *dir)
{
	char cmd[512];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
}

void fx_write(const char *dir, const char *name, const char *text, char *path, size_t size)
{
	snprintf(path, size, "%s/%s", dir, name);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	assert_int_equal(fclose(f), 0);
}

char *fx_read(const char *path)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *mem = open_memstream(&buf, &len);
	assert_non_null(mem);
	FILE *f = fopen(path, "rb");
	if (f != NULL) {
		char chunk[8192];
		size_t n;
		while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
			fwrite(chunk, 1, n, mem);
		fclose(f);
	}
	fclose(mem);
	return buf;
}

static pid_t fx_spawn(char *const argv[])
{
	pid_t pid;
	posix_spawnattr_t attr;
	assert_int_equal(posix_spawnattr_init(&attr), 0);
	assert_int_equal(posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP), 0);
	assert_int_equal(posix_spawnattr_setpgroup(&attr, 0), 0);
	int rc = posix_spawn(&pid, argv[0], NULL, &attr, argv, environ);
	posix_spawnattr_destroy(&attr);
	if (rc != 0)
		fail_msg("spawn %s: %s", argv[0], strerror(rc));
	return pid;
}

/* Stops pid (SIGKILL after 5 s, times vg_time_scale()) and returns its wait status. */
static int fx_stop_status(pid_t pid)
{
	int status = 0;
	kill(pid, SIGTERM);
	for (unsigned i = 0; i < 500 * vg_time_scale(); i++) {
		if (waitpid(pid, &status, WNOHANG) == pid)
			return status;
		fx_sleep_ms(10);
	}
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
	return status;
}

void fx_stop(pid_t pid)
{
	if (pid > 0)
		fx_stop_status(pid);
}

void fx_component_start(struct fx_component *c, const char *bin, const char *dir,
                        const char *name, const char *config)
{
	memset(c, 0, sizeof(*c));
	snprintf(c->url, sizeof(c->url), "ipc://%s/%s.ipc", dir, name);
	char *argv[] = {(char *)bin, "--listen", c->url, config ? "--config" : NULL,
	                (char *)config, NULL};
	char *wrapped[8]; /* argv behind valgrind-run.sh when the test run asks for it */
	c->pid = fx_spawn(vg_argv(argv, wrapped, sizeof(wrapped) / sizeof(wrapped[0])));
	tb_status st;
	assert_int_equal(tb_conn_open(c->url, NULL, &c->conn, &st), TB_OK);
	Testbus__V1__ComponentInfo *info = NULL;
	int rv = tb_handshake(c->conn, FX_START_MS * vg_time_scale(), &info, &st);
	if (rv != TB_OK) {
		fx_component_stop(c);
		fail_msg("%s did not come up: %s", bin, st.message);
	}
	assert_int_equal(info->kind, TESTBUS__V1__COMPONENT_KIND__KIND_ANALYZER);
	protobuf_c_message_free_unpacked(&info->base, NULL);
}

void fx_component_stop(struct fx_component *c)
{
	tb_conn_close(c->conn);
	c->conn = NULL;
	if (c->pid <= 0)
		return;
	int status = fx_stop_status(c->pid);
	c->pid = 0;
	/* A clean stop exits 0; a leak under LeakSanitizer or a crash does not. */
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		fail_msg("the component did not stop cleanly (wait status %#x)", status);
}

int fx_llm_server_start(const char *dir, pid_t *pidp)
{
	char port_file[256], log[256];
	snprintf(port_file, sizeof(port_file), "%s/port", dir);
	snprintf(log, sizeof(log), "%s/requests.jsonl", dir);
	char *argv[] = {"/usr/bin/python3", FAKE_LLM_SERVER, "--port-file", port_file, "--log",
	                log, NULL};
	*pidp = fx_spawn(argv);
	for (int i = 0; i < FX_START_MS / 10; i++) {
		char *text = fx_read(port_file);
		int port = atoi(text);
		free(text);
		if (port > 0)
			return port;
		if (waitpid(*pidp, NULL, WNOHANG) == *pidp)
			fail_msg("the fake LLM server exited");
		fx_sleep_ms(10);
	}
	fx_stop(*pidp);
	fail_msg("the fake LLM server did not start");
	return -1;
}

int fx_configure(tb_conn *conn, const char *yaml, tb_status *st)
{
	Testbus__V1__ValueMap *map = NULL;
	int rv = tb_value_map_from_yaml_string(yaml, strlen(yaml), "config", &map, st);
	if (rv != TB_OK)
		return rv;
	Testbus__V1__ComponentConfig cfg = TESTBUS__V1__COMPONENT_CONFIG__INIT;
	Testbus__V1__ComponentConfig__ConfigEntry *entries =
		calloc(map->n_fields + 1, sizeof(*entries));
	Testbus__V1__ComponentConfig__ConfigEntry **ptrs = calloc(map->n_fields + 1, sizeof(*ptrs));
	assert_non_null(entries);
	assert_non_null(ptrs);
	for (size_t i = 0; i < map->n_fields; i++) {
		testbus__v1__component_config__config_entry__init(&entries[i]);
		entries[i].key = map->fields[i]->key;
		entries[i].value = map->fields[i]->value;
		ptrs[i] = &entries[i];
	}
	cfg.config = ptrs;
	cfg.n_config = map->n_fields;
	Testbus__V1__Empty *out = NULL;
	rv = tb_component_configure(conn, &cfg, &out, NULL, st);
	if (out != NULL)
		protobuf_c_message_free_unpacked(&out->base, NULL);
	free(entries);
	free(ptrs);
	protobuf_c_message_free_unpacked(&map->base, NULL);
	return rv;
}
