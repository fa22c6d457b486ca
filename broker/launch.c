/* Starting component processes: own process group, private socket, logged stderr. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "launch.h"

extern char **environ;

static void spawn_free_env(char **env, size_t base)
{
	if (env == NULL)
		return;
	for (size_t i = base; env[i] != NULL; i++)
		free(env[i]);
	free(env);
}

/*
 * environ plus TESTBUS_PARENT_PID and the component's own variables. Entries
 * from *basep on are owned by the array; free with spawn_free_env.
 */
static char **spawn_env(const struct config_component *cc, char *parent, size_t *basep)
{
	size_t n = 0;
	while (environ[n] != NULL)
		n++;
	char **env = calloc(n + cc->env.n + 2, sizeof(*env));
	if (env == NULL)
		return NULL;
	size_t k = 0;
	for (size_t i = 0; i < n; i++) {
		if (strncmp(environ[i], "TESTBUS_PARENT_PID=", 19) != 0)
			env[k++] = environ[i];
	}
	env[k++] = parent;
	*basep = k;
	for (size_t i = 0; i < cc->env.n; i++) {
		size_t len = strlen(cc->env.items[i].key) + strlen(cc->env.items[i].value) + 2;
		char *kv = malloc(len);
		if (kv == NULL) {
			spawn_free_env(env, *basep);
			return NULL;
		}
		snprintf(kv, len, "%s=%s", cc->env.items[i].key, cc->env.items[i].value);
		env[k++] = kv;
	}
	return env;
}

int spawn_component(const struct config_component *cc, const char *listen_url,
                    const char *events_url, const char *log_path, pid_t *pidp, tb_status *st)
{
	char parent[64];
	snprintf(parent, sizeof(parent), "TESTBUS_PARENT_PID=%ld", (long)getpid());
	size_t argc = cc->argc;
	char **argv = calloc(argc + 5, sizeof(*argv));
	size_t env_base = 0;
	char **env = spawn_env(cc, parent, &env_base);
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t attr;
	sigset_t none, defaults;
	int rv = TB_OK;
	posix_spawn_file_actions_init(&fa);
	posix_spawnattr_init(&attr);
	if (argv == NULL || env == NULL) {
		rv = tb_status_set(st, TB_RESOURCE_EXHAUSTED, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < argc; i++)
		argv[i] = cc->argv[i];
	argv[argc++] = "--listen";
	argv[argc++] = (char *)listen_url;
	if (events_url != NULL) {
		argv[argc++] = "--events";
		argv[argc++] = (char *)events_url;
	}
	/* stdin from /dev/null, stdout and stderr to the component's log. These
	 * are opened in the child only; O_CLOEXEC here would close its stderr. */
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 2, log_path, O_WRONLY | O_CREAT | O_APPEND, 0640);
	posix_spawn_file_actions_adddup2(&fa, 2, 1);
	if (cc->workdir != NULL)
		posix_spawn_file_actions_addchdir_np(&fa, cc->workdir);
	/* Its own process group, so signals to ours do not reach it and it can
	 * be stopped as a whole; no signal blocked or ignored. */
	sigemptyset(&none);
	sigfillset(&defaults);
	posix_spawnattr_setpgroup(&attr, 0);
	posix_spawnattr_setsigmask(&attr, &none);
	posix_spawnattr_setsigdefault(&attr, &defaults);
	posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK |
	                                    POSIX_SPAWN_SETSIGDEF);
	const char *path = cc->path ? cc->path : cc->argv[0];
	int err = posix_spawn(pidp, path, &fa, &attr, argv, env);
	if (err != 0)
		rv = tb_status_set(st, TB_UNAVAILABLE, "cannot start %s: %s", path, strerror(err));
out:
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&attr);
	spawn_free_env(env, env_base);
	free(argv);
	return rv;
}
