/* Sending bad inputs to a target and tallying what came back against the documented outcome. */
#ifndef TESTBUS_TEST_BADINPUT_PROBE_H
#define TESTBUS_TEST_BADINPUT_PROBE_H

#include "envelope.h"
#include "raw_call.h"
#include "table.h"
#include "target.h"

/* What docs/protocol.md says happens to an input. */
struct expect {
	enum raw_outcome outcome; /* RAW_ANSWERED, or the refusal */
	code_set codes;           /* the allowed codes when answered */
};

/* The outcomes of one row's inputs, each followed by a good request. */
struct tally {
	unsigned inputs;
	unsigned by_code[TB_UNAUTHENTICATED + 1];
	unsigned refused;        /* dial refused or dropped, as the row expects or not */
	char refusal[160];       /* the last refusal's text */
	unsigned mismatches;
	unsigned served;         /* good requests served after an input */
	char first_failure[160]; /* the first good request that failed */
	code_set documented;     /* union of the expectations, for the table */
	enum raw_outcome expected_outcome;
};

/* An expectation that the component answers one of codes. */
struct expect expect_codes(code_set codes);

/* An expectation that the connection refuses the input. */
struct expect expect_refusal(enum raw_outcome outcome);

/*
 * Sends buf to url (NULL: t's own) with client TLS material tls (NULL: none;
 * target_client_tls(t) for a trusted caller), compares with e, then sends t's good request and counts both in
 * tally. label names the input in mismatch lines on stderr. Blocks.
 */
void probe_send(struct tally *tally, struct target *t, const char *url,
                const struct raw_tls *tls, const void *buf, size_t len, struct expect e,
                const char *label);

/* Records an outcome observed some other way (e.g. by libtestbus), then the good request. */
void probe_record(struct tally *tally, struct target *t, const struct raw_result *r,
                  struct expect e, const char *label);

/* Fills row's documented, observed, match and next columns from tally. */
void probe_fill_row(struct table_row *row, const struct tally *tally);

#endif
