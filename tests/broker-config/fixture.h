/* Helpers shared by the config tests: a folder of stand-in programs and loading text. */
#ifndef BROKER_CONFIG_FIXTURE_H
#define BROKER_CONFIG_FIXTURE_H

#include <stddef.h>

#include "config.h"

/* A temporary folder holding an executable file for each name in names. */
struct fixture_bin {
	char dir[64];
};

/* Creates the folder and its programs; names ends with NULL. Fails the test on error. */
void fixture_bin_init(struct fixture_bin *bin, const char *const *names);

/* Removes the programs and the folder. */
void fixture_bin_fini(struct fixture_bin *bin, const char *const *names);

/* The programs every valid config in the tests spawns by name. */
extern const char *const fixture_programs[];

/*
 * Loads text as the file "name" with bin_dir as the programs' folder. Returns
 * the load's code; *cfgp and *errs as config_load_string sets them.
 */
int fixture_load(const char *name, const char *text, const char *bin_dir,
                 struct broker_config **cfgp, struct config_errors *errs);

/* All error lines joined with '\n'. Caller owns it (free()). */
char *fixture_join(const struct config_errors *errs);

/* Reads a whole file; NULL when it cannot. Caller owns it (free()). */
char *fixture_read(const char *path);

#endif
