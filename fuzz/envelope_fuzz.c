/*
 * Fuzz target: raw bytes as a request envelope, through the server's decode,
 * identity, de-duplication and dispatch path of all four component kinds,
 * including the built-in Component service (Describe, Health, Configure,
 * Cancel). Every request must get a well-formed answer.
 */
#include <stddef.h>
#include <stdint.h>

#include "fuzz_bus.h"
#include "fuzz_components.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const Testbus__V1__ComponentKind kinds[] = {
		TESTBUS__V1__COMPONENT_KIND__KIND_PROVISIONER,
		TESTBUS__V1__COMPONENT_KIND__KIND_EXECUTOR,
		TESTBUS__V1__COMPONENT_KIND__KIND_ANALYZER,
		TESTBUS__V1__COMPONENT_KIND__KIND_REPORTER,
	};
	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
		(void)fuzz_server_send(fuzz_component(kinds[i]), data, size);
	return 0;
}
