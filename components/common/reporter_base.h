/* What every reporter component shares: config keys from a table, the run from Initialize, redaction, artifacts. */
#ifndef TESTBUS_COMMON_REPORTER_BASE_H
#define TESTBUS_COMMON_REPORTER_BASE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "redact.h"
#include "testbus/testbus.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The type of a config key, and where its value goes in the reporter's config struct. */
typedef enum tb_rkey_type {
	TB_RKEY_STRING, /* const char * */
	TB_RKEY_BOOL,   /* bool */
	TB_RKEY_INT,    /* int64_t, within [min, max] */
	TB_RKEY_CHOICE, /* int: the index of the string in choices */
	TB_RKEY_LIST,   /* tb_rlist: a list of strings (a single string is a list of one) */
	TB_RKEY_MAP,    /* tb_rmap: a map of strings */
} tb_rkey_type;

typedef struct tb_rlist {
	const char **items;
	size_t n;
} tb_rlist;

typedef struct tb_rmap {
	const char **keys;
	const char **values;
	size_t n;
} tb_rmap;

typedef struct tb_reporter_key {
	const char *name;             /* snake_case */
	tb_rkey_type type;
	size_t offset;                /* in the reporter's config struct */
	const char *def_string;       /* default of a STRING key; may be NULL */
	int64_t def_int;              /* default of an INT, BOOL or CHOICE key */
	int64_t min, max;             /* bounds of an INT key */
	const char *const *choices;   /* NULL-terminated, for CHOICE keys */
} tb_reporter_key;

/*
 * Keys every reporter accepts, besides its own:
 *   redact_patterns: [regex, ...]  extra secret patterns (PCRE2)
 *   redact_env: [NAME, ...]        environment variables whose values are secrets
 */

typedef struct tb_reporter tb_reporter;

/*
 * A reporter's work on one Report call. in is the prepared copy of the
 * request (kubeconfig dropped, secrets redacted, text cleaned). config is the
 * reporter's config struct (read only). Fills out, allocating from
 * tb_call_arena(call). Returns TB_OK or a code with tb_call_error.
 */
typedef int (*tb_reporter_report_fn)(tb_reporter *rep, tb_call *call,
                                     const Testbus__V1__ReportInput *in, const void *config,
                                     Testbus__V1__ReportOutput *out);

/*
 * Optional: checks a config once every key is read, and may add the secrets
 * it holds (tokens, webhook URLs) to the literals every report is redacted
 * with via tb_reporter_add_secret. Returns TB_OK or a code with st set.
 */
typedef int (*tb_reporter_check_fn)(tb_reporter *rep, void *config, tb_status *st);

typedef struct tb_reporter_def {
	const char *name;             /* e.g. "console": the component is testbus-reporter-<name> */
	const char *summary;          /* one line for --help */
	const char *config_help;      /* the reporter's keys for --help */
	const tb_reporter_key *keys;  /* its own keys; may be NULL */
	size_t n_keys;
	size_t config_size;           /* sizeof its config struct */
	tb_reporter_check_fn check;   /* may be NULL */
	tb_reporter_report_fn report;
} tb_reporter_def;

/* The main() of a reporter component: tb_component_main with the Reporter service. */
int tb_reporter_main(const tb_reporter_def *def, int argc, char **argv);

/*
 * Inside check: adds a literal secret (copied) that every later report is
 * redacted with. Returns TB_OK or TB_RESOURCE_EXHAUSTED.
 */
int tb_reporter_add_secret(tb_reporter *rep, const char *secret);

/*
 * Inside check: the arena of the config being read, for what the check
 * derives from it (freed with that config). NULL outside check.
 */
tb_arena *tb_reporter_conf_arena(tb_reporter *rep);

/*
 * Inside report: the path of file in the run's artifacts folder (file itself
 * when absolute), allocated from the call arena; NULL when out of memory.
 */
char *tb_reporter_path(tb_reporter *rep, tb_call *call, const char *file);

/* Inside report: the run id Initialize gave (or the report's). Borrowed. */
const char *tb_reporter_run_id(tb_reporter *rep);

/*
 * Inside report: writes data to path (tb_results_write_text) and appends it
 * to out->artifacts with its size and media type. Errors go through
 * tb_call_error.
 */
int tb_reporter_write_artifact(tb_call *call, Testbus__V1__ReportOutput *out, const char *path,
                               const char *name, const char *media_type, const char *data,
                               size_t len);

/* Inside report: appends an artifact record for a file already written. */
int tb_reporter_add_artifact(tb_call *call, Testbus__V1__ReportOutput *out, const char *path,
                             const char *name, const char *media_type);

/*
 * Redacts s with the redactor of the Report call being served, for text a
 * reporter adds itself (e.g. an HTTP answer quoted in an error). Allocated
 * from the call arena; s may be NULL (gives "").
 */
char *tb_reporter_redact(tb_reporter *rep, tb_call *call, const char *s);

/* --- text building and formats --- */

/*
 * A growing NUL-terminated text buffer. Zero it to start; out of memory
 * sticks in oom (later appends do nothing). Free with tb_rbuf_fini.
 */
typedef struct tb_rbuf {
	char *data;
	size_t len;
	size_t cap;
	bool oom;
} tb_rbuf;

void tb_rbuf_put(tb_rbuf *b, const char *s, size_t n);
void tb_rbuf_puts(tb_rbuf *b, const char *s);
void tb_rbuf_printf(tb_rbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void tb_rbuf_fini(tb_rbuf *b);

/* A duration for people: "850ms", "4.2s", "3m05s", "1h02m". Returns buf. */
char *tb_reporter_duration(double ms, char *buf, size_t n);

#ifdef __cplusplus
}
#endif

#endif
