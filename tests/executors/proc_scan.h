/* /proc queries the orphan tests share: a process tree, and waiting for processes to end. */
#ifndef TESTBUS_TEST_PROC_SCAN_H
#define TESTBUS_TEST_PROC_SCAN_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#define PROC_SCAN_MAX 64 /* processes a test tracks at most */

/* True while pid runs; a zombie or a vanished process has ended. */
bool proc_live(pid_t pid);

/* The process group of pid; -1 when it is gone. */
pid_t proc_pgid(pid_t pid);

/* Fills out with the children of ppid (zombies included); returns how many (at most max). */
size_t proc_children(pid_t ppid, pid_t *out, size_t max);

/* Fills out with every descendant of root, root excluded; returns how many (at most max). */
size_t proc_descendants(pid_t root, pid_t *out, size_t max);

/*
 * Waits up to max_ms for path to exist, then reads the pids it lists (a
 * writer makes it whole with a rename). Returns how many (at most max); 0
 * when it never came.
 */
size_t proc_read_pids(const char *path, pid_t *pids, size_t max, unsigned max_ms);

/*
 * Polls every 20 ms, up to max_ms, until none of the n pids runs. Returns the
 * number still running then (0: all ended). A bound on how long to wait, not
 * a claim about speed.
 */
size_t proc_wait_ended(const pid_t *pids, size_t n, unsigned max_ms);

#endif
