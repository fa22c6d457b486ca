/* Unit tests of the shared executor logic: config parsing, placeholders, label filters, results. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "executor.h"
#include "executor_internal.h"

/* A framework with one key of each type, to exercise the tables. */
typedef struct demo_config {
	const char *name;
	tb_exec_strv list;
	uint32_t count;
} demo_config;

static const tb_exec_key demo_keys[] = {
	{"name", TB_KEY_STRING, offsetof(demo_config, name), "a name"},
	{"list", TB_KEY_STRINGS, offsetof(demo_config, list), "a list"},
	{"count", TB_KEY_UINT, offsetof(demo_config, count), "a count"},
};

static const tb_exec_filter_default demo_filters[] = {
	{"focus", TB_FILTER_FOCUS},
	{"markers", TB_FILTER_MARKERS},
};

static void demo_defaults(void *fw)
{
	((demo_config *)fw)->count = 7;
}

static const tb_exec_framework demo = {
	.name = "demo", .keys = demo_keys, .n_keys = 3, .fw_size = sizeof(demo_config),
	.defaults = demo_defaults, .filters = demo_filters, .n_filters = 2,
};

/* Parses YAML text as the component config of demo. */
static int parse(tb_arena *a, const char *yaml, tb_exec_config **cfgp, tb_status *st)
{
	Testbus__V1__ValueMap *map = NULL;
	Testbus__V1__ComponentConfig cfg = TESTBUS__V1__COMPONENT_CONFIG__INIT;
	Testbus__V1__ComponentConfig__ConfigEntry e[16], *ep[16];
	int rv;

	assert_int_equal(tb_value_map_from_yaml_string(yaml, strlen(yaml), "test", &map, st), TB_OK);
	assert_true(map->n_fields <= 16);
	for (size_t i = 0; i < map->n_fields; i++) {
		testbus__v1__component_config__config_entry__init(&e[i]);
		e[i].key = map->fields[i]->key;
		e[i].value = map->fields[i]->value;
		ep[i] = &e[i];
	}
	cfg.config = ep;
	cfg.n_config = map->n_fields;
	cfg.artifacts_dir = "/runs/r1";
	rv = tb_exec_config_parse(&demo, &cfg, a, cfgp, st);
	protobuf_c_message_free_unpacked(&map->base, NULL);
	return rv;
}

static void test_durations_and_sizes(void **state)
{
	static const struct {
		const char *text;
		uint32_t ms;
	} good[] = {{"90s", 90000}, {"5m", 300000}, {"1h30m", 5400000}, {"250ms", 250},
	            {"2", 2000},    {"1.5", 1500},  {"1d", 86400000},   {"0.5s", 500}};
	const char *bad[] = {"", "5x", "-1s", "s", "1h-5m", "2 s"};
	uint32_t ms;
	uint64_t bytes;

	(void)state;
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		assert_int_equal(tb_exec_parse_duration(good[i].text, &ms), TB_OK);
		assert_int_equal(ms, good[i].ms);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_not_equal(tb_exec_parse_duration(bad[i], &ms), TB_OK);
	assert_int_equal(tb_exec_parse_duration("100d", &ms), TB_OUT_OF_RANGE);
	assert_int_equal(tb_exec_parse_size("64MiB", &bytes), TB_OK);
	assert_int_equal(bytes, 64ull << 20);
	assert_int_equal(tb_exec_parse_size("512k", &bytes), TB_OK);
	assert_int_equal(bytes, 512 * 1024);
	assert_int_equal(tb_exec_parse_size("1.5 KiB", &bytes), TB_OK);
	assert_int_equal(bytes, 1536);
	assert_int_equal(tb_exec_parse_size("3MB", &bytes), TB_OK);
	assert_int_equal(bytes, 3000000);
	assert_int_equal(tb_exec_parse_size("100", &bytes), TB_OK);
	assert_int_equal(bytes, 100);
	assert_int_not_equal(tb_exec_parse_size("12q", &bytes), TB_OK);
	assert_int_not_equal(tb_exec_parse_size("-1k", &bytes), TB_OK);
}

static void test_config_parse(void **state)
{
	tb_arena *a = NULL;
	tb_exec_config *cfg = NULL;
	demo_config *dc;
	tb_status st;

	(void)state;
	assert_int_equal(tb_arena_alloc(&a), TB_OK);
	assert_int_equal(parse(a,
	                       "name: 42\nlist: one\ntimeout: 90s\ngrace: 2\nmax_log_bytes: 1MiB\n"
	                       "env: {A: 1, B: text, C: true}\njunit: ['x/*.xml', 'y.xml']\n"
	                       "inherit_env: false\n",
	                       &cfg, &st),
	                 TB_OK);
	dc = cfg->fw;
	assert_string_equal(dc->name, "42");
	assert_int_equal(dc->list.n, 1);
	assert_string_equal(dc->list.v[0], "one");
	assert_null(dc->list.v[1]);
	assert_int_equal(dc->count, 7); /* the framework default */
	assert_int_equal(cfg->timeout_ms, 90000);
	assert_int_equal(cfg->grace_ms, 2000);
	assert_int_equal(cfg->max_log_bytes, 1 << 20);
	assert_int_equal(cfg->env.n, 3);
	assert_string_equal(cfg->env.v[0], "A=1");
	assert_string_equal(cfg->env.v[2], "C=true");
	assert_int_equal(cfg->junit.n, 2);
	assert_false(cfg->inherit_env);
	assert_true(cfg->log_events); /* common default */
	assert_string_equal(cfg->run_artifacts, "/runs/r1");

	assert_int_equal(parse(a, "nmae: x\n", &cfg, &st), TB_INVALID_ARGUMENT);
	assert_null(cfg);
	assert_non_null(strstr(st.message, "'nmae'"));
	assert_int_equal(parse(a, "count: -3\n", &cfg, &st), TB_INVALID_ARGUMENT);
	assert_non_null(strstr(st.message, "whole number"));
	assert_int_equal(parse(a, "env: [a, b]\n", &cfg, &st), TB_INVALID_ARGUMENT);
	assert_int_equal(parse(a, "inherit_env: maybe\n", &cfg, &st), TB_INVALID_ARGUMENT);
	assert_int_equal(parse(a, "label_filters: {suite: regexp}\n", &cfg, &st), TB_INVALID_ARGUMENT);
	assert_non_null(strstr(st.message, "regexp"));
	assert_non_null(strstr(tb_exec_config_help(&demo), "max_log_bytes"));
	tb_arena_free(a);
}

/* A context with a target holding labels given as key, value pairs. */
typedef struct demo_ctx {
	tb_exec_ctx ctx;
	Testbus__V1__ExecutionTarget target;
	Testbus__V1__ExecutionTarget__LabelsEntry e[8], *ep[8];
} demo_ctx;

static void demo_ctx_init(demo_ctx *d, tb_arena *a, const tb_exec_config *cfg,
                          const char *const *labels)
{
	testbus__v1__execution_target__init(&d->target);
	for (size_t i = 0; labels[2 * i] != NULL; i++) {
		testbus__v1__execution_target__labels_entry__init(&d->e[i]);
		d->e[i].key = (char *)labels[2 * i];
		d->e[i].value = (char *)labels[2 * i + 1];
		d->ep[i] = &d->e[i];
		d->target.n_labels = i + 1;
	}
	d->target.labels = d->ep;
	d->target.run_id = "r1";
	d->target.target_id = "t1";
	d->target.attempt = 2;
	d->ctx = (tb_exec_ctx){.cfg = cfg, .target = &d->target, .call_dir = "/calls/t1-2", .arena = a};
}

static void test_expand(void **state)
{
	const char *labels[] = {"suite", "net", "a.b-c", "v", NULL};
	tb_arena *a = NULL;
	demo_ctx d;
	char *out = NULL;
	tb_status st;

	(void)state;
	assert_int_equal(tb_arena_alloc(&a), TB_OK);
	demo_ctx_init(&d, a, NULL, labels);
	assert_int_equal(tb_exec_expand(&d.ctx, "{artifacts_dir}/{suite}-{attempt}-{run_id}-{target_id}",
	                                &out, &st),
	                 TB_OK);
	assert_string_equal(out, "/calls/t1-2/net-2-r1-t1");
	assert_int_equal(tb_exec_expand(&d.ctx, "${HOME} {{x}} awk '{print $1}' {a,b} {a.b-c} }", &out, &st),
	                 TB_OK);
	assert_string_equal(out, "${HOME} {x} awk '{print $1}' {a,b} v }");
	assert_int_equal(tb_exec_expand(&d.ctx, "{missing}", &out, &st), TB_INVALID_ARGUMENT);
	assert_non_null(strstr(st.message, "{missing}"));
	assert_null(out);
	assert_string_equal(tb_exec_label_env_name(a, "suite-name.x"), "TESTBUS_LABEL_SUITE_NAME_X");
	tb_arena_free(a);
}

static void test_filters(void **state)
{
	const char *labels[] = {"focus", "net", "markers", "smoke", "area", "dns", "shard", "1", NULL};
	tb_arena *a = NULL;
	tb_exec_config *cfg = NULL;
	const char *filters[TB_FILTER_COUNT];
	demo_ctx d;
	tb_status st;

	(void)state;
	assert_int_equal(tb_arena_alloc(&a), TB_OK);
	assert_int_equal(parse(a, "label_filters: {area: focus, markers: none}\n", &cfg, &st), TB_OK);
	demo_ctx_init(&d, a, cfg, labels);
	assert_int_equal(tb_exec_filters(&demo, cfg, &d.target, a, filters, &st), TB_OK);
	assert_string_equal(filters[TB_FILTER_FOCUS], "(net)|(dns)");
	assert_null(filters[TB_FILTER_MARKERS]); /* turned off by label_filters */
	assert_null(filters[TB_FILTER_SKIP]);
	assert_string_equal(tb_exec_filter_join(a, TB_FILTER_MARKERS, "slow", "smoke"),
	                    "(slow) and (smoke)");
	assert_string_equal(tb_exec_filter_join(a, TB_FILTER_LABEL_FILTER, "a", "b"), "(a) && (b)");
	assert_string_equal(tb_exec_filter_join(a, TB_FILTER_KEYWORD, "", "k"), "k");
	assert_null(tb_exec_filter_join(a, TB_FILTER_SKIP, NULL, NULL));
	assert_string_equal(tb_exec_filter_name(TB_FILTER_LABEL_FILTER), "label_filter");
	tb_arena_free(a);
}

/* A huge result is trimmed to the budget, failures kept longest. */
static void test_result_fits_budget(void **state)
{
	tb_arena *a = NULL;
	tb_exec_config *cfg = NULL;
	tb_junit *j = NULL;
	tbc_exec_outcome oc = {0};
	tb_exec_plan plan = {0};
	Testbus__V1__ExecutionTarget target = TESTBUS__V1__EXECUTION_TARGET__INIT;
	Testbus__V1__ExecutionResult *r = NULL;
	char *xml = NULL, *big = malloc(4001);
	size_t len = 0, cap = 8 << 20;
	tb_status st;

	(void)state;
	memset(big, 'x', 4000);
	big[4000] = '\0';
	assert_non_null(xml = malloc(cap));
	len += (size_t)snprintf(xml, cap, "<testsuite name='s'>");
	for (int i = 0; i < 1000; i++)
		len += (size_t)snprintf(xml + len, cap - len,
		                        "<testcase classname='c' name='t%d'>%s%s%s</testcase>", i,
		                        i % 100 ? "" : "<failure message='m'>", i % 100 ? "" : big,
		                        i % 100 ? "" : "</failure>");
	len += (size_t)snprintf(xml + len, cap - len, "</testsuite>");
	assert_int_equal(tb_arena_alloc(&a), TB_OK);
	assert_int_equal(parse(a, "max_result_bytes: 8KiB\n", &cfg, &st), TB_OK);
	assert_int_equal(tb_junit_alloc(a, NULL, &j), TB_OK);
	assert_int_equal(tb_junit_add_memory(j, xml, len, "big", NULL, &st), TB_OK);
	tb_exec_strv_push(a, &plan.argv, "suite");
	tb_exec_strv_push(a, &plan.junit, "*.xml");
	tb_exec_strv_push(a, &oc.junit_files, "/x/big.xml");
	oc = (tbc_exec_outcome){.executor = "demo", .plan = &plan, .call_dir = "/x", .started = true,
	                        .junit = j, .junit_files = oc.junit_files, .stdout_path = "/x/o",
	                        .stderr_path = "/x/e"};
	oc.proc.exit_code = 1;
	target.target_id = "t";
	assert_int_equal(tbc_exec_result(cfg, &target, &oc, a, &r), TB_OK);
	assert_true(protobuf_c_message_get_packed_size(&r->base) <= 8 * 1024);
	assert_int_equal(r->summary->total, 1000); /* the summary keeps every test */
	assert_int_equal(r->summary->failed, 10);
	assert_int_equal(r->n_test_cases, 10);     /* only the failures stay */
	assert_string_equal(tb_value_string(tb_map_get(r->metadata, r->n_metadata, "result_trimmed")),
	                    "passed and skipped tests dropped");
	assert_false(r->success);
	assert_string_equal(r->error, "");
	tb_junit_free(j);
	tb_arena_free(a);
	free(xml);
	free(big);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_durations_and_sizes), cmocka_unit_test(test_config_parse),
		cmocka_unit_test(test_expand),              cmocka_unit_test(test_filters),
		cmocka_unit_test(test_result_fits_budget),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
