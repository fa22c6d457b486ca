/* What a person sees while a run goes on: log lines and a live status line. */
#ifndef TESTBUS_BROKER_PROGRESS_H
#define TESTBUS_BROKER_PROGRESS_H

#include <stdbool.h>
#include <stddef.h>

/*
 * Starts receiving the components' progress events on events_url. On a
 * terminal a status line (phase, targets done/total, tests passed/failed,
 * elapsed) is redrawn below the log; elsewhere failed tests are logged as
 * plain timestamped lines. Without events the run goes on regardless.
 */
void progress_start(const char *events_url);
void progress_stop(void);

/* A phase with n targets begins. name is copied. */
void progress_phase(const char *name, size_t n_targets);

/* A target of the current phase ended. */
void progress_target_done(void);

/* What each executor runs now, e.g. "shell 2/4, eu@r1 1/2"; copied, shown on the line. */
void progress_executors(const char *text);

#endif
