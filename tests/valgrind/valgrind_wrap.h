/* Starting a testbus program under valgrind when the test run asks for it. */
#ifndef TESTBUS_TESTS_VALGRIND_WRAP_H
#define TESTBUS_TESTS_VALGRIND_WRAP_H

#include <stdbool.h>
#include <stddef.h>

/*
 * True when $TESTBUS_TEST_VALGRIND names a folder for valgrind's logs (set by
 * valgrind_check.py): the harness then starts the programs it tests through
 * valgrind-run.sh.
 */
bool vg_enabled(void);

/*
 * The argv to spawn for argv (NULL-terminated, argv[0] a path): argv itself,
 * or, when vg_enabled(), valgrind-run.sh followed by argv, built in buf (cap
 * entries). The result borrows argv's strings and buf; nothing to free.
 * Aborts when buf is too small.
 */
char *const *vg_argv(char *const *argv, char **buf, size_t cap);

/*
 * How many times longer than usual a test waits for a program
 * ($TESTBUS_TEST_TIME_SCALE, 1 when unset): under valgrind a program runs
 * 10-50 times slower. Multiply start-up waits and tries by it.
 */
unsigned vg_time_scale(void);

#endif
