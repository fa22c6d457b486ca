/* Runs `testbus call` on its own, so the tests need not wait for the testbus command. */
#include "call.h"

int main(int argc, char **argv)
{
	return call_main(argc, argv);
}
