/* Out-of-memory test: every allocation the loader makes fails in turn, cleanly. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "fixture.h"
#include "testbus/status.h"

/* The loader's malloc, calloc, realloc and strdup come here (linked with --wrap). */
void *__real_malloc(size_t n);
void *__real_calloc(size_t n, size_t size);
void *__real_realloc(void *p, size_t n);
char *__real_strdup(const char *s);

/* Visible, since shared libraries linked in may be bound to the wrappers too. */
#define WRAP __attribute__((visibility("default")))

static long alloc_countdown = -1; /* -1: never fail */
static bool alloc_failed;

static bool alloc_should_fail(void)
{
	if (alloc_countdown < 0)
		return false;
	if (alloc_countdown-- == 0) {
		alloc_failed = true;
		return true;
	}
	return false;
}

WRAP void *__wrap_malloc(size_t n)
{
	return alloc_should_fail() ? NULL : __real_malloc(n);
}

WRAP void *__wrap_calloc(size_t n, size_t size)
{
	return alloc_should_fail() ? NULL : __real_calloc(n, size);
}

WRAP void *__wrap_realloc(void *p, size_t n)
{
	return alloc_should_fail() ? NULL : __real_realloc(p, n);
}

WRAP char *__wrap_strdup(const char *s)
{
	return alloc_should_fail() ? NULL : __real_strdup(s);
}

static struct fixture_bin bin;

static int setup(void **state)
{
	fixture_bin_init(&bin, fixture_programs);
	setenv("LAB_TOKEN", "x", 1);
	return 0;
}

static int teardown(void **state)
{
	fixture_bin_fini(&bin, fixture_programs);
	return 0;
}

/*
 * Fails allocation k for k = 0, 1, ... until a load makes no failing call;
 * the loader makes at least min_allocs allocations (so the wrappers work).
 */
static void fail_each(int (*load)(struct broker_config **, struct config_errors *), int want,
                      long min_allocs)
{
	for (long k = 0;; k++) {
		struct broker_config *cfg = NULL;
		struct config_errors errs = {0};
		alloc_failed = false;
		alloc_countdown = k;
		int rv = load(&cfg, &errs);
		alloc_countdown = -1;
		if (!alloc_failed) {
			assert_int_equal(rv, want);
			assert_true(k >= min_allocs);
			config_free(cfg);
			config_errors_fini(&errs);
			return;
		}
		if (rv != TB_RESOURCE_EXHAUSTED && rv != want)
			fail_msg("allocation %ld failed: got %d", k, rv);
		if (rv != TB_OK)
			assert_null(cfg);
		config_free(cfg);
		config_errors_fini(&errs);
	}
}

static int load_example(struct broker_config **cfgp, struct config_errors *errs)
{
	struct config_options opts = {.bin_dir = bin.dir};
	return config_load_file(SOURCE_DIR "/examples/config/full.yaml", &opts, cfgp, errs);
}

static int load_bad(struct broker_config **cfgp, struct config_errors *errs)
{
	static const char text[] = "components:\n"
	                           "  - provisioner: local\n"
	                           "  - executor: shell\n"
	                           "    config: {a: [1, {b: '${NOPE_UNSET}'}], a: 2}\n"
	                           "  - executor: shell\n"
	                           "phases: [{name: p, targets: [{shards: 0, executor: x}]}]\n"
	                           "bogus: 1\n";
	unsetenv("NOPE_UNSET");
	return fixture_load("bad.yaml", text, bin.dir, cfgp, errs);
}

static int load_default(struct broker_config **cfgp, struct config_errors *errs)
{
	struct config_options opts = {.bin_dir = bin.dir, .home_dir = SOURCE_DIR};
	return config_load_default(&opts, cfgp, errs);
}

static void test_example(void **state)
{
	fail_each(load_example, TB_OK, 100);
}

static void test_bad(void **state)
{
	fail_each(load_bad, TB_INVALID_ARGUMENT, 20);
}

static void test_default(void **state)
{
	fail_each(load_default, TB_OK, 50);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_example),
	    cmocka_unit_test(test_bad),
	    cmocka_unit_test(test_default),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
