/* Starting the benchmark's server process and learning where it listens. */
#include <fcntl.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench.h"

extern char **environ;

#define CHILD_LINE_MAX 512

/* Files the server process may leave in its dir. */
static const char *const child_files[] = {"testbus.ipc", "raw-small.ipc", "raw-large.ipc"};

static int child_transport(const char *name)
{
	for (int t = 0; t < BENCH_N_TRANSPORTS; t++) {
		if (strcmp(name, bench_transport_name((enum bench_transport)t)) == 0)
			return t;
	}
	return -1;
}

/* Records one "endpoint <side> <transport> <payload> <url>" line. */
static int child_endpoint(const char *line, struct bench_endpoints *ep)
{
	char side[16], tr[16], pl[16], url[BENCH_URL_MAX];
	if (sscanf(line, "endpoint %15s %15s %15s %299s", side, tr, pl, url) != 4)
		return -1;
	int t = child_transport(tr);
	enum bench_payload p = bench_payload_from_name(pl);
	if (t < 0)
		return -1;
	if (strcmp(side, "testbus") == 0)
		snprintf(ep->testbus[t], BENCH_URL_MAX, "%s", url);
	else if (strcmp(side, "raw") == 0 && p != BENCH_N_PAYLOADS)
		snprintf(ep->raw[t][p], BENCH_URL_MAX, "%s", url);
	else
		return -1;
	return 0;
}

/* Reads the child's endpoint lines up to "ready". */
static int child_read_endpoints(struct bench_child *c, struct bench_endpoints *ep)
{
	char line[CHILD_LINE_MAX];
	while (fgets(line, sizeof(line), c->from_child) != NULL) {
		if (strcmp(line, "ready\n") == 0)
			return 0;
		if (child_endpoint(line, ep) != 0) {
			fprintf(stderr, "bench: unexpected line from the server: %s", line);
			return -1;
		}
	}
	fprintf(stderr, "bench: the server process ended before it was ready\n");
	return -1;
}

static int child_spawn(struct bench_child *c, int in[2], int out[2])
{
	char self[4096];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	posix_spawn_file_actions_t fa;
	int rv = -1;
	if (n <= 0)
		return -1;
	self[n] = '\0';
	char *argv[] = {self, "--serve", c->dir, NULL};
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, in[0], STDIN_FILENO);
	posix_spawn_file_actions_adddup2(&fa, out[1], STDOUT_FILENO);
	if (posix_spawn(&c->pid, self, &fa, NULL, argv, environ) == 0)
		rv = 0;
	else
		c->pid = 0;
	posix_spawn_file_actions_destroy(&fa);
	return rv;
}

int bench_child_start(struct bench_child *c, struct bench_endpoints *ep)
{
	int in[2] = {-1, -1}, out[2] = {-1, -1};
	int rv = -1;
	memset(c, 0, sizeof(*c));
	memset(ep, 0, sizeof(*ep));
	c->to_child = -1;
	snprintf(c->dir, sizeof(c->dir), "/tmp/testbus-bench-XXXXXX");
	if (mkdtemp(c->dir) == NULL) {
		c->dir[0] = '\0';
		perror("bench: mkdtemp");
		goto out;
	}
	if (pipe2(in, O_CLOEXEC) != 0 || pipe2(out, O_CLOEXEC) != 0) {
		perror("bench: pipe");
		goto out;
	}
	if (child_spawn(c, in, out) != 0) {
		perror("bench: cannot start the server process");
		goto out;
	}
	c->to_child = in[1];
	in[1] = -1;
	c->from_child = fdopen(out[0], "r");
	if (c->from_child == NULL)
		goto out;
	out[0] = -1;
	close(out[1]); /* so that the child's death reads as end of file */
	out[1] = -1;
	rv = child_read_endpoints(c, ep);
out:
	for (int i = 0; i < 2; i++) {
		if (in[i] >= 0)
			close(in[i]);
		if (out[i] >= 0)
			close(out[i]);
	}
	if (rv != 0)
		bench_child_stop(c);
	return rv;
}

void bench_child_stop(struct bench_child *c)
{
	if (c->to_child >= 0)
		close(c->to_child);
	c->to_child = -1;
	if (c->pid > 0)
		waitpid(c->pid, NULL, 0);
	c->pid = 0;
	if (c->from_child != NULL)
		fclose(c->from_child);
	c->from_child = NULL;
	if (c->dir[0] != '\0') {
		char path[sizeof(c->dir) + 32];
		for (size_t i = 0; i < sizeof(child_files) / sizeof(child_files[0]); i++) {
			snprintf(path, sizeof(path), "%s/%s", c->dir, child_files[i]);
			unlink(path);
		}
		rmdir(c->dir);
	}
	c->dir[0] = '\0';
}
