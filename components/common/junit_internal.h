/* What the JUnit reader's files share (prefix tbc_: internal to testbus_common). */
#ifndef TESTBUS_COMMON_JUNIT_INTERNAL_H
#define TESTBUS_COMMON_JUNIT_INTERNAL_H

#include <stdbool.h>

#include "junit.h"

/* One distinct test of a collector. */
typedef struct junit_entry {
	uint64_t hash;
	char *key; /* suite \x1f classname \x1f name */
	Testbus__V1__TestCase *tc;
} junit_entry;

struct tb_junit {
	tb_arena *arena;
	tb_junit_opts opts;
	junit_entry *entries; /* in order of first appearance */
	size_t n, cap;
	uint32_t *slots; /* open addressing: entry index + 1; 0 is empty */
	size_t n_slots;  /* a power of two, at least twice n */
};

/* A new earlier attempt allocated from j's arena; NULL when out of memory. */
Testbus__V1__TestAttempt *tbc_junit_attempt_new(tb_junit *j, Testbus__V1__TestStatus status,
                                                double ms, char *message);

/* True for TEST_FAILED and TEST_ERROR. */
bool tbc_junit_is_bad(Testbus__V1__TestStatus s);

/* Makes room for extra more distinct tests, so that merging them cannot fail for space. */
int tbc_junit_grow(tb_junit *j, size_t extra);

/* Adds tc as a new test or as the latest run of one already seen (tbc_junit_grow first). */
int tbc_junit_merge(tb_junit *j, Testbus__V1__TestCase *tc);

#endif
