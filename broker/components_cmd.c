/* `testbus components`: reach the components of a config and list them. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "commands.h"
#include "listen.h"
#include "run.h"

struct components_opts {
	const char *listen;
	bool help;
};

static const struct cmd_option components_options[] = {
	{"--listen", offsetof(struct components_opts, listen), "URL",
	 "accept registrations on URL (overrides the config's listen address)"},
	{"--help", offsetof(struct components_opts, help), NULL, "print this help"},
	{NULL, 0, NULL, NULL},
};

static void components_usage(FILE *out)
{
	fprintf(out, "usage: testbus components [CONFIG]\n\n"
	             "Starts or reaches every component of CONFIG (default: the built-in\n"
	             "pipeline), checks it as a run's preflight does, and lists each with its\n"
	             "kind, version, address, capacity and health; then stops what it started.\n"
	             "Logs go to a temporary folder. Exit status: 0 all reachable, 2 otherwise.\n\n"
	             "options:\n");
	cmd_print_options(out, components_options);
}

/* "k=v,k=v" of the labels Describe (or the registration) reported, into buf. */
static const char *components_labels(const struct comp *c, char *buf, size_t size)
{
	size_t used = 0;
	buf[0] = '\0';
	for (size_t i = 0; c->info != NULL && i < c->info->n_labels && used < size; i++)
		used += (size_t)snprintf(buf + used, size - used, "%s%s=%s", i ? "," : "",
		                         c->info->labels[i]->key, c->info->labels[i]->value);
	return buf[0] ? buf : "-";
}

static void components_print(struct registry *reg)
{
	printf("%-14s %-12s %-9s %-8s %-7s %-6s %-8s %-30s %s\n", "NAME", "KIND", "VERSION",
	       "CAPACITY", "RUNNING", "HEALTH", "LEASE", "ADDRESS", "LABELS");
	for (size_t i = 0; i < reg->n; i++) {
		struct comp *c = &reg->comps[i];
		const char *health = "-";
		char lease[32] = "-", running[16] = "-", labels[256];
		if (c->group) {
			health = c->skipped ? "none" : "-";
		} else if (c->remote != NULL) {
			health = listen_alive(c) ? "ok" : "gone";
			/* Age of its last heartbeat: a lease lapses past LISTEN_LEASE_MS. */
			snprintf(lease, sizeof(lease), "%.1fs", (double)listen_seen_ms_ago(c) / 1000.0);
			snprintf(running, sizeof(running), "%u", listen_running(c));
		} else if (!c->skipped) {
			Testbus__V1__Empty empty = TESTBUS__V1__EMPTY__INIT;
			Testbus__V1__ComponentHealth *h = NULL;
			tb_status st;
			tb_call_opts opts = {.deadline_ms = 5000};
			health = "down";
			if (tb_component_health(c->conn, &empty, &h, &opts, &st) == TB_OK) {
				health = h->serving ? "ok" : "stopping";
				snprintf(running, sizeof(running), "%u", h->running);
				testbus__v1__component_health__free_unpacked(h, NULL);
			}
		}
		printf("%-14s %-12s %-9s %-8u %-7s %-6s %-8s %-30s %s\n", comp_name(c),
		       config_kind_name(c->cfg->kind), c->info ? c->info->version : "-", c->capacity,
		       running, c->skipped && !c->group ? "skip" : health, lease,
		       c->address ? c->address : "-", components_labels(c, labels, sizeof(labels)));
	}
}

int components_main(int argc, char **argv)
{
	struct components_opts o = {0};
	const char *positional[1] = {0};
	size_t n_pos = 0;
	if (cmd_parse(argc, argv, components_options, &o, positional, 1, &n_pos) != 0) {
		components_usage(stderr);
		return EXIT_USAGE;
	}
	if (o.help) {
		components_usage(stdout);
		return EXIT_RUN_OK;
	}
	struct config_options copts = {.listen_address = o.listen};
	char bin_dir[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", bin_dir, sizeof(bin_dir) - 1);
	if (n > 0) {
		bin_dir[n] = '\0';
		*strrchr(bin_dir, '/') = '\0';
		copts.bin_dir = bin_dir;
	}
	struct broker_config *cfg = NULL;
	struct config_errors errs = {0};
	int rv = n_pos ? config_load_file(positional[0], &copts, &cfg, &errs)
	               : config_load_default(&copts, &cfg, &errs);
	for (size_t i = 0; i < errs.n; i++)
		fprintf(stderr, "%s\n", errs.lines[i]);
	config_errors_fini(&errs);
	if (rv != TB_OK)
		return EXIT_USAGE;
	char logs[] = "/tmp/testbus-components-XXXXXX";
	struct registry reg = {0};
	int status = EXIT_USAGE;
	if (mkdtemp(logs) != NULL && listen_start(cfg) == TB_OK) {
		rv = registry_start(&reg, cfg, "components", logs, logs, NULL);
		components_print(&reg);
		status = rv == TB_OK ? EXIT_RUN_OK : EXIT_USAGE;
		registry_stop(&reg);
		listen_stop();
		printf("component logs: %s\n", logs);
	}
	config_free(cfg);
	return status;
}
