/* A run's results for the reporter tests: every test status, retries, findings and planted secrets. */
#ifndef TESTBUS_TEST_REPORTERS_FIXTURE_H
#define TESTBUS_TEST_REPORTERS_FIXTURE_H

#include <stdbool.h>

#include "testbus/testbus.h"

/*
 * Secrets planted in the fixture. None of them may appear in any report:
 * the kubeconfig is dropped, the others are caught by the redaction patterns.
 */
#define FIX_KUBECONFIG_SECRET "c3VwZXItc2VjcmV0LWNsaWVudC1rZXktZGF0YQ"
#define FIX_BEARER_SECRET "eyFakeBearerTokenValue0123456789abcdef"
#define FIX_PASSWORD_SECRET "hunter2-Correct-Horse"
#define FIX_GITHUB_SECRET "ghp_0123456789abcdefghijABCDEFGHIJ0123456789"

/* Text that must come out escaped: markup, quotes, ampersands. */
#define FIX_HOSTILE_NAME "renders <script>alert('x')</script> & \"quotes\""

/*
 * The expected run totals: 12 tests, 6 passed, 2 failed, 2 errors,
 * 2 skipped, 2 flaky (one that passed on retry, one that failed every run).
 */
#define FIX_TOTAL 12
#define FIX_PASSED 6
#define FIX_FAILED 2
#define FIX_ERRORS 2
#define FIX_SKIPPED 2
#define FIX_FLAKY 2

/* Names that reports must show. */
#define FIX_RUN_ID "run-20240501-120000-ab12"
#define FIX_CLUSTER_NAME "e2e-eu-1"
#define FIX_FLAKY_TEST "reconciles after a node restart"
#define FIX_FAILED_TEST "scales the deployment to three replicas"
#define FIX_FAILED_MESSAGE "expected 3 ready replicas, got 1"
#define FIX_FINDING_TITLE "Image pull back-off"
#define FIX_LOST_ERROR "no JUnit report was written (exit status 2)"

/*
 * Builds the fixture in a (everything allocated from it). The run failed.
 * Phases: "smoke" (one passing target) and "e2e" (a target retried after an
 * executor loss with failed, errored, skipped and flaky tests and two rules
 * findings, and a target whose suite died without a report, recorded as a
 * synthetic errored test).
 */
Testbus__V1__ReportInput *fixture_results(tb_arena *a);

/* A passing run: only the smoke phase. */
Testbus__V1__ReportInput *fixture_results_passing(tb_arena *a);

/* True when text (len bytes) contains any planted secret; names it in *which. */
bool fixture_has_secret(const char *text, size_t len, const char **which);

/* Reads a whole file into a NUL-terminated heap buffer; NULL when unreadable. */
char *fixture_slurp(const char *path, size_t *lenp);

#endif
