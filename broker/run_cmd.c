/* `testbus run`: options, the run folder, signals, discovery, then the workflow. */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "commands.h"
#include "inflight.h"
#include "listen.h"
#include "progress.h"
#include "results_json.h"
#include "run.h"

struct run_opts {
	const char *config;
	const char *artifacts;
	const char *run_id;
	const char *keep;
	const char *reuse;
	const char *listen;
	bool help;
};

static const struct cmd_option run_options[] = {
	{"--artifacts", offsetof(struct run_opts, artifacts), "DIR",
	 "folder of run folders (default ./testbus-artifacts)"},
	{"--run-id", offsetof(struct run_opts, run_id), "ID", "name of this run's folder"},
	{"--keep", offsetof(struct run_opts, keep), "WHEN",
	 "keep the cluster: never, on-failure or always (overrides the config)"},
	{"--reuse-cluster", offsetof(struct run_opts, reuse), "ID",
	 "run on this existing cluster instead of provisioning one (never destroyed)"},
	{"--listen", offsetof(struct run_opts, listen), "URL",
	 "accept registered executors on URL (overrides the config's listen address)"},
	{"--help", offsetof(struct run_opts, help), NULL, "print this help"},
	{NULL, 0, NULL, NULL},
};

static void run_usage(FILE *out)
{
	fprintf(out, "usage: testbus run [CONFIG] [options]\n\n"
	             "Provisions a cluster, runs the phases of CONFIG (default: the built-in\n"
	             "pipeline), analyses and reports the results, and destroys what it created.\n"
	             "Exit status: 0 every test passed, 1 the run failed, 2 bad usage, config or\n"
	             "preflight (nothing was provisioned).\n\noptions:\n");
	cmd_print_options(out, run_options);
}

static void run_new_id(char *buf, size_t n)
{
	time_t now = time(NULL);
	struct tm tm;
	gmtime_r(&now, &tm);
	char stamp[32];
	strftime(stamp, sizeof(stamp), "%Y%m%d-%H%M%S", &tm);
	snprintf(buf, n, "%s-%04x", stamp, (unsigned)(tb_new_call_id() & 0xffff));
}

/* Makes <artifacts>/<run-id>/logs and points <artifacts>/latest at the run. */
static int run_make_folder(const char *artifacts, const char *run_id, char *run_dir, size_t n)
{
	char logs[PATH_MAX + 256], latest[PATH_MAX + 256];
	if (mkdir(artifacts, 0755) != 0 && errno != EEXIST)
		return -1;
	char abs[PATH_MAX];
	if (realpath(artifacts, abs) == NULL)
		return -1;
	if ((size_t)snprintf(run_dir, n, "%s/%s", abs, run_id) >= n || mkdir(run_dir, 0755) != 0)
		return -1;
	if (snprintf(logs, sizeof(logs), "%s/logs", run_dir) >= (int)sizeof(logs) ||
	    mkdir(logs, 0755) != 0)
		return -1;
	snprintf(latest, sizeof(latest), "%s/latest", abs);
	char tmp[PATH_MAX + 32];
	snprintf(tmp, sizeof(tmp), "%s/.latest-%ld", abs, (long)getpid());
	unlink(tmp);
	if (symlink(run_id, tmp) == 0 && rename(tmp, latest) != 0)
		unlink(tmp);
	return 0;
}

/* Keeps a copy of the config beside the results, for cleanup and for people. */
static void run_copy_config(const struct run_opts *o, const char *run_dir)
{
	char *text = NULL;
	size_t len = 0;
	tb_status st = {0};
	char path[PATH_MAX + 256];
	int rv = TB_RESOURCE_EXHAUSTED;
	if (snprintf(path, sizeof(path), "%s/config.yaml", run_dir) >= (int)sizeof(path)) {
		tb_status_set(&st, rv, "the run folder's path is too long");
	} else if (o->config == NULL) {
		const char *def = config_default_text(&len);
		rv = tb_results_write_text(path, def, len, &st);
	} else if ((rv = tb_results_slurp(o->config, 16u << 20, &text, &len, &st)) == TB_OK) {
		rv = tb_results_write_text(path, text, len, &st);
	}
	if (rv != TB_OK)
		blog("warning: no copy of the config in the run folder (testbus cleanup needs it): %s",
		     st.message);
	free(text);
}

static void *run_signal_main(void *arg)
{
	sigset_t *set = arg;
	int sig;
	for (;;) {
		if (sigwait(set, &sig) != 0)
			continue;
		int n = atomic_fetch_add(&run_signals, 1) + 1;
		if (n == 1) {
			blog("%s: stopping the run, then cleaning up (again to skip to destroy)",
			     strsignal(sig));
			inflight_cancel_all();
		} else {
			blog("%s again: skipping to destroy", strsignal(sig));
			inflight_cancel_all();
		}
	}
	return NULL;
}

static int run_load(const struct run_opts *o, struct broker_config **cfgp)
{
	struct config_options copts = {.artifacts_dir = o->artifacts, .listen_address = o->listen};
	char bin_dir[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", bin_dir, sizeof(bin_dir) - 1);
	if (n > 0) {
		bin_dir[n] = '\0';
		char *slash = strrchr(bin_dir, '/');
		if (slash != NULL)
			*slash = '\0';
		copts.bin_dir = bin_dir;
	}
	struct config_errors errs = {0};
	int rv = o->config ? config_load_file(o->config, &copts, cfgp, &errs)
	                   : config_load_default(&copts, cfgp, &errs);
	for (size_t i = 0; i < errs.n; i++)
		fprintf(stderr, "%s\n", errs.lines[i]);
	config_errors_fini(&errs);
	return rv;
}

static int run_apply_overrides(const struct run_opts *o, struct broker_config *cfg)
{
	static const struct {
		const char *name;
		enum config_keep keep;
	} keeps[] = {{"never", CONFIG_KEEP_NEVER},
	             {"on-failure", CONFIG_KEEP_ON_FAILURE},
	             {"always", CONFIG_KEEP_ALWAYS}};
	if (o->keep != NULL) {
		size_t i = 0;
		while (i < 3 && strcmp(keeps[i].name, o->keep) != 0)
			i++;
		if (i == 3) {
			fprintf(stderr, "testbus run: --keep takes never, on-failure or always, not '%s'\n",
			        o->keep);
			return -1;
		}
		cfg->cluster.keep = keeps[i].keep;
	}
	if (o->reuse != NULL)
		cfg->cluster.reuse_id = (char *)o->reuse; /* borrowed: config_free leaves it */
	return 0;
}

static int run_execute(const struct run_opts *o, struct broker_config *cfg)
{
	char run_id[96], run_dir[PATH_MAX + 128], logs[PATH_MAX + 136], journal[PATH_MAX + 144];
	struct registry reg = {0};
	struct run r = {.cfg = cfg, .reg = &reg, .journal = {.fd = -1}};
	tb_status st;
	int status = EXIT_USAGE;
	snprintf(run_id, sizeof(run_id), "%s", o->run_id ? o->run_id : "");
	if (run_id[0] == '\0')
		run_new_id(run_id, sizeof(run_id));
	if (strchr(run_id, '/') != NULL || run_make_folder(cfg->artifacts_dir, run_id, run_dir,
	                                                    sizeof(run_dir)) != 0) {
		fprintf(stderr, "testbus run: cannot make the run folder %s/%s: %s\n",
		        cfg->artifacts_dir, run_id, strerror(errno));
		return EXIT_USAGE;
	}
	if (snprintf(logs, sizeof(logs), "%s/logs", run_dir) >= (int)sizeof(logs) ||
	    snprintf(journal, sizeof(journal), "%s/journal", run_dir) >= (int)sizeof(journal))
		return EXIT_USAGE;
	run_copy_config(o, run_dir);
	/* The journal exists before anything can be created. */
	if (journal_open(&r.journal, journal, &st) != TB_OK) {
		fprintf(stderr, "testbus run: %s\n", st.message);
		return EXIT_USAGE;
	}
	journal_write(&r.journal, "run %s %ld %s", run_id, (long)getpid(),
	              o->config ? o->config : CONFIG_DEFAULT_NAME);
	r.run_id = run_id;
	r.run_dir = run_dir;
	blog("run %s: %s (results in %s)", run_id, o->config ? o->config : "built-in pipeline",
	     run_dir);
	int rv = listen_start(cfg);
	if (rv == TB_OK)
		rv = registry_start(&reg, cfg, run_id, run_dir, logs, NULL);
	/* For `testbus cleanup` to remove, should this broker be killed. */
	if (reg.sock_dir != NULL)
		journal_write(&r.journal, "sockets %s", reg.sock_dir);
	if (rv != TB_OK) {
		blog("preflight failed: nothing was provisioned");
		goto out;
	}
	progress_start(reg.events_url);
	status = run_workflow(&r);
out:
	registry_stop(&reg);
	/* The events socket closes once no component is left to redial it: NNG
	 * 1.5.2 never frees a listener closed while it accepts a connection. */
	progress_stop();
	listen_stop();
	journal_write(&r.journal, "finished %d", status);
	journal_close(&r.journal);
	for (size_t i = 0; i < r.n_phases; i++)
		phase_run_fini(&r.phases[i]);
	free(r.phases);
	for (size_t i = 0; i < r.n_errors; i++)
		free(r.errors[i]);
	free(r.errors);
	if (r.cluster != NULL)
		testbus__v1__cluster_info__free_unpacked(r.cluster, NULL);
	free(r.kubeconfig);
	return status;
}

int run_main(int argc, char **argv)
{
	struct run_opts o = {0};
	struct broker_config *cfg = NULL;
	const char *positional[2] = {0};
	size_t n_pos = 0;
	if (cmd_parse(argc, argv, run_options, &o, positional, 2, &n_pos) != 0 || n_pos > 1) {
		run_usage(stderr);
		return EXIT_USAGE;
	}
	if (o.help) {
		run_usage(stdout);
		return EXIT_RUN_OK;
	}
	o.config = n_pos ? positional[0] : NULL;
	/* Signals go to one thread, started before any other. */
	static sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
	pthread_t sig_thread;
	pthread_create(&sig_thread, NULL, run_signal_main, &set);
	pthread_detach(sig_thread);
	if (run_load(&o, &cfg) != TB_OK)
		return EXIT_USAGE;
	int status = EXIT_USAGE;
	if (run_apply_overrides(&o, cfg) == 0)
		status = run_execute(&o, cfg);
	if (o.reuse != NULL)
		cfg->cluster.reuse_id = NULL;
	config_free(cfg);
	return status;
}
