/*
 * Fuzz target: the broker's YAML config loader (config_load_string): YAML
 * parsing, the schema, ${VAR} substitution, cross references and checks.
 */
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "fuzz_bus.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* Relative paths resolve under a folder that does not exist. */
	const struct config_options opts = {
		.bin_dir = "/nonexistent/bin",
		.home_dir = "/nonexistent/home",
	};
	struct broker_config *cfg = NULL;
	struct config_errors errs = {0};
	int rv = config_load_string((const char *)data, size, "/nonexistent/fuzz.yaml", &opts, &cfg,
	                            &errs);
	fuzz_require((rv == TB_OK) == (cfg != NULL), "a config is returned exactly on success");
	fuzz_require(rv == TB_OK || rv == TB_RESOURCE_EXHAUSTED || errs.n > 0,
	             "a refused config says why");
	config_free(cfg);
	config_errors_fini(&errs);
	return 0;
}
