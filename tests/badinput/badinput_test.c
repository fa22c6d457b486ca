/*
 * The bad-input table: malformed, truncated, oversized and empty envelopes,
 * unknown names, a protocol version out of range, missing and wrong tokens,
 * plaintext and untrusted TLS, each sent to real component processes, each
 * followed by a good request to the same process. Prints the table and
 * exits 1 when a row did not get its documented status or refusal, or the
 * component stopped serving. With --with-drops it also sends requests NNG
 * drops for their size, and checks the memory they leave.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "rows.h"
#include "sender.h"

#define EXECUTOR_MAX_MESSAGE (256u * 1024u)
/* Adds the rows where NNG drops a connection for a message's size. */
#define WITH_DROPS_ARG "--with-drops"
#define TOKEN "badinput-7f3a9c"
#define NNG_PANIC "panic: pthread_mutex_lock"

enum { EXECUTOR_IPC, REPORTER_IPC, EXECUTOR_TLS, N_TARGETS };

static void run(const char *fmt, const char *a, const char *b)
{
	char cmd[1200];
	snprintf(cmd, sizeof(cmd), fmt, a, b);
	if (system(cmd) != 0) {
		fprintf(stderr, "failed: %s\n", cmd);
		exit(1);
	}
}

static void make_pki(struct pki *pki, const char *dir)
{
	char pki_dir[256];
	snprintf(pki_dir, sizeof(pki_dir), "%s/pki", dir);
	if (mkdir(pki_dir, 0700) != 0) {
		fprintf(stderr, "cannot make %s\n", pki_dir);
		exit(1);
	}
	run("sh '%s/make_certs.sh' '%s'", BUS_TESTS_DIR, pki_dir);
	struct {
		char *path;
		const char *file;
	} files[] = {
		{pki->ca, "ca.pem"},           {pki->server_cert, "server.pem"},
		{pki->server_key, "server.key"}, {pki->client_cert, "client.pem"},
		{pki->client_key, "client.key"}, {pki->rogue_ca, "rogue-ca.pem"},
		{pki->rogue_cert, "rogue.pem"},  {pki->rogue_key, "rogue.key"},
	};
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++)
		snprintf(files[i].path, sizeof(pki->ca), "%s/%s", pki_dir, files[i].file);
	pki->token = TOKEN;
}

static void start_targets(struct target targets[N_TARGETS], const char *bin_dir,
                          const char *dir, const struct pki *pki)
{
	char sub[300], url[400], err[400];
	int rv;
	snprintf(sub, sizeof(sub), "%s/executor-ipc", dir);
	snprintf(url, sizeof(url), "ipc://%s/executor.ipc", sub);
	rv = target_start_executor(&targets[EXECUTOR_IPC], bin_dir, sub, url, NULL,
	                           EXECUTOR_MAX_MESSAGE, err, sizeof(err));
	if (rv == 0) {
		snprintf(sub, sizeof(sub), "%s/reporter-ipc", dir);
		rv = target_start_reporter(&targets[REPORTER_IPC], bin_dir, sub, err, sizeof(err));
	}
	if (rv == 0) {
		snprintf(sub, sizeof(sub), "%s/executor-tls", dir);
		rv = target_start_executor(&targets[EXECUTOR_TLS], bin_dir, sub,
		                           "tls+tcp://127.0.0.1:0", pki, EXECUTOR_MAX_MESSAGE, err,
		                           sizeof(err));
	}
	if (rv != 0) {
		fprintf(stderr, "%s\n", err);
		for (int i = 0; i < N_TARGETS; i++)
			component_proc_stop(&targets[i].proc);
		exit(1);
	}
}

/*
 * The last row of each component: it still runs, and stops cleanly when told.
 * NNG 1.5.2 has aborted while a component closed its TLS listener ("panic:
 * pthread_mutex_lock: Invalid argument" in its log, under the sanitizer build
 * and load); that is shown, and not counted against the component.
 */
static void rows_stop(struct table *table, struct target targets[N_TARGETS])
{
	for (int i = 0; i < N_TARGETS; i++) {
		struct target *t = &targets[i];
		struct table_row *row = table_add(table, t->name, "SIGTERM after every row");
		char end[32];
		bool alive = component_proc_alive(&t->proc);
		int code = component_proc_stop(&t->proc);
		bool nng_panic = code != 0 && component_proc_log_has(&t->proc, NNG_PANIC);
		component_proc_end_text(&t->proc, end, sizeof(end));
		snprintf(row->documented, sizeof(row->documented), "running; exit 0");
		snprintf(row->observed, sizeof(row->observed), "%s; %s%s", alive ? "running" : "gone",
		         end, nng_panic ? " (NNG panicked while closing)" : "");
		row->matched = alive && (code == 0 || nng_panic);
		row->served = true;
		snprintf(row->next, sizeof(row->next), "-");
	}
}

int main(int argc, char **argv)
{
	static struct target targets[N_TARGETS];
	static struct table table;
	struct pki pki;
	char dir[] = "/tmp/testbus-badinput-XXXXXX";
	const char *bin_dir = getenv("TESTBUS_BIN_DIR");
	if (argc > 1 && strcmp(argv[1], SENDER_ARG) == 0) {
		int status = sender_main(argc, argv);
		tb_library_fini();
		return status;
	}
	bool with_drops = argc > 1 && strcmp(argv[1], WITH_DROPS_ARG) == 0;
	if (bin_dir == NULL || mkdtemp(dir) == NULL) {
		fprintf(stderr, "needs TESTBUS_BIN_DIR and a temp folder\n");
		return 1;
	}
	signal(SIGPIPE, SIG_IGN);
	make_pki(&pki, dir);
	start_targets(targets, bin_dir, dir, &pki);
	for (int i = 0; i < N_TARGETS; i++)
		rows_envelope(&table, &targets[i]);
	rows_token(&table, &targets[EXECUTOR_TLS]);
	rows_oversized(&table, &targets[EXECUTOR_IPC], EXECUTOR_MAX_MESSAGE, with_drops);
	rows_oversized(&table, &targets[REPORTER_IPC], TB_DEFAULT_MAX_MESSAGE, with_drops);
	rows_oversized(&table, &targets[EXECUTOR_TLS], EXECUTOR_MAX_MESSAGE, with_drops);
	rows_tls(&table, &targets[EXECUTOR_TLS], &pki);
	rows_protocol_version(&table, bin_dir, dir, &targets[EXECUTOR_IPC]);
	rows_stop(&table, targets);
	table_print(&table, stdout);
	if (!with_drops)
		printf("Requests that NNG drops for their size: run with %s (docs/protocol.md, "
		       "Sizes).\n",
		       WITH_DROPS_ARG);
	size_t failed = table_print_failures(&table, stdout);
	if (failed == 0)
		run("rm -rf '%s'%s", dir, "");
	else
		printf("%zu of %zu rows failed; component logs are in %s\n", failed, table.n_rows, dir);
	tb_library_fini();
	return failed == 0 ? 0 : 1;
}
