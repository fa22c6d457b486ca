/* /proc queries the orphan tests share: a process tree, and waiting for processes to end. */
#include "proc_scan.h"

#include <ctype.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Reads state, parent and group of pid from /proc/<pid>/stat; false when gone. */
static bool proc_stat(pid_t pid, char *state, long *ppid, long *pgrp)
{
	char path[64], buf[512], *p;
	FILE *fp;
	size_t n;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	if ((fp = fopen(path, "r")) == NULL)
		return false;
	n = fread(buf, 1, sizeof(buf) - 1, fp);
	fclose(fp);
	buf[n] = '\0';
	/* "pid (comm) state ppid pgrp ...": comm may hold spaces and parentheses. */
	if ((p = strrchr(buf, ')')) == NULL)
		return false;
	return sscanf(p + 1, " %c %ld %ld", state, ppid, pgrp) == 3;
}

bool proc_live(pid_t pid)
{
	char state;
	long ppid, pgrp;

	return proc_stat(pid, &state, &ppid, &pgrp) && state != 'Z' && state != 'X' && state != 'x';
}

pid_t proc_pgid(pid_t pid)
{
	char state;
	long ppid, pgrp;

	return proc_stat(pid, &state, &ppid, &pgrp) ? (pid_t)pgrp : -1;
}

size_t proc_children(pid_t ppid, pid_t *out, size_t max)
{
	DIR *d = opendir("/proc");
	struct dirent *de;
	size_t n = 0;

	if (d == NULL)
		return 0;
	while ((de = readdir(d)) != NULL && n < max) {
		char state;
		long parent, pgrp;
		pid_t pid;
		if (!isdigit((unsigned char)de->d_name[0]))
			continue;
		pid = (pid_t)atoi(de->d_name);
		if (proc_stat(pid, &state, &parent, &pgrp) && parent == (long)ppid)
			out[n++] = pid;
	}
	closedir(d);
	return n;
}

size_t proc_descendants(pid_t root, pid_t *out, size_t max)
{
	size_t n = proc_children(root, out, max);

	/* Breadth first: out[0..n) grows as each found process's children are added. */
	for (size_t i = 0; i < n && n < max; i++)
		n += proc_children(out[i], out + n, max - n);
	return n;
}

size_t proc_wait_ended(const pid_t *pids, size_t n, unsigned max_ms)
{
	struct timespec pause = {0, 20 * 1000 * 1000};
	size_t running = n;

	for (unsigned waited = 0;; waited += 20) {
		running = 0;
		for (size_t i = 0; i < n; i++)
			running += proc_live(pids[i]);
		if (running == 0 || waited >= max_ms)
			return running;
		nanosleep(&pause, NULL);
	}
}

size_t proc_read_pids(const char *path, pid_t *pids, size_t max, unsigned max_ms)
{
	struct timespec pause = {0, 20 * 1000 * 1000};
	FILE *fp = NULL;
	size_t n = 0;
	int pid;

	for (unsigned waited = 0; (fp = fopen(path, "r")) == NULL && waited < max_ms; waited += 20)
		nanosleep(&pause, NULL);
	if (fp == NULL)
		return 0;
	while (n < max && fscanf(fp, "%d", &pid) == 1)
		pids[n++] = (pid_t)pid;
	fclose(fp);
	return n;
}
