/* The child-process runner: spawn in a new process group, pump output, stop the group. */
#include "process.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "process_internal.h"

extern char **environ;

#define PROCESS_READ_CHUNK 65536
#define PROCESS_LINE_MAX 4096
#define PROCESS_DRAIN_MS 1000u    /* reading what is left after the group is gone */
#define PROCESS_REAP_WAIT_MS 3000u /* waiting for the group to vanish after SIGKILL */

/* A log file, possibly shared by both streams. */
typedef struct process_file {
	int fd;
	uint64_t written;
	bool truncated;
} process_file;

/* One output stream: its pipe, file, tail ring and line buffer. */
typedef struct process_stream {
	int id;
	int fd;               /* read end of the pipe; -1 at EOF */
	process_file *file;   /* may be NULL */
	uint64_t total;
	char *tail;           /* ring of tail_cap bytes */
	size_t tail_cap, tail_pos;
	bool tail_wrapped;
	char line[PROCESS_LINE_MAX];
	size_t line_len;
} process_stream;

/* Everything one run holds. */
typedef struct process_run {
	const tb_process_opts *o;
	uint64_t max_file, grace_ms, poll_ms, linger_ms;
	process_file files[2];
	process_stream out, err;
	pid_t pid;
	int pidfd;
	bool leader_exited;
	int wait_status_code; /* si_code of the exit */
	int wait_status;
	uint64_t deadline;   /* monotonic ms; 0: none */
	uint64_t kill_at;    /* when SIGKILL follows SIGTERM; 0: not terminating */
	uint64_t give_up_at; /* after SIGKILL: when to stop waiting */
	uint64_t drain_until;
	uint64_t linger_until; /* leftovers of an exited leader may run until then */
	bool term_sent, kill_sent;
	tbc_process_guard guard; /* ends the group should this process die first */
	tb_process_result *res;
} process_run;

uint64_t tbc_process_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static int64_t process_wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* --- output --- */

static void process_file_write(process_stream *s, const char *buf, size_t len, uint64_t max)
{
	process_file *f = s->file;

	if (f == NULL || f->fd < 0 || f->truncated)
		return;
	if (f->written + len > max) {
		len = (size_t)(max - f->written);
		f->truncated = true;
	}
	while (len > 0) {
		ssize_t w = write(f->fd, buf, len);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			f->truncated = true;
			return;
		}
		f->written += (uint64_t)w;
		buf += w;
		len -= (size_t)w;
	}
}

static void process_tail_add(process_stream *s, const char *buf, size_t len)
{
	if (s->tail_cap == 0)
		return;
	if (len >= s->tail_cap) {
		memcpy(s->tail, buf + len - s->tail_cap, s->tail_cap);
		s->tail_pos = 0;
		s->tail_wrapped = true;
		return;
	}
	while (len > 0) {
		size_t n = s->tail_cap - s->tail_pos < len ? s->tail_cap - s->tail_pos : len;
		memcpy(s->tail + s->tail_pos, buf, n);
		s->tail_pos += n;
		buf += n;
		len -= n;
		if (s->tail_pos == s->tail_cap) {
			s->tail_pos = 0;
			s->tail_wrapped = true;
		}
	}
}

static void process_line_flush(process_run *r, process_stream *s)
{
	if (s->line_len > 0 && r->o->on_line != NULL)
		r->o->on_line(r->o->line_arg, s->id, s->line, s->line_len);
	s->line_len = 0;
}

static void process_lines_add(process_run *r, process_stream *s, const char *buf, size_t len)
{
	if (r->o->on_line == NULL)
		return;
	for (size_t i = 0; i < len; i++) {
		if (buf[i] == '\n') {
			if (s->line_len > 0 && s->line[s->line_len - 1] == '\r')
				s->line_len--;
			r->o->on_line(r->o->line_arg, s->id, s->line, s->line_len);
			s->line_len = 0;
			continue;
		}
		if (s->line_len == sizeof(s->line))
			process_line_flush(r, s);
		s->line[s->line_len++] = buf[i];
	}
}

/* Reads what one pipe has; closes it at EOF. */
static void process_pump(process_run *r, process_stream *s)
{
	char buf[PROCESS_READ_CHUNK];
	ssize_t n;

	if (s->fd < 0)
		return;
	do
		n = read(s->fd, buf, sizeof(buf));
	while (n < 0 && errno == EINTR);
	if (n < 0 && errno == EAGAIN)
		return;
	if (n <= 0) {
		close(s->fd);
		s->fd = -1;
		process_line_flush(r, s);
		return;
	}
	s->total += (uint64_t)n;
	process_file_write(s, buf, (size_t)n, r->max_file);
	process_tail_add(s, buf, (size_t)n);
	process_lines_add(r, s, buf, (size_t)n);
}

/* The tail as a NUL-terminated, valid UTF-8 heap string. */
static char *process_tail_take(process_stream *s)
{
	size_t len = s->tail_wrapped ? s->tail_cap : s->tail_pos, skip = 0;
	char *out = malloc(len + 1);

	if (out == NULL)
		return NULL;
	if (s->tail_wrapped) {
		memcpy(out, s->tail + s->tail_pos, s->tail_cap - s->tail_pos);
		memcpy(out + s->tail_cap - s->tail_pos, s->tail, s->tail_pos);
		while (skip < len && ((unsigned char)out[skip] & 0xC0) == 0x80)
			skip++;
		memmove(out, out + skip, len - skip);
		len -= skip;
	} else {
		memcpy(out, s->tail, len);
	}
	out[len] = '\0';
	tb_utf8_repair(out, len);
	return out;
}

/* --- setup --- */

static int process_open_file(process_run *r, int idx, const char *path, tb_status *st)
{
	r->files[idx].fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOCTTY, 0600);
	if (r->files[idx].fd < 0)
		return tbc_process_errno(st, errno, "cannot create log file", path);
	return TB_OK;
}

static int process_open_files(process_run *r, tb_status *st)
{
	const tb_process_opts *o = r->o;
	int rv = TB_OK;

	if (o->stdout_path != NULL && (rv = process_open_file(r, 0, o->stdout_path, st)) != TB_OK)
		return rv;
	r->out.file = o->stdout_path != NULL ? &r->files[0] : NULL;
	if (o->stderr_path != NULL && o->stdout_path != NULL &&
	    strcmp(o->stderr_path, o->stdout_path) == 0) {
		r->err.file = &r->files[0];
	} else if (o->stderr_path != NULL) {
		rv = process_open_file(r, 1, o->stderr_path, st);
		r->err.file = &r->files[1];
	}
	return rv;
}

static int process_streams_init(process_run *r, size_t tail, int *out_w, int *err_w,
                                tb_status *st)
{
	int out[2] = {-1, -1}, err[2] = {-1, -1};

	r->out.id = TB_PROCESS_STDOUT;
	r->err.id = TB_PROCESS_STDERR;
	r->out.tail_cap = r->err.tail_cap = tail;
	r->out.tail = malloc(tail);
	r->err.tail = malloc(tail);
	if (r->out.tail == NULL || r->err.tail == NULL)
		return tb_status_set(st, TB_RESOURCE_EXHAUSTED, "out of memory");
	if (pipe2(out, O_CLOEXEC) != 0 || pipe2(err, O_CLOEXEC) != 0) {
		int e = errno;
		if (out[0] >= 0) {
			close(out[0]);
			close(out[1]);
		}
		return tbc_process_errno(st, e, "cannot create pipes", NULL);
	}
	r->out.fd = out[0];
	r->err.fd = err[0];
	*out_w = out[1];
	*err_w = err[1];
	return TB_OK;
}

/* Spawns the child with the pipe write ends as stdout and stderr. */
static int process_spawn(process_run *r, int out_w, int err_w, tb_status *st)
{
	const tb_process_opts *o = r->o;
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t attr;
	sigset_t none, all;
	char *path = NULL;
	int rv, e;

	if ((rv = tbc_process_resolve(o->argv[0], o->env, &path, st)) != TB_OK)
		return rv;
	posix_spawn_file_actions_init(&fa);
	posix_spawnattr_init(&attr);
	sigemptyset(&none);
	sigfillset(&all);
	sigdelset(&all, SIGKILL);
	sigdelset(&all, SIGSTOP);
	posix_spawn_file_actions_addopen(&fa, 0, o->stdin_path ? o->stdin_path : "/dev/null",
	                                 O_RDONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, out_w, 1);
	posix_spawn_file_actions_adddup2(&fa, err_w, 2);
	if (o->cwd != NULL)
		posix_spawn_file_actions_addchdir_np(&fa, o->cwd);
	posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK |
	                                    POSIX_SPAWN_SETSIGDEF);
	posix_spawnattr_setpgroup(&attr, 0);
	posix_spawnattr_setsigmask(&attr, &none);
	posix_spawnattr_setsigdefault(&attr, &all);
	e = posix_spawn(&r->pid, path, &fa, &attr, (char *const *)o->argv,
	                o->env != NULL ? (char *const *)o->env : environ);
	if (e != 0)
		rv = tbc_process_errno(st, e, "cannot run", o->argv[0]);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&attr);
	free(path);
	return rv;
}

/* --- the wait loop --- */

static void process_signal_group(process_run *r, int sig)
{
	if (kill(-r->pid, sig) != 0 && errno == ESRCH && !r->leader_exited)
		kill(r->pid, sig);
}

/* Notes the leader's exit without reaping it, so its pid stays the group's. */
static void process_check_leader(process_run *r)
{
	siginfo_t si;

	if (r->leader_exited)
		return;
	memset(&si, 0, sizeof(si));
	if (waitid(P_PID, (id_t)r->pid, &si, WEXITED | WNOHANG | WNOWAIT) != 0) {
		if (errno == ECHILD) { /* reaped elsewhere (SIGCHLD ignored) */
			r->leader_exited = true;
			r->wait_status_code = -1;
		}
		return;
	}
	if (si.si_pid == r->pid) {
		r->leader_exited = true;
		r->wait_status_code = si.si_code;
		r->wait_status = si.si_status;
	}
}

static void process_terminate(process_run *r, uint64_t now)
{
	if (!r->term_sent) {
		r->term_sent = true;
		r->kill_at = now + r->grace_ms;
		process_signal_group(r, SIGTERM);
	} else if (!r->kill_sent && now >= r->kill_at) {
		r->kill_sent = true;
		r->res->killed = true;
		r->give_up_at = now + PROCESS_REAP_WAIT_MS;
		process_signal_group(r, SIGKILL);
	}
}

/* Decides what to do now; returns true when the run is over. */
static bool process_step(process_run *r, uint64_t now)
{
	const tb_process_opts *o = r->o;
	tb_process_result *res = r->res;

	if (!r->leader_exited && !res->timed_out && !res->stopped) {
		if (r->deadline != 0 && now >= r->deadline)
			res->timed_out = true;
		else if (o->should_stop != NULL && o->should_stop(o->stop_arg))
			res->stopped = true;
	}
	if ((res->timed_out || res->stopped) && !r->leader_exited)
		process_terminate(r, now);
	if (r->kill_sent && now >= r->give_up_at &&
	    (!r->leader_exited || tb_process_group_count(r->pid) > 0)) {
		res->survivors = true;
		return true;
	}
	if (!r->leader_exited)
		return false;
	if (tb_process_group_count(r->pid) > 0) {
		/* Background jobs the command left behind: a while to finish, then ended. */
		if (r->linger_until == 0)
			r->linger_until = now + r->linger_ms;
		if (now >= r->linger_until || r->term_sent || (r->deadline != 0 && now >= r->deadline) ||
		    (o->should_stop != NULL && o->should_stop(o->stop_arg)))
			process_terminate(r, now);
		return false;
	}
	if (r->drain_until == 0)
		r->drain_until = now + PROCESS_DRAIN_MS;
	return (r->out.fd < 0 && r->err.fd < 0) || now >= r->drain_until;
}

static int process_poll_timeout(process_run *r, uint64_t now)
{
	uint64_t t = r->poll_ms;

	if (r->deadline != 0 && !r->term_sent && r->deadline > now && r->deadline - now < t)
		t = r->deadline - now;
	if (r->term_sent && !r->kill_sent && r->kill_at > now && r->kill_at - now < t)
		t = r->kill_at - now;
	if (r->leader_exited && t > 20)
		t = 20; /* waiting for the group to vanish: /proc has no event */
	return (int)t;
}

static void process_loop(process_run *r)
{
	for (;;) {
		struct pollfd pfd[3];
		nfds_t n = 0;
		uint64_t now = tbc_process_now_ms();

		process_check_leader(r);
		if (process_step(r, now))
			break;
		if (r->out.fd >= 0)
			pfd[n++] = (struct pollfd){.fd = r->out.fd, .events = POLLIN};
		if (r->err.fd >= 0)
			pfd[n++] = (struct pollfd){.fd = r->err.fd, .events = POLLIN};
		if (r->pidfd >= 0 && !r->leader_exited)
			pfd[n++] = (struct pollfd){.fd = r->pidfd, .events = POLLIN};
		if (poll(pfd, n, process_poll_timeout(r, now)) <= 0)
			continue;
		for (nfds_t i = 0; i < n; i++) {
			if (pfd[i].revents == 0 || pfd[i].fd == r->pidfd)
				continue;
			process_pump(r, pfd[i].fd == r->out.fd ? &r->out : &r->err);
		}
	}
}

/* Reaps the leader and records how it ended. */
static void process_finish(process_run *r)
{
	tb_process_result *res = r->res;
	int status;

	while (waitpid(r->pid, &status, r->leader_exited ? 0 : WNOHANG) < 0 && errno == EINTR)
		;
	res->exit_code = -1;
	if (r->wait_status_code == CLD_EXITED)
		res->exit_code = r->wait_status;
	else if (r->wait_status_code == CLD_KILLED || r->wait_status_code == CLD_DUMPED)
		res->term_signal = r->wait_status;
	for (int i = 0; i < 2; i++) {
		process_file *f = &r->files[i];
		if (f->fd >= 0 && f->truncated) {
			char note[96];
			int len = snprintf(note, sizeof(note), "\n[output truncated at %llu bytes]\n",
			                   (unsigned long long)f->written);
			if (write(f->fd, note, (size_t)len) < 0)
				f->truncated = true;
		}
	}
	res->stdout_bytes = r->out.total;
	res->stderr_bytes = r->err.total;
	res->stdout_truncated = r->out.file != NULL && r->out.file->truncated;
	res->stderr_truncated = r->err.file != NULL && r->err.file->truncated;
	res->stdout_tail = process_tail_take(&r->out);
	res->stderr_tail = process_tail_take(&r->err);
	res->end_ms = process_wall_ms();
}

static void process_run_fini(process_run *r)
{
	if (r->out.fd >= 0)
		close(r->out.fd);
	if (r->err.fd >= 0)
		close(r->err.fd);
	for (int i = 0; i < 2; i++)
		if (r->files[i].fd >= 0)
			close(r->files[i].fd);
	if (r->pidfd >= 0)
		close(r->pidfd);
	tbc_process_guard_stop(&r->guard);
	free(r->out.tail);
	free(r->err.tail);
}

static void process_defaults(process_run *r, const tb_process_opts *o)
{
	r->o = o;
	r->max_file = o->max_file_bytes ? o->max_file_bytes : TB_PROCESS_DEFAULT_MAX_FILE;
	r->grace_ms = o->grace_ms ? o->grace_ms : TB_PROCESS_DEFAULT_GRACE_MS;
	r->poll_ms = o->poll_ms ? o->poll_ms : TB_PROCESS_DEFAULT_POLL_MS;
	r->linger_ms = o->linger_ms ? o->linger_ms : TB_PROCESS_DEFAULT_LINGER_MS;
	r->out.fd = r->err.fd = r->pidfd = -1;
	r->files[0].fd = r->files[1].fd = -1;
}

int tb_process_run(const tb_process_opts *o, tb_process_result *res, tb_status *st)
{
	process_run r = {0};
	int out_w = -1, err_w = -1, rv;

	if (res == NULL)
		return tb_status_set(st, TB_INVALID_ARGUMENT, "no result");
	memset(res, 0, sizeof(*res));
	if (o == NULL || o->argv == NULL || o->argv[0] == NULL || o->argv[0][0] == '\0')
		return tb_status_set(st, TB_INVALID_ARGUMENT, "no command to run");
	process_defaults(&r, o);
	r.res = res;
	if ((rv = tbc_process_check_cwd(o->cwd, st)) != TB_OK)
		goto out;
	/* Forked before the pipes exist, so the guard never holds their write ends. */
	if ((rv = tbc_process_guard_start(&r.guard, (uint32_t)r.grace_ms, st)) != TB_OK)
		goto out;
	if ((rv = process_streams_init(&r, o->tail_bytes ? o->tail_bytes : TB_PROCESS_DEFAULT_TAIL,
	                               &out_w, &err_w, st)) != TB_OK)
		goto out;
	if ((rv = process_open_files(&r, st)) == TB_OK) {
		res->start_ms = process_wall_ms();
		rv = process_spawn(&r, out_w, err_w, st);
	}
	close(out_w);
	close(err_w);
	if (rv != TB_OK)
		goto out;
	/* Only a death of this process within these few instructions escapes the guard. */
	tbc_process_guard_arm(&r.guard, r.pid);
	res->pid = r.pid;
#ifdef SYS_pidfd_open
	r.pidfd = (int)syscall(SYS_pidfd_open, r.pid, 0);
#endif
	if (o->timeout_ms != 0)
		r.deadline = tbc_process_now_ms() + o->timeout_ms;
	process_loop(&r);
	tbc_process_guard_stop(&r.guard); /* the run is over; before its leader is reaped */
	process_finish(&r);
	if (res->stdout_tail == NULL || res->stderr_tail == NULL)
		tb_status_set(st, TB_OK, "tails lost: out of memory");
out:
	process_run_fini(&r);
	if (rv != TB_OK)
		memset(res, 0, sizeof(*res));
	return rv;
}

void tb_process_result_fini(tb_process_result *res)
{
	if (res == NULL)
		return;
	free(res->stdout_tail);
	free(res->stderr_tail);
	memset(res, 0, sizeof(*res));
}
