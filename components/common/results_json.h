/* The versioned results.json schema: a run's ReportInput as JSON and back (see docs/results.md). */
#ifndef TESTBUS_COMMON_RESULTS_JSON_H
#define TESTBUS_COMMON_RESULTS_JSON_H

#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>

#include "redact.h"
#include "testbus/arena.h"
#include "testbus/proto.h"
#include "testbus/status.h"

#ifdef __cplusplus
extern "C" {
#endif

/*
 * The schema version written as `schema_version`. It grows when a field
 * changes meaning or goes away; new fields do not change it. Readers refuse a
 * document whose version is newer than theirs.
 */
#define TB_RESULTS_SCHEMA_VERSION 1

/* Flags of tb_results_to_string and tb_results_write_file. */
#define TB_RESULTS_PRETTY 0x1u /* indented, one field a line */

/*
 * A deep copy of in, allocated from a, fit to leave the machine: every
 * kubeconfig is dropped, every string has its secrets replaced by TB_REDACTED
 * (when r is not NULL) and is made printable UTF-8 (invalid bytes become
 * U+FFFD, terminal escape sequences and control characters other than tab
 * and newline are removed). Reporters render only such a copy. The copy is
 * freed with the arena; in is not changed. Returns TB_OK,
 * TB_RESOURCE_EXHAUSTED or TB_INTERNAL (in does not pack).
 */
int tb_results_prepare(const Testbus__V1__ReportInput *in, const tb_redactor *r, tb_arena *a,
                       Testbus__V1__ReportInput **outp, tb_status *st);

/*
 * Renders in as a results.json object (schema TB_RESULTS_SCHEMA_VERSION),
 * after tb_results_prepare with r (may be NULL: no redaction, but kubeconfigs
 * are still left out). Caller owns *objp; release with json_object_put().
 */
int tb_results_to_json(const Testbus__V1__ReportInput *in, const tb_redactor *r,
                       json_object **objp, tb_status *st);

/*
 * Renders in as results.json text, NUL-terminated. flags: TB_RESULTS_PRETTY.
 * Caller owns *textp; free with free().
 */
int tb_results_to_string(const Testbus__V1__ReportInput *in, const tb_redactor *r,
                         unsigned flags, char **textp, tb_status *st);

/*
 * Writes results.json to path: a temporary file beside it, fsynced, then
 * renamed over path, so a reader never sees half a file. Mode 0644. Blocks.
 * Errors name the path.
 */
int tb_results_write_file(const Testbus__V1__ReportInput *in, const tb_redactor *r,
                          const char *path, unsigned flags, tb_status *st);

/*
 * Reads a results.json object back into a ReportInput allocated from a (freed
 * with the arena). Unknown fields are ignored; a missing schema_version, one
 * newer than TB_RESULTS_SCHEMA_VERSION or a field of the wrong type fails
 * with TB_INVALID_ARGUMENT naming the field. Derived fields (per-phase
 * totals, durations) are not read.
 */
int tb_results_from_json(const json_object *obj, tb_arena *a, Testbus__V1__ReportInput **outp,
                         tb_status *st);

/* tb_results_from_json on len bytes of JSON text. */
int tb_results_from_string(const char *text, size_t len, tb_arena *a,
                           Testbus__V1__ReportInput **outp, tb_status *st);

/* tb_results_from_json on a file. Blocks. Errors name the path. */
int tb_results_read_file(const char *path, tb_arena *a, Testbus__V1__ReportInput **outp,
                         tb_status *st);

/* --- names and formats the schema uses, shared with the other reporters --- */

/* "passed", "failed", "error", "skipped" or "unknown". Never NULL. */
const char *tb_results_status_name(Testbus__V1__TestStatus status);

/* "info", "low", "medium", "high", "critical" or "unknown". Never NULL. */
const char *tb_results_severity_name(Testbus__V1__Severity severity);

/*
 * Formats Unix milliseconds as RFC 3339 UTC with milliseconds
 * ("2024-05-01T12:00:00.250Z") into buf of size n (at least 25 bytes).
 * Returns buf; an empty string when ms is 0 (unknown) or n is too small.
 */
char *tb_results_format_time(int64_t ms, char *buf, size_t n);

/*
 * Parses an RFC 3339 time ("Z" or a numeric offset, optional fraction) into
 * Unix milliseconds. Returns TB_OK or TB_INVALID_ARGUMENT.
 */
int tb_results_parse_time(const char *text, int64_t *msp);

/* Adds the counts of add (may be NULL) to sum. */
void tb_results_add_summary(Testbus__V1__ResultSummary *sum,
                            const Testbus__V1__ResultSummary *add);

/* Adds the counts of every target of a phase to sum (which the caller initialises). */
void tb_results_phase_summary(const Testbus__V1__PhaseReport *ph,
                              Testbus__V1__ResultSummary *sum);

/*
 * Adds the run's counts to sum: in->summary when set, else the sum over every
 * target.
 */
void tb_results_run_summary(const Testbus__V1__ReportInput *in,
                            Testbus__V1__ResultSummary *sum);

/*
 * Writes len bytes of data to path through a temporary file beside it,
 * fsynced and renamed, mode 0644. Blocks. Errors name the path.
 */
int tb_results_write_text(const char *path, const char *data, size_t len, tb_status *st);

/*
 * Reads the whole file at path (at most max bytes) into a NUL-terminated heap
 * buffer. Caller owns *textp; free with free(). Blocks. Errors name the path:
 * TB_NOT_FOUND, TB_PERMISSION_DENIED, TB_RESOURCE_EXHAUSTED past max.
 */
int tb_results_slurp(const char *path, size_t max, char **textp, size_t *lenp, tb_status *st);

/*
 * A copy of len bytes of s made printable UTF-8 as tb_results_prepare does,
 * allocated from a. s may be NULL (gives ""). NULL when out of memory.
 */
char *tb_results_clean_text(tb_arena *a, const char *s, size_t len);

#ifdef __cplusplus
}
#endif

#endif
