/* The testbus subcommands and the option table they share. */
#ifndef TESTBUS_BROKER_COMMANDS_H
#define TESTBUS_BROKER_COMMANDS_H

#include <stddef.h>
#include <stdio.h>

/* An option: with an argument (arg != NULL) it sets a const char *, else a bool. */
struct cmd_option {
	const char *name;
	size_t offset;
	const char *arg;
	const char *help;
};

/*
 * Parses argv[1..] against opts (NULL-name terminated) into the struct at
 * base; other words go to positional (at most max). Prints the problem and
 * returns -1 on an unknown option or a missing argument.
 */
int cmd_parse(int argc, char **argv, const struct cmd_option *opts, void *base,
              const char **positional, size_t max, size_t *np);
void cmd_print_options(FILE *out, const struct cmd_option *opts);

int run_main(int argc, char **argv);
int cleanup_main(int argc, char **argv);
int components_main(int argc, char **argv);

#endif
