/*
 * Fuzz target: a component's YAML config file (--config), as libtestbus
 * loads it (tb_value_map_from_yaml_string) and as the shipped components
 * read it: the analyzers' policy, the LLM analyzer's settings and the
 * executors' common keys. What loads must survive packing and unpacking.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "executor.h"
#include "fuzz_bus.h"
#include "llm.h"
#include "should_analyze.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* An executor framework with no keys of its own: the common keys only. */
static const tb_exec_framework config_framework = {.name = "fuzz"};

static void config_read(const Testbus__V1__ComponentConfig *cfg)
{
	tb_status st;
	tb_analyze_policy policy;
	(void)tb_analyze_policy_from_config(cfg, &policy, &st);
	struct llm_config llm;
	llm_config_init(&llm);
	(void)llm_config_read(cfg, &llm, &st);
	llm_config_fini(&llm);
	tb_arena *a = NULL;
	tb_exec_config *exec = NULL;
	if (tb_arena_alloc(&a) == TB_OK)
		(void)tb_exec_config_parse(&config_framework, cfg, a, &exec, &st);
	tb_arena_free(a);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	Testbus__V1__ValueMap *map = NULL;
	tb_status st;
	if (tb_value_map_from_yaml_string((const char *)data, size, "fuzz.yaml", &map, &st) != TB_OK)
		return 0;
	/* Configure sends the map packed: it must arrive as it left. */
	size_t len = testbus__v1__value_map__get_packed_size(map);
	uint8_t *packed = malloc(len > 0 ? len : 1);
	if (packed != NULL) {
		testbus__v1__value_map__pack(map, packed);
		Testbus__V1__ValueMap *again = testbus__v1__value_map__unpack(NULL, len, packed);
		fuzz_require(again != NULL && again->n_fields == map->n_fields,
		             "a loaded config packs and unpacks");
		uint8_t *repacked = malloc(len > 0 ? len : 1);
		if (repacked != NULL) {
			fuzz_require(testbus__v1__value_map__pack(again, repacked) == len &&
			                 memcmp(packed, repacked, len) == 0,
			             "an unpacked config packs to the same bytes");
			free(repacked);
		}
		testbus__v1__value_map__free_unpacked(again, NULL);
		free(packed);
	}
	Testbus__V1__ComponentConfig cfg = TESTBUS__V1__COMPONENT_CONFIG__INIT;
	if (tb_component_config_wrap(map, &cfg) == TB_OK) {
		config_read(&cfg);
		tb_component_config_unwrap(&cfg);
	}
	protobuf_c_message_free_unpacked(&map->base, NULL);
	return 0;
}
