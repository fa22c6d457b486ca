/* Starting component processes for the broker. */
#ifndef TESTBUS_BROKER_LAUNCH_H
#define TESTBUS_BROKER_LAUNCH_H

#include <sys/types.h>

#include "config.h"
#include "testbus/testbus.h"

/*
 * Starts cc's program with --listen listen_url (and --events events_url when
 * not NULL) in its own process group, stdin from /dev/null, stdout and
 * stderr appended to log_path, TESTBUS_PARENT_PID set so it dies with us.
 * Does not wait for it. On TB_OK *pidp is the child.
 */
int spawn_component(const struct config_component *cc, const char *listen_url,
                    const char *events_url, const char *log_path, pid_t *pidp, tb_status *st);

#endif
