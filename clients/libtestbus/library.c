/* The library as a whole: its version, and its release at process exit. */
#include "internal.h"

const char *tb_version(void)
{
	return TESTBUS_VERSION;
}

void tb_library_fini(void)
{
	/* NNG frees closed sockets asynchronously; this waits for it. */
	nng_fini();
}
