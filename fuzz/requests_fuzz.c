/*
 * Fuzz target: each request message of the four services. The first byte
 * picks the method; the rest is its packed input, sent in a well-formed
 * envelope through the server of that service, whose handler runs the
 * component code that handles the message (see fuzz_components.h).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "fuzz_bus.h"
#include "fuzz_components.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	const struct fuzz_method *m = &fuzz_methods[data[0] % fuzz_n_methods];
	uint8_t *request = NULL;
	size_t len = 0;
	/* Call id 0: no de-duplication, so every input runs its handler. */
	if (fuzz_request_pack(m->service, m->method, 0, 0, data + 1, size - 1, &request, &len) !=
	    TB_OK)
		return 0;
	int code = fuzz_server_send(fuzz_component(m->kind), request, len);
	fuzz_require(code != TB_UNAUTHENTICATED, "no identity is asked for");
	free(request);
	return 0;
}
