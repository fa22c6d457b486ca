/* A shipped component started as a process: its URL, liveness, memory and exit. */
#ifndef TESTBUS_TEST_BADINPUT_COMPONENT_PROC_H
#define TESTBUS_TEST_BADINPUT_COMPONENT_PROC_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct component_proc {
	pid_t pid;      /* 0 when not running */
	char url[512];  /* the URL it serves */
	char log[512];  /* the file its stderr goes to */
	bool reaped;    /* waitpid has collected it */
	int wait_status; /* valid once reaped */
};

/*
 * Starts argv[0] (an absolute path) with stderr into log_path and waits until
 * it says "serving ... on URL", which gives the bound URL (port 0 resolved).
 * When url is not NULL the component does not announce itself: url is taken
 * as is and no wait happens. Blocks up to a bound; on failure returns -1 with
 * the reason in err (and the process stopped).
 */
int component_proc_start(struct component_proc *p, char *const argv[], const char *url,
                         const char *log_path, char *err, size_t err_size);

/* True while the process runs (it has not exited or been killed). */
bool component_proc_alive(struct component_proc *p);

/* Resident memory of the process in KiB (VmRSS), or -1 when unreadable. */
long component_proc_rss_kb(const struct component_proc *p);

/*
 * Sends SIGTERM and waits for the exit; SIGKILL after a bound. Returns the
 * exit code, or -1 when it did not exit by itself with a code (a signal, a
 * sanitizer abort shows as a code). Safe on a stopped or never started one.
 */
int component_proc_stop(struct component_proc *p);

/* True when the process's log holds a line starting with prefix. */
bool component_proc_log_has(const struct component_proc *p, const char *prefix);

/* How a stopped process ended, e.g. "exit 0" or "signal 6", into buf. */
void component_proc_end_text(const struct component_proc *p, char *buf, size_t size);

#endif
