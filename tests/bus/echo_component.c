/* The echo Executor as a component process, for tests that kill it. */
#include "echo_service.h"

static const tb_component echo_component = {
	.name = "echo",
	.kind = TESTBUS__V1__COMPONENT_KIND__KIND_EXECUTOR,
	.summary = "A test executor whose behaviour each target picks with its mode label.",
	.service = &testbus__v1__executor__descriptor,
	.methods = echo_methods,
	.n_methods = 1,
	.default_capacity = 4,
};

int main(int argc, char **argv)
{
	return tb_component_main(&echo_component, argc, argv);
}
