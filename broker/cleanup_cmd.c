/* `testbus cleanup`: destroys the clusters that journals show alive, removes killed brokers' sockets. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "commands.h"
#include "journal.h"
#include "results_json.h"
#include "run.h"

struct cleanup_opts {
	bool dry_run;
	bool help;
};

static const struct cmd_option cleanup_options[] = {
	{"--dry-run", offsetof(struct cleanup_opts, dry_run), NULL,
	 "list what would be destroyed, destroy nothing"},
	{"--help", offsetof(struct cleanup_opts, help), NULL, "print this help"},
	{NULL, 0, NULL, NULL},
};

static void cleanup_usage(FILE *out)
{
	fprintf(out, "usage: testbus cleanup [ARTIFACTS] [options]\n\n"
	             "Reads the journal of every run in ARTIFACTS (default ./testbus-artifacts)\n"
	             "and destroys each cluster a run created and neither destroyed nor kept,\n"
	             "with the provisioner of that run's own config, and removes the socket\n"
	             "folder of a run whose broker was killed. Runs still in progress are\n"
	             "left alone. Exit status: 0 nothing left behind, 1 a destroy failed.\n\n"
	             "options:\n");
	cmd_print_options(out, cleanup_options);
}

/* A run whose broker is alive is not ours to clean up. */
static bool cleanup_still_running(const struct journal_state *s)
{
	return !s->finished && s->pid > 0 && s->pid != getpid() && kill((pid_t)s->pid, 0) == 0;
}

/*
 * Removes the private socket folder a killed broker left in /tmp: its
 * sockets, then the folder. Only a folder of ours named like one, holding
 * nothing but sockets, whatever the journal says.
 */
static void cleanup_sockets(const struct journal_state *s, const char *run, bool dry_run)
{
	const char *base = s->sock_dir != NULL ? strrchr(s->sock_dir, '/') : NULL;
	struct stat sb;
	if (base == NULL || strncmp(base + 1, "testbus-", 8) != 0 || lstat(s->sock_dir, &sb) != 0 ||
	    !S_ISDIR(sb.st_mode) || sb.st_uid != getuid())
		return;
	if (dry_run) {
		printf("would remove the socket folder %s of run %s\n", s->sock_dir, run);
		return;
	}
	DIR *d = opendir(s->sock_dir);
	if (d == NULL)
		return;
	struct dirent *e;
	while ((e = readdir(d)) != NULL) {
		if (fstatat(dirfd(d), e->d_name, &sb, AT_SYMLINK_NOFOLLOW) == 0 && S_ISSOCK(sb.st_mode))
			unlinkat(dirfd(d), e->d_name, 0);
	}
	closedir(d);
	if (rmdir(s->sock_dir) == 0)
		blog("removed the socket folder %s of run %s", s->sock_dir, run);
}

static int cleanup_load(const struct journal_state *s, const char *run_dir,
                        struct broker_config **cfgp)
{
	struct config_errors errs = {0};
	int rv;
	if (s->config_source == NULL || strcmp(s->config_source, CONFIG_DEFAULT_NAME) == 0) {
		rv = config_load_default(NULL, cfgp, &errs);
	} else {
		/* The run's own copy, read as if it were the original file so that
		 * its relative paths mean what they meant. */
		char path[PATH_MAX + 16];
		char *text = NULL;
		size_t len = 0;
		tb_status st;
		snprintf(path, sizeof(path), "%s/config.yaml", run_dir);
		rv = tb_results_slurp(path, 16u << 20, &text, &len, &st);
		if (rv == TB_OK)
			rv = config_load_string(text, len, s->config_source, NULL, cfgp, &errs);
		else
			blog("%s", st.message);
		free(text);
	}
	for (size_t i = 0; i < errs.n; i++)
		blog("%s", errs.lines[i]);
	config_errors_fini(&errs);
	return rv;
}

static int cleanup_destroy(const struct journal_state *s, const char *run_dir)
{
	struct broker_config *cfg = NULL;
	struct registry reg = {0};
	struct journal j = {.fd = -1};
	char logs[PATH_MAX + 8], journal[PATH_MAX + 16];
	tb_status st;
	int rv = cleanup_load(s, run_dir, &cfg);
	if (rv != TB_OK)
		return rv;
	snprintf(logs, sizeof(logs), "%s/logs", run_dir);
	snprintf(journal, sizeof(journal), "%s/journal", run_dir);
	journal_reopen(&j, journal, &st);
	rv = registry_start(&reg, cfg, s->run_id ? s->run_id : "cleanup", run_dir, logs,
	                    s->provisioner);
	if (rv == TB_OK && reg.n == 1 && !reg.comps[0].skipped) {
		Testbus__V1__Empty *none = NULL;
		tb_call_opts opts = {.deadline_ms = cfg->timeouts.destroy_ms, .retries = 2};
		journal_write(&j, "destroying %s", s->cluster->id);
		rv = tb_provisioner_destroy(reg.comps[0].conn, s->cluster, &none, &opts, &st);
		if (rv == TB_OK) {
			testbus__v1__empty__free_unpacked(none, NULL);
			journal_write(&j, "destroyed %s", s->cluster->id);
			blog("cluster %s of run %s destroyed", s->cluster->id, s->run_id);
		} else {
			journal_write(&j, "destroy-failed %s", s->cluster->id);
			blog("cluster %s of run %s: destroy failed: %s", s->cluster->id, s->run_id,
			     st.message);
		}
	} else if (rv == TB_OK) {
		rv = TB_NOT_FOUND;
		blog("run %s: its provisioner %s is not in its config", s->run_id, s->provisioner);
	}
	registry_stop(&reg);
	journal_close(&j);
	config_free(cfg);
	return rv;
}

int cleanup_main(int argc, char **argv)
{
	struct cleanup_opts o = {0};
	const char *positional[1] = {0};
	size_t n_pos = 0;
	if (cmd_parse(argc, argv, cleanup_options, &o, positional, 1, &n_pos) != 0) {
		cleanup_usage(stderr);
		return EXIT_USAGE;
	}
	if (o.help) {
		cleanup_usage(stdout);
		return EXIT_RUN_OK;
	}
	signal(SIGPIPE, SIG_IGN);
	const char *artifacts = n_pos ? positional[0] : CONFIG_DEFAULT_ARTIFACTS;
	DIR *d = opendir(artifacts);
	if (d == NULL) {
		fprintf(stderr, "testbus cleanup: %s: %s\n", artifacts, strerror(errno));
		return EXIT_USAGE;
	}
	int failures = 0, found = 0;
	struct dirent *e;
	while ((e = readdir(d)) != NULL) {
		char run_dir[PATH_MAX], journal[PATH_MAX + 16];
		if (e->d_name[0] == '.' || strcmp(e->d_name, "latest") == 0)
			continue;
		snprintf(run_dir, sizeof(run_dir), "%s/%s", artifacts, e->d_name);
		snprintf(journal, sizeof(journal), "%s/journal", run_dir);
		struct journal_state s;
		tb_status st;
		if (access(journal, R_OK) != 0 || journal_read(journal, &s, &st) != TB_OK)
			continue;
		bool alive = s.cluster != NULL && s.created && !s.destroyed && !s.kept;
		if (alive && cleanup_still_running(&s)) {
			blog("run %s is still in progress (pid %ld): left alone", e->d_name, s.pid);
		} else if (alive) {
			found++;
			if (o.dry_run)
				printf("would destroy cluster %s (%s) of run %s\n", s.cluster->id,
				       s.cluster->provider, e->d_name);
			else if (cleanup_destroy(&s, run_dir) != TB_OK)
				failures++;
		}
		/* A finished run removed its own; a live one still uses it. */
		if (!s.finished && !cleanup_still_running(&s))
			cleanup_sockets(&s, e->d_name, o.dry_run);
		journal_state_fini(&s);
	}
	closedir(d);
	if (found == 0)
		blog("nothing to clean up in %s", artifacts);
	return failures ? EXIT_RUN_FAILED : EXIT_RUN_OK;
}
