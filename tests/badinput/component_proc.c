/* A shipped component started as a process: its URL, liveness, memory and exit. */
#include "component_proc.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

/* Bounds on waiting, generous for a sanitizer build on a busy machine. */
#define PROC_START_WAIT_MS 60000
#define PROC_STOP_WAIT_MS 30000
#define PROC_POLL_MS 20

static void proc_sleep_ms(long ms)
{
	struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L};
	nanosleep(&ts, NULL);
}

/* Looks for the URL after " on " in the "serving" line of the log. */
static bool proc_read_url(const char *log_path, char *url, size_t size)
{
	FILE *f = fopen(log_path, "r");
	char line[1024];
	bool found = false;
	if (f == NULL)
		return false;
	while (!found && fgets(line, sizeof(line), f) != NULL) {
		const char *serving = strstr(line, ": serving ");
		const char *on = serving ? strstr(serving, " on ") : NULL;
		if (on == NULL || strchr(line, '\n') == NULL)
			continue;
		on += 4;
		size_t n = strcspn(on, " \n");
		if (n == 0 || n >= size)
			continue;
		memcpy(url, on, n);
		url[n] = '\0';
		found = true;
	}
	fclose(f);
	return found;
}

bool component_proc_alive(struct component_proc *p)
{
	if (p->pid <= 0 || p->reaped)
		return false;
	pid_t got = waitpid(p->pid, &p->wait_status, WNOHANG);
	if (got == p->pid)
		p->reaped = true;
	return !p->reaped;
}

int component_proc_start(struct component_proc *p, char *const argv[], const char *url,
                         const char *log_path, char *err, size_t err_size)
{
	posix_spawn_file_actions_t actions;
	int rv;
	memset(p, 0, sizeof(*p));
	snprintf(p->log, sizeof(p->log), "%s", log_path);
	posix_spawn_file_actions_init(&actions);
	posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, log_path,
	                                 O_WRONLY | O_CREAT | O_TRUNC, 0600);
	rv = posix_spawn(&p->pid, argv[0], &actions, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&actions);
	if (rv != 0) {
		p->pid = 0;
		snprintf(err, err_size, "cannot start %s: %s", argv[0], strerror(rv));
		return -1;
	}
	if (url != NULL) {
		snprintf(p->url, sizeof(p->url), "%s", url);
		return 0;
	}
	for (long waited = 0; waited < PROC_START_WAIT_MS; waited += PROC_POLL_MS) {
		if (proc_read_url(log_path, p->url, sizeof(p->url)))
			return 0;
		if (!component_proc_alive(p)) {
			snprintf(err, err_size, "%s exited before serving (see %s)", argv[0], log_path);
			return -1;
		}
		proc_sleep_ms(PROC_POLL_MS);
	}
	snprintf(err, err_size, "%s did not say where it serves (see %s)", argv[0], log_path);
	component_proc_stop(p);
	return -1;
}

long component_proc_rss_kb(const struct component_proc *p)
{
	char path[64], line[256];
	long kb = -1;
	snprintf(path, sizeof(path), "/proc/%d/status", (int)p->pid);
	FILE *f = fopen(path, "r");
	if (f == NULL)
		return -1;
	while (fgets(line, sizeof(line), f) != NULL) {
		if (sscanf(line, "VmRSS: %ld kB", &kb) == 1)
			break;
	}
	fclose(f);
	return kb;
}

int component_proc_stop(struct component_proc *p)
{
	if (p->pid <= 0)
		return -1;
	if (!p->reaped) {
		kill(p->pid, SIGTERM);
		for (long waited = 0; component_proc_alive(p); waited += PROC_POLL_MS) {
			if (waited >= PROC_STOP_WAIT_MS) {
				kill(p->pid, SIGKILL);
				waitpid(p->pid, &p->wait_status, 0);
				p->reaped = true;
				break;
			}
			proc_sleep_ms(PROC_POLL_MS);
		}
	}
	return WIFEXITED(p->wait_status) ? WEXITSTATUS(p->wait_status) : -1;
}

bool component_proc_log_has(const struct component_proc *p, const char *prefix)
{
	FILE *f = fopen(p->log, "r");
	char line[512];
	bool found = false;
	if (f == NULL)
		return false;
	while (!found && fgets(line, sizeof(line), f) != NULL)
		found = strncmp(line, prefix, strlen(prefix)) == 0;
	fclose(f);
	return found;
}

void component_proc_end_text(const struct component_proc *p, char *buf, size_t size)
{
	if (!p->reaped)
		snprintf(buf, size, "not stopped");
	else if (WIFEXITED(p->wait_status))
		snprintf(buf, size, "exit %d", WEXITSTATUS(p->wait_status));
	else
		snprintf(buf, size, "signal %d", WTERMSIG(p->wait_status));
}
