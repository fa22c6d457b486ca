/* Starting a testbus program under valgrind when the test run asks for it. */
#include "valgrind_wrap.h"

#include <stdio.h>
#include <stdlib.h>

bool vg_enabled(void)
{
	const char *logs = getenv("TESTBUS_TEST_VALGRIND");

	return logs != NULL && logs[0] != '\0';
}

char *const *vg_argv(char *const *argv, char **buf, size_t cap)
{
	size_t n = 0;

	if (!vg_enabled())
		return argv;
	while (argv[n] != NULL)
		n++;
	/* The script, argv's n entries and the NULL. */
	if (n + 2 > cap) {
		fprintf(stderr, "vg_argv: %zu arguments do not fit in %zu\n", n, cap);
		abort();
	}
	buf[0] = VG_RUN_SCRIPT;
	for (size_t i = 0; i <= n; i++)
		buf[i + 1] = argv[i];
	return buf;
}

unsigned vg_time_scale(void)
{
	const char *text = getenv("TESTBUS_TEST_TIME_SCALE");
	unsigned long scale = text != NULL ? strtoul(text, NULL, 10) : 1;

	return scale >= 1 && scale <= 1000 ? (unsigned)scale : 1;
}
