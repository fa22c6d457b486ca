/* The run journal: what a run created, on disk before and after every step. */
#ifndef TESTBUS_BROKER_JOURNAL_H
#define TESTBUS_BROKER_JOURNAL_H

#include <stdbool.h>

#include "testbus/testbus.h"

/*
 * One line per event, "<unix ms> <event> <args>", each written and fsynced
 * before the step it announces goes on, so that a broker killed at any point
 * leaves enough for `testbus cleanup`:
 *   run <run-id> <broker pid> <config source>
 *   sockets <private socket folder of the spawned components>
 *   provisioning <provisioner>
 *   provisioned <created|reused> <base64 ClusterInfo, kubeconfig left out>
 *   destroying <cluster id>
 *   destroyed <cluster id> | destroy-failed <cluster id> | kept <cluster id>
 *   finished <exit status>
 */
struct journal {
	int fd;
};

/* Creates the journal at path (0644, must not exist). */
int journal_open(struct journal *j, const char *path, tb_status *st);

/* Opens an existing journal to append to it (cleanup of an earlier run). */
int journal_reopen(struct journal *j, const char *path, tb_status *st);

/* Appends one event line and fsyncs it. Blocks. */
int journal_write(struct journal *j, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Appends "provisioned" with the cluster (its kubeconfig is never written). */
int journal_cluster(struct journal *j, const Testbus__V1__ClusterInfo *cluster, bool created);

/* Closes the file. Safe on a closed or zeroed journal with fd -1 or 0. */
void journal_close(struct journal *j);

/* What a journal says about its run. */
struct journal_state {
	char *run_id;
	long pid;
	char *config_source;
	char *provisioner;
	char *sock_dir;                    /* owned; NULL when the run made none */
	Testbus__V1__ClusterInfo *cluster; /* owned; NULL when none was provisioned */
	bool created;
	bool destroyed;
	bool kept;
	bool finished;
	int exit_status;
};

/* Reads the journal at path. Caller frees s with journal_state_fini. */
int journal_read(const char *path, struct journal_state *s, tb_status *st);
void journal_state_fini(struct journal_state *s);

#endif
