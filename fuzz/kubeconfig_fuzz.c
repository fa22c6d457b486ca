/*
 * Fuzz target: the kubeconfig reader (tb_kubeconfig_parse) with the current
 * context and with a named one, then flattening what it read when that
 * needs no file of this host.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_bus.h"
#include "kubeconfig.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void kubeconfig_read(const uint8_t *data, size_t size, const char *context)
{
	tb_kubeconfig kc;
	tb_status st;
	int rv = tb_kubeconfig_parse((const char *)data, size, "/nonexistent", "fuzz", context, &kc,
	                             &st);
	if (rv != TB_OK) {
		fuzz_require(kc.context == NULL && kc.server == NULL && kc.token == NULL,
		             "a refused kubeconfig leaves nothing behind");
		return;
	}
	fuzz_require(kc.context != NULL, "a read kubeconfig names its context");
	fuzz_require(context == NULL || strcmp(kc.context, context) == 0,
	             "the context asked for is the one read");
	char *flat = NULL;
	size_t len = 0;
	if (kc.ca_file == NULL && kc.cert_file == NULL && kc.key_file == NULL &&
	    tb_kubeconfig_flatten(&kc, &flat, &len, &st) == TB_OK) {
		/* What was flattened reads back as the same cluster. */
		tb_kubeconfig again;
		if (tb_kubeconfig_parse(flat, len, "/nonexistent", "flat", NULL, &again, &st) != TB_OK) {
			fprintf(stderr, "flattened:\n%s\nread back: %s\n", flat, st.message);
			fuzz_require(false, "a flattened kubeconfig reads back");
		}
		fuzz_require((kc.server == NULL) == (again.server == NULL) &&
		                 (kc.server == NULL || strcmp(kc.server, again.server) == 0),
		             "flattening keeps the server");
		tb_kubeconfig_fini(&again);
		free(flat);
	}
	tb_kubeconfig_fini(&kc);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	kubeconfig_read(data, size, NULL);
	kubeconfig_read(data, size, "fuzz");
	return 0;
}
