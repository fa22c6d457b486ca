/* The ShouldAnalyze policy both analyzers share: when a result is worth analysing. */
#ifndef TESTBUS_COMMON_SHOULD_ANALYZE_H
#define TESTBUS_COMMON_SHOULD_ANALYZE_H

#include <stddef.h>
#include <stdint.h>

#include "testbus/proto.h"
#include "testbus/status.h"

#ifdef __cplusplus
extern "C" {
#endif

enum tb_analyze_when {
	TB_ANALYZE_ON_FAILURE = 0, /* the default */
	TB_ANALYZE_ALWAYS,
	TB_ANALYZE_NEVER,
};

/*
 * The policy, read from an analyzer's config:
 *   should_analyze: on_failure | always | never   (default on_failure)
 *   min_failures: N   (on_failure only: analyse when at least N tests failed
 *                      or errored; default 1. A run that failed by itself
 *                      (error, timeout, non-zero exit with no failed test) is
 *                      analysed whatever N is.)
 * Plain data: no cleanup needed.
 */
typedef struct tb_analyze_policy {
	enum tb_analyze_when when;
	uint32_t min_failures;
} tb_analyze_policy;

/* The default policy: on failure, from one failed test. */
void tb_analyze_policy_init(tb_analyze_policy *p);

/*
 * Reads the policy from config (may be NULL: the default). Sets *p only on
 * success; fails with TB_INVALID_ARGUMENT naming the key and the bad value.
 */
int tb_analyze_policy_from_config(const Testbus__V1__ComponentConfig *config,
                                  tb_analyze_policy *p, tb_status *st);

/*
 * Decides whether result should be analysed. Writes the answer and a one-line
 * reason into *decision; reason points into buf (size bytes), which the
 * caller owns. result may be NULL (never analysed). Does not block.
 */
void tb_analyze_policy_decide(const tb_analyze_policy *p,
                              const Testbus__V1__ExecutionResult *result,
                              Testbus__V1__Decision *decision, char *buf, size_t size);

/* The number of failed plus errored tests in result (from its test cases
 * when they say more than its summary). */
uint32_t tb_result_failures(const Testbus__V1__ExecutionResult *result);

#ifdef __cplusplus
}
#endif

#endif
