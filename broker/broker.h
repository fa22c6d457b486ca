/* Shared state of the broker: discovered components and the run in progress. */
#ifndef TESTBUS_BROKER_H
#define TESTBUS_BROKER_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "config.h"
#include "testbus/testbus.h"

/* Exit statuses of testbus commands (docs/broker.md). */
#define EXIT_RUN_OK 0
#define EXIT_RUN_FAILED 1
#define EXIT_USAGE 2

struct listen_reg;

/*
 * One component the broker reached: spawned, attached, or a registration
 * bound to a `registered` entry of the config.
 */
struct comp {
	const struct config_component *cfg; /* borrowed from the config */
	char *name;                         /* registered: "<entry>@<registration id>"; owned */
	struct listen_reg *remote;          /* registered: its registration (listen.c) */
	bool group;                         /* the `registered` entry itself, never an executor */
	tb_conn *conn;                      /* NULL until reached */
	pid_t pid;                          /* spawned: the child; 0 otherwise */
	Testbus__V1__ComponentInfo *info;   /* from Describe; owned */
	char *address;                      /* owned */
	char *log_path;                     /* spawned: its stderr; owned */
	uint32_t capacity;
	bool skipped;                       /* optional and not available */
	bool lost;                          /* its process died or it stopped answering */
};

struct registry {
	struct comp *comps;
	size_t n;
	char *sock_dir;   /* private 0700 folder of the ipc sockets; owned */
	char *events_url; /* where components push progress; owned */
	char *logs_dir;   /* borrowed */
};

/*
 * Reaches every component of cfg: spawns (posix_spawn, own process group,
 * stderr to logs_dir/<name>.log) or attaches, then checks Describe (protocol,
 * kind, ipc peer pid) and sends each its config with Configure. Problems are
 * printed one line each to stderr. Returns TB_OK when every required component
 * is ready; otherwise TB_FAILED_PRECONDITION with every spawned process
 * stopped. Caller owns reg's contents; release with registry_stop().
 */
int registry_start(struct registry *reg, const struct broker_config *cfg, const char *run_id,
                   const char *run_dir, const char *logs_dir, const char *only_name);

/* Stops spawned components (SIGTERM, then SIGKILL after grace) and frees reg's contents. */
void registry_stop(struct registry *reg);

/* Puts up to max ready components of a kind in out, in config order; returns how many. Borrowed. */
size_t registry_of_kind(struct registry *reg, Testbus__V1__ComponentKind kind,
                        struct comp **out, size_t max);

/* The name of c in logs and results: the config entry's, or its registration's. */
const char *comp_name(const struct comp *c);

/* True once a spawned component's process has exited (reaped here). */
bool registry_comp_dead(struct comp *c);

/*
 * True when c is a spawned component whose process has exited, waiting up
 * to wait_ms for that (a connection drops a moment before its process is
 * reaped). False at once for a component that was not spawned.
 */
bool registry_wait_dead(struct comp *c, uint32_t wait_ms);

/*
 * Starts a spawned component whose process died again, on the same address,
 * and checks and configures it as preflight did (blocks up to wait_ms for
 * each). TB_OK with c ready; otherwise c stays lost. TB_FAILED_PRECONDITION
 * for a component that was not spawned or is still running.
 */
int registry_restart(struct registry *reg, struct comp *c, const char *run_id,
                     const char *run_dir, uint32_t wait_ms, tb_status *st);

/* Logging for the broker: timestamped lines on stderr, clear of the status line. */
void blog(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
