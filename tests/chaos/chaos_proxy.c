/*
 * testbus-test-chaos-proxy: a stand-in component for the broker's chaos tests.
 * Spawned as the component, it starts the real one behind it on a private ipc
 * address and relays every call unchanged, except the calls of one method,
 * which it holds, drops or answers with garbage (see chaos_proxy.h).
 *
 *   testbus-test-chaos-proxy [--fault F] [--method Service/Method] [--marker FILE]
 *       [--hold-ms MS] -- COMMAND [ARGS...] --listen URL [--events URL]
 *
 * The broker appends --listen and --events. The proxy serves URL itself, so it
 * is the ipc peer the broker checks, and hands the component URL.behind.
 */
#include <errno.h>
#include <nng/nng.h>
#include <nng/protocol/reqrep0/rep.h>
#include <nng/protocol/reqrep0/req.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "chaos_proxy.h"

#define CHAOS_MAX_MESSAGE (16u << 20)
#define CHAOS_POLL_MS 50
#define CHAOS_DIAL_WAIT_MS 30000
#define CHAOS_STOP_GRACE_MS 15000
#define CHAOS_EXIT_GUARD_S 25 /* a close that hangs must not keep the proxy alive */

extern char **environ;

struct chaos_opts {
	enum chaos_fault fault;
	char *service;     /* owned: "Provisioner" of "Provisioner/Provision" */
	const char *method; /* points into service's buffer */
	const char *marker;
	uint32_t hold_ms;
	char **command;    /* argv of the component, NULL-terminated; borrowed from main's argv */
	const char *listen; /* the URL the broker gave; borrowed */
};

static void chaos_usage(void)
{
	fprintf(stderr, "usage: testbus-test-chaos-proxy [--fault none|hold|hang|junk|wrong]\n"
	                "         [--method Service/Method] [--marker FILE] [--hold-ms MS]\n"
	                "         -- COMMAND [ARGS...] --listen ipc://PATH [--events URL]\n");
}

static int chaos_parse(int argc, char **argv, struct chaos_opts *o)
{
	const char *method = "";
	int i = 1;
	for (; i < argc && strcmp(argv[i], "--") != 0; i += 2) {
		if (i + 1 >= argc)
			return -1;
		if (strcmp(argv[i], "--fault") == 0) {
			if (chaos_fault_parse(argv[i + 1], &o->fault) != 0)
				return -1;
		} else if (strcmp(argv[i], "--method") == 0) {
			method = argv[i + 1];
		} else if (strcmp(argv[i], "--marker") == 0) {
			o->marker = argv[i + 1][0] != '\0' ? argv[i + 1] : NULL;
		} else if (strcmp(argv[i], "--hold-ms") == 0) {
			o->hold_ms = (uint32_t)strtoul(argv[i + 1], NULL, 10);
		} else {
			return -1;
		}
	}
	if (i + 1 >= argc)
		return -1;
	o->command = &argv[i + 1];
	for (int k = i + 1; k + 1 < argc; k++)
		if (strcmp(argv[k], "--listen") == 0)
			o->listen = argv[k + 1];
	if (o->listen == NULL || strncmp(o->listen, "ipc://", 6) != 0)
		return -1;
	/* Without a method there is nothing to fault: "none" matches no call. */
	if ((o->service = strdup(method[0] != '\0' ? method : "none/none")) == NULL)
		return -1;
	char *slash = strchr(o->service, '/');
	if (slash == NULL)
		return -1;
	*slash = '\0';
	o->method = slash + 1;
	return 0;
}

/* When spawned by the broker, die with it as a real component would. */
static int chaos_watch_parent(void)
{
	const char *ppid = getenv("TESTBUS_PARENT_PID");
	if (ppid == NULL)
		return 0;
	prctl(PR_SET_PDEATHSIG, SIGTERM);
	return getppid() == (pid_t)strtol(ppid, NULL, 10) ? 0 : -1;
}

/*
 * Starts the component with --listen behind, and TESTBUS_PARENT_PID naming
 * the proxy, so that it dies with the proxy (PR_SET_PDEATHSIG in its main).
 */
static int chaos_spawn(const struct chaos_opts *o, const char *behind, pid_t *pidp)
{
	size_t argc = 0, envc = 0;
	while (o->command[argc] != NULL)
		argc++;
	while (environ[envc] != NULL)
		envc++;
	char **argv = calloc(argc + 1, sizeof(*argv));
	char **env = calloc(envc + 2, sizeof(*env));
	char parent[64];
	posix_spawnattr_t attr;
	sigset_t none;
	int err = ENOMEM;
	if (argv == NULL || env == NULL)
		goto out;
	for (size_t i = 0; i < argc; i++)
		argv[i] = i > 0 && strcmp(o->command[i - 1], "--listen") == 0 ? (char *)behind
		                                                               : o->command[i];
	size_t k = 0;
	for (size_t i = 0; i < envc; i++)
		if (strncmp(environ[i], "TESTBUS_PARENT_PID=", 19) != 0)
			env[k++] = environ[i];
	snprintf(parent, sizeof(parent), "TESTBUS_PARENT_PID=%ld", (long)getpid());
	env[k] = parent;
	sigemptyset(&none);
	posix_spawnattr_init(&attr);
	posix_spawnattr_setsigmask(&attr, &none);
	posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK);
	err = posix_spawnp(pidp, argv[0], NULL, &attr, argv, env);
	posix_spawnattr_destroy(&attr);
out:
	if (err != 0)
		fprintf(stderr, "chaos-proxy: cannot start %s: %s\n", o->command[0], strerror(err));
	free(argv);
	free(env);
	return err == 0 ? 0 : -1;
}

static bool chaos_child_gone(pid_t pid)
{
	int status;
	pid_t r = waitpid(pid, &status, WNOHANG);
	return r == pid || (r < 0 && errno == ECHILD);
}

/* Dials the component until it listens; gives up when it died or took too long. */
static int chaos_dial(nng_socket back, const char *behind, pid_t child)
{
	struct timespec step = {0, 20 * 1000000L};
	for (int waited = 0; waited < CHAOS_DIAL_WAIT_MS; waited += 20) {
		if (nng_dial(back, behind, NULL, 0) == 0)
			return 0;
		if (chaos_child_gone(child))
			return -1;
		nanosleep(&step, NULL);
	}
	return -1;
}

static int chaos_open(struct chaos_relay *relay, const char *listen, const char *behind)
{
	int rv;
	if ((rv = nng_req0_open_raw(&relay->back)) != 0 ||
	    (rv = nng_socket_set_size(relay->back, NNG_OPT_RECVMAXSZ, CHAOS_MAX_MESSAGE)) != 0)
		goto out;
	if (chaos_dial(relay->back, behind, relay->component_pid) != 0) {
		fprintf(stderr, "chaos-proxy: the component never listened on %s\n", behind);
		return -1;
	}
	if ((rv = nng_rep0_open_raw(&relay->front)) != 0 ||
	    (rv = nng_socket_set_size(relay->front, NNG_OPT_RECVMAXSZ, CHAOS_MAX_MESSAGE)) != 0 ||
	    (rv = nng_socket_set_ms(relay->front, NNG_OPT_RECVTIMEO, CHAOS_POLL_MS)) != 0 ||
	    (rv = nng_listen(relay->front, listen, NULL, 0)) != 0)
		goto out;
	return 0;
out:
	fprintf(stderr, "chaos-proxy: %s: %s\n", listen, nng_strerror(rv));
	return -1;
}

/* Waits for a stop signal or the component's death; stops the component. */
static void chaos_wait(pid_t child, const sigset_t *set)
{
	int sig = 0;
	for (;;) {
		if (sigwait(set, &sig) != 0)
			continue;
		if (sig != SIGCHLD)
			break;
		if (chaos_child_gone(child)) {
			fprintf(stderr, "chaos-proxy: the component %ld ended\n", (long)child);
			return;
		}
	}
	fprintf(stderr, "chaos-proxy: %s, stopping the component\n", strsignal(sig));
	kill(child, SIGTERM);
	struct timespec step = {0, 20 * 1000000L};
	for (int waited = 0; waited < CHAOS_STOP_GRACE_MS; waited += 20) {
		if (chaos_child_gone(child))
			return;
		nanosleep(&step, NULL);
	}
	kill(child, SIGKILL);
	waitpid(child, NULL, 0);
}

int main(int argc, char **argv)
{
	struct chaos_opts o = {0};
	struct chaos_relay relay = {0};
	char *behind = NULL;
	sigset_t set;
	pthread_t requests, answers;
	int status = 1;
	if (chaos_parse(argc, argv, &o) != 0) {
		chaos_usage();
		free(o.service);
		return 2;
	}
	/* Signals are waited for by the main thread only; the relay threads never see them. */
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGCHLD);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
	if (chaos_watch_parent() != 0 || asprintf(&behind, "%s.behind", o.listen) < 0) {
		behind = NULL;
		goto out;
	}
	relay = (struct chaos_relay){.fault = o.fault, .service = o.service, .method = o.method,
	                             .marker = o.marker, .hold_ms = o.hold_ms};
	if (chaos_spawn(&o, behind, &relay.component_pid) != 0)
		goto out;
	if (chaos_open(&relay, o.listen, behind) != 0) {
		kill(relay.component_pid, SIGKILL);
		waitpid(relay.component_pid, NULL, 0);
		goto out;
	}
	fprintf(stderr, "chaos-proxy: %s relays to %s (pid %ld)\n", o.listen, behind,
	        (long)relay.component_pid);
	pthread_create(&requests, NULL, chaos_relay_requests, &relay);
	pthread_create(&answers, NULL, chaos_relay_answers, &relay);
	chaos_wait(relay.component_pid, &set);
	alarm(CHAOS_EXIT_GUARD_S);
	nng_close(relay.front);
	nng_close(relay.back);
	pthread_join(requests, NULL);
	pthread_join(answers, NULL);
	status = 0;
out:
	free(behind);
	free(o.service);
	return status;
}
