/* The testbus command: a table of subcommands. */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "broker.h"
#include "commands.h"
#include "call.h"

static const struct {
	const char *name;
	int (*main)(int argc, char **argv);
	const char *summary;
} commands[] = {
	{"run", run_main, "run the pipeline of a config (default: the built-in one)"},
	{"cleanup", cleanup_main, "destroy clusters that killed runs left behind"},
	{"components", components_main, "start or reach the components of a config and list them"},
	{"call", call_main, "call a method of a component by hand (JSON in, JSON out)"},
};

#define N_COMMANDS (sizeof(commands) / sizeof(commands[0]))

static void main_usage(FILE *out)
{
	fprintf(out, "usage: testbus COMMAND [options]\n\n"
	             "An end-to-end test orchestrator: provisions a cluster, runs test suites\n"
	             "against it, analyses failures and reports results.\n\ncommands:\n");
	for (size_t i = 0; i < N_COMMANDS; i++)
		fprintf(out, "  %-12s %s\n", commands[i].name, commands[i].summary);
	fprintf(out, "\n`testbus COMMAND --help` tells more. `testbus --version` prints the version.\n");
}

int cmd_parse(int argc, char **argv, const struct cmd_option *opts, void *base,
              const char **positional, size_t max, size_t *np)
{
	*np = 0;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (a[0] != '-' || strcmp(a, "-") == 0) {
			if (*np == max) {
				fprintf(stderr, "testbus: unexpected argument '%s'\n", a);
				return -1;
			}
			positional[(*np)++] = a;
			continue;
		}
		const struct cmd_option *o = opts;
		size_t len = strcspn(a, "=");
		while (o->name != NULL && (strlen(o->name) != len || strncmp(o->name, a, len) != 0))
			o++;
		if (o->name == NULL) {
			fprintf(stderr, "testbus: unknown option %s\n", a);
			return -1;
		}
		if (o->arg == NULL) {
			*(bool *)((char *)base + o->offset) = true;
			continue;
		}
		const char *value = a[len] == '=' ? a + len + 1 : (i + 1 < argc ? argv[++i] : NULL);
		if (value == NULL) {
			fprintf(stderr, "testbus: %s needs %s\n", o->name, o->arg);
			return -1;
		}
		*(const char **)((char *)base + o->offset) = value;
	}
	return 0;
}

void cmd_print_options(FILE *out, const struct cmd_option *opts)
{
	for (const struct cmd_option *o = opts; o->name != NULL; o++) {
		char left[64];
		snprintf(left, sizeof(left), "%s%s%s", o->name, o->arg ? " " : "", o->arg ? o->arg : "");
		fprintf(out, "  %-24s %s\n", left, o->help);
	}
}

int main(int argc, char **argv)
{
	if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
	    strcmp(argv[1], "help") == 0) {
		main_usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? EXIT_USAGE : 0;
	}
	if (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "version") == 0) {
		printf("testbus %s (protocol %d)\n", tb_version(), TB_PROTOCOL_VERSION);
		return 0;
	}
	for (size_t i = 0; i < N_COMMANDS; i++) {
		if (strcmp(argv[1], commands[i].name) == 0) {
			int status = commands[i].main(argc - 1, argv + 1);
			tb_library_fini();
			return status;
		}
	}
	fprintf(stderr, "testbus: unknown command '%s'\n\n", argv[1]);
	main_usage(stderr);
	return EXIT_USAGE;
}
