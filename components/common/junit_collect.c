/* The JUnit collector: distinct tests keyed by suite, class and name, retries merged. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "junit_internal.h"

const char *tb_junit_status_name(Testbus__V1__TestStatus status)
{
	switch (status) {
	case TESTBUS__V1__TEST_STATUS__TEST_PASSED:
		return "passed";
	case TESTBUS__V1__TEST_STATUS__TEST_FAILED:
		return "failed";
	case TESTBUS__V1__TEST_STATUS__TEST_ERROR:
		return "error";
	case TESTBUS__V1__TEST_STATUS__TEST_SKIPPED:
		return "skipped";
	default:
		return "unspecified";
	}
}

static void junit_opts_fill(tb_junit_opts *o, const tb_junit_opts *in)
{
	if (in != NULL)
		*o = *in;
	else
		memset(o, 0, sizeof(*o));
	if (o->max_bytes == 0)
		o->max_bytes = TB_JUNIT_DEFAULT_MAX_BYTES;
	if (o->max_output == 0)
		o->max_output = TB_JUNIT_DEFAULT_MAX_OUTPUT;
	if (o->max_message == 0)
		o->max_message = TB_JUNIT_DEFAULT_MAX_MESSAGE;
	if (o->max_tests == 0)
		o->max_tests = TB_JUNIT_DEFAULT_MAX_TESTS;
}

int tb_junit_alloc(tb_arena *arena, const tb_junit_opts *opts, tb_junit **jp)
{
	tb_junit *j = NULL;
	int rv = TB_RESOURCE_EXHAUSTED;

	if (arena == NULL || jp == NULL)
		return TB_INVALID_ARGUMENT;
	if ((j = calloc(1, sizeof(*j))) == NULL)
		goto out;
	j->arena = arena;
	junit_opts_fill(&j->opts, opts);
	rv = TB_OK;
out:
	*jp = rv == TB_OK ? j : NULL;
	return rv;
}

void tb_junit_free(tb_junit *j)
{
	if (j == NULL)
		return;
	for (size_t i = 0; i < j->n; i++)
		free(j->entries[i].key);
	free(j->entries);
	free(j->slots);
	free(j);
}

Testbus__V1__TestAttempt *tbc_junit_attempt_new(tb_junit *j, Testbus__V1__TestStatus status,
                                                double ms, char *message)
{
	Testbus__V1__TestAttempt *at = tb_arena_zalloc(j->arena, sizeof(*at));

	if (at == NULL || message == NULL)
		return NULL;
	testbus__v1__test_attempt__init(at);
	at->status = status;
	at->duration_ms = ms;
	at->message = message;
	return at;
}

bool tbc_junit_is_bad(Testbus__V1__TestStatus s)
{
	return s == TESTBUS__V1__TEST_STATUS__TEST_FAILED || s == TESTBUS__V1__TEST_STATUS__TEST_ERROR;
}

static uint64_t junit_hash(const char *s)
{
	uint64_t h = 1469598103934665603ull;

	for (; *s != '\0'; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ull;
	return h;
}

int tbc_junit_grow(tb_junit *j, size_t extra)
{
	size_t need = j->n + extra, n_slots = j->n_slots ? j->n_slots : 64;

	if (need > j->cap) {
		size_t cap = j->cap ? j->cap : 64;
		while (cap < need)
			cap *= 2;
		junit_entry *e = realloc(j->entries, cap * sizeof(*e));
		if (e == NULL)
			return TB_RESOURCE_EXHAUSTED;
		j->entries = e;
		j->cap = cap;
	}
	while (n_slots < need * 2)
		n_slots *= 2;
	if (n_slots != j->n_slots) {
		uint32_t *slots = calloc(n_slots, sizeof(*slots));
		if (slots == NULL)
			return TB_RESOURCE_EXHAUSTED;
		for (size_t i = 0; i < j->n; i++) {
			size_t s = j->entries[i].hash & (n_slots - 1);
			while (slots[s] != 0)
				s = (s + 1) & (n_slots - 1);
			slots[s] = (uint32_t)(i + 1);
		}
		free(j->slots);
		j->slots = slots;
		j->n_slots = n_slots;
	}
	return TB_OK;
}

/* Folds the earlier record old into tc: old's attempts, then old itself, come first. */
static int junit_merge_retry(tb_junit *j, Testbus__V1__TestCase *old, Testbus__V1__TestCase *tc)
{
	size_t n = old->n_attempts + 1 + tc->n_attempts;
	Testbus__V1__TestAttempt **arr = tb_arena_zalloc(j->arena, n * sizeof(*arr));
	Testbus__V1__TestAttempt *prev =
	    tbc_junit_attempt_new(j, old->status, old->duration_ms, old->message);

	if (arr == NULL || prev == NULL)
		return TB_RESOURCE_EXHAUSTED;
	if (old->n_attempts > 0)
		memcpy(arr, old->attempts, old->n_attempts * sizeof(*arr));
	arr[old->n_attempts] = prev;
	if (tc->n_attempts > 0)
		memcpy(arr + old->n_attempts + 1, tc->attempts, tc->n_attempts * sizeof(*arr));
	tc->attempts = arr;
	tc->n_attempts = n;
	tc->attempt += old->attempt;
	tc->flaky = tc->flaky || old->flaky || tbc_junit_is_bad(old->status) || tbc_junit_is_bad(tc->status);
	return TB_OK;
}

/* Adds tc as a new test or as the latest run of one already seen. */
int tbc_junit_merge(tb_junit *j, Testbus__V1__TestCase *tc)
{
	char *key = NULL;
	uint64_t h;
	size_t s;
	int rv = TB_RESOURCE_EXHAUSTED;

	if (asprintf(&key, "%s\x1f%s\x1f%s", tc->suite, tc->classname, tc->name) < 0) {
		key = NULL;
		goto out;
	}
	h = junit_hash(key);
	for (s = h & (j->n_slots - 1); j->slots[s] != 0; s = (s + 1) & (j->n_slots - 1)) {
		junit_entry *e = &j->entries[j->slots[s] - 1];
		if (e->hash == h && strcmp(e->key, key) == 0) {
			if ((rv = junit_merge_retry(j, e->tc, tc)) == TB_OK)
				e->tc = tc;
			goto out;
		}
	}
	j->entries[j->n] = (junit_entry){.hash = h, .key = key, .tc = tc};
	j->slots[s] = (uint32_t)(++j->n);
	key = NULL;
	rv = TB_OK;
out:
	free(key);
	return rv;
}

Testbus__V1__TestCase **tb_junit_cases(tb_junit *j, size_t *np)
{
	Testbus__V1__TestCase **arr = NULL;

	if (j != NULL && j->n > 0 && (arr = tb_arena_zalloc(j->arena, j->n * sizeof(*arr))) != NULL)
		for (size_t i = 0; i < j->n; i++)
			arr[i] = j->entries[i].tc;
	*np = arr != NULL ? j->n : 0;
	return arr;
}

void tb_junit_summary(const tb_junit *j, Testbus__V1__ResultSummary *sum)
{
	sum->total = sum->passed = sum->failed = sum->errors = sum->skipped = sum->flaky = 0;
	for (size_t i = 0; j != NULL && i < j->n; i++) {
		const Testbus__V1__TestCase *tc = j->entries[i].tc;
		sum->total++;
		sum->flaky += tc->flaky;
		switch (tc->status) {
		case TESTBUS__V1__TEST_STATUS__TEST_FAILED:
			sum->failed++;
			break;
		case TESTBUS__V1__TEST_STATUS__TEST_ERROR:
			sum->errors++;
			break;
		case TESTBUS__V1__TEST_STATUS__TEST_SKIPPED:
			sum->skipped++;
			break;
		default:
			sum->passed++;
		}
	}
}
