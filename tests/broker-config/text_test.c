/* Tests of scalar text in the config: ${VAR} expansion, durations, typed component values. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "fixture.h"
#include "testbus/status.h"
#include "testbus/value.h"

static struct fixture_bin bin;

static int setup(void **state)
{
	fixture_bin_init(&bin, fixture_programs);
	return 0;
}

static int teardown(void **state)
{
	fixture_bin_fini(&bin, fixture_programs);
	return 0;
}

/* A minimal valid config whose shell executor has the given config section. */
static int load_with_section(const char *section, struct broker_config **cfgp,
                             struct config_errors *errs)
{
	char text[2048];
	snprintf(text, sizeof(text),
	         "components:\n"
	         "  - provisioner: local\n"
	         "  - executor: shell\n"
	         "    config:\n%s"
	         "phases:\n"
	         "  - name: p\n"
	         "    targets: [{executor: shell}]\n",
	         section);
	return fixture_load("text.yaml", text, bin.dir, cfgp, errs);
}

static const Testbus__V1__Value *section_get(const struct broker_config *cfg, const char *key)
{
	const struct config_component *c = config_component_find(cfg, "shell");
	assert_non_null(c);
	return tb_value_map_get(c->config, key);
}

static void test_expand(void **state)
{
	struct broker_config *cfg = NULL;
	struct config_errors errs = {0};
	setenv("TB_TEST_TOKEN", "s3cret", 1);
	setenv("TB_TEST_EMPTY", "", 1);
	unsetenv("TB_TEST_UNSET");
	int rv = load_with_section("      plain: ${TB_TEST_TOKEN}\n"
	                           "      inside: \"a-${TB_TEST_TOKEN}-b\"\n"
	                           "      twice: ${TB_TEST_TOKEN}${TB_TEST_TOKEN}\n"
	                           "      fallback: ${TB_TEST_UNSET:-fallback value}\n"
	                           "      empty_fallback: ${TB_TEST_EMPTY:-used}\n"
	                           "      empty: '${TB_TEST_EMPTY}'\n"
	                           "      escaped: \"$${NOT_EXPANDED} and $$ and $x\"\n"
	                           "      nested: {list: [\"${TB_TEST_TOKEN}\", 2]}\n",
	                           &cfg, &errs);
	assert_int_equal(rv, TB_OK);
	assert_string_equal(tb_value_string(section_get(cfg, "plain")), "s3cret");
	assert_string_equal(tb_value_string(section_get(cfg, "inside")), "a-s3cret-b");
	assert_string_equal(tb_value_string(section_get(cfg, "twice")), "s3crets3cret");
	assert_string_equal(tb_value_string(section_get(cfg, "fallback")), "fallback value");
	assert_string_equal(tb_value_string(section_get(cfg, "empty_fallback")), "used");
	assert_string_equal(tb_value_string(section_get(cfg, "empty")), "");
	assert_string_equal(tb_value_string(section_get(cfg, "escaped")),
	                    "${NOT_EXPANDED} and $$ and $x");
	const Testbus__V1__ValueMap *nested = tb_value_as_map(section_get(cfg, "nested"));
	const Testbus__V1__ValueList *list = tb_value_list(tb_value_map_get(nested, "list"));
	assert_int_equal(list->n_values, 2);
	assert_string_equal(tb_value_string(list->values[0]), "s3cret");
	config_free(cfg);
	config_errors_fini(&errs);
}

static void test_expand_errors(void **state)
{
	struct broker_config *cfg = NULL;
	struct config_errors errs = {0};
	unsetenv("TB_TEST_UNSET");
	unsetenv("TB_TEST_UNSET2");
	int rv = load_with_section("      a: ${TB_TEST_UNSET}\n"
	                           "      b: x${TB_TEST_UNSET2}y${TB_TEST_UNSET}\n"
	                           "      c: ${1BAD}\n"
	                           "      d: ${OPEN\n",
	                           &cfg, &errs);
	assert_int_equal(rv, TB_INVALID_ARGUMENT);
	assert_null(cfg);
	char *all = fixture_join(&errs);
	assert_string_equal(all, "text.yaml:5: environment variable 'TB_TEST_UNSET' is not set\n"
	                         "text.yaml:6: environment variable 'TB_TEST_UNSET2' is not set\n"
	                         "text.yaml:6: environment variable 'TB_TEST_UNSET' is not set\n"
	                         "text.yaml:7: invalid variable name in '${1BAD}'\n"
	                         "text.yaml:8: unterminated '${' (no closing '}')");
	free(all);
	config_errors_fini(&errs);
}

static void test_expand_in_broker_keys(void **state)
{
	struct broker_config *cfg = NULL;
	struct config_errors errs = {0};
	setenv("TB_TEST_SHARDS", "7", 1);
	setenv("TB_TEST_TIMEOUT", "90s", 1);
	const char *text = "components:\n"
	                   "  - provisioner: local\n"
	                   "  - executor: shell\n"
	                   "phases:\n"
	                   "  - name: p\n"
	                   "    targets:\n"
	                   "      - shards: ${TB_TEST_SHARDS}\n"
	                   "        timeout: ${TB_TEST_TIMEOUT}\n"
	                   "        retries: ${TB_TEST_UNSET:-3}\n"
	                   "        labels: {user: \"${TB_TEST_SHARDS}x\"}\n";
	assert_int_equal(fixture_load("t.yaml", text, bin.dir, &cfg, &errs), TB_OK);
	const struct config_target *t = &cfg->phases[0].targets[0];
	assert_int_equal(t->shards, 7);
	assert_int_equal(t->timeout_ms, 90000);
	assert_int_equal(t->retries, 3);
	assert_string_equal(t->labels.items[0].value, "7x");
	config_free(cfg);
	config_errors_fini(&errs);
}

static void test_typed_values(void **state)
{
	struct broker_config *cfg = NULL;
	struct config_errors errs = {0};
	int rv = load_with_section("      int: 42\n"
	                           "      neg: -7\n"
	                           "      hex: 0x1f\n"
	                           "      octal: 0o17\n"
	                           "      float: 2.5\n"
	                           "      exp: 1e3\n"
	                           "      yes: true\n"
	                           "      no: False\n"
	                           "      quoted_int: \"42\"\n"
	                           "      quoted_bool: 'true'\n"
	                           "      version: 4.15.0\n"
	                           "      nothing: ~\n"
	                           "      word: hello world\n",
	                           &cfg, &errs);
	assert_int_equal(rv, TB_OK);
	int64_t i = 0;
	double d = 0;
	bool b = false;
	assert_int_equal(tb_value_int(section_get(cfg, "int"), &i), TB_OK);
	assert_int_equal(i, 42);
	assert_int_equal(tb_value_int(section_get(cfg, "neg"), &i), TB_OK);
	assert_int_equal(i, -7);
	assert_int_equal(tb_value_int(section_get(cfg, "hex"), &i), TB_OK);
	assert_int_equal(i, 31);
	assert_int_equal(tb_value_int(section_get(cfg, "octal"), &i), TB_OK);
	assert_int_equal(i, 15);
	assert_int_equal(tb_value_double(section_get(cfg, "float"), &d), TB_OK);
	assert_true(d == 2.5);
	assert_int_equal(tb_value_double(section_get(cfg, "exp"), &d), TB_OK);
	assert_true(d == 1000.0);
	assert_int_equal(tb_value_bool(section_get(cfg, "yes"), &b), TB_OK);
	assert_true(b);
	assert_int_equal(tb_value_bool(section_get(cfg, "no"), &b), TB_OK);
	assert_false(b);
	assert_string_equal(tb_value_string(section_get(cfg, "quoted_int")), "42");
	assert_string_equal(tb_value_string(section_get(cfg, "quoted_bool")), "true");
	assert_string_equal(tb_value_string(section_get(cfg, "version")), "4.15.0");
	const Testbus__V1__Value *nothing = section_get(cfg, "nothing");
	assert_non_null(nothing);
	assert_int_equal(nothing->kind_case, TESTBUS__V1__VALUE__KIND__NOT_SET);
	assert_string_equal(tb_value_string(section_get(cfg, "word")), "hello world");
	config_free(cfg);
	config_errors_fini(&errs);
}

static void test_section_problems(void **state)
{
	struct broker_config *cfg = NULL;
	struct config_errors errs = {0};
	int rv = load_with_section("      key: 1\n"
	                           "      other: {a: 1, a: 2}\n"
	                           "      key: 2\n"
	                           "      ? [complex]\n"
	                           "      : 3\n",
	                           &cfg, &errs);
	assert_int_equal(rv, TB_INVALID_ARGUMENT);
	char *all = fixture_join(&errs);
	assert_string_equal(all, "text.yaml:6: duplicate key 'a' (first at line 6)\n"
	                         "text.yaml:7: duplicate key 'key' (first at line 5)\n"
	                         "text.yaml:8: a key must be a string, not a sequence");
	free(all);
	config_errors_fini(&errs);
}

static void test_durations(void **state)
{
	static const struct {
		const char *text;
		int rv;
		uint32_t ms;
	} cases[] = {
	    {"30s", TB_OK, 30000},
	    {"10m", TB_OK, 600000},
	    {"1h30m", TB_OK, 5400000},
	    {"1h30m15s", TB_OK, 5415000},
	    {"500ms", TB_OK, 500},
	    {"2d", TB_OK, 172800000},
	    {"1m30s250ms", TB_OK, 90250},
	    {"49d", TB_OK, 4233600000u},
	    {"50d", TB_OUT_OF_RANGE, 0},
	    {"99999999999s", TB_OUT_OF_RANGE, 0},
	    {"0s", TB_INVALID_ARGUMENT, 0},
	    {"30", TB_INVALID_ARGUMENT, 0},
	    {"", TB_INVALID_ARGUMENT, 0},
	    {"s", TB_INVALID_ARGUMENT, 0},
	    {"1.5h", TB_INVALID_ARGUMENT, 0},
	    {"10x", TB_INVALID_ARGUMENT, 0},
	    {"10 m", TB_INVALID_ARGUMENT, 0},
	    {"-5s", TB_INVALID_ARGUMENT, 0},
	    {"5mins", TB_INVALID_ARGUMENT, 0},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint32_t ms = 7;
		int rv = config_parse_duration(cases[i].text, &ms);
		if (rv != cases[i].rv)
			fail_msg("'%s': got %d, want %d", cases[i].text, rv, cases[i].rv);
		assert_int_equal(ms, cases[i].rv == TB_OK ? cases[i].ms : 7);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_expand),
	    cmocka_unit_test(test_expand_errors),
	    cmocka_unit_test(test_expand_in_broker_keys),
	    cmocka_unit_test(test_typed_values),
	    cmocka_unit_test(test_section_problems),
	    cmocka_unit_test(test_durations),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
