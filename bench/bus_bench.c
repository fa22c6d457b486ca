/* Unary calls through libtestbus beside raw NNG REQ/REP: p50, p99, calls/s. */
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <nng/nng.h>

#include "bench.h"

#define BENCH_DEFAULT_CALLS 20000
#define BENCH_DEFAULT_ROUNDS 10
#define BENCH_QUICK_CALLS 400
#define BENCH_DEADLINE_MS 10000
#define BENCH_TARGET_P50 1.15
#define BENCH_TARGET_TPUT 0.85

static const unsigned bench_callers[] = {1, BENCH_MAX_CALLERS};
#define BENCH_N_CALLERS (sizeof(bench_callers) / sizeof(bench_callers[0]))

struct bench {
	size_t calls;    /* measured calls per cell and side */
	unsigned rounds; /* interleaved raw/testbus rounds per cell */
	bool markdown;
	int side;       /* -1: both, else 0 raw or 1 testbus only (for profiling) */
	int transport;  /* -1: all, else only this enum bench_transport */
	unsigned callers; /* 0: all */
	int payload;    /* -1: all, else only this enum bench_payload */
	const char *serve_dir; /* set: be the server process */
	struct bench_child child;
	struct bench_endpoints ep;
	tb_arena *arena;
	Testbus__V1__ExecutionTarget *targets[BENCH_N_PAYLOADS]; /* in arena */
	uint8_t *req[BENCH_N_PAYLOADS];                          /* owned */
	size_t req_len[BENCH_N_PAYLOADS];
	size_t answer_len[BENCH_N_PAYLOADS];
	size_t errors;
};

/* One row of the table. */
struct bench_cell {
	enum bench_transport transport;
	unsigned callers;
	enum bench_payload payload;
	struct bench_stats raw, tb;
};

/* --- the testbus side: typed calls through libtestbus, one connection shared by the callers --- */

struct tb_side {
	tb_conn *conn;
	const Testbus__V1__ExecutionTarget *target;
	size_t cases; /* test cases the answer must carry */
};

static atomic_bool tb_side_reported;

static int tb_side_open(void *shared, void **callerp)
{
	*callerp = shared;
	return 0;
}

static int tb_side_call(void *arg)
{
	struct tb_side *s = arg;
	tb_call_opts opts = {.deadline_ms = BENCH_DEADLINE_MS};
	Testbus__V1__ExecutionResult *r = NULL;
	tb_status st;
	int rv = tb_executor_execute(s->conn, s->target, &r, &opts, &st);
	if (rv == TB_OK && r->n_test_cases != s->cases)
		rv = tb_status_set(&st, TB_DATA_LOSS, "answer with %zu test cases", r->n_test_cases);
	if (rv != TB_OK && !atomic_exchange(&tb_side_reported, true))
		fprintf(stderr, "bench: testbus call failed: %s: %s\n", tb_strerror(rv), st.message);
	if (r != NULL)
		testbus__v1__execution_result__free_unpacked(r, NULL);
	return rv;
}

static void tb_side_close(void *caller)
{
	(void)caller;
}

static const struct bench_side bench_tb_side = {
	.name = "testbus",
	.open = tb_side_open,
	.call = tb_side_call,
	.close = tb_side_close,
};

/* --- options --- */

struct bench_option {
	const char *name;
	const char *arg; /* NULL: a flag */
	const char *help;
	int (*set)(struct bench *b, const char *value);
};

static int opt_count(const char *value, size_t *out)
{
	char *end;
	unsigned long n = strtoul(value, &end, 10);
	if (*value == '\0' || *end != '\0' || n == 0)
		return -1;
	*out = n;
	return 0;
}

static int opt_calls(struct bench *b, const char *v)
{
	return opt_count(v, &b->calls);
}

static int opt_rounds(struct bench *b, const char *v)
{
	size_t n = 0;
	int rv = opt_count(v, &n);
	if (rv == 0)
		b->rounds = (unsigned)n;
	return rv;
}

static int opt_quick(struct bench *b, const char *v)
{
	(void)v;
	b->calls = BENCH_QUICK_CALLS;
	b->rounds = 1;
	return 0;
}

static int opt_markdown(struct bench *b, const char *v)
{
	(void)v;
	b->markdown = true;
	return 0;
}

static int opt_serve(struct bench *b, const char *v)
{
	b->serve_dir = v;
	return 0;
}

static int opt_side(struct bench *b, const char *v)
{
	b->side = strcmp(v, "raw") == 0 ? 0 : strcmp(v, "testbus") == 0 ? 1 : -2;
	return b->side < 0 ? -1 : 0;
}

/* "TRANSPORT:CALLERS:PAYLOAD", each part a value or "*". */
static int opt_cell(struct bench *b, const char *v)
{
	char tr[16], n[16], pl[16];
	if (sscanf(v, "%15[^:]:%15[^:]:%15s", tr, n, pl) != 3)
		return -1;
	b->transport = -1;
	for (int t = 0; t < BENCH_N_TRANSPORTS && strcmp(tr, "*") != 0; t++) {
		if (strcmp(tr, bench_transport_name((enum bench_transport)t)) == 0)
			b->transport = t;
	}
	b->callers = strcmp(n, "*") == 0 ? 0 : (unsigned)atoi(n);
	b->payload = strcmp(pl, "*") == 0 ? -1 : (int)bench_payload_from_name(pl);
	bool bad = (b->transport < 0 && strcmp(tr, "*") != 0) ||
	           (b->callers == 0 && strcmp(n, "*") != 0) || b->payload == BENCH_N_PAYLOADS;
	return bad ? -1 : 0;
}

static const struct bench_option bench_options[] = {
	{"--calls", "N", "measured calls per cell and side (default 20000)", opt_calls},
	{"--rounds", "N", "interleaved raw/testbus rounds per cell (default 10)", opt_rounds},
	{"--quick", NULL, "a short run: 400 calls per cell and side, one round", opt_quick},
	{"--markdown", NULL, "print the table as Markdown", opt_markdown},
	{"--side", "SIDE", "profiling: measure only raw or testbus", opt_side},
	{"--cell", "T:N:P", "profiling: only cells of transport T, N callers, payload P (or *)",
	 opt_cell},
	{"--serve", "DIR", "internal: be the server process, ipc sockets in DIR", opt_serve},
};
#define BENCH_N_OPTIONS (sizeof(bench_options) / sizeof(bench_options[0]))

static void bench_usage(FILE *f)
{
	fprintf(f, "usage: testbus-bench-bus [options]\n");
	for (size_t i = 0; i < BENCH_N_OPTIONS; i++) {
		const struct bench_option *o = &bench_options[i];
		fprintf(f, "  %-10s %-5s %s\n", o->name, o->arg ? o->arg : "", o->help);
	}
}

/* Returns 0 to run, 1 after --help, -1 on a bad option. */
static int bench_parse(struct bench *b, int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
			return 1;
		const struct bench_option *o = NULL;
		for (size_t j = 0; j < BENCH_N_OPTIONS && o == NULL; j++) {
			if (strcmp(argv[i], bench_options[j].name) == 0)
				o = &bench_options[j];
		}
		const char *value = o && o->arg ? (i + 1 < argc ? argv[++i] : NULL) : "";
		if (o == NULL || value == NULL || o->set(b, value) != 0) {
			fprintf(stderr, "bench: bad option %s\n", argv[i]);
			return -1;
		}
	}
	return 0;
}

/* --- running the cells --- */

static int bench_payloads(struct bench *b)
{
	int rv = tb_arena_alloc(&b->arena);
	for (int p = 0; rv == TB_OK && p < BENCH_N_PAYLOADS; p++) {
		Testbus__V1__ExecutionResult *r;
		uint8_t *packed = NULL;
		rv = bench_target_build(b->arena, (enum bench_payload)p, &b->targets[p]);
		if (rv == TB_OK)
			rv = bench_pack(&b->targets[p]->base, &b->req[p], &b->req_len[p]);
		if (rv == TB_OK)
			rv = bench_result_build(b->arena, (enum bench_payload)p, &r);
		if (rv == TB_OK)
			rv = bench_pack(&r->base, &packed, &b->answer_len[p]);
		free(packed);
	}
	return rv;
}

/* Runs both sides of a cell, rounds interleaved and in alternating order. */
static int bench_cell_rounds(struct bench *b, struct bench_cell *c, raw_client *raw,
                             struct tb_side *tb)
{
	struct bench_samples s[2] = {{0}};
	size_t per_round = b->calls / b->rounds;
	size_t warmup = per_round / 10 > 100 ? per_round / 10 : 100;
	int rv = 0;
	for (unsigned r = 0; rv == 0 && r < b->rounds; r++) {
		for (int k = 0; rv == 0 && k < 2; k++) {
			bool raw_now = (k == 0) == (r % 2 == 0);
			if (b->side >= 0 && b->side != (raw_now ? 0 : 1))
				continue;
			rv = raw_now ? bench_run(&bench_raw_side, raw, c->callers, per_round, warmup, &s[0])
			             : bench_run(&bench_tb_side, tb, c->callers, per_round, warmup, &s[1]);
		}
	}
	if (rv == 0) {
		bench_stats_of(&s[0], &c->raw);
		bench_stats_of(&s[1], &c->tb);
		b->errors += s[0].errors + s[1].errors;
	}
	bench_samples_fini(&s[0]);
	bench_samples_fini(&s[1]);
	return rv;
}

static int bench_cell(struct bench *b, struct bench_cell *c)
{
	raw_client *raw = NULL;
	struct tb_side tb = {.target = b->targets[c->payload],
	                     .cases = bench_result_cases(c->payload)};
	tb_status st = {0};
	const char *raw_url = b->ep.raw[c->transport][c->payload];
	int rv = raw_client_open(raw_url, b->req[c->payload], b->req_len[c->payload],
	                         b->answer_len[c->payload], &raw);
	if (rv != 0) {
		fprintf(stderr, "bench: cannot dial %s: %s\n", raw_url, nng_strerror(rv));
		goto out;
	}
	rv = tb_conn_open(b->ep.testbus[c->transport], NULL, &tb.conn, &st);
	if (rv != TB_OK) {
		fprintf(stderr, "bench: %s\n", st.message);
		goto out;
	}
	rv = bench_cell_rounds(b, c, raw, &tb);
out:
	tb_conn_close(tb.conn);
	raw_client_close(raw);
	return rv;
}

/* --- the table --- */

static bool bench_met(const struct bench_cell *c, double p50x, double tputx)
{
	return p50x <= BENCH_TARGET_P50 &&
	       (c->callers < BENCH_MAX_CALLERS || tputx >= BENCH_TARGET_TPUT);
}

static void bench_header(const struct bench *b)
{
	printf("testbus bus benchmark: unary Executor/Execute, server in a separate process\n"
	       "  %zu measured calls per cell and side in %u interleaved round(s), each after a "
	       "warm-up\n"
	       "  payloads: request %zu B; answer small %zu B, large %zu B (%zu test cases); "
	       "protobuf bytes, no envelope\n"
	       "  raw:     nng_req0/nng_rep0 with one context per caller and %u+%u REP worker "
	       "threads, resend off, same timeouts;\n"
	       "           its server decodes nothing and answers pre-packed bytes of the same "
	       "size: the floor\n"
	       "  testbus: tb_executor_execute on one shared tb_conn -> envelope, protobuf, "
	       "dispatch in tb_server\n"
	       "           (capacity %u) whose handler returns a prebuilt ExecutionResult\n"
	       "  latency in microseconds; ratio = testbus / raw; target: p50 ratio <= %.2f, "
	       "8-caller calls/s ratio >= %.2f\n\n",
	       b->calls, b->rounds, b->req_len[BENCH_SMALL],
	       b->answer_len[BENCH_SMALL], b->answer_len[BENCH_LARGE],
	       bench_result_cases(BENCH_LARGE), BENCH_SERVE_CAPACITY, BENCH_CONTROL_SLOTS, BENCH_SERVE_CAPACITY,
	       BENCH_TARGET_P50, BENCH_TARGET_TPUT);
	if (b->markdown)
		printf("| transport | callers | payload | raw p50 | raw p99 | raw calls/s | "
		       "testbus p50 | testbus p99 | testbus calls/s | p50 ratio | calls/s ratio | "
		       "target |\n|---|--:|---|--:|--:|--:|--:|--:|--:|--:|--:|---|\n");
	else
		printf("%-9s %7s %-7s | %8s %8s %9s | %8s %8s %9s | %9s %13s | %s\n", "transport",
		       "callers", "payload", "raw p50", "raw p99", "calls/s", "tb p50", "tb p99",
		       "calls/s", "p50 ratio", "calls/s ratio", "target");
}

static void bench_row(const struct bench *b, const struct bench_cell *c)
{
	double p50x = c->raw.p50_us > 0 ? c->tb.p50_us / c->raw.p50_us : 0;
	double tputx = c->raw.calls_per_s > 0 ? c->tb.calls_per_s / c->raw.calls_per_s : 0;
	const char *fmt = b->markdown
	    ? "| %s | %u | %s | %.1f | %.1f | %.0f | %.1f | %.1f | %.0f | %.2f | %.2f | %s |\n"
	    : "%-9s %7u %-7s | %8.1f %8.1f %9.0f | %8.1f %8.1f %9.0f | %9.2f %13.2f | %s\n";
	printf(fmt, bench_transport_name(c->transport), c->callers, bench_payload_name(c->payload),
	       c->raw.p50_us, c->raw.p99_us, c->raw.calls_per_s, c->tb.p50_us, c->tb.p99_us,
	       c->tb.calls_per_s, p50x, tputx,
	       p50x == 0 || tputx == 0 ? "-" : bench_met(c, p50x, tputx) ? "met" : "missed");
	fflush(stdout);
}

static bool bench_selected(const struct bench *b, const struct bench_cell *c)
{
	return (b->transport < 0 || b->transport == (int)c->transport) &&
	       (b->callers == 0 || b->callers == c->callers) &&
	       (b->payload < 0 || b->payload == (int)c->payload);
}

static int bench_all(struct bench *b)
{
	int rv = 0;
	bench_header(b);
	for (int t = 0; rv == 0 && t < BENCH_N_TRANSPORTS; t++) {
		for (size_t n = 0; rv == 0 && n < BENCH_N_CALLERS; n++) {
			for (int p = 0; rv == 0 && p < BENCH_N_PAYLOADS; p++) {
				struct bench_cell c = {.transport = (enum bench_transport)t,
				                       .callers = bench_callers[n],
				                       .payload = (enum bench_payload)p};
				if (!bench_selected(b, &c))
					continue;
				if ((rv = bench_cell(b, &c)) == 0)
					bench_row(b, &c);
			}
		}
	}
	if (rv == 0 && b->errors > 0) {
		fprintf(stderr, "bench: %zu calls failed\n", b->errors);
		rv = -1;
	}
	return rv;
}

/* Every round gives each caller the same number of calls, in every cell. */
static void bench_normalize(struct bench *b)
{
	size_t per_round = b->calls / b->rounds;
	per_round -= per_round % BENCH_MAX_CALLERS;
	if (per_round == 0)
		per_round = BENCH_MAX_CALLERS;
	b->calls = per_round * b->rounds;
}

int main(int argc, char **argv)
{
	struct bench b = {.calls = BENCH_DEFAULT_CALLS, .rounds = BENCH_DEFAULT_ROUNDS,
	                  .side = -1, .transport = -1, .payload = -1};
	int rv = bench_parse(&b, argc, argv);
	if (rv != 0) {
		bench_usage(rv > 0 ? stdout : stderr);
		return rv > 0 ? 0 : 2;
	}
	if (b.serve_dir != NULL)
		return bench_serve_main(b.serve_dir);
	signal(SIGPIPE, SIG_IGN);
	bench_normalize(&b);
	if ((rv = bench_payloads(&b)) != TB_OK)
		fprintf(stderr, "bench: out of memory\n");
	else if ((rv = bench_child_start(&b.child, &b.ep)) == 0)
		rv = bench_all(&b);
	bench_child_stop(&b.child);
	for (int p = 0; p < BENCH_N_PAYLOADS; p++)
		free(b.req[p]);
	tb_arena_free(b.arena);
	return rv == 0 ? 0 : 1;
}
