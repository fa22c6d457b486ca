/* Rows: oversized messages, plaintext and untrusted TLS, a protocol version out of range. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "probe.h"
#include "rows.h"
#include "sender.h"

/* One drop per component: NNG 1.5.2 can stop serving after any one of them
 * (docs/protocol.md, Sizes); the table shows it, and does not seek it. */
#define OVERSIZED_BYTES (8u * 1024u * 1024u)
#define CLIENT_OVERSIZED_BYTES (1024u * 1024u)
#define CALL_DEADLINE_MS 30000

/* A raw request far beyond the limit: NNG drops the connection, and the
 * component must neither keep it nor stop serving. */
static void row_raw_oversized(struct table *table, struct target *t, unsigned max_message)
{
	struct tally tally = {0};
	struct raw_result r;
	char label[96];
	bool caller_hung;
	long rss_before = component_proc_rss_kb(&t->proc);
	sender_send_zeros(t->proc.url, target_client_tls(t), OVERSIZED_BYTES, &r, &caller_hung);
	snprintf(label, sizeof(label), "raw request of %u MiB (limit %u KiB)", OVERSIZED_BYTES >> 20,
	         max_message >> 10);
	probe_record(&tally, t, &r, expect_refusal(RAW_DROPPED), label);
	/* After the good request: the component has done all it will with it. */
	long rss_after = component_proc_rss_kb(&t->proc);
	struct table_row *row = table_add(table, t->name, label);
	probe_fill_row(row, &tally);
	/* The caller's own NNG, not the component: noted, not a mismatch. */
	if (caller_hung) {
		size_t used = strlen(row->observed);
		cell_printf(row->observed + used, sizeof(row->observed) - used,
		            "; the caller did not close cleanly");
	}
	/* Had the component kept one, it would have grown by its size. */
	row = table_add(table, t->name, "memory after the oversized request");
	snprintf(row->documented, sizeof(row->documented), "VmRSS grows < %u MiB",
	         OVERSIZED_BYTES >> 20);
	snprintf(row->observed, sizeof(row->observed), "VmRSS %ld -> %ld KiB", rss_before,
	         rss_after);
	row->matched = rss_before > 0 && rss_after > 0 &&
	               rss_after - rss_before < (long)(OVERSIZED_BYTES >> 10);
	row->served = component_proc_alive(&t->proc);
	snprintf(row->next, sizeof(row->next), "%s",
	         row->served ? "process alive" : "the component process has exited");
}

/* An Execute whose target carries a label of `size` bytes. */
static int execute_big(tb_conn *conn, size_t size, tb_status *st)
{
	Testbus__V1__ExecutionTarget target = TESTBUS__V1__EXECUTION_TARGET__INIT;
	Testbus__V1__ExecutionTarget__LabelsEntry big =
	    TESTBUS__V1__EXECUTION_TARGET__LABELS_ENTRY__INIT;
	Testbus__V1__ExecutionTarget__LabelsEntry *labels[] = {&big};
	Testbus__V1__ExecutionResult *out = NULL;
	tb_call_opts opts = {.deadline_ms = CALL_DEADLINE_MS};
	char *value = malloc(size + 1);
	if (value == NULL)
		return tb_status_set(st, TB_RESOURCE_EXHAUSTED, "out of memory");
	memset(value, 'x', size);
	value[size] = '\0';
	big.key = "big";
	big.value = value;
	target.labels = labels;
	target.n_labels = 1;
	int rv = tb_executor_execute(conn, &target, &out, &opts, st);
	if (out != NULL)
		protobuf_c_message_free_unpacked(&out->base, NULL);
	free(value);
	return rv;
}

/* The same through libtestbus: without and with the limit learnt from Describe. */
static void rows_client_oversized(struct table *table, struct target *t, bool with_drops)
{
	const struct {
		const char *input;
		bool handshake;
		int documented;
	} cases[] = {
		/* The caller refuses to send it at all. */
		{"1 MiB Execute after Describe (libtestbus)", true, TB_RESOURCE_EXHAUSTED},
		/* NNG drops the connection; the call ends at once, not at its deadline.
		 * Not over TLS, where the drop can hang the caller's NNG (sender.h). */
		{"1 MiB Execute, limit not learnt (libtestbus)", false, TB_UNAVAILABLE},
	};
	size_t n_cases = with_drops && !t->use_tls ? 2 : 1;
	for (size_t i = 0; i < n_cases; i++) {
		struct tally tally = {0};
		struct raw_result r = {.outcome = RAW_ANSWERED};
		tb_conn_opts opts = target_conn_opts(t);
		tb_conn *conn = NULL;
		tb_status st = {0};
		int rv = tb_conn_open(t->proc.url, &opts, &conn, &st);
		if (rv == TB_OK && cases[i].handshake) {
			Testbus__V1__ComponentInfo *info = NULL;
			rv = tb_handshake(conn, CALL_DEADLINE_MS, &info, &st);
			if (info != NULL)
				protobuf_c_message_free_unpacked(&info->base, NULL);
		}
		if (rv == TB_OK)
			rv = execute_big(conn, CLIENT_OVERSIZED_BYTES, &st);
		tb_conn_close(conn);
		r.code = rv;
		cell_printf(r.message, sizeof(r.message), "%s", st.message);
		probe_record(&tally, t, &r, expect_codes(CODE_BIT(cases[i].documented)),
		             cases[i].input);
		struct table_row *row = table_add(table, t->name, cases[i].input);
		probe_fill_row(row, &tally);
		strncat(row->observed, " (caller)", sizeof(row->observed) - strlen(row->observed) - 1);
	}
}

void rows_oversized(struct table *table, struct target *t, unsigned max_message,
                    bool with_drops)
{
	if (with_drops)
		row_raw_oversized(table, t, max_message);
	if (t->served.service == &testbus__v1__executor__descriptor)
		rows_client_oversized(table, t, with_drops);
}

void rows_tls(struct table *table, struct target *t, const struct pki *pki)
{
	/* The TLS listener's address with plaintext tcp:// instead. */
	char plain_url[600];
	const char *hostport = strstr(t->proc.url, "://");
	snprintf(plain_url, sizeof(plain_url), "tcp%s", hostport ? hostport : "");
	const struct {
		const char *input;
		const char *url;
		struct raw_tls tls;
		bool plaintext;
	} cases[] = {
		{"plaintext tcp:// to the tls+tcp:// listener", plain_url, {0}, true},
		{"TLS without a client certificate", NULL,
		 {pki->ca, NULL, NULL, "localhost"}, false},
		{"TLS client certificate from a foreign CA", NULL,
		 {pki->ca, pki->rogue_cert, pki->rogue_key, "localhost"}, false},
		{"TLS client not trusting the server's CA", NULL,
		 {pki->rogue_ca, pki->client_cert, pki->client_key, "localhost"}, false},
		{"TLS client expecting another server name", NULL,
		 {pki->ca, pki->client_cert, pki->client_key, "other.example"}, false},
	};
	Testbus__V1__Request describe = TESTBUS__V1__REQUEST__INIT;
	Testbus__V1__Request__MetadataEntry token = TESTBUS__V1__REQUEST__METADATA_ENTRY__INIT;
	Testbus__V1__Request__MetadataEntry *metadata[] = {&token};
	uint8_t buf[512];
	token.key = TB_META_TOKEN;
	token.value = (char *)pki->token;
	describe.service = "testbus.v1.Component";
	describe.method = "Describe";
	describe.metadata = metadata;
	describe.n_metadata = 1;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct tally tally = {0};
		describe.call_id = tb_new_call_id();
		size_t len = testbus__v1__request__pack(&describe, buf);
		probe_send(&tally, t, cases[i].url, cases[i].plaintext ? NULL : &cases[i].tls, buf, len,
		           expect_refusal(RAW_DIAL_REFUSED), cases[i].input);
		probe_fill_row(table_add(table, t->name, cases[i].input), &tally);
	}
}

void rows_protocol_version(struct table *table, const char *bin_dir, const char *dir,
                           struct target *good)
{
	char bin[300], url[400], log[400], err[300];
	struct component_proc old;
	struct table_row *row = table_add(table, "old-protocol ipc", "Describe says protocol 99");
	tb_conn *conn = NULL;
	tb_status st = {0};
	Testbus__V1__ComponentInfo *info = NULL;
	snprintf(row->documented, sizeof(row->documented), "FAILED_PRECONDITION naming 99, 1 to 1");
	snprintf(bin, sizeof(bin), "%s/testbus-test-old-protocol", bin_dir);
	snprintf(url, sizeof(url), "ipc://%s/old.ipc", dir);
	snprintf(log, sizeof(log), "%s/old-protocol.log", dir);
	char *argv[] = {bin, "--listen", url, NULL};
	if (component_proc_start(&old, argv, url, log, err, sizeof(err)) != 0) {
		cell_printf(row->observed, sizeof(row->observed), "%s", err);
		return;
	}
	/* The caller's handshake refuses it. */
	int rv = tb_conn_open(url, NULL, &conn, &st);
	if (rv == TB_OK)
		rv = tb_handshake(conn, CALL_DEADLINE_MS, &info, &st);
	const char *speaks = strstr(st.message, "speaks");
	cell_printf(row->observed, sizeof(row->observed), "%s: ...%s", tb_strerror(rv),
	            speaks ? speaks : st.message);
	row->matched = rv == TB_FAILED_PRECONDITION && info == NULL &&
	               strstr(st.message, "protocol version 99") != NULL &&
	               strstr(st.message, "supports 1 to 1") != NULL;
	if (info != NULL)
		protobuf_c_message_free_unpacked(&info->base, NULL);
	info = NULL;
	/* The same component still answers, and the caller still talks to a good one. */
	Testbus__V1__Empty empty = TESTBUS__V1__EMPTY__INIT;
	tb_call_opts opts = {.deadline_ms = CALL_DEADLINE_MS};
	if (conn != NULL && tb_component_describe(conn, &empty, &info, &opts, &st) != TB_OK) {
		cell_printf(row->next, sizeof(row->next), "Describe again: %s", st.message);
		goto out;
	}
	char why[160];
	row->served = target_serves(good, why, sizeof(why));
	cell_printf(row->next, sizeof(row->next), "Describe answered again; %s: %s", good->name,
	            why);
out:
	if (info != NULL)
		protobuf_c_message_free_unpacked(&info->base, NULL);
	tb_conn_close(conn);
	component_proc_stop(&old);
}
