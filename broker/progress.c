/* What a person sees while a run goes on: log lines and a live status line. */
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "broker.h"
#include "progress.h"

#define PROGRESS_TICK_MS 250

static struct {
	pthread_mutex_t mu;
	bool tty;
	bool line_shown;
	bool running;
	_Atomic bool stop;
	pthread_t thread;
	tb_events *events;
	char phase[128];
	char executors[256];
	size_t targets, done;
	unsigned passed, failed;
	time_t started;
} progress = {.mu = PTHREAD_MUTEX_INITIALIZER};

/* Erases the status line; called with the lock held. */
static void progress_clear(void)
{
	if (progress.line_shown) {
		fputs("\r\033[K", stderr);
		progress.line_shown = false;
	}
}

static void progress_draw(void)
{
	if (!progress.tty || progress.phase[0] == '\0')
		return;
	long secs = (long)(time(NULL) - progress.started);
	fprintf(stderr, "\r\033[K[%s] targets %zu/%zu | passed %u failed %u | %02ld:%02ld%s%s",
	        progress.phase, progress.done, progress.targets, progress.passed, progress.failed,
	        secs / 60, secs % 60, progress.executors[0] ? " | " : "", progress.executors);
	fflush(stderr);
	progress.line_shown = true;
}

void blog(const char *fmt, ...)
{
	char stamp[16];
	time_t now = time(NULL);
	struct tm tm;
	localtime_r(&now, &tm);
	strftime(stamp, sizeof(stamp), "%H:%M:%S", &tm);
	pthread_mutex_lock(&progress.mu);
	progress_clear();
	fprintf(stderr, "%s testbus: ", stamp);
	va_list ap;
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	progress_draw();
	pthread_mutex_unlock(&progress.mu);
}

static void progress_event(const Testbus__V1__Event *ev)
{
	bool failed = ev->kind == TESTBUS__V1__EVENT_KIND__EVENT_TEST_FAILED;
	pthread_mutex_lock(&progress.mu);
	if (ev->kind == TESTBUS__V1__EVENT_KIND__EVENT_TEST_PASSED)
		progress.passed++;
	else if (failed)
		progress.failed++;
	pthread_mutex_unlock(&progress.mu);
	if (failed && !progress.tty)
		blog("%s: test failed: %s", ev->component, ev->test_name);
}

static void *progress_main(void *arg)
{
	(void)arg;
	while (!atomic_load(&progress.stop)) {
		Testbus__V1__Event *ev = NULL;
		int rv = tb_events_recv(progress.events, PROGRESS_TICK_MS, &ev);
		if (rv == TB_OK) {
			progress_event(ev);
			testbus__v1__event__free_unpacked(ev, NULL);
		} else if (rv == TB_CANCELLED) {
			break;
		}
		pthread_mutex_lock(&progress.mu);
		progress_draw();
		pthread_mutex_unlock(&progress.mu);
	}
	return NULL;
}

void progress_start(const char *events_url)
{
	tb_status st;
	progress.tty = isatty(STDERR_FILENO) && getenv("TERM") && strcmp(getenv("TERM"), "dumb");
	progress.started = time(NULL);
	if (tb_events_open(events_url, 0, &progress.events, &st) != TB_OK) {
		blog("no live progress: %s", st.message);
		return;
	}
	atomic_store(&progress.stop, false);
	progress.running = pthread_create(&progress.thread, NULL, progress_main, NULL) == 0;
}

void progress_stop(void)
{
	atomic_store(&progress.stop, true);
	if (progress.running) {
		tb_events_interrupt(progress.events); /* do not wait out its tick */
		pthread_join(progress.thread, NULL);
	}
	progress.running = false;
	tb_events_close(progress.events);
	progress.events = NULL;
	pthread_mutex_lock(&progress.mu);
	progress_clear();
	progress.phase[0] = '\0';
	progress.executors[0] = '\0';
	pthread_mutex_unlock(&progress.mu);
}

void progress_phase(const char *name, size_t n_targets)
{
	pthread_mutex_lock(&progress.mu);
	snprintf(progress.phase, sizeof(progress.phase), "%s", name);
	progress.targets = n_targets;
	progress.done = 0;
	progress_draw();
	pthread_mutex_unlock(&progress.mu);
}

void progress_executors(const char *text)
{
	pthread_mutex_lock(&progress.mu);
	snprintf(progress.executors, sizeof(progress.executors), "%s", text);
	progress_draw();
	pthread_mutex_unlock(&progress.mu);
}

void progress_target_done(void)
{
	pthread_mutex_lock(&progress.mu);
	progress.done++;
	progress_draw();
	pthread_mutex_unlock(&progress.mu);
}
