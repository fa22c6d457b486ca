/* YAML into Values, value accessors, map lookup and the arena. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bus_fixture.h"

static Testbus__V1__ValueMap *load(const char *text)
{
	Testbus__V1__ValueMap *map = NULL;
	tb_status st;
	int rv = tb_value_map_from_yaml_string(text, strlen(text), "t.yaml", &map, &st);
	if (rv != TB_OK)
		fail_msg("%s", st.message);
	return map;
}

static void test_scalars_follow_the_core_schema(void **state)
{
	(void)state;
	Testbus__V1__ValueMap *m = load("i: 42\nneg: -7\nhex: 0x1f\nf: 2.5\nb: true\nB: False\n"
	                                "s: hello\nq: \"42\"\nn: ~\nzero_lead: 007\nver: 1.2.3\n");
	int64_t i = 0;
	double d = 0;
	bool b = false;
	assert_int_equal(tb_value_int(tb_value_map_get(m, "i"), &i), TB_OK);
	assert_int_equal(i, 42);
	assert_int_equal(tb_value_int(tb_value_map_get(m, "neg"), &i), TB_OK);
	assert_int_equal(i, -7);
	assert_int_equal(tb_value_int(tb_value_map_get(m, "hex"), &i), TB_OK);
	assert_int_equal(i, 31);
	assert_int_equal(tb_value_double(tb_value_map_get(m, "f"), &d), TB_OK);
	assert_true(fabs(d - 2.5) < 1e-9);
	assert_int_equal(tb_value_double(tb_value_map_get(m, "i"), &d), TB_OK);
	assert_int_equal(tb_value_bool(tb_value_map_get(m, "b"), &b), TB_OK);
	assert_true(b);
	assert_int_equal(tb_value_bool(tb_value_map_get(m, "B"), &b), TB_OK);
	assert_false(b);
	assert_string_equal(tb_value_string(tb_value_map_get(m, "s")), "hello");
	assert_string_equal(tb_value_string(tb_value_map_get(m, "q")), "42");
	assert_int_equal(tb_value_int(tb_value_map_get(m, "zero_lead"), &i), TB_OK);
	assert_int_equal(i, 7); /* YAML 1.2: decimal, not octal */
	assert_string_equal(tb_value_string(tb_value_map_get(m, "ver")), "1.2.3");
	const Testbus__V1__Value *n = tb_value_map_get(m, "n");
	assert_non_null(n);
	assert_int_equal(n->kind_case, TESTBUS__V1__VALUE__KIND__NOT_SET);
	assert_int_equal(tb_value_int(tb_value_map_get(m, "s"), &i), TB_INVALID_ARGUMENT);
	assert_int_equal(tb_value_int(tb_value_map_get(m, "missing"), &i), TB_NOT_FOUND);
	protobuf_c_message_free_unpacked(&m->base, NULL);
}

static void test_lists_and_maps(void **state)
{
	(void)state;
	Testbus__V1__ValueMap *m = load("command: [sh, -c, 'echo {suite}']\n"
	                                "env:\n  A: 1\n  B: two\nmixed: [a, 1]\n");
	const char **argv = NULL;
	size_t n = 0;
	assert_int_equal(tb_value_string_list(tb_value_map_get(m, "command"), &argv, &n), TB_OK);
	assert_int_equal(n, 3);
	assert_string_equal(argv[2], "echo {suite}");
	assert_null(argv[3]);
	free(argv);
	assert_int_equal(tb_value_string_list(tb_value_map_get(m, "mixed"), &argv, &n),
	                 TB_INVALID_ARGUMENT);
	const Testbus__V1__ValueMap *env = tb_value_as_map(tb_value_map_get(m, "env"));
	assert_non_null(env);
	assert_string_equal(tb_value_string(tb_value_map_get(env, "B")), "two");
	protobuf_c_message_free_unpacked(&m->base, NULL);
}

static void test_bad_documents_name_file_and_line(void **state)
{
	(void)state;
	Testbus__V1__ValueMap *m = NULL;
	tb_status st;
	const char *bad = "a: 1\nb: [unclosed\n";
	assert_int_equal(tb_value_map_from_yaml_string(bad, strlen(bad), "bad.yaml", &m, &st),
	                 TB_INVALID_ARGUMENT);
	assert_non_null(strstr(st.message, "bad.yaml:"));
	const char *list = "- a\n- b\n";
	assert_int_equal(tb_value_map_from_yaml_string(list, strlen(list), "list.yaml", &m, &st),
	                 TB_INVALID_ARGUMENT);
	assert_non_null(strstr(st.message, "list.yaml:1: the document must be a mapping"));
	/* Aliases that multiply (a "billion laughs") are cut off. */
	char bomb[2048] = "a: &a [x, x, x, x, x, x, x, x, x, x]\n";
	const char *prev = "a";
	for (int i = 0; i < 8; i++) {
		char line[128];
		snprintf(line, sizeof(line), "l%d: &l%d [*%s, *%s, *%s, *%s, *%s, *%s, *%s, *%s]\n", i,
		         i, prev, prev, prev, prev, prev, prev, prev, prev);
		strcat(bomb, line);
		static char names[8][8];
		snprintf(names[i], sizeof(names[i]), "l%d", i);
		prev = names[i];
	}
	assert_int_equal(tb_value_map_from_yaml_string(bomb, strlen(bomb), "bomb.yaml", &m, &st),
	                 TB_RESOURCE_EXHAUSTED);
	assert_int_equal(tb_value_map_from_yaml_file("/nonexistent/x.yaml", &m, &st), TB_NOT_FOUND);
	const char *empty = "";
	assert_int_equal(tb_value_map_from_yaml_string(empty, 0, "e.yaml", &m, &st), TB_OK);
	assert_int_equal(m->n_fields, 0);
	protobuf_c_message_free_unpacked(&m->base, NULL);
}

static void test_arena(void **state)
{
	(void)state;
	tb_arena *a = NULL;
	assert_int_equal(tb_arena_alloc(&a), TB_OK);
	for (int i = 0; i < 1000; i++) {
		char *s = tb_arena_printf(a, "item-%d", i);
		assert_string_equal(s, tb_arena_strdup(a, s));
	}
	uint8_t *big = tb_arena_zalloc(a, 100000);
	assert_non_null(big);
	assert_int_equal(big[99999], 0);
	assert_true(((uintptr_t)tb_arena_zalloc(a, 3) % _Alignof(max_align_t)) == 0);
	tb_arena_free(a);
	tb_arena_free(NULL);
}

static void test_status_names(void **state)
{
	(void)state;
	assert_string_equal(tb_strerror(TB_DEADLINE_EXCEEDED), "DEADLINE_EXCEEDED");
	assert_string_equal(tb_strerror(99), "UNKNOWN");
	assert_int_equal(tb_code_from_name("UNAUTHENTICATED"), TB_UNAUTHENTICATED);
	assert_int_equal(tb_code_from_name("nope"), -1);
	assert_int_equal(tb_default_deadline_ms("testbus.v1.Component", "Describe"), 10000);
	assert_true(tb_default_deadline_ms("testbus.v1.Executor", "Execute") >= 3600000);
	assert_true(tb_default_deadline_ms("x", "y") > 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_scalars_follow_the_core_schema),
		cmocka_unit_test(test_lists_and_maps),
		cmocka_unit_test(test_bad_documents_name_file_and_line),
		cmocka_unit_test(test_arena),
		cmocka_unit_test(test_status_names),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
