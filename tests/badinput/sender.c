/* Oversized raw requests sent from a child process, so a caller NNG leaves hanging is only reported. */
#include "sender.h"

#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "table.h"

extern char **environ;

/* Beyond the child's own receive bound, and then its close. */
#define SENDER_WAIT_MS 45000
#define SENDER_LINE_MAX 512
#define SENDER_CLOSED "closed\n"

static const char *sender_arg(const char *s)
{
	return s != NULL ? s : "-";
}

static const char *sender_opt(const char *s)
{
	return strcmp(s, "-") == 0 ? NULL : s;
}

int sender_main(int argc, char **argv)
{
	if (argc != 8) {
		fprintf(stderr, "usage: %s URL SIZE CA CERT KEY SERVER_NAME ('-' for none)\n",
		        SENDER_ARG);
		return 2;
	}
	struct raw_tls tls = {sender_opt(argv[4]), sender_opt(argv[5]), sender_opt(argv[6]),
	                      sender_opt(argv[7])};
	bool use_tls = tls.ca_file || tls.cert_file || tls.server_name;
	size_t size = strtoul(argv[3], NULL, 10);
	void *zeros = calloc(1, size ? size : 1);
	struct raw_conn conn;
	struct raw_result r;
	if (zeros == NULL)
		return 1;
	raw_send(&conn, argv[2], use_tls ? &tls : NULL, zeros, size, &r);
	free(zeros);
	/* What was seen first, then whether NNG let go of the socket. */
	printf("%d %d %d %s\n", (int)r.outcome, r.nng_error, r.code, r.message);
	fflush(stdout);
	raw_conn_close(&conn);
	fputs(SENDER_CLOSED, stdout);
	fflush(stdout);
	return 0;
}

/*
 * The environment of the child. A sanitizer build would report what NNG 1.5.2
 * keeps of a socket whose pipe was dropped mid-send; that is NNG's, and the
 * child exists to be that caller, so its leak report is turned off.
 */
static char **sender_environ(void)
{
	static char *env[256];
	static char no_leaks[] = "ASAN_OPTIONS=detect_leaks=0";
	size_t n = 0;
	for (char **e = environ; *e != NULL && n + 2 < sizeof(env) / sizeof(env[0]); e++) {
		if (strncmp(*e, "ASAN_OPTIONS=", 13) != 0)
			env[n++] = *e;
	}
	env[n++] = no_leaks;
	env[n] = NULL;
	return env;
}

/* Reads the child's output until it ends or the wait is over. */
static void sender_read(int fd, char *buf, size_t size)
{
	size_t used = 0;
	struct timespec start, now;
	clock_gettime(CLOCK_MONOTONIC, &start);
	buf[0] = '\0';
	for (;;) {
		clock_gettime(CLOCK_MONOTONIC, &now);
		long waited = (now.tv_sec - start.tv_sec) * 1000 + (now.tv_nsec - start.tv_nsec) / 1000000;
		if (waited >= SENDER_WAIT_MS || used + 1 >= size)
			return;
		struct pollfd pfd = {.fd = fd, .events = POLLIN};
		int n = poll(&pfd, 1, (int)(SENDER_WAIT_MS - waited));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return;
		ssize_t got = read(fd, buf + used, size - used - 1);
		if (got <= 0)
			return;
		used += (size_t)got;
		buf[used] = '\0';
	}
}

static void sender_parse(const char *text, struct raw_result *out)
{
	int outcome = 0, consumed = 0;
	memset(out, 0, sizeof(*out));
	if (sscanf(text, "%d %d %d %n", &outcome, &out->nng_error, &out->code, &consumed) < 3 ||
	    outcome < RAW_ANSWERED || outcome > RAW_BAD_ANSWER) {
		out->outcome = RAW_BAD_ANSWER;
		cell_printf(out->message, sizeof(out->message), "the sending process said nothing");
		return;
	}
	out->outcome = (enum raw_outcome)outcome;
	size_t len = strcspn(text + consumed, "\n");
	cell_printf(out->message, sizeof(out->message), "%.*s", (int)len, text + consumed);
}

void sender_send_zeros(const char *url, const struct raw_tls *tls, size_t size,
                       struct raw_result *out, bool *hungp)
{
	static const struct raw_tls none = {0};
	char self[PATH_MAX], size_text[32], output[SENDER_LINE_MAX];
	int fds[2];
	pid_t pid;
	posix_spawn_file_actions_t actions;
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	*hungp = false;
	if (tls == NULL)
		tls = &none;
	if (n <= 0 || pipe(fds) != 0) {
		sender_parse("", out);
		return;
	}
	self[n] = '\0';
	snprintf(size_text, sizeof(size_text), "%zu", size);
	char *argv[] = {self, SENDER_ARG, (char *)url, size_text,
	                (char *)sender_arg(tls->ca_file), (char *)sender_arg(tls->cert_file),
	                (char *)sender_arg(tls->key_file), (char *)sender_arg(tls->server_name),
	                NULL};
	posix_spawn_file_actions_init(&actions);
	posix_spawn_file_actions_adddup2(&actions, fds[1], STDOUT_FILENO);
	posix_spawn_file_actions_addclose(&actions, fds[0]);
	int rv = posix_spawn(&pid, self, &actions, NULL, argv, sender_environ());
	posix_spawn_file_actions_destroy(&actions);
	close(fds[1]);
	if (rv != 0) {
		close(fds[0]);
		sender_parse("", out);
		return;
	}
	sender_read(fds[0], output, sizeof(output));
	close(fds[0]);
	sender_parse(output, out);
	if (strstr(output, SENDER_CLOSED) == NULL) {
		*hungp = true;
		kill(pid, SIGKILL);
	}
	waitpid(pid, NULL, 0);
}
