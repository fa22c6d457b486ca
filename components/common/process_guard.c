/* The process guard: ends a child's process group when the process that runs it dies. */
#include "process_internal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/*
 * The guard is a forked copy of the runner's process that holds one end of
 * a socket pair, the lifeline; only the runner holds the other end (close on
 * exec, so no child keeps it, and other guards close every other descriptor
 * as soon as they start). The runner sends the group id once the child
 * runs (arming the guard), then one byte when the group is over (releasing
 * it). End of file on an armed lifeline means the runner died without
 * releasing it, however it died (SIGKILL included): the guard then sends the
 * group SIGTERM, SIGKILL after the grace, and exits.
 *
 * Between fork and _exit the guard runs in a copy of a multithreaded process,
 * so it calls only async-signal-safe functions: no malloc, no stdio, no locks.
 */

#define GUARD_FD 3              /* where the guard keeps its end of the lifeline */
#define GUARD_POLL_NS 20000000L /* 20 ms between checks that the group is gone */

static uint64_t guard_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* Reads exactly len bytes; false on end of file or error. */
static bool guard_read_full(int fd, void *buf, size_t len)
{
	char *p = buf;

	while (len > 0) {
		ssize_t n = read(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return false;
		p += n;
		len -= (size_t)n;
	}
	return true;
}

/* Formats n in decimal into buf (at least 12 bytes); returns the length. */
static size_t guard_itoa(char *buf, int32_t n)
{
	char rev[12];
	size_t len = 0, out = 0;
	uint32_t u = n < 0 ? 0u - (uint32_t)n : (uint32_t)n;

	do
		rev[len++] = (char)('0' + u % 10);
	while ((u /= 10) != 0);
	if (n < 0)
		buf[out++] = '-';
	while (len > 0)
		buf[out++] = rev[--len];
	return out;
}

/* One line to stderr saying what the guard does, for the component's log. */
static void guard_announce(int32_t pgid)
{
	static const char head[] = "testbus process guard: the runner of process group ";
	static const char tail[] = " died; ending the group\n";
	char line[sizeof(head) + sizeof(tail) + 12];
	size_t len = 0;

	memcpy(line, head, sizeof(head) - 1);
	len += sizeof(head) - 1;
	len += guard_itoa(line + len, pgid);
	memcpy(line + len, tail, sizeof(tail) - 1);
	len += sizeof(tail) - 1;
	if (write(STDERR_FILENO, line, len) < 0)
		return; /* nowhere else to say it */
}

/* Parses the decimal number at *p (after spaces) into *val and moves *p past it. */
static bool guard_parse_long(const char **p, long *val)
{
	const char *s = *p;
	long v = 0;
	bool neg = false;

	while (*s == ' ')
		s++;
	if (*s == '-')
		neg = true, s++;
	if (*s < '0' || *s > '9')
		return false;
	while (*s >= '0' && *s <= '9')
		v = v * 10 + (*s++ - '0');
	*val = neg ? -v : v;
	*p = s;
	return true;
}

/* True when /proc/<pid>/stat shows a live (not zombie) process of group pgid. */
static bool guard_pid_live_in(const char *pid, pid_t pgid)
{
	static const char head[] = "/proc/", tail[] = "/stat";
	char path[sizeof(head) + sizeof(tail) + 24], buf[512];
	size_t len = strlen(pid);
	const char *p = NULL;
	long ppid, pgrp;
	ssize_t n;
	int fd;

	if (len > 20)
		return false;
	memcpy(path, head, sizeof(head) - 1);
	memcpy(path + sizeof(head) - 1, pid, len);
	memcpy(path + sizeof(head) - 1 + len, tail, sizeof(tail));
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return false;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return false;
	buf[n] = '\0';
	/* "pid (comm) state ppid pgrp ...": comm may hold spaces and parentheses. */
	for (ssize_t i = n - 1; i >= 0 && p == NULL; i--)
		if (buf[i] == ')')
			p = buf + i + 1;
	if (p == NULL || p[0] != ' ' || p[1] == 'Z' || p[1] == 'X' || p[1] == 'x')
		return false;
	p += 2;
	return guard_parse_long(&p, &ppid) && guard_parse_long(&p, &pgrp) && pgrp == (long)pgid;
}

/*
 * True while a live process of group pgid exists. Zombies do not count: the
 * leader's, now a child of init, may never be reaped where init does not reap.
 * Read from /proc with system calls only; without /proc, any member counts.
 */
static bool guard_group_alive(pid_t pgid)
{
	_Alignas(struct dirent64) char buf[4096];
	bool alive = false;
	ssize_t n;
	int dir;

	if (kill(-pgid, 0) != 0 && errno == ESRCH)
		return false;
	if ((dir = open("/proc", O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		return true;
	while (!alive && (n = getdents64(dir, buf, sizeof(buf))) > 0) {
		for (ssize_t off = 0; off < n && !alive;) {
			struct dirent64 *de = (struct dirent64 *)(void *)(buf + off);
			off += de->d_reclen;
			if (de->d_name[0] >= '1' && de->d_name[0] <= '9')
				alive = guard_pid_live_in(de->d_name, pgid);
		}
	}
	close(dir);
	return alive;
}

/* SIGTERM to the group, SIGKILL after grace_ms unless it is gone by then. */
static void guard_end_group(pid_t pgid, uint32_t grace_ms)
{
	struct timespec pause = {0, GUARD_POLL_NS};
	uint64_t kill_at = guard_now_ms() + grace_ms;

	if (!guard_group_alive(pgid))
		return; /* ended already: its id may not be the group's any more */
	guard_announce((int32_t)pgid);
	kill(-pgid, SIGTERM);
	while (guard_group_alive(pgid) && guard_now_ms() < kill_at)
		nanosleep(&pause, NULL);
	/* A group id is not reused while a member lives: checking just before keeps it ours. */
	if (guard_group_alive(pgid))
		kill(-pgid, SIGKILL);
}

/* Keeps only stderr and the lifeline (at GUARD_FD); stdin and stdout become /dev/null. */
static void guard_close_fds(int lifeline)
{
	int null_fd;

	if (lifeline != GUARD_FD)
		dup2(lifeline, GUARD_FD);
	if (close_range(GUARD_FD + 1, ~0u, 0) != 0) {
		for (int fd = GUARD_FD + 1; fd < 65536; fd++)
			close(fd);
	}
	if ((null_fd = open("/dev/null", O_RDWR)) < 0)
		return;
	dup2(null_fd, STDIN_FILENO);
	dup2(null_fd, STDOUT_FILENO);
	if (null_fd > STDERR_FILENO && null_fd != GUARD_FD)
		close(null_fd);
}

/* The guard process, entered right after fork with every signal blocked. */
static _Noreturn void guard_main(int lifeline, uint32_t grace_ms)
{
	struct sigaction dfl;
	sigset_t none;
	int32_t pgid;
	char released;

	/* Out of the runner's group, so a signal to that group does not end the guard too. */
	setpgid(0, 0);
	memset(&dfl, 0, sizeof(dfl));
	dfl.sa_handler = SIG_DFL;
	for (int sig = 1; sig < NSIG; sig++)
		if (sig != SIGKILL && sig != SIGSTOP)
			sigaction(sig, &dfl, NULL); /* the runner's handlers must not run here */
	guard_close_fds(lifeline);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	if (!guard_read_full(GUARD_FD, &pgid, sizeof(pgid)) || pgid <= 1)
		_exit(0); /* never armed: no group to look after */
	if (guard_read_full(GUARD_FD, &released, 1))
		_exit(0);
	guard_end_group((pid_t)pgid, grace_ms);
	_exit(0);
}

int tbc_process_guard_start(tbc_process_guard *g, uint32_t grace_ms, tb_status *st)
{
	sigset_t all, old;
	int sv[2], e;
	pid_t pid;

	g->pid = 0;
	g->fd = -1;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0)
		return tbc_process_errno(st, errno, "cannot start the process guard", NULL);
	/* Blocked across fork so that no handler of the runner runs in the guard. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	pid = fork();
	if (pid == 0)
		guard_main(sv[1], grace_ms);
	e = errno;
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	close(sv[1]);
	if (pid < 0) {
		close(sv[0]);
		return tbc_process_errno(st, e, "cannot start the process guard", NULL);
	}
	g->pid = pid;
	g->fd = sv[0];
	return TB_OK;
}

void tbc_process_guard_arm(tbc_process_guard *g, pid_t pgid)
{
	int32_t id = (int32_t)pgid;

	/* A guard killed from outside leaves the group unguarded, whenever that happens. */
	if (g->pid > 0)
		while (send(g->fd, &id, sizeof(id), MSG_NOSIGNAL) < 0 && errno == EINTR)
			;
}

void tbc_process_guard_stop(tbc_process_guard *g)
{
	char released = 1;

	if (g->pid <= 0)
		return;
	while (send(g->fd, &released, 1, MSG_NOSIGNAL) < 0 && errno == EINTR)
		;
	close(g->fd);
	/* The guard exits as soon as it reads the byte (or end of file): a short wait. */
	while (waitpid(g->pid, NULL, 0) < 0 && errno == EINTR)
		;
	g->pid = 0;
	g->fd = -1;
}
