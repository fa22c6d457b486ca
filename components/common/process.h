/* Running a child command in its own process group, bounded in time and output. */
#ifndef TESTBUS_COMMON_PROCESS_H
#define TESTBUS_COMMON_PROCESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "testbus/status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Which output stream a line came from. */
enum tb_process_stream {
	TB_PROCESS_STDOUT = 1,
	TB_PROCESS_STDERR = 2,
};

/*
 * Called for each complete output line (without its newline; a line longer
 * than the line buffer, 4 KiB, arrives in pieces). line is borrowed and valid
 * only during the call. Runs on the thread that called tb_process_run.
 */
typedef void (*tb_process_line_fn)(void *arg, int stream, const char *line, size_t len);

/*
 * Polled while the child runs (every poll_ms); returning true stops the child
 * as a timeout does. tb_call_stopped() fits, through a small wrapper.
 */
typedef bool (*tb_process_stop_fn)(void *arg);

/* Defaults used when the matching option is 0. */
#define TB_PROCESS_DEFAULT_MAX_FILE (64ull * 1024 * 1024)
#define TB_PROCESS_DEFAULT_TAIL (16u * 1024)
#define TB_PROCESS_DEFAULT_GRACE_MS 5000u
#define TB_PROCESS_DEFAULT_POLL_MS 100u
#define TB_PROCESS_DEFAULT_LINGER_MS 2000u

typedef struct tb_process_opts {
	/*
	 * The command, NULL-terminated; required. argv[0] without a '/' is
	 * searched in the PATH of env (or of the caller when env has none).
	 */
	const char *const *argv;
	/* The whole environment, NULL-terminated "NAME=value"; NULL: the caller's. */
	const char *const *env;
	const char *cwd;             /* working folder; NULL: the caller's */
	const char *stdin_path;      /* file read as stdin; NULL: /dev/null */
	/*
	 * Files receiving stdout and stderr, created (mode 0600) or truncated;
	 * NULL: not kept. They may name the same file (one shared cap).
	 */
	const char *stdout_path;
	const char *stderr_path;
	uint64_t max_file_bytes;     /* cap per file; output past it is counted, not written */
	size_t tail_bytes;           /* size of the in-memory tail kept per stream */
	uint32_t timeout_ms;         /* 0: no time limit (the stop callback still applies) */
	uint32_t grace_ms;           /* from SIGTERM to SIGKILL */
	/*
	 * After the child exits, how long what it left in its group may run on
	 * (e.g. a report writer finishing) before SIGTERM.
	 */
	uint32_t linger_ms;
	uint32_t poll_ms;            /* how often should_stop is polled */
	tb_process_line_fn on_line;  /* may be NULL */
	void *line_arg;
	tb_process_stop_fn should_stop; /* may be NULL */
	void *stop_arg;
} tb_process_opts;

/* How a run ended. Embedded; release with tb_process_result_fini(). */
typedef struct tb_process_result {
	pid_t pid;                   /* the child, also its process group id */
	int exit_code;               /* exit status; -1 when ended by a signal */
	int term_signal;             /* the signal that ended it; 0 when it exited */
	bool timed_out;              /* stopped because timeout_ms passed */
	bool stopped;                /* stopped because should_stop returned true */
	bool killed;                 /* SIGKILL had to be sent to the group */
	/*
	 * Processes of the group were still alive after SIGKILL and the wait that
	 * follows it. Never expected; reported rather than hidden.
	 */
	bool survivors;
	uint64_t stdout_bytes;       /* bytes the child wrote, kept or not */
	uint64_t stderr_bytes;
	bool stdout_truncated;       /* the file cap was hit */
	bool stderr_truncated;
	/* The last tail_bytes of each stream, NUL-terminated, valid UTF-8 ('?' replaces bad bytes). */
	char *stdout_tail;
	char *stderr_tail;
	int64_t start_ms;            /* Unix time in ms */
	int64_t end_ms;
} tb_process_result;

/*
 * Runs opts->argv to completion and fills *res. The child gets its own
 * process group, default signal handling and an empty signal mask; its
 * stdout and stderr go through pipes to the files and the tails.
 *
 * On timeout or when should_stop returns true the whole group gets SIGTERM,
 * then SIGKILL after grace_ms. After the child itself has exited, any process
 * still in its group (a background job it started) gets linger_ms to end on
 * its own and is then ended the same way, so no process of the group
 * survives the call (a process that left the group
 * with setsid or setpgid is out of reach). Blocks until then.
 *
 * Should the calling process die during the call (SIGKILL, a crash), a guard
 * process forked for the call ends the group the same way (SIGTERM, SIGKILL
 * after grace_ms) and exits; on every other path the call reaps the guard
 * before returning, so it never outlives the run.
 *
 * Returns TB_OK whenever the child ran, whatever its exit status; TB_NOT_FOUND
 * or TB_PERMISSION_DENIED when it could not be started, TB_INVALID_ARGUMENT
 * for a bad argument, TB_INTERNAL on a system failure; st (may be NULL) says
 * why. Safe to call from many threads at once. On TB_OK the caller owns the
 * tails in *res; free with tb_process_result_fini(). On error *res is zeroed.
 */
int tb_process_run(const tb_process_opts *opts, tb_process_result *res, tb_status *st);

/* Frees what *res holds and zeroes it. Safe on a zeroed result; res may be NULL. */
void tb_process_result_fini(tb_process_result *res);

/*
 * The number of live (non-zombie) processes whose process group is pgid,
 * read from /proc; -1 when /proc cannot be read. For tests and checks.
 */
int tb_process_group_count(pid_t pgid);

/*
 * A copy of env (NULL: the caller's environment) with each "NAME=value" of
 * set replacing or adding the variable NAME, and each bare "NAME" of set
 * removing it. Caller owns the NULL-terminated array and its strings; free
 * with tb_process_env_free(). Returns TB_OK or TB_RESOURCE_EXHAUSTED.
 */
int tb_process_env_build(const char *const *env, const char *const *set, size_t n_set,
                         char ***envp);

/* Frees an array made by tb_process_env_build. env may be NULL. */
void tb_process_env_free(char **env);

/*
 * Replaces, in place, every byte of s[0..len) that is not part of a valid
 * UTF-8 sequence, and every NUL, with '?': child output may be any bytes,
 * protobuf strings must be UTF-8. Returns the number of bytes replaced.
 */
size_t tb_utf8_repair(char *s, size_t len);

#ifdef __cplusplus
}
#endif

#endif
